//! Meeting ids files: one id a line, or a CSV with a `meetingid` column.
//!
//! Blank lines and `#` comments are ignored, whitespace is trimmed, duplicates are kept once (the
//! first occurrence decides the order). A line that cannot be a meeting id is reported with its
//! file and line number and skipped; the rest of the file is still used.

use anyhow::{Context, Result};
use serde::Serialize;
use std::collections::HashSet;
use std::path::Path;

/// Longest meeting id accepted; WeCom's are about 30 characters.
const MAX_ID_LEN: usize = 128;

/// A line of an input file that was skipped, and why.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct InputProblem {
    pub file: String,
    /// 1-based; 0 when the problem is not on a line of a file.
    pub line: usize,
    pub message: String,
}

impl std::fmt::Display for InputProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The message may quote the line: a terminal must not act on what a file contains.
        let message = printable(&self.message);
        match self.line {
            // Not from a line of a file (an organizer of the job whose listing failed).
            0 => write!(f, "{}: {message}", self.file),
            line => write!(f, "{}:{line}: {message}", self.file),
        }
    }
}

/// `text` with control characters (escape sequences, carriage returns, NULs …) written as
/// escapes (`\u{1b}`), for printing untrusted text on a terminal or in a log line.
pub fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return text.into();
    }
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect::<String>()
        .into()
}

#[derive(Debug, Default, Clone)]
pub struct IdList {
    pub ids: Vec<String>,
    pub duplicates: usize,
    pub problems: Vec<InputProblem>,
}

/// Whether `s` looks like a WeCom meeting id (letters, digits, `-`, `_`).
pub fn is_valid_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_ID_LEN
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Reads an ids file. A line that is not valid UTF-8 is skipped and reported with its line
/// number; the other lines are still read.
pub fn read_ids_file(path: &Path) -> Result<IdList> {
    let bytes =
        std::fs::read(path).with_context(|| format!("cannot read ids file {}", path.display()))?;
    let file = path.display().to_string();
    let (text, bad_lines) = match String::from_utf8(bytes) {
        Ok(text) => (text, Vec::new()),
        Err(e) => utf8_lines(e.as_bytes()),
    };
    let mut list = parse_ids(&text, &file);
    for line in bad_lines {
        list.problems.push(InputProblem {
            file: file.clone(),
            line,
            message: "the line is not valid UTF-8 text".into(),
        });
    }
    list.problems.sort_by_key(|p| p.line);
    Ok(list)
}

/// The lines of `bytes` with those that are not UTF-8 left empty (so line numbers hold), and
/// the 1-based numbers of those lines.
fn utf8_lines(bytes: &[u8]) -> (String, Vec<usize>) {
    let mut text = String::with_capacity(bytes.len());
    let mut bad = Vec::new();
    for (i, line) in bytes.split(|b| *b == b'\n').enumerate() {
        if i > 0 {
            text.push('\n');
        }
        match std::str::from_utf8(line) {
            Ok(l) => text.push_str(l),
            Err(_) => bad.push(i + 1),
        }
    }
    (text, bad)
}

pub fn parse_ids(text: &str, file: &str) -> IdList {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    // The first line with content, comments stripped: a comma in a comment is not a CSV.
    let first = text.lines().map(content).find(|l| !l.is_empty());
    match first {
        Some(header) if header.contains(',') || header.eq_ignore_ascii_case("meetingid") => {
            parse_csv(text, file)
        }
        _ => parse_lines(text, file),
    }
}

/// A line of a plain ids file without its `#` comment and surrounding whitespace.
fn content(line: &str) -> &str {
    line.split('#').next().unwrap_or("").trim()
}

fn parse_lines(text: &str, file: &str) -> IdList {
    let mut acc = Acc::new(file);
    for (i, raw) in text.lines().enumerate() {
        let line = content(raw);
        if !line.is_empty() {
            acc.push(line, i + 1);
        }
    }
    acc.list
}

fn parse_csv(text: &str, file: &str) -> IdList {
    let mut acc = Acc::new(file);
    let body: String = text
        .lines()
        .map(|l| {
            if l.trim_start().starts_with('#') {
                ""
            } else {
                l
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let mut rdr = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(true)
        .from_reader(body.as_bytes());
    let col = match rdr.headers() {
        Ok(h) => h.iter().position(|c| c.eq_ignore_ascii_case("meetingid")),
        Err(_) => None,
    };
    let Some(col) = col else {
        acc.problem(1, "CSV header has no `meetingid` column".into());
        return acc.list;
    };
    for rec in rdr.records() {
        match rec {
            Ok(r) => {
                let line = r.position().map(|p| p.line() as usize).unwrap_or(0);
                match r.get(col) {
                    Some("") => {}
                    Some(id) => acc.push(id, line),
                    None => acc.problem(line, "row has no `meetingid` cell".into()),
                }
            }
            Err(e) => {
                let line = e.position().map(|p| p.line() as usize).unwrap_or(0);
                acc.problem(line, format!("unreadable CSV row: {e}"));
            }
        }
    }
    acc.list
}

struct Acc<'a> {
    file: &'a str,
    seen: HashSet<String>,
    list: IdList,
}

impl<'a> Acc<'a> {
    fn new(file: &'a str) -> Self {
        Acc {
            file,
            seen: HashSet::new(),
            list: IdList::default(),
        }
    }

    fn push(&mut self, id: &str, line: usize) {
        if !is_valid_id(id) {
            let shown: String = id.chars().take(60).collect();
            self.problem(
                line,
                format!("'{shown}' is not a meeting id (letters, digits, '-' and '_' only)"),
            );
        } else if self.seen.insert(id.to_string()) {
            self.list.ids.push(id.to_string());
        } else {
            self.list.duplicates += 1;
        }
    }

    fn problem(&mut self, line: usize, message: String) {
        self.list.problems.push(InputProblem {
            file: self.file.to_string(),
            line,
            message,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_blanks_whitespace_and_duplicates_are_handled() {
        let l = parse_ids("# header\n\n  m1  \nm2 # trailing\nm1\n\tm3\n", "ids.txt");
        assert_eq!(l.ids, ["m1", "m2", "m3"]);
        assert_eq!(l.duplicates, 1);
        assert!(l.problems.is_empty());
    }

    #[test]
    fn a_comma_in_a_comment_does_not_make_the_file_a_csv() {
        let l = parse_ids("m1 # standup, daily\nm2\n", "ids.txt");
        assert_eq!(l.ids, ["m1", "m2"]);
        assert!(l.problems.is_empty());
    }

    #[test]
    fn a_malformed_line_is_reported_with_its_line_number_and_the_rest_is_kept() {
        let l = parse_ids("m1\nnot an id\nm2\n", "ids.txt");
        assert_eq!(l.ids, ["m1", "m2"]);
        assert_eq!(l.problems.len(), 1);
        assert_eq!(l.problems[0].line, 2);
        assert!(
            l.problems[0]
                .to_string()
                .starts_with("ids.txt:2: 'not an id'")
        );
    }

    #[test]
    fn a_line_that_is_not_utf8_is_skipped_with_its_number_and_the_rest_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("ids.txt");
        std::fs::write(&p, b"hyA\nhy\xff\xfeB\nhyC\n").unwrap();
        let l = read_ids_file(&p).unwrap();
        assert_eq!(l.ids, ["hyA", "hyC"]);
        assert_eq!(l.problems.len(), 1);
        assert_eq!(l.problems[0].line, 2);
        assert!(
            l.problems[0]
                .to_string()
                .contains(":2: the line is not valid UTF-8")
        );
    }

    #[test]
    fn untrusted_text_is_printed_with_control_characters_escaped() {
        let l = parse_ids("hy\u{1b}[2Jx\n", "f");
        let shown = l.problems[0].to_string();
        assert!(!shown.contains('\u{1b}'), "{shown}");
        assert!(shown.contains("\\u{1b}[2Jx"), "{shown}");
        assert_eq!(printable("plain 中文"), "plain 中文");
    }

    #[test]
    fn a_csv_with_a_meetingid_column_is_accepted() {
        let l = parse_ids(
            "\u{feff}title,meetingid\nweekly, m1\n\"a, b\",m2\nx,m1\n",
            "ids.csv",
        );
        assert_eq!(l.ids, ["m1", "m2"]);
        assert_eq!(l.duplicates, 1);
    }

    #[test]
    fn a_csv_without_a_meetingid_column_is_a_problem_not_a_crash() {
        let l = parse_ids("a,b\n1,2\n", "ids.csv");
        assert!(l.ids.is_empty());
        assert!(l.problems[0].message.contains("meetingid"));
    }
}
