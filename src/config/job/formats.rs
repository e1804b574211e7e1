//! `[output]` as written, and what it says about the files themselves: the formats (`Format`:
//! the partitioned csv and parquet, the per-window workbook and report), their language and the
//! CSV options. Where the outputs go is [`crate::config::output`]; the identity switch is
//! [`crate::config::directory`].

use crate::config::output::S3Section;
use anyhow::{Result, bail};
use serde::Deserialize;
use std::path::PathBuf;

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct OutputSection {
    /// Output directory, or `s3://BUCKET/PREFIX` for S3-compatible object storage (then
    /// `[output.s3]` says how to reach it and `[store] path` is required). Default
    /// `out/<job name>`.
    pub dir: Option<PathBuf>,
    /// Formats to write: `csv` and `parquet` (the partitioned dataset), `xlsx` (a workbook per
    /// window, `workbooks/window=FROM_TO/attendance.xlsx`), `html` (a report per window,
    /// `reports/window=FROM_TO/report.html`). Default `["csv", "parquet"]`.
    pub formats: Option<Vec<String>>,
    /// Start CSV files with a UTF-8 byte-order mark so Excel shows Chinese. Default true.
    pub csv_bom: Option<bool>,
    /// Prefix text cells starting with = + - @ tab or CR with `'` in CSV. Default true.
    pub csv_neutralize_formulas: Option<bool>,
    /// Language of the workbook and the report (sheet names, headers, labels, notes):
    /// `"zh-CN"` (default) or `"en"`. CSV and Parquet keep their English column names.
    pub language: Option<String>,
    /// `"plain"` (default) or `"pseudonym"`: every userid, external id and name in the outputs
    /// replaced by a keyed HMAC-SHA256, so analysts can join and count without seeing who is who.
    pub identity: Option<String>,
    /// Environment variable holding the pseudonym key. Default `WECOM_PSEUDONYM_KEY`.
    pub pseudonym_key_env: Option<String>,
    /// A file holding the pseudonym key (first line); used when the variable is unset.
    pub pseudonym_key_file: Option<PathBuf>,
    /// `[output.s3]`: the endpoint, region and credentials of an `s3://` output.
    #[serde(default)]
    pub s3: S3Section,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Format {
    Csv,
    Parquet,
    /// One workbook per window, for HR.
    Xlsx,
    /// One self-contained report per window, for managers.
    Html,
}

impl Format {
    pub const ALL: [Format; 4] = [Format::Csv, Format::Parquet, Format::Xlsx, Format::Html];
    /// The formats of the partitioned dataset: one file in every partition folder.
    pub const PARTITIONED: [Format; 2] = [Format::Csv, Format::Parquet];

    /// Whether the format is a file in every partition (csv, parquet) rather than one file per
    /// window (xlsx, html).
    pub fn is_partitioned(self) -> bool {
        Format::PARTITIONED.contains(&self)
    }

    /// The file of this format: in a partition folder for csv and parquet, in the window's
    /// folder (`workbooks/window=FROM_TO/`, `reports/window=FROM_TO/`) for xlsx and html.
    pub fn file_name(self) -> &'static str {
        match self {
            Format::Csv => "part-0.csv",
            Format::Parquet => "part-0.parquet",
            Format::Xlsx => "attendance.xlsx",
            Format::Html => "report.html",
        }
    }

    pub fn parse(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "csv" => Ok(Format::Csv),
            "parquet" => Ok(Format::Parquet),
            "xlsx" => Ok(Format::Xlsx),
            "html" => Ok(Format::Html),
            other => bail!("unknown format '{other}': use csv, parquet, xlsx and/or html"),
        }
    }
}

/// The language of the workbook and the report (`[output] language`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Language {
    /// Simplified Chinese, the default: WeCom's users are mostly Chinese-speaking HR teams.
    #[default]
    ZhCn,
    En,
}

impl Language {
    /// Its spelling in the job file, also the page's `lang` attribute.
    pub fn tag(self) -> &'static str {
        match self {
            Language::ZhCn => "zh-CN",
            Language::En => "en",
        }
    }

    pub fn parse(s: &str) -> Result<Self> {
        match s.trim() {
            t if t.eq_ignore_ascii_case("zh-CN") || t.eq_ignore_ascii_case("zh") => {
                Ok(Language::ZhCn)
            }
            t if t.eq_ignore_ascii_case("en") => Ok(Language::En),
            other => bail!("output.language '{other}' is not supported: use \"zh-CN\" or \"en\""),
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct CsvConfig {
    pub bom: bool,
    pub neutralize_formulas: bool,
}

/// `[output] formats`, sorted, each once; csv and parquet when unset.
pub(super) fn formats(names: Option<Vec<String>>) -> Result<Vec<Format>> {
    let mut formats = match names {
        Some(v) => v
            .iter()
            .map(|s| Format::parse(s))
            .collect::<Result<Vec<_>>>()?,
        None => Format::PARTITIONED.to_vec(),
    };
    formats.sort();
    formats.dedup();
    if formats.is_empty() {
        bail!("no output format: use csv, parquet, xlsx and/or html");
    }
    Ok(formats)
}

#[cfg(test)]
mod tests {
    use super::super::tests::parse;
    use super::*;

    #[test]
    fn the_workbook_and_the_report_are_formats_of_their_own_window() {
        let j = parse("[output]\nformats = ['html', 'XLSX', 'csv']\nlanguage = 'en'\n").unwrap();
        assert_eq!(j.formats, [Format::Csv, Format::Xlsx, Format::Html]);
        assert_eq!(j.language, Language::En);
        let partitioned: Vec<_> = j.formats.iter().filter(|f| f.is_partitioned()).collect();
        assert_eq!(partitioned, [&Format::Csv]);
    }
}
