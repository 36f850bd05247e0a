//! QueryDomainList and the row renderers of each dialect's list columns.

use super::*;

pub(super) const CNR_LIST_ATTRIBUTES: &[&str] = &[
    "DOMAIN",
    "DOMAINIDN",
    "DAYS",
    "ORDER",
    "ORDERBY",
    "RENEWALMODE",
    "TYPE",
    "ZONE",
    "REGISTRAR",
    "WIDE",
    "GENERATELIST",
    "SENDLISTEMAIL",
    "FIRST",
    "LIMIT",
    "DOMAINTAG#",
    "ZONETAG#",
    "NAMESERVER",
];

/// Filters the sandbox does not implement are refused instead of silently ignored, so a
/// client never mistakes an unfiltered list for a filtered one.
pub(super) fn refuse_filters(cmd: &Command, filters: &[&str]) -> Result<(), Reply> {
    for filter in filters {
        if cmd
            .get(filter)
            .is_some_and(|v| !v.trim().is_empty() && v.trim() != "*")
        {
            return Err(Reply::new(
                510,
                format!(
                    "Command not supported for this class; the sandbox does not filter by {filter}"
                ),
            ));
        }
    }
    Ok(())
}

pub(super) fn query_domain_list(state: &mut State, cmd: &Command) -> Outcome {
    check_attributes(state, cmd, CNR_LIST_ATTRIBUTES)?;
    refuse_filters(
        cmd,
        &[
            "DOMAIN",
            "DOMAINIDN",
            "ZONE",
            "RENEWALMODE",
            "NAMESERVER",
            "REGISTRAR",
            "DAYS",
        ],
    )?;
    let type_all = match cmd.get("TYPE").map(|t| t.trim().to_ascii_uppercase()) {
        None => false,
        Some(t) if t.is_empty() || t == "DEFAULT" => false,
        Some(t) if t == "ALL" => true,
        Some(t) => {
            return Err(Reply::new(
                510,
                format!("Command not supported for this class; the sandbox lists TYPE=DEFAULT or ALL, not {t}"),
            ))
        }
    };
    let (first, limit) = paging(cmd)?;
    let wide = flag(cmd, "WIDE");
    let descending = cmd
        .get("ORDER")
        .is_some_and(|o| o.trim().eq_ignore_ascii_case("DESC"));
    let total = state.listed_total();
    let page = match cmd.get("ORDERBY").map(|o| o.trim().to_ascii_uppercase()) {
        None => state.listed_page(first, limit),
        Some(o) if o.is_empty() => state.listed_page(first, limit),
        Some(o) if o == "DOMAIN" => state.listed_page_by_name(first, limit, descending),
        Some(o) => {
            return Err(Reply::new(
                510,
                format!(
                "Command not supported for this class; the sandbox orders by DOMAIN only, not {o}"
            ),
            ))
        }
    };
    let mut r = Reply::ok();
    match state.dialect {
        Dialect::Cnr => render_cnr_domain_rows(state, &mut r, &page, wide, type_all),
        _ if cmd.get("VERSION").map(str::trim) == Some("2") => {
            let prices = cmd.get("PROPERTIES").is_some_and(|p| {
                p.to_ascii_uppercase()
                    .split(',')
                    .any(|p| p.trim() == "PRICE")
            });
            render_ispapi_v2_rows(state, &mut r, &page, prices)
        }
        _ => render_ispapi_wide_rows(state, &mut r, &page, wide),
    }
    push_paging(&mut r, first, page.len(), limit, total);
    Ok(r)
}

pub(super) const CNR_WIDE_COLUMNS: &[&str] = &[
    "domain",
    "domain idn",
    "roid",
    "domain created date",
    "domain updated date",
    "domain registration expiration date",
    "domain renewal date",
    "paiduntil date",
    "domain zone",
    "renewalmode",
    "transfermode",
];

pub(super) const CNR_TYPE_ALL_COLUMNS: &[&str] = &[
    "domain status",
    "owner contact",
    "admin contact",
    "tech contact",
    "billing contact",
    "nameserver",
    "domain auth code",
    "transfer lock",
];

pub(super) fn render_cnr_domain_rows(
    state: &State,
    r: &mut Reply,
    page: &[DomainRecord],
    wide: bool,
    type_all: bool,
) {
    if type_all {
        let mut columns = vec!["domain"];
        columns.extend_from_slice(CNR_TYPE_ALL_COLUMNS);
        push_columns(state, r, &columns);
        for column in &columns {
            r.declare(column);
        }
    }
    if !wide {
        if !type_all {
            push_columns(state, r, &["domain"]);
        }
        push_columns(state, r, &["domain"]);
        r.declare("domain");
        for rec in page {
            r.push("domain", rec.name.ascii());
            if type_all {
                push_type_all(r, rec);
            }
        }
        return;
    }
    if !type_all {
        push_columns(state, r, CNR_WIDE_COLUMNS);
    } else {
        push_columns(state, r, &CNR_WIDE_COLUMNS[1..]);
    }
    for column in CNR_WIDE_COLUMNS {
        r.declare(column);
    }
    for rec in page {
        r.push("domain", rec.name.ascii());
        r.push("domain idn", rec.name.unicode());
        r.push("roid", &rec.roid);
        r.push("domain created date", stamp(state, rec.created, rec.time));
        r.push("domain updated date", stamp(state, rec.updated, rec.time));
        r.push(
            "domain registration expiration date",
            stamp(state, rec.registry_expiry, rec.time),
        );
        r.push(
            "domain renewal date",
            stamp(state, renewal_date(rec), rec.time),
        );
        r.push("paiduntil date", stamp(state, rec.paid_until, rec.time));
        r.push("domain zone", rec.name.zone());
        r.push("renewalmode", rec.renewal_mode.as_command_value());
        r.push("transfermode", "DEFAULT");
        if type_all {
            push_type_all(r, rec);
        }
    }
}

/// `TYPE=ALL` adds status, contacts, name servers and the auth code to every row.
pub(super) fn push_type_all(r: &mut Reply, rec: &DomainRecord) {
    let contact = |h: &Option<String>| h.clone().unwrap_or_default();
    r.push("domain status", &rec.status);
    r.push("owner contact", contact(&rec.contacts.owner));
    r.push("admin contact", contact(&rec.contacts.admin));
    r.push("tech contact", contact(&rec.contacts.tech));
    r.push("billing contact", contact(&rec.contacts.billing));
    r.push("nameserver", "NS1.SANDBOX-DNS.NET;NS2.SANDBOX-DNS.NET");
    r.push("domain auth code", &rec.auth);
    r.push("transfer lock", rec.transfer_lock as u8);
    r.push("x-whois-privacy", rec.whois_privacy as u8);
}

/// CNR's "renewal date": when the registrar charges the renewal, after the paid-until
/// date in the real capture (+35 days).
pub(super) fn renewal_date(rec: &DomainRecord) -> NaiveDate {
    rec.paid_until + Duration::days(35)
}

pub(super) fn render_ispapi_wide_rows(
    state: &State,
    r: &mut Reply,
    page: &[DomainRecord],
    wide: bool,
) {
    r.declare("domain");
    for rec in page {
        r.push("domain", rec.name.ascii());
        if !wide {
            continue;
        }
        r.push("domainumlaut", rec.name.unicode());
        r.push("domaincreateddate", stamp(state, rec.created, rec.time));
        r.push("domainupdateddate", stamp(state, rec.updated, rec.time));
        r.push(
            "domainregistrationexpirationdate",
            stamp(state, rec.registry_expiry, rec.time),
        );
        r.push(
            "domainpaiduntildate",
            stamp(state, rec.paid_until, rec.time),
        );
        r.push(
            "domainexpirationdate",
            stamp(state, rec.paid_until, rec.time),
        );
        r.push("domainrenewalmode", ispapi_internal_mode(&rec.renewal_mode));
        r.push("domainstatus", &rec.status);
        r.push("domainsubclass", ispapi_subclass(rec));
        r.push("domaintransferlock", rec.transfer_lock as u8);
        r.push(
            "domainownercontact",
            rec.contacts.owner.clone().unwrap_or_default(),
        );
        r.push(
            "domainadmincontact",
            rec.contacts.admin.clone().unwrap_or_default(),
        );
        r.push(
            "domaintechcontact",
            rec.contacts.tech.clone().unwrap_or_default(),
        );
        r.push(
            "domainbillingcontact",
            rec.contacts.billing.clone().unwrap_or_default(),
        );
    }
}

pub(super) fn render_ispapi_v2_rows(
    state: &State,
    r: &mut Reply,
    page: &[DomainRecord],
    prices: bool,
) {
    r.declare("objectid");
    for rec in page {
        r.push("objectclass", "DOMAIN");
        r.push("objectid", rec.name.ascii());
        r.push("createddate", stamp(state, rec.created, rec.time));
        r.push("updateddate", stamp(state, rec.updated, rec.time));
        r.push(
            "registrationexpirationdate",
            stamp(state, rec.registry_expiry, rec.time),
        );
        r.push("paiduntildate", stamp(state, rec.paid_until, rec.time));
        r.push("expirationdate", stamp(state, rec.paid_until, rec.time));
        r.push("renewalmode", ispapi_internal_mode(&rec.renewal_mode));
        r.push("renewalperiod", "1Y");
        r.push("status", &rec.status);
        r.push("subclass", ispapi_subclass(rec));
        r.push("transferlock", rec.transfer_lock as u8);
        r.push(
            "ownercontact",
            rec.contacts.owner.clone().unwrap_or_default(),
        );
        r.push(
            "admincontact",
            rec.contacts.admin.clone().unwrap_or_default(),
        );
        r.push("techcontact", rec.contacts.tech.clone().unwrap_or_default());
        r.push(
            "billingcontact",
            rec.contacts.billing.clone().unwrap_or_default(),
        );
        if prices {
            let net = state.renew_price(rec);
            r.push("currency", account_currency());
            r.push("renewalprice", format_price(net));
            r.push("renewalgrossprice", format_price(gross(state, net)));
            r.push("vat", format_price(state.account.vat_percent));
        }
    }
}
