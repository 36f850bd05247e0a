//! API tokens on `/api/*` (no session, no CSRF), their scopes and refusals, the audit
//! actor of a token's write, the plan-before-write dry run and `GET /api/summary`.

mod common;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use domwatch_engine::Engine;
use domwatch_web::api_token::{generate_token, token_hash};
use domwatch_web::{hash_password, router, AuthConfig, WebState};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

struct Api {
    app: Router,
    engine: Engine,
    billing: std::sync::Arc<common::FakeBilling>,
    case_id: i64,
    _dir: tempfile::TempDir,
}

/// A password-protected dashboard (so nothing is open without a token) and one fixable
/// case: an expiry drift whose fix updates the WHMCS domain.
async fn api() -> Api {
    let dir = tempfile::tempdir().unwrap();
    let (engine, billing, _) = common::engine(dir.path()).await;
    let auth =
        AuthConfig::with_password_hash("admin", &hash_password("pw-Secret-9").unwrap()).unwrap();
    let case_id = common::open_fixable_case(&engine).await;
    Api {
        app: router(WebState::new(engine.clone(), auth)),
        case_id,
        engine,
        billing,
        _dir: dir,
    }
}

impl Api {
    async fn token(&self, name: &str, scope: &str) -> String {
        let token = generate_token();
        let at = self.engine.clock.now();
        self.engine
            .store
            .create_api_token(name, scope, &token_hash(&token), at)
            .await
            .unwrap()
            .unwrap();
        token
    }

    async fn send(
        &self,
        method: Method,
        uri: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = Request::builder().method(method).uri(uri);
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let body = match body {
            Some(v) => {
                request = request.header(header::CONTENT_TYPE, "application/json");
                Body::from(v.to_string())
            }
            None => Body::empty(),
        };
        let response = self
            .app
            .clone()
            .oneshot(request.body(body).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let value = serde_json::from_slice(&bytes)
            .unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into()));
        (status, value)
    }

    fn writes(&self) -> usize {
        self.billing.domain_updates.lock().unwrap().len()
    }
}

#[tokio::test]
async fn read_tokens_read_and_are_refused_writes() {
    let api = api().await;
    let read = api.token("dashboard-widget", "read").await;
    let (status, cases) = api.send(Method::GET, "/api/cases", Some(&read), None).await;
    assert_eq!(status, StatusCode::OK, "{cases}");
    assert_eq!(cases.as_array().unwrap().len(), 1);
    let fix = format!("/api/cases/{}/fix", api.case_id);
    let (status, error) = api
        .send(Method::POST, &fix, Some(&read), Some(json!({})))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{error}");
    assert!(
        error["error"].as_str().unwrap().contains("--scope fix"),
        "{error}"
    );
    assert_eq!(api.writes(), 0);
    // The use is recorded, the token itself is not.
    let listed = api.engine.store.api_tokens().await.unwrap();
    assert!(listed[0].last_used_at.is_some());
}

#[tokio::test]
async fn unknown_revoked_and_missing_tokens_get_401() {
    let api = api().await;
    let fix_token = api.token("ci", "fix").await;
    let fix = format!("/api/cases/{}/fix", api.case_id);
    for bad in ["dwt_not-a-token", "something-else"] {
        let (status, error) = api.send(Method::GET, "/api/cases", Some(bad), None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{error}");
        assert!(error["error"]
            .as_str()
            .unwrap()
            .contains("domwatch token create"));
    }
    let (status, _) = api.send(Method::GET, "/api/cases", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(api
        .engine
        .store
        .revoke_api_token("ci", api.engine.clock.now())
        .await
        .unwrap());
    let (status, _) = api
        .send(Method::POST, &fix, Some(&fix_token), Some(json!({})))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(api.writes(), 0);
}

#[tokio::test]
async fn fix_tokens_plan_then_apply_once_audited_as_the_token() {
    let api = api().await;
    let token = api.token("whmcs", "fix").await;
    let fix = format!("/api/cases/{}/fix", api.case_id);
    let (status, plan) = api
        .send(
            Method::POST,
            &fix,
            Some(&token),
            Some(json!({"option": 1, "dry_run": true})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{plan}");
    assert_eq!(plan["dry_run"], true);
    let steps = plan["report"]["steps"].as_array().unwrap().len();
    assert!(steps > 0, "{plan}");
    assert_eq!(api.writes(), 0, "a dry run writes nothing");

    let (status, no_option) = api
        .send(
            Method::POST,
            &fix,
            Some(&token),
            Some(json!({"option": 9, "dry_run": true})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{no_option}");

    let (status, applied) = api
        .send(
            Method::POST,
            &fix,
            Some(&token),
            Some(json!({"option": 1, "dry_run": false})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{applied}");
    assert_eq!(applied["succeeded"], true, "{applied}");
    assert_eq!(api.writes(), steps, "each planned write once");
    let audit = api.engine.store.audit_log(10, None).await.unwrap();
    assert!(!audit.is_empty());
    assert!(
        audit.iter().all(|a| a.entry.actor == "token:whmcs"),
        "{audit:?}"
    );

    // Tokens open the JSON API only: a dashboard form still needs the session's CSRF token.
    let (status, _) = api
        .send(
            Method::POST,
            &format!("/cases/{}/fix", api.case_id),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(api.writes(), steps, "written at most once");
}

#[tokio::test]
async fn summary_counts_open_cases_money_and_the_last_run() {
    let api = api().await;
    let token = api.token("widget", "read").await;
    let (status, summary) = api
        .send(Method::GET, "/api/summary", Some(&token), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{summary}");
    assert_eq!(summary["open_cases"], 1);
    assert_eq!(
        summary["at_stake"],
        json!([{"currency": "EUR", "amount": "12.00"}])
    );
    assert_eq!(summary["by_kind"][0]["kind"], "expiry_drift");
    assert_eq!(summary["by_kind"][0]["count"], 1);
    assert_eq!(summary["last_run"]["outcome"], "complete");
    assert_eq!(summary["dashboard_url"], "/");
}
