//! The fake's recurring meetings on the wire: what the head lists as "now" moves, the cap,
//! one occurrence's body, an unknown `sub_meetingid`, `repeat_id` as a number, and the stats
//! per occurrence.

use super::{answer, client, errcode, get_info_request, start_binary, token};
use chrono_tz::Asia::Shanghai;
use serde_json::{Value, json};
use wecom_domain::recurrence::{RepeatRule, RepeatType, Until};
use wecom_fake::{FakeConfig, FakeHandle, FakeSeries, FakeWecom};

/// Monday 2026-11-02 10:00 in Shanghai: the first occurrence.
const FIRST: i64 = 1_793_584_800;
const HOUR: i64 = 3_600;
const DAY: i64 = 86_400;
const WEEK: i64 = 7 * DAY;
const HALF_HOUR: i64 = 1_800;
/// Midnight after the third Monday (2026-11-17 00:00 +08:00): "night 1".
const NIGHT_1: i64 = FIRST + 2 * WEEK + 14 * HOUR;

/// Eight weekly occurrences, the fourth deleted, the sixth moved a day later, the first with
/// its own attendees.
fn weekly() -> FakeSeries {
    let rule = RepeatRule {
        until: Until::Count(8),
        ..RepeatRule::new(RepeatType::Weekly)
    };
    FakeSeries::from_rule(
        "hyWeekly", "zhangsan", "周会", &rule, FIRST, HALF_HOUR, Shanghai,
    )
    .delete(3)
    .move_to(5, FIRST + 5 * WEEK + DAY)
    .attendees(
        0,
        json!({"member": [{"userid": "lisi", "status": 1, "first_join_time": FIRST,
                "last_quit_time": FIRST + HALF_HOUR, "total_join_count": 1,
                "cumulative_time": HALF_HOUR}]}),
    )
}

async fn serve(series: FakeSeries, now: i64, horizon_s: i64, cap: usize) -> FakeHandle {
    FakeWecom::new(FakeConfig::default())
        .with_series(series)
        .series_now(now)
        .sub_meetings_horizon(horizon_s)
        .sub_meetings_cap(cap)
        .start()
        .await
        .unwrap()
}

/// One get_info call, with `sub_meetingid` when given; the answer as JSON.
async fn get_info(s: &FakeHandle, id: &str, sub: Option<Value>) -> Value {
    let c = client();
    let t = token(&c, &s.base_url()).await;
    let mut request = json!({ "meetingid": id });
    if let Some(sub) = sub {
        request["sub_meetingid"] = sub;
    }
    let text = get_info_request(&c, &s.base_url(), &t, &request)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    errcode(&text); // JSON with an errcode
    serde_json::from_str(&text).unwrap()
}

fn listed_ids(head: &Value) -> Vec<String> {
    head["sub_meetings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["sub_meetingid"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn the_head_lists_what_the_horizon_allows_and_names_the_current_occurrence() {
    let series = weekly();
    let ids: Vec<String> = (0..8).map(|n| series.sub_meetingid(n).to_owned()).collect();
    let s = serve(series, NIGHT_1, 2 * DAY, 20).await;
    let head = get_info(&s, "hyWeekly", None).await;
    assert_eq!(head["errcode"], 0);
    assert_eq!(head["meeting_type"], 1);
    assert_eq!(head["reminders"]["is_repeat"], 1);
    assert_eq!(head["meeting_start"], FIRST);
    assert_eq!(head["status"], 1);
    // Ended on 11-16 (within two days) and everything later; 11-02 and 11-09 scrolled out.
    assert_eq!(listed_ids(&head), ids[2..].to_vec());
    assert_eq!(head["has_more_sub_meeting"], 0);
    // The fourth (11-23) is deleted: the current one is the fifth.
    assert_eq!(head["current_sub_meetingid"], ids[4]);
    assert_eq!(head["sub_meetings"][1]["status"], 1);
    assert_eq!(head["sub_meetings"][0]["status"], 0);
    assert_eq!(head["remain_sub_meetings"], 4);
    // The moved sixth is listed at its new start.
    assert_eq!(
        head["sub_meetings"][3]["start_time"],
        FIRST + 5 * WEEK + DAY
    );
    assert_eq!(
        head["sub_meetings"][3]["end_time"],
        FIRST + 5 * WEEK + DAY + HALF_HOUR
    );
    // The head's attendees are the current occurrence's: the organizer, not yet joined.
    assert_eq!(head["attendees"]["member"][0]["userid"], "zhangsan");
    assert_eq!(head["attendees"]["member"][0]["status"], 2);
    s.shutdown().await;
}

#[tokio::test]
async fn a_later_now_scrolls_old_occurrences_out_while_they_still_answer_by_id() {
    let series = weekly();
    let third = series.sub_meetingid(2).to_owned();
    let s = serve(series, NIGHT_1, 2 * DAY, 20).await;
    let night_1 = get_info(&s, "hyWeekly", None).await;
    assert!(listed_ids(&night_1).contains(&third));
    s.set_now(NIGHT_1 + 8 * DAY); // night 9
    let night_9 = get_info(&s, "hyWeekly", None).await;
    assert!(!listed_ids(&night_9).contains(&third));
    assert_eq!(listed_ids(&night_9).len(), 5); // from 11-23 (deleted) on
    let body = get_info(&s, "hyWeekly", Some(json!(third))).await;
    assert_eq!(
        (body["errcode"].clone(), body["status"].clone()),
        (json!(0), json!(3))
    );
    // After the last occurrence the series is over: status 3 and no current occurrence.
    s.set_now(FIRST + 8 * WEEK);
    let over = get_info(&s, "hyWeekly", None).await;
    assert_eq!(over["status"], 3);
    assert!(over.get("current_sub_meetingid").is_none());
    assert_eq!(over["remain_sub_meetings"], 0);
    s.shutdown().await;
}

#[tokio::test]
async fn the_cap_cuts_the_list_and_sets_has_more_sub_meeting() {
    let series = weekly();
    let ids: Vec<String> = (0..8).map(|n| series.sub_meetingid(n).to_owned()).collect();
    let s = serve(series, FIRST - DAY, 30 * DAY, 3).await;
    let head = get_info(&s, "hyWeekly", None).await;
    assert_eq!(listed_ids(&head), ids[..3].to_vec());
    assert_eq!(head["has_more_sub_meeting"], 1);
    assert_eq!(head["remain_sub_meetings"], 7);
    assert_eq!(head["current_sub_meetingid"], ids[0]);
    s.shutdown().await;
}

#[tokio::test]
async fn a_sub_meetingid_answers_that_occurrence_and_an_unknown_one_90602() {
    let series = weekly();
    let (first, deleted, moved) = (
        series.sub_meetingid(0).to_owned(),
        series.sub_meetingid(3).to_owned(),
        series.sub_meetingid(5).to_owned(),
    );
    let s = serve(series, NIGHT_1, 2 * DAY, 20).await;
    let body = get_info(&s, "hyWeekly", Some(json!(first))).await;
    assert_eq!(body["meeting_start"], FIRST);
    assert_eq!(body["meeting_duration"], HALF_HOUR);
    assert_eq!(body["status"], 3);
    assert_eq!(body["title"], "周会");
    assert_eq!(body["attendees"]["member"][0]["userid"], "lisi");
    assert_eq!(body["meeting_type"], 1);
    let body = get_info(&s, "hyWeekly", Some(json!(moved))).await;
    assert_eq!(
        (body["meeting_start"].clone(), body["status"].clone()),
        (json!(FIRST + 5 * WEEK + DAY), json!(1))
    );
    let body = get_info(&s, "hyWeekly", Some(json!(deleted))).await;
    assert_eq!(body["status"], 4);
    let unknown = get_info(&s, "hyWeekly", Some(json!("sm-nope"))).await;
    assert_eq!(unknown["errcode"], wecom_fake::errcode::UNKNOWN_SUB_MEETING);
    assert_eq!(unknown["errcode"], 90602);
    let numeric = get_info(&s, "hyWeekly", Some(json!(12345))).await;
    assert_eq!(numeric["errcode"], 90602);
    let stats = s.stats();
    assert_eq!(stats.get_info_occurrence_calls, 5);
    assert_eq!(
        stats.get_info_by_occurrence[&format!("hyWeekly/{first}")],
        1
    );
    assert_eq!(stats.get_info_by_occurrence["hyWeekly/12345"], 1);
    assert_eq!(stats.get_info_by_id["hyWeekly"], 5);
    get_info(&s, "hyWeekly", None).await;
    assert_eq!(s.stats().get_info_occurrence_calls, 5);
    assert_eq!(s.get_info_calls_for_occurrence("hyWeekly", &first), 1);
    s.shutdown().await;
}

#[tokio::test]
async fn a_sub_meetingid_of_a_one_off_meeting_gets_90602_and_the_meeting_itself_its_body() {
    let body = r#"{"errcode":0,"errmsg":"ok","meeting_start":1700000000}"#;
    let s = FakeWecom::new(FakeConfig::default())
        .with_meeting("hyOnce", "lisi", 1_700_000_000, body)
        .start()
        .await
        .unwrap();
    let answer = get_info(&s, "hyOnce", Some(json!("sm1"))).await;
    assert_eq!(answer["errcode"], 90602);
    let answer = get_info(&s, "hyOnce", Some(json!(""))).await;
    assert_eq!(answer["meeting_start"], 1_700_000_000);
    assert_eq!(s.stats().get_info_occurrence_calls, 1);
    s.shutdown().await;
}

#[tokio::test]
async fn a_split_series_serves_both_segments_with_repeat_id_as_a_number_when_set() {
    let mondays = RepeatRule {
        until: Until::Count(3),
        ..RepeatRule::new(RepeatType::Weekly)
    };
    let thursdays = RepeatRule {
        days_of_week: vec![4],
        until: Until::Count(2),
        ..RepeatRule::new(RepeatType::Weekly)
    };
    let segments = vec![("7".to_owned(), mondays), ("8".to_owned(), thursdays)];
    let split = FakeSeries::from_segments(
        "hySplit", "wangwu", "评审", &segments, FIRST, HOUR, Shanghai,
    );
    let as_number = split.clone().repeat_id_as_number();
    let s = FakeWecom::new(FakeConfig::default())
        .with_series(as_number)
        .with_series(FakeSeries {
            meetingid: "hySplitText".to_owned(),
            ..split
        })
        .series_now(FIRST - DAY)
        .start()
        .await
        .unwrap();
    let head = get_info(&s, "hySplit", None).await;
    let repeat_ids: Vec<Value> = head["sub_meetings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["repeat_id"].clone())
        .collect();
    assert_eq!(
        repeat_ids,
        [json!(7), json!(7), json!(7), json!(8), json!(8)]
    );
    assert_eq!(head["sub_repeat_list"][0]["repeat_id"], 7);
    assert_eq!(head["sub_repeat_list"][1]["repeat_day_of_week"], json!([4]));
    // Thursday 2026-11-19, after the third Monday (11-16).
    assert_eq!(
        head["sub_meetings"][3]["start_time"],
        FIRST + 2 * WEEK + 3 * DAY
    );
    let text = get_info(&s, "hySplitText", None).await;
    assert_eq!(text["sub_meetings"][0]["repeat_id"], "7");
    assert_eq!(text["sub_repeat_list"][1]["repeat_id"], "8");
    s.shutdown().await;
}

#[test]
fn the_binary_serves_generated_series_as_of_the_given_now() {
    let dir = tempfile::tempdir().unwrap();
    let ids_file = dir.path().join("ids.txt");
    // 2024-12-31: after every occurrence of series starting the week of 2024-11-04.
    let now = "1735603200";
    let (child, base) = start_binary(&[
        "--series",
        "2",
        "--occurrences",
        "3",
        "--attendees",
        "5",
        "--series-now",
        now,
        "--sub-meetings-horizon",
        "31536000",
        "--max-seconds",
        "2",
        "--ids-out",
        ids_file.to_str().unwrap(),
    ]);
    let ids = std::fs::read_to_string(&ids_file).unwrap();
    let ids: Vec<&str> = ids.lines().collect();
    assert_eq!(ids.len(), 2);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let head: Value = rt.block_on(async {
        let c = client();
        let t = token(&c, &base).await;
        answer(get_info_request(
            &c,
            &base,
            &t,
            &json!({ "meetingid": ids[0] }),
        ))
        .await
    });
    assert_eq!(head["meeting_type"], 1);
    assert_eq!(head["status"], 3);
    assert_eq!(head["sub_meetings"].as_array().unwrap().len(), 3);
    let members = head["attendees"]["member"].as_array().unwrap().len();
    assert!((1..=5).contains(&members), "{members} members");
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
}
