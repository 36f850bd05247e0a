//! Queueing webhook events: one per case change, written inside the transaction that
//! makes the change, with the case as it is then (see [`crate::webhooks`] for sending).

use crate::{get, q, ts, CaseRecord, Result, StoreError, CASE_COLUMNS};
use chrono::{DateTime, Utc};
use domwatch_core::plan::Action;
use domwatch_core::webhook::EventKind;
use std::collections::HashMap;

/// A case change to tell, inside the transaction that makes it.
#[derive(Debug, Clone)]
pub(crate) struct CaseChange {
    pub kind: EventKind,
    pub case_id: i64,
    pub opening: i64,
    /// Fix and automatic events: the action's key (the event's key) and what it did.
    pub action: Option<(String, String)>,
}

/// Queues one event per change, inside the caller's transaction; nothing while no
/// endpoint was ever configured. A change already queued (same key) is not queued again.
pub(crate) async fn enqueue(
    conn: &mut sqlx::AnyConnection,
    changes: &[CaseChange],
    at: DateTime<Utc>,
) -> Result<()> {
    if changes.is_empty() {
        return Ok(());
    }
    let endpoints = sqlx::query("SELECT COUNT(*) AS n FROM webhook_endpoints")
        .fetch_one(&mut *conn)
        .await
        .map_err(q("reading webhook endpoints"))?;
    if get::<i64>(&endpoints, "n")? == 0 {
        return Ok(());
    }
    let cases = load_cases(conn, changes).await?;
    for chunk in changes.chunks(100) {
        let values = (0..chunk.len())
            .map(|i| {
                let p = |k: usize| format!("${}", 5 * i + k);
                format!("({}, {}, {}, {}, {})", p(1), p(2), p(3), p(4), p(5))
            })
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "INSERT INTO webhook_events (event_key, event, case_id, occurred_at, payload) VALUES {values}
             ON CONFLICT (event_key) DO NOTHING"
        );
        let mut query = sqlx::query(&sql);
        for change in chunk {
            let case = cases.get(&change.case_id).ok_or_else(|| {
                StoreError::Corrupt(format!(
                    "case {} vanished in its transaction",
                    change.case_id
                ))
            })?;
            query = query
                .bind(event_key(change))
                .bind(change.kind.as_str())
                .bind(change.case_id)
                .bind(ts(at))
                .bind(payload(case, change).to_string());
        }
        query
            .execute(&mut *conn)
            .await
            .map_err(q("queueing webhook events"))?;
    }
    Ok(())
}

/// The action a fix or automatic event tells: its description, read in the transaction.
pub(crate) async fn action_description(
    conn: &mut sqlx::AnyConnection,
    key: &str,
) -> Result<String> {
    let row = sqlx::query("SELECT action FROM actions WHERE idempotency_key = $1")
        .bind(key)
        .fetch_one(&mut *conn)
        .await
        .map_err(q("reading an action"))?;
    let action: Action = serde_json::from_str(&get::<String>(&row, "action")?)
        .map_err(|e| StoreError::Corrupt(format!("action JSON: {e}")))?;
    Ok(action.describe())
}

async fn load_cases(
    conn: &mut sqlx::AnyConnection,
    changes: &[CaseChange],
) -> Result<HashMap<i64, CaseRecord>> {
    let mut ids: Vec<i64> = changes.iter().map(|c| c.case_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut cases = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        let list = crate::id_list(chunk);
        let rows = sqlx::query(&format!(
            "SELECT {CASE_COLUMNS} FROM cases WHERE id IN ({list})"
        ))
        .fetch_all(&mut *conn)
        .await
        .map_err(q("loading cases for webhooks"))?;
        for r in &rows {
            let case = CaseRecord::from_row(r)?;
            cases.insert(case.id, case);
        }
    }
    Ok(cases)
}

fn event_key(change: &CaseChange) -> String {
    match &change.action {
        Some((key, _)) => format!("{}:{key}", change.kind.as_str()),
        None => format!(
            "{}:{}:{}",
            change.kind.as_str(),
            change.case_id,
            change.opening
        ),
    }
}

/// The case as the event tells it, and the one line chat tools show.
fn payload(case: &CaseRecord, change: &CaseChange) -> serde_json::Value {
    let domain = case.domain.display();
    let mut json = serde_json::json!({
        "id": case.id,
        "kind": case.kind.as_str(),
        "label": case.kind.title(),
        "domain": domain,
        "domain_ascii": case.domain.ascii(),
        "state": case.state.as_str(),
        "opening": change.opening,
        "summary": case.summary,
        "at_stake": case.at_stake.map(|m| serde_json::json!({
            "currency": m.currency.to_string(),
            "amount": format!("{:.2}", m.amount),
        })),
        "registrar_account": case.registrar_account,
        "billing_domain_id": case.billing_domain_id,
        "url": format!("/cases/{}", case.id),
    });
    let mut text = format!(
        "domwatch: case #{} {} — {}: {domain}",
        case.id,
        change.kind.verb(),
        case.kind.title()
    );
    if let Some((_, description)) = &change.action {
        json["action"] = serde_json::json!({ "description": description });
        text.push_str(&format!(" — {description}"));
    } else if let (Some(m), false) = (case.at_stake, change.kind == EventKind::CaseResolved) {
        text.push_str(&format!(" ({m} at stake)"));
    }
    serde_json::json!({ "case": json, "text": text })
}
