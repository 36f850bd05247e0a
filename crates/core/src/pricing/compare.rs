//! Compares WHMCS's sell prices with the mapped registrar's costs and turns every
//! (TLD, operation, currency) with a problem into exactly one finding: its evidence is
//! a table per term, its proposal the rounded prices to set.

use super::list::{RegistrarCosts, SellPrices};
use super::rates::{ExchangeRates, RateCache, RateSource};
use super::rule::{FixedAmounts, PricingRule};
use super::term::{PriceOperation, Terms, Years};
use super::tld::Tld;
use crate::money::{Currency, Money, MoneyError};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// What is wrong with one (TLD, operation, currency); worst first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PriceFindingKind {
    /// A registrar cost cannot be converted into the sell currency.
    NoExchangeRate,
    /// WHMCS sells a term the mapped registrar does not offer (or the zone is unpriced).
    NotOfferedByRegistrar,
    SoldBelowCost,
    BelowMinimumMargin,
}

impl PriceFindingKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PriceFindingKind::NoExchangeRate => "tld_no_exchange_rate",
            PriceFindingKind::NotOfferedByRegistrar => "tld_not_offered_by_registrar",
            PriceFindingKind::SoldBelowCost => "tld_sold_below_cost",
            PriceFindingKind::BelowMinimumMargin => "tld_below_minimum_margin",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            PriceFindingKind::NoExchangeRate => "No exchange rate for the registrar's cost",
            PriceFindingKind::NotOfferedByRegistrar => {
                "Sold in WHMCS but not offered by the mapped registrar"
            }
            PriceFindingKind::SoldBelowCost => "TLD sold below cost",
            PriceFindingKind::BelowMinimumMargin => "TLD price below your minimum margin",
        }
    }
}

/// The verdict on one term.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TermStatus {
    NoExchangeRate,
    NotOfferedByRegistrar,
    BelowCost,
    BelowMinimumMargin,
    Ok,
}

impl TermStatus {
    pub fn label(self) -> &'static str {
        match self {
            TermStatus::NoExchangeRate => "no exchange rate",
            TermStatus::NotOfferedByRegistrar => "not offered by the registrar",
            TermStatus::BelowCost => "below cost",
            TermStatus::BelowMinimumMargin => "below minimum margin",
            TermStatus::Ok => "ok",
        }
    }

    fn finding_kind(self) -> Option<PriceFindingKind> {
        match self {
            TermStatus::NoExchangeRate => Some(PriceFindingKind::NoExchangeRate),
            TermStatus::NotOfferedByRegistrar => Some(PriceFindingKind::NotOfferedByRegistrar),
            TermStatus::BelowCost => Some(PriceFindingKind::SoldBelowCost),
            TermStatus::BelowMinimumMargin => Some(PriceFindingKind::BelowMinimumMargin),
            TermStatus::Ok => None,
        }
    }
}

/// One line of the evidence table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TermRow {
    pub years: Years,
    pub sell: Money,
    /// As the registrar quotes it, in its currency; `None` when not offered.
    pub cost: Option<Money>,
    /// In the sell currency, to cents; `None` when not offered or no rate.
    pub cost_converted: Option<Money>,
    pub margin: Option<Money>,
    /// (sell - cost) / cost in percent, as WHMCS shows it; `None` for a free cost.
    pub margin_percent: Option<Decimal>,
    pub proposed: Option<Money>,
    pub status: TermStatus,
}

impl TermRow {
    pub const HEADERS: [&'static str; 6] = [
        "Years",
        "Sell price",
        "Cost (converted)",
        "Margin",
        "Proposed price",
        "Status",
    ];

    /// The row as text cells under [`TermRow::HEADERS`]; `-` where there is no value.
    pub fn cells(&self) -> [String; 6] {
        let money = |m: Option<Money>| m.map_or_else(|| "-".to_string(), |m| m.to_string());
        let margin = match (self.margin, self.margin_percent) {
            (Some(m), Some(p)) => format!("{m} ({}%)", p.round_dp(1)),
            (m, _) => money(m),
        };
        [
            self.years.get().to_string(),
            self.sell.to_string(),
            money(self.cost_converted),
            margin,
            money(self.proposed),
            self.status.label().to_string(),
        ]
    }
}

/// What to set in WHMCS for one term.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "set", rename_all = "snake_case")]
pub enum ProposedSell {
    Price {
        price: Money,
    },
    /// Write -1: stop selling a term the registrar cannot fulfil.
    Disable,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProposedTerm {
    pub years: Years,
    pub from: Money,
    pub to: ProposedSell,
}

/// The Fix-now proposal: only the terms that change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriceProposal {
    pub tld: Tld,
    pub operation: PriceOperation,
    pub currency: Currency,
    pub terms: Vec<ProposedTerm>,
}

impl PriceProposal {
    /// Same change, same key: applied at most once.
    pub fn idempotency_key(&self) -> String {
        let terms: Vec<String> = self
            .terms
            .iter()
            .map(|t| match t.to {
                ProposedSell::Price { price } => {
                    format!("{}={}", t.years.get(), price.amount.normalize())
                }
                ProposedSell::Disable => format!("{}=off", t.years.get()),
            })
            .collect();
        format!(
            "billing:tld-price:{}:{}:{}:{}",
            self.tld,
            self.operation,
            self.currency,
            terms.join(",")
        )
    }

    pub fn describe(&self) -> String {
        let terms: Vec<String> = self
            .terms
            .iter()
            .map(|t| match t.to {
                ProposedSell::Price { price } => {
                    format!("{}y {} → {}", t.years.get(), t.from, price)
                }
                ProposedSell::Disable => format!("{}y stop selling", t.years.get()),
            })
            .collect();
        format!(
            "Set the WHMCS {} price of .{} in {}: {}",
            self.operation,
            self.tld.unicode(),
            self.currency,
            terms.join("; ")
        )
    }
}

/// One problem per (TLD, operation, currency).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriceFinding {
    /// `tld-price:{tld}:{operation}:{currency}`: the same case whatever the kind becomes.
    pub key: String,
    pub kind: PriceFindingKind,
    pub tld: Tld,
    pub operation: PriceOperation,
    pub currency: Currency,
    pub registrar: String,
    pub summary: String,
    pub rate: Option<(Decimal, RateSource)>,
    pub rows: Vec<TermRow>,
    pub proposal: Option<PriceProposal>,
    /// Loss per sale of the shortest term sold below cost.
    pub at_stake: Option<Money>,
}

pub fn case_key(tld: &Tld, operation: PriceOperation, currency: Currency) -> String {
    format!("tld-price:{tld}:{operation}:{currency}")
}

/// Registrar cost lists by account, and which account serves a TLD WHMCS maps to none.
#[derive(Debug, Clone, Default)]
pub struct Registrars {
    accounts: HashMap<String, RegistrarCosts>,
    default_account: Option<String>,
}

impl Registrars {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an account's list. Add only lists read completely this cycle.
    pub fn insert(&mut self, account: &str, costs: RegistrarCosts) {
        self.accounts.insert(account.to_string(), costs);
    }

    pub fn set_default(&mut self, account: &str) {
        self.default_account = Some(account.to_string());
    }
}

/// A TLD left without a verdict, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedTld {
    pub tld: Tld,
    pub reason: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriceReport {
    /// Sorted by key.
    pub findings: Vec<PriceFinding>,
    /// TLDs whose registrar list was not given: no verdict, so their cases stay as they are.
    pub skipped: Vec<SkippedTld>,
}

/// Compares every priced (TLD, currency, operation) once: hash look-ups only, so the
/// work grows with the number of sell prices.
pub fn compare(
    sell: &SellPrices,
    registrars: &Registrars,
    rates: &ExchangeRates,
    rule: &PricingRule,
) -> PriceReport {
    let mut cache = rates.cached();
    let mut fixed: HashMap<Currency, Result<FixedAmounts, MoneyError>> = HashMap::new();
    let mut skipped = BTreeMap::new();
    let mut findings = Vec::new();
    for (tld, currency, operation, terms) in sell.groups() {
        let account = sell
            .registrar(tld)
            .or(registrars.default_account.as_deref());
        let Some(account) = account else {
            skipped.insert(tld.clone(), "no registrar is set for auto-registration in WHMCS; set one (Domain Pricing > Auto Registration) or configure a default account".to_string());
            continue;
        };
        let Some(costs) = registrars.accounts.get(account) else {
            skipped.insert(
                tld.clone(),
                format!(
                    "the price list of registrar account `{account}` was not read in this cycle"
                ),
            );
            continue;
        };
        let fixed = fixed
            .entry(currency)
            .or_insert_with(|| {
                rule.fixed_in(currency, &mut |m, to| cache.convert(m, to).map(|c| c.money))
            })
            .clone();
        let group = Group {
            tld,
            operation,
            currency,
            account,
            rule,
        };
        if let Some(f) = group.judge(terms, costs, &mut cache, fixed) {
            findings.push(f);
        }
    }
    findings.sort_by(|a, b| a.key.cmp(&b.key));
    PriceReport {
        findings,
        skipped: skipped
            .into_iter()
            .map(|(tld, reason)| SkippedTld { tld, reason })
            .collect(),
    }
}

struct Group<'a> {
    tld: &'a Tld,
    operation: PriceOperation,
    currency: Currency,
    account: &'a str,
    rule: &'a PricingRule,
}

impl Group<'_> {
    fn judge(
        &self,
        terms: &Terms<Money>,
        costs: &RegistrarCosts,
        cache: &mut RateCache<'_>,
        fixed: Result<FixedAmounts, MoneyError>,
    ) -> Option<PriceFinding> {
        let basis = costs.basis(self.tld, self.operation);
        let mut rate = None;
        let rows: Vec<TermRow> = terms
            .iter()
            .map(|(years, sell)| {
                let cost = basis.and_then(|b| b.cost(years));
                let converted = cost.map(|c| cache.convert(c, self.currency));
                if let Some(Ok(c)) = &converted {
                    rate = Some((c.rate, c.source));
                }
                let converted = converted.map(|r| r.map(|c| c.money));
                self.row(years, *sell, cost, converted, fixed.clone())
            })
            .collect();
        let worst = rows.iter().map(|r| r.status).min()?;
        let kind = worst.finding_kind()?;
        Some(self.finding(kind, rows, rate))
    }

    fn row(
        &self,
        years: Years,
        sell: Money,
        cost: Option<Money>,
        converted: Option<Result<Money, MoneyError>>,
        fixed: Result<FixedAmounts, MoneyError>,
    ) -> TermRow {
        let mut row = TermRow {
            years,
            sell,
            cost,
            cost_converted: None,
            margin: None,
            margin_percent: None,
            proposed: None,
            status: TermStatus::NotOfferedByRegistrar,
        };
        let Some(converted) = converted else {
            return row;
        };
        let (Ok(conv), Ok(fixed)) = (converted, fixed) else {
            row.status = TermStatus::NoExchangeRate;
            return row;
        };
        let margin = sell.amount - conv.amount;
        row.cost_converted = Some(conv.round_cents());
        row.margin = Some(Money::new(margin, self.currency).round_cents());
        row.margin_percent = (!conv.amount.is_zero())
            .then(|| (margin / conv.amount * Decimal::ONE_HUNDRED).round_dp(2));
        row.proposed = Some(self.rule.proposed_price(conv, years, fixed));
        row.status = if margin < Decimal::ZERO {
            TermStatus::BelowCost
        } else if margin < self.rule.required_margin(conv.amount, years, fixed) {
            TermStatus::BelowMinimumMargin
        } else {
            TermStatus::Ok
        };
        row
    }

    fn finding(
        &self,
        kind: PriceFindingKind,
        rows: Vec<TermRow>,
        rate: Option<(Decimal, RateSource)>,
    ) -> PriceFinding {
        let shortest_loss = rows
            .iter()
            .find(|r| r.status == TermStatus::BelowCost)
            .and_then(|r| r.margin.map(|m| Money::new(-m.amount, m.currency)));
        PriceFinding {
            key: case_key(self.tld, self.operation, self.currency),
            kind,
            tld: self.tld.clone(),
            operation: self.operation,
            currency: self.currency,
            registrar: self.account.to_string(),
            summary: self.summary(kind, &rows),
            rate,
            proposal: self.proposal(&rows),
            rows,
            at_stake: shortest_loss,
        }
    }

    fn summary(&self, kind: PriceFindingKind, rows: &[TermRow]) -> String {
        let years = |status: TermStatus| -> String {
            let y: Vec<String> = rows
                .iter()
                .filter(|r| r.status == status)
                .map(|r| r.years.get().to_string())
                .collect();
            format!(
                "{} year{}",
                y.join(", "),
                if y.len() == 1 { "" } else { "s" }
            )
        };
        let what = format!(
            ".{} {} in {}",
            self.tld.unicode(),
            self.operation,
            self.currency
        );
        let acc = self.account;
        match kind {
            PriceFindingKind::NoExchangeRate => {
                let from = rows.iter().find_map(|r| (r.status == TermStatus::NoExchangeRate).then_some(r.cost).flatten());
                let pair = from.map_or(String::new(), |c| format!(" {} to {}", c.currency, self.currency));
                format!("{what}: no exchange rate{pair} for the cost at `{acc}` ({}); add the rate to the configuration or fetch the registrar's rates", years(TermStatus::NoExchangeRate))
            }
            PriceFindingKind::NotOfferedByRegistrar => format!(
                "{what} is sold in WHMCS for {} that registrar account `{acc}` does not offer: orders would fail",
                years(TermStatus::NotOfferedByRegistrar)
            ),
            PriceFindingKind::SoldBelowCost => format!(
                "{what} is sold below the cost at `{acc}` for {}",
                years(TermStatus::BelowCost)
            ),
            PriceFindingKind::BelowMinimumMargin => format!(
                "{what} keeps less than your minimum margin over the cost at `{acc}` for {}",
                years(TermStatus::BelowMinimumMargin)
            ),
        }
    }

    fn proposal(&self, rows: &[TermRow]) -> Option<PriceProposal> {
        let terms: Vec<ProposedTerm> = rows
            .iter()
            .filter_map(|r| {
                let to = match r.status {
                    TermStatus::BelowCost | TermStatus::BelowMinimumMargin => {
                        ProposedSell::Price { price: r.proposed? }
                    }
                    TermStatus::NotOfferedByRegistrar => ProposedSell::Disable,
                    TermStatus::NoExchangeRate | TermStatus::Ok => return None,
                };
                Some(ProposedTerm {
                    years: r.years,
                    from: r.sell,
                    to,
                })
            })
            .collect();
        (!terms.is_empty()).then(|| PriceProposal {
            tld: self.tld.clone(),
            operation: self.operation,
            currency: self.currency,
            terms,
        })
    }
}

#[cfg(test)]
#[path = "compare_tests.rs"]
mod tests;
