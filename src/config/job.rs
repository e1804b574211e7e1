//! The job file (`jobs/*.toml`) and its validation into an immutable [`Job`].
//!
//! Everything the user configured — in the file, on the command line, in `WECOM_BASE_URL` — is
//! checked here, before the first request. Unknown keys are an error naming the key (serde's
//! `deny_unknown_fields`), so a typo never silently falls back to a default. Secrets are *not*
//! read here: only the names of the variables or the file that hold them.

use crate::config::ids::is_valid_id;
use crate::config::output::{OutputTarget, S3Section, is_remote};
use crate::domain::MeetingStatus;
use anyhow::{Context, Result, bail};
use chrono_tz::Tz;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// WeCom's production API.
pub const DEFAULT_BASE_URL: &str = "https://qyapi.weixin.qq.com";
/// Environment variable that overrides the job's API base URL (tests and benchmarks use it).
pub const BASE_URL_ENV: &str = "WECOM_BASE_URL";
/// Leaves room for the company's other apps under WeCom's 10,000 calls/minute per API.
pub const DEFAULT_RATE: f64 = 50.0;
/// Calls allowed at once above the rate.
pub const DEFAULT_BURST: u32 = 5;
/// Requests in flight at once.
pub const DEFAULT_CONCURRENCY: usize = 8;
/// Attempts per request for busy answers.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 5;
/// First backoff delay; it doubles each attempt, with jitter, up to [`DEFAULT_BACKOFF_MAX_MS`].
pub const DEFAULT_BACKOFF_MS: u64 = 500;
pub const DEFAULT_BACKOFF_MAX_MS: u64 = 30_000;
/// How long the whole run pauses after a throttle answer.
pub const DEFAULT_THROTTLE_PAUSE_MS: u64 = 1000;
/// Throttle answers tolerated for one meeting before it is recorded as failed.
pub const DEFAULT_MAX_THROTTLE_RETRIES: u32 = 20;
/// The largest answer body (and source-folder file) read, MiB: get_info bodies are KB to a few
/// MB, so this only stops a body without end.
pub const DEFAULT_MAX_BODY_MB: u64 = 64;
/// HTTP timeouts, seconds.
pub const DEFAULT_TIMEOUT_S: f64 = 15.0;
pub const DEFAULT_CONNECT_TIMEOUT_S: f64 = 5.0;
/// Where the credentials are read from.
pub const DEFAULT_CORPID_ENV: &str = "WECOM_CORPID";
pub const DEFAULT_SECRET_ENV: &str = "WECOM_SECRET";
/// Days before the window whose unfinished meetings are fetched again.
pub const DEFAULT_LOOKBACK_DAYS: u32 = 7;
const MAX_LOOKBACK_DAYS: u32 = 366;
/// Runs with a permanent errcode before a meeting is given up.
pub const DEFAULT_GIVE_UP_AFTER: u32 = 3;
const MAX_GIVE_UP_AFTER: u32 = 1000;
/// Calls per API the job allows itself in any 60-second span: WeCom allows a company 10,000,
/// shared with its other apps.
pub const DEFAULT_PER_MINUTE: u32 = 6_000;
/// Calls per API the job allows itself in any 3,600-second span: WeCom allows 150,000.
pub const DEFAULT_PER_HOUR: u32 = 100_000;
/// WeCom's quotas per company and API: the budgets may not exceed them.
pub const WECOM_PER_MINUTE: u32 = 10_000;
pub const WECOM_PER_HOUR: u32 = 150_000;
/// The quota windows' scale: 1 in production (60 s and 3,600 s).
pub const DEFAULT_QUOTA_WINDOW_SCALE: f64 = 1.0;
/// The smallest scale (an "hour" of 0.36 s): tests against the fake server go no lower.
const MIN_QUOTA_WINDOW_SCALE: f64 = 1e-4;
/// Seconds of lateness or early leave tolerated.
pub const DEFAULT_GRACE_S: i64 = 300;
/// Statuses whose meetings count for the users table.
pub const DEFAULT_USER_STATUSES: [MeetingStatus; 1] = [MeetingStatus::Ended];
/// The job's time zone when the file names none.
pub const DEFAULT_TIMEZONE: &str = "Asia/Shanghai";
/// The window when neither the command line nor the file gives one.
pub const DEFAULT_WINDOW: &str = "all";
/// Outputs go to `out/<job name>` unless the job says otherwise.
pub const DEFAULT_OUT_ROOT: &str = "out";
/// WeCom's per-company ceiling: 10,000 calls a minute per API.
pub const WECOM_MAX_RATE: f64 = 10_000.0 / 60.0;
/// Bounds that keep settings sane (and the limiter's arithmetic finite): far above anything
/// WeCom allows, so they only catch typos.
const MAX_RATE: f64 = 100_000.0;
const MAX_CONCURRENCY: usize = 1024;
const MAX_TIMEOUT_S: f64 = 86_400.0;
const MAX_BODY_MB: u64 = 4096;

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
pub struct ApiSection {
    /// API base URL. Default `https://qyapi.weixin.qq.com`; `WECOM_BASE_URL` overrides it.
    pub base_url: Option<String>,
    /// Environment variable holding the corpid. Default `WECOM_CORPID`.
    pub corpid_env: Option<String>,
    /// Environment variable holding the app secret. Default `WECOM_SECRET`.
    pub secret_env: Option<String>,
    /// A file holding the app secret (first line); used when the secret variable is unset.
    pub secret_file: Option<PathBuf>,
    /// Timeout of one HTTP request, seconds. Default 15.
    pub timeout_s: Option<f64>,
    /// Timeout to connect, seconds. Default 5.
    pub connect_timeout_s: Option<f64>,
}

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

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct FetchSection {
    /// Calls per second, shared by all requests. Default 50.
    pub rate: Option<f64>,
    /// Calls allowed at once above the rate. Default 5.
    pub burst: Option<u32>,
    /// Requests in flight at once. Default 8.
    pub concurrency: Option<usize>,
    /// Attempts per request for busy answers (-1, 5xx, timeouts, bad bodies). Default 5.
    pub max_attempts: Option<u32>,
    /// First backoff delay, milliseconds; doubles each attempt, with jitter. Default 500.
    pub backoff_ms: Option<u64>,
    /// Longest backoff delay, milliseconds. Default 30000.
    pub backoff_max_ms: Option<u64>,
    /// How long the whole run pauses after a throttle answer (45009/45033), milliseconds;
    /// doubles on consecutive throttles up to 60 s. Default 1000.
    pub throttle_pause_ms: Option<u64>,
    /// Throttle answers tolerated for one meeting before it is recorded as failed. Default 20.
    pub max_throttle_retries: Option<u32>,
    /// The largest body read, MiB (1 MiB = 1,048,576 bytes): an API answer (announced or
    /// streamed) or a file of a source folder. A larger one fails its meeting, without retry.
    /// Default 64, at most 4096.
    pub max_body_mb: Option<u64>,
    /// Days before the window in which stored meetings that were not final (upcoming, in
    /// progress, unknown) are fetched again, so a meeting stored while it ran gets its final
    /// attendance. Default 7; 0 turns it off.
    pub lookback_days: Option<u32>,
    /// Runs in which a meeting may be refused with a permanent errcode (not found, no
    /// permission) before it is given up: not fetched again unless `--refetch`, not counted
    /// in the exit code, still listed in the run report. Default 3.
    pub give_up_after: Option<u32>,
    /// Calls per API (get_info, get_user_meetingid, each directory endpoint: one budget per
    /// request path) the run makes in any 60-second span, bursts included, leaving the rest of
    /// WeCom's 10,000 a minute to the company's other apps. Default 6000, at most 10000.
    pub per_minute: Option<u32>,
    /// Calls per API the run makes in any 3,600-second span, leaving the rest of WeCom's
    /// 150,000 an hour to the company's other apps; a larger backfill paces itself over hours.
    /// Default 100000, at most 150000.
    pub per_hour: Option<u32>,
    /// For tests and benchmarks only: the quota windows last 60 s and 3,600 s times this, to
    /// match a fake server whose clock runs faster (`wecom-fake`'s `quota_clock_scale`), so an
    /// "hour" passes in seconds. Never set it against WeCom: its windows do not shrink.
    /// Default 1, between 0.0001 and 1.
    pub quota_window_scale: Option<f64>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct MetricsSection {
    /// Seconds of lateness / early leave tolerated before a row counts as late / left early.
    /// Default 300.
    pub grace_period_s: Option<i64>,
    /// Meeting statuses that count for the users table. Default `["ended"]`.
    pub user_statuses: Option<Vec<String>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct StoreSection {
    /// SQLite file holding raw answers. Default `<output.dir>/_store/raw.sqlite`.
    pub path: Option<PathBuf>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct OutputSection {
    /// Output directory, or `s3://BUCKET/PREFIX` for S3-compatible object storage (then
    /// `[output.s3]` says how to reach it and `[store] path` is required). Default
    /// `out/<job name>`.
    pub dir: Option<PathBuf>,
    /// Formats to write: `csv` and `parquet` (the partitioned dataset), `xlsx` (a workbook per
    /// window, `workbooks/window=FROM_TO/attendance.xlsx`), `html` (a report per window,
    /// `reports/window=FROM_TO/report.html`). Default `["csv", "parquet"]`.
    pub formats: Option<Vec<String>>,
    /// Start CSV files with a UTF-8 byte-order mark so Excel shows Chinese. Default true.
    pub csv_bom: Option<bool>,
    /// Prefix text cells starting with = + - @ tab or CR with `'` in CSV. Default true.
    pub csv_neutralize_formulas: Option<bool>,
    /// Language of the workbook and the report (sheet names, headers, labels, notes):
    /// `"zh-CN"` (default) or `"en"`. CSV and Parquet keep their English column names.
    pub language: Option<String>,
    /// `"plain"` (default) or `"pseudonym"`: every userid, external id and name in the outputs
    /// replaced by a keyed HMAC-SHA256, so analysts can join and count without seeing who is who.
    pub identity: Option<String>,
    /// Environment variable holding the pseudonym key. Default `WECOM_PSEUDONYM_KEY`.
    pub pseudonym_key_env: Option<String>,
    /// A file holding the pseudonym key (first line); used when the variable is unset.
    pub pseudonym_key_file: Option<PathBuf>,
    /// `[output.s3]`: the endpoint, region and credentials of an `s3://` output.
    #[serde(default)]
    pub s3: S3Section,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Format {
    Csv,
    Parquet,
    /// One workbook per window, for HR.
    Xlsx,
    /// One self-contained report per window, for managers.
    Html,
}

impl Format {
    pub const ALL: [Format; 4] = [Format::Csv, Format::Parquet, Format::Xlsx, Format::Html];
    /// The formats of the partitioned dataset: one file in every partition folder.
    pub const PARTITIONED: [Format; 2] = [Format::Csv, Format::Parquet];

    /// Whether the format is a file in every partition (csv, parquet) rather than one file per
    /// window (xlsx, html).
    pub fn is_partitioned(self) -> bool {
        Format::PARTITIONED.contains(&self)
    }

    /// The file of this format: in a partition folder for csv and parquet, in the window's
    /// folder (`workbooks/window=FROM_TO/`, `reports/window=FROM_TO/`) for xlsx and html.
    pub fn file_name(self) -> &'static str {
        match self {
            Format::Csv => "part-0.csv",
            Format::Parquet => "part-0.parquet",
            Format::Xlsx => "attendance.xlsx",
            Format::Html => "report.html",
        }
    }

    pub fn parse(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "csv" => Ok(Format::Csv),
            "parquet" => Ok(Format::Parquet),
            "xlsx" => Ok(Format::Xlsx),
            "html" => Ok(Format::Html),
            other => bail!("unknown format '{other}': use csv, parquet, xlsx and/or html"),
        }
    }
}

/// The language of the workbook and the report (`[output] language`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Language {
    /// Simplified Chinese, the default: WeCom's users are mostly Chinese-speaking HR teams.
    #[default]
    ZhCn,
    En,
}

impl Language {
    /// Its spelling in the job file, also the page's `lang` attribute.
    pub fn tag(self) -> &'static str {
        match self {
            Language::ZhCn => "zh-CN",
            Language::En => "en",
        }
    }

    pub fn parse(s: &str) -> Result<Self> {
        match s.trim() {
            t if t.eq_ignore_ascii_case("zh-CN") || t.eq_ignore_ascii_case("zh") => {
                Ok(Language::ZhCn)
            }
            t if t.eq_ignore_ascii_case("en") => Ok(Language::En),
            other => bail!("output.language '{other}' is not supported: use \"zh-CN\" or \"en\""),
        }
    }
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

#[derive(Debug, Clone)]
pub struct ApiConfig {
    pub base_url: String,
    pub corpid_env: String,
    pub secret_env: String,
    pub secret_file: Option<PathBuf>,
    pub timeout: Duration,
    pub connect_timeout: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Api,
    Dir(PathBuf),
}

#[derive(Debug, Clone)]
pub struct FetchConfig {
    pub rate: f64,
    pub burst: u32,
    pub concurrency: usize,
    pub max_attempts: u32,
    pub backoff: Duration,
    pub backoff_max: Duration,
    pub throttle_pause: Duration,
    pub max_throttle_retries: u32,
    /// The largest body read, bytes (`max_body_mb` MiB).
    pub max_body_bytes: u64,
    pub lookback_days: u32,
    pub give_up_after: u32,
    /// Calls per API in any minute span (see [`FetchSection::per_minute`]).
    pub per_minute: u32,
    /// Calls per API in any hour span.
    pub per_hour: u32,
    /// The quota windows' scale (1 outside tests).
    pub quota_window_scale: f64,
}

#[derive(Debug, Clone)]
pub struct MetricsConfig {
    pub grace_period_s: i64,
    /// Status codes (1–5) whose meetings count for the users table.
    pub user_statuses: Vec<i64>,
}

#[derive(Debug, Clone, Copy)]
pub struct CsvConfig {
    pub bom: bool,
    pub neutralize_formulas: bool,
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
            api: api_config(f.api, ov)?,
            source: source(f.source, ov)?,
            ids_file: ov.ids.clone().or(f.ids.file.clone()),
            organizers: organizers(&f.ids)?,
            fetch: fetch_config(&f.fetch, ov)?,
            metrics: metrics_config(f.metrics)?,
            store_path,
            output,
            formats: formats(ov.formats.clone().or(f.output.formats))?,
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

/// `[api]`: the base URL (`WECOM_BASE_URL` wins), credential sources and timeouts.
fn api_config(api: ApiSection, ov: &Overrides) -> Result<ApiConfig> {
    let base_url = ov
        .base_url
        .clone()
        .or(api.base_url)
        .unwrap_or_else(|| DEFAULT_BASE_URL.into())
        .trim_end_matches('/')
        .to_string();
    if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
        bail!("api base_url '{base_url}' must start with http:// or https://");
    }
    let secs = |v: Option<f64>, default: f64, key: &str| -> Result<Duration> {
        let v = v.unwrap_or(default);
        if !(v.is_finite() && v > 0.0 && v <= MAX_TIMEOUT_S) {
            bail!("api.{key} must be a positive number of seconds up to {MAX_TIMEOUT_S}, not {v}");
        }
        Ok(Duration::from_secs_f64(v))
    };
    Ok(ApiConfig {
        base_url,
        corpid_env: api.corpid_env.unwrap_or_else(|| DEFAULT_CORPID_ENV.into()),
        secret_env: api.secret_env.unwrap_or_else(|| DEFAULT_SECRET_ENV.into()),
        secret_file: api.secret_file,
        timeout: secs(api.timeout_s, DEFAULT_TIMEOUT_S, "timeout_s")?,
        connect_timeout: secs(
            api.connect_timeout_s,
            DEFAULT_CONNECT_TIMEOUT_S,
            "connect_timeout_s",
        )?,
    })
}

/// `[source]`: the API, or a folder of captured bodies (`--source-dir` wins).
fn source(src: SourceSection, ov: &Overrides) -> Result<Source> {
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
fn organizers(ids: &IdsSection) -> Result<Vec<String>> {
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

/// `[fetch]`: pacing, concurrency and retries, each bounded so a typo is an error.
fn fetch_config(f: &FetchSection, ov: &Overrides) -> Result<FetchConfig> {
    let rate = ov.rate.or(f.rate).unwrap_or(DEFAULT_RATE);
    if !(rate.is_finite() && rate > 0.0 && rate <= MAX_RATE) {
        bail!(
            "the rate must be a positive number of calls per second up to {MAX_RATE}, not {rate}"
        );
    }
    if rate > WECOM_MAX_RATE {
        tracing::warn!(
            rate,
            "rate is above WeCom's company-wide limit of 10,000 calls/minute per API; expect 45009 throttling"
        );
    }
    let concurrency = ov
        .concurrency
        .or(f.concurrency)
        .unwrap_or(DEFAULT_CONCURRENCY);
    if !(1..=MAX_CONCURRENCY).contains(&concurrency) {
        bail!("concurrency must be between 1 and {MAX_CONCURRENCY}, not {concurrency}");
    }
    let max_attempts = f.max_attempts.unwrap_or(DEFAULT_MAX_ATTEMPTS);
    if max_attempts == 0 {
        bail!("fetch.max_attempts must be at least 1");
    }
    let max_body_mb = f.max_body_mb.unwrap_or(DEFAULT_MAX_BODY_MB);
    if !(1..=MAX_BODY_MB).contains(&max_body_mb) {
        bail!("fetch.max_body_mb must be between 1 and {MAX_BODY_MB} (MiB), not {max_body_mb}");
    }
    Ok(FetchConfig {
        rate,
        burst: f.burst.unwrap_or(DEFAULT_BURST).max(1),
        concurrency,
        max_attempts,
        backoff: Duration::from_millis(f.backoff_ms.unwrap_or(DEFAULT_BACKOFF_MS)),
        backoff_max: Duration::from_millis(f.backoff_max_ms.unwrap_or(DEFAULT_BACKOFF_MAX_MS)),
        throttle_pause: Duration::from_millis(
            f.throttle_pause_ms.unwrap_or(DEFAULT_THROTTLE_PAUSE_MS),
        ),
        max_throttle_retries: f
            .max_throttle_retries
            .unwrap_or(DEFAULT_MAX_THROTTLE_RETRIES),
        max_body_bytes: max_body_mb * 1024 * 1024,
        lookback_days: bounded(
            f.lookback_days,
            DEFAULT_LOOKBACK_DAYS,
            0..=MAX_LOOKBACK_DAYS,
            "fetch.lookback_days",
        )?,
        give_up_after: bounded(
            f.give_up_after,
            DEFAULT_GIVE_UP_AFTER,
            1..=MAX_GIVE_UP_AFTER,
            "fetch.give_up_after",
        )?,
        per_minute: bounded(
            f.per_minute,
            DEFAULT_PER_MINUTE,
            1..=WECOM_PER_MINUTE,
            "fetch.per_minute",
        )?,
        per_hour: bounded(
            f.per_hour,
            DEFAULT_PER_HOUR,
            1..=WECOM_PER_HOUR,
            "fetch.per_hour",
        )?,
        quota_window_scale: quota_window_scale(f.quota_window_scale)?,
    })
}

/// `fetch.quota_window_scale`, within its bounds; a warning when it is not 1.
fn quota_window_scale(v: Option<f64>) -> Result<f64> {
    let scale = v.unwrap_or(DEFAULT_QUOTA_WINDOW_SCALE);
    if !(MIN_QUOTA_WINDOW_SCALE..=1.0).contains(&scale) {
        bail!(
            "fetch.quota_window_scale must be between {MIN_QUOTA_WINDOW_SCALE} and 1 (it is for \
             tests against a fake server), not {scale}"
        );
    }
    if scale < 1.0 {
        tracing::warn!(
            scale,
            "fetch.quota_window_scale shrinks the quota windows: only for tests against a fake server"
        );
    }
    Ok(scale)
}

/// A whole-number setting within `range`, or an error naming it.
fn bounded(
    v: Option<u32>,
    default: u32,
    range: std::ops::RangeInclusive<u32>,
    key: &str,
) -> Result<u32> {
    let v = v.unwrap_or(default);
    if !range.contains(&v) {
        bail!(
            "{key} must be between {} and {}, not {v}",
            range.start(),
            range.end()
        );
    }
    Ok(v)
}

/// `[metrics]`: the grace period and the statuses that count for `users`.
fn metrics_config(m: MetricsSection) -> Result<MetricsConfig> {
    let grace_period_s = m.grace_period_s.unwrap_or(DEFAULT_GRACE_S);
    if grace_period_s < 0 {
        bail!("metrics.grace_period_s must not be negative");
    }
    let user_statuses = match m.user_statuses {
        Some(names) => names
            .iter()
            .map(|s| MeetingStatus::parse(s).map(MeetingStatus::code))
            .collect::<Result<Vec<_>, _>>()
            .context("metrics.user_statuses")?,
        None => DEFAULT_USER_STATUSES.iter().map(|s| s.code()).collect(),
    };
    Ok(MetricsConfig {
        grace_period_s,
        user_statuses,
    })
}

/// `[output] formats`, sorted, each once; csv and parquet when unset.
fn formats(names: Option<Vec<String>>) -> Result<Vec<Format>> {
    let mut formats = match names {
        Some(v) => v
            .iter()
            .map(|s| Format::parse(s))
            .collect::<Result<Vec<_>>>()?,
        None => Format::PARTITIONED.to_vec(),
    };
    formats.sort();
    formats.dedup();
    if formats.is_empty() {
        bail!("no output format: use csv, parquet, xlsx and/or html");
    }
    Ok(formats)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Job> {
        let f: JobFile = toml::from_str(text).map_err(|e| anyhow::anyhow!("{e}"))?;
        Job::build(f, "t", &Overrides::default())
    }

    #[test]
    fn out_of_range_fetch_settings_are_errors_naming_the_setting() {
        for (body, key) in [
            ("[fetch]\nrate = 1e12\n", "rate"),
            ("[fetch]\nconcurrency = 100000\n", "concurrency"),
            ("[fetch]\nconcurrency = 0\n", "concurrency"),
            ("[api]\ntimeout_s = 1e20\n", "timeout_s"),
            ("[fetch]\nmax_body_mb = 0\n", "max_body_mb"),
            ("[fetch]\nmax_body_mb = 100000\n", "max_body_mb"),
            ("[fetch]\nper_minute = 0\n", "fetch.per_minute"),
            ("[fetch]\nper_minute = 10001\n", "fetch.per_minute"),
            ("[fetch]\nper_hour = 150001\n", "fetch.per_hour"),
            (
                "[fetch]\nquota_window_scale = 0.0\n",
                "fetch.quota_window_scale",
            ),
            (
                "[fetch]\nquota_window_scale = 2.0\n",
                "fetch.quota_window_scale",
            ),
        ] {
            let err = parse(body).unwrap_err();
            assert!(format!("{err:#}").contains(key), "{body}: {err:#}");
        }
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
    fn the_workbook_and_the_report_are_formats_of_their_own_window() {
        let j = parse("[output]\nformats = ['html', 'XLSX', 'csv']\nlanguage = 'en'\n").unwrap();
        assert_eq!(j.formats, [Format::Csv, Format::Xlsx, Format::Html]);
        assert_eq!(j.language, Language::En);
        let partitioned: Vec<_> = j.formats.iter().filter(|f| f.is_partitioned()).collect();
        assert_eq!(partitioned, [&Format::Csv]);
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
