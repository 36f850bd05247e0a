//! domwatch-web: the dashboard.
//!
//! Server-rendered HTML (no JavaScript needed) over the [`Engine`]:
//!
//! | route | what |
//! | --- | --- |
//! | `GET /` | "Everything is fine", or the open cases grouped by kind with money at stake |
//! | `GET /cases/{id}` | guide, evidence, fix options with their exact actions, notices, history |
//! | `POST /cases/{id}/preview` | the dry run of one option (writes nothing) |
//! | `POST /cases/{id}/fix` | Fix now: applies one option, shows each step's outcome |
//! | `POST /check` | "Check now": wakes the scheduler (only under `domwatch serve`) |
//! | `GET /audit?before=ID` | every write to WHMCS or a registrar, newest first |
//! | `GET/POST /login`, `POST /logout` | admin login |
//! | `GET /api/session` | who is logged in and the CSRF token for API writes |
//! | `GET /api/cases`, `GET /api/cases/{id}`, `POST /api/cases/{id}/fix`, `GET /api/runs` | JSON |
//! | `GET /metrics` | Prometheus text format |
//! | `GET /healthz` | liveness and database reachability |
//!
//! Authentication and CSRF are described in [`auth`]. Every write needs the session's CSRF
//! token; this is enforced in one middleware for every non-GET route, so a new route can
//! not forget it.

pub mod auth;
mod html;
mod metrics;
mod pages;

mod api;

pub use auth::{hash_password, AuthConfig, AuthError};
pub use html::esc;

use auth::{SessionInfo, Sessions};
use axum::body::Body;
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::header::{CONTENT_TYPE, COOKIE, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use domwatch_engine::Engine;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::Notify;

/// Form bodies larger than this are refused before the CSRF check reads them.
const MAX_FORM_BYTES: usize = 64 * 1024;

/// What the dashboard needs: the engine (store, billing, registrars) and the login setup.
#[derive(Clone)]
pub struct WebState {
    pub engine: Engine,
    pub auth: AuthConfig,
    sessions: Arc<Sessions>,
    check_now: Option<Arc<Notify>>,
}

impl WebState {
    pub fn new(engine: Engine, auth: AuthConfig) -> Self {
        let sessions = Arc::new(Sessions::new(auth.idle_timeout));
        Self {
            engine,
            auth,
            sessions,
            check_now: None,
        }
    }

    /// Adds a "Check now" button that wakes the scheduler through `trigger` (the scheduler
    /// runs checks one at a time, so pressing it during a run queues at most one more).
    pub fn with_check_trigger(mut self, trigger: Arc<Notify>) -> Self {
        self.check_now = Some(trigger);
        self
    }
}

/// The dashboard, JSON API, metrics and health check.
///
/// Serve it with `into_make_service_with_connect_info::<SocketAddr>()` so open access and
/// `/metrics` can check that the peer is local.
pub fn router(state: WebState) -> Router {
    let protected = Router::new()
        .route("/", get(pages::dashboard))
        .route("/cases/{id}", get(pages::case_page))
        .route("/cases/{id}/fix", post(pages::fix_now))
        .route("/cases/{id}/preview", post(pages::preview))
        .route("/audit", get(pages::audit))
        .route("/check", post(pages::check_now))
        .route("/login", get(pages::login_form).post(pages::login))
        .route("/logout", post(pages::logout))
        .route("/api/session", get(api::session))
        .route("/api/cases", get(api::cases))
        .route("/api/cases/{id}", get(api::case))
        .route("/api/cases/{id}/fix", post(api::fix))
        .route("/api/runs", get(api::runs))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            session_and_csrf,
        ));
    Router::new()
        .route("/healthz", get(metrics::healthz))
        .route("/metrics", get(metrics::metrics))
        .merge(protected)
        .with_state(state)
}

/// True when the connection comes from this machine (or its address is unknown, as in
/// in-process tests that call the router directly).
fn peer_is_local(extensions: &axum::http::Extensions) -> bool {
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .is_none_or(|ConnectInfo(addr)| addr.ip().is_loopback())
}

fn wants_json(path: &str) -> bool {
    path.starts_with("/api/")
}

fn forwarded_https(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

/// Finds (or, with open access, creates) the session, enforces the CSRF token on every
/// write, and hands the session to the handlers.
async fn session_and_csrf(State(state): State<WebState>, request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    let json = wants_json(parts.uri.path());
    if state.auth.is_open_access() && !peer_is_local(&parts.extensions) {
        return WebError::forbidden("no admin password is configured, so only this machine may use the dashboard: set serve.admin_password_hash").respond(json);
    }
    let secure = state.auth.secure_cookies || forwarded_https(&parts.headers);
    let existing = parts
        .headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(auth::session_id_from_cookies)
        .and_then(|id| state.sessions.get(id));
    let mut new_cookie = None;
    let session = match existing {
        Some(s) => Some(s),
        None if state.auth.is_open_access() => {
            let s = state
                .sessions
                .create(Some(auth::OPEN_ACCESS_USER.to_string()));
            new_cookie = Some(auth::session_cookie(&s.id, secure));
            Some(s)
        }
        None => None,
    };

    let body = if matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS) {
        body
    } else {
        let bytes = match axum::body::to_bytes(body, MAX_FORM_BYTES).await {
            Ok(b) => b,
            Err(_) => {
                return WebError::new(StatusCode::PAYLOAD_TOO_LARGE, "request body too large")
                    .respond(json)
            }
        };
        let provided = csrf_token_of(&parts, &bytes);
        let valid = match (&session, provided) {
            (Some(s), Some(token)) => auth::constant_time_eq(s.csrf.as_bytes(), token.as_bytes()),
            _ => false,
        };
        if !valid {
            tracing::warn!(path = %parts.uri.path(), "write refused: missing or wrong CSRF token");
            let message = if session.is_none() {
                "your session has expired: reload the page (log in again) and retry"
            } else {
                "the form's security token is missing or outdated: reload the page and retry"
            };
            return WebError::forbidden(message).respond(json);
        }
        Body::from(bytes)
    };

    if let Some(s) = &session {
        parts.extensions.insert(s.clone());
    }
    let mut response = next.run(Request::from_parts(parts, body)).await;
    if let Some(cookie) = new_cookie {
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(SET_COOKIE, value);
        }
    }
    response
}

/// The CSRF token of a write: the `X-CSRF-Token` header, else the `csrf` form field.
fn csrf_token_of(parts: &Parts, body: &[u8]) -> Option<String> {
    if let Some(v) = parts.headers.get(auth::CSRF_HEADER) {
        return v.to_str().ok().map(str::to_string);
    }
    let is_form = parts
        .headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return None;
    }
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
        .ok()?
        .into_iter()
        .find(|(k, _)| k == "csrf")
        .map(|(_, v)| v)
}

/// The logged-in admin of a request; anything else is sent to the login page (HTML) or
/// answered 401 (API).
pub(crate) struct Admin {
    pub session: SessionInfo,
    pub user: String,
}

impl FromRequestParts<WebState> for Admin {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &WebState) -> Result<Self, Self::Rejection> {
        let session = parts.extensions.get::<SessionInfo>().cloned();
        match session {
            Some(session) if session.user.is_some() => {
                let user = session.user.clone().unwrap_or_default();
                Ok(Admin { session, user })
            }
            _ if wants_json(parts.uri.path()) => Err(WebError::new(
                StatusCode::UNAUTHORIZED,
                "log in first: POST /login, then send the session cookie (and X-CSRF-Token from GET /api/session on writes)",
            )
            .respond(true)),
            _ => Err(Redirect::to("/login").into_response()),
        }
    }
}

/// A [`WebError`] answered as an HTML page.
pub(crate) struct HtmlError(pub WebError);

impl IntoResponse for HtmlError {
    fn into_response(self) -> Response {
        self.0.respond(false)
    }
}

/// A [`WebError`] answered as `{"error": …}`.
pub(crate) struct JsonError(pub WebError);

impl IntoResponse for JsonError {
    fn into_response(self) -> Response {
        self.0.respond(true)
    }
}

/// An error answer: an HTML page or `{"error": …}`, depending on the route.
#[derive(Debug)]
pub(crate) struct WebError {
    pub status: StatusCode,
    pub message: String,
}

impl WebError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, message)
    }

    pub fn internal(error: impl std::fmt::Display) -> Self {
        tracing::error!(%error, "dashboard request failed");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, error.to_string())
    }

    pub fn from_engine(error: domwatch_engine::EngineError) -> Self {
        use domwatch_engine::EngineError as E;
        let status = match &error {
            E::NoSuchCase(_) => StatusCode::NOT_FOUND,
            E::Resolved(_) | E::ManualOnly(_) | E::InProgress(..) => StatusCode::CONFLICT,
            E::NoSuchOption { .. } => StatusCode::BAD_REQUEST,
            E::Billing(_) => StatusCode::BAD_GATEWAY,
            E::Store(_) => return Self::internal(error),
        };
        Self::new(status, error.to_string())
    }

    pub fn respond(self, json: bool) -> Response {
        if json {
            (
                self.status,
                axum::Json(serde_json::json!({"error": self.message})),
            )
                .into_response()
        } else {
            let body = format!(
                "<h1>{}</h1><p class=\"warn\">{}</p><p><a href=\"/\">Back to the cases</a></p>",
                self.status.as_u16(),
                esc(&self.message)
            );
            let frame = html::Frame {
                session: None,
                open_access: false,
            };
            (
                self.status,
                axum::response::Html(html::page("Error", &frame, &body)),
            )
                .into_response()
        }
    }
}
