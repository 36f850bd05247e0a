//! The monitoring engine. Data flows one way:
//! fetch snapshots (billing + every registrar account, bulk) -> join by normalised name ->
//! enrich the few suspicious domains (invoice, transfer status) -> detect (pure, core) ->
//! record cases (store) -> notify once per case opening. Fix now: plan (core) -> apply each
//! action at most once (store idempotency keys) -> audit every write.

pub mod digest;
pub mod fetch_cache;
pub mod join;
pub mod lifecycle;

use chrono::{DateTime, Utc};
use domwatch_core::detect::{
    detect, CaseKind, DetectionPolicy, Finding, Observation, RenewalInvoice, TransferObservation,
};
use domwatch_core::model::{BillingPremiumCost, BillingStatus};
use domwatch_core::money::RateTable;
use domwatch_core::plan::{plan, Action, PlanOption, Target};
use domwatch_core::ports::{PremiumAcceptance, RegistrarPort, RenewRequest};
use domwatch_core::{Clock, Currency, DomainName, Money};
use domwatch_store::{ActionStatus, AuditEntry, CaseFilter, CaseRecord, NoticeClaim, Store};
use domwatch_whmcs::actions::{DomainInvoiceKind, DomainUpdate, InvoiceUpdate};
use domwatch_whmcs::db::{NewToDo, PremiumCost, WhmcsDb};
use domwatch_whmcs::port::{BillingPort, ToDoNotifier};
use futures::stream::{self, StreamExt};
use join::{join, AccountSnapshot};
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
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

/// What one cycle did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CycleReport {
    pub run_id: Option<i64>,
    pub dry_run: bool,
    pub billing_domains: usize,
    pub unreadable_billing_rows: usize,
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
}

/// What happened to one case's notice in this cycle.
enum NoticeOutcome {
    Sent,
    Failed(String),
    AlreadySent,
}

/// Measures consecutive stages of a cycle.
struct Laps(std::time::Instant);

impl Laps {
    fn lap(&mut self, report: &mut CycleReport, stage: &str) {
        let seconds = self.0.elapsed().as_secs_f64();
        tracing::info!(stage, seconds, "cycle stage done");
        report.stage_seconds.insert(stage.to_string(), seconds);
        self.0 = std::time::Instant::now();
    }
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
}

/// The marker put into every notice so a rerun after a crash finds it instead of sending twice.
pub fn notice_marker(case_id: i64, opening: i64) -> String {
    format!("[domwatch #{case_id}.{opening}]")
}

impl Engine {
    fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    fn account(&self, name: &str) -> Option<&Account> {
        self.accounts.iter().find(|a| a.name == name)
    }

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
        if let Some(run_id) = run_id {
            let outcome = match &result {
                Ok(()) => Ok(serde_json::to_value(&report).unwrap_or_default()),
                Err(e) => Err(e.to_string()),
            };
            match &outcome {
                Ok(stats) => self.store.finish_run(run_id, self.now(), Ok(stats)).await?,
                Err(e) => {
                    self.store
                        .finish_run(run_id, self.now(), Err(e.as_str()))
                        .await?
                }
            }
        }
        result.map(|()| report)
    }

    async fn cycle(
        &self,
        run_id: Option<i64>,
        report: &mut CycleReport,
        progress: &dyn Progress,
    ) -> Result<(), EngineError> {
        // What the previous cycle freed (snapshots, findings) may still sit in the
        // allocator's arenas; give it back before the next fetch peaks again.
        fetch_cache::release_freed_memory();
        // 1. Snapshots: billing and every registrar account, concurrently.
        let mut laps = Laps(std::time::Instant::now());
        progress.stage("fetching billing and registrar snapshots", None);
        let billing_fut = async {
            // Client currencies known from the WHMCS database or earlier cycles are not
            // asked for again (GetClientsDomains does not name them); see `fetch_cache`.
            let known = fetch_cache::known_client_currencies(
                &self.store,
                self.whmcs_db.as_ref(),
                self.now(),
            )
            .await;
            let list = self
                .billing
                .list_domains(&known)
                .await
                .map_err(|e| EngineError::Billing(e.to_string()))?;
            drop(known);
            if run_id.is_some() {
                fetch_cache::remember_client_currencies(
                    &self.store,
                    &list.learned_currencies,
                    self.now(),
                )
                .await;
            }
            let currencies = self
                .billing
                .currencies()
                .await
                .map_err(|e| EngineError::Billing(e.to_string()))?;
            Ok::<_, EngineError>((list, currencies))
        };
        let registrar_fut = futures::future::join_all(self.accounts.iter().map(|a| async move {
            let domains = a.port.list_domains().await;
            let rates = match &domains {
                Ok(_) => a.port.exchange_rates().await.ok(),
                Err(_) => None,
            };
            (a, domains, rates)
        }));
        let (billing, registrar) = tokio::join!(billing_fut, registrar_fut);
        let (list, currencies) = billing?;
        report.billing_domains = list.domains.len();
        report.unreadable_billing_rows = list.unreadable.len();
        for bad in &list.unreadable {
            tracing::warn!(domain_id = bad.id, name = %bad.name, reason = %bad.reason, "billing row skipped");
        }

        let mut rates = RateTable::new();
        for (from, to, rate) in &self.fixed_rates {
            rates.insert(*from, *to, *rate);
        }
        let mut snapshots = Vec::with_capacity(registrar.len());
        for (account, domains, account_rates) in registrar {
            if let Some(r) = account_rates {
                rates.merge(&r);
            }
            let domains = match domains {
                Ok(d) => {
                    report
                        .registrar_domains
                        .insert(account.name.clone(), d.len());
                    Some(d)
                }
                Err(e) => {
                    tracing::error!(account = %account.name, error = %e, "registrar account could not be read; its domains are skipped this cycle");
                    report
                        .failed_accounts
                        .insert(account.name.clone(), e.to_string());
                    None
                }
            };
            snapshots.push(AccountSnapshot {
                name: account.name.clone(),
                modules: account
                    .modules
                    .iter()
                    .map(|m| m.to_ascii_lowercase())
                    .collect(),
                domains,
            });
        }

        // Premium data lives only in the database (the API never returns it).
        let mut domains = list.domains;
        if let Some(db) = &self.whmcs_db {
            match db.premium_records().await {
                Ok(records) => {
                    let currency_of: HashMap<u64, Currency> =
                        currencies.iter().map(|c| (c.id, c.code)).collect();
                    for d in &mut domains {
                        let Some(rec) = records.get(&d.id) else {
                            d.is_premium = Some(false);
                            continue;
                        };
                        d.is_premium = Some(rec.is_premium.unwrap_or(false));
                        let currency = rec.currency_id.and_then(|id| currency_of.get(&id).copied());
                        if let Some(currency) = currency {
                            let cost = |v: Option<Decimal>| v.map(|a| Money::new(a, currency));
                            if rec.renewal_cost.is_some() || rec.registration_cost.is_some() {
                                d.premium_cost = Some(BillingPremiumCost {
                                    registration_cost: cost(rec.registration_cost),
                                    renewal_cost: cost(rec.renewal_cost),
                                });
                            }
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "WHMCS database not readable: premium flags unknown this cycle")
                }
            }
        }
        // The page buffers of the fetch are freed by now but scattered over the allocator's
        // arenas; hand them back before the join builds its largest structure.
        fetch_cache::release_freed_memory();

        laps.lap(report, "1_fetch");
        // 2. Join.
        progress.stage("joining", None);
        let mut joined = join(domains, snapshots);
        report.unmonitored = joined.unmonitored;
        report.duplicates = joined.duplicates;
        laps.lap(report, "2_join");

        // Open cancellation cases tell detection which renewal modes domwatch set itself.
        let watched = self.watched_domains().await?;
        self.mark_watched(&mut joined.observations, &watched);

        // 3. Enrich the few suspicious observations with targeted look-ups.
        let today = self.clock.today();
        let tolerance = self.policy.expiry_tolerance_days;
        let needs_lookup: Vec<usize> = joined
            .observations
            .iter()
            .enumerate()
            .filter(|(_, o)| match (&o.billing, &o.registrar) {
                (Some(b), Some(r)) => match (b.expiry, r.effective_expiry()) {
                    (Some(be), Some(re)) => (be - re).num_days() > tolerance,
                    _ => false,
                },
                (Some(b), None) => b.status == BillingStatus::PendingTransfer,
                _ => false,
            } || o
                .registrar_account
                .as_deref()
                .and_then(|a| self.policy.accounts.get(a))
                .is_some_and(|p| {
                    domwatch_core::lifecycle::needs_invoice_lookup(o, p, tolerance, today)
                }))
            .map(|(i, _)| i)
            .collect();
        progress.stage(
            "looking up suspicious domains",
            Some(needs_lookup.len() as u64),
        );
        // One bulk transfer list per account instead of one status call per transfer.
        let cache = fetch_cache::LookupCache::new(&self.accounts);
        let lookups = stream::iter(needs_lookup.iter().map(|&i| {
            let o = &joined.observations[i];
            let cache = &cache;
            async move { (i, self.enrich(o, cache).await) }
        }))
        .buffer_unordered(self.concurrency.max(1))
        .collect::<Vec<_>>()
        .await;
        if run_id.is_some() {
            cache.save(&self.store, self.now()).await;
        }
        report.lookups = lookups.len();
        for (i, (invoice, transfer)) in lookups {
            joined.observations[i].renewal_invoice = invoice;
            joined.observations[i].transfer = transfer;
            progress.advance(1);
        }

        laps.lap(report, "3_lookups");
        // 4. Strikes for billed domains missing at the registrar.
        let strikes = match run_id {
            Some(run) => self.store.record_absences(run, &joined.absent).await?,
            None => joined.absent.iter().map(|d| (d.clone(), 1)).collect(),
        };
        for o in &mut joined.observations {
            if let Some(n) = strikes.get(&o.name) {
                o.missing_strikes = *n;
            }
        }

        // 5. Detect (pure).
        progress.stage("detecting", Some(joined.observations.len() as u64));
        let mut findings: Vec<Finding> = Vec::new();
        for o in &joined.observations {
            findings.extend(detect(o, &self.policy, &rates, today));
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

        laps.lap(report, "4_detect");
        // 6. Record cases and notify.
        let Some(run_id) = run_id else {
            let open = self.store.cases(CaseFilter::open()).await?;
            let open_keys: std::collections::HashSet<(CaseKind, &str)> =
                open.iter().map(|c| (c.kind, c.domain.ascii())).collect();
            report.would_open = findings
                .iter()
                .filter(|f| !open_keys.contains(&(f.kind, f.domain.ascii())))
                .count();
            return Ok(());
        };
        progress.stage("recording cases", None);
        let outcome = self
            .store
            .sync_findings(run_id, self.now(), &findings, &joined.scope)
            .await?;
        report.opened = outcome.opened.len();
        report.reopened = outcome.reopened.len();
        report.updated = outcome.updated.len();
        report.resolved = outcome.resolved.len();
        laps.lap(report, "5_record");
        // Auto delete: cancellations in `enabled` mode, withdrawals of paid renewals.
        self.run_automatic_fixes(report).await?;
        laps.lap(report, "5b_automatic_fixes");
        // Every open case whose current opening has not been notified yet: new and
        // reopened cases, failed notices, and what a crashed run left behind.
        self.send_pending_notices(run_id, report).await?;
        self.send_digest(run_id, report).await?;
        laps.lap(report, "6_notify");
        Ok(())
    }

    async fn enrich(
        &self,
        o: &Observation,
        cache: &fetch_cache::LookupCache,
    ) -> (Option<RenewalInvoice>, Option<TransferObservation>) {
        let Some(b) = &o.billing else {
            return (None, None);
        };
        if o.registrar.is_some() {
            match self
                .billing
                .find_domain_invoice(b.client_id, b.id, DomainInvoiceKind::Renewal, None)
                .await
            {
                Ok(Some(inv)) => {
                    let amount = inv
                        .items
                        .iter()
                        .find(|i| i.rel_id == b.id)
                        .map(|i| i.amount)
                        .unwrap_or(inv.total);
                    // The invoice list names the client's currency: it checks the cached one.
                    let currency = inv.client_currency.unwrap_or(b.recurring_amount.currency);
                    cache.invoice_names_client_currency(
                        b.client_id,
                        b.recurring_amount.currency,
                        currency,
                    );
                    let due = inv.due_date.or(inv.date).unwrap_or(self.clock.today());
                    return (
                        Some(RenewalInvoice {
                            invoice_id: inv.id,
                            paid: inv.status.eq_ignore_ascii_case("paid"),
                            cancelled: inv.status.eq_ignore_ascii_case("cancelled"),
                            amount: Money::new(amount, currency),
                            due_date: due,
                            date_paid: inv.date_paid,
                        }),
                        None,
                    );
                }
                Ok(None) => return (None, None),
                Err(e) => {
                    tracing::warn!(domain = %o.name, error = %e, "renewal invoice look-up failed");
                    return (None, None);
                }
            }
        }
        let Some(account) = o.registrar_account.as_deref().and_then(|a| self.account(a)) else {
            return (None, None);
        };
        let transfer = cache
            .observe(&self.store, account, &o.name, self.now())
            .await;
        (None, transfer)
    }

    async fn send_pending_notices(
        &self,
        run_id: i64,
        report: &mut CycleReport,
    ) -> Result<(), EngineError> {
        if self.notifier.is_none() && self.notices.lifecycle_tickets.is_none() {
            return Ok(());
        }
        let kinds: Vec<CaseKind> = CaseKind::ALL
            .into_iter()
            .filter(|k| k.needs_admin_notice())
            .collect();
        // Cases are independent and each notice is claimed on its own, so they can go out
        // concurrently without risking a duplicate.
        let cases = self.store.cases_awaiting_notice(&kinds).await?;
        let outcomes: Vec<Result<NoticeOutcome, EngineError>> = stream::iter(cases.iter())
            .map(|case| self.notify(run_id, case, case.openings))
            .buffer_unordered(self.concurrency.max(1))
            .collect()
            .await;
        for outcome in outcomes {
            match outcome? {
                NoticeOutcome::Sent => report.notices_sent += 1,
                NoticeOutcome::Failed(e) => report.notice_errors.push(e),
                NoticeOutcome::AlreadySent => {}
            }
        }
        Ok(())
    }

    /// Sends the notice of one case opening exactly once.
    async fn notify(
        &self,
        run_id: i64,
        case: &CaseRecord,
        opening: i64,
    ) -> Result<NoticeOutcome, EngineError> {
        let notifier = match (&self.notices.lifecycle_tickets, &self.notifier) {
            (Some(tickets), _) if case.kind.is_lifecycle() => tickets,
            (_, Some(default)) => default,
            _ => return Ok(NoticeOutcome::AlreadySent),
        };
        let channel = notifier.channel().to_string();
        let marker = notice_marker(case.id, opening);
        // A fresh claim means no earlier run got as far as sending, so there is nothing
        // to look for first; an unfinished one may have sent before crashing.
        let first_attempt = match self
            .store
            .claim_notice(case.id, opening, &channel, &marker, self.now())
            .await?
        {
            NoticeClaim::AlreadySent { .. } => return Ok(NoticeOutcome::AlreadySent),
            NoticeClaim::Fresh => true,
            NoticeClaim::Unfinished { .. } => false,
        };
        let guide = domwatch_core::plan::guide(&case.finding);
        let today = self.clock.today();
        // Lifecycle tickets say what domwatch already did (e.g. the cancellation it placed).
        let done = if case.kind.is_lifecycle() {
            let actions = self.store.actions_of_case(case.id).await?;
            actions
                .iter()
                .filter(|a| a.status == ActionStatus::Applied)
                .map(|a| {
                    format!(
                        "- {} — {}",
                        a.action.describe(),
                        a.result.as_deref().unwrap_or("done")
                    )
                })
                .collect::<Vec<_>>()
                .join("\n")
        } else {
            String::new()
        };
        // The marker in the title is the dedupe key: after a crash between sending and
        // recording, the to-do/ticket with this title is found and reused, not duplicated.
        let todo = NewToDo {
            title: format!("{marker} {}: {}", case.kind.title(), case.domain.unicode()),
            description: format!(
                "Domain: {}\n\n{}\n\n{}{}\n\nSteps:\n{}\n\nCase #{} in domwatch.",
                case.domain.unicode(),
                guide.what_happened,
                guide.what_it_costs,
                if done.is_empty() {
                    String::new()
                } else {
                    format!("\n\nAlready done by domwatch:\n{done}")
                },
                guide
                    .steps
                    .iter()
                    .enumerate()
                    .map(|(i, s)| format!("{}. {s}", i + 1))
                    .collect::<Vec<_>>()
                    .join("\n"),
                case.id
            ),
            date: today,
            due_date: today + chrono::Duration::days(3),
        };
        let result = if first_attempt {
            notifier.raise_first_attempt(&todo).await
        } else {
            notifier.raise(&todo).await
        };
        let (ok, text) = match &result {
            Ok(raised) => (
                true,
                format!(
                    "{} ({})",
                    raised.reference,
                    if raised.reused { "reused" } else { "created" }
                ),
            ),
            Err(e) => (false, e.to_string()),
        };
        self.store
            .audit(&AuditEntry {
                at: self.now(),
                actor: "scheduler".into(),
                system: "billing".into(),
                operation: format!("notice:{channel}"),
                object: case.domain.ascii().to_string(),
                request: serde_json::json!({"title": todo.title, "due": todo.due_date}),
                ok,
                result: text.clone(),
                case_id: Some(case.id),
                run_id: Some(run_id),
            })
            .await?;
        match result {
            Ok(raised) => {
                self.store
                    .mark_notice_sent(case.id, opening, &channel, &raised.reference, self.now())
                    .await?;
                Ok(NoticeOutcome::Sent)
            }
            Err(e) => {
                self.store
                    .mark_notice_failed(case.id, opening, &channel, &e.to_string())
                    .await?;
                Ok(NoticeOutcome::Failed(format!("case {}: {e}", case.id)))
            }
        }
    }

    /// The fix options of a case, recommended first.
    pub async fn fix_options(
        &self,
        case_id: i64,
    ) -> Result<(CaseRecord, Vec<PlanOption>), EngineError> {
        let case = self
            .store
            .case(case_id)
            .await?
            .ok_or(EngineError::NoSuchCase(case_id))?;
        let options = plan(&case.finding);
        Ok((case, options))
    }

    /// Fix now: applies one plan option of a case (the recommended one by default).
    pub async fn fix(
        &self,
        case_id: i64,
        option: Option<&str>,
        mode: Mode,
        actor: &str,
    ) -> Result<FixReport, EngineError> {
        let (case, options) = self.fix_options(case_id).await?;
        if case.state == domwatch_store::CaseState::Resolved {
            return Err(EngineError::Resolved(case_id));
        }
        let chosen = match option {
            None => options
                .first()
                .cloned()
                .ok_or(EngineError::ManualOnly(case_id))?,
            Some(name) => options
                .iter()
                .find(|o| o.name == name)
                .cloned()
                .ok_or_else(|| EngineError::NoSuchOption {
                    case: case_id,
                    option: name.to_string(),
                    available: options
                        .iter()
                        .map(|o| o.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                })?,
        };
        let mut steps = Vec::with_capacity(chosen.actions.len());
        let mut failed = false;
        for action in &chosen.actions {
            let mut description = action.describe();
            let outcome = if failed {
                StepOutcome::Failed("skipped: an earlier step failed".into())
            } else if action.target() == Target::Manual {
                StepOutcome::Manual
            } else if matches!(action, Action::SetPremiumData { .. }) && self.whmcs_db.is_none() {
                // Premium cost rows are only reachable through the WHMCS database; without
                // it this step is the admin's, and the rest of the fix still applies.
                description = format!(
                    "{description} — by hand: no WHMCS database access configured (whmcs.database_url); open the domain in WHMCS, tick \"Recalculate on Save\" and save"
                );
                StepOutcome::Manual
            } else if mode == Mode::DryRun {
                match self.store.action_status(&action.idempotency_key()).await? {
                    Some(ActionStatus::Applied) => StepOutcome::AlreadyApplied,
                    _ => StepOutcome::WouldApply,
                }
            } else {
                self.apply(&case, action, actor).await?
            };
            if matches!(outcome, StepOutcome::Failed(_)) {
                failed = true;
            }
            steps.push(StepReport {
                action: action.clone(),
                description,
                outcome,
            });
        }
        if mode == Mode::Apply {
            self.store
                .add_case_event(
                    case_id,
                    self.now(),
                    if failed { "fix_failed" } else { "fixed" },
                    &serde_json::json!({"option": chosen.name, "actor": actor, "steps": steps}),
                )
                .await?;
        }
        Ok(FixReport {
            case_id,
            option: chosen.name,
            steps,
        })
    }

    /// Applies one action at most once and audits it.
    async fn apply(
        &self,
        case: &CaseRecord,
        action: &Action,
        actor: &str,
    ) -> Result<StepOutcome, EngineError> {
        let key = action.idempotency_key();
        if self
            .store
            .plan_action(Some(case.id), action, self.now())
            .await?
            == ActionStatus::Applied
        {
            return Ok(StepOutcome::AlreadyApplied);
        }
        let (system, operation, result) = self.execute(case, action).await;
        let ok = result.is_ok();
        let text = match &result {
            Ok(t) => t.clone(),
            Err(e) => e.clone(),
        };
        // Audit and finish together: a crash in between would leave a planned action
        // whose write is already audited (see `recover_unfinished_cancellations`).
        self.store
            .audit_and_finish_action(
                &AuditEntry {
                    at: self.now(),
                    actor: actor.to_string(),
                    system,
                    operation,
                    object: case.domain.ascii().to_string(),
                    request: serde_json::to_value(action).unwrap_or_default(),
                    ok,
                    result: text.clone(),
                    case_id: Some(case.id),
                    run_id: None,
                },
                &key,
            )
            .await?;
        Ok(if ok {
            StepOutcome::Applied(text)
        } else {
            StepOutcome::Failed(text)
        })
    }

    /// Performs the write. Returns (system, operation, result text).
    async fn execute(
        &self,
        case: &CaseRecord,
        action: &Action,
    ) -> (String, String, Result<String, String>) {
        let billing =
            |op: &str, r: Result<String, String>| ("billing".to_string(), op.to_string(), r);
        match action {
            Action::SetRecurringAmount { .. }
            | Action::SetBillingExpiry { .. }
            | Action::SetNextDueDate { .. }
            | Action::SetBillingStatus { .. } => {
                let (domain_id, update, done) = match action {
                    Action::SetRecurringAmount { domain_id, amount } => (
                        domain_id,
                        DomainUpdate {
                            recurring_amount: Some(amount.amount),
                            ..DomainUpdate::default()
                        },
                        format!("recurring amount {amount}"),
                    ),
                    Action::SetBillingExpiry { domain_id, date } => (
                        domain_id,
                        DomainUpdate {
                            expiry: Some(*date),
                            ..DomainUpdate::default()
                        },
                        format!("expiry {date}"),
                    ),
                    Action::SetNextDueDate { domain_id, date } => (
                        domain_id,
                        DomainUpdate {
                            next_due: Some(*date),
                            ..DomainUpdate::default()
                        },
                        format!("next due date {date}"),
                    ),
                    Action::SetBillingStatus { domain_id, status } => (
                        domain_id,
                        DomainUpdate {
                            status: Some(status.clone()),
                            ..DomainUpdate::default()
                        },
                        format!("status {}", status.as_whmcs()),
                    ),
                    _ => unreachable!("matched by the outer arm"),
                };
                billing(
                    "UpdateClientDomain",
                    self.billing
                        .update_domain(*domain_id, &update)
                        .await
                        .map(|()| done)
                        .map_err(|e| e.to_string()),
                )
            }
            Action::CancelInvoice { invoice_id } | Action::MarkInvoiceRefunded { invoice_id } => {
                let status = if matches!(action, Action::CancelInvoice { .. }) {
                    "Cancelled"
                } else {
                    "Refunded"
                };
                let update = InvoiceUpdate {
                    status: Some(status.into()),
                    ..InvoiceUpdate::default()
                };
                billing(
                    "UpdateInvoice",
                    self.billing
                        .update_invoice(*invoice_id, &update)
                        .await
                        .map(|()| format!("invoice #{invoice_id} {status}"))
                        .map_err(|e| e.to_string()),
                )
            }
            Action::SetPremiumData {
                domain_id,
                renewal_cost,
                registration_cost,
            } => {
                let Some(db) = &self.whmcs_db else {
                    return billing(
                        "tbldomains_extra",
                        Err("premium cost data can only be written with direct database access: set whmcs.database_url, or open the domain in WHMCS and set \"Recalculate on Save\"".into()),
                    );
                };
                let currency_id = match self.billing.currencies().await {
                    Ok(cs) => cs
                        .iter()
                        .find(|c| c.code == renewal_cost.currency)
                        .map(|c| c.id),
                    Err(e) => return billing("tbldomains_extra", Err(e.to_string())),
                };
                let Some(currency_id) = currency_id else {
                    return billing("tbldomains_extra", Err(format!("currency {} is not configured in WHMCS: add it under System Settings > Currencies", renewal_cost.currency)));
                };
                let cost = PremiumCost {
                    registration_cost: registration_cost.amount,
                    renewal_cost: renewal_cost.amount,
                    currency_id,
                };
                let r = async {
                    db.write_premium_cost(*domain_id, &cost).await?;
                    db.set_is_premium(*domain_id, true).await
                }
                .await;
                billing(
                    "tbldomains_extra",
                    r.map(|()| format!("premium, renewal cost {renewal_cost}"))
                        .map_err(|e| e.to_string()),
                )
            }
            Action::RetryTransfer { domain_id, .. } => billing(
                "DomainTransfer",
                self.billing
                    .transfer_domain(*domain_id, None)
                    .await
                    .map(|()| "transfer requested through WHMCS".to_string())
                    .map_err(|e| e.to_string()),
            ),
            Action::SetRenewalMode {
                account,
                domain,
                mode,
            } => {
                let system = format!("registrar:{account}");
                let Some(acc) = self.account(account) else {
                    return (
                        system,
                        "SetDomainRenewalMode".into(),
                        Err(format!("registrar account `{account}` is not configured")),
                    );
                };
                let r = acc.port.set_renewal_mode(domain, mode).await;
                (
                    system,
                    "SetDomainRenewalMode".into(),
                    r.map(|()| format!("renewal mode {}", mode.as_command_value()))
                        .map_err(|e| e.to_string()),
                )
            }
            Action::RetryRenewal {
                account,
                domain,
                accept_fee,
                premium_class,
            } => {
                let system = format!("registrar:{account}");
                let Some(acc) = self.account(account) else {
                    return (
                        system,
                        "RenewDomain".into(),
                        Err(format!("registrar account `{account}` is not configured")),
                    );
                };
                // Renewing is not idempotent: look first, so a rerun after a crash never
                // renews twice.
                let expected = case
                    .finding
                    .evidence
                    .iter()
                    .find(|e| e.label == "Expiry")
                    .and_then(|e| e.registrar.clone());
                let current = acc.port.status_domain(domain).await;
                let current_expiry = match &current {
                    Ok(d) => d.effective_expiry(),
                    Err(e) => {
                        return (
                            system,
                            "RenewDomain".into(),
                            Err(format!("status check before renewing failed: {e}")),
                        )
                    }
                };
                if let (Some(now), Some(before)) = (
                    current_expiry,
                    expected
                        .as_deref()
                        .and_then(|s| s.parse::<chrono::NaiveDate>().ok()),
                ) {
                    if now > before {
                        return (
                            system,
                            "RenewDomain".into(),
                            Ok(format!("already renewed: now paid until {now}")),
                        );
                    }
                }
                let request = RenewRequest {
                    name: domain.clone(),
                    period_years: 1,
                    current_expiry_year: current_expiry.map(|d| chrono::Datelike::year(&d)),
                    premium: accept_fee.map(|fee| PremiumAcceptance {
                        class: premium_class.clone(),
                        price: Some(fee),
                    }),
                };
                let r = acc.port.renew(&request).await;
                (
                    system,
                    "RenewDomain".into(),
                    r.map(|o| match o.new_expiry {
                        Some(d) => format!("renewed, now expires {d}"),
                        None => "renewed".into(),
                    })
                    .map_err(|e| e.to_string()),
                )
            }
            Action::PlaceCancellation { .. }
            | Action::WithdrawCancellation { .. }
            | Action::SetContacts { .. } => self.execute_lifecycle(action).await,
            Action::Manual { instruction } => {
                ("manual".into(), "manual".into(), Ok(instruction.clone()))
            }
        }
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
