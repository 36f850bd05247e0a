//! Sandbox servers that stand in for the systems domwatch cannot reach from a test
//! machine: the registrars (CNR / ISPAPI HTTP text protocol, Smart-NIC SOAP) and WHMCS.
//! They speak the real wire protocols and are seeded from one deterministic
//! [`portfolio::Portfolio`], so the billing and registrar sides of the same seed describe
//! the same domains, with deliberate drift.

pub mod kit;
pub mod portfolio;
pub mod price_list;
pub mod registrar;
pub mod smartnic;
pub mod whmcs;
