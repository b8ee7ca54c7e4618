//! [`Engine`]: the cheap, cloneable handle every service holds — the book, the active
//! rules and the durable write path behind one `Arc`.
//!
//! Reads (decisions) touch memory only. Writes go through group commit: validated, made
//! durable, then applied to memory on the commit thread, then acknowledged.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};

use super::book::Book;
use super::rules::ActiveRules;
use crate::domain::decision::{Decision, Request, Subject, decide, tightest_tally};
use crate::domain::window::reach_ms;
use crate::domain::{Consumer, Contact, ContactRec, FieldErrors, History, RuleSet, RuleSetDraft};
use crate::store::{Applied, GroupCommit, Recent, SledStore, Store, StoreError, WriteOp};

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("{0}")]
    Invalid(#[from] FieldErrors),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What `RecordContact` acknowledges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recorded {
    pub duplicate: bool,
    pub attempts: u32,
    pub rpcs: u32,
}

/// How the engine starts.
#[derive(Debug, Clone, Default)]
pub struct EngineOptions {
    /// A rule set to make active at start (`--rules FILE`), unless the active one is the
    /// same. With none and an empty store, the Regulation F preset.
    pub rules: Option<RuleSetDraft>,
}

#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

struct Inner {
    book: Arc<Book>,
    rules: Arc<ActiveRules>,
    store: Arc<dyn Store>,
    commits: GroupCommit,
    /// The highest rule set version handed out, so concurrent puts never share one.
    next_version: AtomicU64,
}

impl Engine {
    /// Opens the embedded sled store in `dir` and rebuilds memory from it.
    pub fn open_dir(dir: &Path, options: EngineOptions) -> Result<Engine, EngineError> {
        Engine::open(Arc::new(SledStore::open(dir)?), options)
    }

    /// Rebuilds memory from `store`: the newest rule set, every consumer, and the contacts
    /// the rules can look back on.
    pub fn open(store: Arc<dyn Store>, options: EngineOptions) -> Result<Engine, EngineError> {
        let stored = store.latest_rule_set()?;
        let stored_rules = match stored {
            Some((version, draft)) => Some(RuleSet::compile(draft, version)?),
            None => None,
        };
        let book = Arc::new(Book::default());
        let rules = Arc::new(ActiveRules::new(
            stored_rules.clone().unwrap_or_else(|| RuleSet::regulation_f(0)),
        ));
        let engine = Engine {
            inner: Arc::new(Inner {
                book,
                rules,
                store: store.clone(),
                commits: GroupCommit::start(store.clone()),
                next_version: AtomicU64::new(stored_rules.as_ref().map_or(0, |r| r.version)),
            }),
        };
        let wanted = match (options.rules, &stored_rules) {
            (Some(draft), Some(active)) if RuleSet::compile(draft.clone(), 0)?.draft == active.draft => None,
            (Some(draft), _) => Some(draft),
            (None, None) => Some(RuleSet::regulation_f(0).draft),
            (None, Some(_)) => None,
        };
        if let Some(draft) = wanted {
            engine.put_rule_set_blocking(draft)?;
        }

        let inner = &engine.inner;
        let mut consumers = 0usize;
        store.for_each_consumer(&mut |c| {
            inner.book.put_profile(&c);
            consumers += 1;
        })?;
        reload_histories(inner, inner.rules.current().retention_days)?;
        tracing::info!(
            consumers,
            rule_set_version = inner.rules.current().version,
            "state rebuilt from the store"
        );
        Ok(engine)
    }

    /// Decides a request about `consumer_id`. From memory, unless the request asks about
    /// an instant so far before the consumer's newest contacts that memory no longer holds
    /// all the contacts it needs; then from the store's full history.
    pub fn decide(&self, consumer_id: &str, req: &Request) -> Result<Decision, EngineError> {
        let rules = self.inner.rules.load();
        self.with_subject(consumer_id, req.at, &rules, &|subject| decide(&rules, subject, req))
    }

    /// Runs `f` with what is known of a consumer for questions about instant `at`.
    fn with_subject<R>(
        &self,
        consumer_id: &str,
        at: DateTime<Utc>,
        rules: &RuleSet,
        f: &dyn Fn(Option<&Subject>) -> R,
    ) -> Result<R, EngineError> {
        let needed_from = at.timestamp_millis().saturating_sub(reach_ms(rules.retention_days));
        if let Some(answer) = self.inner.book.with_subject(consumer_id, needed_from, f) {
            return Ok(answer);
        }
        let Some((profile, exclusions, members)) = self.inner.book.snapshot(consumer_id) else {
            return Ok(f(None));
        };
        let own = full_history(&*self.inner.store, [consumer_id])?;
        let group = match profile.group {
            Some(_) => Some(full_history(&*self.inner.store, members.iter().map(|m| &**m))?),
            None => None,
        };
        let subject = Subject {
            profile: &profile,
            exclusions: &exclusions,
            opted_out: false,
            own: &own,
            group: group.as_ref(),
            callback_active: false,
        };
        Ok(f(Some(&subject)))
    }

    /// Records a contact outcome durably, once per `event_id`.
    pub async fn record_contact(&self, contact: Contact) -> Result<Recorded, EngineError> {
        let book = self.inner.book.clone();
        let consumer_id = contact.consumer_id.clone();
        let (rec, at, channel) = (contact.rec(), contact.occurred_at, contact.channel);
        let reach = reach_ms(self.inner.rules.load().retention_days);
        let id = consumer_id.clone();
        let applied = self
            .inner
            .commits
            .submit(WriteOp::RecordContact(contact), move |applied| {
                if applied == Applied::Done {
                    book.record(&id, rec, reach);
                }
                applied
            })
            .await?;
        let rules = self.inner.rules.load();
        let (tally, _) = self.with_subject(&consumer_id, at, &rules, &|subject| {
            subject
                .map(|s| tightest_tally(&rules, s, channel, at))
                .unwrap_or_default()
        })?;
        Ok(Recorded {
            duplicate: applied == Applied::Duplicate,
            attempts: tally.attempts,
            rpcs: tally.rpcs,
        })
    }

    /// Creates or replaces a consumer, durably; answers it as stored.
    pub async fn upsert_consumer(&self, consumer: Consumer) -> Result<Consumer, EngineError> {
        let book = self.inner.book.clone();
        let for_memory = consumer.clone();
        self.inner
            .commits
            .submit(WriteOp::PutConsumer(consumer.clone()), move |_| {
                book.put_profile(&for_memory)
            })
            .await?;
        Ok(consumer)
    }

    /// A consumer as last written (from the store: memory keeps only what decisions read).
    pub fn consumer(&self, id: &str) -> Result<Option<Consumer>, EngineError> {
        Ok(self.inner.store.consumer(id)?)
    }

    /// The active rule set.
    pub fn rules(&self) -> Arc<RuleSet> {
        self.inner.rules.current()
    }

    /// Checks a rule set without installing it.
    pub fn validate_rule_set(&self, draft: RuleSetDraft) -> Result<(), FieldErrors> {
        RuleSet::compile(draft, 0).map(|_| ())
    }

    /// Validates, stores and atomically installs a rule set as the next version.
    pub async fn put_rule_set(&self, draft: RuleSetDraft) -> Result<u64, EngineError> {
        let (op, apply) = self.prepare_rule_set(draft)?;
        Ok(self.inner.commits.submit(op, apply).await?)
    }

    fn put_rule_set_blocking(&self, draft: RuleSetDraft) -> Result<u64, EngineError> {
        let (op, apply) = self.prepare_rule_set(draft)?;
        Ok(self.inner.commits.submit_blocking(op, apply)?)
    }

    /// The write and the memory update for a new rule set version. When the new rules look
    /// further back than the active ones, memory reloads the contacts they need from the
    /// store before they go live.
    fn prepare_rule_set(
        &self,
        draft: RuleSetDraft,
    ) -> Result<(WriteOp, impl FnOnce(Applied) -> u64 + Send + 'static), EngineError> {
        let mut compiled = RuleSet::compile(draft, 0)?;
        let version = self.inner.next_version.fetch_add(1, Ordering::SeqCst) + 1;
        compiled.version = version;
        let compiled = Arc::new(compiled);
        let op = WriteOp::PutRuleSet {
            version,
            draft: compiled.draft.clone(),
        };
        let inner = self.inner.clone();
        let apply = move |_| {
            let active = inner.rules.current();
            if compiled.version > active.version && compiled.retention_days > active.retention_days {
                if let Err(e) = reload_histories(&inner, compiled.retention_days) {
                    tracing::error!(error = %e, "reloading contacts for the new rule set failed; memory keeps what it had");
                }
            }
            inner.rules.install(compiled);
            version
        };
        Ok((op, apply))
    }

    /// Stops taking writes, commits what is queued, flushes the store.
    pub fn shutdown(&self) -> Result<(), EngineError> {
        Ok(self.inner.commits.shutdown()?)
    }

    /// How many consumer ids memory holds.
    pub fn consumer_count(&self) -> usize {
        self.inner.book.len()
    }
}

/// Loads, for every consumer, the contacts rules with `retention_days` can look back on
/// from its newest contact.
fn reload_histories(inner: &Inner, retention_days: u32) -> Result<(), StoreError> {
    let reach = reach_ms(retention_days);
    let mut recs: HashMap<String, Vec<ContactRec>> = HashMap::new();
    let mut complete_from: HashMap<String, i64> = HashMap::new();
    inner.store.for_each_recent_contact(reach, &mut |recent| match recent {
        Recent::Contact(c) => recs.entry(c.consumer_id.clone()).or_default().push(c.rec()),
        Recent::Truncated {
            consumer_id,
            complete_from_ms,
        } => {
            complete_from.insert(consumer_id, complete_from_ms);
        }
    })?;
    let histories = recs
        .into_iter()
        .map(|(id, recs)| {
            let from = complete_from.get(&id).copied().unwrap_or(i64::MIN);
            (id, History::from_unsorted(recs, from))
        })
        .collect();
    inner.book.load_histories(histories);
    Ok(())
}

/// Every stored contact of `ids`, as one history.
fn full_history<'a>(store: &dyn Store, ids: impl IntoIterator<Item = &'a str>) -> Result<History, StoreError> {
    let mut recs = Vec::new();
    for id in ids {
        store.contacts_of(id, &mut |c| recs.push(c.rec()))?;
    }
    Ok(History::from_unsorted(recs, i64::MIN))
}
