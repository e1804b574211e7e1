//! Store → the three tables of one window: the offline half of a run.
//!
//! A reader thread streams bodies out of the store in chunks of [`CHUNK_MEETINGS`] (in start
//! order) while the previous chunk is parsed and flattened on all cores, in slices of
//! [`SLICE_MEETINGS`] that each become a small columnar frame; the JSON of a chunk is dropped as
//! soon as it is flattened. Peak memory is therefore two chunks of JSON plus the columnar tables,
//! not the whole window's JSON. The metrics and summaries then run once over the whole window
//! in polars.

use crate::flatten::{self, BodyFailure, Flattened, Quality};
use crate::job::Job;
use crate::output::Tables;
use crate::store::Store;
use crate::window::DateRange;
use crate::{metrics, summary};
use anyhow::{Context, Result};
use chrono_tz::Tz;
use polars::prelude::*;
use rayon::prelude::*;
use std::sync::mpsc;
use std::time::Instant;

/// Meetings read from the store per chunk.
pub const CHUNK_MEETINGS: usize = 2000;
/// Meetings parsed and flattened by one task.
pub const SLICE_MEETINGS: usize = 250;

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
    let mut parts: Vec<Flattened> = Vec::new();
    std::thread::scope(|scope| -> Result<()> {
        let feeder = scope.spawn(move || {
            reader.for_each_chunk(start, end, CHUNK_MEETINGS, |chunk| {
                // A closed channel means the consumer failed; its error is reported.
                let _ = tx.send(chunk);
                Ok(())
            })
        });
        let mut wait = 0u128;
        let mut work = 0u128;
        let mut tw = Instant::now();
        for chunk in rx {
            wait += tw.elapsed().as_micros();
            let tk = Instant::now();
            let results: Vec<_> = chunk
                .par_chunks(SLICE_MEETINGS)
                .map(|slice| flatten_slice(slice, job.tz))
                .collect();
            for r in results {
                let (flat, failed) = r?;
                for f in &failed {
                    tracing::warn!(meetingid = %f.meetingid, reason = %f.reason, "stored body skipped");
                }
                failures.extend(failed);
                parts.push(flat);
            }
            work += tk.elapsed().as_micros();
            tw = Instant::now();
        }
        tracing::debug!(wait, work, "consumer (µs)");
        feeder
            .join()
            .map_err(|_| anyhow::anyhow!("the store reader thread panicked"))?
            .context("reading the store")
    })?;
    let tc = Instant::now();
    let (meetings, rows, quality, count) = concat(parts, job.tz)?;
    tracing::debug!(us = tc.elapsed().as_micros(), "concat");
    tracing::debug!(
        ms = t.elapsed().as_millis(),
        meetings = count,
        rows = rows.height(),
        "read, parsed and flattened"
    );
    let t = Instant::now();
    let attendance = metrics::derive(rows, job.metrics.grace_period_s)?;
    let meetings_df = summary::meetings(meetings, &attendance)?;
    let users = summary::users(&attendance, &job.metrics.user_statuses)?;
    tracing::debug!(ms = t.elapsed().as_millis(), "metrics and summaries");
    Ok((
        Tables {
            attendance,
            meetings: meetings_df,
            users,
        },
        quality,
        count,
    ))
}

fn flatten_slice(
    slice: &[(String, Vec<u8>)],
    tz: Tz,
) -> PolarsResult<(Flattened, Vec<BodyFailure>)> {
    let (parsed, failed) = flatten::parse_batch(slice);
    Ok((flatten::flatten(parsed, tz)?, failed))
}

/// Stacks the slices' frames in order (they arrive sorted by start, then id).
fn concat(parts: Vec<Flattened>, tz: Tz) -> PolarsResult<(DataFrame, DataFrame, Quality, usize)> {
    let mut quality = Quality::default();
    let mut parts = parts.into_iter();
    let Some(first) = parts.next() else {
        let empty = flatten::flatten(Vec::new(), tz)?;
        return Ok((empty.meetings, empty.attendance, empty.quality, 0));
    };
    quality.add(&first.quality);
    let (mut meetings, mut rows) = (first.meetings, first.attendance);
    for p in parts {
        quality.add(&p.quality);
        meetings.vstack_mut_owned(p.meetings)?;
        rows.vstack_mut_owned(p.attendance)?;
    }
    meetings.rechunk_mut_par();
    rows.rechunk_mut_par();
    let count = meetings.height();
    Ok((meetings, rows, quality, count))
}
