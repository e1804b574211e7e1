//! The store's recurring meetings (周期性会议): the occurrence registry, the occurrences' bodies
//! and their failures.
//!
//! A series has one `meetingid`; its head (the answer fetched without `sub_meetingid`) stays in
//! `meetings`, verbatim, marked `series = 1` when it lists occurrences. Every occurrence any
//! answer listed is kept in `occurrences` (scheduled start and end, listing status, title,
//! repeat_id, first and last seen) and never forgotten when it scrolls out of the list, so it is
//! still fetched when due. Each occurrence's own body (get_info with `sub_meetingid`) is kept in
//! `occurrence_bodies` under the pair, with its fetch time, status and start, like a meeting's;
//! an answer that cannot be used never replaces one that can. A store without series has these
//! tables empty, and no query of a one-off meeting reads them.

use super::failures::is_permanent;
use super::store::{CODEC_LZ4, Store, pack, stored_body};
use crate::domain::{MeetingFailure, MeetingStatus};
use crate::wecom::model::{OCCURRENCE_DELETED, SeriesInfo};
use anyhow::{Context, Result};
use rusqlite::{OptionalExtension, Transaction, params};

pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS occurrences (
    meetingid     TEXT NOT NULL,
    sub_meetingid TEXT NOT NULL,
    start_time    INTEGER,
    end_time      INTEGER,
    status        INTEGER,
    title         TEXT,
    repeat_id     TEXT,
    first_seen    INTEGER NOT NULL,
    last_seen     INTEGER NOT NULL,
    PRIMARY KEY (meetingid, sub_meetingid)
);
CREATE INDEX IF NOT EXISTS occurrences_by_start ON occurrences(start_time);
CREATE TABLE IF NOT EXISTS occurrence_bodies (
    meetingid     TEXT NOT NULL,
    sub_meetingid TEXT NOT NULL,
    body          BLOB NOT NULL,
    body_codec    TEXT,
    fetched_at    INTEGER NOT NULL,
    source        TEXT NOT NULL,
    status        INTEGER,
    meeting_start INTEGER,
    parse_error   TEXT,
    PRIMARY KEY (meetingid, sub_meetingid)
);
CREATE INDEX IF NOT EXISTS occurrence_bodies_by_start ON occurrence_bodies(meeting_start);
CREATE TABLE IF NOT EXISTS occurrence_failures (
    meetingid       TEXT NOT NULL,
    sub_meetingid   TEXT NOT NULL,
    errcode         INTEGER,
    reason          TEXT NOT NULL,
    failed_at       INTEGER NOT NULL,
    first_failed_at INTEGER,
    permanent_runs  INTEGER NOT NULL DEFAULT 0,
    window_from     TEXT,
    window_to       TEXT,
    PRIMARY KEY (meetingid, sub_meetingid)
);
";

/// The upgrade of a store written before series: heads are marked in `meetings.series`; the
/// partial index keeps finding them free for a store that has none.
pub(super) const UPGRADE: &str = "
ALTER TABLE meetings ADD COLUMN series INTEGER;
";
pub(super) const SERIES_INDEX: &str =
    "CREATE INDEX IF NOT EXISTS meetings_series ON meetings(meetingid) WHERE series IS NOT NULL;";

/// One occurrence as an answer of its series listed it (`sub_meetings[]`, or a
/// `current_sub_meetingid` the list lacks, with nothing else known).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub sub_meetingid: String,
    pub start: Option<i64>,
    pub end: Option<i64>,
    /// 0 exists, 1 deleted.
    pub status: Option<i64>,
    pub title: Option<String>,
    pub repeat_id: Option<String>,
}

impl Listed {
    /// The occurrences a series' answer lists: `sub_meetings`, then `current_sub_meetingid`
    /// when the list lacks it.
    pub fn from_answer(info: &SeriesInfo) -> Vec<Listed> {
        let mut out: Vec<Listed> = info
            .sub_meetings
            .iter()
            .flatten()
            .map(|s| Listed {
                sub_meetingid: s.sub_meetingid.clone(),
                start: s.start_time.filter(|t| *t > 0),
                end: s.end_time.filter(|t| *t > 0),
                status: s.status,
                title: s.title.clone(),
                repeat_id: s.repeat_id.clone(),
            })
            .collect();
        if let Some(current) = &info.current_sub_meetingid
            && !out.iter().any(|l| &l.sub_meetingid == current)
        {
            out.push(Listed {
                sub_meetingid: current.clone(),
                start: None,
                end: None,
                status: None,
                title: None,
                repeat_id: None,
            });
        }
        out
    }
}

/// What the fetch of a series records.
#[derive(Debug, Clone)]
pub enum SeriesRecord {
    /// The occurrences an answer of series `meetingid` listed; `head` when the answer is the
    /// head's (it is then marked as a series with occurrence information; its body was
    /// recorded just before).
    Listing {
        meetingid: String,
        head: bool,
        occurrences: Vec<Listed>,
    },
    /// An occurrence's own answer (parsed or not).
    Body {
        meetingid: String,
        sub_meetingid: String,
        body: Vec<u8>,
        status: Option<i64>,
        meeting_start: Option<i64>,
        parse_error: Option<String>,
    },
    /// An occurrence WeCom refused (its `sub_meetingid` is set).
    Failure(MeetingFailure),
}

/// One occurrence to ask for.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OccurrenceKey {
    pub meetingid: String,
    pub sub_meetingid: String,
}

/// An occurrence to ask for.
#[derive(Debug, Clone)]
pub struct DueOccurrence {
    pub key: OccurrenceKey,
    /// The listed start (`None` when only known as the current occurrence).
    pub start: Option<i64>,
    /// A usable answer is stored: a new one must not replace it unless usable too.
    pub stored: bool,
}

/// The occurrences of a fetch: those to ask for, and how many need no call.
#[derive(Debug, Default)]
pub struct DueOccurrences {
    pub todo: Vec<DueOccurrence>,
    /// Stored ended (cancelled, expired) with a good body: never fetched again.
    pub reused: usize,
    /// Refused with a permanent errcode in `give_up_after` runs.
    pub given_up: usize,
}

/// Which occurrences a fetch considers: those scheduled in `[lookback_start, end)`, of which
/// those from `window_start` on are the window's (`--refetch` asks for them again); `None`
/// (window `all`) for every occurrence known.
#[derive(Debug, Clone, Copy)]
pub struct OccurrenceSpan {
    pub lookback_start: i64,
    pub window_start: i64,
    pub end: i64,
}

/// Writes one series record inside the store's transaction.
pub(super) fn put(
    tx: &Transaction<'_>,
    record: &SeriesRecord,
    now: i64,
    source: &str,
    window: (Option<&str>, Option<&str>),
) -> Result<()> {
    match record {
        SeriesRecord::Listing {
            meetingid,
            head,
            occurrences,
        } => {
            // A listing refreshes what it says; what it leaves out is kept.
            let mut upsert = tx.prepare_cached(
                "INSERT INTO occurrences (meetingid, sub_meetingid, start_time, end_time, status,
                                          title, repeat_id, first_seen, last_seen)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)
                 ON CONFLICT(meetingid, sub_meetingid) DO UPDATE SET
                    start_time = COALESCE(excluded.start_time, occurrences.start_time),
                    end_time = COALESCE(excluded.end_time, occurrences.end_time),
                    status = COALESCE(excluded.status, occurrences.status),
                    title = COALESCE(excluded.title, occurrences.title),
                    repeat_id = COALESCE(excluded.repeat_id, occurrences.repeat_id),
                    last_seen = excluded.last_seen",
            )?;
            for o in occurrences {
                upsert.execute(params![
                    meetingid,
                    o.sub_meetingid,
                    o.start,
                    o.end,
                    o.status,
                    o.title,
                    o.repeat_id,
                    now
                ])?;
            }
            if *head {
                tx.prepare_cached("UPDATE meetings SET series = 1 WHERE meetingid = ?1")?
                    .execute([meetingid])?;
            }
        }
        SeriesRecord::Body {
            meetingid,
            sub_meetingid,
            body,
            status,
            meeting_start,
            parse_error,
        } => {
            // An answer that cannot be used never replaces one that can.
            let written = tx
                .prepare_cached(
                    "INSERT INTO occurrence_bodies
                     (meetingid, sub_meetingid, body, body_codec, fetched_at, source, status,
                      meeting_start, parse_error)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                     ON CONFLICT(meetingid, sub_meetingid) DO UPDATE SET
                        body = excluded.body, body_codec = excluded.body_codec,
                        fetched_at = excluded.fetched_at, source = excluded.source,
                        status = excluded.status, meeting_start = excluded.meeting_start,
                        parse_error = excluded.parse_error
                     WHERE excluded.parse_error IS NULL
                        OR occurrence_bodies.parse_error IS NOT NULL",
                )?
                .execute(params![
                    meetingid,
                    sub_meetingid,
                    pack(body)?,
                    CODEC_LZ4,
                    now,
                    source,
                    status,
                    meeting_start,
                    parse_error
                ])?;
            if written == 0 {
                let failure = MeetingFailure {
                    meetingid: meetingid.clone(),
                    sub_meetingid: Some(sub_meetingid.clone()),
                    errcode: None,
                    reason: format!(
                        "{} (the answer stored before is kept)",
                        parse_error
                            .as_deref()
                            .unwrap_or("the answer cannot be used")
                    ),
                };
                put_failure(tx, &failure, now, window)?;
                return Ok(());
            }
            tx.prepare_cached(
                "DELETE FROM occurrence_failures WHERE meetingid = ?1 AND sub_meetingid = ?2",
            )?
            .execute([meetingid, sub_meetingid])?;
            // An occurrence listed without a schedule (only as the current one) is dated by
            // its own answer.
            if parse_error.is_none() && meeting_start.is_some() {
                tx.prepare_cached(
                    "UPDATE occurrences SET start_time = ?3
                     WHERE meetingid = ?1 AND sub_meetingid = ?2 AND start_time IS NULL",
                )?
                .execute(params![meetingid, sub_meetingid, meeting_start])?;
            }
        }
        SeriesRecord::Failure(f) => put_failure(tx, f, now, window)?,
    }
    Ok(())
}

/// Records an occurrence's failure as `failures` records a meeting's: first failure kept,
/// permanent refusals counted, the asking window remembered.
fn put_failure(
    tx: &Transaction<'_>,
    f: &MeetingFailure,
    now: i64,
    (window_from, window_to): (Option<&str>, Option<&str>),
) -> Result<()> {
    let permanent = i64::from(is_permanent(f.errcode));
    tx.prepare_cached(
        "INSERT INTO occurrence_failures (meetingid, sub_meetingid, errcode, reason, failed_at,
                                          first_failed_at, permanent_runs, window_from, window_to)
         VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6, ?7, ?8)
         ON CONFLICT(meetingid, sub_meetingid) DO UPDATE SET
            errcode = excluded.errcode, reason = excluded.reason,
            failed_at = excluded.failed_at,
            permanent_runs = occurrence_failures.permanent_runs + excluded.permanent_runs,
            window_from = COALESCE(excluded.window_from, occurrence_failures.window_from),
            window_to = COALESCE(excluded.window_to, occurrence_failures.window_to)",
    )?
    .execute(params![
        f.meetingid,
        f.sub_meetingid.as_deref().unwrap_or_default(),
        f.errcode,
        f.reason,
        now,
        permanent,
        window_from,
        window_to
    ])?;
    Ok(())
}

/// A failure row of either table: the meeting, the occurrence (if any), errcode, reason,
/// permanent runs, first and last failure.
pub(super) type FailureRow = (MeetingFailure, i64, i64, i64);

impl Store {
    /// The occurrences to fetch: every listed, not deleted occurrence scheduled in `span`
    /// (every one for `None`), and those listed without a schedule yet, except those stored
    /// ended with a good body and no failure since (unless `refetch`, for the window's own)
    /// and those given up (unless `refetch`).
    pub fn due_occurrences(
        &self,
        span: Option<OccurrenceSpan>,
        refetch: bool,
        give_up_after: u32,
    ) -> Result<DueOccurrences> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT o.meetingid, o.sub_meetingid, o.start_time, b.status, b.parse_error IS NULL,
                    f.meetingid IS NOT NULL, COALESCE(f.permanent_runs, 0)
             FROM occurrences o
             LEFT JOIN occurrence_bodies b
               ON b.meetingid = o.meetingid AND b.sub_meetingid = o.sub_meetingid
             LEFT JOIN occurrence_failures f
               ON f.meetingid = o.meetingid AND f.sub_meetingid = o.sub_meetingid
             WHERE (o.status IS NULL OR o.status != ?1)
               AND (?2 IS NULL OR o.start_time IS NULL
                    OR (o.start_time >= ?2 AND o.start_time < ?3))
             ORDER BY o.start_time, o.meetingid, o.sub_meetingid",
        )?;
        let (from, end) = match span {
            Some(s) => (Some(s.lookback_start), s.end),
            None => (None, 0),
        };
        let mut rows = stmt.query(params![OCCURRENCE_DELETED, from, end])?;
        let mut due = DueOccurrences::default();
        while let Some(r) = rows.next()? {
            let key = OccurrenceKey {
                meetingid: r.get(0)?,
                sub_meetingid: r.get(1)?,
            };
            let start: Option<i64> = r.get(2)?;
            let status: Option<i64> = r.get(3)?;
            let good: Option<bool> = r.get(4)?;
            let failed: bool = r.get(5)?;
            let permanent_runs: i64 = r.get(6)?;
            let in_window = match span {
                Some(s) => start.is_none_or(|t| t >= s.window_start),
                None => true,
            };
            let ended = good == Some(true)
                && status.is_some_and(|c| MeetingStatus::from_code(c).is_final())
                && !failed;
            if ended && !(refetch && in_window) {
                due.reused += 1;
            } else if !refetch && permanent_runs >= i64::from(give_up_after) {
                due.given_up += 1;
            } else {
                due.todo.push(DueOccurrence {
                    key,
                    start,
                    stored: good == Some(true),
                });
            }
        }
        Ok(due)
    }

    /// Series heads to fetch again: those that list occurrences and are not over (their status
    /// is not final), unless every occurrence they ever listed started before `since` (a
    /// series that no longer lists anything upcoming). `None`: every head not over.
    pub fn series_heads_due(&self, since: Option<i64>) -> Result<Vec<String>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT m.meetingid, m.status,
                    (SELECT MAX(o.start_time) FROM occurrences o WHERE o.meetingid = m.meetingid)
             FROM meetings m
             WHERE m.series IS NOT NULL AND m.parse_error IS NULL
             ORDER BY m.meetingid",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, Option<i64>>(1)?,
                r.get::<_, Option<i64>>(2)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, status, latest) = row?;
            let over = status.is_some_and(|c| MeetingStatus::from_code(c).is_final());
            let stale = matches!((since, latest), (Some(s), Some(l)) if l < s);
            if !over && !stale {
                out.push(id);
            }
        }
        Ok(out)
    }

    /// The stored body of one occurrence, verbatim.
    pub fn occurrence_body(&self, key: &OccurrenceKey) -> Result<Option<Vec<u8>>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT body_codec, body FROM occurrence_bodies
             WHERE meetingid = ?1 AND sub_meetingid = ?2",
        )?;
        let mut rows = stmt.query([&key.meetingid, &key.sub_meetingid])?;
        let Some(r) = rows.next()? else {
            return Ok(None);
        };
        let body = stored_body(r, 0).with_context(|| {
            format!(
                "stored body of occurrence {} of meeting {}",
                key.sub_meetingid, key.meetingid
            )
        })?;
        Ok(Some(body))
    }

    /// The start of a stored, parsed occurrence (its own answer's), else the listed one.
    pub fn occurrence_start(&self, key: &OccurrenceKey) -> Result<Option<i64>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT COALESCE(
                (SELECT meeting_start FROM occurrence_bodies
                 WHERE meetingid = ?1 AND sub_meetingid = ?2 AND parse_error IS NULL),
                (SELECT start_time FROM occurrences WHERE meetingid = ?1 AND sub_meetingid = ?2))",
        )?;
        Ok(stmt
            .query_row([&key.meetingid, &key.sub_meetingid], |r| {
                r.get::<_, Option<i64>>(0)
            })
            .optional()?
            .flatten())
    }

    /// Whether any occurrence body is stored (a store without series reads no further).
    pub fn has_occurrence_bodies(&self) -> Result<bool> {
        Ok(self
            .conn()
            .prepare_cached("SELECT 1 FROM occurrence_bodies LIMIT 1")?
            .exists([])?)
    }

    /// Parsed occurrence bodies starting in `[start, end)`, not deleted since, in start order.
    pub(super) fn occurrence_rows_sql() -> &'static str {
        "SELECT b.meeting_start, b.meetingid, b.sub_meetingid, b.body_codec, b.body
         FROM occurrence_bodies b
         LEFT JOIN occurrences o
           ON o.meetingid = b.meetingid AND o.sub_meetingid = b.sub_meetingid
         WHERE b.parse_error IS NULL AND b.meeting_start >= ?1 AND b.meeting_start < ?2
           AND (o.status IS NULL OR o.status != ?3)
         ORDER BY b.meeting_start, b.meetingid, b.sub_meetingid"
    }

    /// The occurrences' failures (refusals and unusable stored bodies) that belong to a window
    /// (as [`Store::failures_in`] reads it), or all with `None`.
    pub(super) fn occurrence_failures(
        &self,
        window: Option<(&str, &str, i64, i64)>,
    ) -> Result<Vec<FailureRow>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT f.meetingid, f.sub_meetingid, f.errcode, f.reason, f.permanent_runs,
                    COALESCE(f.first_failed_at, f.failed_at), f.failed_at
             FROM occurrence_failures f LEFT JOIN occurrences o
               ON o.meetingid = f.meetingid AND o.sub_meetingid = f.sub_meetingid
             WHERE ?1 IS NULL
                OR (f.window_from <= ?2 AND f.window_to >= ?1)
                OR (o.start_time >= ?3 AND o.start_time < ?4)
             UNION ALL
             SELECT meetingid, sub_meetingid, NULL,
                    'stored body is not a get_info answer: ' || parse_error,
                    0, fetched_at, fetched_at
             FROM occurrence_bodies WHERE parse_error IS NOT NULL
             ORDER BY 1, 2",
        )?;
        let (from, to, start, end) = match window {
            Some((a, b, s, e)) => (Some(a), Some(b), s, e),
            None => (None, None, 0, 0),
        };
        let mut rows = stmt.query(params![from, to, start, end])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let failure = MeetingFailure {
                meetingid: r.get(0)?,
                sub_meetingid: Some(r.get(1)?),
                errcode: r.get(2)?,
                reason: r.get(3)?,
            };
            out.push((failure, r.get(4)?, r.get(5)?, r.get(6)?));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fetch::store::Record;

    const T: i64 = 1_700_000_000;
    const HOUR: i64 = 3_600;

    fn temp_store() -> (Store, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&dir.path().join("raw.sqlite"), "api").unwrap();
        (s, dir)
    }

    fn listed(sub: &str, start: i64, status: i64) -> Listed {
        Listed {
            sub_meetingid: sub.into(),
            start: Some(start),
            end: Some(start + HOUR),
            status: Some(status),
            title: Some("周会".into()),
            repeat_id: Some("1".into()),
        }
    }

    fn head(id: &str, occurrences: Vec<Listed>) -> Vec<Record> {
        vec![
            Record::Body {
                meetingid: id.into(),
                body: br#"{"meeting_type":1,"status":1,"sub_meetings":[]}"#.to_vec(),
                packed: None,
                status: Some(1),
                meeting_start: Some(T - 30 * 86_400),
                parse_error: None,
            },
            Record::Series(SeriesRecord::Listing {
                meetingid: id.into(),
                head: true,
                occurrences,
            }),
        ]
    }

    fn occurrence(sub: &str, start: i64, status: i64, parse_error: Option<&str>) -> Record {
        Record::Series(SeriesRecord::Body {
            meetingid: "hyS".into(),
            sub_meetingid: sub.into(),
            body: format!("{{\"status\":{status},\"sub\":\"{sub}\"}}").into_bytes(),
            status: Some(status),
            meeting_start: Some(start),
            parse_error: parse_error.map(String::from),
        })
    }

    fn span() -> Option<OccurrenceSpan> {
        Some(OccurrenceSpan {
            lookback_start: T - 86_400,
            window_start: T,
            end: T + 86_400,
        })
    }

    fn todo(s: &Store, refetch: bool) -> Vec<String> {
        let due = s.due_occurrences(span(), refetch, 3).unwrap();
        due.todo.into_iter().map(|o| o.key.sub_meetingid).collect()
    }

    #[test]
    fn an_occurrence_that_scrolls_out_of_the_list_is_remembered_and_still_due() {
        let (mut s, _dir) = temp_store();
        s.put(&head(
            "hyS",
            vec![listed("a", T, 0), listed("b", T + HOUR, 0)],
        ))
        .unwrap();
        // The next answer lists only b (a scrolled out) and a deleted c.
        s.put(&head(
            "hyS",
            vec![listed("b", T + HOUR, 0), listed("c", T + 2 * HOUR, 1)],
        ))
        .unwrap();
        assert_eq!(todo(&s, false), ["a", "b"], "a is remembered, c deleted");
        let (first, last): (i64, i64) = s
            .conn()
            .query_row(
                "SELECT first_seen, last_seen FROM occurrences WHERE sub_meetingid = 'a'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert!(first <= last);
        // An ended occurrence is reused; an upcoming one fetched again; --refetch asks again.
        s.put(&[
            occurrence("a", T, 3, None),
            occurrence("b", T + HOUR, 1, None),
        ])
        .unwrap();
        let due = s.due_occurrences(span(), false, 3).unwrap();
        assert_eq!((due.reused, due.todo.len()), (1, 1));
        assert_eq!(todo(&s, true), ["a", "b"]);
        assert_eq!(s.series_heads_due(Some(T)).unwrap(), ["hyS"]);
        assert!(
            s.series_heads_due(Some(T + 86_400)).unwrap().is_empty(),
            "a series listing nothing after the lookback is not fetched again"
        );
    }

    #[test]
    fn a_bad_refetch_of_an_occurrence_never_replaces_its_good_body_and_stays_due() {
        let (mut s, _dir) = temp_store();
        s.put(&head("hyS", vec![listed("a", T, 0)])).unwrap();
        s.put(&[occurrence("a", T, 3, None)]).unwrap();
        let key = OccurrenceKey {
            meetingid: "hyS".into(),
            sub_meetingid: "a".into(),
        };
        let good = s.occurrence_body(&key).unwrap();
        s.put(&[occurrence("a", T, 3, Some("not JSON"))]).unwrap();
        assert_eq!(s.occurrence_body(&key).unwrap(), good);
        let (failures, _) = s.failures_in(None, 3).unwrap();
        assert_eq!(failures.len(), 1);
        assert_eq!(failures[0].sub_meetingid.as_deref(), Some("a"));
        assert!(
            failures[0].reason.contains("kept"),
            "{}",
            failures[0].reason
        );
        assert_eq!(
            todo(&s, false),
            ["a"],
            "due again until a good answer comes"
        );
        s.put(&[occurrence("a", T, 3, None)]).unwrap();
        assert!(s.failures().unwrap().is_empty());
        assert!(todo(&s, false).is_empty());
    }

    #[test]
    fn the_window_reader_gives_occurrences_with_one_off_meetings_in_start_order_without_the_head() {
        let (mut s, _dir) = temp_store();
        s.put(&head(
            "hyS",
            vec![listed("a", T, 0), listed("b", T + 2 * HOUR, 0)],
        ))
        .unwrap();
        s.put(&[
            occurrence("a", T, 3, None),
            occurrence("b", T + 2 * HOUR, 3, None),
            Record::Body {
                meetingid: "hyOne".into(),
                body: b"{}".to_vec(),
                packed: None,
                status: Some(3),
                meeting_start: Some(T + HOUR),
                parse_error: None,
            },
        ])
        .unwrap();
        let mut seen = Vec::new();
        s.for_each_chunk(T - 60 * 86_400, T + 86_400, 2, |chunk| {
            seen.extend(
                chunk
                    .into_iter()
                    .map(|b| format!("{}/{}", b.meetingid, b.sub_meetingid.unwrap_or_default())),
            );
            Ok(())
        })
        .unwrap();
        assert_eq!(seen, ["hyS/a", "hyOne/", "hyS/b"]);
        assert_eq!(s.count_between(T, T + 86_400).unwrap(), 3);
        // Window `all` over the series' id reaches its last occurrence.
        let span = s.start_span(Some(&["hyS".to_string()])).unwrap();
        assert_eq!(span, Some((T - 30 * 86_400, T + 2 * HOUR)));
    }
}
