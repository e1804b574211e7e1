//! `[fetch]`: pacing (rate, burst, concurrency), retries and backoff, the largest body read,
//! the lookback and give-up rules, and the per-minute and per-hour quota budgets under WeCom's
//! own. Every setting is bounded, so a typo is an error naming it rather than a run that floods
//! or stalls.

use super::Overrides;
use anyhow::{Result, bail};
use serde::Deserialize;
use std::time::Duration;

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
/// WeCom's per-company ceiling: 10,000 calls a minute per API.
pub const WECOM_MAX_RATE: f64 = 10_000.0 / 60.0;
/// Bounds that keep settings sane (and the limiter's arithmetic finite): far above anything
/// WeCom allows, so they only catch typos.
const MAX_RATE: f64 = 100_000.0;
const MAX_CONCURRENCY: usize = 1024;
const MAX_BODY_MB: u64 = 4096;

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

/// `[fetch]`: pacing, concurrency and retries, each bounded so a typo is an error.
pub(super) fn fetch_config(f: &FetchSection, ov: &Overrides) -> Result<FetchConfig> {
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
pub(super) fn quota_window_scale(v: Option<f64>) -> Result<f64> {
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
pub(super) fn bounded(
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

#[cfg(test)]
mod tests {
    use super::super::tests::parse;

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
}
