//! Detection settings: the margin rule and the per-account policies.

use crate::lifecycle::AccountPolicy;
use crate::money::Money;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// How the reseller prices renewals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MarginRule {
    /// Markup on registrar cost used when proposing a new recurring amount (25 = +25%).
    pub markup_percent: Decimal,
    /// Below this margin (on cost) a renewal is flagged; 0 disables the margin check.
    pub min_margin_percent: Decimal,
}

impl Default for MarginRule {
    fn default() -> Self {
        Self {
            markup_percent: Decimal::from(25),
            min_margin_percent: Decimal::from(10),
        }
    }
}

impl MarginRule {
    /// The recurring amount to bill for a given cost: cost plus markup, rounded to cents.
    pub fn price_for(&self, cost: Money) -> Money {
        let factor = Decimal::ONE + self.markup_percent / Decimal::from(100);
        Money::new(cost.amount * factor, cost.currency).round_cents()
    }
}

/// Detection settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DetectionPolicy {
    pub margin: MarginRule,
    /// Days of difference tolerated between billing and registrar expiry.
    pub expiry_tolerance_days: i64,
    /// Cycles a billed domain must be absent before "missing at registrar" opens.
    pub missing_strikes_threshold: u32,
    /// Look back this many days for a paid renewal that did not happen.
    pub paid_renewal_lookback_days: i64,
    /// A paid or cancelled invoice older than this many days is not the domain's current
    /// renewal invoice (unpaid ones count at any age); see `domwatch_whmcs::renewal`.
    #[serde(default = "default_renewal_invoice_window_days")]
    pub renewal_invoice_window_days: i64,
    /// When set, registrar renewal modes of billed, renewing domains must be this one.
    pub expected_renewal_mode: Option<crate::model::RenewalMode>,
    /// Auto delete and contact policy per registrar account name.
    #[serde(default)]
    pub accounts: BTreeMap<String, AccountPolicy>,
    /// Registrar accounts configured with `transfer_lock = false`: no lock cases.
    #[serde(default)]
    pub transfer_lock_unchecked_accounts: BTreeSet<String>,
    /// Zones (or TLDs) without a client transfer lock: no lock cases there.
    #[serde(default = "super::addons::default_zones_without_transfer_lock")]
    pub zones_without_transfer_lock: BTreeSet<String>,
    /// The TLD price list monitor (issue #12).
    #[serde(default)]
    pub tld_prices: TldPricePolicy,
}

/// The TLD price list monitor: off in the library default (the app turns it on), the
/// margin rule, and the registrar account for TLDs WHMCS names no module for.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TldPricePolicy {
    pub enabled: bool,
    pub rule: crate::pricing::PricingRule,
    /// `None`: the first registrar account.
    pub default_account: Option<String>,
}

fn default_renewal_invoice_window_days() -> i64 {
    120
}

impl Default for DetectionPolicy {
    fn default() -> Self {
        Self {
            margin: MarginRule::default(),
            expiry_tolerance_days: 1,
            missing_strikes_threshold: 3,
            paid_renewal_lookback_days: 60,
            renewal_invoice_window_days: default_renewal_invoice_window_days(),
            expected_renewal_mode: None,
            accounts: BTreeMap::new(),
            transfer_lock_unchecked_accounts: BTreeSet::new(),
            zones_without_transfer_lock: super::addons::default_zones_without_transfer_lock(),
            tld_prices: TldPricePolicy::default(),
        }
    }
}
