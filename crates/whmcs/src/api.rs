//! The WHMCS External API transport: `POST <base>/includes/api.php`, form-encoded, always
//! `responsetype=json`. Errors come back as `result=error` with HTTP 200, so the body
//! decides, not the status. Read actions are retried with backoff; writes never are,
//! because a write that timed out may still have happened.

use crate::error::WhmcsError;
use crate::json::{self, Object};
use crate::secret::Secret;
use domwatch_retry::failure::{connect_cause, error_chain};
use domwatch_retry::{Outcome, RetryPolicy};
use futures::StreamExt;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use url::Url;

/// How to reach one WHMCS installation.
#[derive(Debug, Clone)]
pub struct WhmcsConfig {
    /// The WHMCS root (`https://billing.example.com/`) or the full `…/includes/api.php` URL.
    pub base_url: Url,
    /// API credential identifier (or the admin username for legacy logins).
    pub identifier: String,
    pub secret: Secret,
    /// `$api_access_key` from configuration.php, to bypass the IP allow-list.
    pub access_key: Option<Secret>,
    pub connect_timeout: Duration,
    /// Whole request, including reading the answer.
    pub request_timeout: Duration,
    /// Extra attempts for read actions after a timeout, network error or HTTP 5xx/429.
    pub read_retries: u32,
    /// Longest first retry delay; doubles per attempt, with jitter (a random delay in
    /// [d/2, d]), capped at 30 s.
    pub retry_backoff: Duration,
    /// `limitnum` for list actions. WHMCS pages with SQL `LIMIT offset, n`, so every page
    /// costs the server a scan up to its offset: a few large pages are far cheaper than many
    /// small ones (WHMCS sets no upper limit).
    pub page_size: u32,
    /// Pages of one list action requested at the same time, after the first page has told
    /// how many there are.
    pub list_concurrency: usize,
    /// Parallel GetClientsDetails calls when resolving client currencies.
    pub client_lookup_concurrency: usize,
}

impl WhmcsConfig {
    /// Defaults: 10 s connect, 60 s total, 3 read retries from 500 ms, pages of 5000 with up
    /// to 4 in flight.
    pub fn new(
        base_url: &str,
        identifier: impl Into<String>,
        secret: impl Into<Secret>,
    ) -> Result<Self, WhmcsError> {
        let base_url = Url::parse(base_url).map_err(|e| {
            WhmcsError::Config(format!(
                "`{base_url}` is not a URL ({e}); give the WHMCS root, e.g. https://billing.example.com/"
            ))
        })?;
        if !matches!(base_url.scheme(), "http" | "https") {
            return Err(WhmcsError::Config(format!(
                "`{base_url}` must start with https:// (or http:// for a local sandbox)"
            )));
        }
        let identifier = identifier.into();
        let secret = secret.into();
        if identifier.trim().is_empty() || secret.is_empty() {
            return Err(WhmcsError::Config(
                "the API identifier and secret must not be empty; create them under Setup > \
                 Staff Management > Manage API Credentials"
                    .into(),
            ));
        }
        Ok(Self {
            base_url,
            identifier,
            secret,
            access_key: None,
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(60),
            read_retries: 3,
            retry_backoff: Duration::from_millis(500),
            page_size: 5000,
            list_concurrency: 4,
            client_lookup_concurrency: 8,
        })
    }

    /// The `…/includes/api.php` endpoint.
    pub fn endpoint(&self) -> Url {
        if self.base_url.path().ends_with("api.php") {
            return self.base_url.clone();
        }
        let mut root = self.base_url.clone();
        if !root.path().ends_with('/') {
            let path = format!("{}/", root.path());
            root.set_path(&path);
        }
        root.join("includes/api.php").expect("relative path joins")
    }
}

/// Whether an action only reads (safe to retry) or changes something (never retried).
pub use domwatch_retry::Access as ActionKind;

/// Form parameters of one call.
pub type Params = Vec<(String, String)>;

/// Client for the WHMCS External API.
#[derive(Debug, Clone)]
pub struct WhmcsClient {
    config: WhmcsConfig,
    endpoint: Url,
    http: reqwest::Client,
    /// Invoices read by earlier invoice walks, shared by clones of this client.
    invoice_lines: crate::invoice_walk::InvoiceLineCache,
}

const BODY_PREVIEW_CHARS: usize = 120;

fn preview(body: &[u8]) -> String {
    String::from_utf8_lossy(body)
        .chars()
        .take(BODY_PREVIEW_CHARS)
        .collect()
}

impl WhmcsClient {
    pub fn new(config: WhmcsConfig) -> Result<Self, WhmcsError> {
        let http = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .timeout(config.request_timeout)
            .user_agent(concat!("domwatch/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| WhmcsError::Config(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self {
            endpoint: config.endpoint(),
            config,
            http,
            invoice_lines: Default::default(),
        })
    }

    pub fn config(&self) -> &WhmcsConfig {
        &self.config
    }

    /// The invoices earlier invoice walks read, kept while their list entries match.
    pub fn invoice_lines(&self) -> &crate::invoice_walk::InvoiceLineCache {
        &self.invoice_lines
    }

    /// Calls `action` and returns the success object. Reads are retried on transient
    /// failures; writes are sent exactly once.
    pub async fn call(
        &self,
        action: &str,
        kind: ActionKind,
        params: &[(String, String)],
    ) -> Result<Object, WhmcsError> {
        self.call_decoded(action, kind, params, parse_response)
            .await
    }

    /// [`Self::call`] with the answer turned into `T` by `decode` (HTTP status, body),
    /// which also decides what is an error; retried like `call`.
    pub(crate) async fn call_decoded<T>(
        &self,
        action: &str,
        kind: ActionKind,
        params: &[(String, String)],
        decode: impl Fn(&str, u16, &[u8]) -> Result<T, WhmcsError>,
    ) -> Result<T, WhmcsError> {
        let policy = RetryPolicy::new(self.config.read_retries, self.config.retry_backoff);
        let attempt = |_| async {
            let (status, body) = self.call_once(action, params).await?;
            decode(action, status, &body)
        };
        // A transient failure may hide a write that happened: only reads are repeated.
        let judge = |answer: &Result<T, WhmcsError>| match answer {
            Ok(_) => Outcome::Done,
            Err(err) if err.is_transient() => Outcome::MayHaveRun,
            Err(_) => Outcome::Final,
        };
        let log = |answer: &Result<T, WhmcsError>, attempt: u32, delay: Duration| {
            if let Err(error) = answer {
                tracing::warn!(action, attempt, ?delay, %error, "WHMCS read failed, retrying");
            }
        };
        domwatch_retry::run(&policy, kind, attempt, judge, log)
            .await
            .0
    }

    /// One request: the HTTP status and the body.
    async fn call_once(
        &self,
        action: &str,
        params: &[(String, String)],
    ) -> Result<(u16, bytes::Bytes), WhmcsError> {
        let mut form: Vec<(&str, &str)> = vec![
            ("action", action),
            ("identifier", &self.config.identifier),
            ("secret", self.config.secret.expose()),
            ("responsetype", "json"),
        ];
        if let Some(key) = &self.config.access_key {
            form.push(("accesskey", key.expose()));
        }
        form.extend(params.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        tracing::debug!(action, params = params.len(), "WHMCS API call");

        let response = self
            .http
            .post(self.endpoint.clone())
            .form(&form)
            .send()
            .await
            .map_err(|e| self.transport_error(action, e))?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|e| self.transport_error(action, e))?;
        Ok((status.as_u16(), body))
    }

    fn transport_error(&self, action: &str, e: reqwest::Error) -> WhmcsError {
        if e.is_timeout() {
            WhmcsError::Timeout {
                action: action.to_string(),
                after: self.config.request_timeout,
            }
        } else if e.is_connect() {
            // Say what happened, not only reqwest's "error sending request".
            WhmcsError::Transport {
                action: action.to_string(),
                detail: format!(
                    "cannot connect to {}: {} (is WHMCS running, and reachable from this host?)",
                    self.endpoint,
                    connect_cause(&e)
                ),
            }
        } else {
            // reqwest's Display never contains the form body, so no secret leaks here.
            WhmcsError::Transport {
                action: action.to_string(),
                detail: error_chain(&e),
            }
        }
    }

    /// Calls a list action page by page until `totalresults` entries arrived. The offset
    /// advances by the number of entries actually returned: WHMCS 7.8's GetInvoices
    /// reports `numreturned` = `totalresults`, so that field is never trusted.
    pub async fn fetch_all_pages(
        &self,
        action: &str,
        params: &[(String, String)],
        outer: &str,
        inner: &str,
    ) -> Result<Vec<Object>, WhmcsError> {
        self.fetch_all_pages_parsed(action, params, outer, inner, |o| Ok(o.clone()))
            .await
    }

    /// Like [`Self::fetch_all_pages`], but turns each entry into `T` as its page arrives,
    /// so a 100 000-domain listing never holds every page's JSON at once.
    ///
    /// The first page tells the total and how many entries the server really returns per
    /// page (WHMCS 7.8's GetInvoices ignores `limitnum`); the remaining pages are then
    /// requested up to [`WhmcsConfig::list_concurrency`] at a time, each fetched and parsed
    /// on its own task, and appended in order. A page that comes back shorter than planned
    /// before the end means rows were deleted while reading (offsets shifted, rows would be
    /// skipped): that is an error, the next run reads a consistent list. Rows added while
    /// reading (a higher `totalresults` on the last page) are read sequentially afterwards.
    pub async fn fetch_all_pages_parsed<T, P>(
        &self,
        action: &str,
        params: &[(String, String)],
        outer: &str,
        inner: &str,
        parse: P,
    ) -> Result<Vec<T>, WhmcsError>
    where
        T: Send + 'static,
        P: Fn(&Object) -> Result<T, WhmcsError> + Send + Sync + 'static,
    {
        let parse = Arc::new(parse);
        let (action_owned, params) = (action.to_string(), params.to_vec());
        let (outer, inner) = (outer.to_string(), inner.to_string());
        self.fetch_all_pages_with(action, move |client: WhmcsClient, offset| {
            let (action, params) = (action_owned.clone(), params.clone());
            let (outer, inner, parse) = (outer.clone(), inner.clone(), parse.clone());
            async move {
                client
                    .fetch_page(&action, &params, &outer, &inner, offset, parse)
                    .await
            }
        })
        .await
    }

    /// The paging of [`Self::fetch_all_pages_parsed`] with any page reader: `fetch` gets a
    /// client and an offset and returns that page's entries and `totalresults`.
    pub(crate) async fn fetch_all_pages_with<T, F, Fut>(
        &self,
        action: &str,
        fetch: F,
    ) -> Result<Vec<T>, WhmcsError>
    where
        T: Send + 'static,
        F: Fn(WhmcsClient, u64) -> Fut,
        Fut: std::future::Future<Output = Result<ParsedPage<T>, WhmcsError>> + Send + 'static,
    {
        let first = fetch(self.clone(), 0).await?;
        check_page(action, 0, &first)?;
        let step = first.items.len() as u64;
        let mut all = first.items;
        let mut total = first.total;
        let mut start = step;
        if let Some(t) = total {
            all.reserve_exact(t.saturating_sub(start) as usize);
        }
        match total {
            Some(t) if start < t && step == 0 => return Err(empty_page(action, start, t)),
            Some(t) if start < t => {
                let planned: Vec<u64> = (start..t).step_by(step as usize).collect();
                let mut pages = futures::stream::iter(planned)
                    .map(|offset| tokio::spawn(fetch(self.clone(), offset)))
                    .buffered(self.config.list_concurrency.max(1));
                while let Some(joined) = pages.next().await {
                    let page = joined.map_err(|e| WhmcsError::Transport {
                        action: action.to_string(),
                        detail: format!("page task failed: {e}"),
                    })??;
                    check_page(action, start, &page)?;
                    let expected = step.min(t - start);
                    let returned = page.items.len() as u64;
                    if returned < expected {
                        if returned == 0 {
                            return Err(empty_page(action, start, t));
                        }
                        return Err(WhmcsError::Protocol {
                            action: action.to_string(),
                            detail: format!(
                                "the page at offset {start} had {returned} entries instead of \
                                 {expected}: entries were deleted while reading, run again"
                            ),
                            body_start: String::new(),
                        });
                    }
                    all.extend(page.items);
                    start += returned;
                    total = page.total.or(total);
                }
            }
            // Without a total, a full page may have a successor.
            None if step >= u64::from(self.config.page_size) && step > 0 => {}
            _ => {
                check_walk(action, all.len() as u64, total)?;
                return Ok(all);
            }
        }
        // Entries added while reading, or a server that does not say how many there are:
        // one page at a time until the total (or a short page) is reached.
        loop {
            match total {
                Some(t) if start >= t => break,
                _ => {}
            }
            let page = fetch(self.clone(), start).await?;
            check_page(action, start, &page)?;
            let returned = page.items.len() as u64;
            all.extend(page.items);
            start += returned;
            total = page.total;
            match total {
                Some(t) if start < t && returned == 0 => return Err(empty_page(action, start, t)),
                None if returned < u64::from(self.config.page_size) => break,
                _ => {}
            }
        }
        check_walk(action, all.len() as u64, total)?;
        Ok(all)
    }

    /// One page of a list action, its entries parsed.
    async fn fetch_page<T>(
        &self,
        action: &str,
        params: &[(String, String)],
        outer: &str,
        inner: &str,
        offset: u64,
        parse: Arc<impl Fn(&Object) -> Result<T, WhmcsError>>,
    ) -> Result<ParsedPage<T>, WhmcsError> {
        let mut page_params = params.to_vec();
        page_params.push(("limitstart".into(), offset.to_string()));
        page_params.push(("limitnum".into(), self.config.page_size.to_string()));
        let page = self.call(action, ActionKind::Read, &page_params).await?;
        let total = json::u64_opt(&page, "totalresults")
            .map_err(|detail| protocol(action, detail, &page))?;
        let returned = json::u64_opt(&page, "numreturned")
            .map_err(|detail| protocol(action, detail, &page))?;
        let items = json::nested_list_ref(&page, outer, inner)
            .map_err(|detail| protocol(action, detail, &page))?
            .into_iter()
            .map(|item| parse(item))
            .collect::<Result<Vec<T>, WhmcsError>>()?;
        Ok(ParsedPage {
            items,
            total,
            returned,
        })
    }
}

/// One page of a list action.
#[derive(Debug)]
pub(crate) struct ParsedPage<T> {
    pub(crate) items: Vec<T>,
    /// `totalresults`, when the server sent it.
    pub(crate) total: Option<u64>,
    /// `numreturned`, when the server sent it: the entries this page says it holds.
    pub(crate) returned: Option<u64>,
}

/// A page must hold the entries its `numreturned` declares. WHMCS 7.8's GetInvoices
/// reports `totalresults` there (see [`WhmcsClient::fetch_all_pages`]); that value is
/// left to the walk's check against `totalresults`.
pub(crate) fn check_page<T>(
    action: &str,
    offset: u64,
    page: &ParsedPage<T>,
) -> Result<(), WhmcsError> {
    let received = page.items.len() as u64;
    match page.returned {
        Some(declared) if declared > received && Some(declared) != page.total => {
            Err(WhmcsError::Incomplete {
                action: action.to_string(),
                received,
                declared,
                what: format!("the page at offset {offset} declares numreturned {declared}"),
            })
        }
        _ => Ok(()),
    }
}

/// A walk must end with every entry `totalresults` declared.
fn check_walk(action: &str, received: u64, total: Option<u64>) -> Result<(), WhmcsError> {
    match total {
        Some(declared) if received < declared => Err(WhmcsError::Incomplete {
            action: action.to_string(),
            received,
            declared,
            what: format!("totalresults is {declared}"),
        }),
        _ => Ok(()),
    }
}

fn empty_page(action: &str, start: u64, total: u64) -> WhmcsError {
    WhmcsError::Protocol {
        action: action.to_string(),
        detail: format!(
            "page at offset {start} was empty although totalresults is {total}; \
             the list changed while reading, run again"
        ),
        body_start: String::new(),
    }
}

pub(crate) fn protocol(action: &str, detail: String, answer: &Object) -> WhmcsError {
    let text = Value::Object(answer.clone()).to_string();
    WhmcsError::Protocol {
        action: action.to_string(),
        detail,
        body_start: preview(text.as_bytes()),
    }
}

/// Turns a raw answer into the success object or a typed error.
pub(crate) fn parse_response(action: &str, status: u16, body: &[u8]) -> Result<Object, WhmcsError> {
    let parsed: Result<Value, _> = serde_json::from_slice(body);
    if let Err(e) = &parsed {
        if e.is_eof() && body.trim_ascii_start().starts_with(b"{") {
            // JSON that opens but never closes: the body was cut, whatever the status.
            return Err(WhmcsError::Truncated {
                action: action.to_string(),
                received_bytes: body.len(),
                body_start: preview(body),
            });
        }
    }
    if status == 403 {
        // WHMCS's answer to a foreign IP or an action the API role lacks.
        let message = match &parsed {
            Ok(Value::Object(o)) => json::text(o, "message"),
            _ => None,
        };
        return Err(WhmcsError::Permission {
            action: action.to_string(),
            message: message.unwrap_or_else(|| format!("HTTP 403 ({})", preview(body))),
        });
    }
    let object = match parsed {
        Ok(Value::Object(o)) => o,
        Ok(other) if (200..300).contains(&status) => {
            return Err(WhmcsError::Protocol {
                action: action.to_string(),
                detail: format!("expected a JSON object, got {}", json::kind(&other)),
                body_start: preview(body),
            })
        }
        Err(_) if (200..300).contains(&status) => {
            let detail = if body.trim_ascii_start().starts_with(b"<") {
                "HTML/XML instead of JSON".to_string()
            } else if body.is_empty() {
                "an empty body".to_string()
            } else {
                "not JSON".to_string()
            };
            return Err(WhmcsError::Protocol {
                action: action.to_string(),
                detail,
                body_start: preview(body),
            });
        }
        _ => {
            return Err(WhmcsError::Http {
                action: action.to_string(),
                status,
                body_start: preview(body),
            })
        }
    };
    // GetRegistrars says `status` instead of `result`.
    let result = json::text(&object, "result").or_else(|| json::text(&object, "status"));
    match result.as_deref() {
        Some("success") if (200..300).contains(&status) => Ok(object),
        Some("error") => Err(WhmcsError::from_api_message(
            action,
            json::text(&object, "message").unwrap_or_else(|| "no message given".into()),
            json::text(&object, "error").filter(|e| !e.is_empty()),
        )),
        Some("success") => Err(WhmcsError::Http {
            action: action.to_string(),
            status,
            body_start: preview(body),
        }),
        _ => Err(WhmcsError::Protocol {
            action: action.to_string(),
            detail: "no `result` field".into(),
            body_start: preview(body),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_from_root_or_full_url() {
        let c = WhmcsConfig::new("https://billing.example.com/whmcs", "id", "s").unwrap();
        assert_eq!(
            c.endpoint().as_str(),
            "https://billing.example.com/whmcs/includes/api.php"
        );
        let c = WhmcsConfig::new("https://b.example.com/includes/api.php", "id", "s").unwrap();
        assert_eq!(
            c.endpoint().as_str(),
            "https://b.example.com/includes/api.php"
        );
        assert!(WhmcsConfig::new("ftp://x", "id", "s").is_err());
        assert!(WhmcsConfig::new("https://x", "id", "").is_err());
    }

    #[test]
    fn config_debug_hides_secrets() {
        let mut c = WhmcsConfig::new("https://b.example.com/", "id", "topsecret").unwrap();
        c.access_key = Some(Secret::new("accesskey123"));
        let shown = format!("{c:?}");
        assert!(
            !shown.contains("topsecret") && !shown.contains("accesskey123"),
            "{shown}"
        );
    }

    #[test]
    fn errors_on_http_200_are_errors() {
        let err = parse_response(
            "GetClientsDomains",
            200,
            br#"{"result":"error","message":"Authentication Failed"}"#,
        )
        .unwrap_err();
        assert!(matches!(err, WhmcsError::Auth { .. }));
    }

    #[test]
    fn http_403_is_a_permission_error_naming_the_fix() {
        let ip = parse_response(
            "GetClients",
            403,
            br#"{"result":"error","message":"Invalid IP 1.2.3.4"}"#,
        )
        .unwrap_err();
        assert!(matches!(ip, WhmcsError::Permission { .. }), "{ip:?}");
        let text = ip.to_string();
        assert!(text.contains("Invalid IP 1.2.3.4"), "{text}");
        assert!(text.contains("API IP Access Restriction"), "{text}");
        let role = parse_response(
            "GetClients",
            403,
            br#"{"result":"error","message":"Invalid Permissions: API action \"getclients\" is not allowed"}"#,
        )
        .unwrap_err();
        assert!(role.to_string().contains("API Roles"), "{role}");
        let page = parse_response("GetClients", 403, b"<html>Forbidden</html>").unwrap_err();
        assert!(matches!(page, WhmcsError::Permission { .. }), "{page:?}");
        assert!(page.to_string().contains("HTTP 403"), "{page}");
        assert!(!page.is_transient());
    }

    #[test]
    fn garbage_is_a_protocol_error_with_the_first_bytes() {
        let err = parse_response(
            "GetCurrencies",
            200,
            b"<html><body>Down for maintenance</body></html>",
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, WhmcsError::Protocol { .. }));
        assert!(
            text.contains("Down for maintenance") && text.contains("HTML"),
            "{text}"
        );
        let err = parse_response("GetCurrencies", 502, b"Bad Gateway").unwrap_err();
        assert!(matches!(err, WhmcsError::Http { status: 502, .. }));
        assert!(err.is_transient());
        let err = parse_response("GetCurrencies", 200, br#"{"foo":1}"#).unwrap_err();
        assert!(err.to_string().contains("no `result` field"));
    }

    #[test]
    fn json_that_never_closes_is_cut_off_not_garbage() {
        let whole =
            br#"{"result":"success","totalresults":2,"invoices":{"invoice":[{"id":1},{"id":2}]}}"#;
        for status in [200, 500] {
            let err = parse_response("GetInvoices", status, &whole[..whole.len() / 2]).unwrap_err();
            assert!(
                matches!(err, WhmcsError::Truncated { ref action, received_bytes, .. }
                    if action == "GetInvoices" && received_bytes == whole.len() / 2),
                "{err:?}"
            );
            assert!(err.is_transient());
            assert!(
                err.to_string().contains("GetInvoices` answer was cut off"),
                "{err}"
            );
        }
    }

    #[test]
    fn a_page_short_of_numreturned_or_a_walk_short_of_total_is_incomplete() {
        let page = |items: usize, returned: Option<u64>, total: Option<u64>| ParsedPage {
            items: vec![(); items],
            total,
            returned,
        };
        assert!(check_page("GetTickets", 0, &page(2, Some(2), Some(9))).is_ok());
        let err = check_page("GetTickets", 25, &page(1, Some(2), Some(9))).unwrap_err();
        assert!(matches!(
            err,
            WhmcsError::Incomplete {
                received: 1,
                declared: 2,
                ..
            }
        ));
        assert!(
            err.to_string().contains("offset 25 declares numreturned 2"),
            "{err}"
        );
        // WHMCS 7.8's GetInvoices puts totalresults into numreturned: left to the walk.
        assert!(check_page("GetInvoices", 0, &page(25, Some(40), Some(40))).is_ok());
        assert!(check_walk("GetInvoices", 40, Some(40)).is_ok());
        let err = check_walk("GetInvoices", 25, Some(40)).unwrap_err();
        assert!(
            err.to_string()
                .contains("answered 25 of 40 entries (totalresults is 40)"),
            "{err}"
        );
    }

    #[test]
    fn getregistrars_status_key() {
        let ok = parse_response(
            "GetRegistrars",
            200,
            br#"{"status":"success","registrars":[]}"#,
        );
        assert!(ok.is_ok());
    }
}
