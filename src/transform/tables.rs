//! Stored bodies → the three tables of one window: the offline half of a run.
//!
//! A feeder thread (the caller's: the store's window reader) streams bodies in chunks of [`CHUNK_MEETINGS`] (in start
//! order) while the previous chunk is parsed, flattened and given its per-row metrics on all
//! cores, in slices of [`SLICE_MEETINGS`] that each become a small columnar frame; the JSON of a
//! chunk is dropped as soon as it is flattened. Meetings are summarised per slice too (a
//! meeting's rows never span slices), and each slice's rows go straight to the
//! [`TableSink`] (the output stage writes a date as soon as it is complete). Peak memory is therefore two
//! chunks of JSON, the dates being written and the users' partial sums — not the window's
//! tables. Only the users summary is combined over the whole window, at the end.

use crate::config::job::Job;
use crate::domain::MeetingFailure;
pub use crate::domain::series::{SeriesInWindow, StoredBody};
use crate::transform::flatten::{self, Quality};
use crate::transform::people::{self, People};
use crate::transform::{metrics, summary};
use anyhow::{Context, Result};
use polars::prelude::*;
use rayon::prelude::*;
use std::sync::mpsc;
use std::time::Instant;

/// Meetings read from the store per chunk.
pub const CHUNK_MEETINGS: usize = 1000;
/// Meetings parsed and flattened by one task.
pub const SLICE_MEETINGS: usize = 500;

/// The tables of a window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Table {
    Attendance,
    Meetings,
    Users,
}

impl Table {
    /// The table's name: its folder in the output and its name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Table::Attendance => "attendance",
            Table::Meetings => "meetings",
            Table::Users => "users",
        }
    }
}

/// Where the builder hands its frames; the output stage implements it.
pub trait TableSink {
    /// Rows of `table` (attendance or meetings), sorted by `meeting_date`, never earlier than
    /// the rows handed before.
    fn append(&mut self, table: Table, rows: &DataFrame) -> Result<()>;
    /// The users summary of the whole window, once, at the end.
    fn users(&mut self, users: DataFrame) -> Result<()>;
    /// The departments rollup of the whole window, once, after the users.
    fn departments(&mut self, departments: DataFrame) -> Result<()> {
        let _ = departments;
        Ok(())
    }
}

/// Stored bodies in start order (one-off meetings and occurrences of series alike), a chunk
/// at a time.
pub type Chunk = Vec<StoredBody>;

/// Builds the window's tables and hands them to `sink` as they are made: each slice's
/// attendance and meetings rows (in start order, so in date order), then the users summary.
/// `feed` runs on a thread of its own and passes the window's stored bodies, in start order,
/// to the function it is given, [`CHUNK_MEETINGS`] at a time. Returns the data-quality
/// counters and the number of meetings. Bodies that do not parse are appended to `failures`.
pub fn build<F>(
    job: &Job,
    feed: F,
    failures: &mut Vec<MeetingFailure>,
    sink: &mut dyn TableSink,
) -> Result<(Quality, usize)>
where
    F: FnOnce(&mut dyn FnMut(Chunk) -> Result<()>) -> Result<()> + Send,
{
    build_with(job, &People::default(), &[], feed, failures, sink)
}

/// [`build`] with what is known about people: names and departments as of each meeting
/// (null without a directory), converted external ids, and the departments rollup handed to
/// [`TableSink::departments`] at the end; and with the catalog of the window's recurring
/// meetings (`series`, from the store: empty when the window has none, which costs nothing).
pub fn build_with<F>(
    job: &Job,
    people: &People,
    series: &[SeriesInWindow],
    feed: F,
    failures: &mut Vec<MeetingFailure>,
    sink: &mut dyn TableSink,
) -> Result<(Quality, usize)>
where
    F: FnOnce(&mut dyn FnMut(Chunk) -> Result<()>) -> Result<()> + Send,
{
    let t = Instant::now();
    let mut departments: Option<DataFrame> = None;
    let mut missing = std::collections::HashSet::new();
    let (tx, rx) = mpsc::sync_channel::<Chunk>(1);
    let mut quality = Quality::default();
    let mut meetings = 0;
    let mut users: Option<DataFrame> = None;
    std::thread::scope(|scope| -> Result<()> {
        let feeder = scope.spawn(move || {
            feed(&mut |chunk| {
                // A closed channel means the consumer failed: stop reading; its error is reported.
                tx.send(chunk)
                    .map_err(|_| anyhow::anyhow!("the table builder stopped"))
            })
        });
        for chunk in rx {
            let results: Vec<_> = chunk
                .par_chunks(SLICE_MEETINGS)
                .map(|slice| flatten_slice(slice, job, people))
                .collect();
            for r in results {
                let (part, failed) = r?;
                for f in &failed {
                    tracing::warn!(meetingid = %f.meetingid, reason = %f.reason, "stored body skipped");
                }
                failures.extend(failed);
                quality.add(&part.quality);
                meetings += part.meetings.height();
                missing.extend(part.missing);
                match &mut departments {
                    Some(d) => {
                        d.vstack_mut_owned(part.departments)?;
                    }
                    None => departments = Some(part.departments),
                }
                sink.append(Table::Attendance, &part.attendance)?;
                sink.append(Table::Meetings, &part.meetings)?;
                match &mut users {
                    Some(u) => {
                        u.vstack_mut_owned(part.users)?;
                    }
                    None => users = Some(part.users),
                }
            }
        }
        feeder
            .join()
            .map_err(|_| anyhow::anyhow!("the body feeder thread panicked"))?
            .context("reading the stored bodies")
    })?;
    let users = match users {
        Some(u) => u,
        // An empty window still gets its (empty) users table, with its columns.
        None => flatten_slice(&[], job, people)?.0.users,
    };
    let users = people::annotate_users(summary::users_combine(users)?, people)?;
    sink.users(people.pseudonymize(users)?)?;
    let (since, at) = match people.window {
        Some((start, end)) => (Some(start), Some(end - 1)),
        None => (None, None),
    };
    sink.departments(people::departments(
        departments,
        &people.history,
        at,
        since,
    )?)?;
    if !people.history.is_empty() {
        quality.people_missing_from_directory = missing.len() as u64;
    }
    tracing::debug!(
        ms = t.elapsed().as_millis(),
        meetings,
        series = series.len(),
        peak_memory = %peak_memory(),
        "tables built"
    );
    Ok((quality, meetings))
}

/// Parses and flattens one slice of meetings, derives its per-row metrics, summarises its
/// meetings (a meeting's rows never span two slices) and its users' partial sums.
fn flatten_slice(
    slice: &[StoredBody],
    job: &Job,
    people: &People,
) -> PolarsResult<(SliceTables, Vec<MeetingFailure>)> {
    let (mut parsed, mut failed) = flatten::parse_batch(slice);
    let repaired = flatten::repair(slice, &failed);
    let more = flatten::reparse(&repaired, &mut failed);
    let repaired_count = more.len() as u64;
    parsed.extend(more);
    let mut flat = flatten::flatten(parsed, job.tz)?;
    flat.quality.bodies_with_repeated_keys += repaired_count;
    let attendance = metrics::derive(flat.attendance, job.metrics.grace_period_s)?;
    let attendance = people::annotate_attendance(attendance, people)?;
    let meetings = summary::meetings(flat.meetings, &attendance)?;
    let meetings = people::annotate_meetings(meetings, people)?;
    let statuses = &job.metrics.user_statuses;
    let users = summary::users_partial(&attendance, statuses)?;
    let departments = people::departments_partial(&attendance, statuses)?;
    let missing = people::missing_member_ids(&attendance, statuses)?;
    Ok((
        SliceTables {
            meetings: people.pseudonymize(meetings)?,
            attendance: people.pseudonymize(attendance)?,
            users,
            departments,
            missing,
            quality: flat.quality,
        },
        failed,
    ))
}

/// What one slice contributes: its rows, its meetings' summary, its users' partial sums.
struct SliceTables {
    meetings: DataFrame,
    attendance: DataFrame,
    users: DataFrame,
    departments: DataFrame,
    missing: std::collections::HashSet<String>,
    quality: Quality,
}

/// The process's peak resident memory so far (Linux), for the debug log.
fn peak_memory() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:").map(|v| v.trim().to_string()))
        })
        .unwrap_or_default()
}
