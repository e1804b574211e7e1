//! `ids`: the meeting ids of the window — the ids file, discovery for the job's organizers, or
//! every body of a source folder — printed one a line. [`resolve`] is the first stage of
//! `run` and `fetch` too.

use super::{Outcome, setup};
use crate::config::ids::{IdList, InputProblem, read_ids_file};
use crate::config::job::{Job, Source as SourceCfg};
use crate::config::window::Window;
use crate::fetch::source::Source;
use crate::wecom::client::Client;
use crate::wecom::discover::discover;
use anyhow::{Context, Result, bail};
use std::io::Write;

pub async fn ids(job: &Job, window: Window) -> Result<Outcome> {
    let client = setup::api_client(job)?;
    let ids = resolve(job, window, client.as_deref()).await?;
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

/// The run's meeting ids: the ids file, plus discovery for the job's organizers, or (for a
/// directory source with neither) every body in the folder.
pub async fn resolve(job: &Job, window: Window, client: Option<&Client>) -> Result<IdList> {
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
                let shown = person_names(job)?;
                for (userid, why) in found.failed {
                    let who = shown(&userid);
                    tracing::warn!(organizer = %who, %why, "an organizer's listing failed; going on with the others");
                    list.problems.push(InputProblem {
                        file: "ids.organizers".into(),
                        line: 0,
                        message: format!(
                            "organizer {who}: listing their meetings failed or was cut ({why}); \
                             their meetings may be missing from this run"
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

/// Names a person (by userid) for a report or a log line.
type PersonName = Box<dyn Fn(&str) -> String>;

/// How people are named in reports and logs: as they are, or by their pseudonym when the job
/// asks for pseudonyms (`[output] identity = "pseudonym"`).
fn person_names(job: &Job) -> Result<PersonName> {
    Ok(match &job.identity {
        crate::config::directory::Identity::Plain => Box::new(|id: &str| id.to_string()),
        crate::config::directory::Identity::Pseudonym(key) => {
            let p = crate::transform::pseudonym::Pseudonyms::new(&key.read()?);
            Box::new(move |id: &str| p.of(id))
        }
    })
}
