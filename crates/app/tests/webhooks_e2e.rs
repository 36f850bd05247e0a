//! Webhooks through the real binary on the embedded default: `[[webhooks]]` points at a
//! local receiver; `domwatch check` posts one signed `case.opened` per opened case, a
//! rerun posts nothing again, and `domwatch fix` followed by `check` posts `fix.applied`
//! and `case.resolved`.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

const SECRET: &str = "e2e-webhook-secret-0123456789";

type Received = Arc<Mutex<Vec<(HeaderMap, Bytes)>>>;

async fn start_receiver() -> (Received, String) {
    let got: Received = Arc::default();
    async fn hook(State(got): State<Received>, headers: HeaderMap, body: Bytes) -> &'static str {
        got.lock().unwrap().push((headers, body));
        "ok"
    }
    let app = axum::Router::new()
        .route("/hook/{token}", post(hook))
        .with_state(got.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    // A path with a token in it, as Slack's have: it must never reach a log.
    let url = format!("http://{}/hook/PATHTOKEN42", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (got, url)
}

/// Runs `domwatch ARGS` off the async runtime (the receiver keeps answering meanwhile).
async fn run(dir: &Path, config: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_domwatch"));
    cmd.current_dir(dir)
        .env("DOMWATCH_STATE_DIR", dir.join("state"))
        .env(
            "DOMWATCH_DATABASE_URL",
            format!("sqlite://{}", dir.join("domwatch.db").display()),
        )
        .env("DOMWATCH_CONFIG", config)
        .env("DOMWATCH_LOG", "debug")
        .args(args);
    let out = tokio::task::spawn_blocking(move || cmd.output().expect("run domwatch"))
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "domwatch {args:?} failed:\nstdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(
        !log.contains("PATHTOKEN42") && !log.contains(SECRET),
        "a webhook URL or secret reached the log"
    );
    out
}

/// The events received so far, each checked against its signature.
fn events(got: &Received) -> Vec<serde_json::Value> {
    got.lock()
        .unwrap()
        .iter()
        .map(|(headers, body)| {
            let header = |n: &str| headers.get(n).unwrap().to_str().unwrap().to_string();
            let ts: i64 = header("x-domwatch-timestamp").parse().unwrap();
            assert_eq!(
                domwatch_webhooks::sign(SECRET.as_bytes(), ts, body),
                header("x-domwatch-signature"),
                "bad signature"
            );
            serde_json::from_slice(body).unwrap()
        })
        .collect()
}

fn count(events: &[serde_json::Value], event: &str) -> usize {
    events.iter().filter(|e| e["event"] == event).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_posts_each_case_change_once() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let (got, url) = start_receiver().await;
    let config: PathBuf = dir.join("domwatch.toml");
    std::fs::write(
        &config,
        format!(
            "[[webhooks]]\nurl = \"{url}\"\nsecret = \"{SECRET}\"\nevents = [\"case.opened\", \"case.resolved\", \"fix.applied\"]\n"
        ),
    )
    .unwrap();

    let first = run(dir, &config, &["check", "--json"]).await;
    let log = String::from_utf8_lossy(&first.stderr);
    assert!(
        log.contains("webhook delivered") && log.contains("127.0.0.1"),
        "deliveries are logged by host"
    );
    let report: serde_json::Value = serde_json::from_slice(&first.stdout).unwrap();
    let opened = report["opened"].as_u64().unwrap() as usize;
    assert!(opened > 0);
    let after_first = events(&got);
    assert_eq!(count(&after_first, "case.opened"), opened);
    assert_eq!(after_first.len(), opened);
    let mut ids: Vec<&str> = after_first
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), opened, "one delivery id per event");

    // A rerun sends only what changed in it (some cases open on a later cycle by design,
    // e.g. after strikes), and nothing it sent before.
    let second = run(dir, &config, &["check", "--json"]).await;
    let report: serde_json::Value = serde_json::from_slice(&second.stdout).unwrap();
    let changed =
        (report["opened"].as_u64().unwrap() + report["resolved"].as_u64().unwrap()) as usize;
    let after_second = events(&got);
    assert_eq!(
        after_second.len(),
        opened + changed,
        "a rerun sends nothing again"
    );
    let mut told: Vec<(String, i64)> = after_second
        .iter()
        .map(|e| {
            (
                e["event"].as_str().unwrap().to_string(),
                e["case"]["id"].as_i64().unwrap(),
            )
        })
        .collect();
    told.sort();
    told.dedup();
    assert_eq!(told.len(), after_second.len(), "each change told once");

    let cases: serde_json::Value =
        serde_json::from_slice(&run(dir, &config, &["cases", "--json"]).await.stdout).unwrap();
    let case = cases
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["kind"] == "renewal_underpriced")
        .unwrap();
    let id = case["id"].as_i64().unwrap();
    run(dir, &config, &["fix", &id.to_string()]).await;
    let out = run(dir, &config, &["check"]).await;
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("Webhooks:"),
        "check says what it delivered"
    );
    let all = events(&got);
    let about = |event: &str| {
        all.iter()
            .filter(|e| e["event"] == event && e["case"]["id"] == id)
            .count()
    };
    assert_eq!(about("fix.applied"), 1);
    assert_eq!(about("case.resolved"), 1);
    assert_eq!(
        count(&all, "case.reopened"),
        0,
        "not in this endpoint's events"
    );
}

/// `domwatch serve` sends the outbox on its own: the first cycle's openings arrive.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_posts_the_first_cycles_openings() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let (got, url) = start_receiver().await;
    let config = dir.join("domwatch.toml");
    std::fs::write(
        &config,
        format!(
            "[[webhooks]]\nurl = \"{url}\"\nsecret = \"{SECRET}\"\nevents = [\"case.opened\"]\n"
        ),
    )
    .unwrap();
    let port = domwatch_testkit::free_port();
    let _serve = domwatch_testkit::Running(
        Command::new(env!("CARGO_BIN_EXE_domwatch"))
            .arg("serve")
            .current_dir(dir)
            .env("DOMWATCH_STATE_DIR", dir.join("state"))
            .env(
                "DOMWATCH_DATABASE_URL",
                format!("sqlite://{}", dir.join("domwatch.db").display()),
            )
            .env("DOMWATCH_CONFIG", &config)
            .env("DOMWATCH_LISTEN", format!("127.0.0.1:{port}"))
            .env("DOMWATCH_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("domwatch serve starts"),
    );
    let started = std::time::Instant::now();
    while events(&got).is_empty() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(90),
            "serve sent no webhook within 90 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    // Give the pass time to finish, then every opening arrived once.
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let all = events(&got);
    let mut cases: Vec<i64> = all
        .iter()
        .map(|e| e["case"]["id"].as_i64().unwrap())
        .collect();
    cases.sort();
    cases.dedup();
    assert_eq!(cases.len(), all.len(), "each opening once");
    assert!(all.iter().all(|e| e["event"] == "case.opened"));
}
