//! HTTP client for the CNR / ISPAPI gateway: authentication (password or session),
//! retries with jittered exponential backoff, per-account rate limiting, and errors that
//! say what to do. Credentials never reach logs or `Debug` output.

use crate::codec::{Command, Response, Template};
use domwatch_core::model::Dialect;
use domwatch_core::Untrusted;
use domwatch_retry::failure::{connect_cause, error_chain};
use domwatch_retry::{Access, Outcome, RetryPolicy};
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::{Mutex, Semaphore};
use tokio::time::Instant;
use tracing::{debug, warn, Instrument};
use url::Url;

/// CNR live gateway.
pub const CNR_LIVE_URL: &str = "https://api.rrpproxy.net/api/call.cgi";
/// CNR OT&E (test) gateway.
pub const CNR_OTE_URL: &str = "https://api-ote.rrpproxy.net/api/call.cgi";
/// ISPAPI gateway (live and OT&E differ by `s_entity`).
pub const ISPAPI_URL: &str = "https://api.ispapi.net/api/call.cgi";
/// ISPAPI `s_entity` for live.
pub const ISPAPI_ENTITY_LIVE: &str = "54cd";
/// ISPAPI `s_entity` for OT&E.
pub const ISPAPI_ENTITY_OTE: &str = "1234";

/// Codes worth repeating: the temporary failures plus "server closing connection" /
/// "too many sessions". Every other code is final.
const RETRYABLE_CODES: [u16; 5] = [421, 423, 425, 520, 521];
/// How many body bytes a protocol error quotes.
const BODY_PREFIX_LEN: usize = 120;

/// Live system or the registrar's OT&E test system.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    Live,
    Ote,
}

/// A secret string whose `Debug`/`Display` print `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    /// The secret itself; only for building the request.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret::new(value)
    }
}
impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret(value)
    }
}

/// Everything needed to talk to one registrar account.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// `Dialect::Cnr` or `Dialect::Ispapi` (Smart-NIC is a different protocol).
    pub dialect: Dialect,
    pub environment: Environment,
    /// Overrides the gateway URL (sandboxes, tests, a local high-performance proxy).
    pub endpoint: Option<Url>,
    pub login: String,
    pub password: Secret,
    /// Role user (CNR `login:role`, ISPAPI `login!role`).
    pub role: Option<String>,
    /// Act on a sub-account (CNR `SUBUSER=` in the command, ISPAPI `s_user`).
    pub subuser: Option<String>,
    /// Open a session once and send its id instead of the password.
    pub use_session: bool,
    pub connect_timeout: Duration,
    /// Whole request, including reading the body.
    pub total_timeout: Duration,
    /// Extra attempts after the first on transport errors and codes 421/423/425/520/521.
    pub max_retries: u32,
    /// First backoff; doubles per attempt, with jitter, capped at 30 s.
    pub retry_base_delay: Duration,
    /// Requests in flight at once for this account.
    pub max_concurrency: usize,
    /// Minimum gap between the starts of two requests for this account.
    pub min_interval: Duration,
    /// How `list_domains` pages and joins.
    pub list: crate::listing::ListOptions,
}

impl ClientConfig {
    /// A config with conservative defaults: 10 s connect, 300 s total (the SDKs' value; a
    /// 10 000-row list can take a while), 3 retries from 500 ms, 4 requests in flight,
    /// no minimum interval, no session.
    pub fn new(
        dialect: Dialect,
        environment: Environment,
        login: impl Into<String>,
        password: impl Into<Secret>,
    ) -> Self {
        ClientConfig {
            dialect,
            environment,
            endpoint: None,
            login: login.into(),
            password: password.into(),
            role: None,
            subuser: None,
            use_session: false,
            connect_timeout: Duration::from_secs(10),
            total_timeout: Duration::from_secs(300),
            max_retries: 3,
            retry_base_delay: Duration::from_millis(500),
            max_concurrency: 4,
            min_interval: Duration::ZERO,
            list: crate::listing::ListOptions::default(),
        }
    }

    /// The account name used in messages: `login` or `login:role`.
    pub fn account(&self) -> String {
        match &self.role {
            Some(role) => format!("{}{}{role}", self.login, self.role_separator()),
            None => self.login.clone(),
        }
    }

    fn role_separator(&self) -> char {
        match self.dialect {
            Dialect::Ispapi => '!',
            _ => ':',
        }
    }

    /// The gateway URL for this dialect and environment, unless overridden.
    pub fn endpoint_url(&self) -> Result<Url, ClientError> {
        if let Some(url) = &self.endpoint {
            return Ok(url.clone());
        }
        let url = match (self.dialect, self.environment) {
            (Dialect::Cnr, Environment::Live) => CNR_LIVE_URL,
            (Dialect::Cnr, Environment::Ote) => CNR_OTE_URL,
            (Dialect::Ispapi, _) => ISPAPI_URL,
            (other, _) => {
                return Err(ClientError::Config(format!(
                    "dialect `{other}` does not speak the CNR/ISPAPI protocol; use the adapter for {other}"
                )))
            }
        };
        Ok(Url::parse(url).expect("built-in URLs are valid"))
    }
}

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("registrar rejected the credentials for account `{account}` ({code} {}): check login/password (and role) for account {account}", Untrusted(description))]
    Auth {
        account: String,
        code: u16,
        description: String,
    },
    #[error(
        "`{command}` failed temporarily after {attempts} attempt(s): {code} {}; try again later",
        Untrusted(description)
    )]
    Temporary {
        command: String,
        code: u16,
        description: String,
        attempts: u32,
    },
    #[error("`{command}` refused: {code} {}", Untrusted(description))]
    Permanent {
        command: String,
        code: u16,
        description: String,
    },
    #[error("`{command}`: invalid registrar response ({code} {}); body starts with {body_prefix:?}: check the endpoint URL points at the registrar API", Untrusted(description))]
    Protocol {
        command: String,
        code: u16,
        description: String,
        body_prefix: String,
    },
    #[error("`{command}`: no answer from {endpoint} within {after:?} after {attempts} attempt(s): check connectivity or raise the timeout")]
    Timeout {
        command: String,
        endpoint: String,
        after: Duration,
        attempts: u32,
    },
    /// The answer stopped before its `EOF` line (a dropped connection, a proxy cutting the
    /// body): nothing in it is used. Reads are retried like a transport error first.
    #[error("{command} answer from {registrar} account `{account}` was cut off after {received_bytes} bytes (no EOF line; {attempts} attempt(s)): the answer was not used{}", write_hint(*write))]
    Truncated {
        command: String,
        registrar: String,
        account: String,
        received_bytes: usize,
        attempts: u32,
        /// True for a command that changes something: it may have been carried out.
        write: bool,
    },
    /// A list answered fewer rows than it declared (`COUNT` of a page, `TOTAL` of a paged
    /// walk): the list was cut off and is not used.
    #[error("{command} answered {received} of {declared} rows for {registrar} account `{account}` ({what}): the answer was cut off; nothing was changed, try again later")]
    Incomplete {
        command: String,
        registrar: String,
        account: String,
        received: u64,
        declared: u64,
        /// Which count fell short, e.g. `page at FIRST=200 declares COUNT=100`.
        what: String,
    },
    #[error("invalid registrar client configuration: {0}")]
    Config(String),
}

fn write_hint(write: bool) -> &'static str {
    if write {
        "; the command changes data and may have been carried out: check at the registrar before sending it again"
    } else {
        "; nothing was changed"
    }
}

impl ClientError {
    /// The registrar code behind this error, if any.
    pub fn code(&self) -> Option<u16> {
        match self {
            ClientError::Auth { code, .. }
            | ClientError::Temporary { code, .. }
            | ClientError::Permanent { code, .. }
            | ClientError::Protocol { code, .. } => Some(*code),
            _ => None,
        }
    }
}

impl From<ClientError> for domwatch_core::ports::RegistrarError {
    fn from(error: ClientError) -> Self {
        use domwatch_core::ports::RegistrarError;
        let message = error.to_string();
        match error {
            ClientError::Auth {
                account,
                code,
                description,
            } => RegistrarError::Auth {
                account,
                detail: format!("{code} {description}"),
            },
            ClientError::Temporary {
                code, description, ..
            } => RegistrarError::Temporary { code, description },
            ClientError::Permanent {
                code, description, ..
            } => RegistrarError::Permanent { code, description },
            ClientError::Protocol { .. } | ClientError::Config(_) => {
                RegistrarError::Protocol { message }
            }
            ClientError::Timeout { command, after, .. } => RegistrarError::Timeout {
                what: command,
                seconds: after.as_secs().max(1),
            },
            // A cut-off answer is a transport failure (421, retryable), told in full.
            ClientError::Truncated { .. } | ClientError::Incomplete { .. } => {
                RegistrarError::Temporary {
                    code: 421,
                    description: message,
                }
            }
        }
    }
}

/// A failure below the protocol: no usable HTTP answer.
#[derive(Debug)]
struct TransportFailure {
    timed_out: bool,
    /// No connection was made, so the request never reached the registrar: safe to send
    /// again, also for a write.
    not_sent: bool,
    detail: String,
}

/// One HTTP round trip's result.
enum Exchange {
    Answer(Response),
    Transport(TransportFailure),
}

/// One attempt: the answer (transport failures as the `httperror` template) and how it
/// was obtained, for the retry loop.
struct Attempt {
    response: Response,
    timed_out: bool,
    /// See [`TransportFailure::not_sent`].
    not_sent: bool,
}

/// A CNR or ISPAPI account client. Cheap to share behind an `Arc`; all methods take `&self`.
pub struct RrpClient {
    config: ClientConfig,
    endpoint: Url,
    http: reqwest::Client,
    in_flight: Semaphore,
    last_start: Mutex<Option<Instant>>,
    session: Mutex<Option<Secret>>,
    /// CNR premium renewal prices already checked (see `ListOptions::premium_fee_max_age`).
    pub(crate) premium_fees: std::sync::Mutex<crate::listing::PremiumFeeCache>,
}

impl fmt::Debug for RrpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RrpClient")
            .field("config", &self.config)
            .field("endpoint", &self.endpoint.as_str())
            .finish_non_exhaustive()
    }
}

impl RrpClient {
    /// Builds a client. Fails only on an unusable configuration (wrong dialect, zero
    /// concurrency, TLS backend failure).
    pub fn new(config: ClientConfig) -> Result<Self, ClientError> {
        let endpoint = config.endpoint_url()?;
        if config.max_concurrency == 0 {
            return Err(ClientError::Config(
                "max_concurrency is 0: allow at least one request in flight".into(),
            ));
        }
        if config.login.is_empty() {
            return Err(ClientError::Config(
                "login is empty: set the registrar account login".into(),
            ));
        }
        let http = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .timeout(config.total_timeout)
            .user_agent(concat!("domwatch/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ClientError::Config(format!("cannot build the HTTP client: {e}")))?;
        Ok(RrpClient {
            in_flight: Semaphore::new(config.max_concurrency),
            endpoint,
            http,
            last_start: Mutex::new(None),
            session: Mutex::new(None),
            premium_fees: std::sync::Mutex::new(crate::listing::PremiumFeeCache::default()),
            config,
        })
    }

    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    pub fn dialect(&self) -> Dialect {
        self.config.dialect
    }

    pub fn endpoint(&self) -> &Url {
        &self.endpoint
    }

    /// Sends `command` and returns the response only when it succeeded (2xx). Retries
    /// transport errors and temporary codes; a lost session is re-opened once.
    pub async fn request(&self, command: &Command) -> Result<Response, ClientError> {
        let (response, attempts, timed_out) = self.call_with_retries(command).await?;
        self.classify(command, response, attempts, timed_out)
    }

    /// Like [`RrpClient::request`] but returns every registrar answer, success or not,
    /// as a [`Response`] (transport failures become the SDK `httperror` template). Only
    /// session/login failures are errors here.
    pub async fn call(&self, command: &Command) -> Result<Response, ClientError> {
        Ok(self.call_with_retries(command).await?.0)
    }

    /// Opens a session now (otherwise done lazily when `use_session` is set).
    pub async fn login(&self) -> Result<(), ClientError> {
        let mut session = self.session.lock().await;
        self.open_session(&mut session).await
    }

    /// Closes the session, if one is open (CNR `StopSession`, ISPAPI `EndSession`).
    pub async fn logout(&self) -> Result<(), ClientError> {
        let Some(id) = self.session.lock().await.take() else {
            return Ok(());
        };
        let name = match self.config.dialect {
            Dialect::Ispapi => "EndSession",
            _ => "StopSession",
        };
        let command = Command::new(name);
        let form = self.form(&command, Some(&id), false);
        match self.exchange(name, form).await {
            Exchange::Answer(r) if r.is_success() => Ok(()),
            Exchange::Answer(r) => Err(ClientError::Permanent {
                command: name.into(),
                code: r.code(),
                description: r.description().into(),
            }),
            Exchange::Transport(t) => Err(self.transport_error(name, t, 1)),
        }
    }

    /// True while a session id is held.
    pub async fn has_session(&self) -> bool {
        self.session.lock().await.is_some()
    }

    async fn open_session(&self, slot: &mut Option<Secret>) -> Result<(), ClientError> {
        let (label, command, id_key) = match self.config.dialect {
            Dialect::Ispapi => ("StartSession", Command::new("StartSession"), "SESSION"),
            // CNR: the login request has no s_command at all, just `persistent=1`.
            _ => ("login", Command::empty(), "SESSIONID"),
        };
        let form = self.form(&command, None, true);
        let response = match self.exchange(label, form).await {
            Exchange::Answer(r) => r,
            Exchange::Transport(t) => return Err(self.transport_error(label, t, 1)),
        };
        if response.code() == 530 || (response.is_permanent_error() && response.code() == 531) {
            return Err(self.auth_error(&response));
        }
        let response = self.classify(&command, response, 1, false)?;
        match response.value(id_key).filter(|id| !id.is_empty()) {
            Some(id) => {
                *slot = Some(Secret::new(id));
                debug!(dialect = %self.config.dialect, "registrar session opened");
                Ok(())
            }
            None => Err(ClientError::Protocol {
                command: label.into(),
                code: response.code(),
                description: format!("session login answered without `{id_key}`"),
                body_prefix: body_prefix(response.body()),
            }),
        }
    }

    /// The retry loop. Returns the final response, the number of attempts, and whether
    /// the last failure was a timeout.
    async fn call_with_retries(
        &self,
        command: &Command,
    ) -> Result<(Response, u32, bool), ClientError> {
        let name = command_label(command);
        let span = tracing::info_span!(
            "rrp.request",
            command = name,
            code = tracing::field::Empty,
            runtime = tracing::field::Empty,
            attempts = tracing::field::Empty
        );
        async {
            debug!(command = %command.redacted(), "sending registrar command");
            let relogged = AtomicBool::new(false);
            let judge = |attempt: &Result<Attempt, ClientError>| match attempt {
                Ok(a) => outcome(command, &a.response, a.not_sent),
                Err(_) => Outcome::Final,
            };
            let log = |attempt: &Result<Attempt, ClientError>, n: u32, delay: Duration| {
                if let Ok(Attempt { response, .. }) = attempt {
                    warn!(
                        code = response.code(),
                        description = response.description(),
                        attempt = n,
                        delay_ms = delay.as_millis() as u64,
                        "temporary registrar failure; retrying"
                    );
                }
            };
            let (last, attempts) = domwatch_retry::run(
                &self.retry_policy(),
                access(command),
                |n| self.attempt(command, name, n, &relogged),
                judge,
                log,
            )
            .await;
            let last = last?;
            Ok((last.response, attempts, last.timed_out))
        }
        .instrument(span)
        .await
    }

    /// Attempt number `n` of `command`. A session the registrar no longer knows (530) is
    /// opened again once per command, without counting as an attempt.
    async fn attempt(
        &self,
        command: &Command,
        name: &str,
        n: u32,
        relogged: &AtomicBool,
    ) -> Result<Attempt, ClientError> {
        loop {
            let session = self.session_to_send().await?;
            let form = self.form(command, session.as_ref(), false);
            let attempt = match self.exchange(name, form).await {
                Exchange::Answer(response) => Attempt {
                    response,
                    timed_out: false,
                    not_sent: false,
                },
                Exchange::Transport(failure) => {
                    warn!(attempt = n, timed_out = failure.timed_out, detail = %failure.detail, "registrar transport failure");
                    Attempt {
                        response: Response::http_error(&failure.detail),
                        timed_out: failure.timed_out,
                        not_sent: failure.not_sent,
                    }
                }
            };
            let current = tracing::Span::current();
            current.record("code", attempt.response.code());
            current.record("runtime", attempt.response.runtime());
            current.record("attempts", n);
            if attempt.response.code() == 530
                && session.is_some()
                && !relogged.swap(true, Ordering::Relaxed)
            {
                // Session expired or was dropped server-side: log in again once.
                debug!("session rejected; logging in again");
                *self.session.lock().await = None;
                continue;
            }
            return Ok(attempt);
        }
    }

    /// The session id to send instead of the password, opening a session first if one is
    /// wanted and none is open.
    async fn session_to_send(&self) -> Result<Option<Secret>, ClientError> {
        if !self.config.use_session {
            return Ok(None);
        }
        let mut slot = self.session.lock().await;
        if slot.is_none() {
            self.open_session(&mut slot).await?;
        }
        Ok(slot.clone())
    }

    /// The configured retries and backoff.
    fn retry_policy(&self) -> RetryPolicy {
        RetryPolicy::new(self.config.max_retries, self.config.retry_base_delay)
    }

    /// The error for an answer that stopped before `EOF`.
    fn truncated_error(
        &self,
        command: &Command,
        response: &Response,
        attempts: u32,
    ) -> ClientError {
        ClientError::Truncated {
            command: command_label(command).to_string(),
            registrar: self.registrar_name().into(),
            account: self.config.account(),
            received_bytes: response.body().len(),
            attempts,
            write: !is_read_command(command),
        }
    }

    /// The error for a list that came back with fewer rows than it declares.
    pub(crate) fn incomplete_error(
        &self,
        command: &Command,
        received: u64,
        declared: u64,
        what: String,
    ) -> ClientError {
        ClientError::Incomplete {
            command: command_label(command).to_string(),
            registrar: self.registrar_name().into(),
            account: self.config.account(),
            received,
            declared,
            what,
        }
    }

    /// `CNR` or `ISPAPI`, for messages.
    fn registrar_name(&self) -> &'static str {
        registrar_name(self.config.dialect)
    }

    fn classify(
        &self,
        command: &Command,
        response: Response,
        attempts: u32,
        timed_out: bool,
    ) -> Result<Response, ClientError> {
        let name = command.name().to_string();
        if timed_out {
            return Err(ClientError::Timeout {
                command: name,
                endpoint: self.endpoint.to_string(),
                after: self.config.total_timeout,
                attempts,
            });
        }
        match response.template() {
            Some(Template::Invalid) | Some(Template::Empty) => {
                return Err(ClientError::Protocol {
                    command: name,
                    code: response.code(),
                    description: response.description().into(),
                    body_prefix: body_prefix(response.body()),
                })
            }
            Some(Template::HttpError(detail)) => {
                return Err(ClientError::Temporary {
                    command: name,
                    code: response.code(),
                    description: format!("{} ({detail})", response.description()),
                    attempts,
                })
            }
            Some(Template::Truncated) => {
                return Err(self.truncated_error(command, &response, attempts));
            }
            None => {}
        }
        if response.is_success() {
            if let Some(short) = list_page_shortfall(command, &response) {
                let what = format!(
                    "the page at FIRST={} declares COUNT={}",
                    response.first().unwrap_or(0),
                    short.declared
                );
                return Err(self.incomplete_error(command, short.rows, short.declared, what));
            }
            return Ok(response);
        }
        if response.code() == 530 {
            return Err(self.auth_error(&response));
        }
        if response.is_temporary_error() || RETRYABLE_CODES.contains(&response.code()) {
            return Err(ClientError::Temporary {
                command: name,
                code: response.code(),
                description: response.description().into(),
                attempts,
            });
        }
        if response.is_permanent_error() {
            return Err(ClientError::Permanent {
                command: name,
                code: response.code(),
                description: response.description().into(),
            });
        }
        Err(ClientError::Protocol {
            command: name,
            code: response.code(),
            description: format!("unexpected code class: {}", response.description()),
            body_prefix: body_prefix(response.body()),
        })
    }

    fn auth_error(&self, response: &Response) -> ClientError {
        ClientError::Auth {
            account: self.config.account(),
            code: response.code(),
            description: response.description().into(),
        }
    }

    fn transport_error(
        &self,
        command: &str,
        failure: TransportFailure,
        attempts: u32,
    ) -> ClientError {
        if failure.timed_out {
            ClientError::Timeout {
                command: command.into(),
                endpoint: self.endpoint.to_string(),
                after: self.config.total_timeout,
                attempts,
            }
        } else {
            ClientError::Temporary {
                command: command.into(),
                code: 421,
                description: format!(
                    "{} ({})",
                    crate::codec::HTTP_ERROR_DESCRIPTION,
                    failure.detail
                ),
                attempts,
            }
        }
    }

    /// The POST fields. `session` replaces the password; `open_session` builds the login
    /// request itself.
    fn form(
        &self,
        command: &Command,
        session: Option<&Secret>,
        open_session: bool,
    ) -> Vec<(&'static str, String)> {
        let config = &self.config;
        let mut form: Vec<(&'static str, String)> = Vec::with_capacity(6);
        match config.dialect {
            Dialect::Ispapi => {
                let entity = match config.environment {
                    Environment::Live => ISPAPI_ENTITY_LIVE,
                    Environment::Ote => ISPAPI_ENTITY_OTE,
                };
                form.push(("s_entity", entity.into()));
                match session {
                    Some(id) => form.push(("s_session", id.expose().into())),
                    None => {
                        form.push(("s_login", config.account()));
                        form.push(("s_pw", config.password.expose().into()));
                    }
                }
                if let Some(user) = &config.subuser {
                    form.push(("s_user", user.clone()));
                }
                if !command.is_empty() {
                    form.push(("s_command", command.encode()));
                }
            }
            _ => {
                form.push(("s_login", config.account()));
                match session {
                    Some(id) => form.push(("s_sessionid", id.expose().into())),
                    None => form.push(("s_pw", config.password.expose().into())),
                }
                if open_session {
                    form.push(("persistent", "1".into()));
                } else if !command.is_empty() {
                    let mut command = command.clone();
                    if let Some(user) = &config.subuser {
                        command.set("SUBUSER", user.as_str());
                    }
                    form.push(("s_command", command.encode()));
                }
            }
        }
        form
    }

    /// One HTTP round trip, under the concurrency and interval limits.
    async fn exchange(&self, name: &str, form: Vec<(&'static str, String)>) -> Exchange {
        let _permit = self
            .in_flight
            .acquire()
            .await
            .expect("the semaphore is never closed");
        if !self.config.min_interval.is_zero() {
            let mut last = self.last_start.lock().await;
            if let Some(previous) = *last {
                tokio::time::sleep_until(previous + self.config.min_interval).await;
            }
            *last = Some(Instant::now());
        }
        let result = self
            .http
            .post(self.endpoint.clone())
            .form(&form)
            .send()
            .await;
        let response = match result {
            Ok(response) => response,
            Err(error) => return Exchange::Transport(self.failure_of(&error)),
        };
        let status = response.status();
        if !status.is_success() {
            // Node/Go SDK behaviour: a non-2xx status is an HTTP communication error.
            return Exchange::Transport(TransportFailure {
                timed_out: false,
                not_sent: false,
                detail: format!("HTTP status {status} from the gateway"),
            });
        }
        match response.bytes().await {
            Ok(bytes) => {
                let body = domwatch_core::text::from_utf8_or_replaced(bytes.into());
                let parsed = Response::parse_with_endpoint(body, self.endpoint.as_str());
                debug!(
                    command = name,
                    code = parsed.code(),
                    runtime = parsed.runtime(),
                    "registrar answered"
                );
                Exchange::Answer(parsed)
            }
            Err(error) => Exchange::Transport(self.failure_of(&error)),
        }
    }

    /// What went wrong below HTTP, in words: a refused or unresolvable connection says so
    /// and names the endpoint, rather than only the SDK's "HTTP communication error".
    fn failure_of(&self, error: &reqwest::Error) -> TransportFailure {
        if error.is_connect() && !error.is_timeout() {
            return TransportFailure {
                timed_out: false,
                not_sent: true,
                detail: format!(
                    "cannot connect to {} at {}: {} — is the registrar reachable from this host?",
                    self.registrar_name(),
                    self.endpoint,
                    connect_cause(error)
                ),
            };
        }
        // reqwest's Display includes the URL, which holds no secrets (they are in the body).
        TransportFailure {
            timed_out: error.is_timeout(),
            not_sent: false,
            detail: error_chain(error),
        }
    }
}

/// `CNR` or `ISPAPI`, as operators know the registrars.
fn registrar_name(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Ispapi => "ISPAPI",
        Dialect::Smartnic => "Smart-NIC",
        _ => "CNR",
    }
}

/// The command name for messages (`login` for the CNR session login, which has none).
fn command_label(command: &Command) -> &str {
    if command.name().is_empty() {
        "login"
    } else {
        command.name()
    }
}

/// Commands that only read: safe to send again after any failure. Everything else
/// changes data and is repeated only when the registrar said it did not run it.
pub(crate) fn is_read_command(command: &Command) -> bool {
    const READ_PREFIXES: [&str; 5] = ["QUERY", "STATUS", "CHECK", "CONVERT", "STARTSESSION"];
    let name = command.name();
    name.is_empty()
        || READ_PREFIXES.iter().any(|prefix| {
            name.len() >= prefix.len() && name[..prefix.len()].eq_ignore_ascii_case(prefix)
        })
}

/// Reads may be repeated after any temporary trouble, writes only when they did not run.
fn access(command: &Command) -> Access {
    if is_read_command(command) {
        Access::Read
    } else {
        Access::Write
    }
}

/// List commands (`Query…`: `QueryDomainList`, `QueryExchangeRates`, …), whose pages
/// carry FIRST/LAST/COUNT/TOTAL.
fn is_list_command(command: &Command) -> bool {
    let name = command.name();
    name.len() > 5 && name[..5].eq_ignore_ascii_case("QUERY")
}

/// The shortfall of a successful list page, if it holds fewer rows than it declares.
fn list_page_shortfall(
    command: &Command,
    response: &Response,
) -> Option<crate::codec::PageShortfall> {
    if is_list_command(command) && response.is_success() {
        response.page_shortfall()
    } else {
        None
    }
}

/// What `response` means for sending `command` again. Reads are repeated after any
/// temporary trouble: transport failures, a cut-off, unreadable or short answer, and the
/// temporary codes. Writes only when the registrar answered a temporary code, or no
/// connection was made at all: a lost or cut answer may hide a write that happened.
fn outcome(command: &Command, response: &Response, not_sent: bool) -> Outcome {
    match response.template() {
        Some(Template::HttpError(_)) if not_sent => Outcome::NotRun,
        Some(_) => Outcome::MayHaveRun,
        None if RETRYABLE_CODES.contains(&response.code()) => Outcome::NotRun,
        None if list_page_shortfall(command, response).is_some() => Outcome::MayHaveRun,
        None if response.is_success() => Outcome::Done,
        None => Outcome::Final,
    }
}

/// The first bytes of a body, cut on a character boundary, for error messages.
fn body_prefix(body: &str) -> String {
    let mut end = body.len().min(BODY_PREFIX_LEN);
    while !body.is_char_boundary(end) {
        end -= 1;
    }
    body[..end].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(dialect: Dialect) -> ClientConfig {
        let mut config =
            ClientConfig::new(dialect, Environment::Ote, "reseller", "pa$$word-secret");
        config.role = Some("monitor".into());
        config
    }

    #[test]
    fn debug_output_never_shows_the_password() {
        let config = config(Dialect::Cnr);
        let debug = format!("{config:?}");
        assert!(!debug.contains("pa$$word-secret"), "{debug}");
        let client = RrpClient::new(config).unwrap();
        assert!(!format!("{client:?}").contains("pa$$word-secret"));
    }

    #[test]
    fn registrar_descriptions_are_shown_escaped() {
        let forged = "Object exists\r\nINFO \x1b[32mok\u{202e}";
        let refused = ClientError::Permanent {
            command: "AddDomain".into(),
            code: 540,
            description: forged.into(),
        };
        let shown = refused.to_string();
        assert_eq!(
            shown,
            "`AddDomain` refused: 540 Object exists\\r\\nINFO \\u{1b}[32mok\\u{202e}"
        );
        let auth = ClientError::Auth {
            account: "reseller".into(),
            code: 530,
            description: forged.into(),
        };
        assert!(!auth.to_string().contains(domwatch_core::text::is_unsafe));
    }

    #[test]
    fn endpoints_and_role_separators_per_dialect() {
        let cnr = config(Dialect::Cnr);
        assert_eq!(cnr.endpoint_url().unwrap().as_str(), CNR_OTE_URL);
        assert_eq!(cnr.account(), "reseller:monitor");
        let mut live = cnr.clone();
        live.environment = Environment::Live;
        assert_eq!(live.endpoint_url().unwrap().as_str(), CNR_LIVE_URL);
        let hx = config(Dialect::Ispapi);
        assert_eq!(hx.endpoint_url().unwrap().as_str(), ISPAPI_URL);
        assert_eq!(hx.account(), "reseller!monitor");
        assert!(config(Dialect::Smartnic).endpoint_url().is_err());
    }

    #[test]
    fn cnr_form_uses_session_id_and_puts_subuser_in_the_command() {
        let mut config = config(Dialect::Cnr);
        config.subuser = Some("sub1".into());
        let client = RrpClient::new(config).unwrap();
        let cmd = Command::new("StatusAccount");
        let form = client.form(&cmd, None, false);
        assert_eq!(
            form,
            vec![
                ("s_login", "reseller:monitor".to_string()),
                ("s_pw", "pa$$word-secret".to_string()),
                (
                    "s_command",
                    "COMMAND=StatusAccount\nSUBUSER=sub1".to_string()
                ),
            ]
        );
        let form = client.form(&cmd, Some(&Secret::new("abc")), false);
        assert_eq!(form[1], ("s_sessionid", "abc".to_string()));
        let login = client.form(&Command::empty(), None, true);
        assert_eq!(login.last(), Some(&("persistent", "1".to_string())));
        assert!(login.iter().all(|(k, _)| *k != "s_command"));
    }

    #[test]
    fn ispapi_form_uses_entity_session_and_s_user() {
        let mut config = config(Dialect::Ispapi);
        config.subuser = Some("sub1".into());
        let client = RrpClient::new(config).unwrap();
        let cmd = Command::new("StatusAccount");
        let form = client.form(&cmd, None, false);
        assert_eq!(form[0], ("s_entity", "1234".to_string()));
        assert_eq!(form[1], ("s_login", "reseller!monitor".to_string()));
        assert!(form.contains(&("s_user", "sub1".to_string())));
        let form = client.form(&cmd, Some(&Secret::new("sess")), false);
        assert!(form.contains(&("s_session", "sess".to_string())));
        assert!(form.iter().all(|(k, _)| *k != "s_pw" && *k != "s_login"));
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let mut config = config(Dialect::Cnr);
        config.retry_base_delay = Duration::from_millis(100);
        let client = RrpClient::new(config).unwrap();
        let backoff = |attempt| domwatch_retry::pause(&client.retry_policy(), attempt);
        for attempt in 1..=3u32 {
            let full = Duration::from_millis(100 * (1 << (attempt - 1)));
            let delay = backoff(attempt);
            assert!(delay >= full / 2 && delay <= full, "{attempt}: {delay:?}");
        }
        assert!(backoff(40) <= RetryPolicy::MAX_DELAY);
    }

    #[test]
    fn reads_repeat_after_any_trouble_and_writes_only_when_they_did_not_run() {
        let policy = RetryPolicy::new(1, Duration::ZERO);
        let retried = |name: &str, response: &Response, not_sent: bool| {
            let command = Command::new(name);
            policy.retries(access(&command), outcome(&command, response, not_sent), 1)
        };
        let answer = |code: u16| {
            Response::parse(format!("[RESPONSE]\ncode = {code}\ndescription = x\nEOF\n"))
        };
        let lost = Response::http_error("timed out");
        let cut = Response::truncated("[RESPONSE]\ncode = 200\n".into());
        let garbage = Response::invalid("<html>".into());
        for read in ["StatusDomain", "QueryDomainList", "CheckDomains"] {
            assert!(retried(read, &lost, false), "{read}");
            assert!(retried(read, &lost, true), "{read}");
            assert!(retried(read, &cut, false), "{read}");
            assert!(retried(read, &garbage, false), "{read}");
            for code in RETRYABLE_CODES {
                assert!(retried(read, &answer(code), false), "{read} {code}");
            }
            assert!(!retried(read, &answer(200), false), "{read}");
            assert!(!retried(read, &answer(545), false), "{read}");
        }
        for write in ["ModifyDomain", "DeleteDomain", "SetDomainRenewalMode"] {
            assert!(
                !retried(write, &lost, false),
                "{write}: the answer was lost"
            );
            assert!(retried(write, &lost, true), "{write}: nothing was sent");
            assert!(!retried(write, &cut, false), "{write}");
            assert!(!retried(write, &garbage, false), "{write}");
            for code in RETRYABLE_CODES {
                assert!(retried(write, &answer(code), false), "{write} {code}");
            }
            assert!(!retried(write, &answer(200), false), "{write}");
            assert!(!retried(write, &answer(549), false), "{write}");
        }
    }
}
