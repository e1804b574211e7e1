//! The setup of a test against the fake WeCom server, so that a test says only what differs:
//! what the fake serves (a generated corpus, extra meetings), how it misbehaves (its config,
//! errcodes per meeting or organizer, scripted faults, listings that never end), and the job;
//! [`Scenario::start`] starts the fake on loopback and
//! writes the job into a fresh temporary folder, and [`Started::cmd`] is the real binary with
//! `WECOM_BASE_URL` pointing at the fake and the credentials in the variables the job names.

use super::{bin, last_report, run, stderr, write_job};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use tempfile::TempDir;
use wecom_fake::generate::{GenConfig, generate};
use wecom_fake::{DEFAULT_CORPID, DEFAULT_SECRET, FakeConfig, FakeHandle, FakeWecom, Fault};

/// The variables the jobs name for the credentials: not the default ones, so that a run only
/// finds them by reading `corpid_env` / `secret_env`.
pub const CORPID_ENV: &str = "TEST_WECOM_CORPID";
pub const SECRET_ENV: &str = "TEST_WECOM_SECRET";

/// `meetings` generated meetings of 12 attendees each, among 3 organizers.
pub fn corpus(meetings: usize, seed: u64) -> GenConfig {
    GenConfig {
        meetings,
        attendees: 12,
        seed,
        organizers: 3,
        ..GenConfig::default()
    }
}

pub fn ids_of(cfg: &GenConfig) -> Vec<String> {
    generate(cfg).map(|m| m.meetingid).collect()
}

/// A job reading the API at whatever WECOM_BASE_URL says, with fast retries for tests; `fetch`
/// goes into its `[fetch]` table.
pub fn api_job(dir: &Path, ids: &[String], fetch: &str) -> PathBuf {
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

/// A job discovering the meetings of `organizers` at a fast rate, writing to `dir/out`;
/// `extra` goes after the `[fetch]` rate line.
fn discovery_job(dir: &Path, organizers: &[String], extra: &str) -> PathBuf {
    let quoted: Vec<String> = organizers.iter().map(|o| format!("{o:?}")).collect();
    write_job(
        dir,
        "discover",
        &format!(
            "[api]\ncorpid_env = \"{CORPID_ENV}\"\nsecret_env = \"{SECRET_ENV}\"\n\
             [ids]\norganizers = [{}]\n[fetch]\nrate = 500\n{extra}\n[output]\ndir = {:?}\n",
            quoted.join(", "),
            dir.join("out")
        ),
    )
}

/// Runs `c` on a blocking thread, so that the fake keeps answering meanwhile.
pub async fn run_async(mut c: Command) -> Output {
    tokio::task::spawn_blocking(move || run(&mut c))
        .await
        .unwrap()
}

enum JobSpec {
    Api(String),
    Discovery(String),
    Text(&'static str, Box<dyn FnOnce(&Path) -> String>),
}

/// A test against the fake WeCom server, being set up; `Scenario::default()` is the fake with
/// its default config, serving nothing.
#[derive(Default)]
#[must_use]
pub struct Scenario {
    config: FakeConfig,
    corpus: Option<GenConfig>,
    failing: Vec<(String, i64)>,
    scripts: Vec<(String, Vec<Fault>)>,
    gettoken_script: Vec<Fault>,
    /// `(meetingid, organizer, meeting_start, body)` served besides the corpus.
    extra_meetings: Vec<(String, String, i64, String)>,
    endless_listings: Vec<String>,
    looping_listings: Vec<String>,
    ids: Vec<String>,
    organizers: Vec<String>,
    job: Option<JobSpec>,
    directory: bool,
    /// Changes to the fake's builder beyond these (its recurring meetings, their clock).
    builds: Vec<Box<dyn FnOnce(FakeWecom) -> FakeWecom>>,
}

impl Scenario {
    /// The fake serving the meetings of `g`; its meeting ids are the jobs' ids, its organizers
    /// (sorted) the discovery jobs' organizers.
    pub fn serving(g: &GenConfig) -> Self {
        let mut organizers: Vec<String> = generate(g).map(|m| m.admin_userid).collect();
        organizers.sort();
        organizers.dedup();
        Scenario {
            corpus: Some(g.clone()),
            ids: ids_of(g),
            organizers,
            ..Scenario::default()
        }
    }

    /// The fake serving [`corpus`]`(meetings, seed)`.
    pub fn meetings(meetings: usize, seed: u64) -> Self {
        Scenario::serving(&corpus(meetings, seed))
    }

    /// Changes the fake's config.
    pub fn fake(mut self, change: impl FnOnce(&mut FakeConfig)) -> Self {
        change(&mut self.config);
        self
    }

    /// Every call for meeting (or organizer) `id` answers `errcode`.
    pub fn fail_always(mut self, id: &str, errcode: i64) -> Self {
        self.failing.push((id.to_owned(), errcode));
        self
    }

    /// The next calls for meeting `id` get these faults, in order, then normal answers.
    pub fn script(mut self, id: &str, faults: Vec<Fault>) -> Self {
        self.scripts.push((id.to_owned(), faults));
        self
    }

    /// The next gettoken calls get these faults, in order, then normal answers.
    pub fn script_gettoken(mut self, faults: Vec<Fault>) -> Self {
        self.gettoken_script.extend(faults);
        self
    }

    /// One more meeting served (and listed under `organizer`) besides the corpus.
    pub fn meeting(mut self, id: &str, organizer: &str, start: i64, body: &str) -> Self {
        let meeting = (id.to_owned(), organizer.to_owned(), start, body.to_owned());
        self.extra_meetings.push(meeting);
        self
    }

    /// One more organizer for the discovery job, whose listing never ends (a new cursor every
    /// page).
    pub fn endless_listing(mut self, userid: &str) -> Self {
        self.endless_listings.push(userid.to_owned());
        self.organizer(userid)
    }

    /// One more organizer for the discovery job, whose listing repeats its cursor.
    pub fn looping_listing(mut self, userid: &str) -> Self {
        self.looping_listings.push(userid.to_owned());
        self.organizer(userid)
    }

    /// The ids the API job lists, instead of the served meetings'.
    pub fn ids(mut self, ids: &[&str]) -> Self {
        self.ids = ids.iter().map(|&i| i.to_owned()).collect();
        self
    }

    /// One more organizer for the discovery job.
    pub fn organizer(mut self, userid: &str) -> Self {
        self.organizers.push(userid.to_owned());
        self
    }

    /// The job: [`api_job`] over the ids, with `fetch` in its `[fetch]` table.
    pub fn api_job(mut self, fetch: &str) -> Self {
        self.job = Some(JobSpec::Api(fetch.to_owned()));
        self
    }

    /// The job: discovering the meetings of the organizers, `extra` after its `[fetch]` rate.
    pub fn discovery_job(mut self, extra: &str) -> Self {
        self.job = Some(JobSpec::Discovery(extra.to_owned()));
        self
    }

    /// The job: `jobs/<name>.toml` as `body` writes it, given the temporary folder.
    pub fn job(mut self, name: &'static str, body: impl FnOnce(&Path) -> String + 'static) -> Self {
        self.job = Some(JobSpec::Text(name, Box::new(body)));
        self
    }

    /// Changes the fake's builder: what no method here covers, such as its recurring meetings
    /// (`with_series`, `series_now`, `sub_meetings_horizon`).
    pub fn build(mut self, change: impl FnOnce(FakeWecom) -> FakeWecom + 'static) -> Self {
        self.builds.push(Box::new(change));
        self
    }

    /// The fake also serves the contacts API, from a directory generated over the corpus's
    /// member userids (see `wecom_fake::directory`).
    pub fn with_directory(mut self) -> Self {
        self.directory = true;
        self
    }

    /// Starts the fake and writes the job into a new temporary folder.
    pub async fn start(self) -> Started {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let job = match self.job.expect("a scenario has a job") {
            JobSpec::Api(fetch) => api_job(dir, &self.ids, &fetch),
            JobSpec::Discovery(extra) => discovery_job(dir, &self.organizers, &extra),
            JobSpec::Text(name, body) => write_job(dir, name, &body(dir)),
        };
        let mut fake = FakeWecom::new(self.config);
        if let Some(g) = &self.corpus {
            fake = fake.with_generated(g);
        }
        if self.directory {
            let g = self
                .corpus
                .as_ref()
                .expect("a directory is generated over a corpus");
            fake = fake.with_directory(&member_userids(g));
        }
        for (id, errcode) in &self.failing {
            fake = fake.fail_always(id, *errcode);
        }
        for (id, faults) in self.scripts {
            fake = fake.script(&id, faults);
        }
        fake = fake.script_gettoken(self.gettoken_script);
        for (id, organizer, start, body) in self.extra_meetings {
            fake = fake.with_meeting(id, organizer, start, body);
        }
        for userid in &self.endless_listings {
            fake = fake.endless_listing(userid);
        }
        for userid in &self.looping_listings {
            fake = fake.looping_listing(userid);
        }
        for change in self.builds {
            fake = change(fake);
        }
        let fake = fake.start().await.unwrap();
        Started { fake, job, tmp }
    }
}

/// The member userids of a generated corpus, sorted.
pub fn member_userids(g: &GenConfig) -> Vec<String> {
    let mut ids = std::collections::BTreeSet::new();
    for m in generate(g) {
        let v: serde_json::Value = serde_json::from_str(&m.body).unwrap();
        for u in v["attendees"]["member"].as_array().into_iter().flatten() {
            ids.insert(u["userid"].as_str().unwrap().to_owned());
        }
    }
    ids.into_iter().collect()
}

/// A started [`Scenario`]: the fake on loopback and the job in its temporary folder.
pub struct Started {
    pub fake: FakeHandle,
    /// The job file, in [`Started::dir`].
    pub job: PathBuf,
    tmp: TempDir,
}

impl Started {
    /// The temporary folder of the job, removed when the scenario is dropped.
    pub fn dir(&self) -> &Path {
        self.tmp.path()
    }

    /// Where the job writes its outputs.
    pub fn out(&self) -> PathBuf {
        self.dir().join("out")
    }

    /// The newest run report of the job.
    pub fn report(&self) -> serde_json::Value {
        last_report(&self.out())
    }

    /// The binary with `args` and `--job`, pointed at the fake with the right credentials.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = bin();
        c.env("WECOM_BASE_URL", self.fake.base_url())
            .env(CORPID_ENV, DEFAULT_CORPID)
            .env(SECRET_ENV, DEFAULT_SECRET)
            .args(args)
            .arg("--job")
            .arg(&self.job);
        c
    }

    /// Runs [`Started::cmd`] to the end.
    pub async fn run(&self, args: &[&str]) -> Output {
        run_async(self.cmd(args)).await
    }

    /// Starts [`Started::cmd`] without waiting for it, so the test can act on the fake while it
    /// runs; the handle gives its output.
    pub fn spawn(&self, args: &[&str]) -> tokio::task::JoinHandle<Output> {
        let mut c = self.cmd(args);
        tokio::task::spawn_blocking(move || run(&mut c))
    }

    /// Runs [`Started::cmd`] to the end and asserts it exited 0, showing its stderr if not.
    pub async fn run_ok(&self, args: &[&str]) -> Output {
        let o = self.run(args).await;
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        o
    }

    pub async fn shutdown(self) {
        self.fake.shutdown().await;
    }
}
