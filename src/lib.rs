//! wecom-attendance: turns WeCom (企业微信) meeting data into attendance analytics.
//!
//! The data flows one way, and the folders follow it:
//!
//! ids ([`config::ids`], [`wecom::discover`]) → [`fetch`] (rate limit, retry, token; into the
//! raw [`fetch::store`]) → [`transform`] (bodies → attendance rows → metrics → summaries) →
//! [`output`] (partitions, run report). [`commands`] wires the stages for each command;
//! `main.rs` only parses the command line and maps the outcome to an exit code. [`domain`] holds
//! the vocabulary every stage shares.
//!
//! Arrows only run down the list: `config` and `domain` depend on nothing; `wecom` on config;
//! `fetch` on wecom and config; `transform` on config; `output` on transform's frames and
//! config; `commands` on everything.

pub mod commands;
pub mod config;
pub use wecom_domain as domain;
pub mod fetch;
pub mod output;
pub mod transform;
pub mod wecom;
