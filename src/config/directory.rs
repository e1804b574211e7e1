//! The `[directory]` section of the job file: whether and how often the WeCom contacts
//! (departments and members) are synced into the store, where they come from, and whether
//! external participants are converted; and the `[output]` identity switch (plain names, or
//! keyed pseudonyms). Checked here, before the first request.

use anyhow::{Result, bail};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// How often the directory is synced when it is enabled, unless the job says otherwise.
pub const DEFAULT_REFRESH: Refresh = Refresh::Daily;
/// The environment variable holding the pseudonym key unless `pseudonym_key_env` names another.
pub const DEFAULT_PSEUDONYM_KEY_ENV: &str = "WECOM_PSEUDONYM_KEY";
/// Shortest pseudonym key accepted, in bytes: a shorter one could be guessed.
pub const MIN_PSEUDONYM_KEY_LEN: usize = 16;

/// `[directory]` as written.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct DirectorySection {
    /// Sync the departments and members the app can see, so the tables carry names and
    /// departments. Default false.
    pub enabled: Option<bool>,
    /// `"daily"` (at most one sync a day per store, the default), `"always"` (every run) or
    /// `"never"` (only the `directory` command syncs).
    pub refresh: Option<String>,
    /// A failed directory sync fails the run (exit 2) instead of a warning (exit 0). Default
    /// false: the tables are written either way.
    pub required: Option<bool>,
    /// Convert external participants' temporary ids with `convert_tmp_external_userid`.
    /// Default false.
    pub convert_external: Option<bool>,
    /// Read captured contacts-API answers from this folder instead of the network:
    /// `department_list.json` and `user_list_<department id>.json`.
    pub source_dir: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refresh {
    /// At most once per local day per store.
    Daily,
    /// Every run.
    Always,
    /// Only on demand (`wecom-attendance directory`).
    Never,
}

impl Refresh {
    pub fn parse(s: &str) -> Result<Refresh> {
        Ok(match s {
            "daily" => Refresh::Daily,
            "always" => Refresh::Always,
            "never" => Refresh::Never,
            other => {
                bail!("directory.refresh is \"daily\", \"always\" or \"never\", not {other:?}")
            }
        })
    }
}

/// The checked `[directory]` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryConfig {
    pub enabled: bool,
    pub refresh: Refresh,
    pub required: bool,
    pub convert_external: bool,
    pub source_dir: Option<PathBuf>,
}

impl DirectorySection {
    /// Checks the section; relative folders are taken from where the job is run, like the
    /// other paths of the job.
    pub fn build(self) -> Result<DirectoryConfig> {
        let refresh = match self.refresh.as_deref() {
            Some(s) => Refresh::parse(s)?,
            None => DEFAULT_REFRESH,
        };
        Ok(DirectoryConfig {
            enabled: self.enabled.unwrap_or(false),
            refresh,
            required: self.required.unwrap_or(false),
            convert_external: self.convert_external.unwrap_or(false),
            source_dir: self.source_dir,
        })
    }
}

/// What the outputs call people.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Identity {
    /// Userids, external ids and names as WeCom has them (the default).
    #[default]
    Plain,
    /// Each userid, external id and name replaced by a keyed HMAC-SHA256.
    Pseudonym(KeySource),
}

/// Where the pseudonym key is read from: never from the job file itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySource {
    /// The environment variable holding the key.
    pub env: String,
    /// A file holding the key (first line), used when the variable is unset.
    pub file: Option<PathBuf>,
}

/// `[output] identity`, `pseudonym_key_env`, `pseudonym_key_file` → an [`Identity`].
pub fn identity(
    identity: Option<&str>,
    key_env: Option<String>,
    key_file: Option<PathBuf>,
) -> Result<Identity> {
    match identity.unwrap_or("plain") {
        "plain" => Ok(Identity::Plain),
        "pseudonym" => Ok(Identity::Pseudonym(KeySource {
            env: key_env.unwrap_or_else(|| DEFAULT_PSEUDONYM_KEY_ENV.into()),
            file: key_file,
        })),
        other => bail!("output.identity is \"plain\" or \"pseudonym\", not {other:?}"),
    }
}

impl KeySource {
    /// Reads the key: the variable, else the file's first line. The key itself never appears
    /// in an error.
    pub fn read(&self) -> Result<Vec<u8>> {
        let key = match std::env::var(&self.env) {
            Ok(v) if !v.is_empty() => v,
            _ => match &self.file {
                Some(path) => read_key_file(path)?,
                None => bail!(
                    "output.identity = \"pseudonym\" needs a key: set the environment variable {} \
                     (or name a file with output.pseudonym_key_file)",
                    self.env
                ),
            },
        };
        let key = key.trim().as_bytes().to_vec();
        if key.len() < MIN_PSEUDONYM_KEY_LEN {
            bail!(
                "the pseudonym key (from {}) is shorter than {MIN_PSEUDONYM_KEY_LEN} bytes: use a \
                 longer random key",
                self.env
            );
        }
        Ok(key)
    }
}

fn read_key_file(path: &Path) -> Result<String> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        anyhow::anyhow!("cannot read the pseudonym key file {}: {e}", path.display())
    })?;
    Ok(text.lines().next().unwrap_or_default().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<DirectoryConfig> {
        let s: DirectorySection = toml::from_str(text)?;
        s.build()
    }

    #[test]
    fn the_directory_is_off_by_default_and_refreshes_daily_once_enabled() {
        let c = parse("").unwrap();
        assert!(!c.enabled && !c.required && !c.convert_external);
        assert_eq!(c.refresh, Refresh::Daily);
        let c = parse("enabled = true\nrefresh = \"always\"\nrequired = true").unwrap();
        assert!(c.enabled && c.required);
        assert_eq!(c.refresh, Refresh::Always);
    }

    #[test]
    fn a_misspelt_refresh_or_key_is_an_error_naming_it() {
        let e = parse("refresh = \"weekly\"").unwrap_err().to_string();
        assert!(
            e.contains("directory.refresh") && e.contains("weekly"),
            "{e}"
        );
        let e = parse("enable = true").unwrap_err().to_string();
        assert!(e.contains("enable"), "{e}");
    }

    #[test]
    fn identity_is_plain_by_default_and_a_pseudonym_key_comes_from_the_named_variable() {
        assert_eq!(identity(None, None, None).unwrap(), Identity::Plain);
        let Identity::Pseudonym(k) = identity(Some("pseudonym"), None, None).unwrap() else {
            panic!("not a pseudonym identity")
        };
        assert_eq!(k.env, DEFAULT_PSEUDONYM_KEY_ENV);
        let e = identity(Some("hashed"), None, None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("hashed"), "{e}");
    }

    #[test]
    fn a_short_or_missing_key_is_refused_without_showing_it() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("key");
        std::fs::write(&file, "tiny\n").unwrap();
        let k = KeySource {
            env: "WECOM_ATTENDANCE_TEST_UNSET_KEY_VARIABLE".into(),
            file: Some(file.clone()),
        };
        let e = k.read().unwrap_err().to_string();
        assert!(e.contains("shorter") && !e.contains("tiny"), "{e}");
        std::fs::write(&file, "0123456789abcdef-long-enough\n").unwrap();
        assert_eq!(k.read().unwrap(), b"0123456789abcdef-long-enough");
        let none = KeySource {
            env: "WECOM_ATTENDANCE_TEST_UNSET_KEY_VARIABLE".into(),
            file: None,
        };
        let e = none.read().unwrap_err().to_string();
        assert!(
            e.contains("WECOM_ATTENDANCE_TEST_UNSET_KEY_VARIABLE"),
            "{e}"
        );
    }
}
