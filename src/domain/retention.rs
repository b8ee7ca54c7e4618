//! How long records are kept: `retention_days`, and the instant before which a sweep may
//! delete, which never cuts into what a rule-set version can look back on.

use std::time::Duration;

use chrono::{DateTime, Utc};

/// How long records are kept, and how often the sweep runs.
#[derive(Debug, Clone, Copy)]
pub struct Retention {
    /// Days a record is kept; 0 keeps everything.
    pub days: u32,
    pub every: Duration,
}

impl Retention {
    pub const DEFAULT_DAYS: u32 = 1_095;
    pub const DEFAULT_EVERY: Duration = Duration::from_secs(3_600);
}

impl Default for Retention {
    fn default() -> Retention {
        Retention {
            days: Retention::DEFAULT_DAYS,
            every: Retention::DEFAULT_EVERY,
        }
    }
}

/// The instant before which records go: `days` ago, or further back when a rule-set
/// version looks back further (`reach_days`); none when everything is kept.
pub fn cutoff(now: DateTime<Utc>, days: u32, reach_days: u32) -> Option<DateTime<Utc>> {
    (days > 0).then(|| now - chrono::Duration::days(i64::from(days.max(reach_days))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cutoff_keeps_what_any_rule_can_look_back_on() {
        let now: DateTime<Utc> = "2026-12-06T00:00:00Z".parse().unwrap();
        assert_eq!(cutoff(now, 0, 16), None, "0 keeps everything");
        assert_eq!(cutoff(now, 10, 16), Some(now - chrono::Duration::days(16)));
        assert_eq!(cutoff(now, 1_095, 16), Some(now - chrono::Duration::days(1_095)));
    }
}
