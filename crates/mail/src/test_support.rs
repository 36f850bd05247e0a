//! A real SMTP server for tests: Python's aiosmtpd on 127.0.0.1, storing mail in a Maildir.
//!
//! Needs `$DOMWATCH_PYTHON`, a Python with `aiosmtpd` (`scripts/test` makes `.venv` from
//! `scripts/requirements-test.txt`). Without it [`TestSmtpServer::start_or_skip`] prints
//! `SKIPPED: …` and returns `None`, or panics when `DOMWATCH_REQUIRE_SMTP=1` (CI).
//!
//! ```no_run
//! # async fn example() {
//! use domwatch_mail::test_support::{ServerOptions, TestSmtpServer};
//! use domwatch_mail::{Mail, MailConfig, Mailer, SmtpMailer};
//!
//! let Some(server) = TestSmtpServer::start_or_skip("digest mail", ServerOptions::default())
//! else {
//!     return;
//! };
//! let config =
//!     MailConfig::from_settings(&server.url(), "domwatch@example.com", &["ops@example.com"])
//!         .unwrap();
//! let mailer = SmtpMailer::new(config).unwrap();
//! mailer.send(&Mail::new("Digest", "2 new cases", "<d.1@test>")).await.unwrap();
//! assert_eq!(server.received()[0].header("Subject"), Some("Digest"));
//! # }
//! ```

use std::fs::File;
use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde::Deserialize;
use tempfile::TempDir;

/// The harness script; written next to the Maildir so the crate's source tree need not be
/// around at run time.
const HARNESS_SCRIPT: &str = include_str!("../tests/support/smtp_server.py");
const PASSWORD_VARIABLE: &str = "DOMWATCH_SMTP_TEST_PASSWORD";
const READY_TIMEOUT: Duration = Duration::from_secs(15);

/// What the server demands beyond taking every mail.
#[derive(Debug, Clone, Default)]
pub struct ServerOptions {
    /// `(login, password)`: AUTH PLAIN/LOGIN is required (offered without TLS).
    pub auth: Option<(String, String)>,
    /// These recipients get `550 5.1.1` at RCPT TO.
    pub refuse_recipients: Vec<String>,
}

/// A running aiosmtpd. Without options it is exactly
/// `python -m aiosmtpd -n -l 127.0.0.1:PORT -c aiosmtpd.handlers.Mailbox MAILDIR`; with
/// AUTH or refusals it is `tests/support/smtp_server.py serve`. Killed on drop.
#[derive(Debug)]
pub struct TestSmtpServer {
    python: String,
    child: Option<Child>,
    port: u16,
    dir: TempDir,
}

/// One stored message, parsed by Python's `email` package.
#[derive(Debug, Clone, Deserialize)]
pub struct ReceivedMail {
    /// In order, values decoded (RFC 2047 subjects and names come back as UTF-8). aiosmtpd
    /// adds `X-MailFrom` and `X-RcptTo` with the envelope.
    pub headers: Vec<(String, String)>,
    /// The `Date` header as Unix time; `None` when missing or not RFC 5322.
    pub date_unix: Option<f64>,
    /// e.g. `text/plain` or `multipart/alternative`.
    pub content_type: String,
    /// Content types of the message and all its parts, depth first.
    pub part_types: Vec<String>,
    /// The decoded `text/plain` body, if any.
    pub text: Option<String>,
    /// The decoded `text/html` body, if any.
    pub html: Option<String>,
    /// The message as stored (after aiosmtpd's `X-` headers).
    pub raw: String,
}

impl ReceivedMail {
    /// The first header of that name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// One AUTH attempt the server saw (never the password).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct AuthAttempt {
    pub mechanism: String,
    pub login: Option<String>,
    pub success: bool,
}

/// The Python to run aiosmtpd with, or `None` after printing `SKIPPED: {test}: …` to stderr.
/// Panics instead of skipping when `DOMWATCH_REQUIRE_SMTP=1`.
pub fn smtp_python_or_skip(test: &str) -> Option<String> {
    static PYTHON: OnceLock<Result<String, String>> = OnceLock::new();
    let found = PYTHON.get_or_init(find_python);
    match found {
        Ok(python) => Some(python.clone()),
        Err(reason) if std::env::var("DOMWATCH_REQUIRE_SMTP").as_deref() == Ok("1") => {
            panic!("{test}: {reason}, and DOMWATCH_REQUIRE_SMTP=1 makes that a failure")
        }
        Err(reason) => {
            // Straight to fd 2: libtest captures `eprintln!` of passing tests.
            let line = format!("SKIPPED: {test}: {reason}\n");
            let _ = std::io::stderr().write_all(line.as_bytes());
            None
        }
    }
}

fn find_python() -> Result<String, String> {
    const SETUP: &str = "run scripts/test, or `python3 -m venv .venv && .venv/bin/pip install \
                         -r scripts/requirements-test.txt && export \
                         DOMWATCH_PYTHON=$PWD/.venv/bin/python`";
    let python = match std::env::var("DOMWATCH_PYTHON") {
        Ok(python) if !python.is_empty() => python,
        _ => {
            return Err(format!(
                "the SMTP test server needs DOMWATCH_PYTHON; {SETUP}"
            ))
        }
    };
    let imported = Command::new(&python)
        .args(["-c", "import aiosmtpd"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    match imported {
        Ok(status) if status.success() => Ok(python),
        Ok(_) => Err(format!("{python} cannot import aiosmtpd; {SETUP}")),
        Err(e) => Err(format!(
            "cannot run DOMWATCH_PYTHON={python} ({e}); {SETUP}"
        )),
    }
}

impl TestSmtpServer {
    /// Starts a server, or returns `None` after `SKIPPED: …` when there is no Python with
    /// aiosmtpd (see [`smtp_python_or_skip`]). A server that has aiosmtpd but does not come
    /// up is a failure: this panics.
    pub fn start_or_skip(test: &str, options: ServerOptions) -> Option<Self> {
        let python = smtp_python_or_skip(test)?;
        Some(Self::start(&python, &options).unwrap_or_else(|e| panic!("{test}: {e}")))
    }

    /// Starts a server on a free loopback port and waits until it accepts connections.
    pub fn start(python: &str, options: &ServerOptions) -> Result<Self, String> {
        let dir = tempfile::Builder::new()
            .prefix("domwatch-smtp-")
            .tempdir()
            .map_err(|e| format!("cannot create a temporary directory: {e}"))?;
        std::fs::write(dir.path().join("smtp_server.py"), HARNESS_SCRIPT)
            .map_err(|e| format!("cannot write the harness script: {e}"))?;
        let mut server = TestSmtpServer {
            python: python.to_owned(),
            child: None,
            port: 0,
            dir,
        };
        // A port is free when picked but may be taken before the server binds it: retry.
        let mut last_error = String::new();
        for _ in 0..3 {
            server.port = free_port()?;
            server.child = Some(server.spawn(options)?);
            match server.wait_until_ready() {
                Ok(()) => return Ok(server),
                Err(e) => {
                    last_error = e;
                    server.stop();
                }
            }
        }
        Err(last_error)
    }

    fn spawn(&self, options: &ServerOptions) -> Result<Child, String> {
        let listen = format!("127.0.0.1:{}", self.port);
        let mut command = Command::new(&self.python);
        if options.auth.is_none() && options.refuse_recipients.is_empty() {
            command.args([
                "-m",
                "aiosmtpd",
                "-n",
                "-l",
                &listen,
                "-c",
                "aiosmtpd.handlers.Mailbox",
            ]);
            command.arg(self.maildir());
        } else {
            command
                .arg(self.dir.path().join("smtp_server.py"))
                .args(["serve", "--port", &self.port.to_string(), "--maildir"])
                .arg(self.maildir())
                .arg("--auth-log")
                .arg(self.auth_log());
            if let Some((login, password)) = &options.auth {
                command.args(["--auth-login", login]);
                command.env(PASSWORD_VARIABLE, password);
            }
            for address in &options.refuse_recipients {
                command.args(["--refuse", address]);
            }
        }
        let log = File::create(self.log_path())
            .map_err(|e| format!("cannot create the server log: {e}"))?;
        let log_err = log
            .try_clone()
            .map_err(|e| format!("cannot share the server log: {e}"))?;
        command
            // The harness script exits when this pipe closes, i.e. with the test process.
            .stdin(Stdio::piped())
            .stdout(log)
            .stderr(log_err)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", self.python))
    }

    fn wait_until_ready(&mut self) -> Result<(), String> {
        let address = SocketAddr::from(([127, 0, 0, 1], self.port));
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    return Err(format!(
                        "the SMTP test server exited ({status}) before accepting connections:\n{}",
                        self.log()
                    ));
                }
            }
            if TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_ok() {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "the SMTP test server did not accept connections on {address} within {} s:\n{}",
                    READY_TIMEOUT.as_secs(),
                    self.log()
                ));
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `smtp://127.0.0.1:PORT`, for `notices.smtp_url`.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// `smtp://LOGIN:PASSWORD@127.0.0.1:PORT`; both must be URL-safe as given.
    pub fn url_with_login(&self, login: &str, password: &str) -> String {
        format!("smtp://{login}:{password}@127.0.0.1:{}", self.port)
    }

    /// Everything received so far, in delivery order. A mail is stored before the server
    /// answers 250 to its data, so a successful send is visible here at once.
    pub fn received(&self) -> Vec<ReceivedMail> {
        if !self.maildir().join("new").exists() {
            return Vec::new();
        }
        let output = Command::new(&self.python)
            .arg(self.dir.path().join("smtp_server.py"))
            .arg("read")
            .arg(self.maildir())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {} to read the Maildir: {e}", self.python));
        assert!(
            output.status.success(),
            "reading the Maildir failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout)
            .unwrap_or_else(|e| panic!("the Maildir reader printed no valid JSON: {e}"))
    }

    /// AUTH attempts so far (only with [`ServerOptions::auth`]).
    pub fn auth_attempts(&self) -> Vec<AuthAttempt> {
        let text = std::fs::read_to_string(self.auth_log()).unwrap_or_default();
        text.lines()
            .map(|line| serde_json::from_str(line).expect("auth log line is JSON"))
            .collect()
    }

    /// What the server printed (aiosmtpd's own log).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// Kills the server (to test a server that went away); the Maildir stays readable.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn maildir(&self) -> PathBuf {
        self.dir.path().join("maildir")
    }

    fn auth_log(&self) -> PathBuf {
        self.dir.path().join("auth.jsonl")
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("server.log")
    }

    /// The directory holding the Maildir, the logs and the harness script.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for TestSmtpServer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn free_port() -> Result<u16, String> {
    TcpListener::bind(("127.0.0.1", 0))
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .map_err(|e| format!("cannot find a free port on 127.0.0.1: {e}"))
}
