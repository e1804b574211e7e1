//! The cells: how a column's cells are written ([`Kind`], from its name and type), the
//! workbook's formats, each column of a frame read as cells, and one cell written: ids as
//! text, times in the job's zone ([`OffsetCache`]), durations in days shown as `[h]:mm:ss`,
//! and a text longer than Excel's limit cut to fit ([`fit_cell`]).

use super::Ctx;
use super::sheets::Spec;
use crate::output::labels::Labels;
use anyhow::Result;
use chrono::Offset;
use chrono::TimeZone;
use chrono_tz::Tz;
use polars::prelude::*;
use rust_xlsxwriter::{Color, Format as CellFormat, Worksheet};
use std::borrow::Cow;

/// Serial number of 1970-01-01 in Excel's 1900 date system.
const EXCEL_UNIX_EPOCH: f64 = 25_569.0;
const MS_PER_DAY: f64 = 86_400_000.0;
/// Most characters of a cell, counted in UTF-16 units as Excel counts them.
pub const EXCEL_MAX_CELL_CHARS: usize = 32_767;
/// Ends a text cut to fit a cell.
const CUT_MARK: char = '…';
/// Integer columns that are identifiers: written as text like every other id.
const ID_COLUMNS: [&str; 4] = [
    "main_department",
    "department_id",
    "attendee_department_id",
    "parent_id",
];

/// How a column's cells are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
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
    pub(super) fn of(name: &str, dtype: &DataType) -> Kind {
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
    pub(super) fn fixed_width(self) -> Option<usize> {
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
pub(super) struct Formats {
    pub(super) header: CellFormat,
    datetime: CellFormat,
    date: CellFormat,
    duration: CellFormat,
    pub(super) percent: CellFormat,
    pub(super) integer: CellFormat,
    float: CellFormat,
    pub(super) title: CellFormat,
    pub(super) label: CellFormat,
    pub(super) hours: CellFormat,
}

impl Formats {
    /// The number format of a column of `kind`, if it needs one.
    pub(super) fn of(&self, kind: Kind) -> Option<&CellFormat> {
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

    pub(super) fn new() -> Self {
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

impl Ctx {
    /// Writes one cell; its number format is its column's (see [`Formats::of`]).
    pub(super) fn write(
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
}

/// One cell's value, as the reader will see it.
pub(super) enum Cell<'a> {
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

pub(super) type Cells<'a> = Box<dyn Iterator<Item = Cell<'a>> + 'a>;

/// Each column of `df` as an iterator of cells (read column by column, written row by row).
pub(super) fn columns<'a>(
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

/// The zone's offset at an instant, remembered per minute (offsets change on the minute).
pub(super) struct OffsetCache {
    tz: Tz,
    minute: i64,
    offset_ms: i64,
}

impl OffsetCache {
    pub(super) fn new(tz: Tz) -> Self {
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
    }
}
