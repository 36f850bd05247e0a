//! `GET /api/openapi.json` stays true: every `/api/*` route the router declares is
//! described and every described operation exists; every schema is a valid JSON Schema
//! (2020-12, the OpenAPI 3.1 dialect), every example is valid against its schema, and so
//! are the real answers of a seeded dashboard.
//!
//! Schemas are checked with Python's `jsonschema` (`$DOMWATCH_PYTHON`, set up by
//! scripts/test from scripts/requirements-test.txt); without it that part prints SKIPPED
//! (and fails when `CI` is set).

mod common;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use domwatch_web::api_token::{generate_token, token_hash};
use domwatch_web::{router, AuthConfig, WebState};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use tower::ServiceExt;

const METHODS: [&str; 5] = ["get", "post", "put", "delete", "patch"];

/// The `/api/*` routes as `router()` in src/lib.rs declares them: `(method, path)`.
fn declared_api_routes() -> BTreeSet<(String, String)> {
    let source = include_str!("../src/lib.rs");
    let start = source.find("pub fn router(").expect("router() in lib.rs");
    let body = &source[start..];
    let body = &body[..body.find("\n}\n").expect("end of router()")];
    let mut routes = BTreeSet::new();
    for (at, _) in body.match_indices(".route(") {
        let rest = &body[at + ".route(".len()..];
        let open = rest.find('"').unwrap();
        let close = open + 1 + rest[open + 1..].find('"').unwrap();
        let path = &rest[open + 1..close];
        // The arguments up to the matching parenthesis.
        let mut depth = 1;
        let mut end = close;
        for (i, c) in rest[close..].char_indices() {
            match c {
                '(' => depth += 1,
                ')' => depth -= 1,
                _ => {}
            }
            if depth == 0 {
                end = close + i;
                break;
            }
        }
        let args = &rest[close + 1..end];
        for method in METHODS {
            let found = args.match_indices(&format!("{method}(")).any(|(i, _)| {
                i == 0 || !args[..i].ends_with(|c: char| c.is_alphanumeric() || c == '_')
            });
            if found && path.starts_with("/api/") {
                routes.insert((method.to_string(), path.to_string()));
            }
        }
    }
    routes
}

fn described(spec: &Value) -> BTreeSet<(String, String)> {
    let mut ops = BTreeSet::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            ops.insert((method.clone(), path.clone()));
        }
    }
    ops
}

struct App {
    app: Router,
    token: String,
    case_id: i64,
    _dir: tempfile::TempDir,
}

async fn app() -> App {
    let dir = tempfile::tempdir().unwrap();
    let (engine, _, _) = common::engine(dir.path()).await;
    let case_id = common::open_fixable_case(&engine).await;
    let at = engine.clock.now();
    let token = generate_token();
    engine
        .store
        .create_api_token("spec", "fix", &token_hash(&token), at)
        .await
        .unwrap();
    let auth = AuthConfig::with_password_hash(
        "admin",
        &domwatch_web::hash_password("pw-Secret-9").unwrap(),
    )
    .unwrap();
    App {
        app: router(WebState::new(engine, auth)),
        token,
        case_id,
        _dir: dir,
    }
}

impl App {
    async fn send(&self, method: &str, path: &str, body: Option<Value>) -> (StatusCode, Vec<u8>) {
        let mut request = Request::builder()
            .method(Method::from_bytes(method.to_ascii_uppercase().as_bytes()).unwrap())
            .uri(path)
            .header(header::AUTHORIZATION, format!("Bearer {}", self.token));
        if body.is_some() {
            request = request.header(header::CONTENT_TYPE, "application/json");
        }
        let body = body
            .map(|b| Body::from(b.to_string()))
            .unwrap_or_else(Body::empty);
        let response = self
            .app
            .clone()
            .oneshot(request.body(body).unwrap())
            .await
            .unwrap();
        let status = response.status();
        (
            status,
            response
                .into_body()
                .collect()
                .await
                .unwrap()
                .to_bytes()
                .to_vec(),
        )
    }
}

#[tokio::test]
async fn every_api_route_is_described_and_every_description_is_routed() {
    let app = app().await;
    let (status, body) = app.send("get", "/api/openapi.json", None).await;
    assert_eq!(status, StatusCode::OK);
    let spec: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(spec["openapi"], "3.1.0");
    let declared = declared_api_routes();
    assert!(
        declared.len() >= 10,
        "the route parser found too little: {declared:?}"
    );
    let described = described(&spec);
    let missing: Vec<_> = declared.difference(&described).collect();
    assert!(
        missing.is_empty(),
        "routes without a description in src/openapi.rs: {missing:?}"
    );
    let unrouted: Vec<_> = described.difference(&declared).collect();
    assert!(
        unrouted.is_empty(),
        "described but not routed: {unrouted:?}"
    );
    // The router really answers each one (an unknown route is an empty 404, a wrong
    // method 405).
    for (method, path) in &described {
        let path = path.replace("{id}", "1");
        let body = (method != "get").then(|| json!({"dry_run": true}));
        let (status, body) = app.send(method, &path, body).await;
        assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        assert!(
            !(status == StatusCode::NOT_FOUND && body.is_empty()),
            "{method} {path} is not routed"
        );
    }
}

/// `{schema, instance, where}` for each example in the document.
fn examples(spec: &Value) -> Vec<Value> {
    let mut checks = Vec::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let mut bodies: Vec<(String, &Value)> = op["responses"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(status, r)| (format!("{method} {path} {status}"), &r["content"]))
                .collect();
            if let Some(request) = op.get("requestBody") {
                bodies.push((format!("{method} {path} request"), &request["content"]));
            }
            for (place, content) in bodies {
                for media in content.as_object().unwrap().values() {
                    let example = media
                        .get("example")
                        .unwrap_or_else(|| panic!("{place} has no example"));
                    checks.push(
                        json!({"where": place, "schema": media["schema"], "instance": example}),
                    );
                }
            }
        }
    }
    checks
}

/// The schema documented for an answer (JSON answers only).
fn documented_schema(spec: &Value, method: &str, path: &str, status: StatusCode) -> Value {
    let response = &spec["paths"][path][method]["responses"][status.as_str()];
    assert!(
        !response.is_null(),
        "{method} {path} answered {status}, which is not documented"
    );
    response["content"]["application/json"]["schema"].clone()
}

/// Runs the checks through Python's jsonschema; `None` when no such Python is here.
fn validate_with_python(spec: &Value, checks: Vec<Value>) -> Option<Vec<Value>> {
    let python = match std::env::var("DOMWATCH_PYTHON") {
        Ok(p) => p,
        Err(_) if std::env::var("CI").is_ok() => panic!(
            "DOMWATCH_PYTHON is not set but CI is: run scripts/test (it installs jsonschema)"
        ),
        Err(_) => return None,
    };
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("checks.json");
    std::fs::write(
        &input,
        json!({"components": spec["components"], "checks": checks}).to_string(),
    )
    .unwrap();
    let script = r#"
import json, sys
try:
    from jsonschema import Draft202012Validator
except ImportError:
    print("NO-JSONSCHEMA"); sys.exit(0)
doc = json.load(open(sys.argv[1]))
bad = []
for c in doc["checks"]:
    root = dict(c["schema"]); root["components"] = doc["components"]
    try:
        Draft202012Validator.check_schema(root)
    except Exception as e:
        bad.append({"where": c["where"], "errors": ["invalid schema: " + str(e).splitlines()[0]]}); continue
    errors = [e.message for e in Draft202012Validator(root).iter_errors(c["instance"])]
    if errors:
        bad.append({"where": c["where"], "errors": errors[:3]})
print(json.dumps(bad))
"#;
    let out = std::process::Command::new(python)
        .arg("-c")
        .arg(script)
        .arg(&input)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    if text.trim() == "NO-JSONSCHEMA" {
        assert!(
            std::env::var("CI").is_err(),
            "jsonschema is missing from $DOMWATCH_PYTHON: run scripts/test"
        );
        return None;
    }
    Some(serde_json::from_str(&text).unwrap())
}

#[tokio::test]
async fn examples_and_real_answers_match_their_schemas() {
    let app = app().await;
    let spec = domwatch_web::openapi::document();
    let mut checks = examples(&spec);
    assert!(checks.len() > 20);
    // Real answers of a seeded dashboard, against the schema of their status.
    let id = app.case_id;
    let real = [
        ("get", "/api/cases", "/api/cases".to_string(), None),
        ("get", "/api/cases/{id}", format!("/api/cases/{id}"), None),
        ("get", "/api/cases/{id}", "/api/cases/999".to_string(), None),
        (
            "post",
            "/api/cases/{id}/fix",
            format!("/api/cases/{id}/fix"),
            Some(json!({"option": 1, "dry_run": true})),
        ),
        (
            "post",
            "/api/cases/{id}/fix",
            format!("/api/cases/{id}/fix"),
            Some(json!({"option": 7, "dry_run": true})),
        ),
        ("get", "/api/runs", "/api/runs".to_string(), None),
        ("get", "/api/summary", "/api/summary".to_string(), None),
        ("get", "/api/session", "/api/session".to_string(), None),
        ("get", "/api/forecast", "/api/forecast".to_string(), None),
        (
            "get",
            "/api/tld-prices",
            "/api/tld-prices".to_string(),
            None,
        ),
        (
            "post",
            "/api/events",
            "/api/events".to_string(),
            Some(json!({"event": "InvoicePaid", "invoice_id": 1})),
        ),
        (
            "get",
            "/api/openapi.json",
            "/api/openapi.json".to_string(),
            None,
        ),
    ];
    for (method, path, uri, body) in real {
        let (status, answer) = app.send(method, &uri, body).await;
        let schema = documented_schema(&spec, method, path, status);
        let instance: Value = serde_json::from_slice(&answer).unwrap();
        checks.push(json!({"where": format!("real {method} {uri} {status}"), "schema": schema, "instance": instance}));
    }
    match validate_with_python(&spec, checks) {
        Some(bad) => assert!(bad.is_empty(), "not valid against their schemas: {bad:#?}"),
        None => eprintln!("SKIPPED schema validation: set DOMWATCH_PYTHON to a Python with jsonschema (scripts/test does)"),
    }
}
