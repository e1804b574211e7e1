//! `summarize`: the store → the window's tables, with no network. [`write_tables`] is the
//! second half of `run` too.

use super::Outcome;
use super::session::Session;
use crate::config::job::Job;
use crate::config::window::{DateRange, Window, local_date};
use crate::fetch::store::Store;
use crate::output::fanout;
use crate::output::partitions::{Stale, Writer};
use crate::output::report::{UnlistedOccurrence, WindowReport};
use crate::transform::tables::{self, CHUNK_MEETINGS};
use anyhow::Result;
use std::time::Instant;

pub fn summarize(job: &Job, window: Window) -> Result<Outcome> {
    // Checked before the lock is taken: summarize never creates a store, nor its lock, where
    // there was none.
    let mut store = Store::open_existing(&job.store_path)?;
    let mut session = Session::start("summarize", job)?;
    // Only the failures of this window's meetings count (and decide the exit code).
    let scope = super::fetch::window_scope(window, job);
    let (failures, given_up) =
        store.failures_in(scope.as_ref().map(|s| s.as_args()), job.fetch.give_up_after)?;
    session.report.failures = failures;
    session.report.given_up = given_up;
    if let Some(range) = set_window(&mut session, &store, window, None)? {
        write_tables(&mut session, &mut store, range)?;
    }
    session.finish()
}

/// The dates the command covers: the window's, or for `all` the span of the stored meetings
/// (of `ids`, or every one). Recorded in the report; `None` when nothing is dated.
pub fn set_window(
    session: &mut Session<'_>,
    store: &Store,
    window: Window,
    ids: Option<&[String]>,
) -> Result<Option<DateRange>> {
    let range = match window {
        Window::Dates(r) => Some(r),
        Window::All => span_of(store, ids, session.job)?,
    };
    session.report.window = range.map(|r| WindowReport {
        from: r.from.to_string(),
        to: r.to.to_string(),
    });
    Ok(range)
}

/// Store → tables → files for one window. A date is rewritten only from meetings the store
/// holds: when meetings of the run failed without a dated body, dates left without rows keep
/// their old partitions, and a window the store holds nothing of is not written at all (its
/// old tables, `users` included, stay as they were).
pub fn write_tables(session: &mut Session<'_>, store: &mut Store, range: DateRange) -> Result<()> {
    let t = Instant::now();
    let job = session.job;
    let (start, end) = range.epoch_bounds(job.tz);
    let failed: Vec<String> = session
        .report
        .failures
        .iter()
        .map(|f| f.meetingid.clone())
        .collect();
    let dated = store.dated(&failed)?;
    let undated_failures = failed.iter().filter(|id| !dated.contains(*id)).count();
    let stale = if undated_failures == 0 {
        Stale::Remove
    } else {
        Stale::Keep
    };
    if stale == Stale::Keep && store.count_between(start, end)? == 0 {
        tracing::warn!(
            failed = undated_failures,
            "the store holds no meeting of the window and some failed: the window's tables are left as they were"
        );
        session.report.tables_kept = true;
        return Ok(());
    }
    let writer = Writer {
        place: &*session.place,
        formats: &job.formats,
        csv: job.csv,
        tz: job.tz,
        stale,
    };
    let people = super::people::people_for(job, store, range)?;
    // The recurring meetings of the window, and the occurrences their rules expect unlisted.
    let series = store.series_in_window(start, end, job.tz)?;
    let report = &mut session.report;
    report.occurrences_unlisted = UnlistedOccurrence::of(&series, job.tz);
    // The same frames go to the partitions and to the workbook and the report.
    let ((quality, meetings), written, files) =
        fanout::write_window(job, range, &writer, |sink| {
            // The feeder thread borrows the store exclusively (a connection is not shared between
            // threads), so the store is opened once per command.
            let feed = move |send: &mut dyn FnMut(tables::Chunk) -> Result<()>| {
                store.for_each_chunk(start, end, CHUNK_MEETINGS, send)
            };
            tables::build_with(job, &people, &series, feed, &mut report.failures, sink)
        })?;
    report.quality = quality;
    report.quality.cells_cut = files.cells_cut;
    report.quality.department_cycles = super::people::warn_cycles(&people);
    report.files_failed.extend(files.failed);
    report.counts.meetings_in_window = meetings;
    report.rows = Some(written);
    report.timings.summarize_ms = t.elapsed().as_millis();
    Ok(())
}

/// Rewrites the `attendance` and `meetings` partitions of single dates outside the window
/// (those of lookback meetings that changed), from the store: the window's users table, the
/// workbook and the report are not touched.
pub fn rewrite_dates(
    session: &mut Session<'_>,
    store: &mut Store,
    dates: &[chrono::NaiveDate],
) -> Result<()> {
    let job = session.job;
    for &date in dates {
        let range = DateRange::new(date, date)?;
        let (start, end) = range.epoch_bounds(job.tz);
        let writer = Writer {
            place: &*session.place,
            formats: &job.formats,
            csv: job.csv,
            tz: job.tz,
            stale: Stale::Keep,
        };
        // Names, departments and pseudonyms exactly as for the window's own dates.
        let people = super::people::people_for(job, store, range)?;
        let series = store.series_in_window(start, end, job.tz)?;
        let report = &mut session.report;
        let store = &mut *store;
        let (_, written) = writer.write_window(range, |sink| {
            let feed = move |send: &mut dyn FnMut(tables::Chunk) -> Result<()>| {
                store.for_each_chunk(start, end, CHUNK_MEETINGS, send)
            };
            tables::build_with(
                job,
                &people,
                &series,
                feed,
                &mut report.failures,
                &mut DatesOnly(sink),
            )
        })?;
        tracing::info!(%date, rows = written.attendance_rows, "rewrote a date of the lookback");
        if let Some(rows) = &mut report.rows {
            rows.partitions_written += written.partitions_written;
            rows.files.extend(written.files);
        }
    }
    Ok(())
}

/// Passes a date's rows on and drops the users summary (a single date outside the window has
/// no users table of its own).
struct DatesOnly<'a, 'b>(&'a mut crate::output::partitions::WindowSink<'b>);

impl tables::TableSink for DatesOnly<'_, '_> {
    fn append(&mut self, table: tables::Table, rows: &polars::prelude::DataFrame) -> Result<()> {
        self.0.append(table, rows)
    }

    fn users(&mut self, _users: polars::prelude::DataFrame) -> Result<()> {
        Ok(())
    }
}

/// The local-date span of stored meetings (of `ids`, or all).
fn span_of(store: &Store, ids: Option<&[String]>, job: &Job) -> Result<Option<DateRange>> {
    Ok(match store.start_span(ids)? {
        Some((lo, hi)) => match (local_date(lo, job.tz), local_date(hi, job.tz)) {
            (Some(a), Some(b)) => Some(DateRange::new(a, b)?),
            _ => None,
        },
        None => None,
    })
}
