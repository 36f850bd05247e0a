//! Bulk Fix now on the dashboard: "Fix all N shown" on a `/cases` list of one or more kinds
//! -> `GET /cases/bulk-fix?<the list's filters>` (the combined plan, writes nothing; its
//! writes as CSV at `/cases/bulk-fix.csv`) -> `POST /cases/bulk-fix` (applies in a background
//! task, one at a time) -> `GET /bulk-fix/{job}` (progress, refreshed; a stop button).
//! The engine does the work (`Engine::bulk_plan`, `Engine::bulk_fix`), so claims,
//! idempotency keys and audit lines are those of Fix now.

use crate::case_params::{CaseParams, Defaults};
use crate::html::{csrf_field, esc, page, Frame};
use crate::{Admin, HtmlError, WebError, WebState};
use axum::extract::{Form, Path, RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use domwatch_engine::{BulkOptions, BulkPlan, BulkProgress, BulkReport, CaseOutcome, PlannedWrite};
use domwatch_store::{CaseQuery, CaseRecord, CaseSort, MAX_PER_PAGE};
use std::fmt::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Writes the plan page lists one by one; the CSV has them all.
const LISTED_WRITES: usize = 100;

const DEFAULTS: Defaults = Defaults {
    sort: CaseSort::Kind,
    per_page: MAX_PER_PAGE,
};

/// One bulk fix started from the dashboard, as its progress page shows it.
pub(crate) struct BulkJob {
    id: u64,
    user: String,
    filters: String,
    total: AtomicU64,
    done: AtomicU64,
    fixed: AtomicU64,
    not_fixed: AtomicU64,
    stop: AtomicBool,
    finished: Mutex<Option<Result<BulkReport, String>>>,
}

impl BulkProgress for BulkJob {
    fn started(&self, cases: u64) {
        self.total.store(cases, Ordering::SeqCst);
    }
    fn case_done(&self, _: &CaseRecord, outcome: &CaseOutcome) {
        match outcome {
            CaseOutcome::Fixed(_) => self.fixed.fetch_add(1, Ordering::SeqCst),
            CaseOutcome::Failed(_) | CaseOutcome::Busy(_) => {
                self.not_fixed.fetch_add(1, Ordering::SeqCst)
            }
            _ => 0,
        };
        self.done.fetch_add(1, Ordering::SeqCst);
    }
}

/// Finished jobs kept for their progress pages.
const KEPT_JOBS: usize = 20;

/// The bulk fixes of this process, newest last; one runs at a time.
#[derive(Default)]
pub(crate) struct BulkJobs(Mutex<Vec<Arc<BulkJob>>>);

impl BulkJobs {
    fn get(&self, id: u64) -> Option<Arc<BulkJob>> {
        let jobs = self.0.lock().ok()?;
        jobs.iter().find(|j| j.id == id).cloned()
    }

    /// Registers a new job unless one is still running (that one is the error).
    fn start(&self, user: &str, filters: &str) -> Result<Arc<BulkJob>, Arc<BulkJob>> {
        let mut jobs = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(running) = jobs
            .iter()
            .find(|j| j.finished.lock().is_ok_and(|f| f.is_none()))
        {
            return Err(running.clone());
        }
        let job = Arc::new(BulkJob {
            id: jobs.last().map_or(1, |j| j.id + 1),
            user: user.to_string(),
            filters: filters.to_string(),
            total: AtomicU64::new(0),
            done: AtomicU64::new(0),
            fixed: AtomicU64::new(0),
            not_fixed: AtomicU64::new(0),
            stop: AtomicBool::new(false),
            finished: Mutex::new(None),
        });
        jobs.push(job.clone());
        // Nothing runs but the new job, so the oldest ones are finished.
        let excess = jobs.len().saturating_sub(KEPT_JOBS);
        jobs.drain(..excess);
        Ok(job)
    }
}

/// The filters of a bulk fix: those of `/cases`, with at least one kind.
fn bulk_query(raw: Option<&str>) -> Result<CaseQuery, WebError> {
    let query = CaseParams::parse(raw, DEFAULTS)?.query;
    if query.kinds.is_empty() {
        return Err(WebError::new(
            StatusCode::BAD_REQUEST,
            "a bulk fix needs a kind: choose one in the filters on /cases first",
        ));
    }
    Ok(query)
}

fn frame<'a>(state: &WebState, admin: &'a Admin) -> Frame<'a> {
    Frame {
        session: Some(&admin.session),
        open_access: state.auth.is_open_access(),
    }
}

/// `GET /cases/bulk-fix`: the combined plan of the list's cases. Writes nothing.
pub(crate) async fn plan_page(
    State(state): State<WebState>,
    admin: Admin,
    RawQuery(raw): RawQuery,
) -> Result<Html<String>, HtmlError> {
    let query = bulk_query(raw.as_deref()).map_err(HtmlError)?;
    let mut listed = Vec::new();
    let plan = state
        .engine
        .bulk_plan(&query, &BulkOptions::default(), &mut |w: &PlannedWrite| {
            if listed.len() < LISTED_WRITES {
                listed.push(w.clone());
            }
        })
        .await
        .map_err(|e| HtmlError(WebError::from_engine(e)))?;
    let filters = raw.unwrap_or_default();
    let mut b = String::from("<h1>Fix all: the plan</h1>");
    plan_summary(&mut b, &plan);
    let _ = write!(
        b,
        "<p><a id=\"plan-csv\" href=\"/cases/bulk-fix.csv?{q}\" download>Download every write as CSV</a> · \
         <a href=\"/cases?{q}\">back to the list</a></p>",
        q = esc(&filters)
    );
    writes_table(&mut b, &listed);
    if plan.to_fix > 0 {
        let _ = write!(
            b,
            "<form method=\"post\" action=\"/cases/bulk-fix\" id=\"apply-bulk\">{csrf}\
             <input type=\"hidden\" name=\"filters\" value=\"{f}\">\
             <button class=\"fix\" type=\"submit\">Apply {n} writes to {c} cases</button> \
             (in the background, {rate} writes per second per system; stoppable)</form>",
            csrf = csrf_field(&admin.session),
            f = esc(&filters),
            n = plan.writes(),
            c = plan.to_fix,
            rate = BulkOptions::default().rate_per_second.unwrap_or(0.0),
        );
    } else {
        b.push_str("<p id=\"nothing-to-write\">Nothing to write.</p>");
    }
    Ok(Html(page("Fix all", &frame(&state, &admin), &b)))
}

fn plan_summary(b: &mut String, plan: &BulkPlan) {
    let _ = write!(
        b,
        "<p id=\"plan-counts\">{} cases: <strong>{} to fix</strong>, {} already fixed, {} by hand only, {} skipped.</p>",
        plan.cases, plan.to_fix, plan.already_fixed, plan.by_hand, plan.skipped
    );
    b.push_str("<table id=\"plan-actions\"><tr><th>Action</th><th>To write</th><th>Done earlier</th><th>By hand</th></tr>");
    for (name, c) in &plan.actions {
        let _ = write!(
            b,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(name),
            c.would_apply,
            c.already_applied,
            c.manual
        );
    }
    b.push_str("</table><ul id=\"plan-systems\">");
    for (system, n) in &plan.writes_per_system {
        let _ = write!(b, "<li>{n} writes to {}</li>", esc(system));
    }
    for (currency, amount) in &plan.money_affected {
        let _ = write!(
            b,
            "<li>{:.2} {} at stake in the cases to fix</li>",
            amount,
            esc(currency)
        );
    }
    b.push_str("</ul>");
}

fn writes_table(b: &mut String, listed: &[PlannedWrite]) {
    if listed.is_empty() {
        return;
    }
    let _ = write!(
        b,
        "<table id=\"plan-writes\"><caption>The first {} steps of the plan (the CSV has them all)</caption>\
         <tr><th>Case</th><th>Domain</th><th>Write</th><th>To</th><th>Status</th></tr>",
        listed.len()
    );
    for w in listed {
        let _ = write!(
            b,
            "<tr><td><a href=\"/cases/{id}\">#{id}</a></td><td>{d}</td><td>{desc}</td><td>{s}</td><td>{st}</td></tr>",
            id = w.case_id,
            d = esc(&w.domain),
            desc = esc(&w.description),
            s = esc(&w.system),
            st = w.status.as_str(),
        );
    }
    b.push_str("</table>");
}

/// `GET /cases/bulk-fix.csv`: every write of the plan, one row each.
pub(crate) async fn plan_csv(
    State(state): State<WebState>,
    RawQuery(raw): RawQuery,
) -> Result<Response, HtmlError> {
    let query = bulk_query(raw.as_deref()).map_err(HtmlError)?;
    let mut out = String::new();
    PlannedWrite::push_csv_header(&mut out);
    state
        .engine
        .bulk_plan(&query, &BulkOptions::default(), &mut |w: &PlannedWrite| {
            w.push_csv_row(&mut out)
        })
        .await
        .map_err(|e| HtmlError(WebError::from_engine(e)))?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"domwatch-bulk-fix-plan.csv\"",
            ),
        ],
        out,
    )
        .into_response())
}

#[derive(serde::Deserialize)]
pub(crate) struct ApplyForm {
    #[serde(default)]
    filters: String,
}

/// `POST /cases/bulk-fix`: starts the bulk fix in the background and shows its progress.
pub(crate) async fn apply(
    State(state): State<WebState>,
    admin: Admin,
    Form(form): Form<ApplyForm>,
) -> Result<Response, HtmlError> {
    let query = bulk_query(Some(&form.filters)).map_err(HtmlError)?;
    let job = match state.bulk_jobs.start(&admin.user, &form.filters) {
        Ok(job) => job,
        Err(running) => {
            return Err(HtmlError(WebError::new(
                StatusCode::CONFLICT,
                format!(
                    "bulk fix {} is still running: wait for it or stop it at /bulk-fix/{}",
                    running.id, running.id
                ),
            )))
        }
    };
    let engine = state.engine.clone();
    let actor = format!("web:{}", admin.user);
    let task_job = job.clone();
    tokio::spawn(async move {
        let result = engine
            .bulk_fix(
                &query,
                &BulkOptions::default(),
                &actor,
                &task_job.stop,
                &*task_job,
            )
            .await
            .map_err(|e| e.to_string());
        if let Err(e) = &result {
            tracing::warn!(job = task_job.id, error = %crate::log_text(e, 300), "bulk fix ended with an error");
        }
        *task_job.finished.lock().unwrap_or_else(|p| p.into_inner()) = Some(result);
    });
    tracing::info!(job = job.id, user = %admin.user, "bulk fix started from the dashboard");
    Ok(Redirect::to(&format!("/bulk-fix/{}", job.id)).into_response())
}

/// `GET /bulk-fix/{job}`: how far it is; refreshes itself while it runs.
pub(crate) async fn progress_page(
    State(state): State<WebState>,
    admin: Admin,
    Path(id): Path<u64>,
) -> Result<Html<String>, HtmlError> {
    let job = state.bulk_jobs.get(id).ok_or_else(|| {
        HtmlError(WebError::new(
            StatusCode::NOT_FOUND,
            format!("no bulk fix {id} in this process (they are kept until domwatch restarts); the audit log has every write"),
        ))
    })?;
    let finished = job.finished.lock().map(|f| f.clone()).unwrap_or(None);
    let mut b = String::new();
    if finished.is_none() {
        b.push_str("<meta http-equiv=\"refresh\" content=\"2\">");
    }
    let _ = write!(
        b,
        "<h1>Fix all #{id}</h1><p>Started by {user} for <a href=\"/cases?{f}\">these cases</a>.</p>\
         <p id=\"bulk-progress\">{done} of {total} cases looked at: {fixed} fixed, {not} not fixed.</p>",
        user = esc(&job.user),
        f = esc(&job.filters),
        done = job.done.load(Ordering::SeqCst),
        total = job.total.load(Ordering::SeqCst),
        fixed = job.fixed.load(Ordering::SeqCst),
        not = job.not_fixed.load(Ordering::SeqCst),
    );
    match finished {
        None if job.stop.load(Ordering::SeqCst) => {
            b.push_str("<p id=\"bulk-state\">Stopping after the current case…</p>")
        }
        None => {
            let _ = write!(
                b,
                "<p id=\"bulk-state\">Running.</p><form method=\"post\" action=\"/bulk-fix/{id}/stop\">{}<button type=\"submit\">Stop after the current case</button></form>",
                csrf_field(&admin.session)
            );
        }
        Some(Ok(report)) => finished_report(&mut b, &report),
        Some(Err(e)) => {
            let _ = write!(
                b,
                "<p id=\"bulk-state\">Ended with an error: {}. Applied writes are kept; start it again to continue.</p>",
                esc(&e)
            );
        }
    }
    Ok(Html(page("Fix all", &frame(&state, &admin), &b)))
}

fn finished_report(b: &mut String, r: &BulkReport) {
    let _ = write!(
        b,
        "<p id=\"bulk-state\">{state}: {fixed} fixed ({writes} writes), {already} already fixed, {hand} by hand, {failed} failed, {busy} busy, {skipped} skipped.</p>",
        state = if r.stopped { "Stopped" } else if r.gave_up.is_some() { "Gave up" } else { "Finished" },
        fixed = r.fixed,
        writes = r.writes,
        already = r.already_fixed,
        hand = r.by_hand,
        failed = r.failed,
        busy = r.busy,
        skipped = r.skipped,
    );
    if let Some(why) = &r.gave_up {
        let _ = write!(b, "<p>{}</p>", esc(why));
    }
    if !r.failures.is_empty() {
        b.push_str("<ul id=\"bulk-failures\">");
        for (case, why) in &r.failures {
            let _ = write!(
                b,
                "<li><a href=\"/cases/{case}\">#{case}</a>: {}</li>",
                esc(why)
            );
        }
        b.push_str("</ul>");
    }
    if !r.complete() {
        b.push_str("<p>Start the same fix again to continue: applied writes are skipped.</p>");
    }
}

/// `POST /bulk-fix/{job}/stop`: stops after the current case.
pub(crate) async fn stop(
    State(state): State<WebState>,
    admin: Admin,
    Path(id): Path<u64>,
) -> Result<Response, HtmlError> {
    let job = state.bulk_jobs.get(id).ok_or_else(|| {
        HtmlError(WebError::new(
            StatusCode::NOT_FOUND,
            format!("no bulk fix {id}"),
        ))
    })?;
    job.stop.store(true, Ordering::SeqCst);
    tracing::info!(job = id, user = %admin.user, "bulk fix stop requested");
    Ok(Redirect::to(&format!("/bulk-fix/{id}")).into_response())
}
