//! Where get_info bodies come from: the WeCom API, or a directory of captured answers
//! (`DIR/<meetingid>.json`, and `DIR/<meetingid>/<sub_meetingid>.json` for an occurrence of a
//! recurring meeting; the demo's and the benchmark's source). The fetch scheduler sees one
//! interface and does not care which.

use crate::config::ids::is_valid_id;
use crate::fetch::read_ahead::ReadAhead;
use crate::wecom::client::{CallError, Client};
use anyhow::Context;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub enum Source {
    Api(Arc<Client>),
    /// A folder of `<meetingid>.json` bodies; files larger than `max_bytes` are refused.
    Dir {
        dir: PathBuf,
        max_bytes: u64,
    },
}

impl Source {
    /// Short label stored with each body.
    pub fn label(&self) -> &'static str {
        match self {
            Source::Api(_) => "api",
            Source::Dir { .. } => "dir",
        }
    }

    /// An estimate of the time `meetings` more get_info calls take under the rate and the
    /// budgets; `None` for a folder, which has no quota.
    pub fn eta(&self, meetings: usize) -> Option<std::time::Duration> {
        match self {
            Source::Api(c) => Some(c.eta(crate::wecom::client::GET_INFO, meetings)),
            Source::Dir { .. } => None,
        }
    }

    /// The raw get_info body of one meeting, or of one occurrence of a recurring meeting
    /// (`DIR/<meetingid>/<sub_meetingid>.json` in a folder).
    pub async fn get_info(
        &self,
        meetingid: &str,
        sub_meetingid: Option<&str>,
    ) -> Result<Vec<u8>, CallError> {
        match self {
            Source::Api(c) => c.get_info(meetingid, sub_meetingid).await,
            Source::Dir { dir, max_bytes } => {
                let Some(path) = body_path(dir, meetingid, sub_meetingid) else {
                    return Err(CallError::PerMeeting {
                        errcode: None,
                        message: format!(
                            "occurrence {:?} of meeting {meetingid:?} has no file name in a \
                             source folder (ids are letters, digits, '-' and '_')",
                            sub_meetingid.unwrap_or_default()
                        ),
                    });
                };
                read_body_file(&path, *max_bytes).map_err(|message| CallError::PerMeeting {
                    errcode: None,
                    message,
                })
            }
        }
    }

    /// For a folder, a [`ReadAhead`] over the files of `targets` (in the order they will be
    /// read); `None` for the API.
    pub fn read_ahead<'a>(
        &self,
        targets: impl Iterator<Item = (&'a str, Option<&'a str>)>,
    ) -> Option<ReadAhead> {
        match self {
            Source::Api(_) => None,
            Source::Dir { dir, .. } => ReadAhead::start(
                targets
                    .filter_map(|(id, sub)| body_path(dir, id, sub))
                    .collect(),
            ),
        }
    }

    /// Every meeting id a directory source holds (file stems of `*.json` that are regular
    /// files, or links to one), sorted.
    pub fn list_dir(dir: &Path) -> anyhow::Result<Vec<String>> {
        let mut ids = Vec::new();
        for e in std::fs::read_dir(dir)
            .with_context(|| format!("cannot list the source folder {}", dir.display()))?
        {
            let p = e
                .with_context(|| format!("cannot list the source folder {}", dir.display()))?
                .path();
            if p.extension().is_some_and(|x| x == "json")
                && let Some(stem) = p.file_stem().and_then(|s| s.to_str())
                && is_valid_id(stem)
                && std::fs::metadata(&p).is_ok_and(|m| m.is_file())
            {
                ids.push(stem.to_string());
            }
        }
        ids.sort();
        Ok(ids)
    }
}

/// The file of a meeting's body in folder `dir`, or of an occurrence's; `None` for an
/// occurrence whose ids are not plain names (they come from answers: only those become paths).
fn body_path(dir: &Path, meetingid: &str, sub_meetingid: Option<&str>) -> Option<PathBuf> {
    match sub_meetingid {
        None => Some(dir.join(format!("{meetingid}.json"))),
        Some(sub) if is_valid_id(meetingid) && is_valid_id(sub) => {
            Some(dir.join(meetingid).join(format!("{sub}.json")))
        }
        Some(_) => None,
    }
}

/// Reads a captured body: only a regular file (a FIFO would block the run for ever, a link to
/// `/dev/zero` would never end), and at most `max_bytes` of it. Read on the calling runtime
/// thread, not in a blocking task: a body is a local file of some kB, read from the page cache
/// in microseconds, while handing each read to the blocking pool cost more than the read (a
/// thread woken and put to sleep per system call: a fifth of the run path's CPU at 1.1M rows).
fn read_body_file(path: &Path, max_bytes: u64) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let shown = path.display();
    // Follows links: what counts is the file they lead to. Checked before opening, since
    // opening a FIFO for reading blocks until a writer comes.
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read {shown}: {e}"))?;
    if !meta.is_file() {
        return Err(format!(
            "{shown} is not a regular file; only regular files are read"
        ));
    }
    if meta.len() > max_bytes {
        return Err(too_large(path, max_bytes));
    }
    let file = std::fs::File::open(path).map_err(|e| format!("cannot read {shown}: {e}"))?;
    // One byte more than the file holds, so the read that finds its end needs no new buffer.
    let mut body = Vec::with_capacity(meta.len() as usize + 1);
    // A file that grows after the check is still cut at the cap.
    file.take(max_bytes + 1)
        .read_to_end(&mut body)
        .map_err(|e| format!("cannot read {shown}: {e}"))?;
    if body.len() as u64 > max_bytes {
        return Err(too_large(path, max_bytes));
    }
    Ok(body)
}

fn too_large(path: &Path, max_bytes: u64) -> String {
    format!(
        "{} is larger than the {} MiB a body may have (fetch.max_body_mb)",
        path.display(),
        max_bytes / (1024 * 1024)
    )
}
