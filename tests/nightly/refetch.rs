//! A refetch never replaces a good answer with one the job cannot use, and text cut in half
//! (WeCom cuts titles at 60 bytes) is repaired, not refused.

use super::*;

/// The titles in the meetings table of `date`.
fn titles(out: &Path, date: &str) -> Vec<String> {
    column(&out.join(format!("meetings/dt={date}/part-0.csv")), "title")
}

/// A body of `body` whose title is `title`, as raw bytes (which may not be UTF-8).
fn titled(body: &str, title: &[u8]) -> Vec<u8> {
    let (before, after) = body.split_once("\"weekly\"").unwrap();
    [before.as_bytes(), b"\"", title, b"\"", after.as_bytes()].concat()
}

/// Night of the 18th: the evening meeting is stored in progress with one attendee. Next night
/// the lookback gets an ended answer with two attendees whose title is `cut`: the stored answer
/// and its rows stay, the fetch is a failure, and the meeting stays due for the next lookback.
fn a_cut_lookback_answer_keeps_the_stored_answer(cut: &[u8]) {
    let (tmp, job, out) = after_the_evening_in_progress();
    let dir = tmp.path();
    std::fs::write(
        dir.join("src/hyEvening.json"),
        titled(&evening_ended(), cut),
    )
    .unwrap();
    next_night(dir);
    for nth in 1..=2 {
        let o = night(&job, "2026-11-19");
        assert_eq!(o.status.code(), Some(2), "night {nth}: {}", stderr(&o));
        assert!(stderr(&o).contains("hyEvening"), "{}", stderr(&o));
        let r = last_report(&out);
        assert_eq!(failed_ids(&r), ["hyEvening"], "night {nth}");
        assert_eq!(r["counts"]["failed"], 1);
        assert_eq!(r["counts"]["lookback"], 1, "still due on night {nth}");
        assert_eq!(attendance_ids(&out, "2026-11-18"), ["zhangsan"]);
        assert_eq!(titles(&out, "2026-11-18"), ["weekly"]);
        assert_eq!(attendance_ids(&out, "2026-11-19"), ["wangwu"]);
    }
}

#[test]
fn a_lookback_answer_with_a_lone_surrogate_in_its_title_keeps_the_stored_answer_and_its_rows() {
    a_cut_lookback_answer_keeps_the_stored_answer(br"Weekly \ud83d");
}

#[test]
fn a_lookback_answer_with_an_invalid_utf8_byte_keeps_the_stored_answer_and_its_rows() {
    // 会 is E4 BC 9A: cut after two of its bytes.
    a_cut_lookback_answer_keeps_the_stored_answer(b"Weekly \xE4\xBC");
}

/// The night of the 18th with one ended meeting, hyCut, whose title is `title`: the folder
/// (kept while the test runs), the job and its output folder after the night, which succeeded.
fn a_first_answer_titled(title: &[u8]) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let job = folder_job(dir);
    let out = dir.join("out");
    let ended = body(D18, 3, &[member("zhangsan", 1, D18, D18 + 3600)]);
    std::fs::write(dir.join("src/hyCut.json"), titled(&ended, title)).unwrap();
    ids(dir, &["hyCut"]);
    let o = night(&job, "2026-11-18");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    (tmp, job, out)
}

#[test]
fn a_first_answer_with_a_cut_character_is_written_with_a_replacement_character_and_counted() {
    let (_tmp, job, out) = a_first_answer_titled(br"Weekly \ud83d");
    let r = last_report(&out);
    assert_eq!(r["quality"]["text_repaired"], 1);
    assert_eq!(r["counts"]["fetched"], 1);
    assert_eq!(attendance_ids(&out, "2026-11-18"), ["zhangsan"]);
    assert_eq!(titles(&out, "2026-11-18"), ["Weekly \u{fffd}"]);
    // The store keeps the answer verbatim; a rerun reuses it (it is final) and repairs it again.
    let o = night(&job, "2026-11-18");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let r = last_report(&out);
    assert_eq!(r["counts"]["reused_from_store"], 1);
    assert_eq!(r["quality"]["text_repaired"], 1);
}

#[test]
fn a_first_answer_with_an_invalid_utf8_byte_is_written_with_a_replacement_character() {
    let (_tmp, _job, out) = a_first_answer_titled(b"Weekly \xE4\xBC");
    assert_eq!(last_report(&out)["quality"]["text_repaired"], 1);
    assert_eq!(titles(&out, "2026-11-18"), ["Weekly \u{fffd}"]);
}
