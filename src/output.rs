//! Writes the tables as a Hive-style dataset, atomically, one partition at a time.
//!
//! Layout (SPEC §5): `OUT/attendance/dt=YYYY-MM-DD/part-0.{csv,parquet}`, the same for
//! `meetings`, and `OUT/users/window=FROM_TO/part-0.*`, each finished partition marked by
//! `_SUCCESS`. Every file is written to a temporary name in its own folder, fsynced, then
//! renamed, so a reader never sees half a file. A run replaces exactly the partitions of its
//! window: dates of the window that now have no meetings lose their old partition.
//!
//! CSV cells are prepared for people by [`crate::csv_format`]; Parquet keeps the raw text and
//! time-zone-aware datetimes.

use crate::csv_format::write_csv;
use crate::job::{CsvConfig, Format};
use crate::window::DateRange;
use anyhow::{Context, Result};
use chrono::NaiveDate;
use chrono_tz::Tz;
use polars::prelude::*;
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// Fast to write and to read back; the tables compress well either way.
const PARQUET_COMPRESSION: ParquetCompression = ParquetCompression::Snappy;
/// Partitions written at once: enough to use the machine, few enough to bound memory.
const WRITERS: usize = 2;
pub const SUCCESS_MARKER: &str = "_SUCCESS";

/// The three tables of one run.
pub struct Tables {
    pub attendance: DataFrame,
    pub meetings: DataFrame,
    pub users: DataFrame,
}

/// What was written.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct Written {
    pub attendance_rows: usize,
    pub meetings_rows: usize,
    pub users_rows: usize,
    pub partitions_written: usize,
    pub partitions_removed: usize,
    pub files: Vec<PathBuf>,
}

pub struct Writer<'a> {
    pub out_dir: &'a Path,
    pub formats: &'a [Format],
    pub csv: CsvConfig,
    /// Zone of the CSV time offsets (the job's).
    pub tz: Tz,
}

impl Writer<'_> {
    /// Writes every table for `window`, replacing that window's partitions. Partitions are
    /// written in parallel; each is complete (all formats, then `_SUCCESS`) or absent.
    pub fn write(&self, tables: &mut Tables, window: DateRange) -> Result<Written> {
        let mut w = Written {
            attendance_rows: tables.attendance.height(),
            meetings_rows: tables.meetings.height(),
            users_rows: tables.users.height(),
            ..Default::default()
        };
        let mut jobs: Vec<(PathBuf, DataFrame)> = Vec::new();
        for (name, df) in [
            ("attendance", &tables.attendance),
            ("meetings", &tables.meetings),
        ] {
            let parts = split_by_date(df)?;
            for date in window.dates() {
                let dir = self.out_dir.join(name).join(format!("dt={date}"));
                match parts.iter().find(|(d, _)| *d == date) {
                    Some((_, part)) => jobs.push((dir, part.clone())),
                    None if dir.exists() => {
                        fs::remove_dir_all(&dir).with_context(|| {
                            format!("cannot remove stale partition {}", dir.display())
                        })?;
                        w.partitions_removed += 1;
                    }
                    None => {}
                }
            }
        }
        let users_dir = self
            .out_dir
            .join("users")
            .join(format!("window={}", window.label()));
        jobs.push((users_dir, tables.users.clone()));
        let files = self.write_partitions(jobs)?;
        w.partitions_written = files.len();
        w.files = files.into_iter().flatten().collect();
        Ok(w)
    }

    /// Writes partitions on [`WRITERS`] threads, each taking the next partition when done, so at
    /// most that many partitions are encoded in memory at once.
    fn write_partitions(&self, jobs: Vec<(PathBuf, DataFrame)>) -> Result<Vec<Vec<PathBuf>>> {
        let queue = std::sync::Mutex::new(jobs.into_iter().enumerate());
        let results = std::sync::Mutex::new(Vec::new());
        let writers = std::thread::available_parallelism().map_or(2, |n| n.get().min(WRITERS));
        std::thread::scope(|scope| {
            for _ in 0..writers {
                scope.spawn(|| {
                    loop {
                        let next = queue.lock().expect("queue lock").next();
                        let Some((i, (dir, df))) = next else { break };
                        let r = self.write_partition(&dir, df);
                        let failed = r.is_err();
                        results.lock().expect("results lock").push((i, r));
                        if failed {
                            break;
                        }
                    }
                });
            }
        });
        let mut results = results.into_inner().expect("results lock");
        results.sort_by_key(|(i, _)| *i);
        results.into_iter().map(|(_, r)| r).collect()
    }

    fn write_partition(&self, dir: &Path, mut df: DataFrame) -> Result<Vec<PathBuf>> {
        fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        remove_stale_temporaries(dir)?;
        let marker = dir.join(SUCCESS_MARKER);
        if marker.exists() {
            fs::remove_file(&marker)?;
        }
        let mut files = Vec::with_capacity(self.formats.len());
        for format in self.formats {
            let t = std::time::Instant::now();
            let path = match format {
                Format::Csv => {
                    let path = dir.join("part-0.csv");
                    // write_csv buffers a megabyte at a time itself.
                    write_atomic(&path, |f| write_csv(&df, self.csv, self.tz, f))?;
                    path
                }
                Format::Parquet => {
                    let path = dir.join("part-0.parquet");
                    write_atomic(&path, |f| {
                        ParquetWriter::new(BufWriter::new(f))
                            .with_compression(PARQUET_COMPRESSION)
                            .finish(&mut df)?;
                        Ok(())
                    })?;
                    path
                }
            };
            tracing::debug!(path = %path.display(), rows = df.height(), ms = t.elapsed().as_millis(), "written");
            files.push(path);
        }
        write_atomic(&marker, |_| Ok(()))?;
        Ok(files)
    }
}

/// Removes temporary files a killed run left behind (`.part-0.csv.tmp-PID`); readers of the
/// dataset ignore dot-files anyway, this only keeps the folder tidy.
fn remove_stale_temporaries(dir: &Path) -> Result<()> {
    for e in fs::read_dir(dir)? {
        let e = e?;
        let name = e.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') && name.contains(".tmp-") {
            fs::remove_file(e.path())?;
        }
    }
    Ok(())
}

/// Splits a frame sorted by `meeting_date` into contiguous per-date slices (no copy).
fn split_by_date(df: &DataFrame) -> Result<Vec<(NaiveDate, DataFrame)>> {
    let dates = df.column("meeting_date")?.date()?.physical().clone();
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch");
    let mut parts = Vec::new();
    let mut start = 0usize;
    let mut current: Option<i32> = None;
    for (i, d) in dates.iter().enumerate() {
        if d != current {
            if let Some(day) = current {
                parts.push((day, df.slice(start as i64, i - start)));
            }
            start = i;
            current = d;
        }
    }
    if let Some(day) = current {
        parts.push((day, df.slice(start as i64, dates.len() - start)));
    }
    Ok(parts
        .into_iter()
        .map(|(d, part)| (epoch + chrono::Days::new(d as u64), part))
        .collect())
}

/// Writes `path` via a temporary file in the same folder: write, fsync, rename, fsync folder.
pub fn write_atomic(path: &Path, fill: impl FnOnce(&mut File) -> Result<()>) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| -> Result<()> {
        let mut f = File::create(&tmp)?;
        fill(&mut f)?;
        f.sync_all()?;
        fs::rename(&tmp, path)?;
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.with_context(|| format!("cannot write {}", path.display()))
}

/// Writes `bytes` to `path` atomically.
pub fn write_bytes_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    write_atomic(path, |f| {
        let mut w = BufWriter::new(f);
        w.write_all(bytes)?;
        w.flush()?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_atomic_write_leaves_no_temporary_file_behind() {
        let dir = std::env::temp_dir().join(format!("wa-atomic-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let p = dir.join("f.txt");
        write_bytes_atomic(&p, b"one").unwrap();
        write_bytes_atomic(&p, b"two").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        let names: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["f.txt"]);
        fs::remove_dir_all(&dir).unwrap();
    }
}
