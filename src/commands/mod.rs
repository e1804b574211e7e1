//! Wires the stages together for each command. Every command validates the job first, takes
//! the store's lock when it touches the store, and ends with a run report.
//!
//! run = fetch + summarize; fetch = ids → source → store; summarize = store → flatten →
//! summaries → partitioned outputs (no network); ids = discovery only; check = plan + token.

use crate::config::cli::{Cli, Command, JobArgs, OutputArgs, SourceArgs, WindowArgs};
use crate::config::ids::{IdList, InputProblem, read_ids_file};
use crate::config::job::{BASE_URL_ENV, Job, Overrides, Source as SourceCfg};
use crate::config::window::{self, DateRange, Window, local_date};
use crate::fetch::lock;
use crate::fetch::scheduler::{self, FetchOutcome};
use crate::fetch::source::Source;
use crate::fetch::store::Store;
use crate::output::partitions::Writer;
use crate::output::report::{RunReport, WindowReport};
use crate::transform::flatten;
use crate::transform::tables;
use crate::wecom::client::Client;
use crate::wecom::discover::discover;
use crate::wecom::token::{Secret, TokenCache};
use anyhow::{Context, Result, bail};
use std::io::Write;
use std::sync::Arc;
use std::time::Instant;

/// How a command that did not fail outright ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Everything requested was done (exit 0).
    Clean,
    /// Finished, but some meetings failed or input lines were skipped (exit 2).
    SomeFailed,
}

/// Tasks in flight when reading a directory source (no network, no pacing).
const DIR_IN_FLIGHT: usize = 64;

/// Whether logs are JSON lines: then the closing summary is a log event too, so stderr stays
/// machine-readable.
static JSON_LOGS: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

pub async fn execute(cli: Cli) -> Result<Outcome> {
    JSON_LOGS.store(
        cli.log_format == crate::config::cli::LogFormat::Json,
        std::sync::atomic::Ordering::Relaxed,
    );
    match cli.command {
        Command::Run(a) => {
            let job = load(&a.job, &a.source, &a.output)?;
            let window = resolve_window(&job, &a.window)?;
            fetch_and_summarize(&job, window, "run", true).await
        }
        Command::Fetch(a) => {
            let out = OutputArgs {
                out: a.out.clone(),
                format: None,
            };
            let job = load(&a.job, &a.source, &out)?;
            let window = resolve_window(&job, &a.window)?;
            fetch_and_summarize(&job, window, "fetch", false).await
        }
        Command::Summarize(a) => {
            let job = load(&a.job, &SourceArgs::default(), &a.output)?;
            let window = resolve_window(&job, &a.window)?;
            summarize_only(&job, window)
        }
        Command::Ids(a) => {
            let job = load(&a.job, &SourceArgs::default(), &OutputArgs::default())?;
            let window = resolve_window(&job, &a.window)?;
            let client = api_client(&job)?;
            let ids = resolve_ids(&job, window, client.as_deref()).await?;
            for p in &ids.problems {
                tracing::warn!("skipped {p}");
            }
            let mut stdout = std::io::stdout().lock();
            for id in &ids.ids {
                match writeln!(stdout, "{id}") {
                    // The reader has seen enough (`| head`): not an error.
                    Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => break,
                    r => r.context("writing ids to stdout")?,
                }
            }
            Ok(if ids.problems.is_empty() {
                Outcome::Clean
            } else {
                Outcome::SomeFailed
            })
        }
        Command::Check(a) => {
            let job = load(&a.job, &SourceArgs::default(), &OutputArgs::default())?;
            let window = resolve_window(&job, &a.window)?;
            check(&job, window, &a.job).await
        }
    }
}

fn load(job: &JobArgs, src: &SourceArgs, out: &OutputArgs) -> Result<Job> {
    let ov = Overrides {
        ids: src.ids.clone(),
        source_dir: src.source_dir.clone(),
        rate: src.rate,
        concurrency: src.concurrency,
        refetch: src.refetch,
        out: out.out.clone(),
        formats: out.format.clone(),
        base_url: std::env::var(BASE_URL_ENV).ok().filter(|s| !s.is_empty()),
    };
    Job::load(&job.job, &ov)
}

fn resolve_window(job: &Job, w: &WindowArgs) -> Result<Window> {
    window::resolve(
        w.date.as_deref(),
        w.from.as_deref(),
        w.to.as_deref(),
        &job.default_window,
        job.tz,
        chrono::Utc::now(),
    )
}

/// Reads the credentials named by the job: corpid from its variable, the secret from its
/// variable or the secret file. Neither value is ever printed.
fn credentials(job: &Job) -> Result<(String, Secret)> {
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
fn api_client(job: &Job) -> Result<Option<Arc<Client>>> {
    if job.source != SourceCfg::Api {
        return Ok(None);
    }
    let (corpid, secret) = credentials(job)?;
    let client = Client::new(&job.api, &job.fetch, TokenCache::new(corpid, secret))?;
    Ok(Some(Arc::new(client)))
}

/// The run's meeting ids: the ids file, plus discovery for the job's organizers, or (for a
/// directory source with neither) every body in the folder.
async fn resolve_ids(job: &Job, window: Window, client: Option<&Client>) -> Result<IdList> {
    let mut list = match &job.ids_file {
        Some(p) => read_ids_file(p)?,
        None => IdList::default(),
    };
    if !job.organizers.is_empty() {
        match (client, window) {
            (Some(c), Window::Dates(range)) => {
                let found = discover(c, &job.organizers, range, job.tz)
                    .await
                    .context("meeting discovery (get_user_meetingid)")?;
                tracing::info!(
                    organizers = job.organizers.len(),
                    found = found.ids.len(),
                    organizers_failed = found.failed.len(),
                    "discovered meetings"
                );
                // Reported like a skipped input line: the run finishes, exits 2 and says whose
                // meetings are missing.
                for (userid, why) in found.failed {
                    list.problems.push(InputProblem {
                        file: "ids.organizers".into(),
                        line: 0,
                        message: format!(
                            "organizer {userid}: listing their meetings failed ({why}); \
                             their meetings are missing from this run"
                        ),
                    });
                }
                let mut seen: std::collections::HashSet<String> =
                    list.ids.iter().cloned().collect();
                for id in found.ids {
                    if seen.insert(id.clone()) {
                        list.ids.push(id);
                    } else {
                        list.duplicates += 1;
                    }
                }
            }
            (Some(_), Window::All) => bail!(
                "discovering meetings of the job's organizers needs a window: add --date D or --from D --to D"
            ),
            (None, _) => {}
        }
    }
    if job.ids_file.is_none()
        && list.ids.is_empty()
        && let SourceCfg::Dir(dir) = &job.source
    {
        list.ids = Source::list_dir(dir)?;
    }
    let has_source = job.ids_file.is_some()
        || !job.organizers.is_empty()
        || matches!(job.source, SourceCfg::Dir(_));
    if !has_source {
        bail!("no meeting ids: give --ids FILE, or set ids.file or ids.organizers in the job");
    }
    Ok(list)
}

async fn fetch_and_summarize(
    job: &Job,
    window: Window,
    command: &str,
    summarize: bool,
) -> Result<Outcome> {
    let t0 = Instant::now();
    let _lock = lock::acquire(&job.store_path, &format!("{command} --job {}", job.name))?;
    let mut report = RunReport::new(command, &job.name);
    let client = api_client(job)?;
    let (source, in_flight) = match (&job.source, &client) {
        (SourceCfg::Dir(d), _) => (Source::Dir(d.clone()), DIR_IN_FLIGHT),
        (SourceCfg::Api, Some(c)) => (Source::Api(c.clone()), job.fetch.concurrency * 2),
        (SourceCfg::Api, None) => unreachable!("api_client returns a client for the API source"),
    };
    let mut store = Store::open(&job.store_path, source.label())?;

    let result: Result<(FetchOutcome, Vec<String>)> = async {
        let ids = resolve_ids(job, window, client.as_deref()).await?;
        report.counts.duplicate_ids = ids.duplicates;
        report.counts.skipped_input_lines = ids.problems.len();
        report.input_problems = ids.problems;
        let out = scheduler::fetch(
            Arc::new(source),
            &mut store,
            &ids.ids,
            job.refetch,
            in_flight,
        )
        .await?;
        Ok((out, ids.ids))
    }
    .await;
    report.timings.fetch_ms = t0.elapsed().as_millis();
    if let Some(c) = &client {
        report.add_client_stats(&c.stats());
    }
    let (fetched, ids) = match result {
        Ok(r) => r,
        Err(e) => {
            report.fatal = Some(format!("{e:#}"));
            finish(&mut report, job, t0)?;
            return Err(e);
        }
    };
    report.counts.requested = fetched.requested;
    report.counts.fetched = fetched.fetched;
    report.counts.reused_from_store = fetched.reused_from_store;
    report.failures = fetched.failures;
    report.undated_meetingids = store.undated(&ids)?;
    report.counts.undated = report.undated_meetingids.len();
    for id in &report.undated_meetingids {
        tracing::warn!(meetingid = %id, "meeting has no start time; it is in no date partition");
    }

    let range = match window {
        Window::Dates(r) => Some(r),
        Window::All => span_of(&store, Some(&ids), job)?,
    };
    report.window = range.map(window_report);
    if summarize && let Some(range) = range {
        summarize_into(job, &store, range, &mut report)?;
    }
    finish(&mut report, job, t0)
}

fn summarize_only(job: &Job, window: Window) -> Result<Outcome> {
    let t0 = Instant::now();
    let _lock = lock::acquire(&job.store_path, &format!("summarize --job {}", job.name))?;
    if !job.store_path.exists() {
        bail!(
            "no store at {}: run `wecom-attendance fetch` (or `run`) for this job first",
            job.store_path.display()
        );
    }
    let mut report = RunReport::new("summarize", &job.name);
    let store = Store::open(&job.store_path, "dir")?;
    let range = match window {
        Window::Dates(r) => Some(r),
        Window::All => span_of(&store, None, job)?,
    };
    report.window = range.map(window_report);
    if let Some(range) = range {
        summarize_into(job, &store, range, &mut report)?;
    }
    report
        .failures
        .extend(store.failures()?.into_iter().map(|f| flatten::BodyFailure {
            meetingid: f.meetingid,
            errcode: f.errcode,
            reason: f.reason,
        }));
    finish(&mut report, job, t0)
}

/// Store → tables → files for one window.
fn summarize_into(
    job: &Job,
    store: &Store,
    range: DateRange,
    report: &mut RunReport,
) -> Result<()> {
    let t = Instant::now();
    let writer = Writer {
        out_dir: &job.out_dir,
        formats: &job.formats,
        csv: job.csv,
        tz: job.tz,
    };
    let ((quality, meetings), written) = writer.write_window(range, |sink| {
        tables::build(job, store, range, &mut report.failures, sink)
    })?;
    report.quality = quality;
    report.counts.meetings_in_window = meetings;
    report.rows = Some(written);
    report.timings.summarize_ms = t.elapsed().as_millis();
    Ok(())
}

/// The local-date span of stored meetings (of `ids`, or all).
fn span_of(store: &Store, ids: Option<&[String]>, job: &Job) -> Result<Option<DateRange>> {
    Ok(match store.start_span(ids)? {
        Some((lo, hi)) => match (local_date(lo, job.tz), local_date(hi, job.tz)) {
            (Some(a), Some(b)) => Some(DateRange::new(a, b)?),
            _ => None,
        },
        None => None,
    })
}

fn window_report(r: DateRange) -> WindowReport {
    WindowReport {
        from: r.from.to_string(),
        to: r.to.to_string(),
    }
}

fn finish(report: &mut RunReport, job: &Job, t0: Instant) -> Result<Outcome> {
    report.timings.total_ms = t0.elapsed().as_millis();
    report.counts.failed = report.failures.len();
    let path = report.write(&job.out_dir)?;
    if JSON_LOGS.load(std::sync::atomic::Ordering::Relaxed) {
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
    Ok(if report.has_failures() {
        Outcome::SomeFailed
    } else {
        Outcome::Clean
    })
}

/// `println!` for the lines of `check`, minus the panic on a closed stdout (`| head`): the
/// checks still run and still decide the exit code.
macro_rules! say {
    ($($arg:tt)*) => {{
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

async fn check(job: &Job, window: Window, args: &JobArgs) -> Result<Outcome> {
    say!("job:          {} ({})", job.name, args.job.display());
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
    if let Some(client) = api_client(job)? {
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
