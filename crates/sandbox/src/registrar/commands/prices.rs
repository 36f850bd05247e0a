//! QueryPremiumList, QueryZoneList and the fee extensions (`X-FEE-*`).

use super::lists::{refuse_filters, renewal_date};
use super::*;

pub(super) fn query_premium_list(state: &mut State, cmd: &Command) -> Outcome {
    check_attributes(
        state,
        cmd,
        &[
            "DOMAIN",
            "DOMAINIDN",
            "RENEWALMODE",
            "ZONE",
            "REGISTRAR",
            "INCLUDESUB",
            "ONLYSUB",
            "ORDER",
            "ORDERBY",
            "WIDE",
            "FIRST",
            "LIMIT",
        ],
    )?;
    refuse_filters(
        cmd,
        &["DOMAIN", "DOMAINIDN", "ZONE", "RENEWALMODE", "REGISTRAR"],
    )?;
    let (first, limit) = paging(cmd)?;
    let wide = flag(cmd, "WIDE");
    let all = state.listed_premium();
    let page: Vec<&DomainRecord> = all.iter().skip(first).take(limit).collect();
    let mut r = Reply::ok();
    let mut columns = vec!["domain", "registrar"];
    if wide {
        columns.extend([
            "domain idn",
            "domain registration expiration date",
            "domain renewal date",
            "domain zone",
            "renewalmode",
        ]);
    }
    push_columns(state, &mut r, &columns);
    for column in &columns {
        r.declare(column);
    }
    for rec in &page {
        r.push("domain", rec.name.ascii());
        r.push("registrar", &state.account.login);
        if wide {
            r.push("domain idn", rec.name.unicode());
            r.push(
                "domain registration expiration date",
                stamp(state, rec.registry_expiry, rec.time),
            );
            r.push(
                "domain renewal date",
                stamp(state, renewal_date(rec), rec.time),
            );
            r.push("domain zone", rec.name.zone());
            r.push("renewalmode", rec.renewal_mode.as_command_value());
        }
    }
    push_paging(&mut r, first, page.len(), limit, all.len());
    Ok(r)
}

pub(super) fn query_zone_list(state: &mut State, cmd: &Command) -> Outcome {
    check_attributes(
        state,
        cmd,
        &[
            "ZONE",
            "INACTIVE",
            "INDIVIDUAL",
            "REGISTRAR",
            "GENERATELIST",
            "SENDLISTEMAIL",
        ],
    )?;
    let wanted = cmd
        .get("ZONE")
        .map(|z| z.trim().trim_start_matches('.').to_ascii_lowercase());
    let counts = state.zone_counts();
    let mut r = Reply::ok();
    let columns = [
        "zone",
        "periodtype",
        "setup",
        "annual",
        "transfer",
        "restore",
        "trade",
        "application",
        "currency",
        "domain count",
        "active",
    ];
    push_columns(state, &mut r, &columns);
    for column in columns {
        r.declare(column);
    }
    for listed in crate::price_list::price_list() {
        let zone = listed.zone.as_str();
        if wanted.as_deref().is_some_and(|w| w != zone && w != "*") {
            continue;
        }
        let prices = state
            .zone_prices(zone)
            .expect("every listed zone is priced");
        // Registration costs SETUP + ANNUAL; a promotion below the renewal is not listed.
        let setup = (prices.register - prices.renew).max(Decimal::ZERO);
        r.push("zone", zone);
        r.push("periodtype", "YEAR");
        r.push("setup", format_price(setup));
        r.push("annual", format_price(prices.renew));
        r.push("transfer", format_price(prices.transfer));
        r.push("restore", format_price(listed.restore));
        r.push("trade", "0.00");
        r.push("application", "0.00");
        r.push("currency", account_currency());
        r.push("domain count", counts.get(zone).copied().unwrap_or(0));
        r.push("active", 1);
    }
    Ok(r)
}

/// The `X-FEE-*` answer for one domain and fee command, or `None` for unknown commands.
pub(super) struct Fee {
    pub(super) command: String,
    pub(super) amount: Decimal,
    pub(super) class: &'static str,
    pub(super) period: u32,
}

pub(super) fn fee_for(
    state: &State,
    rec: Option<&DomainRecord>,
    name: &DomainName,
    command: &str,
    period: u32,
) -> Option<Fee> {
    let command = command.trim().to_ascii_lowercase();
    let zone = state.zone_prices(name.zone())?;
    let (amount, premium) = match (command.as_str(), rec) {
        ("renew" | "renewdomain", Some(rec)) => (state.renew_price(rec), rec.premium.is_some()),
        ("transfer" | "transferdomain", Some(rec)) => {
            (state.transfer_price(rec), rec.premium.is_some())
        }
        (
            "create" | "add" | "adddomain" | "renew" | "renewdomain" | "transfer"
            | "transferdomain",
            None,
        ) => match registry_premium_price(name) {
            Some(price) => (price, true),
            None if command.starts_with("renew") => (zone.renew, false),
            None if command.starts_with("transfer") => (zone.transfer, false),
            None => (zone.register, false),
        },
        ("create" | "add" | "adddomain", Some(rec)) => {
            (state.renew_price(rec), rec.premium.is_some())
        }
        _ => return None,
    };
    Some(Fee {
        command,
        amount: amount * Decimal::from(period),
        class: if premium { "premium" } else { "standard" },
        period,
    })
}

pub(super) fn push_fee(r: &mut Reply, fee: &Fee, name: &DomainName) {
    r.push("x-fee-amount", format_price(fee.amount));
    r.push("x-fee-application", "0.00");
    r.push("x-fee-class", fee.class);
    r.push("x-fee-command", &fee.command);
    r.push("x-fee-currency", account_currency());
    r.push("x-fee-domain", name.ascii());
    r.push("x-fee-period", fee.period);
    r.push("x-fee-periodtype", "YEAR");
}
