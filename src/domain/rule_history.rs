//! Rule sets over time: every version kept, which one is in force at an instant, the guard
//! that refuses a careless version, and what changed between two.
//!
//! A version is in force from its `activated_at` — the later of its `effective_at` and the
//! instant it was put — until the next version's. Versions are ordered by that instant, then
//! by number, so a version put with a future `effective_at` (pending) takes effect on its
//! date even when later versions were put meanwhile: a scheduled change stays scheduled.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::{DateTime, Utc};

use super::error::FieldError;
use super::kinds::Channel;
use super::rules::{ControlDraft, RuleSet, RuleSetDraft, RuleSetMeta};

/// Every version, in the order they take effect.
#[derive(Debug, Default)]
pub struct Timeline {
    /// Ascending by (`activated_at`, version).
    versions: Vec<Arc<RuleSet>>,
    /// Each version's `activated_at` in milliseconds, in the same order: searched without
    /// touching the versions themselves.
    activations: Vec<i64>,
    /// The longest look-back of any version: what memory must hold for any of them.
    max_retention_days: u32,
    /// The clock has been seen past the last activation: every version is in force, so the
    /// newest decides any question about now or the past without reading the clock again.
    all_in_force: AtomicBool,
}

impl Clone for Timeline {
    fn clone(&self) -> Timeline {
        Timeline::new(self.versions.clone())
    }
}

impl Timeline {
    /// The versions given, in the order they take effect. A version 0 — the stand-in a
    /// server decides under before its first version is stored — goes once a real one is.
    pub fn new(mut versions: Vec<Arc<RuleSet>>) -> Timeline {
        if versions.iter().any(|r| r.version > 0) {
            versions.retain(|r| r.version > 0);
        }
        versions.sort_by_key(|r| (r.meta.activated_at, r.version));
        versions.dedup_by_key(|r| r.version);
        let max_retention_days = versions.iter().map(|r| r.retention_days).max().unwrap_or(0);
        let activations: Vec<i64> = versions
            .iter()
            .map(|r| r.meta.activated_at.timestamp_millis())
            .collect();
        Timeline {
            versions,
            activations,
            max_retention_days,
            all_in_force: AtomicBool::new(false),
        }
    }

    /// This timeline with `rules` added (a version already known is not added twice).
    pub fn with(&self, rules: Arc<RuleSet>) -> Timeline {
        if self.by_version(rules.version).is_some() {
            return self.clone();
        }
        let mut versions = self.versions.clone();
        versions.push(rules);
        Timeline::new(versions)
    }

    pub fn is_empty(&self) -> bool {
        self.versions.is_empty()
    }

    /// The version in force at `t_ms`: the last to take effect at or before it; before
    /// the first version took effect, the first (a question about a time before any rules
    /// were put is answered under the earliest). Panics on an empty timeline.
    pub fn in_force_at_ms(&self, t_ms: i64) -> &Arc<RuleSet> {
        let after = self.activations.partition_point(|at| *at <= t_ms);
        &self.versions[after.saturating_sub(1)]
    }

    /// The version that decides a request about the instant `at_ms`: the one in force at
    /// `rules_as_of` when the request names it, else at the later of `at_ms` and now — a
    /// question about the past under today's rules, one about the future under the rules
    /// that will be in force then. The clock is read only when it can matter (a version
    /// takes effect after `at_ms`), so a decision about now costs no second clock read.
    pub fn deciding(
        &self,
        at_ms: i64,
        rules_as_of: Option<DateTime<Utc>>,
        now_ms: impl FnOnce() -> i64,
    ) -> &Arc<RuleSet> {
        if let Some(as_of) = rules_as_of {
            return self.in_force_at_ms(as_of.timestamp_millis());
        }
        let newest = || &self.versions[self.versions.len() - 1];
        let last_activation_ms = self.activations.last().copied().unwrap_or(i64::MIN);
        if at_ms >= last_activation_ms || self.all_in_force.load(Ordering::Relaxed) {
            return newest();
        }
        let now = now_ms();
        if now >= last_activation_ms {
            // Time only moves on: from here every version stays in force.
            self.all_in_force.store(true, Ordering::Relaxed);
            return newest();
        }
        self.in_force_at_ms(at_ms.max(now))
    }

    pub fn in_force_at(&self, t: DateTime<Utc>) -> &Arc<RuleSet> {
        self.in_force_at_ms(t.timestamp_millis())
    }

    pub fn by_version(&self, version: u64) -> Option<&Arc<RuleSet>> {
        self.versions.iter().find(|r| r.version == version)
    }

    /// The highest version number put.
    pub fn newest_version(&self) -> u64 {
        self.versions.iter().map(|r| r.version).max().unwrap_or(0)
    }

    /// Every version, highest number first.
    pub fn newest_first(&self) -> Vec<&Arc<RuleSet>> {
        let mut all: Vec<_> = self.versions.iter().collect();
        all.sort_by_key(|r| std::cmp::Reverse(r.version));
        all
    }

    /// The first instant after `t` at which another version takes effect.
    pub fn next_activation_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.versions.iter().map(|r| r.meta.activated_at).find(|at| *at > t)
    }

    pub fn max_retention_days(&self) -> u32 {
        self.max_retention_days
    }

    /// Whether any version counts a group's contacts together.
    pub fn counts_groups(&self) -> bool {
        self.versions
            .iter()
            .any(|r| r.controls.iter().any(|c| c.apply_to_group))
    }
}

/// Why the guard refuses a version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Not a rule set at all (INVALID_ARGUMENT).
    Invalid(FieldError),
    /// A channel the version in force controls would have no control (FAILED_PRECONDITION).
    Uncontrolled(String),
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Invalid(e) => e.fmt(f),
            Refusal::Uncontrolled(message) => f.write_str(message),
        }
    }
}

/// The guard against switching compliance off by accident: a version with no controls is
/// refused; one that leaves a channel with no control while `in_force` has one is refused
/// unless it says so (`allow_uncontrolled_channels`) and why (`change_reason`).
pub fn guard(new: &RuleSetDraft, meta: &RuleSetMeta, in_force: Option<&RuleSet>) -> Result<(), Refusal> {
    if new.controls.is_empty() {
        return Err(Refusal::Invalid(FieldError::new(
            "controls",
            "a rule set with no controls allows every contact at any hour",
        )));
    }
    let Some(in_force) = in_force else { return Ok(()) };
    let left: Vec<Channel> = channels_of(&in_force.draft.controls)
        .difference(&channels_of(&new.controls))
        .copied()
        .collect();
    if left.is_empty() || (meta.allow_uncontrolled_channels && !meta.change_reason.trim().is_empty()) {
        return Ok(());
    }
    let names: Vec<&str> = left.iter().map(|c| c.name()).collect();
    Err(Refusal::Uncontrolled(format!(
        "{}: this version leaves {} without any control while version {} in force has {}; \
         set allow_uncontrolled_channels and give a change_reason to mean it",
        names.join(", "),
        if names.len() == 1 {
            "the channel"
        } else {
            "the channels"
        },
        in_force.version,
        if names.len() == 1 { "one" } else { "them" },
    )))
}

/// The channels some control counts (its own, and those it caps together with it).
fn channels_of(controls: &[ControlDraft]) -> BTreeSet<Channel> {
    controls
        .iter()
        .flat_map(|c| c.channel.into_iter().chain(c.also_channels.iter().copied()))
        .collect()
}

/// What changed from one version to another, control by control (by id).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleDiff {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    /// Each changed control's id, and the fields that differ.
    pub changed: Vec<(String, Vec<String>)>,
    /// Rule-set settings that differ (holidays, exempt operators, leases).
    pub settings: Vec<String>,
}

impl RuleDiff {
    pub fn between(old: &RuleSetDraft, new: &RuleSetDraft) -> RuleDiff {
        let id = |c: &ControlDraft| c.id.trim().to_string();
        let find = |list: &[ControlDraft], wanted: &str| list.iter().find(|c| id(c) == wanted).cloned();
        let mut diff = RuleDiff::default();
        for c in &new.controls {
            match find(&old.controls, &id(c)) {
                None => diff.added.push(id(c)),
                Some(before) if before != *c => diff.changed.push((id(c), fields_differing(&before, c))),
                Some(_) => {}
            }
        }
        diff.removed = old
            .controls
            .iter()
            .filter(|c| find(&new.controls, &id(c)).is_none())
            .map(id)
            .collect();
        for (name, differs) in [
            ("holidays", old.holidays != new.holidays),
            (
                "exempt_operator_ids",
                old.exempt_operator_ids != new.exempt_operator_ids,
            ),
            ("lease_seconds", old.lease_seconds != new.lease_seconds),
            ("max_in_flight", old.max_in_flight != new.max_in_flight),
            ("wrong_number_codes", old.wrong_number_codes != new.wrong_number_codes),
            ("revocation_scope", old.revocation_scope != new.revocation_scope),
        ] {
            if differs {
                diff.settings.push(name.to_string());
            }
        }
        diff
    }

    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty() && self.settings.is_empty()
    }
}

/// The names of the fields in which two controls differ.
fn fields_differing(old: &ControlDraft, new: &ControlDraft) -> Vec<String> {
    let (Ok(serde_json::Value::Object(a)), Ok(serde_json::Value::Object(b))) =
        (serde_json::to_value(old), serde_json::to_value(new))
    else {
        return vec!["(unreadable)".into()];
    };
    let names: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    names
        .into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .map(|k| k.to_string())
        .collect()
}

impl fmt::Display for RuleDiff {
    /// "controls added: ma-calls; removed: x; changed: regf-calls (max_total_contacts,
    /// period); settings changed: holidays", or "no change".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("no change");
        }
        let mut parts = Vec::new();
        if !self.added.is_empty() {
            parts.push(format!("controls added: {}", self.added.join(", ")));
        }
        if !self.removed.is_empty() {
            parts.push(format!("controls removed: {}", self.removed.join(", ")));
        }
        if !self.changed.is_empty() {
            let changed: Vec<String> = self
                .changed
                .iter()
                .map(|(id, fields)| format!("{id} ({})", fields.join(", ")))
                .collect();
            parts.push(format!("controls changed: {}", changed.join(", ")));
        }
        if !self.settings.is_empty() {
            parts.push(format!("settings changed: {}", self.settings.join(", ")));
        }
        f.write_str(&parts.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn version(v: u64, activated: &str) -> Arc<RuleSet> {
        let mut rules = RuleSet::regulation_f(v);
        rules.meta.activated_at = at(activated);
        Arc::new(rules)
    }

    #[test]
    fn the_version_in_force_is_the_last_to_take_effect_at_or_before_the_instant() {
        let timeline = Timeline::new(vec![
            version(1, "2026-01-01T00:00:00Z"),
            version(3, "2026-09-01T04:00:00Z"), // pending, put before 2
            version(2, "2026-03-01T00:00:00Z"),
        ]);
        let v = |t: &str| timeline.in_force_at(at(t)).version;
        assert_eq!(v("2025-06-01T00:00:00Z"), 1, "before any: the earliest");
        assert_eq!(v("2026-02-01T00:00:00Z"), 1);
        assert_eq!(v("2026-03-01T00:00:00Z"), 2, "from its instant on");
        assert_eq!(v("2026-09-01T03:59:59.999Z"), 2);
        assert_eq!(v("2026-09-01T04:00:00Z"), 3);
        assert_eq!(
            timeline.next_activation_after(at("2026-03-02T00:00:00Z")),
            Some(at("2026-09-01T04:00:00Z"))
        );
        assert_eq!(
            timeline.newest_first().iter().map(|r| r.version).collect::<Vec<_>>(),
            [3, 2, 1]
        );
    }

    #[test]
    fn a_request_about_the_past_is_decided_under_todays_rules_unless_it_names_others() {
        let timeline = Timeline::new(vec![
            version(1, "2026-01-01T00:00:00Z"),
            version(2, "2026-03-01T00:00:00Z"),
        ]);
        let ms = |t: &str| at(t).timestamp_millis();
        let now = || ms("2026-04-01T00:00:00Z");
        assert_eq!(timeline.deciding(ms("2026-02-01T00:00:00Z"), None, now).version, 2);
        let as_of = Some(at("2026-02-01T00:00:00Z"));
        assert_eq!(timeline.deciding(ms("2026-04-01T00:00:00Z"), as_of, now).version, 1);
        // A pending version binds a request about an instant after it, not one before.
        let pending = timeline.with(version(3, "2026-09-01T00:00:00Z"));
        assert_eq!(pending.deciding(ms("2026-09-02T00:00:00Z"), None, now).version, 3);
        assert_eq!(pending.deciding(ms("2026-04-01T00:00:00Z"), None, now).version, 2);
        let clock_unread = || panic!("the clock is not needed after the last activation");
        assert_eq!(
            pending.deciding(ms("2026-09-02T00:00:00Z"), None, clock_unread).version,
            3
        );
    }

    #[test]
    fn versions_without_dates_bind_in_number_order() {
        let timeline = Timeline::new(vec![
            version(2, "1970-01-01T00:00:00Z"),
            version(1, "1970-01-01T00:00:00Z"),
        ]);
        assert_eq!(timeline.in_force_at(at("2026-01-01T00:00:00Z")).version, 2);
    }

    #[test]
    fn the_guard_refuses_no_controls_and_a_dropped_channel_unless_meant() {
        let mut calls_and_texts = RuleSet::regulation_f(1).draft;
        let mut texts = calls_and_texts.controls[0].clone();
        (texts.id, texts.channel) = ("texts".into(), Some(Channel::Text));
        texts.attempt_codes.clear();
        texts.rpc_codes.clear();
        texts.non_attempt_codes.clear();
        texts.hold_for_days = 0;
        calls_and_texts.controls.push(texts);
        let preset = RuleSet::compile(calls_and_texts, 1).unwrap();
        let empty = RuleSetDraft::default();
        let refused = guard(&empty, &RuleSetMeta::default(), Some(&preset)).unwrap_err();
        assert!(
            matches!(&refused, Refusal::Invalid(e) if e.field == "controls"),
            "{refused}"
        );

        let mut phone_only = preset.draft.clone();
        phone_only.controls.retain(|c| c.channel == Some(Channel::Phone));
        let refused = guard(&phone_only, &RuleSetMeta::default(), Some(&preset)).unwrap_err();
        assert!(
            matches!(&refused, Refusal::Uncontrolled(m) if m.contains("TEXT")),
            "{refused}"
        );
        let flag_only = RuleSetMeta {
            allow_uncontrolled_channels: true,
            ..RuleSetMeta::default()
        };
        assert!(
            guard(&phone_only, &flag_only, Some(&preset)).is_err(),
            "the flag needs a reason"
        );
        let meant = RuleSetMeta {
            allow_uncontrolled_channels: true,
            change_reason: "texts move to another system".into(),
            ..RuleSetMeta::default()
        };
        assert_eq!(guard(&phone_only, &meant, Some(&preset)), Ok(()));
        assert_eq!(guard(&phone_only, &RuleSetMeta::default(), None), Ok(()));
    }

    #[test]
    fn a_diff_names_controls_added_removed_and_changed_with_their_fields() {
        let old = RuleSet::regulation_f(1).draft;
        let mut new = old.clone();
        let removed = new.controls.remove(0).id;
        new.controls[0].max_total_contacts += 1;
        let changed = new.controls[0].id.clone();
        let mut added = new.controls[0].clone();
        added.id = "nyc-calls".into();
        new.controls.push(added);
        new.holidays.push("2026-12-25".into());
        let diff = RuleDiff::between(&old, &new);
        assert_eq!(diff.added, ["nyc-calls"]);
        assert_eq!(diff.removed, [removed]);
        assert_eq!(diff.changed, [(changed, vec!["max_total_contacts".to_string()])]);
        assert_eq!(diff.settings, ["holidays"]);
        assert!(RuleDiff::between(&old, &old).is_empty());
        assert_eq!(RuleDiff::between(&old, &old).to_string(), "no change");
    }
}
