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

/// Adds `columns` (name, type) to `df` as columns of nulls: what a job without a directory
/// gets, one null value each rather than a value per row.
fn with_nulls(mut df: DataFrame, columns: &[(&str, DataType)]) -> PolarsResult<DataFrame> {
    let n = df.height();
    for (name, dtype) in columns {
        df.with_column(Column::full_null((*name).into(), n, dtype))?;
    }
    Ok(df)
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
    if people.is_empty() {
        return with_nulls(
            df,
            &[
                ("external_userid", DataType::String),
                ("attendee_name", DataType::String),
                ("attendee_department_id", DataType::Int64),
                ("attendee_department", DataType::String),
            ],
        );
    }
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
    if people.history.is_empty() {
        let columns = [
            ("admin_name", DataType::String),
            ("admin_department", DataType::String),
        ];
        return with_nulls(df, &columns);
    }
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
    if people.history.is_empty() {
        let columns = [
            ("name", DataType::String),
            ("department_id", DataType::Int64),
            ("department", DataType::String),
        ];
        return with_nulls(df, &columns);
    }
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

/// Members of counted meetings who count in no department: without a directory record, or
/// with a main department the department list does not hold (no path). Their number is for
/// the run report.
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
                .and(col("attendee_department").is_null()),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::people::{DepartmentSpan, PersonSpan};
    use crate::transform::flatten::{flatten, parse_body};
    use crate::transform::metrics::derive;

    /// 2023-11-14 22:13:20 UTC and a day later, a day later again.
    const DAY1: i64 = 1_700_000_000;
    const DAY2: i64 = DAY1 + 86_400;
    const DAY3: i64 = DAY2 + 86_400;

    fn person(u: &str, dept: i64, from: i64) -> PersonSpan {
        PersonSpan {
            userid: u.into(),
            name: Some(format!("name of {u}")),
            department_id: Some(dept),
            valid_from: from,
            valid_to: None,
        }
    }

    fn dept(id: i64, name: &str, parent: i64) -> DepartmentSpan {
        DepartmentSpan {
            id,
            name: Some(name.into()),
            parent_id: Some(parent),
            valid_from: DAY1 - 1000,
            valid_to: None,
        }
    }

    /// Tree: 1 HQ → 2 R&D → 3 Platform; 1 → 4 Sales. a sits in Platform; m moves from
    /// Platform to Sales between meeting A (day 1) and meeting B (day 2); x is not in the
    /// directory. Meeting C (day 3) is upcoming and does not count.
    fn fixture() -> (DataFrame, People) {
        let bodies = [
            (
                "A",
                format!(
                    r#"{{"meeting_start":{DAY1},"meeting_duration":3600,"status":3,"admin_userid":"a","attendees":{{"member":[
                    {{"userid":"a","status":1,"first_join_time":{DAY1},"last_quit_time":{},"cumulative_time":3600}},
                    {{"userid":"m","status":1,"first_join_time":{},"last_quit_time":{},"cumulative_time":1800}},
                    {{"userid":"x","status":1,"first_join_time":{DAY1},"last_quit_time":{},"cumulative_time":3600}}],
                    "tmp_external_user":[{{"tmp_external_userid":"wo1","status":1,"cumulative_time":60}}]}}}}"#,
                    DAY1 + 3600,
                    DAY1 + 600,
                    DAY1 + 2400,
                    DAY1 + 3600
                ),
            ),
            (
                "B",
                format!(
                    r#"{{"meeting_start":{DAY2},"meeting_duration":1800,"status":3,"attendees":{{"member":[
                    {{"userid":"a","status":2}},
                    {{"userid":"m","status":1,"first_join_time":{DAY2},"last_quit_time":{},"cumulative_time":1800}}]}}}}"#,
                    DAY2 + 1800
                ),
            ),
            (
                "C",
                format!(
                    r#"{{"meeting_start":{DAY3},"meeting_duration":1800,"status":1,"attendees":{{"member":[{{"userid":"m","status":2}}]}}}}"#
                ),
            ),
        ];
        let parsed = bodies
            .iter()
            .map(|(id, b)| parse_body(id, b.as_bytes()).unwrap())
            .collect();
        let f = flatten(parsed, chrono_tz::Asia::Shanghai).unwrap();
        let history = History::new(
            vec![
                person("a", 3, DAY1 - 1000),
                PersonSpan {
                    valid_to: Some(DAY1 + 43_200),
                    ..person("m", 3, DAY1 - 1000)
                },
                person("m", 4, DAY1 + 43_200),
            ],
            vec![
                DepartmentSpan {
                    parent_id: None,
                    ..dept(1, "HQ", 0)
                },
                dept(2, "R&D", 1),
                dept(3, "Platform", 2),
                dept(4, "Sales", 1),
            ],
        );
        let people = People {
            history,
            conversions: [("wo1".to_string(), "wmCONVERTED".to_string())].into(),
            window: Some((DAY1 - 1000, DAY3 + 86_400)),
            pseudonyms: None,
        };
        let attendance = annotate_attendance(derive(f.attendance, 300).unwrap(), &people).unwrap();
        (attendance, people)
    }

    fn texts(df: &DataFrame, c: &str) -> Vec<Option<String>> {
        df.column(c)
            .unwrap()
            .str()
            .unwrap()
            .iter()
            .map(|v| v.map(str::to_owned))
            .collect()
    }

    fn ints(df: &DataFrame, c: &str) -> Vec<Option<i64>> {
        df.column(c)
            .unwrap()
            .cast(&DataType::Int64)
            .unwrap()
            .i64()
            .unwrap()
            .iter()
            .collect()
    }

    #[test]
    fn rows_carry_the_name_and_department_of_the_meeting_date_and_a_missing_person_gets_nulls() {
        let (a, _) = fixture();
        // Rows: A: a, m, x, wo1; B: a, m; C: m.
        assert_eq!(
            ints(&a, "attendee_department_id"),
            [Some(3), Some(3), None, None, Some(3), Some(4), Some(4)]
        );
        let paths = texts(&a, "attendee_department");
        assert_eq!(paths[1].as_deref(), Some("HQ/R&D/Platform"));
        assert_eq!(paths[5].as_deref(), Some("HQ/Sales"));
        assert_eq!(texts(&a, "attendee_name")[2], None);
        assert_eq!(texts(&a, "attendee_name")[0].as_deref(), Some("name of a"));
        // The external row got its converted id, and no name.
        assert_eq!(
            texts(&a, "external_userid")[3].as_deref(),
            Some("wmCONVERTED")
        );
        assert_eq!(texts(&a, "attendee_name")[3], None);
        let missing = missing_member_ids(&a, &[3]).unwrap();
        assert_eq!(missing.into_iter().collect::<Vec<_>>(), ["x"]);
    }

    #[test]
    fn departments_roll_members_up_the_tree_by_their_department_on_the_meeting_date() {
        let (a, people) = fixture();
        // Two slices, as the table builder hands them.
        let mut parts = departments_partial(&a.slice(0, 4), &[3]).unwrap();
        parts
            .vstack_mut_owned(departments_partial(&a.slice(4, 10), &[3]).unwrap())
            .unwrap();
        let (start, end) = people.window.unwrap();
        let d = departments(Some(parts), &people.history, Some(end - 1), Some(start)).unwrap();
        let names: Vec<&str> = d.get_column_names().iter().map(|s| s.as_str()).collect();
        assert_eq!(names, DEPARTMENTS_COLUMNS);
        // Ordered by path: HQ, HQ/R&D, HQ/R&D/Platform, HQ/Sales.
        assert_eq!(
            ints(&d, "department_id"),
            [Some(1), Some(2), Some(3), Some(4)]
        );
        assert_eq!(ints(&d, "depth"), [Some(0), Some(1), Some(2), Some(1)]);
        assert_eq!(ints(&d, "parent_id"), [None, Some(1), Some(2), Some(1)]);
        // Platform: A (a attended 3600 s; m attended 1800 s, 600 s late, 1200 s early) and
        // B (a absent). m's B row is Sales'; x counts nowhere; C does not count.
        assert_eq!(ints(&d, "members"), [Some(2), Some(2), Some(2), Some(1)]);
        assert_eq!(
            ints(&d, "meetings_invited"),
            [Some(4), Some(3), Some(3), Some(1)]
        );
        assert_eq!(
            ints(&d, "meetings_attended"),
            [Some(3), Some(2), Some(2), Some(1)]
        );
        assert_eq!(
            ints(&d, "total_attendance_s"),
            [Some(7200), Some(5400), Some(5400), Some(1800)]
        );
        assert_eq!(ints(&d, "late_count"), [Some(1), Some(1), Some(1), Some(0)]);
        assert_eq!(
            ints(&d, "left_early_count"),
            [Some(1), Some(1), Some(1), Some(0)]
        );
        let rate = d.column("attendance_rate").unwrap().f64().unwrap();
        assert_eq!(rate.get(0), Some(0.75));
        assert_eq!(rate.get(2), Some(2.0 / 3.0));
        assert_eq!(rate.get(3), Some(1.0));
    }

    #[test]
    fn without_a_directory_the_columns_are_there_and_null_and_no_department_has_a_row() {
        let (a, _) = fixture();
        let bare = annotate_attendance(a.drop_many(["attendee_name"]), &People::default()).unwrap();
        assert!(texts(&bare, "attendee_name").iter().all(Option::is_none));
        assert!(
            ints(&bare, "attendee_department_id")
                .iter()
                .all(Option::is_none)
        );
        let d = departments(None, &History::default(), None, None).unwrap();
        assert_eq!(d.height(), 0);
        assert_eq!(d.width(), DEPARTMENTS_COLUMNS.len());
    }

    /// One ended meeting on DAY1 attended a full hour by each of `members`, annotated with a
    /// directory of `people` and `departments`.
    fn one_meeting(
        members: &[&str],
        people: Vec<PersonSpan>,
        departments: Vec<DepartmentSpan>,
    ) -> (DataFrame, History) {
        let list: Vec<String> = members
            .iter()
            .map(|u| {
                format!(
                    r#"{{"userid":"{u}","status":1,"first_join_time":{DAY1},"last_quit_time":{},"cumulative_time":3600}}"#,
                    DAY1 + 3600
                )
            })
            .collect();
        let body = format!(
            r#"{{"meeting_start":{DAY1},"meeting_duration":3600,"status":3,"attendees":{{"member":[{}]}}}}"#,
            list.join(",")
        );
        let parsed = vec![parse_body("A", body.as_bytes()).unwrap()];
        let f = flatten(parsed, chrono_tz::Asia::Shanghai).unwrap();
        let people = People {
            history: History::new(people, departments),
            ..People::default()
        };
        let a = annotate_attendance(derive(f.attendance, 300).unwrap(), &people).unwrap();
        (a, people.history)
    }

    #[test]
    fn a_member_whose_department_is_not_in_the_list_counts_as_missing_like_one_not_in_the_directory()
     {
        let (a, history) = one_meeting(
            &["a", "lost", "gone"],
            vec![person("a", 1, DAY1 - 1000), person("lost", 99, DAY1 - 1000)],
            vec![DepartmentSpan {
                parent_id: None,
                ..dept(1, "HQ", 0)
            }],
        );
        // lost has a name and a department id, but the department is unknown: no path.
        assert_eq!(texts(&a, "attendee_department")[1], None);
        let mut missing: Vec<String> = missing_member_ids(&a, &[3]).unwrap().into_iter().collect();
        missing.sort();
        assert_eq!(missing, ["gone", "lost"]);
        // Both count in no department: HQ holds only a.
        let d = departments(
            Some(departments_partial(&a, &[3]).unwrap()),
            &history,
            Some(DAY2),
            None,
        )
        .unwrap();
        assert_eq!(ints(&d, "members"), [Some(1)]);
    }

    #[test]
    fn in_a_parent_cycle_no_members_rows_count_twice_at_the_top_level() {
        // 5 → 6 → 5: a bad sync. p sits in 5, q in 6.
        let (a, history) = one_meeting(
            &["p", "q"],
            vec![person("p", 5, DAY1 - 1000), person("q", 6, DAY1 - 1000)],
            vec![dept(5, "x", 6), dept(6, "y", 5)],
        );
        let d = departments(
            Some(departments_partial(&a, &[3]).unwrap()),
            &history,
            Some(DAY2),
            None,
        )
        .unwrap();
        // 5, the smallest id of the cycle, is the root; 6 hangs below it.
        assert_eq!(ints(&d, "department_id"), [Some(5), Some(6)]);
        assert_eq!(ints(&d, "depth"), [Some(0), Some(1)]);
        assert_eq!(ints(&d, "parent_id"), [None, Some(5)]);
        assert_eq!(ints(&d, "meetings_invited"), [Some(2), Some(1)]);
        let top: i64 = ints(&d, "depth")
            .iter()
            .zip(ints(&d, "meetings_invited"))
            .filter(|(depth, _)| **depth == Some(0))
            .map(|(_, n)| n.unwrap_or(0))
            .sum();
        assert_eq!(top, 2, "two member rows, each counted once at the top");
        assert_eq!(
            texts(&a, "attendee_department"),
            [Some("x".to_string()), Some("x/y".to_string())]
        );
    }

    #[test]
    fn without_a_directory_each_people_column_is_one_null_not_a_value_per_row() {
        let body = format!(
            r#"{{"meeting_start":{DAY1},"meeting_duration":3600,"status":3,"admin_userid":"a","attendees":{{"member":[
            {{"userid":"a","status":1,"first_join_time":{DAY1},"cumulative_time":60}},{{"userid":"b","status":2}}]}}}}"#
        );
        let parsed = vec![parse_body("A", body.as_bytes()).unwrap()];
        let f = flatten(parsed, chrono_tz::Asia::Shanghai).unwrap();
        let none = People::default();
        let attendance = annotate_attendance(derive(f.attendance, 300).unwrap(), &none).unwrap();
        let meetings = annotate_meetings(f.meetings, &none).unwrap();
        let checks = [
            (&attendance, "external_userid"),
            (&attendance, "attendee_name"),
            (&attendance, "attendee_department_id"),
            (&attendance, "attendee_department"),
            (&meetings, "admin_name"),
            (&meetings, "admin_department"),
        ];
        for (df, name) in checks {
            let c = df.column(name).unwrap();
            assert_eq!(
                (c.len(), c.null_count()),
                (df.height(), df.height()),
                "{name}"
            );
            assert!(matches!(c, Column::Scalar(_)), "{name} is a value per row");
        }
    }
}
