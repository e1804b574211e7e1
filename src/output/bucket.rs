//! The object-store [`Place`]: the outputs as objects under `s3://BUCKET/PREFIX` in S3, Tencent
//! COS, Aliyun OSS or MinIO, through the `object_store` crate.
//!
//! Each file is one object put whole: a small one in one request, a large one streamed as a
//! multipart upload ([`PART_BYTES`] at a time, so a partition is never held twice in memory)
//! that becomes visible only when completed, and is aborted on failure. Transient errors
//! (5xx, timeouts, slow-down) are retried with backoff by the client. Every error is one line
//! naming the bucket and the endpoint, never the access key id or the secret. The lock is the
//! object `PREFIX/.wecom-attendance.lock` ([`crate::output::bucket_lock`]).
//!
//! The writer runs on plain threads; the client is async, so the place owns a small runtime
//! and each call waits for its answer.

use crate::config::output::BucketConfig;
use crate::output::bucket_lock;
use crate::output::place::{OutputLock, Place, Sink};
use anyhow::{Context, Result};
use futures::TryStreamExt;
use object_store::aws::{AmazonS3Builder, S3ConditionalPut};
use object_store::path::Path as ObjectPath;
use object_store::{
    BackoffConfig, MultipartUpload, ObjectStore, ObjectStoreExt, PutPayload, RetryConfig,
};
use std::collections::VecDeque;
use std::future::Future;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::task::JoinHandle;

/// The size of a multipart upload's parts (S3 wants at least 5 MiB but for the last), and the
/// size below which a file is put in one request.
pub const PART_BYTES: usize = 8 * 1024 * 1024;
/// Parts of one file uploading at once: bounds the memory of a large file to a few parts.
const PARTS_IN_FLIGHT: usize = 2;
/// Retries of one request (within the retry timeout).
const MAX_RETRIES: usize = 10;
/// Threads of the place's runtime: requests are few and wait on the network.
const RUNTIME_THREADS: usize = 2;
/// The longest error text kept from a server's answer.
const MAX_REASON_CHARS: usize = 200;

/// The place's runtime, shut down without waiting when the last user drops it (it may be
/// dropped on a thread of another runtime).
pub struct Runtime(Option<tokio::runtime::Runtime>);

impl Runtime {
    fn new() -> Result<Self> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(RUNTIME_THREADS)
            .thread_name("object-store")
            .enable_all()
            .build()
            .context("cannot start the object store's runtime")?;
        Ok(Runtime(Some(rt)))
    }

    fn handle(&self) -> &tokio::runtime::Handle {
        self.0
            .as_ref()
            .expect("the runtime lives until dropped")
            .handle()
    }

    /// Runs `fut` on the runtime and waits for it on this thread (any thread, even one of
    /// another runtime: the wait is a plain channel).
    pub fn run<T: Send + 'static>(
        &self,
        fut: impl Future<Output = T> + Send + 'static,
    ) -> Option<T> {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.handle().spawn(async move {
            let _ = tx.send(fut.await);
        });
        rx.recv().ok()
    }

    pub fn spawn<T: Send + 'static>(
        &self,
        fut: impl Future<Output = T> + Send + 'static,
    ) -> JoinHandle<T> {
        self.handle().spawn(fut)
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}

/// What every request needs: the client, the runtime, and the words of its errors.
#[derive(Clone)]
pub struct Conn {
    pub store: Arc<dyn ObjectStore>,
    pub rt: Arc<Runtime>,
    pub cfg: Arc<BucketConfig>,
    /// The access key id and the secret: removed from any text an error carries.
    secrets: Arc<Vec<String>>,
}

impl Conn {
    /// The object of `key` (relative to the prefix).
    pub fn path(&self, key: &str) -> ObjectPath {
        match (self.cfg.prefix.is_empty(), key.is_empty()) {
            (true, _) => ObjectPath::from(key),
            (false, true) => ObjectPath::from(self.cfg.prefix.as_str()),
            (false, false) => ObjectPath::from(format!("{}/{key}", self.cfg.prefix)),
        }
    }

    /// `s3://BUCKET/PREFIX/KEY`.
    pub fn location(&self, key: &str) -> PathBuf {
        PathBuf::from(format!("s3://{}/{}", self.cfg.bucket, self.path(key)))
    }

    /// Runs one request to its answer, its error made [`Conn::fail`]'s one line.
    pub fn call<T: Send + 'static>(
        &self,
        what: &str,
        key: &str,
        fut: impl Future<Output = object_store::Result<T>> + Send + 'static,
    ) -> Result<T> {
        match self.rt.run(fut) {
            Some(Ok(t)) => Ok(t),
            Some(Err(e)) => Err(self.fail(what, key, &e)),
            None => Err(anyhow::anyhow!(
                "cannot {what} {}: the object store's runtime stopped",
                self.location(key).display()
            )),
        }
    }

    /// One line naming the bucket, the endpoint and what went wrong, in words a person can
    /// act on; the access key id and the secret never appear.
    pub fn fail(&self, what: &str, key: &str, e: &object_store::Error) -> anyhow::Error {
        let text = format!("{e:#}");
        let cfg = &self.cfg;
        let reason = match e {
            object_store::Error::AlreadyExists { .. }
            | object_store::Error::Precondition { .. } => {
                "the store refused a conditional put (If-None-Match / If-Match); a store that does \
                 not support them (Aliyun OSS) needs output.s3.conditional_put = false"
                    .to_string()
            }
            _ if text.contains("NoSuchBucket") => "the bucket does not exist".to_string(),
            object_store::Error::PermissionDenied { .. }
            | object_store::Error::Unauthenticated { .. } => format!(
                "access denied: check the access key ({} / {}) and the bucket's permissions",
                cfg.access_key_id_env, cfg.secret_access_key_env
            ),
            _ if text.contains("InvalidAccessKeyId") || text.contains("SignatureDoesNotMatch") => {
                format!(
                    "access denied: check the access key ({} / {})",
                    cfg.access_key_id_env, cfg.secret_access_key_env
                )
            }
            _ if text.contains("error sending request")
                || text.contains("onnect")
                || text.contains("timed out") =>
            {
                format!(
                    "cannot reach the endpoint (retried for {} s)",
                    cfg.retry_timeout.as_secs()
                )
            }
            _ => {
                let line = text.lines().next().unwrap_or("").trim();
                line.chars().take(MAX_REASON_CHARS).collect()
            }
        };
        let mut msg = format!(
            "object storage: cannot {what} {} (bucket {}, endpoint {}): {reason}",
            self.location(key).display(),
            cfg.bucket,
            cfg.endpoint_name()
        );
        for s in self.secrets.iter().filter(|s| !s.is_empty()) {
            msg = msg.replace(s.as_str(), "***");
        }
        anyhow::anyhow!(msg)
    }
}

/// Outputs under `s3://BUCKET/PREFIX`.
pub struct Bucket {
    conn: Conn,
    /// A local folder for the workbook's temporary sheets.
    scratch: PathBuf,
}

impl Bucket {
    /// Connects to the bucket of `cfg` and checks it can be listed, so wrong credentials, a
    /// missing bucket or an unreachable endpoint stop the run before anything is written.
    /// `scratch` is a local folder for temporary files.
    pub fn open(cfg: &BucketConfig, scratch: &Path) -> Result<Bucket> {
        let key_id = std::env::var(&cfg.access_key_id_env)
            .ok()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .with_context(|| {
                format!(
                    "no access key id for {}: set the environment variable {}",
                    cfg.url(),
                    cfg.access_key_id_env
                )
            })?;
        let secret = read_secret(cfg)?;
        Bucket::connect(cfg, key_id, secret, scratch)
    }

    /// [`Bucket::open`] with the credentials given.
    pub fn connect(
        cfg: &BucketConfig,
        key_id: String,
        secret: String,
        scratch: &Path,
    ) -> Result<Bucket> {
        let conditional = match cfg.conditional_put {
            true => S3ConditionalPut::ETagMatch,
            false => S3ConditionalPut::Disabled,
        };
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(&cfg.bucket)
            .with_region(&cfg.region)
            .with_access_key_id(&key_id)
            .with_secret_access_key(&secret)
            .with_virtual_hosted_style_request(cfg.virtual_hosted)
            .with_allow_http(cfg.allow_http)
            .with_conditional_put(conditional)
            .with_retry(RetryConfig {
                backoff: BackoffConfig::default(),
                max_retries: MAX_RETRIES,
                retry_timeout: cfg.retry_timeout,
            });
        if let Some(e) = &cfg.endpoint {
            builder = builder.with_endpoint(e);
        }
        let secrets = Arc::new(vec![key_id, secret]);
        let store = builder.build().map_err(|e| {
            let mut msg = format!(
                "object storage {} (endpoint {}): {e}",
                cfg.url(),
                cfg.endpoint_name()
            );
            for s in secrets.iter() {
                msg = msg.replace(s.as_str(), "***");
            }
            anyhow::anyhow!(msg)
        })?;
        let conn = Conn {
            store: Arc::new(store),
            rt: Arc::new(Runtime::new()?),
            cfg: Arc::new(cfg.clone()),
            secrets,
        };
        let (store, prefix) = (conn.store.clone(), conn.path(""));
        conn.call("list", "", async move {
            store.list_with_delimiter(Some(&prefix)).await
        })?;
        std::fs::create_dir_all(scratch)
            .with_context(|| format!("cannot create {}", scratch.display()))?;
        Ok(Bucket {
            conn,
            scratch: scratch.to_path_buf(),
        })
    }
}

/// The secret access key: its variable, else the first line of its file.
fn read_secret(cfg: &BucketConfig) -> Result<String> {
    let from_env = std::env::var(&cfg.secret_access_key_env)
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty());
    let secret = match (from_env, &cfg.secret_access_key_file) {
        (Some(s), _) => s,
        (None, Some(path)) => std::fs::read_to_string(path)
            .with_context(|| {
                format!(
                    "cannot read output.s3.secret_access_key_file {}",
                    path.display()
                )
            })?
            .lines()
            .next()
            .unwrap_or("")
            .trim()
            .to_string(),
        (None, None) => anyhow::bail!(
            "no secret access key for {}: set the environment variable {} or \
             output.s3.secret_access_key_file in the job",
            cfg.url(),
            cfg.secret_access_key_env
        ),
    };
    anyhow::ensure!(
        !secret.is_empty(),
        "the secret access key is empty: check {} or output.s3.secret_access_key_file",
        cfg.secret_access_key_env
    );
    Ok(secret)
}

impl Place for Bucket {
    fn put(&self, key: &str, fill: &mut dyn FnMut(&mut Sink<'_>) -> Result<()>) -> Result<()> {
        let mut upload = Upload {
            conn: &self.conn,
            key,
            buf: Vec::with_capacity(PART_BYTES),
            multipart: None,
            in_flight: VecDeque::new(),
            failed: None,
        };
        let filled = fill(&mut upload);
        match (filled, upload.failed.take()) {
            (Ok(()), None) => upload.finish(),
            // The upload's own error says more than the writer's "upload failed".
            (_, Some(e)) | (Err(e), None) => {
                upload.abort();
                Err(e)
            }
        }
    }

    fn delete(&self, key: &str) -> Result<()> {
        let (store, path) = (self.conn.store.clone(), self.conn.path(key));
        match self.conn.rt.run(async move { store.delete(&path).await }) {
            Some(Ok(())) | Some(Err(object_store::Error::NotFound { .. })) => Ok(()),
            Some(Err(e)) => Err(self.conn.fail("delete", key, &e)),
            None => anyhow::bail!("the object store's runtime stopped"),
        }
    }

    fn delete_folder(&self, folder: &str) -> Result<()> {
        let (store, prefix) = (self.conn.store.clone(), self.conn.path(folder));
        let objects = self.conn.call("list", folder, async move {
            store.list(Some(&prefix)).try_collect::<Vec<_>>().await
        })?;
        for o in objects {
            let (store, path) = (self.conn.store.clone(), o.location.clone());
            self.conn
                .call("delete", folder, async move { store.delete(&path).await })?;
        }
        Ok(())
    }

    fn folders(&self, folder: &str) -> Result<Vec<String>> {
        let (store, prefix) = (self.conn.store.clone(), self.conn.path(folder));
        let listing = self.conn.call("list", folder, async move {
            store.list_with_delimiter(Some(&prefix)).await
        })?;
        Ok(listing
            .common_prefixes
            .iter()
            .filter_map(|p| p.filename().map(String::from))
            .collect())
    }

    /// Nothing to clear: a failed upload is aborted, and an upload cut short by a killed run is
    /// never visible (a lifecycle rule on the bucket reclaims its parts).
    fn tidy(&self, _folder: &str) -> Result<()> {
        Ok(())
    }

    fn location(&self, key: &str) -> PathBuf {
        self.conn.location(key)
    }

    fn scratch(&self, _key: &str) -> Result<PathBuf> {
        Ok(self.scratch.clone())
    }

    fn lock(&self, holder: &str) -> Result<OutputLock> {
        bucket_lock::acquire(&self.conn, holder)
    }
}

/// One file on its way up: buffered to a part, then sent as one put or a multipart upload.
struct Upload<'a> {
    conn: &'a Conn,
    key: &'a str,
    buf: Vec<u8>,
    multipart: Option<Box<dyn MultipartUpload>>,
    in_flight: VecDeque<JoinHandle<object_store::Result<()>>>,
    /// The first error of the upload, returned by [`Place::put`].
    failed: Option<anyhow::Error>,
}

impl Upload<'_> {
    /// Sends the buffer as the next part (starting the multipart upload on the first) and
    /// waits while too many parts are on their way.
    fn send_part(&mut self) -> Result<()> {
        if self.multipart.is_none() {
            let (store, path) = (self.conn.store.clone(), self.conn.path(self.key));
            self.multipart = Some(self.conn.call("start uploading", self.key, async move {
                store.put_multipart(&path).await
            })?);
        }
        let part = std::mem::replace(&mut self.buf, Vec::with_capacity(PART_BYTES));
        let upload = self.multipart.as_mut().expect("started above");
        let fut = upload.put_part(PutPayload::from(part));
        self.in_flight.push_back(self.conn.rt.spawn(fut));
        while self.in_flight.len() > PARTS_IN_FLIGHT {
            self.wait_oldest()?;
        }
        Ok(())
    }

    fn wait_oldest(&mut self) -> Result<()> {
        let Some(h) = self.in_flight.pop_front() else {
            return Ok(());
        };
        self.conn.call("upload a part of", self.key, async move {
            h.await
                .unwrap_or_else(|e| Err(object_store::Error::JoinError { source: e }))
        })
    }

    /// Completes the object: one put, or the last part and the multipart completion.
    fn finish(mut self) -> Result<()> {
        let conn = self.conn;
        let Some(mut upload) = self.multipart.take() else {
            let (store, path) = (conn.store.clone(), conn.path(self.key));
            let payload = PutPayload::from(std::mem::take(&mut self.buf));
            conn.call(
                "write",
                self.key,
                async move { store.put(&path, payload).await },
            )?;
            return Ok(());
        };
        let result = (|| -> Result<()> {
            if !self.buf.is_empty() {
                let part = std::mem::take(&mut self.buf);
                self.in_flight
                    .push_back(conn.rt.spawn(upload.put_part(PutPayload::from(part))));
            }
            while !self.in_flight.is_empty() {
                self.wait_oldest()?;
            }
            Ok(())
        })();
        match result {
            Ok(()) => {
                let key = self.key;
                conn.call("complete", key, async move { upload.complete().await })?;
                Ok(())
            }
            Err(e) => {
                self.multipart = Some(upload);
                self.abort();
                Err(e)
            }
        }
    }

    /// Drops what was sent of a failed file: the object keeps its old content (or stays
    /// absent). Best effort: a part left behind is invisible and reclaimed by the bucket's
    /// lifecycle rule.
    fn abort(&mut self) {
        for h in self.in_flight.drain(..) {
            h.abort();
        }
        if let Some(mut upload) = self.multipart.take() {
            let _ = self.conn.rt.run(async move { upload.abort().await });
        }
    }
}

impl Write for Upload<'_> {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        if self.failed.is_some() {
            return Err(std::io::Error::other("the upload failed"));
        }
        self.buf.extend_from_slice(data);
        if self.buf.len() >= PART_BYTES
            && let Err(e) = self.send_part()
        {
            self.failed = Some(e);
            return Err(std::io::Error::other("the upload failed"));
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
