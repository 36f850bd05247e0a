//! Smart-NIC domain-bestellsystem (SOAP 1.1, RPC/encoded, HTTP Basic auth).
//!
//! [`SmartnicClient`] implements [`domwatch_core::ports::RegistrarPort`]: the bulk list is
//! `domainListExtended` (paged), a cancellation is `domainDelete` (or `domainTransit` for
//! .de) and its withdrawal `domainRevoke`; contacts are `domainUpdate` and `handle*`.
//! The full price list (`priceDomainList`) feeds the TLD price monitor (`prices`).
//! Every call carries a fresh `clientTRID`; `returnCode` 1000 is success. The operations
//! and fields are checked against `wsdl/smartnic-soap.wsdl` by the tests;
//! `docs/smartnic-operations.md` is the wire contract.

pub mod client;
pub mod dates;
pub mod list_reader;
pub mod operations;
pub mod ops;
pub mod prices;
pub mod xml;

pub use client::{SmartnicClient, SmartnicConfig, LIVE_ENDPOINT};
pub use dates::{format_start_date, parse_date, StartDateFormat};
pub use operations::{op, Kind, Operation, Request, LIST_FIELDS};
pub use ops::{HandleSummary, ListPage};

/// The WSDL this client is written against (served by the sandbox as `/soap.wsdl`).
pub const WSDL: &str = include_str!("../wsdl/smartnic-soap.wsdl");

#[cfg(test)]
mod wsdl_conformance;
