//! The fake server's two admission checks: a token bucket for the call rate (45009) and an
//! in-flight counter for concurrency (45033).
//!
//! The bucket is exact integer GCRA arithmetic (the same model `governor` uses on the client
//! side), so a client pacing itself at the server's rate never trips it through rounding. The
//! in-flight count is released by a guard's `Drop`, so a handler cancelled mid-answer (client
//! gone, timeout) gives its slot back.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

const NANOS_PER_SECOND: u64 = 1_000_000_000;

/// Allows `rate` calls per second with up to `capacity` at once; starts full.
pub(crate) struct TokenBucket {
    /// Nanoseconds one call "costs" (1 s / rate).
    interval_ns: u64,
    /// How far ahead of now the theoretical arrival time may run (capacity × interval).
    tolerance_ns: u64,
    origin: Instant,
    /// Theoretical arrival time of the next call, in ns since `origin`.
    tat_ns: Mutex<u64>,
}

impl TokenBucket {
    /// A bucket refilling `rate` tokens a second, holding at most `capacity`. A rate or capacity
    /// of 0 refuses every call.
    pub fn new(rate: u32, capacity: u32, origin: Instant) -> Self {
        let interval_ns = if rate == 0 {
            u64::MAX
        } else {
            NANOS_PER_SECOND / u64::from(rate)
        };
        TokenBucket {
            interval_ns,
            tolerance_ns: interval_ns.saturating_mul(u64::from(capacity)),
            origin,
            tat_ns: Mutex::new(0),
        }
    }

    /// Takes one token if there is one now.
    pub fn try_take(&self) -> bool {
        self.try_take_at(Instant::now())
    }

    /// Takes one token if there is one at `now` (which must not go backwards much; earlier
    /// instants are read as the bucket's origin).
    pub fn try_take_at(&self, now: Instant) -> bool {
        if self.interval_ns == u64::MAX || self.tolerance_ns == 0 {
            return false;
        }
        let now_ns = now
            .saturating_duration_since(self.origin)
            .as_nanos()
            .min(u128::from(u64::MAX / 2)) as u64;
        let mut tat = self.tat_ns.lock().expect("bucket lock");
        let next = (*tat).max(now_ns) + self.interval_ns;
        if next - now_ns > self.tolerance_ns {
            return false;
        }
        *tat = next;
        true
    }
}

/// Counts requests in flight.
#[derive(Default)]
pub(crate) struct InFlight {
    now: AtomicU64,
}

/// One request in flight; leaving (or being dropped mid-way) gives the slot back.
pub(crate) struct InFlightGuard<'a>(&'a AtomicU64);

impl Drop for InFlightGuard<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl InFlight {
    /// Enters, returning the guard and the number in flight including this one.
    pub fn enter(&self) -> (InFlightGuard<'_>, u64) {
        let n = self.now.fetch_add(1, Ordering::AcqRel) + 1;
        (InFlightGuard(&self.now), n)
    }

    /// Requests in flight right now.
    pub fn current(&self) -> u64 {
        self.now.load(Ordering::Acquire)
    }
}

/// Sleeps `d` unless it is zero (a zero sleep would still yield to the scheduler).
pub(crate) async fn pause(d: Duration) {
    if !d.is_zero() {
        tokio::time::sleep(d).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(origin: Instant, ms: u64) -> Instant {
        origin + Duration::from_millis(ms)
    }

    #[test]
    fn a_full_bucket_allows_exactly_its_capacity_at_once() {
        let o = Instant::now();
        let b = TokenBucket::new(10, 10, o);
        assert_eq!((0..15).filter(|_| b.try_take_at(o)).count(), 10);
    }

    #[test]
    fn an_empty_bucket_refills_one_token_per_interval() {
        let o = Instant::now();
        let b = TokenBucket::new(10, 10, o);
        (0..10).for_each(|_| assert!(b.try_take_at(o)));
        assert!(!b.try_take_at(at(o, 99)));
        assert!(b.try_take_at(at(o, 100)));
        assert!(!b.try_take_at(at(o, 100)));
    }

    #[test]
    fn a_client_pacing_at_the_rate_after_draining_the_bucket_is_never_refused() {
        let o = Instant::now();
        let b = TokenBucket::new(50, 50, o);
        (0..50).for_each(|_| assert!(b.try_take_at(o)));
        for i in 1..=500 {
            assert!(b.try_take_at(at(o, i * 20)), "call {i}");
        }
    }

    #[test]
    fn a_client_above_the_rate_is_refused_the_excess() {
        let o = Instant::now();
        let b = TokenBucket::new(20, 20, o);
        // 40 calls a second for 2 s: 20 (bucket) + 40 (refill) pass, 20 are refused.
        let ok = (0..80).filter(|i| b.try_take_at(at(o, i * 25))).count();
        assert!((59..=61).contains(&ok), "{ok} passed");
    }

    #[test]
    fn a_zero_rate_refuses_everything() {
        let o = Instant::now();
        assert!(!TokenBucket::new(0, 5, o).try_take_at(o));
        assert!(!TokenBucket::new(5, 0, o).try_take_at(o));
    }

    #[tokio::test]
    async fn a_cancelled_request_gives_its_in_flight_slot_back() {
        let f = InFlight::default();
        let slow = async {
            let (_guard, n) = f.enter();
            assert_eq!(n, 1);
            tokio::time::sleep(Duration::from_secs(60)).await;
        };
        let cancelled = tokio::time::timeout(Duration::from_millis(10), slow).await;
        assert!(cancelled.is_err());
        assert_eq!(f.current(), 0);
    }
}
