//! The transport: HTTP Basic auth, one SOAP call per request, a fresh `clientTRID` on
//! every HTTP request, `returnCode` 1000 = success, a cap on requests in flight, and
//! retries with jittered backoff for reads only. The password never reaches `Debug`
//! output or logs.

use crate::dates::StartDateFormat;
use crate::operations::{Kind, Request};
use crate::xml::{body_element, into_body_element, parse, Fault, Node, ParseError, Value};
use domwatch_core::ports::RegistrarError;
use domwatch_core::Money;
use domwatch_retry::failure::{connect_cause, error_chain};
use domwatch_retry::{Outcome, RetryPolicy};
use rand::Rng;
use std::collections::HashMap;
use std::fmt;
use std::time::{Duration, Instant};
use tokio::sync::{Mutex, Semaphore};

/// The live endpoint. Smart-NIC has no public OT&E system: for tests point `endpoint` at
/// the sandbox (`domwatch sandbox registrar --dialect smartnic`).
pub const LIVE_ENDPOINT: &str = "https://soap.domain-bestellsystem.de/soap.php";

/// `returnCode` of a successful call. Other 1xxx codes count as success too (EPP style:
/// "completed, action pending"); 2xxx codes are refusals.
pub const OK: i64 = 1000;

/// How much of an unreadable body an error quotes.
const BODY_PREFIX_LEN: usize = 120;

/// Everything needed to talk to one Smart-NIC reseller account.
#[derive(Clone)]
pub struct SmartnicConfig {
    /// The SOAP endpoint (`soap.php`).
    pub endpoint: String,
    /// HTTP Basic auth user: the reseller login.
    pub login: String,
    password: String,
    /// Act for a sub-reseller (`forReseller` on every request).
    pub for_reseller: Option<String>,
    /// Whole request, including reading the body.
    pub timeout: Duration,
    pub connect_timeout: Duration,
    /// Extra attempts of a read after transport errors, HTTP 5xx, `Server` faults or a
    /// cut-off answer. Writes are sent once.
    pub max_retries: u32,
    /// First backoff; doubles per attempt, with jitter, capped at 30 s.
    pub retry_base_delay: Duration,
    /// Requests in flight at once for this account.
    pub max_concurrency: usize,
    /// Rows per `domainListExtended` / `handleList` page.
    pub page_size: u32,
    /// Default `notify` address for writes that carry one (domainDelete, domainUpdate):
    /// where Smart-NIC sends its own mails about the order.
    pub notify_email: Option<String>,
    /// Names the account in errors (the domwatch account name; the login by default).
    pub account: String,
    /// How `startDate` is written (see [`StartDateFormat`]).
    pub start_date_format: StartDateFormat,
    /// Ask `priceDomainList` once per domain list (and cache it) so domains carry their
    /// renewal price. A failure there never fails the list.
    pub renewal_prices: bool,
    /// How long a price list is reused.
    pub price_list_max_age: Duration,
}

impl SmartnicConfig {
    /// Defaults: the live endpoint, 60 s per request (10 s to connect), 3 retries from
    /// 500 ms, 4 requests in flight, 1000 rows per page, renewal prices on (cached 6 h).
    pub fn new(login: impl Into<String>, password: impl Into<String>) -> Self {
        let login = login.into();
        SmartnicConfig {
            endpoint: LIVE_ENDPOINT.into(),
            account: login.clone(),
            login,
            password: password.into(),
            for_reseller: None,
            timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(10),
            max_retries: 3,
            retry_base_delay: Duration::from_millis(500),
            max_concurrency: 4,
            page_size: 1000,
            notify_email: None,
            start_date_format: StartDateFormat::default(),
            renewal_prices: true,
            price_list_max_age: Duration::from_secs(6 * 3600),
        }
    }

    /// Replaces the password.
    pub fn set_password(&mut self, password: impl Into<String>) {
        self.password = password.into();
    }
}

impl fmt::Debug for SmartnicConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmartnicConfig")
            .field("endpoint", &self.endpoint)
            .field("login", &self.login)
            .field("password", &"***")
            .field("for_reseller", &self.for_reseller)
            .field("account", &self.account)
            .field("timeout", &self.timeout)
            .field("max_retries", &self.max_retries)
            .field("max_concurrency", &self.max_concurrency)
            .field("page_size", &self.page_size)
            .field("notify_email", &self.notify_email)
            .field("start_date_format", &self.start_date_format)
            .finish_non_exhaustive()
    }
}

/// Renewal prices per zone, with when they were fetched.
pub(crate) type PriceCache = Option<(Instant, HashMap<String, Money>)>;

/// A Smart-NIC SOAP client for one reseller account. Share it behind an `Arc`; all
/// methods take `&self`.
pub struct SmartnicClient {
    pub(crate) config: SmartnicConfig,
    http: reqwest::Client,
    in_flight: Semaphore,
    pub(crate) prices: Mutex<PriceCache>,
}

impl fmt::Debug for SmartnicClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmartnicClient")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// A successful answer: what a fast reader made of it, or its `return` object as a tree.
pub(crate) enum Answered<T> {
    Read(T),
    Tree(Node),
}

/// What one HTTP exchange produced, before classification.
struct Answer {
    status: reqwest::StatusCode,
    body: String,
}

impl SmartnicClient {
    /// Builds a client. Fails only on an unusable configuration.
    pub fn new(config: SmartnicConfig) -> Result<Self, RegistrarError> {
        let config_error = |message: String| RegistrarError::Protocol { message };
        let url = url::Url::parse(&config.endpoint).map_err(|e| {
            config_error(format!(
                "the Smart-NIC endpoint `{}` is not a URL ({e}): use {LIVE_ENDPOINT} or the sandbox's endpoint",
                config.endpoint
            ))
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(config_error(format!(
                "the Smart-NIC endpoint `{}` is not http(s): use {LIVE_ENDPOINT}",
                config.endpoint
            )));
        }
        if config.login.trim().is_empty() {
            return Err(config_error(format!(
                "account {}: the Smart-NIC login is empty: set the reseller login",
                config.account
            )));
        }
        if config.max_concurrency == 0 || config.page_size == 0 {
            return Err(config_error(format!(
                "account {}: max_concurrency and page_size must be at least 1",
                config.account
            )));
        }
        let http = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .timeout(config.timeout)
            .user_agent(concat!("domwatch/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| config_error(format!("cannot build the HTTP client: {e}")))?;
        Ok(SmartnicClient {
            in_flight: Semaphore::new(config.max_concurrency),
            config,
            http,
            prices: Mutex::new(None),
        })
    }

    pub fn config(&self) -> &SmartnicConfig {
        &self.config
    }

    /// A transaction id unique per HTTP request, to find the call in Smart-NIC's logs.
    pub fn client_trid() -> String {
        let millis = chrono::Utc::now().timestamp_millis();
        let random: u32 = rand::thread_rng().gen();
        format!("domwatch-{millis}-{random:08x}")
    }

    /// Sends `request` (plus `clientTRID` and `forReseller`) and returns the `return`
    /// object of a successful answer. Reads are retried on temporary trouble; writes are
    /// sent once, since a failed write may still have been carried out.
    pub async fn call(&self, request: &Request) -> Result<Node, RegistrarError> {
        match self
            .call_reading(request, |_| None::<(Node, String)>)
            .await?
        {
            Answered::Read(ret) | Answered::Tree(ret) => Ok(ret),
        }
    }

    /// [`Self::call`], but an answer that came with HTTP success is first given to
    /// `fast`, which reads the usual shape of a large answer straight into what the
    /// caller needs (and its `serverTRID`), or gives `None`: then the answer is read as a
    /// tree, as `call` reads it, and every error is told the same way.
    pub(crate) async fn call_reading<T>(
        &self,
        request: &Request,
        fast: impl Fn(&str) -> Option<(T, String)>,
    ) -> Result<Answered<T>, RegistrarError> {
        let operation = request.operation.name;
        let attempt = |_| async {
            let trid = Self::client_trid();
            let result = self.attempt(request, &trid, &fast).await;
            (trid, result)
        };
        let judge = |(_, result): &(String, Result<Answered<T>, RegistrarError>)| match result {
            Ok(_) => Outcome::Done,
            Err(e) if e.is_retryable() => Outcome::MayHaveRun,
            Err(_) => Outcome::Final,
        };
        let log = |(trid, result): &(String, Result<Answered<T>, RegistrarError>),
                   attempt: u32,
                   delay: Duration| {
            if let Err(e) = result {
                tracing::warn!(
                    operation,
                    client_trid = %trid,
                    attempt,
                    delay_ms = delay.as_millis() as u64,
                    error = %e,
                    "Smart-NIC read failed temporarily; retrying"
                );
            }
        };
        let ((_, result), _) = domwatch_retry::run(
            &self.retry_policy(),
            request.operation.kind,
            attempt,
            judge,
            log,
        )
        .await;
        result
    }

    /// The configured retries and backoff.
    fn retry_policy(&self) -> RetryPolicy {
        RetryPolicy::new(self.config.max_retries, self.config.retry_base_delay)
    }

    async fn attempt<T>(
        &self,
        request: &Request,
        trid: &str,
        fast: &impl Fn(&str) -> Option<(T, String)>,
    ) -> Result<Answered<T>, RegistrarError> {
        let operation = request.operation.name;
        let mut fields = request.fields.clone();
        fields.push(("clientTRID", Value::text(trid)));
        if let Some(reseller) = &self.config.for_reseller {
            fields.push(("forReseller", Value::text(reseller.as_str())));
        }
        let body = request.operation.envelope(&fields);
        tracing::debug!(operation, client_trid = trid, "Smart-NIC call");
        let started = Instant::now();
        let answer = self.exchange(request, body).await;
        let answer =
            answer.map_err(|e| self.transport_error(operation, request.operation.kind, e))?;
        let read = answer
            .status
            .is_success()
            .then(|| fast(&answer.body))
            .flatten();
        let result = match read {
            Some((value, server_trid)) => Ok((Answered::Read(value), server_trid)),
            None => self.classify(request, trid, answer).map(|ret| {
                let server_trid = ret.text_of("serverTRID").unwrap_or("").to_string();
                (Answered::Tree(ret), server_trid)
            }),
        };
        let elapsed_ms = started.elapsed().as_millis() as u64;
        match &result {
            Ok((_, server_trid)) => {
                if request.operation.kind == Kind::Write {
                    tracing::info!(
                        operation,
                        client_trid = trid,
                        server_trid,
                        elapsed_ms,
                        "Smart-NIC order accepted"
                    );
                } else {
                    tracing::debug!(
                        operation,
                        client_trid = trid,
                        server_trid,
                        elapsed_ms,
                        "Smart-NIC answered"
                    );
                }
            }
            Err(e) => {
                tracing::debug!(operation, client_trid = trid, elapsed_ms, error = %e, "Smart-NIC call failed")
            }
        }
        result.map(|(answered, _)| answered)
    }

    /// One HTTP round trip under the in-flight cap.
    async fn exchange(&self, request: &Request, body: String) -> Result<Answer, reqwest::Error> {
        let _permit = self
            .in_flight
            .acquire()
            .await
            .expect("the semaphore is never closed");
        let response = self
            .http
            .post(&self.config.endpoint)
            .basic_auth(&self.config.login, Some(&self.config.password))
            .header("Content-Type", "text/xml; charset=utf-8")
            .header("SOAPAction", request.operation.soap_action())
            .body(body)
            .send()
            .await?;
        let status = response.status();
        let body = domwatch_core::text::from_utf8_or_replaced(response.bytes().await?.into());
        Ok(Answer { status, body })
    }

    /// Turns an HTTP answer into the `return` object or an error that says what to do.
    fn classify(
        &self,
        request: &Request,
        trid: &str,
        answer: Answer,
    ) -> Result<Node, RegistrarError> {
        let operation = request.operation.name;
        let status = answer.status;
        self.refused_or_empty(request, &answer)?;
        let tree = match parse(&answer.body) {
            Ok(tree) => tree,
            Err(_) if busy_or_broken(status) => return Err(self.busy(status, operation)),
            Err(ParseError::Truncated(detail)) => {
                return Err(RegistrarError::Temporary {
                    code: status.as_u16(),
                    description: format!(
                        "{operation}: the answer was cut off ({detail}){}",
                        lost_answer_hint(request)
                    ),
                })
            }
            Err(ParseError::Malformed(detail)) => {
                return Err(self.unreadable(operation, status, &detail, &answer.body))
            }
        };
        let element = match body_element(&tree) {
            Ok(element) => element,
            Err(_) if busy_or_broken(status) => return Err(self.busy(status, operation)),
            Err(detail) => return Err(self.unreadable(operation, status, &detail, &answer.body)),
        };
        if let Some(fault) = Fault::from_body(element) {
            return Err(fault_error(request, trid, status, &fault));
        }
        check_returned(operation, trid, status, element, &answer.body)?;
        Ok(into_returned(tree))
    }

    /// Refused credentials, or a 200 with nothing in it (an answer cut off before its
    /// first byte).
    fn refused_or_empty(&self, request: &Request, answer: &Answer) -> Result<(), RegistrarError> {
        let status = answer.status;
        if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
            return Err(RegistrarError::Auth {
                account: self.config.account.clone(),
                detail: format!(
                    "HTTP {status} from {} for login `{}`",
                    self.config.endpoint, self.config.login
                ),
            });
        }
        if answer.body.trim().is_empty() && !busy_or_broken(status) {
            return Err(RegistrarError::Temporary {
                code: status.as_u16(),
                description: format!(
                    "{}: the answer was cut off (HTTP {status} with an empty body, no SOAP envelope){}",
                    request.operation.name,
                    lost_answer_hint(request)
                ),
            });
        }
        Ok(())
    }

    fn busy(&self, status: reqwest::StatusCode, operation: &str) -> RegistrarError {
        RegistrarError::Temporary {
            code: status.as_u16(),
            description: format!(
                "HTTP {status} from {} during {operation}",
                self.config.endpoint
            ),
        }
    }

    fn unreadable(
        &self,
        operation: &str,
        status: reqwest::StatusCode,
        detail: &str,
        body: &str,
    ) -> RegistrarError {
        RegistrarError::Protocol {
            message: format!(
                "{operation}: HTTP {status} from {} is not a SOAP answer ({detail}); body starts with {:?}",
                self.config.endpoint,
                body_prefix(body)
            ),
        }
    }

    fn transport_error(&self, operation: &str, kind: Kind, e: reqwest::Error) -> RegistrarError {
        if e.is_timeout() {
            return RegistrarError::Timeout {
                what: operation.to_string(),
                seconds: self.config.timeout.as_secs().max(1),
            };
        }
        let connect_failed = e.is_connect();
        if connect_failed {
            // Nothing was sent: say what happened, for reads and writes alike.
            return RegistrarError::Temporary {
                code: 0,
                description: format!(
                    "{operation}: cannot connect to Smart-NIC at {}: {} — is the registrar reachable from this host?",
                    self.config.endpoint,
                    connect_cause(&e)
                ),
            };
        }
        let detail = error_chain(&e.without_url());
        let hint = if kind == Kind::Write && !connect_failed {
            "; the order may have been carried out: look at the domain before placing it again"
        } else {
            ""
        };
        RegistrarError::Temporary {
            code: 0,
            description: format!(
                "{operation}: no answer from {} ({detail}){hint}",
                self.config.endpoint
            ),
        }
    }
}

fn fault_error(
    request: &Request,
    trid: &str,
    status: reqwest::StatusCode,
    fault: &Fault,
) -> RegistrarError {
    let description = format!(
        "SOAP fault in {} ({}): {}; clientTRID {trid}",
        request.operation.name, fault.code, fault.message
    );
    if fault.blames_the_request() {
        RegistrarError::Permanent {
            code: status.as_u16(),
            description,
        }
    } else {
        RegistrarError::Temporary {
            code: status.as_u16(),
            description: format!("{description}{}", lost_answer_hint(request)),
        }
    }
}

/// The `return` object (or, without one, the body element itself) of an answer
/// [`check_returned`] accepted, moved out of the envelope: a list page is most of the
/// answer and is not copied.
fn into_returned(envelope: Node) -> Node {
    // `body_element` accepted this envelope, so the body element is there.
    let mut element = into_body_element(envelope).unwrap_or_default();
    element.take_child("return").unwrap_or(element)
}

/// `{op}Response/return` as the WSDL binds it (a server that leaves out the `return`
/// wrapper is read the same way): a 1xxx returnCode is success (a note other than 1000
/// is logged), anything else refused with the error it means.
fn check_returned(
    operation: &str,
    trid: &str,
    status: reqwest::StatusCode,
    element: &Node,
    body: &str,
) -> Result<(), RegistrarError> {
    let ret = element.child("return").unwrap_or(element);
    let code: i64 = ret
        .text_of("returnCode")
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| RegistrarError::Protocol {
            message: format!(
                "{operation}: the answer <{}> has no numeric returnCode (HTTP {status}); body starts with {:?}",
                element.name,
                body_prefix(body)
            ),
        })?;
    if (1000..2000).contains(&code) {
        if code != OK {
            tracing::info!(
                operation,
                client_trid = trid,
                code,
                // Not `message`: the event's own message is written unquoted.
                return_message = ret.text_of("returnMessage").unwrap_or(""),
                "Smart-NIC success with a note"
            );
        }
        return Ok(());
    }
    let message = ret.text_of("returnMessage").unwrap_or("no returnMessage");
    let sub = ret
        .text_of("returnSubCode")
        .filter(|s| *s != "0")
        .map(|s| format!(", sub code {s}"))
        .unwrap_or_default();
    Err(RegistrarError::Permanent {
        code: u16::try_from(code).unwrap_or(u16::MAX),
        description: format!("{operation}: {message} (returnCode {code}{sub}; clientTRID {trid})"),
    })
}

/// HTTP statuses that say "not now" rather than "not so": 5xx, 408, 429.
fn busy_or_broken(status: reqwest::StatusCode) -> bool {
    status.is_server_error()
        || status == reqwest::StatusCode::REQUEST_TIMEOUT
        || status == reqwest::StatusCode::TOO_MANY_REQUESTS
}

/// For writes whose answer is lost: the order may have been carried out.
fn lost_answer_hint(request: &Request) -> &'static str {
    match request.operation.kind {
        Kind::Write => "; the order may have been carried out: look at the domain (domainInfo) before placing it again",
        Kind::Read => "",
    }
}

/// The first bytes of a body, cut on a character boundary.
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
    use crate::operations::{domain_delete, domain_info, handle_info};
    use crate::xml::fault_envelope;
    use domwatch_core::DomainName;

    fn client() -> SmartnicClient {
        let mut config = SmartnicConfig::new("reseller", "pa55-secret");
        config.account = "dbs-live".into();
        SmartnicClient::new(config).unwrap()
    }

    fn answer(status: u16, body: &str) -> Answer {
        Answer {
            status: reqwest::StatusCode::from_u16(status).unwrap(),
            body: body.into(),
        }
    }

    /// The error `request` comes to when the server answers `status` with `body`.
    fn failure(c: &SmartnicClient, request: &Request, status: u16, body: &str) -> RegistrarError {
        c.classify(request, "t", answer(status, body)).unwrap_err()
    }

    fn info() -> Request {
        domain_info(&DomainName::parse("example.de").unwrap())
    }

    fn delete() -> Request {
        domain_delete(
            &DomainName::parse("example.de").unwrap(),
            None,
            "",
            StartDateFormat::default(),
        )
    }

    fn response(op: &str, inner: &str) -> String {
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
             <SOAP-ENV:Envelope xmlns:SOAP-ENV=\"http://schemas.xmlsoap.org/soap/envelope/\" \
             xmlns:ns1=\"http://soap.domain-bestellsystem.de/soap/1.1/\" \
             xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"><SOAP-ENV:Body>\
             <ns1:{op}Response><return xsi:type=\"ns1:X\">{inner}</return></ns1:{op}Response>\
             </SOAP-ENV:Body></SOAP-ENV:Envelope>"
        )
    }

    #[test]
    fn the_password_never_shows() {
        let client = client();
        assert!(!format!("{client:?}").contains("pa55-secret"));
        assert!(!format!("{:?}", client.config()).contains("pa55-secret"));
        // Nor in an auth error.
        let e = client
            .classify(&info(), "t", answer(401, "Unauthorized"))
            .unwrap_err();
        assert!(!e.to_string().contains("pa55-secret"), "{e}");
    }

    #[test]
    fn a_bad_configuration_says_what_to_use() {
        let mut c = SmartnicConfig::new("r", "p");
        c.endpoint = "not a url".into();
        let e = SmartnicClient::new(c).unwrap_err().to_string();
        assert!(e.contains(LIVE_ENDPOINT), "{e}");
        let mut c = SmartnicConfig::new("r", "p");
        c.endpoint = "ftp://soap.example/".into();
        assert!(SmartnicClient::new(c).is_err());
        let e = SmartnicClient::new(SmartnicConfig::new(" ", "p"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("login is empty"), "{e}");
        let mut c = SmartnicConfig::new("r", "p");
        c.max_concurrency = 0;
        assert!(SmartnicClient::new(c).is_err());
    }

    #[test]
    fn transaction_ids_are_unique_and_say_who_sent_them() {
        let a = SmartnicClient::client_trid();
        let b = SmartnicClient::client_trid();
        assert_ne!(a, b);
        assert!(a.starts_with("domwatch-"), "{a}");
    }

    #[test]
    fn return_codes_map_to_error_kinds() {
        let c = client();
        let ok = c
            .classify(
                &info(),
                "t",
                answer(
                    200,
                    &response(
                        "domainInfo",
                        "<returnCode>1000</returnCode><serverTRID>S-1</serverTRID>",
                    ),
                ),
            )
            .unwrap();
        assert_eq!(ok.text_of("serverTRID"), Some("S-1"));
        // 1001 ("pending") is a success too.
        assert!(c
            .classify(
                &delete(),
                "t",
                answer(
                    200,
                    &response("domainDelete", "<returnCode>1001</returnCode>")
                )
            )
            .is_ok());

        let refused = c
            .classify(
                &delete(),
                "T-9",
                answer(
                    200,
                    &response(
                        "domainDelete",
                        "<returnCode>2004</returnCode><returnSubCode>17</returnSubCode><returnMessage>invalid startDate</returnMessage>",
                    ),
                ),
            )
            .unwrap_err();
        assert_eq!(refused.code(), Some(2004));
        assert!(!refused.is_retryable());
        let text = refused.to_string();
        assert!(
            text.contains(
                "domainDelete: invalid startDate (returnCode 2004, sub code 17; clientTRID T-9)"
            ),
            "{text}"
        );

        let unknown = failure(
            &c,
            &info(),
            200,
            &response("domainInfo", "<returnCode>2000</returnCode>"),
        );
        assert!(matches!(
            unknown,
            RegistrarError::Permanent { code: 2000, .. }
        ));
    }

    #[test]
    fn http_trouble_maps_to_error_kinds() {
        let c = client();
        let auth = failure(&c, &info(), 403, "");
        assert!(
            matches!(&auth, RegistrarError::Auth { account, .. } if account == "dbs-live"),
            "{auth:?}"
        );
        assert!(auth.to_string().contains("login `reseller`"));

        let down = failure(&c, &info(), 502, "<html>Bad Gateway</html>");
        assert!(
            matches!(down, RegistrarError::Temporary { code: 502, .. }),
            "{down:?}"
        );

        let busy = failure(&c, &info(), 429, "slow down");
        assert!(busy.is_retryable(), "{busy:?}");

        let wrong_url = c
            .classify(
                &info(),
                "t",
                answer(404, "<html><body>Not Found</body></html>"),
            )
            .unwrap_err();
        assert!(
            matches!(wrong_url, RegistrarError::Protocol { .. }),
            "{wrong_url:?}"
        );
        assert!(wrong_url.to_string().contains("Not Found"));

        let garbage = failure(&c, &info(), 200, "{\"json\": true}");
        assert!(
            matches!(garbage, RegistrarError::Protocol { .. }),
            "{garbage:?}"
        );

        let no_code = c
            .classify(
                &info(),
                "t",
                answer(200, &response("domainInfo", "<domainsList/>")),
            )
            .unwrap_err();
        assert!(
            no_code.to_string().contains("no numeric returnCode"),
            "{no_code}"
        );
    }

    #[test]
    fn a_cut_off_answer_is_temporary_and_warns_for_writes() {
        let c = client();
        let full = response("domainDelete", "<returnCode>1000</returnCode>");
        let half = &full[..full.len() / 2];
        let read = failure(&c, &info(), 200, half);
        assert!(read.is_retryable(), "{read:?}");
        let write = failure(&c, &delete(), 200, half);
        assert!(
            write.to_string().contains("may have been carried out"),
            "{write}"
        );
    }

    #[test]
    fn an_envelope_cut_anywhere_is_never_an_answer() {
        let c = client();
        let full = response(
            "domainListExtended",
            "<domainInfo><item><key>domainName</key><value>a.de</value></item></domainInfo>\
             <returnCode>1000</returnCode>",
        );
        let close = full.rfind("</SOAP-ENV:Envelope>").unwrap();
        // Every cut: mid-markup, between elements, right before the closing Envelope, and
        // an empty body.
        for cut in [0, 1, full.len() / 3, full.len() / 2, close, close + 5] {
            let e = failure(&c, &info(), 200, &full[..cut]);
            assert!(e.is_retryable(), "cut at {cut}: {e:?}");
            assert!(e.to_string().contains("cut off"), "cut at {cut}: {e}");
        }
        assert!(c.classify(&info(), "t", answer(200, &full)).is_ok());
    }

    #[test]
    fn faults_blame_the_request_or_the_server() {
        let c = client();
        let not_present = fault_envelope("Client", "Procedure 'handleInfo' not present");
        let client_fault = failure(&c, &handle_info("X"), 500, &not_present);
        assert!(matches!(
            client_fault,
            RegistrarError::Permanent { code: 500, .. }
        ));
        assert!(client_fault.to_string().contains("not present"));
        let server_fault = failure(&c, &info(), 500, &fault_envelope("Server", "database gone"));
        assert!(server_fault.is_retryable(), "{server_fault:?}");
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        let mut config = SmartnicConfig::new("r", "p");
        config.retry_base_delay = Duration::from_millis(100);
        let c = SmartnicClient::new(config).unwrap();
        let backoff = |attempt| domwatch_retry::pause(&c.retry_policy(), attempt);
        let first = backoff(1);
        assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(100));
        let third = backoff(3);
        assert!(third >= Duration::from_millis(200) && third <= Duration::from_millis(400));
        assert!(backoff(40) <= RetryPolicy::MAX_DELAY);
    }
}
