//! Every response in `tests/fixtures/` (recorded CNR/ISPAPI answers; their sources are in
//! `tests/fixtures/README.md`) parses to the values a person reads in it. Transport-error
//! fixtures (a comment holding the recorded curl error, no body) are replayed the way the
//! SDK cassette transport does: as the `httperror` template.

use domwatch_rrp::codec::{CodeClass, Command, Response, Template};
use std::collections::BTreeSet;
use std::path::PathBuf;

/// The recorded responses, kept in the repository next to this test.
fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// Loads a fixture as the client would see it.
fn load(file: &str) -> Response {
    let path = fixture_dir().join(file);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read fixture {}: {e}", path.display()));
    if text.starts_with("# transport error") {
        let detail = text
            .lines()
            .filter_map(|l| l.strip_prefix("# "))
            .next_back()
            .expect("transport-error fixture names its error");
        Response::http_error(detail)
    } else {
        Response::parse(text)
    }
}

struct Case {
    file: &'static str,
    code: u16,
    description: &'static str,
    /// Data rows (longest data column).
    rows: usize,
    /// `(property, index, value)` checks.
    values: &'static [(&'static str, usize, &'static str)],
}

const CNR: &str = "cnr_rtldev-middleware-php-sdk_cassette_";
const OK: &str = "Command completed successfully";

fn cases() -> Vec<Case> {
    let c = |file: &'static str,
             code: u16,
             description: &'static str,
             rows: usize,
             values: &'static [(&'static str, usize, &'static str)]| Case {
        file,
        code,
        description,
        rows,
        values,
    };
    let cnr = |name: &str| -> &'static str { Box::leak(format!("{CNR}{name}").into_boxed_str()) };
    vec![
        c("cnr_ByteInternet-rrpproxy_tests_test_rrpproxy_response_to_dict_CheckDomain_210.txt", 210, "Domain name available", 0, &[]),
        c("cnr_rtldev-middleware-go-sdk_apiclient_test_listLimitZero_QueryDomainList.txt", 200, OK, 0, &[("total", 0, "1725494"), ("limit", 0, "0")]),
        c(cnr("all-pages_0__QueryDomainList.txt"), 200, OK, 100, &[("domain", 0, "0005251.com"), ("domain", 3, "1.im"), ("domain", 99, "abcccc.de"), ("count", 0, "100"), ("total", 0, "1858"), ("limit", 0, "100"), ("last", 0, "99")]),
        c(cnr("all-pages_18__QueryDomainList.txt"), 200, OK, 58, &[("domain", 0, "xn--hall-8qaaa.com"), ("domain", 21, "xn--mgbbop3h.xn--mgbaam7a8h"), ("domain", 57, "zugondeez.fr"), ("first", 0, "1800"), ("last", 0, "1857"), ("count", 0, "58")]),
        c(cnr("code-tmperror-dbg__StatusAccount.txt"), 200, OK, 1, &[("amount", 0, "100219.89"), ("credit threshold", 0, "22000.00"), ("CREDITTHRESHOLD", 0, "22000.00"), ("currency", 0, "GBP"), ("registrar", 0, "qmtest"), ("vat", 0, "19.00")]),
        c(cnr("code-tmperror-nodbg__StatusAccount.txt"), 200, OK, 1, &[("amount", 0, "100219.89"), ("credit", 0, "0.00"), ("currency", 0, "GBP")]),
        c(cnr("conn-error__StatusAccount(transport-error).txt"), 421, "Command failed due to HTTP communication error", 0, &[]),
        c(cnr("flatten-command__CheckDomains.txt"), 200, OK, 2, &[("domaincheck", 0, "211 Domain name not available"), ("domaincheck", 1, "211 Domain name not available"), ("domainchecktime", 1, "0")]),
        c(cnr("idn-convert-1a__StatusNameserver.txt"), 545, "Entity reference not found", 0, &[]),
        c(cnr("idn-convert-2__StatusDomain+LIMIT.txt"), 503, "Invalid attribute name; LIMIT", 0, &[]),
        c(cnr("idn-convert__CheckDomains.txt"), 200, OK, 3, &[("domaincheck", 1, "541 Invalid attribute value"), ("domaincheck", 2, "211 Domain name not available")]),
        c(cnr("login-creds-ok__login(persistent_1).txt"), 200, OK, 1, &[("sessionid", 0, "6cc52071518eb990c3a85cb4530417a4"), ("expiration date", 0, "2026-07-25 07:46:34")]),
        c(cnr("login-role-creds-ok__login-role(persistent_1).txt"), 200, OK, 1, &[("sessionid", 0, "934e29292bf57daa51e2f21d593cb948"), ("EXPIRATIONDATE", 0, "2026-07-25 07:46:36")]),
        c(cnr("logout-fail__StopSession.txt"), 530, "Authentication failed", 0, &[]),
        c(cnr("logout-ok_0__login+StopSession.txt"), 200, OK, 1, &[("sessionid", 0, "5acb7a151aa7d3740727bf5038097e9f")]),
        c(cnr("logout-ok_1__login+StopSession.txt"), 200, OK, 0, &[]),
        c(cnr("next-page-last__QueryDomainList+LAST.txt"), 503, "Invalid attribute name; LAST", 0, &[]),
        c(cnr("next-page-no-first_0__QueryDomainList.txt"), 200, OK, 2, &[("domain", 0, "0005251.com"), ("domain", 1, "02023.no"), ("total", 0, "1858"), ("limit", 0, "2")]),
        c(cnr("next-page-no-first_1__QueryDomainList.txt"), 200, OK, 2, &[("domain", 0, "05153.fm"), ("domain", 1, "1.im"), ("first", 0, "2"), ("last", 0, "3")]),
        c(cnr("next-page-no-last_0__QueryDomainList.txt"), 200, OK, 2, &[("domain", 0, "0005251.com"), ("first", 0, "0")]),
        c(cnr("next-page-no-last_1__QueryDomainList.txt"), 200, OK, 2, &[("domain", 1, "1.im"), ("first", 0, "2")]),
        c(cnr("resolve-connection-url__StatusAccount.txt"), 200, OK, 1, &[("amount", 0, "100219.89"), ("credit threshold", 0, "22000.00")]),
        c(cnr("set-context__CheckDomains.txt"), 200, OK, 1, &[("domaincheck", 0, "211 Domain name not available"), ("domainchecktime", 0, "0")]),
        c(cnr("sort-command-params__AddDomains(transport-error).txt"), 421, "Command failed due to HTTP communication error", 0, &[]),
        c("cnr_rtldev-middleware-python-sdk_tests_test_apiclient_login200_persistent.txt", 200, OK, 1, &[("sessionid", 0, "bb7a884b09b9a674fb4a22211758ce87"), ("expiration date", 0, "2024-09-19 10:52:51")]),
        c("cnr_rtldev-middleware-python-sdk_tests_test_response_listP0_QueryDomainList.txt", 200, OK, 2, &[("domain", 0, "cnic-ssl-test1.com"), ("domain", 1, "cnic-ssl-test2.com"), ("total", 0, "4")]),
        c("cnr_rtldev-middleware-python-sdk_tests_test_response_pendingRegistration_AddDomain.txt", 200, OK, 1, &[("status", 0, "REQUESTED"), ("updated date", 0, "2023-05-22 12:14:31.0"), ("zone", 0, "se")]),
        c("cnr_sirodoht-tofunames_main-centralnic.py_AddContact_503_comment.txt", 503, "Invalid attribute name; X-WRONGARGUMENT", 0, &[]),
        c("cnr_sirodoht-tofunames_main-centralnic.py_AddContact_success_comment.txt", 200, OK, 1, &[("contact", 0, "P-ACX100"), ("created date", 0, "2024-06-02 15:45:55"), ("roid", 0, "0_CONTACT-KEYSYS"), ("validated", 0, "1"), ("verified", 0, "1")]),
        c("cnr_sirodoht-tofunames_main-centralnic.py_QueryDomainList_comment.txt", 200, OK, 2, &[("domain", 0, "oddbroccoli.com"), ("domain", 1, "tofunames.com"), ("limit", 0, "1000"), ("total", 0, "2")]),
        c("cnr_sirodoht-tofunames_main-centralnic.py_StatusDomain_comment.txt", 200, OK, 4, &[("registration expiration date", 0, "2025-05-28 22:17:44.0"), ("paiduntil date", 0, "2025-05-28 22:17:44.0"), ("PAIDUNTILDATE", 0, "2025-05-28 22:17:44.0"), ("renewal date", 0, "2025-07-02 22:17:44.0"), ("renewalmode", 0, "DEFAULT"), ("domain idn", 0, "tofunames.com"), ("rgp status", 0, "addPeriod"), ("transfer lock", 0, "0"), ("nameserver", 3, "NS4.DNSIMPLE-EDGE.ORG"), ("owner contact", 0, "P-XXX000"), ("billing contact", 0, "P-XXX000"), ("x-domain-roid", 0, "999_DOMAIN_COM-VRSN")]),
        c("hx_hexonet-api-documentation_ADDCONTACT_example.txt", 200, OK, 1, &[("CONTACT", 0, "P-TCN1378880"), ("NEW", 0, "1"), ("STATUS", 0, "ACTIVE")]),
        c("hx_hexonet-api-documentation_CHECKAUTHENTICATION_example.txt", 200, OK, 0, &[]),
        c("hx_hexonet-api-documentation_CHECKDOMAINS_example.txt", 200, OK, 2, &[("CLASS", 0, "PREMIUM_DONUTS_Price Category A"), ("CLASS", 1, ""), ("DOMAINCHECK", 0, "211 Premium Domain name available [PREMIUM]"), ("DOMAINCHECK", 1, "210 Available"), ("PRICE", 0, "999.99"), ("CURRENCY", 0, "USD"), ("PREMIUMCHANNEL", 0, "DONUTS")]),
        c("hx_hexonet-api-documentation_CHECKDOMAINTRANSFER_example.txt", 219, "Request is not available; DOMAIN TRANSFER IS PROHIBITED BY STATUS", 10, &[("ADMINCONTACT0NAME", 0, "% IANA WHOIS server"), ("OWNERCONTACT0NAME", 0, ""), ("PERIOD", 9, "10Y"), ("STATUS", 1, "clientTransferProhibited https://icann.org/epp#clientTransferProhibited"), ("TRANSFERLOCK", 0, "1"), ("WHOISSERVER", 1, "whois.iana.org")]),
        c("hx_hexonet-api-documentation_CHECKDOMAIN_example.txt", 211, "Domain name not available", 0, &[]),
        c("hx_hexonet-api-documentation_CONVERTIDN_example.txt", 200, OK, 1, &[("ACE", 0, "xn--test-koa2iub.com"), ("IDN", 0, "äöütest.com")]),
        c("hx_hexonet-api-documentation_ENDSESSION_example.txt", 200, OK, 0, &[]),
        c("hx_hexonet-api-documentation_MODIFYDOMAIN_example.txt", 200, OK, 0, &[]),
        c("hx_hexonet-api-documentation_PAYDOMAINRENEWAL_example.txt", 200, "OK", 1, &[("EXPIRATIONDATE", 0, "2018-09-26 14:53:20")]),
        c("hx_hexonet-api-documentation_QUERYCONTACTLIST_example.txt", 200, OK, 2, &[("CONTACT", 0, "P-TCN1378880"), ("CONTACT", 1, "P-TCN1378881"), ("CONTACTFIRSTNAME", 1, "Test2"), ("CONTACTSTREET", 0, "Samplestreet 42"), ("CONTACTFAX", 0, ""), ("TOTAL", 0, "2")]),
        c("hx_hexonet-api-documentation_QUERYDOMAINLIST_VERSION2_example.txt", 200, OK, 1, &[("OBJECTID", 0, "0-60human.com"), ("PAIDUNTILDATE", 0, "2017-07-28 11:00:06"), ("RENEWALMODE", 0, "renew"), ("RENEWALPRICE", 0, "0.00"), ("CURRENCY", 0, "EUR"), ("SUBCLASS", 0, "COM"), ("NAMESERVER", 0, "ns3.ispapi.net ns2.ispapi.net ns1.ispapi.net"), ("AUTH", 0, "ZqIYcu/Y3N6F"), ("CLAIMKEY", 0, ""), ("X-ACCEPT-WHOISTRUSTEE-TAC", 0, "0")]),
        c("hx_hexonet-api-documentation_QUERYDOMAINLIST_example.txt", 200, OK, 2, &[("DOMAIN", 0, "hx-as-test1.cafe"), ("DOMAIN", 1, "hx-as-test1.store"), ("DOMAINAUTH", 0, "q6V:aYuouPGG"), ("DOMAINCONFIGCLASS", 1, ""), ("DOMAINCREATEDDATE", 1, "2016-10-24 11:07:07"), ("TOTAL", 0, "4")]),
        c("hx_hexonet-api-documentation_QUERYEXCHANGERATES_example.txt", 200, OK, 2, &[("CURRENCYFROM", 0, "EUR"), ("CURRENCYTO", 1, "USD"), ("DATE", 0, "2016-11-14"), ("RATE", 0, "1.0777"), ("RATE", 1, "1.0765")]),
        c("hx_hexonet-api-documentation_QUERYOBJECTRENEWALLIST_example.txt", 200, OK, 2, &[("OBJECTID", 0, "sdfsfsdfsfdsd.de"), ("OBJECTID", 1, "pppoaoda.de"), ("NEXTACTION", 1, "expire"), ("RENEWALPERIOD", 0, ""), ("TOTAL", 0, "1760"), ("FIRST", 0, "2")]),
        c("hx_hexonet-api-documentation_QUERYUSERCLASSLIST_example.txt", 200, OK, 2, &[("USERCLASS", 0, "MYNEWPRICECLASS1"), ("USERCLASS", 1, "TEST123")]),
        c("hx_hexonet-api-documentation_RENEWDOMAIN_example.txt", 200, OK, 1, &[("DOMAIN", 0, "hexonet-domain.com"), ("REGISTRATIONEXPIRATIONDATE", 0, "2018-09-26 14:53:20")]),
        c("hx_hexonet-api-documentation_SETDOMAINRENEWALMODE_example.txt", 200, OK, 1, &[("UNRENEW", 0, "0")]),
        c("hx_hexonet-api-documentation_STARTSESSION_example.txt", 200, OK, 1, &[("SESSION", 0, "QkJUz3wjjLW2AQkJUz3wjjLW2AL55h0r1rMJR9ML55h0r1rMJR9MXvnJMs3Il0sV")]),
        c("hx_hexonet-api-documentation_STATUSACCOUNT_example.txt", 200, OK, 1, &[("AMOUNT", 0, "217458.12"), ("CREDIT", 0, "1000000.00"), ("DEPOSIT", 0, "1658.90"), ("CURRENCY", 0, "EUR")]),
        c("hx_hexonet-api-documentation_STATUSCONTACT_example.txt", 200, OK, 1, &[("FIRSTNAME", 0, "Test"), ("LASTNAME", 0, "Contact"), ("NAME", 0, "Test Contact"), ("EMAIL", 0, "test@example.com"), ("PHONE", 0, "+49.1234567890"), ("TRANSFERDATE", 0, "0000-00-00 00:00:00"), ("ORGANIZATION", 0, "")]),
        c("hx_hexonet-api-documentation_STATUSDOMAINTRANSFER_example.txt", 200, OK, 1, &[("TRANSFERSTATUS", 0, "INITIATED"), ("TRANSFERTYPE", 0, "INCOMING"), ("TRANSFERLOG", 0, "2017-03-27 12:22:04 [INITIATED] domain transfer initiated")]),
        c("hx_hexonet-api-documentation_STATUSDOMAIN_example.txt", 200, OK, 4, &[("PAIDUNTILDATE", 0, "2018-09-26 14:53:20"), ("REGISTRATIONEXPIRATIONDATE", 0, "2017-09-26 14:53:20"), ("RENEWALMODE", 0, "AUTORENEW"), ("NAMESERVER", 1, "ns2.hexonet.net"), ("INTERNALNAMESERVER", 3, "ns2.hexonet.net 194.0.182.1"), ("OWNERCONTACT", 0, "P-TUE1378025"), ("AUTH", 0, "*OkHRSf/3-xs"), ("ROID", 0, "101827933_DOMAIN_COM-VRSN"), ("X-WHOIS-URL", 0, "http://cp-ote.hexonet.net"), ("REGISTRARTRANSFERDATE", 0, "0000-00-00 00:00:00")]),
        c("hx_hexonet-api-documentation_STATUSUSERCLASS_example.txt", 200, OK, 11, &[("RELATIONTYPE", 0, "DNSZONE_EXTERNAL_RRS_INCLUDED"), ("RELATIONTYPE", 10, "PRICE_CLASS_DNSZONE_HTTP_ANNUAL"), ("RELATIONVALUE", 4, "2011-09-30 23:59:59"), ("RELATIONVALUE", 7, "EUR")]),
        c("hx_hexonet-api-documentation_STATUSUSER_example.txt", 200, OK, 1, &[("ACCOUNTCURRENCY", 0, "EUR"), ("ACCOUNTTAXRATES", 0, "MwSt:19.00"), ("USER", 0, "test.user")]),
        c("hx_hexonet-api-documentation_TRANSFERDOMAIN_example.txt", 200, "Command completed successfully; domain transfer initiated", 0, &[]),
        c("hx_hexonet-php-sdk_tests_ResponseTranslatorTest_219_transfer_prohibited.txt", 219, "Request is not available; DOMAIN TRANSFER IS PROHIBITED BY STATUS (clientTransferProhibited)", 0, &[]),
        c("hx_hexonet-php-sdk_tests_ResponseTranslatorTest_530_acl.txt", 530, "Authorization failed; Operation forbidden by ACL", 0, &[]),
        c("hx_hexonet-python-sdk_tests_test_apiclient_listP0_QueryDomainList.txt", 200, OK, 2, &[("DOMAIN", 0, "0-60motorcycletimes.com"), ("DOMAIN", 1, "0-be-s01-0.com"), ("TOTAL", 0, "2701")]),
        c("hx_hexonet-python-sdk_tests_test_apiclient_listP1_QueryDomainList.txt", 200, OK, 2, &[("DOMAIN", 0, "0-qas-ao17-0.org"), ("FIRST", 0, "2"), ("LAST", 0, "3")]),
        c("hx_hexonet-python-sdk_tests_test_apiclient_login200_StartSession.txt", 200, OK, 1, &[("SESSION", 0, "h8JLZZHdF2WgWWXlwbKWzEG3XrzoW4yshhvtqyg0LCYiX55QnhgYX9cB0W4mlpbx")]),
        c("hx_wiki.hexonet.net_Premium_Domains_Main_Page_CheckDomains_premium.txt", 200, OK, 1, &[("PREMIUMCHANNEL", 0, "RIGHTSIDE"), ("PRICE", 0, "xx.xx"), ("CLASS", 0, "PREMIUM_RIGHTSIDE_P"), ("DOMAINCHECK", 0, "211 Premium Domain name available [PREMIUM]")]),
    ]
}

#[test]
fn every_fixture_parses_to_what_it_says() {
    for case in cases() {
        let r = load(case.file);
        assert_eq!(r.code(), case.code, "{}: code", case.file);
        assert_eq!(
            r.description(),
            case.description,
            "{}: description",
            case.file
        );
        assert_eq!(r.row_count(), case.rows, "{}: rows", case.file);
        for (name, index, expected) in case.values {
            let column = r
                .column(name)
                .unwrap_or_else(|| panic!("{}: no column {name}", case.file));
            assert_eq!(
                column.get(*index),
                Some(*expected),
                "{}: {name}[{index}]",
                case.file
            );
        }
    }
}

#[test]
fn every_response_fixture_has_a_case() {
    let listed: BTreeSet<String> = cases().iter().map(|c| c.file.to_string()).collect();
    let present: BTreeSet<String> = std::fs::read_dir(fixture_dir())
        .expect("fixture dir readable")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".txt"))
        .filter(|n| !n.ends_with(".command.txt") && n != "sdk-builtin-response-templates.txt")
        .collect();
    let missing: Vec<_> = present.difference(&listed).collect();
    assert!(
        missing.is_empty(),
        "fixtures without expectations: {missing:?}"
    );
    let stale: Vec<_> = listed.difference(&present).collect();
    assert!(
        stale.is_empty(),
        "expectations for missing fixtures: {stale:?}"
    );
}

#[test]
fn command_fixtures_decode_to_their_command() {
    let mut checked = 0;
    for entry in std::fs::read_dir(fixture_dir()).expect("fixture dir readable") {
        let name = entry
            .expect("dir entry")
            .file_name()
            .to_string_lossy()
            .into_owned();
        let Some(stem) = name.strip_suffix("_example.command.txt") else {
            continue;
        };
        let expected = stem.rsplit('_').next().expect("command name in file name");
        let text = std::fs::read_to_string(fixture_dir().join(&name)).expect("readable");
        // The docs print `KEY = VALUE`; on the wire it is `KEY=VALUE`.
        let wire: String = text
            .lines()
            .filter(|l| l.contains('='))
            .map(|l| {
                l.split_once('=')
                    .map(|(k, v)| format!("{}={}\n", k.trim(), v.trim()))
                    .unwrap()
            })
            .collect();
        let cmd = Command::decode(&wire);
        let expected = if expected == "VERSION2" {
            "QUERYDOMAINLIST"
        } else {
            expected
        };
        assert!(
            cmd.name().eq_ignore_ascii_case(expected),
            "{name}: {}",
            cmd.name()
        );
        checked += 1;
    }
    assert!(checked >= 20, "only {checked} command fixtures found");
    let cmd = Command::decode(
        "COMMAND=CheckDomains\nDOMAIN0=premium.guru\nDOMAIN1=nonpremium.guru\nPREMIUMCHANNELS=*",
    );
    assert_eq!(
        cmd.get_list("domain"),
        vec!["premium.guru", "nonpremium.guru"]
    );
}

#[test]
fn transport_errors_become_the_httperror_template() {
    for file in [
        "cnr_rtldev-middleware-php-sdk_cassette_conn-error__StatusAccount(transport-error).txt",
        "cnr_rtldev-middleware-php-sdk_cassette_sort-command-params__AddDomains(transport-error).txt",
    ] {
        let r = load(file);
        assert_eq!(r.code(), 421);
        assert!(r.is_temporary_error());
        assert!(matches!(r.template(), Some(Template::HttpError(_))));
    }
    let r = load(
        "cnr_rtldev-middleware-php-sdk_cassette_conn-error__StatusAccount(transport-error).txt",
    );
    assert_eq!(
        r.template(),
        Some(&Template::HttpError(
            "Could not resolve host: gregeragregaegaegag.com".into()
        ))
    );
}

#[test]
fn parsing_the_transport_error_file_text_itself_is_the_invalid_template() {
    let path = fixture_dir().join(
        "cnr_rtldev-middleware-php-sdk_cassette_conn-error__StatusAccount(transport-error).txt",
    );
    let r = Response::parse(std::fs::read_to_string(path).unwrap());
    assert_eq!(r.code(), 423);
    assert_eq!(r.description(), "Invalid API response. Contact Support");
}

#[test]
fn code_classes_of_fixtures() {
    assert_eq!(
        load(&format!("{CNR}next-page-last__QueryDomainList+LAST.txt")).class(),
        CodeClass::Permanent
    );
    assert!(load(&format!("{CNR}next-page-last__QueryDomainList+LAST.txt")).is_permanent_error());
    assert_eq!(
        load(&format!("{CNR}logout-fail__StopSession.txt")).class(),
        CodeClass::Permanent
    );
    assert_eq!(
        load(&format!("{CNR}all-pages_0__QueryDomainList.txt")).class(),
        CodeClass::Success
    );
    assert_eq!(
        load("hx_hexonet-api-documentation_CHECKDOMAINTRANSFER_example.txt").class(),
        CodeClass::Success
    );
}

#[test]
fn missing_timings_default_to_zero_and_present_ones_are_read() {
    let r = load(&format!("{CNR}next-page-last__QueryDomainList+LAST.txt"));
    assert_eq!((r.queuetime(), r.runtime()), (0.0, 0.0));
    let r = load(&format!("{CNR}login-creds-ok__login(persistent_1).txt"));
    assert_eq!((r.queuetime(), r.runtime()), (0.003, 0.027));
}

#[test]
fn paging_of_the_real_19_page_walk() {
    let first = load(&format!("{CNR}all-pages_0__QueryDomainList.txt"));
    assert_eq!(first.total(), Some(1858));
    assert_eq!(first.limit(), Some(100));
    assert_eq!(first.count(), Some(100));
    assert_eq!(first.current_page(), Some(1));
    assert_eq!(first.page_count(), 19);
    assert_eq!(first.next_first(), Some(100));
    assert_eq!(first.declared_columns(), vec!["domain"]);

    let last = load(&format!("{CNR}all-pages_18__QueryDomainList.txt"));
    assert_eq!(last.current_page(), Some(19));
    assert!(!last.has_next_page());

    let zero =
        load("cnr_rtldev-middleware-go-sdk_apiclient_test_listLimitZero_QueryDomainList.txt");
    assert!(!zero.has_next_page(), "LIMIT 0 must end a walk");

    let page = load(&format!("{CNR}next-page-no-first_0__QueryDomainList.txt"));
    let cmd = Command::new("QueryDomainList").with("LIMIT", 2u32);
    let next = page.next_page_command(&cmd).expect("second page");
    assert_eq!(next.encode(), "COMMAND=QueryDomainList\nLIMIT=2\nFIRST=2");
    let cmd_with_last = Command::new("QueryDomainList")
        .with("FIRST", 0u32)
        .with("LAST", 1u32);
    assert!(!page
        .next_page_command(&cmd_with_last)
        .unwrap()
        .contains("LAST"));
}

#[test]
fn record_view_of_a_hexonet_list() {
    let r = load("hx_hexonet-api-documentation_CHECKDOMAINS_example.txt");
    let rows: Vec<_> = r.records().collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(
        rows[0].get("class"),
        Some("PREMIUM_DONUTS_Price Category A")
    );
    assert_eq!(rows[1].get("domaincheck"), Some("210 Available"));
}

#[test]
fn every_recorded_answer_cut_before_its_eof_is_truncated_not_an_answer() {
    for case in cases() {
        let text = std::fs::read_to_string(fixture_dir().join(case.file)).unwrap();
        if text.starts_with("# transport error") {
            continue;
        }
        let eof = text.rfind("EOF").expect("recorded answers end with EOF");
        for cut in [eof, text.len() / 2] {
            let r = Response::parse(text[..cut].to_string());
            assert_eq!(
                r.template(),
                Some(&Template::Truncated),
                "{} cut at {cut}",
                case.file
            );
            assert_eq!(r.code(), 421, "{}", case.file);
            assert_eq!(
                r.row_count(),
                0,
                "{}: no row of a cut answer is used",
                case.file
            );
        }
    }
}
