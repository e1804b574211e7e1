//! The fake server's shared state: the meetings and series it serves, the tokens it issued, the
//! faults scripted per meeting, the admission checks and the counters. Handlers only read and update
//! it through the small methods here.

use super::FakeConfig;
use super::faults::{self, Fault};
use super::limits::{InFlight, TokenBucket};
use super::list::Listing;
use super::reply::{self, errcode};
use super::series::FakeSeries;
use super::series_answer::{self, SeriesClock};
use super::stats::Counters;
use axum::body::Bytes;
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Length of the access tokens the fake issues (WeCom's are longer than 64 characters too).
const TOKEN_LEN: usize = 96;
const TOKEN_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
/// Mixed into the seed for tokens, so issuing tokens does not shift the fault sequence.
const TOKEN_SEED_SALT: u64 = 0x746F_6B65_6E73;

/// A meeting as the fake serves it.
#[derive(Clone, Debug)]
pub(crate) struct StoredMeeting {
    /// `admin_userid` (or `creator_userid`), when the body names one.
    pub organizer: Option<String>,
    /// `meeting_start`, when the body has a readable one.
    pub start: Option<i64>,
    /// The `get_info` answer, served verbatim.
    pub body: Bytes,
}

/// Faults waiting for a meeting id.
#[derive(Default)]
pub(crate) struct FaultPlan {
    /// Served first, one per call, in order.
    pub scripted: HashMap<String, VecDeque<Fault>>,
    /// Served on every call once the script is used up.
    pub always: HashMap<String, i64>,
    /// Served to `gettoken` calls first, one per call, in order.
    pub gettoken: VecDeque<Fault>,
    /// Organizers whose `get_user_meetingid` listing misbehaves.
    pub listings: HashMap<String, Listing>,
}

struct IssuedToken {
    issued: Instant,
    revoked: bool,
    /// Calls this token was accepted for (see [`FakeConfig::token_every`]).
    served: u64,
}

impl IssuedToken {
    fn live(&self, ttl: Duration) -> bool {
        !self.revoked && self.issued.elapsed() < ttl
    }
}

pub(crate) struct State {
    pub cfg: FakeConfig,
    pub meetings: HashMap<String, StoredMeeting>,
    /// Recurring meetings, by meetingid (a series id is never in `meetings` too).
    pub series: HashMap<String, FakeSeries>,
    /// The series' "now", horizon and cap.
    pub series_clock: SeriesClock,
    /// Per organizer: `(meeting_start, meetingid)`, sorted, for `get_user_meetingid`.
    pub by_organizer: HashMap<String, Vec<(i64, String)>>,
    pub plan: Mutex<FaultPlan>,
    pub bucket: Option<TokenBucket>,
    /// The minute and hour quotas per API.
    pub quotas: super::quotas::Quotas,
    pub in_flight: InFlight,
    pub counters: Counters,
    /// The contacts the fake serves, when set up ([`crate::FakeWecom::with_directory`]).
    pub directory: Option<crate::directory::FakeDirectory>,
    tokens: Mutex<HashMap<String, IssuedToken>>,
    /// The token `gettoken` hands back again while it lives (`same_token_while_valid`).
    current_token: Mutex<Option<String>>,
    /// Bumped by [`State::reject_in_flight`]: a call that saw another value when it arrived
    /// answers 42001.
    pub rejection_bursts: AtomicU64,
    token_rng: Mutex<fastrand::Rng>,
    fault_rng: Mutex<fastrand::Rng>,
}

impl State {
    pub fn new(cfg: FakeConfig, meetings: HashMap<String, StoredMeeting>, plan: FaultPlan) -> Self {
        let mut by_organizer: HashMap<String, Vec<(i64, String)>> = HashMap::new();
        for (id, m) in &meetings {
            if let (Some(org), Some(start)) = (&m.organizer, m.start) {
                by_organizer
                    .entry(org.clone())
                    .or_default()
                    .push((start, id.clone()));
            }
        }
        by_organizer.values_mut().for_each(|list| list.sort());
        let bucket = cfg.rate_limit.map(|rate| {
            TokenBucket::new(rate, cfg.rate_limit_burst.unwrap_or(rate), Instant::now())
        });
        let quotas = super::quotas::Quotas::new(
            cfg.quota_per_minute,
            cfg.quota_per_hour,
            cfg.quota_clock_scale,
        );
        State {
            token_rng: Mutex::new(fastrand::Rng::with_seed(cfg.seed ^ TOKEN_SEED_SALT)),
            fault_rng: Mutex::new(fastrand::Rng::with_seed(cfg.seed)),
            cfg,
            meetings,
            series: HashMap::new(),
            series_clock: SeriesClock::default(),
            by_organizer,
            plan: Mutex::new(plan),
            bucket,
            quotas,
            in_flight: InFlight::default(),
            counters: Counters::default(),
            directory: None,
            tokens: Mutex::new(HashMap::new()),
            current_token: Mutex::new(None),
            rejection_bursts: AtomicU64::new(0),
        }
    }

    /// Serves these series (listed by their organizer at their first start) with this clock.
    pub fn set_series(&mut self, series: HashMap<String, FakeSeries>, clock: SeriesClock) {
        for (id, s) in &series {
            self.meetings.remove(id);
            let list = self.by_organizer.entry(s.admin_userid.clone()).or_default();
            list.retain(|(_, listed)| listed != id);
            list.push((s.first_start, id.clone()));
            list.sort();
        }
        self.series = series;
        self.series_clock = clock;
    }

    /// The `get_info` answer for `meetingid` (and an occurrence of it): a series' head or
    /// occurrence as of the series clock, a stored body verbatim, or the errcode of an unknown
    /// meeting (400041) or occurrence ([`errcode::UNKNOWN_SUB_MEETING`], also for a
    /// `sub_meetingid` of a meeting that is not a series).
    pub fn answer(&self, meetingid: &str, sub_meetingid: Option<&str>) -> Bytes {
        if let Some(series) = self.series.get(meetingid) {
            let view = self.series_clock.view();
            return match sub_meetingid {
                None => Bytes::from(series_answer::head(series, view)),
                Some(sub) => match series_answer::occurrence(series, sub, view) {
                    Some(body) => Bytes::from(body),
                    None => Bytes::from(reply::error_body(errcode::UNKNOWN_SUB_MEETING)),
                },
            };
        }
        match (self.meetings.get(meetingid), sub_meetingid) {
            (None, _) => Bytes::from(reply::error_body(errcode::MEETING_NOT_EXIST)),
            (Some(m), None) => m.body.clone(),
            (Some(_), Some(_)) => Bytes::from(reply::error_body(errcode::UNKNOWN_SUB_MEETING)),
        }
    }

    /// The token `gettoken` answers: the live one already issued when `same_token_while_valid`
    /// says so, else a fresh one.
    pub fn issue_token(&self) -> String {
        let mut current = self.current_token.lock().expect("token lock");
        let ttl = self.ttl();
        if self.cfg.same_token_while_valid
            && let Some(t) = current.as_ref()
            && self
                .tokens
                .lock()
                .expect("token lock")
                .get(t)
                .is_some_and(|t| t.live(ttl))
        {
            return t.clone();
        }
        let token = self.fresh_token();
        *current = Some(token.clone());
        token
    }

    fn ttl(&self) -> Duration {
        Duration::from_secs(self.cfg.token_ttl_s)
    }

    /// Issues a new access token.
    fn fresh_token(&self) -> String {
        let token: String = {
            let mut rng = self.token_rng.lock().expect("rng lock");
            (0..TOKEN_LEN)
                .map(|_| TOKEN_ALPHABET[rng.usize(..TOKEN_ALPHABET.len())] as char)
                .collect()
        };
        let issued = IssuedToken {
            issued: Instant::now(),
            revoked: false,
            served: 0,
        };
        self.tokens
            .lock()
            .expect("token lock")
            .insert(token.clone(), issued);
        token
    }

    /// `Ok` for a live token, else the errcode WeCom gives (41001 / 40014 / 42001).
    pub fn check_token(&self, token: Option<&str>) -> Result<(), i64> {
        let token = token.filter(|t| !t.is_empty());
        let Some(token) = token else {
            return Err(errcode::MISSING_TOKEN);
        };
        let ttl = self.ttl();
        let mut tokens = self.tokens.lock().expect("token lock");
        let Some(t) = tokens.get_mut(token) else {
            return Err(errcode::INVALID_TOKEN);
        };
        if self.cfg.token_every.is_some_and(|n| t.served >= n) {
            t.revoked = true;
        }
        if !t.live(ttl) {
            return Err(errcode::EXPIRED_TOKEN);
        }
        t.served += 1;
        Ok(())
    }

    /// Every token issued so far (for tests that prove no token leaks).
    pub fn issued_tokens(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .tokens
            .lock()
            .expect("token lock")
            .keys()
            .cloned()
            .collect();
        v.sort();
        v
    }

    /// Makes every token issued so far invalid (their next use gets 42001); returns how many.
    pub fn expire_tokens(&self) -> usize {
        let mut tokens = self.tokens.lock().expect("token lock");
        tokens.values_mut().for_each(|t| t.revoked = true);
        tokens.len()
    }

    /// The `get_info` calls in flight now answer 42001 when their latency is over, though the
    /// tokens stay valid (a burst of rejections of requests already sent); returns how many
    /// were in flight.
    pub fn reject_in_flight(&self) -> u64 {
        self.rejection_bursts.fetch_add(1, Ordering::AcqRel);
        self.in_flight.current()
    }

    /// What the server saw so far, the busiest quota windows included.
    pub fn stats(&self) -> super::FakeStats {
        let mut s = self.counters.snapshot();
        (s.busiest_minute, s.busiest_hour) = self.quotas.busiest();
        s
    }

    /// `false` when the call exceeds the configured rate.
    pub fn rate_ok(&self) -> bool {
        self.bucket.as_ref().is_none_or(TokenBucket::try_take)
    }

    /// The fault for this call of `meetingid`: the next scripted one, else the always-failing
    /// errcode, else a random busy fault with probability `fault_rate`.
    pub fn next_fault(&self, meetingid: &str) -> Option<Fault> {
        {
            let mut plan = self.plan.lock().expect("plan lock");
            if let Some(f) = plan
                .scripted
                .get_mut(meetingid)
                .and_then(VecDeque::pop_front)
            {
                return Some(f);
            }
            if let Some(&code) = plan.always.get(meetingid) {
                return Some(Fault::Errcode(code));
            }
        }
        if self.cfg.fault_rate <= 0.0 {
            return None;
        }
        let mut rng = self.fault_rng.lock().expect("rng lock");
        (rng.f64() < self.cfg.fault_rate).then(|| faults::random(&mut rng))
    }

    /// The next scripted fault of `gettoken`, if any.
    pub fn next_gettoken_fault(&self) -> Option<Fault> {
        self.plan.lock().expect("plan lock").gettoken.pop_front()
    }

    /// How the listing of `userid` misbehaves, if it does.
    pub fn listing(&self, userid: &str) -> Option<Listing> {
        self.plan
            .lock()
            .expect("plan lock")
            .listings
            .get(userid)
            .copied()
    }

    /// The errcode every call naming `id` answers, if `fail_always` set one.
    pub fn always_fails(&self, id: &str) -> Option<i64> {
        self.plan.lock().expect("plan lock").always.get(id).copied()
    }

    /// Adds faults to the end of a meeting's script.
    pub fn script(&self, meetingid: &str, faults: Vec<Fault>) {
        let mut plan = self.plan.lock().expect("plan lock");
        plan.scripted
            .entry(meetingid.to_owned())
            .or_default()
            .extend(faults);
    }

    /// Makes every call for a meeting (get_info) or an organizer (get_user_meetingid) answer
    /// `code`.
    pub fn fail_always(&self, meetingid: &str, code: i64) {
        let mut plan = self.plan.lock().expect("plan lock");
        plan.always.insert(meetingid.to_owned(), code);
    }
}
