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

use crate::config::job::{Format, Job};
use crate::config::window::DateRange;
use crate::output::html;
use crate::output::labels::Labels;
use crate::output::overview::{Collector, Meta};
use crate::output::partitions::{Writer, Written};
use crate::output::xlsx::WorkbookWriter;
use crate::transform::tables::{Table, TableSink};
use anyhow::{Context, Result};
use polars::prelude::DataFrame;
use std::path::{Path, PathBuf};

/// Runs `build` with a sink that hands every frame to `partitions` (restricted to the job's
/// partitioned formats; not started when there are none) and to the workbook and the report
/// (when the job asks for them), then finishes those. Returns what `build` returned and what
/// was written.
pub fn write_window<T>(
    job: &Job,
    window: DateRange,
    partitions: &Writer<'_>,
    build: impl FnOnce(&mut dyn TableSink) -> Result<T>,
) -> Result<(T, Written)> {
    let partitioned: Vec<Format> = partitions
        .formats
        .iter()
        .copied()
        .filter(|f| f.is_partitioned())
        .collect();
    let mut people = PeopleFiles::new(job, window)?;
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
    if let Some(p) = people {
        written.files.extend(p.finish()?);
    }
    Ok((built, written))
}

/// The workbook of a window: `OUT/workbooks/window=FROM_TO/attendance.xlsx`.
pub fn workbook_path(out_dir: &Path, window: DateRange) -> PathBuf {
    window_file(out_dir, "workbooks", Format::Xlsx, window)
}

/// The report of a window: `OUT/reports/window=FROM_TO/report.html`.
pub fn report_path(out_dir: &Path, window: DateRange) -> PathBuf {
    window_file(out_dir, "reports", Format::Html, window)
}

fn window_file(out_dir: &Path, folder: &str, format: Format, window: DateRange) -> PathBuf {
    out_dir
        .join(folder)
        .join(format!("window={}", window.label()))
        .join(format.file_name())
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
        }
        if let Some(p) = self.partitions.as_deref_mut() {
            p.append(table, rows)?;
        }
        if let Some(p) = self.people.as_deref_mut() {
            p.append(table, rows)?;
        }
        Ok(())
    }

    fn users(&mut self, users: DataFrame) -> Result<()> {
        self.rows.users_rows += users.height();
        if let Some(p) = self.people.as_deref_mut() {
            p.append(Table::Users, &users)?;
        }
        match self.partitions.as_deref_mut() {
            Some(p) => p.users(users),
            None => Ok(()),
        }
    }

    fn departments(&mut self, departments: DataFrame) -> Result<()> {
        self.rows.departments_rows += departments.height();
        if let Some(p) = self.people.as_deref_mut()
            && departments.height() > 0
        {
            p.collector.set_departments(departments.clone());
        }
        match self.partitions.as_deref_mut() {
            Some(p) => p.departments(departments),
            None => Ok(()),
        }
    }
}

/// The workbook and the report of one window, gathering the frames as they pass.
struct PeopleFiles {
    collector: Collector,
    workbook: Option<WorkbookWriter>,
    report: Option<PathBuf>,
    meta: Meta,
}

impl PeopleFiles {
    /// `None` when the job asks for neither a workbook nor a report.
    fn new(job: &Job, window: DateRange) -> Result<Option<Self>> {
        let wants = |f| job.formats.contains(&f);
        if !wants(Format::Xlsx) && !wants(Format::Html) {
            return Ok(None);
        }
        let labels = Labels::of(job.language);
        let workbook = match wants(Format::Xlsx) {
            true => Some(WorkbookWriter::new(
                &workbook_path(&job.out_dir, window),
                labels,
                job.tz,
            )?),
            false => None,
        };
        Ok(Some(PeopleFiles {
            collector: Collector::new(&job.metrics.user_statuses, window),
            workbook,
            report: wants(Format::Html).then(|| report_path(&job.out_dir, window)),
            meta: Meta {
                job: job.name.clone(),
                window,
                tz: job.tz,
                generated_at: chrono::Utc::now(),
                labels,
            },
        }))
    }

    fn append(&mut self, table: Table, rows: &DataFrame) -> Result<()> {
        self.collector.add(table, rows)?;
        if let Some(w) = &mut self.workbook {
            w.append(table, rows)?;
        }
        Ok(())
    }

    /// Writes the workbook and the report; returns their paths.
    fn finish(self) -> Result<Vec<PathBuf>> {
        let departments = self.collector.departments().cloned();
        let overview = self.collector.finish()?;
        let mut files = Vec::new();
        if let Some(w) = self.workbook {
            let t = std::time::Instant::now();
            let path = w
                .finish(&overview, &self.meta, departments.as_ref())
                .context("writing the workbook")?;
            tracing::debug!(path = %path.display(), ms = t.elapsed().as_millis(), "workbook written");
            files.push(path);
        }
        if let Some(path) = self.report {
            let t = std::time::Instant::now();
            html::write(&path, &overview, &self.meta).context("writing the report")?;
            tracing::debug!(path = %path.display(), ms = t.elapsed().as_millis(), "report written");
            files.push(path);
        }
        Ok(files)
    }
}
