//! `/metrics` (Prometheus text exposition, written by hand) and `/healthz`.

use crate::auth;
use crate::{security, WebError, WebState};
use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, COOKIE};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use domwatch_core::detect::CaseKind;
use domwatch_store::{CaseState, SCHEDULER_LEASE};
use std::collections::BTreeMap;
use std::fmt::Write;

/// Runs looked at for the notice counter (a year of hourly runs).
const RUNS_FOR_NOTICE_COUNT: i64 = 10_000;

pub(crate) async fn healthz(State(state): State<WebState>) -> Response {
    let read = match state.engine.store.runs(1).await {
        Ok(_) => leader_line(&state).await,
        Err(e) => Err(e),
    };
    match read {
        Ok(line) => (StatusCode::OK, format!("ok\n{line}")).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "health check: database not readable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "database not readable: see the domwatch log\n",
            )
                .into_response()
        }
    }
}

/// Under `domwatch serve`: whether this instance holds the leader lease now (it runs the
/// checks). Public, so it names no host.
async fn leader_line(state: &WebState) -> Result<String, domwatch_store::StoreError> {
    let Some(me) = &state.instance else {
        return Ok(String::new());
    };
    let lease = state.engine.store.lease(SCHEDULER_LEASE).await?;
    let leads = lease.is_some_and(|l| l.holder == **me && l.is_held_at(Utc::now()));
    Ok(format!("leader: {}\n", if leads { "yes" } else { "no" }))
}

/// Who holds the leader lease, for `/metrics`.
async fn render_leader(state: &WebState, out: &mut String) -> Result<(), WebError> {
    let Some(me) = &state.instance else {
        return Ok(());
    };
    let lease = state
        .engine
        .store
        .lease(SCHEDULER_LEASE)
        .await
        .map_err(WebError::internal)?
        .filter(|l| l.is_held_at(Utc::now()));
    out.push_str("# HELP domwatch_leader 1 when this instance holds the leader lease (it runs the scheduled checks).\n# TYPE domwatch_leader gauge\n");
    let leads = lease.as_ref().is_some_and(|l| l.holder == **me);
    let _ = writeln!(
        out,
        "domwatch_leader{{instance=\"{}\"}} {}",
        label(me),
        u8::from(leads)
    );
    if let Some(lease) = lease {
        out.push_str("# HELP domwatch_leader_info The instance holding the leader lease, and since when (Unix time).\n# TYPE domwatch_leader_info gauge\n");
        let _ = writeln!(
            out,
            "domwatch_leader_info{{holder=\"{}\"}} {}",
            label(&lease.holder),
            lease.acquired_at.timestamp()
        );
    }
    Ok(())
}

/// Metrics carry business figures. They are served with `serve.metrics_token` as bearer
/// token, to a logged-in admin, and, only while no token is configured, to a client on
/// this machine that did not come through a proxy (a local Prometheus or agent).
fn may_read_metrics(state: &WebState, request: &Request) -> bool {
    let headers = request.headers();
    match &state.security.metrics_token {
        Some(token) => {
            let presented = headers
                .get(AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .map(str::trim);
            if presented.is_some_and(|p| auth::constant_time_eq(p.as_bytes(), token.as_bytes())) {
                return true;
            }
        }
        None => {
            let local = security::client_ip(
                request.extensions(),
                headers,
                &state.security.trusted_proxies,
            )
            .is_none_or(|ip| ip.is_loopback());
            if local && !security::is_forwarded(headers) {
                return true;
            }
        }
    }
    if state.auth.is_open_access() {
        return false;
    }
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(auth::session_id_from_cookies)
        .and_then(|id| state.sessions.get(id, state.now()))
        .is_some()
}

fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

pub(crate) async fn metrics(State(state): State<WebState>, request: Request) -> Response {
    if !may_read_metrics(&state, &request) {
        let message = if state.security.metrics_token.is_some() {
            "metrics need `Authorization: Bearer <serve.metrics_token>` (Prometheus: bearer_token_file) or a logged-in admin"
        } else {
            "metrics are served to this machine or a logged-in admin: set serve.metrics_token and scrape with it as bearer token"
        };
        return WebError::forbidden(message).respond(true);
    }
    match render(&state).await {
        Ok(text) => (
            [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
            text,
        )
            .into_response(),
        Err(e) => e.respond(true),
    }
}

async fn render(state: &WebState) -> Result<String, WebError> {
    let store = &state.engine.store;
    // Counted and summed in SQL: the scrape costs the same at any number of cases.
    let open = store
        .case_summary(Some(CaseState::Open))
        .await
        .map_err(WebError::internal)?;
    let runs = store
        .runs(RUNS_FOR_NOTICE_COUNT)
        .await
        .map_err(WebError::internal)?;

    let mut per_kind: BTreeMap<&'static str, i64> =
        CaseKind::ALL.iter().map(|k| (k.as_str(), 0)).collect();
    for k in &open.kinds {
        *per_kind.entry(k.kind.as_str()).or_default() += k.count;
    }
    let mut out = String::new();
    out.push_str(
        "# HELP domwatch_open_cases Open cases per kind.\n# TYPE domwatch_open_cases gauge\n",
    );
    for (kind, n) in &per_kind {
        let _ = writeln!(out, "domwatch_open_cases{{kind=\"{}\"}} {n}", label(kind));
    }
    out.push_str("# HELP domwatch_money_at_stake Money at stake per renewal over all open cases, per currency.\n# TYPE domwatch_money_at_stake gauge\n");
    for sum in &open.at_stake {
        let _ = writeln!(
            out,
            "domwatch_money_at_stake{{currency=\"{}\"}} {}",
            label(sum.currency.as_str()),
            sum.amount.normalize()
        );
    }

    if let Some(last) = runs.first() {
        out.push_str("# HELP domwatch_last_run_timestamp_seconds Start of the newest monitoring run (Unix time).\n# TYPE domwatch_last_run_timestamp_seconds gauge\n");
        let _ = writeln!(
            out,
            "domwatch_last_run_timestamp_seconds {}",
            last.started_at.timestamp()
        );
        out.push_str("# HELP domwatch_last_run_status Status of the newest monitoring run (1 for the current status).\n# TYPE domwatch_last_run_status gauge\n");
        for status in ["running", "ok", "failed"] {
            let _ = writeln!(
                out,
                "domwatch_last_run_status{{status=\"{status}\"}} {}",
                u8::from(last.status == status)
            );
        }
    }
    if let Some((run, finished)) = runs.iter().find_map(|r| r.finished_at.map(|f| (r, f))) {
        out.push_str("# HELP domwatch_last_run_duration_seconds Duration of the newest finished monitoring run.\n# TYPE domwatch_last_run_duration_seconds gauge\n");
        let seconds = (finished - run.started_at).num_milliseconds() as f64 / 1000.0;
        let _ = writeln!(out, "domwatch_last_run_duration_seconds {seconds}");
    }
    let notices: u64 = runs
        .iter()
        .filter_map(|r| r.stats.get("notices_sent").and_then(|n| n.as_u64()))
        .sum();
    out.push_str("# HELP domwatch_notices_sent_total Admin notices sent by the recorded monitoring runs.\n# TYPE domwatch_notices_sent_total counter\n");
    let _ = writeln!(out, "domwatch_notices_sent_total {notices}");
    render_leader(state, &mut out).await?;
    let deliveries = store
        .webhook_delivery_counts()
        .await
        .map_err(WebError::internal)?;
    out.push_str("# HELP domwatch_webhook_deliveries Webhook deliveries kept (30 days) per status: pending (incl. retrying), delivered, failed (gave up).\n# TYPE domwatch_webhook_deliveries gauge\n");
    for status in ["pending", "delivered", "failed"] {
        let n = deliveries
            .iter()
            .find(|(s, _)| s == status)
            .map_or(0, |(_, n)| *n);
        let _ = writeln!(
            out,
            "domwatch_webhook_deliveries{{status=\"{status}\"}} {n}"
        );
    }
    Ok(out)
}
