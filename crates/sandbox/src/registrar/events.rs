//! Scripted events: things that happen at the registrar without an API call from the
//! reseller (a registry re-prices a name, a transfer fails, time passes, the endpoint
//! starts to misbehave). Sent as JSON to `POST /_sandbox/event` or applied through
//! [`super::RegistrarSandbox::apply`].

use super::faults::{Fault, FaultConfig, FaultPlan};
use super::state::{DomainKey, DomainRecord, State, TransferRecord, TransferStatus, ZonePrices};
use chrono::Duration;
use domwatch_core::model::{PremiumInfo, RenewalMode};
use domwatch_core::DomainName;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// One scripted event. JSON: `{"event": "turn_premium", "domain": "x.shop", ...}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum RegistrarEvent {
    /// The registry reclassifies a domain as premium: renewals now cost `renew_price`
    /// and need the premium fee accepted.
    TurnPremium {
        domain: String,
        #[serde(with = "rust_decimal::serde::str")]
        renew_price: Decimal,
        /// Price class; defaults to `premium` (CNR) / `PREMIUM_<ZONE>_Tier A` (ISPAPI).
        #[serde(default)]
        class: Option<String>,
    },
    /// A zone's registrar prices change (every standard domain of the zone follows).
    ZonePrice {
        zone: String,
        #[serde(with = "rust_decimal::serde::str")]
        renew: Decimal,
        #[serde(default, with = "rust_decimal::serde::str_option")]
        register: Option<Decimal>,
        #[serde(default, with = "rust_decimal::serde::str_option")]
        transfer: Option<Decimal>,
    },
    /// An incoming transfer fails (the losing registrar or registry refused it).
    FailTransfer {
        domain: String,
        #[serde(default)]
        reason: Option<String>,
    },
    /// The registrar tried to renew and failed (e.g. the domain turned premium).
    FailRenewal { domain: String, reason: String },
    /// The registrar renewed the domain (auto-renew run, or a renewal paid elsewhere).
    Renew {
        domain: String,
        #[serde(default = "one")]
        years: i32,
    },
    /// The renewal mode changed outside the API (control panel, support).
    SetRenewalMode { domain: String, mode: String },
    /// The domain left the account (transferred away, deleted).
    RemoveDomain { domain: String },
    /// Time passes: sessions expire, transfers complete, auto-renewals happen.
    AdvanceClock {
        #[serde(default)]
        days: i64,
        #[serde(default)]
        hours: i64,
    },
    /// Replaces the fault rates and latency.
    SetFaults(FaultConfig),
    /// The next `count` API requests fail with `fault`.
    InjectFault {
        fault: Fault,
        #[serde(default = "one_usize")]
        count: usize,
    },
}

fn one() -> i32 {
    1
}
fn one_usize() -> usize {
    1
}

/// What an event did, or why it could not be applied.
pub type EventResult = Result<String, String>;

fn parse_name(domain: &str) -> Result<DomainName, String> {
    DomainName::parse(domain).map_err(|e| format!("bad domain name: {e}"))
}

pub fn apply(event: RegistrarEvent, state: &mut State, faults: &mut FaultPlan) -> EventResult {
    match event {
        RegistrarEvent::TurnPremium {
            domain,
            renew_price,
            class,
        } => turn_premium(state, &domain, renew_price, class),
        RegistrarEvent::ZonePrice {
            zone,
            renew,
            register,
            transfer,
        } => zone_price(state, &zone, renew, register, transfer),
        RegistrarEvent::FailTransfer { domain, reason } => fail_transfer(state, &domain, reason),
        RegistrarEvent::FailRenewal { domain, reason } => {
            let (key, _) = find(state, &domain)?;
            state.update(&key, |r| r.failed_renewal = Some(reason.clone()));
            Ok(format!("renewal of {domain} failed: {reason}"))
        }
        RegistrarEvent::Renew { domain, years } => renew(state, &domain, years),
        RegistrarEvent::SetRenewalMode { domain, mode } => {
            let (key, _) = find(state, &domain)?;
            let mode = RenewalMode::parse(&mode);
            if let RenewalMode::Other(raw) = &mode {
                return Err(format!("unknown renewal mode {raw}; use AUTORENEW, AUTOEXPIRE, AUTODELETE, RENEWONCE or DEFAULT"));
            }
            state.update(&key, |r| r.renewal_mode = mode.clone());
            Ok(format!("{domain} renewal mode {}", mode.as_command_value()))
        }
        RegistrarEvent::RemoveDomain { domain } => {
            let (key, _) = find(state, &domain)?;
            state.update(&key, |r| r.present = false);
            Ok(format!("{domain} removed from the account"))
        }
        RegistrarEvent::AdvanceClock { days, hours } => {
            if days < 0 || hours < 0 {
                return Err("the clock only moves forward".into());
            }
            state.advance(Duration::days(days) + Duration::hours(hours));
            Ok(format!("sandbox time is now {}", state.now()))
        }
        RegistrarEvent::SetFaults(config) => {
            config.validate()?;
            faults.config = config;
            Ok("fault settings replaced".into())
        }
        RegistrarEvent::InjectFault { fault, count } => {
            faults.queue(fault, count)?;
            Ok(format!("next {count} request(s) fail with {fault:?}"))
        }
    }
}

/// The domain of this account an event names.
fn find(state: &State, domain: &str) -> Result<(DomainKey, DomainRecord), String> {
    let name = parse_name(domain)?;
    let dialect = state.dialect;
    state.find(&name).ok_or_else(|| {
        format!("{domain} is not a {dialect} domain of this sandbox account; list the account to see its domains")
    })
}

/// The registry reclassifies `domain` as premium.
fn turn_premium(
    state: &mut State,
    domain: &str,
    renew_price: Decimal,
    class: Option<String>,
) -> EventResult {
    let dialect = state.dialect;
    let (key, rec) = find(state, domain)?;
    let class = class.unwrap_or_else(|| match dialect {
        domwatch_core::model::Dialect::Ispapi => {
            format!("PREMIUM_{}_Tier A", rec.name.zone().to_uppercase())
        }
        _ => "premium".into(),
    });
    state.update(&key, |r| {
        r.premium = Some(PremiumInfo {
            class: class.as_str().into(),
        });
        r.renew_price = renew_price;
        r.transfer_price = renew_price;
    });
    Ok(format!(
        "{domain} is premium ({class}), renewal {renew_price}"
    ))
}

/// A zone's registrar prices change.
fn zone_price(
    state: &mut State,
    zone: &str,
    renew: Decimal,
    register: Option<Decimal>,
    transfer: Option<Decimal>,
) -> EventResult {
    let zone = zone.trim_start_matches('.').to_ascii_lowercase();
    let current = state
        .zone_prices(&zone)
        .ok_or_else(|| format!("zone {zone} is not offered by the sandbox"))?;
    state.set_zone_prices(
        &zone,
        ZonePrices {
            register: register.unwrap_or(current.register),
            renew,
            transfer: transfer.unwrap_or(current.transfer),
        },
    );
    Ok(format!("zone {zone} renews at {renew} now"))
}

/// An incoming transfer of `domain` fails; a domain never seen gets a record.
fn fail_transfer(state: &mut State, domain: &str, reason: Option<String>) -> EventResult {
    let name = parse_name(domain)?;
    let reason = reason.unwrap_or_else(|| "transfer rejected by the losing registrar".into());
    let today = state.today();
    let key = match state.find(&name) {
        Some((key, _)) => key,
        None => {
            let prices = state
                .zone_prices(name.zone())
                .ok_or_else(|| format!("zone of {domain} is not offered by the sandbox"))?;
            let rec = state.new_extra_record(name, prices);
            state.insert_extra(rec)
        }
    };
    let listed = state.update(&key, |r| {
        let requested = r.transfer.as_ref().map(|t| t.requested).unwrap_or(today);
        let mut log = r.transfer.take().map(|t| t.log).unwrap_or_default();
        log.push(format!("{today} 10:00:00 [FAILED] {reason}"));
        r.transfer = Some(TransferRecord {
            requested,
            status: TransferStatus::Failed(reason.clone()),
            log,
        });
        r.present
    });
    if listed {
        Ok(format!(
            "transfer of {domain} recorded as failed (the domain stays listed)"
        ))
    } else {
        Ok(format!("transfer of {domain} failed: {reason}"))
    }
}

/// The registrar renewed `domain` by `years`.
fn renew(state: &mut State, domain: &str, years: i32) -> EventResult {
    if !(1..=10).contains(&years) {
        return Err(format!("years must be 1..=10, got {years}"));
    }
    let (key, _) = find(state, domain)?;
    let paid_until = state.update(&key, |r| {
        r.paid_until = crate::portfolio::add_years(r.paid_until, years);
        r.registry_expiry = r.registry_expiry.max(r.paid_until);
        r.failed_renewal = None;
        r.paid_until
    });
    Ok(format!("{domain} renewed, paid until {paid_until}"))
}
