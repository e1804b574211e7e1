//! `check`: validates the job, reads the ids file, obtains a token when the job reads the API,
//! and prints the plan. Writes nothing.

use super::{Outcome, setup};
use crate::config::ids::read_ids_file;
use crate::config::job::{Job, Source as SourceCfg};
use crate::config::window::Window;
use anyhow::{Context, Result, bail};
use std::io::Write;
use std::path::Path;

/// `println!` for the lines of `check`, minus the panic on a closed stdout (`| head`): the
/// checks still run and still decide the exit code.
macro_rules! say {
    ($($arg:tt)*) => {{
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

pub async fn check(job: &Job, window: Window, job_file: &Path) -> Result<Outcome> {
    say!("job:          {} ({})", job.name, job_file.display());
    say!("time zone:    {}", job.tz.name());
    say!("window:       {window}");
    match &job.source {
        SourceCfg::Dir(d) => {
            if !d.is_dir() {
                bail!("source folder {} does not exist", d.display());
            }
            say!("source:       folder {} (no network)", d.display());
        }
        SourceCfg::Api => say!("source:       WeCom API at {}", job.api.base_url),
    }
    match &job.ids_file {
        Some(p) => {
            let l = read_ids_file(p)?;
            say!(
                "ids file:     {} ({} ids, {} duplicates, {} lines skipped)",
                p.display(),
                l.ids.len(),
                l.duplicates,
                l.problems.len()
            );
            for p in &l.problems {
                say!("  skipped {p}");
            }
        }
        None => say!("ids file:     none"),
    }
    if !job.organizers.is_empty() {
        say!(
            "organizers:   {} (discovered with get_user_meetingid for the window)",
            job.organizers.len()
        );
    }
    let f = &job.fetch;
    say!(
        "fetch:        {} calls/s (burst {}), {} in flight, {} attempts, refetch {}",
        f.rate,
        f.burst,
        f.concurrency,
        f.max_attempts,
        job.refetch
    );
    say!(
        "metrics:      grace period {} s, users count statuses {:?}",
        job.metrics.grace_period_s,
        job.metrics.user_statuses
    );
    say!("store:        {}", job.store_path.display());
    say!(
        "output:       {} ({})",
        job.out_dir.display(),
        job.formats
            .iter()
            .map(|f| format!("{f:?}").to_lowercase())
            .collect::<Vec<_>>()
            .join(", ")
    );
    if let Some(client) = setup::api_client(job)? {
        client
            .check_credentials()
            .await
            .context("credentials check")?;
        say!(
            "credentials:  ok (token obtained; corpid from {}, secret from {})",
            job.api.corpid_env,
            if std::env::var(&job.api.secret_env).is_ok_and(|s| !s.trim().is_empty()) {
                job.api.secret_env.clone()
            } else {
                "api.secret_file".into()
            }
        );
    }
    Ok(Outcome::Clean)
}
