//! Typed operations end to end against a fake registrar on 127.0.0.1: which commands are
//! sent (bulk, paged, grouped, never LAST) and what the normalised model looks like.

mod support;

use chrono::NaiveDate;
use domwatch_core::model::{ContactHandles, Dialect, RenewalMode};
use domwatch_core::money::{Currency, Money};
use domwatch_core::name::DomainName;
use domwatch_core::ports::{
    PremiumAcceptance, RegistrarError, RegistrarPort, RenewRequest, TransferRequest,
};
use domwatch_rrp::client::{ClientConfig, Environment, RrpClient};
use domwatch_rrp::codec::Command;
use rust_decimal_macros::dec;
use std::fmt::Write;
use std::time::Duration;
use support::{MockServer, Received, Reply};

fn client(dialect: Dialect, server: &MockServer) -> RrpClient {
    let mut config = ClientConfig::new(dialect, Environment::Ote, "reseller", "pw");
    config.endpoint = Some(server.url.parse().unwrap());
    config.retry_base_delay = Duration::from_millis(1);
    config.list.page_size = 1000;
    RrpClient::new(config).unwrap()
}

fn ok_with(properties: &[(&str, Vec<String>)], extra: &str) -> Reply {
    let mut body = String::from("[RESPONSE]\ncode = 200\ndescription = Command completed successfully\nqueuetime = 0\nruntime = 0.01\n");
    for (name, values) in properties {
        for (i, value) in values.iter().enumerate() {
            writeln!(body, "property[{name}][{i}] = {value}").unwrap();
        }
    }
    body.push_str(extra);
    body.push_str("EOF\n");
    Reply::ok(body)
}

fn paging(first: usize, count: usize, total: usize, limit: usize) -> String {
    format!(
        "property[first][0] = {first}\nproperty[last][0] = {}\nproperty[count][0] = {count}\nproperty[total][0] = {total}\nproperty[limit][0] = {limit}\n",
        (first + count).saturating_sub(1)
    )
}

fn page_of(request: &Received) -> (usize, usize) {
    let command = request.command();
    assert!(
        !command.contains("LAST"),
        "LAST must never be sent: {command:?}"
    );
    let first = command.get("FIRST").unwrap_or("0").parse().unwrap();
    let limit = command.get("LIMIT").unwrap_or("1000").parse().unwrap();
    (first, limit)
}

const CNR_TOTAL: usize = 2500;

fn cnr_domain(i: usize) -> String {
    let tld = if i.is_multiple_of(2) { "com" } else { "net" };
    format!("d{i:05}.{tld}")
}

fn is_cnr_premium(i: usize) -> bool {
    i.is_multiple_of(70) // 36 of 2500
}

fn fake_cnr(request: &Received, _: usize) -> Reply {
    let command = request.command();
    match command.name() {
        "QueryDomainList" => {
            assert_eq!(command.get("WIDE"), Some("1"));
            let (first, limit) = page_of(request);
            let rows: Vec<usize> = (first..(first + limit).min(CNR_TOTAL)).collect();
            ok_with(
                &[
                    (
                        "column",
                        vec![
                            "domain".into(),
                            "domain registration expiration date".into(),
                            "renewalmode".into(),
                            "domain zone".into(),
                        ],
                    ),
                    ("domain", rows.iter().map(|&i| cnr_domain(i)).collect()),
                    (
                        "domain registration expiration date",
                        rows.iter()
                            .map(|i| format!("2026-{:02}-15 10:00:00.0", i % 12 + 1))
                            .collect(),
                    ),
                    (
                        "renewalmode",
                        rows.iter().map(|_| "DEFAULT".to_string()).collect(),
                    ),
                    (
                        "domain zone",
                        rows.iter()
                            .map(|&i| cnr_domain(i).split_once('.').unwrap().1.to_string())
                            .collect(),
                    ),
                ],
                &paging(first, rows.len(), CNR_TOTAL, limit),
            )
        }
        "QueryRegisteredPremiumDomainList" => {
            let (first, limit) = page_of(request);
            let premium: Vec<String> = (0..CNR_TOTAL)
                .filter(|&i| is_cnr_premium(i))
                .map(cnr_domain)
                .collect();
            let page: Vec<String> = premium.iter().skip(first).take(limit).cloned().collect();
            let count = page.len();
            ok_with(
                &[("domain", page)],
                &paging(first, count, premium.len(), limit),
            )
        }
        "QueryZoneList" => ok_with(
            &[
                ("zone", vec!["com".into(), "net".into()]),
                ("annual", vec!["8.99".into(), "10.50".into()]),
                ("transfer", vec!["7.99".into(), "9.50".into()]),
                ("currency", vec!["USD".into(), "USD".into()]),
            ],
            "",
        ),
        "CheckDomains" => {
            let names = command.get_list("DOMAIN");
            assert!(
                names.len() <= 30,
                "X-FEE groups are at most 30, got {}",
                names.len()
            );
            let fees = command.get_list("X-FEE-COMMAND");
            assert_eq!(fees.len(), names.len());
            assert!(fees.iter().all(|f| *f == "renew"));
            ok_with(
                &[
                    (
                        "domaincheck",
                        names
                            .iter()
                            .map(|_| "211 Domain name not available".to_string())
                            .collect(),
                    ),
                    (
                        "x-fee-domain",
                        names.iter().map(|n| n.to_string()).collect(),
                    ),
                    (
                        "x-fee-amount",
                        names.iter().map(|_| "250.00".to_string()).collect(),
                    ),
                    (
                        "x-fee-currency",
                        names.iter().map(|_| "USD".to_string()).collect(),
                    ),
                    (
                        "x-fee-class",
                        names.iter().map(|_| "premium".to_string()).collect(),
                    ),
                ],
                "",
            )
        }
        other => panic!("unexpected command {other}"),
    }
}

fn count(received: &[Received], name: &str) -> usize {
    received
        .iter()
        .filter(|r| r.command().name() == name)
        .count()
}

#[tokio::test]
async fn cnr_list_domains_is_bulk_paged_and_joined() {
    let server = MockServer::start(fake_cnr).await;
    let client = client(Dialect::Cnr, &server);
    let port: &dyn RegistrarPort = &client;
    let domains = port.list_domains().await.unwrap();

    assert_eq!(domains.len(), CNR_TOTAL);
    let received = server.received();
    assert_eq!(
        count(&received, "QueryDomainList"),
        3,
        "2500 rows at 1000 per page"
    );
    assert_eq!(count(&received, "QueryRegisteredPremiumDomainList"), 1);
    assert_eq!(count(&received, "QueryZoneList"), 1);
    assert_eq!(
        count(&received, "CheckDomains"),
        2,
        "36 premium names in groups of 30"
    );
    assert_eq!(
        count(&received, "StatusDomain"),
        0,
        "never one call per domain"
    );

    let standard = domains
        .iter()
        .find(|d| d.name.ascii() == "d00001.net")
        .unwrap();
    assert!(standard.premium.is_none());
    assert_eq!(
        standard.renewal_price,
        Some(Money::new(dec!(10.50), Currency::USD))
    );
    assert_eq!(
        standard.transfer_price,
        Some(Money::new(dec!(9.50), Currency::USD))
    );
    assert_eq!(
        standard.registry_expiry,
        NaiveDate::from_ymd_opt(2026, 2, 15)
    );
    assert_eq!(standard.renewal_mode, Some(RenewalMode::Default));

    let premium = domains
        .iter()
        .find(|d| d.name.ascii() == "d00070.com")
        .unwrap();
    assert_eq!(premium.premium.as_ref().unwrap().class.as_ref(), "premium");
    assert_eq!(
        premium.renewal_price,
        Some(Money::new(dec!(250.00), Currency::USD))
    );
    assert_eq!(domains.iter().filter(|d| d.is_premium()).count(), 36);
}

#[tokio::test]
async fn cnr_premium_prices_are_reused_until_they_are_due() {
    let server = MockServer::start(fake_cnr).await;
    let client = client(Dialect::Cnr, &server);
    let first = RegistrarPort::list_domains(&client).await.unwrap();
    let again = RegistrarPort::list_domains(&client).await.unwrap();
    let received = server.received();
    assert_eq!(
        count(&received, "CheckDomains"),
        2,
        "the second listing reuses the 36 prices"
    );
    assert_eq!(count(&received, "QueryRegisteredPremiumDomainList"), 2);
    assert_eq!(first, again);

    // With reuse off every listing checks every premium name.
    let server = MockServer::start(fake_cnr).await;
    let mut config = ClientConfig::new(Dialect::Cnr, Environment::Ote, "reseller", "pw");
    config.endpoint = Some(server.url.parse().unwrap());
    config.list.premium_fee_max_age = Duration::ZERO;
    let client = RrpClient::new(config).unwrap();
    RegistrarPort::list_domains(&client).await.unwrap();
    RegistrarPort::list_domains(&client).await.unwrap();
    assert_eq!(count(&server.received(), "CheckDomains"), 4);
}

#[tokio::test]
async fn transfer_list_is_paged_with_status_on_cnr_only() {
    const TOTAL: usize = 5;
    let server = MockServer::start(|request, _| {
        let command = request.command();
        assert_eq!(command.name(), "QueryTransferList");
        let (first, limit) = page_of(request);
        let rows: Vec<usize> = (first..(first + limit).min(TOTAL)).collect();
        let names = ("domain", rows.iter().map(|i| format!("t{i}.com")).collect());
        if command.get("WIDE") == Some("1") {
            let status = rows
                .iter()
                .map(|i| if i % 2 == 0 { "PENDING" } else { "FAILED" }.to_string())
                .collect();
            ok_with(
                &[names, ("domain transfer status", status)],
                &paging(first, rows.len(), TOTAL, limit),
            )
        } else {
            let created = rows
                .iter()
                .map(|_| "2026-11-20 10:00:00".to_string())
                .collect();
            ok_with(
                &[names, ("createddate", created)],
                &paging(first, rows.len(), TOTAL, limit),
            )
        }
    })
    .await;
    for dialect in [Dialect::Cnr, Dialect::Ispapi] {
        let mut config = ClientConfig::new(dialect, Environment::Ote, "reseller", "pw");
        config.endpoint = Some(server.url.parse().unwrap());
        config.list.page_size = 2;
        let client = RrpClient::new(config).unwrap();
        let before = server.received().len();
        let transfers = RegistrarPort::transfer_list(&client)
            .await
            .unwrap()
            .expect("CNR and ISPAPI have a bulk transfer list");
        assert_eq!(server.received().len() - before, 3, "5 rows in pages of 2");
        assert_eq!(transfers.len(), TOTAL);
        assert_eq!(transfers[1].name.ascii(), "t1.com");
        match dialect {
            Dialect::Cnr => {
                assert!(transfers[1].has_failed());
                assert_eq!(transfers[0].status.as_deref(), Some("PENDING"));
                assert!(!transfers[0].has_failed());
            }
            _ => assert!(transfers.iter().all(|t| t.status.is_none())),
        }
    }
}

#[tokio::test]
async fn ispapi_list_domains_uses_version_2_with_prices() {
    const TOTAL: usize = 1500;
    let server = MockServer::start(|request, _| {
        let command = request.command();
        assert_eq!(command.name(), "QueryDomainList");
        assert_eq!(command.get("VERSION"), Some("2"));
        assert_eq!(command.get("WIDE"), Some("1"));
        assert_eq!(command.get("PROPERTIES"), Some("PRICE"));
        let (first, limit) = page_of(request);
        let rows: Vec<usize> = (first..(first + limit).min(TOTAL)).collect();
        let mut body = String::from(
            "[RESPONSE]\r\nCODE = 200\r\nDESCRIPTION = Command completed successfully\r\n",
        );
        for (column, value) in [
            (
                "OBJECTID",
                &(|i: usize| format!("hx{i}.guru")) as &dyn Fn(usize) -> String,
            ),
            ("PAIDUNTILDATE", &|i| {
                format!("2027-01-{:02} 00:00:00", i % 28 + 1)
            }),
            ("RENEWALMODE", &|i| {
                if i % 3 == 0 {
                    "expire".into()
                } else {
                    "renew".into()
                }
            }),
            ("SUBCLASS", &|i| {
                if i == 7 {
                    "PREMIUM_DONUTS_Price Category A".into()
                } else {
                    "GURU".into()
                }
            }),
            ("RENEWALPRICE", &|i| {
                if i == 7 {
                    "999.99".into()
                } else {
                    "25.00".into()
                }
            }),
            ("CURRENCY", &|_| "EUR".into()),
        ] {
            for (n, &i) in rows.iter().enumerate() {
                body.push_str(&format!("PROPERTY[{column}][{n}] = {}\r\n", value(i)));
            }
        }
        body.push_str(&paging(first, rows.len(), TOTAL, limit).to_uppercase());
        body.push_str("EOF\r\n");
        Reply::ok(body)
    })
    .await;
    let client = client(Dialect::Ispapi, &server);
    let domains = RegistrarPort::list_domains(&client).await.unwrap();
    assert_eq!(domains.len(), TOTAL);
    assert_eq!(server.received().len(), 2);
    let premium = domains
        .iter()
        .find(|d| d.name.ascii() == "hx7.guru")
        .unwrap();
    assert_eq!(
        premium.premium.as_ref().unwrap().class.as_ref(),
        "PREMIUM_DONUTS_Price Category A"
    );
    assert_eq!(
        premium.renewal_price,
        Some(Money::new(dec!(999.99), Currency::EUR))
    );
    let expiring = domains
        .iter()
        .find(|d| d.name.ascii() == "hx3.guru")
        .unwrap();
    assert_eq!(expiring.renewal_mode, Some(RenewalMode::AutoExpire));
    assert_eq!(expiring.paid_until, NaiveDate::from_ymd_opt(2027, 1, 4));
}

#[tokio::test]
async fn status_domain_sends_a_labels_and_the_fee_command() {
    let server = MockServer::start(|request, _| {
        let command = request.command();
        assert_eq!(command.get("DOMAIN"), Some("xn--mller-kva.de"));
        assert_eq!(command.get("X-FEE-COMMAND"), Some("renew"));
        ok_with(
            &[
                ("domain", vec!["xn--mller-kva.de".into()]),
                ("paiduntil date", vec!["2025-05-28 22:17:44.0".into()]),
                ("renewalmode", vec!["RENEWONCE".into()]),
            ],
            "",
        )
    })
    .await;
    let client = client(Dialect::Cnr, &server);
    let name = DomainName::parse("Müller.de").unwrap();
    let domain = RegistrarPort::status_domain(&client, &name).await.unwrap();
    assert_eq!(domain.name, name);
    assert_eq!(domain.paid_until, NaiveDate::from_ymd_opt(2025, 5, 28));
    assert_eq!(domain.renewal_mode, Some(RenewalMode::RenewOnce));
}

#[tokio::test]
async fn ispapi_check_premium_groups_by_255() {
    let server = MockServer::start(|request, _| {
        let command = request.command();
        assert_eq!(command.get("PREMIUMCHANNELS"), Some("*"));
        let names = command.get_list("DOMAIN");
        assert!(names.len() <= 255);
        ok_with(
            &[
                (
                    "DOMAINCHECK",
                    names
                        .iter()
                        .map(|n| {
                            if *n == "p.guru" {
                                "211 Premium Domain name available [PREMIUM]".to_string()
                            } else {
                                "210 Available".to_string()
                            }
                        })
                        .collect(),
                ),
                (
                    "CLASS",
                    names
                        .iter()
                        .map(|n| {
                            if *n == "p.guru" {
                                "PREMIUM_DONUTS_A".to_string()
                            } else {
                                String::new()
                            }
                        })
                        .collect(),
                ),
                (
                    "PRICE",
                    names
                        .iter()
                        .map(|n| {
                            if *n == "p.guru" {
                                "500.00".to_string()
                            } else {
                                String::new()
                            }
                        })
                        .collect(),
                ),
                (
                    "CURRENCY",
                    names
                        .iter()
                        .map(|n| {
                            if *n == "p.guru" {
                                "USD".to_string()
                            } else {
                                String::new()
                            }
                        })
                        .collect(),
                ),
            ],
            "",
        )
    })
    .await;
    let client = client(Dialect::Ispapi, &server);
    let mut names: Vec<DomainName> = (0..299)
        .map(|i| DomainName::parse(&format!("n{i}.guru")).unwrap())
        .collect();
    names.push(DomainName::parse("p.guru").unwrap());
    let checks = client.check_premium(&names).await.unwrap();
    assert_eq!(checks.len(), 300);
    assert_eq!(server.received().len(), 2);
    let premium = checks.iter().find(|c| c.name.ascii() == "p.guru").unwrap();
    assert_eq!(
        premium.premium.as_ref().unwrap().class.as_ref(),
        "PREMIUM_DONUTS_A"
    );
    assert_eq!(
        premium.registration_price,
        Some(Money::new(dec!(500.00), Currency::USD))
    );
    assert_eq!(checks.iter().filter(|c| c.premium.is_some()).count(), 1);
}

#[tokio::test]
async fn premium_renewals_carry_the_acceptance_per_dialect() {
    let server = MockServer::start(|_, _| {
        ok_with(
            &[(
                "registration expiration date",
                vec!["2027-05-28 22:17:44.0".into()],
            )],
            "",
        )
    })
    .await;
    let request = RenewRequest {
        name: DomainName::parse("b.guru").unwrap(),
        period_years: 1,
        current_expiry_year: Some(2026),
        premium: Some(PremiumAcceptance {
            class: Some("PREMIUM_DONUTS_A".into()),
            price: Some(Money::new(dec!(250.00), Currency::USD)),
        }),
    };
    let outcome = client(Dialect::Cnr, &server)
        .renew_domain(&request)
        .await
        .unwrap();
    assert_eq!(outcome.new_expiry, NaiveDate::from_ymd_opt(2027, 5, 28));
    client(Dialect::Ispapi, &server)
        .renew_domain(&request)
        .await
        .unwrap();
    let received = server.received();
    let cnr = received[0].command();
    assert_eq!(cnr.name(), "RenewDomain");
    assert_eq!(cnr.get("PERIOD"), Some("1"));
    assert_eq!(cnr.get("EXPIRATION"), Some("2026"));
    assert_eq!(cnr.get("X-FEE-AMOUNT"), Some("250"));
    assert_eq!(cnr.get("X-FEE-CURRENCY"), Some("USD"));
    assert_eq!(cnr.get("X-ACCEPT-PREMIUMPRICE"), Some("1"));
    assert!(!cnr.contains("CLASS"));
    let hx = received[1].command();
    assert_eq!(hx.get("CLASS"), Some("PREMIUM_DONUTS_A"));
    assert!(!hx.contains("X-FEE-AMOUNT"));
}

#[tokio::test]
async fn transfer_modify_and_renewal_mode_commands() {
    let server = MockServer::start(|request, _| match request.command().name() {
        "TransferDomain" => Reply::ok("[RESPONSE]\nCODE = 200\nDESCRIPTION = Command completed successfully; domain transfer initiated\nPENDING = 1\nEOF\n"),
        "StatusDomainTransfer" => Reply::ok(
            "[RESPONSE]\nCODE = 200\nDESCRIPTION = Command completed successfully\n\
             PROPERTY[TRANSFERLOG][0] = 2017-03-27 12:22:04 [INITIATED] domain transfer initiated\n\
             PROPERTY[TRANSFERSTATUS][0] = INITIATED\nPROPERTY[TRANSFERTYPE][0] = INCOMING\nEOF\n",
        ),
        _ => Reply::code(200, "Command completed successfully"),
    })
    .await;
    let client = client(Dialect::Ispapi, &server);
    let name = DomainName::parse("hexonet-transfer.com").unwrap();
    let outcome = RegistrarPort::transfer(
        &client,
        &TransferRequest {
            name: name.clone(),
            auth_code: "Ro1Mt/z1Ge1F".into(),
            period_years: None,
            premium: None,
        },
    )
    .await
    .unwrap();
    assert!(outcome.pending);
    let status = RegistrarPort::transfer_status(&client, &name)
        .await
        .unwrap();
    assert_eq!(status.status.as_deref(), Some("INITIATED"));
    assert_eq!(status.kind.as_deref(), Some("INCOMING"));
    assert_eq!(status.log.len(), 1);

    RegistrarPort::modify_contacts(
        &client,
        &name,
        &ContactHandles {
            owner: Some("P-NEW1".into()),
            tech: Some("P-TEC".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    RegistrarPort::modify_contacts(&client, &name, &ContactHandles::default())
        .await
        .unwrap();
    RegistrarPort::set_renewal_mode(&client, &name, &RenewalMode::AutoExpire)
        .await
        .unwrap();

    let sent: Vec<Command> = server.received().iter().map(Received::command).collect();
    assert_eq!(sent.len(), 4, "an empty contact change sends nothing");
    assert_eq!(sent[0].get("AUTH"), Some("Ro1Mt/z1Ge1F"));
    assert_eq!(sent[0].get("ACTION"), Some("REQUEST"));
    assert_eq!(sent[2].name(), "ModifyDomain");
    assert_eq!(sent[2].get("OWNERCONTACT0"), Some("P-NEW1"));
    assert_eq!(sent[2].get("TECHCONTACT0"), Some("P-TEC"));
    assert!(!sent[2].contains("ADMINCONTACT0"));
    assert_eq!(
        sent[3].encode(),
        "COMMAND=SetDomainRenewalMode\nDOMAIN=hexonet-transfer.com\nRENEWALMODE=AUTOEXPIRE"
    );
}

#[tokio::test]
async fn port_errors_map_to_core_kinds() {
    let server = MockServer::start(|request, _| match request.command().name() {
        "StatusDomain" => Reply::code(545, "Entity reference not found"),
        _ => Reply::code(530, "Authentication failed"),
    })
    .await;
    let client = client(Dialect::Cnr, &server);
    let name = DomainName::parse("missing.com").unwrap();
    match RegistrarPort::status_domain(&client, &name).await {
        Err(RegistrarError::Permanent {
            code: 545,
            description,
        }) => assert_eq!(description, "Entity reference not found"),
        other => panic!("expected permanent 545, got {other:?}"),
    }
    match RegistrarPort::account_status(&client).await {
        Err(error @ RegistrarError::Auth { .. }) => {
            assert!(error.to_string().contains("account reseller"))
        }
        other => panic!("expected auth error, got {other:?}"),
    }
}

#[tokio::test]
async fn account_rates_and_contacts() {
    let server = MockServer::start(|request, _| match request.command().name() {
        "StatusAccount" => ok_with(
            &[
                ("amount", vec!["100219.89".into()]),
                ("credit", vec!["0.00".into()]),
                ("credit threshold", vec!["22000.00".into()]),
                ("currency", vec!["GBP".into()]),
            ],
            "",
        ),
        "QueryExchangeRates" => ok_with(
            &[
                ("currency from", vec!["EUR".into()]),
                ("currency to", vec!["USD".into()]),
                ("rate", vec!["1.08".into()]),
                ("date", vec!["2026-11-20".into()]),
            ],
            "",
        ),
        "AddContact" => {
            let command = request.command();
            assert_eq!(command.get("STREET0"), Some("1 Main St"));
            assert_eq!(command.get("STREET1"), Some("Floor 2"));
            assert!(!command.contains("ORGANIZATION"));
            ok_with(&[("contact", vec!["P-ACX100".into()])], "")
        }
        "QueryContactList" => {
            let (first, limit) = page_of(request);
            ok_with(
                &[("contact", vec!["P-ACX100".into(), "P-ACX101".into()])],
                &paging(first, 2, 2, limit),
            )
        }
        other => panic!("unexpected {other}"),
    })
    .await;
    let client = client(Dialect::Cnr, &server);
    let account = RegistrarPort::account_status(&client).await.unwrap();
    assert_eq!(
        account.balance,
        Some(Money::new(dec!(100219.89), Currency::GBP))
    );
    assert_eq!(
        account.credit_threshold,
        Some(Money::new(dec!(22000.00), Currency::GBP))
    );
    let rates = RegistrarPort::exchange_rates(&client).await.unwrap();
    assert_eq!(rates.rate(Currency::EUR, Currency::USD), Some(dec!(1.08)));
    let contact = domwatch_core::ports::ContactDetails {
        first_name: "Ada".into(),
        last_name: "Lovelace".into(),
        street: vec!["1 Main St".into(), "Floor 2".into()],
        city: "London".into(),
        zip: "N1".into(),
        country: "GB".into(),
        phone: "+44.123".into(),
        email: "ada@example.com".into(),
        ..Default::default()
    };
    assert_eq!(
        RegistrarPort::add_contact(&client, &contact).await.unwrap(),
        "P-ACX100"
    );
    assert_eq!(
        RegistrarPort::list_contacts(&client).await.unwrap(),
        vec!["P-ACX100", "P-ACX101"]
    );
}

#[tokio::test]
async fn a_paged_walk_that_ends_short_of_total_is_an_error_naming_the_numbers() {
    // Every page is whole by its own COUNT, but the server runs dry early: TOTAL says
    // 1000, two pages of 406 rows arrive, the third says COUNT 0.
    let server = MockServer::start(|request, _| {
        let command = request.command();
        let first: usize = command.get("FIRST").unwrap_or("0").parse().unwrap();
        let count = if first < 812 { 406 } else { 0 };
        let mut body =
            String::from("[RESPONSE]\ncode = 200\ndescription = Command completed successfully\n");
        for i in 0..count {
            body.push_str(&format!("property[domain][{i}] = d{}.com\n", first + i));
        }
        body.push_str(&paging(first, count, 1000, 406));
        body.push_str("EOF\n");
        Reply::ok(body)
    })
    .await;
    let mut config = ClientConfig::new(Dialect::Cnr, Environment::Ote, "reseller", "pw");
    config.endpoint = Some(server.url.parse().unwrap());
    config.retry_base_delay = Duration::from_millis(1);
    let client = RrpClient::new(config).unwrap();
    let error = client
        .for_each_page(Command::new("QueryDomainList"), 406, |_| {})
        .await
        .unwrap_err();
    let message = error.to_string();
    assert!(
        message.starts_with("QueryDomainList answered 812 of 1000 rows for CNR account `reseller`"),
        "{message}"
    );
    assert!(
        message.contains("the answer was cut off; nothing was changed"),
        "{message}"
    );
}
