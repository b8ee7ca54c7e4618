//! The Do Not Call list: import rate, memory per number at 10 million, lookups, and a
//! telemarketing decision against a populated list.
//!
//! `cargo bench --bench do_not_call` — the import and memory figures are printed first
//! (one-shot measurements), then criterion measures lookups and decisions.

use std::hint::black_box;
use std::time::Instant;

use chrono::{DateTime, Utc};
use criterion::{Criterion, criterion_group, criterion_main};

mod common;

use predial::domain::decision::Request;
use predial::domain::do_not_call::ImportMode;
use predial::domain::programs::{Program, ProgramNumber};
use predial::domain::{CallPurpose, Channel, Mode, PhoneNumber, Verdict};
use predial::state::{Builder, Engine, EngineOptions};

/// An automated call to `number` at `at`; the caller ID is given to `decide` beside it.
fn auto_call(number: PhoneNumber, workflow: bool, at: DateTime<Utc>) -> Request<'static> {
    Request {
        channel: Channel::Phone,
        mode: Mode::Auto,
        workflow,
        phone: Some(number),
        purpose: None,
        operator_id: "",
        at,
        caller: None,
        rules_as_of: None,
    }
}

fn bench(c: &mut Criterion) {
    // In memory: 10 million numbers, as an import builds a list's next set.
    let ten_million = common::numbers(10_000_000, 7).collect::<Vec<_>>();
    let started = Instant::now();
    let mut builder = Builder::default();
    for n in &ten_million {
        builder.push(*n);
    }
    let set = builder.build();
    let elapsed = started.elapsed();
    println!(
        "in-memory set: {} numbers in {:.2} s ({:.0} numbers/s), {:.2} bytes/number",
        set.len(),
        elapsed.as_secs_f64(),
        set.len() as f64 / elapsed.as_secs_f64(),
        set.heap_bytes() as f64 / set.len() as f64
    );

    // Durable: the same 10 million through the engine (sled, group commit), as a REPLACE
    // of the national list stores and swaps them.
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open_dir(dir.path(), EngineOptions::default()).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let started = Instant::now();
    runtime
        .block_on(async {
            let mut import = engine.begin_do_not_call_import("national", ImportMode::Replace)?;
            import.add(&ten_million).await?;
            import.finish().await
        })
        .unwrap();
    let elapsed = started.elapsed();
    println!(
        "durable import: {} numbers in {:.2} s ({:.0} numbers/s), {:.2} bytes/number in memory",
        ten_million.len(),
        elapsed.as_secs_f64(),
        ten_million.len() as f64 / elapsed.as_secs_f64(),
        engine.do_not_call_bytes() as f64 / engine.do_not_call_len() as f64
    );
    let million = &ten_million[..1_000_000];

    let mut group = c.benchmark_group("do_not_call");
    let listed = ten_million[123_456];
    let unlisted = PhoneNumber::from_u64(19_999_999_999);
    group.bench_function("lookup_listed_in_10M", |b| b.iter(|| set.contains(black_box(listed))));
    group.bench_function("lookup_unlisted_in_10M", |b| {
        b.iter(|| set.contains(black_box(unlisted)))
    });
    // A dialer's numbers are all different, and most of the list is out of cache: every
    // listed number in the order of another seed's draw, and as many unlisted numbers
    // from the same area codes (the list's area codes, other suffixes).
    let listed_first: Vec<PhoneNumber> = common::numbers(1_000_000, 7).collect();
    let scattered: Vec<PhoneNumber> = common::numbers(1_000_000, 11)
        .zip(listed_first.into_iter().rev())
        .flat_map(|(unlisted, listed)| [listed, unlisted])
        .collect();
    let mut next = scattered.iter().cycle();
    group.bench_function("lookup_scattered_in_10M", |b| {
        b.iter(|| set.contains(black_box(*next.next().unwrap())))
    });

    // A telemarketing caller ID dialing a listed and an unlisted number, 10M listed.
    let at: DateTime<Utc> = "2026-06-09T18:00:00Z".parse().unwrap();
    let caller = PhoneNumber::parse("+15556000001").unwrap();
    runtime.block_on(async {
        let program = Program {
            id: "tm".into(),
            business_unit: String::new(),
            program_type: String::new(),
            name: "Telemarketing".into(),
            call_purpose: Some(CallPurpose::Telemarketing),
            description: String::new(),
            display_name: "ACME".into(),
            shorthand_display: "ACME".into(),
            start: None,
            end: None,
        };
        engine.create_program(program).await.unwrap();
        let row = ProgramNumber {
            number: caller,
            purpose: CallPurpose::Telemarketing,
        };
        engine.add_numbers("tm", vec![Ok(row)]).await.unwrap();
        for (id, number) in [("listed", million[500]), ("unlisted", unlisted)] {
            engine
                .upsert_consumer(common::new_yorker(id.into(), number))
                .await
                .unwrap();
        }
    });
    for (id, number, expected) in [
        ("listed", million[500], Verdict::Deny),
        ("unlisted", unlisted, Verdict::Allow),
    ] {
        let req = auto_call(number, false, at);
        assert_eq!(engine.decide(id, &req, Some(caller)).unwrap().verdict, expected);
        group.bench_function(format!("telemarketing_decision_{id}"), |b| {
            b.iter(|| engine.decide(black_box(id), black_box(&req), Some(caller)).unwrap())
        });
    }

    // Debt collection, the common case: 100,000 consumers whose numbers are all on the
    // list, asked about in a scattered order with no caller ID. The lists do not bear on
    // these calls, so the decision need not search them.
    const BOOK: usize = 100_000;
    runtime.block_on(async {
        let mut tasks = Vec::new();
        for w in 0..64 {
            let (engine, numbers) = (engine.clone(), million[..BOOK].to_vec());
            tasks.push(tokio::spawn(async move {
                for i in (w..BOOK).step_by(64) {
                    engine
                        .upsert_consumer(common::new_yorker(format!("d{i}"), numbers[i]))
                        .await
                        .unwrap();
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
    });
    let questions: Vec<(String, Request)> = (0..BOOK)
        .map(|k| (k * 7919) % BOOK)
        .map(|i| (format!("d{i}"), auto_call(million[i], true, at)))
        .collect();
    let (id, req) = &questions[0];
    assert_eq!(engine.decide(id, req, None).unwrap().verdict, Verdict::Allow);
    let mut next = questions.iter().cycle();
    group.bench_function("collection_decision_across_100k_listed", |b| {
        b.iter(|| {
            let (id, req) = next.next().unwrap();
            engine.decide(black_box(id), black_box(req), None).unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
