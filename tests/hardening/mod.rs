//! What a hostile input, a broken server or a bad night must not do: delete good partitions,
//! hang, leak a secret or miscount. Each test names the failure it guards against.

use crate::common::*;
use std::path::Path;

/// The demo's dates.
const DEMO_WINDOW: [&str; 4] = ["--from", "2026-11-16", "--to", "2026-11-23"];

fn demo_run(job: &Path, extra: &[&str]) -> std::process::Output {
    run(bin()
        .arg("run")
        .args(DEMO_WINDOW)
        .args(extra)
        .arg("--job")
        .arg(job))
}

#[test]
fn a_run_whose_meetings_all_fail_keeps_the_windows_partitions_and_users() {
    let tmp = tempfile::tempdir().unwrap();
    let job = private_copy(tmp.path(), "demo");
    let out = tmp.path().join("out");
    let o = demo_run(&job, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let before = tree(&out.join("attendance"));
    let users = out.join("users/window=2026-11-16_2026-11-23/part-0.csv");
    let users_before = std::fs::read(&users).unwrap();
    // A new store (the old one lost) and a source that answers nothing: every meeting fails.
    std::fs::remove_dir_all(out.join("_store")).unwrap();
    for e in std::fs::read_dir(tmp.path().join("src")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "json") {
            std::fs::remove_file(p).unwrap();
        }
    }
    let o = demo_run(&job, &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(tree(&out.join("attendance")), before, "no partition lost");
    assert_eq!(
        std::fs::read(&users).unwrap(),
        users_before,
        "users not emptied"
    );
    let r = last_report(&out);
    assert_eq!(r["counts"]["failed"], 24);
    assert_eq!(r["tables_kept"], true);
}

#[test]
fn a_date_whose_meetings_failed_keeps_its_partition_while_the_others_are_rewritten() {
    let tmp = tempfile::tempdir().unwrap();
    let job = private_copy(tmp.path(), "demo");
    let out = tmp.path().join("out");
    assert_eq!(demo_run(&job, &[]).status.code(), Some(0));
    let day = out.join("attendance/dt=2026-11-23/part-0.csv");
    let kept = std::fs::read(&day).unwrap();
    // The meetings of 2026-11-23 cannot be fetched into a fresh store; the others can.
    std::fs::remove_dir_all(out.join("_store")).unwrap();
    let lost: Vec<String> = csv_lines(&out.join("meetings/dt=2026-11-23/part-0.csv"))
        .iter()
        .skip(1)
        .map(|l| l.split(',').next().unwrap().to_string())
        .collect();
    assert!(!lost.is_empty());
    for id in &lost {
        std::fs::remove_file(tmp.path().join("src").join(format!("{id}.json"))).unwrap();
    }
    let o = demo_run(&job, &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(
        std::fs::read(&day).unwrap(),
        kept,
        "the failed date keeps its rows"
    );
    assert!(out.join("attendance/dt=2026-11-20/_SUCCESS").exists());
    assert_eq!(
        last_report(&out)["rows"]["partitions_kept"],
        2,
        "attendance and meetings"
    );
}

#[test]
fn summarize_refuses_an_empty_store_file_and_creates_no_store_or_lock() {
    let tmp = tempfile::tempdir().unwrap();
    let job = dir_job(tmp.path(), "demo");
    let out = tmp.path().join("out");
    assert_eq!(
        run(bin().args(["run", "--job"]).arg(&job)).status.code(),
        Some(0)
    );
    let before = tree(&out.join("attendance"));
    let store = out.join("_store/raw.sqlite");
    std::fs::remove_dir_all(out.join("_store")).unwrap();
    // No store at all: refused, and nothing is created where there was nothing.
    let o = run(bin().args(["summarize", "--job"]).arg(&job));
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&store.display().to_string()),
        "{}",
        stderr(&o)
    );
    assert!(
        !out.join("_store").exists(),
        "no store folder, store or lock created"
    );
    // A 0-byte store (a truncated copy): refused the same way, naming the path.
    std::fs::create_dir_all(out.join("_store")).unwrap();
    std::fs::write(&store, b"").unwrap();
    let o = run(bin().args(["summarize", "--job"]).arg(&job));
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("empty file"), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&store.display().to_string()),
        "{}",
        stderr(&o)
    );
    assert_eq!(
        std::fs::metadata(&store).unwrap().len(),
        0,
        "left as it was"
    );
    assert_eq!(tree(&out.join("attendance")), before);
    // Not a database at all: refused, naming the path.
    std::fs::write(&store, b"not a database, just text that is long enough").unwrap();
    let o = run(bin().args(["summarize", "--job"]).arg(&job));
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&store.display().to_string()),
        "{}",
        stderr(&o)
    );
    assert_eq!(tree(&out.join("attendance")), before);
}

#[test]
fn two_jobs_writing_one_output_folder_do_not_interleave_the_second_exits_75() {
    let tmp = tempfile::tempdir().unwrap();
    let job = dir_job(tmp.path(), "demo");
    let out = tmp.path().join("out");
    let held =
        wecom_attendance::fetch::lock::acquire_output(&out, "run --job other-store").unwrap();
    let o = run(bin().args(["run", "--job"]).arg(&job));
    assert_eq!(o.status.code(), Some(75), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("run --job other-store"),
        "{}",
        stderr(&o)
    );
    assert!(
        !out.join("attendance").exists(),
        "nothing written under the other run"
    );
    drop(held);
    assert_eq!(
        run(bin().args(["run", "--job"]).arg(&job)).status.code(),
        Some(0)
    );
}

#[test]
fn the_store_is_private_whatever_the_umask() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let job = dir_job(tmp.path(), "demo");
    let o = run(std::process::Command::new("sh").arg("-c").arg(format!(
        "umask 000; exec {} run --job {}",
        env!("CARGO_BIN_EXE_wecom-attendance"),
        job.display()
    )));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let store = tmp.path().join("out/_store");
    assert_eq!(mode(&store), 0o700);
    for f in ["raw.sqlite", "raw.sqlite.lock"] {
        assert_eq!(mode(&store.join(f)), 0o600, "{f}");
    }
    // Outputs follow the umask (documented): here 000 gives 0666 files.
    let part = tmp.path().join("out/attendance/dt=2026-11-20/part-0.csv");
    assert_eq!(mode(&part) & 0o044, 0o044);
}
