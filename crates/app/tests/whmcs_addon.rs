//! The WHMCS addon (`integrations/whmcs`) in real PHP against a real `domwatch serve` on
//! the embedded sandboxes: tokens made with `domwatch token create`, the event secret in
//! the environment, then PHPUnit runs the addon's tests (widget, admin page with Fix now,
//! hooks forwarding signed events, escaping, a domwatch that is down).
//!
//! Needs `php` (with curl) and `phpunit` (Debian: `apt-get install php-cli php-curl
//! phpunit`; `scripts/test` does it). Without them the test prints `SKIPPED: …`, and fails
//! when `CI` is set.

use domwatch_testkit::{free_port, wait_for_port, Running};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const EVENT_SECRET: &str = "whmcs-addon-test-secret-0123456789";
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// The first monitoring cycle of `serve` on the embedded sandboxes.
const FIRST_RUN_TIMEOUT: Duration = Duration::from_secs(180);

fn addon_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../integrations/whmcs")
}

/// True when PHP with curl and PHPUnit are installed; otherwise says so (and fails on CI).
fn php_available() -> bool {
    let works = |cmd: &str, args: &[&str]| {
        Command::new(cmd)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if works(
        "php",
        &["-r", "exit(function_exists('curl_init') ? 0 : 1);"],
    ) && works("phpunit", &["--version"])
    {
        return true;
    }
    let message = "SKIPPED: WHMCS addon test: php (with curl) or phpunit missing; install with `apt-get install php-cli php-curl phpunit`";
    if std::env::var_os("CI").is_some() {
        panic!("{message} (CI is set, so this is a failure)");
    }
    eprintln!("{message}");
    false
}

/// `domwatch` with the test's database and state directory, on the embedded default.
fn domwatch(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_domwatch"));
    cmd.current_dir(dir)
        .env_remove("DOMWATCH_CONFIG")
        .env("DOMWATCH_STATE_DIR", dir.join("state"))
        .env(
            "DOMWATCH_DATABASE_URL",
            format!("sqlite://{}", dir.join("dw.db").display()),
        )
        .env("DOMWATCH_EVENTS_SECRET", EVENT_SECRET);
    cmd
}

/// Makes an API token as an operator would and returns it (printed once).
fn create_token(dir: &Path, name: &str, scope: &str) -> String {
    let out = domwatch(dir)
        .args(["token", "create", "--name", name, "--scope", scope])
        .output()
        .expect("domwatch token create runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "token create failed: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
        .split_whitespace()
        .find(|w| w.starts_with("dwt_") && w.len() == 47)
        .unwrap_or_else(|| panic!("no dwt_ token in: {stdout}"))
        .to_string()
}

fn start_server(dir: &Path, port: u16, log: &Path) -> Running {
    let log_file = std::fs::File::create(log).unwrap();
    let child = domwatch(dir)
        .arg("serve")
        .env("DOMWATCH_LISTEN", format!("127.0.0.1:{port}"))
        .env("DOMWATCH_LOG", "info")
        .stdout(Stdio::null())
        .stderr(log_file)
        .spawn()
        .expect("domwatch serve starts");
    Running(child)
}

/// Waits until the first monitoring run finished and opened cases, read as the widget does.
async fn wait_for_first_run(url: &str, token: &str, log: &Path) {
    let client = reqwest::Client::new();
    let started = Instant::now();
    loop {
        let summary: Option<serde_json::Value> = match client
            .get(format!("{url}/api/summary"))
            .bearer_auth(token)
            .send()
            .await
        {
            Ok(r) if r.status().is_success() => r.json().await.ok(),
            _ => None,
        };
        if let Some(s) = summary {
            if s["open_cases"].as_i64().unwrap_or(0) > 0 && !s["last_run"]["finished_at"].is_null()
            {
                return;
            }
        }
        assert!(
            started.elapsed() < FIRST_RUN_TIMEOUT,
            "the first monitoring run did not finish with cases; serve's log:\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[tokio::test]
async fn the_whmcs_addon_works_against_domwatch_serve() {
    if !php_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let fix_token = create_token(dir.path(), "whmcs", "fix");
    let read_token = create_token(dir.path(), "whmcs-widget", "read");
    let port = free_port();
    let log = dir.path().join("serve.log");
    let _server = start_server(dir.path(), port, &log);
    wait_for_port(port, "domwatch serve", START_TIMEOUT, Some(&log));
    let url = format!("http://127.0.0.1:{port}");
    wait_for_first_run(&url, &read_token, &log).await;

    let out = Command::new("phpunit")
        .args(["-c", "tests/phpunit.xml", "--fail-on-skipped"])
        .current_dir(addon_dir())
        .env("DOMWATCH_URL", &url)
        .env("DOMWATCH_FIX_TOKEN", &fix_token)
        .env("DOMWATCH_READ_TOKEN", &read_token)
        .env("DOMWATCH_EVENT_SECRET", EVENT_SECRET)
        .output()
        .expect("phpunit runs");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "PHPUnit failed:\n{report}\n--- domwatch serve log ---\n{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    assert!(report.contains("OK ("), "{report}");
    eprintln!("{report}");
    let server_log = std::fs::read_to_string(&log).unwrap_or_default();
    for secret in [fix_token.as_str(), read_token.as_str(), EVENT_SECRET] {
        assert!(!server_log.contains(secret), "a secret reached serve's log");
    }
}
