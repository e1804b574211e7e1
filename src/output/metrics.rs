//! The cron metrics file: Prometheus text exposition format, written atomically at the end of
//! every run for node_exporter's textfile collector (`--metrics-file PATH`).
//!
//! `wecom_attendance_last_success_timestamp_seconds` moves only when a run finishes with exit 0
//! or 2; any other run carries the previous value over from the file it replaces, so an alert
//! on "no success in 26 hours" fires on a job that fails every night as well as on one that no
//! longer runs. Series are labelled with the job's `name`; a dry run or `check` does not write
//! the file at all (`commands::execute`).

use crate::output::place::write_bytes_atomic;
use crate::output::report::RunReport;
use anyhow::Result;
use std::fmt::Write as _;
use std::path::Path;

const LAST_SUCCESS: &str = "wecom_attendance_last_success_timestamp_seconds";

/// What one run contributes to the file.
pub struct RunMetrics<'a> {
    pub job: &'a str,
    pub command: &'a str,
    pub exit_code: u8,
    pub duration_s: f64,
    /// Unix seconds at the end of the run.
    pub finished_at: f64,
    /// The run's report, when the run got as far as opening one.
    pub report: Option<&'a RunReport>,
}

/// Renders the exposition text; `previous` is the file being replaced (for the carried-over
/// last success).
pub fn render(m: &RunMetrics, previous: Option<&str>) -> String {
    let job = escape(m.job);
    let success = matches!(m.exit_code, 0 | 2);
    let last_success = if success {
        Some(m.finished_at)
    } else {
        previous.and_then(last_success_in)
    };
    let mut out = String::new();
    let mut gauge = |name: &str, help: &str, samples: &[(String, f64)]| {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} gauge");
        for (labels, v) in samples {
            let _ = writeln!(out, "{name}{{job=\"{job}\"{labels}}} {v}");
        }
    };
    if let Some(t) = last_success {
        gauge(
            LAST_SUCCESS,
            "Unix time of the end of the last run that finished (exit 0 or 2).",
            &[(String::new(), t)],
        );
    }
    gauge(
        "wecom_attendance_last_run_timestamp_seconds",
        "Unix time of the end of the last run, whatever its outcome.",
        &[(String::new(), m.finished_at)],
    );
    gauge(
        "wecom_attendance_last_run_exit_code",
        "Exit code of the last run: 0 done, 2 some meetings failed, 1 fatal, 75 locked.",
        &[(
            format!(",command=\"{}\"", escape(m.command)),
            f64::from(m.exit_code),
        )],
    );
    gauge(
        "wecom_attendance_last_run_duration_seconds",
        "Wall time of the last run.",
        &[(String::new(), m.duration_s)],
    );
    let Some(r) = m.report else {
        return out;
    };
    let c = &r.counts;
    let meetings: Vec<(String, f64)> = [
        ("requested", c.requested),
        ("fetched", c.fetched),
        ("reused", c.reused_from_store),
        ("failed", c.failed),
        ("given_up", c.given_up),
        ("in_window", c.meetings_in_window),
    ]
    .iter()
    .map(|(state, n)| (format!(",state=\"{state}\""), *n as f64))
    .collect();
    gauge(
        "wecom_attendance_last_run_meetings",
        "Meetings of the last run by state.",
        &meetings,
    );
    let answers: Vec<(String, f64)> = r
        .api_answers
        .iter()
        .map(|a| {
            (
                format!(
                    ",endpoint=\"{}\",errcode=\"{}\"",
                    escape(&a.endpoint),
                    escape(&a.errcode)
                ),
                a.answers as f64,
            )
        })
        .chain(std::iter::once((
            ",endpoint=\"/cgi-bin/gettoken\",errcode=\"all\"".to_string(),
            c.gettoken_calls as f64,
        )))
        .collect();
    gauge(
        "wecom_attendance_last_run_api_answers",
        "API answers of the last run by endpoint and errcode (busy: no errcode, e.g. HTTP 5xx).",
        &answers,
    );
    gauge(
        "wecom_attendance_last_run_throttles",
        "Throttle answers (45009, 45033) in the last run.",
        &[(String::new(), c.throttled as f64)],
    );
    if let Some(rows) = &r.rows {
        let tables: Vec<(String, f64)> = [
            ("attendance", rows.attendance_rows),
            ("meetings", rows.meetings_rows),
            ("users", rows.users_rows),
        ]
        .iter()
        .map(|(t, n)| (format!(",table=\"{t}\""), *n as f64))
        .collect();
        gauge(
            "wecom_attendance_last_run_rows_written",
            "Rows written by the last run per table.",
            &tables,
        );
    }
    out
}

/// Writes the file atomically (temporary file + rename), carrying the last success over.
pub fn write(path: &Path, m: &RunMetrics) -> Result<()> {
    let previous = std::fs::read_to_string(path).ok();
    write_bytes_atomic(path, render(m, previous.as_deref()).as_bytes())
}

/// The last-success value of a previous file.
fn last_success_in(text: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(LAST_SUCCESS) && !l.starts_with('#'))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

/// A label value as the exposition format wants it.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(exit_code: u8, at: f64) -> RunMetrics<'static> {
        RunMetrics {
            job: "nightly",
            command: "run",
            exit_code,
            duration_s: 1.5,
            finished_at: at,
            report: None,
        }
    }

    #[test]
    fn the_last_success_moves_on_exit_0_or_2_and_is_carried_over_otherwise() {
        let first = render(&run(0, 100.0), None);
        assert!(
            first
                .contains("wecom_attendance_last_success_timestamp_seconds{job=\"nightly\"} 100\n")
        );
        let failed = render(&run(1, 200.0), Some(&first));
        assert!(
            failed
                .contains("wecom_attendance_last_success_timestamp_seconds{job=\"nightly\"} 100\n")
        );
        assert!(
            failed.contains("wecom_attendance_last_run_timestamp_seconds{job=\"nightly\"} 200\n")
        );
        assert!(failed.contains("exit_code{job=\"nightly\",command=\"run\"} 1\n"));
        let partial = render(&run(2, 300.0), Some(&failed));
        assert!(
            partial
                .contains("wecom_attendance_last_success_timestamp_seconds{job=\"nightly\"} 300\n")
        );
        let never = render(&run(75, 400.0), None);
        assert!(
            !never.contains("last_success"),
            "no success known: no sample"
        );
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
