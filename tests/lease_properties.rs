//! A property test of attempt leases: for any interleaving of reserve, settle, release and
//! the passing of time against one consumer, the engine grants exactly what a plain model
//! of the lease rules grants — so the counted contacts and leases never pass the limit, no
//! more than `max_in_flight` are ever open, and a read's `pending` is the model's
//! unsettled leases.

use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;

use predial::domain::decision::Request;
use predial::domain::lease::AttemptId;
use predial::domain::rules::ControlDraft;
use predial::domain::{Channel, Consumer, Contact, Mode, Period, Phone, PhoneNumber, Role, RuleSetDraft, Verdict};
use predial::state::{Engine, EngineOptions};

const LIMIT: u32 = 4;
const IN_FLIGHT: u32 = 2;
const LEASE_SECONDS: i64 = 60;

#[derive(Debug, Clone)]
enum Op {
    /// A reserving request with one of a few request ids, `after` seconds on.
    Reserve {
        request: u8,
        after: u16,
    },
    /// The outcome of the `which`-th unsettled lease: busy (not counted) or answered.
    Settle {
        which: u8,
        busy: bool,
        after: u16,
    },
    Release {
        which: u8,
        after: u16,
    },
    /// Time passes.
    Wait {
        after: u16,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0u8..5, 0u16..40).prop_map(|(request, after)| Op::Reserve { request, after }),
        2 => (0u8..8, any::<bool>(), 0u16..40).prop_map(|(which, busy, after)| Op::Settle { which, busy, after }),
        1 => (0u8..8, 0u16..40).prop_map(|(which, after)| Op::Release { which, after }),
        1 => (0u16..120).prop_map(|after| Op::Wait { after }),
    ]
}

/// A lease as the model sees it.
#[derive(Debug, Clone)]
struct Granted {
    id: AttemptId,
    request: u8,
    at: DateTime<Utc>,
    unsettled: bool,
}

#[derive(Default)]
struct Model {
    granted: Vec<Granted>,
    /// Outcomes recorded that count.
    counted: u32,
}

impl Model {
    fn unsettled(&self) -> u32 {
        self.granted.iter().filter(|g| g.unsettled).count() as u32
    }

    fn open_at(&self, t: DateTime<Utc>, except: Option<AttemptId>) -> u32 {
        let expiry = Duration::seconds(LEASE_SECONDS);
        self.granted
            .iter()
            .filter(|g| g.unsettled && Some(g.id) != except && g.at <= t && t < g.at + expiry)
            .count() as u32
    }
}

fn phone() -> PhoneNumber {
    PhoneNumber::parse("+15551234567").unwrap()
}

fn rules() -> RuleSetDraft {
    RuleSetDraft {
        controls: vec![ControlDraft {
            id: "calls".into(),
            channel: Some(Channel::Phone),
            max_total_contacts: LIMIT,
            period: Some(Period::Week),
            non_attempt_codes: vec![6],
            ..Default::default()
        }],
        lease_seconds: LEASE_SECONDS as u32,
        max_in_flight: IN_FLIGHT,
        ..Default::default()
    }
}

fn request(at: DateTime<Utc>) -> Request<'static> {
    Request {
        channel: Channel::Phone,
        mode: Mode::Auto,
        workflow: false,
        phone: Some(phone()),
        purpose: None,
        operator_id: "",
        at,
        caller: None,
        rules_as_of: None,
    }
}

fn outcome(n: usize, at: DateTime<Utc>, code: i32, attempt_id: AttemptId) -> Contact {
    Contact {
        event_id: format!("e{n}"),
        consumer_id: "c".into(),
        channel: Channel::Phone,
        phone: Some(phone()),
        email: None,
        result_code: code,
        occurred_at: at,
        operator_id: String::new(),
        caller_id: None,
        template: String::new(),
        inbound: false,
        attempt_id: Some(attempt_id),
        consented: false,
    }
}

async fn run(engine: &Engine, ops: Vec<Op>) -> Result<(), TestCaseError> {
    engine
        .upsert_consumer(Consumer {
            id: "c".into(),
            role: Role::Debtor,
            group_id: None,
            state: None,
            country: None,
            time_zone: Some(chrono_tz::America::New_York),
            address_time_zone: None,
            phones: vec![Phone {
                number: phone(),
                time_zone: None,
                sms_authorized_at: None,
                consent_at: None,
            }],
            emails: vec![],
            ssn_hash: None,
            postal_code: None,
            county: None,
        })
        .await
        .unwrap();
    // Tuesday June 2, 2026, 10:00 in New York: the whole run stays within the week and
    // within calling hours.
    let mut t: DateTime<Utc> = "2026-06-02T14:00:00Z".parse().unwrap();
    let mut model = Model::default();
    for (n, op) in ops.into_iter().enumerate() {
        match op {
            Op::Reserve { request: r, after } => {
                t += Duration::seconds(after as i64);
                let request_id = format!("r{r}");
                let prior = model.granted.iter().find(|g| g.unsettled && g.request == r).cloned();
                let checked = engine.check("c", &request(t), None, Some(&request_id)).await.unwrap();
                let lease = checked.lease;
                match prior {
                    Some(prior) => {
                        // Decided before its own lease: it still allows unless the others fill
                        // every slot.
                        let allowed = model.counted + model.unsettled() - 1 < LIMIT
                            && model.open_at(t, Some(prior.id)) < IN_FLIGHT;
                        prop_assert_eq!(
                            lease.map(|l| l.attempt_id),
                            allowed.then_some(prior.id),
                            "retry at {}",
                            t
                        );
                    }
                    None => {
                        let allowed = model.counted + model.unsettled() < LIMIT && model.open_at(t, None) < IN_FLIGHT;
                        prop_assert_eq!(lease.is_some(), allowed, "reserve at {}: {:?}", t, checked.decision);
                        if let Some(l) = lease {
                            prop_assert!(matches!(checked.decision.verdict, Verdict::Allow | Verdict::Warn));
                            model.granted.push(Granted {
                                id: l.attempt_id,
                                request: r,
                                at: t,
                                unsettled: true,
                            });
                        }
                    }
                }
            }
            Op::Settle { which, busy, after } => {
                t += Duration::seconds(after as i64);
                let unsettled: Vec<usize> = (0..model.granted.len())
                    .filter(|&i| model.granted[i].unsettled)
                    .collect();
                let Some(&i) = unsettled.get(which as usize) else {
                    continue;
                };
                let g = model.granted[i].clone();
                let code = if busy { 6 } else { 1 };
                let recorded = engine.record_contact(outcome(n, t, code, g.id)).await.unwrap();
                prop_assert_eq!(recorded.settled, Some(g.id));
                model.counted += (!busy) as u32;
                model.granted[i].unsettled = false;
            }
            Op::Release { which, after } => {
                t += Duration::seconds(after as i64);
                let Some(g) = model.granted.get(which as usize).cloned() else {
                    continue;
                };
                let released = engine.release_attempt(g.id, "").await;
                if g.unsettled {
                    prop_assert_eq!(released.unwrap(), true);
                    model.granted[which as usize].unsettled = false;
                } else {
                    // Settled: FAILED_PRECONDITION; released before: false.
                    prop_assert!(!matches!(released, Ok(true)));
                }
            }
            Op::Wait { after } => t += Duration::seconds(after as i64),
        }
        // The invariants, read back through a plain (non-reserving) decision.
        prop_assert!(model.counted + model.unsettled() <= LIMIT);
        prop_assert!(model.open_at(t, None) <= IN_FLIGHT);
        let read = engine.decide("c", &request(t), None).unwrap();
        prop_assert_eq!(read.pending, model.unsettled());
        prop_assert_eq!(read.attempts, model.counted + model.unsettled());
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn any_interleaving_of_reserve_settle_release_and_expiry_grants_exactly_what_the_rules_allow(
        ops in prop::collection::vec(op(), 1..40)
    ) {
        let dir = tempfile::tempdir().unwrap();
        let options = EngineOptions {
            rules: Some(rules()),
            ..Default::default()
        };
        // Opened outside the runtime: start-up waits for its first commit.
        let engine = Engine::open_dir(dir.path(), options).unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let outcome = runtime.block_on(run(&engine, ops));
        engine.shutdown().unwrap();
        outcome?;
    }
}
