//! One HTTP exchange with WeCom, answered as a typed [`Answer`] before any errcode is read:
//! a body, transient trouble worth a retry, or a refusal no retry will fix.
//!
//! The access token travels in the query string and `reqwest::Error`'s Display prints the URL,
//! so every transport error is stripped of its URL (`without_url`) and scrubbed before it
//! becomes part of an answer.

use crate::config::job::ApiConfig;
use serde::Serialize;

/// What one HTTP exchange produced, before errcode classification.
#[derive(Debug)]
pub enum Answer {
    /// HTTP 2xx with these bytes.
    Body(Vec<u8>),
    /// Transient trouble worth a retry: a timeout, a reset, a cut body, HTTP 5xx, 408 or 429.
    Busy(String),
    /// An HTTP answer no retry will fix (a wrong base URL, 4xx).
    Refused(String),
}

/// A thin reqwest wrapper bound to the base URL. Every text it returns is already redacted.
pub struct Http {
    client: reqwest::Client,
    base: String,
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

    /// The API base URL, for messages that tell the user what to check.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// `GET base + path ? query`.
    pub async fn get(&self, path: &str, query: &[(&str, &str)]) -> Answer {
        let req = self.client.get(format!("{}{path}", self.base)).query(query);
        Self::exchange(req).await
    }

    /// `POST base + path ? access_token=` with a JSON body.
    pub async fn post(&self, path: &str, token: &str, body: &impl Serialize) -> Answer {
        let req = self
            .client
            .post(format!("{}{path}", self.base))
            .query(&[("access_token", token)])
            .json(body);
        Self::exchange(req).await
    }

    async fn exchange(req: reqwest::RequestBuilder) -> Answer {
        let resp = match req.send().await {
            Ok(r) => r,
            Err(e) => return Answer::Busy(describe(e)),
        };
        let status = resp.status();
        let bytes = match resp.bytes().await {
            Ok(b) => b,
            Err(e) => return Answer::Busy(describe(e)),
        };
        if status.is_success() {
            Answer::Body(bytes.to_vec())
        } else if status.is_server_error() || status.as_u16() == 429 || status.as_u16() == 408 {
            Answer::Busy(format!("HTTP {status}"))
        } else {
            Answer::Refused(format!("HTTP {status}"))
        }
    }
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
