//! A run stopped by a fatal error tells the truth: what it stored before the stop is counted
//! as fetched, and the meetings it never got to are counted as not tried.

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_stopped_by_a_fatal_errcode_counts_what_it_stored_and_what_it_never_tried() {
    let g = corpus(12, 19);
    let ids = ids_of(&g);
    // The tenth meeting's answer says the app may not call the API (48002): fatal.
    let s = Scenario::serving(&g)
        .fail_always(&ids[9], 48002)
        .api_job("concurrency = 1")
        .start()
        .await;
    let o = s.run(&["run"]).await;
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let store =
        wecom_attendance::fetch::store::Store::open_existing(&s.out().join("_store/raw.sqlite"))
            .unwrap();
    let stored = ids
        .iter()
        .filter(|id| store.body(id).unwrap().is_some())
        .count();
    assert!(
        stored > 0,
        "the meetings before the fatal answer are stored"
    );
    let r = s.report();
    assert!(r["fatal"].as_str().unwrap().contains("48002"), "{r}");
    assert_eq!(r["counts"]["fetched"], stored);
    let not_tried = r["counts"]["not_tried"].as_u64().unwrap() as usize;
    assert_eq!(stored + not_tried, ids.len(), "{r}");
    assert_eq!(r["counts"]["failed"], 0);
    let err = stderr(&o);
    assert!(
        err.contains(&format!("{stored} fetched"))
            && err.contains(&format!("{not_tried} not tried")),
        "{err}"
    );
    s.shutdown().await;
}
