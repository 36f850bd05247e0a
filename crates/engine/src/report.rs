//! What a cycle and a fix report back to the CLI, the dashboard and the API.

use domwatch_core::plan::Action;
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::BTreeMap;

/// What one cycle did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CycleReport {
    pub run_id: Option<i64>,
    pub dry_run: bool,
    /// A targeted check: the domains it was limited to (empty: a full cycle).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub targeted: Vec<String>,
    pub billing_domains: usize,
    pub unreadable_billing_rows: usize,
    /// Inputs that did not arrive complete (besides whole accounts, see `failed_accounts`),
    /// each with its reason: their domains got no verdict this cycle.
    pub incomplete_inputs: Vec<String>,
    /// Domains taken out of this cycle because one of their inputs failed.
    pub skipped_domains: usize,
    pub registrar_domains: BTreeMap<String, usize>,
    pub failed_accounts: BTreeMap<String, String>,
    pub unmonitored: usize,
    pub duplicates: usize,
    pub lookups: usize,
    pub findings_by_kind: BTreeMap<String, usize>,
    pub at_stake: BTreeMap<String, Decimal>,
    pub opened: usize,
    pub reopened: usize,
    pub updated: usize,
    pub resolved: usize,
    pub notices_sent: usize,
    pub notice_errors: Vec<String>,
    /// Dry run only: findings that would open a new case.
    pub would_open: usize,
    /// Seconds spent per stage, to see at a glance where a slow cycle spends its time.
    pub stage_seconds: BTreeMap<String, f64>,
    /// Writes the scheduler made on its own (auto delete `cancel`, `withdraw`), by option.
    pub automatic_actions: BTreeMap<String, usize>,
    pub automatic_action_errors: Vec<String>,
    /// Case openings the e-mail digest of this run covered.
    pub digest_cases: usize,
    /// TLD price case events (opened, reopened, resolved) the digest of this run told.
    pub digest_price_events: usize,
    /// The TLD prices stage, when it ran.
    pub tld_prices: Option<crate::TldPriceStats>,
}

/// The result of one action of a fix.
#[derive(Debug, Clone, Serialize)]
pub struct StepReport {
    pub action: Action,
    pub description: String,
    pub outcome: StepOutcome,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", content = "detail", rename_all = "snake_case")]
pub enum StepOutcome {
    /// Dry run: this is what would be written.
    WouldApply,
    Applied(String),
    /// Applied before (same idempotency key): not repeated.
    AlreadyApplied,
    Failed(String),
    /// A person has to do this.
    Manual,
}

#[derive(Debug, Clone, Serialize)]
pub struct FixReport {
    pub case_id: i64,
    pub option: String,
    pub steps: Vec<StepReport>,
}

impl FixReport {
    pub fn succeeded(&self) -> bool {
        !self
            .steps
            .iter()
            .any(|s| matches!(s.outcome, StepOutcome::Failed(_)))
    }
}

/// How much of a cycle's input arrived complete; the CLI's exit code follows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Completeness {
    /// Every input was read completely: every domain got its verdict.
    Complete,
    /// Some inputs failed: their domains were skipped, the rest got a verdict.
    Partial,
    /// No registrar account could be read: nothing was judged.
    Nothing,
}

impl CycleReport {
    pub fn completeness(&self) -> Completeness {
        let accounts = self.registrar_domains.len() + self.failed_accounts.len();
        if accounts > 0 && self.registrar_domains.is_empty() {
            Completeness::Nothing
        } else if !self.failed_accounts.is_empty()
            || !self.incomplete_inputs.is_empty()
            || self.skipped_domains > 0
        {
            Completeness::Partial
        } else {
            Completeness::Complete
        }
    }
}
