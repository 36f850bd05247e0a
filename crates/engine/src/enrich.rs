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
use domwatch_whmcs::renewal::{InvoiceFor, RenewalInvoices, RenewalWindow};
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
        // Every renewal invoice in one request (one invoice walk or one SQL read), one
        // bulk transfer list per account instead of one status call per transfer.
        let invoices = self.renewal_invoices(joined, &needs_lookup).await;
        let cache = fetch_cache::LookupCache::new(&self.accounts);
        let lookups = stream::iter(needs_lookup.iter().map(|&i| {
            let o = &joined.observations[i];
            let (cache, invoices) = (&cache, &invoices);
            async move { (i, self.enrich(o, invoices, cache).await) }
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

    /// The renewal invoices of the looked-up domains that both sides hold, or why they
    /// could not be read (then none of those domains gets a verdict).
    async fn renewal_invoices(
        &self,
        joined: &Joined,
        needs_lookup: &[usize],
    ) -> Result<RenewalInvoices, String> {
        let wanted: Vec<InvoiceFor> = needs_lookup
            .iter()
            .map(|&i| &joined.observations[i])
            .filter(|o| o.registrar.is_some())
            .filter_map(|o| o.billing.as_ref())
            .map(|b| InvoiceFor {
                domain_id: b.id,
                client_id: b.client_id,
            })
            .collect();
        if wanted.is_empty() {
            return Ok(RenewalInvoices::new());
        }
        let window =
            RenewalWindow::days_before(self.clock.today(), self.policy.renewal_invoice_window_days);
        self.billing
            .renewal_invoices(&wanted, window)
            .await
            .map_err(|e| {
                tracing::warn!(domains = wanted.len(), error = %e, "renewal invoice look-up failed; those domains are skipped this cycle");
                format!("renewal invoice look-up failed: {e}")
            })
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

    async fn enrich(
        &self,
        o: &Observation,
        invoices: &Result<RenewalInvoices, String>,
        cache: &fetch_cache::LookupCache,
    ) -> Enrichment {
        let Some(b) = &o.billing else {
            return Ok((None, None));
        };
        if o.registrar.is_some() {
            let found = invoices.as_ref().map_err(Clone::clone)?.get(&b.id);
            let Some(inv) = found else {
                return Ok((None, None));
            };
            let amount = inv
                .items
                .iter()
                .find(|i| i.rel_id == b.id && i.item_type == DomainInvoiceKind::Renewal.item_type())
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
