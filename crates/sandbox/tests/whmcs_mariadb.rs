//! The sandbox WHMCS on MariaDB, shared with the direct-database path
//! (`domwatch_whmcs::db`): a to-do written into `tbltodolist` shows up in the sandbox's
//! GetToDoItems, and premium data written into `tbldomains_extra` is what WHMCS holds.
//!
//! Needs MariaDB at 127.0.0.1:3306 (root, no password) or `DOMWATCH_TEST_MYSQL_URL`
//! (server URL without a database). Each test creates and drops its own database. When
//! the server is unreachable the test prints `SKIPPED: …`, and fails instead when `CI`
//! is set and `DOMWATCH_REQUIRE_MARIADB=1`.

mod support;

use chrono::Duration;
use domwatch_sandbox::portfolio::Drift;
use domwatch_sandbox::whmcs::{start, SandboxDatabase, WhmcsSandboxConfig};
use domwatch_whmcs::actions::DomainUpdate;
use domwatch_whmcs::db::{NewToDo, PremiumCost, WhmcsDb};
use domwatch_whmcs::port::{BillingPort, ToDoChannel, ToDoNotifier};
use domwatch_whmcs::{WhmcsClient, WhmcsConfig};
use futures::FutureExt;
use rust_decimal_macros::dec;
use sqlx::mysql::MySqlPoolOptions;
use sqlx::Executor;
use std::future::Future;
use std::io::Write;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use support::today;

fn server_url() -> String {
    std::env::var("DOMWATCH_TEST_MYSQL_URL")
        .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306".to_string())
        .trim_end_matches('/')
        .to_string()
}

/// Runs `body` with the URL of a fresh database and drops the database afterwards, even
/// when the body panics. Skips (or fails in CI) when MariaDB is unreachable.
async fn with_database<F, Fut>(name: &str, body: F)
where
    F: FnOnce(String) -> Fut,
    Fut: Future<Output = ()>,
{
    let server = server_url();
    let admin = match MySqlPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(std::time::Duration::from_secs(3))
        .connect(&server)
        .await
    {
        Ok(pool) => pool,
        Err(e) => {
            let required = std::env::var("CI").is_ok()
                && std::env::var("DOMWATCH_REQUIRE_MARIADB").as_deref() == Ok("1");
            if required {
                panic!(
                    "MariaDB not reachable at {server} ({e}), and CI requires it \
                     (DOMWATCH_REQUIRE_MARIADB=1): start MariaDB or set DOMWATCH_TEST_MYSQL_URL"
                );
            }
            // Written to the real stderr: the test harness would swallow eprintln! output.
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED: MariaDB not reachable at {server} ({e}); set DOMWATCH_TEST_MYSQL_URL \
                 to run the WHMCS database tests"
            );
            return;
        }
    };
    let database = format!(
        "domwatch_whmcs_{name}_{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_micros()
    );
    admin
        .execute(format!("CREATE DATABASE `{database}` CHARACTER SET utf8mb4").as_str())
        .await
        .expect("create the test database");
    let outcome = AssertUnwindSafe(body(format!("{server}/{database}")))
        .catch_unwind()
        .await;
    admin
        .execute(format!("DROP DATABASE IF EXISTS `{database}`").as_str())
        .await
        .expect("drop the test database");
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

async fn sandbox_on(url: &str, domains: usize) -> domwatch_sandbox::whmcs::WhmcsSandbox {
    let mut config = WhmcsSandboxConfig::new(42, domains, today());
    config.database = SandboxDatabase::MySql(url.to_string());
    start(config).await.expect("sandbox on MariaDB")
}

fn client_for(sandbox: &domwatch_sandbox::whmcs::WhmcsSandbox) -> WhmcsClient {
    let mut config =
        WhmcsConfig::new(&sandbox.base_url(), sandbox.identifier(), sandbox.secret()).unwrap();
    config.page_size = 50;
    WhmcsClient::new(config).unwrap()
}

#[tokio::test]
async fn todo_written_to_the_database_shows_up_in_the_api() {
    with_database("todo", |url| async move {
        let sandbox = sandbox_on(&url, 140).await;
        let client = Arc::new(client_for(&sandbox));
        let db = WhmcsDb::connect(&url).await.unwrap();
        let todo = NewToDo {
            title: "[domwatch] renew grand-hotel.co.uk manually".into(),
            description: "The registrar refused the automatic renewal.".into(),
            date: today(),
            due_date: today() + Duration::days(2),
        };
        let notifier = ToDoNotifier::new(client.clone(), Some(db.clone()), None);
        assert_eq!(notifier.channel(), ToDoChannel::Database);
        let first = notifier.raise(&todo).await.unwrap();
        let second = notifier.raise(&todo).await.unwrap();
        assert!(!first.reused && second.reused, "same open title is reused");
        assert_eq!(first.reference, second.reference);

        let items = client.todo_items(Some("Incomplete")).await.unwrap();
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].title, todo.title);
        assert_eq!(items[0].status, "Pending");
        assert_eq!(items[0].due_date, Some(todo.due_date));

        // Completing it through the API lets the next raise create a new item.
        client
            .update_todo_item(
                items[0].id,
                1,
                &domwatch_whmcs::actions::ToDoUpdate {
                    status: Some("Completed".into()),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let third = db.create_todo(&todo).await.unwrap();
        assert!(!third.reused);
        assert_eq!(client.todo_items(None).await.unwrap().len(), 2);
        sandbox.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn premium_data_is_read_and_written_where_whmcs_keeps_it() {
    with_database("premium", |url| async move {
        let sandbox = sandbox_on(&url, 140).await;
        let portfolio = sandbox.portfolio();
        let db = WhmcsDb::connect(&url).await.unwrap();

        // A premium domain whose cost rows are missing: what WHMCS <= 7.8 left behind.
        let missing = portfolio
            .domains()
            .find(|d| d.drift == Some(Drift::PremiumCostMissing))
            .unwrap();
        let id = missing.billing.as_ref().unwrap().domain_id;
        let record = db.premium_record(id).await.unwrap();
        assert_eq!(record.is_premium, Some(true));
        assert!(record.is_incomplete());

        // A domain that turned premium at the registrar: standard in WHMCS.
        let turned = portfolio
            .domains()
            .find(|d| d.drift == Some(Drift::TurnedPremium))
            .unwrap();
        let turned_id = turned.billing.as_ref().unwrap().domain_id;
        assert_eq!(
            db.premium_record(turned_id).await.unwrap().is_premium,
            Some(false)
        );
        let cost = PremiumCost {
            registration_cost: dec!(400),
            renewal_cost: dec!(420.5),
            currency_id: 1,
        };
        db.write_premium_cost(turned_id, &cost).await.unwrap();
        // Upsert: writing again changes values, never duplicates rows.
        let cost = PremiumCost {
            renewal_cost: dec!(430),
            ..cost
        };
        db.write_premium_cost(turned_id, &cost).await.unwrap();
        let record = db.premium_record(turned_id).await.unwrap();
        assert_eq!(record.is_premium, Some(true));
        assert_eq!(record.registration_cost, Some(dec!(400.00)));
        assert_eq!(record.renewal_cost, Some(dec!(430.00)));
        assert_eq!(record.currency_id, Some(1));
        assert!(!record.is_incomplete());
        let rows = sandbox
            .store()
            .count(
                "SELECT COUNT(*) AS n FROM tbldomains_extra WHERE domain_id = ?",
                &[(turned_id as i64).into()],
            )
            .await
            .unwrap();
        assert_eq!(rows, 3);

        // The seeded legit premium domains carry all three keys.
        let all = db.premium_records().await.unwrap();
        let legit: Vec<_> = portfolio
            .domains()
            .filter_map(|d| d.billing)
            .filter(|b| b.premium_cost.is_some())
            .collect();
        for b in &legit {
            let record = &all[&b.domain_id];
            assert_eq!(record.renewal_cost, b.premium_cost.map(|c| c.1));
            assert_eq!(record.currency_id, Some(1));
        }
        assert!(all[&id].is_incomplete());

        // API listing + database = the full billing picture, premium flags included. The
        // database names every client's currency, so the listing asks WHMCS about none.
        let client = client_for(&sandbox);
        let known = db.client_currencies().await.unwrap();
        let first = portfolio.domain(0).billing.unwrap().client_id;
        assert_eq!(known[&first], portfolio.client(first).currency);
        let list = client.list_billing_domains_knowing(&known).await.unwrap();
        assert!(list.learned_currencies.is_empty());
        assert!(list.unreadable.is_empty());
        let mut domains = list.domains;
        let currencies = client
            .get_currencies()
            .await
            .unwrap()
            .into_iter()
            .map(|c| (c.id, c.code))
            .collect();
        domwatch_whmcs::db::apply_premium_records(&mut domains, &all, &currencies);
        for domain in &domains {
            let seed = portfolio.domain(domain.id as usize - 1).billing.unwrap();
            let expected = seed.is_premium || domain.id == turned_id;
            assert_eq!(domain.is_premium, Some(expected), "domain #{}", domain.id);
        }

        db.set_is_premium(turned_id, false).await.unwrap();
        assert_eq!(
            db.premium_record(turned_id).await.unwrap().is_premium,
            Some(false)
        );
        assert!(matches!(
            db.set_is_premium(9_999_999, true).await,
            Err(domwatch_whmcs::db::DbError::DomainNotFound(_))
        ));
        assert!(db.write_premium_cost(9_999_999, &cost).await.is_err());
        sandbox.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn the_api_on_mariadb_matches_the_portfolio_and_pays_invoices() {
    with_database("api", |url| async move {
        let sandbox = sandbox_on(&url, 260).await;
        let client = client_for(&sandbox);
        let portfolio = sandbox.portfolio();
        let list = client.list_billing_domains().await.unwrap();
        let expected = portfolio.domains().filter(|d| d.billing.is_some()).count();
        assert_eq!(list.domains.len(), expected);
        // IDNs survive the utf8mb4 round trip.
        assert!(list.domains.iter().any(|d| d.name.is_idn()));
        let first = portfolio.domain(0).billing.unwrap();
        assert_eq!(
            list.domains[0].recurring_amount.amount,
            first.recurring_amount
        );

        client
            .update_domain(
                first.domain_id,
                &DomainUpdate {
                    recurring_amount: Some(dec!(55.55)),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let row = sandbox
            .store()
            .query_one(
                "SELECT recurringamount FROM tbldomains WHERE id = ?",
                &[(first.domain_id as i64).into()],
            )
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.money("recurringamount"), "55.55");

        let unpaid = portfolio
            .domains()
            .find(|d| d.drift == Some(Drift::UnpaidRenewalInvoice))
            .unwrap();
        let b = unpaid.billing.unwrap();
        let paid = sandbox.pay_invoice(b.invoices[0].id).await.unwrap();
        assert_eq!(
            paid.advanced_domains,
            vec![(
                b.domain_id,
                domwatch_sandbox::portfolio::add_years(b.next_due, 1)
            )]
        );
        let invoice = client.get_invoice(b.invoices[0].id).await.unwrap();
        assert_eq!(invoice.status, "Paid");
        sandbox.shutdown().await;

        // Restarting on the same database reuses the state instead of seeding again.
        let again = sandbox_on(&url, 260).await;
        let domain = client_for(&again)
            .get_clients_domain(first.domain_id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(domain.recurring_amount, dec!(55.55));
        again.shutdown().await;
    })
    .await;
}

/// `domwatch doctor`'s database probe: a WHMCS database with a read-write user, the same
/// tables for a SELECT-only user (read-only, named by the refused statement), and an empty
/// database (every table missing). Nothing is written by the probe.
#[tokio::test]
async fn the_database_probe_tells_tables_and_read_only_apart() {
    with_database("probe", |url| async move {
        let sandbox = sandbox_on(&url, 20).await;
        let db = WhmcsDb::connect(&url).await.unwrap();
        let todos = "SELECT COUNT(*) FROM tbltodolist";
        let before: i64 = sqlx::query_scalar(todos)
            .fetch_one(db.pool())
            .await
            .unwrap();
        let found = db.probe().await.unwrap();
        assert!(found.missing_tables.is_empty(), "{found:?}");
        assert_eq!(found.read_only, None);
        let after: i64 = sqlx::query_scalar(todos)
            .fetch_one(db.pool())
            .await
            .unwrap();
        assert_eq!(before, after);

        let database = url.rsplit('/').next().unwrap().to_string();
        let user = format!("dw_ro_{}", std::process::id());
        for host in ["%", "localhost", "127.0.0.1"] {
            for sql in [
                format!("CREATE USER IF NOT EXISTS '{user}'@'{host}' IDENTIFIED BY 'ro-pass'"),
                format!("GRANT SELECT ON `{database}`.* TO '{user}'@'{host}'"),
            ] {
                db.pool().execute(sql.as_str()).await.unwrap();
            }
        }
        let mut reader = url::Url::parse(&url).unwrap();
        reader.set_username(&user).unwrap();
        reader.set_password(Some("ro-pass")).unwrap();
        let read_only = WhmcsDb::connect(reader.as_str()).await.unwrap();
        let found = read_only.probe().await.unwrap();
        read_only.pool().close().await;
        for host in ["%", "localhost", "127.0.0.1"] {
            let drop = format!("DROP USER IF EXISTS '{user}'@'{host}'");
            db.pool().execute(drop.as_str()).await.unwrap();
        }
        let refused = found.read_only.expect("a SELECT-only user is read-only");
        assert!(refused.contains("tbltodolist (INSERT)"), "{refused}");

        let empty_name = format!("{database}_empty");
        let create = format!("CREATE DATABASE IF NOT EXISTS `{empty_name}`");
        db.pool().execute(create.as_str()).await.unwrap();
        let empty = url.replace(&database, &empty_name);
        let empty_db = WhmcsDb::connect(&empty).await.unwrap();
        let found = empty_db.probe().await.unwrap();
        empty_db.pool().close().await;
        let drop = format!("DROP DATABASE `{empty_name}`");
        db.pool().execute(drop.as_str()).await.unwrap();
        assert_eq!(
            found.missing_tables.len(),
            domwatch_whmcs::db_probe::READ_TABLES.len(),
            "{found:?}"
        );
        db.pool().close().await;
        sandbox.shutdown().await;
    })
    .await;
}

/// WHMCS's DATE columns hold `0000-00-00` for "unset"; the sandbox on MariaDB keeps such
/// rows (sqlx reads a zero date as NULL) and serves them as WHMCS does.
#[tokio::test]
async fn zero_dates_are_held_and_served_like_whmcs() {
    with_database("zero_dates", |url| async move {
        let sandbox = sandbox_on(&url, 20).await;
        let client = client_for(&sandbox);
        let store = sandbox.store();
        let domain = store
            .execute(
                "INSERT INTO tbldomains (userid, type, registrationdate, domain, registrar, \
                 expirydate, subscriptionid, status, nextduedate, nextinvoicedate, \
                 additionalnotes, paymentmethod, reminders, recurringamount) VALUES \
                 (1, 'Register', '0000-00-00', 'zero-dates.com', '', '0000-00-00', '', \
                 'Active', '0000-00-00', '0000-00-00', '', 'banktransfer', '', 12)",
                &[],
            )
            .await
            .unwrap()
            .last_id;
        let row = store
            .query_one(
                "SELECT CAST(expirydate AS CHAR) AS expirydate FROM tbldomains WHERE id = ?",
                &[domain.into()],
            )
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.text("expirydate"), "0000-00-00");
        let served = client
            .get_clients_domain(domain as u64)
            .await
            .unwrap()
            .expect("the domain is listed");
        assert_eq!(
            (served.registration_date, served.expiry, served.next_due),
            (None, None, None)
        );
        assert_eq!(served.registrar_module, "");
        assert_eq!(served.recurring_amount, dec!(12));
        sandbox.shutdown().await;
    })
    .await;
}
