//! Smart-NIC domain-bestellsystem (SOAP 1.1, RPC/encoded, HTTP Basic auth).
//!
//! [`SmartnicClient`] implements [`domwatch_core::ports::RegistrarPort`]: the bulk list is
//! `domainListExtended` (paged), a cancellation is `domainDelete` (or `domainTransit` for
//! .de) and its withdrawal `domainRevoke`; contacts are `domainUpdate` and `handle*`.
//! Every call carries a fresh `clientTRID`; `returnCode` 1000 is success. The WSDL this is
//! typed from is `wsdl/smartnic-soap.wsdl`; `docs/smartnic-operations.md` lists the fields.

pub mod client;
pub mod ops;
pub mod xml;

pub use client::{Kind, SmartnicClient, SmartnicConfig, LIVE_ENDPOINT};
pub use ops::{format_date, parse_date, HandleSummary, LIST_FIELDS};

#[cfg(test)]
mod wsdl_conformance;
