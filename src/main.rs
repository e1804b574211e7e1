//! `wecom-attendance`: parse the command line, run, print the error chain, map the outcome to
//! the exit code table (README, Exit codes).

use clap::Parser;
use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use tracing_subscriber::EnvFilter;
use wecom_attendance::commands;
use wecom_attendance::config::cli::{Cli, LogFormat};

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.log_format, cli.quiet);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            report_error(format_args!("cannot start the async runtime: {e}"));
            return ExitCode::from(commands::EXIT_FATAL);
        }
    };
    let result = runtime.block_on(commands::execute(cli));
    let code = commands::exit_code(&result);
    if let Err(e) = &result {
        report_error(format_args!("{e:#}"));
    }
    ExitCode::from(code)
}

/// Prints the error on stderr; a closed stderr must not turn the exit code into a panic's.
fn report_error(e: std::fmt::Arguments) {
    let _ = writeln!(std::io::stderr(), "Error: {e}");
}

/// Logs go to stderr. Writing them never fails the run: with a closed stderr (a crashed log
/// collector) the events are dropped instead of panicking the thread that logged.
fn init_logging(format: LogFormat, quiet: bool) {
    let default = if quiet { "warn" } else { "info" };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .log_internal_errors(false);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}
