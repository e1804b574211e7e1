//! CSV as HR opens it in Excel: UTF-8 BOM (on by default, so Chinese shows correctly), times as
//! ISO 8601 with the zone's offset (`2026-11-16T09:00:00+08:00`), floats with 6 decimals (so
//! reruns are byte-identical), and text cells that a spreadsheet would run as a formula
//! (`= + - @`, tab, CR) prefixed with `'` — OWASP's advice against CSV injection.
//!
//! Times, dates and floats are formatted here rather than by polars' writer: a million rows have
//! three time columns, a date and a ratio, and looking up the zone offset once per 15-minute
//! bucket and writing digits directly is several times faster than a time-zone conversion and a
//! format string per cell.

use crate::job::CsvConfig;
use anyhow::Result;
use chrono::{DateTime, Offset, TimeZone};
use chrono_tz::Tz;
use polars::prelude::*;

const CSV_FLOAT_DECIMALS: usize = 6;
/// Zone offsets only change on quarter-hour boundaries in every zone of the tz database.
const OFFSET_BUCKET_S: i64 = 900;

/// Writes a frame as CSV to `out`.
pub fn write_csv(df: &DataFrame, cfg: CsvConfig, tz: Tz, out: impl std::io::Write) -> Result<()> {
    let mut prepared = df.clone();
    for name in df.get_column_names_owned() {
        let column = df.column(&name)?;
        match column.dtype() {
            DataType::Datetime(TimeUnit::Milliseconds, _) => {
                let text = iso_strings(column.datetime()?.physical(), tz);
                prepared.replace(&name, text.into_series().into_column())?;
            }
            DataType::Date => {
                let text = date_strings(column.date()?.physical());
                prepared.replace(&name, text.into_series().into_column())?;
            }
            DataType::Float64 => {
                let text = fixed_decimals(column.f64()?);
                prepared.replace(&name, text.into_series().into_column())?;
            }
            DataType::String if cfg.neutralize_formulas => {
                if let Some(fixed) = neutralize(column.str()?) {
                    prepared.replace(&name, fixed.into_series().into_column())?;
                }
            }
            _ => {}
        }
    }
    CsvWriter::new(out)
        .include_bom(cfg.bom)
        .with_float_precision(Some(CSV_FLOAT_DECIMALS))
        .finish(&mut prepared)?;
    Ok(())
}

/// The CSV bytes of a frame (see [`write_csv`]).
pub fn csv_bytes(df: &DataFrame, cfg: CsvConfig, tz: Tz) -> Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(df.height() * 160 + 1024);
    write_csv(df, cfg, tz, &mut buf)?;
    Ok(buf)
}

/// Whether a spreadsheet would treat this text as a formula (or a control sequence).
pub fn looks_like_formula(s: &str) -> bool {
    matches!(
        s.as_bytes().first(),
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r')
    )
}

/// The column with risky cells prefixed by `'`, or `None` when no cell is risky.
fn neutralize(ca: &StringChunked) -> Option<StringChunked> {
    if !ca.iter().flatten().any(looks_like_formula) {
        return None;
    }
    Some(ca.apply_into_string_amortized(|s: &str, buf: &mut String| {
        if looks_like_formula(s) {
            buf.push('\'');
        }
        buf.push_str(s);
    }))
}

/// Unix milliseconds → `YYYY-MM-DDTHH:MM:SS±HH:MM` in `tz` (nulls stay null).
pub fn iso_strings(ms: &Int64Chunked, tz: Tz) -> StringChunked {
    let mut cache = OffsetCache::new(tz);
    ms.apply_into_string_amortized(|v: i64, buf: &mut String| {
        let secs = v.div_euclid(1000);
        let offset = cache.offset(secs);
        write_iso(buf, secs + i64::from(offset), offset);
    })
}

/// Days since the epoch → `YYYY-MM-DD` (nulls stay null).
pub fn date_strings(days: &Int32Chunked) -> StringChunked {
    days.apply_into_string_amortized(|d: i32, buf: &mut String| {
        let (y, m, d) = civil_from_days(i64::from(d));
        let mut b = [0u8; 10];
        put4(&mut b[0..4], y);
        b[4] = b'-';
        put2(&mut b[5..7], m);
        b[7] = b'-';
        put2(&mut b[8..10], d);
        buf.push_str(std::str::from_utf8(&b).expect("ASCII digits"));
    })
}

/// Floats with exactly [`CSV_FLOAT_DECIMALS`] decimals (nulls stay null, NaN and infinities as
/// Rust prints them). The value is rounded to the nearest millionth first, so the text is the
/// same on every run and machine.
pub fn fixed_decimals(values: &Float64Chunked) -> StringChunked {
    const SCALE: f64 = 1e6;
    values.apply_into_string_amortized(|v: f64, buf: &mut String| {
        let scaled = (v * SCALE).round();
        if !scaled.is_finite() || scaled.abs() >= 9.0e15 {
            buf.push_str(&format!("{v:.CSV_FLOAT_DECIMALS$}"));
            return;
        }
        let n = scaled as i64;
        if n < 0 {
            buf.push('-');
        }
        let n = n.unsigned_abs();
        let mut ibuf = itoa::Buffer::new();
        buf.push_str(ibuf.format(n / 1_000_000));
        buf.push('.');
        let frac = ibuf.format(n % 1_000_000);
        for _ in frac.len()..CSV_FLOAT_DECIMALS {
            buf.push('0');
        }
        buf.push_str(frac);
    })
}

/// Remembers the zone offset of the last 15-minute bucket looked up.
struct OffsetCache {
    tz: Tz,
    bucket: i64,
    offset: i32,
}

impl OffsetCache {
    fn new(tz: Tz) -> Self {
        OffsetCache {
            tz,
            bucket: i64::MIN,
            offset: 0,
        }
    }

    fn offset(&mut self, secs: i64) -> i32 {
        let bucket = secs.div_euclid(OFFSET_BUCKET_S);
        if bucket != self.bucket {
            self.bucket = bucket;
            self.offset = DateTime::from_timestamp(secs, 0)
                .map(|t| {
                    self.tz
                        .offset_from_utc_datetime(&t.naive_utc())
                        .fix()
                        .local_minus_utc()
                })
                .unwrap_or(0);
        }
        self.offset
    }
}

/// Writes local seconds since the epoch and their offset as ISO 8601.
fn write_iso(buf: &mut String, local: i64, offset: i32) {
    let days = local.div_euclid(86_400);
    let sod = local.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let mut b = [0u8; 25];
    put4(&mut b[0..4], y);
    b[4] = b'-';
    put2(&mut b[5..7], m);
    b[7] = b'-';
    put2(&mut b[8..10], d);
    b[10] = b'T';
    put2(&mut b[11..13], (sod / 3600) as u32);
    b[13] = b':';
    put2(&mut b[14..16], (sod / 60 % 60) as u32);
    b[16] = b':';
    put2(&mut b[17..19], (sod % 60) as u32);
    b[19] = if offset < 0 { b'-' } else { b'+' };
    let off = offset.unsigned_abs();
    put2(&mut b[20..22], off / 3600);
    b[22] = b':';
    put2(&mut b[23..25], off / 60 % 60);
    buf.push_str(std::str::from_utf8(&b).expect("ASCII digits"));
}

fn put2(out: &mut [u8], v: u32) {
    out[0] = b'0' + (v / 10 % 10) as u8;
    out[1] = b'0' + (v % 10) as u8;
}

fn put4(out: &mut [u8], v: i64) {
    let v = v.clamp(0, 9999) as u32;
    out[0] = b'0' + (v / 1000) as u8;
    out[1] = b'0' + (v / 100 % 10) as u8;
    out[2] = b'0' + (v / 10 % 10) as u8;
    out[3] = b'0' + (v % 10) as u8;
}

/// Howard Hinnant's days-from-civil inverse: days since 1970-01-01 → (year, month, day).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> CsvConfig {
        CsvConfig {
            bom: true,
            neutralize_formulas: true,
        }
    }

    #[test]
    fn times_match_chrono_in_zones_with_and_without_daylight_saving() {
        let zones: [Tz; 4] = [
            chrono_tz::Asia::Shanghai,
            chrono_tz::America::New_York,
            chrono_tz::Australia::Lord_Howe,
            chrono_tz::Asia::Kolkata,
        ];
        // Around DST changes, leap days, the epoch and far dates.
        let instants: Vec<i64> = vec![
            0,
            951_782_400,   // 2000-02-29
            1_710_054_000, // 2024-03-10 07:00 UTC, New York springs forward
            1_710_053_999,
            1_730_613_600, // 2024-11-03 06:00 UTC, New York falls back
            1_728_144_000, // Lord Howe switches by 30 minutes
            1_800_000_000,
            4_102_444_800, // 2100-01-01
        ];
        for tz in zones {
            let ca =
                Int64Chunked::from_vec("t".into(), instants.iter().map(|s| s * 1000).collect());
            let got = iso_strings(&ca, tz);
            for (i, s) in instants.iter().enumerate() {
                let want = DateTime::from_timestamp(*s, 0)
                    .unwrap()
                    .with_timezone(&tz)
                    .format("%Y-%m-%dT%H:%M:%S%:z")
                    .to_string();
                assert_eq!(got.get(i), Some(want.as_str()), "{tz} {s}");
            }
        }
    }

    #[test]
    fn dates_and_fixed_decimals_match_the_standard_formatting() {
        let days = Int32Chunked::from_vec("d".into(), vec![0, 11_016, 20_407, -1]);
        let got: Vec<_> = date_strings(&days)
            .iter()
            .map(|s| s.unwrap().to_string())
            .collect();
        assert_eq!(
            got,
            ["1970-01-01", "2000-02-29", "2025-11-15", "1969-12-31"]
        );
        let vals = [
            0.0,
            1.0,
            2.0 / 3.0,
            0.5,
            1234.56789012,
            0.0000004,
            0.99999999,
            17.25,
        ];
        let ca = Float64Chunked::from_vec("f".into(), vals.to_vec());
        let got = fixed_decimals(&ca);
        for (i, v) in vals.iter().enumerate() {
            assert_eq!(got.get(i).unwrap(), format!("{v:.6}"), "{v}");
        }
        let neg = Float64Chunked::from_vec("f".into(), vec![-0.25, -3.0000004]);
        let got: Vec<_> = fixed_decimals(&neg)
            .iter()
            .map(|s| s.unwrap().to_string())
            .collect();
        assert_eq!(got, ["-0.250000", "-3.000000"]);
    }

    #[test]
    fn null_times_stay_empty_cells() {
        let ca = Int64Chunked::from_iter_options("t".into(), [Some(0), None].into_iter());
        let got = iso_strings(&ca, chrono_tz::UTC);
        assert_eq!(got.get(0), Some("1970-01-01T00:00:00+00:00"));
        assert_eq!(got.get(1), None);
    }

    #[test]
    fn formula_cells_are_neutralised_and_other_text_is_kept() {
        let df = df!("title" => ["=HYPERLINK(\"x\")", "周会", "-1", "@me", "a=b", "\tx"]).unwrap();
        let csv = String::from_utf8(csv_bytes(&df, cfg(), chrono_tz::UTC).unwrap()).unwrap();
        assert!(csv.starts_with('\u{feff}'));
        let lines: Vec<_> = csv.trim_start_matches('\u{feff}').lines().collect();
        assert_eq!(
            lines,
            [
                "title",
                "\"'=HYPERLINK(\"\"x\"\")\"",
                "周会",
                "'-1",
                "'@me",
                "a=b",
                "'\tx"
            ]
        );
    }

    #[test]
    fn the_bom_and_the_neutralising_can_be_turned_off() {
        let df = df!("a" => ["=x"]).unwrap();
        let cfg = CsvConfig {
            bom: false,
            neutralize_formulas: false,
        };
        assert_eq!(csv_bytes(&df, cfg, chrono_tz::UTC).unwrap(), b"a\n=x\n");
    }
}
