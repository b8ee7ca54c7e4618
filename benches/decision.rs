//! One decision against a populated engine: 10,000 consumers in several states and zones,
//! each with three numbers and up to a week of calls, on the real sled store (populated
//! through group commit) — once bare, once with exclusions in place on every consumer.
//!
//! Those ask about the same consumer again and again, so everything it reads is in cache.
//! A dialer asks about a different consumer each time, in a book too big for any cache:
//! `decision_across_book` asks about each of 200,000 consumers in turn, in a scattered
//! order, which is what memory latency (the pointers a decision follows) costs; and
//! sixteen at a time with what they read prefetched first, as CanDial takes requests that
//! arrived together. `decision_across_book_group_rule` does both again under a rule that
//! counts each pair's calls together, so a decision also reads its group's contacts.
//!
//! It runs on mimalloc, the allocator the server runs on (`src/main.rs`): a DENY allocates
//! its reasons' sentences.
//!
//! `decision_with_reassigned_answers` is `decision/allow` with a million Reassigned
//! Numbers Database answers about other numbers in memory.
//!
//! `cargo bench --bench decision`

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::hint::black_box;

use chrono::{DateTime, Duration, Utc};
use criterion::{Criterion, criterion_group, criterion_main};

use predial::domain::decision::Request;
use predial::domain::rules::{ControlDraft, REGULATION_F_JSON, RuleSetDraft};
use predial::domain::{
    Channel, Consumer, Contact, ExcludedBy, Exclusions, Mode, Period, Phone, PhoneNumber, Role, Verdict,
};
use predial::state::{Engine, EngineOptions};

const CONSUMERS: usize = 10_000;
/// Far more than fit in this class of machine's caches (about 30 MB of book).
const BOOK: usize = 200_000;
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
fn populate(at: DateTime<Utc>, exclusions: bool, consumers: usize) -> (tempfile::TempDir, Engine) {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open_dir(dir.path(), EngineOptions::default()).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let mut tasks = Vec::new();
        for w in 0..64 {
            let engine = engine.clone();
            tasks.push(tokio::spawn(async move {
                for i in (w..consumers).step_by(64) {
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
                            consent_at: None,
                        }],
                        emails: vec![],
                        ssn_hash: None,
                        postal_code: None,
                        county: None,
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
                            .exclude_phone(&id, number(consumers + i), ExcludedBy::User, true, "bench")
                            .await
                            .unwrap();
                        engine
                            .inbound_text(number(2 * consumers + i), "STOP", at, None)
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
                            attempt_id: None,
                            consented: false,
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
        let (_dir, engine) = populate(at, exclusions, CONSUMERS);
        let mut group = c.benchmark_group(group_name);
        let cases = [
            ("allow", 8 * 100 + 2, Verdict::Allow),
            ("warn", 8 * 100 + 6, Verdict::Warn),
            ("deny", 8 * 100 + 7, Verdict::Deny),
        ];
        for (name, i, expected) in cases {
            let id = format!("c{i}");
            let req = phone_request(i, at);
            let d = engine.decide(&id, &req, None).unwrap();
            assert_eq!(d.verdict, expected, "{group_name}/{name}: {d:?}");
            group.bench_function(name, |b| {
                b.iter(|| engine.decide(black_box(&id), black_box(&req), None).unwrap())
            });
        }
        group.finish();
    }
    with_reassigned_answers(c, at);
    across_the_book(c, at);
}

/// An ALLOW for a number with no answer of the Reassigned Numbers Database, while memory
/// keeps 1,000,000 answers about other numbers of the same area code (the search a call
/// pays once any answer is imported; `decision/allow` is the same with none).
fn with_reassigned_answers(c: &mut Criterion, at: DateTime<Utc>) {
    use predial::domain::reassigned::{Answer, AnswerKind, ReassignedAnswer};
    let (_dir, engine) = populate(at, false, CONSUMERS);
    let answers: Vec<ReassignedAnswer> = (1_000_000..2_000_000)
        .map(|i| ReassignedAnswer {
            number: number(i),
            answer: Answer {
                as_of: chrono::NaiveDate::from_ymd_opt(2025, 3, 1).unwrap(),
                kind: AnswerKind::No,
                checked_at: "2026-06-01T00:00:00Z".parse().unwrap(),
            },
        })
        .collect();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(engine.import_reassigned(&answers)).unwrap();
    let mut group = c.benchmark_group("decision_with_reassigned_answers");
    let i = 8 * 100 + 2;
    let (id, req) = (format!("c{i}"), phone_request(i, at));
    assert_eq!(engine.decide(&id, &req, None).unwrap().verdict, Verdict::Allow);
    group.bench_function("allow", |b| {
        b.iter(|| engine.decide(black_box(&id), black_box(&req), None).unwrap())
    });
    group.finish();
}

/// An automated call to consumer `i`'s number at `at`.
fn phone_request(i: usize, at: DateTime<Utc>) -> Request<'static> {
    Request {
        channel: Channel::Phone,
        mode: Mode::Auto,
        workflow: false,
        phone: Some(number(i)),
        purpose: None,
        operator_id: "",
        at,
        caller: None,
        rules_as_of: None,
    }
}

/// Each iteration asks about the next of [`BOOK`] consumers in a scattered order (a stride
/// prime to the book's size), so what it reads is rarely in cache: the verdicts are the
/// book's mix (5 in 8 ALLOW, 1 WARN, 2 DENY).
fn across_the_book(c: &mut Criterion, at: DateTime<Utc>) {
    let (_dir, engine) = populate(at, false, BOOK);
    let questions: Vec<(String, Request)> = (0..BOOK)
        .map(|k| (k * 7919) % BOOK)
        .map(|i| (format!("c{i}"), phone_request(i, at)))
        .collect();
    for (id, req) in &questions[..64] {
        let calls = id[1..].parse::<u32>().unwrap() % 8;
        let d = engine.decide(id, req, None).unwrap();
        assert_eq!(d.attempts, calls, "{id}: {d:?}");
    }
    one_and_sixteen(c, "decision_across_book", &engine, &questions);

    // The same book under a rule that counts each pair's calls together: a decision also
    // reads the group's combined contacts, behind one more map.
    let mut draft = RuleSetDraft::from_json(REGULATION_F_JSON).unwrap();
    draft.controls.push(ControlDraft {
        id: "pairs".into(),
        channel: Some(Channel::Phone),
        max_total_contacts: 10,
        period: Some(Period::Week),
        apply_to_group: true,
        ..Default::default()
    });
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(engine.put_rule_set(draft, predial::state::PutRules::default()))
        .unwrap();
    // A consumer with 6 calls is only warned on its own, but its pair has 13.
    let (id, req) = questions
        .iter()
        .find(|(id, _)| id[1..].parse::<u32>().unwrap() % 8 == 6)
        .unwrap();
    let d = engine.decide(id, req, None).unwrap();
    assert!(
        d.verdict == Verdict::Deny && d.reasons.iter().any(|r| r.control_id.as_deref() == Some("pairs")),
        "{id}: {d:?}"
    );
    one_and_sixteen(c, "decision_across_book_group_rule", &engine, &questions);
}

/// `one_at_a_time`: the next question each iteration. `sixteen_together`: what CanDial
/// does with requests that arrived together, asking memory for all of them first
/// (`Engine::prefetch`) and then deciding them one by one; one iteration is sixteen
/// decisions, so its time ÷ 16 compares with `one_at_a_time`.
fn one_and_sixteen(c: &mut Criterion, name: &str, engine: &Engine, questions: &[(String, Request)]) {
    let mut group = c.benchmark_group(name);
    let mut next = questions.iter().cycle();
    group.bench_function("any_consumer", |b| {
        b.iter(|| {
            let (id, req) = next.next().unwrap();
            engine.decide(black_box(id), black_box(req), None).unwrap()
        })
    });
    let mut chunks = questions.chunks_exact(16).cycle();
    group.throughput(criterion::Throughput::Elements(16));
    group.bench_function("sixteen_together", |b| {
        b.iter(|| {
            let chunk = chunks.next().unwrap();
            engine.prefetch(chunk.iter().map(|(id, _)| id.as_str()));
            for (id, req) in chunk {
                black_box(engine.decide(black_box(id), black_box(req), None).unwrap());
            }
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
