//! The store's `failures` table: the meetings WeCom refused (or the source had nothing for),
//! kept until a later fetch succeeds, with the window that asked for them and how many runs
//! refused them permanently; and the failures a window counts, current or given up. Written by
//! [`Store::put`]; an occurrence's failures are in [`super::occurrences`].

use super::store::Store;
use crate::domain::{GivenUp, MeetingFailure};
use crate::wecom::errcode::{ErrClass, classify};
use anyhow::Result;
use rusqlite::params;
use std::collections::HashSet;

impl Store {
    /// Of `ids`, those given up: refused with a permanent errcode in `give_up_after` runs.
    pub fn given_up_ids(&self, ids: &[String], give_up_after: u32) -> Result<HashSet<String>> {
        // One read transaction for all the lookups, not one per id.
        let _read = self.read_transaction()?;
        let mut stmt = self.conn().prepare_cached(
            "SELECT 1 FROM failures WHERE meetingid = ?1 AND permanent_runs >= ?2",
        )?;
        let mut out = HashSet::new();
        for id in ids {
            if stmt.exists(params![id, give_up_after])? {
                out.insert(id.clone());
            }
        }
        Ok(out)
    }

    /// The failures that belong to a window: those of meetings asked for by a run of an
    /// overlapping window, or whose last good body starts in it (`window` as first and last
    /// local date and the epoch bounds of the window); every failure when `window` is `None`.
    /// Split into current failures and meetings given up after `give_up_after` permanent
    /// refusals.
    pub fn failures_in(
        &self,
        window: Option<(&str, &str, i64, i64)>,
        give_up_after: u32,
    ) -> Result<(Vec<MeetingFailure>, Vec<GivenUp>)> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT f.meetingid, f.errcode, f.reason, f.permanent_runs,
                    COALESCE(f.first_failed_at, f.failed_at), f.failed_at
             FROM failures f LEFT JOIN meetings m
               ON m.meetingid = f.meetingid AND m.parse_error IS NULL
             WHERE ?1 IS NULL
                OR (f.window_from <= ?2 AND f.window_to >= ?1)
                OR (m.meeting_start >= ?3 AND m.meeting_start < ?4)
             UNION ALL
             SELECT meetingid, NULL, 'stored body is not a get_info answer: ' || parse_error,
                    0, fetched_at, fetched_at
             FROM meetings WHERE parse_error IS NOT NULL
             ORDER BY 1",
        )?;
        let (from, to, start, end) = match window {
            Some((a, b, s, e)) => (Some(a), Some(b), s, e),
            None => (None, None, 0, 0),
        };
        let mut all = Vec::new();
        let mut rows = stmt.query(params![from, to, start, end])?;
        while let Some(r) = rows.next()? {
            let failure = MeetingFailure {
                meetingid: r.get(0)?,
                sub_meetingid: None,
                errcode: r.get(1)?,
                reason: r.get(2)?,
            };
            all.push((failure, r.get(3)?, r.get(4)?, r.get(5)?));
        }
        let of_occurrences = self.occurrence_failures(window)?;
        if !of_occurrences.is_empty() {
            all.extend(of_occurrences);
            all.sort_by(|a, b| {
                (&a.0.meetingid, &a.0.sub_meetingid).cmp(&(&b.0.meetingid, &b.0.sub_meetingid))
            });
        }
        let mut failures = Vec::new();
        let mut given_up = Vec::new();
        for (failure, runs, first, last) in all {
            if runs >= i64::from(give_up_after) {
                given_up.push(GivenUp {
                    failure,
                    permanent_runs: runs,
                    first_failed_at: timestamp(first),
                    last_failed_at: timestamp(last),
                });
            } else {
                failures.push(failure);
            }
        }
        Ok((failures, given_up))
    }

    /// Meetings that are currently failed: refused by WeCom or stored with an unparsable body.
    pub fn failures(&self) -> Result<Vec<MeetingFailure>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT meetingid, errcode, reason FROM failures
             UNION ALL
             SELECT meetingid, NULL, 'stored body is not a get_info answer: ' || parse_error
             FROM meetings WHERE parse_error IS NOT NULL
             ORDER BY 1",
        )?;
        let all = stmt
            .query_map([], |r| {
                Ok(MeetingFailure {
                    meetingid: r.get(0)?,
                    sub_meetingid: None,
                    errcode: r.get(1)?,
                    reason: r.get(2)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut all: Vec<MeetingFailure> = all;
        all.extend(self.occurrence_failures(None)?.into_iter().map(|f| f.0));
        all.sort_by(|a, b| (&a.meetingid, &a.sub_meetingid).cmp(&(&b.meetingid, &b.sub_meetingid)));
        Ok(all)
    }
}

/// Whether a failure's errcode is one no retry will change (not found, no permission …):
/// busy (-1), throttled and unknown-reason failures are not.
pub(super) fn is_permanent(errcode: Option<i64>) -> bool {
    errcode.is_some_and(|c| classify(c) == ErrClass::PerMeeting)
}

/// RFC 3339 text of unix seconds.
fn timestamp(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use crate::domain::MeetingFailure;
    use crate::fetch::store::Record;
    use crate::fetch::store::tests::{body, temp_store};

    #[test]
    fn a_success_clears_an_earlier_failure_and_a_failure_keeps_an_earlier_body() {
        let (mut s, _dir) = temp_store();
        s.put(&[Record::Failure(MeetingFailure {
            meetingid: "a".into(),
            sub_meetingid: None,
            errcode: Some(90602),
            reason: "x".into(),
        })])
        .unwrap();
        assert_eq!(s.failures().unwrap().len(), 1);
        s.put(&[body("a", 3, 10)]).unwrap();
        assert!(s.failures().unwrap().is_empty());
        s.put(&[Record::Failure(MeetingFailure {
            meetingid: "a".into(),
            sub_meetingid: None,
            errcode: Some(-1),
            reason: "busy".into(),
        })])
        .unwrap();
        assert!(s.body("a").unwrap().is_some());
    }
}
