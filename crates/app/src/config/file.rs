//! The file model: `domwatch.toml` as written, before environment overrides, secrets and
//! validation. Unknown keys are rejected so a typo is reported, not ignored.

use anyhow::Context;
use domwatch_core::model::Dialect;
use rust_decimal::Decimal;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    #[default]
    Live,
    Ote,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRegistrar {
    pub dialect: Dialect,
    #[serde(default)]
    pub environment: Environment,
    /// Overrides the dialect's official endpoint (sandboxes, proxies).
    pub endpoint: Option<String>,
    pub login: Option<String>,
    pub password: Option<String>,
    pub password_file: Option<PathBuf>,
    pub role: Option<String>,
    pub subuser: Option<String>,
    /// WHMCS registrar module names whose domains belong to this account.
    #[serde(default)]
    pub modules: Vec<String>,
    pub page_size: Option<u32>,
    pub max_concurrency: Option<u32>,
    pub timeout_seconds: Option<u64>,
    /// Auto delete for unpaid domains: a mode (`"ticket"`) or a table with details.
    pub auto_delete: Option<RawAutoDelete>,
    /// Contact policy: per role `reseller` or `client`, and the reseller handle.
    pub contacts: Option<RawContacts>,
    /// Open a case when a domain's transfer lock is off where its zone has one (default on).
    pub transfer_lock: Option<bool>,
    /// Smart-NIC: act for a sub-reseller (`forReseller`).
    pub for_reseller: Option<String>,
    /// Smart-NIC: how `startDate` is sent, `unix_timestamp` (default) or `iso_date`.
    pub start_date_format: Option<String>,
}

/// `auto_delete = "enabled"` or `[registrars.<name>.auto_delete]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum RawAutoDelete {
    Mode(String),
    Table(RawAutoDeleteTable),
}

#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawAutoDeleteTable {
    /// disabled | ticket (default) | enabled.
    pub mode: Option<String>,
    /// CNR/ISPAPI: AUTODELETE (default) or AUTOEXPIRE; Smart-NIC: delete (default) or transit.
    pub cancel_with: Option<String>,
    /// Smart-NIC: hand unpaid .de domains to DENIC TRANSIT instead of deleting them.
    pub de_transit: Option<bool>,
    /// CNR/ISPAPI: renewal mode set back when a cancellation is withdrawn (default DEFAULT).
    pub restore_mode: Option<String>,
    /// Notice period in days for zones not listed in `notice_days_per_zone` (default 5).
    pub notice_days: Option<u32>,
    /// e.g. `{ de = 35, "co.uk" = 10 }`; defaults: de, at, ch, eu = 35.
    pub notice_days_per_zone: Option<BTreeMap<String, u32>>,
    /// Days before the notice period in which domwatch acts (default 7).
    pub safety_margin_days: Option<u32>,
    /// Act only on an unpaid renewal invoice or Do Not Renew (default true).
    pub require_unpaid_invoice: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawContacts {
    pub owner: Option<String>,
    pub admin: Option<String>,
    pub tech: Option<String>,
    /// Billing contact (CNR/ISPAPI); `zone` is the same role at Smart-NIC/DENIC.
    pub billing: Option<String>,
    pub zone: Option<String>,
    /// The existing handle used for every reseller role (one handle, not one per domain).
    pub reseller_handle: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWhmcs {
    pub url: Option<String>,
    pub identifier: Option<String>,
    pub secret: Option<String>,
    pub secret_file: Option<PathBuf>,
    pub access_key: Option<String>,
    pub access_key_file: Option<PathBuf>,
    /// Optional direct database access (to-dos, premium data): mysql://user:pass@host/db.
    pub database_url: Option<String>,
    pub database_url_file: Option<PathBuf>,
    /// Where the billing snapshot and domain invoices are read from: "database" (default
    /// with `database_url`) or "api".
    pub read_from: Option<String>,
    /// Client id of the WhmcsBot client that opens admin tickets.
    pub bot_client_id: Option<u64>,
    /// Support department for domwatch tickets.
    pub ticket_department_id: Option<u64>,
    pub timeout_seconds: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawPricing {
    /// Markup on registrar cost when proposing a recurring amount, in percent.
    pub markup_percent: Option<Decimal>,
    /// Flag renewals whose margin is below this many percent; 0 turns it off.
    pub min_margin_percent: Option<Decimal>,
    /// Fixed exchange rates `"EUR/USD" = 1.08` used when the registrar has none.
    #[serde(default)]
    pub rates: BTreeMap<String, Decimal>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawDetection {
    pub expiry_tolerance_days: Option<i64>,
    pub missing_strikes: Option<u32>,
    pub paid_renewal_lookback_days: Option<i64>,
    pub renewal_invoice_window_days: Option<i64>,
    /// e.g. "AUTOEXPIRE" when WHMCS drives renewals.
    pub expected_renewal_mode: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawNotices {
    /// Which admin-notice channels may be used, best first: "todo" (a WHMCS to-do, needs
    /// `whmcs.database_url`), "ticket" (opened by the bot client), "email" (WHMCS admin
    /// e-mail). Default: all three; the first one that is configured is used.
    #[serde(default)]
    pub channels: Vec<String>,
    pub smtp_url: Option<String>,
    pub smtp_url_file: Option<PathBuf>,
    pub mail_from: Option<String>,
    #[serde(default)]
    pub mail_to: Vec<String>,
    /// Where registrars send their own notification mails about domwatch's orders
    /// (Smart-NIC `notify`).
    pub registrar_mail: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawServe {
    pub listen: Option<String>,
    /// Minutes between monitoring cycles.
    pub interval_minutes: Option<u64>,
    /// Seconds between monitoring cycles instead of `interval_minutes` (demos and tests).
    pub interval_seconds: Option<u64>,
    /// Several instances on one database: the leader lease's length (default 30 s).
    pub lease_seconds: Option<u64>,
    pub admin_user: Option<String>,
    /// argon2 PHC string (`domwatch hash-password` prints one).
    pub admin_password_hash: Option<String>,
    pub admin_password_hash_file: Option<PathBuf>,
    /// The dashboard is reached over TLS (e.g. behind a reverse proxy): mark the session
    /// cookie `Secure`. Also `DOMWATCH_SECURE_COOKIES=1`.
    pub secure_cookies: Option<bool>,
    /// Host names (optionally `name:port`) the dashboard answers besides the loopback
    /// names and the listen address; other Host headers get 421 (DNS rebinding).
    #[serde(default)]
    pub allowed_hosts: Vec<String>,
    /// Reverse proxies (IP addresses) whose `X-Forwarded-For` names the client.
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
    /// Failed logins per client address or user name within the window before 429.
    pub login_max_failures: Option<u32>,
    pub login_window_minutes: Option<u64>,
    /// A login ends after this much inactivity (default 30) ...
    pub session_idle_minutes: Option<u64>,
    /// ... and this long after it began (default 12).
    pub session_absolute_hours: Option<u64>,
    /// Bearer token for `/metrics` (also DOMWATCH_METRICS_TOKEN(_FILE)).
    pub metrics_token: Option<String>,
    pub metrics_token_file: Option<PathBuf>,
    /// A request's head must arrive within this many seconds (default 10), its body
    /// within `body_read_timeout_seconds` (default 30).
    pub header_read_timeout_seconds: Option<u64>,
    pub body_read_timeout_seconds: Option<u64>,
}

/// The file as written.
#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    /// sqlite://domwatch.db (default) or postgres://…
    pub database_url: Option<String>,
    pub whmcs: Option<RawWhmcs>,
    #[serde(default)]
    pub registrars: BTreeMap<String, RawRegistrar>,
    #[serde(default)]
    pub pricing: RawPricing,
    #[serde(default)]
    pub detection: RawDetection,
    #[serde(default)]
    pub tld_prices: super::tld_prices::RawTldPrices,
    #[serde(default)]
    pub notices: RawNotices,
    #[serde(default)]
    pub serve: RawServe,
    #[serde(default)]
    pub events: super::events::RawEvents,
    #[serde(default)]
    pub webhooks: Vec<super::webhooks::RawWebhook>,
}

impl RawConfig {
    /// Reads and parses a TOML file; a syntax or unknown-key error names line and key.
    pub fn from_file(path: &Path) -> anyhow::Result<RawConfig> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the configuration file {}", path.display()))?;
        Self::from_toml(&text).with_context(|| format!("in {}", path.display()))
    }

    pub fn from_toml(text: &str) -> anyhow::Result<RawConfig> {
        toml::from_str(text).map_err(|e| anyhow::anyhow!("invalid configuration: {e}"))
    }
}
