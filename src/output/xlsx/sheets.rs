//! The table sheets: a table's columns ([`Spec`], the people sheets' order), its sheets and
//! their continuation past Excel's row limit ([`Series`]: `attendance`, `attendance (2)`, …),
//! the header row (in the reader's language, the zone and the unit named) and the column
//! widths fitted to the header and the first rows. Rows are written as they arrive, cell by
//! cell through `cells`.

use super::Ctx;
use super::cells::{Cell, Kind, OffsetCache, columns};
use crate::transform::tables::Table;
use anyhow::{Context, Result};
use polars::prelude::*;
use rust_xlsxwriter::{Workbook, Worksheet};

/// Rows of an Excel sheet, the header included.
pub const EXCEL_MAX_ROWS: u32 = 1_048_576;
/// Rows looked at to fit a column's width.
const WIDTH_SAMPLE_ROWS: usize = 200;
const MAX_COLUMN_WIDTH: usize = 50;

/// One column of a table sheet.
#[derive(Debug, Clone)]
pub(super) struct Spec {
    pub(super) name: String,
    pub(super) kind: Kind,
}

/// A table's sheets: the first, then its continuations when the rows exceed a sheet.
pub(super) struct Series {
    pub(super) table: Option<Table>,
    pub(super) name: String,
    pub(super) sheets: Vec<Worksheet>,
    /// Next row of the last sheet (0: the sheet has no header yet).
    pub(super) row: u32,
    pub(super) rows: u64,
    pub(super) specs: Vec<Spec>,
    pub(super) widths: Vec<usize>,
}

impl Series {
    pub(super) fn new(table: Option<Table>, name: &str) -> Self {
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

    pub(super) fn sheet_names(&self) -> Vec<String> {
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

/// A sheet's columns, in order: the frame's, except on a people sheet of a job with a
/// directory, where the person's columns lead and the rest follow in the table's order. CSV
/// and Parquet never pass through here: their order is the table's.
fn sheet_columns(table: Option<Table>, rows: &DataFrame, directory: bool) -> Vec<&Column> {
    let lead = person_columns(table);
    let present = lead.iter().all(|name| rows.column(name).is_ok());
    if !(directory && present) {
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

impl Ctx {
    /// Appends `rows` to the table's sheets, starting a sheet when the last one is full.
    pub(super) fn append(
        &self,
        wb: &mut Workbook,
        s: &mut Series,
        rows: &DataFrame,
        offsets: &mut OffsetCache,
    ) -> Result<()> {
        if s.specs.is_empty() {
            s.specs = sheet_columns(s.table, rows, self.directory)
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
}

/// Columns a text takes in a spreadsheet: CJK and other wide characters count double.
fn display_width(s: &str) -> usize {
    s.chars()
        .map(|c| if (c as u32) >= 0x1100 { 2 } else { 1 })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::super::tests::{Read, header_row, meta, rows, write, write_with};
    use super::*;
    use calamine::{Data, Reader, open_workbook};

    #[test]
    fn rows_beyond_a_sheet_continue_on_numbered_sheets_and_the_summary_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let (first, then) = (rows(5, 0), rows(3, 5));
        let frames = [(Table::Attendance, &first), (Table::Attendance, &then)];
        let path = write(dir.path(), &meta(), 3, &frames);
        let mut wb: Read = open_workbook(path).unwrap();
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
            assert_eq!(
                header_row(&mut wb, name),
                ["meetingid", "title", "main_department", "late (h:mm:ss)"]
            );
            let r = wb.worksheet_range(name).unwrap();
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

    /// The header row of the users sheet of a workbook written from `users` for a job with a
    /// directory (`directory`) or without.
    fn users_header(users: &DataFrame, directory: bool) -> Vec<String> {
        let dir = tempfile::tempdir().unwrap();
        let path = write_with(
            dir.path(),
            &meta(),
            EXCEL_MAX_ROWS - 1,
            directory,
            &[(Table::Users, users)],
        );
        let mut wb: Read = open_workbook(path).unwrap();
        header_row(&mut wb, "users")
    }

    #[test]
    fn people_sheets_lead_with_the_name_and_department_and_the_userid_when_the_job_has_a_directory()
    {
        // The first rows may know nobody (external guests, people the directory lacks): the job's
        // `[directory]` decides, not the data.
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
        let table_order = [
            "userid",
            "attendee_kind",
            "meetings_invited",
            "name",
            "department_id",
            "department",
        ];
        assert_eq!(users_header(&users(Some("张三"), Some("总部")), true), led);
        assert_eq!(users_header(&users(None, None), true), led);
        assert_eq!(users_header(&users(None, None), false), table_order);
        assert_eq!(
            users_header(&users(Some("张三"), Some("总部")), false),
            table_order
        );
    }

    #[test]
    fn wide_characters_count_double_in_a_columns_width() {
        assert_eq!(display_width("会议ab"), 6);
    }
}
