//! The outbox of notices about automatic writes.
//!
//! An automatic write's result, its audit line and its outbox row are committed together
//! ([`Store::audit_and_finish_claimed`] with a notice opening). The notice stage then tells the admin about
//! every pending row exactly once: inside the case's own notice when that has not gone
//! out yet, else in a notice of its own, claimed like case notices so that a rerun after
//! a crash looks for it before sending again.

use crate::{get, parse_ts, q, ts, Result, Store, StoreError};
use chrono::{DateTime, Utc};
use domwatch_core::plan::Action;

/// An automatic write whose notice has not been recorded as sent.
#[derive(Debug, Clone)]
pub struct PendingActionNotice {
    pub id: i64,
    pub action_key: String,
    pub case_id: i64,
    pub opening: i64,
    pub action: Action,
    pub result: Option<String>,
    pub applied_at: Option<DateTime<Utc>>,
    /// A previous run claimed it and may have sent it before crashing: look first.
    pub claimed: bool,
}

impl Store {
    /// Every queued notice not yet sent, oldest first, whatever its case's state.
    pub async fn pending_action_notices(&self) -> Result<Vec<PendingActionNotice>> {
        let rows = sqlx::query(
            "SELECT n.id, n.action_key, n.case_id, n.opening, n.status, a.action, a.result, a.applied_at
             FROM action_notices n JOIN actions a ON a.idempotency_key = n.action_key
             WHERE n.status <> 'sent' ORDER BY n.id",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(q("listing queued action notices"))?;
        rows.iter()
            .map(|r| {
                Ok(PendingActionNotice {
                    id: get(r, "id")?,
                    action_key: get(r, "action_key")?,
                    case_id: get(r, "case_id")?,
                    opening: get(r, "opening")?,
                    action: serde_json::from_str(&get::<String>(r, "action")?)
                        .map_err(|e| StoreError::Corrupt(format!("action JSON: {e}")))?,
                    result: get(r, "result")?,
                    applied_at: get::<Option<String>>(r, "applied_at")?
                        .as_deref()
                        .map(parse_ts)
                        .transpose()?,
                    claimed: get::<String>(r, "status")? == "claimed",
                })
            })
            .collect()
    }

    /// Claims a queued notice for a notice of its own; false when it was claimed before
    /// (a run crashed after claiming: the notice may exist and must be looked for).
    pub async fn claim_action_notice(&self, id: i64) -> Result<bool> {
        let claimed = sqlx::query(
            "UPDATE action_notices SET status = 'claimed' WHERE id = $1 AND status = 'pending'",
        )
        .bind(id)
        .execute(&self.pool)
        .await
        .map_err(q("claiming an action notice"))?;
        Ok(claimed.rows_affected() == 1)
    }

    /// Records a case opening's notice as sent together with the queued notices of the
    /// automatic writes it told (`action_keys`), in one transaction: a crash cannot leave
    /// a write told but still queued, which would tell it twice.
    pub async fn mark_case_notice_sent(
        &self,
        case_id: i64,
        opening: i64,
        channel: &str,
        external_ref: &str,
        action_keys: &[String],
        at: DateTime<Utc>,
    ) -> Result<()> {
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(q("starting a transaction"))?;
        sqlx::query("UPDATE notices SET status = 'sent', external_ref = $1, sent_at = $2, error = NULL WHERE case_id = $3 AND opening = $4 AND channel = $5")
            .bind(external_ref)
            .bind(ts(at))
            .bind(case_id)
            .bind(opening)
            .bind(channel)
            .execute(&mut *tx)
            .await
            .map_err(q("recording a sent notice"))?;
        for key in action_keys {
            mark_action_notice_sent(&mut tx, key, external_ref, at).await?;
        }
        tx.commit().await.map_err(q("committing a sent notice"))?;
        self.add_case_event(
            case_id,
            at,
            "notified",
            &serde_json::json!({"channel": channel, "ref": external_ref, "opening": opening}),
        )
        .await
    }

    /// Records queued notices as told, by the to-do or ticket `external_ref`.
    pub async fn mark_action_notices_sent(
        &self,
        action_keys: &[String],
        external_ref: &str,
        at: DateTime<Utc>,
    ) -> Result<()> {
        let mut conn = self
            .pool
            .acquire()
            .await
            .map_err(q("connecting to record a sent action notice"))?;
        for key in action_keys {
            mark_action_notice_sent(&mut conn, key, external_ref, at).await?;
        }
        Ok(())
    }

    pub async fn mark_action_notice_failed(&self, id: i64, error: &str) -> Result<()> {
        sqlx::query("UPDATE action_notices SET error = $1 WHERE id = $2")
            .bind(error)
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(q("recording a failed action notice"))?;
        Ok(())
    }

    /// Whether the admin notice of a case opening is recorded as sent.
    pub async fn case_notice_sent(&self, case_id: i64, opening: i64) -> Result<bool> {
        let row = sqlx::query(&format!(
            "SELECT COUNT(*) AS n FROM notices WHERE case_id = $1 AND opening = $2 AND status = 'sent' AND channel <> '{}'",
            crate::DIGEST_CHANNEL
        ))
        .bind(case_id)
        .bind(opening)
        .fetch_one(&self.pool)
        .await
        .map_err(q("reading a notice"))?;
        Ok(get::<i64>(&row, "n")? > 0)
    }
}

async fn mark_action_notice_sent(
    conn: &mut sqlx::AnyConnection,
    key: &str,
    external_ref: &str,
    at: DateTime<Utc>,
) -> Result<()> {
    sqlx::query("UPDATE action_notices SET status = 'sent', sent_at = $1, external_ref = $2, error = NULL WHERE action_key = $3")
        .bind(ts(at))
        .bind(external_ref)
        .bind(key)
        .execute(conn)
        .await
        .map_err(q("recording a sent action notice"))?;
    Ok(())
}

/// Queues the notice of an automatic write, inside the transaction that records it.
pub(crate) async fn queue_action_notice(
    conn: &mut sqlx::AnyConnection,
    key: &str,
    case_id: i64,
    opening: i64,
    at: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO action_notices (action_key, case_id, opening, status, created_at) VALUES ($1, $2, $3, 'pending', $4)
         ON CONFLICT (action_key) DO NOTHING",
    )
    .bind(key)
    .bind(case_id)
    .bind(opening)
    .bind(ts(at))
    .execute(conn)
    .await
    .map_err(q("queueing the notice of an automatic write"))?;
    Ok(())
}
