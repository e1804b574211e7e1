//! The run-wide pace: one governor rate limiter shared by every request, a pause that a throttle
//! answer (45009/45033) imposes on the *whole* run, an adaptive slowdown, and a concurrency bound
//! that shrinks on 45033.
//!
//! WeCom's limits are per company and per API, and other apps of the same company draw on them
//! too, so one run must never hammer them: after a throttle answer every request waits out the
//! pause (doubling while throttles keep coming), and the run's pace halves; each success then
//! wins a little of the pace back (multiplicative decrease, slow recovery), never above the
//! configured rate.

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
/// Each success divides the slowdown by this (about 35 successes halve it).
const RECOVERY: f64 = 1.02;

/// Adaptive state shared by all requests.
struct Pace {
    /// Throttle answers in a row (reset by a success).
    streak: u32,
    /// Configured rate ÷ current rate (1 = full speed).
    slowdown: f64,
    /// Earliest start of the next request while slowed down.
    next_at: Instant,
}

pub struct Limiter {
    rate: DefaultDirectRateLimiter,
    period: Duration,
    pace: std::sync::Mutex<Pace>,
    paused_until: Mutex<Option<Instant>>,
    slots: Arc<Semaphore>,
    /// Permits currently in circulation (the concurrency bound).
    width: AtomicUsize,
}

impl Limiter {
    /// `rate` calls per second with `burst` calls allowed at once, `concurrency` in flight.
    pub fn new(rate: f64, burst: u32, concurrency: usize) -> Self {
        let period = Duration::from_secs_f64(1.0 / rate.max(1e-6));
        let burst = NonZeroU32::new(burst.max(1)).expect("burst >= 1");
        let quota = Quota::with_period(period)
            .expect("a positive period")
            .allow_burst(burst);
        Limiter {
            rate: RateLimiter::direct(quota),
            period,
            pace: std::sync::Mutex::new(Pace {
                streak: 0,
                slowdown: 1.0,
                next_at: Instant::now(),
            }),
            paused_until: Mutex::new(None),
            slots: Arc::new(Semaphore::new(concurrency.max(1))),
            width: AtomicUsize::new(concurrency.max(1)),
        }
    }

    /// Waits for a concurrency slot, any run-wide pause, and the rate limiter, in that order.
    /// Hold the returned permit for the duration of the request.
    pub async fn acquire(&self) -> OwnedSemaphorePermit {
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
        self.rate.until_ready().await;
        let slot = {
            let mut p = self.pace.lock().expect("pace lock");
            if p.slowdown > 1.0 {
                let slot = p.next_at.max(Instant::now());
                p.next_at = slot + self.period.mul_f64(p.slowdown);
                Some(slot)
            } else {
                None
            }
        };
        if let Some(slot) = slot {
            tokio::time::sleep_until(slot).await;
        }
        permit
    }

    /// Records a throttle answer: pauses the run (`base`, doubling per throttle in a row, at
    /// most a minute) and halves the pace. Returns the pause and the new calls/s.
    pub async fn throttled(&self, base: Duration) -> (Duration, f64) {
        let (pause, slowdown) = {
            let mut p = self.pace.lock().expect("pace lock");
            p.streak = p.streak.saturating_add(1);
            p.slowdown = (p.slowdown * 2.0).min(MAX_SLOWDOWN);
            let pause = base
                .saturating_mul(2u32.saturating_pow(p.streak - 1))
                .min(MAX_THROTTLE_PAUSE);
            (pause, p.slowdown)
        };
        self.pause(pause).await;
        (pause, 1.0 / self.period.as_secs_f64() / slowdown)
    }

    /// Records a success: ends a throttle streak and wins back a little of the pace.
    pub fn recovered(&self) {
        let mut p = self.pace.lock().expect("pace lock");
        p.streak = 0;
        if p.slowdown > 1.0 {
            p.slowdown = (p.slowdown / RECOVERY).max(1.0);
        }
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

    #[tokio::test(start_paused = true)]
    async fn a_pause_holds_back_every_request() {
        let l = Limiter::new(1000.0, 10, 4);
        l.pause(Duration::from_secs(2)).await;
        let t0 = Instant::now();
        drop(l.acquire().await);
        assert!(t0.elapsed() >= Duration::from_secs(2));
    }

    #[tokio::test(start_paused = true)]
    async fn a_throttle_halves_the_pace_and_successes_win_it_back() {
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
        assert!((rate - 25.0).abs() < 1e-6, "{rate}");
        // Slowed to 25/s: ten requests take at least 9 × 40 ms after the pause.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let t0 = Instant::now();
        for _ in 0..10 {
            drop(l.acquire().await);
        }
        assert!(
            t0.elapsed() >= Duration::from_millis(360),
            "{:?}",
            t0.elapsed()
        );
        for _ in 0..200 {
            l.recovered();
        }
        assert_eq!(l.pace.lock().unwrap().slowdown, 1.0);
        let (pause, _) = l.throttled(Duration::from_millis(100)).await;
        assert_eq!(
            pause,
            Duration::from_millis(100),
            "a success ended the streak"
        );
    }

    #[tokio::test]
    async fn narrowing_never_goes_below_one() {
        let l = Limiter::new(1000.0, 10, 2);
        assert_eq!(l.narrow(), 1);
        assert_eq!(l.narrow(), 1);
        assert_eq!(l.concurrency(), 1);
    }
}
