//! Serde models of the WeCom answers the job reads, lenient where WeCom is loose.
//!
//! Public SDK fixtures show numbers sent as strings, ids above `u32`, missing `errmsg`,
//! `creator_userid` instead of `admin_userid`, `settings` fields as bool or int and extra keys.
//! Every numeric field here therefore accepts a JSON number *or* a numeric string, unknown keys
//! are ignored, and fields the job does not use are not modelled at all (so their type can't
//! break parsing). A body that still does not parse is a per-meeting failure for the caller.

use serde::{Deserialize, Deserializer, de};
use std::borrow::Cow;
use std::fmt;

/// The fields of a `get_info` answer the job uses. Strings borrow from the body when they
/// contain no escapes, so parsing a million attendees allocates little.
#[derive(Debug, Deserialize, Default)]
pub struct MeetingInfo<'a> {
    #[serde(default, deserialize_with = "lenient_i64")]
    pub errcode: Option<i64>,
    #[serde(default, borrow)]
    pub errmsg: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub admin_userid: Option<Cow<'a, str>>,
    /// Some answers carry the organiser here instead of `admin_userid`.
    #[serde(default, borrow)]
    pub creator_userid: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub title: Option<Cow<'a, str>>,
    #[serde(default, deserialize_with = "lenient_i64")]
    pub meeting_start: Option<i64>,
    #[serde(default, deserialize_with = "lenient_i64")]
    pub meeting_duration: Option<i64>,
    #[serde(default, deserialize_with = "lenient_i64")]
    pub main_department: Option<i64>,
    #[serde(default, deserialize_with = "lenient_i64")]
    pub status: Option<i64>,
    #[serde(default, borrow)]
    pub attendees: Option<Attendees<'a>>,
    #[serde(default, borrow)]
    pub settings: Option<Settings<'a>>,
    /// 1 for a recurring meeting; read loosely, as in [`MeetingHead`].
    #[serde(default, deserialize_with = "loose_i64")]
    pub meeting_type: Option<i64>,
    /// `reminders.is_repeat`: 1 for a recurring meeting.
    #[serde(default, deserialize_with = "is_repeat")]
    pub reminders: Option<i64>,
    /// Present when the answer lists a series' occurrences (even an empty list).
    #[serde(default)]
    pub sub_meetings: Option<de::IgnoredAny>,
    #[serde(default)]
    pub current_sub_meetingid: Option<de::IgnoredAny>,
}

impl<'a> MeetingInfo<'a> {
    /// A recurring meeting answered without occurrence information (no `sub_meetings`, no
    /// `current_sub_meetingid`): it stays one meeting at its `meeting_start`.
    pub fn is_series_without_occurrences(&self) -> bool {
        let series = self.meeting_type == Some(SERIES_MEETING_TYPE) || self.reminders == Some(1);
        series && self.sub_meetings.is_none() && self.current_sub_meetingid.is_none()
    }

    /// The organiser: `admin_userid`, or `creator_userid` when the former is absent.
    pub fn organizer(&self) -> Option<&str> {
        self.admin_userid
            .as_deref()
            .or(self.creator_userid.as_deref())
            .filter(|s| !s.is_empty())
    }

    /// The host userids listed in `settings.hosts.userid` (empty when absent).
    pub fn hosts(&self) -> &[Cow<'a, str>] {
        self.settings
            .as_ref()
            .and_then(|s| s.hosts.as_ref())
            .map(|h| h.userid.as_slice())
            .unwrap_or(&[])
    }
}

#[derive(Debug, Deserialize, Default)]
pub struct Attendees<'a> {
    #[serde(default, borrow, deserialize_with = "null_as_empty")]
    pub member: Vec<Attendee<'a>>,
    #[serde(default, borrow, deserialize_with = "null_as_empty")]
    pub tmp_external_user: Vec<Attendee<'a>>,
}

/// One entry of `attendees.member` (keyed by `userid`) or `attendees.tmp_external_user`
/// (keyed by `tmp_external_userid`); both carry the same join statistics. An entry may carry
/// both ids: the one of its list counts ([`Attendee::member_id`], [`Attendee::external_id`]).
#[derive(Debug, Deserialize)]
pub struct Attendee<'a> {
    #[serde(default, borrow)]
    pub userid: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub tmp_external_userid: Option<Cow<'a, str>>,
    #[serde(default, deserialize_with = "lenient_i64")]
    pub status: Option<i64>,
    #[serde(default, deserialize_with = "lenient_i64")]
    pub first_join_time: Option<i64>,
    #[serde(default, deserialize_with = "lenient_i64")]
    pub last_quit_time: Option<i64>,
    #[serde(default, deserialize_with = "lenient_i64")]
    pub total_join_count: Option<i64>,
    #[serde(default, deserialize_with = "lenient_i64")]
    pub cumulative_time: Option<i64>,
}

impl Attendee<'_> {
    /// The id of a `member` entry: its `userid` (its `tmp_external_userid` if it has none).
    pub fn member_id(&self) -> Option<&str> {
        non_empty(&self.userid).or(non_empty(&self.tmp_external_userid))
    }

    /// The id of a `tmp_external_user` entry: its `tmp_external_userid` (or its `userid`).
    pub fn external_id(&self) -> Option<&str> {
        non_empty(&self.tmp_external_userid).or(non_empty(&self.userid))
    }
}

fn non_empty<'s>(id: &'s Option<Cow<'_, str>>) -> Option<&'s str> {
    id.as_deref().filter(|s| !s.is_empty())
}

#[derive(Debug, Deserialize, Default)]
pub struct Settings<'a> {
    #[serde(default, borrow)]
    pub hosts: Option<UserList<'a>>,
}

#[derive(Debug, Deserialize, Default)]
pub struct UserList<'a> {
    #[serde(default, borrow, deserialize_with = "null_as_empty")]
    pub userid: Vec<Cow<'a, str>>,
}

/// The head of a `get_info` answer: what the fetch stage needs to file a body (is it an error,
/// is the meeting final, on which date does it start) without building its attendee lists.
#[derive(Debug, Deserialize, Default)]
pub struct MeetingHead {
    #[serde(default, deserialize_with = "lenient_i64")]
    pub errcode: Option<i64>,
    #[serde(default)]
    pub errmsg: Option<String>,
    #[serde(default, deserialize_with = "lenient_i64")]
    pub meeting_start: Option<i64>,
    #[serde(default, deserialize_with = "lenient_i64")]
    pub status: Option<i64>,
    /// Present (of any type) when the answer describes a meeting.
    #[serde(default)]
    title: Option<de::IgnoredAny>,
    #[serde(default)]
    meeting_duration: Option<de::IgnoredAny>,
    #[serde(default)]
    attendees: Option<de::IgnoredAny>,
    #[serde(default)]
    admin_userid: Option<de::IgnoredAny>,
    #[serde(default)]
    creator_userid: Option<de::IgnoredAny>,
    /// 1 for a recurring meeting (周期性会议); read loosely, a value of another type is none.
    #[serde(default, deserialize_with = "loose_i64")]
    meeting_type: Option<i64>,
    /// `reminders.is_repeat`: 1 for a recurring meeting.
    #[serde(default, deserialize_with = "is_repeat")]
    reminders: Option<i64>,
    /// Present when the answer lists a series' occurrences (even an empty list).
    #[serde(default)]
    sub_meetings: Option<de::IgnoredAny>,
    #[serde(default)]
    current_sub_meetingid: Option<de::IgnoredAny>,
}

impl MeetingHead {
    /// A recurring meeting: `meeting_type` 1 or `reminders.is_repeat` 1.
    pub fn is_series(&self) -> bool {
        self.meeting_type == Some(SERIES_MEETING_TYPE) || self.reminders == Some(1)
    }

    /// A recurring meeting whose answer says which occurrences it has (`sub_meetings`, even
    /// empty, or `current_sub_meetingid`): its occurrences are fetched one by one. A series
    /// without this information stays one meeting at its `meeting_start`.
    pub fn lists_occurrences(&self) -> bool {
        self.is_series() && (self.sub_meetings.is_some() || self.current_sub_meetingid.is_some())
    }

    /// Reads the head of a body; the rest of the JSON is skimmed, not built. The body must be
    /// a JSON object; a key given twice keeps its last value (see [`without_duplicate_keys`]).
    pub fn parse(body: &[u8]) -> Result<MeetingHead, serde_json::Error> {
        if first_byte(body) != Some(b'{') {
            return Err(de::Error::custom("the answer is not a JSON object"));
        }
        serde_json::from_slice(body).or_else(|e| match without_duplicate_keys(body) {
            Some(fixed) => serde_json::from_slice(&fixed),
            None => Err(e),
        })
    }

    /// An answer with errcode 0 that names none of a meeting's fields (`{}`,
    /// `{"errcode":0}`) describes no meeting.
    pub fn describes_a_meeting(&self) -> bool {
        self.meeting_start.is_some()
            || self.status.is_some()
            || self.title.is_some()
            || self.meeting_duration.is_some()
            || self.attendees.is_some()
            || self.admin_userid.is_some()
            || self.creator_userid.is_some()
    }

    /// Start time as unix seconds; `None` for 0 or missing.
    pub fn start(&self) -> Option<i64> {
        self.meeting_start.filter(|t| *t > 0)
    }
}

/// `meeting_type` of a recurring meeting.
pub const SERIES_MEETING_TYPE: i64 = 1;
/// `sub_meetings[].status` of a deleted occurrence (0: it exists).
pub const OCCURRENCE_DELETED: i64 = 1;

/// The series fields of a recurring meeting's `get_info` answer (the head, fetched without
/// `sub_meetingid`, or an occurrence's, which repeats them). Read only for bodies
/// [`MeetingHead::is_series`] recognised, and loosely throughout: ids and `repeat_id` as
/// strings or numbers, times as numbers or numeric strings, a field of an unexpected type read
/// as absent and a list entry that cannot be read skipped, so an odd series field never costs
/// the body.
#[derive(Debug, Default, Deserialize)]
pub struct SeriesInfo {
    #[serde(default, deserialize_with = "loose_string")]
    pub title: Option<String>,
    #[serde(default, deserialize_with = "loose_i64")]
    pub meeting_start: Option<i64>,
    #[serde(default, deserialize_with = "loose_i64")]
    pub meeting_duration: Option<i64>,
    #[serde(default, deserialize_with = "loose_i64")]
    pub status: Option<i64>,
    #[serde(default, deserialize_with = "loose_i64")]
    pub meeting_type: Option<i64>,
    #[serde(default, deserialize_with = "loose")]
    pub reminders: Option<RepeatFields>,
    #[serde(default, deserialize_with = "loose_id")]
    pub current_sub_meetingid: Option<String>,
    /// `None` when the key is absent (or not a list): no occurrence information.
    #[serde(default, deserialize_with = "loose_list")]
    pub sub_meetings: Option<Vec<SubMeeting>>,
    /// 1 when `sub_meetings` was cut.
    #[serde(default, deserialize_with = "loose_i64")]
    pub has_more_sub_meeting: Option<i64>,
    #[serde(default, deserialize_with = "loose_i64")]
    pub remain_sub_meetings: Option<i64>,
    /// The rule's segments after "this and following occurrences" edits; they replace
    /// `reminders` when present.
    #[serde(default, deserialize_with = "loose_list")]
    pub sub_repeat_list: Option<Vec<RepeatFields>>,
}

impl SeriesInfo {
    /// A recurring meeting that says which occurrences it has (see
    /// [`MeetingHead::lists_occurrences`]).
    pub fn lists_occurrences(&self) -> bool {
        let series = self.meeting_type == Some(SERIES_MEETING_TYPE)
            || self.reminders.as_ref().and_then(|r| r.is_repeat) == Some(1);
        series && (self.sub_meetings.is_some() || self.current_sub_meetingid.is_some())
    }

    /// Reads the series fields of a body (the attendees are skimmed, not built).
    pub fn parse(body: &[u8]) -> Result<SeriesInfo, serde_json::Error> {
        serde_json::from_slice(body).or_else(|e| match without_duplicate_keys(body) {
            Some(fixed) => serde_json::from_slice(&fixed),
            None => Err(e),
        })
    }
}

/// One entry of `sub_meetings`: an occurrence of the series.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct SubMeeting {
    #[serde(deserialize_with = "required_id")]
    pub sub_meetingid: String,
    /// 0 exists, 1 deleted ([`OCCURRENCE_DELETED`]).
    #[serde(default, deserialize_with = "loose_i64")]
    pub status: Option<i64>,
    #[serde(default, deserialize_with = "loose_i64")]
    pub start_time: Option<i64>,
    #[serde(default, deserialize_with = "loose_i64")]
    pub end_time: Option<i64>,
    #[serde(default, deserialize_with = "loose_string")]
    pub title: Option<String>,
    #[serde(default, deserialize_with = "loose_id")]
    pub repeat_id: Option<String>,
}

/// The `repeat_*` keys of `reminders` (with `is_repeat`) or of one `sub_repeat_list` segment
/// (with `repeat_id`).
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct RepeatFields {
    #[serde(default, deserialize_with = "loose_i64")]
    pub is_repeat: Option<i64>,
    #[serde(default, deserialize_with = "loose_id")]
    pub repeat_id: Option<String>,
    /// 0 daily, 1 weekly, 2 monthly, 7 workdays.
    #[serde(default, deserialize_with = "loose_i64")]
    pub repeat_type: Option<i64>,
    #[serde(default, deserialize_with = "loose_i64")]
    pub is_custom_repeat: Option<i64>,
    #[serde(default, deserialize_with = "loose_i64")]
    pub repeat_interval: Option<i64>,
    /// Epoch seconds, inclusive.
    #[serde(default, deserialize_with = "loose_i64")]
    pub repeat_until: Option<i64>,
    /// 0 until a date, 1 a number of occurrences.
    #[serde(default, deserialize_with = "loose_i64")]
    pub repeat_until_type: Option<i64>,
    #[serde(default, deserialize_with = "loose_i64")]
    pub repeat_until_count: Option<i64>,
    /// 1..=7, Monday..Sunday.
    #[serde(default, deserialize_with = "loose_i64_list")]
    pub repeat_day_of_week: Vec<i64>,
    /// 1..=31.
    #[serde(default, deserialize_with = "loose_i64_list")]
    pub repeat_day_of_month: Vec<i64>,
}

/// `reminders.is_repeat`, or none when `reminders` is not an object holding it.
fn is_repeat<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    Ok(loose::<D, RepeatFields>(d)?.and_then(|r| r.is_repeat))
}

/// An object as a `T`, or none when it is not one (an odd series field never fails a body).
fn loose<'de, D: Deserializer<'de>, T: de::DeserializeOwned>(d: D) -> Result<Option<T>, D::Error> {
    match serde_json::Value::deserialize(d)? {
        v @ serde_json::Value::Object(_) => Ok(serde_json::from_value(v).ok()),
        _ => Ok(None),
    }
}

/// A number or a numeric string; anything else is none.
fn loose_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    let v = serde_json::Value::deserialize(d)?;
    Ok(lenient_i64(v).ok().flatten())
}

/// A string; a number is written out; anything else (and `""`) is none.
fn loose_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(id_text(serde_json::Value::deserialize(d)?))
}

/// An id sent as a string or a number, kept as a string (`""` is none).
fn loose_id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    loose_string(d)
}

/// An id that must be there: a `sub_meetings` entry without one is skipped.
fn required_id<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    loose_id(d)?.ok_or_else(|| de::Error::custom("sub_meetingid is missing or empty"))
}

fn id_text(v: serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A list of objects whose entries that cannot be read are skipped; `None` when the value is not a list.
fn loose_list<'de, D: Deserializer<'de>, T: de::DeserializeOwned>(
    d: D,
) -> Result<Option<Vec<T>>, D::Error> {
    match serde_json::Value::deserialize(d)? {
        serde_json::Value::Array(items) => Ok(Some(
            items
                .into_iter()
                .filter(serde_json::Value::is_object)
                .filter_map(|v| serde_json::from_value(v).ok())
                .collect(),
        )),
        _ => Ok(None),
    }
}

/// A list of numbers or numeric strings (others skipped); not a list → empty.
fn loose_i64_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<i64>, D::Error> {
    match serde_json::Value::deserialize(d)? {
        serde_json::Value::Array(items) => Ok(items
            .into_iter()
            .filter_map(|v| lenient_i64(v).ok().flatten())
            .collect()),
        _ => Ok(Vec::new()),
    }
}

/// The first byte that is not whitespace (after a UTF-8 byte-order mark, if any).
fn first_byte(body: &[u8]) -> Option<u8> {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    body.iter().copied().find(|b| !b.is_ascii_whitespace())
}

/// The body re-encoded with each object key once (the last value wins, as in JavaScript), or
/// `None` when it is not JSON at all or has no key twice. Typed parsing refuses a duplicated
/// key; a body that only repeats a key is still a meeting.
pub fn without_duplicate_keys(body: &[u8]) -> Option<Vec<u8>> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    let fixed = serde_json::to_vec(&value).ok()?;
    // A body that parses as a Value but failed typed parsing for another reason gives the same
    // error again; the caller reports that one.
    Some(fixed)
}

/// Only the envelope of any WeCom answer: enough to classify it.
#[derive(Debug, Deserialize, Default)]
pub struct Envelope {
    #[serde(default, deserialize_with = "lenient_i64")]
    pub errcode: Option<i64>,
    #[serde(default)]
    pub errmsg: Option<String>,
}

/// `gettoken` answer.
#[derive(Debug, Deserialize)]
pub struct TokenAnswer {
    #[serde(default, deserialize_with = "lenient_i64")]
    pub errcode: Option<i64>,
    #[serde(default)]
    pub errmsg: Option<String>,
    #[serde(default)]
    pub access_token: Option<String>,
    #[serde(default, deserialize_with = "lenient_i64")]
    pub expires_in: Option<i64>,
}

/// `get_user_meetingid` answer.
#[derive(Debug, Deserialize)]
pub struct UserMeetingIds {
    #[serde(default, deserialize_with = "null_as_empty")]
    pub meetingid_list: Vec<String>,
    #[serde(default)]
    pub next_cursor: Option<String>,
}

/// Accepts `123`, `"123"`, `" 123 "`, `123.0`, `""` (→ None) and `null` (→ None).
pub fn lenient_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    struct V;
    impl<'de> de::Visitor<'de> for V {
        type Value = Option<i64>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("an integer or a string holding one")
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(Some(v))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            i64::try_from(v)
                .map(Some)
                .map_err(|_| E::custom(format!("integer {v} is out of range")))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
            if v.fract() == 0.0 && v.abs() < 9.0e18 {
                Ok(Some(v as i64))
            } else {
                Err(E::custom(format!("expected an integer, found {v}")))
            }
        }
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
            Ok(Some(i64::from(v)))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            let t = v.trim();
            if t.is_empty() {
                return Ok(None);
            }
            if let Ok(n) = t.parse::<i64>() {
                return Ok(Some(n));
            }
            match t.parse::<f64>() {
                Ok(f) => self.visit_f64(f),
                Err(_) => Err(E::custom(format!("expected an integer, found {v:?}"))),
            }
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(V)
        }
    }
    d.deserialize_any(V)
}

/// `null` or a missing list is an empty list.
fn null_as_empty<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_sent_as_strings_and_ids_above_u32_parse() {
        let m: MeetingInfo = serde_json::from_str(
            r#"{"meeting_start":"1700000000","meeting_duration":" 3600 ","main_department":4294967296,
                "status":"3","errcode":"0"}"#,
        )
        .unwrap();
        assert_eq!(m.meeting_start, Some(1_700_000_000));
        assert_eq!(m.meeting_duration, Some(3600));
        assert_eq!(m.main_department, Some(4_294_967_296));
        assert_eq!(m.status, Some(3));
        assert_eq!(m.errcode, Some(0));
    }

    #[test]
    fn creator_userid_stands_in_for_a_missing_admin_userid() {
        let m: MeetingInfo = serde_json::from_str(r#"{"creator_userid":"boss"}"#).unwrap();
        assert_eq!(m.organizer(), Some("boss"));
        let m: MeetingInfo =
            serde_json::from_str(r#"{"admin_userid":"a","creator_userid":"b"}"#).unwrap();
        assert_eq!(m.organizer(), Some("a"));
    }

    #[test]
    fn unknown_fields_and_settings_of_any_type_are_ignored() {
        let m: MeetingInfo = serde_json::from_str(
            r#"{"new_field":{"x":[1,2]},"settings":{"enable_enter_mute":1,"hosts":{"userid":["h"]}}}"#,
        )
        .unwrap();
        assert_eq!(m.hosts(), ["h"]);
        let m: MeetingInfo =
            serde_json::from_str(r#"{"settings":{"enable_enter_mute":true}}"#).unwrap();
        assert!(m.hosts().is_empty());
    }

    #[test]
    fn missing_or_null_attendee_lists_are_empty() {
        let m: MeetingInfo = serde_json::from_str(r#"{"attendees":{"member":null}}"#).unwrap();
        let a = m.attendees.unwrap();
        assert!(a.member.is_empty() && a.tmp_external_user.is_empty());
    }

    #[test]
    fn a_series_is_recognised_by_its_meeting_type_or_its_reminders() {
        let head = |b: &str| MeetingHead::parse(b.as_bytes()).unwrap();
        assert!(!head(r#"{"status":3}"#).is_series());
        assert!(head(r#"{"meeting_type":"1"}"#).is_series());
        assert!(head(r#"{"reminders":{"is_repeat":1,"repeat_type":0}}"#).is_series());
        // The seed's sample: a series without any occurrence information.
        let seed = head(r#"{"status":3,"reminders":{"is_repeat":1,"repeat_until":1606976813}}"#);
        assert!(seed.is_series() && !seed.lists_occurrences());
        assert!(head(r#"{"meeting_type":1,"sub_meetings":[]}"#).lists_occurrences());
        assert!(head(r#"{"meeting_type":1,"current_sub_meetingid":7}"#).lists_occurrences());
        // An occurrence list on a one-off meeting means nothing.
        assert!(!head(r#"{"meeting_type":0,"sub_meetings":[]}"#).lists_occurrences());
        // Series fields of odd types never cost the body.
        let odd = head(r#"{"status":3,"meeting_type":"weekly","reminders":"yes"}"#);
        assert!(odd.describes_a_meeting() && !odd.is_series());
    }

    #[test]
    fn series_fields_are_read_loosely_ids_as_strings_or_numbers() {
        let s = SeriesInfo::parse(
            r#"{"title":"周会","meeting_start":"1700000000","meeting_type":1,
                "current_sub_meetingid":1700604800,
                "reminders":{"is_repeat":1,"repeat_type":"1","repeat_interval":2,
                             "repeat_until":1800000000,"repeat_day_of_week":[1,"3",null]},
                "sub_meetings":[
                  {"sub_meetingid":"s1","status":0,"start_time":"1700000000","end_time":1700003600,
                   "title":"周会","repeat_id":123},
                  {"sub_meetingid":42,"status":1,"start_time":1700604800,"repeat_id":"r2"},
                  {"status":0,"start_time":1},
                  "junk"],
                "has_more_sub_meeting":1,"remain_sub_meetings":"9",
                "sub_repeat_list":[{"repeat_id":7,"repeat_type":1,"repeat_until_type":1,
                                    "repeat_until_count":4}],
                "attendees":{"member":[{"userid":"a"}]}}"#
                .as_bytes(),
        )
        .unwrap();
        assert_eq!(s.meeting_start, Some(1_700_000_000));
        assert_eq!(s.current_sub_meetingid.as_deref(), Some("1700604800"));
        let r = s.reminders.unwrap();
        assert_eq!((r.repeat_type, r.repeat_interval), (Some(1), Some(2)));
        assert_eq!(r.repeat_day_of_week, [1, 3]);
        let subs = s.sub_meetings.unwrap();
        assert_eq!(
            subs.len(),
            2,
            "entries without an id, or not objects, are skipped"
        );
        assert_eq!(subs[0].repeat_id.as_deref(), Some("123"));
        assert_eq!(subs[1].sub_meetingid, "42");
        assert_eq!(subs[1].status, Some(OCCURRENCE_DELETED));
        assert_eq!(
            (s.has_more_sub_meeting, s.remain_sub_meetings),
            (Some(1), Some(9))
        );
        let seg = &s.sub_repeat_list.unwrap()[0];
        assert_eq!(seg.repeat_id.as_deref(), Some("7"));
        assert_eq!(seg.repeat_until_count, Some(4));
        // A series without occurrence information, and odd types, read as absent.
        let s = SeriesInfo::parse(br#"{"sub_meetings":{"a":1},"reminders":[1]}"#).unwrap();
        assert!(s.sub_meetings.is_none() && s.reminders.is_none());
    }

    #[test]
    fn non_numeric_strings_in_numeric_fields_are_errors() {
        let r: Result<MeetingInfo, _> = serde_json::from_str(r#"{"meeting_start":"soon"}"#);
        assert!(r.unwrap_err().to_string().contains("soon"));
    }
}
