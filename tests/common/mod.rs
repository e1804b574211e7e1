//! Helpers shared by the integration tests: run the real binary, write job files into a
//! temporary folder, read outputs back; and the `Scenario` of a test against the fake WeCom
//! server.

mod scenario;
pub use scenario::*;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixtures(name: &str) -> PathBuf {
    repo().join("fixtures").join(name)
}

/// The binary with a clean environment for WeCom variables.
pub fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_wecom-attendance"));
    c.env_remove("WECOM_BASE_URL")
        .env_remove("WECOM_CORPID")
        .env_remove("WECOM_SECRET")
        .env("RUST_LOG", "info");
    c
}

/// Writes `jobs/<name>.toml` under `dir` with the given body and returns its path.
pub fn write_job(dir: &Path, name: &str, body: &str) -> PathBuf {
    let p = dir.join(format!("{name}.toml"));
    std::fs::write(&p, body).unwrap();
    p
}

/// A job reading fixture folder `set` with its ids file, writing to `dir/out`.
pub fn dir_job(dir: &Path, set: &str) -> PathBuf {
    let src = fixtures(set);
    write_job(
        dir,
        set,
        &format!(
            "name = \"{set}\"\n[source]\nkind = \"dir\"\ndir = {:?}\n[ids]\nfile = {:?}\n[output]\ndir = {:?}\n",
            src,
            src.join("ids.txt"),
            dir.join("out")
        ),
    )
}

/// Copies the files of `from` into `to`, and its folders (a recurring meeting's occurrences
/// in a source folder) with theirs.
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        let target = to.join(p.file_name().unwrap());
        if p.is_dir() {
            copy_tree(&p, &target);
        } else {
            std::fs::copy(&p, target).unwrap();
        }
    }
}

/// Copies a fixture set into `dir/src` and writes a job reading it.
pub fn private_copy(dir: &Path, set: &str) -> PathBuf {
    let src = dir.join("src");
    copy_tree(&fixtures(set), &src);
    write_job(
        dir,
        set,
        &format!(
            "[source]\nkind = \"dir\"\ndir = {:?}\n[ids]\nfile = {:?}\n[output]\ndir = {:?}\n",
            src,
            src.join("ids.txt"),
            dir.join("out")
        ),
    )
}

/// Runs the binary; with `SHOW_OUTPUT` set, its stderr is shown in the test's output.
#[allow(clippy::print_stderr)]
pub fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("the binary runs");
    if std::env::var_os("SHOW_OUTPUT").is_some() {
        eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    }
    out
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The newest run report under `out/_runs`.
pub fn last_report(out: &Path) -> serde_json::Value {
    let mut reports: Vec<_> = std::fs::read_dir(out.join("_runs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    reports.sort_by_key(|p| std::fs::metadata(p).unwrap().modified().unwrap());
    let p = reports.last().expect("a run report");
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

/// The meeting ids of a run report's `failures`, in order.
pub fn failed_ids(report: &serde_json::Value) -> Vec<String> {
    report["failures"]
        .as_array()
        .expect("a failures list")
        .iter()
        .map(|f| f["meetingid"].as_str().expect("a meetingid").to_string())
        .collect()
}

/// Lines of a CSV output without the BOM.
pub fn csv_lines(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap();
    text.trim_start_matches('\u{feff}')
        .lines()
        .map(String::from)
        .collect()
}

/// Every file under `dir`, relative, sorted.
pub fn tree(dir: &Path) -> Vec<String> {
    fn walk(base: &Path, d: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(base, &p, out);
            } else {
                out.push(p.strip_prefix(base).unwrap().display().to_string());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}
