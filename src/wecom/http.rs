//! One HTTP exchange with WeCom, answered as a typed [`Answer`] before any errcode is read:
//! a body, transient trouble worth a retry, a body too large to read, or a refusal no retry will
//! fix.
//!
//! WeCom's API never redirects, so a redirect is refused, never followed: the secret and the
//! token travel in the query string, and following a 302 on gettoken or a 307 on get_info would
//! hand them (and the meeting's place in the store) to whatever host the `Location` names.
//! Bodies are read chunk by chunk up to a cap (`fetch.max_body_mb`), so an answer without end
//! stops there instead of growing in memory until the timeout.
//!
//! `reqwest::Error`'s Display prints the URL, token included, so every transport error is
//! stripped of its URL (`without_url`) and scrubbed before it becomes part of an answer.
//! [`scrub`] also masks the exact secret and tokens given to [`register_secret`] and
//! [`register_token`] wherever they appear, since an `errmsg` may echo them.

use crate::config::job::ApiConfig;
use reqwest::header::{HeaderMap, LOCATION, RETRY_AFTER};
use serde::Serialize;
use std::collections::VecDeque;
use std::sync::{PoisonError, RwLock};
use std::time::Duration;

/// The longest `Retry-After` honoured: a server asking for more is retried after this long.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);
/// Values shorter than this are not masked: no real secret or token is this short, and masking
/// a short word wherever it appears would garble every message.
const MIN_MASKED_LEN: usize = 6;
/// Tokens remembered for masking: the current one and those before it.
const MASKED_TOKENS: usize = 8;
/// What a masked value becomes.
const MASK: &str = "***";

/// What one HTTP exchange produced, before errcode classification.
#[derive(Debug)]
pub enum Answer {
    /// HTTP 2xx with these bytes.
    Body(Vec<u8>),
    /// Transient trouble worth a retry: a timeout, a reset, a cut body, HTTP 5xx, 408 or 429;
    /// with the server's `Retry-After` (at most [`MAX_RETRY_AFTER`]) when it sent one.
    Busy {
        why: String,
        retry_after: Option<Duration>,
    },
    /// A body above the cap: the same body would come again, so no retry.
    TooLarge(String),
    /// An HTTP answer no retry will fix (a wrong base URL, 4xx, a redirect).
    Refused(String),
}

impl Answer {
    /// Transient trouble without a `Retry-After`.
    fn busy(why: String) -> Answer {
        Answer::Busy {
            why,
            retry_after: None,
        }
    }
}

/// A thin reqwest wrapper bound to the base URL. Every text it returns is already redacted.
pub struct Http {
    client: reqwest::Client,
    base: String,
    /// The largest body read, bytes.
    max_body: u64,
}

impl Http {
    /// A client for `api` that never follows a redirect and reads at most `max_body` bytes of
    /// an answer.
    pub fn new(api: &ApiConfig, max_body: u64) -> anyhow::Result<Http> {
        let client = reqwest::Client::builder()
            .timeout(api.timeout)
            .connect_timeout(api.connect_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("wecom-attendance/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Http {
            client,
            base: api.base_url.clone(),
            max_body,
        })
    }

    /// The API base URL, for messages that tell the user what to check.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// `GET base + path ? query`.
    pub async fn get(&self, path: &str, query: &[(&str, &str)]) -> Answer {
        let req = self.client.get(format!("{}{path}", self.base)).query(query);
        self.exchange(req).await
    }

    /// `POST base + path ? access_token=` with a JSON body.
    pub async fn post(&self, path: &str, token: &str, body: &impl Serialize) -> Answer {
        let req = self
            .client
            .post(format!("{}{path}", self.base))
            .query(&[("access_token", token)])
            .json(body);
        self.exchange(req).await
    }

    async fn exchange(&self, req: reqwest::RequestBuilder) -> Answer {
        let resp = match req.send().await {
            Ok(r) => r,
            Err(e) => return Answer::busy(describe(e)),
        };
        let status = resp.status();
        if status.is_success() {
            self.read_body(resp).await
        } else if status.is_redirection() {
            Answer::Refused(refused_redirect(status, resp.headers()))
        } else if status.is_server_error() || status.as_u16() == 429 || status.as_u16() == 408 {
            Answer::Busy {
                why: format!("HTTP {status}"),
                retry_after: retry_after(resp.headers()),
            }
        } else {
            Answer::Refused(format!("HTTP {status}"))
        }
    }

    /// The body, chunk by chunk, stopping as soon as it is announced or found above the cap.
    async fn read_body(&self, mut resp: reqwest::Response) -> Answer {
        let cap = self.max_body;
        let too_large = |what: String| {
            Answer::TooLarge(format!(
                "the answer {what} the cap of {} MiB (fetch.max_body_mb)",
                cap >> 20
            ))
        };
        let announced = resp.content_length();
        if let Some(len) = announced
            && len > cap
        {
            return too_large(format!("announced {len} bytes, above"));
        }
        let mut body = Vec::with_capacity(announced.map_or(0, |n| usize::try_from(n).unwrap_or(0)));
        loop {
            match resp.chunk().await {
                Ok(Some(chunk)) => {
                    if (body.len() + chunk.len()) as u64 > cap {
                        return too_large("went on past".to_owned());
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => return Answer::Body(body),
                Err(e) => return Answer::busy(describe(e)),
            }
        }
    }
}

/// Why a redirect is refused, naming where it pointed (scheme, host and port only: the rest
/// may carry anything).
fn refused_redirect(status: reqwest::StatusCode, headers: &HeaderMap) -> String {
    let to = headers
        .get(LOCATION)
        .and_then(|l| l.to_str().ok())
        .and_then(|l| reqwest::Url::parse(l).ok())
        .map(|u| u.origin().ascii_serialization())
        .filter(|origin| origin != "null")
        .map(|origin| format!(" to {origin}"))
        .unwrap_or_default();
    format!("HTTP {status}, a redirect{to}; WeCom's API never redirects, so it was not followed")
}

/// The `Retry-After` of an answer, in seconds (an HTTP date is ignored), at most
/// [`MAX_RETRY_AFTER`].
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    parse_retry_after(headers.get(RETRY_AFTER)?.to_str().ok()?)
}

fn parse_retry_after(value: &str) -> Option<Duration> {
    let secs: u64 = value.trim().parse().ok()?;
    Some(Duration::from_secs(secs).min(MAX_RETRY_AFTER))
}

/// The credentials [`scrub`] masks by value.
struct Masked {
    secrets: Vec<String>,
    /// The newest last.
    tokens: VecDeque<String>,
}

static MASKED: RwLock<Masked> = RwLock::new(Masked {
    secrets: Vec::new(),
    tokens: VecDeque::new(),
});

/// From now on, [`scrub`] masks `secret` wherever it appears.
pub fn register_secret(secret: &str) {
    if secret.len() < MIN_MASKED_LEN {
        return;
    }
    let mut m = MASKED.write().unwrap_or_else(PoisonError::into_inner);
    if !m.secrets.iter().any(|s| s == secret) {
        m.secrets.push(secret.to_owned());
    }
}

/// From now on, [`scrub`] masks `token` wherever it appears (with the few tokens before it).
pub fn register_token(token: &str) {
    if token.len() < MIN_MASKED_LEN {
        return;
    }
    let mut m = MASKED.write().unwrap_or_else(PoisonError::into_inner);
    if m.tokens.iter().any(|t| t == token) {
        return;
    }
    if m.tokens.len() == MASKED_TOKENS {
        m.tokens.pop_front();
    }
    m.tokens.push_back(token.to_owned());
}

/// Removes anything that looks like a credential from a message: the value after
/// `access_token=` or `corpsecret=`, and the exact registered secret and tokens anywhere.
pub fn scrub(msg: &str) -> String {
    let mut out = scrub_parameters(msg);
    let m = MASKED.read().unwrap_or_else(PoisonError::into_inner);
    let mut values: Vec<&str> = m
        .secrets
        .iter()
        .chain(m.tokens.iter())
        .map(String::as_str)
        .collect();
    // The longest first, so a value inside another does not leave the rest of it visible.
    values.sort_by_key(|v| std::cmp::Reverse(v.len()));
    for v in values {
        if out.contains(v) {
            out = out.replace(v, MASK);
        }
    }
    out
}

/// Masks the value after `access_token=` and `corpsecret=`.
fn scrub_parameters(msg: &str) -> String {
    let mut out = String::with_capacity(msg.len());
    let mut rest = msg;
    while let Some(pos) = ["access_token=", "corpsecret="]
        .iter()
        .filter_map(|k| rest.find(k).map(|p| (p, k.len())))
        .min()
    {
        let (p, klen) = pos;
        out.push_str(&rest[..p + klen]);
        out.push_str(MASK);
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

    #[test]
    fn registered_credentials_are_masked_wherever_they_appear_and_short_ones_never() {
        register_secret("app-secret-1f2e3d");
        register_token("tok-9a8b7c6d5e4f");
        register_token("tok-9a8b7c6d5e4f-longer");
        register_secret("abc");
        let m = scrub(
            "errmsg: no permission for tok-9a8b7c6d5e4f-longer (app-secret-1f2e3d), was \
             tok-9a8b7c6d5e4f; abc stays",
        );
        assert_eq!(m, "errmsg: no permission for *** (***), was ***; abc stays");
    }

    #[test]
    fn retry_after_is_read_in_seconds_and_capped() {
        assert_eq!(parse_retry_after(" 7 "), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after("86400"), Some(MAX_RETRY_AFTER));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
        assert_eq!(parse_retry_after("-1"), None);
    }
}
