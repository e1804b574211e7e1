//! What `get_info` answers for a recurring meeting at a given "now" (the fake's choices where
//! WeCom documents nothing, written down here and in the crate header):
//!
//! - **Without `sub_meetingid`** (the head): `meeting_type` 1, `reminders`, `sub_repeat_list`
//!   (when split), `current_sub_meetingid` (the first occurrence not deleted whose end is after
//!   now: in progress or next; absent once the series is over), `sub_meetings` (every
//!   occurrence, deleted ones included, whose end is at or after `now - horizon`, by start,
//!   at most `cap` of them), `has_more_sub_meeting` (1 when the cap cut the list),
//!   `remain_sub_meetings` (occurrences not deleted that have not ended), `meeting_start` =
//!   the series' first occurrence, `status` 3 once every occurrence has ended (else the
//!   current one's 1 or 2), and the `attendees` of the current occurrence (of the last one
//!   held once the series is over).
//! - **With a known `sub_meetingid`**: that occurrence's own `meeting_start`,
//!   `meeting_duration`, `status` (1 before its start, 2 until its end, 3 after; 4 when
//!   deleted), `title` and `attendees`, plus the series fields above.
//! - **With an unknown one**: `None`; the handler answers the per-meeting errcode
//!   [`crate::errcode::UNKNOWN_SUB_MEETING`].

use crate::series::{FakeOccurrence, FakeSeries, OccurrenceContent};
use serde_json::{Map, Value, json};
use wecom_domain::MeetingStatus;

/// How the head's listing is cut: "now", how long an ended occurrence stays listed, and the
/// most occurrences listed.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ListingView {
    pub now: i64,
    pub horizon_s: i64,
    pub cap: usize,
}

/// The head's body: the series at `view.now`.
pub(crate) fn head(series: &FakeSeries, view: ListingView) -> String {
    let ordered = by_start(series);
    let current = current(&ordered, view.now);
    let shown = current.or_else(|| {
        ordered
            .iter()
            .rev()
            .find(|o| !o.deleted && o.start <= view.now)
            .copied()
    });
    let status = match current {
        Some(o) => status_of(o, view.now),
        None => MeetingStatus::Ended,
    };
    let mut body = common(series, &ordered, current, view);
    body.insert("title".to_owned(), Value::String(series.title.clone()));
    body.insert("meeting_start".to_owned(), Value::from(series.first_start));
    body.insert(
        "meeting_duration".to_owned(),
        Value::from(series.duration_s),
    );
    body.insert("status".to_owned(), Value::from(status.code()));
    match shown {
        Some(o) => with_attendees(body, series, o, view.now),
        None => {
            body.insert("attendees".to_owned(), no_attendees());
            Value::Object(body).to_string()
        }
    }
}

/// The body of occurrence `sub_meetingid` at `view.now`; `None` when the series has no such
/// occurrence.
pub(crate) fn occurrence(
    series: &FakeSeries,
    sub_meetingid: &str,
    view: ListingView,
) -> Option<String> {
    let o = series
        .occurrences
        .iter()
        .find(|o| o.sub_meetingid == sub_meetingid)?;
    if let OccurrenceContent::Body(verbatim) = &o.content {
        return Some(verbatim.clone());
    }
    let ordered = by_start(series);
    let current = current(&ordered, view.now);
    let mut body = common(series, &ordered, current, view);
    body.insert("title".to_owned(), Value::String(o.title.clone()));
    body.insert("meeting_start".to_owned(), Value::from(o.start));
    body.insert("meeting_duration".to_owned(), Value::from(o.end - o.start));
    body.insert(
        "status".to_owned(),
        Value::from(status_of(o, view.now).code()),
    );
    Some(with_attendees(body, series, o, view.now))
}

/// `body` with the attendees of `o` at `now`, as JSON text; attendees given as text are
/// spliced in as they are.
fn with_attendees(
    mut body: Map<String, Value>,
    series: &FakeSeries,
    o: &FakeOccurrence,
    now: i64,
) -> String {
    if let OccurrenceContent::AttendeesJson(raw) = &o.content {
        let mut text = Value::Object(body).to_string();
        text.pop(); // the closing brace of the object
        text.push_str(",\"attendees\":");
        text.push_str(raw);
        text.push('}');
        return text;
    }
    body.insert("attendees".to_owned(), attendees_of(series, o, now));
    Value::Object(body).to_string()
}

fn by_start(series: &FakeSeries) -> Vec<&FakeOccurrence> {
    let mut v: Vec<&FakeOccurrence> = series.occurrences.iter().collect();
    v.sort_by(|a, b| (a.start, &a.sub_meetingid).cmp(&(b.start, &b.sub_meetingid)));
    v
}

/// The occurrence in progress or next: the first not deleted that has not ended.
fn current<'a>(ordered: &[&'a FakeOccurrence], now: i64) -> Option<&'a FakeOccurrence> {
    ordered.iter().find(|o| !o.deleted && o.end > now).copied()
}

fn status_of(o: &FakeOccurrence, now: i64) -> MeetingStatus {
    if o.deleted {
        MeetingStatus::Cancelled
    } else if now < o.start {
        MeetingStatus::Upcoming
    } else if now < o.end {
        MeetingStatus::InProgress
    } else {
        MeetingStatus::Ended
    }
}

/// The fields every answer of the series carries: errcode, organizer, the rule and the
/// occurrence listing.
fn common(
    series: &FakeSeries,
    ordered: &[&FakeOccurrence],
    current: Option<&FakeOccurrence>,
    view: ListingView,
) -> Map<String, Value> {
    let listable: Vec<&FakeOccurrence> = ordered
        .iter()
        .filter(|o| o.end >= view.now.saturating_sub(view.horizon_s))
        .copied()
        .collect();
    let listed: Vec<Value> = listable
        .iter()
        .take(view.cap)
        .map(|o| {
            json!({
                "sub_meetingid": o.sub_meetingid,
                "status": i64::from(o.deleted),
                "start_time": o.start,
                "end_time": o.end,
                "title": o.title,
                "repeat_id": series.repeat_id_value(&o.repeat_id),
            })
        })
        .collect();
    let remain = ordered
        .iter()
        .filter(|o| !o.deleted && o.end > view.now)
        .count();
    let mut body = Map::new();
    body.insert("errcode".to_owned(), Value::from(0));
    body.insert("errmsg".to_owned(), Value::from("ok"));
    body.insert(
        "admin_userid".to_owned(),
        Value::String(series.admin_userid.clone()),
    );
    body.insert("meeting_type".to_owned(), Value::from(1));
    body.insert("reminders".to_owned(), series.reminders.clone());
    if !series.sub_repeat_list.is_empty() {
        let segments = series
            .sub_repeat_list
            .iter()
            .map(|segment| {
                let mut segment = segment.clone();
                if let Some(Value::String(id)) = segment.get("repeat_id").cloned() {
                    segment["repeat_id"] = series.repeat_id_value(&id);
                }
                segment
            })
            .collect();
        body.insert("sub_repeat_list".to_owned(), Value::Array(segments));
    }
    if let Some(o) = current {
        body.insert(
            "current_sub_meetingid".to_owned(),
            Value::String(o.sub_meetingid.clone()),
        );
    }
    body.insert(
        "has_more_sub_meeting".to_owned(),
        Value::from(i64::from(listable.len() > view.cap)),
    );
    body.insert("remain_sub_meetings".to_owned(), Value::from(remain));
    body.insert("sub_meetings".to_owned(), Value::Array(listed));
    body
}

fn no_attendees() -> Value {
    json!({"member": [], "tmp_external_user": []})
}

/// The attendees occurrence `o` answers at `now`.
fn attendees_of(series: &FakeSeries, o: &FakeOccurrence, now: i64) -> Value {
    match &o.content {
        OccurrenceContent::Attendees(a) => a.clone(),
        OccurrenceContent::AttendeesJson(raw) => {
            serde_json::from_str(raw).unwrap_or_else(|_| no_attendees())
        }
        OccurrenceContent::Body(verbatim) => serde_json::from_str::<Value>(verbatim)
            .ok()
            .and_then(|b| b.get("attendees").cloned())
            .unwrap_or_else(no_attendees),
        OccurrenceContent::Organizer => {
            let member = match status_of(o, now) {
                MeetingStatus::Ended => json!({
                    "userid": series.admin_userid, "status": 1,
                    "first_join_time": o.start, "last_quit_time": o.end,
                    "total_join_count": 1, "cumulative_time": o.end - o.start,
                }),
                MeetingStatus::InProgress => json!({
                    "userid": series.admin_userid, "status": 1,
                    "first_join_time": o.start, "last_quit_time": 0,
                    "total_join_count": 1, "cumulative_time": now - o.start,
                }),
                _ => json!({
                    "userid": series.admin_userid, "status": 2,
                    "first_join_time": 0, "last_quit_time": 0,
                    "total_join_count": 0, "cumulative_time": 0,
                }),
            };
            json!({"member": [member], "tmp_external_user": []})
        }
    }
}

/// Default of how long an ended occurrence stays in `sub_meetings`: a week (the fake's
/// choice; WeCom documents none).
pub const DEFAULT_SUB_MEETINGS_HORIZON_S: i64 = 7 * 86_400;
/// Default of the most occurrences `sub_meetings` lists (the fake's choice).
pub const DEFAULT_SUB_MEETINGS_CAP: usize = 20;
/// `now` while it follows the real clock.
const REAL_CLOCK: i64 = i64::MIN;

/// The series' "now", changeable while the server runs, and the listing's horizon and cap.
pub(crate) struct SeriesClock {
    now: std::sync::atomic::AtomicI64,
    pub horizon_s: i64,
    pub cap: usize,
}

impl Default for SeriesClock {
    fn default() -> Self {
        SeriesClock {
            now: std::sync::atomic::AtomicI64::new(REAL_CLOCK),
            horizon_s: DEFAULT_SUB_MEETINGS_HORIZON_S,
            cap: DEFAULT_SUB_MEETINGS_CAP,
        }
    }
}

impl SeriesClock {
    /// From now on, answers are as at `epoch_s` (`None`: the real clock).
    pub fn set_now(&self, epoch_s: Option<i64>) {
        let v = epoch_s.unwrap_or(REAL_CLOCK);
        self.now.store(v, std::sync::atomic::Ordering::Relaxed);
    }

    pub fn view(&self) -> ListingView {
        let now = match self.now.load(std::sync::atomic::Ordering::Relaxed) {
            REAL_CLOCK => chrono::Utc::now().timestamp(),
            t => t,
        };
        ListingView {
            now,
            horizon_s: self.horizon_s,
            cap: self.cap,
        }
    }
}
