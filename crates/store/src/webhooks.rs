//! The outbox of outbound webhooks, the sending side (queueing: [`crate::webhook_events`]).
//!
//! Events are written in the transaction of the case change they tell (`sync_findings`
//! for opened / reopened / resolved, [`Store::audit_and_finish_claimed`] for a fix or an
//! automatic write), at most once per change: `event_key` is unique. Nothing is queued
//! before an endpoint was first configured. The sender fans events out into one delivery per
//! endpoint, claims due deliveries with a lease (`FOR UPDATE SKIP LOCKED` on PostgreSQL;
//! SQLite runs the one claiming `UPDATE` alone), sends, and records the outcome only
//! while it still holds the claim. A sender that dies after sending leaves a claim whose
//! lease runs out: the delivery goes again with the same delivery id, which receivers use
//! to de-duplicate.

use crate::{get, parse_ts, q, ts, Backend, Result, Store, StoreError};
use chrono::{DateTime, Utc};
use domwatch_core::webhook::EventKind;

/// Events older than this get no new deliveries (no sender ran for a week), which also
/// keeps them clear of [`PRUNE_AFTER`].
pub const FAN_OUT_WINDOW: chrono::Duration = chrono::Duration::days(7);
/// Delivered and abandoned deliveries, and events without pending ones, are forgotten
/// after this.
pub const PRUNE_AFTER: chrono::Duration = chrono::Duration::days(30);

/// One configured endpoint: `key` names it in the store without its URL (which may hold
/// a token), `host` is what the delivery log shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEndpoint {
    pub key: String,
    pub host: String,
}

/// A delivery claimed for sending, with the event it carries.
#[derive(Debug, Clone)]
pub struct ClaimedDelivery {
    pub id: i64,
    pub delivery_id: String,
    pub endpoint: String,
    /// Including this one.
    pub attempts: u32,
    pub event: String,
    pub occurred_at: DateTime<Utc>,
    /// `{"case": {...}, "text": "..."}` as of the change.
    pub payload: serde_json::Value,
}

/// What one try of a delivery came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryOutcome {
    Delivered {
        status: u16,
    },
    /// `retry_at`: when to try again; `None`: give up.
    Failed {
        status: Option<u16>,
        error: String,
        retry_at: Option<DateTime<Utc>>,
    },
}

/// A row of the delivery log.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookDeliveryRecord {
    pub id: i64,
    pub event: String,
    pub case_id: Option<i64>,
    pub host: String,
    pub delivery_id: String,
    /// pending | delivered | failed
    pub status: String,
    pub attempts: i64,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

impl Store {
    /// Records the configured endpoints. One seen for the first time gets the events from
    /// now on, not the history. Endpoints are never retired here: another process (a
    /// `domwatch cases` run without the configuration file) must not stop `serve`'s.
    pub async fn register_webhook_endpoints(&self, endpoints: &[WebhookEndpoint]) -> Result<()> {
        for e in endpoints {
            sqlx::query(
                "INSERT INTO webhook_endpoints (endpoint, host, since_event_id)
                 VALUES ($1, $2, (SELECT COALESCE(MAX(id), 0) FROM webhook_events))
                 ON CONFLICT (endpoint) DO NOTHING",
            )
            .bind(&e.key)
            .bind(&e.host)
            .execute(&self.pool)
            .await
            .map_err(q("registering a webhook endpoint"))?;
        }
        Ok(())
    }

    /// Creates the deliveries of `endpoint` for its events (`kinds`) of the last
    /// [`FAN_OUT_WINDOW`] that have none yet, each with an id from `new_id`. Returns how
    /// many were created.
    pub async fn fan_out_webhook_events(
        &self,
        endpoint: &str,
        kinds: &[EventKind],
        at: DateTime<Utc>,
        new_id: &mut (dyn FnMut() -> String + Send),
    ) -> Result<u64> {
        if kinds.is_empty() {
            return Ok(0);
        }
        let names = kinds
            .iter()
            .map(|k| format!("'{}'", k.as_str()))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT e.id FROM webhook_events e JOIN webhook_endpoints p ON p.endpoint = $1
             WHERE e.id > p.since_event_id AND e.event IN ({names}) AND e.occurred_at >= $2
               AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = e.id AND d.endpoint = $1)
             ORDER BY e.id LIMIT 500"
        );
        let mut created = 0;
        loop {
            let rows = sqlx::query(&sql)
                .bind(endpoint)
                .bind(ts(at - FAN_OUT_WINDOW))
                .fetch_all(&self.pool)
                .await
                .map_err(q("finding events to deliver"))?;
            for r in &rows {
                let done = sqlx::query(
                    "INSERT INTO webhook_deliveries (event_id, endpoint, delivery_id, status, attempts, next_attempt_at, created_at)
                     VALUES ($1, $2, $3, 'pending', 0, $4, $4) ON CONFLICT DO NOTHING",
                )
                .bind(get::<i64>(r, "id")?)
                .bind(endpoint)
                .bind(new_id())
                .bind(ts(at))
                .execute(&self.pool)
                .await
                .map_err(q("queueing a webhook delivery"))?;
                created += done.rows_affected();
            }
            if rows.len() < 500 {
                return Ok(created);
            }
        }
    }

    /// Claims up to `limit` due deliveries to `endpoints` (the caller's) for `owner` until
    /// `lease_until`, counting the attempt. Concurrent senders never get the same row.
    pub async fn claim_webhook_deliveries(
        &self,
        owner: &str,
        endpoints: &[String],
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<ClaimedDelivery>> {
        if endpoints.is_empty() {
            return Ok(Vec::new());
        }
        let lock = match self.backend {
            Backend::Postgres => "FOR UPDATE SKIP LOCKED",
            // SQLite has one writer: the UPDATE below claims in one step.
            Backend::Sqlite => "",
        };
        // Endpoint keys are host + hash, made by the sender, but quoted all the same.
        let keys = endpoints
            .iter()
            .map(|k| format!("'{}'", k.replace('\'', "''")))
            .collect::<Vec<_>>()
            .join(", ");
        let claim = format!(
            "UPDATE webhook_deliveries SET owner = $1, lease_until = $2, attempts = attempts + 1
             WHERE id IN (
               SELECT id FROM webhook_deliveries
               WHERE status = 'pending' AND endpoint IN ({keys}) AND next_attempt_at <= $3
                 AND (lease_until IS NULL OR lease_until < $3)
               ORDER BY id LIMIT $4 {lock})
             RETURNING id"
        );
        let claimed = sqlx::query(&claim)
            .bind(owner)
            .bind(ts(lease_until))
            .bind(ts(now))
            .bind(limit)
            .fetch_all(&self.pool)
            .await
            .map_err(q("claiming webhook deliveries"))?;
        if claimed.is_empty() {
            return Ok(Vec::new());
        }
        let rows = sqlx::query(
            "SELECT d.id, d.delivery_id, d.endpoint, d.attempts, e.event, e.occurred_at, e.payload
             FROM webhook_deliveries d JOIN webhook_events e ON e.id = d.event_id
             WHERE d.owner = $1 AND d.lease_until = $2 AND d.status = 'pending' ORDER BY d.id",
        )
        .bind(owner)
        .bind(ts(lease_until))
        .fetch_all(&self.pool)
        .await
        .map_err(q("reading claimed webhook deliveries"))?;
        rows.iter()
            .map(|r| {
                Ok(ClaimedDelivery {
                    id: get(r, "id")?,
                    delivery_id: get(r, "delivery_id")?,
                    endpoint: get(r, "endpoint")?,
                    attempts: get::<i64>(r, "attempts")?.max(0) as u32,
                    event: get(r, "event")?,
                    occurred_at: parse_ts(&get::<String>(r, "occurred_at")?)?,
                    payload: serde_json::from_str(&get::<String>(r, "payload")?)
                        .map_err(|e| StoreError::Corrupt(format!("webhook payload: {e}")))?,
                })
            })
            .collect()
    }

    /// Records a try while `owner` still holds the claim; false when it does not (its
    /// lease ran out and another sender took the delivery over).
    pub async fn finish_webhook_delivery(
        &self,
        id: i64,
        owner: &str,
        at: DateTime<Utc>,
        outcome: &DeliveryOutcome,
    ) -> Result<bool> {
        let query = match outcome {
            DeliveryOutcome::Delivered { status } => sqlx::query(
                "UPDATE webhook_deliveries SET status = 'delivered', delivered_at = $1, last_status = $2, last_error = NULL, lease_until = NULL
                 WHERE id = $3 AND owner = $4 AND status = 'pending'",
            )
            .bind(ts(at))
            .bind(i64::from(*status)),
            DeliveryOutcome::Failed {
                status,
                error,
                retry_at,
            } => sqlx::query(
                "UPDATE webhook_deliveries SET status = $1, next_attempt_at = $2, last_status = $3, last_error = $4, lease_until = NULL
                 WHERE id = $5 AND owner = $6 AND status = 'pending'",
            )
            .bind(if retry_at.is_some() { "pending" } else { "failed" })
            .bind(ts(retry_at.unwrap_or(at)))
            .bind(status.map(i64::from))
            .bind(error.clone()),
        };
        let done = query
            .bind(id)
            .bind(owner)
            .execute(&self.pool)
            .await
            .map_err(q("recording a webhook delivery"))?;
        Ok(done.rows_affected() == 1)
    }

    /// Forgets delivered and abandoned deliveries, and events without a pending delivery,
    /// from before `before`. Returns how many events went.
    pub async fn prune_webhook_outbox(&self, before: DateTime<Utc>) -> Result<u64> {
        sqlx::query("DELETE FROM webhook_deliveries WHERE status <> 'pending' AND created_at < $1")
            .bind(ts(before))
            .execute(&self.pool)
            .await
            .map_err(q("pruning webhook deliveries"))?;
        let events = sqlx::query(
            "DELETE FROM webhook_events WHERE occurred_at < $1
             AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = webhook_events.id)",
        )
        .bind(ts(before))
        .execute(&self.pool)
        .await
        .map_err(q("pruning webhook events"))?;
        Ok(events.rows_affected())
    }

    /// Deliveries per status (pending, delivered, failed), for monitoring.
    pub async fn webhook_delivery_counts(&self) -> Result<Vec<(String, i64)>> {
        let rows = sqlx::query(
            "SELECT status, COUNT(*) AS n FROM webhook_deliveries GROUP BY status ORDER BY status",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(q("counting webhook deliveries"))?;
        rows.iter()
            .map(|r| Ok((get(r, "status")?, get(r, "n")?)))
            .collect()
    }

    /// The delivery log, newest first.
    pub async fn webhook_deliveries(&self, limit: i64) -> Result<Vec<WebhookDeliveryRecord>> {
        let rows = sqlx::query(
            "SELECT d.id, e.event, e.case_id, p.host, d.delivery_id, d.status, d.attempts, d.last_status, d.last_error, d.next_attempt_at, d.created_at, d.delivered_at
             FROM webhook_deliveries d JOIN webhook_events e ON e.id = d.event_id
             LEFT JOIN webhook_endpoints p ON p.endpoint = d.endpoint
             ORDER BY d.id DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(q("reading the webhook delivery log"))?;
        rows.iter().map(delivery_record).collect()
    }
}

fn delivery_record(r: &sqlx::any::AnyRow) -> Result<WebhookDeliveryRecord> {
    let status: String = get(r, "status")?;
    let next = parse_ts(&get::<String>(r, "next_attempt_at")?)?;
    Ok(WebhookDeliveryRecord {
        id: get(r, "id")?,
        event: get(r, "event")?,
        case_id: get(r, "case_id")?,
        host: get::<Option<String>>(r, "host")?.unwrap_or_default(),
        delivery_id: get(r, "delivery_id")?,
        next_attempt_at: (status == "pending").then_some(next),
        status,
        attempts: get(r, "attempts")?,
        last_status: get(r, "last_status")?,
        last_error: get(r, "last_error")?,
        created_at: parse_ts(&get::<String>(r, "created_at")?)?,
        delivered_at: get::<Option<String>>(r, "delivered_at")?
            .as_deref()
            .map(parse_ts)
            .transpose()?,
    })
}
