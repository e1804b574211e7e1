//! `get_user_meetingid`: validating the request and paging one organizer's meetings.
//!
//! Meetings are listed when `begin_time <= meeting_start <= end_time`, sorted by start then id,
//! `limit` (default and maximum 100) at a time. The cursor is an opaque string to the client:
//! `"0"` (or empty) is the first page, and `next_cursor` is `""` on the last one. Numbers are
//! accepted as JSON numbers or numeric strings, as WeCom does.
//!
//! An organizer's listing can be set to misbehave ([`Listing`]): a cursor that never ends, or
//! one that comes back again.

use super::reply::errcode;
use serde::Deserialize;
use serde_json::Value;

/// Largest (and default) page size.
pub(crate) const MAX_LIMIT: u64 = 100;
/// Longest `end_time - begin_time` span WeCom accepts.
pub(crate) const MAX_SPAN_S: i64 = 180 * 86_400;

#[derive(Deserialize)]
struct RawRequest {
    userid: Option<Value>,
    cursor: Option<Value>,
    begin_time: Option<Value>,
    end_time: Option<Value>,
    limit: Option<Value>,
}

/// A listing that does not end as it should.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Listing {
    /// Every page answers a new, non-empty `next_cursor`, for ever.
    Endless,
    /// Every page answers the same `next_cursor`, `"1"`.
    Looping,
}

impl Listing {
    /// The `next_cursor` this listing answers to `req` instead of the honest one.
    pub(crate) fn next_cursor(self, req: &ListRequest) -> String {
        match self {
            Listing::Endless => (req.offset + req.limit).to_string(),
            Listing::Looping => "1".to_owned(),
        }
    }
}

/// A validated `get_user_meetingid` request.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct ListRequest {
    pub userid: String,
    pub offset: usize,
    pub begin: i64,
    pub end: i64,
    pub limit: usize,
}

/// Validates a request body; `now` fills a missing `end_time`. Errors are WeCom errcodes.
pub(crate) fn parse(body: &[u8], now: i64) -> Result<ListRequest, i64> {
    let raw: RawRequest = serde_json::from_slice(body).map_err(|_| errcode::BAD_JSON)?;
    let userid = match raw.userid {
        Some(Value::String(u)) if !u.is_empty() => u,
        _ => return Err(errcode::INVALID_PARAMETER),
    };
    let offset = match raw.cursor {
        None | Some(Value::Null) => 0,
        Some(Value::String(c)) if c.is_empty() => 0,
        Some(v) => number(&v)
            .and_then(|n| usize::try_from(n).ok())
            .ok_or(errcode::INVALID_PARAMETER)?,
    };
    let limit = match optional_number(raw.limit)? {
        None | Some(0) => MAX_LIMIT,
        Some(n) => u64::try_from(n)
            .ok()
            .filter(|&n| n <= MAX_LIMIT)
            .ok_or(errcode::INVALID_PARAMETER)?,
    };
    let begin = optional_number(raw.begin_time)?;
    let end = optional_number(raw.end_time)?;
    let (begin, end) = match (begin, end) {
        (Some(b), Some(e)) => (b, e),
        (Some(b), None) => (b, b.saturating_add(MAX_SPAN_S)),
        (None, Some(e)) => (e.saturating_sub(MAX_SPAN_S), e),
        (None, None) => (now - MAX_SPAN_S, now),
    };
    if end < begin || end - begin > MAX_SPAN_S {
        return Err(errcode::INVALID_TIME_RANGE);
    }
    Ok(ListRequest {
        userid,
        offset,
        begin,
        end,
        limit: limit as usize,
    })
}

/// One page of `meetings` (sorted `(start, id)` pairs) and the cursor of the next page
/// (`""` when this is the last).
pub(crate) fn page<'a>(meetings: &'a [(i64, String)], req: &ListRequest) -> (Vec<&'a str>, String) {
    let first = meetings.partition_point(|(s, _)| *s < req.begin);
    let last = meetings.partition_point(|(s, _)| *s <= req.end);
    let window = &meetings[first..last.max(first)];
    let from = req.offset.min(window.len());
    let to = (from + req.limit).min(window.len());
    let ids = window[from..to].iter().map(|(_, id)| id.as_str()).collect();
    let next = if to < window.len() {
        to.to_string()
    } else {
        String::new()
    };
    (ids, next)
}

fn number(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn optional_number(v: Option<Value>) -> Result<Option<i64>, i64> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(v) => number(&v).map(Some).ok_or(errcode::INVALID_PARAMETER),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meetings() -> Vec<(i64, String)> {
        (0..250).map(|i| (1000 + i, format!("m{i:03}"))).collect()
    }

    fn req(body: &str) -> ListRequest {
        parse(body.as_bytes(), 10_000).unwrap()
    }

    #[test]
    fn pages_follow_the_cursor_until_it_is_empty() {
        let all = meetings();
        let mut cursor = "0".to_owned();
        let mut seen = Vec::new();
        let mut pages = 0;
        loop {
            let r = req(&format!(
                r#"{{"userid":"u","cursor":"{cursor}","begin_time":0,"end_time":5000}}"#
            ));
            let (ids, next) = page(&all, &r);
            seen.extend(ids.into_iter().map(String::from));
            pages += 1;
            if next.is_empty() {
                break;
            }
            cursor = next;
        }
        assert_eq!(pages, 3);
        assert_eq!(seen.len(), 250);
        assert_eq!(seen[0], "m000");
    }

    #[test]
    fn only_meetings_starting_inside_the_window_are_listed() {
        let r = req(r#"{"userid":"u","begin_time":1010,"end_time":"1019","limit":50}"#);
        let all = meetings();
        let (ids, next) = page(&all, &r);
        assert_eq!(ids.len(), 10);
        assert_eq!((ids[0], ids[9]), ("m010", "m019"));
        assert!(next.is_empty());
    }

    #[test]
    fn a_limit_above_100_is_an_invalid_parameter() {
        let body = br#"{"userid":"u","begin_time":0,"end_time":1,"limit":101}"#;
        assert_eq!(parse(body, 0), Err(errcode::INVALID_PARAMETER));
    }

    #[test]
    fn a_span_above_180_days_is_an_invalid_time_range() {
        let body = format!(
            r#"{{"userid":"u","begin_time":0,"end_time":{}}}"#,
            MAX_SPAN_S + 1
        );
        assert_eq!(parse(body.as_bytes(), 0), Err(errcode::INVALID_TIME_RANGE));
        let backwards = br#"{"userid":"u","begin_time":10,"end_time":5}"#;
        assert_eq!(parse(backwards, 0), Err(errcode::INVALID_TIME_RANGE));
    }

    #[test]
    fn a_missing_userid_or_a_bad_cursor_is_an_invalid_parameter() {
        assert_eq!(
            parse(br#"{"cursor":"0"}"#, 0),
            Err(errcode::INVALID_PARAMETER)
        );
        let bad = br#"{"userid":"u","cursor":"abc"}"#;
        assert_eq!(parse(bad, 0), Err(errcode::INVALID_PARAMETER));
        assert_eq!(parse(b"not json", 0), Err(errcode::BAD_JSON));
    }

    #[test]
    fn a_missing_window_means_the_last_180_days() {
        let r = req(r#"{"userid":"u"}"#);
        assert_eq!((r.begin, r.end), (10_000 - MAX_SPAN_S, 10_000));
    }
}
