//! The reseller's pricing rule, shaped like WHMCS's Registrar TLD Sync: a percent and/or
//! fixed markup on cost, a rounding of the result, and a minimum margin below which a
//! sell price is flagged.
//!
//! Reading of the reference (docs.whmcs.com/Registrar_TLD_Sync, quoted in
//! `user-pains-and-whmcs-integration.md` line 36: "percent or fixed margin plus rounding;
//! loss-making TLDs in red"): WHMCS defines the margin as (sell - cost) / cost and offers
//! "a rounding amount from a range of options"; the options themselves are not in the
//! reference. domwatch therefore defines rounding so that it can only raise a price:
//! every mode rounds UP to the next price of its form, and a price already of that form
//! stays. Prices have cents (WHMCS stores `decimal(10,2)`).
//!
//! | mode | form | 0.01 | 9.99 | 10.00 | 12.41 | 12.49 | 12.50 |
//! |---|---|---|---|---|---|---|---|
//! | `none` | whole cents | 0.01 | 9.99 | 10.00 | 12.41 | 12.49 | 12.50 |
//! | `whole` | n.00 | 1.00 | 10.00 | 10.00 | 13.00 | 13.00 | 13.00 |
//! | `.99` (any `.NN`) | n.99 | 0.99 | 9.99 | 10.99 | 12.99 | 12.99 | 12.99 |
//! | `.x9` | n.d9 | 0.09 | 9.99 | 10.09 | 12.49 | 12.49 | 12.59 |
//! | `.x5` | n.d5 | 0.05 | 10.05 | 10.05 | 12.45 | 12.55 | 12.55 |

use super::term::Years;
use crate::money::{Currency, Money, MoneyError};
use crate::text::Untrusted;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::fmt;

/// How a proposed price is rounded (always up; see the module table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Rounding {
    /// Up to whole cents only.
    None,
    /// Up to the next whole amount (`n.00`).
    Whole,
    /// Up to the next price ending in these cents (`.99` → 99, `.95` → 95).
    Ending(u8),
    /// Up to the next price whose last cent digit is this (`.x9` → 9, `.x5` → 5).
    LastDigit(u8),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    #[error(
        "rounding `{}` is unknown: use none, whole, .99 (any two cents digits) or .x9 / .x5 (any last digit)",
        Untrusted(.0)
    )]
    BadRounding(String),
    #[error("{what} is negative ({value}): a markup or minimum margin must be 0 or more")]
    Negative { what: &'static str, value: Decimal },
    #[error("rounding `{0}` is out of range: cents .00 to .99, last digit .x0 to .x9")]
    RoundingRange(Rounding),
}

impl Rounding {
    /// Rounds a non-negative amount up to the next price of this form.
    pub fn apply(self, amount: Decimal) -> Decimal {
        let cents = (amount * Decimal::ONE_HUNDRED).ceil();
        let up_to = |step: Decimal, ending: Decimal| {
            let candidate = (cents / step).floor() * step + ending;
            if candidate < cents {
                candidate + step
            } else {
                candidate
            }
        };
        let rounded = match self {
            Rounding::None => cents,
            Rounding::Whole => up_to(Decimal::ONE_HUNDRED, Decimal::ZERO),
            Rounding::Ending(c) => up_to(Decimal::ONE_HUNDRED, Decimal::from(c)),
            Rounding::LastDigit(d) => up_to(Decimal::TEN, Decimal::from(d)),
        };
        (rounded / Decimal::ONE_HUNDRED).round_dp(2)
    }

    pub fn parse(s: &str) -> Result<Rounding, RuleError> {
        let t = s.trim().to_ascii_lowercase();
        let bad = || RuleError::BadRounding(s.to_string());
        let digits = |d: &str| d.bytes().all(|b| b.is_ascii_digit()) && !d.is_empty();
        match t.as_str() {
            "none" | "" => Ok(Rounding::None),
            "whole" | ".00" | "0.00" => Ok(Rounding::Whole),
            _ => {
                let tail = t.strip_prefix('0').unwrap_or(&t);
                let tail = tail.strip_prefix('.').ok_or_else(bad)?;
                if let Some(d) = tail.strip_prefix('x') {
                    if d.len() == 1 && digits(d) {
                        return Ok(Rounding::LastDigit(d.parse().map_err(|_| bad())?));
                    }
                } else if tail.len() == 2 && digits(tail) {
                    return Ok(Rounding::Ending(tail.parse().map_err(|_| bad())?));
                }
                Err(bad())
            }
        }
    }
}

impl fmt::Display for Rounding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rounding::None => f.write_str("none"),
            Rounding::Whole => f.write_str("whole"),
            Rounding::Ending(c) => write!(f, ".{c:02}"),
            Rounding::LastDigit(d) => write!(f, ".x{d}"),
        }
    }
}

impl TryFrom<String> for Rounding {
    type Error = RuleError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Rounding::parse(&s)
    }
}

impl From<Rounding> for String {
    fn from(r: Rounding) -> Self {
        r.to_string()
    }
}

/// The pricing rule. Fixed amounts are per year of the term; percentages are of cost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PricingRule {
    pub markup_percent: Decimal,
    /// Fixed markup per year, converted into each sell currency with the pricing rates.
    pub markup_fixed: Option<Money>,
    pub rounding: Rounding,
    /// Below this margin on cost a sell price is flagged (WHMCS: (sell - cost) / cost).
    pub min_margin_percent: Decimal,
    /// Below this absolute margin per year a sell price is flagged.
    pub min_margin_fixed: Option<Money>,
}

impl Default for PricingRule {
    fn default() -> Self {
        Self {
            markup_percent: Decimal::from(25),
            markup_fixed: None,
            rounding: Rounding::Ending(99),
            min_margin_percent: Decimal::from(10),
            min_margin_fixed: None,
        }
    }
}

/// The rule's fixed amounts in one sell currency, per year.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FixedAmounts {
    pub markup: Decimal,
    pub min_margin: Decimal,
}

impl PricingRule {
    pub fn validate(&self) -> Result<(), RuleError> {
        match self.rounding {
            Rounding::Ending(c) if c > 99 => return Err(RuleError::RoundingRange(self.rounding)),
            Rounding::LastDigit(d) if d > 9 => return Err(RuleError::RoundingRange(self.rounding)),
            _ => {}
        }
        let checks = [
            ("markup_percent", Some(self.markup_percent)),
            ("markup_fixed", self.markup_fixed.map(|m| m.amount)),
            ("min_margin_percent", Some(self.min_margin_percent)),
            ("min_margin_fixed", self.min_margin_fixed.map(|m| m.amount)),
        ];
        for (what, value) in checks {
            if let Some(value) = value.filter(|v| *v < Decimal::ZERO) {
                return Err(RuleError::Negative { what, value });
            }
        }
        Ok(())
    }

    /// Converts the fixed amounts into `currency` (a missing rate is an error, not 0).
    pub fn fixed_in(
        &self,
        currency: Currency,
        convert: &mut dyn FnMut(Money, Currency) -> Result<Money, MoneyError>,
    ) -> Result<FixedAmounts, MoneyError> {
        let mut amount = |m: Option<Money>| -> Result<Decimal, MoneyError> {
            m.map_or(Ok(Decimal::ZERO), |m| {
                convert(m, currency).map(|c| c.amount)
            })
        };
        Ok(FixedAmounts {
            markup: amount(self.markup_fixed)?,
            min_margin: amount(self.min_margin_fixed)?,
        })
    }

    /// The margin a term must keep: the larger of the percent and the fixed minimum.
    pub fn required_margin(&self, cost: Decimal, years: Years, fixed: FixedAmounts) -> Decimal {
        let by_percent = cost * self.min_margin_percent / Decimal::ONE_HUNDRED;
        by_percent.max(fixed.min_margin * Decimal::from(years.get()))
    }

    /// Cost → markup → rounding, raised to the minimum margin; never below cost.
    /// `cost` is already converted into the sell currency.
    pub fn proposed_price(&self, cost: Money, years: Years, fixed: FixedAmounts) -> Money {
        let n = Decimal::from(years.get());
        let cost_amount = cost.amount.max(Decimal::ZERO);
        let marked_up = cost_amount * (Decimal::ONE + self.markup_percent / Decimal::ONE_HUNDRED)
            + fixed.markup * n;
        // Clamped, so even an unvalidated negative minimum cannot propose a loss.
        let required = self
            .required_margin(cost_amount, years, fixed)
            .max(Decimal::ZERO);
        let floor = cost_amount + required;
        Money::new(self.rounding.apply(marked_up.max(floor)), cost.currency)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn r(s: &str) -> Rounding {
        Rounding::parse(s).unwrap()
    }

    #[test]
    fn rounding_table_of_the_module_docs() {
        let inputs = [
            dec!(0.01),
            dec!(9.99),
            dec!(10.00),
            dec!(12.41),
            dec!(12.49),
            dec!(12.50),
        ];
        let expect = [
            (
                "none",
                [
                    dec!(0.01),
                    dec!(9.99),
                    dec!(10.00),
                    dec!(12.41),
                    dec!(12.49),
                    dec!(12.50),
                ],
            ),
            (
                "whole",
                [
                    dec!(1.00),
                    dec!(10.00),
                    dec!(10.00),
                    dec!(13.00),
                    dec!(13.00),
                    dec!(13.00),
                ],
            ),
            (
                ".99",
                [
                    dec!(0.99),
                    dec!(9.99),
                    dec!(10.99),
                    dec!(12.99),
                    dec!(12.99),
                    dec!(12.99),
                ],
            ),
            (
                ".x9",
                [
                    dec!(0.09),
                    dec!(9.99),
                    dec!(10.09),
                    dec!(12.49),
                    dec!(12.49),
                    dec!(12.59),
                ],
            ),
            (
                ".x5",
                [
                    dec!(0.05),
                    dec!(10.05),
                    dec!(10.05),
                    dec!(12.45),
                    dec!(12.55),
                    dec!(12.55),
                ],
            ),
        ];
        for (mode, outputs) in expect {
            for (input, want) in inputs.iter().zip(outputs) {
                assert_eq!(r(mode).apply(*input), want, "{mode} of {input}");
            }
        }
    }

    #[test]
    fn rounding_raises_sub_cent_amounts_and_keeps_exact_ones() {
        assert_eq!(r("none").apply(dec!(9.9901)), dec!(10.00));
        assert_eq!(r(".99").apply(dec!(9.9901)), dec!(10.99));
        assert_eq!(r(".95").apply(dec!(9.96)), dec!(10.95));
        assert_eq!(r(".x9").apply(dec!(0)), dec!(0.09));
        assert_eq!(r("whole").apply(dec!(0)), dec!(0));
    }

    #[test]
    fn rounding_parses_and_prints_every_mode() {
        for s in ["none", "whole", ".99", ".95", ".x9", ".x5"] {
            assert_eq!(r(s).to_string(), s);
        }
        assert_eq!(r("0.99"), Rounding::Ending(99));
        assert_eq!(r(".X9"), Rounding::LastDigit(9));
        for bad in ["9", ".9", ".999", ".xx", "up", ".x"] {
            let err = Rounding::parse(bad).unwrap_err().to_string();
            assert!(err.contains("use none, whole"), "{bad}: {err}");
        }
    }

    fn rule(markup: Decimal, rounding: &str, min: Decimal) -> PricingRule {
        rule_with(markup, r(rounding), min)
    }

    fn rule_with(markup: Decimal, rounding: Rounding, min: Decimal) -> PricingRule {
        PricingRule {
            markup_percent: markup,
            markup_fixed: None,
            rounding,
            min_margin_percent: min,
            min_margin_fixed: None,
        }
    }

    #[test]
    fn proposed_price_is_cost_markup_rounding() {
        let cost = Money::new(dec!(8.00), Currency::EUR);
        let p = rule(dec!(25), ".99", dec!(10)).proposed_price(
            cost,
            Years::ONE,
            FixedAmounts::default(),
        );
        assert_eq!(p, Money::new(dec!(10.99), Currency::EUR));
        let fixed = FixedAmounts {
            markup: dec!(1.50),
            min_margin: dec!(0),
        };
        let two = Years::new(2).unwrap();
        // 16.00 + 2 × 1.50 = 19.00, no rounding.
        let p = rule(dec!(0), "none", dec!(0)).proposed_price(
            Money::new(dec!(16), Currency::EUR),
            two,
            fixed,
        );
        assert_eq!(p.amount, dec!(19.00));
    }

    #[test]
    fn proposed_price_keeps_the_minimum_margin_and_never_goes_below_cost() {
        // No markup, but 10% minimum: 10.00 → 11.00.
        let p = rule(dec!(0), "none", dec!(10)).proposed_price(
            Money::new(dec!(10), Currency::EUR),
            Years::ONE,
            FixedAmounts::default(),
        );
        assert_eq!(p.amount, dec!(11.00));
        // Absolute minimum per year wins over a smaller percent.
        let fixed = FixedAmounts {
            markup: dec!(0),
            min_margin: dec!(2),
        };
        let p = rule(dec!(5), "none", dec!(1)).proposed_price(
            Money::new(dec!(10), Currency::EUR),
            Years::ONE,
            fixed,
        );
        assert_eq!(p.amount, dec!(12.00));
        // Sub-cent cost rounds up, never down.
        let p = rule(dec!(0), "none", dec!(0)).proposed_price(
            Money::new(dec!(9.991), Currency::EUR),
            Years::ONE,
            FixedAmounts::default(),
        );
        assert_eq!(p.amount, dec!(10.00));
        // An unvalidated negative minimum and markup still never propose a loss.
        let p = rule(dec!(-50), "none", dec!(-50)).proposed_price(
            Money::new(dec!(10), Currency::EUR),
            Years::ONE,
            FixedAmounts::default(),
        );
        assert_eq!(p.amount, dec!(10.00));
    }

    #[test]
    fn validate_rejects_negative_settings() {
        let bad = PricingRule {
            min_margin_percent: dec!(-5),
            ..PricingRule::default()
        };
        let err = bad.validate().unwrap_err().to_string();
        assert!(
            err.contains("min_margin_percent") && err.contains("-5"),
            "{err}"
        );
        assert!(PricingRule::default().validate().is_ok());
        let bad = PricingRule {
            rounding: Rounding::LastDigit(12),
            ..PricingRule::default()
        };
        assert!(bad.validate().unwrap_err().to_string().contains(".x12"));
    }

    /// The last `step` cents of a rounded price must match the mode's ending.
    fn has_form(mode: Rounding, cents: i64) -> bool {
        match mode {
            Rounding::None => true,
            Rounding::Whole => cents % 100 == 0,
            Rounding::Ending(c) => cents % 100 == i64::from(c),
            Rounding::LastDigit(d) => cents % 10 == i64::from(d),
        }
    }

    proptest::proptest! {
        #[test]
        fn rounding_is_the_least_price_of_its_form_at_or_above(
            tenth_cents in 0i64..10_000_000, mode in 0usize..6
        ) {
            let mode = [
                Rounding::None, Rounding::Whole, Rounding::Ending(99),
                Rounding::Ending(95), Rounding::LastDigit(9), Rounding::LastDigit(5),
            ][mode];
            let amount = Decimal::new(tenth_cents, 3);
            let out = mode.apply(amount);
            proptest::prop_assert!(out >= amount);
            let cents = (out * Decimal::ONE_HUNDRED).trunc();
            proptest::prop_assert_eq!(cents * Decimal::new(1, 2), out, "whole cents");
            let cents: i64 = cents.try_into().unwrap();
            proptest::prop_assert!(has_form(mode, cents), "{} for {}", out, amount);
            // No price of the same form lies between the input and the result.
            let below = Decimal::new(cents - 1, 2);
            let smaller = (0..100).map(|k| below - Decimal::new(k, 2)).find(|p| {
                let c: i64 = (p * Decimal::ONE_HUNDRED).trunc().try_into().unwrap();
                c >= 0 && has_form(mode, c)
            });
            if let Some(p) = smaller {
                proptest::prop_assert!(p < amount, "{} of form lies in [{}, {})", p, amount, out);
            }
        }

        #[test]
        fn proposed_price_keeps_cost_and_minimum_margin(
            cost_cents in 0i64..1_000_000, markup in 0u32..200, min in 0u32..100, mode in 0usize..4, years in 1u32..=10
        ) {
            let rounding = [Rounding::None, Rounding::Whole, Rounding::Ending(99), Rounding::LastDigit(5)][mode];
            let rule = rule_with(Decimal::from(markup), rounding, Decimal::from(min));
            let cost = Money::new(Decimal::new(cost_cents, 2), Currency::EUR);
            let years = Years::new(years).unwrap();
            let p = rule.proposed_price(cost, years, FixedAmounts::default());
            proptest::prop_assert!(p.amount >= cost.amount);
            let need = rule.required_margin(cost.amount, years, FixedAmounts::default());
            proptest::prop_assert!(p.amount - cost.amount >= need);
        }
    }

    #[test]
    fn fixed_amounts_convert_or_fail_clearly() {
        let rule = PricingRule {
            markup_fixed: Some(Money::new(dec!(2), Currency::EUR)),
            ..PricingRule::default()
        };
        let mut no_rate = |m: Money, to: Currency| {
            Err(MoneyError::NoRate {
                from: m.currency,
                to,
            })
        };
        assert!(rule.fixed_in(Currency::USD, &mut no_rate).is_err());
        let mut double = |m: Money, to: Currency| Ok(Money::new(m.amount * dec!(2), to));
        assert_eq!(
            rule.fixed_in(Currency::USD, &mut double).unwrap().markup,
            dec!(4)
        );
    }
}
