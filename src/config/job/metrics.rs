//! `[metrics]`: the grace period before a participant counts as late or as leaving early, and
//! the meeting statuses whose meetings count for the users table.

use crate::domain::MeetingStatus;
use anyhow::{Context, Result, bail};
use serde::Deserialize;

/// Seconds of lateness or early leave tolerated.
pub const DEFAULT_GRACE_S: i64 = 300;
/// Statuses whose meetings count for the users table.
pub const DEFAULT_USER_STATUSES: [MeetingStatus; 1] = [MeetingStatus::Ended];

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct MetricsSection {
    /// Seconds of lateness / early leave tolerated before a row counts as late / left early.
    /// Default 300.
    pub grace_period_s: Option<i64>,
    /// Meeting statuses that count for the users table. Default `["ended"]`.
    pub user_statuses: Option<Vec<String>>,
}

#[derive(Debug, Clone)]
pub struct MetricsConfig {
    pub grace_period_s: i64,
    /// Status codes (1–5) whose meetings count for the users table.
    pub user_statuses: Vec<i64>,
}

/// `[metrics]`: the grace period and the statuses that count for `users`.
pub(super) fn metrics_config(m: MetricsSection) -> Result<MetricsConfig> {
    let grace_period_s = m.grace_period_s.unwrap_or(DEFAULT_GRACE_S);
    if grace_period_s < 0 {
        bail!("metrics.grace_period_s must not be negative");
    }
    let user_statuses = match m.user_statuses {
        Some(names) => names
            .iter()
            .map(|s| MeetingStatus::parse(s).map(MeetingStatus::code))
            .collect::<Result<Vec<_>, _>>()
            .context("metrics.user_statuses")?,
        None => DEFAULT_USER_STATUSES.iter().map(|s| s.code()).collect(),
    };
    Ok(MetricsConfig {
        grace_period_s,
        user_statuses,
    })
}
