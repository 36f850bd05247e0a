//! Secrets stay out of the client's logs. Alone in its test binary: tracing caches per call
//! site whether anyone listens, and a test on another thread hitting a call site while this
//! one's subscriber is being set up could leave the site marked as unheard.

mod support;

use domwatch_core::model::Dialect;
use domwatch_rrp::client::RrpClient;
use domwatch_rrp::codec::Command;
use std::sync::{Arc, Mutex};
use support::{config, MockServer, Reply, OK_BODY, PASSWORD};

#[tokio::test]
async fn secrets_never_reach_the_logs() {
    use tracing_subscriber::fmt::MakeWriter;

    #[derive(Clone, Default)]
    struct Capture(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Capture {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    impl<'a> MakeWriter<'a> for Capture {
        type Writer = Capture;
        fn make_writer(&'a self) -> Self::Writer {
            self.clone()
        }
    }

    let capture = Capture::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(capture.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    // Other tests run on other threads without this subscriber; if one of them reached a
    // log call site first, tracing cached it as "never enabled". Recompute with ours.
    tracing::callsite::rebuild_interest_cache();

    let server = MockServer::start(|_, n| {
        if n == 0 {
            Reply::code(421, "try again")
        } else {
            Reply::ok(OK_BODY)
        }
    })
    .await;
    let client = RrpClient::new(config(Dialect::Cnr, &server)).unwrap();
    client
        .request(
            &Command::new("ModifyDomain")
                .with("DOMAIN", "example.com")
                .with("AUTH", "Epp-Auth-Code-123")
                .with("PASSWORD", "another-secret"),
        )
        .await
        .unwrap();
    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("ModifyDomain"), "logs captured: {logs}");
    assert!(logs.contains("AUTH=***"), "{logs}");
    for secret in [PASSWORD, "Epp-Auth-Code-123", "another-secret"] {
        assert!(
            !logs.contains(secret),
            "secret {secret} leaked into logs: {logs}"
        );
    }
    // The secret still went to the server, of course.
    assert_eq!(
        server.received()[0].command().get("AUTH"),
        Some("Epp-Auth-Code-123")
    );
}
