//! AUTH against aiosmtpd: the login goes to the server, the password shows up nowhere —
//! not in logs (captured at TRACE), `Debug`, `describe` or errors.
//!
//! Needs `$DOMWATCH_PYTHON` with aiosmtpd; without it the test prints `SKIPPED: …`, or fails
//! when `DOMWATCH_REQUIRE_SMTP=1`.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use domwatch_mail::test_support::{AuthAttempt, ServerOptions, TestSmtpServer};
use domwatch_mail::{Mail, MailConfig, Mailer, SmtpMailer};

fn smtp_mailer(url: &str, to: &[&str]) -> SmtpMailer {
    let config = MailConfig::from_settings(url, "domwatch@example.com", to)
        .expect("valid settings")
        .with_timeout(Duration::from_secs(5));
    SmtpMailer::new(config).expect("mailer")
}

/// Collects everything logged, at every level.
#[derive(Clone, Default)]
struct CapturedLog(Arc<Mutex<Vec<u8>>>);

impl CapturedLog {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl Write for CapturedLog {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn auth_sends_the_password_but_never_shows_it() {
    const LOGIN: &str = "domwatch";
    const PASSWORD: &str = "Pa55-w0rd-xyz";
    let options = ServerOptions {
        auth: Some((LOGIN.into(), PASSWORD.into())),
        ..ServerOptions::default()
    };
    let Some(server) = TestSmtpServer::start_or_skip("SMTP AUTH", options) else {
        return;
    };
    let log = CapturedLog::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    // Global, and this the only test of the binary: a thread-local subscriber can miss events
    // whose callsites other test threads registered first.
    tracing::subscriber::set_global_default(subscriber).expect("first subscriber");

    let mailer = smtp_mailer(
        &server.url_with_login(LOGIN, PASSWORD),
        &["ops@example.com"],
    );
    mailer
        .send(&Mail::new("with login", "text", "<auth.1@test>"))
        .await
        .expect("accepted with the right password");
    assert_eq!(
        server.auth_attempts(),
        [AuthAttempt {
            mechanism: "PLAIN".into(),
            login: Some(LOGIN.into()),
            success: true
        }]
    );
    assert_eq!(server.received().len(), 1);

    let wrong = smtp_mailer(
        &server.url_with_login(LOGIN, "not-the-Pa55"),
        &["ops@example.com"],
    );
    let wrong_login = wrong
        .send(&Mail::new("wrong login", "text", "<auth.2@test>"))
        .await
        .expect_err("refused with a wrong password");
    assert_eq!(wrong_login.smtp_code(), Some(535), "{wrong_login}");
    assert!(!wrong_login.is_retryable());
    assert!(
        wrong_login.to_string().contains("user and password"),
        "{wrong_login}"
    );

    let anonymous = smtp_mailer(&server.url(), &["ops@example.com"]);
    let no_login = anonymous
        .send(&Mail::new("no login", "text", "<auth.3@test>"))
        .await
        .expect_err("refused without login");
    assert_eq!(no_login.smtp_code(), Some(530), "{no_login}");
    assert_eq!(
        server.received().len(),
        1,
        "only the authenticated mail arrived"
    );

    let logged = log.text();
    assert!(
        logged.contains("mail sent"),
        "the log was captured: {logged}"
    );
    assert!(logged.contains("domwatch:***@127.0.0.1"), "{logged}");
    for shown in [
        logged,
        mailer.describe(),
        format!("{mailer:?}"),
        format!("{:?}", mailer.config()),
        format!("{wrong:?}"),
        format!("{wrong_login} {wrong_login:?}"),
    ] {
        assert!(!shown.contains(PASSWORD), "password shown in: {shown}");
        assert!(
            !shown.contains("not-the-Pa55"),
            "password shown in: {shown}"
        );
    }
}
