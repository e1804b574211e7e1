//! The command line as the user typed it (clap derive). Nothing here is validated beyond its
//! syntax; [`crate::config::job::Job::build`] turns it and the job file into a checked `Job`.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "wecom-attendance",
    version,
    about = "Turns WeCom (企业微信) meeting data into attendance tables for HR",
    long_about = "Fetches meeting details from WeCom's get_info API (or a directory of captured \
                  answers), keeps them in a local store, and writes attendance, per-meeting and \
                  per-user tables as CSV and Parquet in a Hive-style layout.\n\n\
                  Secrets are read from the environment (WECOM_CORPID, WECOM_SECRET by default) \
                  or a secret file named in the job, never from flags. WECOM_BASE_URL overrides \
                  the job's API base URL."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Only log warnings and errors.
    #[arg(long, short, global = true)]
    pub quiet: bool,
    /// Write Prometheus metrics of the run to PATH at its end (atomically), for
    /// node_exporter's textfile collector.
    #[arg(long, global = true, value_name = "PATH")]
    pub metrics_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Fetch the window's meetings, then write the tables (fetch + summarize).
    Run(RunArgs),
    /// Fetch the window's meetings into the local store only.
    Fetch(FetchArgs),
    /// Write the tables from the local store only; makes no network call.
    Summarize(SummarizeArgs),
    /// Write the window's HTML report from the local store only; makes no network call and
    /// leaves the CSV/Parquet tables as they are. Prints the report's path.
    Report(ReportArgs),
    /// Discover meeting ids for the window via get_user_meetingid; print one a line.
    Ids(IdsArgs),
    /// Validate the job and the credentials, print the plan; writes nothing.
    Check(CheckArgs),
    /// Sync the WeCom contacts (departments and members) into the local store now, whatever
    /// `[directory] refresh` says; convert external ids when `convert_external` is on.
    Directory(DirectoryArgs),
}

impl Command {
    /// The command's name and its job file, for what is written when it stops early.
    pub fn name_and_job(&self) -> (&'static str, &std::path::Path) {
        match self {
            Command::Run(a) => ("run", &a.job.job),
            Command::Fetch(a) => ("fetch", &a.job.job),
            Command::Summarize(a) => ("summarize", &a.job.job),
            Command::Report(a) => ("report", &a.job.job),
            Command::Ids(a) => ("ids", &a.job.job),
            Command::Check(a) => ("check", &a.job.job),
            Command::Directory(a) => ("directory", &a.job.job),
        }
    }
}

/// Which local dates to cover (inclusive, in the job's time zone).
#[derive(Debug, Clone, Default, Args)]
pub struct WindowArgs {
    /// One local date (YYYY-MM-DD) or `yesterday` / `today`.
    #[arg(long, conflicts_with_all = ["from", "to"])]
    pub date: Option<String>,
    /// First local date of a range (YYYY-MM-DD).
    #[arg(long, requires = "to")]
    pub from: Option<String>,
    /// Last local date of a range (YYYY-MM-DD), inclusive.
    #[arg(long, requires = "from")]
    pub to: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct JobArgs {
    /// The job file (TOML), e.g. jobs/nightly.toml.
    #[arg(long)]
    pub job: PathBuf,
    /// The local store (SQLite file), overriding the job's store.path. `--out` does not move
    /// the store; this does.
    #[arg(long, value_name = "FILE")]
    pub store: Option<PathBuf>,
}

#[derive(Debug, Clone, Default, Args)]
pub struct SourceArgs {
    /// Meeting ids file: one id a line (`#` comments), or a CSV with a `meetingid` column.
    #[arg(long)]
    pub ids: Option<PathBuf>,
    /// Read get_info answers from DIR/<meetingid>.json instead of the network.
    #[arg(long, value_name = "DIR")]
    pub source_dir: Option<PathBuf>,
    /// Calls per second (overrides the job's fetch.rate).
    #[arg(long)]
    pub rate: Option<f64>,
    /// Requests in flight at once (overrides the job's fetch.concurrency).
    #[arg(long)]
    pub concurrency: Option<usize>,
    /// Fetch again even meetings whose stored status is final (ended, cancelled, expired).
    #[arg(long)]
    pub refetch: bool,
    /// Print what the run would do (ids, meetings reused, calls planned, time, partitions) and
    /// stop: no get_info call, nothing written. Discovery calls are made and counted.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Clone, Default, Args)]
pub struct OutputArgs {
    /// Output directory (overrides the job's output.dir).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Comma-separated formats: csv, parquet (the partitioned tables), xlsx (a workbook per
    /// window), html (a report per window).
    #[arg(long, value_delimiter = ',')]
    pub format: Option<Vec<String>>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub job: JobArgs,
    #[command(flatten)]
    pub window: WindowArgs,
    #[command(flatten)]
    pub source: SourceArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct FetchArgs {
    #[command(flatten)]
    pub job: JobArgs,
    #[command(flatten)]
    pub window: WindowArgs,
    #[command(flatten)]
    pub source: SourceArgs,
    /// Directory for the run report (overrides the job's output.dir).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct SummarizeArgs {
    #[command(flatten)]
    pub job: JobArgs,
    #[command(flatten)]
    pub window: WindowArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    #[command(flatten)]
    pub job: JobArgs,
    #[command(flatten)]
    pub window: WindowArgs,
    /// Output directory (overrides the job's output.dir).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct IdsArgs {
    #[command(flatten)]
    pub job: JobArgs,
    #[command(flatten)]
    pub window: WindowArgs,
}

#[derive(Debug, Args)]
pub struct DirectoryArgs {
    #[command(flatten)]
    pub job: JobArgs,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub job: JobArgs,
    #[command(flatten)]
    pub window: WindowArgs,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn date_and_range_cannot_be_combined() {
        let r = Cli::try_parse_from([
            "wecom-attendance",
            "run",
            "--job",
            "j.toml",
            "--date",
            "2024-01-01",
            "--from",
            "2024-01-01",
            "--to",
            "2024-01-02",
        ]);
        assert!(r.is_err());
    }

    #[test]
    fn formats_are_comma_separated() {
        let cli = Cli::try_parse_from([
            "wecom-attendance",
            "run",
            "--job",
            "j.toml",
            "--format",
            "csv,parquet,xlsx,html",
        ])
        .unwrap();
        let Command::Run(r) = cli.command else {
            panic!("not run")
        };
        assert_eq!(r.output.format.unwrap(), ["csv", "parquet", "xlsx", "html"]);
    }
}
