//! `GET /webhooks`: the delivery log of outbound webhooks, newest first: the event, the
//! receiver's host (never its URL, which may hold a token), attempts, the last HTTP
//! status or error, and when the next try is due. Every value is escaped.

use crate::html::{esc, page, Frame};
use crate::{Admin, HtmlError, WebError, WebState};
use axum::extract::State;
use axum::response::Html;
use chrono::{DateTime, Utc};
use domwatch_store::WebhookDeliveryRecord;
use std::fmt::Write;

const LOG_SIZE: i64 = 200;

pub(crate) async fn webhooks_page(
    State(state): State<WebState>,
    admin: Admin,
) -> Result<Html<String>, HtmlError> {
    let deliveries = state
        .engine
        .store
        .webhook_deliveries(LOG_SIZE)
        .await
        .map_err(|e| HtmlError(WebError::internal(e)))?;
    let mut b = String::from("<h1>Webhooks</h1><p class=\"muted\">Deliveries to the receivers in <code>[[webhooks]]</code>, newest first. Failed tries are repeated with growing pauses (30 s, 1 min, 2 min … at most 6 h, 12 tries); a receiver de-duplicates by the delivery id.</p>");
    if deliveries.is_empty() {
        b.push_str("<p id=\"webhooks-empty\">No deliveries yet. Configure a receiver under <code>[[webhooks]]</code>; case changes from then on are sent to it.</p>");
    } else {
        b.push_str("<table id=\"webhooks\"><tr><th>Queued</th><th>Event</th><th>Case</th><th>Receiver</th><th>State</th><th>Attempts</th><th>Last answer</th><th>Next try</th><th>Delivery id</th></tr>");
        for d in &deliveries {
            row(&mut b, d);
        }
        b.push_str("</table>");
    }
    let frame = Frame {
        session: Some(&admin.session),
        open_access: state.auth.is_open_access(),
    };
    Ok(Html(page("Webhooks", &frame, &b)))
}

fn row(b: &mut String, d: &WebhookDeliveryRecord) {
    let last = match (d.last_status, &d.last_error) {
        (Some(status), _) => format!("HTTP {status}"),
        (None, Some(error)) => error.clone(),
        (None, None) => "—".into(),
    };
    let class = match d.status.as_str() {
        "delivered" => "outcome-applied",
        "failed" => "outcome-failed",
        _ => "",
    };
    let _ = write!(
        b,
        "<tr class=\"webhook-delivery\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"{class}\">{}</td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
        time(d.created_at),
        esc(&d.event),
        d.case_id.map(|c| format!("<a href=\"/cases/{c}\">#{c}</a>")).unwrap_or_default(),
        esc(&d.host),
        esc(&d.status),
        d.attempts,
        esc(&last),
        d.next_attempt_at.map(time).unwrap_or_else(|| "—".into()),
        esc(&d.delivery_id),
    );
}

fn time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}
