//! A running fake server: where it listens, what it saw, and the knobs a test turns while it
//! runs (expire tokens, script more faults, the series' "now"). Dropping the handle stops the server.

use super::faults::Fault;
use super::handlers;
use super::state::State;
use super::stats::FakeStats;
use anyhow::Context;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// How long [`FakeHandle::shutdown`] lets in-flight answers finish before cutting them off.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(1);

/// A fake WeCom server serving in a background task.
pub struct FakeHandle {
    addr: SocketAddr,
    state: Arc<State>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl FakeHandle {
    pub(crate) async fn serve(state: State) -> anyhow::Result<FakeHandle> {
        let port = state.cfg.port;
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, port))
            .await
            .with_context(|| format!("cannot listen on 127.0.0.1:{port}"))?;
        let addr = listener.local_addr().context("no local address")?;
        let state = Arc::new(state);
        let app = handlers::router(state.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
            if let Err(e) = served {
                tracing::warn!("fake wecom server stopped: {e}");
            }
        });
        Ok(FakeHandle {
            addr,
            state,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// Calls of the contacts endpoints so far: `department/list`, `user/list`, `user/get`,
    /// `convert_tmp_external_userid`.
    pub fn directory_calls(&self) -> [u64; 4] {
        use std::sync::atomic::Ordering::Relaxed;
        match &self.state.directory {
            Some(d) => [
                d.calls.department_list.load(Relaxed),
                d.calls.user_list.load(Relaxed),
                d.calls.user_get.load(Relaxed),
                d.calls.convert.load(Relaxed),
            ],
            None => [0; 4],
        }
    }

    /// The generated directory's mover changes department from now on.
    pub fn move_people(&self) {
        if let Some(d) = &self.state.directory {
            d.move_people();
        }
    }

    /// Every contacts call answers `errcode` from now on (60011, 48002, 60020…; 0 = normal).
    pub fn refuse_directory(&self, errcode: i64) {
        if let Some(d) = &self.state.directory {
            d.refuse(errcode);
        }
    }

    /// `http://127.0.0.1:PORT`, the base URL to give a client.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// What the server saw so far.
    pub fn stats(&self) -> FakeStats {
        self.state.stats()
    }

    /// `get_info` calls seen so far for one meeting id (cheaper than a full snapshot).
    pub fn get_info_calls_for(&self, meetingid: &str) -> u64 {
        self.state.counters.calls_for(meetingid)
    }

    /// `get_info` calls seen so far for one occurrence of a series.
    pub fn get_info_calls_for_occurrence(&self, meetingid: &str, sub_meetingid: &str) -> u64 {
        self.state
            .counters
            .calls_for_occurrence(meetingid, sub_meetingid)
    }

    /// From now on the series answer as at `epoch_s` ("now": which occurrences are listed,
    /// current, ended), e.g. night 1 then night 9 of a test against one server.
    pub fn set_now(&self, epoch_s: i64) {
        self.state.series_clock.set_now(Some(epoch_s));
    }

    /// Every access token issued so far.
    pub fn issued_tokens(&self) -> Vec<String> {
        self.state.issued_tokens()
    }

    /// Every token issued so far becomes invalid: its next use gets 42001.
    pub fn expire_tokens(&self) {
        self.state.expire_tokens();
    }

    /// Every `get_info` call in flight now answers 42001 once its latency is over, though the
    /// tokens stay valid: a burst of rejections of requests already sent. Returns how many
    /// calls were in flight.
    pub fn reject_in_flight(&self) -> u64 {
        self.state.reject_in_flight()
    }

    /// The next calls for `meetingid` get these faults (after any already scripted).
    pub fn script(&self, meetingid: &str, faults: Vec<Fault>) {
        self.state.script(meetingid, faults);
    }

    /// Every further call for `meetingid` answers `errcode` (after any script).
    pub fn fail_always(&self, meetingid: &str, errcode: i64) {
        self.state.fail_always(meetingid, errcode);
    }

    /// Stops accepting, lets in-flight answers finish for up to a second, then stops.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(mut task) = self.task.take()
            && tokio::time::timeout(SHUTDOWN_GRACE, &mut task)
                .await
                .is_err()
        {
            task.abort();
        }
    }
}

impl Drop for FakeHandle {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
