//! GetClientsDomains, and finding one domain for the actions that change it.
use super::prices::YEAR_COLUMNS;
use crate::whmcs::call::{obj, Answer, Fail, Filter, Params};
use crate::whmcs::store::{Row, Val};
use crate::whmcs::State;
use domwatch_core::DomainName;
use rust_decimal::Decimal;
use serde_json::{json, Value};

pub(super) fn domain_json(row: &Row) -> Value {
    json!({
        "id": row.int("id"),
        "userid": row.int("userid"),
        "orderid": row.int("orderid"),
        "regtype": row.text("type"),
        "domainname": row.text("domain"),
        "registrar": row.text("registrar"),
        "regperiod": row.int("registrationperiod"),
        "firstpaymentamount": row.money("firstpaymentamount"),
        "recurringamount": row.money("recurringamount"),
        "paymentmethod": row.text("paymentmethod"),
        "paymentmethodname": crate::whmcs::clients::display_name(row),
        "regdate": row.date("registrationdate"),
        "expirydate": row.date("expirydate"),
        "nextduedate": row.date("nextduedate"),
        "status": row.text("status"),
        "subscriptionid": row.text("subscriptionid"),
        "promoid": row.int("promoid"),
        "dnsmanagement": row.int("dnsmanagement"),
        "emailforwarding": row.int("emailforwarding"),
        "idprotection": row.int("idprotection"),
        // Flags come as strings, like older WHMCS versions send them.
        "donotrenew": row.int("donotrenew").to_string(),
        "notes": row.text("additionalnotes"),
    })
}

/// The filter GetClientsDomains applies (`clientid`, `domainid`, `domain`).
pub(super) fn clients_domains_filter(p: &Params) -> Filter {
    let mut filter = Filter::default();
    if let Some(id) = p.nonempty("clientid") {
        filter.add("userid = ?", [Val::text(id)]);
    }
    if let Some(id) = p.nonempty("domainid") {
        filter.add("id = ?", [Val::text(id)]);
    }
    if let Some(domain) = p.nonempty("domain") {
        filter.add("domain = ?", [Val::text(domain)]);
    }
    filter
}

/// [`domain_json`] as SQLite's `json_object`, field for field: integers default to 0,
/// texts to `""`, money has two decimals, unset dates are `0000-00-00`.
pub(super) const DOMAIN_JSON_SQLITE: &str = "json_object(\
    'id', CAST(COALESCE(id, 0) AS INTEGER), \
    'userid', CAST(COALESCE(userid, 0) AS INTEGER), \
    'orderid', CAST(COALESCE(orderid, 0) AS INTEGER), \
    'regtype', COALESCE(CAST(type AS TEXT), ''), \
    'domainname', COALESCE(CAST(domain AS TEXT), ''), \
    'registrar', COALESCE(CAST(registrar AS TEXT), ''), \
    'regperiod', CAST(COALESCE(registrationperiod, 0) AS INTEGER), \
    'firstpaymentamount', printf('%.2f', COALESCE(firstpaymentamount, 0)), \
    'recurringamount', printf('%.2f', COALESCE(recurringamount, 0)), \
    'paymentmethod', COALESCE(CAST(paymentmethod AS TEXT), ''), \
    'paymentmethodname', COALESCE((SELECT value FROM tblpaymentgateways g \
        WHERE g.gateway = tbldomains.paymentmethod AND g.setting = 'name'), CAST(paymentmethod AS TEXT), ''), \
    'regdate', CASE WHEN date(substr(registrationdate, 1, 10)) IS NULL THEN '0000-00-00' ELSE substr(registrationdate, 1, 10) END, \
    'expirydate', CASE WHEN date(substr(expirydate, 1, 10)) IS NULL THEN '0000-00-00' ELSE substr(expirydate, 1, 10) END, \
    'nextduedate', CASE WHEN date(substr(nextduedate, 1, 10)) IS NULL THEN '0000-00-00' ELSE substr(nextduedate, 1, 10) END, \
    'status', COALESCE(CAST(status AS TEXT), ''), \
    'subscriptionid', COALESCE(CAST(subscriptionid AS TEXT), ''), \
    'promoid', CAST(COALESCE(promoid, 0) AS INTEGER), \
    'dnsmanagement', CAST(COALESCE(dnsmanagement, 0) AS INTEGER), \
    'emailforwarding', CAST(COALESCE(emailforwarding, 0) AS INTEGER), \
    'idprotection', CAST(COALESCE(idprotection, 0) AS INTEGER), \
    'donotrenew', CAST(CAST(COALESCE(donotrenew, 0) AS INTEGER) AS TEXT), \
    'notes', COALESCE(CAST(additionalnotes AS TEXT), ''))";

/// GetClientsDomains as a JSON body, the page rendered by SQLite in one statement (one
/// row back instead of 25 cells per domain). Same answer as [`get_clients_domains`]; a
/// test compares the two.
pub(crate) async fn clients_domains_json(state: &State, p: &Params) -> Result<String, Fail> {
    let (start, num) = p.paging();
    let filter = clients_domains_filter(p);
    let where_sql = filter.sql();
    let total = state
        .store
        .count(
            &format!("SELECT COUNT(*) AS n FROM tbldomains{where_sql}"),
            &filter.params,
        )
        .await?;
    let page = state
        .store
        .query_one(
            &format!(
                "SELECT COUNT(*) AS n, COALESCE(group_concat(j, ','), '') AS rows FROM \
                 (SELECT {DOMAIN_JSON_SQLITE} AS j FROM tbldomains{where_sql} ORDER BY id LIMIT ? OFFSET ?)"
            ),
            &filter.with_page(start, num),
        )
        .await?
        .unwrap_or_default();
    let returned = page.int("n");
    let text = |key: &str| Value::String(p.get(key).unwrap_or("").to_string()).to_string();
    let domains = if total == 0 {
        "\"\"".to_string()
    } else {
        format!("{{\"domain\":[{}]}}", page.text("rows"))
    };
    Ok(format!(
        "{{\"result\":\"success\",\"clientid\":{},\"domainid\":{},\"totalresults\":{total},\"startnumber\":{start},\"numreturned\":{returned},\"domains\":{domains}}}",
        text("clientid"),
        text("domainid"),
    ))
}

pub(super) async fn get_clients_domains(state: &State, p: &Params) -> Answer {
    let (start, num) = p.paging();
    let filter = clients_domains_filter(p);
    let (total, rows) = filter
        .page(
            &state.store,
            &format!("tbldomains.*, {}", crate::whmcs::clients::DISPLAY_NAME_SQL),
            "tbldomains",
            "id",
            start,
            num,
        )
        .await?;
    let domains: Vec<Value> = rows.iter().map(domain_json).collect();
    Ok(obj(json!({
        "clientid": p.get("clientid").unwrap_or(""),
        "domainid": p.get("domainid").unwrap_or(""),
        "totalresults": total,
        "startnumber": start,
        "numreturned": domains.len(),
        // WHMCS sends an empty string, not a list, when there is nothing.
        "domains": if total == 0 { json!("") } else { json!({ "domain": domains }) },
    })))
}

pub(super) async fn find_domain(state: &State, p: &Params, not_found: &str) -> Result<Row, Fail> {
    let row = if let Some(id) = p.nonempty("domainid") {
        state
            .store
            .query_one("SELECT * FROM tbldomains WHERE id = ?", &[Val::text(id)])
            .await?
    } else if let Some(name) = p.nonempty("domain") {
        state
            .store
            .query_one(
                "SELECT * FROM tbldomains WHERE domain = ? ORDER BY id LIMIT 1",
                &[Val::text(name)],
            )
            .await?
    } else {
        None
    };
    row.ok_or_else(|| Fail::new(not_found))
}

/// The standard renewal price WHMCS's autorecalc computes (never premium-aware).
pub(super) async fn recalculated_amount(
    state: &State,
    domain: &Row,
) -> Result<Option<Decimal>, Fail> {
    let Ok(name) = DomainName::parse(&domain.text("domain")) else {
        return Ok(None);
    };
    let Some(client) = state
        .store
        .query_one(
            "SELECT currency FROM tblclients WHERE id = ?",
            &[Val::Int(domain.int("userid"))],
        )
        .await?
    else {
        return Ok(None);
    };
    let years = domain.int("registrationperiod").clamp(1, 10) as usize;
    let row = state
        .store
        .query_one(
            "SELECT p.* FROM tblpricing p JOIN tbldomainpricing d ON d.id = p.relid \
             WHERE p.type = 'domainrenew' AND p.currency = ? AND d.extension = ?",
            &[
                Val::Int(client.int("currency")),
                Val::text(format!(".{}", name.zone())),
            ],
        )
        .await?;
    Ok(row
        .map(|r| r.decimal(YEAR_COLUMNS[years - 1]))
        .filter(|price| *price > Decimal::ZERO))
}
