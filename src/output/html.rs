//! The report for managers: `reports/window=FROM_TO/report.html`, one self-contained page —
//! inline CSS and SVG, no script, nothing fetched (its Content-Security-Policy forbids it) —
//! so it opens from a mail attachment.
//!
//! The page is rendered with minijinja from `templates/report.html` and an [`Overview`]:
//! first the headline numbers, each carrying `data-metric="NAME" data-value="RAW"` (English
//! names, unrounded values) so tools can read them; then the attendance rate over the window
//! and the distribution of the attended ratio; the departments ranking when a directory is
//! known; the recurring meetings ranked by attendance and the members with the longest run of
//! absences from theirs, when the window has recurring meetings; the members with the most
//! absences and the most late arrivals and the meetings with the lowest attendance, each cut
//! to the top [`TOP_N`] with a note.
//!
//! Text from WeCom (titles, names, department paths, ids) is shown in `<bdi>` elements: a
//! right-to-left override left open in a title cannot flip the id printed beside it, nor
//! anything after it.
//!
//! [`TOP_N`]: crate::output::overview::TOP_N

use crate::output::charts;
use crate::output::labels::Labels;
use crate::output::overview::{
    AbsenceRow, DepartmentRow, MeetingRow, Meta, Overview, SeriesRow, Top, UserRow,
};
use crate::output::place::Place;
use anyhow::{Context, Result};
use minijinja::value::Serde;
use minijinja::{Environment, UndefinedBehavior, Value};
use serde::Serialize;

const TEMPLATE_NAME: &str = "report.html";
const TEMPLATE: &str = include_str!("templates/report.html");

#[derive(Serialize)]
struct Page {
    lang: &'static str,
    title: &'static str,
    job: String,
    window: String,
    meta: Vec<MetaItem>,
    headline_label: &'static str,
    headline: Vec<Metric>,
    counted_note: String,
    /// The message shown instead of the charts when no meeting counts.
    empty: Option<&'static str>,
    rate_title: &'static str,
    rate_svg: Value,
    ratio_title: &'static str,
    ratio_svg: Value,
    /// The departments ranking, full width, when a directory is known.
    departments: Option<Table>,
    /// The recurring meetings ranked and the members' runs of absences, side by side (none
    /// when the window has no recurring meeting).
    recurring: Vec<Table>,
    /// The members' lists, side by side.
    tables: Vec<Table>,
    /// The meetings with the lowest attendance, full width.
    meetings: Table,
    footer: &'static str,
}

#[derive(Serialize)]
struct MetaItem {
    label: &'static str,
    value: String,
}

/// A headline number: `name` and `raw` are for machines, `label` and `text` for people.
#[derive(Serialize)]
struct Metric {
    name: &'static str,
    label: &'static str,
    raw: String,
    text: String,
    /// The figure the eye should land on first.
    key: bool,
}

#[derive(Serialize)]
struct Table {
    id: &'static str,
    title: &'static str,
    headers: Vec<Header>,
    span: usize,
    rows: Vec<Vec<Cell>>,
    note: Option<String>,
    /// Shown when there are no rows.
    nothing: &'static str,
}

impl Table {
    /// A section listing `top`'s rows, each made by `row` from its rank (from 1), under
    /// `headers` (a text, and whether the column holds figures); with a note when the list is
    /// cut to its top and `nothing` when it is empty.
    fn list<T>(
        id: &'static str,
        title: &'static str,
        headers: &[(&'static str, bool)],
        top: &Top<T>,
        l: &Labels,
        nothing: &'static str,
        row: impl Fn(usize, &T) -> Vec<Cell>,
    ) -> Table {
        Table {
            id,
            title,
            headers: headers
                .iter()
                .map(|&(text, num)| Header { text, num })
                .collect(),
            span: headers.len(),
            rows: (1..).zip(&top.rows).map(|(rank, r)| row(rank, r)).collect(),
            note: (top.total > top.rows.len()).then(|| l.top_note(top.rows.len(), top.total)),
            nothing,
        }
    }
}

#[derive(Serialize)]
struct Header {
    text: &'static str,
    num: bool,
}

#[derive(Serialize)]
struct Cell {
    text: String,
    /// A second, smaller line (an id under a name or a title).
    sub: Option<String>,
    num: bool,
    nowrap: bool,
    /// A rate drawn as a bar, in per cent.
    bar: Option<f64>,
}

impl Cell {
    fn text(text: impl Into<String>) -> Self {
        Cell {
            text: text.into(),
            sub: None,
            num: false,
            nowrap: false,
            bar: None,
        }
    }

    /// A text with a second, smaller line under it (an id under a name or a title).
    fn with_sub(text: impl Into<String>, sub: Option<String>) -> Self {
        Cell {
            sub,
            ..Cell::text(text)
        }
    }

    /// A member: the name with the id under it, or the id alone when the name is unknown.
    fn person(name: Option<&String>, id: &str) -> Self {
        match name {
            Some(name) => Cell::with_sub(name.clone(), Some(id.to_string())),
            None => Cell::text(id),
        }
    }

    /// A text kept on one line (a date, a time).
    fn nowrap(text: String) -> Self {
        Cell {
            nowrap: true,
            ..Cell::text(text)
        }
    }

    fn num(text: String) -> Self {
        Cell {
            num: true,
            ..Cell::text(text)
        }
    }

    fn rate(rate: Option<f64>) -> Self {
        Cell {
            bar: rate.map(|r| (r * 100.0).clamp(0.0, 100.0)),
            ..Cell::num(percent(rate))
        }
    }
}

/// Renders the page.
pub fn render(o: &Overview, meta: &Meta) -> Result<String> {
    let l = meta.labels;
    let h = &o.headline;
    let page = Page {
        lang: l.language.tag(),
        title: l.report_title,
        job: meta.job.clone(),
        window: meta.window_text(),
        meta: vec![
            MetaItem {
                label: l.job,
                value: meta.job.clone(),
            },
            MetaItem {
                label: l.window,
                value: meta.window_text(),
            },
            MetaItem {
                label: l.time_zone,
                value: meta.tz.name().to_string(),
            },
            MetaItem {
                label: l.generated_at,
                value: meta.generated_text(),
            },
        ],
        headline_label: l.headline,
        headline: vec![
            metric(
                "meetings",
                l.meetings,
                h.meetings.to_string(),
                group(h.meetings as i64),
            ),
            metric(
                "members_invited",
                l.members_invited,
                h.members_invited.to_string(),
                group(h.members_invited),
            ),
            metric(
                "members_attended",
                l.members_attended,
                h.members_attended.to_string(),
                group(h.members_attended),
            ),
            Metric {
                key: true,
                ..metric(
                    "attendance_rate",
                    l.attendance_rate,
                    raw_float(h.attendance_rate),
                    percent(h.attendance_rate),
                )
            },
            metric(
                "avg_attended_ratio",
                l.avg_attended_ratio,
                raw_float(h.avg_attended_ratio),
                percent(h.avg_attended_ratio),
            ),
            metric(
                "total_attendance_s",
                l.total_attendance_h,
                h.total_attendance_s.to_string(),
                hours(h.total_attendance_s),
            ),
            metric(
                "late_count",
                l.late_arrivals,
                h.late.to_string(),
                group(h.late),
            ),
            metric(
                "left_early_count",
                l.early_leavers,
                h.left_early.to_string(),
                group(h.left_early),
            ),
        ],
        counted_note: l.counted_note(
            &o.statuses,
            h.meetings as usize,
            h.meetings_in_window as usize,
        ),
        empty: (h.meetings == 0).then_some(l.no_meetings),
        rate_title: if o.weekly {
            l.weekly_rate
        } else {
            l.daily_rate
        },
        rate_svg: Value::from_safe_string(charts::rate_line(&o.series)?),
        ratio_title: l.ratio_distribution,
        ratio_svg: Value::from_safe_string(charts::ratio_histogram(
            &o.ratio_bins,
            l.ratio_axis,
            l.members_axis,
        )?),
        departments: o.departments.as_ref().map(|d| departments(d, l)),
        recurring: o
            .recurring
            .as_ref()
            .map(|r| vec![series_table(&r.ranked, l), absences_table(&r.absences, l)])
            .unwrap_or_default(),
        tables: vec![
            users_table(
                "most-absent",
                l.most_absent,
                l.absences,
                &o.most_absent,
                l,
                |u| u.absent,
            ),
            users_table("most-late", l.most_late, l.lates, &o.most_late, l, |u| {
                u.late
            }),
        ],
        meetings: meetings_table(o, meta),
        footer: l.footer,
    };
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.add_template(TEMPLATE_NAME, TEMPLATE)?;
    let html = env
        .get_template(TEMPLATE_NAME)?
        .render(Value::from(Serde(&page)))
        .context("rendering the report template")?;
    Ok(html)
}

/// Renders the page and writes it, whole, as `key` in `place`.
pub fn write(place: &dyn Place, key: &str, o: &Overview, meta: &Meta) -> Result<()> {
    place.put_bytes(key, render(o, meta)?.as_bytes())
}

fn metric(name: &'static str, label: &'static str, raw: String, text: String) -> Metric {
    Metric {
        name,
        label,
        raw,
        text,
        key: false,
    }
}

fn departments(d: &Top<DepartmentRow>, l: &'static Labels) -> Table {
    let headers = [
        ("#", true),
        (l.department, false),
        (l.invited, true),
        (l.attended, true),
        (l.attendance_rate, true),
    ];
    let count = |n: Option<i64>| Cell::num(n.map_or_else(|| "–".to_string(), group));
    let row = |rank: usize, r: &DepartmentRow| {
        vec![
            Cell::num(rank.to_string()),
            Cell::with_sub(r.name.clone(), r.path.clone().filter(|p| *p != r.name)),
            count(r.invited),
            count(r.attended),
            Cell::rate(r.rate),
        ]
    };
    let (id, title) = ("departments", l.departments_ranked);
    Table::list(id, title, &headers, d, l, l.no_department_members, row)
}

fn series_table(top: &Top<SeriesRow>, l: &'static Labels) -> Table {
    let headers = [
        ("#", true),
        (l.series, false),
        (l.held, true),
        (l.invited, true),
        (l.attended, true),
        (l.attendance_rate, true),
    ];
    let row = |rank: usize, r: &SeriesRow| {
        vec![
            Cell::num(rank.to_string()),
            Cell::with_sub(
                r.title.clone().unwrap_or_default(),
                Some(r.meetingid.clone()),
            ),
            Cell::num(group(r.held)),
            Cell::num(group(r.invited)),
            Cell::num(group(r.attended)),
            Cell::rate(r.rate),
        ]
    };
    let (id, title) = ("series-ranked", l.series_ranked);
    Table::list(id, title, &headers, top, l, l.nothing_to_show, row)
}

/// The members who stopped coming: their name (or id, or pseudonym), the series, the run.
fn absences_table(top: &Top<AbsenceRow>, l: &'static Labels) -> Table {
    let headers = [
        (l.member, false),
        (l.series, false),
        (l.absences_in_a_row, true),
        (l.attended, true),
        (l.invited, true),
        (l.last_attended, false),
    ];
    let row = |_, r: &AbsenceRow| {
        vec![
            Cell::person(r.name.as_ref(), &r.attendee_id),
            Cell::text(r.series_title.clone().unwrap_or(r.meetingid.clone())),
            Cell::num(group(r.absences_in_a_row)),
            Cell::num(group(r.attended)),
            Cell::num(group(r.invited)),
            Cell::nowrap(
                r.last_attended
                    .map_or_else(|| "–".to_string(), |d| d.to_string()),
            ),
        ]
    };
    let (id, title) = ("series-absences", l.longest_absences);
    Table::list(id, title, &headers, top, l, l.nothing_to_show, row)
}

fn users_table(
    id: &'static str,
    title: &'static str,
    count_header: &'static str,
    top: &Top<UserRow>,
    l: &Labels,
    count: fn(&UserRow) -> i64,
) -> Table {
    let headers = [
        (l.member, false),
        (count_header, true),
        (l.invited, true),
        (l.attendance_rate, true),
    ];
    let row = |_, u: &UserRow| {
        vec![
            Cell::person(u.name.as_ref(), &u.userid),
            Cell::num(group(count(u))),
            Cell::num(group(u.invited)),
            Cell::rate(u.rate),
        ]
    };
    Table::list(id, title, &headers, top, l, l.nothing_to_show, row)
}

fn meetings_table(o: &Overview, meta: &Meta) -> Table {
    let l = meta.labels;
    let headers = [
        (l.meeting, false),
        (l.start, false),
        (l.invited, true),
        (l.attended, true),
        (l.attendance_rate, true),
    ];
    let row = |_, m: &MeetingRow| {
        let start = m
            .start_ms
            .and_then(chrono::DateTime::from_timestamp_millis)
            .map(|t| {
                t.with_timezone(&meta.tz)
                    .format("%Y-%m-%d %H:%M")
                    .to_string()
            })
            .unwrap_or_default();
        vec![
            Cell::with_sub(m.title.clone(), Some(m.meetingid.clone())),
            Cell::nowrap(start),
            Cell::num(group(m.invited)),
            Cell::num(group(m.attended)),
            Cell::rate(m.rate),
        ]
    };
    let (id, title) = ("lowest-meetings", l.lowest_meetings);
    Table::list(
        id,
        title,
        &headers,
        &o.lowest_meetings,
        l,
        l.nothing_to_show,
        row,
    )
}

/// The unrounded value for `data-value`: Rust's shortest round-trip form; empty when null.
fn raw_float(v: Option<f64>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

/// `85.7%`; `–` when null.
fn percent(v: Option<f64>) -> String {
    v.map_or_else(|| "–".to_string(), |v| format!("{:.1}%", v * 100.0))
}

/// Seconds as hours with one decimal and thousands separators: `1,234.5`.
fn hours(seconds: i64) -> String {
    let tenths = (seconds as f64 / 360.0).round() as i64;
    format!("{}.{}", group(tenths / 10), (tenths % 10).abs())
}

/// An integer with thousands separators: `1,084,048`.
fn group(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::job::Language;
    use crate::config::window::DateRange;
    use crate::output::overview::{
        Collector, DepartmentRow as Dept, Headline, MeetingRow, Point, RATIO_BINS,
    };
    use chrono::NaiveDate;

    fn meta(language: Language) -> Meta {
        let d = NaiveDate::from_ymd_opt(2026, 11, 16).unwrap();
        Meta {
            job: "demo".into(),
            window: DateRange::new(d, d).unwrap(),
            tz: chrono_tz::Asia::Shanghai,
            generated_at: chrono::Utc::now(),
            labels: Labels::of(language),
        }
    }

    fn one_meeting() -> Overview {
        Overview {
            headline: Headline {
                meetings: 1,
                meetings_in_window: 1,
                members_invited: 3,
                members_attended: 2,
                attendance_rate: Some(2.0 / 3.0),
                avg_attended_ratio: Some(0.8333333333333334),
                total_attendance_s: 7560,
                late: 1,
                left_early: 1,
            },
            statuses: vec!["ended".into()],
            series: vec![Point {
                start: NaiveDate::from_ymd_opt(2026, 11, 16).unwrap(),
                invited: 3,
                attended: 2,
            }],
            weekly: false,
            ratio_bins: [0, 0, 0, 0, 0, 0, 1, 0, 0, 1],
            lowest_meetings: Top {
                rows: vec![MeetingRow {
                    meetingid: "m1".into(),
                    title: "<script>alert(1)</script>周会".into(),
                    start_ms: Some(1_794_794_400_000),
                    invited: 3,
                    attended: 2,
                    rate: Some(2.0 / 3.0),
                }],
                total: 1,
            },
            most_absent: Top::default(),
            most_late: Top::default(),
            departments: None,
            recurring: None,
        }
    }

    #[test]
    fn headline_numbers_carry_their_english_name_and_unrounded_value() {
        let html = render(&one_meeting(), &meta(Language::ZhCn)).unwrap();
        for needle in [
            r#"data-metric="meetings" data-value="1">1<"#,
            r#"data-metric="members_invited" data-value="3">3<"#,
            r#"data-metric="attendance_rate" data-value="0.6666666666666666">66.7%<"#,
            r#"data-metric="total_attendance_s" data-value="7560">2.1<"#,
            "出勤率",
            "每日出勤率",
            r#"<html lang="zh-CN">"#,
        ] {
            assert!(html.contains(needle), "{needle} missing");
        }
    }

    #[test]
    fn the_page_is_self_contained_and_escapes_what_it_shows() {
        let html = render(&one_meeting(), &meta(Language::En)).unwrap();
        assert!(!html.contains("<script"), "a title is text, never markup");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;周会"));
        for fetch in ["src=", "href=", "url(", "@import", "@font-face"] {
            assert!(!html.contains(fetch), "{fetch} would fetch something");
        }
        assert!(html.contains("default-src 'none'"));
        assert!(html.contains("Daily attendance rate") && html.contains("<svg"));
        assert!(
            !html.contains("id=\"departments\""),
            "no directory, no ranking"
        );
    }

    #[test]
    fn a_departments_frame_adds_the_ranking_and_an_empty_window_says_so() {
        let mut o = one_meeting();
        o.departments = Some(Top {
            rows: vec![Dept {
                name: "研发部".into(),
                path: Some("总部/研发部".into()),
                invited: Some(10),
                attended: Some(9),
                rate: Some(0.9),
            }],
            total: 12,
        });
        let html = render(&o, &meta(Language::En)).unwrap();
        assert!(html.contains("id=\"departments\"") && html.contains("研发部"));
        assert!(html.contains("Showing the top 1 of 12"));

        let empty = Collector::new(&[3], meta(Language::En).window)
            .finish()
            .unwrap();
        assert_eq!(empty.ratio_bins, [0; RATIO_BINS]);
        let html = render(&empty, &meta(Language::En)).unwrap();
        assert!(html.contains("No counted meeting in this window."));
        assert!(html.contains(r#"data-metric="attendance_rate" data-value="""#));
    }

    /// Whether every `c` of `html` is inside a `<bdi>` element.
    fn isolated(html: &str, c: char) -> bool {
        html.match_indices(c).all(|(i, _)| {
            let before = &html[..i];
            let open = before.rfind("<bdi");
            open.is_some() && before.rfind("</bdi>") < open && html[i..].find("</bdi>").is_some()
        })
    }

    #[test]
    fn an_unterminated_right_to_left_override_in_a_title_or_name_is_isolated_from_the_id_beside_it()
    {
        const RLO: char = '\u{202E}';
        let mut o = one_meeting();
        o.lowest_meetings.rows[0].title = format!("周会{RLO}evil");
        o.most_absent = Top {
            rows: vec![UserRow {
                userid: "zhangsan".into(),
                name: Some(format!("{RLO}张三")),
                invited: 2,
                absent: 1,
                late: 0,
                rate: Some(0.5),
            }],
            total: 1,
        };
        let mut m = meta(Language::En);
        m.job = format!("job{RLO}");
        let html = render(&o, &m).unwrap();
        assert_eq!(
            html.matches(RLO).count(),
            4,
            "title, name, job in the meta and <title>"
        );
        // The <title> is plain text (no element can isolate there); everything shown in the page
        // is in a <bdi>.
        let body = &html[html.find("<body>").unwrap()..];
        assert!(isolated(body, RLO), "{body}");
        assert!(body.contains(&format!(
            "<bdi>周会{RLO}evil</bdi><bdi class=\"id\">m1</bdi>"
        )));
        assert!(body.contains(&format!(
            "<bdi>{RLO}张三</bdi><bdi class=\"id\">zhangsan</bdi>"
        )));
    }

    #[test]
    fn an_empty_departments_ranking_says_no_member_sits_in_a_department() {
        let mut o = one_meeting();
        o.departments = Some(Top::default());
        let html = render(&o, &meta(Language::En)).unwrap();
        assert!(html.contains("No member of this window sits in a department of the directory."));
    }

    #[test]
    fn recurring_meetings_add_their_ranking_and_the_members_who_stopped_coming() {
        use crate::output::overview::{AbsenceRow, Recurring, SeriesRow};
        let html = render(&one_meeting(), &meta(Language::En)).unwrap();
        assert!(
            !html.contains("id=\"series-ranked\""),
            "no series, no section"
        );
        let mut o = one_meeting();
        o.recurring = Some(Recurring {
            ranked: Top {
                rows: vec![SeriesRow {
                    meetingid: "S1".into(),
                    title: Some("产品周会".into()),
                    held: 6,
                    invited: 18,
                    attended: 12,
                    rate: Some(12.0 / 18.0),
                }],
                total: 1,
            },
            absences: Top {
                rows: vec![AbsenceRow {
                    series_title: Some("产品周会".into()),
                    meetingid: "S1".into(),
                    attendee_id: "b".into(),
                    name: Some("李四".into()),
                    absences_in_a_row: 2,
                    attended: 4,
                    invited: 6,
                    last_attended: NaiveDate::from_ymd_opt(2026, 11, 2),
                }],
                total: 1,
            },
        });
        let html = render(&o, &meta(Language::ZhCn)).unwrap();
        for needle in [
            "id=\"series-ranked\"",
            "id=\"series-absences\"",
            "周期会议出勤率排名",
            "李四",
            "2026-11-02",
            "66.7%",
        ] {
            assert!(html.contains(needle), "{needle} missing");
        }
    }

    #[test]
    fn numbers_are_grouped_for_reading() {
        assert_eq!(group(1_084_048), "1,084,048");
        assert_eq!(group(999), "999");
        assert_eq!(group(-1234), "-1,234");
        assert_eq!(hours(7560), "2.1");
        assert_eq!(hours(3_600 * 1234 + 1800), "1,234.5");
        assert_eq!(percent(Some(2.0 / 3.0)), "66.7%");
        assert_eq!(percent(None), "–");
    }
}
