//! Bearer tokens and roles: who may call what.
//!
//! A client sends `authorization: Bearer <token>`. The server keeps only each token's
//! SHA-256 (hex) — a leaked config file does not leak a token — and compares the hash of
//! what it receives with *every* configured hash in constant time (`subtle`), so how long
//! a refusal takes says nothing about which bytes matched.
//!
//! Roles nest: `dialer` ⊂ `agent` ⊂ `admin`; beside them, `auditor` reads what an admin
//! reads and changes nothing.
//! - `dialer`: `Decisions/CanDial`, `Check`, `CheckBatch`, `RecordContact`,
//!   `ReleaseAttempt` (a dialer settles and releases the leases it takes) and the `Ping`
//!   baselines;
//! - `agent`: the dialer's rights plus `ConfirmOverride` and `ScheduleCallback`;
//! - `admin`: everything, including `Accounts`, `Rules`, `Programs` and `Compliance`;
//! - `auditor`: the methods that only read (`Get*`, `List*`, `ValidateRuleSet`, `Query`,
//!   `Export`: the table marks them), so a compliance officer's or an examiner's token can
//!   see everything and change nothing — not even a decision's prompt or lease.
//!
//! `grpc.health.v1` is open to all (load balancers probe it without credentials); server
//! reflection needs a valid token of any role. A method the table does not name needs
//! `admin`: a new RPC is closed until someone decides who may call it.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::proto::methods::{self, Caller, Method};

/// What a token may do: `Dialer`, `Agent` and `Admin` each include the ones before;
/// `Auditor` stands apart ([`Role::may`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Dialer,
    Agent,
    Admin,
    Auditor,
}

impl Role {
    /// Whether this role may call a method that needs `needs` (`reads`: and only reads).
    pub fn may(self, needs: Role, reads: bool) -> bool {
        fn rank(r: Role) -> Option<u8> {
            match r {
                Role::Dialer => Some(0),
                Role::Agent => Some(1),
                Role::Admin => Some(2),
                Role::Auditor => None,
            }
        }
        match (rank(self), rank(needs)) {
            (Some(has), Some(needs)) => has >= needs,
            (None, _) => reads,
            (Some(_), None) => false,
        }
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Role, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "dialer" => Ok(Role::Dialer),
            "agent" => Ok(Role::Agent),
            "admin" => Ok(Role::Admin),
            "auditor" => Ok(Role::Auditor),
            other => Err(format!("{other:?} is not a role (dialer, agent, admin or auditor)")),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Dialer => "dialer",
            Role::Agent => "agent",
            Role::Admin => "admin",
            Role::Auditor => "auditor",
        })
    }
}

/// Who may call a method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// No token needed.
    Open,
    /// A valid token of at least this role.
    AtLeast(Role),
    /// A valid token of at least this role, or an auditor's: the method only reads.
    Reads(Role),
}

/// The access rule for a gRPC path (`/package.Service/Method`): health is open, reflection
/// needs any valid token, a method of the contract the role its table entry names
/// ([`crate::proto::methods`]), and anything else an administrator.
pub fn access_for(path: &str) -> Access {
    access_of(path, methods::find(path).map(|(_, m)| m))
}

/// [`access_for`] with the path's entry in the method table already looked up.
pub fn access_of(path: &str, method: Option<&Method>) -> Access {
    let service = path.trim_start_matches('/').split('/').next().unwrap_or_default();
    match service {
        "grpc.health.v1.Health" => Access::Open,
        "grpc.reflection.v1.ServerReflection" | "grpc.reflection.v1alpha.ServerReflection" => {
            Access::AtLeast(Role::Dialer)
        }
        _ => {
            let role = match method.map(|m| m.caller) {
                Some(Caller::Dialer) => Role::Dialer,
                Some(Caller::Agent) => Role::Agent,
                Some(Caller::Admin) | None => Role::Admin,
            };
            if method.is_some_and(|m| m.reads) {
                Access::Reads(role)
            } else {
                Access::AtLeast(role)
            }
        }
    }
}

/// The SHA-256 of a token, as the config stores it (64 lowercase hex digits).
pub fn hash_token(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// One configured token.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenEntry {
    /// Who holds it (for logs; never the token).
    #[serde(default)]
    pub name: String,
    pub role: Role,
    /// SHA-256 of the token, hex.
    pub sha256: String,
}

impl FromStr for TokenEntry {
    type Err = String;
    /// `role:sha256` or `name:role:sha256` (the form of `--token` and `PREDIAL_TOKENS`).
    fn from_str(s: &str) -> Result<TokenEntry, String> {
        let parts: Vec<&str> = s.trim().split(':').collect();
        let (name, role, sha256) = match parts.as_slice() {
            [role, hash] => ("", *role, *hash),
            [name, role, hash] => (*name, *role, *hash),
            _ => return Err(format!("{s:?} is not role:sha256 or name:role:sha256")),
        };
        Ok(TokenEntry {
            name: name.to_string(),
            role: role.parse()?,
            sha256: sha256.to_string(),
        })
    }
}

/// The configured tokens, ready to check.
#[derive(Clone)]
pub struct Tokens {
    /// Each token's hash, role and holder's name.
    entries: Vec<([u8; 32], Role, Arc<str>)>,
}

/// The name of the configured token a call presented (empty for an unnamed token), put in
/// the request's extensions for the calls that record who made a change.
#[derive(Debug, Clone)]
pub struct TokenHolder(pub Arc<str>);

/// Why a call is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("a bearer token is required (authorization: Bearer <token>)")]
    Missing,
    #[error("the bearer token is not valid")]
    Unknown,
    #[error("the {has} role may not call {path}; it needs {needs}")]
    Forbidden { path: String, has: Role, needs: Role },
}

impl Tokens {
    /// Reads the configured entries; an entry whose hash is not 64 hex digits is an error
    /// naming it.
    pub fn new(entries: &[TokenEntry]) -> Result<Tokens, String> {
        let mut parsed = Vec::with_capacity(entries.len());
        for (i, e) in entries.iter().enumerate() {
            let hex = e.sha256.trim();
            let name = if e.name.is_empty() { "unnamed" } else { &e.name };
            if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(format!(
                    "tokens[{i}] ({name}): sha256 must be 64 hex digits (see `predial hash-token`)"
                ));
            }
            // A header `authorization: Bearer ` with nothing after it would match.
            if hex.eq_ignore_ascii_case(&hash_token("")) {
                return Err(format!(
                    "tokens[{i}] ({name}): sha256 is the hash of an empty token, which anyone can present"
                ));
            }
            let mut hash = [0u8; 32];
            for (j, byte) in hash.iter_mut().enumerate() {
                *byte = u8::from_str_radix(&hex[2 * j..2 * j + 2], 16).expect("checked hex");
            }
            parsed.push((hash, e.role, Arc::from(e.name.as_str())));
        }
        Ok(Tokens { entries: parsed })
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The role of a presented token. Every entry is compared, match or not.
    pub fn role_of(&self, token: &str) -> Option<Role> {
        self.holder_of(token).map(|(role, _)| role)
    }

    /// The role and the holder's name of a presented token. Every entry is compared, match
    /// or not, so the time taken says nothing of which one matched.
    fn holder_of(&self, token: &str) -> Option<(Role, Arc<str>)> {
        let presented: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let mut found = None;
        for (hash, role, name) in &self.entries {
            if bool::from(hash.ct_eq(&presented)) {
                found = Some((*role, name.clone()));
            }
        }
        found
    }

    /// Decides a call from its path and its `authorization` header value.
    pub fn admit(&self, path: &str, authorization: Option<&[u8]>) -> Result<(), Refusal> {
        self.admit_as(path, authorization).map(|_| ())
    }

    /// [`admit`](Self::admit), answering who was admitted (none for an open method).
    pub fn admit_as(&self, path: &str, authorization: Option<&[u8]>) -> Result<Option<TokenHolder>, Refusal> {
        self.admit_to(access_for(path), path, authorization)
    }

    /// [`admit_as`](Self::admit_as) with the path's access rule already looked up.
    pub fn admit_to(
        &self,
        access: Access,
        path: &str,
        authorization: Option<&[u8]>,
    ) -> Result<Option<TokenHolder>, Refusal> {
        let (needs, reads) = match access {
            Access::Open => return Ok(None),
            Access::AtLeast(role) => (role, false),
            Access::Reads(role) => (role, true),
        };
        let token = authorization
            .and_then(|v| std::str::from_utf8(v).ok())
            .and_then(|v| {
                let (scheme, token) = v.trim().split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
            })
            .filter(|t| !t.is_empty())
            .ok_or(Refusal::Missing)?;
        let (has, name) = self.holder_of(token).ok_or(Refusal::Unknown)?;
        if has.may(needs, reads) {
            Ok(Some(TokenHolder(name)))
        } else {
            Err(Refusal::Forbidden {
                path: path.to_string(),
                has,
                needs,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens() -> Tokens {
        Tokens::new(&[
            TokenEntry {
                name: "dialer-1".into(),
                role: Role::Dialer,
                sha256: hash_token("d-secret"),
            },
            format!("agent:{}", hash_token("a-secret")).parse().unwrap(),
            TokenEntry {
                name: String::new(),
                role: Role::Admin,
                sha256: hash_token("root"),
            },
        ])
        .unwrap()
    }

    const CHECK: &str = "/predial.v1.Decisions/Check";
    const CONFIRM: &str = "/predial.v1.Decisions/ConfirmOverride";
    const PUT_RULES: &str = "/predial.v1.Rules/PutRuleSet";

    #[test]
    fn a_token_is_stored_as_its_sha256() {
        assert_eq!(
            hash_token("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn each_role_reaches_its_own_methods_and_no_further() {
        let t = tokens();
        let d = Some(b"Bearer d-secret".as_slice());
        let a = Some(b"bearer a-secret".as_slice());
        let r = Some(b"Bearer root".as_slice());
        assert_eq!(t.admit(CHECK, d), Ok(()));
        assert_eq!(t.admit("/predial.v1.Decisions/ReleaseAttempt", d), Ok(()));
        assert!(matches!(t.admit(CONFIRM, d), Err(Refusal::Forbidden { .. })));
        assert!(matches!(t.admit(PUT_RULES, d), Err(Refusal::Forbidden { .. })));
        assert_eq!(t.admit(CHECK, a), Ok(()));
        assert_eq!(t.admit(CONFIRM, a), Ok(()));
        assert!(matches!(t.admit(PUT_RULES, a), Err(Refusal::Forbidden { .. })));
        for path in [CHECK, CONFIRM, PUT_RULES, "/predial.v1.Accounts/UpsertConsumer"] {
            assert_eq!(t.admit(path, r), Ok(()));
        }
    }

    #[test]
    fn an_auditor_reads_what_an_admin_reads_and_changes_nothing() {
        let t = Tokens::new(&[format!("examiner:auditor:{}", hash_token("look")).parse().unwrap()]).unwrap();
        let auditor = Some(b"Bearer look".as_slice());
        for path in [
            "/predial.v1.Accounts/GetConsumer",
            "/predial.v1.Accounts/ListAuditNotes",
            "/predial.v1.Rules/ListRuleSetVersions",
            "/predial.v1.Compliance/Export",
            "/predial.v1.Compliance/Query",
        ] {
            assert_eq!(t.admit(path, auditor), Ok(()), "{path}");
        }
        for path in [
            CHECK,
            CONFIRM,
            PUT_RULES,
            "/predial.v1.Accounts/SetExclusions",
            "/predial.v1.Programs/ImportDoNotCall",
            "/predial.v1.Decisions/SomethingNew",
        ] {
            let refused = t.admit(path, auditor).unwrap_err();
            assert!(matches!(refused, Refusal::Forbidden { .. }), "{path}");
        }
        // Every method of the table that an auditor may call changes nothing.
        for m in crate::proto::methods::METHODS.iter().filter(|m| m.reads) {
            let name = m.path.rsplit('/').next().unwrap();
            let reading = ["Get", "List", "Validate", "Query", "Export"]
                .iter()
                .any(|p| name.starts_with(p));
            assert!(reading, "{} is marked as only reading", m.path);
        }
        assert!(!Role::Admin.may(Role::Auditor, true));
    }

    #[test]
    fn a_missing_malformed_or_unknown_token_is_refused() {
        let t = tokens();
        assert_eq!(t.admit(CHECK, None), Err(Refusal::Missing));
        assert_eq!(t.admit(CHECK, Some(b"d-secret")), Err(Refusal::Missing));
        assert_eq!(t.admit(CHECK, Some(b"Basic d-secret")), Err(Refusal::Missing));
        assert_eq!(t.admit(CHECK, Some(b"Bearer ")), Err(Refusal::Missing));
        assert_eq!(t.admit(CHECK, Some(b"Bearer d-secreT")), Err(Refusal::Unknown));
        assert_eq!(t.admit(CHECK, Some(&[0xff, 0xfe])), Err(Refusal::Missing));
    }

    #[test]
    fn health_is_open_and_unknown_methods_need_admin() {
        let t = tokens();
        assert_eq!(t.admit("/grpc.health.v1.Health/Check", None), Ok(()));
        assert_eq!(
            access_for("/predial.v1.Decisions/SomethingNew"),
            Access::AtLeast(Role::Admin)
        );
        assert_eq!(
            access_for("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"),
            Access::AtLeast(Role::Dialer)
        );
    }

    #[test]
    fn a_bad_hash_in_the_config_is_named() {
        let err = Tokens::new(&["ops:admin:xyz".parse().unwrap()]).err().unwrap();
        assert!(err.contains("tokens[0] (ops)"), "{err}");
        assert!("ops:root:abc".parse::<TokenEntry>().is_err());
        assert!("justone".parse::<TokenEntry>().is_err());
    }
}
