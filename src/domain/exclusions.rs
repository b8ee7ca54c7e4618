//! Exclusions: bankruptcy, "disable texting and auto calls", "disable auto
//! communications", and numbers excluded by the consumer (a STOP reply) or by a user.
//!
//! Never overridable: each finding here is a DENY in every mode, checked before anything
//! else.

use super::kinds::{Channel, Mode, ReasonCode};
use super::phone::PhoneNumber;
use thin_vec::ThinVec;

/// A consumer's account-level exclusion flags and the numbers a user excluded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Exclusions {
    pub bankruptcy: bool,
    pub disable_text_and_auto_calls: bool,
    pub disable_auto_communications: bool,
    /// Numbers excluded BY_USER for this consumer. A `ThinVec`: one pointer-sized field
    /// (no allocation while empty, as it almost always is), so the flags cost every
    /// consumer in memory 16 bytes rather than 32.
    pub user_excluded: ThinVec<PhoneNumber>,
}

/// What a request looks like to the exclusion rules.
#[derive(Debug, Clone, Copy)]
pub struct Contacting {
    pub channel: Channel,
    pub mode: Mode,
    pub workflow: bool,
    pub phone: Option<PhoneNumber>,
}

/// Every exclusion that denies `req` (`docs/decisions.md`, "Exclusions"), in a fixed order.
///
/// `opted_out` says whether the request's number is excluded BY_CUSTOMER.
pub fn exclusion_findings(ex: &Exclusions, opted_out: bool, req: Contacting) -> impl Iterator<Item = ReasonCode> {
    let auto = req.mode == Mode::Auto;
    let to_number = matches!(req.channel, Channel::Phone | Channel::Text) && req.phone.is_some();
    let user_excluded = to_number && req.phone.is_some_and(|p| ex.user_excluded.contains(&p));
    [
        (ex.bankruptcy && req.workflow, ReasonCode::Bankruptcy),
        (
            ex.disable_text_and_auto_calls
                && ((req.channel == Channel::Text && req.workflow) || (req.channel == Channel::Phone && auto)),
            ReasonCode::TextAndAutoCallsDisabled,
        ),
        (
            ex.disable_auto_communications && auto && req.workflow,
            ReasonCode::AutoCommunicationsDisabled,
        ),
        (to_number && opted_out, ReasonCode::NumberExcludedByCustomer),
        (user_excluded, ReasonCode::NumberExcludedByUser),
    ]
    .into_iter()
    .filter_map(|(hit, code)| hit.then_some(code))
}

/// How much of a consumer's numbers is excluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExclusionLevel {
    None,
    Partial,
    Full,
}

/// One number's exclusions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumberStatus {
    pub number: PhoneNumber,
    pub excluded_by_customer_at: Option<chrono::DateTime<chrono::Utc>>,
    pub excluded_by_user: bool,
}

impl NumberStatus {
    pub fn is_excluded(&self) -> bool {
        self.excluded_by_customer_at.is_some() || self.excluded_by_user
    }
}

/// A consumer's exclusions as `GetExclusionStatus` reports them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExclusionStatus {
    pub consumer_id: String,
    pub level: ExclusionLevel,
    pub flags: Exclusions,
    /// The consumer's numbers, then any other number a user excluded for it.
    pub numbers: Vec<NumberStatus>,
}

/// NONE when no number of the consumer is excluded, FULL when all are, else PARTIAL.
/// A consumer with no numbers has nothing excluded: NONE.
pub fn exclusion_level(own_numbers: &[NumberStatus]) -> ExclusionLevel {
    let excluded = own_numbers.iter().filter(|n| n.is_excluded()).count();
    match excluded {
        0 => ExclusionLevel::None,
        n if n == own_numbers.len() => ExclusionLevel::Full,
        _ => ExclusionLevel::Partial,
    }
}

/// The sentence for an exclusion finding.
pub fn exclusion_message(code: ReasonCode) -> &'static str {
    match code {
        ReasonCode::Bankruptcy => "The consumer is in bankruptcy: no collection-workflow communication.",
        ReasonCode::TextAndAutoCallsDisabled => "Texting and automated calls are disabled for this consumer.",
        ReasonCode::AutoCommunicationsDisabled => "Automated communications are disabled for this consumer.",
        ReasonCode::NumberExcludedByCustomer => "The consumer opted this number out (STOP).",
        ReasonCode::NumberExcludedByUser => "A user excluded this number.",
        _ => "Excluded.",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PHONE: Option<PhoneNumber> = None;

    fn findings(ex: &Exclusions, opted_out: bool, channel: Channel, mode: Mode, workflow: bool) -> Vec<ReasonCode> {
        let phone = PHONE.or(Some(PhoneNumber::parse("+15551234567").unwrap()));
        exclusion_findings(
            ex,
            opted_out,
            Contacting {
                channel,
                mode,
                workflow,
                phone,
            },
        )
        .collect()
    }

    #[test]
    fn every_row_of_the_exclusion_table_holds() {
        let all_channels = Channel::ALL;
        let modes = [Mode::Auto, Mode::Manual, Mode::ClickToDial];
        let bankrupt = Exclusions {
            bankruptcy: true,
            ..Default::default()
        };
        let no_text_auto = Exclusions {
            disable_text_and_auto_calls: true,
            ..Default::default()
        };
        let no_auto = Exclusions {
            disable_auto_communications: true,
            ..Default::default()
        };
        for channel in all_channels {
            for mode in modes {
                for workflow in [false, true] {
                    let hit = |ex: &Exclusions, code| findings(ex, false, channel, mode, workflow).contains(&code);
                    assert_eq!(
                        hit(&bankrupt, ReasonCode::Bankruptcy),
                        workflow,
                        "{channel:?} {mode:?} {workflow}"
                    );
                    let expect =
                        (channel == Channel::Text && workflow) || (channel == Channel::Phone && mode == Mode::Auto);
                    assert_eq!(
                        hit(&no_text_auto, ReasonCode::TextAndAutoCallsDisabled),
                        expect,
                        "{channel:?} {mode:?} {workflow}"
                    );
                    let expect = mode == Mode::Auto && workflow;
                    assert_eq!(
                        hit(&no_auto, ReasonCode::AutoCommunicationsDisabled),
                        expect,
                        "{channel:?} {mode:?} {workflow}"
                    );
                    let expect = matches!(channel, Channel::Phone | Channel::Text);
                    assert_eq!(
                        findings(&Exclusions::default(), true, channel, mode, workflow)
                            .contains(&ReasonCode::NumberExcludedByCustomer),
                        expect
                    );
                }
            }
        }
    }

    #[test]
    fn the_level_is_none_partial_or_full_over_the_consumers_numbers() {
        let n = |by_user| NumberStatus {
            number: PhoneNumber::from_u64(15551234567),
            excluded_by_customer_at: None,
            excluded_by_user: by_user,
        };
        assert_eq!(exclusion_level(&[]), ExclusionLevel::None);
        assert_eq!(exclusion_level(&[n(false), n(false)]), ExclusionLevel::None);
        assert_eq!(exclusion_level(&[n(true), n(false)]), ExclusionLevel::Partial);
        assert_eq!(exclusion_level(&[n(true), n(true)]), ExclusionLevel::Full);
    }

    #[test]
    fn a_user_exclusion_binds_only_its_number() {
        let n = PhoneNumber::parse("+15551234567").unwrap();
        let other = PhoneNumber::parse("+15557654321").unwrap();
        let ex = Exclusions {
            user_excluded: thin_vec::thin_vec![n],
            ..Default::default()
        };
        let req = |phone| Contacting {
            channel: Channel::Phone,
            mode: Mode::Manual,
            workflow: false,
            phone: Some(phone),
        };
        assert_eq!(
            exclusion_findings(&ex, false, req(n)).collect::<Vec<_>>(),
            [ReasonCode::NumberExcludedByUser]
        );
        assert_eq!(exclusion_findings(&ex, false, req(other)).count(), 0);
    }
}
