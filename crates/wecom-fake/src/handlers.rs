//! The HTTP routes of the fake server: WeCom's `gettoken`, `meeting/get_info` and
//! `meeting/get_user_meetingid`, the `/_fake/*` admin routes, and a catch-all naming anything
//! else.
//!
//! `get_info` applies its checks in the order a client meets them at WeCom: token, concurrency
//! (45033), rate (45009), scripted or always-failing faults, random faults, latency, answer.

use super::faults::{self, Caller, Fault};
use super::limits::pause;
use super::list;
use super::reply::{self, errcode};
use super::state::State;
use super::stats::bump;
use axum::body::Bytes;
use axum::extract::{Query, State as Shared};
use axum::http::{Method, StatusCode, Uri};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

type Params = Query<HashMap<String, String>>;

pub(crate) fn router(state: Arc<State>) -> Router {
    Router::new()
        .route("/cgi-bin/gettoken", get(gettoken))
        .route("/cgi-bin/meeting/get_info", post(get_info))
        .route(
            "/cgi-bin/meeting/get_user_meetingid",
            post(get_user_meetingid),
        )
        .route(
            "/cgi-bin/department/list",
            get(super::directory::department_list),
        )
        .route("/cgi-bin/user/list", get(super::directory::user_list))
        .route("/cgi-bin/user/get", get(super::directory::user_get))
        .route(
            "/cgi-bin/idconvert/convert_tmp_external_userid",
            post(super::directory::convert),
        )
        .route("/_fake/stats", get(stats))
        .route("/_fake/expire_tokens", post(expire_tokens))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            super::quotas::admit,
        ))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
}

async fn gettoken(Shared(s): Shared<Arc<State>>, Query(q): Params) -> Response {
    bump(&s.counters.gettoken_calls);
    let field = |k: &str| q.get(k).map(String::as_str).filter(|v| !v.is_empty());
    match s.next_gettoken_fault() {
        None => {}
        Some(Fault::Slow) => {
            bump(&s.counters.faults_injected);
            pause(s.cfg.slow_delay).await;
        }
        Some(f) => {
            bump(&s.counters.faults_injected);
            let caller = Caller {
                token: None,
                secret: field("corpsecret").unwrap_or(&s.cfg.secret),
            };
            let busy = Bytes::from(reply::error_body(errcode::BUSY));
            return faults::render(&f, &busy, &caller);
        }
    }
    let refusal = match (field("corpid"), field("corpsecret")) {
        (None, _) => Some(errcode::MISSING_CORPID),
        (Some(c), _) if c != s.cfg.corpid => Some(errcode::INVALID_CORPID),
        (_, None) => Some(errcode::MISSING_SECRET),
        (_, Some(secret)) if secret != s.cfg.secret => Some(errcode::INVALID_SECRET),
        _ => None,
    };
    if let Some(code) = refusal {
        bump(&s.counters.gettoken_errors);
        return reply::error(code);
    }
    let body = serde_json::json!({
        "errcode": 0,
        "errmsg": "ok",
        "access_token": s.issue_token(),
        "expires_in": s
            .cfg
            .announced_ttl_s
            .unwrap_or_else(|| i64::try_from(s.cfg.token_ttl_s).unwrap_or(i64::MAX)),
    });
    reply::json(body.to_string())
}

#[derive(Deserialize)]
struct GetInfoRequest {
    meetingid: Option<String>,
    /// A string or a number; empty or absent = the meeting itself (a series' head).
    sub_meetingid: Option<Value>,
}

impl GetInfoRequest {
    fn sub_meetingid(&self) -> Option<String> {
        match &self.sub_meetingid {
            Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        }
    }
}

async fn get_info(Shared(s): Shared<Arc<State>>, Query(q): Params, body: Bytes) -> Response {
    bump(&s.counters.get_info_calls);
    let request = serde_json::from_slice::<GetInfoRequest>(&body);
    let sub_meetingid = request
        .as_ref()
        .ok()
        .and_then(GetInfoRequest::sub_meetingid);
    let meetingid = request.map(|r| r.meetingid.filter(|id| !id.is_empty()));
    if let Ok(Some(id)) = &meetingid {
        s.counters.count_id(id);
        s.counters.count_occurrence(id, sub_meetingid.as_deref());
    }
    if let Err(code) = s.check_token(q.get("access_token").map(String::as_str)) {
        bump(&s.counters.token_errors);
        return reply::error(code);
    }
    let id = match meetingid {
        Ok(Some(id)) => id,
        Ok(None) => return reply::error(errcode::INVALID_PARAMETER),
        Err(_) => return reply::error(errcode::BAD_JSON),
    };

    let burst = s.rejection_bursts.load(Ordering::Acquire);
    let (_in_flight, n) = s.in_flight.enter();
    s.counters.max_in_flight.fetch_max(n, Ordering::Relaxed);
    if s.cfg.max_concurrency.is_some_and(|max| n > max as u64) {
        bump(&s.counters.throttled_45033);
        return reply::error(errcode::TOO_CONCURRENT);
    }
    if !s.rate_ok() {
        bump(&s.counters.throttled_45009);
        return reply::error(errcode::RATE_LIMITED);
    }
    let fault = s.next_fault(&id);
    pause(s.cfg.latency).await;
    if s.rejection_bursts.load(Ordering::Acquire) != burst {
        bump(&s.counters.token_errors);
        return reply::error(errcode::EXPIRED_TOKEN);
    }

    let answer = s.answer(&id, sub_meetingid.as_deref());
    match fault {
        None => {
            bump(&s.counters.get_info_answered);
            reply::stored(&answer)
        }
        Some(Fault::Slow) => {
            bump(&s.counters.faults_injected);
            pause(s.cfg.slow_delay).await;
            reply::stored(&answer)
        }
        Some(f) => {
            bump(&s.counters.faults_injected);
            let caller = Caller {
                token: q.get("access_token").map(String::as_str),
                secret: &s.cfg.secret,
            };
            faults::render(&f, &answer, &caller)
        }
    }
}

async fn get_user_meetingid(
    Shared(s): Shared<Arc<State>>,
    Query(q): Params,
    body: Bytes,
) -> Response {
    bump(&s.counters.get_user_meetingid_calls);
    if let Err(code) = s.check_token(q.get("access_token").map(String::as_str)) {
        bump(&s.counters.token_errors);
        return reply::error(code);
    }
    if !s.rate_ok() {
        bump(&s.counters.throttled_45009);
        return reply::error(errcode::RATE_LIMITED);
    }
    pause(s.cfg.latency).await;
    let req = match list::parse(&body, chrono::Utc::now().timestamp()) {
        Ok(r) => r,
        Err(code) => return reply::error(code),
    };
    if let Some(code) = s.always_fails(&req.userid) {
        return reply::error(code);
    }
    let meetings = s
        .by_organizer
        .get(&req.userid)
        .map_or(&[][..], Vec::as_slice);
    let (ids, mut next_cursor) = list::page(meetings, &req);
    if let Some(listing) = s.listing(&req.userid) {
        next_cursor = listing.next_cursor(&req);
    }
    let body = serde_json::json!({
        "errcode": 0,
        "errmsg": "ok",
        "next_cursor": next_cursor,
        "meetingid_list": ids,
    });
    reply::json(body.to_string())
}

async fn stats(Shared(s): Shared<Arc<State>>) -> Json<super::FakeStats> {
    Json(s.stats())
}

async fn expire_tokens(Shared(s): Shared<Arc<State>>) -> Response {
    let n = s.expire_tokens();
    reply::json(format!(
        "{{\"errcode\":0,\"errmsg\":\"ok\",\"expired\":{n}}}"
    ))
}

async fn not_found(method: Method, uri: Uri) -> Response {
    reply::not_handled(StatusCode::NOT_FOUND, method.as_str(), uri.path())
}

async fn method_not_allowed(method: Method, uri: Uri) -> Response {
    reply::not_handled(StatusCode::METHOD_NOT_ALLOWED, method.as_str(), uri.path())
}
