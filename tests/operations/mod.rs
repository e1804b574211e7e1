//! Nightly-run operations with the directory source: the store, reruns, partition replacement,
//! the lock, machine-readable logs. (Network behaviour is in `wecom_client`.)

use crate::common::*;

#[test]
fn summarize_reads_only_the_store_after_fetch() {
    let tmp = tempfile::tempdir().unwrap();
    let job = private_copy(tmp.path(), "demo");
    let o = run(bin().args(["fetch", "--job"]).arg(&job));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = tmp.path().join("out");
    assert!(!out.join("attendance").exists(), "fetch writes no tables");
    // The source is gone: summarize must not need it.
    std::fs::remove_dir_all(tmp.path().join("src")).unwrap();
    let o = run(bin().args(["summarize", "--job"]).arg(&job));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(out.join("attendance/dt=2026-11-20/part-0.parquet").exists());
    let r = last_report(&out);
    assert_eq!(r["command"], "summarize");
    assert_eq!(r["counts"]["meetings_in_window"], 31);
}

#[test]
fn the_store_keeps_every_body_verbatim() {
    let tmp = tempfile::tempdir().unwrap();
    let job = dir_job(tmp.path(), "quirks");
    run(bin().args(["fetch", "--job"]).arg(&job));
    let store = wecom_attendance::fetch::store::Store::open(
        &tmp.path().join("out/_store/raw.sqlite"),
        "dir",
    )
    .unwrap();
    // Including the body that does not parse: nothing WeCom sent is lost.
    for id in ["qstrings", "qnoattendees", "qbroken"] {
        let want = std::fs::read(fixtures("quirks").join(format!("{id}.json"))).unwrap();
        assert_eq!(store.body(id).unwrap().as_deref(), Some(&want[..]), "{id}");
    }
}

#[test]
fn a_rerun_fetches_only_meetings_that_are_not_final_unless_refetch() {
    let tmp = tempfile::tempdir().unwrap();
    let job = dir_job(tmp.path(), "demo");
    let out = tmp.path().join("out");
    assert_eq!(
        run(bin().args(["run", "--job"]).arg(&job)).status.code(),
        Some(0)
    );
    let first = last_report(&out);
    assert_eq!(first["counts"]["fetched"], 32);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    assert_eq!(
        run(bin().args(["run", "--job"]).arg(&job)).status.code(),
        Some(0)
    );
    let second = last_report(&out);
    // 23 meetings and 6 occurrences ended, were cancelled or expired; the upcoming meeting,
    // the upcoming occurrence and the series' head (not over) are fetched again.
    assert_eq!(second["counts"]["reused_from_store"], 29);
    assert_eq!(second["counts"]["fetched"], 3);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let o = run(bin().args(["run", "--refetch", "--job"]).arg(&job));
    assert_eq!(o.status.code(), Some(0));
    let third = last_report(&out);
    assert_eq!(third["counts"]["reused_from_store"], 0);
    assert_eq!(third["counts"]["fetched"], 32);
}

#[test]
fn a_rerun_replaces_exactly_the_partitions_of_its_window() {
    let tmp = tempfile::tempdir().unwrap();
    let job = dir_job(tmp.path(), "demo");
    let out = tmp.path().join("out");
    // Old partitions: one inside the coming window that has no meetings now, one outside it.
    for d in ["attendance/dt=2026-11-21", "attendance/dt=2026-12-01"] {
        std::fs::create_dir_all(out.join(d)).unwrap();
        std::fs::write(out.join(d).join("part-0.csv"), "old").unwrap();
    }
    // A temporary file left by a killed writer.
    std::fs::create_dir_all(out.join("attendance/dt=2026-11-17")).unwrap();
    std::fs::write(
        out.join("attendance/dt=2026-11-17/.part-0.csv.tmp-1"),
        "half",
    )
    .unwrap();
    let o = run(bin()
        .args(["run", "--from", "2026-11-16", "--to", "2026-11-21", "--job"])
        .arg(&job));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(!out.join("attendance/dt=2026-11-21").exists());
    assert!(out.join("attendance/dt=2026-12-01/part-0.csv").exists());
    assert!(
        !out.join("attendance/dt=2026-11-17/.part-0.csv.tmp-1")
            .exists()
    );
    assert!(out.join("attendance/dt=2026-11-17/_SUCCESS").exists());
    assert_eq!(last_report(&out)["rows"]["partitions_removed"], 1);
}

#[test]
fn a_rewritten_partition_keeps_no_file_of_a_format_not_written_this_time() {
    // Nightly writes CSV and Parquet; an ad-hoc `--format csv` rerun of a date must not leave
    // last night's Parquet under its fresh `_SUCCESS`, where it would pass for current.
    let tmp = tempfile::tempdir().unwrap();
    let job = dir_job(tmp.path(), "demo");
    let out = tmp.path().join("out");
    let o = run(bin().args(["run", "--job"]).arg(&job));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let day = out.join("attendance/dt=2026-11-17");
    assert!(day.join("part-0.parquet").exists());
    let o = run(bin()
        .args([
            "summarize",
            "--date",
            "2026-11-17",
            "--format",
            "csv",
            "--job",
        ])
        .arg(&job));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(day.join("part-0.csv").exists() && day.join("_SUCCESS").exists());
    assert!(!day.join("part-0.parquet").exists());
    assert!(!out.join("meetings/dt=2026-11-17/part-0.parquet").exists());
    // Dates outside that window keep both.
    assert!(out.join("attendance/dt=2026-11-18/part-0.parquet").exists());
}

#[test]
fn a_second_run_on_the_same_store_exits_75_naming_the_holder() {
    let tmp = tempfile::tempdir().unwrap();
    let job = dir_job(tmp.path(), "demo");
    let store = tmp.path().join("out/_store/raw.sqlite");
    let held = wecom_attendance::fetch::lock::acquire(&store, "run --job other").unwrap();
    let o = run(bin().args(["run", "--job"]).arg(&job));
    assert_eq!(o.status.code(), Some(75), "{}", stderr(&o));
    assert!(stderr(&o).contains("run --job other"), "{}", stderr(&o));
    drop(held);
    assert_eq!(
        run(bin().args(["run", "--job"]).arg(&job)).status.code(),
        Some(0)
    );
}

#[test]
fn a_lock_left_by_a_killed_process_does_not_block_the_next_run() {
    let tmp = tempfile::tempdir().unwrap();
    let job = dir_job(tmp.path(), "demo");
    let store = tmp.path().join("out/_store/raw.sqlite");
    std::fs::create_dir_all(store.parent().unwrap()).unwrap();
    let lock = wecom_attendance::fetch::lock::lock_path(&store);
    // flock(1) holds the same kind of lock; --close keeps it in flock's process only.
    let mut holder = std::process::Command::new("flock")
        .arg("--close")
        .arg(&lock)
        .args(["sleep", "30"])
        .spawn()
        .expect("flock(1) from util-linux");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let o = run(bin().args(["run", "--job"]).arg(&job));
        if o.status.code() == Some(75) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "flock never took the lock"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    holder.kill().unwrap(); // SIGKILL
    holder.wait().unwrap();
    let o = run(bin().args(["run", "--job"]).arg(&job));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn json_logs_keep_stderr_machine_readable() {
    let tmp = tempfile::tempdir().unwrap();
    let job = dir_job(tmp.path(), "demo");
    let o = run(bin()
        .args(["run", "--log-format", "json", "--job"])
        .arg(&job));
    assert_eq!(o.status.code(), Some(0));
    let err = stderr(&o);
    let lines: Vec<_> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(lines.len() >= 2, "{err}");
    for l in &lines {
        let v: serde_json::Value =
            serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"));
        assert!(v.get("level").is_some(), "{l}");
    }
    assert!(err.contains("run finished"), "{err}");
}

#[test]
fn the_demos_log_prints_values_never_a_rust_option() {
    let tmp = tempfile::tempdir().unwrap();
    let o = run(bin()
        .current_dir(repo())
        .args(["run", "--job", "jobs/demo.toml", "--out"])
        .arg(tmp.path().join("out"))
        .arg("--store")
        .arg(tmp.path().join("raw.sqlite")));
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(err.contains("fetching"), "{err}");
    for needle in ["None", "Some("] {
        assert!(!err.contains(needle), "{needle} in the log:\n{err}");
    }
}

#[test]
fn the_help_text_names_no_secret_flag() {
    let o = run(bin().args(["run", "--help"]));
    let help = stdout(&o);
    assert!(help.contains("--job"));
    assert!(!help.to_lowercase().contains("--secret"));
    assert!(!help.to_lowercase().contains("--corpid"));
}

/// Waits for `child`, killing it (and failing) if it runs longer than `limit`.
fn wait_at_most(
    child: &mut std::process::Child,
    limit: std::time::Duration,
) -> std::process::ExitStatus {
    let deadline = std::time::Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("still running after {limit:?}: it hangs");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn a_run_whose_log_reader_went_away_still_finishes_its_work() {
    // Cron piping stderr into a logger that crashed: every log line now fails (EPIPE). The
    // run must neither hang nor panic; its tables and report are what matter.
    let tmp = tempfile::tempdir().unwrap();
    let job = dir_job(tmp.path(), "demo");
    let mut child = bin()
        .args(["run", "--job"])
        .arg(&job)
        .env("RUST_LOG", "debug")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stderr.take());
    let status = wait_at_most(&mut child, std::time::Duration::from_secs(120));
    assert_eq!(status.code(), Some(0));
    let out = tmp.path().join("out");
    assert_eq!(last_report(&out)["counts"]["meetings_in_window"], 31);
    assert!(out.join("users").read_dir().unwrap().next().is_some());
}

#[test]
fn listing_ids_into_a_reader_that_stops_early_is_not_an_error() {
    // `wecom-attendance ids … | head -1`: the reader closing the pipe ends the listing quietly.
    let tmp = tempfile::tempdir().unwrap();
    let job = dir_job(tmp.path(), "demo");
    let mut child = bin()
        .args(["ids", "--job"])
        .arg(&job)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let status = wait_at_most(&mut child, std::time::Duration::from_secs(60));
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert_eq!(status.code(), Some(0), "{err}");
    assert!(!err.contains("panicked") && !err.contains("Error"), "{err}");
}
