//! The fetch scheduler: ids → (skip what the store already holds in final form) → bodies from
//! the source, many in flight (the API client paces them) → the store, in short batches; then
//! the same for the due occurrences of recurring meetings, one get_info call each (with
//! `sub_meetingid`), once the heads fetched first have recorded what they list.
//!
//! Each outcome is recorded: a body (with its status and start, or the reason it could not be
//! parsed — kept verbatim either way), or a per-meeting failure with its errcode. An answer the
//! job cannot use never replaces a stored one it can: that fetch is a failure ([`judge`]). A fatal error
//! (bad credentials, forbidden API) stops the run after saving what was already fetched.

use crate::config::server_text;
use crate::domain::{MeetingFailure, PLAUSIBLE_TIMES, plausible_time};
use crate::fetch::occurrences::{Listed, OccurrenceKey, OccurrenceSpan, SeriesRecord};
use crate::fetch::source::Source;
use crate::fetch::store::{Record, Store};
use crate::wecom::client::CallError;
use crate::wecom::model::{MeetingHead, SeriesInfo};
use crate::wecom::repair;
use anyhow::Result;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::task::JoinSet;

/// Outcomes written to the store per transaction, at most.
const BATCH: usize = 64;
/// Longest time an outcome waits in memory before it is committed.
const FLUSH_EVERY: Duration = Duration::from_millis(500);
/// How often a long fetch logs its progress and estimated time left.
const LOG_PROGRESS_EVERY: Duration = Duration::from_secs(60);

#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct FetchOutcome {
    pub requested: usize,
    pub fetched: usize,
    pub reused_from_store: usize,
    /// Meetings not fetched because they were given up (see `fetch.give_up_after`).
    pub given_up: usize,
    /// Meetings that got no usable body this run: refused, given up, or unparsable.
    pub failures: Vec<MeetingFailure>,
    /// Of `fetched`, occurrences of recurring meetings.
    pub occurrences_fetched: usize,
    /// Of `reused_from_store`, occurrences of recurring meetings.
    pub occurrences_reused: usize,
    /// Meetings (and occurrences) left without an outcome because a fatal error stopped the
    /// fetch: never asked, in flight at that moment, or the one whose answer stopped it.
    pub not_tried: usize,
    /// The fatal error that stopped the fetch, if one did; everything counted above is stored.
    #[serde(skip)]
    pub stopped: Option<CallError>,
}

/// A fetched answer judged: the record to store, its failure, and whether its text had to be
/// repaired to be read.
struct Judged {
    record: Record,
    failure: Option<MeetingFailure>,
    text_repaired: bool,
}

/// Judges a fetched body as the transform will read it. A body that replaces no stored answer
/// is filed by its head alone when the head reads (the common case: no work added; a body whose
/// text is cut is filed so too, and the transform repairs it when it reads it). A body whose
/// head does not read, or one that would replace a usable stored answer (`replaces`: a
/// lookback, `--refetch`, a folder read again), is read in full, repaired if it must be
/// ([`read_in_full`]): a body the transform refuses is then never filed as a meeting (nor
/// final), and never replaces a stored answer — its fetch fails and the stored answer stays.
/// The body is stored verbatim either way; it is repaired again when read.
fn judge(meetingid: &str, body: Vec<u8>, replaces: bool) -> Judged {
    let (record, failure, text_repaired) = if replaces {
        read_in_full(meetingid, body)
    } else {
        let (record, failure) = record_for(meetingid, body, None);
        // A head that does not read may only need its text repaired (or a key given once).
        let fixed = match &record {
            Record::Body {
                body,
                parse_error: Some(_),
                ..
            } => repair::repair(body),
            _ => None,
        };
        match (fixed, record) {
            (Some(fixed), Record::Body { body, .. }) => {
                let (record, failure) = record_for(meetingid, body, Some(&fixed.body));
                (record, failure, fixed.repairs.text)
            }
            (_, record) => (record, failure, false),
        }
    };
    let (record, failure) = match (record, failure) {
        // An unusable answer never replaces a usable one: the fetch failed, the old body stays.
        (Record::Body { .. }, Some(mut f)) if replaces => {
            f.reason.push_str("; the stored answer is kept");
            (Record::Failure(f.clone()), Some(f))
        }
        other => other,
    };
    Judged {
        record,
        failure,
        text_repaired,
    }
}

/// Files a body as the transform reads it: by the typed parse of the whole body, repaired
/// (text cut in half, a key given twice) when it must be. Its record, failure, and whether its
/// text was repaired.
fn read_in_full(meetingid: &str, body: Vec<u8>) -> (Record, Option<MeetingFailure>, bool) {
    match repair::typed_parse(&body)
        .map(|()| None)
        .or_else(|refused| repair::repair(&body).map(Some).ok_or(refused))
    {
        Ok(None) => {
            let (record, failure) = record_for(meetingid, body, None);
            (record, failure, false)
        }
        Ok(Some(fixed)) => {
            let (record, failure) = record_for(meetingid, body, Some(&fixed.body));
            (record, failure, fixed.repairs.text)
        }
        Err(refused) => {
            let reason = format!("body is not a get_info answer: {refused}");
            let (record, failure) = kept_unusable(meetingid, body, None, reason);
            (record, failure, false)
        }
    }
}

/// A repaired answer does not replace a stored answer whose text was sound (the old one is
/// better, even if older): its fetch fails and the meeting stays as stored, due again while it
/// is not final. It does replace a stored answer that needed repair too (WeCom cuts the same
/// title the same way every time).
fn keep_sound_answer(
    store: &Store,
    target: &Target,
    judged: Judged,
    replaces: bool,
) -> Result<Judged> {
    if !(judged.text_repaired && replaces && judged.failure.is_none()) {
        return Ok(judged);
    }
    let (meetingid, stored) = match target {
        Target::Meeting(id) => (id.as_str(), store.body(id)?),
        Target::Occurrence(k) => (k.meetingid.as_str(), store.occurrence_body(k)?),
    };
    let stored_sound = stored.is_some_and(|old| repair::text_is_sound(&old));
    if !stored_sound {
        return Ok(judged);
    }
    let f = MeetingFailure {
        meetingid: meetingid.to_string(),
        sub_meetingid: None,
        errcode: None,
        reason: "the answer's text is cut (invalid UTF-8 or a lone surrogate); the stored answer, \
                 whose text is whole, is kept"
            .into(),
    };
    Ok(Judged {
        record: Record::Failure(f.clone()),
        failure: Some(f),
        text_repaired: true,
    })
}

/// Turns a fetched body into its store record, reading only its head (of `read`, the body
/// repaired, when it had to be): an answer carrying a non-zero errcode is a failure; a body that
/// is not JSON, or cannot be a meeting, is kept verbatim with its reason and is a failure too.
fn record_for(
    meetingid: &str,
    body: Vec<u8>,
    read: Option<&[u8]>,
) -> (Record, Option<MeetingFailure>) {
    let head = match MeetingHead::parse(read.unwrap_or(&body)) {
        Ok(head) => head,
        Err(e) => {
            return kept_unusable(
                meetingid,
                body,
                None,
                format!(
                    "body is not a get_info answer: {}",
                    server_text::parse_error(&e.to_string())
                ),
            );
        }
    };
    let unusable = match head.start() {
        _ if !head.describes_a_meeting() => Some("the answer names no field of a meeting".into()),
        Some(t) if !plausible_time(t) => Some(format!(
            "meeting_start {t} is outside {}..{} (unix seconds of 2000-01-01 and 2100-01-01)",
            PLAUSIBLE_TIMES.start, PLAUSIBLE_TIMES.end
        )),
        _ => None,
    };
    if let (Some(0) | None, Some(why)) = (head.errcode, unusable) {
        let reason = format!("body is not a usable get_info answer: {why}");
        return kept_unusable(meetingid, body, head.status, reason);
    }
    match head.errcode {
        Some(0) | None => (
            Record::Body {
                meetingid: meetingid.to_string(),
                status: head.status,
                meeting_start: head.start(),
                body,
                packed: None,
                parse_error: None,
            },
            None,
        ),
        Some(code) => {
            let f = MeetingFailure {
                meetingid: meetingid.to_string(),
                sub_meetingid: None,
                errcode: Some(code),
                reason: format!(
                    "answer carries errcode {code}{}",
                    head.errmsg
                        .as_deref()
                        .and_then(server_text::errmsg)
                        .map(|m| format!(" ({})", crate::wecom::http::scrub(m)))
                        .unwrap_or_default()
                ),
            };
            (Record::Failure(f.clone()), Some(f))
        }
    }
}

/// A body kept verbatim (nothing WeCom sent is lost) but marked unusable, and its failure.
fn kept_unusable(
    meetingid: &str,
    body: Vec<u8>,
    status: Option<i64>,
    reason: String,
) -> (Record, Option<MeetingFailure>) {
    let failure = MeetingFailure {
        meetingid: meetingid.to_string(),
        sub_meetingid: None,
        errcode: None,
        reason: reason.clone(),
    };
    let record = Record::Body {
        meetingid: meetingid.to_string(),
        body,
        packed: None,
        status,
        meeting_start: None,
        parse_error: Some(reason),
    };
    (record, Some(failure))
}

/// Fetches `ids` into `store`, then the occurrences of recurring meetings that are due: every
/// listed, not deleted occurrence scheduled in `occurrences` (every one known for `None`), as
/// the store's registry holds it once the heads fetched now are recorded. `in_flight` bounds
/// how many tasks exist at once (the API client separately bounds requests on the wire). A
/// fatal error stops the fetch after storing every outcome received: it is returned in
/// [`FetchOutcome::stopped`], beside the counts so far.
pub async fn fetch(
    source: Arc<Source>,
    store: &mut Store,
    ids: &[String],
    occurrences: Option<OccurrenceSpan>,
    refetch: bool,
    give_up_after: u32,
    in_flight: usize,
) -> Result<FetchOutcome> {
    let mut out = FetchOutcome {
        requested: ids.len(),
        ..Default::default()
    };
    let todo = to_fetch(store, ids, refetch, give_up_after, &mut out)?;
    // Meetings whose usable stored answer a new one would replace: judged in full.
    let stored = store.usable_ids(&todo)?;
    // The occurrences known now: the plan's estimate until the heads are fetched.
    let known = store.due_occurrences(occurrences, refetch, give_up_after)?;
    let total = todo.len() + known.todo.len();
    let eta = source.eta(total);
    tracing::info!(
        requested = ids.len(),
        reused = out.reused_from_store,
        to_fetch = total,
        occurrences = known.todo.len(),
        source = source.label(),
        eta = eta.map(|d| tracing::field::display(eta_text(d))),
        "fetching"
    );
    let mut progress = Progress {
        bar: progress_bar(total as u64, eta),
        total,
        done: 0,
        logged: Instant::now(),
    };
    let meetings = todo
        .into_iter()
        .map(|id| {
            let replaces = stored.contains(&id);
            (Target::Meeting(id), replaces)
        })
        .collect();
    let mut fatal =
        fetch_targets(&source, store, meetings, in_flight, &mut progress, &mut out).await?;
    if fatal.is_none() {
        let due = store.due_occurrences(occurrences, refetch, give_up_after)?;
        out.occurrences_reused = due.reused;
        out.reused_from_store += due.reused;
        out.given_up += due.given_up;
        progress.total = progress.done + due.todo.len();
        progress.bar.set_length(progress.total as u64);
        if !due.todo.is_empty() {
            tracing::info!(
                occurrences = due.todo.len(),
                "fetching the occurrences of recurring meetings"
            );
        }
        let targets = due
            .todo
            .into_iter()
            .map(|o| (Target::Occurrence(o.key), o.stored))
            .collect();
        fatal = fetch_targets(&source, store, targets, in_flight, &mut progress, &mut out).await?;
    }
    progress.bar.finish_and_clear();
    if fatal.is_some() {
        // The call whose answer was fatal is among `done`, but nothing of it is known.
        out.not_tried = progress.total.saturating_sub(progress.done) + 1;
        out.stopped = fatal;
    }
    out.failures
        .sort_by(|a, b| (&a.meetingid, &a.sub_meetingid).cmp(&(&b.meetingid, &b.sub_meetingid)));
    Ok(out)
}

/// The bar and the counts of a fetch's calls, across its phases.
struct Progress {
    bar: ProgressBar,
    total: usize,
    done: usize,
    logged: Instant,
}

/// One get_info call: a meeting (a one-off meeting or a series' head) or an occurrence.
#[derive(Debug, Clone)]
enum Target {
    Meeting(String),
    Occurrence(OccurrenceKey),
}

impl Target {
    /// The `meetingid` and `sub_meetingid` to ask for.
    fn ids(&self) -> (&str, Option<&str>) {
        match self {
            Target::Meeting(id) => (id, None),
            Target::Occurrence(k) => (&k.meetingid, Some(&k.sub_meetingid)),
        }
    }
}

/// The outcome of one call: records to store and the failure, if any.
type Filed = (Vec<Record>, Option<MeetingFailure>);

/// Asks the source for `targets`, many in flight, and stores the outcomes in short batches;
/// gives back the fatal error that stopped it, if one did (after saving what was fetched).
async fn fetch_targets(
    source: &Arc<Source>,
    store: &mut Store,
    targets: Vec<(Target, bool)>,
    in_flight: usize,
    progress: &mut Progress,
    out: &mut FetchOutcome,
) -> Result<Option<CallError>> {
    // A folder's next files are asked of the disk while the current ones are judged.
    let read_ahead = source.read_ahead(targets.iter().map(|(t, _)| t.ids()));
    let mut pending = targets.into_iter();
    let mut tasks = JoinSet::new();
    let spawn = |tasks: &mut JoinSet<_>, (target, replaces): (Target, bool)| {
        if let Some(r) = &read_ahead {
            r.taken();
        }
        let source = source.clone();
        tasks.spawn(async move {
            // Judging here spreads the reading over the runtime's worker threads.
            let (meetingid, sub) = target.ids();
            let r = source.get_info(meetingid, sub).await.map(|body| {
                let listing = listing_of(meetingid, &body, sub.is_none());
                let mut judged = judge(meetingid, body, replaces);
                // A meeting's body is packed here too (an occurrence's goes to its own table,
                // which packs it). Should packing fail, the store packs it and says why.
                if sub.is_none() {
                    let _ = judged.record.pack_body();
                }
                (judged, listing)
            });
            (target, r, replaces)
        });
    };
    for target in pending.by_ref().take(in_flight.max(1)) {
        spawn(&mut tasks, target);
    }

    let mut batch = Batch::default();
    let mut fatal: Option<CallError> = None;
    loop {
        let next = match batch.due_in() {
            None => tasks.join_next().await,
            Some(wait) => match tokio::time::timeout(wait, tasks.join_next()).await {
                Ok(n) => n,
                Err(_) => {
                    batch.flush(store)?;
                    continue;
                }
            },
        };
        let Some(joined) = next else { break };
        let (target, result, replaces) = joined?;
        progress.bar.inc(1);
        progress.done += 1;
        if let Some(eta) = source.eta(progress.total.saturating_sub(progress.done)) {
            progress.bar.set_message(eta_text(eta));
            if progress.logged.elapsed() >= LOG_PROGRESS_EVERY {
                progress.logged = Instant::now();
                tracing::info!(done = progress.done, to_fetch = progress.total, eta = %eta_text(eta), "fetching");
            }
        }
        let result = match result {
            Ok((judged, listing)) => {
                let judged = keep_sound_answer(store, &target, judged, replaces)?;
                Ok(filed(&target, judged, listing))
            }
            Err(e) => Err(e),
        };
        match file_outcome(target, result, out) {
            Ok(records) => {
                for record in records {
                    batch.push(record, store)?;
                }
            }
            Err(e) => {
                fatal = Some(e);
                tasks.abort_all();
                break;
            }
        }
        if let Some(target) = pending.next() {
            spawn(&mut tasks, target);
        }
    }
    batch.flush(store)?;
    Ok(fatal)
}

/// The records of one judged answer. A meeting's: its record (see [`judge`]), and when it is a
/// usable series' head that lists occurrences, that listing. An occurrence's: its body or
/// failure under the pair, and the listing its answer repeats.
fn filed(target: &Target, judged: Judged, listing: Option<SeriesRecord>) -> Filed {
    let Judged {
        record, failure, ..
    } = judged;
    let listing = listing.filter(|_| failure.is_none()).map(Record::Series);
    let Target::Occurrence(key) = target else {
        return (std::iter::once(record).chain(listing).collect(), failure);
    };
    let failure = failure.map(|f| MeetingFailure {
        sub_meetingid: Some(key.sub_meetingid.clone()),
        ..f
    });
    let record = match (record, &failure) {
        (
            Record::Body {
                body,
                status,
                meeting_start,
                parse_error,
                ..
            },
            _,
        ) => SeriesRecord::Body {
            meetingid: key.meetingid.clone(),
            sub_meetingid: key.sub_meetingid.clone(),
            body,
            status,
            meeting_start,
            parse_error,
        },
        (_, Some(f)) => SeriesRecord::Failure(f.clone()),
        (other, None) => return (vec![other], None),
    };
    (
        std::iter::once(Record::Series(record))
            .chain(listing)
            .collect(),
        failure,
    )
}

/// The occurrences a series' answer lists, when the body is one: a one-off body is only
/// scanned for the word `sub_meeting` (SIMD, a microsecond for a large body), never parsed
/// twice.
fn listing_of(meetingid: &str, body: &[u8], head: bool) -> Option<SeriesRecord> {
    const MARK: &[u8] = b"sub_meeting";
    memchr::memmem::find(body, MARK)?;
    let info = SeriesInfo::parse(body).ok()?;
    info.lists_occurrences().then(|| SeriesRecord::Listing {
        meetingid: meetingid.to_string(),
        head,
        occurrences: Listed::from_answer(&info),
    })
}

/// Of `ids`, those to ask the source for: all of them with `refetch`, else those not stored
/// in a final status and not given up. Counts the others as reused or given up.
fn to_fetch(
    store: &Store,
    ids: &[String],
    refetch: bool,
    give_up_after: u32,
    out: &mut FetchOutcome,
) -> Result<Vec<String>> {
    let (reusable, given_up) = if refetch {
        Default::default()
    } else {
        (
            store.final_ids(ids)?,
            store.given_up_ids(ids, give_up_after)?,
        )
    };
    out.reused_from_store = reusable.len();
    out.given_up = given_up.len();
    Ok(ids
        .iter()
        .filter(|id| !reusable.contains(*id) && !given_up.contains(*id))
        .cloned()
        .collect())
}

/// Counts one call's outcome and turns it into the records to store; a fatal error is passed
/// back to stop the run.
fn file_outcome(
    target: Target,
    result: Result<Filed, CallError>,
    out: &mut FetchOutcome,
) -> Result<Vec<Record>, CallError> {
    match result {
        Ok((records, failure)) => {
            match failure {
                Some(f) => {
                    tracing::warn!(meetingid = %f.meetingid, sub_meetingid = f.sub_meetingid, errcode = f.errcode, reason = %f.reason, "meeting failed");
                    out.failures.push(f);
                }
                None => {
                    out.fetched += 1;
                    if matches!(target, Target::Occurrence(_)) {
                        out.occurrences_fetched += 1;
                    }
                }
            }
            Ok(records)
        }
        Err(CallError::PerMeeting { errcode, message }) => {
            let (meetingid, sub_meetingid) = match target {
                Target::Meeting(id) => (id, None),
                Target::Occurrence(k) => (k.meetingid, Some(k.sub_meetingid)),
            };
            tracing::warn!(meetingid = %meetingid, sub_meetingid, errcode, reason = %message, "meeting failed");
            let f = MeetingFailure {
                meetingid,
                sub_meetingid,
                errcode,
                reason: message,
            };
            out.failures.push(f.clone());
            Ok(vec![match f.sub_meetingid {
                Some(_) => Record::Series(SeriesRecord::Failure(f)),
                None => Record::Failure(f),
            }])
        }
        Err(e @ CallError::Fatal { .. }) => Err(e),
    }
}

/// Outcomes waiting to be committed: written when [`BATCH`] are waiting or the oldest has
/// waited [`FLUSH_EVERY`], so a killed run loses at most that much work.
#[derive(Default)]
struct Batch {
    records: Vec<Record>,
    oldest: Option<Instant>,
}

impl Batch {
    fn push(&mut self, record: Record, store: &mut Store) -> Result<()> {
        self.records.push(record);
        self.oldest.get_or_insert_with(Instant::now);
        if self.records.len() >= BATCH {
            self.flush(store)?;
        }
        Ok(())
    }

    /// How long until the waiting outcomes are due; `None` when nothing waits.
    fn due_in(&self) -> Option<Duration> {
        self.oldest.map(|t| FLUSH_EVERY.saturating_sub(t.elapsed()))
    }

    fn flush(&mut self, store: &mut Store) -> Result<()> {
        store.put(&self.records)?;
        self.records.clear();
        self.oldest = None;
        Ok(())
    }
}

/// The bar of a fetch. Against the API its ETA (`eta`, then updated per meeting) counts the
/// minute and hour budgets, which can hold a backfill for hours: a rate measured over the last
/// seconds would not know; a folder's bar uses indicatif's own estimate.
fn progress_bar(len: u64, eta: Option<Duration>) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    let template = match eta {
        Some(_) => {
            "{spinner} fetching {pos}/{len} meetings [{elapsed_precise}] {wide_bar} eta {msg}"
        }
        None => "{spinner} fetching {pos}/{len} meetings [{elapsed_precise}] {wide_bar} eta {eta}",
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    if let Some(eta) = eta {
        bar.set_message(eta_text(eta));
    }
    bar
}

/// An estimate for people, rounded up: `2.4s` under a minute, `3m20s` under an hour, `2h05m`
/// beyond.
fn eta_text(d: Duration) -> String {
    const MINUTE: u64 = 60;
    const HOUR: u64 = 60 * MINUTE;
    let tenths = d.as_millis().div_ceil(100);
    if tenths < u128::from(MINUTE * 10) {
        return format!("{}.{}s", tenths / 10, tenths % 10);
    }
    let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    if secs < HOUR {
        format!("{}m{:02}s", secs / MINUTE, secs % MINUTE)
    } else {
        let minutes = secs.div_ceil(MINUTE);
        format!(
            "{}h{:02}m",
            minutes / (HOUR / MINUTE),
            minutes % (HOUR / MINUTE)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_estimate_reads_as_a_duration_rounded_up() {
        let ms = Duration::from_millis;
        assert_eq!(eta_text(ms(0)), "0.0s");
        assert_eq!(eta_text(ms(2_345)), "2.4s");
        assert_eq!(eta_text(ms(59_950)), "1m00s");
        assert_eq!(eta_text(ms(200_000)), "3m20s");
        assert_eq!(eta_text(ms(200_001)), "3m21s");
        assert_eq!(eta_text(ms(3_599_500)), "1h00m");
        assert_eq!(eta_text(ms(7_500_000)), "2h05m");
    }

    #[test]
    fn a_first_answer_whose_head_needs_its_text_repaired_is_filed_verbatim_as_a_meeting() {
        let body =
            br#"{"errcode":0,"errmsg":"ok\ud83d","title":"t","meeting_start":1700000000,"status":3}"#;
        let j = judge("m", body.to_vec(), false);
        assert!(j.failure.is_none() && j.text_repaired);
        let Record::Body {
            body: kept,
            status,
            parse_error,
            ..
        } = j.record
        else {
            panic!("a body");
        };
        assert_eq!(
            (kept.as_slice(), status, parse_error),
            (&body[..], Some(3), None)
        );
    }

    #[test]
    fn an_unusable_answer_that_would_replace_a_stored_one_is_a_failure_only() {
        for body in [
            &b"<html>502</html>"[..],
            br#"{"status":3,"attendees":{"member":5}}"#,
        ] {
            let j = judge("m", body.to_vec(), true);
            assert!(matches!(j.record, Record::Failure(_)));
            let reason = j.failure.unwrap().reason;
            assert!(reason.ends_with("the stored answer is kept"), "{reason}");
        }
    }
}
