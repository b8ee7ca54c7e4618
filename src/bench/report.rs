//! What a run measured: throughput and latency percentiles, as text or JSON.

use std::time::Duration;

use hdrhistogram::Histogram;

use super::workloads::Workload;

/// One workload's run (or several slices of it, absorbed).
#[derive(Debug, Clone)]
pub struct Report {
    pub workload: Workload,
    /// Latencies in microseconds.
    pub latencies: Histogram<u64>,
    pub completed: u64,
    pub errors: u64,
    pub elapsed: Duration,
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
            baseline: None,
        }
    }

    /// Adds another slice of the same workload.
    pub fn absorb(&mut self, other: Report) {
        self.latencies.add(&other.latencies).expect("same bounds");
        self.completed += other.completed;
        self.errors += other.errors;
        self.elapsed += other.elapsed;
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
            "throughput": self.throughput().round(),
            "completed": self.completed,
            "p50_us": self.p(0.50),
            "p90_us": self.p(0.90),
            "p99_us": self.p(0.99),
            "p999_us": self.p(0.999),
            "max_us": self.latencies.max(),
            "errors": self.errors,
        });
        if let Some(base) = &self.baseline {
            v["baseline_workload"] = base.workload.name().into();
            v["baseline_throughput"] = base.throughput().round().into();
            v["baseline_p50_us"] = base.p(0.50).into();
            v["baseline_p99_us"] = base.p(0.99).into();
            v["ratio"] = (self.throughput() / base.throughput().max(f64::MIN_POSITIVE)).into();
        }
        v
    }

    pub fn to_text(&self) -> String {
        let line = |r: &Report| {
            format!(
                "{:<12} {:>10.0}/s  p50 {:>6} µs  p90 {:>6} µs  p99 {:>6} µs  p999 {:>6} µs  max {:>7} µs  errors {}",
                r.workload.name(),
                r.throughput(),
                r.p(0.50),
                r.p(0.90),
                r.p(0.99),
                r.p(0.999),
                r.latencies.max(),
                r.errors
            )
        };
        let mut text = line(self);
        if let Some(base) = &self.baseline {
            text.push('\n');
            text.push_str(&line(base));
            text.push_str(&format!(
                "\nratio {:.3} (throughput ÷ baseline throughput); p99 {:.2} × baseline",
                self.throughput() / base.throughput().max(f64::MIN_POSITIVE),
                self.p(0.99) as f64 / base.p(0.99).max(1) as f64
            ));
        }
        text
    }
}
