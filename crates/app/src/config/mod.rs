//! Configuration: one TOML file, environment overrides, and `*_FILE` secrets.
//!
//! Every secret can be given inline (discouraged), as `<key>_file = "/run/secrets/x"` in
//! the file, or through the environment (`DOMWATCH_WHMCS_SECRET`,
//! `DOMWATCH_WHMCS_SECRET_FILE`, `DOMWATCH_REGISTRAR_<NAME>_PASSWORD[_FILE]`, …).
//! Errors name the key and say how to fix it. With no file at all, domwatch runs on the
//! embedded default: SQLite and in-process sandboxes.
//!
//! [`file`] is the file as written, [`sources`] the environment and secret files, and
//! [`resolve`] turns both into the validated [`Config`] with the help of one module per
//! section ([`whmcs`], [`registrar`] and [`policy`], [`notices`], [`dashboard`]).

mod dashboard;
mod events;
mod file;
mod notices;
mod policy;
mod registrar;
mod resolve;
mod sources;
#[cfg(test)]
mod tests;
mod tld_prices;
mod webhooks;
mod whmcs;

pub use dashboard::DashboardSettings;
pub use file::{Environment, RawConfig};
pub use registrar::RegistrarAccount;
pub use sources::{Env, ProcessEnv, Secret};
pub use whmcs::{ReadFrom, WhmcsConfig};

use domwatch_core::detect::DetectionPolicy;
use domwatch_core::Currency;
use rust_decimal::Decimal;
use std::path::{Path, PathBuf};

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
    /// Between two scheduled monitoring cycles.
    pub interval: std::time::Duration,
    /// `serve.lease_seconds`: how long the leader lease of `domwatch serve` lasts unrenewed.
    pub lease: std::time::Duration,
    pub admin_user: String,
    pub admin_password_hash: Option<Secret>,
    /// Registrar notification address (Smart-NIC `notify`).
    pub registrar_mail: Option<String>,
    pub secure_cookies: bool,
    /// Host allow-list, proxies, login throttling, session lifetimes, metrics token, timeouts.
    pub dashboard: DashboardSettings,
    /// domwatch's own e-mail (digest, lifecycle actions), when `notices.smtp_url` is set.
    pub mail: Option<domwatch_mail::MailConfig>,
    /// `[events] secret`: signs `POST /api/events`; `None` refuses events.
    pub events_secret: Option<Secret>,
    /// `[[webhooks]]`: where case changes are posted.
    pub webhooks: Vec<domwatch_webhooks::Endpoint>,
}

impl Config {
    /// True when nothing external is configured: use the in-process sandboxes.
    pub fn is_embedded_default(&self) -> bool {
        self.whmcs.is_none() && self.registrars.is_empty()
    }
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
