//! `domwatch doctor` end to end through the real binary: against sandbox processes (a
//! WHMCS whose API role lacks GetInvoices, registrars, an SMTP sink) it names exactly the
//! action to tick and exits 1; against the full role and on the embedded default it
//! passes; an IP outside the allow-list is named.

use domwatch_testkit::process::{free_port, wait_for_port, Running};
use domwatch_testkit::smtp::SmtpSink;
use domwatch_testkit::{SandboxPortfolio, SandboxProcesses};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_domwatch");

fn today() -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(2026, 11, 22).unwrap()
}

/// `domwatch doctor` with `args`: exit code and stdout.
async fn doctor(dir: &Path, args: &[&str]) -> (i32, String) {
    let out = tokio::process::Command::new(BIN)
        .arg("doctor")
        .args(args)
        .current_dir(dir)
        .env_remove("DOMWATCH_CONFIG")
        .env("DOMWATCH_STATE_DIR", dir.join("state"))
        .env("DOMWATCH_LOG", "warn")
        .output()
        .await
        .expect("run domwatch doctor");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    (
        out.status.code().expect("exit code"),
        format!("{stdout}{stderr}"),
    )
}

/// A sandbox WHMCS process whose API role allows every action but GetInvoices.
fn whmcs_without_getinvoices(dir: &Path) -> (String, Running) {
    let role: Vec<&str> = domwatch_sandbox::whmcs::ACTIONS
        .iter()
        .copied()
        .filter(|a| *a != "getinvoices")
        .collect();
    let port = free_port();
    let child = Command::new(BIN)
        .args([
            "sandbox",
            "whmcs",
            "--domains",
            "20",
            "--today",
            "2026-11-22",
        ])
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .args(["--sqlite", dir.join("limited-whmcs.db").to_str().unwrap()])
        .args(["--api-role", &role.join(",")])
        .env("DOMWATCH_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .expect("start the sandbox WHMCS");
    let child = Running(child);
    wait_for_port(
        port,
        "the limited sandbox WHMCS",
        Duration::from_secs(60),
        None,
    );
    (format!("http://127.0.0.1:{port}/"), child)
}

/// A configuration over the sandbox processes, with the WHMCS at `whmcs`.
fn write_config(
    dir: &Path,
    name: &str,
    whmcs: &str,
    sandboxes: &SandboxProcesses,
    smtp: &SmtpSink,
) -> String {
    use domwatch_sandbox::{registrar, smartnic, whmcs as w};
    std::fs::write(dir.join("whmcs_secret"), format!("{}\n", w::DEFAULT_SECRET)).unwrap();
    let config = format!(
        r#"database_url = "sqlite://{db}"

[whmcs]
url = "{whmcs}"
identifier = "{identifier}"
secret_file = "{secret}"

[registrars.cnr]
dialect = "cnr"
environment = "ote"
endpoint = "{cnr}{api}"
login = "{rl}"
password = "{rp}"
modules = ["cnic"]

[registrars.dbs]
dialect = "smartnic"
environment = "ote"
endpoint = "{smartnic}{soap}"
login = "{sl}"
password = "{sp}"
modules = ["smartnic"]

[notices]
smtp_url = "smtp://{smtp}"
mail_from = "domwatch@example.com"
mail_to = ["admin@example.com"]
"#,
        db = dir.join("domwatch.db").display(),
        identifier = w::DEFAULT_IDENTIFIER,
        secret = dir.join("whmcs_secret").display(),
        cnr = sandboxes.cnr,
        api = registrar::API_PATH,
        rl = registrar::DEFAULT_LOGIN,
        rp = registrar::DEFAULT_PASSWORD,
        smartnic = sandboxes.smartnic,
        soap = smartnic::SOAP_PATH,
        sl = smartnic::DEFAULT_LOGIN,
        sp = smartnic::DEFAULT_PASSWORD,
        smtp = smtp.addr(),
    );
    let path = dir.join(name);
    std::fs::write(&path, config).unwrap();
    path.display().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_the_action_the_role_lacks_and_passes_with_the_full_role() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let portfolio = SandboxPortfolio {
        domains: 20,
        seed: 42,
        today: today(),
        drift_per_mille: 40,
        whmcs_sqlite: dir.join("whmcs.db"),
    };
    let sandboxes = SandboxProcesses::start(BIN, &portfolio, Duration::from_secs(120));
    let smtp = SmtpSink::start().await.unwrap();
    let (limited, _limited_process) = whmcs_without_getinvoices(dir);

    let config = write_config(dir, "limited.toml", &limited, &sandboxes, &smtp);
    let (code, out) = doctor(dir, &["--config", &config]).await;
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(
            "fix: tick exactly these under Setup > Staff Management > Manage API Credentials \
             > API Roles: GetInvoices\n"
        ),
        "{out}"
    );
    let (code, json) = doctor(dir, &["--config", &config, "--json"]).await;
    assert_eq!(code, 1, "{json}");
    let report: serde_json::Value = serde_json::from_str(&json).expect("JSON report");
    let failed: Vec<&serde_json::Value> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "fail")
        .collect();
    assert_eq!(failed.len(), 1, "{json}");
    assert_eq!(failed[0]["check"], "api_role");
    assert!(failed[0]["fix"]
        .as_str()
        .unwrap()
        .ends_with(": GetInvoices"));
    for system in ["registrar cnr", "registrar dbs", "smtp", "store"] {
        assert!(
            report["checks"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c["system"] == system && c["status"] == "ok"),
            "{system} is not ok: {json}"
        );
    }
    assert!(smtp.received().is_empty(), "doctor sent a mail");

    // The same systems with the full role: every check passes.
    let full = format!("{}/", sandboxes.whmcs);
    let config = write_config(dir, "full.toml", &full, &sandboxes, &smtp);
    let (code, out) = doctor(dir, &["--config", &config]).await;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("All checks passed."), "{out}");

    // Wrong registrar passwords: both accounts fail and the fix names their login keys.
    let text = std::fs::read_to_string(&config).unwrap();
    let wrong = dir.join("wrong-passwords.toml");
    std::fs::write(&wrong, text.replace("\"sandbox-password\"", "\"wrong\"")).unwrap();
    let (code, json) = doctor(dir, &["--config", wrong.to_str().unwrap(), "--json"]).await;
    assert_eq!(code, 1, "{json}");
    let report: serde_json::Value = serde_json::from_str(&json).expect("JSON report");
    for account in ["cnr", "dbs"] {
        let check = report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["system"] == format!("registrar {account}"))
            .unwrap();
        assert_eq!(check["status"], "fail", "{json}");
        let fix = check["fix"].as_str().unwrap();
        assert!(
            fix.contains(&format!("registrars.{account}.login")),
            "{fix}"
        );
    }

    // An allow-list without this host: the refused IP is named.
    reqwest::Client::new()
        .post(format!("{}/_sandbox/event", sandboxes.whmcs))
        .body(r#"{"event":"set_allowed_ips","ips":["203.0.113.7"]}"#)
        .header("Content-Type", "application/json")
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    let (code, out) = doctor(dir, &["--config", &config]).await;
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("fix: add 127.0.0.1 under Setup > General Settings > Security > API IP Access Restriction"), "{out}");
}

#[tokio::test]
async fn passes_on_the_embedded_default() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out) = doctor(dir.path(), &[]).await;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("the embedded sandboxes"), "{out}");
    assert!(out.contains("All checks passed."), "{out}");
}

#[tokio::test]
async fn init_writes_a_file_doctor_loads_and_replaces_it_only_with_force() {
    let dir = tempfile::tempdir().unwrap();
    let init = |extra: &[&str]| {
        Command::new(BIN)
            .args(["init", "--yes", "--path", "domwatch.toml"])
            .args(extra)
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .output()
            .expect("run domwatch init")
    };
    let first = init(&[]);
    assert!(first.status.success(), "{first:?}");
    let written = std::fs::read_to_string(dir.path().join("domwatch.toml")).unwrap();
    assert!(written.contains("# [whmcs]"), "{written}");

    let (code, out) = doctor(dir.path(), &["--config", "domwatch.toml"]).await;
    assert_eq!(code, 0, "{out}");

    let again = init(&["--whmcs-url", "https://billing.example.com"]);
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("pass --force"),
        "{again:?}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("domwatch.toml")).unwrap(),
        written
    );
    let forced = init(&[
        "--force",
        "--whmcs-url",
        "https://billing.example.com",
        "--whmcs-identifier",
        "API-ID",
    ]);
    assert!(forced.status.success(), "{forced:?}");
    let replaced = std::fs::read_to_string(dir.path().join("domwatch.toml")).unwrap();
    assert!(
        replaced.contains("url = \"https://billing.example.com\""),
        "{replaced}"
    );
}
