//! `SmtpMailer` against a real SMTP server (aiosmtpd, see `domwatch_mail::test_support`),
//! and against a port nobody listens on and a server that never answers. AUTH is in
//! `smtp_auth.rs`.
//!
//! The aiosmtpd tests need `$DOMWATCH_PYTHON` with aiosmtpd (`scripts/test` sets it up);
//! without it they print `SKIPPED: …`, or fail when `DOMWATCH_REQUIRE_SMTP=1`.

use std::net::TcpListener;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use domwatch_mail::test_support::{ServerOptions, TestSmtpServer};
use domwatch_mail::{Mail, MailConfig, MailError, Mailer, SmtpMailer};

const FROM: &str = "domwatch <domwatch@example.com>";

fn smtp_mailer(url: &str, to: &[&str]) -> SmtpMailer {
    let config = MailConfig::from_settings(url, FROM, to)
        .expect("valid settings")
        .with_timeout(Duration::from_secs(5));
    SmtpMailer::new(config).expect("mailer")
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

#[tokio::test]
async fn plain_and_html_mails_arrive_with_their_headers_and_utf8_content() {
    let Some(server) =
        TestSmtpServer::start_or_skip("SMTP headers and content", ServerOptions::default())
    else {
        return;
    };
    let mailer = smtp_mailer(
        &server.url(),
        &["ops@example.com", "Jörg Müller <joerg@müller.de>"],
    );

    let plain = Mail::new(
        "Neue Fälle: müller.de läuft ab",
        "Die Domain müller.de läuft am 2025-07-01 ab.\nGrüße, domwatch\n",
        "<domwatch.digest.41@domwatch.example>",
    );
    let receipt = mailer.send(&plain).await.expect("plain mail sent");
    assert_eq!(receipt.message_id, plain.message_id);
    assert_eq!(
        receipt.accepted_recipients,
        ["ops@example.com", "joerg@xn--mller-kva.de"]
    );
    assert!(receipt.server_response.starts_with("250"), "{receipt:?}");

    let html = Mail::new(
        "Lifecycle: straße.de gelöscht",
        "straße.de wurde gelöscht.",
        "<domwatch.lifecycle.strasse-de.7@domwatch.example>",
    )
    .with_html("<p><b>straße.de</b> wurde gelöscht.</p>");
    mailer.send(&html).await.expect("html mail sent");

    let received = server.received();
    assert_eq!(received.len(), 2, "{received:#?}");

    let first = &received[0];
    assert_eq!(first.header("Subject"), Some(plain.subject.as_str()));
    assert_eq!(first.header("From"), Some(FROM));
    assert_eq!(
        first.header("To"),
        Some("ops@example.com, Jörg Müller <joerg@xn--mller-kva.de>")
    );
    assert_eq!(first.header("Message-ID"), Some(plain.message_id.as_str()));
    let sent_at = first.date_unix.expect("an RFC 5322 Date header");
    assert!(
        (unix_now() - sent_at).abs() < 300.0,
        "Date is now: {sent_at}"
    );
    // aiosmtpd records the envelope: the IDN recipient went out in ASCII.
    assert_eq!(first.header("X-MailFrom"), Some("domwatch@example.com"));
    assert_eq!(
        first.header("X-RcptTo"),
        Some("ops@example.com, joerg@xn--mller-kva.de")
    );
    assert_eq!(first.content_type, "text/plain");
    // MIME and SMTP framing end the body with line breaks of their own.
    assert_eq!(
        first.text.as_deref().map(str::trim_end),
        Some(plain.text.trim_end())
    );
    assert_eq!(first.html, None);

    let second = &received[1];
    assert_eq!(second.header("Subject"), Some(html.subject.as_str()));
    assert_eq!(second.content_type, "multipart/alternative");
    assert_eq!(
        second.part_types,
        ["multipart/alternative", "text/plain", "text/html"]
    );
    assert_eq!(
        second.text.as_deref().map(str::trim_end),
        Some(html.text.as_str())
    );
    assert_eq!(
        second.html.as_deref().map(str::trim_end),
        html.html.as_deref()
    );
}

#[tokio::test]
async fn mails_in_a_row_reuse_one_pooled_connection() {
    let Some(server) =
        TestSmtpServer::start_or_skip("SMTP pooled connection", ServerOptions::default())
    else {
        return;
    };
    let mailer = smtp_mailer(&server.url(), &["ops@example.com"]);
    for n in 1..=5 {
        let mail = Mail::new(format!("mail {n}"), "text", format!("<row.{n}@test>"));
        mailer.send(&mail).await.expect("sent");
    }

    let received = server.received();
    let subjects: Vec<_> = received
        .iter()
        .map(|m| m.header("Subject").unwrap())
        .collect();
    assert_eq!(subjects, ["mail 1", "mail 2", "mail 3", "mail 4", "mail 5"]);
    // X-Peer is the client's address and port: one connection carried all five.
    let peers: Vec<_> = received
        .iter()
        .map(|m| m.header("X-Peer").unwrap())
        .collect();
    assert!(peers.iter().all(|peer| *peer == peers[0]), "{peers:?}");
}

#[tokio::test]
async fn a_refused_recipient_is_a_permanent_rejection_with_its_code() {
    let options = ServerOptions {
        refuse_recipients: vec!["gone@example.com".into()],
        ..ServerOptions::default()
    };
    let Some(server) = TestSmtpServer::start_or_skip("SMTP refused recipient", options) else {
        return;
    };
    let mailer = smtp_mailer(&server.url(), &["ops@example.com", "gone@example.com"]);
    let error = mailer
        .send(&Mail::new("to a gone mailbox", "text", "<refused.1@test>"))
        .await
        .expect_err("recipient refused");
    match &error {
        MailError::Rejected { code, response, .. } => {
            assert_eq!(*code, 550);
            assert!(response.contains("gone@example.com"), "{response}");
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
    assert!(!error.is_retryable());
    assert!(error.to_string().contains("`notices.mail_to`"), "{error}");
    assert!(server.received().is_empty(), "nothing was delivered");

    // The same pooled transport still delivers once the recipient is fine.
    let fine = smtp_mailer(&server.url(), &["ops@example.com"]);
    fine.send(&Mail::new("fine", "text", "<refused.2@test>"))
        .await
        .expect("sent");
    assert_eq!(server.received().len(), 1);
}

#[tokio::test]
async fn a_server_that_went_away_is_a_retryable_connection_error() {
    let Some(mut server) =
        TestSmtpServer::start_or_skip("SMTP server gone", ServerOptions::default())
    else {
        return;
    };
    let mailer = smtp_mailer(&server.url(), &["ops@example.com"]);
    mailer
        .send(&Mail::new("before", "text", "<gone.1@test>"))
        .await
        .expect("sent while up");
    server.stop();

    // The pooled connection is dead and a new one is refused.
    let error = mailer
        .send(&Mail::new("after", "text", "<gone.2@test>"))
        .await
        .expect_err("server is down");
    assert!(matches!(error, MailError::Connection { .. }), "{error:?}");
    assert!(error.is_retryable());
    assert_eq!(server.received().len(), 1);
}

#[tokio::test]
async fn nothing_listening_is_a_retryable_connection_error() {
    // Bind and release a port: nothing listens there afterwards.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mailer = smtp_mailer(&format!("smtp://127.0.0.1:{port}"), &["ops@example.com"]);
    let error = mailer
        .send(&Mail::new("nowhere", "text", "<down.1@test>"))
        .await
        .expect_err("connection refused");
    assert!(matches!(error, MailError::Connection { .. }), "{error:?}");
    assert!(error.is_retryable());
    assert!(
        error.to_string().contains(&format!("127.0.0.1:{port}")),
        "{error}"
    );
}

#[tokio::test]
async fn a_server_that_never_answers_times_out() {
    // Accepts connections (the kernel does it) but never sends the SMTP greeting.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let config = MailConfig::from_settings(
        &format!("smtp://127.0.0.1:{port}"),
        FROM,
        &["ops@example.com"],
    )
    .unwrap()
    .with_timeout(Duration::from_millis(300));
    let mailer = SmtpMailer::new(config).unwrap();

    let started = Instant::now();
    let error = mailer
        .send(&Mail::new("silence", "text", "<silent.1@test>"))
        .await
        .expect_err("times out");
    assert!(matches!(error, MailError::Timeout { .. }), "{error:?}");
    assert!(error.is_retryable());
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    drop(silent);
}
