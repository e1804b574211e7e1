//! Deterministic, seeded generator of realistic `get_info` response bodies.
//!
//! Benchmarks, the fake WeCom server and tests need many meetings that look like the real API's
//! answers (the shape in `seed/get_info.md`): Chinese titles, a few formula-like titles, ids above
//! `u32`, late joiners, early leavers, rejoins, absentees, external users and the odd meeting that
//! is upcoming or cancelled. Each meeting draws from its own RNG derived from the seed and its
//! index, so the bytes are the same for a seed whatever the thread count, and meetings can be
//! generated in parallel. Bodies are written with `write!` into one `String` (no `Value` trees),
//! in WeCom's compact form, about 140 bytes per attendee.

use anyhow::Context;
use chrono::{NaiveDate, NaiveTime, TimeZone};
use chrono_tz::Tz;
use rayon::prelude::*;
use std::fmt::Write as _;
use std::path::Path;
use wecom_domain::MeetingStatus;

/// Members make up about this share of a meeting's attendees; external users the rest.
const MEMBER_SHARE: f64 = 0.85;
/// The userid pool holds this many users per attendee slot, so users repeat across meetings.
const USER_POOL_PER_ATTENDEE: usize = 8;
/// Smallest userid pool, so tiny configurations still repeat users sensibly.
const MIN_USER_POOL: usize = 50;
/// Share of invited attendees who join (status 1); the others are absent (status 2).
const PRESENT_SHARE: f64 = 0.80;
/// A join this many seconds after the start counts as late downstream (the default grace).
const GRACE_S: i64 = 300;
/// First and last possible start of a meeting, local time (working hours).
const FIRST_START_HOUR: u32 = 9;
const LAST_START_HOUR: u32 = 17;
/// Meetings start on quarter hours.
const START_STEP_MIN: u32 = 15;
/// Scheduled durations, in seconds, with the weight of each.
pub(crate) const DURATIONS: [(i64, u32); 5] =
    [(1800, 30), (3600, 40), (5400, 15), (2700, 10), (7200, 5)];
/// `main_department` of a few meetings is above `u32::MAX`, as WeCom sometimes answers.
const BIG_DEPARTMENT_BASE: u64 = 4_294_967_296;
/// The agent (application) id the meetings were created by.
const AGENTID: u64 = 1_000_014;
/// Length of the random part of meeting ids (`hy` + this many alphanumerics, like real ids).
pub(crate) const MEETING_ID_RANDOM_LEN: usize = 24;
/// Length of the random part of `tmp_external_userid` values (`wo` + this many).
const TMP_ID_RANDOM_LEN: usize = 30;

const TITLES: &[&str] = &[
    "周会",
    "项目评审",
    "研发站会",
    "产品需求评审",
    "月度经营分析会",
    "客户沟通会",
    "技术分享：Rust 异步编程",
    "季度OKR复盘",
    "招聘面试同步",
    "销售周报",
    "安全培训",
    "Weekly sync",
    "Design review",
    "1:1",
    "新员工入职培训",
    "财务预算讨论",
];
/// Titles a spreadsheet would read as formulas; downstream CSV writers must neutralise them.
const FORMULA_TITLES: &[&str] = &[
    "=SUM(A1:A9)",
    "+86 客户电话会",
    "-1 问题复盘",
    "=HYPERLINK(\"http://example.com\",\"点我\")",
];
const DESCRIPTIONS: &[&str] = &[
    "",
    "请提前准备本周进展与风险，会议纪要会后发到群里。",
    "议程：1. 上周回顾 2. 本周计划 3. 风险与求助",
    "评审范围见共享文档，请各位会前阅读并在文档中留下意见。",
    "Agenda: status, blockers, next steps.",
    "本次会议将录制，请注意信息安全。",
];
const LOCATIONS: &[&str] = &[
    "",
    "广州媒体港",
    "深圳总部 3F",
    "北京望京 A座 12F 会议室",
    "上海张江 2号楼 大会议室",
    "线上",
];
const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// What to generate. Every field shapes the output; the same config gives the same bytes.
#[derive(Clone, Debug)]
pub struct GenConfig {
    /// Number of meetings.
    pub meetings: usize,
    /// Attendees listed per ended meeting (members + external users); about 85 % are members.
    pub attendees: usize,
    /// Seed of the whole set; each meeting derives its own RNG from it and its index.
    pub seed: u64,
    /// First local date meetings start on.
    pub first_day: NaiveDate,
    /// Meetings are spread uniformly over this many days from `first_day` (at least one).
    pub days: u32,
    /// Time zone of the working hours meetings start in.
    pub tz: Tz,
    /// Number of distinct organizers (`admin_userid`), taken from the start of the user pool.
    pub organizers: usize,
}

impl Default for GenConfig {
    fn default() -> Self {
        GenConfig {
            meetings: 100,
            attendees: 110,
            seed: 42,
            first_day: NaiveDate::from_ymd_opt(2024, 11, 4).expect("a valid date"),
            days: 7,
            tz: chrono_tz::Asia::Shanghai,
            organizers: 20,
        }
    }
}

/// One generated meeting: its id, organizer, start and the full `get_info` answer.
#[derive(Clone, Debug)]
pub struct GeneratedMeeting {
    pub meetingid: String,
    pub admin_userid: String,
    pub meeting_start: i64,
    pub body: String,
}

/// The meetings of `cfg`, lazily and in index order.
pub fn generate(cfg: &GenConfig) -> impl Iterator<Item = GeneratedMeeting> + '_ {
    (0..cfg.meetings).map(move |i| meeting(cfg, i))
}

/// The meetings of `cfg`, generated on all cores, in index order.
pub fn generate_all(cfg: &GenConfig) -> Vec<GeneratedMeeting> {
    (0..cfg.meetings)
        .into_par_iter()
        .map(|i| meeting(cfg, i))
        .collect()
}

/// Writes `DIR/<meetingid>.json` for every meeting and `DIR/ids.txt` (one id a line, index
/// order); returns the ids. Bodies are generated and written in parallel and never all held.
pub fn write_dir(cfg: &GenConfig, dir: &Path) -> anyhow::Result<Vec<String>> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let ids = (0..cfg.meetings)
        .into_par_iter()
        .map(|i| {
            let m = meeting(cfg, i);
            let path = dir.join(format!("{}.json", m.meetingid));
            std::fs::write(&path, m.body)
                .with_context(|| format!("cannot write {}", path.display()))?;
            Ok(m.meetingid)
        })
        .collect::<anyhow::Result<Vec<String>>>()?;
    let mut list = ids.join("\n");
    list.push('\n');
    let path = dir.join("ids.txt");
    std::fs::write(&path, list).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(ids)
}

/// Meeting number `index` of `cfg`; depends only on the config and the index.
pub fn meeting(cfg: &GenConfig, index: usize) -> GeneratedMeeting {
    let mut rng = fastrand::Rng::with_seed(mix(cfg.seed, index as u64));
    let meetingid = format!("hy{}", alnum(&mut rng, MEETING_ID_RANDOM_LEN));
    let pool = user_pool(cfg);
    let organizer = rng.usize(..cfg.organizers.clamp(1, pool));
    let admin_userid = userid(organizer);
    let meeting_start = start_time(cfg, &mut rng);
    let duration = pick_weighted(&mut rng, &DURATIONS);
    let status = meeting_status(&mut rng);
    // Attendees joined only meetings that have started.
    let started = matches!(status, MeetingStatus::InProgress | MeetingStatus::Ended);

    let mut body = String::with_capacity(cfg.attendees * 150 + 1024);
    let b = &mut body;
    b.push_str("{\"errcode\":0,\"errmsg\":\"ok\",\"admin_userid\":");
    push_str(b, &admin_userid);
    b.push_str(",\"title\":");
    push_str(b, title(&mut rng));
    let _ = write!(
        b,
        ",\"meeting_start\":{meeting_start},\"meeting_duration\":{duration},\"description\":"
    );
    push_str(b, DESCRIPTIONS[rng.usize(..DESCRIPTIONS.len())]);
    b.push_str(",\"location\":");
    push_str(b, LOCATIONS[rng.usize(..LOCATIONS.len())]);
    let _ = write!(
        b,
        ",\"main_department\":{},\"status\":{},\"agentid\":{AGENTID},\"attendees\":{{\"member\":[",
        department(&mut rng),
        status.code()
    );

    let mut members = member_indices(cfg, &mut rng, organizer, pool);
    if !started {
        // Nobody joined a meeting that has not started, was cancelled or expired.
        members.truncate(((cfg.attendees as f64) * MEMBER_SHARE).round() as usize);
    }
    let externals = if started {
        cfg.attendees.saturating_sub(members.len())
    } else {
        0
    };
    for (n, &u) in members.iter().enumerate() {
        if n > 0 {
            b.push(',');
        }
        b.push_str("{\"userid\":");
        push_str(b, &userid(u));
        // The organizer usually attends their own meeting.
        let force_present = n == 0;
        push_times(b, &mut rng, status, meeting_start, duration, force_present);
    }
    b.push_str("],\"tmp_external_user\":[");
    for n in 0..externals {
        if n > 0 {
            b.push(',');
        }
        let _ = write!(
            b,
            "{{\"tmp_external_userid\":\"wo{}\"",
            alnum(&mut rng, TMP_ID_RANDOM_LEN)
        );
        push_times(b, &mut rng, status, meeting_start, duration, false);
    }
    b.push_str("]},");
    push_settings(b, &mut rng, &members);
    let _ = write!(
        b,
        ",\"meeting_code\":\"{}\",\"meeting_link\":\"https://meeting.tencent.com/dm/{}\"}}",
        rng.u64(100_000_000..1_000_000_000),
        alnum(&mut rng, 12)
    );

    GeneratedMeeting {
        meetingid,
        admin_userid,
        meeting_start,
        body,
    }
}

/// SplitMix64 of the seed and index: independent, well-spread seeds for each meeting.
pub(crate) fn mix(seed: u64, index: u64) -> u64 {
    let mut z = seed ^ index.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

pub(crate) fn user_pool(cfg: &GenConfig) -> usize {
    (cfg.attendees * USER_POOL_PER_ATTENDEE)
        .max(MIN_USER_POOL)
        .max(cfg.organizers)
}

/// `user0001`, `user0002`, … for pool index 0, 1, …
pub(crate) fn userid(index: usize) -> String {
    format!("user{:04}", index + 1)
}

pub(crate) fn alnum(rng: &mut fastrand::Rng, len: usize) -> String {
    (0..len)
        .map(|_| ALNUM[rng.usize(..ALNUM.len())] as char)
        .collect()
}

pub(crate) fn pick_weighted(rng: &mut fastrand::Rng, items: &[(i64, u32)]) -> i64 {
    let total: u32 = items.iter().map(|(_, w)| w).sum();
    let mut r = rng.u32(..total);
    for &(v, w) in items {
        if r < w {
            return v;
        }
        r -= w;
    }
    items[items.len() - 1].0
}

/// Unix seconds of a quarter-hour start in working hours on one of the configured days.
pub(crate) fn start_time(cfg: &GenConfig, rng: &mut fastrand::Rng) -> i64 {
    let day = cfg.first_day + chrono::Days::new(u64::from(rng.u32(..cfg.days.max(1))));
    let slots = (LAST_START_HOUR - FIRST_START_HOUR + 1) * 60 / START_STEP_MIN;
    let minutes = FIRST_START_HOUR * 60 + rng.u32(..slots) * START_STEP_MIN;
    let time = NaiveTime::from_hms_opt(minutes / 60, minutes % 60, 0).expect("a valid time");
    let local = day.and_time(time);
    match cfg.tz.from_local_datetime(&local).earliest() {
        Some(t) => t.timestamp(),
        // A start inside a daylight-saving gap: the same wall time read as UTC plus an hour.
        None => local.and_utc().timestamp() + 3600,
    }
}

/// Mostly ended (3); a few upcoming (1), in progress (2), cancelled (4) or expired (5).
fn meeting_status(rng: &mut fastrand::Rng) -> MeetingStatus {
    match rng.u32(..100) {
        0..88 => MeetingStatus::Ended,
        88..91 => MeetingStatus::Upcoming,
        91..94 => MeetingStatus::InProgress,
        94..97 => MeetingStatus::Cancelled,
        _ => MeetingStatus::Expired,
    }
}

pub(crate) fn title(rng: &mut fastrand::Rng) -> &'static str {
    if rng.u32(..100) < 3 {
        FORMULA_TITLES[rng.usize(..FORMULA_TITLES.len())]
    } else {
        TITLES[rng.usize(..TITLES.len())]
    }
}

/// Mostly a small department id; about 3 % above `u32::MAX`.
fn department(rng: &mut fastrand::Rng) -> u64 {
    if rng.u32(..100) < 3 {
        BIG_DEPARTMENT_BASE + rng.u64(..1000)
    } else {
        rng.u64(1..200)
    }
}

/// Distinct pool indices of the invited members, the organizer first.
pub(crate) fn member_indices(
    cfg: &GenConfig,
    rng: &mut fastrand::Rng,
    organizer: usize,
    pool: usize,
) -> Vec<usize> {
    let share = MEMBER_SHARE + (rng.f64() - 0.5) * 0.1;
    let wanted = (((cfg.attendees as f64) * share).round() as usize)
        .clamp(cfg.attendees.min(1), cfg.attendees)
        .min(pool);
    let mut taken = vec![false; pool];
    let mut out = Vec::with_capacity(wanted);
    if wanted > 0 {
        taken[organizer] = true;
        out.push(organizer);
    }
    while out.len() < wanted {
        let u = rng.usize(..pool);
        if !taken[u] {
            taken[u] = true;
            out.push(u);
        }
    }
    out
}

/// Appends `,"status":…,…,"cumulative_time":…}` for one attendee.
pub(crate) fn push_times(
    b: &mut String,
    rng: &mut fastrand::Rng,
    meeting_status: MeetingStatus,
    start: i64,
    duration: i64,
    force_present: bool,
) {
    let started = matches!(
        meeting_status,
        MeetingStatus::InProgress | MeetingStatus::Ended
    );
    let joined = started && (force_present || rng.f64() < PRESENT_SHARE);
    if !joined {
        b.push_str(
            ",\"status\":2,\"first_join_time\":0,\"last_quit_time\":0,\"total_join_count\":0,\"cumulative_time\":0}",
        );
        return;
    }
    let join_offset = match rng.u32(..100) {
        0..12 => -rng.i64(30..=600),
        12..85 => rng.i64(0..=GRACE_S),
        _ => rng.i64(GRACE_S + 1..=GRACE_S * 5),
    };
    let first = start + join_offset;
    let end = start + duration;
    let mut last = if rng.u32(..100) < 18 {
        end - rng.i64(GRACE_S + 1..=(duration / 2).max(GRACE_S + 2))
    } else {
        end + rng.i64(-120..=600)
    };
    last = last.max(first + 60);
    let count = if rng.u32(..100) < 80 {
        1
    } else {
        rng.i64(2..=4)
    };
    let span = last - first;
    let cumulative = if count == 1 {
        span
    } else {
        span - rng.i64(0..=span / 5)
    };
    // Some attendees of a meeting still in progress have not left yet.
    if meeting_status == MeetingStatus::InProgress && rng.u32(..100) < 30 {
        last = 0;
    }
    let _ = write!(
        b,
        ",\"status\":1,\"first_join_time\":{first},\"last_quit_time\":{last},\"total_join_count\":{count},\"cumulative_time\":{cumulative}}}"
    );
}

/// Appends the `settings` object: hosts are one or two of the invited members.
fn push_settings(b: &mut String, rng: &mut fastrand::Rng, members: &[usize]) {
    let password = if rng.bool() {
        format!("{:04}", rng.u32(..10_000))
    } else {
        String::new()
    };
    let _ = write!(
        b,
        "\"settings\":{{\"remind_scope\":{},\"password\":\"{password}\",\"enable_waiting_room\":{},\"allow_enter_before_host\":{},",
        rng.u32(1..=4),
        rng.u32(..10) == 0,
        rng.u32(..10) != 0,
    );
    // The docs say int, the official sample shows a bool: emit both.
    if rng.bool() {
        let _ = write!(b, "\"enable_enter_mute\":{}", rng.u32(..=2));
    } else {
        let _ = write!(b, "\"enable_enter_mute\":{}", rng.bool());
    }
    let _ = write!(
        b,
        ",\"enable_screen_watermark\":{},\"hosts\":{{\"userid\":[",
        rng.u32(..5) == 0
    );
    let hosts = if members.len() > 1 && rng.u32(..3) == 0 {
        vec![members[0], members[1 + rng.usize(..members.len() - 1)]]
    } else {
        members.iter().take(1).copied().collect()
    };
    for (n, &h) in hosts.iter().enumerate() {
        if n > 0 {
            b.push(',');
        }
        push_str(b, &userid(h));
    }
    b.push_str("]}}");
}

/// Appends `s` as a JSON string literal.
pub(crate) fn push_str(b: &mut String, s: &str) {
    b.push('"');
    for c in s.chars() {
        match c {
            '"' => b.push_str("\\\""),
            '\\' => b.push_str("\\\\"),
            '\n' => b.push_str("\\n"),
            '\r' => b.push_str("\\r"),
            '\t' => b.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(b, "\\u{:04x}", c as u32);
            }
            c => b.push(c),
        }
    }
    b.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;
    use std::collections::HashSet;

    fn cfg(meetings: usize, seed: u64) -> GenConfig {
        GenConfig {
            meetings,
            seed,
            ..GenConfig::default()
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_bytes_and_another_seed_does_not() {
        let a: Vec<_> = generate(&cfg(20, 7)).map(|m| m.body).collect();
        let b: Vec<_> = generate(&cfg(20, 7)).map(|m| m.body).collect();
        let c: Vec<_> = generate(&cfg(20, 8)).map(|m| m.body).collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn parallel_generation_matches_sequential_generation() {
        let seq: Vec<_> = generate(&cfg(50, 3)).map(|m| m.body).collect();
        let par: Vec<_> = generate_all(&cfg(50, 3))
            .into_iter()
            .map(|m| m.body)
            .collect();
        assert_eq!(seq, par);
    }

    #[test]
    fn bodies_have_the_get_info_shape_and_the_configured_attendee_counts() {
        let c = cfg(200, 11);
        let mut seen_members = HashSet::new();
        let mut ended = 0;
        for m in generate(&c) {
            let v: Value = serde_json::from_str(&m.body).expect("valid JSON");
            assert_eq!(v["errcode"], 0);
            assert_eq!(v["errmsg"], "ok");
            assert_eq!(v["admin_userid"], m.admin_userid.as_str());
            assert_eq!(v["meeting_start"], m.meeting_start);
            for key in [
                "title",
                "meeting_duration",
                "description",
                "location",
                "main_department",
                "status",
                "agentid",
                "settings",
                "meeting_code",
                "meeting_link",
            ] {
                assert!(v.get(key).is_some(), "{key} missing in {}", m.meetingid);
            }
            let members = v["attendees"]["member"].as_array().unwrap();
            let externals = v["attendees"]["tmp_external_user"].as_array().unwrap();
            for u in members {
                seen_members.insert(u["userid"].as_str().unwrap().to_owned());
            }
            let hosts = v["settings"]["hosts"]["userid"].as_array().unwrap();
            assert!((1..=2).contains(&hosts.len()));
            assert!(
                hosts
                    .iter()
                    .all(|h| members.iter().any(|u| u["userid"] == *h))
            );
            if v["status"] == 3 {
                ended += 1;
                assert_eq!(members.len() + externals.len(), c.attendees);
                let share = members.len() as f64 / c.attendees as f64;
                assert!((0.75..=0.95).contains(&share), "member share {share}");
            }
        }
        assert!(ended > 150, "most meetings ended, got {ended}");
        assert!(seen_members.len() < 200 * c.attendees, "users repeat");
    }

    #[test]
    fn attendee_times_are_consistent_and_cover_the_interesting_cases() {
        let (mut late, mut early, mut rejoin, mut absent) = (0, 0, 0, 0);
        for m in generate(&cfg(100, 5)) {
            let v: Value = serde_json::from_str(&m.body).unwrap();
            if v["status"] != 3 {
                continue;
            }
            let start = v["meeting_start"].as_i64().unwrap();
            let end = start + v["meeting_duration"].as_i64().unwrap();
            let a = &v["attendees"];
            let all = a["member"].as_array().unwrap().iter();
            for u in all.chain(a["tmp_external_user"].as_array().unwrap()) {
                let join = u["first_join_time"].as_i64().unwrap();
                let quit = u["last_quit_time"].as_i64().unwrap();
                let cum = u["cumulative_time"].as_i64().unwrap();
                let count = u["total_join_count"].as_i64().unwrap();
                if u["status"] == 2 {
                    absent += 1;
                    assert_eq!((join, quit, cum, count), (0, 0, 0, 0));
                    continue;
                }
                assert!(cum <= quit - join && cum > 0 && count >= 1);
                late += i32::from(join - start > GRACE_S);
                early += i32::from(end - quit > GRACE_S);
                rejoin += i32::from(count > 1);
            }
        }
        assert!(late > 0 && early > 0 && rejoin > 0 && absent > 0);
    }

    #[test]
    fn meeting_ids_are_unique_and_look_like_real_ones() {
        let ids: Vec<_> = generate(&cfg(1000, 1)).map(|m| m.meetingid).collect();
        let unique: HashSet<_> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len());
        assert!(
            ids.iter()
                .all(|id| id.len() == 26 && id.starts_with("hy") && id.is_ascii())
        );
    }

    #[test]
    fn starts_fall_in_working_hours_within_the_configured_days() {
        let c = GenConfig {
            days: 3,
            ..cfg(300, 2)
        };
        for m in generate(&c) {
            let local =
                c.tz.timestamp_opt(m.meeting_start, 0)
                    .unwrap()
                    .naive_local();
            let offset = (local.date() - c.first_day).num_days();
            assert!((0..3).contains(&offset), "{local}");
            let hour = chrono::Timelike::hour(&local);
            assert!(
                (FIRST_START_HOUR..=LAST_START_HOUR).contains(&hour),
                "{local}"
            );
        }
    }

    #[test]
    fn average_body_size_for_110_attendees_is_about_16_kb() {
        let bodies: Vec<_> = generate(&cfg(300, 9)).collect();
        let ended: Vec<_> = bodies
            .iter()
            .filter(|m| m.body.contains("\"status\":3,\"agentid\""))
            .collect();
        let avg = ended.iter().map(|m| m.body.len()).sum::<usize>() / ended.len();
        assert!((14_500..=17_000).contains(&avg), "average {avg} bytes");
    }

    #[test]
    fn write_dir_writes_one_file_per_meeting_and_an_ids_list() {
        let dir = tempfile::tempdir().unwrap();
        let ids = write_dir(&cfg(5, 4), dir.path()).unwrap();
        let list = std::fs::read_to_string(dir.path().join("ids.txt")).unwrap();
        assert_eq!(list.lines().collect::<Vec<_>>(), ids);
        let first = generate(&cfg(5, 4)).next().unwrap();
        let stored = std::fs::read_to_string(dir.path().join(format!("{}.json", ids[0]))).unwrap();
        assert_eq!(stored, first.body);
    }

    #[test]
    fn strings_are_escaped_as_json() {
        let mut s = String::new();
        push_str(&mut s, "a\"b\\c\nd\u{1}");
        assert_eq!(
            serde_json::from_str::<String>(&s).unwrap(),
            "a\"b\\c\nd\u{1}"
        );
    }
}
