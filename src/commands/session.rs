//! What every command that touches the store shares: the store's lock, held from start to
//! finish; the run report, filled stage by stage; and the end — the report written to
//! `OUT/_runs/`, the summary on stderr, the outcome.

use super::Outcome;
use crate::config::job::Job;
use crate::fetch::lock::{self, RunLock};
use crate::output::metrics::RunMetrics;
use crate::output::place::{OutputLock, Place};
use crate::output::report::RunReport;
use crate::wecom::client::StatsSnapshot;
use anyhow::Result;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// Whether logs are JSON lines: then the closing summary is a log event too, so stderr stays
/// machine-readable.
static JSON_LOGS: AtomicBool = AtomicBool::new(false);

pub fn set_json_logs(on: bool) {
    JSON_LOGS.store(on, Ordering::Relaxed);
}

/// `--metrics-file`, and whether a session has written it for this command.
static METRICS: Mutex<(Option<PathBuf>, bool)> = Mutex::new((None, false));

pub fn set_metrics_file(path: Option<PathBuf>) {
    if let Ok(mut m) = METRICS.lock() {
        *m = (path, false);
    }
}

/// The metrics file when no session has written it yet (the command stopped before or
/// outside one).
pub fn unwritten_metrics_file() -> Option<PathBuf> {
    METRICS
        .lock()
        .ok()
        .and_then(|m| if m.1 { None } else { m.0.clone() })
}

/// Writes the metrics file (if asked for) with what the session knows.
fn write_metrics(report: &RunReport, job: &str, exit_code: u8, started: Instant) {
    let Ok(mut m) = METRICS.lock() else { return };
    let Some(path) = m.0.clone() else { return };
    m.1 = true;
    let metrics = RunMetrics {
        job,
        command: &report.command,
        exit_code,
        duration_s: started.elapsed().as_secs_f64(),
        finished_at: now_s(),
        report: Some(report),
    };
    // A metrics file that cannot be written must not turn a good run into a failed one.
    if let Err(e) = crate::output::metrics::write(&path, &metrics) {
        tracing::warn!("cannot write the metrics file: {e:#}");
    }
}

/// Unix seconds now, with milliseconds.
pub fn now_s() -> f64 {
    chrono::Utc::now().timestamp_millis() as f64 / 1000.0
}

/// One command's hold on the store, the output folder and its report.
pub struct Session<'a> {
    pub job: &'a Job,
    pub report: RunReport,
    pub started: Instant,
    /// Where the outputs go (a folder or a bucket).
    pub place: Box<dyn Place>,
    _store_lock: RunLock,
    _output_lock: OutputLock,
}

impl<'a> Session<'a> {
    /// Takes the store's lock and the output folder's (or fails with [`lock::LockHeld`]) and
    /// opens the report.
    pub fn start(command: &str, job: &'a Job) -> Result<Self> {
        let started = Instant::now();
        let holder = format!("{command} --job {}", job.name);
        let store_lock = lock::acquire(&job.store_path, &holder)?;
        let report = RunReport::new(command, &job.name);
        let place = crate::output::open(job)?;
        let output_lock = place.lock(&format!("{holder} (run {})", report.run_id))?;
        Ok(Session {
            job,
            report,
            started,
            place,
            _store_lock: store_lock,
            _output_lock: output_lock,
        })
    }

    /// Passes `r` through; an error is recorded as the run's fatal error and the report is
    /// written before it is returned, so a stopped run still leaves its report.
    pub fn stop_on_error<T>(&mut self, r: Result<T>) -> Result<T> {
        if let Err(e) = &r {
            self.report.fatal = Some(format!("{e:#}"));
            self.write_report()?;
            write_metrics(
                &self.report,
                &self.job.name,
                super::EXIT_FATAL,
                self.started,
            );
        }
        r
    }

    /// Copies the API client's counters into the report.
    pub fn add_client_stats(&mut self, s: &StatsSnapshot) {
        let c = &mut self.report.counts;
        c.retried = s.retries;
        c.throttled = s.throttled;
        c.token_refreshes = s.token_refreshes;
        c.gettoken_calls = s.gettoken_calls;
        c.api_calls = s.calls + s.gettoken_calls;
        self.report.api_answers = s.answers.clone();
    }

    /// Writes the report, prints the summary and tells whether anything failed.
    pub fn finish(mut self) -> Result<Outcome> {
        self.write_report()?;
        let outcome = if self.report.has_failures() {
            Outcome::SomeFailed
        } else {
            Outcome::Clean
        };
        write_metrics(
            &self.report,
            &self.job.name,
            outcome.exit_code(),
            self.started,
        );
        Ok(outcome)
    }

    fn write_report(&mut self) -> Result<()> {
        let report = &mut self.report;
        report.timings.total_ms = self.started.elapsed().as_millis();
        report.counts.failed = report.failures.len();
        report.counts.given_up = report.given_up.len();
        let path = report.write(&*self.place)?;
        if JSON_LOGS.load(Ordering::Relaxed) {
            tracing::info!(report = %path.display(), summary = %report.summary(), "run finished");
        } else {
            // The report is on disk: a closed stderr must not turn the outcome into a panic.
            let _ = writeln!(
                std::io::stderr(),
                "{}\nrun report: {}",
                report.summary(),
                path.display()
            );
        }
        Ok(())
    }
}
