//! Meeting id discovery with `get_user_meetingid`: for each organizer, every page of every
//! ≤180-day slice of the window, following `next_cursor` until it is empty, de-duplicated.
//!
//! A listing always ends: one that goes past [`MAX_PAGES`] pages in a slice, or repeats a
//! cursor, is cut there and its organizer reported. Discovered ids pass the same check as the
//! ids of a file ([`is_valid_id`]); one that fails it (`../x`, a control character) is reported
//! and skipped, never requested nor used in a path.

use super::client::{CallError, Client};
use crate::config::ids::is_valid_id;
use crate::config::window::{DateRange, MAX_DISCOVERY_SPAN_DAYS};
use chrono::Days;
use chrono_tz::Tz;
use std::collections::HashSet;

/// WeCom's largest page.
pub const PAGE_LIMIT: u32 = 100;
/// Pages per organizer and slice before discovery takes the cursor for one that never ends:
/// 100,000 meetings of one organizer in 180 days.
pub const MAX_PAGES: usize = 1_000;
/// Characters of an invalid id quoted in a report.
const QUOTED_ID_CHARS: usize = 64;

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
    /// organizer who left the company, retries used up), did not end (past [`MAX_PAGES`]
    /// pages, or a repeated cursor), or named invalid meeting ids: some of their meetings are
    /// missing.
    pub failed: Vec<(String, String)>,
}

/// One organizer's listing over a window.
#[derive(Default)]
struct Listing {
    /// Valid meeting ids, in order (with duplicates).
    ids: Vec<String>,
    /// Ids that are not valid meeting ids, skipped.
    invalid: Vec<String>,
    /// Why the listing stopped before its end, if it did.
    cut: Option<String>,
}

/// All meeting ids of `organizers` starting in `range`. An organizer whose listing fails with a
/// per-call error, does not end, or names invalid ids is recorded and the others are still
/// listed; a fatal error stops discovery.
pub async fn discover(
    client: &Client,
    organizers: &[String],
    range: DateRange,
    tz: Tz,
) -> Result<Discovered, CallError> {
    let mut seen = HashSet::new();
    let mut found = Discovered::default();
    for userid in organizers {
        let listing = list(client, userid, range, tz).await?;
        for id in listing.ids {
            if seen.insert(id.clone()) {
                found.ids.push(id);
            }
        }
        if let Some(why) = listing.cut {
            // Logged by the caller, which knows how the job names people (pseudonyms).
            tracing::debug!(%why, "an organizer's listing failed; going on with the others");
            found.failed.push((userid.clone(), why));
        }
        if let Some(first) = listing.invalid.first() {
            let quoted: String = first.chars().take(QUOTED_ID_CHARS).collect();
            let why = format!(
                "listed {} invalid meeting id(s), skipped, such as {quoted:?}",
                listing.invalid.len()
            );
            tracing::debug!(%why, "skipping invalid meeting ids");
            found.failed.push((userid.clone(), why));
        }
    }
    Ok(found)
}

/// Every page of every slice of one organizer's listing, until it ends, fails with a per-call
/// error, passes [`MAX_PAGES`] pages in a slice or repeats a cursor.
async fn list(
    client: &Client,
    userid: &str,
    range: DateRange,
    tz: Tz,
) -> Result<Listing, CallError> {
    let mut listing = Listing::default();
    for slice in slices(range) {
        let (begin, end) = slice.epoch_bounds(tz);
        let mut cursor = "0".to_string();
        let mut cursors = HashSet::new();
        for page_no in 1.. {
            if page_no > MAX_PAGES {
                listing.cut = Some(format!(
                    "listing did not end after {MAX_PAGES} pages; its meetings may be incomplete"
                ));
                return Ok(listing);
            }
            let page = match client
                .get_user_meetingid(userid, &cursor, begin, end - 1, PAGE_LIMIT)
                .await
            {
                Ok(page) => page,
                Err(CallError::PerMeeting { message, .. }) => {
                    listing.cut = Some(message);
                    return Ok(listing);
                }
                Err(fatal) => return Err(fatal),
            };
            for id in page.meetingid_list {
                if is_valid_id(&id) {
                    listing.ids.push(id);
                } else {
                    listing.invalid.push(id);
                }
            }
            match page.next_cursor.filter(|c| !c.is_empty()) {
                Some(next) if cursors.insert(next.clone()) => cursor = next,
                Some(_) => {
                    listing.cut = Some(format!(
                        "listing repeated a cursor after {page_no} pages; its meetings may be \
                         incomplete"
                    ));
                    return Ok(listing);
                }
                None => break,
            }
        }
    }
    Ok(listing)
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
