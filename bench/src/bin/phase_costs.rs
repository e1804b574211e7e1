//! The CPU cost of each phase of `summarize`, run one after another on one thread over every
//! meeting in a store: what each phase costs, and the floor two cores could reach if all of
//! them ran in parallel with no overhead and no file I/O.
//!
//! ```text
//! cargo run --release --bin phase-costs -- bench/bench.toml bench/data/out-10000x110
//! ```
//!
//! The job file gives the zone, grace period, counted statuses and CSV options; the folder is a
//! `summarize --out` folder whose `_store` holds the bodies. Nothing is written.

// A command-line tool whose output is its job: printing is allowed here.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use anyhow::{Context, Result};
use polars::prelude::*;
use std::path::PathBuf;
use std::time::Instant;
use wecom_attendance::config::job::{Job, Overrides};
use wecom_attendance::fetch::store::Store;
use wecom_attendance::output::csv_format;
use wecom_attendance::transform::{flatten, metrics, summary, tables};

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(job), Some(out)) = (args.next(), args.next()) else {
        anyhow::bail!("usage: phase-costs JOB_FILE OUT_DIR");
    };
    let out = PathBuf::from(out);
    let ov = Overrides {
        store: Some(out.join("_store").join("raw.sqlite")),
        out: Some(out),
        ..Overrides::default()
    };
    let job = Job::load(job.as_ref(), &ov)?;
    let store = Store::open(&job.store_path, "bench")
        .with_context(|| format!("opening {}", job.store_path.display()))?;
    let mut phases = Phases::default();

    let t = Instant::now();
    let mut bodies = Vec::new();
    store.for_each_chunk(i64::MIN, i64::MAX, tables::CHUNK_MEETINGS, |chunk| {
        bodies.extend(chunk);
        Ok(())
    })?;
    phases.done("read store + LZ4", t);

    let t = Instant::now();
    let slices: Vec<_> = bodies
        .chunks(tables::SLICE_MEETINGS)
        .map(flatten::parse_batch)
        .collect();
    phases.done("parse JSON (serde_json)", t);

    let t = Instant::now();
    let mut flat = Vec::with_capacity(slices.len());
    for (parsed, _) in slices {
        flat.push(flatten::flatten(parsed, job.tz)?);
    }
    phases.done("flatten to columns", t);

    let t = Instant::now();
    let mut frames = Vec::with_capacity(flat.len());
    for f in flat {
        let attendance = metrics::derive(f.attendance, job.metrics.grace_period_s)?;
        let meetings = summary::meetings(f.meetings, &attendance)?;
        summary::users_partial(&attendance, &job.metrics.user_statuses)?;
        frames.push([attendance, meetings]);
    }
    phases.done("metrics + summaries (polars)", t);

    let t = Instant::now();
    let mut csv_bytes = 0;
    for df in frames.iter().flatten() {
        let mut buf = Vec::new();
        csv_format::write_csv(df, job.csv, job.tz, &mut buf)?;
        csv_bytes += buf.len();
    }
    phases.done("CSV encode (ours)", t);

    let t = Instant::now();
    let mut parquet_bytes = 0;
    for df in frames.iter_mut().flatten() {
        let mut buf = Vec::new();
        ParquetWriter::new(&mut buf)
            .with_compression(ParquetCompression::Snappy)
            .set_parallel(false)
            .finish(df)?;
        parquet_bytes += buf.len();
    }
    phases.done("Parquet encode (polars)", t);

    let rows: usize = frames.iter().map(|[a, _]| a.height()).sum();
    println!("{} meetings, {rows} attendance rows", bodies.len());
    phases.print();
    println!("CSV {csv_bytes} bytes, Parquet {parquet_bytes} bytes (in memory)");
    Ok(())
}

#[derive(Default)]
struct Phases(Vec<(&'static str, f64)>);

impl Phases {
    fn done(&mut self, name: &'static str, since: Instant) {
        self.0.push((name, since.elapsed().as_secs_f64()));
    }

    fn print(&self) {
        let total: f64 = self.0.iter().map(|p| p.1).sum();
        for (name, s) in &self.0 {
            println!("{name:<30} {s:>7.3} s  {:>5.1} %", 100.0 * s / total);
        }
        println!(
            "{:<30} {total:>7.3} s  (/ 2 cores = {:.3} s)",
            "sum",
            total / 2.0
        );
    }
}
