//! Which invoice is a domain's *renewal invoice*, asked for many domains at once.
//!
//! The renewal invoice of a domain is the newest invoice with a `Domain` line
//! (`tblinvoiceitems.type = 'Domain'`, `relid` = the domain id) among the invoices dated
//! (`tblinvoices.date`) inside the [`RenewalWindow`], whatever their status. An older
//! invoice, paid or not, belongs to an earlier term: a forgotten unpaid invoice from two
//! years ago must not make this term look unpaid. The window must therefore cover WHMCS's
//! "invoice days before due" for domains plus the registry's notice period
//! (`detection.renewal_invoice_window_days`, 120 by default). The API (per domain, or one
//! walk of the invoice list) and the WHMCS database answer by the same rule, so both paths
//! give the same verdicts.

use crate::actions::Invoice;
use chrono::NaiveDate;
use std::collections::HashMap;

/// A domain whose renewal invoice is wanted, with its client (WHMCS files invoices and
/// their lines by client).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InvoiceFor {
    pub domain_id: u64,
    pub client_id: u64,
}

/// Which invoices count (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RenewalWindow {
    /// Invoices count from this date (`tblinvoices.date`) on.
    pub since: NaiveDate,
}

impl RenewalWindow {
    /// The window of `days` days up to `today`.
    pub fn days_before(today: NaiveDate, days: i64) -> Self {
        Self {
            since: today - chrono::Duration::days(days.max(0)),
        }
    }

    /// True when an invoice of this date counts; one without a date (`0000-00-00`) never.
    pub fn admits(&self, date: Option<NaiveDate>) -> bool {
        date.is_some_and(|d| d >= self.since)
    }
}

/// Renewal invoices by domain id; a domain without one is absent.
pub type RenewalInvoices = HashMap<u64, Invoice>;

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, d).unwrap()
    }

    #[test]
    fn only_invoices_dated_inside_the_window_count() {
        let w = RenewalWindow::days_before(day(20), 10);
        assert_eq!(w.since, day(10));
        assert!(w.admits(Some(day(10))));
        assert!(w.admits(Some(day(15))));
        assert!(!w.admits(Some(day(9))));
        assert!(!w.admits(None));
    }
}
