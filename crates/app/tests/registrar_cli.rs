//! `domwatch registrar …` and `domwatch sandbox registrar` as a user runs them: the real
//! binary against an in-test sandbox on 127.0.0.1 (or its embedded default).

use domwatch_core::model::Dialect;
use domwatch_rrp::{Command, RrpClient};
use domwatch_sandbox::portfolio::Portfolio;
use domwatch_sandbox::registrar::{
    Fault, FaultConfig, RegistrarEvent, RegistrarSandbox, RegistrarSandboxConfig,
};
use domwatch_testkit::{rrp_config, today};
use std::process::Output;
use std::time::{Duration, Instant};
use tokio::io::AsyncBufReadExt;

const ENV_VARS: [&str; 4] = [
    "DOMWATCH_REGISTRAR_ENDPOINT",
    "DOMWATCH_REGISTRAR_LOGIN",
    "DOMWATCH_REGISTRAR_PASSWORD",
    "DOMWATCH_REGISTRAR_PASSWORD_FILE",
];

fn domwatch() -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_domwatch"));
    for var in ENV_VARS {
        cmd.env_remove(var);
    }
    cmd.env("DOMWATCH_LOG", "warn").kill_on_drop(true);
    cmd
}

async fn run(cmd: &mut tokio::process::Command) -> (Output, String, String) {
    let output = cmd.output().await.expect("domwatch runs");
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    (output, stdout, stderr)
}

/// The password goes in a file, as the docs recommend.
fn password_file(sb: &RegistrarSandbox) -> tempfile::NamedTempFile {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), format!("{}\n", sb.password())).unwrap();
    file
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_domains_without_arguments_uses_the_embedded_sandbox() {
    let (output, stdout, stderr) =
        run(domwatch().args(["registrar", "list-domains", "--json"])).await;
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("embedded cnr sandbox registrar"),
        "{stderr}"
    );
    let listed: Vec<serde_json::Value> = serde_json::from_str(&stdout).unwrap();
    // The embedded sandbox is anchored to today (UTC); count what the portfolio lists.
    let portfolio = Portfolio::new(42, 200, chrono::Utc::now().date_naive());
    let expected = portfolio
        .domains_of(Dialect::Cnr)
        .filter(|d| d.registrar.present)
        .count();
    assert_eq!(listed.len(), expected);
    assert!(listed.iter().all(|d| d["paid_until"].is_string()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_and_status_against_a_running_sandbox() {
    let sb = RegistrarSandbox::start(RegistrarSandboxConfig::new(
        Dialect::Ispapi,
        42,
        300,
        today(),
    ))
    .await
    .unwrap();
    let secret = password_file(&sb);
    let portfolio = Portfolio::new(42, 300, today());
    let first = portfolio
        .domains_of(Dialect::Ispapi)
        .find(|d| d.registrar.present && d.registrar.premium.is_some())
        .unwrap();
    let (output, stdout, stderr) = run(domwatch()
        .args([
            "registrar",
            "list-domains",
            "--dialect",
            "ispapi",
            "--page-size",
            "10",
        ])
        .args(["--endpoint", &sb.endpoint(), "--login", sb.login()])
        .env("DOMWATCH_REGISTRAR_PASSWORD_FILE", secret.path()))
    .await;
    assert!(output.status.success(), "{stderr}");
    let header = stdout.lines().next().unwrap();
    for column in [
        "DOMAIN",
        "UNICODE",
        "PAID UNTIL",
        "RENEWAL MODE",
        "PREMIUM CLASS",
        "RENEWAL PRICE",
    ] {
        assert!(header.contains(column), "{header}");
    }
    let row = stdout
        .lines()
        .find(|l| l.starts_with(first.name.ascii()))
        .unwrap_or_else(|| panic!("{} not in the table:\n{stdout}", first.name));
    assert!(
        row.contains(&first.registrar.paid_until.to_string()),
        "{row}"
    );
    assert!(row.contains("PREMIUM_"), "{row}");
    assert!(
        row.contains(&format!("{:.2} EUR", first.registrar.renew_price)),
        "{row}"
    );
    let listed = portfolio
        .domains_of(Dialect::Ispapi)
        .filter(|d| d.registrar.present)
        .count();
    assert_eq!(stdout.lines().count(), listed + 1);
    assert!(!stderr.contains(sb.password()), "the password never shows");

    let (output, stdout, stderr) = run(domwatch()
        .args([
            "registrar",
            "status-domain",
            &first.name.unicode(),
            "--json",
            "--dialect",
            "ispapi",
        ])
        .args(["--endpoint", &sb.endpoint(), "--login", sb.login()])
        .env("DOMWATCH_REGISTRAR_PASSWORD_FILE", secret.path()))
    .await;
    assert!(output.status.success(), "{stderr}");
    let domain: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(domain["paid_until"], first.registrar.paid_until.to_string());
    assert!(domain["premium"]["class"]
        .as_str()
        .unwrap()
        .starts_with("PREMIUM_"));

    let (output, stdout, stderr) = run(domwatch()
        .args(["registrar", "account", "--dialect", "ispapi", "--session"])
        .args(["--endpoint", &sb.endpoint(), "--login", sb.login()])
        .env("DOMWATCH_REGISTRAR_PASSWORD", sb.password()))
    .await;
    assert!(output.status.success(), "{stderr}");
    assert!(
        stdout.contains("balance:          25042.00 EUR"),
        "{stdout}"
    );
}

/// A web server on 127.0.0.1 that answers every request with an HTML page.
async fn serve_html_once() -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = vec![0u8; 16 * 1024];
                let _ = socket.read(&mut buf).await;
                let body = "<html><body>Welcome to nginx!</body></html>";
                let answer = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(answer.as_bytes()).await;
            });
        }
    });
    format!("http://{addr}/api/call.cgi")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clear_errors_for_credentials_garbage_and_timeouts() {
    let sb = RegistrarSandbox::start(RegistrarSandboxConfig::new(Dialect::Cnr, 42, 100, today()))
        .await
        .unwrap();

    let (output, _, stderr) = run(domwatch()
        .args([
            "registrar",
            "list-domains",
            "--endpoint",
            &sb.endpoint(),
            "--login",
            sb.login(),
        ])
        .env("DOMWATCH_REGISTRAR_PASSWORD", "not-the-password"))
    .await;
    assert!(!output.status.success());
    assert!(stderr.contains("rejected the credentials"), "{stderr}");
    assert!(stderr.contains("check login/password"), "{stderr}");
    assert!(
        !stderr.contains("not-the-password"),
        "the password never shows: {stderr}"
    );

    let (output, _, stderr) = run(domwatch()
        .args(["registrar", "list-domains", "--endpoint", &sb.endpoint()])
        .env("DOMWATCH_REGISTRAR_PASSWORD", "x"))
    .await;
    assert!(!output.status.success());
    assert!(stderr.contains("DOMWATCH_REGISTRAR_LOGIN"), "{stderr}");

    // An endpoint that answers HTTP 200, but not the registrar protocol.
    let not_an_api = serve_html_once().await;
    let (output, _, stderr) = run(domwatch()
        .args([
            "registrar",
            "account",
            "--endpoint",
            &not_an_api,
            "--login",
            sb.login(),
        ])
        .env("DOMWATCH_REGISTRAR_PASSWORD", sb.password()))
    .await;
    assert!(!output.status.success());
    assert!(stderr.contains("invalid registrar response"), "{stderr}");

    sb.apply(RegistrarEvent::SetFaults(FaultConfig {
        hang_ms: 60_000,
        ..FaultConfig::default()
    }))
    .unwrap();
    sb.apply(RegistrarEvent::InjectFault {
        fault: Fault::Hang,
        count: 20,
    })
    .unwrap();
    let started = Instant::now();
    let (output, _, stderr) = run(domwatch()
        .args(["registrar", "account", "--timeout-secs", "1"])
        .args(["--endpoint", &sb.endpoint(), "--login", sb.login()])
        .env("DOMWATCH_REGISTRAR_PASSWORD", sb.password()))
    .await;
    assert!(!output.status.success());
    assert!(stderr.contains("no answer"), "{stderr}");
    assert!(started.elapsed() < Duration::from_secs(30));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sandbox_registrar_command_serves_until_stopped() {
    let mut child = domwatch()
        .args([
            "sandbox",
            "registrar",
            "--dialect",
            "cnr",
            "--listen",
            "127.0.0.1:0",
        ])
        .args([
            "--domains",
            "150",
            "--seed",
            "7",
            "--today",
            "2026-11-22",
            "--latency-ms",
            "1",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let mut endpoint = None;
    let mut login = None;
    let mut password = None;
    let read = async {
        while let Some(line) = lines.next_line().await.unwrap() {
            let value = |prefix: &str| {
                line.trim()
                    .strip_prefix(prefix)
                    .map(|v| v.trim().to_string())
            };
            if let Some(v) = value("endpoint:") {
                endpoint = Some(v);
            } else if let Some(v) = value("login:") {
                login = Some(v);
            } else if let Some(v) = value("password:") {
                password = Some(v);
            }
            if line.contains("Ctrl-C") {
                break;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(60), read)
        .await
        .expect("the sandbox prints its endpoint");
    let endpoint = endpoint.expect("endpoint line");
    assert!(
        endpoint.starts_with("http://127.0.0.1:") && endpoint.ends_with("/api/call.cgi"),
        "{endpoint}"
    );

    let mut config = rrp_config(Dialect::Cnr, &endpoint, &login.unwrap(), &password.unwrap());
    config.max_retries = 0;
    let client = RrpClient::new(config).unwrap();
    let page = client
        .request(&Command::new("QueryDomainList").with("LIMIT", 0u32))
        .await
        .unwrap();
    let expected = Portfolio::new(7, 150, today())
        .domains_of(Dialect::Cnr)
        .filter(|d| d.registrar.present)
        .count();
    assert_eq!(page.total(), Some(expected as u64));
    child.start_kill().unwrap();
    let _ = child.wait().await;
}
