//! The access token: fetched with `gettoken`, cached until shortly before `expires_in`, refreshed
//! single-flight (concurrent requests that find it invalid share one refresh), and never fetched
//! in a loop — repeated gettoken failures can get the machine's IP banned for an hour. A lifetime
//! of 0 or less is not believed (it would mean a gettoken per request): such a token is kept
//! [`MIN_TOKEN_TTL`], and a rejection before then refreshes it like any expired token.
//!
//! The secret, and each token obtained, are registered with [`super::http::scrub`], which then
//! masks them in every message, whatever the server echoes.

use super::client::CallError;
use super::errcode::{ErrClass, classify, fix_hint};
use super::http::{Answer, Http, register_secret, register_token, scrub};
use super::model::TokenAnswer;
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

struct Cached {
    value: Arc<str>,
    refresh_at: Instant,
    /// When this token replaced one WeCom had rejected (40014/42001), the time it did.
    replaced_rejected_at: Option<Instant>,
}

pub struct TokenCache {
    corpid: String,
    secret: Secret,
    state: Mutex<State>,
    gettoken_calls: AtomicU64,
    refreshes_forced: AtomicU64,
}

#[derive(Default)]
struct State {
    token: Option<Cached>,
    /// A fatal gettoken answer: every later request fails fast instead of calling again.
    fatal: Option<CallError>,
    /// The next token fetched replaces one WeCom rejected.
    replacing_rejected: bool,
}

/// A token WeCom rejects within this time of being issued to replace a rejected one is not
/// expiring: something mangles tokens, and refreshing again would only hammer gettoken.
const FRESH_TOKEN_REJECTED_WITHIN: Duration = Duration::from_secs(60);

impl TokenCache {
    pub fn new(corpid: String, secret: Secret) -> Self {
        register_secret(secret.expose());
        TokenCache {
            corpid,
            secret,
            state: Mutex::new(State::default()),
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
    /// across the fetch, so concurrent callers wait for one gettoken instead of racing.
    pub async fn get(&self, http: &Http) -> Result<Arc<str>, CallError> {
        let mut st = self.state.lock().await;
        if let Some(e) = &st.fatal {
            return Err(e.clone());
        }
        if let Some(t) = &st.token
            && Instant::now() < t.refresh_at
        {
            return Ok(t.value.clone());
        }
        match self.fetch(http).await {
            Ok(mut t) => {
                if std::mem::take(&mut st.replacing_rejected) {
                    t.replaced_rejected_at = Some(Instant::now());
                }
                let v = t.value.clone();
                st.token = Some(t);
                Ok(v)
            }
            Err(e) => {
                if matches!(e, CallError::Fatal { .. }) {
                    st.fatal = Some(e.clone());
                }
                Err(e)
            }
        }
    }

    /// Drops the cached token if it is still `stale` (a concurrent request may already have
    /// refreshed it, in which case nothing happens).
    ///
    /// A token that replaced a rejected one and is rejected in turn within a minute stops the
    /// run for every request (the same verdict as a request whose own retry was rejected), so
    /// requests in flight do not each refresh it once more.
    pub async fn invalidate(&self, stale: &str) {
        let mut st = self.state.lock().await;
        let Some(t) = st.token.as_ref().filter(|t| &*t.value == stale) else {
            return;
        };
        if t.replaced_rejected_at
            .is_some_and(|at| at.elapsed() < FRESH_TOKEN_REJECTED_WITHIN)
        {
            st.fatal = Some(CallError::Fatal {
                errcode: None,
                message: "WeCom rejected a freshly issued access token too: check the API base \
                          URL and any proxy in between"
                    .into(),
            });
        } else {
            st.replacing_rejected = true;
            self.refreshes_forced.fetch_add(1, Ordering::Relaxed);
        }
        st.token = None;
    }

    async fn fetch(&self, http: &Http) -> Result<Cached, CallError> {
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
                    return Ok(Cached {
                        value: value.into(),
                        refresh_at: Instant::now() + ttl - margin,
                        replaced_rejected_at: None,
                    });
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
}
