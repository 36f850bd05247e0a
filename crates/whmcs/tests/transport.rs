//! Transport behaviour against local listeners: timeouts, retries only for reads,
//! garbage answers, and paging that must not return half a list.

mod common;

use common::read_request;
use domwatch_whmcs::api::ActionKind;
use domwatch_whmcs::{WhmcsClient, WhmcsConfig, WhmcsError};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;

fn client(base: &str) -> WhmcsClient {
    let mut config = WhmcsConfig::new(base, "test-identifier", "test-secret").unwrap();
    config.connect_timeout = Duration::from_millis(300);
    config.request_timeout = Duration::from_millis(400);
    config.read_retries = 2;
    config.retry_backoff = Duration::from_millis(10);
    config.page_size = 2;
    WhmcsClient::new(config).unwrap()
}

/// Accepts connections, counts them, and never answers.
async fn silent_listener() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            held.push(socket);
        }
    });
    (format!("http://{addr}/"), accepted)
}

/// Answers each request with the next canned (status, body); the last one repeats.
/// Returns the base URL, a request counter and the received request bodies.
async fn canned_server(
    answers: Vec<(u16, &'static str)>,
) -> (String, Arc<AtomicUsize>, Arc<std::sync::Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let served = Arc::new(AtomicUsize::new(0));
    let requests = Arc::new(std::sync::Mutex::new(Vec::new()));
    let (counter, log) = (served.clone(), requests.clone());
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            let (status, body) = answers[n.min(answers.len() - 1)];
            let request = String::from_utf8_lossy(&read_request(&mut socket).await).into_owned();
            log.lock().unwrap().push(request);
            let response = format!(
                "HTTP/1.1 {status} X\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = socket.write_all(response.as_bytes()).await;
            let _ = socket.shutdown().await;
        }
    });
    (format!("http://{addr}/"), served, requests)
}

#[tokio::test]
async fn reads_time_out_and_are_retried_writes_are_sent_once() {
    let (base, accepted) = silent_listener().await;
    let client = client(&base);
    let err = client.get_currencies().await.unwrap_err();
    assert!(matches!(err, WhmcsError::Timeout { .. }), "{err:?}");
    assert!(err.to_string().contains("did not answer within"), "{err}");
    assert_eq!(accepted.load(Ordering::SeqCst), 3, "1 attempt + 2 retries");

    let before = accepted.load(Ordering::SeqCst);
    let err = client
        .send_admin_email("subject", "body")
        .await
        .unwrap_err();
    assert!(matches!(err, WhmcsError::Timeout { .. }), "{err:?}");
    assert_eq!(
        accepted.load(Ordering::SeqCst) - before,
        1,
        "writes are never retried"
    );
}

#[tokio::test]
async fn refused_connection_is_a_transport_error() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let err = client(&format!("http://{addr}/"))
        .get_currencies()
        .await
        .unwrap_err();
    assert!(matches!(err, WhmcsError::Transport { .. }), "{err:?}");
    assert!(err.to_string().contains("cannot reach WHMCS"), "{err}");
}

#[tokio::test]
async fn html_answer_is_a_protocol_error_showing_the_first_bytes() {
    let (base, served, requests) = canned_server(vec![(
        200,
        "<html><body>WHMCS is down for maintenance</body></html>",
    )])
    .await;
    let err = client(&base).get_currencies().await.unwrap_err();
    assert!(matches!(err, WhmcsError::Protocol { .. }), "{err:?}");
    assert!(err.to_string().contains("down for maintenance"), "{err}");
    assert_eq!(
        served.load(Ordering::SeqCst),
        1,
        "protocol errors are not retried"
    );
    // The request carried the fixed fields; the secret stays out of the error.
    let request = requests.lock().unwrap()[0].clone();
    assert!(request.starts_with("POST /includes/api.php"), "{request}");
    assert!(request.contains("responsetype=json") && request.contains("action=GetCurrencies"));
    assert!(!err.to_string().contains("test-secret"));
}

#[tokio::test]
async fn server_errors_are_retried_for_reads() {
    let (base, served, _) = canned_server(vec![
        (502, "Bad Gateway"),
        (200, r#"{"result":"success","totalresults":1,"currencies":{"currency":[{"id":"1","code":"EUR","prefix":"","suffix":" €","format":"1","rate":"1.00000"}]}}"#),
    ])
    .await;
    let currencies = client(&base).get_currencies().await.unwrap();
    assert_eq!(currencies.len(), 1);
    assert_eq!(currencies[0].code.as_str(), "EUR");
    assert_eq!(served.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn garbage_on_a_later_page_fails_the_whole_listing() {
    let domain = |id: u32| {
        format!(
            r#"{{"id":{id},"userid":"1","regtype":"Register","domainname":"d{id}.com","registrar":"cnic","regperiod":"1","firstpaymentamount":"1.00","recurringamount":"9.00","regdate":"2020-01-01","expirydate":"2027-01-01","nextduedate":"2027-01-01","status":"Active","donotrenew":"0"}}"#
        )
    };
    let page1: &'static str = Box::leak(
        format!(
            r#"{{"result":"success","totalresults":3,"startnumber":0,"numreturned":2,"domains":{{"domain":[{},{}]}}}}"#,
            domain(1),
            domain(2)
        )
        .into_boxed_str(),
    );
    let (base, served, _) = canned_server(vec![
        (200, page1),
        (
            200,
            r#"{"result":"success","totalresults":3,"domains":{"domain":[{"id":"three"}]}}"#,
        ),
    ])
    .await;
    let err = client(&base).get_clients_domains().await.unwrap_err();
    assert!(matches!(err, WhmcsError::Protocol { .. }), "{err:?}");
    assert!(err.to_string().contains("whole number"), "{err}");
    assert_eq!(served.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn empty_page_before_the_total_is_an_error_not_a_loop() {
    let (base, _, _) = canned_server(vec![(
        200,
        r#"{"result":"success","totalresults":5,"domains":""}"#,
    )])
    .await;
    let err = client(&base).get_clients_domains().await.unwrap_err();
    assert!(
        err.to_string()
            .contains("was empty although totalresults is 5"),
        "{err}"
    );
}

#[tokio::test]
async fn generic_call_returns_the_success_object() {
    let (base, _, _) = canned_server(vec![(
        200,
        r#"{"result":"success","whmcs":{"version":"8.10.1"}}"#,
    )])
    .await;
    let answer = client(&base)
        .call("WhmcsDetails", ActionKind::Read, &[])
        .await
        .unwrap();
    assert_eq!(answer["whmcs"]["version"], "8.10.1");
}

#[tokio::test]
async fn refused_connection_says_what_happened_and_names_the_endpoint() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let err = client(&format!("http://{addr}/"))
        .get_currencies()
        .await
        .unwrap_err();
    assert!(err.is_transient(), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains(&format!(
            "cannot connect to http://{addr}/includes/api.php: connection refused (is WHMCS running, and reachable from this host?)"
        )),
        "{message}"
    );
}
