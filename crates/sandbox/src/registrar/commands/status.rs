//! StatusDomain and ModifyDomain: reading and changing one domain.

use super::lists::renewal_date;
use super::prices::{fee_for, push_fee};
use super::*;

pub(super) fn status_domain(state: &mut State, cmd: &Command) -> Outcome {
    check_attributes(
        state,
        cmd,
        &[
            "DOMAIN",
            "X-FEE-COMMAND",
            "X-FEE-PERIOD",
            "X-FEE-PERIODTYPE",
            "X-FEE-LAUNCHPHASE",
            "X-FEE-CURRENCY",
        ],
    )?;
    let (_, rec) = listed_domain(state, cmd)?;
    let mut r = Reply::ok();
    match state.dialect {
        Dialect::Cnr => push_cnr_status(state, cmd, &mut r, &rec)?,
        _ => push_ispapi_status(state, cmd, &mut r, &rec),
    }
    Ok(r)
}

fn contact(handle: &Option<String>) -> String {
    handle.clone().unwrap_or_default()
}

/// CNR's `StatusDomain` properties, with the fee when `X-FEE-COMMAND` asks for it.
fn push_cnr_status(
    state: &State,
    cmd: &Command,
    r: &mut Reply,
    rec: &DomainRecord,
) -> Result<(), Reply> {
    let t = rec.time;
    r.push("created by", &state.account.login);
    r.push("created date", stamp(state, rec.created, t));
    r.push("updated by", &state.account.login);
    r.push("updated date", stamp(state, rec.updated, t));
    r.push("registrar", &state.account.login);
    r.push(
        "registration expiration date",
        stamp(state, rec.registry_expiry, t),
    );
    r.push("paiduntil date", stamp(state, rec.paid_until, t));
    r.push("renewal date", stamp(state, renewal_date(rec), t));
    r.push("auth", &rec.auth);
    r.push("renewalmode", rec.renewal_mode.as_command_value());
    r.push("transfermode", "DEFAULT");
    r.push("roid", &rec.roid);
    r.push("domain", rec.name.ascii());
    r.push("domain idn", rec.name.unicode());
    r.push("zone", rec.name.zone());
    r.push("status", &rec.status);
    r.push("transfer lock", rec.transfer_lock as u8);
    r.push("x-whois-privacy", rec.whois_privacy as u8);
    r.push("nameserver", "NS1.SANDBOX-DNS.NET");
    r.push("nameserver", "NS2.SANDBOX-DNS.NET");
    r.push("owner contact", contact(&rec.contacts.owner));
    r.push("admin contact", contact(&rec.contacts.admin));
    r.push("tech contact", contact(&rec.contacts.tech));
    r.push("billing contact", contact(&rec.contacts.billing));
    if let Some(command) = cmd.get("X-FEE-COMMAND") {
        let period = usize_param(cmd, "X-FEE-PERIOD", 1)?.clamp(1, 10) as u32;
        let fee = fee_for(state, Some(rec), &rec.name, command, period)
            .ok_or_else(|| Reply::new(541, "Invalid attribute value; X-FEE-COMMAND"))?;
        push_fee(r, &fee, &rec.name);
    }
    Ok(())
}

/// ISPAPI's `StatusDomain` properties, with the prices when `PROPERTIES=PRICE`.
fn push_ispapi_status(state: &State, cmd: &Command, r: &mut Reply, rec: &DomainRecord) {
    let t = rec.time;
    r.push("id", rec.name.ascii());
    r.push("domainumlaut", rec.name.unicode());
    r.push("class", "DOMAIN");
    r.push("subclass", ispapi_subclass(rec));
    r.push("status", &rec.status);
    r.push("renewalmode", rec.renewal_mode.as_command_value());
    r.push("renewalperiod", "1Y");
    r.push("transferlock", rec.transfer_lock as u8);
    r.push("auth", &rec.auth);
    r.push("ownercontact", contact(&rec.contacts.owner));
    r.push("admincontact", contact(&rec.contacts.admin));
    r.push("techcontact", contact(&rec.contacts.tech));
    r.push("billingcontact", contact(&rec.contacts.billing));
    r.push("nameserver", "ns1.sandbox-dns.net");
    r.push("nameserver", "ns2.sandbox-dns.net");
    r.push("createddate", stamp(state, rec.created, t));
    r.push("updateddate", stamp(state, rec.updated, t));
    r.push(
        "registrationexpirationdate",
        stamp(state, rec.registry_expiry, t),
    );
    r.push("paiduntildate", stamp(state, rec.paid_until, t));
    r.push("expirationdate", stamp(state, rec.paid_until, t));
    r.push(
        "accountingdate",
        stamp(state, rec.paid_until - Duration::days(5), t),
    );
    r.push(
        "nextaction",
        if rec.auto_renews() { "pay" } else { "expire" },
    );
    r.push(
        "nextactiondate",
        stamp(state, rec.paid_until - Duration::days(5), t),
    );
    r.push("roid", &rec.roid);
    r.push(
        "repository",
        format!("{}-1API", rec.name.tld().to_uppercase()),
    );
    let properties = cmd
        .get("PROPERTIES")
        .unwrap_or_default()
        .to_ascii_uppercase();
    if properties.split(',').any(|p| p.trim() == "PRICE") {
        let net = state.renew_price(rec);
        r.push("currency", account_currency());
        r.push("renewalprice", format_price(net));
        r.push("renewalgrossprice", format_price(gross(state, net)));
        r.push("vat", format_price(state.account.vat_percent));
    }
}

pub(super) fn modify_domain(state: &mut State, cmd: &Command) -> Outcome {
    check_attributes(
        state,
        cmd,
        &[
            "DOMAIN",
            "OWNERCONTACT#",
            "ADMINCONTACT#",
            "TECHCONTACT#",
            "BILLINGCONTACT#",
            "NAMESERVER#",
            "ADD*",
            "DEL*",
            "AUTH",
            "TRANSFERLOCK",
            "STATUS#",
            "X-*",
        ],
    )?;
    let (key, _) = listed_domain(state, cmd)?;
    let role = |base: &str| {
        cmd.get(&format!("{base}0"))
            .or_else(|| cmd.get(base))
            .map(|h| h.trim().to_string())
    };
    let owner = role("OWNERCONTACT");
    let admin = role("ADMINCONTACT");
    let tech = role("TECHCONTACT");
    let billing = role("BILLINGCONTACT");
    for handle in [&owner, &admin, &tech, &billing].into_iter().flatten() {
        if state.contact(handle).is_none() {
            return Err(not_found(state));
        }
    }
    let lock = flag_param(cmd, "TRANSFERLOCK")?;
    let privacy = flag_param(cmd, "X-WHOIS-PRIVACY")?;
    state.update(&key, |r| {
        let canonical = |h: String| h.to_ascii_uppercase();
        if let Some(h) = owner {
            r.contacts.owner = Some(canonical(h));
        }
        if let Some(h) = admin {
            r.contacts.admin = Some(canonical(h));
        }
        if let Some(h) = tech {
            r.contacts.tech = Some(canonical(h));
        }
        if let Some(h) = billing {
            r.contacts.billing = Some(canonical(h));
        }
        if let Some(lock) = lock {
            r.transfer_lock = lock;
        }
        if let Some(privacy) = privacy {
            r.whois_privacy = privacy;
        }
    });
    Ok(Reply::ok())
}

/// A 0/1 parameter: absent leaves the value as it is.
fn flag_param(cmd: &Command, key: &str) -> Result<Option<bool>, Reply> {
    match cmd.get(key).map(str::trim) {
        None => Ok(None),
        Some("0") => Ok(Some(false)),
        Some("1") => Ok(Some(true)),
        Some(_) => Err(bad_syntax(key)),
    }
}
