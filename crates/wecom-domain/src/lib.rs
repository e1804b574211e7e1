//! The words every stage shares: a meeting's status and a meeting that failed, the people
//! history ([`people`]) and the rules of recurring meetings ([`recurrence`]).
//!
//! One definition each, used by the job file (which statuses count for `users`), the store
//! (which meetings are final), the transform (the `meeting_status` column) and the fake
//! server's body generator. A crate of its own so that the fake server shares it without
//! linking the job.

pub mod people;
pub mod recurrence;
pub mod series;

use serde::Serialize;
use std::fmt;

/// A meeting's `status` as WeCom's get_info reports it: 1–5, or any other number WeCom may add.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MeetingStatus {
    Upcoming,
    InProgress,
    Ended,
    Cancelled,
    Expired,
    /// A code outside 1–5, kept so that it is reported, never guessed.
    Other(i64),
}

impl MeetingStatus {
    /// The five statuses WeCom documents, in code order (1–5).
    pub const KNOWN: [MeetingStatus; 5] = [
        MeetingStatus::Upcoming,
        MeetingStatus::InProgress,
        MeetingStatus::Ended,
        MeetingStatus::Cancelled,
        MeetingStatus::Expired,
    ];

    /// The status of WeCom's code.
    pub fn from_code(code: i64) -> MeetingStatus {
        match code {
            1 => MeetingStatus::Upcoming,
            2 => MeetingStatus::InProgress,
            3 => MeetingStatus::Ended,
            4 => MeetingStatus::Cancelled,
            5 => MeetingStatus::Expired,
            c => MeetingStatus::Other(c),
        }
    }

    /// WeCom's code.
    pub fn code(self) -> i64 {
        match self {
            MeetingStatus::Upcoming => 1,
            MeetingStatus::InProgress => 2,
            MeetingStatus::Ended => 3,
            MeetingStatus::Cancelled => 4,
            MeetingStatus::Expired => 5,
            MeetingStatus::Other(c) => c,
        }
    }

    /// The name in the `meeting_status` column and the job file: `upcoming` … `expired`,
    /// `unknown_N` for other codes.
    pub fn name(self) -> String {
        match self {
            MeetingStatus::Other(c) => format!("unknown_{c}"),
            known => known.known_name().to_string(),
        }
    }

    fn known_name(self) -> &'static str {
        match self {
            MeetingStatus::Upcoming => "upcoming",
            MeetingStatus::InProgress => "in_progress",
            MeetingStatus::Ended => "ended",
            MeetingStatus::Cancelled => "cancelled",
            MeetingStatus::Expired => "expired",
            MeetingStatus::Other(_) => "unknown",
        }
    }

    /// The name of an optional code: `unknown` when the body had no status.
    pub fn name_of(code: Option<i64>) -> String {
        code.map_or_else(|| "unknown".to_string(), |c| Self::from_code(c).name())
    }

    /// A status name or number as a user writes it (`ended`, ` 3 `).
    pub fn parse(text: &str) -> Result<MeetingStatus, UnknownStatus> {
        let t = text.trim();
        if let Some(s) = Self::KNOWN.iter().find(|s| s.known_name() == t) {
            return Ok(*s);
        }
        t.parse::<i64>()
            .map(Self::from_code)
            .map_err(|_| UnknownStatus(text.to_string()))
    }

    /// Final statuses never change again (ended, cancelled, expired): a stored body in one of
    /// them needs no new call.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            MeetingStatus::Ended | MeetingStatus::Cancelled | MeetingStatus::Expired
        )
    }

    /// The codes of the final statuses, for the store's queries.
    pub fn final_codes() -> impl Iterator<Item = i64> {
        Self::KNOWN
            .into_iter()
            .filter(|s| s.is_final())
            .map(Self::code)
    }
}

impl fmt::Display for MeetingStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

/// A status name that is neither one of WeCom's five nor a number.
#[derive(Debug, thiserror::Error)]
#[error(
    "unknown meeting status '{0}': use one of upcoming, in_progress, ended, cancelled, expired"
)]
pub struct UnknownStatus(pub String);

/// The span of times a meeting body may carry: from 2000-01-01T00:00:00Z (WeCom did not exist
/// before) to 2100-01-01T00:00:00Z, as unix seconds, half-open. Fixed, not relative to today,
/// so that a rerun of the same store gives the same tables. A value outside it (i64::MAX,
/// milliseconds where seconds are meant) makes the meeting a failure instead of a date in the
/// year 58848 or a sum that wraps.
pub const PLAUSIBLE_TIMES: std::ops::Range<i64> = 946_684_800..4_102_444_800;

/// The longest span a duration may cover (a meeting's, or a person's time in it): 366 days.
pub const MAX_DURATION_S: i64 = 366 * 86_400;

/// The most joins one person may have in one meeting.
pub const MAX_JOIN_COUNT: i64 = 1_000_000;

/// Whether `t` (unix seconds) lies in [`PLAUSIBLE_TIMES`].
pub fn plausible_time(t: i64) -> bool {
    PLAUSIBLE_TIMES.contains(&t)
}

/// A meeting that got no usable body: WeCom refused it (with its errcode), the source had
/// nothing for it, or the body could not be understood.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct MeetingFailure {
    /// The meeting, or for an occurrence of a recurring meeting the series.
    pub meetingid: String,
    /// The occurrence of a recurring meeting that failed (absent for a one-off meeting).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_meetingid: Option<String>,
    /// WeCom's errcode, when the failure carried one.
    pub errcode: Option<i64>,
    pub reason: String,
}

impl MeetingFailure {
    /// A failure of a whole meeting (a one-off meeting, or a series' head).
    pub fn meeting(meetingid: impl Into<String>, errcode: Option<i64>, reason: String) -> Self {
        MeetingFailure {
            meetingid: meetingid.into(),
            sub_meetingid: None,
            errcode,
            reason,
        }
    }

    /// What the failure is of, for people: `M`, or `M occurrence S` for an occurrence.
    pub fn subject(&self) -> String {
        match &self.sub_meetingid {
            Some(sub) => format!("{} occurrence {sub}", self.meetingid),
            None => self.meetingid.clone(),
        }
    }
}

/// A meeting no longer fetched: refused with a permanent errcode (not found, no permission) in
/// as many runs as the job allows. Listed in every run report until `--refetch` tries again.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct GivenUp {
    #[serde(flatten)]
    pub failure: MeetingFailure,
    /// Runs in which WeCom refused it with a permanent errcode.
    pub permanent_runs: i64,
    pub first_failed_at: String,
    pub last_failed_at: String,
}

/// How many answers one API endpoint gave with one errcode during a run (`busy`: no errcode,
/// e.g. HTTP 502 or a timeout; `too_large`: a body past `fetch.max_body_mb`; `refused`: an HTTP
/// answer that stops the run).
#[derive(Debug, Default, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct EndpointAnswers {
    pub endpoint: String,
    pub errcode: String,
    pub answers: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_names_and_finality_round_trip() {
        let names: Vec<String> = MeetingStatus::KNOWN.iter().map(|s| s.name()).collect();
        assert_eq!(
            names,
            ["upcoming", "in_progress", "ended", "cancelled", "expired"]
        );
        for s in MeetingStatus::KNOWN {
            assert_eq!(MeetingStatus::from_code(s.code()), s);
            assert_eq!(MeetingStatus::parse(&s.name()).unwrap(), s);
        }
        assert_eq!(MeetingStatus::final_codes().collect::<Vec<_>>(), [3, 4, 5]);
        assert_eq!(MeetingStatus::from_code(7).name(), "unknown_7");
        assert!(!MeetingStatus::from_code(7).is_final());
        assert_eq!(MeetingStatus::name_of(None), "unknown");
        assert_eq!(MeetingStatus::parse(" 3 ").unwrap(), MeetingStatus::Ended);
        assert!(
            MeetingStatus::parse("finished")
                .unwrap_err()
                .to_string()
                .contains("use one of")
        );
    }
}
