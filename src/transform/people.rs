//! Pure: who the rows are about. Adds names and departments as of each meeting's start to the
//! tables (from the directory's [`History`]), fills `external_userid` from the stored
//! conversions, and rolls the attendance of members up the department tree into the
//! `departments` table. Without a directory the columns are there and null, and the
//! departments table is empty, so the schema never depends on the configuration.

use crate::domain::people::History;
use crate::transform::flatten::{KIND_EXTERNAL, KIND_MEMBER};
use polars::prelude::*;
use std::collections::{BTreeMap, HashMap, HashSet};

/// The columns of the `departments` table, in order.
pub const DEPARTMENTS_COLUMNS: [&str; 12] = [
    "department_id",
    "department_name",
    "department_path",
    "parent_id",
    "depth",
    "members",
    "meetings_invited",
    "meetings_attended",
    "attendance_rate",
    "total_attendance_s",
    "late_count",
    "left_early_count",
];

/// What the transform knows about people: the directory's history and the conversions of
/// external participants' temporary ids (to their `external_userid`).
#[derive(Debug, Clone, Default)]
pub struct People {
    pub history: History,
    pub conversions: HashMap<String, String>,
    /// The window's bounds, epoch seconds `[start, end)`: the departments table shows the tree
    /// as it stood at the end.
    pub window: Option<(i64, i64)>,
    /// Set when the job's identity is `pseudonym`.
    pub pseudonyms: Option<crate::transform::pseudonym::Pseudonyms>,
}

impl People {
    pub fn is_empty(&self) -> bool {
        self.history.is_empty() && self.conversions.is_empty()
    }
}

/// Seconds since the epoch of a millisecond datetime column, per row.
fn start_seconds(df: &DataFrame, column: &str) -> PolarsResult<Vec<Option<i64>>> {
    let ms = df.column(column)?.cast(&DataType::Int64)?;
    Ok(ms
        .i64()?
        .iter()
        .map(|v| v.map(|ms| ms.div_euclid(1000)))
        .collect())
}

/// `attendance` + `attendee_name`, `attendee_department_id`, `attendee_department` (member rows,
/// as of the meeting's start), with `external_userid` filled for converted external rows.
pub fn annotate_attendance(mut df: DataFrame, people: &People) -> PolarsResult<DataFrame> {
    let n = df.height();
    let starts = start_seconds(&df, "meeting_start")?;
    let kinds = df.column("attendee_kind")?.str()?.clone();
    let ids = df.column("attendee_id")?.str()?.clone();
    let mut names: Vec<Option<String>> = Vec::with_capacity(n);
    let mut dept_ids: Vec<Option<i64>> = Vec::with_capacity(n);
    let mut paths: Vec<Option<String>> = Vec::with_capacity(n);
    let mut external: Vec<Option<String>> = Vec::with_capacity(n);
    for (i, &t) in starts.iter().enumerate() {
        let (kind, id) = (kinds.get(i), ids.get(i));
        let person = match (kind, id) {
            (Some(KIND_MEMBER), Some(id)) => people.history.person_at(id, t),
            _ => None,
        };
        names.push(person.and_then(|p| p.name.clone()));
        let dept = person.and_then(|p| p.department_id);
        dept_ids.push(dept);
        paths.push(dept.and_then(|d| people.history.path_at(d, t)));
        external.push(match (kind, id) {
            (Some(KIND_EXTERNAL), Some(id)) => people.conversions.get(id).cloned(),
            _ => None,
        });
    }
    df.with_column(Column::new("external_userid".into(), external))?;
    df.with_column(Column::new("attendee_name".into(), names))?;
    df.with_column(Column::new("attendee_department_id".into(), dept_ids))?;
    df.with_column(Column::new("attendee_department".into(), paths))?;
    Ok(df)
}

/// `meetings` + `admin_name`, `admin_department` (the organiser as of the meeting's start).
pub fn annotate_meetings(mut df: DataFrame, people: &People) -> PolarsResult<DataFrame> {
    let starts = start_seconds(&df, "meeting_start")?;
    let admins = df.column("admin_userid")?.str()?.clone();
    let (names, paths): (Vec<Option<String>>, Vec<Option<String>>) = (0..df.height())
        .map(|i| {
            let t = starts[i];
            let p = admins.get(i).and_then(|a| people.history.person_at(a, t));
            let path = p
                .and_then(|p| p.department_id)
                .and_then(|d| people.history.path_at(d, t));
            (p.and_then(|p| p.name.clone()), path)
        })
        .unzip();
    df.with_column(Column::new("admin_name".into(), names))?;
    df.with_column(Column::new("admin_department".into(), paths))?;
    Ok(df)
}

/// `users` + `name`, `department_id`, `department` (members, as of their last counted meeting).
pub fn annotate_users(mut df: DataFrame, people: &People) -> PolarsResult<DataFrame> {
    let lasts = start_seconds(&df, "last_meeting_start")?;
    let kinds = df.column("attendee_kind")?.str()?.clone();
    let ids = df.column("userid")?.str()?.clone();
    let n = df.height();
    let mut names: Vec<Option<String>> = Vec::with_capacity(n);
    let mut dept_ids: Vec<Option<i64>> = Vec::with_capacity(n);
    let mut paths: Vec<Option<String>> = Vec::with_capacity(n);
    for (i, &t) in lasts.iter().enumerate() {
        let p = match (kinds.get(i), ids.get(i)) {
            (Some(KIND_MEMBER), Some(id)) => people.history.person_at(id, t),
            _ => None,
        };
        names.push(p.and_then(|p| p.name.clone()));
        let d = p.and_then(|p| p.department_id);
        dept_ids.push(d);
        paths.push(d.and_then(|d| people.history.path_at(d, t)));
    }
    df.with_column(Column::new("name".into(), names))?;
    df.with_column(Column::new("department_id".into(), dept_ids))?;
    df.with_column(Column::new("department".into(), paths))?;
    Ok(df)
}

/// Member rows of counted meetings whose attendee has no directory record: their number, for
/// the run report (those rows count in no department).
pub fn missing_member_ids(
    attendance: &DataFrame,
    statuses: &[i64],
) -> PolarsResult<HashSet<String>> {
    let counted = counted(statuses);
    let df = attendance
        .clone()
        .lazy()
        .filter(
            counted
                .and(col("attendee_kind").eq(lit(KIND_MEMBER)))
                .and(col("attendee_department_id").is_null()),
        )
        .select([col("attendee_id")])
        .collect()?;
    Ok(df
        .column("attendee_id")?
        .str()?
        .iter()
        .flatten()
        .map(str::to_owned)
        .collect())
}

fn counted(statuses: &[i64]) -> Expr {
    statuses.iter().fold(lit(false), |acc, s| {
        acc.or(col("meeting_status_code").eq(lit(*s)))
    })
}

/// First phase of the departments table over part of the window: per (department on the
/// meeting date, member), the sums the rollup adds up. Parts are stacked and handed to
/// [`departments`].
pub fn departments_partial(attendance: &DataFrame, statuses: &[i64]) -> PolarsResult<DataFrame> {
    let attended = col("attended");
    let as_int = |e: Expr| e.cast(DataType::Int64).sum();
    attendance
        .clone()
        .lazy()
        .filter(
            counted(statuses)
                .and(col("attendee_kind").eq(lit(KIND_MEMBER)))
                .and(col("attendee_department_id").is_not_null()),
        )
        .group_by([col("attendee_department_id"), col("attendee_id")])
        .agg([
            len().cast(DataType::Int64).alias("invited"),
            as_int(attended.clone()).alias("attended"),
            col("cumulative_time_s")
                .filter(attended)
                .sum()
                .alias("total_s"),
            as_int(col("is_late")).alias("late"),
            as_int(col("is_left_early")).alias("left_early"),
        ])
        .collect()
}

/// Sums of one department.
#[derive(Default)]
struct Sums {
    members: HashSet<String>,
    invited: i64,
    attended: i64,
    total_s: i64,
    late: i64,
    left_early: i64,
}

/// The `departments` table: one row per department of the tree as it stood at `at` (the
/// window's end), counting the rows of members whose department on the meeting date is that
/// department or one below it (ancestors as of `at`). `since` (the window's start) leaves out
/// departments removed before the window. Ordered by path.
pub fn departments(
    parts: Option<DataFrame>,
    history: &History,
    at: Option<i64>,
    since: Option<i64>,
) -> PolarsResult<DataFrame> {
    let tree = history.tree_at(at, since);
    let mut sums: BTreeMap<i64, Sums> = tree.iter().map(|n| (n.id, Sums::default())).collect();
    if let Some(parts) = parts.filter(|p| p.height() > 0) {
        let by = parts
            .lazy()
            .group_by([col("attendee_department_id"), col("attendee_id")])
            .agg([
                col("invited").sum(),
                col("attended").sum(),
                col("total_s").sum(),
                col("late").sum(),
                col("left_early").sum(),
            ])
            .collect()?;
        let dept = by.column("attendee_department_id")?.i64()?;
        let user = by.column("attendee_id")?.str()?;
        let get = |c: &str| -> PolarsResult<Vec<i64>> {
            Ok(by
                .column(c)?
                .cast(&DataType::Int64)?
                .i64()?
                .iter()
                .map(|v| v.unwrap_or(0))
                .collect())
        };
        let (inv, att, tot, late, early) = (
            get("invited")?,
            get("attended")?,
            get("total_s")?,
            get("late")?,
            get("left_early")?,
        );
        for i in 0..by.height() {
            let (Some(d), Some(u)) = (dept.get(i), user.get(i)) else {
                continue;
            };
            for ancestor in history.chain_at(d, at) {
                if let Some(s) = sums.get_mut(&ancestor.id) {
                    s.members.insert(u.to_owned());
                    s.invited += inv[i];
                    s.attended += att[i];
                    s.total_s += tot[i];
                    s.late += late[i];
                    s.left_early += early[i];
                }
            }
        }
    }
    let mut tree = tree;
    tree.sort_by(|a, b| a.path.cmp(&b.path).then(a.id.cmp(&b.id)));
    let s = |id: i64| &sums[&id];
    DataFrame::new(
        tree.len(),
        vec![
            Column::new(
                "department_id".into(),
                tree.iter().map(|n| n.id).collect::<Vec<_>>(),
            ),
            Column::new(
                "department_name".into(),
                tree.iter().map(|n| n.name.clone()).collect::<Vec<_>>(),
            ),
            Column::new(
                "department_path".into(),
                tree.iter().map(|n| n.path.clone()).collect::<Vec<_>>(),
            ),
            Column::new(
                "parent_id".into(),
                tree.iter().map(|n| n.parent_id).collect::<Vec<_>>(),
            ),
            Column::new(
                "depth".into(),
                tree.iter().map(|n| n.depth).collect::<Vec<_>>(),
            ),
            Column::new(
                "members".into(),
                tree.iter()
                    .map(|n| s(n.id).members.len() as i64)
                    .collect::<Vec<_>>(),
            ),
            Column::new(
                "meetings_invited".into(),
                tree.iter().map(|n| s(n.id).invited).collect::<Vec<_>>(),
            ),
            Column::new(
                "meetings_attended".into(),
                tree.iter().map(|n| s(n.id).attended).collect::<Vec<_>>(),
            ),
            Column::new(
                "attendance_rate".into(),
                tree.iter()
                    .map(|n| {
                        let s = s(n.id);
                        (s.invited > 0).then(|| s.attended as f64 / s.invited as f64)
                    })
                    .collect::<Vec<_>>(),
            ),
            Column::new(
                "total_attendance_s".into(),
                tree.iter().map(|n| s(n.id).total_s).collect::<Vec<_>>(),
            ),
            Column::new(
                "late_count".into(),
                tree.iter().map(|n| s(n.id).late).collect::<Vec<_>>(),
            ),
            Column::new(
                "left_early_count".into(),
                tree.iter().map(|n| s(n.id).left_early).collect::<Vec<_>>(),
            ),
        ],
    )
}
