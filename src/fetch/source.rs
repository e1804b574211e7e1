//! Where get_info bodies come from: the WeCom API, or a directory of captured answers
//! (`DIR/<meetingid>.json`, the demo's and the benchmark's source). The fetch scheduler sees one
//! interface and does not care which.

use crate::wecom::client::{CallError, Client};
use std::path::PathBuf;
use std::sync::Arc;

pub enum Source {
    Api(Arc<Client>),
    Dir(PathBuf),
}

impl Source {
    /// Short label stored with each body.
    pub fn label(&self) -> &'static str {
        match self {
            Source::Api(_) => "api",
            Source::Dir(_) => "dir",
        }
    }

    /// The raw get_info body of one meeting.
    pub async fn get_info(&self, meetingid: &str) -> Result<Vec<u8>, CallError> {
        match self {
            Source::Api(c) => c.get_info(meetingid).await,
            Source::Dir(dir) => {
                let path = dir.join(format!("{meetingid}.json"));
                tokio::fs::read(&path)
                    .await
                    .map_err(|e| CallError::PerMeeting {
                        errcode: None,
                        message: format!("cannot read {}: {e}", path.display()),
                    })
            }
        }
    }

    /// Every meeting id a directory source holds (file stems of `*.json`), sorted.
    pub fn list_dir(dir: &std::path::Path) -> anyhow::Result<Vec<String>> {
        use anyhow::Context;
        let mut ids = Vec::new();
        for e in std::fs::read_dir(dir)
            .with_context(|| format!("cannot list the source folder {}", dir.display()))?
        {
            let p = e?.path();
            if p.extension().is_some_and(|x| x == "json")
                && let Some(stem) = p.file_stem().and_then(|s| s.to_str())
                && crate::config::ids::is_valid_id(stem)
            {
                ids.push(stem.to_string());
            }
        }
        ids.sort();
        Ok(ids)
    }
}
