//! `/includes/api.php`: authentication, action routing and the actions, with WHMCS's
//! real error messages and quirks. All state lives in the WHMCS tables of the store.

use super::schema::{ADMINS, DEPARTMENTS};
use super::store::{Row, Val};
use super::{AdminEmail, State};
use crate::portfolio::add_years;
use domwatch_core::DomainName;
use rust_decimal::Decimal;
use serde_json::{json, Map, Value};
use std::net::IpAddr;
use std::str::FromStr;
use std::sync::atomic::Ordering;

/// A `result=error` answer (HTTP 200 like WHMCS; 403 for a foreign IP or an action the
/// API role does not allow; 500 for sandbox faults).
#[derive(Debug)]
pub struct Fail {
    pub message: String,
    pub registrar_error: Option<String>,
    pub status: u16,
}

impl Fail {
    pub(super) fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            registrar_error: None,
            status: 200,
        }
    }

    /// WHMCS refuses the caller with HTTP 403 and the usual JSON body.
    fn forbidden(message: impl Into<String>) -> Self {
        Self {
            status: 403,
            ..Self::new(message)
        }
    }
}

impl From<anyhow::Error> for Fail {
    fn from(e: anyhow::Error) -> Self {
        tracing::error!(error = %format!("{e:#}"), "sandbox WHMCS storage error");
        Self {
            message: format!("Sandbox storage error: {e:#}"),
            registrar_error: None,
            status: 500,
        }
    }
}

pub(super) type Answer = Result<Map<String, Value>, Fail>;

/// Request fields in order (array fields such as `newitemamount[]` repeat).
pub struct Params(pub Vec<(String, String)>);

impl Params {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub(super) fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// PHP truthiness: missing, `""` and `"0"` are false.
    pub(super) fn truthy(&self, key: &str) -> bool {
        matches!(self.get(key), Some(v) if !v.is_empty() && v != "0")
    }

    /// The value when PHP would consider it non-empty (what WHMCS writes).
    pub(super) fn nonempty(&self, key: &str) -> Option<&str> {
        self.get(key).filter(|v| !v.is_empty() && *v != "0")
    }

    pub(super) fn int(&self, key: &str) -> Option<i64> {
        self.get(key).and_then(|v| v.trim().parse().ok())
    }

    pub(super) fn all(&self, key: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// `name[id]=value` fields as (id, value).
    pub(super) fn keyed(&self, name: &str) -> Vec<(i64, &str)> {
        let prefix = format!("{name}[");
        self.0
            .iter()
            .filter_map(|(k, v)| {
                let id = k.strip_prefix(&prefix)?.strip_suffix(']')?.parse().ok()?;
                Some((id, v.as_str()))
            })
            .collect()
    }

    pub(super) fn paging(&self) -> (i64, i64) {
        let start = self.int("limitstart").unwrap_or(0).max(0);
        let num = self.int("limitnum").filter(|n| *n > 0).unwrap_or(25);
        (start, num)
    }
}

/// Every action the sandbox implements, lower-case as WHMCS routes them.
pub const ACTIONS: &[&str] = &[
    "getclientsdomains",
    "getclientsdetails",
    "getcurrencies",
    "gettldpricing",
    "getinvoices",
    "getinvoice",
    "updateclientdomain",
    "updateinvoice",
    "domainrenew",
    "domaintransfer",
    "openticket",
    "gettickets",
    "addticketreply",
    "sendadminemail",
    "logactivity",
    "gettodoitems",
    "updatetodoitem",
    "getclients",
    "getpaymentmethods",
];

/// Actions whose default response type is XML (the others default to NVP).
const STRUCTURED: &[&str] = &[
    "getclientsdomains",
    "getinvoices",
    "getinvoice",
    "gettickets",
    "gettodoitems",
    "getcurrencies",
    "gettldpricing",
    "getclientsdetails",
    "getclients",
    "getpaymentmethods",
];

/// WHMCS matches action names case-insensitively after dropping non-alphanumerics.
pub fn normalise_action(action: &str) -> String {
    action
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Handles one API request; returns HTTP status, content type and body.
pub async fn handle(state: &State, params: Params, caller: IpAddr) -> (u16, &'static str, String) {
    state.api_calls.fetch_add(1, Ordering::Relaxed);
    let action = normalise_action(params.get("action").unwrap_or(""));
    if let Ok(mut by_action) = state.api_calls_by_action.lock() {
        *by_action.entry(action.clone()).or_default() += 1;
    }
    let authorised =
        allow_ip(state, &params, caller).and_then(|()| authorise(state, &params, &action));
    // The domain listing is the one answer of a million rows: on SQLite it is rendered by
    // the database in one statement (see `clients_domains_json`); errors are rendered below
    // like every other action's.
    let outcome = match authorised {
        Ok(())
            if action == "getclientsdomains"
                && state.store.dialect() == super::store::Dialect::Sqlite
                && state.database_rendered_listing.load(Ordering::Relaxed)
                && params
                    .get("responsetype")
                    .is_some_and(|t| t.eq_ignore_ascii_case("json")) =>
        {
            match clients_domains_json(state, &params).await {
                Ok(body) => return (200, "application/json", body),
                Err(fail) => Err(fail),
            }
        }
        Ok(()) => dispatch(state, &action, &params).await,
        Err(fail) => Err(fail),
    };
    let (status, mut body) = match outcome {
        Ok(mut fields) => {
            let mut body = Map::new();
            body.insert("result".into(), json!("success"));
            body.append(&mut fields);
            (200, body)
        }
        Err(fail) => {
            let mut body = Map::new();
            body.insert("result".into(), json!("error"));
            body.insert("message".into(), json!(fail.message));
            if let Some(error) = fail.registrar_error {
                body.insert("error".into(), json!(error));
            }
            (fail.status, body)
        }
    };
    match params
        .get("responsetype")
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("json") => (status, "application/json", json_in_whmcs_order(&body)),
        Some("xml") => (status, "text/xml", to_xml(&action, &body)),
        Some("nvp") if STRUCTURED.contains(&action.as_str()) => {
            body.clear();
            (
                status,
                "text/plain",
                "result=error;message=This API action only supports the XML or JSON response type formats;"
                    .into(),
            )
        }
        Some("nvp") => (status, "text/plain", to_nvp(&body)),
        // Without responsetype WHMCS picks XML for structured actions and NVP otherwise.
        _ if STRUCTURED.contains(&action.as_str()) => (status, "text/xml", to_xml(&action, &body)),
        _ => (status, "text/plain", to_nvp(&body)),
    }
}

/// API IP Access Restriction: a caller not on the list gets 403 `Invalid IP <ip>`, unless
/// it sends the configured access key (which bypasses the IP check only).
fn allow_ip(state: &State, params: &Params, caller: IpAddr) -> Result<(), Fail> {
    let key_ok = state
        .access_key
        .as_ref()
        .is_some_and(|key| params.get("accesskey") == Some(key.as_str()));
    if key_ok || state.allowed_ips.contains(&caller) {
        Ok(())
    } else {
        Err(Fail::forbidden(format!("Invalid IP {caller}")))
    }
}

/// A JSON object with `result` and `message` first, as WHMCS writes its answers.
fn json_in_whmcs_order(body: &Map<String, Value>) -> String {
    let first = ["result", "message"];
    let fields = first
        .iter()
        .filter_map(|k| body.get(*k).map(|v| (*k, v)))
        .chain(
            body.iter()
                .filter(|(k, _)| !first.contains(&k.as_str()))
                .map(|(k, v)| (k.as_str(), v)),
        )
        .map(|(k, v)| format!("{}:{v}", Value::String(k.to_string())))
        .collect::<Vec<_>>();
    format!("{{{}}}", fields.join(","))
}

fn authorise(state: &State, params: &Params, action: &str) -> Result<(), Fail> {
    let identifier = params
        .get("identifier")
        .or_else(|| params.get("username"))
        .unwrap_or("");
    let secret = params
        .get("secret")
        .or_else(|| params.get("password"))
        .unwrap_or("");
    if identifier.is_empty() || secret.is_empty() {
        return Err(Fail::new("Invalid or missing credentials"));
    }
    let Some(credential) = state
        .credentials
        .iter()
        .find(|c| c.identifier == identifier)
    else {
        return Err(Fail::new("Invalid or missing credentials"));
    };
    if credential.secret != secret {
        return Err(Fail::new("Authentication Failed"));
    }
    if let Some(expected) = &state.access_key {
        if params.get("accesskey").is_some_and(|k| k != expected) {
            return Err(Fail::new("Invalid Access Key"));
        }
    }
    if !ACTIONS.contains(&action) {
        return Err(Fail::new("Command Not Found"));
    }
    if let Some(allowed) = &credential.allowed_actions {
        if !allowed.iter().any(|a| normalise_action(a) == action) {
            return Err(Fail::forbidden(format!(
                "Invalid Permissions: API action \"{action}\" is not allowed"
            )));
        }
    }
    Ok(())
}

async fn dispatch(state: &State, action: &str, p: &Params) -> Answer {
    match action {
        "getclientsdomains" => get_clients_domains(state, p).await,
        "getclientsdetails" => get_clients_details(state, p).await,
        "getcurrencies" => get_currencies(state).await,
        "gettldpricing" => get_tld_pricing(state, p).await,
        "getinvoices" => get_invoices(state, p).await,
        "getinvoice" => get_invoice(state, p).await,
        "updateclientdomain" => update_client_domain(state, p).await,
        "updateinvoice" => update_invoice(state, p).await,
        "domainrenew" => domain_renew(state, p).await,
        "domaintransfer" => domain_transfer(state, p).await,
        "openticket" => open_ticket(state, p).await,
        "gettickets" => get_tickets(state, p).await,
        "addticketreply" => add_ticket_reply(state, p).await,
        "sendadminemail" => send_admin_email(state, p).await,
        "logactivity" => log_activity(state, p).await,
        "gettodoitems" => get_todo_items(state, p).await,
        "updatetodoitem" => update_todo_item(state, p).await,
        "getclients" => super::clients::get_clients(state, p).await,
        "getpaymentmethods" => super::clients::get_payment_methods(state).await,
        _ => Err(Fail::new("Command Not Found")),
    }
}

pub(super) fn obj(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

fn ymd(date: chrono::NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

/// WHERE clause builder with bound parameters.
#[derive(Default)]
struct Filter {
    clauses: Vec<String>,
    params: Vec<Val>,
}

impl Filter {
    fn add(&mut self, clause: &str, params: impl IntoIterator<Item = Val>) {
        self.clauses.push(clause.to_string());
        self.params.extend(params);
    }

    fn sql(&self) -> String {
        if self.clauses.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.clauses.join(" AND "))
        }
    }

    fn with_page(&self, start: i64, num: i64) -> Vec<Val> {
        let mut params = self.params.clone();
        params.push(Val::Int(num));
        params.push(Val::Int(start));
        params
    }

    /// The total number of matching rows and one page of them, as every WHMCS list action
    /// answers (`totalresults` plus the `limitstart`/`limitnum` window). `from` may carry
    /// LEFT JOINs on unique keys; they do not change the count.
    async fn page(
        &self,
        store: &super::store::Store,
        select: &str,
        from: &str,
        order_by: &str,
        start: i64,
        num: i64,
    ) -> anyhow::Result<(i64, Vec<Row>)> {
        let filter = self.sql();
        let total = store
            .count(
                &format!("SELECT COUNT(*) AS n FROM {from}{filter}"),
                &self.params,
            )
            .await?;
        let rows = store
            .query(
                &format!(
                    "SELECT {select} FROM {from}{filter} ORDER BY {order_by} LIMIT ? OFFSET ?"
                ),
                &self.with_page(start, num),
            )
            .await?;
        Ok((total, rows))
    }
}

fn domain_json(row: &Row) -> Value {
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
        "paymentmethodname": super::clients::display_name(row),
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
fn clients_domains_filter(p: &Params) -> Filter {
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
const DOMAIN_JSON_SQLITE: &str = "json_object(\
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

async fn get_clients_domains(state: &State, p: &Params) -> Answer {
    let (start, num) = p.paging();
    let filter = clients_domains_filter(p);
    let (total, rows) = filter
        .page(
            &state.store,
            &format!("tbldomains.*, {}", super::clients::DISPLAY_NAME_SQL),
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

async fn get_clients_details(state: &State, p: &Params) -> Answer {
    let row = if let Some(id) = p.nonempty("clientid") {
        state
            .store
            .query_one(
                "SELECT c.*, cur.code AS currency_code FROM tblclients c LEFT JOIN tblcurrencies cur ON cur.id = c.currency WHERE c.id = ?",
                &[Val::text(id)],
            )
            .await?
    } else if let Some(email) = p.nonempty("email") {
        state
            .store
            .query_one(
                "SELECT c.*, cur.code AS currency_code FROM tblclients c LEFT JOIN tblcurrencies cur ON cur.id = c.currency WHERE c.email = ?",
                &[Val::text(email)],
            )
            .await?
    } else {
        None
    };
    let row = row.ok_or_else(|| Fail::new("Client Not Found"))?;
    let client = json!({
        "userid": row.int("id"),
        "id": row.int("id"),
        "uuid": row.text("uuid"),
        "firstname": row.text("firstname"),
        "lastname": row.text("lastname"),
        "fullname": format!("{} {}", row.text("firstname"), row.text("lastname")),
        "companyname": row.text("companyname"),
        "email": row.text("email"),
        "address1": row.text("address1"),
        "city": row.text("city"),
        "postcode": row.text("postcode"),
        "country": row.text("country"),
        "phonenumber": row.text("phonenumber"),
        "currency": row.int("currency"),
        "currency_code": row.text("currency_code"),
        "groupid": row.int("groupid"),
        "language": row.text("language"),
        "status": row.text("status"),
        "email_preferences": {"general": 1, "invoice": 1, "support": 1, "product": 1, "domain": 1, "affiliate": 1},
    });
    // Deprecated top-level duplicates of the client fields, as WHMCS still sends them.
    let mut out = obj(client.clone());
    out.insert("client".into(), client);
    if p.truthy("stats") {
        let domains = state
            .store
            .count(
                "SELECT COUNT(*) AS n FROM tbldomains WHERE userid = ?",
                &[Val::Int(row.int("id"))],
            )
            .await?;
        out.insert("stats".into(), json!({"numdomains": domains.to_string()}));
    }
    Ok(out)
}

fn currency_json(row: &Row) -> Value {
    json!({
        "id": row.int("id"),
        "code": row.text("code"),
        "prefix": row.text("prefix"),
        "suffix": row.text("suffix"),
        "format": row.int("format"),
        "rate": format!("{:.5}", row.decimal("rate")),
    })
}

async fn get_currencies(state: &State) -> Answer {
    let rows = state
        .store
        .query("SELECT * FROM tblcurrencies ORDER BY id", &[])
        .await?;
    let list: Vec<Value> = rows.iter().map(currency_json).collect();
    Ok(obj(json!({
        "totalresults": list.len(),
        "currencies": { "currency": list },
    })))
}

const YEAR_COLUMNS: [&str; 10] = [
    "msetupfee",
    "qsetupfee",
    "ssetupfee",
    "asetupfee",
    "bsetupfee",
    "monthly",
    "quarterly",
    "semiannually",
    "annually",
    "biennially",
];

async fn get_tld_pricing(state: &State, p: &Params) -> Answer {
    let currency_id = if let Some(client) = p.nonempty("clientid") {
        state
            .store
            .query_one(
                "SELECT currency FROM tblclients WHERE id = ?",
                &[Val::text(client)],
            )
            .await?
            .map(|r| r.int("currency"))
            .ok_or_else(|| Fail::new("Client Not Found"))?
    } else {
        p.int("currencyid").unwrap_or(1)
    };
    let currency = state
        .store
        .query_one(
            "SELECT * FROM tblcurrencies WHERE id = ?",
            &[Val::Int(currency_id)],
        )
        .await?
        .ok_or_else(|| Fail::new("Invalid Currency ID"))?;
    let tlds = state
        .store
        .query("SELECT * FROM tbldomainpricing ORDER BY `order`, id", &[])
        .await?;
    let prices = state
        .store
        .query(
            "SELECT * FROM tblpricing WHERE currency = ? AND type IN ('domainregister','domaintransfer','domainrenew') AND tsetupfee = '0.00'",
            &[Val::Int(currency_id)],
        )
        .await?;
    let mut pricing = Map::new();
    for tld in &tlds {
        let mut entry = Map::new();
        for (kind, key) in [
            ("domainregister", "register"),
            ("domaintransfer", "transfer"),
            ("domainrenew", "renew"),
        ] {
            let mut by_years = Map::new();
            if let Some(row) = prices
                .iter()
                .find(|r| r.text("type") == kind && r.int("relid") == tld.int("id"))
            {
                for (i, column) in YEAR_COLUMNS.iter().enumerate() {
                    let price = row.decimal(column);
                    let enabled = if kind == "domainrenew" {
                        price > Decimal::ZERO
                    } else {
                        price >= Decimal::ZERO
                    };
                    if enabled {
                        by_years.insert((i + 1).to_string(), json!(format!("{price:.2}")));
                    }
                }
            }
            entry.insert(key.into(), Value::Object(by_years));
        }
        let name = tld.text("extension").trim_start_matches('.').to_string();
        entry.insert("tld".into(), json!(name));
        entry.insert("categories".into(), json!(["Other"]));
        entry.insert(
            "addons".into(),
            json!({"dns": true, "email": true, "idprotect": true}),
        );
        entry.insert("group".into(), json!(tld.text("group")));
        entry.insert("grace_period".into(), Value::Null);
        entry.insert("redemption_period".into(), Value::Null);
        pricing.insert(name, Value::Object(entry));
    }
    Ok(obj(json!({
        "currency": currency_json(&currency),
        "pricing": pricing,
    })))
}

fn invoice_summary_json(row: &Row) -> Value {
    json!({
        "id": row.int("id"),
        "userid": row.int("userid"),
        "firstname": row.text("firstname"),
        "lastname": row.text("lastname"),
        "companyname": row.text("companyname"),
        "invoicenum": row.text("invoicenum"),
        "date": row.date("date"),
        "duedate": row.date("duedate"),
        "datepaid": row.date_opt("datepaid").map(|d| format!("{} 00:00:00", ymd(d))).unwrap_or_else(|| "0000-00-00 00:00:00".into()),
        "subtotal": row.money("subtotal"),
        "credit": row.money("credit"),
        "tax": row.money("tax"),
        "tax2": row.money("tax2"),
        "total": row.money("total"),
        "taxrate": row.money("taxrate"),
        "taxrate2": row.money("taxrate2"),
        "status": row.text("status"),
        "paymentmethod": row.text("paymentmethod"),
        "notes": row.text("notes"),
        "currencycode": row.text("currencycode"),
        "currencyprefix": row.text("currencyprefix"),
        "currencysuffix": row.text("currencysuffix"),
    })
}

async fn get_invoices(state: &State, p: &Params) -> Answer {
    let (start, num) = p.paging();
    let mut filter = Filter::default();
    if let Some(id) = p.nonempty("userid") {
        filter.add("i.userid = ?", [Val::text(id)]);
    }
    match p.nonempty("status") {
        Some("Overdue") => filter.add(
            "i.status = 'Unpaid' AND i.duedate < ?",
            [Val::text(ymd(state.today))],
        ),
        Some(status) => filter.add("i.status = ?", [Val::text(status)]),
        None => {}
    }
    let order_column = match p.get("orderby").unwrap_or("id") {
        "invoicenumber" => "i.invoicenum",
        "date" => "i.date",
        "duedate" => "i.duedate",
        "total" => "i.total",
        "status" => "i.status",
        _ => "i.id",
    };
    let direction = if p
        .get("order")
        .is_some_and(|o| o.eq_ignore_ascii_case("desc"))
    {
        "DESC"
    } else {
        "ASC"
    };
    let (total, rows) = filter
        .page(&state.store, "i.*, c.firstname, c.lastname, c.companyname, cur.code AS currencycode, cur.prefix AS currencyprefix, cur.suffix AS currencysuffix", "tblinvoices i LEFT JOIN tblclients c ON c.id = i.userid LEFT JOIN tblcurrencies cur ON cur.id = c.currency", &format!("{order_column} {direction}, i.id {direction}"), start, num)
        .await?;
    let list: Vec<Value> = rows.iter().map(invoice_summary_json).collect();
    // WHMCS 7.8 computes numreturned before skip/take, so it equals totalresults.
    let numreturned = if state.numreturned_bug.load(Ordering::Relaxed) {
        total as usize
    } else {
        list.len()
    };
    Ok(obj(json!({
        "totalresults": total,
        "startnumber": start,
        "numreturned": numreturned,
        "invoices": if list.is_empty() { json!([]) } else { json!({ "invoice": list }) },
    })))
}

async fn get_invoice(state: &State, p: &Params) -> Answer {
    let id = p.int("invoiceid").unwrap_or(0);
    let invoice = state
        .store
        .query_one("SELECT * FROM tblinvoices WHERE id = ?", &[Val::Int(id)])
        .await?
        .ok_or_else(|| Fail::new("Invoice ID Not Found"))?;
    let items = state
        .store
        .query(
            "SELECT * FROM tblinvoiceitems WHERE invoiceid = ? ORDER BY id",
            &[Val::Int(id)],
        )
        .await?;
    let items: Vec<Value> = items
        .iter()
        .map(|i| {
            json!({
                "id": i.int("id"),
                "type": i.text("type"),
                "relid": i.int("relid"),
                "description": i.text("description"),
                "amount": i.money("amount"),
                "taxed": i.int("taxed"),
            })
        })
        .collect();
    let balance = if invoice.text("status") == "Paid" {
        Decimal::ZERO
    } else {
        invoice.decimal("total")
    };
    Ok(obj(json!({
        "invoiceid": invoice.int("id"),
        "invoicenum": invoice.text("invoicenum"),
        "userid": invoice.int("userid"),
        "date": invoice.date("date"),
        "duedate": invoice.date("duedate"),
        "datepaid": invoice.date_opt("datepaid").map(|d| format!("{} 00:00:00", ymd(d))).unwrap_or_else(|| "0000-00-00 00:00:00".into()),
        "lastcaptureattempt": "0000-00-00 00:00:00",
        "subtotal": invoice.money("subtotal"),
        "credit": invoice.money("credit"),
        "tax": invoice.money("tax"),
        "tax2": invoice.money("tax2"),
        "total": invoice.money("total"),
        "balance": format!("{balance:.2}"),
        "taxrate": invoice.money("taxrate"),
        "taxrate2": invoice.money("taxrate2"),
        "status": invoice.text("status"),
        "paymentmethod": invoice.text("paymentmethod"),
        "notes": invoice.text("notes"),
        "ccgateway": false,
        "items": { "item": items },
        "transactions": "",
    })))
}

async fn find_domain(state: &State, p: &Params, not_found: &str) -> Result<Row, Fail> {
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

fn valid_date(value: &str) -> Result<String, Fail> {
    chrono::NaiveDate::parse_from_str(value.trim(), "%Y-%m-%d")
        .map(ymd)
        .map_err(|_| Fail::new(format!("Invalid date format: {value}")))
}

/// The standard renewal price WHMCS's autorecalc computes (never premium-aware).
async fn recalculated_amount(state: &State, domain: &Row) -> Result<Option<Decimal>, Fail> {
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

async fn update_client_domain(state: &State, p: &Params) -> Answer {
    let _guard = state.write_lock.lock().await;
    let domain = find_domain(state, p, "Domain ID Not Found").await?;
    if let Some(method) = p.nonempty("paymentmethod") {
        super::clients::check_payment_method(state, method).await?;
    }
    let mut sets: Vec<(&str, Val)> = Vec::new();
    // Scalars are only written when non-empty in PHP's sense: "" and "0" are skipped.
    for (field, column) in [
        ("type", "type"),
        ("registrar", "registrar"),
        ("paymentmethod", "paymentmethod"),
        ("subscriptionid", "subscriptionid"),
        ("notes", "additionalnotes"),
        ("domain", "domain"),
    ] {
        if let Some(value) = p.nonempty(field) {
            if field != "domain" || p.has("domainid") {
                sets.push((column, Val::text(value)));
            }
        }
    }
    for (field, column) in [("regperiod", "registrationperiod"), ("promoid", "promoid")] {
        if let Some(value) = p.nonempty(field) {
            let n: i64 = value
                .trim()
                .parse()
                .map_err(|_| Fail::new(format!("Invalid {field}")))?;
            sets.push((column, Val::Int(n)));
        }
    }
    for (field, column) in [
        ("firstpaymentamount", "firstpaymentamount"),
        ("recurringamount", "recurringamount"),
    ] {
        if let Some(value) = p.nonempty(field) {
            let amount = Decimal::from_str(value.trim())
                .map_err(|_| Fail::new(format!("Invalid {field}")))?;
            sets.push((column, Val::text(format!("{:.2}", amount.round_dp(2)))));
        }
    }
    if let Some(status) = p.nonempty("status") {
        // Not validated by WHMCS; the ENUM column decides. Mirror that for SQLite too.
        if !super::schema::DOMAIN_STATUSES.contains(&status) {
            return Err(Fail::new(format!("Invalid domain status: {status}")));
        }
        sets.push(("status", Val::text(status)));
    }
    for (field, column) in [
        ("regdate", "registrationdate"),
        ("expirydate", "expirydate"),
    ] {
        if let Some(value) = p.nonempty(field) {
            sets.push((column, Val::text(valid_date(value)?)));
        }
    }
    if let Some(value) = p.nonempty("nextduedate") {
        let date = valid_date(value)?;
        sets.push(("nextduedate", Val::text(date.clone())));
        sets.push(("nextinvoicedate", Val::text(date)));
    }
    // Flags are written when the key is present: PHP empty() -> 0, anything else -> 1.
    for flag in [
        "dnsmanagement",
        "emailforwarding",
        "idprotection",
        "donotrenew",
    ] {
        if p.has(flag) {
            sets.push((flag, Val::Int(i64::from(p.truthy(flag)))));
        }
    }
    // WHMCS 8: recalculation runs when the key is present at all and ignores recurringamount.
    if p.has("autorecalc") {
        if let Some(amount) = recalculated_amount(state, &domain).await? {
            sets.retain(|(column, _)| *column != "recurringamount");
            sets.push(("recurringamount", Val::text(format!("{amount:.2}"))));
        }
    }
    if !sets.is_empty() {
        let assignments: Vec<String> = sets.iter().map(|(c, _)| format!("{c} = ?")).collect();
        let mut params: Vec<Val> = sets.into_iter().map(|(_, v)| v).collect();
        params.push(Val::Int(domain.int("id")));
        state
            .store
            .execute(
                &format!(
                    "UPDATE tbldomains SET {} WHERE id = ?",
                    assignments.join(", ")
                ),
                &params,
            )
            .await?;
    }
    Ok(obj(json!({ "domainid": domain.int("id") })))
}

const INVOICE_STATUSES: &[&str] = &[
    "Draft",
    "Unpaid",
    "Paid",
    "Cancelled",
    "Refunded",
    "Collections",
    "Payment Pending",
];

async fn update_invoice(state: &State, p: &Params) -> Answer {
    let _guard = state.write_lock.lock().await;
    let id = p.int("invoiceid").unwrap_or(0);
    let invoice = state
        .store
        .query_one("SELECT * FROM tblinvoices WHERE id = ?", &[Val::Int(id)])
        .await?
        .ok_or_else(|| Fail::new("Invoice ID Not Found"))?;
    let mut statements: Vec<(String, Vec<Val>)> = Vec::new();
    let mut sets: Vec<(&str, Val)> = Vec::new();
    if let Some(status) = p.nonempty("status") {
        if !INVOICE_STATUSES.contains(&status) {
            return Err(Fail::new("Invalid status"));
        }
        sets.push(("status", Val::text(status)));
    }
    for field in ["date", "duedate", "datepaid"] {
        if let Some(value) = p.nonempty(field) {
            sets.push((field, Val::text(valid_date(value)?)));
        }
    }
    if let Some(notes) = p.nonempty("notes") {
        sets.push(("notes", Val::text(notes)));
    }
    if let Some(method) = p.nonempty("paymentmethod") {
        super::clients::check_payment_method(state, method).await?;
        sets.push(("paymentmethod", Val::text(method)));
    }
    let descriptions = p.keyed("itemdescription");
    let amounts = p.keyed("itemamount");
    let taxed = p.keyed("itemtaxed");
    for (item_id, description) in &descriptions {
        let amount = amounts
            .iter()
            .find(|(i, _)| i == item_id)
            .and_then(|(_, a)| Decimal::from_str(a.trim()).ok())
            .ok_or_else(|| {
                Fail::new(format!(
                    "itemamount[{item_id}] is required with itemdescription[{item_id}]"
                ))
            })?;
        let is_taxed = taxed
            .iter()
            .any(|(i, t)| i == item_id && !t.is_empty() && *t != "0");
        statements.push((
            "UPDATE tblinvoiceitems SET description = ?, amount = ?, taxed = ? WHERE id = ? AND invoiceid = ?".into(),
            vec![Val::text(*description), Val::text(format!("{amount:.2}")), Val::Int(i64::from(is_taxed)), Val::Int(*item_id), Val::Int(id)],
        ));
    }
    let new_descriptions = p.all("newitemdescription[]");
    let new_amounts = p.all("newitemamount[]");
    let new_taxed = p.all("newitemtaxed[]");
    for (i, description) in new_descriptions.iter().enumerate() {
        let amount = new_amounts
            .get(i)
            .and_then(|a| Decimal::from_str(a.trim()).ok())
            .unwrap_or(Decimal::ZERO);
        let is_taxed = new_taxed.get(i).is_some_and(|t| !t.is_empty() && *t != "0");
        statements.push((
            "INSERT INTO tblinvoiceitems (invoiceid, userid, type, relid, description, amount, taxed, duedate, paymentmethod, notes) VALUES (?, ?, '', 0, ?, ?, ?, ?, ?, '')".into(),
            vec![Val::Int(id), Val::Int(invoice.int("userid")), Val::text(*description), Val::text(format!("{amount:.2}")), Val::Int(i64::from(is_taxed)), Val::opt_date(invoice.date_opt("duedate")), Val::text(invoice.text("paymentmethod"))],
        ));
    }
    for line in p.all("deletelineids[]") {
        if let Ok(line) = line.trim().parse::<i64>() {
            statements.push((
                "DELETE FROM tblinvoiceitems WHERE id = ? AND invoiceid = ?".into(),
                vec![Val::Int(line), Val::Int(id)],
            ));
        }
    }
    if !sets.is_empty() {
        let assignments: Vec<String> = sets.iter().map(|(c, _)| format!("{c} = ?")).collect();
        let mut params: Vec<Val> = sets.into_iter().map(|(_, v)| v).collect();
        params.push(Val::Int(id));
        statements.push((
            format!(
                "UPDATE tblinvoices SET {} WHERE id = ?",
                assignments.join(", ")
            ),
            params,
        ));
    }
    // Totals follow the lines.
    statements.push((
        "UPDATE tblinvoices SET subtotal = (SELECT COALESCE(SUM(amount), 0) FROM tblinvoiceitems WHERE invoiceid = ?), \
         total = (SELECT COALESCE(SUM(amount), 0) FROM tblinvoiceitems WHERE invoiceid = ?) WHERE id = ?"
            .into(),
        vec![Val::Int(id), Val::Int(id), Val::Int(id)],
    ));
    state.store.transaction(&statements).await?;
    if state.store.dialect() == super::store::Dialect::Sqlite {
        // SQLite's SUM of text amounts yields a float; store it back as a two-decimal string.
        let row = state
            .store
            .query_one(
                "SELECT total FROM tblinvoices WHERE id = ?",
                &[Val::Int(id)],
            )
            .await?;
        if let Some(row) = row {
            let total = format!("{:.2}", row.decimal("total").round_dp(2));
            state
                .store
                .execute(
                    "UPDATE tblinvoices SET subtotal = ?, total = ? WHERE id = ?",
                    &[Val::text(total.clone()), Val::text(total), Val::Int(id)],
                )
                .await?;
        }
    }
    Ok(obj(json!({ "invoiceid": id })))
}

fn registrar_failure(state: &State, domain_id: i64) -> Option<Fail> {
    let failures = state
        .registrar_failures
        .lock()
        .expect("registrar failure map");
    failures.get(&(domain_id as u64)).map(|error| Fail {
        message: "Registrar Error Message".into(),
        registrar_error: Some(error.clone()),
        status: 200,
    })
}

async fn domain_renew(state: &State, p: &Params) -> Answer {
    let _guard = state.write_lock.lock().await;
    let domain = find_domain(state, p, "Domain Not Found").await?;
    let id = domain.int("id");
    let mut period = domain.int("registrationperiod").max(1);
    if let Some(years) = p.int("regperiod").filter(|y| *y > 0) {
        // The new period is persisted before the registrar is called.
        period = years;
        state
            .store
            .execute(
                "UPDATE tbldomains SET registrationperiod = ? WHERE id = ?",
                &[Val::Int(period), Val::Int(id)],
            )
            .await?;
    }
    if let Some(fail) = registrar_failure(state, id) {
        return Err(fail);
    }
    let base = domain.date_opt("expirydate").unwrap_or(state.today);
    let expiry = add_years(base, period as i32);
    state
        .store
        .execute(
            "UPDATE tbldomains SET expirydate = ?, status = 'Active', reminders = '' WHERE id = ?",
            &[Val::text(ymd(expiry)), Val::Int(id)],
        )
        .await?;
    Ok(Map::new())
}

async fn domain_transfer(state: &State, p: &Params) -> Answer {
    let _guard = state.write_lock.lock().await;
    let domain = find_domain(state, p, "Domain Not Found").await?;
    let id = domain.int("id");
    if let Some(fail) = registrar_failure(state, id) {
        return Err(fail);
    }
    state
        .store
        .execute(
            "UPDATE tbldomains SET status = 'Pending Transfer', type = 'Transfer' WHERE id = ?",
            &[Val::Int(id)],
        )
        .await?;
    Ok(Map::new())
}

/// Deterministic public ticket number and access code for a ticket id.
fn ticket_numbers(id: i64) -> (String, String) {
    let tid = format!("{:06}", (id * 7_919 + 104_729) % 900_000 + 100_000);
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut n = (id as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let code: String = (0..8)
        .map(|_| {
            let c = ALPHABET[(n % ALPHABET.len() as u64) as usize] as char;
            n /= ALPHABET.len() as u64;
            c
        })
        .collect();
    (tid, code)
}

async fn open_ticket(state: &State, p: &Params) -> Answer {
    let _guard = state.write_lock.lock().await;
    let department = p.int("deptid").unwrap_or(0);
    if !DEPARTMENTS.iter().any(|(id, _)| *id == department) {
        return Err(Fail::new("Department ID not found"));
    }
    let subject = p
        .nonempty("subject")
        .ok_or_else(|| Fail::new("Subject is required"))?;
    let message = p
        .nonempty("message")
        .ok_or_else(|| Fail::new("Message is required"))?;
    let (client_id, name, email) = if let Some(client) = p.int("clientid").filter(|c| *c > 0) {
        let row = state
            .store
            .query_one("SELECT * FROM tblclients WHERE id = ?", &[Val::Int(client)])
            .await?
            .ok_or_else(|| Fail::new("Client ID Not Found"))?;
        (
            client,
            format!("{} {}", row.text("firstname"), row.text("lastname")),
            row.text("email"),
        )
    } else {
        match (p.nonempty("name"), p.nonempty("email")) {
            (Some(name), Some(email)) => (0, name.to_string(), email.to_string()),
            _ => {
                return Err(Fail::new(
                    "Name and email address are required if not a client",
                ))
            }
        }
    };
    let mut service = String::new();
    if let Some(domain_id) = p.int("domainid").filter(|d| *d > 0) {
        // The domain must belong to the ticket's client.
        let owned = state
            .store
            .count(
                "SELECT COUNT(*) AS n FROM tbldomains WHERE id = ? AND userid = ?",
                &[Val::Int(domain_id), Val::Int(client_id)],
            )
            .await?;
        if owned == 0 {
            return Err(Fail::new("Domain ID Not Found"));
        }
        service = format!("D{domain_id}");
    }
    let priority = p
        .get("priority")
        .filter(|prio| matches!(*prio, "Low" | "Medium" | "High"))
        .unwrap_or("Low");
    let today = Val::text(ymd(state.today));
    let written = state
        .store
        .execute(
            "INSERT INTO tbltickets (tid, did, userid, contactid, name, email, c, date, title, message, status, urgency, admin, lastreply, service) \
             VALUES ('', ?, ?, 0, ?, ?, '', ?, ?, ?, 'Open', ?, '', ?, ?)",
            &[Val::Int(department), Val::Int(client_id), Val::text(name), Val::text(email), today.clone(), Val::text(subject), Val::text(message), Val::text(priority), today, Val::text(service)],
        )
        .await?;
    let id = written.last_id;
    let (tid, code) = ticket_numbers(id);
    state
        .store
        .execute(
            "UPDATE tbltickets SET tid = ?, c = ? WHERE id = ?",
            &[
                Val::text(tid.clone()),
                Val::text(code.clone()),
                Val::Int(id),
            ],
        )
        .await?;
    Ok(obj(json!({ "id": id, "tid": tid, "c": code })))
}

async fn get_tickets(state: &State, p: &Params) -> Answer {
    let (start, num) = p.paging();
    let mut filter = Filter::default();
    if let Some(id) = p.nonempty("deptid") {
        filter.add("did = ?", [Val::text(id)]);
    }
    if let Some(id) = p.nonempty("clientid") {
        filter.add("userid = ?", [Val::text(id)]);
    }
    if let Some(email) = p.nonempty("email") {
        filter.add("email = ?", [Val::text(email)]);
    }
    match p.nonempty("status") {
        Some("All Active Tickets") => filter.add("status <> 'Closed'", []),
        Some("Awaiting Reply") => filter.add("status IN ('Open', 'Customer-Reply')", []),
        Some("My Flagged Tickets") => filter.add("1 = 0", []),
        Some(status) => filter.add("status = ?", [Val::text(status)]),
        None => {}
    }
    if let Some(subject) = p.nonempty("subject") {
        filter.add("title LIKE ?", [Val::text(format!("%{subject}%"))]);
    }
    let (total, rows) = filter
        .page(
            &state.store,
            "*",
            "tbltickets",
            "lastreply DESC, id DESC",
            start,
            num,
        )
        .await?;
    let list: Vec<Value> = rows
        .iter()
        .map(|t| {
            json!({
                "id": t.int("id"),
                "tid": t.text("tid"),
                "deptid": t.int("did"),
                "userid": t.int("userid"),
                "name": t.text("name"),
                "email": t.text("email"),
                "cc": "",
                "c": t.text("c"),
                "date": format!("{} 00:00:00", t.date("date")),
                "subject": t.text("title"),
                "status": t.text("status"),
                "priority": t.text("urgency"),
                "admin": t.text("admin"),
                "attachment": "",
                "lastreply": format!("{} 00:00:00", t.date("lastreply")),
                "flag": 0,
                "service": t.text("service"),
            })
        })
        .collect();
    Ok(obj(json!({
        "totalresults": total,
        "startnumber": start,
        "numreturned": list.len(),
        "tickets": if list.is_empty() { json!("") } else { json!({ "ticket": list }) },
    })))
}

async fn add_ticket_reply(state: &State, p: &Params) -> Answer {
    let _guard = state.write_lock.lock().await;
    let id = p.int("ticketid").unwrap_or(0);
    let ticket = state
        .store
        .query_one("SELECT * FROM tbltickets WHERE id = ?", &[Val::Int(id)])
        .await?
        .ok_or_else(|| Fail::new("Ticket ID Not Found"))?;
    let message = p
        .nonempty("message")
        .ok_or_else(|| Fail::new("Message is required"))?;
    let admin = p.nonempty("adminusername").unwrap_or("");
    let client = p.int("clientid").unwrap_or(0);
    let status = match p.nonempty("status") {
        Some(status) => status.to_string(),
        None if !admin.is_empty() => "Answered".into(),
        None => "Customer-Reply".into(),
    };
    let today = Val::text(ymd(state.today));
    state
        .store
        .transaction(&[
            (
                "INSERT INTO tblticketreplies (tid, userid, admin, date, message) VALUES (?, ?, ?, ?, ?)".into(),
                vec![Val::Int(ticket.int("id")), Val::Int(client), Val::text(admin), today.clone(), Val::text(message)],
            ),
            (
                "UPDATE tbltickets SET status = ?, lastreply = ? WHERE id = ?".into(),
                vec![Val::text(status), today, Val::Int(id)],
            ),
        ])
        .await?;
    Ok(Map::new())
}

/// Admin-type e-mail templates the sandbox knows by name.
const ADMIN_TEMPLATES: &[&str] = &[
    "Domain Renewal Failed",
    "Domain Registration Failed",
    "Domain Transfer Failed",
];

async fn send_admin_email(state: &State, p: &Params) -> Answer {
    let (subject, message) = if let Some(template) = p.nonempty("messagename") {
        if !ADMIN_TEMPLATES.contains(&template) {
            return Err(Fail::new("Email Template not found"));
        }
        (template.to_string(), String::new())
    } else {
        match (p.nonempty("customsubject"), p.nonempty("custommessage")) {
            (Some(subject), Some(message)) => (subject.to_string(), message.to_string()),
            _ => return Err(Fail::new("Email Template not found")),
        }
    };
    let kind = match p.get("type") {
        Some(kind @ ("system" | "account" | "support")) => kind.to_string(),
        _ => "system".to_string(),
    };
    state
        .admin_emails
        .lock()
        .expect("admin e-mail log")
        .push(AdminEmail {
            subject,
            message,
            kind,
        });
    Ok(Map::new())
}

async fn log_activity(state: &State, p: &Params) -> Answer {
    let description = p
        .nonempty("description")
        .ok_or_else(|| Fail::new("Description is required"))?;
    let client = p.int("clientid").or_else(|| p.int("userid")).unwrap_or(0);
    state
        .store
        .execute(
            "INSERT INTO tblactivitylog (date, description, user, userid) VALUES (?, ?, 'API', ?)",
            &[
                Val::text(ymd(state.today)),
                Val::text(description),
                Val::Int(client),
            ],
        )
        .await?;
    Ok(Map::new())
}

fn strip_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_tag = false;
    for c in text.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

async fn get_todo_items(state: &State, p: &Params) -> Answer {
    let (start, num) = p.paging();
    let mut filter = Filter::default();
    match p.nonempty("status") {
        Some("Incomplete") => filter.add("status <> 'Completed'", []),
        Some(status) => filter.add("status = ?", [Val::text(status)]),
        None => {}
    }
    let (total, rows) = filter
        .page(
            &state.store,
            "*",
            "tbltodolist",
            "duedate DESC, id DESC",
            start,
            num,
        )
        .await?;
    let mut out = obj(json!({
        "totalresults": total,
        "startnumber": start,
        "numreturned": rows.len(),
    }));
    // WHMCS omits `items` entirely when there are none.
    if !rows.is_empty() {
        let items: Vec<Value> = rows
            .iter()
            .map(|t| {
                json!({
                    "id": t.int("id"),
                    "date": t.date("date"),
                    "title": t.text("title"),
                    "description": strip_html(&t.text("description")),
                    "admin": t.int("admin"),
                    "status": t.text("status"),
                    "duedate": t.date("duedate"),
                })
            })
            .collect();
        out.insert("items".into(), json!({ "item": items }));
    }
    Ok(out)
}

async fn update_todo_item(state: &State, p: &Params) -> Answer {
    let _guard = state.write_lock.lock().await;
    let Some(item) = p.int("itemid").filter(|i| *i > 0) else {
        return Err(Fail::new("TODO Item ID Not Found"));
    };
    let admin = p.int("adminid").unwrap_or(0);
    if !ADMINS.iter().any(|(id, _)| *id == admin) {
        return Err(Fail::new("Admin ID Not Found"));
    }
    let mut sets: Vec<(&str, Val)> = vec![("admin", Val::Int(admin))];
    for field in ["status", "title", "description"] {
        if let Some(value) = p.nonempty(field) {
            sets.push((field, Val::text(value)));
        }
    }
    for field in ["date", "duedate"] {
        if let Some(value) = p.nonempty(field) {
            sets.push((field, Val::text(valid_date(value)?)));
        }
    }
    let assignments: Vec<String> = sets.iter().map(|(c, _)| format!("{c} = ?")).collect();
    let mut params: Vec<Val> = sets.into_iter().map(|(_, v)| v).collect();
    params.push(Val::Int(item));
    // Like WHMCS, an id that does not exist updates nothing and still answers success.
    state
        .store
        .execute(
            &format!(
                "UPDATE tbltodolist SET {} WHERE id = ?",
                assignments.join(", ")
            ),
            &params,
        )
        .await?;
    Ok(obj(json!({ "itemid": item })))
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn xml_value(out: &mut String, key: &str, value: &Value) {
    match value {
        Value::Array(items) => {
            for item in items {
                xml_value(out, key, item);
            }
        }
        Value::Object(map) => {
            out.push_str(&format!("<{key}>"));
            for (k, v) in map {
                xml_value(out, k, v);
            }
            out.push_str(&format!("</{key}>"));
        }
        Value::Null => out.push_str(&format!("<{key}></{key}>")),
        Value::String(s) => out.push_str(&format!("<{key}><![CDATA[{s}]]></{key}>")),
        other => out.push_str(&format!(
            "<{key}>{}</{key}>",
            xml_escape(&other.to_string())
        )),
    }
}

fn to_xml(action: &str, body: &Map<String, Value>) -> String {
    let mut out =
        String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<whmcsapi version=\"8.10.0\">");
    out.push_str(&format!("<action>{}</action>", xml_escape(action)));
    for (k, v) in body {
        xml_value(&mut out, k, v);
    }
    out.push_str("</whmcsapi>");
    out
}

fn to_nvp(body: &Map<String, Value>) -> String {
    body.iter()
        .filter_map(|(k, v)| match v {
            Value::String(s) => Some(format!("{k}={s};")),
            Value::Number(n) => Some(format!("{k}={n};")),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_names_are_matched_loosely() {
        assert_eq!(normalise_action("GetClientsDomains"), "getclientsdomains");
        assert_eq!(
            normalise_action("get_clients-domains "),
            "getclientsdomains"
        );
    }

    #[test]
    fn php_truthiness() {
        let p = Params(vec![
            ("a".into(), "0".into()),
            ("b".into(), "".into()),
            ("c".into(), "0.00".into()),
            ("d".into(), "false".into()),
        ]);
        assert!(!p.truthy("a") && !p.truthy("b") && !p.truthy("missing"));
        // PHP: "0.00" and "false" are non-empty strings, hence true.
        assert!(p.truthy("c") && p.truthy("d"));
        assert!(p.has("a"));
    }

    #[test]
    fn ticket_numbers_are_stable_and_distinct() {
        assert_eq!(ticket_numbers(1), ticket_numbers(1));
        assert_ne!(ticket_numbers(1).0, ticket_numbers(2).0);
        assert_eq!(ticket_numbers(5).0.len(), 6);
        assert_eq!(ticket_numbers(5).1.len(), 8);
    }

    #[test]
    fn xml_and_nvp_rendering() {
        let body = obj(
            json!({"result": "success", "totalresults": 1, "domains": {"domain": [{"id": 1}]}}),
        );
        let xml = to_xml("getclientsdomains", &body);
        assert!(
            xml.starts_with("<?xml") && xml.contains("<domain><id>1</id></domain>"),
            "{xml}"
        );
        assert_eq!(
            to_nvp(&obj(json!({"result": "success", "n": 2}))),
            "n=2;result=success;"
        );
        assert_eq!(strip_html("<p>Hi <b>there</b></p>"), "Hi there");
    }
}
