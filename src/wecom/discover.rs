//! Meeting id discovery with `get_user_meetingid`: for each organizer, every page of every
//! ≤180-day slice of the window, following `next_cursor` until it is empty, de-duplicated.

use super::client::{CallError, Client};
use crate::config::window::{DateRange, MAX_DISCOVERY_SPAN_DAYS};
use chrono::Days;
use chrono_tz::Tz;
use std::collections::HashSet;

/// WeCom's largest page.
pub const PAGE_LIMIT: u32 = 100;
/// Pages per organizer and slice before discovery assumes a cursor loop.
const MAX_PAGES: usize = 10_000;

/// Splits a date range into slices of at most `MAX_DISCOVERY_SPAN_DAYS` days.
pub fn slices(range: DateRange) -> Vec<DateRange> {
    let mut out = Vec::new();
    let mut from = range.from;
    while from <= range.to {
        let to = (from + Days::new(MAX_DISCOVERY_SPAN_DAYS - 1)).min(range.to);
        out.push(DateRange { from, to });
        from = to + Days::new(1);
    }
    out
}

/// What discovery found: the meeting ids, and the organizers whose listing failed.
#[derive(Debug, Default)]
pub struct Discovered {
    /// Meeting ids in discovery order, without duplicates.
    pub ids: Vec<String>,
    /// `(userid, why)` of each organizer whose listing failed with a per-call error (an
    /// organizer who left the company, retries used up): their meetings are missing.
    pub failed: Vec<(String, String)>,
}

/// All meeting ids of `organizers` starting in `range`. An organizer whose listing fails with a
/// per-call error is recorded and the others are still listed; a fatal error stops discovery.
pub async fn discover(
    client: &Client,
    organizers: &[String],
    range: DateRange,
    tz: Tz,
) -> Result<Discovered, CallError> {
    let mut seen = HashSet::new();
    let mut found = Discovered::default();
    'organizers: for userid in organizers {
        for slice in slices(range) {
            let (begin, end) = slice.epoch_bounds(tz);
            let mut cursor = "0".to_string();
            let mut cursors = HashSet::new();
            for _ in 0..MAX_PAGES {
                let page = match client
                    .get_user_meetingid(userid, &cursor, begin, end - 1, PAGE_LIMIT)
                    .await
                {
                    Ok(page) => page,
                    Err(CallError::PerMeeting { message, .. }) => {
                        tracing::warn!(userid, %message, "listing this organizer's meetings failed; going on with the others");
                        found.failed.push((userid.clone(), message));
                        continue 'organizers;
                    }
                    Err(fatal) => return Err(fatal),
                };
                for id in page.meetingid_list {
                    if seen.insert(id.clone()) {
                        found.ids.push(id);
                    }
                }
                match page.next_cursor.filter(|c| !c.is_empty()) {
                    Some(next) if cursors.insert(next.clone()) => cursor = next,
                    Some(next) => {
                        tracing::warn!(userid, cursor = %next, "get_user_meetingid repeated a cursor; stopping this organizer's listing");
                        break;
                    }
                    None => break,
                }
            }
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn windows_longer_than_180_days_are_split() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let s = slices(DateRange::new(d("2024-01-01"), d("2024-12-31")).unwrap());
        assert_eq!(s.len(), 3);
        assert_eq!(s[0].to, d("2024-06-28"));
        assert_eq!(s[1].from, d("2024-06-29"));
        assert_eq!(s[2].to, d("2024-12-31"));
        assert!(s.iter().all(|r| (r.to - r.from).num_days() < 180));
        let one = slices(DateRange::new(d("2024-01-01"), d("2024-01-01")).unwrap());
        assert_eq!(one.len(), 1);
    }
}
