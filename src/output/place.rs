//! Where the output files go, behind one small trait: a local folder ([`Folder`]) or an
//! S3-compatible bucket ([`crate::output::bucket`]).
//!
//! The rules of writing the dataset — each file put whole or not at all, a partition's
//! `_SUCCESS` removed first and put back last, stale partitions and files of formats not
//! written this run deleted, one run at a time — live in one writer
//! ([`crate::output::partitions`], with the workbook, the report and the run report beside
//! it). A [`Place`] only knows how to put one file whole, delete, list and lock. Files are
//! named by keys relative to the output's root (`attendance/dt=2026-11-01/part-0.csv`), the
//! same in every place.

use crate::fetch::lock::{self, RunLock};
use anyhow::{Context, Result};
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// What a file's bytes are written to: a local temporary file or an upload.
pub type Sink<'a> = dyn Write + Send + 'a;

/// Held for the life of the run; dropping it releases the output's lock.
pub struct OutputLock {
    _held: Box<dyn Send>,
}

impl OutputLock {
    pub fn new(held: impl Send + 'static) -> Self {
        OutputLock {
            _held: Box::new(held),
        }
    }
}

/// A place the outputs are written to. Keys are `/`-separated and relative to the output's
/// root; a folder is a key prefix without the trailing `/`.
pub trait Place: Send + Sync {
    /// Writes `key` with the bytes `fill` produces, whole: a reader sees the old file or the
    /// new one, never a part, and a failed write leaves the old one (or none).
    fn put(&self, key: &str, fill: &mut dyn FnMut(&mut Sink<'_>) -> Result<()>) -> Result<()>;
    /// Deletes `key`; a missing one is no error.
    fn delete(&self, key: &str) -> Result<()>;
    /// Deletes every file under `folder`.
    fn delete_folder(&self, folder: &str) -> Result<()>;
    /// The names of the folders directly under `folder` (none when it does not exist).
    fn folders(&self, folder: &str) -> Result<Vec<String>>;
    /// Readies `folder` for new files: creates it where folders exist, and clears what an
    /// interrupted run may have left in it besides whole files.
    fn tidy(&self, folder: &str) -> Result<()>;
    /// Where `key` is, for messages and the run report: a path or `s3://BUCKET/KEY`.
    fn location(&self, key: &str) -> PathBuf;
    /// A local folder (existing) for the temporary files of writing `key`.
    fn scratch(&self, key: &str) -> Result<PathBuf>;
    /// Takes the output's lock for this run, or fails with [`lock::LockHeld`].
    fn lock(&self, holder: &str) -> Result<OutputLock>;
}

impl dyn Place + '_ {
    /// [`Place::put`] with a closure called once.
    pub fn put_with(
        &self,
        key: &str,
        fill: impl FnOnce(&mut Sink<'_>) -> Result<()>,
    ) -> Result<()> {
        let mut fill = Some(fill);
        self.put(key, &mut |w| match fill.take() {
            Some(f) => f(w),
            None => anyhow::bail!("internal error: a file's bytes were asked for twice"),
        })
    }

    /// Writes `bytes` to `key`, whole.
    pub fn put_bytes(&self, key: &str, bytes: &[u8]) -> Result<()> {
        self.put_with(key, |w| Ok(w.write_all(bytes)?))
    }
}

/// The key of `name` in `folder`.
pub fn key(folder: &str, name: &str) -> String {
    match folder.is_empty() {
        true => name.to_string(),
        false => format!("{folder}/{name}"),
    }
}

/// A local folder: each file written to a temporary name beside it, fsynced, renamed.
pub struct Folder {
    root: PathBuf,
}

impl Folder {
    pub fn new(root: &Path) -> Self {
        Folder {
            root: root.to_path_buf(),
        }
    }

    fn path(&self, key: &str) -> PathBuf {
        match key.is_empty() {
            true => self.root.clone(),
            false => self.root.join(key),
        }
    }
}

impl Place for Folder {
    fn put(&self, key: &str, fill: &mut dyn FnMut(&mut Sink<'_>) -> Result<()>) -> Result<()> {
        let path = self.path(key);
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        }
        write_atomic(&path, |f| fill(f))
    }

    fn delete(&self, key: &str) -> Result<()> {
        let path = self.path(key);
        match fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(e).with_context(|| format!("cannot remove {}", path.display()))
            }
            _ => Ok(()),
        }
    }

    fn delete_folder(&self, folder: &str) -> Result<()> {
        let dir = self.path(folder);
        fs::remove_dir_all(&dir).with_context(|| format!("cannot remove {}", dir.display()))
    }

    fn folders(&self, folder: &str) -> Result<Vec<String>> {
        let dir = self.path(folder);
        let entries = match fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e).with_context(|| format!("cannot list {}", dir.display())),
        };
        let mut out = Vec::new();
        for e in entries {
            let e = e.with_context(|| format!("cannot list {}", dir.display()))?;
            if let Some(name) = e.file_name().to_str() {
                out.push(name.to_string());
            }
        }
        Ok(out)
    }

    /// Creates the folder and removes temporary files a killed run left behind
    /// (`.part-0.csv.tmp-PID`); readers of the dataset ignore dot-files anyway, this only keeps
    /// the folder tidy.
    fn tidy(&self, folder: &str) -> Result<()> {
        let dir = self.path(folder);
        fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let listing = || format!("cannot list {}", dir.display());
        for e in fs::read_dir(&dir).with_context(listing)? {
            let e = e.with_context(listing)?;
            let name = e.file_name();
            let name = name.to_string_lossy();
            if name.starts_with('.') && name.contains(".tmp-") {
                fs::remove_file(e.path())
                    .with_context(|| format!("cannot remove {}", e.path().display()))?;
            }
        }
        Ok(())
    }

    fn location(&self, key: &str) -> PathBuf {
        self.path(key)
    }

    /// The file's own folder: the output disk is the one sized for the data, `/tmp` may be a
    /// small memory disk.
    fn scratch(&self, key: &str) -> Result<PathBuf> {
        let path = self.path(key);
        let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
        fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        Ok(dir)
    }

    fn lock(&self, holder: &str) -> Result<OutputLock> {
        let held: RunLock = lock::acquire_output(&self.root, holder)?;
        Ok(OutputLock::new(held))
    }
}

/// Writes `path` via a temporary file in the same folder: write, fsync, rename, fsync folder.
pub fn write_atomic(path: &Path, fill: impl FnOnce(&mut File) -> Result<()>) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| -> Result<()> {
        let mut f = File::create(&tmp)?;
        fill(&mut f)?;
        f.sync_all()?;
        fs::rename(&tmp, path)?;
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.with_context(|| format!("cannot write {}", path.display()))
}

/// Writes `bytes` to `path` atomically.
pub fn write_bytes_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    write_atomic(path, |f| {
        let mut w = BufWriter::new(f);
        w.write_all(bytes)?;
        w.flush()?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_atomic_write_leaves_no_temporary_file_behind() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let p = dir.join("f.txt");
        write_bytes_atomic(&p, b"one").unwrap();
        write_bytes_atomic(&p, b"two").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        let names: Vec<_> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["f.txt"]);
    }

    #[test]
    fn a_folder_puts_deletes_and_lists_by_key() {
        let tmp = tempfile::tempdir().unwrap();
        let place: &dyn Place = &Folder::new(tmp.path());
        place.put_bytes("t/dt=2026-11-01/a.csv", b"x").unwrap();
        place.put_bytes("t/dt=2026-11-02/a.csv", b"y").unwrap();
        let mut folders = place.folders("t").unwrap();
        folders.sort();
        assert_eq!(folders, ["dt=2026-11-01", "dt=2026-11-02"]);
        place.delete("t/dt=2026-11-01/a.csv").unwrap();
        place.delete("t/dt=2026-11-01/a.csv").unwrap();
        place.delete_folder("t/dt=2026-11-02").unwrap();
        assert!(place.folders("missing").unwrap().is_empty());
        assert_eq!(place.folders("t").unwrap(), ["dt=2026-11-01"]);
    }
}
