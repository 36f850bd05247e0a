//! Resolution of the file model into the runtime [`Config`]: environment overrides and
//! secrets applied, every value validated, defaults filled in. Each error names the key
//! and says how to fix it.

use super::file::{RawConfig, RawDetection, RawPricing};
use super::notices::{notice_channels, resolve_mail};
use super::registrar::resolve_registrars;
use super::sources::{plain, secret, Env};
use super::whmcs::resolve_whmcs;
use super::Config;
use anyhow::{bail, Context};
use domwatch_core::detect::{DetectionPolicy, MarginRule};
use domwatch_core::lifecycle::AccountPolicy;
use domwatch_core::model::RenewalMode;
use domwatch_core::Currency;
use rust_decimal::Decimal;
use std::collections::BTreeMap;

impl RawConfig {
    /// Applies environment overrides and secrets, and validates everything.
    pub fn resolve(self, env: &dyn Env) -> anyhow::Result<Config> {
        let database_url = database_url(env, self.database_url.as_ref())?;
        let whmcs = self.whmcs.map(|w| resolve_whmcs(w, env)).transpose()?;
        let (registrars, account_policies) = resolve_registrars(self.registrars, env)?;
        let mut detection = detection_policy(account_policies, &self.pricing, &self.detection)?;
        detection.transfer_lock_unchecked_accounts = registrars
            .iter()
            .filter(|a| !a.check_transfer_lock)
            .map(|a| a.name.clone())
            .collect();
        let names: Vec<String> = registrars.iter().map(|r| r.name.clone()).collect();
        detection.tld_prices = super::tld_prices::tld_price_policy(&self.tld_prices, &names)?;
        let rates = exchange_rates(&self.pricing)?;
        let mail = resolve_mail(&self.notices, env)?;
        let notice_channels = notice_channels(self.notices.channels)?;
        let dashboard = self.serve.dashboard(env)?;
        let events_secret = self.events.resolve(env)?;
        let webhooks = super::webhooks::resolve_webhooks(&self.webhooks, env)?;
        Ok(Config {
            events_secret,
            dashboard,
            database_url,
            whmcs,
            registrars,
            detection,
            rates,
            notice_channels,
            listen: plain(env, &["LISTEN"], self.serve.listen.as_ref())
                .unwrap_or_else(|| "127.0.0.1:8400".into()),
            interval: self.serve.interval()?,
            lease: self.serve.lease()?,
            admin_user: self.serve.admin_user.unwrap_or_else(|| "admin".into()),
            admin_password_hash: secret(
                env,
                &["ADMIN_PASSWORD_HASH"],
                "serve.admin_password_hash",
                self.serve.admin_password_hash.as_ref(),
                self.serve.admin_password_hash_file.as_ref(),
            )?,
            registrar_mail: self.notices.registrar_mail,
            mail,
            secure_cookies: secure_cookies(env, self.serve.secure_cookies)?,
            webhooks,
        })
    }
}

/// `database_url` (or DOMWATCH_DATABASE_URL): SQLite by default, or PostgreSQL.
fn database_url(env: &dyn Env, inline: Option<&String>) -> anyhow::Result<String> {
    let database_url =
        plain(env, &["DATABASE_URL"], inline).unwrap_or_else(|| "sqlite://domwatch.db".to_string());
    if !(database_url.starts_with("sqlite:")
        || database_url.starts_with("postgres://")
        || database_url.starts_with("postgresql://"))
    {
        bail!(
            "`database_url` must start with sqlite:// or postgres:// (got `{}`)",
            domwatch_store::redact_url(&database_url)
        );
    }
    Ok(database_url)
}

/// `[pricing]` margins and `[detection]` thresholds over the core defaults.
fn detection_policy(
    accounts: BTreeMap<String, AccountPolicy>,
    pricing: &RawPricing,
    raw: &RawDetection,
) -> anyhow::Result<DetectionPolicy> {
    let mut detection = DetectionPolicy {
        accounts,
        ..DetectionPolicy::default()
    };
    let defaults = MarginRule::default();
    detection.margin = MarginRule {
        markup_percent: pricing.markup_percent.unwrap_or(defaults.markup_percent),
        min_margin_percent: pricing
            .min_margin_percent
            .unwrap_or(defaults.min_margin_percent),
    };
    if detection.margin.markup_percent < Decimal::ZERO
        || detection.margin.min_margin_percent < Decimal::ZERO
    {
        bail!("`pricing.markup_percent` and `pricing.min_margin_percent` must not be negative");
    }
    if let Some(d) = raw.expiry_tolerance_days {
        detection.expiry_tolerance_days = d.max(0);
    }
    if let Some(n) = raw.missing_strikes {
        if n == 0 {
            bail!("`detection.missing_strikes` must be at least 1 (3 is a safe default)");
        }
        detection.missing_strikes_threshold = n;
    }
    if let Some(d) = raw.paid_renewal_lookback_days {
        detection.paid_renewal_lookback_days = d.max(1);
    }
    if let Some(d) = raw.renewal_invoice_window_days {
        if d < detection.paid_renewal_lookback_days {
            bail!(
                "`detection.renewal_invoice_window_days` = {d} is shorter than \
                 `paid_renewal_lookback_days` = {}: a paid renewal inside the look-back would \
                 not be seen; use at least that many days (120 is the default)",
                detection.paid_renewal_lookback_days
            );
        }
        detection.renewal_invoice_window_days = d;
    }
    if let Some(mode) = &raw.expected_renewal_mode {
        match RenewalMode::parse(mode) {
            RenewalMode::Other(m) => bail!("`detection.expected_renewal_mode` = `{m}` is not a renewal mode: use e.g. AUTOEXPIRE or AUTORENEW"),
            m => detection.expected_renewal_mode = Some(m),
        }
    }
    Ok(detection)
}

/// `[pricing] rates = { "EUR/USD" = 1.08 }` as checked currency pairs.
fn exchange_rates(pricing: &RawPricing) -> anyhow::Result<Vec<(Currency, Currency, Decimal)>> {
    let mut rates = Vec::new();
    for (pair, rate) in &pricing.rates {
        let (from, to) = pair.split_once('/').with_context(|| {
            format!("`pricing.rates.\"{pair}\"`: write currency pairs as \"EUR/USD\"")
        })?;
        let from: Currency = from
            .parse()
            .with_context(|| format!("`pricing.rates.\"{pair}\"`"))?;
        let to: Currency = to
            .parse()
            .with_context(|| format!("`pricing.rates.\"{pair}\"`"))?;
        if *rate <= Decimal::ZERO {
            bail!("`pricing.rates.\"{pair}\"` must be positive");
        }
        rates.push((from, to, *rate));
    }
    Ok(rates)
}

/// DOMWATCH_SECURE_COOKIES wins over `serve.secure_cookies`; off by default.
fn secure_cookies(env: &dyn Env, in_file: Option<bool>) -> anyhow::Result<bool> {
    Ok(match env.var("DOMWATCH_SECURE_COOKIES") {
        Some(v) => match v.to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" => true,
            "0" | "false" | "no" => false,
            other => bail!("DOMWATCH_SECURE_COOKIES = `{other}`: use true or false"),
        },
        None => in_file.unwrap_or(false),
    })
}
