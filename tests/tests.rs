//! The integration tests of `wecom-attendance`, as one test binary so that polars is linked
//! once rather than once per file. `pipeline` runs the real binary over the fixture folders
//! (tables, columns, windows, the hive layout); `operations` covers nightly operation with the
//! directory source (the raw store, reruns, partition replacement, the lock, logs, closed
//! pipes); `wecom_client` runs the binary against the fake WeCom server of `wecom-fake` on
//! loopback (tokens, errcode classes, retries, throttling, discovery, exit codes, secrecy,
//! resuming after SIGKILL). Nothing here ever calls the real WeCom API: every job either reads
//! a folder of bodies or has its base URL set to the fake. `common` holds the shared helpers,
//! among them the `Scenario` that sets up a test against the fake. Cargo makes a test binary of
//! every top-level `tests/*.rs` file, so each module is a folder with a `mod.rs` (as `common`
//! already was): cargo does not look inside them, and `Cargo.toml` needs no `[[test]]` table
//! nor `autotests = false`.

mod build;
mod common;
mod directory;
mod hardening;
mod nightly;
mod object_storage;
mod operations;
mod pipeline;
mod quotas;
mod reports;
mod series_fetch;
mod wecom_client;
