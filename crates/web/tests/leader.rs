//! Who leads, as `/healthz` and `/metrics` show it under `domwatch serve`.

mod common;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use axum::Router;
use chrono::{Duration, Utc};
use domwatch_store::SCHEDULER_LEASE;
use domwatch_web::{router, AuthConfig, WebState};
use http_body_util::BodyExt;
use std::net::SocketAddr;
use tower::ServiceExt;

async fn get(app: &Router, path: &str) -> (StatusCode, String) {
    let mut request = Request::get(path)
        .header("host", "127.0.0.1")
        .body(Body::empty())
        .unwrap();
    let peer: SocketAddr = "127.0.0.1:40000".parse().unwrap();
    request.extensions_mut().insert(ConnectInfo(peer));
    let answer = app.clone().oneshot(request).await.unwrap();
    let status = answer.status();
    let body = answer.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

#[tokio::test]
async fn healthz_and_metrics_say_who_leads() {
    let dir = tempfile::tempdir().unwrap();
    let (engine, _, _) = common::engine(dir.path()).await;
    let store = engine.store.clone();
    let me = "host-a:41:1764650000000";
    let app = router(WebState::new(engine, AuthConfig::open_access()).with_instance(me.into()));

    // Nobody holds the lease yet.
    assert_eq!(
        get(&app, "/healthz").await,
        (StatusCode::OK, "ok\nleader: no\n".into())
    );
    let (_, metrics) = get(&app, "/metrics").await;
    assert!(
        metrics.contains(&format!("domwatch_leader{{instance=\"{me}\"}} 0\n")),
        "{metrics}"
    );
    assert!(!metrics.contains("domwatch_leader_info"), "{metrics}");

    let now = Utc::now();
    store
        .acquire_lease(SCHEDULER_LEASE, me, now, now + Duration::seconds(30))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(get(&app, "/healthz").await.1, "ok\nleader: yes\n");
    let (_, metrics) = get(&app, "/metrics").await;
    assert!(
        metrics.contains(&format!("domwatch_leader{{instance=\"{me}\"}} 1\n")),
        "{metrics}"
    );
    assert!(
        metrics.contains(&format!(
            "domwatch_leader_info{{holder=\"{me}\"}} {}\n",
            now.timestamp()
        )),
        "{metrics}"
    );

    // Another instance took it over.
    store.release_lease(SCHEDULER_LEASE, me).await.unwrap();
    store
        .acquire_lease(
            SCHEDULER_LEASE,
            "host-b:7:1",
            now,
            now + Duration::seconds(30),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(get(&app, "/healthz").await.1, "ok\nleader: no\n");
    let (_, metrics) = get(&app, "/metrics").await;
    assert!(
        metrics.contains(&format!("domwatch_leader{{instance=\"{me}\"}} 0\n")),
        "{metrics}"
    );
    assert!(
        metrics.contains("domwatch_leader_info{holder=\"host-b:7:1\"}"),
        "{metrics}"
    );
}

/// Without `domwatch serve` (no instance name) both stay as they were.
#[tokio::test]
async fn without_an_instance_nothing_about_leaders_is_shown() {
    let dir = tempfile::tempdir().unwrap();
    let (engine, _, _) = common::engine(dir.path()).await;
    let app = router(WebState::new(engine, AuthConfig::open_access()));
    assert_eq!(get(&app, "/healthz").await.1, "ok\n");
    assert!(!get(&app, "/metrics").await.1.contains("domwatch_leader"));
}
