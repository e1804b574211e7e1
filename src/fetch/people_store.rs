//! The directory's history in the store: each sync's snapshot of departments and people is
//! folded into `people_history` and `department_history` (valid_from / valid_to, see
//! [`crate::domain::people`]), each sync is logged in `directory_syncs`, and the conversions of
//! external participants' temporary ids are kept in `external_ids`, so a rerun never asks
//! WeCom twice. The tables are created with the store's schema ([`SCHEMA`]).

use super::store::Store;
use crate::domain::people::{DepartmentSpan, History, PersonSpan};
use anyhow::{Context, Result};
use rusqlite::{OptionalExtension, params};
use std::collections::HashMap;

/// The directory's tables; part of the store's schema.
pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS people_history (
    userid        TEXT NOT NULL,
    name          TEXT,
    department_id INTEGER,
    valid_from    INTEGER NOT NULL,
    valid_to      INTEGER,
    PRIMARY KEY (userid, valid_from)
);
CREATE TABLE IF NOT EXISTS department_history (
    department_id INTEGER NOT NULL,
    name          TEXT,
    parent_id     INTEGER,
    valid_from    INTEGER NOT NULL,
    valid_to      INTEGER,
    PRIMARY KEY (department_id, valid_from)
);
CREATE TABLE IF NOT EXISTS directory_syncs (
    synced_at   INTEGER NOT NULL,
    source      TEXT NOT NULL,
    departments INTEGER NOT NULL,
    people      INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS external_ids (
    tmp_external_userid TEXT PRIMARY KEY,
    user_type           INTEGER,
    external_id         TEXT,
    converted_at        INTEGER NOT NULL
);
";

/// One sync's view of the directory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// `(id, name, parent)`.
    pub departments: Vec<(i64, Option<String>, Option<i64>)>,
    /// `(userid, name, main department)`.
    pub people: Vec<(String, Option<String>, Option<i64>)>,
}

/// What folding a snapshot into the history changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Changes {
    pub people_added: usize,
    pub people_changed: usize,
    pub people_gone: usize,
    pub departments_added: usize,
    pub departments_changed: usize,
    pub departments_gone: usize,
}

/// The open records by key: `(name, department or parent)`.
type Current = HashMap<String, (Option<String>, Option<i64>)>;

/// A temporary id's conversion as stored: `Some(id)` converted, `None` invalid for every type.
pub type Conversion = Option<String>;

impl Store {
    /// Folds `snap`, seen at `at` (epoch seconds), into the history in one transaction: a new
    /// person or department opens a record, a changed one closes its record at `at` and opens
    /// another, and one no longer seen has its record closed.
    pub fn record_directory(&mut self, snap: &Snapshot, at: i64, source: &str) -> Result<Changes> {
        let path = self.path().display().to_string();
        let tx = self
            .conn_mut()
            .transaction()
            .with_context(|| format!("cannot write the directory into the store {path}"))?;
        let mut c = Changes::default();
        {
            let current = |sql: &str| -> Result<Current> {
                let mut st = tx.prepare(sql)?;
                let rows = st.query_map([], |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?))))?;
                Ok(rows.collect::<rusqlite::Result<_>>()?)
            };
            let people = current(
                "SELECT userid, name, department_id FROM people_history WHERE valid_to IS NULL",
            )?;
            let depts = current(
                "SELECT CAST(department_id AS TEXT), name, parent_id FROM department_history \
                 WHERE valid_to IS NULL",
            )?;
            let mut close_p = tx.prepare(
                "UPDATE people_history SET valid_to = ?2 WHERE userid = ?1 AND valid_to IS NULL",
            )?;
            let mut open_p = tx.prepare(
                "INSERT OR REPLACE INTO people_history (userid, name, department_id, valid_from) \
                 VALUES (?1, ?2, ?3, ?4)",
            )?;
            let mut seen = std::collections::HashSet::new();
            for (userid, name, dept) in &snap.people {
                if !seen.insert(userid.as_str()) {
                    continue;
                }
                match people.get(userid) {
                    Some(old) if old == &(name.clone(), *dept) => continue,
                    Some(_) => {
                        close_p.execute(params![userid, at])?;
                        c.people_changed += 1;
                    }
                    None => c.people_added += 1,
                }
                open_p.execute(params![userid, name, dept, at])?;
            }
            for userid in people.keys() {
                if !seen.contains(userid.as_str()) {
                    close_p.execute(params![userid, at])?;
                    c.people_gone += 1;
                }
            }
            let mut close_d = tx.prepare(
                "UPDATE department_history SET valid_to = ?2 WHERE department_id = ?1 AND valid_to IS NULL",
            )?;
            let mut open_d = tx.prepare(
                "INSERT OR REPLACE INTO department_history (department_id, name, parent_id, valid_from) \
                 VALUES (?1, ?2, ?3, ?4)",
            )?;
            let mut seen = std::collections::HashSet::new();
            for (id, name, parent) in &snap.departments {
                if !seen.insert(id.to_string()) {
                    continue;
                }
                match depts.get(&id.to_string()) {
                    Some(old) if old == &(name.clone(), *parent) => continue,
                    Some(_) => {
                        close_d.execute(params![id, at])?;
                        c.departments_changed += 1;
                    }
                    None => c.departments_added += 1,
                }
                open_d.execute(params![id, name, parent, at])?;
            }
            for id in depts.keys() {
                if !seen.contains(id) {
                    close_d.execute(params![id.parse::<i64>()?, at])?;
                    c.departments_gone += 1;
                }
            }
            tx.execute(
                "INSERT INTO directory_syncs (synced_at, source, departments, people) VALUES (?1, ?2, ?3, ?4)",
                params![at, source, snap.departments.len() as i64, snap.people.len() as i64],
            )?;
        }
        tx.commit()
            .with_context(|| format!("cannot write the directory into the store {path}"))?;
        Ok(c)
    }

    /// When the directory was last synced (epoch seconds), if ever.
    pub fn last_directory_sync(&self) -> Result<Option<i64>> {
        Ok(self
            .conn()
            .query_row("SELECT MAX(synced_at) FROM directory_syncs", [], |r| {
                r.get::<_, Option<i64>>(0)
            })
            .optional()?
            .flatten())
    }

    /// The whole history, for the transform (empty when no directory was ever synced).
    pub fn directory_history(&self) -> Result<History> {
        let conn = self.conn();
        let mut st = conn.prepare(
            "SELECT userid, name, department_id, valid_from, valid_to FROM people_history",
        )?;
        let people = st
            .query_map([], |r| {
                Ok(PersonSpan {
                    userid: r.get(0)?,
                    name: r.get(1)?,
                    department_id: r.get(2)?,
                    valid_from: r.get(3)?,
                    valid_to: r.get(4)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut st = conn.prepare(
            "SELECT department_id, name, parent_id, valid_from, valid_to FROM department_history",
        )?;
        let departments = st
            .query_map([], |r| {
                Ok(DepartmentSpan {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    parent_id: r.get(2)?,
                    valid_from: r.get(3)?,
                    valid_to: r.get(4)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(History::new(people, departments))
    }

    /// Every stored conversion of a temporary id.
    pub fn conversions(&self) -> Result<HashMap<String, Conversion>> {
        let mut st = self
            .conn()
            .prepare("SELECT tmp_external_userid, external_id FROM external_ids")?;
        let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Keeps conversions `(tmp id, user_type, converted id or None when invalid)`.
    pub fn put_conversions(
        &mut self,
        rows: &[(String, Option<i64>, Conversion)],
        at: i64,
    ) -> Result<()> {
        let tx = self.conn_mut().transaction()?;
        {
            let mut st = tx.prepare(
                "INSERT OR REPLACE INTO external_ids (tmp_external_userid, user_type, external_id, converted_at) \
                 VALUES (?1, ?2, ?3, ?4)",
            )?;
            for (tmp, user_type, id) in rows {
                st.execute(params![tmp, user_type, id, at])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// The tmp_external_userids of the stored meetings starting in `[start, end)`.
    pub fn external_tmp_ids(&self, start: i64, end: i64) -> Result<Vec<String>> {
        let mut ids = std::collections::BTreeSet::new();
        let _read = self.read_transaction()?;
        let mut st = self.conn().prepare(
            "SELECT meetingid FROM meetings WHERE meeting_start >= ?1 AND meeting_start < ?2",
        )?;
        let meetingids: Vec<String> = st
            .query_map(params![start, end], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        for id in meetingids {
            let Some(body) = self.body(&id)? else {
                continue;
            };
            let Ok(info) = serde_json::from_slice::<crate::wecom::model::MeetingInfo>(&body) else {
                continue;
            };
            if let Some(a) = &info.attendees {
                for e in &a.tmp_external_user {
                    if let Some(t) = e.external_id() {
                        ids.insert(t.to_owned());
                    }
                }
            }
        }
        Ok(ids.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(people: &[(&str, &str, i64)]) -> Snapshot {
        Snapshot {
            departments: vec![
                (1, Some("总部".into()), None),
                (2, Some("研发".into()), Some(1)),
            ],
            people: people
                .iter()
                .map(|(u, n, d)| (u.to_string(), Some(n.to_string()), Some(*d)))
                .collect(),
        }
    }

    #[test]
    fn a_move_closes_the_old_record_and_a_departure_keeps_the_last_one() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(&dir.path().join("s.sqlite"), "api").unwrap();
        assert!(s.directory_history().unwrap().is_empty());
        assert_eq!(s.last_directory_sync().unwrap(), None);
        let c = s
            .record_directory(&snap(&[("a", "甲", 1), ("b", "乙", 2)]), 100, "api")
            .unwrap();
        assert_eq!((c.people_added, c.departments_added), (2, 2));
        let again = s
            .record_directory(&snap(&[("a", "甲", 1), ("b", "乙", 2)]), 150, "api")
            .unwrap();
        assert_eq!(again, Changes::default());
        let c = s
            .record_directory(&snap(&[("a", "甲", 2)]), 200, "api")
            .unwrap();
        assert_eq!((c.people_changed, c.people_gone), (1, 1));
        assert_eq!(s.last_directory_sync().unwrap(), Some(200));
        let h = s.directory_history().unwrap();
        assert_eq!(h.person_at("a", Some(199)).unwrap().department_id, Some(1));
        assert_eq!(h.person_at("a", Some(200)).unwrap().department_id, Some(2));
        assert_eq!(h.person_at("a", Some(50)).unwrap().department_id, Some(1));
        let b = h.person_at("b", Some(300)).unwrap();
        assert_eq!((b.name.as_deref(), b.valid_to), (Some("乙"), Some(200)));
    }

    #[test]
    fn conversions_are_kept_with_invalid_ids_as_none() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(&dir.path().join("s.sqlite"), "api").unwrap();
        s.put_conversions(
            &[
                ("t1".into(), Some(1), Some("wmA".into())),
                ("t2".into(), None, None),
            ],
            5,
        )
        .unwrap();
        let c = s.conversions().unwrap();
        assert_eq!(c["t1"].as_deref(), Some("wmA"));
        assert_eq!(c["t2"], None);
    }
}
