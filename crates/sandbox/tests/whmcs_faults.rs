//! A WHMCS having a bad day, through the real client: with the sandbox's faults switched
//! on over HTTP (`POST /_sandbox/event`), every paged list fails with an error that names
//! the action instead of coming back empty or short, and an invoice look-up that cannot be
//! made is an error, never "no invoice".

mod support;

use domwatch_sandbox::portfolio::{Drift, Portfolio, SeedDomain};
use domwatch_sandbox::whmcs::{start, WhmcsSandbox, WhmcsSandboxConfig};
use domwatch_whmcs::actions::{DomainInvoiceKind, TicketFilter};
use domwatch_whmcs::{WhmcsClient, WhmcsConfig, WhmcsError};
use std::time::Duration;
use support::{event, today};

async fn sandbox() -> WhmcsSandbox {
    start(WhmcsSandboxConfig::new(42, 130, today()))
        .await
        .expect("sandbox starts")
}

fn client_for(sandbox: &WhmcsSandbox) -> WhmcsClient {
    let mut config =
        WhmcsConfig::new(&sandbox.base_url(), sandbox.identifier(), sandbox.secret()).unwrap();
    config.page_size = 25;
    config.read_retries = 1;
    config.retry_backoff = Duration::from_millis(1);
    config.request_timeout = Duration::from_secs(2);
    WhmcsClient::new(config).unwrap()
}

/// Entry counts of every paged list the engine reads, or the error of each.
async fn read_every_list(client: &WhmcsClient) -> Vec<(&'static str, Result<usize, WhmcsError>)> {
    vec![
        (
            "GetClientsDomains",
            client.get_clients_domains().await.map(|l| l.len()),
        ),
        (
            "GetInvoices",
            client.get_invoices(None, None).await.map(|l| l.len()),
        ),
        (
            "GetTickets",
            client
                .get_tickets(&TicketFilter::default())
                .await
                .map(|l| l.len()),
        ),
        (
            "GetToDoItems",
            client.get_todo_items(None).await.map(|l| l.len()),
        ),
    ]
}

#[tokio::test]
async fn every_list_fails_clearly_under_each_fault_never_short() {
    let sandbox = sandbox().await;
    let client = client_for(&sandbox);
    let clean = read_every_list(&client).await;
    for (action, entries) in &clean {
        assert!(entries.is_ok(), "{action} without faults: {entries:?}");
    }
    assert!(
        matches!(clean[0], (_, Ok(n)) if n > 25),
        "the domain list spans pages: {clean:?}"
    );
    for (fault, expect) in [
        ("rate_truncated", "was cut off"),
        ("rate_short_page", "the list was cut off"),
        ("rate_http_500", "answered HTTP 500"),
    ] {
        event(
            &sandbox,
            &format!(r#"{{"event":"set_faults","{fault}":1.0}}"#),
        )
        .await;
        for ((action, clean), (_, faulty)) in clean.iter().zip(read_every_list(&client).await) {
            let entries = *clean.as_ref().unwrap();
            match faulty {
                // A short page of an empty list is still the empty list.
                Ok(0) if entries == 0 && fault == "rate_short_page" => {}
                Ok(got) => panic!("{fault}: {action} gave {got} entries ({entries} in full)"),
                Err(error) => {
                    let message = error.to_string();
                    assert!(
                        message.contains(expect) && message.contains(action),
                        "{fault}: {action}: {message}"
                    );
                    assert!(error.is_transient(), "{fault}: {action}: {error:?}");
                }
            }
        }
    }
    event(&sandbox, r#"{"event":"set_faults"}"#).await;
    assert_eq!(clean.len(), read_every_list(&client).await.len());
}

#[tokio::test]
async fn reads_are_retried_through_one_cut_off_answer() {
    let sandbox = sandbox().await;
    let client = client_for(&sandbox);
    let full = client.get_clients_domains().await.unwrap().len();
    event(
        &sandbox,
        r#"{"event":"inject_fault","fault":"truncated","count":1}"#,
    )
    .await;
    assert_eq!(client.get_clients_domains().await.unwrap().len(), full);
}

fn unpaid_renewal(portfolio: &Portfolio) -> SeedDomain {
    portfolio
        .domains()
        .find(|d| d.drift == Some(Drift::UnpaidRenewalInvoice) && d.billing.is_some())
        .expect("portfolio has an unpaid renewal invoice")
}

#[tokio::test]
async fn a_failed_invoice_look_up_is_an_error_never_no_invoice() {
    let sandbox = sandbox().await;
    let client = client_for(&sandbox);
    let domain = unpaid_renewal(&sandbox.portfolio());
    let b = domain.billing.as_ref().unwrap();
    let look_up =
        || client.find_domain_invoice(b.client_id, b.domain_id, DomainInvoiceKind::Renewal, None);
    assert!(look_up().await.unwrap().is_some(), "found without faults");

    for (fault, actions, expect) in [
        (
            "rate_http_500",
            r#"["GetInvoice"]"#,
            "GetInvoice` answered HTTP 500",
        ),
        (
            "rate_http_500",
            r#"["GetInvoices"]"#,
            "GetInvoices` answered HTTP 500",
        ),
        (
            "rate_truncated",
            r#"["GetInvoice"]"#,
            "GetInvoice` answer was cut off",
        ),
        (
            "rate_truncated",
            r#"["GetInvoices"]"#,
            "GetInvoices` answer was cut off",
        ),
        (
            "rate_short_page",
            r#"["GetInvoices"]"#,
            "the list was cut off",
        ),
        (
            "rate_hang",
            r#"["GetInvoice"]"#,
            "GetInvoice` did not answer",
        ),
    ] {
        event(
            &sandbox,
            &format!(
                r#"{{"event":"set_faults","{fault}":1.0,"hang_ms":5000,"actions":{actions}}}"#
            ),
        )
        .await;
        let error = look_up()
            .await
            .expect_err(&format!("{fault} on {actions}: an error, not Ok(None)"));
        assert!(
            error.to_string().contains(expect),
            "{fault} {actions}: {error}"
        );
        assert!(error.is_transient(), "{error:?}");
    }

    // WHMCS gone altogether: a refused connection, said in words.
    event(&sandbox, r#"{"event":"set_faults"}"#).await;
    let url = sandbox.api_url();
    sandbox.shutdown().await;
    let error = look_up().await.unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains(&format!("cannot connect to {url}: connection refused"))
            && message.contains("is WHMCS running"),
        "{message}"
    );
}
