//! The dashboard's defences over real HTTP: `domwatch_web::serve` on 127.0.0.1, driven by
//! reqwest and by raw TCP where a client has to misbehave.

mod common;

use domwatch_web::{hash_password, serve, AllowedHosts, AuthConfig, SecurityConfig, WebState};
use reqwest::header::{COOKIE, HOST, RETRY_AFTER, SET_COOKIE};
use reqwest::StatusCode;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const PASSWORD: &str = "s3cret-Pa55";

fn password_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| hash_password(PASSWORD).unwrap())
}

fn password_auth() -> AuthConfig {
    AuthConfig::with_password_hash("admin", password_hash()).unwrap()
}

/// A clock the test moves by hand.
#[derive(Clone)]
struct ManualClock(Arc<Mutex<Instant>>);

impl ManualClock {
    fn new() -> Self {
        Self(Arc::new(Mutex::new(Instant::now())))
    }
    fn advance(&self, by: Duration) {
        *self.0.lock().unwrap() += by;
    }
    fn as_clock(&self) -> domwatch_web::Clock {
        let now = self.0.clone();
        Arc::new(move || *now.lock().unwrap())
    }
}

struct Server {
    addr: SocketAddr,
    state: WebState,
    http: reqwest::Client,
    _stop: tokio::sync::oneshot::Sender<()>,
    _dir: tempfile::TempDir,
}

async fn start(auth: AuthConfig, security: SecurityConfig, clock: Option<&ManualClock>) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let (engine, _, _) = common::engine(dir.path()).await;
    let mut state = WebState::new(engine, auth).with_security(security);
    if let Some(clock) = clock {
        state = state.with_clock(clock.as_clock());
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(serve(listener, state.clone(), async move {
        let _ = stopped.await;
    }));
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    Server {
        addr,
        state,
        http,
        _stop: stop,
        _dir: dir,
    }
}

struct Answer {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    body: String,
}

impl Answer {
    fn cookie(&self) -> Option<String> {
        let v = self.headers.get(SET_COOKIE)?.to_str().unwrap();
        Some(v.split(';').next().unwrap().to_string())
    }

    fn csrf(&self) -> String {
        let marker = "name=\"csrf\" value=\"";
        let start = self.body.find(marker).expect("page has a CSRF field") + marker.len();
        let end = self.body[start..].find('"').unwrap();
        self.body[start..start + end].to_string()
    }

    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .unwrap_or_else(|| panic!("no {name} header: {:?}", self.headers))
            .to_str()
            .unwrap()
    }
}

impl Server {
    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Answer {
        let response = request.send().await.unwrap();
        Answer {
            status: response.status(),
            headers: response.headers().clone(),
            body: response.text().await.unwrap(),
        }
    }

    async fn get(&self, path: &str, cookie: Option<&str>) -> Answer {
        let mut request = self.http.get(self.url(path));
        if let Some(c) = cookie {
            request = request.header(COOKIE, c);
        }
        self.send(request).await
    }

    /// Opens the login form and posts `user`/`password` (with extra headers, e.g. a proxy's).
    async fn login_as(&self, user: &str, password: &str, extra: &[(&str, &str)]) -> Answer {
        let form = self.get("/login", None).await;
        assert_eq!(form.status, StatusCode::OK, "{}", form.body);
        let cookie = form.cookie().expect("the login form sets its token cookie");
        let mut request = self
            .http
            .post(self.url("/login"))
            .header(COOKIE, &cookie)
            .form(&[
                ("csrf", form.csrf().as_str()),
                ("user", user),
                ("password", password),
            ]);
        for (k, v) in extra {
            request = request.header(*k, *v);
        }
        self.send(request).await
    }

    /// The session cookie of a successful login.
    async fn logged_in(&self) -> String {
        let answer = self.login_as("admin", PASSWORD, &[]).await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
        answer.cookie().unwrap()
    }
}

/// Captures every log line of this test binary (a global subscriber: per-thread ones miss
/// lines when tests run in parallel); tests pick their own lines by unique names.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Logs {
    fn global() -> Logs {
        static LOGS: OnceLock<Logs> = OnceLock::new();
        LOGS.get_or_init(|| {
            let logs = Logs::default();
            let writer = logs.clone();
            let subscriber = tracing_subscriber::fmt()
                .with_ansi(false)
                .with_writer(move || writer.clone())
                .finish();
            tracing::subscriber::set_global_default(subscriber).unwrap();
            logs
        })
        .clone()
    }
    fn lines(&self) -> Vec<String> {
        String::from_utf8_lossy(&self.0.lock().unwrap())
            .lines()
            .map(str::to_string)
            .collect()
    }
}

// ---- login throttling and its log line ---------------------------------------------------

#[tokio::test]
async fn thirty_wrong_passwords_are_throttled_and_the_right_one_is_refused_during_the_lockout() {
    let clock = ManualClock::new();
    let server = start(password_auth(), SecurityConfig::default(), Some(&clock)).await;
    let mut statuses = Vec::new();
    for i in 0..30 {
        let answer = server.login_as("admin", &format!("guess-{i}"), &[]).await;
        if answer.status == StatusCode::TOO_MANY_REQUESTS {
            let wait: u64 = answer.header("retry-after").parse().unwrap();
            assert!((1..=300).contains(&wait), "Retry-After {wait}");
            assert!(
                answer.body.contains("Too many failed logins"),
                "{}",
                answer.body
            );
        }
        statuses.push(answer.status);
    }
    assert!(
        statuses[..5].iter().all(|s| *s == StatusCode::UNAUTHORIZED),
        "{statuses:?}"
    );
    assert!(
        statuses[5..]
            .iter()
            .all(|s| *s == StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );

    // The right password is refused the same way while locked out.
    let right = server.login_as("admin", PASSWORD, &[]).await;
    assert_eq!(right.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(right.headers.contains_key(RETRY_AFTER));
    assert!(
        right.body.contains("Too many failed logins"),
        "{}",
        right.body
    );

    // When the window has passed, it works again.
    clock.advance(Duration::from_secs(5 * 60 + 1));
    let answer = server.login_as("admin", PASSWORD, &[]).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
}

#[tokio::test]
async fn failed_logins_are_logged_once_with_the_client_address_and_an_escaped_name() {
    let logs = Logs::global();
    let security = SecurityConfig {
        trusted_proxies: vec!["127.0.0.1".parse().unwrap()],
        ..SecurityConfig::default()
    };
    let server = start(password_auth(), security, None).await;
    let crafted = "eve\" from 192.0.2.1\ndomwatch: login failed for user \"a\x1b[2K\u{202e}";
    let through_proxy = [("x-forwarded-for", "10.9.9.9, 203.0.113.5")];
    assert_eq!(
        server.login_as(crafted, "x", &through_proxy).await.status,
        StatusCode::UNAUTHORIZED
    );
    // Without a trusted proxy the header is ignored: the peer is the client.
    let direct = start(password_auth(), SecurityConfig::default(), None).await;
    let spoofed = [("x-forwarded-for", "198.51.100.77")];
    direct.login_as("mallory-direct", "wrong", &spoofed).await;

    let failures: Vec<String> = logs
        .lines()
        .into_iter()
        .filter(|l| l.contains("login failed for user \"eve") || l.contains("mallory-direct"))
        .collect();
    assert_eq!(failures.len(), 2, "one line per failure: {failures:#?}");
    assert!(
        failures[0].ends_with(
            "domwatch: login failed for user \"eve\\\" from 192.0.2.1\\ndomwatch: login failed for user \\\"a\\u{1b}[2K\\u{202e}\" from 203.0.113.5"
        ),
        "{}",
        failures[0]
    );
    assert!(
        failures[1].ends_with("domwatch: login failed for user \"mallory-direct\" from 127.0.0.1"),
        "{}",
        failures[1]
    );
    // The documented fail2ban filter picks out the real client, not the forged one.
    for (line, host) in failures.iter().zip(["203.0.113.5", "127.0.0.1"]) {
        assert_eq!(fail2ban_host(line).as_deref(), Some(host), "{line}");
    }
}

/// The README's fail2ban `failregex`, with `<HOST>` as a capture, applied the way
/// fail2ban does (anchored at the end of the line).
fn fail2ban_host(line: &str) -> Option<String> {
    // failregex = domwatch: login failed for user "(?:[^"\\]|\\.)*" from <HOST>$
    let rest = line.split_once("domwatch: login failed for user \"")?.1;
    let mut chars = rest.char_indices();
    let end = loop {
        match chars.next()? {
            (_, '\\') => {
                chars.next()?;
            }
            (i, '"') => break i,
            _ => {}
        }
    };
    let host = rest[end..].strip_prefix("\" from ")?;
    host.parse::<std::net::IpAddr>()
        .ok()
        .map(|ip| ip.to_string())
}

#[tokio::test]
async fn parallel_wrong_logins_wait_for_two_hashing_slots_or_get_503() {
    let security = SecurityConfig {
        login_max_failures: 1000,
        max_concurrent_hashes: 2,
        hash_wait: Duration::ZERO,
        ..SecurityConfig::default()
    };
    let server = Arc::new(start(password_auth(), security, None).await);
    let mut tasks = Vec::new();
    for i in 0..48 {
        let server = server.clone();
        tasks.push(tokio::spawn(async move {
            server.login_as("admin", &format!("wrong-{i}"), &[]).await
        }));
    }
    let (mut refused, mut busy) = (0, 0);
    for task in tasks {
        let answer = task.await.unwrap();
        match answer.status {
            StatusCode::UNAUTHORIZED => refused += 1,
            StatusCode::SERVICE_UNAVAILABLE => {
                assert!(answer.headers.contains_key(RETRY_AFTER));
                busy += 1;
            }
            other => panic!("unexpected {other}: {}", answer.body),
        }
    }
    assert_eq!(refused + busy, 48);
    assert!(
        refused >= 1 && busy >= 1,
        "{refused} checked, {busy} turned away"
    );
}

// ---- anonymous visitors, sessions --------------------------------------------------------

#[tokio::test]
async fn anonymous_login_page_visits_do_not_evict_a_logged_in_session() {
    let server = start(password_auth(), SecurityConfig::default(), None).await;
    let session = server.logged_in().await;
    for _ in 0..2_000 {
        let form = server.get("/login", None).await;
        assert_eq!(form.status, StatusCode::OK);
        assert!(form.cookie().is_some(), "each visitor gets a signed token");
    }
    assert_eq!(
        server.state.session_count(),
        1,
        "visitors leave nothing on the server"
    );
    let page = server.get("/", Some(&session)).await;
    assert_eq!(page.status, StatusCode::OK, "the admin is still logged in");
    assert!(page.body.contains("No monitoring run yet"), "{}", page.body);
}

#[tokio::test]
async fn sessions_end_after_30_idle_minutes_and_after_12_hours() {
    let clock = ManualClock::new();
    let server = start(password_auth(), SecurityConfig::default(), Some(&clock)).await;
    let minutes = |m: u64| Duration::from_secs(m * 60);

    let idle = server.logged_in().await;
    clock.advance(minutes(29));
    assert_eq!(server.get("/", Some(&idle)).await.status, StatusCode::OK);
    clock.advance(minutes(31));
    let expired = server.get("/", Some(&idle)).await;
    assert_eq!(expired.status, StatusCode::SEE_OTHER);
    assert_eq!(expired.header("location"), "/login");

    let busy = server.logged_in().await;
    for _ in 0..(12 * 3 - 1) {
        clock.advance(minutes(20));
        assert_eq!(server.get("/", Some(&busy)).await.status, StatusCode::OK);
    }
    clock.advance(minutes(20));
    assert_eq!(
        server.get("/", Some(&busy)).await.status,
        StatusCode::SEE_OTHER,
        "12 hours after the login"
    );
}

// ---- Host allow-list ---------------------------------------------------------------------

/// One raw HTTP/1.1 request; returns the status and the whole answer.
async fn raw(addr: SocketAddr, request: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer))
        .await
        .expect("the server answers")
        .unwrap();
    let text = String::from_utf8_lossy(&answer).to_string();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"));
    (status, text)
}

fn get_with_host(path: &str, host: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n")
}

#[tokio::test]
async fn only_allowed_host_names_are_answered() {
    // Open access is the mode DNS rebinding would abuse.
    let server = start(AuthConfig::open_access(), SecurityConfig::default(), None).await;
    let port = server.addr.port();
    for host in [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        "localhost".into(),
    ] {
        let (status, _) = raw(server.addr, &get_with_host("/", &host)).await;
        assert_eq!(status, 200, "{host}");
    }
    for host in [
        format!("rebind.attacker.example:{port}"),
        "127.0.0.1.nip.io".into(),
    ] {
        let (status, answer) = raw(server.addr, &get_with_host("/", &host)).await;
        assert_eq!(status, 421, "{host}: {answer}");
        assert!(answer.contains("serve.allowed_hosts"), "{answer}");
        assert!(
            !answer.to_ascii_lowercase().contains("set-cookie"),
            "{answer}"
        );
        assert!(answer.contains("content-security-policy"), "{answer}");
    }
    let (status, _) = raw(server.addr, &get_with_host("/api/cases", "evil.example")).await;
    assert_eq!(status, 421);

    let configured = SecurityConfig {
        allowed_hosts: AllowedHosts::new(["dash.example".to_string()]),
        ..SecurityConfig::default()
    };
    let named = start(password_auth(), configured, None).await;
    let (status, _) = raw(named.addr, &get_with_host("/login", "dash.example")).await;
    assert_eq!(status, 200);
    let (status, _) = raw(named.addr, &get_with_host("/login", "localhost")).await;
    assert_eq!(status, 421, "only the configured names");
    let answer = named
        .send(
            named
                .http
                .get(named.url("/login"))
                .header(HOST, "other.example"),
        )
        .await;
    assert_eq!(answer.status, StatusCode::MISDIRECTED_REQUEST);
}

// ---- security headers ------------------------------------------------------------------

fn assert_security_headers(answer: &Answer, what: &str) {
    let csp = answer.header("content-security-policy");
    for part in [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(part), "{what}: {csp}");
    }
    assert!(
        !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
        "{what}: {csp}"
    );
    assert_eq!(answer.header("x-content-type-options"), "nosniff", "{what}");
    assert_eq!(answer.header("referrer-policy"), "no-referrer", "{what}");
    assert_eq!(answer.header("x-frame-options"), "DENY", "{what}");
}

/// No inline script, event handler or style on a page (the CSP would block them).
fn assert_no_inline_code(body: &str, what: &str) {
    let lower = body.to_ascii_lowercase();
    for forbidden in [
        "<script",
        "<style",
        " style=",
        " onclick=",
        " onload=",
        " onsubmit=",
        "javascript:",
    ] {
        assert!(
            !lower.contains(forbidden),
            "{what} contains {forbidden}: {body}"
        );
    }
}

#[tokio::test]
async fn every_answer_carries_the_security_headers() {
    let security = SecurityConfig {
        metrics_token: Some("metrics-token-0123456789".into()),
        ..SecurityConfig::default()
    };
    let server = start(password_auth(), security, None).await;
    let session = server.logged_in().await;
    let cases = [
        ("/login", None, StatusCode::OK),
        ("/", None, StatusCode::SEE_OTHER),
        ("/", Some(session.as_str()), StatusCode::OK),
        ("/audit", Some(session.as_str()), StatusCode::OK),
        ("/cases/999", Some(session.as_str()), StatusCode::NOT_FOUND),
        ("/no-such-page", None, StatusCode::NOT_FOUND),
        ("/static/domwatch.css", None, StatusCode::OK),
        ("/api/cases", None, StatusCode::UNAUTHORIZED),
        ("/api/cases", Some(session.as_str()), StatusCode::OK),
        ("/metrics", None, StatusCode::FORBIDDEN),
        ("/healthz", None, StatusCode::OK),
    ];
    for (path, cookie, status) in cases {
        let answer = server.get(path, cookie).await;
        assert_eq!(answer.status, status, "{path}: {}", answer.body);
        assert_security_headers(&answer, path);
        let html = answer
            .headers
            .get("content-type")
            .is_some_and(|t| t.to_str().unwrap().starts_with("text/html"));
        if html {
            assert_no_inline_code(&answer.body, path);
        }
    }
    let css = server.get("/static/domwatch.css", None).await;
    assert!(css.header("content-type").starts_with("text/css"));
    assert!(css.body.contains("font-family"));
    let page = server.get("/login", None).await;
    assert!(page
        .body
        .contains("<link rel=\"stylesheet\" href=\"/static/domwatch.css\">"));

    // Refusals from the middleware carry them too: a write without its token, a 429.
    let refused = server
        .send(
            server
                .http
                .post(server.url("/logout"))
                .header(COOKIE, &session),
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_security_headers(&refused, "403");
    for i in 0..6 {
        let answer = server.login_as("nobody", &format!("x{i}"), &[]).await;
        assert_security_headers(&answer, "login failure");
    }
}

// ---- metrics ---------------------------------------------------------------------------

#[tokio::test]
async fn metrics_need_the_bearer_token_once_one_is_configured() {
    let token = "metrics-token-0123456789";
    let security = SecurityConfig {
        metrics_token: Some(token.into()),
        ..SecurityConfig::default()
    };
    let server = start(password_auth(), security, None).await;
    let metrics = |bearer: Option<&str>| {
        let mut request = server.http.get(server.url("/metrics"));
        if let Some(b) = bearer {
            request = request.bearer_auth(b);
        }
        server.send(request)
    };
    assert_eq!(
        metrics(None).await.status,
        StatusCode::FORBIDDEN,
        "not even from this machine"
    );
    assert_eq!(
        metrics(Some("wrong-token-0123456789")).await.status,
        StatusCode::FORBIDDEN
    );
    let ok = metrics(Some(token)).await;
    assert_eq!(ok.status, StatusCode::OK);
    assert!(ok.body.contains("domwatch_open_cases{kind="), "{}", ok.body);
    let session = server.logged_in().await;
    assert_eq!(
        server.get("/metrics", Some(&session)).await.status,
        StatusCode::OK
    );

    // Without a token, this machine may scrape, but not a request a proxy forwarded.
    let local = start(password_auth(), SecurityConfig::default(), None).await;
    assert_eq!(local.get("/metrics", None).await.status, StatusCode::OK);
    let forwarded = local
        .send(
            local
                .http
                .get(local.url("/metrics"))
                .header("x-forwarded-for", "192.0.2.4"),
        )
        .await;
    assert_eq!(forwarded.status, StatusCode::FORBIDDEN);
}

// ---- slow clients --------------------------------------------------------------------------

#[tokio::test]
async fn a_client_sending_its_headers_byte_by_byte_is_cut_off() {
    let security = SecurityConfig {
        header_read_timeout: Duration::from_secs(1),
        ..SecurityConfig::default()
    };
    let server = start(password_auth(), security, None).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    let started = Instant::now();
    let head = b"GET /login HTTP/1.1\r\nHost: localhost\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
    let mut cut_off = false;
    for byte in head.iter().take(head.len() - 2) {
        if stream.write_all(&[*byte]).await.is_err() {
            cut_off = true;
            break;
        }
        // The server closed the connection: reading ends at once.
        let mut buf = [0u8; 64];
        if let Ok(read) =
            tokio::time::timeout(Duration::from_millis(100), stream.read(&mut buf)).await
        {
            assert!(
                !matches!(read, Ok(n) if n > 0 && buf.starts_with(b"HTTP/1.1 200")),
                "answered a slow client"
            );
            cut_off = true;
            break;
        }
    }
    let took = started.elapsed();
    assert!(
        cut_off,
        "the slow client was still connected after {took:?}"
    );
    assert!(took < Duration::from_secs(5), "cut off only after {took:?}");

    // A normal client is still served.
    assert_eq!(server.get("/login", None).await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_request_body_that_does_not_arrive_in_time_gets_408() {
    let security = SecurityConfig {
        body_read_timeout: Duration::from_secs(1),
        ..SecurityConfig::default()
    };
    let server = start(password_auth(), security, None).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(b"POST /login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nuser=adm")
        .await
        .unwrap();
    let mut answer = vec![0u8; 1024];
    let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut answer))
        .await
        .expect("answered within 5 s")
        .unwrap();
    let text = String::from_utf8_lossy(&answer[..n]);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
}
