//! The JSON API. Same session as the pages: log in through `POST /login`, keep the cookie,
//! and send `X-CSRF-Token` (from `GET /api/session`) on every write; or send an API token
//! (`Authorization: Bearer dwt_…`, see [`crate::api_token`]) and no CSRF token.

use crate::{Admin, JsonError, WebError, WebState};
use axum::extract::{Path, Query, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use domwatch_core::detect::CaseKind;
use domwatch_engine::Mode;
use domwatch_store::{CaseFilter, CaseState};
use serde::Deserialize;
use serde_json::json;

type ApiResult = Result<Json<serde_json::Value>, JsonError>;

fn fail(error: WebError) -> JsonError {
    JsonError(error)
}

fn to_json(value: impl serde::Serialize) -> ApiResult {
    serde_json::to_value(value)
        .map(Json)
        .map_err(|e| fail(WebError::internal(e)))
}

pub(crate) async fn session(admin: Admin) -> Json<serde_json::Value> {
    Json(json!({"user": admin.user, "csrf_token": admin.session.csrf}))
}

#[derive(Debug, Deserialize)]
pub(crate) struct CasesQuery {
    /// `open` (default), `resolved` or `all`.
    state: Option<String>,
    kind: Option<String>,
}

/// The case filter of a list request; the list API and its CSV share it.
fn case_filter(q: &CasesQuery) -> Result<CaseFilter, WebError> {
    let state = match q.state.as_deref() {
        None | Some("open") => Some(CaseState::Open),
        Some("resolved") => Some(CaseState::Resolved),
        Some("all") => None,
        Some(other) => {
            return Err(WebError::new(
                StatusCode::BAD_REQUEST,
                format!("state `{other}` is unknown: use open, resolved or all"),
            ))
        }
    };
    let kind = match q.kind.as_deref() {
        None => None,
        Some(k) => Some(CaseKind::parse(k).ok_or_else(|| {
            WebError::new(
                StatusCode::BAD_REQUEST,
                format!(
                    "kind `{k}` is unknown; kinds: {}",
                    CaseKind::ALL.map(|k| k.as_str()).join(", ")
                ),
            )
        })?),
    };
    Ok(CaseFilter { state, kind })
}

pub(crate) async fn cases(
    State(state): State<WebState>,
    _admin: Admin,
    Query(q): Query<CasesQuery>,
) -> ApiResult {
    let filter = case_filter(&q).map_err(fail)?;
    let cases = state
        .engine
        .store
        .cases(filter)
        .await
        .map_err(|e| fail(WebError::internal(e)))?;
    to_json(cases)
}

/// `GET /api/cases.csv`: the same list as `/api/cases` (same filters) as a CSV download.
pub(crate) async fn cases_csv(
    State(state): State<WebState>,
    _admin: Admin,
    Query(q): Query<CasesQuery>,
) -> Response {
    let filter = match case_filter(&q) {
        Ok(f) => f,
        Err(e) => return fail(e).into_response(),
    };
    match state.engine.store.cases(filter).await {
        Ok(cases) => (
            [
                (CONTENT_TYPE, "text/csv; charset=utf-8"),
                (
                    CONTENT_DISPOSITION,
                    "attachment; filename=\"domwatch-cases.csv\"",
                ),
            ],
            crate::export::cases_csv(&cases),
        )
            .into_response(),
        Err(e) => fail(WebError::internal(e)).into_response(),
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct ForecastQuery {
    days: Option<i64>,
}

/// What to say when no cycle has stored a forecast yet.
pub(crate) const NO_FORECAST: &str =
    "no forecast yet: it is computed by every monitoring cycle; run `domwatch check` (or wait for `domwatch serve`'s first cycle)";

/// `GET /api/forecast?days=N` (30, 60, 90 or 365; default 90).
pub(crate) async fn forecast(
    State(state): State<WebState>,
    _admin: Admin,
    Query(q): Query<ForecastQuery>,
) -> ApiResult {
    let days = q.days.unwrap_or(90);
    let record = state
        .engine
        .store
        .latest_forecast()
        .await
        .map_err(|e| fail(WebError::internal(e)))?
        .ok_or_else(|| fail(WebError::new(StatusCode::NOT_FOUND, NO_FORECAST)))?;
    crate::export::forecast_json(&record, days)
        .map(Json)
        .map_err(|e| fail(WebError::new(StatusCode::BAD_REQUEST, e.to_string())))
}

pub(crate) async fn case(
    State(state): State<WebState>,
    _admin: Admin,
    Path(id): Path<i64>,
) -> ApiResult {
    let (case, options) = state
        .engine
        .fix_options(id)
        .await
        .map_err(|e| fail(WebError::from_engine(e)))?;
    let store = &state.engine.store;
    let internal = |e: domwatch_store::StoreError| fail(WebError::internal(e));
    let history = store.case_events(id).await.map_err(internal)?;
    let notices = store.notices(id).await.map_err(internal)?;
    let actions = store.actions_of_case(id).await.map_err(internal)?;
    let guide = domwatch_core::plan::guide(&case.finding);
    to_json(json!({
        "case": case,
        "guide": guide,
        "options": options,
        "notices": notices,
        "actions": actions,
        "history": history,
    }))
}

/// Which fix option: its number as listed (1 = the recommended one) or its name.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub(crate) enum OptionRef {
    Number(usize),
    Name(String),
}

#[derive(Debug, Deserialize, Default)]
pub(crate) struct FixRequest {
    /// Default: the recommended option.
    option: Option<OptionRef>,
    /// Report the plan (each action's exact writes) and write nothing.
    #[serde(default)]
    dry_run: bool,
}

/// The option name a request means; a number counts from 1 in the listed order.
async fn option_name(
    state: &WebState,
    id: i64,
    option: Option<OptionRef>,
) -> Result<Option<String>, WebError> {
    match option {
        None => Ok(None),
        Some(OptionRef::Name(name)) => Ok(Some(name)),
        Some(OptionRef::Number(n)) => {
            let (_, options) = state
                .engine
                .fix_options(id)
                .await
                .map_err(WebError::from_engine)?;
            let name = n
                .checked_sub(1)
                .and_then(|i| options.get(i))
                .map(|o| o.name.clone());
            name.map(Some).ok_or_else(|| {
                WebError::new(
                    StatusCode::BAD_REQUEST,
                    format!(
                        "case {id} has no option {n}: it has {} (numbered from 1, see GET /api/cases/{id})",
                        options.len()
                    ),
                )
            })
        }
    }
}

pub(crate) async fn fix(
    State(state): State<WebState>,
    admin: Admin,
    Path(id): Path<i64>,
    body: Option<Json<FixRequest>>,
) -> Response {
    let request = body.map(|Json(r)| r).unwrap_or_default();
    let mode = if request.dry_run {
        Mode::DryRun
    } else {
        Mode::Apply
    };
    let option = match option_name(&state, id, request.option).await {
        Ok(option) => option,
        Err(e) => return fail(e).into_response(),
    };
    match state
        .engine
        .fix(id, option.as_deref(), mode, &admin.api_actor())
        .await
    {
        Ok(report) => {
            if mode == Mode::Apply {
                tracing::info!(case = id, option = %report.option, user = %admin.user, ok = report.succeeded(), "Fix now applied through the API");
            }
            let ok = report.succeeded();
            let value = json!({"succeeded": ok, "dry_run": request.dry_run, "report": report});
            Json(value).into_response()
        }
        Err(e) => fail(WebError::from_engine(e)).into_response(),
    }
}

/// `GET /api/summary`: counts and money at stake for widgets, from the store only.
pub(crate) async fn summary(State(state): State<WebState>, _admin: Admin) -> ApiResult {
    to_json(crate::summary::summary(&state).await?)
}

#[derive(Debug, Deserialize)]
pub(crate) struct RunsQuery {
    limit: Option<i64>,
}

pub(crate) async fn runs(
    State(state): State<WebState>,
    _admin: Admin,
    Query(q): Query<RunsQuery>,
) -> ApiResult {
    let limit = q.limit.unwrap_or(20).clamp(1, 500);
    let runs = state
        .engine
        .store
        .runs(limit)
        .await
        .map_err(|e| fail(WebError::internal(e)))?;
    to_json(runs)
}
