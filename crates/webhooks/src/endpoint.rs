//! One configured webhook endpoint, validated.

use domwatch_core::webhook::EventKind;
use sha2::{Digest, Sha256};
use std::fmt;
use url::Url;

/// What the body looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `{"event", "id", "occurred_at", "case", "text"}`.
    Json,
    /// `{"text": "..."}`: what Slack, Mattermost and Microsoft Teams incoming webhooks accept.
    Text,
}

impl Format {
    pub fn parse(s: &str) -> Option<Format> {
        match s {
            "json" => Some(Format::Json),
            "text" => Some(Format::Text),
            _ => None,
        }
    }
}

/// Why an endpoint's settings were refused; the message says what to write instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndpointError {
    #[error("`{0}` is not a URL: write e.g. https://hooks.example.com/domwatch")]
    NotAUrl(String),
    #[error("the URL must start with https:// (http:// only for a receiver on this machine: localhost, 127.0.0.1, [::1])")]
    NotHttps,
    #[error("`{0}` is not an event: use case.opened, case.reopened, case.resolved, fix.applied or action.automatic")]
    UnknownEvent(String),
    #[error("`events` is empty: leave it out for every event, or list some")]
    NoEvents,
    #[error("`{0}` is not a format: use json or text")]
    UnknownFormat(String),
    #[error("a json webhook needs a secret (`secret_file` or `secret`) so the receiver can check the signature: make one with `openssl rand -hex 32`")]
    MissingSecret,
    #[error("the secret is {0} characters long: use at least 16 (e.g. `openssl rand -hex 32`)")]
    ShortSecret(usize),
}

/// A webhook endpoint. Its URL and secret never appear in `Debug`, logs or the store.
#[derive(Clone)]
pub struct Endpoint {
    url: Url,
    secret: Option<String>,
    events: Vec<EventKind>,
    format: Format,
}

impl Endpoint {
    /// `events`: `None` for every event. `format`: `None` for json.
    pub fn new(
        url: &str,
        secret: Option<String>,
        events: Option<&[String]>,
        format: Option<&str>,
    ) -> Result<Endpoint, EndpointError> {
        // The URL is not echoed: it may carry a token.
        let parsed = Url::parse(url).map_err(|_| EndpointError::NotAUrl(redact(url)))?;
        let host = parsed.host_str().unwrap_or_default();
        let loopback = matches!(host, "localhost" | "127.0.0.1" | "[::1]");
        match parsed.scheme() {
            "https" if !host.is_empty() => {}
            "http" if loopback => {}
            "http" | "https" if host.is_empty() => return Err(EndpointError::NotAUrl(redact(url))),
            _ => return Err(EndpointError::NotHttps),
        }
        let events = match events {
            None => EventKind::ALL.to_vec(),
            Some([]) => return Err(EndpointError::NoEvents),
            Some(names) => names
                .iter()
                .map(|n| EventKind::parse(n).ok_or_else(|| EndpointError::UnknownEvent(n.clone())))
                .collect::<Result<Vec<_>, _>>()?,
        };
        let format = match format {
            None => Format::Json,
            Some(f) => Format::parse(f).ok_or_else(|| EndpointError::UnknownFormat(f.into()))?,
        };
        match &secret {
            None if format == Format::Json => return Err(EndpointError::MissingSecret),
            Some(s) if s.chars().count() < 16 => {
                return Err(EndpointError::ShortSecret(s.chars().count()))
            }
            _ => {}
        }
        Ok(Endpoint {
            url: parsed,
            secret,
            events,
            format,
        })
    }

    /// What logs and the delivery log show.
    pub fn host(&self) -> String {
        match self.url.port() {
            Some(port) => format!("{}:{port}", self.url.host_str().unwrap_or_default()),
            None => self.url.host_str().unwrap_or_default().to_string(),
        }
    }

    /// The endpoint's name in the store: its host and a hash of its URL.
    pub fn key(&self) -> String {
        let hash = Sha256::digest(self.url.as_str().as_bytes());
        format!("{}#{}", self.host(), &hex::encode(hash)[..12])
    }

    pub fn events(&self) -> &[EventKind] {
        &self.events
    }

    pub fn format(&self) -> Format {
        self.format
    }

    pub(crate) fn url(&self) -> &Url {
        &self.url
    }

    pub(crate) fn secret(&self) -> Option<&str> {
        self.secret.as_deref()
    }
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Endpoint")
            .field("host", &self.host())
            .field("secret", &self.secret.as_ref().map(|_| "***"))
            .field("events", &self.events)
            .field("format", &self.format)
            .finish()
    }
}

/// At most the start of something that is not a URL, so a pasted token is not repeated.
fn redact(text: &str) -> String {
    let start: String = text.chars().take(12).collect();
    if start.len() < text.len() {
        format!("{start}…")
    } else {
        start
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "0123456789abcdef0123";

    fn ok(url: &str) -> Endpoint {
        Endpoint::new(url, Some(SECRET.into()), None, None).unwrap()
    }

    #[test]
    fn accepts_https_and_loopback_http() {
        assert_eq!(
            ok("https://hooks.example.com/x").host(),
            "hooks.example.com"
        );
        assert_eq!(ok("http://127.0.0.1:9000/hook").host(), "127.0.0.1:9000");
        assert_eq!(ok("https://a.example/x").events().len(), 5);
    }

    #[test]
    fn refuses_bad_settings_with_the_fix() {
        let e = |url: &str, secret: Option<&str>, events: Option<&[String]>, format| {
            Endpoint::new(url, secret.map(str::to_string), events, format).unwrap_err()
        };
        assert_eq!(
            e("http://example.com/x", Some(SECRET), None, None),
            EndpointError::NotHttps
        );
        assert_eq!(
            e("ftp://example.com/x", Some(SECRET), None, None),
            EndpointError::NotHttps
        );
        assert!(
            matches!(e("hooks.slack.com/services/T0/B0/XYZSECRET", Some(SECRET), None, None), EndpointError::NotAUrl(s) if !s.contains("XYZSECRET"))
        );
        assert_eq!(
            e("https://x.example/", None, None, None),
            EndpointError::MissingSecret
        );
        assert_eq!(
            e("https://x.example/", Some("short"), None, None),
            EndpointError::ShortSecret(5)
        );
        assert_eq!(
            e("https://x.example/", Some(SECRET), Some(&[]), None),
            EndpointError::NoEvents
        );
        assert_eq!(
            e(
                "https://x.example/",
                Some(SECRET),
                Some(&["case.closed".into()]),
                None
            ),
            EndpointError::UnknownEvent("case.closed".into())
        );
        assert_eq!(
            e("https://x.example/", Some(SECRET), None, Some("xml")),
            EndpointError::UnknownFormat("xml".into())
        );
    }

    #[test]
    fn chat_endpoints_need_no_secret_and_never_show_their_url() {
        let slack = Endpoint::new(
            "https://hooks.slack.com/services/T0/B0/XYZSECRET",
            None,
            Some(&["case.opened".into()]),
            Some("text"),
        )
        .unwrap();
        assert_eq!(slack.events(), &[EventKind::CaseOpened]);
        let shown = format!("{slack:?} {}", slack.key());
        assert!(!shown.contains("XYZSECRET"), "{shown}");
        assert!(slack.key().starts_with("hooks.slack.com#"));
        let with_secret = ok("https://x.example/");
        assert!(!format!("{with_secret:?}").contains(SECRET));
    }
}
