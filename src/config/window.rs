//! The date window of a run: inclusive local dates in the job's time zone.
//!
//! `--date yesterday` is computed in the job's time zone (a cron job on a UTC server still
//! means "yesterday in Shanghai"). A window that is not given explicitly is `All`: every
//! meeting the run's ids reach, with the window's bounds taken from the data.

use anyhow::{Context, Result, bail};
use chrono::{DateTime, Days, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use std::fmt;

/// WeCom's get_user_meetingid accepts at most this many days between begin and end.
pub const MAX_DISCOVERY_SPAN_DAYS: u64 = 180;

/// Inclusive range of local dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateRange {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl DateRange {
    pub fn new(from: NaiveDate, to: NaiveDate) -> Result<Self> {
        if to < from {
            bail!(
                "the window ends ({to}) before it starts ({from}): use --from EARLIER --to LATER"
            );
        }
        Ok(Self { from, to })
    }

    /// Unix seconds of local midnight starting `from` and local midnight ending `to`
    /// (half-open: `[start, end)`).
    pub fn epoch_bounds(&self, tz: Tz) -> (i64, i64) {
        (
            local_midnight(self.from, tz),
            local_midnight(self.to + Days::new(1), tz),
        )
    }

    /// The hive partition label for the users table: `FROM_TO`.
    pub fn label(&self) -> String {
        format!("{}_{}", self.from, self.to)
    }
}

impl fmt::Display for DateRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.from == self.to {
            write!(f, "{}", self.from)
        } else {
            write!(f, "{} .. {}", self.from, self.to)
        }
    }
}

/// The window a run covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    /// Exactly these local dates.
    Dates(DateRange),
    /// Whatever the run's ids reach; bounds come from the data.
    All,
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Window::Dates(r) => r.fmt(f),
            Window::All => f.write_str("all meetings of the ids"),
        }
    }
}

/// Parses `YYYY-MM-DD`, `yesterday` or `today` relative to `now` in `tz`.
pub fn parse_date(s: &str, tz: Tz, now: DateTime<Utc>) -> Result<NaiveDate> {
    let today = now.with_timezone(&tz).date_naive();
    match s.trim() {
        "today" => Ok(today),
        "yesterday" => Ok(today - Days::new(1)),
        other => NaiveDate::parse_from_str(other, "%Y-%m-%d").with_context(|| {
            format!("'{other}' is not a date: use YYYY-MM-DD, 'yesterday' or 'today'")
        }),
    }
}

/// Builds the window from `--date` or `--from/--to`, falling back to the job's default
/// (`"all"`, `"yesterday"`, `"today"` or a date).
pub fn resolve(
    date: Option<&str>,
    from: Option<&str>,
    to: Option<&str>,
    job_default: &str,
    tz: Tz,
    now: DateTime<Utc>,
) -> Result<Window> {
    match (date, from, to) {
        (Some(d), None, None) => {
            let d = parse_date(d, tz, now).context("--date")?;
            Ok(Window::Dates(DateRange::new(d, d)?))
        }
        (None, Some(f), Some(t)) => Ok(Window::Dates(DateRange::new(
            parse_date(f, tz, now).context("--from")?,
            parse_date(t, tz, now).context("--to")?,
        )?)),
        (None, None, None) => match job_default.trim() {
            "all" | "" => Ok(Window::All),
            d => {
                let d = parse_date(d, tz, now).context("the job's `window`")?;
                Ok(Window::Dates(DateRange::new(d, d)?))
            }
        },
        _ => bail!("give either --date D, or both --from D and --to D"),
    }
}

/// Unix seconds of the first instant of `date` in `tz` (handles zones with DST gaps).
pub fn local_midnight(date: NaiveDate, tz: Tz) -> i64 {
    let naive = date.and_hms_opt(0, 0, 0).expect("midnight exists");
    match tz.from_local_datetime(&naive) {
        chrono::LocalResult::Single(t) | chrono::LocalResult::Ambiguous(t, _) => t.timestamp(),
        chrono::LocalResult::None => tz
            .from_local_datetime(&(naive + chrono::Duration::hours(1)))
            .earliest()
            .map(|t| t.timestamp())
            .unwrap_or_else(|| naive.and_utc().timestamp()),
    }
}

/// The local date of a unix timestamp in `tz`.
pub fn local_date(ts: i64, tz: Tz) -> Option<NaiveDate> {
    DateTime::from_timestamp(ts, 0).map(|t| t.with_timezone(&tz).date_naive())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::Asia::Shanghai;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn yesterday_is_computed_in_the_jobs_time_zone_not_utc() {
        // 2024-03-10 17:30 UTC is already 2024-03-11 01:30 in Shanghai.
        let now = at("2024-03-10T17:30:00Z");
        assert_eq!(
            parse_date("yesterday", Shanghai, now).unwrap(),
            NaiveDate::from_ymd_opt(2024, 3, 10).unwrap()
        );
        assert_eq!(
            parse_date("yesterday", chrono_tz::UTC, now).unwrap(),
            NaiveDate::from_ymd_opt(2024, 3, 9).unwrap()
        );
    }

    #[test]
    fn a_range_that_ends_before_it_starts_is_refused() {
        let now = at("2024-03-10T00:00:00Z");
        let e = resolve(
            None,
            Some("2024-03-05"),
            Some("2024-03-01"),
            "all",
            Shanghai,
            now,
        )
        .unwrap_err();
        assert!(format!("{e:#}").contains("before it starts"));
    }

    #[test]
    fn no_flags_fall_back_to_the_jobs_default_window() {
        let now = at("2024-03-10T00:00:00Z");
        assert_eq!(
            resolve(None, None, None, "all", Shanghai, now).unwrap(),
            Window::All
        );
        let Window::Dates(r) = resolve(None, None, None, "yesterday", Shanghai, now).unwrap()
        else {
            panic!("a date window")
        };
        assert_eq!(r.from.to_string(), "2024-03-09");
    }

    #[test]
    fn bad_dates_name_the_flag_and_the_format() {
        let now = at("2024-03-10T00:00:00Z");
        let e = resolve(Some("03/10/2024"), None, None, "all", Shanghai, now).unwrap_err();
        let msg = format!("{e:#}");
        assert!(
            msg.contains("--date") && msg.contains("YYYY-MM-DD"),
            "{msg}"
        );
    }

    #[test]
    fn epoch_bounds_are_local_midnights() {
        let r = DateRange::new(
            NaiveDate::from_ymd_opt(2023, 11, 15).unwrap(),
            NaiveDate::from_ymd_opt(2023, 11, 15).unwrap(),
        )
        .unwrap();
        // 2023-11-15 00:00 +08:00 = 2023-11-14 16:00 UTC.
        assert_eq!(r.epoch_bounds(Shanghai), (1_699_977_600, 1_700_064_000));
        assert_eq!(r.label(), "2023-11-15_2023-11-15");
    }
}
