//! A fault proxy: a loopback TCP proxy between a production client and the system it talks
//! to (a sandbox, MariaDB, an SMTP server), switchable at runtime to misbehave like a real
//! system on a bad day.
//!
//! An HTTP proxy ([`FaultProxy::http`]) reads one HTTP/1.1 request at a time and answers it
//! itself or through the upstream (one upstream connection per request); a TCP proxy
//! ([`FaultProxy::tcp`]) pipes bytes. Every switch ([`FaultProxy::set`]) ends the open
//! connections, as a dying server would: a pooled keep-alive connection never carries an old
//! behaviour into a new one. Faulted HTTP answers close their connection.
//!
//! ```no_run
//! # async fn demo(upstream: std::net::SocketAddr) {
//! use domwatch_testkit::{Fault, FaultProxy};
//! let proxy = FaultProxy::http(upstream).await.unwrap();
//! proxy.set(Fault::Http500);
//! // ... point the client at proxy.addr() ...
//! proxy.set(Fault::Pass);
//! # }
//! ```

use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Builds the body of a [`Fault::Protocol`] answer from the request it answers.
pub type Answer = Arc<dyn Fn(&HttpRequest) -> Vec<u8> + Send + Sync>;

/// How the proxy behaves from the next connection on.
#[derive(Clone)]
pub enum Fault {
    /// Forward everything unchanged.
    Pass,
    /// HTTP: `500 Internal Server Error` without asking the upstream.
    Http500,
    /// HTTP: `200 OK` with this body (a protocol-level error such as RRP code 421), without
    /// asking the upstream.
    Protocol(Answer),
    /// HTTP: the upstream's answer with the second half of its body cut off and a
    /// Content-Length that matches the cut body: a syntactically short answer.
    Truncate,
    /// HTTP: the upstream's answer with its full Content-Length, but the connection closes
    /// half way through the body.
    TruncateClose,
    /// TCP (and HTTP): forward, but close the connection after this many bytes of the
    /// upstream's answer.
    CutAfter(usize),
    /// TCP (and HTTP): write these bytes on connect and close (e.g. SMTP `421`).
    Greeting(Vec<u8>),
    /// Accept and read, never answer.
    Hang,
    /// Stop listening: new connections are refused.
    Refuse,
}

impl Fault {
    /// A [`Fault::Protocol`] answering every request with `body`.
    pub fn protocol(body: impl Into<Vec<u8>>) -> Fault {
        let body = body.into();
        Fault::Protocol(Arc::new(move |_| body.clone()))
    }

    pub fn name(&self) -> &'static str {
        match self {
            Fault::Pass => "pass",
            Fault::Http500 => "http500",
            Fault::Protocol(_) => "protocol",
            Fault::Truncate => "truncate",
            Fault::TruncateClose => "truncate_close",
            Fault::CutAfter(_) => "cut_after",
            Fault::Greeting(_) => "greeting",
            Fault::Hang => "hang",
            Fault::Refuse => "refuse",
        }
    }
}

impl fmt::Debug for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What the proxy has seen since it started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Traffic {
    /// HTTP requests read (HTTP proxy) or connections accepted (TCP proxy).
    pub requests: u64,
    /// Requests or connections answered with a fault instead of the upstream's answer.
    pub faulted: u64,
    /// Bytes the clients sent towards the upstream (request bodies and heads included).
    pub bytes_up: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wire {
    Http,
    Tcp,
}

#[derive(Default)]
struct Counters {
    requests: AtomicU64,
    faulted: AtomicU64,
    bytes_up: AtomicU64,
}

struct Shared {
    upstream: SocketAddr,
    wire: Wire,
    mode: watch::Sender<Fault>,
    counters: Counters,
}

/// A running fault proxy; stops when dropped.
pub struct FaultProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: Mutex<Option<JoinHandle<()>>>,
}

impl FaultProxy {
    /// An HTTP/1.1 proxy on a free loopback port in front of `upstream`.
    pub async fn http(upstream: SocketAddr) -> std::io::Result<Self> {
        Self::start(upstream, Wire::Http).await
    }

    /// A byte-level proxy on a free loopback port in front of `upstream`.
    pub async fn tcp(upstream: SocketAddr) -> std::io::Result<Self> {
        Self::start(upstream, Wire::Tcp).await
    }

    async fn start(upstream: SocketAddr, wire: Wire) -> std::io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            upstream,
            wire,
            mode: watch::channel(Fault::Pass).0,
            counters: Counters::default(),
        });
        let accept = tokio::spawn(accept_loop(shared.clone(), listener));
        Ok(FaultProxy {
            addr,
            shared,
            accept: Mutex::new(Some(accept)),
        })
    }

    /// Where clients connect instead of the upstream.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn upstream(&self) -> SocketAddr {
        self.shared.upstream
    }

    /// The behaviour now.
    pub fn fault(&self) -> Fault {
        self.shared.mode.borrow().clone()
    }

    /// Switches the behaviour and ends every open connection. Synchronous, so it can be
    /// called from anywhere inside the runtime (e.g. a `Progress` callback); `Refuse` stops
    /// listening, leaving it listens on the same port again.
    pub fn set(&self, fault: Fault) {
        let refuse = matches!(fault, Fault::Refuse);
        let mut accept = self.accept.lock().unwrap_or_else(|p| p.into_inner());
        if refuse {
            if let Some(task) = accept.take() {
                task.abort();
            }
        } else if accept.is_none() {
            *accept = Some(tokio::spawn(accept_loop(
                self.shared.clone(),
                rebind(self.addr),
            )));
        }
        self.shared.mode.send_replace(fault);
    }

    pub fn traffic(&self) -> Traffic {
        let c = &self.shared.counters;
        Traffic {
            requests: c.requests.load(Ordering::Relaxed),
            faulted: c.faulted.load(Ordering::Relaxed),
            bytes_up: c.bytes_up.load(Ordering::Relaxed),
        }
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        if let Some(task) = self.accept.lock().unwrap_or_else(|p| p.into_inner()).take() {
            task.abort();
        }
        // Ends the open connections, whose tasks watch the mode.
        self.shared.mode.send_replace(Fault::Refuse);
    }
}

/// Listens on `addr` again after a `Refuse` (std sets SO_REUSEADDR, so the port just
/// released is free at once).
fn rebind(addr: SocketAddr) -> TcpListener {
    let listener = std::net::TcpListener::bind(addr).unwrap_or_else(|e| {
        panic!("fault proxy: cannot listen on {addr} again after Refuse ({e})")
    });
    listener
        .set_nonblocking(true)
        .expect("non-blocking listener");
    TcpListener::from_std(listener).expect("listener inside the runtime")
}

async fn accept_loop(shared: Arc<Shared>, listener: TcpListener) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(serve_connection(shared.clone(), stream));
    }
}

/// One client connection, under the behaviour of the moment it was accepted; any switch
/// ends it.
async fn serve_connection(shared: Arc<Shared>, stream: TcpStream) {
    let mut mode = shared.mode.subscribe();
    let fault = mode.borrow_and_update().clone();
    if matches!(fault, Fault::Refuse) {
        return;
    }
    let work = async {
        match shared.wire {
            Wire::Http => http_connection(&shared, stream, &fault).await,
            Wire::Tcp => tcp_connection(&shared, stream, &fault).await,
        }
    };
    tokio::select! {
        _ = work => {}
        _ = mode.changed() => {}
    }
}

// ---------------------------------------------------------------------------------------
// HTTP

/// One HTTP/1.1 request as read from the client.
#[derive(Debug, Clone)]
pub struct HttpRequest {
    /// Request line and headers, without the blank line.
    pub head: String,
    pub body: Vec<u8>,
}

impl HttpRequest {
    /// The first header of that name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        header_of(&self.head, name)
    }
}

/// An HTTP response from the upstream, body de-chunked.
struct HttpResponse {
    /// Status line and headers other than framing ones (Content-Length, Transfer-Encoding,
    /// Connection).
    head: String,
    body: Vec<u8>,
}

fn header_of<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().skip(1).find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.trim()
            .eq_ignore_ascii_case(name)
            .then_some(value.trim())
    })
}

fn is_framing(line: &str) -> bool {
    let key = line.split(':').next().unwrap_or("").trim();
    [
        "content-length",
        "transfer-encoding",
        "connection",
        "keep-alive",
    ]
    .iter()
    .any(|k| key.eq_ignore_ascii_case(k))
}

/// Reads from a connection with what is left over from the previous message.
struct Reader<'a> {
    stream: &'a mut (dyn tokio::io::AsyncRead + Unpin + Send),
    buf: Vec<u8>,
}

impl Reader<'_> {
    /// More bytes; false at end of stream.
    async fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 16 * 1024];
        match self.stream.read(&mut chunk).await {
            Ok(0) | Err(_) => false,
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                true
            }
        }
    }

    /// The head up to the blank line, or `None` at end of stream.
    async fn head(&mut self) -> Option<String> {
        loop {
            if let Some(end) = find(&self.buf, b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&self.buf[..end]).into_owned();
                self.buf.drain(..end + 4);
                return Some(head);
            }
            if self.buf.len() > 1 << 20 || !self.fill().await {
                return None;
            }
        }
    }

    async fn exactly(&mut self, n: usize) -> Option<Vec<u8>> {
        while self.buf.len() < n {
            if !self.fill().await {
                return None;
            }
        }
        Some(self.buf.drain(..n).collect())
    }

    async fn line(&mut self) -> Option<String> {
        loop {
            if let Some(end) = find(&self.buf, b"\r\n") {
                let line = String::from_utf8_lossy(&self.buf[..end]).into_owned();
                self.buf.drain(..end + 2);
                return Some(line);
            }
            if !self.fill().await {
                return None;
            }
        }
    }

    async fn chunked(&mut self) -> Option<Vec<u8>> {
        let mut body = Vec::new();
        loop {
            let size_line = self.line().await?;
            let size = usize::from_str_radix(size_line.split(';').next()?.trim(), 16).ok()?;
            if size == 0 {
                // Trailers until the blank line.
                while !self.line().await?.is_empty() {}
                return Some(body);
            }
            body.extend(self.exactly(size).await?);
            self.line().await?;
        }
    }

    async fn rest(&mut self) -> Vec<u8> {
        while self.fill().await {}
        std::mem::take(&mut self.buf)
    }

    /// The body of a message with `head`; `until_close` for a response without framing.
    async fn body(&mut self, head: &str, until_close: bool) -> Option<Vec<u8>> {
        let chunked = header_of(head, "transfer-encoding")
            .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
        if chunked {
            return self.chunked().await;
        }
        match header_of(head, "content-length").and_then(|v| v.parse::<usize>().ok()) {
            Some(n) => self.exactly(n).await,
            None if until_close => Some(self.rest().await),
            None => Some(Vec::new()),
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

async fn http_connection(shared: &Shared, mut stream: TcpStream, fault: &Fault) {
    let (mut read, mut write) = stream.split();
    let mut reader = Reader {
        stream: &mut read,
        buf: Vec::new(),
    };
    if let Fault::Greeting(bytes) = fault {
        shared.counters.faulted.fetch_add(1, Ordering::Relaxed);
        let _ = write.write_all(bytes).await;
        return;
    }
    loop {
        let Some(head) = reader.head().await else {
            return;
        };
        let Some(body) = reader.body(&head, false).await else {
            return;
        };
        let c = &shared.counters;
        c.requests.fetch_add(1, Ordering::Relaxed);
        c.bytes_up
            .fetch_add((head.len() + 4 + body.len()) as u64, Ordering::Relaxed);
        let request = HttpRequest { head, body };
        if !matches!(fault, Fault::Pass) {
            c.faulted.fetch_add(1, Ordering::Relaxed);
        }
        let keep_open = answer(shared, &mut write, &request, fault).await;
        if !keep_open {
            let _ = write.shutdown().await;
            return;
        }
    }
}

/// Answers one request; true when the connection stays open for the next one.
async fn answer(
    shared: &Shared,
    out: &mut (impl tokio::io::AsyncWrite + Unpin),
    request: &HttpRequest,
    fault: &Fault,
) -> bool {
    match fault {
        Fault::Pass => match forward(shared.upstream, request).await {
            Some(response) => write_response(out, &response.head, &response.body, true).await,
            None => write_status(out, "502 Bad Gateway", b"upstream unreachable").await,
        },
        Fault::Http500 => {
            write_status(
                out,
                "500 Internal Server Error",
                b"<html><body>Internal Server Error</body></html>",
            )
            .await
        }
        Fault::Protocol(make) => {
            let body = make(request);
            let head = format!("HTTP/1.1 200 OK\r\nContent-Type: {}", content_type(&body));
            write_response(out, &head, &body, false).await
        }
        Fault::Truncate => {
            if let Some(r) = forward(shared.upstream, request).await {
                write_response(out, &r.head, &r.body[..r.body.len() / 2], false).await;
            }
            false
        }
        Fault::TruncateClose => {
            if let Some(r) = forward(shared.upstream, request).await {
                let head = format!("{}\r\nContent-Length: {}\r\n\r\n", r.head, r.body.len());
                let _ = out.write_all(head.as_bytes()).await;
                let _ = out.write_all(&r.body[..r.body.len() / 2]).await;
                let _ = out.flush().await;
            }
            false
        }
        Fault::CutAfter(n) => {
            if let Some(r) = forward(shared.upstream, request).await {
                let mut raw =
                    format!("{}\r\nContent-Length: {}\r\n\r\n", r.head, r.body.len()).into_bytes();
                raw.extend_from_slice(&r.body);
                let _ = out.write_all(&raw[..(*n).min(raw.len())]).await;
            }
            false
        }
        Fault::Hang => std::future::pending::<bool>().await,
        Fault::Greeting(_) | Fault::Refuse => false,
    }
}

fn content_type(body: &[u8]) -> &'static str {
    match body.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'<') => "text/xml; charset=utf-8",
        Some(b'{') | Some(b'[') => "application/json",
        _ => "text/plain; charset=utf-8",
    }
}

/// Writes a response with a Content-Length matching `body`; returns `keep_alive`.
async fn write_response(
    out: &mut (impl tokio::io::AsyncWrite + Unpin),
    head: &str,
    body: &[u8],
    keep_alive: bool,
) -> bool {
    let mut raw = format!("{head}\r\nContent-Length: {}\r\n", body.len());
    if !keep_alive {
        raw.push_str("Connection: close\r\n");
    }
    raw.push_str("\r\n");
    let mut bytes = raw.into_bytes();
    bytes.extend_from_slice(body);
    out.write_all(&bytes).await.is_ok() && out.flush().await.is_ok() && keep_alive
}

async fn write_status(
    out: &mut (impl tokio::io::AsyncWrite + Unpin),
    status: &str,
    body: &[u8],
) -> bool {
    let head = format!("HTTP/1.1 {status}\r\nContent-Type: text/html");
    write_response(out, &head, body, false).await
}

/// Sends `request` upstream on a fresh connection (`Connection: close`) and reads the
/// whole answer; `None` when the upstream cannot be reached or answers nothing usable.
async fn forward(upstream: SocketAddr, request: &HttpRequest) -> Option<HttpResponse> {
    let mut conn = TcpStream::connect(upstream).await.ok()?;
    let mut head: Vec<&str> = request.head.lines().filter(|l| !is_framing(l)).collect();
    let length = format!("Content-Length: {}", request.body.len());
    head.push(&length);
    head.push("Connection: close");
    let mut raw = head.join("\r\n").into_bytes();
    raw.extend_from_slice(b"\r\n\r\n");
    raw.extend_from_slice(&request.body);
    conn.write_all(&raw).await.ok()?;
    let mut reader = Reader {
        stream: &mut conn,
        buf: Vec::new(),
    };
    let head = reader.head().await?;
    let body = reader.body(&head, true).await?;
    let head = head
        .lines()
        .filter(|l| !is_framing(l))
        .collect::<Vec<_>>()
        .join("\r\n");
    Some(HttpResponse { head, body })
}

// ---------------------------------------------------------------------------------------
// TCP

async fn tcp_connection(shared: &Shared, mut stream: TcpStream, fault: &Fault) {
    let c = &shared.counters;
    c.requests.fetch_add(1, Ordering::Relaxed);
    if !matches!(fault, Fault::Pass) {
        c.faulted.fetch_add(1, Ordering::Relaxed);
    }
    let limit = match fault {
        Fault::Pass => usize::MAX,
        Fault::CutAfter(n) => *n,
        Fault::Greeting(bytes) => {
            let _ = stream.write_all(bytes).await;
            return;
        }
        Fault::Hang => {
            let mut sink = [0u8; 4096];
            while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {}
            return std::future::pending().await;
        }
        // HTTP faults mean nothing to a byte stream: the connection just drops.
        _ => return,
    };
    let Ok(upstream) = TcpStream::connect(shared.upstream).await else {
        return;
    };
    let (mut client_read, mut client_write) = stream.into_split();
    let (mut up_read, mut up_write) = upstream.into_split();
    let up = async {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            match client_read.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    c.bytes_up.fetch_add(n as u64, Ordering::Relaxed);
                    if up_write.write_all(&buf[..n]).await.is_err() {
                        return;
                    }
                }
            }
        }
    };
    let down = async {
        let mut buf = vec![0u8; 16 * 1024];
        let mut left = limit;
        while left > 0 {
            match up_read.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    let n = n.min(left);
                    left -= n;
                    if client_write.write_all(&buf[..n]).await.is_err() {
                        return;
                    }
                }
            }
        }
    };
    tokio::select! {
        _ = up => {}
        _ = down => {}
    }
}

#[cfg(test)]
mod tests;
