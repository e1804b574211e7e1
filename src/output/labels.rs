//! The words of the workbook and the report in the reader's language (`[output] language`):
//! sheet names, column headers, status and kind values, headline labels, chart titles and
//! notes. CSV and Parquet never pass through here: their column names stay English and stable
//! for machines, and so do the `data-metric` names of the report.
//!
//! English headers are the tables' own column names, so a reader of the English workbook can
//! look a column up in `docs/tables.md`; Chinese ones are what HR teams call them.

use crate::config::job::Language;
use crate::transform::tables::Table;

/// The fixed texts of one language.
#[derive(Debug)]
pub struct Labels {
    pub language: Language,
    pub sheet_summary: &'static str,
    pub sheet_departments: &'static str,
    pub report_title: &'static str,
    pub job: &'static str,
    pub window: &'static str,
    pub time_zone: &'static str,
    pub generated_at: &'static str,
    pub counted: &'static str,
    pub meetings: &'static str,
    pub members_invited: &'static str,
    pub members_attended: &'static str,
    pub attendance_rate: &'static str,
    pub avg_attended_ratio: &'static str,
    pub total_attendance_h: &'static str,
    pub late_arrivals: &'static str,
    pub early_leavers: &'static str,
    pub daily_rate: &'static str,
    pub weekly_rate: &'static str,
    pub ratio_distribution: &'static str,
    pub ratio_axis: &'static str,
    pub members_axis: &'static str,
    pub departments_ranked: &'static str,
    pub most_absent: &'static str,
    pub most_late: &'static str,
    pub lowest_meetings: &'static str,
    pub series_ranked: &'static str,
    pub longest_absences: &'static str,
    pub series: &'static str,
    pub held: &'static str,
    pub absences_in_a_row: &'static str,
    pub last_attended: &'static str,
    pub department: &'static str,
    pub member: &'static str,
    pub meeting: &'static str,
    pub start: &'static str,
    pub invited: &'static str,
    pub attended: &'static str,
    pub absences: &'static str,
    pub lates: &'static str,
    pub nothing_to_show: &'static str,
    /// The departments ranking when no member of the window sits in a known department.
    pub no_department_members: &'static str,
    pub no_meetings: &'static str,
    pub notes: &'static str,
    pub headline: &'static str,
    pub footer: &'static str,
}

const ZH_CN: Labels = Labels {
    language: Language::ZhCn,
    sheet_summary: "概览",
    sheet_departments: "部门",
    report_title: "会议出勤报告",
    job: "任务",
    window: "时间范围",
    time_zone: "时区",
    generated_at: "生成时间",
    counted: "统计口径",
    meetings: "会议场次",
    members_invited: "应到人次",
    members_attended: "实到人次",
    attendance_rate: "出勤率",
    avg_attended_ratio: "平均参会时长占比",
    total_attendance_h: "总参会时长（小时）",
    late_arrivals: "迟到人次",
    early_leavers: "早退人次",
    daily_rate: "每日出勤率",
    weekly_rate: "每周出勤率",
    ratio_distribution: "参会时长占比分布（出席的成员）",
    ratio_axis: "参会时长占比",
    members_axis: "人次",
    departments_ranked: "部门出勤率排名",
    most_absent: "缺席最多的成员",
    most_late: "迟到最多的成员",
    lowest_meetings: "出勤率最低的会议",
    series_ranked: "周期会议出勤率排名",
    longest_absences: "周期会议连续缺席最久的成员",
    series: "周期会议",
    held: "已举行场次",
    absences_in_a_row: "连续缺席场次",
    last_attended: "最近出席",
    department: "部门",
    member: "成员",
    meeting: "会议",
    start: "开始时间",
    invited: "应到",
    attended: "实到",
    absences: "缺席次数",
    lates: "迟到次数",
    nothing_to_show: "无",
    no_department_members: "这个时间范围内的成员都不在通讯录的部门中。",
    no_meetings: "这个时间范围内没有计入统计的会议。",
    notes: "说明",
    headline: "关键指标",
    footer: "由 wecom-attendance 根据企业微信会议数据生成；数字与同一次运行写出的 meetings 和 users 表一致。",
};

const EN: Labels = Labels {
    language: Language::En,
    sheet_summary: "summary",
    sheet_departments: "departments",
    report_title: "Meeting attendance report",
    job: "Job",
    window: "Window",
    time_zone: "Time zone",
    generated_at: "Generated at",
    counted: "Counted",
    meetings: "Meetings",
    members_invited: "Members invited",
    members_attended: "Members attended",
    attendance_rate: "Attendance rate",
    avg_attended_ratio: "Average attended ratio",
    total_attendance_h: "Total attendance (hours)",
    late_arrivals: "Late arrivals",
    early_leavers: "Early leavers",
    daily_rate: "Daily attendance rate",
    weekly_rate: "Weekly attendance rate",
    ratio_distribution: "Distribution of attended ratio (members who attended)",
    ratio_axis: "attended ratio",
    members_axis: "attendances",
    departments_ranked: "Departments by attendance rate",
    most_absent: "Members with the most absences",
    most_late: "Members with the most late arrivals",
    lowest_meetings: "Meetings with the lowest attendance",
    series_ranked: "Recurring meetings by attendance rate",
    longest_absences: "Members absent from their recurring meetings the longest",
    series: "Recurring meeting",
    held: "Held",
    absences_in_a_row: "Absences in a row",
    last_attended: "Last attended",
    department: "Department",
    member: "Member",
    meeting: "Meeting",
    start: "Start",
    invited: "Invited",
    attended: "Attended",
    absences: "Absences",
    lates: "Late arrivals",
    nothing_to_show: "none",
    no_department_members: "No member of this window sits in a department of the directory.",
    no_meetings: "No counted meeting in this window.",
    notes: "Notes",
    headline: "Headline",
    footer: "Made by wecom-attendance from WeCom meeting data; the figures equal the meetings and users tables written by the same run.",
};

impl Labels {
    pub fn of(language: Language) -> &'static Labels {
        match language {
            Language::ZhCn => &ZH_CN,
            Language::En => &EN,
        }
    }

    fn zh(&self) -> bool {
        self.language == Language::ZhCn
    }

    /// The sheet of a table; continuation sheets add ` (2)`, ` (3)`, ….
    pub fn sheet(&self, table: Table) -> &'static str {
        match (self.zh(), table) {
            (true, Table::Attendance) => "出勤明细",
            (true, Table::Meetings) => "会议",
            (true, Table::Users) => "参会人",
            (true, Table::Series) => "周期会议出勤",
            (true, Table::SeriesMeetings) => "周期会议",
            (false, t) => t.name(),
        }
    }

    /// The header of `column` of `table` (`None` for a frame that is none of the three, such
    /// as the departments rollup). English keeps the column name; an unknown column (added by
    /// a later version of the tables) keeps its name in both languages.
    pub fn header(&self, table: Option<Table>, column: &str) -> String {
        if !self.zh() {
            return column.to_string();
        }
        let per_table = match (table, column) {
            (Some(Table::Users), "late_count") => Some("迟到次数"),
            (Some(Table::Users), "left_early_count") => Some("早退次数"),
            (Some(Table::Users), "attendance_rate") => Some("个人出勤率"),
            (Some(Table::Users), "total_attendance_s") => Some("累计参会时长"),
            (Some(Table::Series), "late_count") => Some("迟到次数"),
            (Some(Table::Series), "attendance_rate") => Some("个人出勤率"),
            (Some(Table::SeriesMeetings), "members_invited") => Some("应到人次"),
            (Some(Table::SeriesMeetings), "members_attended") => Some("实到人次"),
            _ => None,
        };
        per_table
            .or_else(|| zh_header(column))
            .map_or_else(|| column.to_string(), str::to_string)
    }

    /// A text cell as the reader sees it: status and kind names are translated, everything
    /// else (titles, ids) is kept as it is.
    pub fn value<'a>(&self, column: &str, text: &'a str) -> std::borrow::Cow<'a, str> {
        use std::borrow::Cow;
        if !self.zh() {
            return Cow::Borrowed(text);
        }
        match column {
            "status" | "meeting_status" => match text {
                "upcoming" => Cow::Borrowed("待开始"),
                "in_progress" => Cow::Borrowed("进行中"),
                "ended" => Cow::Borrowed("已结束"),
                "cancelled" => Cow::Borrowed("已取消"),
                "expired" => Cow::Borrowed("已过期"),
                "deleted" => Cow::Borrowed("已删除"),
                "unknown" => Cow::Borrowed("未知"),
                other => match other.strip_prefix("unknown_") {
                    Some(code) => Cow::Owned(format!("未知（{code}）")),
                    None => Cow::Borrowed(other),
                },
            },
            "attendee_kind" => match text {
                "member" => Cow::Borrowed("成员"),
                "external" => Cow::Borrowed("外部联系人"),
                other => Cow::Borrowed(other),
            },
            _ => Cow::Borrowed(text),
        }
    }

    /// A status name (`ended`) for the reader.
    pub fn status(&self, name: &str) -> String {
        self.value("status", name).into_owned()
    }

    /// Which meetings the headline counts: those whose status is one of `statuses`.
    pub fn counted_note(&self, statuses: &[String], counted: usize, total: usize) -> String {
        let names: Vec<String> = statuses.iter().map(|s| self.status(s)).collect();
        if self.zh() {
            format!(
                "状态为 {} 的会议：{counted} 场（时间范围内共 {total} 场）；与 users 表的口径相同",
                names.join("、")
            )
        } else {
            format!(
                "meetings whose status is {}: {counted} of the window's {total}, as in the users table",
                names.join(", ")
            )
        }
    }

    /// Under a table cut to its first rows.
    pub fn top_note(&self, shown: usize, total: usize) -> String {
        if self.zh() {
            format!("仅显示前 {shown} 项，共 {total} 项；完整数据见工作簿或 CSV。")
        } else {
            format!("Showing the top {shown} of {total}; every row is in the workbook and the CSV.")
        }
    }

    /// In the summary sheet when text cells were longer than Excel allows.
    pub fn cut_note(&self, cells: u64) -> String {
        if self.zh() {
            format!(
                "{cells} 个文本单元格超过 Excel 的 32,767 字符上限，已截断并以 … 结尾；完整文本见 CSV 或 Parquet。"
            )
        } else {
            format!(
                "{cells} text cells were longer than Excel's 32,767 characters: they are cut and end in …; the CSV and Parquet tables hold the full text."
            )
        }
    }

    /// In the summary sheet when a table did not fit on one sheet.
    pub fn continued_note(&self, first: &str, sheets: &[String], rows: u64) -> String {
        if self.zh() {
            format!(
                "{first} 共 {rows} 行，超过 Excel 单个工作表的 1,048,576 行上限，依次写在：{}",
                sheets.join("、")
            )
        } else {
            format!(
                "{first} has {rows} rows, more than Excel's 1,048,576 per sheet: they continue on {}",
                sheets.join(", ")
            )
        }
    }

    /// A duration header: the unit shown by the cell format.
    pub fn duration_suffix(&self) -> &'static str {
        if self.zh() {
            "（时:分:秒）"
        } else {
            " (h:mm:ss)"
        }
    }
}

/// Chinese headers shared by the tables.
fn zh_header(column: &str) -> Option<&'static str> {
    Some(match column {
        "meetingid" => "会议ID",
        "meeting_title" | "title" => "会议主题",
        "meeting_start" => "开始时间",
        "meeting_date" => "会议日期",
        "meeting_duration_s" => "计划时长",
        "meeting_status" | "status" => "会议状态",
        "admin_userid" => "组织者",
        "main_department" => "组织者部门ID",
        "attendee_kind" => "参会人类型",
        "attendee_id" => "参会人ID",
        "external_userid" => "外部联系人ID",
        "attend_status" => "参会状态码",
        "attended" => "是否出席",
        "first_join_time" => "首次入会时间",
        "last_quit_time" => "最后离会时间",
        "total_join_count" => "入会次数",
        "cumulative_time_s" => "累计参会时长",
        "late_s" => "迟到时长",
        "left_early_s" => "早退时长",
        "attended_ratio" => "参会时长占比",
        "is_host" => "是否主持人",
        "is_late" => "迟到",
        "is_left_early" => "早退",
        "meeting_status_code" | "status_code" => "会议状态码",
        "members_invited" => "应到人数",
        "members_attended" => "实到人数",
        "members_absent" => "缺席人数",
        "externals_attended" => "外部参会人数",
        "attendance_rate" => "出勤率",
        "total_attendance_s" => "总参会时长",
        "avg_attendance_s" => "平均参会时长",
        "avg_attended_ratio" => "平均参会时长占比",
        "late_count" => "迟到人数",
        "left_early_count" => "早退人数",
        "rejoin_count" => "重复入会次数",
        "userid" => "用户ID",
        "name" => "姓名",
        "meetings_invited" => "应参会次数",
        "meetings_attended" => "出席次数",
        "meetings_absent" => "缺席次数",
        "first_meeting_start" => "首次会议时间",
        "last_meeting_start" => "最近会议时间",
        "attendee_name" => "参会人姓名",
        "attendee_department_id" => "参会人部门ID",
        "attendee_department" => "参会人部门",
        "admin_name" => "组织者姓名",
        "admin_department" => "组织者部门",
        "department" => "部门",
        "department_id" => "部门ID",
        "department_name" => "部门名称",
        "department_path" => "部门路径",
        "parent_id" => "上级部门ID",
        "depth" => "层级",
        "members" => "成员数",
        "sub_meetingid" => "子会议ID",
        "series_title" => "周期会议主题",
        "occurrences_invited" => "应参加场次",
        "occurrences_attended" => "出席场次",
        "last_attended_date" => "最近出席日期",
        "absences_in_a_row" => "连续缺席场次",
        "occurrences_scheduled" => "计划场次",
        "occurrences_held" => "已举行场次",
        "occurrences_deleted" => "已删除场次",
        "occurrences_unlisted" => "未列出场次",
        "first_occurrence_start" => "首场开始时间",
        "last_occurrence_start" => "末场开始时间",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transform::flatten::OCCURRENCE_COLUMNS;
    use crate::transform::people::DEPARTMENTS_COLUMNS;
    use crate::transform::series::{SERIES_COLUMNS, SERIES_MEETINGS_COLUMNS};
    use crate::transform::summary::{MEETINGS_COLUMNS, USERS_COLUMNS};

    #[test]
    fn every_column_of_the_tables_has_a_chinese_header_and_keeps_its_name_in_english() {
        let zh = Labels::of(Language::ZhCn);
        let en = Labels::of(Language::En);
        for (table, columns) in [
            (Some(Table::Meetings), &MEETINGS_COLUMNS[..]),
            (Some(Table::Users), &USERS_COLUMNS[..]),
            (None, &DEPARTMENTS_COLUMNS[..]),
            (Some(Table::Attendance), &OCCURRENCE_COLUMNS[..]),
            (Some(Table::Series), &SERIES_COLUMNS[..]),
            (Some(Table::SeriesMeetings), &SERIES_MEETINGS_COLUMNS[..]),
        ] {
            for c in columns {
                assert_ne!(zh.header(table, c), *c, "{c} has no Chinese header");
                assert_eq!(en.header(table, c), *c);
            }
        }
        assert_eq!(zh.header(Some(Table::Meetings), "late_count"), "迟到人数");
        assert_eq!(zh.header(Some(Table::Users), "late_count"), "迟到次数");
        assert_eq!(zh.header(Some(Table::Series), "late_count"), "迟到次数");
        assert_eq!(zh.value("status", "deleted"), "已删除");
    }

    #[test]
    fn status_and_kind_values_are_translated_and_other_text_is_kept() {
        let zh = Labels::of(Language::ZhCn);
        assert_eq!(zh.value("status", "ended"), "已结束");
        assert_eq!(zh.value("meeting_status", "unknown_7"), "未知（7）");
        assert_eq!(zh.value("attendee_kind", "external"), "外部联系人");
        assert_eq!(zh.value("title", "ended"), "ended");
        assert_eq!(Labels::of(Language::En).value("status", "ended"), "ended");
    }
}
