//! The dashboard over real HTTP on a loopback port, for tests that race requests.

use domwatch_engine::Engine;
use domwatch_web::{router, AuthConfig, WebState};
use std::net::SocketAddr;

/// Serves the dashboard with open access (loopback only) and returns its address.
pub async fn serve(engine: Engine) -> SocketAddr {
    let app = router(WebState::new(engine, AuthConfig::open_access()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    addr
}

/// The session cookie and CSRF token of an open-access session.
pub async fn session(http: &reqwest::Client, base: &str) -> (String, String) {
    let answer = http
        .get(format!("{base}/api/session"))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let cookie = answer
        .headers()
        .get(reqwest::header::SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .expect("a session cookie")
        .to_string();
    let body: serde_json::Value = answer.json().await.unwrap();
    let csrf = body["csrf_token"]
        .as_str()
        .expect("a CSRF token")
        .to_string();
    (cookie, csrf)
}
