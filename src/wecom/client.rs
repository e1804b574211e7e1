//! The WeCom HTTP client: one [`Client::call`] that paces, sends, classifies the errcode and
//! retries, so every API the job uses gets the same treatment (SPEC §2):
//! token invalid → one single-flight refresh and one retry; busy (-1, 5xx, timeouts, resets,
//! truncated or non-JSON bodies) → bounded exponential backoff with full jitter; throttled
//! (45009/45033) → pause the whole run (and narrow concurrency on 45033), then retry; fatal
//! config → stop; anything else → that request fails with its errcode.
//!
//! The access token travels in the query string and `reqwest::Error`'s Display prints the URL,
//! so every transport error is stripped of its URL (`without_url`) and scrubbed before it is
//! shown or logged.

use super::errcode::{ErrClass, classify, fix_hint};
use super::limiter::Limiter;
use super::model::{Envelope, UserMeetingIds};
use super::token::TokenCache;
use crate::config::job::{ApiConfig, FetchConfig};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Why a call did not return a body.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CallError {
    /// Stop the run: configuration or credentials are wrong.
    #[error("{message}")]
    Fatal {
        errcode: Option<i64>,
        message: String,
    },
    /// This request (meeting) failed; the run goes on.
    #[error("{message}")]
    PerMeeting {
        errcode: Option<i64>,
        message: String,
    },
}

/// Removes anything that looks like a credential from a message.
pub fn scrub(msg: &str) -> String {
    let mut out = String::with_capacity(msg.len());
    let mut rest = msg;
    while let Some(pos) = ["access_token=", "corpsecret="]
        .iter()
        .filter_map(|k| rest.find(k).map(|p| (p, k.len())))
        .min()
    {
        let (p, klen) = pos;
        out.push_str(&rest[..p + klen]);
        out.push_str("***");
        let tail = &rest[p + klen..];
        let end = tail
            .find(|c: char| c == '&' || c == ' ' || c == ')' || c == '"' || c.is_whitespace())
            .unwrap_or(tail.len());
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// A transport error described without its URL.
fn describe(e: reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else if e.is_body() || e.is_decode() {
        "body was cut short"
    } else {
        "request failed"
    };
    let e = e.without_url();
    let mut msg = format!("{kind}: {e}");
    let mut src = std::error::Error::source(&e);
    while let Some(s) = src {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        src = s.source();
    }
    scrub(&msg)
}

/// A thin reqwest wrapper bound to the base URL. Errors are already redacted strings.
pub struct Http {
    client: reqwest::Client,
    base: String,
}

/// What one HTTP exchange produced, before errcode classification.
enum Exchange {
    /// HTTP 200 with these bytes.
    Body(Vec<u8>),
    /// Transient trouble worth a retry.
    Busy(String),
    /// An HTTP answer no retry will fix (wrong base URL, 4xx).
    Refused(String),
}

impl Http {
    pub fn new(api: &ApiConfig) -> anyhow::Result<Http> {
        let client = reqwest::Client::builder()
            .timeout(api.timeout)
            .connect_timeout(api.connect_timeout)
            .user_agent(concat!("wecom-attendance/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Http {
            client,
            base: api.base_url.clone(),
        })
    }

    /// GET returning parsed JSON. Errors are redacted descriptions: `Ok(Err(_))` is transient
    /// trouble worth a retry, `Err(_)` an answer no retry will fix (e.g. HTTP 404).
    pub async fn get_json<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<Result<T, String>, String> {
        let req = self.client.get(format!("{}{path}", self.base)).query(query);
        match Self::exchange(req).await {
            Exchange::Body(b) => Ok(serde_json::from_slice(&b)
                .map_err(|e| format!("{path} answered a body that is not JSON: {e}"))),
            Exchange::Busy(m) => Ok(Err(m)),
            Exchange::Refused(m) => Err(format!(
                "{path} answered {m}: check the API base URL ({})",
                self.base
            )),
        }
    }

    async fn post(&self, path: &str, token: &str, body: &impl Serialize) -> Exchange {
        let req = self
            .client
            .post(format!("{}{path}", self.base))
            .query(&[("access_token", token)])
            .json(body);
        Self::exchange(req).await
    }

    async fn exchange(req: reqwest::RequestBuilder) -> Exchange {
        let resp = match req.send().await {
            Ok(r) => r,
            Err(e) => return Exchange::Busy(describe(e)),
        };
        let status = resp.status();
        let bytes = match resp.bytes().await {
            Ok(b) => b,
            Err(e) => return Exchange::Busy(describe(e)),
        };
        if status.is_success() {
            Exchange::Body(bytes.to_vec())
        } else if status.is_server_error() || status.as_u16() == 429 || status.as_u16() == 408 {
            Exchange::Busy(format!("HTTP {status}"))
        } else {
            Exchange::Refused(format!("HTTP {status}"))
        }
    }
}

/// Counters of what the client did, for the run report.
#[derive(Debug, Default)]
pub struct Stats {
    pub calls: AtomicU64,
    pub retries: AtomicU64,
    pub throttled: AtomicU64,
    pub busy: AtomicU64,
}

#[derive(Debug, Default, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct StatsSnapshot {
    pub calls: u64,
    pub retries: u64,
    pub throttled: u64,
    pub busy_answers: u64,
    pub gettoken_calls: u64,
    pub token_refreshes: u64,
}

pub struct Client {
    http: Http,
    tokens: TokenCache,
    limiter: Limiter,
    cfg: FetchConfig,
    stats: Stats,
}

impl Client {
    pub fn new(api: &ApiConfig, fetch: &FetchConfig, tokens: TokenCache) -> anyhow::Result<Self> {
        Ok(Client {
            http: Http::new(api)?,
            tokens,
            limiter: Limiter::new(fetch.rate, fetch.burst, fetch.concurrency),
            cfg: fetch.clone(),
            stats: Stats::default(),
        })
    }

    pub fn stats(&self) -> StatsSnapshot {
        StatsSnapshot {
            calls: self.stats.calls.load(Ordering::Relaxed),
            retries: self.stats.retries.load(Ordering::Relaxed),
            throttled: self.stats.throttled.load(Ordering::Relaxed),
            busy_answers: self.stats.busy.load(Ordering::Relaxed),
            gettoken_calls: self.tokens.gettoken_calls(),
            token_refreshes: self.tokens.forced_refreshes(),
        }
    }

    /// Obtains a token (for `check`): proves the credentials work.
    pub async fn check_credentials(&self) -> Result<(), CallError> {
        self.tokens.get(&self.http).await.map(|_| ())
    }

    /// `get_info` for one meeting: the verbatim body of an errcode-0 answer.
    pub async fn get_info(&self, meetingid: &str) -> Result<Vec<u8>, CallError> {
        self.call(
            "/cgi-bin/meeting/get_info",
            &serde_json::json!({ "meetingid": meetingid }),
        )
        .await
    }

    /// One page of `get_user_meetingid`.
    pub async fn get_user_meetingid(
        &self,
        userid: &str,
        cursor: &str,
        begin_time: i64,
        end_time: i64,
        limit: u32,
    ) -> Result<UserMeetingIds, CallError> {
        let body = serde_json::json!({
            "userid": userid, "cursor": cursor,
            "begin_time": begin_time, "end_time": end_time, "limit": limit,
        });
        let bytes = self
            .call("/cgi-bin/meeting/get_user_meetingid", &body)
            .await?;
        serde_json::from_slice(&bytes).map_err(|e| CallError::PerMeeting {
            errcode: None,
            message: format!("get_user_meetingid answer for {userid} did not parse: {e}"),
        })
    }

    /// Sends one request with pacing, classification and retries.
    pub async fn call(&self, path: &str, body: &serde_json::Value) -> Result<Vec<u8>, CallError> {
        let mut busy_attempts = 0u32;
        let mut throttles = 0u32;
        let mut token_retried = false;
        loop {
            let permit = self.limiter.acquire().await;
            let token = self.tokens.get(&self.http).await?;
            self.stats.calls.fetch_add(1, Ordering::Relaxed);
            let exchange = self.http.post(path, &token, body).await;
            drop(permit);
            let (class, errcode, why) = match exchange {
                Exchange::Body(bytes) => match serde_json::from_slice::<Envelope>(&bytes) {
                    Ok(env) => {
                        let code = env.errcode.unwrap_or(0);
                        if code == 0 {
                            self.limiter.recovered();
                            return Ok(bytes);
                        }
                        let msg = env.errmsg.unwrap_or_default();
                        (classify(code), Some(code), format!("errcode {code} {msg}"))
                    }
                    Err(e) => (
                        ErrClass::Busy,
                        None,
                        format!("answer is not JSON (truncated or an error page): {e}"),
                    ),
                },
                Exchange::Busy(why) => (ErrClass::Busy, None, why),
                Exchange::Refused(why) => {
                    return Err(CallError::Fatal {
                        errcode: None,
                        message: format!(
                            "{path} answered {why}: check the API base URL ({})",
                            self.http.base
                        ),
                    });
                }
            };
            let why = scrub(why.trim());
            match class {
                ErrClass::Ok => unreachable!("errcode 0 returned above"),
                ErrClass::TokenInvalid if !token_retried => {
                    token_retried = true;
                    tracing::info!(errcode, "access token rejected; refreshing it once");
                    self.tokens.invalidate(&token).await;
                }
                ErrClass::TokenInvalid => {
                    // A token issued moments ago for this very request was rejected too: the
                    // token is not reaching WeCom intact, and refreshing again for every request
                    // would hammer gettoken (WeCom bans the IP for that). Stop the run.
                    return Err(CallError::Fatal {
                        errcode,
                        message: format!(
                            "WeCom rejected a freshly issued access token too ({why}): check the \
                             API base URL ({}) and any proxy in between",
                            self.http.base
                        ),
                    });
                }
                ErrClass::Busy => {
                    self.stats.busy.fetch_add(1, Ordering::Relaxed);
                    busy_attempts += 1;
                    if busy_attempts >= self.cfg.max_attempts {
                        return Err(CallError::PerMeeting {
                            errcode,
                            message: format!("gave up after {busy_attempts} attempts: {why}"),
                        });
                    }
                    self.stats.retries.fetch_add(1, Ordering::Relaxed);
                    let delay = self.backoff(busy_attempts);
                    tracing::debug!(path, attempt = busy_attempts, ?delay, %why, "busy; backing off");
                    tokio::time::sleep(delay).await;
                }
                ErrClass::Throttled => {
                    self.stats.throttled.fetch_add(1, Ordering::Relaxed);
                    throttles += 1;
                    if throttles > self.cfg.max_throttle_retries {
                        return Err(CallError::PerMeeting {
                            errcode,
                            message: format!("still throttled after {throttles} pauses: {why}"),
                        });
                    }
                    if errcode == Some(super::errcode::CONCURRENCY_OUT_OF_LIMIT) {
                        let width = self.limiter.narrow();
                        tracing::warn!(width, "45033: too many concurrent calls; narrowing");
                    }
                    let (pause, rate) = self.limiter.throttled(self.cfg.throttle_pause).await;
                    tracing::warn!(?pause, rate, %why, "throttled by WeCom; pausing and slowing the whole run");
                    self.stats.retries.fetch_add(1, Ordering::Relaxed);
                }
                ErrClass::FatalConfig => {
                    let code = errcode.unwrap_or_default();
                    return Err(CallError::Fatal {
                        errcode,
                        message: format!("{path} answered errcode {code}: {}", fix_hint(code)),
                    });
                }
                ErrClass::PerMeeting => {
                    return Err(CallError::PerMeeting {
                        errcode,
                        message: why,
                    });
                }
            }
        }
    }

    /// Full-jitter exponential backoff: uniform in [0, min(max, base · 2^(attempt−1))].
    fn backoff(&self, attempt: u32) -> Duration {
        let ceiling = self
            .cfg
            .backoff
            .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)))
            .min(self.cfg.backoff_max);
        ceiling.mul_f64(fastrand::f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_scrubbed_from_messages() {
        let m = scrub("error sending request for url (http://h/x?access_token=abc123&b=1): x");
        assert_eq!(
            m,
            "error sending request for url (http://h/x?access_token=***&b=1): x"
        );
        assert_eq!(scrub("corpsecret=s3cr3t"), "corpsecret=***");
        assert_eq!(scrub("nothing here"), "nothing here");
    }
}
