//! Paying an invoice, as WHMCS's payment handling does it: `POST /_sandbox/pay-invoice`
//! and [`super::WhmcsSandbox::pay_invoice`].

use super::store::Val;
use super::State;
use crate::portfolio::add_years;
use axum::body::Bytes;
use axum::extract::State as AxumState;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use std::sync::Arc;

/// The result of paying an invoice.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PaidInvoice {
    pub invoice_id: u64,
    /// Domains whose next due date moved: (domain id, new next due date).
    pub advanced_domains: Vec<(u64, NaiveDate)>,
}

#[derive(Debug, thiserror::Error)]
pub enum PayError {
    #[error("Invoice ID Not Found")]
    NotFound,
    #[error("invoice {0} is {1}, only Unpaid invoices can be paid")]
    NotUnpaid(u64, String),
    #[error("sandbox storage error: {0:#}")]
    Storage(#[from] anyhow::Error),
}

/// Marks the invoice Paid (today) and, like WHMCS `makeDomainPayment`, advances each
/// paid domain's `nextduedate` (and `nextinvoicedate`) by its registration period. The
/// registrar renewal that WHMCS would trigger is the registrar sandbox's business.
pub(crate) async fn pay_invoice(state: &State, invoice_id: u64) -> Result<PaidInvoice, PayError> {
    let _guard = state.write_lock.lock().await;
    let invoice = state
        .store
        .query_one(
            "SELECT * FROM tblinvoices WHERE id = ?",
            &[Val::Int(invoice_id as i64)],
        )
        .await?
        .ok_or(PayError::NotFound)?;
    let status = invoice.text("status");
    if status != "Unpaid" {
        return Err(PayError::NotUnpaid(invoice_id, status));
    }
    let items = state
        .store
        .query(
            "SELECT * FROM tblinvoiceitems WHERE invoiceid = ? AND type IN ('Domain', 'DomainRegister', 'DomainTransfer')",
            &[Val::Int(invoice_id as i64)],
        )
        .await?;
    let today = state.today.format("%Y-%m-%d").to_string();
    let mut statements = vec![(
        "UPDATE tblinvoices SET status = 'Paid', datepaid = ? WHERE id = ?".to_string(),
        vec![Val::text(today), Val::Int(invoice_id as i64)],
    )];
    let mut advanced = Vec::new();
    for item in items {
        let Some(domain) = state
            .store
            .query_one(
                "SELECT * FROM tbldomains WHERE id = ?",
                &[Val::Int(item.int("relid"))],
            )
            .await?
        else {
            continue;
        };
        let period = domain.int("registrationperiod").max(1) as i32;
        let base = domain.date_opt("nextduedate").unwrap_or(state.today);
        let next_due = add_years(base, period);
        let next_due_text = next_due.format("%Y-%m-%d").to_string();
        statements.push((
            "UPDATE tbldomains SET nextduedate = ?, nextinvoicedate = ? WHERE id = ?".into(),
            vec![
                Val::text(next_due_text.clone()),
                Val::text(next_due_text),
                Val::Int(domain.int("id")),
            ],
        ));
        advanced.push((domain.int("id") as u64, next_due));
    }
    state.store.transaction(&statements).await?;
    Ok(PaidInvoice {
        invoice_id,
        advanced_domains: advanced,
    })
}

/// `POST /_sandbox/pay-invoice`.
pub(crate) async fn pay_invoice_endpoint(
    AxumState(state): AxumState<Arc<State>>,
    body: Bytes,
) -> Response {
    // Accepts `invoiceid=N` (form) or `{"invoiceid": N}` (JSON).
    let invoice_id = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| {
            v.get("invoiceid").and_then(|i| {
                i.as_u64()
                    .or_else(|| i.as_str().and_then(|s| s.parse().ok()))
            })
        })
        .or_else(|| {
            serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body)
                .ok()?
                .into_iter()
                .find(|(k, _)| k == "invoiceid")
                .and_then(|(_, v)| v.parse().ok())
        });
    let Some(invoice_id) = invoice_id else {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(serde_json::json!({"result": "error", "message": "invoiceid is required"})),
        )
            .into_response();
    };
    match pay_invoice(&state, invoice_id).await {
        Ok(paid) => axum::Json(serde_json::json!({
            "result": "success",
            "invoiceid": paid.invoice_id,
            "domains": paid.advanced_domains.iter().map(|(id, due)| serde_json::json!({"domainid": id, "nextduedate": due.format("%Y-%m-%d").to_string()})).collect::<Vec<_>>(),
        }))
        .into_response(),
        Err(e) => {
            let status = match e {
                PayError::NotFound => StatusCode::NOT_FOUND,
                PayError::NotUnpaid(..) => StatusCode::CONFLICT,
                PayError::Storage(_) => StatusCode::INTERNAL_SERVER_ERROR,
            };
            (status, axum::Json(serde_json::json!({"result": "error", "message": e.to_string()}))).into_response()
        }
    }
}
