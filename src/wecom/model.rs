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
}

impl<'a> MeetingInfo<'a> {
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
}

impl MeetingHead {
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
    fn non_numeric_strings_in_numeric_fields_are_errors() {
        let r: Result<MeetingInfo, _> = serde_json::from_str(r#"{"meeting_start":"soon"}"#);
        assert!(r.unwrap_err().to_string().contains("soon"));
    }
}
