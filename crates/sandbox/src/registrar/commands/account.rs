//! StatusAccount and QueryExchangeRates: the account itself.

use super::*;

pub(super) fn status_account(state: &mut State, cmd: &Command) -> Outcome {
    check_attributes(state, cmd, &[])?;
    let a = &state.account;
    let mut r = Reply::ok();
    match state.dialect {
        Dialect::Cnr => {
            r.push("amount", format_price(a.balance));
            r.push("credit", "0.00");
            r.push("credit threshold", format_price(a.credit_limit));
            r.push("currency", account_currency());
            r.push("registrar", &a.login);
            r.push("vat", format_price(a.vat_percent));
        }
        _ => {
            r.push("amount", format_price(a.balance));
            r.push("credit", format_price(a.credit_limit));
            r.push("currency", account_currency());
            r.push("deposit", "0.00");
            r.push("vat", format_price(a.vat_percent));
        }
    }
    Ok(r)
}

pub(super) fn query_exchange_rates(state: &mut State, cmd: &Command) -> Outcome {
    check_attributes(
        state,
        cmd,
        &[
            "CURRENCYFROM",
            "CURRENCYTO",
            "LIMIT",
            "FIRST",
            "MINDATE",
            "MAXDATE",
        ],
    )?;
    let from = cmd
        .get("CURRENCYFROM")
        .map(|c| c.trim().to_ascii_uppercase());
    let to = cmd.get("CURRENCYTO").map(|c| c.trim().to_ascii_uppercase());
    let rows: Vec<_> = state
        .exchange_rates()
        .into_iter()
        .filter(|(f, t, _)| {
            from.as_ref().is_none_or(|x| x == f) && to.as_ref().is_none_or(|x| x == t)
        })
        .collect();
    let (first, limit) = paging(cmd)?;
    let page: Vec<_> = rows.iter().skip(first).take(limit).collect();
    let mut r = Reply::ok();
    push_columns(
        state,
        &mut r,
        &["currency from", "currency to", "date", "rate"],
    );
    for column in ["currency from", "currency to", "date", "rate"] {
        r.declare(column);
    }
    let today = state.today().format("%Y-%m-%d").to_string();
    for (f, t, rate) in &page {
        r.push("currency from", f);
        r.push("currency to", t);
        r.push("date", &today);
        r.push("rate", rate.normalize());
    }
    push_paging(&mut r, first, page.len(), limit, rows.len());
    Ok(r)
}

/// ISPAPI `StatusUser`: the account currency and, with `RELATIONS` (default on), the
/// price-class relations `PRICE_CLASS_DOMAIN_<ZONE>_{SETUP,ANNUAL,TRANSFER,RESTORE,CURRENCY}`
/// of every zone of the price list (zone upper case, as in the class names).
pub(super) fn status_user(state: &mut State, cmd: &Command) -> Outcome {
    let relations = cmd.get("RELATIONS").is_none_or(|v| v.trim() != "0");
    let mut r = Reply::ok();
    r.push("accountcurrency", account_currency());
    r.push("accountcredit", format_price(state.account.credit_limit));
    r.push("userclass", "DEFAULT_CLASS");
    r.push("active", 1);
    if !relations {
        return Ok(r);
    }
    for listed in crate::price_list::price_list() {
        let prices = state
            .zone_prices(&listed.zone)
            .expect("every listed zone is priced");
        let class = format!("PRICE_CLASS_DOMAIN_{}", listed.zone.to_ascii_uppercase());
        let setup = (prices.register - prices.renew).max(Decimal::ZERO);
        for (suffix, value) in [
            ("SETUP", format_price(setup)),
            ("ANNUAL", format_price(prices.renew)),
            ("TRANSFER", format_price(prices.transfer)),
            ("RESTORE", format_price(listed.restore)),
            ("CURRENCY", account_currency().to_string()),
        ] {
            r.push("relationtype", format!("{class}_{suffix}"));
            r.push("relationvalue", value);
        }
    }
    Ok(r)
}
