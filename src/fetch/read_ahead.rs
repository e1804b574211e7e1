//! Read-ahead for a source folder: while the fetch reads and judges the bodies it has in hand,
//! a thread asks the kernel to start reading the next files (`posix_fadvise(WILLNEED)`), so
//! that a folder that is not in the page cache is read with many requests in flight, not one
//! per runtime thread.
//!
//! The bodies themselves are read on the runtime's worker threads (see
//! [`crate::fetch::source`]): from the page cache that is the cheapest way, but from a cold
//! disk it leaves at most two reads in flight on two cores. The hint costs one `open`, one
//! `fadvise` and one `close` per file, on a thread of its own, and stays [`AHEAD`] files in
//! front of the fetch, so it neither races through a large folder nor evicts what is about to
//! be read. It is only a hint: a file it cannot open is left for the fetch to report. On systems
//! without `posix_fadvise` nothing is started.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// Files hinted ahead of the fetch: some megabytes of bodies, enough to keep a disk busy.
pub const AHEAD: usize = 256;
/// How long the thread waits when it is [`AHEAD`] files in front.
const WAIT: Duration = Duration::from_millis(1);

/// A running read-ahead over a list of files; stopped when dropped.
pub struct ReadAhead {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

struct Shared {
    /// Files the fetch has taken in hand, in list order.
    taken: AtomicUsize,
    /// Files hinted so far (for tests and the debug log).
    hinted: AtomicUsize,
    stop: AtomicBool,
}

impl ReadAhead {
    /// Starts hinting `paths` in order; `None` where the system has no such hint.
    pub fn start(paths: Vec<PathBuf>) -> Option<ReadAhead> {
        if !SUPPORTED || paths.is_empty() {
            return None;
        }
        let shared = Arc::new(Shared {
            taken: AtomicUsize::new(0),
            hinted: AtomicUsize::new(0),
            stop: AtomicBool::new(false),
        });
        let for_thread = shared.clone();
        let thread = std::thread::Builder::new()
            .name("read-ahead".into())
            .spawn(move || run(&paths, &for_thread))
            .ok()?;
        Some(ReadAhead {
            shared,
            thread: Some(thread),
        })
    }

    /// The fetch has taken the next file in hand: the window moves one file on.
    pub fn taken(&self) {
        self.shared.taken.fetch_add(1, Ordering::Relaxed);
    }

    /// Files hinted so far.
    pub fn hinted(&self) -> usize {
        self.shared.hinted.load(Ordering::Relaxed)
    }
}

impl Drop for ReadAhead {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn run(paths: &[PathBuf], shared: &Shared) {
    for (i, path) in paths.iter().enumerate() {
        while i >= shared.taken.load(Ordering::Relaxed) + AHEAD {
            if shared.stop.load(Ordering::Relaxed) {
                return;
            }
            std::thread::sleep(WAIT);
        }
        if shared.stop.load(Ordering::Relaxed) {
            return;
        }
        hint(path);
        shared.hinted.fetch_add(1, Ordering::Relaxed);
    }
}

#[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
const SUPPORTED: bool = true;
#[cfg(not(any(target_os = "linux", target_os = "android", target_os = "freebsd")))]
const SUPPORTED: bool = false;

/// Asks the kernel to read the whole file into the page cache, without waiting for it. Only a
/// regular file is hinted, and opening never waits (a FIFO's open would wait for a writer, and
/// the fetch for this thread): anything else is left to the fetch, which reports it.
#[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
fn hint(path: &std::path::Path) {
    use rustix::fs::{FileType, Mode, OFlags};
    let flags = OFlags::RDONLY | OFlags::NONBLOCK | OFlags::CLOEXEC;
    let Ok(fd) = rustix::fs::open(path, flags, Mode::empty()) else {
        return;
    };
    if rustix::fs::fstat(&fd)
        .is_ok_and(|st| FileType::from_raw_mode(st.st_mode as _) == FileType::RegularFile)
    {
        let _ = rustix::fs::fadvise(&fd, 0, None, rustix::fs::Advice::WillNeed);
    }
}

#[cfg(not(any(target_os = "linux", target_os = "android", target_os = "freebsd")))]
fn hint(_path: &std::path::Path) {}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    fn files(n: usize) -> (tempfile::TempDir, Vec<PathBuf>) {
        let dir = tempfile::tempdir().unwrap();
        let paths = (0..n)
            .map(|i| {
                let p = dir.path().join(format!("m{i}.json"));
                std::fs::write(&p, b"{}").unwrap();
                p
            })
            .collect();
        (dir, paths)
    }

    fn settle(r: &ReadAhead, until: usize) -> usize {
        // Up to 10 s for a slow machine; a thread that is on time ends the wait at once.
        for _ in 0..10_000 {
            if r.hinted() >= until {
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        // Give a runaway thread the chance to show itself.
        std::thread::sleep(Duration::from_millis(20));
        r.hinted()
    }

    #[test]
    fn it_stays_a_window_ahead_of_the_fetch_and_follows_it_to_the_end() {
        let (_dir, paths) = files(AHEAD + 50);
        let r = ReadAhead::start(paths).expect("supported here");
        assert_eq!(settle(&r, AHEAD), AHEAD, "no further than the window");
        for _ in 0..50 {
            r.taken();
        }
        assert_eq!(settle(&r, AHEAD + 50), AHEAD + 50);
    }

    #[test]
    fn a_fifo_or_a_device_in_the_list_is_passed_over_without_waiting() {
        let (dir, mut paths) = files(2);
        let fifo = dir.path().join("fifo.json");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        assert!(made.unwrap().success());
        paths.insert(0, fifo);
        paths.insert(1, PathBuf::from("/dev/zero"));
        let r = ReadAhead::start(paths).expect("supported here");
        let hinted = settle(&r, 4);
        if hinted < 4 {
            // Stuck opening the FIFO: dropping would wait for the thread for ever.
            std::mem::forget(r);
            panic!("the read-ahead stopped at file {hinted}");
        }
    }

    #[test]
    fn a_missing_file_is_left_for_the_fetch_and_dropping_it_stops_the_thread() {
        let (dir, mut paths) = files(3);
        paths.insert(1, dir.path().join("gone.json"));
        let r = ReadAhead::start(paths).expect("supported here");
        assert_eq!(settle(&r, 4), 4);
        drop(r);
        let (_dir, paths) = files(AHEAD * 2);
        // Dropped while waiting for the fetch: returns instead of waiting for ever.
        drop(ReadAhead::start(paths));
    }
}
