//! The run-wide pace: one governor rate limiter shared by every request, a pause that a throttle
//! answer (45009/45033) imposes on the *whole* run, and a concurrency bound that shrinks on 45033.
//!
//! WeCom's limits are per company and per API, so one run must never hammer them: after a
//! throttle answer every request waits out the pause, not just the one that was refused.

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::{Mutex, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// Longest pause one throttle answer can impose (WeCom's minute-level block lasts 60 s).
pub const MAX_THROTTLE_PAUSE: Duration = Duration::from_secs(60);

pub struct Limiter {
    rate: DefaultDirectRateLimiter,
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
        permit
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

    #[tokio::test]
    async fn narrowing_never_goes_below_one() {
        let l = Limiter::new(1000.0, 10, 2);
        assert_eq!(l.narrow(), 1);
        assert_eq!(l.narrow(), 1);
        assert_eq!(l.concurrency(), 1);
    }
}
