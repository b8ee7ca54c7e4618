//! Every method of the contract, once: its gRPC path, whether it streams, the least role
//! that may call it, and whether it only reads (which an auditor may call). Authentication, the gate's timing, the metrics' labels and the
//! health reporter's service names all read this table; a unit test checks it against the
//! descriptors compiled from `proto/`, so a method added there and not here fails the build's
//! tests instead of falling silently to a default.

/// The least role a caller needs (roles are ordered dialer < agent < admin).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    /// A dialer: decisions, outcomes, leases, the ping baseline.
    Dialer,
    /// An agent desktop: answering prompts, scheduling callbacks.
    Agent,
    /// An administrator: consumers, exclusions, rules, programs, lists, reports.
    Admin,
}

/// One method of `predial.v1`.
#[derive(Debug, Clone, Copy)]
pub struct Method {
    /// `/predial.v1.Service/Method`.
    pub path: &'static str,
    /// A client or server stream: timed per message by its handler, not per call.
    pub streaming: bool,
    pub caller: Caller,
    /// Changes nothing: an auditor may call it too.
    pub reads: bool,
}

impl Method {
    /// `predial.v1.Service`.
    pub fn service(&self) -> &'static str {
        self.path.trim_start_matches('/').split('/').next().unwrap_or_default()
    }
}

const fn unary(path: &'static str, caller: Caller) -> Method {
    Method {
        path,
        streaming: false,
        caller,
        reads: false,
    }
}

const fn streaming(path: &'static str, caller: Caller) -> Method {
    Method {
        path,
        streaming: true,
        caller,
        reads: false,
    }
}

/// An administrator's method that only reads: an auditor's too.
const fn read(method: Method) -> Method {
    Method { reads: true, ..method }
}

use Caller::{Admin, Agent, Dialer};

/// The methods, service by service.
pub const METHODS: &[Method] = &[
    streaming("/predial.v1.Decisions/CanDial", Dialer),
    unary("/predial.v1.Decisions/Check", Dialer),
    unary("/predial.v1.Decisions/CheckBatch", Dialer),
    unary("/predial.v1.Decisions/RecordContact", Dialer),
    unary("/predial.v1.Decisions/ReleaseAttempt", Dialer),
    unary("/predial.v1.Decisions/ConfirmOverride", Agent),
    unary("/predial.v1.Decisions/ScheduleCallback", Agent),
    unary("/predial.v1.Decisions/Ping", Dialer),
    streaming("/predial.v1.Decisions/PingStream", Dialer),
    unary("/predial.v1.Accounts/UpsertConsumer", Admin),
    read(unary("/predial.v1.Accounts/GetConsumer", Admin)),
    unary("/predial.v1.Accounts/SetExclusions", Admin),
    unary("/predial.v1.Accounts/ExcludePhone", Admin),
    unary("/predial.v1.Accounts/InboundText", Admin),
    read(unary("/predial.v1.Accounts/GetExclusionStatus", Admin)),
    read(unary("/predial.v1.Accounts/ListAuditNotes", Admin)),
    read(unary("/predial.v1.Accounts/ListConsumers", Admin)),
    unary("/predial.v1.Rules/PutRuleSet", Admin),
    read(unary("/predial.v1.Rules/GetRuleSet", Admin)),
    read(unary("/predial.v1.Rules/ValidateRuleSet", Admin)),
    read(unary("/predial.v1.Rules/ListRuleSetVersions", Admin)),
    unary("/predial.v1.Programs/CreateProgram", Admin),
    unary("/predial.v1.Programs/AddNumbers", Admin),
    unary("/predial.v1.Programs/ImportNumbersCsv", Admin),
    read(unary("/predial.v1.Programs/ListPrograms", Admin)),
    read(unary("/predial.v1.Programs/GetProgram", Admin)),
    streaming("/predial.v1.Programs/ImportDoNotCall", Admin),
    streaming("/predial.v1.Programs/ImportReassigned", Admin),
    read(unary("/predial.v1.Programs/ListDoNotCallLists", Admin)),
    unary("/predial.v1.Programs/SetConsent", Admin),
    read(unary("/predial.v1.Compliance/Query", Admin)),
    read(streaming("/predial.v1.Compliance/Export", Admin)),
    read(unary("/predial.v1.Compliance/GetStanding", Admin)),
];

/// The method at `path`, with its index in [`METHODS`].
pub fn find(path: &str) -> Option<(usize, &'static Method)> {
    METHODS.iter().enumerate().find(|(_, m)| m.path == path)
}

/// The contract's services, each once, in the table's order.
pub fn services() -> impl Iterator<Item = &'static str> {
    METHODS
        .iter()
        .enumerate()
        .filter(|(i, m)| METHODS[..*i].iter().all(|earlier| earlier.service() != m.service()))
        .map(|(_, m)| m.service())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_holds_every_method_of_the_contract_with_its_streaming() {
        let pool = prost_reflect::DescriptorPool::decode(super::super::v1::FILE_DESCRIPTOR_SET).unwrap();
        let mut seen = 0;
        for service in pool.services().filter(|s| s.package_name() == "predial.v1") {
            for method in service.methods() {
                let path = format!("/{}/{}", service.full_name(), method.name());
                let (_, m) = find(&path).unwrap_or_else(|| panic!("{path} is not in the table"));
                assert_eq!(
                    m.streaming,
                    method.is_client_streaming() || method.is_server_streaming(),
                    "{path}"
                );
                seen += 1;
            }
        }
        assert_eq!(
            seen,
            METHODS.len(),
            "the table names a method the contract does not have"
        );
    }

    #[test]
    fn the_services_are_listed_once_each() {
        let services: Vec<_> = services().collect();
        assert_eq!(
            services,
            [
                "predial.v1.Decisions",
                "predial.v1.Accounts",
                "predial.v1.Rules",
                "predial.v1.Programs",
                "predial.v1.Compliance"
            ]
        );
    }
}
