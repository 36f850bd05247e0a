//! `domwatch token create|list|revoke` through the real binary: shown once, listed
//! without the secret, names unique, revoked once.

use std::path::Path;
use std::process::{Command, Output};

fn domwatch(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_domwatch"))
        .current_dir(dir)
        .env_remove("DOMWATCH_CONFIG")
        .env(
            "DOMWATCH_DATABASE_URL",
            format!("sqlite://{}", dir.join("dw.db").display()),
        )
        .env("DOMWATCH_LOG", "warn")
        .args(args)
        .output()
        .unwrap()
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn create_list_revoke() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let created = domwatch(
        dir,
        &["token", "create", "--name", "whmcs", "--scope", "fix"],
    );
    let (token, note) = text(&created);
    assert!(created.status.success(), "{note}");
    let token = token.trim();
    assert!(token.starts_with("dwt_") && token.len() == 47, "{token}");
    assert!(note.contains("shown only now"), "{note}");

    let again = domwatch(
        dir,
        &["token", "create", "--name", "whmcs", "--scope", "read"],
    );
    assert!(!again.status.success());
    assert!(text(&again).1.contains("exists already"));
    let bad = domwatch(dir, &["token", "create", "--name", "x", "--scope", "admin"]);
    assert!(!bad.status.success(), "only read and fix");

    let listed = domwatch(dir, &["token", "list"]);
    let (list, _) = text(&listed);
    assert!(list.contains("whmcs") && list.contains("fix"), "{list}");
    assert!(!list.contains(token), "the token is never shown again");

    let revoked = domwatch(dir, &["token", "revoke", "whmcs"]);
    assert!(revoked.status.success(), "{}", text(&revoked).1);
    let twice = domwatch(dir, &["token", "revoke", "whmcs"]);
    assert!(!twice.status.success());
    assert!(text(&twice).1.contains("no active token named `whmcs`"));
    let (list, _) = text(&domwatch(dir, &["token", "list"]));
    let line = list.lines().find(|l| l.starts_with("whmcs")).unwrap();
    assert_eq!(
        line.split_whitespace().filter(|w| *w != "-").count(),
        6,
        "revoked date shown: {line}"
    );
}
