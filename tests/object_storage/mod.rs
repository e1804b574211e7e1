//! The outputs written straight to S3-compatible object storage (`--out s3://BUCKET/PREFIX`),
//! against a real S3 API on loopback ([`server`]): the same objects and bytes as the files of
//! a local folder, stale partitions deleted, a refused put leaving no `_SUCCESS`, the lock
//! object, errors in one line without secrets, and a reader that is not ours (pyarrow) reading
//! the dataset back through the S3 API.

mod server;

use crate::common::*;
use server::{BUCKET, KEY_ID, S3Server, SECRET};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The `--out` of the demo in the server's bucket.
const IN_THE_BUCKET: &str = "s3://lake/demo";

/// The demo job (its fixtures, all four formats, the directory snapshot) with `[output.s3]`
/// for `server`, written under `dir`.
fn demo_job(dir: &Path, server: &S3Server, s3_extra: &str) -> PathBuf {
    let repo = repo();
    let text = std::fs::read_to_string(repo.join("jobs/demo.toml"))
        .unwrap()
        .replace("\"fixtures/", &format!("\"{}/fixtures/", repo.display()));
    write_job(
        dir,
        "demo",
        &format!("{text}\n{}", server.job_table(s3_extra)),
    )
}

/// The binary with the server's credentials in its environment.
fn bin_s3() -> Command {
    let mut c = bin();
    c.env("AWS_ACCESS_KEY_ID", KEY_ID)
        .env("AWS_SECRET_ACCESS_KEY", SECRET);
    c
}

/// `run --job JOB --out OUT --store STORE [extra]`.
fn run_demo(job: &Path, out: &str, store: &Path, extra: &[&str]) -> std::process::Output {
    run(bin_s3()
        .args(["run", "--job"])
        .arg(job)
        .args(["--out", out, "--store"])
        .arg(store)
        .args(extra))
}

/// The demo against a fresh server: the job for it and a store, in a temporary folder.
struct Demo {
    server: S3Server,
    tmp: tempfile::TempDir,
    job: PathBuf,
    store: PathBuf,
}

impl Demo {
    /// With `s3_extra` added to `[output.s3]`.
    fn start(s3_extra: &str) -> Demo {
        let server = S3Server::start();
        let tmp = tempfile::tempdir().unwrap();
        let job = demo_job(tmp.path(), &server, s3_extra);
        let store = tmp.path().join("s.sqlite");
        Demo {
            server,
            tmp,
            job,
            store,
        }
    }

    /// `run --out OUT` on the demo's store.
    fn run(&self, out: &str, extra: &[&str]) -> std::process::Output {
        run_demo(&self.job, out, &self.store, extra)
    }

    /// `run --out OUT`, which must succeed.
    fn run_ok(&self, out: &str, extra: &[&str]) -> std::process::Output {
        let o = self.run(out, extra);
        assert!(o.status.success(), "{}", stderr(&o));
        o
    }

    /// The demo written into the folder `local` and to `s3://lake/demo`, each from a store of
    /// its own: the folder and the bucket run's output.
    fn in_a_folder_and_a_bucket(&self) -> (PathBuf, std::process::Output) {
        let local = self.tmp.path().join("local");
        let o = run_demo(
            &self.job,
            local.to_str().unwrap(),
            &self.tmp.path().join("a.sqlite"),
            &[],
        );
        assert!(o.status.success(), "{}", stderr(&o));
        let o = run_demo(
            &self.job,
            IN_THE_BUCKET,
            &self.tmp.path().join("b.sqlite"),
            &[],
        );
        assert!(o.status.success(), "{}", stderr(&o));
        (local, o)
    }
}

/// The files of a local output folder, by key, with their bytes (the lock file aside: the
/// folder's lock is a file that stays, the bucket's an object deleted at the end).
fn folder_objects(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    tree(dir)
        .into_iter()
        .filter(|k| k != ".wecom-attendance.lock")
        .map(|k| {
            let bytes = std::fs::read(dir.join(&k)).unwrap();
            (k, bytes)
        })
        .collect()
}

/// Keys whose bytes carry the run's time or id: compared by key only.
fn timestamped(key: &str) -> bool {
    key.starts_with("_runs/") || key.ends_with(".xlsx") || key.ends_with(".html")
}

/// The keys of a listing with the run report's name (its run id) made generic.
fn keys(objects: &BTreeMap<String, Vec<u8>>) -> Vec<String> {
    objects
        .keys()
        .map(|k| match k.starts_with("_runs/") {
            true => "_runs/<run-id>.json".to_string(),
            false => k.clone(),
        })
        .collect()
}

fn assert_no_secret(text: &str) {
    assert!(
        !text.contains(SECRET) && !text.contains(KEY_ID),
        "a credential leaked: {text}"
    );
}

#[test]
fn the_demo_written_to_a_bucket_equals_the_demo_in_a_folder_object_for_object_and_byte_for_byte() {
    let demo = Demo::start("");
    let (local, o) = demo.in_a_folder_and_a_bucket();
    assert_no_secret(&stderr(&o));

    let files = folder_objects(&local);
    let objects = demo.server.objects("demo");
    assert_eq!(keys(&objects), keys(&files), "the same keys");
    let mut same = 0;
    for (key, bytes) in &files {
        if timestamped(key) {
            continue;
        }
        assert!(objects[key] == *bytes, "{key} differs");
        same += 1;
    }
    assert!(same >= 20, "only {same} objects compared");
    assert!(objects.contains_key("attendance/dt=2026-11-16/_SUCCESS"));
    assert!(
        !objects.contains_key(".wecom-attendance.lock"),
        "the lock is gone at the end"
    );
    let run = objects
        .iter()
        .find(|(k, _)| k.starts_with("_runs/"))
        .map(|(_, b)| String::from_utf8_lossy(b).into_owned())
        .unwrap();
    assert!(run.contains("s3://lake/demo/attendance/dt=2026-11-16/part-0.csv"));
    assert_no_secret(&run);
    let _ = std::io::Write::write_all(
        &mut std::io::stderr(),
        format!(
            "compared {same} objects byte for byte; keys: {}\n",
            keys(&objects).join(" ")
        )
        .as_bytes(),
    );
}

#[test]
fn a_rewritten_window_in_a_bucket_deletes_stale_partitions_and_files_of_formats_not_written() {
    let demo = Demo::start("");
    let server = &demo.server;
    // A date of the window (16–23 November) without meetings, left by an earlier run.
    server.put("demo/attendance/dt=2026-11-21/part-0.csv", b"old");
    server.put("demo/attendance/dt=2026-11-21/_SUCCESS", b"");
    // Outside the window: not ours to delete.
    server.put("demo/attendance/dt=2026-10-01/part-0.csv", b"older");
    demo.run_ok(IN_THE_BUCKET, &[]);
    let objects = server.objects("demo/attendance");
    assert!(
        !objects.keys().any(|k| k.starts_with("dt=2026-11-21")),
        "{objects:?}"
    );
    assert!(objects.contains_key("dt=2026-10-01/part-0.csv"));
    assert!(objects.contains_key("dt=2026-11-18/part-0.parquet"));

    demo.run_ok(IN_THE_BUCKET, &["--format", "csv"]);
    let objects = server.objects("demo/attendance/dt=2026-11-18");
    assert_eq!(
        objects.keys().collect::<Vec<_>>(),
        ["_SUCCESS", "part-0.csv"],
        "the parquet file of the earlier run is gone"
    );
}

#[test]
fn a_put_refused_mid_upload_leaves_no_success_marker_and_the_next_run_completes_the_partition() {
    let demo = Demo::start("");
    let server = &demo.server;
    demo.run_ok(IN_THE_BUCKET, &[]);
    let partition = "demo/attendance/dt=2026-11-18";
    let complete = server.objects(partition);

    // (The path as sent: `=` is percent-encoded.)
    server.refuse_puts_of(Some("2026-11-18/part-0.parquet"));
    let o = demo.run(IN_THE_BUCKET, &["--refetch"]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("bucket lake") && err.contains(&server.endpoint()),
        "names the bucket and the endpoint: {err}"
    );
    assert_no_secret(&err);
    let broken = server.objects(partition);
    assert!(!broken.contains_key("_SUCCESS"), "{:?}", broken.keys());
    assert_eq!(
        broken.get("part-0.parquet"),
        complete.get("part-0.parquet"),
        "the refused object keeps its old bytes, whole"
    );

    server.refuse_puts_of(None);
    demo.run_ok(IN_THE_BUCKET, &[]);
    let repaired = server.objects(partition);
    assert_eq!(repaired, complete);
    let _ = std::io::Write::write_all(
        &mut std::io::stderr(),
        format!(
            "before: {:?}\nafter the refused put: {:?}\nafter the next run: {:?}\n",
            complete.keys().collect::<Vec<_>>(),
            broken.keys().collect::<Vec<_>>(),
            repaired.keys().collect::<Vec<_>>()
        )
        .as_bytes(),
    );
}

#[test]
fn a_run_on_a_locked_prefix_exits_75_and_a_lock_whose_lease_expired_is_taken_over() {
    let demo = Demo::start("");
    let server = &demo.server;
    let lease = |expires_at: i64| {
        format!(r#"{{"holder":"run --job other (run 42)","expires_at":{expires_at}}}"#)
    };
    let now = chrono::Utc::now().timestamp();
    server.put("demo/.wecom-attendance.lock", lease(now + 3600).as_bytes());
    let o = demo.run(IN_THE_BUCKET, &[]);
    assert_eq!(o.status.code(), Some(75), "{}", stderr(&o));
    assert!(stderr(&o).contains("run --job other"), "{}", stderr(&o));
    assert!(
        server
            .objects("demo")
            .keys()
            .all(|k| k == ".wecom-attendance.lock"),
        "nothing written under a held lock"
    );

    server.put("demo/.wecom-attendance.lock", lease(now - 1).as_bytes());
    demo.run_ok(IN_THE_BUCKET, &[]);
    let objects = server.objects("demo");
    assert!(!objects.contains_key(".wecom-attendance.lock"), "released");
    assert!(objects.contains_key("attendance/dt=2026-11-16/_SUCCESS"));
}

#[test]
fn without_conditional_puts_there_is_no_lock_object() {
    let demo = Demo::start("conditional_put = false\n");
    let now = chrono::Utc::now().timestamp();
    let lock = format!(r#"{{"holder":"someone","expires_at":{}}}"#, now + 3600);
    demo.server
        .put("demo/.wecom-attendance.lock", lock.as_bytes());
    demo.run_ok(IN_THE_BUCKET, &[]);
    let objects = demo.server.objects("demo");
    assert_eq!(
        objects[".wecom-attendance.lock"],
        lock.as_bytes(),
        "not read, not written, not deleted"
    );
}

#[test]
fn wrong_credentials_a_missing_bucket_or_an_unreachable_endpoint_stop_the_run_in_one_line() {
    let demo = Demo::start("");
    let (server, store) = (&demo.server, &demo.store);
    let wrong = "wrong-secret-value-1234567890";
    let o = run(bin_s3()
        .env("AWS_SECRET_ACCESS_KEY", wrong)
        .args(["run", "--job"])
        .arg(&demo.job)
        .args(["--out", IN_THE_BUCKET, "--store"])
        .arg(store));
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("access denied"), "{err}");
    assert!(
        err.contains("bucket lake") && err.contains(&server.endpoint()),
        "{err}"
    );
    assert!(!err.contains(wrong) && !err.contains(KEY_ID), "{err}");

    let o = demo.run("s3://nowhere/demo", &[]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("bucket nowhere") && err.contains("does not exist"),
        "{err}"
    );
    assert_no_secret(&err);
    assert!(server.objects("").is_empty(), "nothing written");

    // An endpoint nobody listens on: retried for retry_timeout_s (2 s), then one line.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let text = std::fs::read_to_string(&demo.job)
        .unwrap()
        .replace(&server.endpoint(), &format!("http://{closed}"));
    let unreachable = write_job(demo.tmp.path(), "unreachable", &text);
    let o = run_demo(&unreachable, IN_THE_BUCKET, store, &[]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    let line = err.lines().last().unwrap_or("");
    assert!(
        line.contains("cannot reach the endpoint") && line.contains(&format!("http://{closed}")),
        "{err}"
    );
    assert_no_secret(&err);
}

/// Finds python with pyarrow (`.ci/run` installs it).
fn python_with_pyarrow() -> String {
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let ok = Command::new(&python)
        .args(["-c", "import pyarrow.dataset, pyarrow.fs"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "this test needs {python} with pyarrow: pip install pyarrow (see .ci/run)"
    );
    python
}

#[test]
fn pyarrow_reads_the_bucket_dataset_through_the_s3_api_with_hive_partitioning_as_the_local_csv() {
    let python = python_with_pyarrow();
    let demo = Demo::start("");
    let (local, _) = demo.in_a_folder_and_a_bucket();
    let o = run(Command::new(python)
        .arg(repo().join("tests/object_storage/read_back.py"))
        .arg(demo.server.endpoint())
        .arg("lake/demo/attendance")
        .arg(local.join("attendance"))
        .env("AWS_ACCESS_KEY_ID", KEY_ID)
        .env("AWS_SECRET_ACCESS_KEY", SECRET));
    let out = stdout(&o);
    assert!(o.status.success(), "{out}{}", stderr(&o));
    let _ = std::io::Write::write_all(&mut std::io::stderr(), out.as_bytes());
    assert!(out.contains("same rows"), "{out}");
}

/// The bucket place itself, on `prefix` of the server.
fn bucket_place(server: &S3Server, prefix: &str) -> wecom_attendance::output::bucket::Bucket {
    use wecom_attendance::config::output::{OutputTarget, S3Section};
    let s3 = S3Section {
        endpoint: Some(server.endpoint()),
        allow_http: Some(true),
        retry_timeout_s: Some(2.0),
        ..Default::default()
    };
    let url = format!("s3://{BUCKET}/{prefix}");
    let OutputTarget::Bucket(cfg) = OutputTarget::parse(Path::new(&url), &s3).unwrap() else {
        panic!("not a bucket")
    };
    let scratch = tempfile::tempdir().unwrap();
    wecom_attendance::output::bucket::Bucket::connect(
        &cfg,
        KEY_ID.into(),
        SECRET.into(),
        scratch.path(),
    )
    .unwrap()
}

#[test]
fn a_file_larger_than_a_part_goes_up_in_parts_and_a_failed_one_leaves_the_old_object_whole() {
    use wecom_attendance::output::bucket::PART_BYTES;
    use wecom_attendance::output::place::Place;
    let server = S3Server::start();
    let bucket = bucket_place(&server, "big");
    let place: &dyn Place = &bucket;
    // Two and a half parts, written in small pieces as the CSV and Parquet writers do.
    let size = PART_BYTES * 5 / 2 + 123;
    let bytes: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
    place
        .put_with("t/part-0.csv", |w| {
            for chunk in bytes.chunks(64 * 1024) {
                w.write_all(chunk)?;
            }
            Ok(())
        })
        .unwrap();
    assert!(
        server.objects("big")["t/part-0.csv"] == bytes,
        "the same bytes"
    );

    let err = place
        .put_with("t/part-0.csv", |w| {
            w.write_all(&vec![0u8; PART_BYTES * 3 / 2])?;
            anyhow::bail!("the encoder failed half way")
        })
        .unwrap_err();
    assert!(err.to_string().contains("half way"), "{err:#}");
    let objects = server.objects("big");
    assert_eq!(objects.len(), 1);
    assert!(objects["t/part-0.csv"] == bytes, "the old object, whole");
}
