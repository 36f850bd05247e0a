//! The API commands. Each handler reads a decoded [`Command`], changes the [`State`] and
//! returns a [`Reply`] with the property names the real server uses (CNR spelling; the
//! renderer derives the ISPAPI spelling). One file per concern; the helpers every
//! command uses are here.

mod account;
mod check;
mod contacts;
mod lists;
mod prices;
mod renewals;
mod status;
mod transfers;

use super::state::{
    account_currency, Contact, DomainKey, DomainRecord, State, TransferRecord, TransferStatus,
};
use super::wire::{format_price, format_timestamp, Reply};
use crate::portfolio::add_years;
use chrono::{Datelike, Duration, NaiveDate, NaiveTime};
use domwatch_core::model::{Dialect, RenewalMode};
use domwatch_core::DomainName;
use domwatch_rrp::codec::Command;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

/// CNR accepts at most 32 domains per `CheckDomains`.
pub const CNR_CHECK_LIMIT: usize = 32;
/// CNR accepts at most 30 `X-FEE-*` extensions (indices 0..=29) per call.
pub const CNR_FEE_LIMIT: usize = 30;
/// The largest page a list command returns.
pub const MAX_LIMIT: usize = 10_000;
/// Page size when the command gives no `LIMIT` (CNR sends `property[limit][0] = 1000`).
pub const DEFAULT_LIMIT: usize = 1000;

/// The premium error texts of the real systems (protocol notes, section 2.5).
pub const CNR_PREMIUM_ERROR: &str =
    "Missing required attribute; premium domain name. please provide required parameters";

type Outcome = Result<Reply, Reply>;

/// Runs one authenticated command.
pub fn dispatch(state: &mut State, cmd: &Command) -> Reply {
    let name = cmd.name().to_ascii_lowercase();
    let result = match name.as_str() {
        "statusaccount" => account::status_account(state, cmd),
        "querydomainlist" => lists::query_domain_list(state, cmd),
        "queryregisteredpremiumdomainlist" if state.dialect == Dialect::Cnr => {
            prices::query_premium_list(state, cmd)
        }
        "queryzonelist" => prices::query_zone_list(state, cmd),
        "statususer" if state.dialect == Dialect::Ispapi => account::status_user(state, cmd),
        "statusdomain" => status::status_domain(state, cmd),
        "checkdomains" => check::check_domains(state, cmd),
        "setdomainrenewalmode" => renewals::set_renewal_mode(state, cmd),
        "renewdomain" => renewals::renew_domain(state, cmd),
        "transferdomain" => transfers::transfer_domain(state, cmd),
        "statusdomaintransfer" => transfers::status_domain_transfer(state, cmd),
        "querytransferlist" => transfers::query_transfer_list(state, cmd),
        "queryexchangerates" => account::query_exchange_rates(state, cmd),
        "addcontact" => contacts::add_contact(state, cmd),
        "statuscontact" => contacts::status_contact(state, cmd),
        "querycontactlist" => contacts::query_contact_list(state, cmd),
        "modifydomain" => status::modify_domain(state, cmd),
        _ => Err(Reply::new(500, "Invalid command name")),
    };
    result.unwrap_or_else(|e| e)
}

// ----- shared helpers -------------------------------------------------------------------

/// CNR rejects attributes a command does not know (`503 Invalid attribute name; LAST`).
/// Patterns: `NAME`, `NAME#` (NAME followed by digits), `PREFIX*`.
fn check_attributes(state: &State, cmd: &Command, allowed: &[&str]) -> Result<(), Reply> {
    if state.dialect != Dialect::Cnr {
        return Ok(());
    }
    for (key, _) in cmd.params() {
        if key == "COMMAND" || key == "SUBUSER" {
            continue;
        }
        let known = allowed.iter().any(|pattern| {
            if let Some(base) = pattern.strip_suffix('#') {
                key.strip_prefix(base)
                    .is_some_and(|rest| rest.chars().all(|c| c.is_ascii_digit()))
            } else if let Some(prefix) = pattern.strip_suffix('*') {
                key.starts_with(prefix)
            } else {
                key == *pattern
            }
        });
        if !known {
            return Err(Reply::syntax_error(
                503,
                format!("Invalid attribute name; {key}"),
            ));
        }
    }
    Ok(())
}

fn not_found(state: &State) -> Reply {
    match state.dialect {
        Dialect::Cnr => Reply::new(545, "Entity reference not found"),
        _ => Reply::new(545, "Object not found"),
    }
}

fn missing(attribute: &str) -> Reply {
    Reply::new(504, format!("Missing required attribute; {attribute}"))
}

fn bad_syntax(attribute: &str) -> Reply {
    Reply::syntax_error(505, format!("Invalid attribute value syntax; {attribute}"))
}

fn domain_param(cmd: &Command) -> Result<DomainName, Reply> {
    let raw = cmd.get("DOMAIN").ok_or_else(|| missing("DOMAIN"))?;
    DomainName::parse(raw).map_err(|_| bad_syntax("DOMAIN"))
}

/// The domain named by `DOMAIN` if this account holds it (listed).
fn listed_domain(state: &State, cmd: &Command) -> Result<(DomainKey, DomainRecord), Reply> {
    let name = domain_param(cmd)?;
    match state.find(&name) {
        Some((key, rec)) if rec.present => Ok((key, rec)),
        _ => Err(not_found(state)),
    }
}

fn usize_param(cmd: &Command, key: &str, default: usize) -> Result<usize, Reply> {
    match cmd.get(key) {
        None => Ok(default),
        Some(v) if v.trim().is_empty() => Ok(default),
        Some(v) => v.trim().parse().map_err(|_| bad_syntax(key)),
    }
}

fn flag(cmd: &Command, key: &str) -> bool {
    matches!(cmd.get(key).map(str::trim), Some("1") | Some("true"))
}

/// `FIRST`/`LIMIT` of a list command; ISPAPI also honours `LAST` (CNR rejects it earlier).
fn paging(cmd: &Command) -> Result<(usize, usize), Reply> {
    let first = usize_param(cmd, "FIRST", 0)?;
    let mut limit = usize_param(cmd, "LIMIT", DEFAULT_LIMIT)?.min(MAX_LIMIT);
    if let Some(last) = cmd.get("LAST") {
        let last: usize = last.trim().parse().map_err(|_| bad_syntax("LAST"))?;
        limit = limit.min((last + 1).saturating_sub(first));
    }
    Ok((first, limit))
}

fn push_paging(reply: &mut Reply, first: usize, count: usize, limit: usize, total: usize) {
    reply.push("count", count);
    reply.push("first", first);
    reply.push("last", (first + count).saturating_sub(1).max(first));
    reply.push("limit", limit);
    reply.push("total", total);
}

/// CNR names the data columns of a list in `property[column][n]`.
fn push_columns(state: &State, reply: &mut Reply, columns: &[&str]) {
    if state.dialect == Dialect::Cnr {
        for column in columns {
            reply.push("column", column);
        }
    }
}

fn stamp(state: &State, date: NaiveDate, time: NaiveTime) -> String {
    format_timestamp(date.and_time(time), state.dialect)
}

/// HEXONET's wide domain list reports the renewal mode in its internal lower-case form.
fn ispapi_internal_mode(mode: &RenewalMode) -> String {
    match mode {
        RenewalMode::Default | RenewalMode::AutoRenew => "renew".into(),
        RenewalMode::AutoExpire => "expire".into(),
        RenewalMode::AutoDelete => "delete".into(),
        other => other.as_command_value().to_ascii_lowercase(),
    }
}

/// ISPAPI `SUBCLASS`: the premium class, else the zone in upper case.
fn ispapi_subclass(rec: &DomainRecord) -> String {
    match &rec.premium {
        Some(p) => p.class.to_string(),
        None => rec.name.zone().to_uppercase(),
    }
}

fn gross(state: &State, net: Decimal) -> Decimal {
    (net * (Decimal::ONE + state.account.vat_percent / dec!(100))).round_dp(2)
}

/// Premium price of a name nobody holds: the sandbox registries price every label of at
/// most four characters in the premium zones (short names are the classic premium tier).
pub fn registry_premium_price(name: &DomainName) -> Option<Decimal> {
    let premium_zone = matches!(name.zone(), "shop" | "online" | "app" | "io");
    let label = name.ascii().split('.').next().unwrap_or_default();
    (premium_zone && label.len() <= 4).then(|| Decimal::from(500 * (5 - label.len() as i64)))
}

fn premium_class_for(state: &State, name: &DomainName) -> String {
    match state.dialect {
        Dialect::Ispapi => format!("PREMIUM_{}_Tier A", name.zone().to_uppercase()),
        _ => "premium".into(),
    }
}
