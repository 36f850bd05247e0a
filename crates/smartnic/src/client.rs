//! The transport: HTTP Basic auth, one SOAP call per request, a fresh `clientTRID` on
//! every call, `returnCode` 1000 = success, retries (reads only) on transport trouble.

use crate::xml::{body_element, envelope, parse, Node, Value, NAMESPACE};
use domwatch_core::ports::RegistrarError;
use rand::Rng;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// The live endpoint. Smart-NIC has no public OT&E system; point `endpoint` at the sandbox
/// (`domwatch sandbox registrar --dialect smartnic`) for tests.
pub const LIVE_ENDPOINT: &str = "https://soap.domain-bestellsystem.de/soap.php";

/// `returnCode` of a successful call.
pub const OK: i64 = 1000;

#[derive(Clone)]
pub struct SmartnicConfig {
    pub endpoint: String,
    pub login: String,
    password: String,
    /// Act for a sub-reseller (`forReseller`).
    pub for_reseller: Option<String>,
    /// Per request.
    pub timeout: Duration,
    /// Retries of read operations after transport errors or HTTP 5xx.
    pub max_retries: u32,
    pub retry_base_delay: Duration,
    pub max_concurrency: usize,
    /// Rows per `domainListExtended` page.
    pub page_size: u32,
    /// Default `notify` address for writes that carry one.
    pub notify_email: Option<String>,
    /// Names the account in errors.
    pub account: String,
}

impl SmartnicConfig {
    pub fn new(login: impl Into<String>, password: impl Into<String>) -> Self {
        let login = login.into();
        SmartnicConfig {
            endpoint: LIVE_ENDPOINT.into(),
            account: login.clone(),
            login,
            password: password.into(),
            for_reseller: None,
            timeout: Duration::from_secs(60),
            max_retries: 3,
            retry_base_delay: Duration::from_millis(500),
            max_concurrency: 4,
            page_size: 1000,
            notify_email: None,
        }
    }
}

impl fmt::Debug for SmartnicConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmartnicConfig")
            .field("endpoint", &self.endpoint)
            .field("login", &self.login)
            .field("password", &"***")
            .field("for_reseller", &self.for_reseller)
            .field("timeout", &self.timeout)
            .field("page_size", &self.page_size)
            .finish()
    }
}

/// Whether an operation changes something (never retried blindly).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Read,
    Write,
}

/// A Smart-NIC SOAP client for one reseller account.
#[derive(Clone)]
pub struct SmartnicClient {
    pub(crate) config: SmartnicConfig,
    http: reqwest::Client,
    permits: Arc<Semaphore>,
}

impl fmt::Debug for SmartnicClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmartnicClient")
            .field("config", &self.config)
            .finish()
    }
}

impl SmartnicClient {
    pub fn new(config: SmartnicConfig) -> Result<Self, RegistrarError> {
        url::Url::parse(&config.endpoint).map_err(|e| RegistrarError::Protocol {
            message: format!(
                "the Smart-NIC endpoint `{}` is not a URL ({e}): use {LIVE_ENDPOINT}",
                config.endpoint
            ),
        })?;
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .user_agent(concat!("domwatch/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| RegistrarError::Protocol {
                message: format!("cannot build the HTTP client: {e}"),
            })?;
        Ok(SmartnicClient {
            permits: Arc::new(Semaphore::new(config.max_concurrency.max(1))),
            config,
            http,
        })
    }

    pub fn config(&self) -> &SmartnicConfig {
        &self.config
    }

    /// A transaction id unique per call, to find it in Smart-NIC's logs.
    fn client_trid() -> String {
        let millis = chrono::Utc::now().timestamp_millis();
        let random: u32 = rand::thread_rng().gen();
        format!("domwatch-{millis}-{random:08x}")
    }

    /// Calls `operation` with `fields` (plus `clientTRID` and `forReseller`) and returns the
    /// `return` object of a successful answer.
    pub async fn call(
        &self,
        operation: &str,
        kind: Kind,
        fields: Vec<(&str, Value)>,
    ) -> Result<Node, RegistrarError> {
        let trid = Self::client_trid();
        let mut fields = fields;
        fields.push(("clientTRID", Value::Text(trid.clone())));
        if let Some(reseller) = &self.config.for_reseller {
            fields.push(("forReseller", Value::Text(reseller.clone())));
        }
        let body = envelope(operation, &fields);
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| RegistrarError::Protocol {
                message: "the client is shutting down".into(),
            })?;
        let attempts = match kind {
            Kind::Read => self.config.max_retries + 1,
            Kind::Write => 1,
        };
        let mut last = None;
        for attempt in 0..attempts {
            if attempt > 0 {
                let jitter = rand::thread_rng()
                    .gen_range(0..=self.config.retry_base_delay.as_millis() as u64 / 2 + 1);
                let delay = self.config.retry_base_delay * 2u32.pow(attempt - 1)
                    + Duration::from_millis(jitter);
                tracing::debug!(operation, attempt, ?delay, "retrying Smart-NIC call");
                tokio::time::sleep(delay).await;
            }
            match self.send_once(operation, &trid, &body).await {
                Ok(node) => return Ok(node),
                Err(e) if e.is_retryable() => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.expect("at least one attempt"))
    }

    async fn send_once(
        &self,
        operation: &str,
        trid: &str,
        body: &str,
    ) -> Result<Node, RegistrarError> {
        let started = std::time::Instant::now();
        let response = self
            .http
            .post(&self.config.endpoint)
            .basic_auth(&self.config.login, Some(&self.config.password))
            .header("Content-Type", "text/xml; charset=utf-8")
            .header("SOAPAction", format!("\"{NAMESPACE}#{operation}\""))
            .body(body.to_string())
            .send()
            .await
            .map_err(|e| self.transport_error(operation, e))?;
        let status = response.status();
        let text = response
            .text()
            .await
            .map_err(|e| self.transport_error(operation, e))?;
        tracing::debug!(
            operation,
            client_trid = trid,
            status = status.as_u16(),
            ms = started.elapsed().as_millis() as u64,
            "Smart-NIC call"
        );
        if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
            return Err(RegistrarError::Auth {
                account: self.config.account.clone(),
                detail: format!("HTTP {status} from {}", self.config.endpoint),
            });
        }
        // A SOAP fault comes with HTTP 500 and a body; anything else 5xx is the server's trouble.
        let parsed = parse(&text);
        let is_soap_fault = parsed
            .as_ref()
            .ok()
            .and_then(|t| body_element(t).ok())
            .is_some_and(|e| e.name == "Fault");
        if status.is_server_error() && !is_soap_fault {
            return Err(RegistrarError::Temporary {
                code: status.as_u16(),
                description: format!(
                    "HTTP {status} from the Smart-NIC endpoint during {operation}"
                ),
            });
        }
        let tree = parsed.map_err(|e| {
            if e.contains("truncated") {
                // Cut off in transit: asking again (reads only) is the cure.
                RegistrarError::Temporary {
                    code: 0,
                    description: format!("{operation}: the answer was cut off ({e})"),
                }
            } else {
                RegistrarError::Protocol {
                    message: format!("{operation}: {e}"),
                }
            }
        })?;
        let element = body_element(&tree).map_err(|e| RegistrarError::Protocol {
            message: format!("{operation}: {e}"),
        })?;
        if element.name == "Fault" {
            let code = element.text_of("faultcode").unwrap_or("Server");
            let message = element.text_of("faultstring").unwrap_or("no faultstring");
            return Err(RegistrarError::Permanent {
                code: 2400,
                description: format!("SOAP fault in {operation}: {code}: {message}"),
            });
        }
        let ret = element
            .child("return")
            .ok_or_else(|| RegistrarError::Protocol {
                message: format!("{operation}: the answer has no `return` object"),
            })?;
        let code: i64 = ret
            .text_of("returnCode")
            .and_then(|c| c.parse().ok())
            .ok_or_else(|| RegistrarError::Protocol {
                message: format!("{operation}: the answer has no numeric returnCode"),
            })?;
        if code == OK {
            return Ok(ret.clone());
        }
        let message = ret.text_of("returnMessage").unwrap_or("no message");
        let sub = ret
            .text_of("returnSubCode")
            .map(|s| format!(" (sub code {s})"))
            .unwrap_or_default();
        let description = format!("{operation}: {message}{sub}; clientTRID {trid}");
        Err(if (1000..2000).contains(&code) || code >= 2500 {
            RegistrarError::Temporary {
                code: code.clamp(0, u16::MAX as i64) as u16,
                description,
            }
        } else {
            RegistrarError::Permanent {
                code: code.clamp(0, u16::MAX as i64) as u16,
                description,
            }
        })
    }

    fn transport_error(&self, operation: &str, e: reqwest::Error) -> RegistrarError {
        if e.is_timeout() {
            RegistrarError::Timeout {
                what: operation.to_string(),
                seconds: self.config.timeout.as_secs(),
            }
        } else {
            RegistrarError::Temporary {
                code: 0,
                description: format!(
                    "{operation}: cannot reach {} ({})",
                    self.config.endpoint,
                    e.without_url()
                ),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_never_shows() {
        let client = SmartnicClient::new(SmartnicConfig::new("reseller", "pa55-secret")).unwrap();
        assert!(!format!("{client:?}").contains("pa55-secret"));
    }

    #[test]
    fn a_bad_endpoint_says_which_to_use() {
        let mut c = SmartnicConfig::new("r", "p");
        c.endpoint = "not a url".into();
        let e = SmartnicClient::new(c).unwrap_err().to_string();
        assert!(e.contains(LIVE_ENDPOINT), "{e}");
    }

    #[test]
    fn transaction_ids_are_unique() {
        assert_ne!(SmartnicClient::client_trid(), SmartnicClient::client_trid());
    }
}
