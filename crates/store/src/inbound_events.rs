//! The inbound event queue: signed events from WHMCS hooks (`POST /api/events`) are stored
//! before they are answered, then claimed one at a time by a worker (owner and lease), run
//! and marked done. A claim whose lease ran out belongs to a worker that died and is taken
//! again; the signature is unique, so a replayed request is refused.

use crate::{get, parse_ts, q, ts, Backend, Result, Store, StoreError};
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::any::AnyRow;

/// An event as accepted from the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewInboundEvent {
    /// Lowercase hex of the request's signature: the replay key.
    pub signature: String,
    pub event: String,
    /// Domain names (A-labels); empty when only `invoice_id` names them.
    pub domains: Vec<String>,
    pub invoice_id: Option<i64>,
    pub received_at: DateTime<Utc>,
}

/// A stored event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InboundEventRecord {
    pub id: i64,
    pub event: String,
    pub domains: Vec<String>,
    pub invoice_id: Option<i64>,
    pub received_at: DateTime<Utc>,
    /// `queued`, `running`, `done` or `failed`.
    pub status: String,
    pub attempts: i64,
    pub owner: Option<String>,
    pub finished_at: Option<DateTime<Utc>>,
    pub result: Option<String>,
}

const EVENT_COLUMNS: &str =
    "id, event, domains, invoice_id, received_at, status, attempts, owner, finished_at, result";

impl InboundEventRecord {
    fn from_row(r: &AnyRow) -> Result<Self> {
        let domains: String = get(r, "domains")?;
        Ok(InboundEventRecord {
            id: get(r, "id")?,
            event: get(r, "event")?,
            domains: serde_json::from_str(&domains)
                .map_err(|e| StoreError::Corrupt(format!("event domains `{domains}`: {e}")))?,
            invoice_id: get(r, "invoice_id")?,
            received_at: parse_ts(&get::<String>(r, "received_at")?)?,
            status: get(r, "status")?,
            attempts: get(r, "attempts")?,
            owner: get(r, "owner")?,
            finished_at: get::<Option<String>>(r, "finished_at")?
                .as_deref()
                .map(parse_ts)
                .transpose()?,
            result: get(r, "result")?,
        })
    }
}

/// How a worker ends its claim of an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventOutcome {
    /// Checked (completely or as far as the inputs allowed); never run again.
    Done,
    /// Could not be checked now; queued again after `not_before`.
    Retry { not_before: DateTime<Utc> },
    /// Given up: the next full cycle covers its domains.
    Failed,
}

impl Store {
    /// Stores an accepted event; `Ok(None)` when its signature was accepted before (a replay).
    pub async fn queue_event(&self, event: &NewInboundEvent) -> Result<Option<i64>> {
        let domains = serde_json::to_string(&event.domains)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let row = sqlx::query(
            "INSERT INTO inbound_events (signature, event, domains, invoice_id, received_at, status, attempts)
             VALUES ($1, $2, $3, $4, $5, 'queued', 0)
             ON CONFLICT (signature) DO NOTHING RETURNING id",
        )
        .bind(&event.signature)
        .bind(&event.event)
        .bind(domains)
        .bind(event.invoice_id)
        .bind(ts(event.received_at))
        .fetch_optional(&self.pool)
        .await
        .map_err(q("queueing an inbound event"))?;
        row.map(|r| get::<i64>(&r, "id")).transpose()
    }

    /// Claims the oldest event that is queued (and due) or whose claim's lease ran out, in
    /// one statement; of several workers exactly one gets each event.
    pub async fn claim_event(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Option<InboundEventRecord>> {
        // PostgreSQL: concurrent workers skip each other's candidate row instead of
        // waiting for it. SQLite has one writer, so the statement alone is atomic.
        let lock = match self.backend {
            Backend::Postgres => "FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let row = sqlx::query(&format!(
            "UPDATE inbound_events SET status = 'running', owner = $1, not_before = $2, attempts = attempts + 1
             WHERE id = (SELECT id FROM inbound_events
                         WHERE (status = 'queued' AND (not_before IS NULL OR not_before <= $3))
                            OR (status = 'running' AND not_before < $3)
                         ORDER BY id LIMIT 1 {lock})
             RETURNING {EVENT_COLUMNS}"
        ))
        .bind(owner)
        .bind(ts(lease_until))
        .bind(ts(now))
        .fetch_optional(&self.pool)
        .await
        .map_err(q("claiming an inbound event"))?;
        row.as_ref().map(InboundEventRecord::from_row).transpose()
    }

    /// Ends `owner`'s claim of event `id`. False when the claim is no longer `owner`'s (its
    /// lease ran out and another worker took it): that worker records the outcome.
    pub async fn finish_event(
        &self,
        id: i64,
        owner: &str,
        outcome: EventOutcome,
        result: &str,
        at: DateTime<Utc>,
    ) -> Result<bool> {
        let (status, not_before, finished_at) = match outcome {
            EventOutcome::Done => ("done", None, Some(ts(at))),
            EventOutcome::Failed => ("failed", None, Some(ts(at))),
            EventOutcome::Retry { not_before } => ("queued", Some(ts(not_before)), None),
        };
        let done = sqlx::query(
            "UPDATE inbound_events SET status = $1, not_before = $2, finished_at = $3, result = $4
             WHERE id = $5 AND status = 'running' AND owner = $6",
        )
        .bind(status)
        .bind(not_before)
        .bind(finished_at)
        .bind(result)
        .bind(id)
        .bind(owner)
        .execute(&self.pool)
        .await
        .map_err(q("finishing an inbound event"))?;
        Ok(done.rows_affected() == 1)
    }

    /// One event by id.
    pub async fn inbound_event(&self, id: i64) -> Result<Option<InboundEventRecord>> {
        let row = sqlx::query(&format!(
            "SELECT {EVENT_COLUMNS} FROM inbound_events WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(q("reading an inbound event"))?;
        row.as_ref().map(InboundEventRecord::from_row).transpose()
    }

    /// The newest events first.
    pub async fn inbound_events(&self, limit: i64) -> Result<Vec<InboundEventRecord>> {
        let rows = sqlx::query(&format!(
            "SELECT {EVENT_COLUMNS} FROM inbound_events ORDER BY id DESC LIMIT $1"
        ))
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(q("listing inbound events"))?;
        rows.iter().map(InboundEventRecord::from_row).collect()
    }
}
