//! The sandbox registrar: a stateful HTTP server that speaks the CNR or the ISPAPI
//! dialect of `POST /api/call.cgi`, seeded from the deterministic [`Portfolio`].
//!
//! * [`RegistrarSandbox::start`] binds `127.0.0.1:0` and serves in the background (tests,
//!   the CLI's embedded default); [`serve`] runs on a listener you bound yourself.
//! * Scripted events and faults: [`RegistrarSandbox::apply`] or
//!   `POST /_sandbox/event` with a JSON [`RegistrarEvent`]; `GET /_sandbox/state` shows
//!   the clock, counters and fault settings.
//!
//! Admin contract (JSON in, JSON out; 200 `{"ok":true,"detail":…}`, 400 for JSON that is
//! no event, 422 `{"ok":false,"error":…}` for an event that cannot apply):
//!
//! ```text
//! {"event":"turn_premium","domain":"x.shop","renew_price":"480.00"[,"class":"…"]}
//! {"event":"zone_price","zone":"com","renew":"12.30"[,"register":"…","transfer":"…"]}
//! {"event":"fail_transfer","domain":"x.com"[,"reason":"…"]}
//! {"event":"fail_renewal","domain":"x.com","reason":"…"}
//! {"event":"renew","domain":"x.com"[,"years":1]}
//! {"event":"set_renewal_mode","domain":"x.com","mode":"AUTOEXPIRE"}
//! {"event":"remove_domain","domain":"x.com"}
//! {"event":"advance_clock","days":30[,"hours":0]}
//! {"event":"set_faults","rate_421":0.1,"rate_http_500":0,"rate_truncated":0,"rate_short_page":0,"rate_hang":0,"latency_ms":50,"hang_ms":3600000}
//! {"event":"inject_fault","fault":"code421|http500|truncated|short_page|hang","count":1}
//! ```
//!
//! Not modelled: sub-users (`SUBUSER`, `s_user` act on the main account), list filters
//! other than paging (`DOMAIN`, `ZONE`, … are refused with 510 rather than ignored),
//! redemption/restore of deleted domains (an expired AUTOEXPIRE/AUTODELETE domain simply
//! leaves the account), and auto-renewal failures on their own (auto-renewals succeed
//! unless a `fail_renewal` event says otherwise; then the paid-until stays put).
//!
//! Everything is a function of the seed and the requests received: session ids, fault
//! decisions and runtimes included.

pub mod commands;
pub mod events;
pub mod faults;
pub mod state;
pub mod wire;

pub use events::RegistrarEvent;
pub use faults::{Fault, FaultConfig};
pub use state::RoleUser;

use crate::portfolio::Portfolio;
use axum::body::Bytes;
use axum::extract::State as AxumState;
use axum::http::{header, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::NaiveDate;
use domwatch_core::model::Dialect;
use domwatch_rrp::codec::Command;
use faults::FaultPlan;
use rust_decimal_macros::dec;
use serde::Serialize;
use state::{Account, State};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use wire::Reply;

/// Login of the sandbox account unless configured otherwise.
pub const DEFAULT_LOGIN: &str = "domwatch-sandbox";
/// Password of the sandbox account unless configured otherwise (a sandbox, not a secret).
pub const DEFAULT_PASSWORD: &str = "sandbox-password";
/// The API path, as on the real endpoints.
pub const API_PATH: &str = "/api/call.cgi";
/// The `s_entity` values ISPAPI accepts: LIVE and OT&E.
pub const ISPAPI_ENTITIES: [&str; 2] = ["54cd", "1234"];

/// How to build a sandbox registrar.
#[derive(Debug, Clone)]
pub struct RegistrarSandboxConfig {
    pub dialect: Dialect,
    pub seed: u64,
    /// Size of the whole portfolio; the account holds the part of `dialect`.
    pub domains: usize,
    /// The day the portfolio is anchored to, and the sandbox clock's start (10:00).
    pub today: NaiveDate,
    pub login: String,
    pub password: String,
    pub roles: Vec<RoleUser>,
    pub faults: FaultConfig,
    /// Keep changes (renewal modes, contacts, renewals …) in this JSON file across
    /// restarts, as a real registrar would; `None` keeps them in memory only.
    pub state_file: Option<std::path::PathBuf>,
    /// Domains per thousand that carry a random drift (see `Portfolio::drift_per_mille`).
    pub drift_per_mille: u16,
}

impl RegistrarSandboxConfig {
    /// A sandbox of `domains` portfolio domains with the default credentials and no faults.
    pub fn new(dialect: Dialect, seed: u64, domains: usize, today: NaiveDate) -> Self {
        RegistrarSandboxConfig {
            dialect,
            seed,
            domains,
            today,
            login: DEFAULT_LOGIN.into(),
            password: DEFAULT_PASSWORD.into(),
            roles: Vec::new(),
            faults: FaultConfig::default(),
            state_file: None,
            drift_per_mille: crate::portfolio::DEFAULT_DRIFT_PER_MILLE,
        }
    }

    /// The portfolio the sandbox derives its domains from.
    pub fn portfolio(&self) -> Portfolio {
        Portfolio::new(self.seed, self.domains, self.today)
            .with_drift_per_mille(self.drift_per_mille)
    }

    fn validate(&self) -> Result<(), String> {
        if self.dialect == Dialect::Smartnic {
            return Err("the registrar sandbox speaks cnr or ispapi; Smart-NIC is SOAP and has its own sandbox".into());
        }
        if self.login.is_empty() || self.password.is_empty() {
            return Err("the sandbox account needs a non-empty login and password".into());
        }
        self.faults.validate()
    }
}

struct Inner {
    state: State,
    faults: FaultPlan,
    requests: u64,
    /// Requests per command (upper-cased), so a benchmark can tell where its calls go.
    requests_by_command: std::collections::BTreeMap<String, u64>,
    /// Where changes are saved, and the change count last saved.
    state_file: Option<std::path::PathBuf>,
    saved_changes: u64,
}

impl Inner {
    /// Saves the overlay when something changed (write to a temporary file, then rename,
    /// so a crash never leaves half a file).
    fn save_if_changed(&mut self) {
        let Some(path) = &self.state_file else { return };
        if self.state.changes() == self.saved_changes {
            return;
        }
        let result = serde_json::to_vec(&self.state.persisted())
            .map_err(|e| e.to_string())
            .and_then(|bytes| {
                let tmp = path.with_extension("json.tmp");
                std::fs::write(&tmp, bytes)
                    .and_then(|()| std::fs::rename(&tmp, path))
                    .map_err(|e| e.to_string())
            });
        match result {
            Ok(()) => self.saved_changes = self.state.changes(),
            Err(e) => {
                tracing::error!(file = %path.display(), error = %e, "sandbox registrar state not saved")
            }
        }
    }
}

/// Shared by every request of one sandbox.
pub struct App {
    inner: Mutex<Inner>,
}

impl App {
    fn new(config: &RegistrarSandboxConfig) -> Result<Self, String> {
        config.validate()?;
        let account = Account {
            login: config.login.clone(),
            password: config.password.clone(),
            roles: config.roles.clone(),
            balance: state::initial_balance(config.seed),
            credit_limit: dec!(5000.00),
            vat_percent: dec!(19.00),
        };
        let mut state = State::new(config.dialect, config.portfolio(), account);
        if let Some(path) = config.state_file.as_ref().filter(|p| p.exists()) {
            let saved = std::fs::read(path)
                .map_err(|e| e.to_string())
                .and_then(|bytes| {
                    serde_json::from_slice::<state::PersistedState>(&bytes)
                        .map_err(|e| e.to_string())
                })
                .and_then(|saved| state.restore(saved));
            if let Err(e) = saved {
                return Err(format!(
                    "the sandbox registrar state in {} cannot be used ({e}): delete the file to start over",
                    path.display()
                ));
            }
        }
        let saved_changes = state.changes();
        Ok(App {
            inner: Mutex::new(Inner {
                state,
                faults: FaultPlan::new(config.seed, config.faults.clone()),
                requests: 0,
                requests_by_command: Default::default(),
                state_file: config.state_file.clone(),
                saved_changes,
            }),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic in one handler must not take the whole sandbox down.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Applies a scripted event.
    pub fn apply(&self, event: RegistrarEvent) -> Result<String, String> {
        let mut inner = self.lock();
        let Inner { state, faults, .. } = &mut *inner;
        let result = events::apply(event, state, faults);
        inner.save_if_changed();
        result
    }

    fn snapshot(&self) -> Snapshot {
        let mut inner = self.lock();
        let listed = inner.state.listed_total();
        Snapshot {
            dialect: inner.state.dialect.to_string(),
            seed: inner.state.portfolio.seed,
            portfolio_size: inner.state.portfolio.size,
            now: inner.state.now().format("%Y-%m-%d %H:%M:%S").to_string(),
            listed_domains: listed,
            api_requests: inner.requests,
            api_requests_by_command: inner.requests_by_command.clone(),
            open_sessions: inner.state.session_count(),
            queued_faults: inner.faults.queued(),
            faults: inner.faults.config.clone(),
        }
    }
}

/// `GET /_sandbox/state`.
#[derive(Debug, Serialize)]
struct Snapshot {
    dialect: String,
    seed: u64,
    portfolio_size: usize,
    now: String,
    listed_domains: usize,
    api_requests: u64,
    api_requests_by_command: std::collections::BTreeMap<String, u64>,
    open_sessions: usize,
    queued_faults: usize,
    faults: FaultConfig,
}

/// The axum router of a sandbox (API, admin endpoints), for embedding.
pub fn router(config: &RegistrarSandboxConfig) -> Result<(Router, Arc<App>), String> {
    let app = Arc::new(App::new(config)?);
    let router = Router::new()
        .route(API_PATH, post(api_call).get(api_call))
        .route("/api/call", post(api_call).get(api_call))
        .route("/_sandbox/event", post(admin_event))
        .route("/_sandbox/state", get(admin_state))
        .with_state(app.clone());
    Ok((router, app))
}

/// Serves a sandbox on `listener` until the server fails.
pub async fn serve(
    config: RegistrarSandboxConfig,
    listener: tokio::net::TcpListener,
) -> std::io::Result<()> {
    let (router, _) = router(&config).map_err(std::io::Error::other)?;
    axum::serve(listener, router).await
}

/// A sandbox registrar running in the background of this process.
pub struct RegistrarSandbox {
    addr: SocketAddr,
    app: Arc<App>,
    dialect: Dialect,
    login: String,
    password: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl RegistrarSandbox {
    /// Binds `127.0.0.1:0` and serves in the background.
    pub async fn start(config: RegistrarSandboxConfig) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        Self::start_on(config, listener)
    }

    /// Serves on a listener the caller bound (e.g. the CLI's `--listen`).
    pub fn start_on(
        config: RegistrarSandboxConfig,
        listener: tokio::net::TcpListener,
    ) -> std::io::Result<Self> {
        let addr = listener.local_addr()?;
        let (router, app) = router(&config).map_err(std::io::Error::other)?;
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await
        });
        Ok(RegistrarSandbox {
            addr,
            app,
            dialect: config.dialect,
            login: config.login,
            password: config.password,
            shutdown: Some(tx),
            task: Some(task),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// The API endpoint, e.g. `http://127.0.0.1:8480/api/call.cgi`.
    pub fn endpoint(&self) -> String {
        format!("http://{}{}", self.addr, API_PATH)
    }

    /// `http://127.0.0.1:port`, for the admin endpoints.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn login(&self) -> &str {
        &self.login
    }

    pub fn password(&self) -> &str {
        &self.password
    }

    /// Applies a scripted event (same as `POST /_sandbox/event`).
    pub fn apply(&self, event: RegistrarEvent) -> Result<String, String> {
        self.app.apply(event)
    }

    /// API requests received so far (admin requests not counted).
    pub fn request_count(&self) -> u64 {
        self.app.lock().requests
    }

    /// Stops serving and waits for the server task.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            // Hanging requests would keep a graceful shutdown waiting: bound it.
            let _ = tokio::time::timeout(Duration::from_secs(2), task).await;
        }
    }
}

impl Drop for RegistrarSandbox {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

// ----- HTTP handlers --------------------------------------------------------------------

async fn admin_event(AxumState(app): AxumState<Arc<App>>, body: Bytes) -> Response {
    let event: RegistrarEvent = match serde_json::from_slice(&body) {
        Ok(event) => event,
        Err(e) => {
            return (
                StatusCode::BAD_REQUEST,
                Json(serde_json::json!({"ok": false, "error": format!("not a sandbox event: {e}; send e.g. {{\"event\":\"advance_clock\",\"days\":1}}")})),
            )
                .into_response()
        }
    };
    let applied = tokio::task::spawn_blocking(move || app.apply(event))
        .await
        .unwrap_or_else(|_| Err("the sandbox failed while applying the event".into()));
    match applied {
        Ok(detail) => Json(serde_json::json!({"ok": true, "detail": detail})).into_response(),
        Err(error) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(serde_json::json!({"ok": false, "error": error})),
        )
            .into_response(),
    }
}

async fn admin_state(AxumState(app): AxumState<Arc<App>>) -> Response {
    match tokio::task::spawn_blocking(move || app.snapshot()).await {
        Ok(snapshot) => Json(snapshot).into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

async fn api_call(
    AxumState(app): AxumState<Arc<App>>,
    method: Method,
    uri: Uri,
    body: Bytes,
) -> Response {
    let mut fields: Vec<(String, String)> = Vec::new();
    let mut malformed = false;
    if let Some(query) = uri.query() {
        match serde_urlencoded::from_str::<Vec<(String, String)>>(query) {
            Ok(pairs) => fields.extend(pairs),
            Err(_) => malformed = true,
        }
    }
    if method == Method::POST && !body.is_empty() {
        match serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body) {
            Ok(pairs) => fields.extend(pairs),
            Err(_) => malformed = true,
        }
    }

    // The state work is synchronous and can be long (first list of a huge portfolio):
    // run it off the async workers so slow answers never stall the server.
    let worker = app.clone();
    let decided = tokio::task::spawn_blocking(move || {
        let cmd = request_command(&fields);
        let mut inner = worker.lock();
        let request = inner.requests;
        inner.requests += 1;
        let counted = match cmd.name() {
            "" => "(none)".to_string(),
            name => name.to_ascii_uppercase(),
        };
        *inner.requests_by_command.entry(counted).or_default() += 1;
        let fault = inner.faults.decide(request);
        let latency = inner.faults.config.latency_ms;
        let hang = inner.faults.config.hang_ms;
        let dialect = inner.state.dialect;
        let text = match fault {
            Some(Fault::Hang) | Some(Fault::Http500) => String::new(),
            Some(Fault::Code421) => wire::render(
                &Reply::new(
                    421,
                    "Command failed due to server error. Client should try again",
                ),
                dialect,
                runtime_of(request),
            ),
            None | Some(Fault::Truncated) | Some(Fault::ShortPage) => {
                let reply = if malformed {
                    Reply::syntax_error(507, "Invalid command format")
                } else {
                    let reply = handle_call(&mut inner.state, &fields, &cmd);
                    inner.save_if_changed();
                    reply
                };
                wire::render(&reply, dialect, runtime_of(request))
            }
        };
        (fault, latency, hang, text)
    })
    .await;
    let Ok((fault, latency, hang, text)) = decided else {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            "sandbox handler panicked\n",
        )
            .into_response();
    };

    if fault == Some(Fault::Hang) {
        tokio::time::sleep(Duration::from_millis(hang)).await;
        return StatusCode::GATEWAY_TIMEOUT.into_response();
    }
    if latency > 0 {
        tokio::time::sleep(Duration::from_millis(latency)).await;
    }
    match fault {
        Some(Fault::Http500) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            [(header::CONTENT_TYPE, HeaderValue::from_static("text/html"))],
            "<html><head><title>500 Internal Server Error</title></head><body><h1>Internal Server Error</h1></body></html>\n",
        )
            .into_response(),
        Some(Fault::Truncated) => text_response(faults::truncate(&text)),
        Some(Fault::ShortPage) => text_response(faults::drop_rows(&text)),
        _ => text_response(text),
    }
}

fn text_response(body: String) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=UTF-8"),
        )],
        body,
    )
        .into_response()
}

/// A plausible, deterministic server runtime for request `n` (5..45 ms).
fn runtime_of(request: u64) -> f64 {
    0.005 + (request.wrapping_mul(37) % 40) as f64 / 1000.0
}

/// The command a request carries: the `s_command` body, or GET style
/// (`?s_login=…&command=StatusAccount&domain=…`) where every field that is not a
/// connection field is a command parameter.
fn request_command(fields: &[(String, String)]) -> Command {
    match last_field(fields, "s_command") {
        Some(text) => Command::decode(text),
        None => {
            let mut cmd = Command::empty();
            for (key, value) in fields {
                let lower = key.to_ascii_lowercase();
                if !lower.starts_with("s_") && lower != "persistent" {
                    cmd.set(key, value.as_str());
                }
            }
            cmd
        }
    }
}

/// The last value of a request field, by case-insensitive name (later fields win).
fn last_field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .rev()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Authenticates one call and runs `cmd`, the command it carries.
fn handle_call(state: &mut State, fields: &[(String, String)], cmd: &Command) -> Reply {
    let dialect = state.dialect;
    let field = |name: &str| last_field(fields, name);
    let command = cmd.name().to_ascii_lowercase();

    if dialect == Dialect::Ispapi {
        let entity = field("s_entity").unwrap_or_default();
        if !ISPAPI_ENTITIES.contains(&entity) {
            return Reply::new(502, "Invalid entity value");
        }
    }

    let session_field = match dialect {
        Dialect::Cnr => "s_sessionid",
        _ => "s_session",
    };
    let session = field(session_field).filter(|s| !s.is_empty());
    let login = match session {
        Some(id) => match state.use_session(id) {
            Some(login) => {
                let claimed = field("s_login").filter(|l| !l.is_empty());
                if claimed.is_some_and(|c| c != login) {
                    return Reply::new(530, "Authentication failed");
                }
                login
            }
            None => return Reply::new(530, "Authentication failed"),
        },
        None => {
            let (Some(login), Some(password)) = (field("s_login"), field("s_pw")) else {
                return Reply::new(530, "Authentication failed");
            };
            if !credentials_ok(&state.account, dialect, login, password) {
                return Reply::new(530, "Authentication failed");
            }
            login.to_string()
        }
    };

    match (dialect, command.as_str()) {
        (Dialect::Cnr, "" | "startsession") if field("persistent") == Some("1") => {
            let (id, expires) = state.open_session(&login);
            let mut r = Reply::ok();
            r.push("expiration date", expires.format("%Y-%m-%d %H:%M:%S"));
            r.push("sessionid", id);
            r
        }
        (Dialect::Cnr, "stopsession") | (Dialect::Ispapi, "endsession") => {
            if let Some(id) = session {
                state.close_session(id);
            }
            Reply::ok()
        }
        (Dialect::Ispapi, "startsession") => {
            let (id, _) = state.open_session(&login);
            let mut r = Reply::ok();
            r.push("session", id);
            r
        }
        _ => commands::dispatch(state, cmd),
    }
}

/// The account login, or a role user as `login:role` (CNR) / `login!role` (ISPAPI).
fn credentials_ok(account: &Account, dialect: Dialect, login: &str, password: &str) -> bool {
    if login == account.login {
        return constant_time_eq(password, &account.password);
    }
    let separator = match dialect {
        Dialect::Cnr => ':',
        _ => '!',
    };
    let Some((base, role)) = login.split_once(separator) else {
        return false;
    };
    base == account.login
        && account
            .roles
            .iter()
            .any(|r| r.role == role && constant_time_eq(password, &r.password))
}

fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}
