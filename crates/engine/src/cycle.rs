//! One monitoring cycle, stage by stage: fetch -> join -> enrich -> detect -> record ->
//! act (automatic fixes) -> notify.

use crate::join::{join, Joined};
use crate::scope::Skipped;
use crate::{fetch_cache, CycleReport, Engine, EngineError, Mode, Progress};
use domwatch_core::detect::{detect, price_id_protection, CaseKind, Finding, IdProtectionPrices};
use domwatch_core::money::RateTable;
use domwatch_core::Scope;
use domwatch_store::CaseFilter;
use std::collections::HashSet;

/// Measures consecutive stages of a cycle.
struct Laps(std::time::Instant);

impl Laps {
    fn start() -> Self {
        Laps(std::time::Instant::now())
    }

    fn lap(&mut self, report: &mut CycleReport, stage: &str) {
        let seconds = self.0.elapsed().as_secs_f64();
        tracing::info!(stage, seconds, "cycle stage done");
        report.stage_seconds.insert(stage.to_string(), seconds);
        self.0 = std::time::Instant::now();
    }
}

impl Engine {
    /// One monitoring cycle.
    pub async fn run_cycle(
        &self,
        mode: Mode,
        progress: &dyn Progress,
    ) -> Result<CycleReport, EngineError> {
        let dry_run = mode == Mode::DryRun;
        let mut report = CycleReport {
            dry_run,
            ..CycleReport::default()
        };
        let run_id = if dry_run {
            None
        } else {
            Some(self.store.begin_run(self.now(), false).await?)
        };
        report.run_id = run_id;
        let result = self.cycle(run_id, &mut report, progress).await;
        self.finish_run(run_id, &report, &result).await?;
        result.map(|()| report)
    }

    /// Records how a run ended (nothing for a dry run, which has no run).
    pub(crate) async fn finish_run(
        &self,
        run_id: Option<i64>,
        report: &CycleReport,
        result: &Result<(), EngineError>,
    ) -> Result<(), EngineError> {
        let Some(run_id) = run_id else {
            return Ok(());
        };
        match result {
            Ok(()) => {
                let stats = serde_json::to_value(report).unwrap_or_default();
                self.store
                    .finish_run(run_id, self.now(), Ok(&stats))
                    .await?
            }
            Err(e) => {
                let error = e.to_string();
                self.store
                    .finish_run(run_id, self.now(), Err(error.as_str()))
                    .await?
            }
        }
        Ok(())
    }

    /// The stages in order. Only domains whose inputs were all read completely in this
    /// cycle (the scope) get a verdict: a failed input takes its domains out of scope
    /// before detection, so they are neither opened, updated, resolved, notified nor
    /// written to (see `scope`).
    async fn cycle(
        &self,
        run_id: Option<i64>,
        report: &mut CycleReport,
        progress: &dyn Progress,
    ) -> Result<(), EngineError> {
        // What the previous cycle freed (snapshots, findings) may still sit in the
        // allocator's arenas; give it back before the next fetch peaks again.
        fetch_cache::release_freed_memory();
        let mut laps = Laps::start();
        let fetched = self.fetch(run_id, report, progress, None).await?;
        laps.lap(report, "1_fetch");

        progress.stage("joining", None);
        let mut joined = join(fetched.domains, fetched.snapshots);
        report.unmonitored = joined.unmonitored;
        report.duplicates = joined.duplicates;
        laps.lap(report, "2_join");

        let skipped = Skipped::after_fetch(
            &fetched.unreadable_names,
            fetched.premium_data_read,
            fetched.id_protection_read,
            &joined.observations,
        );
        self.look_up_and_scope(run_id, &mut joined, skipped, report, progress)
            .await?;
        laps.lap(report, "3_lookups");

        // The forecast folds the in-scope observations before detection frees them.
        if let Some(run_id) = run_id {
            self.record_forecast(run_id, &joined.observations, &fetched.rates, report)
                .await?;
            laps.lap(report, "3b_forecast");
        }

        self.count_strikes(run_id, &mut joined).await?;
        let findings = self.detect_findings(
            &mut joined,
            (&fetched.rates, &fetched.id_protection),
            report,
            progress,
        );
        laps.lap(report, "4_detect");
        progress.stage("TLD prices", None);
        self.tld_prices(run_id, &fetched.rates, report).await?;
        laps.lap(report, "4b_tld_prices");

        let Some(run_id) = run_id else {
            report.would_open = self.would_open(&findings).await?;
            return Ok(());
        };
        self.record(run_id, &findings, &joined.scope, report, progress)
            .await?;
        laps.lap(report, "5_record");
        // Auto delete: cancellations in `enabled` mode, withdrawals of paid renewals.
        progress.stage("automatic fixes", None);
        self.recover_unfinished_actions().await?;
        self.run_automatic_fixes(report, &joined.scope).await?;
        laps.lap(report, "5b_automatic_fixes");
        // Every open case whose current opening has not been notified yet: new and
        // reopened cases, failed notices, and what a crashed run left behind.
        progress.stage("sending notices", None);
        self.send_pending_notices(run_id, report, &joined.scope, false)
            .await?;
        self.send_digest(run_id, report).await?;
        self.send_price_todo(run_id, report).await?;
        laps.lap(report, "6_notify");
        Ok(())
    }

    /// Strikes for billed domains missing at the registrar (a dry run counts this one).
    async fn count_strikes(
        &self,
        run_id: Option<i64>,
        joined: &mut Joined,
    ) -> Result<(), EngineError> {
        let strikes = match run_id {
            Some(run) => {
                self.store
                    .record_absences(run, &joined.absent, &joined.scope)
                    .await?
            }
            None => joined.absent.iter().map(|d| (d.clone(), 1)).collect(),
        };
        // Only a domain the registrar did not list can have strikes: the others are not
        // looked up (a million hashed names per cycle otherwise).
        let missing = joined
            .observations
            .iter_mut()
            .filter(|o| o.registrar.is_none());
        for o in missing {
            if let Some(n) = strikes.get(&o.name) {
                o.missing_strikes = *n;
            }
        }
        Ok(())
    }

    /// Marks the domains domwatch watches, looks up the suspicious ones and takes every
    /// domain with an unread input out of scope: one path for full and targeted checks,
    /// so a new input's failure is honoured by both.
    pub(crate) async fn look_up_and_scope(
        &self,
        run_id: Option<i64>,
        joined: &mut Joined,
        mut skipped: Skipped,
        report: &mut CycleReport,
        progress: &dyn Progress,
    ) -> Result<(), EngineError> {
        // Open cancellation cases tell detection which renewal modes domwatch set itself.
        let watched = self.watched_domains().await?;
        self.mark_watched(&mut joined.observations, &watched);
        self.enrich_suspicious(run_id, joined, &mut skipped, report, progress)
            .await;
        skipped.take_out_of_scope(joined, report);
        Ok(())
    }

    /// Pure detection over every observation, with the ID protection price put on the
    /// cases it concerns; the observations are freed afterwards.
    pub(crate) fn detect_findings(
        &self,
        joined: &mut Joined,
        (rates, id_protection): (&RateTable, &IdProtectionPrices),
        report: &mut CycleReport,
        progress: &dyn Progress,
    ) -> Vec<Finding> {
        progress.stage("detecting", Some(joined.observations.len() as u64));
        let today = self.clock.today();
        let mut findings: Vec<Finding> = Vec::new();
        for o in &joined.observations {
            let start = findings.len();
            findings.extend(detect(o, &self.policy, rates, today));
            let new = &mut findings[start..];
            if let (Some(b), true) = (
                &o.billing,
                new.iter()
                    .any(|f| f.kind == CaseKind::IdProtectionNotBilled),
            ) {
                let price = id_protection.price(b.recurring_amount.currency);
                for f in new {
                    price_id_protection(f, &price);
                }
            }
        }
        progress.advance(joined.observations.len() as u64);
        // The snapshots are the largest thing a cycle holds; only the findings are needed
        // from here on.
        drop(std::mem::take(&mut joined.observations));
        fetch_cache::release_freed_memory();
        for f in &findings {
            *report
                .findings_by_kind
                .entry(f.kind.to_string())
                .or_default() += 1;
            if let Some(m) = f.at_stake {
                *report.at_stake.entry(m.currency.to_string()).or_default() += m.amount;
            }
        }
        findings
    }

    /// Dry run: how many findings would open a new case.
    pub(crate) async fn would_open(&self, findings: &[Finding]) -> Result<usize, EngineError> {
        let open = self.store.cases(CaseFilter::open()).await?;
        let open_keys: HashSet<(CaseKind, &str)> =
            open.iter().map(|c| (c.kind, c.domain.ascii())).collect();
        Ok(findings
            .iter()
            .filter(|f| !open_keys.contains(&(f.kind, f.domain.ascii())))
            .count())
    }

    pub(crate) async fn record(
        &self,
        run_id: i64,
        findings: &[Finding],
        scope: &Scope,
        report: &mut CycleReport,
        progress: &dyn Progress,
    ) -> Result<(), EngineError> {
        progress.stage("recording cases", None);
        let outcome = self
            .store
            .sync_findings(run_id, self.now(), findings, scope)
            .await?;
        report.opened = outcome.opened.len();
        report.reopened = outcome.reopened.len();
        report.updated = outcome.updated.len();
        report.resolved = outcome.resolved.len();
        Ok(())
    }
}
