//! RrpClient against a local server on 127.0.0.1: retries, permanent errors, timeouts,
//! authentication and sessions (secrets staying out of logs: `log_redaction.rs`).

mod support;

use domwatch_core::model::Dialect;
use domwatch_rrp::client::{ClientConfig, ClientError, Environment, RrpClient};
use domwatch_rrp::codec::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::{config, MockServer, Reply, OK_BODY, PASSWORD};

#[tokio::test]
async fn retries_421_then_succeeds() {
    let server = MockServer::start(|_, n| {
        if n < 2 {
            Reply::code(
                421,
                "Command failed due to server error. Client should try again",
            )
        } else {
            Reply::ok(OK_BODY)
        }
    })
    .await;
    let client = RrpClient::new(config(Dialect::Cnr, &server)).unwrap();
    let response = client
        .request(&Command::new("StatusAccount"))
        .await
        .unwrap();
    assert_eq!(response.value("amount"), Some("12.50"));
    let received = server.received();
    assert_eq!(received.len(), 3);
    let first = &received[0];
    assert_eq!(first.field("s_login"), Some("reseller"));
    assert_eq!(first.field("s_pw"), Some(PASSWORD));
    assert_eq!(first.field("s_command"), Some("COMMAND=StatusAccount"));
    assert_eq!(
        first.content_type.as_deref(),
        Some("application/x-www-form-urlencoded")
    );
    assert!(first
        .user_agent
        .as_deref()
        .unwrap()
        .starts_with("domwatch/"));
}

#[tokio::test]
async fn gives_up_after_max_retries_with_a_temporary_error() {
    let server =
        MockServer::start(|_, _| Reply::code(425, "Service temporarily locked; usage exceeded"))
            .await;
    let mut config = config(Dialect::Cnr, &server);
    config.max_retries = 2;
    let client = RrpClient::new(config).unwrap();
    let error = client
        .request(&Command::new("StatusAccount"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            ClientError::Temporary {
                code: 425,
                attempts: 3,
                ..
            }
        ),
        "{error}"
    );
    assert_eq!(server.received().len(), 3);
}

#[tokio::test]
async fn never_retries_a_permanent_545() {
    let server = MockServer::start(|_, _| Reply::code(545, "Entity reference not found")).await;
    let client = RrpClient::new(config(Dialect::Cnr, &server)).unwrap();
    let error = client
        .request(&Command::new("StatusDomain").with("DOMAIN", "missing.com"))
        .await
        .unwrap_err();
    match &error {
        ClientError::Permanent {
            code,
            description,
            command,
        } => {
            assert_eq!(*code, 545);
            assert_eq!(description, "Entity reference not found");
            assert_eq!(command, "StatusDomain");
        }
        other => panic!("expected a permanent error, got {other:?}"),
    }
    assert_eq!(server.received().len(), 1);
}

#[tokio::test]
async fn success_is_never_retried_and_call_returns_errors_as_responses() {
    let server = MockServer::start(|_, _| Reply::code(219, "Request is not available")).await;
    let client = RrpClient::new(config(Dialect::Ispapi, &server)).unwrap();
    let response = client
        .call(&Command::new("CheckDomainTransfer"))
        .await
        .unwrap();
    assert_eq!(response.code(), 219);
    assert_eq!(server.received().len(), 1);
}

#[tokio::test]
async fn timeout_becomes_a_clear_error() {
    let server = MockServer::start(|_, _| Reply::ok(OK_BODY).delayed(Duration::from_secs(3))).await;
    let mut config = config(Dialect::Cnr, &server);
    config.total_timeout = Duration::from_millis(200);
    config.max_retries = 1;
    let client = RrpClient::new(config).unwrap();
    let error = client
        .request(&Command::new("StatusAccount"))
        .await
        .unwrap_err();
    assert!(
        matches!(error, ClientError::Timeout { attempts: 2, .. }),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(message.contains("raise the timeout"), "{message}");
    assert_eq!(server.received().len(), 2, "a timeout is retried");
}

#[tokio::test]
async fn bad_credentials_say_which_account_to_check() {
    let server = MockServer::start(|_, _| Reply::code(530, "Authentication failed")).await;
    let mut config = config(Dialect::Cnr, &server);
    config.role = Some("monitor".into());
    let client = RrpClient::new(config).unwrap();
    let error = client
        .request(&Command::new("StatusAccount"))
        .await
        .unwrap_err();
    assert!(
        matches!(error, ClientError::Auth { code: 530, .. }),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(message.contains("check login/password"), "{message}");
    assert!(message.contains("reseller:monitor"), "{message}");
    assert!(!message.contains(PASSWORD));
    assert_eq!(
        server.received().len(),
        1,
        "530 without a session is not retried"
    );
}

#[tokio::test]
async fn garbage_body_is_a_protocol_error_quoting_the_body() {
    let server = MockServer::start(|_, _| Reply::ok("<html><body>Maintenance</body></html>")).await;
    let mut config = config(Dialect::Cnr, &server);
    config.max_retries = 1;
    let client = RrpClient::new(config).unwrap();
    let error = client
        .request(&Command::new("StatusAccount"))
        .await
        .unwrap_err();
    match &error {
        ClientError::Protocol {
            code,
            body_prefix,
            description,
            ..
        } => {
            assert_eq!(*code, 423);
            assert_eq!(description, "Invalid API response. Contact Support");
            assert!(body_prefix.starts_with("<html><body>Maintenance"));
        }
        other => panic!("expected a protocol error, got {other:?}"),
    }
    assert!(error.to_string().contains("<html><body>Maintenance"));
    assert_eq!(server.received().len(), 2, "423 is retried once");
}

#[tokio::test]
async fn http_error_status_is_retried_as_421() {
    let server = MockServer::start(|_, n| {
        if n == 0 {
            Reply::status(502)
        } else {
            Reply::ok(OK_BODY)
        }
    })
    .await;
    let client = RrpClient::new(config(Dialect::Cnr, &server)).unwrap();
    let response = client
        .request(&Command::new("StatusAccount"))
        .await
        .unwrap();
    assert_eq!(response.code(), 200);
    assert_eq!(server.received().len(), 2);
}

#[tokio::test]
async fn connection_refused_is_a_temporary_error_naming_the_cause() {
    // A socket bound but never listening holds the port for the whole test (no other
    // test's server can take it) and the kernel refuses every connection to it.
    let reserved = tokio::net::TcpSocket::new_v4().unwrap();
    reserved.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let port = reserved.local_addr().unwrap().port();
    let mut config = ClientConfig::new(Dialect::Cnr, Environment::Ote, "reseller", PASSWORD);
    config.endpoint = Some(
        format!("http://127.0.0.1:{port}/api/call.cgi")
            .parse()
            .unwrap(),
    );
    config.max_retries = 1;
    config.retry_base_delay = Duration::from_millis(1);
    let client = RrpClient::new(config).unwrap();
    let error = client
        .request(&Command::new("StatusAccount"))
        .await
        .unwrap_err();
    match &error {
        ClientError::Temporary {
            code: 421,
            description,
            attempts: 2,
            ..
        } => {
            assert!(
                description.starts_with("Command failed due to HTTP communication error ("),
                "{description}"
            );
        }
        other => panic!("expected 421, got {other:?}"),
    }
    let response = client.call(&Command::new("StatusAccount")).await.unwrap();
    assert_eq!(response.code(), 421);
}

#[tokio::test]
async fn cnr_session_flow_with_relogin_after_session_loss() {
    let sessions = Arc::new(Mutex::new(0u32));
    let issued = sessions.clone();
    let server = MockServer::start(move |request, _| {
        if request.field("persistent") == Some("1") {
            assert!(request.field("s_command").is_none(), "CNR login sends no s_command");
            assert_eq!(request.field("s_pw"), Some(PASSWORD));
            let mut n = issued.lock().unwrap();
            *n += 1;
            return Reply::ok(format!(
                "[RESPONSE]\ncode = 200\ndescription = Command completed successfully\n\
                 property[expiration date][0] = 2026-07-25 07:46:34\nproperty[sessionid][0] = session-{n}\nEOF\n"
            ));
        }
        let session = request.field("s_sessionid").expect("commands use the session");
        assert!(request.field("s_pw").is_none(), "no password next to a session");
        let command = request.command();
        if command.name() == "StopSession" {
            return Reply::code(200, "Command completed successfully");
        }
        if session == "session-1" && command.name() == "QueryDomainList" {
            return Reply::code(530, "SESSION NOT FOUND");
        }
        Reply::ok(OK_BODY)
    })
    .await;
    let mut config = config(Dialect::Cnr, &server);
    config.use_session = true;
    let client = RrpClient::new(config).unwrap();
    client
        .request(&Command::new("StatusAccount"))
        .await
        .unwrap();
    assert!(client.has_session().await);
    client
        .request(&Command::new("QueryDomainList"))
        .await
        .unwrap();
    client.logout().await.unwrap();
    assert!(!client.has_session().await);

    let received = server.received();
    let summary: Vec<String> = received
        .iter()
        .map(|r| match r.field("persistent") {
            Some(_) => "login".to_string(),
            None => format!(
                "{}@{}",
                r.command().name(),
                r.field("s_sessionid").unwrap_or("-")
            ),
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            "login",
            "StatusAccount@session-1",
            "QueryDomainList@session-1",
            "login",
            "QueryDomainList@session-2",
            "StopSession@session-2",
        ]
    );
}

#[tokio::test]
async fn ispapi_session_flow_and_bad_login() {
    let server = MockServer::start(|request, _| {
        assert_eq!(request.field("s_entity"), Some("1234"));
        let command = request.command();
        match command.name() {
            "StartSession" if request.field("s_pw") == Some(PASSWORD) => Reply::ok(
                "[RESPONSE]\r\nPROPERTY[SESSION][0]=hx-session\r\nDESCRIPTION=Command completed successfully\r\nCODE=200\r\nEOF\r\n",
            ),
            "StartSession" => Reply::code(530, "Authentication failed"),
            _ if request.field("s_session") == Some("hx-session") => {
                assert!(request.field("s_login").is_none());
                Reply::ok(OK_BODY)
            }
            _ => Reply::code(530, "Authentication failed"),
        }
    })
    .await;
    let mut good = config(Dialect::Ispapi, &server);
    good.use_session = true;
    let client = RrpClient::new(good.clone()).unwrap();
    client
        .request(&Command::new("StatusAccount"))
        .await
        .unwrap();
    client.logout().await.unwrap();
    let names: Vec<String> = server
        .received()
        .iter()
        .map(|r| r.command().name().to_string())
        .collect();
    assert_eq!(names, vec!["StartSession", "StatusAccount", "EndSession"]);

    let mut bad = good;
    bad.password = "wrong".into();
    let client = RrpClient::new(bad).unwrap();
    let error = client
        .request(&Command::new("StatusAccount"))
        .await
        .unwrap_err();
    assert!(matches!(error, ClientError::Auth { .. }), "{error:?}");
}

#[tokio::test]
async fn concurrency_limit_is_respected() {
    let server =
        MockServer::start(|_, _| Reply::ok(OK_BODY).delayed(Duration::from_millis(50))).await;
    let mut config = config(Dialect::Cnr, &server);
    config.max_concurrency = 2;
    let client = Arc::new(RrpClient::new(config).unwrap());
    let tasks: Vec<_> = (0..6)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.request(&Command::new("StatusAccount")).await })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let peak = server
        .max_in_flight
        .load(std::sync::atomic::Ordering::SeqCst);
    assert!((1..=2).contains(&peak), "peak in flight {peak}");
}

#[tokio::test]
async fn min_interval_spaces_requests() {
    let server = MockServer::start(|_, _| Reply::ok(OK_BODY)).await;
    let mut config = config(Dialect::Cnr, &server);
    config.min_interval = Duration::from_millis(40);
    let client = RrpClient::new(config).unwrap();
    let start = std::time::Instant::now();
    for _ in 0..4 {
        client
            .request(&Command::new("StatusAccount"))
            .await
            .unwrap();
    }
    assert!(
        start.elapsed() >= Duration::from_millis(120),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test]
async fn a_refused_connection_says_so_and_names_the_endpoint() {
    // A socket bound but never listening holds the port for the whole test (no other
    // test's server can take it) and the kernel refuses every connection to it.
    let reserved = tokio::net::TcpSocket::new_v4().unwrap();
    reserved.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let port = reserved.local_addr().unwrap().port();
    for (dialect, name) in [(Dialect::Cnr, "CNR"), (Dialect::Ispapi, "ISPAPI")] {
        let endpoint = format!("http://127.0.0.1:{port}/api/call.cgi");
        let mut config = ClientConfig::new(dialect, Environment::Ote, "reseller", PASSWORD);
        config.endpoint = Some(endpoint.parse().unwrap());
        config.max_retries = 1;
        config.retry_base_delay = Duration::from_millis(1);
        let client = RrpClient::new(config).unwrap();
        // A write too: nothing reached the registrar, so it may be sent again.
        let error = client
            .request(&Command::new("SetDomainRenewalMode").with("DOMAIN", "a.com"))
            .await
            .unwrap_err();
        assert!(
            matches!(
                error,
                ClientError::Temporary {
                    code: 421,
                    attempts: 2,
                    ..
                }
            ),
            "{error:?}"
        );
        let expected = format!(
            "cannot connect to {name} at {endpoint}: connection refused — is the registrar reachable from this host?"
        );
        assert!(error.to_string().contains(&expected), "{error}");
        let port_error = domwatch_core::ports::RegistrarError::from(error);
        assert!(port_error.is_retryable());
        assert!(port_error.to_string().contains(&expected), "{port_error}");
    }
}

#[tokio::test]
async fn a_body_without_eof_is_retried_for_reads_and_never_used() {
    let cut = "[RESPONSE]\ncode = 200\ndescription = Command completed successfully\nproperty[amount][0] = 12.50\n";
    let server = MockServer::start(move |_, _| Reply::ok(cut)).await;
    let mut config = config(Dialect::Cnr, &server);
    config.max_retries = 2;
    let client = RrpClient::new(config).unwrap();
    let error = client
        .request(&Command::new("StatusAccount"))
        .await
        .unwrap_err();
    match &error {
        ClientError::Truncated {
            command,
            account,
            received_bytes,
            attempts,
            write,
            ..
        } => {
            assert_eq!(
                (command.as_str(), account.as_str()),
                ("StatusAccount", "reseller")
            );
            assert_eq!((*received_bytes, *attempts, *write), (cut.len(), 3, false));
        }
        other => panic!("expected Truncated, got {other:?}"),
    }
    assert_eq!(server.received().len(), 3, "a cut-off read is retried");
    let message = error.to_string();
    assert!(
        message.contains("was cut off") && message.contains("nothing was changed"),
        "{message}"
    );
    // `call` hands the template back, never the cut body's values.
    let raw = client.call(&Command::new("StatusAccount")).await.unwrap();
    assert_eq!(raw.code(), 421);
    assert_eq!(raw.value("amount"), None);
}

#[tokio::test]
async fn a_lost_or_cut_answer_to_a_write_is_not_sent_again() {
    for reply in [
        || Reply::ok("[RESPONSE]\ncode = 200\ndescription = Command compl"),
        || Reply::status(502),
        || Reply::ok("<html>proxy error</html>"),
    ] {
        let server = MockServer::start(move |_, _| reply()).await;
        let client = RrpClient::new(config(Dialect::Cnr, &server)).unwrap();
        let error = client
            .request(
                &Command::new("RenewDomain")
                    .with("DOMAIN", "a.com")
                    .with("PERIOD", 1u32),
            )
            .await
            .unwrap_err();
        assert_eq!(server.received().len(), 1, "{error:?}");
        if let ClientError::Truncated { write, .. } = &error {
            assert!(*write);
            assert!(
                error.to_string().contains("may have been carried out"),
                "{error}"
            );
        }
    }
}

#[tokio::test]
async fn a_list_page_with_fewer_rows_than_count_is_an_error() {
    // COUNT says 3, two rows arrived, EOF is there: the page was cut server-side.
    let body = "[RESPONSE]\ncode = 200\ndescription = Command completed successfully\n\
                property[domain][0] = a.com\nproperty[domain][1] = b.com\n\
                property[count][0] = 3\nproperty[first][0] = 0\nproperty[last][0] = 2\n\
                property[limit][0] = 1000\nproperty[total][0] = 3\nEOF\n";
    let server = MockServer::start(move |_, _| Reply::ok(body)).await;
    let client = RrpClient::new(config(Dialect::Cnr, &server)).unwrap();
    let error = client
        .request(&Command::new("QueryDomainList"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            ClientError::Incomplete {
                received: 2,
                declared: 3,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "QueryDomainList answered 2 of 3 rows for CNR account `reseller` (the page at FIRST=0 \
         declares COUNT=3): the answer was cut off; nothing was changed, try again later"
    );
    assert_eq!(
        server.received().len(),
        4,
        "a short page of a read is retried"
    );
}
