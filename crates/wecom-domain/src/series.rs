//! Recurring meetings (周期性会议) as the store hands them to the transform: a stored body
//! with the occurrence it belongs to ([`StoredBody`]), and what is known of each series of a
//! window from its heads ([`SeriesInWindow`], [`KnownOccurrence`]), deleted and expected
//! occurrences included, which no body carries.
//!
//! A series has one `meetingid`; each occurrence has a `sub_meetingid`, an opaque string. A
//! one-off meeting has no `sub_meetingid` and no catalog entry, and costs nothing here.

/// One stored get_info body: a one-off meeting (`sub_meetingid` `None`), a series answered
/// without occurrence information (also `None`), or one occurrence of a series.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredBody {
    pub meetingid: String,
    pub sub_meetingid: Option<String>,
    /// The body verbatim, as WeCom (or the folder source) gave it.
    pub body: Vec<u8>,
}

impl StoredBody {
    /// The body of a one-off meeting.
    pub fn one_off(meetingid: impl Into<String>, body: Vec<u8>) -> StoredBody {
        StoredBody {
            meetingid: meetingid.into(),
            sub_meetingid: None,
            body,
        }
    }
}

/// A series with an occurrence in the window, as its heads listed it over every run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeriesInWindow {
    pub meetingid: String,
    /// The head's title.
    pub series_title: Option<String>,
    /// Every occurrence ever listed whose start is in the window, deleted ones included, in
    /// start order.
    pub occurrences: Vec<KnownOccurrence>,
    /// Starts (epoch seconds) the rule expects in the window that no answer ever listed.
    pub expected_unlisted: Vec<i64>,
}

/// One occurrence as a head's `sub_meetings` listed it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KnownOccurrence {
    pub sub_meetingid: String,
    /// Scheduled start and end, epoch seconds.
    pub start: i64,
    pub end: i64,
    /// Listed with status 1 (deleted): never fetched, a `meetings` row with status `deleted`.
    pub deleted: bool,
    pub title: Option<String>,
    pub repeat_id: Option<String>,
}
