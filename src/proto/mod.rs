//! The generated `predial.v1` messages, clients and servers (from `proto/` by `build.rs`),
//! [`convert`]: the one place protobuf meets the domain, and [`methods`]: every method of
//! the contract with its path, streaming and least role, once; and [`json`]: the one JSON
//! spelling of every message, for HTTP bodies and rule files alike.

pub mod convert;
pub mod json;
pub mod methods;

#[allow(clippy::all, missing_docs)]
pub mod v1 {
    tonic::include_proto!("predial.v1");

    /// The encoded descriptor set of `proto/`, for server reflection and generic clients.
    pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/predial_descriptor.bin"));
}
