//! The Smart-NIC (domain-bestellsystem) sandbox: SOAP 1.1 RPC/encoded over HTTP with Basic
//! auth, serving the Smart-NIC part of the deterministic [`Portfolio`] (WHMCS module
//! `smartnic`), stateful and fault-injectable.
//!
//! * `POST /soap.php`: the API. Bad credentials → HTTP 401. A body that is no SOAP
//!   envelope, or a `SOAPAction` naming another operation than the body → SOAP Fault
//!   (`Client`, HTTP 500); an operation the WSDL does not declare → SOAP Fault `Server`
//!   "Procedure 'x' not present" (HTTP 500), as a PHP SoapServer answers. Otherwise
//!   `<ns1:{op}Response><return>` with `returnCode`: 1000 success, 2000 a WSDL operation
//!   the sandbox does not model, 2004 missing or invalid parameter, 2303 the
//!   domain / handle / sub-reseller does not exist, 2304 the domain's state forbids the
//!   order (a second cancellation, a revoke with nothing pending, restoring a domain that
//!   is not deleted), 2400 an injected "command failed".
//! * `GET /soap.wsdl`: the WSDL, its address pointing at this sandbox.
//! * `GET /_sandbox/state`: counters (`api_requests`, `per_operation`), the sandbox day,
//!   fault settings. `POST /_sandbox/event` with a JSON [`SmartnicEvent`]:
//!
//! ```text
//! {"event":"inject_fault","fault":"http500|truncated|hang|command_failed","count":1}
//! {"event":"set_faults","rates":{"hang":0,"http_500":0.1,"truncated":0,"command_failed":0},"latency_ms":0,"hang_ms":30000}
//! {"event":"advance_clock","days":30}
//! {"event":"place_cancellation","domain":"x.de"[,"date":"2027-01-01","transit":false]}
//! {"event":"renew","domain":"x.de"[,"years":1]}
//! {"event":"remove_domain","domain":"x.de"}
//! {"event":"zone_price","zone":"net","renew":"20.00"[,"register":"…","transfer":"…"]}
//! {"event":"set_domain_details","domain":"x.de","nameservers":[{"ns":"ns1.x.de","ipv4":"192.0.2.1"}],"remarks":"…","wpp":["1",null,null,null],"notify":"…"}
//! ```
//!   (`POST /_sandbox/fault` with `{"fault":…,"count":…}` is kept as a short form of
//!   `inject_fault`. The fault and rate names are the kit's, see [`crate::kit::faults`];
//!   inside `rates` both `rate_hang` and the old `hang` are read.)
//!
//! Semantics: `domainDelete` sets `toBeDeletedDate` (its `startDate`, else the paid-until
//! day); `domainTransit` (.de only) does the same as a TRANSIT order; `domainRevoke`
//! clears a pending order. When the sandbox day passes that date the domain leaves the
//! list; a deleted one can be brought back with `domainRestore` for 30 days. Untouched
//! domains renew by themselves. A portfolio domain whose renewal mode lets it expire has a
//! deletion pending at its paid-until day. `domainUpdate` sets the contact roles (handles
//! must exist), nameservers with glue (`nsEntry` lines `host address…`), remarks, notify
//! and the WPP flags, read **pessimistically**: a required element left out is an empty
//! value (a missing nameserver list wipes the delegation, a missing `adminC` empties the
//! admin contact, missing `remarks` clear them), the way a PHP SoapServer may hand it to
//! the application. `handleUpdate` likewise empties a required field left out. Handles: [`RESELLER_HANDLE`](crate::portfolio::RESELLER_HANDLE)
//! and every client's handle exist with the client's details; `handleCreate` makes
//! `{initials}{7 digits}@HANDLES.DE` ids and, without `forceNew`, hands back an identical
//! existing handle instead. `startDate` is read as a Unix timestamp (a Berlin day) or
//! `YYYY-MM-DD`; dates are returned as Unix timestamps of midnight in Berlin.
//!
//! Not modelled: sub-resellers (`forReseller` → 2303), `quoting`, trustee services and
//! DNSSEC, domain registration and transfers, billing.

pub mod events;
pub mod faults;
pub mod prices;
pub mod soap;
pub mod state;

pub use events::SmartnicEvent;
pub use faults::{FaultRates, SmartnicFault};

use crate::kit::{self, CallCounter, Server, StateFile};
use crate::portfolio::Portfolio;
use axum::body::Bytes;
use axum::extract::State as AxumState;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use chrono::NaiveDate;
use events::Timing;
use faults::FaultPlan;
use serde::{Deserialize, Serialize};
use state::State;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Login of the sandbox account unless configured otherwise.
pub const DEFAULT_LOGIN: &str = "domwatch-dbs";
/// Password of the sandbox account unless configured otherwise (a sandbox, not a secret).
pub const DEFAULT_PASSWORD: &str = "sandbox-password";
/// The API path, as on the real endpoint.
pub const SOAP_PATH: &str = "/soap.php";
/// Where the WSDL is served.
pub const WSDL_PATH: &str = "/soap.wsdl";

/// How to build a Smart-NIC sandbox.
#[derive(Debug, Clone)]
pub struct SmartnicSandboxConfig {
    pub seed: u64,
    /// Size of the whole portfolio; the account holds its Smart-NIC part.
    pub domains: usize,
    /// The day the portfolio is anchored to, and the sandbox day's start.
    pub today: NaiveDate,
    pub login: String,
    pub password: String,
    /// Added to every answer.
    pub latency: Duration,
    /// How long a [`SmartnicFault::Hang`] hangs.
    pub hang: Duration,
    /// Random faults per request (reproducible from the seed).
    pub faults: FaultRates,
    /// Keep changes in this JSON file across restarts (`None`: in memory only).
    pub state_file: Option<PathBuf>,
    /// Domains per thousand that carry a random drift (see `Portfolio::drift_per_mille`).
    pub drift_per_mille: u16,
}

impl SmartnicSandboxConfig {
    /// A sandbox with the default credentials, no faults and no state file.
    pub fn new(seed: u64, domains: usize, today: NaiveDate) -> Self {
        SmartnicSandboxConfig {
            seed,
            domains,
            today,
            login: DEFAULT_LOGIN.into(),
            password: DEFAULT_PASSWORD.into(),
            latency: Duration::ZERO,
            hang: Duration::from_secs(30),
            faults: FaultRates::default(),
            state_file: None,
            drift_per_mille: crate::portfolio::DEFAULT_DRIFT_PER_MILLE,
        }
    }

    /// The portfolio the sandbox serves.
    pub fn portfolio(&self) -> Portfolio {
        Portfolio::new(self.seed, self.domains, self.today)
            .with_drift_per_mille(self.drift_per_mille)
    }
}

/// `GET /_sandbox/state`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SandboxSnapshot {
    /// SOAP requests received (including refused ones).
    pub api_requests: u64,
    /// Requests per operation that reached one.
    pub per_operation: BTreeMap<String, u64>,
    pub listed_domains: usize,
    pub changed_domains: usize,
    pub created_handles: usize,
    pub queued_faults: usize,
    pub today: NaiveDate,
    pub faults: FaultRates,
    pub latency_ms: u64,
}

struct Inner {
    state: State,
    faults: FaultPlan,
    timing: Timing,
    /// SOAP requests, per operation that reached one.
    calls: CallCounter,
    state_file: StateFile,
}

impl Inner {
    /// Saves the changes when there are new ones.
    fn save_if_changed(&mut self) {
        let state = &self.state;
        self.state_file
            .save_if_changed(state.changes(), || state.persisted());
    }

    fn snapshot(&mut self) -> SandboxSnapshot {
        SandboxSnapshot {
            api_requests: self.calls.total(),
            per_operation: self.calls.by_name().clone(),
            listed_domains: self.state.listed_total(),
            changed_domains: self.state.changed_domains(),
            created_handles: self.state.created_handles(),
            queued_faults: self.faults.queued(),
            today: self.state.today,
            faults: self.faults.rates.clone(),
            latency_ms: self.timing.latency.as_millis() as u64,
        }
    }
}

/// Shared by every request of one sandbox.
struct App {
    inner: Mutex<Inner>,
    login: String,
    password: String,
}

impl App {
    fn new(config: &SmartnicSandboxConfig) -> Result<Self, String> {
        if config.login.is_empty() || config.password.is_empty() {
            return Err("the sandbox account needs a non-empty login and password".into());
        }
        config.faults.validate()?;
        let mut state = State::new(config.portfolio(), config.login.clone());
        let mut state_file = StateFile::new(config.state_file.clone(), "Smart-NIC sandbox");
        state_file.load(|saved: state::Persisted| state.restore(saved))?;
        state_file.mark_saved(state.changes());
        Ok(App {
            inner: Mutex::new(Inner {
                state,
                faults: FaultPlan::new(config.seed, config.faults.clone()),
                timing: Timing {
                    latency: config.latency,
                    hang: config.hang,
                },
                calls: CallCounter::default(),
                state_file,
            }),
            login: config.login.clone(),
            password: config.password.clone(),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic in one handler must not take the whole sandbox down.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn apply(&self, event: SmartnicEvent) -> Result<String, String> {
        let mut inner = self.lock();
        let Inner {
            state,
            faults,
            timing,
            ..
        } = &mut *inner;
        let result = events::apply(event, state, faults, timing);
        inner.save_if_changed();
        result
    }
}

/// The router of a sandbox, for embedding.
fn router(config: &SmartnicSandboxConfig) -> Result<(Router, Arc<App>), String> {
    let app = Arc::new(App::new(config)?);
    let router = Router::new()
        .route(SOAP_PATH, post(soap_endpoint))
        .route(WSDL_PATH, get(wsdl_endpoint))
        .route("/_sandbox/state", get(state_endpoint))
        .route("/_sandbox/event", post(event_endpoint))
        .route("/_sandbox/fault", post(fault_endpoint))
        .with_state(app.clone());
    Ok((router, app))
}

/// A Smart-NIC sandbox running in the background of this process; stops when dropped.
pub struct SmartnicSandbox {
    server: Server,
    app: Arc<App>,
    login: String,
    password: String,
}

impl SmartnicSandbox {
    /// Binds `127.0.0.1:0` and serves in the background.
    pub async fn start(config: SmartnicSandboxConfig) -> std::io::Result<Self> {
        Self::start_on(config, kit::server::bind_loopback().await?)
    }

    /// Serves on a listener the caller bound (the CLI's `--listen`).
    pub fn start_on(
        config: SmartnicSandboxConfig,
        listener: tokio::net::TcpListener,
    ) -> std::io::Result<Self> {
        let (router, app) = router(&config).map_err(std::io::Error::other)?;
        Ok(SmartnicSandbox {
            server: Server::spawn(listener, router, "Smart-NIC sandbox")?,
            app,
            login: config.login,
            password: config.password,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// `http://127.0.0.1:PORT/soap.php`.
    pub fn endpoint(&self) -> String {
        format!("http://{}{SOAP_PATH}", self.addr())
    }

    /// `http://127.0.0.1:PORT`, for the WSDL and the admin endpoints.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr())
    }

    pub fn login(&self) -> &str {
        &self.login
    }

    pub fn password(&self) -> &str {
        &self.password
    }

    /// The next `count` SOAP requests get `fault` (`short_page` is refused: SOAP answers
    /// have no pages).
    pub fn inject(&self, fault: SmartnicFault, count: usize) {
        if let Err(e) = self.app.lock().faults.queue(fault, count) {
            tracing::warn!(error = %e, "Smart-NIC sandbox: fault not injected");
        }
    }

    /// Applies a scripted event (same as `POST /_sandbox/event`).
    pub fn apply(&self, event: SmartnicEvent) -> Result<String, String> {
        self.app.apply(event)
    }

    pub fn snapshot(&self) -> SandboxSnapshot {
        self.app.lock().snapshot()
    }

    /// SOAP requests received so far.
    pub fn request_count(&self) -> u64 {
        self.app.lock().calls.total()
    }

    /// Stops serving and waits (briefly) for the server task.
    pub async fn stop(mut self) {
        self.server.stop().await;
    }
}

// ----- HTTP handlers --------------------------------------------------------------------

/// What the SOAP handler decided under the lock.
enum Decision {
    Unauthorized,
    Fault(String),
    Answer(String),
    Http500,
    Hang(Duration),
}

/// One SOAP call as it arrived.
struct Call {
    authorized: bool,
    soap_action: Option<String>,
    body: Bytes,
}

async fn soap_endpoint(
    AxumState(app): AxumState<Arc<App>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let call = Call {
        authorized: authorized(&headers, &app.login, &app.password),
        soap_action: headers
            .get("soapaction")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        body,
    };
    // The state work can be long (the first list of a huge portfolio): off the workers.
    let decided = tokio::task::spawn_blocking(move || app.decide(call)).await;
    let Ok((decision, latency, truncated)) = decided else {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            "sandbox handler panicked\n",
        )
            .into_response();
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    respond(decision, truncated).await
}

impl App {
    /// Counts the call, decides its fault and, unless the fault stops it, runs it.
    /// Returns the decision, the latency to add and whether to cut the answer.
    fn decide(&self, call: Call) -> (Decision, Duration, bool) {
        let mut inner = self.lock();
        let request_number = inner.calls.request();
        let latency = inner.timing.latency;
        if !call.authorized {
            return (Decision::Unauthorized, latency, false);
        }
        let fault = inner.faults.decide(request_number);
        let server_trid = format!("DBS-SANDBOX-{request_number}");
        let decision = match fault {
            Some(SmartnicFault::Http500) => Decision::Http500,
            Some(SmartnicFault::Hang) => Decision::Hang(inner.timing.hang),
            Some(SmartnicFault::CommandFailed) => {
                let operation = soap::read_request(&call.body, None)
                    .map(|r| r.operation)
                    .unwrap_or_else(|_| "unknown".into());
                Decision::Answer(soap::response(
                    &operation,
                    "",
                    faults::COMMAND_FAILED,
                    "Command failed; please try again later",
                    "",
                    &server_trid,
                ))
            }
            _ => inner.run(&call, &server_trid),
        };
        (decision, latency, fault == Some(SmartnicFault::Truncated))
    }
}

impl Inner {
    /// Reads the SOAP request and carries it out.
    fn run(&mut self, call: &Call, server_trid: &str) -> Decision {
        let request = match soap::read_request(&call.body, call.soap_action.as_deref()) {
            Err(fault) => return Decision::Fault(fault),
            Ok(request) => request,
        };
        self.calls.count(&request.operation);
        if !soap::in_wsdl(&request.operation) {
            return Decision::Fault(soap::unknown_operation_fault(&request.operation));
        }
        let result = self
            .state
            .run(&request.operation, &request.part_name, &request.part);
        self.save_if_changed();
        let trid = request.part.text_of("clientTRID").unwrap_or("");
        let (inner_xml, code, message) = match &result {
            Ok(inner_xml) => (inner_xml.as_str(), 1000, "Command completed successfully"),
            Err((code, message)) => ("", *code, message.as_str()),
        };
        Decision::Answer(soap::response(
            &request.operation,
            inner_xml,
            code,
            message,
            trid,
            server_trid,
        ))
    }
}

/// The HTTP answer to a decision.
async fn respond(decision: Decision, truncated: bool) -> Response {
    let xml = [(header::CONTENT_TYPE, "text/xml; charset=utf-8")];
    match decision {
        Decision::Unauthorized => (
            StatusCode::UNAUTHORIZED,
            [(
                header::WWW_AUTHENTICATE,
                "Basic realm=\"domain-bestellsystem\"",
            )],
            "Unauthorized: check the login and password of the Smart-NIC account\n",
        )
            .into_response(),
        Decision::Hang(hang) => kit::faults::hang(hang).await,
        Decision::Http500 => kit::faults::http_500_page(),
        Decision::Fault(fault) => (StatusCode::INTERNAL_SERVER_ERROR, xml, fault).into_response(),
        Decision::Answer(answer) if truncated => (xml, faults::truncate(&answer)).into_response(),
        Decision::Answer(answer) => (xml, answer).into_response(),
    }
}

async fn wsdl_endpoint(headers: HeaderMap) -> Response {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    let wsdl = domwatch_smartnic::WSDL.replace(
        domwatch_smartnic::LIVE_ENDPOINT,
        &format!("http://{host}{SOAP_PATH}"),
    );
    ([(header::CONTENT_TYPE, "text/xml; charset=utf-8")], wsdl).into_response()
}

async fn state_endpoint(AxumState(app): AxumState<Arc<App>>) -> Response {
    kit::admin::state(move || app.lock().snapshot()).await
}

async fn event_endpoint(AxumState(app): AxumState<Arc<App>>, body: Bytes) -> Response {
    kit::admin::event(body, move |event| app.apply(event)).await
}

#[derive(Deserialize)]
struct FaultRequest {
    fault: SmartnicFault,
    #[serde(default = "one")]
    count: usize,
}

fn one() -> usize {
    1
}

/// `POST /_sandbox/fault`: the short form of the `inject_fault` event.
async fn fault_endpoint(AxumState(app): AxumState<Arc<App>>, body: Bytes) -> Response {
    let queued = serde_json::from_slice::<FaultRequest>(&body)
        .map_err(|e| e.to_string())
        .and_then(|request| app.lock().faults.queue(request.fault, request.count));
    match queued {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => (
            StatusCode::BAD_REQUEST,
            format!("not a fault: {e}; send e.g. {{\"fault\":\"http500\",\"count\":2}}\n"),
        )
            .into_response(),
    }
}

/// Checks `Authorization: Basic …` against the account.
fn authorized(headers: &HeaderMap, login: &str, password: &str) -> bool {
    let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
    else {
        return false;
    };
    decode_base64(value.trim()).is_some_and(|decoded| decoded == format!("{login}:{password}"))
}

fn decode_base64(text: &str) -> Option<String> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits = 0u32;
    let mut count = 0;
    let mut out = Vec::new();
    for c in text.bytes().filter(|c| *c != b'=') {
        let v = ALPHABET.iter().position(|a| *a == c)? as u32;
        bits = (bits << 6) | v;
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
            bits &= (1 << count) - 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_auth_is_checked() {
        let mut headers = HeaderMap::new();
        assert!(!authorized(&headers, "user", "pa:ss"));
        // base64("user:pa:ss")
        headers.insert(
            header::AUTHORIZATION,
            "Basic dXNlcjpwYTpzcw==".parse().unwrap(),
        );
        assert!(authorized(&headers, "user", "pa:ss"));
        assert!(!authorized(&headers, "user", "other"));
        headers.insert(header::AUTHORIZATION, "Basic !!!".parse().unwrap());
        assert!(!authorized(&headers, "user", "pa:ss"));
    }
}
