//! Fix now is at most once, also under concurrency: 20 parallel `POST /api/cases/{id}/fix`
//! on a `transfer_failed_premium` case (option `absorb`, which retries the transfer through
//! WHMCS `DomainTransfer`), against the real web server over HTTP, the sandbox WHMCS and
//! sandbox registrars, on SQLite and on PostgreSQL.
//!
//! PostgreSQL: `DOMWATCH_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`);
//! the test creates and drops its own database, and prints `SKIPPED` when the server is not
//! reachable (fails instead with `DOMWATCH_REQUIRE_POSTGRES=1` or `CI=true`).

mod common;
use chrono::{NaiveDate, TimeZone, Utc};
use common::http::{serve, session};
use domwatch_core::detect::CaseKind;
use domwatch_core::model::Dialect;
use domwatch_core::plan::Action;
use domwatch_core::ports::RegistrarPort;
use domwatch_core::{Clock, FixedClock};
use domwatch_engine::{Account, Engine, Mode, NoProgress};
use domwatch_rrp::{ClientConfig, Environment, RrpClient};
use domwatch_sandbox::registrar::{RegistrarSandbox, RegistrarSandboxConfig};
use domwatch_sandbox::smartnic::{SmartnicSandbox, SmartnicSandboxConfig};
use domwatch_sandbox::whmcs::{WhmcsSandbox, WhmcsSandboxConfig};
use domwatch_smartnic::{SmartnicClient, SmartnicConfig};
use domwatch_store::{CaseFilter, CaseState, Store};
use domwatch_testkit::TestStore;
use domwatch_whmcs::{BillingPort, WhmcsClient, WhmcsConfig};
use std::sync::Arc;
use std::time::Duration;

const SEED: u64 = 42;
const DOMAINS: usize = 200;
const REQUESTS: usize = 20;

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 22).unwrap()
}

/// The sandboxes, kept alive for the test.
struct Sandboxes {
    whmcs: WhmcsSandbox,
    _registrars: Vec<RegistrarSandbox>,
    _smartnic: SmartnicSandbox,
}

/// An engine on `store` over the sandbox WHMCS and the three sandbox registrars.
async fn engine_on(store: Store) -> (Engine, Sandboxes) {
    let whmcs = domwatch_sandbox::whmcs::start(WhmcsSandboxConfig::new(SEED, DOMAINS, today()))
        .await
        .expect("sandbox WHMCS");
    let mut accounts = Vec::new();
    let mut registrars = Vec::new();
    for (name, dialect, module) in [
        ("cnr", Dialect::Cnr, "cnic"),
        ("hexonet", Dialect::Ispapi, "ispapi"),
    ] {
        let sandbox =
            RegistrarSandbox::start(RegistrarSandboxConfig::new(dialect, SEED, DOMAINS, today()))
                .await
                .expect("sandbox registrar");
        let mut cc = ClientConfig::new(
            dialect,
            Environment::Ote,
            sandbox.login(),
            sandbox.password(),
        );
        cc.endpoint = Some(sandbox.endpoint().parse().unwrap());
        cc.total_timeout = Duration::from_secs(20);
        let port: Arc<dyn RegistrarPort> = Arc::new(RrpClient::new(cc).unwrap());
        accounts.push(Account {
            name: name.into(),
            modules: vec![module.into()],
            port,
        });
        registrars.push(sandbox);
    }
    let smartnic = SmartnicSandbox::start(SmartnicSandboxConfig::new(SEED, DOMAINS, today()))
        .await
        .expect("Smart-NIC sandbox");
    let mut sc = SmartnicConfig::new(smartnic.login(), smartnic.password());
    sc.endpoint = smartnic.endpoint();
    sc.timeout = Duration::from_secs(20);
    accounts.push(Account {
        name: "dbs".into(),
        modules: vec!["smartnic".into()],
        port: Arc::new(SmartnicClient::new(sc).unwrap()),
    });
    let billing: Arc<dyn BillingPort> = Arc::new(
        WhmcsClient::new(
            WhmcsConfig::new(&whmcs.base_url(), whmcs.identifier(), whmcs.secret()).unwrap(),
        )
        .unwrap(),
    );
    let clock: Arc<dyn Clock> = Arc::new(FixedClock::new(
        Utc.with_ymd_and_hms(2026, 11, 22, 3, 0, 0).unwrap(),
    ));
    let engine = Engine {
        store,
        billing,
        whmcs_db: None,
        notifier: None,
        accounts,
        clock,
        policy: Default::default(),
        fixed_rates: Vec::new(),
        concurrency: 4,
        notices: Default::default(),
    };
    let sandboxes = Sandboxes {
        whmcs,
        _registrars: registrars,
        _smartnic: smartnic,
    };
    (engine, sandboxes)
}

/// WHMCS API calls of one action (normalised name, e.g. `domaintransfer`) so far.
async fn whmcs_calls(whmcs: &WhmcsSandbox, action: &str) -> u64 {
    let state: serde_json::Value = reqwest::get(format!("{}_sandbox/state", whmcs.base_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    state["api_calls_by_action"][action].as_u64().unwrap_or(0)
}

async fn twenty_parallel_fixes_write_one_transfer(store: Store) {
    let (engine, sandboxes) = engine_on(store).await;
    let report = engine
        .run_cycle(Mode::Apply, &NoProgress)
        .await
        .expect("a cycle on the sandboxes");
    assert!(report.failed_accounts.is_empty(), "{report:?}");
    let cases = engine
        .store
        .cases(CaseFilter {
            state: Some(CaseState::Open),
            kind: Some(CaseKind::TransferFailedPremium),
        })
        .await
        .unwrap();
    let case = cases
        .first()
        .expect("the portfolio plants a failed premium transfer");
    let (_, options) = engine.fix_options(case.id).await.unwrap();
    let absorb = options.iter().find(|o| o.name == "absorb").unwrap();
    assert!(absorb
        .actions
        .iter()
        .any(|a| matches!(a, Action::RetryTransfer { .. })));
    let events_before = engine.store.case_events(case.id).await.unwrap().len();
    assert_eq!(whmcs_calls(&sandboxes.whmcs, "domaintransfer").await, 0);

    let addr = serve(engine.clone()).await;
    let base = format!("http://{addr}");
    let http = reqwest::Client::new();
    let (cookie, csrf) = session(&http, &base).await;
    let start = Arc::new(tokio::sync::Barrier::new(REQUESTS));
    let mut requests = tokio::task::JoinSet::new();
    for _ in 0..REQUESTS {
        let (http, start) = (http.clone(), start.clone());
        let (url, cookie, csrf) = (
            format!("{base}/api/cases/{}/fix", case.id),
            cookie.clone(),
            csrf.clone(),
        );
        requests.spawn(async move {
            start.wait().await;
            let answer = http
                .post(url)
                .header(reqwest::header::COOKIE, cookie)
                .header("X-CSRF-Token", csrf)
                .json(&serde_json::json!({"option": "absorb"}))
                .send()
                .await
                .unwrap();
            let status = answer.status().as_u16();
            (status, answer.json::<serde_json::Value>().await.unwrap())
        });
    }
    let answers = requests.join_all().await;

    // Exactly one request applied the fix. Every other one either arrived while it ran
    // (409, "already in progress") or after it finished (200, every step already applied).
    let outcomes = |body: &serde_json::Value| -> Vec<String> {
        body["report"]["steps"]
            .as_array()
            .map(|steps| {
                steps
                    .iter()
                    // {"outcome": {"outcome": "applied", "detail": "…"}}
                    .map(|s| s["outcome"]["outcome"].as_str().unwrap().to_string())
                    .collect()
            })
            .unwrap_or_default()
    };
    let applied: Vec<_> = answers
        .iter()
        .filter(|(status, body)| *status == 200 && outcomes(body).iter().any(|o| o == "applied"))
        .collect();
    assert_eq!(applied.len(), 1, "{answers:#?}");
    assert_eq!(applied[0].1["succeeded"], true, "{:#?}", applied[0]);
    let mut in_progress = 0;
    let mut after_it = 0;
    for (status, body) in answers.iter().filter(|a| !applied.contains(a)) {
        match status {
            409 => {
                let error = body["error"].as_str().unwrap();
                assert!(
                    error.contains(&format!("a fix of case {} is already in progress", case.id))
                        && error.contains("wait for it and look at the case again"),
                    "{error}"
                );
                in_progress += 1;
            }
            200 => {
                assert!(
                    outcomes(body)
                        .iter()
                        .all(|o| o == "already_applied" || o == "manual"),
                    "{body:#}"
                );
                assert!(outcomes(body).iter().any(|o| o == "already_applied"));
                after_it += 1;
            }
            other => panic!("unexpected answer {other}: {body:#}"),
        }
    }
    assert_eq!(in_progress + after_it, REQUESTS - 1);
    eprintln!("{REQUESTS} parallel fixes: 1 applied, {in_progress} answered 409 (in progress), {after_it} answered 200 (already applied)");

    assert_eq!(
        whmcs_calls(&sandboxes.whmcs, "domaintransfer").await,
        1,
        "exactly one DomainTransfer reaches WHMCS"
    );
    let audit = engine.store.audit_log(1000, None).await.unwrap();
    let transfers: Vec<_> = audit
        .iter()
        .filter(|a| a.entry.operation == "DomainTransfer")
        .collect();
    assert_eq!(transfers.len(), 1, "{transfers:#?}");
    assert!(transfers[0].entry.ok);
    assert_eq!(transfers[0].entry.case_id, Some(case.id));
    let events = engine.store.case_events(case.id).await.unwrap();
    let fixed: Vec<_> = events[events_before..]
        .iter()
        .filter(|e| e.event == "fixed" || e.event == "fix_failed")
        .collect();
    assert_eq!(fixed.len(), 1, "{fixed:#?}");
    assert_eq!(fixed[0].event, "fixed");

    // A later press finds everything applied: 200, nothing written, no new event.
    let late = http
        .post(format!("{base}/api/cases/{}/fix", case.id))
        .header(reqwest::header::COOKIE, &cookie)
        .header("X-CSRF-Token", &csrf)
        .json(&serde_json::json!({"option": "absorb"}))
        .send()
        .await
        .unwrap();
    assert_eq!(late.status(), 200);
    assert_eq!(whmcs_calls(&sandboxes.whmcs, "domaintransfer").await, 1);
    assert_eq!(
        engine.store.case_events(case.id).await.unwrap().len(),
        events.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_twenty_parallel_fixes_write_one_transfer() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::connect(&format!("sqlite://{}", dir.path().join("dw.db").display()))
        .await
        .unwrap();
    twenty_parallel_fixes_write_one_transfer(store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_twenty_parallel_fixes_write_one_transfer() {
    let Some(db) = TestStore::postgres("postgres_twenty_parallel_fixes").await else {
        return;
    };
    twenty_parallel_fixes_write_one_transfer(db.store.clone()).await;
    db.cleanup().await;
}
