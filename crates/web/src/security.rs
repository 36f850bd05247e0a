//! Request hygiene for every route: security headers on every answer, the Host
//! allow-list (DNS rebinding), the client address (behind trusted proxies), and text made
//! safe for log lines.

use crate::WebState;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, HOST, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS,
    X_FRAME_OPTIONS,
};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::net::{IpAddr, SocketAddr};

/// No inline script or style anywhere: the stylesheet is `/static/domwatch.css`.
pub const CONTENT_SECURITY_POLICY_VALUE: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Adds the security headers to every answer (pages, errors, API, metrics, static files).
pub(crate) async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let fixed: [(HeaderName, &str); 5] = [
        (CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY_VALUE),
        (X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (REFERRER_POLICY, "no-referrer"),
        (X_FRAME_OPTIONS, "DENY"),
        (
            HeaderName::from_static("cross-origin-opener-policy"),
            "same-origin",
        ),
    ];
    for (name, value) in fixed {
        headers.insert(name, HeaderValue::from_static(value));
    }
    // Pages carry cases and CSRF tokens: never cached, unless a route says otherwise.
    if !headers.contains_key(CACHE_CONTROL) {
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// Which `Host` headers the dashboard answers: names with any port, or `name:port`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedHosts(Vec<String>);

impl AllowedHosts {
    /// The loopback names (any port) and the address the dashboard listens on.
    pub fn loopback_and(listen: Option<SocketAddr>) -> Self {
        let mut hosts: Vec<String> = ["localhost", "127.0.0.1", "[::1]"]
            .map(String::from)
            .to_vec();
        if let Some(addr) = listen.filter(|a| !a.ip().is_unspecified()) {
            hosts.push(host_of_ip(addr.ip()));
        }
        Self::new(hosts)
    }

    /// `entries` as configured: `dashboard.example`, `dashboard.example:8443`, `[2001:db8::1]`.
    pub fn new(entries: impl IntoIterator<Item = String>) -> Self {
        Self(
            entries
                .into_iter()
                .map(|e| normalize(&e))
                .filter(|e| !e.is_empty())
                .collect(),
        )
    }

    pub fn entries(&self) -> &[String] {
        &self.0
    }

    /// Checks one entry's syntax, for configuration errors.
    pub fn check_entry(entry: &str) -> Result<(), String> {
        let e = normalize(entry);
        let (host, port) = split_host_port(&e);
        let host_ok = !host.is_empty()
            && (host.starts_with('[') && host.ends_with(']')
                || host
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_')));
        let port_ok = port.is_none_or(|p| p.parse::<u16>().is_ok());
        if host_ok && port_ok {
            Ok(())
        } else {
            Err(format!("`{entry}` is not a host name, `name:port` or `[IPv6]`: use e.g. dashboard.example or dashboard.example:8443"))
        }
    }

    pub fn allows(&self, host_header: &str) -> bool {
        let wanted = normalize(host_header);
        let (host, _) = split_host_port(&wanted);
        self.0.iter().any(|entry| {
            let (allowed_host, allowed_port) = split_host_port(entry);
            match allowed_port {
                Some(_) => *entry == wanted,
                None => allowed_host == host,
            }
        })
    }
}

fn host_of_ip(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format!("[{v6}]"),
    }
}

fn normalize(host: &str) -> String {
    host.trim()
        .to_ascii_lowercase()
        .replace(".:", ":")
        .trim_end_matches('.')
        .to_string()
}

/// `name:port` -> (`name`, Some(`port`)); `[::1]:80` -> (`[::1]`, Some(`80`)).
fn split_host_port(host: &str) -> (&str, Option<&str>) {
    if host.starts_with('[') {
        return match host.find(']') {
            Some(end) => (&host[..=end], host[end + 1..].strip_prefix(':')),
            None => (host, None),
        };
    }
    match host.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (host, None),
    }
}

/// Answers 421 to a request whose Host is not allowed. That stops a web page that points
/// its own domain at 127.0.0.1 (DNS rebinding) from driving the dashboard. A request
/// without Host (HTTP/1.0, in-process tests) passes: browsers always send one.
pub(crate) async fn check_host(
    State(state): State<WebState>,
    request: Request,
    next: Next,
) -> Response {
    let host = request
        .headers()
        .get(HOST)
        .map(|v| v.to_str().unwrap_or("\u{fffd}").to_string())
        .or_else(|| request.uri().authority().map(|a| a.to_string()));
    if let Some(host) = host {
        if !state.security.allowed_hosts.allows(&host) {
            tracing::warn!(host = %log_text(&host, 200), "request refused: Host is not in serve.allowed_hosts");
            let message = format!(
                "this dashboard does not answer for the host `{}`: add it to serve.allowed_hosts if it is yours",
                host
            );
            return crate::WebError::new(StatusCode::MISDIRECTED_REQUEST, message)
                .respond(crate::wants_json(request.uri().path()));
        }
    }
    next.run(request).await
}

/// The client's address: the connection's peer, or, when the peer is one of
/// `trusted_proxies`, the last address the proxy appended to `X-Forwarded-For`.
/// `None` when the peer is unknown (in-process tests).
pub(crate) fn client_ip(
    extensions: &axum::http::Extensions,
    headers: &HeaderMap,
    trusted_proxies: &[IpAddr],
) -> Option<IpAddr> {
    let peer = extensions.get::<ConnectInfo<SocketAddr>>()?.0.ip();
    if !trusted_proxies.contains(&peer) {
        return Some(peer);
    }
    let forwarded = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .next_back()
        .and_then(|last| last.trim().parse::<IpAddr>().ok());
    Some(forwarded.unwrap_or(peer))
}

/// True when the request was forwarded by a proxy (it names an original client).
pub(crate) fn is_forwarded(headers: &HeaderMap) -> bool {
    headers.contains_key("x-forwarded-for") || headers.contains_key("forwarded")
}

/// `text` for a log line: at most `max_chars` characters; quotes, backslashes and every
/// character outside printable ASCII escaped (`\n`, `\u{1b}`, `\u{202e}`), so outside
/// data can neither forge a line nor drive a terminal.
pub fn log_text(text: &str, max_chars: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max_chars) + 2);
    for (i, c) in text.chars().enumerate() {
        if i == max_chars {
            out.push_str("...");
            break;
        }
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            ' '..='~' => out.push(c),
            c => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
        }
    }
    out
}

/// A 429 or 503 answer telling the client when to come back.
pub(crate) fn retry_after(mut response: Response, wait: std::time::Duration) -> Response {
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    if let Ok(v) = HeaderValue::from_str(&seconds.max(1).to_string()) {
        response
            .headers_mut()
            .insert(axum::http::header::RETRY_AFTER, v);
    }
    response.into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_match_by_name_or_name_and_port() {
        let allowed = AllowedHosts::loopback_and(Some("192.0.2.10:8400".parse().unwrap()));
        for ok in [
            "localhost",
            "localhost:8400",
            "LOCALHOST.:1",
            "127.0.0.1:8400",
            "[::1]:8400",
            "[::1]",
            "192.0.2.10:8400",
        ] {
            assert!(allowed.allows(ok), "{ok}");
        }
        for bad in [
            "evil.example",
            "evil.example:8400",
            "localhost.evil.example",
            "127.0.0.1.nip.io",
            "[::2]:8400",
            "",
        ] {
            assert!(!allowed.allows(bad), "{bad}");
        }
        let wildcard_bind = AllowedHosts::loopback_and(Some("0.0.0.0:8400".parse().unwrap()));
        assert_eq!(wildcard_bind.entries().len(), 3);
        let pinned = AllowedHosts::new(["dash.example:8443".to_string()]);
        assert!(pinned.allows("dash.example:8443"));
        assert!(!pinned.allows("dash.example:9000") && !pinned.allows("dash.example"));
        assert!(AllowedHosts::check_entry("dash.example:8443").is_ok());
        assert!(AllowedHosts::check_entry("[2001:db8::1]").is_ok());
        assert!(AllowedHosts::check_entry("http://dash.example").is_err());
        assert!(AllowedHosts::check_entry("dash.example:port").is_err());
    }

    #[test]
    fn log_text_cannot_forge_lines_or_drive_terminals() {
        let crafted =
            "admin\" from 10.0.0.1\ndomwatch: login failed for user \"x\u{1b}[31m\u{202e}";
        let safe = log_text(crafted, 200);
        assert!(
            !safe.chars().any(|c| c.is_control() || !c.is_ascii()),
            "{safe}"
        );
        assert_eq!(
            safe,
            "admin\\\" from 10.0.0.1\\ndomwatch: login failed for user \\\"x\\u{1b}[31m\\u{202e}"
        );
        assert_eq!(log_text("müller", 200), "m\\u{fc}ller");
        assert_eq!(log_text("abcdef", 3), "abc...");
    }
}
