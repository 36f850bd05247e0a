//! Money as `rust_decimal::Decimal` plus an ISO 4217 currency code. Never floats.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// An upper-case ISO 4217 code such as `EUR` or `USD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency([u8; 3]);

impl Currency {
    pub const EUR: Currency = Currency(*b"EUR");
    pub const USD: Currency = Currency(*b"USD");
    pub const GBP: Currency = Currency(*b"GBP");

    pub fn as_str(&self) -> &str {
        // Constructed only from ASCII upper-case letters.
        std::str::from_utf8(&self.0).expect("currency is ASCII")
    }
}

impl FromStr for Currency {
    type Err = MoneyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        let b = t.as_bytes();
        if b.len() != 3 || !b.iter().all(u8::is_ascii_alphabetic) {
            return Err(MoneyError::BadCurrency(s.to_string()));
        }
        Ok(Currency([
            b[0].to_ascii_uppercase(),
            b[1].to_ascii_uppercase(),
            b[2].to_ascii_uppercase(),
        ]))
    }
}

impl TryFrom<String> for Currency {
    type Error = MoneyError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Currency> for String {
    fn from(c: Currency) -> Self {
        c.as_str().to_string()
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("`{0}` is not an ISO 4217 currency code (expected three letters such as EUR)")]
    BadCurrency(String),
    #[error("`{0}` is not a decimal amount (expected e.g. 12.95)")]
    BadAmount(String),
    #[error("cannot combine {0} with {1}: convert one of them first")]
    CurrencyMismatch(Currency, Currency),
    #[error("no exchange rate from {from} to {to}: add it to the rate table or the configuration")]
    NoRate { from: Currency, to: Currency },
}

/// An amount in one currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    pub amount: Decimal,
    pub currency: Currency,
}

impl Money {
    pub fn new(amount: Decimal, currency: Currency) -> Self {
        Self { amount, currency }
    }

    /// Parses an amount as registrars and WHMCS send it (`"12.95"`, `" 7 "`).
    pub fn parse(amount: &str, currency: Currency) -> Result<Self, MoneyError> {
        let t = amount.trim();
        Decimal::from_str(t)
            .map(|amount| Self { amount, currency })
            .map_err(|_| MoneyError::BadAmount(amount.to_string()))
    }

    pub fn zero(currency: Currency) -> Self {
        Self::new(Decimal::ZERO, currency)
    }

    pub fn checked_sub(self, other: Money) -> Result<Money, MoneyError> {
        if self.currency != other.currency {
            return Err(MoneyError::CurrencyMismatch(self.currency, other.currency));
        }
        Ok(Money::new(self.amount - other.amount, self.currency))
    }

    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        if self.currency != other.currency {
            return Err(MoneyError::CurrencyMismatch(self.currency, other.currency));
        }
        Ok(Money::new(self.amount + other.amount, self.currency))
    }

    /// Rounds to cents, half away from zero (what invoices show).
    pub fn round_cents(self) -> Money {
        Money::new(
            self.amount
                .round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero),
            self.currency,
        )
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.2} {}", self.amount, self.currency)
    }
}

/// Exchange rates relative to one base currency (registrars quote EUR-based ECB rates).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RateTable {
    /// `rates[(from, to)]` = how many `to` one `from` buys.
    rates: Vec<(Currency, Currency, Decimal)>,
}

impl RateTable {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn insert(&mut self, from: Currency, to: Currency, rate: Decimal) {
        self.rates.retain(|(f, t, _)| !(*f == from && *t == to));
        self.rates.push((from, to, rate));
    }

    /// Adds every rate of `other`, replacing rates for the same pair.
    pub fn merge(&mut self, other: &RateTable) {
        for (from, to, rate) in &other.rates {
            self.insert(*from, *to, *rate);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.rates.is_empty()
    }

    /// The rate from `from` to `to`: direct, inverse, or across one common base.
    pub fn rate(&self, from: Currency, to: Currency) -> Option<Decimal> {
        if from == to {
            return Some(Decimal::ONE);
        }
        let direct = |a: Currency, b: Currency| {
            self.rates
                .iter()
                .find(|(f, t, _)| *f == a && *t == b)
                .map(|(_, _, r)| *r)
                .or_else(|| {
                    self.rates
                        .iter()
                        .find(|(f, t, r)| *f == b && *t == a && !r.is_zero())
                        .map(|(_, _, r)| Decimal::ONE / *r)
                })
        };
        if let Some(r) = direct(from, to) {
            return Some(r);
        }
        // Across a common base (e.g. USD -> EUR -> GBP).
        let bases: Vec<Currency> = self.rates.iter().flat_map(|(f, t, _)| [*f, *t]).collect();
        bases
            .into_iter()
            .find_map(|base| Some(direct(from, base)? * direct(base, to)?))
    }

    pub fn convert(&self, money: Money, to: Currency) -> Result<Money, MoneyError> {
        let rate = self.rate(money.currency, to).ok_or(MoneyError::NoRate {
            from: money.currency,
            to,
        })?;
        Ok(Money::new(money.amount * rate, to))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn parses_currency_case_insensitively() {
        assert_eq!("eur".parse::<Currency>().unwrap(), Currency::EUR);
        assert!("EURO".parse::<Currency>().is_err());
        assert!("E1R".parse::<Currency>().is_err());
    }

    #[test]
    fn money_parses_strings_from_apis() {
        let m = Money::parse(" 12.95 ", Currency::EUR).unwrap();
        assert_eq!(m.amount, dec!(12.95));
        assert!(Money::parse("12,95", Currency::EUR).is_err());
    }

    #[test]
    fn arithmetic_refuses_mixed_currencies() {
        let a = Money::new(dec!(10), Currency::EUR);
        let b = Money::new(dec!(3), Currency::USD);
        assert_eq!(
            a.checked_sub(b),
            Err(MoneyError::CurrencyMismatch(Currency::EUR, Currency::USD))
        );
    }

    #[test]
    fn converts_direct_inverse_and_cross() {
        let mut t = RateTable::new();
        t.insert(Currency::EUR, Currency::USD, dec!(1.25));
        t.insert(Currency::EUR, Currency::GBP, dec!(0.8));
        let usd = t
            .convert(Money::new(dec!(10), Currency::EUR), Currency::USD)
            .unwrap();
        assert_eq!(usd.amount, dec!(12.50));
        let eur = t
            .convert(Money::new(dec!(12.5), Currency::USD), Currency::EUR)
            .unwrap();
        assert_eq!(eur.amount, dec!(10));
        let gbp = t
            .convert(Money::new(dec!(12.5), Currency::USD), Currency::GBP)
            .unwrap();
        assert_eq!(gbp.round_cents().amount, dec!(8.00));
        assert!(t
            .convert(Money::new(dec!(1), Currency::EUR), "JPY".parse().unwrap())
            .is_err());
    }

    #[test]
    fn rounds_half_away_from_zero() {
        let m = Money::new(dec!(2.345), Currency::EUR).round_cents();
        assert_eq!(m.amount, dec!(2.35));
    }
}
