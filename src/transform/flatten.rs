//! Pure transform: parsed meetings ([`crate::transform::parse`]) → the `attendance` fact table
//! (one row per meeting × attendee) and a per-meeting frame, with the data-quality counters.
//!
//! The columns are built directly — meeting-level columns once per meeting and then gathered
//! per attendee — so a million attendees cost a few hundred milliseconds. A person listed twice
//! in a meeting is one row. The per-row metrics (attended, late, left early, ratio) are polars
//! expressions in [`crate::transform::metrics`].

use crate::config::window::local_date;
use crate::domain::MeetingStatus;
use crate::wecom::model::Attendee;
use chrono::NaiveDate;
use chrono_tz::Tz;
use polars::prelude::*;
use serde::Serialize;

// Parsing lived here before it had a file of its own; its paths stay valid.
pub use crate::transform::parse::{
    ParsedMeeting, parse_batch, parse_body, parse_stored, repair, reparse,
};

pub const KIND_MEMBER: &str = "member";
pub const KIND_EXTERNAL: &str = "external";
/// The columns `attendance` and `meetings` gain for recurring meetings (null for one-off
/// meetings); they come last in both tables.
pub const OCCURRENCE_COLUMNS: [&str; 2] = ["sub_meetingid", "series_title"];
/// The `status` of a deleted occurrence of a recurring meeting (no code: WeCom has none).
pub const STATUS_DELETED: &str = "deleted";

/// Data-quality counters a payroll reviewer wants to see next to the numbers.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Quality {
    /// Attendee rows whose `status` was neither 1 nor 2 (attended decided by cumulative time).
    pub unknown_attend_status_rows: u64,
    /// Meetings with no `attendees` object (quick meetings list only who joined).
    pub meetings_without_attendees: u64,
    /// Meetings whose `meeting_start` was 0 or missing (no local date, no lateness).
    pub meetings_without_start: u64,
    /// Meetings whose `status` was not 1–5.
    pub unknown_meeting_status: u64,
    /// Meetings with `creator_userid` but no `admin_userid`.
    pub organizer_from_creator_userid: u64,
    /// Attendee entries that repeated a person already listed in the same meeting and list:
    /// merged into one row (see `docs/tables.md`, Duplicate attendees).
    pub duplicate_attendees_merged: u64,
    /// Attendee entries without the id of their list (`userid` / `tmp_external_userid`):
    /// nobody to count them for, so they are left out.
    pub attendees_without_id: u64,
    /// Bodies that repeated a JSON key and were read with the key's last value.
    pub bodies_with_repeated_keys: u64,
    /// Bodies whose text was repaired to be read: invalid UTF-8 or a lone surrogate escape (a
    /// character cut in half, as WeCom's 60-byte title limit does) became U+FFFD.
    pub text_repaired: u64,
    /// Members of counted meetings who count in no department: no directory record (left, or
    /// outside the app's scope: null names), or a main department the department list does not
    /// hold. 0 without a directory.
    pub people_missing_from_directory: u64,
    /// Parent cycles in the department tree at the window's end (a bad sync), each broken at
    /// its smallest id, read as a root; the WARN log names their departments.
    pub department_cycles: u64,
    /// Text cells of the workbook longer than Excel's 32,767 characters, cut to fit and
    /// ending in `…` (the CSV and Parquet tables keep the whole text). 0 without a workbook.
    pub cells_cut: u64,
    /// Recurring meetings answered without occurrence information (no `sub_meetings`, no
    /// `current_sub_meetingid`): each stays one meeting at its `meeting_start`.
    pub series_without_occurrences: u64,
    /// Occurrences a series' rule expects in the window that no answer ever listed.
    pub occurrences_unlisted: u64,
}

impl Quality {
    /// Adds another batch's counters.
    pub fn add(&mut self, o: &Quality) {
        self.unknown_attend_status_rows += o.unknown_attend_status_rows;
        self.meetings_without_attendees += o.meetings_without_attendees;
        self.meetings_without_start += o.meetings_without_start;
        self.unknown_meeting_status += o.unknown_meeting_status;
        self.organizer_from_creator_userid += o.organizer_from_creator_userid;
        self.duplicate_attendees_merged += o.duplicate_attendees_merged;
        self.attendees_without_id += o.attendees_without_id;
        self.bodies_with_repeated_keys += o.bodies_with_repeated_keys;
        self.text_repaired += o.text_repaired;
        self.series_without_occurrences += o.series_without_occurrences;
        self.occurrences_unlisted += o.occurrences_unlisted;
    }
}

/// The flattened batch: `meetings` has one row per meeting, `attendance` one per attendee,
/// both ordered by meeting start then meeting id (then the answer's attendee order).
pub struct Flattened {
    pub meetings: DataFrame,
    pub attendance: DataFrame,
    pub quality: Quality,
}

/// Builds the raw frames from parsed meetings, in start order: one meeting row each, and one
/// attendance row per attendee with the meeting's columns repeated. Per-row metrics are added
/// by [`crate::transform::metrics::derive`].
pub fn flatten(mut parsed: Vec<ParsedMeeting>, tz: Tz) -> PolarsResult<Flattened> {
    parsed.sort_by(|a, b| {
        (a.start(), a.meetingid, a.sub_meetingid).cmp(&(b.start(), b.meetingid, b.sub_meetingid))
    });
    let mut quality = Quality::default();
    let mut m = MeetingColumns::with_capacity(parsed.len());
    let rows: usize = parsed
        .iter()
        .map(|m| {
            m.info
                .attendees
                .as_ref()
                .map_or(0, |a| a.member.len() + a.tmp_external_user.len())
        })
        .sum();
    let mut a = AttendeeColumns::with_capacity(rows);
    // One map for every list, emptied between them: no allocation per meeting.
    let mut seen = PlHashMap::new();
    for (idx, meeting) in parsed.iter().enumerate() {
        m.push(meeting, tz, &mut quality);
        push_attendees(&mut a, &mut seen, idx, meeting, &mut quality);
    }
    let meetings = m.into_frame(tz)?;
    let attendance = attendance_frame(&meetings, a, tz)?;
    Ok(Flattened {
        meetings,
        attendance,
        quality,
    })
}

/// The attendee rows of one meeting (none when it has no `attendees` object). A person listed
/// twice in the same list is one row ([`AttendeeColumns::merge`]); `rows` is scratch space for
/// the row of each id of a list so far.
fn push_attendees<'a>(
    a: &mut AttendeeColumns<'a>,
    rows: &mut PlHashMap<&'a str, usize>,
    idx: usize,
    m: &'a ParsedMeeting<'_>,
    q: &mut Quality,
) {
    let info = &m.info;
    let Some(att) = &info.attendees else {
        q.meetings_without_attendees += u64::from(!m.deleted);
        return;
    };
    let hosts = info.hosts();
    for (kind, list) in [
        (KIND_MEMBER, &att.member),
        (KIND_EXTERNAL, &att.tmp_external_user),
    ] {
        rows.clear();
        for p in list.iter() {
            let id = if kind == KIND_MEMBER {
                p.member_id()
            } else {
                p.external_id()
            };
            let Some(id) = id else {
                q.attendees_without_id += 1;
                continue;
            };
            let is_host = kind == KIND_MEMBER && hosts.iter().any(|h| h == id);
            match rows.get(id) {
                Some(&row) => {
                    q.duplicate_attendees_merged += 1;
                    a.merge(row, p, is_host);
                }
                None => {
                    q.unknown_attend_status_rows += u64::from(!matches!(p.status, Some(1 | 2)));
                    rows.insert(id, a.id.len());
                    a.push(idx, kind, id, p, is_host);
                }
            }
        }
    }
}

/// The meeting-level columns, one push per meeting.
struct MeetingColumns<'a> {
    id: Vec<&'a str>,
    title: Vec<Option<&'a str>>,
    start_ms: Vec<Option<i64>>,
    date: Vec<Option<i32>>,
    duration: Vec<Option<i64>>,
    status_code: Vec<Option<i64>>,
    status: Vec<String>,
    admin: Vec<Option<&'a str>>,
    dept: Vec<Option<i64>>,
    sub: Vec<Option<&'a str>>,
    series_title: Vec<Option<&'a str>>,
}

impl<'a> MeetingColumns<'a> {
    fn with_capacity(n: usize) -> Self {
        MeetingColumns {
            id: Vec::with_capacity(n),
            title: Vec::with_capacity(n),
            start_ms: Vec::with_capacity(n),
            date: Vec::with_capacity(n),
            duration: Vec::with_capacity(n),
            status_code: Vec::with_capacity(n),
            status: Vec::with_capacity(n),
            admin: Vec::with_capacity(n),
            dept: Vec::with_capacity(n),
            sub: Vec::with_capacity(n),
            series_title: Vec::with_capacity(n),
        }
    }

    fn push(&mut self, m: &'a ParsedMeeting<'_>, tz: Tz, q: &mut Quality) {
        let info = &m.info;
        let start = m.start();
        q.meetings_without_start += u64::from(start.is_none());
        q.unknown_meeting_status += u64::from(!m.deleted && !matches!(info.status, Some(1..=5)));
        q.organizer_from_creator_userid +=
            u64::from(info.admin_userid.is_none() && info.creator_userid.is_some());
        q.series_without_occurrences +=
            u64::from(m.sub_meetingid.is_none() && info.is_series_without_occurrences());
        let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch");
        self.id.push(m.meetingid);
        self.title.push(info.title.as_deref());
        self.start_ms.push(start.map(|s| s * 1000));
        self.date.push(
            start
                .and_then(|s| local_date(s, tz))
                .map(|d| (d - epoch).num_days() as i32),
        );
        self.duration.push(info.meeting_duration);
        self.status_code.push(info.status);
        self.status.push(match m.deleted {
            true => STATUS_DELETED.to_string(),
            false => MeetingStatus::name_of(info.status),
        });
        self.admin.push(info.organizer());
        self.dept.push(info.main_department);
        self.sub.push(m.sub_meetingid);
        self.series_title.push(m.series_title);
    }

    fn into_frame(self, tz: Tz) -> PolarsResult<DataFrame> {
        DataFrame::new(
            self.id.len(),
            vec![
                Column::new("meetingid".into(), self.id),
                Column::new("title".into(), self.title),
                time_column("meeting_start", self.start_ms, tz)?,
                date_column("meeting_date", self.date)?,
                Column::new("meeting_duration_s".into(), self.duration),
                Column::new("status".into(), self.status),
                Column::new("status_code".into(), self.status_code),
                Column::new("admin_userid".into(), self.admin),
                Column::new("main_department".into(), self.dept),
                Column::new("sub_meetingid".into(), self.sub),
                Column::new("series_title".into(), self.series_title),
            ],
        )
    }
}

/// The attendance frame: each attendee row with its meeting's columns gathered beside it.
fn attendance_frame(meetings: &DataFrame, a: AttendeeColumns, tz: Tz) -> PolarsResult<DataFrame> {
    let idx = IdxCa::from_vec("idx".into(), a.meeting_idx);
    // One-off meetings only (the usual window): the occurrence columns are null, not gathered.
    let one_off = meetings.column("sub_meetingid")?.null_count() == meetings.height();
    let per_row = match one_off {
        true => meetings.drop_many(OCCURRENCE_COLUMNS).take(&idx)?,
        false => meetings.take(&idx)?,
    };
    let renamed = |from: &str, to: &str| -> PolarsResult<Column> {
        Ok(per_row.column(from)?.clone().with_name(to.into()))
    };
    let mut cols: Vec<Column> = vec![
        per_row.column("meetingid")?.clone(),
        renamed("title", "meeting_title")?,
        per_row.column("meeting_start")?.clone(),
        per_row.column("meeting_date")?.clone(),
        per_row.column("meeting_duration_s")?.clone(),
        renamed("status", "meeting_status")?,
        renamed("status_code", "meeting_status_code")?,
        per_row.column("admin_userid")?.clone(),
        per_row.column("main_department")?.clone(),
    ];
    let rows = cols[0].len();
    cols.extend([
        Column::new("attendee_kind".into(), a.kind),
        Column::new("attendee_id".into(), a.id),
        Column::full_null("external_userid".into(), rows, &DataType::String),
        Column::new("attend_status".into(), a.status),
        time_column("first_join_time", a.first_join, tz)?,
        time_column("last_quit_time", a.last_quit, tz)?,
        Column::new("total_join_count".into(), a.join_count),
        Column::new("cumulative_time_s".into(), a.cumulative),
        Column::new("is_host".into(), a.is_host),
    ]);
    for name in OCCURRENCE_COLUMNS {
        cols.push(match one_off {
            true => Column::full_null(name.into(), rows, &DataType::String),
            false => per_row.column(name)?.clone(),
        });
    }
    DataFrame::new(rows, cols)
}

/// Millisecond, time-zone-aware datetimes in the job's zone.
pub fn datetime_type(tz: Tz) -> DataType {
    let zone = TimeZone::opt_try_new(Some(tz.name())).ok().flatten();
    DataType::Datetime(TimeUnit::Milliseconds, zone)
}

/// A column of dates from days since 1970-01-01.
pub fn date_column(name: &str, days: Vec<Option<i32>>) -> PolarsResult<Column> {
    Ok(Series::new(name.into(), days)
        .cast(&DataType::Date)?
        .into_column())
}

/// A column of times in the job's zone from unix milliseconds.
pub fn time_column(name: &str, ms: Vec<Option<i64>>, tz: Tz) -> PolarsResult<Column> {
    Ok(Series::new(name.into(), ms)
        .cast(&datetime_type(tz))?
        .into_column())
}

/// Attendee columns built directly, one push per attendee.
struct AttendeeColumns<'a> {
    meeting_idx: Vec<IdxSize>,
    kind: Vec<&'static str>,
    id: Vec<&'a str>,
    status: Vec<Option<i64>>,
    first_join: Vec<Option<i64>>,
    last_quit: Vec<Option<i64>>,
    join_count: Vec<i64>,
    cumulative: Vec<i64>,
    is_host: Vec<bool>,
}

impl<'a> AttendeeColumns<'a> {
    fn with_capacity(n: usize) -> Self {
        AttendeeColumns {
            meeting_idx: Vec::with_capacity(n),
            kind: Vec::with_capacity(n),
            id: Vec::with_capacity(n),
            status: Vec::with_capacity(n),
            first_join: Vec::with_capacity(n),
            last_quit: Vec::with_capacity(n),
            join_count: Vec::with_capacity(n),
            cumulative: Vec::with_capacity(n),
            is_host: Vec::with_capacity(n),
        }
    }

    fn push(
        &mut self,
        idx: usize,
        kind: &'static str,
        id: &'a str,
        p: &Attendee<'_>,
        is_host: bool,
    ) {
        self.meeting_idx.push(idx as IdxSize);
        self.kind.push(kind);
        self.id.push(id);
        self.status.push(p.status);
        self.first_join.push(millis(p.first_join_time));
        self.last_quit.push(millis(p.last_quit_time));
        self.join_count.push(p.total_join_count.unwrap_or(0).max(0));
        self.cumulative.push(p.cumulative_time.unwrap_or(0).max(0));
        self.is_host.push(is_host);
    }

    /// Merges a repeated entry of the person in `row`. An identical repeat changes nothing;
    /// otherwise: attended (status 1) if either entry says so, the earliest join and the latest
    /// quit, join counts added, cumulative times added but never beyond last quit − first join
    /// (two entries cannot make a person present longer than the span they were seen in), host
    /// if either is.
    fn merge(&mut self, row: usize, p: &Attendee<'_>, is_host: bool) {
        let join = millis(p.first_join_time);
        let quit = millis(p.last_quit_time);
        let count = p.total_join_count.unwrap_or(0).max(0);
        let cumulative = p.cumulative_time.unwrap_or(0).max(0);
        self.is_host[row] |= is_host;
        let identical = self.status[row] == p.status
            && self.first_join[row] == join
            && self.last_quit[row] == quit
            && self.join_count[row] == count
            && self.cumulative[row] == cumulative;
        if identical {
            return;
        }
        if p.status == Some(1) {
            self.status[row] = Some(1);
        }
        self.first_join[row] = earliest(self.first_join[row], join);
        self.last_quit[row] = latest(self.last_quit[row], quit);
        self.join_count[row] = self.join_count[row].saturating_add(count);
        let mut total = self.cumulative[row].saturating_add(cumulative);
        if let (Some(j), Some(q)) = (self.first_join[row], self.last_quit[row]) {
            total = total.min(((q - j) / 1000).max(0));
        }
        self.cumulative[row] = total;
    }
}

/// A body's time in milliseconds; 0 and missing mean "never" and become null, not 1970.
fn millis(t: Option<i64>) -> Option<i64> {
    t.filter(|t| *t > 0).map(|t| t * 1000)
}

fn earliest(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn latest(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    a.max(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed<'a>(id: &'a str, body: &'a str) -> ParsedMeeting<'a> {
        parse_body(id, body.as_bytes()).unwrap()
    }

    #[test]
    fn one_row_per_attendee_with_meeting_columns_repeated() {
        let m = parsed(
            "m1",
            r#"{"errcode":0,"title":"周会","meeting_start":1700000000,"meeting_duration":3600,
               "status":3,"admin_userid":"boss","main_department":4294967296,
               "settings":{"hosts":{"userid":["a"]}},
               "attendees":{"member":[{"userid":"a","status":1,"first_join_time":1700000100,
                 "last_quit_time":1700003600,"total_join_count":2,"cumulative_time":3400},
                 {"userid":"b","status":2}],
                 "tmp_external_user":[{"tmp_external_userid":"woX","status":3,"first_join_time":0}]}}"#,
        );
        let f = flatten(vec![m], chrono_tz::Asia::Shanghai).unwrap();
        let a = &f.attendance;
        assert_eq!(a.height(), 3);
        let kinds: Vec<_> = a
            .column("attendee_kind")
            .unwrap()
            .str()
            .unwrap()
            .iter()
            .flatten()
            .collect();
        assert_eq!(kinds, ["member", "member", "external"]);
        let titles = a.column("meeting_title").unwrap().str().unwrap();
        assert_eq!(titles.get(2), Some("周会"));
        let dept = a.column("main_department").unwrap().i64().unwrap();
        assert_eq!(dept.get(0), Some(4_294_967_296));
        let hosts: Vec<_> = a
            .column("is_host")
            .unwrap()
            .bool()
            .unwrap()
            .iter()
            .flatten()
            .collect();
        assert_eq!(hosts, [true, false, false]);
        // first_join_time 0 is null, not 1970.
        assert_eq!(a.column("first_join_time").unwrap().null_count(), 2);
        assert_eq!(f.quality.unknown_attend_status_rows, 1);
        let date = f.meetings.column("meeting_date").unwrap();
        assert_eq!(date.get(0).unwrap().to_string(), "2023-11-15");
    }

    #[test]
    fn missing_attendees_and_start_yield_a_meeting_without_rows() {
        let m = parsed(
            "q",
            r#"{"creator_userid":"c","meeting_start":0,"status":9}"#,
        );
        let f = flatten(vec![m], chrono_tz::Asia::Shanghai).unwrap();
        assert_eq!(f.attendance.height(), 0);
        assert_eq!(f.meetings.height(), 1);
        assert_eq!(f.quality.meetings_without_attendees, 1);
        assert_eq!(f.quality.meetings_without_start, 1);
        assert_eq!(f.quality.organizer_from_creator_userid, 1);
        let status = f.meetings.column("status").unwrap().str().unwrap().get(0);
        assert_eq!(status, Some("unknown_9"));
    }

    #[test]
    fn status_names_follow_the_spec() {
        let names: Vec<_> = (1..=5).map(|c| MeetingStatus::name_of(Some(c))).collect();
        assert_eq!(
            names,
            ["upcoming", "in_progress", "ended", "cancelled", "expired"]
        );
        assert_eq!(MeetingStatus::name_of(Some(0)), "unknown_0");
    }
}
