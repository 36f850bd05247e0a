//! GetClients, GetPaymentMethods, and payment methods checked against the configured
//! gateways (`tblpaymentgateways`, display name in the `name` setting) as WHMCS does.

use super::call::{obj, Answer, Fail, Params};
use super::store::{Dialect, Row, Val};
use super::State;
use serde_json::{json, Value};

/// The display name of a row's `paymentmethod`, as a select column
/// (`paymentmethodname`).
pub const DISPLAY_NAME_SQL: &str = "(SELECT value FROM tblpaymentgateways g \
     WHERE g.gateway = tbldomains.paymentmethod AND g.setting = 'name') AS paymentmethodname";

/// The gateway's display name, or the module name when no gateway of that name exists.
pub fn display_name(row: &Row) -> String {
    let name = row.text("paymentmethodname");
    if name.is_empty() {
        row.text("paymentmethod")
    } else {
        name
    }
}

/// Configured gateways in display order: (module, display name).
async fn gateways(state: &State) -> Result<Vec<(String, String)>, Fail> {
    let rows = state
        .store
        .query(
            "SELECT gateway, value FROM tblpaymentgateways WHERE setting = 'name' ORDER BY `order`, id",
            &[],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| (r.text("gateway"), r.text("value")))
        .collect())
}

/// Refuses a payment method that is not a configured gateway, with WHMCS's message.
pub async fn check_payment_method(state: &State, method: &str) -> Result<(), Fail> {
    let known = gateways(state).await?;
    if known.iter().any(|(module, _)| module == method) {
        return Ok(());
    }
    let modules: Vec<&str> = known.iter().map(|(m, _)| m.as_str()).collect();
    Err(Fail::new(format!(
        "Invalid Payment Method. Valid options include {}",
        modules.join(",")
    )))
}

pub async fn get_payment_methods(state: &State) -> Answer {
    let methods: Vec<Value> = gateways(state)
        .await?
        .into_iter()
        .map(|(module, name)| json!({ "module": module, "displayname": name }))
        .collect();
    Ok(obj(json!({
        "totalresults": methods.len(),
        "paymentmethods": { "paymentmethod": methods },
    })))
}

/// Columns GetClients may be ordered by.
const ORDER_COLUMNS: &[&str] = &[
    "id",
    "firstname",
    "lastname",
    "companyname",
    "email",
    "datecreated",
    "groupid",
    "status",
];

/// GetClients: `limitstart`/`limitnum` paging, `search` (the start of the e-mail, first
/// name, last name, full name or company), `status`, `orderby` and `sorting` (ASC/DESC).
pub async fn get_clients(state: &State, p: &Params) -> Answer {
    let (start, num) = p.paging();
    let mut clauses = Vec::new();
    let mut params = Vec::new();
    if let Some(search) = p.nonempty("search") {
        let full_name = match state.store.dialect() {
            Dialect::MySql => "CONCAT(firstname, ' ', lastname)",
            Dialect::Sqlite => "(firstname || ' ' || lastname)",
        };
        let like = format!("{}%", search.replace(['%', '_'], ""));
        let columns = ["email", "firstname", "lastname", full_name, "companyname"];
        let tests: Vec<String> = columns.iter().map(|c| format!("{c} LIKE ?")).collect();
        clauses.push(format!("({})", tests.join(" OR ")));
        params.extend(columns.iter().map(|_| Val::text(like.clone())));
    }
    if let Some(status) = p.nonempty("status") {
        clauses.push("status = ?".to_string());
        params.push(Val::text(status));
    }
    let filter = if clauses.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", clauses.join(" AND "))
    };
    let order = p
        .nonempty("orderby")
        .filter(|o| ORDER_COLUMNS.contains(o))
        .unwrap_or("id");
    let direction = match p.get("sorting") {
        Some(s) if s.eq_ignore_ascii_case("desc") => "DESC",
        _ => "ASC",
    };
    let total = state
        .store
        .count(
            &format!("SELECT COUNT(*) AS n FROM tblclients{filter}"),
            &params,
        )
        .await?;
    params.extend([Val::Int(num), Val::Int(start)]);
    let rows = state
        .store
        .query(
            &format!(
                "SELECT id, firstname, lastname, companyname, email, datecreated, groupid, status \
                 FROM tblclients{filter} ORDER BY {order} {direction}, id {direction} LIMIT ? OFFSET ?"
            ),
            &params,
        )
        .await?;
    let clients: Vec<Value> = rows
        .iter()
        .map(|r| {
            json!({
                "id": r.int("id"),
                "firstname": r.text("firstname"),
                "lastname": r.text("lastname"),
                "companyname": r.text("companyname"),
                "email": r.text("email"),
                "datecreated": r.date("datecreated"),
                "groupid": r.int("groupid"),
                "status": r.text("status"),
            })
        })
        .collect();
    Ok(obj(json!({
        "totalresults": total,
        "startnumber": start,
        "numreturned": clients.len(),
        "clients": { "client": clients },
    })))
}

/// GetClientsDetails: one client by id or e-mail, with the deprecated top-level copies.
pub async fn get_clients_details(state: &State, p: &Params) -> Answer {
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
