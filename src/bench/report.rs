//! What a run measured: throughput and latency percentiles, as text or JSON.

use std::time::Duration;

use hdrhistogram::Histogram;

use super::server_stats::Spent;
use super::workload::{Leases, Workload};

/// One workload's run (or several slices of it, absorbed).
#[derive(Debug, Clone)]
pub struct Report {
    pub workload: Workload,
    /// Latencies in microseconds.
    pub latencies: Histogram<u64>,
    pub completed: u64,
    pub errors: u64,
    pub elapsed: Duration,
    /// Whether its decision requests reserved (`--reserve`).
    pub reserve: bool,
    /// With `--reserve`: what became of the leases granted.
    pub leases: Leases,
    /// What the server spent meanwhile (CPU, flushes), when it could be read.
    pub server: Spent,
    /// The baseline, with `--compare-baseline`.
    pub baseline: Option<Box<Report>>,
}

pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid bounds")
}

impl Report {
    pub fn empty(workload: Workload) -> Report {
        Report {
            workload,
            latencies: histogram(),
            completed: 0,
            errors: 0,
            elapsed: Duration::ZERO,
            reserve: false,
            leases: Leases::default(),
            server: Spent::default(),
            baseline: None,
        }
    }

    /// Adds another slice of the same workload.
    pub fn absorb(&mut self, other: Report) {
        self.latencies.add(&other.latencies).expect("same bounds");
        self.completed += other.completed;
        self.errors += other.errors;
        self.elapsed += other.elapsed;
        self.leases.add(other.leases);
        self.server.absorb(other.server);
    }

    /// With `--reserve`: leases taken, settled and released per second — each one durable
    /// write, the unit a `record` baseline measures.
    pub fn durable_writes_per_second(&self) -> f64 {
        let l = self.leases;
        if self.elapsed.is_zero() {
            0.0
        } else {
            (l.granted + l.settled + l.released) as f64 / self.elapsed.as_secs_f64()
        }
    }

    /// The server's CPU time per answered request, in µs.
    pub fn server_cpu_us(&self) -> Option<f64> {
        let answered = self.completed + self.errors;
        self.server
            .cpu_seconds
            .filter(|_| answered > 0)
            .map(|s| s * 1e6 / answered as f64)
    }

    /// Completed requests per second.
    pub fn throughput(&self) -> f64 {
        if self.elapsed.is_zero() {
            0.0
        } else {
            self.completed as f64 / self.elapsed.as_secs_f64()
        }
    }

    fn p(&self, q: f64) -> u64 {
        self.latencies.value_at_quantile(q)
    }

    pub fn to_json(&self) -> serde_json::Value {
        let mut v = serde_json::json!({
            "workload": self.workload.name(),
            "reserve": self.reserve,
            "throughput": self.throughput().round(),
            "completed": self.completed,
            "p50_us": self.p(0.50),
            "p90_us": self.p(0.90),
            "p99_us": self.p(0.99),
            "p999_us": self.p(0.999),
            "max_us": self.latencies.max(),
            "errors": self.errors,
        });
        if let Some(cpu) = self.server_cpu_us() {
            v["server_cpu_us_per_request"] = ((cpu * 100.0).round() / 100.0).into();
        }
        if let Some(p50) = self.server.flush_p50_us() {
            v["store_flush_p50_us"] = p50.round().into();
            v["store_flushes"] = self.server.flush_count().unwrap_or(0).into();
        }
        if self.leases != Leases::default() {
            v["leases_granted"] = self.leases.granted.into();
            v["leases_settled"] = self.leases.settled.into();
            v["leases_released"] = self.leases.released.into();
            v["lease_errors"] = self.leases.errors.into();
            v["durable_writes_per_second"] = self.durable_writes_per_second().round().into();
        }
        if let Some(base) = &self.baseline {
            v["baseline_workload"] = base.workload.name().into();
            v["baseline_throughput"] = base.throughput().round().into();
            v["baseline_p50_us"] = base.p(0.50).into();
            v["baseline_p99_us"] = base.p(0.99).into();
            if let Some(cpu) = base.server_cpu_us() {
                v["baseline_server_cpu_us_per_request"] = ((cpu * 100.0).round() / 100.0).into();
            }
            v["ratio"] = (self.throughput() / base.throughput().max(f64::MIN_POSITIVE)).into();
            if base.leases != Leases::default() {
                // The baseline's own outcomes (`--cycle`): a failed one would make it cheap.
                v["baseline_outcomes_recorded"] = base.leases.settled.into();
                v["baseline_outcome_errors"] = base.leases.errors.into();
            }
        }
        v
    }

    pub fn to_text(&self) -> String {
        let line = |r: &Report| {
            format!(
                "{:<16} {:>10.0}/s  p50 {:>6} µs  p90 {:>6} µs  p99 {:>6} µs  p999 {:>6} µs  max {:>7} µs  errors {}",
                if r.reserve {
                    format!("{}+reserve", r.workload.name())
                } else {
                    r.workload.name().to_string()
                },
                r.throughput(),
                r.p(0.50),
                r.p(0.90),
                r.p(0.99),
                r.p(0.999),
                r.latencies.max(),
                r.errors
            )
        };
        let extras = |r: &Report| {
            let mut more = String::new();
            if let Some(cpu) = r.server_cpu_us() {
                more.push_str(&format!("  server CPU {cpu:.2} µs/request"));
            }
            if let Some(p50) = r.server.flush_p50_us() {
                more.push_str(&format!(
                    "  store flush p50 {p50:.0} µs ({} flushes)",
                    r.server.flush_count().unwrap_or(0)
                ));
            }
            more
        };
        let mut text = line(self) + &extras(self);
        let l = self.leases;
        if l != Leases::default() {
            text.push_str(&format!(
                "\nleases           granted {}  settled {}  released {}  errors {}  ({:.0} durable writes/s)",
                l.granted,
                l.settled,
                l.released,
                l.errors,
                self.durable_writes_per_second()
            ));
        }
        if let Some(base) = &self.baseline {
            text.push('\n');
            text.push_str(&(line(base) + &extras(base)));
            if base.leases != Leases::default() {
                text.push_str(&format!(
                    "\noutcomes         recorded {}  errors {}  ({:.0} durable writes/s)",
                    base.leases.settled,
                    base.leases.errors,
                    base.durable_writes_per_second()
                ));
            }
            text.push_str(&format!(
                "\nratio {:.3} (throughput ÷ baseline throughput); p99 {:.2} × baseline",
                self.throughput() / base.throughput().max(f64::MIN_POSITIVE),
                self.p(0.99) as f64 / base.p(0.99).max(1) as f64
            ));
        }
        text
    }
}
