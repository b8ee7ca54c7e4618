//! Memory per consumer in the book, at 1,000,000 consumers: with no recent contacts, with a
//! month of history (30 calls each), and then with one unsettled attempt lease each (what a
//! lease costs while its call is in flight). Measured as the growth of the process's
//! resident set (`/proc/self/statm`) while the book is filled through `Book::apply`, the
//! path live writes and start-up take. Consumers come in pairs sharing a group.
//!
//! Two cases, each in a process of its own (so one's freed memory cannot hide the other's):
//! the shipped preset, whose rules count no group together, so memory keeps no group
//! histories; and rules that do (`apply_to_group`), where every contact is also kept in
//! its group's history.
//!
//! It runs on mimalloc, the allocator the server runs on (`src/main.rs`).
//!
//! `cargo bench --bench memory` (Linux; prints, measures no time).

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use chrono::{DateTime, Duration, Utc};

mod common;
use common::resident_bytes;

use predial::domain::lease::{AttemptId, Lease};
use predial::domain::{Channel, Consumer, Contact, PhoneNumber, Role};
use predial::state::Book;
use predial::store::{Applied, WriteOp};

const CONSUMERS: usize = 1_000_000;
const CALLS: usize = 30;

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo bench -- --list` and test discovery
    }
    let case = match std::env::var("PREDIAL_MEMORY_CASE") {
        Ok(case) => case,
        Err(_) => {
            for case in ["preset", "group-rules"] {
                let status = std::process::Command::new(std::env::current_exe().expect("this bench"))
                    .env("PREDIAL_MEMORY_CASE", case)
                    .status()
                    .expect("run a case");
                assert!(status.success());
            }
            return;
        }
    };
    let book = Book::default();
    let groups = case == "group-rules";
    book.keep_group_histories(groups);
    println!("== rules counting groups together: {groups}");
    let reach = 33 * 86_400_000;
    let before = resident_bytes();
    for i in 0..CONSUMERS {
        let consumer = Consumer {
            role: if i % 2 == 0 { Role::Debtor } else { Role::Cosigner },
            group_id: Some(format!("group-{:08}", i / 2)),
            ..common::new_yorker(
                format!("consumer-{i:08}"),
                PhoneNumber::from_u64(15_550_000_000 + i as u64),
            )
        };
        book.apply(&WriteOp::PutConsumer(consumer), &Applied::Done, reach);
    }
    let profiles = resident_bytes() - before;
    println!(
        "{CONSUMERS} consumers, no contacts: {:.0} bytes per consumer ({} MiB)",
        profiles as f64 / CONSUMERS as f64,
        profiles >> 20
    );
    let now: DateTime<Utc> = "2026-06-30T15:00:00Z".parse().unwrap();
    for i in 0..CONSUMERS {
        for k in 0..CALLS {
            let contact = Contact {
                event_id: String::new(),
                consumer_id: format!("consumer-{i:08}"),
                channel: Channel::Phone,
                phone: Some(PhoneNumber::from_u64(15_550_000_000 + i as u64)),
                email: None,
                result_code: 1,
                occurred_at: now - Duration::days(k as i64),
                operator_id: String::new(),
                caller_id: None,
                template: String::new(),
                inbound: false,
                attempt_id: None,
                consented: false,
            };
            book.apply(&WriteOp::RecordContact(contact), &Applied::Done, reach);
        }
    }
    let total = resident_bytes() - before;
    println!(
        "{CONSUMERS} consumers with {CALLS} calls each (a month): {:.0} bytes per consumer ({} MiB)",
        total as f64 / CONSUMERS as f64,
        total >> 20
    );
    // One lease each, as a reserving decision takes it (request ids of a dialer's length).
    let with_history = resident_bytes();
    for i in 0..CONSUMERS {
        let mut id = [0u8; 16];
        id[..8].copy_from_slice(&(i as u64).to_le_bytes());
        book.take_lease(
            &Lease {
                attempt_id: AttemptId::from_bytes(id),
                consumer_id: format!("consumer-{i:08}"),
                request_id: format!("dialer-7-{i:012}"),
                channel: Channel::Phone,
                phone: Some(PhoneNumber::from_u64(15_550_000_000 + i as u64)),
                at: now,
                expires_at: now + Duration::minutes(15),
                operator_id: String::new(),
                granted_by: None,
            },
            reach,
        );
    }
    let leased = resident_bytes() - with_history;
    println!(
        "one unsettled lease each: {:.0} bytes per lease ({} MiB)",
        leased as f64 / CONSUMERS as f64,
        leased >> 20
    );
}
