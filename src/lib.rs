//! predial — a gRPC pre-dial decision server.
//!
//! Before every call, text, email or letter a dialer asks predial whether the contact is
//! allowed right now, and gets ALLOW, WARN, PROMPT or DENY with the reasons, the counts and
//! the earliest time it would be allowed. What it decides and how is documented for users
//! in `docs/` (`docs/decisions.md` first); the wire contract is `proto/predial/v1/*.proto`.
//!
//! # Layout
//!
//! - [`domain`]: rules, periods, calling hours, exclusions and the decision function.
//!   Plain Rust — no tonic, no sled, no async — and unit-tested on its own.
//! - [`state`]: the in-memory book of consumers and groups (dashmap), the active rule set
//!   (arc-swap), and the [`state::Engine`] handle that ties them to the store: decisions,
//!   attempt leases (decided and taken under one lock per consumer and group), loading
//!   memory, and following a shared store's change feed.
//! - [`store`]: durable storage behind the [`store::Store`] trait and group commit: every
//!   write is durable before it is acknowledged. One key-value layout ([`store::kv`]),
//!   two backends: sled under `--data` (the default), and PostgreSQL shared by a cluster's
//!   nodes ([`store::postgres`]).
//! - [`api`]: the tonic services — protobuf in, validation, domain call, protobuf out —
//!   and [`api::http`], the same services as HTTP/JSON by their `google.api.http` routes.
//! - [`server`]: starting, serving and shutting down, in one place.
//! - [`proto`]: the code generated from `proto/`, and the conversions to and from it.
//! - `bench`: `predial bench`, the load generator (the `bench` cargo feature, on by
//!   default; a server built without it serves the same).
//! - [`client`]: how the command line's clients reach a server (address, TLS, token).
//! - [`config`]: the `serve` settings: flags, environment, TOML file.
//! - [`metrics`]: Prometheus counters and histograms, and the `/metrics` endpoint.
//! - [`dnc_cli`]: `predial dnc import`, a Do Not Call list file into a running server.
//! - [`reassigned_cli`]: `predial reassigned import`, Reassigned Numbers Database answers
//!   (CSV) into a running server; [`file_upload`]: how both read and send a file.
//! - [`export_cli`]: `predial export`, the evidence of a running server to a file.
//! - [`rules_cli`]: `predial rules check` and `predial rules diff`, offline.
//!
//! The binary (`src/main.rs`) is the `predial` command line: `predial serve`.

#![deny(unsafe_code)]

pub mod api;
#[cfg(feature = "bench")]
pub mod bench;
pub mod client;
pub mod config;
pub mod dnc_cli;
pub mod domain;
pub mod export_cli;
pub mod file_upload;
pub mod metrics;
pub mod proto;
pub mod reassigned_cli;
pub mod rules_cli;
pub mod server;
pub mod state;
pub mod store;
