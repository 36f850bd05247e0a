use super::*;
use axum::routing::post;
use axum::Router;
use std::time::Duration;

/// An upstream that answers every POST with `size` bytes and counts the requests.
async fn upstream(size: usize) -> (SocketAddr, Arc<AtomicU64>) {
    let hits = Arc::new(AtomicU64::new(0));
    let counted = hits.clone();
    let router = Router::new().route(
        "/api",
        post(move |body: String| {
            let counted = counted.clone();
            async move {
                counted.fetch_add(1, Ordering::Relaxed);
                let mut answer = format!("got {body};");
                while answer.len() < size {
                    answer.push('x');
                }
                answer
            }
        }),
    );
    let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    (addr, hits)
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_millis(500))
        .build()
        .unwrap()
}

async fn post_to(proxy: &FaultProxy, body: &str) -> reqwest::Result<(u16, String)> {
    let response = client()
        .post(format!("http://{}/api", proxy.addr()))
        .body(body.to_string())
        .send()
        .await?;
    let status = response.status().as_u16();
    Ok((status, response.text().await?))
}

#[tokio::test]
async fn pass_forwards_requests_on_one_keep_alive_connection() {
    let (addr, hits) = upstream(10).await;
    let proxy = FaultProxy::http(addr).await.unwrap();
    let client = client();
    for i in 0..3 {
        let text = client
            .post(format!("http://{}/api", proxy.addr()))
            .body(format!("n{i}"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(text, format!("got n{i};xxx"));
    }
    assert_eq!(hits.load(Ordering::Relaxed), 3);
    let traffic = proxy.traffic();
    assert_eq!((traffic.requests, traffic.faulted), (3, 0));
    assert!(traffic.bytes_up > 0);
}

#[tokio::test]
async fn http_500_and_protocol_errors_never_reach_the_upstream() {
    let (addr, hits) = upstream(10).await;
    let proxy = FaultProxy::http(addr).await.unwrap();
    proxy.set(Fault::Http500);
    assert_eq!(post_to(&proxy, "a").await.unwrap().0, 500);
    let rrp_421 = "[RESPONSE]\ncode = 421\ndescription = Command failed due to server error. Client should try again\nEOF\n";
    proxy.set(Fault::protocol(rrp_421));
    assert_eq!(
        post_to(&proxy, "a").await.unwrap(),
        (200, rrp_421.to_string())
    );
    // An answer built from the request (e.g. naming the SOAP operation).
    proxy.set(Fault::Protocol(Arc::new(|r: &HttpRequest| {
        format!("{{\"result\":\"error\",\"message\":\"{}\"}}", r.body.len()).into_bytes()
    })));
    assert_eq!(
        post_to(&proxy, "abc").await.unwrap().1,
        r#"{"result":"error","message":"3"}"#
    );
    assert_eq!(hits.load(Ordering::Relaxed), 0);
    assert_eq!(proxy.traffic().faulted, 3);
}

#[tokio::test]
async fn truncate_cuts_the_body_in_half_with_a_matching_length() {
    let (addr, hits) = upstream(1000).await;
    let proxy = FaultProxy::http(addr).await.unwrap();
    proxy.set(Fault::Truncate);
    let response = client()
        .post(format!("http://{}/api", proxy.addr()))
        .body("a")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.content_length(), Some(500));
    let text = response.text().await.unwrap();
    assert_eq!(text.len(), 500);
    assert!(text.starts_with("got a;"));
    assert_eq!(
        hits.load(Ordering::Relaxed),
        1,
        "the call itself went through"
    );
}

#[tokio::test]
async fn truncate_close_breaks_the_body_off() {
    let (addr, _) = upstream(1000).await;
    let proxy = FaultProxy::http(addr).await.unwrap();
    proxy.set(Fault::TruncateClose);
    let response = client()
        .post(format!("http://{}/api", proxy.addr()))
        .body("a")
        .send()
        .await
        .unwrap();
    assert_eq!(response.content_length(), Some(1000));
    assert!(response.bytes().await.is_err());
}

#[tokio::test]
async fn hang_answers_nothing_until_the_client_gives_up() {
    let (addr, hits) = upstream(10).await;
    let proxy = FaultProxy::http(addr).await.unwrap();
    proxy.set(Fault::Hang);
    let err = post_to(&proxy, "a").await.unwrap_err();
    assert!(err.is_timeout(), "{err}");
    assert_eq!(hits.load(Ordering::Relaxed), 0);
}

#[tokio::test]
async fn refuse_stops_listening_and_pass_listens_again() {
    let (addr, _) = upstream(10).await;
    let proxy = FaultProxy::http(addr).await.unwrap();
    proxy.set(Fault::Refuse);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let err = TcpStream::connect(proxy.addr()).await.unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused);
    proxy.set(Fault::Pass);
    assert_eq!(post_to(&proxy, "b").await.unwrap().1, "got b;xxxx");
}

#[tokio::test]
async fn a_switch_ends_pooled_connections() {
    let (addr, _) = upstream(10).await;
    let proxy = FaultProxy::http(addr).await.unwrap();
    let client = client();
    let url = format!("http://{}/api", proxy.addr());
    let first = client.post(&url).body("a").send().await.unwrap();
    assert_eq!(first.status().as_u16(), 200);
    first.text().await.unwrap();
    proxy.set(Fault::Http500);
    // The pooled connection was accepted under Pass; the next request must still fail.
    let mut status = 0;
    for _ in 0..3 {
        if let Ok(r) = client.post(&url).body("a").send().await {
            status = r.status().as_u16();
            break;
        }
    }
    assert_eq!(status, 500);
}

/// An upstream that greets with `hello`, then echoes what it reads.
async fn echo_upstream() -> SocketAddr {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let _ = stream.write_all(b"hello ").await;
                let mut buf = [0u8; 1024];
                while let Ok(n) = stream.read(&mut buf).await {
                    if n == 0 || stream.write_all(&buf[..n]).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    addr
}

async fn exchange(proxy: &FaultProxy, send: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut stream = TcpStream::connect(proxy.addr()).await?;
    stream.write_all(send).await?;
    let mut got = Vec::new();
    let read = tokio::time::timeout(Duration::from_millis(300), async {
        let mut buf = [0u8; 1024];
        while let Ok(n) = stream.read(&mut buf).await {
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
            if got.len() >= 6 + send.len() {
                break;
            }
        }
    })
    .await;
    if read.is_err() && got.is_empty() {
        return Err(std::io::ErrorKind::TimedOut.into());
    }
    Ok(got)
}

#[tokio::test]
async fn tcp_pass_cut_greeting_hang_and_refuse() {
    let proxy = FaultProxy::tcp(echo_upstream().await).await.unwrap();
    assert_eq!(exchange(&proxy, b"ping").await.unwrap(), b"hello ping");
    assert_eq!(proxy.traffic().bytes_up, 4);
    proxy.set(Fault::CutAfter(3));
    assert_eq!(exchange(&proxy, b"ping").await.unwrap(), b"hel");
    proxy.set(Fault::Greeting(
        b"421 4.3.2 Service not available\r\n".to_vec(),
    ));
    assert_eq!(
        exchange(&proxy, b"EHLO x\r\n").await.unwrap(),
        b"421 4.3.2 Service not available\r\n"
    );
    proxy.set(Fault::Hang);
    assert_eq!(
        exchange(&proxy, b"ping").await.unwrap_err().kind(),
        std::io::ErrorKind::TimedOut
    );
    proxy.set(Fault::Refuse);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(exchange(&proxy, b"ping").await.is_err());
    proxy.set(Fault::Pass);
    assert_eq!(exchange(&proxy, b"pong").await.unwrap(), b"hello pong");
}
