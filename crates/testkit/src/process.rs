//! Child processes for tests and benchmarks that run the real `domwatch` binary: a free
//! local port, waiting until something listens on it, a child that is killed however the
//! test ends, and the sandboxes as separate `domwatch sandbox …` processes.

use chrono::NaiveDate;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A port on 127.0.0.1 that nothing listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free local port")
}

/// Waits until something listens on `port`, at most `timeout`; on failure the panic names
/// `what` and shows its `log` when there is one.
pub fn wait_for_port(port: u16, what: &str, timeout: Duration, log: Option<&Path>) {
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < timeout,
            "{what} did not listen on port {port} within {} s; its log:\n{}",
            timeout.as_secs(),
            log.and_then(|l| std::fs::read_to_string(l).ok())
                .unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A child process that is killed when the test ends, however it ends.
pub struct Running(pub Child);

impl Running {
    pub fn id(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The portfolio the sandbox processes serve.
#[derive(Debug, Clone)]
pub struct SandboxPortfolio {
    pub domains: usize,
    pub seed: u64,
    pub today: NaiveDate,
    pub drift_per_mille: u16,
    /// Where the WHMCS sandbox keeps its SQLite tables.
    pub whmcs_sqlite: PathBuf,
}

/// A delay before every protocol answer of the sandboxes, as over the internet
/// (`--latency-ms`); zero by default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SandboxLatency {
    pub whmcs_ms: u64,
    /// The same for CNR, ISPAPI and Smart-NIC.
    pub registrar_ms: u64,
}

/// The sandbox WHMCS, CNR, ISPAPI and Smart-NIC, each a `domwatch sandbox …` process on
/// 127.0.0.1; their base URLs (`http://127.0.0.1:<port>`). Dropping it stops them.
pub struct SandboxProcesses {
    pub whmcs: String,
    pub cnr: String,
    pub ispapi: String,
    pub smartnic: String,
    children: Vec<Running>,
}

impl SandboxProcesses {
    /// Starts the four sandboxes with `bin` (the `domwatch` binary) and waits, at most
    /// `timeout`, until all of them listen (the WHMCS sandbox seeds before it listens).
    pub fn start(bin: &str, portfolio: &SandboxPortfolio, timeout: Duration) -> SandboxProcesses {
        Self::start_with_latency(bin, portfolio, SandboxLatency::default(), timeout)
    }

    /// [`start`](Self::start) with every protocol answer delayed by `latency`.
    pub fn start_with_latency(
        bin: &str,
        portfolio: &SandboxPortfolio,
        latency: SandboxLatency,
        timeout: Duration,
    ) -> SandboxProcesses {
        Self::start_with(bin, portfolio, latency, None, timeout)
    }

    /// [`start_with_latency`](Self::start_with_latency), with the WHMCS tables in the
    /// MariaDB database `whmcs_mysql` (`mysql://user@host:port/db`, must exist; seeded when
    /// empty) instead of the portfolio's SQLite file.
    pub fn start_with(
        bin: &str,
        portfolio: &SandboxPortfolio,
        latency: SandboxLatency,
        whmcs_mysql: Option<&str>,
        timeout: Duration,
    ) -> SandboxProcesses {
        let whmcs_latency = latency.whmcs_ms.to_string();
        let registrar_latency = latency.registrar_ms.to_string();
        let common = [
            "--domains".to_string(),
            portfolio.domains.to_string(),
            "--seed".into(),
            portfolio.seed.to_string(),
            "--today".into(),
            portfolio.today.to_string(),
            "--drift-per-mille".into(),
            portfolio.drift_per_mille.to_string(),
        ];
        let spawn = |port: u16, what: &[&str]| {
            let child = Command::new(bin)
                .args(what)
                .args(["--listen", &format!("127.0.0.1:{port}")])
                .args(&common)
                .env("DOMWATCH_LOG", "warn")
                .stdout(Stdio::null())
                .stderr(Stdio::inherit())
                .spawn()
                .expect("start a sandbox");
            (port, Running(child))
        };
        let whmcs_tables = match whmcs_mysql {
            Some(url) => ["--mysql-url", url],
            None => [
                "--sqlite",
                portfolio.whmcs_sqlite.to_str().expect("UTF-8 path"),
            ],
        };
        let started = [
            spawn(
                free_port(),
                &[
                    "sandbox",
                    "whmcs",
                    whmcs_tables[0],
                    whmcs_tables[1],
                    "--latency-ms",
                    &whmcs_latency,
                ],
            ),
            spawn(
                free_port(),
                &[
                    "sandbox",
                    "registrar",
                    "--dialect",
                    "cnr",
                    "--latency-ms",
                    &registrar_latency,
                ],
            ),
            spawn(
                free_port(),
                &[
                    "sandbox",
                    "registrar",
                    "--dialect",
                    "ispapi",
                    "--latency-ms",
                    &registrar_latency,
                ],
            ),
            spawn(
                free_port(),
                &[
                    "sandbox",
                    "registrar",
                    "--dialect",
                    "smartnic",
                    "--latency-ms",
                    &registrar_latency,
                ],
            ),
        ];
        let began = Instant::now();
        for (port, _) in &started {
            let left = timeout.saturating_sub(began.elapsed());
            wait_for_port(*port, "a sandbox process", left, None);
        }
        let [w, c, i, s] = started.map(|(port, child)| (format!("http://127.0.0.1:{port}"), child));
        SandboxProcesses {
            whmcs: w.0,
            cnr: c.0,
            ispapi: i.0,
            smartnic: s.0,
            children: vec![w.1, c.1, i.1, s.1],
        }
    }

    /// Process ids: WHMCS, CNR, ISPAPI, Smart-NIC.
    pub fn pids(&self) -> Vec<u32> {
        self.children.iter().map(Running::id).collect()
    }

    /// The `[whmcs]` and `[registrars.cnr]` sections of a `domwatch.toml` that point at
    /// these sandboxes; `bot` is the WHMCS client that owns domwatch's tickets. The CNR
    /// table comes last, so lines appended right after it belong to that account.
    pub fn config_sections(&self, bot: u64) -> String {
        format!(
            r#"[whmcs]
url = "{whmcs}"
identifier = "domwatch-sandbox-identifier"
secret = "domwatch-sandbox-secret"
bot_client_id = {bot}
ticket_department_id = 1

[registrars.cnr]
dialect = "cnr"
environment = "ote"
endpoint = "{cnr}/api/call.cgi"
login = "domwatch-sandbox"
password = "sandbox-password"
modules = ["cnic"]
"#,
            whmcs = self.whmcs,
            cnr = self.cnr,
        )
    }
}
