//! TLD price cases (issue #12): opened, updated, reopened and resolved from a run's
//! price findings. A case resolves only when its key is in the run's `scope` (its TLD's
//! sell prices and its registrar's price list were both read completely), so a failed
//! read never resolves a real problem. Each opening, reopening and resolution is queued
//! for the admin's notice in the same transaction (`price_notices`).

use crate::{get, parse_ts, q, ts, Result, Store, StoreError};
use chrono::{DateTime, Utc};
use domwatch_core::pricing::PriceFinding;
use sqlx::any::AnyRow;
use sqlx::Row;
use std::collections::{HashMap, HashSet};

/// A TLD price case as stored.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PriceCaseRecord {
    pub id: i64,
    pub key: String,
    pub state: String,
    pub openings: i64,
    pub opened_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub finding: PriceFinding,
}

impl PriceCaseRecord {
    pub fn is_open(&self) -> bool {
        self.state == "open"
    }
}

/// What one sync did, by case key.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct PriceSyncOutcome {
    pub opened: Vec<String>,
    pub reopened: Vec<String>,
    pub updated: Vec<String>,
    pub resolved: Vec<String>,
}

const COLUMNS: &str = "id, case_key, state, openings, opened_at, updated_at, resolved_at, finding";

impl Store {
    /// Records a run's price findings (one per key); resolves open cases in `scope` that
    /// were not found again. Everything in one transaction.
    pub async fn sync_price_findings(
        &self,
        run_id: i64,
        at: DateTime<Utc>,
        findings: &[PriceFinding],
        scope: &HashSet<String>,
    ) -> Result<PriceSyncOutcome> {
        let now = ts(at);
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(q("starting a transaction"))?;
        let rows = sqlx::query("SELECT case_key, state, finding FROM price_cases")
            .fetch_all(&mut *tx)
            .await
            .map_err(q("reading price cases"))?;
        let mut known: HashMap<String, (String, String)> = HashMap::new();
        for row in &rows {
            known.insert(
                get(row, "case_key")?,
                (get(row, "state")?, get(row, "finding")?),
            );
        }
        let mut out = PriceSyncOutcome::default();
        let mut seen = HashSet::new();
        for f in findings {
            if !seen.insert(f.key.clone()) {
                continue;
            }
            let json = serde_json::to_string(f).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            let (sql, list, event) = match known.get(&f.key) {
                None => (
                    "INSERT INTO price_cases (case_key, tld, operation, currency, kind, registrar, summary, finding, state, openings, opened_at, updated_at, last_run)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'open', 1, $9, $9, $10)",
                    &mut out.opened,
                    Some("opened"),
                ),
                Some((state, _)) if state == "resolved" => (
                    "UPDATE price_cases SET tld = $2, operation = $3, currency = $4, kind = $5, registrar = $6, summary = $7, finding = $8,
                     state = 'open', openings = openings + 1, opened_at = $9, updated_at = $9, resolved_at = NULL, last_run = $10
                     WHERE case_key = $1",
                    &mut out.reopened,
                    Some("reopened"),
                ),
                Some((_, old)) if *old != json => (
                    "UPDATE price_cases SET tld = $2, operation = $3, currency = $4, kind = $5, registrar = $6, summary = $7, finding = $8,
                     updated_at = $9, last_run = $10 WHERE case_key = $1",
                    &mut out.updated,
                    None,
                ),
                Some(_) => continue,
            };
            sqlx::query(sql)
                .bind(&f.key)
                .bind(f.tld.as_str())
                .bind(f.operation.as_str())
                .bind(f.currency.as_str())
                .bind(f.kind.as_str())
                .bind(&f.registrar)
                .bind(&f.summary)
                .bind(&json)
                .bind(&now)
                .bind(run_id)
                .execute(&mut *tx)
                .await
                .map_err(q("recording a price case"))?;
            if let Some(event) = event {
                crate::price_notices::queue(&mut tx, &f.key, event, &now).await?;
            }
            list.push(f.key.clone());
        }
        for (key, (state, _)) in &known {
            if state == "open" && scope.contains(key) && !seen.contains(key) {
                sqlx::query(
                    "UPDATE price_cases SET state = 'resolved', resolved_at = $1, updated_at = $1, last_run = $2 WHERE case_key = $3",
                )
                .bind(&now)
                .bind(run_id)
                .bind(key)
                .execute(&mut *tx)
                .await
                .map_err(q("resolving a price case"))?;
                crate::price_notices::queue(&mut tx, key, "resolved", &now).await?;
                out.resolved.push(key.clone());
            }
        }
        tx.commit().await.map_err(q("committing price cases"))?;
        out.resolved.sort();
        Ok(out)
    }

    /// Price cases, open ones first, then by key.
    pub async fn price_cases(&self, open_only: bool) -> Result<Vec<PriceCaseRecord>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM price_cases {} ORDER BY state, case_key",
            if open_only {
                "WHERE state = 'open'"
            } else {
                ""
            }
        );
        let rows = sqlx::query(&sql)
            .fetch_all(&self.pool)
            .await
            .map_err(q("listing price cases"))?;
        rows.iter().map(price_case).collect()
    }

    pub async fn price_case(&self, id: i64) -> Result<Option<PriceCaseRecord>> {
        let sql = format!("SELECT {COLUMNS} FROM price_cases WHERE id = $1");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(q("reading a price case"))?;
        row.as_ref().map(price_case).transpose()
    }
}

fn price_case(row: &AnyRow) -> Result<PriceCaseRecord> {
    let finding: String = get(row, "finding")?;
    let resolved: Option<String> = row.try_get("resolved_at").map_err(q("reading a column"))?;
    Ok(PriceCaseRecord {
        id: get(row, "id")?,
        key: get(row, "case_key")?,
        state: get(row, "state")?,
        openings: get(row, "openings")?,
        opened_at: parse_ts(&get::<String>(row, "opened_at")?)?,
        updated_at: parse_ts(&get::<String>(row, "updated_at")?)?,
        resolved_at: resolved.as_deref().map(parse_ts).transpose()?,
        finding: serde_json::from_str(&finding).map_err(|e| StoreError::Corrupt(e.to_string()))?,
    })
}
