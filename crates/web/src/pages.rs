//! The HTML pages.

use crate::auth::{self, SessionInfo};
use crate::html::{csrf_field, esc, page, Frame};
use crate::{security, Admin, ConnectionInfo, HtmlError, WebError, WebState};
use axum::extract::{Path, Query, State};
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use chrono::{DateTime, Utc};
use domwatch_core::plan::{guide, Guide, PlanOption, Target};
use domwatch_engine::{FixReport, Mode, StepOutcome};
use domwatch_store::{ActionRecord, CaseEvent, CaseRecord, CaseState, NoticeRecord};
use serde::Deserialize;
use std::fmt::Write;
use std::time::Duration;

const AUDIT_PAGE_SIZE: i64 = 50;

type PageResult = Result<Html<String>, HtmlError>;

fn frame<'a>(state: &WebState, session: &'a SessionInfo) -> Frame<'a> {
    Frame {
        session: Some(session),
        open_access: state.auth.is_open_access(),
    }
}

fn fail(error: WebError) -> HtmlError {
    HtmlError(error)
}

pub(crate) fn time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// The actor recorded in the audit log for a dashboard user.
fn actor(user: &str) -> String {
    format!("web:{user}")
}

// ---- Check now (the button is on the summary, `summary_page.rs`) ----------------------

pub(crate) async fn check_now(State(state): State<WebState>, admin: Admin) -> Response {
    match &state.check_now {
        Some(trigger) => {
            trigger.notify_one();
            tracing::info!(user = %admin.user, "check requested from the dashboard");
            Redirect::to("/?check=requested").into_response()
        }
        None => fail(WebError::new(
            StatusCode::CONFLICT,
            "checks are scheduled by `domwatch serve`; this dashboard has no scheduler: run `domwatch check`",
        ))
        .into_response(),
    }
}

// ---- case page ------------------------------------------------------------------------

fn target_badge(target: Target) -> &'static str {
    match target {
        Target::Billing => "<span class=\"badge\">writes to WHMCS</span>",
        Target::Registrar => "<span class=\"badge\">writes to the registrar</span>",
        Target::Manual => "<span class=\"badge\">by hand</span>",
    }
}

pub(crate) async fn case_page(
    State(state): State<WebState>,
    admin: Admin,
    Path(id): Path<i64>,
) -> PageResult {
    let body = case_body(&state, &admin.session, id).await.map_err(fail)?;
    Ok(Html(page(
        &format!("Case #{id}"),
        &frame(&state, &admin.session),
        &body,
    )))
}

async fn case_body(state: &WebState, session: &SessionInfo, id: i64) -> Result<String, WebError> {
    let (case, options) = state
        .engine
        .fix_options(id)
        .await
        .map_err(WebError::from_engine)?;
    let store = &state.engine.store;
    let events = store.case_events(id).await.map_err(WebError::internal)?;
    let notices = store.notices(id).await.map_err(WebError::internal)?;
    let actions = store
        .actions_of_case(id)
        .await
        .map_err(WebError::internal)?;
    let g = guide(&case.finding);
    let mut b = String::new();
    case_header(&mut b, id, &case, &g);
    case_guide(&mut b, &case, &g);
    fix_options(&mut b, id, &case, &options, session);
    notices_sent(&mut b, &notices);
    writes(&mut b, &actions);
    history(&mut b, &events);
    Ok(b)
}

fn case_header(b: &mut String, id: i64, case: &CaseRecord, g: &Guide) {
    let _ = write!(
        *b,
        "<h1>Case #{id}: {title}</h1>\
         <p>Domain: <strong id=\"domain-unicode\">{unicode}</strong> <span class=\"muted\">(A-label <code id=\"domain-ascii\">{ascii}</code>)</span> \
         · state <span class=\"badge\" id=\"case-state\">{state}</span> · opened {opened}{openings}{account}{billing_id}</p>",
        title = esc(&g.title),
        unicode = esc(&case.domain.unicode()),
        ascii = esc(case.domain.ascii()),
        state = case.state.as_str(),
        opened = time(case.opened_at),
        openings = if case.openings > 1 { format!(" (opening {})", case.openings) } else { String::new() },
        account = case.registrar_account.as_deref().map(|a| format!(" · registrar account {}", esc(a))).unwrap_or_default(),
        billing_id = case.billing_domain_id.map(|d| format!(" · WHMCS domain #{d}")).unwrap_or_default(),
    );
}

/// What happened, what it costs, the evidence and the steps.
fn case_guide(b: &mut String, case: &CaseRecord, g: &Guide) {
    let _ = write!(
        *b,
        "<section class=\"box\"><h2>What happened</h2><p id=\"what-happened\">{}</p><h2>What it costs</h2><p id=\"what-it-costs\">{}</p></section>",
        esc(&g.what_happened),
        esc(&g.what_it_costs)
    );
    if !case.finding.evidence.is_empty() {
        b.push_str("<section class=\"box\"><h2>Evidence</h2><table id=\"evidence\"><tr><th></th><th>Billing (WHMCS)</th><th>Registrar</th></tr>");
        for e in &case.finding.evidence {
            let _ = write!(
                *b,
                "<tr><th>{}</th><td>{}</td><td>{}</td></tr>",
                esc(&e.label),
                esc(e.billing.as_deref().unwrap_or("—")),
                esc(e.registrar.as_deref().unwrap_or("—"))
            );
        }
        b.push_str("</table></section>");
    }
    b.push_str("<section class=\"box\"><h2>Step by step</h2><ol id=\"guide-steps\">");
    for step in &g.steps {
        let _ = write!(*b, "<li>{}</li>", esc(step));
    }
    b.push_str("</ol></section>");
}

fn fix_options(
    b: &mut String,
    id: i64,
    case: &CaseRecord,
    options: &[PlanOption],
    session: &SessionInfo,
) {
    b.push_str("<section class=\"box\" id=\"fix-options\"><h2>Fix options</h2>");
    if options.is_empty() {
        b.push_str("<p>Only a person can decide this one: follow the steps above.</p>");
    }
    for (i, o) in options.iter().enumerate() {
        let _ = write!(
            *b,
            "<div class=\"option\" id=\"option-{name_attr}\"><h3><code>{name}</code>{rec}</h3><p>{desc}</p><ul class=\"actions\">",
            name_attr = esc(&o.name),
            name = esc(&o.name),
            rec = if i == 0 { " <span class=\"badge\">recommended</span>" } else { "" },
            desc = esc(&o.description),
        );
        for a in &o.actions {
            let _ = write!(
                *b,
                "<li>{} {}</li>",
                esc(&a.describe()),
                target_badge(a.target())
            );
        }
        b.push_str("</ul>");
        if case.state == CaseState::Open {
            let _ = write!(
                *b,
                "<form class=\"inline\" method=\"post\" action=\"/cases/{id}/preview\">{csrf}<input type=\"hidden\" name=\"option\" value=\"{name}\"><button type=\"submit\" name=\"preview\">Preview</button></form> \
                 <form class=\"inline\" method=\"post\" action=\"/cases/{id}/fix\">{csrf}<input type=\"hidden\" name=\"option\" value=\"{name}\"><button class=\"fix\" type=\"submit\" name=\"fix\">Fix now</button></form>",
                csrf = csrf_field(session),
                name = esc(&o.name),
            );
        }
        b.push_str("</div>");
    }
    if case.state == CaseState::Resolved {
        b.push_str("<p class=\"muted\">This case is resolved; nothing to fix.</p>");
    }
    b.push_str("</section>");
}

fn notices_sent(b: &mut String, notices: &[NoticeRecord]) {
    b.push_str("<section class=\"box\"><h2>Notices sent</h2>");
    if notices.is_empty() {
        b.push_str("<p class=\"muted\" id=\"notices\">None.</p>");
    } else {
        b.push_str("<table id=\"notices\"><tr><th>Opening</th><th>Channel</th><th>Status</th><th>Reference</th><th>Sent</th><th>Error</th></tr>");
        for n in notices {
            let _ = write!(
                *b,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                n.opening,
                esc(&n.channel),
                esc(&n.status),
                esc(n.external_ref.as_deref().unwrap_or("")),
                n.sent_at.map(time).unwrap_or_default(),
                esc(n.error.as_deref().unwrap_or(""))
            );
        }
        b.push_str("</table>");
    }
    b.push_str("</section>");
}

fn writes(b: &mut String, actions: &[ActionRecord]) {
    if !actions.is_empty() {
        b.push_str("<section class=\"box\"><h2>Writes</h2><table id=\"writes\"><tr><th>Action</th><th>Status</th><th>Result</th><th>When</th></tr>");
        for a in actions {
            let _ = write!(
                *b,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&a.action.describe()),
                esc(&format!("{:?}", a.status).to_lowercase()),
                esc(a.result.as_deref().unwrap_or("")),
                time(a.applied_at.unwrap_or(a.created_at))
            );
        }
        b.push_str("</table></section>");
    }
}

fn history(b: &mut String, events: &[CaseEvent]) {
    b.push_str("<section class=\"box\"><h2>History</h2><table id=\"history\"><tr><th>When</th><th>Event</th><th>Detail</th></tr>");
    for e in events {
        let _ = write!(
            *b,
            "<tr><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
            time(e.at),
            esc(&e.event),
            esc(&event_detail(&e.detail))
        );
    }
    b.push_str("</table></section>");
}

/// A short form of an event's detail: fix events carry every step, which is too long.
fn event_detail(detail: &serde_json::Value) -> String {
    let mut d = detail.clone();
    if let Some(steps) = d.get_mut("steps") {
        let n = steps.as_array().map(Vec::len).unwrap_or(0);
        *steps = serde_json::Value::String(format!("{n} steps"));
    }
    d.to_string()
}

// ---- fix now and preview --------------------------------------------------------------

#[derive(Debug, Deserialize)]
pub(crate) struct FixForm {
    option: Option<String>,
}

pub(crate) async fn fix_now(
    State(state): State<WebState>,
    admin: Admin,
    Path(id): Path<i64>,
    Form(form): Form<FixForm>,
) -> PageResult {
    run_fix(&state, &admin, id, form, Mode::Apply).await
}

pub(crate) async fn preview(
    State(state): State<WebState>,
    admin: Admin,
    Path(id): Path<i64>,
    Form(form): Form<FixForm>,
) -> PageResult {
    run_fix(&state, &admin, id, form, Mode::DryRun).await
}

fn outcome_cell(outcome: &StepOutcome) -> (&'static str, String) {
    match outcome {
        StepOutcome::WouldApply => ("would_apply", "would be written".into()),
        StepOutcome::Applied(r) => ("applied", format!("applied: {}", esc(r))),
        StepOutcome::AlreadyApplied => ("already_applied", "already applied earlier".into()),
        StepOutcome::Failed(e) => ("failed", format!("failed: {}", esc(e))),
        StepOutcome::Manual => ("manual", "by hand: do this yourself".into()),
    }
}

async fn run_fix(
    state: &WebState,
    admin: &Admin,
    id: i64,
    form: FixForm,
    mode: Mode,
) -> PageResult {
    let option = form.option.filter(|o| !o.is_empty());
    let report = state
        .engine
        .fix(id, option.as_deref(), mode, &actor(&admin.user))
        .await
        .map_err(|e| fail(WebError::from_engine(e)))?;
    if mode == Mode::Apply {
        tracing::info!(case = id, option = %report.option, user = %admin.user, ok = report.succeeded(), "Fix now applied from the dashboard");
    }
    let body = fix_report_body(&report, mode, &admin.session);
    let title = if mode == Mode::Apply {
        "Fix now"
    } else {
        "Preview"
    };
    Ok(Html(page(
        &format!("{title}: case #{id}"),
        &frame(state, &admin.session),
        &body,
    )))
}

fn fix_report_body(report: &FixReport, mode: Mode, session: &SessionInfo) -> String {
    let mut b = String::new();
    let id = report.case_id;
    let option = esc(&report.option);
    if mode == Mode::Apply {
        let _ = write!(
            b,
            "<h1>Fix now: case #{id}, option <code>{option}</code></h1>"
        );
        if report.succeeded() {
            b.push_str("<p class=\"fine\" id=\"fix-result\">Done. The next monitoring run confirms the case resolves.</p>");
        } else {
            b.push_str("<p class=\"warn\" id=\"fix-result\">The fix did not complete: see the failed step. Steps after it were not tried; the audit log has every write.</p>");
        }
    } else {
        let _ = write!(b, "<h1>Preview: case #{id}, option <code>{option}</code></h1><p id=\"fix-result\">Nothing was written. This is what Fix now would do:</p>");
    }
    b.push_str("<table id=\"steps\"><tr><th>Step</th><th>Outcome</th></tr>");
    for s in &report.steps {
        let (class, text) = outcome_cell(&s.outcome);
        let _ = write!(
            b,
            "<tr class=\"step\"><td>{}</td><td class=\"outcome-{class}\">{text}</td></tr>",
            esc(&s.description)
        );
    }
    b.push_str("</table>");
    if mode == Mode::DryRun {
        let _ = write!(
            b,
            "<p><form class=\"inline\" method=\"post\" action=\"/cases/{id}/fix\">{}<input type=\"hidden\" name=\"option\" value=\"{option}\"><button class=\"fix\" type=\"submit\" name=\"fix\">Fix now</button></form></p>",
            csrf_field(session)
        );
    }
    let _ = write!(
        b,
        "<p><a href=\"/cases/{id}\">Back to case #{id}</a> · <a href=\"/audit\">Audit log</a> · <a href=\"/\">All cases</a></p>"
    );
    b
}

// ---- audit log ------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
pub(crate) struct AuditQuery {
    before: Option<i64>,
}

pub(crate) async fn audit(
    State(state): State<WebState>,
    admin: Admin,
    Query(q): Query<AuditQuery>,
) -> PageResult {
    let entries = state
        .engine
        .store
        .audit_log(AUDIT_PAGE_SIZE, q.before)
        .await
        .map_err(|e| fail(WebError::internal(e)))?;
    let mut b = String::from("<h1>Audit log</h1><p class=\"muted\">Every write domwatch made to WHMCS or a registrar, newest first.</p>");
    if entries.is_empty() {
        b.push_str("<p id=\"audit-empty\">No writes yet.</p>");
    } else {
        b.push_str("<table id=\"audit\"><tr><th>#</th><th>When</th><th>Who</th><th>System</th><th>Operation</th><th>Object</th><th>Result</th><th>Case</th></tr>");
        for e in &entries {
            let x = &e.entry;
            let _ = write!(
                b,
                "<tr class=\"audit-entry\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"{}\">{}</td><td>{}</td></tr>",
                e.id,
                time(x.at),
                esc(&x.actor),
                esc(&x.system),
                esc(&x.operation),
                esc(&x.object),
                if x.ok { "outcome-applied" } else { "outcome-failed" },
                esc(&x.result),
                x.case_id.map(|c| format!("<a href=\"/cases/{c}\">#{c}</a>")).unwrap_or_default()
            );
        }
        b.push_str("</table>");
    }
    if entries.len() as i64 == AUDIT_PAGE_SIZE {
        if let Some(last) = entries.last() {
            let _ = write!(
                b,
                "<p><a id=\"older\" href=\"/audit?before={}\">Older entries</a></p>",
                last.id
            );
        }
    }
    Ok(Html(page("Audit log", &frame(&state, &admin.session), &b)))
}

// ---- login ----------------------------------------------------------------------------

fn login_page(session: &SessionInfo, error: Option<&str>) -> String {
    let mut b = String::from("<h1>Log in</h1>");
    if let Some(e) = error {
        let _ = write!(b, "<p class=\"warn\" id=\"login-error\">{}</p>", esc(e));
    }
    let _ = write!(
        b,
        "<form method=\"post\" action=\"/login\">{}\
         <p><label>User<br><input name=\"user\" autocomplete=\"username\" required></label></p>\
         <p><label>Password<br><input name=\"password\" type=\"password\" autocomplete=\"current-password\" required></label></p>\
         <p><button class=\"fix\" type=\"submit\" name=\"login\">Log in</button></p></form>",
        csrf_field(session)
    );
    page(
        "Log in",
        &Frame {
            session: None,
            open_access: false,
        },
        &b,
    )
}

pub(crate) async fn login_form(
    State(state): State<WebState>,
    headers: HeaderMap,
    session: Option<Extension<SessionInfo>>,
) -> Response {
    if state.auth.is_open_access() {
        return Redirect::to("/").into_response();
    }
    match session.map(|Extension(s)| s) {
        Some(s) if s.user.is_some() => Redirect::to("/").into_response(),
        Some(s) => Html(login_page(&s, None)).into_response(),
        None => {
            // A signed anonymous token carries the login form's CSRF token; nothing is
            // stored for the visitor.
            let s = state.anonymous_session(state.tokens.issue(state.now()));
            let secure = state.auth.secure_cookies || crate::forwarded_https(&headers);
            (
                [(SET_COOKIE, auth::session_cookie(&s.id, secure))],
                Html(login_page(&s, None)),
            )
                .into_response()
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct LoginForm {
    #[serde(default)]
    user: String,
    #[serde(default)]
    password: String,
}

/// Refuses a login with 429 (locked out) or 503 (too many password checks at once).
fn login_refused(
    session: &SessionInfo,
    status: StatusCode,
    message: &str,
    wait: Duration,
) -> Response {
    let page = (status, Html(login_page(session, Some(message)))).into_response();
    security::retry_after(page, wait)
}

fn lockout_message(wait: Duration) -> String {
    let minutes = wait.as_secs().div_ceil(60).max(1);
    format!(
        "Too many failed logins: try again in {minutes} minute{}.",
        if minutes == 1 { "" } else { "s" }
    )
}

pub(crate) async fn login(
    State(state): State<WebState>,
    ConnectionInfo(client): ConnectionInfo,
    headers: HeaderMap,
    Extension(session): Extension<SessionInfo>,
    Form(form): Form<LoginForm>,
) -> Response {
    if state.auth.is_open_access() {
        return Redirect::to("/").into_response();
    }
    // Locked out: refused before any hashing, also with the right password.
    if let Some(wait) = state.throttle.locked(client, &form.user, state.now()) {
        return login_refused(
            &session,
            StatusCode::TOO_MANY_REQUESTS,
            &lockout_message(wait),
            wait,
        );
    }
    let Ok(Ok(permit)) = tokio::time::timeout(
        state.security.hash_wait,
        state.hashing.clone().acquire_owned(),
    )
    .await
    else {
        let wait = Duration::from_secs(5);
        tracing::warn!("dashboard login refused: too many password checks at once");
        return login_refused(
            &session,
            StatusCode::SERVICE_UNAVAILABLE,
            "Too many logins at once: try again in a few seconds.",
            wait,
        );
    };
    // Failures recorded while this one waited count too.
    if let Some(wait) = state.throttle.locked(client, &form.user, state.now()) {
        return login_refused(
            &session,
            StatusCode::TOO_MANY_REQUESTS,
            &lockout_message(wait),
            wait,
        );
    }
    let auth = state.auth.clone();
    let user = form.user.clone();
    // The permit goes with the hash: it is held until argon2 is done, even when the
    // client gives up early.
    let ok = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        auth.verify(&user, &form.password)
    })
    .await
    .unwrap_or(false);
    if !ok {
        state
            .throttle
            .record_failure(client, &form.user, state.now());
        // One line per failure, for fail2ban; the name is escaped so it cannot forge lines.
        tracing::warn!(
            "domwatch: login failed for user \"{}\" from {}",
            security::log_text(&form.user, 64),
            client.map_or_else(|| "unknown".to_string(), |ip| ip.to_string())
        );
        // Slows down password guessing; argon2 already costs the server, not the guesser.
        tokio::time::sleep(Duration::from_millis(300)).await;
        return (
            StatusCode::UNAUTHORIZED,
            Html(login_page(&session, Some("Wrong user name or password."))),
        )
            .into_response();
    }
    state.throttle.clear(client, &form.user);
    // A fresh id after login: a session id planted before login is worthless.
    state.sessions.remove(&session.id);
    let new = state.sessions.create(form.user.clone(), state.now());
    tracing::info!(user = %security::log_text(&form.user, 64), "dashboard login");
    let secure = state.auth.secure_cookies || crate::forwarded_https(&headers);
    (
        StatusCode::SEE_OTHER,
        [
            (SET_COOKIE, auth::session_cookie(&new.id, secure)),
            (axum::http::header::LOCATION, "/".to_string()),
        ],
    )
        .into_response()
}

pub(crate) async fn logout(
    State(state): State<WebState>,
    headers: HeaderMap,
    Extension(session): Extension<SessionInfo>,
) -> Response {
    state.sessions.remove(&session.id);
    let secure = state.auth.secure_cookies || crate::forwarded_https(&headers);
    (
        StatusCode::SEE_OTHER,
        [
            (SET_COOKIE, auth::expired_session_cookie(secure)),
            (axum::http::header::LOCATION, "/login".to_string()),
        ],
    )
        .into_response()
}
