//! The workbook for HR: `workbooks/window=FROM_TO/attendance.xlsx`, written with
//! rust_xlsxwriter from the frames the partition writer gets.
//!
//! Sheets, in this order: the summary (job, window, zone, generation time, the headline of
//! [`Overview`], notes), `meetings`, `users`, `departments` (only once a directory provides
//! the frame), `series_meetings` and `series` (only when the window has recurring meetings),
//! `attendance`. Their names and headers follow `[output] language`. Each table
//! sheet is in constant-memory mode: rows are streamed to a temporary file as they arrive, so
//! the attendance rows of a window are never held in memory. Excel holds 1,048,576 rows a
//! sheet; a longer table continues on `attendance (2)`, `attendance (3)`, …, each with its
//! header, and the summary says so. The columns are the tables', in their order, except on
//! the people sheets (`attendance`, `users`, `series`) of a job with a directory: there the
//! person's name and department lead, their ids right after, the rest in the table's order.
//!
//! Cells are typed: ids and userids are text (never a number in scientific notation), text
//! is always a string cell (a title starting with `=` is never a formula), times are Excel
//! date-times in the job's zone (named in the header), durations are Excel durations shown as
//! `[h]:mm:ss`, rates and ratios are percentages, flags are booleans. Each sheet has a frozen
//! header row, an autofilter and column widths fitted to its header and first rows.
//!
//! Excel holds at most 32,767 characters (UTF-16 units) in a cell: a longer text (a pasted
//! agenda as a title, a broken name) is cut to fit and ends in `…`; the summary sheet says how
//! many cells were cut, and so does the run report (`quality.cells_cut`). The CSV and Parquet
//! tables keep the whole text.
//!
//! The writer is here ([`WorkbookWriter`]: new, append, finish and save); the table sheets
//! and their continuation in `sheets`, the cells and their formats in `cells`, the summary
//! sheet in `summary`.

mod cells;
mod sheets;
mod summary;

use crate::output::labels::Labels;
use crate::output::overview::{Meta, Overview};
use crate::output::place::Place;
use crate::transform::tables::Table;
use anyhow::{Context, Result};
use cells::{Formats, OffsetCache};
use chrono_tz::Tz;
use polars::prelude::*;
use rust_xlsxwriter::{Workbook, Worksheet};
use sheets::Series;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

pub use cells::EXCEL_MAX_CELL_CHARS;
pub use sheets::EXCEL_MAX_ROWS;

/// Deflate level of the workbook's zip. Compressing the sheets is most of the time of saving
/// a big workbook: for the 1.1 GB of sheet XML of the 1.1M-row benchmark, level 3 takes less
/// than half the time of the default 6 for a file about 20 % larger (135 MB against 114 MB).
const ZIP_LEVEL: u8 = 3;

/// Streams a window's tables into a workbook and saves it, whole, at the end.
pub struct WorkbookWriter {
    wb: Workbook,
    /// The workbook's key in the output place.
    key: String,
    /// What writing a sheet needs besides the workbook.
    ctx: Ctx,
    meetings: Series,
    users: Series,
    attendance: Series,
    /// Recurring meetings: sheets only when the window has some.
    series: Series,
    series_meetings: Series,
    offsets: OffsetCache,
}

/// A saved workbook.
#[derive(Debug)]
pub struct Saved {
    pub path: PathBuf,
    /// Text cells cut to fit Excel's limit.
    pub cells_cut: u64,
}

impl WorkbookWriter {
    /// A workbook to be saved as `key`; the sheets' temporary files go to `scratch` (a
    /// local folder, see [`Place::scratch`]).
    pub fn new(key: &str, scratch: &Path, labels: &'static Labels, tz: Tz) -> Result<Self> {
        let mut wb = Workbook::new();
        wb.set_zip_compression_level(ZIP_LEVEL);
        let dir = scratch;
        wb.set_tempdir(dir)
            .with_context(|| format!("cannot use {} for temporary files", dir.display()))?;
        Ok(WorkbookWriter {
            wb,
            key: key.to_string(),
            ctx: Ctx {
                labels,
                tz,
                formats: Formats::new(),
                rows_per_sheet: EXCEL_MAX_ROWS - 1,
                cells_cut: std::cell::Cell::new(0),
                directory: false,
            },
            meetings: Series::new(Some(Table::Meetings), labels.sheet(Table::Meetings)),
            users: Series::new(Some(Table::Users), labels.sheet(Table::Users)),
            attendance: Series::new(Some(Table::Attendance), labels.sheet(Table::Attendance)),
            series: Series::new(Some(Table::Series), labels.sheet(Table::Series)),
            series_meetings: Series::new(
                Some(Table::SeriesMeetings),
                labels.sheet(Table::SeriesMeetings),
            ),
            offsets: OffsetCache::new(tz),
        })
    }

    /// Appends rows of `table`, in order.
    pub fn append(&mut self, table: Table, rows: &DataFrame) -> Result<()> {
        let series = match table {
            Table::Attendance => &mut self.attendance,
            Table::Meetings => &mut self.meetings,
            Table::Users => &mut self.users,
            Table::Series => &mut self.series,
            Table::SeriesMeetings => &mut self.series_meetings,
        };
        self.ctx
            .append(&mut self.wb, series, rows, &mut self.offsets)
            .with_context(|| format!("writing the {} sheet", table.name()))
    }

    /// Writes the summary, adds the sheets in order and saves the workbook atomically.
    pub fn finish(
        mut self,
        overview: &Overview,
        meta: &Meta,
        departments: Option<&DataFrame>,
        place: &dyn Place,
    ) -> Result<Saved> {
        let ctx = &self.ctx;
        let mut departments_series = Series::new(None, ctx.labels.sheet_departments);
        if let Some(d) = departments {
            ctx.append(&mut self.wb, &mut departments_series, d, &mut self.offsets)
                .context("writing the departments sheet")?;
        }
        // A table without rows still gets its sheet, with its header.
        for series in [&mut self.meetings, &mut self.users, &mut self.attendance] {
            if series.sheets.is_empty() {
                series.sheets.push(Worksheet::new());
                series.sheets[0].set_name(&series.name)?;
            }
        }
        let summary = ctx.summary(
            overview,
            meta,
            &[&self.meetings, &self.users, &self.attendance],
        )?;
        self.wb.push_worksheet(summary);
        let page_header = page_header(meta);
        for series in [
            self.meetings,
            self.users,
            departments_series,
            self.series_meetings,
            self.series,
            self.attendance,
        ] {
            let last_col = series.specs.len().saturating_sub(1) as u16;
            let n = series.sheets.len();
            for (i, mut sheet) in series.sheets.into_iter().enumerate() {
                if !series.specs.is_empty() {
                    let rows = if i + 1 < n {
                        ctx.rows_per_sheet
                    } else {
                        series.row.saturating_sub(1)
                    };
                    sheet.set_freeze_panes(1, 0)?;
                    sheet.autofilter(0, 0, rows, last_col)?;
                    for (c, w) in series.widths.iter().enumerate() {
                        sheet.set_column_width(c as u16, *w as f64)?;
                    }
                }
                // Printed: landscape, one page wide, the header row on every page, the job
                // and the window at the top.
                sheet.set_landscape();
                sheet.set_print_fit_to_pages(1, 0);
                sheet.set_repeat_rows(0, 0)?;
                sheet.set_header(&page_header);
                self.wb.push_worksheet(sheet);
            }
        }
        let wb = &mut self.wb;
        place.put_with(&self.key, |f| {
            wb.save_to_writer(BufWriter::new(f))?;
            Ok(())
        })?;
        Ok(Saved {
            path: place.location(&self.key),
            cells_cut: ctx.cells_cut.get(),
        })
    }

    /// Whether the job has a `[directory]`: then the people sheets lead with the person's
    /// name and department (see `sheets::person_columns`). Off by default.
    pub fn with_directory(mut self, known: bool) -> Self {
        self.ctx.directory = known;
        self
    }

    #[cfg(test)]
    fn with_rows_per_sheet(mut self, rows: u32) -> Self {
        self.ctx.rows_per_sheet = rows;
        self
    }
}

/// The printed page's header: the job on the left, the window on the right (`&` is a code
/// in Excel's header language, so a literal one is doubled).
fn page_header(meta: &Meta) -> String {
    let text = |t: &str| t.replace('&', "&&");
    format!("&L{}&R{}", text(&meta.job), text(&meta.window_text()))
}

/// What writing a sheet needs besides the workbook.
struct Ctx {
    labels: &'static Labels,
    tz: Tz,
    formats: Formats,
    /// Data rows per sheet: Excel's limit less the header (lowered by tests).
    rows_per_sheet: u32,
    /// Text cells cut to [`EXCEL_MAX_CELL_CHARS`].
    cells_cut: std::cell::Cell<u64>,
    /// The job has a `[directory]`: people sheets lead with the person.
    directory: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::job::Language;
    use crate::config::window::DateRange;
    use crate::output::overview::Collector;
    use calamine::{Reader, Xlsx, open_workbook};
    use std::io::BufReader;

    /// A workbook read back.
    pub(super) type Read = Xlsx<BufReader<std::fs::File>>;

    pub(super) fn rows(n: usize, first: i64) -> DataFrame {
        let ids: Vec<String> = (first..first + n as i64).map(|i| format!("m{i}")).collect();
        df!(
            "meetingid" => ids,
            "title" => vec!["=SUM(A1)"; n],
            "main_department" => vec![Some(123_456_789_012_345_678_i64); n],
            "late_s" => vec![Some(90i64); n],
        )
        .unwrap()
    }

    pub(super) fn meta() -> Meta {
        let d = chrono::NaiveDate::from_ymd_opt(2026, 11, 16).unwrap();
        Meta {
            job: "t".into(),
            window: DateRange::new(d, d).unwrap(),
            tz: chrono_tz::Asia::Shanghai,
            generated_at: chrono::Utc::now(),
            labels: Labels::of(Language::En),
        }
    }

    /// Writes `frames` into the workbook `w.xlsx` in `dir`, in `meta`'s words, with
    /// `rows_per_sheet` data rows a sheet, and the summary of a window without meetings.
    pub(super) fn write(
        dir: &Path,
        meta: &Meta,
        rows_per_sheet: u32,
        frames: &[(Table, &DataFrame)],
    ) -> PathBuf {
        write_with(dir, meta, rows_per_sheet, false, frames)
    }

    /// [`write`] for a job with a `[directory]` (`directory`) or without.
    pub(super) fn write_with(
        dir: &Path,
        meta: &Meta,
        rows_per_sheet: u32,
        directory: bool,
        frames: &[(Table, &DataFrame)],
    ) -> PathBuf {
        let mut w = WorkbookWriter::new("w.xlsx", dir, meta.labels, meta.tz)
            .unwrap()
            .with_rows_per_sheet(rows_per_sheet)
            .with_directory(directory);
        for (table, rows) in frames {
            w.append(*table, rows).unwrap();
        }
        let overview = Collector::new(&[3], meta.window).finish().unwrap();
        let folder = crate::output::place::Folder::new(dir);
        w.finish(&overview, meta, None, &folder).unwrap().path
    }

    /// [`write`] with Excel's rows a sheet, read back.
    pub(super) fn written(dir: &Path, meta: &Meta, frames: &[(Table, &DataFrame)]) -> Read {
        open_workbook(write(dir, meta, EXCEL_MAX_ROWS - 1, frames)).unwrap()
    }

    /// The header row of `sheet`, as text.
    pub(super) fn header_row(wb: &mut Read, sheet: &str) -> Vec<String> {
        let r = wb.worksheet_range(sheet).unwrap();
        let header = r.rows().next().unwrap().iter().map(|c| c.to_string());
        header.collect()
    }

    #[test]
    fn recurring_meetings_get_their_two_sheets_before_attendance_with_chinese_headers() {
        let dir = tempfile::tempdir().unwrap();
        let series = df!(
            "meetingid" => ["S1"],
            "series_title" => ["产品周会"],
            "absences_in_a_row" => [3i64],
            "late_count" => [1i64],
        )
        .unwrap();
        let series_meetings = series.select(["meetingid", "series_title"]).unwrap();
        let m = Meta {
            labels: Labels::of(Language::ZhCn),
            ..meta()
        };
        let mut wb = written(
            dir.path(),
            &m,
            &[
                (Table::Attendance, &rows(1, 0)),
                (Table::SeriesMeetings, &series_meetings),
                (Table::Series, &series),
            ],
        );
        assert_eq!(
            wb.sheet_names(),
            [
                "概览",
                "会议",
                "参会人",
                "周期会议",
                "周期会议出勤",
                "出勤明细"
            ]
        );
        assert_eq!(
            header_row(&mut wb, "周期会议出勤"),
            ["会议ID", "周期会议主题", "连续缺席场次", "迟到次数"]
        );
    }

    #[test]
    fn table_sheets_print_landscape_one_page_wide_with_the_header_row_and_the_job_on_each_page() {
        use std::io::Read;
        let dir = tempfile::tempdir().unwrap();
        let m = Meta {
            job: "R&D weekly".into(),
            ..meta()
        };
        let path = write(
            dir.path(),
            &m,
            EXCEL_MAX_ROWS - 1,
            &[(Table::Attendance, &rows(3, 0))],
        );
        let mut zip = ::zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
        let mut part = |name: &str| {
            let mut text = String::new();
            zip.by_name(name)
                .unwrap()
                .read_to_string(&mut text)
                .unwrap();
            text
        };
        // Sheet 1 is the summary; 2, 3 and 4 the meetings, users and attendance.
        let header = "<oddHeader>&amp;LR&amp;&amp;D weekly&amp;R2026-11-16</oddHeader>";
        for n in 2..=4 {
            let xml = part(&format!("xl/worksheets/sheet{n}.xml"));
            assert!(
                xml.contains(r#"<pageSetUpPr fitToPage="1"/>"#),
                "sheet{n}: {xml}"
            );
            assert!(xml.contains(r#"orientation="landscape""#), "sheet{n}");
            assert!(xml.contains(r#"fitToHeight="0""#), "sheet{n}");
            assert!(xml.contains(header), "sheet{n}");
        }
        let summary = part("xl/worksheets/sheet1.xml");
        assert!(
            summary.contains(r#"<pageSetUpPr fitToPage="1"/>"#),
            "{summary}"
        );
        let book = part("xl/workbook.xml");
        for sheet in ["meetings", "users", "attendance"] {
            let titles = format!(">{sheet}!$1:$1</definedName>");
            assert!(book.contains(&titles), "{sheet}: {book}");
        }
        assert_eq!(book.matches("_xlnm.Print_Titles").count(), 3, "{book}");
    }
}
