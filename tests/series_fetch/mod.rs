//! The fetch side of recurring meetings against the fake WeCom server: every occurrence a
//! series ever listed is fetched when due, even after it scrolled out of the list; an
//! occurrence the rule expects but no answer listed is reported; the get_info calls a night
//! costs for N series of M occurrences; one occurrence's errcode fails that occurrence only.

use crate::common::{Scenario, Started};
use crate::common::{csv_lines, stderr};
use chrono_tz::Asia::Shanghai;
use serde_json::Value;
use wecom_domain::recurrence::{RepeatRule, RepeatType, Until};
use wecom_fake::FakeSeries;

/// Monday 2026-11-02 10:00 in Shanghai: the first occurrence of every series here.
const FIRST: i64 = 1_793_584_800;
const HOUR: i64 = 3_600;
const DAY: i64 = 86_400;
const WEEK: i64 = 7 * DAY;
const HALF_HOUR: i64 = 1_800;
/// Midnight (Shanghai) after the third Monday, 2026-11-17 00:00: night 1.
const NIGHT_1: i64 = FIRST + 2 * WEEK + 14 * HOUR;

/// Eight Monday meetings of 30 minutes from 2026-11-02.
fn weekly(id: &str) -> FakeSeries {
    let rule = RepeatRule {
        until: Until::Count(8),
        ..RepeatRule::new(RepeatType::Weekly)
    };
    FakeSeries::from_rule(id, "zhangsan", "周会", &rule, FIRST, HALF_HOUR, Shanghai)
}

/// `count` daily meetings of 30 minutes from 2026-11-02 10:00.
fn daily(id: &str, count: u32) -> FakeSeries {
    let rule = RepeatRule {
        until: Until::Count(count),
        ..RepeatRule::new(RepeatType::Daily)
    };
    FakeSeries::from_rule(id, "lisi", "站会", &rule, FIRST, HALF_HOUR, Shanghai)
}

/// The `sub_meetingid` column of an attendance CSV partition.
fn sub_meetingids(s: &Started, date: &str) -> Vec<String> {
    let path = s.out().join(format!("attendance/dt={date}/part-0.csv"));
    let lines = csv_lines(&path);
    let header: Vec<&str> = lines[0].split(',').collect();
    let at = header
        .iter()
        .position(|h| *h == "sub_meetingid")
        .expect("a sub_meetingid column");
    lines[1..]
        .iter()
        .map(|l| l.split(',').nth(at).unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn an_occurrence_listed_on_night_1_and_scrolled_out_by_night_9_is_still_fetched_and_counted()
{
    let series = weekly("hyWeekly");
    let third = series.sub_meetingid(2).to_owned();
    let fourth = series.sub_meetingid(3).to_owned();
    let one_off = format!(
        r#"{{"errcode":0,"title":"1:1","meeting_start":{},"meeting_duration":1800,"status":3,
            "admin_userid":"zhangsan","attendees":{{"member":[]}}}}"#,
        FIRST + 3 * WEEK + HOUR
    );
    let s = Scenario::default()
        .ids(&["hyWeekly"])
        .meeting("hyOther", "zhangsan", FIRST + 3 * WEEK + HOUR, &one_off)
        .build(|f| {
            f.with_series(series)
                .series_now(NIGHT_1)
                // An ended occurrence stays listed for a day, then scrolls out.
                .sub_meetings_horizon(DAY)
        })
        .api_job("")
        .start()
        .await;
    s.run_ok(&["run", "--date", "2026-11-16"]).await;
    assert_eq!(s.fake.get_info_calls_for_occurrence("hyWeekly", &third), 1);
    assert_eq!(s.fake.get_info_calls_for_occurrence("hyWeekly", &fourth), 0);
    assert_eq!(sub_meetingids(&s, "2026-11-16"), [third.as_str()]);

    // Night 9: the fourth Monday (listed on night 1) has scrolled out of the head's list, and
    // the night's ids no longer name the series: its head is fetched again all the same.
    s.fake.set_now(NIGHT_1 + 8 * DAY);
    std::fs::write(s.dir().join("ids.txt"), "hyOther\n").unwrap();
    let heads = s.fake.get_info_calls_for("hyWeekly");
    let o = s.run_ok(&["run", "--date", "2026-11-23"]).await;
    assert_eq!(s.fake.get_info_calls_for_occurrence("hyWeekly", &fourth), 1);
    assert_eq!(
        s.fake.get_info_calls_for_occurrence("hyWeekly", &third),
        1,
        "an ended occurrence is not fetched again"
    );
    let r = s.report();
    assert_eq!(r["counts"]["occurrences_fetched"], 1, "{r:#}");
    assert_eq!(r["counts"]["series_heads"], 1, "{r:#}");
    assert_eq!(
        s.fake.get_info_calls_for("hyWeekly") - heads,
        2,
        "the head and the occurrence"
    );
    assert_eq!(r["counts"]["occurrences_reused"], 1, "{r:#}");
    assert_eq!(r["quality"]["occurrences_unlisted"], 0, "{r:#}");
    assert!(r.get("occurrences_unlisted").is_none(), "{r:#}");
    assert_eq!(sub_meetingids(&s, "2026-11-23"), [fourth.as_str()]);
    assert!(
        stderr(&o).contains("1 occurrences fetched"),
        "{}",
        stderr(&o)
    );
    s.shutdown().await;
}

#[tokio::test]
async fn an_occurrence_the_rule_expects_but_no_answer_listed_is_reported_and_a_moved_one_is_not() {
    // The fifth Monday moved to the Tuesday; the job first runs after the third and fourth
    // have scrolled out, so no answer ever lists them.
    let series = weekly("hyWeekly").move_to(4, FIRST + 4 * WEEK + DAY);
    let moved = series.sub_meetingid(4).to_owned();
    let s = Scenario::default()
        .ids(&["hyWeekly"])
        .build(|f| {
            f.with_series(series)
                .series_now(FIRST + 4 * WEEK + 2 * DAY + 14 * HOUR)
                .sub_meetings_horizon(2 * DAY)
        })
        .api_job("")
        .start()
        .await;
    let o = s
        .run_ok(&["run", "--from", "2026-11-16", "--to", "2026-12-01"])
        .await;
    assert_eq!(s.fake.get_info_calls_for_occurrence("hyWeekly", &moved), 1);
    let r = s.report();
    let unlisted: Vec<&str> = r["occurrences_unlisted"]
        .as_array()
        .unwrap_or_else(|| panic!("a list of unlisted occurrences: {r:#}"))
        .iter()
        .map(|u| {
            assert_eq!(u["meetingid"], "hyWeekly");
            assert_eq!(u["series_title"], "周会");
            u["start"].as_str().unwrap()
        })
        .collect();
    assert_eq!(
        unlisted,
        ["2026-11-16T10:00:00+08:00", "2026-11-23T10:00:00+08:00"]
    );
    assert_eq!(r["quality"]["occurrences_unlisted"], 2);
    assert!(
        stderr(&o)
            .contains("2 occurrences that recurring meetings' rules expect were never listed"),
        "{}",
        stderr(&o)
    );
    s.shutdown().await;
}

#[tokio::test]
async fn n_series_of_m_occurrences_cost_n_plus_n_m_calls_the_first_night_and_only_the_unfinished_next()
 {
    const N: u64 = 3;
    const M: u64 = 5;
    let ids = ["hyDaily1", "hyDaily2", "hyDaily3"];
    let s = Scenario::default()
        .ids(&ids)
        .build(move |mut f| {
            for id in ids {
                f = f.with_series(daily(id, 10));
            }
            // The fifth day at 09:00: its occurrence has not started yet.
            f.series_now(FIRST + 4 * DAY - HOUR)
                .sub_meetings_horizon(30 * DAY)
        })
        .api_job("")
        .start()
        .await;
    let window = ["fetch", "--from", "2026-11-02", "--to", "2026-11-06"];
    s.run_ok(&window).await;
    let night_1 = s.fake.stats();
    assert_eq!(night_1.get_info_calls, N + N * M, "{night_1:?}");
    assert_eq!(night_1.get_info_occurrence_calls, N * M);
    let r = s.report();
    assert_eq!(r["counts"]["fetched"], N + N * M);
    assert_eq!(r["counts"]["occurrences_fetched"], N * M);

    // The next night: the heads (series not over) and the one unfinished occurrence of each.
    s.fake.set_now(FIRST + 5 * DAY - 10 * HOUR);
    let dry = s
        .run_ok(&[
            "run",
            "--dry-run",
            "--from",
            "2026-11-02",
            "--to",
            "2026-11-06",
        ])
        .await;
    let plan = crate::common::stdout(&dry);
    assert!(
        plan.contains(&format!("{} × get_info planned", N + N)),
        "{plan}"
    );
    s.run_ok(&window).await;
    let night_2 = s.fake.stats();
    assert_eq!(night_2.get_info_calls - night_1.get_info_calls, N + N);
    assert_eq!(
        night_2.get_info_occurrence_calls - night_1.get_info_occurrence_calls,
        N
    );
    let r = s.report();
    assert_eq!(r["counts"]["occurrences_reused"], N * (M - 1));
    s.shutdown().await;
}

#[tokio::test]
async fn an_occurrence_answered_with_an_errcode_fails_alone_naming_the_series() {
    let series =
        daily("hyDaily", 3).body(1, r#"{"errcode":90602,"errmsg":"invalid sub_meetingid"}"#);
    let bad = series.sub_meetingid(1).to_owned();
    let s = Scenario::default()
        .ids(&["hyDaily"])
        .build(|f| f.with_series(series).series_now(FIRST + 3 * DAY))
        .api_job("")
        .start()
        .await;
    let o = s
        .run(&["run", "--from", "2026-11-02", "--to", "2026-11-04"])
        .await;
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let r = s.report();
    let failures = r["failures"].as_array().unwrap();
    assert_eq!(failures.len(), 1, "{r:#}");
    assert_eq!(failures[0]["meetingid"], "hyDaily");
    assert_eq!(failures[0]["sub_meetingid"], Value::from(bad.as_str()));
    assert_eq!(failures[0]["errcode"], 90602);
    assert_eq!(r["counts"]["occurrences_fetched"], 2);
    assert!(
        stderr(&o).contains(&format!("failed: hyDaily occurrence {bad} errcode 90602")),
        "{}",
        stderr(&o)
    );
    s.shutdown().await;
}

#[test]
fn a_folder_source_serves_occurrences_from_a_subfolder_and_refuses_a_sub_meetingid_that_is_no_file_name()
 {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    std::fs::create_dir_all(src.join("hyS")).unwrap();
    let occurrence = |sub: &str, start: i64, user: &str| {
        format!(
            r#"{{"errcode":0,"title":"周会","meeting_start":{start},"meeting_duration":1800,"status":3,
                "admin_userid":"zhangsan","meeting_type":1,"reminders":{{"is_repeat":1,"repeat_type":1}},
                "attendees":{{"member":[{{"userid":"{user}","status":1,"first_join_time":{start},
                "last_quit_time":{},"total_join_count":1,"cumulative_time":1800}}]}},
                "sub_meetingid":"{sub}"}}"#,
            start + HALF_HOUR
        )
    };
    let head = format!(
        r#"{{"errcode":0,"title":"周会","meeting_start":{FIRST},"meeting_duration":1800,"status":3,
            "admin_userid":"zhangsan","meeting_type":1,
            "reminders":{{"is_repeat":1,"repeat_type":1,"repeat_until_type":1,"repeat_until_count":2}},
            "sub_meetings":[
              {{"sub_meetingid":"s1","status":0,"start_time":{FIRST},"end_time":{}}},
              {{"sub_meetingid":"s2","status":0,"start_time":{},"end_time":{}}},
              {{"sub_meetingid":"../escape","status":0,"start_time":{FIRST},"end_time":{}}}],
            "attendees":{{"member":[]}}}}"#,
        FIRST + HALF_HOUR,
        FIRST + WEEK,
        FIRST + WEEK + HALF_HOUR,
        FIRST + HALF_HOUR
    );
    std::fs::write(src.join("hyS.json"), head).unwrap();
    std::fs::write(src.join("hyS/s1.json"), occurrence("s1", FIRST, "lisi")).unwrap();
    std::fs::write(
        src.join("hyS/s2.json"),
        occurrence("s2", FIRST + WEEK, "wangwu"),
    )
    .unwrap();
    std::fs::write(
        tmp.path().join("escape.json"),
        occurrence("x", FIRST, "mallory"),
    )
    .unwrap();
    let job = crate::common::write_job(
        tmp.path(),
        "folder",
        &format!(
            "name = \"folder\"\n[source]\nkind = \"dir\"\ndir = {src:?}\n[output]\ndir = {:?}\nformats = [\"csv\"]\n",
            tmp.path().join("out")
        ),
    );
    let o = crate::common::run(
        crate::common::bin()
            .args(["run", "--from", "2026-11-02", "--to", "2026-11-09", "--job"])
            .arg(&job),
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let r = crate::common::last_report(&tmp.path().join("out"));
    assert_eq!(r["counts"]["occurrences_fetched"], 2, "{r:#}");
    let failures = r["failures"].as_array().unwrap();
    assert_eq!(failures.len(), 1, "{r:#}");
    assert_eq!(failures[0]["sub_meetingid"], "../escape");
    assert!(
        failures[0]["reason"]
            .as_str()
            .unwrap()
            .contains("no file name"),
        "{r:#}"
    );
    let rows = |date: &str| {
        csv_lines(
            &tmp.path()
                .join(format!("out/attendance/dt={date}/part-0.csv")),
        )[1..]
            .join("\n")
    };
    assert!(rows("2026-11-02").contains("lisi") && rows("2026-11-02").contains("s1"));
    assert!(rows("2026-11-09").contains("wangwu") && rows("2026-11-09").contains("s2"));
    assert!(!rows("2026-11-02").contains("mallory"));
}
