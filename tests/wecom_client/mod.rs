//! The real binary against the in-repo fake WeCom server on loopback: tokens, errcode classes,
//! retries, throttling, discovery, exit codes, secrecy, and resuming after SIGKILL; `hostile`
//! holds the fake's deliberate misbehaviour (redirects, endless bodies, echoed credentials,
//! `Retry-After`, listings that never end).

mod hostile;
mod stopped;
mod tokens;

use crate::common::*;
use std::collections::HashSet;
use std::path::Path;
use std::process::Output;
use std::time::Duration;
use wecom_fake::DEFAULT_SECRET;
use wecom_fake::generate::{GenConfig, generate};

/// Meetings rows written across every `meetings/dt=*/part-0.csv`.
fn meetings_written(out: &Path) -> HashSet<String> {
    tree(out)
        .into_iter()
        .filter(|f| f.starts_with("meetings/") && f.ends_with(".csv"))
        .flat_map(|f| csv_lines(&out.join(f)).into_iter().skip(1))
        .map(|l| l.split(',').next().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_meeting_lands_in_the_outputs_or_is_listed_failed_with_its_errcode() {
    let g = corpus(60, 1);
    let ids = ids_of(&g);
    let s = Scenario::serving(&g)
        .fake(|f| {
            f.fault_rate = 0.3;
            f.slow_delay = Duration::from_secs(3);
            f.seed = 5;
        })
        .fail_always(&ids[3], 90602)
        .fail_always(&ids[7], 730005)
        .api_job("rate = 200\nconcurrency = 8\nmax_attempts = 10")
        .start()
        .await;
    let o = s.run(&["run"]).await;
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let r = s.report();
    let failed: Vec<(String, i64)> = r["failures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["meetingid"].as_str().unwrap().to_string(),
                f["errcode"].as_i64().unwrap(),
            )
        })
        .collect();
    let mut want = vec![(ids[3].clone(), 90602), (ids[7].clone(), 730005)];
    want.sort();
    assert_eq!(failed, want);
    let written = meetings_written(&s.out());
    for id in &ids {
        assert!(
            written.contains(id) || want.iter().any(|(f, _)| f == id),
            "{id} neither written nor failed"
        );
    }
    assert_eq!(written.len(), 58);
    let stats = s.fake.stats();
    assert!(stats.faults_injected > 5, "faults were injected: {stats:?}");
    assert!(r["counts"]["retried"].as_u64().unwrap() >= stats.faults_injected - 2);
    // Per-meeting errcodes are not retried; gettoken once for the whole run.
    assert_eq!(s.fake.get_info_calls_for(&ids[3]), 1);
    assert_eq!(stats.gettoken_calls, 1);
    let err = stderr(&o);
    assert!(err.contains(&ids[3]) && err.contains("90602"), "{err}");
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gettoken_is_called_once_plus_once_per_forced_expiry_shared_by_all_requests() {
    let s = Scenario::meetings(40, 2)
        .api_job("rate = 20\nburst = 5\nconcurrency = 8")
        .start()
        .await;
    let child = s.spawn(&["fetch"]);
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(s.fake.stats().get_info_calls > 0, "the run has started");
    s.fake.expire_tokens();
    let o = child.await.unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let stats = s.fake.stats();
    assert_eq!(stats.gettoken_calls, 2, "{stats:?}");
    let r = s.report();
    assert_eq!(r["counts"]["token_refreshes"], 1);
    assert_eq!(r["counts"]["fetched"], 40);
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_is_renewed_before_it_expires_so_no_request_is_rejected() {
    let s = Scenario::meetings(40, 3)
        .fake(|f| f.token_ttl_s = 1)
        .api_job("rate = 20\nburst = 1\nconcurrency = 4")
        .start()
        .await;
    let t0 = std::time::Instant::now();
    let o = s.run(&["fetch"]).await;
    let secs = t0.elapsed().as_secs_f64();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let stats = s.fake.stats();
    // One token per lifetime (renewed at 90 % of it), never one per request.
    assert!(stats.gettoken_calls >= 2, "{stats:?}");
    assert!(
        stats.gettoken_calls as f64 <= secs / 0.9 + 1.0,
        "{stats:?} in {secs:.1} s"
    );
    assert!(stats.token_errors <= 1, "{stats:?}");
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_pacing_at_the_servers_rate_is_not_throttled() {
    // The job asks for exactly the rate the server allows.
    let rate = 25;
    let s = Scenario::meetings(50, 4)
        .fake(|f| {
            f.rate_limit = Some(rate);
            f.latency = Duration::from_millis(20);
        })
        .api_job(&format!("rate = {rate}\nburst = 5\nconcurrency = 8"))
        .start()
        .await;
    s.run_ok(&["fetch"]).await;
    let stats = s.fake.stats();
    assert!(stats.throttled_45009 <= 1, "{stats:?}");
    assert_eq!(
        stats.get_info_calls as usize,
        50 + stats.throttled_45009 as usize
    );
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_faster_than_the_company_limit_slows_down_instead_of_failing() {
    let s = Scenario::meetings(40, 5)
        .fake(|f| f.rate_limit = Some(10))
        .api_job("rate = 200\nburst = 5\nconcurrency = 8")
        .start()
        .await;
    s.run_ok(&["fetch"]).await;
    let stats = s.fake.stats();
    let r = s.report();
    assert_eq!(r["counts"]["fetched"], 40);
    assert!(stats.throttled_45009 > 0, "{stats:?}");
    // The whole run slows down: throttles stay a small share of the calls.
    assert!(stats.throttled_45009 <= 15, "{stats:?}");
    assert_eq!(r["counts"]["throttled"], stats.throttled_45009);
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrency_beyond_the_servers_limit_is_narrowed_and_every_meeting_fetched() {
    let s = Scenario::meetings(40, 6)
        .fake(|f| {
            f.max_concurrency = Some(2);
            f.latency = Duration::from_millis(50);
        })
        .api_job("rate = 200\nconcurrency = 6")
        .start()
        .await;
    let o = s.run_ok(&["fetch"]).await;
    let stats = s.fake.stats();
    assert!(stats.throttled_45033 > 0, "{stats:?}");
    assert!(stderr(&o).contains("45033"), "{}", stderr(&o));
    assert_eq!(s.report()["counts"]["fetched"], 40);
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_credentials_stop_the_run_with_exit_1_after_a_single_gettoken() {
    let s = Scenario::meetings(5, 7).api_job("").start().await;
    let mut c = s.cmd(&["run"]);
    c.env(SECRET_ENV, "not-the-secret");
    let o = run_async(c).await;
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("40001"), "{}", stderr(&o));
    assert!(stderr(&o).contains("secret"), "{}", stderr(&o));
    let stats = s.fake.stats();
    assert_eq!(
        (stats.gettoken_calls, stats.get_info_calls),
        (1, 0),
        "{stats:?}"
    );
    assert!(!stderr(&o).contains("not-the-secret"));
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_rejected_before_any_call_succeeded_stop_the_run_instead_of_looping_on_gettoken() {
    // Something between us and WeCom mangles the token: every get_info says 40014, whether
    // gettoken issues a new token each time or, as WeCom does, the same one while it is valid.
    for same_token in [false, true] {
        let g = corpus(30, 12);
        let ids = ids_of(&g);
        let s = ids
            .iter()
            .fold(Scenario::serving(&g), |s, id| s.fail_always(id, 40014))
            .fake(|f| f.same_token_while_valid = same_token)
            .api_job("rate = 100\nconcurrency = 4")
            .start()
            .await;
        let o = s.run(&["run"]).await;
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        let err = stderr(&o);
        assert!(
            err.contains("proxy") && err.contains("access_token"),
            "{err}"
        );
        assert!(err.contains("before any call succeeded"), "{err}");
        // The first token and two refreshes, whatever the requests in flight: the third token
        // rejected before any success stops every request — not one refresh per request, nor
        // per meeting.
        let stats = s.fake.stats();
        assert!(stats.gettoken_calls <= 3, "{stats:?}");
        assert!(stats.get_info_calls < ids.len() as u64, "{stats:?}");
        s.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_base_url_that_is_not_wecom_is_fatal_with_a_hint() {
    let s = Scenario::default().ids(&["m1"]).api_job("").start().await;
    let mut c = s.cmd(&["run"]);
    c.env("WECOM_BASE_URL", format!("{}/wrong", s.fake.base_url()));
    let o = run_async(c).await;
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("404"), "{}", stderr(&o));
    assert!(stderr(&o).contains("base URL"), "{}", stderr(&o));
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_credentials_are_fatal_and_name_the_variable() {
    let tmp = tempfile::tempdir().unwrap();
    let job = api_job(tmp.path(), &["m1".to_string()], "");
    let o = run(bin().args(["run", "--job"]).arg(&job));
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains(CORPID_ENV), "{}", stderr(&o));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_obtains_a_token_prints_the_plan_and_fetches_nothing() {
    let s = Scenario::meetings(5, 8).api_job("rate = 30").start().await;
    let o = s.run_ok(&["check"]).await;
    let plan = stdout(&o);
    assert!(plan.contains("credentials:  ok"), "{plan}");
    assert!(plan.contains("30 calls/s"), "{plan}");
    assert!(plan.contains("5 ids"), "{plan}");
    let stats = s.fake.stats();
    assert_eq!((stats.gettoken_calls, stats.get_info_calls), (1, 0));
    assert!(!s.out().exists(), "check writes nothing");
    s.shutdown().await;
}

/// [`corpus`] with 2 attendees a meeting: discovery lists meetings, attendees do not matter.
fn listing_corpus(meetings: usize, seed: u64) -> GenConfig {
    GenConfig {
        attendees: 2,
        ..corpus(meetings, seed)
    }
}

/// `ids` over every day of the generated corpus `g`.
async fn ids_over_corpus(s: &Started, g: &GenConfig) -> Output {
    let first = g.first_day;
    let last = first + chrono::Days::new(u64::from(g.days) - 1);
    s.run(&[
        "ids",
        "--from",
        &first.to_string(),
        "--to",
        &last.to_string(),
    ])
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ids_discovers_every_page_of_every_organizer_without_duplicates() {
    let g = listing_corpus(500, 9);
    let s = Scenario::serving(&g).discovery_job("").start().await;
    let o = ids_over_corpus(&s, &g).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let printed: Vec<String> = stdout(&o).lines().map(String::from).collect();
    let unique: HashSet<_> = printed.iter().cloned().collect();
    assert_eq!(unique.len(), printed.len(), "no duplicates");
    let want: HashSet<String> = generate(&g).map(|m| m.meetingid).collect();
    assert_eq!(unique, want);
    // 500 meetings over 3 organizers at 100 a page: at least 2 pages each.
    assert!(s.fake.stats().get_user_meetingid_calls >= 6);

    // A year is split into slices of at most 180 days: 3 slices per organizer.
    let before = s.fake.stats().get_user_meetingid_calls;
    s.run_ok(&["ids", "--from", "2025-01-01", "--to", "2025-12-31"])
        .await;
    assert_eq!(s.fake.stats().get_user_meetingid_calls - before, 9);
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_organizer_whose_listing_fails_is_reported_and_the_others_are_still_listed() {
    let g = listing_corpus(60, 13);
    // Someone who left the company: WeCom answers an unknown (per-call) errcode for them.
    // Sorted first, so the organizers after them must still be listed.
    let s = Scenario::serving(&g)
        .organizer("a.gone")
        .fail_always("a.gone", 60111)
        .discovery_job("max_attempts = 2\n")
        .start()
        .await;
    let o = ids_over_corpus(&s, &g).await;
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let printed: HashSet<String> = stdout(&o).lines().map(String::from).collect();
    let want: HashSet<String> = generate(&g).map(|m| m.meetingid).collect();
    assert_eq!(printed, want);
    let err = stderr(&o);
    assert!(err.contains("a.gone") && err.contains("60111"), "{err}");
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_discovers_the_windows_meetings_when_the_job_has_organizers() {
    let g = corpus(30, 10);
    let s = Scenario::serving(&g).discovery_job("").start().await;
    let day = g.first_day.to_string();
    s.run_ok(&["run", "--date", &day]).await;
    let on_day: HashSet<String> = generate(&g)
        .filter(|m| {
            wecom_attendance::config::window::local_date(m.meeting_start, g.tz) == Some(g.first_day)
        })
        .map(|m| m.meetingid)
        .collect();
    assert!(!on_day.is_empty());
    assert_eq!(meetings_written(&s.out()), on_day);
    // Exactly one get_info per discovered meeting.
    assert_eq!(s.fake.stats().get_info_calls as usize, on_day.len());
    s.shutdown().await;
}

/// Every file under `dir`, as bytes.
fn all_bytes(dir: &Path) -> Vec<(String, Vec<u8>)> {
    tree(dir)
        .into_iter()
        .map(|f| (f.clone(), std::fs::read(dir.join(&f)).unwrap()))
        .collect()
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn neither_the_token_nor_the_secret_appears_in_anything_the_run_printed_or_wrote() {
    // Timeouts, cut bodies and error pages make reqwest errors, whose Display has the URL.
    let s = Scenario::meetings(30, 12)
        .fake(|f| {
            f.fault_rate = 0.5;
            f.slow_delay = Duration::from_secs(2);
            f.seed = 3;
        })
        .api_job("rate = 200\nmax_attempts = 2")
        .start()
        .await;
    let mut c = s.cmd(&["run"]);
    c.env("RUST_LOG", "trace");
    let o = run_async(c).await;
    assert!(matches!(o.status.code(), Some(0 | 2)), "{}", stderr(&o));
    assert!(s.fake.stats().faults_injected > 3);
    let tokens = s.fake.issued_tokens();
    assert!(!tokens.is_empty());
    let mut secrets: Vec<String> = tokens;
    secrets.push(DEFAULT_SECRET.to_string());
    let mut places = vec![
        ("stdout".to_string(), o.stdout.clone()),
        ("stderr".to_string(), o.stderr.clone()),
    ];
    places.extend(all_bytes(&s.out()));
    for (place, bytes) in &places {
        for secret in &secrets {
            assert!(!contains(bytes, secret), "{secret:.6}… leaked into {place}");
        }
    }
    // The failure reasons are still useful without the URL.
    let err = stderr(&o);
    assert!(
        !err.contains("access_token=") || err.contains("access_token=***"),
        "{err}"
    );
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_killed_mid_fetch_resumes_fetching_only_what_is_missing() {
    let s = Scenario::meetings(80, 13)
        .fake(|f| f.latency = Duration::from_millis(30))
        .api_job("rate = 25\nburst = 1\nconcurrency = 4")
        .start()
        .await;
    let mut child = s
        .cmd(&["run"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Kill it with SIGKILL once about a third is fetched.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while s.fake.stats().get_info_answered < 25 {
        assert!(
            std::time::Instant::now() < deadline,
            "the run never got going"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let first = s.fake.stats().get_info_calls;
    assert!(first < 80, "killed mid-fetch ({first} calls)");

    s.run_ok(&["run"]).await;
    let r = s.report();
    let reused = r["counts"]["reused_from_store"].as_u64().unwrap();
    let fetched = r["counts"]["fetched"].as_u64().unwrap();
    assert!(reused >= 10, "committed bodies survive the kill: {r}");
    assert_eq!(reused + fetched, 80);
    // Exactly one call per meeting the second run needed.
    assert_eq!(s.fake.stats().get_info_calls - first, fetched);
    assert_eq!(meetings_written(&s.out()).len(), 80);
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rerun_makes_no_get_info_call_for_meetings_stored_in_a_final_status() {
    let g = corpus(40, 14);
    let not_final = generate(&g)
        .filter(|m| {
            let v: serde_json::Value = serde_json::from_str(&m.body).unwrap();
            !matches!(v["status"].as_i64(), Some(3..=5))
        })
        .count() as u64;
    let s = Scenario::serving(&g).api_job("rate = 500").start().await;
    s.run_ok(&["run"]).await;
    assert_eq!(s.fake.stats().get_info_calls, 40);
    s.run_ok(&["run"]).await;
    assert_eq!(s.fake.stats().get_info_calls, 40 + not_final);
    s.run_ok(&["run", "--refetch"]).await;
    assert_eq!(s.fake.stats().get_info_calls, 80 + not_final);
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_secret_can_come_from_a_secret_file() {
    let s = Scenario::default()
        .job("file", |dir| {
            format!(
                "[api]\ncorpid_env = \"{CORPID_ENV}\"\nsecret_env = \"{SECRET_ENV}\"\nsecret_file = {:?}\n\
                 [ids]\norganizers = [\"zhangsan\"]\n",
                dir.join("secret")
            )
        })
        .start()
        .await;
    std::fs::write(s.dir().join("secret"), format!("{DEFAULT_SECRET}\n")).unwrap();
    let mut c = s.cmd(&["check"]);
    c.env_remove(SECRET_ENV);
    let o = run_async(c).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("secret from api.secret_file"),
        "{}",
        stdout(&o)
    );
    assert!(!stdout(&o).contains(DEFAULT_SECRET));
    s.shutdown().await;
}
