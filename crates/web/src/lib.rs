//! domwatch-web: the dashboard.
//!
//! Server-rendered HTML (no JavaScript needed) over the [`Engine`]:
//!
//! | route | what |
//! | --- | --- |
//! | `GET /` | "Everything is fine", or the summary of open cases by kind: counts, money at stake, the top cases of each kind |
//! | `GET /cases?state=&kind=&account=&tld=&client=&currency=&min_at_stake=&q=&sort=&page=&per_page=` | every case, a page at a time, filtered and sorted in SQL |
//! | `GET /cases/{id}` | guide, evidence, fix options with their exact actions, notices, history |
//! | `POST /cases/{id}/preview` | the dry run of one option (writes nothing) |
//! | `POST /cases/{id}/fix` | Fix now: applies one option, shows each step's outcome |
//! | `GET /cases/bulk-fix?<the filters of /cases, a kind required>` | bulk Fix now: the combined plan of the list's cases (writes nothing); `GET /cases/bulk-fix.csv?…` every write as CSV |
//! | `POST /cases/bulk-fix` (`filters`) | starts the bulk fix in a background task (one at a time) |
//! | `GET /bulk-fix/{job}`, `POST /bulk-fix/{job}/stop` | its progress (refreshed while running); stop after the current case |
//! | `POST /check` | "Check now": wakes the scheduler (only under `domwatch serve`) |
//! | `GET /audit?before=ID` | every write to WHMCS or a registrar, newest first |
//! | `GET /webhooks` | the delivery log of outbound webhooks: event, receiver host, attempts, last answer, next try |
//! | `GET/POST /login`, `POST /logout` | admin login |
//! | `GET /api/session` | who is logged in and the CSRF token for API writes |
//! | `GET /forecast?days=N` | renewal forecast of the last cycle, with a weekly SVG chart |
//! | `GET /api/cases` (the parameters of `/cases`; with `page` or `per_page` one page with `total` and `next`), `GET /api/cases/{id}`, `POST /api/cases/{id}/fix`, `GET /api/runs` | JSON |
//! | `GET /api/forecast?days=N` | the renewal forecast as JSON (30, 60, 90 or 365 days) |
//! | `GET /api/cases.csv` | the whole filtered case list (filters of `/api/cases`) as CSV, sent in batches |
//! | `GET /api/summary` | open cases, money at stake per currency and kind, last run (store only) |
//! | `GET /api/tld-prices`, `POST /api/tld-prices/{id}/fix` | TLD price cases as JSON, their Fix now |
//! | `GET /api/openapi.json` | this JSON API as OpenAPI 3.1 ([`openapi`]; public) |
//! | `POST /api/events` | signed WHMCS hook events: queued, then a targeted check of their domains ([`events`]) |
//! | `GET /metrics` | Prometheus text format (bearer token, login, or this machine); under `domwatch serve` also who holds the leader lease |
//! | `GET /healthz` | liveness and database reachability; under `domwatch serve` a second line `leader: yes` or `leader: no` |
//! | `GET /static/domwatch.css` | the stylesheet (no inline style or script anywhere) |
//!
//! Authentication and CSRF are described in [`auth`]. Every write needs the session's CSRF
//! token; this is enforced in one middleware for every non-GET route, so a new route can
//! not forget it. On `/api/*` an API token (`Authorization: Bearer dwt_…`, [`api_token`])
//! stands in for the session and its CSRF token, checked in the same middleware. Every answer carries the security headers and every request passes the
//! Host allow-list ([`security`]); logins are throttled ([`throttle`]) and their password
//! hashing is bounded; [`serve`] cuts off clients that send their headers too slowly.

pub mod api_token;
pub mod auth;
mod chart;
pub mod events;
mod html;
mod metrics;
pub mod openapi;
mod pages;
pub mod security;
mod server;
mod summary;
mod throttle;
mod tld_prices;
mod webhooks_page;

mod api;
mod bulk_fix_page;
mod case_api;
mod case_list;
mod case_params;
pub mod export;
mod forecast_page;
mod summary_page;

pub use auth::{hash_password, AuthConfig, AuthError};
pub use case_params::query_from_pairs;
pub use html::esc;
pub use security::{log_text, AllowedHosts};
pub use server::serve;

use auth::{SessionInfo, Sessions, Tokens};
use axum::body::Body;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::header::{CONTENT_TYPE, COOKIE, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use domwatch_engine::Engine;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use throttle::LoginThrottle;
use tokio::sync::{Notify, Semaphore};

/// Form bodies larger than this are refused before the CSRF check reads them.
const MAX_FORM_BYTES: usize = 64 * 1024;

/// The dashboard's defences that are not about who is logged in.
#[derive(Clone)]
pub struct SecurityConfig {
    /// `Host` headers answered; others get 421.
    pub allowed_hosts: AllowedHosts,
    /// Reverse proxies whose `X-Forwarded-For` names the client (exact addresses).
    pub trusted_proxies: Vec<IpAddr>,
    /// Failed logins per client address or user name within `login_window` before 429.
    pub login_max_failures: u32,
    pub login_window: Duration,
    /// Password checks (argon2, ~19 MiB each) running at once; more wait `hash_wait`,
    /// then get 503.
    pub max_concurrent_hashes: usize,
    pub hash_wait: Duration,
    /// `Authorization: Bearer <token>` that opens `/metrics`.
    pub metrics_token: Option<String>,
    /// A request's head must arrive within this, its body within `body_read_timeout`.
    pub header_read_timeout: Duration,
    pub body_read_timeout: Duration,
}

impl Default for SecurityConfig {
    fn default() -> Self {
        Self {
            allowed_hosts: AllowedHosts::loopback_and(None),
            trusted_proxies: Vec::new(),
            login_max_failures: 5,
            login_window: Duration::from_secs(5 * 60),
            max_concurrent_hashes: 2,
            hash_wait: Duration::from_secs(10),
            metrics_token: None,
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(30),
        }
    }
}

impl std::fmt::Debug for SecurityConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecurityConfig")
            .field("allowed_hosts", &self.allowed_hosts)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("login_max_failures", &self.login_max_failures)
            .field("login_window", &self.login_window)
            .field("max_concurrent_hashes", &self.max_concurrent_hashes)
            .field("metrics_token", &self.metrics_token.as_ref().map(|_| "***"))
            .field("header_read_timeout", &self.header_read_timeout)
            .field("body_read_timeout", &self.body_read_timeout)
            .finish()
    }
}

/// Where the dashboard reads the time for sessions and throttling (tests move it).
pub type Clock = Arc<dyn Fn() -> Instant + Send + Sync>;

/// What the dashboard needs: the engine (store, billing, registrars) and the login setup.
#[derive(Clone)]
pub struct WebState {
    pub engine: Engine,
    pub auth: AuthConfig,
    security: Arc<SecurityConfig>,
    sessions: Arc<Sessions>,
    tokens: Arc<Tokens>,
    throttle: Arc<LoginThrottle>,
    hashing: Arc<Semaphore>,
    clock: Clock,
    check_now: Option<Arc<Notify>>,
    events: Arc<events::EventsConfig>,
    /// This `domwatch serve` instance's name in the leader lease.
    instance: Option<Arc<str>>,
    bulk_jobs: Arc<bulk_fix_page::BulkJobs>,
}

impl WebState {
    pub fn new(engine: Engine, auth: AuthConfig) -> Self {
        let clock: Clock = Arc::new(Instant::now);
        let security = SecurityConfig::default();
        Self {
            sessions: Arc::new(Sessions::new(auth.idle_timeout, auth.absolute_lifetime)),
            tokens: Arc::new(Tokens::new(clock())),
            throttle: Arc::new(LoginThrottle::new(
                security.login_max_failures,
                security.login_window,
            )),
            hashing: Arc::new(Semaphore::new(security.max_concurrent_hashes.max(1))),
            security: Arc::new(security),
            engine,
            auth,
            clock,
            check_now: None,
            events: Arc::new(events::EventsConfig::default()),
            instance: None,
            bulk_jobs: Arc::default(),
        }
    }

    /// Accepts signed events on `POST /api/events` (see [`events`]).
    pub fn with_events(mut self, config: events::EventsConfig) -> Self {
        self.events = Arc::new(config);
        self
    }

    /// Names this instance in the leader lease: `/healthz` says whether it leads and
    /// `/metrics` who does (several `domwatch serve` on one database).
    pub fn with_instance(mut self, holder: String) -> Self {
        self.instance = Some(holder.into());
        self
    }

    /// Replaces the default [`SecurityConfig`].
    pub fn with_security(mut self, security: SecurityConfig) -> Self {
        self.throttle = Arc::new(LoginThrottle::new(
            security.login_max_failures,
            security.login_window,
        ));
        self.hashing = Arc::new(Semaphore::new(security.max_concurrent_hashes.max(1)));
        self.security = Arc::new(security);
        self
    }

    /// Reads time from `clock` for sessions, anonymous tokens and throttling.
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.tokens = Arc::new(Tokens::new(clock()));
        self.clock = clock;
        self
    }

    fn now(&self) -> Instant {
        (self.clock)()
    }

    /// Server-side sessions held: only logged-in admins have one.
    pub fn session_count(&self) -> usize {
        self.sessions.len()
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
        .route("/", get(summary_page::dashboard))
        .route("/cases", get(case_list::list))
        .route(
            "/cases/bulk-fix",
            get(bulk_fix_page::plan_page).post(bulk_fix_page::apply),
        )
        .route("/cases/bulk-fix.csv", get(bulk_fix_page::plan_csv))
        .route("/bulk-fix/{job}", get(bulk_fix_page::progress_page))
        .route("/bulk-fix/{job}/stop", post(bulk_fix_page::stop))
        .route("/cases/{id}", get(pages::case_page))
        .route("/cases/{id}/fix", post(pages::fix_now))
        .route("/cases/{id}/preview", post(pages::preview))
        .route("/audit", get(pages::audit))
        .route("/webhooks", get(webhooks_page::webhooks_page))
        .route("/tld-prices", get(tld_prices::list))
        .route("/tld-prices/{id}/preview", post(tld_prices::preview))
        .route("/tld-prices/{id}/fix", post(tld_prices::fix_now))
        .route("/api/tld-prices", get(tld_prices::api_list))
        .route("/api/tld-prices/{id}/fix", post(tld_prices::api_fix))
        .route("/check", post(pages::check_now))
        .route("/login", get(pages::login_form).post(pages::login))
        .route("/logout", post(pages::logout))
        .route("/api/session", get(api::session))
        .route("/api/cases", get(case_api::cases))
        .route("/api/cases.csv", get(case_api::cases_csv))
        .route("/api/forecast", get(api::forecast))
        .route("/forecast", get(forecast_page::forecast_page))
        .route("/api/cases/{id}", get(api::case))
        .route("/api/cases/{id}/fix", post(api::fix))
        .route("/api/runs", get(api::runs))
        .route("/api/summary", get(api::summary))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            session_and_csrf,
        ));
    Router::new()
        .route("/healthz", get(metrics::healthz))
        .route("/metrics", get(metrics::metrics))
        .route("/static/domwatch.css", get(html::stylesheet))
        .route("/api/openapi.json", get(openapi::serve_document))
        // Signed by the sender; no session, token or CSRF token (see `events`).
        .route(
            "/api/events",
            post(events::receive).layer(axum::extract::DefaultBodyLimit::max(
                events::MAX_EVENT_BYTES,
            )),
        )
        .merge(protected)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            security::check_host,
        ))
        .layer(axum::middleware::from_fn(security::security_headers))
        .with_state(state)
}

/// True when the client is this machine (or its address is unknown, as in in-process
/// tests that call the router directly), after resolving trusted proxies.
fn client_is_local(
    state: &WebState,
    parts_ext: &axum::http::Extensions,
    headers: &axum::http::HeaderMap,
) -> bool {
    security::client_ip(parts_ext, headers, &state.security.trusted_proxies)
        .is_none_or(|ip| ip.is_loopback())
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

/// Lets a valid API token through on `/api/*` (see [`api_token`]); otherwise finds (or,
/// with open access, creates) the session, enforces the CSRF token on every write, and
/// hands the session to the handlers.
async fn session_and_csrf(State(state): State<WebState>, request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    let json = wants_json(parts.uri.path());
    if json {
        match api_token::authenticate(&state, &parts.method, &parts.headers).await {
            Some(Ok(caller)) => {
                parts.extensions.insert(caller);
                return next.run(Request::from_parts(parts, body)).await;
            }
            Some(Err(refused)) => return refused.respond(true),
            None => {}
        }
    }
    if state.auth.is_open_access() && !client_is_local(&state, &parts.extensions, &parts.headers) {
        return WebError::forbidden("no admin password is configured, so only this machine may use the dashboard: set serve.admin_password_hash").respond(json);
    }
    let secure = state.auth.secure_cookies || forwarded_https(&parts.headers);
    let cookie = parts
        .headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(auth::session_id_from_cookies);
    let mut new_cookie = None;
    let session = match cookie.map(|c| state.session_of_cookie(c)) {
        Some(Some(s)) => Some(s),
        _ if state.auth.is_open_access() => {
            let s = state.anonymous_session(state.tokens.issue(state.now()));
            new_cookie = Some(auth::session_cookie(&s.id, secure));
            Some(s)
        }
        _ => None,
    };

    let body = if matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS) {
        body
    } else {
        let read = axum::body::to_bytes(body, MAX_FORM_BYTES);
        let bytes = match tokio::time::timeout(state.security.body_read_timeout, read).await {
            Ok(Ok(b)) => b,
            Ok(Err(_)) => {
                return WebError::new(StatusCode::PAYLOAD_TOO_LARGE, "request body too large")
                    .respond(json)
            }
            Err(_) => {
                return WebError::new(
                    StatusCode::REQUEST_TIMEOUT,
                    "the request body did not arrive in time",
                )
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

impl WebState {
    /// The session a cookie stands for: a logged-in session, or a valid anonymous token
    /// (the login form; everyone under open access).
    fn session_of_cookie(&self, cookie: &str) -> Option<SessionInfo> {
        let now = self.now();
        if let Some(s) = self.sessions.get(cookie, now) {
            return Some(s);
        }
        let max_age = if self.auth.is_open_access() {
            self.auth.absolute_lifetime
        } else {
            auth::LOGIN_FORM_TTL
        };
        self.tokens
            .verify(cookie, now, max_age)
            .then(|| self.anonymous_session(cookie.to_string()))
    }

    /// An anonymous token as a session: no user (login form) or the open-access user.
    fn anonymous_session(&self, token: String) -> SessionInfo {
        SessionInfo {
            csrf: self.tokens.csrf_of(&token),
            user: self
                .auth
                .is_open_access()
                .then(|| auth::OPEN_ACCESS_USER.to_string()),
            id: token,
        }
    }
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
    /// Set when an API token authenticated the request (no session behind it).
    pub token: Option<String>,
}

impl Admin {
    /// The audit actor of a write through the JSON API: `token:NAME` or `api:USER`.
    pub fn api_actor(&self) -> String {
        match &self.token {
            Some(name) => format!("token:{name}"),
            None => format!("api:{}", self.user),
        }
    }
}

impl FromRequestParts<WebState> for Admin {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &WebState) -> Result<Self, Self::Rejection> {
        if let Some(caller) = parts.extensions.get::<api_token::TokenCaller>() {
            let user = format!("token:{}", caller.name);
            let session = SessionInfo {
                id: String::new(),
                user: Some(user.clone()),
                csrf: String::new(),
            };
            return Ok(Admin {
                session,
                user,
                token: Some(caller.name.clone()),
            });
        }
        let session = parts.extensions.get::<SessionInfo>().cloned();
        match session {
            Some(session) if session.user.is_some() => {
                let user = session.user.clone().unwrap_or_default();
                Ok(Admin {
                    session,
                    user,
                    token: None,
                })
            }
            _ if wants_json(parts.uri.path()) => Err(WebError::new(
                StatusCode::UNAUTHORIZED,
                "log in first: POST /login, then send the session cookie (and X-CSRF-Token from GET /api/session on writes), or send `Authorization: Bearer <API token>`",
            )
            .respond(true)),
            _ => Err(Redirect::to("/login").into_response()),
        }
    }
}

/// The client's address (see [`security::client_ip`]); `None` in in-process tests.
pub(crate) struct ConnectionInfo(pub Option<IpAddr>);

impl FromRequestParts<WebState> for ConnectionInfo {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &WebState,
    ) -> Result<Self, Self::Rejection> {
        Ok(Self(security::client_ip(
            &parts.extensions,
            &parts.headers,
            &state.security.trusted_proxies,
        )))
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

    /// The answer to an engine error. Every variant is listed (no catch-all), so a new
    /// one, e.g. a fix already in progress (409), is one more arm here.
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
