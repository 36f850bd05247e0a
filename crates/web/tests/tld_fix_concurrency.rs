//! Fix now of a TLD price case is at most once, also under concurrency: 20 parallel
//! `POST /api/tld-prices/{id}/fix` against the real web server, the sandbox WHMCS on
//! MariaDB (the fix writes `tblpricing` through the database) and the sandbox registrars.
//! One request writes; the others find the fix in progress (409) or already applied.
//!
//! MariaDB: `DOMWATCH_TEST_MYSQL_URL` (default `mysql://root@127.0.0.1:3306`); the test
//! creates its own database and prints `SKIPPED` when the server is not reachable (fails
//! instead with `DOMWATCH_REQUIRE_MARIADB=1` or `CI=true`).

mod common;
use common::http::{serve, session};
use domwatch_core::detect::DetectionPolicy;
use domwatch_sandbox::registrar::RegistrarEvent;
use domwatch_testkit::{apply_cycle, world_with_options, TestDatabase, WorldOptions};
use rust_decimal_macros::dec;
use sqlx::{Connection, Row};
use std::sync::Arc;

const REQUESTS: usize = 20;

/// The outcome name of the fix's one step (`applied`, `already_applied`, ...).
fn outcome(body: &serde_json::Value) -> &str {
    body["report"]["steps"][0]["outcome"]["outcome"]
        .as_str()
        .unwrap_or("")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_parallel_tld_price_fixes_write_once() {
    let Some(database) = TestDatabase::mariadb("tld_fix_concurrency").await else {
        return;
    };
    let url = database.url.clone();
    let mut policy = DetectionPolicy::default();
    policy.tld_prices.enabled = true;
    let mut options = WorldOptions::new(policy);
    options.whmcs_mysql = Some(url.clone());
    let w = world_with_options(options).await;
    apply_cycle(&w.engine).await;
    w.registrars[0]
        .apply(RegistrarEvent::ZonePrice {
            zone: "net".into(),
            renew: dec!(20.00),
            register: None,
            transfer: None,
        })
        .unwrap();
    apply_cycle(&w.engine).await;
    let cases = w.engine.store.price_cases(true).await.unwrap();
    let case = cases
        .iter()
        .find(|c| c.key == "tld-price:net:renew:EUR")
        .expect("the rise opened the case");

    let base = format!("http://{}", serve(w.engine.clone()).await);
    let http = reqwest::Client::new();
    let (cookie, csrf) = session(&http, &base).await;
    let start = Arc::new(tokio::sync::Barrier::new(REQUESTS));
    let mut requests = tokio::task::JoinSet::new();
    for _ in 0..REQUESTS {
        let (http, start) = (http.clone(), start.clone());
        let url = format!("{base}/api/tld-prices/{}/fix", case.id);
        let (cookie, csrf) = (cookie.clone(), csrf.clone());
        requests.spawn(async move {
            start.wait().await;
            let answer = http
                .post(url)
                .header(reqwest::header::COOKIE, cookie)
                .header("X-CSRF-Token", csrf)
                .json(&serde_json::json!({}))
                .send()
                .await
                .unwrap();
            let status = answer.status().as_u16();
            (status, answer.json::<serde_json::Value>().await.unwrap())
        });
    }
    let answers = requests.join_all().await;

    let applied = answers
        .iter()
        .filter(|(status, body)| *status == 200 && outcome(body) == "applied")
        .count();
    assert_eq!(applied, 1, "{answers:#?}");
    for (status, body) in &answers {
        match status {
            200 => assert!(
                matches!(outcome(body), "applied" | "already_applied"),
                "{body:#}"
            ),
            409 => assert!(
                body["error"]
                    .as_str()
                    .unwrap()
                    .contains("already in progress"),
                "{body:#}"
            ),
            other => panic!("unexpected answer {other}: {body:#}"),
        }
    }
    let audit = w.engine.store.audit_log(1000, None).await.unwrap();
    let writes = audit
        .iter()
        .filter(|a| a.entry.operation == "tblpricing")
        .count();
    assert_eq!(writes, 1, "exactly one audited write of tblpricing");
    let mut conn = sqlx::MySqlConnection::connect(&url).await.unwrap();
    let row = sqlx::query(
        "SELECT CAST(p.msetupfee AS CHAR) AS y1 FROM tblpricing p JOIN tbldomainpricing d ON d.id = p.relid \
         WHERE d.extension = '.net' AND p.type = 'domainrenew' AND p.currency = 1 AND p.tsetupfee = 0",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(row.get::<String, _>("y1"), "25.99");
    conn.close().await.unwrap();
    drop(w);
    database.drop_database().await;
}
