//! The recurring meetings of a window as the transform takes them ([`SeriesInWindow`]): from
//! the store's registry, every occurrence ever listed that is scheduled in the window (deleted
//! ones too), and from the series' rule, the occurrences it expects there that no answer ever
//! listed.
//!
//! The rule is the head's `sub_repeat_list` segments when present (they replace `reminders`),
//! else `reminders`, expanded in the job's zone from the head's `meeting_start` (the series'
//! first occurrence) with [`recurrence`]. An expected start is listed when an occurrence of the
//! series was ever listed at that very start. An occurrence listed at a start the rule does not
//! expect was moved: it stands for the nearest expected start left unmatched within one period
//! of the rule (a day for a daily rule, a week for a weekly one, …), which is then not reported.
//! A deleted occurrence was listed, so it is never expected. Only the window's unmatched
//! expected starts are reported.

use crate::domain::recurrence::{self, Occurrence, RepeatRule, RepeatType, Until};
use crate::domain::series::{KnownOccurrence, SeriesInWindow};
use crate::fetch::store::Store;
use crate::wecom::model::{OCCURRENCE_DELETED, RepeatFields, SeriesInfo};
use anyhow::{Context, Result};
use chrono_tz::Tz;
use std::collections::{BTreeSet, HashSet};

const DAY_S: i64 = 86_400;
/// Longest gap of a workday rule (Friday to Monday), in days.
const WORKDAY_GAP_DAYS: i64 = 3;
/// Longest month, in days: a monthly rule's period.
const MONTH_DAYS: i64 = 31;

/// What the store knows of one series: its head's answer and every occurrence ever listed.
struct Known {
    meetingid: String,
    info: SeriesInfo,
    listed: Vec<KnownOccurrence>,
}

impl Store {
    /// The series with an occurrence scheduled in `[start, end)`, listed or expected by the
    /// rule in `tz`, in meetingid order. Empty (one indexed lookup) for a store without series.
    pub fn series_in_window(&self, start: i64, end: i64, tz: Tz) -> Result<Vec<SeriesInWindow>> {
        let mut out = Vec::new();
        for id in self.series_ids()? {
            let Some(known) = self.known_series(&id)? else {
                continue;
            };
            let expected = expected_starts(&known.info, tz);
            let listed: Vec<i64> = known.listed.iter().map(|o| o.start).collect();
            let unlisted: Vec<i64> = unmatched(&expected.starts, &listed, expected.period_s)
                .into_iter()
                .filter(|t| (start..end).contains(t))
                .collect();
            let occurrences: Vec<KnownOccurrence> = known
                .listed
                .into_iter()
                .filter(|o| (start..end).contains(&o.start))
                .collect();
            if occurrences.is_empty() && unlisted.is_empty() {
                continue;
            }
            out.push(SeriesInWindow {
                meetingid: known.meetingid,
                series_title: known.info.title,
                occurrences,
                expected_unlisted: unlisted,
            });
        }
        Ok(out)
    }

    /// The heads stored as series that list occurrences.
    fn series_ids(&self) -> Result<Vec<String>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT meetingid FROM meetings
             WHERE series IS NOT NULL AND parse_error IS NULL ORDER BY meetingid",
        )?;
        let ids = stmt
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<String>>>()?;
        Ok(ids)
    }

    /// A series' head answer and its registry, occurrences without a known start left out.
    fn known_series(&self, meetingid: &str) -> Result<Option<Known>> {
        let Some(body) = self.body(meetingid)? else {
            return Ok(None);
        };
        let info = SeriesInfo::parse(&body)
            .with_context(|| format!("stored head of recurring meeting {meetingid}"))?;
        let duration = info.meeting_duration.unwrap_or(0).max(0);
        let mut stmt = self.conn().prepare_cached(
            "SELECT sub_meetingid, start_time, end_time, status, title, repeat_id
             FROM occurrences WHERE meetingid = ?1 AND start_time IS NOT NULL
             ORDER BY start_time, sub_meetingid",
        )?;
        let listed = stmt
            .query_map([meetingid], |r| {
                let start: i64 = r.get(1)?;
                Ok(KnownOccurrence {
                    sub_meetingid: r.get(0)?,
                    start,
                    end: r.get::<_, Option<i64>>(2)?.unwrap_or(start + duration),
                    deleted: r.get::<_, Option<i64>>(3)? == Some(OCCURRENCE_DELETED),
                    title: r.get(4)?,
                    repeat_id: r.get(5)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(Some(Known {
            meetingid: meetingid.to_string(),
            info,
            listed,
        }))
    }
}

/// The starts a series' rule expects, and the rule's longest period (how far a moved
/// occurrence may be from the start it replaces).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Expected {
    pub starts: Vec<i64>,
    pub period_s: i64,
}

/// Every start the rule of a series' answer expects (none when it has no readable rule or no
/// first start): its `sub_repeat_list` segments, else its `reminders`.
pub fn expected_starts(info: &SeriesInfo, tz: Tz) -> Expected {
    let Some(first) = info.meeting_start.filter(|t| *t > 0) else {
        return Expected::default();
    };
    let duration = info.meeting_duration.unwrap_or(0).max(0);
    let segments: Vec<(String, RepeatRule)> = info
        .sub_repeat_list
        .iter()
        .flatten()
        .enumerate()
        .filter_map(|(i, f)| {
            let id = f.repeat_id.clone().unwrap_or_else(|| i.to_string());
            rule_of(f).map(|r| (id, r))
        })
        .collect();
    let (occurrences, rules): (Vec<Occurrence>, Vec<RepeatRule>) = if !segments.is_empty() {
        let found = recurrence::expand_segments(&segments, first, duration, tz);
        let rules = segments.into_iter().map(|(_, r)| r).collect();
        (found.into_iter().map(|(_, o)| o).collect(), rules)
    } else {
        match info.reminders.as_ref().and_then(rule_of) {
            Some(rule) => (recurrence::expand(&rule, first, duration, tz), vec![rule]),
            None => return Expected::default(),
        }
    };
    Expected {
        starts: occurrences.into_iter().map(|o| o.start).collect(),
        period_s: rules.iter().map(period_s).max().unwrap_or(DAY_S),
    }
}

/// A rule read from WeCom's `repeat_*` keys; `None` for an unknown `repeat_type`. A missing
/// `repeat_type` is daily (WeCom's default); `repeat_until_type` 1 counts occurrences, else
/// `repeat_until` is the last start; neither given: until the cap.
pub fn rule_of(f: &RepeatFields) -> Option<RepeatRule> {
    let repeat_type = RepeatType::from_code(f.repeat_type.unwrap_or(0))?;
    let count = f
        .repeat_until_count
        .filter(|n| *n > 0)
        .and_then(|n| u32::try_from(n).ok());
    let date = f.repeat_until.filter(|t| *t > 0);
    let until = match (f.repeat_until_type, count, date) {
        (Some(1), Some(n), _) => Until::Count(n),
        (_, _, Some(t)) => Until::Date(t),
        (None, Some(n), None) => Until::Count(n),
        _ => Until::Unbounded,
    };
    let days =
        |list: &[i64]| -> Vec<u8> { list.iter().filter_map(|d| u8::try_from(*d).ok()).collect() };
    Some(RepeatRule {
        repeat_type,
        interval: f
            .repeat_interval
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(1),
        days_of_week: days(&f.repeat_day_of_week),
        days_of_month: days(&f.repeat_day_of_month),
        until,
    })
}

/// The longest time between two occurrences of a rule.
fn period_s(rule: &RepeatRule) -> i64 {
    let step = i64::from(rule.step());
    DAY_S
        * match rule.repeat_type {
            RepeatType::Daily => step,
            RepeatType::Weekly => 7 * step,
            RepeatType::Monthly => MONTH_DAYS * step,
            RepeatType::Workdays => WORKDAY_GAP_DAYS,
        }
}

/// The expected starts no listed occurrence accounts for: a listed start equal to an expected
/// one matches it; each listed start the rule does not expect (a moved occurrence, in start
/// order) then takes the nearest expected start still unmatched within `tolerance_s`.
pub fn unmatched(expected: &[i64], listed: &[i64], tolerance_s: i64) -> Vec<i64> {
    let listed_set: HashSet<i64> = listed.iter().copied().collect();
    let expected_set: HashSet<i64> = expected.iter().copied().collect();
    let mut open: BTreeSet<i64> = expected
        .iter()
        .copied()
        .filter(|t| !listed_set.contains(t))
        .collect();
    let mut moved: Vec<i64> = listed
        .iter()
        .copied()
        .filter(|t| !expected_set.contains(t))
        .collect();
    moved.sort_unstable();
    for m in moved {
        let nearest = open
            .range(m.saturating_sub(tolerance_s)..=m.saturating_add(tolerance_s))
            .copied()
            .min_by_key(|t| ((t - m).abs(), *t));
        if let Some(t) = nearest {
            open.remove(&t);
        }
    }
    open.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const WEEK: i64 = 7 * DAY_S;

    #[test]
    fn a_listed_start_matches_its_expected_start_and_a_moved_one_the_nearest_left() {
        let expected = [0, WEEK, 2 * WEEK, 3 * WEEK];
        // Week 1 listed on time, week 2 moved a day later, week 3 never listed.
        let listed = [0, WEEK, 2 * WEEK + DAY_S];
        assert_eq!(unmatched(&expected, &listed, WEEK), [3 * WEEK]);
        // A moved occurrence further than a period from any expected start accounts for none.
        assert_eq!(
            unmatched(&expected, &[0, WEEK, 2 * WEEK, 10 * WEEK], WEEK),
            [3 * WEEK]
        );
        assert_eq!(unmatched(&expected, &[], WEEK), expected);
    }

    #[test]
    fn the_rule_is_read_from_the_repeat_keys_segments_replacing_reminders() {
        let f = |json: &str| serde_json::from_str::<RepeatFields>(json).unwrap();
        let r = rule_of(&f(
            r#"{"repeat_type":1,"repeat_interval":2,"repeat_until":99}"#,
        ))
        .unwrap();
        assert_eq!(
            (r.repeat_type, r.interval, r.until),
            (RepeatType::Weekly, 2, Until::Date(99))
        );
        let r = rule_of(&f(
            r#"{"repeat_type":7,"repeat_until_type":1,"repeat_until_count":5,"repeat_until":9}"#,
        ))
        .unwrap();
        assert_eq!(r.until, Until::Count(5));
        assert!(rule_of(&f(r#"{"repeat_type":5}"#)).is_none());
        // Monday 2026-01-05 09:00 Shanghai, weekly, 3 occurrences; a segment list replaces it.
        const MON: i64 = 1_767_574_800;
        let tz: Tz = "Asia/Shanghai".parse().unwrap();
        let info: SeriesInfo = serde_json::from_str(&format!(
            r#"{{"meeting_start":{MON},"meeting_duration":3600,
                "reminders":{{"is_repeat":1,"repeat_type":1,"repeat_until_type":1,"repeat_until_count":3}}}}"#
        ))
        .unwrap();
        let e = expected_starts(&info, tz);
        assert_eq!(e.starts, [MON, MON + WEEK, MON + 2 * WEEK]);
        assert_eq!(e.period_s, WEEK);
        let split: SeriesInfo = serde_json::from_str(&format!(
            r#"{{"meeting_start":{MON},"meeting_duration":3600,
                "reminders":{{"is_repeat":1,"repeat_type":0}},
                "sub_repeat_list":[{{"repeat_id":"a","repeat_type":1,"repeat_until_type":1,"repeat_until_count":2}},
                                   {{"repeat_id":"b","repeat_type":1,"repeat_until_type":1,"repeat_until_count":1}}]}}"#
        ))
        .unwrap();
        assert_eq!(
            expected_starts(&split, tz).starts,
            [MON, MON + WEEK, MON + 2 * WEEK]
        );
    }
}
