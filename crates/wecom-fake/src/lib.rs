//! An in-process fake of the WeCom API, for tests, benchmarks and trials without credentials.
//!
//! It serves `gettoken`, `meeting/get_info` and `meeting/get_user_meetingid` on 127.0.0.1 with
//! WeCom's habits: errors as HTTP 200 with an `errcode`, tokens that expire, a per-second rate
//! limit (45009), minute and hour quotas per API that block the API for a minute or an hour
//! once exceeded (45009, on a clock that tests may speed up), a concurrency limit (45033), and
//! busy faults (scripted per meeting id or drawn at random from a seeded RNG). It also
//! misbehaves the ways a client must withstand: a
//! redirect, a body without end, an `errmsg` echoing the credentials, `Retry-After` (each a
//! [`Fault`], scripted for get_info or gettoken), a token lifetime announced as 0, and organizers whose
//! listing never ends or repeats its cursor. Bodies are served verbatim, so fixtures and generated meetings
//! reach the client byte for byte. `/_fake/stats` reports what the server saw, which is how
//! tests check the client's cost (one call per meeting, one token per lifetime, and per
//! occurrence of a series: `get_info_by_occurrence`).
//!
//! It also serves recurring meetings ([`FakeSeries`], built from a rule with the job's own
//! expansion, then edited: an occurrence deleted, one moved, a split into two segments), as
//! of a "now" a test sets and changes while the server runs ([`FakeHandle::set_now`]).
//! WeCom documents the fields but not which occurrences it lists; the fake's choices:
//! `get_info` without `sub_meetingid` answers the head (`meeting_type` 1, `reminders`,
//! `sub_repeat_list` when split, `current_sub_meetingid` = the occurrence in progress or next,
//! `sub_meetings` = every occurrence, deleted ones included, ending at or after now minus a
//! horizon (default a week), the earliest first, capped (default 20) with
//! `has_more_sub_meeting` 1 when cut, `remain_sub_meetings` = occurrences not deleted and not
//! ended, `meeting_start` = the first occurrence, `status` 3 once all have ended, and the
//! `attendees` of the current occurrence (of the last held one once over)); with a known
//! `sub_meetingid` that occurrence's own body; with an unknown one errcode 90602
//! ([`errcode::UNKNOWN_SUB_MEETING`]), one of get_info's per-meeting codes (SPEC §2), so the
//! request fails and the run goes on. `repeat_id` is a string, or a number for a series set
//! with [`FakeSeries::repeat_id_as_number`]; `sub_meetingid`s are opaque strings.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use wecom_fake::{FakeConfig, FakeWecom, Fault};
//! let server = FakeWecom::new(FakeConfig::default())
//!     .with_meeting("hyA", "zhangsan", 1_700_000_000, r#"{"errcode":0,"errmsg":"ok"}"#)
//!     .script("hyA", vec![Fault::Errcode(-1), Fault::Http(502)])
//!     .start()
//!     .await?;
//! println!("{}", server.base_url());
//! server.shutdown().await;
//! # Ok(()) }
//! ```

mod builder;
pub mod directory;
mod faults;
pub mod generate;
pub mod generate_series;
mod handle;
mod handlers;
mod limits;
mod list;
mod quotas;
mod reply;
mod series;
mod series_answer;
mod state;
mod stats;

pub use builder::FakeWecom;
pub use faults::Fault;
pub use handle::FakeHandle;
pub use reply::errcode;
pub use series::{DEFAULT_REPEAT_ID, FakeOccurrence, FakeSeries, OccurrenceContent};
pub use series_answer::{DEFAULT_SUB_MEETINGS_CAP, DEFAULT_SUB_MEETINGS_HORIZON_S};
pub use stats::{FakeStats, occurrence_key};

use std::fmt;
use std::time::Duration;

/// `expires_in` of issued tokens unless configured otherwise (WeCom's usual value).
pub const DEFAULT_TOKEN_TTL_S: u64 = 7200;
/// How long a [`Fault::Slow`] answer takes unless configured otherwise.
pub const DEFAULT_SLOW_DELAY: Duration = Duration::from_secs(15);
/// Credentials the fake accepts unless configured otherwise (the demo job's).
pub const DEFAULT_CORPID: &str = "demo-corp";
pub const DEFAULT_SECRET: &str = "demo-secret";

/// How the fake server behaves.
#[derive(Clone)]
pub struct FakeConfig {
    /// The only `corpid` `gettoken` accepts (others get 40013).
    pub corpid: String,
    /// The only `corpsecret` `gettoken` accepts (others get 40001). Never logged.
    pub secret: String,
    /// `expires_in` returned by `gettoken`; tokens older than this get 42001.
    pub token_ttl_s: u64,
    /// The `expires_in` `gettoken` announces instead of `token_ttl_s` (0 or negative, as a
    /// misbehaving server might); the tokens still live `token_ttl_s`. `None` = the truth.
    pub announced_ttl_s: Option<i64>,
    /// Each token serves this many calls, then is invalidated (its next use gets 42001) long
    /// before `expires_in`, as WeCom may do. `None` = tokens live their whole `token_ttl_s`.
    pub token_every: Option<u64>,
    /// `gettoken` hands back the token already issued while it is still valid, as WeCom does
    /// (a fresh one only once it expired or was invalidated). Off by default: each gettoken
    /// issues a new token.
    pub same_token_while_valid: bool,
    /// Added to every `get_info` and `get_user_meetingid` answer that passes the admission
    /// checks (token, concurrency, rate).
    pub latency: Duration,
    /// Calls per second allowed over `get_info` and `get_user_meetingid` together (a token
    /// bucket); beyond it the answer is 45009. `None` = unlimited.
    pub rate_limit: Option<u32>,
    /// Capacity of the rate bucket (calls allowed at once); default: one second's worth.
    pub rate_limit_burst: Option<u32>,
    /// `get_info` requests allowed in flight at once; beyond it the answer is 45033.
    pub max_concurrency: Option<usize>,
    /// Probability per `get_info` call of a random busy fault (see [`Fault`]); 0 = none.
    pub fault_rate: f64,
    /// How long a [`Fault::Slow`] answer sleeps before answering normally.
    pub slow_delay: Duration,
    /// Seed of the random faults (and of the issued tokens), so runs are reproducible.
    pub seed: u64,
    /// Port to bind on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// Calls each API (request path, `gettoken` aside) may take in a minute window; the call
    /// beyond it gets 45009 and blocks that API for a minute, as WeCom does. `None` = no quota.
    pub quota_per_minute: Option<u32>,
    /// Calls each API may take in an hour window; beyond: 45009 and a block of an hour.
    pub quota_per_hour: Option<u32>,
    /// The quota clock runs this much faster: windows and blocks last 60 s and 3,600 s times
    /// this (1 = WeCom's). A client's `fetch.quota_window_scale` must match.
    pub quota_clock_scale: f64,
}

impl Default for FakeConfig {
    fn default() -> Self {
        FakeConfig {
            corpid: DEFAULT_CORPID.to_owned(),
            secret: DEFAULT_SECRET.to_owned(),
            token_ttl_s: DEFAULT_TOKEN_TTL_S,
            announced_ttl_s: None,
            token_every: None,
            same_token_while_valid: false,
            latency: Duration::ZERO,
            rate_limit: None,
            rate_limit_burst: None,
            max_concurrency: None,
            fault_rate: 0.0,
            slow_delay: DEFAULT_SLOW_DELAY,
            seed: 0,
            port: 0,
            quota_per_minute: None,
            quota_per_hour: None,
            quota_clock_scale: 1.0,
        }
    }
}

/// Shows everything but the secret.
impl fmt::Debug for FakeConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FakeConfig")
            .field("corpid", &self.corpid)
            .field("secret", &"<redacted>")
            .field("token_ttl_s", &self.token_ttl_s)
            .field("announced_ttl_s", &self.announced_ttl_s)
            .field("token_every", &self.token_every)
            .field("same_token_while_valid", &self.same_token_while_valid)
            .field("latency", &self.latency)
            .field("rate_limit", &self.rate_limit)
            .field("rate_limit_burst", &self.rate_limit_burst)
            .field("max_concurrency", &self.max_concurrency)
            .field("fault_rate", &self.fault_rate)
            .field("slow_delay", &self.slow_delay)
            .field("seed", &self.seed)
            .field("port", &self.port)
            .field("quota_per_minute", &self.quota_per_minute)
            .field("quota_per_hour", &self.quota_per_hour)
            .field("quota_clock_scale", &self.quota_clock_scale)
            .finish()
    }
}
