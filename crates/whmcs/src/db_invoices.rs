//! Domain invoices read straight from the WHMCS database: the renewal invoices of many
//! domains by the rule of [`crate::renewal`] in a few statements, and the newest invoice
//! of one domain event (read right before a cancellation is written).
//!
//! WHMCS indexes `tblinvoiceitems` on (userid, type, relid) and writes the invoice's
//! client into each of its lines, so lines are looked up by client and domain, and only
//! lines whose invoice belongs to the same client count (as GetInvoices by `userid` does).

use crate::actions::{DomainInvoiceKind, Invoice, InvoiceItem};
use crate::db::{query_error, DbError, WhmcsDb};
use crate::json;
use crate::renewal::{InvoiceFor, RenewalInvoices, RenewalWindow};
use rust_decimal::Decimal;
use sqlx::mysql::MySqlRow;
use sqlx::Row;
use std::collections::HashMap;

/// (client, domain) pairs per statement: about 2,000 bound values.
const PAIRS_PER_STATEMENT: usize = 1000;
/// Invoice ids per statement when reading the invoices found.
const IDS_PER_STATEMENT: usize = 1000;

impl WhmcsDb {
    /// The renewal invoice of each of `domains` (absent: none), with its lines and the
    /// client's current currency, completely or an error.
    pub async fn renewal_invoices(
        &self,
        domains: &[InvoiceFor],
        window: RenewalWindow,
    ) -> Result<RenewalInvoices, DbError> {
        let since = window.since.format("%Y-%m-%d").to_string();
        let mut newest: HashMap<(u64, u64), u64> = HashMap::with_capacity(domains.len());
        for chunk in domains.chunks(PAIRS_PER_STATEMENT) {
            let pairs = vec!["(ii.userid = ? AND ii.relid = ?)"; chunk.len()].join(" OR ");
            let sql = format!(
                "SELECT CAST(ii.userid AS CHAR) AS userid, CAST(ii.relid AS CHAR) AS relid, \
                 CAST(MAX(i.id) AS CHAR) AS invoiceid FROM tblinvoiceitems ii \
                 JOIN tblinvoices i ON i.id = ii.invoiceid AND i.userid = ii.userid \
                 WHERE ii.type = 'Domain' AND ({pairs}) AND i.date >= ? \
                 GROUP BY ii.userid, ii.relid"
            );
            let mut query = sqlx::query(&sql);
            for d in chunk {
                query = query.bind(d.client_id as i64).bind(d.domain_id as i64);
            }
            self.each_row(query.bind(&since), "reading renewal invoice lines", |row| {
                let key = (id_of(row, "userid")?, id_of(row, "relid")?);
                newest.insert(key, id_of(row, "invoiceid")?);
                Ok(())
            })
            .await?;
        }
        let mut ids: Vec<u64> = newest.values().copied().collect();
        ids.sort_unstable();
        ids.dedup();
        let invoices = self.invoices_by_id(&ids).await?;
        let mut found = RenewalInvoices::with_capacity(newest.len());
        for d in domains {
            if let Some(id) = newest.get(&(d.client_id, d.domain_id)) {
                let invoice = invoices.get(id).ok_or_else(|| {
                    DbError::BadData(format!("invoice #{id} vanished while it was being read"))
                })?;
                found.insert(d.domain_id, invoice.clone());
            }
        }
        Ok(found)
    }

    /// The newest invoice of `client_id` with a `kind` line for `domain_id` (and the given
    /// status, `Overdue` meaning unpaid past its due date, as GetInvoices reads it).
    pub async fn find_domain_invoice(
        &self,
        client_id: u64,
        domain_id: u64,
        kind: DomainInvoiceKind,
        status: Option<&str>,
    ) -> Result<Option<Invoice>, DbError> {
        let status_sql = match status {
            None => "",
            Some(s) if s.eq_ignore_ascii_case("Overdue") => {
                " AND i.status = 'Unpaid' AND i.duedate < CURDATE()"
            }
            Some(_) => " AND i.status = ?",
        };
        let sql = format!(
            "SELECT CAST(MAX(i.id) AS CHAR) AS invoiceid FROM tblinvoiceitems ii \
             JOIN tblinvoices i ON i.id = ii.invoiceid AND i.userid = ii.userid \
             WHERE ii.userid = ? AND ii.type = ? AND ii.relid = ?{status_sql}"
        );
        let mut query = sqlx::query(&sql)
            .bind(client_id as i64)
            .bind(kind.item_type())
            .bind(domain_id as i64);
        if let Some(s) = status.filter(|s| !s.eq_ignore_ascii_case("Overdue")) {
            query = query.bind(s);
        }
        let row = query
            .fetch_one(self.pool())
            .await
            .map_err(query_error("looking up the domain's invoice"))?;
        let id: Option<&str> = row
            .try_get("invoiceid")
            .map_err(query_error("reading the invoice id"))?;
        let Some(id) = json::u64_of("invoiceid", id).map_err(DbError::BadData)? else {
            return Ok(None);
        };
        let mut invoices = self.invoices_by_id(&[id]).await?;
        Ok(invoices.remove(&id))
    }

    /// The invoices `ids` (sorted, distinct) with all their lines, by id.
    async fn invoices_by_id(&self, ids: &[u64]) -> Result<HashMap<u64, Invoice>, DbError> {
        let mut out = HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(IDS_PER_STATEMENT) {
            let marks = vec!["?"; chunk.len()].join(", ");
            let sql = format!(
                "SELECT CAST(i.id AS CHAR) AS id, CAST(i.userid AS CHAR) AS userid, \
                 CAST(i.status AS CHAR) AS status, CAST(i.date AS CHAR) AS date, \
                 CAST(i.duedate AS CHAR) AS duedate, CAST(i.datepaid AS CHAR) AS datepaid, \
                 CAST(i.subtotal AS CHAR) AS subtotal, CAST(i.total AS CHAR) AS total, \
                 CAST(cur.code AS CHAR) AS currencycode FROM tblinvoices i \
                 LEFT JOIN tblclients c ON c.id = i.userid \
                 LEFT JOIN tblcurrencies cur ON cur.id = c.currency WHERE i.id IN ({marks})"
            );
            self.each_row(bind_ids(&sql, chunk), "reading tblinvoices", |row| {
                let invoice = invoice_of(row)?;
                out.insert(invoice.id, invoice);
                Ok(())
            })
            .await?;
            let sql = format!(
                "SELECT CAST(id AS CHAR) AS id, CAST(invoiceid AS CHAR) AS invoiceid, \
                 CAST(type AS CHAR) AS type, CAST(relid AS CHAR) AS relid, \
                 CAST(description AS CHAR) AS description, CAST(amount AS CHAR) AS amount, \
                 CAST(taxed AS CHAR) AS taxed FROM tblinvoiceitems \
                 WHERE invoiceid IN ({marks}) ORDER BY id"
            );
            self.each_row(bind_ids(&sql, chunk), "reading tblinvoiceitems", |row| {
                let invoice_id = id_of(row, "invoiceid")?;
                let item = item_of(row)?;
                if let Some(invoice) = out.get_mut(&invoice_id) {
                    invoice.items.push(item);
                }
                Ok(())
            })
            .await?;
        }
        Ok(out)
    }
}

/// `sql` with each of `ids` bound to its `?` in turn.
fn bind_ids<'q>(
    sql: &'q str,
    ids: &[u64],
) -> sqlx::query::Query<'q, sqlx::MySql, sqlx::mysql::MySqlArguments> {
    ids.iter()
        .fold(sqlx::query(sql), |query, id| query.bind(*id as i64))
}

fn text<'r>(row: &'r MySqlRow, column: &str) -> Result<Option<&'r str>, DbError> {
    row.try_get(column).map_err(|e| DbError::Query {
        what: format!("reading column {column}"),
        detail: e.to_string(),
    })
}

fn id_of(row: &MySqlRow, column: &str) -> Result<u64, DbError> {
    json::u64_of(column, text(row, column)?)
        .map_err(DbError::BadData)?
        .ok_or_else(|| DbError::BadData(format!("column {column} is NULL")))
}

fn amount_of(row: &MySqlRow, column: &str) -> Result<Decimal, DbError> {
    Ok(json::decimal_of(column, text(row, column)?)
        .map_err(DbError::BadData)?
        .unwrap_or(Decimal::ZERO))
}

fn date_of(row: &MySqlRow, column: &str) -> Result<Option<chrono::NaiveDate>, DbError> {
    json::date_of(column, text(row, column)?).map_err(DbError::BadData)
}

/// An invoice without lines. `balance` is the total while unpaid and 0 once paid: the
/// payments themselves (`tblaccounts`) are not read, and nothing in domwatch uses it.
fn invoice_of(row: &MySqlRow) -> Result<Invoice, DbError> {
    let status = text(row, "status")?.unwrap_or_default().to_string();
    let total = amount_of(row, "total")?;
    Ok(Invoice {
        id: id_of(row, "id")?,
        client_id: id_of(row, "userid")?,
        date: date_of(row, "date")?,
        due_date: date_of(row, "duedate")?,
        date_paid: date_of(row, "datepaid")?,
        subtotal: amount_of(row, "subtotal")?,
        total,
        balance: if status.eq_ignore_ascii_case("Paid") {
            Decimal::ZERO
        } else {
            total
        },
        status,
        items: Vec::new(),
        client_currency: text(row, "currencycode")?.and_then(|c| c.trim().parse().ok()),
    })
}

fn item_of(row: &MySqlRow) -> Result<InvoiceItem, DbError> {
    Ok(InvoiceItem {
        id: id_of(row, "id")?,
        item_type: text(row, "type")?.unwrap_or_default().to_string(),
        rel_id: json::u64_of("relid", text(row, "relid")?)
            .map_err(DbError::BadData)?
            .unwrap_or(0),
        description: text(row, "description")?.unwrap_or_default().to_string(),
        amount: amount_of(row, "amount")?,
        taxed: json::flag_of(text(row, "taxed")?),
    })
}
