//! The per-row attendance metrics (defined in `docs/tables.md`) as polars expressions over the flattened rows.
//!
//! Each definition lives in one function so its test can pin it:
//! - `attended`: status 1 → true, 2 → false, anything else → `cumulative_time_s > 0`;
//! - `late_s` = max(0, first_join − meeting_start) for attended rows with a join time;
//! - `left_early_s` = max(0, scheduled end − last_quit) for attended rows with a quit time,
//!   where scheduled end = meeting_start + meeting_duration_s;
//! - `attended_ratio` = min(1, cumulative / duration) if attended, 0 if not, null when the
//!   duration is 0 or unknown;
//! - `is_late` / `is_left_early`: the value exceeds the grace period.

use crate::transform::flatten::OCCURRENCE_COLUMNS;
use polars::prelude::*;

/// Column order of the `attendance` table: the spec's columns, then the additions.
pub const ATTENDANCE_COLUMNS: [&str; 24] = [
    "meetingid",
    "meeting_title",
    "meeting_start",
    "meeting_date",
    "meeting_duration_s",
    "meeting_status",
    "admin_userid",
    "main_department",
    "attendee_kind",
    "attendee_id",
    "external_userid",
    "attend_status",
    "attended",
    "first_join_time",
    "last_quit_time",
    "total_join_count",
    "cumulative_time_s",
    "late_s",
    "left_early_s",
    "attended_ratio",
    "is_host",
    "is_late",
    "is_left_early",
    "meeting_status_code",
];

/// Unix seconds of a datetime column (null stays null).
fn secs(name: &str) -> Expr {
    col(name).cast(DataType::Int64) / lit(1000i64)
}

fn at_least_zero(e: Expr) -> Expr {
    when(e.clone().gt(lit(0i64))).then(e).otherwise(lit(0i64))
}

fn null_i64() -> Expr {
    lit(Null {}).cast(DataType::Int64)
}

pub fn attended() -> Expr {
    let status = col("attend_status");
    when(status.clone().eq(lit(1i64)))
        .then(lit(true))
        .when(status.eq(lit(2i64)))
        .then(lit(false))
        .otherwise(col("cumulative_time_s").gt(lit(0i64)))
        .alias("attended")
}

pub fn late_s() -> Expr {
    let start = secs("meeting_start");
    let join = secs("first_join_time");
    when(
        col("attended")
            .and(join.clone().is_not_null())
            .and(start.clone().is_not_null()),
    )
    .then(at_least_zero(join - start))
    .otherwise(null_i64())
    .alias("late_s")
}

pub fn left_early_s() -> Expr {
    let end = secs("meeting_start") + col("meeting_duration_s");
    let quit = secs("last_quit_time");
    when(
        col("attended")
            .and(quit.clone().is_not_null())
            .and(end.clone().is_not_null()),
    )
    .then(at_least_zero(end - quit))
    .otherwise(null_i64())
    .alias("left_early_s")
}

pub fn attended_ratio() -> Expr {
    let dur = col("meeting_duration_s");
    let ratio =
        col("cumulative_time_s").cast(DataType::Float64) / dur.clone().cast(DataType::Float64);
    when(dur.clone().is_null().or(dur.lt_eq(lit(0i64))))
        .then(lit(Null {}).cast(DataType::Float64))
        .when(col("attended"))
        .then(
            when(ratio.clone().gt(lit(1.0)))
                .then(lit(1.0))
                .otherwise(ratio),
        )
        .otherwise(lit(0.0))
        .alias("attended_ratio")
}

fn exceeds_grace(name: &str, grace_s: i64) -> Expr {
    col(name).gt(lit(grace_s)).fill_null(lit(false))
}

/// Adds the metric columns to the flattened rows and puts the columns in table order
/// ([`ATTENDANCE_COLUMNS`], then the occurrence columns, which the table builder moves last).
pub fn derive(rows: DataFrame, grace_s: i64) -> PolarsResult<DataFrame> {
    let columns = ATTENDANCE_COLUMNS.iter().chain(&OCCURRENCE_COLUMNS);
    rows.lazy()
        .with_column(attended())
        .with_columns([late_s(), left_early_s(), attended_ratio()])
        .with_columns([
            exceeds_grace("late_s", grace_s).alias("is_late"),
            exceeds_grace("left_early_s", grace_s).alias("is_left_early"),
        ])
        .select(columns.map(|c| col(*c)).collect::<Vec<_>>())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transform::flatten::{flatten, parse_body};

    const START: i64 = 1_700_000_000;

    /// One meeting (start START, given duration) with the given member JSON objects.
    fn rows(duration: i64, members: &[&str]) -> DataFrame {
        let body = format!(
            r#"{{"meeting_start":{START},"meeting_duration":{duration},"status":3,
                "attendees":{{"member":[{}]}}}}"#,
            // Each member a different person: repeats of one person would be merged.
            members
                .iter()
                .enumerate()
                .map(|(i, m)| m.replace(r#""userid":"u""#, &format!(r#""userid":"u{i}""#)))
                .collect::<Vec<_>>()
                .join(",")
        );
        let m = parse_body("m", body.as_bytes()).unwrap();
        let f = flatten(vec![m], chrono_tz::Asia::Shanghai).unwrap();
        derive(f.attendance, 300).unwrap()
    }

    fn member(status: i64, join: i64, quit: i64, cum: i64) -> String {
        format!(
            r#"{{"userid":"u","status":{status},"first_join_time":{join},"last_quit_time":{quit},
                "total_join_count":1,"cumulative_time":{cum}}}"#
        )
    }

    fn i64s(df: &DataFrame, c: &str) -> Vec<Option<i64>> {
        df.column(c).unwrap().i64().unwrap().iter().collect()
    }
    fn bools(df: &DataFrame, c: &str) -> Vec<Option<bool>> {
        df.column(c).unwrap().bool().unwrap().iter().collect()
    }
    fn f64s(df: &DataFrame, c: &str) -> Vec<Option<f64>> {
        df.column(c).unwrap().f64().unwrap().iter().collect()
    }

    #[test]
    fn attended_follows_status_and_falls_back_to_cumulative_time() {
        let ms = [
            member(1, START, START + 10, 0),
            member(2, START, START + 10, 500),
            member(3, START, START + 10, 10),
            member(4, 0, 0, 0),
        ];
        let df = rows(3600, &ms.iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(
            bools(&df, "attended"),
            [Some(true), Some(false), Some(true), Some(false)]
        );
    }

    #[test]
    fn late_and_left_early_are_measured_from_the_schedule_and_floored_at_zero() {
        let ms = [
            // 400 s late, left 1000 s before the scheduled end.
            member(1, START + 400, START + 2600, 2200),
            // joined before the start, quit after the scheduled end.
            member(1, START - 60, START + 4000, 3600),
            // absent: no lateness at all.
            member(2, START + 400, START + 500, 100),
            // attended by status but never joined (times 0).
            member(1, 0, 0, 0),
        ];
        let df = rows(3600, &ms.iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(i64s(&df, "late_s"), [Some(400), Some(0), None, None]);
        assert_eq!(i64s(&df, "left_early_s"), [Some(1000), Some(0), None, None]);
        assert_eq!(
            bools(&df, "is_late"),
            [Some(true), Some(false), Some(false), Some(false)]
        );
        assert_eq!(
            bools(&df, "is_left_early"),
            [Some(true), Some(false), Some(false), Some(false)]
        );
    }

    #[test]
    fn the_grace_period_is_exclusive() {
        let ms = [member(1, START + 300, START + 3300, 3000)];
        let df = rows(3600, &ms.iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(i64s(&df, "late_s"), [Some(300)]);
        assert_eq!(bools(&df, "is_late"), [Some(false)]);
        assert_eq!(bools(&df, "is_left_early"), [Some(false)]);
    }

    #[test]
    fn attended_ratio_is_capped_at_one_zero_when_absent_and_null_without_duration() {
        let ms = [
            member(1, START, START + 1800, 1800),
            member(1, START, START + 9000, 9000),
            member(2, 0, 0, 0),
        ];
        let df = rows(3600, &ms.iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(
            f64s(&df, "attended_ratio"),
            [Some(0.5), Some(1.0), Some(0.0)]
        );

        let ms = [member(1, START, START + 10, 10), member(2, 0, 0, 0)];
        let df = rows(0, &ms.iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(f64s(&df, "attended_ratio"), [None, None]);
        // Without a duration the scheduled end is the start: quitting later is not early.
        assert_eq!(i64s(&df, "left_early_s"), [Some(0), None]);
    }

    #[test]
    fn the_table_has_every_column_the_spec_names() {
        let df = rows(3600, &[&member(1, START, START + 10, 10)]);
        let names: Vec<&str> = df.get_column_names().iter().map(|s| s.as_str()).collect();
        assert_eq!(names[..ATTENDANCE_COLUMNS.len()], ATTENDANCE_COLUMNS);
        assert_eq!(names[ATTENDANCE_COLUMNS.len()..], OCCURRENCE_COLUMNS);
    }
}
