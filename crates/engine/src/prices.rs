//! The TLD prices stage (issue #12): WHMCS's TLD sell prices in every currency against
//! each registrar account's full price list, judged by `domwatch_core::pricing::compare`
//! and recorded as price cases. A failed read is an incomplete input: the TLDs it covers
//! get no verdict (no open, update or resolve), never a price of zero.

use crate::{CycleReport, Engine, EngineError};
use domwatch_core::money::RateTable;
use domwatch_core::pricing::{
    case_key, compare, ExchangeRates, PriceFinding, Registrars, SellPrices, Tld,
};
use domwatch_core::text::Untrusted;
use domwatch_core::Currency;
use serde::Serialize;
use std::collections::{BTreeMap, HashSet};

/// What the TLD prices stage saw and did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TldPriceStats {
    /// (TLD, operation, currency) groups compared.
    pub groups: usize,
    /// Price-list entries (zone x operation) read per registrar account.
    pub zones_read: BTreeMap<String, usize>,
    pub findings_by_kind: BTreeMap<String, usize>,
    /// TLDs without a verdict, with the reason.
    pub skipped: Vec<String>,
    /// How TLDs were mapped to registrar accounts, when not by WHMCS's autoreg module.
    pub mapping: Vec<String>,
    pub opened: usize,
    pub reopened: usize,
    pub updated: usize,
    pub resolved: usize,
    /// Dry run: price cases the check would open (or reopen) and resolve.
    pub would_open: usize,
    pub would_resolve: usize,
}

/// WHMCS's side: the sell prices, the currencies read completely, TLDs that could not be read.
struct SellSide {
    prices: SellPrices,
    currencies: HashSet<Currency>,
    bad_tlds: HashSet<String>,
}

impl Engine {
    /// The TLD prices stage alone (the cycle runs it after detection; the benchmark
    /// measures it): reads, compares and, with a run id, records the TLD price cases.
    pub async fn tld_prices(
        &self,
        run_id: Option<i64>,
        registrar_rates: &RateTable,
        report: &mut CycleReport,
    ) -> Result<(), EngineError> {
        let policy = &self.policy.tld_prices;
        if !policy.enabled {
            return Ok(());
        }
        let mut stats = TldPriceStats::default();
        let Some(mut sell) = self.read_sell_prices(report).await else {
            report.tld_prices = Some(stats);
            return Ok(());
        };
        let default = policy
            .default_account
            .clone()
            .or_else(|| self.accounts.first().map(|a| a.name.clone()));
        let Some(unmapped) = self
            .map_tlds(&mut sell.prices, default.as_deref(), &mut stats, report)
            .await
        else {
            report.tld_prices = Some(stats);
            return Ok(());
        };
        let (mut regs, unreadable) = self.read_price_lists(report, &mut stats).await;
        if let Some(d) = &default {
            regs.set_default(d);
        }
        let mut configured = RateTable::new();
        for (from, to, rate) in &self.fixed_rates {
            configured.insert(*from, *to, *rate);
        }
        let rates = ExchangeRates::new(configured, registrar_rates.clone());
        let mut result = compare(&sell.prices, &regs, &rates, &policy.rule);
        let no_verdict = |tld: &Tld, account: Option<&str>| {
            unmapped.get(tld).or_else(|| {
                account
                    .and_then(|a| unreadable.get(a))
                    .and_then(|u| u.get(tld))
            })
        };
        result
            .findings
            .retain(|f| no_verdict(&f.tld, Some(&f.registrar)).is_none());
        let skipped: HashSet<Tld> = result.skipped.iter().map(|s| s.tld.clone()).collect();
        for s in &result.skipped {
            stats.skipped.push(format!(".{}: {}", s.tld, s.reason));
        }
        let mut scope = HashSet::new();
        for (tld, currency, op, _) in sell.prices.groups() {
            stats.groups += 1;
            let account = sell.prices.registrar(tld);
            if let Some(reason) = no_verdict(tld, account) {
                stats.skipped.push(format!(".{tld}: {reason}"));
                continue;
            }
            if !skipped.contains(tld) {
                scope.insert(case_key(tld, op, currency));
            }
        }
        stats.skipped.sort();
        stats.skipped.dedup();
        for f in &result.findings {
            *stats
                .findings_by_kind
                .entry(f.kind.as_str().into())
                .or_default() += 1;
        }
        self.record_price_cases(run_id, &sell, &result.findings, scope, &mut stats)
            .await?;
        report.tld_prices = Some(stats);
        Ok(())
    }

    /// Records the findings (with a run id) or counts what a dry run would change. A case
    /// whose TLD WHMCS no longer sells in a currency read completely resolves too.
    async fn record_price_cases(
        &self,
        run_id: Option<i64>,
        sell: &SellSide,
        findings: &[PriceFinding],
        mut scope: HashSet<String>,
        stats: &mut TldPriceStats,
    ) -> Result<(), EngineError> {
        let open_cases = self.store.price_cases(true).await?;
        for case in &open_cases {
            let f = &case.finding;
            let still_sold = sell
                .prices
                .groups()
                .any(|g| g.0 == &f.tld && g.1 == f.currency && g.2 == f.operation);
            if !still_sold
                && sell.currencies.contains(&f.currency)
                && !sell.bad_tlds.contains(f.tld.as_str())
            {
                scope.insert(case.key.clone());
            }
        }
        match run_id {
            Some(run_id) => {
                let out = self
                    .store
                    .sync_price_findings(run_id, self.now(), findings, &scope)
                    .await?;
                stats.opened = out.opened.len();
                stats.reopened = out.reopened.len();
                stats.updated = out.updated.len();
                stats.resolved = out.resolved.len();
            }
            None => {
                // Dry run: what the sync would do, counted against the open cases.
                let open: HashSet<&str> = open_cases.iter().map(|c| c.key.as_str()).collect();
                let found: HashSet<&str> = findings.iter().map(|f| f.key.as_str()).collect();
                stats.would_open = found.difference(&open).count();
                stats.would_resolve = open
                    .iter()
                    .filter(|k| scope.contains(**k) && !found.contains(**k))
                    .count();
            }
        }
        Ok(())
    }

    /// GetTLDPricing in every WHMCS currency. `None`: not even the currencies were read.
    async fn read_sell_prices(&self, report: &mut CycleReport) -> Option<SellSide> {
        let currencies = match self.billing.currencies().await {
            Ok(c) => c,
            Err(e) => {
                report
                    .incomplete_inputs
                    .push(format!("WHMCS currencies (for TLD prices): {e}"));
                return None;
            }
        };
        let mut side = SellSide {
            prices: SellPrices::new(),
            currencies: HashSet::new(),
            bad_tlds: HashSet::new(),
        };
        for currency in currencies {
            let list = match self.billing.tld_pricing(currency.id).await {
                Ok(list) => list,
                Err(e) => {
                    report
                        .incomplete_inputs
                        .push(format!("WHMCS TLD pricing in {}: {e}", currency.code));
                    continue;
                }
            };
            let code = currency.code;
            for (name, prices) in &list.tlds {
                // Checked on a scratch list first: a TLD with one bad cell gets no verdict
                // at all, not a verdict on the cells before it.
                let checked = add_tld(&mut SellPrices::new(), code, name, prices)
                    .and_then(|()| add_tld(&mut side.prices, code, name, prices));
                if let Err(e) = checked {
                    side.bad_tlds.insert(name.clone());
                    report.incomplete_inputs.push(format!(
                        "WHMCS TLD pricing in {code}, TLD `{}`: {e}",
                        Untrusted(name)
                    ));
                }
            }
            side.currencies.insert(code);
        }
        Some(side)
    }

    /// Every account's price list; a failed one is an incomplete input.
    async fn read_price_lists(
        &self,
        report: &mut CycleReport,
        stats: &mut TldPriceStats,
    ) -> (Registrars, BTreeMap<String, BTreeMap<Tld, String>>) {
        let mut registrars = Registrars::new();
        let mut unreadable = BTreeMap::new();
        let lists =
            futures::future::join_all(self.accounts.iter().map(|a| a.port.price_list())).await;
        for (account, list) in self.accounts.iter().zip(lists) {
            match list {
                Ok(Some(list)) => {
                    stats
                        .zones_read
                        .insert(account.name.clone(), list.costs.len());
                    registrars.insert(&account.name, list.costs);
                    unreadable.insert(account.name.clone(), list.unreadable);
                }
                Ok(None) => {}
                Err(e) => report.incomplete_inputs.push(format!(
                    "price list of registrar account `{}`: {e}",
                    account.name
                )),
            }
        }
        (registrars, unreadable)
    }
}

/// One TLD of a GetTLDPricing answer into the sell list.
fn add_tld(
    sell: &mut SellPrices,
    currency: Currency,
    name: &str,
    prices: &domwatch_whmcs::actions::TldPrices,
) -> Result<(), String> {
    use domwatch_core::pricing::PriceOperation as Op;
    let tld = Tld::parse(name).map_err(|e| e.to_string())?;
    for (op, terms) in [
        (Op::Register, &prices.register),
        (Op::Renew, &prices.renew),
        (Op::Transfer, &prices.transfer),
        (Op::Restore, &prices.restore),
    ] {
        let cells: Vec<(String, String)> = terms
            .iter()
            .map(|(y, p)| (y.to_string(), p.to_string()))
            .collect();
        sell.insert_whmcs_terms(
            &tld,
            currency,
            op,
            cells.iter().map(|(y, p)| (y.as_str(), p.as_str())),
        )
        .map_err(|e| e.to_string())?;
    }
    Ok(())
}
