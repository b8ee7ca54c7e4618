//! Failure logs that cannot flood.
//!
//! When the disk fills, every write fails, and sled keeps failing until the process
//! restarts. A log line per failed call then runs to hundreds of thousands a minute
//! (measured: 220 MB of log in one minute of a `record` bench against a full disk), which
//! fills the disk further when the log shares it. A [`LogThrottle`] lets one line through
//! per interval and counts the ones it left out, for the next line to say.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

pub struct LogThrottle {
    epoch: Instant,
    interval: Duration,
    /// Milliseconds since `epoch` from which the next line may be logged.
    next_ms: AtomicU64,
    left_out: AtomicU64,
}

impl LogThrottle {
    /// One line a second: enough to see a failure begin, go on and end.
    pub fn every_second() -> LogThrottle {
        LogThrottle::new(Duration::from_secs(1))
    }

    pub fn new(interval: Duration) -> LogThrottle {
        LogThrottle {
            epoch: Instant::now(),
            interval,
            next_ms: AtomicU64::new(0),
            left_out: AtomicU64::new(0),
        }
    }

    /// Whether to log a line now: `Some(n)` with the lines left out since the last one,
    /// or `None` (counted as left out).
    pub fn admit(&self) -> Option<u64> {
        self.admit_at(Instant::now())
    }

    fn admit_at(&self, now: Instant) -> Option<u64> {
        let now_ms = now.saturating_duration_since(self.epoch).as_millis() as u64;
        let next = self.next_ms.load(Ordering::Relaxed);
        let until = now_ms.saturating_add(self.interval.as_millis() as u64);
        if now_ms >= next
            && self
                .next_ms
                .compare_exchange(next, until, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            return Some(self.left_out.swap(0, Ordering::Relaxed));
        }
        self.left_out.fetch_add(1, Ordering::Relaxed);
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_interval_gets_through_and_the_next_counts_the_rest() {
        let throttle = LogThrottle::new(Duration::from_secs(1));
        let t0 = throttle.epoch;
        assert_eq!(throttle.admit_at(t0), Some(0));
        for ms in 1..1000 {
            assert_eq!(throttle.admit_at(t0 + Duration::from_millis(ms)), None);
        }
        assert_eq!(throttle.admit_at(t0 + Duration::from_millis(1000)), Some(999));
        assert_eq!(throttle.admit_at(t0 + Duration::from_millis(1001)), None);
        assert_eq!(throttle.admit_at(t0 + Duration::from_secs(60)), Some(1));
    }
}
