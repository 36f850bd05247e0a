//! Exchange rates for pricing: the rates the reseller configured win over the registrar's
//! (CNR/ISPAPI `QueryExchangeRates`, EUR-based ECB rates), and an optional surcharge
//! covers what the bank adds on foreign payments. A missing rate is an answer of its
//! own (`None`), never a rate of zero.

use crate::money::{Currency, Money, MoneyError, RateTable};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// Where a conversion rate came from, shown in the evidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RateSource {
    /// No conversion: same currency.
    Same,
    Configured,
    Registrar,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ExchangeRates {
    pub configured: RateTable,
    pub registrar: RateTable,
    /// Added to every cross-currency rate (2 = +2%): the reseller pays the registrar in
    /// a foreign currency and the bank takes its share.
    #[serde(default)]
    pub surcharge_percent: Decimal,
}

/// One conversion, with the rate used so the evidence can show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Converted {
    /// Exact, not rounded: comparisons use this; people see it rounded to cents.
    pub money: Money,
    pub rate: Decimal,
    pub source: RateSource,
}

impl ExchangeRates {
    pub fn new(configured: RateTable, registrar: RateTable) -> Self {
        Self {
            configured,
            registrar,
            surcharge_percent: Decimal::ZERO,
        }
    }

    /// The rate from `from` to `to`, configured first, surcharge included.
    pub fn rate(&self, from: Currency, to: Currency) -> Option<(Decimal, RateSource)> {
        if from == to {
            return Some((Decimal::ONE, RateSource::Same));
        }
        let (rate, source) = match self.configured.rate(from, to) {
            Some(r) => (r, RateSource::Configured),
            None => (self.registrar.rate(from, to)?, RateSource::Registrar),
        };
        if rate <= Decimal::ZERO {
            return None; // A zero rate would turn every cost into 0.00.
        }
        let factor = Decimal::ONE + self.surcharge_percent / Decimal::ONE_HUNDRED;
        Some((rate * factor, source))
    }

    /// A converter that looks each currency pair up once (the tables are scanned linearly).
    pub fn cached(&self) -> RateCache<'_> {
        RateCache {
            rates: self,
            pairs: Vec::new(),
        }
    }
}

/// A currency pair and its rate, or `None` when no table has one.
type PairRate = ((Currency, Currency), Option<(Decimal, RateSource)>);

pub struct RateCache<'a> {
    rates: &'a ExchangeRates,
    /// The pairs met so far: a handful, so a short list beats hashing once per domain.
    pairs: Vec<PairRate>,
}

impl RateCache<'_> {
    pub fn convert(&mut self, money: Money, to: Currency) -> Result<Converted, MoneyError> {
        let pair = (money.currency, to);
        let found = match self.pairs.iter().find(|(p, _)| *p == pair) {
            Some((_, found)) => *found,
            None => {
                let found = self.rates.rate(money.currency, to);
                self.pairs.push((pair, found));
                found
            }
        };
        let (rate, source) = found.ok_or(MoneyError::NoRate {
            from: money.currency,
            to,
        })?;
        Ok(Converted {
            money: Money::new(money.amount * rate, to),
            rate,
            source,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn table(from: Currency, to: Currency, r: Decimal) -> RateTable {
        let mut t = RateTable::new();
        t.insert(from, to, r);
        t
    }

    #[test]
    fn configured_rate_wins_over_the_registrars() {
        let rates = ExchangeRates::new(
            table(Currency::EUR, Currency::USD, dec!(1.10)),
            table(Currency::EUR, Currency::USD, dec!(1.08)),
        );
        assert_eq!(
            rates.rate(Currency::EUR, Currency::USD),
            Some((dec!(1.10), RateSource::Configured))
        );
        let registrar_only = ExchangeRates::new(
            RateTable::new(),
            table(Currency::EUR, Currency::USD, dec!(1.08)),
        );
        assert_eq!(
            registrar_only.rate(Currency::EUR, Currency::USD),
            Some((dec!(1.08), RateSource::Registrar))
        );
    }

    #[test]
    fn missing_or_zero_rate_is_none_never_zero() {
        let rates = ExchangeRates::new(
            table(Currency::EUR, Currency::GBP, dec!(0)),
            RateTable::new(),
        );
        assert_eq!(rates.rate(Currency::EUR, Currency::GBP), None);
        assert_eq!(rates.rate(Currency::EUR, Currency::USD), None);
        let mut cache = rates.cached();
        let err = cache
            .convert(Money::new(dec!(5), Currency::EUR), Currency::USD)
            .unwrap_err();
        assert_eq!(
            err,
            MoneyError::NoRate {
                from: Currency::EUR,
                to: Currency::USD
            }
        );
        assert!(err.to_string().contains("add it to the rate table"));
    }

    #[test]
    fn surcharge_applies_to_foreign_currency_only() {
        let mut rates = ExchangeRates::new(
            table(Currency::EUR, Currency::USD, dec!(1.25)),
            RateTable::new(),
        );
        rates.surcharge_percent = dec!(2);
        let mut cache = rates.cached();
        let usd = cache
            .convert(Money::new(dec!(10), Currency::EUR), Currency::USD)
            .unwrap();
        assert_eq!(usd.money.amount, dec!(12.75));
        let same = cache
            .convert(Money::new(dec!(10), Currency::EUR), Currency::EUR)
            .unwrap();
        assert_eq!(
            (same.money.amount, same.source),
            (dec!(10), RateSource::Same)
        );
    }
}
