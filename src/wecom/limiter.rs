//! The run-wide pace: one governor rate limiter shared by every request, the per-API minute and
//! hour budgets and block wait-out ([`super::quota`]), a pause that a 45033 imposes on the
//! *whole* run, an adaptive slowdown, and a concurrency bound that shrinks on 45033.
//!
//! WeCom's limits are per company and per API, and other apps of the same company draw on them
//! too, so one run must never hammer them. A throttle that is news (the first 45009 of a block,
//! a 45033) halves the run's pace; the pace then wins itself back with time, halving the
//! slowdown every [`RECOVERY_HALF_LIFE`] (so, from the deepest slowdown, full speed again
//! within 10 s of the last throttle), never above the configured rate. A block refusing the
//! probe again is waited out ([`super::quota`]) without touching the pace: the pace was not
//! the problem, and halving it again and again would leave the run crawling long after the
//! block.

use super::quota::{Api, Escalation, QuotaConfig, Quotas};
use crate::config::job::FetchConfig;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::{Mutex, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// Longest pause one throttle answer can impose (WeCom's minute-level block lasts 60 s).
pub const MAX_THROTTLE_PAUSE: Duration = Duration::from_secs(60);
/// The pace never drops below the configured rate divided by this.
const MAX_SLOWDOWN: f64 = 64.0;
/// The slowdown halves every this long without a throttle that is news (from the deepest,
/// 64, back to full speed in 6 × 1.5 = 9 s).
pub const RECOVERY_HALF_LIFE: Duration = Duration::from_millis(1500);

/// Adaptive state shared by all requests.
struct Pace {
    /// 45033 answers in a row (reset by a success).
    streak: u32,
    /// Configured rate ÷ current rate (1 = full speed) at `since`.
    slowdown: f64,
    /// From when the slowdown decays.
    since: Instant,
    /// Earliest start of the next request while slowed down.
    next_at: Instant,
}

impl Pace {
    /// The slowdown at `now`: halved every [`RECOVERY_HALF_LIFE`] since `since`.
    fn slowdown(&self, now: Instant) -> f64 {
        let t = now.saturating_duration_since(self.since).as_secs_f64();
        (self.slowdown * 0.5f64.powf(t / RECOVERY_HALF_LIFE.as_secs_f64())).max(1.0)
    }

    /// Halves the pace from `now`, decaying from `resume` (when calls go out again).
    fn halve(&mut self, now: Instant, resume: Instant) -> f64 {
        self.slowdown = (self.slowdown(now) * 2.0).min(MAX_SLOWDOWN);
        self.since = resume;
        self.slowdown
    }
}

/// One admitted call: hold it while the request is on the wire, then [`Ticket::answered`].
/// Dropped unanswered (a cancelled call) it still counts in the budgets.
pub struct Ticket {
    permit: Option<OwnedSemaphorePermit>,
    api: Arc<Api>,
    probe: bool,
}

impl Ticket {
    /// The answer came back: the call leaves the wire (its completion counts in the
    /// budgets from now) and its concurrency slot is free.
    pub fn answered(mut self) -> Answered {
        self.permit.take();
        self.api.complete();
        let probe = std::mem::replace(&mut self.probe, false);
        Answered {
            api: self.api.clone(),
            probe,
        }
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if self.permit.is_some() {
            self.api.complete();
            if self.probe {
                self.api.probe_done(false);
            }
        }
    }
}

/// A call whose answer is in hand: [`Limiter::refused`] for a 45009; any other answer (dropping
/// it) ends a block it probed.
pub struct Answered {
    api: Arc<Api>,
    probe: bool,
}

impl Drop for Answered {
    fn drop(&mut self) {
        if self.probe {
            self.api.probe_done(true);
        }
    }
}

pub struct Limiter {
    rate: DefaultDirectRateLimiter,
    period: Duration,
    quotas: Quotas,
    pace: std::sync::Mutex<Pace>,
    paused_until: Mutex<Option<Instant>>,
    slots: Arc<Semaphore>,
    /// Permits currently in circulation (the concurrency bound).
    width: AtomicUsize,
}

impl Limiter {
    /// `rate` calls per second with `burst` calls allowed at once, `concurrency` in flight, and
    /// no minute or hour budget to speak of.
    pub fn new(rate: f64, burst: u32, concurrency: usize) -> Self {
        Limiter::with_quotas(rate, burst, concurrency, QuotaConfig::unlimited())
    }

    /// The limiter a job's `[fetch]` settings ask for.
    pub fn from_config(f: &FetchConfig) -> Self {
        let quotas = QuotaConfig::new(
            f.per_minute,
            f.per_hour,
            f.quota_window_scale,
            f.throttle_pause,
        );
        Limiter::with_quotas(f.rate, f.burst, f.concurrency, quotas)
    }

    /// [`Limiter::new`] with per-API budgets.
    pub fn with_quotas(rate: f64, burst: u32, concurrency: usize, quotas: QuotaConfig) -> Self {
        let period = Duration::from_secs_f64(1.0 / rate.max(1e-6));
        let burst = NonZeroU32::new(burst.max(1)).expect("burst >= 1");
        let quota = Quota::with_period(period)
            .expect("a positive period")
            .allow_burst(burst);
        Limiter {
            rate: RateLimiter::direct(quota),
            period,
            quotas: Quotas::new(quotas),
            pace: std::sync::Mutex::new(Pace {
                streak: 0,
                slowdown: 1.0,
                since: Instant::now(),
                next_at: Instant::now(),
            }),
            paused_until: Mutex::new(None),
            slots: Arc::new(Semaphore::new(concurrency.max(1))),
            width: AtomicUsize::new(concurrency.max(1)),
        }
    }

    /// Waits for a concurrency slot, any run-wide pause, the budgets (and any block) of the API
    /// at `path`, and the rate limiter, in that order. Hold the ticket while the request is on
    /// the wire.
    pub async fn acquire(&self, path: &str) -> Ticket {
        let permit = self
            .slots
            .clone()
            .acquire_owned()
            .await
            .expect("the semaphore is never closed");
        loop {
            let until = *self.paused_until.lock().await;
            match until {
                Some(t) if t > Instant::now() => tokio::time::sleep_until(t).await,
                _ => break,
            }
        }
        let api = self.quotas.api(path);
        loop {
            let probe = api.admit().await;
            self.rate.until_ready().await;
            self.pace_slot().await;
            // A block that began while this call waited for the rate holds it back too
            // (sending it would only add a refusal).
            if probe || api.clear() {
                return Ticket {
                    permit: Some(permit),
                    api,
                    probe,
                };
            }
            api.withdraw();
        }
    }

    /// Waits for the next slot of the slowed-down pace, if the run is slowed down.
    async fn pace_slot(&self) {
        let slot = {
            let mut p = self.pace.lock().expect("pace lock");
            let now = Instant::now();
            let slowdown = p.slowdown(now);
            if slowdown > 1.0 {
                let slot = p.next_at.max(now);
                p.next_at = slot + self.period.mul_f64(slowdown);
                Some(slot)
            } else {
                None
            }
        };
        if let Some(slot) = slot {
            tokio::time::sleep_until(slot).await;
        }
    }

    /// Records a 45009 (frequency or quota) for the call `answered`: its API waits out the
    /// block (see [`super::quota`]); the first refusal of a block also halves the pace.
    /// Returns what the refusal led to and the calls/s now.
    pub fn refused(&self, answered: Answered) -> (Escalation, f64) {
        let mut answered = answered;
        let probe = std::mem::replace(&mut answered.probe, false);
        let e = answered.api.refused(probe);
        let now = Instant::now();
        let mut p = self.pace.lock().expect("pace lock");
        let slowdown = if e.first {
            p.halve(now, now + e.wait)
        } else {
            p.slowdown(now)
        };
        (e, self.rate_per_s() / slowdown)
    }

    /// Records a 45033: pauses the run (`base`, doubling per 45033 in a row, at most a minute)
    /// and halves the pace. Returns the pause and the new calls/s.
    pub async fn throttled(&self, base: Duration) -> (Duration, f64) {
        let (pause, slowdown) = {
            let mut p = self.pace.lock().expect("pace lock");
            p.streak = p.streak.saturating_add(1);
            let pause = base
                .saturating_mul(2u32.saturating_pow(p.streak - 1))
                .min(MAX_THROTTLE_PAUSE);
            let now = Instant::now();
            (pause, p.halve(now, now + pause))
        };
        self.pause(pause).await;
        (pause, self.rate_per_s() / slowdown)
    }

    /// Records a success: ends a 45033 streak (the pace wins itself back with time).
    pub fn recovered(&self) {
        self.pace.lock().expect("pace lock").streak = 0;
    }

    /// The configured calls/s.
    fn rate_per_s(&self) -> f64 {
        1.0 / self.period.as_secs_f64()
    }

    /// The calls/s the pace allows now (the configured rate while not slowed down).
    pub fn current_rate(&self) -> f64 {
        let p = self.pace.lock().expect("pace lock");
        self.rate_per_s() / p.slowdown(Instant::now())
    }

    /// An estimate of the time `calls` more calls to `path` take: the longest of the rate's
    /// share and the budgets' (plus any block being waited out).
    pub fn eta(&self, path: &str, calls: usize) -> Duration {
        let by_rate = Duration::from_secs_f64(calls as f64 / self.current_rate());
        by_rate.max(self.quotas.api(path).eta(calls))
    }

    /// The budgets every API gets.
    pub fn quota_config(&self) -> QuotaConfig {
        self.quotas.config()
    }

    /// Pauses every request of the run for `d` (extends, never shortens, a pause in force).
    pub async fn pause(&self, d: Duration) {
        let until = Instant::now() + d.min(MAX_THROTTLE_PAUSE);
        let mut p = self.paused_until.lock().await;
        if p.is_none_or(|cur| cur < until) {
            *p = Some(until);
        }
    }

    /// Lowers the concurrency bound by one (never below one) after a 45033 answer.
    pub fn narrow(&self) -> usize {
        let mut w = self.width.load(Ordering::SeqCst);
        while w > 1 {
            match self
                .width
                .compare_exchange(w, w - 1, Ordering::SeqCst, Ordering::SeqCst)
            {
                Ok(_) => {
                    // Take one permit out of circulation for the rest of the run.
                    let slots = self.slots.clone();
                    tokio::spawn(async move {
                        if let Ok(p) = slots.acquire_owned().await {
                            p.forget();
                        }
                    });
                    return w - 1;
                }
                Err(cur) => w = cur,
            }
        }
        w
    }

    pub fn concurrency(&self) -> usize {
        self.width.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PATH: &str = "/cgi-bin/meeting/get_info";

    #[tokio::test(start_paused = true)]
    async fn a_pause_holds_back_every_request() {
        let l = Limiter::new(1000.0, 10, 4);
        l.pause(Duration::from_secs(2)).await;
        let t0 = Instant::now();
        drop(l.acquire(PATH).await);
        assert!(t0.elapsed() >= Duration::from_secs(2));
    }

    #[tokio::test(start_paused = true)]
    async fn a_45033_halves_the_pace_and_time_wins_it_back() {
        let l = Limiter::new(100.0, 1, 4);
        let (pause, rate) = l.throttled(Duration::from_millis(100)).await;
        assert_eq!(pause, Duration::from_millis(100));
        assert!((rate - 50.0).abs() < 1e-6, "{rate}");
        let (pause, rate) = l.throttled(Duration::from_millis(100)).await;
        assert_eq!(
            pause,
            Duration::from_millis(200),
            "doubles while throttles continue"
        );
        assert!((rate - 25.0).abs() < 1.0, "{rate}");
        l.recovered();
        let (pause, _) = l.throttled(Duration::from_millis(100)).await;
        assert_eq!(
            pause,
            Duration::from_millis(100),
            "a success ended the streak"
        );
        tokio::time::sleep(RECOVERY_HALF_LIFE * 8).await;
        assert!((l.current_rate() - 100.0).abs() < 1e-6);
    }

    /// Calls to `PATH` answered at once, refused with 45009 while `blocked` says so; returns
    /// the start times of the answered ones.
    async fn drive(l: &Limiter, until: Instant, blocked: impl Fn(Instant) -> bool) -> Vec<Instant> {
        let mut ok = Vec::new();
        loop {
            let t = l.acquire(PATH).await;
            let now = Instant::now();
            if now >= until {
                return ok;
            }
            let a = t.answered();
            if blocked(now) {
                l.refused(a);
            } else {
                ok.push(now);
                l.recovered();
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn after_a_throttle_storm_the_pace_is_back_above_95_percent_within_10_s() {
        let rate = 50.0;
        let l = Limiter::with_quotas(
            rate,
            100,
            1,
            QuotaConfig::new(10_000, 150_000, 1.0, Duration::from_millis(200)),
        );
        // The worst storm: blocks that each clear after the short pause, so that each one
        // halves the pace anew.
        for _ in 0..8 {
            let t = l.acquire(PATH).await;
            l.refused(t.answered());
            let probe = l.acquire(PATH).await;
            drop(probe.answered());
            l.recovered();
        }
        assert!(l.current_rate() < rate / 8.0, "{}", l.current_rate());
        tokio::time::sleep(Duration::from_secs(10)).await;
        assert!(l.current_rate() >= 0.95 * rate, "{}", l.current_rate());
    }

    #[tokio::test(start_paused = true)]
    async fn a_throttle_storm_halves_the_pace_once_not_again_and_again() {
        let l = Limiter::with_quotas(
            100.0,
            1,
            1,
            QuotaConfig::new(10_000, 150_000, 1.0, Duration::from_millis(100)),
        );
        let t0 = Instant::now();
        let mut slowest = f64::MAX;
        // Short pauses of 0.1, 0.2, 0.4, 0.8 and 1.6 s, the minute, the hour, and the probe
        // after it.
        for _ in 0..8 {
            let t = l.acquire(PATH).await;
            let (_, rate) = l.refused(t.answered());
            slowest = slowest.min(rate);
        }
        assert!((slowest - 50.0).abs() < 1.0, "{slowest}");
        // Waited the short pauses, then the rest of the minute, then the rest of the hour.
        assert!(
            t0.elapsed() >= Duration::from_secs(3599),
            "{:?}",
            t0.elapsed()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_budgets_hold_in_every_span_over_a_backfill_of_three_hours() {
        let l = Limiter::with_quotas(
            1000.0,
            50,
            8,
            QuotaConfig::new(100, 1_000, 1.0, Duration::from_secs(1)),
        );
        let t0 = Instant::now();
        let starts = drive(&l, t0 + Duration::from_secs(3 * 3600), |_| false).await;
        assert_eq!(starts.len(), 3_000, "three hours' budgets, every one used");
        let most_in = |span: Duration| {
            let mut lo = 0;
            (0..starts.len())
                .map(|hi| {
                    while starts[hi] >= starts[lo] + span {
                        lo += 1;
                    }
                    hi - lo + 1
                })
                .max()
                .unwrap()
        };
        assert_eq!(most_in(Duration::from_secs(60)), 100);
        assert_eq!(most_in(Duration::from_secs(3600)), 1_000);
    }

    #[tokio::test]
    async fn narrowing_never_goes_below_one() {
        let l = Limiter::new(1000.0, 10, 2);
        assert_eq!(l.narrow(), 1);
        assert_eq!(l.narrow(), 1);
        assert_eq!(l.concurrency(), 1);
    }
}
