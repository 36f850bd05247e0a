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
//! {"event":"inject_fault","fault":"command_failed|http500|truncated|short_page|hang","count":1}
//! ```
//!
//! The fault names are the shared ones of [`crate::kit::faults`]; `code421` and
//! `rate_421` name the registrar's `command_failed` (code 421) too.
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
mod session;
pub mod state;
pub mod wire;

pub use events::RegistrarEvent;
pub use faults::{Fault, FaultConfig};
pub use state::RoleUser;

use crate::kit::{self, CallCounter, Server, StateFile};
use crate::portfolio::Portfolio;
use axum::body::Bytes;
use axum::extract::State as AxumState;
use axum::http::{header, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use chrono::NaiveDate;
use domwatch_core::model::Dialect;
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
    /// API requests, per command (upper-cased).
    calls: CallCounter,
    state_file: StateFile,
}

impl Inner {
    /// Saves the overlay when something changed.
    fn save_if_changed(&mut self) {
        let state = &self.state;
        self.state_file
            .save_if_changed(state.changes(), || state.persisted());
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
        let mut state_file = StateFile::new(config.state_file.clone(), "sandbox registrar");
        state_file.load(|saved: state::PersistedState| state.restore(saved))?;
        state_file.mark_saved(state.changes());
        Ok(App {
            inner: Mutex::new(Inner {
                state,
                faults: FaultPlan::new(config.seed, config.faults.clone()),
                calls: CallCounter::default(),
                state_file,
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
        let listed_domains = inner.state.listed_total();
        Snapshot {
            dialect: inner.state.dialect.to_string(),
            seed: inner.state.portfolio.seed,
            portfolio_size: inner.state.portfolio.size,
            now: inner.state.now().format("%Y-%m-%d %H:%M:%S").to_string(),
            listed_domains,
            api_requests: inner.calls.total(),
            api_requests_by_command: inner.calls.by_name().clone(),
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

/// A sandbox registrar running in the background of this process; stops when dropped.
pub struct RegistrarSandbox {
    server: Server,
    app: Arc<App>,
    dialect: Dialect,
    login: String,
    password: String,
}

impl RegistrarSandbox {
    /// Binds `127.0.0.1:0` and serves in the background.
    pub async fn start(config: RegistrarSandboxConfig) -> std::io::Result<Self> {
        Self::start_on(config, kit::server::bind_loopback().await?)
    }

    /// Serves on a listener the caller bound (e.g. the CLI's `--listen`).
    pub fn start_on(
        config: RegistrarSandboxConfig,
        listener: tokio::net::TcpListener,
    ) -> std::io::Result<Self> {
        let (router, app) = router(&config).map_err(std::io::Error::other)?;
        Ok(RegistrarSandbox {
            server: Server::spawn(listener, router, "sandbox registrar")?,
            app,
            dialect: config.dialect,
            login: config.login,
            password: config.password,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// The API endpoint, e.g. `http://127.0.0.1:8480/api/call.cgi`.
    pub fn endpoint(&self) -> String {
        format!("http://{}{}", self.addr(), API_PATH)
    }

    /// `http://127.0.0.1:port`, for the admin endpoints.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr())
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
        self.app.lock().calls.total()
    }

    /// API requests received so far, per command.
    pub fn requests_by_command(&self) -> std::collections::BTreeMap<String, u64> {
        self.app.lock().calls.by_name().clone()
    }

    /// Stops serving and waits (briefly) for the server task.
    pub async fn stop(mut self) {
        self.server.stop().await;
    }
}

// ----- HTTP handlers --------------------------------------------------------------------

async fn admin_event(AxumState(app): AxumState<Arc<App>>, body: Bytes) -> Response {
    kit::admin::event(body, move |event| app.apply(event)).await
}

async fn admin_state(AxumState(app): AxumState<Arc<App>>) -> Response {
    kit::admin::state(move || app.snapshot()).await
}

/// What one API call came to, decided under the lock.
struct Decided {
    fault: Option<Fault>,
    latency_ms: u64,
    hang_ms: u64,
    text: String,
}

async fn api_call(
    AxumState(app): AxumState<Arc<App>>,
    method: Method,
    uri: Uri,
    body: Bytes,
) -> Response {
    let (fields, malformed) = request_fields(&method, &uri, &body);
    // The state work is synchronous and can be long (first list of a huge portfolio):
    // run it off the async workers so slow answers never stall the server.
    let decided = tokio::task::spawn_blocking(move || app.decide(&fields, malformed)).await;
    let Ok(decided) = decided else {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            "sandbox handler panicked\n",
        )
            .into_response();
    };
    if decided.fault == Some(Fault::Hang) {
        return kit::faults::hang(Duration::from_millis(decided.hang_ms)).await;
    }
    if decided.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(decided.latency_ms)).await;
    }
    match decided.fault {
        Some(Fault::Http500) => kit::faults::http_500_page(),
        Some(Fault::Truncated) => text_response(faults::truncate(&decided.text)),
        Some(Fault::ShortPage) => text_response(faults::drop_rows(&decided.text)),
        _ => text_response(decided.text),
    }
}

/// The fields of a call: its query string, then (POST) its form body; `true` when one
/// of them is not form-encoded.
fn request_fields(method: &Method, uri: &Uri, body: &Bytes) -> (Vec<(String, String)>, bool) {
    let mut fields: Vec<(String, String)> = Vec::new();
    let mut malformed = false;
    if let Some(query) = uri.query() {
        match serde_urlencoded::from_str::<Vec<(String, String)>>(query) {
            Ok(pairs) => fields.extend(pairs),
            Err(_) => malformed = true,
        }
    }
    if *method == Method::POST && !body.is_empty() {
        match serde_urlencoded::from_bytes::<Vec<(String, String)>>(body) {
            Ok(pairs) => fields.extend(pairs),
            Err(_) => malformed = true,
        }
    }
    (fields, malformed)
}

impl App {
    /// Counts the call, decides its fault and, unless the fault stops it, runs it.
    fn decide(&self, fields: &[(String, String)], malformed: bool) -> Decided {
        let cmd = session::request_command(fields);
        let mut inner = self.lock();
        let request = inner.calls.request();
        inner.calls.count(&match cmd.name() {
            "" => "(none)".to_string(),
            name => name.to_ascii_uppercase(),
        });
        let fault = inner.faults.decide(request);
        let dialect = inner.state.dialect;
        let reply = match fault {
            Some(Fault::Hang) | Some(Fault::Http500) => None,
            Some(Fault::CommandFailed) => Some(Reply::new(
                421,
                "Command failed due to server error. Client should try again",
            )),
            _ if malformed => Some(Reply::syntax_error(507, "Invalid command format")),
            _ => {
                let reply = session::handle_call(&mut inner.state, fields, &cmd);
                inner.save_if_changed();
                Some(reply)
            }
        };
        Decided {
            fault,
            latency_ms: inner.faults.config.latency_ms,
            hang_ms: inner.faults.config.hang_ms,
            text: reply
                .map(|reply| wire::render(&reply, dialect, runtime_of(request)))
                .unwrap_or_default(),
        }
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
