//! What a consumer's STOP binds: every purpose of call and text to the number, or — where
//! the rule set reads the FCC's revocation rule that way — only the purpose of the text it
//! answered.
//!
//! The FCC's "revoke all" provision (47 CFR 64.1200(a)(10)) would make a revocation bind
//! every purpose a caller has; its effect has been delayed (now to January 31, 2027), and
//! how it is read is counsel's choice, not predial's: `revocation_scope` in the rule set
//! says it, and a rule-set version with an `effective_at` changes it on its date
//! (`docs/decisions.md`, "Revocation scope").

use serde::{Deserialize, Serialize};

use super::kinds::CallPurpose;

/// How far a revocation reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RevocationScope {
    /// A STOP binds every call and text to the number, whatever its purpose.
    #[default]
    AllPurposes,
    /// A STOP binds the purpose of the text it answered (a STOP whose purpose is not
    /// known binds every purpose).
    SamePurpose,
}

/// A number the consumer opted out of (BY_CUSTOMER): since when, and for which purposes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OptOut {
    /// The first revocation, in milliseconds.
    pub at_ms: i64,
    /// One bit per purpose a revocation answered a text of.
    pub purposes: u16,
    /// A revocation whose purpose is not known (a reply to no program's caller ID, a
    /// spoken opt-out recorded by an operator): every purpose.
    pub every_purpose: bool,
}

fn bit(p: CallPurpose) -> u16 {
    1 << (p as u16)
}

impl OptOut {
    /// A first revocation at `at_ms`, answering a text of `purpose` (none: not known).
    pub fn new(at_ms: i64, purpose: Option<CallPurpose>) -> OptOut {
        OptOut {
            at_ms,
            purposes: purpose.map_or(0, bit),
            every_purpose: purpose.is_none(),
        }
    }

    /// This opt-out after another revocation answering a text of `purpose`: the first
    /// revocation's time is kept, the purposes add up.
    pub fn and(self, purpose: Option<CallPurpose>) -> OptOut {
        let next = OptOut::new(self.at_ms, purpose);
        OptOut {
            at_ms: self.at_ms,
            purposes: self.purposes | next.purposes,
            every_purpose: self.every_purpose || next.every_purpose,
        }
    }

    /// Whether it binds a contact of `purpose` (none: not known — bound, erring toward the
    /// consumer) under `scope`.
    pub fn binds(&self, scope: RevocationScope, purpose: Option<CallPurpose>) -> bool {
        match scope {
            RevocationScope::AllPurposes => true,
            RevocationScope::SamePurpose => self.every_purpose || purpose.is_none_or(|p| self.purposes & bit(p) != 0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use CallPurpose::{DebtCollection, Telemarketing};

    #[test]
    fn a_stop_to_a_telemarketing_text_binds_telemarketing_only_when_the_scope_is_the_same_purpose() {
        let stop = OptOut::new(1, Some(Telemarketing));
        let same = RevocationScope::SamePurpose;
        assert!(stop.binds(same, Some(Telemarketing)));
        assert!(!stop.binds(same, Some(DebtCollection)));
        assert!(stop.binds(same, None), "a contact of no known purpose is bound");
        assert!(stop.binds(RevocationScope::AllPurposes, Some(DebtCollection)));
    }

    #[test]
    fn revocations_add_up_and_one_of_no_known_purpose_binds_every_purpose() {
        let both = OptOut::new(5, Some(Telemarketing)).and(Some(DebtCollection));
        assert_eq!(both.at_ms, 5, "the first revocation's time is kept");
        assert!(both.binds(RevocationScope::SamePurpose, Some(DebtCollection)));
        let spoken = OptOut::new(5, Some(Telemarketing)).and(None);
        assert!(spoken.binds(RevocationScope::SamePurpose, Some(CallPurpose::Survey)));
    }
}
