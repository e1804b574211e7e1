//! Setting up a fake server before it starts: the meetings it serves (given one by one,
//! generated, or loaded from a folder of captured bodies), the recurring meetings with their
//! clock, and the faults planned per meeting.

use super::FakeConfig;
use super::faults::Fault;
use super::handle::FakeHandle;
use super::list::Listing;
use super::series::FakeSeries;
use super::series_answer::SeriesClock;
use super::state::{FaultPlan, State, StoredMeeting};
use crate::generate::{self, GenConfig};
use anyhow::Context;
use axum::body::Bytes;
use rayon::prelude::*;
use serde::Deserialize;
use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;

/// A fake WeCom server being set up; [`FakeWecom::start`] serves it.
pub struct FakeWecom {
    cfg: FakeConfig,
    meetings: HashMap<String, StoredMeeting>,
    plan: FaultPlan,
    directory: Option<crate::directory::FakeDirectory>,
    series: HashMap<String, FakeSeries>,
    series_clock: SeriesClock,
}

impl FakeWecom {
    pub fn new(cfg: FakeConfig) -> Self {
        FakeWecom {
            cfg,
            meetings: HashMap::new(),
            plan: FaultPlan::default(),
            directory: None,
            series: HashMap::new(),
            series_clock: SeriesClock::default(),
        }
    }

    /// Serves `body` verbatim for `meetingid`, listed under `organizer_userid` at
    /// `meeting_start` by `get_user_meetingid`.
    pub fn with_meeting(
        mut self,
        meetingid: impl Into<String>,
        organizer_userid: impl Into<String>,
        meeting_start: i64,
        body: impl Into<String>,
    ) -> Self {
        let meeting = StoredMeeting {
            organizer: Some(organizer_userid.into()),
            start: Some(meeting_start),
            body: Bytes::from(body.into()),
        };
        self.meetings.insert(meetingid.into(), meeting);
        self
    }

    /// Serves the meetings `gen` describes (generated on all cores).
    pub fn with_generated(mut self, gen_cfg: &GenConfig) -> Self {
        for m in generate::generate_all(gen_cfg) {
            let meeting = StoredMeeting {
                organizer: Some(m.admin_userid),
                start: Some(m.meeting_start),
                body: Bytes::from(m.body),
            };
            self.meetings.insert(m.meetingid, meeting);
        }
        self
    }

    /// Serves every `DIR/*.json` under its file stem as meeting id. The organizer
    /// (`admin_userid`, else `creator_userid`) and `meeting_start` (a number or a numeric
    /// string) are read from the body for `get_user_meetingid`; a body that does not parse is
    /// still served verbatim, just never listed.
    pub fn load_dir(mut self, dir: &Path) -> anyhow::Result<Self> {
        let entries = std::fs::read_dir(dir)
            .with_context(|| format!("cannot read fixture folder {}", dir.display()))?;
        let mut files = Vec::new();
        for entry in entries {
            let path = entry
                .with_context(|| format!("cannot list {}", dir.display()))?
                .path();
            if path.extension().is_some_and(|e| e == "json") && path.is_file() {
                files.push(path);
            }
        }
        let loaded = files
            .par_iter()
            .map(|path| {
                let body = std::fs::read(path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                let id = path
                    .file_stem()
                    .and_then(|s| s.to_str())
                    .with_context(|| format!("{} has no UTF-8 file name", path.display()))?;
                Ok((id.to_owned(), describe(Bytes::from(body))))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        self.meetings.extend(loaded);
        Ok(self)
    }

    /// Serves a recurring meeting (see [`FakeSeries`] for how to build one): `get_info`
    /// without `sub_meetingid` answers its head, with one of its `sub_meetingid`s that
    /// occurrence, as of the series clock ([`FakeWecom::series_now`]); `get_user_meetingid`
    /// lists it under its organizer at its first start. Replaces a meeting of the same id.
    ///
    /// ```no_run
    /// # async fn demo() -> anyhow::Result<()> {
    /// use chrono_tz::Asia::Shanghai;
    /// use wecom_domain::recurrence::{RepeatRule, RepeatType, Until};
    /// use wecom_fake::{FakeConfig, FakeSeries, FakeWecom};
    /// const NIGHT_1: i64 = 1_793_635_200; // 2026-11-03 00:00 +08:00
    /// let rule = RepeatRule { until: Until::Count(8), ..RepeatRule::new(RepeatType::Weekly) };
    /// let series = FakeSeries::from_rule("hyWeekly", "zhangsan", "周会", &rule, 1_793_584_800, 1800, Shanghai)
    ///     .delete(3)
    ///     .repeat_id_as_number();
    /// let server = FakeWecom::new(FakeConfig::default())
    ///     .with_series(series)
    ///     .series_now(NIGHT_1)               // answers as on night 1
    ///     .sub_meetings_horizon(2 * 86_400)  // an ended occurrence stays listed 2 days
    ///     .sub_meetings_cap(5)               // at most 5 listed, then has_more_sub_meeting = 1
    ///     .start()
    ///     .await?;
    /// // ... run the job for night 1, then:
    /// server.set_now(NIGHT_1 + 8 * 86_400);  // night 9: the first occurrences scrolled out
    /// # Ok(()) }
    /// ```
    pub fn with_series(mut self, series: FakeSeries) -> Self {
        self.meetings.remove(&series.meetingid);
        self.series.insert(series.meetingid.clone(), series);
        self
    }

    /// The series answer as at `epoch_s` (until [`FakeHandle::set_now`] changes it); without
    /// it they follow the real clock. One-off meetings are served verbatim whatever "now" is.
    pub fn series_now(self, epoch_s: i64) -> Self {
        self.series_clock.set_now(Some(epoch_s));
        self
    }

    /// An occurrence stays in `sub_meetings` until `seconds` after its end (default
    /// [`crate::DEFAULT_SUB_MEETINGS_HORIZON_S`], a week).
    pub fn sub_meetings_horizon(mut self, seconds: i64) -> Self {
        self.series_clock.horizon_s = seconds;
        self
    }

    /// `sub_meetings` lists at most `n` occurrences (the earliest), with
    /// `has_more_sub_meeting` 1 when it cut some (default [`crate::DEFAULT_SUB_MEETINGS_CAP`]).
    pub fn sub_meetings_cap(mut self, n: usize) -> Self {
        self.series_clock.cap = n;
        self
    }

    /// The next calls for `meetingid` get these faults, in order, then normal answers.
    pub fn script(mut self, meetingid: &str, faults: Vec<Fault>) -> Self {
        self.plan
            .scripted
            .entry(meetingid.to_owned())
            .or_default()
            .extend(faults);
        self
    }

    /// Every call for `meetingid` (after any script) answers HTTP 200 with `errcode`; so does
    /// every get_user_meetingid call for an organizer of that userid.
    pub fn fail_always(mut self, meetingid: &str, errcode: i64) -> Self {
        self.plan.always.insert(meetingid.to_owned(), errcode);
        self
    }

    /// The next `gettoken` calls get these faults, in order, then normal answers.
    pub fn script_gettoken(mut self, faults: Vec<Fault>) -> Self {
        self.plan.gettoken.extend(faults);
        self
    }

    /// Every `get_user_meetingid` page of `userid` answers a new cursor: the listing never
    /// ends (pages past the organizer's meetings are empty).
    pub fn endless_listing(mut self, userid: &str) -> Self {
        self.plan
            .listings
            .insert(userid.to_owned(), Listing::Endless);
        self
    }

    /// Every `get_user_meetingid` page of `userid` answers the cursor `"1"`: the second page
    /// repeats the cursor of the first.
    pub fn looping_listing(mut self, userid: &str) -> Self {
        self.plan
            .listings
            .insert(userid.to_owned(), Listing::Looping);
        self
    }

    /// Serves the contacts API from a directory generated over `userids` (see
    /// [`crate::directory`]).
    pub fn with_directory(mut self, userids: &[String]) -> Self {
        self.directory = Some(crate::directory::FakeDirectory::generate(userids));
        self
    }

    /// Number of meetings set up so far.
    pub fn meeting_count(&self) -> usize {
        self.meetings.len()
    }

    /// Binds 127.0.0.1 on the configured port (0 = any free one) and serves in a background
    /// task until [`FakeHandle::shutdown`] or the handle is dropped.
    pub async fn start(self) -> anyhow::Result<FakeHandle> {
        let mut state = State::new(self.cfg, self.meetings, self.plan);
        state.directory = self.directory;
        state.set_series(self.series, self.series_clock);
        FakeHandle::serve(state).await
    }
}

#[derive(Deserialize)]
struct Head {
    admin_userid: Option<Value>,
    creator_userid: Option<Value>,
    meeting_start: Option<Value>,
}

/// A stored meeting for a captured body, with what `get_user_meetingid` needs when readable.
fn describe(body: Bytes) -> StoredMeeting {
    let head: Option<Head> = serde_json::from_slice(&body).ok();
    let text = |v: &Option<Value>| match v {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        _ => None,
    };
    let organizer = head
        .as_ref()
        .and_then(|h| text(&h.admin_userid).or_else(|| text(&h.creator_userid)));
    let start = head.as_ref().and_then(|h| match &h.meeting_start {
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    });
    StoredMeeting {
        organizer,
        start,
        body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captured_bodies_give_organizer_and_start_even_as_strings() {
        let m = describe(Bytes::from_static(
            br#"{"creator_userid":"lisi","meeting_start":"1700000000","x":[1,2]}"#,
        ));
        assert_eq!(m.organizer.as_deref(), Some("lisi"));
        assert_eq!(m.start, Some(1_700_000_000));
    }

    #[test]
    fn an_unparsable_body_is_kept_verbatim_without_listing_data() {
        let m = describe(Bytes::from_static(b"{\"admin_userid\":\"x\", oops"));
        assert_eq!((m.organizer, m.start), (None, None));
        assert_eq!(&m.body[..], b"{\"admin_userid\":\"x\", oops");
    }

    #[test]
    fn load_dir_serves_every_json_file_under_its_stem() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("hyA.json"),
            r#"{"admin_userid":"a","meeting_start":5}"#,
        )
        .unwrap();
        std::fs::write(dir.path().join("hyB.json"), "garbage").unwrap();
        std::fs::write(dir.path().join("ids.txt"), "hyA\nhyB\n").unwrap();
        let fake = FakeWecom::new(FakeConfig::default())
            .load_dir(dir.path())
            .unwrap();
        assert_eq!(fake.meeting_count(), 2);
        assert_eq!(fake.meetings["hyA"].start, Some(5));
        assert_eq!(&fake.meetings["hyB"].body[..], b"garbage");
    }
}
