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
    assert_eq!(r["counts"]["failed"], 25);
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
    // Outputs follow the umask (documented): here 000 gives 0666 files, and the output
    // folder itself, created on the way to the store's, 0777 (only the store's is private).
    assert_eq!(mode(&tmp.path().join("out")), 0o777);
    let part = tmp.path().join("out/attendance/dt=2026-11-20/part-0.csv");
    assert_eq!(mode(&part) & 0o044, 0o044);
}

/// A folder with the demo's bodies plus `extra` (id → body), and a job reading every body of
/// it (no ids file), writing to `dir/out`.
fn folder_with(dir: &Path, extra: &[(&str, String)]) -> std::path::PathBuf {
    let src = dir.join("src");
    copy_tree(&fixtures("demo"), &src);
    std::fs::remove_file(src.join("ids.txt")).unwrap();
    for (id, body) in extra {
        std::fs::write(src.join(format!("{id}.json")), body).unwrap();
    }
    write_job(
        dir,
        "folder",
        &format!(
            "[source]\nkind = \"dir\"\ndir = {src:?}\n[output]\ndir = {:?}\nformats = [\"csv\"]\n",
            dir.join("out")
        ),
    )
}

/// An ended meeting on 2026-11-18 (Asia/Shanghai) with the given member objects.
fn meeting(start: &str, members: &[String]) -> String {
    format!(
        r#"{{"errcode":0,"errmsg":"ok","admin_userid":"boss","title":"t","meeting_start":{start},
            "meeting_duration":3600,"status":3,"attendees":{{"member":[{}]}}}}"#,
        members.join(",")
    )
}

fn member(id: &str, status: i64, join: i64, quit: i64, count: i64, cumulative: &str) -> String {
    format!(
        r#"{{"userid":"{id}","status":{status},"first_join_time":{join},"last_quit_time":{quit},
            "total_join_count":{count},"cumulative_time":{cumulative}}}"#
    )
}

const T: i64 = 1_794_963_600; // 2026-11-18 09:00 in Shanghai

#[test]
fn impossible_times_fail_their_meeting_and_the_others_are_written() {
    let tmp = tempfile::tempdir().unwrap();
    let ok = member("zhangsan", 1, T, T + 3600, 1, "3600");
    let job = folder_with(
        tmp.path(),
        &[
            (
                "hyFarFuture",
                meeting(&i64::MAX.to_string(), std::slice::from_ref(&ok)),
            ),
            (
                "hyMillis",
                meeting(&(T * 1000).to_string(), std::slice::from_ref(&ok)),
            ),
            (
                "hyWraps",
                meeting(
                    &T.to_string(),
                    &[
                        member("a", 1, T, T + 60, 1, &i64::MAX.to_string()),
                        member("b", 1, T, T + 60, 1, &i64::MAX.to_string()),
                    ],
                ),
            ),
            (
                "hyQuitNever",
                meeting(&T.to_string(), &[member("a", 1, T, i64::MAX, 1, "60")]),
            ),
        ],
    );
    let o = run(bin().args(["run", "--job"]).arg(&job));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let out = tmp.path().join("out");
    let r = last_report(&out);
    let failed = failed_ids(&r);
    assert_eq!(
        failed,
        ["hyFarFuture", "hyMillis", "hyQuitNever", "hyWraps"]
    );
    assert!(stderr(&o).contains("outside"), "{}", stderr(&o));
    // The demo's 24 meetings and 7 occurrences are all written, on their own dates only.
    assert_eq!(r["counts"]["meetings_in_window"], 31);
    // The window spans the stored meetings: the weekly series starts on 5 October.
    assert_eq!(r["window"]["from"], "2026-10-05");
    assert_eq!(r["window"]["to"], "2026-11-23");
    let dates: Vec<String> = std::fs::read_dir(out.join("attendance"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        dates
            .iter()
            .all(|d| d.starts_with("dt=2026-10-") || d.starts_with("dt=2026-11-")),
        "{dates:?}"
    );
    // A window as wide as dates go lists the partitions instead of walking every day.
    let o = run(bin()
        .args([
            "summarize",
            "--from",
            "0001-01-01",
            "--to",
            "9999-12-31",
            "--job",
        ])
        .arg(&job));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        out.join("users/window=0001-01-01_9999-12-31/part-0.csv")
            .exists()
    );
}

#[test]
fn a_person_listed_twice_counts_once_and_odd_bodies_fail_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let mut five: Vec<String> = ["p1", "p2", "p3", "p4", "p5"]
        .iter()
        .map(|id| member(id, 2, 0, 0, 0, "0"))
        .collect();
    // p1 twice: absent in one entry, present in the other, seen from T to T+1800 in all.
    five[0] = member("p1", 1, T, T + 600, 1, "600");
    five.push(member("p1", 1, T + 1200, T + 1800, 2, "1500"));
    // p2 repeated verbatim.
    five.push(five[1].clone());
    let both_ids = r#"{"userid":"p9","tmp_external_userid":"wmX","status":1,"first_join_time":1794963600,
        "last_quit_time":1794967200,"total_join_count":1,"cumulative_time":3600}"#;
    let repeated_key = meeting(&T.to_string(), &[member("p1", 1, T, T + 60, 1, "60")]).replacen(
        r#""status":3"#,
        r#""status":3,"status":3"#,
        1,
    );
    let job = folder_with(
        tmp.path(),
        &[
            ("hyFive", meeting(&T.to_string(), &five)),
            (
                "hyBothIds",
                meeting(&(T + 7200).to_string(), &[both_ids.to_string()]),
            ),
            ("hyRepeatedKey", repeated_key),
            ("hyArray", "[]".to_string()),
            ("hyNoMeeting", r#"{"errcode":0,"errmsg":"ok"}"#.to_string()),
        ],
    );
    let o = run(bin().args(["run", "--job"]).arg(&job));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let out = tmp.path().join("out");
    let r = last_report(&out);
    let failed = failed_ids(&r);
    assert_eq!(failed, ["hyArray", "hyNoMeeting"], "{}", stderr(&o));
    assert_eq!(r["quality"]["duplicate_attendees_merged"], 2);
    assert_eq!(r["quality"]["bodies_with_repeated_keys"], 1);
    let meetings = csv_lines(&out.join("meetings/dt=2026-11-18/part-0.csv"));
    let header: Vec<&str> = meetings[0].split(',').collect();
    let col = |row: &str, name: &str| -> String {
        let i = header.iter().position(|h| *h == name).unwrap();
        row.split(',').nth(i).unwrap().to_string()
    };
    let five_row = meetings.iter().find(|l| l.starts_with("hyFive")).unwrap();
    assert_eq!(col(five_row, "members_invited"), "5");
    assert_eq!(col(five_row, "members_attended"), "1");
    // p1 merged: earliest join, latest quit, joins added, time added but capped by the span.
    let attendance = csv_lines(&out.join("attendance/dt=2026-11-18/part-0.csv"));
    let a_header: Vec<&str> = attendance[0].split(',').collect();
    let a_col = |row: &str, name: &str| -> String {
        let i = a_header.iter().position(|h| *h == name).unwrap();
        row.split(',').nth(i).unwrap().to_string()
    };
    let p1: Vec<&String> = attendance
        .iter()
        .filter(|l| l.starts_with("hyFive") && a_col(l, "attendee_id") == "p1")
        .collect();
    assert_eq!(p1.len(), 1);
    assert_eq!(a_col(p1[0], "total_join_count"), "3");
    assert_eq!(a_col(p1[0], "cumulative_time_s"), "1800");
    assert!(a_col(p1[0], "last_quit_time").starts_with("2026-11-18T09:30:00"));
    // The attendee with both ids is a member under its userid.
    assert!(
        attendance
            .iter()
            .any(|l| l.starts_with("hyBothIds") && a_col(l, "attendee_id") == "p9")
    );
    // p1 is counted once per meeting in users: hyFive and hyRepeatedKey.
    let users = csv_lines(&out.join("users/window=2026-10-05_2026-11-23/part-0.csv"));
    let u_header: Vec<&str> = users[0].split(',').collect();
    let p1_row = users.iter().find(|l| l.starts_with("p1,")).unwrap();
    let invited = u_header
        .iter()
        .position(|h| *h == "meetings_invited")
        .unwrap();
    assert_eq!(p1_row.split(',').nth(invited).unwrap(), "2");
}

/// Runs `cmd` for at most `limit`; a run still going then is killed and reported as hung.
fn run_at_most(
    cmd: &mut std::process::Command,
    limit: std::time::Duration,
) -> std::process::Output {
    let child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(limit) {
        Ok(out) => out.unwrap(),
        Err(_) => {
            let _ = std::process::Command::new("kill")
                .args(["-9", &pid.to_string()])
                .status();
            panic!("the run hung (still running after {limit:?})");
        }
    }
}

#[test]
fn a_fifo_or_a_link_to_dev_zero_in_the_source_folder_fails_its_meeting_instead_of_hanging() {
    let tmp = tempfile::tempdir().unwrap();
    let job = folder_with(tmp.path(), &[]);
    let src = tmp.path().join("src");
    let mkfifo = std::process::Command::new("mkfifo")
        .arg(src.join("hyFifo.json"))
        .status()
        .unwrap();
    assert!(mkfifo.success());
    std::os::unix::fs::symlink("/dev/zero", src.join("hyZero.json")).unwrap();
    // Listed explicitly, so the folder listing (which skips them) does not hide them.
    let mut ids: Vec<String> = std::fs::read_dir(fixtures("demo"))
        .unwrap()
        .filter_map(|e| {
            let p = e.unwrap().path();
            (p.extension()? == "json").then(|| p.file_stem().unwrap().to_string_lossy().into())
        })
        .collect();
    ids.extend(["hyFifo".to_string(), "hyZero".to_string()]);
    let ids_file = tmp.path().join("ids.txt");
    std::fs::write(&ids_file, ids.join("\n")).unwrap();
    let o = run_at_most(
        bin()
            .args(["run", "--ids"])
            .arg(&ids_file)
            .arg("--job")
            .arg(&job),
        std::time::Duration::from_secs(120),
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let r = last_report(&tmp.path().join("out"));
    let failed = failed_ids(&r);
    assert_eq!(failed, ["hyFifo", "hyZero"]);
    assert!(stderr(&o).contains("not a regular file"), "{}", stderr(&o));
    assert_eq!(r["counts"]["meetings_in_window"], 31);
}

#[test]
fn errors_about_the_output_folder_and_the_store_name_them() {
    let tmp = tempfile::tempdir().unwrap();
    // A run of the demo's bodies writing to `out` with its store at `store`; stderr when it fails.
    let fails_naming = |name: &str, out: &Path, store: &Path, named: &str| {
        let job = write_job(
            tmp.path(),
            name,
            &format!(
                "[source]\nkind = \"dir\"\ndir = {:?}\n[output]\ndir = {out:?}\n[store]\npath = {store:?}\n",
                fixtures("demo")
            ),
        );
        let o = run(bin().args(["run", "--job"]).arg(&job));
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        assert!(stderr(&o).contains(named), "{}", stderr(&o));
    };
    let unwritable_out = Path::new("/proc/self/no-such-output");
    fails_naming(
        "ro",
        unwritable_out,
        &tmp.path().join("store/raw.sqlite"),
        "/proc/self/no-such-output",
    );
    fails_naming(
        "ro-store",
        &tmp.path().join("out"),
        Path::new("/proc/self/no-such-store/raw.sqlite"),
        "/proc/self/no-such-store",
    );
}

#[tokio::test]
async fn a_run_stopped_by_gettoken_still_counts_the_ids_it_was_asked_for() {
    let s = Scenario::meetings(5, 3).api_job("").start().await;
    let o = run_async({
        let mut c = s.cmd(&["run"]);
        c.env(SECRET_ENV, "wrong-secret");
        c
    })
    .await;
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("5 meetings requested"),
        "{}",
        stderr(&o)
    );
    assert_eq!(s.report()["counts"]["requested"], 5);
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_pseudonyms_an_organizer_whose_listing_fails_is_not_named_in_logs_or_the_report() {
    let g = corpus(20, 17);
    let s = Scenario::serving(&g)
        .organizer("gone.person")
        .fail_always("gone.person", 60111)
        .job("discover", |dir| {
            format!(
                "[api]\ncorpid_env = \"{CORPID_ENV}\"\nsecret_env = \"{SECRET_ENV}\"\n\
                 [ids]\norganizers = [\"gone.person\"]\n[fetch]\nrate = 500\nmax_attempts = 2\n\
                 [output]\ndir = {:?}\nidentity = \"pseudonym\"\npseudonym_key_env = \"HARDENING_PSEUDONYM_KEY\"\n",
                dir.join("out")
            )
        })
        .start()
        .await;
    let day = g.first_day.to_string();
    let o = run_async({
        let mut c = s.cmd(&["run", "--date", &day]);
        c.env("HARDENING_PSEUDONYM_KEY", "a key of sixteen bytes or more");
        c
    })
    .await;
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(!stderr(&o).contains("gone.person"), "{}", stderr(&o));
    assert!(stderr(&o).contains("organizer p_"), "{}", stderr(&o));
    for f in tree(&s.out()) {
        let bytes = std::fs::read(s.out().join(&f)).unwrap();
        assert!(
            !String::from_utf8_lossy(&bytes).contains("gone.person"),
            "{f} names the organizer"
        );
    }
    s.shutdown().await;
}

/// A raw userid an `errmsg` echoes, which pseudonym mode must keep out of every message.
const ECHOED: &str = "zhang.san01";

/// Asserts that nothing the run printed or wrote under `out` holds [`ECHOED`].
fn echoed_nowhere(o: &std::process::Output, out: &Path) {
    assert!(!stderr(o).contains(ECHOED), "{}", stderr(o));
    assert!(!stdout(o).contains(ECHOED), "{}", stdout(o));
    for f in tree(out) {
        let bytes = std::fs::read(out.join(&f)).unwrap();
        assert!(
            !String::from_utf8_lossy(&bytes).contains(ECHOED),
            "{f} holds the echoed userid"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_pseudonyms_an_errmsg_echoing_a_userid_reaches_neither_the_report_the_log_nor_the_summary()
 {
    let g = corpus(3, 18);
    let mut ids = ids_of(&g);
    ids.push("hyEcho".into());
    let echo =
        format!(r#"{{"errcode":90602,"errmsg":"meeting of {ECHOED} is not visible to this app"}}"#);
    let listed = ids.clone();
    let s = Scenario::serving(&g)
        .meeting("hyEcho", "boss", 1_794_963_600, &echo)
        .job("pseudo", move |dir| {
            let ids_file = dir.join("ids.txt");
            std::fs::write(&ids_file, listed.join("\n")).unwrap();
            format!(
                "[api]\ncorpid_env = \"{CORPID_ENV}\"\nsecret_env = \"{SECRET_ENV}\"\n\
                 [ids]\nfile = {ids_file:?}\n[fetch]\nrate = 500\n\
                 [output]\ndir = {:?}\nidentity = \"pseudonym\"\npseudonym_key_env = \"HARDENING_PSEUDONYM_KEY\"\n",
                dir.join("out")
            )
        })
        .start()
        .await;
    let o = run_async({
        let mut c = s.cmd(&["run"]);
        c.env("HARDENING_PSEUDONYM_KEY", "a key of sixteen bytes or more");
        c
    })
    .await;
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    // The errcode stays, in the summary and the report.
    assert!(
        stderr(&o).contains("hyEcho errcode 90602"),
        "{}",
        stderr(&o)
    );
    let r = s.report();
    assert_eq!(r["failures"][0]["errcode"], 90602);
    echoed_nowhere(&o, &s.out());
    s.shutdown().await;
}

#[test]
fn with_pseudonyms_an_errmsg_in_a_captured_body_reaches_no_message_either() {
    let tmp = tempfile::tempdir().unwrap();
    let job = private_copy(tmp.path(), "demo");
    let text = std::fs::read_to_string(&job).unwrap();
    std::fs::write(
        &job,
        text.replace(
            "[output]\n",
            "[output]\nidentity = \"pseudonym\"\npseudonym_key_env = \"HARDENING_PSEUDONYM_KEY\"\n",
        ),
    )
    .unwrap();
    let src = tmp.path().join("src");
    let id = std::fs::read_to_string(src.join("ids.txt")).unwrap();
    let id = id.lines().find(|l| !l.starts_with('#')).unwrap().to_owned();
    std::fs::write(
        src.join(format!("{id}.json")),
        format!(r#"{{"errcode":90602,"errmsg":"no meeting for {ECHOED}"}}"#),
    )
    .unwrap();
    let o = run(bin()
        .arg("run")
        .args(DEMO_WINDOW)
        .arg("--job")
        .arg(&job)
        .env("HARDENING_PSEUDONYM_KEY", "a key of sixteen bytes or more"));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("errcode 90602"), "{}", stderr(&o));
    echoed_nowhere(&o, &tmp.path().join("out"));
}
