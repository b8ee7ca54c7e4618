//! Evidence: every recorded event as an examiner reads it — a contact, a lease and how it
//! ended, a prompt and its answer, an exclusion, an opt-out or opt-in, a callback, a
//! consent, a rule change, a note — one kind of record, in time order.
//!
//! What each write records is decided where writes are staged (`store::kv::evidence`);
//! this module names the kinds, maps the audit trail's note kinds onto them, says which
//! contacts count toward a cap, and checks what an export asks for.

use chrono::{DateTime, Utc};

use super::audit::NoteKind;
use super::consumer::Whereabouts;
use super::error::FieldError;
use super::history::{ContactRec, RecKind};
use super::kinds::{Channel, Verdict};
use super::lease::{AttemptId, Grant};
use super::phone::PhoneNumber;
use super::rules::RuleSet;

/// What an evidence record is of. Written to clients as the upper-case name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvidenceKind {
    Contact,
    /// A lease granted: the attempt the decision allowed.
    Lease,
    /// A lease closed by the contact that reported its outcome.
    LeaseSettled,
    /// A lease released: its attempt was never placed.
    LeaseReleased,
    Prompt,
    /// An operator's answer to a prompt, either way.
    Override,
    Exclusion,
    OptOut,
    OptIn,
    Callback,
    Consent,
    Rules,
    /// Any other note of the audit trail.
    Note,
}

impl EvidenceKind {
    pub const ALL: [EvidenceKind; 13] = [
        EvidenceKind::Contact,
        EvidenceKind::Lease,
        EvidenceKind::LeaseSettled,
        EvidenceKind::LeaseReleased,
        EvidenceKind::Prompt,
        EvidenceKind::Override,
        EvidenceKind::Exclusion,
        EvidenceKind::OptOut,
        EvidenceKind::OptIn,
        EvidenceKind::Callback,
        EvidenceKind::Consent,
        EvidenceKind::Rules,
        EvidenceKind::Note,
    ];

    pub fn name(self) -> &'static str {
        match self {
            EvidenceKind::Contact => "CONTACT",
            EvidenceKind::Lease => "LEASE",
            EvidenceKind::LeaseSettled => "LEASE_SETTLED",
            EvidenceKind::LeaseReleased => "LEASE_RELEASED",
            EvidenceKind::Prompt => "PROMPT",
            EvidenceKind::Override => "OVERRIDE",
            EvidenceKind::Exclusion => "EXCLUSION",
            EvidenceKind::OptOut => "OPT_OUT",
            EvidenceKind::OptIn => "OPT_IN",
            EvidenceKind::Callback => "CALLBACK",
            EvidenceKind::Consent => "CONSENT",
            EvidenceKind::Rules => "RULES",
            EvidenceKind::Note => "NOTE",
        }
    }

    pub fn from_name(name: &str) -> Option<EvidenceKind> {
        EvidenceKind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// The evidence a note of the audit trail is: the note is the record of its event.
    pub fn of_note(kind: NoteKind) -> EvidenceKind {
        match kind {
            NoteKind::PromptIssued => EvidenceKind::Prompt,
            NoteKind::OverrideConfirmed | NoteKind::OverrideDeclined => EvidenceKind::Override,
            NoteKind::ExclusionsChanged | NoteKind::PhoneExcluded | NoteKind::PhoneIncluded => EvidenceKind::Exclusion,
            NoteKind::OptedOut => EvidenceKind::OptOut,
            NoteKind::OptedIn => EvidenceKind::OptIn,
            NoteKind::CallbackScheduled => EvidenceKind::Callback,
            NoteKind::AttemptReleased => EvidenceKind::LeaseReleased,
            NoteKind::Rules => EvidenceKind::Rules,
            NoteKind::SuppressedForOperator => EvidenceKind::Note,
        }
    }
}

/// One recorded event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evidence {
    pub at: DateTime<Utc>,
    pub kind: EvidenceKind,
    /// Empty for a rule change.
    pub consumer_id: String,
    pub channel: Option<Channel>,
    /// The number (E.164) or the email address the event is about; empty for none.
    pub phone: String,
    pub result_code: i32,
    /// A contact the consumer made (never counted).
    pub inbound: bool,
    /// A contact placed with the consumer's recent consent (not counted by controls that
    /// exclude such calls).
    pub consented: bool,
    /// Counted toward a cap ([`Evidence::complete`] says so for a contact).
    pub counted: bool,
    pub operator_id: String,
    pub caller_id: Option<PhoneNumber>,
    pub attempt_id: Option<AttemptId>,
    /// The version that decided a lease or a prompt; otherwise the one in force at `at`
    /// (0 until [`Evidence::complete`] fills it).
    pub rule_set_version: u64,
    /// For a lease or a prompt (and its answer): the decision that granted it.
    pub decision: Option<(Verdict, Vec<super::answer::Reason>)>,
    /// The note, or the consumer's reply.
    pub text: String,
}

impl Evidence {
    /// A record of `kind` at `at`, about `consumer_id`, with nothing else known yet.
    pub fn new(kind: EvidenceKind, at: DateTime<Utc>, consumer_id: &str) -> Evidence {
        Evidence {
            at,
            kind,
            consumer_id: consumer_id.to_string(),
            channel: None,
            phone: String::new(),
            result_code: 0,
            inbound: false,
            consented: false,
            counted: false,
            operator_id: String::new(),
            caller_id: None,
            attempt_id: None,
            rule_set_version: 0,
            decision: None,
            text: String::new(),
        }
    }

    /// Stamps the decision that granted a lease or prompted.
    pub fn decided_by(&mut self, grant: Option<&Grant>) {
        if let Some(g) = grant {
            self.decision = Some((g.verdict, g.reasons.clone()));
            self.rule_set_version = g.rule_set_version;
        }
    }

    /// Fills what an export answers about the rules rather than the event: the version in
    /// force at the record's instant (`in_force`) when no decision stamped one, and for a
    /// contact whether it counted, for a consumer of `state`/`country`.
    pub fn complete(&mut self, in_force: &RuleSet, at: &Whereabouts) {
        if self.rule_set_version == 0 {
            self.rule_set_version = in_force.version;
        }
        if let (EvidenceKind::Contact, Some(channel)) = (self.kind, self.channel) {
            let rec = ContactRec {
                at_ms: self.at.timestamp_millis(),
                code: self.result_code,
                phone: 0,
                channel,
                kind: RecKind::of(self.inbound, self.consented),
            };
            self.counted = counted(in_force, at, &rec);
        }
    }
}

/// Whether a recorded contact counts toward a cap under `rules`, for a consumer in
/// `state`/`country`: some control of its region counts it. Purposes are not asked — a
/// recorded contact carries none, and a decision counts it whatever it asks for.
pub fn counted(rules: &RuleSet, at: &Whereabouts, rec: &ContactRec) -> bool {
    rules.controls.iter().any(|c| c.binds_place(at) && c.counts(rec))
}

/// What an export asks for, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportQuery {
    /// None: every consumer.
    pub consumer_id: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    /// Empty: every kind.
    pub kinds: Vec<EvidenceKind>,
}

impl ExportQuery {
    /// Checks a request: a range is required without a consumer (an export of everything
    /// ever recorded is a backup, not evidence), `from` must come before `to`, and every
    /// kind must be one of [`EvidenceKind::ALL`].
    pub fn new(
        consumer_id: Option<String>,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
        kinds: &[String],
    ) -> Result<ExportQuery, FieldError> {
        if consumer_id.is_none() && (from.is_none() || to.is_none()) {
            return Err(FieldError::new(
                if from.is_none() { "from" } else { "to" },
                "is required when consumer_id is empty (an export of every consumer covers a range)",
            ));
        }
        if let (Some(from), Some(to)) = (from, to)
            && from >= to
        {
            return Err(FieldError::new("to", "must be after from"));
        }
        let kinds = kinds
            .iter()
            .map(|k| {
                EvidenceKind::from_name(k.trim()).ok_or_else(|| {
                    let known: Vec<&str> = EvidenceKind::ALL.iter().map(|k| k.name()).collect();
                    FieldError::new("kinds", format!("{k:?} is not one of {}", known.join(", ")))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ExportQuery {
            consumer_id,
            from,
            to,
            kinds,
        })
    }

    /// Whether a record of `kind` at `at_ms` is asked for.
    pub fn admits(&self, kind: Option<EvidenceKind>, at_ms: i64) -> bool {
        self.from.is_none_or(|f| at_ms >= f.timestamp_millis())
            && self.to.is_none_or(|t| at_ms < t.timestamp_millis())
            && (self.kinds.is_empty() || kind.is_some_and(|k| self.kinds.contains(&k)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn every_note_kind_is_evidence_of_one_kind() {
        for k in NoteKind::ALL {
            let e = EvidenceKind::of_note(k);
            assert_eq!(EvidenceKind::from_name(e.name()), Some(e));
        }
        assert_eq!(
            EvidenceKind::of_note(NoteKind::AttemptReleased),
            EvidenceKind::LeaseReleased
        );
    }

    #[test]
    fn an_export_of_everyone_needs_a_range_that_runs_forward() {
        let (a, b) = (t("2026-01-01T00:00:00Z"), t("2026-02-01T00:00:00Z"));
        assert_eq!(ExportQuery::new(None, None, Some(b), &[]).unwrap_err().field, "from");
        assert_eq!(ExportQuery::new(None, Some(a), None, &[]).unwrap_err().field, "to");
        assert_eq!(ExportQuery::new(None, Some(b), Some(a), &[]).unwrap_err().field, "to");
        assert!(ExportQuery::new(Some("c1".into()), None, None, &[]).is_ok());
        let bad = ExportQuery::new(Some("c1".into()), None, None, &["CALLS".into()]).unwrap_err();
        assert_eq!(bad.field, "kinds");
        assert!(bad.message.contains("CONTACT"), "{}", bad.message);
    }

    #[test]
    fn a_query_admits_its_range_and_kinds_only() {
        let q = ExportQuery::new(
            None,
            Some(t("2026-01-01T00:00:00Z")),
            Some(t("2026-01-02T00:00:00Z")),
            &["CONTACT".into()],
        )
        .unwrap();
        let inside = t("2026-01-01T12:00:00Z").timestamp_millis();
        assert!(q.admits(Some(EvidenceKind::Contact), inside));
        assert!(!q.admits(Some(EvidenceKind::Lease), inside));
        assert!(!q.admits(
            Some(EvidenceKind::Contact),
            t("2026-01-02T00:00:00Z").timestamp_millis()
        ));
    }

    #[test]
    fn a_contact_is_counted_when_a_control_of_its_region_counts_its_code() {
        let rules = RuleSet::regulation_f(1);
        let rec = |code| ContactRec {
            at_ms: 0,
            code,
            phone: 0,
            channel: Channel::Phone,
            kind: RecKind::Outbound,
        };
        let attempt = rules.controls[0].codes.clone();
        let counted_code = (0..200)
            .find(|c| attempt.counts(*c))
            .expect("the preset counts some code");
        assert!(counted(&rules, &Whereabouts::default(), &rec(counted_code)));
        let uncounted = (0..200).find(|c| !attempt.counts(*c)).expect("and leaves some out");
        assert!(!counted(&rules, &Whereabouts::default(), &rec(uncounted)));

        let mut e = Evidence::new(EvidenceKind::Contact, t("2026-01-01T15:00:00Z"), "c1");
        e.channel = Some(Channel::Phone);
        e.result_code = counted_code;
        e.complete(&rules, &Whereabouts::default());
        assert!(e.counted);
        assert_eq!(e.rule_set_version, 1, "the version in force fills an unstamped record");
        e.inbound = true;
        e.complete(&rules, &Whereabouts::default());
        assert!(!e.counted, "a call the consumer made counts toward no cap");
    }
}
