//! domwatch-whmcs: everything domwatch needs from WHMCS.
//!
//! * [`api`]: the External API client (`/includes/api.php`) with WHMCS's quirks handled
//!   (errors on HTTP 200, numbers as strings, `"domains": ""`, the 7.8 `numreturned` bug),
//!   timeouts, and retries for read actions only.
//! * [`actions`]: typed request/response structs for the actions domwatch uses.
//! * [`port`]: the [`port::BillingPort`] trait the engine talks to, and the
//!   [`port::ToDoNotifier`] that picks the to-do channel (database, ticket or admin e-mail).
//! * [`db`]: optional direct database access (MySQL/MariaDB) for what the API cannot do:
//!   creating to-do items and reading/writing premium data.
//! * [`db_billing`]: the billing port that reads the snapshot and the domain invoices
//!   from the database (`whmcs.read_from = "database"`) and writes through the API.
//! * [`probe`]: what `domwatch doctor` asks WHMCS (login, IP allow-list, API role,
//!   version) without changing anything.

pub mod actions;
pub mod api;
mod client_domain;
pub mod db;
pub mod db_billing;
mod db_invoices;
pub mod db_prices;
pub mod db_probe;
mod db_snapshot;
mod domain_page;
mod error;
mod invoice_page;
pub mod invoice_walk;
mod json;
mod listing;
pub mod port;
pub mod probe;
pub mod renewal;
mod secret;

pub use api::{WhmcsClient, WhmcsConfig};
pub use error::WhmcsError;
pub use port::{BillingPort, ToDoChannel, ToDoNotifier};
pub use secret::Secret;
