//! The CPU cost of each phase of `summarize`, run one after another on one thread over every
//! meeting in a store: what each phase costs, and the floor two cores could reach if all of
//! them ran in parallel with no overhead.
//!
//! ```text
//! cargo run --release --bin phase-costs -- bench/bench.toml bench/data/out-10000x110
//! ```
//!
//! The job file gives the zone, grace period, counted statuses, identity and CSV options; the
//! folder is a `summarize --out` folder whose `_store` holds the bodies. The phases call the
//! functions `summarize` calls (the same per-slice table builder, with the store's people and
//! recurring meetings), and the files are encoded per date partition as the writers encode
//! them, then written once into a scratch folder under OUT_DIR (removed at the end).

// A command-line tool whose output is its job: printing is allowed here.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use anyhow::{Context, Result};
use polars::prelude::*;
use std::path::PathBuf;
use std::time::Instant;
use wecom_attendance::commands::people_for;
use wecom_attendance::config::job::{Job, Overrides};
use wecom_attendance::config::window::{DateRange, local_date};
use wecom_attendance::fetch::store::Store;
use wecom_attendance::output::{csv_format, place};
use wecom_attendance::transform::series::{Catalog, Gathered};
use wecom_attendance::transform::{flatten, people, summary, tables};

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(job), Some(out)) = (args.next(), args.next()) else {
        anyhow::bail!("usage: phase-costs JOB_FILE OUT_DIR");
    };
    let out = PathBuf::from(out);
    let ov = Overrides {
        store: Some(out.join("_store").join("raw.sqlite")),
        out: Some(out.clone()),
        ..Overrides::default()
    };
    let job = Job::load(job.as_ref(), &ov)?;
    let store = Store::open(&job.store_path, "bench")
        .with_context(|| format!("opening {}", job.store_path.display()))?;
    let Some((lo, hi)) = store.start_span(None)? else {
        anyhow::bail!("the store holds no dated meeting");
    };
    let day = |t| local_date(t, job.tz).context("a stored start outside the calendar");
    let range = DateRange::new(day(lo)?, day(hi)?)?;
    let (start, end) = range.epoch_bounds(job.tz);
    let people = people_for(&job, &store, range)?;
    let series = store.series_in_window(start, end, job.tz)?;
    let catalog = Catalog::new(&series);
    let mut phases = Phases::default();

    let t = Instant::now();
    let mut bodies = Vec::new();
    store.for_each_chunk(start, end, tables::CHUNK_MEETINGS, |chunk| {
        bodies.extend(chunk);
        Ok(())
    })?;
    phases.done("read store + LZ4", t);

    let t = Instant::now();
    let slices: Vec<_> = bodies
        .chunks(tables::SLICE_MEETINGS)
        .map(flatten::parse_batch)
        .collect();
    phases.done("parse JSON + plausibility", t);

    let t = Instant::now();
    let mut flat = Vec::with_capacity(slices.len());
    for (mut parsed, _) in slices {
        for m in parsed.iter_mut().filter(|m| m.sub_meetingid.is_some()) {
            m.series_title = catalog.title(m.meetingid);
        }
        flat.push(flatten::flatten(parsed, job.tz)?);
    }
    phases.done("flatten to columns", t);

    let t = Instant::now();
    let mut parts = Vec::with_capacity(flat.len());
    for f in flat {
        parts.push(tables::derive_tables(f, &job, &people, &catalog)?);
    }
    phases.done("metrics, people, summaries", t);

    let t = Instant::now();
    let mut users: Option<DataFrame> = None;
    let mut departments: Option<DataFrame> = None;
    let mut gathered = Gathered::default();
    for p in &mut parts {
        let (u, d) = (p.users.clone(), p.departments.clone());
        match &mut users {
            Some(all) => drop(all.vstack_mut_owned(u)?),
            None => users = Some(u),
        }
        match &mut departments {
            Some(all) => drop(all.vstack_mut_owned(d)?),
            None => departments = Some(d),
        }
        if let Some(g) = p.series.take() {
            gathered.merge(g);
        }
    }
    let users = users.context("no slice")?;
    let users = people.pseudonymize(people::annotate_users(
        summary::users_combine(users)?,
        &people,
    )?)?;
    let window = people.window.map(|(s, e)| (s, e - 1));
    let departments = people::departments(
        departments,
        &people.history,
        window.map(|w| w.1),
        window.map(|w| w.0),
    )?;
    let (series_rows, series_meetings) =
        wecom_attendance::transform::series::tables(gathered, &catalog, &people, job.tz)?;
    phases.done("users, departments, series", t);

    // The partitions as the writers get them: each date's rows of each slice stacked.
    let mut files = by_date(parts.iter().map(|p| &p.attendance))?;
    files.extend(by_date(parts.iter().map(|p| &p.meetings))?);
    files.extend([users, departments, series_rows, series_meetings]);

    // Each file is encoded, then written as a local folder takes it (a temporary name, fsync,
    // rename), then dropped, as the writers do. Writing is timed apart, as CPU time, the
    // kernel's included: time spent waiting (fsync's wait for the disk, or the kernel holding
    // back a writer while older dirty pages are written) is left out, since summarize's writer
    // threads wait while its other work goes on.
    let scratch = out.join("_phase_costs");
    std::fs::create_dir_all(&scratch).with_context(|| format!("creating {}", scratch.display()))?;
    let (mut csv_s, mut parquet_s, mut write_s) = (0.0, 0.0, 0.0);
    let (mut csv_bytes, mut parquet_bytes) = (0, 0);
    let mut write = |name: String, buf: &[u8]| -> Result<()> {
        let (t, cpu) = (Instant::now(), thread_cpu());
        place::write_bytes_atomic(&scratch.join(name), buf)?;
        write_s += match (cpu, thread_cpu()) {
            (Some(a), Some(b)) => (b - a).as_secs_f64(),
            _ => t.elapsed().as_secs_f64(),
        };
        Ok(())
    };
    for (i, df) in files.iter_mut().enumerate() {
        let t = Instant::now();
        let mut buf = Vec::new();
        csv_format::write_csv(df, job.csv, job.tz, &mut buf)?;
        csv_s += t.elapsed().as_secs_f64();
        csv_bytes += buf.len();
        write(format!("part-{i}.csv"), &buf)?;
        drop(buf);

        let t = Instant::now();
        let mut buf = Vec::new();
        ParquetWriter::new(&mut buf)
            .with_compression(ParquetCompression::Snappy)
            .set_parallel(false)
            .finish(df)?;
        parquet_s += t.elapsed().as_secs_f64();
        parquet_bytes += buf.len();
        write(format!("part-{i}.parquet"), &buf)?;
    }
    phases.add("CSV encode (ours)", csv_s);
    phases.add("Parquet encode (polars)", parquet_s);
    phases.add("write files (CPU, no waits)", write_s);
    std::fs::remove_dir_all(&scratch)?;

    let rows: usize = parts.iter().map(|p| p.attendance.height()).sum();
    println!(
        "{} meetings, {rows} attendance rows, {} files per format",
        bodies.len(),
        files.len()
    );
    phases.print();
    println!("CSV {csv_bytes} bytes, Parquet {parquet_bytes} bytes");
    Ok(())
}

/// One frame per date: the rows of `frames` (each sorted by `meeting_date`, in date order)
/// cut at date changes and stacked, as the partition writer stacks them.
fn by_date<'a>(frames: impl Iterator<Item = &'a DataFrame>) -> Result<Vec<DataFrame>> {
    let mut out: Vec<(Option<i32>, DataFrame)> = Vec::new();
    for df in frames {
        if df.height() == 0 {
            continue;
        }
        let dates = df.column("meeting_date")?.date()?.physical().clone();
        let mut from = 0;
        let mut current = dates.get(0);
        for i in 1..=dates.len() {
            let d = if i < dates.len() { dates.get(i) } else { None };
            if i < dates.len() && d == current {
                continue;
            }
            let part = df.slice(from as i64, i - from);
            match out.last_mut() {
                Some((last, acc)) if *last == current => drop(acc.vstack_mut_owned(part)?),
                _ => out.push((current, part)),
            }
            (from, current) = (i, d);
        }
    }
    Ok(out
        .into_iter()
        .filter(|(d, _)| d.is_some())
        .map(|(_, df)| df)
        .collect())
}

/// This thread's time on a CPU so far (Linux's `/proc/thread-self/schedstat`, in ns), not
/// counting the time it waited; `None` where there is no such file.
fn thread_cpu() -> Option<std::time::Duration> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns = stat.split_whitespace().next()?.parse().ok()?;
    Some(std::time::Duration::from_nanos(ns))
}

#[derive(Default)]
struct Phases(Vec<(&'static str, f64)>);

impl Phases {
    fn done(&mut self, name: &'static str, since: Instant) {
        self.add(name, since.elapsed().as_secs_f64());
    }

    fn add(&mut self, name: &'static str, seconds: f64) {
        self.0.push((name, seconds));
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
