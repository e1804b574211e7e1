//! `run --dry-run` and `fetch --dry-run`: what the command would do — the ids found, the
//! meetings the store already holds in final form, the API calls planned per endpoint, the
//! time they would take under the job's pacing, the partitions that would be rewritten — with
//! no get_info call and nothing written (no store, lock, table or report is created).
//! Discovery (`get_user_meetingid`) does run when the job has organizers, and is counted.

use super::fetch::{lookback_ids, occurrence_span, series_heads_due};
use super::{Outcome, ids, setup};
use crate::config::job::{Job, Source as SourceCfg};
use crate::config::window::{Window, local_date};
use crate::fetch::store::Store;
use anyhow::Result;
use std::collections::{BTreeSet, HashSet};
use std::io::Write;

/// `println!` minus the panic on a closed stdout.
macro_rules! say {
    ($($arg:tt)*) => {{
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

pub async fn dry_run(job: &Job, window: Window, command: &str) -> Result<Outcome> {
    let client = setup::api_client(job)?;
    let list = ids::resolve(job, window, client.as_deref()).await?;
    say!(
        "dry run of `{command}` for job '{}', window {window}: nothing is fetched or written",
        job.name
    );
    say!(
        "ids:          {} ({} duplicates dropped, {} input lines skipped)",
        list.ids.len(),
        list.duplicates,
        list.problems.len()
    );
    for p in &list.problems {
        say!("  skipped {p}");
    }
    // An existing store is read; a missing one is not created (it would be empty anyway).
    let store = if job.store_path.exists() {
        Some(Store::open_existing(&job.store_path)?)
    } else {
        None
    };
    let (reused, given_up, lookback) = match &store {
        Some(s) if !job.refetch => (
            s.final_ids(&list.ids)?,
            s.given_up_ids(&list.ids, job.fetch.give_up_after)?,
            lookback_ids(s, job, window, &list.ids)?,
        ),
        Some(s) => (
            HashSet::new(),
            HashSet::new(),
            lookback_ids(s, job, window, &list.ids)?,
        ),
        None => Default::default(),
    };
    let to_fetch = list
        .ids
        .iter()
        .filter(|id| !reused.contains(*id) && !given_up.contains(*id))
        .count();
    // Recurring meetings: the heads fetched again and the occurrences known to be due (the
    // heads may list more when fetched).
    let (heads, occurrences) = match &store {
        Some(s) => {
            let mut asked = list.ids.clone();
            asked.extend(lookback.iter().cloned());
            let span = occurrence_span(job, window);
            (
                series_heads_due(s, job, window, &asked)?.len(),
                s.due_occurrences(span, job.refetch, job.fetch.give_up_after)?,
            )
        }
        None => Default::default(),
    };
    say!("store:        {}", job.store_path.display());
    say!(
        "meetings:     {} already final in the store (reused), {} given up, {} to fetch, {} unfinished in the {}-day lookback to fetch again",
        reused.len(),
        given_up.len(),
        to_fetch,
        lookback.len(),
        job.fetch.lookback_days
    );
    if heads + occurrences.todo.len() + occurrences.reused > 0 {
        say!(
            "series:       {heads} heads of recurring meetings to fetch again; occurrences: {} to fetch, {} already ended in the store (reused), {} given up (known so far: the heads may list more)",
            occurrences.todo.len(),
            occurrences.reused,
            occurrences.given_up
        );
    }
    let get_info = to_fetch + lookback.len() + heads + occurrences.todo.len();
    match (&job.source, &client) {
        (SourceCfg::Api, Some(c)) => {
            let discovery = c.stats();
            let listed: u64 = discovery.answers.iter().map(|a| a.answers).sum();
            say!(
                "API calls:    {get_info} × get_info planned; {} × get_user_meetingid made for discovery; gettoken {} so far",
                listed,
                discovery.gettoken_calls
            );
            let f = &job.fetch;
            say!(
                "duration:     about {} at {} calls/s within {} calls a minute and {} an hour",
                human(planned_seconds(get_info, f.rate, f.per_minute, f.per_hour)),
                f.rate,
                f.per_minute,
                f.per_hour
            );
        }
        _ => {
            say!("source:       a folder of captured bodies: {get_info} files to read, no API call")
        }
    }
    if let Window::Dates(r) = window {
        say!(
            "partitions:   attendance/ and meetings/ dt={} … dt={} (dates with meetings; dates whose meetings all fail keep theirs), users/window={}",
            r.from,
            r.to,
            r.label()
        );
        if let Some(s) = &store {
            let lookback_dates: BTreeSet<_> = lookback
                .iter()
                .filter_map(|id| s.start_of(id).ok().flatten())
                .filter_map(|t| local_date(t, job.tz))
                .collect();
            for d in lookback_dates {
                say!("              dt={d} if its unfinished meetings changed (lookback)");
            }
        }
    } else {
        say!(
            "partitions:   the dates of the meetings fetched (window `all`), and users/window=FIRST_LAST"
        );
    }
    Ok(if list.problems.is_empty() {
        Outcome::Clean
    } else {
        Outcome::SomeFailed
    })
}

/// The least time `calls` calls take at `rate` calls/s when no 60-second span may hold more than
/// `per_minute` of them and no 3,600-second span more than `per_hour`.
fn planned_seconds(calls: usize, rate: f64, per_minute: u32, per_hour: u32) -> f64 {
    if calls == 0 {
        return 0.0;
    }
    let spans = |budget: u32| ((calls - 1) / budget.max(1) as usize) as f64;
    (calls as f64 / rate)
        .max(spans(per_minute) * 60.0)
        .max(spans(per_hour) * 3600.0)
}

/// `42 s`, `12 min`, `3.5 h`.
fn human(seconds: f64) -> String {
    if seconds < 120.0 {
        format!("{seconds:.0} s")
    } else if seconds < 7200.0 {
        format!("{:.0} min", seconds / 60.0)
    } else {
        format!("{:.1} h", seconds / 3600.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plan_is_paced_by_the_rate_or_by_the_budgets_whichever_is_slower() {
        assert_eq!(planned_seconds(0, 50.0, 6000, 100_000), 0.0);
        assert_eq!(planned_seconds(500, 50.0, 6000, 100_000), 10.0);
        // 18,000 calls at 200/s would take 90 s, but a minute holds 6,000: three minutes' spans.
        assert_eq!(planned_seconds(18_000, 200.0, 6000, 100_000), 120.0);
        // A backfill bigger than an hour's budget paces itself over hours.
        assert_eq!(planned_seconds(250_000, 50.0, 6000, 100_000), 7200.0);
        assert_eq!(human(7200.0), "2.0 h");
    }
}
