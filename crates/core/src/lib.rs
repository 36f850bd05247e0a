//! domwatch-core: the pure heart of domwatch.
//!
//! Everything here is deterministic and free of I/O: the domain model shared by every
//! adapter (registrar, billing, store, notifier), money arithmetic on `rust_decimal`,
//! domain-name normalisation (UTS-46), escaping of untrusted text for terminals and
//! logs ([`text`]), and an injectable [`clock::Clock`].
//! Adapters live in their own crates and only exchange the types defined here.

pub mod clock;
pub mod csv;
pub mod date;
pub mod detect;
pub mod forecast;
pub mod lifecycle;
pub mod model;
pub mod money;
pub mod name;
pub mod observation;
pub mod plan;
pub mod ports;
pub mod pricing;
pub mod retry;
pub mod text;
pub mod webhook;

pub use clock::{Clock, FixedClock, SystemClock};
pub use money::{Currency, Money, MoneyError};
pub use name::{search_fragment, DomainName, NameError, NameSet, Scope};
pub use text::Untrusted;
