//! Headless Chromium (Debian's `chromium` package; `.ci/run` installs it when missing), run the
//! way a test must: no sandbox (root in a container), no GPU, none of the browser's own
//! network traffic (updates, sync, first-run pages), host names resolving nowhere, and a
//! throw-away profile folder.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Width of the window the report is rendered in, and so of the screenshot.
pub const WIDTH: u32 = 1200;

/// The `chromium` binary on the PATH. Its absence fails the test rather than skipping it: a
/// skipped browser check would pass without checking anything.
pub fn chromium() -> PathBuf {
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|d| d.join("chromium"))
                .find(|p| p.is_file())
        })
        .expect(
            "headless Chromium is needed to check the report in a real browser: \
             apt-get install -y chromium (bash .ci/run installs it)",
        )
}

/// Runs Chromium headless on the local file `page` with `args` added.
fn headless(page: &Path, args: &[String]) -> Output {
    let profile = tempfile::tempdir().unwrap();
    let o = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--hide-scrollbars",
            // Nothing resolves: a page that needed the network would show it.
            "--host-resolver-rules=MAP * ~NOTFOUND",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium runs");
    assert!(
        o.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

/// The DOM as the browser built it (`--dump-dom`).
pub fn dump_dom(page: &Path) -> String {
    String::from_utf8(headless(page, &["--dump-dom".into()]).stdout).unwrap()
}

/// A PNG of the page `WIDTH` pixels wide and `height` high, written to `png`.
pub fn screenshot(page: &Path, png: &Path, height: u32) {
    std::fs::create_dir_all(png.parent().unwrap()).unwrap();
    headless(
        page,
        &[
            format!("--window-size={WIDTH},{height}"),
            format!("--screenshot={}", png.display()),
        ],
    );
}

/// Width and height of a PNG, from its IHDR chunk.
pub fn png_size(png: &[u8]) -> (u32, u32) {
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    assert_eq!(&png[12..16], b"IHDR");
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    (be(&png[16..20]), be(&png[20..24]))
}
