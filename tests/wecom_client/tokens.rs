//! Early token invalidation against the fake: WeCom may invalidate a token long before
//! `expires_in` and hands back the same token from gettoken while it is valid. A token a call
//! succeeded with is refreshed when rejected, never fatal; a rejection of a request sent with an
//! older token does not count against the current one.

use crate::common::*;
use std::time::Duration;
use wecom_fake::generate::GenConfig;

/// [`corpus`] with 2 attendees a meeting: these tests are about calls, not rows.
fn light(meetings: usize, seed: u64) -> GenConfig {
    GenConfig {
        attendees: 2,
        ..corpus(meetings, seed)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_whose_tokens_expire_every_100_calls_finishes_with_every_meeting() {
    let s = Scenario::serving(&light(450, 31))
        .fake(|f| f.token_every = Some(100))
        .api_job("rate = 500\nburst = 20\nconcurrency = 8")
        .start()
        .await;
    s.run_ok(&["fetch"]).await;
    let r = s.report();
    assert_eq!(r["counts"]["fetched"], 450);
    // One token per 100 calls served, shared by the requests in flight when it died.
    let stats = s.fake.stats();
    assert_eq!(stats.gettoken_calls, 5, "{stats:?}");
    assert_eq!(r["counts"]["token_refreshes"], 4);
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replacement_token_that_served_500_calls_and_is_then_invalidated_does_not_stop_the_run() {
    // The first token is invalidated after 500 calls; its replacement serves 500 more within
    // the minute, and is invalidated in turn.
    let s = Scenario::serving(&light(1_050, 32))
        .fake(|f| f.token_every = Some(500))
        .api_job("rate = 1000\nburst = 50\nconcurrency = 8")
        .start()
        .await;
    let o = s.run_ok(&["fetch"]).await;
    assert!(!stderr(&o).contains("base URL"), "{}", stderr(&o));
    assert_eq!(s.report()["counts"]["fetched"], 1_050);
    assert_eq!(s.fake.stats().gettoken_calls, 3);
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gettoken_returning_the_same_token_after_a_burst_of_rejections_in_flight_is_not_fatal() {
    let s = Scenario::serving(&light(60, 33))
        .fake(|f| {
            f.same_token_while_valid = true;
            f.latency = Duration::from_millis(300);
        })
        .api_job("rate = 40\nburst = 8\nconcurrency = 8")
        .start()
        .await;
    let child = s.spawn(&["fetch"]);
    // Once the token served calls, every request in flight (at least 2) is rejected at once.
    let burst = loop {
        tokio::time::sleep(Duration::from_millis(20)).await;
        if s.fake.stats().get_info_answered >= 3 {
            let n = s.fake.reject_in_flight();
            if n >= 2 {
                break n;
            }
        }
    };
    let o = child.await.unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(s.report()["counts"]["fetched"], 60);
    let stats = s.fake.stats();
    assert!(stats.token_errors >= burst, "{stats:?}");
    // One refresh for the whole burst, and it handed back the very same token.
    assert_eq!(stats.gettoken_calls, 2, "{stats:?}");
    assert_eq!(s.fake.issued_tokens().len(), 1);
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_meeting_whose_every_answer_is_40014_fails_alone_and_the_run_goes_on() {
    let g = light(30, 34);
    let ids = ids_of(&g);
    let s = Scenario::serving(&g)
        .fail_always(&ids[10], 40014)
        .api_job("rate = 100\nconcurrency = 4")
        .start()
        .await;
    let o = s.run(&["fetch"]).await;
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let r = s.report();
    assert_eq!(failed_ids(&r), vec![ids[10].clone()]);
    assert_eq!(r["counts"]["fetched"], 29);
    // Its three rejections cost at most three refreshes, not one per retry without end.
    assert_eq!(s.fake.get_info_calls_for(&ids[10]), 3);
    assert!(s.fake.stats().gettoken_calls <= 4, "{:?}", s.fake.stats());
    s.shutdown().await;
}
