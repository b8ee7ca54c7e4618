//! The small closed vocabularies of the domain: channels, modes, verdicts, periods, call
//! purposes, roles and reason codes.
//!
//! They mirror the protobuf enums of `predial.v1` without their `UNSPECIFIED` zero, which
//! the API layer resolves (to a default or an INVALID_ARGUMENT) before the domain sees it.
//! In rule files (JSON) they are written as `docs/rules.md` shows them, without prefix: `"PHONE"`.

use serde::{Deserialize, Serialize};

/// How a consumer is contacted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[repr(u8)]
pub enum Channel {
    Phone = 0,
    Text = 1,
    Email = 2,
    Letter = 3,
}

impl Channel {
    pub const ALL: [Channel; 4] = [Channel::Phone, Channel::Text, Channel::Email, Channel::Letter];

    /// This channel as one bit of a [`ChannelSet`].
    pub const fn bit(self) -> u8 {
        1 << self as u8
    }

    pub fn from_index(i: u8) -> Option<Channel> {
        Self::ALL.get(i as usize).copied()
    }

    /// The channel as rule files and the API name it: `PHONE`, `TEXT`, `EMAIL`, `LETTER`.
    pub fn name(self) -> &'static str {
        match self {
            Channel::Phone => "PHONE",
            Channel::Text => "TEXT",
            Channel::Email => "EMAIL",
            Channel::Letter => "LETTER",
        }
    }

    /// The noun for one contact on this channel, for sentences.
    pub fn noun(self, n: u32) -> &'static str {
        match (self, n == 1) {
            (Channel::Phone, true) => "call",
            (Channel::Phone, false) => "calls",
            (Channel::Text, true) => "text",
            (Channel::Text, false) => "texts",
            (Channel::Email, true) => "email",
            (Channel::Email, false) => "emails",
            (Channel::Letter, true) => "letter",
            (Channel::Letter, false) => "letters",
        }
    }
}

/// A set of channels in one byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ChannelSet(u8);

impl ChannelSet {
    pub fn of(channels: impl IntoIterator<Item = Channel>) -> Self {
        Self(channels.into_iter().fold(0, |acc, c| acc | c.bit()))
    }
    pub fn contains(self, c: Channel) -> bool {
        self.0 & c.bit() != 0
    }
    pub fn len(self) -> u32 {
        self.0.count_ones()
    }
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

/// Who is dialing: a machine (AUTO) or a person (MANUAL, CLICK_TO_DIAL).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Mode {
    #[default]
    Auto,
    Manual,
    ClickToDial,
}

/// The answer. Ordered from least to most restrictive, so `max` composes findings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum Verdict {
    #[default]
    Allow,
    Warn,
    Prompt,
    Deny,
}

/// The window a contact control counts over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Period {
    /// The local calendar date of the contact.
    Day,
    /// Seven consecutive local dates ending with the contact's (Regulation F's reading).
    Week,
    /// The local calendar month.
    Month,
    /// The 24 hours before the contact: (t − 24 h, t].
    #[serde(rename = "ROLLING_24_HOURS")]
    Rolling24Hours,
}

impl Period {
    /// Words for "n calls in …".
    pub fn phrase(self) -> &'static str {
        match self {
            Period::Day => "today",
            Period::Week => "the last 7 days",
            Period::Month => "this month",
            Period::Rolling24Hours => "the last 24 hours",
        }
    }

    /// The most local days a window of this period can span (for memory retention).
    pub fn max_days(self) -> u32 {
        match self {
            Period::Day => 1,
            Period::Week => 7,
            Period::Month => 31,
            Period::Rolling24Hours => 2,
        }
    }
}

/// Why a number calls (TCPA and carrier labelling categories).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CallPurpose {
    CustomerService,
    DebtCollection,
    InformationalNotification,
    Charity,
    Political,
    Survey,
    Telemarketing,
    MultiUseLine,
    Prison,
    DoNotOriginate,
}

/// A consumer's place on an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Role {
    #[default]
    Debtor,
    Cosigner,
}

/// Who excluded a number: the consumer (a STOP reply) or a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExcludedBy {
    Customer,
    User,
}

/// Why a decision is what it is. One per finding in `DialDecision.reasons`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReasonCode {
    MaxContacts,
    NearMaxContacts,
    HoldAfterRpc,
    OutsideCallingHours,
    UnknownTimeZone,
    UnknownConsumer,
    Bankruptcy,
    TextAndAutoCallsDisabled,
    AutoCommunicationsDisabled,
    NumberExcludedByCustomer,
    NumberExcludedByUser,
    DoNotOriginate,
    ProgramNotActive,
    DoNotCallListed,
    SmsReauthRequired,
    CallbackOverride,
    SuppressedForOperator,
    RestrictedDay,
    /// The consumer already has as many open attempt leases on the channel as the rules
    /// allow (`max_in_flight`): a call is in progress. Never overridable.
    AttemptInFlight,
    /// An emergency order suspends contacts in the consumer's place. Never overridable.
    EmergencyBlackout,
    /// The Reassigned Numbers Database answered that the number was disconnected on or
    /// after the consent to call it. Never overridable.
    ReassignedNumber,
    /// A control requires a fresh check of the Reassigned Numbers Database, and there is
    /// none: a contact-control violation.
    ReassignedCheckMissing,
}

impl ReasonCode {
    /// Contact-control violations: DENY for a machine, PROMPT for a person.
    /// Everything else that denies (exclusions, programs, unknowns) is never overridable.
    pub fn is_contact_control(self) -> bool {
        matches!(
            self,
            ReasonCode::MaxContacts
                | ReasonCode::HoldAfterRpc
                | ReasonCode::OutsideCallingHours
                | ReasonCode::RestrictedDay
                | ReasonCode::SmsReauthRequired
                | ReasonCode::ReassignedCheckMissing
        )
    }
}
