//! Renewal invoices of many domains by one walk of the invoice list, through the real
//! client against the sandbox WHMCS: the same answer as asking per domain, for fewer
//! calls, cheaper again when the invoices are cached, and an error (never a partial
//! answer) when a call fails.

mod support;

use chrono::{Duration, NaiveDate};
use domwatch_sandbox::whmcs::{start, WhmcsSandbox, WhmcsSandboxConfig};
use domwatch_whmcs::port::{renewal_invoices_per_domain, BillingPort};
use domwatch_whmcs::renewal::{InvoiceFor, RenewalWindow};
use domwatch_whmcs::{WhmcsClient, WhmcsConfig};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration as StdDuration;
use support::{event, today};

const PAGE: u32 = 25;
const WINDOW_DAYS: i64 = 60;

async fn sandbox() -> WhmcsSandbox {
    start(WhmcsSandboxConfig::new(42, 300, today()))
        .await
        .expect("sandbox starts")
}

fn client_for(sandbox: &WhmcsSandbox) -> WhmcsClient {
    let mut config =
        WhmcsConfig::new(&sandbox.base_url(), sandbox.identifier(), sandbox.secret()).unwrap();
    config.page_size = PAGE;
    config.read_retries = 1;
    config.retry_backoff = StdDuration::from_millis(1);
    WhmcsClient::new(config).unwrap()
}

fn window() -> RenewalWindow {
    RenewalWindow::days_before(today(), WINDOW_DAYS)
}

/// Every billed domain of the portfolio.
fn wanted(sandbox: &WhmcsSandbox) -> Vec<InvoiceFor> {
    sandbox
        .portfolio()
        .domains()
        .filter_map(|d| d.billing)
        .map(|b| InvoiceFor {
            domain_id: b.domain_id,
            client_id: b.client_id,
        })
        .collect()
}

/// Two clients with at least two domains each: their domains, by client.
fn clients_with_several(domains: &[InvoiceFor]) -> Vec<Vec<InvoiceFor>> {
    let mut by_client: BTreeMap<u64, Vec<InvoiceFor>> = BTreeMap::new();
    for d in domains {
        by_client.entry(d.client_id).or_default().push(*d);
    }
    let several: Vec<Vec<InvoiceFor>> = by_client
        .into_values()
        .filter(|d| d.len() >= 3)
        .take(2)
        .collect();
    assert_eq!(
        several.len(),
        2,
        "the portfolio has clients with 3+ domains"
    );
    several
}

fn ymd(d: NaiveDate) -> String {
    d.format("'%Y-%m-%d'").to_string()
}

/// Plants an invoice with a `Domain` line for each of `domains` (one client) and returns
/// its id. `id` None takes the next id (newest); a given id can place it among older ones.
async fn plant(
    sandbox: &WhmcsSandbox,
    id: Option<u64>,
    domains: &[InvoiceFor],
    status: &str,
    date: NaiveDate,
) -> u64 {
    let client = domains[0].client_id;
    let paid = if status == "Paid" {
        ymd(date)
    } else {
        "NULL".into()
    };
    let id_column = id.map(|i| format!("{i}, ")).unwrap_or_default();
    let id_name = if id.is_some() { "id, " } else { "" };
    let store = sandbox.store();
    store
        .execute(
            &format!(
                "INSERT INTO tblinvoices ({id_name}userid, invoicenum, date, duedate, datepaid, \
                 subtotal, total, status, paymentmethod, notes) VALUES ({id_column}{client}, '', \
                 {}, {}, {paid}, '{amount}', '{amount}', '{status}', 'banktransfer', '')",
                ymd(date),
                ymd(date + Duration::days(14)),
                amount = 12.5 * domains.len() as f64,
            ),
            &[],
        )
        .await
        .unwrap();
    let row = store
        .query_one("SELECT MAX(id) AS id FROM tblinvoices", &[])
        .await
        .unwrap()
        .unwrap();
    let invoice = id.unwrap_or(row.int("id") as u64);
    for d in domains {
        store
            .execute(
                &format!(
                    "INSERT INTO tblinvoiceitems (invoiceid, userid, type, relid, description, \
                     amount, taxed, duedate, paymentmethod, notes) VALUES ({invoice}, {client}, \
                     'Domain', {}, 'Domain Renewal', '12.50', 0, {}, 'banktransfer', '')",
                    d.domain_id,
                    ymd(date),
                ),
                &[],
            )
            .await
            .unwrap();
    }
    invoice
}

/// Calls since `before`, by action.
fn calls_since(sandbox: &WhmcsSandbox, before: &BTreeMap<String, u64>) -> BTreeMap<String, u64> {
    sandbox
        .api_calls_by_action()
        .into_iter()
        .map(|(k, n)| {
            let old = before.get(&k).copied().unwrap_or(0);
            (k, n - old)
        })
        .filter(|(_, n)| *n > 0)
        .collect()
}

fn total(calls: &BTreeMap<String, u64>) -> u64 {
    calls.values().sum()
}

#[tokio::test]
async fn the_walk_answers_like_asking_per_domain_for_fewer_calls() {
    let sandbox = sandbox().await;
    let client = client_for(&sandbox);
    let wanted = wanted(&sandbox);
    let several = clients_with_several(&wanted);
    let (a, b) = (&several[0], &several[1]);
    // The planted domains keep only the planted invoices' lines.
    let planted: Vec<String> = a.iter().chain(b).map(|d| d.domain_id.to_string()).collect();
    sandbox
        .store()
        .execute(
            &format!(
                "DELETE FROM tblinvoiceitems WHERE type = 'Domain' AND relid IN ({})",
                planted.join(",")
            ),
            &[],
        )
        .await
        .unwrap();
    let since = window().since;
    let old_unpaid = plant(
        &sandbox,
        None,
        &a[0..1],
        "Unpaid",
        since - Duration::days(300),
    )
    .await;
    let paid_recent = plant(
        &sandbox,
        None,
        &a[1..2],
        "Paid",
        today() - Duration::days(5),
    )
    .await;
    // Older than the paid one in the window, so the newer one wins.
    plant(
        &sandbox,
        Some(50_001),
        &a[1..2],
        "Unpaid",
        today() - Duration::days(9),
    )
    .await;
    let cancelled = plant(
        &sandbox,
        None,
        &b[0..1],
        "Cancelled",
        today() - Duration::days(3),
    )
    .await;
    let too_old = plant(&sandbox, None, &a[2..3], "Paid", since - Duration::days(1)).await;
    // One invoice renewing two domains of a client.
    let both = plant(
        &sandbox,
        None,
        &b[1..3],
        "Unpaid",
        today() - Duration::days(1),
    )
    .await;

    let before = sandbox.api_calls_by_action();
    let per_domain = renewal_invoices_per_domain(&client, &wanted, window())
        .await
        .unwrap();
    let asked = calls_since(&sandbox, &before);
    let before = sandbox.api_calls_by_action();
    let walked = client.renewal_invoices(&wanted, window()).await.unwrap();
    let walk = calls_since(&sandbox, &before);

    assert_eq!(
        walked, per_domain,
        "the walk answers like asking per domain"
    );
    let id_of = |d: &InvoiceFor| walked.get(&d.domain_id).map(|i| i.id);
    assert_eq!(
        id_of(&a[0]),
        None,
        "#{old_unpaid}, unpaid before the window, belongs to an earlier term"
    );
    assert_eq!(id_of(&a[1]), Some(paid_recent), "the newest admitted one");
    assert_eq!(
        id_of(&a[2]),
        None,
        "paid before the window: #{too_old} is not this term's"
    );
    assert_eq!(id_of(&b[0]), Some(cancelled));
    assert_eq!((id_of(&b[1]), id_of(&b[2])), (Some(both), Some(both)));
    assert!(walked[&a[1].domain_id].client_currency.is_some());
    let statuses: BTreeSet<&str> = walked.values().map(|i| i.status.as_str()).collect();
    assert!(
        statuses.contains("Paid") && statuses.contains("Unpaid"),
        "{statuses:?}"
    );

    assert!(
        total(&walk) * 2 < total(&asked),
        "walk {walk:?} against per domain {asked:?}"
    );
    assert!(walk["getinvoices"] < wanted.len() as u64 / 10, "{walk:?}");
    println!("walk {walk:?}, per domain {asked:?}");

    // Next cycle: nothing changed, so no invoice is read again; one that changed is.
    let before = sandbox.api_calls_by_action();
    assert_eq!(
        client.renewal_invoices(&wanted, window()).await.unwrap(),
        walked
    );
    let again = calls_since(&sandbox, &before);
    assert_eq!(again.get("getinvoice"), None, "{again:?}");
    assert!(client.invoice_lines().len() >= walked.len());
    // Paid now: `both` is read again; the old unpaid one stays outside the window.
    for id in [both, old_unpaid] {
        sandbox.pay_invoice(id).await.unwrap();
    }
    let before = sandbox.api_calls_by_action();
    let third = client.renewal_invoices(&wanted, window()).await.unwrap();
    assert_eq!(calls_since(&sandbox, &before).get("getinvoice"), Some(&1));
    assert_eq!(
        third[&b[1].domain_id].status, "Paid",
        "read again, not from the cache"
    );
    assert!(!third.contains_key(&a[0].domain_id));
    assert_eq!(
        third,
        renewal_invoices_per_domain(&client, &wanted, window())
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn few_domains_are_asked_per_domain() {
    let sandbox = sandbox().await;
    let client = client_for(&sandbox);
    let few: Vec<InvoiceFor> = wanted(&sandbox).into_iter().take(2).collect();
    let before = sandbox.api_calls_by_action();
    let found = client.renewal_invoices(&few, window()).await.unwrap();
    let calls = calls_since(&sandbox, &before);
    assert_eq!(
        calls.get("getinvoices"),
        Some(&(few.len() as u64)),
        "{calls:?}"
    );
    assert_eq!(
        found,
        renewal_invoices_per_domain(&client, &few, window())
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn a_failed_call_is_an_error_never_a_partial_answer() {
    let sandbox = sandbox().await;
    let client = client_for(&sandbox);
    let wanted = wanted(&sandbox);
    assert!(!client
        .renewal_invoices(&wanted, window())
        .await
        .unwrap()
        .is_empty());
    let fresh = client_for(&sandbox);
    for (fault, action, expect) in [
        (
            "rate_http_500",
            "GetInvoice",
            "GetInvoice` answered HTTP 500",
        ),
        (
            "rate_http_500",
            "GetInvoices",
            "GetInvoices` answered HTTP 500",
        ),
        (
            "rate_truncated",
            "GetInvoices",
            "GetInvoices` answer was cut off",
        ),
        ("rate_short_page", "GetInvoices", "GetInvoices"),
    ] {
        event(
            &sandbox,
            &format!(r#"{{"event":"set_faults","{fault}":1.0,"actions":["{action}"]}}"#),
        )
        .await;
        let error = fresh
            .renewal_invoices(&wanted, window())
            .await
            .expect_err(&format!("{fault} on {action}: an error"));
        assert!(
            error.to_string().contains(expect),
            "{fault} {action}: {error}"
        );
    }
    event(&sandbox, r#"{"event":"set_faults"}"#).await;
    assert!(!fresh
        .renewal_invoices(&wanted, window())
        .await
        .unwrap()
        .is_empty());
}
