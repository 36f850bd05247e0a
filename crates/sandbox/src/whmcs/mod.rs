//! The sandbox WHMCS: an in-process HTTP server speaking the External API
//! (`/includes/api.php`) with WHMCS's quirks and error messages, seeded from the
//! [`Portfolio`] so it matches the registrar sandbox of the same seed.
//!
//! All state lives in WHMCS-shaped tables (`tbldomains`, `tbldomains_extra`,
//! `tbltodolist`, `tblinvoices`, ...) in SQLite (in memory or a file) or in MySQL/MariaDB.
//! On MariaDB the direct-database path (`domwatch_whmcs::db`) and the API see the same
//! rows: a to-do inserted into `tbltodolist` shows up in GetToDoItems.
//!
//! As strict as a live WHMCS: a caller whose IP is not in `allowed_ips` (loopback by
//! default; the access key bypasses the check) gets HTTP 403 `{"result":"error","message":
//! "Invalid IP <ip>"}`, and an action outside the credential's API role HTTP 403
//! `Invalid Permissions: …`; other errors come with HTTP 200. The role and the allow-list
//! change while it runs through `POST /_sandbox/event` (`set_api_role`,
//! `set_allowed_ips`, see `access.rs`); WhmcsDetails and GetConfigurationValue `Version`
//! report [`WhmcsSandboxConfig::version`]. Payment methods are checked
//! against the configured gateways (`tblpaymentgateways`: `banktransfer` "Bank Transfer",
//! `paypal` "PayPal", `mailin` "Mail In Payment"), whose display names the listings show.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use domwatch_sandbox::whmcs::{start, WhmcsSandboxConfig};
//! let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
//! let sandbox = start(WhmcsSandboxConfig::new(42, 200, today)).await?;
//! println!("{} {} {}", sandbox.base_url(), sandbox.identifier(), sandbox.secret());
//! # Ok(()) }
//! ```

mod access;
mod api;
mod call;
mod clients;
pub mod faults;
mod payments;
pub mod schema;
pub mod store;

use crate::kit::{self, CallCounter, Server};
use crate::portfolio::Portfolio;
use anyhow::{Context, Result};
use axum::body::Bytes;
use axum::extract::{ConnectInfo, RawQuery, State as AxumState};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, post};
use axum::Router;
use chrono::NaiveDate;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;
use store::Store;

pub use api::ACTIONS;
pub use faults::{WhmcsEvent, WhmcsFault, WhmcsFaults};
use payments::{pay_invoice, pay_invoice_endpoint};
pub use payments::{PaidInvoice, PayError};

/// Credentials the sandbox accepts.
pub const DEFAULT_IDENTIFIER: &str = "domwatch-sandbox-identifier";
pub const DEFAULT_SECRET: &str = "domwatch-sandbox-secret";

/// Where the sandbox keeps its tables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SandboxDatabase {
    /// A private in-memory SQLite database (gone when the sandbox stops).
    Memory,
    /// A SQLite file; reused (not re-seeded) when it already holds a sandbox.
    SqliteFile(PathBuf),
    /// `mysql://user:pass@host:3306/db`; the database must exist. Tables are created when
    /// missing and seeded when empty.
    MySql(String),
}

/// One API credential, optionally limited to some actions (an API role).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxCredential {
    pub identifier: String,
    pub secret: String,
    /// `None` allows every action; otherwise action names (any case).
    pub allowed_actions: Option<Vec<String>>,
}

#[derive(Debug, Clone)]
pub struct WhmcsSandboxConfig {
    /// `127.0.0.1:0` picks a free port.
    pub listen: SocketAddr,
    pub seed: u64,
    pub domains: usize,
    pub today: NaiveDate,
    pub database: SandboxDatabase,
    pub credentials: Vec<SandboxCredential>,
    /// `$api_access_key`: when set, a wrong `accesskey` is refused.
    pub access_key: Option<String>,
    /// Emulate WHMCS 7.8's GetInvoices bug (`numreturned` = `totalresults`).
    pub numreturned_bug: bool,
    /// Domains per thousand that carry a random drift (see `Portfolio::drift_per_mille`).
    pub drift_per_mille: u16,
    /// API IP Access Restriction (`APIAllowedIPs`): callers from other addresses get
    /// HTTP 403 `Invalid IP <ip>` unless they send the right `accesskey`. Loopback only
    /// by default.
    pub allowed_ips: Vec<IpAddr>,
    /// Seed a few to-do items ([`schema::SEED_TODOS`]) as a live WHMCS has them.
    pub seed_todos: bool,
    /// What WhmcsDetails and GetConfigurationValue `Version` answer. A version before 8
    /// has no WhmcsDetails (`Command Not Found`), as in WHMCS.
    pub version: String,
    /// Delay before every API answer, as over the internet (`/_sandbox/*` is never
    /// delayed); zero by default.
    pub latency: std::time::Duration,
}

/// The WHMCS version the sandbox reports by default.
pub const DEFAULT_VERSION: &str = "8.10.1";

impl WhmcsSandboxConfig {
    /// In-memory SQLite on a free 127.0.0.1 port, default credentials.
    pub fn new(seed: u64, domains: usize, today: NaiveDate) -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            seed,
            domains,
            today,
            database: SandboxDatabase::Memory,
            credentials: vec![SandboxCredential {
                identifier: DEFAULT_IDENTIFIER.into(),
                secret: DEFAULT_SECRET.into(),
                allowed_actions: None,
            }],
            access_key: None,
            numreturned_bug: false,
            drift_per_mille: crate::portfolio::DEFAULT_DRIFT_PER_MILLE,
            allowed_ips: vec![
                IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
                IpAddr::V6(std::net::Ipv6Addr::LOCALHOST),
            ],
            seed_todos: false,
            version: DEFAULT_VERSION.into(),
            latency: std::time::Duration::ZERO,
        }
    }
}

/// An admin e-mail "sent" through SendAdminEmail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminEmail {
    pub subject: String,
    pub message: String,
    /// `system`, `account` or `support`.
    pub kind: String,
}

pub(crate) struct State {
    store: Store,
    today: NaiveDate,
    /// IP allow-list, credentials and API roles; changed by `/_sandbox/event`.
    access: std::sync::RwLock<access::AccessControl>,
    version: String,
    numreturned_bug: AtomicBool,
    /// GetClientsDomains (JSON, SQLite) rendered by the database; off = the generic path.
    pub(crate) database_rendered_listing: AtomicBool,
    /// Serialises the API's read-modify-write actions.
    write_lock: tokio::sync::Mutex<()>,
    admin_emails: std::sync::Mutex<Vec<AdminEmail>>,
    registrar_failures: std::sync::Mutex<HashMap<u64, String>>,
    /// API calls, per (normalised) action.
    calls: std::sync::Mutex<CallCounter>,
    /// Faults switched on through `/_sandbox/event`.
    faults: std::sync::Mutex<faults::FaultSwitch>,
}

/// A running sandbox. Dropping it stops the server.
pub struct WhmcsSandbox {
    state: Arc<State>,
    portfolio: Portfolio,
    identifier: String,
    secret: String,
    server: Server,
}

/// Opens the store, creates and seeds the tables when needed, and starts serving.
pub async fn start(config: WhmcsSandboxConfig) -> Result<WhmcsSandbox> {
    let store = match &config.database {
        SandboxDatabase::Memory => Store::sqlite_memory().await?,
        SandboxDatabase::SqliteFile(path) => Store::sqlite_file(path).await?,
        SandboxDatabase::MySql(url) => Store::mysql(url).await?,
    };
    let portfolio = Portfolio::new(config.seed, config.domains, config.today)
        .with_drift_per_mille(config.drift_per_mille);
    schema::create_tables(&store).await?;
    if schema::is_seeded(&store).await? {
        tracing::info!("sandbox WHMCS: reusing the existing tables (not seeding again)");
    } else {
        let started = Instant::now();
        schema::seed(&store, &portfolio).await?;
        tracing::info!(domains = config.domains, elapsed = ?started.elapsed(), "sandbox WHMCS seeded");
    }
    schema::ensure_gateways(&store).await?;
    if config.seed_todos {
        schema::seed_todos(&store, config.today).await?;
    }
    let (identifier, secret) = config
        .credentials
        .first()
        .map(|c| (c.identifier.clone(), c.secret.clone()))
        .context("the sandbox needs at least one API credential")?;
    for credential in &config.credentials {
        if let Some(actions) = &credential.allowed_actions {
            access::check_actions(actions).map_err(anyhow::Error::msg)?;
        }
    }
    let state = Arc::new(State {
        store,
        today: config.today,
        access: std::sync::RwLock::new(access::AccessControl {
            credentials: config.credentials,
            access_key: config.access_key,
            allowed_ips: config.allowed_ips,
        }),
        version: config.version,
        numreturned_bug: AtomicBool::new(config.numreturned_bug),
        database_rendered_listing: AtomicBool::new(true),
        write_lock: tokio::sync::Mutex::new(()),
        admin_emails: std::sync::Mutex::new(Vec::new()),
        registrar_failures: std::sync::Mutex::new(HashMap::new()),
        calls: Default::default(),
        faults: Default::default(),
    });
    let router = Router::new()
        .route("/includes/api.php", any(api_endpoint))
        .route("/_sandbox/pay-invoice", post(pay_invoice_endpoint))
        .route("/_sandbox/state", axum::routing::get(state_endpoint))
        .route("/_sandbox/event", post(event_endpoint))
        .with_state(state.clone());
    let router = kit::delay_answers(router, kit::AnswerDelay::new(config.latency));
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("binding the sandbox WHMCS to {}", config.listen))?;
    Ok(WhmcsSandbox {
        state,
        portfolio,
        identifier,
        secret,
        server: Server::spawn(listener, router, "sandbox WHMCS")?,
    })
}

impl State {
    /// An event from `/_sandbox/event`: access settings here, faults to the fault switch.
    fn apply(&self, event: WhmcsEvent) -> Result<String, String> {
        let access = || self.access.write().unwrap_or_else(|p| p.into_inner());
        match event {
            WhmcsEvent::SetApiRole { actions } => access().set_role(actions),
            WhmcsEvent::SetAllowedIps { ips } => Ok(access().set_allowed_ips(ips)),
            fault => self.faults.lock().expect("fault switch").apply(fault),
        }
    }

    /// Counts one API call of `action` (normalised).
    pub(crate) fn count_call(&self, action: &str) {
        let mut calls = self.calls.lock().unwrap_or_else(|p| p.into_inner());
        calls.request();
        calls.count(action);
    }
}

impl WhmcsSandbox {
    /// `http://127.0.0.1:PORT/` (the WHMCS root).
    pub fn base_url(&self) -> String {
        format!("http://{}/", self.addr())
    }

    pub fn api_url(&self) -> String {
        format!("http://{}/includes/api.php", self.addr())
    }

    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// The first configured credential.
    pub fn identifier(&self) -> &str {
        &self.identifier
    }

    pub fn secret(&self) -> &str {
        &self.secret
    }

    pub fn portfolio(&self) -> Portfolio {
        self.portfolio
    }

    /// Whether GetClientsDomains JSON pages are rendered by SQLite in one statement (the
    /// default) or row by row like every other answer; tests compare the two.
    pub fn set_database_rendered_listing(&self, enabled: bool) {
        self.state
            .database_rendered_listing
            .store(enabled, Ordering::Relaxed);
    }

    pub fn set_numreturned_bug(&self, enabled: bool) {
        self.state.numreturned_bug.store(enabled, Ordering::Relaxed);
    }

    /// Makes DomainRenew / DomainTransfer for this domain fail with
    /// `Registrar Error Message` and the given registrar text.
    pub fn fail_registrar_calls(&self, domain_id: u64, registrar_error: impl Into<String>) {
        self.state
            .registrar_failures
            .lock()
            .expect("registrar failure map")
            .insert(domain_id, registrar_error.into());
    }

    pub fn clear_registrar_failures(&self) {
        self.state
            .registrar_failures
            .lock()
            .expect("registrar failure map")
            .clear();
    }

    /// Applies a fault or access event (same as `POST /_sandbox/event`).
    pub fn apply(&self, event: WhmcsEvent) -> Result<String, String> {
        self.state.apply(event)
    }

    /// Admin e-mails sent through SendAdminEmail so far.
    pub fn admin_emails(&self) -> Vec<AdminEmail> {
        self.state
            .admin_emails
            .lock()
            .expect("admin e-mail log")
            .clone()
    }

    /// Number of API requests served.
    pub fn api_calls(&self) -> u64 {
        self.state
            .calls
            .lock()
            .map(|c| c.total())
            .unwrap_or_default()
    }

    /// API requests served so far, per action.
    pub fn api_calls_by_action(&self) -> std::collections::BTreeMap<String, u64> {
        self.state
            .calls
            .lock()
            .map(|c| c.by_name().clone())
            .unwrap_or_default()
    }

    /// The store, for tests that look at the tables directly.
    pub fn store(&self) -> &Store {
        &self.state.store
    }

    /// What `POST /_sandbox/pay-invoice` does: WHMCS's payment handling.
    pub async fn pay_invoice(&self, invoice_id: u64) -> Result<PaidInvoice, PayError> {
        pay_invoice(&self.state, invoice_id).await
    }

    /// Stops the server and closes the database.
    pub async fn shutdown(mut self) {
        self.stop().await;
    }

    async fn stop(&mut self) {
        self.server.stop().await;
        self.state.store.close().await;
    }
}

async fn api_endpoint(
    AxumState(state): AxumState<Arc<State>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    // WHMCS reads $_REQUEST: query string and form body, the body winning.
    let mut fields: Vec<(String, String)> = query
        .as_deref()
        .and_then(|q| serde_urlencoded::from_str(q).ok())
        .unwrap_or_default();
    match serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body) {
        Ok(form) => fields.extend(form),
        Err(_) => {
            return (StatusCode::BAD_REQUEST, "request body is not form-encoded").into_response();
        }
    }
    let action = fields
        .iter()
        .rev()
        .find(|(k, _)| k == "action")
        .map(|(_, v)| call::normalise_action(v))
        .unwrap_or_default();
    let fault = state.faults.lock().expect("fault switch").decide(&action);
    match fault {
        Some(WhmcsFault::Http500) => return kit::faults::http_500_page(),
        Some(WhmcsFault::Hang) => {
            let hang = state.faults.lock().expect("fault switch").faults.hang_ms;
            return kit::faults::hang(std::time::Duration::from_millis(hang)).await;
        }
        _ => {}
    }
    // Run the call to completion in its own task: a client that gives up mid-request
    // (timeout, crash) must not cut a write in half, nor drop the only connection of an
    // in-memory database (sqlx discards a connection whose query was cancelled).
    let caller = peer.ip().to_canonical();
    let handled =
        tokio::spawn(async move { api::handle(&state, call::Params(fields), caller).await }).await;
    let (status, content_type, body) = match handled {
        Ok(answer) => answer,
        Err(e) => {
            tracing::error!(error = %e, "sandbox WHMCS: API handler failed");
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                "sandbox API handler failed",
            )
                .into_response();
        }
    };
    let body = match fault {
        Some(WhmcsFault::Truncated) => faults::truncate(&body),
        Some(WhmcsFault::ShortPage) => faults::drop_entries(&body),
        _ => body,
    };
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        [(header::CONTENT_TYPE, content_type)],
        body,
    )
        .into_response()
}

/// `POST /_sandbox/event`: the kit's event plumbing over the fault switch.
async fn event_endpoint(AxumState(state): AxumState<Arc<State>>, body: Bytes) -> Response {
    kit::admin::event(body, move |event: WhmcsEvent| state.apply(event)).await
}

/// Counters for benchmarks and tests that run the sandbox in another process.
async fn state_endpoint(AxumState(state): AxumState<Arc<State>>) -> Response {
    kit::admin::state(move || {
        let calls = state.calls.lock().map(|c| c.clone()).unwrap_or_default();
        serde_json::json!({
            "api_calls": calls.total(),
            "api_calls_by_action": calls.by_name(),
            "today": state.today.to_string(),
        })
    })
    .await
}
