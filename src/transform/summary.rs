//! Pure transform: the `attendance` table → the `meetings` and `users` summaries; definitions and worked
//! examples in `docs/tables.md`.
//!
//! Both are polars lazy group-bys. `meetings` starts from the per-meeting frame so a meeting with
//! no attendee rows still has its row (with zero counts); `users` covers members (and converted
//! external users) over the meetings whose status counts, by default only `ended` ones.

use crate::transform::flatten::{KIND_EXTERNAL, KIND_MEMBER, OCCURRENCE_COLUMNS};
use polars::prelude::*;

pub const MEETINGS_COLUMNS: [&str; 18] = [
    "meetingid",
    "title",
    "meeting_start",
    "meeting_date",
    "meeting_duration_s",
    "status",
    "admin_userid",
    "main_department",
    "members_invited",
    "members_attended",
    "members_absent",
    "externals_attended",
    "attendance_rate",
    "total_attendance_s",
    "avg_attendance_s",
    "avg_attended_ratio",
    "late_count",
    "left_early_count",
];

pub const USERS_COLUMNS: [&str; 13] = [
    "userid",
    "attendee_kind",
    "meetings_invited",
    "meetings_attended",
    "meetings_absent",
    "attendance_rate",
    "total_attendance_s",
    "avg_attendance_s",
    "avg_attended_ratio",
    "late_count",
    "left_early_count",
    "first_meeting_start",
    "last_meeting_start",
];

fn is_member() -> Expr {
    col("attendee_kind").eq(lit(KIND_MEMBER))
}

fn count(pred: Expr) -> Expr {
    pred.cast(DataType::Int64).sum()
}

fn ratio(num: &str, den: &str) -> Expr {
    when(col(den).gt(lit(0i64)))
        .then(col(num).cast(DataType::Float64) / col(den).cast(DataType::Float64))
        .otherwise(lit(Null {}).cast(DataType::Float64))
}

/// One row per meeting (one per occurrence of a recurring meeting), in the order of
/// `meetings` (start, then id).
pub fn meetings(meetings: DataFrame, attendance: &DataFrame) -> PolarsResult<DataFrame> {
    let attended = col("attended");
    // An occurrence is (meetingid, sub_meetingid); a frame of one-off meetings only (the
    // usual case) is keyed by meetingid alone, as cheap as before occurrences existed.
    let series = meetings.column("sub_meetingid")?.null_count() < meetings.height();
    let keys = match series {
        true => vec![col("meetingid"), col("sub_meetingid")],
        false => vec![col("meetingid")],
    };
    let agg = attendance.clone().lazy().group_by(keys.clone()).agg([
        count(is_member()).alias("members_invited"),
        count(is_member().and(attended.clone())).alias("members_attended"),
        count(
            col("attendee_kind")
                .eq(lit(KIND_EXTERNAL))
                .and(attended.clone()),
        )
        .alias("externals_attended"),
        col("cumulative_time_s")
            .filter(attended.clone())
            .sum()
            .alias("total_attendance_s"),
        col("cumulative_time_s")
            .filter(attended.clone())
            .mean()
            .alias("avg_attendance_s"),
        col("attended_ratio")
            .filter(attended.clone().and(is_member()))
            .mean()
            .alias("avg_attended_ratio"),
        count(col("is_late").and(is_member())).alias("late_count"),
        count(col("is_left_early").and(is_member())).alias("left_early_count"),
        when(col("total_join_count").gt(lit(1i64)))
            .then(col("total_join_count") - lit(1i64))
            .otherwise(lit(0i64))
            .filter(attended)
            .sum()
            .alias("rejoin_count"),
    ]);
    let zero = |name: &str| col(name).fill_null(lit(0i64));
    let mut columns: Vec<Expr> = MEETINGS_COLUMNS.map(col).to_vec();
    columns.push(col("rejoin_count"));
    columns.push(col("status_code"));
    columns.extend(OCCURRENCE_COLUMNS.map(col));
    // A one-off meeting's null sub_meetingid matches its rows' null.
    let args = JoinArgs {
        nulls_equal: true,
        ..JoinArgs::new(JoinType::Left)
    };
    meetings
        .lazy()
        .with_row_index("_order", None)
        .join(agg, keys.clone(), keys, args)
        .with_columns([
            zero("members_invited"),
            zero("members_attended"),
            zero("externals_attended"),
            zero("total_attendance_s"),
            zero("late_count"),
            zero("left_early_count"),
            zero("rejoin_count"),
        ])
        .with_columns([
            (col("members_invited") - col("members_attended")).alias("members_absent"),
            ratio("members_attended", "members_invited").alias("attendance_rate"),
        ])
        .sort(["_order"], SortMultipleOptions::default())
        .select(columns)
        .collect()
}

/// One row per member (or converted external user) over the meetings whose status code is in
/// `statuses`, ordered by userid.
pub fn users(attendance: &DataFrame, statuses: &[i64]) -> PolarsResult<DataFrame> {
    users_combine(users_partial(attendance, statuses)?)
}

/// First phase of the users summary over part of the window: per user, the sums and counts the
/// final figures are made of. Parts can be computed separately (in parallel) and combined with
/// [`users_combine`], because every figure is a sum, a count, a min or a max of them.
pub fn users_partial(attendance: &DataFrame, statuses: &[i64]) -> PolarsResult<DataFrame> {
    let status_counts = statuses.iter().fold(lit(false), |acc, s| {
        acc.or(col("meeting_status_code").eq(lit(*s)))
    });
    let identified = is_member().or(col("external_userid").is_not_null());
    let attended = col("attended");
    attendance
        .clone()
        .lazy()
        .filter(status_counts.and(identified))
        .with_column(
            when(is_member())
                .then(col("attendee_id"))
                .otherwise(col("external_userid"))
                .alias("userid"),
        )
        .group_by([col("userid"), col("attendee_kind")])
        .agg([
            len().cast(DataType::Int64).alias("meetings_invited"),
            count(attended.clone()).alias("meetings_attended"),
            col("cumulative_time_s")
                .filter(attended.clone())
                .sum()
                .alias("total_attendance_s"),
            col("attended_ratio")
                .filter(attended.clone())
                .sum()
                .alias("_ratio_sum"),
            count(attended.and(col("attended_ratio").is_not_null())).alias("_ratio_n"),
            count(col("is_late")).alias("late_count"),
            count(col("is_left_early")).alias("left_early_count"),
            col("meeting_start").min().alias("first_meeting_start"),
            col("meeting_start").max().alias("last_meeting_start"),
        ])
        .collect()
}

/// Second phase: adds up the parts of [`users_partial`] and derives rates and averages.
pub fn users_combine(parts: DataFrame) -> PolarsResult<DataFrame> {
    let avg = |sum: Expr, n: &str| {
        when(col(n).gt(lit(0i64)))
            .then(sum.cast(DataType::Float64) / col(n).cast(DataType::Float64))
            .otherwise(lit(Null {}).cast(DataType::Float64))
    };
    parts
        .lazy()
        .group_by([col("userid"), col("attendee_kind")])
        .agg([
            col("meetings_invited").sum(),
            col("meetings_attended").sum(),
            col("total_attendance_s").sum(),
            col("_ratio_sum").sum(),
            col("_ratio_n").sum(),
            col("late_count").sum(),
            col("left_early_count").sum(),
            col("first_meeting_start").min(),
            col("last_meeting_start").max(),
        ])
        .with_columns([
            (col("meetings_invited") - col("meetings_attended")).alias("meetings_absent"),
            ratio("meetings_attended", "meetings_invited").alias("attendance_rate"),
            avg(col("total_attendance_s"), "meetings_attended").alias("avg_attendance_s"),
            avg(col("_ratio_sum"), "_ratio_n").alias("avg_attended_ratio"),
        ])
        .sort(["userid", "attendee_kind"], SortMultipleOptions::default())
        .select(USERS_COLUMNS.map(col))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transform::flatten::{flatten, parse_body};
    use crate::transform::metrics::derive;

    /// Meeting A (ended, 1 h): a attends on time, b is 10 min late and leaves 10 min early with a
    /// rejoin, c is absent, external x attends. Meeting B (ended, 30 min): a absent, b status 3
    /// with time. Meeting C (upcoming): a invited — must not count for users.
    fn fixture() -> (DataFrame, DataFrame) {
        let bodies = [
            (
                "A",
                r#"{"meeting_start":1700000000,"meeting_duration":3600,"status":3,"attendees":{
                "member":[
                  {"userid":"a","status":1,"first_join_time":1700000000,"last_quit_time":1700003600,"total_join_count":1,"cumulative_time":3600},
                  {"userid":"b","status":1,"first_join_time":1700000600,"last_quit_time":1700003000,"total_join_count":3,"cumulative_time":1800},
                  {"userid":"c","status":2}],
                "tmp_external_user":[{"tmp_external_userid":"x","status":1,"first_join_time":1700000000,"last_quit_time":1700001000,"total_join_count":2,"cumulative_time":1000}]}}"#,
            ),
            (
                "B",
                r#"{"meeting_start":1700100000,"meeting_duration":1800,"status":3,"attendees":{
                "member":[{"userid":"a","status":2},
                  {"userid":"b","status":3,"first_join_time":1700100000,"last_quit_time":1700101800,"total_join_count":1,"cumulative_time":900}]}}"#,
            ),
            (
                "C",
                r#"{"meeting_start":1700200000,"meeting_duration":1800,"status":1,"attendees":{"member":[{"userid":"a","status":2}]}}"#,
            ),
            (
                "D",
                r#"{"meeting_start":1700300000,"meeting_duration":600,"status":3}"#,
            ),
        ];
        let parsed = bodies
            .iter()
            .map(|(id, b)| parse_body(id, b.as_bytes()).unwrap())
            .collect();
        let f = flatten(parsed, chrono_tz::Asia::Shanghai).unwrap();
        (f.meetings, derive(f.attendance, 300).unwrap())
    }

    fn cell(df: &DataFrame, c: &str, row: usize) -> String {
        df.column(c).unwrap().get(row).unwrap().to_string()
    }

    fn num(df: &DataFrame, c: &str, row: usize) -> f64 {
        df.column(c)
            .unwrap()
            .get(row)
            .unwrap()
            .extract::<f64>()
            .unwrap()
    }

    #[test]
    fn meeting_summary_counts_match_hand_computed_values() {
        let (m, a) = fixture();
        let s = meetings(m, &a).unwrap();
        let names: Vec<&str> = s.get_column_names().iter().map(|s| s.as_str()).collect();
        assert_eq!(names[..18], MEETINGS_COLUMNS);
        assert_eq!(cell(&s, "meetingid", 0), "\"A\"");
        assert_eq!(cell(&s, "members_invited", 0), "3");
        assert_eq!(cell(&s, "members_attended", 0), "2");
        assert_eq!(cell(&s, "members_absent", 0), "1");
        assert_eq!(cell(&s, "externals_attended", 0), "1");
        assert_eq!(num(&s, "attendance_rate", 0), 2.0 / 3.0);
        // attended rows: a 3600, b 1800, x 1000.
        assert_eq!(cell(&s, "total_attendance_s", 0), "6400");
        assert_eq!(num(&s, "avg_attendance_s", 0), 6400.0 / 3.0);
        // attended members: a ratio 1.0, b 0.5.
        assert_eq!(num(&s, "avg_attended_ratio", 0), 0.75);
        assert_eq!(cell(&s, "late_count", 0), "1");
        assert_eq!(cell(&s, "left_early_count", 0), "1");
        // b rejoined twice, x once.
        assert_eq!(cell(&s, "rejoin_count", 0), "3");
    }

    #[test]
    fn a_meeting_without_attendees_keeps_its_row_with_zero_counts() {
        let (m, a) = fixture();
        let s = meetings(m, &a).unwrap();
        assert_eq!(s.height(), 4);
        assert_eq!(cell(&s, "meetingid", 3), "\"D\"");
        assert_eq!(cell(&s, "members_invited", 3), "0");
        assert_eq!(cell(&s, "attendance_rate", 3), "null");
        assert_eq!(cell(&s, "avg_attendance_s", 3), "null");
    }

    #[test]
    fn users_cover_members_over_ended_meetings_only() {
        let (_, a) = fixture();
        let u = users(&a, &[3]).unwrap();
        let ids: Vec<_> = u
            .column("userid")
            .unwrap()
            .str()
            .unwrap()
            .iter()
            .flatten()
            .collect();
        // x is external and unconverted; C (upcoming) does not count.
        assert_eq!(ids, ["a", "b", "c"]);
        // a: A attended, B absent.
        assert_eq!(cell(&u, "meetings_invited", 0), "2");
        assert_eq!(cell(&u, "meetings_attended", 0), "1");
        assert_eq!(cell(&u, "meetings_absent", 0), "1");
        assert_eq!(num(&u, "attendance_rate", 0), 0.5);
        // b: A (1800 s, ratio .5, late, early) and B (status 3 with 900 s → attended, ratio .5).
        assert_eq!(cell(&u, "meetings_attended", 1), "2");
        assert_eq!(cell(&u, "total_attendance_s", 1), "2700");
        assert_eq!(num(&u, "avg_attendance_s", 1), 1350.0);
        assert_eq!(num(&u, "avg_attended_ratio", 1), 0.5);
        assert_eq!(cell(&u, "late_count", 1), "1");
        assert_eq!(cell(&u, "left_early_count", 1), "1");
        // c never attended: averages are null, not zero.
        assert_eq!(cell(&u, "avg_attendance_s", 2), "null");
    }

    #[test]
    fn users_combined_from_parts_equal_users_over_the_whole() {
        let (_, a) = fixture();
        let whole = users(&a, &[1, 3]).unwrap();
        let (top, bottom) = (a.slice(0, 3), a.slice(3, a.height()));
        let mut parts = users_partial(&top, &[1, 3]).unwrap();
        parts
            .vstack_mut_owned(users_partial(&bottom, &[1, 3]).unwrap())
            .unwrap();
        let combined = users_combine(parts).unwrap();
        assert!(whole.equals_missing(&combined), "{whole}\n{combined}");
    }

    #[test]
    fn the_counted_statuses_are_configurable() {
        let (_, a) = fixture();
        let u = users(&a, &[1, 3]).unwrap();
        assert_eq!(cell(&u, "meetings_invited", 0), "3");
    }
}
