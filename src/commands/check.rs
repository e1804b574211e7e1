//! `check`: validates the job, reads the ids file, obtains a token when the job reads the API,
//! makes one directory call when `[directory] enabled = true` (or reads the snapshot's
//! departments with `source_dir`), and prints the plan. Writes nothing.

use super::{Outcome, people, setup};
use crate::config::directory::Refresh;
use crate::config::ids::{printable, read_ids_file};
use crate::config::job::{Job, Source as SourceCfg};
use crate::config::window::Window;
use crate::fetch::directory::{self, DirectorySource};
use crate::wecom::client::Client;
use anyhow::{Context, Result, bail};
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

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
        job.output.display(),
        job.formats
            .iter()
            .map(|f| format!("{f:?}").to_lowercase())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let client = setup::api_client(job)?;
    if let Some(client) = &client {
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
    if job.directory.enabled && !check_directory(job, client).await && job.directory.required {
        say!("directory:    [directory] required = true: the run would exit 2, and so does check");
        return Ok(Outcome::SomeFailed);
    }
    Ok(Outcome::Clean)
}

/// One directory call (`department/list`, or the snapshot's captured answer with
/// `source_dir`) and the scope it shows. A refusal is printed with its fix and does not stop
/// the other checks; returns whether the directory could be read.
async fn check_directory(job: &Job, client: Option<Arc<Client>>) -> bool {
    let cfg = &job.directory;
    let refresh = match cfg.refresh {
        Refresh::Daily => "daily",
        Refresh::Always => "always",
        Refresh::Never => "never",
    };
    say!(
        "directory:    enabled (refresh {refresh}, required {}, convert_external {})",
        cfg.required,
        cfg.convert_external
    );
    let (result, how) = match &cfg.source_dir {
        Some(dir) => (
            directory::read_departments(&DirectorySource::Dir(dir.clone())).await,
            format!("snapshot {} readable", dir.display()),
        ),
        None => {
            let client = match client.map_or_else(|| people::new_client(job), Ok) {
                Ok(c) => c,
                Err(e) => {
                    say!("directory:    not checked: {e:#}");
                    return false;
                }
            };
            (
                directory::read_departments(&DirectorySource::Api(&client)).await,
                "contacts API reachable".to_string(),
            )
        }
    };
    match result {
        Ok(list) => {
            let roots: Vec<String> = directory::roots(&list)
                .iter()
                .map(|d| printable(d.name.as_deref().unwrap_or("(no name)")).into_owned())
                .collect();
            let roots = match roots.len() {
                0 => "no root".to_string(),
                1 => format!("root {}", roots[0]),
                _ => format!("roots {}", roots.join(", ")),
            };
            say!(
                "directory:    {} departments visible, {roots}; {how}",
                list.department.len()
            );
            true
        }
        Err(e) => {
            let what = if cfg.required { "FAILED" } else { "warning" };
            say!("directory:    {what}: {}", printable(&e.to_string()));
            false
        }
    }
}
