//! `[whmcs]`: the billing system's API endpoint and credentials.

use super::file::RawWhmcs;
use super::sources::{plain, secret, Env, Secret};
use anyhow::{bail, Context};

#[derive(Debug, Clone, PartialEq)]
pub struct WhmcsConfig {
    pub url: String,
    pub identifier: String,
    pub secret: Secret,
    pub access_key: Option<Secret>,
    pub database_url: Option<Secret>,
    pub read_from: ReadFrom,
    pub bot_client_id: Option<u64>,
    pub ticket_department_id: Option<u64>,
    pub timeout_seconds: u64,
}

/// Where the engine reads the billing snapshot and the domain invoices from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadFrom {
    /// Straight from the WHMCS tables (needs `database_url`): a few streamed queries.
    Database,
    /// Through the External API: pages, client look-ups, invoice walks.
    Api,
}

/// `whmcs.read_from`: "database" by default when a database URL is set, else "api".
fn read_from(value: Option<String>, has_database: bool) -> anyhow::Result<ReadFrom> {
    match value.as_deref().map(str::trim) {
        None | Some("") if has_database => Ok(ReadFrom::Database),
        None | Some("") | Some("api") => Ok(ReadFrom::Api),
        Some("database") if has_database => Ok(ReadFrom::Database),
        Some("database") => bail!(
            "`whmcs.read_from = \"database\"` needs the WHMCS database: set whmcs.database_url \
             (or whmcs.database_url_file, DOMWATCH_WHMCS_DATABASE_URL) to \
             mysql://user:pass@host/whmcs, or set read_from = \"api\""
        ),
        Some(other) => {
            bail!("`whmcs.read_from` = `{other}` is not known: use \"database\" or \"api\"")
        }
    }
}

/// Validates `[whmcs]`; URL, identifier and secret are required once the table is there.
pub(super) fn resolve_whmcs(w: RawWhmcs, env: &dyn Env) -> anyhow::Result<WhmcsConfig> {
    let url = plain(env, &["WHMCS", "URL"], w.url.as_ref()).context(
        "`whmcs.url` is missing: set it to your WHMCS base URL, e.g. https://billing.example.com",
    )?;
    let parsed = url::Url::parse(&url).with_context(|| {
        format!("`whmcs.url` = `{url}` is not a URL: use e.g. https://billing.example.com")
    })?;
    if !matches!(parsed.scheme(), "http" | "https") {
        bail!("`whmcs.url` must be http:// or https:// (got `{url}`)");
    }
    let identifier = plain(env, &["WHMCS", "IDENTIFIER"], w.identifier.as_ref())
        .context("`whmcs.identifier` is missing: create API credentials in WHMCS (System Settings > API Credentials)")?;
    let secret_value = secret(
        env,
        &["WHMCS", "SECRET"],
        "whmcs.secret",
        w.secret.as_ref(),
        w.secret_file.as_ref(),
    )?
    .context("`whmcs.secret` is missing: set whmcs.secret_file or DOMWATCH_WHMCS_SECRET(_FILE), or (systemd service) put it in /etc/domwatch/credentials/whmcs_secret")?;
    let database_url = secret(
        env,
        &["WHMCS", "DATABASE_URL"],
        "whmcs.database_url",
        w.database_url.as_ref(),
        w.database_url_file.as_ref(),
    )?;
    Ok(WhmcsConfig {
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
        read_from: read_from(
            plain(env, &["WHMCS", "READ_FROM"], w.read_from.as_ref()),
            database_url.is_some(),
        )?,
        database_url,
        bot_client_id: w.bot_client_id,
        ticket_department_id: w.ticket_department_id,
        timeout_seconds: w.timeout_seconds.unwrap_or(30),
    })
}
