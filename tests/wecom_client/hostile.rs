//! The real binary against a fake WeCom that misbehaves on purpose: redirects to another host,
//! bodies without end, errmsgs echoing the credentials, `Retry-After`, a token said to expire at
//! once, and listings that never end or name ids no file would allow. Nothing may hang, grow
//! without bound, follow the server elsewhere or leak a credential.

use super::{all_bytes, contains, meetings_written};
use crate::common::*;
use std::process::Output;
use std::time::{Duration, Instant};
use wecom_fake::generate::{GenConfig, generate};
use wecom_fake::{DEFAULT_SECRET, FakeConfig, FakeHandle, FakeWecom, Fault};

/// Asserts that no token the fake issued and not the secret appear in what the run printed
/// (stdout, stderr) or wrote (the run report, the store, the tables), and that the run report
/// and the store were there to be read.
fn assert_no_credentials(s: &Started, o: &Output) {
    let mut secrets = s.fake.issued_tokens();
    secrets.push(DEFAULT_SECRET.to_owned());
    let mut places = vec![
        ("stdout".to_owned(), o.stdout.clone()),
        ("stderr".to_owned(), o.stderr.clone()),
    ];
    places.extend(all_bytes(&s.out()));
    assert!(
        places.iter().any(|(p, _)| p.starts_with("_runs/")),
        "a run report was written"
    );
    assert!(
        places.iter().any(|(p, _)| p == "_store/raw.sqlite"),
        "a store was written"
    );
    for (place, bytes) in &places {
        for secret in &secrets {
            assert!(!contains(bytes, secret), "{secret:.6}… leaked into {place}");
        }
    }
}

/// The failure reason the run report gives for `meetingid`.
fn failure_reason(s: &Started, meetingid: &str) -> String {
    let r = s.report();
    let f = r["failures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["meetingid"] == meetingid)
        .unwrap_or_else(|| panic!("{meetingid} is not among the failures: {r}"));
    f["reason"].as_str().unwrap().to_owned()
}

/// A second fake, standing for whatever host a redirect names.
async fn elsewhere(g: &GenConfig) -> FakeHandle {
    FakeWecom::new(FakeConfig::default())
        .with_generated(g)
        .start()
        .await
        .unwrap()
}

/// Runs `s`, which a redirect answered with `status` must stop (exit 1) saying so.
async fn run_stopped_by_a_redirect(s: &Started, status: &str) -> Output {
    let o = s.run(&["run"]).await;
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains(status) && err.contains("never redirects"),
        "{err}"
    );
    o
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_on_gettoken_is_refused_naming_its_status_and_the_host_named_sees_nothing() {
    let g = corpus(3, 31);
    let other = elsewhere(&g).await;
    let to = format!("{}/cgi-bin/gettoken", other.base_url());
    let s = Scenario::serving(&g)
        .script_gettoken(vec![Fault::Redirect(302, to)])
        .api_job("")
        .start()
        .await;
    run_stopped_by_a_redirect(&s, "302").await;
    assert_eq!(other.stats().gettoken_calls, 0, "the redirect was followed");
    assert_eq!(s.fake.stats().get_info_calls, 0);
    other.shutdown().await;
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_on_get_info_stops_the_run_and_the_host_named_gets_neither_token_nor_call() {
    let g = corpus(3, 32);
    let ids = ids_of(&g);
    let other = elsewhere(&g).await;
    let to = format!("{}/cgi-bin/meeting/get_info", other.base_url());
    let s = Scenario::serving(&g)
        .script(&ids[0], vec![Fault::Redirect(307, to)])
        .api_job("concurrency = 1")
        .start()
        .await;
    let o = run_stopped_by_a_redirect(&s, "307").await;
    let seen = other.stats();
    assert_eq!(
        (seen.get_info_calls, seen.token_errors),
        (0, 0),
        "the redirect was followed: {seen:?}"
    );
    assert_no_credentials(&s, &o);
    other.shutdown().await;
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_or_oversized_body_fails_its_meeting_at_the_cap_without_a_retry() {
    let g = corpus(4, 33);
    let mut ids = ids_of(&g);
    // Announced in Content-Length: refused before reading it.
    let big = format!(r#"{{"errcode":0,"title":"{}"}}"#, "a".repeat(2 << 20));
    ids.push("hyBig".to_owned());
    let id_refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let s = Scenario::serving(&g)
        .meeting("hyBig", "zhangsan", 1_700_000_000, &big)
        .script(&ids[0], vec![Fault::Endless])
        .ids(&id_refs)
        .api_job("max_body_mb = 1\nmax_attempts = 3")
        .start()
        .await;
    let t0 = Instant::now();
    let o = s.run(&["run"]).await;
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(t0.elapsed() < Duration::from_secs(10));
    for id in [ids[0].as_str(), "hyBig"] {
        let why = failure_reason(&s, id);
        assert!(why.contains("max_body_mb"), "{id}: {why}");
        // The same body would come again: no retry.
        assert_eq!(s.fake.get_info_calls_for(id), 1, "{id}");
    }
    assert_eq!(s.report()["counts"]["fetched"], 3);
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_gettoken_answer_is_retried_like_a_busy_one_then_stops_the_run_naming_the_cap() {
    let s = Scenario::meetings(2, 34)
        .script_gettoken(vec![Fault::Endless, Fault::Endless, Fault::Endless])
        .api_job("max_body_mb = 1")
        .start()
        .await;
    let o = s.run(&["run"]).await;
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("max_body_mb"), "{err}");
    assert_eq!(s.fake.stats().gettoken_calls, 3);
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_errmsg_echoing_the_token_and_the_secret_is_masked_in_stderr_the_report_and_the_store() {
    let g = corpus(4, 35);
    let ids = ids_of(&g);
    let s = Scenario::serving(&g)
        .script(&ids[1], vec![Fault::EchoCredentials])
        .api_job("")
        .start()
        .await;
    let mut c = s.cmd(&["run"]);
    c.env("RUST_LOG", "debug");
    let o = run_async(c).await;
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let why = failure_reason(&s, &ids[1]);
    assert!(why.contains("90602") && why.contains("***"), "{why}");
    assert_no_credentials(&s, &o);
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_on_429_and_503_is_waited_out_before_the_next_attempt() {
    let g = corpus(2, 36);
    let ids = ids_of(&g);
    let s = Scenario::serving(&g)
        .script_gettoken(vec![Fault::RetryAfter(503, 2)])
        .script(
            &ids[0],
            vec![Fault::RetryAfter(429, 1), Fault::RetryAfter(503, 2)],
        )
        .api_job("")
        .start()
        .await;
    let t0 = Instant::now();
    s.run_ok(&["run"]).await;
    // 2 s before the second gettoken, then 1 s and 2 s before the second and third get_info
    // (the backoff alone is at most 100 ms).
    let took = t0.elapsed();
    assert!(took >= Duration::from_secs(5), "{took:?}");
    assert_eq!(s.fake.get_info_calls_for(&ids[0]), 3);
    assert_eq!(s.fake.stats().gettoken_calls, 2);
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_said_to_expire_at_once_is_kept_a_minute_not_fetched_again_every_second() {
    let s = Scenario::meetings(30, 37)
        .fake(|f| f.announced_ttl_s = Some(0))
        .api_job("rate = 10\nburst = 1")
        .start()
        .await;
    let t0 = Instant::now();
    s.run_ok(&["fetch"]).await;
    assert!(t0.elapsed() >= Duration::from_secs(2));
    let stats = s.fake.stats();
    assert_eq!(stats.gettoken_calls, 1, "{stats:?}");
    assert_eq!(s.report()["counts"]["fetched"], 30);
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listing_that_never_ends_repeats_its_cursor_or_names_a_bad_id_is_reported_and_the_rest_fetched()
 {
    let g = GenConfig {
        attendees: 2,
        ..corpus(20, 38)
    };
    let first = generate(&g).next().unwrap();
    let bad = "../../etc/passwd";
    let good = first.body.replace(&first.meetingid, "hyGood");
    let s = Scenario::serving(&g)
        .endless_listing("b.endless")
        .looping_listing("c.loop")
        .organizer("a.bad")
        .meeting(bad, "a.bad", first.meeting_start, &first.body)
        .meeting("hyGood", "a.bad", first.meeting_start, &good)
        .discovery_job("")
        .start()
        .await;
    let from = g.first_day;
    let to = from + chrono::Days::new(u64::from(g.days) - 1);
    let o = s
        .run(&["run", "--from", &from.to_string(), "--to", &to.to_string()])
        .await;
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let problems = s.report()["input_problems"].to_string();
    assert!(
        problems.contains("b.endless") && problems.contains("did not end after 1000 pages"),
        "{problems}"
    );
    assert!(
        problems.contains("c.loop") && problems.contains("repeated"),
        "{problems}"
    );
    assert!(
        problems.contains("a.bad") && problems.contains("invalid meeting id"),
        "{problems}"
    );
    // The endless listing stopped at the cap; the bad id was never asked for.
    let stats = s.fake.stats();
    assert!(stats.get_user_meetingid_calls <= 1000 + 20, "{stats:?}");
    assert_eq!(s.fake.get_info_calls_for(bad), 0);
    let mut want: std::collections::HashSet<String> = ids_of(&g).into_iter().collect();
    want.insert("hyGood".to_owned());
    let written = meetings_written(&s.out());
    assert!(written.contains("hyGood"), "{written:?}");
    assert!(written.is_subset(&want), "{written:?}");
    s.shutdown().await;
}
