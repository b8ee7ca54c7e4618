//! Rule-set versions: putting one (checked, guarded, stored with a `RULES` note, logged),
//! reading any back, and saying in the log when a pending one takes effect.
//!
//! Every put is a new immutable version. It binds from its `activated_at` — the later of
//! its `effective_at` and the put — and decisions pick the version for their instant from
//! the timeline in memory (`rules.rs`), so a pending version needs no timer to take
//! effect: the clock thread here only says so in the log.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::engine::{Engine, EngineError, Inner};
use super::notes::note;
use crate::domain::audit::NoteKind;
use crate::domain::rule_history::{Refusal, guard};
use crate::domain::{FieldError, RuleDiff, RuleSet, RuleSetDraft, RuleSetMeta};
use crate::store::{Rejected, StoreError, WriteOp};

/// How many times a rule set is put before the engine gives up on other nodes' racing it.
const RULE_SET_TRIES: usize = 8;

/// What a put says besides the rules: who, why, from when, and whether dropping a channel
/// is meant.
#[derive(Debug, Clone, Default)]
pub struct PutRules {
    pub operator_id: String,
    pub change_reason: String,
    pub effective_at: Option<DateTime<Utc>>,
    pub allow_uncontrolled_channels: bool,
}

/// Where a put comes from: the API is guarded in full; a file given at start-up (or the
/// preset on an empty store) is the operator's explicit choice, so a dropped channel is
/// logged as a warning there instead of refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PutFrom {
    Api,
    StartUp,
}

impl Engine {
    /// Validates, guards, stores and installs a rule set as the next version, with its
    /// `RULES` note, in one durable write. On a store other nodes share, two nodes may pick
    /// the same next version at once; the store refuses the second (stale), which takes the
    /// version after. Waits for its commit on a blocking thread: puts are rare, and one
    /// loop serves start-up and the API.
    pub async fn put_rule_set(&self, draft: RuleSetDraft, put: PutRules) -> Result<u64, EngineError> {
        let engine = self.clone();
        tokio::task::spawn_blocking(move || engine.put_rule_set_blocking(draft, put, PutFrom::Api))
            .await
            .map_err(|e| EngineError::Store(StoreError::Backend(format!("the rule-set put stopped: {e}"))))?
    }

    /// [`put_rule_set`](Self::put_rule_set) from a thread that may block.
    fn put_rule_set_blocking(&self, draft: RuleSetDraft, put: PutRules, from: PutFrom) -> Result<u64, EngineError> {
        for _ in 0..RULE_SET_TRIES {
            let now = Utc::now();
            let (rules, ops, diff) = self.prepare_rule_set(draft.clone(), &put, from, now)?;
            match self.inner.commits.submit_blocking(ops)? {
                Err(Rejected::Stale) => continue,
                Err(rejected) => return Err(rejected.into()),
                Ok(_) => {
                    log_put(&rules, &diff, now);
                    return Ok(rules.version);
                }
            }
        }
        Err(EngineError::Store(StoreError::Backend(
            "other nodes kept putting rule sets at the same moment; try again".into(),
        )))
    }

    /// Every finding a put of `draft` would be refused for, as sentences naming their
    /// field; nothing is stored.
    pub fn validate_rule_set(&self, draft: RuleSetDraft, put: &PutRules) -> Vec<String> {
        match self.prepare_rule_set(draft, put, PutFrom::Api, Utc::now()) {
            Ok(_) => Vec::new(),
            Err(EngineError::Invalid(errors)) => errors.0.iter().map(ToString::to_string).collect(),
            Err(e) => vec![e.to_string()],
        }
    }

    /// The checked version with the next number, the writes that put it (the version and
    /// its note, one job), and what it changes from the version in force now.
    fn prepare_rule_set(
        &self,
        draft: RuleSetDraft,
        put: &PutRules,
        from: PutFrom,
        now: DateTime<Utc>,
    ) -> Result<(Arc<RuleSet>, Vec<WriteOp>, RuleDiff), EngineError> {
        let mut compiled = RuleSet::compile(draft, 0)?;
        if let Some(effective_at) = put.effective_at
            && effective_at < now
        {
            return Err(FieldError::new(
                "effective_at",
                format!(
                    "{} is in the past: a version takes effect now or later, history is not rewritten",
                    effective_at.to_rfc3339()
                ),
            )
            .into_engine());
        }
        compiled.meta = RuleSetMeta {
            operator_id: put.operator_id.trim().to_string(),
            change_reason: put.change_reason.trim().to_string(),
            effective_at: put.effective_at,
            activated_at: put.effective_at.map_or(now, |at| at.max(now)),
            allow_uncontrolled_channels: put.allow_uncontrolled_channels,
        };
        let timeline = self.inner.rules.timeline();
        let in_force = timeline.in_force_at(now).clone();
        let stored = (in_force.version > 0).then_some(&*in_force);
        match (guard(&compiled.draft, &compiled.meta, stored), from) {
            (Ok(()), _) => {}
            (Err(Refusal::Invalid(e)), _) => return Err(e.into_engine()),
            (Err(Refusal::Uncontrolled(message)), PutFrom::Api) => return Err(EngineError::Precondition(message)),
            (Err(Refusal::Uncontrolled(message)), PutFrom::StartUp) => tracing::warn!("{message}"),
        }
        let next = &self.inner.next_version;
        next.fetch_max(timeline.newest_version(), Ordering::SeqCst);
        compiled.version = next.fetch_add(1, Ordering::SeqCst) + 1;
        let diff = RuleDiff::between(&in_force.draft, &compiled.draft);
        let rules = Arc::new(compiled);
        let text = note_text(&rules, &in_force, &diff);
        let ops = vec![
            WriteOp::PutRuleSet(rules.clone()),
            note("", &rules.meta.operator_id, NoteKind::Rules, text),
        ];
        Ok((rules, ops, diff))
    }

    /// At start: puts the `--rules` file unless it equals the version in force, or, on a
    /// store with no version yet (`newest` 0), the shipped Regulation F preset.
    pub(super) fn put_at_start(&self, file: Option<RuleSetDraft>, newest: u64) -> Result<(), EngineError> {
        let in_force = self.rules();
        let wanted = match file {
            Some(draft) if RuleSet::compile(draft.clone(), 0)?.draft == in_force.draft && newest > 0 => None,
            Some(draft) => Some((draft, "the --rules file given at start")),
            None if newest == 0 => Some((
                RuleSet::regulation_f(0).draft,
                "the shipped Regulation F preset, on an empty store",
            )),
            None => None,
        };
        if let Some((draft, why)) = wanted {
            let put = PutRules {
                operator_id: "predial".into(),
                change_reason: why.into(),
                ..PutRules::default()
            };
            self.put_rule_set_blocking(draft, put, PutFrom::StartUp)?;
        }
        Ok(())
    }

    /// The version in force now.
    pub fn rules(&self) -> Arc<RuleSet> {
        self.inner.rules.now()
    }

    /// The version in force at `t` (before the first version took effect, the first).
    pub fn rules_at(&self, t: DateTime<Utc>) -> Arc<RuleSet> {
        self.inner.rules.at(t)
    }

    /// A version by number.
    pub fn rule_set_version(&self, version: u64) -> Option<Arc<RuleSet>> {
        self.inner
            .rules
            .timeline()
            .by_version(version)
            .filter(|r| r.version > 0)
            .cloned()
    }

    /// Every version put, highest number first.
    pub fn rule_set_versions(&self) -> Vec<Arc<RuleSet>> {
        let timeline = self.inner.rules.timeline();
        timeline
            .newest_first()
            .into_iter()
            .filter(|r| r.version > 0)
            .cloned()
            .collect()
    }

    /// Starts the thread that logs, on this node, each pending version as it takes effect.
    pub(super) fn watch_activations(&self) {
        let weak = Arc::downgrade(&self.inner);
        std::thread::Builder::new()
            .name("predial-rules-clock".into())
            .spawn(move || activation_loop(weak))
            .expect("spawn the rules clock");
    }
}

/// The `RULES` note: the version, who, why, from when, and what changed.
fn note_text(rules: &RuleSet, in_force: &RuleSet, diff: &RuleDiff) -> String {
    let meta = &rules.meta;
    let who = if meta.operator_id.is_empty() {
        "(no operator id)"
    } else {
        &meta.operator_id
    };
    let why = if meta.change_reason.is_empty() {
        "no reason given"
    } else {
        &meta.change_reason
    };
    let when = match meta.effective_at {
        Some(at) => format!("takes effect at {}", at.to_rfc3339()),
        None => "in force at once".to_string(),
    };
    format!(
        "Rule set version {} put by {who} ({why}); {when}; against version {}: {diff}.",
        rules.version, in_force.version
    )
}

fn log_put(rules: &RuleSet, diff: &RuleDiff, now: DateTime<Utc>) {
    let meta = &rules.meta;
    if meta.activated_at > now {
        tracing::info!(
            version = rules.version,
            operator = %meta.operator_id,
            reason = %meta.change_reason,
            effective_at = %meta.activated_at.to_rfc3339(),
            changes = %diff,
            "rule set version {} stored, pending: it takes effect at {}",
            rules.version,
            meta.activated_at.to_rfc3339()
        );
    } else {
        tracing::info!(
            version = rules.version,
            operator = %meta.operator_id,
            reason = %meta.change_reason,
            changes = %diff,
            "rule set version {} in force",
            rules.version
        );
    }
}

/// Logs each version that takes effect later than it was put, when it does. Wakes at the
/// next activation, and at least every second to see versions put meanwhile.
fn activation_loop(weak: std::sync::Weak<Inner>) {
    let mut in_force = match weak.upgrade() {
        Some(inner) => inner.rules.now().version,
        None => return,
    };
    loop {
        let Some(inner) = weak.upgrade() else { return };
        if inner.health.stopping.load(Ordering::Acquire) {
            return;
        }
        let now = Utc::now();
        let timeline = inner.rules.timeline();
        let current = timeline.in_force_at(now);
        if current.version != in_force {
            // A version put to take effect at once was logged by its put.
            if current.meta.effective_at.is_some() {
                tracing::info!(
                    version = current.version,
                    operator = %current.meta.operator_id,
                    reason = %current.meta.change_reason,
                    "rule set version {} in force: its effective date {} has come",
                    current.version,
                    current.meta.activated_at.to_rfc3339()
                );
            }
            in_force = current.version;
        }
        let wait = timeline
            .next_activation_after(now)
            .and_then(|next| (next - now).to_std().ok())
            .unwrap_or(Duration::from_secs(1))
            .min(Duration::from_secs(1));
        drop(inner);
        std::thread::sleep(wait + Duration::from_millis(1));
    }
}

trait IntoEngine {
    fn into_engine(self) -> EngineError;
}

impl IntoEngine for FieldError {
    fn into_engine(self) -> EngineError {
        EngineError::Invalid(self.into())
    }
}
