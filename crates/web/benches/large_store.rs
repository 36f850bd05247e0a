//! The dashboard and API over a large store: 30,000 open cases (and 5,000 resolved ones) in
//! a SQLite file, requests sent through the router in process (no network), latency and
//! answer size per page. `cargo bench -p domwatch-web --bench large_store`.
//!
//! * `DOMWATCH_BENCH_CASES` (default 30000): open cases to seed.
//! * `DOMWATCH_BENCH_REQUESTS` (default 100): requests per page measured (after 5 warm-up).
//! * `DOMWATCH_BENCH_DATABASE_URL`: another store, e.g. an empty PostgreSQL database
//!   (`postgres://postgres@127.0.0.1:5432/domwatch_bench`); default a SQLite file in a
//!   temporary directory. On PostgreSQL the bench runs `VACUUM ANALYZE cases` after seeding,
//!   as autovacuum would shortly after a large cycle.

#[path = "../tests/common/mod.rs"]
mod common;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use chrono::{TimeZone, Utc};
use common::{FakeBilling, FakeRegistrar};
use domwatch_core::detect::{CaseKind, Evidence, Facts, Finding};
use domwatch_core::{Currency, DomainName, FixedClock, Money};
use domwatch_engine::{Account, Engine};
use domwatch_store::Store;
use domwatch_web::{router, AuthConfig, WebState};
use http_body_util::BodyExt;
use rust_decimal::Decimal;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tower::ServiceExt;

const ZONES: [&str; 8] = ["com", "de", "net", "co.uk", "shop", "org", "eu", "at"];
const ACCOUNTS: [&str; 3] = ["cnr", "ispapi", "smartnic"];

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Case `i`: kinds skewed like a real first cycle (a few kinds hold most cases), one name
/// in fifty an IDN, money at stake in EUR or USD on nine cases in ten.
fn finding(i: usize) -> Finding {
    let kinds = CaseKind::ALL;
    let kind = if i.is_multiple_of(3) {
        kinds[i % kinds.len()]
    } else {
        kinds[(i / 3) % 4]
    };
    let zone = ZONES[i % ZONES.len()];
    let name = if i.is_multiple_of(50) {
        format!("müller-{i}.{zone}")
    } else {
        format!("shop{i:06}-example.{zone}")
    };
    let domain = DomainName::parse(&name).unwrap();
    let at_stake = (!i.is_multiple_of(10)).then(|| {
        let currency = if i.is_multiple_of(4) {
            Currency::USD
        } else {
            Currency::EUR
        };
        Money::new(Decimal::new(((i * 7919) % 9000 + 99) as i64, 2), currency)
    });
    let evidence = [
        ("Expiry", Some("2026-12-01"), Some("2027-12-01")),
        ("Status", Some("Active"), Some("ACTIVE")),
        ("Recurring amount", Some("12.00 EUR"), None),
    ]
    .map(|(label, billing, registrar)| Evidence {
        label: label.into(),
        billing: billing.map(String::from),
        registrar: registrar.map(String::from),
    })
    .to_vec();
    Finding {
        kind,
        summary: format!(
            "{} renews at the registrar for more than the client pays; see the evidence",
            domain.display()
        ),
        domain,
        billing_domain_id: Some(i as u64),
        registrar_account: Some(ACCOUNTS[i % ACCOUNTS.len()].into()),
        client_id: Some((i % 4000 + 1) as u64),
        evidence,
        at_stake,
        facts: Facts::default(),
    }
}

/// `open` open cases and `resolved` resolved ones.
async fn seed(store: &Store, open: usize, resolved: usize) {
    let all: Vec<Finding> = (0..open + resolved).map(finding).collect();
    let at = Utc.with_ymd_and_hms(2026, 11, 22, 3, 0, 0).unwrap();
    let run = store.begin_run(at, false).await.unwrap();
    store
        .sync_findings(run, at, &all, &HashSet::new())
        .await
        .unwrap();
    let gone: HashSet<DomainName> = all[open..].iter().map(|f| f.domain.clone()).collect();
    let later = at + chrono::Duration::hours(1);
    let run = store.begin_run(later, false).await.unwrap();
    let out = store
        .sync_findings(run, later, &all[..open], &gone)
        .await
        .unwrap();
    assert_eq!(out.resolved.len(), resolved);
    store
        .finish_run(run, later, Ok(&serde_json::json!({})))
        .await
        .unwrap();
}

fn engine(store: Store) -> Engine {
    Engine {
        store,
        billing: Arc::new(FakeBilling::default()),
        whmcs_db: None,
        notifier: None,
        accounts: vec![Account {
            name: "cnr".into(),
            modules: vec!["cnr".into()],
            port: Arc::new(FakeRegistrar::default()),
        }],
        clock: Arc::new(FixedClock::new(
            Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap(),
        )),
        policy: Default::default(),
        fixed_rates: Vec::new(),
        concurrency: 1,
        notices: Default::default(),
    }
}

/// One request; the status, the answer's size and how long it took, body included.
async fn get(app: &Router, cookie: &str, uri: &str) -> (StatusCode, usize, Duration) {
    let request = Request::get(uri)
        .header(header::COOKIE, cookie)
        .body(Body::empty())
        .unwrap();
    let started = Instant::now();
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, bytes.len(), started.elapsed())
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

async fn measure(app: &Router, cookie: &str, label: &str, uri: &str, requests: usize) {
    let warm_up = requests.min(5);
    let mut times = Vec::with_capacity(requests);
    let mut size = 0;
    for i in 0..warm_up + requests {
        let (status, bytes, took) = get(app, cookie, uri).await;
        assert_eq!(status, StatusCode::OK, "{uri}");
        size = bytes;
        if i >= warm_up {
            times.push(took);
        }
    }
    times.sort();
    let at = |q: f64| times[((times.len() as f64 - 1.0) * q).round() as usize];
    println!(
        "| {label} | `{uri}` | {} | {} | {} | {} | {} |",
        times.len(),
        ms(at(0.5)),
        ms(at(0.95)),
        ms(times[times.len() - 1]),
        size
    );
}

#[tokio::main]
async fn main() {
    let open = env_number("DOMWATCH_BENCH_CASES", 30_000);
    let requests = env_number("DOMWATCH_BENCH_REQUESTS", 100).max(1);
    let dir = tempfile::tempdir().unwrap();
    let url = std::env::var("DOMWATCH_BENCH_DATABASE_URL")
        .unwrap_or_else(|_| format!("sqlite://{}/bench.db", dir.path().display()));
    let store = Store::connect(&url).await.expect("bench store");
    let started = Instant::now();
    seed(&store, open, open / 6).await;
    eprintln!(
        "seeded {open} open and {} resolved cases into {} in {:.1} s",
        open / 6,
        domwatch_store::redact_url(&url),
        started.elapsed().as_secs_f64()
    );
    if url.starts_with("postgres") {
        // The steady state autovacuum reaches a minute after a large cycle: statistics and
        // the visibility map (index-only scans) up to date.
        use sqlx::{Connection, Executor};
        let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
        conn.execute("VACUUM ANALYZE cases").await.unwrap();
    }
    // Open access: the bench is this machine; one cookie for every request, like a browser.
    let app = router(WebState::new(engine(store), AuthConfig::open_access()));
    let first = app
        .clone()
        .oneshot(Request::get("/").body(Body::empty()).unwrap())
        .await
        .unwrap();
    let cookie = first.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();

    println!("| page | request | n | median ms | p95 ms | max ms | bytes |");
    println!("|---|---|---:|---:|---:|---:|---:|");
    let pages = [
        ("summary by kind", "/"),
        ("case list, first page", "/cases"),
        ("filtered by kind", "/cases?kind=turned_premium"),
        (
            "several filters, oldest first",
            "/cases?tld=de&currency=EUR&min_at_stake=10&account=cnr&sort=oldest",
        ),
        ("page 100", "/cases?page=100"),
        ("search, Unicode", "/cases?q=m%C3%BCller-1000"),
        ("search, ASCII substring", "/cases?q=0042"),
        ("API, one page", "/api/cases?per_page=100"),
        (
            "API, filtered page 20",
            "/api/cases?kind=turned_premium&page=20&per_page=50",
        ),
        ("metrics", "/metrics"),
    ];
    for (label, uri) in pages {
        measure(&app, &cookie, label, uri, requests).await;
    }
    // The unpaged forms answer every open case: a few runs say what that costs.
    let few = requests.clamp(1, 5);
    measure(
        &app,
        &cookie,
        "API, whole list (no paging)",
        "/api/cases",
        few,
    )
    .await;
    measure(
        &app,
        &cookie,
        "CSV export, whole list",
        "/api/cases.csv",
        few,
    )
    .await;
}
