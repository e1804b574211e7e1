//! Values a meeting cannot hold, and what the tables make of them.
//!
//! A time must lie in [`PLAUSIBLE_TIMES`] (2000-01-01 to 2100-01-01; 0 or missing means "none"),
//! a duration between 0 and [`MAX_DURATION_S`], a join count between 0 and [`MAX_JOIN_COUNT`].
//! Without these bounds `i64::MAX` as a start lands in no date, two huge `cumulative_time`s wrap
//! to a small sum, and a huge `last_quit_time` prints as 1970. A meeting whose *start* is outside
//! cannot be dated, so it fails. Any other value outside — an attendee's join or quit time,
//! cumulative time or join count, the meeting's duration — becomes null where it stands (and the
//! metrics derived from it are null too), counted per field in `quality.values_nulled`: one odd
//! value never costs the other attendees their rows. WeCom's own sample answer has join times of
//! 1975 (`166666666`), placeholders.

use crate::domain::{MAX_DURATION_S, MAX_JOIN_COUNT, PLAUSIBLE_TIMES, plausible_time};
use crate::wecom::model::{Attendee, MeetingInfo};
use std::collections::BTreeMap;

/// Values read as null, by the field of the body they were in.
pub type Nulled = BTreeMap<&'static str, u64>;

/// Why the meeting's start cannot be a start: outside [`PLAUSIBLE_TIMES`] (0 and missing are
/// "no start", which is fine).
pub fn implausible_start(info: &MeetingInfo) -> Option<String> {
    match info.meeting_start {
        Some(t) if t != 0 && !plausible_time(t) => Some(format!(
            "meeting_start {t} is outside {}..{} (unix seconds of 2000-01-01 and 2100-01-01)",
            PLAUSIBLE_TIMES.start, PLAUSIBLE_TIMES.end
        )),
        _ => None,
    }
}

/// The meeting's duration in seconds; null when missing or outside 0..=[`MAX_DURATION_S`].
pub fn meeting_duration(info: &MeetingInfo, nulled: &mut Nulled) -> Option<i64> {
    within(
        "meeting_duration",
        info.meeting_duration,
        MAX_DURATION_S,
        nulled,
    )
}

/// An attendee's statistics as the tables take them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttendeeValues {
    /// First join, epoch milliseconds; null for 0, missing or implausible.
    pub first_join_ms: Option<i64>,
    /// Last quit, epoch milliseconds; null for 0, missing or implausible.
    pub last_quit_ms: Option<i64>,
    /// 0 when missing, null when implausible.
    pub join_count: Option<i64>,
    /// Seconds; 0 when missing, null when implausible.
    pub cumulative_s: Option<i64>,
}

impl AttendeeValues {
    /// Reads an attendee's values, counting those that are implausible into `nulled`.
    pub fn of(p: &Attendee<'_>, nulled: &mut Nulled) -> AttendeeValues {
        let count = |name, v: Option<i64>, max, nulled: &mut Nulled| match v {
            None => Some(0),
            v => within(name, v, max, nulled),
        };
        AttendeeValues {
            first_join_ms: time_ms("first_join_time", p.first_join_time, nulled),
            last_quit_ms: time_ms("last_quit_time", p.last_quit_time, nulled),
            join_count: count(
                "total_join_count",
                p.total_join_count,
                MAX_JOIN_COUNT,
                nulled,
            ),
            cumulative_s: count("cumulative_time", p.cumulative_time, MAX_DURATION_S, nulled),
        }
    }
}

/// A body's time in milliseconds; 0 and missing mean "never" and become null (not 1970), and
/// so does a time outside [`PLAUSIBLE_TIMES`], counted.
fn time_ms(name: &'static str, t: Option<i64>, nulled: &mut Nulled) -> Option<i64> {
    match t {
        None | Some(0) => None,
        Some(t) if plausible_time(t) => Some(t * 1000),
        Some(_) => {
            *nulled.entry(name).or_default() += 1;
            None
        }
    }
}

/// `v` when within 0..=`max`; null (counted) when outside, null when missing.
fn within(name: &'static str, v: Option<i64>, max: i64, nulled: &mut Nulled) -> Option<i64> {
    match v {
        Some(v) if (0..=max).contains(&v) => Some(v),
        Some(_) => {
            *nulled.entry(name).or_default() += 1;
            None
        }
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attendee(json: &str) -> Attendee<'_> {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn implausible_attendee_values_are_null_and_counted_by_field() {
        let mut nulled = Nulled::new();
        let p = attendee(
            r#"{"userid":"a","first_join_time":166666666,"last_quit_time":1700003600,
                "total_join_count":-1,"cumulative_time":9223372036854775807}"#,
        );
        let v = AttendeeValues::of(&p, &mut nulled);
        assert_eq!(
            v,
            AttendeeValues {
                first_join_ms: None,
                last_quit_ms: Some(1_700_003_600_000),
                join_count: None,
                cumulative_s: None,
            }
        );
        assert_eq!(
            nulled,
            Nulled::from([
                ("cumulative_time", 1),
                ("first_join_time", 1),
                ("total_join_count", 1)
            ])
        );
    }

    #[test]
    fn zero_and_missing_values_are_not_counted() {
        let mut nulled = Nulled::new();
        let v = AttendeeValues::of(
            &attendee(r#"{"userid":"a","first_join_time":0}"#),
            &mut nulled,
        );
        assert_eq!(v.first_join_ms, None);
        assert_eq!((v.join_count, v.cumulative_s), (Some(0), Some(0)));
        assert!(nulled.is_empty());
    }
}
