//! Fix now of a TLD price case through the WHMCS database (MariaDB): the plan first, then
//! the rounded prices written into `tblpricing` once and audited once; the next check
//! resolves the case. MariaDB: `DOMWATCH_TEST_MYSQL_URL` (default
//! `mysql://root@127.0.0.1:3306`); skipped with a message when absent, a failure on CI.

mod support;

use domwatch_core::detect::{CaseKind, DetectionPolicy};
use domwatch_engine::{Mode, StepOutcome};
use domwatch_sandbox::registrar::RegistrarEvent;
use domwatch_sandbox::whmcs::schema::{rate_of_currency_id, ID_PROTECTION_PRICE};
use domwatch_store::{CaseFilter, CaseState};
use rust_decimal_macros::dec;
use sqlx::{Connection, Row};
use support::{apply_cycle, world_with_options, TestDatabase, WorldOptions};

#[tokio::test]
async fn fix_now_writes_the_rounded_prices_once_and_the_next_check_resolves() {
    let Some(database) = TestDatabase::mariadb("tld_prices_mariadb").await else {
        return;
    };
    let url = database.url.clone();
    let mut policy = DetectionPolicy::default();
    policy.tld_prices.enabled = true;
    let mut options = WorldOptions::new(policy);
    options.whmcs_mysql = Some(url.clone());
    let w = world_with_options(options).await;
    let store = &w.engine.store;
    apply_cycle(&w.engine).await;

    // The ID protection add-on price (tblpricing domainaddons) is the money at stake per
    // year of an "ID protection not billed" case, in the client's currency.
    let unbilled = store
        .cases(CaseFilter {
            state: Some(CaseState::Open),
            kind: Some(CaseKind::IdProtectionNotBilled),
        })
        .await
        .unwrap();
    assert!(!unbilled.is_empty());
    for c in &unbilled {
        let stake = c.finding.at_stake.expect("a price at stake");
        let rate = rate_of_currency_id(match stake.currency.as_str() {
            "EUR" => 1,
            "USD" => 2,
            _ => 3,
        });
        assert_eq!(
            stake.amount,
            (ID_PROTECTION_PRICE * rate).round_dp(2),
            "{c:?}"
        );
        assert!(
            c.finding.summary.ends_with("per year)"),
            "{}",
            c.finding.summary
        );
    }
    w.registrars[0]
        .apply(RegistrarEvent::ZonePrice {
            zone: "net".into(),
            renew: dec!(20.00),
            register: None,
            transfer: None,
        })
        .unwrap();
    let report = apply_cycle(&w.engine).await;
    assert!(
        report.incomplete_inputs.is_empty(),
        "{:?}",
        report.incomplete_inputs
    );
    let cases = store.price_cases(true).await.unwrap();
    let case = cases
        .iter()
        .find(|c| c.key == "tld-price:net:renew:EUR")
        .unwrap();

    // The plan first: nothing written.
    let plan = w
        .engine
        .tld_price_fix(case.id, Mode::DryRun, "admin")
        .await
        .unwrap();
    assert_eq!(plan.steps[0].outcome, StepOutcome::WouldApply);
    assert!(
        plan.steps[0].description.contains("25.99"),
        "{}",
        plan.steps[0].description
    );
    let renew_1y = || async {
        let mut conn = sqlx::MySqlConnection::connect(&url).await.unwrap();
        let row = sqlx::query(
            "SELECT CAST(p.msetupfee AS CHAR) AS y1, CAST(p.qsetupfee AS CHAR) AS y2 FROM tblpricing p JOIN tbldomainpricing d ON d.id = p.relid \
             WHERE d.extension = '.net' AND p.type = 'domainrenew' AND p.currency = 1 AND p.tsetupfee = 0",
        )
        .fetch_one(&mut conn)
        .await
        .unwrap();
        (row.get::<String, _>("y1"), row.get::<String, _>("y2"))
    };
    assert_eq!(renew_1y().await.0, "14.00");

    // Fix now writes once; a second request finds it applied.
    let fix = w
        .engine
        .tld_price_fix(case.id, Mode::Apply, "admin")
        .await
        .unwrap();
    assert!(
        matches!(fix.steps[0].outcome, StepOutcome::Applied(_)),
        "{:?}",
        fix.steps
    );
    let again = w
        .engine
        .tld_price_fix(case.id, Mode::Apply, "admin")
        .await
        .unwrap();
    assert_eq!(again.steps[0].outcome, StepOutcome::AlreadyApplied);
    assert_eq!(renew_1y().await, ("25.99".to_string(), "50.99".to_string()));
    let audit = store.audit_log(100, None).await.unwrap();
    let lines: Vec<_> = audit
        .iter()
        .filter(|a| a.entry.operation == "tblpricing")
        .collect();
    assert_eq!(lines.len(), 1, "{lines:?}");

    // The next check reads the new prices: this case resolves, the others stay open.
    let next = apply_cycle(&w.engine).await;
    assert_eq!(next.tld_prices.unwrap().resolved, 1);
    let open = store.price_cases(true).await.unwrap();
    assert!(!open.iter().any(|c| c.key == "tld-price:net:renew:EUR"));
    assert!(open.iter().any(|c| c.key == "tld-price:net:renew:USD"));

    // TLD -> account from tbldomainpricing.autoreg: .de is registered at Smart-NIC.
    let registrar_of = |key: &str| {
        open.iter()
            .find(|c| c.key == key)
            .map(|c| c.finding.registrar.clone())
    };
    assert_eq!(
        registrar_of("tld-price:de:restore:EUR").as_deref(),
        Some("dbs")
    );
    assert_eq!(
        registrar_of("tld-price:net:renew:USD").as_deref(),
        Some("cnr")
    );
    // A module no account lists: a report line, and its cases are left as they are.
    let mut conn = sqlx::MySqlConnection::connect(&url).await.unwrap();
    sqlx::query("UPDATE tbldomainpricing SET autoreg = 'enom' WHERE extension = '.site'")
        .execute(&mut conn)
        .await
        .unwrap();
    let site_before: Vec<String> = open
        .iter()
        .filter(|c| c.key.starts_with("tld-price:site:"))
        .map(|c| c.key.clone())
        .collect();
    assert!(!site_before.is_empty());
    let unmapped = apply_cycle(&w.engine).await;
    let stats = unmapped.tld_prices.unwrap();
    assert!(
        stats
            .skipped
            .iter()
            .any(|s| s.starts_with(".site:") && s.contains("`enom`")),
        "{:?}",
        stats.skipped
    );
    assert_eq!(stats.resolved, 0);
    let still: Vec<String> = store
        .price_cases(true)
        .await
        .unwrap()
        .into_iter()
        .filter(|c| c.key.starts_with("tld-price:site:"))
        .map(|c| c.key)
        .collect();
    assert_eq!(still, site_before);
    database.drop_database().await;
}
