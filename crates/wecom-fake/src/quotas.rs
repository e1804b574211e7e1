//! WeCom's minute and hour quotas, per API, with its block semantics: each API (request path
//! under `/cgi-bin/`, except `gettoken`) may take `quota_per_minute` calls in a minute window
//! and `quota_per_hour` in an hour window; the call that would exceed one is refused with
//! 45009 and blocks the API — 60 s for the minute quota, 60 min for the hour quota — during
//! which every call is refused (and not counted).
//!
//! Windows are fixed (aligned on the server's start) and last 60 s and 3,600 s times
//! `quota_clock_scale`, so a test can run an "hour" in seconds. Every call that gets past the
//! block counts, whatever its answer. The busiest window each API saw is in the stats, which
//! is how tests and benchmarks check that a client held its budget.

use super::reply::{self, errcode};
use super::state::State;
use super::stats::bump;
use axum::extract::{Request, State as Shared};
use axum::middleware::Next;
use axum::response::Response;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const MINUTE: Duration = Duration::from_secs(60);
const HOUR: Duration = Duration::from_secs(3600);

/// One API's windows and block.
#[derive(Default)]
struct Usage {
    minute: (u64, u32),
    hour: (u64, u32),
    blocked_until: Option<Instant>,
    busiest_minute: u32,
    busiest_hour: u32,
}

/// Why a call was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The API is blocked (by an earlier call).
    Blocked,
    /// This call tripped the minute quota.
    TrippedMinute,
    /// This call tripped the hour quota.
    TrippedHour,
}

/// The quotas of every API.
pub(crate) struct Quotas {
    per_minute: Option<u32>,
    per_hour: Option<u32>,
    minute: Duration,
    hour: Duration,
    origin: Instant,
    usage: Mutex<HashMap<String, Usage>>,
}

impl Quotas {
    pub fn new(per_minute: Option<u32>, per_hour: Option<u32>, scale: f64) -> Self {
        let scale = if scale.is_finite() && scale > 0.0 {
            scale
        } else {
            1.0
        };
        Quotas {
            per_minute,
            per_hour,
            minute: MINUTE.mul_f64(scale),
            hour: HOUR.mul_f64(scale),
            origin: Instant::now(),
            usage: Mutex::new(HashMap::new()),
        }
    }

    fn enabled(&self) -> bool {
        self.per_minute.is_some() || self.per_hour.is_some()
    }

    /// Counts a call to `path` at `now`, or says why it is refused.
    pub fn admit(&self, path: &str, now: Instant) -> Result<(), Refusal> {
        let mut all = self.usage.lock().expect("quota lock");
        let u = all.entry(path.to_owned()).or_default();
        if u.blocked_until.is_some_and(|t| now < t) {
            return Err(Refusal::Blocked);
        }
        let since = now.saturating_duration_since(self.origin);
        let index = |span: Duration| (since.as_nanos() / span.as_nanos().max(1)) as u64;
        for (slot, span) in [(&mut u.minute, self.minute), (&mut u.hour, self.hour)] {
            let i = index(span);
            if slot.0 != i {
                *slot = (i, 0);
            }
        }
        if self.per_hour.is_some_and(|q| u.hour.1 >= q) {
            u.blocked_until = Some(now + self.hour);
            return Err(Refusal::TrippedHour);
        }
        if self.per_minute.is_some_and(|q| u.minute.1 >= q) {
            u.blocked_until = Some(now + self.minute);
            return Err(Refusal::TrippedMinute);
        }
        u.minute.1 += 1;
        u.hour.1 += 1;
        u.busiest_minute = u.busiest_minute.max(u.minute.1);
        u.busiest_hour = u.busiest_hour.max(u.hour.1);
        Ok(())
    }

    /// Per API: the most calls counted in one minute window, and in one hour window.
    pub fn busiest(&self) -> (BTreeMap<String, u64>, BTreeMap<String, u64>) {
        let all = self.usage.lock().expect("quota lock");
        let pick = |f: fn(&Usage) -> u32| {
            all.iter()
                .map(|(k, u)| (k.clone(), u64::from(f(u))))
                .collect()
        };
        (pick(|u| u.busiest_minute), pick(|u| u.busiest_hour))
    }
}

/// The middleware applying the quotas before any handler of a `/cgi-bin/` API.
pub(crate) async fn admit(Shared(s): Shared<Arc<State>>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    let counted = path.starts_with("/cgi-bin/") && path != "/cgi-bin/gettoken";
    if counted && s.quotas.enabled() {
        match s.quotas.admit(path, Instant::now()) {
            Ok(()) => {}
            Err(refusal) => {
                bump(&s.counters.throttled_45009);
                match refusal {
                    Refusal::Blocked => bump(&s.counters.quota_refused),
                    Refusal::TrippedMinute => bump(&s.counters.quota_blocks_minute),
                    Refusal::TrippedHour => bump(&s.counters.quota_blocks_hour),
                }
                return reply::error(errcode::RATE_LIMITED);
            }
        }
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(q: &Quotas, ms: u64) -> Instant {
        q.origin + Duration::from_millis(ms)
    }

    #[test]
    fn the_call_beyond_the_minute_quota_blocks_the_api_for_a_minute() {
        let q = Quotas::new(Some(3), None, 1.0);
        (0..3).for_each(|_| assert_eq!(q.admit("/a", at(&q, 10)), Ok(())));
        assert_eq!(q.admit("/a", at(&q, 20)), Err(Refusal::TrippedMinute));
        assert_eq!(
            q.admit("/b", at(&q, 20)),
            Ok(()),
            "another API is not blocked"
        );
        // The next window has room, but the block lasts 60 s from the trip.
        assert_eq!(q.admit("/a", at(&q, 60_019)), Err(Refusal::Blocked));
        assert_eq!(q.admit("/a", at(&q, 60_020)), Ok(()));
        assert_eq!(q.busiest().0["/a"], 3);
    }

    #[test]
    fn the_hour_quota_blocks_for_an_hour_on_a_scaled_clock() {
        let q = Quotas::new(Some(100), Some(5), 0.001); // minute 60 ms, hour 3.6 s
        for i in 0..5 {
            assert_eq!(q.admit("/a", at(&q, i * 100)), Ok(()), "call {i}");
        }
        assert_eq!(q.admit("/a", at(&q, 600)), Err(Refusal::TrippedHour));
        assert_eq!(q.admit("/a", at(&q, 4_199)), Err(Refusal::Blocked));
        assert_eq!(q.admit("/a", at(&q, 4_200)), Ok(()));
    }

    #[test]
    fn refused_calls_do_not_count() {
        let q = Quotas::new(Some(1), None, 1.0);
        assert_eq!(q.admit("/a", at(&q, 0)), Ok(()));
        assert_eq!(q.admit("/a", at(&q, 1)), Err(Refusal::TrippedMinute));
        for ms in 2..100 {
            assert_eq!(q.admit("/a", at(&q, ms)), Err(Refusal::Blocked));
        }
        assert_eq!(q.admit("/a", at(&q, 60_001)), Ok(()));
        assert_eq!(q.busiest().0["/a"], 1);
    }
}
