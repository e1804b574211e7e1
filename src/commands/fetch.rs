//! `fetch`: the window's meetings from the source into the store, nothing written but the run
//! report. [`fetch_window`] is the fetch half of `run` too.

use super::session::Session;
use super::{Outcome, ids, setup, summarize};
use crate::config::job::Job;
use crate::config::window::Window;
use crate::fetch::scheduler;
use crate::fetch::store::Store;
use anyhow::Result;
use std::sync::Arc;

pub async fn fetch(job: &Job, window: Window) -> Result<Outcome> {
    let mut session = Session::start("fetch", job)?;
    let mut store = open_store(job)?;
    let ids = fetch_window(&mut session, &mut store, window).await?;
    summarize::set_window(&mut session, &store, window, Some(&ids))?;
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

/// Resolves the window's ids and fetches what the store lacks; the counts, failures and
/// undated meetings go into the session's report. Returns the ids requested.
pub async fn fetch_window(
    session: &mut Session<'_>,
    store: &mut Store,
    window: Window,
) -> Result<Vec<String>> {
    let job = session.job;
    let t = std::time::Instant::now();
    let client = setup::api_client(job)?;
    let (source, in_flight) = setup::source(job, client.as_ref());
    let result = async {
        let list = ids::resolve(job, window, client.as_deref()).await?;
        let report = &mut session.report;
        report.counts.duplicate_ids = list.duplicates;
        report.counts.skipped_input_lines = list.problems.len();
        report.input_problems = list.problems;
        // Counted before fetching, so a run stopped by gettoken still says what it was asked.
        report.counts.requested = list.ids.len();
        let out =
            scheduler::fetch(Arc::new(source), store, &list.ids, job.refetch, in_flight).await?;
        Ok((out, list.ids))
    }
    .await;
    session.report.timings.fetch_ms = t.elapsed().as_millis();
    if let Some(c) = &client {
        session.add_client_stats(&c.stats());
    }
    let (fetched, ids) = session.stop_on_error(result)?;
    let report = &mut session.report;
    report.counts.requested = fetched.requested;
    report.counts.fetched = fetched.fetched;
    report.counts.reused_from_store = fetched.reused_from_store;
    report.failures = fetched.failures;
    report.undated_meetingids = store.undated(&ids)?;
    report.counts.undated = report.undated_meetingids.len();
    for id in &report.undated_meetingids {
        tracing::warn!(meetingid = %id, "meeting has no start time; it is in no date partition");
    }
    Ok(ids)
}
