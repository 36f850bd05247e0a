//! A targeted check: the cycle's stages for a few named domains (`domwatch check
//! --domain`, and the inbound events of `POST /api/events`).
//!
//! The same rules as a full cycle, kept by the same code: the fetch reads just these
//! domains (GetClientsDomains by name, StatusDomain at every account) and a failed read
//! is never "not there"; join, scope, enrich and detection are the cycle's; cases are
//! recorded, fixed automatically and notified through the same claims, so every write
//! happens at most once and every notice exactly once. What differs keeps the check from
//! touching anything else: the scope holds only the named domains (no other domain's
//! case is opened, updated or resolved), "missing at registrar" strikes are read but
//! never counted (a few StatusDomain answers are not a listing), and the stages about the
//! whole portfolio (renewal forecast, TLD prices, e-mail digest, recovery of other
//! domains' interrupted writes, notices of other domains' automatic writes) are left to
//! the next full cycle.

use crate::join::{join, Joined};
use crate::scope::Skipped;
use crate::{CycleReport, Engine, EngineError, Mode, Progress};
use domwatch_core::DomainName;
use std::collections::BTreeSet;

impl Engine {
    /// Checks just `names` (a new run, marked `targeted` in its report).
    pub async fn check_domains(
        &self,
        names: &[DomainName],
        mode: Mode,
        progress: &dyn Progress,
    ) -> Result<CycleReport, EngineError> {
        let names: Vec<DomainName> = names
            .iter()
            .cloned()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let dry_run = mode == Mode::DryRun;
        let mut report = CycleReport {
            dry_run,
            targeted: names.iter().map(|n| n.ascii().to_string()).collect(),
            ..CycleReport::default()
        };
        let run_id = if dry_run {
            None
        } else {
            Some(self.store.begin_run(self.now(), false).await?)
        };
        report.run_id = run_id;
        let result = self.targeted(run_id, &names, &mut report, progress).await;
        self.finish_run(run_id, &report, &result).await?;
        result.map(|()| report)
    }

    async fn targeted(
        &self,
        run_id: Option<i64>,
        names: &[DomainName],
        report: &mut CycleReport,
        progress: &dyn Progress,
    ) -> Result<(), EngineError> {
        let fetched = self.fetch(run_id, report, progress, Some(names)).await?;
        progress.stage("joining", None);
        let mut joined = join(fetched.domains, fetched.snapshots);
        report.unmonitored = joined.unmonitored;
        report.duplicates = joined.duplicates;
        only_named(&mut joined, names);

        let skipped = Skipped::after_fetch(
            &fetched.unreadable_names,
            fetched.premium_data_read,
            fetched.id_protection_read,
            &joined.observations,
        );
        self.look_up_and_scope(run_id, &mut joined, skipped, report, progress)
            .await?;

        self.known_strikes(names, &mut joined).await?;
        let findings = self.detect_findings(
            &mut joined,
            (&fetched.rates, &fetched.id_protection),
            report,
            progress,
        );
        let Some(run_id) = run_id else {
            report.would_open = self.would_open(&findings).await?;
            return Ok(());
        };
        self.record(run_id, &findings, &joined.scope, report, progress)
            .await?;
        progress.stage("automatic fixes", None);
        self.run_automatic_fixes(report, &joined.scope).await?;
        progress.stage("sending notices", None);
        self.send_pending_notices(run_id, report, &joined.scope, true)
            .await?;
        Ok(())
    }

    /// The strikes counted by full cycles, unchanged; none for a domain the registrar
    /// holds (the next full cycle clears its count).
    async fn known_strikes(
        &self,
        names: &[DomainName],
        joined: &mut Joined,
    ) -> Result<(), EngineError> {
        let strikes = self.store.absence_strikes(names).await?;
        for o in &mut joined.observations {
            if o.registrar.is_none() {
                o.missing_strikes = strikes.get(&o.name).copied().unwrap_or(0);
            }
        }
        Ok(())
    }
}

/// Keeps only the named domains: a billing row found under another spelling of a name is
/// still that name, anything else is not this check's business.
fn only_named(joined: &mut Joined, names: &[DomainName]) {
    let wanted: BTreeSet<&DomainName> = names.iter().collect();
    joined.observations.retain(|o| wanted.contains(&o.name));
    joined.scope.retain(|n| wanted.contains(n));
    joined.absent.clear();
}
