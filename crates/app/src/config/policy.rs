//! `[registrars.<name>.auto_delete]` and `[registrars.<name>.contacts]`: one account's
//! lifecycle settings, validated into the core [`AccountPolicy`].

use super::file::{RawAutoDelete, RawAutoDeleteTable, RawContacts};
use super::sources::registrar_key as key;
use anyhow::bail;
use domwatch_core::lifecycle::{
    AccountPolicy, AutoDeleteMode, AutoDeletePolicy, ContactPolicy, ContactRole, RoleSource,
};
use domwatch_core::model::{Dialect, RenewalMode};
use domwatch_core::ports::CancellationMethod;

/// Validates one account's auto delete and contact settings into the core policy.
pub(super) fn account_policy(
    name: &str,
    dialect: Dialect,
    auto_delete: Option<&RawAutoDelete>,
    contacts: Option<&RawContacts>,
) -> anyhow::Result<AccountPolicy> {
    let mut policy = AccountPolicy::for_dialect(dialect);
    let table = match auto_delete {
        None => RawAutoDeleteTable::default(),
        Some(RawAutoDelete::Mode(mode)) => RawAutoDeleteTable {
            mode: Some(mode.clone()),
            ..RawAutoDeleteTable::default()
        },
        Some(RawAutoDelete::Table(t)) => t.clone(),
    };
    apply_auto_delete(name, dialect, &table, &mut policy.auto_delete)?;
    if let Some(c) = contacts {
        apply_contacts(name, c, &mut policy.contacts)?;
    }
    Ok(policy)
}

fn apply_auto_delete(
    name: &str,
    dialect: Dialect,
    table: &RawAutoDeleteTable,
    ad: &mut AutoDeletePolicy,
) -> anyhow::Result<()> {
    if let Some(mode) = &table.mode {
        ad.mode = mode
            .parse::<AutoDeleteMode>()
            .map_err(|e| anyhow::anyhow!("`{}`: {e}", key(name, "auto_delete.mode")))?;
    }
    if let Some(with) = &table.cancel_with {
        ad.cancel_with = cancel_with(name, dialect, with)?;
    }
    if let Some(transit) = table.de_transit {
        if transit && dialect != Dialect::Smartnic {
            bail!(
                "`{}`: .de transit is a Smart-NIC operation; remove it for {dialect} accounts",
                key(name, "auto_delete.de_transit")
            );
        }
        ad.de_transit = transit;
    }
    if let Some(mode) = &table.restore_mode {
        ad.restore_mode = restore_mode(name, mode)?;
    }
    apply_notice_days(name, table, ad)?;
    if let Some(require) = table.require_unpaid_invoice {
        ad.require_unpaid_invoice = require;
    }
    Ok(())
}

fn cancel_with(name: &str, dialect: Dialect, with: &str) -> anyhow::Result<CancellationMethod> {
    Ok(match (dialect, with.to_ascii_lowercase().as_str()) {
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
            key(name, "auto_delete.cancel_with")
        ),
        _ => bail!(
            "`{}` = `{with}`: CNR/ISPAPI accounts cancel with AUTODELETE or AUTOEXPIRE",
            key(name, "auto_delete.cancel_with")
        ),
    })
}

/// The renewal mode set back when a cancellation is withdrawn; it must let the domain renew.
fn restore_mode(name: &str, mode: &str) -> anyhow::Result<RenewalMode> {
    Ok(match RenewalMode::parse(mode) {
        RenewalMode::Other(m) => bail!(
            "`{}` = `{m}` is not a renewal mode: use e.g. DEFAULT or AUTORENEW",
            key(name, "auto_delete.restore_mode")
        ),
        m if m.lets_expire() => bail!(
            "`{}` = `{mode}` would keep the domain cancelled: use DEFAULT or AUTORENEW",
            key(name, "auto_delete.restore_mode")
        ),
        m => m,
    })
}

fn apply_notice_days(
    name: &str,
    table: &RawAutoDeleteTable,
    ad: &mut AutoDeletePolicy,
) -> anyhow::Result<()> {
    let check_days = |k: &str, days: u32, max: u32| -> anyhow::Result<u32> {
        if days > max {
            bail!(
                "`{}` = {days} is out of range: use 0 to {max} days",
                key(name, k)
            );
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
    Ok(())
}

fn apply_contacts(name: &str, c: &RawContacts, contacts: &mut ContactPolicy) -> anyhow::Result<()> {
    if c.billing.is_some() && c.zone.is_some() {
        bail!(
            "`{}` and `{}` are the same role: set only one",
            key(name, "contacts.billing"),
            key(name, "contacts.zone")
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
            let source = v.parse::<RoleSource>().map_err(|e| {
                anyhow::anyhow!("`{}`: {e}", key(name, &format!("contacts.{field}")))
            })?;
            contacts.roles.insert(role, source);
        }
    }
    contacts.reseller_handle = c
        .reseller_handle
        .as_ref()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty());
    let needs_handle = contacts.roles.values().any(|s| *s == RoleSource::Reseller);
    if needs_handle && contacts.reseller_handle.is_none() {
        bail!(
            "`{}` is missing: reseller roles use one existing handle of yours; create it once at the registrar and put its id here",
            key(name, "contacts.reseller_handle")
        );
    }
    Ok(())
}
