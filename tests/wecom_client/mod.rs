//! The real binary against the in-repo fake WeCom server on loopback: tokens, errcode classes,
//! retries, throttling, discovery, exit codes, secrecy, and resuming after SIGKILL.

mod common;
use common::*;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;
use wecom_fake::generate::{GenConfig, generate};
use wecom_fake::{DEFAULT_CORPID, DEFAULT_SECRET, FakeConfig, FakeHandle, FakeWecom};

const SECRET_ENV: &str = "TEST_WECOM_SECRET";
const CORPID_ENV: &str = "TEST_WECOM_CORPID";

fn corpus(meetings: usize, seed: u64) -> GenConfig {
    GenConfig {
        meetings,
        attendees: 12,
        seed,
        organizers: 3,
        ..GenConfig::default()
    }
}

fn ids_of(cfg: &GenConfig) -> Vec<String> {
    generate(cfg).map(|m| m.meetingid).collect()
}

/// A job reading the API at whatever WECOM_BASE_URL says, with fast retries for tests.
fn api_job(dir: &Path, ids: &[String], fetch: &str) -> PathBuf {
    let ids_file = dir.join("ids.txt");
    std::fs::write(&ids_file, ids.join("\n")).unwrap();
    write_job(
        dir,
        "api",
        &format!(
            "name = \"api\"\n[api]\ncorpid_env = \"{CORPID_ENV}\"\nsecret_env = \"{SECRET_ENV}\"\n\
             timeout_s = 1.0\n[source]\nkind = \"api\"\n[ids]\nfile = {ids_file:?}\n\
             [fetch]\nbackoff_ms = 10\nbackoff_max_ms = 100\nthrottle_pause_ms = 100\n{fetch}\n\
             [output]\ndir = {:?}\n",
            dir.join("out")
        ),
    )
}

fn api_cmd(fake: &FakeHandle, args: &[&str], job: &Path) -> Command {
    let mut c = bin();
    c.env("WECOM_BASE_URL", fake.base_url())
        .env(CORPID_ENV, DEFAULT_CORPID)
        .env(SECRET_ENV, DEFAULT_SECRET)
        .args(args)
        .arg("--job")
        .arg(job);
    c
}

/// The fake WeCom server with the generated meetings of `g`.
async fn serve(g: &GenConfig, cfg: FakeConfig) -> FakeHandle {
    FakeWecom::new(cfg).with_generated(g).start().await.unwrap()
}

async fn run_async(mut c: Command) -> Output {
    tokio::task::spawn_blocking(move || run(&mut c))
        .await
        .unwrap()
}

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
    let fake = FakeWecom::new(FakeConfig {
        fault_rate: 0.3,
        slow_delay: Duration::from_secs(3),
        seed: 5,
        ..FakeConfig::default()
    })
    .with_generated(&g)
    .fail_always(&ids[3], 90602)
    .fail_always(&ids[7], 730005)
    .start()
    .await
    .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let job = api_job(
        tmp.path(),
        &ids,
        "rate = 200\nconcurrency = 8\nmax_attempts = 10",
    );
    let o = run_async(api_cmd(&fake, &["run"], &job)).await;
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let out = tmp.path().join("out");
    let r = last_report(&out);
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
    let written = meetings_written(&out);
    for id in &ids {
        assert!(
            written.contains(id) || want.iter().any(|(f, _)| f == id),
            "{id} neither written nor failed"
        );
    }
    assert_eq!(written.len(), 58);
    let s = fake.stats();
    assert!(s.faults_injected > 5, "faults were injected: {s:?}");
    assert!(r["counts"]["retried"].as_u64().unwrap() >= s.faults_injected - 2);
    // Per-meeting errcodes are not retried; gettoken once for the whole run.
    assert_eq!(fake.get_info_calls_for(&ids[3]), 1);
    assert_eq!(s.gettoken_calls, 1);
    let err = stderr(&o);
    assert!(err.contains(&ids[3]) && err.contains("90602"), "{err}");
    fake.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gettoken_is_called_once_plus_once_per_forced_expiry_shared_by_all_requests() {
    let g = corpus(40, 2);
    let ids = ids_of(&g);
    let fake = serve(&g, FakeConfig::default()).await;
    let tmp = tempfile::tempdir().unwrap();
    let job = api_job(tmp.path(), &ids, "rate = 20\nburst = 5\nconcurrency = 8");
    let child = tokio::task::spawn_blocking({
        let mut c = api_cmd(&fake, &["fetch"], &job);
        move || run(&mut c)
    });
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(fake.stats().get_info_calls > 0, "the run has started");
    fake.expire_tokens();
    let o = child.await.unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let s = fake.stats();
    assert_eq!(s.gettoken_calls, 2, "{s:?}");
    let r = last_report(&tmp.path().join("out"));
    assert_eq!(r["counts"]["token_refreshes"], 1);
    assert_eq!(r["counts"]["fetched"], 40);
    fake.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_is_renewed_before_it_expires_so_no_request_is_rejected() {
    let g = corpus(40, 3);
    let ids = ids_of(&g);
    let fake = serve(
        &g,
        FakeConfig {
            token_ttl_s: 1,
            ..FakeConfig::default()
        },
    )
    .await;
    let tmp = tempfile::tempdir().unwrap();
    let job = api_job(tmp.path(), &ids, "rate = 20\nburst = 1\nconcurrency = 4");
    let t0 = std::time::Instant::now();
    let o = run_async(api_cmd(&fake, &["fetch"], &job)).await;
    let secs = t0.elapsed().as_secs_f64();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let s = fake.stats();
    // One token per lifetime (renewed at 90 % of it), never one per request.
    assert!(s.gettoken_calls >= 2, "{s:?}");
    assert!(
        s.gettoken_calls as f64 <= secs / 0.9 + 1.0,
        "{s:?} in {secs:.1} s"
    );
    assert!(s.token_errors <= 1, "{s:?}");
    fake.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_pacing_at_the_servers_rate_is_not_throttled() {
    let g = corpus(50, 4);
    let ids = ids_of(&g);
    let fake = serve(
        &g,
        FakeConfig {
            rate_limit: Some(25),
            latency: Duration::from_millis(20),
            ..FakeConfig::default()
        },
    )
    .await;
    let tmp = tempfile::tempdir().unwrap();
    let job = api_job(tmp.path(), &ids, "rate = 25\nburst = 5\nconcurrency = 8");
    let o = run_async(api_cmd(&fake, &["fetch"], &job)).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let s = fake.stats();
    assert!(s.throttled_45009 <= 1, "{s:?}");
    assert_eq!(s.get_info_calls as usize, 50 + s.throttled_45009 as usize);
    fake.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_faster_than_the_company_limit_slows_down_instead_of_failing() {
    let g = corpus(40, 5);
    let ids = ids_of(&g);
    let fake = serve(
        &g,
        FakeConfig {
            rate_limit: Some(10),
            ..FakeConfig::default()
        },
    )
    .await;
    let tmp = tempfile::tempdir().unwrap();
    let job = api_job(tmp.path(), &ids, "rate = 200\nburst = 5\nconcurrency = 8");
    let o = run_async(api_cmd(&fake, &["fetch"], &job)).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let s = fake.stats();
    let r = last_report(&tmp.path().join("out"));
    assert_eq!(r["counts"]["fetched"], 40);
    assert!(s.throttled_45009 > 0, "{s:?}");
    // The whole run slows down: throttles stay a small share of the calls.
    assert!(s.throttled_45009 <= 15, "{s:?}");
    assert_eq!(r["counts"]["throttled"], s.throttled_45009);
    fake.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrency_beyond_the_servers_limit_is_narrowed_and_every_meeting_fetched() {
    let g = corpus(40, 6);
    let ids = ids_of(&g);
    let fake = serve(
        &g,
        FakeConfig {
            max_concurrency: Some(2),
            latency: Duration::from_millis(50),
            ..FakeConfig::default()
        },
    )
    .await;
    let tmp = tempfile::tempdir().unwrap();
    let job = api_job(tmp.path(), &ids, "rate = 200\nconcurrency = 6");
    let o = run_async(api_cmd(&fake, &["fetch"], &job)).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let s = fake.stats();
    assert!(s.throttled_45033 > 0, "{s:?}");
    assert!(stderr(&o).contains("45033"), "{}", stderr(&o));
    assert_eq!(
        last_report(&tmp.path().join("out"))["counts"]["fetched"],
        40
    );
    fake.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_credentials_stop_the_run_with_exit_1_after_a_single_gettoken() {
    let g = corpus(5, 7);
    let fake = serve(&g, FakeConfig::default()).await;
    let tmp = tempfile::tempdir().unwrap();
    let job = api_job(tmp.path(), &ids_of(&g), "");
    let mut c = api_cmd(&fake, &["run"], &job);
    c.env(SECRET_ENV, "not-the-secret");
    let o = run_async(c).await;
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("40001"), "{}", stderr(&o));
    assert!(stderr(&o).contains("secret"), "{}", stderr(&o));
    let s = fake.stats();
    assert_eq!((s.gettoken_calls, s.get_info_calls), (1, 0), "{s:?}");
    assert!(!stderr(&o).contains("not-the-secret"));
    fake.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_rejected_right_after_a_refresh_stops_the_run_instead_of_looping_on_gettoken() {
    // Something between us and WeCom mangles the token: every get_info says 40014.
    let g = corpus(30, 12);
    let ids = ids_of(&g);
    let fake = ids
        .iter()
        .fold(
            FakeWecom::new(FakeConfig::default()).with_generated(&g),
            |f, id| f.fail_always(id, 40014),
        )
        .start()
        .await
        .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let job = api_job(tmp.path(), &ids, "rate = 100\nconcurrency = 4");
    let o = run_async(api_cmd(&fake, &["run"], &job)).await;
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("base URL"), "{}", stderr(&o));
    // The first token and at most one refresh per request in flight when it stopped — not one
    // per meeting, and few get_info calls.
    let s = fake.stats();
    assert!(s.gettoken_calls <= 1 + 4, "{s:?}");
    assert!(s.get_info_calls < ids.len() as u64, "{s:?}");
    fake.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_base_url_that_is_not_wecom_is_fatal_with_a_hint() {
    let fake = FakeWecom::new(FakeConfig::default()).start().await.unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let job = api_job(tmp.path(), &["m1".to_string()], "");
    let mut c = api_cmd(&fake, &["run"], &job);
    c.env("WECOM_BASE_URL", format!("{}/wrong", fake.base_url()));
    let o = run_async(c).await;
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("404"), "{}", stderr(&o));
    assert!(stderr(&o).contains("base URL"), "{}", stderr(&o));
    fake.shutdown().await;
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
    let g = corpus(5, 8);
    let fake = serve(&g, FakeConfig::default()).await;
    let tmp = tempfile::tempdir().unwrap();
    let job = api_job(tmp.path(), &ids_of(&g), "rate = 30");
    let o = run_async(api_cmd(&fake, &["check"], &job)).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let plan = stdout(&o);
    assert!(plan.contains("credentials:  ok"), "{plan}");
    assert!(plan.contains("30 calls/s"), "{plan}");
    assert!(plan.contains("5 ids"), "{plan}");
    let s = fake.stats();
    assert_eq!((s.gettoken_calls, s.get_info_calls), (1, 0));
    assert!(!tmp.path().join("out").exists(), "check writes nothing");
    fake.shutdown().await;
}

/// A job discovering the meetings of `organizers` (TOML strings, quoted), at a fast rate;
/// `extra` goes after the `[fetch]` rate line.
fn discovery_job(dir: &Path, organizers: &[String], extra: &str) -> PathBuf {
    write_job(
        dir,
        "discover",
        &format!(
            "[api]\ncorpid_env = \"{CORPID_ENV}\"\nsecret_env = \"{SECRET_ENV}\"\n\
             [ids]\norganizers = [{}]\n[fetch]\nrate = 500\n{extra}",
            organizers.join(", ")
        ),
    )
}

/// `ids` over every day of the generated corpus `g`.
async fn ids_over_corpus(fake: &FakeHandle, g: &GenConfig, job: &Path) -> Output {
    let first = g.first_day;
    let last = first + chrono::Days::new(u64::from(g.days) - 1);
    run_async(api_cmd(
        fake,
        &[
            "ids",
            "--from",
            &first.to_string(),
            "--to",
            &last.to_string(),
        ],
        job,
    ))
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ids_discovers_every_page_of_every_organizer_without_duplicates() {
    let g = GenConfig {
        meetings: 500,
        attendees: 2,
        seed: 9,
        organizers: 3,
        ..GenConfig::default()
    };
    let all: Vec<_> = generate(&g).collect();
    let organizers: HashSet<String> = all.iter().map(|m| m.admin_userid.clone()).collect();
    let fake = serve(&g, FakeConfig::default()).await;
    let tmp = tempfile::tempdir().unwrap();
    let list: Vec<String> = organizers.iter().map(|o| format!("{o:?}")).collect();
    let job = discovery_job(tmp.path(), &list, "");
    let o = ids_over_corpus(&fake, &g, &job).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let printed: Vec<String> = stdout(&o).lines().map(String::from).collect();
    let unique: HashSet<_> = printed.iter().cloned().collect();
    assert_eq!(unique.len(), printed.len(), "no duplicates");
    let want: HashSet<String> = all.iter().map(|m| m.meetingid.clone()).collect();
    assert_eq!(unique, want);
    // 500 meetings over 3 organizers at 100 a page: at least 2 pages each.
    assert!(fake.stats().get_user_meetingid_calls >= 6);

    // A year is split into slices of at most 180 days: 3 slices per organizer.
    let before = fake.stats().get_user_meetingid_calls;
    let o = run_async(api_cmd(
        &fake,
        &["ids", "--from", "2025-01-01", "--to", "2025-12-31"],
        &job,
    ))
    .await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(fake.stats().get_user_meetingid_calls - before, 9);
    fake.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_organizer_whose_listing_fails_is_reported_and_the_others_are_still_listed() {
    let g = GenConfig {
        meetings: 60,
        attendees: 2,
        seed: 13,
        organizers: 3,
        ..GenConfig::default()
    };
    let all: Vec<_> = generate(&g).collect();
    let mut organizers: Vec<String> = all
        .iter()
        .map(|m| format!("{:?}", m.admin_userid))
        .collect();
    organizers.sort();
    organizers.dedup();
    // Someone who left the company: WeCom answers an unknown (per-call) errcode for them.
    // Sorted first, so the organizers after them must still be listed.
    organizers.push("\"a.gone\"".into());
    let fake = FakeWecom::new(FakeConfig::default())
        .with_generated(&g)
        .fail_always("a.gone", 60111)
        .start()
        .await
        .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let job = discovery_job(tmp.path(), &organizers, "max_attempts = 2\n");
    let o = ids_over_corpus(&fake, &g, &job).await;
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let printed: HashSet<String> = stdout(&o).lines().map(String::from).collect();
    let want: HashSet<String> = all.iter().map(|m| m.meetingid.clone()).collect();
    assert_eq!(printed, want);
    let err = stderr(&o);
    assert!(err.contains("a.gone") && err.contains("60111"), "{err}");
    fake.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_discovers_the_windows_meetings_when_the_job_has_organizers() {
    let g = corpus(30, 10);
    let all: Vec<_> = generate(&g).collect();
    let organizers: HashSet<String> = all.iter().map(|m| m.admin_userid.clone()).collect();
    let fake = serve(&g, FakeConfig::default()).await;
    let tmp = tempfile::tempdir().unwrap();
    let list: Vec<String> = organizers.iter().map(|o| format!("{o:?}")).collect();
    let job = discovery_job(
        tmp.path(),
        &list,
        &format!("[output]\ndir = {:?}\n", tmp.path().join("out")),
    );
    let day = g.first_day.to_string();
    let o = run_async(api_cmd(&fake, &["run", "--date", &day], &job)).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let on_day: HashSet<String> = all
        .iter()
        .filter(|m| {
            wecom_attendance::config::window::local_date(m.meeting_start, g.tz) == Some(g.first_day)
        })
        .map(|m| m.meetingid.clone())
        .collect();
    assert!(!on_day.is_empty());
    assert_eq!(meetings_written(&tmp.path().join("out")), on_day);
    // Exactly one get_info per discovered meeting.
    assert_eq!(fake.stats().get_info_calls as usize, on_day.len());
    fake.shutdown().await;
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
    let g = corpus(30, 12);
    let ids = ids_of(&g);
    // Timeouts, cut bodies and error pages make reqwest errors, whose Display has the URL.
    let fake = serve(
        &g,
        FakeConfig {
            fault_rate: 0.5,
            slow_delay: Duration::from_secs(2),
            seed: 3,
            ..FakeConfig::default()
        },
    )
    .await;
    let tmp = tempfile::tempdir().unwrap();
    let job = api_job(tmp.path(), &ids, "rate = 200\nmax_attempts = 2");
    let mut c = api_cmd(&fake, &["run"], &job);
    c.env("RUST_LOG", "trace");
    let o = run_async(c).await;
    assert!(matches!(o.status.code(), Some(0 | 2)), "{}", stderr(&o));
    assert!(fake.stats().faults_injected > 3);
    let tokens = fake.issued_tokens();
    assert!(!tokens.is_empty());
    let mut secrets: Vec<String> = tokens;
    secrets.push(DEFAULT_SECRET.to_string());
    let mut places = vec![
        ("stdout".to_string(), o.stdout.clone()),
        ("stderr".to_string(), o.stderr.clone()),
    ];
    places.extend(all_bytes(&tmp.path().join("out")));
    for (place, bytes) in &places {
        for s in &secrets {
            assert!(!contains(bytes, s), "{s:.6}… leaked into {place}");
        }
    }
    // The failure reasons are still useful without the URL.
    let err = stderr(&o);
    assert!(
        !err.contains("access_token=") || err.contains("access_token=***"),
        "{err}"
    );
    fake.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_killed_mid_fetch_resumes_fetching_only_what_is_missing() {
    let g = corpus(80, 13);
    let ids = ids_of(&g);
    let fake = serve(
        &g,
        FakeConfig {
            latency: Duration::from_millis(30),
            ..FakeConfig::default()
        },
    )
    .await;
    let tmp = tempfile::tempdir().unwrap();
    let job = api_job(tmp.path(), &ids, "rate = 25\nburst = 1\nconcurrency = 4");
    let mut child = api_cmd(&fake, &["run"], &job)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Kill it with SIGKILL once about a third is fetched.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while fake.stats().get_info_answered < 25 {
        assert!(
            std::time::Instant::now() < deadline,
            "the run never got going"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let first = fake.stats().get_info_calls;
    assert!(first < 80, "killed mid-fetch ({first} calls)");

    let o = run_async(api_cmd(&fake, &["run"], &job)).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let r = last_report(&tmp.path().join("out"));
    let reused = r["counts"]["reused_from_store"].as_u64().unwrap();
    let fetched = r["counts"]["fetched"].as_u64().unwrap();
    assert!(reused >= 10, "committed bodies survive the kill: {r}");
    assert_eq!(reused + fetched, 80);
    // Exactly one call per meeting the second run needed.
    assert_eq!(fake.stats().get_info_calls - first, fetched);
    assert_eq!(meetings_written(&tmp.path().join("out")).len(), 80);
    fake.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rerun_makes_no_get_info_call_for_meetings_stored_in_a_final_status() {
    let g = corpus(40, 14);
    let all: Vec<_> = generate(&g).collect();
    let ids: Vec<String> = all.iter().map(|m| m.meetingid.clone()).collect();
    let not_final = all
        .iter()
        .filter(|m| {
            let v: serde_json::Value = serde_json::from_str(&m.body).unwrap();
            !matches!(v["status"].as_i64(), Some(3..=5))
        })
        .count() as u64;
    let fake = serve(&g, FakeConfig::default()).await;
    let tmp = tempfile::tempdir().unwrap();
    let job = api_job(tmp.path(), &ids, "rate = 500");
    let o = run_async(api_cmd(&fake, &["run"], &job)).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(fake.stats().get_info_calls, 40);
    let o = run_async(api_cmd(&fake, &["run"], &job)).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(fake.stats().get_info_calls, 40 + not_final);
    let o = run_async(api_cmd(&fake, &["run", "--refetch"], &job)).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(fake.stats().get_info_calls, 80 + not_final);
    fake.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_secret_can_come_from_a_secret_file() {
    let fake = FakeWecom::new(FakeConfig::default()).start().await.unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let secret = tmp.path().join("secret");
    std::fs::write(&secret, format!("{DEFAULT_SECRET}\n")).unwrap();
    let job = write_job(
        tmp.path(),
        "file",
        &format!(
            "[api]\ncorpid_env = \"{CORPID_ENV}\"\nsecret_env = \"{SECRET_ENV}\"\nsecret_file = {secret:?}\n\
             [ids]\norganizers = [\"zhangsan\"]\n"
        ),
    );
    let mut c = api_cmd(&fake, &["check"], &job);
    c.env_remove(SECRET_ENV);
    let o = run_async(c).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("secret from api.secret_file"),
        "{}",
        stdout(&o)
    );
    assert!(!stdout(&o).contains(DEFAULT_SECRET));
    fake.shutdown().await;
}
