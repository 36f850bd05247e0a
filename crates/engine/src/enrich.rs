//! Stage 3, enrich: targeted look-ups (renewal invoice, transfer status) for the few
//! suspicious observations. A look-up that fails is never read as "nothing there": its
//! domain is skipped for this cycle (see `scope`).

use crate::join::Joined;
use crate::scope::Skipped;
use crate::{fetch_cache, CycleReport, Engine, Progress};
use domwatch_core::detect::{Observation, RenewalInvoice, TransferObservation};
use domwatch_core::model::BillingStatus;
use domwatch_core::Money;
use domwatch_whmcs::actions::DomainInvoiceKind;
use futures::stream::{self, StreamExt};

/// What the look-ups found for one domain, or why they failed.
type Enrichment = Result<(Option<RenewalInvoice>, Option<TransferObservation>), String>;

impl Engine {
    /// Looks up what detection needs beyond the bulk lists, for the observations that
    /// need it; failures go to `skipped`.
    pub(crate) async fn enrich_suspicious(
        &self,
        run_id: Option<i64>,
        joined: &mut Joined,
        skipped: &mut Skipped,
        report: &mut CycleReport,
        progress: &dyn Progress,
    ) {
        let needs_lookup: Vec<usize> = joined
            .observations
            .iter()
            .enumerate()
            .filter(|(_, o)| self.needs_lookup(o))
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
        for (i, found) in lookups {
            let o = &mut joined.observations[i];
            match found {
                Ok((invoice, transfer)) => {
                    o.renewal_invoice = invoice;
                    o.transfer = transfer;
                }
                Err(reason) => skipped.add(&o.name, reason),
            }
            progress.advance(1);
        }
    }

    /// Billing dates past the registrar's term (WHMCS moves the next due date on payment,
    /// the expiry date when it believes the renewal happened), a pending transfer billing
    /// is waiting for, or a lifecycle window that needs the renewal invoice.
    fn needs_lookup(&self, o: &Observation) -> bool {
        let tolerance = self.policy.expiry_tolerance_days;
        let ahead = |billing: Option<chrono::NaiveDate>, term_end: chrono::NaiveDate| {
            billing.is_some_and(|b| (b - term_end).num_days() > tolerance)
        };
        let suspicious = match (&o.billing, &o.registrar) {
            (Some(b), Some(r)) => r
                .effective_expiry()
                .is_some_and(|re| ahead(b.expiry, re) || ahead(b.next_due, re)),
            (Some(b), None) => b.status == BillingStatus::PendingTransfer,
            _ => false,
        };
        suspicious
            || o.registrar_account
                .as_deref()
                .and_then(|a| self.policy.accounts.get(a))
                .is_some_and(|p| {
                    domwatch_core::lifecycle::needs_invoice_lookup(
                        o,
                        p,
                        tolerance,
                        self.clock.today(),
                    )
                })
    }

    async fn enrich(&self, o: &Observation, cache: &fetch_cache::LookupCache) -> Enrichment {
        let Some(b) = &o.billing else {
            return Ok((None, None));
        };
        if o.registrar.is_some() {
            let found = self
                .billing
                .find_domain_invoice(b.client_id, b.id, DomainInvoiceKind::Renewal, None)
                .await
                .map_err(|e| {
                    tracing::warn!(domain = %o.name, error = %e, "renewal invoice look-up failed; the domain is skipped this cycle");
                    format!("renewal invoice look-up failed: {e}")
                })?;
            let Some(inv) = found else {
                return Ok((None, None));
            };
            let amount = inv
                .items
                .iter()
                .find(|i| i.rel_id == b.id)
                .map(|i| i.amount)
                .unwrap_or(inv.total);
            // The invoice list names the client's currency: it checks the cached one.
            let currency = inv.client_currency.unwrap_or(b.recurring_amount.currency);
            cache.invoice_names_client_currency(b.client_id, b.recurring_amount.currency, currency);
            let due = inv.due_date.or(inv.date).unwrap_or(self.clock.today());
            return Ok((
                Some(RenewalInvoice {
                    invoice_id: inv.id,
                    paid: inv.status.eq_ignore_ascii_case("paid"),
                    cancelled: inv.status.eq_ignore_ascii_case("cancelled"),
                    amount: Money::new(amount, currency),
                    due_date: due,
                    date_paid: inv.date_paid,
                }),
                None,
            ));
        }
        let Some(account) = o.registrar_account.as_deref().and_then(|a| self.account(a)) else {
            return Ok((None, None));
        };
        let transfer = cache
            .observe(&self.store, account, &o.name, self.now())
            .await?;
        Ok((None, transfer))
    }
}
