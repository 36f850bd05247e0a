//! domwatch-rrp: the HTTP text protocol spoken by CentralNic Reseller (CNR, ex-RRPproxy)
//! and HEXONET (ISPAPI).
//!
//! * [`codec`]: `Command` encoding/decoding and the zero-copy response parser.

pub mod codec;
