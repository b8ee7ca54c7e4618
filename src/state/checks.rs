//! A decision and what answering it writes: an attempt lease when the request reserved and
//! the contact is allowed, a prompt token and its note for a PROMPT, a note for an exempt
//! operator's ALLOW. A machine's non-reserving decision writes nothing and is answered at
//! once.
//!
//! A reserving decision runs under its consumer's reservation stripe (`reservations.rs`):
//! the decision, the insertion of its lease into memory and the queueing of the lease's
//! write are one step, so the next reserving decision for the consumer or its group —
//! on any stream, unary or streamed — already counts the lease. The answer then waits
//! for the write to be durable ([`Pending::finish`]); if the write fails, the commit
//! thread takes the lease out of memory again and the answer is UNAVAILABLE.

use chrono::{DateTime, Duration, Utc};

use super::engine::{Engine, EngineError};
use super::notes::{note, who};
use crate::domain::audit::NoteKind;
use crate::domain::decision::{Decision, Request, Subject, decide};
use crate::domain::lease::{AttemptId, Grant, Lease, OpenLease, retried};
use crate::domain::prompt::{Prompt, PromptedRequest};
use crate::domain::window::reach_ms;
use crate::domain::{PhoneNumber, ReasonCode, Verdict};
use crate::store::{Queued, Rejected, StoreError, WriteOp};

/// A lease a decision holds: its id, and until when it holds an in-flight slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Granted {
    pub attempt_id: AttemptId,
    pub expires_at: DateTime<Utc>,
}

impl Granted {
    fn of_open(l: &OpenLease) -> Granted {
        Granted {
            attempt_id: l.attempt_id,
            expires_at: DateTime::from_timestamp_millis(l.expires_ms()).unwrap_or_default(),
        }
    }

    /// In milliseconds, as memory holds a lease's expiry: the answer to a replayed request
    /// ([`of_open`](Self::of_open)) is then the same to the digit as the first answer.
    pub(super) fn of(l: &Lease) -> Granted {
        Granted {
            attempt_id: l.attempt_id,
            expires_at: DateTime::from_timestamp_millis(l.expires_at.timestamp_millis()).unwrap_or(l.expires_at),
        }
    }
}

/// A decision, the token when it is a PROMPT, and the lease it took.
#[derive(Debug, Clone)]
pub struct Checked {
    pub decision: Decision,
    pub prompt_token: Option<String>,
    pub lease: Option<Granted>,
}

/// A decided request: answered, or waiting for its write.
pub enum Step {
    Ready(Checked),
    Pending(Pending),
}

/// A decision whose answer waits for a write already queued (it commits whether or not
/// this is awaited).
pub struct Pending {
    checked: Checked,
    queued: Queued,
    /// For a lease: what deciding the request again takes, should a shared store find the
    /// decision stale.
    again: Option<Box<Again>>,
}

/// A reserving request, owned, to be decided again.
struct Again {
    engine: Engine,
    consumer_id: String,
    request_id: String,
    operator_id: String,
    req: Request<'static>,
    caller_id: Option<PhoneNumber>,
}

/// How many times a reservation is decided again after stale refusals before the answer is
/// UNAVAILABLE (each time, memory has caught up with what made it stale; only a consumer
/// other nodes keep changing at that very moment takes more than one).
const TRIES: usize = 5;

impl Pending {
    /// The answer, once its write is durable. A lease a shared store refuses as stale is
    /// decided again — on memory that by then holds what made it stale — and so on, a few
    /// times.
    pub async fn finish(self) -> Result<Checked, EngineError> {
        let mut pending = self;
        for _ in 0..TRIES {
            match pending.queued.await? {
                Ok(_) => return Ok(pending.checked),
                Err(Rejected::Stale) if pending.again.is_some() => {
                    crate::metrics::metrics().reservation_retried();
                    let again = pending.again.take().expect("checked");
                    let req = Request {
                        operator_id: &again.operator_id,
                        ..again.req
                    };
                    match again.engine.check_at_once(
                        &again.consumer_id,
                        &req,
                        again.caller_id,
                        Some(&again.request_id),
                    )? {
                        Step::Ready(checked) => return Ok(checked),
                        Step::Pending(next) => pending = next,
                    }
                }
                Err(r) => return Err(r.into()),
            }
        }
        Err(EngineError::Store(StoreError::Backend(
            "other nodes kept changing this consumer while its lease was being granted; try again".into(),
        )))
    }
}

/// Whether a verdict lets the contact go ahead (and so takes a lease when reserving).
pub(super) fn allows(verdict: Verdict) -> bool {
    matches!(verdict, Verdict::Allow | Verdict::Warn)
}

impl Engine {
    /// Decides, then writes what the answer needs, and answers once it is durable.
    pub async fn check(
        &self,
        consumer_id: &str,
        req: &Request<'_>,
        caller_id: Option<PhoneNumber>,
        reserve: Option<&str>,
    ) -> Result<Checked, EngineError> {
        match self.check_at_once(consumer_id, req, caller_id, reserve)? {
            Step::Ready(checked) => Ok(checked),
            Step::Pending(pending) => pending.finish().await,
        }
    }

    /// Decides now, and queues now what the answer needs written. `reserve` is the
    /// request's id when it reserves (`DialRequest.reserve`): an ALLOW or WARN then takes a
    /// lease, and a repeat of the same id while that lease is unsettled gets it back.
    ///
    /// Long on purpose: deciding and taking the lease happen under one lock, and what the
    /// answer writes (lease, prompt, note) is queued in the same breath; splitting it would
    /// hide which steps the lock covers.
    pub fn check_at_once(
        &self,
        consumer_id: &str,
        req: &Request<'_>,
        caller_id: Option<PhoneNumber>,
        reserve: Option<&str>,
    ) -> Result<Step, EngineError> {
        let _held = reserve
            .filter(|_| !unserialized_for_tests())
            .map(|_| self.inner.book.lock_for_reservation(consumer_id));
        // How far memory had followed the store's feed before deciding: a shared store
        // refuses the lease if something the decision read changed after that.
        let seen = self.inner.commits.position();
        let (decision, prior) = self.decide_reserving(consumer_id, req, caller_id, reserve)?;
        if unserialized_for_tests() {
            // Widen the gap between deciding and taking, as a slow machine might.
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        let mut checked = Checked {
            decision,
            prompt_token: None,
            lease: None,
        };
        let mut ops = Vec::new();
        let verdict = checked.decision.verdict;
        let mut taken = None;
        match (reserve, prior) {
            (Some(_), Some(prior)) if allows(verdict) => checked.lease = Some(Granted::of_open(&prior)),
            (Some(request_id), None) if allows(verdict) => {
                let grant = Grant::of(&checked.decision);
                let lease = self.new_lease(consumer_id, request_id, req, grant);
                let reach = reach_ms(self.inner.rules.load().max_retention_days());
                self.inner.book.take_lease(&lease, reach);
                checked.lease = Some(Granted::of(&lease));
                taken = Some((lease.consumer_id.clone(), lease.attempt_id));
                ops.push(WriteOp::TakeLease { lease, seen });
            }
            _ => {}
        }
        let op = req.operator_id;
        match verdict {
            Verdict::Prompt => {
                let findings = checked.decision.findings();
                let token = uuid::Uuid::new_v4().simple().to_string();
                let mut prompt = Prompt::new(consumer_id, op, Utc::now(), self.inner.prompt_ttl, findings.clone());
                prompt.decision = Some(Grant::of(&checked.decision));
                prompt.reservation = reserve.map(|request_id| PromptedRequest {
                    request_id: request_id.to_string(),
                    channel: req.channel,
                    phone: req.phone,
                    mode: req.mode,
                    workflow: req.workflow,
                    purpose: req.purpose,
                    caller_id,
                    at: req.at,
                });
                let text = if op.is_empty() {
                    format!(
                        "No operator was named in the request (operator_id was empty), so nobody is on record as notified: {findings}."
                    )
                } else {
                    format!("Operator {op} was notified: {findings}.")
                };
                ops.push(WriteOp::IssuePrompt {
                    token: token.clone(),
                    prompt,
                });
                ops.push(note(consumer_id, op, NoteKind::PromptIssued, text));
                checked.prompt_token = Some(token);
            }
            Verdict::Allow if checked.decision.has(ReasonCode::SuppressedForOperator) => {
                let text = format!(
                    "Operator {} is exempt; not enforced: {}.",
                    who(op),
                    checked.decision.findings()
                );
                ops.push(note(consumer_id, op, NoteKind::SuppressedForOperator, text));
            }
            _ => {}
        }
        if ops.is_empty() {
            return Ok(Step::Ready(checked));
        }
        let again = taken.as_ref().zip(reserve).map(|(_, request_id)| {
            Box::new(Again {
                engine: self.clone(),
                consumer_id: consumer_id.to_string(),
                request_id: request_id.to_string(),
                operator_id: req.operator_id.to_string(),
                req: Request {
                    operator_id: "",
                    caller: None,
                    ..*req
                },
                caller_id,
            })
        });
        match self.inner.commits.queue(ops) {
            Ok(queued) => Ok(Step::Pending(Pending { checked, queued, again })),
            Err(e) => {
                // Nothing will commit: take the lease back out (the stripe is held).
                if let Some((consumer_id, id)) = taken {
                    self.inner.book.drop_lease(&consumer_id, id);
                }
                Err(e.into())
            }
        }
    }

    /// Decides `req`; when it reserves and repeats a request whose lease is unsettled,
    /// decides it as it was decided then — before its own lease — and hands that lease
    /// back too.
    fn decide_reserving(
        &self,
        consumer_id: &str,
        req: &Request<'_>,
        caller_id: Option<PhoneNumber>,
        reserve: Option<&str>,
    ) -> Result<(Decision, Option<OpenLease>), EngineError> {
        self.decide_with(consumer_id, req, caller_id, &|rules, subject, req| {
            let prior = reserve
                .zip(subject)
                .and_then(|(id, s)| retried(s.leases, id, req.channel));
            let (Some(s), Some(prior)) = (subject, prior) else {
                return (decide(rules, subject, req), None);
            };
            let rec = prior.rec();
            let own = s.own.without(&rec);
            let group = s.group.map(|g| g.without(&rec));
            let leases: Vec<OpenLease> = s
                .leases
                .iter()
                .filter(|l| l.attempt_id != prior.attempt_id)
                .cloned()
                .collect();
            let before = Subject {
                own: &own,
                group: group.as_ref(),
                leases: &leases,
                ..*s
            };
            (decide(rules, Some(&before), req), Some(prior.clone()))
        })
    }

    /// A new lease for a request `grant` allowed, holding its slot for the `lease_seconds`
    /// of the version that decided it.
    pub(super) fn new_lease(&self, consumer_id: &str, request_id: &str, req: &Request<'_>, grant: Grant) -> Lease {
        let timeline = self.inner.rules.load();
        let lease_ms = match timeline.by_version(grant.rule_set_version) {
            Some(rules) => rules.lease_ms,
            None => timeline.in_force_at(req.at).lease_ms,
        };
        Lease {
            attempt_id: AttemptId::from_bytes(*uuid::Uuid::new_v4().as_bytes()),
            consumer_id: consumer_id.to_string(),
            request_id: request_id.to_string(),
            channel: req.channel,
            phone: req.phone,
            at: req.at,
            expires_at: req.at + Duration::milliseconds(lease_ms),
            operator_id: req.operator_id.to_string(),
            granted_by: Some(grant),
        }
    }
}

/// The negative control of the concurrency tests: with
/// `PREDIAL_TEST_UNSERIALIZED_RESERVATIONS=1`, a debug build decides reserving requests
/// without their stripe, so the tests can show that they catch the over-admission that
/// follows. Release builds have no such switch.
#[cfg(debug_assertions)]
fn unserialized_for_tests() -> bool {
    static SET: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *SET.get_or_init(|| std::env::var_os("PREDIAL_TEST_UNSERIALIZED_RESERVATIONS").is_some_and(|v| v == "1"))
}

#[cfg(not(debug_assertions))]
fn unserialized_for_tests() -> bool {
    false
}
