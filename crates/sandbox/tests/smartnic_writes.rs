//! Smart-NIC writes cannot wipe data: under the sandbox's pessimistic reading (a required
//! element left out is an empty value), a contact-policy fix, a cancellation and a
//! withdrawal leave nameservers, the other contacts, remarks, notify address and WPP flags
//! exactly as they were. The partial update domwatch used to send would wipe them.

mod support;

use chrono::Duration as Days;
use domwatch_core::model::{ContactHandles, Dialect, RenewalMode};
use domwatch_core::ports::{CancellationMethod, CancellationRequest, RegistrarPort};
use domwatch_sandbox::portfolio::{Portfolio, SeedDomain, RESELLER_HANDLE};
use domwatch_sandbox::smartnic::state::Nameserver;
use domwatch_sandbox::smartnic::{SmartnicEvent, SmartnicSandbox, SmartnicSandboxConfig};
use domwatch_smartnic::operations as request;
use domwatch_smartnic::xml::Node;
use domwatch_smartnic::{SmartnicClient, SmartnicConfig};
use std::time::Duration;
use support::today;

const SEED: u64 = 42;
const DOMAINS: usize = 200;
const CUSTOMER_NOTIFY: &str = "hostmaster@kunde.example";

/// A sandbox and a client without a notify address of its own.
async fn setup() -> (SmartnicSandbox, SmartnicClient) {
    let sb = SmartnicSandbox::start(SmartnicSandboxConfig::new(SEED, DOMAINS, today()))
        .await
        .unwrap();
    let mut config = SmartnicConfig::new(sb.login(), sb.password());
    config.endpoint = sb.endpoint();
    config.timeout = Duration::from_secs(5);
    config.retry_base_delay = Duration::from_millis(5);
    let client = SmartnicClient::new(config).unwrap();
    (sb, client)
}

/// The `nth` listed domain with no cancellation pending, given a customer's own
/// delegation (with glue), remarks, notify address and a WPP flag.
fn customised(sb: &SmartnicSandbox, nth: usize) -> SeedDomain {
    let d = Portfolio::new(SEED, DOMAINS, today())
        .domains_of(Dialect::Smartnic)
        .filter(|d| d.registrar.present && !d.registrar.renewal_mode.lets_expire())
        .nth(nth)
        .unwrap();
    let host = |ns: &str, v4: Option<&str>, v6: Option<&str>| Nameserver {
        ns: ns.into(),
        ipv4: v4.map(Into::into),
        ipv6: v6.map(Into::into),
    };
    sb.apply(SmartnicEvent::SetDomainDetails {
        domain: d.name.unicode(),
        nameservers: Some(vec![
            host(
                &format!("ns1.{}", d.name.ascii()),
                Some("192.0.2.10"),
                Some("2001:db8::10"),
            ),
            host("ns2.provider.example", None, None),
        ]),
        remarks: Some("Kunde 17 – Vertrag 2019, nicht löschen".into()),
        wpp: Some([Some("1".into()), None, None, None]),
        notify: Some(CUSTOMER_NOTIFY.into()),
    })
    .unwrap();
    d
}

/// What a write must not touch, as domainInfo shows it.
#[derive(Debug, PartialEq, Eq)]
struct Kept {
    contacts: [Option<String>; 4],
    nameservers: Vec<(String, Option<String>, Option<String>)>,
    remarks: Option<String>,
    notify: Option<String>,
    wpp: [Option<String>; 4],
}

fn kept(item: &Node) -> Kept {
    let text = |n: &Node, f: &str| n.text_of(f).map(str::to_string);
    let ext = item
        .child("extension")
        .expect("domainInfo has an extension");
    Kept {
        contacts: ["ownerC", "adminC", "techC", "zoneC"].map(|f| text(item, f)),
        nameservers: item
            .items("nameservers")
            .iter()
            .map(|n| {
                (
                    text(n, "ns").unwrap_or_default(),
                    text(n, "ipv4"),
                    text(n, "ipv6"),
                )
            })
            .collect(),
        remarks: text(item, "remarks"),
        notify: text(item, "notifyEmail"),
        wpp: ["ownerCWPP", "adminCWPP", "techCWPP", "zoneCWPP"].map(|f| text(ext, f)),
    }
}

async fn info(c: &SmartnicClient, d: &SeedDomain) -> Node {
    c.domain_info_item(&d.name).await.unwrap()
}

fn deletion(d: &SeedDomain) -> CancellationRequest {
    CancellationRequest {
        name: d.name.clone(),
        method: CancellationMethod::Delete,
        effective: Some(today() + Days::days(20)),
        notify_email: None,
    }
}

#[tokio::test]
async fn a_contact_policy_fix_changes_one_role_and_nothing_else() {
    let (sb, c) = setup().await;
    let d = customised(&sb, 0);
    let before = kept(&info(&c, &d).await);
    assert_eq!(before.nameservers.len(), 2, "{before:?}");
    assert!(before.remarks.is_some() && before.notify.is_some());
    // Another client's handle: a role the domain does not have yet.
    let portfolio = Portfolio::new(SEED, DOMAINS, today());
    let new_admin = (1..)
        .map(|k| portfolio.client(k).handle)
        .find(|h| !before.contacts.contains(&Some(h.clone())))
        .unwrap();

    c.modify_contacts(
        &d.name,
        &ContactHandles {
            admin: Some(new_admin.clone()),
            ..ContactHandles::default()
        },
    )
    .await
    .unwrap();

    let after = kept(&info(&c, &d).await);
    assert_eq!(after.contacts[1].as_deref(), Some(new_admin.as_str()));
    let expected = Kept {
        contacts: [
            before.contacts[0].clone(),
            Some(new_admin),
            before.contacts[2].clone(),
            before.contacts[3].clone(),
        ],
        ..before
    };
    assert_eq!(after, expected);
}

#[tokio::test]
async fn a_cancellation_keeps_the_domain_as_it_is() {
    let (sb, c) = setup().await;
    let d = customised(&sb, 1);
    let before = kept(&info(&c, &d).await);
    c.place_cancellation(&deletion(&d)).await.unwrap();
    let now = info(&c, &d).await;
    assert!(now.text_of("toBeDeletedDate").is_some(), "the order is in");
    assert_eq!(kept(&now), before, "and nothing else changed");

    // The same through a renewal mode that lets the domain expire.
    let d = customised(&sb, 2);
    let before = kept(&info(&c, &d).await);
    c.set_renewal_mode(&d.name, &RenewalMode::AutoExpire)
        .await
        .unwrap();
    assert_eq!(kept(&info(&c, &d).await), before);
}

#[tokio::test]
async fn a_withdrawal_and_a_restore_keep_the_domain_as_it_is() {
    let (sb, c) = setup().await;
    let d = customised(&sb, 3);
    let before = kept(&info(&c, &d).await);
    c.place_cancellation(&deletion(&d)).await.unwrap();
    c.withdraw_cancellation(&d.name, &RenewalMode::Default)
        .await
        .unwrap();
    let now = info(&c, &d).await;
    assert_eq!(now.text_of("toBeDeletedDate"), None, "withdrawn");
    assert_eq!(kept(&now), before);

    // A deletion carried out, then taken back within the redemption period.
    c.place_cancellation(&deletion(&d)).await.unwrap();
    sb.apply(SmartnicEvent::AdvanceClock { days: 21 }).unwrap();
    assert!(c.domain_info_item(&d.name).await.is_err(), "deleted");
    c.domain_restore(&d.name).await.unwrap();
    assert_eq!(kept(&info(&c, &d).await), before);
}

#[tokio::test]
async fn the_partial_update_domwatch_used_to_send_would_wipe_the_domain() {
    let (sb, c) = setup().await;
    let d = customised(&sb, 4);
    let before = kept(&info(&c, &d).await);
    let partial = request::domain_update_contacts(
        &d.name,
        &ContactHandles {
            admin: Some(RESELLER_HANDLE.into()),
            ..ContactHandles::default()
        },
        None,
    );
    c.call(&partial).await.unwrap();
    let after = kept(&info(&c, &d).await);
    assert_eq!(
        after,
        Kept {
            contacts: [None, Some(RESELLER_HANDLE.into()), None, None],
            nameservers: vec![],
            remarks: None,
            notify: None,
            wpp: before.wpp.clone(),
        },
        "the pessimistic sandbox empties what was left out"
    );
    assert_ne!(after, before);
}
