//! The evidence export, Do Not Call REPLACE and Reassigned Numbers Database imports at
//! scale, with the process's memory.
//!
//! - `export`: a store of 10,000,000 contacts (100,000 consumers, 100 calls each, 200 days
//!   old, so memory holds none of them at start) written directly through the sled
//!   backend — each contact writes its evidence record, as live writes do — then the engine
//!   opened and every record exported through `Engine::export`, the path
//!   `Compliance.Export` streams from. Prints rows per second and the resident set before
//!   and at its peak during the export, sampled every 10 ms (the same export of the first
//!   tenth for comparison: a flat export peaks alike).
//! - `dnc`: a REPLACE of the `national` list with 50,000,000 numbers through the engine
//!   (chunks stored, the next set built, swapped), then a second REPLACE of 50,000,000
//!   others while the first list is in force. Prints seconds and the resident set.
//!
//! - `reassigned`: 10,000,000 Reassigned Numbers Database answers imported through the
//!   engine (stored 50,000 a write, merged into memory as each lands), then 1,000,000 more
//!   that check some of the same questions again, then the engine opened again (every
//!   chunk read back and merged). Prints seconds, the bytes memory keeps per answer
//!   (`heap_bytes`) and the resident set.
//!
//! Each case runs in a process of its own. `cargo bench --bench evidence_and_lists`
//! (Linux; prints, asserts nothing). `PREDIAL_BENCH_CASE=export|dnc|reassigned` runs
//! one; `PREDIAL_EXPORT_CONTACTS`, `PREDIAL_DNC_NUMBERS` and `PREDIAL_REASSIGNED_ANSWERS`
//! scale them down.

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

mod common;
use common::{new_yorker, numbers, resident_bytes};

use predial::domain::do_not_call::ImportMode;
use predial::domain::evidence::ExportQuery;
use predial::domain::reassigned::{Answer, AnswerKind, ReassignedAnswer};
use predial::domain::{Channel, Contact, PhoneNumber};
use predial::state::{DNC_CHUNK, Engine, EngineOptions};
use predial::store::{SledStore, Store, WriteOp};

/// Samples the resident set every 10 ms until dropped; answers the peak.
struct PeakRss {
    peak: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl PeakRss {
    fn start() -> PeakRss {
        let peak = Arc::new(AtomicUsize::new(resident_bytes()));
        let stop = Arc::new(AtomicBool::new(false));
        let (p, s) = (peak.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                p.fetch_max(resident_bytes(), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(10));
            }
        });
        PeakRss {
            peak,
            stop,
            thread: Some(thread),
        }
    }

    fn finish(mut self) -> usize {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.take().unwrap().join().unwrap();
        self.peak.load(Ordering::Relaxed)
    }
}

fn mib(bytes: usize) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn count(var: &str, default: usize) -> usize {
    std::env::var(var).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn export_case() {
    let contacts = count("PREDIAL_EXPORT_CONTACTS", 10_000_000);
    let per_consumer = 100;
    let consumers = contacts / per_consumer;
    let dir = tempfile::tempdir().unwrap();
    let start: DateTime<Utc> = Utc::now() - chrono::Duration::days(200);
    let id = |i: usize| format!("consumer-{i:08}");
    let phone = |i: usize| PhoneNumber::from_u64(15_550_000_000 + i as u64);
    {
        let store = SledStore::open(dir.path()).unwrap();
        let written = Instant::now();
        for chunk in (0..consumers).collect::<Vec<_>>().chunks(10_000) {
            let ops = chunk
                .iter()
                .map(|&i| WriteOp::PutConsumer(new_yorker(id(i), phone(i))))
                .collect();
            store.commit(&[ops], 0).unwrap();
        }
        // Time-ordered, as a day's calls arrive: the k-th call of every consumer, then the
        // next.
        for k in 0..per_consumer {
            for chunk in (0..consumers).collect::<Vec<_>>().chunks(5_000) {
                let ops = chunk
                    .iter()
                    .map(|&i| {
                        WriteOp::RecordContact(Contact {
                            event_id: format!("e-{i}-{k}"),
                            consumer_id: id(i),
                            channel: Channel::Phone,
                            phone: Some(phone(i)),
                            email: None,
                            result_code: 1,
                            occurred_at: start + chrono::Duration::minutes((k * consumers + i) as i64 / 60),
                            operator_id: "dialer-1".into(),
                            caller_id: None,
                            template: String::new(),
                            inbound: false,
                            attempt_id: None,
                            consented: false,
                        })
                    })
                    .collect();
                store.commit(&[ops], 0).unwrap();
            }
        }
        store.flush().unwrap();
        println!(
            "wrote {consumers} consumers and {contacts} contacts (with their evidence) in {:.1} s",
            written.elapsed().as_secs_f64()
        );
    }
    let engine = Engine::open_dir(dir.path(), EngineOptions::default()).unwrap();
    let everything = ExportQuery::new(
        None,
        Some(start - chrono::Duration::days(1)),
        Some(Utc::now() + chrono::Duration::days(1)),
        &[],
    )
    .unwrap();
    let tenth = ExportQuery {
        to: Some(start + chrono::Duration::minutes((contacts / 10 / 60) as i64)),
        ..everything.clone()
    };
    for (name, query) in [("a tenth", &tenth), ("everything", &everything)] {
        let before = resident_bytes();
        let peak = PeakRss::start();
        let started = Instant::now();
        let mut rows = 0u64;
        let mut bytes = 0usize;
        engine
            .export(query, &mut |e| {
                rows += 1;
                bytes += e.text.len() + e.phone.len();
                true
            })
            .unwrap();
        let elapsed = started.elapsed().as_secs_f64();
        let peak = peak.finish();
        println!(
            "export of {name}: {rows} rows in {elapsed:.1} s ({:.0} rows/s); resident {:.0} MiB before, {:.0} MiB at peak (+{:.1} MiB)",
            rows as f64 / elapsed,
            mib(before),
            mib(peak),
            mib(peak.saturating_sub(before))
        );
        std::hint::black_box(bytes);
    }
}

fn dnc_case() {
    let total = count("PREDIAL_DNC_NUMBERS", 50_000_000);
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open_dir(dir.path(), EngineOptions::default()).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    for (round, seed) in [(1, 7u64), (2, 11u64)] {
        let before = resident_bytes();
        let peak = PeakRss::start();
        let started = Instant::now();
        let summary = runtime
            .block_on(async {
                let mut import = engine.begin_do_not_call_import("national", ImportMode::Replace)?;
                let mut chunk = Vec::with_capacity(DNC_CHUNK);
                for n in numbers(total, seed) {
                    chunk.push(n);
                    if chunk.len() == DNC_CHUNK {
                        import.add(&chunk).await?;
                        chunk.clear();
                    }
                }
                import.add(&chunk).await?;
                import.finish().await
            })
            .unwrap();
        let elapsed = started.elapsed().as_secs_f64();
        let peak = peak.finish();
        println!(
            "REPLACE {round}: {} numbers sent, {} on the list, {} removed, in {elapsed:.1} s; resident {:.0} MiB before, {:.0} MiB at peak, {:.0} MiB after; the list holds {:.2} bytes/number",
            summary.imported,
            summary.numbers,
            summary.removed,
            mib(before),
            mib(peak),
            mib(resident_bytes()),
            engine.do_not_call_bytes() as f64 / engine.do_not_call_len() as f64
        );
    }
}

fn reassigned_case() {
    let total = count("PREDIAL_REASSIGNED_ANSWERS", 10_000_000);
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open_dir(dir.path(), EngineOptions::default()).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let checked: DateTime<Utc> = "2026-11-20T14:00:00Z".parse().unwrap();
    let as_of = chrono::NaiveDate::from_ymd_opt(2025, 3, 1).unwrap();
    let answer = |n: PhoneNumber, i: usize, later: i64| ReassignedAnswer {
        number: n,
        answer: Answer {
            as_of,
            kind: if i % 50 == 0 { AnswerKind::Yes } else { AnswerKind::No },
            checked_at: checked + chrono::Duration::hours(later),
        },
    };
    for (round, seed, n, later) in [(1, 13u64, total, 0), (2, 13u64, total / 10, 24)] {
        let before = resident_bytes();
        let peak = PeakRss::start();
        let started = Instant::now();
        let answers: Vec<_> = numbers(n, seed).enumerate().map(|(i, n)| answer(n, i, later)).collect();
        let summary = runtime.block_on(engine.import_reassigned(&answers)).unwrap();
        drop(answers);
        let elapsed = started.elapsed().as_secs_f64();
        let peak = peak.finish();
        println!(
            "import {round}: {} answers sent, {} kept, in {elapsed:.1} s; resident {:.0} MiB before, {:.0} MiB at peak, {:.0} MiB after; memory keeps {:.2} bytes/answer",
            summary.imported,
            summary.kept,
            mib(before),
            mib(peak),
            mib(resident_bytes()),
            engine.reassigned_bytes() as f64 / engine.reassigned_len() as f64
        );
    }
    // Start-up reads every chunk back and merges them once.
    drop(engine);
    let started = Instant::now();
    let engine = Engine::open_dir(dir.path(), EngineOptions::default()).unwrap();
    println!(
        "restart: {} answers kept, loaded in {:.1} s; resident {:.0} MiB; memory keeps {:.2} bytes/answer",
        engine.reassigned_len(),
        started.elapsed().as_secs_f64(),
        mib(resident_bytes()),
        engine.reassigned_bytes() as f64 / engine.reassigned_len() as f64
    );
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    match std::env::var("PREDIAL_BENCH_CASE").as_deref() {
        Ok("export") => export_case(),
        Ok("dnc") => dnc_case(),
        Ok("reassigned") => reassigned_case(),
        _ => {
            for case in ["export", "dnc", "reassigned"] {
                let status = std::process::Command::new(std::env::current_exe().expect("this bench"))
                    .env("PREDIAL_BENCH_CASE", case)
                    .status()
                    .expect("run a case");
                assert!(status.success());
            }
        }
    }
}
