//! What the fake server saw: call counts, throttles, faults and the peak concurrency, kept in
//! atomics while it runs and copied into a serialisable [`FakeStats`] snapshot on request.
//!
//! Tests and benchmarks judge a client by these numbers (one get_info per meeting, one gettoken
//! per token lifetime, no throttles when pacing at the server's rate).

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// A snapshot of the fake server's counters.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct FakeStats {
    /// `gettoken` requests, successful or not.
    pub gettoken_calls: u64,
    /// `gettoken` requests refused for wrong or missing credentials.
    pub gettoken_errors: u64,
    /// `get_info` requests, whatever their answer.
    pub get_info_calls: u64,
    /// `get_info` requests answered with the stored body (or 400041 for an unknown id).
    pub get_info_answered: u64,
    /// `get_info` requests per meeting id, whatever their answer (a series' head and
    /// occurrence calls together).
    pub get_info_by_id: BTreeMap<String, u64>,
    /// `get_info` requests naming a `sub_meetingid` (an occurrence of a series), whatever
    /// their answer.
    #[serde(default)]
    pub get_info_occurrence_calls: u64,
    /// `get_info` requests per occurrence, keyed `meetingid/sub_meetingid`, whatever their
    /// answer (requests without `sub_meetingid` are not in it).
    #[serde(default)]
    pub get_info_by_occurrence: BTreeMap<String, u64>,
    /// `get_user_meetingid` requests, whatever their answer.
    pub get_user_meetingid_calls: u64,
    /// Requests refused with 45009 (rate).
    pub throttled_45009: u64,
    /// Requests refused with 45033 (concurrency).
    pub throttled_45033: u64,
    /// Scripted, always-failing and random faults served.
    pub faults_injected: u64,
    /// Requests refused for a missing (41001), unknown (40014) or expired (42001) token.
    pub token_errors: u64,
    /// Peak number of `get_info` requests in flight at once, including ones refused with 45033.
    pub max_in_flight: u64,
    /// Calls that tripped a minute quota (45009, the API blocked for a minute).
    #[serde(default)]
    pub quota_blocks_minute: u64,
    /// Calls that tripped an hour quota (45009, the API blocked for an hour).
    #[serde(default)]
    pub quota_blocks_hour: u64,
    /// Calls refused (45009) because their API was blocked.
    #[serde(default)]
    pub quota_refused: u64,
    /// Per API: the most calls counted in one minute window of the quota clock.
    #[serde(default)]
    pub busiest_minute: BTreeMap<String, u64>,
    /// Per API: the most calls counted in one hour window of the quota clock.
    #[serde(default)]
    pub busiest_hour: BTreeMap<String, u64>,
}

/// The live counters behind [`FakeStats`].
#[derive(Default)]
pub(crate) struct Counters {
    pub gettoken_calls: AtomicU64,
    pub gettoken_errors: AtomicU64,
    pub get_info_calls: AtomicU64,
    pub get_info_answered: AtomicU64,
    pub get_info_by_id: Mutex<HashMap<String, u64>>,
    pub get_info_occurrence_calls: AtomicU64,
    pub get_info_by_occurrence: Mutex<HashMap<String, u64>>,
    pub get_user_meetingid_calls: AtomicU64,
    pub throttled_45009: AtomicU64,
    pub throttled_45033: AtomicU64,
    pub faults_injected: AtomicU64,
    pub token_errors: AtomicU64,
    pub max_in_flight: AtomicU64,
    pub quota_blocks_minute: AtomicU64,
    pub quota_blocks_hour: AtomicU64,
    pub quota_refused: AtomicU64,
}

/// Adds one to a counter.
pub(crate) fn bump(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

impl Counters {
    pub fn count_id(&self, meetingid: &str) {
        let mut by_id = self.get_info_by_id.lock().expect("stats lock");
        match by_id.get_mut(meetingid) {
            Some(n) => *n += 1,
            None => {
                by_id.insert(meetingid.to_owned(), 1);
            }
        }
    }

    /// Counts a get_info call for an occurrence (nothing without `sub_meetingid`).
    pub fn count_occurrence(&self, meetingid: &str, sub_meetingid: Option<&str>) {
        let Some(sub) = sub_meetingid else {
            return;
        };
        bump(&self.get_info_occurrence_calls);
        let key = occurrence_key(meetingid, sub);
        let mut by_occurrence = self.get_info_by_occurrence.lock().expect("stats lock");
        *by_occurrence.entry(key).or_insert(0) += 1;
    }

    /// get_info calls seen for one occurrence.
    pub fn calls_for_occurrence(&self, meetingid: &str, sub_meetingid: &str) -> u64 {
        let by_occurrence = self.get_info_by_occurrence.lock().expect("stats lock");
        by_occurrence
            .get(&occurrence_key(meetingid, sub_meetingid))
            .copied()
            .unwrap_or(0)
    }

    /// get_info calls seen for one meeting id.
    pub fn calls_for(&self, meetingid: &str) -> u64 {
        let by_id = self.get_info_by_id.lock().expect("stats lock");
        by_id.get(meetingid).copied().unwrap_or(0)
    }

    pub fn snapshot(&self) -> FakeStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let by_id = self.get_info_by_id.lock().expect("stats lock");
        let by_occurrence = self.get_info_by_occurrence.lock().expect("stats lock");
        FakeStats {
            gettoken_calls: get(&self.gettoken_calls),
            gettoken_errors: get(&self.gettoken_errors),
            get_info_calls: get(&self.get_info_calls),
            get_info_answered: get(&self.get_info_answered),
            get_info_by_id: by_id.iter().map(|(k, v)| (k.clone(), *v)).collect(),
            get_info_occurrence_calls: get(&self.get_info_occurrence_calls),
            get_info_by_occurrence: by_occurrence.iter().map(|(k, v)| (k.clone(), *v)).collect(),
            get_user_meetingid_calls: get(&self.get_user_meetingid_calls),
            throttled_45009: get(&self.throttled_45009),
            throttled_45033: get(&self.throttled_45033),
            faults_injected: get(&self.faults_injected),
            token_errors: get(&self.token_errors),
            max_in_flight: get(&self.max_in_flight),
            quota_blocks_minute: get(&self.quota_blocks_minute),
            quota_blocks_hour: get(&self.quota_blocks_hour),
            quota_refused: get(&self.quota_refused),
            busiest_minute: BTreeMap::new(),
            busiest_hour: BTreeMap::new(),
        }
    }
}

/// The key of an occurrence in [`FakeStats::get_info_by_occurrence`]: `meetingid/sub_meetingid`.
pub fn occurrence_key(meetingid: &str, sub_meetingid: &str) -> String {
    format!("{meetingid}/{sub_meetingid}")
}
