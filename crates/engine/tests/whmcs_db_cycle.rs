//! Cycles over the WHMCS database read path: the same findings as over the API on the
//! same sandbox, and a database that drops the connection part-way through the billing
//! snapshot makes the cycle fail and change nothing (never a shorter list).
//!
//! MariaDB: `DOMWATCH_TEST_MYSQL_URL` (default `mysql://root@127.0.0.1:3306`). When it is
//! unreachable the test prints `SKIPPED` (and fails if `DOMWATCH_REQUIRE_MARIADB=1`).

use domwatch_core::detect::DetectionPolicy;
use domwatch_core::model::Dialect;
use domwatch_core::ports::RegistrarPort;
use domwatch_engine::{Account, CycleReport, Engine, EngineError, Mode, NoProgress};
use domwatch_rrp::RrpClient;
use domwatch_sandbox::registrar::{RegistrarSandbox, RegistrarSandboxConfig};
use domwatch_sandbox::whmcs::{SandboxDatabase, WhmcsSandbox, WhmcsSandboxConfig};
use domwatch_store::CaseFilter;
use domwatch_testkit::{
    fixed_clock, rrp_config, sqlite_store, today, Fault, FaultProxy, TestDatabase,
};
use domwatch_whmcs::actions::KnownClientCurrencies;
use domwatch_whmcs::db::WhmcsDb;
use domwatch_whmcs::db_billing::DbBilling;
use domwatch_whmcs::{BillingPort, WhmcsClient, WhmcsConfig};
use std::sync::Arc;

const SEED: u64 = 23;
const DOMAINS: usize = 250;

struct World {
    whmcs: WhmcsSandbox,
    _registrar: RegistrarSandbox,
    api: Arc<dyn BillingPort>,
    port: Arc<dyn RegistrarPort>,
    db: WhmcsDb,
}

async fn world(url: &str) -> World {
    let mut wc = WhmcsSandboxConfig::new(SEED, DOMAINS, today());
    wc.database = SandboxDatabase::MySql(url.to_string());
    wc.drift_per_mille = 120;
    let whmcs = domwatch_sandbox::whmcs::start(wc)
        .await
        .expect("sandbox WHMCS on MariaDB");
    let mut rc = RegistrarSandboxConfig::new(Dialect::Cnr, SEED, DOMAINS, today());
    rc.drift_per_mille = 120;
    let registrar = RegistrarSandbox::start(rc).await.unwrap();
    let cc = rrp_config(
        Dialect::Cnr,
        &registrar.endpoint(),
        registrar.login(),
        registrar.password(),
    );
    let api: Arc<dyn BillingPort> = Arc::new(
        WhmcsClient::new(
            WhmcsConfig::new(&whmcs.base_url(), whmcs.identifier(), whmcs.secret()).unwrap(),
        )
        .unwrap(),
    );
    World {
        whmcs,
        _registrar: registrar,
        api,
        port: Arc::new(RrpClient::new(cc).unwrap()),
        db: WhmcsDb::connect(url).await.expect("direct WHMCS database"),
    }
}

/// An engine over `billing`, with its own store; the database serves premium data and
/// client currencies on both paths, so only the billing reads differ.
async fn engine(w: &World, billing: Arc<dyn BillingPort>, dir: &std::path::Path) -> Engine {
    Engine {
        store: sqlite_store(&dir.join("dw.db")).await,
        notifier: None,
        billing,
        whmcs_db: Some(w.db.clone()),
        accounts: vec![Account {
            name: "cnr".into(),
            modules: vec!["cnic".into()],
            port: w.port.clone(),
        }],
        clock: fixed_clock(),
        policy: DetectionPolicy::default(),
        fixed_rates: vec![],
        concurrency: 4,
        notices: Default::default(),
    }
}

/// What a dry run found, without the timings.
fn findings(r: &CycleReport) -> String {
    format!(
        "billing {} unreadable {} skipped {} lookups {} would_open {} kinds {:?} at_stake {:?} incomplete {:?}",
        r.billing_domains,
        r.unreadable_billing_rows,
        r.skipped_domains,
        r.lookups,
        r.would_open,
        r.findings_by_kind,
        r.at_stake,
        r.incomplete_inputs
    )
}

#[tokio::test]
async fn a_cycle_over_the_database_finds_what_a_cycle_over_the_api_finds() {
    let Some(database) = TestDatabase::mariadb("whmcs_db_cycle_same").await else {
        return;
    };
    let w = world(&database.url).await;
    let dir = tempfile::tempdir().unwrap();
    let (api_dir, db_dir) = (dir.path().join("api"), dir.path().join("db"));
    std::fs::create_dir_all(&api_dir).unwrap();
    std::fs::create_dir_all(&db_dir).unwrap();
    let over_api = engine(&w, w.api.clone(), &api_dir).await;
    let over_db = engine(
        &w,
        Arc::new(DbBilling::new(w.api.clone(), w.db.clone())),
        &db_dir,
    )
    .await;

    let calls_before = w.whmcs.api_calls_by_action();
    let a = over_api.run_cycle(Mode::DryRun, &NoProgress).await.unwrap();
    let between = w.whmcs.api_calls_by_action();
    let d = over_db.run_cycle(Mode::DryRun, &NoProgress).await.unwrap();
    let after = w.whmcs.api_calls_by_action();
    assert!(a.would_open > 0 && a.lookups > 0, "{}", findings(&a));
    assert_eq!(findings(&a), findings(&d));

    // The database path asked the API for no domain pages and no invoices.
    let asked = |before: &std::collections::BTreeMap<String, u64>,
                 now: &std::collections::BTreeMap<String, u64>,
                 action: &str| {
        now.get(action).copied().unwrap_or(0) - before.get(action).copied().unwrap_or(0)
    };
    // (The sandbox counts actions by their lower-case names.)
    assert!(
        asked(&calls_before, &between, "getclientsdomains") > 0,
        "{between:?}"
    );
    assert!(
        asked(&calls_before, &between, "getinvoice") > 0,
        "{between:?}"
    );
    for action in [
        "getclientsdomains",
        "getinvoices",
        "getinvoice",
        "getclientsdetails",
    ] {
        assert_eq!(asked(&between, &after, action), 0, "{action}: {after:?}");
    }

    w.whmcs.shutdown().await;
    database.drop_database().await;
}

#[tokio::test]
async fn a_database_cut_off_mid_snapshot_fails_the_cycle_and_changes_nothing() {
    let Some(database) = TestDatabase::mariadb("whmcs_db_cycle_cut").await else {
        return;
    };
    let w = world(&database.url).await;
    // `mysql://user[:password]@host:port/db`: the same login and database, through the proxy.
    let rest = database
        .url
        .strip_prefix("mysql://")
        .expect("a mysql:// URL");
    let (login, host_db) = rest.rsplit_once('@').expect("user@host in the URL");
    let (host, db) = host_db.split_once('/').expect("host/database in the URL");
    let upstream = tokio::net::lookup_host(host).await.unwrap().next().unwrap();
    let proxy = FaultProxy::tcp(upstream).await.unwrap();
    let via_proxy = format!("mysql://{login}@{}/{db}", proxy.addr());
    let cut_db = WhmcsDb::connect(&via_proxy).await.unwrap();
    let billing = DbBilling::new(w.api.clone(), cut_db.clone());
    let whole = billing
        .list_domains(&KnownClientCurrencies::new())
        .await
        .unwrap();
    assert!(whole.domains.len() > 100);

    // Every connection from now on dies after 12 kB from the server: enough to log in
    // and answer a small query, not enough for the snapshot.
    proxy.set(Fault::CutAfter(12 * 1024));
    let one: i64 = sqlx::query_scalar("SELECT 1")
        .fetch_one(cut_db.pool())
        .await
        .unwrap();
    assert_eq!(one, 1, "the connection itself works");
    let err = billing
        .list_domains(&KnownClientCurrencies::new())
        .await
        .expect_err("a cut-off snapshot must not be a shorter list");
    assert!(err.to_string().contains("tbldomains"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    let e = engine(&w, Arc::new(billing), dir.path()).await;
    let failed = e.run_cycle(Mode::Apply, &NoProgress).await;
    assert!(matches!(failed, Err(EngineError::Billing(_))), "{failed:?}");
    assert!(e
        .store
        .cases(CaseFilter::default())
        .await
        .unwrap()
        .is_empty());
    let by_action = w.whmcs.api_calls_by_action();
    assert!(
        by_action
            .keys()
            .all(|a| a.starts_with("get") || a == "whmcsdetails"),
        "only reads reached WHMCS: {by_action:?}"
    );

    w.whmcs.shutdown().await;
    database.drop_database().await;
}
