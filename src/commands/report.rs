//! `report`: the window's HTML report, built from the store with no network. It is
//! `summarize` with the one format `html`: the same frames, the same numbers, and since no
//! partitioned format is asked for, the CSV/Parquet tables are neither rewritten nor pruned.
//! The report's path is printed on stdout.

use super::Outcome;
use super::session::Session;
use super::summarize;
use crate::config::job::{Format, Job};
use crate::config::window::Window;
use crate::fetch::store::Store;
use anyhow::{Context, Result, ensure};
use std::io::Write;

/// The one format the command writes.
pub const FORMAT: &str = "html";

pub fn report(job: &Job, window: Window) -> Result<Outcome> {
    ensure!(
        job.formats == [Format::Html],
        "internal error: report writes only the html format"
    );
    // Like summarize: a missing store is refused before the lock is taken.
    let mut store = Store::open_existing(&job.store_path)?;
    let mut session = Session::start("report", job)?;
    session.report.failures = store.failures()?;
    if let Some(range) = summarize::set_window(&mut session, &store, window, None)? {
        summarize::write_tables(&mut session, &mut store, range)?;
    }
    let page = session.report.rows.as_ref().and_then(|r| {
        r.files
            .iter()
            .find(|f| f.file_name().is_some_and(|n| n == Format::Html.file_name()))
            .cloned()
    });
    let outcome = session.finish()?;
    if let Some(page) = page {
        match writeln!(std::io::stdout(), "{}", page.display()) {
            // Nobody reads stdout any more: the report is written all the same.
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
            r => r.context("writing the report's path to stdout")?,
        }
    }
    Ok(outcome)
}
