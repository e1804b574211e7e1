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
//! the people sheets (`attendance`, `users`, `series`) once the directory is known: there the
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

use crate::output::labels::Labels;
use crate::output::overview::{Meta, Overview};
use crate::output::place::Place;
use crate::transform::tables::Table;
use anyhow::{Context, Result};
use chrono::Offset;
use chrono::TimeZone;
use chrono_tz::Tz;
use polars::prelude::*;
use rust_xlsxwriter::{Color, Format as CellFormat, Workbook, Worksheet};
use std::borrow::Cow;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

/// Rows of an Excel sheet, the header included.
pub const EXCEL_MAX_ROWS: u32 = 1_048_576;
/// Serial number of 1970-01-01 in Excel's 1900 date system.
const EXCEL_UNIX_EPOCH: f64 = 25_569.0;
const MS_PER_DAY: f64 = 86_400_000.0;
/// Most characters of a cell, counted in UTF-16 units as Excel counts them.
pub const EXCEL_MAX_CELL_CHARS: usize = 32_767;
/// Ends a text cut to fit a cell.
const CUT_MARK: char = '…';
/// Rows looked at to fit a column's width.
const WIDTH_SAMPLE_ROWS: usize = 200;
const MAX_COLUMN_WIDTH: usize = 50;
/// Deflate level of the workbook's zip. Compressing the sheets is most of the time of saving
/// a big workbook: for the 1.1 GB of sheet XML of the 1.1M-row benchmark, level 3 takes less
/// than half the time of the default 6 for a file about 20 % larger (135 MB against 114 MB).
const ZIP_LEVEL: u8 = 3;
/// Integer columns that are identifiers: written as text like every other id.
const ID_COLUMNS: [&str; 4] = [
    "main_department",
    "department_id",
    "attendee_department_id",
    "parent_id",
];

/// How a column's cells are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    /// An integer identifier, written as text.
    IdText,
    Integer,
    /// Seconds, written as an Excel duration (days) shown as `[h]:mm:ss`.
    Duration,
    Percent,
    Float,
    /// Milliseconds since the epoch, written in the job's zone.
    DateTime,
    Date,
    Bool,
}

impl Kind {
    fn of(name: &str, dtype: &DataType) -> Kind {
        match dtype {
            DataType::String => Kind::Text,
            DataType::Boolean => Kind::Bool,
            DataType::Datetime(_, _) => Kind::DateTime,
            DataType::Date => Kind::Date,
            d if d.is_integer() && ID_COLUMNS.contains(&name) => Kind::IdText,
            d if d.is_primitive_numeric() && name.ends_with("_s") => Kind::Duration,
            d if d.is_float() && (name.contains("rate") || name.contains("ratio")) => Kind::Percent,
            d if d.is_integer() => Kind::Integer,
            d if d.is_float() => Kind::Float,
            _ => Kind::Text,
        }
    }

    /// Display width of a cell of this kind, when it does not depend on the value.
    fn fixed_width(self) -> Option<usize> {
        match self {
            Kind::DateTime => Some(19),
            Kind::Date => Some(10),
            Kind::Duration => Some(9),
            Kind::Percent => Some(7),
            Kind::Bool => Some(5),
            _ => None,
        }
    }
}

/// The cell formats of the workbook.
struct Formats {
    header: CellFormat,
    datetime: CellFormat,
    date: CellFormat,
    duration: CellFormat,
    percent: CellFormat,
    integer: CellFormat,
    float: CellFormat,
    title: CellFormat,
    label: CellFormat,
    hours: CellFormat,
}

impl Formats {
    /// The number format of a column of `kind`, if it needs one.
    fn of(&self, kind: Kind) -> Option<&CellFormat> {
        match kind {
            Kind::DateTime => Some(&self.datetime),
            Kind::Date => Some(&self.date),
            Kind::Duration => Some(&self.duration),
            Kind::Percent => Some(&self.percent),
            Kind::Integer => Some(&self.integer),
            Kind::Float => Some(&self.float),
            Kind::Text | Kind::IdText | Kind::Bool => None,
        }
    }

    fn new() -> Self {
        Formats {
            header: CellFormat::new()
                .set_bold()
                .set_background_color(Color::RGB(0xDD_EB_F7)),
            datetime: CellFormat::new().set_num_format("yyyy-mm-dd hh:mm:ss"),
            date: CellFormat::new().set_num_format("yyyy-mm-dd"),
            duration: CellFormat::new().set_num_format("[h]:mm:ss"),
            percent: CellFormat::new().set_num_format("0.0%"),
            integer: CellFormat::new().set_num_format("0"),
            float: CellFormat::new().set_num_format("0.000000"),
            title: CellFormat::new().set_bold().set_font_size(14),
            label: CellFormat::new().set_bold(),
            hours: CellFormat::new().set_num_format("#,##0.0"),
        }
    }
}

/// One column of a table sheet.
#[derive(Debug, Clone)]
struct Spec {
    name: String,
    kind: Kind,
}

/// A table's sheets: the first, then its continuations when the rows exceed a sheet.
struct Series {
    table: Option<Table>,
    name: String,
    sheets: Vec<Worksheet>,
    /// Next row of the last sheet (0: the sheet has no header yet).
    row: u32,
    rows: u64,
    specs: Vec<Spec>,
    widths: Vec<usize>,
}

impl Series {
    fn new(table: Option<Table>, name: &str) -> Self {
        Series {
            table,
            name: name.to_string(),
            sheets: Vec::new(),
            row: 0,
            rows: 0,
            specs: Vec::new(),
            widths: Vec::new(),
        }
    }

    fn sheet_names(&self) -> Vec<String> {
        (1..=self.sheets.len().max(1))
            .map(|n| sheet_name(&self.name, n))
            .collect()
    }
}

/// The columns about the person of a row on a people sheet, in the order they lead the sheet
/// when the directory is known: the name and the department, then the department id and the
/// person's id (the userid). Empty for the sheets whose rows are not people.
fn person_columns(table: Option<Table>) -> &'static [&'static str] {
    match table {
        Some(Table::Attendance) => &[
            "attendee_name",
            "attendee_department",
            "attendee_department_id",
            "attendee_id",
        ],
        Some(Table::Users) => &["name", "department", "department_id", "userid"],
        Some(Table::Series) => &["name", "department", "department_id", "attendee_id"],
        Some(Table::Meetings | Table::SeriesMeetings) | None => &[],
    }
}

/// A sheet's columns, in order: the frame's, except on a people sheet once the directory is
/// known (a name or a department in the first rows; without a directory they are null), where
/// the person's columns lead and the rest follow in the table's order. CSV and Parquet never
/// pass through here: their order is the table's.
fn sheet_columns(table: Option<Table>, rows: &DataFrame) -> Vec<&Column> {
    let lead = person_columns(table);
    let present = lead.iter().all(|name| rows.column(name).is_ok());
    let named = lead[..lead.len().min(2)]
        .iter()
        .filter_map(|name| rows.column(name).ok())
        .any(|c| c.null_count() < c.len());
    if !(present && named) {
        return rows.columns().iter().collect();
    }
    let lead_columns = lead.iter().filter_map(|name| rows.column(name).ok());
    let rest = rows
        .columns()
        .iter()
        .filter(|c| !lead.contains(&c.name().as_str()));
    lead_columns.chain(rest).collect()
}

/// `attendance`, `attendance (2)`, …
fn sheet_name(base: &str, n: usize) -> String {
    if n == 1 {
        base.to_string()
    } else {
        format!("{base} ({n})")
    }
}

/// Streams a window's tables into a workbook and saves it, whole, at the end.
pub struct WorkbookWriter {
    wb: Workbook,
    /// The workbook's key in the output place.
    key: String,
    labels: &'static Labels,
    tz: Tz,
    formats: Formats,
    meetings: Series,
    users: Series,
    attendance: Series,
    /// Recurring meetings: sheets only when the window has some.
    series: Series,
    series_meetings: Series,
    /// Data rows per sheet: Excel's limit less the header (lowered by tests).
    rows_per_sheet: u32,
    offsets: OffsetCache,
    /// Text cells cut to [`EXCEL_MAX_CELL_CHARS`].
    cells_cut: std::cell::Cell<u64>,
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
            labels,
            tz,
            formats: Formats::new(),
            meetings: Series::new(Some(Table::Meetings), labels.sheet(Table::Meetings)),
            users: Series::new(Some(Table::Users), labels.sheet(Table::Users)),
            attendance: Series::new(Some(Table::Attendance), labels.sheet(Table::Attendance)),
            series: Series::new(Some(Table::Series), labels.sheet(Table::Series)),
            series_meetings: Series::new(
                Some(Table::SeriesMeetings),
                labels.sheet(Table::SeriesMeetings),
            ),
            rows_per_sheet: EXCEL_MAX_ROWS - 1,
            offsets: OffsetCache::new(tz),
            cells_cut: std::cell::Cell::new(0),
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
        let ctx = Ctx {
            labels: self.labels,
            tz: self.tz,
            formats: &self.formats,
            rows_per_sheet: self.rows_per_sheet,
            cells_cut: &self.cells_cut,
        };
        ctx.append(&mut self.wb, series, rows, &mut self.offsets)
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
        let ctx = Ctx {
            labels: self.labels,
            tz: self.tz,
            formats: &self.formats,
            rows_per_sheet: self.rows_per_sheet,
            cells_cut: &self.cells_cut,
        };
        let mut departments_series = Series::new(None, self.labels.sheet_departments);
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
                        self.rows_per_sheet
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
            cells_cut: self.cells_cut.get(),
        })
    }

    #[cfg(test)]
    fn with_rows_per_sheet(mut self, rows: u32) -> Self {
        self.rows_per_sheet = rows;
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
struct Ctx<'a> {
    labels: &'static Labels,
    tz: Tz,
    formats: &'a Formats,
    rows_per_sheet: u32,
    cells_cut: &'a std::cell::Cell<u64>,
}

impl Ctx<'_> {
    fn append(
        &self,
        wb: &mut Workbook,
        s: &mut Series,
        rows: &DataFrame,
        offsets: &mut OffsetCache,
    ) -> Result<()> {
        if s.specs.is_empty() {
            s.specs = sheet_columns(s.table, rows)
                .into_iter()
                .map(|c| Spec {
                    name: c.name().to_string(),
                    kind: Kind::of(c.name(), c.dtype()),
                })
                .collect();
            s.widths = self.widths(s, rows)?;
        }
        let mut cells = columns(rows, &s.specs, self.labels)?;
        for _ in 0..rows.height() {
            if s.sheets.is_empty() || s.row > self.rows_per_sheet {
                let mut sheet = wb.new_worksheet_with_constant_memory()?;
                sheet.set_name(sheet_name(&s.name, s.sheets.len() + 1))?;
                // A column's number format applies to its cells written without one: looked
                // up once here, not hashed again for each of a million cells.
                for (c, spec) in s.specs.iter().enumerate() {
                    if let Some(format) = self.formats.of(spec.kind) {
                        sheet.set_column_format(c as u16, format)?;
                    }
                }
                self.header(&mut sheet, s)?;
                s.sheets.push(sheet);
                s.row = 1;
            }
            let sheet = s.sheets.last_mut().expect("a sheet was just added");
            for (c, col) in cells.iter_mut().enumerate() {
                let cell = col.next().context("a column shorter than its frame")?;
                self.write(sheet, s.row, c as u16, cell, offsets)?;
            }
            s.row += 1;
            s.rows += 1;
        }
        Ok(())
    }

    fn header_text(&self, table: Option<Table>, spec: &Spec) -> String {
        let header = self.labels.header(table, &spec.name);
        match spec.kind {
            Kind::DateTime => format!("{header} ({})", self.tz.name()),
            Kind::Duration => {
                let base = if header == spec.name {
                    spec.name
                        .strip_suffix("_s")
                        .unwrap_or(&spec.name)
                        .to_string()
                } else {
                    header
                };
                format!("{base}{}", self.labels.duration_suffix())
            }
            _ => header,
        }
    }

    fn header(&self, sheet: &mut Worksheet, s: &Series) -> Result<()> {
        for (c, spec) in s.specs.iter().enumerate() {
            sheet.write_string_with_format(
                0,
                c as u16,
                self.header_text(s.table, spec),
                &self.formats.header,
            )?;
        }
        Ok(())
    }

    /// Widths fitted to the header and the first rows (CJK characters count double).
    fn widths(&self, s: &Series, rows: &DataFrame) -> Result<Vec<usize>> {
        let sample = rows.head(Some(WIDTH_SAMPLE_ROWS));
        let mut cells = columns(&sample, &s.specs, self.labels)?;
        let mut widths: Vec<usize> = s
            .specs
            .iter()
            .map(|spec| display_width(&self.header_text(s.table, spec)) + 3)
            .collect();
        for (spec, (w, col)) in s.specs.iter().zip(widths.iter_mut().zip(cells.iter_mut())) {
            let values = match spec.kind.fixed_width() {
                Some(fixed) => fixed,
                None => col
                    .map(|cell| match cell {
                        Cell::Text(t) => display_width(&t),
                        Cell::Number(v) => format!("{v}").len(),
                        _ => 0,
                    })
                    .max()
                    .unwrap_or(0),
            };
            *w = (*w).max(values + 2).min(MAX_COLUMN_WIDTH);
        }
        Ok(widths)
    }

    /// Writes one cell; its number format is its column's (see [`Formats::of`]).
    fn write(
        &self,
        sheet: &mut Worksheet,
        row: u32,
        col: u16,
        cell: Cell<'_>,
        offsets: &mut OffsetCache,
    ) -> Result<()> {
        match cell {
            Cell::Blank => {}
            Cell::Text(t) => {
                let t = match fit_cell(&t) {
                    Some(cut) => {
                        self.cells_cut.set(self.cells_cut.get() + 1);
                        Cow::Owned(cut)
                    }
                    None => t,
                };
                sheet.write_string(row, col, t)?;
            }
            Cell::Bool(b) => {
                sheet.write_boolean(row, col, b)?;
            }
            Cell::Number(v) | Cell::Percent(v) => {
                sheet.write_number(row, col, v)?;
            }
            Cell::Integer(v) => {
                sheet.write_number(row, col, v as f64)?;
            }
            Cell::Seconds(s) => {
                sheet.write_number(row, col, s / 86_400.0)?;
            }
            Cell::Millis(ms) => {
                let local = ms + offsets.offset_ms(ms);
                sheet.write_number(row, col, local as f64 / MS_PER_DAY + EXCEL_UNIX_EPOCH)?;
            }
            Cell::Days(d) => {
                sheet.write_number(row, col, f64::from(d) + EXCEL_UNIX_EPOCH)?;
            }
        }
        Ok(())
    }

    /// The first sheet: what the workbook covers, the headline, and notes.
    fn summary(&self, o: &Overview, meta: &Meta, tables: &[&Series]) -> Result<Worksheet> {
        let l = self.labels;
        let f = self.formats;
        let h = &o.headline;
        let mut sheet = Worksheet::new();
        sheet.set_name(l.sheet_summary)?;
        // Printed: labels and values on the same page.
        sheet.set_print_fit_to_pages(1, 0);
        sheet.set_header(page_header(meta));
        sheet.set_column_width(0, 26)?;
        sheet.set_column_width(1, 60)?;
        sheet.write_string_with_format(0, 0, l.report_title, &f.title)?;
        let mut row = 2;
        let mut text = |sheet: &mut Worksheet, label: &str, value: String| -> Result<()> {
            sheet.write_string_with_format(row, 0, label, &f.label)?;
            sheet.write_string(row, 1, value)?;
            row += 1;
            Ok(())
        };
        text(&mut sheet, l.job, meta.job.clone())?;
        text(&mut sheet, l.window, meta.window_text())?;
        text(&mut sheet, l.time_zone, meta.tz.name().to_string())?;
        text(&mut sheet, l.generated_at, meta.generated_text())?;
        text(
            &mut sheet,
            l.counted,
            l.counted_note(
                &o.statuses,
                h.meetings as usize,
                h.meetings_in_window as usize,
            ),
        )?;
        row += 1;
        sheet.write_string_with_format(row, 0, l.headline, &f.title)?;
        row += 1;
        let numbers: [(&str, Option<f64>, &CellFormat); 8] = [
            (l.meetings, Some(h.meetings as f64), &f.integer),
            (
                l.members_invited,
                Some(h.members_invited as f64),
                &f.integer,
            ),
            (
                l.members_attended,
                Some(h.members_attended as f64),
                &f.integer,
            ),
            (l.attendance_rate, h.attendance_rate, &f.percent),
            (l.avg_attended_ratio, h.avg_attended_ratio, &f.percent),
            (
                l.total_attendance_h,
                Some(h.total_attendance_s as f64 / 3600.0),
                &f.hours,
            ),
            (l.late_arrivals, Some(h.late as f64), &f.integer),
            (l.early_leavers, Some(h.left_early as f64), &f.integer),
        ];
        for (label, value, format) in numbers {
            sheet.write_string_with_format(row, 0, label, &f.label)?;
            if let Some(v) = value {
                sheet.write_number_with_format(row, 1, v, format)?;
            }
            row += 1;
        }
        let mut notes: Vec<String> = tables
            .iter()
            .filter(|s| s.sheets.len() > 1)
            .map(|s| l.continued_note(&s.name, &s.sheet_names(), s.rows))
            .collect();
        let cut = self.cells_cut.get();
        if cut > 0 {
            notes.push(l.cut_note(cut));
        }
        if !notes.is_empty() {
            row += 1;
            sheet.write_string_with_format(row, 0, l.notes, &f.title)?;
            row += 1;
            for n in notes {
                sheet.write_string(row, 0, n)?;
                row += 1;
            }
        }
        Ok(sheet)
    }
}

/// One cell's value, as the reader will see it.
enum Cell<'a> {
    Blank,
    Text(Cow<'a, str>),
    Bool(bool),
    Number(f64),
    Integer(i64),
    Percent(f64),
    Seconds(f64),
    Millis(i64),
    Days(i32),
}

type Cells<'a> = Box<dyn Iterator<Item = Cell<'a>> + 'a>;

/// Each column of `df` as an iterator of cells (read column by column, written row by row).
fn columns<'a>(
    df: &'a DataFrame,
    specs: &[Spec],
    labels: &'static Labels,
) -> Result<Vec<Cells<'a>>> {
    specs
        .iter()
        .map(|spec| -> Result<Cells<'a>> {
            let c = df
                .column(&spec.name)
                .map_err(|_| anyhow::anyhow!("column {} missing from a later frame", spec.name))?;
            let name = spec.name.clone();
            Ok(match spec.kind {
                Kind::Text => match c.dtype() {
                    DataType::String => Box::new(c.str()?.iter().map(move |v| match v {
                        Some(t) => Cell::Text(labels.value(&name, t)),
                        None => Cell::Blank,
                    })),
                    _ => {
                        let s = c.as_materialized_series();
                        Box::new((0..s.len()).map(move |i| match s.get(i) {
                            Ok(AnyValue::Null) | Err(_) => Cell::Blank,
                            Ok(v) => Cell::Text(Cow::Owned(v.to_string())),
                        }))
                    }
                },
                Kind::IdText => {
                    let ids: Vec<Cell<'a>> = c
                        .cast(&DataType::Int64)?
                        .i64()?
                        .iter()
                        .map(|v| v.map_or(Cell::Blank, |v| Cell::Text(Cow::Owned(v.to_string()))))
                        .collect();
                    Box::new(ids.into_iter())
                }
                Kind::Integer => ints(c, Cell::Integer)?,
                Kind::Duration => floats(c, Cell::Seconds)?,
                Kind::Percent => floats(c, Cell::Percent)?,
                Kind::Float => floats(c, Cell::Number)?,
                Kind::Bool => Box::new(c.bool()?.iter().map(|v| v.map_or(Cell::Blank, Cell::Bool))),
                Kind::DateTime => {
                    let ms = match c.dtype() {
                        DataType::Datetime(unit, _) => *unit,
                        _ => TimeUnit::Milliseconds,
                    };
                    let per_ms = match ms {
                        TimeUnit::Milliseconds => 1,
                        TimeUnit::Microseconds => 1_000,
                        TimeUnit::Nanoseconds => 1_000_000,
                    };
                    Box::new(c.datetime()?.physical().iter().map(move |v| {
                        v.map_or(Cell::Blank, |v| Cell::Millis(v.div_euclid(per_ms)))
                    }))
                }
                Kind::Date => Box::new(
                    c.date()?
                        .physical()
                        .iter()
                        .map(|v| v.map_or(Cell::Blank, Cell::Days)),
                ),
            })
        })
        .collect()
}

fn ints<'a>(c: &'a Column, cell: fn(i64) -> Cell<'a>) -> Result<Cells<'a>> {
    Ok(match c.dtype() {
        DataType::Int64 => Box::new(c.i64()?.iter().map(move |v| v.map_or(Cell::Blank, cell))),
        _ => {
            let v: Vec<Option<i64>> = c.cast(&DataType::Int64)?.i64()?.iter().collect();
            Box::new(v.into_iter().map(move |v| v.map_or(Cell::Blank, cell)))
        }
    })
}

fn floats<'a>(c: &'a Column, cell: fn(f64) -> Cell<'a>) -> Result<Cells<'a>> {
    Ok(match c.dtype() {
        DataType::Float64 => Box::new(c.f64()?.iter().map(move |v| v.map_or(Cell::Blank, cell))),
        _ => {
            let v: Vec<Option<f64>> = c.cast(&DataType::Float64)?.f64()?.iter().collect();
            Box::new(v.into_iter().map(move |v| v.map_or(Cell::Blank, cell)))
        }
    })
}

/// `t` cut to Excel's [`EXCEL_MAX_CELL_CHARS`] and ending in [`CUT_MARK`], when it is longer;
/// `None` when it fits. Never splits a character.
fn fit_cell(t: &str) -> Option<String> {
    // A UTF-16 unit takes at least one byte of UTF-8: a short text fits without counting.
    if t.len() <= EXCEL_MAX_CELL_CHARS || t.encode_utf16().count() <= EXCEL_MAX_CELL_CHARS {
        return None;
    }
    let room = EXCEL_MAX_CELL_CHARS - CUT_MARK.len_utf16();
    let mut units = 0;
    let end = t
        .char_indices()
        .find(|(_, c)| {
            units += c.len_utf16();
            units > room
        })
        .map_or(t.len(), |(i, _)| i);
    let mut cut = String::with_capacity(end + CUT_MARK.len_utf8());
    cut.push_str(&t[..end]);
    cut.push(CUT_MARK);
    Some(cut)
}

/// Columns a text takes in a spreadsheet: CJK and other wide characters count double.
fn display_width(s: &str) -> usize {
    s.chars()
        .map(|c| if (c as u32) >= 0x1100 { 2 } else { 1 })
        .sum()
}

/// The zone's offset at an instant, remembered per minute (offsets change on the minute).
struct OffsetCache {
    tz: Tz,
    minute: i64,
    offset_ms: i64,
}

impl OffsetCache {
    fn new(tz: Tz) -> Self {
        OffsetCache {
            tz,
            minute: i64::MIN,
            offset_ms: 0,
        }
    }

    fn offset_ms(&mut self, ms: i64) -> i64 {
        let minute = ms.div_euclid(60_000);
        if minute != self.minute {
            self.minute = minute;
            self.offset_ms = chrono::DateTime::from_timestamp_millis(ms).map_or(0, |t| {
                i64::from(
                    self.tz
                        .offset_from_utc_datetime(&t.naive_utc())
                        .fix()
                        .local_minus_utc(),
                ) * 1000
            });
        }
        self.offset_ms
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::job::Language;
    use crate::config::window::DateRange;
    use crate::output::overview::Collector;
    use calamine::{Data, Reader, Xlsx, open_workbook};

    fn rows(n: usize, first: i64) -> DataFrame {
        let ids: Vec<String> = (first..first + n as i64).map(|i| format!("m{i}")).collect();
        df!(
            "meetingid" => ids,
            "title" => vec!["=SUM(A1)"; n],
            "main_department" => vec![Some(123_456_789_012_345_678_i64); n],
            "late_s" => vec![Some(90i64); n],
        )
        .unwrap()
    }

    fn meta() -> Meta {
        let d = chrono::NaiveDate::from_ymd_opt(2026, 11, 16).unwrap();
        Meta {
            job: "t".into(),
            window: DateRange::new(d, d).unwrap(),
            tz: chrono_tz::Asia::Shanghai,
            generated_at: chrono::Utc::now(),
            labels: Labels::of(Language::En),
        }
    }

    #[test]
    fn recurring_meetings_get_their_two_sheets_before_attendance_with_chinese_headers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.xlsx");
        let labels = Labels::of(Language::ZhCn);
        let mut w =
            WorkbookWriter::new("w.xlsx", dir.path(), labels, chrono_tz::Asia::Shanghai).unwrap();
        w.append(Table::Attendance, &rows(1, 0)).unwrap();
        let series = df!(
            "meetingid" => ["S1"],
            "series_title" => ["产品周会"],
            "absences_in_a_row" => [3i64],
            "late_count" => [1i64],
        )
        .unwrap();
        w.append(
            Table::SeriesMeetings,
            &series.select(["meetingid", "series_title"]).unwrap(),
        )
        .unwrap();
        w.append(Table::Series, &series).unwrap();
        let m = meta();
        let overview = Collector::new(&[3], m.window).finish().unwrap();
        w.finish(
            &overview,
            &m,
            None,
            &crate::output::place::Folder::new(dir.path()),
        )
        .unwrap();
        let mut wb: Xlsx<_> = open_workbook(&path).unwrap();
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
        let r = wb.worksheet_range("周期会议出勤").unwrap();
        let header: Vec<String> = r
            .rows()
            .next()
            .unwrap()
            .iter()
            .map(|c| c.to_string())
            .collect();
        assert_eq!(
            header,
            ["会议ID", "周期会议主题", "连续缺席场次", "迟到次数"]
        );
    }

    #[test]
    fn table_sheets_print_landscape_one_page_wide_with_the_header_row_and_the_job_on_each_page() {
        use std::io::Read;
        let dir = tempfile::tempdir().unwrap();
        let labels = Labels::of(Language::En);
        let mut w =
            WorkbookWriter::new("w.xlsx", dir.path(), labels, chrono_tz::Asia::Shanghai).unwrap();
        w.append(Table::Attendance, &rows(3, 0)).unwrap();
        let m = Meta {
            job: "R&D weekly".into(),
            ..meta()
        };
        let overview = Collector::new(&[3], m.window).finish().unwrap();
        w.finish(
            &overview,
            &m,
            None,
            &crate::output::place::Folder::new(dir.path()),
        )
        .unwrap();
        let mut zip =
            ::zip::ZipArchive::new(std::fs::File::open(dir.path().join("w.xlsx")).unwrap())
                .unwrap();
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

    #[test]
    fn rows_beyond_a_sheet_continue_on_numbered_sheets_and_the_summary_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.xlsx");
        let labels = Labels::of(Language::En);
        let mut w = WorkbookWriter::new("w.xlsx", dir.path(), labels, chrono_tz::Asia::Shanghai)
            .unwrap()
            .with_rows_per_sheet(3);
        w.append(Table::Attendance, &rows(5, 0)).unwrap();
        w.append(Table::Attendance, &rows(3, 5)).unwrap();
        let m = meta();
        let overview = Collector::new(&[3], m.window).finish().unwrap();
        w.finish(
            &overview,
            &m,
            None,
            &crate::output::place::Folder::new(dir.path()),
        )
        .unwrap();

        let mut wb: Xlsx<_> = open_workbook(&path).unwrap();
        assert_eq!(
            wb.sheet_names(),
            [
                "summary",
                "meetings",
                "users",
                "attendance",
                "attendance (2)",
                "attendance (3)"
            ]
        );
        let mut ids = Vec::new();
        for name in ["attendance", "attendance (2)", "attendance (3)"] {
            let r = wb.worksheet_range(name).unwrap();
            let header: Vec<String> = r
                .rows()
                .next()
                .unwrap()
                .iter()
                .map(|c| c.to_string())
                .collect();
            assert_eq!(
                header,
                ["meetingid", "title", "main_department", "late (h:mm:ss)"]
            );
            for row in r.rows().skip(1) {
                ids.push(row[0].to_string());
                // Formula-looking titles and long integer ids stay text.
                assert_eq!(row[1], Data::String("=SUM(A1)".into()));
                assert_eq!(row[2], Data::String("123456789012345678".into()));
                match &row[3] {
                    Data::DateTime(d) => assert!((d.as_f64() * 86_400.0 - 90.0).abs() < 1e-6),
                    other => panic!("a duration, not {other:?}"),
                }
            }
            let formulas = wb.worksheet_formula(name).unwrap();
            assert!(formulas.used_cells().all(|(_, _, f)| f.is_empty()));
        }
        let expected: Vec<String> = (0..8).map(|i| format!("m{i}")).collect();
        assert_eq!(ids, expected);
        let summary = wb.worksheet_range("summary").unwrap();
        let notes: Vec<String> = summary
            .rows()
            .map(|r| r[0].to_string())
            .filter(|t| t.contains("continue on"))
            .collect();
        assert_eq!(
            notes,
            [
                "attendance has 8 rows, more than Excel's 1,048,576 per sheet: they continue on attendance, attendance (2), attendance (3)"
            ]
        );
    }

    /// The header row of the users sheet of a workbook written from `users`.
    fn users_header(users: &DataFrame) -> Vec<String> {
        let dir = tempfile::tempdir().unwrap();
        let labels = Labels::of(Language::En);
        let mut w =
            WorkbookWriter::new("w.xlsx", dir.path(), labels, chrono_tz::Asia::Shanghai).unwrap();
        w.append(Table::Users, users).unwrap();
        let m = meta();
        let overview = Collector::new(&[3], m.window).finish().unwrap();
        let folder = crate::output::place::Folder::new(dir.path());
        w.finish(&overview, &m, None, &folder).unwrap();
        let mut wb: Xlsx<_> = open_workbook(dir.path().join("w.xlsx")).unwrap();
        let r = wb.worksheet_range("users").unwrap();
        let header = r.rows().next().unwrap().iter().map(|c| c.to_string());
        header.collect()
    }

    #[test]
    fn people_sheets_lead_with_the_name_and_department_and_the_userid_once_the_directory_is_known()
    {
        let users = |name: Option<&str>, department: Option<&str>| {
            df!(
                "userid" => ["u1", "u2"],
                "attendee_kind" => ["member", "external"],
                "meetings_invited" => [3i64, 1],
                "name" => [name, None],
                "department_id" => [department.map(|_| 7i64), None],
                "department" => [department, None],
            )
            .unwrap()
        };
        let led = [
            "name",
            "department",
            "department_id",
            "userid",
            "attendee_kind",
            "meetings_invited",
        ];
        assert_eq!(users_header(&users(Some("张三"), Some("总部"))), led);
        // A member known by name only, or by department only: the directory is known.
        assert_eq!(users_header(&users(Some("张三"), None)), led);
        assert_eq!(users_header(&users(None, Some("总部"))), led);
        // Without a directory the columns are null: the table's order.
        assert_eq!(
            users_header(&users(None, None)),
            [
                "userid",
                "attendee_kind",
                "meetings_invited",
                "name",
                "department_id",
                "department"
            ]
        );
    }

    #[test]
    fn times_are_written_in_the_jobs_zone_across_a_daylight_saving_change() {
        let mut c = OffsetCache::new(chrono_tz::Europe::Berlin);
        // 2026-03-29 00:59:59 UTC is 01:59:59 CET; one second later it is 03:00 CEST.
        let before = 1_774_745_999_000;
        assert_eq!(c.offset_ms(before), 3_600_000);
        assert_eq!(c.offset_ms(before + 1000), 7_200_000);
    }

    #[test]
    fn a_text_longer_than_a_cell_is_cut_to_excels_limit_without_splitting_a_character() {
        assert_eq!(fit_cell(&"a".repeat(EXCEL_MAX_CELL_CHARS)), None);
        let cut = fit_cell(&"a".repeat(40_000)).unwrap();
        assert_eq!(cut.encode_utf16().count(), EXCEL_MAX_CELL_CHARS);
        assert!(cut.ends_with("a…"));
        // An emoji takes two UTF-16 units: the cut falls before it, never inside.
        let cut = fit_cell(&"😀".repeat(20_000)).unwrap();
        assert_eq!(cut.encode_utf16().count(), EXCEL_MAX_CELL_CHARS);
        assert_eq!(cut.chars().filter(|c| *c == '😀').count(), 16_383);
        // 16,384 emoji are 32,768 units: one too many.
        assert!(fit_cell(&"😀".repeat(16_384)).is_some());
        assert_eq!(fit_cell(&"😀".repeat(16_383)), None);
    }

    #[test]
    fn column_kinds_follow_the_names_and_types_of_the_tables() {
        assert_eq!(Kind::of("meetingid", &DataType::String), Kind::Text);
        assert_eq!(Kind::of("main_department", &DataType::Int64), Kind::IdText);
        assert_eq!(Kind::of("parent_id", &DataType::Int64), Kind::IdText);
        assert_eq!(
            Kind::of("total_attendance_s", &DataType::Int64),
            Kind::Duration
        );
        assert_eq!(
            Kind::of("avg_attendance_s", &DataType::Float64),
            Kind::Duration
        );
        assert_eq!(
            Kind::of("attendance_rate", &DataType::Float64),
            Kind::Percent
        );
        assert_eq!(
            Kind::of("attended_ratio", &DataType::Float64),
            Kind::Percent
        );
        assert_eq!(Kind::of("late_count", &DataType::Int64), Kind::Integer);
        assert_eq!(display_width("会议ab"), 6);
    }
}
