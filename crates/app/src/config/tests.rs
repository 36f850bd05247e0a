//! Parsing, precedence of the value sources, and errors that name the key and the fix.

use super::{Environment, RawConfig};
use domwatch_core::lifecycle::{AutoDeleteMode, ContactRole, RoleSource};
use domwatch_core::model::RenewalMode;
use domwatch_core::ports::CancellationMethod;
use domwatch_core::Currency;
use rust_decimal_macros::dec;
use std::collections::BTreeMap;

fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

const FULL: &str = r#"
database_url = "postgres://domwatch@db/domwatch"

[whmcs]
url = "https://billing.example.com"
identifier = "abc"
secret = "inline-secret"
bot_client_id = 99
ticket_department_id = 2

[registrars.cnr-live]
dialect = "cnr"
login = "reseller1"
password = "pw"
modules = ["cnic", "Keysystems"]

[registrars.hexonet]
dialect = "ispapi"
environment = "ote"
login = "test.user"
password = "pw2"

[pricing]
markup_percent = 30
min_margin_percent = 5
rates = { "EUR/USD" = 1.08 }

[detection]
missing_strikes = 2
expected_renewal_mode = "AUTOEXPIRE"

[notices]
channels = ["todo", "email"]
"#;

#[test]
fn parses_a_full_file() {
    let c = RawConfig::from_toml(FULL)
        .unwrap()
        .resolve(&env(&[]))
        .unwrap();
    assert_eq!(c.database_url, "postgres://domwatch@db/domwatch");
    assert_eq!(c.whmcs.as_ref().unwrap().secret.expose(), "inline-secret");
    assert_eq!(c.registrars.len(), 2);
    assert_eq!(c.registrars[0].name, "cnr-live");
    assert_eq!(
        c.registrars[0].modules,
        vec!["cnic", "keysystems"],
        "module names are lower-cased"
    );
    assert_eq!(c.registrars[1].environment, Environment::Ote);
    assert_eq!(c.detection.margin.markup_percent, dec!(30));
    assert_eq!(c.detection.missing_strikes_threshold, 2);
    assert_eq!(
        c.detection.expected_renewal_mode,
        Some(RenewalMode::AutoExpire)
    );
    assert_eq!(c.rates, vec![(Currency::EUR, Currency::USD, dec!(1.08))]);
    assert!(!c.is_embedded_default());
}

#[test]
fn empty_config_is_the_embedded_default() {
    let c = RawConfig::default().resolve(&env(&[])).unwrap();
    assert!(c.is_embedded_default());
    assert_eq!(c.database_url, "sqlite://domwatch.db");
    assert_eq!(c.notice_channels, vec!["todo", "ticket", "email"]);
}

#[test]
fn env_overrides_and_secret_files_win() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("secret");
    std::fs::write(&file, "from-file\n").unwrap();
    let e = env(&[
        ("DOMWATCH_WHMCS_SECRET_FILE", file.to_str().unwrap()),
        ("DOMWATCH_REGISTRAR_CNR_LIVE_PASSWORD", "from-env"),
        ("DOMWATCH_DATABASE_URL", "sqlite://other.db"),
    ]);
    let c = RawConfig::from_toml(FULL).unwrap().resolve(&e).unwrap();
    assert_eq!(c.whmcs.as_ref().unwrap().secret.expose(), "from-file");
    assert_eq!(c.registrars[0].password.expose(), "from-env");
    assert_eq!(c.database_url, "sqlite://other.db");
}

#[test]
fn systemd_credentials_stand_in_for_secret_files() {
    let dir = tempfile::tempdir().unwrap();
    let credentials = dir.path().to_str().unwrap();
    std::fs::write(
        dir.path().join("domwatch_whmcs_secret"),
        "from-credential\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("domwatch_registrar_cnr_live_password"),
        "pw-cred",
    )
    .unwrap();
    let text = "[whmcs]\nurl = \"https://b.example\"\nidentifier = \"a\"\n\
                [registrars.cnr-live]\ndialect = \"cnr\"\nlogin = \"r\"\n";
    let c = RawConfig::from_toml(text)
        .unwrap()
        .resolve(&env(&[("CREDENTIALS_DIRECTORY", credentials)]))
        .unwrap();
    assert_eq!(c.whmcs.as_ref().unwrap().secret.expose(), "from-credential");
    assert_eq!(c.registrars[0].password.expose(), "pw-cred");
    // The environment still wins over a credential.
    let e = env(&[
        ("CREDENTIALS_DIRECTORY", credentials),
        ("DOMWATCH_WHMCS_SECRET", "from-env"),
    ]);
    let c = RawConfig::from_toml(text).unwrap().resolve(&e).unwrap();
    assert_eq!(c.whmcs.as_ref().unwrap().secret.expose(), "from-env");
}

#[test]
fn secrets_never_show_in_debug_output() {
    let c = RawConfig::from_toml(FULL)
        .unwrap()
        .resolve(&env(&[]))
        .unwrap();
    let dump = format!("{c:?}");
    assert!(
        !dump.contains("inline-secret") && !dump.contains("\"pw\""),
        "{dump}"
    );
}

fn err(toml: &str) -> String {
    match RawConfig::from_toml(toml).and_then(|r| r.resolve(&env(&[]))) {
        Ok(_) => panic!("expected an error for {toml}"),
        Err(e) => format!("{e:#}"),
    }
}

#[test]
fn bad_config_names_the_key_and_the_fix() {
    assert!(err("[whmcs]\nurl = \"https://x\"\nidentifier=\"a\"").contains("whmcs.secret"));
    assert!(err("[whmcs]\nurl = \"ftp://x\"\nidentifier=\"a\"\nsecret=\"s\"").contains("http"));
    assert!(
        err("[registrars.a]\ndialect = \"cnr\"\nlogin = \"l\"").contains("registrars.a.password")
    );
    assert!(err("[registrars.a]\ndialect = \"foo\"").contains("dialect"));
    assert!(err("typo_key = 1").contains("typo_key"));
    assert!(err("[registrars.a]\ndialect=\"cnr\"\nlogin=\"l\"\npassword=\"p\"\n[registrars.b]\ndialect=\"cnr\"\nlogin=\"l\"\npassword=\"p\"").contains("mapped to both"));
    assert!(err("[pricing]\nrates = { \"EURUSD\" = 1.1 }").contains("EUR/USD"));
    assert!(err("[detection]\nmissing_strikes = 0").contains("at least 1"));
    assert!(err("database_url = \"mysql://x\"").contains("sqlite://"));
    assert!(err("[notices]\nchannels = [\"pager\"]").contains("todo, ticket or email"));
}

#[test]
fn auto_delete_and_contacts_per_account() {
    let toml = r#"
[registrars.cnr]
dialect = "cnr"
login = "l"
password = "p"
auto_delete = "enabled"

[registrars.dbs]
dialect = "smartnic"
login = "l"
password = "p"
[registrars.dbs.auto_delete]
mode = "ticket"
de_transit = true
notice_days = 6
notice_days_per_zone = { ".AT" = 40 }
safety_margin_days = 3
[registrars.dbs.contacts]
owner = "client"
admin = "reseller"
zone = "hoster"
reseller_handle = "DBS-RSL"

[notices]
registrar_mail = "domains@reseller.example"
"#;
    let c = RawConfig::from_toml(toml)
        .unwrap()
        .resolve(&env(&[]))
        .unwrap();
    let cnr = &c.detection.accounts["cnr"];
    assert_eq!(cnr.auto_delete.mode, AutoDeleteMode::Enabled);
    assert_eq!(
        cnr.auto_delete.cancel_with,
        CancellationMethod::RenewalMode {
            mode: RenewalMode::AutoDelete
        }
    );
    assert!(!cnr.contacts.is_enforced());
    let dbs = &c.detection.accounts["dbs"];
    assert_eq!(dbs.auto_delete.mode, AutoDeleteMode::Ticket);
    assert!(dbs.auto_delete.de_transit);
    assert_eq!(dbs.auto_delete.notice.default_days, 6);
    assert_eq!(dbs.auto_delete.notice.per_zone["at"], 40);
    assert_eq!(dbs.auto_delete.notice.per_zone["de"], 35, "defaults stay");
    assert_eq!(dbs.auto_delete.notice.safety_margin_days, 3);
    assert_eq!(
        dbs.contacts.roles[&ContactRole::Billing],
        RoleSource::Reseller
    );
    assert_eq!(dbs.contacts.roles[&ContactRole::Owner], RoleSource::Client);
    assert_eq!(dbs.contacts.reseller_handle.as_deref(), Some("DBS-RSL"));
    assert_eq!(
        c.registrar_mail.as_deref(),
        Some("domains@reseller.example")
    );
}

#[test]
fn transfer_lock_check_is_on_by_default_and_off_per_account() {
    let toml = r#"
[registrars.cnr-live]
dialect = "cnr"
login = "a"
password = "pw"

[registrars.hexonet]
dialect = "ispapi"
login = "b"
password = "pw"
transfer_lock = false
"#;
    let c = RawConfig::from_toml(toml)
        .unwrap()
        .resolve(&env(&[]))
        .unwrap();
    let unchecked: Vec<&str> = c
        .detection
        .transfer_lock_unchecked_accounts
        .iter()
        .map(String::as_str)
        .collect();
    assert_eq!(unchecked, ["hexonet"]);
    let cnr = c.registrars.iter().find(|a| a.name == "cnr-live").unwrap();
    assert!(
        cnr.check_transfer_lock && cnr.list_contacts,
        "CNR lists the lock with TYPE=ALL"
    );
    assert!(err("[registrars.x]\ndialect = \"cnr\"\nlogin = \"a\"\npassword = \"p\"\ntransfer_lock = \"yes\"\n")
        .contains("transfer_lock"));
}

#[test]
fn smtp_settings_are_checked_and_the_password_hidden() {
    let c = RawConfig::from_toml(
        "[notices]\nsmtp_url = \"smtp://dw:s3cr3t@mail.example:587?tls=required\"\nmail_from = \"domwatch@reseller.example\"\nmail_to = [\"admin@reseller.example\"]",
    )
    .unwrap()
    .resolve(&env(&[]))
    .unwrap();
    let mail = c.mail.as_ref().unwrap();
    assert_eq!(mail.to.len(), 1);
    assert!(!format!("{c:?}").contains("s3cr3t"));
    assert!(err("[notices]\nsmtp_url = \"smtp://mail.example\"").contains("notices.mail_from"));
    assert!(
        err("[notices]\nsmtp_url = \"smtp://mail.example\"\nmail_from = \"a@b.example\"")
            .contains("notices.mail_to")
    );
    assert!(err("[notices]\nmail_to = [\"a@b.example\"]").contains("notices.smtp_url"));
    assert!(err("[notices]\nsmtp_url = \"http://mail.example\"\nmail_from = \"a@b.example\"\nmail_to = [\"c@d.example\"]")
        .contains("notices.smtp_url"));
}

#[test]
fn secure_cookies_from_file_or_env() {
    let from_file = RawConfig::from_toml("[serve]\nsecure_cookies = true")
        .unwrap()
        .resolve(&env(&[]))
        .unwrap();
    assert!(from_file.secure_cookies);
    let env_wins = RawConfig::from_toml("[serve]\nsecure_cookies = true")
        .unwrap()
        .resolve(&env(&[("DOMWATCH_SECURE_COOKIES", "0")]))
        .unwrap();
    assert!(!env_wins.secure_cookies);
    assert!(
        !RawConfig::default()
            .resolve(&env(&[]))
            .unwrap()
            .secure_cookies
    );
    let bad = RawConfig::default()
        .resolve(&env(&[("DOMWATCH_SECURE_COOKIES", "maybe")]))
        .unwrap_err();
    assert!(bad.to_string().contains("true or false"), "{bad}");
}

#[test]
fn dashboard_settings_have_safe_defaults_and_checked_values() {
    let d = RawConfig::default().resolve(&env(&[])).unwrap().dashboard;
    assert_eq!(
        (
            d.login_max_failures,
            d.login_window_minutes,
            d.session_idle_minutes,
            d.session_absolute_hours
        ),
        (5, 5, 30, 12)
    );
    assert!(
        d.allowed_hosts.is_empty() && d.trusted_proxies.is_empty() && d.metrics_token.is_none()
    );
    assert_eq!(
        (d.header_read_timeout_seconds, d.body_read_timeout_seconds),
        (10, 30)
    );

    let c = RawConfig::from_toml(
        "[serve]\nallowed_hosts = [\"dash.example\", \"dash.example:8443\"]\ntrusted_proxies = [\"127.0.0.1\"]\nlogin_max_failures = 3\nlogin_window_minutes = 15\nsession_idle_minutes = 10\nsession_absolute_hours = 2\nmetrics_token = \"0123456789abcdef0123\"",
    )
    .unwrap()
    .resolve(&env(&[("DOMWATCH_METRICS_TOKEN", "from-env-0123456789")]))
    .unwrap();
    let d = c.dashboard.clone();
    assert_eq!(d.allowed_hosts.len(), 2);
    assert_eq!(
        d.trusted_proxies,
        vec!["127.0.0.1".parse::<std::net::IpAddr>().unwrap()]
    );
    assert_eq!((d.login_max_failures, d.login_window_minutes), (3, 15));
    assert_eq!((d.session_idle_minutes, d.session_absolute_hours), (10, 2));
    assert_eq!(
        d.metrics_token.unwrap().expose(),
        "from-env-0123456789",
        "env wins"
    );
    assert!(!format!("{c:?}").contains("0123456789abcdef0123"));

    assert!(
        err("[serve]\nallowed_hosts = [\"http://dash.example\"]").contains("serve.allowed_hosts")
    );
    assert!(err("[serve]\ntrusted_proxies = [\"proxy.local\"]").contains("not an IP address"));
    assert!(err("[serve]\nlogin_max_failures = 0").contains("serve.login_max_failures"));
    assert!(err("[serve]\nsession_idle_minutes = 0").contains("1 to"));
    assert!(
        err("[serve]\nsession_idle_minutes = 120\nsession_absolute_hours = 1")
            .contains("idle limit")
    );
    assert!(err("[serve]\nmetrics_token = \"short\"").contains("openssl rand"));
    assert!(err("[serve]\nheader_read_timeout_seconds = 0")
        .contains("serve.header_read_timeout_seconds"));
}

#[test]
fn interval_and_lease_have_defaults_and_checked_values() {
    use std::time::Duration;
    let c = RawConfig::default().resolve(&env(&[])).unwrap();
    assert_eq!(
        (c.interval, c.lease),
        (Duration::from_secs(3600), Duration::from_secs(30))
    );
    let c = RawConfig::from_toml("[serve]\ninterval_minutes = 15\nlease_seconds = 10")
        .unwrap()
        .resolve(&env(&[]))
        .unwrap();
    assert_eq!(
        (c.interval, c.lease),
        (Duration::from_secs(900), Duration::from_secs(10))
    );
    let c = RawConfig::from_toml("[serve]\ninterval_seconds = 5")
        .unwrap()
        .resolve(&env(&[]))
        .unwrap();
    assert_eq!(c.interval, Duration::from_secs(5));
    assert!(err("[serve]\ninterval_minutes = 5\ninterval_seconds = 5").contains("keep one"));
    assert!(err("[serve]\ninterval_minutes = 0").contains("serve.interval_minutes"));
    assert!(err("[serve]\nlease_seconds = 1").contains("serve.lease_seconds"));
}

#[test]
fn bad_lifecycle_settings_name_the_key() {
    let account = "[registrars.a]\ndialect=\"cnr\"\nlogin=\"l\"\npassword=\"p\"\n";
    assert!(err(&format!("{account}for_reseller = \"sub\"")).contains("Smart-NIC settings"));
    assert!(err("[registrars.d]\ndialect=\"smartnic\"\nlogin=\"l\"\npassword=\"p\"\nstart_date_format=\"dmy\"")
        .contains("unix_timestamp or iso_date"));
    assert!(err(&format!("{account}auto_delete = \"sometimes\""))
        .contains("registrars.a.auto_delete.mode"));
    assert!(err(&format!(
        "{account}[registrars.a.auto_delete]\ncancel_with = \"transit\""
    ))
    .contains("AUTODELETE or AUTOEXPIRE"));
    assert!(err(&format!(
        "{account}[registrars.a.auto_delete]\nde_transit = true"
    ))
    .contains("registrars.a.auto_delete.de_transit"));
    assert!(err(&format!(
        "{account}[registrars.a.auto_delete]\nrestore_mode = \"AUTODELETE\""
    ))
    .contains("keep the domain cancelled"));
    assert!(err(&format!(
        "{account}[registrars.a.auto_delete]\nnotice_days = 900"
    ))
    .contains("out of range"));
    assert!(err(&format!(
        "{account}[registrars.a.contacts]\nadmin = \"reseller\""
    ))
    .contains("registrars.a.contacts.reseller_handle"));
    assert!(err(&format!(
        "{account}[registrars.a.contacts]\nadmin = \"boss\""
    ))
    .contains("registrars.a.contacts.admin"));
    assert!(err("[notices]\nregistrar_mail = \"nobody\"").contains("notices.registrar_mail"));
}

#[test]
fn missing_secret_file_is_reported_with_its_path() {
    let e =
        err("[whmcs]\nurl=\"https://x\"\nidentifier=\"a\"\nsecret_file=\"/nonexistent/secret\"");
    assert!(
        e.contains("/nonexistent/secret") && e.contains("whmcs.secret_file"),
        "{e}"
    );
}

#[test]
fn events_secret_from_file_key_or_environment_and_long_enough() {
    let none = RawConfig::from_toml("")
        .unwrap()
        .resolve(&env(&[]))
        .unwrap();
    assert!(none.events_secret.is_none(), "events are off by default");
    let inline = "0123456789abcdef0123456789abcdef";
    let c = RawConfig::from_toml(&format!("[events]\nsecret = \"{inline}\""))
        .unwrap()
        .resolve(&env(&[]))
        .unwrap();
    assert_eq!(c.events_secret.as_ref().unwrap().expose(), inline);
    assert!(
        !format!("{c:?}").contains(inline),
        "the secret is never printed"
    );
    let from_env = "fedcba9876543210fedcba9876543210";
    let c = RawConfig::from_toml(&format!("[events]\nsecret = \"{inline}\""))
        .unwrap()
        .resolve(&env(&[("DOMWATCH_EVENTS_SECRET", from_env)]))
        .unwrap();
    assert_eq!(c.events_secret.unwrap().expose(), from_env, "env wins");
    let short = err("[events]\nsecret = \"short\"");
    assert!(
        short.contains("events.secret") && short.contains("openssl rand -hex 32"),
        "{short}"
    );
    assert!(
        err("[events]\nsecrets = \"x\"").contains("secrets"),
        "unknown keys are named"
    );
}

#[test]
fn webhooks_are_validated_with_their_index_and_secrets_come_from_env() {
    let toml = r#"
[[webhooks]]
url = "https://hooks.example.com/domwatch"
events = ["case.opened", "fix.applied"]

[[webhooks]]
url = "https://hooks.slack.com/services/T0/B0/SLACKTOKEN"
format = "text"
"#;
    let config = RawConfig::from_toml(toml)
        .unwrap()
        .resolve(&env(&[(
            "DOMWATCH_WEBHOOKS_0_SECRET",
            "0123456789abcdef-secret",
        )]))
        .unwrap();
    assert_eq!(config.webhooks.len(), 2);
    assert_eq!(config.webhooks[0].events().len(), 2);
    assert_eq!(config.webhooks[1].host(), "hooks.slack.com");
    assert!(!format!("{config:?}").contains("SLACKTOKEN"));
    assert!(!format!("{config:?}").contains("0123456789abcdef-secret"));

    let e = err("[[webhooks]]\nurl = \"https://x.example/\"");
    assert!(
        e.contains("`webhooks[0]`") && e.contains("needs a secret"),
        "{e}"
    );
    let e = err("[[webhooks]]\nurl = \"http://x.example/\"\nsecret = \"0123456789abcdef\"");
    assert!(e.contains("https://"), "{e}");
    let e = err("[[webhooks]]\nurl = \"https://x.example/\"\nsecret = \"0123456789abcdef\"\nevents = [\"case.closed\"]");
    assert!(e.contains("`case.closed` is not an event"), "{e}");
    let e = err("[[webhooks]]\nsecret = \"0123456789abcdef\"");
    assert!(e.contains("`webhooks[0].url` is missing"), "{e}");
    let e = err("[[webhooks]]\nurl = \"https://x.example/\"\nformat = \"text\"\n[[webhooks]]\nurl = \"https://x.example/\"\nformat = \"text\"");
    assert!(e.contains("`webhooks[1].url` repeats"), "{e}");
}

#[test]
fn whmcs_reads_from_the_database_when_it_has_one() {
    let base = "[whmcs]\nurl = \"https://x\"\nidentifier = \"a\"\nsecret = \"s\"\n";
    let read_from = |extra: &str| {
        RawConfig::from_toml(&format!("{base}{extra}"))
            .and_then(|r| r.resolve(&env(&[])))
            .map(|c| c.whmcs.unwrap().read_from)
    };
    use super::ReadFrom;
    assert_eq!(read_from("").unwrap(), ReadFrom::Api);
    let db = "database_url = \"mysql://u:p@h/whmcs\"\n";
    assert_eq!(read_from(db).unwrap(), ReadFrom::Database);
    assert_eq!(
        read_from(&format!("{db}read_from = \"api\"\n")).unwrap(),
        ReadFrom::Api
    );
    let without = format!("{}", read_from("read_from = \"database\"\n").unwrap_err());
    assert!(
        without.contains("whmcs.database_url") && without.contains("read_from = \"api\""),
        "{without}"
    );
    let unknown = format!(
        "{}",
        read_from(&format!("{db}read_from = \"sql\"\n")).unwrap_err()
    );
    assert!(unknown.contains("\"database\" or \"api\""), "{unknown}");
}
