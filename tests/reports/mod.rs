//! What HR and managers open: the workbook (`--format xlsx`), read back with calamine and
//! checked cell by cell against the CSV tables of the same run; the report (`--format html`
//! and the `report` command), whose headline numbers must equal the `meetings` and `users`
//! tables, in both languages; and the demo report rendered in headless Chromium, with its
//! screenshot kept under `target/`.

mod browser;

use crate::common::*;
use calamine::{Data, Range, Reader, Xlsx, open_workbook};
use chrono::{NaiveDate, NaiveDateTime};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const WINDOW: &str = "window=2026-10-05_2026-11-23";
const ZONE: &str = "Asia/Shanghai";
/// A demo meeting whose title the tests turn into a formula.
const FORMULA_MEETING: &str = "hy8r3G29rhEeUsqHhJZFiq9zMc";
const FORMULA_TITLE: &str = "=HYPERLINK(\"http://example.invalid\",\"点我\")";

/// A run of the demo meetings with `formats`, in `language`, into a temporary folder. The
/// bodies are a copy of `fixtures/demo` in which one title starts with `=`.
struct Demo {
    tmp: tempfile::TempDir,
    /// The job has a `[directory]`: the workbook's people sheets lead with names.
    directory: bool,
}

impl Demo {
    /// `jobs/demo.toml` as shipped (with its directory snapshot and every format), its tables
    /// and store in a temporary folder.
    fn shipped() -> Demo {
        let demo = Demo {
            tmp: tempfile::tempdir().unwrap(),
            directory: true,
        };
        let o = run(bin()
            .current_dir(repo())
            .args(["run", "--job", "jobs/demo.toml", "--out"])
            .arg(demo.out())
            .arg("--store")
            .arg(demo.tmp.path().join("store.sqlite")));
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        demo
    }

    fn run(language: &str, formats: &str) -> Demo {
        let demo = Demo::titled(language, FORMULA_TITLE);
        let o = demo.run_formats(formats);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        demo
    }

    /// The demo's bodies and job, not run yet, with `title` as the title of
    /// [`FORMULA_MEETING`].
    fn titled(language: &str, title: &str) -> Demo {
        let tmp = tempfile::tempdir().unwrap();
        let src = tmp.path().join("bodies");
        copy_tree(&fixtures("demo"), &src);
        let body = src.join(format!("{FORMULA_MEETING}.json"));
        let mut v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&body).unwrap()).unwrap();
        v["title"] = title.into();
        std::fs::write(&body, serde_json::to_vec(&v).unwrap()).unwrap();
        let demo = Demo {
            tmp,
            directory: false,
        };
        demo.write_job("demo", language, "dir");
        demo
    }

    fn run_formats(&self, formats: &str) -> std::process::Output {
        run(bin()
            .args(["run", "--job"])
            .arg(self.job("demo"))
            .args(["--format", formats]))
    }

    /// A job over the run's store: `source` is `dir` (the bodies) or `api` (a WeCom that does
    /// not exist, and no credentials).
    fn write_job(&self, name: &str, language: &str, source: &str) -> PathBuf {
        let dir = self.tmp.path();
        let source = match source {
            "dir" => format!("[source]\nkind = \"dir\"\ndir = {:?}\n", dir.join("bodies")),
            _ => "[api]\nbase_url = \"http://127.0.0.1:9\"\n".to_string(),
        };
        write_job(
            dir,
            name,
            &format!(
                "name = \"demo\"\n{source}[ids]\nfile = {:?}\n[store]\npath = {:?}\n\
                 [output]\ndir = {:?}\nlanguage = {language:?}\n",
                fixtures("demo").join("ids.txt"),
                dir.join("store.sqlite"),
                self.out()
            ),
        )
    }

    fn job(&self, name: &str) -> PathBuf {
        self.tmp.path().join(format!("{name}.toml"))
    }

    fn out(&self) -> PathBuf {
        self.tmp.path().join("out")
    }

    fn workbook(&self) -> Xlsx<std::io::BufReader<std::fs::File>> {
        open_workbook(
            self.out()
                .join("workbooks")
                .join(WINDOW)
                .join("attendance.xlsx"),
        )
        .unwrap()
    }

    fn report(&self) -> PathBuf {
        self.out().join("reports").join(WINDOW).join("report.html")
    }

    /// A table's CSV: its header and its rows, the date partitions in order.
    fn csv(&self, table: &str) -> (Vec<String>, Vec<Vec<String>>) {
        let mut parts: Vec<PathBuf> = tree(&self.out().join(table))
            .into_iter()
            .filter(|f| f.ends_with("part-0.csv"))
            .map(|f| self.out().join(table).join(f))
            .collect();
        parts.sort();
        let mut header = Vec::new();
        let mut rows = Vec::new();
        for p in parts {
            let text = std::fs::read_to_string(&p).unwrap();
            let mut r = csv::Reader::from_reader(text.trim_start_matches('\u{feff}').as_bytes());
            header = r.headers().unwrap().iter().map(String::from).collect();
            for rec in r.records() {
                rows.push(rec.unwrap().iter().map(String::from).collect());
            }
        }
        (header, rows)
    }
}

fn sheet(wb: &mut Xlsx<std::io::BufReader<std::fs::File>>, name: &str) -> Vec<Vec<Data>> {
    let r: Range<Data> = wb.worksheet_range(name).unwrap();
    r.rows().map(<[Data]>::to_vec).collect()
}

/// An Excel serial date-time as a local time, to the millisecond.
fn excel_time(serial: f64) -> NaiveDateTime {
    let base = NaiveDate::from_ymd_opt(1899, 12, 30)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap();
    base + chrono::TimeDelta::milliseconds((serial * 86_400_000.0).round() as i64)
}

/// How the Chinese workbook shows a status or kind the CSV spells in English.
fn zh_value(column: &str, v: &str) -> String {
    let t = match (column, v) {
        ("status" | "meeting_status", "upcoming") => "待开始",
        ("status" | "meeting_status", "ended") => "已结束",
        ("status" | "meeting_status", "cancelled") => "已取消",
        ("status" | "meeting_status", "expired") => "已过期",
        ("status" | "meeting_status", "deleted") => "已删除",
        ("attendee_kind", "member") => "成员",
        ("attendee_kind", "external") => "外部联系人",
        _ => v,
    };
    t.to_string()
}

/// Checks one workbook cell against the CSV cell of `column`; `zh` translates statuses.
fn assert_cell(column: &str, csv: &str, cell: &Data, zh: bool, at: &str) {
    let here = || format!("{at}, column {column}: csv {csv:?}, workbook {cell:?}");
    if csv.is_empty() {
        assert_eq!(*cell, Data::Empty, "{}", here());
        return;
    }
    match cell {
        Data::String(s) => {
            // The CSV neutralises formulas with a leading '; the workbook keeps the text as
            // text.
            let raw = csv
                .strip_prefix('\'')
                .filter(|r| r.starts_with('='))
                .unwrap_or(csv);
            let want = if zh {
                zh_value(column, raw)
            } else {
                raw.to_string()
            };
            assert_eq!(*s, want, "{}", here());
        }
        Data::Bool(b) => assert_eq!(b.to_string(), csv, "{}", here()),
        Data::Float(f) if column.contains("rate") || column.contains("ratio") => {
            assert_eq!(format!("{f:.6}"), csv, "{}", here());
        }
        Data::Float(f) => assert_eq!(f.to_string(), csv, "{}", here()),
        Data::Int(i) => assert_eq!(i.to_string(), csv, "{}", here()),
        Data::DateTime(d) if d.is_duration() => {
            let secs = d.as_f64() * 86_400.0;
            let shown = if csv.contains('.') {
                format!("{secs:.6}")
            } else {
                format!("{}", secs.round() as i64)
            };
            assert_eq!(shown, csv, "{}", here());
        }
        Data::DateTime(d) if column.ends_with("_date") => {
            assert_eq!(excel_time(d.as_f64()).date().to_string(), csv, "{}", here());
        }
        Data::DateTime(d) => {
            let local = chrono::DateTime::parse_from_rfc3339(csv)
                .unwrap()
                .naive_local();
            assert_eq!(excel_time(d.as_f64()), local, "{}", here());
        }
        other => panic!("unexpected cell {other:?}: {}", here()),
    }
}

/// The English header of a CSV column: its name, with the zone for times and the unit for
/// durations.
fn en_header(column: &str) -> String {
    if column.ends_with("_start") || column.ends_with("_time") {
        format!("{column} ({ZONE})")
    } else if let Some(base) = column.strip_suffix("_s") {
        format!("{base} (h:mm:ss)")
    } else {
        column.to_string()
    }
}

/// The columns of a people sheet that lead the workbook once the directory is known: the
/// person's name and department, then the ids (docs/reports.md, The workbook).
fn person_columns(table: &str) -> &'static [&'static str] {
    match table {
        "attendance" => &[
            "attendee_name",
            "attendee_department",
            "attendee_department_id",
            "attendee_id",
        ],
        "users" => &["name", "department", "department_id", "userid"],
        "series" => &["name", "department", "department_id", "attendee_id"],
        _ => &[],
    }
}

/// The CSV columns in the order of the workbook's sheet: the table's, except that with a
/// directory the person's columns lead on a people sheet.
fn workbook_order(table: &str, header: &[String], directory: bool) -> Vec<usize> {
    let at = |name: &str| header.iter().position(|c| c == name).unwrap();
    let lead: &[&str] = if directory {
        person_columns(table)
    } else {
        &[]
    };
    let rest = (0..header.len()).filter(|&j| !lead.contains(&header[j].as_str()));
    lead.iter().map(|c| at(c)).chain(rest).collect()
}

/// Every cell of the given sheets equals the CSV of the same table (the sheet's columns in
/// [`workbook_order`]).
fn assert_sheets_equal_csv(demo: &Demo, zh: bool, sheets: &[(&str, &str)]) {
    let mut wb = demo.workbook();
    for &(table, sheet_name) in sheets {
        let (header, rows) = demo.csv(table);
        let order = workbook_order(table, &header, demo.directory);
        let cells = sheet(&mut wb, sheet_name);
        assert_eq!(cells.len(), rows.len() + 1, "{table}: one row per CSV row");
        if !zh {
            let headers: Vec<String> = cells[0].iter().map(|c| c.to_string()).collect();
            let want: Vec<String> = order.iter().map(|&j| en_header(&header[j])).collect();
            assert_eq!(headers, want, "{table} headers");
        }
        for (i, (csv_row, xlsx_row)) in rows.iter().zip(&cells[1..]).enumerate() {
            for (k, &j) in order.iter().enumerate() {
                let cell = xlsx_row.get(k).cloned().unwrap_or(Data::Empty);
                assert_cell(
                    &header[j],
                    &csv_row[j],
                    &cell,
                    zh,
                    &format!("{table} row {}", i + 1),
                );
            }
        }
        let formulas = wb.worksheet_formula(sheet_name).unwrap();
        assert!(
            formulas.used_cells().all(|(_, _, f)| f.is_empty()),
            "{table}: no cell is a formula"
        );
    }
}

#[test]
fn every_cell_of_the_meetings_and_users_sheets_equals_the_csv_tables() {
    let demo = Demo::run("en", "csv,xlsx");
    assert_sheets_equal_csv(
        &demo,
        false,
        &[("meetings", "meetings"), ("users", "users")],
    );
    let mut wb = demo.workbook();
    assert_eq!(
        wb.sheet_names(),
        [
            "summary",
            "meetings",
            "users",
            "series_meetings",
            "series",
            "attendance"
        ]
    );
    // The title starting with = is a text cell, ids are text, the attendance sheet holds every
    // row of the attendance table.
    let meetings = sheet(&mut wb, "meetings");
    let row = meetings
        .iter()
        .find(|r| r[0] == Data::String(FORMULA_MEETING.into()))
        .expect("the meeting with a formula title");
    assert_eq!(row[1], Data::String(FORMULA_TITLE.into()));
    let (att_header, att_rows) = demo.csv("attendance");
    let attendance = sheet(&mut wb, "attendance");
    assert_eq!(attendance.len(), att_rows.len() + 1);
    for (i, (csv_row, xlsx_row)) in att_rows.iter().zip(&attendance[1..]).enumerate() {
        for (j, column) in att_header.iter().enumerate() {
            let cell = xlsx_row.get(j).cloned().unwrap_or(Data::Empty);
            assert_cell(
                column,
                &csv_row[j],
                &cell,
                false,
                &format!("attendance row {}", i + 1),
            );
        }
    }
}

#[test]
fn the_chinese_workbook_names_its_sheets_and_headers_in_chinese_and_keeps_the_numbers() {
    let demo = Demo::run("zh-CN", "csv,xlsx");
    assert_sheets_equal_csv(&demo, true, &[("meetings", "会议"), ("users", "参会人")]);
    let mut wb = demo.workbook();
    assert_eq!(
        wb.sheet_names(),
        [
            "概览",
            "会议",
            "参会人",
            "周期会议",
            "周期会议出勤",
            "出勤明细"
        ]
    );
    let meetings = sheet(&mut wb, "会议");
    let headers: Vec<String> = meetings[0].iter().map(|c| c.to_string()).collect();
    for h in [
        "会议ID",
        "会议主题",
        "开始时间 (Asia/Shanghai)",
        "出勤率",
        "迟到人数",
    ] {
        assert!(
            headers.contains(&h.to_string()),
            "{h} missing from {headers:?}"
        );
    }
    let summary = sheet(&mut wb, "概览");
    assert_eq!(summary[0][0], Data::String("会议出勤报告".into()));
    // The CSV keeps its English column names for machines.
    assert_eq!(demo.csv("meetings").0[0], "meetingid");
}

/// The `data-metric` / `data-value` pairs of a page, in order.
fn metrics(html: &str) -> BTreeMap<String, String> {
    html.split("data-metric=\"")
        .skip(1)
        .map(|rest| {
            let name = &rest[..rest.find('"').unwrap()];
            let value = rest.split("data-value=\"").nth(1).unwrap();
            (
                name.to_string(),
                value[..value.find('"').unwrap()].to_string(),
            )
        })
        .collect()
}

/// The headline the tables imply: sums over the ended meetings (the job's counted status),
/// cross-checked with the users table.
fn headline_from_tables(demo: &Demo) -> BTreeMap<String, String> {
    let (mh, mrows) = demo.csv("meetings");
    let col = |h: &[String], name: &str| h.iter().position(|c| c == name).unwrap();
    let ended: Vec<&Vec<String>> = mrows
        .iter()
        .filter(|r| r[col(&mh, "status")] == "ended")
        .collect();
    let sum = |name: &str| -> i64 {
        ended
            .iter()
            .map(|r| r[col(&mh, name)].parse::<i64>().unwrap())
            .sum()
    };
    let (invited, attended) = (sum("members_invited"), sum("members_attended"));
    let (uh, urows) = demo.csv("users");
    let users_sum = |name: &str| -> i64 {
        urows
            .iter()
            .filter(|r| r[col(&uh, "attendee_kind")] == "member")
            .map(|r| r[col(&uh, name)].parse::<i64>().unwrap())
            .sum()
    };
    assert_eq!(
        users_sum("meetings_invited"),
        invited,
        "users agree with meetings"
    );
    assert_eq!(users_sum("meetings_attended"), attended);
    assert_eq!(users_sum("late_count"), sum("late_count"));
    BTreeMap::from([
        ("meetings".into(), ended.len().to_string()),
        ("members_invited".into(), invited.to_string()),
        ("members_attended".into(), attended.to_string()),
        (
            "attendance_rate".into(),
            (attended as f64 / invited as f64).to_string(),
        ),
        (
            "total_attendance_s".into(),
            sum("total_attendance_s").to_string(),
        ),
        ("late_count".into(), sum("late_count").to_string()),
        (
            "left_early_count".into(),
            sum("left_early_count").to_string(),
        ),
    ])
}

fn assert_headline(html: &str, want: &BTreeMap<String, String>) {
    let got = metrics(html);
    for (name, value) in want {
        assert_eq!(got.get(name), Some(value), "data-metric {name}");
    }
    assert!(got.contains_key("avg_attended_ratio"));
}

#[test]
fn the_report_headline_equals_the_meetings_and_users_tables_in_both_languages() {
    for (language, words) in [
        (
            "zh-CN",
            ["出勤率", "每日出勤率", "缺席最多的成员", "lang=\"zh-CN\""],
        ),
        (
            "en",
            [
                "Attendance rate",
                "Daily attendance rate",
                "Members with the most absences",
                "lang=\"en\"",
            ],
        ),
    ] {
        let demo = Demo::run(language, "csv,html");
        let html = std::fs::read_to_string(demo.report()).unwrap();
        assert_headline(&html, &headline_from_tables(&demo));
        for w in words {
            assert!(html.contains(w), "{language}: {w} missing");
        }
        assert_eq!(html.matches("<svg").count(), 2, "two charts");
    }
}

#[test]
fn the_report_command_builds_the_page_from_the_store_without_network_nor_touching_the_tables() {
    let demo = Demo::run("zh-CN", "csv,parquet");
    // Every file of the three tables, with a digest of its bytes.
    let tables = |demo: &Demo| -> Vec<(String, u64)> {
        use std::hash::{Hash, Hasher};
        tree(&demo.out())
            .into_iter()
            .filter(|f| {
                ["attendance/", "meetings/", "users/"]
                    .iter()
                    .any(|t| f.starts_with(t))
            })
            .map(|f| {
                let mut h = std::collections::hash_map::DefaultHasher::new();
                std::fs::read(demo.out().join(&f)).unwrap().hash(&mut h);
                (f, h.finish())
            })
            .collect()
    };
    let before = tables(&demo);
    // The job now reads a WeCom that does not exist, with no credentials: the report needs
    // neither.
    let job = demo.write_job("offline", "en", "api");
    let o = run(bin().args(["report", "--job"]).arg(&job));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o).trim(), demo.report().display().to_string());
    let said = stderr(&o);
    assert!(
        said.contains("(no partition rewritten); wrote ") && said.contains("report.html"),
        "{said}"
    );
    assert_eq!(
        tables(&demo),
        before,
        "the tables and the store are untouched"
    );
    let html = std::fs::read_to_string(demo.report()).unwrap();
    assert_headline(&html, &headline_from_tables(&demo));
    assert_eq!(last_report(&demo.out())["command"], "report");

    // A window of one day: the page covers that day only.
    let o = run(bin()
        .args(["report", "--job"])
        .arg(&job)
        .args(["--date", "2026-11-17"]));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let day = demo
        .out()
        .join("reports/window=2026-11-17_2026-11-17/report.html");
    assert_eq!(stdout(&o).trim(), day.display().to_string());
    let m = metrics(&std::fs::read_to_string(&day).unwrap());
    let (mh, mrows) = demo.csv("meetings");
    let date = mh.iter().position(|c| c == "meeting_date").unwrap();
    let status = mh.iter().position(|c| c == "status").unwrap();
    let that_day = mrows
        .iter()
        .filter(|r| r[date] == "2026-11-17" && r[status] == "ended")
        .count();
    assert_eq!(m["meetings"], that_day.to_string());
}

#[test]
fn one_meeting_makes_a_readable_report_with_one_point() {
    let tmp = tempfile::tempdir().unwrap();
    let ids = tmp.path().join("ids.txt");
    std::fs::write(&ids, format!("{FORMULA_MEETING}\n")).unwrap();
    let job = write_job(
        tmp.path(),
        "one",
        &format!(
            "[source]\nkind = \"dir\"\ndir = {:?}\n[ids]\nfile = {ids:?}\n[output]\ndir = {:?}\n\
             formats = [\"html\", \"xlsx\"]\nlanguage = \"en\"\n",
            fixtures("demo"),
            tmp.path().join("out")
        ),
    );
    let o = run(bin().args(["run", "--job"]).arg(&job));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let files = tree(&tmp.path().join("out"));
    assert!(
        !files
            .iter()
            .any(|f| f.starts_with("meetings/") || f.ends_with(".csv")),
        "no partition without csv or parquet: {files:?}"
    );
    let page = files.iter().find(|f| f.ends_with("report.html")).unwrap();
    let html = std::fs::read_to_string(tmp.path().join("out").join(page)).unwrap();
    let m = metrics(&html);
    assert_eq!(m["meetings"], "1");
    assert_eq!(m["members_invited"], "9");
    assert_eq!(m["members_attended"], "6");
    assert_eq!(m["attendance_rate"], (6.0f64 / 9.0).to_string());
    // One point on the rate line, no cut-off note under any table.
    let rate_chart = &html[html.find("id=\"rate-chart\"").unwrap()..];
    let rate_chart = &rate_chart[..rate_chart.find("</figure>").unwrap()];
    assert_eq!(rate_chart.matches("<circle").count(), 1);
    assert!(!html.contains("Showing the top"));
}

#[test]
fn a_long_window_of_many_meetings_is_charted_by_week_and_cut_to_the_top_ten() {
    let tmp = tempfile::tempdir().unwrap();
    let bodies = tmp.path().join("bodies");
    let g = wecom_fake::generate::GenConfig {
        meetings: 400,
        attendees: 40,
        days: 120,
        first_day: NaiveDate::from_ymd_opt(2026, 1, 5).unwrap(),
        ..Default::default()
    };
    wecom_fake::generate::write_dir(&g, &bodies).unwrap();
    let job = write_job(
        tmp.path(),
        "many",
        &format!(
            "[source]\nkind = \"dir\"\ndir = {bodies:?}\n[ids]\nfile = {:?}\n[output]\ndir = {:?}\n\
             formats = [\"html\"]\nlanguage = \"en\"\n",
            bodies.join("ids.txt"),
            tmp.path().join("out")
        ),
    );
    let o = run(bin().args(["run", "--job"]).arg(&job));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let page = tree(&tmp.path().join("out"))
        .into_iter()
        .find(|f| f.ends_with("report.html"))
        .unwrap();
    let html = std::fs::read_to_string(tmp.path().join("out").join(page)).unwrap();
    assert!(
        html.contains("Weekly attendance rate"),
        "120 days are charted by week"
    );
    let rate_chart = &html[html.find("id=\"rate-chart\"").unwrap()..];
    let rate_chart = &rate_chart[..rate_chart.find("</figure>").unwrap()];
    assert!(
        rate_chart.matches("<circle").count() <= 18,
        "one point a week"
    );
    let lowest = &html[html.find("id=\"lowest-meetings\"").unwrap()..];
    assert_eq!(
        lowest[..lowest.find("</table>").unwrap()]
            .matches("<tr>")
            .count(),
        1 + 10
    );
    assert!(lowest.contains("Showing the top 10 of"), "the cut is said");
    assert!(
        html.len() < 200_000,
        "the page stays small: {} bytes",
        html.len()
    );
}

#[test]
fn the_demo_report_renders_in_headless_chromium_with_the_tables_numbers() {
    let demo = Demo::run("zh-CN", "csv,html");
    let page = demo.report();
    let dom = browser::dump_dom(&page);
    assert!(
        dom.contains("<html lang=\"zh-CN\">"),
        "the browser parsed the page"
    );
    assert_headline(&dom, &headline_from_tables(&demo));
    assert_eq!(dom.matches("<svg").count(), 2, "both charts are in the DOM");
    assert!(dom.contains("会议出勤报告"));

    let png = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("report-screenshots")
        .join("demo-report-zh-CN.png");
    let _ = std::fs::remove_file(&png);
    browser::screenshot(&page, &png, 1700);
    let bytes = std::fs::read(&png).unwrap();
    assert_eq!(browser::png_size(&bytes), (browser::WIDTH, 1700));
    assert!(
        bytes.len() > 50_000,
        "a page with text and charts, not a blank one"
    );
}

/// The first row of the report's table `id`, as HTML.
fn first_row<'a>(html: &'a str, id: &str) -> &'a str {
    let table = &html[html.find(&format!("id=\"{id}\"")).expect(id)..];
    let first = &table[table.find("<tbody>").unwrap()..];
    &first[..first.find("</tr>").unwrap()]
}

#[test]
fn with_a_directory_the_workbook_has_a_departments_sheet_and_the_report_ranks_departments_and_names_members()
 {
    let demo = Demo::shipped();
    let wb = demo.workbook();
    assert_eq!(
        wb.sheet_names(),
        [
            "概览",
            "会议",
            "参会人",
            "部门",
            "周期会议",
            "周期会议出勤",
            "出勤明细"
        ]
    );
    assert_sheets_equal_csv(
        &demo,
        true,
        &[
            ("meetings", "会议"),
            ("users", "参会人"),
            ("departments", "部门"),
        ],
    );
    let html = std::fs::read_to_string(demo.report()).unwrap();
    assert_headline(&html, &headline_from_tables(&demo));
    // The ranking starts with the department of the highest attendance rate.
    let (dh, drows) = demo.csv("departments");
    let col = |name: &str| dh.iter().position(|c| c == name).unwrap();
    let best = drows
        .iter()
        .max_by(|a, b| {
            let rate = |r: &Vec<String>| r[col("attendance_rate")].parse::<f64>().unwrap();
            rate(a).total_cmp(&rate(b))
        })
        .unwrap();
    let first = first_row(&html, "departments");
    assert!(first.contains(&best[col("department_name")]), "{first}");
    // Members are named, their userid under the name: the first of the most absent.
    let (uh, urows) = demo.csv("users");
    let col = |name: &str| uh.iter().position(|c| c == name).unwrap();
    let most_absent = urows
        .iter()
        .max_by(|a, b| {
            let absent = |r: &Vec<String>| r[col("meetings_absent")].parse::<i64>().unwrap();
            absent(a)
                .cmp(&absent(b))
                .then(b[col("userid")].cmp(&a[col("userid")]))
        })
        .unwrap();
    let (userid, name) = (&most_absent[col("userid")], &most_absent[col("name")]);
    assert!(!name.is_empty(), "the demo directory names {userid}");
    let first = first_row(&html, "most-absent");
    assert!(
        first.contains(&format!(
            "<bdi>{name}</bdi><bdi class=\"id\">{userid}</bdi>"
        )),
        "{first}"
    );
}

/// The header row of a sheet, as text.
fn header_row(wb: &mut Xlsx<std::io::BufReader<std::fs::File>>, name: &str) -> Vec<String> {
    sheet(wb, name)[0].iter().map(|c| c.to_string()).collect()
}

/// The CSV header of the demo's `attendance`, `users` and `series` tables: the tables' order,
/// names and departments after the figures.
const DEMO_CSV_HEADERS: [(&str, &str); 3] = [
    (
        "attendance",
        "meetingid,meeting_title,meeting_start,meeting_date,meeting_duration_s,meeting_status,\
         admin_userid,main_department,attendee_kind,attendee_id,external_userid,attend_status,\
         attended,first_join_time,last_quit_time,total_join_count,cumulative_time_s,late_s,\
         left_early_s,attended_ratio,is_host,is_late,is_left_early,meeting_status_code,\
         attendee_name,attendee_department_id,attendee_department,sub_meetingid,series_title",
    ),
    (
        "users",
        "userid,attendee_kind,meetings_invited,meetings_attended,meetings_absent,\
         attendance_rate,total_attendance_s,avg_attendance_s,avg_attended_ratio,late_count,\
         left_early_count,first_meeting_start,last_meeting_start,name,department_id,department",
    ),
    (
        "series",
        "meetingid,series_title,attendee_kind,attendee_id,occurrences_invited,\
         occurrences_attended,attendance_rate,late_count,avg_attended_ratio,last_attended_date,\
         absences_in_a_row,name,department_id,department",
    ),
];

#[test]
fn with_a_directory_the_workbooks_people_sheets_lead_with_name_and_department_and_csv_and_parquet_keep_their_order()
 {
    let demo = Demo::shipped();
    let mut wb = demo.workbook();
    assert_eq!(
        header_row(&mut wb, "参会人"),
        [
            "姓名",
            "部门",
            "部门ID",
            "用户ID",
            "参会人类型",
            "应参会次数",
            "出席次数",
            "缺席次数",
            "个人出勤率",
            "累计参会时长（时:分:秒）",
            "平均参会时长（时:分:秒）",
            "平均参会时长占比",
            "迟到次数",
            "早退次数",
            "首次会议时间 (Asia/Shanghai)",
            "最近会议时间 (Asia/Shanghai)",
        ]
    );
    assert_eq!(
        header_row(&mut wb, "出勤明细")[..6],
        [
            "参会人姓名",
            "参会人部门",
            "参会人部门ID",
            "参会人ID",
            "会议ID",
            "会议主题"
        ]
    );
    assert_eq!(
        header_row(&mut wb, "周期会议出勤")[..6],
        [
            "姓名",
            "部门",
            "部门ID",
            "参会人ID",
            "会议ID",
            "周期会议主题"
        ]
    );
    // Every cell in its place: the rest of the columns follow in the tables' order.
    assert_sheets_equal_csv(
        &demo,
        true,
        &[("attendance", "出勤明细"), ("series", "周期会议出勤")],
    );
    // The meetings sheet (one row a meeting) and the departments sheet keep the tables' order.
    assert_eq!(header_row(&mut wb, "会议")[..2], ["会议ID", "会议主题"]);
    assert_eq!(header_row(&mut wb, "部门")[..2], ["部门ID", "部门名称"]);
    // CSV and Parquet keep the tables' order.
    use polars::prelude::{ParquetReader, SerReader};
    for (table, want) in DEMO_CSV_HEADERS {
        let want: Vec<String> = want.split(',').map(String::from).collect();
        assert_eq!(demo.csv(table).0, want, "{table}.csv");
        let part = tree(&demo.out().join(table))
            .into_iter()
            .find(|f| f.ends_with("part-0.parquet"))
            .unwrap();
        let f = std::fs::File::open(demo.out().join(table).join(part)).unwrap();
        let df = ParquetReader::new(f).finish().unwrap();
        let names: Vec<String> = df
            .get_column_names()
            .iter()
            .map(|c| c.to_string())
            .collect();
        assert_eq!(names, want, "{table}.parquet");
    }
}

#[test]
fn without_a_directory_the_workbooks_people_sheets_keep_the_tables_column_order() {
    let demo = Demo::run("en", "csv,xlsx");
    let mut wb = demo.workbook();
    for (table, want) in DEMO_CSV_HEADERS {
        let want: Vec<String> = want.split(',').map(en_header).collect();
        assert_eq!(header_row(&mut wb, table), want, "{table} sheet");
    }
}

#[test]
fn a_title_longer_than_an_excel_cell_is_cut_with_an_ellipsis_and_counted_and_the_run_succeeds() {
    let long = "长".repeat(40_000);
    let demo = Demo::titled("en", &long);
    let o = demo.run_formats("csv,xlsx");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let mut wb = demo.workbook();
    let meetings = sheet(&mut wb, "meetings");
    let row = meetings
        .iter()
        .find(|r| r[0] == Data::String(FORMULA_MEETING.into()))
        .expect("the meeting with the long title");
    let Data::String(cut) = &row[1] else {
        panic!("a text cell, not {:?}", row[1]);
    };
    assert_eq!(cut.encode_utf16().count(), 32_767, "Excel's limit exactly");
    assert!(
        cut.ends_with('…') && cut.starts_with("长长长"),
        "{}",
        &cut[..30]
    );
    // The title is in one meetings cell and in the attendance row of each of its attendees;
    // the CSV keeps it whole.
    let (header, rows) = demo.csv("attendance");
    let id = header.iter().position(|c| c == "meetingid").unwrap();
    let title = header.iter().position(|c| c == "meeting_title").unwrap();
    let its_rows: Vec<_> = rows.iter().filter(|r| r[id] == FORMULA_MEETING).collect();
    assert!(!its_rows.is_empty());
    assert!(its_rows.iter().all(|r| r[title] == long));
    let report = last_report(&demo.out());
    assert_eq!(
        report["quality"]["cells_cut"],
        1 + its_rows.len(),
        "{}",
        report["quality"]
    );
    let summary = sheet(&mut wb, "summary");
    assert!(
        summary
            .iter()
            .any(|r| r[0].to_string().starts_with(&format!(
                "{} text cells were longer than Excel's",
                1 + its_rows.len()
            ))),
        "the summary sheet says so"
    );
}

#[test]
fn a_workbook_that_cannot_be_written_leaves_the_tables_and_the_run_report_and_exits_2() {
    let demo = Demo::titled("en", FORMULA_TITLE);
    // A folder where the workbook should go: it cannot be saved there.
    let taken = demo
        .out()
        .join("workbooks")
        .join(WINDOW)
        .join("attendance.xlsx");
    std::fs::create_dir_all(&taken).unwrap();
    let o = demo.run_formats("csv,xlsx,html");
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(taken.is_dir(), "the folder is left as it was");
    let (_, meetings) = demo.csv("meetings");
    // 24 meetings, 7 occurrences of the weekly series and its deleted one.
    assert_eq!(meetings.len(), 32, "every meeting is in the tables");
    assert!(demo.report().exists(), "the HTML report is written too");
    let report = last_report(&demo.out());
    let failed = report["files_failed"].as_array().expect("a list");
    assert_eq!(failed.len(), 1, "{report}");
    assert_eq!(failed[0]["path"], taken.display().to_string());
    let reason = failed[0]["reason"].as_str().unwrap();
    assert!(reason.starts_with("writing the workbook: "), "{reason}");
    assert!(report["fatal"].is_null());
    assert!(stderr(&o).contains("NOT written"), "{}", stderr(&o));
}

#[test]
fn the_figures_docs_reports_md_quotes_are_the_demos() {
    let docs = std::fs::read_to_string(repo().join("docs/reports.md")).unwrap();
    let quoted: Vec<&str> = docs
        .lines()
        .filter(|l| l.starts_with("data-metric=\""))
        .collect();
    assert_eq!(quoted.len(), 8, "the eight headline numbers are quoted");
    let demo = Demo::shipped();
    let html = std::fs::read_to_string(demo.report()).unwrap();
    for line in quoted {
        assert!(
            html.contains(line),
            "docs/reports.md quotes {line}, the demo's report does not have it"
        );
    }
}
