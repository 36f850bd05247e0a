//! SetDomainRenewalMode and RenewDomain, with the premium fee acceptance.

use super::prices::{push_fee, Fee};
use super::*;

pub(super) fn set_renewal_mode(state: &mut State, cmd: &Command) -> Outcome {
    check_attributes(state, cmd, &["DOMAIN", "RENEWALMODE", "TOKEN", "PERIOD"])?;
    let (key, _) = listed_domain(state, cmd)?;
    let raw = cmd
        .get("RENEWALMODE")
        .ok_or_else(|| missing("RENEWALMODE"))?;
    let mode = RenewalMode::parse(raw);
    let allowed = match (state.dialect, &mode) {
        (_, RenewalMode::Other(_)) => false,
        (Dialect::Cnr, _) => true,
        (
            _,
            RenewalMode::RenewOnce | RenewalMode::AutoRenewQuarterly | RenewalMode::ExpireAuction,
        ) => false,
        _ => true,
    };
    // Only the upper-case command spellings are valid input (`renew` is output-only).
    if !allowed || raw.trim().to_ascii_uppercase() != mode.as_command_value() {
        return Err(Reply::new(541, "Invalid attribute value; RENEWALMODE"));
    }
    state.update(&key, |r| r.renewal_mode = mode);
    let mut r = Reply::ok();
    if state.dialect != Dialect::Cnr {
        r.push("unrenew", 0);
    }
    Ok(r)
}

pub(super) fn renew_domain(state: &mut State, cmd: &Command) -> Outcome {
    check_attributes(
        state,
        cmd,
        &[
            "DOMAIN",
            "PERIOD",
            "EXPIRATION",
            "X-FEE-*",
            "X-ACCEPT-PREMIUMPRICE",
        ],
    )?;
    let (key, rec) = listed_domain(state, cmd)?;
    let period = usize_param(cmd, "PERIOD", 1)?;
    if !(1..=10).contains(&period) {
        return Err(Reply::new(541, "Invalid attribute value; PERIOD"));
    }
    check_expiration(cmd, &rec)?;
    let cost = state.renew_price(&rec) * Decimal::from(period);
    if let Some(premium) = &rec.premium {
        premium_accepted(state, cmd, &premium.class, cost)?;
    }
    if !state.charge(cost) {
        return Err(Reply::new(546, "Credit limit exceeded"));
    }
    let renewed = state.update(&key, |r| {
        r.paid_until = add_years(r.paid_until, period as i32);
        r.registry_expiry = add_years(r.registry_expiry, period as i32).max(r.paid_until);
        r.failed_renewal = None;
        if r.renewal_mode == RenewalMode::RenewOnce {
            r.renewal_mode = RenewalMode::Default;
        }
        r.clone()
    });
    Ok(renewal_reply(state, &renewed, cost, period))
}

/// The new dates in the dialect's words, with the premium fee on CNR.
fn renewal_reply(state: &State, renewed: &DomainRecord, cost: Decimal, period: usize) -> Reply {
    let mut r = Reply::ok();
    let t = renewed.time;
    match state.dialect {
        Dialect::Cnr => {
            r.push(
                "registration expiration date",
                stamp(state, renewed.registry_expiry, t),
            );
            r.push("paiduntil date", stamp(state, renewed.paid_until, t));
            if renewed.premium.is_some() {
                let fee = Fee {
                    command: "renew".into(),
                    amount: cost,
                    class: "premium",
                    period: period as u32,
                };
                push_fee(&mut r, &fee, &renewed.name);
            }
        }
        _ => {
            r.push("domain", renewed.name.ascii());
            r.push("expirationdate", stamp(state, renewed.paid_until, t));
            r.push(
                "registrationexpirationdate",
                stamp(state, renewed.registry_expiry, t),
            );
        }
    }
    r
}

/// `EXPIRATION`, when given, must name the current expiration year (a guard against
/// renewing twice).
fn check_expiration(cmd: &Command, rec: &DomainRecord) -> Result<(), Reply> {
    let Some(expiration) = cmd.get("EXPIRATION") else {
        return Ok(());
    };
    let year: i32 = expiration
        .trim()
        .parse()
        .map_err(|_| bad_syntax("EXPIRATION"))?;
    if year != rec.registry_expiry.year() {
        return Err(Reply::new(
            541,
            format!(
                "Invalid attribute value; EXPIRATION (current expiration year is {})",
                rec.registry_expiry.year()
            ),
        ));
    }
    Ok(())
}

/// Checks that the command accepts the premium price, with the real systems' errors:
/// CNR wants `X-FEE-AMOUNT` (at least the price) and `X-ACCEPT-PREMIUMPRICE=1`; ISPAPI
/// wants `CLASS=<premium class>`.
pub(super) fn premium_accepted(
    state: &State,
    cmd: &Command,
    class: &str,
    cost: Decimal,
) -> Result<(), Reply> {
    match state.dialect {
        Dialect::Cnr => {
            let amount = cmd.get("X-FEE-AMOUNT").or_else(|| cmd.get("X-FEE-AMOUNT0"));
            let Some(amount) = amount else {
                return Err(Reply::new(504, CNR_PREMIUM_ERROR));
            };
            if !flag(cmd, "X-ACCEPT-PREMIUMPRICE") {
                return Err(Reply::new(504, CNR_PREMIUM_ERROR));
            }
            let amount: Decimal = amount
                .trim()
                .parse()
                .map_err(|_| bad_syntax("X-FEE-AMOUNT"))?;
            if amount < cost {
                return Err(Reply::new(
                    541,
                    format!(
                        "Invalid attribute value; X-FEE-AMOUNT (premium price is {})",
                        format_price(cost)
                    ),
                ));
            }
            Ok(())
        }
        _ => match cmd.get("CLASS") {
            Some(given) if given.trim() == class => Ok(()),
            _ => Err(Reply::new(
                504,
                format!("Missing required attribute; CLASS={class}"),
            )),
        },
    }
}
