//! The API commands. Each handler reads a decoded [`Command`], changes the [`State`] and
//! returns a [`Reply`] with the property names the real server uses (CNR spelling; the
//! renderer derives the ISPAPI spelling).

use super::state::{
    account_currency, Contact, DomainKey, DomainRecord, State, TransferRecord, TransferStatus,
};
use super::wire::{format_price, format_timestamp, Reply};
use crate::portfolio::{add_years, ZONES};
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
        "statusaccount" => status_account(state, cmd),
        "querydomainlist" => query_domain_list(state, cmd),
        "queryregisteredpremiumdomainlist" if state.dialect == Dialect::Cnr => {
            query_premium_list(state, cmd)
        }
        "queryzonelist" => query_zone_list(state, cmd),
        "statusdomain" => status_domain(state, cmd),
        "checkdomains" => check_domains(state, cmd),
        "setdomainrenewalmode" => set_renewal_mode(state, cmd),
        "renewdomain" => renew_domain(state, cmd),
        "transferdomain" => transfer_domain(state, cmd),
        "statusdomaintransfer" => status_domain_transfer(state, cmd),
        "querytransferlist" => query_transfer_list(state, cmd),
        "queryexchangerates" => query_exchange_rates(state, cmd),
        "addcontact" => add_contact(state, cmd),
        "statuscontact" => status_contact(state, cmd),
        "querycontactlist" => query_contact_list(state, cmd),
        "modifydomain" => modify_domain(state, cmd),
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
        Some(p) => p.class.clone(),
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

// ----- account --------------------------------------------------------------------------

fn status_account(state: &mut State, cmd: &Command) -> Outcome {
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

// ----- domain lists ---------------------------------------------------------------------

const CNR_LIST_ATTRIBUTES: &[&str] = &[
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
fn refuse_filters(cmd: &Command, filters: &[&str]) -> Result<(), Reply> {
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

fn query_domain_list(state: &mut State, cmd: &Command) -> Outcome {
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

const CNR_WIDE_COLUMNS: &[&str] = &[
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

const CNR_TYPE_ALL_COLUMNS: &[&str] = &[
    "domain status",
    "owner contact",
    "admin contact",
    "tech contact",
    "billing contact",
    "nameserver",
    "domain auth code",
    "transfer lock",
];

fn render_cnr_domain_rows(
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
fn push_type_all(r: &mut Reply, rec: &DomainRecord) {
    let contact = |h: &Option<String>| h.clone().unwrap_or_default();
    r.push("domain status", &rec.status);
    r.push("owner contact", contact(&rec.contacts.owner));
    r.push("admin contact", contact(&rec.contacts.admin));
    r.push("tech contact", contact(&rec.contacts.tech));
    r.push("billing contact", contact(&rec.contacts.billing));
    r.push("nameserver", "NS1.SANDBOX-DNS.NET;NS2.SANDBOX-DNS.NET");
    r.push("domain auth code", &rec.auth);
    r.push("transfer lock", rec.transfer_lock as u8);
}

/// CNR's "renewal date": when the registrar charges the renewal, after the paid-until
/// date in the real capture (+35 days).
fn renewal_date(rec: &DomainRecord) -> NaiveDate {
    rec.paid_until + Duration::days(35)
}

fn render_ispapi_wide_rows(state: &State, r: &mut Reply, page: &[DomainRecord], wide: bool) {
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

fn render_ispapi_v2_rows(state: &State, r: &mut Reply, page: &[DomainRecord], prices: bool) {
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

fn query_premium_list(state: &mut State, cmd: &Command) -> Outcome {
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

fn query_zone_list(state: &mut State, cmd: &Command) -> Outcome {
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
    for &(zone, ..) in ZONES {
        if wanted.as_deref().is_some_and(|w| w != zone && w != "*") {
            continue;
        }
        let prices = state
            .zone_prices(zone)
            .expect("every sandbox zone is priced");
        r.push("zone", zone);
        r.push("periodtype", "YEAR");
        r.push("setup", format_price(prices.register));
        r.push("annual", format_price(prices.renew));
        r.push("transfer", format_price(prices.transfer));
        r.push("restore", "89.00");
        r.push("trade", "0.00");
        r.push("application", "0.00");
        r.push("currency", account_currency());
        r.push("domain count", counts.get(zone).copied().unwrap_or(0));
        r.push("active", 1);
    }
    Ok(r)
}

// ----- single domain --------------------------------------------------------------------

/// The `X-FEE-*` answer for one domain and fee command, or `None` for unknown commands.
struct Fee {
    command: String,
    amount: Decimal,
    class: &'static str,
    period: u32,
}

fn fee_for(
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

fn push_fee(r: &mut Reply, fee: &Fee, name: &DomainName) {
    r.push("x-fee-amount", format_price(fee.amount));
    r.push("x-fee-application", "0.00");
    r.push("x-fee-class", fee.class);
    r.push("x-fee-command", &fee.command);
    r.push("x-fee-currency", account_currency());
    r.push("x-fee-domain", name.ascii());
    r.push("x-fee-period", fee.period);
    r.push("x-fee-periodtype", "YEAR");
}

fn status_domain(state: &mut State, cmd: &Command) -> Outcome {
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
    let t = rec.time;
    let contact = |h: &Option<String>| h.clone().unwrap_or_default();
    match state.dialect {
        Dialect::Cnr => {
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
            r.push("renewal date", stamp(state, renewal_date(&rec), t));
            r.push("auth", &rec.auth);
            r.push("renewalmode", rec.renewal_mode.as_command_value());
            r.push("transfermode", "DEFAULT");
            r.push("roid", &rec.roid);
            r.push("domain", rec.name.ascii());
            r.push("domain idn", rec.name.unicode());
            r.push("zone", rec.name.zone());
            r.push("status", &rec.status);
            r.push("transfer lock", rec.transfer_lock as u8);
            r.push("nameserver", "NS1.SANDBOX-DNS.NET");
            r.push("nameserver", "NS2.SANDBOX-DNS.NET");
            r.push("owner contact", contact(&rec.contacts.owner));
            r.push("admin contact", contact(&rec.contacts.admin));
            r.push("tech contact", contact(&rec.contacts.tech));
            r.push("billing contact", contact(&rec.contacts.billing));
            if let Some(command) = cmd.get("X-FEE-COMMAND") {
                let period = usize_param(cmd, "X-FEE-PERIOD", 1)?.clamp(1, 10) as u32;
                let fee = fee_for(state, Some(&rec), &rec.name, command, period)
                    .ok_or_else(|| Reply::new(541, "Invalid attribute value; X-FEE-COMMAND"))?;
                push_fee(&mut r, &fee, &rec.name);
            }
        }
        _ => {
            r.push("id", rec.name.ascii());
            r.push("domainumlaut", rec.name.unicode());
            r.push("class", "DOMAIN");
            r.push("subclass", ispapi_subclass(&rec));
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
                let net = state.renew_price(&rec);
                r.push("currency", account_currency());
                r.push("renewalprice", format_price(net));
                r.push("renewalgrossprice", format_price(gross(state, net)));
                r.push("vat", format_price(state.account.vat_percent));
            }
        }
    }
    Ok(r)
}

fn check_domains(state: &mut State, cmd: &Command) -> Outcome {
    check_attributes(
        state,
        cmd,
        &["DOMAIN#", "DOMAIN", "X-FEE-*", "PREMIUMCHANNELS"],
    )?;
    let mut names: Vec<String> = cmd
        .get_list("DOMAIN")
        .into_iter()
        .map(String::from)
        .collect();
    if names.is_empty() {
        if let Some(single) = cmd.get("DOMAIN") {
            names.push(single.to_string());
        }
    }
    if names.is_empty() {
        return Err(missing("DOMAIN0"));
    }
    if state.dialect == Dialect::Cnr && names.len() > CNR_CHECK_LIMIT {
        return Err(Reply::syntax_error(
            503,
            format!("Invalid attribute name; DOMAIN{CNR_CHECK_LIMIT}"),
        ));
    }
    if state.dialect == Dialect::Cnr {
        // At most 30 X-FEE extensions per call (kb x-fee-parameters).
        if let Some((key, _)) = cmd.params().find(|(k, _)| {
            k.strip_prefix("X-FEE-")
                .map(|rest| rest.trim_start_matches(|c: char| c.is_ascii_alphabetic() || c == '-'))
                .and_then(|digits| digits.parse::<usize>().ok())
                .is_some_and(|i| i >= CNR_FEE_LIMIT)
        }) {
            return Err(Reply::syntax_error(
                503,
                format!("Invalid attribute name; {key}"),
            ));
        }
    }
    let premium_channels = cmd.get("PREMIUMCHANNELS").is_some();
    let mut r = Reply::ok();
    let mut columns = vec!["domaincheck", "domainchecktime"];
    let any_fee = cmd.params().any(|(k, _)| k.starts_with("X-FEE-COMMAND"));
    if any_fee {
        columns.extend([
            "x-fee-amount",
            "x-fee-application",
            "x-fee-class",
            "x-fee-command",
            "x-fee-currency",
            "x-fee-domain",
            "x-fee-period",
            "x-fee-periodtype",
        ]);
    }
    push_columns(state, &mut r, &columns);
    for (i, raw) in names.iter().enumerate() {
        let parsed = DomainName::parse(raw);
        let ours = parsed
            .as_ref()
            .ok()
            .and_then(|n| state.find(n))
            .filter(|(_, rec)| rec.present);
        let registered = parsed
            .as_ref()
            .is_ok_and(|n| state.is_registered_anywhere(n));
        let held_premium = ours.as_ref().and_then(|(_, rec)| rec.premium.clone());
        let free_premium = parsed
            .as_ref()
            .ok()
            .filter(|_| !registered)
            .and_then(registry_premium_price);
        match state.dialect {
            Dialect::Cnr => {
                let check = match &parsed {
                    Err(_) => "541 Invalid attribute value",
                    Ok(_) if registered => "211 Domain name not available",
                    Ok(_) => "210 Domain name available",
                };
                r.push("domaincheck", check);
                r.push("domainchecktime", 0);
                if any_fee {
                    let command = cmd
                        .get(&format!("X-FEE-COMMAND{i}"))
                        .or_else(|| cmd.get("X-FEE-COMMAND"));
                    let period = cmd
                        .get(&format!("X-FEE-PERIOD{i}"))
                        .or_else(|| cmd.get("X-FEE-PERIOD"))
                        .and_then(|p| p.trim().parse().ok())
                        .unwrap_or(1u32)
                        .clamp(1, 10);
                    let fee = match (&parsed, command) {
                        (Ok(name), Some(command)) => fee_for(
                            state,
                            ours.as_ref().map(|(_, rec)| rec),
                            name,
                            command,
                            period,
                        ),
                        _ => None,
                    };
                    match (fee, &parsed) {
                        (Some(fee), Ok(name)) => push_fee(&mut r, &fee, name),
                        _ => {
                            for column in &columns[2..] {
                                r.push(column, "");
                            }
                        }
                    }
                }
            }
            _ => {
                let check = match &parsed {
                    Err(_) => "541 Invalid attribute value".to_string(),
                    Ok(_) if registered => "211 Domain name not available".to_string(),
                    Ok(_) if free_premium.is_some() && premium_channels => {
                        "211 Premium Domain name available [PREMIUM]".to_string()
                    }
                    Ok(_) if free_premium.is_some() => "211 Domain name not available".to_string(),
                    Ok(_) => "210 Available".to_string(),
                };
                r.push("domaincheck", check);
                r.push("domainchecktime", "0.012");
                if premium_channels {
                    let (class, price) = match (&held_premium, free_premium, &parsed, &ours) {
                        (Some(p), _, _, Some((_, rec))) => {
                            (p.class.clone(), format_price(state.renew_price(rec)))
                        }
                        (None, Some(price), Ok(name), _) => {
                            (premium_class_for(state, name), format_price(price))
                        }
                        _ => (String::new(), String::new()),
                    };
                    let is_premium = !class.is_empty();
                    r.push("class", &class);
                    r.push("currency", if is_premium { account_currency() } else { "" });
                    r.push("premiumchannel", if is_premium { "SANDBOX" } else { "" });
                    r.push("price", price);
                    r.push(
                        "reason",
                        if is_premium {
                            "Premium Domain Name"
                        } else {
                            ""
                        },
                    );
                }
            }
        }
    }
    Ok(r)
}

fn set_renewal_mode(state: &mut State, cmd: &Command) -> Outcome {
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

fn renew_domain(state: &mut State, cmd: &Command) -> Outcome {
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
    if let Some(expiration) = cmd.get("EXPIRATION") {
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
    }
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
    Ok(r)
}

/// Checks that the command accepts the premium price, with the real systems' errors:
/// CNR wants `X-FEE-AMOUNT` (at least the price) and `X-ACCEPT-PREMIUMPRICE=1`; ISPAPI
/// wants `CLASS=<premium class>`.
fn premium_accepted(state: &State, cmd: &Command, class: &str, cost: Decimal) -> Result<(), Reply> {
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

fn transfer_domain(state: &mut State, cmd: &Command) -> Outcome {
    check_attributes(
        state,
        cmd,
        &[
            "DOMAIN",
            "ACTION",
            "AUTH",
            "PERIOD",
            "OWNERCONTACT#",
            "ADMINCONTACT#",
            "TECHCONTACT#",
            "BILLINGCONTACT#",
            "NAMESERVER#",
            "TRANSFERLOCK",
            "FORCEREQUEST",
            "ACCEPT-TRADE",
            "TOKEN",
            "X-FEE-*",
            "X-ACCEPT-PREMIUMPRICE",
        ],
    )?;
    let name = domain_param(cmd)?;
    let action = cmd
        .get("ACTION")
        .unwrap_or("REQUEST")
        .trim()
        .to_ascii_uppercase();
    let existing = state.find(&name);
    match action.as_str() {
        "REQUEST" | "" => {}
        "CANCEL" => {
            let Some((key, rec)) = existing else {
                return Err(not_found(state));
            };
            if !matches!(
                rec.transfer,
                Some(TransferRecord {
                    status: TransferStatus::Pending,
                    ..
                })
            ) {
                return Err(Reply::new(
                    547,
                    "Invalid command sequence; no pending transfer",
                ));
            }
            let today = state.today();
            state.update(&key, |r| {
                if let Some(t) = &mut r.transfer {
                    t.status = TransferStatus::Failed("cancelled by the gaining registrar".into());
                    t.log
                        .push(format!("{today} 10:00:00 [CANCELLED] transfer cancelled"));
                }
            });
            return Ok(Reply::ok());
        }
        _ => return Err(Reply::new(541, "Invalid attribute value; ACTION")),
    }
    if let Some((_, rec)) = &existing {
        if rec.present {
            return Err(Reply::new(
                540,
                "Attribute value is not unique; DOMAIN is already assigned to your account",
            ));
        }
        if matches!(
            rec.transfer,
            Some(TransferRecord {
                status: TransferStatus::Pending,
                ..
            })
        ) {
            return Err(Reply::new(
                553,
                "Operation not allowed. Object pending transfer",
            ));
        }
    }
    if cmd.get("AUTH").is_none_or(|a| a.trim().is_empty()) {
        return Err(missing("AUTH"));
    }
    let zone = state.zone_prices(name.zone()).ok_or_else(|| {
        Reply::new(
            541,
            format!(
                "Invalid attribute value; zone {} is not offered",
                name.zone()
            ),
        )
    })?;
    let (premium_class, cost) = match &existing {
        Some((_, rec)) => (
            rec.premium.as_ref().map(|p| p.class.clone()),
            state.transfer_price(rec),
        ),
        None => match registry_premium_price(&name) {
            Some(price) => (Some(premium_class_for(state, &name)), price),
            None => (None, zone.transfer),
        },
    };
    if let Some(class) = &premium_class {
        premium_accepted(state, cmd, class, cost)?;
    }
    if !state.charge(cost) {
        return Err(Reply::new(546, "Credit limit exceeded"));
    }
    let today = state.today();
    let key = match existing {
        Some((key, _)) => key,
        None => {
            let mut rec = state.new_extra_record(name.clone(), zone);
            if let Some(class) = &premium_class {
                rec.premium = Some(domwatch_core::model::PremiumInfo {
                    class: class.clone(),
                });
                rec.renew_price = cost;
                rec.transfer_price = cost;
            }
            state.insert_extra(rec)
        }
    };
    state.update(&key, |r| {
        r.transfer = Some(TransferRecord {
            requested: today,
            status: TransferStatus::Pending,
            log: vec![format!(
                "{today} 10:00:00 [INITIATED] domain transfer initiated"
            )],
        });
    });
    let mut r = match state.dialect {
        Dialect::Cnr => {
            let mut r = Reply::ok();
            r.push("transferstatus", "pending");
            r
        }
        _ => {
            let mut r = Reply::new(
                200,
                "Command completed successfully; domain transfer initiated",
            );
            r.top("pending", 1);
            r
        }
    };
    if state.dialect == Dialect::Cnr && premium_class.is_some() {
        let fee = Fee {
            command: "transfer".into(),
            amount: cost,
            class: "premium",
            period: 1,
        };
        push_fee(&mut r, &fee, &name);
    }
    Ok(r)
}

fn status_domain_transfer(state: &mut State, cmd: &Command) -> Outcome {
    check_attributes(state, cmd, &["DOMAIN"])?;
    let name = domain_param(cmd)?;
    let Some((_, rec)) = state.find(&name) else {
        return Err(not_found(state));
    };
    let Some(transfer) = rec
        .transfer
        .as_ref()
        .filter(|t| t.status != TransferStatus::Completed)
    else {
        return Err(not_found(state));
    };
    let mut r = Reply::ok();
    let (status_cnr, status_hx) = match &transfer.status {
        TransferStatus::Pending => ("pending", "PENDING"),
        TransferStatus::Failed(_) => ("failed", "FAILED"),
        TransferStatus::Completed => unreachable!("filtered above"),
    };
    let requested = stamp(
        state,
        transfer.requested,
        NaiveTime::from_hms_opt(10, 0, 0).expect("valid"),
    );
    match state.dialect {
        Dialect::Cnr => {
            r.push("domain", name.ascii());
            r.push("transferstatus", status_cnr);
            r.push("transfertype", "INCOMING");
            r.push("created date", &requested);
        }
        _ => {
            r.push("transferstatus", status_hx);
            r.push("transfertype", "INCOMING");
            r.push("createddate", &requested);
            r.push(
                "updateddate",
                stamp(
                    state,
                    rec.updated,
                    NaiveTime::from_hms_opt(10, 5, 0).expect("valid"),
                ),
            );
        }
    }
    if let TransferStatus::Failed(reason) = &transfer.status {
        r.push("transferstatusreason", reason);
    }
    for line in &transfer.log {
        r.push("transferlog", line);
    }
    Ok(r)
}

/// Incoming transfers in bulk. CNR (`WIDE=1`) lists pending and failed transfers with
/// `domain transfer status` (the docs name the column `DOMAINTRANSFERSTATUS` and list
/// FAILED among its values; the spaced wire spelling follows CNR's other list columns and
/// is unverified). ISPAPI documents no status column, so the sandbox lists only transfers
/// still in progress there, with `CREATEDDATE`, `DOMAINUMLAUT` and `USER`.
fn query_transfer_list(state: &mut State, cmd: &Command) -> Outcome {
    check_attributes(
        state,
        cmd,
        &[
            "DOMAIN",
            "WIDE",
            "GENERATELIST",
            "SENDLISTEMAIL",
            "FIRST",
            "LIMIT",
        ],
    )?;
    refuse_filters(
        cmd,
        &["DOMAIN", "USERDEPTH", "MINCREATEDDATE", "MAXCREATEDDATE"],
    )?;
    let (first, limit) = paging(cmd)?;
    let wide = flag(cmd, "WIDE");
    let mut all = state.open_transfers();
    if state.dialect != Dialect::Cnr {
        all.retain(|r| {
            r.transfer
                .as_ref()
                .is_some_and(|t| t.status == TransferStatus::Pending)
        });
    }
    let page: Vec<&DomainRecord> = all.iter().skip(first).take(limit).collect();
    let mut r = Reply::ok();
    match state.dialect {
        Dialect::Cnr => {
            let mut columns = vec!["domain"];
            if wide {
                columns.push("domain transfer status");
            }
            push_columns(state, &mut r, &columns);
            for column in &columns {
                r.declare(column);
            }
            for rec in &page {
                r.push("domain", rec.name.ascii());
                if wide {
                    let status = match rec.transfer.as_ref().map(|t| &t.status) {
                        Some(TransferStatus::Failed(_)) => "FAILED",
                        _ => "PENDING",
                    };
                    r.push("domain transfer status", status);
                }
            }
        }
        _ => {
            for column in ["createddate", "domain", "domainumlaut", "user"] {
                r.declare(column);
            }
            for rec in &page {
                let requested = rec
                    .transfer
                    .as_ref()
                    .map(|t| t.requested)
                    .unwrap_or(rec.created);
                r.push(
                    "createddate",
                    stamp(
                        state,
                        requested,
                        NaiveTime::from_hms_opt(10, 0, 0).expect("valid"),
                    ),
                );
                r.push("domain", rec.name.ascii());
                r.push("domainumlaut", rec.name.unicode());
                r.push("user", &state.account.login);
            }
        }
    }
    push_paging(&mut r, first, page.len(), limit, all.len());
    Ok(r)
}

// ----- money ----------------------------------------------------------------------------

fn query_exchange_rates(state: &mut State, cmd: &Command) -> Outcome {
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

// ----- contacts -------------------------------------------------------------------------

fn add_contact(state: &mut State, cmd: &Command) -> Outcome {
    check_attributes(
        state,
        cmd,
        &[
            "FIRSTNAME",
            "MIDDLENAME",
            "LASTNAME",
            "ORGANIZATION",
            "STREET",
            "STREET#",
            "CITY",
            "STATE",
            "ZIP",
            "COUNTRY",
            "PHONE",
            "FAX",
            "EMAIL",
            "NEW",
            "PREVERIFY",
            "AUTODELETE",
            "VALIDATION",
            "CHECKONLY",
            "TITLE",
            "X-*",
        ],
    )?;
    let field = |key: &str| {
        cmd.get(key)
            .map(|v| v.trim().to_string())
            .unwrap_or_default()
    };
    let street = cmd
        .get("STREET")
        .or_else(|| cmd.get("STREET0"))
        .unwrap_or_default()
        .trim()
        .to_string();
    let details = Contact {
        handle: String::new(),
        first_name: field("FIRSTNAME"),
        last_name: field("LASTNAME"),
        organization: field("ORGANIZATION"),
        street,
        city: field("CITY"),
        zip: field("ZIP"),
        country: field("COUNTRY").to_ascii_uppercase(),
        phone: field("PHONE"),
        email: field("EMAIL"),
        created: state.now(),
    };
    for (key, value) in [
        ("FIRSTNAME", &details.first_name),
        ("LASTNAME", &details.last_name),
        ("STREET", &details.street),
        ("CITY", &details.city),
        ("ZIP", &details.zip),
        ("COUNTRY", &details.country),
        ("PHONE", &details.phone),
        ("EMAIL", &details.email),
    ] {
        if value.is_empty() {
            return Err(missing(key));
        }
    }
    if details.country.len() != 2 {
        return Err(bad_syntax("COUNTRY"));
    }
    if !details.email.contains('@') {
        return Err(bad_syntax("EMAIL"));
    }
    let (contact, created) = state.add_contact(details, flag(cmd, "NEW"));
    let mut r = Reply::ok();
    match state.dialect {
        Dialect::Cnr => {
            let handle_number = contact
                .handle
                .bytes()
                .fold(0u64, |n, b| n.wrapping_mul(31).wrapping_add(b as u64));
            r.push(
                "auth",
                super::state::token(state.portfolio.seed, 11, handle_number, 10),
            );
            r.push("contact", &contact.handle);
            r.push(
                "created date",
                contact.created.format("%Y-%m-%d %H:%M:%S").to_string(),
            );
            r.push(
                "roid",
                format!("{}_CONTACT-KEYSYS", contact.handle.trim_start_matches("P-")),
            );
            r.push("validated", 1);
            r.push("verified", 1);
        }
        _ => {
            r.push("contact", &contact.handle);
            r.push("new", created as u8);
            r.push("status", "ACTIVE");
        }
    }
    Ok(r)
}

fn status_contact(state: &mut State, cmd: &Command) -> Outcome {
    check_attributes(state, cmd, &["CONTACT", "AUTH"])?;
    let handle = cmd.get("CONTACT").ok_or_else(|| missing("CONTACT"))?;
    let contact = state
        .contact(handle.trim())
        .ok_or_else(|| not_found(state))?;
    let created = contact.created.format("%Y-%m-%d %H:%M:%S").to_string();
    let mut r = Reply::ok();
    match state.dialect {
        Dialect::Cnr => {
            r.push("contact", &contact.handle);
            r.push("first name", &contact.first_name);
            r.push("last name", &contact.last_name);
            r.push("organization", &contact.organization);
            r.push("street", &contact.street);
            r.push("city", &contact.city);
            r.push("zip", &contact.zip);
            r.push("country", &contact.country);
            r.push("phone", &contact.phone);
            r.push("email", &contact.email);
            r.push("created date", &created);
            r.push("updated date", &created);
            r.push("validated", 1);
            r.push("verified", 1);
        }
        _ => {
            r.push("id", &contact.handle);
            r.push("class", "CONTACT");
            r.push("firstname", &contact.first_name);
            r.push("lastname", &contact.last_name);
            r.push(
                "name",
                format!("{} {}", contact.first_name, contact.last_name),
            );
            r.push("organization", &contact.organization);
            r.push("street", &contact.street);
            r.push("city", &contact.city);
            r.push("zip", &contact.zip);
            r.push("country", &contact.country);
            r.push("phone", &contact.phone);
            r.push("email", &contact.email);
            r.push("status", "ACTIVE");
            r.push("createddate", &created);
            r.push("updateddate", &created);
        }
    }
    Ok(r)
}

fn query_contact_list(state: &mut State, cmd: &Command) -> Outcome {
    check_attributes(state, cmd, &["FIRST", "LIMIT", "WIDE", "ORDER", "ORDERBY"])?;
    let (first, limit) = paging(cmd)?;
    let wide = flag(cmd, "WIDE") && state.dialect != Dialect::Cnr;
    let total = state.contact_total();
    let page: Vec<Contact> = (first..total.min(first.saturating_add(limit)))
        .filter_map(|p| state.contact_at(p))
        .collect();
    let mut r = Reply::ok();
    push_columns(state, &mut r, &["contact"]);
    r.declare("contact");
    for c in &page {
        r.push("contact", &c.handle);
        if wide {
            r.push("contactfirstname", &c.first_name);
            r.push("contactlastname", &c.last_name);
            r.push("contactorganization", &c.organization);
            r.push("contactemail", &c.email);
            r.push("contactcity", &c.city);
            r.push("contactcountry", &c.country);
        }
    }
    push_paging(&mut r, first, page.len(), limit, total);
    Ok(r)
}

fn modify_domain(state: &mut State, cmd: &Command) -> Outcome {
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
    let lock = match cmd.get("TRANSFERLOCK").map(str::trim) {
        None => None,
        Some("0") => Some(false),
        Some("1") => Some(true),
        Some(_) => return Err(bad_syntax("TRANSFERLOCK")),
    };
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
    });
    Ok(Reply::ok())
}
