//! What the bench reads of the server itself: the CPU time it spent (so the cost of a
//! decision over the bare transport shows in µs per answered request) and its store's
//! flush times (so a reserving workload's latency can be set against the flush it waits
//! for).
//!
//! CPU time comes from `/proc/<pid>/stat` (the `procfs` crate): of the server the bench
//! started, or of `--server-pid`. Flush times come from the server's
//! `predial_store_flush_seconds` histogram at `/metrics`: of the server the bench started
//! (with `--metrics-listen 127.0.0.1:0`), or at `--metrics-addr`. Either is left out of the
//! report when it cannot be read (another machine, another OS).

use std::net::SocketAddr;

/// Where to read the servers' figures (several: the nodes of a cluster, summed).
#[derive(Debug, Clone, Default)]
pub struct ServerStats {
    pub pids: Vec<u32>,
    pub metrics: Vec<SocketAddr>,
}

/// The server's figures at one moment.
#[derive(Debug, Clone, Default)]
pub struct Reading {
    /// User and system CPU time, in seconds.
    pub cpu_seconds: Option<f64>,
    /// The flush histogram: cumulative counts by upper bound in seconds, `+Inf` last.
    pub flushes: Option<Vec<(f64, u64)>>,
}

impl ServerStats {
    pub fn read(&self) -> Reading {
        let cpu: Option<Vec<f64>> = (!self.pids.is_empty())
            .then(|| self.pids.iter().map(|p| cpu_seconds(*p)).collect())
            .flatten();
        let flushes: Option<Vec<Vec<(f64, u64)>>> = (!self.metrics.is_empty())
            .then(|| self.metrics.iter().map(|m| flush_histogram(*m)).collect())
            .flatten();
        Reading {
            cpu_seconds: cpu.map(|c| c.iter().sum()),
            flushes: flushes.and_then(|all| {
                all.into_iter()
                    .reduce(|a, b| a.iter().zip(&b).map(|((bound, x), (_, y))| (*bound, x + y)).collect())
            }),
        }
    }
}

fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = procfs::process::Process::new(pid as i32).ok()?.stat().ok()?;
    let ticks = procfs::ticks_per_second() as f64;
    Some((stat.utime + stat.stime) as f64 / ticks)
}

fn flush_histogram(addr: SocketAddr) -> Option<Vec<(f64, u64)>> {
    let text = ureq::get(format!("http://{addr}/metrics"))
        .call()
        .ok()?
        .body_mut()
        .read_to_string()
        .ok()?;
    Some(parse_buckets(&text, "predial_store_flush_seconds_bucket"))
}

/// The buckets of histogram `name` in the text exposition format.
fn parse_buckets(text: &str, name: &str) -> Vec<(f64, u64)> {
    text.lines()
        .filter(|l| l.starts_with(name))
        .filter_map(|l| {
            let le = l.split("le=\"").nth(1)?.split('"').next()?;
            let bound = if le == "+Inf" { f64::INFINITY } else { le.parse().ok()? };
            let count = l.rsplit(' ').next()?.parse().ok()?;
            Some((bound, count))
        })
        .collect()
}

/// What happened between two readings: CPU seconds, and the flushes' histogram.
#[derive(Debug, Clone, Default)]
pub struct Spent {
    pub cpu_seconds: Option<f64>,
    pub flushes: Option<Vec<(f64, u64)>>,
}

impl Spent {
    pub fn between(before: &Reading, after: &Reading) -> Spent {
        let cpu_seconds = before.cpu_seconds.zip(after.cpu_seconds).map(|(b, a)| a - b);
        let flushes = before.flushes.as_ref().zip(after.flushes.as_ref()).map(|(b, a)| {
            a.iter()
                .zip(b)
                .map(|((bound, after), (_, before))| (*bound, after.saturating_sub(*before)))
                .collect()
        });
        Spent { cpu_seconds, flushes }
    }

    /// Adds another interval's figures.
    pub fn absorb(&mut self, other: Spent) {
        self.cpu_seconds = match (self.cpu_seconds, other.cpu_seconds) {
            (Some(a), Some(b)) => Some(a + b),
            (a, b) => a.or(b),
        };
        self.flushes = match (self.flushes.take(), other.flushes) {
            (Some(a), Some(b)) => Some(a.iter().zip(&b).map(|((bound, x), (_, y))| (*bound, x + y)).collect()),
            (a, b) => a.or(b),
        };
    }

    /// How many flushes there were.
    pub fn flush_count(&self) -> Option<u64> {
        self.flushes.as_ref().and_then(|h| h.last()).map(|(_, n)| *n)
    }

    /// The median flush time, in µs: interpolated inside the bucket that holds it (the
    /// buckets are 25% apart, so the figure is within about 12% of the true median).
    pub fn flush_p50_us(&self) -> Option<f64> {
        let h = self.flushes.as_ref()?;
        let total = h.last()?.1;
        if total == 0 {
            return None;
        }
        let half = total as f64 / 2.0;
        let (mut lower_bound, mut lower_count) = (0.0, 0u64);
        for &(bound, count) in h {
            if count as f64 >= half {
                if !bound.is_finite() {
                    return Some(lower_bound * 1e6);
                }
                let inside = (count - lower_count) as f64;
                let fraction = if inside > 0.0 {
                    (half - lower_count as f64) / inside
                } else {
                    0.0
                };
                return Some((lower_bound + fraction * (bound - lower_bound)) * 1e6);
            }
            (lower_bound, lower_count) = (bound, count);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_read_from_the_exposition_and_the_median_interpolated() {
        let text = "# HELP x\n\
            predial_store_flush_seconds_bucket{le=\"0.001\"} 10\n\
            predial_store_flush_seconds_bucket{le=\"0.002\"} 30\n\
            predial_store_flush_seconds_bucket{le=\"+Inf\"} 40\n\
            predial_store_flush_seconds_sum 0.05\n";
        let after = parse_buckets(text, "predial_store_flush_seconds_bucket");
        assert_eq!(after, [(0.001, 10), (0.002, 30), (f64::INFINITY, 40)]);
        let before = Reading {
            cpu_seconds: Some(1.0),
            flushes: Some(vec![(0.001, 0), (0.002, 0), (f64::INFINITY, 0)]),
        };
        let spent = Spent::between(
            &before,
            &Reading {
                cpu_seconds: Some(3.5),
                flushes: Some(after),
            },
        );
        assert_eq!(spent.cpu_seconds, Some(2.5));
        assert_eq!(spent.flush_count(), Some(40));
        // The 20th of 40 is halfway through the second bucket.
        assert!((spent.flush_p50_us().unwrap() - 1_500.0).abs() < 1e-6);
    }

    #[test]
    fn the_server_processes_own_cpu_time_is_readable() {
        let stats = ServerStats {
            pids: vec![std::process::id()],
            metrics: vec![],
        };
        assert!(stats.read().cpu_seconds.is_some_and(|s| s >= 0.0));
    }
}
