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
//!
//! Recurring meetings: each occurrence's body is a meeting of its own (its start, date and
//! status), with `sub_meetingid` and `series_title` filled; deleted occurrences (listed by
//! the catalog, no body) become `meetings` rows with status `deleted`, merged into the stream
//! at their scheduled date; the `series` and `series_meetings` tables are built at the end.
//! With an empty catalog (a window of one-off meetings) none of this runs.

use crate::config::job::Job;
use crate::domain::MeetingFailure;
pub use crate::domain::series::{SeriesInWindow, StoredBody};
use crate::transform::flatten::{self, Quality};
use crate::transform::people::{self, People};
use crate::transform::series::{self as series_tables, Catalog, Gathered};
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
    /// Recurring meetings: one row per series × attendee.
    Series,
    /// Recurring meetings: one row per series.
    SeriesMeetings,
}

impl Table {
    /// The table's name: its folder in the output and its name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Table::Attendance => "attendance",
            Table::Meetings => "meetings",
            Table::Users => "users",
            Table::Series => "series",
            Table::SeriesMeetings => "series_meetings",
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
    /// The `series` and `series_meetings` tables of the whole window, once, at the end (both
    /// empty, with their columns, for a window without recurring meetings).
    fn series(&mut self, series: DataFrame, series_meetings: DataFrame) -> Result<()> {
        let _ = (series, series_meetings);
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
    let catalog = Catalog::new(series);
    // The deleted occurrences' meetings rows, in start order, not yet handed on.
    let mut deleted = match catalog.has_deleted() {
        true => Some(slice_tables(catalog.deleted_meetings(), job, people, &catalog)?.meetings),
        false => None,
    };
    let mut gathered = Gathered::default();
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
        for mut chunk in rx {
            if catalog.has_deleted() {
                // The heads say deleted: a body fetched before the deletion is not a meeting.
                chunk.retain(|b| {
                    !b.sub_meetingid
                        .as_deref()
                        .is_some_and(|s| catalog.is_deleted(&b.meetingid, s))
                });
            }
            let results: Vec<_> = chunk
                .par_chunks(SLICE_MEETINGS)
                .map(|slice| flatten_slice(slice, job, people, &catalog))
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
                if let Some(g) = part.series {
                    gathered.merge(g);
                }
                sink.append(Table::Attendance, &part.attendance)?;
                let rows = match &mut deleted {
                    Some(d) => with_deleted_until(part.meetings, d)?,
                    None => part.meetings,
                };
                sink.append(Table::Meetings, &rows)?;
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
    if let Some(rest) = deleted.filter(|d| d.height() > 0) {
        sink.append(Table::Meetings, &rest)?;
    }
    let users = match users {
        Some(u) => u,
        // An empty window still gets its (empty) users table, with its columns.
        None => flatten_slice(&[], job, people, &catalog)?.0.users,
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
    quality.occurrences_unlisted = catalog.unlisted();
    let (series_rows, series_meetings) = series_tables::tables(gathered, &catalog, people, job.tz)?;
    sink.series(people.pseudonymize(series_rows)?, series_meetings)?;
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
fn flatten_slice<'a>(
    slice: &'a [StoredBody],
    job: &Job,
    people: &People,
    catalog: &Catalog<'a>,
) -> PolarsResult<(SliceTables, Vec<MeetingFailure>)> {
    let (mut parsed, mut failed) = flatten::parse_batch(slice);
    let repaired = flatten::repair(slice, &failed);
    let (more, repairs) = flatten::reparse(&repaired, &mut failed);
    parsed.extend(more);
    if !catalog.is_empty() {
        for m in parsed.iter_mut().filter(|m| m.sub_meetingid.is_some()) {
            m.series_title = catalog.title(m.meetingid);
        }
    }
    // An occurrence's answer must say who was in it: without `attendees` its attendance is
    // unknown, not empty (a one-off quick meeting may lack the list; an occurrence may not).
    if parsed
        .iter()
        .any(|m| m.sub_meetingid.is_some() && m.info.attendees.is_none())
    {
        parsed.retain(|m| match (m.sub_meetingid, &m.info.attendees) {
            (Some(sub), None) => {
                failed.push(MeetingFailure {
                    meetingid: m.meetingid.to_string(),
                    sub_meetingid: Some(sub.to_string()),
                    errcode: None,
                    reason: format!(
                        "the answer for occurrence {sub} of recurring meeting {} has no attendees",
                        m.meetingid
                    ),
                });
                false
            }
            _ => true,
        });
    }
    let mut tables = slice_tables(parsed, job, people, catalog)?;
    tables.quality.add(&repairs);
    Ok((tables, failed))
}

/// The tables of parsed meetings: [`flatten::flatten`], then [`derive_tables`].
fn slice_tables(
    parsed: Vec<flatten::ParsedMeeting<'_>>,
    job: &Job,
    people: &People,
    catalog: &Catalog<'_>,
) -> PolarsResult<SliceTables> {
    derive_tables(flatten::flatten(parsed, job.tz)?, job, people, catalog)
}

/// The tables of flattened meetings: rows with their metrics, names and pseudonyms, the
/// meetings' summary, the users' and departments' partial sums, the held occurrences of
/// series (when the window has series). Public for `phase-costs`, which times it as a phase.
pub fn derive_tables(
    flat: flatten::Flattened,
    job: &Job,
    people: &People,
    catalog: &Catalog<'_>,
) -> PolarsResult<SliceTables> {
    let attendance = metrics::derive(flat.attendance, job.metrics.grace_period_s)?;
    let attendance = people::annotate_attendance(attendance, people)?;
    let meetings = summary::meetings(flat.meetings, &attendance)?;
    let meetings = people::annotate_meetings(meetings, people)?;
    let series = match catalog.is_empty() {
        true => None,
        false => Some(Gathered::of(&meetings, &attendance)?),
    };
    let statuses = &job.metrics.user_statuses;
    let users = summary::users_partial(&attendance, statuses)?;
    // Without a directory no row has a department and no member is looked for in it: the
    // departments' partial sums are empty (with their columns) and nobody is missing.
    let (departments, missing) = match people.history.is_empty() {
        true => (
            people::departments_partial(&attendance.clear(), statuses)?,
            Default::default(),
        ),
        false => (
            people::departments_partial(&attendance, statuses)?,
            people::missing_member_ids(&attendance, statuses)?,
        ),
    };
    Ok(SliceTables {
        meetings: occurrence_columns_last(people.pseudonymize(meetings)?)?,
        attendance: occurrence_columns_last(people.pseudonymize(attendance)?)?,
        users,
        departments,
        missing,
        series,
        quality: flat.quality,
    })
}

/// `df` with `sub_meetingid` and `series_title` moved to the end: they came with recurring
/// meetings, after every other column, so readers by position keep theirs.
fn occurrence_columns_last(df: DataFrame) -> PolarsResult<DataFrame> {
    let mut names: Vec<PlSmallStr> = df
        .get_column_names()
        .into_iter()
        .filter(|n| !flatten::OCCURRENCE_COLUMNS.contains(&n.as_str()))
        .cloned()
        .collect();
    names.extend(flatten::OCCURRENCE_COLUMNS.map(PlSmallStr::from_static));
    df.select(names)
}

/// `meetings` (one slice's, in start order) with the deleted occurrences of `deleted` (in
/// start order) up to the slice's last date merged in, in start order; those leave
/// `deleted`. Rows reach the sink in date order either way.
fn with_deleted_until(meetings: DataFrame, deleted: &mut DataFrame) -> PolarsResult<DataFrame> {
    let Some(last) = meetings.column("meeting_date")?.date()?.physical().max() else {
        return Ok(meetings);
    };
    let dates = deleted.column("meeting_date")?.date()?.physical().clone();
    let due = dates
        .iter()
        .take_while(|d| d.is_some_and(|d| d <= last))
        .count();
    if due == 0 {
        return Ok(meetings);
    }
    let mut merged = meetings;
    merged.vstack_mut_owned(deleted.slice(0, due))?;
    *deleted = deleted.slice(due as i64, deleted.height() - due);
    merged.sort(
        ["meeting_start", "meetingid", "sub_meetingid"],
        SortMultipleOptions::default().with_maintain_order(true),
    )
}

/// What one slice contributes: its rows, its meetings' summary, its users' partial sums.
pub struct SliceTables {
    pub meetings: DataFrame,
    pub attendance: DataFrame,
    pub users: DataFrame,
    pub departments: DataFrame,
    pub missing: std::collections::HashSet<String>,
    /// Held occurrences of series; `None` when the window has no series.
    pub series: Option<Gathered>,
    pub quality: Quality,
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
