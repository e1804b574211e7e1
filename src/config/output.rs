//! Where the outputs go: a local folder, or S3-compatible object storage (S3, Tencent COS,
//! Aliyun OSS, MinIO) named `s3://BUCKET/PREFIX` in `[output] dir` or `--out`, configured by
//! `[output.s3]`. Checked here, before anything is written; the credentials themselves are read
//! when the output is opened ([`crate::output::bucket`]), never here.

use anyhow::{Result, bail};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The scheme of an object-store output.
pub const S3_SCHEME: &str = "s3://";
/// The region when `[output.s3]` names none (MinIO and most S3-compatible stores ignore it).
pub const DEFAULT_REGION: &str = "us-east-1";
pub const DEFAULT_ACCESS_KEY_ID_ENV: &str = "AWS_ACCESS_KEY_ID";
pub const DEFAULT_SECRET_ACCESS_KEY_ENV: &str = "AWS_SECRET_ACCESS_KEY";
/// How long a failing request is retried (with backoff) before the run gives up, seconds.
pub const DEFAULT_RETRY_TIMEOUT_S: f64 = 180.0;
/// Longer retries than this outlive the request's signature.
const MAX_RETRY_TIMEOUT_S: f64 = 300.0;

/// `[output.s3]`: how to reach the bucket of an `s3://` output.
#[derive(Debug, Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
pub struct S3Section {
    /// The service's URL, e.g. `https://cos.ap-shanghai.myqcloud.com`,
    /// `https://oss-cn-hangzhou.aliyuncs.com` or `http://127.0.0.1:9000`. Default: AWS S3 of
    /// the region.
    pub endpoint: Option<String>,
    /// The bucket's region. Default `us-east-1`.
    pub region: Option<String>,
    /// Address the bucket as `https://BUCKET.endpoint/` rather than `https://endpoint/BUCKET/`:
    /// COS and OSS accept only this. Default false.
    pub virtual_hosted: Option<bool>,
    /// Allow a plain `http://` endpoint (a local MinIO). Default false.
    pub allow_http: Option<bool>,
    /// Environment variable holding the access key id. Default `AWS_ACCESS_KEY_ID`.
    pub access_key_id_env: Option<String>,
    /// Environment variable holding the secret access key. Default `AWS_SECRET_ACCESS_KEY`.
    pub secret_access_key_env: Option<String>,
    /// A file holding the secret access key (first line); used when the variable is unset.
    pub secret_access_key_file: Option<PathBuf>,
    /// Whether the store honours `If-None-Match` / `If-Match` on a put (S3, COS, MinIO do;
    /// OSS refuses them: set false there). Without it there is no lock object, and the
    /// operator must make sure two runs never write one prefix at once. Default true.
    pub conditional_put: Option<bool>,
    /// How long a failing request (5xx, timeout, slow-down) is retried with backoff before
    /// the run stops, seconds. Default 180, at most 300.
    pub retry_timeout_s: Option<f64>,
}

/// Where the outputs go.
#[derive(Debug, Clone, PartialEq)]
pub enum OutputTarget {
    /// A local folder.
    Folder(PathBuf),
    /// A prefix in an S3-compatible bucket.
    Bucket(BucketConfig),
}

impl OutputTarget {
    /// `dir` (from `[output] dir` or `--out`) as a target: `s3://BUCKET/PREFIX` is a bucket,
    /// configured by `s3`; anything else a folder.
    pub fn parse(dir: &Path, s3: &S3Section) -> Result<OutputTarget> {
        let Some(url) = dir.to_str().and_then(|d| d.strip_prefix(S3_SCHEME)) else {
            if let Some(d) = dir.to_str()
                && d.contains("://")
            {
                bail!("output dir '{d}': the only remote output is s3://BUCKET/PREFIX");
            }
            return Ok(OutputTarget::Folder(dir.to_path_buf()));
        };
        let (bucket, prefix) = url.split_once('/').unwrap_or((url, ""));
        let prefix = prefix.trim_matches('/');
        if bucket.is_empty()
            || !bucket
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        {
            bail!(
                "output dir '{}': the bucket name must be letters, digits, '-' and '.'",
                dir.display()
            );
        }
        if prefix
            .split('/')
            .any(|p| p.is_empty() || p == "." || p == "..")
            && !prefix.is_empty()
        {
            bail!(
                "output dir '{}': the prefix may not hold empty, '.' or '..' parts",
                dir.display()
            );
        }
        let retry = s3.retry_timeout_s.unwrap_or(DEFAULT_RETRY_TIMEOUT_S);
        if !(retry.is_finite() && retry > 0.0 && retry <= MAX_RETRY_TIMEOUT_S) {
            bail!(
                "output.s3.retry_timeout_s must be a positive number of seconds up to {MAX_RETRY_TIMEOUT_S}, not {retry}"
            );
        }
        let endpoint = s3
            .endpoint
            .as_ref()
            .map(|e| e.trim_end_matches('/').to_string());
        let allow_http = s3.allow_http.unwrap_or(false);
        if let Some(e) = &endpoint {
            match e.split_once("://") {
                Some(("https", _)) => {}
                Some(("http", _)) if allow_http => {}
                Some(("http", _)) => bail!(
                    "output.s3.endpoint '{e}' is plain http: set output.s3.allow_http = true (a local server only)"
                ),
                _ => bail!("output.s3.endpoint '{e}' must start with https:// (or http://)"),
            }
        }
        Ok(OutputTarget::Bucket(BucketConfig {
            bucket: bucket.to_string(),
            prefix: prefix.to_string(),
            endpoint,
            region: s3.region.clone().unwrap_or_else(|| DEFAULT_REGION.into()),
            virtual_hosted: s3.virtual_hosted.unwrap_or(false),
            allow_http,
            access_key_id_env: s3
                .access_key_id_env
                .clone()
                .unwrap_or_else(|| DEFAULT_ACCESS_KEY_ID_ENV.into()),
            secret_access_key_env: s3
                .secret_access_key_env
                .clone()
                .unwrap_or_else(|| DEFAULT_SECRET_ACCESS_KEY_ENV.into()),
            secret_access_key_file: s3.secret_access_key_file.clone(),
            conditional_put: s3.conditional_put.unwrap_or(true),
            retry_timeout: Duration::from_secs_f64(retry),
        }))
    }

    /// The target as the user wrote it: a path or `s3://BUCKET/PREFIX`.
    pub fn display(&self) -> String {
        match self {
            OutputTarget::Folder(p) => p.display().to_string(),
            OutputTarget::Bucket(b) => b.url(),
        }
    }

    /// The local folder, if the output is one.
    pub fn folder(&self) -> Option<&Path> {
        match self {
            OutputTarget::Folder(p) => Some(p),
            OutputTarget::Bucket(_) => None,
        }
    }
}

/// A checked `s3://BUCKET/PREFIX` with its `[output.s3]`.
#[derive(Debug, Clone, PartialEq)]
pub struct BucketConfig {
    pub bucket: String,
    /// The keys' common prefix, without leading or trailing `/` (empty: the bucket's root).
    pub prefix: String,
    pub endpoint: Option<String>,
    pub region: String,
    pub virtual_hosted: bool,
    pub allow_http: bool,
    pub access_key_id_env: String,
    pub secret_access_key_env: String,
    pub secret_access_key_file: Option<PathBuf>,
    pub conditional_put: bool,
    pub retry_timeout: Duration,
}

impl BucketConfig {
    /// `s3://BUCKET/PREFIX`.
    pub fn url(&self) -> String {
        match self.prefix.is_empty() {
            true => format!("{S3_SCHEME}{}", self.bucket),
            false => format!("{S3_SCHEME}{}/{}", self.bucket, self.prefix),
        }
    }

    /// The endpoint as messages name it.
    pub fn endpoint_name(&self) -> String {
        self.endpoint
            .clone()
            .unwrap_or_else(|| format!("AWS S3 ({})", self.region))
    }
}

/// Whether `path` names a remote place (`s3://…`, any `scheme://`) rather than a local file.
pub fn is_remote(path: &Path) -> bool {
    path.to_str().is_some_and(|p| p.contains("://"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_s3_dir_is_a_bucket_and_prefix_and_a_plain_path_a_folder() {
        let s3 = S3Section {
            endpoint: Some("http://127.0.0.1:9000/".into()),
            allow_http: Some(true),
            ..Default::default()
        };
        let OutputTarget::Bucket(b) =
            OutputTarget::parse(Path::new("s3://data-lake/hr/attendance/"), &s3).unwrap()
        else {
            panic!("not a bucket")
        };
        assert_eq!(
            (b.bucket.as_str(), b.prefix.as_str()),
            ("data-lake", "hr/attendance")
        );
        assert_eq!(b.endpoint.as_deref(), Some("http://127.0.0.1:9000"));
        assert!(b.conditional_put, "conditional puts are the default");
        assert_eq!(b.url(), "s3://data-lake/hr/attendance");
        assert_eq!(
            OutputTarget::parse(Path::new("out/x"), &s3).unwrap(),
            OutputTarget::Folder("out/x".into())
        );
    }

    #[test]
    fn a_plain_http_endpoint_needs_allow_http_and_other_schemes_are_refused() {
        let s3 = S3Section {
            endpoint: Some("http://minio:9000".into()),
            ..Default::default()
        };
        let err = OutputTarget::parse(Path::new("s3://b/p"), &s3).unwrap_err();
        assert!(err.to_string().contains("allow_http"), "{err}");
        let err = OutputTarget::parse(Path::new("gs://b/p"), &S3Section::default()).unwrap_err();
        assert!(err.to_string().contains("s3://BUCKET/PREFIX"), "{err}");
    }
}
