//! The outbox of TLD price case notices: every opening, reopening and resolution of a
//! price case is queued in the transaction that made it (`sync_price_findings`), claimed
//! by the notice that tells it and marked sent with that notice's reference, so each is
//! told once and never again in a later cycle. A claim whose notice never went out (the
//! run died) is taken again once it is older than [`STALE_CLAIM_MINUTES`].

use crate::prices::PriceCaseRecord;
use crate::{get, parse_ts, q, ts, Result, Store, StoreError};
use chrono::{DateTime, Duration, Utc};
use sqlx::AnyConnection;

/// After this long a claimed, unsent notice belongs to a run that died.
pub const STALE_CLAIM_MINUTES: i64 = 15;

/// One queued event of a price case, with the case as it is now.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PriceNotice {
    pub id: i64,
    /// `opened`, `reopened` or `resolved`.
    pub event: String,
    pub at: DateTime<Utc>,
    pub case: PriceCaseRecord,
}

/// Queues `event` for the current opening of the case with `key` (once per opening).
pub(crate) async fn queue(
    conn: &mut AnyConnection,
    key: &str,
    event: &str,
    at: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO price_case_notices (case_id, opening, event, status, created_at)
         SELECT id, openings, $1, 'pending', $2 FROM price_cases WHERE case_key = $3
         ON CONFLICT (case_id, opening, event) DO NOTHING",
    )
    .bind(event)
    .bind(at)
    .bind(key)
    .execute(conn)
    .await
    .map_err(q("queueing a price case notice"))?;
    Ok(())
}

impl Store {
    /// Claims every pending price case notice (and stale claims) for the notice `marker`
    /// and returns them, oldest first.
    pub async fn claim_price_notices(
        &self,
        marker: &str,
        at: DateTime<Utc>,
    ) -> Result<Vec<PriceNotice>> {
        let stale = at - Duration::minutes(STALE_CLAIM_MINUTES);
        sqlx::query(
            "UPDATE price_case_notices SET status = 'claimed', claimed_by = $1, claimed_at = $2
             WHERE status = 'pending' OR (status = 'claimed' AND claimed_at < $3)",
        )
        .bind(marker)
        .bind(ts(at))
        .bind(ts(stale))
        .execute(&self.pool)
        .await
        .map_err(q("claiming price case notices"))?;
        let rows = sqlx::query(
            "SELECT id, case_id, event, created_at FROM price_case_notices
             WHERE status = 'claimed' AND claimed_by = $1 ORDER BY id",
        )
        .bind(marker)
        .fetch_all(&self.pool)
        .await
        .map_err(q("reading claimed price case notices"))?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let case_id: i64 = get(row, "case_id")?;
            let case = self.price_case(case_id).await?.ok_or_else(|| {
                StoreError::Corrupt(format!("price case notice for missing case {case_id}"))
            })?;
            out.push(PriceNotice {
                id: get(row, "id")?,
                event: get(row, "event")?,
                at: parse_ts(&get::<String>(row, "created_at")?)?,
                case,
            });
        }
        Ok(out)
    }

    /// The notice `reference` told these (still claimed by `marker`).
    pub async fn mark_price_notices_sent(
        &self,
        ids: &[i64],
        marker: &str,
        reference: &str,
        at: DateTime<Utc>,
    ) -> Result<()> {
        self.finish_price_notices(ids, marker, Some((reference, at)))
            .await
    }

    /// The notice failed: the events wait for the next one.
    pub async fn release_price_notices(&self, ids: &[i64], marker: &str) -> Result<()> {
        self.finish_price_notices(ids, marker, None).await
    }

    async fn finish_price_notices(
        &self,
        ids: &[i64],
        marker: &str,
        sent: Option<(&str, DateTime<Utc>)>,
    ) -> Result<()> {
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(q("starting a transaction"))?;
        for chunk in ids.chunks(500) {
            let list = crate::id_list(chunk);
            let sql = match sent {
                Some(_) => format!("UPDATE price_case_notices SET status = 'sent', external_ref = $1, sent_at = $2 WHERE claimed_by = $3 AND status = 'claimed' AND id IN ({list})"),
                None => format!("UPDATE price_case_notices SET status = 'pending', claimed_by = NULL WHERE claimed_by = $1 AND status = 'claimed' AND id IN ({list})"),
            };
            let query = match sent {
                Some((reference, at)) => sqlx::query(&sql).bind(reference).bind(ts(at)),
                None => sqlx::query(&sql),
            };
            query
                .bind(marker)
                .execute(&mut *tx)
                .await
                .map_err(q("recording price case notices"))?;
        }
        tx.commit()
            .await
            .map_err(q("committing price case notices"))
    }
}
