//! The WHMCS database read path (`whmcs.read_from = "database"`) gives what the API gives:
//! the sandbox WHMCS on MariaDB, whose API and tables hold the same rows, quirks included
//! (`0000-00-00` dates, empty strings, Unicode names, amounts without decimals, deleted
//! clients, unknown currencies), is read both ways and compared.
//!
//! MariaDB: `DOMWATCH_TEST_MYSQL_URL` (default `mysql://root@127.0.0.1:3306`). When it is
//! unreachable the test prints `SKIPPED` (and fails if `DOMWATCH_REQUIRE_MARIADB=1`).

use domwatch_core::model::BillingDomain;
use domwatch_sandbox::whmcs::{SandboxDatabase, WhmcsSandbox, WhmcsSandboxConfig};
use domwatch_testkit::{today, TestDatabase};
use domwatch_whmcs::actions::{DomainInvoiceKind, KnownClientCurrencies};
use domwatch_whmcs::db::WhmcsDb;
use domwatch_whmcs::db_billing::DbBilling;
use domwatch_whmcs::renewal::{InvoiceFor, RenewalWindow};
use domwatch_whmcs::{BillingPort, WhmcsClient, WhmcsConfig};
use sqlx::MySqlPool;
use std::collections::BTreeMap;
use std::sync::Arc;

const SEED: u64 = 11;
const DOMAINS: usize = 300;

struct Both {
    whmcs: WhmcsSandbox,
    api: Arc<WhmcsClient>,
    db: DbBilling,
    pool: MySqlPool,
}

async fn sandbox(url: &str) -> Both {
    let mut wc = WhmcsSandboxConfig::new(SEED, DOMAINS, today());
    wc.database = SandboxDatabase::MySql(url.to_string());
    let whmcs = domwatch_sandbox::whmcs::start(wc)
        .await
        .expect("sandbox WHMCS on MariaDB");
    let api = Arc::new(
        WhmcsClient::new(
            WhmcsConfig::new(&whmcs.base_url(), whmcs.identifier(), whmcs.secret()).unwrap(),
        )
        .unwrap(),
    );
    let whmcs_db = WhmcsDb::connect(url).await.expect("direct WHMCS database");
    let pool = whmcs_db.pool().clone();
    let db = DbBilling::new(api.clone(), whmcs_db);
    Both {
        whmcs,
        api,
        db,
        pool,
    }
}

async fn exec(pool: &MySqlPool, sql: &str) -> u64 {
    let done = sqlx::query(sql)
        .execute(pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    done.last_insert_id()
}

/// A new client in currency `currency` (an id), returned by id.
async fn client(pool: &MySqlPool, currency: i64) -> u64 {
    exec(
        pool,
        &format!(
            "INSERT INTO tblclients (firstname, lastname, companyname, email, address1, city, \
             postcode, country, phonenumber, currency, language, datecreated) VALUES \
             ('Zoë', 'Quirk', '', 'zoe@example.test', '', '', '', 'DE', '', {currency}, '', '2020-01-01')"
        ),
    )
    .await
}

/// A domain row as WHMCS writes it; `set` overrides columns (`col = value, …`).
async fn domain(pool: &MySqlPool, userid: u64, name: &str, set: &str) -> u64 {
    let id = exec(
        pool,
        &format!(
            "INSERT INTO tbldomains (userid, type, registrationdate, domain, firstpaymentamount, \
             recurringamount, registrar, registrationperiod, expirydate, subscriptionid, status, \
             nextduedate, nextinvoicedate, additionalnotes, paymentmethod, reminders) VALUES \
             ({userid}, 'Register', '2024-03-01', '{name}', '10.00', '24.50', 'cnic', 1, \
             '2027-03-01', '', 'Active', '2027-03-01', '2027-02-01', '', 'banktransfer', '')"
        ),
    )
    .await;
    if !set.is_empty() {
        exec(
            pool,
            &format!("UPDATE tbldomains SET {set} WHERE id = {id}"),
        )
        .await;
    }
    id
}

/// The quirky rows a long-lived WHMCS holds; returns the ids of those that must come out
/// unreadable.
async fn plant_quirks(pool: &MySqlPool) -> Vec<u64> {
    let usd = client(pool, 2).await;
    let gbp = client(pool, 3).await;
    let nowhere = client(pool, 77).await;
    let zero = "registrationdate = '0000-00-00', expirydate = '0000-00-00', \
                nextduedate = '0000-00-00', nextinvoicedate = '0000-00-00'";
    domain(pool, usd, "zero-dates.com", zero).await;
    domain(
        pool,
        usd,
        "no-dates.com",
        "expirydate = NULL, nextduedate = NULL",
    )
    .await;
    domain(pool, usd, "empty-registrar.net", "registrar = ''").await;
    domain(pool, gbp, "bücher-café.de", "").await;
    domain(pool, gbp, "xn--mller-kva.de", "").await;
    domain(pool, gbp, "round-amount.org", "recurringamount = 12").await;
    domain(pool, gbp, "protected.shop", "idprotection = 1").await;
    domain(pool, usd, "leaving.shop", "donotrenew = 1").await;
    domain(
        pool,
        usd,
        "pending-no-period.shop",
        "status = 'Pending', registrationperiod = 0, type = 'Transfer'",
    )
    .await;
    domain(pool, gbp, "premium-flag.shop", "is_premium = 1").await;
    vec![
        domain(pool, 987_654, "orphan.com", "").await,
        domain(pool, nowhere, "unknown-currency.com", "").await,
        domain(pool, usd, "not a domain", "").await,
        domain(pool, usd, "", "").await,
    ]
}

/// Premium data is the database's alone (the API cannot say), so it is left out.
fn comparable(mut domains: Vec<BillingDomain>) -> Vec<BillingDomain> {
    for d in &mut domains {
        d.is_premium = None;
        d.premium_cost = None;
    }
    domains.sort_by_key(|d| d.id);
    domains
}

#[tokio::test]
async fn the_database_snapshot_equals_the_api_snapshot_quirks_included() {
    let Some(database) = TestDatabase::mariadb("whmcs_db_read_snapshot").await else {
        return;
    };
    let both = sandbox(&database.url).await;
    let unreadable = plant_quirks(&both.pool).await;

    let api = both.api.list_billing_domains().await.unwrap();
    let from_db = both
        .db
        .list_domains(&KnownClientCurrencies::new())
        .await
        .unwrap();
    assert!(api.domains.len() > DOMAINS / 2, "{}", api.domains.len());
    let (a, d) = (comparable(api.domains), comparable(from_db.domains.clone()));
    assert_eq!(a.len(), d.len());
    for (x, y) in a.iter().zip(&d) {
        assert_eq!(x, y, "domain #{} differs", x.id);
    }
    let ids = |list: &[domwatch_whmcs::actions::UnreadableDomain]| {
        let mut ids: Vec<u64> = list.iter().map(|u| u.id).collect();
        ids.sort_unstable();
        ids
    };
    assert_eq!(ids(&api.unreadable), ids(&from_db.unreadable));
    for id in &unreadable {
        assert!(
            ids(&from_db.unreadable).contains(id),
            "#{id} not unreadable"
        );
    }
    // The same kind of reason on both paths.
    for (phrase, count) in [
        ("does not exist", 1),
        ("currency id 77", 1),
        ("not a valid name", 2),
    ] {
        for list in [&api.unreadable, &from_db.unreadable] {
            let n = list.iter().filter(|u| u.reason.contains(phrase)).count();
            assert_eq!(n, count, "{phrase}: {list:?}");
        }
    }
    // The quirks came through as WHMCS means them.
    let by_name = |n: &str| {
        from_db
            .domains
            .iter()
            .find(|d| d.name.ascii() == n)
            .unwrap_or_else(|| panic!("{n} missing"))
    };
    let zero = by_name("zero-dates.com");
    assert_eq!((zero.expiry, zero.next_due), (None, None));
    assert_eq!(&*by_name("empty-registrar.net").registrar_module, "");
    let idn = domwatch_core::DomainName::parse("bücher-café.de").unwrap();
    assert_eq!(by_name(idn.ascii()).name, idn);
    let round = by_name("round-amount.org");
    assert_eq!(
        round.recurring_amount.amount,
        rust_decimal::Decimal::from(12)
    );
    assert_eq!(
        round.recurring_amount.currency,
        domwatch_core::Currency::GBP
    );
    assert_eq!(
        by_name("leaving.shop").recurring_amount.currency,
        domwatch_core::Currency::USD
    );
    assert_eq!(by_name("protected.shop").id_protection, Some(true));
    assert!(by_name("leaving.shop").do_not_renew);
    assert_eq!(by_name("premium-flag.shop").is_premium, Some(true));
    assert_eq!(by_name("round-amount.org").is_premium, Some(false));

    // A targeted read finds a name by A-label and by its Unicode spelling.
    let names = [
        domwatch_core::DomainName::parse("bücher-café.de").unwrap(),
        domwatch_core::DomainName::parse("müller.de").unwrap(),
        domwatch_core::DomainName::parse("zero-dates.com").unwrap(),
    ];
    let known = KnownClientCurrencies::new();
    let named_api = both.api.list_domains_named(&names, &known).await.unwrap();
    let named_db = both.db.list_domains_named(&names, &known).await.unwrap();
    assert_eq!(named_db.domains.len(), 3);
    assert_eq!(comparable(named_api.domains), comparable(named_db.domains));

    both.whmcs.shutdown().await;
    database.drop_database().await;
}

/// Invoice `date` `days` before today with one `Domain` line for `domain`.
async fn invoice(pool: &MySqlPool, d: &InvoiceFor, status: &str, days: i64) -> u64 {
    let date = (today() - chrono::Duration::days(days)).format("%Y-%m-%d");
    let paid = if status == "Paid" {
        format!("'{date}'")
    } else {
        "NULL".into()
    };
    let id = exec(
        pool,
        &format!(
            "INSERT INTO tblinvoices (userid, invoicenum, date, duedate, datepaid, subtotal, \
             total, status, paymentmethod, notes) VALUES ({}, '', '{date}', '{date}', {paid}, \
             '30.00', '30.00', '{status}', 'banktransfer', '')",
            d.client_id
        ),
    )
    .await;
    for (kind, relid, amount) in [("Domain", d.domain_id, "25"), ("Addon", 1, "5.00")] {
        exec(
            pool,
            &format!(
                "INSERT INTO tblinvoiceitems (invoiceid, userid, type, relid, description, \
                 amount, taxed, duedate, paymentmethod, notes) VALUES ({id}, {}, '{kind}', \
                 {relid}, 'Domain Renewal – bücher', {amount}, 1, '{date}', 'banktransfer', '')",
                d.client_id
            ),
        )
        .await;
    }
    id
}

#[tokio::test]
async fn renewal_invoices_from_the_database_equal_the_api_ones() {
    let Some(database) = TestDatabase::mariadb("whmcs_db_read_invoices").await else {
        return;
    };
    let both = sandbox(&database.url).await;
    let pool = &both.pool;
    // Domains without any invoice line yet, so each gets exactly the history planted.
    let fresh: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT id, userid FROM tbldomains WHERE id NOT IN \
         (SELECT relid FROM tblinvoiceitems WHERE type = 'Domain') ORDER BY id LIMIT 7",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert_eq!(fresh.len(), 7);
    let d: Vec<InvoiceFor> = fresh
        .iter()
        .map(|&(id, client)| InvoiceFor {
            domain_id: id as u64,
            client_id: client as u64,
        })
        .collect();
    let window = RenewalWindow::days_before(today(), 60);
    let mut expected = BTreeMap::new();
    invoice(pool, &d[0], "Unpaid", 400).await; // unpaid, but a past term: none
    expected.insert(d[1].domain_id, invoice(pool, &d[1], "Paid", 5).await);
    invoice(pool, &d[2], "Paid", 400).await; // a past term: none
    expected.insert(d[3].domain_id, invoice(pool, &d[3], "Cancelled", 10).await);
    invoice(pool, &d[4], "Cancelled", 300).await; // none
    invoice(pool, &d[5], "Paid", 20).await;
    expected.insert(d[5].domain_id, invoice(pool, &d[5], "Unpaid", 2).await); // the newest
                                                                              // d[6] has no invoice at all.

    // Seeded domains that already have invoice history ride along.
    let seeded: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT DISTINCT ii.relid, ii.userid FROM tblinvoiceitems ii \
         WHERE ii.type = 'Domain' ORDER BY ii.relid LIMIT 20",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let mut wanted = d.clone();
    wanted.extend(seeded.iter().map(|&(id, client)| InvoiceFor {
        domain_id: id as u64,
        client_id: client as u64,
    }));

    let api = BillingPort::renewal_invoices(both.api.as_ref(), &wanted, window)
        .await
        .unwrap();
    let from_db = both.db.renewal_invoices(&wanted, window).await.unwrap();
    let ids = |m: &domwatch_whmcs::renewal::RenewalInvoices| -> BTreeMap<u64, u64> {
        m.iter().map(|(domain, inv)| (*domain, inv.id)).collect()
    };
    assert_eq!(ids(&api), ids(&from_db));
    for (domain, invoice) in &expected {
        assert_eq!(ids(&from_db).get(domain), Some(invoice), "domain #{domain}");
    }
    for none in [d[0], d[2], d[4], d[6]] {
        assert!(
            !from_db.contains_key(&none.domain_id),
            "#{}",
            none.domain_id
        );
    }

    // One domain's newest invoice is read exactly as GetInvoices + GetInvoice give it.
    for target in &d {
        for status in [None, Some("Paid"), Some("Unpaid")] {
            let a = both
                .api
                .find_domain_invoice(
                    target.client_id,
                    target.domain_id,
                    DomainInvoiceKind::Renewal,
                    status,
                )
                .await
                .unwrap();
            let b = both
                .db
                .find_domain_invoice(
                    target.client_id,
                    target.domain_id,
                    DomainInvoiceKind::Renewal,
                    status,
                )
                .await
                .unwrap();
            assert_eq!(a, b, "domain #{} status {status:?}", target.domain_id);
        }
    }
    let renewal = from_db.get(&d[1].domain_id).unwrap();
    assert_eq!(renewal.items.len(), 2);
    assert_eq!(renewal.date, Some(today() - chrono::Duration::days(5)));
    assert!(renewal.client_currency.is_some());

    both.whmcs.shutdown().await;
    database.drop_database().await;
}
