//! `POST /api/events`: signed events from WHMCS hooks (invoice paid, registrar renewal or
//! transfer done or failed) that make domwatch check those domains now.
//!
//! The signature is the authentication (no session, token or CSRF token):
//! `X-Domwatch-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>` with
//! `X-Domwatch-Timestamp: <unix seconds>` within [`MAX_SKEW_SECONDS`] of this server's
//! clock. Each accepted request is stored (its signature unique, so a replay gets 409)
//! before the 202 answer; the worker in `domwatch serve` runs the check
//! (`domwatch_engine::events`). Nothing is checked or changed for a refused request.

use crate::{WebError, WebState};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use domwatch_core::DomainName;
use domwatch_engine::events::EVENT_NAMES;
use domwatch_store::NewInboundEvent;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

pub const TIMESTAMP_HEADER: &str = "x-domwatch-timestamp";
pub const SIGNATURE_HEADER: &str = "x-domwatch-signature";
/// Requests whose timestamp is further than this from the server's clock are refused.
pub const MAX_SKEW_SECONDS: i64 = 300;
/// Event bodies are small; larger ones are refused unread.
pub const MAX_EVENT_BYTES: usize = 64 * 1024;
/// Domains one event may name.
const MAX_DOMAINS: usize = 100;

/// The lowercase hex HMAC-SHA256 of `"<timestamp>.<body>"`: what a sender puts after
/// `sha256=` (WHMCS hooks, outbound webhooks and tests sign the same way).
pub fn signature(secret: &[u8], timestamp: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn refuse(status: StatusCode, message: impl Into<String>) -> Response {
    WebError::new(status, message).respond(true)
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
}

/// Checks the signature and the timestamp; returns the signature (the replay key).
fn authenticate(
    state: &WebState,
    secret: &[u8],
    headers: &HeaderMap,
    body: &[u8],
) -> Result<String, WebError> {
    let unauthorized = |m: &str| WebError::new(StatusCode::UNAUTHORIZED, m);
    let (Some(timestamp), Some(sent)) = (
        header(headers, TIMESTAMP_HEADER),
        header(headers, SIGNATURE_HEADER),
    ) else {
        return Err(unauthorized("missing X-Domwatch-Timestamp or X-Domwatch-Signature: sign the request (see README, \"Instant reaction\")"));
    };
    let sent = sent
        .strip_prefix("sha256=")
        .unwrap_or_default()
        .to_ascii_lowercase();
    let expected = signature(secret, timestamp, body);
    if !crate::auth::constant_time_eq(sent.as_bytes(), expected.as_bytes()) {
        tracing::warn!("event refused: bad signature");
        return Err(unauthorized("the signature does not match: sign \"<timestamp>.<body>\" with HMAC-SHA256 and the [events] secret, as sha256=<lowercase hex>"));
    }
    let Ok(at) = timestamp.parse::<i64>() else {
        return Err(unauthorized("X-Domwatch-Timestamp must be unix seconds"));
    };
    let off = at - state.engine.clock.now().timestamp();
    if off.abs() > MAX_SKEW_SECONDS {
        tracing::warn!(seconds_off = off, "event refused: timestamp out of range");
        return Err(unauthorized(&format!(
            "timestamp {at} is {} s from this server's clock; check both clocks (NTP)",
            off.abs()
        )));
    }
    Ok(expected)
}

/// The body's event, domains (A-labels) and invoice id, or a 400 naming the field.
fn parse_body(body: &[u8]) -> Result<(String, Vec<String>, Option<i64>), String> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| format!("the body is not JSON: {e}"))?;
    let event = value
        .get("event")
        .and_then(Value::as_str)
        .ok_or("field `event` is missing or not a string")?;
    if !EVENT_NAMES.contains(&event) {
        return Err(format!(
            "field `event`: `{}` is unknown; events: {}",
            crate::log_text(event, 60),
            EVENT_NAMES.join(", ")
        ));
    }
    let invoice_id = match value.get("invoice_id") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_i64()
                .filter(|id| *id > 0)
                .ok_or("field `invoice_id` must be a positive integer")?,
        ),
    };
    let listed = match value.get("domains") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) if a.len() <= MAX_DOMAINS => a.clone(),
        Some(Value::Array(_)) => {
            return Err(format!("field `domains`: at most {MAX_DOMAINS} per event"))
        }
        Some(_) => return Err("field `domains` must be an array of domain names".into()),
    };
    let mut domains = Vec::with_capacity(listed.len());
    for (i, d) in listed.iter().enumerate() {
        let name = d
            .as_str()
            .and_then(|s| DomainName::parse(s).ok())
            .ok_or_else(|| format!("field `domains[{i}]` is not a domain name"))?;
        domains.push(name.ascii().to_string());
    }
    if domains.is_empty() && invoice_id.is_none() {
        return Err("field `domains` is empty and there is no `invoice_id`: name the domains or the invoice".into());
    }
    Ok((event.to_string(), domains, invoice_id))
}

/// `POST /api/events`.
pub(crate) async fn receive(
    State(state): State<WebState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(secret) = state.events.secret.as_deref() else {
        return refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "events are not enabled: set [events] secret (or secret_file, DOMWATCH_EVENTS_SECRET) and restart",
        );
    };
    let signature = match authenticate(&state, secret, &headers, &body) {
        Ok(s) => s,
        Err(refused) => return refused.respond(true),
    };
    let (event, domains, invoice_id) = match parse_body(&body) {
        Ok(parsed) => parsed,
        Err(message) => return refuse(StatusCode::BAD_REQUEST, message),
    };
    let new = NewInboundEvent {
        signature,
        event,
        domains,
        invoice_id,
        received_at: state.engine.clock.now(),
    };
    match state.engine.store.queue_event(&new).await {
        Ok(Some(id)) => {
            tracing::info!(event_id = id, event = %new.event, domains = new.domains.len(), "inbound event queued");
            if let Some(worker) = &state.events.worker {
                worker.notify_one();
            }
            (StatusCode::ACCEPTED, Json(json!({"event_id": id, "domains": new.domains}))).into_response()
        }
        Ok(None) => refuse(StatusCode::CONFLICT, "this request was accepted before (same signature): a replay is refused; sign each event with a new timestamp"),
        Err(e) => WebError::internal(e).respond(true),
    }
}

/// `[events]`: the shared secret, and the worker to wake for each accepted event.
#[derive(Clone, Default)]
pub struct EventsConfig {
    pub secret: Option<Vec<u8>>,
    pub worker: Option<std::sync::Arc<tokio::sync::Notify>>,
}

impl std::fmt::Debug for EventsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventsConfig")
            .field("secret", &self.secret.as_ref().map(|_| "***"))
            .field("worker", &self.worker.is_some())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_hex_hmac_of_timestamp_dot_body() {
        // printf '1700000000.{}' | openssl dgst -sha256 -hmac key
        assert_eq!(
            signature(b"key", "1700000000", b"{}"),
            "9d713ed406bb7076d4123f0dc2c39d2df5c654ed4b0cd56b52c8b4c940bd63ae"
        );
    }

    #[test]
    fn bodies_name_the_bad_field() {
        let bad = |b: &str| parse_body(b.as_bytes()).unwrap_err();
        assert!(bad(r#"{"event":"Nope","domains":["a.com"]}"#).contains("field `event`"));
        assert!(
            bad(r#"{"event":"InvoicePaid","domains":["a.com","not a name"]}"#)
                .contains("domains[1]")
        );
        assert!(bad(r#"{"event":"InvoicePaid","domains":[]}"#).contains("invoice_id"));
        assert!(bad(r#"{"event":"InvoicePaid","invoice_id":"x"}"#).contains("invoice_id"));
        let (event, domains, invoice) = parse_body(
            br#"{"event":"InvoicePaid","domains":["M\u00fcller.shop"],"invoice_id":12}"#,
        )
        .unwrap();
        assert_eq!((event.as_str(), invoice), ("InvoicePaid", Some(12)));
        assert_eq!(domains, ["xn--mller-kva.shop"]);
    }
}
