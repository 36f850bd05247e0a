//! Bulk Fix now (issue #14): the cases a [`CaseQuery`] selects, each fixed with the same
//! option (its recommended one by default) through the single-case path of `fix.rs`, so
//! claims, idempotency keys and audit lines are exactly those of Fix now.
//!
//! The combined plan ([`Engine::bulk_plan`]) writes nothing: counts per action, money
//! affected per currency, and every write (streamed to a callback, for a CSV). Applying
//! ([`Engine::bulk_fix`], in `bulk_apply.rs`) walks the same cases in the same order.

use crate::fix::choose;
use crate::write::target_system;
use crate::{Engine, EngineError, FixReport, StepOutcome};
use domwatch_core::csv::{cell, push_row};
use domwatch_core::plan::{plan, Action};
use domwatch_store::{CaseQuery, CaseRecord, CaseState};
use rust_decimal::Decimal;
use serde::Serialize;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::time::Duration;

/// Cases read from the store at a time.
pub(crate) const BATCH: u32 = 200;

/// How a bulk fix chooses and paces its writes.
#[derive(Debug, Clone)]
pub struct BulkOptions {
    /// The fix option for every case (by name); `None`: each case's recommended option.
    pub option: Option<String>,
    /// Writes per second toward each outside system (WHMCS, each registrar account).
    /// `None`: as fast as the systems answer.
    pub rate_per_second: Option<f64>,
    /// Stop after this many cases in a row whose fix failed: a system that is down is not
    /// asked a thousand times.
    pub max_consecutive_failures: u32,
}

impl Default for BulkOptions {
    fn default() -> Self {
        Self {
            option: None,
            rate_per_second: Some(5.0),
            max_consecutive_failures: 10,
        }
    }
}

impl BulkOptions {
    /// The pause between two writes to one system.
    pub fn interval(&self) -> Option<Duration> {
        self.rate_per_second
            .filter(|r| r.is_finite() && *r > 0.0)
            .map(|r| Duration::from_secs_f64(1.0 / r))
    }
}

/// What the plan says about one write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WriteStatus {
    WouldApply,
    /// Applied earlier under the same idempotency key: not repeated.
    AlreadyApplied,
    /// A person has to do it; nothing is written.
    Manual,
}

impl WriteStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            WriteStatus::WouldApply => "would_apply",
            WriteStatus::AlreadyApplied => "already_applied",
            WriteStatus::Manual => "manual",
        }
    }
}

/// One write of the combined plan, exactly as the fix would make it.
#[derive(Debug, Clone, Serialize)]
pub struct PlannedWrite {
    pub case_id: i64,
    pub kind: String,
    /// A-label.
    pub domain: String,
    pub option: String,
    /// The action's name (`set_recurring_amount`, `set_transfer_lock`, …).
    pub action: String,
    /// `whmcs`, `registrar:<account>` or `manual`.
    pub system: String,
    pub status: WriteStatus,
    pub idempotency_key: String,
    pub description: String,
}

/// The CSV columns of the plan's writes.
pub const PLAN_COLUMNS: [&str; 9] = [
    "case",
    "kind",
    "domain",
    "option",
    "action",
    "system",
    "status",
    "idempotency_key",
    "description",
];

impl PlannedWrite {
    /// The header row of the plan's CSV.
    pub fn push_csv_header(out: &mut String) {
        push_row(out, PLAN_COLUMNS.iter().map(|c| Cow::Borrowed(*c)));
    }

    /// This write as one CSV row; untrusted text defused against formula injection.
    pub fn push_csv_row(&self, out: &mut String) {
        push_row(
            out,
            [
                Cow::Owned(self.case_id.to_string()),
                Cow::Borrowed(self.kind.as_str()),
                cell(&self.domain),
                cell(&self.option),
                Cow::Borrowed(self.action.as_str()),
                cell(&self.system),
                Cow::Borrowed(self.status.as_str()),
                cell(&self.idempotency_key),
                cell(&self.description),
            ],
        );
    }
}

/// Writes of one action name, by status.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ActionCounts {
    pub would_apply: u64,
    pub already_applied: u64,
    pub manual: u64,
}

/// The combined plan of a bulk fix: nothing is written to make it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct BulkPlan {
    /// Cases the query selects.
    pub cases: u64,
    /// Cases with at least one write still to do.
    pub to_fix: u64,
    /// Cases whose every write was applied earlier.
    pub already_fixed: u64,
    /// Cases with only steps for a person (or no option at all).
    pub by_hand: u64,
    /// Cases without the requested option, or resolved: left alone.
    pub skipped: u64,
    /// By action name.
    pub actions: BTreeMap<String, ActionCounts>,
    /// Writes still to do per outside system (what the rate limit paces).
    pub writes_per_system: BTreeMap<String, u64>,
    /// The money at stake of the cases to fix, per currency.
    pub money_affected: BTreeMap<String, Decimal>,
}

impl BulkPlan {
    /// Writes still to do, over every system.
    pub fn writes(&self) -> u64 {
        self.writes_per_system.values().sum()
    }
}

/// One case of the plan: its writes, or why it is left alone.
pub(crate) enum CasePlan {
    Writes(Vec<PlannedWrite>),
    Skipped(String),
}

impl CasePlan {
    pub(crate) fn to_do(&self) -> usize {
        match self {
            CasePlan::Writes(w) => w
                .iter()
                .filter(|w| w.status == WriteStatus::WouldApply)
                .count(),
            CasePlan::Skipped(_) => 0,
        }
    }
}

/// The action's name as the API spells it (`set_recurring_amount`).
fn action_name(action: &Action) -> String {
    serde_json::to_value(action)
        .ok()
        .and_then(|v| v["action"].as_str().map(str::to_string))
        .unwrap_or_else(|| "unknown".into())
}

impl Engine {
    /// The writes fixing `case` with `option` (recommended: `None`) would make, reading
    /// which were applied before; nothing is written.
    pub(crate) async fn plan_case(
        &self,
        case: &CaseRecord,
        option: Option<&str>,
    ) -> Result<CasePlan, EngineError> {
        if case.state == CaseState::Resolved {
            return Ok(CasePlan::Skipped("resolved".into()));
        }
        let options = plan(&case.finding);
        let chosen = match choose(case.id, &options, option) {
            Ok(chosen) => chosen,
            Err(EngineError::ManualOnly(_)) => return Ok(CasePlan::Writes(Vec::new())),
            Err(EngineError::NoSuchOption { option, .. }) => {
                return Ok(CasePlan::Skipped(format!("no option `{option}`")))
            }
            Err(e) => return Err(e),
        };
        let preview: FixReport = self.preview(case, chosen).await?;
        let writes = preview
            .steps
            .into_iter()
            .map(|s| PlannedWrite {
                case_id: case.id,
                kind: case.kind.as_str().into(),
                domain: case.domain.ascii().into(),
                option: preview.option.clone(),
                action: action_name(&s.action),
                system: target_system(&s.action),
                status: match s.outcome {
                    StepOutcome::AlreadyApplied => WriteStatus::AlreadyApplied,
                    StepOutcome::Manual => WriteStatus::Manual,
                    _ => WriteStatus::WouldApply,
                },
                idempotency_key: s.action.idempotency_key(),
                description: s.description,
            })
            .collect();
        Ok(CasePlan::Writes(writes))
    }

    /// The combined plan of fixing every case `query` selects (its sort and page are
    /// ignored: cases go by kind and A-label): counted and summed, each write passed to
    /// `each` in order. Writes nothing.
    pub async fn bulk_plan(
        &self,
        query: &CaseQuery,
        options: &BulkOptions,
        each: &mut (dyn FnMut(&PlannedWrite) + Send),
    ) -> Result<BulkPlan, EngineError> {
        let mut total = BulkPlan::default();
        let mut after: Option<(domwatch_core::detect::CaseKind, String)> = None;
        loop {
            let last = after.as_ref().map(|(k, d)| (*k, d.as_str()));
            let batch = self.store.cases_after(query, last, BATCH).await?;
            for case in &batch {
                let case_plan = self.plan_case(case, options.option.as_deref()).await?;
                total.count(case, &case_plan);
                if let CasePlan::Writes(writes) = &case_plan {
                    writes.iter().for_each(&mut *each);
                }
            }
            match batch.last() {
                Some(c) if batch.len() == BATCH as usize => {
                    after = Some((c.kind, c.domain.ascii().to_string()))
                }
                _ => return Ok(total),
            }
        }
    }
}

impl BulkPlan {
    fn count(&mut self, case: &CaseRecord, case_plan: &CasePlan) {
        self.cases += 1;
        let writes = match case_plan {
            CasePlan::Skipped(_) => {
                self.skipped += 1;
                return;
            }
            CasePlan::Writes(w) => w,
        };
        for w in writes {
            let counts = self.actions.entry(w.action.clone()).or_default();
            match w.status {
                WriteStatus::WouldApply => {
                    counts.would_apply += 1;
                    *self.writes_per_system.entry(w.system.clone()).or_default() += 1;
                }
                WriteStatus::AlreadyApplied => counts.already_applied += 1,
                WriteStatus::Manual => counts.manual += 1,
            }
        }
        if case_plan.to_do() > 0 {
            self.to_fix += 1;
            if let Some(m) = case.at_stake {
                *self
                    .money_affected
                    .entry(m.currency.to_string())
                    .or_default() += m.amount;
            }
        } else if writes
            .iter()
            .any(|w| w.status == WriteStatus::AlreadyApplied)
        {
            self.already_fixed += 1;
        } else {
            self.by_hand += 1;
        }
    }
}
