//! The sandbox registrar over real HTTP on 127.0.0.1, in both dialects: wire format,
//! authentication and sessions, every command, paging, scripted events and faults.

mod support;

use chrono::{Datelike, NaiveDate};
use domwatch_core::model::Dialect;
use domwatch_core::DomainName;
use domwatch_rrp::{ClientConfig, ClientError, Command, Environment, Response, RrpClient};
use domwatch_sandbox::portfolio::{Drift, Portfolio, SeedDomain};
use domwatch_sandbox::registrar::{
    Fault, FaultConfig, RegistrarEvent, RegistrarSandbox, RegistrarSandboxConfig, RoleUser,
};
use rust_decimal::Decimal;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};
use support::today;

async fn sandbox(dialect: Dialect, domains: usize) -> RegistrarSandbox {
    RegistrarSandbox::start(RegistrarSandboxConfig::new(dialect, 42, domains, today()))
        .await
        .expect("sandbox starts")
}

fn client_for(sb: &RegistrarSandbox, use_session: bool) -> RrpClient {
    let mut config = ClientConfig::new(sb.dialect(), Environment::Ote, sb.login(), sb.password());
    config.endpoint = Some(sb.endpoint().parse().unwrap());
    config.use_session = use_session;
    config.max_retries = 0;
    config.total_timeout = Duration::from_secs(10);
    RrpClient::new(config).unwrap()
}

/// Posts raw form fields, adding the credentials (and the ISPAPI entity).
async fn raw(sb: &RegistrarSandbox, extra: &[(&str, &str)]) -> (u16, String) {
    let mut form: Vec<(String, String)> = Vec::new();
    if sb.dialect() == Dialect::Ispapi {
        form.push(("s_entity".into(), "1234".into()));
    }
    form.push(("s_login".into(), sb.login().into()));
    form.push(("s_pw".into(), sb.password().into()));
    form.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    raw_form(sb, &form).await
}

async fn raw_form(sb: &RegistrarSandbox, form: &[(String, String)]) -> (u16, String) {
    let response = reqwest::Client::new()
        .post(sb.endpoint())
        .form(form)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

async fn command(sb: &RegistrarSandbox, cmd: Command) -> Response {
    let (_, body) = raw(sb, &[("s_command", &cmd.encode())]).await;
    Response::parse(body)
}

fn listed(p: &Portfolio, dialect: Dialect) -> Vec<SeedDomain> {
    p.domains_of(dialect)
        .filter(|d| d.registrar.present)
        .collect()
}

fn find(p: &Portfolio, dialect: Dialect, pred: impl Fn(&SeedDomain) -> bool) -> SeedDomain {
    listed(p, dialect)
        .into_iter()
        .find(|d| pred(d))
        .expect("the showcase has such a domain")
}

fn date_of(value: &str) -> NaiveDate {
    NaiveDate::parse_from_str(&value[..10], "%Y-%m-%d").unwrap()
}

/// Walks a list command page by page like the SDKs do (FIRST += LIMIT while < TOTAL).
async fn walk(
    sb: &RegistrarSandbox,
    base: Command,
    limit: usize,
    column: &str,
) -> (Vec<String>, u64) {
    let mut names = Vec::new();
    let mut first = 0;
    let total = loop {
        let r = command(sb, base.clone().with("FIRST", first).with("LIMIT", limit)).await;
        assert_eq!(r.code(), 200, "{}", r.body());
        let total = r.total().unwrap();
        assert_eq!(r.first(), Some(first as u64));
        assert_eq!(r.limit(), Some(limit as u64));
        let page = r.values(column);
        assert_eq!(r.count(), Some(page.len() as u64));
        names.extend(page.iter().map(|s| s.to_string()));
        first += limit;
        if first as u64 >= total {
            break total;
        }
    };
    (names, total)
}

#[tokio::test]
async fn cnr_answers_look_like_the_real_captures() {
    let sb = sandbox(Dialect::Cnr, 200).await;
    let (status, body) = raw(&sb, &[("s_command", "COMMAND=StatusAccount")]).await;
    assert_eq!(status, 200);
    assert!(
        body.starts_with(
            "[RESPONSE]\ncode = 200\ndescription = Command completed successfully\nruntime = "
        ),
        "{body}"
    );
    assert!(body.contains("\nqueuetime = 0\n"));
    assert!(
        body.contains("\nproperty[credit threshold][0] = 5000.00\n"),
        "{body}"
    );
    assert!(body.contains("\nproperty[currency][0] = EUR\n"));
    assert!(body.ends_with("\nEOF\n"));
    assert!(!body.contains('\r'));

    let (_, body) = raw(
        &sb,
        &[("s_command", "COMMAND=QueryDomainList\nWIDE=1\nLIMIT=2")],
    )
    .await;
    assert!(body.contains("property[column][0] = domain\n"), "{body}");
    assert!(body.contains("property[domain registration expiration date][0] = "));
    assert!(body.contains("property[paiduntil date][1] = "));
    let expiry_line = body
        .lines()
        .find(|l| l.starts_with("property[paiduntil date][0]"))
        .unwrap();
    assert!(
        expiry_line.ends_with(".0"),
        "CNR timestamps end in .0: {expiry_line}"
    );
}

#[tokio::test]
async fn ispapi_answers_are_upper_case_and_need_an_entity() {
    let sb = sandbox(Dialect::Ispapi, 200).await;
    let (_, body) = raw(&sb, &[("s_command", "COMMAND=StatusAccount")]).await;
    assert!(
        body.starts_with("[RESPONSE]\nCODE = 200\nDESCRIPTION = Command completed successfully\n"),
        "{body}"
    );
    assert!(body.contains("\nPROPERTY[AMOUNT][0] = "));
    assert!(body.contains("\nPROPERTY[DEPOSIT][0] = 0.00\n"));

    let form = vec![
        ("s_entity".to_string(), "9999".to_string()),
        ("s_login".to_string(), sb.login().to_string()),
        ("s_pw".to_string(), sb.password().to_string()),
        ("s_command".to_string(), "COMMAND=StatusAccount".to_string()),
    ];
    let (_, body) = raw_form(&sb, &form).await;
    assert_eq!(Response::parse(body).code(), 502);
}

#[tokio::test]
async fn wrong_credentials_are_530_in_both_dialects() {
    for dialect in [Dialect::Cnr, Dialect::Ispapi] {
        let sb = sandbox(dialect, 50).await;
        let mut form = vec![
            ("s_entity".to_string(), "1234".to_string()),
            ("s_login".to_string(), sb.login().to_string()),
            ("s_pw".to_string(), "wrong".to_string()),
            ("s_command".to_string(), "COMMAND=StatusAccount".to_string()),
        ];
        let r = Response::parse(raw_form(&sb, &form).await.1);
        assert_eq!((r.code(), r.description()), (530, "Authentication failed"));
        form.retain(|(k, _)| k != "s_pw");
        let r = Response::parse(raw_form(&sb, &form).await.1);
        assert_eq!(r.code(), 530);

        let mut config = ClientConfig::new(dialect, Environment::Ote, sb.login(), "wrong");
        config.endpoint = Some(sb.endpoint().parse().unwrap());
        config.max_retries = 0;
        let err = RrpClient::new(config)
            .unwrap()
            .request(&Command::new("StatusAccount"))
            .await
            .unwrap_err();
        assert!(matches!(err, ClientError::Auth { .. }), "{err}");
    }
}

#[tokio::test]
async fn cnr_sessions_open_serve_and_stop() {
    let mut config = RegistrarSandboxConfig::new(Dialect::Cnr, 42, 50, today());
    config.roles.push(RoleUser {
        role: "monitor".into(),
        password: "role-secret".into(),
    });
    let sb = RegistrarSandbox::start(config).await.unwrap();
    let login = |pw: &str, user: &str| {
        vec![
            ("s_login".to_string(), user.to_string()),
            ("s_pw".to_string(), pw.to_string()),
            ("persistent".to_string(), "1".to_string()),
        ]
    };
    let r = Response::parse(raw_form(&sb, &login(sb.password(), sb.login())).await.1);
    assert_eq!(r.code(), 200);
    let session = r.value("sessionid").unwrap().to_string();
    assert_eq!(session.len(), 32);
    assert!(r.value("expiration date").is_some());

    let with_session = |cmd: &str| {
        vec![
            ("s_login".to_string(), sb.login().to_string()),
            ("s_sessionid".to_string(), session.clone()),
            ("s_command".to_string(), cmd.to_string()),
        ]
    };
    let r = Response::parse(
        raw_form(&sb, &with_session("COMMAND=StatusAccount"))
            .await
            .1,
    );
    assert_eq!(r.code(), 200, "{}", r.body());
    let r = Response::parse(raw_form(&sb, &with_session("COMMAND=StopSession")).await.1);
    assert_eq!(r.code(), 200);
    let r = Response::parse(
        raw_form(&sb, &with_session("COMMAND=StatusAccount"))
            .await
            .1,
    );
    assert_eq!((r.code(), r.description()), (530, "Authentication failed"));

    let role_login = format!("{}:monitor", sb.login());
    let r = Response::parse(raw_form(&sb, &login("role-secret", &role_login)).await.1);
    assert_eq!(r.code(), 200, "role users log in as login:role");
    let r = Response::parse(
        raw_form(&sb, &login("role-secret", "someone:monitor"))
            .await
            .1,
    );
    assert_eq!(r.code(), 530);

    // Sessions expire with the sandbox clock.
    let r = Response::parse(raw_form(&sb, &login(sb.password(), sb.login())).await.1);
    let session = r.value("sessionid").unwrap().to_string();
    sb.apply(RegistrarEvent::AdvanceClock { days: 0, hours: 2 })
        .unwrap();
    let form = vec![
        ("s_login".to_string(), sb.login().to_string()),
        ("s_sessionid".to_string(), session),
        ("s_command".to_string(), "COMMAND=StatusAccount".to_string()),
    ];
    assert_eq!(Response::parse(raw_form(&sb, &form).await.1).code(), 530);

    // The real client logs in, uses and closes a session.
    let client = client_for(&sb, true);
    let r = client
        .request(&Command::new("StatusAccount"))
        .await
        .unwrap();
    assert_eq!(r.code(), 200);
    assert!(client.has_session().await);
    client.logout().await.unwrap();
}

#[tokio::test]
async fn ispapi_sessions_start_and_end() {
    let sb = sandbox(Dialect::Ispapi, 50).await;
    let r = command(&sb, Command::new("StartSession")).await;
    let session = r.value("SESSION").unwrap().to_string();
    assert_eq!(session.len(), 64);
    let with_session = |cmd: &str| {
        vec![
            ("s_entity".to_string(), "54cd".to_string()),
            ("s_session".to_string(), session.clone()),
            ("s_command".to_string(), cmd.to_string()),
        ]
    };
    assert_eq!(
        Response::parse(
            raw_form(&sb, &with_session("COMMAND=StatusAccount"))
                .await
                .1
        )
        .code(),
        200
    );
    assert_eq!(
        Response::parse(raw_form(&sb, &with_session("COMMAND=EndSession")).await.1).code(),
        200
    );
    assert_eq!(
        Response::parse(
            raw_form(&sb, &with_session("COMMAND=StatusAccount"))
                .await
                .1
        )
        .code(),
        530
    );

    let client = client_for(&sb, true);
    assert_eq!(
        client
            .request(&Command::new("StatusAccount"))
            .await
            .unwrap()
            .code(),
        200
    );
    client.logout().await.unwrap();
}

#[tokio::test]
async fn domain_list_pages_cover_exactly_the_listed_portfolio() {
    for dialect in [Dialect::Cnr, Dialect::Ispapi] {
        let sb = sandbox(dialect, 400).await;
        let p = Portfolio::new(42, 400, today());
        let expected: Vec<String> = listed(&p, dialect)
            .iter()
            .map(|d| d.name.ascii().to_string())
            .collect();
        let gone = p
            .domains_of(dialect)
            .filter(|d| !d.registrar.present)
            .count();
        assert!(
            gone > 0,
            "the showcase has domains the registrar does not list"
        );

        let (names, total) = walk(&sb, Command::new("QueryDomainList"), 25, "domain").await;
        assert_eq!(total as usize, expected.len(), "{dialect}");
        assert_eq!(
            names, expected,
            "{dialect}: default order is the portfolio order"
        );

        let (sorted, _) = walk(
            &sb,
            Command::new("QueryDomainList")
                .with("ORDERBY", "DOMAIN")
                .with("ORDER", "ASC"),
            30,
            "domain",
        )
        .await;
        let mut by_name = expected.clone();
        by_name.sort();
        assert_eq!(
            sorted, by_name,
            "{dialect}: ORDERBY=DOMAIN sorts by A-label"
        );
    }
}

#[tokio::test]
async fn list_limits_defaults_and_cnr_last_rejection() {
    let sb = sandbox(Dialect::Cnr, 30_000).await;
    let r = command(&sb, Command::new("QueryDomainList")).await;
    assert_eq!((r.limit(), r.count()), (Some(1000), Some(1000)));
    let r = command(&sb, Command::new("QueryDomainList").with("LIMIT", 50_000)).await;
    assert_eq!((r.limit(), r.count()), (Some(10_000), Some(10_000)));
    let r = command(
        &sb,
        Command::new("QueryDomainList")
            .with("FIRST", 20_700)
            .with("LIMIT", 100),
    )
    .await;
    let total = r.total().unwrap();
    assert_eq!(r.count().unwrap(), (total - 20_700).min(100));
    assert_eq!(r.last(), Some(20_700 + r.count().unwrap() - 1));

    let (_, body) = raw(
        &sb,
        &[("s_command", "COMMAND=QueryDomainList\nFIRST=0\nLAST=9")],
    )
    .await;
    assert_eq!(
        body,
        "[RESPONSE]\ncode = 503\ndescription = Invalid attribute name; LAST\nEOF\n"
    );
    let name = Portfolio::new(42, 30_000, today()).domain(0).name;
    let (_, body) = raw(
        &sb,
        &[(
            "s_command",
            &format!("COMMAND=StatusDomain\nDOMAIN={}\nLIMIT=1", name.ascii()),
        )],
    )
    .await;
    assert_eq!(
        body,
        "[RESPONSE]\ncode = 503\ndescription = Invalid attribute name; LIMIT\nEOF\n"
    );

    // ISPAPI honours LAST as the last index of the page.
    let hx = sandbox(Dialect::Ispapi, 300).await;
    let r = command(
        &hx,
        Command::new("QueryDomainList")
            .with("FIRST", 10)
            .with("LAST", 14),
    )
    .await;
    assert_eq!((r.count(), r.last()), (Some(5), Some(14)));
}

#[tokio::test]
async fn a_million_domain_account_pages_without_building_everything() {
    let sb = sandbox(Dialect::Cnr, 1_000_000).await;
    let started = Instant::now();
    let r = command(
        &sb,
        Command::new("QueryDomainList")
            .with("FIRST", 650_000)
            .with("LIMIT", 100)
            .with("WIDE", 1),
    )
    .await;
    assert_eq!(
        r.count(),
        Some(100),
        "{}",
        &r.body()[..200.min(r.body().len())]
    );
    assert!(r.total().unwrap() > 690_000);
    let p = Portfolio::new(42, 1_000_000, today());
    let name = DomainName::parse(r.values("domain")[0]).unwrap();
    let index = p.index_of(&name).unwrap();
    assert_eq!(Portfolio::dialect_of(index), Dialect::Cnr);
    assert!(started.elapsed() < Duration::from_secs(60));
}

#[tokio::test]
async fn status_domain_reports_the_portfolio_in_both_dialects() {
    let p = Portfolio::new(42, 200, today());
    for dialect in [Dialect::Cnr, Dialect::Ispapi] {
        let sb = sandbox(dialect, 200).await;
        let clean = find(&p, dialect, |d| d.drift.is_none());
        let premium = find(&p, dialect, |d| d.drift == Some(Drift::TurnedPremium));
        let fee = |name: &DomainName| {
            let cmd = Command::new("StatusDomain").with("DOMAIN", name.ascii());
            match dialect {
                Dialect::Cnr => cmd.with("X-FEE-COMMAND", "renew"),
                _ => cmd.with("PROPERTIES", "PRICE"),
            }
        };
        let r = command(&sb, fee(&clean.name)).await;
        assert_eq!(r.code(), 200, "{}", r.body());
        assert_eq!(
            date_of(r.value("PAIDUNTILDATE").unwrap()),
            clean.registrar.paid_until
        );
        assert_eq!(
            date_of(r.value("REGISTRATIONEXPIRATIONDATE").unwrap()),
            clean.registrar.registry_expiry
        );
        assert_eq!(
            date_of(r.value("CREATEDDATE").unwrap()),
            clean.registrar.created
        );
        assert_eq!(
            r.value("OWNERCONTACT"),
            clean.registrar.contacts.owner.as_deref()
        );
        assert_eq!(r.value("RENEWALMODE"), Some("AUTORENEW"));

        let r = command(&sb, fee(&premium.name)).await;
        let price = premium.registrar.renew_price.to_string();
        match dialect {
            Dialect::Cnr => {
                assert_eq!(r.value("X-FEE-CLASS"), Some("premium"), "{}", r.body());
                assert_eq!(
                    r.value("X-FEE-AMOUNT").unwrap().parse::<Decimal>().unwrap(),
                    premium.registrar.renew_price,
                    "{price}"
                );
                assert_eq!(r.value("X-FEE-CURRENCY"), Some("EUR"));
            }
            _ => {
                assert!(
                    r.value("SUBCLASS").unwrap().starts_with("PREMIUM_"),
                    "{}",
                    r.body()
                );
                assert_eq!(
                    r.value("RENEWALPRICE").unwrap().parse::<Decimal>().unwrap(),
                    premium.registrar.renew_price
                );
            }
        }

        let gone = p
            .domains_of(dialect)
            .find(|d| d.drift == Some(Drift::GoneAtRegistrar))
            .unwrap();
        let r = command(
            &sb,
            Command::new("StatusDomain").with("DOMAIN", gone.name.ascii()),
        )
        .await;
        let expected = match dialect {
            Dialect::Cnr => "Entity reference not found",
            _ => "Object not found",
        };
        assert_eq!((r.code(), r.description()), (545, expected));
        let r = command(
            &sb,
            Command::new("StatusDomain").with("DOMAIN", "never-registered.com"),
        )
        .await;
        assert_eq!(r.code(), 545);
    }
}

#[tokio::test]
async fn check_domains_prices_premium_names_per_index() {
    let p = Portfolio::new(42, 200, today());
    let sb = sandbox(Dialect::Cnr, 200).await;
    let premium = find(&p, Dialect::Cnr, |d| d.drift == Some(Drift::TurnedPremium));
    let clean = find(&p, Dialect::Cnr, |d| d.drift.is_none());
    let cmd = Command::new("CheckDomains")
        .with_list(
            "DOMAIN",
            [
                premium.name.ascii(),
                clean.name.ascii(),
                "free-name-xyz.com",
                "ab.shop",
                "bad..name",
            ],
        )
        .with_list(
            "X-FEE-COMMAND",
            ["renew", "renew", "create", "create", "create"],
        );
    let r = command(&sb, cmd).await;
    assert_eq!(r.code(), 200, "{}", r.body());
    assert_eq!(
        r.values("domaincheck"),
        vec![
            "211 Domain name not available",
            "211 Domain name not available",
            "210 Domain name available",
            "210 Domain name available",
            "541 Invalid attribute value"
        ]
    );
    assert_eq!(
        r.values("x-fee-class")[..4],
        ["premium", "standard", "standard", "premium"]
    );
    assert_eq!(r.values("x-fee-domain")[0], premium.name.ascii());
    assert_eq!(
        r.values("x-fee-amount")[0].parse::<Decimal>().unwrap(),
        premium.registrar.renew_price
    );
    assert_eq!(r.values("x-fee-amount")[2], "9.50", "com registration");
    assert!(r.declared_columns().contains(&"domaincheck"));

    let many: Vec<String> = (0..33).map(|i| format!("n{i}.com")).collect();
    let r = command(
        &sb,
        Command::new("CheckDomains").with_list("DOMAIN", many.iter().map(String::as_str)),
    )
    .await;
    assert_eq!(
        (r.code(), r.description()),
        (503, "Invalid attribute name; DOMAIN32")
    );
    let r = command(
        &sb,
        Command::new("CheckDomains")
            .with_list("DOMAIN", ["a.com"])
            .with("X-FEE-COMMAND30", "renew"),
    )
    .await;
    assert_eq!(r.code(), 503);

    let hx = sandbox(Dialect::Ispapi, 200).await;
    let r = command(
        &hx,
        Command::new("CheckDomains")
            .with_list("DOMAIN", ["ab.shop", "free-name-xyz.com"])
            .with("PREMIUMCHANNELS", "*"),
    )
    .await;
    assert_eq!(
        r.values("DOMAINCHECK"),
        vec![
            "211 Premium Domain name available [PREMIUM]",
            "210 Available"
        ]
    );
    assert_eq!(r.values("CLASS"), vec!["PREMIUM_SHOP_Tier A", ""]);
    assert_eq!(r.values("PRICE")[0], "1500.00");
    assert_eq!(r.values("CURRENCY"), vec!["EUR", ""]);
}

#[tokio::test]
async fn renewing_a_premium_domain_needs_the_fee_accepted() {
    let p = Portfolio::new(42, 200, today());
    for dialect in [Dialect::Cnr, Dialect::Ispapi] {
        let sb = sandbox(dialect, 200).await;
        let d = find(&p, dialect, |d| d.drift == Some(Drift::TurnedPremium));
        let class = d.registrar.premium.clone().unwrap().class;
        let renew = Command::new("RenewDomain")
            .with("DOMAIN", d.name.ascii())
            .with("PERIOD", 1);
        let r = command(&sb, renew.clone()).await;
        let expected = match dialect {
            Dialect::Cnr => "Missing required attribute; premium domain name. please provide required parameters".to_string(),
            _ => format!("Missing required attribute; CLASS={class}"),
        };
        assert_eq!((r.code(), r.description()), (504, expected.as_str()));

        let accepted = match dialect {
            Dialect::Cnr => renew
                .with("X-FEE-AMOUNT", d.registrar.renew_price)
                .with("X-FEE-CURRENCY", "EUR")
                .with("X-ACCEPT-PREMIUMPRICE", 1)
                .with("EXPIRATION", d.registrar.registry_expiry.year()),
            _ => renew.with("CLASS", &*class),
        };
        let r = command(&sb, accepted).await;
        assert_eq!(r.code(), 200, "{}", r.body());
        let new_paid_until = domwatch_sandbox::portfolio::add_years(d.registrar.paid_until, 1);
        let r = command(
            &sb,
            Command::new("StatusDomain").with("DOMAIN", d.name.ascii()),
        )
        .await;
        assert_eq!(date_of(r.value("PAIDUNTILDATE").unwrap()), new_paid_until);

        // The account was charged the premium price.
        let r = command(&sb, Command::new("StatusAccount")).await;
        let amount: Decimal = r.value("AMOUNT").unwrap().parse().unwrap();
        assert_eq!(amount, Decimal::from(25042) - d.registrar.renew_price);
    }
}

#[tokio::test]
async fn renewal_mode_changes_show_in_status_and_list() {
    for dialect in [Dialect::Cnr, Dialect::Ispapi] {
        let sb = sandbox(dialect, 200).await;
        let p = Portfolio::new(42, 200, today());
        let d = find(&p, dialect, |d| d.drift.is_none());
        let r = command(
            &sb,
            Command::new("SetDomainRenewalMode")
                .with("DOMAIN", d.name.ascii())
                .with("RENEWALMODE", "AUTOEXPIRE"),
        )
        .await;
        assert_eq!(r.code(), 200, "{}", r.body());
        let r = command(
            &sb,
            Command::new("StatusDomain").with("DOMAIN", d.name.ascii()),
        )
        .await;
        assert_eq!(r.value("RENEWALMODE"), Some("AUTOEXPIRE"));
        let r = command(
            &sb,
            Command::new("SetDomainRenewalMode")
                .with("DOMAIN", d.name.ascii())
                .with("RENEWALMODE", "SOMETIMES"),
        )
        .await;
        assert_eq!(r.code(), 541);
        if dialect == Dialect::Ispapi {
            let r = command(
                &sb,
                Command::new("QueryDomainList")
                    .with("VERSION", 2)
                    .with("WIDE", 1)
                    .with("LIMIT", 100),
            )
            .await;
            let i = r
                .values("OBJECTID")
                .iter()
                .position(|n| *n == d.name.ascii())
                .unwrap();
            assert_eq!(
                r.values("RENEWALMODE")[i],
                "expire",
                "HEXONET's internal lower-case value"
            );
        }
    }
}

#[tokio::test]
async fn transfers_fail_complete_and_show_their_status() {
    let p = Portfolio::new(42, 200, today());
    for dialect in [Dialect::Cnr, Dialect::Ispapi] {
        let sb = sandbox(dialect, 200).await;
        let failed = p
            .domains_of(dialect)
            .find(|d| d.drift == Some(Drift::TransferFailedPremium))
            .unwrap();
        let r = command(
            &sb,
            Command::new("StatusDomainTransfer").with("DOMAIN", failed.name.ascii()),
        )
        .await;
        assert_eq!(r.code(), 200, "{}", r.body());
        assert_eq!(
            r.value("TRANSFERSTATUS").unwrap().to_ascii_lowercase(),
            "failed"
        );
        assert!(r
            .values("TRANSFERLOG")
            .iter()
            .any(|l| l.contains("premium")));

        let before = command(&sb, Command::new("QueryDomainList").with("LIMIT", 0))
            .await
            .total()
            .unwrap();
        let r = command(
            &sb,
            Command::new("TransferDomain").with("DOMAIN", "incoming-one.net"),
        )
        .await;
        assert_eq!(
            (r.code(), r.description()),
            (504, "Missing required attribute; AUTH")
        );
        let r = command(
            &sb,
            Command::new("TransferDomain")
                .with("DOMAIN", "incoming-one.net")
                .with("AUTH", "x1!Y")
                .with("ACTION", "REQUEST"),
        )
        .await;
        assert_eq!(r.code(), 200, "{}", r.body());
        match dialect {
            Dialect::Cnr => assert_eq!(r.value("transferstatus"), Some("pending")),
            _ => assert_eq!(r.top_level("PENDING"), Some("1")),
        }
        let r = command(
            &sb,
            Command::new("StatusDomainTransfer").with("DOMAIN", "incoming-one.net"),
        )
        .await;
        assert_eq!(
            r.value("TRANSFERSTATUS").unwrap().to_ascii_lowercase(),
            "pending"
        );
        sb.apply(RegistrarEvent::AdvanceClock { days: 5, hours: 0 })
            .unwrap();
        let after = command(&sb, Command::new("QueryDomainList").with("LIMIT", 0))
            .await
            .total()
            .unwrap();
        let expired = listed(&p, dialect)
            .iter()
            .filter(|d| d.registrar.renewal_mode.lets_expire())
            .filter(|d| d.registrar.paid_until < today() + chrono::Duration::days(5))
            .count() as u64;
        assert_eq!(
            after,
            before + 1 - expired,
            "the transfer completed; {expired} domains expired meanwhile"
        );
        let r = command(
            &sb,
            Command::new("StatusDomain").with("DOMAIN", "incoming-one.net"),
        )
        .await;
        assert_eq!(r.code(), 200);

        // A premium transfer without the fee is refused with the premium error.
        let r = command(
            &sb,
            Command::new("TransferDomain")
                .with("DOMAIN", failed.name.ascii())
                .with("AUTH", "a"),
        )
        .await;
        assert_eq!(r.code(), 504, "{}", r.body());
    }
}

#[tokio::test]
async fn transfer_list_shows_transfers_in_progress() {
    let p = Portfolio::new(42, 200, today());
    for dialect in [Dialect::Cnr, Dialect::Ispapi] {
        let sb = sandbox(dialect, 200).await;
        let failed: BTreeSet<String> = p
            .domains_of(dialect)
            .filter(|d| d.registrar.transfer.is_some())
            .map(|d| d.name.ascii().to_string())
            .collect();
        assert!(!failed.is_empty(), "the showcase has failed transfers");
        let r = command(
            &sb,
            Command::new("TransferDomain")
                .with("DOMAIN", "incoming-two.net")
                .with("AUTH", "x1!Y")
                .with("ACTION", "REQUEST"),
        )
        .await;
        assert_eq!(r.code(), 200, "{}", r.body());

        let list = Command::new("QueryTransferList").with("WIDE", 1);
        let (names, total) = walk(&sb, list.clone(), 2, "domain").await;
        let listed: BTreeSet<String> = names.into_iter().collect();
        assert_eq!(total as usize, listed.len());
        assert!(listed.contains("incoming-two.net"));
        let r = command(&sb, list.clone().with("LIMIT", 100)).await;
        match dialect {
            Dialect::Cnr => {
                // Pending and failed transfers, each with its status.
                assert_eq!(listed.len(), failed.len() + 1);
                assert!(r.body().contains("property[domain transfer status][0] = "));
                for (name, status) in r
                    .values("domain")
                    .iter()
                    .zip(r.values("DOMAINTRANSFERSTATUS"))
                {
                    let expected = if failed.contains(*name) {
                        "FAILED"
                    } else {
                        "PENDING"
                    };
                    assert_eq!(status, expected, "{name}");
                }
                let r = command(&sb, list.clone().with("LAST", 1)).await;
                assert_eq!(r.code(), 503, "{}", r.body());
            }
            _ => {
                // No status column: only what is still in progress.
                assert_eq!(listed, BTreeSet::from(["incoming-two.net".to_string()]));
                assert!(r.column("DOMAINTRANSFERSTATUS").is_none());
                assert_eq!(date_of(r.values("CREATEDDATE")[0]), today());
                assert!(r
                    .body()
                    .contains("PROPERTY[DOMAINUMLAUT][0] = incoming-two.net"));
            }
        }
        // Once the transfer completes it leaves the list.
        sb.apply(RegistrarEvent::AdvanceClock { days: 5, hours: 0 })
            .unwrap();
        let (names, _) = walk(&sb, list, 50, "domain").await;
        assert!(!names.iter().any(|n| n == "incoming-two.net"), "{names:?}");
    }
}

#[tokio::test]
async fn zones_rates_and_premium_list() {
    let p = Portfolio::new(42, 300, today());
    let sb = sandbox(Dialect::Cnr, 300).await;
    let r = command(&sb, Command::new("QueryZoneList")).await;
    let zones = r.values("zone");
    let i = zones.iter().position(|z| *z == "shop").unwrap();
    assert_eq!(r.values("annual")[i], "27.00");
    assert_eq!(r.values("periodtype")[i], "YEAR");
    let shop_listed = listed(&p, Dialect::Cnr)
        .iter()
        .filter(|d| d.name.zone() == "shop")
        .count();
    assert_eq!(r.values("domain count")[i], shop_listed.to_string());

    let r = command(
        &sb,
        Command::new("QueryExchangeRates")
            .with("CURRENCYFROM", "EUR")
            .with("CURRENCYTO", "USD"),
    )
    .await;
    assert_eq!(r.values("currency from"), vec!["EUR"]);
    assert_eq!(r.values("RATE"), vec!["1.0825"]);

    let expected: BTreeSet<String> = listed(&p, Dialect::Cnr)
        .iter()
        .filter(|d| d.registrar.premium.is_some())
        .map(|d| d.name.ascii().to_string())
        .collect();
    let (names, total) = walk(
        &sb,
        Command::new("QueryRegisteredPremiumDomainList"),
        3,
        "domain",
    )
    .await;
    assert_eq!(total as usize, expected.len());
    assert_eq!(names.into_iter().collect::<BTreeSet<_>>(), expected);

    let hx = sandbox(Dialect::Ispapi, 50).await;
    let r = command(&hx, Command::new("QueryRegisteredPremiumDomainList")).await;
    assert_eq!((r.code(), r.description()), (500, "Invalid command name"));
}

#[tokio::test]
async fn contacts_are_reused_created_and_assigned() {
    let p = Portfolio::new(42, 200, today());
    for dialect in [Dialect::Cnr, Dialect::Ispapi] {
        let sb = sandbox(dialect, 200).await;
        let client = p.client(2);
        let add = Command::new("AddContact")
            .with("FIRSTNAME", client.first_name.as_str())
            .with("LASTNAME", client.last_name.as_str())
            .with("ORGANIZATION", client.company.as_str())
            .with("STREET0", client.address1.as_str())
            .with("CITY", client.city.as_str())
            .with("ZIP", client.postcode.as_str())
            .with("COUNTRY", client.country)
            .with("PHONE", client.phone.as_str())
            .with("EMAIL", client.email.as_str());
        let r = command(&sb, add.clone()).await;
        assert_eq!(
            r.value("CONTACT"),
            Some(client.handle.as_str()),
            "identical details reuse the handle"
        );
        let r = command(&sb, add.clone().with("NEW", 1)).await;
        let fresh = r.value("CONTACT").unwrap().to_string();
        assert_ne!(fresh, client.handle);
        let r = command(&sb, add.clone().with("NEW", 1)).await;
        assert_ne!(r.value("CONTACT").unwrap(), fresh, "NEW=1 always creates");
        let r = command(&sb, add.with("EMAIL", "")).await;
        assert_eq!(
            (r.code(), r.description()),
            (504, "Missing required attribute; EMAIL")
        );

        let r = command(
            &sb,
            Command::new("StatusContact").with("CONTACT", fresh.as_str()),
        )
        .await;
        assert_eq!(
            r.value("FIRSTNAME"),
            Some(client.first_name.as_str()),
            "{}",
            r.body()
        );
        assert_eq!(r.value("CITY"), Some(client.city.as_str()));

        let total = command(&sb, Command::new("QueryContactList").with("LIMIT", 5)).await;
        assert_eq!(total.total(), Some(1 + p.client_count() + 2));
        assert_eq!(
            total.values("CONTACT")[0],
            domwatch_sandbox::portfolio::RESELLER_HANDLE
        );

        let d = find(&p, dialect, |d| d.drift.is_none());
        let r = command(
            &sb,
            Command::new("ModifyDomain")
                .with("DOMAIN", d.name.ascii())
                .with("ADMINCONTACT0", fresh.as_str()),
        )
        .await;
        assert_eq!(r.code(), 200, "{}", r.body());
        let r = command(
            &sb,
            Command::new("StatusDomain").with("DOMAIN", d.name.ascii()),
        )
        .await;
        assert_eq!(r.value("ADMINCONTACT"), Some(fresh.as_str()));
        let r = command(
            &sb,
            Command::new("ModifyDomain")
                .with("DOMAIN", d.name.ascii())
                .with("TECHCONTACT0", "P-NOPE1"),
        )
        .await;
        assert_eq!(r.code(), 545);
    }
}

#[tokio::test]
async fn unknown_commands_and_get_requests() {
    let sb = sandbox(Dialect::Cnr, 50).await;
    let r = command(&sb, Command::new("FlyToTheMoon")).await;
    assert_eq!((r.code(), r.description()), (500, "Invalid command name"));
    // The KB's GET form: plain query parameters instead of s_command.
    let url = format!(
        "{}?s_login={}&s_pw={}&command=StatusAccount",
        sb.endpoint(),
        sb.login(),
        sb.password()
    );
    let body = reqwest::get(url).await.unwrap().text().await.unwrap();
    assert_eq!(Response::parse(body).code(), 200);
}

#[tokio::test]
async fn scripted_events_change_what_the_api_reports() {
    let p = Portfolio::new(42, 200, today());
    let sb = sandbox(Dialect::Cnr, 200).await;
    let d = find(&p, Dialect::Cnr, |d| {
        d.drift.is_none() && d.name.zone() == "com"
    });
    let http = reqwest::Client::new();
    let event = |json: serde_json::Value| {
        let http = http.clone();
        let url = format!("{}/_sandbox/event", sb.base_url());
        async move {
            let response = http.post(url).json(&json).send().await.unwrap();
            (
                response.status().as_u16(),
                response.json::<serde_json::Value>().await.unwrap(),
            )
        }
    };
    let fee = Command::new("StatusDomain")
        .with("DOMAIN", d.name.ascii())
        .with("X-FEE-COMMAND", "renew");
    assert_eq!(
        command(&sb, fee.clone()).await.value("x-fee-class"),
        Some("standard")
    );

    let (status, _) =
        event(serde_json::json!({"event": "zone_price", "zone": "com", "renew": "12.30"})).await;
    assert_eq!(status, 200);
    assert_eq!(
        command(&sb, fee.clone()).await.value("x-fee-amount"),
        Some("12.30")
    );
    let zones = command(&sb, Command::new("QueryZoneList").with("ZONE", "com")).await;
    assert_eq!(zones.values("annual"), vec!["12.30"]);

    let (status, body) = event(serde_json::json!({"event": "turn_premium", "domain": d.name.ascii(), "renew_price": "480.00"})).await;
    assert_eq!(status, 200, "{body}");
    let r = command(&sb, fee.clone()).await;
    assert_eq!(
        (r.value("x-fee-class"), r.value("x-fee-amount")),
        (Some("premium"), Some("480.00"))
    );
    let r = command(
        &sb,
        Command::new("RenewDomain").with("DOMAIN", d.name.ascii()),
    )
    .await;
    assert_eq!(r.code(), 504);

    let (status, _) = event(serde_json::json!({"event": "fail_transfer", "domain": "lost-transfer.org", "reason": "auth code wrong"})).await;
    assert_eq!(status, 200);
    let r = command(
        &sb,
        Command::new("StatusDomainTransfer").with("DOMAIN", "lost-transfer.org"),
    )
    .await;
    assert_eq!(r.value("transferstatus"), Some("failed"));

    let (status, _) =
        event(serde_json::json!({"event": "remove_domain", "domain": d.name.ascii()})).await;
    assert_eq!(status, 200);
    let r = command(
        &sb,
        Command::new("StatusDomain").with("DOMAIN", d.name.ascii()),
    )
    .await;
    assert_eq!(r.code(), 545);

    let (status, body) = event(serde_json::json!({"event": "teleport"})).await;
    assert_eq!(status, 400);
    assert!(body["error"]
        .as_str()
        .unwrap()
        .contains("not a sandbox event"));
    let (status, _) = event(
        serde_json::json!({"event": "turn_premium", "domain": "unknown-x.com", "renew_price": "1"}),
    )
    .await;
    assert_eq!(status, 422);

    // Faults through the admin endpoint: rates and latency flattened into the event.
    let (status, body) =
        event(serde_json::json!({"event": "set_faults", "rate_421": 1.0, "latency_ms": 5})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        command(&sb, Command::new("StatusAccount")).await.code(),
        421
    );
    let (status, _) = event(serde_json::json!({"event": "set_faults"})).await;
    assert_eq!(status, 200);
    let (status, _) =
        event(serde_json::json!({"event": "inject_fault", "fault": "code421", "count": 2})).await;
    assert_eq!(status, 200);
    assert_eq!(
        command(&sb, Command::new("StatusAccount")).await.code(),
        421
    );
    assert_eq!(
        command(&sb, Command::new("StatusAccount")).await.code(),
        421
    );
    assert_eq!(
        command(&sb, Command::new("StatusAccount")).await.code(),
        200
    );
    let (status, _) = event(serde_json::json!({"event": "advance_clock", "days": 3})).await;
    assert_eq!(status, 200);

    let state: serde_json::Value = http
        .get(format!("{}/_sandbox/state", sb.base_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(state["dialect"], "cnr");
    assert_eq!(state["now"], "2026-11-25 10:00:00");
    assert_eq!(state["faults"]["rate_421"], 0.0);
    assert!(state["api_requests"].as_u64().unwrap() >= 6);
}

#[tokio::test]
async fn auto_renewal_follows_the_clock() {
    let p = Portfolio::new(42, 200, today());
    let sb = sandbox(Dialect::Cnr, 200).await;
    let d = find(&p, Dialect::Cnr, |d| d.drift.is_none());
    let days = (d.registrar.paid_until - today()).num_days() + 1;
    sb.apply(RegistrarEvent::AdvanceClock { days, hours: 0 })
        .unwrap();
    let r = command(
        &sb,
        Command::new("StatusDomain").with("DOMAIN", d.name.ascii()),
    )
    .await;
    assert_eq!(
        date_of(r.value("paiduntil date").unwrap()),
        domwatch_sandbox::portfolio::add_years(d.registrar.paid_until, 1)
    );
}

#[tokio::test]
async fn domains_set_to_expire_leave_the_account_when_their_term_ends() {
    let p = Portfolio::new(42, 200, today());
    for dialect in [Dialect::Cnr, Dialect::Ispapi] {
        let sb = sandbox(dialect, 200).await;
        let expiring: Vec<SeedDomain> = listed(&p, dialect)
            .into_iter()
            .filter(|d| d.registrar.renewal_mode.lets_expire())
            .collect();
        assert!(!expiring.is_empty());
        let last = expiring
            .iter()
            .map(|d| d.registrar.paid_until)
            .max()
            .unwrap();
        let before = command(&sb, Command::new("QueryDomainList").with("LIMIT", 0))
            .await
            .total()
            .unwrap();
        sb.apply(RegistrarEvent::AdvanceClock {
            days: (last - today()).num_days() + 1,
            hours: 0,
        })
        .unwrap();
        let after = command(&sb, Command::new("QueryDomainList").with("LIMIT", 0))
            .await
            .total()
            .unwrap();
        assert_eq!(after, before - expiring.len() as u64, "{dialect}");
        for d in &expiring {
            let r = command(
                &sb,
                Command::new("StatusDomain").with("DOMAIN", d.name.ascii()),
            )
            .await;
            assert_eq!(r.code(), 545, "{dialect} {} expired", d.name);
        }
        // Auto-renewing domains are still there, renewed.
        let (names, _) = walk(&sb, Command::new("QueryDomainList"), 50, "domain").await;
        assert_eq!(names.len() as u64, after);
        assert!(expiring
            .iter()
            .all(|d| !names.contains(&d.name.ascii().to_string())));
    }
}

#[tokio::test]
async fn faults_421_500_truncated_latency_and_hang() {
    let mut config = RegistrarSandboxConfig::new(Dialect::Cnr, 7, 50, today());
    config.faults = FaultConfig {
        rate_421: 0.25,
        ..FaultConfig::default()
    };
    let sb = RegistrarSandbox::start(config.clone()).await.unwrap();
    let mut codes = Vec::new();
    for _ in 0..200 {
        codes.push(command(&sb, Command::new("StatusAccount")).await.code());
    }
    let retryable = codes.iter().filter(|c| **c == 421).count();
    assert!(
        (25..=75).contains(&retryable),
        "about a quarter should be 421, got {retryable}"
    );
    assert_eq!(codes.iter().filter(|c| **c == 200).count(), 200 - retryable);
    // Deterministic: the same seed gives the same sequence.
    let again = RegistrarSandbox::start(config).await.unwrap();
    let mut codes_again = Vec::new();
    for _ in 0..200 {
        codes_again.push(command(&again, Command::new("StatusAccount")).await.code());
    }
    assert_eq!(codes, codes_again);

    let sb = sandbox(Dialect::Cnr, 50).await;
    sb.apply(RegistrarEvent::InjectFault {
        fault: Fault::Http500,
        count: 1,
    })
    .unwrap();
    let (status, body) = raw(&sb, &[("s_command", "COMMAND=StatusAccount")]).await;
    assert_eq!(status, 500);
    assert!(!body.contains("[RESPONSE]"));

    sb.apply(RegistrarEvent::InjectFault {
        fault: Fault::Truncated,
        count: 1,
    })
    .unwrap();
    let (status, body) = raw(&sb, &[("s_command", "COMMAND=StatusAccount")]).await;
    assert_eq!(status, 200);
    assert!(
        body.starts_with("[RESPONSE]") && !body.contains("EOF"),
        "{body}"
    );

    sb.apply(RegistrarEvent::SetFaults(FaultConfig {
        latency_ms: 300,
        ..FaultConfig::default()
    }))
    .unwrap();
    let started = Instant::now();
    assert_eq!(
        command(&sb, Command::new("StatusAccount")).await.code(),
        200
    );
    assert!(started.elapsed() >= Duration::from_millis(300));
    sb.apply(RegistrarEvent::SetFaults(FaultConfig::default()))
        .unwrap();

    sb.apply(RegistrarEvent::InjectFault {
        fault: Fault::Hang,
        count: 1,
    })
    .unwrap();
    let mut client_config =
        ClientConfig::new(Dialect::Cnr, Environment::Ote, sb.login(), sb.password());
    client_config.endpoint = Some(sb.endpoint().parse().unwrap());
    client_config.max_retries = 0;
    client_config.total_timeout = Duration::from_millis(500);
    let client = RrpClient::new(client_config).unwrap();
    let started = Instant::now();
    let err = client
        .request(&Command::new("StatusAccount"))
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Timeout { .. }), "{err}");
    assert!(started.elapsed() < Duration::from_secs(5));
    // The next request is served normally.
    assert_eq!(
        client
            .request(&Command::new("StatusAccount"))
            .await
            .unwrap()
            .code(),
        200
    );

    let bad = sb.apply(RegistrarEvent::SetFaults(FaultConfig {
        rate_hang: 2.0,
        ..FaultConfig::default()
    }));
    assert!(bad.unwrap_err().contains("rate_hang"));
}

#[tokio::test]
async fn same_seed_same_answers() {
    let p = Portfolio::new(42, 200, today());
    let d = find(&p, Dialect::Cnr, |d| d.drift.is_none());
    let a = sandbox(Dialect::Cnr, 200).await;
    let b = sandbox(Dialect::Cnr, 200).await;
    for sb in [&a, &b] {
        let _ = command(sb, Command::new("StatusAccount")).await;
    }
    let status = Command::new("StatusDomain").with("DOMAIN", d.name.ascii());
    let (_, body_a) = raw(&a, &[("s_command", &status.encode())]).await;
    let (_, body_b) = raw(&b, &[("s_command", &status.encode())]).await;
    assert_eq!(body_a, body_b);
    let login = [("persistent", "1")];
    let (_, session_a) = raw(&a, &login).await;
    let (_, session_b) = raw(&b, &login).await;
    assert_eq!(session_a, session_b);
}
