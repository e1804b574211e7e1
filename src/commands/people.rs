//! The directory stage as the commands run it: sync the contacts into the store when due (or
//! when asked), convert the window's external ids, record it all in the run report; and what
//! the tables are told about people ([`people_for`]). A permission errcode stops only this
//! stage: the tables are still written.

use super::session::Session;
use super::setup;
use crate::config::directory::Identity;
use crate::config::job::Job;
use crate::config::window::DateRange;
use crate::fetch::directory::{self, DirectoryError, DirectorySource};
use crate::fetch::store::Store;
use crate::output::directory_report::{DirectoryReport, ExternalsReport};
use crate::transform::people::People;
use crate::transform::pseudonym::Pseudonyms;
use crate::wecom::client::Client;
use crate::wecom::token::TokenCache;
use anyhow::Result;
use std::sync::Arc;

/// Runs the directory stage when the job enables it (`force`: whatever `refresh` says), using
/// `client` (the run's, so the token and the limiter are shared) or a new one. `window` bounds
/// the external ids converted. Fills the report's `directory`; errors of the stage are recorded
/// there, never returned, unless the store itself fails.
pub async fn directory_stage(
    session: &mut Session<'_>,
    store: &mut Store,
    client: Option<Arc<Client>>,
    window: Option<(i64, i64)>,
    force: bool,
) -> Result<()> {
    let job = session.job;
    let cfg = &job.directory;
    if !cfg.enabled && !force {
        return Ok(());
    }
    let mut report = DirectoryReport {
        required: cfg.required,
        ..DirectoryReport::default()
    };
    let now = chrono::Utc::now().timestamp();
    let due = force || directory::due(cfg, store.last_directory_sync()?, now, job.tz);
    let needs_api = (due && cfg.source_dir.is_none()) || cfg.convert_external;
    let client = match (client, needs_api) {
        (Some(c), _) => Some(c),
        (None, true) => match new_client(job) {
            Ok(c) => Some(c),
            Err(e) => {
                report.error = Some(format!("{e:#}"));
                return finish(session, report);
            }
        },
        (None, false) => None,
    };
    let calls_before = client.as_ref().map_or(0, |c| c.stats().calls);
    if due {
        let source = match (&cfg.source_dir, &client) {
            (Some(dir), _) => DirectorySource::Dir(dir.clone()),
            (None, Some(c)) => DirectorySource::Api(c),
            (None, None) => unreachable!("a client is made when the API is needed"),
        };
        report.source = Some(source.label().into());
        match directory::sync(&source, store, now).await {
            Ok(s) => {
                report.synced = true;
                report.departments = s.departments;
                report.people = s.people;
                let c = s.changes;
                report.people_added = c.people_added;
                report.people_changed = c.people_changed;
                report.people_gone = c.people_gone;
                report.departments_added = c.departments_added;
                report.departments_changed = c.departments_changed;
                report.departments_gone = c.departments_gone;
            }
            Err(e) => stopped(&mut report, &e),
        }
    } else {
        report.skipped = Some(match cfg.refresh {
            crate::config::directory::Refresh::Never => "refresh = never".into(),
            _ => "already synced today".into(),
        });
    }
    if let (true, Some(c), None) = (cfg.convert_external, &client, &report.error) {
        let (start, end) = window.unwrap_or((i64::MIN, i64::MAX));
        let tmp_ids = store.external_tmp_ids(start, end)?;
        match directory::convert(c, store, &tmp_ids, now).await {
            Ok(x) => {
                report.externals = Some(ExternalsReport {
                    tmp_ids: x.tmp_ids,
                    reused: x.reused,
                    converted: x.converted,
                    invalid: x.invalid,
                    calls: x.calls,
                });
            }
            Err(e) => stopped(&mut report, &e),
        }
    }
    if let Some(c) = &client {
        report.api_calls = c.stats().calls - calls_before;
        session.add_client_stats(&c.stats());
    }
    finish(session, report)
}

fn stopped(report: &mut DirectoryReport, e: &DirectoryError) {
    tracing::warn!(error = %e, "the directory stage stopped; the tables are written without it");
    report.error = Some(e.to_string());
}

fn finish(session: &mut Session<'_>, report: DirectoryReport) -> Result<()> {
    if let Some(e) = &report.error {
        if report.required {
            tracing::error!(error = %e, "[directory] required = true: the run fails (exit 2)");
        } else {
            tracing::warn!(error = %e, "directory not synced");
        }
    }
    session.report.directory = Some(report);
    Ok(())
}

/// A client for the contacts API when the run has none (the meetings come from a folder).
pub fn new_client(job: &Job) -> Result<Arc<Client>> {
    let (corpid, secret) = setup::credentials(job)?;
    Ok(Arc::new(Client::new(
        &job.api,
        &job.fetch,
        TokenCache::new(corpid, secret),
    )?))
}

/// Logs each parent cycle of the department tree the window's tables use (the tree at its
/// end) and returns how many there are.
pub fn warn_cycles(people: &People) -> u64 {
    let at = people.window.map(|(_, end)| end - 1);
    let cycles = people.history.cycles_at(at);
    for c in &cycles {
        tracing::warn!(
            departments = ?c,
            "the department tree has a parent cycle (a bad directory sync): department {} is \
             taken as a root so no row counts twice; fix the parents in WeCom",
            c[0]
        );
    }
    cycles.len() as u64
}

/// What the tables of `range` are told about people: the stored history and conversions
/// (empty without a directory) and the pseudonym key when the job asks for pseudonyms.
pub fn people_for(job: &Job, store: &Store, range: DateRange) -> Result<People> {
    let pseudonyms = match &job.identity {
        Identity::Plain => None,
        Identity::Pseudonym(source) => Some(Pseudonyms::new(&source.read()?)),
    };
    let conversions = store
        .conversions()?
        .into_iter()
        .filter_map(|(tmp, id)| id.map(|id| (tmp, id)))
        .collect();
    Ok(People {
        history: store.directory_history()?,
        conversions,
        window: Some(range.epoch_bounds(job.tz)),
        pseudonyms,
    })
}
