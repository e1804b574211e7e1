//! WeCom's own sample answer of get_info (the seed's page, also in SDKs' test data) is a
//! meeting: its attendees' join and quit times are placeholders from 1975 (`166666666`), read
//! as null, not a reason to lose the meeting.

use crate::common::*;

/// The sample answer of the get_info page, verbatim.
const SAMPLE: &str = r#"{
  "errcode": 0,
  "errmsg": "ok",
  "admin_userid": "zhangsan",
  "title": "title",
  "meeting_start": 1600000007,
  "meeting_duration": 1800,
  "description": "test meeting description",
  "location":"广州媒体港",
  "main_department": 1,
  "status": 1,
  "agentid": 1000014,
  "attendees": {
    "member": [{
      "userid": "lisi",
      "status": 1,
      "first_join_time":166666666,
      "last_quit_time": 166666666,
      "total_join_count":5,
      "cumulative_time":300
    }, {
      "userid": "zhangsan",
      "status": 2,
      "first_join_time":166666666,
      "last_quit_time": 166666666,
      "total_join_count":5,
      "cumulative_time":300
    }],
    "tmp_external_user": [{
      "tmp_external_userid": "woabc",
      "status": 3,
      "first_join_time":166666666,
      "last_quit_time": 166666666,
      "total_join_count":5,
      "cumulative_time":300
    }, {
      "tmp_external_userid": "woefd",
      "status": 4,
      "first_join_time":166666666,
      "last_quit_time": 166666666,
      "total_join_count":5,
      "cumulative_time":300
    }]
  },
  "settings": {
    "remind_scope": 4,
    "password": "1234",
    "enable_waiting_room": false,
    "allow_enter_before_host": true,
    "enable_enter_mute": true,
    "enable_screen_watermark": false,
    "hosts": {
      "userid": ["lisi", "wangwu"]
    },
    "ring_users": {
      "userid": ["zhangsan", "lis"]
    }
  },
  "cal_id": "wcjgewCwAAqeJcPI1d8Pwbjt7nttzAAA",
  "reminders": {
    "is_repeat": 1,
    "repeat_type": 0,
    "repeat_until": 1606976813,
    "repeat_interval": 1,
    "remind_before": [5, 10]
  },
  "meeting_code":"123456789",
  "meeting_link":"https://wecomm.com/znigeot"
}"#;

#[test]
fn wecoms_own_sample_answer_gives_its_four_rows_with_the_placeholder_times_null() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("hySample.json"), SAMPLE).unwrap();
    let job = write_job(
        tmp.path(),
        "sample",
        &format!(
            "[source]\nkind = \"dir\"\ndir = {src:?}\n[output]\ndir = {:?}\nformats = [\"csv\"]\n",
            tmp.path().join("out")
        ),
    );
    let o = run(bin().args(["run", "--job"]).arg(&job));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = tmp.path().join("out");
    let r = last_report(&out);
    assert_eq!(r["counts"]["failed"], 0);
    assert_eq!(
        r["quality"]["values_nulled"],
        serde_json::json!({"first_join_time": 4, "last_quit_time": 4})
    );
    // 1600000007 is 2020-09-13 20:26:47 in Shanghai.
    let rows = csv_lines(&out.join("attendance/dt=2020-09-13/part-0.csv"));
    let header: Vec<&str> = rows[0].split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let cells: Vec<Vec<String>> = rows[1..]
        .iter()
        .map(|l| l.split(',').map(String::from).collect())
        .collect();
    let ids: Vec<&str> = cells
        .iter()
        .map(|c| c[col("attendee_id")].as_str())
        .collect();
    assert_eq!(ids, ["lisi", "zhangsan", "woabc", "woefd"]);
    for c in &cells {
        assert_eq!(c[col("first_join_time")], "", "{c:?}");
        assert_eq!(c[col("last_quit_time")], "", "{c:?}");
        assert_eq!(c[col("late_s")], "", "{c:?}");
        assert_eq!(c[col("left_early_s")], "", "{c:?}");
        assert_eq!(c[col("cumulative_time_s")], "300", "{c:?}");
        assert_eq!(c[col("total_join_count")], "5", "{c:?}");
    }
}
