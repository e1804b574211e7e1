//! `[source]` and `[ids]`: which meetings the job reads and where their bodies come from — the
//! WeCom API or a folder of captured answers (`--source-dir` wins), an ids file (`--ids` wins) and
//! organizers whose meetings are discovered.

use super::Overrides;
use anyhow::{Context, Result, bail};
use serde::Deserialize;
use std::path::PathBuf;

#[derive(Debug, Deserialize, Default, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    /// The WeCom API (default).
    #[default]
    Api,
    /// Captured get_info answers in `DIR/<meetingid>.json`.
    Dir,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct SourceSection {
    /// `api` (default) or `dir`.
    pub kind: Option<SourceKind>,
    /// For `kind = "dir"`: the directory holding `<meetingid>.json` files.
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct IdsSection {
    /// Meeting ids file (one a line, `#` comments; or CSV with a `meetingid` column).
    pub file: Option<PathBuf>,
    /// Organizer userids whose meetings are discovered with get_user_meetingid.
    pub organizers: Option<Vec<String>>,
    /// A file of organizer userids, one a line.
    pub organizers_file: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Api,
    Dir(PathBuf),
}

/// `[source]`: the API, or a folder of captured bodies (`--source-dir` wins).
pub(super) fn source(src: SourceSection, ov: &Overrides) -> Result<Source> {
    Ok(
        match (&ov.source_dir, src.kind.unwrap_or_default(), src.dir) {
            (Some(d), _, _) => Source::Dir(d.clone()),
            (None, SourceKind::Dir, Some(d)) => Source::Dir(d),
            (None, SourceKind::Dir, None) => {
                bail!("source.kind = \"dir\" needs source.dir = \"PATH\" (or --source-dir)")
            }
            (None, SourceKind::Api, _) => Source::Api,
        },
    )
}

/// `ids.organizers` plus the lines of `ids.organizers_file`, sorted, each once.
pub(super) fn organizers(ids: &IdsSection) -> Result<Vec<String>> {
    let mut organizers = ids.organizers.clone().unwrap_or_default();
    if let Some(p) = &ids.organizers_file {
        let text = std::fs::read_to_string(p)
            .with_context(|| format!("cannot read ids.organizers_file {}", p.display()))?;
        organizers.extend(
            text.lines()
                .map(|l| l.split('#').next().unwrap_or("").trim())
                .filter(|l| !l.is_empty())
                .map(String::from),
        );
    }
    organizers.sort();
    organizers.dedup();
    Ok(organizers)
}
