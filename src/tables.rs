//! Store → the three tables of one window: the offline half of a run.
//!
//! A reader thread streams bodies out of the store in chunks of [`CHUNK_MEETINGS`] (in start
//! order) while the previous chunk is parsed, flattened and given its per-row metrics on all
//! cores, in slices of [`SLICE_MEETINGS`] that each become a small columnar frame; the JSON of a
//! chunk is dropped as soon as it is flattened. Peak memory is therefore two chunks of JSON plus
//! the columnar tables, not the whole window's JSON (nor two copies of the table). Meetings are
//! summarised per slice too (a meeting's rows never span slices); only the users summary runs
//! over the whole window.

use crate::flatten::{self, BodyFailure, Quality};
use crate::job::Job;
use crate::output::Tables;
use crate::store::Store;
use crate::window::DateRange;
use crate::{metrics, summary};
use anyhow::{Context, Result};
use polars::prelude::*;
use rayon::prelude::*;
use std::sync::mpsc;
use std::time::Instant;

/// Meetings read from the store per chunk.
pub const CHUNK_MEETINGS: usize = 1000;
/// Meetings parsed and flattened by one task.
pub const SLICE_MEETINGS: usize = 500;

/// The window's tables, its data-quality counters and how many meetings it holds. Stored bodies
/// that no longer parse are appended to `failures`.
pub fn build(
    job: &Job,
    store: &Store,
    range: DateRange,
    failures: &mut Vec<BodyFailure>,
) -> Result<(Tables, Quality, usize)> {
    let t = Instant::now();
    let (start, end) = range.epoch_bounds(job.tz);
    let reader = store.reader()?;
    let (tx, rx) = mpsc::sync_channel::<Vec<(String, Vec<u8>)>>(1);
    let mut parts: Vec<SliceTables> = Vec::new();
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
                let (flat, failed) = r?;
                for f in &failed {
                    tracing::warn!(meetingid = %f.meetingid, reason = %f.reason, "stored body skipped");
                }
                failures.extend(failed);
                parts.push(flat);
            }
        }
        feeder
            .join()
            .map_err(|_| anyhow::anyhow!("the store reader thread panicked"))?
            .context("reading the store")
    })?;
    let (tables, quality) = concat(parts, job)?;
    let count = tables.meetings.height();
    tracing::debug!(
        ms = t.elapsed().as_millis(),
        meetings = count,
        rows = tables.attendance.height(),
        peak_memory = %peak_memory(),
        "tables built"
    );
    Ok((tables, quality, count))
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

/// Stacks the slices' frames in order (they arrive sorted by start, then id) and combines the
/// users' partial sums. The tables keep one chunk per slice: rechunking would copy them whole for
/// no gain downstream.
fn concat(parts: Vec<SliceTables>, job: &Job) -> PolarsResult<(Tables, Quality)> {
    let mut quality = Quality::default();
    let mut parts = parts.into_iter();
    let first = match parts.next() {
        Some(p) => p,
        None => flatten_slice(&[], job)?.0,
    };
    quality.add(&first.quality);
    let (mut meetings, mut attendance, mut users) = (first.meetings, first.attendance, first.users);
    for p in parts {
        quality.add(&p.quality);
        meetings.vstack_mut_owned(p.meetings)?;
        attendance.vstack_mut_owned(p.attendance)?;
        users.vstack_mut_owned(p.users)?;
    }
    let users = summary::users_combine(users)?;
    Ok((
        Tables {
            attendance,
            meetings,
            users,
        },
        quality,
    ))
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
