//! The busy answers a real WeCom (or the proxies in front of it) gives now and then: errcode -1,
//! HTTP 502/503, a JSON body cut short, an HTML error page, an answer slower than the client's
//! timeout, and a connection closed mid-body. Tests script them per meeting id; benchmarks draw
//! them at random with a seeded RNG.
//!
//! Hostile answers too, which no retry must meet and no client must trust: a redirect to
//! another host, a body that never ends, an `errmsg` echoing the caller's credentials, and a
//! `Retry-After` to honour.

use super::reply::{self, errcode};
use axum::body::{Body, Bytes};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

/// One injected fault.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// HTTP 200 with this errcode (e.g. -1 busy, 45009, 90602).
    Errcode(i64),
    /// This HTTP status (e.g. 502, 503) with a gateway's HTML page (502 if not a valid status).
    Http(u16),
    /// HTTP 200 with a JSON content type and only the first half of the body.
    Truncated,
    /// HTTP 200 with an HTML error page instead of JSON (a proxy answering for WeCom).
    Html,
    /// Waits `FakeConfig::slow_delay`, then answers normally (beyond a sane client timeout).
    Slow,
    /// Announces the full body's `Content-Length`, sends half of it and closes the connection.
    ConnectionClose,
    /// This status (302 if not a 3xx) with `Location` set to the given URL: a proxy or a
    /// hijacked host sending the client, and what it carries, elsewhere.
    Redirect(u16, String),
    /// HTTP 200 with a JSON content type and a body that streams without end (about 64 MB/s).
    Endless,
    /// HTTP 200 with errcode 90602 and an `errmsg` quoting the caller's access token and the
    /// corp secret, as a careless server might.
    EchoCredentials,
    /// This status (503 if not valid) with `Retry-After` set to the given seconds.
    RetryAfter(u16, u64),
}

/// Who made the request, for [`Fault::EchoCredentials`].
pub(crate) struct Caller<'a> {
    /// The access token of the request, if it had one.
    pub token: Option<&'a str>,
    /// The corp secret (the configured one, or the one a gettoken request sent).
    pub secret: &'a str,
}

/// Relative weights of the random busy faults.
const RANDOM_FAULTS: [(u32, RandomKind); 7] = [
    (25, RandomKind::Busy),
    (15, RandomKind::Http502),
    (10, RandomKind::Http503),
    (15, RandomKind::Truncated),
    (10, RandomKind::Html),
    (15, RandomKind::Slow),
    (10, RandomKind::ConnectionClose),
];

#[derive(Clone, Copy)]
enum RandomKind {
    Busy,
    Http502,
    Http503,
    Truncated,
    Html,
    Slow,
    ConnectionClose,
}

/// Draws a random busy fault: all are transient, so a retrying client recovers from each.
pub(crate) fn random(rng: &mut fastrand::Rng) -> Fault {
    let total: u32 = RANDOM_FAULTS.iter().map(|(w, _)| w).sum();
    let mut r = rng.u32(..total);
    let mut kind = RandomKind::Busy;
    for (w, k) in RANDOM_FAULTS {
        if r < w {
            kind = k;
            break;
        }
        r -= w;
    }
    match kind {
        RandomKind::Busy => Fault::Errcode(errcode::BUSY),
        RandomKind::Http502 => Fault::Http(502),
        RandomKind::Http503 => Fault::Http(503),
        RandomKind::Truncated => Fault::Truncated,
        RandomKind::Html => Fault::Html,
        RandomKind::Slow => Fault::Slow,
        RandomKind::ConnectionClose => Fault::ConnectionClose,
    }
}

/// One piece of an endless body, and how often one is sent.
const ENDLESS_CHUNK: usize = 64 * 1024;
const ENDLESS_EVERY: Duration = Duration::from_millis(1);

const HTML_ERROR_PAGE: &str = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>stgw</center>\r\n</body>\r\n</html>\r\n";

/// The answer for a fault other than [`Fault::Slow`] (which the handler waits out and then
/// answers normally). `full` is the body a normal answer would carry.
pub(crate) fn render(fault: &Fault, full: &Bytes, caller: &Caller<'_>) -> Response {
    match fault {
        Fault::Errcode(code) => reply::error(*code),
        Fault::Http(status) => {
            let status = StatusCode::from_u16(*status).unwrap_or(StatusCode::BAD_GATEWAY);
            (
                status,
                [(header::CONTENT_TYPE, "text/html")],
                HTML_ERROR_PAGE,
            )
                .into_response()
        }
        Fault::Truncated => reply::json(full.slice(..full.len() / 2)),
        Fault::Html => ([(header::CONTENT_TYPE, "text/html")], HTML_ERROR_PAGE).into_response(),
        Fault::Slow => reply::stored(full),
        Fault::ConnectionClose => {
            // A streamed body has no known length, so hyper trusts the header, then closes the
            // connection when the stream ends short of it.
            let half = Body::from(full.slice(..full.len() / 2));
            (
                [
                    (header::CONTENT_TYPE, reply::JSON_CONTENT_TYPE.to_owned()),
                    (header::CONTENT_LENGTH, full.len().to_string()),
                ],
                Body::from_stream(half.into_data_stream()),
            )
                .into_response()
        }
        Fault::Redirect(status, location) => {
            let status = StatusCode::from_u16(*status)
                .ok()
                .filter(StatusCode::is_redirection)
                .unwrap_or(StatusCode::FOUND);
            (status, [(header::LOCATION, location.as_str())]).into_response()
        }
        Fault::Endless => {
            let mut tick = tokio::time::interval(ENDLESS_EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let stream = EndlessBody {
                started: false,
                tick,
            };
            (
                [(header::CONTENT_TYPE, reply::JSON_CONTENT_TYPE)],
                Body::from_stream(stream),
            )
                .into_response()
        }
        Fault::EchoCredentials => {
            let token = caller.token.unwrap_or("(none)");
            let errmsg = format!(
                "meeting not found or no permission for access_token {token} of the app with secret {}",
                caller.secret
            );
            let body = serde_json::json!({ "errcode": 90602, "errmsg": errmsg });
            reply::json(body.to_string())
        }
        Fault::RetryAfter(status, secs) => {
            let status = StatusCode::from_u16(*status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            (
                status,
                [
                    (header::CONTENT_TYPE, "text/html".to_owned()),
                    (header::RETRY_AFTER, secs.to_string()),
                ],
                HTML_ERROR_PAGE,
            )
                .into_response()
        }
    }
}

/// The body of [`Fault::Endless`]: the start of a JSON object, then a string that never closes,
/// one [`ENDLESS_CHUNK`] every [`ENDLESS_EVERY`] until the client goes away.
struct EndlessBody {
    started: bool,
    tick: tokio::time::Interval,
}

impl futures_core::Stream for EndlessBody {
    type Item = Result<Bytes, std::convert::Infallible>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if !self.started {
            self.started = true;
            let head = Bytes::from_static(br#"{"errcode":0,"errmsg":"ok","padding":""#);
            return Poll::Ready(Some(Ok(head)));
        }
        match self.tick.poll_tick(cx) {
            Poll::Ready(_) => Poll::Ready(Some(Ok(Bytes::from(vec![b'a'; ENDLESS_CHUNK])))),
            Poll::Pending => Poll::Pending,
        }
    }
}
