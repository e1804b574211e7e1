//! The commands, one file each, wiring the stages: `run` = ids → fetch → summarize → report;
//! `fetch` stops after the store; `summarize` reads only the store; `report` writes only the
//! HTML report from the store; `ids` only discovers;
//! `check` validates and prints the plan. [`setup`] turns what the user typed into a checked job,
//! a window and an API client; [`session`] holds what every command that touches the store
//! shares: its lock, its run report, and the closing summary. Depends on every stage.

mod check;
mod directory;
mod fetch;
mod ids;
mod people;
mod report;
mod run;
mod session;
mod setup;
mod summarize;

use crate::config::cli::{Cli, Command, LogFormat, OutputArgs, SourceArgs, WindowArgs};
use anyhow::Result;

/// How a command that did not fail outright ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Everything requested was done (exit 0).
    Clean,
    /// Finished, but some meetings failed or input lines were skipped (exit 2).
    SomeFailed,
}

/// Runs one command to its outcome; `main` maps it (or the error) to the exit code.
pub async fn execute(cli: Cli) -> Result<Outcome> {
    session::set_json_logs(cli.log_format == LogFormat::Json);
    match cli.command {
        Command::Run(a) => {
            let (job, window) = setup::job_and_window(&a.job, &a.window, &a.source, &a.output)?;
            run::run(&job, window).await
        }
        Command::Fetch(a) => {
            let out = OutputArgs {
                out: a.out.clone(),
                format: None,
            };
            let (job, window) = setup::job_and_window(&a.job, &a.window, &a.source, &out)?;
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
            let (job, window) = setup::job_and_window(
                &a.job,
                &a.window,
                &SourceArgs::default(),
                &OutputArgs::default(),
            )?;
            ids::ids(&job, window).await
        }
        Command::Check(a) => {
            let (job, window) = setup::job_and_window(
                &a.job,
                &a.window,
                &SourceArgs::default(),
                &OutputArgs::default(),
            )?;
            check::check(&job, window, &a.job.job).await
        }
        Command::Directory(a) => {
            let (job, _) = setup::job_and_window(
                &a.job,
                &WindowArgs::default(),
                &SourceArgs::default(),
                &OutputArgs::default(),
            )?;
            directory::directory(&job).await
        }
    }
}
