//! Scenarios for the sandbox WHMCS driven through the real client (`domwatch-whmcs`):
//! every action, WHMCS's quirks and error messages, paging with the 7.8 bug, payments.

mod support;

use chrono::{Duration, NaiveDate};
use domwatch_core::model::BillingStatus;
use domwatch_sandbox::portfolio::{add_years, Drift, Portfolio, SeedDomain};
use domwatch_sandbox::whmcs::{start, SandboxCredential, WhmcsSandbox, WhmcsSandboxConfig};
use domwatch_whmcs::actions::{
    CurrencySource, DomainInvoiceKind, DomainUpdate, InvoiceUpdate, KnownClientCurrencies,
    NewTicket, TicketFilter, TicketPriority, ToDoUpdate,
};
use domwatch_whmcs::api::ActionKind;
use domwatch_whmcs::db::NewToDo;
use domwatch_whmcs::port::{BillingPort, TicketDestination, ToDoChannel, ToDoNotifier};
use domwatch_whmcs::{WhmcsClient, WhmcsConfig, WhmcsError};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use std::sync::Arc;
use support::{raw, raw_json, today};

async fn sandbox(domains: usize) -> WhmcsSandbox {
    start(WhmcsSandboxConfig::new(42, domains, today()))
        .await
        .expect("sandbox starts")
}

fn client_for(sandbox: &WhmcsSandbox, page_size: u32) -> WhmcsClient {
    let mut config =
        WhmcsConfig::new(&sandbox.base_url(), sandbox.identifier(), sandbox.secret()).unwrap();
    config.page_size = page_size;
    WhmcsClient::new(config).unwrap()
}

fn find(portfolio: &Portfolio, drift: Drift) -> SeedDomain {
    portfolio
        .domains()
        .find(|d| d.drift == Some(drift) && d.billing.is_some())
        .unwrap_or_else(|| panic!("portfolio has a {drift:?} domain"))
}

/// A targeted check reads just its domains: each by name (also an IDN), with its client's
/// currency; a name WHMCS does not hold is simply not in the list.
#[tokio::test]
async fn named_listing_reads_just_those_domains() {
    let sandbox = sandbox(300).await;
    let client = client_for(&sandbox, 40);
    let portfolio = sandbox.portfolio();
    let full = client.list_billing_domains().await.unwrap();
    let mut wanted: Vec<domwatch_core::DomainName> = portfolio
        .domains()
        .filter(|d| d.billing.is_some())
        .filter(|d| d.name.is_idn())
        .take(1)
        .chain(portfolio.domains().filter(|d| d.billing.is_some()).take(2))
        .map(|d| d.name)
        .collect();
    assert!(wanted[0].is_idn(), "the portfolio bills an IDN");
    wanted.push(domwatch_core::DomainName::parse("not-billed-anywhere.example").unwrap());
    let named = client
        .list_billing_domains_named(&wanted, &KnownClientCurrencies::new())
        .await
        .unwrap();
    let held = wanted.len() - 1;
    assert_eq!(named.domains.len(), held, "{:?}", named.domains);
    for got in &named.domains {
        let same = full.domains.iter().find(|d| d.id == got.id).unwrap();
        assert_eq!(
            got, same,
            "the same row as the full listing, currency included"
        );
    }
}

#[tokio::test]
async fn listing_matches_the_portfolio_across_pages() {
    let sandbox = sandbox(300).await;
    let client = client_for(&sandbox, 40);
    let list = client.list_billing_domains().await.unwrap();
    let portfolio = sandbox.portfolio();
    let expected: Vec<SeedDomain> = portfolio
        .domains()
        .filter(|d| d.billing.is_some())
        .collect();
    assert!(list.unreadable.is_empty(), "{:?}", list.unreadable);
    assert_eq!(list.domains.len(), expected.len());
    for (got, seed) in list.domains.iter().zip(&expected) {
        let b = seed.billing.as_ref().unwrap();
        assert_eq!(got.id, b.domain_id);
        assert_eq!(got.name, seed.name);
        assert_eq!(got.client_id, b.client_id);
        assert_eq!(got.status, b.status);
        assert_eq!(got.recurring_amount.amount, b.recurring_amount);
        assert_eq!(
            got.recurring_amount.currency,
            portfolio.client(b.client_id).currency
        );
        assert_eq!(got.expiry, Some(b.expiry));
        assert_eq!(got.next_due, Some(b.next_due));
        assert_eq!(got.do_not_renew, b.do_not_renew);
        assert_eq!(&*got.registrar_module, b.registrar_module);
        assert_eq!(got.is_premium, None, "the API does not reveal is_premium");
    }
    // 8 pages of 40 for the domains, then one GetClientsDetails per client.
    assert!(sandbox.api_calls() > 8);
}

#[tokio::test]
async fn client_currencies_come_from_invoices_then_details_and_known_ones_are_not_asked() {
    let sandbox = sandbox(1000).await;
    sandbox.set_numreturned_bug(true);
    let client = client_for(&sandbox, 40);
    let portfolio = sandbox.portfolio();
    // Clients 1..=5 have no invoice at all, so they are asked for one by one.
    sandbox
        .store()
        .execute("DELETE FROM tblinvoices WHERE userid <= 5", &[])
        .await
        .unwrap();
    let list = client.list_billing_domains().await.unwrap();
    let clients: std::collections::BTreeSet<u64> =
        list.domains.iter().map(|d| d.client_id).collect();
    assert_eq!(list.learned_currencies.len(), clients.len());
    for learned in &list.learned_currencies {
        assert_eq!(
            learned.currency,
            portfolio.client(learned.client_id).currency
        );
    }
    let from_invoices = list
        .learned_currencies
        .iter()
        .filter(|l| l.source == CurrencySource::Invoices)
        .count();
    let without_invoices = clients.iter().filter(|&&id| id <= 5).count();
    assert!(without_invoices > 0);
    assert_eq!(
        from_invoices,
        clients.len() - without_invoices,
        "clients with invoices are read from the invoice list, the rest one by one"
    );

    // Everything known: the listing is GetCurrencies and the domain pages, nothing else.
    let known: KnownClientCurrencies = list
        .learned_currencies
        .iter()
        .map(|l| (l.client_id, l.currency))
        .collect();
    let before = sandbox.api_calls();
    let again = client.list_billing_domains_knowing(&known).await.unwrap();
    let pages = (list.domains.len() + list.unreadable.len()).div_ceil(40) as u64;
    assert_eq!(sandbox.api_calls() - before, 1 + pages);
    assert!(again.learned_currencies.is_empty());
    assert_eq!(again.domains, list.domains);
}

#[tokio::test]
async fn wire_quirks_numbers_as_strings_default_page_and_empty_lists() {
    let sandbox = sandbox(130).await;
    let page = raw_json(&sandbox, &[("action", "GetClientsDomains")]).await;
    assert_eq!(page["result"], "success");
    assert_eq!(page["numreturned"], 25, "default limitnum is 25");
    let first = &page["domains"]["domain"][0];
    assert!(first["recurringamount"].is_string() && first["donotrenew"].is_string());

    // The bot client owns no domains: WHMCS answers `"domains": ""`.
    let bot = sandbox.portfolio().bot_client_id().to_string();
    let none = raw_json(
        &sandbox,
        &[("action", "GetClientsDomains"), ("clientid", &bot)],
    )
    .await;
    assert_eq!(none["domains"], "");
    assert_eq!(none["totalresults"], 0);

    // No to-dos: `items` is omitted entirely, and the client copes.
    let todos = raw_json(&sandbox, &[("action", "GetToDoItems")]).await;
    assert!(todos.get("items").is_none(), "{todos}");
    let client = client_for(&sandbox, 25);
    assert!(client.get_todo_items(None).await.unwrap().is_empty());

    // Without responsetype, structured actions answer XML (so the client always sends json).
    let (_, xml) = raw(&sandbox, &[("action", "GetCurrencies")], false).await;
    assert!(xml.starts_with("<?xml"), "{xml}");
    // Action names are matched case-insensitively.
    let currencies = raw_json(&sandbox, &[("action", "getcurrencies")]).await;
    assert_eq!(currencies["totalresults"], 3);
}

#[tokio::test]
async fn bad_credentials_unknown_actions_and_permissions() {
    let mut config = WhmcsSandboxConfig::new(42, 20, today());
    config.credentials.push(SandboxCredential {
        identifier: "readonly".into(),
        secret: "readonly-secret".into(),
        allowed_actions: Some(vec!["GetCurrencies".into()]),
    });
    let sandbox = start(config).await.unwrap();

    let wrong_secret = WhmcsClient::new(
        WhmcsConfig::new(&sandbox.base_url(), sandbox.identifier(), "wrong").unwrap(),
    )
    .unwrap();
    let err = wrong_secret.get_currencies().await.unwrap_err();
    assert!(matches!(err, WhmcsError::Auth { .. }), "{err:?}");
    assert!(err.to_string().contains("Authentication Failed"), "{err}");
    assert!(!err.to_string().contains(sandbox.secret()));

    let unknown =
        WhmcsClient::new(WhmcsConfig::new(&sandbox.base_url(), "nobody", "x").unwrap()).unwrap();
    let err = unknown.get_currencies().await.unwrap_err();
    assert!(
        err.to_string().contains("Invalid or missing credentials"),
        "{err}"
    );

    let readonly = WhmcsClient::new(
        WhmcsConfig::new(&sandbox.base_url(), "readonly", "readonly-secret").unwrap(),
    )
    .unwrap();
    assert_eq!(readonly.get_currencies().await.unwrap().len(), 3);
    let err = readonly.get_clients_domains().await.unwrap_err();
    assert!(matches!(err, WhmcsError::Permission { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("Invalid Permissions: API action \"getclientsdomains\" is not allowed"),
        "{err}"
    );

    let client = client_for(&sandbox, 25);
    let err = client
        .call("FrobnicateDomains", ActionKind::Read, &[])
        .await
        .unwrap_err();
    assert!(matches!(err, WhmcsError::UnknownAction { .. }), "{err:?}");
}

#[tokio::test]
async fn invoice_paging_survives_the_numreturned_bug() {
    let mut config = WhmcsSandboxConfig::new(42, 400, today());
    config.numreturned_bug = true;
    let sandbox = start(config).await.unwrap();
    let expected = sandbox
        .portfolio()
        .domains()
        .filter_map(|d| d.billing)
        .map(|b| b.invoices.len())
        .sum::<usize>()
        + sandbox.portfolio().client_count() as usize;
    assert!(expected > 20, "portfolio has {expected} invoices");

    let page = raw_json(&sandbox, &[("action", "GetInvoices"), ("limitnum", "7")]).await;
    assert_eq!(
        page["numreturned"], page["totalresults"],
        "the 7.8 bug is on"
    );
    assert_eq!(page["invoices"]["invoice"].as_array().unwrap().len(), 7);

    let client = client_for(&sandbox, 7);
    let invoices = client.get_invoices(None, None).await.unwrap();
    assert_eq!(invoices.len(), expected);
    let mut ids: Vec<u64> = invoices.iter().map(|i| i.id).collect();
    ids.dedup();
    assert_eq!(ids.len(), expected, "no invoice twice, none skipped");

    sandbox.set_numreturned_bug(false);
    let page = raw_json(&sandbox, &[("action", "GetInvoices"), ("limitnum", "7")]).await;
    assert_eq!(page["numreturned"], 7);
}

#[tokio::test]
async fn client_details_currencies_and_tld_pricing() {
    let sandbox = sandbox(50).await;
    let client = client_for(&sandbox, 25);
    let portfolio = sandbox.portfolio();
    let seed_client = portfolio.client(3);
    let details = client.get_client_details(3).await.unwrap();
    assert_eq!(details.email, seed_client.email);
    assert_eq!(details.currency_id, seed_client.currency_id);
    assert_eq!(details.currency_code, Some(seed_client.currency));
    let err = client.get_client_details(999_999).await.unwrap_err();
    assert!(matches!(err, WhmcsError::NotFound { .. }), "{err:?}");

    let currencies = client.get_currencies().await.unwrap();
    assert_eq!(
        currencies
            .iter()
            .map(|c| c.code.as_str())
            .collect::<Vec<_>>(),
        ["EUR", "USD", "GBP"]
    );
    assert_eq!(currencies[0].rate, Decimal::ONE);

    let pricing = client.get_tld_pricing(1).await.unwrap();
    assert_eq!(pricing.currency.code.as_str(), "EUR");
    // .com costs 9.50 at the registrar; WHMCS sells it with the 1.25 margin.
    assert_eq!(pricing.tlds["com"].renew[&1], dec!(11.88));
    assert_eq!(pricing.tlds["com"].renew[&2], dec!(23.76));
    assert!(pricing.tlds.contains_key("co.uk"));
    let usd = client.get_tld_pricing(2).await.unwrap();
    // The same conversion the portfolio uses for client amounts.
    let expected_usd =
        (dec!(9.50) * domwatch_sandbox::portfolio::BILLING_MARGIN * dec!(1.0825)).round_dp(2);
    assert_eq!(usd.tlds["com"].renew[&1], expected_usd);

    client
        .log_activity("domwatch test activity", Some(3))
        .await
        .unwrap();
    let logged = sandbox
        .store()
        .count("SELECT COUNT(*) AS n FROM tblactivitylog WHERE description = 'domwatch test activity' AND userid = 3", &[])
        .await
        .unwrap();
    assert_eq!(logged, 1);
}

#[tokio::test]
async fn update_client_domain_writes_and_refuses_what_whmcs_would_ignore() {
    let sandbox = sandbox(30).await;
    let client = client_for(&sandbox, 25);
    let before = client.get_clients_domain(5).await.unwrap().unwrap();
    let new_due = NaiveDate::from_ymd_opt(2028, 3, 1).unwrap();
    client
        .update_client_domain(
            5,
            &DomainUpdate {
                recurring_amount: Some(dec!(99.5)),
                status: Some(BillingStatus::Cancelled),
                expiry: Some(new_due),
                next_due: Some(new_due),
                do_not_renew: Some(true),
                id_protection: None,
                auto_recalc: false,
            },
        )
        .await
        .unwrap();
    let after = client.get_clients_domain(5).await.unwrap().unwrap();
    assert_eq!(after.recurring_amount, dec!(99.50));
    assert_eq!(after.status, BillingStatus::Cancelled);
    assert_eq!(after.expiry, Some(new_due));
    assert_eq!(after.next_due, Some(new_due));
    assert!(after.do_not_renew);
    let next_invoice = sandbox
        .store()
        .query_one("SELECT nextinvoicedate FROM tbldomains WHERE id = 5", &[])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        next_invoice.date_opt("nextinvoicedate"),
        Some(new_due),
        "nextduedate also sets nextinvoicedate"
    );

    // The flag goes back to 0 when sent as 0.
    client
        .update_client_domain(
            5,
            &DomainUpdate {
                do_not_renew: Some(false),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(
        !client
            .get_clients_domain(5)
            .await
            .unwrap()
            .unwrap()
            .do_not_renew
    );

    // Zero is refused by the client, before anything is sent.
    let calls = sandbox.api_calls();
    let err = client
        .update_client_domain(
            5,
            &DomainUpdate {
                recurring_amount: Some(Decimal::ZERO),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(err, WhmcsError::InvalidRequest { .. }), "{err:?}");
    assert_eq!(sandbox.api_calls(), calls, "nothing was sent");

    // ...because the sandbox, like WHMCS, silently ignores it; and "false" means 1.
    let answer = raw_json(
        &sandbox,
        &[
            ("action", "UpdateClientDomain"),
            ("domainid", "5"),
            ("recurringamount", "0"),
            ("donotrenew", "false"),
        ],
    )
    .await;
    assert_eq!(answer["result"], "success");
    let raw_after = client.get_clients_domain(5).await.unwrap().unwrap();
    assert_eq!(raw_after.recurring_amount, dec!(99.50));
    assert!(
        raw_after.do_not_renew,
        "the string \"false\" is non-empty, so WHMCS stores 1"
    );
    assert_ne!(before.recurring_amount, raw_after.recurring_amount);

    let err = client
        .update_client_domain(
            999_999,
            &DomainUpdate {
                do_not_renew: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(err, WhmcsError::NotFound { .. }));
    assert!(err.to_string().contains("Domain ID Not Found"));
}

#[tokio::test]
async fn autorecalc_uses_the_standard_price_not_premium() {
    let sandbox = sandbox(130).await;
    let client = client_for(&sandbox, 25);
    let portfolio = sandbox.portfolio();
    let premium = find(&portfolio, Drift::PremiumCostMissing);
    let b = premium.billing.as_ref().unwrap();
    client
        .update_client_domain(
            b.domain_id,
            &DomainUpdate {
                auto_recalc: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let after = client
        .get_clients_domain(b.domain_id)
        .await
        .unwrap()
        .unwrap();
    let pricing = client
        .get_tld_pricing(portfolio.client(b.client_id).currency_id)
        .await
        .unwrap();
    assert_eq!(
        after.recurring_amount,
        pricing.tlds[premium.name.zone()].renew[&1]
    );
    assert!(
        after.recurring_amount < b.recurring_amount,
        "premium price was replaced by the standard one"
    );
}

#[tokio::test]
async fn renewal_invoice_is_found_edited_and_paid() {
    let sandbox = sandbox(130).await;
    let client = client_for(&sandbox, 25);
    let portfolio = sandbox.portfolio();
    let unpaid = find(&portfolio, Drift::UnpaidRenewalInvoice);
    let b = unpaid.billing.as_ref().unwrap();

    let invoice = client
        .find_domain_invoice(
            b.client_id,
            b.domain_id,
            DomainInvoiceKind::Renewal,
            Some("Unpaid"),
        )
        .await
        .unwrap()
        .expect("the renewal invoice");
    assert_eq!(invoice.id, b.invoices[0].id);
    assert_eq!(invoice.total, b.recurring_amount);
    assert_eq!(invoice.items[0].item_type, "Domain");
    assert_eq!(invoice.items[0].rel_id, b.domain_id);
    assert!(client
        .find_domain_invoice(
            b.client_id,
            b.domain_id,
            DomainInvoiceKind::Registration,
            None
        )
        .await
        .unwrap()
        .is_none());
    // Ids below 100 000 are sign-up invoices, one per client; this one has no client.
    let err = client.get_invoice(99_999).await.unwrap_err();
    assert!(err.to_string().contains("Invoice ID Not Found"), "{err}");

    let item = &invoice.items[0];
    client
        .update_invoice(
            invoice.id,
            &InvoiceUpdate {
                items: vec![(item.id, item.description.clone(), dec!(150), false)],
                notes: Some("repriced by domwatch".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let repriced = client.get_invoice(invoice.id).await.unwrap();
    assert_eq!(repriced.total, dec!(150.00));
    assert_eq!(repriced.balance, dec!(150.00));
    let err = client
        .update_invoice(
            invoice.id,
            &InvoiceUpdate {
                status: Some("Bogus".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("Invalid status"), "{err}");

    // Paying advances the next due date by the registration period, like makeDomainPayment.
    let response = reqwest::Client::new()
        .post(format!("{}_sandbox/pay-invoice", sandbox.base_url()))
        .form(&[("invoiceid", invoice.id.to_string())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let paid = client.get_invoice(invoice.id).await.unwrap();
    assert_eq!(paid.status, "Paid");
    assert_eq!(paid.date_paid, Some(today()));
    assert_eq!(paid.balance, Decimal::ZERO);
    let domain = client
        .get_clients_domain(b.domain_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(domain.next_due, Some(add_years(b.next_due, 1)));
    assert_eq!(
        domain.expiry,
        Some(b.expiry),
        "the registrar renewal is not WHMCS's to fake"
    );

    let again = reqwest::Client::new()
        .post(format!("{}_sandbox/pay-invoice", sandbox.base_url()))
        .json(&serde_json::json!({"invoiceid": invoice.id}))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 409);
}

#[tokio::test]
async fn renew_and_transfer_call_the_registrar_and_report_its_errors() {
    let sandbox = sandbox(30).await;
    let client = client_for(&sandbox, 25);
    let seed = sandbox.portfolio().domain(3).billing.unwrap();
    client.domain_renew(seed.domain_id, Some(2)).await.unwrap();
    let renewed = client
        .get_clients_domain(seed.domain_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(renewed.expiry, Some(add_years(seed.expiry, 2)));
    assert_eq!(renewed.registration_period_years, 2);
    assert_eq!(
        renewed.next_due,
        Some(seed.next_due),
        "DomainRenew does not move the due date"
    );

    sandbox.fail_registrar_calls(
        seed.domain_id,
        "Missing required attribute; premium domain name",
    );
    let err = client.domain_renew(seed.domain_id, None).await.unwrap_err();
    match &err {
        WhmcsError::Api {
            message,
            registrar_error,
            ..
        } => {
            assert_eq!(message, "Registrar Error Message");
            assert!(registrar_error
                .as_deref()
                .unwrap()
                .contains("premium domain name"));
        }
        other => panic!("expected a registrar error, got {other:?}"),
    }
    let err = client
        .domain_transfer(seed.domain_id, None)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("registrar said"), "{err}");
    sandbox.clear_registrar_failures();

    client
        .domain_transfer(seed.domain_id, Some(&"epp-123".into()))
        .await
        .unwrap();
    let transferring = client
        .get_clients_domain(seed.domain_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(transferring.status, BillingStatus::PendingTransfer);
    let err = client.domain_renew(999_999, None).await.unwrap_err();
    assert!(matches!(err, WhmcsError::NotFound { .. }), "{err:?}");
}

#[tokio::test]
async fn tickets_open_list_and_reply() {
    let sandbox = sandbox(30).await;
    let client = client_for(&sandbox, 25);
    let bot = sandbox.portfolio().bot_client_id();
    let ticket = NewTicket {
        department_id: 2,
        client_id: bot,
        subject: "[domwatch] example-1.com renewal failed".into(),
        message: "The registrar refused the renewal.".into(),
        priority: TicketPriority::High,
        domain_id: None,
        markdown: true,
    };
    let opened = client.open_ticket(&ticket).await.unwrap();
    assert_eq!(opened.tid.len(), 6);

    // A bot ticket cannot link another client's domain.
    let err = client
        .open_ticket(&NewTicket {
            domain_id: Some(1),
            ..ticket.clone()
        })
        .await
        .unwrap_err();
    assert!(err.to_string().contains("Domain ID Not Found"), "{err}");
    let err = client
        .open_ticket(&NewTicket {
            department_id: 99,
            ..ticket.clone()
        })
        .await
        .unwrap_err();
    assert!(err.to_string().contains("Department ID not found"), "{err}");

    let found = client
        .get_tickets(&TicketFilter {
            client_id: Some(bot),
            subject: Some("example-1.com".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id, opened.id);
    assert_eq!(found[0].priority, "High");
    assert_eq!(found[0].status, "Open");

    client
        .add_ticket_reply(opened.id, "Still failing.", Some(bot))
        .await
        .unwrap();
    let replied = client
        .get_tickets(&TicketFilter {
            client_id: Some(bot),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(replied[0].status, "Customer-Reply");
    let err = client
        .add_ticket_reply(424_242, "x", None)
        .await
        .unwrap_err();
    assert!(matches!(err, WhmcsError::NotFound { .. }), "{err:?}");
    assert!(client
        .get_tickets(&TicketFilter {
            subject: Some("no such subject".into()),
            ..Default::default()
        })
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn todo_items_list_and_update() {
    let sandbox = sandbox(20).await;
    let client = client_for(&sandbox, 2);
    for (title, due) in [
        ("Renew a.com manually", "2026-12-01"),
        ("Check b.shop premium", "2026-12-05"),
        ("Old item", "2026-11-01"),
    ] {
        sandbox
            .store()
            .execute(
                "INSERT INTO tbltodolist (date, title, description, admin, status, duedate) VALUES ('2026-11-22', ?, '<p>see <b>domwatch</b></p>', 0, 'Pending', ?)",
                &[title.into(), due.into()],
            )
            .await
            .unwrap();
    }
    let items = client.get_todo_items(Some("Incomplete")).await.unwrap();
    assert_eq!(
        items.iter().map(|i| i.title.as_str()).collect::<Vec<_>>(),
        ["Check b.shop premium", "Renew a.com manually", "Old item"],
        "sorted by due date, newest first, across pages of 2"
    );
    assert_eq!(items[0].description, "see domwatch", "HTML stripped");

    client
        .update_todo_item(
            items[0].id,
            1,
            &ToDoUpdate {
                status: Some("Completed".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let open = client.get_todo_items(Some("Incomplete")).await.unwrap();
    assert_eq!(open.len(), 2);
    let done = client.get_todo_items(Some("Completed")).await.unwrap();
    assert_eq!(done[0].admin_id, 1);
    let err = client
        .update_todo_item(items[1].id, 77, &ToDoUpdate::default())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("Admin ID Not Found"), "{err}");
    // WHMCS's bug: a missing item id is "updated" successfully.
    client
        .update_todo_item(999, 1, &ToDoUpdate::default())
        .await
        .unwrap();
}

#[tokio::test]
async fn todo_notifier_falls_back_to_tickets_then_admin_email() {
    let sandbox = sandbox(20).await;
    let billing: Arc<dyn BillingPort> = Arc::new(client_for(&sandbox, 25));
    let todo = NewToDo {
        title: "[domwatch] premium renewal cost missing for x.shop".into(),
        description: "Add the premium cost rows.".into(),
        date: today(),
        due_date: today() + Duration::days(3),
    };

    let by_mail = ToDoNotifier::new(billing.clone(), None, None);
    assert_eq!(by_mail.channel(), ToDoChannel::AdminEmail);
    let raised = by_mail.raise(&todo).await.unwrap();
    assert_eq!(raised.channel, ToDoChannel::AdminEmail);
    let mails = sandbox.admin_emails();
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].subject, todo.title);
    assert!(mails[0].message.contains("Add the premium cost rows."));

    let destination = TicketDestination {
        bot_client_id: sandbox.portfolio().bot_client_id(),
        department_id: 2,
    };
    let by_ticket = ToDoNotifier::new(billing.clone(), None, Some(destination));
    assert_eq!(by_ticket.channel(), ToDoChannel::Ticket);
    let first = by_ticket.raise(&todo).await.unwrap();
    let second = by_ticket.raise(&todo).await.unwrap();
    assert!(!first.reused && second.reused);
    assert_eq!(first.reference, second.reference);
    assert_eq!(
        billing
            .tickets(&TicketFilter::default())
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn sqlite_file_sandbox_keeps_state_across_restarts() {
    let dir = std::env::temp_dir().join(format!(
        "domwatch-whmcs-{}-{}",
        std::process::id(),
        rand_suffix()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("whmcs.sqlite");
    let mut config = WhmcsSandboxConfig::new(7, 40, today());
    config.database = domwatch_sandbox::whmcs::SandboxDatabase::SqliteFile(path.clone());
    let first = start(config.clone()).await.unwrap();
    client_for(&first, 25)
        .update_client_domain(
            2,
            &DomainUpdate {
                recurring_amount: Some(dec!(77)),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    first.shutdown().await;
    let second = start(config).await.unwrap();
    let domain = client_for(&second, 25)
        .get_clients_domain(2)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        domain.recurring_amount,
        dec!(77.00),
        "not re-seeded over the change"
    );
    second.shutdown().await;
    std::fs::remove_dir_all(&dir).unwrap();
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

#[tokio::test]
async fn parallel_block_seeding_writes_every_row_once() {
    // More than two 20k blocks, so block and worker boundaries are crossed.
    let sandbox = sandbox(45_000).await;
    let portfolio = sandbox.portfolio();
    let billed: Vec<_> = portfolio.domains().filter_map(|d| d.billing).collect();
    let store = sandbox.store();
    let count = |sql: &'static str| async move { store.count(sql, &[]).await.unwrap() as usize };
    assert_eq!(count("SELECT COUNT(*) FROM tbldomains").await, billed.len());
    assert_eq!(
        count("SELECT COUNT(DISTINCT id) FROM tbldomains").await,
        billed.len()
    );
    assert_eq!(
        count("SELECT COUNT(*) FROM tbldomains_extra").await,
        3 * billed.iter().filter(|b| b.premium_cost.is_some()).count()
    );
    let invoices: usize =
        billed.iter().map(|b| b.invoices.len()).sum::<usize>() + portfolio.client_count() as usize;
    assert_eq!(count("SELECT COUNT(*) FROM tblinvoices").await, invoices);
    assert_eq!(
        count("SELECT COUNT(*) FROM tblinvoiceitems").await,
        invoices
    );
    assert_eq!(
        count("SELECT COUNT(*) FROM tblclients").await as u64,
        portfolio.bot_client_id()
    );
    let last = billed.last().unwrap();
    let row = store
        .query_one(
            "SELECT * FROM tbldomains WHERE id = ?",
            &[(last.domain_id as i64).into()],
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.decimal("recurringamount"), last.recurring_amount);
    assert_eq!(row.date_opt("expirydate"), Some(last.expiry));
}

#[tokio::test]
async fn domains_of_a_deleted_client_are_reported_not_fatal() {
    let sandbox = sandbox(60).await;
    let owner = sandbox.portfolio().domain(0).billing.unwrap().client_id;
    sandbox
        .store()
        .execute(
            "DELETE FROM tblclients WHERE id = ?",
            &[(owner as i64).into()],
        )
        .await
        .unwrap();
    let list = client_for(&sandbox, 25)
        .list_billing_domains()
        .await
        .unwrap();
    let orphaned = sandbox
        .portfolio()
        .domains()
        .filter_map(|d| d.billing)
        .filter(|b| b.client_id == owner)
        .count();
    assert_eq!(list.unreadable.len(), orphaned);
    assert!(
        list.unreadable[0].reason.contains("does not exist"),
        "{:?}",
        list.unreadable[0]
    );
    assert!(list.domains.iter().all(|d| d.client_id != owner));
    assert!(!list.domains.is_empty());
}

#[tokio::test]
async fn database_rendered_domain_pages_equal_the_generic_answer() {
    let sandbox = sandbox(300).await;
    // Odd values the generic path renders in its own way: no dates, quotes and umlauts in
    // notes, amounts without decimals, a flag set.
    sandbox
        .store()
        .execute(
            "UPDATE tbldomains SET expirydate = NULL, nextduedate = '0000-00-00', \
             additionalnotes = 'say \"hi\" to m\u{fc}ller\n', recurringamount = '12', donotrenew = 1 \
             WHERE id IN (SELECT id FROM tbldomains ORDER BY id LIMIT 3)",
            &[],
        )
        .await
        .unwrap();
    let pages: &[&[(&str, &str)]] = &[
        &[("action", "GetClientsDomains"), ("limitnum", "40")],
        &[
            ("action", "GetClientsDomains"),
            ("limitstart", "250"),
            ("limitnum", "100"),
        ],
        &[("action", "GetClientsDomains"), ("limitstart", "5000")],
        &[("action", "GetClientsDomains"), ("clientid", "3")],
        &[("action", "GetClientsDomains"), ("domainid", "999999")],
    ];
    for fields in pages {
        sandbox.set_database_rendered_listing(true);
        let fast = raw_json(&sandbox, fields).await;
        sandbox.set_database_rendered_listing(false);
        let generic = raw_json(&sandbox, fields).await;
        assert_eq!(fast, generic, "{fields:?}");
    }
    sandbox.set_database_rendered_listing(true);
    let first = raw_json(&sandbox, pages[0]).await;
    assert_eq!(first["numreturned"], 40);
    assert_eq!(first["domains"]["domain"][0]["expirydate"], "0000-00-00");
    assert_eq!(first["domains"]["domain"][0]["recurringamount"], "12.00");
    assert_eq!(first["domains"]["domain"][0]["donotrenew"], "1");
}

#[tokio::test]
async fn latency_delays_every_api_answer() {
    let delay = std::time::Duration::from_millis(300);
    let mut config = WhmcsSandboxConfig::new(42, 10, today());
    config.latency = delay;
    let sandbox = start(config).await.expect("sandbox starts");
    let started = std::time::Instant::now();
    let (status, body) = raw(&sandbox, &[("action", "GetClients")], true).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"result\":\"success\""), "{body}");
    assert!(
        started.elapsed() >= delay,
        "the API answered after {:?}, before the 300 ms latency",
        started.elapsed()
    );
    // The call was carried out and counted as usual.
    let state: serde_json::Value = reqwest::get(format!("{}_sandbox/state", sandbox.base_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(state["api_calls"], 1, "{state}");
}
