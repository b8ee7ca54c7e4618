//! One decision against a populated engine: 10,000 consumers in several states and zones,
//! each with three numbers and up to a week of calls, on the real sled store (populated
//! through group commit) — once bare, once with exclusions in place on every consumer.
//!
//! It runs on mimalloc, the allocator the server runs on (`src/main.rs`): a DENY allocates
//! its reasons' sentences.
//!
//! `cargo bench --bench decision`

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::hint::black_box;

use chrono::{DateTime, Duration, Utc};
use criterion::{Criterion, criterion_group, criterion_main};

use predial::domain::decision::Request;
use predial::domain::{Channel, Consumer, Contact, ExcludedBy, Exclusions, Mode, Phone, PhoneNumber, Role, Verdict};
use predial::state::{Engine, EngineOptions};

const CONSUMERS: usize = 10_000;
const ZONES: [(&str, chrono_tz::Tz); 4] = [
    ("NY", chrono_tz::America::New_York),
    ("IL", chrono_tz::America::Chicago),
    ("CO", chrono_tz::America::Denver),
    ("CA", chrono_tz::America::Los_Angeles),
];

fn number(i: usize) -> PhoneNumber {
    PhoneNumber::parse(&format!("+1555{:07}", i)).unwrap()
}

/// Consumer `i` has `i % 8` calls in the week before `at` (0..=7: ALLOW, WARN at 6, DENY at 7).
/// With `exclusions`, every consumer also has exclusions in place that the measured
/// requests must check but that do not bind them: the bankruptcy flag (binds workflow
/// communications only), a second number excluded by a user and a third opted out (STOP).
fn populate(at: DateTime<Utc>, exclusions: bool) -> (tempfile::TempDir, Engine) {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open_dir(dir.path(), EngineOptions::default()).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let mut tasks = Vec::new();
        for w in 0..64 {
            let engine = engine.clone();
            tasks.push(tokio::spawn(async move {
                for i in (w..CONSUMERS).step_by(64) {
                    let (state, tz) = ZONES[i % ZONES.len()];
                    let consumer = Consumer {
                        id: format!("c{i}"),
                        role: Role::Debtor,
                        group_id: Some(format!("g{}", i / 2)),
                        state: Some(state.into()),
                        country: Some("US".into()),
                        time_zone: Some(tz),
                        address_time_zone: None,
                        phones: vec![Phone {
                            number: number(i),
                            time_zone: None,
                            sms_authorized_at: None,
                        }],
                        emails: vec![],
                        ssn_hash: None,
                    };
                    engine.upsert_consumer(consumer).await.unwrap();
                    if exclusions {
                        let id = format!("c{i}");
                        let flags = Exclusions {
                            bankruptcy: true,
                            ..Default::default()
                        };
                        engine.set_exclusions(&id, flags, "bench").await.unwrap();
                        engine
                            .exclude_phone(&id, number(CONSUMERS + i), ExcludedBy::User, true, "bench")
                            .await
                            .unwrap();
                        engine
                            .inbound_text(number(2 * CONSUMERS + i), "STOP", at)
                            .await
                            .unwrap();
                    }
                    for k in 0..i % 8 {
                        let contact = Contact {
                            event_id: format!("e{i}-{k}"),
                            consumer_id: format!("c{i}"),
                            channel: Channel::Phone,
                            phone: Some(number(i)),
                            email: None,
                            result_code: 1,
                            occurred_at: at - Duration::hours(20 * (k as i64 + 1)),
                            operator_id: String::new(),
                            caller_id: None,
                            template: String::new(),
                            inbound: false,
                        };
                        engine.record_contact(contact).await.unwrap();
                    }
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
    });
    (dir, engine)
}

fn bench(c: &mut Criterion) {
    // Tuesday June 9, 2026, 18:00 UTC: inside calling hours in every US zone.
    let at: DateTime<Utc> = "2026-06-09T18:00:00Z".parse().unwrap();
    for (group_name, exclusions) in [("decision", false), ("decision_with_exclusions", true)] {
        let (_dir, engine) = populate(at, exclusions);
        let mut group = c.benchmark_group(group_name);
        let cases = [
            ("allow", 8 * 100 + 2, Verdict::Allow),
            ("warn", 8 * 100 + 6, Verdict::Warn),
            ("deny", 8 * 100 + 7, Verdict::Deny),
        ];
        for (name, i, expected) in cases {
            let id = format!("c{i}");
            let req = Request {
                channel: Channel::Phone,
                mode: Mode::Auto,
                workflow: false,
                phone: Some(number(i)),
                purpose: None,
                operator_id: "",
                at,
                caller: None,
            };
            let d = engine.decide(&id, &req, None).unwrap();
            assert_eq!(d.verdict, expected, "{group_name}/{name}: {d:?}");
            group.bench_function(name, |b| {
                b.iter(|| engine.decide(black_box(&id), black_box(&req), None).unwrap())
            });
        }
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
