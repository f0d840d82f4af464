//! Retry delays: exponential with jitter, capped; a receiver's own `Retry-After` is honoured
//! within the same cap.
//!
//! Retries are persisted (`next_attempt_at`), not slept on in memory, so the delay for attempt
//! *n* is computed from backon's exponential policy rather than by wrapping the call in a retry
//! loop: a restart mid-backoff keeps its schedule.

use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};

#[derive(Debug, Clone)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
}

impl Backoff {
    pub fn new(initial: Duration, max: Duration) -> Self {
        Self { initial, max }
    }

    /// The delay before attempt `attempts + 1`, after `attempts` failures (1-based). `requested`
    /// is the receiver's Retry-After, which wins when it asks for longer, up to the cap.
    pub fn delay(&self, attempts: u32, requested: Option<Duration>) -> Duration {
        let computed = ExponentialBuilder::default()
            .with_min_delay(self.initial)
            .with_max_delay(self.max)
            .with_factor(2.0)
            .with_jitter()
            .without_max_times()
            .build()
            .nth(attempts.saturating_sub(1) as usize)
            .unwrap_or(self.max);
        match requested {
            Some(r) => r.max(computed.min(self.initial)).min(self.max),
            None => computed.min(self.max),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_and_stays_within_the_cap() {
        let b = Backoff::new(Duration::from_millis(100), Duration::from_secs(5));
        let first = b.delay(1, None);
        assert!(
            first >= Duration::from_millis(100) && first <= Duration::from_millis(200),
            "{first:?}"
        );
        let fifth = b.delay(5, None);
        assert!(fifth >= Duration::from_millis(1600), "{fifth:?}");
        for n in 1..40 {
            assert!(b.delay(n, None) <= Duration::from_secs(5));
        }
    }

    #[test]
    fn honours_retry_after_within_the_cap() {
        let b = Backoff::new(Duration::from_millis(100), Duration::from_secs(5));
        assert_eq!(
            b.delay(1, Some(Duration::from_secs(3))),
            Duration::from_secs(3)
        );
        assert_eq!(
            b.delay(1, Some(Duration::from_secs(60))),
            Duration::from_secs(5)
        );
    }
}
