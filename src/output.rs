//! Writes the tables as a Hive-style dataset, atomically, one partition at a time.
//!
//! Layout (SPEC §5): `OUT/attendance/dt=YYYY-MM-DD/part-0.{csv,parquet}`, the same for
//! `meetings`, and `OUT/users/window=FROM_TO/part-0.*`, each finished partition marked by
//! `_SUCCESS`. Every file is written to a temporary name in its own folder, fsynced, then
//! renamed, so a reader never sees half a file. A run replaces exactly the partitions of its
//! window: dates of the window that now have no meetings lose their old partition.
//!
//! CSV is for people (Excel): UTF-8 BOM by default, times as ISO 8601 with the offset, floats
//! with 6 decimals (so reruns are byte-identical), and text cells that Excel would run as a
//! formula prefixed with `'`. Parquet keeps the raw text and time-zone-aware datetimes.

use crate::job::{CsvConfig, Format};
use crate::window::DateRange;
use anyhow::{Context, Result};
use chrono::NaiveDate;
use polars::prelude::*;
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// CSV time format: ISO 8601 with the zone's offset, e.g. `2023-11-15T06:13:20+08:00`.
const CSV_DATETIME_FORMAT: &str = "%Y-%m-%dT%H:%M:%S%:z";
const CSV_FLOAT_DECIMALS: usize = 6;
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
}

impl Writer<'_> {
    /// Writes every table for `window`, replacing that window's partitions.
    pub fn write(&self, tables: &mut Tables, window: DateRange) -> Result<Written> {
        let mut w = Written {
            attendance_rows: tables.attendance.height(),
            meetings_rows: tables.meetings.height(),
            users_rows: tables.users.height(),
            ..Default::default()
        };
        for (name, df) in [
            ("attendance", &tables.attendance),
            ("meetings", &tables.meetings),
        ] {
            let parts = split_by_date(df)?;
            for date in window.dates() {
                let dir = self.out_dir.join(name).join(format!("dt={date}"));
                match parts.iter().find(|(d, _)| *d == date) {
                    Some((_, part)) => {
                        self.write_partition(&dir, part.clone(), &mut w)?;
                    }
                    None => {
                        if dir.exists() {
                            fs::remove_dir_all(&dir).with_context(|| {
                                format!("cannot remove stale partition {}", dir.display())
                            })?;
                            w.partitions_removed += 1;
                        }
                    }
                }
            }
        }
        let dir = self
            .out_dir
            .join("users")
            .join(format!("window={}", window.label()));
        self.write_partition(&dir, tables.users.clone(), &mut w)?;
        Ok(w)
    }

    fn write_partition(&self, dir: &Path, mut df: DataFrame, w: &mut Written) -> Result<()> {
        fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        remove_stale_temporaries(dir)?;
        let marker = dir.join(SUCCESS_MARKER);
        if marker.exists() {
            fs::remove_file(&marker)?;
        }
        for format in self.formats {
            let path = match format {
                Format::Csv => {
                    let path = dir.join("part-0.csv");
                    let bytes = csv_bytes(&df, self.csv)?;
                    write_atomic(&path, |f| f.write_all(&bytes).map_err(Into::into))?;
                    path
                }
                Format::Parquet => {
                    let path = dir.join("part-0.parquet");
                    write_atomic(&path, |f| {
                        ParquetWriter::new(f)
                            .with_compression(ParquetCompression::Zstd(None))
                            .finish(&mut df)?;
                        Ok(())
                    })?;
                    path
                }
            };
            w.files.push(path);
        }
        write_atomic(&marker, |_| Ok(()))?;
        w.partitions_written += 1;
        Ok(())
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

/// The CSV bytes of a frame, as HR files want them.
pub fn csv_bytes(df: &DataFrame, cfg: CsvConfig) -> Result<Vec<u8>> {
    let mut df = if cfg.neutralize_formulas {
        neutralize_formulas(df)?
    } else {
        df.clone()
    };
    let mut buf = Vec::with_capacity(df.height() * 128 + 1024);
    CsvWriter::new(&mut buf)
        .include_bom(cfg.bom)
        .with_datetime_format(Some(CSV_DATETIME_FORMAT.into()))
        .with_float_precision(Some(CSV_FLOAT_DECIMALS))
        .finish(&mut df)?;
    Ok(buf)
}

/// Whether a spreadsheet would treat this text as a formula (or a control sequence).
pub fn looks_like_formula(s: &str) -> bool {
    matches!(
        s.as_bytes().first(),
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r')
    )
}

/// Prefixes risky text cells with `'` (OWASP's CSV-injection advice); other cells are untouched.
fn neutralize_formulas(df: &DataFrame) -> Result<DataFrame> {
    let mut out = df.clone();
    for name in df.get_column_names_owned() {
        let column = df.column(&name)?;
        if column.dtype() != &DataType::String {
            continue;
        }
        let ca = column.str()?;
        if !ca.iter().flatten().any(looks_like_formula) {
            continue;
        }
        let fixed = ca.apply_into_string_amortized(|s: &str, buf: &mut String| {
            if looks_like_formula(s) {
                buf.push('\'');
            }
            buf.push_str(s);
        });
        out.replace(&name, fixed.into_series().into_column())?;
    }
    Ok(out)
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

    fn cfg() -> CsvConfig {
        CsvConfig {
            bom: true,
            neutralize_formulas: true,
        }
    }

    #[test]
    fn formula_cells_are_neutralised_in_csv_and_other_text_is_kept() {
        let df = df!("title" => ["=HYPERLINK(\"x\")", "周会", "-1", "@me", "a=b"]).unwrap();
        let csv = String::from_utf8(csv_bytes(&df, cfg()).unwrap()).unwrap();
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
                "a=b"
            ]
        );
    }

    #[test]
    fn the_bom_can_be_turned_off() {
        let df = df!("a" => ["x"]).unwrap();
        let cfg = CsvConfig {
            bom: false,
            neutralize_formulas: false,
        };
        assert_eq!(csv_bytes(&df, cfg).unwrap(), b"a\nx\n");
    }

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
