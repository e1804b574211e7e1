//! End-to-end: the real binary over the fixture folders (directory source, no network).

use crate::common::*;
use polars::prelude::*;

#[test]
fn the_demo_job_writes_every_table_in_the_hive_layout_and_exits_zero() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let o = run(bin()
        .current_dir(repo())
        .args(["run", "--job", "jobs/demo.toml", "--out"])
        .arg(&out)
        .arg("--store")
        .arg(tmp.path().join("store.sqlite")));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let files = tree(&out);
    for day in [
        "2026-11-16",
        "2026-11-17",
        "2026-11-18",
        "2026-11-19",
        "2026-11-20",
    ] {
        for table in ["attendance", "meetings"] {
            for f in ["part-0.csv", "part-0.parquet", "_SUCCESS"] {
                let want = format!("{table}/dt={day}/{f}");
                assert!(files.contains(&want), "missing {want} in {files:?}");
            }
        }
    }
    assert!(files.contains(&"users/window=2026-10-05_2026-11-23/part-0.csv".to_string()));
    assert!(files.contains(&"users/window=2026-10-05_2026-11-23/part-0.parquet".to_string()));
    let report = last_report(&out);
    assert_eq!(report["counts"]["requested"], 25);
    assert_eq!(report["counts"]["failed"], 0);
    assert!(
        stderr(&o).contains("25 meetings requested"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn csv_headers_carry_the_spec_columns_and_parquet_keeps_zone_aware_times() {
    let tmp = tempfile::tempdir().unwrap();
    let job = dir_job(tmp.path(), "demo");
    let o = run(bin().args(["run", "--job"]).arg(&job));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = tmp.path().join("out");
    let att = out.join("attendance/dt=2026-11-16/part-0.csv");
    let header = csv_lines(&att)[0].clone();
    let spec = "meetingid,meeting_title,meeting_start,meeting_date,meeting_duration_s,meeting_status,\
                admin_userid,main_department,attendee_kind,attendee_id,external_userid,attend_status,\
                attended,first_join_time,last_quit_time,total_join_count,cumulative_time_s,late_s,\
                left_early_s,attended_ratio,is_host";
    assert!(header.starts_with(spec), "{header}");
    let first = csv_lines(&att)[1].clone();
    assert!(first.contains("+08:00"), "times carry the offset: {first}");
    assert!(
        std::fs::read(&att)
            .unwrap()
            .starts_with("\u{feff}".as_bytes())
    );

    let m = csv_lines(&out.join("meetings/dt=2026-11-16/part-0.csv"))[0].clone();
    for c in [
        "members_invited",
        "members_attended",
        "members_absent",
        "externals_attended",
        "attendance_rate",
        "total_attendance_s",
        "avg_attendance_s",
        "avg_attended_ratio",
        "late_count",
        "left_early_count",
        "rejoin_count",
    ] {
        assert!(m.split(',').any(|h| h == c), "meetings lacks {c}: {m}");
    }

    let f = std::fs::File::open(out.join("attendance/dt=2026-11-16/part-0.parquet")).unwrap();
    let df = ParquetReader::new(f).finish().unwrap();
    match df.column("meeting_start").unwrap().dtype() {
        DataType::Datetime(_, Some(tz)) => assert_eq!(tz.as_str(), "Asia/Shanghai"),
        other => panic!("meeting_start is {other:?}"),
    }
}

#[test]
fn a_body_that_does_not_parse_fails_that_meeting_only_with_exit_code_2() {
    let tmp = tempfile::tempdir().unwrap();
    let job = dir_job(tmp.path(), "quirks");
    let o = run(bin().args(["run", "--job"]).arg(&job));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("failed: qbroken"), "{err}");
    let out = tmp.path().join("out");
    let report = last_report(&out);
    assert_eq!(report["counts"]["failed"], 1);
    assert_eq!(report["failures"][0]["meetingid"], "qbroken");
    assert!(
        report["failures"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("not a get_info answer")
    );
    // Every other dated meeting is written: 10 on 2026-11-10 (qnostart has no date).
    let meetings = csv_lines(&out.join("meetings/dt=2026-11-10/part-0.csv"));
    assert_eq!(meetings.len(), 1 + 10, "{meetings:#?}");
    // Status 3/4 attendees counted as a data-quality signal.
    assert_eq!(report["quality"]["unknown_attend_status_rows"], 3);
    assert_eq!(report["quality"]["organizer_from_creator_userid"], 1);
}

#[test]
fn quirky_fields_come_through_with_their_meaning() {
    let tmp = tempfile::tempdir().unwrap();
    let job = dir_job(tmp.path(), "quirks");
    run(bin().args(["run", "--job"]).arg(&job));
    let out = tmp.path().join("out");
    let f = std::fs::File::open(out.join("attendance/dt=2026-11-10/part-0.parquet")).unwrap();
    let df = ParquetReader::new(f).finish().unwrap();
    let row = |id: &str, who: &str| {
        let mask = df.column("meetingid").unwrap().str().unwrap().equal(id)
            & df.column("attendee_id").unwrap().str().unwrap().equal(who);
        df.filter(&mask).unwrap()
    };
    let get = |d: &DataFrame, c: &str| d.column(c).unwrap().get(0).unwrap().to_string();

    // Numbers sent as strings; department above u32; raw title kept in Parquet.
    let s = row("qstrings", "bob");
    assert_eq!(get(&s, "main_department"), "4294967296");
    assert_eq!(get(&s, "cumulative_time_s"), "2500");
    assert_eq!(get(&s, "late_s"), "300");
    assert_eq!(get(&s, "meeting_title"), "\"=SUM(A1:A9)\"");
    assert_eq!(get(&s, "is_host"), "true");
    // External status 3 with time attended, 4 / 3 without time did not.
    assert_eq!(get(&row("qextstatus", "woS3time"), "attended"), "true");
    assert_eq!(get(&row("qextstatus", "woS4none"), "attended"), "false");
    assert_eq!(get(&row("qextstatus", "woS3none"), "attended"), "false");
    assert_eq!(get(&row("qextstatus", "woS4none"), "attend_status"), "4");
    // Zero timestamps are nulls; zero duration makes the ratio null.
    let z = row("qzerotimes", "carol");
    assert_eq!(get(&z, "first_join_time"), "null");
    assert_eq!(get(&z, "attended_ratio"), "null");
    // Unknown meeting status.
    assert_eq!(
        get(&row("qstatus7", "alice"), "meeting_status"),
        "\"unknown_7\""
    );

    // CSV neutralises the formula title; the quick meeting keeps its row with creator_userid.
    let csv = std::fs::read_to_string(out.join("meetings/dt=2026-11-10/part-0.csv")).unwrap();
    assert!(csv.contains("'=SUM(A1:A9)"), "{csv}");
    let quick = csv.lines().find(|l| l.starts_with("qnoattendees")).unwrap();
    assert!(quick.contains(",erin,"), "{quick}");
}

#[test]
fn a_date_window_writes_only_that_dates_partitions() {
    let tmp = tempfile::tempdir().unwrap();
    let job = dir_job(tmp.path(), "demo");
    let o = run(bin()
        .args(["run", "--date", "2026-11-17", "--format", "csv", "--job"])
        .arg(&job));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let files = tree(&tmp.path().join("out"));
    let tables: Vec<_> = files
        .iter()
        .filter(|f| !f.starts_with('_') && !f.starts_with('.'))
        .collect();
    assert_eq!(
        tables,
        [
            "attendance/dt=2026-11-17/_SUCCESS",
            "attendance/dt=2026-11-17/part-0.csv",
            "departments/window=2026-11-17_2026-11-17/_SUCCESS",
            "departments/window=2026-11-17_2026-11-17/part-0.csv",
            "meetings/dt=2026-11-17/_SUCCESS",
            "meetings/dt=2026-11-17/part-0.csv",
            // Written with their header even when the window has no recurring meeting.
            "series/window=2026-11-17_2026-11-17/_SUCCESS",
            "series/window=2026-11-17_2026-11-17/part-0.csv",
            "series_meetings/window=2026-11-17_2026-11-17/_SUCCESS",
            "series_meetings/window=2026-11-17_2026-11-17/part-0.csv",
            "users/window=2026-11-17_2026-11-17/_SUCCESS",
            "users/window=2026-11-17_2026-11-17/part-0.csv",
        ]
    );
    let r = last_report(&tmp.path().join("out"));
    assert_eq!(r["window"]["from"], "2026-11-17");
}

#[test]
fn a_range_window_covers_each_date_and_names_the_users_partition_by_its_bounds() {
    let tmp = tempfile::tempdir().unwrap();
    let job = dir_job(tmp.path(), "demo");
    let o = run(bin()
        .args(["run", "--from", "2026-11-18", "--to", "2026-11-19", "--job"])
        .arg(&job));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let files = tree(&tmp.path().join("out"));
    assert!(
        files
            .iter()
            .any(|f| f.starts_with("meetings/dt=2026-11-18/"))
    );
    assert!(
        files
            .iter()
            .any(|f| f.starts_with("meetings/dt=2026-11-19/"))
    );
    assert!(
        !files
            .iter()
            .any(|f| f.starts_with("meetings/dt=2026-11-17/"))
    );
    assert!(files.contains(&"users/window=2026-11-18_2026-11-19/part-0.parquet".to_string()));
}

#[test]
fn a_window_without_meetings_gets_an_empty_users_table_and_loses_its_old_partitions() {
    let tmp = tempfile::tempdir().unwrap();
    let job = dir_job(tmp.path(), "demo");
    let o = run(bin().args(["run", "--format", "csv", "--job"]).arg(&job));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = tmp.path().join("out");
    assert!(out.join("attendance/dt=2026-11-17/part-0.csv").exists());
    // The store now holds every demo meeting; pretend they all moved out of 2026-11-17.
    let store = out.join("_store/raw.sqlite");
    let db = rusqlite::Connection::open(&store).unwrap();
    db.execute(
        "UPDATE meetings SET meeting_start = 0 WHERE meeting_start IS NOT NULL",
        [],
    )
    .unwrap();
    drop(db);
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
    let files = tree(&out);
    assert!(
        !files.iter().any(|f| f.contains("dt=2026-11-17")),
        "{files:?}"
    );
    assert!(
        files
            .iter()
            .any(|f| f.starts_with("attendance/dt=2026-11-18/"))
    );
    let users = csv_lines(&out.join("users/window=2026-11-17_2026-11-17/part-0.csv"));
    assert_eq!(users.len(), 1, "only the header: {users:?}");
    assert!(users[0].contains("userid"), "{users:?}");
    let r = last_report(&out);
    assert_eq!(r["rows"]["partitions_removed"], 2, "{r}");
    assert_eq!(r["rows"]["attendance_rows"], 0, "{r}");
}

#[test]
fn a_malformed_ids_line_is_reported_with_its_place_and_the_rest_is_fetched() {
    let tmp = tempfile::tempdir().unwrap();
    let job = dir_job(tmp.path(), "demo");
    let ids = tmp.path().join("ids.txt");
    let good = std::fs::read_to_string(fixtures("demo/ids.txt")).unwrap();
    std::fs::write(&ids, format!("{good}this is not an id\n")).unwrap();
    let o = run(bin()
        .args(["run", "--ids"])
        .arg(&ids)
        .arg("--job")
        .arg(&job));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("ids.txt:27"), "{}", stderr(&o));
    let r = last_report(&tmp.path().join("out"));
    assert_eq!(r["counts"]["fetched"], 32);
    assert_eq!(r["input_problems"][0]["line"], 27);
}

#[test]
fn an_unknown_job_key_stops_before_any_work_naming_the_key() {
    let tmp = tempfile::tempdir().unwrap();
    let job = write_job(tmp.path(), "bad", "[fetch]\nrate = 5\nconcurency = 3\n");
    let o = run(bin().args(["run", "--job"]).arg(&job));
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("concurency"), "{}", stderr(&o));
}

#[test]
fn rerunning_a_window_gives_byte_identical_csv() {
    let tmp = tempfile::tempdir().unwrap();
    let job = dir_job(tmp.path(), "demo");
    let out = tmp.path().join("out");
    let snapshot = || {
        tree(&out)
            .into_iter()
            .filter(|f| f.ends_with(".csv"))
            .map(|f| (f.clone(), std::fs::read(out.join(&f)).unwrap()))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        run(bin().args(["run", "--job"]).arg(&job)).status.code(),
        Some(0)
    );
    let first = snapshot();
    assert_eq!(
        run(bin().args(["run", "--job"]).arg(&job)).status.code(),
        Some(0)
    );
    assert_eq!(first, snapshot());
    assert!(first.len() >= 11);
}

#[test]
fn every_shipped_job_file_is_valid() {
    let ov = wecom_attendance::config::job::Overrides::default();
    let mut n = 0;
    for e in std::fs::read_dir(repo().join("jobs")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "toml") {
            // Relative paths in the jobs are relative to the repository root.
            let old = std::env::current_dir().unwrap();
            assert_eq!(
                old,
                repo(),
                "cargo runs integration tests from the package root"
            );
            wecom_attendance::config::job::Job::load(&p, &ov)
                .unwrap_or_else(|e| panic!("{}: {e:#}", p.display()));
            n += 1;
        }
    }
    assert!(n >= 4);
}
