//! `POST /api/events`: the signature is the authentication; refused requests (bad or
//! missing signature, old timestamp, replay, unknown event, bad body, no secret) get
//! the right 4xx/503 and store nothing; an accepted one is stored before the 202 and
//! wakes the worker.

mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use axum::Router;
use domwatch_engine::Engine;
use domwatch_web::events::{signature, EventsConfig};
use domwatch_web::{router, AuthConfig, WebState};
use http_body_util::BodyExt;
use serde_json::Value;
use std::sync::Arc;
use tokio::sync::Notify;
use tower::ServiceExt;

const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

struct Events {
    app: Router,
    engine: Engine,
    worker: Arc<Notify>,
    _dir: tempfile::TempDir,
}

async fn events(secret: Option<&[u8]>) -> Events {
    let dir = tempfile::tempdir().unwrap();
    let (engine, _, _) = common::engine(dir.path()).await;
    let worker = Arc::new(Notify::new());
    let config = EventsConfig {
        secret: secret.map(<[u8]>::to_vec),
        worker: Some(worker.clone()),
    };
    // A password is set: the route needs neither a session nor a token.
    let auth = AuthConfig::with_password_hash(
        "admin",
        &domwatch_web::hash_password("pw-Secret-9").unwrap(),
    )
    .unwrap();
    let app = router(WebState::new(engine.clone(), auth).with_events(config));
    Events {
        app,
        engine,
        worker,
        _dir: dir,
    }
}

impl Events {
    fn now(&self) -> i64 {
        self.engine.clock.now().timestamp()
    }

    async fn post(
        &self,
        timestamp: Option<String>,
        sig: Option<String>,
        body: &str,
    ) -> (StatusCode, Value) {
        let mut request = Request::builder()
            .method(Method::POST)
            .uri("/api/events")
            .header("content-type", "application/json");
        if let Some(t) = timestamp {
            request = request.header("x-domwatch-timestamp", t);
        }
        if let Some(s) = sig {
            request = request.header("x-domwatch-signature", s);
        }
        let response = self
            .app
            .clone()
            .oneshot(request.body(Body::from(body.to_string())).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    /// Signed with `secret` at `at`.
    async fn signed(&self, secret: &[u8], at: i64, body: &str) -> (StatusCode, Value) {
        let t = at.to_string();
        let sig = format!("sha256={}", signature(secret, &t, body.as_bytes()));
        self.post(Some(t), Some(sig), body).await
    }

    async fn stored(&self) -> usize {
        self.engine.store.inbound_events(100).await.unwrap().len()
    }
}

const PAID: &str = r#"{"event":"InvoicePaid","domains":["Example.com"],"invoice_id":123}"#;

fn error(v: &Value) -> &str {
    v["error"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn a_signed_event_is_stored_before_the_202_and_wakes_the_worker() {
    let e = events(Some(SECRET)).await;
    let woken = e.worker.notified();
    let (status, body) = e.signed(SECRET, e.now(), PAID).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["domains"], serde_json::json!(["example.com"]));
    let id = body["event_id"].as_i64().unwrap();
    let stored = e.engine.store.inbound_event(id).await.unwrap().unwrap();
    assert_eq!(
        (stored.event.as_str(), stored.status.as_str()),
        ("InvoicePaid", "queued")
    );
    assert_eq!(stored.invoice_id, Some(123));
    tokio::time::timeout(std::time::Duration::from_secs(1), woken)
        .await
        .expect("the worker was woken");
    // The same request again is a replay: refused, nothing more stored.
    let (status, body) = e.signed(SECRET, e.now(), PAID).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(error(&body).contains("replay"));
    assert_eq!(e.stored().await, 1);
}

#[tokio::test]
async fn bad_or_missing_signatures_are_401_and_store_nothing() {
    let e = events(Some(SECRET)).await;
    let (status, body) = e
        .signed(b"another secret, 32 chars long...", e.now(), PAID)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(error(&body).contains("signature does not match"));
    // A valid signature of another body (the body was changed on the way).
    let t = e.now().to_string();
    let other = format!("sha256={}", signature(SECRET, &t, b"{}"));
    let (status, _) = e.post(Some(t.clone()), Some(other), PAID).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, body) = e.post(None, None, PAID).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(error(&body).contains("X-Domwatch-Signature"));
    let (status, _) = e.post(Some(t), Some("md5=abc".into()), PAID).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(e.stored().await, 0);
}

#[tokio::test]
async fn old_and_future_timestamps_are_401_naming_the_clock_gap() {
    let e = events(Some(SECRET)).await;
    for off in [-301, 301, -86_400] {
        let (status, body) = e.signed(SECRET, e.now() + off, PAID).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{off}: {body}");
        assert!(
            error(&body).contains(&format!(
                "is {} s from this server's clock; check both clocks (NTP)",
                off.abs()
            )),
            "{body}"
        );
    }
    // Within the window it is accepted.
    let (status, _) = e.signed(SECRET, e.now() - 299, PAID).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(e.stored().await, 1);
}

#[tokio::test]
async fn unknown_events_and_bad_bodies_are_400_naming_the_field() {
    let e = events(Some(SECRET)).await;
    let cases = [
        (
            r#"{"event":"ClientAdd","domains":["a.com"]}"#,
            "field `event`",
        ),
        (r#"{"domains":["a.com"]}"#, "field `event`"),
        (
            r#"{"event":"InvoicePaid","domains":["a.com","<script>"]}"#,
            "domains[1]",
        ),
        (r#"{"event":"InvoicePaid","domains":[]}"#, "invoice_id"),
        (r#"{"event":"InvoicePaid","invoice_id":-4}"#, "invoice_id"),
        ("not json", "not JSON"),
    ];
    for (body, field) in cases {
        let (status, answer) = e.signed(SECRET, e.now(), body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {answer}");
        assert!(error(&answer).contains(field), "{body}: {answer}");
    }
    assert_eq!(e.stored().await, 0);
    // Every one of the five hook events is accepted, also with only an invoice id.
    for event in domwatch_engine::events::EVENT_NAMES {
        let body = format!(r#"{{"event":"{event}","invoice_id":9}}"#);
        let (status, answer) = e.signed(SECRET, e.now(), &body).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{event}: {answer}");
    }
    assert_eq!(e.stored().await, 5);
}

#[tokio::test]
async fn without_a_secret_events_are_503() {
    let e = events(None).await;
    let (status, body) = e.signed(SECRET, e.now(), PAID).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(error(&body).contains("set [events] secret"), "{body}");
    assert_eq!(e.stored().await, 0);
}
