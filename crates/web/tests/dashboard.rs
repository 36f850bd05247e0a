//! The dashboard over a real engine: a fresh SQLite store, and in-memory billing and
//! registrar fakes that record every write.

mod common;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use chrono::{NaiveDate, TimeZone, Utc};
use common::{FakeBilling, FakeRegistrar, FAILING_DOMAIN_ID, HOSTILE_REGISTRAR_MESSAGE};
use domwatch_core::detect::{CaseKind, Evidence, Facts, Finding};
use domwatch_core::{Currency, DomainName, Money};
use domwatch_engine::{Engine, Mode, NoProgress};
use domwatch_web::{hash_password, router, AuthConfig, WebState};
use http_body_util::BodyExt;
use rust_decimal_macros::dec;
use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use tower::ServiceExt;

// ---- harness ----------------------------------------------------------------------------

const PASSWORD: &str = "s3cret-Pa55";
const HOSTILE_SUMMARY: &str = "<script>alert('pwned')</script> still billed";

/// Hashing is slow on purpose; one hash serves every test.
fn password_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| hash_password(PASSWORD).unwrap())
}

struct Harness {
    app: Router,
    engine: Engine,
    billing: Arc<FakeBilling>,
    registrar: Arc<FakeRegistrar>,
    _dir: tempfile::TempDir,
}

async fn harness(auth: AuthConfig) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let (engine, billing, registrar) = common::engine(dir.path()).await;
    let app = router(WebState::new(engine.clone(), auth));
    Harness {
        app,
        engine,
        billing,
        registrar,
        _dir: dir,
    }
}

fn password_auth() -> AuthConfig {
    AuthConfig::with_password_hash("admin", password_hash()).unwrap()
}

fn eur(amount: rust_decimal::Decimal) -> Money {
    Money::new(amount, Currency::EUR)
}

fn finding(kind: CaseKind, domain: &str, billing_id: Option<u64>, summary: &str) -> Finding {
    Finding {
        kind,
        domain: DomainName::parse(domain).unwrap(),
        billing_domain_id: billing_id,
        registrar_account: Some("fake".into()),
        client_id: billing_id.map(|id| id + 100),
        summary: summary.into(),
        evidence: Vec::new(),
        at_stake: None,
        facts: Facts::default(),
    }
}

/// Case ids by domain (ASCII form).
type Seeded = HashMap<String, i64>;

async fn seed(engine: &Engine) -> Seeded {
    let mut expiry = finding(
        CaseKind::ExpiryDrift,
        "müller.shop",
        Some(7),
        "müller.shop expires 2026-12-01 in billing but is paid until 2027-01-01",
    );
    expiry.evidence.push(Evidence {
        label: "Expiry".into(),
        billing: Some("2026-12-01".into()),
        registrar: Some("2027-01-01".into()),
    });
    expiry.facts.proposed_expiry = NaiveDate::from_ymd_opt(2027, 1, 1);

    let mut cheap_a = finding(
        CaseKind::RenewalUnderpriced,
        "a.com",
        Some(8),
        "a.com renews at a loss",
    );
    cheap_a.at_stake = Some(eur(dec!(5)));
    cheap_a.facts.proposed_recurring_amount = Some(eur(dec!(25.00)));
    let mut cheap_b = finding(
        CaseKind::RenewalUnderpriced,
        "b.com",
        Some(9),
        "b.com renews at a loss",
    );
    cheap_b.at_stake = Some(eur(dec!(7.50)));
    cheap_b.facts.proposed_recurring_amount = Some(eur(dec!(30.00)));

    let mut mode = finding(
        CaseKind::RenewalModeDrift,
        "c.net",
        Some(10),
        "c.net will not be billed but renews at the registrar",
    );
    mode.at_stake = Some(Money::new(dec!(10), Currency::USD));

    let mut hostile = finding(CaseKind::StatusDrift, "evil.org", Some(11), HOSTILE_SUMMARY);
    hostile.evidence.push(Evidence {
        label: "<b>Status</b>".into(),
        billing: Some("Cancelled\"><script>x()</script>".into()),
        registrar: Some("ACTIVE".into()),
    });

    let mut locked = finding(
        CaseKind::ExpiryDrift,
        "locked.de",
        Some(FAILING_DOMAIN_ID),
        "locked.de drifts",
    );
    locked.facts.proposed_expiry = NaiveDate::from_ymd_opt(2027, 3, 1);

    let findings = vec![expiry, cheap_a, cheap_b, mode, hostile, locked];
    let at = engine.clock.now();
    let run = engine.store.begin_run(at, false).await.unwrap();
    let outcome = engine
        .store
        .sync_findings(run, at, &findings, &HashSet::new())
        .await
        .unwrap();
    engine
        .store
        .finish_run(run, at, Ok(&serde_json::json!({"notices_sent": 2})))
        .await
        .unwrap();
    outcome
        .opened
        .iter()
        .map(|c| (c.domain.ascii().to_string(), c.id))
        .collect()
}

struct Answer {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: String,
}

impl Answer {
    fn set_cookie(&self) -> Option<String> {
        self.headers
            .get(header::SET_COOKIE)
            .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_string())
    }

    fn location(&self) -> Option<&str> {
        self.headers
            .get(header::LOCATION)
            .map(|v| v.to_str().unwrap())
    }

    /// The CSRF token of the first form on the page.
    fn csrf(&self) -> String {
        let marker = "name=\"csrf\" value=\"";
        let start = self.body.find(marker).expect("page has a CSRF field") + marker.len();
        let end = self.body[start..].find('"').unwrap();
        self.body[start..start + end].to_string()
    }
}

/// A client with a cookie, like a browser.
struct Client<'a> {
    app: &'a Router,
    cookie: Option<String>,
    peer: Option<SocketAddr>,
}

impl<'a> Client<'a> {
    fn new(app: &'a Router) -> Self {
        Self {
            app,
            cookie: None,
            peer: None,
        }
    }

    async fn send(
        &mut self,
        method: Method,
        uri: &str,
        content_type: Option<&str>,
        extra: &[(&str, &str)],
        body: String,
    ) -> Answer {
        let mut request = Request::builder().method(method).uri(uri);
        if let Some(cookie) = &self.cookie {
            request = request.header(header::COOKIE, cookie);
        }
        if let Some(ct) = content_type {
            request = request.header(header::CONTENT_TYPE, ct);
        }
        for (k, v) in extra {
            request = request.header(*k, *v);
        }
        let mut request = request.body(Body::from(body)).unwrap();
        if let Some(peer) = self.peer {
            request.extensions_mut().insert(ConnectInfo(peer));
        }
        let response = self.app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let answer = Answer {
            status,
            headers,
            body: String::from_utf8(bytes.to_vec()).unwrap(),
        };
        if let Some(cookie) = answer.set_cookie() {
            if cookie.ends_with('=') {
                self.cookie = None;
            } else {
                self.cookie = Some(cookie);
            }
        }
        answer
    }

    async fn get(&mut self, uri: &str) -> Answer {
        self.send(Method::GET, uri, None, &[], String::new()).await
    }

    async fn post_form(&mut self, uri: &str, fields: &[(&str, &str)]) -> Answer {
        let body = serde_urlencoded::to_string(fields).unwrap();
        self.send(
            Method::POST,
            uri,
            Some("application/x-www-form-urlencoded"),
            &[],
            body,
        )
        .await
    }

    async fn login(&mut self, password: &str) -> Answer {
        let form = self.get("/login").await;
        assert_eq!(form.status, StatusCode::OK);
        let csrf = form.csrf();
        self.post_form(
            "/login",
            &[("csrf", &csrf), ("user", "admin"), ("password", password)],
        )
        .await
    }

    /// The CSRF token of the current session, as the API hands it out.
    async fn api_csrf(&mut self) -> String {
        let answer = self.get("/api/session").await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        let v: serde_json::Value = serde_json::from_str(&answer.body).unwrap();
        v["csrf_token"].as_str().unwrap().to_string()
    }
}

async fn logged_in(h: &Harness) -> Client<'_> {
    let mut client = Client::new(&h.app);
    let answer = client.login(PASSWORD).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    client
}

// ---- tests ------------------------------------------------------------------------------

#[tokio::test]
async fn everything_is_fine_after_a_clean_run() {
    let h = harness(password_auth()).await;
    let mut client = logged_in(&h).await;
    let before = client.get("/").await;
    assert!(
        before.body.contains("No monitoring run yet"),
        "{}",
        before.body
    );

    h.engine.run_cycle(Mode::Apply, &NoProgress).await.unwrap();
    let page = client.get("/").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("id=\"everything-fine\""),
        "{}",
        page.body
    );
    assert!(page.body.contains("Everything is fine"));
    assert!(
        page.body
            .contains("Last run #1: 2026-11-22 12:00 UTC, <strong>ok</strong>"),
        "{}",
        page.body
    );
}

#[tokio::test]
async fn open_cases_are_grouped_by_kind_with_money_summed_per_currency() {
    let h = harness(password_auth()).await;
    let ids = seed(&h.engine).await;
    let mut client = logged_in(&h).await;
    let page = client.get("/").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("<h1>6 open cases</h1>"), "{}", page.body);
    assert!(!page.body.contains("Everything is fine"));

    let group = section(&page.body, "kind-renewal_underpriced");
    assert!(group.contains(CaseKind::RenewalUnderpriced.title()));
    assert!(
        group.contains("<span class=\"badge count\">2</span>"),
        "{group}"
    );
    assert!(
        group.contains("<span class=\"at-stake\">12.50 EUR</span>"),
        "{group}"
    );
    assert!(group.contains(&format!("href=\"/cases/{}\"", ids["a.com"])));
    assert!(group.contains(&format!("href=\"/cases/{}\"", ids["b.com"])));

    let expiry = section(&page.body, "kind-expiry_drift");
    assert!(expiry.contains("<span class=\"badge count\">2</span>"));
    assert!(expiry.contains("müller.shop"));
    assert!(
        page.body
            .contains("id=\"total-at-stake\">12.50 EUR, 10.00 USD<"),
        "{}",
        page.body
    );
    assert!(page.body.contains("Last run #1"));
}

/// The `<section id=…>` of a page.
fn section<'a>(body: &'a str, id: &str) -> &'a str {
    let start = body
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no section {id} in {body}"));
    let end = body[start..].find("</section>").unwrap();
    &body[start..start + end]
}

#[tokio::test]
async fn case_page_shows_guide_evidence_options_and_history() {
    let h = harness(password_auth()).await;
    let ids = seed(&h.engine).await;
    let id = ids["xn--mller-kva.shop"];
    let mut client = logged_in(&h).await;
    let page = client.get(&format!("/cases/{id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    let b = &page.body;
    assert!(b.contains(CaseKind::ExpiryDrift.title()));
    assert!(
        b.contains("<strong id=\"domain-unicode\">müller.shop</strong>"),
        "{b}"
    );
    assert!(b.contains("<code id=\"domain-ascii\">xn--mller-kva.shop</code>"));
    assert!(b.contains("id=\"case-state\">open<"));
    assert!(
        b.contains("<tr><th>Expiry</th><td>2026-12-01</td><td>2027-01-01</td></tr>"),
        "{b}"
    );
    assert!(b.contains("Compare the dates under Evidence"));
    assert!(b.contains("Set the expiry date of WHMCS domain #7 to 2027-01-01"));
    assert!(b.contains("Set the next due date of WHMCS domain #7 to 2027-01-01"));
    assert!(b.contains(&format!("action=\"/cases/{id}/fix\"")));
    assert!(b.contains(&format!("action=\"/cases/{id}/preview\"")));
    assert!(b.contains(">Fix now</button>"));
    assert!(b.contains("<td>opened</td>"), "{b}");

    let missing = client.get("/cases/999999").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.body.contains("does not exist"));
}

#[tokio::test]
async fn pages_and_api_need_a_login() {
    let h = harness(password_auth()).await;
    seed(&h.engine).await;
    let mut anonymous = Client::new(&h.app);
    for path in ["/", "/cases/1", "/audit"] {
        let answer = anonymous.get(path).await;
        assert!(answer.status.is_redirection(), "{path}: {}", answer.status);
        assert_eq!(answer.location(), Some("/login"), "{path}");
    }
    let api = anonymous.get("/api/cases").await;
    assert_eq!(api.status, StatusCode::UNAUTHORIZED);
    assert!(api.body.contains("log in first"));
    // Metrics from another machine without a session: refused.
    anonymous.peer = Some("10.1.2.3:5555".parse().unwrap());
    assert_eq!(
        anonymous.get("/metrics").await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(anonymous.get("/healthz").await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_wrong_password_is_rejected_and_the_right_one_starts_a_new_session() {
    let h = harness(password_auth()).await;
    let mut client = Client::new(&h.app);
    let wrong = client.login("guess").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.body.contains("Wrong user name or password."));
    assert!(client.get("/").await.status.is_redirection());

    let anonymous_cookie = client.cookie.clone().unwrap();
    let right = client.login(PASSWORD).await;
    assert_eq!(right.status, StatusCode::SEE_OTHER);
    assert_eq!(right.location(), Some("/"));
    let cookie_header = right
        .headers
        .get(header::SET_COOKIE)
        .unwrap()
        .to_str()
        .unwrap();
    assert!(
        cookie_header.contains("HttpOnly") && cookie_header.contains("SameSite=Strict"),
        "{cookie_header}"
    );
    assert_ne!(
        client.cookie.clone().unwrap(),
        anonymous_cookie,
        "login must issue a fresh session id"
    );
    assert_eq!(client.get("/").await.status, StatusCode::OK);

    // Log out ends the session.
    let page = client.get("/").await;
    let csrf = page.csrf();
    let out = client.post_form("/logout", &[("csrf", &csrf)]).await;
    assert_eq!(out.location(), Some("/login"));
    assert!(client.get("/").await.status.is_redirection());
}

#[tokio::test]
async fn writes_without_the_csrf_token_are_refused() {
    let h = harness(password_auth()).await;
    let ids = seed(&h.engine).await;
    let id = ids["xn--mller-kva.shop"];
    let mut client = logged_in(&h).await;
    let uri = format!("/cases/{id}/fix");

    let missing = client.post_form(&uri, &[("option", "sync")]).await;
    assert_eq!(missing.status, StatusCode::FORBIDDEN);
    let wrong = client
        .post_form(&uri, &[("option", "sync"), ("csrf", "0000")])
        .await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    let api_missing = client
        .send(
            Method::POST,
            &format!("/api/cases/{id}/fix"),
            Some("application/json"),
            &[],
            "{}".into(),
        )
        .await;
    assert_eq!(api_missing.status, StatusCode::FORBIDDEN);
    assert!(api_missing.body.contains("\"error\""));
    // A login form posted without its token is refused as well.
    let mut fresh = Client::new(&h.app);
    fresh.get("/login").await;
    let login = fresh
        .post_form("/login", &[("user", "admin"), ("password", PASSWORD)])
        .await;
    assert_eq!(login.status, StatusCode::FORBIDDEN);

    assert!(
        h.billing.domain_updates.lock().unwrap().is_empty(),
        "nothing may be written"
    );
    assert!(h.engine.store.audit_log(10, None).await.unwrap().is_empty());
}

#[tokio::test]
async fn fix_now_applies_the_option_and_shows_each_step() {
    let h = harness(password_auth()).await;
    let ids = seed(&h.engine).await;
    let id = ids["xn--mller-kva.shop"];
    let mut client = logged_in(&h).await;
    let page = client.get(&format!("/cases/{id}")).await;
    let csrf = page.csrf();

    let fixed = client
        .post_form(
            &format!("/cases/{id}/fix"),
            &[("csrf", &csrf), ("option", "sync")],
        )
        .await;
    assert_eq!(fixed.status, StatusCode::OK, "{}", fixed.body);
    assert!(
        fixed.body.contains("id=\"fix-result\">Done."),
        "{}",
        fixed.body
    );
    assert_eq!(
        fixed
            .body
            .matches("class=\"outcome-applied\">applied: ")
            .count(),
        2,
        "{}",
        fixed.body
    );
    assert!(fixed.body.contains("applied: expiry 2027-01-01"));
    {
        let updates = h.billing.domain_updates.lock().unwrap();
        assert_eq!(updates.len(), 2);
        assert_eq!(updates[0].0, 7);
        assert_eq!(updates[0].1.expiry, NaiveDate::from_ymd_opt(2027, 1, 1));
        assert_eq!(updates[1].1.next_due, NaiveDate::from_ymd_opt(2027, 1, 1));
    }

    // Pressing it again repeats nothing.
    let again = client
        .post_form(
            &format!("/cases/{id}/fix"),
            &[("csrf", &csrf), ("option", "sync")],
        )
        .await;
    assert_eq!(
        again.body.matches("already applied earlier").count(),
        2,
        "{}",
        again.body
    );
    assert_eq!(h.billing.domain_updates.lock().unwrap().len(), 2);

    // The case page now lists the writes and the fix in its history.
    let page = client.get(&format!("/cases/{id}")).await;
    assert!(page.body.contains("id=\"writes\""));
    assert!(page.body.contains("<td>fixed</td>"), "{}", page.body);

    // A registrar action goes through the registrar port.
    let mode_case = ids["c.net"];
    let fixed = client
        .post_form(&format!("/cases/{mode_case}/fix"), &[("csrf", &csrf)])
        .await;
    assert!(
        fixed.body.contains("applied: renewal mode AUTOEXPIRE"),
        "{}",
        fixed.body
    );
    assert_eq!(h.registrar.renewal_modes.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_failed_step_shows_the_escaped_registrar_message() {
    let h = harness(password_auth()).await;
    let ids = seed(&h.engine).await;
    let mut client = logged_in(&h).await;
    let csrf = client.get("/").await.csrf();
    let failed = client
        .post_form(
            &format!("/cases/{}/fix", ids["locked.de"]),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(failed.status, StatusCode::OK);
    assert!(failed.body.contains("The fix did not complete"));
    assert!(
        failed.body.contains("class=\"outcome-failed\">failed: "),
        "{}",
        failed.body
    );
    assert!(failed.body.contains("skipped: an earlier step failed"));
    assert!(
        failed
            .body
            .contains("&lt;img src=x onerror=alert(1)&gt; refused"),
        "{}",
        failed.body
    );
    assert!(!failed.body.contains(HOSTILE_REGISTRAR_MESSAGE));

    let unknown = client
        .post_form(
            &format!("/cases/{}/fix", ids["locked.de"]),
            &[("csrf", &csrf), ("option", "<nope>")],
        )
        .await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    assert!(
        unknown.body.contains("no fix option `&lt;nope&gt;`"),
        "{}",
        unknown.body
    );
}

#[tokio::test]
async fn preview_writes_nothing() {
    let h = harness(password_auth()).await;
    let ids = seed(&h.engine).await;
    let id = ids["a.com"];
    let mut client = logged_in(&h).await;
    let csrf = client.get(&format!("/cases/{id}")).await.csrf();
    let preview = client
        .post_form(
            &format!("/cases/{id}/preview"),
            &[("csrf", &csrf), ("option", "reprice")],
        )
        .await;
    assert_eq!(preview.status, StatusCode::OK);
    assert!(preview.body.contains("Nothing was written"));
    assert!(preview
        .body
        .contains("Set the recurring amount of WHMCS domain #8 to 25.00 EUR"));
    assert!(
        preview
            .body
            .contains("class=\"outcome-would_apply\">would be written"),
        "{}",
        preview.body
    );
    assert!(
        preview
            .body
            .contains(&format!("action=\"/cases/{id}/fix\"")),
        "preview offers Fix now"
    );

    assert!(h.billing.domain_updates.lock().unwrap().is_empty());
    assert!(h.engine.store.audit_log(10, None).await.unwrap().is_empty());
    assert!(h.engine.store.actions_of_case(id).await.unwrap().is_empty());
}

#[tokio::test]
async fn the_audit_page_lists_the_write_newest_first() {
    let h = harness(password_auth()).await;
    let ids = seed(&h.engine).await;
    let mut client = logged_in(&h).await;
    let empty = client.get("/audit").await;
    assert!(empty.body.contains("No writes yet."));

    let csrf = empty.csrf();
    client
        .post_form(
            &format!("/cases/{}/fix", ids["xn--mller-kva.shop"]),
            &[("csrf", &csrf)],
        )
        .await;
    client
        .post_form(&format!("/cases/{}/fix", ids["a.com"]), &[("csrf", &csrf)])
        .await;
    let audit = client.get("/audit").await;
    assert_eq!(audit.status, StatusCode::OK);
    assert_eq!(
        audit.body.matches("class=\"audit-entry\"").count(),
        3,
        "{}",
        audit.body
    );
    assert!(audit.body.contains("web:admin"));
    assert!(audit.body.contains("UpdateClientDomain"));
    let newest = audit.body.find("a.com").unwrap();
    let oldest = audit.body.find("xn--mller-kva.shop").unwrap();
    assert!(newest < oldest, "newest first");
    // Paging backwards from the newest entry leaves the two older ones.
    let entries = h.engine.store.audit_log(10, None).await.unwrap();
    let older = client
        .get(&format!("/audit?before={}", entries[0].id))
        .await;
    assert_eq!(older.body.matches("class=\"audit-entry\"").count(), 2);
}

#[tokio::test]
async fn data_from_billing_and_registrars_is_escaped() {
    let h = harness(password_auth()).await;
    let ids = seed(&h.engine).await;
    let mut client = logged_in(&h).await;
    let dashboard = client.get("/").await;
    let case = client.get(&format!("/cases/{}", ids["evil.org"])).await;
    for page in [&dashboard.body, &case.body] {
        assert!(!page.contains("<script>alert"), "{page}");
        assert!(page.contains("&lt;script&gt;alert(&#39;pwned&#39;)&lt;/script&gt; still billed"));
    }
    assert!(case.body.contains("<th>&lt;b&gt;Status&lt;/b&gt;</th>"));
    assert!(case
        .body
        .contains("Cancelled&quot;&gt;&lt;script&gt;x()&lt;/script&gt;"));
    assert!(!case.body.contains("<script>x()"));
}

#[tokio::test]
async fn metrics_show_cases_money_and_the_last_run() {
    let h = harness(password_auth()).await;
    seed(&h.engine).await;
    let mut local = Client::new(&h.app);
    local.peer = Some("127.0.0.1:40000".parse().unwrap());
    let metrics = local.get("/metrics").await;
    assert_eq!(metrics.status, StatusCode::OK);
    assert_eq!(
        metrics.headers.get(header::CONTENT_TYPE).unwrap(),
        "text/plain; version=0.0.4; charset=utf-8"
    );
    let m = &metrics.body;
    assert!(m.contains("# TYPE domwatch_open_cases gauge"));
    assert!(
        m.contains("domwatch_open_cases{kind=\"renewal_underpriced\"} 2\n"),
        "{m}"
    );
    assert!(m.contains("domwatch_open_cases{kind=\"expiry_drift\"} 2\n"));
    assert!(m.contains("domwatch_open_cases{kind=\"turned_premium\"} 0\n"));
    assert!(m.contains("domwatch_money_at_stake{currency=\"EUR\"} 12.5\n"));
    assert!(m.contains("domwatch_money_at_stake{currency=\"USD\"} 10\n"));
    let started = Utc
        .with_ymd_and_hms(2026, 11, 22, 12, 0, 0)
        .unwrap()
        .timestamp();
    assert!(m.contains(&format!("domwatch_last_run_timestamp_seconds {started}\n")));
    assert!(m.contains("domwatch_last_run_status{status=\"ok\"} 1\n"));
    assert!(m.contains("domwatch_last_run_status{status=\"failed\"} 0\n"));
    assert!(m.contains("domwatch_last_run_duration_seconds 0\n"));
    assert!(m.contains("domwatch_notices_sent_total 2\n"));

    // From elsewhere, a logged-in admin may read them too.
    let mut admin = logged_in(&h).await;
    admin.peer = Some("10.1.2.3:5555".parse().unwrap());
    assert_eq!(admin.get("/metrics").await.status, StatusCode::OK);
}

#[tokio::test]
async fn the_json_api_lists_cases_and_fixes_with_the_csrf_header() {
    let h = harness(password_auth()).await;
    let ids = seed(&h.engine).await;
    let mut client = logged_in(&h).await;
    let cases: serde_json::Value =
        serde_json::from_str(&client.get("/api/cases").await.body).unwrap();
    assert_eq!(cases.as_array().unwrap().len(), 6);
    let only: serde_json::Value =
        serde_json::from_str(&client.get("/api/cases?kind=renewal_underpriced").await.body)
            .unwrap();
    assert_eq!(only.as_array().unwrap().len(), 2);
    assert_eq!(
        client.get("/api/cases?kind=nonsense").await.status,
        StatusCode::BAD_REQUEST
    );

    let id = ids["b.com"];
    let detail: serde_json::Value =
        serde_json::from_str(&client.get(&format!("/api/cases/{id}")).await.body).unwrap();
    assert_eq!(detail["case"]["domain"], "b.com");
    assert_eq!(detail["options"][0]["name"], "reprice");
    assert!(detail["guide"]["steps"].as_array().unwrap().len() > 1);

    let csrf = client.api_csrf().await;
    let fixed = client
        .send(
            Method::POST,
            &format!("/api/cases/{id}/fix"),
            Some("application/json"),
            &[("X-CSRF-Token", &csrf)],
            r#"{"option":"reprice"}"#.into(),
        )
        .await;
    assert_eq!(fixed.status, StatusCode::OK, "{}", fixed.body);
    let report: serde_json::Value = serde_json::from_str(&fixed.body).unwrap();
    assert_eq!(report["succeeded"], true);
    assert_eq!(
        report["report"]["steps"][0]["outcome"]["outcome"],
        "applied"
    );
    assert_eq!(
        h.billing.domain_updates.lock().unwrap()[0]
            .1
            .recurring_amount,
        Some(dec!(30.00))
    );
    let audit = h.engine.store.audit_log(1, None).await.unwrap();
    assert_eq!(audit[0].entry.actor, "api:admin");

    let runs: serde_json::Value =
        serde_json::from_str(&client.get("/api/runs").await.body).unwrap();
    assert_eq!(runs[0]["status"], "ok");
}

#[tokio::test]
async fn open_access_works_on_loopback_with_a_banner_and_still_needs_csrf() {
    let h = harness(AuthConfig::open_access()).await;
    let ids = seed(&h.engine).await;
    let mut client = Client::new(&h.app);
    client.peer = Some("127.0.0.1:40000".parse().unwrap());
    let page = client.get("/").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("id=\"open-access\""));
    assert!(page.body.contains("No admin password is configured"));
    assert!(
        client.cookie.is_some(),
        "a session is created for the CSRF token"
    );
    assert!(client.get("/login").await.status.is_redirection());

    let id = ids["a.com"];
    let refused = client.post_form(&format!("/cases/{id}/fix"), &[]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let csrf = client.get(&format!("/cases/{id}")).await.csrf();
    let fixed = client
        .post_form(&format!("/cases/{id}/fix"), &[("csrf", &csrf)])
        .await;
    assert!(fixed.body.contains("outcome-applied"), "{}", fixed.body);
    assert_eq!(
        h.engine.store.audit_log(1, None).await.unwrap()[0]
            .entry
            .actor,
        "web:local"
    );

    let mut remote = Client::new(&h.app);
    remote.peer = Some("192.0.2.7:40000".parse().unwrap());
    let answer = remote.get("/").await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert!(answer.body.contains("admin_password_hash"));
}

#[tokio::test]
async fn check_now_wakes_the_scheduler_only_with_the_csrf_token() {
    let h = harness(password_auth()).await;
    // Without a scheduler there is no button, and the route says why.
    let mut plain = logged_in(&h).await;
    let page = plain.get("/").await;
    assert!(!page.body.contains("Check now"));
    let csrf = page.csrf();
    assert_eq!(
        plain.post_form("/check", &[("csrf", &csrf)]).await.status,
        StatusCode::CONFLICT
    );

    let trigger = Arc::new(tokio::sync::Notify::new());
    let app = router(
        WebState::new(h.engine.clone(), password_auth()).with_check_trigger(trigger.clone()),
    );
    let mut client = Client::new(&app);
    assert_eq!(client.login(PASSWORD).await.status, StatusCode::SEE_OTHER);
    let page = client.get("/").await;
    assert!(page.body.contains(">Check now</button>"));
    assert_eq!(
        client.post_form("/check", &[]).await.status,
        StatusCode::FORBIDDEN
    );
    let woken =
        tokio::time::timeout(std::time::Duration::from_millis(20), trigger.notified()).await;
    assert!(
        woken.is_err(),
        "a refused request must not wake the scheduler"
    );

    let pressed = client.post_form("/check", &[("csrf", &page.csrf())]).await;
    assert_eq!(pressed.status, StatusCode::SEE_OTHER);
    assert_eq!(pressed.location(), Some("/?check=requested"));
    tokio::time::timeout(std::time::Duration::from_secs(1), trigger.notified())
        .await
        .expect("the scheduler was woken");
    assert!(client
        .get("/?check=requested")
        .await
        .body
        .contains("id=\"check-requested\""));
}

// ---- CSV export and forecast ------------------------------------------------------------

/// Opens one more case whose summary a spreadsheet would run as a formula.
async fn seed_formula_case(engine: &Engine) {
    let f = finding(
        CaseKind::StatusDrift,
        "bäckerei.de",
        Some(12),
        "=HYPERLINK(\"http://evil.example\",\"click\")",
    );
    let at = engine.clock.now();
    let run = engine.store.begin_run(at, false).await.unwrap();
    engine
        .store
        .sync_findings(run, at, &[f], &HashSet::new())
        .await
        .unwrap();
}

#[tokio::test]
async fn cases_csv_has_both_names_the_list_filters_and_no_formulas() {
    let h = harness(password_auth()).await;
    seed(&h.engine).await;
    seed_formula_case(&h.engine).await;
    let mut client = logged_in(&h).await;

    let page = client.get("/").await;
    assert!(page
        .body
        .contains("id=\"download-csv\" href=\"/api/cases.csv\""));

    let csv = client.get("/api/cases.csv").await;
    assert_eq!(csv.status, StatusCode::OK, "{}", csv.body);
    assert_eq!(csv.headers[header::CONTENT_TYPE], "text/csv; charset=utf-8");
    assert!(csv.headers[header::CONTENT_DISPOSITION]
        .to_str()
        .unwrap()
        .starts_with("attachment"));
    let lines: Vec<&str> = csv.body.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(
        lines[0],
        "id,kind,state,domain,domain_ascii,registrar_account,billing_domain_id,at_stake_amount,at_stake_currency,opened,updated,summary"
    );
    assert_eq!(lines.len(), 1 + 7, "{}", csv.body);
    let muller = lines.iter().find(|l| l.contains("müller.shop")).unwrap();
    assert!(
        muller.contains(",müller.shop,xn--mller-kva.shop,fake,7,"),
        "{muller}"
    );
    let cheap = lines.iter().find(|l| l.contains(",b.com,")).unwrap();
    assert!(cheap.contains(",7.50,EUR,"), "{cheap}");
    // The formula is text now, quoted because of its quotes and comma.
    let formula = lines
        .iter()
        .find(|l| l.contains("xn--bckerei-5wa.de"))
        .unwrap();
    assert!(
        formula.ends_with(",\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"click\"\")\""),
        "{formula}"
    );
    assert!(!csv.body.contains(",=") && !csv.body.contains("\"="));
    // Untrusted text is CSV, not HTML: kept as it is (a spreadsheet does not run it).
    assert!(csv.body.contains(HOSTILE_SUMMARY));

    let only = client.get("/api/cases.csv?kind=renewal_underpriced").await;
    assert_eq!(only.body.split("\r\n").filter(|l| !l.is_empty()).count(), 3);
    let bad = client.get("/api/cases.csv?state=gone").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.body.contains("open, resolved or all"));

    let mut anonymous = Client::new(&h.app);
    assert_eq!(
        anonymous.get("/api/cases.csv").await.status,
        StatusCode::UNAUTHORIZED
    );
}

/// A stored forecast: a month of renewals in EUR with one loss-maker, one USD renewal a
/// quarter out, and an account name from a registrar that tries to inject markup.
async fn store_forecast(engine: &Engine, complete: bool) -> i64 {
    use domwatch_core::forecast::{forecast, ForecastOptions, RenewalDue};
    let today = engine.clock.today();
    let due = |name: &str, days: i64, account: &str, billed: Money, cost: Money| RenewalDue {
        domain: DomainName::parse(name).unwrap(),
        due: today + chrono::Duration::days(days),
        account: account.into(),
        billed,
        cost: Some(cost),
    };
    let renewals = vec![
        due("müller.shop", 3, "cnr", eur(dec!(20)), eur(dec!(12))),
        due("a.com", 10, "cnr", eur(dec!(10)), eur(dec!(8))),
        due("loss.net", 17, "<b>hx</b>", eur(dec!(10)), eur(dec!(25))),
        due(
            "c.net",
            70,
            "cnr",
            Money::new(dec!(30), Currency::USD),
            eur(dec!(10)),
        ),
    ];
    let mut table = domwatch_core::money::RateTable::new();
    table.insert(Currency::EUR, Currency::USD, dec!(1.10));
    let rates =
        domwatch_core::pricing::ExchangeRates::new(domwatch_core::money::RateTable::new(), table);
    let report = forecast(renewals, &*engine.clock, &rates, ForecastOptions::default());
    let at = engine.clock.now();
    let run = engine.store.begin_run(at, false).await.unwrap();
    engine
        .store
        .save_forecast(&domwatch_store::ForecastRecord {
            run_id: run,
            computed_at: at,
            complete,
            missing: if complete {
                vec![]
            } else {
                vec!["registrar account <i>hx</i> could not be read".into()]
            },
            report,
        })
        .await
        .unwrap();
    run
}

#[tokio::test]
async fn the_forecast_api_answers_per_window_and_says_when_there_is_none() {
    let h = harness(password_auth()).await;
    let mut client = logged_in(&h).await;
    let none = client.get("/api/forecast").await;
    assert_eq!(none.status, StatusCode::NOT_FOUND);
    assert!(none.body.contains("domwatch check"), "{}", none.body);

    let run = store_forecast(&h.engine, true).await;
    let month = client.get("/api/forecast?days=30").await;
    assert_eq!(month.status, StatusCode::OK, "{}", month.body);
    let v: serde_json::Value = serde_json::from_str(&month.body).unwrap();
    assert_eq!(
        (v["run_id"].as_i64(), &v["complete"]),
        (Some(run), &serde_json::json!(true))
    );
    let eur = &v["window"]["by_currency"]["EUR"];
    // 20 + 10 + 10 billed, 12 + 8 + 25 cost: a margin of -5.
    assert_eq!(
        (
            &eur["domains"],
            &eur["billed"],
            &eur["cost"],
            &eur["margin"]
        ),
        (
            &serde_json::json!(3),
            &serde_json::json!("40"),
            &serde_json::json!("45"),
            &serde_json::json!("-5")
        )
    );
    assert!(
        v["window"]["by_currency"].get("USD").is_none(),
        "due in 70 days"
    );
    assert_eq!(v["loss_makers"]["EUR"][0]["domain"], "loss.net");
    assert_eq!(v["weeks"].as_array().unwrap().len(), 5);

    let quarter: serde_json::Value =
        serde_json::from_str(&client.get("/api/forecast?days=90").await.body).unwrap();
    assert_eq!(quarter["window"]["by_currency"]["USD"]["cost"], "11.00");
    let bad = client.get("/api/forecast?days=45").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.body.contains("30, 60, 90 or 365"));
}

#[tokio::test]
async fn the_forecast_page_draws_its_weekly_chart_and_escapes_registrar_text() {
    let h = harness(password_auth()).await;
    let mut client = logged_in(&h).await;
    let empty = client.get("/forecast").await;
    assert_eq!(empty.status, StatusCode::OK);
    assert!(empty.body.contains("id=\"no-forecast\""));
    assert!(
        empty.body.contains("href=\"/forecast\""),
        "linked from the nav"
    );

    store_forecast(&h.engine, false).await;
    let page = client.get("/forecast?days=30").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let body = &page.body;
    assert!(body.contains("<svg class=\"chart\" id=\"chart-EUR\" role=\"img\""));
    assert!(body.contains("<title id=\"chart-EUR-title\">"));
    assert_eq!(body.matches("<g class=\"week").count(), 5);
    // loss.net is due on day 17: the third week loses money.
    assert_eq!(body.matches("class=\"week loss-week\"").count(), 1);
    assert!(body.contains("id=\"forecast-partial\""));
    assert!(body.contains("&lt;i&gt;hx&lt;/i&gt;") && !body.contains("<i>hx</i>"));
    assert!(body.contains("&lt;b&gt;hx&lt;/b&gt;") && !body.contains("<b>hx</b>"));
    assert!(body.contains("<td>loss.net <span class=\"muted\"><code>loss.net</code>"));
    assert!(!body.contains("style="), "the CSP forbids inline style");
    assert_eq!(
        client.get("/forecast?days=7").await.status,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn tld_prices_page_shows_the_term_table_escaped_and_fix_now_plans_first() {
    use domwatch_core::pricing::{
        compare, ExchangeRates, PriceOperation, PricingRule, RegistrarCosts, Registrars,
        SellPrices, Tld, Years,
    };
    let h = harness(password_auth()).await;
    let tld = Tld::parse("shop").unwrap();
    let mut sell = SellPrices::new();
    sell.insert_whmcs(
        &tld,
        Currency::EUR,
        PriceOperation::Renew,
        Years::ONE,
        "20.00",
    )
    .unwrap();
    let mut costs = RegistrarCosts::new();
    costs
        .set_per_year(&tld, PriceOperation::Renew, eur(dec!(27.00)))
        .unwrap();
    let hostile = "<b>acc</b>";
    let mut registrars = Registrars::new();
    registrars.insert(hostile, costs);
    registrars.set_default(hostile);
    let rule = PricingRule::default();
    let report = compare(&sell, &registrars, &ExchangeRates::default(), &rule);
    let store = &h.engine.store;
    let run = store.begin_run(Utc::now(), false).await.unwrap();
    store
        .sync_price_findings(run, Utc::now(), &report.findings, &HashSet::new())
        .await
        .unwrap();
    let id = store.price_cases(true).await.unwrap()[0].id;

    let mut client = logged_in(&h).await;
    let page = client.get("/tld-prices").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("TLD sold below cost"), "{}", page.body);
    assert!(
        page.body.contains("33.99 EUR"),
        "proposed price rounded to .99"
    );
    assert!(page.body.contains("&lt;b&gt;acc&lt;/b&gt;") && !page.body.contains(hostile));
    let csrf = page.csrf();
    let preview = client
        .post_form(&format!("/tld-prices/{id}/preview"), &[("csrf", &csrf)])
        .await;
    assert_eq!(preview.status, StatusCode::OK);
    // No WHMCS database in this engine: the plan is a by-hand step with the exact values.
    assert!(
        preview.body.contains("1 year(s): 33.99"),
        "{}",
        preview.body
    );
    assert!(preview.body.contains("by hand"), "{}", preview.body);
    assert!(store.audit_log(10, None).await.unwrap().is_empty());
    let api = client.get("/api/tld-prices").await;
    assert!(
        api.body.contains("tld-price:shop:renew:EUR"),
        "{}",
        api.body
    );
}

// ---- large stores: the summary, the case list, the paged API ----------------------------

/// Opens `n` more cases of one kind, `bulkNNNN.example`, with stakes of NNNN cents.
async fn seed_bulk(engine: &Engine, kind: CaseKind, n: u32) {
    let findings: Vec<Finding> = (1..=n)
        .map(|i| {
            let name = format!("bulk{i:04}.example");
            let mut f = finding(kind, &name, Some(u64::from(i)), &format!("{name} drifts"));
            f.at_stake = Some(eur(rust_decimal::Decimal::new(i64::from(i), 2)));
            f
        })
        .collect();
    let at = engine.clock.now();
    let run = engine.store.begin_run(at, false).await.unwrap();
    engine
        .store
        .sync_findings(run, at, &findings, &HashSet::new())
        .await
        .unwrap();
}

#[tokio::test]
async fn the_summary_shows_each_kinds_top_cases_and_links_to_the_rest() {
    let h = harness(password_auth()).await;
    seed(&h.engine).await;
    seed_bulk(&h.engine, CaseKind::StatusDrift, 7).await;
    let mut client = logged_in(&h).await;
    let page = client.get("/").await;
    assert!(
        page.body.contains("<h1>13 open cases</h1>"),
        "{}",
        page.body
    );
    let status = section(&page.body, "kind-status_drift");
    assert!(
        status.contains("<span class=\"badge count\">8</span>"),
        "{status}"
    );
    assert_eq!(status.matches("class=\"case-link\"").count(), 5, "{status}");
    // The most at stake first: bulk0007 (0.07 EUR) … bulk0003; evil.org has none.
    assert!(status.contains("bulk0007.example") && !status.contains("bulk0002.example"));
    assert!(!status.contains("evil.org"), "{status}");
    assert!(
        status.contains(
            "<a class=\"kind-all\" href=\"/cases?kind=status_drift\">All 8 cases of this kind</a>"
        ),
        "{status}"
    );
    // Kinds that fit show no "all" link.
    assert!(!section(&page.body, "kind-renewal_underpriced").contains("kind-all"));
    assert!(page.body.contains("id=\"case-list\" href=\"/cases\""));
}

#[tokio::test]
async fn the_case_list_filters_sorts_and_pages_with_links_that_keep_the_filters() {
    let h = harness(password_auth()).await;
    seed(&h.engine).await;
    seed_bulk(&h.engine, CaseKind::StatusDrift, 5).await;
    let mut client = logged_in(&h).await;

    let all = client.get("/cases").await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.body);
    assert!(
        all.body
            .contains("<strong>11</strong> cases match · page 1 of 1"),
        "{}",
        all.body
    );
    assert_eq!(all.body.matches("class=\"case-row\"").count(), 11);
    assert!(!all.body.contains("id=\"pager\""));
    // Untrusted text stays text.
    assert!(!all.body.contains(HOSTILE_SUMMARY));
    assert!(all
        .body
        .contains("&lt;script&gt;alert(&#39;pwned&#39;)&lt;/script&gt;"));

    let kind = client.get("/cases?kind=renewal_underpriced").await;
    assert_eq!(kind.body.matches("class=\"case-row\"").count(), 2);
    assert!(kind
        .body
        .contains("<option value=\"renewal_underpriced\" selected>"));
    // A Unicode name finds its A-label; the form shows what was typed.
    let idn = client.get("/cases?q=M%C3%BCller").await;
    assert_eq!(
        idn.body.matches("class=\"case-row\"").count(),
        1,
        "{}",
        idn.body
    );
    assert!(idn.body.contains("müller.shop") && idn.body.contains("value=\"Müller\""));
    // The client column links to that client's cases (a.com is billed to client 108).
    assert!(all.body.contains("<a href=\"/cases?client=108\">#108</a>"));
    let client_108 = client.get("/cases?client=108").await;
    assert_eq!(client_108.body.matches("class=\"case-row\"").count(), 1);
    let usd = client.get("/cases?currency=usd&min_at_stake=5").await;
    assert_eq!(usd.body.matches("class=\"case-row\"").count(), 1);
    assert!(usd.body.contains("c.net"));

    // Pages of four by domain: the links keep the filters and the sort.
    let first = client
        .get("/cases?sort=domain&per_page=4&account=fake")
        .await;
    assert!(first.body.contains("page 1 of 3"), "{}", first.body);
    let next = "href=\"/cases?sort=domain&amp;per_page=4&amp;account=fake&amp;page=2\"";
    assert!(
        first.body.contains(&format!("rel=\"next\" {next}")),
        "{}",
        first.body
    );
    assert!(first.body.contains(
        "rel=\"last\" href=\"/cases?sort=domain&amp;per_page=4&amp;account=fake&amp;page=3\""
    ));
    let last = client
        .get("/cases?sort=domain&per_page=4&account=fake&page=3")
        .await;
    assert_eq!(last.body.matches("class=\"case-row\"").count(), 3);
    assert!(last.body.contains("rel=\"prev\"") && !last.body.contains("rel=\"next\""));
    assert!(last.body.contains("xn--mller-kva.shop") || last.body.contains("müller.shop"));
    assert!(first
        .body
        .contains("id=\"download-filtered-csv\" href=\"/api/cases.csv?account=fake\""));
    // A value from the URL is escaped in the form.
    let odd = client.get("/cases?account=%22%3E%3Cb%3Ex").await;
    assert!(
        odd.body.contains("value=\"&quot;&gt;&lt;b&gt;x\""),
        "{}",
        odd.body
    );

    for (uri, parameter) in [
        ("/cases?page=0", "`page`"),
        ("/cases?knd=status_drift", "`knd`"),
        ("/cases?q=%3Cscript%3E", "`q`"),
        ("/cases?sort=price", "`sort`"),
    ] {
        let bad = client.get(uri).await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{uri}");
        assert!(bad.body.contains(parameter), "{uri}: {}", bad.body);
        assert!(!bad.body.contains("<script>"), "{}", bad.body);
    }
}

#[tokio::test]
async fn the_api_pages_with_total_and_next_and_the_csv_streams_the_filtered_list() {
    let h = harness(password_auth()).await;
    seed(&h.engine).await;
    seed_bulk(&h.engine, CaseKind::StatusDrift, 2_345).await;
    let mut client = logged_in(&h).await;

    let mut uri = "/api/cases?kind=status_drift&per_page=500&sort=oldest".to_string();
    let mut seen = HashSet::new();
    let mut pages = 0;
    loop {
        let answer = client.get(&uri).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        let v: serde_json::Value = serde_json::from_str(&answer.body).unwrap();
        assert_eq!(v["total"], 2_346);
        assert_eq!(v["pages"], 5);
        for c in v["cases"].as_array().unwrap() {
            assert_eq!(c["kind"], "status_drift");
            assert!(seen.insert(c["id"].as_i64().unwrap()));
        }
        pages += 1;
        match v["next"].as_str() {
            Some(next) => uri = next.to_string(),
            None => break,
        }
    }
    assert_eq!((pages, seen.len()), (5, 2_346));
    let search: serde_json::Value =
        serde_json::from_str(&client.get("/api/cases?q=bulk0042&page=1").await.body).unwrap();
    assert_eq!(search["total"], 1);
    assert_eq!(search["cases"][0]["domain"], "bulk0042.example");
    assert!(search["next"].is_null());
    let bad = client.get("/api/cases?min_at_stake=lots").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let error: serde_json::Value = serde_json::from_str(&bad.body).unwrap();
    assert!(error["error"].as_str().unwrap().contains("`min_at_stake`"));

    // The CSV is the whole filtered list, written in batches of a thousand.
    let csv = client.get("/api/cases.csv?kind=status_drift").await;
    assert_eq!(csv.status, StatusCode::OK);
    let lines: Vec<&str> = csv.body.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 1 + 2_346);
    assert!(lines[0].starts_with("id,kind,state,domain"));
    let ids: HashSet<&str> = lines[1..]
        .iter()
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert_eq!(ids.len(), 2_346);
    let only = client.get("/api/cases.csv?tld=shop").await;
    assert_eq!(only.body.split("\r\n").filter(|l| !l.is_empty()).count(), 2);
    let paged = client.get("/api/cases.csv?page=2").await;
    assert_eq!(paged.status, StatusCode::BAD_REQUEST);
    assert!(paged.body.contains("whole filtered list"));
}

#[tokio::test]
async fn the_webhooks_page_lists_deliveries_escaped() {
    let h = harness(password_auth()).await;
    let store = &h.engine.store;
    let mut client = logged_in(&h).await;
    let empty = client.get("/webhooks").await;
    assert_eq!(empty.status, StatusCode::OK);
    assert!(
        empty.body.contains("id=\"webhooks-empty\""),
        "{}",
        empty.body
    );

    let endpoint = domwatch_store::WebhookEndpoint {
        key: "hooks.example#0123456789ab".into(),
        host: "hooks.example".into(),
    };
    store
        .register_webhook_endpoints(std::slice::from_ref(&endpoint))
        .await
        .unwrap();
    seed(&h.engine).await; // six cases open: six case.opened events
    let at = h.engine.clock.now();
    let mut n = 0;
    let mut ids = || {
        n += 1;
        format!("<i>delivery</i>-{n}")
    };
    let kinds = domwatch_core::webhook::EventKind::ALL;
    let queued = store
        .fan_out_webhook_events(&endpoint.key, &kinds, at, &mut ids)
        .await
        .unwrap();
    assert_eq!(queued, 6);
    let claimed = store
        .claim_webhook_deliveries(
            "test",
            std::slice::from_ref(&endpoint.key),
            at,
            at + chrono::Duration::minutes(1),
            1,
        )
        .await
        .unwrap();
    let failure = domwatch_store::DeliveryOutcome::Failed {
        status: None,
        error: "<script>alert(1)</script>".into(),
        retry_at: Some(at + chrono::Duration::seconds(30)),
    };
    assert!(store
        .finish_webhook_delivery(claimed[0].id, "test", at, &failure)
        .await
        .unwrap());

    let page = client.get("/webhooks").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.body.matches("class=\"webhook-delivery\"").count(), 6);
    assert!(page.body.contains("hooks.example"));
    assert!(page.body.contains("case.opened"));
    assert!(page.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(!page.body.contains("<script>alert"), "{}", page.body);
    assert!(page.body.contains("&lt;i&gt;delivery&lt;/i&gt;-1"));
    assert!(
        !page.body.contains("0123456789ab"),
        "the endpoint key is not shown"
    );

    let metrics = client.get("/metrics").await;
    assert!(
        metrics
            .body
            .contains("domwatch_webhook_deliveries{status=\"pending\"} 6"),
        "{}",
        metrics.body
    );
    assert!(metrics
        .body
        .contains("domwatch_webhook_deliveries{status=\"failed\"} 0"));
}

#[tokio::test]
async fn fix_all_shown_plans_first_then_applies_in_the_background_once() {
    let h = harness(password_auth()).await;
    seed(&h.engine).await;
    let mut client = logged_in(&h).await;
    let list = client.get("/cases?kind=renewal_underpriced").await;
    assert!(list.body.contains("id=\"fix-all\""), "{}", list.body);
    assert!(list
        .body
        .contains("href=\"/cases/bulk-fix?kind=renewal_underpriced\""));
    let unfiltered = client.get("/cases").await;
    assert!(!unfiltered.body.contains("id=\"fix-all\""));

    // The plan writes nothing and lists every write in its CSV.
    let plan = client.get("/cases/bulk-fix?kind=renewal_underpriced").await;
    assert_eq!(plan.status, StatusCode::OK, "{}", plan.body);
    let n = h
        .engine
        .store
        .cases(domwatch_store::CaseFilter {
            state: Some(domwatch_store::CaseState::Open),
            kind: Some(CaseKind::RenewalUnderpriced),
        })
        .await
        .unwrap()
        .len();
    assert!(
        plan.body
            .contains(&format!("{n} cases: <strong>{n} to fix</strong>")),
        "{}",
        plan.body
    );
    assert!(plan.body.contains("set_recurring_amount"));
    let csv = client
        .get("/cases/bulk-fix.csv?kind=renewal_underpriced")
        .await;
    assert_eq!(csv.body.lines().count(), n + 1, "{}", csv.body);
    assert!(h.billing.domain_updates.lock().unwrap().is_empty());
    let no_kind = client.get("/cases/bulk-fix").await;
    assert_eq!(no_kind.status, StatusCode::BAD_REQUEST);

    // Apply: a background task, then its progress page.
    let csrf = plan.csrf();
    let started = client
        .post_form(
            "/cases/bulk-fix",
            &[("csrf", &csrf), ("filters", "kind=renewal_underpriced")],
        )
        .await;
    assert_eq!(started.status, StatusCode::SEE_OTHER, "{}", started.body);
    assert_eq!(started.location(), Some("/bulk-fix/1"));
    let mut page = client.get("/bulk-fix/1").await;
    for _ in 0..200 {
        if page.body.contains("Finished:") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        page = client.get("/bulk-fix/1").await;
    }
    assert!(
        page.body
            .contains(&format!("Finished: {n} fixed ({n} writes)")),
        "{}",
        page.body
    );
    assert_eq!(h.billing.domain_updates.lock().unwrap().len(), n);

    // Again: everything was applied, nothing is written twice.
    let again = client.get("/cases/bulk-fix?kind=renewal_underpriced").await;
    assert!(
        again.body.contains("id=\"nothing-to-write\""),
        "{}",
        again.body
    );
    let without_csrf = client
        .post_form(
            "/cases/bulk-fix",
            &[("filters", "kind=renewal_underpriced")],
        )
        .await;
    assert_eq!(without_csrf.status, StatusCode::FORBIDDEN);
    assert_eq!(h.billing.domain_updates.lock().unwrap().len(), n);
}
