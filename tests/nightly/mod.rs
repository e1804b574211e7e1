//! Nights over months: meetings stored while unfinished are fetched again by later nights
//! (lookback), failures belong to the window that asked for them, and a meeting WeCom keeps
//! refusing is given up instead of failing every night for ever.

mod refetch;

use crate::common::*;
use std::path::{Path, PathBuf};

const D18: i64 = 1_794_963_600; // 2026-11-18 09:00 in Shanghai
const D19: i64 = D18 + 86_400;

fn member(id: &str, status: i64, join: i64, quit: i64) -> String {
    format!(
        r#"{{"userid":"{id}","status":{status},"first_join_time":{join},"last_quit_time":{quit},
            "total_join_count":{},"cumulative_time":{}}}"#,
        i64::from(status == 1),
        if status == 1 { quit - join } else { 0 }
    )
}

fn body(start: i64, status: i64, members: &[String]) -> String {
    format!(
        r#"{{"errcode":0,"errmsg":"ok","admin_userid":"boss","title":"weekly","meeting_start":{start},
            "meeting_duration":3600,"status":{status},"attendees":{{"member":[{}]}}}}"#,
        members.join(",")
    )
}

/// A job over the folder `dir/src` (bodies written by the test), with the ids of `ids.txt`.
fn folder_job(dir: &Path) -> PathBuf {
    let src = dir.join("src");
    std::fs::create_dir_all(&src).unwrap();
    write_job(
        dir,
        "nightly",
        &format!(
            "[source]\nkind = \"dir\"\ndir = {src:?}\n[ids]\nfile = {:?}\n[output]\ndir = {:?}\nformats = [\"csv\"]\n",
            dir.join("ids.txt"),
            dir.join("out")
        ),
    )
}

fn put(dir: &Path, id: &str, body: &str) {
    std::fs::write(dir.join("src").join(format!("{id}.json")), body).unwrap();
}

fn ids(dir: &Path, ids: &[&str]) {
    std::fs::write(dir.join("ids.txt"), ids.join("\n")).unwrap();
}

/// The first column named `name` of a CSV table's rows.
fn column(path: &Path, name: &str) -> Vec<String> {
    let lines = csv_lines(path);
    let col = lines[0].split(',').position(|h| h == name).unwrap();
    lines
        .iter()
        .skip(1)
        .map(|l| l.split(',').nth(col).unwrap().to_string())
        .collect()
}

fn attendance_ids(out: &Path, date: &str) -> Vec<String> {
    column(
        &out.join(format!("attendance/dt={date}/part-0.csv")),
        "attendee_id",
    )
}

/// One night: `run --date DATE` of `job`.
fn night(job: &Path, date: &str) -> std::process::Output {
    run(bin().args(["run", "--date", date, "--job"]).arg(job))
}

/// A folder job after the night of the 18th, when the evening meeting, its only id, was still
/// running with one person joined so far: the folder (kept while the test runs), the job and
/// its output folder.
fn after_the_evening_in_progress() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let job = folder_job(dir);
    let out = dir.join("out");
    put(
        dir,
        "hyEvening",
        &body(D18, 2, &[member("zhangsan", 1, D18, D18 + 600)]),
    );
    ids(dir, &["hyEvening"]);
    let o = night(&job, "2026-11-18");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    (tmp, job, out)
}

/// The evening meeting once it has ended, with two attendees.
fn evening_ended() -> String {
    body(
        D18,
        3,
        &[
            member("zhangsan", 1, D18, D18 + 3600),
            member("lisi", 1, D18 + 60, D18 + 3000),
        ],
    )
}

/// The next night's own meeting, its only id: that night asks only for the 19th.
fn next_night(dir: &Path) {
    put(
        dir,
        "hyNext",
        &body(D19, 3, &[member("wangwu", 1, D19, D19 + 3600)]),
    );
    ids(dir, &["hyNext"]);
}

#[test]
fn a_meeting_in_progress_at_night_gets_its_final_rows_from_the_next_nights_lookback() {
    let (tmp, job, out) = after_the_evening_in_progress();
    let dir = tmp.path();
    assert_eq!(attendance_ids(&out, "2026-11-18"), ["zhangsan"]);
    // By the next night it has ended with two attendees; that night asks only for the 19th.
    put(dir, "hyEvening", &evening_ended());
    next_night(dir);
    let o = night(&job, "2026-11-19");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(attendance_ids(&out, "2026-11-18"), ["zhangsan", "lisi"]);
    let r = last_report(&out);
    assert_eq!(r["counts"]["lookback"], 1);
    assert_eq!(r["counts"]["lookback_changed_dates"], 1);
    // The month's users table counts the meeting, now ended.
    let o = run(bin()
        .args([
            "summarize",
            "--from",
            "2026-11-01",
            "--to",
            "2026-11-30",
            "--job",
        ])
        .arg(&job));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let users = csv_lines(&out.join("users/window=2026-11-01_2026-11-30/part-0.csv"));
    assert!(
        users.iter().any(|l| l.starts_with("lisi,member,1,1,")),
        "{users:?}"
    );
    // A third night finds it final: no lookback fetch, nothing rewritten.
    let o = night(&job, "2026-11-19");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(last_report(&out)["counts"]["lookback"], 0);
}

#[test]
fn a_failure_counts_only_for_the_window_that_asked_for_its_meeting() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let job = folder_job(dir);
    put(
        dir,
        "hyOk18",
        &body(D18, 3, &[member("a", 1, D18, D18 + 60)]),
    );
    put(
        dir,
        "hyOk19",
        &body(D19, 3, &[member("a", 1, D19, D19 + 60)]),
    );
    // hyGone has no body: it fails on the night of the 18th.
    ids(dir, &["hyOk18", "hyGone"]);
    let o = night(&job, "2026-11-18");
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    ids(dir, &["hyOk19"]);
    let o = night(&job, "2026-11-19");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = run(bin()
        .args(["summarize", "--date", "2026-11-19", "--job"])
        .arg(&job));
    assert_eq!(
        o.status.code(),
        Some(0),
        "the 18th's failure is not the 19th's: {}",
        stderr(&o)
    );
    let o = run(bin()
        .args(["summarize", "--date", "2026-11-18", "--job"])
        .arg(&job));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("hyGone"), "{}", stderr(&o));
}

#[tokio::test]
async fn a_meeting_refused_for_good_is_given_up_after_three_runs_and_listed_not_counted() {
    let s = Scenario::meetings(3, 11).api_job("").start().await;
    let gone = ids_of(&corpus(3, 11))[0].clone();
    s.fake.fail_always(&gone, 90602);
    for night in 1..=3 {
        let o = s.run(&["run"]).await;
        assert_eq!(o.status.code(), Some(2), "night {night}: {}", stderr(&o));
    }
    let calls = s.fake.get_info_calls_for(&gone);
    let o = s.run(&["run"]).await;
    assert_eq!(
        o.status.code(),
        Some(0),
        "given up, not failed: {}",
        stderr(&o)
    );
    assert_eq!(s.fake.get_info_calls_for(&gone), calls, "not fetched again");
    let r = s.report();
    assert_eq!(r["counts"]["failed"], 0);
    let given_up = r["given_up"].as_array().unwrap();
    assert_eq!(given_up.len(), 1);
    assert_eq!(given_up[0]["meetingid"], gone.as_str());
    assert_eq!(given_up[0]["errcode"], 90602);
    assert_eq!(given_up[0]["permanent_runs"], 3);
    assert!(
        given_up[0]["first_failed_at"].as_str().unwrap()
            <= given_up[0]["last_failed_at"].as_str().unwrap()
    );
    // --refetch tries it again.
    let o = s.run(&["run", "--refetch"]).await;
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(s.fake.get_info_calls_for(&gone), calls + 1);
    s.shutdown().await;
}

#[test]
fn the_metrics_file_tells_cron_monitoring_how_the_last_run_went_and_keeps_the_last_success() {
    let tmp = tempfile::tempdir().unwrap();
    let job = dir_job(tmp.path(), "demo");
    let metrics = tmp.path().join("textfile/wecom.prom");
    std::fs::create_dir_all(metrics.parent().unwrap()).unwrap();
    let o = run(bin()
        .args(["run", "--job"])
        .arg(&job)
        .arg("--metrics-file")
        .arg(&metrics));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = std::fs::read_to_string(&metrics).unwrap();
    let value = |text: &str, prefix: &str| -> f64 {
        let line = text
            .lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix} in\n{text}"));
        line.rsplit(' ').next().unwrap().parse().unwrap()
    };
    let success = value(
        &text,
        "wecom_attendance_last_success_timestamp_seconds{job=\"demo\"}",
    );
    assert!(success > 1.7e9);
    assert_eq!(
        value(
            &text,
            "wecom_attendance_last_run_exit_code{job=\"demo\",command=\"run\"}"
        ),
        0.0
    );
    assert_eq!(
        value(
            &text,
            "wecom_attendance_last_run_meetings{job=\"demo\",state=\"requested\"}"
        ),
        25.0
    );
    assert!(
        value(
            &text,
            "wecom_attendance_last_run_rows_written{job=\"demo\",table=\"attendance\"}"
        ) > 0.0
    );
    // A run that cannot take the lock: exit 75, and the last success is carried over.
    let store = tmp.path().join("out/_store/raw.sqlite");
    let held = wecom_attendance::fetch::lock::acquire(&store, "run --job other").unwrap();
    let o = run(bin()
        .args(["run", "--job"])
        .arg(&job)
        .arg("--metrics-file")
        .arg(&metrics));
    assert_eq!(o.status.code(), Some(75), "{}", stderr(&o));
    drop(held);
    let text = std::fs::read_to_string(&metrics).unwrap();
    assert_eq!(
        value(
            &text,
            "wecom_attendance_last_success_timestamp_seconds{job=\"demo\"}"
        ),
        success
    );
    assert_eq!(
        value(
            &text,
            "wecom_attendance_last_run_exit_code{job=\"demo\",command=\"run\"}"
        ),
        75.0
    );
    // No temporary file is left beside it.
    let names: Vec<_> = std::fs::read_dir(metrics.parent().unwrap())
        .unwrap()
        .collect();
    assert_eq!(names.len(), 1);
}

/// `cmd` (arguments after `--job JOB`) with `--metrics-file metrics`: its exit code.
fn with_metrics(cmd: &[&str], job: &Path, extra: &[&str], metrics: &Path) -> Option<i32> {
    let o = run(bin()
        .args(cmd)
        .arg("--job")
        .arg(job)
        .args(extra)
        .arg("--metrics-file")
        .arg(metrics));
    o.status.code()
}

#[test]
fn a_dry_run_or_a_check_leaves_the_metrics_file_as_it_was() {
    let tmp = tempfile::tempdir().unwrap();
    let job = dir_job(tmp.path(), "demo");
    let metrics = tmp.path().join("wecom.prom");
    assert_eq!(with_metrics(&["run"], &job, &[], &metrics), Some(0));
    let before = std::fs::read(&metrics).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    for (cmd, extra) in [
        (&["run"][..], &["--dry-run"][..]),
        (&["fetch"], &["--dry-run"]),
        (&["check"], &[]),
        // A dry run stopped by a bad window leaves it too.
        (&["run"], &["--dry-run", "--date", "not-a-date"]),
    ] {
        with_metrics(cmd, &job, extra, &metrics);
        assert_eq!(
            String::from_utf8(std::fs::read(&metrics).unwrap()).unwrap(),
            String::from_utf8(before.clone()).unwrap(),
            "{cmd:?} {extra:?}"
        );
    }
}

#[test]
fn every_metrics_series_is_labelled_with_the_jobs_name_early_stops_included() {
    let tmp = tempfile::tempdir().unwrap();
    let src = fixtures("demo");
    // The file stem is not the job's name.
    let job = write_job(
        tmp.path(),
        "nightly.cn",
        &format!(
            "name = \"attendance\"\n[source]\nkind = \"dir\"\ndir = {:?}\n[ids]\nfile = {:?}\n\
             [output]\ndir = {:?}\n",
            src,
            src.join("ids.txt"),
            tmp.path().join("out")
        ),
    );
    let metrics = tmp.path().join("wecom.prom");
    let labels = |metrics: &Path| -> Vec<String> {
        let text = std::fs::read_to_string(metrics).unwrap();
        let mut jobs: Vec<String> = text
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| {
                l.split("job=\"")
                    .nth(1)
                    .unwrap()
                    .split('"')
                    .next()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        jobs.dedup();
        jobs
    };
    assert_eq!(with_metrics(&["run"], &job, &[], &metrics), Some(0));
    assert_eq!(labels(&metrics), ["attendance"]);
    // Stopped by the lock (exit 75), by a bad window (exit 1): still the job's name.
    let store = tmp.path().join("out/_store/raw.sqlite");
    let held = wecom_attendance::fetch::lock::acquire(&store, "run --job other").unwrap();
    assert_eq!(with_metrics(&["run"], &job, &[], &metrics), Some(75));
    drop(held);
    assert_eq!(labels(&metrics), ["attendance"]);
    let bad_date = ["--date", "not-a-date"];
    assert_eq!(with_metrics(&["run"], &job, &bad_date, &metrics), Some(1));
    assert_eq!(labels(&metrics), ["attendance"]);
}

#[tokio::test]
async fn a_dry_run_plans_the_calls_and_makes_no_get_info_call_nor_writes_anything() {
    let s = Scenario::meetings(6, 5).api_job("").start().await;
    // Half of them stored, final, by an earlier run.
    let ids = ids_of(&corpus(6, 5));
    let o = s.run(&["run", "--dry-run"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("ids:          6"), "{text}");
    assert!(text.contains("6 × get_info planned"), "{text}");
    assert!(text.contains("duration:"), "{text}");
    assert_eq!(s.fake.stats().get_info_calls, 0);
    assert!(
        !s.out().exists(),
        "nothing written: {:?}",
        std::fs::read_dir(s.dir()).unwrap().count()
    );
    s.run_ok(&["run"]).await;
    let o = s.run(&["fetch", "--dry-run"]).await;
    let text = stdout(&o);
    let final_count = text
        .lines()
        .find(|l| l.starts_with("meetings:"))
        .unwrap()
        .to_string();
    assert!(final_count.contains("already final in the store"), "{text}");
    assert_eq!(
        s.fake.stats().get_info_calls,
        ids.len() as u64,
        "only the real run called"
    );
    s.shutdown().await;
}
