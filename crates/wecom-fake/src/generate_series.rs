//! Generated recurring meetings, for benchmarks and trials: seeded series whose occurrences
//! list the same members each time, with the one-off generator's realistic join and leave
//! times (late joiners, early leavers, rejoins, absentees).
//!
//! The rules cycle through weekly, workdays, every second week and daily, each with a count
//! of occurrences; the first occurrence falls in working hours on one of the configured days
//! (the one-off generator's draw). Attendance is written as if every occurrence was held:
//! serve the series with a "now" after them ([`crate::FakeWecom::series_now`]). External
//! users are left out (their temporary ids change from meeting to meeting anyway).

use crate::generate::{
    DURATIONS, GenConfig, MEETING_ID_RANDOM_LEN, alnum, member_indices, mix, pick_weighted,
    push_str, push_times, start_time, title, user_pool, userid,
};
use crate::series::{FakeSeries, OccurrenceContent};
use rayon::prelude::*;
use wecom_domain::MeetingStatus;
use wecom_domain::recurrence::{RepeatRule, RepeatType, Until};

/// Mixed into the seed, so series do not repeat the draws of the one-off meetings.
const SERIES_SEED_SALT: u64 = 0x7365_7269_6573;
/// The rules series number 0, 1, 2, … follow in turn: (repeat_type, interval).
const RULES: [(RepeatType, u32); 4] = [
    (RepeatType::Weekly, 1),
    (RepeatType::Workdays, 1),
    (RepeatType::Weekly, 2),
    (RepeatType::Daily, 1),
];

/// `count` series of `occurrences` each (fewer when WeCom's cap is lower), generated on all
/// cores, in index order; the same config gives the same series.
pub fn generate_series(cfg: &GenConfig, count: usize, occurrences: u32) -> Vec<FakeSeries> {
    (0..count)
        .into_par_iter()
        .map(|i| one_series(cfg, i, occurrences))
        .collect()
}

/// Series number `index` of `cfg`; depends only on the config, the index and the count.
pub fn one_series(cfg: &GenConfig, index: usize, occurrences: u32) -> FakeSeries {
    let mut rng = fastrand::Rng::with_seed(mix(cfg.seed ^ SERIES_SEED_SALT, index as u64));
    let meetingid = format!("hy{}", alnum(&mut rng, MEETING_ID_RANDOM_LEN));
    let pool = user_pool(cfg);
    let organizer = rng.usize(..cfg.organizers.clamp(1, pool));
    let first_start = start_time(cfg, &mut rng);
    let duration = pick_weighted(&mut rng, &DURATIONS);
    let (repeat_type, interval) = RULES[index % RULES.len()];
    let rule = RepeatRule {
        interval,
        until: Until::Count(occurrences),
        ..RepeatRule::new(repeat_type)
    };
    let members = member_indices(cfg, &mut rng, organizer, pool);
    let mut series = FakeSeries::from_rule(
        meetingid,
        userid(organizer),
        title(&mut rng),
        &rule,
        first_start,
        duration,
        cfg.tz,
    );
    for o in &mut series.occurrences {
        let attendees = attendees_json(&members, &mut rng, o.start, o.end - o.start);
        o.content = OccurrenceContent::AttendeesJson(attendees);
    }
    series
}

/// `{"member":[…],"tmp_external_user":[]}` for one held occurrence; the organizer (first)
/// attends.
fn attendees_json(members: &[usize], rng: &mut fastrand::Rng, start: i64, duration: i64) -> String {
    let mut b = String::with_capacity(members.len() * 150 + 64);
    b.push_str("{\"member\":[");
    for (n, &u) in members.iter().enumerate() {
        if n > 0 {
            b.push(',');
        }
        b.push_str("{\"userid\":");
        push_str(&mut b, &userid(u));
        push_times(&mut b, rng, MeetingStatus::Ended, start, duration, n == 0);
    }
    b.push_str("],\"tmp_external_user\":[]}");
    b
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::series_answer::{self, ListingView};
    use serde_json::Value;

    fn cfg() -> GenConfig {
        GenConfig {
            attendees: 12,
            seed: 3,
            ..GenConfig::default()
        }
    }

    fn member_ids(attendees: &Value) -> Vec<String> {
        attendees["member"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["userid"].as_str().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn generated_series_are_reproducible_and_follow_their_rules() {
        let a = generate_series(&cfg(), 4, 6);
        assert_eq!(a, generate_series(&cfg(), 4, 6));
        assert_ne!(a, generate_series(&GenConfig { seed: 4, ..cfg() }, 4, 6));
        let types: Vec<i64> = a
            .iter()
            .map(|s| s.reminders["repeat_type"].as_i64().unwrap())
            .collect();
        assert_eq!(types, [1, 7, 1, 0]);
        assert_eq!(a[2].reminders["repeat_interval"], 2);
        assert!(a.iter().all(|s| s.occurrences.len() == 6));
    }

    #[test]
    fn every_occurrence_lists_the_same_members_with_times_in_its_own_slot() {
        let s = one_series(&cfg(), 0, 5);
        let held = s.occurrences.last().unwrap().end;
        let view = ListingView {
            now: held,
            horizon_s: 365 * 86_400,
            cap: 50,
        };
        let mut members = None;
        for o in &s.occurrences {
            let text = series_answer::occurrence(&s, &o.sub_meetingid, view).unwrap();
            let body: Value = serde_json::from_str(&text).expect("valid JSON");
            assert_eq!(body["meeting_start"], o.start);
            assert_eq!(body["status"], 3);
            let ids = member_ids(&body["attendees"]);
            assert_eq!(ids[0], s.admin_userid);
            let first = body["attendees"]["member"][0]["first_join_time"]
                .as_i64()
                .unwrap();
            assert!((o.start - 600..=o.end).contains(&first));
            match &members {
                None => members = Some(ids),
                Some(m) => assert_eq!(m, &ids),
            }
        }
        let head: Value = serde_json::from_str(&series_answer::head(&s, view)).unwrap();
        assert_eq!(head["sub_meetings"].as_array().unwrap().len(), 5);
        assert_eq!(member_ids(&head["attendees"]), members.unwrap());
    }
}
