//! How the fake server answers: WeCom's JSON bodies with the right content type, errcodes with
//! their usual `errmsg`, and the catch-all that names the request nobody handles.
//!
//! WeCom reports errors as HTTP 200 with a non-zero `errcode`; only the injected faults use other
//! HTTP statuses.

use axum::body::{Body, Bytes};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

/// The content type WeCom answers with.
pub(crate) const JSON_CONTENT_TYPE: &str = "application/json; charset=UTF-8";

/// errcodes the fake server emits by itself.
pub mod errcode {
    /// System busy, try again.
    pub const BUSY: i64 = -1;
    /// Wrong `corpsecret` for the corpid.
    pub const INVALID_SECRET: i64 = 40001;
    /// Unknown `corpid`.
    pub const INVALID_CORPID: i64 = 40013;
    /// An access token this server never issued.
    pub const INVALID_TOKEN: i64 = 40014;
    /// A request parameter out of range (e.g. `limit` above 100, a bad cursor).
    pub const INVALID_PARAMETER: i64 = 40058;
    /// No access token in the query string.
    pub const MISSING_TOKEN: i64 = 41001;
    /// A `gettoken` request without `corpid`.
    pub const MISSING_CORPID: i64 = 41002;
    /// A `gettoken` request without `corpsecret`.
    pub const MISSING_SECRET: i64 = 41004;
    /// The access token is older than its lifetime or was expired by the admin endpoint.
    pub const EXPIRED_TOKEN: i64 = 42001;
    /// A POST body that is not JSON.
    pub const BAD_JSON: i64 = 47001;
    /// Too many calls per second.
    pub const RATE_LIMITED: i64 = 45009;
    /// Too many calls in flight.
    pub const TOO_CONCURRENT: i64 = 45033;
    /// `get_user_meetingid` with `end_time - begin_time` above 180 days (or `end < begin`).
    /// The fake's choice; WeCom documents the limit, not the code.
    pub const INVALID_TIME_RANGE: i64 = 400002;
    /// `get_info` for a meeting id that does not exist (or is not visible to the app).
    pub const MEETING_NOT_EXIST: i64 = 400041;
    /// `get_info` with a `sub_meetingid` the series does not have (or for a meeting that is
    /// not a series). WeCom documents no code of its own for it: the fake answers 90602, which
    /// the job's contract lists among the per-meeting codes of get_info (the request fails,
    /// the run goes on), so that a test can tell it from an unknown meeting id (400041).
    pub const UNKNOWN_SUB_MEETING: i64 = 90602;
}

/// The `errmsg` WeCom sends with an errcode (a generic one for codes the fake does not know).
pub(crate) fn errmsg(code: i64) -> &'static str {
    match code {
        0 => "ok",
        errcode::BUSY => "system busy",
        errcode::INVALID_SECRET => "invalid credential",
        errcode::INVALID_CORPID => "invalid corpid",
        errcode::INVALID_TOKEN => "invalid access_token",
        errcode::INVALID_PARAMETER => "invalid parameter",
        errcode::MISSING_TOKEN => "access_token missing",
        errcode::MISSING_CORPID => "corpid missing",
        errcode::MISSING_SECRET => "corpsecret missing",
        errcode::EXPIRED_TOKEN => "access_token expired",
        errcode::BAD_JSON => "data format error",
        errcode::RATE_LIMITED => "api freq out of limit",
        errcode::TOO_CONCURRENT => "api concurrent out of limit",
        errcode::INVALID_TIME_RANGE => "invalid time range",
        errcode::MEETING_NOT_EXIST => "meeting not exist",
        errcode::UNKNOWN_SUB_MEETING => "meeting not found or no permission",
        _ => "fake wecom error",
    }
}

/// HTTP 200 with a JSON body.
pub(crate) fn json(body: impl Into<Body>) -> Response {
    ([(header::CONTENT_TYPE, JSON_CONTENT_TYPE)], body.into()).into_response()
}

/// `{"errcode":code,"errmsg":…}`.
pub(crate) fn error_body(code: i64) -> String {
    format!("{{\"errcode\":{code},\"errmsg\":\"{}\"}}", errmsg(code))
}

/// HTTP 200 `{"errcode":code,"errmsg":…}`.
pub(crate) fn error(code: i64) -> Response {
    json(error_body(code))
}

/// HTTP 200 with a stored body, verbatim.
pub(crate) fn stored(body: &Bytes) -> Response {
    json(body.clone())
}

/// HTTP 404 naming the request no route handles, so a wrong path in a client shows at once.
pub(crate) fn not_handled(status: StatusCode, method: &str, path: &str) -> Response {
    let body = serde_json::json!({
        "errcode": status.as_u16(),
        "errmsg": format!("fake-wecom has no handler for {method} {path}"),
        "handled": [
            "GET /cgi-bin/gettoken",
            "POST /cgi-bin/meeting/get_info",
            "POST /cgi-bin/meeting/get_user_meetingid",
            "GET /_fake/stats",
            "POST /_fake/expire_tokens",
        ],
    });
    (
        status,
        [(header::CONTENT_TYPE, JSON_CONTENT_TYPE)],
        body.to_string(),
    )
        .into_response()
}
