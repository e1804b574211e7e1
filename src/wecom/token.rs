//! The access token: fetched with `gettoken`, cached until shortly before `expires_in`, refreshed
//! single-flight (concurrent requests that find it invalid share one refresh), and never fetched
//! in a loop — repeated gettoken failures can get the machine's IP banned for an hour. A lifetime
//! of 0 or less is not believed (it would mean a gettoken per request): such a token is kept
//! [`MIN_TOKEN_TTL`], and a rejection before then refreshes it like any expired token.
//!
//! WeCom may invalidate a token before `expires_in`, and hands back the same token string from
//! gettoken while it is valid; so tokens are told apart by fetch generation ([`Lease`]), and a
//! token a call succeeded with is proven: its rejection is an early invalidation, refreshed with
//! a backoff and a cap a minute, never fatal. A rejection of a request sent with an older
//! generation does not count against the current token. Only tokens rejected before any call
//! succeeded with them, [`UNPROVEN_TOKENS_FATAL`] in a row, stop the run.
//!
//! The secret, and each token obtained, are registered with [`super::http::scrub`], which then
//! masks them in every message, whatever the server echoes.

use super::client::CallError;
use super::errcode::{ErrClass, classify, fix_hint};
use super::http::{Answer, Http, register_secret, register_token, scrub};
use super::model::TokenAnswer;
use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::Mutex;
use tokio::time::Instant;

/// Refresh this long before WeCom says the token expires (at most a tenth of its life).
const REFRESH_MARGIN: Duration = Duration::from_secs(300);
/// Attempts of one gettoken for transient trouble (-1, 5xx, timeouts) before giving up.
const GETTOKEN_ATTEMPTS: u32 = 3;
/// The lifetime WeCom gives a token, used when gettoken names none.
const USUAL_TOKEN_TTL: Duration = Duration::from_secs(7200);
/// The lifetime assumed when gettoken says 0 or less.
const MIN_TOKEN_TTL: Duration = Duration::from_secs(60);
/// The longest lifetime believed: a day keeps `Instant + ttl` from overflowing.
const MAX_TOKEN_TTL: Duration = Duration::from_secs(86_400);

/// A secret that never prints.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: String) -> Self {
        Secret(s)
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// A token handed to one request: its value and the fetch it came from. Tokens are told apart
/// by that fetch generation, never by their text: while a token is valid, gettoken hands back
/// the same string, so a refreshed token may read exactly like the one it replaced.
#[derive(Clone)]
pub struct Lease {
    pub value: Arc<str>,
    generation: u64,
}

struct Cached {
    value: Arc<str>,
    generation: u64,
    refresh_at: Instant,
}

pub struct TokenCache {
    corpid: String,
    secret: Secret,
    state: Mutex<State>,
    /// The newest generation a call succeeded with (0 = none): that token reaches WeCom intact.
    /// An atomic, so that a success never waits for a refresh in progress.
    proven: AtomicU64,
    gettoken_calls: AtomicU64,
    refreshes_forced: AtomicU64,
}

#[derive(Default)]
struct State {
    token: Option<Cached>,
    /// A fatal answer: every later request fails fast instead of calling again.
    fatal: Option<CallError>,
    /// The generation of the last token fetched (0 = none yet).
    generation: u64,
    /// Tokens in a row rejected before any call succeeded with them ...
    unproven_rejected: u32,
    /// ... since the proven generation was this one (a newer success ends the streak).
    streak_proven: u64,
    /// When the forced refreshes of the last minute happen (for the backoff and the cap).
    forced: VecDeque<Instant>,
    /// The next fetch, a forced refresh, waits until then.
    not_before: Option<Instant>,
}

/// Tokens in a row that WeCom rejects before any call succeeded with them stop the run: the
/// token does not reach WeCom as issued, and refreshing again would only hammer gettoken
/// (WeCom bans the IP for many failed calls).
const UNPROVEN_TOKENS_FATAL: u32 = 3;
/// The wait before a forced refresh when another happened within the minute, doubled for each
/// further one ...
const REFRESH_BACKOFF: Duration = Duration::from_millis(250);
/// ... up to this.
const REFRESH_BACKOFF_MAX: Duration = Duration::from_secs(8);
/// Forced refreshes allowed in any minute; one more waits until the oldest is a minute old.
const FORCED_REFRESHES_PER_MINUTE: usize = 10;
const MINUTE: Duration = Duration::from_secs(60);

/// What [`TokenCache::rejected`] made of a rejection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    /// The request carried a token already replaced (it was sent before the current token
    /// was fetched): the current one is not to blame; retry with it.
    Stale,
    /// The current token was dropped; the next request fetches a new one (after the backoff).
    Refreshing,
}

impl TokenCache {
    pub fn new(corpid: String, secret: Secret) -> Self {
        register_secret(secret.expose());
        TokenCache {
            corpid,
            secret,
            state: Mutex::new(State::default()),
            proven: AtomicU64::new(0),
            gettoken_calls: AtomicU64::new(0),
            refreshes_forced: AtomicU64::new(0),
        }
    }

    /// gettoken calls made so far.
    pub fn gettoken_calls(&self) -> u64 {
        self.gettoken_calls.load(Ordering::Relaxed)
    }

    /// Refreshes forced by 40014/42001 answers.
    pub fn forced_refreshes(&self) -> u64 {
        self.refreshes_forced.load(Ordering::Relaxed)
    }

    /// A valid token, fetching one if none is cached or it is about to expire. The lock is held
    /// across the fetch (and the backoff before a forced refresh), so concurrent callers wait
    /// for one gettoken instead of racing.
    pub async fn get(&self, http: &Http) -> Result<Lease, CallError> {
        let mut st = self.state.lock().await;
        if let Some(e) = &st.fatal {
            return Err(e.clone());
        }
        if let Some(t) = &st.token
            && Instant::now() < t.refresh_at
        {
            return Ok(t.lease());
        }
        if let Some(at) = st.not_before.take() {
            tokio::time::sleep_until(at).await;
        }
        match self.fetch(http).await {
            Ok((value, refresh_at)) => {
                st.generation += 1;
                let t = Cached {
                    value,
                    generation: st.generation,
                    refresh_at,
                };
                let lease = t.lease();
                st.token = Some(t);
                Ok(lease)
            }
            Err(e) => {
                if matches!(e, CallError::Fatal { .. }) {
                    st.fatal = Some(e.clone());
                }
                Err(e)
            }
        }
    }

    /// A call succeeded with `lease`: its token reaches WeCom intact.
    pub fn succeeded(&self, lease: &Lease) {
        self.proven.fetch_max(lease.generation, Ordering::Relaxed);
    }

    /// WeCom rejected `lease` (40014/42001/41001, `why` its redacted answer).
    ///
    /// A rejection of a token already replaced is [`Rejection::Stale`]. A rejection of the
    /// current token drops it: a token a call succeeded with is proven good, so its rejection
    /// means WeCom invalidated it early — normal, refreshed after a backoff (and at most
    /// [`FORCED_REFRESHES_PER_MINUTE`] a minute), never fatal. Only
    /// [`UNPROVEN_TOKENS_FATAL`] tokens in a row rejected before any call succeeded with them
    /// stop the run, for every request at once.
    pub async fn rejected(
        &self,
        lease: &Lease,
        errcode: Option<i64>,
        why: &str,
        http: &Http,
    ) -> Result<Rejection, CallError> {
        let mut st = self.state.lock().await;
        if let Some(e) = &st.fatal {
            return Err(e.clone());
        }
        if st
            .token
            .as_ref()
            .is_none_or(|t| t.generation != lease.generation)
        {
            return Ok(Rejection::Stale);
        }
        let proven = self.proven.load(Ordering::Relaxed);
        if proven >= lease.generation {
            tracing::info!(
                errcode,
                "a proven access token was invalidated early; refreshing it"
            );
        } else {
            if proven != st.streak_proven {
                st.streak_proven = proven;
                st.unproven_rejected = 0;
            }
            st.unproven_rejected += 1;
            if st.unproven_rejected >= UNPROVEN_TOKENS_FATAL {
                let e = CallError::Fatal {
                    errcode,
                    message: format!(
                        "WeCom rejected {} access tokens in a row, each before any call \
                         succeeded with it (last: {why}): gettoken works, so the credentials \
                         are right, but the token does not reach WeCom as issued — check for \
                         a proxy or gateway on the way to {} that rewrites or strips the \
                         access_token query parameter",
                        st.unproven_rejected,
                        http.base()
                    ),
                };
                st.fatal = Some(e.clone());
                st.token = None;
                return Err(e);
            }
            tracing::info!(
                errcode,
                "a fresh access token was rejected before any call succeeded with it; refreshing it"
            );
        }
        st.token = None;
        st.not_before = Some(next_forced_refresh(&mut st.forced, Instant::now()));
        self.refreshes_forced.fetch_add(1, Ordering::Relaxed);
        Ok(Rejection::Refreshing)
    }

    async fn fetch(&self, http: &Http) -> Result<(Arc<str>, Instant), CallError> {
        let mut last = String::new();
        // The `Retry-After` of the last busy answer: the least wait before the next attempt.
        let mut wait = Duration::ZERO;
        for attempt in 0..GETTOKEN_ATTEMPTS {
            if attempt > 0 {
                let backoff = Duration::from_millis(500 << attempt);
                tokio::time::sleep(backoff.max(std::mem::take(&mut wait))).await;
            }
            self.gettoken_calls.fetch_add(1, Ordering::Relaxed);
            let answer = http
                .get(
                    "/cgi-bin/gettoken",
                    &[
                        ("corpid", &self.corpid),
                        ("corpsecret", self.secret.expose()),
                    ],
                )
                .await;
            let a = match answer {
                Answer::Body(bytes) => match serde_json::from_slice::<TokenAnswer>(&bytes) {
                    Ok(a) => a,
                    Err(e) => {
                        last = scrub(&format!("gettoken answered a body that is not JSON: {e}"));
                        continue;
                    }
                },
                Answer::Busy { why, retry_after } => {
                    last = why;
                    wait = retry_after.unwrap_or_default();
                    continue;
                }
                // A proxy's error page without end, most likely: worth another attempt.
                Answer::TooLarge(why) => {
                    last = why;
                    continue;
                }
                Answer::Refused(why) => {
                    return Err(CallError::Fatal {
                        errcode: None,
                        message: format!(
                            "/cgi-bin/gettoken answered {why}: check the API base URL ({})",
                            http.base()
                        ),
                    });
                }
            };
            let code = a.errcode.unwrap_or(0);
            match classify(code) {
                ErrClass::Ok => {
                    let Some(value) = a.access_token.filter(|t| !t.is_empty()) else {
                        last = "gettoken answered without an access_token".into();
                        continue;
                    };
                    register_token(&value);
                    let ttl = lifetime(a.expires_in);
                    let margin = REFRESH_MARGIN.min(ttl / 10);
                    return Ok((value.into(), Instant::now() + ttl - margin));
                }
                ErrClass::Busy => {
                    last = format!("gettoken answered errcode {code}");
                    continue;
                }
                _ => {
                    return Err(CallError::Fatal {
                        errcode: Some(code),
                        message: format!(
                            "gettoken refused the credentials (errcode {code}): {}",
                            fix_hint(code)
                        ),
                    });
                }
            }
        }
        Err(CallError::Fatal {
            errcode: None,
            message: format!(
                "could not obtain an access token after {GETTOKEN_ATTEMPTS} attempts ({last}); \
                 check the base URL and the network, then rerun"
            ),
        })
    }
}

impl Cached {
    fn lease(&self) -> Lease {
        Lease {
            value: self.value.clone(),
            generation: self.generation,
        }
    }
}

/// When the forced refresh asked for `now` may happen: at once when it is the first of the last
/// minute, else after [`REFRESH_BACKOFF`] doubled per earlier one (up to [`REFRESH_BACKOFF_MAX`]),
/// and never while [`FORCED_REFRESHES_PER_MINUTE`] already fall in the minute before it.
/// Records it in `forced`.
fn next_forced_refresh(forced: &mut VecDeque<Instant>, now: Instant) -> Instant {
    while forced.front().is_some_and(|&t| t + MINUTE <= now) {
        forced.pop_front();
    }
    let earlier = u32::try_from(forced.len()).unwrap_or(u32::MAX);
    let backoff = match earlier {
        0 => Duration::ZERO,
        n => REFRESH_BACKOFF
            .saturating_mul(2u32.saturating_pow(n - 1))
            .min(REFRESH_BACKOFF_MAX),
    };
    let mut at = now + backoff;
    if forced.len() >= FORCED_REFRESHES_PER_MINUTE
        && let Some(&oldest) = forced.iter().rev().nth(FORCED_REFRESHES_PER_MINUTE - 1)
    {
        at = at.max(oldest + MINUTE);
    }
    forced.push_back(at);
    at
}

/// How long to trust a token gettoken said lives `expires_in` seconds: WeCom's usual 7200 when
/// it says nothing, [`MIN_TOKEN_TTL`] when it says 0 or less, at most [`MAX_TOKEN_TTL`].
fn lifetime(expires_in: Option<i64>) -> Duration {
    match expires_in {
        None => USUAL_TOKEN_TTL,
        Some(s) if s <= 0 => MIN_TOKEN_TTL,
        Some(s) => Duration::from_secs(s.unsigned_abs()).min(MAX_TOKEN_TTL),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lifetime_of_0_or_less_is_a_minute_and_a_huge_one_a_day() {
        assert_eq!(lifetime(None), Duration::from_secs(7200));
        assert_eq!(lifetime(Some(0)), MIN_TOKEN_TTL);
        assert_eq!(lifetime(Some(-7200)), MIN_TOKEN_TTL);
        assert_eq!(lifetime(Some(5)), Duration::from_secs(5));
        assert_eq!(lifetime(Some(i64::MAX)), MAX_TOKEN_TTL);
    }

    #[test]
    fn forced_refreshes_back_off_within_a_minute_and_are_capped_at_ten_a_minute() {
        let t0 = Instant::now();
        let mut forced = VecDeque::new();
        let waits: Vec<Duration> = (0..12)
            .map(|_| next_forced_refresh(&mut forced, t0) - t0)
            .collect();
        let ms = Duration::from_millis;
        assert_eq!(
            &waits[..6],
            &[ms(0), ms(250), ms(500), ms(1000), ms(2000), ms(4000)]
        );
        assert_eq!(&waits[6..10], &[REFRESH_BACKOFF_MAX; 4]);
        // The 11th and 12th wait until the 1st and 2nd are a minute old.
        assert_eq!(waits[10], MINUTE);
        assert_eq!(waits[11], ms(250) + MINUTE);
        // A refresh after a quiet minute is immediate again.
        let later = t0 + 3 * MINUTE;
        assert_eq!(next_forced_refresh(&mut forced, later), later);
    }
}
