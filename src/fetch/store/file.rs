//! The store's file: creating it private (folder 0700, file 0600, whatever the umask), refusing
//! a file that is not a store, opening it in WAL mode with the tables of every stage, and
//! bringing a store written by an earlier version up to the current schema. What the tables
//! hold and how they are read and written is in the other files of [`super`].

use crate::fetch::occurrences;
use anyhow::{Context, Result, bail};
use rusqlite::{Connection, OpenFlags};
use std::path::Path;

/// Refuses a store file that is missing, empty or without the store's tables.
pub(super) fn check_existing(path: &Path) -> Result<()> {
    let meta = std::fs::metadata(path).map_err(|e| {
        anyhow::anyhow!(
            "no store at {} ({e}): run `wecom-attendance fetch` (or `run`) for this job first",
            path.display()
        )
    })?;
    if meta.len() == 0 {
        bail!(
            "the store {} is an empty file, not a wecom-attendance store: restore it from a \
             backup or remove it and run `wecom-attendance fetch` again",
            path.display()
        );
    }
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .with_context(|| format!("cannot open the store {}", path.display()))?;
    let tables: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'meetings'",
            [],
            |r| r.get(0),
        )
        .with_context(|| format!("{} is not a wecom-attendance store", path.display()))?;
    if tables != 1 {
        bail!(
            "{} is not a wecom-attendance store (it has no meetings table)",
            path.display()
        );
    }
    Ok(())
}

/// Opens the store's file in WAL mode and creates or upgrades every table in it.
pub(super) fn connect(path: &Path) -> Result<Connection> {
    let conn = Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.execute_batch(super::SCHEMA)?;
    conn.execute_batch(crate::fetch::people_store::SCHEMA)?;
    conn.execute_batch(occurrences::SCHEMA)?;
    upgrade(&conn)?;
    Ok(conn)
}

/// Creates the store's folder (0700) and its empty file (0600), whatever the umask.
pub(super) fn create_private(path: &Path) -> Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    if let Some(dir) = path.parent() {
        create_private_dir(dir)?;
    }
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot create the store {}", path.display()))?;
    file.set_permissions(std::fs::Permissions::from_mode(0o600))
        .with_context(|| format!("cannot restrict the store {}", path.display()))?;
    Ok(())
}

/// Creates the store's folder with mode 0700 (whatever the umask) when it does not exist yet.
/// Only that folder is private: missing folders above it (the output folder, typically) are
/// created with the default mode, so the tables in them keep the umask.
pub fn create_private_dir(dir: &Path) -> Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    if dir.as_os_str().is_empty() || dir.exists() {
        return Ok(());
    }
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create the folder {}", parent.display()))?;
    }
    match std::fs::DirBuilder::new().mode(0o700).create(dir) {
        // Another process created it meanwhile: it is restricted below all the same.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        r => r.with_context(|| format!("cannot create the store folder {}", dir.display()))?,
    }
    // The umask may have taken bits away from the mode, never added: set it exactly.
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
        .with_context(|| format!("cannot restrict the store folder {}", dir.display()))
}

/// Brings a store written by an earlier version up to the current schema.
fn upgrade(conn: &Connection) -> Result<()> {
    let has = |table: &str, column: &str| -> Result<bool> {
        Ok(conn
            .prepare(&format!(
                "SELECT 1 FROM pragma_table_info('{table}') WHERE name = '{column}'"
            ))?
            .exists([])?)
    };
    if !has("meetings", "body_codec")? {
        conn.execute_batch("ALTER TABLE meetings ADD COLUMN body_codec TEXT")?;
    }
    if !has("meetings", "series")? {
        conn.execute_batch(occurrences::UPGRADE)?;
    }
    conn.execute_batch(occurrences::SERIES_INDEX)?;
    for (column, decl) in [
        ("first_failed_at", "INTEGER"),
        ("permanent_runs", "INTEGER NOT NULL DEFAULT 0"),
        ("window_from", "TEXT"),
        ("window_to", "TEXT"),
    ] {
        if !has("failures", column)? {
            conn.execute_batch(&format!("ALTER TABLE failures ADD COLUMN {column} {decl}"))?;
        }
    }
    Ok(())
}
