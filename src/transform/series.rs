//! Pure: the recurring meetings (周期性会议) of a window → the `series` table (one row per
//! series × attendee: attended k of n held occurrences, lateness, the run of absences since
//! the last attended one) and the `series_meetings` table (one row per series: occurrences
//! scheduled, held, deleted, expected but never listed). Definitions and a worked example in
//! `docs/tables.md`.
//!
//! The catalog (what the store knows of each series from its heads) is indexed once in
//! [`Catalog`]; the table builder hands each slice's held occurrence rows to [`Gathered`]
//! and builds both tables at the end with [`tables`]. A window without series has an empty
//! catalog: nothing is gathered, and both tables are empty.

use crate::domain::MeetingStatus;
use crate::domain::series::SeriesInWindow;
use crate::transform::flatten::{KIND_MEMBER, ParsedMeeting, date_column, time_column};
use crate::transform::people::People;
use chrono_tz::Tz;
use polars::prelude::*;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// The columns of the `series` table, in order.
pub const SERIES_COLUMNS: [&str; 14] = [
    "meetingid",
    "series_title",
    "attendee_kind",
    "attendee_id",
    "occurrences_invited",
    "occurrences_attended",
    "attendance_rate",
    "late_count",
    "avg_attended_ratio",
    "last_attended_date",
    "absences_in_a_row",
    "name",
    "department_id",
    "department",
];

/// The columns of the `series_meetings` table, in order.
pub const SERIES_MEETINGS_COLUMNS: [&str; 11] = [
    "meetingid",
    "series_title",
    "occurrences_scheduled",
    "occurrences_held",
    "occurrences_deleted",
    "occurrences_unlisted",
    "members_invited",
    "members_attended",
    "attendance_rate",
    "first_occurrence_start",
    "last_occurrence_start",
];

/// The window's series, indexed for the table builder.
#[derive(Debug, Default)]
pub struct Catalog<'a> {
    series: &'a [SeriesInWindow],
    titles: HashMap<&'a str, Option<&'a str>>,
    deleted: HashSet<(&'a str, &'a str)>,
}

impl<'a> Catalog<'a> {
    pub fn new(series: &'a [SeriesInWindow]) -> Self {
        let titles = series
            .iter()
            .map(|s| (s.meetingid.as_str(), s.series_title.as_deref()))
            .collect();
        let deleted = series
            .iter()
            .flat_map(|s| {
                s.occurrences
                    .iter()
                    .filter(|o| o.deleted)
                    .map(|o| (s.meetingid.as_str(), o.sub_meetingid.as_str()))
            })
            .collect();
        Catalog {
            series,
            titles,
            deleted,
        }
    }

    /// No series in the window: nothing to gather, no column to fill.
    pub fn is_empty(&self) -> bool {
        self.series.is_empty()
    }

    /// The title of series `meetingid` (its head's).
    pub fn title(&self, meetingid: &str) -> Option<&'a str> {
        self.titles.get(meetingid).copied().flatten()
    }

    pub fn has_deleted(&self) -> bool {
        !self.deleted.is_empty()
    }

    /// Whether the heads list this occurrence as deleted.
    pub fn is_deleted(&self, meetingid: &str, sub_meetingid: &str) -> bool {
        self.deleted.contains(&(meetingid, sub_meetingid))
    }

    /// The deleted occurrences as meetings without attendees, in start order.
    pub fn deleted_meetings(&self) -> Vec<ParsedMeeting<'a>> {
        let mut out: Vec<ParsedMeeting<'a>> = self
            .series
            .iter()
            .flat_map(|s| {
                s.occurrences.iter().filter(|o| o.deleted).map(|o| {
                    ParsedMeeting::deleted_occurrence(&s.meetingid, s.series_title.as_deref(), o)
                })
            })
            .collect();
        out.sort_by(|a, b| {
            (a.start(), a.meetingid, a.sub_meetingid).cmp(&(
                b.start(),
                b.meetingid,
                b.sub_meetingid,
            ))
        });
        out
    }

    /// Occurrences the rules expect in the window that no answer listed.
    pub fn unlisted(&self) -> u64 {
        self.series
            .iter()
            .map(|s| s.expected_unlisted.len() as u64)
            .sum()
    }
}

/// One attendee's row in one held occurrence.
#[derive(Debug, Clone)]
struct Seen {
    start_ms: i64,
    sub: String,
    date: Option<i32>,
    attended: bool,
    late: bool,
    ratio: Option<f64>,
}

/// The held occurrences of the window seen so far: per series × attendee their rows, and per
/// series their number. Slices gather separately and are merged.
#[derive(Debug, Default)]
pub struct Gathered {
    /// Key: (meetingid, attendee_kind, attendee id: the userid or the converted external id).
    rows: HashMap<(String, String, String), Vec<Seen>>,
    held: HashMap<String, u64>,
}

impl Gathered {
    /// The held occurrences of one slice: its `meetings` rows and its `attendance` rows (with
    /// `external_userid` filled, before pseudonyms). Rows of one-off meetings are skipped, and
    /// a slice without occurrences costs two null counts.
    pub fn of(meetings: &DataFrame, attendance: &DataFrame) -> PolarsResult<Gathered> {
        let mut g = Gathered::default();
        let ended = Some(MeetingStatus::Ended.code());
        let subs = meetings.column("sub_meetingid")?;
        if subs.null_count() < subs.len() {
            let ids = meetings.column("meetingid")?.str()?;
            let codes = meetings.column("status_code")?.i64()?;
            for ((id, sub), code) in ids.iter().zip(subs.str()?.iter()).zip(codes.iter()) {
                if let (Some(id), Some(_), true) = (id, sub, code == ended) {
                    *g.held.entry(id.to_string()).or_default() += 1;
                }
            }
        }
        let subs = attendance.column("sub_meetingid")?;
        if subs.null_count() == subs.len() {
            return Ok(g);
        }
        let subs = subs.str()?;
        let ids = attendance.column("meetingid")?.str()?;
        let codes = attendance.column("meeting_status_code")?.i64()?;
        let kinds = attendance.column("attendee_kind")?.str()?;
        let who = attendance.column("attendee_id")?.str()?;
        let external = attendance.column("external_userid")?.str()?;
        let starts = attendance
            .column("meeting_start")?
            .datetime()?
            .physical()
            .clone();
        let dates = attendance
            .column("meeting_date")?
            .date()?
            .physical()
            .clone();
        let attended = attendance.column("attended")?.bool()?;
        let late = attendance.column("is_late")?.bool()?;
        let ratio = attendance.column("attended_ratio")?.f64()?;
        for i in 0..attendance.height() {
            let (Some(id), Some(sub), Some(kind)) = (ids.get(i), subs.get(i), kinds.get(i)) else {
                continue;
            };
            if codes.get(i) != ended {
                continue;
            }
            // A temporary external id changes from meeting to meeting: only a converted one
            // is the same person across occurrences.
            let person = match kind == KIND_MEMBER {
                true => who.get(i),
                false => external.get(i),
            };
            let Some(person) = person else { continue };
            g.rows
                .entry((id.to_string(), kind.to_string(), person.to_string()))
                .or_default()
                .push(Seen {
                    start_ms: starts.get(i).unwrap_or_default(),
                    sub: sub.to_string(),
                    date: dates.get(i),
                    attended: attended.get(i).unwrap_or(false),
                    late: late.get(i).unwrap_or(false),
                    ratio: ratio.get(i),
                });
        }
        Ok(g)
    }

    /// Adds another slice's gathering.
    pub fn merge(&mut self, other: Gathered) {
        for (k, mut v) in other.rows {
            self.rows.entry(k).or_default().append(&mut v);
        }
        for (k, n) in other.held {
            *self.held.entry(k).or_default() += n;
        }
    }
}

/// One row of the `series` table.
struct Figures {
    invited: i64,
    attended: i64,
    late: i64,
    avg_ratio: Option<f64>,
    last_attended: Option<i32>,
    absences_in_a_row: i64,
    /// Start of the attendee's last held occurrence, epoch seconds: names are as of then.
    last_start: i64,
}

/// An attendee's rows of one series, in occurrence order → their figures.
fn figures(rows: &mut [Seen]) -> Figures {
    rows.sort_by(|a, b| (a.start_ms, &a.sub).cmp(&(b.start_ms, &b.sub)));
    let attended: Vec<&Seen> = rows.iter().filter(|r| r.attended).collect();
    let ratios: Vec<f64> = attended.iter().filter_map(|r| r.ratio).collect();
    let last = rows.iter().rposition(|r| r.attended);
    Figures {
        invited: rows.len() as i64,
        attended: attended.len() as i64,
        late: rows.iter().filter(|r| r.attended && r.late).count() as i64,
        avg_ratio: (!ratios.is_empty()).then(|| ratios.iter().sum::<f64>() / ratios.len() as f64),
        last_attended: last.and_then(|i| rows[i].date),
        absences_in_a_row: (rows.len() - last.map_or(0, |i| i + 1)) as i64,
        last_start: rows.last().map_or(0, |r| r.start_ms.div_euclid(1000)),
    }
}

/// The `series` and `series_meetings` tables of the window (person columns not yet
/// pseudonymised). `series` is ordered by meetingid, attendee_kind, attendee_id;
/// `series_meetings` by meetingid.
pub fn tables(
    mut g: Gathered,
    catalog: &Catalog<'_>,
    people: &People,
    tz: Tz,
) -> PolarsResult<(DataFrame, DataFrame)> {
    let mut keys: Vec<(String, String, String)> = g.rows.keys().cloned().collect();
    keys.sort();
    let n = keys.len();
    let mut s = SeriesColumns::with_capacity(n);
    // Per series: member rows invited and attended.
    let mut members: BTreeMap<&str, (i64, i64)> = BTreeMap::new();
    for key in &keys {
        let rows = g.rows.get_mut(key).expect("a key of the map");
        let f = figures(rows);
        let (meetingid, kind, id) = key;
        if kind == KIND_MEMBER {
            let m = members.entry(meetingid).or_default();
            m.0 += f.invited;
            m.1 += f.attended;
        }
        let person = match kind == KIND_MEMBER {
            true => people.history.person_at(id, Some(f.last_start)),
            false => None,
        };
        let dept = person.and_then(|p| p.department_id);
        s.meetingid.push(meetingid.clone());
        s.title.push(catalog.title(meetingid));
        s.kind.push(kind.clone());
        s.id.push(id.clone());
        s.invited.push(f.invited);
        s.attended.push(f.attended);
        s.rate
            .push((f.invited > 0).then(|| f.attended as f64 / f.invited as f64));
        s.late.push(f.late);
        s.avg_ratio.push(f.avg_ratio);
        s.last_attended.push(f.last_attended);
        s.absences.push(f.absences_in_a_row);
        s.name.push(person.and_then(|p| p.name.clone()));
        s.dept_id.push(dept);
        s.dept
            .push(dept.and_then(|d| people.history.path_at(d, Some(f.last_start))));
    }
    let series = s.into_frame()?;

    let by_id: HashMap<&str, &SeriesInWindow> = catalog
        .series
        .iter()
        .map(|s| (s.meetingid.as_str(), s))
        .collect();
    let ids: BTreeSet<&str> = by_id
        .keys()
        .copied()
        .chain(g.held.keys().map(String::as_str))
        .chain(members.keys().copied())
        .collect();
    let mut m = MeetingsColumns::default();
    for id in ids {
        let listed = by_id.get(id).map_or(&[][..], |s| &s.occurrences[..]);
        let scheduled: Vec<i64> = listed
            .iter()
            .filter(|o| !o.deleted)
            .map(|o| o.start)
            .collect();
        let (invited, attended) = members.get(id).copied().unwrap_or_default();
        m.meetingid.push(id.to_string());
        m.title.push(catalog.title(id));
        m.scheduled.push(scheduled.len() as i64);
        m.held
            .push(g.held.get(id).copied().unwrap_or_default() as i64);
        m.deleted
            .push(listed.iter().filter(|o| o.deleted).count() as i64);
        m.unlisted.push(
            by_id
                .get(id)
                .map_or(0, |s| s.expected_unlisted.len() as i64),
        );
        m.invited.push(invited);
        m.attended.push(attended);
        m.rate
            .push((invited > 0).then(|| attended as f64 / invited as f64));
        m.first.push(scheduled.iter().min().map(|t| t * 1000));
        m.last.push(scheduled.iter().max().map(|t| t * 1000));
    }
    Ok((series, m.into_frame(tz)?))
}

/// The `series` columns, one push per row.
#[derive(Default)]
struct SeriesColumns<'a> {
    meetingid: Vec<String>,
    title: Vec<Option<&'a str>>,
    kind: Vec<String>,
    id: Vec<String>,
    invited: Vec<i64>,
    attended: Vec<i64>,
    rate: Vec<Option<f64>>,
    late: Vec<i64>,
    avg_ratio: Vec<Option<f64>>,
    last_attended: Vec<Option<i32>>,
    absences: Vec<i64>,
    name: Vec<Option<String>>,
    dept_id: Vec<Option<i64>>,
    dept: Vec<Option<String>>,
}

impl SeriesColumns<'_> {
    fn with_capacity(n: usize) -> Self {
        let mut s = SeriesColumns::default();
        s.meetingid.reserve(n);
        s.id.reserve(n);
        s
    }

    fn into_frame(self) -> PolarsResult<DataFrame> {
        DataFrame::new(
            self.meetingid.len(),
            vec![
                Column::new("meetingid".into(), self.meetingid),
                Column::new("series_title".into(), self.title),
                Column::new("attendee_kind".into(), self.kind),
                Column::new("attendee_id".into(), self.id),
                Column::new("occurrences_invited".into(), self.invited),
                Column::new("occurrences_attended".into(), self.attended),
                Column::new("attendance_rate".into(), self.rate),
                Column::new("late_count".into(), self.late),
                Column::new("avg_attended_ratio".into(), self.avg_ratio),
                date_column("last_attended_date", self.last_attended)?,
                Column::new("absences_in_a_row".into(), self.absences),
                Column::new("name".into(), self.name),
                Column::new("department_id".into(), self.dept_id),
                Column::new("department".into(), self.dept),
            ],
        )
    }
}

/// The `series_meetings` columns, one push per series.
#[derive(Default)]
struct MeetingsColumns<'a> {
    meetingid: Vec<String>,
    title: Vec<Option<&'a str>>,
    scheduled: Vec<i64>,
    held: Vec<i64>,
    deleted: Vec<i64>,
    unlisted: Vec<i64>,
    invited: Vec<i64>,
    attended: Vec<i64>,
    rate: Vec<Option<f64>>,
    first: Vec<Option<i64>>,
    last: Vec<Option<i64>>,
}

impl MeetingsColumns<'_> {
    fn into_frame(self, tz: Tz) -> PolarsResult<DataFrame> {
        DataFrame::new(
            self.meetingid.len(),
            vec![
                Column::new("meetingid".into(), self.meetingid),
                Column::new("series_title".into(), self.title),
                Column::new("occurrences_scheduled".into(), self.scheduled),
                Column::new("occurrences_held".into(), self.held),
                Column::new("occurrences_deleted".into(), self.deleted),
                Column::new("occurrences_unlisted".into(), self.unlisted),
                Column::new("members_invited".into(), self.invited),
                Column::new("members_attended".into(), self.attended),
                Column::new("attendance_rate".into(), self.rate),
                time_column("first_occurrence_start", self.first, tz)?,
                time_column("last_occurrence_start", self.last, tz)?,
            ],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::job::{Job, JobFile, Overrides};
    use crate::domain::people::{DepartmentSpan, History, PersonSpan};
    use crate::domain::series::{KnownOccurrence, StoredBody};
    use crate::transform::tables::{self, Table, TableSink};
    use anyhow::Result;
    use chrono::TimeZone;
    use chrono_tz::Asia::Shanghai;

    /// Epoch seconds of a local time in Shanghai (the job's default zone).
    fn at(month: u32, day: u32, hour: u32, minute: u32) -> i64 {
        Shanghai
            .with_ymd_and_hms(2026, month, day, hour, minute, 0)
            .unwrap()
            .timestamp()
    }

    const HOUR: i64 = 3600;

    /// A member entry: attended (status 1) joining `late` seconds after `start` and staying
    /// `cumulative` seconds, or absent (status 2).
    fn member(userid: &str, start: i64, attended: Option<(i64, i64)>) -> String {
        match attended {
            Some((late, cumulative)) => format!(
                r#"{{"userid":"{userid}","status":1,"first_join_time":{},"last_quit_time":{},"total_join_count":1,"cumulative_time":{cumulative}}}"#,
                start + late,
                start + late + cumulative
            ),
            None => format!(r#"{{"userid":"{userid}","status":2}}"#),
        }
    }

    fn external(tmp: &str, start: i64, cumulative: i64) -> String {
        format!(
            r#"{{"tmp_external_userid":"{tmp}","status":1,"first_join_time":{start},"last_quit_time":{},"total_join_count":1,"cumulative_time":{cumulative}}}"#,
            start + cumulative
        )
    }

    fn body(
        title: &str,
        start: i64,
        status: i64,
        members: &[String],
        externals: &[String],
    ) -> Vec<u8> {
        format!(
            r#"{{"errcode":0,"title":"{title}","meeting_start":{start},"meeting_duration":{HOUR},"status":{status},"admin_userid":"a","meeting_type":1,"attendees":{{"member":[{}],"tmp_external_user":[{}]}}}}"#,
            members.join(","),
            externals.join(",")
        )
        .into_bytes()
    }

    /// The hand-computed series of `docs/tables.md`: the weekly 产品周会 (series S1, Mondays
    /// 10:00, one hour) over the window 2026-10-05 – 2026-11-30, eight occurrences listed:
    ///
    /// | occurrence | start | status | a | b | c | d | external |
    /// |---|---|---|---|---|---|---|---|
    /// | o1 | Mon 10-05 10:00 | ended | 3600 s | 1800 s | – | absent | wo1 → wmEXT, 1800 s |
    /// | o2 | Mon 10-12 10:00 | ended | 10 min late, 2700 s | 3600 s | – | absent | wo2 → wmEXT, 3600 s |
    /// | o3 | Mon 10-19 10:00 | ended | 3600 s | 3600 s | 3600 s | – | wo3 (not converted) |
    /// | o4 | Mon 10-26 10:00 | deleted | | | | | |
    /// | o5 | Mon 11-02 10:00 | ended | 3600 s | 1800 s | absent | – | |
    /// | o6 | moved to Tue 11-10 14:00 | ended | 3600 s | absent | absent | – | |
    /// | o7 | Mon 11-16 10:00 | ended | 3600 s | absent | 6 min late, 2700 s | – | |
    /// | o8 | Mon 11-23 10:00 | upcoming | absent | absent | absent | – | |
    ///
    /// The rule also expects Mon 11-30 10:00, which no answer listed. b comes up to the fifth
    /// occurrence (o5) and then stops. A one-off meeting on 10-20 lists a and b.
    struct Fixture {
        bodies: Vec<StoredBody>,
        catalog: Vec<SeriesInWindow>,
        people: People,
    }

    fn fixture() -> Fixture {
        let starts = [
            at(10, 5, 10, 0),
            at(10, 12, 10, 0),
            at(10, 19, 10, 0),
            at(10, 26, 10, 0),
            at(11, 2, 10, 0),
            at(11, 10, 14, 0),
            at(11, 16, 10, 0),
            at(11, 23, 10, 0),
        ];
        let [o1, o2, o3, _, o5, o6, o7, o8] = starts;
        let full = Some((0, HOUR));
        let half = Some((0, HOUR / 2));
        let occurrence =
            |i: usize, status, members: Vec<String>, externals: Vec<String>| StoredBody {
                meetingid: "S1".into(),
                sub_meetingid: Some(format!("sub-0{}", i + 1)),
                body: body("产品周会", starts[i], status, &members, &externals),
            };
        let one_off = StoredBody::one_off(
            "M1",
            body(
                "季度复盘",
                at(10, 20, 15, 0),
                3,
                &[member("a", at(10, 20, 15, 0), full), member("b", 0, None)],
                &[],
            ),
        );
        let bodies = vec![
            occurrence(
                0,
                3,
                vec![
                    member("a", o1, full),
                    member("b", o1, half),
                    member("d", 0, None),
                ],
                vec![external("wo1", o1, HOUR / 2)],
            ),
            occurrence(
                1,
                3,
                vec![
                    member("a", o2, Some((600, 2700))),
                    member("b", o2, full),
                    member("d", 0, None),
                ],
                vec![external("wo2", o2, HOUR)],
            ),
            occurrence(
                2,
                3,
                vec![
                    member("a", o3, full),
                    member("b", o3, full),
                    member("c", o3, full),
                ],
                vec![external("wo3", o3, HOUR)],
            ),
            one_off,
            occurrence(
                4,
                3,
                vec![
                    member("a", o5, full),
                    member("b", o5, half),
                    member("c", 0, None),
                ],
                vec![],
            ),
            occurrence(
                5,
                3,
                vec![
                    member("a", o6, full),
                    member("b", 0, None),
                    member("c", 0, None),
                ],
                vec![],
            ),
            occurrence(
                6,
                3,
                vec![
                    member("a", o7, full),
                    member("b", 0, None),
                    member("c", o7, Some((360, 2700))),
                ],
                vec![],
            ),
            occurrence(
                7,
                1,
                vec![
                    member("a", 0, None),
                    member("b", 0, None),
                    member("c", 0, None),
                ],
                vec![],
            ),
        ];
        let _ = o8;
        let catalog = vec![SeriesInWindow {
            meetingid: "S1".into(),
            series_title: Some("产品周会".into()),
            occurrences: starts
                .iter()
                .enumerate()
                .map(|(i, &start)| KnownOccurrence {
                    sub_meetingid: format!("sub-0{}", i + 1),
                    start,
                    end: start + HOUR,
                    deleted: i == 3,
                    title: Some("产品周会".into()),
                    repeat_id: Some("1".into()),
                })
                .collect(),
            expected_unlisted: vec![at(11, 30, 10, 0)],
        }];
        let person = |u: &str| PersonSpan {
            userid: u.into(),
            name: Some(format!("name of {u}")),
            department_id: Some(3),
            valid_from: at(1, 1, 0, 0),
            valid_to: None,
        };
        let people = People {
            history: History::new(
                vec![person("a"), person("b"), person("c")],
                vec![DepartmentSpan {
                    id: 3,
                    name: Some("Platform".into()),
                    parent_id: None,
                    valid_from: at(1, 1, 0, 0),
                    valid_to: None,
                }],
            ),
            conversions: [
                ("wo1".to_string(), "wmEXT".to_string()),
                ("wo2".to_string(), "wmEXT".to_string()),
            ]
            .into(),
            window: Some((at(10, 5, 0, 0), at(12, 1, 0, 0))),
            pseudonyms: None,
        };
        Fixture {
            bodies,
            catalog,
            people,
        }
    }

    /// Keeps what the builder hands out, checking the date order of the dated tables.
    #[derive(Default)]
    struct Capture {
        attendance: Vec<DataFrame>,
        meetings: Vec<DataFrame>,
        users: Option<DataFrame>,
        series: Option<(DataFrame, DataFrame)>,
    }

    impl TableSink for Capture {
        fn append(&mut self, table: Table, rows: &DataFrame) -> Result<()> {
            match table {
                Table::Attendance => self.attendance.push(rows.clone()),
                Table::Meetings => self.meetings.push(rows.clone()),
                other => panic!("{} is not a dated table", other.name()),
            }
            Ok(())
        }

        fn users(&mut self, users: DataFrame) -> Result<()> {
            self.users = Some(users);
            Ok(())
        }

        fn series(&mut self, series: DataFrame, series_meetings: DataFrame) -> Result<()> {
            self.series = Some((series, series_meetings));
            Ok(())
        }
    }

    fn stacked(parts: &[DataFrame]) -> DataFrame {
        let mut parts = parts.iter();
        let mut df = parts.next().unwrap().clone();
        for p in parts {
            df.vstack_mut(p).unwrap();
        }
        df
    }

    /// Feeds each body as a chunk of its own (so each is a slice of its own, and the deleted
    /// occurrence has to be merged between two slices).
    fn build(f: Fixture) -> (Capture, flatten::Quality) {
        let job = Job::build(JobFile::default(), "t", &Overrides::default()).unwrap();
        let mut sink = Capture::default();
        let mut failures = Vec::new();
        let bodies = f.bodies;
        let (quality, _) = tables::build_with(
            &job,
            &f.people,
            &f.catalog,
            move |send| {
                for b in bodies {
                    send(vec![b])?;
                }
                Ok(())
            },
            &mut failures,
            &mut sink,
        )
        .unwrap();
        assert!(failures.is_empty(), "{failures:?}");
        (sink, quality)
    }

    use crate::transform::flatten;

    fn date(month: u32, day: u32) -> i32 {
        let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
        (chrono::NaiveDate::from_ymd_opt(2026, month, day).unwrap() - epoch).num_days() as i32
    }

    #[test]
    fn the_hand_computed_series_equals_the_series_table_exactly() {
        let (sink, quality) = build(fixture());
        let (series, _) = sink.series.unwrap();
        let last_attended = Series::new(
            "last_attended_date".into(),
            [
                Some(date(10, 12)),
                Some(date(11, 16)),
                Some(date(11, 2)),
                Some(date(11, 16)),
                None,
            ],
        )
        .cast(&DataType::Date)
        .unwrap()
        .into_column();
        let mut expected = df!(
            "meetingid" => ["S1"; 5],
            "series_title" => ["产品周会"; 5],
            "attendee_kind" => ["external", "member", "member", "member", "member"],
            "attendee_id" => ["wmEXT", "a", "b", "c", "d"],
            // n: held occurrences (o1–o3, o5–o7; o8 is upcoming, o4 deleted) listing them.
            "occurrences_invited" => [2i64, 6, 6, 4, 2],
            "occurrences_attended" => [2i64, 6, 4, 2, 0],
            "attendance_rate" => [Some(1.0), Some(1.0), Some(4.0 / 6.0), Some(0.5), Some(0.0)],
            "late_count" => [0i64, 1, 0, 1, 0],
            // a: (1 + 0.75 + 1 + 1 + 1 + 1) / 6; b: (0.5 + 1 + 1 + 0.5) / 4; c: (1 + 0.75) / 2.
            "avg_attended_ratio" => [Some(0.75), Some(5.75 / 6.0), Some(0.75), Some(0.875), None],
            "last_attended_date" => [0i32; 5],
            // b: absent from o6 and o7 after attending o5; d never came: n.
            "absences_in_a_row" => [0i64, 0, 2, 0, 2],
            "name" => [None, Some("name of a"), Some("name of b"), Some("name of c"), None],
            "department_id" => [None, Some(3i64), Some(3), Some(3), None],
            "department" => [None, Some("Platform"), Some("Platform"), Some("Platform"), None],
        )
        .unwrap();
        expected.with_column(last_attended).unwrap();
        assert!(series.equals_missing(&expected), "{series}\n{expected}");
        assert_eq!(quality.occurrences_unlisted, 1);
    }

    #[test]
    fn the_series_meetings_row_counts_scheduled_held_deleted_and_unlisted_occurrences() {
        let (sink, _) = build(fixture());
        let (_, m) = sink.series.unwrap();
        let names: Vec<&str> = m.get_column_names().iter().map(|s| s.as_str()).collect();
        assert_eq!(names, SERIES_MEETINGS_COLUMNS);
        let ints = |c: &str| m.column(c).unwrap().i64().unwrap().get(0).unwrap();
        assert_eq!(m.height(), 1);
        // Listed and not deleted: o1–o3, o5–o8.
        assert_eq!(ints("occurrences_scheduled"), 7);
        assert_eq!(ints("occurrences_held"), 6);
        assert_eq!(ints("occurrences_deleted"), 1);
        assert_eq!(ints("occurrences_unlisted"), 1);
        // Member rows of the held occurrences: a 6, b 6, c 4, d 2; attended 6 + 4 + 2 + 0.
        assert_eq!(ints("members_invited"), 18);
        assert_eq!(ints("members_attended"), 12);
        let rate = m.column("attendance_rate").unwrap().f64().unwrap().get(0);
        assert_eq!(rate, Some(12.0 / 18.0));
        let first = m.column("first_occurrence_start").unwrap();
        assert_eq!(
            first.cast(&DataType::Int64).unwrap().i64().unwrap().get(0),
            Some(at(10, 5, 10, 0) * 1000)
        );
    }

    #[test]
    fn each_occurrence_is_a_meeting_of_its_own_date_and_a_deleted_one_has_a_row_in_no_rate() {
        let (sink, _) = build(fixture());
        let m = stacked(&sink.meetings);
        let text = |c: &str| -> Vec<Option<String>> {
            m.column(c)
                .unwrap()
                .str()
                .unwrap()
                .iter()
                .map(|v| v.map(str::to_owned))
                .collect()
        };
        let subs = text("sub_meetingid");
        let expected_subs: Vec<Option<String>> = [
            Some("sub-01"),
            Some("sub-02"),
            Some("sub-03"),
            None,
            Some("sub-04"),
            Some("sub-05"),
            Some("sub-06"),
            Some("sub-07"),
            Some("sub-08"),
        ]
        .iter()
        .map(|s| s.map(str::to_owned))
        .collect();
        assert_eq!(subs, expected_subs);
        let status = text("status");
        assert_eq!(status[4].as_deref(), Some("deleted"));
        assert_eq!(status[3].as_deref(), Some("ended"));
        let titles = text("series_title");
        assert_eq!(titles[3], None, "a one-off meeting has no series title");
        assert_eq!(titles[4].as_deref(), Some("产品周会"));
        let dates: Vec<Option<i32>> = m
            .column("meeting_date")
            .unwrap()
            .date()
            .unwrap()
            .physical()
            .iter()
            .collect();
        // The deleted occurrence sits on its scheduled date, the moved one on its own.
        assert_eq!(dates[4], Some(date(10, 26)));
        assert_eq!(dates[6], Some(date(11, 10)));
        assert!(dates.windows(2).all(|w| w[0] <= w[1]), "{dates:?}");
        let deleted = m.slice(4, 1);
        assert_eq!(
            deleted
                .column("members_invited")
                .unwrap()
                .i64()
                .unwrap()
                .get(0),
            Some(0)
        );
        assert_eq!(deleted.column("attendance_rate").unwrap().null_count(), 1);
        assert_eq!(deleted.column("status_code").unwrap().null_count(), 1);
        // The occurrence columns come last, after the names.
        let names: Vec<&str> = m.get_column_names().iter().map(|s| s.as_str()).collect();
        assert_eq!(names[names.len() - 2..], flatten::OCCURRENCE_COLUMNS);
        let a = stacked(&sink.attendance);
        let names: Vec<&str> = a.get_column_names().iter().map(|s| s.as_str()).collect();
        assert_eq!(names[names.len() - 2..], flatten::OCCURRENCE_COLUMNS);
    }

    #[test]
    fn users_count_each_held_occurrence_as_a_meeting() {
        let (sink, _) = build(fixture());
        let u = sink.users.unwrap();
        let ids: Vec<&str> = u
            .column("userid")
            .unwrap()
            .str()
            .unwrap()
            .iter()
            .flatten()
            .collect();
        assert_eq!(ids, ["a", "b", "c", "d", "wmEXT"]);
        let invited: Vec<Option<i64>> = u
            .column("meetings_invited")
            .unwrap()
            .i64()
            .unwrap()
            .iter()
            .collect();
        // a and b: six held occurrences and the one-off meeting.
        assert_eq!(invited, [Some(7), Some(7), Some(4), Some(2), Some(2)]);
        let attended: Vec<Option<i64>> = u
            .column("meetings_attended")
            .unwrap()
            .i64()
            .unwrap()
            .iter()
            .collect();
        assert_eq!(attended, [Some(7), Some(4), Some(2), Some(0), Some(2)]);
    }

    #[test]
    fn a_series_answered_without_occurrences_stays_one_meeting_and_is_counted() {
        let start = at(10, 5, 10, 0);
        let head = |extra: &str| {
            format!(
                r#"{{"title":"周会","meeting_start":{start},"meeting_duration":3600,"status":3,{extra}"attendees":{{"member":[{}]}}}}"#,
                member("a", start, Some((0, HOUR)))
            )
            .into_bytes()
        };
        let f = Fixture {
            bodies: vec![
                // The seed's own sample: reminders.is_repeat 1 and nothing else.
                StoredBody::one_off(
                    "S2",
                    head(r#""reminders":{"is_repeat":1,"repeat_type":1},"#),
                ),
                // An empty list is occurrence information: not counted.
                StoredBody::one_off("S3", head(r#""meeting_type":1,"sub_meetings":[],"#)),
                StoredBody::one_off("M1", head(r#""reminders":{"is_repeat":0},"#)),
            ],
            catalog: Vec::new(),
            people: People::default(),
        };
        let (sink, quality) = build(f);
        assert_eq!(quality.series_without_occurrences, 1);
        let m = stacked(&sink.meetings);
        assert_eq!(m.height(), 3);
        assert_eq!(m.column("sub_meetingid").unwrap().null_count(), 3);
    }

    #[test]
    fn an_occurrence_that_does_not_parse_fails_naming_the_occurrence() {
        let job = Job::build(JobFile::default(), "t", &Overrides::default()).unwrap();
        let mut failures = Vec::new();
        let bodies = vec![StoredBody {
            meetingid: "S1".into(),
            sub_meetingid: Some("sub-09".into()),
            body: b"{\"errcode\":0,\"title\":".to_vec(),
        }];
        tables::build_with(
            &job,
            &People::default(),
            &fixture().catalog,
            move |send| send(bodies),
            &mut failures,
            &mut Capture::default(),
        )
        .unwrap();
        assert_eq!(failures.len(), 1);
        assert_eq!(failures[0].subject(), "S1 occurrence sub-09");
    }

    #[test]
    fn an_occurrence_answered_without_attendees_fails_naming_the_series_and_the_occurrence() {
        let mut f = fixture();
        f.bodies[0].body = format!(
            r#"{{"title":"产品周会","meeting_start":{},"status":3}}"#,
            at(10, 5, 10, 0)
        )
        .into_bytes();
        let job = Job::build(JobFile::default(), "t", &Overrides::default()).unwrap();
        let mut failures = Vec::new();
        let mut sink = Capture::default();
        let bodies = f.bodies;
        tables::build_with(
            &job,
            &f.people,
            &f.catalog,
            move |send| send(bodies),
            &mut failures,
            &mut sink,
        )
        .unwrap();
        assert_eq!(failures.len(), 1);
        assert_eq!(failures[0].subject(), "S1 occurrence sub-01");
        assert!(
            failures[0].reason.contains("recurring meeting S1"),
            "{}",
            failures[0].reason
        );
        let subs = stacked(&sink.meetings);
        let subs: Vec<_> = subs
            .column("sub_meetingid")
            .unwrap()
            .str()
            .unwrap()
            .iter()
            .collect();
        assert!(!subs.contains(&Some("sub-01")), "{subs:?}");
    }

    #[test]
    fn a_body_stored_before_its_occurrence_was_deleted_is_left_out() {
        let mut f = fixture();
        let o4 = at(10, 26, 10, 0);
        f.bodies.insert(
            4,
            StoredBody {
                meetingid: "S1".into(),
                sub_meetingid: Some("sub-04".into()),
                body: body("产品周会", o4, 1, &[member("a", 0, None)], &[]),
            },
        );
        let (sink, _) = build(f);
        let m = stacked(&sink.meetings);
        let rows: Vec<(Option<&str>, Option<&str>)> = m
            .column("sub_meetingid")
            .unwrap()
            .str()
            .unwrap()
            .iter()
            .zip(m.column("status").unwrap().str().unwrap().iter())
            .filter(|(sub, _)| *sub == Some("sub-04"))
            .collect();
        assert_eq!(rows, [(Some("sub-04"), Some("deleted"))]);
    }

    #[test]
    fn a_window_without_series_gives_empty_series_tables_and_null_occurrence_columns() {
        let mut f = fixture();
        f.catalog.clear();
        f.bodies.retain(|b| b.sub_meetingid.is_none());
        let (sink, quality) = build(f);
        let (series, meetings) = sink.series.unwrap();
        assert_eq!((series.height(), meetings.height()), (0, 0));
        let names: Vec<&str> = series
            .get_column_names()
            .iter()
            .map(|s| s.as_str())
            .collect();
        assert_eq!(names, SERIES_COLUMNS);
        let a = stacked(&sink.attendance);
        assert_eq!(a.column("sub_meetingid").unwrap().null_count(), a.height());
        assert_eq!(a.column("series_title").unwrap().null_count(), a.height());
        assert_eq!(quality.occurrences_unlisted, 0);
    }
}
