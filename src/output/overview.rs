//! What a reader sees first: the headline numbers, the attendance rate over time, the
//! distribution of the attended ratio and the top-N lists, gathered from the very frames the
//! partition writer gets (never from the bodies), so the workbook's summary sheet, the report
//! and the tables agree to the last digit.
//!
//! The headline covers the meetings whose status counts (`metrics.user_statuses`, by default
//! only `ended`), the rule of the `users` table: a cancelled or upcoming meeting does not drag
//! the rate down. Its figures are sums over those rows of the `meetings` table. Only the
//! meetings rows (one per meeting) and the users summary are kept; the attendance rows only add
//! to the ratio histogram as they stream by.

use crate::config::window::DateRange;
use crate::transform::flatten::KIND_MEMBER;
use crate::transform::tables::Table;
use anyhow::{Context, Result};
use chrono::{Datelike, NaiveDate};
use polars::prelude::*;
use std::collections::BTreeMap;

/// Rows in each top-N table of the report.
pub const TOP_N: usize = 10;
/// A window longer than this many days is charted by week.
pub const MAX_DAILY_POINTS: i64 = 92;
/// Bins of the attended-ratio histogram: 0–10 %, …, 90–100 %.
pub const RATIO_BINS: usize = 10;

/// What a workbook or a report is about.
#[derive(Debug, Clone)]
pub struct Meta {
    pub job: String,
    pub window: DateRange,
    /// The job's zone: times are shown in it.
    pub tz: chrono_tz::Tz,
    pub generated_at: chrono::DateTime<chrono::Utc>,
    pub labels: &'static crate::output::labels::Labels,
}

impl Meta {
    /// `2026-11-16 – 2026-11-23`, or the one date.
    pub fn window_text(&self) -> String {
        let w = &self.window;
        if w.from == w.to {
            w.from.to_string()
        } else {
            format!("{} – {}", w.from, w.to)
        }
    }

    /// The generation time in the job's zone, to the second, with its offset.
    pub fn generated_text(&self) -> String {
        self.generated_at
            .with_timezone(&self.tz)
            .format("%Y-%m-%d %H:%M:%S %:z")
            .to_string()
    }
}

/// Gathers the frames of one window.
pub struct Collector {
    statuses: Vec<i64>,
    window: DateRange,
    meetings: Vec<DataFrame>,
    ratio_bins: [u64; RATIO_BINS],
    ratio_sum: f64,
    ratio_n: u64,
    users: Option<DataFrame>,
    departments: Option<DataFrame>,
    series: Option<DataFrame>,
    series_meetings: Option<DataFrame>,
}

/// The headline numbers of the window's counted meetings.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Headline {
    /// Meetings whose status counts.
    pub meetings: u64,
    /// Every meeting of the window, whatever its status.
    pub meetings_in_window: u64,
    pub members_invited: i64,
    pub members_attended: i64,
    /// `members_attended / members_invited`; `None` when nobody was invited.
    pub attendance_rate: Option<f64>,
    /// Mean `attended_ratio` over attended member rows (rows with a null ratio left out).
    pub avg_attended_ratio: Option<f64>,
    pub total_attendance_s: i64,
    /// Sum of `late_count`: attended members who came late.
    pub late: i64,
    /// Sum of `left_early_count`.
    pub left_early: i64,
}

/// One point of the attendance-rate line: a day, or a week starting on Monday.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    pub start: NaiveDate,
    pub invited: i64,
    pub attended: i64,
}

impl Point {
    pub fn rate(&self) -> Option<f64> {
        (self.invited > 0).then(|| self.attended as f64 / self.invited as f64)
    }
}

/// A meeting of the lowest-attendance list.
#[derive(Debug, Clone, PartialEq)]
pub struct MeetingRow {
    pub meetingid: String,
    pub title: String,
    /// Start, milliseconds since the epoch.
    pub start_ms: Option<i64>,
    pub invited: i64,
    pub attended: i64,
    pub rate: Option<f64>,
}

/// A member of the most-absences or most-late lists.
#[derive(Debug, Clone, PartialEq)]
pub struct UserRow {
    pub userid: String,
    /// The member's name, once the users table carries a `name` column.
    pub name: Option<String>,
    pub invited: i64,
    pub absent: i64,
    pub late: i64,
    pub rate: Option<f64>,
}

/// A department of the ranking.
#[derive(Debug, Clone, PartialEq)]
pub struct DepartmentRow {
    pub name: String,
    /// Where it sits in the tree (`总部/研发中心/应用组`), when the frame has it.
    pub path: Option<String>,
    /// Its members' (and its sub-departments' members') invitations and attendances.
    pub invited: Option<i64>,
    pub attended: Option<i64>,
    pub rate: Option<f64>,
}

/// A recurring meeting of the ranking (a row of `series_meetings`).
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesRow {
    pub meetingid: String,
    pub title: Option<String>,
    /// Occurrences held in the window.
    pub held: i64,
    /// Member rows of the held occurrences, and those attended.
    pub invited: i64,
    pub attended: i64,
    pub rate: Option<f64>,
}

/// A member's run of absences in a recurring meeting (a row of `series`).
#[derive(Debug, Clone, PartialEq)]
pub struct AbsenceRow {
    pub series_title: Option<String>,
    pub meetingid: String,
    /// The userid (or pseudonym) and the name, when the directory is known.
    pub attendee_id: String,
    pub name: Option<String>,
    pub absences_in_a_row: i64,
    /// Occurrences attended of those held that listed the member.
    pub attended: i64,
    pub invited: i64,
    pub last_attended: Option<NaiveDate>,
}

/// The recurring meetings of the window: ranked by attendance, and the members who stopped
/// coming (the longest runs of absences first).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Recurring {
    pub ranked: Top<SeriesRow>,
    pub absences: Top<AbsenceRow>,
}

/// A list cut to [`TOP_N`] rows, with the number it was cut from.
#[derive(Debug, Clone, PartialEq)]
pub struct Top<T> {
    pub rows: Vec<T>,
    pub total: usize,
}

/// Everything the summary sheet and the report show.
#[derive(Debug, Clone)]
pub struct Overview {
    pub headline: Headline,
    /// Counted statuses, by name.
    pub statuses: Vec<String>,
    pub series: Vec<Point>,
    /// Whether `series` is by week (a window longer than [`MAX_DAILY_POINTS`] days).
    pub weekly: bool,
    pub ratio_bins: [u64; RATIO_BINS],
    pub lowest_meetings: Top<MeetingRow>,
    pub most_absent: Top<UserRow>,
    pub most_late: Top<UserRow>,
    /// Present once a departments frame is known (the directory); ranked by attendance rate.
    pub departments: Option<Top<DepartmentRow>>,
    /// Present when the window has recurring meetings.
    pub recurring: Option<Recurring>,
}

impl Collector {
    /// `statuses`: the status codes whose meetings count (the job's `metrics.user_statuses`).
    pub fn new(statuses: &[i64], window: DateRange) -> Self {
        Collector {
            statuses: statuses.to_vec(),
            window,
            meetings: Vec::new(),
            ratio_bins: [0; RATIO_BINS],
            ratio_sum: 0.0,
            ratio_n: 0,
            users: None,
            departments: None,
            series: None,
            series_meetings: None,
        }
    }

    /// Takes rows of `table` as the transform hands them out.
    pub fn add(&mut self, table: Table, rows: &DataFrame) -> Result<()> {
        match table {
            Table::Meetings => self.meetings.push(rows.clone()),
            Table::Attendance => self
                .add_ratios(rows)
                .context("the attended-ratio histogram")?,
            Table::Users => self.users = Some(rows.clone()),
            Table::Series => self.series = Some(rows.clone()),
            Table::SeriesMeetings => self.series_meetings = Some(rows.clone()),
        }
        Ok(())
    }

    /// The departments rollup, when the directory provides one: any frame with a
    /// `department_name` (or `department_id`) and an `attendance_rate` column. Without it the
    /// workbook has no departments sheet and the report no ranking.
    pub fn set_departments(&mut self, departments: DataFrame) {
        self.departments = Some(departments);
    }

    pub fn departments(&self) -> Option<&DataFrame> {
        self.departments.as_ref()
    }

    /// Attended member rows of counted meetings, by attended ratio.
    fn add_ratios(&mut self, rows: &DataFrame) -> Result<()> {
        let kind = rows.column("attendee_kind")?.str()?;
        let status = rows.column("meeting_status_code")?.i64()?;
        let attended = rows.column("attended")?.bool()?;
        let ratio = rows.column("attended_ratio")?.f64()?;
        for (((k, s), a), r) in kind
            .iter()
            .zip(status.iter())
            .zip(attended.iter())
            .zip(ratio.iter())
        {
            let counted = s.is_some_and(|s| self.statuses.contains(&s));
            if let (true, Some(KIND_MEMBER), Some(true), Some(r)) = (counted, k, a, r) {
                self.ratio_bins[ratio_bin(r)] += 1;
                self.ratio_sum += r;
                self.ratio_n += 1;
            }
        }
        Ok(())
    }

    pub fn finish(mut self) -> Result<Overview> {
        let meetings = stack(std::mem::take(&mut self.meetings))?;
        let counted = match &meetings {
            Some(m) => Some(self.counted(m)?),
            None => None,
        };
        let mut headline = Headline {
            meetings_in_window: meetings.as_ref().map_or(0, |m| m.height() as u64),
            avg_attended_ratio: (self.ratio_n > 0).then(|| self.ratio_sum / self.ratio_n as f64),
            ..Headline::default()
        };
        let mut series = Vec::new();
        let weekly = (self.window.to - self.window.from).num_days() + 1 > MAX_DAILY_POINTS;
        let mut lowest_meetings = Top {
            rows: Vec::new(),
            total: 0,
        };
        if let Some(c) = &counted {
            sum_headline(c, &mut headline)?;
            series = rate_series(c, weekly)?;
            lowest_meetings = lowest(c)?;
        }
        let (most_absent, most_late) = match &self.users {
            Some(u) => top_users(u)?,
            None => (Top::default(), Top::default()),
        };
        let departments = match &self.departments {
            Some(d) => Some(rank_departments(d)?),
            None => None,
        };
        let recurring = match (&self.series_meetings, &self.series) {
            (Some(m), Some(s)) if m.height() > 0 => Some(Recurring {
                ranked: rank_series(m)?,
                absences: longest_absences(s)?,
            }),
            _ => None,
        };
        Ok(Overview {
            headline,
            statuses: self
                .statuses
                .iter()
                .map(|c| crate::domain::MeetingStatus::from_code(*c).name())
                .collect(),
            series,
            weekly,
            ratio_bins: self.ratio_bins,
            lowest_meetings,
            most_absent,
            most_late,
            departments,
            recurring,
        })
    }

    /// The meetings rows whose status counts.
    fn counted(&self, meetings: &DataFrame) -> Result<DataFrame> {
        let codes = meetings.column("status_code")?.i64()?;
        let mask: BooleanChunked = codes
            .iter()
            .map(|c| Some(c.is_some_and(|c| self.statuses.contains(&c))))
            .collect();
        Ok(meetings.filter(&mask)?)
    }
}

impl<T> Default for Top<T> {
    fn default() -> Self {
        Top {
            rows: Vec::new(),
            total: 0,
        }
    }
}

/// The histogram bin of a ratio in [0, 1] (1 falls in the last bin).
pub fn ratio_bin(r: f64) -> usize {
    ((r * RATIO_BINS as f64).floor().max(0.0) as usize).min(RATIO_BINS - 1)
}

fn stack(parts: Vec<DataFrame>) -> Result<Option<DataFrame>> {
    let mut parts = parts.into_iter();
    let Some(mut df) = parts.next() else {
        return Ok(None);
    };
    for p in parts {
        df.vstack_mut_owned(p)?;
    }
    Ok(Some(df))
}

fn int_sum(df: &DataFrame, column: &str) -> Result<i64> {
    Ok(df.column(column)?.i64()?.sum().unwrap_or(0))
}

fn sum_headline(c: &DataFrame, h: &mut Headline) -> Result<()> {
    h.meetings = c.height() as u64;
    h.members_invited = int_sum(c, "members_invited")?;
    h.members_attended = int_sum(c, "members_attended")?;
    h.attendance_rate =
        (h.members_invited > 0).then(|| h.members_attended as f64 / h.members_invited as f64);
    h.total_attendance_s = int_sum(c, "total_attendance_s")?;
    h.late = int_sum(c, "late_count")?;
    h.left_early = int_sum(c, "left_early_count")?;
    Ok(())
}

/// Invited and attended members per day (or per week starting on Monday).
fn rate_series(c: &DataFrame, weekly: bool) -> Result<Vec<Point>> {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch");
    let dates = c.column("meeting_date")?.date()?.physical().clone();
    let invited = c.column("members_invited")?.i64()?;
    let attended = c.column("members_attended")?.i64()?;
    let mut by: BTreeMap<NaiveDate, (i64, i64)> = BTreeMap::new();
    for ((d, i), a) in dates.iter().zip(invited.iter()).zip(attended.iter()) {
        let Some(day) = d.and_then(|d| epoch.checked_add_signed(chrono::TimeDelta::days(d.into())))
        else {
            continue;
        };
        let start = if weekly {
            day - chrono::TimeDelta::days(day.weekday().num_days_from_monday().into())
        } else {
            day
        };
        let e = by.entry(start).or_default();
        e.0 += i.unwrap_or(0);
        e.1 += a.unwrap_or(0);
    }
    Ok(by
        .into_iter()
        .map(|(start, (invited, attended))| Point {
            start,
            invited,
            attended,
        })
        .collect())
}

/// Counted meetings with invited members, lowest attendance rate first (then the most invited,
/// then the earliest).
fn lowest(c: &DataFrame) -> Result<Top<MeetingRow>> {
    let ids = c.column("meetingid")?.str()?;
    let titles = c.column("title")?.str()?;
    let starts = c.column("meeting_start")?.datetime()?.physical().clone();
    let invited = c.column("members_invited")?.i64()?;
    let attended = c.column("members_attended")?.i64()?;
    let mut rows: Vec<MeetingRow> = (0..c.height())
        .filter_map(|i| {
            let invited = invited.get(i).unwrap_or(0);
            (invited > 0).then(|| {
                let attended = attended.get(i).unwrap_or(0);
                MeetingRow {
                    meetingid: ids.get(i).unwrap_or_default().to_string(),
                    title: titles.get(i).unwrap_or_default().to_string(),
                    start_ms: starts.get(i),
                    invited,
                    attended,
                    rate: Some(attended as f64 / invited as f64),
                }
            })
        })
        .collect();
    rows.sort_by(|a, b| {
        // attended/invited compared exactly: a·d < c·b.
        (i128::from(a.attended) * i128::from(b.invited))
            .cmp(&(i128::from(b.attended) * i128::from(a.invited)))
            .then(b.invited.cmp(&a.invited))
            .then(a.start_ms.cmp(&b.start_ms))
            .then_with(|| a.meetingid.cmp(&b.meetingid))
    });
    Ok(cut(rows))
}

fn cut<T>(mut rows: Vec<T>) -> Top<T> {
    let total = rows.len();
    rows.truncate(TOP_N);
    Top { rows, total }
}

/// Users with at least one absence, most first; users late at least once, most first.
fn top_users(u: &DataFrame) -> Result<(Top<UserRow>, Top<UserRow>)> {
    let ids = u.column("userid")?.str()?;
    let names = match u.column("name") {
        Ok(c) => Some(c.str()?.clone()),
        Err(_) => None,
    };
    let invited = u.column("meetings_invited")?.i64()?;
    let absent = u.column("meetings_absent")?.i64()?;
    let late = u.column("late_count")?.i64()?;
    let rate = u.column("attendance_rate")?.f64()?;
    let all: Vec<UserRow> = (0..u.height())
        .map(|i| UserRow {
            userid: ids.get(i).unwrap_or_default().to_string(),
            name: names.as_ref().and_then(|n| n.get(i)).map(str::to_string),
            invited: invited.get(i).unwrap_or(0),
            absent: absent.get(i).unwrap_or(0),
            late: late.get(i).unwrap_or(0),
            rate: rate.get(i),
        })
        .collect();
    let mut absent: Vec<UserRow> = all.iter().filter(|r| r.absent > 0).cloned().collect();
    absent.sort_by(|a, b| {
        b.absent
            .cmp(&a.absent)
            .then_with(|| a.userid.cmp(&b.userid))
    });
    let mut late: Vec<UserRow> = all.into_iter().filter(|r| r.late > 0).collect();
    late.sort_by(|a, b| b.late.cmp(&a.late).then_with(|| a.userid.cmp(&b.userid)));
    Ok((cut(absent), cut(late)))
}

fn texts(df: &DataFrame, column: &str) -> Result<StringChunked> {
    Ok(df.column(column)?.str()?.clone())
}

fn ints(df: &DataFrame, column: &str) -> Result<Int64Chunked> {
    Ok(df.column(column)?.cast(&DataType::Int64)?.i64()?.clone())
}

/// Recurring meetings with held occurrences, highest attendance rate first (then the most
/// invited, then the title); series without a rate last.
fn rank_series(m: &DataFrame) -> Result<Top<SeriesRow>> {
    let (ids, titles) = (texts(m, "meetingid")?, texts(m, "series_title")?);
    let (held, invited) = (ints(m, "occurrences_held")?, ints(m, "members_invited")?);
    let attended = ints(m, "members_attended")?;
    let rate = m.column("attendance_rate")?.f64()?;
    let mut rows: Vec<SeriesRow> = (0..m.height())
        .map(|i| SeriesRow {
            meetingid: ids.get(i).unwrap_or_default().to_string(),
            title: titles.get(i).map(str::to_string),
            held: held.get(i).unwrap_or(0),
            invited: invited.get(i).unwrap_or(0),
            attended: attended.get(i).unwrap_or(0),
            rate: rate.get(i),
        })
        .filter(|r| r.held > 0)
        .collect();
    rows.sort_by(|a, b| {
        b.rate
            .unwrap_or(f64::NEG_INFINITY)
            .total_cmp(&a.rate.unwrap_or(f64::NEG_INFINITY))
            .then(b.invited.cmp(&a.invited))
            .then_with(|| a.title.cmp(&b.title))
            .then_with(|| a.meetingid.cmp(&b.meetingid))
    });
    Ok(cut(rows))
}

/// Members of recurring meetings absent from their latest occurrences, the longest run first
/// (then the fewest attended, then the series and the member).
fn longest_absences(s: &DataFrame) -> Result<Top<AbsenceRow>> {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch");
    let (ids, titles) = (texts(s, "meetingid")?, texts(s, "series_title")?);
    let (kinds, who, names) = (
        texts(s, "attendee_kind")?,
        texts(s, "attendee_id")?,
        texts(s, "name")?,
    );
    let runs = ints(s, "absences_in_a_row")?;
    let (attended, invited) = (
        ints(s, "occurrences_attended")?,
        ints(s, "occurrences_invited")?,
    );
    let last = s.column("last_attended_date")?.date()?.physical().clone();
    let mut rows: Vec<AbsenceRow> = (0..s.height())
        .filter(|&i| kinds.get(i) == Some(KIND_MEMBER) && runs.get(i).unwrap_or(0) > 0)
        .map(|i| AbsenceRow {
            series_title: titles.get(i).map(str::to_string),
            meetingid: ids.get(i).unwrap_or_default().to_string(),
            attendee_id: who.get(i).unwrap_or_default().to_string(),
            name: names.get(i).map(str::to_string),
            absences_in_a_row: runs.get(i).unwrap_or(0),
            attended: attended.get(i).unwrap_or(0),
            invited: invited.get(i).unwrap_or(0),
            last_attended: last
                .get(i)
                .and_then(|d| epoch.checked_add_signed(chrono::TimeDelta::days(d.into()))),
        })
        .collect();
    rows.sort_by(|a, b| {
        b.absences_in_a_row
            .cmp(&a.absences_in_a_row)
            .then(a.attended.cmp(&b.attended))
            .then_with(|| a.series_title.cmp(&b.series_title))
            .then_with(|| a.meetingid.cmp(&b.meetingid))
            .then_with(|| a.attendee_id.cmp(&b.attendee_id))
    });
    Ok(cut(rows))
}

/// Departments by attendance rate, highest first (departments without a rate last). A
/// department with no member in the window (`members`, else `meetings_invited`, is 0) is left
/// out: a ranking of zeros says nothing.
fn rank_departments(d: &DataFrame) -> Result<Top<DepartmentRow>> {
    let name = d
        .column("department_name")
        .or_else(|_| d.column("department_id"))
        .map_err(|_| {
            anyhow::anyhow!("a departments frame needs a department_name or department_id column")
        })?
        .cast(&DataType::String)?;
    let names = name.str()?;
    let rate = d.column("attendance_rate")?.f64()?;
    let optional_ints = |column: &str| -> Result<Option<Int64Chunked>> {
        match d.column(column) {
            Ok(c) => Ok(Some(c.cast(&DataType::Int64)?.i64()?.clone())),
            Err(_) => Ok(None),
        }
    };
    let invited = optional_ints("meetings_invited")?;
    let attended = optional_ints("meetings_attended")?;
    let members = optional_ints("members")?;
    let has_members = |i: usize| match (&members, &invited) {
        (Some(m), _) => m.get(i).unwrap_or(0) > 0,
        (None, Some(n)) => n.get(i).unwrap_or(0) > 0,
        (None, None) => true,
    };
    let paths = match d.column("department_path") {
        Ok(c) => Some(c.str()?.clone()),
        Err(_) => None,
    };
    let mut rows: Vec<DepartmentRow> = (0..d.height())
        .filter(|&i| has_members(i))
        .map(|i| DepartmentRow {
            name: names.get(i).unwrap_or_default().to_string(),
            path: paths.as_ref().and_then(|p| p.get(i)).map(str::to_string),
            invited: invited.as_ref().and_then(|c| c.get(i)),
            attended: attended.as_ref().and_then(|c| c.get(i)),
            rate: rate.get(i),
        })
        .collect();
    rows.sort_by(|a, b| {
        b.rate
            .unwrap_or(f64::NEG_INFINITY)
            .total_cmp(&a.rate.unwrap_or(f64::NEG_INFINITY))
            .then_with(|| a.name.cmp(&b.name))
    });
    Ok(cut(rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, d).unwrap()
    }

    /// A meetings row: (id, day of November 2026, status code, invited, attended, late).
    type Row<'a> = (&'a str, u32, i64, i64, i64, i64);

    fn meetings(rows: &[Row<'_>]) -> DataFrame {
        let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
        let n = rows.len();
        let col_i64 = |name: &str, f: &dyn Fn(&Row<'_>) -> i64| {
            Column::new(name.into(), rows.iter().map(f).collect::<Vec<i64>>())
        };
        let start_ms: Vec<i64> = rows
            .iter()
            .map(|r| (day(r.1) - epoch).num_milliseconds())
            .collect();
        DataFrame::new(
            n,
            vec![
                Column::new(
                    "meetingid".into(),
                    rows.iter().map(|r| r.0).collect::<Vec<_>>(),
                ),
                Column::new(
                    "title".into(),
                    rows.iter().map(|r| format!("t{}", r.0)).collect::<Vec<_>>(),
                ),
                Series::new("meeting_start".into(), start_ms)
                    .cast(&DataType::Datetime(TimeUnit::Milliseconds, None))
                    .unwrap()
                    .into_column(),
                Series::new(
                    "meeting_date".into(),
                    rows.iter()
                        .map(|r| (day(r.1) - epoch).num_days() as i32)
                        .collect::<Vec<_>>(),
                )
                .cast(&DataType::Date)
                .unwrap()
                .into_column(),
                col_i64("status_code", &|r| r.2),
                col_i64("members_invited", &|r| r.3),
                col_i64("members_attended", &|r| r.4),
                col_i64("total_attendance_s", &|r| r.4 * 600),
                col_i64("late_count", &|r| r.5),
                col_i64("left_early_count", &|_| 1),
            ],
        )
        .unwrap()
    }

    fn window(from: u32, to: u32) -> DateRange {
        DateRange::new(day(from), day(to)).unwrap()
    }

    #[test]
    fn the_headline_sums_the_counted_meetings_rows() {
        let mut c = Collector::new(&[3], window(16, 20));
        c.add(
            Table::Meetings,
            &meetings(&[("a", 16, 3, 4, 3, 1), ("b", 16, 4, 9, 0, 0)]),
        )
        .unwrap();
        c.add(Table::Meetings, &meetings(&[("c", 17, 3, 3, 1, 2)]))
            .unwrap();
        let o = c.finish().unwrap();
        let h = &o.headline;
        assert_eq!((h.meetings, h.meetings_in_window), (2, 3), "b is cancelled");
        assert_eq!((h.members_invited, h.members_attended), (7, 4));
        assert_eq!(h.attendance_rate, Some(4.0 / 7.0));
        assert_eq!((h.total_attendance_s, h.late, h.left_early), (2400, 3, 2));
        assert_eq!(
            o.series,
            [
                Point {
                    start: day(16),
                    invited: 4,
                    attended: 3
                },
                Point {
                    start: day(17),
                    invited: 3,
                    attended: 1
                }
            ]
        );
        let lowest: Vec<_> = o
            .lowest_meetings
            .rows
            .iter()
            .map(|m| m.meetingid.as_str())
            .collect();
        assert_eq!(lowest, ["c", "a"]);
    }

    #[test]
    fn a_long_window_is_charted_by_week_and_long_lists_are_cut_to_the_top() {
        let mut c = Collector::new(
            &[3],
            DateRange::new(day(1), day(1) + chrono::TimeDelta::days(120)).unwrap(),
        );
        let rows: Vec<(String, u32)> = (0..30).map(|i| (format!("m{i:02}"), 1 + i % 28)).collect();
        let rows: Vec<_> = rows
            .iter()
            .map(|(id, d)| (id.as_str(), *d, 3, 10, i64::from(*d % 10), 0))
            .collect();
        let mut sorted = rows.clone();
        sorted.sort_by_key(|r| r.1);
        c.add(Table::Meetings, &meetings(&sorted)).unwrap();
        let o = c.finish().unwrap();
        assert!(o.weekly);
        assert!(
            o.series
                .iter()
                .all(|p| p.start.weekday() == chrono::Weekday::Mon)
        );
        assert_eq!(o.series.iter().map(|p| p.invited).sum::<i64>(), 300);
        assert_eq!(o.lowest_meetings.rows.len(), TOP_N);
        assert_eq!(o.lowest_meetings.total, 30);
        assert!(
            o.lowest_meetings
                .rows
                .windows(2)
                .all(|w| w[0].rate <= w[1].rate)
        );
    }

    #[test]
    fn ratios_fall_in_ten_bins_with_one_in_the_last() {
        assert_eq!(ratio_bin(0.0), 0);
        assert_eq!(ratio_bin(0.0999), 0);
        assert_eq!(ratio_bin(0.1), 1);
        assert_eq!(ratio_bin(0.95), 9);
        assert_eq!(ratio_bin(1.0), 9);
    }

    #[test]
    fn recurring_meetings_are_ranked_by_rate_and_the_longest_runs_of_absences_come_first() {
        let mut c = Collector::new(&[3], window(16, 16));
        c.add(
            Table::SeriesMeetings,
            &df!(
                "meetingid" => ["S1", "S2", "S3"],
                "series_title" => ["周会", "站会", "月会"],
                "occurrences_held" => [4i64, 10, 0],
                "members_invited" => [20i64, 50, 0],
                "members_attended" => [10i64, 45, 0],
                "attendance_rate" => [Some(0.5), Some(0.9), None],
            )
            .unwrap(),
        )
        .unwrap();
        let last = Series::new(
            "last_attended_date".into(),
            [Some(20_000i32), None, Some(20_010)],
        )
        .cast(&DataType::Date)
        .unwrap();
        let mut series = df!(
            "meetingid" => ["S1", "S1", "S2"],
            "series_title" => ["周会", "周会", "站会"],
            "attendee_kind" => ["member", "member", "member"],
            "attendee_id" => ["b", "d", "c"],
            "name" => [Some("name of b"), None, None],
            "absences_in_a_row" => [2i64, 4, 0],
            "occurrences_attended" => [2i64, 0, 10],
            "occurrences_invited" => [4i64, 4, 10],
            "last_attended_date" => [0i32, 0, 0],
        )
        .unwrap();
        series.with_column(last.into_column()).unwrap();
        c.add(Table::Series, &series).unwrap();
        let r = c.finish().unwrap().recurring.unwrap();
        let ranked: Vec<_> = r.ranked.rows.iter().map(|s| s.meetingid.as_str()).collect();
        // S3 held nothing: not ranked.
        assert_eq!(ranked, ["S2", "S1"]);
        let absent: Vec<_> = r
            .absences
            .rows
            .iter()
            .map(|a| a.attendee_id.as_str())
            .collect();
        // c attended the last occurrence: no run of absences.
        assert_eq!(absent, ["d", "b"]);
        assert_eq!(r.absences.rows[1].name.as_deref(), Some("name of b"));
        assert_eq!(r.absences.rows[0].last_attended, None);
    }

    #[test]
    fn a_departments_frame_is_ranked_by_attendance_rate() {
        let mut c = Collector::new(&[3], window(16, 16));
        c.set_departments(
            df!(
                "department_name" => ["销售部", "研发部", "人事部"],
                "attendance_rate" => [Some(0.5), Some(0.9), None],
            )
            .unwrap(),
        );
        let o = c.finish().unwrap();
        let names: Vec<_> = o
            .departments
            .unwrap()
            .rows
            .into_iter()
            .map(|d| d.name)
            .collect();
        assert_eq!(names, ["研发部", "销售部", "人事部"]);
    }

    #[test]
    fn departments_with_no_member_in_the_window_are_not_ranked() {
        let mut c = Collector::new(&[3], window(16, 16));
        c.set_departments(
            df!(
                "department_name" => ["总部", "销售部", "研发部"],
                "members" => [2i64, 0, 2],
                "meetings_invited" => [4i64, 0, 4],
                "meetings_attended" => [3i64, 0, 3],
                "attendance_rate" => [Some(0.75), None, Some(0.75)],
            )
            .unwrap(),
        );
        let ranked = c.finish().unwrap().departments.unwrap();
        let names: Vec<_> = ranked.rows.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["总部", "研发部"]);
        assert_eq!(
            ranked.total, 2,
            "the note counts only the ranked departments"
        );

        // People of the window none of whom is in the directory: no department is ranked.
        let mut c = Collector::new(&[3], window(16, 16));
        c.set_departments(
            df!(
                "department_name" => ["总部", "销售部"],
                "members" => [0i64, 0],
                "meetings_invited" => [0i64, 0],
                "attendance_rate" => [None::<f64>, None],
            )
            .unwrap(),
        );
        let ranked = c.finish().unwrap().departments.unwrap();
        assert!(ranked.rows.is_empty() && ranked.total == 0);
    }
}
