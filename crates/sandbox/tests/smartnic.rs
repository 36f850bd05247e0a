//! The production Smart-NIC client against the Smart-NIC sandbox over real HTTP/SOAP.

mod support;

use chrono::{Duration as Days, NaiveDate};
use domwatch_core::model::{ContactHandles, Dialect, RenewalMode};
use domwatch_core::ports::{
    CancellationMethod, CancellationRequest, ContactDetails, RegistrarError, RegistrarPort,
};
use domwatch_core::{Currency, DomainName, Money};
use domwatch_sandbox::portfolio::{zone_price, Portfolio, SeedDomain, RESELLER_HANDLE};
use domwatch_sandbox::smartnic::{
    FaultRates, SmartnicEvent, SmartnicFault, SmartnicSandbox, SmartnicSandboxConfig,
};
use domwatch_smartnic::{SmartnicClient, SmartnicConfig};
use std::time::{Duration, Instant};
use support::today;

const SEED: u64 = 42;
const NOTIFY: &str = "domains@reseller.example";

async fn sandbox(domains: usize) -> SmartnicSandbox {
    SmartnicSandbox::start(SmartnicSandboxConfig::new(SEED, domains, today()))
        .await
        .unwrap()
}

fn config(sb: &SmartnicSandbox, page_size: u32) -> SmartnicConfig {
    let mut c = SmartnicConfig::new(sb.login(), sb.password());
    c.endpoint = sb.endpoint();
    c.page_size = page_size;
    c.timeout = Duration::from_secs(5);
    c.retry_base_delay = Duration::from_millis(5);
    c.notify_email = Some(NOTIFY.into());
    c
}

fn client(sb: &SmartnicSandbox, page_size: u32) -> SmartnicClient {
    SmartnicClient::new(config(sb, page_size)).unwrap()
}

/// The Smart-NIC domains the portfolio has in the account.
fn listed(domains: usize) -> Vec<SeedDomain> {
    Portfolio::new(SEED, domains, today())
        .domains_of(Dialect::Smartnic)
        .filter(|d| d.registrar.present)
        .collect()
}

/// A listed domain with no cancellation pending.
fn renewing(domains: usize, nth: usize) -> SeedDomain {
    listed(domains)
        .into_iter()
        .filter(|d| !d.registrar.renewal_mode.lets_expire())
        .nth(nth)
        .unwrap()
}

fn calls(sb: &SmartnicSandbox, operation: &str) -> u64 {
    sb.snapshot()
        .per_operation
        .get(operation)
        .copied()
        .unwrap_or(0)
}

fn deletion(d: &SeedDomain, effective: Option<NaiveDate>) -> CancellationRequest {
    CancellationRequest {
        name: d.name.clone(),
        method: CancellationMethod::Delete,
        effective,
        notify_email: None,
    }
}

#[tokio::test]
async fn the_bulk_list_pages_through_every_domain_and_maps_it() {
    let sb = sandbox(1000).await;
    let expected = listed(1000);
    let portfolio = Portfolio::new(SEED, 1000, today());
    let gone = portfolio
        .domains_of(Dialect::Smartnic)
        .filter(|d| !d.registrar.present)
        .count();
    assert_eq!(expected.len(), portfolio.count_of(Dialect::Smartnic) - gone);

    let domains = client(&sb, 40).list_domains().await.unwrap();
    assert_eq!(domains.len(), expected.len());
    let mut cancelled = 0;
    for (got, want) in domains.iter().zip(&expected) {
        let r = &want.registrar;
        assert_eq!(got.name, want.name);
        assert_eq!(got.paid_until, Some(r.paid_until), "{}", got.name);
        assert_eq!(got.registry_expiry, Some(r.paid_until));
        assert_eq!(got.created, Some(r.created));
        assert_eq!(*got.contacts, r.contacts);
        assert!(got.premium.is_none());
        let zone = zone_price(want.name.zone()).unwrap();
        assert_eq!(
            got.renewal_price,
            Some(Money::new(zone.renew, Currency::EUR))
        );
        // A portfolio domain set to expire has its cancellation pending at Smart-NIC.
        let expiring = r.renewal_mode.lets_expire();
        cancelled += usize::from(expiring);
        assert_eq!(
            got.renewal_mode,
            Some(if expiring {
                RenewalMode::AutoDelete
            } else {
                RenewalMode::AutoRenew
            })
        );
        assert_eq!(got.pending_deletion, expiring.then_some(r.paid_until));
    }
    assert!(
        cancelled > 0,
        "the showcase has domains with a cancellation"
    );
    assert_eq!(
        calls(&sb, "domainListExtended") as usize,
        expected.len() / 40 + 1
    );
    assert_eq!(calls(&sb, "priceDomainList"), 1);
}

#[tokio::test]
async fn a_thousand_domains_take_fewer_than_five_calls() {
    let sb = sandbox(10_000).await;
    let expected = listed(10_000).len();
    assert!(expected > 950, "{expected}");
    let started = Instant::now();
    let domains = client(&sb, 1000).list_domains().await.unwrap();
    assert_eq!(domains.len(), expected);
    let requests = sb.snapshot().api_requests;
    assert!(requests < 5, "{requests} SOAP calls for {expected} domains");
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[tokio::test]
async fn domain_info_says_what_the_list_says() {
    let sb = sandbox(300).await;
    let c = client(&sb, 1000);
    let list = c.list_domains().await.unwrap();
    for row in list.iter().step_by(7) {
        let info = c.status_domain(&row.name).await.unwrap();
        assert_eq!(&info, row);
    }
    let idn = list.iter().find(|d| d.name.is_idn());
    if let Some(idn) = idn {
        assert_eq!(c.status_domain(&idn.name).await.unwrap().name, idn.name);
    }
    // The price list was asked once and reused.
    assert_eq!(calls(&sb, "priceDomainList"), 1);
}

#[tokio::test]
async fn cancel_shows_in_the_list_and_revoke_withdraws_it_once() {
    let sb = sandbox(200).await;
    let c = client(&sb, 1000);
    let d = renewing(200, 0);
    let effective = d.registrar.paid_until - Days::days(3);
    c.place_cancellation(&deletion(&d, Some(effective)))
        .await
        .unwrap();
    let info = c.status_domain(&d.name).await.unwrap();
    assert_eq!(info.pending_deletion, Some(effective));
    assert_eq!(info.renewal_mode, Some(RenewalMode::AutoDelete));
    let listed_now = c.list_domains().await.unwrap();
    let row = listed_now.iter().find(|x| x.name == d.name).unwrap();
    assert_eq!(row.pending_deletion, Some(effective));

    // A second cancellation is refused, as the registrar would.
    let again = c
        .place_cancellation(&deletion(&d, Some(effective)))
        .await
        .unwrap_err();
    assert!(
        matches!(again, RegistrarError::Permanent { code: 2304, .. }),
        "{again:?}"
    );
    assert!(again.to_string().contains("already pending"), "{again}");

    c.withdraw_cancellation(&d.name, &RenewalMode::Default)
        .await
        .unwrap();
    let after = c.status_domain(&d.name).await.unwrap();
    assert_eq!(after.pending_deletion, None);
    assert_eq!(after.renewal_mode, Some(RenewalMode::AutoRenew));
    let nothing = c
        .withdraw_cancellation(&d.name, &RenewalMode::Default)
        .await
        .unwrap_err();
    assert!(
        matches!(nothing, RegistrarError::Permanent { code: 2304, .. }),
        "{nothing:?}"
    );
    assert!(
        nothing.to_string().contains("no pending order"),
        "{nothing}"
    );
    assert_eq!(calls(&sb, "domainRevoke"), 2);
}

#[tokio::test]
async fn renewal_modes_become_a_deletion_at_the_paid_until_day_or_its_withdrawal() {
    let sb = sandbox(200).await;
    let c = client(&sb, 1000);
    let d = renewing(200, 1);
    c.set_renewal_mode(&d.name, &RenewalMode::AutoExpire)
        .await
        .unwrap();
    assert_eq!(
        c.status_domain(&d.name).await.unwrap().pending_deletion,
        Some(d.registrar.paid_until)
    );
    // Asking again changes nothing and sends no second order.
    c.set_renewal_mode(&d.name, &RenewalMode::AutoDelete)
        .await
        .unwrap();
    assert_eq!(calls(&sb, "domainDelete"), 1);

    c.set_renewal_mode(&d.name, &RenewalMode::AutoRenew)
        .await
        .unwrap();
    assert_eq!(
        c.status_domain(&d.name).await.unwrap().pending_deletion,
        None
    );
    c.set_renewal_mode(&d.name, &RenewalMode::Default)
        .await
        .unwrap();
    assert_eq!(calls(&sb, "domainRevoke"), 1, "nothing left to revoke");

    let e = c
        .set_renewal_mode(&d.name, &RenewalMode::RenewOnce)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("no renewal mode RENEWONCE"), "{e}");
    // A renewal mode that keeps the domain is no cancellation either.
    let e = c
        .place_cancellation(&CancellationRequest {
            method: CancellationMethod::RenewalMode {
                mode: RenewalMode::AutoRenew,
            },
            ..deletion(&d, None)
        })
        .await
        .unwrap_err();
    assert!(matches!(e, RegistrarError::Permanent { .. }), "{e:?}");
}

#[tokio::test]
async fn transit_is_for_de_only_and_the_notify_address_is_kept() {
    let sb = sandbox(400).await;
    let c = client(&sb, 1000);
    let all: Vec<SeedDomain> = listed(400)
        .into_iter()
        .filter(|d| !d.registrar.renewal_mode.lets_expire())
        .collect();
    let de = all.iter().find(|d| d.name.tld() == "de").unwrap();
    let other = all.iter().find(|d| d.name.tld() != "de").unwrap();
    let request = |name: &DomainName| CancellationRequest {
        name: name.clone(),
        method: CancellationMethod::Transit,
        effective: Some(today() + Days::days(30)),
        notify_email: Some("ops@reseller.example".into()),
    };
    c.place_cancellation(&request(&de.name)).await.unwrap();
    assert_eq!(
        c.status_domain(&de.name).await.unwrap().pending_deletion,
        Some(today() + Days::days(30))
    );
    let e = c
        .place_cancellation(&request(&other.name))
        .await
        .unwrap_err();
    assert!(
        matches!(e, RegistrarError::Permanent { code: 2004, .. }),
        "{e:?}"
    );
    assert!(e.to_string().contains("only for .de"), "{e}");
}

#[tokio::test]
async fn a_deleted_domain_leaves_after_its_day_and_can_be_restored() {
    let sb = sandbox(200).await;
    let c = client(&sb, 1000);
    let d = renewing(200, 2);
    let effective = today() + Days::days(10);
    c.place_cancellation(&deletion(&d, Some(effective)))
        .await
        .unwrap();
    sb.apply(SmartnicEvent::AdvanceClock { days: 11 }).unwrap();
    let now = c.list_domains().await.unwrap();
    assert!(now.iter().all(|x| x.name != d.name));
    let e = c.status_domain(&d.name).await.unwrap_err();
    assert!(
        matches!(e, RegistrarError::Permanent { code: 2303, .. }),
        "{e:?}"
    );
    assert!(e.to_string().contains("domainRestore"), "{e}");

    c.domain_restore(&d.name).await.unwrap();
    let back = c.status_domain(&d.name).await.unwrap();
    assert_eq!(back.pending_deletion, None);
    assert!(back.paid_until.unwrap() > today() + Days::days(11));
    let again = c.domain_restore(&d.name).await.unwrap_err();
    assert!(again.to_string().contains("is not deleted"), "{again}");
}

#[tokio::test]
async fn contacts_change_and_identical_handles_are_reused() {
    let sb = sandbox(200).await;
    let c = client(&sb, 50);
    let d = renewing(200, 0);
    let details = ContactDetails {
        first_name: "Jörg".into(),
        last_name: "Müller".into(),
        organization: None,
        street: vec!["Hauptstr. 1".into()],
        city: "Berlin".into(),
        state: None,
        zip: "10115".into(),
        country: "DE".into(),
        phone: "+49.301234567".into(),
        email: "joerg@example.net".into(),
    };
    let first = c.add_contact(&details).await.unwrap();
    assert!(first.ends_with("@HANDLES.DE"), "{first}");
    let second = c.add_contact(&details).await.unwrap();
    assert_eq!(first, second, "an identical contact reuses the handle");
    assert_eq!(
        calls(&sb, "handleCreate"),
        1,
        "the second one was found, not created"
    );
    assert_eq!(
        c.status_contact(&first).await.unwrap(),
        ContactDetails {
            organization: None,
            ..details.clone()
        }
    );
    assert!(c.list_contacts().await.unwrap().contains(&first));
    let moved = ContactDetails {
        city: "Hamburg".into(),
        ..details.clone()
    };
    assert_ne!(c.add_contact(&moved).await.unwrap(), first);

    // A portfolio client's details give the client's handle back.
    let portfolio = Portfolio::new(SEED, 200, today());
    let client_seed = portfolio.client(2);
    let creates = calls(&sb, "handleCreate");
    let handle = c
        .add_contact(&ContactDetails {
            first_name: client_seed.first_name.clone(),
            last_name: client_seed.last_name.clone(),
            organization: Some(client_seed.company.clone()).filter(|o| !o.is_empty()),
            street: vec![client_seed.address1.clone()],
            city: client_seed.city.clone(),
            state: None,
            zip: client_seed.postcode.clone(),
            country: client_seed.country.into(),
            phone: client_seed.phone.clone(),
            email: client_seed.email.clone(),
        })
        .await
        .unwrap();
    assert_eq!(handle, client_seed.handle);
    assert_eq!(calls(&sb, "handleCreate"), creates);

    c.modify_contacts(
        &d.name,
        &ContactHandles {
            owner: Some(first.clone()),
            billing: Some(RESELLER_HANDLE.into()),
            ..ContactHandles::default()
        },
    )
    .await
    .unwrap();
    let now = c.status_domain(&d.name).await.unwrap();
    assert_eq!(now.contacts.owner.as_deref(), Some(first.as_str()));
    assert_eq!(now.contacts.billing.as_deref(), Some(RESELLER_HANDLE));
    assert_eq!(
        now.contacts.admin, d.registrar.contacts.admin,
        "roles not given stay"
    );
    assert_eq!(now.contacts.tech, d.registrar.contacts.tech);

    let unknown = c
        .modify_contacts(
            &d.name,
            &ContactHandles {
                admin: Some("NO-SUCH-HANDLE".into()),
                ..ContactHandles::default()
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(
        unknown,
        RegistrarError::Permanent { code: 2303, .. }
    ));
    assert!(unknown.to_string().contains("NO-SUCH-HANDLE"), "{unknown}");
    assert_eq!(
        c.status_domain(&d.name).await.unwrap().contacts,
        now.contacts,
        "a refused update changes nothing"
    );
}

#[tokio::test]
async fn wrong_password_and_unknown_domains_give_clear_errors() {
    let sb = sandbox(100).await;
    let mut config = config(&sb, 100);
    config.set_password("wrong");
    config.account = "dbs-live".into();
    let e = SmartnicClient::new(config)
        .unwrap()
        .list_domains()
        .await
        .unwrap_err();
    assert!(matches!(e, RegistrarError::Auth { .. }), "{e:?}");
    assert!(e.to_string().contains("dbs-live"), "{e}");
    assert_eq!(
        sb.snapshot().api_requests,
        1,
        "an auth error is not retried"
    );

    let missing = client(&sb, 100)
        .status_domain(&DomainName::parse("not-here.de").unwrap())
        .await
        .unwrap_err();
    assert!(
        matches!(missing, RegistrarError::Permanent { code: 2303, .. }),
        "{missing:?}"
    );
}

#[tokio::test]
async fn faults_are_retried_for_reads_and_reported_for_writes() {
    let sb = sandbox(200).await;
    let c = client(&sb, 1000);
    let expected = c.list_domains().await.unwrap();

    // Reads survive a 500 and an answer cut off in transit, with every domain.
    for fault in [SmartnicFault::Http500, SmartnicFault::Truncated] {
        sb.inject(fault, 2);
        assert_eq!(c.list_domains().await.unwrap(), expected, "{fault:?}");
    }
    // A refused command (returnCode 2400) is the registrar's answer: reported, not retried.
    let before = sb.snapshot().api_requests;
    sb.inject(SmartnicFault::CommandFailed, 1);
    let e = c.list_domains().await.unwrap_err();
    assert!(
        matches!(e, RegistrarError::Permanent { code: 2400, .. }),
        "{e:?}"
    );
    assert_eq!(sb.snapshot().api_requests - before, 1);

    // A write is sent once: a 500 is reported and nothing changed.
    let d = renewing(200, 1);
    sb.inject(SmartnicFault::Http500, 1);
    let before = calls(&sb, "domainDelete");
    let e = c.place_cancellation(&deletion(&d, None)).await.unwrap_err();
    assert!(e.is_retryable(), "{e:?}");
    assert_eq!(calls(&sb, "domainDelete"), before, "not sent again");
    assert_eq!(
        c.status_domain(&d.name).await.unwrap().pending_deletion,
        None
    );
    // A cut-off answer to a write: the order was carried out, and the error says so.
    sb.inject(SmartnicFault::Truncated, 1);
    let e = c.place_cancellation(&deletion(&d, None)).await.unwrap_err();
    assert!(e.to_string().contains("may have been carried out"), "{e}");
    assert_eq!(
        c.status_domain(&d.name).await.unwrap().pending_deletion,
        Some(d.registrar.paid_until)
    );
}

#[tokio::test]
async fn a_hanging_or_slow_server_times_out_with_the_operation_named() {
    let mut sandbox_config = SmartnicSandboxConfig::new(SEED, 100, today());
    sandbox_config.hang = Duration::from_secs(5);
    let sb = SmartnicSandbox::start(sandbox_config).await.unwrap();
    let mut impatient = config(&sb, 1000);
    impatient.timeout = Duration::from_millis(300);
    impatient.max_retries = 1;
    let c = SmartnicClient::new(impatient).unwrap();
    sb.inject(SmartnicFault::Hang, 2);
    let e = c.list_domains().await.unwrap_err();
    assert!(
        matches!(&e, RegistrarError::Timeout { what, .. } if what == "domainListExtended"),
        "{e:?}"
    );
    // One hang, then an answer: the retry gets it.
    sb.inject(SmartnicFault::Hang, 1);
    assert!(c.status_domain(&listed(100)[0].name).await.is_ok());

    sb.apply(SmartnicEvent::SetFaults {
        rates: FaultRates::default(),
        top_level: Default::default(),
        latency_ms: 150,
        hang_ms: 5000,
    })
    .unwrap();
    let started = Instant::now();
    client(&sb, 1000)
        .status_domain(&listed(100)[0].name)
        .await
        .unwrap();
    assert!(started.elapsed() >= Duration::from_millis(150));
}

#[tokio::test]
async fn random_faults_lose_no_domain() {
    let mut sandbox_config = SmartnicSandboxConfig::new(SEED, 2000, today());
    sandbox_config.faults = FaultRates {
        http_500: 0.2,
        truncated: 0.2,
        ..FaultRates::default()
    };
    let sb = SmartnicSandbox::start(sandbox_config).await.unwrap();
    let mut patient = config(&sb, 25);
    patient.max_retries = 8;
    let domains = SmartnicClient::new(patient)
        .unwrap()
        .list_domains()
        .await
        .unwrap();
    let names: Vec<DomainName> = domains.into_iter().map(|d| d.name).collect();
    let expected: Vec<DomainName> = listed(2000).into_iter().map(|d| d.name).collect();
    assert_eq!(names, expected);
    let snapshot = sb.snapshot();
    assert!(
        snapshot.api_requests > snapshot.per_operation["domainListExtended"],
        "some requests failed and were repeated"
    );
}

#[tokio::test]
async fn raw_soap_refusals_and_the_admin_endpoints() {
    let sb = sandbox(100).await;
    let http = reqwest::Client::new();
    let post = |body: String, action: &'static str, auth: bool| {
        let mut request = http
            .post(sb.endpoint())
            .header("Content-Type", "text/xml; charset=utf-8")
            .header("SOAPAction", action)
            .body(body);
        if auth {
            request = request.basic_auth(sb.login(), Some(sb.password()));
        }
        request.send()
    };
    let envelope = |op: &str, inner: &str| {
        format!(
            "<SOAP-ENV:Envelope xmlns:SOAP-ENV=\"http://schemas.xmlsoap.org/soap/envelope/\" \
             xmlns:ns1=\"http://soap.domain-bestellsystem.de/soap/1.1/\"><SOAP-ENV:Body>\
             <ns1:{op}><{op}Request>{inner}</{op}Request></ns1:{op}></SOAP-ENV:Body></SOAP-ENV:Envelope>"
        )
    };
    let info = envelope("domainInfo", "<clientTRID>t-1</clientTRID>");

    let unauthorized = post(info.clone(), "", false).await.unwrap();
    assert_eq!(unauthorized.status(), 401);

    let garbage = post("<not-xml".into(), "", true).await.unwrap();
    assert_eq!(garbage.status(), 500);
    assert!(garbage.text().await.unwrap().contains("faultcode"));

    let mismatch = post(
        info.clone(),
        "\"http://soap.domain-bestellsystem.de/soap/1.1/#domainDelete\"",
        true,
    )
    .await
    .unwrap();
    assert_eq!(mismatch.status(), 500);
    assert!(mismatch.text().await.unwrap().contains("does not match"));

    let missing_name = post(info, "", true).await.unwrap().text().await.unwrap();
    assert!(
        missing_name.contains(">2004</returnCode>"),
        "{missing_name}"
    );
    assert!(missing_name.contains("domainName is required"));
    assert!(
        missing_name.contains(">t-1</clientTRID>"),
        "the TRID is echoed"
    );

    let unknown = envelope("domainFly", "<clientTRID>t-2</clientTRID>");
    // As a PHP SoapServer answers an operation its WSDL does not declare.
    let unknown = post(unknown, "", true).await.unwrap();
    assert_eq!(unknown.status(), 500);
    let unknown = unknown.text().await.unwrap();
    assert!(
        unknown.contains("<faultcode>SOAP-ENV:Server</faultcode>"),
        "{unknown}"
    );
    assert!(unknown.contains("Procedure &apos;domainFly&apos; not present"));

    let wsdl = http
        .get(format!("{}/soap.wsdl", sb.base_url()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(wsdl.contains(&format!("location=\"{}\"", sb.endpoint())));
    assert!(domwatch_smartnic::xml::parse(&wsdl).is_ok());

    let state: serde_json::Value = http
        .get(format!("{}/_sandbox/state", sb.base_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(state["api_requests"], 5);
    assert_eq!(state["per_operation"]["domainInfo"], 1);
    assert_eq!(state["per_operation"]["domainFly"], 1);

    let event = http
        .post(format!("{}/_sandbox/event", sb.base_url()))
        .body(r#"{"event":"inject_fault","fault":"command_failed","count":1}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(event.status(), 200);
    assert_eq!(sb.snapshot().queued_faults, 1);
    let bad = http
        .post(format!("{}/_sandbox/event", sb.base_url()))
        .body(r#"{"event":"advance_clock","days":-3}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 422);
}

#[tokio::test]
async fn a_state_file_keeps_changes_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("smartnic.json");
    let config = || {
        let mut c = SmartnicSandboxConfig::new(SEED, 200, today());
        c.state_file = Some(file.clone());
        c
    };
    let d = renewing(200, 2);
    let first = SmartnicSandbox::start(config()).await.unwrap();
    client(&first, 100)
        .place_cancellation(&deletion(&d, None))
        .await
        .unwrap();
    let handle = client(&first, 100)
        .handle_create(
            &ContactDetails {
                first_name: "Ada".into(),
                last_name: "Lovelace".into(),
                street: vec!["1 Analytical Way".into()],
                city: "London".into(),
                zip: "EC1A 1BB".into(),
                country: "GB".into(),
                email: "ada@example.net".into(),
                ..ContactDetails::default()
            },
            true,
        )
        .await
        .unwrap();
    first.stop().await;
    let second = SmartnicSandbox::start(config()).await.unwrap();
    let c = client(&second, 100);
    assert_eq!(
        c.status_domain(&d.name).await.unwrap().pending_deletion,
        Some(d.registrar.paid_until)
    );
    assert_eq!(
        c.status_contact(&handle).await.unwrap().last_name,
        "Lovelace"
    );

    let mut other = config();
    other.seed = SEED + 1;
    let e = SmartnicSandbox::start(other)
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("delete the file"), "{e}");
}

#[tokio::test]
async fn list_pages_read_fast_as_the_element_tree_reads_them() {
    use domwatch_smartnic::list_reader::read_list_page;
    use domwatch_smartnic::ops::list_page_from;
    use domwatch_smartnic::xml::{body_element, parse, Value};
    // A portfolio past the showcase: every drift kind, IDNs, pending deletions.
    let sb = sandbox(3_000).await;
    let mut request = domwatch_smartnic::operations::domain_list_extended(500, 0, &[]);
    request.fields.push(("clientTRID", Value::text("t-fast")));
    let body = reqwest::Client::new()
        .post(sb.endpoint())
        .basic_auth(sb.login(), Some(sb.password()))
        .header("Content-Type", "text/xml; charset=utf-8")
        .header("SOAPAction", request.operation.soap_action())
        .body(request.operation.envelope(&request.fields))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let (fast, server_trid) = read_list_page(&body).expect("the sandbox's page reads fast");
    let tree = parse(&body).unwrap();
    let element = body_element(&tree).unwrap();
    let ret = element.child("return").unwrap();
    assert_eq!(fast, list_page_from(ret));
    assert_eq!(fast.rows, listed(3_000).len(), "one page holds the account");
    assert!(fast.domains.iter().any(|d| d.name.is_idn()));
    assert!(fast.domains.iter().any(|d| d.pending_deletion.is_some()));
    assert_eq!(Some(server_trid.as_str()), ret.text_of("serverTRID"));
}
