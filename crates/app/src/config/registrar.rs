//! `[registrars.<name>]`: one validated [`RegistrarAccount`] and its lifecycle policy per
//! account; each WHMCS registrar module belongs to exactly one account.

use super::file::{Environment, RawRegistrar};
use super::policy::account_policy;
use super::sources::{env_key, plain, registrar_key as key, secret, Env, Secret};
use anyhow::{bail, Context};
use domwatch_core::lifecycle::AccountPolicy;
use domwatch_core::model::Dialect;
use std::collections::BTreeMap;

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
    /// The bulk list must carry contact handles, the transfer lock and WHOIS privacy (a
    /// contact policy or the lock check is configured); CNR then lists with `TYPE=ALL`.
    pub list_contacts: bool,
    /// `transfer_lock`: check that the transfer lock is on (default true).
    pub check_transfer_lock: bool,
    /// Smart-NIC only: `forReseller`.
    pub for_reseller: Option<String>,
    /// Smart-NIC only: `startDate` as an ISO date instead of a Unix timestamp.
    pub start_date_iso: bool,
}

/// The accounts in name order, and each account's policy by name.
pub(super) type Accounts = (Vec<RegistrarAccount>, BTreeMap<String, AccountPolicy>);

/// Validates every account; the first bad key stops with an error that names it.
pub(super) fn resolve_registrars(
    raw: BTreeMap<String, RawRegistrar>,
    env: &dyn Env,
) -> anyhow::Result<Accounts> {
    let mut registrars = Vec::new();
    let mut account_policies = BTreeMap::new();
    // WHMCS module -> the account that claimed it first.
    let mut module_owner: BTreeMap<String, String> = BTreeMap::new();
    for (name, r) in raw {
        let (account, policy) = resolve_registrar(name, r, env, &mut module_owner)?;
        account_policies.insert(account.name.clone(), policy);
        registrars.push(account);
    }
    Ok((registrars, account_policies))
}

fn resolve_registrar(
    name: String,
    r: RawRegistrar,
    env: &dyn Env,
    module_owner: &mut BTreeMap<String, String>,
) -> anyhow::Result<(RegistrarAccount, AccountPolicy)> {
    let (login, password) = credentials(&name, &r, env)?;
    if let Some(endpoint) = &r.endpoint {
        url::Url::parse(endpoint)
            .with_context(|| format!("`{}` = `{endpoint}` is not a URL", key(&name, "endpoint")))?;
    }
    let modules = modules(&r);
    for m in &modules {
        if let Some(other) = module_owner.insert(m.clone(), name.clone()) {
            bail!("WHMCS module `{m}` is mapped to both registrars.{other} and registrars.{name}: list it under one account's `modules` only");
        }
    }
    let page_size = r.page_size.unwrap_or(1000);
    if !(1..=10_000).contains(&page_size) {
        bail!(
            "`{}` = {page_size} is out of range: use 1 to 10000",
            key(&name, "page_size")
        );
    }
    check_smartnic_only(&name, &r)?;
    let policy = account_policy(
        &name,
        r.dialect,
        r.auto_delete.as_ref(),
        r.contacts.as_ref(),
    )?;
    let check_transfer_lock = r.transfer_lock.unwrap_or(true);
    let account = RegistrarAccount {
        start_date_iso: start_date_iso(&name, &r)?,
        list_contacts: policy.contacts.is_enforced() || check_transfer_lock,
        check_transfer_lock,
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
        for_reseller: r.for_reseller.filter(|s| !s.trim().is_empty()),
    };
    Ok((account, policy))
}

/// Login and password, each from the environment or the file.
fn credentials(name: &str, r: &RawRegistrar, env: &dyn Env) -> anyhow::Result<(String, Secret)> {
    let login = plain(env, &["REGISTRAR", name, "LOGIN"], r.login.as_ref()).with_context(|| {
        format!(
            "`{}` is missing: the account's login (user id)",
            key(name, "login")
        )
    })?;
    let password = secret(
        env,
        &["REGISTRAR", name, "PASSWORD"],
        &key(name, "password"),
        r.password.as_ref(),
        r.password_file.as_ref(),
    )?
    .with_context(|| {
        format!(
            "`{}` is missing: set {} or {}(_FILE)",
            key(name, "password"),
            key(name, "password_file"),
            env_key(&["REGISTRAR", name, "PASSWORD"])
        )
    })?;
    Ok((login, password))
}

/// The WHMCS registrar modules of the account, lower-cased; by default the dialect's own.
fn modules(r: &RawRegistrar) -> Vec<String> {
    if r.modules.is_empty() {
        match r.dialect {
            Dialect::Cnr => vec!["cnic".into(), "keysystems".into(), "rrpproxy".into()],
            Dialect::Ispapi => vec!["ispapi".into()],
            Dialect::Smartnic => vec!["smartnic".into()],
        }
    } else {
        r.modules.iter().map(|m| m.to_ascii_lowercase()).collect()
    }
}

fn check_smartnic_only(name: &str, r: &RawRegistrar) -> anyhow::Result<()> {
    if r.dialect != Dialect::Smartnic && (r.for_reseller.is_some() || r.start_date_format.is_some())
    {
        bail!(
            "`{}` / `{}` are Smart-NIC settings: remove them from this {} account",
            key(name, "for_reseller"),
            key(name, "start_date_format"),
            r.dialect
        );
    }
    Ok(())
}

fn start_date_iso(name: &str, r: &RawRegistrar) -> anyhow::Result<bool> {
    Ok(match r.start_date_format.as_deref() {
        None | Some("unix_timestamp") => false,
        Some("iso_date") => true,
        Some(other) => bail!(
            "`{}` = `{other}`: use unix_timestamp or iso_date",
            key(name, "start_date_format")
        ),
    })
}
