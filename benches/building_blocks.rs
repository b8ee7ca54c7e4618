//! The pieces of the hot path and the write path, each on its own:
//! window counting, calling hours across zones on a daylight-saving morning, the rule-set
//! swap under readers, and the group-commit write path (one writer, and 16 at once).
//!
//! `cargo bench --bench building_blocks`

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use chrono::{DateTime, Utc};
use criterion::{Criterion, criterion_group, criterion_main};

use predial::domain::hours::{Zones, next_inside, outside_in};
use predial::domain::window::tally;
use predial::domain::{Channel, Consumer, ContactRec, History, PhoneNumber, RecKind, Role, RuleSet, Timeline};
use predial::state::ActiveRules;
use predial::store::{Applier, GroupCommit, SledStore, WriteOp};

fn utc(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn consumer(i: usize) -> Consumer {
    Consumer {
        id: format!("c{i}"),
        role: Role::Debtor,
        group_id: None,
        state: Some("NY".into()),
        country: Some("US".into()),
        time_zone: Some(chrono_tz::America::New_York),
        address_time_zone: None,
        phones: vec![predial::domain::Phone {
            number: PhoneNumber::from_u64(15_550_000_000 + i as u64),
            time_zone: None,
            sms_authorized_at: None,
            consent_at: None,
        }],
        emails: vec![],
        ssn_hash: None,
        postal_code: None,
        county: None,
    }
}

fn bench(c: &mut Criterion) {
    let rules = RuleSet::regulation_f(1);
    let control = &rules.controls[0];
    let at = utc("2026-03-08T16:00:00Z");
    // A month of history: 30 calls, one a day.
    let history = History::from_unsorted(
        (0..30)
            .map(|d| ContactRec {
                at_ms: (at - chrono::Duration::days(d)).timestamp_millis(),
                code: 1,
                phone: 0,
                channel: Channel::Phone,
                kind: RecKind::Outbound,
            })
            .collect(),
        i64::MIN,
    );
    let mut group = c.benchmark_group("building_blocks");
    group.bench_function("window_count_week_in_a_month_of_calls", |b| {
        b.iter(|| {
            tally(
                black_box(control),
                black_box(&history),
                black_box(at),
                chrono_tz::America::New_York,
            )
        })
    });

    // Spring-forward Sunday 2026-03-08: three zones, one of them without DST (Phoenix).
    let zones = Zones::of([
        Some(chrono_tz::America::New_York),
        Some(chrono_tz::America::Los_Angeles),
        Some(chrono_tz::America::Phoenix),
    ]);
    let hours = control.hours.expect("the preset has calling hours");
    group.bench_function("calling_hours_inside_three_zones_dst_morning", |b| {
        b.iter(|| outside_in(hours, black_box(utc("2026-03-08T18:00:00Z")), zones))
    });
    group.bench_function("calling_hours_next_inside_three_zones_dst_morning", |b| {
        b.iter(|| next_inside(hours, black_box(utc("2026-03-08T09:00:00Z")), zones))
    });

    // Readers pick the version in force from the timeline while another thread adds
    // versions as fast as it can (up to 200: a timeline holds every version ever put).
    let active = Arc::new(ActiveRules::new(Timeline::new(vec![Arc::new(RuleSet::regulation_f(
        1,
    ))])));
    let stop = Arc::new(AtomicBool::new(false));
    let swapper = {
        let (active, stop) = (active.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut version = 2;
            let mut swaps = 0u64;
            while !stop.load(Ordering::Relaxed) && version < 200 {
                active.install(Arc::new(RuleSet::regulation_f(version)));
                version += 1;
                swaps += 1;
            }
            swaps
        })
    };
    group.bench_function("rule_set_load_under_swaps", |b| {
        let at = utc("2026-06-01T14:00:00Z").timestamp_millis();
        b.iter(|| black_box(active.load().deciding(black_box(at), None, || at).version))
    });
    stop.store(true, Ordering::Relaxed);
    let swaps = swapper.join().unwrap();
    println!("rule-set swaps done by the writer during the reader benchmark: {swaps}");

    // The write path: a consumer upsert made durable through group commit (sled flush).
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SledStore::open(dir.path()).unwrap());
    let applier: Applier = Arc::new(|_, _| {});
    let commits = Arc::new(GroupCommit::start(store, applier));
    group.sample_size(20);
    let mut i = 0usize;
    group.bench_function("group_commit_one_writer", |b| {
        b.iter(|| {
            i += 1;
            commits
                .submit_blocking(vec![WriteOp::PutConsumer(consumer(i))])
                .unwrap()
        })
    });
    group.bench_function("group_commit_16_writers_per_write", |b| {
        b.iter_custom(|iters| {
            let per_writer = (iters as usize).div_ceil(16);
            let started = Instant::now();
            let writers: Vec<_> = (0..16)
                .map(|w| {
                    let commits = commits.clone();
                    std::thread::spawn(move || {
                        for k in 0..per_writer {
                            let op = WriteOp::PutConsumer(consumer(1_000_000 + w * 100_000 + k));
                            commits.submit_blocking(vec![op]).unwrap().unwrap();
                        }
                    })
                })
                .collect();
            for w in writers {
                w.join().unwrap();
            }
            let elapsed = started.elapsed();
            elapsed.mul_f64(iters as f64 / (per_writer * 16) as f64)
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
