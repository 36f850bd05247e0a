//! A tiny HTTP/1.1 server on 127.0.0.1 for client tests: it records every form it
//! receives and answers with whatever the test's handler says.

#![allow(dead_code)]

use domwatch_core::model::Dialect;
use domwatch_rrp::client::{ClientConfig, Environment};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// One received request: the decoded form fields and the User-Agent.
#[derive(Debug, Clone)]
pub struct Received {
    pub fields: HashMap<String, String>,
    pub user_agent: Option<String>,
    pub content_type: Option<String>,
}

impl Received {
    pub fn field(&self, key: &str) -> Option<&str> {
        self.fields.get(key).map(String::as_str)
    }
    pub fn command(&self) -> domwatch_rrp::codec::Command {
        domwatch_rrp::codec::Command::decode(self.field("s_command").unwrap_or(""))
    }
}

pub struct Reply {
    pub status: u16,
    pub body: String,
    pub delay: Duration,
}

impl Reply {
    pub fn ok(body: impl Into<String>) -> Reply {
        Reply {
            status: 200,
            body: body.into(),
            delay: Duration::ZERO,
        }
    }
    pub fn code(code: u16, description: &str) -> Reply {
        Reply::ok(format!(
            "[RESPONSE]\ncode = {code}\ndescription = {description}\nEOF\n"
        ))
    }
    pub fn status(status: u16) -> Reply {
        Reply {
            status,
            body: "<html>gateway trouble</html>".into(),
            delay: Duration::ZERO,
        }
    }
    pub fn delayed(mut self, delay: Duration) -> Reply {
        self.delay = delay;
        self
    }
}

type Handler = dyn Fn(&Received, usize) -> Reply + Send + Sync;

pub struct MockServer {
    pub url: String,
    received: Arc<Mutex<Vec<Received>>>,
    pub max_in_flight: Arc<AtomicUsize>,
}

impl MockServer {
    /// Starts the server; `handler(request, n)` gets the 0-based request number.
    pub async fn start(
        handler: impl Fn(&Received, usize) -> Reply + Send + Sync + 'static,
    ) -> MockServer {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let url = format!("http://{}/api/call.cgi", listener.local_addr().unwrap());
        let received = Arc::new(Mutex::new(Vec::new()));
        let handler: Arc<Handler> = Arc::new(handler);
        let counter = Arc::new(AtomicUsize::new(0));
        let in_flight = Arc::new(AtomicUsize::new(0));
        let max_in_flight = Arc::new(AtomicUsize::new(0));
        let server = MockServer {
            url,
            received: received.clone(),
            max_in_flight: max_in_flight.clone(),
        };
        tokio::spawn(async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                let handler = handler.clone();
                let received = received.clone();
                let counter = counter.clone();
                let in_flight = in_flight.clone();
                let max_in_flight = max_in_flight.clone();
                tokio::spawn(async move {
                    let Some(request) = read_request(&mut socket).await else {
                        return;
                    };
                    let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                    max_in_flight.fetch_max(now, Ordering::SeqCst);
                    let n = counter.fetch_add(1, Ordering::SeqCst);
                    received.lock().unwrap().push(request.clone());
                    let reply = handler(&request, n);
                    tokio::time::sleep(reply.delay).await;
                    in_flight.fetch_sub(1, Ordering::SeqCst);
                    let head = format!(
                        "HTTP/1.1 {} X\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        reply.status,
                        reply.body.len()
                    );
                    let _ = socket.write_all(head.as_bytes()).await;
                    let _ = socket.write_all(reply.body.as_bytes()).await;
                    let _ = socket.shutdown().await;
                });
            }
        });
        server
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

async fn read_request(socket: &mut tokio::net::TcpStream) -> Option<Received> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 8192];
    let header_end = loop {
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..n]);
        if let Some(pos) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos + 4;
        }
    };
    let head = String::from_utf8_lossy(&buffer[..header_end]).to_string();
    let header = |name: &str| {
        head.lines().find_map(|line| {
            let (k, v) = line.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
    };
    let length: usize = header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    while buffer.len() < header_end + length {
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        buffer.extend_from_slice(&chunk[..n]);
    }
    let body = String::from_utf8_lossy(&buffer[header_end..]).to_string();
    let fields: Vec<(String, String)> = serde_urlencoded::from_str(&body).ok()?;
    Some(Received {
        fields: fields.into_iter().collect(),
        user_agent: header("user-agent"),
        content_type: header("content-type"),
    })
}

pub const PASSWORD: &str = "Sup3r-Secret-PW";
pub const OK_BODY: &str = "[RESPONSE]\ncode = 200\ndescription = Command completed successfully\nruntime = 0.01\nproperty[amount][0] = 12.50\nEOF\n";

pub fn config(dialect: Dialect, server: &MockServer) -> ClientConfig {
    let mut config = ClientConfig::new(dialect, Environment::Ote, "reseller", PASSWORD);
    config.endpoint = Some(server.url.parse().unwrap());
    config.retry_base_delay = Duration::from_millis(5);
    config.max_retries = 3;
    config.total_timeout = Duration::from_secs(5);
    config
}
