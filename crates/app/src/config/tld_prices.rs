//! `[tld_prices]`: the TLD price list monitor (issue #12). On by default; the margin rule
//! works like WHMCS's own TLD sync (percent and/or fixed markup per year, rounding) plus
//! the minimum margin below which a sell price is flagged.

use anyhow::{bail, Context};
use domwatch_core::detect::TldPricePolicy;
use domwatch_core::pricing::{PricingRule, Rounding};
use domwatch_core::{Currency, Money};
use rust_decimal::Decimal;
use serde::Deserialize;
use std::str::FromStr;

#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawTldPrices {
    /// Compare WHMCS's TLD prices with the registrars' price lists (default true).
    pub enabled: Option<bool>,
    /// Markup on cost for proposed prices, percent (default 25).
    pub markup_percent: Option<Decimal>,
    /// Fixed markup per year, e.g. "1.00 EUR".
    pub markup_fixed: Option<String>,
    /// `none`, `whole`, `.99`, `.95`, `.x9`, `.x5` … (default .99).
    pub rounding: Option<String>,
    /// Flag sell prices whose margin on cost is below this percent (default 10).
    pub min_margin_percent: Option<Decimal>,
    /// Flag sell prices whose margin per year is below this amount, e.g. "0.50 EUR".
    pub min_margin_fixed: Option<String>,
    /// Registrar account for TLDs with no auto-registration module (default: the first).
    pub default_account: Option<String>,
}

pub(super) fn tld_price_policy(
    raw: &RawTldPrices,
    accounts: &[String],
) -> anyhow::Result<TldPricePolicy> {
    let defaults = PricingRule::default();
    let rule = PricingRule {
        markup_percent: raw.markup_percent.unwrap_or(defaults.markup_percent),
        markup_fixed: raw
            .markup_fixed
            .as_deref()
            .map(|m| money("markup_fixed", m))
            .transpose()?,
        rounding: match &raw.rounding {
            Some(r) => Rounding::parse(r).context("in `tld_prices.rounding`")?,
            None => defaults.rounding,
        },
        min_margin_percent: raw
            .min_margin_percent
            .unwrap_or(defaults.min_margin_percent),
        min_margin_fixed: raw
            .min_margin_fixed
            .as_deref()
            .map(|m| money("min_margin_fixed", m))
            .transpose()?,
    };
    rule.validate().context("in `[tld_prices]`")?;
    if let Some(a) = &raw.default_account {
        if !accounts.contains(a) {
            bail!(
                "`tld_prices.default_account` = `{a}` is not a registrar account; use one of: {}",
                accounts.join(", ")
            );
        }
    }
    Ok(TldPricePolicy {
        enabled: raw.enabled.unwrap_or(true),
        rule,
        default_account: raw.default_account.clone(),
    })
}

/// `"1.00 EUR"`.
fn money(key: &str, text: &str) -> anyhow::Result<Money> {
    let fix = || {
        format!(
            "`tld_prices.{key}` = `{text}` is not an amount and currency; write e.g. \"1.00 EUR\""
        )
    };
    let (amount, currency) = text.trim().split_once(' ').with_context(fix)?;
    let currency = Currency::from_str(currency.trim()).ok().with_context(fix)?;
    Money::parse(amount.trim(), currency).ok().with_context(fix)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_errors_name_the_key() {
        let p = tld_price_policy(&RawTldPrices::default(), &[]).unwrap();
        assert!(p.enabled);
        assert_eq!(p.rule, PricingRule::default());
        let raw = RawTldPrices {
            markup_fixed: Some("1.00 EUR".into()),
            rounding: Some("whole".into()),
            ..RawTldPrices::default()
        };
        let p = tld_price_policy(&raw, &[]).unwrap();
        assert_eq!(p.rule.markup_fixed.unwrap().currency, Currency::EUR);
        let bad = RawTldPrices {
            min_margin_fixed: Some("0.50".into()),
            ..RawTldPrices::default()
        };
        let e = tld_price_policy(&bad, &[]).unwrap_err().to_string();
        assert!(e.contains("tld_prices.min_margin_fixed"), "{e}");
        let unknown = RawTldPrices {
            default_account: Some("nope".into()),
            ..RawTldPrices::default()
        };
        let e = tld_price_policy(&unknown, &["cnr".into()])
            .unwrap_err()
            .to_string();
        assert!(e.contains("cnr"), "{e}");
    }
}
