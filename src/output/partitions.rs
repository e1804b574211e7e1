//! Writes the tables as a Hive-style dataset, atomically, one partition at a time.
//!
//! Layout: `OUT/attendance/dt=YYYY-MM-DD/part-0.{csv,parquet}`, the same for
//! `meetings`, and `OUT/users/window=FROM_TO/part-0.*` (the same for `departments`, `series`
//! and `series_meetings`), each finished partition marked by `_SUCCESS`. Every file is put
//! whole through a [`Place`] (a local folder: temporary name, fsync, rename; a bucket: one
//! object), so a reader never sees half a file. A run replaces exactly the partitions of its
//! window: dates of the window that now have no meetings lose their old partition. These
//! rules are the same for every place.
//!
//! Partitions are written while the tables are still being built: rows arrive in date order
//! through a [`WindowSink`], and each date goes to a writer thread as soon as it is complete.
//!
//! CSV cells are prepared for people by [`crate::output::csv_format`]; Parquet keeps the raw text and
//! time-zone-aware datetimes.

use crate::config::job::{CsvConfig, Format};
use crate::config::window::DateRange;
use crate::output::csv_format::write_csv;
use crate::output::place::{Place, key};
use crate::transform::tables::{Table, TableSink};
use anyhow::{Context, Result, bail};
use chrono::NaiveDate;
use chrono_tz::Tz;
use polars::prelude::*;
use std::collections::HashSet;
use std::io::BufWriter;
use std::panic::{self, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::{Mutex, mpsc};

/// Fast to write and to read back; the tables compress well either way.
const PARQUET_COMPRESSION: ParquetCompression = ParquetCompression::Snappy;
/// Partitions written at once: enough to use the machine, few enough to bound memory.
const WRITERS: usize = 2;
pub const SUCCESS_MARKER: &str = "_SUCCESS";
/// The folder of the departments rollup, beside `users`.
pub const DEPARTMENTS_TABLE: &str = "departments";

/// What was written.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct Written {
    pub attendance_rows: usize,
    pub meetings_rows: usize,
    pub users_rows: usize,
    /// Rows of the `departments` table (0 without a directory).
    pub departments_rows: usize,
    /// Rows of the `series` table (0 without recurring meetings).
    pub series_rows: usize,
    pub partitions_written: usize,
    pub partitions_removed: usize,
    /// Old partitions of window dates without rows this time, kept because some of the run's
    /// meetings failed and might belong to them ([`Stale::Keep`]).
    pub partitions_kept: usize,
    pub files: Vec<PathBuf>,
}

/// What happens to the old partition of a window date that got no rows this time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stale {
    /// The date has no meetings any more (all moved or none held): its partition goes.
    Remove,
    /// Some meetings of the run failed and their dates are unknown: a date without rows may be
    /// a date whose meetings failed, so its old partition stays.
    Keep,
}

pub struct Writer<'a> {
    /// Where the files go.
    pub place: &'a dyn Place,
    pub formats: &'a [Format],
    pub csv: CsvConfig,
    /// Zone of the CSV time offsets (the job's).
    pub tz: Tz,
    /// What happens to old partitions of dates that got no rows.
    pub stale: Stale,
}

/// A partition on its way to a writer thread: its folder's key and its rows.
type PartitionJob = (String, DataFrame);

impl Writer<'_> {
    /// Writes the tables of `window` while `produce` builds them, replacing that window's
    /// partitions. `produce` hands rows to the [`WindowSink`] in date order; each date's
    /// partition is written on one of [`WRITERS`] threads as soon as a later date shows up, so
    /// writing overlaps building and only the partitions in flight are held in memory. Each
    /// partition is complete (all formats, then `_SUCCESS`) or absent. Dates of the window left
    /// without rows lose their old partition once everything else is written, unless
    /// [`Writer::stale`] says to keep them; if `produce` fails, partitions already written stay
    /// (each is whole) and nothing is removed.
    pub fn write_window<T>(
        &self,
        window: DateRange,
        produce: impl FnOnce(&mut WindowSink) -> Result<T>,
    ) -> Result<(T, Written)> {
        write_window_with(self.place, window, self.stale, produce, |dir, df| {
            self.write_partition(dir, df)
        })
    }

    /// Writes one partition folder: the old `_SUCCESS` goes first, then each format's file is
    /// written (atomically; the CSV and the Parquet file at the same time, on two threads, so a
    /// partition is finished in the time of the slower one) and any file of a format not written
    /// this time is removed, then a new `_SUCCESS` marks it finished.
    fn write_partition(&self, dir: &str, df: DataFrame) -> Result<Vec<PathBuf>> {
        let place = self.place;
        place.tidy(dir)?;
        let marker = key(dir, SUCCESS_MARKER);
        place.delete(&marker)?;
        let formats: Vec<Format> = self
            .formats
            .iter()
            .copied()
            .filter(|f| f.is_partitioned())
            .collect();
        let files = match formats.split_first() {
            Some((first, rest)) if !rest.is_empty() => std::thread::scope(|scope| {
                let others: Vec<_> = rest
                    .iter()
                    .map(|&f| {
                        let df = df.clone();
                        scope.spawn(move || self.write_file(dir, f, df))
                    })
                    .collect();
                let mut files = vec![self.write_file(dir, *first, df)];
                for (other, f) in others.into_iter().zip(rest) {
                    files.push(other.join().unwrap_or_else(|p| {
                        Err(anyhow::anyhow!(
                            "writing the {} file of {} panicked: {}",
                            f.file_name(),
                            place.location(dir).display(),
                            panic_message(&*p)
                        ))
                    }));
                }
                files.into_iter().collect::<Result<Vec<_>>>()
            })?,
            _ => formats
                .iter()
                .map(|&f| self.write_file(dir, f, df.clone()))
                .collect::<Result<Vec<_>>>()?,
        };
        // The partition holds this run's formats only: a file of another format left by an
        // earlier run (`--format csv` after csv+parquet) would pass for current under the new
        // `_SUCCESS`.
        for other in Format::PARTITIONED
            .iter()
            .filter(|f| !self.formats.contains(f))
        {
            place.delete(&key(dir, other.file_name()))?;
        }
        place.put_bytes(&marker, b"")?;
        Ok(files)
    }

    /// Writes the partition's file of one (partitioned) format; returns where it is.
    fn write_file(&self, dir: &str, format: Format, mut df: DataFrame) -> Result<PathBuf> {
        let place = self.place;
        let t = std::time::Instant::now();
        let file = key(dir, format.file_name());
        match format {
            Format::Csv => {
                // write_csv buffers a megabyte at a time itself.
                place.put_with(&file, |f| write_csv(&df, self.csv, self.tz, f))?;
            }
            Format::Parquet => {
                place.put_with(&file, |f| {
                    ParquetWriter::new(BufWriter::new(f))
                        .with_compression(PARQUET_COMPRESSION)
                        // The formats of a partition are already written in parallel: encoding
                        // one file's columns on polars' pool too only adds hand-offs (about 2 %
                        // of summarize time at 1.1M rows, A/B-measured).
                        .set_parallel(false)
                        .finish(&mut df)?;
                    Ok(())
                })?;
            }
            Format::Xlsx | Format::Html => {
                bail!(
                    "internal error: {} is not a partition's format",
                    format.file_name()
                )
            }
        }
        let path = place.location(&file);
        tracing::debug!(path = %path.display(), rows = df.height(), ms = t.elapsed().as_millis(), "written");
        Ok(path)
    }
}

/// [`Writer::write_window`] with the partition writer as a parameter (so tests can make it fail).
fn write_window_with<T>(
    place: &dyn Place,
    window: DateRange,
    stale: Stale,
    produce: impl FnOnce(&mut WindowSink) -> Result<T>,
    write: impl Fn(&str, DataFrame) -> Result<Vec<PathBuf>> + Sync,
) -> Result<(T, Written)> {
    let (tx, rx) = mpsc::sync_channel::<(usize, PartitionJob)>(WRITERS);
    // A failing writer drops the receiver: the producer's next hand-over then fails at
    // once instead of waiting for room in a queue nobody empties.
    let rx = Mutex::new(Some(rx));
    let results = Mutex::new(Vec::new());
    let writers = std::thread::available_parallelism().map_or(2, |n| n.get().min(WRITERS));
    let (produced, mut sink) = std::thread::scope(|scope| {
        for _ in 0..writers {
            scope.spawn(|| {
                loop {
                    let next = match rx.lock().expect("queue lock").as_ref() {
                        Some(rx) => rx.recv(),
                        None => break,
                    };
                    let Ok((i, (dir, df))) = next else { break };
                    // A panic is a failed partition too: left to unwind, it would leave
                    // the producer waiting forever on a queue nobody empties.
                    let r = panic::catch_unwind(AssertUnwindSafe(|| write(&dir, df)))
                        .unwrap_or_else(|p| {
                            Err(anyhow::anyhow!(
                                "writing {} panicked: {}",
                                place.location(&dir).display(),
                                panic_message(&*p)
                            ))
                        });
                    let failed = r.is_err();
                    results.lock().expect("results lock").push((i, r));
                    if failed {
                        rx.lock().expect("queue lock").take();
                        break;
                    }
                }
            });
        }
        let mut sink = WindowSink {
            place,
            window,
            queue: Some(tx),
            sent: 0,
            open: Vec::new(),
            done: HashSet::new(),
            written: Written::default(),
        };
        let produced = produce(&mut sink).and_then(|t| sink.flush_all().map(|()| t));
        sink.queue = None;
        (produced, sink)
    });
    let mut results = results.into_inner().expect("results lock");
    results.sort_by_key(|(i, _)| *i);
    let mut files = Vec::new();
    for (_, r) in results {
        files.push(r?);
    }
    let produced = produced?;
    sink.written.partitions_written = files.len();
    sink.written.files = files.into_iter().flatten().collect();
    sink.remove_stale(stale)?;
    Ok((produced, sink.written))
}

/// The text of a panic's payload (`panic!` gives a `&str` or a `String`).
fn panic_message(payload: &(dyn std::any::Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("no message")
}

/// Takes a window's rows in date order and queues each date's partition once it is complete.
pub struct WindowSink<'a> {
    place: &'a dyn Place,
    window: DateRange,
    queue: Option<mpsc::SyncSender<(usize, PartitionJob)>>,
    sent: usize,
    /// Per table, the date being gathered and its rows so far.
    open: Vec<(Table, NaiveDate, Vec<DataFrame>)>,
    /// Dates already queued per table: a date seen again means the rows were out of order.
    done: HashSet<(Table, NaiveDate)>,
    written: Written,
}

impl TableSink for WindowSink<'_> {
    /// Appends rows of `table`, sorted by `meeting_date` and later than (or on the same date
    /// as) the rows appended before. Rows without a date are not written.
    fn append(&mut self, table: Table, rows: &DataFrame) -> Result<()> {
        for (date, part) in split_by_date(rows)? {
            match self.open.iter_mut().find(|(t, _, _)| *t == table) {
                Some((_, d, parts)) if *d == date => parts.push(part),
                _ => {
                    self.flush(table)?;
                    self.open.push((table, date, vec![part]));
                }
            }
        }
        Ok(())
    }

    /// Queues the users summary of the window.
    fn users(&mut self, users: DataFrame) -> Result<()> {
        self.written.users_rows += users.height();
        let dir = self.window_dir(Table::Users.name());
        self.send(dir, users)
    }

    /// Queues the departments rollup of the window: `departments/window=FROM_TO/`.
    fn departments(&mut self, departments: DataFrame) -> Result<()> {
        self.written.departments_rows += departments.height();
        let dir = self.window_dir(DEPARTMENTS_TABLE);
        self.send(dir, departments)
    }

    /// Queues the recurring meetings' tables: `series/window=FROM_TO/` and
    /// `series_meetings/window=FROM_TO/`.
    fn series(&mut self, series: DataFrame, series_meetings: DataFrame) -> Result<()> {
        self.written.series_rows += series.height();
        let dir = self.window_dir(Table::Series.name());
        self.send(dir, series)?;
        let dir = self.window_dir(Table::SeriesMeetings.name());
        self.send(dir, series_meetings)
    }
}

impl WindowSink<'_> {
    /// The folder of a table of the whole window: `OUT/<table>/window=FROM_TO`.
    fn window_dir(&self, table: &str) -> String {
        format!("{table}/window={}", self.window.label())
    }

    /// Queues the open date of `table`, if any.
    fn flush(&mut self, table: Table) -> Result<()> {
        let Some(at) = self.open.iter().position(|(t, _, _)| *t == table) else {
            return Ok(());
        };
        let (_, date, parts) = self.open.swap_remove(at);
        if !self.done.insert((table, date)) || date < self.window.from || date > self.window.to {
            bail!(
                "internal error: {} rows for {date} arrived out of date order or outside the window",
                table.name()
            );
        }
        let df = stack(parts)?;
        match table {
            Table::Attendance => self.written.attendance_rows += df.height(),
            Table::Meetings => self.written.meetings_rows += df.height(),
            Table::Users => self.written.users_rows += df.height(),
            Table::Series => self.written.series_rows += df.height(),
            Table::SeriesMeetings => {}
        }
        self.send(self.date_dir(table, date), df)
    }

    /// The folder of one date's partition of `table`.
    fn date_dir(&self, table: Table, date: NaiveDate) -> String {
        format!("{}/dt={date}", table.name())
    }

    fn flush_all(&mut self) -> Result<()> {
        self.flush(Table::Attendance)?;
        self.flush(Table::Meetings)
    }

    fn send(&mut self, dir: String, df: DataFrame) -> Result<()> {
        let queue = self.queue.as_ref().expect("the sink is open");
        queue
            .send((self.sent, (dir, df)))
            .map_err(|_| anyhow::anyhow!("the partition writers stopped"))?;
        self.sent += 1;
        Ok(())
    }

    /// Removes (or, with [`Stale::Keep`], counts) the existing partitions of window dates
    /// that received no rows this time. The existing `dt=` folders are listed, so the cost is
    /// that of the dataset, not of the window's length.
    fn remove_stale(&mut self, stale: Stale) -> Result<()> {
        for table in [Table::Attendance, Table::Meetings] {
            for (date, dir) in date_partitions(self.place, table.name())? {
                let in_window = self.window.from <= date && date <= self.window.to;
                if !in_window || self.done.contains(&(table, date)) {
                    continue;
                }
                match stale {
                    Stale::Keep => self.written.partitions_kept += 1,
                    Stale::Remove => {
                        self.place.delete_folder(&dir).with_context(|| {
                            format!(
                                "cannot remove stale partition {}",
                                self.place.location(&dir).display()
                            )
                        })?;
                        self.written.partitions_removed += 1;
                    }
                }
            }
        }
        Ok(())
    }
}

/// The rows of `parts` (frames of the same columns) one after another. A column that is one
/// null value in every part (a job without a directory, without series) stays one null value
/// for the whole partition: stacking it would make a value per row, for nothing.
fn stack(parts: Vec<DataFrame>) -> PolarsResult<DataFrame> {
    let height = parts.iter().map(DataFrame::height).sum();
    let Some(first) = parts.first() else {
        polars_bail!(ComputeError: "internal error: a partition without rows");
    };
    let null_scalar = |c: &Column| matches!(c, Column::Scalar(s) if s.scalar().is_null());
    let nulls: Vec<(usize, Column)> = first
        .columns()
        .iter()
        .enumerate()
        .filter(|(j, _)| {
            parts
                .iter()
                .all(|p| p.columns().get(*j).is_some_and(null_scalar))
        })
        .map(|(j, c)| (j, Column::full_null(c.name().clone(), height, c.dtype())))
        .collect();
    let names: PlHashSet<PlSmallStr> = nulls.iter().map(|(_, c)| c.name().clone()).collect();
    let mut parts = parts.into_iter().map(|p| p.drop_many_amortized(&names));
    let mut df = parts.next().expect("a first part");
    for p in parts {
        df.vstack_mut_owned(p)?;
    }
    for (j, column) in nulls {
        df.insert_column(j, column)?;
    }
    Ok(df)
}

/// The `dt=YYYY-MM-DD` folders under a table's folder, with their dates and keys (none when
/// the table has no folder yet). Folders whose name is not a date are not ours and are left
/// alone.
fn date_partitions(place: &dyn Place, table: &str) -> Result<Vec<(NaiveDate, String)>> {
    Ok(place
        .folders(table)?
        .into_iter()
        .filter_map(|name| {
            let date = name
                .strip_prefix("dt=")
                .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())?;
            Some((date, key(table, &name)))
        })
        .collect())
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
    parts
        .into_iter()
        .map(|(d, part)| {
            // Days before 1970 happen: a start just after the epoch is 1969-12-31 west of UTC.
            epoch
                .checked_add_signed(chrono::TimeDelta::days(i64::from(d)))
                .map(|date| (date, part))
                .with_context(|| format!("meeting date {d} days after 1970-01-01 is out of range"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::place::Folder;
    use std::fs;
    use std::path::Path;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, d).unwrap()
    }

    /// Rows with the given local dates (days of November 2026) and a running number.
    fn rows(days: &[u32], first: i64) -> DataFrame {
        let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
        let dates: Vec<i32> = days
            .iter()
            .map(|d| (day(*d) - epoch).num_days() as i32)
            .collect();
        let n: Vec<i64> = (first..first + days.len() as i64).collect();
        DataFrame::new(
            days.len(),
            vec![
                Series::new("meeting_date".into(), dates)
                    .cast(&DataType::Date)
                    .unwrap()
                    .into_column(),
                Column::new("n".into(), n),
            ],
        )
        .unwrap()
    }

    fn write(
        out: &Path,
        produce: impl FnOnce(&mut WindowSink) -> Result<()>,
    ) -> Result<((), Written)> {
        let writer = Writer {
            place: &Folder::new(out),
            formats: &[Format::Csv],
            csv: CsvConfig {
                bom: false,
                neutralize_formulas: true,
            },
            tz: chrono_tz::UTC,
            stale: Stale::Remove,
        };
        writer.write_window(DateRange::new(day(1), day(5)).unwrap(), produce)
    }

    fn csv(out: &Path, date: u32) -> String {
        fs::read_to_string(out.join(format!("attendance/dt=2026-11-0{date}/part-0.csv"))).unwrap()
    }

    #[test]
    fn a_date_spanning_appends_becomes_one_partition_and_empty_dates_lose_theirs() {
        let out = tempfile::tempdir().unwrap();
        let stale = out.path().join("attendance/dt=2026-11-04");
        fs::create_dir_all(&stale).unwrap();
        let (_, w) = write(out.path(), |sink| {
            sink.append(Table::Attendance, &rows(&[1, 2, 2], 0))?;
            sink.append(Table::Attendance, &rows(&[2, 3], 3))?;
            sink.users(rows(&[], 0))
        })
        .unwrap();
        assert_eq!(csv(out.path(), 1), "meeting_date,n\n2026-11-01,0\n");
        assert_eq!(
            csv(out.path(), 2),
            "meeting_date,n\n2026-11-02,1\n2026-11-02,2\n2026-11-02,3\n"
        );
        assert_eq!(csv(out.path(), 3), "meeting_date,n\n2026-11-03,4\n");
        assert!(
            !stale.exists(),
            "a date without rows keeps no old partition"
        );
        assert_eq!(w.attendance_rows, 5);
        assert_eq!(w.partitions_written, 4, "three dates and the users table");
        assert_eq!(w.partitions_removed, 1);
    }

    #[test]
    fn with_keep_a_date_without_rows_keeps_its_partition_and_other_folders_are_left_alone() {
        let out = tempfile::tempdir().unwrap();
        let kept = out.path().join("attendance/dt=2026-11-04");
        let outside = out.path().join("attendance/dt=2026-10-31");
        let foreign = out.path().join("attendance/notes");
        for d in [&kept, &outside, &foreign] {
            fs::create_dir_all(d).unwrap();
        }
        let writer = Writer {
            place: &Folder::new(out.path()),
            formats: &[Format::Csv],
            csv: CsvConfig {
                bom: false,
                neutralize_formulas: true,
            },
            tz: chrono_tz::UTC,
            stale: Stale::Keep,
        };
        let (_, w) = writer
            .write_window(DateRange::new(day(1), day(5)).unwrap(), |sink| {
                sink.append(Table::Attendance, &rows(&[1], 0))?;
                sink.users(rows(&[], 0))
            })
            .unwrap();
        assert!(
            kept.exists(),
            "a date that may hold failed meetings is kept"
        );
        assert_eq!((w.partitions_kept, w.partitions_removed), (1, 0));
        assert!(outside.exists() && foreign.exists());
        // The same run with Remove drops exactly the window's date folder.
        let (_, w) = write(out.path(), |sink| {
            sink.append(Table::Attendance, &rows(&[1], 0))?;
            sink.users(rows(&[], 0))
        })
        .unwrap();
        assert!(!kept.exists());
        assert_eq!((w.partitions_kept, w.partitions_removed), (0, 1));
        assert!(outside.exists() && foreign.exists());
    }

    #[test]
    fn rows_out_of_date_order_are_an_error_not_an_overwrite() {
        let out = tempfile::tempdir().unwrap();
        let err = write(out.path(), |sink| {
            sink.append(Table::Attendance, &rows(&[1, 2], 0))?;
            sink.append(Table::Attendance, &rows(&[1], 2))
        })
        .unwrap_err();
        assert!(err.to_string().contains("out of date order"), "{err:#}");
        assert_eq!(csv(out.path(), 1), "meeting_date,n\n2026-11-01,0\n");
    }

    #[test]
    fn a_failing_writer_stops_the_run_with_its_own_error() {
        let out = tempfile::tempdir().unwrap();
        // A file where the table's folder should be: every partition write fails.
        fs::write(out.path().join("attendance"), "not a folder").unwrap();
        let err = write(out.path(), |sink| {
            for d in 1..=5 {
                sink.append(Table::Attendance, &rows(&[d], d.into()))?;
            }
            Ok(())
        })
        .unwrap_err();
        assert!(format!("{err:#}").contains("cannot create"), "{err:#}");
    }

    #[test]
    fn a_panicking_writer_is_an_error_naming_the_partition_not_a_hang() {
        let out = tempfile::tempdir().unwrap();
        let path = out.path().to_path_buf();
        let window = DateRange::new(day(1), day(9)).unwrap();
        // More partitions than the queue holds: a writer that died without a word would leave
        // the producer blocked on a full queue forever (hence the thread and the deadline).
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let r = write_window_with(
                &Folder::new(&path),
                window,
                Stale::Remove,
                |sink| {
                    for d in 1..=9 {
                        sink.append(Table::Attendance, &rows(&[d], d.into()))?;
                    }
                    Ok(())
                },
                |dir, _| panic!("cannot encode {dir}"),
            );
            tx.send(r.map(|_| ())).unwrap();
        });
        let r = rx
            .recv_timeout(std::time::Duration::from_secs(60))
            .expect("the writers hang");
        let msg = format!("{:#}", r.unwrap_err());
        assert!(
            msg.contains("dt=2026-11-01") && msg.contains("panicked"),
            "{msg}"
        );
    }

    #[test]
    fn a_column_null_in_every_part_stays_one_null_value_when_a_date_is_stacked() {
        let with_nulls = |days: &[u32], first| {
            let mut df = rows(days, first);
            let n = df.height();
            df.with_column(Column::full_null("name".into(), n, &DataType::String))
                .unwrap();
            df
        };
        let mut named = rows(&[1], 9);
        named
            .with_column(Column::new("name".into(), ["x"]))
            .unwrap();
        let df = stack(vec![with_nulls(&[1, 1], 0), with_nulls(&[1], 2)]).unwrap();
        assert_eq!(df.height(), 3);
        assert_eq!(df.get_column_names(), ["meeting_date", "n", "name"]);
        assert!(matches!(df.column("name").unwrap(), Column::Scalar(_)));
        assert_eq!(df.column("name").unwrap().null_count(), 3);
        // A part with a value makes the column a value per row, as before.
        let df = stack(vec![with_nulls(&[1], 0), named]).unwrap();
        let names: Vec<_> = df.column("name").unwrap().str().unwrap().iter().collect();
        assert_eq!(names, [None, Some("x")]);
    }

    #[test]
    fn dates_before_1970_split_like_any_other() {
        let df = DataFrame::new(
            3,
            vec![
                Series::new("meeting_date".into(), [-1i32, -1, 0])
                    .cast(&DataType::Date)
                    .unwrap()
                    .into_column(),
            ],
        )
        .unwrap();
        let parts: Vec<_> = split_by_date(&df)
            .unwrap()
            .into_iter()
            .map(|(d, p)| (d.to_string(), p.height()))
            .collect();
        assert_eq!(parts, [("1969-12-31".into(), 2), ("1970-01-01".into(), 1)]);
    }
}
