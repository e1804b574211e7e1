//! `fetch`: the window's meetings from the source into the store, nothing written but the run
//! report. [`fetch_window`] is the fetch half of `run` too.

use super::session::Session;
use super::{Outcome, ids, setup, summarize};
use crate::config::job::Job;
use crate::config::window::{Window, local_date, local_midnight};
use crate::fetch::occurrences::{OccurrenceKey, OccurrenceSpan};
use crate::fetch::scheduler;
use crate::fetch::store::Store;
use anyhow::Result;
use chrono::{Days, NaiveDate};
use std::collections::HashSet;
use std::sync::Arc;

pub async fn fetch(job: &Job, window: Window) -> Result<Outcome> {
    let mut session = Session::start("fetch", job)?;
    let mut store = open_store(job)?;
    let fetched = fetch_window(&mut session, &mut store, window).await?;
    summarize::set_window(&mut session, &store, window, Some(&fetched.ids))?;
    session.finish()
}

/// The store a fetching command writes, its bodies labelled with the job's source.
pub fn open_store(job: &Job) -> Result<Store> {
    let label = match job.source {
        crate::config::job::Source::Api => "api",
        crate::config::job::Source::Dir(_) => "dir",
    };
    Store::open(&job.store_path, label)
}

/// What the fetch half of a run did that the summarize half needs.
pub struct Fetched {
    /// The window's ids, as requested.
    pub ids: Vec<String>,
    /// Dates before the window whose meetings changed on a lookback fetch: their partitions
    /// are rewritten too.
    pub changed_dates: Vec<NaiveDate>,
    /// The run's API client (when the job reads the API), for the directory stage: one token
    /// and one limiter for the whole run.
    pub client: Option<Arc<crate::wecom::client::Client>>,
}

/// Resolves the window's ids, adds the lookback (stored meetings before the window that were
/// not final), and fetches what the store lacks; the counts, failures, meetings given up and
/// undated meetings go into the session's report.
pub async fn fetch_window(
    session: &mut Session<'_>,
    store: &mut Store,
    window: Window,
) -> Result<Fetched> {
    let job = session.job;
    let t = std::time::Instant::now();
    let client = setup::api_client(job)?;
    let (source, in_flight) = setup::source(job, client.as_ref());
    if let Window::Dates(r) = window {
        store.set_request_window(Some((r.from.to_string(), r.to.to_string())));
    }
    let result = async {
        let list = ids::resolve(job, window, client.as_deref()).await?;
        let report = &mut session.report;
        report.counts.duplicate_ids = list.duplicates;
        report.counts.skipped_input_lines = list.problems.len();
        report.input_problems = list.problems;
        // Counted before fetching, so a run stopped by gettoken still says what it was asked.
        report.counts.requested = list.ids.len();
        let lookback = Lookback::before(store, job, window, &list.ids)?;
        report.counts.lookback = lookback.ids.len();
        let mut all = list.ids.clone();
        all.extend(lookback.ids.iter().cloned());
        all.extend(lookback.series_heads.iter().cloned());
        let out = scheduler::fetch(
            Arc::new(source),
            store,
            &all,
            occurrence_span(job, window),
            job.refetch,
            job.fetch.give_up_after,
            in_flight,
        )
        .await?;
        Ok((out, list.ids, lookback))
    }
    .await;
    session.report.timings.fetch_ms = t.elapsed().as_millis();
    if let Some(c) = &client {
        session.add_client_stats(&c.stats());
    }
    let (mut fetched, ids, lookback) = session.stop_on_error(result)?;
    let report = &mut session.report;
    report.counts.fetched = fetched.fetched;
    report.counts.reused_from_store = fetched.reused_from_store;
    report.counts.series_heads = lookback.series_heads.len();
    report.counts.occurrences_fetched = fetched.occurrences_fetched;
    report.counts.occurrences_reused = fetched.occurrences_reused;
    report.counts.not_tried = fetched.not_tried;
    report.failures = std::mem::take(&mut fetched.failures);
    if let Some(e) = fetched.stopped.take() {
        // What was fetched before the fatal error is stored, and the report says so.
        let stopped = anyhow::Error::new(e).context("the run stopped early");
        return session.stop_on_error(Err(stopped));
    }
    let changed_dates = lookback.changed_dates(store, job)?;
    let report = &mut session.report;
    report.counts.lookback_changed_dates = changed_dates.len();
    let scope = window_scope(window, job);
    let (_, given_up) =
        store.failures_in(scope.as_ref().map(Scope::as_args), job.fetch.give_up_after)?;
    report.given_up = given_up;
    report.undated_meetingids = store.undated(&ids)?;
    report.counts.undated = report.undated_meetingids.len();
    for id in &report.undated_meetingids {
        tracing::warn!(meetingid = %id, "meeting has no start time; it is in no date partition");
    }
    Ok(Fetched {
        ids,
        changed_dates,
        client,
    })
}

/// A window as the store's failure queries take it: first and last date, epoch bounds.
pub struct Scope {
    from: String,
    to: String,
    start: i64,
    end: i64,
}

impl Scope {
    pub fn as_args(&self) -> (&str, &str, i64, i64) {
        (&self.from, &self.to, self.start, self.end)
    }
}

/// The scope of failures that belong to `window`; `None` (every failure) for `all`.
pub fn window_scope(window: Window, job: &Job) -> Option<Scope> {
    match window {
        Window::Dates(r) => {
            let (start, end) = r.epoch_bounds(job.tz);
            Some(Scope {
                from: r.from.to_string(),
                to: r.to.to_string(),
                start,
                end,
            })
        }
        Window::All => None,
    }
}

/// The stored meetings of the `fetch.lookback_days` before a dated window that were not final
/// when last fetched (and are not requested anyway): a run fetches them again.
pub fn lookback_ids(
    store: &Store,
    job: &Job,
    window: Window,
    requested: &[String],
) -> Result<Vec<String>> {
    let (Window::Dates(r), days @ 1..) = (window, job.fetch.lookback_days) else {
        return Ok(Vec::new());
    };
    let start = local_midnight(r.from - Days::new(u64::from(days)), job.tz);
    let end = local_midnight(r.from, job.tz);
    let requested: HashSet<&String> = requested.iter().collect();
    Ok(store
        .unfinished_between(start, end)?
        .into_iter()
        .filter(|id| !requested.contains(id))
        .collect())
}

/// The occurrences of recurring meetings a fetch of `window` considers: those scheduled in the
/// window and in the `fetch.lookback_days` before it; `None` (every one) for `all`.
pub fn occurrence_span(job: &Job, window: Window) -> Option<OccurrenceSpan> {
    match window {
        Window::Dates(r) => {
            let (window_start, end) = r.epoch_bounds(job.tz);
            let days = u64::from(job.fetch.lookback_days);
            Some(OccurrenceSpan {
                lookback_start: local_midnight(r.from - Days::new(days), job.tz),
                window_start,
                end,
            })
        }
        Window::All => None,
    }
}

/// The heads of recurring meetings fetched again though not requested: those not over whose
/// occurrences reach into the lookback (see [`Store::series_heads_due`]), so that new
/// occurrences are recorded every night.
pub fn series_heads_due(
    store: &Store,
    job: &Job,
    window: Window,
    also: &[String],
) -> Result<Vec<String>> {
    let since = occurrence_span(job, window).map(|s| s.lookback_start);
    let also: HashSet<&String> = also.iter().collect();
    Ok(store
        .series_heads_due(since)?
        .into_iter()
        .filter(|id| !also.contains(id))
        .collect())
}

/// The stored meetings before the window that were not final when last fetched, and their
/// bodies then, to tell which changed; the same for the due occurrences of recurring meetings
/// before the window; and the series heads fetched again.
struct Lookback {
    ids: Vec<String>,
    before: Vec<Option<Vec<u8>>>,
    occurrences: Vec<(OccurrenceKey, Option<Vec<u8>>)>,
    series_heads: Vec<String>,
}

impl Lookback {
    fn before(store: &Store, job: &Job, window: Window, requested: &[String]) -> Result<Self> {
        let ids = lookback_ids(store, job, window, requested)?;
        let before = ids.iter().map(|id| store.body(id)).collect::<Result<_>>()?;
        let mut asked: Vec<String> = requested.to_vec();
        asked.extend(ids.iter().cloned());
        let series_heads = series_heads_due(store, job, window, &asked)?;
        let mut occurrences = Vec::new();
        if let Some(span) = occurrence_span(job, window) {
            let due = store.due_occurrences(Some(span), false, job.fetch.give_up_after)?;
            for o in due.todo {
                if o.start.is_some_and(|t| t < span.window_start) {
                    let body = store.occurrence_body(&o.key)?;
                    occurrences.push((o.key, body));
                }
            }
        }
        if !ids.is_empty() {
            tracing::info!(
                meetings = ids.len(),
                days = job.fetch.lookback_days,
                "fetching unfinished meetings of the lookback again"
            );
        }
        Ok(Lookback {
            ids,
            before,
            occurrences,
            series_heads,
        })
    }

    /// The local dates of the lookback meetings whose stored body changed.
    fn changed_dates(&self, store: &Store, job: &Job) -> Result<Vec<NaiveDate>> {
        let mut dates = std::collections::BTreeSet::new();
        for (id, before) in self.ids.iter().zip(&self.before) {
            if store.body(id)? != *before
                && let Some(date) = store.start_of(id)?.and_then(|t| local_date(t, job.tz))
            {
                dates.insert(date);
            }
        }
        for (key, before) in &self.occurrences {
            if store.occurrence_body(key)? != *before
                && let Some(date) = store
                    .occurrence_start(key)?
                    .and_then(|t| local_date(t, job.tz))
            {
                dates.insert(date);
            }
        }
        Ok(dates.into_iter().collect())
    }
}
