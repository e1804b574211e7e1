//! The WeCom client: one [`Client::call`] that paces, sends, classifies the errcode and
//! retries, so every API the job uses gets the same treatment:
//! token invalid → a single-flight refresh ([`super::token`] decides: a stale token is retried
//! at once, a proven one refreshed, tokens rejected before any success stop the run) and a retry,
//! at most [`TOKEN_REJECTIONS_PER_REQUEST`] rejections a request; busy (-1, 5xx, timeouts, resets,
//! truncated or non-JSON bodies) → bounded exponential backoff with full jitter, waiting at least
//! the server's `Retry-After`; a body above the cap → that request fails at once; throttled
//! (45009/45033) → pause the whole run (and narrow concurrency on 45033), then retry; fatal
//! config → stop; anything else → that request fails with its errcode. Every message it
//! returns is redacted ([`super::http::scrub`]).

use super::errcode::{ErrClass, classify, fix_hint};
use super::http::{Answer, Http, scrub};
use super::limiter::{Answered, Limiter};
use super::model::{Envelope, UserMeetingIds};
use super::token::{Lease, TokenCache};
use crate::config::job::{ApiConfig, FetchConfig};
use crate::config::server_text;
use crate::domain::EndpointAnswers;
use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The path of `get_info` (its quota budget is keyed by it, like every API's).
pub const GET_INFO: &str = "/cgi-bin/meeting/get_info";

/// Token rejections one request takes before it fails (alone: the run goes on). Each retry
/// carries a newer token than the one rejected, so more means tokens die faster than requests.
const TOKEN_REJECTIONS_PER_REQUEST: u32 = 3;

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

/// Counters of what the client did, for the run report.
#[derive(Debug, Default)]
pub struct Stats {
    pub calls: AtomicU64,
    pub retries: AtomicU64,
    pub throttled: AtomicU64,
    pub busy: AtomicU64,
    /// Answers per (endpoint path, errcode or `busy` / `refused`).
    pub answers: std::sync::Mutex<std::collections::BTreeMap<(String, String), u64>>,
}

impl Stats {
    fn record(&self, path: &str, outcome: &str) {
        if let Ok(mut answers) = self.answers.lock() {
            *answers
                .entry((path.to_string(), outcome.to_string()))
                .or_default() += 1;
        }
    }
}

#[derive(Debug, Default, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct StatsSnapshot {
    pub calls: u64,
    pub retries: u64,
    pub throttled: u64,
    pub busy_answers: u64,
    pub gettoken_calls: u64,
    pub token_refreshes: u64,
    pub answers: Vec<EndpointAnswers>,
}

/// Why an attempt did not give a body: its errcode class and a redacted description.
struct Trouble {
    class: ErrClass,
    errcode: Option<i64>,
    why: String,
    /// The server's `Retry-After`: the least wait before the next attempt.
    retry_after: Option<Duration>,
}

impl Trouble {
    fn new(class: ErrClass, errcode: Option<i64>, why: String) -> Self {
        Trouble {
            class,
            errcode,
            why: scrub(why.trim()),
            retry_after: None,
        }
    }
}

/// What a call sends: a JSON body, or a query string.
#[derive(Clone, Copy)]
enum Request<'a> {
    Post(&'a serde_json::Value),
    Get(&'a [(&'a str, &'a str)]),
}

/// What one call has used up so far.
#[derive(Default)]
struct Tries {
    busy: u32,
    throttles: u32,
    token_rejections: u32,
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
            http: Http::new(api, fetch.max_body_bytes)?,
            tokens,
            limiter: Limiter::from_config(fetch),
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
            answers: self
                .stats
                .answers
                .lock()
                .map(|a| {
                    a.iter()
                        .map(|((endpoint, errcode), n)| EndpointAnswers {
                            endpoint: endpoint.clone(),
                            errcode: errcode.clone(),
                            answers: *n,
                        })
                        .collect()
                })
                .unwrap_or_default(),
        }
    }

    /// An estimate of the time `calls` more calls to `path` take under the rate, the pace and
    /// the API's minute and hour budgets (for the progress bar and the log).
    pub fn eta(&self, path: &str, calls: usize) -> Duration {
        self.limiter.eta(path, calls)
    }

    /// Obtains a token (for `check`): proves the credentials work.
    pub async fn check_credentials(&self) -> Result<(), CallError> {
        self.tokens.get(&self.http).await.map(|_| ())
    }

    /// `get_info` for one meeting, or with `sub_meetingid` for one occurrence of a recurring
    /// meeting: the verbatim body of an errcode-0 answer.
    pub async fn get_info(
        &self,
        meetingid: &str,
        sub_meetingid: Option<&str>,
    ) -> Result<Vec<u8>, CallError> {
        let body = match sub_meetingid {
            None => serde_json::json!({ "meetingid": meetingid }),
            Some(sub) => serde_json::json!({ "meetingid": meetingid, "sub_meetingid": sub }),
        };
        self.call(GET_INFO, &body).await
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
            // The caller names the organizer (as the job names people: maybe a pseudonym).
            message: format!(
                "the get_user_meetingid answer did not parse: {}",
                server_text::parse_error(&e.to_string())
            ),
        })
    }

    /// Sends one request with pacing, classification and retries.
    pub async fn call(&self, path: &str, body: &serde_json::Value) -> Result<Vec<u8>, CallError> {
        self.send(path, Request::Post(body)).await
    }

    /// [`Client::call`] for the `GET` endpoints (the contacts API): `query` plus the token.
    pub async fn call_get(&self, path: &str, query: &[(&str, &str)]) -> Result<Vec<u8>, CallError> {
        self.send(path, Request::Get(query)).await
    }

    /// The one call loop of every endpoint, `POST` or `GET`.
    async fn send(&self, path: &str, request: Request<'_>) -> Result<Vec<u8>, CallError> {
        let mut tries = Tries::default();
        loop {
            let ticket = self.limiter.acquire(path).await;
            let lease = self.tokens.get(&self.http).await?;
            let token = &*lease.value;
            self.stats.calls.fetch_add(1, Ordering::Relaxed);
            let answer = match request {
                Request::Post(body) => self.http.post(path, token, body).await,
                Request::Get(query) => {
                    let mut query = query.to_vec();
                    query.push(("access_token", token));
                    self.http.get(path, &query).await
                }
            };
            let answered = ticket.answered();
            let read = self.read_answer(path, answer);
            let outcome = match &read {
                Ok(Ok(_)) => "0".to_string(),
                Ok(Err(t)) => t.errcode.map_or_else(|| "busy".into(), |c| c.to_string()),
                Err(CallError::PerMeeting { .. }) => "too_large".to_string(),
                Err(CallError::Fatal { .. }) => "refused".to_string(),
            };
            self.stats.record(path, &outcome);
            let trouble = match read? {
                Ok(bytes) => {
                    self.tokens.succeeded(&lease);
                    self.limiter.recovered();
                    return Ok(bytes);
                }
                Err(trouble) => trouble,
            };
            self.recover(path, &lease, trouble, &mut tries, answered)
                .await?;
        }
    }

    /// A body with errcode 0, or the trouble to recover from; a refused request stops the run.
    fn read_answer(
        &self,
        path: &str,
        answer: Answer,
    ) -> Result<Result<Vec<u8>, Trouble>, CallError> {
        let trouble = match answer {
            Answer::Body(bytes) => match serde_json::from_slice::<Envelope>(&bytes) {
                Ok(env) => {
                    let code = env.errcode.unwrap_or(0);
                    if code == 0 {
                        return Ok(Ok(bytes));
                    }
                    let msg = env.errmsg.unwrap_or_default();
                    let msg = server_text::errmsg(&msg).unwrap_or_default();
                    Trouble::new(classify(code), Some(code), format!("errcode {code} {msg}"))
                }
                Err(e) => Trouble::new(
                    ErrClass::Busy,
                    None,
                    format!(
                        "answer is not JSON (truncated or an error page): {}",
                        server_text::parse_error(&e.to_string())
                    ),
                ),
            },
            Answer::Busy { why, retry_after } => Trouble {
                retry_after,
                ..Trouble::new(ErrClass::Busy, None, why)
            },
            // The same body would come again: no retry.
            Answer::TooLarge(why) => {
                return Err(CallError::PerMeeting {
                    errcode: None,
                    message: scrub(&why),
                });
            }
            Answer::Refused(why) => {
                return Err(CallError::Fatal {
                    errcode: None,
                    message: format!(
                        "{path} answered {why}: check the API base URL ({})",
                        self.http.base()
                    ),
                });
            }
        };
        Ok(Err(trouble))
    }

    /// Does what the errcode class asks before the next attempt (refresh the token, back off,
    /// pause the whole run), or ends the call with its error.
    async fn recover(
        &self,
        path: &str,
        lease: &Lease,
        t: Trouble,
        tries: &mut Tries,
        answered: Answered,
    ) -> Result<(), CallError> {
        let Trouble {
            class,
            errcode,
            why,
            retry_after,
        } = t;
        match class {
            ErrClass::Ok => unreachable!("errcode 0 is an answer, not trouble"),
            ErrClass::TokenInvalid => {
                tries.token_rejections += 1;
                let done = self
                    .tokens
                    .rejected(lease, errcode, &why, &self.http)
                    .await?;
                if tries.token_rejections >= TOKEN_REJECTIONS_PER_REQUEST {
                    return Err(CallError::PerMeeting {
                        errcode,
                        message: format!(
                            "the access token was rejected {} times for this request ({why})",
                            tries.token_rejections
                        ),
                    });
                }
                tracing::debug!(path, errcode, ?done, "access token rejected; retrying");
            }
            ErrClass::Busy => {
                self.stats.busy.fetch_add(1, Ordering::Relaxed);
                tries.busy += 1;
                if tries.busy >= self.cfg.max_attempts {
                    return Err(CallError::PerMeeting {
                        errcode,
                        message: format!("gave up after {} attempts: {why}", tries.busy),
                    });
                }
                self.stats.retries.fetch_add(1, Ordering::Relaxed);
                let delay = self
                    .backoff(tries.busy)
                    .max(retry_after.unwrap_or_default());
                tracing::debug!(path, attempt = tries.busy, ?delay, %why, "busy; backing off");
                tokio::time::sleep(delay).await;
            }
            ErrClass::Throttled => {
                self.stats.throttled.fetch_add(1, Ordering::Relaxed);
                tries.throttles += 1;
                if tries.throttles > self.cfg.max_throttle_retries {
                    return Err(CallError::PerMeeting {
                        errcode,
                        message: format!("still throttled after {} pauses: {why}", tries.throttles),
                    });
                }
                if errcode == Some(super::errcode::CONCURRENCY_OUT_OF_LIMIT) {
                    let width = self.limiter.narrow();
                    tracing::warn!(width, "45033: too many concurrent calls; narrowing");
                    let (pause, rate) = self.limiter.throttled(self.cfg.throttle_pause).await;
                    tracing::warn!(?pause, rate, %why, "throttled by WeCom; pausing and slowing the whole run");
                } else {
                    self.quota_refused(path, &why, answered);
                }
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
        Ok(())
    }

    /// A 45009: the API at `path` waits out the block (see [`super::quota`]); says so when
    /// the refusal raised it.
    fn quota_refused(&self, path: &str, why: &str, answered: Answered) {
        let (e, rate) = self.limiter.refused(answered);
        if !e.raised {
            return;
        }
        let what = match e.level {
            1 => "a short pause (a per-second limit clears in it)",
            2 => "the rest of the minute-quota block",
            3 => "the rest of the hour-quota block",
            _ => "another hour: the hour quota is still exhausted",
        };
        tracing::warn!(
            path,
            wait = ?e.wait,
            rate,
            %why,
            "throttled by WeCom (45009); waiting out {what}, then one probe call"
        );
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
