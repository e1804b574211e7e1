//! The fetch scheduler: ids → (skip what the store already holds in final form) → bodies from
//! the source, many in flight (the API client paces them) → the store, in short batches.
//!
//! Each outcome is recorded: a body (with its status and start, or the reason it could not be
//! parsed — kept verbatim either way), or a per-meeting failure with its errcode. An answer the
//! job cannot use never replaces a stored one it can: that fetch is a failure ([`judge`]). A fatal error
//! (bad credentials, forbidden API) stops the run after saving what was already fetched.

use crate::config::server_text;
use crate::domain::{MeetingFailure, PLAUSIBLE_TIMES, plausible_time};
use crate::fetch::source::Source;
use crate::fetch::store::{Record, Store};
use crate::wecom::client::CallError;
use crate::wecom::model::MeetingHead;
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
}

/// A fetched answer judged: the record to store, its failure, and whether its text had to be
/// repaired to be read.
struct Judged {
    record: Record,
    failure: Option<MeetingFailure>,
    text_repaired: bool,
}

/// Judges a fetched body as the transform will read it. A body whose text is sound and that
/// replaces no stored answer is filed by its head alone (the common case: one cheap text scan
/// more). A body with cut text (invalid UTF-8, a lone surrogate), or one that would replace a
/// usable stored answer (`replaces`: a lookback, `--refetch`, a folder read again), is first read
/// in full, repaired if it must be: a body the transform refuses is then never filed as a
/// meeting (nor final), and never replaces a stored answer — its fetch fails and the stored
/// answer stays. The body is stored verbatim either way; it is repaired again when read.
fn judge(meetingid: &str, body: Vec<u8>, replaces: bool) -> Judged {
    let (record, failure, text_repaired) = if !replaces && repair::text_is_sound(&body) {
        let (record, failure) = record_for(meetingid, body, None);
        (record, failure, false)
    } else {
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

/// A repaired answer does not replace a stored answer whose text was sound (the old one is
/// better, even if older): its fetch fails and the meeting stays as stored, due again while it
/// is not final. It does replace a stored answer that needed repair too (WeCom cuts the same
/// title the same way every time).
fn keep_sound_answer(
    store: &Store,
    meetingid: &str,
    judged: Judged,
    replaces: bool,
) -> Result<Judged> {
    if !(judged.text_repaired && replaces && judged.failure.is_none()) {
        return Ok(judged);
    }
    let stored_sound = store
        .body(meetingid)?
        .is_some_and(|old| repair::text_is_sound(&old));
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
        status,
        meeting_start: None,
        parse_error: Some(reason),
    };
    (record, Some(failure))
}

/// Fetches `ids` into `store`. `in_flight` bounds how many tasks exist at once (the API client
/// separately bounds requests on the wire).
pub async fn fetch(
    source: Arc<Source>,
    store: &mut Store,
    ids: &[String],
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
    let total = todo.len();
    let eta = source.eta(total);
    tracing::info!(
        requested = ids.len(),
        reused = out.reused_from_store,
        to_fetch = total,
        source = source.label(),
        eta = ?eta.map(rounded),
        "fetching"
    );

    let bar = progress_bar(total as u64, eta);
    let mut done = 0usize;
    let mut logged = Instant::now();
    let mut pending = todo.into_iter();
    let mut tasks = JoinSet::new();
    let spawn = |tasks: &mut JoinSet<_>, id: String| {
        let source = source.clone();
        let replaces = stored.contains(&id);
        tasks.spawn(async move {
            // Judging here spreads the reading over the runtime's worker threads.
            let r = source
                .get_info(&id)
                .await
                .map(|body| judge(&id, body, replaces));
            (id, r, replaces)
        });
    };
    for id in pending.by_ref().take(in_flight.max(1)) {
        spawn(&mut tasks, id);
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
        let (id, result, replaces) = joined?;
        bar.inc(1);
        done += 1;
        if let Some(eta) = source.eta(total - done) {
            bar.set_message(format!("{:?}", rounded(eta)));
            if logged.elapsed() >= LOG_PROGRESS_EVERY {
                logged = Instant::now();
                tracing::info!(done, to_fetch = total, eta = ?rounded(eta), "fetching");
            }
        }
        let result = match result {
            Ok(judged) => Ok(keep_sound_answer(store, &id, judged, replaces)?),
            Err(e) => Err(e),
        };
        match file_outcome(id, result, &mut out) {
            Ok(record) => batch.push(record, store)?,
            Err(e) => {
                fatal = Some(e);
                tasks.abort_all();
                break;
            }
        }
        if let Some(id) = pending.next() {
            spawn(&mut tasks, id);
        }
    }
    batch.flush(store)?;
    bar.finish_and_clear();
    if let Some(e) = fatal {
        return Err(anyhow::Error::new(e).context("the run stopped early"));
    }
    out.failures.sort_by(|a, b| a.meetingid.cmp(&b.meetingid));
    Ok(out)
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

/// Counts one meeting's outcome and turns it into the record to store; a fatal error is
/// passed back to stop the run.
fn file_outcome(
    id: String,
    result: Result<Judged, CallError>,
    out: &mut FetchOutcome,
) -> Result<Record, CallError> {
    match result {
        Ok(Judged {
            record: rec,
            failure,
            ..
        }) => {
            match failure {
                Some(f) => {
                    tracing::warn!(meetingid = %id, errcode = f.errcode, reason = %f.reason, "meeting failed");
                    out.failures.push(f);
                }
                None => out.fetched += 1,
            }
            Ok(rec)
        }
        Err(CallError::PerMeeting { errcode, message }) => {
            tracing::warn!(meetingid = %id, errcode, reason = %message, "meeting failed");
            let f = MeetingFailure {
                meetingid: id,
                sub_meetingid: None,
                errcode,
                reason: message,
            };
            out.failures.push(f.clone());
            Ok(Record::Failure(f))
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
        bar.set_message(format!("{:?}", rounded(eta)));
    }
    bar
}

/// A duration to the tenth of a second (for people).
fn rounded(d: Duration) -> Duration {
    Duration::from_millis((d.as_millis() as u64).div_ceil(100) * 100)
}
