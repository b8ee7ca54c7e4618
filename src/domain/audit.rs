//! The audit trail: append-only note lines about what agents were shown and what they and
//! the consumer did.

use chrono::{DateTime, Utc};

/// What a note records. Written to clients as the upper-case name (`"PROMPT_ISSUED"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoteKind {
    /// A PROMPT was shown: the operator was notified of the violations.
    PromptIssued,
    OverrideConfirmed,
    OverrideDeclined,
    /// An exempt operator was allowed past contact-control findings.
    SuppressedForOperator,
    ExclusionsChanged,
    PhoneExcluded,
    PhoneIncluded,
    /// The consumer texted a STOP-type keyword.
    OptedOut,
    /// The consumer texted a START-type keyword.
    OptedIn,
    CallbackScheduled,
    /// An attempt lease was released: the attempt was never placed.
    AttemptReleased,
    /// A rule-set version was put (a note of no consumer): who, why, when it binds, and
    /// what changed.
    Rules,
}

impl NoteKind {
    pub const ALL: [NoteKind; 12] = [
        NoteKind::PromptIssued,
        NoteKind::OverrideConfirmed,
        NoteKind::OverrideDeclined,
        NoteKind::SuppressedForOperator,
        NoteKind::ExclusionsChanged,
        NoteKind::PhoneExcluded,
        NoteKind::PhoneIncluded,
        NoteKind::OptedOut,
        NoteKind::OptedIn,
        NoteKind::CallbackScheduled,
        NoteKind::AttemptReleased,
        NoteKind::Rules,
    ];

    pub fn name(self) -> &'static str {
        match self {
            NoteKind::PromptIssued => "PROMPT_ISSUED",
            NoteKind::OverrideConfirmed => "OVERRIDE_CONFIRMED",
            NoteKind::OverrideDeclined => "OVERRIDE_DECLINED",
            NoteKind::SuppressedForOperator => "SUPPRESSED_FOR_OPERATOR",
            NoteKind::ExclusionsChanged => "EXCLUSIONS_CHANGED",
            NoteKind::PhoneExcluded => "PHONE_EXCLUDED",
            NoteKind::PhoneIncluded => "PHONE_INCLUDED",
            NoteKind::OptedOut => "OPTED_OUT",
            NoteKind::OptedIn => "OPTED_IN",
            NoteKind::CallbackScheduled => "CALLBACK_SCHEDULED",
            NoteKind::AttemptReleased => "ATTEMPT_RELEASED",
            NoteKind::Rules => "RULES",
        }
    }

    pub fn from_name(name: &str) -> Option<NoteKind> {
        NoteKind::ALL.into_iter().find(|k| k.name() == name)
    }
}

/// A note to write; the store gives it its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteDraft {
    pub consumer_id: String,
    pub at: DateTime<Utc>,
    pub operator_id: String,
    pub kind: NoteKind,
    pub text: String,
}

/// A written note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditNote {
    /// Increasing across the whole store: later notes have larger ids.
    pub id: u64,
    pub note: NoteDraft,
}
