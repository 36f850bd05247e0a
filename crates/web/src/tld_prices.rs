//! The "TLD prices" page (issue #12): every open TLD price case with its term table, a
//! preview of Fix now (the plan, nothing written) and Fix now itself; JSON under
//! `/api/tld-prices`. Everything from WHMCS or a registrar is escaped.

use crate::auth::SessionInfo;
use crate::html::{csrf_field, esc, page, Frame};
use crate::{Admin, HtmlError, JsonError, WebError, WebState};
use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use domwatch_core::pricing::TermRow;
use domwatch_engine::{FixReport, Mode, StepOutcome};
use domwatch_store::PriceCaseRecord;
use std::fmt::Write;

fn frame<'a>(state: &WebState, session: &'a SessionInfo) -> Frame<'a> {
    Frame {
        session: Some(session),
        open_access: state.auth.is_open_access(),
    }
}

pub(crate) async fn list(
    State(state): State<WebState>,
    admin: Admin,
) -> Result<Html<String>, HtmlError> {
    let cases = state
        .engine
        .store
        .price_cases(true)
        .await
        .map_err(|e| HtmlError(WebError::internal(e)))?;
    let mut b = String::from("<h1>TLD prices</h1><p class=\"muted\">WHMCS's TLD prices against the mapped registrar's price list, per operation and currency. Evidence: one row per term.</p>");
    if cases.is_empty() {
        b.push_str("<p id=\"tld-empty\" class=\"fine\">No TLD price problems: every TLD price WHMCS sells keeps your margin.</p>");
    }
    for c in &cases {
        case_section(&mut b, c, &admin.session);
    }
    Ok(Html(page("TLD prices", &frame(&state, &admin.session), &b)))
}

fn case_section(b: &mut String, c: &PriceCaseRecord, session: &SessionInfo) {
    let f = &c.finding;
    let _ = write!(
        b,
        "<section class=\"tld-case\" id=\"tld-case-{}\"><h2>#{} · .{} {} {}: {}</h2><p>{}</p>",
        c.id,
        c.id,
        esc(&f.tld.unicode()),
        esc(f.operation.as_str()),
        esc(f.currency.as_str()),
        esc(f.kind.title()),
        esc(&f.summary)
    );
    b.push_str("<table class=\"terms\"><tr>");
    for h in TermRow::HEADERS {
        let _ = write!(b, "<th>{}</th>", esc(h));
    }
    b.push_str("</tr>");
    for row in &f.rows {
        b.push_str("<tr>");
        for cell in row.cells() {
            let _ = write!(b, "<td>{}</td>", esc(&cell));
        }
        b.push_str("</tr>");
    }
    b.push_str("</table>");
    if f.proposal.is_some() {
        let _ = write!(
            b,
            "<form class=\"inline\" method=\"post\" action=\"/tld-prices/{}/preview\">{}<button type=\"submit\" name=\"preview\">Fix now…</button></form>",
            c.id,
            csrf_field(session)
        );
    }
    b.push_str("</section>");
}

pub(crate) async fn preview(
    state: State<WebState>,
    admin: Admin,
    id: Path<i64>,
) -> Result<Html<String>, HtmlError> {
    run(state, admin, id, Mode::DryRun).await
}

pub(crate) async fn fix_now(
    state: State<WebState>,
    admin: Admin,
    id: Path<i64>,
) -> Result<Html<String>, HtmlError> {
    run(state, admin, id, Mode::Apply).await
}

async fn run(
    State(state): State<WebState>,
    admin: Admin,
    Path(id): Path<i64>,
    mode: Mode,
) -> Result<Html<String>, HtmlError> {
    let report = state
        .engine
        .tld_price_fix(id, mode, &format!("web:{}", admin.user))
        .await
        .map_err(|e| HtmlError(WebError::from_engine(e)))?;
    if mode == Mode::Apply {
        tracing::info!(tld_case = id, user = %admin.user, ok = report.succeeded(), "TLD price Fix now from the dashboard");
    }
    let body = report_body(&report, mode, &admin.session);
    Ok(Html(page(
        &format!("TLD price case #{id}"),
        &frame(&state, &admin.session),
        &body,
    )))
}

fn report_body(report: &FixReport, mode: Mode, session: &SessionInfo) -> String {
    let id = report.case_id;
    let mut b = match mode {
        Mode::DryRun => format!("<h1>Preview: TLD price case #{id}</h1><p id=\"fix-result\">Nothing was written. This is what Fix now would do:</p>"),
        Mode::Apply if report.succeeded() => format!("<h1>Fix now: TLD price case #{id}</h1><p class=\"fine\" id=\"fix-result\">Done. The next check confirms the case resolves.</p>"),
        Mode::Apply => format!("<h1>Fix now: TLD price case #{id}</h1><p class=\"warn\" id=\"fix-result\">The fix did not complete: see the step; the audit log has every write.</p>"),
    };
    b.push_str("<table id=\"steps\"><tr><th>Step</th><th>Outcome</th></tr>");
    let mut writable = false;
    for s in &report.steps {
        let text = match &s.outcome {
            StepOutcome::WouldApply => {
                writable = true;
                "would be written".to_string()
            }
            StepOutcome::Applied(r) => format!("applied: {}", esc(r)),
            StepOutcome::AlreadyApplied => "already applied earlier".into(),
            StepOutcome::Failed(e) => format!("failed: {}", esc(e)),
            StepOutcome::Manual => "by hand: do this yourself".into(),
        };
        let _ = write!(
            b,
            "<tr class=\"step\"><td>{}</td><td>{text}</td></tr>",
            esc(&s.description)
        );
    }
    b.push_str("</table>");
    if mode == Mode::DryRun && writable {
        let _ = write!(
            b,
            "<p><form class=\"inline\" method=\"post\" action=\"/tld-prices/{id}/fix\">{}<button class=\"fix\" type=\"submit\" name=\"fix\">Fix now</button></form></p>",
            csrf_field(session)
        );
    }
    b.push_str(
        "<p><a href=\"/tld-prices\">Back to TLD prices</a> · <a href=\"/audit\">Audit log</a></p>",
    );
    b
}

/// `GET /api/tld-prices`: the open TLD price cases with their findings.
pub(crate) async fn api_list(
    State(state): State<WebState>,
    _admin: Admin,
) -> Result<Json<Vec<PriceCaseRecord>>, JsonError> {
    state
        .engine
        .store
        .price_cases(true)
        .await
        .map(Json)
        .map_err(|e| JsonError(WebError::internal(e)))
}

/// `POST /api/tld-prices/{id}/fix` with `{"dry_run": true}` for the plan.
pub(crate) async fn api_fix(
    State(state): State<WebState>,
    admin: Admin,
    Path(id): Path<i64>,
    body: Option<Json<serde_json::Value>>,
) -> Response {
    let dry = body
        .and_then(|Json(v)| v.get("dry_run").and_then(|d| d.as_bool()))
        .unwrap_or(false);
    let mode = if dry { Mode::DryRun } else { Mode::Apply };
    match state
        .engine
        .tld_price_fix(id, mode, &admin.api_actor())
        .await
    {
        Ok(report) => Json(serde_json::json!({"succeeded": report.succeeded(), "report": report}))
            .into_response(),
        Err(e) => JsonError(WebError::from_engine(e)).into_response(),
    }
}
