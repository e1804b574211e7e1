//! Recurring meetings (周期性会议) for the fake to serve: one `meetingid` for the whole series,
//! its rule (WeCom's `reminders` fields, and `sub_repeat_list` segments when someone edited
//! "this and following occurrences"), and its occurrences, each with an opaque
//! `sub_meetingid`, a scheduled start and end, a status (deleted or not), a title, a
//! `repeat_id` and what `get_info` answers for it.
//!
//! A series is built from a rule with the job's own expansion
//! ([`wecom_domain::recurrence`]), then edited the ways people edit a series: an occurrence
//! deleted, one moved, a split into two segments. How the server answers for it (which
//! occurrences the head lists at a given "now") is in `series_answer.rs`.
//!
//! ```
//! use chrono_tz::Asia::Shanghai;
//! use serde_json::json;
//! use wecom_domain::recurrence::{RepeatRule, RepeatType, Until};
//! use wecom_fake::FakeSeries;
//!
//! // Eight Monday meetings at 10:00 Shanghai time from 2026-11-02, 30 minutes each.
//! let rule = RepeatRule { until: Until::Count(8), ..RepeatRule::new(RepeatType::Weekly) };
//! let series = FakeSeries::from_rule("hyWeekly", "zhangsan", "周会", &rule, 1_793_584_800, 1800, Shanghai)
//!     .delete(3)                                   // the fourth is deleted (status 1)
//!     .move_to(5, 1_793_584_800 + 5 * 7 * 86_400 + 86_400) // the sixth moved to the Tuesday
//!     .attendees(0, json!({"member": [{"userid": "lisi", "status": 1,
//!         "first_join_time": 1_793_584_800, "last_quit_time": 1_793_586_600,
//!         "total_join_count": 1, "cumulative_time": 1800}]}))
//!     .repeat_id_as_number();
//! assert_eq!(series.occurrences.len(), 8);
//! let second = series.sub_meetingid(1).to_owned(); // ask get_info for it with this id
//! # let _ = second;
//! ```
//!
//! Serve it with [`crate::FakeWecom::with_series`]; set the server's "now" with
//! [`crate::FakeWecom::series_now`] and later [`crate::FakeHandle::set_now`].

use chrono_tz::Tz;
use serde_json::{Value, json};
use wecom_domain::recurrence::{self, Occurrence, RepeatRule, Until};

/// The `repeat_id` of the occurrences of a series built from one rule.
pub const DEFAULT_REPEAT_ID: &str = "1";
/// `is_custom_repeat` when the rule names its days.
const CUSTOM_REPEAT: i64 = 1;
/// `repeat_until_type`: by date.
const UNTIL_BY_DATE: i64 = 0;
/// `repeat_until_type`: by count.
const UNTIL_BY_COUNT: i64 = 1;

/// What `get_info` with an occurrence's `sub_meetingid` answers for it.
#[derive(Clone, Debug, PartialEq)]
pub enum OccurrenceContent {
    /// The organizer alone: attended the whole occurrence once it has ended (or while it is
    /// in progress, not yet left), invited and absent before it starts.
    Organizer,
    /// This `attendees` object (`{"member": [...], "tmp_external_user": [...]}`), whatever
    /// "now" is; the rest of the body is generated.
    Attendees(Value),
    /// This `attendees` object as JSON text, spliced in verbatim (cheaper than a `Value` for
    /// the many occurrences of generated series).
    AttendeesJson(String),
    /// This whole body, served verbatim (a quirk: no attendees, an errcode, garbage).
    Body(String),
}

/// One occurrence of a [`FakeSeries`].
#[derive(Clone, Debug, PartialEq)]
pub struct FakeOccurrence {
    /// Opaque, unique within the series (never a start time).
    pub sub_meetingid: String,
    /// Scheduled start and end, epoch seconds.
    pub start: i64,
    pub end: i64,
    /// Deleted from the series: `status` 1 in `sub_meetings`, `status` 4 (cancelled) in its own
    /// body.
    pub deleted: bool,
    pub title: String,
    /// The rule segment it belongs to.
    pub repeat_id: String,
    pub content: OccurrenceContent,
}

/// A recurring meeting as the fake serves it. Build it with [`FakeSeries::from_rule`] or
/// [`FakeSeries::from_segments`], edit it with the methods below (or the public fields).
#[derive(Clone, Debug, PartialEq)]
pub struct FakeSeries {
    pub meetingid: String,
    /// `admin_userid`; `get_user_meetingid` lists the series under it at `first_start`.
    pub admin_userid: String,
    /// The series' title (the head's); each occurrence has its own too.
    pub title: String,
    /// The series' first occurrence as scheduled: the head's `meeting_start`.
    pub first_start: i64,
    /// The head's `meeting_duration`.
    pub duration_s: i64,
    /// The head's `reminders` object, served as is (`is_repeat` 1 and the rule's fields).
    pub reminders: Value,
    /// The head's `sub_repeat_list`; empty = not served (a series never split).
    pub sub_repeat_list: Vec<Value>,
    /// In creation order; the server lists them by start.
    pub occurrences: Vec<FakeOccurrence>,
    /// Serve `repeat_id` as a JSON number (when it is one) instead of a string, as some
    /// SDKs model it.
    pub repeat_id_number: bool,
}

impl FakeSeries {
    /// The series `rule` expands to from `first_start` (its first occurrence) in `tz`, each
    /// occurrence `duration_s` long, titled `title`, with `repeat_id` [`DEFAULT_REPEAT_ID`],
    /// the organizer as its only attendee ([`OccurrenceContent::Organizer`]).
    pub fn from_rule(
        meetingid: impl Into<String>,
        admin_userid: impl Into<String>,
        title: impl Into<String>,
        rule: &RepeatRule,
        first_start: i64,
        duration_s: i64,
        tz: Tz,
    ) -> FakeSeries {
        let found = recurrence::expand(rule, first_start, duration_s, tz);
        let occurrences: Vec<(String, Occurrence)> = found
            .into_iter()
            .map(|o| (DEFAULT_REPEAT_ID.to_owned(), o))
            .collect();
        let mut series = FakeSeries::empty(meetingid, admin_userid, title, first_start, duration_s);
        series.reminders = reminders_json(rule, &occurrences);
        series.push_all(occurrences);
        series
    }

    /// A split series: `segments` (repeat_id, rule) in `sub_repeat_list` order, expanded with
    /// [`recurrence::expand_segments`]; `reminders` holds the last segment's rule (the
    /// latest), `sub_repeat_list` every segment.
    pub fn from_segments(
        meetingid: impl Into<String>,
        admin_userid: impl Into<String>,
        title: impl Into<String>,
        segments: &[(String, RepeatRule)],
        first_start: i64,
        duration_s: i64,
        tz: Tz,
    ) -> FakeSeries {
        let occurrences = recurrence::expand_segments(segments, first_start, duration_s, tz);
        let mut series = FakeSeries::empty(meetingid, admin_userid, title, first_start, duration_s);
        series.sub_repeat_list = segments
            .iter()
            .map(|(id, rule)| {
                let own: Vec<(String, Occurrence)> = occurrences
                    .iter()
                    .filter(|(of, _)| of == id)
                    .cloned()
                    .collect();
                let mut segment = rule_fields(rule, &own);
                segment.insert("repeat_id".to_owned(), Value::String(id.clone()));
                Value::Object(segment)
            })
            .collect();
        if let Some((id, rule)) = segments.last() {
            let own: Vec<(String, Occurrence)> = occurrences
                .iter()
                .filter(|(of, _)| of == id)
                .cloned()
                .collect();
            series.reminders = reminders_json(rule, &own);
        }
        series.push_all(occurrences);
        series
    }

    fn empty(
        meetingid: impl Into<String>,
        admin_userid: impl Into<String>,
        title: impl Into<String>,
        first_start: i64,
        duration_s: i64,
    ) -> FakeSeries {
        FakeSeries {
            meetingid: meetingid.into(),
            admin_userid: admin_userid.into(),
            title: title.into(),
            first_start,
            duration_s,
            reminders: json!({"is_repeat": 1}),
            sub_repeat_list: Vec::new(),
            occurrences: Vec::new(),
            repeat_id_number: false,
        }
    }

    fn push_all(&mut self, occurrences: Vec<(String, Occurrence)>) {
        for (repeat_id, o) in occurrences {
            let index = self.occurrences.len();
            self.occurrences.push(FakeOccurrence {
                sub_meetingid: opaque_id(&self.meetingid, index),
                start: o.start,
                end: o.end,
                deleted: false,
                title: self.title.clone(),
                repeat_id,
                content: OccurrenceContent::Organizer,
            });
        }
    }

    /// The `sub_meetingid` of occurrence `n` (creation order, from 0). Panics when there is
    /// no such occurrence.
    pub fn sub_meetingid(&self, n: usize) -> &str {
        &self.occurrences[n].sub_meetingid
    }

    /// Occurrence `n` is deleted (`status` 1 in `sub_meetings`).
    pub fn delete(mut self, n: usize) -> FakeSeries {
        self.occurrences[n].deleted = true;
        self
    }

    /// Occurrence `n` moves to start at `start`, keeping its length and its `sub_meetingid`.
    pub fn move_to(mut self, n: usize, start: i64) -> FakeSeries {
        let o = &mut self.occurrences[n];
        o.end = start + (o.end - o.start);
        o.start = start;
        self
    }

    /// Occurrence `n` answers these attendees (`{"member": [...], "tmp_external_user": [...]}`).
    pub fn attendees(mut self, n: usize, attendees: Value) -> FakeSeries {
        self.occurrences[n].content = OccurrenceContent::Attendees(attendees);
        self
    }

    /// Every occurrence answers the attendees `f` gives for it (its index and itself).
    pub fn attendees_with(
        mut self,
        mut f: impl FnMut(usize, &FakeOccurrence) -> Value,
    ) -> FakeSeries {
        for n in 0..self.occurrences.len() {
            let attendees = f(n, &self.occurrences[n]);
            self.occurrences[n].content = OccurrenceContent::Attendees(attendees);
        }
        self
    }

    /// Occurrence `n` answers `body` verbatim.
    pub fn body(mut self, n: usize, body: impl Into<String>) -> FakeSeries {
        self.occurrences[n].content = OccurrenceContent::Body(body.into());
        self
    }

    /// Occurrence `n` has its own title.
    pub fn occurrence_title(mut self, n: usize, title: impl Into<String>) -> FakeSeries {
        self.occurrences[n].title = title.into();
        self
    }

    /// `repeat_id` is served as a JSON number wherever it is one (`"1"` → `1`).
    pub fn repeat_id_as_number(mut self) -> FakeSeries {
        self.repeat_id_number = true;
        self
    }

    /// `repeat_id` as served: a number when asked and possible, else the string.
    pub(crate) fn repeat_id_value(&self, id: &str) -> Value {
        match id.parse::<i64>() {
            Ok(n) if self.repeat_id_number => Value::from(n),
            _ => Value::String(id.to_owned()),
        }
    }
}

/// A `sub_meetingid` that looks like WeCom's: opaque, stable for a series and index.
fn opaque_id(meetingid: &str, index: usize) -> String {
    // FNV-1a of the meeting id, then SplitMix64 with the index.
    let mut h: u64 = 0xCBF2_9CE4_8422_2325;
    for b in meetingid.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01B3);
    }
    let mut z = h
        ^ (index as u64)
            .wrapping_add(1)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    format!("sm{:016x}", z ^ (z >> 31))
}

/// `reminders` for `rule`: `is_repeat` 1 and the rule's fields.
fn reminders_json(rule: &RepeatRule, occurrences: &[(String, Occurrence)]) -> Value {
    let mut fields = rule_fields(rule, occurrences);
    fields.insert("is_repeat".to_owned(), Value::from(1));
    fields.insert("remind_before".to_owned(), json!([]));
    Value::Object(fields)
}

/// WeCom's `repeat_*` fields of one rule. A rule without an end gets the last occurrence's
/// start as `repeat_until` (WeCom fills in the latest end the cap allows).
fn rule_fields(
    rule: &RepeatRule,
    occurrences: &[(String, Occurrence)],
) -> serde_json::Map<String, Value> {
    let custom = !rule.days_of_week.is_empty() || !rule.days_of_month.is_empty();
    let last_start = occurrences.last().map_or(0, |(_, o)| o.start);
    let (until_type, until, count) = match rule.until {
        Until::Date(t) => (UNTIL_BY_DATE, t, 0),
        Until::Count(n) => (UNTIL_BY_COUNT, last_start, n),
        Until::Unbounded => (UNTIL_BY_DATE, last_start, 0),
    };
    let Value::Object(map) = json!({
        "repeat_type": rule.repeat_type.code(),
        "repeat_interval": rule.interval,
        "is_custom_repeat": if custom { CUSTOM_REPEAT } else { 0 },
        "repeat_day_of_week": rule.days_of_week,
        "repeat_day_of_month": rule.days_of_month,
        "repeat_until_type": until_type,
        "repeat_until": until,
        "repeat_until_count": count,
    }) else {
        unreachable!("json! of an object literal is an object")
    };
    map
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::Asia::Shanghai;
    use wecom_domain::recurrence::RepeatType;

    const MONDAY_10H: i64 = 1_793_584_800; // 2026-11-02 10:00 +08:00
    const WEEK: i64 = 7 * 86_400;

    #[test]
    fn the_doc_example_starts_on_a_monday_at_ten_in_shanghai() {
        let t = chrono::DateTime::from_timestamp(MONDAY_10H, 0).unwrap();
        assert_eq!(
            t.with_timezone(&Shanghai).format("%a %F %R").to_string(),
            "Mon 2026-11-02 10:00"
        );
    }

    #[test]
    fn a_series_from_a_rule_has_its_occurrences_with_distinct_opaque_ids() {
        let rule = RepeatRule {
            until: Until::Count(8),
            ..RepeatRule::new(RepeatType::Weekly)
        };
        let s = FakeSeries::from_rule("hyW", "zhangsan", "周会", &rule, MONDAY_10H, 1800, Shanghai);
        assert_eq!(s.occurrences.len(), 8);
        assert_eq!(s.occurrences[7].start, MONDAY_10H + 7 * WEEK);
        assert_eq!(s.occurrences[7].end, MONDAY_10H + 7 * WEEK + 1800);
        let mut ids: Vec<&str> = s
            .occurrences
            .iter()
            .map(|o| o.sub_meetingid.as_str())
            .collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), 8);
        assert!(ids.iter().all(|id| id.parse::<i64>().is_err()));
        assert_eq!(s.reminders["repeat_until_type"], 1);
        assert_eq!(s.reminders["repeat_until_count"], 8);
        assert_eq!(s.reminders["repeat_type"], 1);
        assert_eq!(s.reminders["is_repeat"], 1);
    }

    #[test]
    fn edits_delete_and_move_one_occurrence_keeping_its_id_and_length() {
        let rule = RepeatRule {
            until: Until::Count(4),
            ..RepeatRule::new(RepeatType::Daily)
        };
        let s = FakeSeries::from_rule("hyD", "a", "站会", &rule, MONDAY_10H, 900, Shanghai);
        let id = s.sub_meetingid(2).to_owned();
        let s = s.delete(1).move_to(2, MONDAY_10H + 2 * 86_400 + 3600);
        assert!(s.occurrences[1].deleted);
        assert_eq!(s.occurrences[2].sub_meetingid, id);
        assert_eq!(s.occurrences[2].start, MONDAY_10H + 2 * 86_400 + 3600);
        assert_eq!(s.occurrences[2].end - s.occurrences[2].start, 900);
    }

    #[test]
    fn a_split_series_lists_both_segments_and_tags_each_occurrence() {
        let first = RepeatRule {
            until: Until::Count(3),
            ..RepeatRule::new(RepeatType::Weekly)
        };
        let second = RepeatRule {
            days_of_week: vec![3],
            until: Until::Count(2),
            ..RepeatRule::new(RepeatType::Weekly)
        };
        let segments = vec![("11".to_owned(), first), ("12".to_owned(), second)];
        let s = FakeSeries::from_segments("hyS", "a", "评审", &segments, MONDAY_10H, 600, Shanghai)
            .repeat_id_as_number();
        let ids: Vec<&str> = s.occurrences.iter().map(|o| o.repeat_id.as_str()).collect();
        assert_eq!(ids, ["11", "11", "11", "12", "12"]);
        assert_eq!(s.sub_repeat_list.len(), 2);
        assert_eq!(s.sub_repeat_list[1]["repeat_id"], "12");
        assert_eq!(s.sub_repeat_list[1]["repeat_day_of_week"], json!([3]));
        assert_eq!(s.reminders["repeat_day_of_week"], json!([3]));
        assert_eq!(s.repeat_id_value("12"), json!(12));
        assert_eq!(s.repeat_id_value("r-1"), json!("r-1"));
    }
}
