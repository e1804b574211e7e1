//! WeCom's minute and hour quotas against the fake server, which enforces them per API with
//! WeCom's block semantics on a scaled clock (`quota_clock_scale`), the job's windows scaled
//! alike (`fetch.quota_window_scale`): a run within its budgets is never refused, a run that
//! finds an API blocked (the company's other apps used the hour) waits the block out and loses
//! nothing. The bounds on time are structural (a budget's worth per window at most); the
//! speed against the budgets is measured by `bench/run.py --quotas`.

use crate::common::{Scenario, stderr};
use std::time::{Duration, Instant};

const GET_INFO: &str = "/cgi-bin/meeting/get_info";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_minute_budgets_of_meetings_take_about_three_windows_and_never_a_45009() {
    // A "minute" of 1.2 s; the job's budget is the whole server quota, so one call too many
    // in any window, bursts included, would be refused.
    let (scale, budget) = (0.02, 40);
    let minute = Duration::from_secs(60).mul_f64(scale);
    let s = Scenario::meetings(3 * budget, 31)
        .fake(|f| {
            f.quota_per_minute = Some(budget as u32);
            f.quota_clock_scale = scale;
            f.latency = Duration::from_millis(5);
        })
        .api_job(&format!(
            "rate = 150\nburst = 50\nconcurrency = 8\nper_minute = {budget}\n\
             quota_window_scale = {scale}"
        ))
        .start()
        .await;
    let t0 = Instant::now();
    let o = s.run_ok(&["fetch"]).await;
    let took = t0.elapsed();
    let stats = s.fake.stats();
    assert_eq!(stats.throttled_45009, 0, "{stats:?}");
    assert_eq!(stats.get_info_calls as usize, 3 * budget);
    assert_eq!(stats.busiest_minute[GET_INFO], budget as u64, "{stats:?}");
    assert_eq!(s.report()["counts"]["fetched"], 3 * budget);
    // Three budgets need at least two full windows after the first; "about three".
    assert!(took >= minute * 2, "{took:?}");
    assert!(took < minute * 10, "{took:?}");
    // The log gives the estimate up front: two windows at least.
    let log = stderr(&o);
    let eta = log
        .lines()
        .find_map(|l| l.split(" eta=").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no eta in the log:\n{log}"));
    let secs: f64 = eta.trim_end_matches('s').parse().unwrap();
    assert!(secs >= minute.as_secs_f64() * 2.0 - 0.2, "{eta}");
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tripped_hour_quota_pauses_the_run_which_resumes_and_loses_nothing() {
    // The company's other apps left 30 calls of this "hour" (7.2 s); the job's own budget is
    // larger, so it trips the block and must wait it out.
    let scale = 0.002;
    let hour = Duration::from_secs(3600).mul_f64(scale);
    let s = Scenario::meetings(50, 32)
        .fake(|f| {
            f.quota_per_hour = Some(30);
            f.quota_clock_scale = scale;
        })
        .api_job(&format!(
            "rate = 100\nconcurrency = 4\nquota_window_scale = {scale}"
        ))
        .start()
        .await;
    let t0 = Instant::now();
    let o = s.run_ok(&["fetch"]).await;
    let took = t0.elapsed();
    let stats = s.fake.stats();
    let r = s.report();
    assert_eq!(r["counts"]["fetched"], 50, "{r}");
    assert_eq!(r["failures"].as_array().map(Vec::len), Some(0), "{r}");
    assert_eq!(stats.get_info_answered, 50, "{stats:?}");
    assert_eq!(stats.quota_blocks_hour, 1, "{stats:?}");
    // Waited out the block: no hammering (the calls in flight when it began, then one probe
    // per step: the short pause, the minute, the hour).
    assert!(stats.throttled_45009 <= 4 + 3, "{stats:?}");
    assert!(took >= hour, "{took:?}");
    assert!(
        stderr(&o).contains("waiting out the rest of the hour-quota block"),
        "{}",
        stderr(&o)
    );
    s.shutdown().await;
}
