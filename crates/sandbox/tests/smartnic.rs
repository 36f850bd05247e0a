//! The production Smart-NIC client against the Smart-NIC sandbox over real HTTP/SOAP.

use chrono::{Duration as Days, NaiveDate};
use domwatch_core::model::{ContactHandles, Dialect, RenewalMode};
use domwatch_core::ports::{
    CancellationMethod, CancellationRequest, ContactDetails, RegistrarError, RegistrarPort,
};
use domwatch_core::DomainName;
use domwatch_sandbox::portfolio::{Portfolio, SeedDomain, RESELLER_HANDLE};
use domwatch_sandbox::smartnic::{SmartnicFault, SmartnicSandbox, SmartnicSandboxConfig};
use domwatch_smartnic::{SmartnicClient, SmartnicConfig};
use std::time::Duration;

const SEED: u64 = 42;

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 22).unwrap()
}

async fn sandbox(domains: usize) -> SmartnicSandbox {
    SmartnicSandbox::start(SmartnicSandboxConfig::new(SEED, domains, today()))
        .await
        .unwrap()
}

fn client(sb: &SmartnicSandbox, page_size: u32) -> SmartnicClient {
    let mut c = SmartnicConfig::new(sb.login(), sb.password());
    c.endpoint = sb.endpoint();
    c.page_size = page_size;
    c.timeout = Duration::from_secs(2);
    c.retry_base_delay = Duration::from_millis(5);
    c.notify_email = Some("domains@reseller.example".into());
    SmartnicClient::new(c).unwrap()
}

fn listed(domains: usize) -> Vec<SeedDomain> {
    Portfolio::new(SEED, domains, today())
        .domains_of(Dialect::Smartnic)
        .filter(|d| d.registrar.present)
        .collect()
}

#[tokio::test]
async fn the_bulk_list_pages_through_every_domain_in_few_calls() {
    let sb = sandbox(1000).await;
    let expected = listed(1000);
    let domains = client(&sb, 40).list_domains().await.unwrap();
    assert_eq!(domains.len(), expected.len());
    for (got, want) in domains.iter().zip(&expected) {
        assert_eq!(got.name, want.name);
        assert_eq!(got.paid_until, Some(want.registrar.paid_until));
        assert_eq!(got.contacts, want.registrar.contacts);
        // A portfolio domain set to expire has its cancellation pending at Smart-NIC.
        let expiring = want.registrar.renewal_mode.lets_expire();
        assert_eq!(
            got.renewal_mode,
            Some(if expiring {
                RenewalMode::AutoDelete
            } else {
                RenewalMode::AutoRenew
            })
        );
        assert_eq!(
            got.pending_deletion,
            expiring.then_some(want.registrar.paid_until)
        );
    }
    let calls = sb.snapshot().per_operation["domainListExtended"];
    assert_eq!(calls as usize, expected.len() / 40 + 1);

    // One call at the default page size.
    let before = sb.snapshot().api_requests;
    client(&sb, 1000).list_domains().await.unwrap();
    assert_eq!(sb.snapshot().api_requests - before, 1);
}

#[tokio::test]
async fn cancel_shows_in_the_list_and_revoke_withdraws_it_once() {
    let sb = sandbox(200).await;
    let c = client(&sb, 1000);
    let d = &listed(200)[0];
    let effective = d.registrar.paid_until;
    let cancel = CancellationRequest {
        name: d.name.clone(),
        method: CancellationMethod::Delete,
        effective: Some(effective),
        notify_email: None,
    };
    c.place_cancellation(&cancel).await.unwrap();
    let info = c.status_domain(&d.name).await.unwrap();
    assert_eq!(info.pending_deletion, Some(effective));
    assert_eq!(info.renewal_mode, Some(RenewalMode::AutoDelete));
    let listed_now = c.list_domains().await.unwrap();
    let row = listed_now.iter().find(|x| x.name == d.name).unwrap();
    assert_eq!(row.pending_deletion, Some(effective));

    // A second cancellation is refused, as the registry would.
    let again = c.place_cancellation(&cancel).await.unwrap_err();
    assert!(
        matches!(again, RegistrarError::Permanent { code: 2304, .. }),
        "{again:?}"
    );

    c.withdraw_cancellation(&d.name, &RenewalMode::Default)
        .await
        .unwrap();
    assert_eq!(
        c.status_domain(&d.name).await.unwrap().pending_deletion,
        None
    );
    let nothing = c
        .withdraw_cancellation(&d.name, &RenewalMode::Default)
        .await
        .unwrap_err();
    assert!(
        nothing.to_string().contains("no pending order"),
        "{nothing}"
    );
}

#[tokio::test]
async fn transit_is_for_de_only() {
    let sb = sandbox(400).await;
    let c = client(&sb, 1000);
    let all = listed(400);
    let de = all.iter().find(|d| d.name.tld() == "de").unwrap();
    let other = all.iter().find(|d| d.name.tld() != "de").unwrap();
    let request = |name: &DomainName| CancellationRequest {
        name: name.clone(),
        method: CancellationMethod::Transit,
        effective: Some(today() + Days::days(30)),
        notify_email: Some("domains@reseller.example".into()),
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
}

#[tokio::test]
async fn contacts_change_and_identical_handles_are_reused() {
    let sb = sandbox(200).await;
    let c = client(&sb, 50);
    let d = &listed(200)[0];
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
    let second = c.add_contact(&details).await.unwrap();
    assert_eq!(first, second, "an identical contact reuses the handle");
    assert_eq!(c.status_contact(&first).await.unwrap().last_name, "Müller");
    assert!(c.list_contacts().await.unwrap().contains(&first));

    c.modify_contacts(
        &d.name,
        &ContactHandles {
            owner: Some(first.clone()),
            admin: Some(RESELLER_HANDLE.into()),
            ..ContactHandles::default()
        },
    )
    .await
    .unwrap();
    let now = c.status_domain(&d.name).await.unwrap();
    assert_eq!(now.contacts.owner.as_deref(), Some(first.as_str()));
    assert_eq!(
        now.contacts.tech, d.registrar.contacts.tech,
        "roles not given stay"
    );

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
    assert!(unknown.to_string().contains("NO-SUCH-HANDLE"), "{unknown}");
}

#[tokio::test]
async fn wrong_password_and_unknown_domains_give_clear_errors() {
    let sb = sandbox(100).await;
    let mut config = SmartnicConfig::new(sb.login(), "wrong");
    config.endpoint = sb.endpoint();
    config.account = "dbs-live".into();
    let e = SmartnicClient::new(config)
        .unwrap()
        .list_domains()
        .await
        .unwrap_err();
    assert!(matches!(e, RegistrarError::Auth { .. }), "{e:?}");
    assert!(e.to_string().contains("dbs-live"), "{e}");

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
    let expected = listed(200).len();

    // Reads survive a 500 and an answer cut off in transit.
    for fault in [SmartnicFault::Http500, SmartnicFault::Truncated] {
        sb.inject(fault, 1);
        assert_eq!(c.list_domains().await.unwrap().len(), expected, "{fault:?}");
    }
    // A refused command (returnCode 2400) is the registrar's answer: reported, not retried.
    sb.inject(SmartnicFault::CommandFailed, 1);
    let e = c.list_domains().await.unwrap_err();
    assert!(
        matches!(e, RegistrarError::Permanent { code: 2400, .. }),
        "{e:?}"
    );

    // A hanging server times out with the operation named.
    let mut impatient = SmartnicConfig::new(sb.login(), sb.password());
    impatient.endpoint = sb.endpoint();
    impatient.timeout = Duration::from_millis(300);
    impatient.retry_base_delay = Duration::from_millis(5);
    sb.inject(SmartnicFault::Hang, 4);
    let e = SmartnicClient::new(impatient)
        .unwrap()
        .list_domains()
        .await
        .unwrap_err();
    assert!(
        matches!(&e, RegistrarError::Timeout { what, .. } if what == "domainListExtended"),
        "{e:?}"
    );

    // Writes are never repeated: a 500 on domainDelete is reported, and nothing changed.
    let d = &listed(200)[1];
    sb.inject(SmartnicFault::Http500, 1);
    let e = c
        .place_cancellation(&CancellationRequest {
            name: d.name.clone(),
            method: CancellationMethod::Delete,
            effective: None,
            notify_email: None,
        })
        .await
        .unwrap_err();
    assert!(e.is_retryable(), "{e:?}");
    assert_eq!(
        c.status_domain(&d.name).await.unwrap().pending_deletion,
        None
    );
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
    let d = &listed(200)[2];
    let first = SmartnicSandbox::start(config()).await.unwrap();
    client(&first, 100)
        .place_cancellation(&CancellationRequest {
            name: d.name.clone(),
            method: CancellationMethod::Delete,
            effective: None,
            notify_email: None,
        })
        .await
        .unwrap();
    drop(first);
    let second = SmartnicSandbox::start(config()).await.unwrap();
    let now = client(&second, 100).status_domain(&d.name).await.unwrap();
    assert_eq!(now.pending_deletion, Some(d.registrar.paid_until));

    let mut other = config();
    other.seed = SEED + 1;
    let e = SmartnicSandbox::start(other)
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("delete the file"), "{e}");
}
