//! domwatch-rrp: the HTTP text protocol spoken by CentralNic Reseller (CNR, ex-RRPproxy)
//! and HEXONET (ISPAPI).
//!
//! * [`codec`]: `Command` encoding/decoding and the zero-copy response parser.
//! * [`client`]: `RrpClient`, the HTTP client (auth, sessions, retries, rate limits).
//! * `listing`: page sizes, list options and the premium price cache (shared by both).
//! * [`ops`]: typed operations onto the core model, and `RegistrarPort` for `RrpClient`.

pub mod client;
pub mod codec;
mod listing;
pub mod ops;
pub mod prices;

pub use client::{ClientConfig, ClientError, Environment, RrpClient, Secret};
pub use codec::{Command, Response};
pub use ops::ListOptions;
