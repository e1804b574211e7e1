//! From what the user typed to checked objects: the job (file + flags + environment), the
//! window, the credentials and the API client. Nothing here makes a request.

use crate::config::cli::{JobArgs, OutputArgs, SourceArgs, WindowArgs};
use crate::config::directory::Identity;
use crate::config::job::{BASE_URL_ENV, Job, Overrides, Source as SourceCfg};
use crate::config::server_text;
use crate::config::window::{self, Window};
use crate::fetch::source::Source;
use crate::wecom::client::Client;
use crate::wecom::token::{Secret, TokenCache};
use anyhow::{Context, Result, bail};
use std::sync::Arc;

/// Tasks in flight when reading a directory source (no network, no pacing).
const DIR_IN_FLIGHT: usize = 64;

/// The job as its file says, with no source or output flags (`ids`, `check`, `directory`).
pub fn job_as_written(job: &JobArgs, w: &WindowArgs) -> Result<(Job, Window)> {
    job_and_window(job, w, &SourceArgs::default(), &OutputArgs::default())
}

/// The validated job and the window the command covers.
pub fn job_and_window(
    job: &JobArgs,
    w: &WindowArgs,
    src: &SourceArgs,
    out: &OutputArgs,
) -> Result<(Job, Window)> {
    let ov = Overrides {
        ids: src.ids.clone(),
        source_dir: src.source_dir.clone(),
        rate: src.rate,
        concurrency: src.concurrency,
        refetch: src.refetch,
        out: out.out.clone(),
        store: job.store.clone(),
        formats: out.format.clone(),
        base_url: std::env::var(BASE_URL_ENV).ok().filter(|s| !s.is_empty()),
    };
    let job = Job::load(&job.job, &ov)?;
    // In pseudonym mode, no errmsg (which may echo a userid) reaches a message.
    server_text::withhold(matches!(job.identity, Identity::Pseudonym(_)));
    check_pseudonym_key(&job)?;
    let window = window::resolve(
        w.date.as_deref(),
        w.from.as_deref(),
        w.to.as_deref(),
        &job.default_window,
        job.tz,
        chrono::Utc::now(),
    )?;
    Ok((job, window))
}

/// With `[output] identity = "pseudonym"`, the key must be there (and long enough) before the
/// first request: a run that fetched for an hour must not fail at summarize time for want of
/// it. The key is read and dropped here; the tables read it again. It never appears in the
/// error.
pub fn check_pseudonym_key(job: &Job) -> Result<()> {
    if let Identity::Pseudonym(source) = &job.identity {
        source
            .read()
            .context("the job asks for pseudonyms ([output] identity = \"pseudonym\")")?;
    }
    Ok(())
}

/// Reads the credentials named by the job: corpid from its variable, the secret from its
/// variable or the secret file. Neither value is ever printed.
pub fn credentials(job: &Job) -> Result<(String, Secret)> {
    let api = &job.api;
    let corpid = std::env::var(&api.corpid_env)
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .with_context(|| {
            format!(
                "no corpid: set the environment variable {} (the job reads the API, source.kind = \"api\")",
                api.corpid_env
            )
        })?;
    let from_env = std::env::var(&api.secret_env)
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty());
    let secret = match (from_env, &api.secret_file) {
        (Some(s), _) => s,
        (None, Some(path)) => std::fs::read_to_string(path)
            .with_context(|| format!("cannot read api.secret_file {}", path.display()))?
            .lines()
            .next()
            .unwrap_or("")
            .trim()
            .to_string(),
        (None, None) => bail!(
            "no secret: set the environment variable {} or api.secret_file in the job",
            api.secret_env
        ),
    };
    if secret.is_empty() {
        bail!(
            "the secret is empty: check {} or api.secret_file",
            api.secret_env
        );
    }
    Ok((corpid, Secret::new(secret)))
}

/// The API client, when the job reads the API.
pub fn api_client(job: &Job) -> Result<Option<Arc<Client>>> {
    if job.source != SourceCfg::Api {
        return Ok(None);
    }
    let (corpid, secret) = credentials(job)?;
    let client = Client::new(&job.api, &job.fetch, TokenCache::new(corpid, secret))?;
    Ok(Some(Arc::new(client)))
}

/// Where the job's bodies come from, and how many may be in flight at once.
pub fn source(job: &Job, client: Option<&Arc<Client>>) -> (Source, usize) {
    match (&job.source, client) {
        (SourceCfg::Dir(d), _) => (
            Source::Dir {
                dir: d.clone(),
                max_bytes: job.fetch.max_body_bytes,
            },
            DIR_IN_FLIGHT,
        ),
        (SourceCfg::Api, Some(c)) => (Source::Api(c.clone()), job.fetch.concurrency * 2),
        (SourceCfg::Api, None) => unreachable!("api_client returns a client for the API source"),
    }
}
