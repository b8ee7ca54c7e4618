//! The question a decision answers: the request, validated, and what is known of the
//! consumer it is about.

use chrono::{DateTime, NaiveDate, Utc};

use super::consumer::Profile;
use super::exclusions::Exclusions;
use super::history::History;
use super::kinds::{CallPurpose, Channel, Mode};
use super::lease::OpenLease;
use super::phone::PhoneNumber;
use super::reassigned::Answer;

/// What is known of the consumer a request is about.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    pub profile: &'a Profile,
    pub exclusions: &'a Exclusions,
    /// The request's number is excluded BY_CUSTOMER (a STOP reply), and for which
    /// purposes: whether that binds this request is the rule set's revocation scope.
    pub opted_out: Option<super::revocation::OptOut>,
    /// The consumer's own contacts.
    pub own: &'a History,
    /// The contacts of the consumer's whole group (own included), when it has one.
    pub group: Option<&'a History>,
    /// A scheduled callback lifts frequency and hold controls for the request's number.
    pub callback_active: bool,
    /// The Do Not Call list the request's number is on, when the consumer gave no
    /// telemarketing consent for it. Looked up only for a request that consults the
    /// lists ([`Request::consults_do_not_call`]); none for any other.
    pub do_not_call: Option<&'static str>,
    /// The consumer's unsettled attempt leases (their records are in `own` and `group`
    /// too; this is what the in-flight rule reads).
    pub leases: &'a [OpenLease],
    /// The Reassigned Numbers Database's answers about the request's number (looked up
    /// for calls and texts only; empty for anything else).
    pub reassigned: &'a [Answer],
}

impl Subject<'_> {
    /// The day the consumer gave `phone` (consent to call it), when on record.
    pub fn consent_day(&self, phone: PhoneNumber) -> Option<NaiveDate> {
        self.profile.phone(phone).and_then(|p| p.consent_day)
    }
}

/// What the calling programs know of the request's caller ID.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallerFacts {
    /// The purpose the caller ID is registered with.
    pub purpose: CallPurpose,
    /// Whether its program places calls at the request's instant.
    pub program_active: bool,
}

/// The request, validated.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub channel: Channel,
    pub mode: Mode,
    pub workflow: bool,
    pub phone: Option<PhoneNumber>,
    pub purpose: Option<CallPurpose>,
    pub operator_id: &'a str,
    pub at: DateTime<Utc>,
    /// The caller ID's registration, when it is one of a calling program's numbers.
    pub caller: Option<CallerFacts>,
    /// Decide under the rule-set version in force at this instant instead of the one in
    /// force at the later of `at` and now.
    pub rules_as_of: Option<DateTime<Utc>>,
}

impl Request<'_> {
    /// The request's purpose: its caller ID program's, else the one it names (none: not
    /// known). What a revocation's scope and a blackout's purposes are asked of.
    pub fn effective_purpose(&self) -> Option<CallPurpose> {
        self.caller.map(|c| c.purpose).or(self.purpose)
    }

    /// Whether the Reassigned Numbers Database's answers bear on this request: a call or a
    /// text to a number.
    pub fn consults_reassigned(&self) -> bool {
        self.phone.is_some() && matches!(self.channel, Channel::Phone | Channel::Text)
    }

    /// Whether the Do Not Call lists bear on this request: a call or text from a caller ID
    /// registered for telemarketing. Nothing else consults them, so nothing else needs
    /// the number looked up (a search of a list of millions, mostly out of cache).
    pub fn consults_do_not_call(&self) -> bool {
        matches!(self.channel, Channel::Phone | Channel::Text)
            && self.caller.is_some_and(|c| c.purpose == CallPurpose::Telemarketing)
    }
}
