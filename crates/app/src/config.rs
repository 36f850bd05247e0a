//! Configuration: one TOML file, environment overrides, and `*_FILE` secrets.
//!
//! Every secret can be given inline (discouraged), as `<key>_file = "/run/secrets/x"` in
//! the file, or through the environment (`DOMWATCH_WHMCS_SECRET`,
//! `DOMWATCH_WHMCS_SECRET_FILE`, `DOMWATCH_REGISTRAR_<NAME>_PASSWORD[_FILE]`, …).
//! Errors name the key and say how to fix it. With no file at all, domwatch runs on the
//! embedded default: SQLite and in-process sandboxes.

use anyhow::{bail, Context};
use domwatch_core::detect::{DetectionPolicy, MarginRule};
use domwatch_core::lifecycle::{AccountPolicy, AutoDeleteMode, ContactRole, RoleSource};
use domwatch_core::model::{Dialect, RenewalMode};
use domwatch_core::ports::CancellationMethod;
use domwatch_core::Currency;
use rust_decimal::Decimal;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// A secret value; never printed.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn from_plain(value: &str) -> Secret {
        Secret(value.to_string())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_empty() { "<empty>" } else { "***" })
    }
}

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

/// The dashboard's login, session and request limits, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct DashboardSettings {
    /// Configured entries; the loopback names and the listen address are always allowed.
    pub allowed_hosts: Vec<String>,
    pub trusted_proxies: Vec<std::net::IpAddr>,
    pub login_max_failures: u32,
    pub login_window_minutes: u64,
    pub session_idle_minutes: u64,
    pub session_absolute_hours: u64,
    pub metrics_token: Option<Secret>,
    pub header_read_timeout_seconds: u64,
    pub body_read_timeout_seconds: u64,
}

/// Minimum length of `serve.metrics_token` (it guards business figures).
const MIN_METRICS_TOKEN_CHARS: usize = 16;

fn in_range(
    key: &str,
    value: Option<u64>,
    default: u64,
    min: u64,
    max: u64,
    unit: &str,
) -> anyhow::Result<u64> {
    let v = value.unwrap_or(default);
    if !(min..=max).contains(&v) {
        bail!("`serve.{key}` = {v} is out of range: use {min} to {max} {unit} (default {default})");
    }
    Ok(v)
}

impl RawServe {
    fn dashboard(&self, env: &dyn Env) -> anyhow::Result<DashboardSettings> {
        for host in &self.allowed_hosts {
            domwatch_web::AllowedHosts::check_entry(host)
                .map_err(|e| anyhow::anyhow!("`serve.allowed_hosts`: {e}"))?;
        }
        let trusted_proxies = self
            .trusted_proxies
            .iter()
            .map(|p| {
                p.trim().parse().map_err(|_| {
                    anyhow::anyhow!("`serve.trusted_proxies` contains `{p}`, which is not an IP address: list the proxies' addresses, e.g. [\"127.0.0.1\"]")
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let metrics_token = secret(
            env,
            &["METRICS_TOKEN"],
            "serve.metrics_token",
            self.metrics_token.as_ref(),
            self.metrics_token_file.as_ref(),
        )?;
        if let Some(token) = &metrics_token {
            let t = token.expose();
            if t.chars().count() < MIN_METRICS_TOKEN_CHARS
                || t.chars().any(|c| c.is_whitespace() || c.is_control())
            {
                bail!("`serve.metrics_token` must be at least {MIN_METRICS_TOKEN_CHARS} characters without spaces: make one with `openssl rand -hex 32`");
            }
        }
        let session_idle_minutes = in_range(
            "session_idle_minutes",
            self.session_idle_minutes,
            30,
            1,
            7 * 24 * 60,
            "minutes",
        )?;
        let session_absolute_hours = in_range(
            "session_absolute_hours",
            self.session_absolute_hours,
            12,
            1,
            30 * 24,
            "hours",
        )?;
        if session_idle_minutes > session_absolute_hours * 60 {
            bail!("`serve.session_idle_minutes` = {session_idle_minutes} is longer than `serve.session_absolute_hours` = {session_absolute_hours}: make the idle limit the shorter one");
        }
        Ok(DashboardSettings {
            allowed_hosts: self.allowed_hosts.clone(),
            trusted_proxies,
            login_max_failures: in_range(
                "login_max_failures",
                self.login_max_failures.map(u64::from),
                5,
                1,
                1000,
                "failures",
            )? as u32,
            login_window_minutes: in_range(
                "login_window_minutes",
                self.login_window_minutes,
                5,
                1,
                24 * 60,
                "minutes",
            )?,
            session_idle_minutes,
            session_absolute_hours,
            metrics_token,
            header_read_timeout_seconds: in_range(
                "header_read_timeout_seconds",
                self.header_read_timeout_seconds,
                10,
                1,
                300,
                "seconds",
            )?,
            body_read_timeout_seconds: in_range(
                "body_read_timeout_seconds",
                self.body_read_timeout_seconds,
                30,
                1,
                3600,
                "seconds",
            )?,
        })
    }
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
    pub notices: RawNotices,
    #[serde(default)]
    pub serve: RawServe,
}

/// A registrar account, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct RegistrarAccount {
    pub name: String,
    pub dialect: Dialect,
    pub environment: Environment,
    pub endpoint: Option<String>,
    pub login: String,
    pub password: Secret,
    pub role: Option<String>,
    pub subuser: Option<String>,
    pub modules: Vec<String>,
    pub page_size: u32,
    pub max_concurrency: u32,
    pub timeout_seconds: u64,
    /// The bulk list must carry contact handles (a contact policy is configured); CNR
    /// then lists with `TYPE=ALL`.
    pub list_contacts: bool,
    /// Smart-NIC only: `forReseller`.
    pub for_reseller: Option<String>,
    /// Smart-NIC only: `startDate` as an ISO date instead of a Unix timestamp.
    pub start_date_iso: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct WhmcsConfig {
    pub url: String,
    pub identifier: String,
    pub secret: Secret,
    pub access_key: Option<Secret>,
    pub database_url: Option<Secret>,
    pub bot_client_id: Option<u64>,
    pub ticket_department_id: Option<u64>,
    pub timeout_seconds: u64,
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub database_url: String,
    /// `None`: run against the embedded sandboxes.
    pub whmcs: Option<WhmcsConfig>,
    pub registrars: Vec<RegistrarAccount>,
    pub detection: DetectionPolicy,
    pub rates: Vec<(Currency, Currency, Decimal)>,
    pub notice_channels: Vec<String>,
    pub listen: String,
    pub interval_minutes: u64,
    pub admin_user: String,
    pub admin_password_hash: Option<Secret>,
    /// Registrar notification address (Smart-NIC `notify`).
    pub registrar_mail: Option<String>,
    pub secure_cookies: bool,
    /// Host allow-list, proxies, login throttling, session lifetimes, metrics token, timeouts.
    pub dashboard: DashboardSettings,
    /// domwatch's own e-mail (digest, lifecycle actions), when `notices.smtp_url` is set.
    pub mail: Option<domwatch_mail::MailConfig>,
}

impl Config {
    /// True when nothing external is configured: use the in-process sandboxes.
    pub fn is_embedded_default(&self) -> bool {
        self.whmcs.is_none() && self.registrars.is_empty()
    }
}

/// Where values come from besides the file: the process environment in production, a map
/// in tests.
pub trait Env {
    fn var(&self, key: &str) -> Option<String>;
}

pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, key: &str) -> Option<String> {
        std::env::var(key).ok().filter(|v| !v.is_empty())
    }
}

impl Env for BTreeMap<String, String> {
    fn var(&self, key: &str) -> Option<String> {
        self.get(key).cloned()
    }
}

fn env_key(parts: &[&str]) -> String {
    let mut key = String::from("DOMWATCH");
    for p in parts {
        key.push('_');
        key.extend(p.chars().map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        }));
    }
    key
}

fn read_secret_file(path: &Path, key: &str) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(path).with_context(|| {
        format!(
            "`{key}` points to {} which cannot be read: check the path and its permissions",
            path.display()
        )
    })?;
    let value = text.trim_end_matches(['\n', '\r']).to_string();
    if value.is_empty() {
        bail!(
            "`{key}` points to {} which is empty: put the secret in it",
            path.display()
        );
    }
    Ok(value)
}

/// Resolves a secret from (in order) env `<KEY>_FILE`, env `<KEY>`, file `<key>_file`, file `<key>`.
fn secret(
    env: &dyn Env,
    env_parts: &[&str],
    key: &str,
    inline: Option<&String>,
    file: Option<&PathBuf>,
) -> anyhow::Result<Option<Secret>> {
    let var = env_key(env_parts);
    if let Some(path) = env.var(&format!("{var}_FILE")) {
        return read_secret_file(Path::new(&path), &format!("{var}_FILE")).map(|s| Some(Secret(s)));
    }
    if let Some(v) = env.var(&var) {
        return Ok(Some(Secret(v)));
    }
    if let Some(path) = file {
        return read_secret_file(path, &format!("{key}_file")).map(|s| Some(Secret(s)));
    }
    Ok(inline.filter(|s| !s.is_empty()).map(|s| Secret(s.clone())))
}

fn plain(env: &dyn Env, env_parts: &[&str], inline: Option<&String>) -> Option<String> {
    env.var(&env_key(env_parts)).or_else(|| inline.cloned())
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

    /// Applies environment overrides and secrets, and validates everything.
    pub fn resolve(self, env: &dyn Env) -> anyhow::Result<Config> {
        let database_url = plain(env, &["DATABASE_URL"], self.database_url.as_ref())
            .unwrap_or_else(|| "sqlite://domwatch.db".to_string());
        if !(database_url.starts_with("sqlite:")
            || database_url.starts_with("postgres://")
            || database_url.starts_with("postgresql://"))
        {
            bail!(
                "`database_url` must start with sqlite:// or postgres:// (got `{}`)",
                domwatch_store::redact_url(&database_url)
            );
        }

        let whmcs = match self.whmcs {
            None => None,
            Some(w) => {
                let url = plain(env, &["WHMCS", "URL"], w.url.as_ref())
                    .context("`whmcs.url` is missing: set it to your WHMCS base URL, e.g. https://billing.example.com")?;
                let parsed = url::Url::parse(&url).with_context(|| {
                    format!(
                        "`whmcs.url` = `{url}` is not a URL: use e.g. https://billing.example.com"
                    )
                })?;
                if !matches!(parsed.scheme(), "http" | "https") {
                    bail!("`whmcs.url` must be http:// or https:// (got `{url}`)");
                }
                let identifier = plain(env, &["WHMCS", "IDENTIFIER"], w.identifier.as_ref())
                    .context("`whmcs.identifier` is missing: create API credentials in WHMCS (System Settings > API Credentials)")?;
                let secret_value = secret(env, &["WHMCS", "SECRET"], "whmcs.secret", w.secret.as_ref(), w.secret_file.as_ref())?
                    .context("`whmcs.secret` is missing: set whmcs.secret_file or DOMWATCH_WHMCS_SECRET(_FILE)")?;
                Some(WhmcsConfig {
                    url,
                    identifier,
                    secret: secret_value,
                    access_key: secret(
                        env,
                        &["WHMCS", "ACCESS_KEY"],
                        "whmcs.access_key",
                        w.access_key.as_ref(),
                        w.access_key_file.as_ref(),
                    )?,
                    database_url: secret(
                        env,
                        &["WHMCS", "DATABASE_URL"],
                        "whmcs.database_url",
                        w.database_url.as_ref(),
                        w.database_url_file.as_ref(),
                    )?,
                    bot_client_id: w.bot_client_id,
                    ticket_department_id: w.ticket_department_id,
                    timeout_seconds: w.timeout_seconds.unwrap_or(30),
                })
            }
        };

        let mut registrars = Vec::new();
        let mut account_policies = BTreeMap::new();
        let mut module_owner: BTreeMap<String, String> = BTreeMap::new();
        for (name, r) in self.registrars {
            let key = |k: &str| format!("registrars.{name}.{k}");
            let login = plain(env, &["REGISTRAR", &name, "LOGIN"], r.login.as_ref()).with_context(
                || {
                    format!(
                        "`{}` is missing: the account's login (user id)",
                        key("login")
                    )
                },
            )?;
            let password = secret(
                env,
                &["REGISTRAR", &name, "PASSWORD"],
                &key("password"),
                r.password.as_ref(),
                r.password_file.as_ref(),
            )?
            .with_context(|| {
                format!(
                    "`{}` is missing: set {} or {}(_FILE)",
                    key("password"),
                    key("password_file"),
                    env_key(&["REGISTRAR", &name, "PASSWORD"])
                )
            })?;
            if let Some(endpoint) = &r.endpoint {
                url::Url::parse(endpoint).with_context(|| {
                    format!("`{}` = `{endpoint}` is not a URL", key("endpoint"))
                })?;
            }
            let modules = if r.modules.is_empty() {
                match r.dialect {
                    Dialect::Cnr => vec!["cnic".into(), "keysystems".into(), "rrpproxy".into()],
                    Dialect::Ispapi => vec!["ispapi".into()],
                    Dialect::Smartnic => vec!["smartnic".into()],
                }
            } else {
                r.modules.iter().map(|m| m.to_ascii_lowercase()).collect()
            };
            for m in &modules {
                if let Some(other) = module_owner.insert(m.clone(), name.clone()) {
                    bail!("WHMCS module `{m}` is mapped to both registrars.{other} and registrars.{name}: list it under one account's `modules` only");
                }
            }
            let page_size = r.page_size.unwrap_or(1000);
            if !(1..=10_000).contains(&page_size) {
                bail!(
                    "`{}` = {page_size} is out of range: use 1 to 10000",
                    key("page_size")
                );
            }
            if r.dialect != Dialect::Smartnic
                && (r.for_reseller.is_some() || r.start_date_format.is_some())
            {
                bail!(
                    "`{}` / `{}` are Smart-NIC settings: remove them from this {} account",
                    key("for_reseller"),
                    key("start_date_format"),
                    r.dialect
                );
            }
            let policy = account_policy(
                &name,
                r.dialect,
                r.auto_delete.as_ref(),
                r.contacts.as_ref(),
            )?;
            let list_contacts = policy.contacts.is_enforced();
            account_policies.insert(name.clone(), policy);
            let start_date_iso = match r.start_date_format.as_deref() {
                None | Some("unix_timestamp") => false,
                Some("iso_date") => true,
                Some(other) => bail!(
                    "`{}` = `{other}`: use unix_timestamp or iso_date",
                    key("start_date_format")
                ),
            };
            registrars.push(RegistrarAccount {
                name,
                dialect: r.dialect,
                environment: r.environment,
                endpoint: r.endpoint,
                login,
                password,
                role: r.role,
                subuser: r.subuser,
                modules,
                page_size,
                max_concurrency: r.max_concurrency.unwrap_or(4).max(1),
                timeout_seconds: r.timeout_seconds.unwrap_or(60),
                list_contacts,
                for_reseller: r.for_reseller.clone().filter(|s| !s.trim().is_empty()),
                start_date_iso,
            });
        }

        let mut detection = DetectionPolicy {
            accounts: account_policies,
            ..DetectionPolicy::default()
        };
        let defaults = MarginRule::default();
        detection.margin = MarginRule {
            markup_percent: self
                .pricing
                .markup_percent
                .unwrap_or(defaults.markup_percent),
            min_margin_percent: self
                .pricing
                .min_margin_percent
                .unwrap_or(defaults.min_margin_percent),
        };
        if detection.margin.markup_percent < Decimal::ZERO
            || detection.margin.min_margin_percent < Decimal::ZERO
        {
            bail!("`pricing.markup_percent` and `pricing.min_margin_percent` must not be negative");
        }
        if let Some(d) = self.detection.expiry_tolerance_days {
            detection.expiry_tolerance_days = d.max(0);
        }
        if let Some(n) = self.detection.missing_strikes {
            if n == 0 {
                bail!("`detection.missing_strikes` must be at least 1 (3 is a safe default)");
            }
            detection.missing_strikes_threshold = n;
        }
        if let Some(d) = self.detection.paid_renewal_lookback_days {
            detection.paid_renewal_lookback_days = d.max(1);
        }
        if let Some(mode) = &self.detection.expected_renewal_mode {
            match RenewalMode::parse(mode) {
                RenewalMode::Other(m) => bail!("`detection.expected_renewal_mode` = `{m}` is not a renewal mode: use e.g. AUTOEXPIRE or AUTORENEW"),
                m => detection.expected_renewal_mode = Some(m),
            }
        }

        let mut rates = Vec::new();
        for (pair, rate) in &self.pricing.rates {
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

        if let Some(address) = &self.notices.registrar_mail {
            if !looks_like_mail_address(address) {
                bail!("`notices.registrar_mail` = `{address}` is not an e-mail address: use e.g. domains@reseller.example");
            }
        }
        let smtp_url = secret(
            env,
            &["SMTP_URL"],
            "notices.smtp_url",
            self.notices.smtp_url.as_ref(),
            self.notices.smtp_url_file.as_ref(),
        )?;
        let mail = match smtp_url {
            None => {
                if self.notices.mail_from.is_some() || !self.notices.mail_to.is_empty() {
                    bail!("`notices.mail_from` / `notices.mail_to` are set but `notices.smtp_url` is not: add the SMTP server, e.g. smtp://user:password@mail.example:587?tls=required (or DOMWATCH_SMTP_URL(_FILE))");
                }
                None
            }
            Some(url) => {
                let from = self.notices.mail_from.as_deref().context(
                    "`notices.mail_from` is missing: the sender of domwatch's mails, e.g. domwatch@reseller.example",
                )?;
                if self.notices.mail_to.is_empty() {
                    bail!("`notices.mail_to` is empty: list who gets domwatch's mails, e.g. [\"admin@reseller.example\"]");
                }
                Some(
                    domwatch_mail::MailConfig::from_settings(
                        url.expose(),
                        from,
                        &self.notices.mail_to,
                    )
                    .map_err(|e| anyhow::anyhow!("{e}"))?,
                )
            }
        };
        for c in &self.notices.channels {
            if !matches!(c.as_str(), "todo" | "ticket" | "email") {
                bail!("`notices.channels` contains `{c}`: use todo, ticket or email");
            }
        }

        let dashboard = self.serve.dashboard(env)?;
        Ok(Config {
            dashboard,
            database_url,
            whmcs,
            registrars,
            detection,
            rates,
            notice_channels: if self.notices.channels.is_empty() {
                vec!["todo".into(), "ticket".into(), "email".into()]
            } else {
                self.notices.channels
            },
            listen: plain(env, &["LISTEN"], self.serve.listen.as_ref())
                .unwrap_or_else(|| "127.0.0.1:8400".into()),
            interval_minutes: self.serve.interval_minutes.unwrap_or(60).max(1),
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
            secure_cookies: match env.var("DOMWATCH_SECURE_COOKIES") {
                Some(v) => match v.to_ascii_lowercase().as_str() {
                    "1" | "true" | "yes" => true,
                    "0" | "false" | "no" => false,
                    other => bail!("DOMWATCH_SECURE_COOKIES = `{other}`: use true or false"),
                },
                None => self.serve.secure_cookies.unwrap_or(false),
            },
        })
    }
}

fn looks_like_mail_address(address: &str) -> bool {
    match address.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty() && domain.contains('.') && !address.contains(char::is_whitespace)
        }
        None => false,
    }
}

/// Validates one account's auto delete and contact settings into the core policy.
fn account_policy(
    name: &str,
    dialect: Dialect,
    auto_delete: Option<&RawAutoDelete>,
    contacts: Option<&RawContacts>,
) -> anyhow::Result<AccountPolicy> {
    let key = |k: &str| format!("registrars.{name}.{k}");
    let mut policy = AccountPolicy::for_dialect(dialect);
    let table = match auto_delete {
        None => RawAutoDeleteTable::default(),
        Some(RawAutoDelete::Mode(mode)) => RawAutoDeleteTable {
            mode: Some(mode.clone()),
            ..RawAutoDeleteTable::default()
        },
        Some(RawAutoDelete::Table(t)) => t.clone(),
    };
    let ad = &mut policy.auto_delete;
    if let Some(mode) = &table.mode {
        ad.mode = mode
            .parse::<AutoDeleteMode>()
            .map_err(|e| anyhow::anyhow!("`{}`: {e}", key("auto_delete.mode")))?;
    }
    if let Some(with) = &table.cancel_with {
        ad.cancel_with = match (dialect, with.to_ascii_lowercase().as_str()) {
            (Dialect::Smartnic, "delete") => CancellationMethod::Delete,
            (Dialect::Smartnic, "transit") => CancellationMethod::Transit,
            (Dialect::Cnr | Dialect::Ispapi, "autodelete") => CancellationMethod::RenewalMode {
                mode: RenewalMode::AutoDelete,
            },
            (Dialect::Cnr | Dialect::Ispapi, "autoexpire") => CancellationMethod::RenewalMode {
                mode: RenewalMode::AutoExpire,
            },
            (Dialect::Smartnic, _) => bail!(
                "`{}` = `{with}`: Smart-NIC accounts cancel with delete or transit",
                key("auto_delete.cancel_with")
            ),
            _ => bail!(
                "`{}` = `{with}`: CNR/ISPAPI accounts cancel with AUTODELETE or AUTOEXPIRE",
                key("auto_delete.cancel_with")
            ),
        };
    }
    if let Some(transit) = table.de_transit {
        if transit && dialect != Dialect::Smartnic {
            bail!(
                "`{}`: .de transit is a Smart-NIC operation; remove it for {dialect} accounts",
                key("auto_delete.de_transit")
            );
        }
        ad.de_transit = transit;
    }
    if let Some(mode) = &table.restore_mode {
        ad.restore_mode = match RenewalMode::parse(mode) {
            RenewalMode::Other(m) => bail!(
                "`{}` = `{m}` is not a renewal mode: use e.g. DEFAULT or AUTORENEW",
                key("auto_delete.restore_mode")
            ),
            m if m.lets_expire() => bail!(
                "`{}` = `{mode}` would keep the domain cancelled: use DEFAULT or AUTORENEW",
                key("auto_delete.restore_mode")
            ),
            m => m,
        };
    }
    let check_days = |k: &str, days: u32, max: u32| -> anyhow::Result<u32> {
        if days > max {
            bail!("`{}` = {days} is out of range: use 0 to {max} days", key(k));
        }
        Ok(days)
    };
    if let Some(days) = table.notice_days {
        ad.notice.default_days = check_days("auto_delete.notice_days", days, 365)?;
    }
    if let Some(per_zone) = &table.notice_days_per_zone {
        for (zone, days) in per_zone {
            let zone = zone.trim_start_matches('.').to_ascii_lowercase();
            let days = check_days(
                &format!("auto_delete.notice_days_per_zone.{zone}"),
                *days,
                365,
            )?;
            ad.notice.per_zone.insert(zone, days);
        }
    }
    if let Some(days) = table.safety_margin_days {
        ad.notice.safety_margin_days = check_days("auto_delete.safety_margin_days", days, 90)?;
    }
    if let Some(require) = table.require_unpaid_invoice {
        ad.require_unpaid_invoice = require;
    }

    if let Some(c) = contacts {
        if c.billing.is_some() && c.zone.is_some() {
            bail!(
                "`{}` and `{}` are the same role: set only one",
                key("contacts.billing"),
                key("contacts.zone")
            );
        }
        for (role, value, field) in [
            (ContactRole::Owner, &c.owner, "owner"),
            (ContactRole::Admin, &c.admin, "admin"),
            (ContactRole::Tech, &c.tech, "tech"),
            (ContactRole::Billing, &c.billing, "billing"),
            (ContactRole::Billing, &c.zone, "zone"),
        ] {
            if let Some(v) = value {
                let source = v
                    .parse::<RoleSource>()
                    .map_err(|e| anyhow::anyhow!("`{}`: {e}", key(&format!("contacts.{field}"))))?;
                policy.contacts.roles.insert(role, source);
            }
        }
        policy.contacts.reseller_handle = c
            .reseller_handle
            .as_ref()
            .map(|h| h.trim().to_string())
            .filter(|h| !h.is_empty());
        let needs_handle = policy
            .contacts
            .roles
            .values()
            .any(|s| *s == RoleSource::Reseller);
        if needs_handle && policy.contacts.reseller_handle.is_none() {
            bail!(
                "`{}` is missing: reseller roles use one existing handle of yours; create it once at the registrar and put its id here",
                key("contacts.reseller_handle")
            );
        }
    }
    Ok(policy)
}

/// Loads the configuration: `path` if given, else `$DOMWATCH_CONFIG`, else `domwatch.toml`
/// in the working directory if present, else the embedded default.
pub fn load(path: Option<&Path>, env: &dyn Env) -> anyhow::Result<Config> {
    let path = path
        .map(Path::to_path_buf)
        .or_else(|| env.var("DOMWATCH_CONFIG").map(PathBuf::from))
        .or_else(|| Some(PathBuf::from("domwatch.toml")).filter(|p| p.exists()));
    let raw = match path {
        Some(p) => RawConfig::from_file(&p)?,
        None => RawConfig::default(),
    };
    raw.resolve(env)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    const FULL: &str = r#"
database_url = "postgres://domwatch@db/domwatch"

[whmcs]
url = "https://billing.example.com"
identifier = "abc"
secret = "inline-secret"
bot_client_id = 99
ticket_department_id = 2

[registrars.cnr-live]
dialect = "cnr"
login = "reseller1"
password = "pw"
modules = ["cnic", "Keysystems"]

[registrars.hexonet]
dialect = "ispapi"
environment = "ote"
login = "test.user"
password = "pw2"

[pricing]
markup_percent = 30
min_margin_percent = 5
rates = { "EUR/USD" = 1.08 }

[detection]
missing_strikes = 2
expected_renewal_mode = "AUTOEXPIRE"

[notices]
channels = ["todo", "email"]
"#;

    #[test]
    fn parses_a_full_file() {
        let c = RawConfig::from_toml(FULL)
            .unwrap()
            .resolve(&env(&[]))
            .unwrap();
        assert_eq!(c.database_url, "postgres://domwatch@db/domwatch");
        assert_eq!(c.whmcs.as_ref().unwrap().secret.expose(), "inline-secret");
        assert_eq!(c.registrars.len(), 2);
        assert_eq!(c.registrars[0].name, "cnr-live");
        assert_eq!(
            c.registrars[0].modules,
            vec!["cnic", "keysystems"],
            "module names are lower-cased"
        );
        assert_eq!(c.registrars[1].environment, Environment::Ote);
        assert_eq!(c.detection.margin.markup_percent, dec!(30));
        assert_eq!(c.detection.missing_strikes_threshold, 2);
        assert_eq!(
            c.detection.expected_renewal_mode,
            Some(RenewalMode::AutoExpire)
        );
        assert_eq!(c.rates, vec![(Currency::EUR, Currency::USD, dec!(1.08))]);
        assert!(!c.is_embedded_default());
    }

    #[test]
    fn empty_config_is_the_embedded_default() {
        let c = RawConfig::default().resolve(&env(&[])).unwrap();
        assert!(c.is_embedded_default());
        assert_eq!(c.database_url, "sqlite://domwatch.db");
        assert_eq!(c.notice_channels, vec!["todo", "ticket", "email"]);
    }

    #[test]
    fn env_overrides_and_secret_files_win() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("secret");
        std::fs::write(&file, "from-file\n").unwrap();
        let e = env(&[
            ("DOMWATCH_WHMCS_SECRET_FILE", file.to_str().unwrap()),
            ("DOMWATCH_REGISTRAR_CNR_LIVE_PASSWORD", "from-env"),
            ("DOMWATCH_DATABASE_URL", "sqlite://other.db"),
        ]);
        let c = RawConfig::from_toml(FULL).unwrap().resolve(&e).unwrap();
        assert_eq!(c.whmcs.as_ref().unwrap().secret.expose(), "from-file");
        assert_eq!(c.registrars[0].password.expose(), "from-env");
        assert_eq!(c.database_url, "sqlite://other.db");
    }

    #[test]
    fn secrets_never_show_in_debug_output() {
        let c = RawConfig::from_toml(FULL)
            .unwrap()
            .resolve(&env(&[]))
            .unwrap();
        let dump = format!("{c:?}");
        assert!(
            !dump.contains("inline-secret") && !dump.contains("\"pw\""),
            "{dump}"
        );
    }

    fn err(toml: &str) -> String {
        match RawConfig::from_toml(toml).and_then(|r| r.resolve(&env(&[]))) {
            Ok(_) => panic!("expected an error for {toml}"),
            Err(e) => format!("{e:#}"),
        }
    }

    #[test]
    fn bad_config_names_the_key_and_the_fix() {
        assert!(err("[whmcs]\nurl = \"https://x\"\nidentifier=\"a\"").contains("whmcs.secret"));
        assert!(err("[whmcs]\nurl = \"ftp://x\"\nidentifier=\"a\"\nsecret=\"s\"").contains("http"));
        assert!(err("[registrars.a]\ndialect = \"cnr\"\nlogin = \"l\"")
            .contains("registrars.a.password"));
        assert!(err("[registrars.a]\ndialect = \"foo\"").contains("dialect"));
        assert!(err("typo_key = 1").contains("typo_key"));
        assert!(err("[registrars.a]\ndialect=\"cnr\"\nlogin=\"l\"\npassword=\"p\"\n[registrars.b]\ndialect=\"cnr\"\nlogin=\"l\"\npassword=\"p\"").contains("mapped to both"));
        assert!(err("[pricing]\nrates = { \"EURUSD\" = 1.1 }").contains("EUR/USD"));
        assert!(err("[detection]\nmissing_strikes = 0").contains("at least 1"));
        assert!(err("database_url = \"mysql://x\"").contains("sqlite://"));
        assert!(err("[notices]\nchannels = [\"pager\"]").contains("todo, ticket or email"));
    }

    #[test]
    fn auto_delete_and_contacts_per_account() {
        let toml = r#"
[registrars.cnr]
dialect = "cnr"
login = "l"
password = "p"
auto_delete = "enabled"

[registrars.dbs]
dialect = "smartnic"
login = "l"
password = "p"
[registrars.dbs.auto_delete]
mode = "ticket"
de_transit = true
notice_days = 6
notice_days_per_zone = { ".AT" = 40 }
safety_margin_days = 3
[registrars.dbs.contacts]
owner = "client"
admin = "reseller"
zone = "hoster"
reseller_handle = "DBS-RSL"

[notices]
registrar_mail = "domains@reseller.example"
"#;
        let c = RawConfig::from_toml(toml)
            .unwrap()
            .resolve(&env(&[]))
            .unwrap();
        let cnr = &c.detection.accounts["cnr"];
        assert_eq!(cnr.auto_delete.mode, AutoDeleteMode::Enabled);
        assert_eq!(
            cnr.auto_delete.cancel_with,
            CancellationMethod::RenewalMode {
                mode: RenewalMode::AutoDelete
            }
        );
        assert!(!cnr.contacts.is_enforced());
        let dbs = &c.detection.accounts["dbs"];
        assert_eq!(dbs.auto_delete.mode, AutoDeleteMode::Ticket);
        assert!(dbs.auto_delete.de_transit);
        assert_eq!(dbs.auto_delete.notice.default_days, 6);
        assert_eq!(dbs.auto_delete.notice.per_zone["at"], 40);
        assert_eq!(dbs.auto_delete.notice.per_zone["de"], 35, "defaults stay");
        assert_eq!(dbs.auto_delete.notice.safety_margin_days, 3);
        assert_eq!(
            dbs.contacts.roles[&ContactRole::Billing],
            RoleSource::Reseller
        );
        assert_eq!(dbs.contacts.roles[&ContactRole::Owner], RoleSource::Client);
        assert_eq!(dbs.contacts.reseller_handle.as_deref(), Some("DBS-RSL"));
        assert_eq!(
            c.registrar_mail.as_deref(),
            Some("domains@reseller.example")
        );
    }

    #[test]
    fn smtp_settings_are_checked_and_the_password_hidden() {
        let c = RawConfig::from_toml(
            "[notices]\nsmtp_url = \"smtp://dw:s3cr3t@mail.example:587?tls=required\"\nmail_from = \"domwatch@reseller.example\"\nmail_to = [\"admin@reseller.example\"]",
        )
        .unwrap()
        .resolve(&env(&[]))
        .unwrap();
        let mail = c.mail.as_ref().unwrap();
        assert_eq!(mail.to.len(), 1);
        assert!(!format!("{c:?}").contains("s3cr3t"));
        assert!(err("[notices]\nsmtp_url = \"smtp://mail.example\"").contains("notices.mail_from"));
        assert!(
            err("[notices]\nsmtp_url = \"smtp://mail.example\"\nmail_from = \"a@b.example\"")
                .contains("notices.mail_to")
        );
        assert!(err("[notices]\nmail_to = [\"a@b.example\"]").contains("notices.smtp_url"));
        assert!(err("[notices]\nsmtp_url = \"http://mail.example\"\nmail_from = \"a@b.example\"\nmail_to = [\"c@d.example\"]")
            .contains("notices.smtp_url"));
    }

    #[test]
    fn secure_cookies_from_file_or_env() {
        let from_file = RawConfig::from_toml("[serve]\nsecure_cookies = true")
            .unwrap()
            .resolve(&env(&[]))
            .unwrap();
        assert!(from_file.secure_cookies);
        let env_wins = RawConfig::from_toml("[serve]\nsecure_cookies = true")
            .unwrap()
            .resolve(&env(&[("DOMWATCH_SECURE_COOKIES", "0")]))
            .unwrap();
        assert!(!env_wins.secure_cookies);
        assert!(
            !RawConfig::default()
                .resolve(&env(&[]))
                .unwrap()
                .secure_cookies
        );
        let bad = RawConfig::default()
            .resolve(&env(&[("DOMWATCH_SECURE_COOKIES", "maybe")]))
            .unwrap_err();
        assert!(bad.to_string().contains("true or false"), "{bad}");
    }

    #[test]
    fn dashboard_settings_have_safe_defaults_and_checked_values() {
        let d = RawConfig::default().resolve(&env(&[])).unwrap().dashboard;
        assert_eq!(
            (
                d.login_max_failures,
                d.login_window_minutes,
                d.session_idle_minutes,
                d.session_absolute_hours
            ),
            (5, 5, 30, 12)
        );
        assert!(
            d.allowed_hosts.is_empty() && d.trusted_proxies.is_empty() && d.metrics_token.is_none()
        );
        assert_eq!(
            (d.header_read_timeout_seconds, d.body_read_timeout_seconds),
            (10, 30)
        );

        let c = RawConfig::from_toml(
            "[serve]\nallowed_hosts = [\"dash.example\", \"dash.example:8443\"]\ntrusted_proxies = [\"127.0.0.1\"]\nlogin_max_failures = 3\nlogin_window_minutes = 15\nsession_idle_minutes = 10\nsession_absolute_hours = 2\nmetrics_token = \"0123456789abcdef0123\"",
        )
        .unwrap()
        .resolve(&env(&[("DOMWATCH_METRICS_TOKEN", "from-env-0123456789")]))
        .unwrap();
        let d = c.dashboard.clone();
        assert_eq!(d.allowed_hosts.len(), 2);
        assert_eq!(
            d.trusted_proxies,
            vec!["127.0.0.1".parse::<std::net::IpAddr>().unwrap()]
        );
        assert_eq!((d.login_max_failures, d.login_window_minutes), (3, 15));
        assert_eq!((d.session_idle_minutes, d.session_absolute_hours), (10, 2));
        assert_eq!(
            d.metrics_token.unwrap().expose(),
            "from-env-0123456789",
            "env wins"
        );
        assert!(!format!("{c:?}").contains("0123456789abcdef0123"));

        assert!(err("[serve]\nallowed_hosts = [\"http://dash.example\"]")
            .contains("serve.allowed_hosts"));
        assert!(err("[serve]\ntrusted_proxies = [\"proxy.local\"]").contains("not an IP address"));
        assert!(err("[serve]\nlogin_max_failures = 0").contains("serve.login_max_failures"));
        assert!(err("[serve]\nsession_idle_minutes = 0").contains("1 to"));
        assert!(
            err("[serve]\nsession_idle_minutes = 120\nsession_absolute_hours = 1")
                .contains("idle limit")
        );
        assert!(err("[serve]\nmetrics_token = \"short\"").contains("openssl rand"));
        assert!(err("[serve]\nheader_read_timeout_seconds = 0")
            .contains("serve.header_read_timeout_seconds"));
    }

    #[test]
    fn bad_lifecycle_settings_name_the_key() {
        let account = "[registrars.a]\ndialect=\"cnr\"\nlogin=\"l\"\npassword=\"p\"\n";
        assert!(err(&format!("{account}for_reseller = \"sub\"")).contains("Smart-NIC settings"));
        assert!(err("[registrars.d]\ndialect=\"smartnic\"\nlogin=\"l\"\npassword=\"p\"\nstart_date_format=\"dmy\"")
            .contains("unix_timestamp or iso_date"));
        assert!(err(&format!("{account}auto_delete = \"sometimes\""))
            .contains("registrars.a.auto_delete.mode"));
        assert!(err(&format!(
            "{account}[registrars.a.auto_delete]\ncancel_with = \"transit\""
        ))
        .contains("AUTODELETE or AUTOEXPIRE"));
        assert!(err(&format!(
            "{account}[registrars.a.auto_delete]\nde_transit = true"
        ))
        .contains("registrars.a.auto_delete.de_transit"));
        assert!(err(&format!(
            "{account}[registrars.a.auto_delete]\nrestore_mode = \"AUTODELETE\""
        ))
        .contains("keep the domain cancelled"));
        assert!(err(&format!(
            "{account}[registrars.a.auto_delete]\nnotice_days = 900"
        ))
        .contains("out of range"));
        assert!(err(&format!(
            "{account}[registrars.a.contacts]\nadmin = \"reseller\""
        ))
        .contains("registrars.a.contacts.reseller_handle"));
        assert!(err(&format!(
            "{account}[registrars.a.contacts]\nadmin = \"boss\""
        ))
        .contains("registrars.a.contacts.admin"));
        assert!(err("[notices]\nregistrar_mail = \"nobody\"").contains("notices.registrar_mail"));
    }

    #[test]
    fn missing_secret_file_is_reported_with_its_path() {
        let e = err(
            "[whmcs]\nurl=\"https://x\"\nidentifier=\"a\"\nsecret_file=\"/nonexistent/secret\"",
        );
        assert!(
            e.contains("/nonexistent/secret") && e.contains("whmcs.secret_file"),
            "{e}"
        );
    }
}
