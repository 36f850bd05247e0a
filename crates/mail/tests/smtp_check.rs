//! `SmtpMailer::check_login` (what `domwatch doctor` runs) against aiosmtpd with AUTH:
//! the right login passes and sends nothing, a wrong one is refused with 535, a port
//! nobody listens on is a connection error.
//!
//! Needs `$DOMWATCH_PYTHON` with aiosmtpd; without it the test prints `SKIPPED: …`, or fails
//! when `DOMWATCH_REQUIRE_SMTP=1`.

use std::time::Duration;

use domwatch_mail::test_support::{AuthAttempt, ServerOptions, TestSmtpServer};
use domwatch_mail::{MailConfig, MailError, SmtpMailer};

fn mailer(url: &str) -> SmtpMailer {
    let config = MailConfig::from_settings(url, "domwatch@example.com", &["ops@example.com"])
        .expect("valid settings")
        .with_timeout(Duration::from_secs(5));
    SmtpMailer::new(config).expect("mailer")
}

#[tokio::test]
async fn check_login_logs_in_and_sends_nothing() {
    let options = ServerOptions {
        auth: Some(("domwatch".into(), "Pa55-w0rd".into())),
        ..ServerOptions::default()
    };
    let Some(server) = TestSmtpServer::start_or_skip("SMTP check_login", options) else {
        return;
    };
    mailer(&server.url_with_login("domwatch", "Pa55-w0rd"))
        .check_login()
        .await
        .expect("the right login is accepted");
    assert_eq!(
        server.auth_attempts(),
        [AuthAttempt {
            mechanism: "PLAIN".into(),
            login: Some("domwatch".into()),
            success: true
        }]
    );
    let refused = mailer(&server.url_with_login("domwatch", "wrong"))
        .check_login()
        .await
        .expect_err("a wrong password is refused");
    assert_eq!(refused.smtp_code(), Some(535), "{refused}");
    assert!(!refused.to_string().contains("wrong@"), "{refused}");
    assert!(server.received().is_empty(), "check_login sent a mail");

    // Bound but never listening: the port stays ours and refuses connections.
    let closed = tokio::net::TcpSocket::new_v4().unwrap();
    closed.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let port = closed.local_addr().unwrap().port();
    let unreachable = mailer(&format!("smtp://127.0.0.1:{port}"))
        .check_login()
        .await
        .expect_err("nobody answers on a bound, never-listening port");
    assert!(
        matches!(unreachable, MailError::Connection { .. }),
        "{unreachable:?}"
    );
    drop(closed);
}
