//! Everything one window writes, from one computation: the transform's frames go to the
//! partition writer (CSV, Parquet) and, through the same [`TableSink`] calls, to the workbook
//! and the report. Neither recomputes anything from the bodies, so their numbers are the
//! tables' numbers.
//!
//! The workbook and the report are files of the window, not of a partition:
//! `OUT/workbooks/window=FROM_TO/attendance.xlsx` and `OUT/reports/window=FROM_TO/report.html`.
//! When no partitioned format is asked for (`--format xlsx`, `--format html`, the `report`
//! command), the partition writer is not started at all: the CSV/Parquet dataset is neither
//! rewritten nor pruned.
//!
//! The workbook and the report never stop the tables: when one of them cannot be made (a
//! full disk, a path taken by a folder, a bug), the error is logged and returned in
//! [`PeopleOutcome::failed`] (the run report lists it and the run exits 2), and the tables
//! and the other file are written all the same.

use crate::config::job::{Format, Job};
use crate::config::window::DateRange;
use crate::output::html;
use crate::output::labels::Labels;
use crate::output::overview::{Collector, Meta};
use crate::output::partitions::{Writer, Written};
use crate::output::place::Place;
use crate::output::xlsx::WorkbookWriter;
use crate::transform::tables::{Table, TableSink};
use anyhow::Result;
use polars::prelude::DataFrame;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// A file of the window (the workbook or the report) that could not be written.
#[derive(Debug, Clone, Serialize)]
pub struct FileFailure {
    /// Where it should have been.
    pub path: PathBuf,
    /// Why it is not: the error and its causes.
    pub reason: String,
}

/// What became of the workbook and the report, besides their paths.
#[derive(Debug, Default)]
pub struct PeopleOutcome {
    /// Text cells of the workbook cut to Excel's limit.
    pub cells_cut: u64,
    /// The files that could not be written.
    pub failed: Vec<FileFailure>,
}

/// Runs `build` with a sink that hands every frame to `partitions` (restricted to the job's
/// partitioned formats; not started when there are none) and to the workbook and the report
/// (when the job asks for them), then finishes those. Returns what `build` returned, what
/// was written, and what became of the workbook and the report (their failures are there,
/// never in the error).
pub fn write_window<T>(
    job: &Job,
    window: DateRange,
    partitions: &Writer<'_>,
    build: impl FnOnce(&mut dyn TableSink) -> Result<T>,
) -> Result<(T, Written, PeopleOutcome)> {
    let partitioned: Vec<Format> = partitions
        .formats
        .iter()
        .copied()
        .filter(|f| f.is_partitioned())
        .collect();
    let mut people = PeopleFiles::new(job, partitions.place, window);
    let (built, mut written) = if partitioned.is_empty() {
        let mut tee = Tee::new(None, people.as_mut());
        let built = build(&mut tee)?;
        (built, tee.rows)
    } else {
        let writer = Writer {
            formats: &partitioned,
            ..*partitions
        };
        writer.write_window(window, |sink| {
            let mut tee = Tee::new(Some(sink), people.as_mut());
            build(&mut tee)
        })?
    };
    let mut outcome = PeopleOutcome::default();
    if let Some(p) = people {
        outcome = p.finish(partitions.place, &mut written.files);
    }
    Ok((built, written, outcome))
}

/// The workbook of a window: `OUT/workbooks/window=FROM_TO/attendance.xlsx`.
pub fn workbook_key(window: DateRange) -> String {
    window_file("workbooks", Format::Xlsx, window)
}

/// The report of a window: `OUT/reports/window=FROM_TO/report.html`.
pub fn report_key(window: DateRange) -> String {
    window_file("reports", Format::Html, window)
}

fn window_file(folder: &str, format: Format, window: DateRange) -> String {
    format!("{folder}/window={}/{}", window.label(), format.file_name())
}

/// Hands each frame to the partition writer, when there is one, and to the files for people.
struct Tee<'a> {
    partitions: Option<&'a mut dyn TableSink>,
    people: Option<&'a mut PeopleFiles>,
    /// Rows seen, for the run report when no partition writer counts them.
    rows: Written,
}

impl<'a> Tee<'a> {
    fn new(partitions: Option<&'a mut dyn TableSink>, people: Option<&'a mut PeopleFiles>) -> Self {
        Tee {
            partitions,
            people,
            rows: Written::default(),
        }
    }
}

impl TableSink for Tee<'_> {
    fn append(&mut self, table: Table, rows: &DataFrame) -> Result<()> {
        match table {
            Table::Attendance => self.rows.attendance_rows += rows.height(),
            Table::Meetings => self.rows.meetings_rows += rows.height(),
            Table::Users => self.rows.users_rows += rows.height(),
            Table::Series => self.rows.series_rows += rows.height(),
            Table::SeriesMeetings => {}
        }
        if let Some(p) = self.partitions.as_deref_mut() {
            p.append(table, rows)?;
        }
        if let Some(p) = self.people.as_deref_mut() {
            p.append(table, rows);
        }
        Ok(())
    }

    fn users(&mut self, users: DataFrame) -> Result<()> {
        self.rows.users_rows += users.height();
        if let Some(p) = self.people.as_deref_mut() {
            p.append(Table::Users, &users);
        }
        match self.partitions.as_deref_mut() {
            Some(p) => p.users(users),
            None => Ok(()),
        }
    }

    fn departments(&mut self, departments: DataFrame) -> Result<()> {
        self.rows.departments_rows += departments.height();
        if let Some(c) = self
            .people
            .as_deref_mut()
            .and_then(|p| p.collector.as_mut())
            && departments.height() > 0
        {
            c.set_departments(departments.clone());
        }
        match self.partitions.as_deref_mut() {
            Some(p) => p.departments(departments),
            None => Ok(()),
        }
    }

    fn series(&mut self, series: DataFrame, series_meetings: DataFrame) -> Result<()> {
        self.rows.series_rows += series.height();
        // A window without recurring meetings adds no sheet and no section for people.
        if let Some(p) = self.people.as_deref_mut()
            && series_meetings.height() > 0
        {
            p.append(Table::SeriesMeetings, &series_meetings);
            p.append(Table::Series, &series);
        }
        match self.partitions.as_deref_mut() {
            Some(p) => p.series(series, series_meetings),
            None => Ok(()),
        }
    }
}

/// The workbook and the report of one window, gathering the frames as they pass. A failure
/// drops the file it belongs to (a failure of the collector, which both need, drops both) and
/// is kept for the run report.
struct PeopleFiles {
    /// `None` once the workbook and the report are both given up.
    collector: Option<Collector>,
    workbook: Option<WorkbookWriter>,
    /// The report's key and where it is.
    report: Option<(String, PathBuf)>,
    /// Where the workbook is (for its failure).
    workbook_path: PathBuf,
    meta: Meta,
    failed: Vec<FileFailure>,
}

impl PeopleFiles {
    /// `None` when the job asks for neither a workbook nor a report.
    fn new(job: &Job, place: &dyn Place, window: DateRange) -> Option<Self> {
        let wants = |f| job.formats.contains(&f);
        if !wants(Format::Xlsx) && !wants(Format::Html) {
            return None;
        }
        let labels = Labels::of(job.language);
        let workbook_key = workbook_key(window);
        let workbook_path = place.location(&workbook_key);
        let mut failed = Vec::new();
        let workbook = match wants(Format::Xlsx) {
            true => match place
                .scratch(&workbook_key)
                .and_then(|dir| WorkbookWriter::new(&workbook_key, &dir, labels, job.tz))
                .map(|w| w.with_directory(job.directory.enabled))
            {
                Ok(w) => Some(w),
                Err(e) => {
                    failed.push(failure(&workbook_path, "workbook", &e));
                    None
                }
            },
            false => None,
        };
        Some(PeopleFiles {
            collector: Some(Collector::new(&job.metrics.user_statuses, window)),
            workbook,
            report: wants(Format::Html).then(|| {
                let key = report_key(window);
                let path = place.location(&key);
                (key, path)
            }),
            workbook_path,
            meta: Meta {
                job: job.name.clone(),
                window,
                tz: job.tz,
                generated_at: chrono::Utc::now(),
                labels,
            },
            failed,
        })
    }

    fn append(&mut self, table: Table, rows: &DataFrame) {
        if let Some(c) = &mut self.collector
            && let Err(e) = c.add(table, rows)
        {
            self.give_up_both(&e);
        }
        if let Some(w) = &mut self.workbook
            && let Err(e) = w.append(table, rows)
        {
            self.workbook = None;
            self.failed
                .push(failure(&self.workbook_path, "workbook", &e));
        }
    }

    /// The collector failed: neither file can be finished.
    fn give_up_both(&mut self, e: &anyhow::Error) {
        self.collector = None;
        if self.workbook.take().is_some() {
            self.failed
                .push(failure(&self.workbook_path, "workbook", e));
        }
        if let Some((_, path)) = self.report.take() {
            self.failed.push(failure(&path, "report", e));
        }
    }

    /// Writes the workbook and the report, adding their paths to `files`; returns what became
    /// of them.
    fn finish(mut self, place: &dyn Place, files: &mut Vec<PathBuf>) -> PeopleOutcome {
        let mut outcome = PeopleOutcome::default();
        let Some(collector) = self.collector.take() else {
            outcome.failed = self.failed;
            return outcome;
        };
        let departments = collector.departments().cloned();
        let overview = match collector.finish() {
            Ok(o) => o,
            Err(e) => {
                self.give_up_both(&e);
                outcome.failed = self.failed;
                return outcome;
            }
        };
        if let Some(w) = self.workbook {
            let t = std::time::Instant::now();
            match w.finish(&overview, &self.meta, departments.as_ref(), place) {
                Ok(saved) => {
                    tracing::debug!(path = %saved.path.display(), ms = t.elapsed().as_millis(), "workbook written");
                    outcome.cells_cut = saved.cells_cut;
                    files.push(saved.path);
                }
                Err(e) => self
                    .failed
                    .push(failure(&self.workbook_path, "workbook", &e)),
            }
        }
        if let Some((key, path)) = self.report {
            let t = std::time::Instant::now();
            match html::write(place, &key, &overview, &self.meta) {
                Ok(()) => {
                    tracing::debug!(path = %path.display(), ms = t.elapsed().as_millis(), "report written");
                    files.push(path);
                }
                Err(e) => self.failed.push(failure(&path, "report", &e)),
            }
        }
        outcome.failed = self.failed;
        outcome
    }
}

/// Logs a file given up and describes it for the run report.
fn failure(path: &Path, what: &str, e: &anyhow::Error) -> FileFailure {
    let reason = format!("writing the {what}: {e:#}");
    tracing::error!(path = %path.display(), "{reason}; the tables are written all the same");
    FileFailure {
        path: path.to_path_buf(),
        reason,
    }
}
