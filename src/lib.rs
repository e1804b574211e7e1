//! wecom-attendance: turns WeCom (企业微信) meeting data into attendance analytics.
//!
//! The data flows one way, and the modules follow it:
//! ids ([`ids`], [`wecom::discover`]) → fetch ([`fetch`], over a [`source::Source`]) → raw store
//! ([`store`]) → flatten ([`flatten`]) → summarize ([`summary`]) → write ([`output`]), with the
//! run bookkeeping in [`report`]. [`app`] wires the stages together for each command; `main.rs`
//! only parses the command line and maps the outcome to an exit code.

pub mod app;
pub mod cli;
pub mod csv_format;
pub mod fake;
pub mod fetch;
pub mod flatten;
#[path = "gen.rs"]
pub mod generate;
pub mod ids;
pub mod job;
pub mod lock;
pub mod metrics;
pub mod output;
pub mod report;
pub mod source;
pub mod store;
pub mod summary;
pub mod tables;
pub mod wecom;
pub mod window;
