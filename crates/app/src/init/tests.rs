//! The written file loads with the configuration loader; questions fill what flags left
//! out; an existing file is never replaced without `--force`.

use super::template::{render, Answers, MailAnswers, RegistrarAnswers, WhmcsAnswers};
use super::{ask_missing, parse_registrar, write_file};
use crate::config::RawConfig;
use std::collections::BTreeMap;
use std::path::PathBuf;

fn load(text: &str, env: &[(&str, &str)]) -> anyhow::Result<crate::config::Config> {
    let env: BTreeMap<String, String> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    RawConfig::from_toml(text)?.resolve(&env)
}

/// The registrar password the environment gives; it must never reach the file.
const REGISTRAR_PASSWORD: &str = "registrar-Password-9x";
#[test]
fn a_file_from_every_flag_loads_with_the_config_loader() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("whmcs_secret");
    std::fs::write(&secret, "s3cret\n").unwrap();
    let answers = Answers {
        database_url: Some("postgres://domwatch@db/domwatch".into()),
        whmcs: Some(WhmcsAnswers {
            url: "https://billing.example.com".into(),
            identifier: "ID \"quoted\"".into(),
            secret_file: Some(secret),
            database_url_file: None,
            bot_client_id: Some(99),
            ticket_department_id: Some(2),
        }),
        registrars: vec![parse_registrar("cnr-live:cnr:reseller1:ote").unwrap()],
        mail: Some(MailAnswers {
            from: "domwatch@example.com".into(),
            to: vec!["admin@example.com".into()],
            smtp_url_file: None,
        }),
    };
    let text = render(&answers);
    let config = load(
        &text,
        &[
            ("DOMWATCH_REGISTRAR_CNR_LIVE_PASSWORD", REGISTRAR_PASSWORD),
            ("DOMWATCH_SMTP_URL", "smtp://127.0.0.1:25"),
        ],
    )
    .unwrap_or_else(|e| panic!("{e:#}\n{text}"));
    let whmcs = config.whmcs.unwrap();
    assert_eq!(whmcs.identifier, "ID \"quoted\"");
    assert_eq!(whmcs.secret.expose(), "s3cret");
    assert_eq!(whmcs.bot_client_id, Some(99));
    assert_eq!(config.registrars[0].name, "cnr-live");
    assert_eq!(config.registrars[0].login, "reseller1");
    assert_eq!(config.database_url, "postgres://domwatch@db/domwatch");
    assert!(config.mail.is_some());
    assert!(
        text.contains("# secret") || text.contains("secret_file"),
        "{text}"
    );
    // A distinctive value: a short one such as "pw" can turn up in a random temp path.
    assert!(
        !text.contains(REGISTRAR_PASSWORD) && !text.contains("s3cret"),
        "no secret is written inline:\n{text}"
    );
}

#[test]
fn a_file_without_answers_is_the_embedded_default_with_comments() {
    let text = render(&Answers::default());
    assert!(text.lines().filter(|l| l.starts_with('#')).count() > 20);
    let config = load(&text, &[]).unwrap();
    assert!(config.is_embedded_default());
}

#[test]
fn questions_fill_what_the_flags_left_out() {
    let mut answers = Answers::default();
    let mut input = std::io::Cursor::new(
        "https://billing.example.com\nAPI-ID\n/etc/domwatch/credentials/whmcs_secret\n\
         nonsense\ndbs:smartnic:reseller\n\n",
    );
    ask_missing(&mut answers, &mut input).unwrap();
    let whmcs = answers.whmcs.unwrap();
    assert_eq!(whmcs.url, "https://billing.example.com");
    assert_eq!(whmcs.identifier, "API-ID");
    assert_eq!(
        whmcs.secret_file,
        Some(PathBuf::from("/etc/domwatch/credentials/whmcs_secret"))
    );
    assert_eq!(
        answers.registrars,
        vec![RegistrarAnswers {
            name: "dbs".into(),
            dialect: "smartnic".into(),
            environment: "live".into(),
            login: "reseller".into(),
            password_file: None,
        }]
    );
}

#[test]
fn registrar_specs_are_checked() {
    assert!(parse_registrar("a:cnr").is_err());
    assert!(parse_registrar("a:epp:login")
        .unwrap_err()
        .contains("dialect"));
    assert!(parse_registrar("a:cnr:login:test")
        .unwrap_err()
        .contains("environment"));
}

#[test]
fn an_existing_file_is_replaced_only_with_force() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("domwatch.toml");
    std::fs::write(&path, "# mine\n").unwrap();
    assert!(write_file(&path, "# new\n", false).is_err());
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "# mine\n");
    write_file(&path, "# new\n", true).unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "# new\n");
}

#[test]
fn the_packaged_configuration_loads_and_keeps_the_store_in_var_lib() {
    let text = include_str!("../../../../packaging/domwatch.toml");
    let config = load(text, &[]).unwrap();
    assert!(config.is_embedded_default());
    assert_eq!(
        config.database_url,
        "sqlite:///var/lib/domwatch/domwatch.db"
    );
}
