//! `GET /api/openapi.json`: the JSON API described as OpenAPI 3.1, built here from one
//! table of operations ([`operations`]) and the schemas of what the handlers answer
//! ([`schemas`]). `tests/openapi.rs` keeps it true: every `/api/*` route of the router is
//! described (a new route without a description fails), every described route exists,
//! every example is valid against its schema, and real answers of a seeded dashboard are
//! valid against the schemas of their status.

use axum::Json;
use serde_json::{json, Map, Value};

/// Who may call an operation.
#[derive(Clone, Copy)]
enum Auth {
    /// A login session (cookie; writes also `X-CSRF-Token`) or an API token.
    Read,
    /// As `Read`, and a token needs scope `fix`.
    Fix,
    /// Signed with the `[events]` secret.
    Signed,
    /// Anyone who may reach the server.
    Public,
}

struct Body {
    status: u16,
    description: &'static str,
    content_type: &'static str,
    schema: Value,
    example: Option<Value>,
}

struct Operation {
    method: &'static str,
    path: &'static str,
    summary: &'static str,
    auth: Auth,
    parameters: Vec<Value>,
    request: Option<Body>,
    responses: Vec<Body>,
}

fn schema_ref(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

fn ok(schema: Value, example: Value) -> Body {
    answer(200, "OK", schema, example)
}

fn answer(status: u16, description: &'static str, schema: Value, example: Value) -> Body {
    Body {
        status,
        description,
        content_type: "application/json",
        schema,
        example: Some(example),
    }
}

fn error(status: u16, description: &'static str, example: &str) -> Body {
    answer(
        status,
        description,
        schema_ref("Error"),
        json!({"error": example}),
    )
}

fn query(name: &str, description: &str, schema: Value) -> Value {
    json!({"name": name, "in": "query", "required": false, "description": description, "schema": schema})
}

fn case_id() -> Value {
    json!({"name": "id", "in": "path", "required": true, "description": "the case id", "schema": {"type": "integer", "minimum": 1}})
}

fn common_errors(auth: Auth) -> Vec<Body> {
    match auth {
        Auth::Read | Auth::Fix => vec![error(
            401,
            "not logged in, or the API token is unknown or revoked",
            "the API token is unknown or revoked: create one with `domwatch token create --name NAME --scope read|fix`",
        ), error(
            403,
            "a read token on a write, or a write without the session's CSRF token",
            "token `widget` has scope `read` and may only read: create a token with --scope fix for writes",
        )],
        Auth::Signed | Auth::Public => Vec::new(),
    }
}

fn case_example() -> Value {
    json!({
        "id": 17, "kind": "expiry_drift", "domain": "example.com", "billing_domain_id": 7,
        "registrar_account": "cnr", "state": "open", "openings": 1,
        "opened_at": "2026-11-22T03:00:00Z", "updated_at": "2026-11-22T03:00:00Z", "resolved_at": null,
        "summary": "example.com expires 2026-12-01 in billing but is paid until 2027-01-01",
        "at_stake": {"amount": "12.00", "currency": "EUR"},
        "finding": {"kind": "expiry_drift", "domain": "example.com", "summary": "…", "evidence": [], "facts": {}}
    })
}

fn fix_example(dry_run: bool) -> Value {
    json!({
        "succeeded": true, "dry_run": dry_run,
        "report": {"case_id": 17, "option": "sync-expiry", "steps": [{
            "action": {"kind": "update_billing_domain", "domain_id": 7},
            "description": "WHMCS UpdateClientDomain #7: expirydate 2027-01-01",
            "outcome": if dry_run { json!({"outcome": "would_apply"}) } else { json!({"outcome": "applied", "detail": "ok"}) }
        }]}
    })
}

fn case_operations() -> Vec<Operation> {
    let state = query(
        "state",
        "open (default), resolved or all",
        json!({"enum": ["open", "resolved", "all"]}),
    );
    let kind = query(
        "kind",
        "only this kind, e.g. expiry_drift",
        json!({"type": "string"}),
    );
    vec![
        Operation {
            method: "get", path: "/api/cases", summary: "The cases, open ones by default", auth: Auth::Read,
            parameters: vec![state.clone(), kind.clone()],
            request: None,
            responses: vec![
                ok(json!({"type": "array", "items": schema_ref("Case")}), json!([case_example()])),
                error(400, "an unknown state or kind", "state `x` is unknown: use open, resolved or all"),
            ],
        },
        Operation {
            method: "get", path: "/api/cases.csv", summary: "The same list as CSV (UTF-8, header row)", auth: Auth::Read,
            parameters: vec![state, kind],
            request: None,
            responses: vec![Body {
                status: 200, description: "CSV", content_type: "text/csv",
                schema: json!({"type": "string"}),
                example: Some(json!("id,kind,domain,domain_ascii,state\n17,expiry_drift,example.com,example.com,open\n")),
            }],
        },
        Operation {
            method: "get", path: "/api/cases/{id}", summary: "One case: guide, fix options with their exact writes, notices, actions, history", auth: Auth::Read,
            parameters: vec![case_id()],
            request: None,
            responses: vec![
                ok(schema_ref("CaseDetail"), json!({"case": case_example(), "guide": {"title": "…"}, "options": [{"name": "sync-expiry", "description": "…", "actions": []}], "notices": [], "actions": [], "history": []})),
                error(404, "no such case", "case 99 does not exist: list cases with `domwatch cases`"),
            ],
        },
        Operation {
            method: "post", path: "/api/cases/{id}/fix", summary: "Fix now: the plan with dry_run, else applied at most once and audited", auth: Auth::Fix,
            parameters: vec![case_id()],
            request: Some(answer(0, "the option (number from 1, or name; default the recommended one) and dry_run", schema_ref("FixRequest"), json!({"option": 1, "dry_run": true}))),
            responses: vec![
                ok(schema_ref("FixResult"), fix_example(true)),
                error(400, "no such option", "case 17 has no option 9: it has 2 (numbered from 1, see GET /api/cases/17)"),
                error(404, "no such case", "case 99 does not exist: list cases with `domwatch cases`"),
                error(409, "resolved, manual only, or a fix already in progress", "a fix of case 17 is already in progress (started by api:admin): wait for it and look at the case again"),
            ],
        },
    ]
}

fn other_operations() -> Vec<Operation> {
    let run = json!({"id": 41, "started_at": "2026-11-22T03:00:00Z", "finished_at": "2026-11-22T03:00:09Z", "status": "ok", "dry_run": false, "stats": {"opened": 2}, "error": null});
    vec![
        Operation {
            method: "get", path: "/api/session", summary: "Who is logged in, and the CSRF token for writes with the session", auth: Auth::Read,
            parameters: vec![], request: None,
            responses: vec![ok(schema_ref("Session"), json!({"user": "admin", "csrf_token": "3f…"}))],
        },
        Operation {
            method: "get", path: "/api/runs", summary: "The latest monitoring runs, newest first", auth: Auth::Read,
            parameters: vec![query("limit", "how many (1 to 500, default 20)", json!({"type": "integer", "minimum": 1}))],
            request: None,
            responses: vec![ok(json!({"type": "array", "items": schema_ref("Run")}), json!([run]))],
        },
        Operation {
            method: "get", path: "/api/summary", summary: "Open cases, money at stake per currency and kind, the last run (read from the store only)", auth: Auth::Read,
            parameters: vec![], request: None,
            responses: vec![ok(schema_ref("Summary"), json!({
                "open_cases": 3, "at_stake": [{"currency": "EUR", "amount": "12.00"}],
                "by_kind": [{"kind": "expiry_drift", "label": "Expiry date differs", "count": 3, "at_stake": [{"currency": "EUR", "amount": "12.00"}]}],
                "last_run": {"id": 41, "started_at": "2026-11-22T03:00:00Z", "finished_at": "2026-11-22T03:00:09Z", "outcome": "complete"},
                "dashboard_url": "/"
            }))],
        },
        Operation {
            method: "get", path: "/api/forecast", summary: "The renewal forecast of the last cycle", auth: Auth::Read,
            parameters: vec![query("days", "30, 60, 90 (default) or 365", json!({"enum": [30, 60, 90, 365]}))],
            request: None,
            responses: vec![
                ok(json!({"type": "object", "required": ["run_id", "days", "complete"]}), json!({"run_id": 41, "computed_at": "2026-11-22T03:00:09Z", "complete": true, "missing": [], "today": "2026-11-22", "days": 90, "window": {}, "weeks": [], "loss_makers": [], "no_rate": 0, "no_cost": 0, "overdue": 0, "beyond_365_days": 0})),
                error(400, "another window", "days must be 30, 60, 90 or 365"),
                error(404, "no cycle has stored a forecast yet", "no forecast yet: it is computed by every monitoring cycle; run `domwatch check` (or wait for `domwatch serve`'s first cycle)"),
            ],
        },
        Operation {
            method: "get", path: "/api/tld-prices", summary: "TLD price cases (WHMCS prices against the registrars' price lists)", auth: Auth::Read,
            parameters: vec![], request: None,
            responses: vec![ok(json!({"type": "array", "items": {"type": "object", "required": ["id", "tld", "operation", "currency", "state"]}}), json!([{"id": 3, "tld": "shop", "operation": "renew", "currency": "EUR", "state": "open"}]))],
        },
        Operation {
            method: "post", path: "/api/tld-prices/{id}/fix", summary: "Fix now for a TLD price case (dry_run for the plan)", auth: Auth::Fix,
            parameters: vec![json!({"name": "id", "in": "path", "required": true, "schema": {"type": "integer", "minimum": 1}})],
            request: Some(answer(0, "dry_run: report the writes, make none", json!({"type": "object", "properties": {"dry_run": {"type": "boolean"}}}), json!({"dry_run": true}))),
            responses: vec![ok(json!({"type": "object", "required": ["succeeded", "report"], "properties": {"succeeded": {"type": "boolean"}, "report": {"type": "object"}}}), json!({"succeeded": true, "report": {"steps": []}}))],
        },
        Operation {
            method: "post", path: "/api/events", summary: "A signed WHMCS hook event: stored, then a targeted check of its domains", auth: Auth::Signed,
            parameters: vec![
                json!({"name": "X-Domwatch-Timestamp", "in": "header", "required": true, "description": "unix seconds, within 300 s of the server's clock", "schema": {"type": "string", "pattern": "^[0-9]+$"}}),
                json!({"name": "X-Domwatch-Signature", "in": "header", "required": true, "description": "sha256=<lowercase hex HMAC-SHA256(secret, \"<timestamp>.<raw body>\")>", "schema": {"type": "string", "pattern": "^sha256=[0-9a-f]{64}$"}}),
            ],
            request: Some(answer(0, "the event", schema_ref("Event"), json!({"event": "InvoicePaid", "domains": ["example.com"], "invoice_id": 123}))),
            responses: vec![
                answer(202, "stored; checked in a moment", schema_ref("EventAccepted"), json!({"event_id": 7, "domains": ["example.com"]})),
                error(400, "an unknown event or a bad body (names the field)", "field `event`: `ClientAdd` is unknown; events: InvoicePaid, …"),
                error(401, "a missing or wrong signature, or a timestamp more than 300 s off", "timestamp 1700000000 is 3600 s from this server's clock; check both clocks (NTP)"),
                error(409, "the same request again (a replay)", "this request was accepted before (same signature): a replay is refused; sign each event with a new timestamp"),
                error(503, "no [events] secret is configured", "events are not enabled: set [events] secret (or secret_file, DOMWATCH_EVENTS_SECRET) and restart"),
            ],
        },
        Operation {
            method: "get", path: "/api/openapi.json", summary: "This description", auth: Auth::Public,
            parameters: vec![], request: None,
            responses: vec![ok(json!({"type": "object", "required": ["openapi", "paths"]}), json!({"openapi": "3.1.0", "paths": {}}))],
        },
    ]
}

/// Every operation of the JSON API.
fn operations() -> Vec<Operation> {
    let mut all = case_operations();
    all.extend(other_operations());
    all
}

fn money() -> Value {
    json!({"type": "object", "required": ["amount", "currency"], "properties": {
        "amount": {"type": "string", "pattern": "^-?[0-9]+(\\.[0-9]+)?$"},
        "currency": {"type": "string", "pattern": "^[A-Z]{3}$"}}})
}

fn stakes() -> Value {
    json!({"type": "array", "items": {"type": "object", "required": ["currency", "amount"], "properties": {
        "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
        "amount": {"type": "string", "pattern": "^-?[0-9]+\\.[0-9]{2}$"}}}})
}

/// The shapes the handlers answer with (the essential fields; more may be added).
fn schemas() -> Value {
    let time = json!({"type": "string", "format": "date-time"});
    let time_or_null = json!({"type": ["string", "null"], "format": "date-time"});
    json!({
        "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}},
        "Money": money(),
        "Case": {"type": "object",
            "required": ["id", "kind", "domain", "state", "openings", "opened_at", "updated_at", "summary", "finding"],
            "properties": {
                "id": {"type": "integer"}, "kind": {"type": "string"}, "domain": {"type": "string"},
                "billing_domain_id": {"type": ["integer", "null"]}, "registrar_account": {"type": ["string", "null"]},
                "state": {"enum": ["open", "resolved"]}, "openings": {"type": "integer", "minimum": 1},
                "opened_at": time, "updated_at": time, "resolved_at": time_or_null, "summary": {"type": "string"},
                "at_stake": {"oneOf": [{"type": "null"}, {"$ref": "#/components/schemas/Money"}]},
                "finding": {"type": "object", "required": ["kind", "domain"]}}},
        "CaseDetail": {"type": "object", "required": ["case", "guide", "options", "notices", "actions", "history"],
            "properties": {
                "case": {"$ref": "#/components/schemas/Case"}, "guide": {"type": "object"},
                "options": {"type": "array", "items": {"type": "object", "required": ["name", "description", "actions"]}},
                "notices": {"type": "array"}, "actions": {"type": "array"}, "history": {"type": "array"}}},
        "FixRequest": {"type": "object", "properties": {
            "option": {"oneOf": [{"type": "integer", "minimum": 1}, {"type": "string"}]},
            "dry_run": {"type": "boolean", "default": false}}},
        "FixResult": {"type": "object", "required": ["succeeded", "dry_run", "report"], "properties": {
            "succeeded": {"type": "boolean"}, "dry_run": {"type": "boolean"},
            "report": {"type": "object", "required": ["case_id", "option", "steps"], "properties": {
                "case_id": {"type": "integer"}, "option": {"type": "string"},
                "steps": {"type": "array", "items": {"type": "object", "required": ["action", "description", "outcome"], "properties": {
                    "action": {"type": "object"}, "description": {"type": "string"},
                    "outcome": {"type": "object", "required": ["outcome"], "properties": {
                        "outcome": {"enum": ["would_apply", "applied", "already_applied", "failed", "manual"]}}}}}}}}}},
        "Session": {"type": "object", "required": ["user", "csrf_token"], "properties": {"user": {"type": "string"}, "csrf_token": {"type": "string"}}},
        "Run": {"type": "object", "required": ["id", "started_at", "status", "dry_run", "stats"], "properties": {
            "id": {"type": "integer"}, "started_at": time, "finished_at": time_or_null,
            "status": {"enum": ["running", "ok", "failed"]}, "dry_run": {"type": "boolean"},
            "stats": {"type": ["object", "null"]}, "error": {"type": ["string", "null"]}}},
        "Summary": {"type": "object", "required": ["open_cases", "at_stake", "by_kind", "last_run", "dashboard_url"], "properties": {
            "open_cases": {"type": "integer", "minimum": 0}, "at_stake": stakes(),
            "by_kind": {"type": "array", "items": {"type": "object", "required": ["kind", "label", "count", "at_stake"], "properties": {
                "kind": {"type": "string"}, "label": {"type": "string"}, "count": {"type": "integer", "minimum": 1}, "at_stake": stakes()}}},
            "last_run": {"oneOf": [{"type": "null"}, {"type": "object", "required": ["id", "started_at", "finished_at", "outcome"], "properties": {
                "id": {"type": "integer"}, "started_at": time, "finished_at": time_or_null,
                "outcome": {"enum": ["complete", "partial", "failed", "running"]}}}]},
            "dashboard_url": {"type": "string"}}},
        "Event": {"type": "object", "required": ["event"], "properties": {
            "event": {"enum": crate::events::event_names()},
            "domains": {"type": "array", "maxItems": 100, "items": {"type": "string"}},
            "invoice_id": {"type": "integer", "minimum": 1}},
            "anyOf": [{"required": ["invoice_id"]}, {"required": ["domains"], "properties": {"domains": {"minItems": 1}}}]},
        "EventAccepted": {"type": "object", "required": ["event_id", "domains"], "properties": {
            "event_id": {"type": "integer"}, "domains": {"type": "array", "items": {"type": "string"}}}}
    })
}

fn security(auth: Auth) -> Value {
    match auth {
        Auth::Read | Auth::Fix => json!([{"apiToken": []}, {"session": [], "csrf": []}]),
        Auth::Signed => json!([{"eventSignature": []}]),
        Auth::Public => json!([]),
    }
}

fn content(body: &Body) -> Value {
    let mut media = json!({"schema": body.schema});
    if let Some(example) = &body.example {
        media["example"] = example.clone();
    }
    json!({body.content_type: media})
}

fn operation_json(op: &Operation) -> Value {
    let mut responses = Map::new();
    for r in op.responses.iter().chain(common_errors(op.auth).iter()) {
        responses.insert(
            r.status.to_string(),
            json!({"description": r.description, "content": content(r)}),
        );
    }
    let mut value = json!({
        "summary": op.summary,
        "operationId": format!("{}{}", op.method, op.path.replace(['/', '{', '}', '.', '-'], "_")),
        "security": security(op.auth),
        "parameters": op.parameters,
        "responses": responses,
    });
    if matches!(op.auth, Auth::Fix) {
        value["description"] = json!("API tokens need scope `fix`; sessions need `X-CSRF-Token`.");
    }
    if let Some(request) = &op.request {
        value["requestBody"] = json!({"required": false, "description": request.description, "content": content(request)});
    }
    value
}

/// The OpenAPI 3.1 document.
pub fn document() -> Value {
    let mut paths = Map::new();
    for op in operations() {
        let item = paths.entry(op.path).or_insert_with(|| json!({}));
        item[op.method] = operation_json(&op);
    }
    json!({
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
        "info": {
            "title": "domwatch JSON API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Cases, Fix now, runs, forecast and widgets' summary of domwatch, and the signed event intake for WHMCS hooks. Authenticate with `Authorization: Bearer dwt_…` (`domwatch token create`) or a login session with `X-CSRF-Token` on writes."
        },
        "paths": paths,
        "components": {
            "schemas": schemas(),
            "securitySchemes": {
                "apiToken": {"type": "http", "scheme": "bearer", "description": "an API token from `domwatch token create` (scope read or fix)"},
                "session": {"type": "apiKey", "in": "cookie", "name": crate::auth::SESSION_COOKIE},
                "csrf": {"type": "apiKey", "in": "header", "name": "X-CSRF-Token", "description": "from GET /api/session; needed on writes with a session"},
                "eventSignature": {"type": "apiKey", "in": "header", "name": "X-Domwatch-Signature", "description": "sha256=<hex HMAC-SHA256([events] secret, \"<X-Domwatch-Timestamp>.<body>\")>"}
            }
        }
    })
}

/// `GET /api/openapi.json`.
pub(crate) async fn serve_document() -> Json<Value> {
    Json(document())
}
