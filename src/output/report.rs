//! The run report: `OUT/_runs/<run-id>.json` with the window, counts, failures, data-quality
//! counters and timings of one run, and the one-paragraph summary printed on stderr at the end.

use crate::config::ids::{InputProblem, printable};
use crate::domain::series::SeriesInWindow;
use crate::domain::{EndpointAnswers, GivenUp, MeetingFailure};
use crate::output::fanout::FileFailure;
use crate::output::partitions::Written;
use crate::output::place::Place;
use crate::transform::flatten::Quality;
use anyhow::Result;
use serde::Serialize;
use std::path::PathBuf;

#[derive(Debug, Default, Serialize)]
pub struct Counts {
    /// Distinct meeting ids this run asked for.
    pub requested: usize,
    /// Bodies fetched this run.
    pub fetched: usize,
    /// Meetings not fetched because the store holds them in a final status.
    pub reused_from_store: usize,
    /// Meetings with no usable body (see `failures`).
    pub failed: usize,
    /// Requests repeated after a busy or throttled answer.
    pub retried: u64,
    /// Throttle answers (45009/45033) received.
    pub throttled: u64,
    /// Token refreshes forced by 40014/42001.
    pub token_refreshes: u64,
    /// gettoken calls made.
    pub gettoken_calls: u64,
    /// API calls made (all endpoints, retries included).
    pub api_calls: u64,
    /// Duplicate ids dropped from the inputs.
    pub duplicate_ids: usize,
    /// Input lines skipped (see `input_problems`).
    pub skipped_input_lines: usize,
    /// Meetings in the window's tables.
    pub meetings_in_window: usize,
    /// Requested meetings whose start time is 0 or missing: they belong to no date partition.
    pub undated: usize,
    /// Stored meetings before the window, not final when last fetched, fetched again.
    pub lookback: usize,
    /// Dates before the window rewritten because a lookback meeting changed.
    pub lookback_changed_dates: usize,
    /// Meetings given up (see `given_up`): not fetched, not counted as failed.
    pub given_up: usize,
    /// Heads of recurring meetings not requested, fetched again because the series is not
    /// over (so that its new occurrences are recorded).
    pub series_heads: usize,
    /// Of `fetched`, occurrences of recurring meetings (get_info with `sub_meetingid`).
    pub occurrences_fetched: usize,
    /// Of `reused_from_store`, occurrences of recurring meetings stored ended.
    pub occurrences_reused: usize,
    /// Meetings (and occurrences) left without an outcome because a fatal error stopped the
    /// run: never asked, in flight at that moment, or the one whose answer stopped it. What was
    /// fetched before is stored (`fetched`); the next run fetches these.
    pub not_tried: usize,
}

#[derive(Debug, Default, Serialize)]
pub struct Timings {
    pub fetch_ms: u128,
    /// Store → tables → files (building and writing overlap, so they share one figure).
    pub summarize_ms: u128,
    pub total_ms: u128,
}

#[derive(Debug, Serialize)]
pub struct RunReport {
    pub run_id: String,
    pub command: String,
    pub job: String,
    pub started_at: String,
    pub finished_at: String,
    /// `{"from": "YYYY-MM-DD", "to": "YYYY-MM-DD"}`, or null when nothing was in range.
    pub window: Option<WindowReport>,
    pub counts: Counts,
    pub rows: Option<Written>,
    pub quality: Quality,
    pub failures: Vec<MeetingFailure>,
    /// Meetings of the window given up after repeated permanent refusals: listed, never
    /// counted in the exit code; `--refetch` tries them again.
    pub given_up: Vec<GivenUp>,
    /// Ids of requested meetings with no start time (not in any date partition).
    pub undated_meetingids: Vec<String>,
    pub input_problems: Vec<InputProblem>,
    pub timings: Timings,
    /// API answers by endpoint and errcode (for the metrics file).
    pub api_answers: Vec<EndpointAnswers>,
    /// The error that stopped the run, if one did.
    pub fatal: Option<String>,
    /// The directory stage (names, departments, external ids), when the job enables it.
    pub directory: Option<crate::output::directory_report::DirectoryReport>,
    /// Occurrences of recurring meetings their rule expects in the window that no answer of
    /// the API ever listed (absent when there are none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub occurrences_unlisted: Vec<UnlistedOccurrence>,
    /// True when the window's tables were left untouched: the store holds none of its
    /// meetings and some failed, so writing would have replaced good partitions with nothing.
    pub tables_kept: bool,
    /// The window's workbook or report when it could not be written, with the reason: the
    /// tables and this report were written all the same, and the run exits 2.
    pub files_failed: Vec<FileFailure>,
}

/// An occurrence a series' rule expects that the API never listed.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct UnlistedOccurrence {
    pub meetingid: String,
    pub series_title: Option<String>,
    /// The expected start, RFC 3339 in the job's zone.
    pub start: String,
}

impl UnlistedOccurrence {
    /// The expected but unlisted occurrences of a window's series, in series and start order.
    pub fn of(series: &[SeriesInWindow], tz: chrono_tz::Tz) -> Vec<UnlistedOccurrence> {
        series
            .iter()
            .flat_map(|s| {
                s.expected_unlisted.iter().map(|&t| UnlistedOccurrence {
                    meetingid: s.meetingid.clone(),
                    series_title: s.series_title.clone(),
                    start: chrono::DateTime::from_timestamp(t, 0)
                        .map(|d| d.with_timezone(&tz).to_rfc3339())
                        .unwrap_or_default(),
                })
            })
            .collect()
    }
}

#[derive(Debug, Serialize)]
pub struct WindowReport {
    pub from: String,
    pub to: String,
}

impl RunReport {
    pub fn new(command: &str, job: &str) -> Self {
        let now = chrono::Utc::now();
        RunReport {
            run_id: format!("{}-{}", now.format("%Y%m%dT%H%M%SZ"), std::process::id()),
            command: command.to_string(),
            job: job.to_string(),
            started_at: now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            finished_at: String::new(),
            window: None,
            counts: Counts::default(),
            rows: None,
            quality: Quality::default(),
            failures: Vec::new(),
            given_up: Vec::new(),
            undated_meetingids: Vec::new(),
            input_problems: Vec::new(),
            timings: Timings::default(),
            api_answers: Vec::new(),
            fatal: None,
            directory: None,
            tables_kept: false,
            files_failed: Vec::new(),
            occurrences_unlisted: Vec::new(),
        }
    }

    /// Whether anything needs a person's attention (exit code 2).
    pub fn has_failures(&self) -> bool {
        !self.failures.is_empty()
            || !self.input_problems.is_empty()
            || !self.files_failed.is_empty()
            || self.directory.as_ref().is_some_and(|d| d.fails_run())
    }

    /// Writes `OUT/_runs/<run-id>.json`, whole; returns where it is.
    pub fn write(&mut self, place: &dyn Place) -> Result<PathBuf> {
        self.finished_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let key = format!("_runs/{}.json", self.run_id);
        let mut bytes = serde_json::to_vec_pretty(self)?;
        bytes.push(b'\n');
        place.put_bytes(&key, &bytes)?;
        Ok(place.location(&key))
    }

    /// The paragraph for stderr.
    pub fn summary(&self) -> String {
        let c = &self.counts;
        let window = self
            .window
            .as_ref()
            .map(|w| {
                if w.from == w.to {
                    w.from.clone()
                } else {
                    format!("{} to {}", w.from, w.to)
                }
            })
            .unwrap_or_else(|| "no dates".into());
        let mut s = format!(
            "{} of job '{}' for {window}: {} meetings requested, {} fetched, {} reused from the store, {} failed",
            self.command, self.job, c.requested, c.fetched, c.reused_from_store, c.failed
        );
        if c.not_tried > 0 {
            s.push_str(&format!(
                ", {} not tried (the run stopped first)",
                c.not_tried
            ));
        }
        if c.api_calls > 0 {
            s.push_str(&format!(
                "; {} API calls ({} retried, {} throttled, {} token refreshes)",
                c.api_calls, c.retried, c.throttled, c.token_refreshes
            ));
        }
        if let Some(r) = &self.rows {
            if r.partitions_written > 0 {
                s.push_str(&format!(
                    "; wrote {} attendance rows, {} meetings, {} users in {} partitions",
                    r.attendance_rows, r.meetings_rows, r.users_rows, r.partitions_written
                ));
            } else {
                // Only the workbook or the report was asked for: the tables stay as they were.
                s.push_str(&format!(
                    "; read {} attendance rows, {} meetings, {} users (no partition rewritten)",
                    r.attendance_rows, r.meetings_rows, r.users_rows
                ));
            }
            if r.partitions_kept > 0 {
                s.push_str(&format!(
                    "; kept {} old date partitions that got no rows, since meetings failed",
                    r.partitions_kept
                ));
            }
            // The workbook and the report, one file per window each.
            for f in r
                .files
                .iter()
                .filter(|f| f.extension().is_some_and(|e| e == "xlsx" || e == "html"))
            {
                s.push_str(&format!("; wrote {}", f.display()));
            }
        }
        if let Some(d) = &self.directory {
            s.push_str(&d.summary());
        }
        if self.quality.people_missing_from_directory > 0 {
            s.push_str(&format!(
                "; {} people of the window count in no department (not in the directory, or their department is not)",
                self.quality.people_missing_from_directory
            ));
        }
        if self.quality.department_cycles > 0 {
            s.push_str(&format!(
                "; {} parent cycles in the department tree, each broken at its smallest id (see the log)",
                self.quality.department_cycles
            ));
        }
        for f in &self.files_failed {
            s.push_str(&format!(
                "; NOT written: {} ({})",
                f.path.display(),
                f.reason
            ));
        }
        if self.quality.cells_cut > 0 {
            s.push_str(&format!(
                "; {} workbook cells cut to Excel's 32,767 characters",
                self.quality.cells_cut
            ));
        }
        if self.tables_kept {
            s.push_str("; the window's tables were left as they were (no meeting of it is stored)");
        }
        if self.quality.unknown_attend_status_rows > 0 {
            s.push_str(&format!(
                "; {} attendee rows had a status other than 1/2",
                self.quality.unknown_attend_status_rows
            ));
        }
        if c.occurrences_fetched + c.occurrences_reused + c.series_heads > 0 {
            s.push_str(&format!(
                "; recurring meetings: {} occurrences fetched, {} reused, {} series heads fetched again",
                c.occurrences_fetched, c.occurrences_reused, c.series_heads
            ));
        }
        if !self.occurrences_unlisted.is_empty() {
            s.push_str(&format!(
                "; {} occurrences that recurring meetings' rules expect were never listed by the API (see occurrences_unlisted in the run report)",
                self.occurrences_unlisted.len()
            ));
        }
        if c.undated > 0 {
            s.push_str(&format!(
                "; {} meetings have no start time and are in no date partition",
                c.undated
            ));
        }
        if !self.given_up.is_empty() {
            s.push_str(&format!(
                "; {} meetings given up after repeated permanent errors (not counted; --refetch tries them)",
                self.given_up.len()
            ));
        }
        if !self.input_problems.is_empty() {
            s.push_str(&format!(
                "; {} input lines skipped",
                self.input_problems.len()
            ));
        }
        s.push_str(&format!(" ({} ms).", self.timings.total_ms));
        for f in self.failures.iter().take(20) {
            let code = f
                .errcode
                .map(|c| format!(" errcode {c}"))
                .unwrap_or_default();
            s.push_str(&format!(
                "\n  failed: {}{code}: {}",
                printable(&f.subject()),
                printable(&f.reason)
            ));
        }
        if self.failures.len() > 20 {
            s.push_str(&format!(
                "\n  … and {} more (see the run report)",
                self.failures.len() - 20
            ));
        }
        for p in self.input_problems.iter().take(20) {
            s.push_str(&format!("\n  skipped: {p}"));
        }
        s
    }
}
