//! Shared by the sandbox tests: the day the portfolios are anchored to, the admin
//! `POST /_sandbox/event` every sandbox serves, and raw WHMCS API calls. Each test binary
//! uses a part of it.
#![allow(dead_code)]

use chrono::NaiveDate;
use domwatch_sandbox::registrar::RegistrarSandbox;
use domwatch_sandbox::smartnic::SmartnicSandbox;
use domwatch_sandbox::whmcs::WhmcsSandbox;
use serde_json::Value;

/// The day the test portfolios are anchored to.
pub fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 22).unwrap()
}

/// A sandbox with the admin endpoints.
pub trait Admin {
    /// `http://127.0.0.1:PORT`, with or without the trailing slash.
    fn admin_base(&self) -> String;
}

impl Admin for RegistrarSandbox {
    fn admin_base(&self) -> String {
        self.base_url()
    }
}

impl Admin for SmartnicSandbox {
    fn admin_base(&self) -> String {
        self.base_url()
    }
}

impl Admin for WhmcsSandbox {
    fn admin_base(&self) -> String {
        self.base_url()
    }
}

/// `POST /_sandbox/event`, as an operator (or the fault-matrix scenario) would send it;
/// the event must apply.
pub async fn event(sandbox: &impl Admin, json: &str) {
    let url = format!(
        "{}/_sandbox/event",
        sandbox.admin_base().trim_end_matches('/')
    );
    let response = reqwest::Client::new()
        .post(url)
        .header("Content-Type", "application/json")
        .body(json.to_string())
        .send()
        .await
        .unwrap();
    let status = response.status();
    let body = response.text().await.unwrap();
    assert!(status.is_success(), "{json}: {status} {body}");
}

/// A raw WHMCS API call with the sandbox's credentials, for asserting the wire format
/// itself; `json` asks for `responsetype=json`.
pub async fn raw(sandbox: &WhmcsSandbox, fields: &[(&str, &str)], json: bool) -> (u16, String) {
    let mut form = vec![
        ("identifier", sandbox.identifier()),
        ("secret", sandbox.secret()),
    ];
    if json {
        form.push(("responsetype", "json"));
    }
    form.extend_from_slice(fields);
    let response = reqwest::Client::new()
        .post(sandbox.api_url())
        .form(&form)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// A raw WHMCS API call answered in JSON: status and body.
pub async fn post(sandbox: &WhmcsSandbox, fields: &[(&str, &str)]) -> (u16, String) {
    raw(sandbox, fields, true).await
}

/// A raw WHMCS API call's JSON answer.
pub async fn raw_json(sandbox: &WhmcsSandbox, fields: &[(&str, &str)]) -> Value {
    let (_, body) = raw(sandbox, fields, true).await;
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"))
}
