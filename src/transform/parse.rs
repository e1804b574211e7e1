//! Pure: a stored get_info body → a [`ParsedMeeting`], or a [`MeetingFailure`] saying why not.
//!
//! Bodies are parsed into typed structs that borrow their strings from the body (no
//! `serde_json::Value` trees). A body that does not parse, carries a non-zero errcode or holds a
//! value no meeting can hold (a time outside 2000–2100, a negative duration) is a failure; a body
//! refused only for its text (a character cut in half, a key given twice) is repaired and read
//! again. A failure never aborts the batch. [`crate::transform::flatten`] turns the meetings into
//! columns.

use crate::config::server_text;
use crate::domain::series::{KnownOccurrence, StoredBody};
use crate::domain::{
    MAX_DURATION_S, MAX_JOIN_COUNT, MeetingFailure, PLAUSIBLE_TIMES, plausible_time,
};
use crate::transform::flatten::Quality;
use crate::wecom::model::MeetingInfo;
use crate::wecom::repair::{self, Repairs};

/// A parsed meeting and its key; strings borrow from the body where they can.
pub struct ParsedMeeting<'a> {
    pub meetingid: &'a str,
    /// The occurrence of a series the body is; `None` for a one-off meeting.
    pub sub_meetingid: Option<&'a str>,
    /// The series' title (its head's), for an occurrence; `None` for a one-off meeting.
    pub series_title: Option<&'a str>,
    /// A deleted occurrence: a meeting row with status `deleted` and no attendees.
    pub deleted: bool,
    pub info: MeetingInfo<'a>,
}

impl<'a> ParsedMeeting<'a> {
    /// A deleted occurrence of series `meetingid`, as its head listed it: no body, so its
    /// schedule and title are the listing's.
    pub fn deleted_occurrence(
        meetingid: &'a str,
        series_title: Option<&'a str>,
        o: &'a KnownOccurrence,
    ) -> ParsedMeeting<'a> {
        ParsedMeeting {
            meetingid,
            sub_meetingid: Some(&o.sub_meetingid),
            series_title,
            deleted: true,
            info: MeetingInfo {
                title: o.title.as_deref().map(std::borrow::Cow::Borrowed),
                meeting_start: Some(o.start),
                meeting_duration: Some((o.end - o.start).max(0)),
                ..MeetingInfo::default()
            },
        }
    }

    /// Start time as unix seconds; `None` for 0 or missing.
    pub fn start(&self) -> Option<i64> {
        self.info.meeting_start.filter(|t| *t > 0)
    }
}

/// Parses one body. A non-zero errcode or a body that is not a get_info answer is a failure.
pub fn parse_body<'a>(
    meetingid: &'a str,
    body: &'a [u8],
) -> Result<ParsedMeeting<'a>, MeetingFailure> {
    let fail = |reason: String| MeetingFailure {
        meetingid: meetingid.to_string(),
        sub_meetingid: None,
        errcode: None,
        reason: format!(
            "body is not a get_info answer: {}",
            server_text::parse_error(&reason)
        ),
    };
    // Validating UTF-8 once for the whole body (SIMD-fast) spares serde_json a check per string.
    let text = std::str::from_utf8(body).map_err(|e| fail(e.to_string()))?;
    let info: MeetingInfo = serde_json::from_str(text).map_err(|e| fail(e.to_string()))?;
    let m = check_errcode(meetingid, info)?;
    match implausible_value(&m.info) {
        Some(why) => Err(MeetingFailure {
            meetingid: meetingid.to_string(),
            sub_meetingid: None,
            errcode: None,
            reason: format!("implausible value: {why}"),
        }),
        None => Ok(m),
    }
}

/// The first value of a body outside what a meeting can hold: a time outside
/// [`PLAUSIBLE_TIMES`] (0 and missing mean "none" and are fine), a negative or over-long
/// duration, an absurd join count. Such values would otherwise wrap in sums or land in
/// impossible date partitions.
fn implausible_value(info: &MeetingInfo) -> Option<String> {
    let time = |name: &str, t: Option<i64>| match t {
        Some(t) if t != 0 && !plausible_time(t) => Some(format!(
            "{name} {t} is outside {}..{} (unix seconds of 2000-01-01 and 2100-01-01)",
            PLAUSIBLE_TIMES.start, PLAUSIBLE_TIMES.end
        )),
        _ => None,
    };
    let span = |name: &str, v: Option<i64>, max: i64| match v {
        Some(v) if !(0..=max).contains(&v) => Some(format!("{name} {v} is not within 0..={max}")),
        _ => None,
    };
    if let Some(why) = time("meeting_start", info.meeting_start)
        .or_else(|| span("meeting_duration", info.meeting_duration, MAX_DURATION_S))
    {
        return Some(why);
    }
    let attendees = info.attendees.as_ref()?;
    attendees
        .member
        .iter()
        .chain(&attendees.tmp_external_user)
        .find_map(|p| {
            time("first_join_time", p.first_join_time)
                .or_else(|| time("last_quit_time", p.last_quit_time))
                .or_else(|| span("cumulative_time", p.cumulative_time, MAX_DURATION_S))
                .or_else(|| span("total_join_count", p.total_join_count, MAX_JOIN_COUNT))
        })
}

/// A parsed answer is a meeting only when its errcode is 0 (or absent).
fn check_errcode<'a>(
    meetingid: &'a str,
    info: MeetingInfo<'a>,
) -> Result<ParsedMeeting<'a>, MeetingFailure> {
    match info.errcode {
        Some(0) | None => Ok(ParsedMeeting {
            meetingid,
            sub_meetingid: None,
            series_title: None,
            deleted: false,
            info,
        }),
        Some(code) => Err(MeetingFailure {
            meetingid: meetingid.to_string(),
            sub_meetingid: None,
            errcode: Some(code),
            reason: format!(
                "answer carries errcode {code}{}",
                info.errmsg
                    .as_deref()
                    .and_then(server_text::errmsg)
                    .map(|m| format!(" ({m})"))
                    .unwrap_or_default()
            ),
        }),
    }
}

/// Parses one stored body, keeping the occurrence it belongs to.
pub fn parse_stored(b: &StoredBody) -> Result<ParsedMeeting<'_>, MeetingFailure> {
    match parse_body(&b.meetingid, &b.body) {
        Ok(mut m) => {
            m.sub_meetingid = b.sub_meetingid.as_deref();
            Ok(m)
        }
        Err(mut f) => {
            f.sub_meetingid = b.sub_meetingid.clone();
            Err(f)
        }
    }
}

/// The failed bodies of a batch that a repair makes readable (text cut in half, a key given
/// twice: see [`repair`]), with the repairs each needed, for [`reparse`]. Only bodies the typed
/// parse refused are looked at, so sound bodies cost nothing here.
pub fn repair(bodies: &[StoredBody], failed: &[MeetingFailure]) -> Vec<(StoredBody, Repairs)> {
    let failed: std::collections::HashSet<(&str, Option<&str>)> = failed
        .iter()
        .filter(|f| f.errcode.is_none())
        .map(|f| (f.meetingid.as_str(), f.sub_meetingid.as_deref()))
        .collect();
    bodies
        .iter()
        .filter(|b| failed.contains(&(b.meetingid.as_str(), b.sub_meetingid.as_deref())))
        .filter_map(|b| {
            repair::repair(&b.body).map(|fixed| {
                let body = StoredBody {
                    meetingid: b.meetingid.clone(),
                    sub_meetingid: b.sub_meetingid.clone(),
                    body: fixed.body,
                };
                (body, fixed.repairs)
            })
        })
        .collect()
}

/// Parses the repaired bodies: those that now parse leave `failed` and are returned, with the
/// repairs they needed counted; the others keep their first failure.
pub fn reparse<'a>(
    repaired: &'a [(StoredBody, Repairs)],
    failed: &mut Vec<MeetingFailure>,
) -> (Vec<ParsedMeeting<'a>>, Quality) {
    let mut ok = Vec::new();
    let mut quality = Quality::default();
    for (b, repairs) in repaired {
        if let Ok(m) = parse_stored(b) {
            quality.text_repaired += u64::from(repairs.text);
            quality.bodies_with_repeated_keys += u64::from(repairs.keys);
            failed.retain(|f| (&f.meetingid, &f.sub_meetingid) != (&b.meetingid, &b.sub_meetingid));
            ok.push(m);
        }
    }
    (ok, quality)
}

/// Parses a batch of bodies in order, splitting successes from failures.
pub fn parse_batch(bodies: &[StoredBody]) -> (Vec<ParsedMeeting<'_>>, Vec<MeetingFailure>) {
    let mut ok = Vec::with_capacity(bodies.len());
    let mut failed = Vec::new();
    for b in bodies {
        match parse_stored(b) {
            Ok(m) => ok.push(m),
            Err(f) => failed.push(f),
        }
    }
    (ok, failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unparsable_body_is_a_failure_naming_the_meeting() {
        let f = parse_body("m1", b"{\"title\": ").err().unwrap();
        assert_eq!(f.meetingid, "m1");
        assert!(f.reason.contains("not a get_info answer"), "{}", f.reason);
        let f = parse_body("m2", b"<html>502</html>").err().unwrap();
        assert_eq!(f.errcode, None);
    }

    #[test]
    fn a_body_with_a_non_zero_errcode_is_a_failure_with_that_errcode() {
        let f = parse_body("m1", br#"{"errcode":90602,"errmsg":"x"}"#)
            .err()
            .unwrap();
        assert_eq!(f.errcode, Some(90602));
    }
}
