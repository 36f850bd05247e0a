//! What a cycle learned while fetching and need not ask again: client currencies (WHMCS
//! answers them one client per call) and failed incoming transfers with their reason (the
//! registrars answer those one domain per call). Freshness rules are the caller's; the
//! store keeps when each entry was last checked.

use crate::{get, parse_ts, q, ts, Result, Store, StoreError};
use chrono::{DateTime, Utc};
use domwatch_core::{Currency, DomainName};
use std::collections::HashMap;
use std::str::FromStr;

/// Rows per multi-row `INSERT` (4 bound values each). Kept small on purpose: SQLite finds
/// each bound parameter's name by a linear scan, so binding costs grow with the square of
/// the parameters in one statement (500 rows spent more instructions binding than saving).
const ROWS_PER_INSERT: usize = 100;

/// A client's currency as domwatch last saw it in WHMCS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedClientCurrency {
    pub client_id: u64,
    pub currency: Currency,
    /// Where it was read: `invoices`, `client_details` or `database`.
    pub source: String,
    pub checked_at: DateTime<Utc>,
}

/// A failed incoming transfer and the registrar's reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedTransferFailure {
    pub reason: String,
    pub checked_at: DateTime<Utc>,
}

impl Store {
    /// Every cached client currency.
    pub async fn client_currencies(&self) -> Result<Vec<CachedClientCurrency>> {
        let rows =
            sqlx::query("SELECT client_id, currency, source, checked_at FROM client_currencies")
                .fetch_all(&self.pool)
                .await
                .map_err(q("loading client currencies"))?;
        rows.iter()
            .map(|r| {
                let code: String = get(r, "currency")?;
                Ok(CachedClientCurrency {
                    client_id: get::<i64>(r, "client_id")? as u64,
                    currency: Currency::from_str(&code)
                        .map_err(|e| StoreError::Corrupt(format!("client currency: {e}")))?,
                    source: get(r, "source")?,
                    checked_at: parse_ts(&get::<String>(r, "checked_at")?)?,
                })
            })
            .collect()
    }

    /// Records (or refreshes) client currencies, all in one transaction.
    pub async fn save_client_currencies(
        &self,
        entries: &[(u64, Currency, &str)],
        at: DateTime<Utc>,
    ) -> Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        let at = ts(at);
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(q("starting a transaction"))?;
        for chunk in entries.chunks(ROWS_PER_INSERT) {
            let values = (0..chunk.len())
                .map(|i| {
                    format!(
                        "(${}, ${}, ${}, ${})",
                        4 * i + 1,
                        4 * i + 2,
                        4 * i + 3,
                        4 * i + 4
                    )
                })
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!(
                "INSERT INTO client_currencies (client_id, currency, source, checked_at) VALUES {values}
                 ON CONFLICT (client_id) DO UPDATE SET currency = excluded.currency, source = excluded.source, checked_at = excluded.checked_at"
            );
            let mut query = sqlx::query(&sql);
            for (client_id, currency, source) in chunk {
                query = query
                    .bind(*client_id as i64)
                    .bind(currency.as_str().to_string())
                    .bind(source.to_string())
                    .bind(at.clone());
            }
            query
                .execute(&mut *tx)
                .await
                .map_err(q("saving client currencies"))?;
        }
        tx.commit()
            .await
            .map_err(q("committing client currencies"))?;
        Ok(())
    }

    /// The cached failed transfers of one registrar account, by domain.
    pub async fn transfer_failures(
        &self,
        account: &str,
    ) -> Result<HashMap<DomainName, CachedTransferFailure>> {
        let rows = sqlx::query(
            "SELECT domain, reason, checked_at FROM transfer_failures WHERE account = $1",
        )
        .bind(account)
        .fetch_all(&self.pool)
        .await
        .map_err(q("loading transfer failures"))?;
        let mut out = HashMap::with_capacity(rows.len());
        for r in &rows {
            let domain: String = get(r, "domain")?;
            let name = DomainName::parse(&domain)
                .map_err(|e| StoreError::Corrupt(format!("transfer failure domain: {e}")))?;
            out.insert(
                name,
                CachedTransferFailure {
                    reason: get(r, "reason")?,
                    checked_at: parse_ts(&get::<String>(r, "checked_at")?)?,
                },
            );
        }
        Ok(out)
    }

    /// Records the failures just read (`(domain, reason)`) and forgets `resolved` ones (the
    /// transfer runs again, completed, or is not failed any more), in one transaction.
    pub async fn update_transfer_failures(
        &self,
        account: &str,
        failed: &[(DomainName, String)],
        resolved: &[DomainName],
        at: DateTime<Utc>,
    ) -> Result<()> {
        if failed.is_empty() && resolved.is_empty() {
            return Ok(());
        }
        let at = ts(at);
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(q("starting a transaction"))?;
        for domain in resolved {
            sqlx::query("DELETE FROM transfer_failures WHERE account = $1 AND domain = $2")
                .bind(account)
                .bind(domain.ascii())
                .execute(&mut *tx)
                .await
                .map_err(q("forgetting a transfer failure"))?;
        }
        for (domain, reason) in failed {
            sqlx::query(
                "INSERT INTO transfer_failures (account, domain, reason, checked_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (account, domain) DO UPDATE SET reason = excluded.reason, checked_at = excluded.checked_at",
            )
            .bind(account)
            .bind(domain.ascii())
            .bind(reason)
            .bind(&at)
            .execute(&mut *tx)
            .await
            .map_err(q("saving a transfer failure"))?;
        }
        tx.commit()
            .await
            .map_err(q("committing transfer failures"))?;
        Ok(())
    }
}
