//! GetInvoices, GetInvoice and UpdateInvoice.
use crate::whmcs::call::valid_date;
use crate::whmcs::call::{obj, ymd, Answer, Fail, Filter, Params};
use crate::whmcs::store::{Row, Val};
use crate::whmcs::State;
use rust_decimal::Decimal;
use serde_json::{json, Value};
use std::str::FromStr;
use std::sync::atomic::Ordering;

pub(super) fn invoice_summary_json(row: &Row) -> Value {
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

pub(super) async fn get_invoices(state: &State, p: &Params) -> Answer {
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

pub(super) async fn get_invoice(state: &State, p: &Params) -> Answer {
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

pub(super) const INVOICE_STATUSES: &[&str] = &[
    "Draft",
    "Unpaid",
    "Paid",
    "Cancelled",
    "Refunded",
    "Collections",
    "Payment Pending",
];

/// One SQL statement of a transaction, with its parameters.
type Statement = (String, Vec<Val>);

pub(super) async fn update_invoice(state: &State, p: &Params) -> Answer {
    let _guard = state.write_lock.lock().await;
    let id = p.int("invoiceid").unwrap_or(0);
    let invoice = state
        .store
        .query_one("SELECT * FROM tblinvoices WHERE id = ?", &[Val::Int(id)])
        .await?
        .ok_or_else(|| Fail::new("Invoice ID Not Found"))?;
    let sets = invoice_changes(state, p).await?;
    let mut statements = changed_items(p, id)?;
    statements.extend(new_items(p, id, &invoice));
    statements.extend(deleted_items(p, id));
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
    if state.store.dialect() == crate::whmcs::store::Dialect::Sqlite {
        two_decimal_total(state, id).await?;
    }
    Ok(obj(json!({ "invoiceid": id })))
}

/// The invoice columns the call sets (status, dates, notes, payment method), checked.
async fn invoice_changes<'a>(state: &State, p: &'a Params) -> Result<Vec<(&'a str, Val)>, Fail> {
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
        crate::whmcs::clients::check_payment_method(state, method).await?;
        sets.push(("paymentmethod", Val::text(method)));
    }
    Ok(sets)
}

/// `itemdescription[id]` / `itemamount[id]` / `itemtaxed[id]`: changed lines; an amount
/// is required with each description.
fn changed_items(p: &Params, id: i64) -> Result<Vec<Statement>, Fail> {
    let amounts = p.keyed("itemamount");
    let taxed = p.keyed("itemtaxed");
    let mut statements = Vec::new();
    for (item_id, description) in &p.keyed("itemdescription") {
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
    Ok(statements)
}

/// `newitemdescription[]` / `newitemamount[]` / `newitemtaxed[]`: added lines.
fn new_items(p: &Params, id: i64, invoice: &Row) -> Vec<Statement> {
    let new_amounts = p.all("newitemamount[]");
    let new_taxed = p.all("newitemtaxed[]");
    let mut statements = Vec::new();
    for (i, description) in p.all("newitemdescription[]").iter().enumerate() {
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
    statements
}

/// `deletelineids[]`: removed lines (ids that are no number are ignored, as WHMCS does).
fn deleted_items(p: &Params, id: i64) -> Vec<Statement> {
    p.all("deletelineids[]")
        .into_iter()
        .filter_map(|line| line.trim().parse::<i64>().ok())
        .map(|line| {
            (
                "DELETE FROM tblinvoiceitems WHERE id = ? AND invoiceid = ?".into(),
                vec![Val::Int(line), Val::Int(id)],
            )
        })
        .collect()
}

/// SQLite's SUM of text amounts yields a float; store it back as a two-decimal string.
async fn two_decimal_total(state: &State, id: i64) -> Result<(), Fail> {
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
    Ok(())
}
