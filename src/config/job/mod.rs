//! The job file (`jobs/*.toml`) and its validation into an immutable [`Job`].
//!
//! Everything the user configured — in the file, on the command line, in `WECOM_BASE_URL` — is
//! checked here, before the first request. Unknown keys are an error naming the key (serde's
//! `deny_unknown_fields`), so a typo never silently falls back to a default. Secrets are *not*
//! read here: only the names of the variables or the file that hold them.
//!
//! This file holds the [`Job`] every stage reads: loading, the name, the store's place and the
//! overrides from the command line; each section is checked in a file of its own — [`api`],
//! [`source`] (with `[ids]`), [`fetch`], [`metrics`], [`formats`] (`[output]`) — and
//! `[directory]` in [`crate::config::directory`].

pub mod api;
pub mod fetch;
pub mod formats;
pub mod metrics;
pub mod source;

pub use api::{ApiConfig, ApiSection, BASE_URL_ENV, DEFAULT_BASE_URL};
pub use fetch::{FetchConfig, FetchSection};
pub use formats::{CsvConfig, Format, Language, OutputSection};
pub use metrics::{MetricsConfig, MetricsSection};
pub use source::{IdsSection, Source, SourceKind, SourceSection};

use crate::config::ids::is_valid_id;
use crate::config::output::{OutputTarget, is_remote};
use anyhow::{Context, Result, bail};
use chrono_tz::Tz;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// The job's time zone when the file names none.
pub const DEFAULT_TIMEZONE: &str = "Asia/Shanghai";
/// The window when neither the command line nor the file gives one.
pub const DEFAULT_WINDOW: &str = "all";
/// Outputs go to `out/<job name>` unless the job says otherwise.
pub const DEFAULT_OUT_ROOT: &str = "out";

/// The job file as written. Every section and key is optional except where noted.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct JobFile {
    /// Name of the job, used in logs and the default store path. Default: the file's stem.
    pub name: Option<String>,
    /// IANA time zone for local dates and output times. Default `Asia/Shanghai`.
    pub timezone: Option<String>,
    /// Window when the command line gives none: `all` (every meeting of the ids, the default),
    /// `yesterday`, `today` or a date `YYYY-MM-DD`.
    pub window: Option<String>,
    #[serde(default)]
    pub api: ApiSection,
    #[serde(default)]
    pub source: SourceSection,
    #[serde(default)]
    pub ids: IdsSection,
    #[serde(default)]
    pub fetch: FetchSection,
    #[serde(default)]
    pub metrics: MetricsSection,
    #[serde(default)]
    pub store: StoreSection,
    #[serde(default)]
    pub output: OutputSection,
    /// `[directory]`: names and departments from the WeCom contacts API.
    #[serde(default)]
    pub directory: super::directory::DirectorySection,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct StoreSection {
    /// SQLite file holding raw answers. Default `<output.dir>/_store/raw.sqlite`.
    pub path: Option<PathBuf>,
}

/// The validated job: what every stage reads. Built once, never mutated.
#[derive(Debug, Clone)]
pub struct Job {
    pub name: String,
    pub tz: Tz,
    pub default_window: String,
    pub api: ApiConfig,
    pub source: Source,
    pub ids_file: Option<PathBuf>,
    pub organizers: Vec<String>,
    pub fetch: FetchConfig,
    pub metrics: MetricsConfig,
    pub store_path: PathBuf,
    /// Where the outputs go: a folder or a bucket prefix.
    pub output: OutputTarget,
    pub formats: Vec<Format>,
    pub csv: CsvConfig,
    /// Language of the workbook and the report.
    pub language: Language,
    pub refetch: bool,
    /// `[directory]`: names and departments.
    pub directory: super::directory::DirectoryConfig,
    /// How the outputs name people.
    pub identity: super::directory::Identity,
}

/// What the command line may override.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub ids: Option<PathBuf>,
    pub source_dir: Option<PathBuf>,
    pub rate: Option<f64>,
    pub concurrency: Option<usize>,
    pub refetch: bool,
    pub out: Option<PathBuf>,
    /// `--store`: the store file, wherever the job puts it.
    pub store: Option<PathBuf>,
    pub formats: Option<Vec<String>>,
    /// Value of `WECOM_BASE_URL`, if set.
    pub base_url: Option<String>,
}

/// The name of a job whose file names none: its file stem, `nightly.cn` becoming `nightly_cn`.
fn name_from_stem(stem: &str) -> String {
    stem.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

impl Job {
    /// Reads and validates a job file, applying command-line overrides.
    pub fn load(path: &Path, ov: &Overrides) -> Result<Job> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read job file {}", path.display()))?;
        let file: JobFile = toml::from_str(&text)
            .map_err(|e| anyhow::anyhow!("{}: {}", path.display(), e.to_string().trim_end()))?;
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "job".into());
        Job::build(file, &stem, ov).with_context(|| format!("job file {}", path.display()))
    }

    /// The job's name as far as the file says, for a command stopped before the job validated
    /// (the metrics file still labels its series with it): its `name` when the file is TOML
    /// with a valid one, else the name its file stem gives.
    pub fn name_as_written(path: &Path) -> String {
        let written = std::fs::read_to_string(path)
            .ok()
            .and_then(|text| toml::from_str::<toml::Table>(&text).ok())
            .and_then(|t| t.get("name")?.as_str().map(str::to_owned))
            .filter(|n| is_valid_id(n));
        written.unwrap_or_else(|| {
            name_from_stem(
                &path
                    .file_stem()
                    .map_or_else(|| "job".into(), |s| s.to_string_lossy().into_owned()),
            )
        })
    }

    /// Validates a parsed job file into a `Job`, section by section.
    pub fn build(f: JobFile, stem: &str, ov: &Overrides) -> Result<Job> {
        let name = match f.name {
            Some(name) if is_valid_id(&name) => name,
            Some(name) => bail!(
                "name {:?} may use only letters, digits, '-' and '_' (it names the output folder \
                 out/<name> and must stay inside it)",
                name
            ),
            None => name_from_stem(stem),
        };
        let tz_name = f.timezone.unwrap_or_else(|| DEFAULT_TIMEZONE.into());
        let tz: Tz = tz_name.parse().map_err(|_| {
            anyhow::anyhow!(
                "timezone '{tz_name}' is not an IANA time zone name (e.g. Asia/Shanghai)"
            )
        })?;
        // The job's own output folder holds the store by default; `--out` moves only the tables
        // and reports, so `summarize --out /tmp/export` still reads the nightly store.
        let job_out_dir = f
            .output
            .dir
            .unwrap_or_else(|| PathBuf::from(DEFAULT_OUT_ROOT).join(&name));
        let store_path = match ov.store.clone().or(f.store.path) {
            Some(p) if is_remote(&p) => bail!(
                "store path '{}' is not a local file: the store (SQLite) must be on a local disk",
                p.display()
            ),
            Some(p) => p,
            None if is_remote(&job_out_dir) => bail!(
                "the output is in object storage ({}) and the store's default place is under \
                 the output folder: set [store] path (or --store) to a local file",
                job_out_dir.display()
            ),
            None => job_out_dir.join("_store").join("raw.sqlite"),
        };
        let output = OutputTarget::parse(&ov.out.clone().unwrap_or(job_out_dir), &f.output.s3)?;
        Ok(Job {
            tz,
            default_window: f.window.unwrap_or_else(|| DEFAULT_WINDOW.into()),
            api: api::api_config(f.api, ov)?,
            source: source::source(f.source, ov)?,
            ids_file: ov.ids.clone().or(f.ids.file.clone()),
            organizers: source::organizers(&f.ids)?,
            fetch: fetch::fetch_config(&f.fetch, ov)?,
            metrics: metrics::metrics_config(f.metrics)?,
            store_path,
            output,
            formats: formats::formats(ov.formats.clone().or(f.output.formats))?,
            csv: CsvConfig {
                bom: f.output.csv_bom.unwrap_or(true),
                neutralize_formulas: f.output.csv_neutralize_formulas.unwrap_or(true),
            },
            language: f
                .output
                .language
                .as_deref()
                .map_or(Ok(Language::default()), Language::parse)?,
            refetch: ov.refetch,
            directory: f.directory.build()?,
            identity: super::directory::identity(
                f.output.identity.as_deref(),
                f.output.pseudonym_key_env,
                f.output.pseudonym_key_file,
            )?,
            name,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn parse(text: &str) -> Result<Job> {
        let f: JobFile = toml::from_str(text).map_err(|e| anyhow::anyhow!("{e}"))?;
        Job::build(f, "t", &Overrides::default())
    }

    #[test]
    fn the_name_as_written_is_the_files_valid_name_else_its_stem() {
        let dir = tempfile::tempdir().unwrap();
        let write = |file: &str, text: &str| {
            let p = dir.path().join(file);
            std::fs::write(&p, text).unwrap();
            p
        };
        let named = write(
            "nightly.cn.toml",
            "name = \"attendance\"\n[fetch]\nrate = \"x\"\n",
        );
        assert_eq!(Job::name_as_written(&named), "attendance");
        let broken = write("nightly.cn.toml", "name = \"attendance\n");
        assert_eq!(Job::name_as_written(&broken), "nightly_cn");
        let bad_name = write("b.toml", "name = \"../x\"\n");
        assert_eq!(Job::name_as_written(&bad_name), "b");
        assert_eq!(Job::name_as_written(&dir.path().join("gone.toml")), "gone");
    }

    #[test]
    fn a_name_that_would_leave_the_output_folder_is_refused() {
        for bad in ["../../escape", "/etc", "", "a/b", "名字"] {
            let err = parse(&format!("name = {bad:?}\n")).unwrap_err();
            assert!(
                format!("{err:#}").contains("only letters, digits"),
                "{bad}: {err:#}"
            );
        }
        let job = Job::build(JobFile::default(), "night.ly", &Overrides::default()).unwrap();
        assert_eq!(job.name, "night_ly");
        assert_eq!(job.output, OutputTarget::Folder("out/night_ly".into()));
    }

    #[test]
    fn an_unknown_key_is_an_error_that_names_it() {
        let e = parse("[fetch]\nrat = 5\n").unwrap_err();
        assert!(format!("{e:#}").contains("rat"), "{e:#}");
        let e = parse("colour = 'blue'\n").unwrap_err();
        assert!(format!("{e:#}").contains("colour"), "{e:#}");
    }

    #[test]
    fn defaults_are_those_of_the_spec() {
        let j = parse("").unwrap();
        assert_eq!(j.tz, chrono_tz::Asia::Shanghai);
        assert_eq!(j.api.base_url, DEFAULT_BASE_URL);
        assert_eq!(j.fetch.rate, 50.0);
        assert_eq!(j.fetch.max_body_bytes, 64 << 20);
        assert_eq!(j.metrics.grace_period_s, 300);
        assert_eq!(j.metrics.user_statuses, [3]);
        assert_eq!(j.formats, [Format::Csv, Format::Parquet]);
        assert_eq!(j.store_path, PathBuf::from("out/t/_store/raw.sqlite"));
        assert!(j.csv.bom);
        assert_eq!(j.language, Language::ZhCn);
    }

    #[test]
    fn out_on_the_command_line_moves_the_tables_not_the_store() {
        let f: JobFile = toml::from_str("[output]\ndir = 'nightly'\n").unwrap();
        let ov = Overrides {
            out: Some(PathBuf::from("/tmp/export")),
            ..Default::default()
        };
        let j = Job::build(f, "t", &ov).unwrap();
        assert_eq!(j.output, OutputTarget::Folder("/tmp/export".into()));
        assert_eq!(j.store_path, PathBuf::from("nightly/_store/raw.sqlite"));
    }

    #[test]
    fn an_object_store_output_needs_a_local_store_path_and_a_remote_one_is_refused() {
        let build = |text: &str, ov: &Overrides| {
            let f: JobFile = toml::from_str(text).unwrap();
            Job::build(f, "t", ov)
        };
        let s3 = "[output]\ndir = 's3://lake/hr'\n[output.s3]\nregion = 'ap-shanghai'\n";
        let err = build(s3, &Overrides::default()).unwrap_err().to_string();
        assert!(err.contains("set [store] path"), "{err}");
        let with_store = format!("[store]\npath = '/var/lib/w/raw.sqlite'\n{s3}");
        let j = build(&with_store, &Overrides::default()).unwrap();
        assert!(matches!(&j.output, OutputTarget::Bucket(b) if b.region == "ap-shanghai"));
        // --out s3://… with a local job folder: the store stays where the job keeps it.
        let ov = Overrides {
            out: Some(PathBuf::from("s3://lake/export")),
            ..Default::default()
        };
        let j = build("[output]\ndir = 'nightly'\n", &ov).unwrap();
        assert_eq!(j.output.display(), "s3://lake/export");
        assert_eq!(j.store_path, PathBuf::from("nightly/_store/raw.sqlite"));
        let remote = "[store]\npath = 's3://lake/raw.sqlite'\n";
        let err = build(remote, &Overrides::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("must be on a local disk"), "{err}");
    }

    #[test]
    fn command_line_overrides_win_over_the_file() {
        let f: JobFile =
            toml::from_str("[fetch]\nrate = 5.0\nconcurrency = 2\n[api]\nbase_url='https://x'\n")
                .unwrap();
        let ov = Overrides {
            rate: Some(200.0),
            concurrency: Some(16),
            base_url: Some("http://127.0.0.1:9".into()),
            formats: Some(vec!["parquet".into()]),
            ..Default::default()
        };
        let j = Job::build(f, "t", &ov).unwrap();
        assert_eq!(j.fetch.rate, 200.0);
        assert_eq!(j.fetch.concurrency, 16);
        assert_eq!(j.api.base_url, "http://127.0.0.1:9");
        assert_eq!(j.formats, [Format::Parquet]);
    }

    #[test]
    fn bad_values_say_what_to_use() {
        for (text, needle) in [
            ("timezone = 'Mars/Base'", "IANA"),
            ("[fetch]\nrate = 0.0", "positive"),
            (
                "[output]\nformats = ['json']",
                "csv, parquet, xlsx and/or html",
            ),
            ("[output]\nlanguage = 'fr'", "zh-CN"),
            ("[metrics]\nuser_statuses = ['done']", "ended"),
            ("[source]\nkind = 'dir'", "source.dir"),
        ] {
            let e = parse(text).unwrap_err();
            assert!(format!("{e:#}").contains(needle), "{text}: {e:#}");
        }
    }
}
