//! The fetch scheduler: ids → (skip what the store already holds in final form) → bodies from
//! the source, many in flight (the API client paces them) → the store, in short batches.
//!
//! Each outcome is recorded: a body (with its status and start, or the reason it could not be
//! parsed — kept verbatim either way), or a per-meeting failure with its errcode. A fatal error
//! (bad credentials, forbidden API) stops the run after saving what was already fetched.

use crate::config::server_text;
use crate::domain::{MeetingFailure, PLAUSIBLE_TIMES, plausible_time};
use crate::fetch::source::Source;
use crate::fetch::store::{Record, Store};
use crate::wecom::client::CallError;
use crate::wecom::model::MeetingHead;
use anyhow::Result;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::task::JoinSet;

/// Outcomes written to the store per transaction, at most.
const BATCH: usize = 64;
/// Longest time an outcome waits in memory before it is committed.
const FLUSH_EVERY: Duration = Duration::from_millis(500);
/// How often a long fetch logs its progress and estimated time left.
const LOG_PROGRESS_EVERY: Duration = Duration::from_secs(60);

#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct FetchOutcome {
    pub requested: usize,
    pub fetched: usize,
    pub reused_from_store: usize,
    /// Meetings not fetched because they were given up (see `fetch.give_up_after`).
    pub given_up: usize,
    /// Meetings that got no usable body this run: refused, given up, or unparsable.
    pub failures: Vec<MeetingFailure>,
}

/// Turns a fetched body into its store record, reading only its head: an answer carrying a
/// non-zero errcode is a failure; a body that is not JSON, or cannot be a meeting, is kept
/// verbatim with its reason and is a failure too.
fn record_for(meetingid: &str, body: Vec<u8>) -> (Record, Option<MeetingFailure>) {
    let head = match MeetingHead::parse(&body) {
        Ok(head) => head,
        Err(e) => {
            return kept_unusable(
                meetingid,
                body,
                None,
                format!(
                    "body is not a get_info answer: {}",
                    server_text::parse_error(&e.to_string())
                ),
            );
        }
    };
    let unusable = match head.start() {
        _ if !head.describes_a_meeting() => Some("the answer names no field of a meeting".into()),
        Some(t) if !plausible_time(t) => Some(format!(
            "meeting_start {t} is outside {}..{} (unix seconds of 2000-01-01 and 2100-01-01)",
            PLAUSIBLE_TIMES.start, PLAUSIBLE_TIMES.end
        )),
        _ => None,
    };
    if let (Some(0) | None, Some(why)) = (head.errcode, unusable) {
        let reason = format!("body is not a usable get_info answer: {why}");
        return kept_unusable(meetingid, body, head.status, reason);
    }
    match head.errcode {
        Some(0) | None => (
            Record::Body {
                meetingid: meetingid.to_string(),
                status: head.status,
                meeting_start: head.start(),
                body,
                parse_error: None,
            },
            None,
        ),
        Some(code) => {
            let f = MeetingFailure {
                meetingid: meetingid.to_string(),
                sub_meetingid: None,
                errcode: Some(code),
                reason: format!(
                    "answer carries errcode {code}{}",
                    head.errmsg
                        .as_deref()
                        .and_then(server_text::errmsg)
                        .map(|m| format!(" ({})", crate::wecom::http::scrub(m)))
                        .unwrap_or_default()
                ),
            };
            (Record::Failure(f.clone()), Some(f))
        }
    }
}

/// A body kept verbatim (nothing WeCom sent is lost) but marked unusable, and its failure.
fn kept_unusable(
    meetingid: &str,
    body: Vec<u8>,
    status: Option<i64>,
    reason: String,
) -> (Record, Option<MeetingFailure>) {
    let failure = MeetingFailure {
        meetingid: meetingid.to_string(),
        sub_meetingid: None,
        errcode: None,
        reason: reason.clone(),
    };
    let record = Record::Body {
        meetingid: meetingid.to_string(),
        body,
        status,
        meeting_start: None,
        parse_error: Some(reason),
    };
    (record, Some(failure))
}

/// Fetches `ids` into `store`. `in_flight` bounds how many tasks exist at once (the API client
/// separately bounds requests on the wire).
pub async fn fetch(
    source: Arc<Source>,
    store: &mut Store,
    ids: &[String],
    refetch: bool,
    give_up_after: u32,
    in_flight: usize,
) -> Result<FetchOutcome> {
    let mut out = FetchOutcome {
        requested: ids.len(),
        ..Default::default()
    };
    let todo = to_fetch(store, ids, refetch, give_up_after, &mut out)?;
    let total = todo.len();
    let eta = source.eta(total);
    tracing::info!(
        requested = ids.len(),
        reused = out.reused_from_store,
        to_fetch = total,
        source = source.label(),
        eta = ?eta.map(rounded),
        "fetching"
    );

    let bar = progress_bar(total as u64, eta);
    let mut done = 0usize;
    let mut logged = Instant::now();
    let mut pending = todo.into_iter();
    let mut tasks = JoinSet::new();
    let spawn = |tasks: &mut JoinSet<_>, id: String| {
        let source = source.clone();
        tasks.spawn(async move {
            // Reading the head here spreads it over the runtime's worker threads.
            let r = source.get_info(&id).await.map(|body| record_for(&id, body));
            (id, r)
        });
    };
    for id in pending.by_ref().take(in_flight.max(1)) {
        spawn(&mut tasks, id);
    }

    let mut batch = Batch::default();
    let mut fatal: Option<CallError> = None;
    loop {
        let next = match batch.due_in() {
            None => tasks.join_next().await,
            Some(wait) => match tokio::time::timeout(wait, tasks.join_next()).await {
                Ok(n) => n,
                Err(_) => {
                    batch.flush(store)?;
                    continue;
                }
            },
        };
        let Some(joined) = next else { break };
        let (id, result) = joined?;
        bar.inc(1);
        done += 1;
        if let Some(eta) = source.eta(total - done) {
            bar.set_message(format!("{:?}", rounded(eta)));
            if logged.elapsed() >= LOG_PROGRESS_EVERY {
                logged = Instant::now();
                tracing::info!(done, to_fetch = total, eta = ?rounded(eta), "fetching");
            }
        }
        match file_outcome(id, result, &mut out) {
            Ok(record) => batch.push(record, store)?,
            Err(e) => {
                fatal = Some(e);
                tasks.abort_all();
                break;
            }
        }
        if let Some(id) = pending.next() {
            spawn(&mut tasks, id);
        }
    }
    batch.flush(store)?;
    bar.finish_and_clear();
    if let Some(e) = fatal {
        return Err(anyhow::Error::new(e).context("the run stopped early"));
    }
    out.failures.sort_by(|a, b| a.meetingid.cmp(&b.meetingid));
    Ok(out)
}

/// Of `ids`, those to ask the source for: all of them with `refetch`, else those not stored
/// in a final status and not given up. Counts the others as reused or given up.
fn to_fetch(
    store: &Store,
    ids: &[String],
    refetch: bool,
    give_up_after: u32,
    out: &mut FetchOutcome,
) -> Result<Vec<String>> {
    let (reusable, given_up) = if refetch {
        Default::default()
    } else {
        (
            store.final_ids(ids)?,
            store.given_up_ids(ids, give_up_after)?,
        )
    };
    out.reused_from_store = reusable.len();
    out.given_up = given_up.len();
    Ok(ids
        .iter()
        .filter(|id| !reusable.contains(*id) && !given_up.contains(*id))
        .cloned()
        .collect())
}

/// Counts one meeting's outcome and turns it into the record to store; a fatal error is
/// passed back to stop the run.
fn file_outcome(
    id: String,
    result: Result<(Record, Option<MeetingFailure>), CallError>,
    out: &mut FetchOutcome,
) -> Result<Record, CallError> {
    match result {
        Ok((rec, failure)) => {
            match failure {
                Some(f) => {
                    tracing::warn!(meetingid = %id, errcode = f.errcode, reason = %f.reason, "meeting failed");
                    out.failures.push(f);
                }
                None => out.fetched += 1,
            }
            Ok(rec)
        }
        Err(CallError::PerMeeting { errcode, message }) => {
            tracing::warn!(meetingid = %id, errcode, reason = %message, "meeting failed");
            let f = MeetingFailure {
                meetingid: id,
                sub_meetingid: None,
                errcode,
                reason: message,
            };
            out.failures.push(f.clone());
            Ok(Record::Failure(f))
        }
        Err(e @ CallError::Fatal { .. }) => Err(e),
    }
}

/// Outcomes waiting to be committed: written when [`BATCH`] are waiting or the oldest has
/// waited [`FLUSH_EVERY`], so a killed run loses at most that much work.
#[derive(Default)]
struct Batch {
    records: Vec<Record>,
    oldest: Option<Instant>,
}

impl Batch {
    fn push(&mut self, record: Record, store: &mut Store) -> Result<()> {
        self.records.push(record);
        self.oldest.get_or_insert_with(Instant::now);
        if self.records.len() >= BATCH {
            self.flush(store)?;
        }
        Ok(())
    }

    /// How long until the waiting outcomes are due; `None` when nothing waits.
    fn due_in(&self) -> Option<Duration> {
        self.oldest.map(|t| FLUSH_EVERY.saturating_sub(t.elapsed()))
    }

    fn flush(&mut self, store: &mut Store) -> Result<()> {
        store.put(&self.records)?;
        self.records.clear();
        self.oldest = None;
        Ok(())
    }
}

/// The bar of a fetch. Against the API its ETA (`eta`, then updated per meeting) counts the
/// minute and hour budgets, which can hold a backfill for hours: a rate measured over the last
/// seconds would not know; a folder's bar uses indicatif's own estimate.
fn progress_bar(len: u64, eta: Option<Duration>) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    let template = match eta {
        Some(_) => {
            "{spinner} fetching {pos}/{len} meetings [{elapsed_precise}] {wide_bar} eta {msg}"
        }
        None => "{spinner} fetching {pos}/{len} meetings [{elapsed_precise}] {wide_bar} eta {eta}",
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    if let Some(eta) = eta {
        bar.set_message(format!("{:?}", rounded(eta)));
    }
    bar
}

/// A duration to the tenth of a second (for people).
fn rounded(d: Duration) -> Duration {
    Duration::from_millis((d.as_millis() as u64).div_ceil(100) * 100)
}
