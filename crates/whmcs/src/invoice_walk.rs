//! Renewal invoices of many domains from one walk of the invoice list (the API path).
//!
//! Asking per domain costs a GetInvoices of the client's whole list plus GetInvoice on
//! candidates. The walk instead reads the invoice list once per cycle, ordered by id,
//! newest first, whatever the status (so a payment while reading moves no entry), down to
//! the first page whose invoices are all dated before the window (ids grow with creation,
//! so older pages hold older invoices; an invoice whose date was edited into the window
//! while a whole page of newer invoices is dated before it would be missed).
//!
//! It keeps the invoices of the wanted clients that the [`RenewalWindow`] admits, reads
//! the lines of each with GetInvoice once (concurrently, or from the cache of lines read
//! in earlier cycles while the invoice's list entry is unchanged) and picks per domain by
//! the rule of [`crate::renewal`].
//!
//! **Paging safety.** Consecutive pages overlap by a few entries. Invoices created while
//! reading get higher ids and only push entries down (read twice, deduplicated by id).
//! Invoices that leave the list (paid, deleted) pull entries up; as long as the next page
//! still starts at or above the last entry of the page before (the seam), nothing was
//! skipped. A seam that does not hold means entries may have been skipped: the walk is
//! read again once, then it is an error, never a partial answer.

use crate::actions::Invoice;
use crate::api::{check_page, ActionKind, ParsedPage, WhmcsClient};
use crate::error::WhmcsError;
use crate::invoice_page::{self, Listed};
use crate::renewal::{InvoiceFor, RenewalInvoices, RenewalWindow};
use futures::{StreamExt, TryStreamExt};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};

const ACTION: &str = "GetInvoices";

/// With fewer domains than this the per-domain look-up is never more expensive.
const WALK_MIN_DOMAINS: usize = 3;

/// Invoices read with GetInvoice in earlier walks, by id, with the fingerprint of the
/// list entry they were read under. Kept per process: a line edit by WHMCS or an admin
/// changes the invoice's totals (or `updated_at`), so the entry no longer matches and
/// the invoice is read again. What it cannot notice is a change of a line's text or
/// type that leaves every listed field as it was, and a partial payment moving only
/// `balance`; the engine reads neither from renewal invoices.
#[derive(Debug, Clone, Default)]
pub struct InvoiceLineCache {
    entries: Arc<Mutex<HashMap<u64, (String, Invoice)>>>,
}

impl InvoiceLineCache {
    fn get(&self, listed: &Listed) -> Option<Invoice> {
        let entries = self.entries.lock().expect("invoice cache lock");
        let (fingerprint, invoice) = entries.get(&listed.summary.id)?;
        (*fingerprint == listed.fingerprint).then(|| invoice.clone())
    }

    /// Stores `fresh` and forgets every invoice not in `live` (this walk's candidates),
    /// so the cache holds no more than one cycle's invoices.
    fn refresh(&self, fresh: &[(String, Invoice)], live: &HashSet<u64>) {
        let mut entries = self.entries.lock().expect("invoice cache lock");
        entries.retain(|id, _| live.contains(id));
        for (fingerprint, invoice) in fresh {
            entries.insert(invoice.id, (fingerprint.clone(), invoice.clone()));
        }
    }

    /// How many invoices are cached.
    pub fn len(&self) -> usize {
        self.entries.lock().expect("invoice cache lock").len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Why a walk did not finish.
enum WalkError {
    Whmcs(WhmcsError),
    /// Entries may have been skipped because the list changed while reading.
    Changed(String),
}

impl From<WhmcsError> for WalkError {
    fn from(e: WhmcsError) -> Self {
        WalkError::Whmcs(e)
    }
}

fn changed_error(detail: String) -> WhmcsError {
    WhmcsError::Protocol {
        action: ACTION.into(),
        detail: format!("{detail}; invoices changed faster than they could be read, run again"),
        body_start: String::new(),
    }
}

/// What a walk found, or that asking per domain is cheaper.
pub(crate) enum Walked {
    Found(RenewalInvoices),
    AskPerDomain,
}

/// What one walk cost, for the log.
#[derive(Debug, Default)]
struct Cost {
    list_pages: usize,
    read: usize,
    cached: usize,
}

impl WhmcsClient {
    /// The renewal invoice of each of `domains` by one walk of the invoice list (see the
    /// module docs), or [`Walked::AskPerDomain`] when the walk would take more list pages
    /// than there are domains.
    pub(crate) async fn walk_renewal_invoices(
        &self,
        domains: &[InvoiceFor],
        window: RenewalWindow,
    ) -> Result<Walked, WhmcsError> {
        if domains.len() < WALK_MIN_DOMAINS {
            return Ok(Walked::AskPerDomain);
        }
        match self.try_walk(domains, window).await {
            Err(WalkError::Changed(detail)) => {
                tracing::warn!(%detail, "invoice list changed while reading; reading it again");
            }
            Err(WalkError::Whmcs(e)) => return Err(e),
            Ok(walked) => return Ok(walked),
        }
        match self.try_walk(domains, window).await {
            Err(WalkError::Changed(detail)) => Err(changed_error(detail)),
            Err(WalkError::Whmcs(e)) => Err(e),
            Ok(walked) => Ok(walked),
        }
    }

    async fn try_walk(
        &self,
        domains: &[InvoiceFor],
        window: RenewalWindow,
    ) -> Result<Walked, WalkError> {
        let first = self.invoice_page(&[], 0).await?;
        let before_window = |entries: &[Listed]| {
            entries
                .iter()
                .all(|l| l.summary.date.is_none_or(|d| d < window.since))
        };
        let more = remaining_pages(&first, Some(window_pages(&first, window, before_window)));
        if more + 1 >= domains.len() {
            tracing::debug!(
                pages = more + 1,
                domains = domains.len(),
                "invoice walk would cost more than asking per domain"
            );
            return Ok(Walked::AskPerDomain);
        }
        let mut cost = Cost::default();
        // Only the wanted clients' invoices are kept while paging.
        let clients: HashSet<u64> = domains.iter().map(|d| d.client_id).collect();
        let keep = |l: &Listed| clients.contains(&l.summary.client_id);
        let listed: BTreeMap<u64, Listed> = self
            .walk_desc(&[], (first, more), (before_window, keep), &mut cost)
            .await?
            .into_iter()
            .map(|entry| (entry.summary.id, entry))
            .collect();
        let found = self.pick(domains, window, listed, &mut cost).await?;
        tracing::info!(
            domains = domains.len(),
            found = found.len(),
            list_pages = cost.list_pages,
            invoices_read = cost.read,
            invoices_cached = cost.cached,
            "renewal invoices read by one walk of the invoice list"
        );
        Ok(Walked::Found(found))
    }

    /// One GetInvoices page, newest first, from `offset`.
    async fn invoice_page(
        &self,
        filter: &[(String, String)],
        offset: u64,
    ) -> Result<ParsedPage<Listed>, WhmcsError> {
        let mut params = filter.to_vec();
        for (key, value) in [
            ("orderby", "id".to_string()),
            ("order", "desc".to_string()),
            ("limitstart", offset.to_string()),
            ("limitnum", self.config().page_size.to_string()),
        ] {
            params.push((key.to_string(), value));
        }
        let page = self
            .call_decoded(ACTION, ActionKind::Read, &params, invoice_page::decode)
            .await?;
        check_page(ACTION, offset, &page)?;
        Ok(page)
    }

    /// The entries that `keep` of every page of a newest-first list from `first` on
    /// (`expected` more pages), until the list ends or `stop` holds for a whole page. Pages overlap; a seam that does not hold is
    /// [`WalkError::Changed`] (see the module docs).
    async fn walk_desc(
        &self,
        filter: &[(String, String)],
        (first, expected): (ParsedPage<Listed>, usize),
        (stop, keep): (impl Fn(&[Listed]) -> bool, impl Fn(&Listed) -> bool),
        cost: &mut Cost,
    ) -> Result<Vec<Listed>, WalkError> {
        cost.list_pages += 1;
        let step = first.items.len() as u64;
        let done = |offset: u64, page: &ParsedPage<Listed>| {
            offset + page.items.len() as u64 >= page.total.unwrap_or(0) || stop(&page.items)
        };
        if done(0, &first) {
            return Ok(first.items.into_iter().filter(&keep).collect());
        }
        if step < 2 {
            return Err(WhmcsError::Config(format!(
                "GetInvoices answered pages of {step} invoice(s); set a page size of at least 2"
            ))
            .into());
        }
        let advance = step - overlap(step);
        let mut seam = first.items.last().map(|l| l.summary.id).unwrap_or(0);
        let mut all: Vec<Listed> = first.items.into_iter().filter(&keep).collect();
        let mut offset = advance;
        // No more pages in flight than the walk is expected to need.
        let batch = self.config().list_concurrency.min(expected).max(1) as u64;
        loop {
            let offsets: Vec<u64> = (0..batch).map(|i| offset + i * advance).collect();
            let pages: Vec<_> = futures::stream::iter(offsets.iter().copied())
                .map(|o| self.invoice_page(filter, o))
                .buffered(batch as usize)
                .try_collect()
                .await?;
            for (o, page) in offsets.into_iter().zip(pages) {
                cost.list_pages += 1;
                let newest = page.items.first().map(|l| l.summary.id);
                if newest.is_none_or(|id| id < seam) {
                    return Err(WalkError::Changed(format!(
                        "the page at offset {o} starts below invoice #{seam}, which ended the \
                         page before"
                    )));
                }
                let end = done(o, &page);
                if !end && (page.items.len() as u64) < step {
                    return Err(WhmcsError::Incomplete {
                        action: ACTION.into(),
                        received: page.items.len() as u64,
                        declared: step,
                        what: format!("the page at offset {o} is short of the page size"),
                    }
                    .into());
                }
                seam = page.items.last().map(|l| l.summary.id).unwrap_or(seam);
                all.extend(page.items.into_iter().filter(&keep));
                if end {
                    return Ok(all);
                }
            }
            offset += batch * advance;
        }
    }

    /// Reads the lines of the admitted invoices of the wanted clients (each once) and
    /// picks the newest renewal invoice per domain.
    async fn pick(
        &self,
        domains: &[InvoiceFor],
        window: RenewalWindow,
        listed: BTreeMap<u64, Listed>,
        cost: &mut Cost,
    ) -> Result<RenewalInvoices, WhmcsError> {
        let clients: HashSet<u64> = domains.iter().map(|d| d.client_id).collect();
        let candidates: Vec<Listed> = listed
            .into_values()
            .filter(|l| clients.contains(&l.summary.client_id))
            .filter(|l| window.admits(l.summary.date))
            .collect();
        let live: HashSet<u64> = candidates.iter().map(|l| l.summary.id).collect();
        let mut invoices = Vec::with_capacity(candidates.len());
        let mut missing = Vec::new();
        for listed in candidates {
            match self.invoice_lines().get(&listed) {
                Some(invoice) => invoices.push(invoice),
                None => missing.push(listed),
            }
        }
        cost.cached = invoices.len();
        cost.read = missing.len();
        let fresh: Vec<(String, Invoice)> = futures::stream::iter(missing)
            .map(|listed| async move {
                let mut invoice = self.get_invoice(listed.summary.id).await?;
                invoice.client_currency = listed
                    .summary
                    .currency_code
                    .as_deref()
                    .and_then(|c| c.parse().ok());
                Ok::<_, WhmcsError>((listed.fingerprint, invoice))
            })
            .buffer_unordered(self.config().list_concurrency.max(1))
            .try_collect()
            .await?;
        self.invoice_lines().refresh(&fresh, &live);
        invoices.extend(fresh.into_iter().map(|(_, invoice)| invoice));
        Ok(newest_per_domain(domains, window, invoices))
    }
}

/// Entries repeated at the start of each page so a few invoices leaving the list while
/// reading do not break the seam.
fn overlap(step: u64) -> u64 {
    (step / 10).clamp(1, 50)
}

/// Pages after `first` that a walk of its list reads: all of them, or at most `limit`.
fn remaining_pages(first: &ParsedPage<Listed>, limit: Option<usize>) -> usize {
    let step = first.items.len() as u64;
    let total = first.total.unwrap_or(0);
    if step >= total || step < 2 {
        return 0;
    }
    let whole = (total - step).div_ceil(step - overlap(step)) as usize;
    limit.map_or(whole, |l| whole.min(l))
}

/// Estimated pages after `first` until the window's start, from the days its invoices
/// span.
fn window_pages(
    first: &ParsedPage<Listed>,
    window: RenewalWindow,
    before_window: impl Fn(&[Listed]) -> bool,
) -> usize {
    if before_window(&first.items) {
        return 0;
    }
    let dates = first.items.iter().filter_map(|l| l.summary.date);
    let (Some(newest), Some(oldest)) = (dates.clone().max(), dates.min()) else {
        return 1;
    };
    let span = (newest - oldest).num_days().max(1);
    let left = (oldest - window.since).num_days().max(0);
    ((left as u64).div_ceil(span as u64) + 1) as usize
}

/// Per domain, the newest (highest id) invoice the window admits with a `Domain` line
/// for it among its client's invoices.
fn newest_per_domain(
    domains: &[InvoiceFor],
    window: RenewalWindow,
    invoices: Vec<Invoice>,
) -> RenewalInvoices {
    let client_of: HashMap<u64, u64> = domains.iter().map(|d| (d.domain_id, d.client_id)).collect();
    let renewal = crate::actions::DomainInvoiceKind::Renewal.item_type();
    let mut found = RenewalInvoices::new();
    for invoice in invoices {
        if !window.admits(invoice.date) {
            continue;
        }
        let lines: HashSet<u64> = invoice
            .items
            .iter()
            .filter(|i| i.item_type == renewal)
            .filter(|i| client_of.get(&i.rel_id) == Some(&invoice.client_id))
            .map(|i| i.rel_id)
            .collect();
        for domain_id in lines {
            match found.get(&domain_id) {
                Some(newer) if newer.id > invoice.id => {}
                _ => {
                    found.insert(domain_id, invoice.clone());
                }
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::{InvoiceItem, InvoiceSummary};
    use chrono::NaiveDate;
    use rust_decimal::Decimal;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, d).unwrap()
    }

    fn invoice(id: u64, client_id: u64, status: &str, date: u32, lines: &[(&str, u64)]) -> Invoice {
        Invoice {
            id,
            client_id,
            status: status.into(),
            date: Some(day(date)),
            due_date: Some(day(date)),
            date_paid: None,
            subtotal: Decimal::TEN,
            total: Decimal::TEN,
            balance: Decimal::TEN,
            items: lines
                .iter()
                .map(|(kind, rel_id)| InvoiceItem {
                    id: id * 10 + rel_id,
                    item_type: kind.to_string(),
                    rel_id: *rel_id,
                    description: String::new(),
                    amount: Decimal::TEN,
                    taxed: false,
                })
                .collect(),
            client_currency: None,
        }
    }

    fn listed(id: u64, date: Option<NaiveDate>) -> Listed {
        Listed {
            summary: InvoiceSummary {
                id,
                client_id: 1,
                status: "Paid".into(),
                date,
                due_date: date,
                date_paid: None,
                total: Decimal::TEN,
                currency_code: None,
            },
            fingerprint: String::new(),
        }
    }

    #[test]
    fn the_newest_admitted_renewal_line_of_the_domains_own_client_wins() {
        let domains = [
            InvoiceFor {
                domain_id: 7,
                client_id: 1,
            },
            InvoiceFor {
                domain_id: 8,
                client_id: 1,
            },
            InvoiceFor {
                domain_id: 9,
                client_id: 2,
            },
        ];
        let window = RenewalWindow { since: day(10) };
        let found = newest_per_domain(
            &domains,
            window,
            vec![
                // Before the window, unpaid or paid: an earlier term's.
                invoice(5, 1, "Unpaid", 1, &[("Domain", 7)]),
                invoice(6, 1, "Paid", 9, &[("Domain", 7)]),
                invoice(10, 1, "Paid", 20, &[("Domain", 7)]),
                invoice(3, 1, "Paid", 12, &[("Domain", 8), ("DomainRegister", 7)]),
                invoice(4, 1, "Cancelled", 15, &[("Domain", 8)]),
                // Domain 9 belongs to client 2: a line on client 1's invoice is not its.
                invoice(11, 1, "Unpaid", 15, &[("Domain", 9)]),
            ],
        );
        let ids: BTreeMap<u64, u64> = found.iter().map(|(d, i)| (*d, i.id)).collect();
        assert_eq!(ids, BTreeMap::from([(7, 10), (8, 4)]));
    }

    #[test]
    fn pages_overlap_and_the_window_estimate_follows_the_dates() {
        assert_eq!(overlap(2), 1);
        assert_eq!(overlap(25), 2);
        assert_eq!(overlap(5000), 50);
        let window = RenewalWindow { since: day(1) };
        let before = |e: &[Listed]| e.iter().all(|l| l.summary.date.is_none_or(|d| d < day(1)));
        // Ten invoices spanning days 21..=30: about three more pages down to day 1.
        let page = ParsedPage {
            items: (0..10)
                .map(|n| listed(100 - n, Some(day(30 - n as u32))))
                .collect(),
            total: Some(1000),
            returned: None,
        };
        assert_eq!(window_pages(&page, window, before), 4);
        assert_eq!(remaining_pages(&page, Some(4)), 4);
        // 990 more entries, 9 new ones per page.
        assert_eq!(remaining_pages(&page, None), 110);
        let old = ParsedPage {
            items: vec![listed(3, None), listed(2, None)],
            total: Some(500),
            returned: None,
        };
        assert_eq!(window_pages(&old, window, before), 0);
    }
}
