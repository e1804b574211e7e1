//! The access token: fetched with `gettoken`, cached until shortly before `expires_in`, refreshed
//! single-flight (concurrent requests that find it invalid share one refresh), and never fetched
//! in a loop — repeated gettoken failures can get the machine's IP banned for an hour.

use super::client::CallError;
use super::errcode::{ErrClass, classify, fix_hint};
use super::http::{Answer, Http};
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
}

impl TokenCache {
    pub fn new(corpid: String, secret: Secret) -> Self {
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
            Ok(t) => {
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
    pub async fn invalidate(&self, stale: &str) {
        let mut st = self.state.lock().await;
        if st.token.as_ref().is_some_and(|t| &*t.value == stale) {
            st.token = None;
            self.refreshes_forced.fetch_add(1, Ordering::Relaxed);
        }
    }

    async fn fetch(&self, http: &Http) -> Result<Cached, CallError> {
        let mut last = String::new();
        for attempt in 0..GETTOKEN_ATTEMPTS {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(500 << attempt)).await;
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
                        last = format!("gettoken answered a body that is not JSON: {e}");
                        continue;
                    }
                },
                Answer::Busy(transient) => {
                    last = transient;
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
                    // WeCom says 7200; a day at most keeps `Instant + ttl` from overflowing.
                    let ttl =
                        Duration::from_secs(a.expires_in.unwrap_or(7200).clamp(1, 86_400) as u64);
                    let margin = REFRESH_MARGIN.min(ttl / 10);
                    return Ok(Cached {
                        value: value.into(),
                        refresh_at: Instant::now() + ttl - margin,
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
