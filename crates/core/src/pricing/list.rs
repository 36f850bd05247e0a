//! The two price lists compared: what WHMCS sells (per TLD, currency, operation, term)
//! and what a registrar account charges (per zone, operation, term or per year).
//! Both are hash-keyed, so a lookup costs the same for 15 zones or 1,500.

use super::term::{PriceOperation, Terms, Years};
use super::tld::Tld;
use crate::money::{Currency, Money};
use crate::text::Untrusted;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::str::FromStr;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PriceError {
    #[error(
        "price `{}` for .{tld} {operation} {years} is not a decimal amount (expected e.g. 14.95, or -1 for a disabled term)",
        Untrusted(raw)
    )]
    BadAmount {
        tld: Tld,
        operation: PriceOperation,
        years: Years,
        raw: String,
    },
    #[error(
        "term `{}` for .{tld} {operation} is not a number of years from 1 to 10; check the GetTLDPricing answer",
        Untrusted(raw)
    )]
    BadTerm {
        tld: Tld,
        operation: PriceOperation,
        raw: String,
    },
    #[error(
        "price {raw} for .{tld} {operation} {years} is negative: WHMCS disables a term with -1 only; fix the price in WHMCS (Configuration > Domain Pricing) or the registrar list"
    )]
    Negative {
        tld: Tld,
        operation: PriceOperation,
        years: Years,
        raw: Decimal,
    },
}

/// What WHMCS asks for one term. A disabled term is not a price of zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "offer", rename_all = "snake_case")]
pub enum SellPrice {
    Price {
        price: Money,
    },
    /// WHMCS does not sell this term (`-1`, or `0`, in `tblpricing`; absent in GetTLDPricing).
    NotOffered,
}

/// WHMCS sell prices, per (TLD, currency, operation) a table of terms, plus the registrar
/// account each TLD is registered with (`tbldomainpricing.autoreg`).
#[derive(Debug, Clone, Default)]
pub struct SellPrices {
    prices: HashMap<(Tld, Currency, PriceOperation), Terms<Money>>,
    registrar: HashMap<Tld, String>,
}

impl SellPrices {
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes one WHMCS price cell as sent (`"14.95"`, `"-1.00"`, `"0.00"`):
    /// `-1` and `0` mean the term is not offered; other negatives are an error.
    pub fn insert_whmcs(
        &mut self,
        tld: &Tld,
        currency: Currency,
        operation: PriceOperation,
        years: Years,
        raw: &str,
    ) -> Result<SellPrice, PriceError> {
        let amount = Decimal::from_str(raw.trim()).map_err(|_| PriceError::BadAmount {
            tld: tld.clone(),
            operation,
            years,
            raw: raw.to_string(),
        })?;
        let offer = if amount == Decimal::NEGATIVE_ONE || amount.is_zero() {
            SellPrice::NotOffered
        } else if amount.is_sign_negative() {
            return Err(PriceError::Negative {
                tld: tld.clone(),
                operation,
                years,
                raw: amount,
            });
        } else {
            SellPrice::Price {
                price: Money::new(amount, currency),
            }
        };
        match offer {
            SellPrice::Price { price } => self.set_price(tld, operation, years, price),
            SellPrice::NotOffered => self.disable(tld, currency, operation, years),
        }
        Ok(offer)
    }

    /// Takes one operation of a GetTLDPricing answer (`"register": {"1": "14.95", ...}`).
    /// Stops at the first bad cell, naming it; cells before it are kept.
    pub fn insert_whmcs_terms<'a>(
        &mut self,
        tld: &Tld,
        currency: Currency,
        operation: PriceOperation,
        terms: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<(), PriceError> {
        for (years, price) in terms {
            let y = years
                .trim()
                .parse::<u32>()
                .ok()
                .and_then(|y| Years::new(y).ok())
                .ok_or_else(|| PriceError::BadTerm {
                    tld: tld.clone(),
                    operation,
                    raw: years.to_string(),
                })?;
            self.insert_whmcs(tld, currency, operation, y, price)?;
        }
        Ok(())
    }

    /// Sells one term at `price` (kept under the price's own currency).
    pub fn set_price(&mut self, tld: &Tld, operation: PriceOperation, years: Years, price: Money) {
        self.terms_mut(tld, price.currency, operation)
            .set(years, price);
    }

    /// Stops selling one term (removes a price set earlier).
    pub fn disable(
        &mut self,
        tld: &Tld,
        currency: Currency,
        operation: PriceOperation,
        years: Years,
    ) {
        self.terms_mut(tld, currency, operation).clear(years);
    }

    fn terms_mut(
        &mut self,
        tld: &Tld,
        currency: Currency,
        operation: PriceOperation,
    ) -> &mut Terms<Money> {
        self.prices
            .entry((tld.clone(), currency, operation))
            .or_default()
    }

    pub fn price(
        &self,
        tld: &Tld,
        currency: Currency,
        operation: PriceOperation,
        years: Years,
    ) -> SellPrice {
        match self
            .prices
            .get(&(tld.clone(), currency, operation))
            .and_then(|t| t.get(years))
        {
            Some(price) => SellPrice::Price { price: *price },
            None => SellPrice::NotOffered,
        }
    }

    /// The registrar account WHMCS registers this TLD with.
    pub fn set_registrar(&mut self, tld: &Tld, account: &str) {
        self.registrar.insert(tld.clone(), account.to_string());
    }

    pub fn registrar(&self, tld: &Tld) -> Option<&str> {
        self.registrar.get(tld).map(String::as_str)
    }

    /// Every (TLD, currency, operation) with at least one term on sale.
    pub fn groups(&self) -> impl Iterator<Item = (&Tld, Currency, PriceOperation, &Terms<Money>)> {
        self.prices
            .iter()
            .filter(|(_, terms)| !terms.is_empty())
            .map(|((tld, cur, op), terms)| (tld, *cur, *op, terms))
    }
}

/// How a registrar prices one zone and operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CostBasis {
    /// The same amount for every year of the term (CNR/ISPAPI `ANNUAL`, Smart-NIC `annually`).
    PerYear(Money),
    /// A price per term as quoted (CNR `DomainPrice PERIOD=n`); missing terms are not offered.
    PerTerm(Box<Terms<Money>>),
}

impl CostBasis {
    pub fn cost(&self, years: Years) -> Option<Money> {
        match self {
            CostBasis::PerYear(m) => Some(Money::new(
                m.amount * Decimal::from(years.get()),
                m.currency,
            )),
            CostBasis::PerTerm(terms) => terms.get(years).copied(),
        }
    }
}

/// One registrar account's cost list. Costs may be zero (free `.uk` transfers), never negative.
#[derive(Debug, Clone, Default)]
pub struct RegistrarCosts {
    zones: HashMap<(Tld, PriceOperation), CostBasis>,
}

impl RegistrarCosts {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn set_per_year(
        &mut self,
        tld: &Tld,
        operation: PriceOperation,
        per_year: Money,
    ) -> Result<(), PriceError> {
        check_cost(tld, operation, Years::ONE, per_year)?;
        self.zones
            .insert((tld.clone(), operation), CostBasis::PerYear(per_year));
        Ok(())
    }

    /// Sets the cost of one term; replaces a per-year cost set earlier for this zone.
    pub fn set_term(
        &mut self,
        tld: &Tld,
        operation: PriceOperation,
        years: Years,
        cost: Money,
    ) -> Result<(), PriceError> {
        check_cost(tld, operation, years, cost)?;
        let entry = self
            .zones
            .entry((tld.clone(), operation))
            .or_insert_with(|| CostBasis::PerTerm(Box::default()));
        match entry {
            CostBasis::PerTerm(terms) => terms.set(years, cost),
            CostBasis::PerYear(_) => {
                let mut terms = Box::<Terms<Money>>::default();
                terms.set(years, cost);
                *entry = CostBasis::PerTerm(terms);
            }
        }
        Ok(())
    }

    /// The cost of a term, `None` when the registrar does not offer it.
    pub fn cost(&self, tld: &Tld, operation: PriceOperation, years: Years) -> Option<Money> {
        self.zones
            .get(&(tld.clone(), operation))
            .and_then(|b| b.cost(years))
    }

    pub fn basis(&self, tld: &Tld, operation: PriceOperation) -> Option<&CostBasis> {
        self.zones.get(&(tld.clone(), operation))
    }

    pub fn len(&self) -> usize {
        self.zones.len()
    }

    pub fn is_empty(&self) -> bool {
        self.zones.is_empty()
    }
}

fn check_cost(
    tld: &Tld,
    operation: PriceOperation,
    years: Years,
    cost: Money,
) -> Result<(), PriceError> {
    if cost.amount.is_sign_negative() && !cost.amount.is_zero() {
        return Err(PriceError::Negative {
            tld: tld.clone(),
            operation,
            years,
            raw: cost.amount,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn y(n: u32) -> Years {
        Years::new(n).unwrap()
    }

    #[test]
    fn whmcs_disabled_terms_are_not_offered_never_zero() {
        let com = Tld::parse("com").unwrap();
        let mut list = SellPrices::new();
        let op = PriceOperation::Register;
        let eur = Currency::EUR;
        assert_eq!(
            list.insert_whmcs(&com, eur, op, y(1), "14.95").unwrap(),
            SellPrice::Price {
                price: Money::new(dec!(14.95), eur)
            }
        );
        assert_eq!(
            list.insert_whmcs(&com, eur, op, y(2), "-1.00").unwrap(),
            SellPrice::NotOffered
        );
        assert_eq!(
            list.insert_whmcs(&com, eur, op, y(3), "0.00").unwrap(),
            SellPrice::NotOffered
        );
        assert_eq!(list.price(&com, eur, op, y(2)), SellPrice::NotOffered);
        assert_eq!(list.price(&com, eur, op, y(3)), SellPrice::NotOffered);
        assert_eq!(
            list.price(&com, Currency::USD, op, y(1)),
            SellPrice::NotOffered
        );
        let (_, _, _, terms) = list.groups().next().unwrap();
        assert_eq!(terms.iter().count(), 1);
    }

    #[test]
    fn disabling_a_term_later_removes_its_price() {
        let de = Tld::parse("de").unwrap();
        let mut list = SellPrices::new();
        let op = PriceOperation::Renew;
        list.insert_whmcs(&de, Currency::EUR, op, y(1), "9.99")
            .unwrap();
        list.insert_whmcs(&de, Currency::EUR, op, y(1), "-1")
            .unwrap();
        assert_eq!(
            list.price(&de, Currency::EUR, op, y(1)),
            SellPrice::NotOffered
        );
        assert_eq!(list.groups().count(), 0);
    }

    #[test]
    fn bad_whmcs_cells_name_the_tld_and_the_fix() {
        let de = Tld::parse("de").unwrap();
        let mut list = SellPrices::new();
        let err = list
            .insert_whmcs(&de, Currency::EUR, PriceOperation::Renew, y(1), "9,99")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`9,99`") && err.contains(".de renew 1y"),
            "{err}"
        );
        let err = list
            .insert_whmcs(&de, Currency::EUR, PriceOperation::Renew, y(1), "-5")
            .unwrap_err()
            .to_string();
        assert!(err.contains("negative") && err.contains("-1"), "{err}");
    }

    #[test]
    fn get_tld_pricing_terms_are_read_by_year_count() {
        let uk = Tld::parse("co.uk").unwrap();
        let mut list = SellPrices::new();
        let op = PriceOperation::Register;
        list.insert_whmcs_terms(
            &uk,
            Currency::GBP,
            op,
            [("1", "6.99"), ("2", "13.98"), ("3", "-1.00")],
        )
        .unwrap();
        assert_eq!(
            list.price(&uk, Currency::GBP, op, y(2)),
            SellPrice::Price {
                price: Money::new(dec!(13.98), Currency::GBP)
            }
        );
        assert_eq!(
            list.price(&uk, Currency::GBP, op, y(3)),
            SellPrice::NotOffered
        );
        let err = list
            .insert_whmcs_terms(&uk, Currency::GBP, op, [("11", "1.00")])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`11`") && err.contains(".co.uk register"),
            "{err}"
        );
    }

    #[test]
    fn registrar_costs_per_year_and_per_term() {
        let uk = Tld::parse("co.uk").unwrap();
        let mut costs = RegistrarCosts::new();
        costs
            .set_per_year(
                &uk,
                PriceOperation::Renew,
                Money::new(dec!(4.50), Currency::GBP),
            )
            .unwrap();
        assert_eq!(
            costs.cost(&uk, PriceOperation::Renew, y(3)),
            Some(Money::new(dec!(13.50), Currency::GBP))
        );
        costs
            .set_term(
                &uk,
                PriceOperation::Register,
                y(2),
                Money::new(dec!(8), Currency::GBP),
            )
            .unwrap();
        assert_eq!(costs.cost(&uk, PriceOperation::Register, y(1)), None);
        assert!(costs.cost(&uk, PriceOperation::Register, y(2)).is_some());
        // Free transfers are a real price; negative costs are not.
        costs
            .set_per_year(&uk, PriceOperation::Transfer, Money::zero(Currency::GBP))
            .unwrap();
        assert_eq!(
            costs.cost(&uk, PriceOperation::Transfer, y(1)),
            Some(Money::zero(Currency::GBP))
        );
        assert!(costs
            .set_per_year(
                &uk,
                PriceOperation::Restore,
                Money::new(dec!(-1), Currency::GBP)
            )
            .is_err());
    }

    #[test]
    fn a_zone_with_no_price_has_no_cost() {
        let costs = RegistrarCosts::new();
        let xyz = Tld::parse("xyz").unwrap();
        assert_eq!(costs.cost(&xyz, PriceOperation::Renew, Years::ONE), None);
        assert!(costs.is_empty());
    }
}
