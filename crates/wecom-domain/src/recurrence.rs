//! The occurrences a recurring meeting's rule expects: WeCom's `reminders` (or each
//! `sub_repeat_list` segment) expanded into start and end instants, in a time zone.
//!
//! Pure arithmetic, shared by the job (which reports occurrences the rule expects but the API
//! never listed) and the fake server (which builds its series from a rule). The rule is
//! anchored at the series' first occurrence: its local time of day holds for every occurrence
//! (across a DST change too), its week (weeks start on Monday) sets the phase of an
//! every-second-week series, and it is the first of a count. What the API leaves open, decided
//! here and written down:
//!
//! - The anchor is always the first occurrence, even when it does not fit the rule (a Saturday
//!   in a workday series, a weekday outside the custom days); the rule then adds the dates
//!   after it that fit.
//! - `repeat_until` ([`Until::Date`]) is epoch seconds, inclusive: an occurrence starting at or
//!   before it is in. [`Until::Count`] counts the anchor; `Count(0)` gives nothing (a reader
//!   should map a missing count to [`Until::Unbounded`]).
//! - WeCom's caps always apply: 200 occurrences for daily, workday and weekly rules, 50 for
//!   every-second-week (weekly with interval >= 2) and monthly rules, per segment.
//! - A local time that does not exist (skipped by a DST change) becomes the first instant
//!   after the gap (02:30 on a spring-forward night in New York is 03:00 EDT); an ambiguous
//!   one (repeated by a DST change) is the earlier of the two.
//! - A day of the month that a month lacks (31 in April, 30 in February) is skipped in that
//!   month, never moved to its last day.
//! - Days of the week outside 1..=7 and days of the month outside 1..=31 are ignored; a list
//!   left empty (or holding nothing valid) means the anchor's weekday or day of the month.
//! - `interval` 0 reads as 1; it steps days for a daily rule, weeks for a weekly one, months
//!   for a monthly one; a workday rule takes every Monday to Friday.

use chrono::{Datelike, Days, Months, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Weekday};
use chrono_tz::Tz;

/// Most occurrences of a daily, workday or weekly series (WeCom's limit).
pub const MAX_OCCURRENCES: usize = 200;
/// Most occurrences of an every-second-week or monthly series (WeCom's limit).
pub const MAX_OCCURRENCES_LONG_PERIOD: usize = 50;
/// Periods (days, weeks, months) examined per allowed occurrence before giving up on a rule
/// that fits no date (a day 31 every 12 months from April): 12 covers a monthly rule whose
/// day exists in only some months.
const PERIODS_PER_OCCURRENCE: usize = 12;
/// Longest DST gap searched for its end, in seconds (real gaps are an hour, rarely two).
const MAX_GAP_S: i64 = 86_400;
const SECONDS_PER_MINUTE: i64 = 60;

/// How often a series repeats: WeCom's `repeat_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RepeatType {
    /// Code 0: every `interval` days.
    Daily,
    /// Code 1: every `interval` weeks, on the days of the week.
    Weekly,
    /// Code 2: every `interval` months, on the days of the month.
    Monthly,
    /// Code 7: every Monday to Friday.
    Workdays,
}

impl RepeatType {
    /// The type of WeCom's code (0, 1, 2, 7); `None` for any other.
    pub fn from_code(code: i64) -> Option<RepeatType> {
        match code {
            0 => Some(RepeatType::Daily),
            1 => Some(RepeatType::Weekly),
            2 => Some(RepeatType::Monthly),
            7 => Some(RepeatType::Workdays),
            _ => None,
        }
    }

    /// WeCom's code.
    pub fn code(self) -> i64 {
        match self {
            RepeatType::Daily => 0,
            RepeatType::Weekly => 1,
            RepeatType::Monthly => 2,
            RepeatType::Workdays => 7,
        }
    }
}

/// When a series stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Until {
    /// The last start allowed, epoch seconds, inclusive (`repeat_until_type` 0).
    Date(i64),
    /// This many occurrences, the anchor first (`repeat_until_type` 1).
    Count(u32),
    /// Until the cap.
    Unbounded,
}

/// One rule: `reminders` or one `sub_repeat_list` segment.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RepeatRule {
    pub repeat_type: RepeatType,
    /// Periods between occurrences; 0 (or missing) reads as 1.
    pub interval: u32,
    /// 1..=7 = Monday..Sunday (weekly rules); empty = the anchor's weekday.
    pub days_of_week: Vec<u8>,
    /// 1..=31 (monthly rules); empty = the anchor's day of the month.
    pub days_of_month: Vec<u8>,
    pub until: Until,
}

impl RepeatRule {
    /// A rule of this type, every period, on the anchor's day, until the cap.
    pub fn new(repeat_type: RepeatType) -> RepeatRule {
        RepeatRule {
            repeat_type,
            interval: 1,
            days_of_week: Vec::new(),
            days_of_month: Vec::new(),
            until: Until::Unbounded,
        }
    }

    /// The interval, 0 read as 1.
    pub fn step(&self) -> u32 {
        self.interval.max(1)
    }

    /// WeCom's cap on the number of occurrences of this rule: 50 for every-second-week and
    /// monthly rules, 200 for the others.
    pub fn cap(&self) -> usize {
        match self.repeat_type {
            RepeatType::Monthly => MAX_OCCURRENCES_LONG_PERIOD,
            RepeatType::Weekly if self.step() >= 2 => MAX_OCCURRENCES_LONG_PERIOD,
            _ => MAX_OCCURRENCES,
        }
    }
}

/// One expected occurrence, epoch seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Occurrence {
    pub start: i64,
    pub end: i64,
}

/// The occurrences of one rule, anchored at `first_start` (the first occurrence: its local
/// time of day, the phase of interval-2 weeks (weeks start Monday), the first of a count),
/// each `duration_s` long, in `tz`, capped (200 daily/workday/weekly, 50 biweekly (weekly,
/// interval >= 2)/monthly). In start order.
pub fn expand(rule: &RepeatRule, first_start: i64, duration_s: i64, tz: Tz) -> Vec<Occurrence> {
    let Some(series) = Series::anchored(first_start, duration_s, tz) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let limit = limit(rule);
    if limit == 0 || !within(rule.until, first_start) {
        return out;
    }
    out.push(Occurrence {
        start: first_start,
        end: first_start + duration_s,
    });
    let day = series.anchor_day;
    series.collect(rule, day, day, limit, &mut out);
    out
}

/// A split series: segments in `sub_repeat_list` order; the first anchored at `first_start`,
/// each later one starting strictly after the previous segment's last occurrence (the day
/// after it, on the dates its own rule fits, its interval phase counted from that day's week),
/// at the same local time of day; returns each occurrence with its segment's repeat_id. An
/// empty list of the days of a later segment means the first anchor's weekday or day of the
/// month; each segment has its own cap and count.
pub fn expand_segments(
    segments: &[(String, RepeatRule)],
    first_start: i64,
    duration_s: i64,
    tz: Tz,
) -> Vec<(String, Occurrence)> {
    let Some(series) = Series::anchored(first_start, duration_s, tz) else {
        return Vec::new();
    };
    let mut out: Vec<(String, Occurrence)> = Vec::new();
    // The local date of the previous segment's last occurrence.
    let mut previous_last: Option<NaiveDate> = None;
    for (index, (repeat_id, rule)) in segments.iter().enumerate() {
        let found = if index == 0 {
            expand(rule, first_start, duration_s, tz)
        } else {
            let after = previous_last.unwrap_or(series.anchor_day);
            let Some(start_day) = after.succ_opt() else {
                break;
            };
            let mut found = Vec::new();
            series.collect(rule, start_day, after, limit(rule), &mut found);
            found
        };
        if let Some(last) = found.last().and_then(|o| local(o.start, tz)) {
            previous_last = Some(last.date());
        }
        out.extend(found.into_iter().map(|o| (repeat_id.clone(), o)));
    }
    out
}

/// What every segment of a series shares: the anchor's day, time of day and defaults, the
/// duration, the zone.
struct Series {
    anchor_day: NaiveDate,
    time: NaiveTime,
    defaults: Defaults,
    duration_s: i64,
    tz: Tz,
}

impl Series {
    fn anchored(first_start: i64, duration_s: i64, tz: Tz) -> Option<Series> {
        let anchor = local(first_start, tz)?;
        Some(Series {
            anchor_day: anchor.date(),
            time: anchor.time(),
            defaults: Defaults::of(anchor.date()),
            duration_s,
            tz,
        })
    }

    /// Appends to `out` the occurrences on the dates strictly after `after` that fit `rule`,
    /// its periods counted from `phase_day`'s day, week or month, until `out` holds `limit`
    /// or the rule's date passes.
    fn collect(
        &self,
        rule: &RepeatRule,
        phase_day: NaiveDate,
        after: NaiveDate,
        limit: usize,
        out: &mut Vec<Occurrence>,
    ) {
        let max_periods = limit.saturating_mul(PERIODS_PER_OCCURRENCE);
        let step = rule.step();
        for period in 0..max_periods {
            if out.len() >= limit {
                return;
            }
            let Some(dates) = period_dates(rule, &self.defaults, phase_day, period, step) else {
                return;
            };
            for date in dates.into_iter().filter(|d| *d > after) {
                if out.len() >= limit {
                    return;
                }
                let Some(start) = instant(date.and_time(self.time), self.tz) else {
                    return;
                };
                if !within(rule.until, start) {
                    return;
                }
                out.push(Occurrence {
                    start,
                    end: start + self.duration_s,
                });
            }
        }
    }
}

/// What an empty list of days means: the anchor's.
struct Defaults {
    weekday: u8,
    day_of_month: u8,
}

impl Defaults {
    fn of(date: NaiveDate) -> Defaults {
        Defaults {
            weekday: weekday_number(date.weekday()),
            day_of_month: u8::try_from(date.day()).unwrap_or(1),
        }
    }
}

/// Most occurrences of `rule`: its count, never beyond its cap.
fn limit(rule: &RepeatRule) -> usize {
    match rule.until {
        Until::Count(n) => usize::try_from(n).unwrap_or(usize::MAX).min(rule.cap()),
        _ => rule.cap(),
    }
}

fn within(until: Until, start: i64) -> bool {
    match until {
        Until::Date(last) => start <= last,
        _ => true,
    }
}

/// The dates of period number `period` (counted from `phase_day`) that fit the rule, in
/// order; `None` past the calendar's end.
fn period_dates(
    rule: &RepeatRule,
    defaults: &Defaults,
    phase_day: NaiveDate,
    period: usize,
    step: u32,
) -> Option<Vec<NaiveDate>> {
    let offset = u64::try_from(period).ok()?.checked_mul(u64::from(step))?;
    match rule.repeat_type {
        RepeatType::Daily => Some(vec![phase_day.checked_add_days(Days::new(offset))?]),
        RepeatType::Workdays => {
            let date = phase_day.checked_add_days(Days::new(u64::try_from(period).ok()?))?;
            let workday = !matches!(date.weekday(), Weekday::Sat | Weekday::Sun);
            Some(if workday { vec![date] } else { Vec::new() })
        }
        RepeatType::Weekly => {
            let monday = phase_day.week(Weekday::Mon).first_day();
            let week = monday.checked_add_days(Days::new(offset.checked_mul(7)?))?;
            let days = valid_or(&rule.days_of_week, 1..=7, defaults.weekday);
            Some(
                days.into_iter()
                    .filter_map(|d| week.checked_add_days(Days::new(u64::from(d - 1))))
                    .collect(),
            )
        }
        RepeatType::Monthly => {
            let first = phase_day.with_day(1)?;
            let month = first.checked_add_months(Months::new(u32::try_from(offset).ok()?))?;
            let days = valid_or(&rule.days_of_month, 1..=31, defaults.day_of_month);
            Some(
                days.into_iter()
                    .filter_map(|d| month.with_day(u32::from(d)))
                    .collect(),
            )
        }
    }
}

/// The values of `list` within `range`, sorted and without repeats; `[default]` when none.
fn valid_or(list: &[u8], range: std::ops::RangeInclusive<u8>, default: u8) -> Vec<u8> {
    let mut days: Vec<u8> = list.iter().copied().filter(|d| range.contains(d)).collect();
    days.sort_unstable();
    days.dedup();
    if days.is_empty() {
        days.push(default);
    }
    days
}

fn weekday_number(day: Weekday) -> u8 {
    u8::try_from(day.number_from_monday()).unwrap_or(1)
}

fn local(epoch_s: i64, tz: Tz) -> Option<NaiveDateTime> {
    tz.timestamp_opt(epoch_s, 0)
        .single()
        .map(|t| t.naive_local())
}

/// The instant of a local date and time in `tz`: the earlier of two when the time repeats,
/// the first instant after the gap when it does not exist.
fn instant(local_time: NaiveDateTime, tz: Tz) -> Option<i64> {
    if let Some(t) = tz.from_local_datetime(&local_time).earliest() {
        return Some(t.timestamp());
    }
    // In a gap: find the first local minute that exists, then the first second in it.
    let mut minute = local_time;
    let mut searched = 0;
    while tz.from_local_datetime(&minute).earliest().is_none() {
        minute = minute.checked_add_signed(chrono::TimeDelta::minutes(1))?;
        searched += SECONDS_PER_MINUTE;
        if searched > MAX_GAP_S {
            return None;
        }
    }
    let after_gap = tz.from_local_datetime(&minute).earliest()?.timestamp();
    // The gap may end within that minute: step back while the second before still maps
    // past the gap (its local time is not before `local_time`).
    let mut first = after_gap;
    for back in 1..SECONDS_PER_MINUTE {
        let t = after_gap - back;
        let shown = tz.timestamp_opt(t, 0).single()?.naive_local();
        if shown < local_time {
            break;
        }
        first = t;
    }
    Some(first)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::{America::New_York, Asia::Shanghai, Europe::Berlin};

    const HOUR: i64 = 3_600;
    const DAY: i64 = 86_400;

    /// Epoch seconds of a local date and time in `tz`.
    fn at(tz: Tz, y: i32, m: u32, d: u32, h: u32, min: u32) -> i64 {
        let date = NaiveDate::from_ymd_opt(y, m, d).unwrap();
        instant(date.and_hms_opt(h, min, 0).unwrap(), tz).unwrap()
    }

    fn local_dates(occurrences: &[Occurrence], tz: Tz) -> Vec<String> {
        occurrences
            .iter()
            .map(|o| {
                local(o.start, tz)
                    .unwrap()
                    .format("%Y-%m-%d %a %H:%M")
                    .to_string()
            })
            .collect()
    }

    fn rule(repeat_type: RepeatType, until: Until) -> RepeatRule {
        RepeatRule {
            until,
            ..RepeatRule::new(repeat_type)
        }
    }

    #[test]
    fn repeat_types_map_to_and_from_wecom_codes() {
        for t in [
            RepeatType::Daily,
            RepeatType::Weekly,
            RepeatType::Monthly,
            RepeatType::Workdays,
        ] {
            assert_eq!(RepeatType::from_code(t.code()), Some(t));
        }
        assert_eq!(RepeatType::from_code(3), None);
        assert_eq!(RepeatType::Workdays.code(), 7);
    }

    #[test]
    fn a_daily_rule_repeats_every_day_at_the_anchor_time_with_its_duration() {
        let first = at(Shanghai, 2026, 11, 2, 9, 30);
        let got = expand(
            &rule(RepeatType::Daily, Until::Count(3)),
            first,
            1800,
            Shanghai,
        );
        assert_eq!(
            got,
            vec![
                Occurrence {
                    start: first,
                    end: first + 1800
                },
                Occurrence {
                    start: first + DAY,
                    end: first + DAY + 1800
                },
                Occurrence {
                    start: first + 2 * DAY,
                    end: first + 2 * DAY + 1800
                },
            ]
        );
    }

    #[test]
    fn a_weekly_rule_repeats_on_the_anchor_weekday() {
        let first = at(Shanghai, 2026, 11, 4, 10, 0); // a Wednesday
        let got = expand(
            &rule(RepeatType::Weekly, Until::Count(3)),
            first,
            600,
            Shanghai,
        );
        assert_eq!(
            local_dates(&got, Shanghai),
            [
                "2026-11-04 Wed 10:00",
                "2026-11-11 Wed 10:00",
                "2026-11-18 Wed 10:00"
            ]
        );
    }

    #[test]
    fn a_monthly_rule_repeats_on_the_anchor_day_of_the_month() {
        let first = at(Shanghai, 2026, 11, 15, 14, 0);
        let got = expand(
            &rule(RepeatType::Monthly, Until::Count(3)),
            first,
            600,
            Shanghai,
        );
        assert_eq!(
            local_dates(&got, Shanghai),
            [
                "2026-11-15 Sun 14:00",
                "2026-12-15 Tue 14:00",
                "2027-01-15 Fri 14:00"
            ]
        );
    }

    #[test]
    fn a_workday_rule_skips_saturday_and_sunday() {
        let first = at(Shanghai, 2026, 11, 5, 9, 0); // a Thursday
        let got = expand(
            &rule(RepeatType::Workdays, Until::Count(4)),
            first,
            600,
            Shanghai,
        );
        assert_eq!(
            local_dates(&got, Shanghai),
            [
                "2026-11-05 Thu 09:00",
                "2026-11-06 Fri 09:00",
                "2026-11-09 Mon 09:00",
                "2026-11-10 Tue 09:00"
            ]
        );
    }

    #[test]
    fn interval_two_takes_every_second_week_phased_by_the_anchor_week() {
        let first = at(Shanghai, 2026, 11, 6, 16, 0); // Friday of the week of Mon 11-02
        let r = RepeatRule {
            interval: 2,
            days_of_week: vec![1, 5],
            ..rule(RepeatType::Weekly, Until::Count(4))
        };
        let got = expand(&r, first, 600, Shanghai);
        // The Monday of the anchor's week is before the anchor: not an occurrence.
        assert_eq!(
            local_dates(&got, Shanghai),
            [
                "2026-11-06 Fri 16:00",
                "2026-11-16 Mon 16:00",
                "2026-11-20 Fri 16:00",
                "2026-11-30 Mon 16:00"
            ]
        );
    }

    #[test]
    fn custom_days_of_the_week_and_of_the_month_are_followed_in_order() {
        let first = at(Shanghai, 2026, 11, 3, 9, 0); // a Tuesday
        let weekly = RepeatRule {
            days_of_week: vec![4, 2, 9], // Thursday, Tuesday, and an invalid 9
            ..rule(RepeatType::Weekly, Until::Count(4))
        };
        assert_eq!(
            local_dates(&expand(&weekly, first, 60, Shanghai), Shanghai),
            [
                "2026-11-03 Tue 09:00",
                "2026-11-05 Thu 09:00",
                "2026-11-10 Tue 09:00",
                "2026-11-12 Thu 09:00"
            ]
        );
        let monthly = RepeatRule {
            days_of_month: vec![20, 3],
            ..rule(RepeatType::Monthly, Until::Count(4))
        };
        assert_eq!(
            local_dates(&expand(&monthly, first, 60, Shanghai), Shanghai),
            [
                "2026-11-03 Tue 09:00",
                "2026-11-20 Fri 09:00",
                "2026-12-03 Thu 09:00",
                "2026-12-20 Sun 09:00"
            ]
        );
    }

    #[test]
    fn the_anchor_is_the_first_occurrence_even_outside_the_rule() {
        let first = at(Shanghai, 2026, 11, 7, 9, 0); // a Saturday
        let got = expand(
            &rule(RepeatType::Workdays, Until::Count(2)),
            first,
            60,
            Shanghai,
        );
        assert_eq!(
            local_dates(&got, Shanghai),
            ["2026-11-07 Sat 09:00", "2026-11-09 Mon 09:00"]
        );
    }

    #[test]
    fn until_a_date_is_inclusive_of_an_occurrence_starting_at_it() {
        let first = at(Shanghai, 2026, 11, 2, 9, 0);
        let last = first + 3 * DAY;
        let got = expand(
            &rule(RepeatType::Daily, Until::Date(last)),
            first,
            60,
            Shanghai,
        );
        assert_eq!(got.len(), 4);
        assert_eq!(got.last().unwrap().start, last);
        let got = expand(
            &rule(RepeatType::Daily, Until::Date(last - 1)),
            first,
            60,
            Shanghai,
        );
        assert_eq!(got.len(), 3);
        let none = expand(
            &rule(RepeatType::Daily, Until::Date(first - 1)),
            first,
            60,
            Shanghai,
        );
        assert!(none.is_empty());
    }

    #[test]
    fn until_a_count_counts_the_anchor_and_zero_gives_nothing() {
        let first = at(Shanghai, 2026, 11, 2, 9, 0);
        let one = expand(
            &rule(RepeatType::Weekly, Until::Count(1)),
            first,
            60,
            Shanghai,
        );
        assert_eq!(
            one,
            vec![Occurrence {
                start: first,
                end: first + 60
            }]
        );
        assert!(
            expand(
                &rule(RepeatType::Weekly, Until::Count(0)),
                first,
                60,
                Shanghai
            )
            .is_empty()
        );
    }

    #[test]
    fn daily_workday_and_weekly_rules_stop_at_200_occurrences() {
        let first = at(Shanghai, 2026, 1, 5, 9, 0);
        for t in [RepeatType::Daily, RepeatType::Workdays, RepeatType::Weekly] {
            assert_eq!(
                expand(&rule(t, Until::Unbounded), first, 60, Shanghai).len(),
                200
            );
            assert_eq!(
                expand(&rule(t, Until::Count(500)), first, 60, Shanghai).len(),
                200
            );
        }
        let far = first + 10_000 * DAY;
        assert_eq!(
            expand(
                &rule(RepeatType::Daily, Until::Date(far)),
                first,
                60,
                Shanghai
            )
            .len(),
            200
        );
    }

    #[test]
    fn biweekly_and_monthly_rules_stop_at_50_occurrences() {
        let first = at(Shanghai, 2026, 1, 5, 9, 0);
        let biweekly = RepeatRule {
            interval: 2,
            ..rule(RepeatType::Weekly, Until::Unbounded)
        };
        let got = expand(&biweekly, first, 60, Shanghai);
        assert_eq!(got.len(), 50);
        assert_eq!(got[49].start - got[0].start, 49 * 14 * DAY);
        let monthly = rule(RepeatType::Monthly, Until::Count(80));
        assert_eq!(expand(&monthly, first, 60, Shanghai).len(), 50);
    }

    #[test]
    fn a_day_the_month_lacks_is_skipped_not_moved() {
        let first = at(Shanghai, 2027, 1, 31, 9, 0);
        let got = expand(
            &rule(RepeatType::Monthly, Until::Count(4)),
            first,
            60,
            Shanghai,
        );
        assert_eq!(
            local_dates(&got, Shanghai),
            [
                "2027-01-31 Sun 09:00",
                "2027-03-31 Wed 09:00",
                "2027-05-31 Mon 09:00",
                "2027-07-31 Sat 09:00"
            ]
        );
    }

    #[test]
    fn a_rule_that_fits_no_date_ends_instead_of_looping() {
        let first = at(Shanghai, 2027, 4, 10, 9, 0);
        let r = RepeatRule {
            interval: 12,
            days_of_month: vec![31],
            ..rule(RepeatType::Monthly, Until::Unbounded)
        };
        assert_eq!(expand(&r, first, 60, Shanghai).len(), 1); // the anchor alone
    }

    #[test]
    fn the_local_time_of_day_holds_across_a_dst_change() {
        // Berlin leaves summer time on Sunday 2026-10-25: 10:00 CEST (UTC+2) → 10:00 CET (UTC+1).
        let first = at(Berlin, 2026, 10, 19, 10, 0);
        let got = expand(
            &rule(RepeatType::Weekly, Until::Count(3)),
            first,
            1800,
            Berlin,
        );
        assert_eq!(
            local_dates(&got, Berlin),
            [
                "2026-10-19 Mon 10:00",
                "2026-10-26 Mon 10:00",
                "2026-11-02 Mon 10:00"
            ]
        );
        assert_eq!(got[1].start - got[0].start, 7 * DAY + HOUR);
        assert_eq!(got[1].end - got[1].start, 1800);
    }

    #[test]
    fn a_time_skipped_by_dst_takes_the_end_of_the_gap_and_a_repeated_one_the_earlier() {
        // New York springs forward on 2026-03-08 at 02:00 → 03:00; falls back 2026-11-01 02:00 → 01:00.
        let first = at(New_York, 2026, 3, 7, 2, 30);
        let got = expand(
            &rule(RepeatType::Daily, Until::Count(3)),
            first,
            60,
            New_York,
        );
        assert_eq!(
            local_dates(&got, New_York),
            [
                "2026-03-07 Sat 02:30",
                "2026-03-08 Sun 03:00",
                "2026-03-09 Mon 02:30"
            ]
        );
        let first = at(New_York, 2026, 10, 31, 1, 30);
        let got = expand(
            &rule(RepeatType::Daily, Until::Count(2)),
            first,
            60,
            New_York,
        );
        // 01:30 EDT (UTC-4) on 11-01 is 24 hours after 01:30 EDT on 10-31, not 25.
        assert_eq!(got[1].start - got[0].start, DAY);
    }

    #[test]
    fn a_split_series_continues_with_the_next_segment_after_the_last_occurrence() {
        let first = at(Shanghai, 2026, 11, 2, 10, 0); // a Monday
        let weekly_mondays = rule(RepeatType::Weekly, Until::Count(3));
        let thursdays = RepeatRule {
            days_of_week: vec![4],
            ..rule(RepeatType::Weekly, Until::Count(2))
        };
        let segments = vec![
            ("r1".to_owned(), weekly_mondays),
            ("r2".to_owned(), thursdays),
        ];
        let got = expand_segments(&segments, first, 600, Shanghai);
        let ids: Vec<&str> = got.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(ids, ["r1", "r1", "r1", "r2", "r2"]);
        let occurrences: Vec<Occurrence> = got.iter().map(|(_, o)| *o).collect();
        assert_eq!(
            local_dates(&occurrences, Shanghai),
            [
                "2026-11-02 Mon 10:00",
                "2026-11-09 Mon 10:00",
                "2026-11-16 Mon 10:00",
                "2026-11-19 Thu 10:00",
                "2026-11-26 Thu 10:00"
            ]
        );
    }

    #[test]
    fn a_later_segment_without_days_keeps_the_first_anchor_weekday_after_an_until_date() {
        let first = at(Shanghai, 2026, 11, 2, 10, 0); // a Monday
        let until = at(Shanghai, 2026, 11, 10, 0, 0);
        let daily = rule(RepeatType::Daily, Until::Date(until));
        let weekly = rule(RepeatType::Weekly, Until::Count(2));
        let segments = vec![("a".to_owned(), daily), ("b".to_owned(), weekly)];
        let got = expand_segments(&segments, first, 600, Shanghai);
        assert_eq!(got.len(), 8 + 2);
        let tail: Vec<Occurrence> = got[8..].iter().map(|(_, o)| *o).collect();
        assert_eq!(
            local_dates(&tail, Shanghai),
            ["2026-11-16 Mon 10:00", "2026-11-23 Mon 10:00"]
        );
    }
}
