//! A real S3 API on loopback for the object-storage tests: `s3s-fs` (an S3 server over a
//! folder) behind `s3s`'s hyper service on `127.0.0.1:0`, with SigV4 authentication, in a
//! thread of the test. A fault can be switched on: every PUT whose path contains a given text
//! is answered 503 (the store refusing a put), the rest is served as usual.

use bytes::Bytes;
use hyper::body::Incoming;
use hyper::service::Service;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::{ObjectStore, ObjectStoreExt};
use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

/// The server's credentials (the tests check that neither ever appears in an output).
pub const KEY_ID: &str = "TESTKEYID0000EXAMPLE";
pub const SECRET: &str = "test-secret-0123456789-never-printed";
/// The bucket the server has.
pub const BUCKET: &str = "lake";

pub struct S3Server {
    pub addr: SocketAddr,
    /// The server's folder: `ROOT/BUCKET/KEY`.
    _root: tempfile::TempDir,
    fault: Arc<Mutex<Option<String>>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl S3Server {
    pub fn start() -> S3Server {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join(BUCKET)).unwrap();
        let fs = s3s_fs::FileSystem::new(root.path()).unwrap();
        let mut b = s3s::service::S3ServiceBuilder::new(fs);
        b.set_auth(s3s::auth::SimpleAuth::from_single(KEY_ID, SECRET));
        let service = b.build();
        let fault: Arc<Mutex<Option<String>>> = Arc::default();
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop_tx, mut stop_rx) = tokio::sync::oneshot::channel::<()>();
        let faults = fault.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                addr_tx.send(listener.local_addr().unwrap()).unwrap();
                let http = ConnBuilder::new(TokioExecutor::new());
                loop {
                    let socket = tokio::select! {
                        r = listener.accept() => match r {
                            Ok((s, _)) => s,
                            Err(_) => continue,
                        },
                        _ = &mut stop_rx => break,
                    };
                    let svc = Faulty {
                        inner: service.clone(),
                        fault: faults.clone(),
                    };
                    let conn = http
                        .serve_connection(TokioIo::new(socket), svc)
                        .into_owned();
                    tokio::spawn(async move {
                        let _ = conn.await;
                    });
                }
            });
            rt.shutdown_background();
        });
        let addr = addr_rx.recv().unwrap();
        S3Server {
            addr,
            _root: root,
            fault,
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// From now on, every PUT whose path contains `text` is refused with a 503.
    pub fn refuse_puts_of(&self, text: Option<&str>) {
        *self.fault.lock().unwrap() = text.map(String::from);
    }

    /// The `[output.s3]` table of a job writing to this server.
    pub fn job_table(&self, extra: &str) -> String {
        format!(
            "[output.s3]\nendpoint = \"{}\"\nallow_http = true\nretry_timeout_s = 2\n{extra}",
            self.endpoint()
        )
    }

    /// A client of the bucket, for the tests' own reads and writes.
    pub fn client(&self) -> AmazonS3 {
        AmazonS3Builder::new()
            .with_bucket_name(BUCKET)
            .with_region("us-east-1")
            .with_endpoint(self.endpoint())
            .with_allow_http(true)
            .with_access_key_id(KEY_ID)
            .with_secret_access_key(SECRET)
            .build()
            .unwrap()
    }

    /// Every object under `prefix`, by key relative to it, with its bytes.
    pub fn objects(&self, prefix: &str) -> BTreeMap<String, Vec<u8>> {
        let client = self.client();
        let prefix = object_store::path::Path::from(prefix);
        block_on(async move {
            use futures::TryStreamExt;
            let metas: Vec<_> = client.list(Some(&prefix)).try_collect().await.unwrap();
            let mut out = BTreeMap::new();
            for m in metas {
                let bytes = client
                    .get(&m.location)
                    .await
                    .unwrap()
                    .bytes()
                    .await
                    .unwrap();
                let key = m.location.as_ref()[prefix.as_ref().len()..]
                    .trim_start_matches('/')
                    .to_string();
                out.insert(key, bytes.to_vec());
            }
            out
        })
    }

    /// Puts `bytes` at `key` of the bucket.
    pub fn put(&self, key: &str, bytes: &[u8]) {
        let client = self.client();
        let (key, bytes) = (
            object_store::path::Path::from(key),
            Bytes::copy_from_slice(bytes),
        );
        block_on(async move { client.put(&key, bytes.into()).await.unwrap() });
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Runs `fut` on a runtime of its own (the tests are plain threads).
pub fn block_on<T>(fut: impl Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(fut)
}

/// `s3s`'s service, refusing the PUTs the fault names.
#[derive(Clone)]
struct Faulty {
    inner: s3s::service::S3Service,
    fault: Arc<Mutex<Option<String>>>,
}

impl Service<hyper::Request<Incoming>> for Faulty {
    type Response = s3s::HttpResponse;
    type Error = s3s::HttpError;
    type Future = <s3s::service::S3Service as Service<hyper::Request<Incoming>>>::Future;

    fn call(&self, req: hyper::Request<Incoming>) -> Self::Future {
        let refused = req.method() == hyper::Method::PUT
            && self
                .fault
                .lock()
                .unwrap()
                .as_deref()
                .is_some_and(|f| req.uri().path().contains(f));
        if refused {
            let body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
                <Error><Code>ServiceUnavailable</Code><Message>refused by the test</Message></Error>";
            let resp = hyper::Response::builder()
                .status(503)
                .body(s3s::Body::from(body.to_string()))
                .unwrap();
            return Box::pin(std::future::ready(Ok(resp)));
        }
        <s3s::service::S3Service as Service<hyper::Request<Incoming>>>::call(&self.inner, req)
    }
}
