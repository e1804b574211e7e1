//! Store → the three tables of one window: the offline half of a run.
//!
//! A reader thread streams bodies out of the store in chunks of [`CHUNK_MEETINGS`] (in start
//! order) while the previous chunk is parsed, flattened and given its per-row metrics on all
//! cores, in slices of [`SLICE_MEETINGS`] that each become a small columnar frame; the JSON of a
//! chunk is dropped as soon as it is flattened. Meetings are summarised per slice too (a
//! meeting's rows never span slices), and each slice's rows go straight to the
//! [`WindowSink`], which writes a date as soon as it is complete. Peak memory is therefore two
//! chunks of JSON, the dates being written and the users' partial sums — not the window's
//! tables. Only the users summary is combined over the whole window, at the end.

use crate::config::job::Job;
use crate::config::window::DateRange;
use crate::fetch::store::Store;
use crate::output::partitions::{Table, WindowSink};
use crate::transform::flatten::{self, BodyFailure, Quality};
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

/// Builds the window's tables and hands them to `sink` as they are made: each slice's
/// attendance and meetings rows (in start order, so in date order), then the users summary.
/// Returns the data-quality counters and the number of meetings. Stored bodies that no longer
/// parse are appended to `failures`.
pub fn build(
    job: &Job,
    store: &Store,
    range: DateRange,
    failures: &mut Vec<BodyFailure>,
    sink: &mut WindowSink,
) -> Result<(Quality, usize)> {
    let t = Instant::now();
    let (start, end) = range.epoch_bounds(job.tz);
    let reader = store.reader()?;
    let (tx, rx) = mpsc::sync_channel::<Vec<(String, Vec<u8>)>>(1);
    let mut quality = Quality::default();
    let mut meetings = 0;
    let mut users: Option<DataFrame> = None;
    std::thread::scope(|scope| -> Result<()> {
        let feeder = scope.spawn(move || {
            reader.for_each_chunk(start, end, CHUNK_MEETINGS, |chunk| {
                // A closed channel means the consumer failed: stop reading; its error is reported.
                tx.send(chunk)
                    .map_err(|_| anyhow::anyhow!("the table builder stopped"))
            })
        });
        for chunk in rx {
            let results: Vec<_> = chunk
                .par_chunks(SLICE_MEETINGS)
                .map(|slice| flatten_slice(slice, job))
                .collect();
            for r in results {
                let (part, failed) = r?;
                for f in &failed {
                    tracing::warn!(meetingid = %f.meetingid, reason = %f.reason, "stored body skipped");
                }
                failures.extend(failed);
                quality.add(&part.quality);
                meetings += part.meetings.height();
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
            .map_err(|_| anyhow::anyhow!("the store reader thread panicked"))?
            .context("reading the store")
    })?;
    let users = match users {
        Some(u) => u,
        // An empty window still gets its (empty) users table, with its columns.
        None => flatten_slice(&[], job)?.0.users,
    };
    sink.users(summary::users_combine(users)?)?;
    tracing::debug!(
        ms = t.elapsed().as_millis(),
        meetings,
        peak_memory = %peak_memory(),
        "tables built"
    );
    Ok((quality, meetings))
}

/// Parses and flattens one slice of meetings, derives its per-row metrics, summarises its
/// meetings (a meeting's rows never span two slices) and its users' partial sums.
fn flatten_slice(
    slice: &[(String, Vec<u8>)],
    job: &Job,
) -> PolarsResult<(SliceTables, Vec<BodyFailure>)> {
    let (parsed, failed) = flatten::parse_batch(slice);
    let flat = flatten::flatten(parsed, job.tz)?;
    let attendance = metrics::derive(flat.attendance, job.metrics.grace_period_s)?;
    let meetings = summary::meetings(flat.meetings, &attendance)?;
    let users = summary::users_partial(&attendance, &job.metrics.user_statuses)?;
    Ok((
        SliceTables {
            meetings,
            attendance,
            users,
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
