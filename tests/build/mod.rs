//! The build the README's two commands share: `cargo run` (the demo, no dev-dependencies)
//! and `cargo test --workspace` must build polars and everything it depends on with the same
//! features, or the second command compiles polars a second time (minutes on 2 cores). A
//! feature that only a dev-dependency or another workspace crate turns on, on a crate polars
//! builds upon, is what breaks this; `Cargo.toml` lists such features in `[dependencies]`.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

/// Each package of a `cargo tree` listing (`name vX.Y.Z`) with its features, as cargo
/// resolves them for `args` (a package built for build scripts and for the binary alike may
/// have two sets).
fn features(args: &[&str]) -> BTreeMap<String, BTreeSet<String>> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["tree", "--locked", "--offline", "--prefix", "none"])
        .args(["--format", "{p}|{f}"])
        .args(args)
        .output()
        .expect("cargo runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut packages = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Some((package, features)) = line.split_once('|') else {
            continue;
        };
        let key: Vec<&str> = package.split_whitespace().take(2).collect();
        let features = features.trim_end_matches(" (*)").to_string();
        packages
            .entry(key.join(" "))
            .or_insert_with(BTreeSet::new)
            .insert(features);
    }
    packages
}

#[test]
fn the_test_command_builds_polars_with_the_features_of_the_demo_command() {
    let polars: BTreeSet<String> = features(&["-p", "polars", "-e", "normal,build"])
        .into_keys()
        .collect();
    let demo = features(&["-p", "wecom-attendance", "-e", "no-dev"]);
    let tests = features(&["--workspace"]);
    let differ: Vec<String> = polars
        .iter()
        .filter(|p| demo.get(*p) != tests.get(*p))
        .map(|p| format!("{p}: demo [{:?}], tests [{:?}]", demo.get(p), tests.get(p)))
        .collect();
    assert!(polars.len() > 50, "polars' dependencies listed: {polars:?}");
    assert!(differ.is_empty(), "built twice:\n{}", differ.join("\n"));
}
