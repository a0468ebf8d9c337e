//! Per-recipient rate limits: a token bucket kept as one atomic, driven by the time the host
//! passes in (GCRA, the "generic cell rate algorithm", which is a token bucket without a
//! refill timer).
//!
//! The state lives in the engine instance, one limiter per configured recipient: memory grows
//! with the configuration, never with traffic. Several instances behind a load balancer each
//! enforce the limit on their own, and a reload starts every bucket full again.

use std::sync::atomic::{AtomicI64, Ordering};

/// A configured rate: a sustained number of requests per second and a burst.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RateLimit {
    /// Requests per second, sustained (may be fractional, e.g. 0.5).
    pub requests_per_second: f64,
    /// Requests that may arrive at once after a quiet period.
    pub burst: u32,
}

/// The bucket of one recipient.
#[derive(Debug)]
pub struct RateLimiter {
    /// Microseconds one request costs.
    interval_us: i64,
    /// `burst × interval`: how far the theoretical arrival time may run ahead of now.
    tolerance_us: i64,
    /// The theoretical arrival time of the next request, in Unix microseconds.
    tat_us: AtomicI64,
}

impl RateLimiter {
    /// A full bucket for `limit`.
    pub fn new(limit: RateLimit) -> RateLimiter {
        let interval_us = (1_000_000.0 / limit.requests_per_second).round().clamp(1.0, i64::MAX as f64 / 4.0) as i64;
        let tolerance_us = interval_us.saturating_mul(i64::from(limit.burst.max(1)));
        RateLimiter { interval_us, tolerance_us, tat_us: AtomicI64::new(i64::MIN / 2) }
    }

    /// Takes one request at `now_ms`. `Err` carries the seconds to wait before one is allowed
    /// again (rounded up, at least 1), for `Retry-After`.
    pub fn acquire(&self, now_ms: i64) -> Result<(), u64> {
        let now = now_ms.saturating_mul(1000);
        let mut tat = self.tat_us.load(Ordering::Relaxed);
        loop {
            let next = tat.max(now).saturating_add(self.interval_us);
            let ahead = next.saturating_sub(now);
            if ahead > self.tolerance_us {
                let wait_us = (ahead - self.tolerance_us) as u64;
                return Err(wait_us.div_ceil(1_000_000).max(1));
            }
            match self.tat_us.compare_exchange_weak(tat, next, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => return Ok(()),
                Err(actual) => tat = actual,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_the_burst_then_the_rate() {
        let limiter = RateLimiter::new(RateLimit { requests_per_second: 2.0, burst: 3 });
        let t = 1_700_000_000_000;
        for _ in 0..3 {
            assert_eq!(limiter.acquire(t), Ok(()));
        }
        assert_eq!(limiter.acquire(t), Err(1));
        assert_eq!(limiter.acquire(t + 499), Err(1));
        assert_eq!(limiter.acquire(t + 500), Ok(()));
        assert_eq!(limiter.acquire(t + 500), Err(1));
        // A quiet period refills the bucket, never beyond the burst.
        for _ in 0..3 {
            assert_eq!(limiter.acquire(t + 60_000), Ok(()));
        }
        assert_eq!(limiter.acquire(t + 60_000), Err(1));
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        let limiter = RateLimiter::new(RateLimit { requests_per_second: 0.1, burst: 1 });
        assert_eq!(limiter.acquire(0), Ok(()));
        assert_eq!(limiter.acquire(0), Err(10));
        assert_eq!(limiter.acquire(9_001), Err(1));
        assert_eq!(limiter.acquire(10_000), Ok(()));
    }
}
