//! The commands, one file each, wiring the stages: `run` = ids → fetch → summarize → report;
//! `fetch` stops after the store; `summarize` reads only the store; `report` writes only the
//! HTML report from the store; `ids` only discovers;
//! `check` validates and prints the plan. [`setup`] turns what the user typed into a checked job,
//! a window and an API client; [`session`] holds what every command that touches the store
//! shares: its lock, its run report, and the closing summary. Depends on every stage.

mod check;
mod directory;
mod dry_run;
mod fetch;
mod ids;
mod people;
mod report;
mod run;
mod session;
mod setup;
mod summarize;

/// What the tables are told about people, as `summarize` loads it (for `phase-costs`).
pub use people::people_for;

use crate::config::cli::{Cli, Command, LogFormat, OutputArgs, SourceArgs, WindowArgs};
use crate::fetch::lock::LockHeld;
use anyhow::Result;

/// How a command that did not fail outright ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Everything requested was done (exit 0).
    Clean,
    /// Finished, but some meetings failed or input lines were skipped (exit 2).
    SomeFailed,
}

/// All meetings done.
pub const EXIT_OK: u8 = 0;
/// Fatal: bad config, credentials, output not writable.
pub const EXIT_FATAL: u8 = 1;
/// Finished, but some meetings failed (listed in the run report).
pub const EXIT_SOME_FAILED: u8 = 2;
/// Another run holds the lock (EX_TEMPFAIL).
pub const EXIT_LOCKED: u8 = 75;

impl Outcome {
    pub fn exit_code(self) -> u8 {
        match self {
            Outcome::Clean => EXIT_OK,
            Outcome::SomeFailed => EXIT_SOME_FAILED,
        }
    }
}

/// The exit code of a command's result: the one table of exit codes.
pub fn exit_code(result: &Result<Outcome>) -> u8 {
    match result {
        Ok(outcome) => outcome.exit_code(),
        Err(e) if e.downcast_ref::<LockHeld>().is_some() => EXIT_LOCKED,
        Err(_) => EXIT_FATAL,
    }
}

/// Runs one command to its outcome; `main` maps it (or the error) to the exit code. With
/// `--metrics-file`, the file is written at the end whatever happened.
pub async fn execute(cli: Cli) -> Result<Outcome> {
    session::set_json_logs(cli.log_format == LogFormat::Json);
    let mut metrics_file = cli.metrics_file.clone();
    if plans_only(&cli.command)
        && let Some(path) = metrics_file.take()
    {
        // A plan is not a run: moving the last success (or dropping the last run's gauges)
        // would silence the "no success in 26 hours" alert.
        tracing::info!(
            "a dry run or check fetches and writes nothing: the metrics file {} is left as it was",
            path.display()
        );
    }
    session::set_metrics_file(metrics_file);
    let started = std::time::Instant::now();
    let (command, job_file) = cli.command.name_and_job();
    let (command, job_file) = (command.to_string(), job_file.to_path_buf());
    let result = dispatch(cli).await;
    if let Some(path) = session::unwritten_metrics_file() {
        // Stopped before (or outside) a session: the job's `name`, as far as its file says.
        let job = crate::config::job::Job::name_as_written(&job_file);
        let metrics = crate::output::metrics::RunMetrics {
            job: &job,
            command: &command,
            exit_code: exit_code(&result),
            duration_s: started.elapsed().as_secs_f64(),
            finished_at: session::now_s(),
            report: None,
        };
        if let Err(e) = crate::output::metrics::write(&path, &metrics) {
            tracing::warn!("cannot write the metrics file: {e:#}");
        }
    }
    result
}

/// A command that only plans (`--dry-run`, `check`): it fetches and writes nothing, so it
/// leaves the metrics file as it was.
fn plans_only(command: &Command) -> bool {
    match command {
        Command::Run(a) => a.source.dry_run,
        Command::Fetch(a) => a.source.dry_run,
        Command::Check(_) => true,
        _ => false,
    }
}

async fn dispatch(cli: Cli) -> Result<Outcome> {
    match cli.command {
        Command::Run(a) => {
            let (job, window) = setup::job_and_window(&a.job, &a.window, &a.source, &a.output)?;
            if a.source.dry_run {
                return dry_run::dry_run(&job, window, "run").await;
            }
            run::run(&job, window).await
        }
        Command::Fetch(a) => {
            let out = OutputArgs {
                out: a.out.clone(),
                format: None,
            };
            let (job, window) = setup::job_and_window(&a.job, &a.window, &a.source, &out)?;
            if a.source.dry_run {
                return dry_run::dry_run(&job, window, "fetch").await;
            }
            fetch::fetch(&job, window).await
        }
        Command::Summarize(a) => {
            let (job, window) =
                setup::job_and_window(&a.job, &a.window, &SourceArgs::default(), &a.output)?;
            summarize::summarize(&job, window)
        }
        Command::Report(a) => {
            let out = OutputArgs {
                out: a.out.clone(),
                format: Some(vec![report::FORMAT.into()]),
            };
            let (job, window) =
                setup::job_and_window(&a.job, &a.window, &SourceArgs::default(), &out)?;
            report::report(&job, window)
        }
        Command::Ids(a) => {
            let (job, window) = setup::job_as_written(&a.job, &a.window)?;
            ids::ids(&job, window).await
        }
        Command::Check(a) => {
            let (job, window) = setup::job_as_written(&a.job, &a.window)?;
            check::check(&job, window, &a.job.job).await
        }
        Command::Directory(a) => {
            let (job, _) = setup::job_as_written(&a.job, &WindowArgs::default())?;
            directory::directory(&job).await
        }
    }
}
