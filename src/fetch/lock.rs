//! One run at a time per store and per output folder: exclusive OS file locks, one next to the
//! store and one in the output folder (two jobs with different stores must not interleave their
//! partitions in one dataset either).
//!
//! The lock is `flock`-style (std's `File::try_lock`), so the kernel releases it when its holder
//! dies — a run killed with SIGKILL never leaves a lock that blocks the next night. The file
//! holds a line naming the holder (pid, command, start time) for the message a second run prints.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Another run holds the lock (exit code 75).
#[derive(Debug, thiserror::Error)]
#[error(
    "another run holds the lock {path}: {holder}; wait for it to finish (the lock is released when that process exits)"
)]
pub struct LockHeld {
    pub path: PathBuf,
    pub holder: String,
}

/// Held for the life of the run; dropping it releases the lock.
#[derive(Debug)]
pub struct RunLock {
    _file: File,
    pub path: PathBuf,
}

/// The lock file of a store: `<store>.lock`.
pub fn lock_path(store: &Path) -> PathBuf {
    let mut p = store.as_os_str().to_owned();
    p.push(".lock");
    PathBuf::from(p)
}

/// The lock file of an output folder: `OUT/.wecom-attendance.lock` (a dot-file, which dataset
/// readers skip).
pub fn output_lock_path(out_dir: &Path) -> PathBuf {
    out_dir.join(".wecom-attendance.lock")
}

/// Takes the lock of `store`, or fails with [`LockHeld`] naming the holder. A missing store
/// folder is created private (0700), as the store itself will be.
pub fn acquire(store: &Path, command: &str) -> anyhow::Result<RunLock> {
    if let Some(dir) = store.parent() {
        crate::fetch::store::create_private_dir(dir)?;
    }
    acquire_file(lock_path(store), command)
}

/// Takes the lock of the output folder `out_dir` (created if missing), or fails with
/// [`LockHeld`] naming the holder.
pub fn acquire_output(out_dir: &Path, command: &str) -> anyhow::Result<RunLock> {
    std::fs::create_dir_all(out_dir).map_err(|e| {
        anyhow::anyhow!("cannot create the output folder {}: {e}", out_dir.display())
    })?;
    acquire_file(output_lock_path(out_dir), command)
}

fn acquire_file(path: PathBuf, command: &str) -> anyhow::Result<RunLock> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&path)
        .map_err(|e| anyhow::anyhow!("cannot open the lock file {}: {e}", path.display()))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = holder.trim();
            return Err(LockHeld {
                path,
                holder: if holder.is_empty() {
                    "unknown holder".into()
                } else {
                    holder.to_string()
                },
            }
            .into());
        }
        Err(std::fs::TryLockError::Error(e)) => {
            anyhow::bail!("cannot lock {}: {e}", path.display())
        }
    }
    let write_holder = |file: &mut File| -> std::io::Result<()> {
        file.set_len(0)?;
        file.seek(SeekFrom::Start(0))?;
        writeln!(
            file,
            "pid {} running `{command}` since {}",
            std::process::id(),
            chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        )?;
        file.flush()
    };
    write_holder(&mut file)
        .map_err(|e| anyhow::anyhow!("cannot write the lock file {}: {e}", path.display()))?;
    Ok(RunLock { _file: file, path })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_the_same_store_is_refused_and_names_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("raw.sqlite");
        let first = acquire(&store, "run --job a").unwrap();
        let err = acquire(&store, "run --job b").unwrap_err();
        let held = err.downcast_ref::<LockHeld>().expect("LockHeld");
        assert!(held.holder.contains("run --job a"), "{}", held.holder);
        drop(first);
        let again = acquire(&store, "run --job b");
        assert!(again.is_ok(), "released on drop");
    }
}
