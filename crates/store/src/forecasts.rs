//! The renewal forecast each complete or partial cycle computed, newest kept (see
//! `domwatch_core::forecast`). Stored as JSON: it is read whole, never queried inside.

use crate::{get, parse_ts, q, ts, Result, Store, StoreError};
use chrono::{DateTime, Utc};
use domwatch_core::forecast::ForecastReport;
use serde::{Deserialize, Serialize};

/// Forecasts kept; older ones are deleted when a new one is saved.
pub const FORECASTS_KEPT: i64 = 10;

/// One cycle's forecast.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForecastRecord {
    pub run_id: i64,
    pub computed_at: DateTime<Utc>,
    /// False when some inputs were missing: their domains are not in the sums (never as zero).
    pub complete: bool,
    /// What was missing (failed accounts, unreadable rows, skipped domains), one line each.
    pub missing: Vec<String>,
    pub report: ForecastReport,
}

impl Store {
    /// Saves a cycle's forecast and forgets all but the newest [`FORECASTS_KEPT`].
    pub async fn save_forecast(&self, record: &ForecastRecord) -> Result<()> {
        let missing = serde_json::to_string(&record.missing)
            .map_err(|e| StoreError::Corrupt(format!("forecast missing list: {e}")))?;
        let report = serde_json::to_string(&record.report)
            .map_err(|e| StoreError::Corrupt(format!("forecast report: {e}")))?;
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(q("starting a transaction"))?;
        sqlx::query(
            "INSERT INTO forecasts (run_id, computed_at, complete, missing, report) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (run_id) DO UPDATE SET computed_at = excluded.computed_at, complete = excluded.complete,
             missing = excluded.missing, report = excluded.report",
        )
        .bind(record.run_id)
        .bind(ts(record.computed_at))
        .bind(record.complete as i64)
        .bind(missing)
        .bind(report)
        .execute(&mut *tx)
        .await
        .map_err(q("saving the forecast"))?;
        sqlx::query(
            "DELETE FROM forecasts WHERE run_id NOT IN (SELECT run_id FROM forecasts ORDER BY run_id DESC LIMIT $1)",
        )
        .bind(FORECASTS_KEPT)
        .execute(&mut *tx)
        .await
        .map_err(q("forgetting old forecasts"))?;
        tx.commit().await.map_err(q("committing the forecast"))?;
        Ok(())
    }

    /// The runs whose forecast is kept, newest first.
    pub async fn forecast_runs(&self) -> Result<Vec<i64>> {
        let rows = sqlx::query("SELECT run_id FROM forecasts ORDER BY run_id DESC")
            .fetch_all(&self.pool)
            .await
            .map_err(q("listing forecasts"))?;
        rows.iter().map(|r| get(r, "run_id")).collect()
    }

    /// The newest forecast, if a cycle has computed one.
    pub async fn latest_forecast(&self) -> Result<Option<ForecastRecord>> {
        let row = sqlx::query(
            "SELECT run_id, computed_at, complete, missing, report FROM forecasts ORDER BY run_id DESC LIMIT 1",
        )
        .fetch_optional(&self.pool)
        .await
        .map_err(q("loading the forecast"))?;
        let Some(r) = row else {
            return Ok(None);
        };
        let json = |column: &'static str| -> Result<String> { get(&r, column) };
        Ok(Some(ForecastRecord {
            run_id: get(&r, "run_id")?,
            computed_at: parse_ts(&get::<String>(&r, "computed_at")?)?,
            complete: get::<i64>(&r, "complete")? != 0,
            missing: serde_json::from_str(&json("missing")?)
                .map_err(|e| StoreError::Corrupt(format!("forecast missing list: {e}")))?,
            report: serde_json::from_str(&json("report")?)
                .map_err(|e| StoreError::Corrupt(format!("forecast report: {e}")))?,
        }))
    }
}
