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
use crate::domain::decision::{Decision, Request, decide, tightest_tally};
use crate::domain::window::horizon;
use crate::domain::{Consumer, Contact, ContactRec, FieldErrors, RuleSet, RuleSetDraft};
use crate::store::{Applied, GroupCommit, SledStore, Store, StoreError, WriteOp};

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
        reload_histories(inner, engine.horizon_ms(Utc::now()))?;
        tracing::info!(
            consumers,
            rule_set_version = inner.rules.current().version,
            "state rebuilt from the store"
        );
        Ok(engine)
    }

    /// The oldest contact time the active rules can still look at.
    fn horizon_ms(&self, now: DateTime<Utc>) -> i64 {
        horizon(now, self.inner.rules.load().retention_days).timestamp_millis()
    }

    /// Decides a request about `consumer_id`. Memory only; never blocks on the store.
    pub fn decide(&self, consumer_id: &str, req: &Request) -> Decision {
        let rules = self.inner.rules.load();
        self.inner
            .book
            .with_subject(consumer_id, req.phone, |subject| decide(&rules, subject, req))
    }

    /// Records a contact outcome durably, once per `event_id`.
    pub async fn record_contact(&self, contact: Contact) -> Result<Recorded, EngineError> {
        let book = self.inner.book.clone();
        let consumer_id = contact.consumer_id.clone();
        let (rec, at, channel) = (contact.rec(), contact.occurred_at, contact.channel);
        let horizon_ms = self.horizon_ms(Utc::now());
        let id = consumer_id.clone();
        let applied = self
            .inner
            .commits
            .submit(WriteOp::RecordContact(contact), move |applied| {
                if applied == Applied::Done {
                    book.record(&id, rec, horizon_ms);
                }
                applied
            })
            .await?;
        let rules = self.inner.rules.load();
        let (tally, _) = self.inner.book.with_subject(&consumer_id, None, |subject| {
            subject
                .map(|s| tightest_tally(&rules, s, channel, at))
                .unwrap_or_default()
        });
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
                let since = horizon(Utc::now(), compiled.retention_days).timestamp_millis();
                if let Err(e) = reload_histories(&inner, since) {
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

fn reload_histories(inner: &Inner, since_ms: i64) -> Result<(), StoreError> {
    let mut by_consumer: HashMap<String, Vec<ContactRec>> = HashMap::new();
    inner.store.for_each_contact_since(since_ms, &mut |c| {
        by_consumer.entry(c.consumer_id.clone()).or_default().push(c.rec())
    })?;
    inner.book.load_histories(by_consumer);
    Ok(())
}
