//! Applying a bulk fix: the plan's cases in the plan's order (kind, A-label), one case at a
//! time through Fix now's claims, paced per outside system, stoppable between cases.
//!
//! Resumable by construction: every write's idempotency key is recorded with its result,
//! so a rerun after a stop or a crash finds the applied ones and skips them; a case whose
//! claim a killed run left behind is reported busy until its lease runs out (or, in the
//! same process, taken over and checked at the outside system by `fix.rs`).

use crate::bulk::{BulkOptions, CasePlan, WriteStatus, BATCH};
use crate::{Engine, EngineError, FixReport, StepOutcome};
use domwatch_core::detect::CaseKind;
use domwatch_store::{CaseQuery, CaseRecord};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::time::Instant;

/// What happened to one case of a bulk fix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", content = "detail", rename_all = "snake_case")]
pub enum CaseOutcome {
    /// Every write to do was made (the number of writes).
    Fixed(usize),
    /// Everything was applied earlier (by an earlier run, or Fix now).
    AlreadyFixed,
    /// Only steps for a person: nothing written.
    ByHand,
    /// A step failed (the reason); the following steps were not tried.
    Failed(String),
    /// Another fix holds the case (the holder): nothing written, a rerun tries again.
    Busy(String),
    /// Left alone (resolved, or without the requested option).
    Skipped(String),
}

/// Told about each case as it is done: the CLI's bar, the dashboard's progress page.
pub trait BulkProgress: Send + Sync {
    fn started(&self, cases: u64);
    fn case_done(&self, case: &CaseRecord, outcome: &CaseOutcome);
}

impl BulkProgress for crate::NoProgress {
    fn started(&self, _: u64) {}
    fn case_done(&self, _: &CaseRecord, _: &CaseOutcome) {}
}

/// The most failures a report lists one by one.
const LISTED_FAILURES: usize = 50;

/// The result of one bulk fix run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BulkReport {
    /// Cases looked at (less than selected when stopped).
    pub cases: u64,
    pub fixed: u64,
    pub already_fixed: u64,
    pub by_hand: u64,
    pub failed: u64,
    pub busy: u64,
    pub skipped: u64,
    /// Writes made by this run.
    pub writes: u64,
    /// Stopped by the stop flag before every case was looked at.
    pub stopped: bool,
    /// Why the run gave up early (too many failures in a row).
    pub gave_up: Option<String>,
    /// (case, reason) of the first failed or busy cases.
    pub failures: Vec<(i64, String)>,
}

impl BulkReport {
    /// Every selected case fixed, already fixed, by hand or skipped.
    pub fn complete(&self) -> bool {
        !self.stopped && self.gave_up.is_none() && self.failed == 0 && self.busy == 0
    }

    fn record(&mut self, case: &CaseRecord, outcome: &CaseOutcome) {
        self.cases += 1;
        match outcome {
            CaseOutcome::Fixed(n) => {
                self.fixed += 1;
                self.writes += *n as u64;
            }
            CaseOutcome::AlreadyFixed => self.already_fixed += 1,
            CaseOutcome::ByHand => self.by_hand += 1,
            CaseOutcome::Skipped(_) => self.skipped += 1,
            CaseOutcome::Failed(why) | CaseOutcome::Busy(why) => {
                if matches!(outcome, CaseOutcome::Failed(_)) {
                    self.failed += 1;
                } else {
                    self.busy += 1;
                }
                if self.failures.len() < LISTED_FAILURES {
                    self.failures.push((case.id, why.clone()));
                }
            }
        }
    }
}

/// One pause per outside system between two writes to it.
struct Pacer {
    interval: Option<Duration>,
    next: HashMap<String, Instant>,
}

impl Pacer {
    async fn wait(&mut self, system: &str) {
        let Some(interval) = self.interval else {
            return;
        };
        let now = Instant::now();
        let at = self.next.get(system).copied().unwrap_or(now).max(now);
        tokio::time::sleep_until(at).await;
        self.next.insert(system.to_string(), at + interval);
    }
}

impl Engine {
    /// Fixes every case `query` selects with `options.option` (each case's recommended
    /// option by default), in the order of [`Engine::bulk_plan`]. `stop` is read between
    /// cases: a case once started is finished. Each write goes through Fix now's claims,
    /// idempotency keys and audit lines, so a rerun skips what was applied.
    pub async fn bulk_fix(
        &self,
        query: &CaseQuery,
        options: &BulkOptions,
        actor: &str,
        stop: &AtomicBool,
        progress: &dyn BulkProgress,
    ) -> Result<BulkReport, EngineError> {
        let selected = self.store.case_page(&count_only(query)).await?.total;
        progress.started(u64::try_from(selected).unwrap_or(0));
        let mut report = BulkReport::default();
        let mut pacer = Pacer {
            interval: options.interval(),
            next: HashMap::new(),
        };
        let mut failures_in_a_row = 0;
        let mut after: Option<(CaseKind, String)> = None;
        loop {
            let last = after.as_ref().map(|(k, d)| (*k, d.as_str()));
            let batch = self.store.cases_after(query, last, BATCH).await?;
            for case in &batch {
                if stop.load(Ordering::SeqCst) {
                    report.stopped = true;
                    return Ok(report);
                }
                let outcome = self.bulk_case(case, options, actor, &mut pacer).await?;
                report.record(case, &outcome);
                progress.case_done(case, &outcome);
                if matches!(outcome, CaseOutcome::Failed(_)) {
                    failures_in_a_row += 1;
                } else if matches!(outcome, CaseOutcome::Fixed(_)) {
                    failures_in_a_row = 0;
                }
                if failures_in_a_row >= options.max_consecutive_failures.max(1) {
                    report.gave_up = Some(format!(
                        "{failures_in_a_row} cases in a row failed (last: {}): stopped so a system that is down is not asked again; fix the cause and run the same command again",
                        report.failures.last().map(|f| f.1.as_str()).unwrap_or("")
                    ));
                    return Ok(report);
                }
            }
            match batch.last() {
                Some(c) if batch.len() == BATCH as usize => {
                    after = Some((c.kind, c.domain.ascii().to_string()))
                }
                _ => return Ok(report),
            }
        }
    }

    /// One case of a bulk fix: planned again (an earlier run may have applied some of its
    /// writes), paced per system, then applied through Fix now.
    async fn bulk_case(
        &self,
        case: &CaseRecord,
        options: &BulkOptions,
        actor: &str,
        pacer: &mut Pacer,
    ) -> Result<CaseOutcome, EngineError> {
        let writes = match self.plan_case(case, options.option.as_deref()).await? {
            CasePlan::Skipped(why) => return Ok(CaseOutcome::Skipped(why)),
            CasePlan::Writes(w) => w,
        };
        let to_do: Vec<_> = writes
            .iter()
            .filter(|w| w.status == WriteStatus::WouldApply)
            .collect();
        if to_do.is_empty() {
            let earlier = writes
                .iter()
                .any(|w| w.status == WriteStatus::AlreadyApplied);
            return Ok(if earlier {
                CaseOutcome::AlreadyFixed
            } else {
                CaseOutcome::ByHand
            });
        }
        for w in &to_do {
            pacer.wait(&w.system).await;
        }
        let options_of_case = domwatch_core::plan::plan(&case.finding);
        let chosen = crate::fix::choose(case.id, &options_of_case, options.option.as_deref())?;
        match self.claim_and_apply(case, chosen, actor).await {
            Ok(report) => Ok(outcome_of(&report)),
            Err(EngineError::InProgress(_, holder)) => Ok(CaseOutcome::Busy(format!(
                "another fix holds this case (started by {holder}); run again once it is done or its claim ran out"
            ))),
            Err(e) => Err(e),
        }
    }
}

/// The query counting what `query` selects (one row read).
fn count_only(query: &CaseQuery) -> CaseQuery {
    CaseQuery {
        page: 1,
        per_page: 1,
        ..query.clone()
    }
}

fn outcome_of(report: &FixReport) -> CaseOutcome {
    let mut applied = 0;
    for s in &report.steps {
        match &s.outcome {
            StepOutcome::Failed(why) => return CaseOutcome::Failed(why.clone()),
            StepOutcome::Applied(_) => applied += 1,
            _ => {}
        }
    }
    if applied > 0 {
        CaseOutcome::Fixed(applied)
    } else {
        CaseOutcome::AlreadyFixed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_pacer_spaces_writes_per_system_only() {
        let mut pacer = Pacer {
            interval: Some(Duration::from_millis(200)),
            next: HashMap::new(),
        };
        let start = Instant::now();
        pacer.wait("whmcs").await;
        pacer.wait("registrar:cnr").await;
        assert!(
            start.elapsed() < Duration::from_millis(200),
            "the first write to each system waits for nothing"
        );
        pacer.wait("whmcs").await;
        pacer.wait("whmcs").await;
        assert!(start.elapsed() >= Duration::from_millis(400));
        let before = Instant::now();
        pacer.wait("registrar:cnr").await;
        assert!(
            before.elapsed() < Duration::from_millis(200),
            "cnr's next write was due long ago"
        );
    }

    #[test]
    fn no_rate_means_no_pause_and_a_rate_its_interval() {
        let mut o = BulkOptions {
            rate_per_second: None,
            ..BulkOptions::default()
        };
        assert_eq!(o.interval(), None);
        o.rate_per_second = Some(0.0);
        assert_eq!(o.interval(), None);
        o.rate_per_second = Some(4.0);
        assert_eq!(o.interval(), Some(Duration::from_millis(250)));
    }
}
