//! The local raw store: every get_info body kept verbatim in SQLite, keyed by meeting id.
//!
//! The store is what makes reruns cheap and crashes harmless. `fetch` writes bodies in short
//! transactions (WAL journal), so a run killed at any instant leaves every committed body intact
//! and the next run fetches only what is missing; `summarize` reads only the store. Alongside each
//! body it keeps the fetch time and the meeting's status and start (to decide what needs
//! refetching and which meetings fall in a window), or the parse error when the body could not be
//! understood — the body is still kept, so nothing WeCom sent is lost. Meetings WeCom refused
//! (per-meeting errcodes) are kept in `failures` until a later fetch succeeds.
//!
//! Bodies are stored LZ4-compressed (`body_codec = 'lz4'`; a NULL codec, as in stores written
//! before compression, is the raw body), losslessly: [`Store::body`] and the window reader give
//! back the bytes WeCom sent. get_info JSON shrinks about 5×, so a window's bodies stay in the
//! page cache and are read with a fifth of the system calls.

mod file;

use super::failures::is_permanent;
use super::occurrences::{self, SeriesRecord};
use crate::domain::series::StoredBody;
use crate::domain::{MeetingFailure, MeetingStatus, PLAUSIBLE_TIMES, plausible_time};
use crate::wecom::model::OCCURRENCE_DELETED;
use anyhow::{Context, Result, bail};
pub use file::create_private_dir;
use rusqlite::{Connection, OptionalExtension, params};
use std::collections::HashSet;
use std::path::Path;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meetings (
    meetingid     TEXT PRIMARY KEY,
    body          BLOB NOT NULL,
    body_codec    TEXT,
    fetched_at    INTEGER NOT NULL,
    source        TEXT NOT NULL,
    status        INTEGER,
    meeting_start INTEGER,
    parse_error   TEXT
);
CREATE INDEX IF NOT EXISTS meetings_by_start ON meetings(meeting_start);
CREATE TABLE IF NOT EXISTS failures (
    meetingid  TEXT PRIMARY KEY,
    errcode    INTEGER,
    reason     TEXT NOT NULL,
    failed_at  INTEGER NOT NULL
);
";

/// One outcome of fetching a meeting, as the store records it.
#[derive(Debug, Clone)]
pub enum Record {
    /// WeCom answered with a body (parsed or not).
    Body {
        meetingid: String,
        body: Vec<u8>,
        /// `body` already LZ4-packed as the store keeps it ([`Record::pack_body`]), or `None`:
        /// the store packs it when it writes it.
        packed: Option<Vec<u8>>,
        status: Option<i64>,
        meeting_start: Option<i64>,
        parse_error: Option<String>,
    },
    /// WeCom refused this meeting (or the source had nothing for it).
    Failure(MeetingFailure),
    /// A series' listing, an occurrence's body or its failure.
    Series(SeriesRecord),
}

impl Record {
    /// Packs a body where it was received (the fetch's tasks, spread over the runtime's
    /// threads), so that the one thread writing the store does not compress every body in turn.
    /// The blob is the one [`Store::put`] would write.
    pub fn pack_body(&mut self) -> Result<()> {
        if let Record::Body { body, packed, .. } = self
            && packed.is_none()
        {
            *packed = Some(pack(body)?);
        }
        Ok(())
    }
}

pub struct Store {
    conn: Connection,
    source: &'static str,
    path: std::path::PathBuf,
    /// The window that asks for the meetings fetched now (see [`Store::set_request_window`]).
    request_window: Option<(String, String)>,
}

impl Store {
    /// Opens the store at `path` for a fetching command, creating it when there is none: the
    /// folder with mode 0700 and the file with 0600 whatever the umask, since the store holds
    /// the names and join times of every attendee. `source` labels the bodies written.
    pub fn open(path: &Path, source: &'static str) -> Result<Store> {
        if path.exists() {
            file::check_existing(path)?;
        } else {
            file::create_private(path)?;
        }
        Store::connect(path, source)
    }

    /// Opens an existing store for reading (`summarize`, `report`): a missing file, an empty
    /// one or one without the store's tables is refused, never initialised as an empty store
    /// (which would write an empty window over good partitions).
    pub fn open_existing(path: &Path) -> Result<Store> {
        file::check_existing(path)?;
        Store::connect(path, "dir")
    }

    fn connect(path: &Path, source: &'static str) -> Result<Store> {
        let conn = file::connect(path)
            .with_context(|| format!("cannot open the store {}", path.display()))?;
        Ok(Store {
            conn,
            source,
            path: path.to_path_buf(),
            request_window: None,
        })
    }

    /// The store's file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The connection, for the directory's tables ([`super::people_store`]).
    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }

    pub(crate) fn conn_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }

    /// One read transaction around a loop of lookups by id (ended when dropped): a statement
    /// run on its own takes and releases the store's file locks each time, some ten system
    /// calls per id (a second of one thread's time before a 100,000-meeting fetch starts).
    pub(crate) fn read_transaction(&self) -> Result<rusqlite::Transaction<'_>> {
        Ok(self.conn.unchecked_transaction()?)
    }

    /// Of `ids`, in their order, those stored in a row that meets `condition` (SQL over the
    /// `meetings` columns), looked up in one read transaction.
    fn ids_where(&self, condition: &str, ids: &[String]) -> Result<Vec<String>> {
        let _read = self.read_transaction()?;
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT 1 FROM meetings WHERE meetingid = ?1 AND {condition}"
        ))?;
        let mut out = Vec::new();
        for id in ids {
            if stmt.exists([id])? {
                out.push(id.clone());
            }
        }
        Ok(out)
    }

    /// Of `ids`, those stored with a final status (ended, cancelled, expired) and a body that
    /// parsed: they need no new call.
    pub fn final_ids(&self, ids: &[String]) -> Result<HashSet<String>> {
        let _read = self.read_transaction()?;
        let mut stmt = self.conn.prepare_cached(
            "SELECT status FROM meetings WHERE meetingid = ?1 AND parse_error IS NULL",
        )?;
        let mut out = HashSet::new();
        for id in ids {
            let status: Option<Option<i64>> = stmt.query_row([id], |r| r.get(0)).optional()?;
            if status
                .flatten()
                .is_some_and(|c| MeetingStatus::from_code(c).is_final())
            {
                out.insert(id.clone());
            }
        }
        Ok(out)
    }

    /// Of `ids`, those stored with a body that parsed (final or not): a new answer would
    /// replace it.
    pub fn usable_ids(&self, ids: &[String]) -> Result<HashSet<String>> {
        Ok(self
            .ids_where("parse_error IS NULL", ids)?
            .into_iter()
            .collect())
    }

    /// Writes a batch of outcomes in one transaction.
    pub fn put(&mut self, records: &[Record]) -> Result<()> {
        let now = chrono::Utc::now().timestamp();
        let tx = self.conn.transaction()?;
        {
            let mut put_body = tx.prepare_cached(
                "INSERT OR REPLACE INTO meetings
                 (meetingid, body, body_codec, fetched_at, source, status, meeting_start,
                  parse_error)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?;
            let mut clear_failure =
                tx.prepare_cached("DELETE FROM failures WHERE meetingid = ?1")?;
            // A failure keeps when it first happened, counts the runs it was permanent in, and
            // remembers the window that asked for the meeting (the last one that knew it).
            let mut put_failure = tx.prepare_cached(
                "INSERT INTO failures (meetingid, errcode, reason, failed_at, first_failed_at,
                                       permanent_runs, window_from, window_to)
                 VALUES (?1, ?2, ?3, ?4, ?4, ?5, ?6, ?7)
                 ON CONFLICT(meetingid) DO UPDATE SET
                    errcode = excluded.errcode, reason = excluded.reason,
                    failed_at = excluded.failed_at,
                    permanent_runs = failures.permanent_runs + excluded.permanent_runs,
                    window_from = COALESCE(excluded.window_from, failures.window_from),
                    window_to = COALESCE(excluded.window_to, failures.window_to)",
            )?;
            let (window_from, window_to) = match &self.request_window {
                Some((a, b)) => (Some(a.as_str()), Some(b.as_str())),
                None => (None, None),
            };
            for r in records {
                match r {
                    Record::Body {
                        meetingid,
                        body,
                        packed,
                        status,
                        meeting_start,
                        parse_error,
                    } => {
                        let blob = match packed {
                            Some(p) => std::borrow::Cow::Borrowed(p),
                            None => std::borrow::Cow::Owned(pack(body)?),
                        };
                        put_body.execute(params![
                            meetingid,
                            blob,
                            CODEC_LZ4,
                            now,
                            self.source,
                            status,
                            meeting_start,
                            parse_error
                        ])?;
                        clear_failure.execute([meetingid])?;
                    }
                    Record::Series(r) => {
                        occurrences::put(&tx, r, now, self.source, (window_from, window_to))?;
                    }
                    Record::Failure(f) => {
                        let permanent = i64::from(is_permanent(f.errcode));
                        put_failure.execute(params![
                            f.meetingid,
                            f.errcode,
                            f.reason,
                            now,
                            permanent,
                            window_from,
                            window_to
                        ])?;
                    }
                }
            }
        }
        tx.commit().context("cannot commit to the store")?;
        Ok(())
    }

    /// Calls `f` with the parsed bodies of meetings starting in `[start, end)`, in start order,
    /// `chunk` meetings at a time, so a large window never holds all its JSON at once. The
    /// bodies of a series' occurrences come in the same order, each with its `sub_meetingid`;
    /// the head of a series that lists occurrences is not a meeting of its own and is left out.
    pub fn for_each_chunk(
        &self,
        start: i64,
        end: i64,
        chunk: usize,
        mut f: impl FnMut(Vec<StoredBody>) -> Result<()>,
    ) -> Result<()> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT meeting_start, meetingid, body_codec, body FROM meetings
             WHERE parse_error IS NULL AND series IS NULL
               AND meeting_start >= ?1 AND meeting_start < ?2
             ORDER BY meeting_start, meetingid",
        )?;
        let mut rows = stmt.query([start, end])?;
        let mut batch = Vec::with_capacity(chunk);
        let mut push = |body: StoredBody, batch: &mut Vec<StoredBody>| -> Result<()> {
            batch.push(body);
            if batch.len() >= chunk {
                f(std::mem::replace(batch, Vec::with_capacity(chunk)))?;
            }
            Ok(())
        };
        if !self.has_occurrence_bodies()? {
            while let Some(r) = rows.next()? {
                push(one_off_row(r)?.1, &mut batch)?;
            }
        } else {
            // Two start-ordered streams merged: one-off meetings and occurrences.
            let mut occ_stmt = self.conn.prepare_cached(Store::occurrence_rows_sql())?;
            let mut occ = occ_stmt.query(params![start, end, OCCURRENCE_DELETED])?;
            let mut next_one_off = rows.next()?.map(one_off_row).transpose()?;
            let mut next_occurrence = occ.next()?.map(occurrence_row).transpose()?;
            loop {
                let one_off_first = match (&next_one_off, &next_occurrence) {
                    (Some(a), Some(b)) => (a.0, &a.1.meetingid) <= (b.0, &b.1.meetingid),
                    (Some(_), None) => true,
                    (None, Some(_)) => false,
                    (None, None) => break,
                };
                let body = if one_off_first {
                    let next = rows.next()?.map(one_off_row).transpose()?;
                    std::mem::replace(&mut next_one_off, next)
                } else {
                    let next = occ.next()?.map(occurrence_row).transpose()?;
                    std::mem::replace(&mut next_occurrence, next)
                };
                if let Some((_, body)) = body {
                    push(body, &mut batch)?;
                }
            }
        }
        if !batch.is_empty() {
            f(batch)?;
        }
        Ok(())
    }

    /// Earliest and latest start among stored, parsed meetings (of `ids`, or all).
    pub fn start_span(&self, ids: Option<&[String]>) -> Result<Option<(i64, i64)>> {
        match ids {
            None => {
                let (lo, hi) = self.conn.query_row(
                    "SELECT MIN(meeting_start), MAX(meeting_start) FROM meetings
                     WHERE parse_error IS NULL AND meeting_start >= ?1 AND meeting_start < ?2",
                    [PLAUSIBLE_TIMES.start, PLAUSIBLE_TIMES.end],
                    |r| Ok((r.get::<_, Option<i64>>(0)?, r.get::<_, Option<i64>>(1)?)),
                )?;
                // Occurrences of series: two min/max lookups by index, not a scan.
                let (olo, ohi) = self.conn.query_row(
                    "SELECT MIN(meeting_start), MAX(meeting_start) FROM occurrence_bodies
                     WHERE parse_error IS NULL AND meeting_start >= ?1 AND meeting_start < ?2",
                    [PLAUSIBLE_TIMES.start, PLAUSIBLE_TIMES.end],
                    |r| Ok((r.get::<_, Option<i64>>(0)?, r.get::<_, Option<i64>>(1)?)),
                )?;
                let lo = [lo, olo].into_iter().flatten().min();
                let hi = [hi, ohi].into_iter().flatten().max();
                Ok(lo.zip(hi))
            }
            Some(ids) => {
                let _read = self.read_transaction()?;
                let mut stmt = self.conn.prepare_cached(
                    "SELECT meeting_start FROM meetings
                     WHERE meetingid = ?1 AND parse_error IS NULL AND meeting_start > 0",
                )?;
                let mut span: Option<(i64, i64)> = None;
                let mut widen = |t: i64| {
                    span = Some(span.map_or((t, t), |(a, b)| (a.min(t), b.max(t))));
                };
                for id in ids {
                    let start = stmt.query_row([id], |r| r.get::<_, i64>(0)).optional()?;
                    // Stores written before starts were checked may hold impossible ones.
                    if let Some(t) = start.filter(|t| plausible_time(*t)) {
                        widen(t);
                    }
                }
                // A series' occurrences reach past its head's start (its first occurrence).
                if self.has_occurrence_bodies()? {
                    let mut stmt = self.conn.prepare_cached(
                        "SELECT MIN(meeting_start), MAX(meeting_start) FROM occurrence_bodies
                         WHERE meetingid = ?1 AND parse_error IS NULL
                           AND meeting_start >= ?2 AND meeting_start < ?3",
                    )?;
                    for id in ids {
                        let (lo, hi) = stmt.query_row(
                            params![id, PLAUSIBLE_TIMES.start, PLAUSIBLE_TIMES.end],
                            |r| Ok((r.get::<_, Option<i64>>(0)?, r.get::<_, Option<i64>>(1)?)),
                        )?;
                        lo.into_iter().chain(hi).for_each(&mut widen);
                    }
                }
                Ok(span)
            }
        }
    }

    /// Tags the failures written from now on with the window (first and last local date) that
    /// asked for their meetings, so that a later `summarize` of another window does not count
    /// them.
    pub fn set_request_window(&mut self, window: Option<(String, String)>) {
        self.request_window = window;
    }

    /// Of `ids`, those stored with a parsed, dated body: the date each belongs to is known even
    /// if its latest fetch failed.
    pub fn dated(&self, ids: &[String]) -> Result<HashSet<String>> {
        Ok(self
            .ids_where("parse_error IS NULL AND meeting_start IS NOT NULL", ids)?
            .into_iter()
            .collect())
    }

    /// Stored meetings not in a final status (upcoming, in progress, unknown) that start in
    /// `[start, end)`: the ones a lookback fetches again. A series' head is not among them
    /// (its start is the series' first occurrence; see [`Store::series_heads_due`]).
    pub fn unfinished_between(&self, start: i64, end: i64) -> Result<Vec<String>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT meetingid, status FROM meetings
             WHERE parse_error IS NULL AND series IS NULL
               AND meeting_start >= ?1 AND meeting_start < ?2
             ORDER BY meeting_start, meetingid",
        )?;
        let rows = stmt.query_map([start, end], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, Option<i64>>(1)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, status) = row?;
            if !status.is_some_and(|c| MeetingStatus::from_code(c).is_final()) {
                out.push(id);
            }
        }
        Ok(out)
    }

    /// The start (unix seconds) of a stored, parsed meeting.
    pub fn start_of(&self, meetingid: &str) -> Result<Option<i64>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT meeting_start FROM meetings WHERE meetingid = ?1 AND parse_error IS NULL",
        )?;
        Ok(stmt
            .query_row([meetingid], |r| r.get::<_, Option<i64>>(0))
            .optional()?
            .flatten())
    }

    /// How many parsed meetings (and occurrences) start in `[start, end)`.
    pub fn count_between(&self, start: i64, end: i64) -> Result<usize> {
        let n: i64 = self.conn.query_row(
            "SELECT (SELECT COUNT(*) FROM meetings
                     WHERE parse_error IS NULL AND meeting_start >= ?1 AND meeting_start < ?2)
                  + (SELECT COUNT(*) FROM occurrence_bodies
                     WHERE parse_error IS NULL AND meeting_start >= ?1 AND meeting_start < ?2)",
            [start, end],
            |r| r.get(0),
        )?;
        Ok(n as usize)
    }

    /// Of `ids`, those stored with a parsed body but no start time: they belong to no date.
    pub fn undated(&self, ids: &[String]) -> Result<Vec<String>> {
        self.ids_where("parse_error IS NULL AND meeting_start IS NULL", ids)
    }

    /// The stored body of one meeting, verbatim.
    pub fn body(&self, meetingid: &str) -> Result<Option<Vec<u8>>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT body_codec, body FROM meetings WHERE meetingid = ?1")?;
        let mut rows = stmt.query([meetingid])?;
        let Some(r) = rows.next()? else {
            return Ok(None);
        };
        let body =
            stored_body(r, 0).with_context(|| format!("stored body of meeting {meetingid}"))?;
        Ok(Some(body))
    }
}

/// A row of the window reader's meetings: start, then a one-off body.
fn one_off_row(r: &rusqlite::Row<'_>) -> Result<(i64, StoredBody)> {
    let id: String = r.get(1)?;
    let body = stored_body(r, 2).with_context(|| format!("stored body of meeting {id}"))?;
    Ok((r.get(0)?, StoredBody::one_off(id, body)))
}

/// A row of the window reader's occurrences: start, then the occurrence's body.
fn occurrence_row(r: &rusqlite::Row<'_>) -> Result<(i64, StoredBody)> {
    let id: String = r.get(1)?;
    let sub: String = r.get(2)?;
    let body = stored_body(r, 3)
        .with_context(|| format!("stored body of occurrence {sub} of meeting {id}"))?;
    let body = StoredBody {
        meetingid: id,
        sub_meetingid: Some(sub),
        body,
    };
    Ok((r.get(0)?, body))
}

/// Codec of bodies written by this version: an LZ4 block with the raw length in front.
pub(super) const CODEC_LZ4: &str = "lz4";

pub(super) fn pack(body: &[u8]) -> Result<Vec<u8>> {
    Ok(lz4::block::compress(body, None, true)?)
}

/// The raw body of a result row whose column `at` is `body_codec` and `at + 1` is `body`
/// (a BLOB as written, or TEXT when put there by hand).
pub(super) fn stored_body(r: &rusqlite::Row<'_>, at: usize) -> Result<Vec<u8>> {
    use rusqlite::types::ValueRef;
    let stored = match r.get_ref(at + 1)? {
        ValueRef::Blob(b) | ValueRef::Text(b) => b,
        other => bail!("a body is stored as {:?}, not bytes", other.data_type()),
    };
    match r.get_ref(at)?.as_str_or_null()? {
        None => Ok(stored.to_vec()),
        Some(CODEC_LZ4) => Ok(lz4::block::decompress(stored, None)?),
        Some(other) => bail!("unknown body codec {other:?} (written by a newer version?)"),
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    pub(crate) fn body(id: &str, status: i64, start: i64) -> Record {
        Record::Body {
            meetingid: id.into(),
            body: format!("{{\"status\":{status}}}").into_bytes(),
            packed: None,
            status: Some(status),
            meeting_start: Some(start),
            parse_error: None,
        }
    }

    /// A new store in a temporary folder, removed when the folder is dropped.
    pub(crate) fn temp_store() -> (Store, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&dir.path().join("raw.sqlite"), "dir").unwrap();
        (s, dir)
    }

    #[test]
    fn bodies_come_back_verbatim_compressed_or_from_an_older_raw_store() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("raw.sqlite");
        // A store as the first version wrote it: no codec column, raw bodies.
        let old = Connection::open(&path).unwrap();
        old.execute_batch(
            "CREATE TABLE meetings (meetingid TEXT PRIMARY KEY, body BLOB NOT NULL,
             fetched_at INTEGER NOT NULL, source TEXT NOT NULL, status INTEGER,
             meeting_start INTEGER, parse_error TEXT);
             INSERT INTO meetings VALUES ('old', '{\"status\":3}', 0, 'api', 3, 100, NULL);",
        )
        .unwrap();
        drop(old);
        let mut s = Store::open(&path, "dir").unwrap();
        let big = format!(
            "{{\"status\":3,\"title\":\"周会\",\"attendees\":{{\"member\":[{}]}}}}",
            vec![r#"{"userid":"zhangsan","status":1,"cumulative_time":3600}"#; 200].join(",")
        );
        s.put(&[Record::Body {
            meetingid: "new".into(),
            body: big.clone().into_bytes(),
            packed: None,
            status: Some(3),
            meeting_start: Some(200),
            parse_error: None,
        }])
        .unwrap();
        assert_eq!(s.body("old").unwrap().unwrap(), b"{\"status\":3}");
        assert_eq!(s.body("new").unwrap().unwrap(), big.as_bytes());
        let stored: i64 = s
            .conn
            .query_row(
                "SELECT length(body) FROM meetings WHERE meetingid = 'new'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert!(stored * 5 < big.len() as i64, "{stored} of {}", big.len());
        let mut seen = Vec::new();
        s.for_each_chunk(0, 1000, 10, |chunk| {
            seen.extend(chunk);
            Ok(())
        })
        .unwrap();
        assert_eq!(
            seen,
            [
                StoredBody::one_off("old", b"{\"status\":3}".to_vec()),
                StoredBody::one_off("new", big.into_bytes())
            ]
        );
    }

    #[test]
    fn a_body_packed_where_it_was_read_is_stored_as_the_store_packs_one() {
        let (mut s, _dir) = temp_store();
        let raw = br#"{"status":3,"title":"t","attendees":{"member":[]}}"#.to_vec();
        let mut early = Record::Body {
            meetingid: "early".into(),
            body: raw.clone(),
            packed: None,
            status: Some(3),
            meeting_start: Some(10),
            parse_error: None,
        };
        early.pack_body().unwrap();
        let Record::Body { packed, .. } = &early else {
            panic!("a body");
        };
        assert!(packed.is_some());
        let late = Record::Body {
            meetingid: "late".into(),
            body: raw.clone(),
            packed: None,
            status: Some(3),
            meeting_start: Some(10),
            parse_error: None,
        };
        s.put(&[early, late]).unwrap();
        let blob = |id: &str| -> Vec<u8> {
            s.conn
                .query_row(
                    "SELECT body FROM meetings WHERE meetingid = ?1",
                    [id],
                    |r| r.get(0),
                )
                .unwrap()
        };
        assert_eq!(blob("early"), blob("late"));
        assert_eq!(s.body("early").unwrap().unwrap(), raw);
    }

    #[test]
    fn only_final_meetings_are_reused() {
        let (mut s, _dir) = temp_store();
        s.put(&[body("a", 3, 10), body("b", 2, 20), body("c", 5, 30)])
            .unwrap();
        let ids: Vec<String> = ["a", "b", "c", "d"].map(String::from).to_vec();
        let fin = s.final_ids(&ids).unwrap();
        assert!(fin.contains("a") && fin.contains("c"));
        assert!(!fin.contains("b") && !fin.contains("d"));
    }

    #[test]
    fn window_queries_use_the_half_open_start_range() {
        let (mut s, _dir) = temp_store();
        const T: i64 = 1_700_000_000;
        s.put(&[
            body("a", 3, T + 10),
            body("b", 3, T + 20),
            body("c", 3, T + 30),
        ])
        .unwrap();
        let mut ids = Vec::new();
        let mut chunks = 0;
        s.for_each_chunk(T + 10, T + 30, 1, |chunk| {
            chunks += 1;
            ids.extend(chunk.into_iter().map(|b| b.meetingid));
            Ok(())
        })
        .unwrap();
        assert_eq!(ids, ["a", "b"]);
        assert_eq!(chunks, 2);
        assert_eq!(s.start_span(None).unwrap(), Some((T + 10, T + 30)));
        let some = ["b".to_string(), "zz".to_string()];
        assert_eq!(s.start_span(Some(&some)).unwrap(), Some((T + 20, T + 20)));
        // An impossible start an older version stored is left out of the span.
        s.put(&[body("far", 3, i64::MAX)]).unwrap();
        assert_eq!(s.start_span(None).unwrap(), Some((T + 10, T + 30)));
        let far = ["far".to_string(), "a".to_string()];
        assert_eq!(s.start_span(Some(&far)).unwrap(), Some((T + 10, T + 10)));
    }
}
