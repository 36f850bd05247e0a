//! A Smart-NIC domain-bestellsystem sandbox: SOAP 1.1 over HTTP with Basic auth, serving
//! the Smart-NIC part of the deterministic [`Portfolio`] (module `smartnic`), stateful
//! (deletions, revokes, transit, contact changes, handles) and fault-injectable.
//!
//! Untouched domains are computed from the portfolio on each read; the first change puts
//! a domain into the overlay. Answers follow the WSDL: `<ns1:{op}Response><return …>` with
//! `returnCode` 1000 on success, 2000 for an unknown operation, 2004 for bad parameters,
//! 2303 for an unknown domain or handle and 2304 when the domain's state forbids the order
//! (e.g. a second cancellation).

use crate::portfolio::{Portfolio, RESELLER_HANDLE};
use axum::body::Bytes;
use axum::extract::State as AxumState;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{NaiveDate, NaiveTime};
use domwatch_core::model::{ContactHandles, Dialect};
use domwatch_core::DomainName;
use domwatch_smartnic::xml::{body_element, escape, parse, Node};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub const DEFAULT_LOGIN: &str = "domwatch-dbs";
pub const DEFAULT_PASSWORD: &str = "sandbox-password";
const WSDL: &str = include_str!("../../smartnic/wsdl/smartnic-soap.wsdl");

/// Faults the next calls get (`POST /_sandbox/fault`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SmartnicFault {
    /// HTTP 500 with an HTML body.
    Http500,
    /// No answer for a long time.
    Hang,
    /// Half of the answer.
    Truncated,
    /// `returnCode` 2400 ("command failed").
    CommandFailed,
}

#[derive(Debug, Clone)]
pub struct SmartnicSandboxConfig {
    pub seed: u64,
    pub domains: usize,
    pub today: NaiveDate,
    pub login: String,
    pub password: String,
    /// Extra delay on every answer.
    pub latency: Duration,
    /// How long a [`SmartnicFault::Hang`] hangs.
    pub hang: Duration,
    /// Keep changes in this JSON file across restarts (`None`: in memory only).
    pub state_file: Option<std::path::PathBuf>,
}

impl SmartnicSandboxConfig {
    pub fn new(seed: u64, domains: usize, today: NaiveDate) -> Self {
        Self {
            seed,
            domains,
            today,
            login: DEFAULT_LOGIN.into(),
            password: DEFAULT_PASSWORD.into(),
            latency: Duration::ZERO,
            hang: Duration::from_secs(30),
            state_file: None,
        }
    }
}

/// A domain as the sandbox holds it once it was changed.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct DomainRecord {
    name: DomainName,
    paid_until: NaiveDate,
    created: NaiveDate,
    to_be_deleted: Option<NaiveDate>,
    transit: bool,
    contacts: ContactHandles,
    notify: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Handle {
    id: String,
    first: String,
    last: String,
    company: String,
    street: String,
    pcode: String,
    city: String,
    country: String,
    phone: String,
    email: String,
}

struct SandboxState {
    portfolio: Portfolio,
    login: String,
    password: String,
    /// Portfolio indices of the listed Smart-NIC domains, built on first use.
    listed: Option<Vec<usize>>,
    overlay: BTreeMap<usize, DomainRecord>,
    added_handles: Vec<Handle>,
    faults: VecDeque<SmartnicFault>,
    requests: u64,
    per_operation: BTreeMap<String, u64>,
    hang: Duration,
    latency: Duration,
    state_file: Option<std::path::PathBuf>,
}

/// What the sandbox keeps across restarts: the changes to the portfolio.
#[derive(Serialize, Deserialize)]
struct Persisted {
    seed: u64,
    size: usize,
    today: NaiveDate,
    overlay: BTreeMap<usize, DomainRecord>,
    added_handles: Vec<Handle>,
}

impl SandboxState {
    fn save(&self) {
        let Some(path) = &self.state_file else { return };
        let persisted = Persisted {
            seed: self.portfolio.seed,
            size: self.portfolio.size,
            today: self.portfolio.today,
            overlay: self.overlay.clone(),
            added_handles: self.added_handles.clone(),
        };
        let tmp = path.with_extension("json.tmp");
        let written = serde_json::to_vec(&persisted)
            .map_err(|e| e.to_string())
            .and_then(|b| std::fs::write(&tmp, b).map_err(|e| e.to_string()))
            .and_then(|()| std::fs::rename(&tmp, path).map_err(|e| e.to_string()));
        if let Err(e) = written {
            tracing::error!(file = %path.display(), error = %e, "Smart-NIC sandbox state not saved");
        }
    }

    fn load(&mut self) -> Result<(), String> {
        let Some(path) = self.state_file.clone().filter(|p| p.exists()) else {
            return Ok(());
        };
        let refuse = |why: String| {
            format!(
                "the Smart-NIC sandbox state in {} cannot be used ({why}): delete the file to start over",
                path.display()
            )
        };
        let bytes = std::fs::read(&path).map_err(|e| refuse(e.to_string()))?;
        let saved: Persisted = serde_json::from_slice(&bytes).map_err(|e| refuse(e.to_string()))?;
        if saved.seed != self.portfolio.seed
            || saved.size != self.portfolio.size
            || saved.today != self.portfolio.today
        {
            return Err(refuse(format!(
                "it is for seed {} ({} domains, {})",
                saved.seed, saved.size, saved.today
            )));
        }
        self.overlay = saved.overlay;
        self.added_handles = saved.added_handles;
        Ok(())
    }
}

/// `GET /_sandbox/state`.
#[derive(Debug, Serialize)]
pub struct SandboxSnapshot {
    pub api_requests: u64,
    pub per_operation: BTreeMap<String, u64>,
    pub listed_domains: usize,
    pub queued_faults: usize,
}

type Shared = Arc<Mutex<SandboxState>>;

fn lock(shared: &Shared) -> std::sync::MutexGuard<'_, SandboxState> {
    shared.lock().unwrap_or_else(|p| p.into_inner())
}

/// A running sandbox; stops when dropped.
pub struct SmartnicSandbox {
    addr: SocketAddr,
    shared: Shared,
    login: String,
    password: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl SmartnicSandbox {
    pub async fn start(config: SmartnicSandboxConfig) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        Self::start_on(config, listener)
    }

    pub fn start_on(
        config: SmartnicSandboxConfig,
        listener: tokio::net::TcpListener,
    ) -> std::io::Result<Self> {
        let addr = listener.local_addr()?;
        let mut state = SandboxState {
            portfolio: Portfolio::new(config.seed, config.domains, config.today),
            login: config.login.clone(),
            password: config.password.clone(),
            listed: None,
            overlay: BTreeMap::new(),
            added_handles: Vec::new(),
            faults: VecDeque::new(),
            requests: 0,
            per_operation: BTreeMap::new(),
            hang: config.hang,
            latency: config.latency,
            state_file: config.state_file.clone(),
        };
        state.load().map_err(std::io::Error::other)?;
        let shared: Shared = Arc::new(Mutex::new(state));
        let router = Router::new()
            .route("/soap.php", post(soap_endpoint))
            .route(
                "/soap.wsdl",
                get(|| async { ([(header::CONTENT_TYPE, "text/xml")], WSDL) }),
            )
            .route("/_sandbox/state", get(state_endpoint))
            .route("/_sandbox/fault", post(fault_endpoint))
            .with_state(shared.clone());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, router)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        Ok(SmartnicSandbox {
            addr,
            shared,
            login: config.login,
            password: config.password,
            shutdown: Some(tx),
        })
    }

    /// `http://127.0.0.1:PORT/soap.php`.
    pub fn endpoint(&self) -> String {
        format!("http://{}/soap.php", self.addr)
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn login(&self) -> &str {
        &self.login
    }

    pub fn password(&self) -> &str {
        &self.password
    }

    /// Queues `count` faults of one kind for the next calls.
    pub fn inject(&self, fault: SmartnicFault, count: usize) {
        let mut state = lock(&self.shared);
        for _ in 0..count {
            state.faults.push_back(fault);
        }
    }

    pub fn snapshot(&self) -> SandboxSnapshot {
        snapshot(&mut lock(&self.shared))
    }
}

impl Drop for SmartnicSandbox {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

fn snapshot(state: &mut SandboxState) -> SandboxSnapshot {
    SandboxSnapshot {
        api_requests: state.requests,
        per_operation: state.per_operation.clone(),
        listed_domains: state.listed().len(),
        queued_faults: state.faults.len(),
    }
}

async fn state_endpoint(AxumState(shared): AxumState<Shared>) -> Json<SandboxSnapshot> {
    Json(snapshot(&mut lock(&shared)))
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

async fn fault_endpoint(
    AxumState(shared): AxumState<Shared>,
    Json(request): Json<FaultRequest>,
) -> StatusCode {
    let mut state = lock(&shared);
    for _ in 0..request.count {
        state.faults.push_back(request.fault);
    }
    StatusCode::NO_CONTENT
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

async fn soap_endpoint(
    AxumState(shared): AxumState<Shared>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (fault, hang, latency, answer) = {
        let mut state = lock(&shared);
        state.requests += 1;
        if !authorized(&headers, &state.login, &state.password) {
            return (
                StatusCode::UNAUTHORIZED,
                [(
                    header::WWW_AUTHENTICATE,
                    "Basic realm=\"domain-bestellsystem\"",
                )],
                "Unauthorized",
            )
                .into_response();
        }
        let fault = state.faults.pop_front();
        // A 500 or a hang fails before the order is processed; a truncated answer was
        // processed and only the answer got lost.
        let answer = match fault {
            Some(SmartnicFault::CommandFailed) => {
                envelope_error("unknown", 2400, "Command failed, please try again later")
            }
            Some(SmartnicFault::Http500 | SmartnicFault::Hang) => String::new(),
            _ => handle(&mut state, &body),
        };
        (fault, state.hang, state.latency, answer)
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    match fault {
        Some(SmartnicFault::Hang) => {
            tokio::time::sleep(hang).await;
            StatusCode::GATEWAY_TIMEOUT.into_response()
        }
        Some(SmartnicFault::Http500) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            [(header::CONTENT_TYPE, "text/html")],
            "<html><body><h1>500 Internal Server Error</h1></body></html>",
        )
            .into_response(),
        Some(SmartnicFault::Truncated) => {
            let cut = answer.len() / 2;
            xml_response(answer[..cut].to_string())
        }
        _ => xml_response(answer),
    }
}

fn xml_response(body: String) -> Response {
    ([(header::CONTENT_TYPE, "text/xml; charset=utf-8")], body).into_response()
}

/// A response envelope with the `return` object's inner XML.
fn envelope(operation: &str, inner: &str, code: i64, message: &str, trid: &str) -> String {
    let mut type_name = operation.to_string();
    if let Some(first) = type_name.get_mut(0..1) {
        first.make_ascii_uppercase();
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<SOAP-ENV:Envelope xmlns:SOAP-ENV=\"http://schemas.xmlsoap.org/soap/envelope/\" xmlns:ns1=\"http://soap.domain-bestellsystem.de/soap/1.1/\" xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xmlns:SOAP-ENC=\"http://schemas.xmlsoap.org/soap/encoding/\" SOAP-ENV:encodingStyle=\"http://schemas.xmlsoap.org/soap/encoding/\"><SOAP-ENV:Body><ns1:{operation}Response><return xsi:type=\"ns1:{type_name}ResponseObject\">{inner}<returnCode xsi:type=\"xsd:int\">{code}</returnCode><returnSubCode xsi:nil=\"true\"/><returnMessage xsi:type=\"xsd:string\">{}</returnMessage><clientTRID xsi:type=\"xsd:string\">{}</clientTRID><serverTRID xsi:type=\"xsd:string\">DBS-SANDBOX-{code}</serverTRID></return></ns1:{operation}Response></SOAP-ENV:Body></SOAP-ENV:Envelope>",
        escape(message),
        escape(trid)
    )
}

fn envelope_error(operation: &str, code: i64, message: &str) -> String {
    envelope(operation, "", code, message, "")
}

fn s(name: &str, value: &str) -> String {
    format!("<{name} xsi:type=\"xsd:string\">{}</{name}>", escape(value))
}

fn timestamp(date: NaiveDate) -> String {
    date.and_time(NaiveTime::from_hms_opt(10, 0, 0).expect("valid"))
        .and_utc()
        .timestamp()
        .to_string()
}

fn parse_start(text: Option<&str>) -> Result<Option<NaiveDate>, String> {
    match text {
        None => Ok(None),
        Some(t) => NaiveDate::parse_from_str(t, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| format!("startDate `{t}` is not YYYY-MM-DD")),
    }
}

impl SandboxState {
    fn listed(&mut self) -> &Vec<usize> {
        if self.listed.is_none() {
            let count = self.portfolio.count_of(Dialect::Smartnic);
            let listed = (0..count)
                .map(|p| Portfolio::nth_index_of(Dialect::Smartnic, p))
                .filter(|i| self.portfolio.registrar_present(*i))
                .collect();
            self.listed = Some(listed);
        }
        self.listed.as_ref().expect("just built")
    }

    fn record(&self, index: usize) -> DomainRecord {
        if let Some(r) = self.overlay.get(&index) {
            return r.clone();
        }
        let d = self.portfolio.domain(index);
        // A portfolio domain set to expire is, at Smart-NIC, one with a cancellation pending.
        let to_be_deleted = d
            .registrar
            .renewal_mode
            .lets_expire()
            .then_some(d.registrar.paid_until);
        DomainRecord {
            name: d.name,
            paid_until: d.registrar.paid_until,
            created: d.registrar.created,
            to_be_deleted,
            transit: false,
            contacts: d.registrar.contacts,
            notify: None,
        }
    }

    /// The Smart-NIC domain called `name`.
    fn find(&self, name: &str) -> Option<usize> {
        let name = DomainName::parse(name).ok()?;
        self.portfolio
            .index_of(&name)
            .filter(|i| Portfolio::dialect_of(*i) == Dialect::Smartnic)
            .filter(|i| self.portfolio.registrar_present(*i))
    }

    fn handle(&self, id: &str) -> Option<Handle> {
        let client = if id.eq_ignore_ascii_case(RESELLER_HANDLE) {
            Some(self.portfolio.bot_client_id())
        } else {
            self.portfolio.client_id_of_handle(&id.to_ascii_uppercase())
        };
        if let Some(client) = client {
            let c = self.portfolio.client(client);
            return Some(Handle {
                id: if client == self.portfolio.bot_client_id() {
                    RESELLER_HANDLE.into()
                } else {
                    c.handle
                },
                first: c.first_name,
                last: c.last_name,
                company: c.company,
                street: c.address1,
                pcode: c.postcode,
                city: c.city,
                country: c.country.into(),
                phone: c.phone,
                email: c.email,
            });
        }
        self.added_handles
            .iter()
            .find(|h| h.id.eq_ignore_ascii_case(id))
            .cloned()
    }

    fn all_handles(&self) -> Vec<Handle> {
        let mut out = vec![self.handle(RESELLER_HANDLE).expect("the reseller handle")];
        for id in 1..=self.portfolio.client_count() {
            let c = self.portfolio.client(id);
            if let Some(h) = self.handle(&c.handle) {
                out.push(h);
            }
        }
        out.extend(self.added_handles.iter().cloned());
        out
    }
}

/// Runs one SOAP call and renders the answer.
fn handle(state: &mut SandboxState, body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let tree = match parse(&text) {
        Ok(t) => t,
        Err(e) => return envelope_error("unknown", 2001, &format!("XML error: {e}")),
    };
    let element = match body_element(&tree) {
        Ok(e) => e.clone(),
        Err(e) => return envelope_error("unknown", 2001, &e),
    };
    let operation = element.name.clone();
    *state.per_operation.entry(operation.clone()).or_default() += 1;
    let request = element.children.first().cloned().unwrap_or_default();
    let trid = request.text_of("clientTRID").unwrap_or("").to_string();
    if trid.is_empty() {
        return envelope(
            &operation,
            "",
            2003,
            "Required parameter missing: clientTRID",
            "",
        );
    }
    let result = run(state, &operation, &request);
    let read_only = matches!(
        operation.as_str(),
        "domainInfo" | "domainList" | "domainListExtended" | "handleInfo" | "handleList"
    );
    if result.is_ok() && !read_only {
        state.save();
    }
    match result {
        Ok(inner) => envelope(
            &operation,
            &inner,
            1000,
            "Command completed successfully",
            &trid,
        ),
        Err((code, message)) => envelope(&operation, "", code, &message, &trid),
    }
}

type OpResult = Result<String, (i64, String)>;

fn bad(message: impl Into<String>) -> (i64, String) {
    (2004, message.into())
}

fn domain_of(state: &SandboxState, request: &Node) -> Result<usize, (i64, String)> {
    let name = request
        .text_of("domainNameAce")
        .or_else(|| request.text_of("domainName"))
        .ok_or_else(|| (2003, "Required parameter missing: domainName".to_string()))?;
    state
        .find(name)
        .ok_or_else(|| (2303, format!("Object does not exist: domain {name}")))
}

fn update(state: &mut SandboxState, index: usize, change: impl FnOnce(&mut DomainRecord)) {
    let mut rec = state.record(index);
    change(&mut rec);
    state.overlay.insert(index, rec);
}

fn domain_fields(rec: &DomainRecord) -> Vec<(&'static str, String)> {
    vec![
        ("domainName", rec.name.unicode()),
        (
            "domainStatus",
            if rec.transit {
                "transit".into()
            } else {
                "active".into()
            },
        ),
        ("status", "kk_ok".into()),
        ("ownerC", rec.contacts.owner.clone().unwrap_or_default()),
        ("adminC", rec.contacts.admin.clone().unwrap_or_default()),
        ("techC", rec.contacts.tech.clone().unwrap_or_default()),
        ("zoneC", rec.contacts.billing.clone().unwrap_or_default()),
        ("systemInDate", timestamp(rec.created)),
        ("orderDate", timestamp(rec.created)),
        ("paidUntilDate", timestamp(rec.paid_until)),
        (
            "toBeDeletedDate",
            rec.to_be_deleted.map(timestamp).unwrap_or_default(),
        ),
    ]
}

fn run(state: &mut SandboxState, operation: &str, request: &Node) -> OpResult {
    match operation {
        "domainInfo" => {
            let index = domain_of(state, request)?;
            let rec = state.record(index);
            let mut item = String::from("<item xsi:type=\"ns1:DomainInfoDomains\">");
            for (k, v) in domain_fields(&rec) {
                if v.is_empty() && k == "toBeDeletedDate" {
                    let _ = write!(item, "<{k} xsi:nil=\"true\"/>");
                } else {
                    item.push_str(&s(k, &v));
                }
            }
            item.push_str(&s("tld", rec.name.tld()));
            item.push_str(&s("notifyEmail", rec.notify.as_deref().unwrap_or("")));
            item.push_str("</item>");
            Ok(format!(
                "<domainsList SOAP-ENC:arrayType=\"ns1:DomainInfoDomains[1]\" xsi:type=\"ns1:ArrayOfDomaininfodomains\">{item}</domainsList>"
            ))
        }
        "domainList" | "domainListExtended" => {
            let limit: usize = request
                .text_of("limit")
                .unwrap_or("100")
                .parse()
                .map_err(|_| bad("limit must be a number"))?;
            let offset: usize = request
                .text_of("offset")
                .unwrap_or("0")
                .parse()
                .map_err(|_| bad("offset must be a number"))?;
            if limit == 0 || limit > 10_000 {
                return Err(bad("limit must be 1 to 10000"));
            }
            let page: Vec<usize> = state
                .listed()
                .iter()
                .skip(offset)
                .take(limit)
                .copied()
                .collect();
            let wanted: Vec<String> = request
                .child("fields")
                .map(|f| {
                    f.children
                        .iter()
                        .map(|i| i.text.trim().to_string())
                        .collect()
                })
                .unwrap_or_default();
            let mut out = String::new();
            if operation == "domainList" {
                let _ = write!(
                    out,
                    "<domainsList xsi:type=\"ns1:ArrayOfDomainlistdomains\">"
                );
                for index in page {
                    let rec = state.record(index);
                    let _ = write!(
                        out,
                        "<item xsi:type=\"ns1:DomainListDomains\">{}{}{}</item>",
                        s("domainName", &rec.name.unicode()),
                        s("tld", rec.name.tld()),
                        s("reseller", &state.login)
                    );
                }
                out.push_str("</domainsList>");
            } else {
                let _ = write!(out, "<domainInfo xsi:type=\"ns1:ArrayOfDomaininfo\">");
                for index in page {
                    let rec = state.record(index);
                    out.push_str("<item xsi:type=\"ns1:DomainInfo\"><domainInfoItem xsi:type=\"ns1:ArrayOfDomaininfoitem\">");
                    for (k, v) in domain_fields(&rec) {
                        if !wanted.is_empty() && !wanted.iter().any(|w| w == k) {
                            continue;
                        }
                        let _ = write!(
                            out,
                            "<item xsi:type=\"ns1:DomainInfoItem\">{}{}</item>",
                            s("key", k),
                            s("value", &v)
                        );
                    }
                    out.push_str("</domainInfoItem></item>");
                }
                out.push_str("</domainInfo>");
            }
            Ok(out)
        }
        "domainDelete" | "domainTransit" => {
            let index = domain_of(state, request)?;
            let rec = state.record(index);
            if rec.to_be_deleted.is_some() || rec.transit {
                return Err((
                    2304,
                    format!(
                        "Object status prohibits operation: an order for {} is already pending",
                        rec.name
                    ),
                ));
            }
            let start = parse_start(request.text_of("startDate")).map_err(bad)?;
            let notify = request.text_of("notify").map(str::to_string);
            let transit = operation == "domainTransit";
            if transit && rec.name.tld() != "de" {
                return Err(bad("domainTransit is only for .de domains"));
            }
            update(state, index, |r| {
                r.to_be_deleted = Some(start.unwrap_or(r.paid_until));
                r.transit = transit;
                if notify.is_some() {
                    r.notify = notify;
                }
            });
            Ok(String::new())
        }
        "domainRevoke" => {
            let index = domain_of(state, request)?;
            let rec = state.record(index);
            if rec.to_be_deleted.is_none() {
                return Err((
                    2304,
                    format!(
                        "Object status prohibits operation: no pending order for {}",
                        rec.name
                    ),
                ));
            }
            update(state, index, |r| {
                r.to_be_deleted = None;
                r.transit = false;
            });
            Ok(String::new())
        }
        "domainRestore" => {
            let index = domain_of(state, request)?;
            update(state, index, |r| r.to_be_deleted = None);
            Ok(String::new())
        }
        "domainUpdate" => {
            let index = domain_of(state, request)?;
            let mut contacts = ContactHandles::default();
            for (field, slot) in [
                ("ownerC", &mut contacts.owner),
                ("adminC", &mut contacts.admin),
                ("techC", &mut contacts.tech),
                ("zoneC", &mut contacts.billing),
            ] {
                if let Some(h) = request.text_of(field) {
                    let known = state
                        .handle(h)
                        .ok_or_else(|| (2303, format!("Object does not exist: handle {h}")))?;
                    *slot = Some(known.id);
                }
            }
            let notify = request.text_of("notify").map(str::to_string);
            update(state, index, |r| {
                for (new, old) in [
                    (contacts.owner, &mut r.contacts.owner),
                    (contacts.admin, &mut r.contacts.admin),
                    (contacts.tech, &mut r.contacts.tech),
                    (contacts.billing, &mut r.contacts.billing),
                ] {
                    if new.is_some() {
                        *old = new;
                    }
                }
                if notify.is_some() {
                    r.notify = notify;
                }
            });
            Ok(String::new())
        }
        "handleInfo" => {
            let id = request
                .text_of("handle")
                .ok_or_else(|| (2003, "Required parameter missing: handle".to_string()))?;
            let h = state
                .handle(id)
                .ok_or_else(|| (2303, format!("Object does not exist: handle {id}")))?;
            Ok([
                s("firstname", &h.first),
                s("lastname", &h.last),
                s("company", &h.company),
                s("street", &h.street),
                s("pcode", &h.pcode),
                s("city", &h.city),
                s("country", &h.country),
                s("phone", &h.phone),
                s("fax", ""),
                s("email", &h.email),
                s("handle", &h.id),
                s("reseller", &state.login),
            ]
            .concat())
        }
        "handleList" => {
            let limit: usize = request
                .text_of("limit")
                .unwrap_or("100")
                .parse()
                .map_err(|_| bad("limit must be a number"))?;
            let offset: usize = request
                .text_of("offset")
                .unwrap_or("0")
                .parse()
                .map_err(|_| bad("offset must be a number"))?;
            let mut out = String::from("<handleList xsi:type=\"ns1:ArrayOfHandlelisthandles\">");
            for h in state
                .all_handles()
                .into_iter()
                .skip(offset)
                .take(limit.max(1))
            {
                let _ = write!(
                    out,
                    "<item xsi:type=\"ns1:HandleListHandles\">{}{}{}{}</item>",
                    s("firstname", &h.first),
                    s("lastname", &h.last),
                    s("company", &h.company),
                    s("handleId", &h.id)
                );
            }
            out.push_str("</handleList>");
            Ok(out)
        }
        "handleCreate" | "handleUpdate" => {
            let t = |k: &str| request.text_of(k).unwrap_or("").to_string();
            if operation == "handleUpdate" {
                let id = t("handle");
                let Some(pos) = state
                    .added_handles
                    .iter()
                    .position(|h| h.id.eq_ignore_ascii_case(&id))
                else {
                    return Err((
                        2303,
                        format!("Object does not exist or is not yours to change: handle {id}"),
                    ));
                };
                let h = &mut state.added_handles[pos];
                h.street = t("street");
                h.pcode = t("pcode");
                h.city = t("city");
                h.phone = t("phone");
                h.email = t("email");
                return Ok(String::new());
            }
            for required in [
                "firstname",
                "lastname",
                "street",
                "pcode",
                "city",
                "country",
                "email",
            ] {
                if t(required).is_empty() {
                    return Err((2003, format!("Required parameter missing: {required}")));
                }
            }
            let next = state.added_handles.len() + 1;
            let h = Handle {
                id: format!("DBS-H{:06}", 100_000 + next),
                first: t("firstname"),
                last: t("lastname"),
                company: t("company"),
                street: t("street"),
                pcode: t("pcode"),
                city: t("city"),
                country: t("country").to_ascii_uppercase(),
                phone: t("phone"),
                email: t("email"),
            };
            state.added_handles.push(h.clone());
            Ok(s("handleId", &h.id))
        }
        other => Err((2000, format!("Unknown command: {other}"))),
    }
}
