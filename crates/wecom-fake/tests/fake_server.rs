//! HTTP-level tests of the fake WeCom server itself: what a client sees on the wire for tokens,
//! bodies, throttles, faults and discovery. Everything runs on 127.0.0.1.

use serde_json::{Value, json};
use std::time::{Duration, Instant};
use wecom_fake::generate::{self, GenConfig};
use wecom_fake::{FakeConfig, FakeHandle, FakeWecom, Fault};

/// Recurring meetings: the head's listing, occurrences, the clock.
#[path = "fake_server/series.rs"]
mod series;

const BODY_A: &str = r#"{"errcode":0,"errmsg":"ok","admin_userid":"zhangsan","title":"周会","meeting_start":1700000000,"attendees":{"member":[]}}"#;

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

/// A fake serving one meeting, hyA (`BODY_A`), to be scripted further.
fn serving_hy_a(cfg: FakeConfig) -> FakeWecom {
    FakeWecom::new(cfg).with_meeting("hyA", "zhangsan", 1_700_000_000, BODY_A)
}

async fn start(cfg: FakeConfig) -> FakeHandle {
    serving_hy_a(cfg).start().await.unwrap()
}

/// A gettoken request, not sent yet.
fn gettoken_request(
    c: &reqwest::Client,
    base: &str,
    corpid: &str,
    secret: &str,
) -> reqwest::RequestBuilder {
    c.get(format!("{base}/cgi-bin/gettoken"))
        .query(&[("corpid", corpid), ("corpsecret", secret)])
}

/// Sends `request` and reads its answer as JSON.
async fn answer(request: reqwest::RequestBuilder) -> Value {
    request.send().await.unwrap().json().await.unwrap()
}

async fn gettoken(c: &reqwest::Client, base: &str, corpid: &str, secret: &str) -> Value {
    answer(gettoken_request(c, base, corpid, secret)).await
}

async fn token(c: &reqwest::Client, base: &str) -> String {
    let t = gettoken(c, base, "demo-corp", "demo-secret").await;
    t["access_token"].as_str().unwrap().to_owned()
}

/// A client of `s` holding a token: the client, the base URL and the token.
async fn session(s: &FakeHandle) -> (reqwest::Client, String, String) {
    let (c, base) = (client(), s.base_url());
    let t = token(&c, &base).await;
    (c, base, t)
}

/// A get_info request whose JSON body is `request` (`{"meetingid": …}`, perhaps with a
/// `sub_meetingid`), not sent yet.
fn get_info_request(
    c: &reqwest::Client,
    base: &str,
    token: &str,
    request: &Value,
) -> reqwest::RequestBuilder {
    c.post(format!("{base}/cgi-bin/meeting/get_info"))
        .query(&[("access_token", token)])
        .json(request)
}

/// A get_info request for meeting `id`, not sent yet.
fn get_info_of(c: &reqwest::Client, base: &str, token: &str, id: &str) -> reqwest::RequestBuilder {
    get_info_request(c, base, token, &json!({ "meetingid": id }))
}

/// HTTP status and body text of one get_info call.
async fn get_info(c: &reqwest::Client, base: &str, token: &str, id: &str) -> (u16, String) {
    let r = get_info_of(c, base, token, id).send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.text().await.unwrap())
}

/// Starts the `fake-wecom` binary with `args`, its stdout and stderr piped: the child and the
/// base URL of its first line (`listening on URL`).
fn start_binary(args: &[&str]) -> (std::process::Child, String) {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_fake-wecom"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    (child, base)
}

fn errcode(body: &str) -> i64 {
    let v: Value = serde_json::from_str(body).unwrap_or_else(|_| panic!("not JSON: {body}"));
    v["errcode"].as_i64().unwrap()
}

#[tokio::test]
async fn gettoken_issues_a_token_for_the_right_credentials_only() {
    let s = start(FakeConfig::default()).await;
    let c = client();
    let ok = gettoken(&c, &s.base_url(), "demo-corp", "demo-secret").await;
    assert_eq!(ok["errcode"], 0);
    assert_eq!(ok["expires_in"], 7200);
    assert!(ok["access_token"].as_str().unwrap().len() >= 64);
    let bad_secret = gettoken(&c, &s.base_url(), "demo-corp", "nope").await;
    assert_eq!(bad_secret["errcode"], 40001);
    let bad_corp = gettoken(&c, &s.base_url(), "other", "demo-secret").await;
    assert_eq!(bad_corp["errcode"], 40013);
    let stats = s.stats();
    assert_eq!((stats.gettoken_calls, stats.gettoken_errors), (3, 2));
    s.shutdown().await;
}

#[tokio::test]
async fn get_info_serves_the_stored_body_verbatim_and_400041_for_unknown_ids() {
    let s = start(FakeConfig::default()).await;
    let c = client();
    let t = token(&c, &s.base_url()).await;
    assert_eq!(
        get_info(&c, &s.base_url(), &t, "hyA").await,
        (200, BODY_A.to_owned())
    );
    let (status, body) = get_info(&c, &s.base_url(), &t, "hyMissing").await;
    assert_eq!((status, errcode(&body)), (200, 400041));
    assert_eq!(s.get_info_calls_for("hyA"), 1);
    assert_eq!(s.stats().get_info_by_id.len(), 2);
    s.shutdown().await;
}

#[tokio::test]
async fn missing_bogus_and_expired_tokens_get_41001_40014_and_42001() {
    let s = start(FakeConfig::default()).await;
    let (c, base) = (client(), s.base_url());
    assert_eq!(errcode(&get_info(&c, &base, "", "hyA").await.1), 41001);
    assert_eq!(errcode(&get_info(&c, &base, "bogus", "hyA").await.1), 40014);
    let t = token(&c, &base).await;
    assert_eq!(get_info(&c, &base, &t, "hyA").await.1, BODY_A);
    s.expire_tokens();
    assert_eq!(errcode(&get_info(&c, &base, &t, "hyA").await.1), 42001);
    let fresh = token(&c, &base).await;
    assert_eq!(get_info(&c, &base, &fresh, "hyA").await.1, BODY_A);
    let r = c
        .post(format!("{base}/_fake/expire_tokens"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(errcode(&get_info(&c, &base, &fresh, "hyA").await.1), 42001);
    assert_eq!(s.stats().token_errors, 4);
    s.shutdown().await;
}

#[tokio::test]
async fn with_token_every_a_token_serves_that_many_calls_then_gets_42001() {
    let s = start(FakeConfig {
        token_every: Some(2),
        ..FakeConfig::default()
    })
    .await;
    let (c, base, t) = session(&s).await;
    for _ in 0..2 {
        assert_eq!(get_info(&c, &base, &t, "hyA").await.1, BODY_A);
    }
    assert_eq!(errcode(&get_info(&c, &base, &t, "hyA").await.1), 42001);
    let fresh = token(&c, &base).await;
    assert_ne!(fresh, t);
    assert_eq!(get_info(&c, &base, &fresh, "hyA").await.1, BODY_A);
    s.shutdown().await;
}

#[tokio::test]
async fn with_same_token_while_valid_gettoken_hands_back_the_live_token_until_it_dies() {
    let s = start(FakeConfig {
        same_token_while_valid: true,
        ..FakeConfig::default()
    })
    .await;
    let (c, base, t) = session(&s).await;
    assert_eq!(token(&c, &base).await, t);
    s.expire_tokens();
    let fresh = token(&c, &base).await;
    assert_ne!(fresh, t);
    assert_eq!(token(&c, &base).await, fresh);
    assert_eq!(s.issued_tokens().len(), 2);
    s.shutdown().await;
}

#[tokio::test]
async fn a_token_older_than_its_lifetime_gets_42001() {
    let s = start(FakeConfig {
        token_ttl_s: 0,
        ..FakeConfig::default()
    })
    .await;
    let c = client();
    let t = gettoken(&c, &s.base_url(), "demo-corp", "demo-secret").await;
    assert_eq!(t["expires_in"], 0);
    let t = t["access_token"].as_str().unwrap();
    assert_eq!(
        errcode(&get_info(&c, &s.base_url(), t, "hyA").await.1),
        42001
    );
    s.shutdown().await;
}

#[tokio::test]
async fn scripted_faults_are_served_in_order_then_the_normal_body() {
    let s = serving_hy_a(FakeConfig {
        slow_delay: Duration::from_millis(400),
        ..FakeConfig::default()
    })
    .script(
        "hyA",
        vec![Fault::Errcode(-1), Fault::Http(502), Fault::Truncated],
    )
    .start()
    .await
    .unwrap();
    s.script(
        "hyA",
        vec![Fault::Html, Fault::ConnectionClose, Fault::Slow],
    );
    let (c, base, t) = session(&s).await;

    assert_eq!(errcode(&get_info(&c, &base, &t, "hyA").await.1), -1);
    let (status, _) = get_info(&c, &base, &t, "hyA").await;
    assert_eq!(status, 502);
    let (status, body) = get_info(&c, &base, &t, "hyA").await;
    assert_eq!(status, 200);
    assert!(BODY_A.starts_with(&body) && body.len() < BODY_A.len());
    assert!(serde_json::from_str::<Value>(&body).is_err());
    let (status, body) = get_info(&c, &base, &t, "hyA").await;
    assert_eq!(status, 200);
    assert!(body.starts_with("<html>"));

    let cut = get_info_of(&c, &base, &t, "hyA").send().await;
    let cut = match cut {
        Ok(r) => r.bytes().await.map(|b| b.len()),
        Err(e) => Err(e),
    };
    assert!(cut.is_err(), "a closed connection is an error, got {cut:?}");

    let started = Instant::now();
    let slow = get_info_of(&c, &base, &t, "hyA")
        .timeout(Duration::from_millis(100))
        .send()
        .await;
    assert!(slow.is_err_and(|e| e.is_timeout()));
    assert!(started.elapsed() < Duration::from_millis(400));

    assert_eq!(
        get_info(&c, &base, &t, "hyA").await,
        (200, BODY_A.to_owned())
    );
    let stats = s.stats();
    assert_eq!(stats.faults_injected, 6);
    assert_eq!(stats.get_info_answered, 1);
    s.shutdown().await;
}

#[tokio::test]
async fn a_meeting_set_to_fail_always_gets_its_errcode_on_every_call() {
    let s = serving_hy_a(FakeConfig::default())
        .fail_always("hyA", 90602)
        .start()
        .await
        .unwrap();
    let (c, base, t) = session(&s).await;
    for _ in 0..3 {
        assert_eq!(errcode(&get_info(&c, &base, &t, "hyA").await.1), 90602);
    }
    s.shutdown().await;
}

/// A client that shows redirects instead of following them.
fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_scripted_redirect_answers_its_status_and_location_on_get_info_and_gettoken() {
    let elsewhere = "http://192.0.2.1/cgi-bin/meeting/get_info";
    let s = serving_hy_a(FakeConfig::default())
        .script("hyA", vec![Fault::Redirect(307, elsewhere.to_owned())])
        .script_gettoken(vec![Fault::Redirect(302, "http://192.0.2.1/".to_owned())])
        .start()
        .await
        .unwrap();
    let (c, base) = (no_redirects(), s.base_url());
    let first = gettoken_request(&c, &base, "demo-corp", "demo-secret")
        .send()
        .await
        .unwrap();
    assert_eq!(first.status().as_u16(), 302);
    assert_eq!(first.headers()["location"], "http://192.0.2.1/");
    let t = token(&c, &base).await;
    let r = get_info_of(&c, &base, &t, "hyA").send().await.unwrap();
    assert_eq!(r.status().as_u16(), 307);
    assert_eq!(r.headers()["location"], elsewhere);
    assert_eq!(
        get_info(&c, &base, &t, "hyA").await,
        (200, BODY_A.to_owned())
    );
    assert_eq!(s.stats().faults_injected, 2);
    s.shutdown().await;
}

#[tokio::test]
async fn an_endless_body_streams_past_any_size_without_a_length() {
    let s = serving_hy_a(FakeConfig::default())
        .script("hyA", vec![Fault::Endless])
        .start()
        .await
        .unwrap();
    let (c, base, t) = session(&s).await;
    let mut r = get_info_of(&c, &base, &t, "hyA").send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.content_length(), None);
    let mut read = Vec::new();
    while read.len() < 4 << 20 {
        let chunk = r.chunk().await.unwrap().expect("the body goes on");
        read.extend_from_slice(&chunk);
    }
    assert!(read.starts_with(br#"{"errcode":0"#));
    drop(r);
    // The next call is answered normally.
    assert_eq!(
        get_info(&c, &base, &t, "hyA").await,
        (200, BODY_A.to_owned())
    );
    s.shutdown().await;
}

#[tokio::test]
async fn echo_credentials_answers_90602_quoting_the_callers_token_and_the_secret() {
    let s = serving_hy_a(FakeConfig::default())
        .script("hyA", vec![Fault::EchoCredentials])
        .start()
        .await
        .unwrap();
    let (c, base, t) = session(&s).await;
    let (status, body) = get_info(&c, &base, &t, "hyA").await;
    assert_eq!((status, errcode(&body)), (200, 90602));
    let v: Value = serde_json::from_str(&body).unwrap();
    let errmsg = v["errmsg"].as_str().unwrap();
    assert!(errmsg.contains(&t), "{errmsg}");
    assert!(errmsg.contains("demo-secret"), "{errmsg}");
    s.shutdown().await;
}

#[tokio::test]
async fn retry_after_comes_with_its_status_on_get_info_and_gettoken() {
    let s = serving_hy_a(FakeConfig::default())
        .script(
            "hyA",
            vec![Fault::RetryAfter(429, 7), Fault::RetryAfter(503, 2)],
        )
        .script_gettoken(vec![Fault::RetryAfter(503, 3)])
        .start()
        .await
        .unwrap();
    let (c, base) = (client(), s.base_url());
    let r = gettoken_request(&c, &base, "demo-corp", "demo-secret")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 503);
    assert_eq!(r.headers()["retry-after"], "3");
    let t = token(&c, &base).await;
    for (status, secs) in [(429, "7"), (503, "2")] {
        let r = get_info_of(&c, &base, &t, "hyA").send().await.unwrap();
        assert_eq!(r.status().as_u16(), status);
        assert_eq!(r.headers()["retry-after"], secs);
    }
    assert_eq!(
        get_info(&c, &base, &t, "hyA").await,
        (200, BODY_A.to_owned())
    );
    s.shutdown().await;
}

#[tokio::test]
async fn an_announced_lifetime_of_0_is_what_gettoken_says_while_the_token_still_works() {
    let s = start(FakeConfig {
        announced_ttl_s: Some(0),
        ..FakeConfig::default()
    })
    .await;
    let c = client();
    let t = gettoken(&c, &s.base_url(), "demo-corp", "demo-secret").await;
    assert_eq!(t["expires_in"], 0);
    let t = t["access_token"].as_str().unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(
        get_info(&c, &s.base_url(), t, "hyA").await,
        (200, BODY_A.to_owned())
    );
    s.shutdown().await;
}

#[tokio::test]
async fn random_faults_follow_the_seed() {
    async fn outcomes(seed: u64) -> Vec<String> {
        let s = start(FakeConfig {
            fault_rate: 0.5,
            slow_delay: Duration::ZERO,
            seed,
            ..FakeConfig::default()
        })
        .await;
        let (c, base, t) = session(&s).await;
        let mut seen = Vec::new();
        for _ in 0..30 {
            let r = get_info_of(&c, &base, &t, "hyA").send().await;
            seen.push(match r {
                Ok(r) => {
                    let status = r.status().as_u16();
                    let body = r.text().await.map(|b| b.len()).unwrap_or(0);
                    format!("{status}:{body}")
                }
                Err(_) => "closed".to_owned(),
            });
        }
        let stats = s.stats();
        assert!(stats.faults_injected > 5 && stats.get_info_answered > 5);
        s.shutdown().await;
        seen
    }
    assert_eq!(outcomes(7).await, outcomes(7).await);
    assert_ne!(outcomes(7).await, outcomes(8).await);
}

#[tokio::test]
async fn a_client_above_the_rate_gets_45009() {
    let s = start(FakeConfig {
        rate_limit: Some(20),
        ..FakeConfig::default()
    })
    .await;
    let (c, base, t) = session(&s).await;
    let answers = get_info_many(&c, &base, &t, "hyA", 40).await;
    let throttled = answers.iter().filter(|(_, b)| b.contains("45009")).count();
    assert!((10..=20).contains(&throttled), "{throttled} throttled");
    assert_eq!(s.stats().throttled_45009, throttled as u64);
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_pacing_at_the_rate_with_a_small_burst_never_gets_45009() {
    const RATE: u64 = 50;
    let s = start(FakeConfig {
        rate_limit: Some(RATE as u32),
        ..FakeConfig::default()
    })
    .await;
    let (c, base, t) = session(&s).await;
    let mut tasks = Vec::new();
    let spawn = |tasks: &mut Vec<_>| {
        let (c, base, t) = (c.clone(), base.clone(), t.clone());
        tasks.push(tokio::spawn(
            async move { get_info(&c, &base, &t, "hyA").await },
        ));
    };
    // A burst of 5, then one call per 1/RATE s: 75 calls, more than the bucket holds.
    (0..5).for_each(|_| spawn(&mut tasks));
    let mut tick = tokio::time::interval(Duration::from_nanos(1_000_000_000 / RATE));
    tick.tick().await;
    for _ in 0..70 {
        tick.tick().await;
        spawn(&mut tasks);
    }
    for task in tasks {
        let (status, body) = task.await.unwrap();
        assert_eq!((status, body.as_str()), (200, BODY_A));
    }
    assert_eq!(s.stats().throttled_45009, 0);
    s.shutdown().await;
}

#[tokio::test]
async fn calls_beyond_the_concurrency_limit_get_45033() {
    let s = start(FakeConfig {
        max_concurrency: Some(2),
        latency: Duration::from_millis(300),
        ..FakeConfig::default()
    })
    .await;
    let (c, base, t) = session(&s).await;
    let answers = get_info_many(&c, &base, &t, "hyA", 6).await;
    let refused = answers.iter().filter(|(_, b)| b.contains("45033")).count();
    assert_eq!(refused, 4);
    let stats = s.stats();
    assert_eq!(stats.throttled_45033, 4);
    assert!(stats.max_in_flight > 2, "the peak includes refused calls");
    // The slots are free again once the answers are out.
    let again = get_info_many(&c, &base, &t, "hyA", 2).await;
    assert!(again.iter().all(|(_, b)| b == BODY_A));
    s.shutdown().await;
}

#[tokio::test]
async fn a_request_abandoned_by_its_client_frees_its_concurrency_slot() {
    let s = serving_hy_a(FakeConfig {
        max_concurrency: Some(1),
        slow_delay: Duration::from_secs(3),
        ..FakeConfig::default()
    })
    .script("hyA", vec![Fault::Slow])
    .start()
    .await
    .unwrap();
    let (c, base, t) = session(&s).await;
    let abandoned = get_info_of(&c, &base, &t, "hyA")
        .timeout(Duration::from_millis(100))
        .send()
        .await;
    assert!(abandoned.is_err());
    let deadline = Instant::now() + Duration::from_secs(1);
    loop {
        let (_, body) = get_info(&c, &base, &t, "hyA").await;
        if body == BODY_A {
            break;
        }
        assert_eq!(errcode(&body), 45033);
        assert!(Instant::now() < deadline, "the slot was never released");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    s.shutdown().await;
}

async fn list(c: &reqwest::Client, base: &str, t: &str, req: Value) -> Value {
    answer(
        c.post(format!("{base}/cgi-bin/meeting/get_user_meetingid"))
            .query(&[("access_token", t)])
            .json(&req),
    )
    .await
}

#[tokio::test]
async fn get_user_meetingid_pages_with_the_cursor_and_filters_by_start_time() {
    let mut fake = FakeWecom::new(FakeConfig::default());
    for i in 0..150 {
        fake = fake.with_meeting(format!("hy{i:03}"), "zhangsan", 1_000 + i, "{}");
    }
    let s = fake
        .with_meeting("hyOther", "lisi", 1_050, "{}")
        .start()
        .await
        .unwrap();
    let (c, base, t) = session(&s).await;

    let mut cursor = "0".to_owned();
    let mut ids = Vec::new();
    loop {
        let page = list(
            &c,
            &base,
            &t,
            json!({"userid":"zhangsan","cursor":cursor,"begin_time":1000,"end_time":2000,"limit":100}),
        )
        .await;
        assert_eq!(page["errcode"], 0);
        let batch = page["meetingid_list"].as_array().unwrap();
        assert!(batch.len() <= 100);
        ids.extend(batch.iter().map(|v| v.as_str().unwrap().to_owned()));
        cursor = page["next_cursor"].as_str().unwrap().to_owned();
        if cursor.is_empty() {
            break;
        }
    }
    assert_eq!(ids.len(), 150);
    assert_eq!((ids[0].as_str(), ids[149].as_str()), ("hy000", "hy149"));

    let window = list(
        &c,
        &base,
        &t,
        json!({"userid":"zhangsan","cursor":"0","begin_time":"1010","end_time":1019}),
    )
    .await;
    assert_eq!(window["meetingid_list"].as_array().unwrap().len(), 10);
    assert_eq!(window["next_cursor"], "");

    let too_many = json!({"userid":"zhangsan","begin_time":0,"end_time":10,"limit":101});
    assert_eq!(list(&c, &base, &t, too_many).await["errcode"], 40058);
    let too_long = json!({"userid":"zhangsan","begin_time":0,"end_time":181 * 86_400});
    assert_eq!(list(&c, &base, &t, too_long).await["errcode"], 400002);
    assert_eq!(s.stats().get_user_meetingid_calls, 5);
    s.shutdown().await;
}

#[tokio::test]
async fn get_user_meetingid_counts_toward_the_rate_limit() {
    let s = start(FakeConfig {
        rate_limit: Some(1),
        rate_limit_burst: Some(2),
        ..FakeConfig::default()
    })
    .await;
    let (c, base, t) = session(&s).await;
    let req = json!({"userid":"zhangsan","begin_time":0,"end_time":1_000_000});
    assert_eq!(list(&c, &base, &t, req.clone()).await["errcode"], 0);
    assert_eq!(get_info(&c, &base, &t, "hyA").await.1, BODY_A);
    assert_eq!(list(&c, &base, &t, req).await["errcode"], 45009);
    s.shutdown().await;
}

#[tokio::test]
async fn an_endless_listing_answers_a_new_cursor_every_page_and_a_looping_one_the_same() {
    let s = FakeWecom::new(FakeConfig::default())
        .with_meeting("hyA", "zhangsan", 1_000, BODY_A)
        .with_meeting("hyB", "lisi", 1_000, BODY_A)
        .endless_listing("zhangsan")
        .looping_listing("lisi")
        .start()
        .await
        .unwrap();
    let (c, base, t) = session(&s).await;
    let mut cursors = std::collections::HashSet::new();
    let mut cursor = "0".to_owned();
    let mut ids = Vec::new();
    for _ in 0..50 {
        let page = list(
            &c,
            &base,
            &t,
            json!({"userid":"zhangsan","cursor":cursor,"begin_time":0,"end_time":2000}),
        )
        .await;
        assert_eq!(page["errcode"], 0);
        ids.extend(page["meetingid_list"].as_array().unwrap().clone());
        cursor = page["next_cursor"].as_str().unwrap().to_owned();
        assert!(
            !cursor.is_empty() && cursors.insert(cursor.clone()),
            "{cursor}"
        );
    }
    assert_eq!(ids, [json!("hyA")]);
    for cursor in ["0", "1"] {
        let page = list(
            &c,
            &base,
            &t,
            json!({"userid":"lisi","cursor":cursor,"begin_time":0,"end_time":2000}),
        )
        .await;
        assert_eq!(page["next_cursor"], "1");
    }
    s.shutdown().await;
}

#[tokio::test]
async fn a_meeting_id_no_file_would_allow_is_listed_as_it_is() {
    let s = FakeWecom::new(FakeConfig::default())
        .with_meeting("../../etc/x", "zhangsan", 1_000, BODY_A)
        .start()
        .await
        .unwrap();
    let (c, base, t) = session(&s).await;
    let page = list(
        &c,
        &base,
        &t,
        json!({"userid":"zhangsan","begin_time":0,"end_time":2000}),
    )
    .await;
    assert_eq!(page["meetingid_list"], json!(["../../etc/x"]));
    s.shutdown().await;
}

#[tokio::test]
async fn generated_meetings_are_served_and_listed_by_organizer() {
    let g = GenConfig {
        meetings: 30,
        attendees: 20,
        organizers: 3,
        ..GenConfig::default()
    };
    let s = FakeWecom::new(FakeConfig::default())
        .with_generated(&g)
        .start()
        .await
        .unwrap();
    let (c, base, t) = session(&s).await;
    let meetings: Vec<_> = generate::generate(&g).collect();
    assert_eq!(
        get_info(&c, &base, &t, &meetings[3].meetingid).await.1,
        meetings[3].body
    );
    let begin = meetings.iter().map(|m| m.meeting_start).min().unwrap();
    let mut listed = 0;
    for user in ["user0001", "user0002", "user0003"] {
        let req = json!({"userid":user,"begin_time":begin,"end_time":begin + 30 * 86_400});
        listed += list(&c, &base, &t, req).await["meetingid_list"]
            .as_array()
            .unwrap()
            .len();
    }
    assert_eq!(listed, 30);
    s.shutdown().await;
}

#[tokio::test]
async fn unknown_paths_get_a_404_that_names_them() {
    let s = start(FakeConfig::default()).await;
    let r = client()
        .post(format!("{}/cgi-bin/meeting/get_inf", s.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("POST /cgi-bin/meeting/get_inf")
    );
    let r = client()
        .get(format!("{}/cgi-bin/meeting/get_info", s.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("GET /cgi-bin/meeting/get_info")
    );
    s.shutdown().await;
}

#[tokio::test]
async fn the_stats_endpoint_reports_what_the_server_saw() {
    let s = start(FakeConfig::default()).await;
    let (c, base, t) = session(&s).await;
    get_info(&c, &base, &t, "hyA").await;
    get_info(&c, &base, &t, "hyA").await;
    let stats: Value = answer(c.get(format!("{base}/_fake/stats"))).await;
    assert_eq!(stats["gettoken_calls"], 1);
    assert_eq!(stats["get_info_calls"], 2);
    assert_eq!(stats["get_info_by_id"]["hyA"], 2);
    assert_eq!(stats["max_in_flight"], 1);
    s.shutdown().await;
}

#[test]
fn the_binary_prints_its_address_serves_and_stops_by_itself() {
    let (child, base) =
        start_binary(&["--generate", "3", "--attendees", "5", "--max-seconds", "1"]);
    assert!(base.starts_with("http://127.0.0.1:"));
    let rt = tokio::runtime::Runtime::new().unwrap();
    let answer = rt.block_on(gettoken(&client(), &base, "demo-corp", "demo-secret"));
    assert_eq!(answer["errcode"], 0);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(!stderr.contains("demo-secret"));
    let last = stderr.lines().last().unwrap();
    let stats: Value = serde_json::from_str(last).unwrap();
    assert_eq!(stats["gettoken_calls"], 1);
}

/// `n` concurrent get_info calls for `id`, answers in call order.
async fn get_info_many(
    c: &reqwest::Client,
    base: &str,
    t: &str,
    id: &str,
    n: usize,
) -> Vec<(u16, String)> {
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let (c, base, t, id) = (c.clone(), base.to_owned(), t.to_owned(), id.to_owned());
            tokio::spawn(async move { get_info(&c, &base, &t, &id).await })
        })
        .collect();
    let mut answers = Vec::with_capacity(n);
    for task in tasks {
        answers.push(task.await.unwrap());
    }
    answers
}
