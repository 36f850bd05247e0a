//! The monitoring engine. Data flows one way:
//! fetch snapshots (billing + every registrar account, bulk) -> join by normalised name ->
//! enrich the few suspicious domains (invoice, transfer status) -> detect (pure, core) ->
//! record cases (store) -> notify once per case opening. Fix now: plan (core) -> apply each
//! action at most once (store idempotency keys) -> audit every write.

mod bulk;
mod bulk_apply;
mod claim;
mod cycle;
pub mod digest;
mod enrich;
pub mod events;
mod fetch;
pub mod fetch_cache;
mod fix;
pub mod forecast;
pub mod join;
mod join_sort;
pub mod lifecycle;
mod notify;
mod notify_prices;
mod prices;
mod prices_fix;
mod prices_map;
mod recover;
mod report;
mod scope;
mod targeted;
mod write;

pub use bulk::{ActionCounts, BulkOptions, BulkPlan, PlannedWrite, WriteStatus, PLAN_COLUMNS};
pub use bulk_apply::{BulkProgress, BulkReport, CaseOutcome};
pub use claim::{host_name, CLAIM_LEASE};
pub use notify::notice_marker;
pub use prices::TldPriceStats;
pub use prices_fix::{by_hand as tld_price_by_hand, TLD_PRICE_OPTION};
pub use report::{Completeness, CycleReport, FixReport, StepOutcome, StepReport};

use chrono::{DateTime, Utc};
use domwatch_core::detect::{DetectionPolicy, Finding};
use domwatch_core::ports::RegistrarPort;
use domwatch_core::{Clock, Currency, DomainName};
use domwatch_store::{CaseFilter, CaseRecord, Store};
use domwatch_whmcs::db::WhmcsDb;
use domwatch_whmcs::port::{BillingPort, ToDoNotifier};
use rust_decimal::Decimal;
use std::sync::Arc;

/// A configured registrar account.
#[derive(Clone)]
pub struct Account {
    pub name: String,
    pub modules: Vec<String>,
    pub port: Arc<dyn RegistrarPort>,
}

/// Progress of a long run, shown by the CLI as a bar; a no-op elsewhere.
pub trait Progress: Send + Sync {
    fn stage(&self, name: &str, total: Option<u64>);
    fn advance(&self, by: u64);
}

pub struct NoProgress;

impl Progress for NoProgress {
    fn stage(&self, _: &str, _: Option<u64>) {}
    fn advance(&self, _: u64) {}
}

/// Everything the engine talks to.
#[derive(Clone)]
pub struct Engine {
    pub store: Store,
    pub billing: Arc<dyn BillingPort>,
    pub whmcs_db: Option<WhmcsDb>,
    /// Where admin notices go (to-do, else ticket, else admin e-mail). `None`: no notices.
    pub notifier: Option<ToDoNotifier>,
    pub accounts: Vec<Account>,
    pub clock: Arc<dyn Clock>,
    pub policy: DetectionPolicy,
    /// Configured fallback rates; registrar rates take precedence.
    pub fixed_rates: Vec<(Currency, Currency, Decimal)>,
    /// Concurrent look-ups for the enrichment step.
    pub concurrency: usize,
    /// Bot tickets for lifecycle cases and the registrar's notification address.
    pub notices: lifecycle::NoticeSettings,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Apply,
    DryRun,
}

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("the billing system could not be read, nothing was changed: {0}")]
    Billing(String),
    #[error(transparent)]
    Store(#[from] domwatch_store::StoreError),
    #[error("case {0} does not exist: list cases with `domwatch cases`")]
    NoSuchCase(i64),
    #[error("case {0} is resolved; nothing to fix")]
    Resolved(i64),
    #[error("case {case} has no fix option `{option}`; options: {available}")]
    NoSuchOption {
        case: i64,
        option: String,
        available: String,
    },
    #[error("case {0} can only be fixed by hand: follow its guide")]
    ManualOnly(i64),
    #[error("a fix of case {0} is already in progress (started by {1}): wait for it and look at the case again")]
    InProgress(i64, String),
}

impl Engine {
    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    pub(crate) fn account(&self, name: &str) -> Option<&Account> {
        self.accounts.iter().find(|a| a.name == name)
    }
}

/// Every open case, for listings.
pub async fn open_cases(store: &Store) -> Result<Vec<CaseRecord>, EngineError> {
    Ok(store.cases(CaseFilter::open()).await?)
}

/// Domain names of a finding set, for tests and reports.
pub fn domains_of(findings: &[Finding]) -> Vec<DomainName> {
    findings.iter().map(|f| f.domain.clone()).collect()
}
