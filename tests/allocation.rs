//! The ALLOW path allocates nothing: a counting global allocator watches one in-process
//! decision (`Engine::decide`) against a consumer with a history, several numbers, a
//! group, a calling-hours rule in several zones and exclusions that do not bind.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use chrono::{DateTime, Duration, Utc};
use predial::domain::decision::Request;
use predial::domain::{Channel, Consumer, Contact, ExcludedBy, Mode, Phone, PhoneNumber, Role, Verdict};
use predial::state::{Engine, EngineOptions};

/// Counts allocations made by the current thread while `COUNTING` is set.
struct Counting;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.try_with(Cell::get).unwrap_or(false) {
            ALLOCATIONS.with(|a| a.set(a.get() + 1));
        }
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.try_with(Cell::get).unwrap_or(false) {
            ALLOCATIONS.with(|a| a.set(a.get() + 1));
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations_in<R>(f: impl FnOnce() -> R) -> (R, u64) {
    ALLOCATIONS.with(|a| a.set(0));
    COUNTING.with(|c| c.set(true));
    let r = f();
    COUNTING.with(|c| c.set(false));
    (r, ALLOCATIONS.with(Cell::get))
}

fn phone(text: &str) -> PhoneNumber {
    PhoneNumber::parse(text).unwrap()
}

#[test]
fn an_allow_decision_allocates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open_dir(dir.path(), EngineOptions::default()).unwrap();
    let at: DateTime<Utc> = "2026-06-10T16:00:00Z".parse().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        for (id, tz) in [
            ("c-1", chrono_tz::America::New_York),
            ("c-2", chrono_tz::America::Chicago),
        ] {
            engine
                .upsert_consumer(Consumer {
                    id: id.into(),
                    role: Role::Debtor,
                    group_id: Some("g-1".into()),
                    state: Some("NY".into()),
                    country: Some("US".into()),
                    time_zone: Some(tz),
                    address_time_zone: Some(chrono_tz::America::Los_Angeles),
                    phones: vec![
                        Phone {
                            number: phone(if id == "c-1" { "+12125550100" } else { "+13125550100" }),
                            time_zone: None,
                            sms_authorized_at: None,
                            consent_at: None,
                        },
                        Phone {
                            number: phone("+14155550101"),
                            time_zone: None,
                            sms_authorized_at: None,
                            consent_at: None,
                        },
                    ],
                    emails: vec!["someone@example.com".into()],
                    ssn_hash: None,
                    postal_code: None,
                    county: None,
                })
                .await
                .unwrap();
        }
        for k in 0..4 {
            engine
                .record_contact(Contact {
                    event_id: format!("e{k}"),
                    consumer_id: "c-1".into(),
                    channel: Channel::Phone,
                    phone: Some(phone("+12125550100")),
                    email: None,
                    result_code: 1,
                    occurred_at: at - Duration::days(k + 1),
                    operator_id: String::new(),
                    caller_id: None,
                    template: String::new(),
                    inbound: false,
                    attempt_id: None,
                    consented: false,
                })
                .await
                .unwrap();
        }
        engine
            .exclude_phone("c-1", phone("+14155550101"), ExcludedBy::User, true, "test")
            .await
            .unwrap();
    });

    let request = Request {
        channel: Channel::Phone,
        mode: Mode::Auto,
        workflow: true,
        phone: Some(phone("+12125550100")),
        purpose: None,
        operator_id: "",
        at,
        caller: None,
        rules_as_of: None,
    };
    // Warm up: first-use initialisation (thread-locals, lazies) is not the hot path.
    for _ in 0..3 {
        engine.decide("c-1", &request, None).unwrap();
    }
    let (decision, allocations) = allocations_in(|| engine.decide("c-1", &request, None).unwrap());
    assert_eq!(decision.verdict, Verdict::Allow, "{decision:?}");
    assert_eq!(decision.attempts, 4);
    assert_eq!(allocations, 0, "the ALLOW path allocated {allocations} times");

    // The contrast, so the counter is known to count: a DENY explains itself in words.
    let mut late = request;
    late.at = "2026-06-10T03:00:00Z".parse().unwrap(); // 23:00 in New York
    let (decision, allocations) = allocations_in(|| engine.decide("c-1", &late, None).unwrap());
    assert_eq!(decision.verdict, Verdict::Deny);
    assert!(allocations > 0);
}
