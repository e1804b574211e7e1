//! WeCom's minute and hour quotas, per API: the job's own budgets (`fetch.per_minute`,
//! `fetch.per_hour`) and the wait-out of a block the server imposes (45009).
//!
//! WeCom counts calls per company and per API (request path) and, once a quota is exceeded,
//! blocks that API for 60 s (minute quota) or 60 min (hour quota). So each API gets two
//! [`Window`]s, and a call is sent only when both have room:
//!
//! * **Exact in every span, bursts included.** A window keeps the completion time of each of
//!   its last `limit` calls and counts the calls in flight; a call may start only when fewer
//!   than `limit` calls are in flight or completed within the last `span`. Because a call
//!   reaches the server before its answer comes back, and the next one leaves after it is
//!   admitted, any two calls `limit` apart reach the server at least `span` apart: no span of
//!   the server's clock, aligned however it likes, sees more than `limit`. (A GCRA or token
//!   bucket with burst = budget is *not* enough: it lets a full burst through at the end of
//!   one span and refills a budget's worth during the next, 2 × budget in one span.)
//! * **Blocks are waited out, not hammered.** After a 45009 one probe at a time goes out:
//!   first after short pauses (`fetch.throttle_pause`, doubling) for up to [`SHORT_HORIZON`]
//!   from the first refusal, since a per-second frequency limit clears within that; if the
//!   probe is still refused, the API waits out the rest of the minute block counted from the
//!   first refusal; if still refused, the hour block; then an hour at a time. Any other answer
//!   to the probe ends the block and releases every waiting call.
//!
//! The two spans are 60 s and 3,600 s times `fetch.quota_window_scale` (1 in production; tests
//! and benchmarks shrink it to run an "hour" in seconds against the fake server).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;

/// WeCom's minute window.
pub const MINUTE: Duration = Duration::from_secs(60);
/// WeCom's hour window.
pub const HOUR: Duration = Duration::from_secs(3600);
/// How long after the first refusal a block is still taken for a per-second frequency limit
/// (short pauses) rather than a minute quota (at most half the scaled minute).
pub const SHORT_HORIZON: Duration = Duration::from_secs(2);

/// The budgets every API gets.
#[derive(Debug, Clone, Copy)]
pub struct QuotaConfig {
    /// Calls allowed in any span of [`QuotaConfig::minute`].
    pub per_minute: u32,
    /// Calls allowed in any span of [`QuotaConfig::hour`].
    pub per_hour: u32,
    /// The minute span (60 s × scale).
    pub minute: Duration,
    /// The hour span (3,600 s × scale).
    pub hour: Duration,
    /// The first wait after a 45009 (a per-second limit clears in it).
    pub first_pause: Duration,
}

impl QuotaConfig {
    /// Budgets of `per_minute` and `per_hour` on windows scaled by `scale`.
    pub fn new(per_minute: u32, per_hour: u32, scale: f64, first_pause: Duration) -> Self {
        QuotaConfig {
            per_minute: per_minute.max(1),
            per_hour: per_hour.max(1),
            minute: MINUTE.mul_f64(scale),
            hour: HOUR.mul_f64(scale),
            first_pause,
        }
    }

    /// No budget worth the name (unit tests of the rest of the limiter).
    pub fn unlimited() -> Self {
        QuotaConfig::new(u32::MAX, u32::MAX, 1.0, Duration::from_secs(1))
    }
}

/// When a call may start, as far as one window is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Wait {
    Now,
    Until(Instant),
    /// Every call of the budget is in flight: wait for one to complete.
    Completion,
}

/// At most `limit` calls in any span of `span`: the completion times of recent calls (at most
/// `limit` of them) and the calls in flight.
pub(crate) struct Window {
    span: Duration,
    limit: usize,
    done: VecDeque<Instant>,
    in_flight: usize,
}

impl Window {
    pub fn new(span: Duration, limit: u32) -> Self {
        Window {
            span,
            limit: usize::try_from(limit).unwrap_or(usize::MAX).max(1),
            done: VecDeque::new(),
            in_flight: 0,
        }
    }

    /// Forgets completions that no span ending after `now` can contain.
    fn prune(&mut self, now: Instant) {
        while self.done.front().is_some_and(|&t| t + self.span <= now) {
            self.done.pop_front();
        }
    }

    /// When the next call may start.
    pub fn wait(&mut self, now: Instant) -> Wait {
        self.prune(now);
        let used = self.done.len() + self.in_flight;
        if used < self.limit {
            return Wait::Now;
        }
        // `used - limit + 1` of the oldest completions must leave the span first.
        match self.done.get(used - self.limit) {
            Some(&t) => Wait::Until(t + self.span),
            None => Wait::Completion,
        }
    }

    /// Calls in flight or completed within the span ending at `now`.
    pub fn used(&mut self, now: Instant) -> usize {
        self.prune(now);
        self.done.len() + self.in_flight
    }

    pub fn start(&mut self) {
        self.in_flight += 1;
    }

    /// A started call was not sent after all.
    pub fn withdraw(&mut self) {
        self.in_flight = self.in_flight.saturating_sub(1);
    }

    /// A call ended (answered, failed or abandoned) at `at`, which never goes backwards.
    pub fn complete(&mut self, at: Instant) {
        self.in_flight = self.in_flight.saturating_sub(1);
        if self.done.back().is_some_and(|&b| at < b) {
            self.done.push_back(*self.done.back().expect("not empty"));
        } else {
            self.done.push_back(at);
        }
        while self.done.len() > self.limit {
            self.done.pop_front();
        }
    }

    /// Time to start `calls` more calls at best, if the window alone held them back.
    fn eta(&mut self, now: Instant, calls: usize) -> Duration {
        let free = self.limit.saturating_sub(self.used(now));
        if calls <= free {
            return Duration::ZERO;
        }
        self.span.mul_f64((calls - free) as f64 / self.limit as f64)
    }
}

/// A block the server imposes on one API, being waited out.
#[derive(Default)]
struct Block {
    /// 0 = none; 1 = short pauses; 2 = the minute block; 3 = the hour block; 4+ = hours more.
    level: u32,
    /// Short pauses so far (each twice the previous).
    shorts: u32,
    first_at: Option<Instant>,
    until: Option<Instant>,
    /// A probe is in flight; other calls wait for its answer.
    probing: bool,
}

struct ApiState {
    minute: Window,
    hour: Window,
    block: Block,
}

/// One API's budgets and block.
pub struct Api {
    cfg: QuotaConfig,
    state: Mutex<ApiState>,
    changed: Notify,
}

/// What a 45009 led to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Escalation {
    /// The new level (see the module docs), or the one in force for a stale refusal.
    pub level: u32,
    /// How long the API now waits.
    pub wait: Duration,
    /// `true` when this refusal raised the block (the first, or a refused probe).
    pub raised: bool,
    /// `true` for the first refusal of a block.
    pub first: bool,
}

impl Api {
    fn new(cfg: QuotaConfig) -> Self {
        Api {
            cfg,
            state: Mutex::new(ApiState {
                minute: Window::new(cfg.minute, cfg.per_minute),
                hour: Window::new(cfg.hour, cfg.per_hour),
                block: Block::default(),
            }),
            changed: Notify::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ApiState> {
        self.state.lock().expect("quota lock")
    }

    /// Waits until a block (if any) lets this call through and both budgets have room, then
    /// counts it in flight. Returns whether the call is the block's probe.
    pub async fn admit(&self) -> bool {
        loop {
            let notified = self.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let wait = {
                let now = Instant::now();
                let mut s = self.lock();
                let blocked = s.block.level > 0;
                match s.block.until {
                    Some(t) if blocked && t > now => Wait::Until(t),
                    _ if blocked && s.block.probing => Wait::Completion,
                    _ => match s.minute.wait(now).max(s.hour.wait(now)) {
                        Wait::Now => {
                            s.minute.start();
                            s.hour.start();
                            if blocked {
                                s.block.probing = true;
                            }
                            return blocked;
                        }
                        w => w,
                    },
                }
            };
            match wait {
                Wait::Until(t) => {
                    tokio::select! {
                        () = tokio::time::sleep_until(t) => {}
                        () = &mut notified => {}
                    }
                }
                _ => notified.await,
            }
        }
    }

    /// `true` unless the API is blocked.
    pub fn clear(&self) -> bool {
        self.lock().block.level == 0
    }

    /// The call admitted by [`Api::admit`] is not sent after all (a block began meanwhile).
    pub fn withdraw(&self) {
        {
            let mut s = self.lock();
            s.minute.withdraw();
            s.hour.withdraw();
        }
        self.changed.notify_waiters();
    }

    /// The call admitted by [`Api::admit`] ended (answer in hand, or abandoned).
    pub fn complete(&self) {
        let now = Instant::now();
        {
            let mut s = self.lock();
            s.minute.complete(now);
            s.hour.complete(now);
        }
        self.changed.notify_waiters();
    }

    /// The probe got an answer other than 45009 (or none): the block is over, or someone
    /// else probes.
    pub fn probe_done(&self, answered: bool) {
        {
            let mut s = self.lock();
            s.block.probing = false;
            if answered {
                s.block = Block::default();
            }
        }
        self.changed.notify_waiters();
    }

    /// A 45009 for a call sent at `sent` (`probe` if it was the block's probe): raises the
    /// block when it is news (the first refusal, or a refused probe); a refusal of a call sent
    /// before the block began only waits.
    pub fn refused(&self, probe: bool) -> Escalation {
        let now = Instant::now();
        let e = {
            let mut s = self.lock();
            let b = &mut s.block;
            if probe {
                b.probing = false;
            }
            if b.level == 0 || probe {
                let fresh = b.level == 0;
                let first = *b.first_at.get_or_insert(now);
                let horizon = SHORT_HORIZON.min(self.cfg.minute / 2);
                let (level, until) = if b.level <= 1 && now - first < horizon {
                    b.shorts += 1;
                    let pause = self
                        .cfg
                        .first_pause
                        .saturating_mul(2u32.saturating_pow(b.shorts - 1));
                    (1, now + pause)
                } else if b.level <= 1 && first + self.cfg.minute > now {
                    (2, first + self.cfg.minute)
                } else if b.level <= 2 && first + self.cfg.hour > now {
                    (3, first + self.cfg.hour)
                } else {
                    ((b.level + 1).max(4), now + self.cfg.hour)
                };
                b.level = level;
                b.until = Some(until);
                Escalation {
                    level,
                    wait: until.saturating_duration_since(now),
                    raised: true,
                    first: fresh,
                }
            } else {
                Escalation {
                    level: b.level,
                    wait: b
                        .until
                        .map_or(Duration::ZERO, |u| u.saturating_duration_since(now)),
                    raised: false,
                    first: false,
                }
            }
        };
        self.changed.notify_waiters();
        e
    }

    /// Time to start `calls` more calls if the budgets and the block alone held them back.
    pub fn eta(&self, calls: usize) -> Duration {
        let now = Instant::now();
        let mut s = self.lock();
        let blocked = s
            .block
            .until
            .filter(|_| s.block.level > 0)
            .map_or(Duration::ZERO, |u| u.saturating_duration_since(now));
        blocked + s.minute.eta(now, calls).max(s.hour.eta(now, calls))
    }
}

/// The budgets of every API the run calls, keyed by request path.
pub struct Quotas {
    cfg: QuotaConfig,
    apis: Mutex<HashMap<String, Arc<Api>>>,
}

impl Quotas {
    pub fn new(cfg: QuotaConfig) -> Self {
        Quotas {
            cfg,
            apis: Mutex::new(HashMap::new()),
        }
    }

    pub fn config(&self) -> QuotaConfig {
        self.cfg
    }

    /// The budgets of the API at `path` (its own, not shared with other paths).
    pub fn api(&self, path: &str) -> Arc<Api> {
        let mut apis = self.apis.lock().expect("quotas lock");
        if let Some(a) = apis.get(path) {
            return a.clone();
        }
        let a = Arc::new(Api::new(self.cfg));
        apis.insert(path.to_owned(), a.clone());
        a
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The most calls found in any half-open span of `span` among the sorted `times`.
    fn busiest(times: &[Instant], span: Duration) -> usize {
        let mut best = 0;
        let mut lo = 0;
        for hi in 0..times.len() {
            while times[hi] >= times[lo] + span {
                lo += 1;
            }
            best = best.max(hi - lo + 1);
        }
        best
    }

    /// Drives a window with calls that take `latency`, starting each as early as the window
    /// allows (with `concurrency` in flight at most), and returns the start times.
    fn drive(limit: u32, span: Duration, calls: usize, latency: Duration) -> Vec<Instant> {
        let mut w = Window::new(span, limit);
        let t0 = Instant::now();
        let mut now = t0;
        let mut starts = Vec::new();
        let mut ends: VecDeque<Instant> = VecDeque::new();
        while starts.len() < calls {
            while ends.front().is_some_and(|&e| e <= now) {
                w.complete(ends.pop_front().unwrap());
            }
            match w.wait(now) {
                Wait::Now => {
                    w.start();
                    starts.push(now);
                    ends.push_back(now + latency);
                }
                Wait::Until(t) => now = t.min(ends.front().copied().unwrap_or(t)),
                Wait::Completion => now = *ends.front().expect("calls in flight"),
            }
        }
        starts
    }

    #[tokio::test(start_paused = true)]
    async fn no_span_ever_holds_more_calls_than_the_budget_start_burst_included() {
        let span = Duration::from_secs(60);
        for latency in [0, 1, 250, 5_000, 59_999, 60_000, 90_000] {
            let starts = drive(100, span, 1_000, Duration::from_millis(latency));
            assert_eq!(busiest(&starts, span), 100, "latency {latency} ms");
            // The start burst: the whole budget goes at once.
            assert_eq!(busiest(&starts[..100], Duration::from_millis(1)), 100);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_backfill_of_ten_budgets_takes_nine_spans_and_no_more_than_a_call_longer() {
        let span = Duration::from_secs(3600);
        let lat = Duration::from_millis(100);
        let starts = drive(1_000, span, 10_000, lat);
        let took = *starts.last().unwrap() - starts[0];
        // Each budget's worth starts a span after the previous one's answers came back.
        assert!(took >= span * 9, "{took:?}");
        assert!(took <= (span + lat) * 9, "{took:?}");
    }

    #[test]
    fn a_gcra_with_burst_equal_to_the_budget_would_allow_almost_twice_the_budget() {
        // The trap the window avoids, shown with governor itself: a whole budget at once at
        // the start of a span, and the cells it replenishes during the same span.
        use governor::clock::FakeRelativeClock;
        use governor::{Quota, RateLimiter};
        use std::num::NonZeroU32;
        let budget = NonZeroU32::new(60).unwrap();
        let clock = FakeRelativeClock::default();
        let gcra = RateLimiter::direct_with_clock(
            Quota::per_minute(budget).allow_burst(budget),
            clock.clone(),
        );
        let mut passed = (0..200).filter(|_| gcra.check().is_ok()).count();
        clock.advance(Duration::from_secs(59));
        passed += (0..200).filter(|_| gcra.check().is_ok()).count();
        assert_eq!(
            passed, 119,
            "119 calls within 59 s under a budget of 60 a minute"
        );
        // The window lets none of them through before the span is over.
        let mut w = Window::new(Duration::from_secs(60), 60);
        let t0 = Instant::now();
        for _ in 0..60 {
            assert_eq!(w.wait(t0), Wait::Now);
            w.start();
            w.complete(t0);
        }
        assert_eq!(
            w.wait(t0 + Duration::from_secs(59)),
            Wait::Until(t0 + Duration::from_secs(60))
        );
    }

    #[test]
    fn calls_all_in_flight_wait_for_a_completion() {
        let t0 = Instant::now();
        let mut w = Window::new(Duration::from_secs(1), 2);
        w.start();
        w.start();
        assert_eq!(w.wait(t0), Wait::Completion);
        w.complete(t0 + Duration::from_millis(10));
        assert_eq!(
            w.wait(t0 + Duration::from_millis(20)),
            Wait::Until(t0 + Duration::from_millis(1010))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_block_is_waited_out_in_short_pauses_then_the_minute_then_the_hour() {
        let cfg = QuotaConfig::new(1000, 10_000, 1.0, Duration::from_secs(1));
        let api = Api::new(cfg);
        assert!(!api.admit().await);
        api.complete();
        let first = api.refused(false);
        assert_eq!((first.level, first.wait), (1, Duration::from_secs(1)));
        // Calls in flight when the block began are refused too, but change nothing.
        assert!(!api.refused(false).raised);
        let t0 = Instant::now();
        assert!(
            api.admit().await,
            "the first call after the pause is the probe"
        );
        assert_eq!(t0.elapsed(), Duration::from_secs(1));
        api.complete();
        let short = api.refused(true);
        assert_eq!(
            (short.level, short.wait),
            (1, Duration::from_secs(2)),
            "twice as long"
        );
        assert!(api.admit().await);
        api.complete();
        let minute = api.refused(true);
        assert_eq!((minute.level, minute.wait), (2, Duration::from_secs(57)));
        assert!(api.admit().await);
        api.complete();
        let hour = api.refused(true);
        assert_eq!((hour.level, hour.wait), (3, Duration::from_secs(3540)));
        assert!(api.admit().await);
        assert_eq!(
            t0.elapsed(),
            Duration::from_secs(3600),
            "an hour from the first refusal"
        );
        api.complete();
        api.probe_done(true);
        let t1 = Instant::now();
        assert!(!api.admit().await, "the block is over: no probe, no wait");
        assert_eq!(t1.elapsed(), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn only_one_probe_goes_out_while_a_block_lasts() {
        let api = Arc::new(Api::new(QuotaConfig::new(
            1000,
            10_000,
            1.0,
            Duration::from_millis(100),
        )));
        api.refused(false);
        assert!(api.admit().await);
        let other = tokio::spawn({
            let api = api.clone();
            async move { api.admit().await }
        });
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert!(!other.is_finished(), "waits for the probe's answer");
        api.complete();
        api.probe_done(true);
        assert!(!other.await.unwrap());
    }

    #[test]
    fn each_path_has_its_own_budget() {
        let q = Quotas::new(QuotaConfig::unlimited());
        assert!(Arc::ptr_eq(&q.api("/a"), &q.api("/a")));
        assert!(!Arc::ptr_eq(&q.api("/a"), &q.api("/b")));
    }
}
