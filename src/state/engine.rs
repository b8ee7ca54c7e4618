//! [`Engine`]: the cheap, cloneable handle every service holds — the book, the active
//! rules and the durable write path behind one `Arc`.
//!
//! Reads (decisions) touch memory only, unless a question reaches back further than
//! memory keeps. Writes go through group commit: made durable, then applied to memory on
//! the commit thread ([`Book::apply`]), then acknowledged. The agents' side — prompts,
//! overrides, callbacks, exclusions, notes — is in `agents.rs`.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use chrono::{DateTime, Duration, Utc};

use super::book::{Book, Lookup};
use super::health::Health;
use super::registry::Registry;
use super::rules::ActiveRules;
use crate::domain::decision::{Decision, Request, Subject, decide};
use crate::domain::lease::AttemptId;
use crate::domain::retention::Retention;
use crate::domain::window::reach_ms;
use crate::domain::{Consumer, FieldErrors, History, PhoneNumber, RuleSet, RuleSetDraft, Timeline};
use crate::store::{Applied, Applier, GroupCommit, JobOutcome, Rejected, Store, StoreConfig, StoreError, WriteOp};

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("{0}")]
    Invalid(#[from] FieldErrors),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Precondition(String),
    #[error(transparent)]
    Rejected(#[from] Rejected),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What `RecordContact` acknowledges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recorded {
    pub duplicate: bool,
    /// No consumer has the contact's consumer id.
    pub unknown_consumer: bool,
    pub attempts: u32,
    pub rpcs: u32,
    /// The lease the contact settled.
    pub settled: Option<AttemptId>,
}

/// How the engine starts.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// A rule set to make active at start (`--rules FILE`), unless the active one is the
    /// same. With none and an empty store, the Regulation F preset.
    pub rules: Option<RuleSetDraft>,
    /// How long a prompt token can be answered.
    pub prompt_ttl: Duration,
    /// How long records are kept, and how often the sweep runs.
    pub retention: Retention,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            rules: None,
            prompt_ttl: Duration::minutes(5),
            retention: Retention::default(),
        }
    }
}

#[derive(Clone)]
pub struct Engine {
    pub(super) inner: Arc<Inner>,
}

pub(super) struct Inner {
    pub(super) book: Arc<Book>,
    pub(super) registry: Arc<Registry>,
    pub(super) rules: Arc<ActiveRules>,
    pub(super) store: Arc<dyn Store>,
    pub(super) commits: GroupCommit,
    /// The highest rule set version handed out, so concurrent puts never share one.
    pub(super) next_version: AtomicU64,
    pub(super) prompt_ttl: Duration,
    /// Whether memory is loaded and in step with the store.
    pub(super) health: Health,
}

impl Engine {
    /// Opens the embedded sled store in `dir` and rebuilds memory from it.
    pub fn open_dir(dir: &Path, options: EngineOptions) -> Result<Engine, EngineError> {
        Engine::open(StoreConfig::embedded(dir).open()?, options)
    }

    /// Whether memory follows a store other nodes write too (and so is rebuilt, and kept
    /// in step, while the server already listens).
    pub fn follows_shared_store(&self) -> bool {
        self.inner.store.feed().is_some()
    }

    /// Opens `store` and rebuilds memory from it ([`start`](Self::start), then
    /// [`load`](Self::load)).
    pub fn open(store: Arc<dyn Store>, options: EngineOptions) -> Result<Engine, EngineError> {
        let engine = Engine::start(store, options)?;
        engine.load()?;
        Ok(engine)
    }

    /// Starts the engine on `store` with memory still empty: the group commit running, the
    /// newest stored rule set active, and the wanted one (`--rules`, or the preset on an
    /// empty store) put. Until [`load`](Self::load) has run, memory knows no consumer; a
    /// server answers nothing but health meanwhile ([`Engine::is_ready`]).
    pub fn start(store: Arc<dyn Store>, options: EngineOptions) -> Result<Engine, EngineError> {
        let mut stored = Vec::new();
        store.for_each_rule_set(&mut |rules| stored.push(Arc::new(rules)))?;
        let newest = stored.iter().map(|r| r.version).max().unwrap_or(0);
        // Until a version is stored, the preset stands in as version 0 (never listed).
        let timeline = match stored.is_empty() {
            true => Timeline::new(vec![Arc::new(RuleSet::regulation_f(0))]),
            false => Timeline::new(stored),
        };
        let book = Arc::new(Book::default());
        let registry = Arc::new(Registry::default());
        let rules = Arc::new(ActiveRules::new(timeline));
        let applier = applier(book.clone(), registry.clone(), rules.clone(), store.clone());
        let engine = Engine {
            inner: Arc::new(Inner {
                book,
                registry,
                rules,
                store: store.clone(),
                commits: GroupCommit::start(store.clone(), applier),
                next_version: AtomicU64::new(newest),
                prompt_ttl: options.prompt_ttl,
                health: Health::default(),
            }),
        };
        engine.put_at_start(options.rules, newest)?;
        engine.watch_activations();
        engine.keep_retention(options.retention);
        Ok(engine)
    }

    /// Starts loading what decisions about `consumer_ids` will read: for requests that
    /// arrived together and are about to be decided one after another (see
    /// [`Book::prefetch`]).
    pub fn prefetch<'a>(&self, consumer_ids: impl Iterator<Item = &'a str> + Clone) {
        self.inner.book.prefetch(consumer_ids);
    }

    /// Decides a request about `consumer_id`. From memory, unless the request asks about
    /// an instant so far before the consumer's newest contacts that memory no longer holds
    /// all the contacts it needs; then from the store's full history.
    ///
    /// `caller_id` is looked up in the calling programs: its registration is checked, and
    /// its purpose stands in for a request that names none.
    pub fn decide(
        &self,
        consumer_id: &str,
        req: &Request,
        caller_id: Option<PhoneNumber>,
    ) -> Result<Decision, EngineError> {
        self.decide_with(consumer_id, req, caller_id, &|rules, subject, req| {
            decide(rules, subject, req)
        })
    }

    /// Runs `f` — a decision — with the active rules, what is known of the consumer, and
    /// the request completed with what the calling programs know of `caller_id`.
    pub(super) fn decide_with<R>(
        &self,
        consumer_id: &str,
        req: &Request,
        caller_id: Option<PhoneNumber>,
        f: &dyn Fn(&RuleSet, Option<&Subject>, &Request) -> R,
    ) -> Result<R, EngineError> {
        let caller = caller_id.and_then(|c| self.inner.registry.caller_facts(c, req.at));
        let req = Request {
            caller,
            purpose: req.purpose.or(caller.map(|c| c.purpose)),
            ..*req
        };
        let timeline = self.inner.rules.load();
        let rules = timeline.deciding(req.at.timestamp_millis(), req.rules_as_of, || {
            Utc::now().timestamp_millis()
        });
        let consult = Consult {
            do_not_call: req.consults_do_not_call(),
            reassigned: req.consults_reassigned(),
        };
        self.with_subject(consumer_id, req.phone, consult, req.at, rules, &|subject| {
            f(rules, subject, &req)
        })
    }

    /// Runs `f` with what is known of a consumer for a question about `phone` at `at`;
    /// `phone` is looked up in the Do Not Call lists and the Reassigned Numbers Database's
    /// answers as `consult` says.
    pub(super) fn with_subject<R>(
        &self,
        consumer_id: &str,
        phone: Option<PhoneNumber>,
        consult: Consult,
        at: DateTime<Utc>,
        rules: &RuleSet,
        f: &dyn Fn(Option<&Subject>) -> R,
    ) -> Result<R, EngineError> {
        let at_ms = at.timestamp_millis();
        let reassigned = match phone.filter(|_| consult.reassigned) {
            Some(p) => self.inner.registry.reassigned.of(p),
            None => Default::default(),
        };
        let q = Lookup {
            do_not_call_listed: phone
                .filter(|_| consult.do_not_call)
                .and_then(|p| self.inner.registry.do_not_call_listing(p)),
            phone,
            at_ms,
            needed_from_ms: at_ms.saturating_sub(reach_ms(rules.retention_days)),
            reassigned: &reassigned,
        };
        if let Some(answer) = self.inner.book.with_subject(consumer_id, q, f) {
            return Ok(answer);
        }
        let Some(s) = self.inner.book.snapshot(consumer_id, q) else {
            return Ok(f(None));
        };
        let own = self.full_history([consumer_id])?;
        let group = match s.profile.group {
            Some(_) => Some(self.full_history(s.members.iter().map(|m| &**m))?),
            None => None,
        };
        Ok(f(Some(&s.subject(&own, group.as_ref()))))
    }

    /// Commits one job and waits until it is durable and in memory.
    pub(super) async fn commit(&self, ops: Vec<WriteOp>) -> Result<Vec<Applied>, EngineError> {
        let outcome: JobOutcome = self.inner.commits.submit(ops).await?;
        Ok(outcome?)
    }

    /// Every stored contact of `ids`, and their unsettled leases, as one history.
    pub(super) fn full_history<'a>(&self, ids: impl IntoIterator<Item = &'a str>) -> Result<History, EngineError> {
        let mut recs = Vec::new();
        for id in ids {
            self.inner.store.contacts_of(id, &mut |c| recs.push(c.rec()))?;
            recs.extend(self.unsettled_leases(id, None)?.iter().map(|l| l.rec()));
        }
        Ok(History::from_unsorted(recs, i64::MIN))
    }

    /// The unsettled leases of consumer `id` taken by `as_of` (all when `None`): those in
    /// memory — including any whose write is still on its way to the store — and those
    /// the store holds beyond memory's reach.
    pub(super) fn unsettled_leases(
        &self,
        id: &str,
        as_of: Option<DateTime<Utc>>,
    ) -> Result<Vec<crate::domain::lease::OpenLease>, EngineError> {
        let mut leases = self.inner.book.open_leases_of(id);
        for stored in self.inner.store.unsettled_leases_of(id)? {
            if !leases.iter().any(|l| l.attempt_id == stored.attempt_id) {
                leases.push(stored.open());
            }
        }
        if let Some(as_of) = as_of {
            leases.retain(|l| l.at_ms <= as_of.timestamp_millis());
        }
        Ok(leases)
    }

    /// Creates or replaces a consumer, durably; answers it as stored.
    pub async fn upsert_consumer(&self, consumer: Consumer) -> Result<Consumer, EngineError> {
        self.commit(vec![WriteOp::PutConsumer(consumer.clone())]).await?;
        Ok(consumer)
    }

    /// A consumer as last written (from the store: memory keeps only what decisions read).
    pub fn consumer(&self, id: &str) -> Result<Option<Consumer>, EngineError> {
        Ok(self.inner.store.consumer(id)?)
    }

    /// Stops taking writes, commits what is queued, flushes the store.
    pub fn shutdown(&self) -> Result<(), EngineError> {
        self.inner
            .health
            .stopping
            .store(true, std::sync::atomic::Ordering::Release);
        Ok(self.inner.commits.shutdown()?)
    }
}

/// What a question about a number looks up besides the consumer.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Consult {
    /// The Do Not Call lists (a telemarketing call or text).
    pub do_not_call: bool,
    /// The Reassigned Numbers Database's answers (a call or text).
    pub reassigned: bool,
}

/// How a durable write reaches memory. A new rule set that looks back further than the
/// active one first reloads the contacts it needs, then goes live.
fn applier(book: Arc<Book>, registry: Arc<Registry>, rules: Arc<ActiveRules>, store: Arc<dyn Store>) -> Applier {
    Arc::new(move |op, applied| match (op, applied) {
        // A write that did not land: take out what was put in memory ahead of it.
        (_, None) => book.undo(op),
        (_, Some(Applied::Skipped)) => {}
        (op, Some(applied)) => apply(&book, &registry, &rules, &*store, op, applied),
    })
}

/// Applies one durable write to memory.
fn apply(book: &Book, registry: &Registry, rules: &ActiveRules, store: &dyn Store, op: &WriteOp, applied: &Applied) {
    match op {
        WriteOp::PutRuleSet(new) => {
            // Memory holds what the version that looks back furthest needs, and group
            // histories once any version counts groups; both before the version is in.
            let timeline = rules.timeline();
            if new.retention_days > timeline.max_retention_days() && !timeline.is_empty() {
                if let Err(e) = reload_histories(book, store, new.retention_days) {
                    tracing::error!(error = %e, "reloading contacts for the new rule set failed; memory keeps what it had");
                }
            }
            if counts_groups(new) {
                book.keep_group_histories(true);
            }
            rules.install(new.clone());
        }
        WriteOp::PutProgram(_)
        | WriteOp::AddProgramNumbers { .. }
        | WriteOp::CommitDoNotCall { .. }
        | WriteOp::PutReassigned(_) => {
            if let Err(e) = registry.apply(op, store) {
                // Only a Do Not Call commit reads the store here (a list another node built).
                tracing::error!(error = %e, "loading a Do Not Call list another node imported failed; memory keeps the list it had");
            }
        }
        _ => book.apply(op, applied, reach_ms(rules.load().max_retention_days())),
    }
}

/// Whether any control of `rules` counts a group's contacts together.
pub(super) fn counts_groups(rules: &RuleSet) -> bool {
    rules.controls.iter().any(|c| c.apply_to_group)
}

/// Loads, for every consumer, the contacts rules with `retention_days` can look back on
/// from its newest contact, then rebuilds the groups' histories.
fn reload_histories(book: &Book, store: &dyn Store, retention_days: u32) -> Result<(), StoreError> {
    replace_recent_histories(book, store, retention_days)?;
    book.rebuild_groups();
    Ok(())
}

/// Replaces every consumer's history with what the store holds within reach of its newest
/// contact. Every consumer with contacts is handed over (its newest contact is always
/// within reach), so each history is replaced whole and none needs clearing first: a
/// decision running meanwhile sees the old history or the new one, never an empty one.
pub(super) fn replace_recent_histories(book: &Book, store: &dyn Store, retention_days: u32) -> Result<(), StoreError> {
    store.for_each_recent_history(reach_ms(retention_days), &mut |consumer_id, history| {
        book.replace_history(consumer_id, history)
    })
}
