//! `[api]`: where the WeCom API is (`WECOM_BASE_URL` wins over the file), which environment
//! variables or file hold the credentials (only their names: the secrets themselves are read when
//! the client starts), and the HTTP timeouts.

use super::Overrides;
use anyhow::{Result, bail};
use serde::Deserialize;
use std::path::PathBuf;
use std::time::Duration;

/// WeCom's production API.
pub const DEFAULT_BASE_URL: &str = "https://qyapi.weixin.qq.com";
/// Environment variable that overrides the job's API base URL (tests and benchmarks use it).
pub const BASE_URL_ENV: &str = "WECOM_BASE_URL";
/// HTTP timeouts, seconds.
pub const DEFAULT_TIMEOUT_S: f64 = 15.0;
pub const DEFAULT_CONNECT_TIMEOUT_S: f64 = 5.0;
/// Where the credentials are read from.
pub const DEFAULT_CORPID_ENV: &str = "WECOM_CORPID";
pub const DEFAULT_SECRET_ENV: &str = "WECOM_SECRET";
/// The longest timeout accepted (a day): far above anything useful, so it only catches typos.
const MAX_TIMEOUT_S: f64 = 86_400.0;

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

#[derive(Debug, Clone)]
pub struct ApiConfig {
    pub base_url: String,
    pub corpid_env: String,
    pub secret_env: String,
    pub secret_file: Option<PathBuf>,
    pub timeout: Duration,
    pub connect_timeout: Duration,
}

/// `[api]`: the base URL (`WECOM_BASE_URL` wins), credential sources and timeouts.
pub(super) fn api_config(api: ApiSection, ov: &Overrides) -> Result<ApiConfig> {
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
