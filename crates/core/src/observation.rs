//! What one cycle knows about one domain: both sides and the facts the engine looked up,
//! and the evidence lines that show them. Shared by detection and the lifecycle policies,
//! so neither has to import the other for it.

use crate::model::{BillingDomain, RegistrarDomain};
use crate::money::Money;
use crate::name::DomainName;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// The latest renewal invoice (WHMCS item type `Domain`) for a billed domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RenewalInvoice {
    pub invoice_id: u64,
    pub paid: bool,
    pub cancelled: bool,
    pub amount: Money,
    pub due_date: NaiveDate,
    pub date_paid: Option<NaiveDate>,
}

/// What the registrar says about a pending or finished transfer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum TransferObservation {
    Pending,
    Failed { reason: String },
    Completed,
}

/// Everything known about one domain in one cycle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    pub name: DomainName,
    pub billing: Option<BillingDomain>,
    pub registrar: Option<RegistrarDomain>,
    /// The configured registrar account the domain belongs to (by WHMCS module).
    pub registrar_account: Option<std::sync::Arc<str>>,
    pub renewal_invoice: Option<RenewalInvoice>,
    pub transfer: Option<TransferObservation>,
    /// Consecutive cycles (including this one) in which billing expected the domain at
    /// the registrar and it was absent. Kept by the engine.
    pub missing_strikes: u32,
    /// domwatch holds an open cancellation case for the domain, so a renewal mode that
    /// lets it expire is the cancellation domwatch asked for (not a reseller default).
    #[serde(default)]
    pub lifecycle_watch: bool,
}

/// One line of evidence: the value on each side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    pub label: String,
    pub billing: Option<String>,
    pub registrar: Option<String>,
}

impl Evidence {
    pub(crate) fn new(label: &str, billing: Option<String>, registrar: Option<String>) -> Self {
        Self {
            label: label.to_string(),
            billing,
            registrar,
        }
    }
}
