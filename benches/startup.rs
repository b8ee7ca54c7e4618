//! Start-up: rebuilding memory from a store of 1,000,000 consumers and 10,000,000 contacts.
//!
//! Writes the store directly through the sled backend (in large atomic batches, which is
//! how it would look after months of service), closes it, then times `Engine::open_dir`:
//! reading every consumer, replaying the recent contacts into histories, building the
//! groups. Consumers come in pairs sharing a group; each has 10 calls in the 10 days before
//! the newest, all within the preset's reach, so every contact is rebuilt into memory.
//!
//! `cargo bench --bench startup` (prints; no time is asserted). `PREDIAL_STARTUP_CONSUMERS`
//! scales it down; `PREDIAL_STARTUP_DIR` keeps the store there and, when it already holds
//! one, measures start-up from it without writing again.

use std::time::Instant;

use chrono::{DateTime, Duration, Utc};

use predial::domain::{Channel, Consumer, Contact, Phone, PhoneNumber, Role};
use predial::state::{Engine, EngineOptions};
use predial::store::{SledStore, Store, WriteOp};

const CALLS: usize = 10;

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let consumers: usize = std::env::var("PREDIAL_STARTUP_CONSUMERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let temp = tempfile::tempdir().unwrap();
    let kept = std::env::var_os("PREDIAL_STARTUP_DIR").map(std::path::PathBuf::from);
    let reuse = kept.as_ref().is_some_and(|d| d.exists());
    let path = kept.unwrap_or_else(|| temp.path().to_path_buf());
    let now: DateTime<Utc> = "2026-06-30T15:00:00Z".parse().unwrap();
    let id = |i: usize| format!("consumer-{i:08}");
    let phone = |i: usize| PhoneNumber::from_u64(15_550_000_000 + i as u64);
    if !reuse {
        let store = SledStore::open(&path).unwrap();
        let written = Instant::now();
        for chunk in (0..consumers).collect::<Vec<_>>().chunks(10_000) {
            let ops = chunk
                .iter()
                .map(|&i| {
                    WriteOp::PutConsumer(Consumer {
                        id: id(i),
                        role: if i % 2 == 0 { Role::Debtor } else { Role::Cosigner },
                        group_id: Some(format!("group-{:08}", i / 2)),
                        state: Some("NY".into()),
                        country: Some("US".into()),
                        time_zone: Some(chrono_tz::America::New_York),
                        address_time_zone: None,
                        phones: vec![Phone {
                            number: phone(i),
                            time_zone: None,
                            sms_authorized_at: None,
                            consent_at: None,
                        }],
                        emails: vec![],
                        ssn_hash: None,
                        postal_code: None,
                        county: None,
                    })
                })
                .collect();
            store.commit(&[ops], 0).unwrap();
        }
        for chunk in (0..consumers).collect::<Vec<_>>().chunks(5_000) {
            let mut ops = Vec::with_capacity(chunk.len() * CALLS);
            for &i in chunk {
                for k in 0..CALLS {
                    ops.push(WriteOp::RecordContact(Contact {
                        event_id: format!("e-{i}-{k}"),
                        consumer_id: id(i),
                        channel: Channel::Phone,
                        phone: Some(phone(i)),
                        email: None,
                        result_code: 1,
                        occurred_at: now - Duration::days(k as i64) - Duration::minutes(i as i64 % 600),
                        operator_id: String::new(),
                        caller_id: None,
                        template: String::new(),
                        inbound: false,
                        attempt_id: None,
                        consented: false,
                    }));
                }
            }
            store.commit(&[ops], 0).unwrap();
        }
        store.flush().unwrap();
        println!(
            "wrote {consumers} consumers and {} contacts in {:.1} s",
            consumers * CALLS,
            written.elapsed().as_secs_f64()
        );
    }
    let started = Instant::now();
    let engine = Engine::open_dir(&path, EngineOptions::default()).unwrap();
    let elapsed = started.elapsed();
    println!(
        "start-up: rebuilt {consumers} consumers and {} contacts in {:.1} s",
        consumers * CALLS,
        elapsed.as_secs_f64()
    );
    // The rebuilt book answers from memory.
    let decision = engine
        .decide(
            &id(0),
            &predial::domain::decision::Request {
                channel: Channel::Phone,
                mode: predial::domain::Mode::Auto,
                workflow: true,
                phone: Some(phone(0)),
                purpose: None,
                operator_id: "",
                at: now + Duration::hours(1),
                caller: None,
                rules_as_of: None,
            },
            None,
        )
        .unwrap();
    println!(
        "consumer 0 after start-up: {:?} with {} attempts in the tightest window",
        decision.verdict, decision.attempts
    );
}
