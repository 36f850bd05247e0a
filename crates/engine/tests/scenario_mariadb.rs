//! The same world with the WHMCS sandbox on MariaDB and domwatch's direct database path
//! enabled: premium flags and cost rows become visible (so "premium data missing" is
//! found), notices become real `tbltodolist` rows, and the premium fix writes
//! `tbldomains_extra`.
//!
//! MariaDB: `DOMWATCH_TEST_MYSQL_URL` (default `mysql://root@127.0.0.1:3306`). When it is
//! unreachable the test prints `SKIPPED` (and fails if `DOMWATCH_REQUIRE_MARIADB=1`).

use domwatch_core::detect::{CaseKind, DetectionPolicy};
use domwatch_core::model::Dialect;
use domwatch_core::ports::RegistrarPort;
use domwatch_engine::{Account, Engine, Mode, NoProgress};
use domwatch_rrp::RrpClient;
use domwatch_sandbox::portfolio::{Drift, Portfolio};
use domwatch_sandbox::registrar::{RegistrarSandbox, RegistrarSandboxConfig};
use domwatch_sandbox::whmcs::{SandboxDatabase, WhmcsSandboxConfig};
use domwatch_store::{CaseFilter, CaseState};
use domwatch_testkit::{
    apply_cycle, assert_no_notice_errors, fixed_clock, rrp_config, sqlite_store, today,
    TestDatabase,
};
use domwatch_whmcs::db::WhmcsDb;
use domwatch_whmcs::{BillingPort, ToDoNotifier, WhmcsClient, WhmcsConfig};
use std::sync::Arc;

const SEED: u64 = 7;
const DOMAINS: usize = 150;

#[tokio::test]
async fn premium_data_and_real_todos_through_the_database() {
    let Some(database) = TestDatabase::mariadb("scenario_mariadb").await else {
        return;
    };
    let url = database.url.clone();

    let mut wc = WhmcsSandboxConfig::new(SEED, DOMAINS, today());
    wc.database = SandboxDatabase::MySql(url.clone());
    let whmcs = domwatch_sandbox::whmcs::start(wc)
        .await
        .expect("sandbox WHMCS on MariaDB");
    let sandbox = RegistrarSandbox::start(RegistrarSandboxConfig::new(
        Dialect::Cnr,
        SEED,
        DOMAINS,
        today(),
    ))
    .await
    .unwrap();
    let cc = rrp_config(
        Dialect::Cnr,
        &sandbox.endpoint(),
        sandbox.login(),
        sandbox.password(),
    );
    let port: Arc<dyn RegistrarPort> = Arc::new(RrpClient::new(cc).unwrap());
    let billing: Arc<dyn BillingPort> = Arc::new(
        WhmcsClient::new(
            WhmcsConfig::new(&whmcs.base_url(), whmcs.identifier(), whmcs.secret()).unwrap(),
        )
        .unwrap(),
    );
    let whmcs_db = WhmcsDb::connect(&url).await.expect("direct WHMCS database");
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite_store(&dir.path().join("dw.db")).await;
    let engine = Engine {
        store,
        notifier: Some(ToDoNotifier::new(
            billing.clone(),
            Some(whmcs_db.clone()),
            None,
        )),
        billing: billing.clone(),
        whmcs_db: Some(whmcs_db.clone()),
        accounts: vec![Account {
            name: "cnr".into(),
            modules: vec!["cnic".into()],
            port,
        }],
        clock: fixed_clock(),
        policy: DetectionPolicy::default(),
        fixed_rates: vec![],
        concurrency: 4,
        notices: Default::default(),
    };

    let report = apply_cycle(&engine).await;
    assert_no_notice_errors(&report);

    // Premium data missing is visible only through the database.
    let portfolio = Portfolio::new(SEED, DOMAINS, today());
    let planted: Vec<String> = portfolio
        .domains_of(Dialect::Cnr)
        .filter(|d| d.drift == Some(Drift::PremiumCostMissing))
        .map(|d| d.name.ascii().to_string())
        .collect();
    assert!(!planted.is_empty());
    let missing = engine
        .store
        .cases(CaseFilter {
            state: Some(CaseState::Open),
            kind: Some(CaseKind::PremiumDataMissing),
        })
        .await
        .unwrap();
    let found: Vec<String> = missing
        .iter()
        .map(|c| c.domain.ascii().to_string())
        .collect();
    for name in &planted {
        assert!(
            found.contains(name),
            "{name} not reported as premium data missing: {found:?}"
        );
    }

    // Notices are real to-do rows, visible through the WHMCS API as well.
    let todos = billing.todo_items(None).await.unwrap();
    let noticed = engine
        .store
        .cases(CaseFilter::open())
        .await
        .unwrap()
        .into_iter()
        .filter(|c| c.kind.needs_admin_notice())
        .count();
    assert_eq!(
        todos
            .iter()
            .filter(|t| t.title.starts_with("[domwatch #"))
            .count(),
        noticed
    );
    // A second cycle adds none.
    engine.run_cycle(Mode::Apply, &NoProgress).await.unwrap();
    assert_eq!(billing.todo_items(None).await.unwrap().len(), todos.len());

    // Fix now writes the premium cost rows; the next cycle resolves the case.
    let case = &missing[0];
    let fixed = engine
        .fix(case.id, None, Mode::Apply, "test")
        .await
        .unwrap();
    assert!(fixed.succeeded(), "{fixed:?}");
    let record = whmcs_db
        .premium_record(case.billing_domain_id.unwrap() as u64)
        .await
        .unwrap();
    assert_eq!(record.is_premium, Some(true));
    assert!(
        record.renewal_cost.is_some() && record.currency_id.is_some(),
        "{record:?}"
    );
    engine.run_cycle(Mode::Apply, &NoProgress).await.unwrap();
    assert_eq!(
        engine.store.case(case.id).await.unwrap().unwrap().state,
        CaseState::Resolved
    );

    whmcs.shutdown().await;
    drop(whmcs_db);
    database.drop_database().await;
}
