//! Instant reaction end to end: `domwatch serve` on the sandbox processes (WHMCS and a
//! CNR account with auto delete on). The first cycle places a cancellation on an unpaid
//! domain; the client pays the renewal invoice in WHMCS, the WHMCS hook posts a signed
//! `InvoicePaid` event naming only the invoice, and the cancellation is withdrawn within
//! 5 seconds by a targeted check. An API token made with `domwatch token create` reads
//! the runs. Refused events change nothing.

use domwatch_sandbox::portfolio::{Drift, Portfolio, DEFAULT_DRIFT_PER_MILLE};
use domwatch_testkit::{free_port, wait_for_port, Running, SandboxPortfolio, SandboxProcesses};
use domwatch_web::events::signature;
use serde_json::{json, Value};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_domwatch");
const SEED: u64 = 42;
const DOMAINS: usize = 200;
const SECRET: &str = "e2e-events-secret-0123456789abcdef";

fn config(dir: &Path, s: &SandboxProcesses, listen: &str, bot: u64) -> std::path::PathBuf {
    let path = dir.join("domwatch.toml");
    let text = format!(
        r#"database_url = "sqlite://{db}"

{sandboxes}auto_delete = "enabled"

[serve]
listen = "{listen}"
interval_minutes = 600
# The restart below follows a kill -9: the new process waits for the old lease to run out.
lease_seconds = 3

[events]
secret = "{SECRET}"
"#,
        db = dir.join("dw.db").display(),
        sandboxes = s.config_sections(bot),
    );
    std::fs::write(&path, text).unwrap();
    path
}

fn token(config: &Path) -> String {
    let out = Command::new(BIN)
        .args([
            "token", "create", "--name", "e2e", "--scope", "read", "--config",
        ])
        .arg(config)
        .env("DOMWATCH_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert!(token.starts_with("dwt_") && token.len() == 47, "{token}");
    token
}

struct Api {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    async fn runs(&self) -> Vec<Value> {
        let answer = self
            .http
            .get(format!("{}/api/runs", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 200);
        answer.json::<Vec<Value>>().await.unwrap()
    }

    /// Waits (at most `limit`) for a finished run that `matches`.
    async fn run_where(&self, limit: Duration, matches: impl Fn(&Value) -> bool) -> Option<Value> {
        let began = Instant::now();
        while began.elapsed() < limit {
            let found = self
                .runs()
                .await
                .into_iter()
                .find(|r| r["status"] != "running" && matches(r));
            if found.is_some() {
                return found;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        None
    }

    async fn event(&self, at: i64, body: &Value, secret: &str) -> reqwest::Response {
        let body = body.to_string();
        let t = at.to_string();
        self.http
            .post(format!("{}/api/events", self.base))
            .header("content-type", "application/json")
            .header("x-domwatch-timestamp", &t)
            .header(
                "x-domwatch-signature",
                format!(
                    "sha256={}",
                    signature(secret.as_bytes(), &t, body.as_bytes())
                ),
            )
            .body(body)
            .send()
            .await
            .unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paid_invoice_withdraws_the_cancellation_within_5_seconds() {
    let dir = tempfile::tempdir().unwrap();
    let today = chrono::Utc::now().date_naive();
    let sandboxes = SandboxProcesses::start(
        BIN,
        &SandboxPortfolio {
            domains: DOMAINS,
            seed: SEED,
            today,
            drift_per_mille: DEFAULT_DRIFT_PER_MILLE,
            whmcs_sqlite: dir.path().join("whmcs.db"),
        },
        Duration::from_secs(300),
    );
    let portfolio = Portfolio::new(SEED, DOMAINS, today);
    let unpaid = portfolio
        .domains()
        .find(|d| {
            d.drift == Some(Drift::UnpaidRenewalInvoice)
                && d.billing
                    .as_ref()
                    .is_some_and(|b| b.registrar_module == "cnic")
        })
        .expect("the portfolio plants an unpaid CNR domain");
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let config = config(dir.path(), &sandboxes, &listen, portfolio.bot_client_id());
    let api = Api {
        http: reqwest::Client::new(),
        base: format!("http://{listen}"),
        token: token(&config),
    };
    let log = dir.path().join("serve.log");
    let serve = start_serve(&config, &log, port);

    // The first cycle places the cancellation.
    let first = api
        .run_where(Duration::from_secs(120), |r| {
            r["stats"]["targeted"].is_null()
        })
        .await
        .expect("the first cycle finishes");
    assert!(
        first["stats"]["automatic_actions"]["cancel"]
            .as_u64()
            .unwrap_or(0)
            >= 1,
        "{first}"
    );

    // Refused events change nothing.
    let paid = json!({"event": "InvoicePaid", "invoice_id": unpaid.billing.as_ref().unwrap().invoices[0].id});
    let now = chrono::Utc::now().timestamp();
    let refused = api
        .event(now, &paid, "not the secret, but long enough to be one")
        .await;
    assert_eq!(refused.status(), 401);
    let refused = api.event(now - 600, &paid, SECRET).await;
    assert_eq!(refused.status(), 401);
    let refused = api
        .event(
            now,
            &json!({"event": "DomainDelete", "domains": ["a.com"]}),
            SECRET,
        )
        .await;
    assert_eq!(refused.status(), 400);

    // The client pays; WHMCS's hook tells domwatch, naming only the invoice.
    let invoice = unpaid.billing.as_ref().unwrap().invoices[0].id;
    let paid_answer = api
        .http
        .post(format!("{}/_sandbox/pay-invoice", sandboxes.whmcs))
        .json(&json!({"invoiceid": invoice}))
        .send()
        .await
        .unwrap();
    assert!(
        paid_answer.status().is_success(),
        "{:?}",
        paid_answer.text().await
    );
    let sent = Instant::now();
    let accepted = api
        .event(chrono::Utc::now().timestamp(), &paid, SECRET)
        .await;
    assert_eq!(accepted.status(), 202);
    let withdrawn = api
        .run_where(Duration::from_secs(5), |r| {
            r["stats"]["targeted"] == json!([unpaid.name.ascii()])
                && r["stats"]["automatic_actions"]["withdraw"] == 1
        })
        .await;
    let took = sent.elapsed();
    assert!(
        withdrawn.is_some(),
        "no targeted withdrawal within 5 s; runs: {:#}\nlog:\n{}",
        Value::Array(api.runs().await),
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    assert!(took < Duration::from_secs(5), "took {took:?}");
    // Only the full cycle and this one targeted check ran: the refused events ran nothing.
    assert_eq!(api.runs().await.len(), 2);

    // Events survive a restart: one queued while domwatch was down, one whose worker died
    // holding it (its lease ran out). Both are run after the start, once.
    drop(serve);
    let first_log = std::fs::read_to_string(&log).unwrap();
    assert!(first_log.contains("inbound event"), "{first_log}");
    assert!(
        !first_log.contains(SECRET) && !first_log.contains(&api.token),
        "secrets in the log:\n{first_log}"
    );
    let log = dir.path().join("serve-restarted.log");
    let store =
        domwatch_store::Store::connect(&format!("sqlite://{}", dir.path().join("dw.db").display()))
            .await
            .unwrap();
    let queued = |signature: &str| domwatch_store::NewInboundEvent {
        signature: signature.into(),
        event: "AfterRegistrarRenewal".into(),
        domains: vec![unpaid.name.ascii().to_string()],
        invoice_id: None,
        received_at: chrono::Utc::now(),
    };
    let waiting = store
        .queue_event(&queued("while-down"))
        .await
        .unwrap()
        .unwrap();
    let crashed = store
        .queue_event(&queued("crashed"))
        .await
        .unwrap()
        .unwrap();
    let now = chrono::Utc::now();
    let held = store
        .claim_event("a worker that died", now, now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(held.id, waiting, "claims go oldest first");
    let _serve = start_serve(&config, &log, port);
    let began = Instant::now();
    loop {
        let done: Vec<i64> = store
            .inbound_events(10)
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.status == "done")
            .map(|e| e.id)
            .collect();
        if done.contains(&waiting) && done.contains(&crashed) {
            break;
        }
        assert!(
            began.elapsed() < Duration::from_secs(60),
            "events not run after the restart: {:?}\nlog:\n{}",
            store.inbound_events(10).await.unwrap(),
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let retaken = store.inbound_event(waiting).await.unwrap().unwrap();
    assert_eq!(retaken.attempts, 2, "taken over from the dead worker once");

    // The same targeted check by hand.
    let out = Command::new(BIN)
        .args([
            "check",
            "--json",
            "--domain",
            unpaid.name.ascii(),
            "--config",
        ])
        .arg(&config)
        .env("DOMWATCH_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["targeted"], json!([unpaid.name.ascii()]), "{report}");
    assert_eq!(report["billing_domains"], 1, "{report}");
    drop(sandboxes);
}

fn start_serve(config: &Path, log: &Path, port: u16) -> Running {
    let serve = Running(
        Command::new(BIN)
            .args(["serve", "--config"])
            .arg(config)
            .env("DOMWATCH_LOG", "info")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(log).unwrap())
            .spawn()
            .unwrap(),
    );
    wait_for_port(port, "domwatch serve", Duration::from_secs(60), Some(log));
    serve
}
