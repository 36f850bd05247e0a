//! API tokens: named, scoped bearer tokens for `/api/*`. The store keeps only each
//! token's SHA-256 (hex); making and hashing tokens is the caller's business.

use crate::{get, parse_ts, q, ts, Result, Store};
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::any::AnyRow;

/// One stored token (never the token itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiTokenRecord {
    pub id: i64,
    pub name: String,
    /// `read` or `fix`.
    pub scope: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// `last_used_at` is written at most this often per token, so busy scripts do not turn
/// every read into a database write.
const LAST_USED_GRANULARITY_SECONDS: i64 = 60;

const TOKEN_COLUMNS: &str = "id, name, scope, created_at, last_used_at, revoked_at";

fn optional_ts(row: &AnyRow, column: &'static str) -> Result<Option<DateTime<Utc>>> {
    get::<Option<String>>(row, column)?
        .as_deref()
        .map(parse_ts)
        .transpose()
}

impl ApiTokenRecord {
    fn from_row(r: &AnyRow) -> Result<Self> {
        Ok(ApiTokenRecord {
            id: get(r, "id")?,
            name: get(r, "name")?,
            scope: get(r, "scope")?,
            created_at: parse_ts(&get::<String>(r, "created_at")?)?,
            last_used_at: optional_ts(r, "last_used_at")?,
            revoked_at: optional_ts(r, "revoked_at")?,
        })
    }

    pub fn is_revoked(&self) -> bool {
        self.revoked_at.is_some()
    }
}

impl Store {
    /// Stores a new token's hash under `name`. `Ok(None)`: the name is taken (also by a
    /// revoked token, so the audit log's `token:NAME` stays unambiguous).
    pub async fn create_api_token(
        &self,
        name: &str,
        scope: &str,
        hash: &str,
        at: DateTime<Utc>,
    ) -> Result<Option<i64>> {
        let row = sqlx::query(
            "INSERT INTO api_tokens (name, scope, hash, created_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (name) DO NOTHING RETURNING id",
        )
        .bind(name)
        .bind(scope)
        .bind(hash)
        .bind(ts(at))
        .fetch_optional(&self.pool)
        .await
        .map_err(q("creating an API token"))?;
        row.map(|r| get::<i64>(&r, "id")).transpose()
    }

    /// Every token, oldest first.
    pub async fn api_tokens(&self) -> Result<Vec<ApiTokenRecord>> {
        let rows = sqlx::query(&format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens ORDER BY id"
        ))
        .fetch_all(&self.pool)
        .await
        .map_err(q("listing API tokens"))?;
        rows.iter().map(ApiTokenRecord::from_row).collect()
    }

    /// The token with this hash, revoked or not.
    pub async fn api_token_by_hash(&self, hash: &str) -> Result<Option<ApiTokenRecord>> {
        let row = sqlx::query(&format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE hash = $1"
        ))
        .bind(hash)
        .fetch_optional(&self.pool)
        .await
        .map_err(q("looking up an API token"))?;
        row.as_ref().map(ApiTokenRecord::from_row).transpose()
    }

    /// Revokes the token `name`; false when there is no such token or it was revoked before.
    pub async fn revoke_api_token(&self, name: &str, at: DateTime<Utc>) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE api_tokens SET revoked_at = $1 WHERE name = $2 AND revoked_at IS NULL",
        )
        .bind(ts(at))
        .bind(name)
        .execute(&self.pool)
        .await
        .map_err(q("revoking an API token"))?;
        Ok(done.rows_affected() == 1)
    }

    /// Records that token `id` was used at `at` (at most once a minute).
    pub async fn touch_api_token(&self, id: i64, at: DateTime<Utc>) -> Result<()> {
        let cutoff = at - chrono::Duration::seconds(LAST_USED_GRANULARITY_SECONDS);
        sqlx::query(
            "UPDATE api_tokens SET last_used_at = $1 WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $3)",
        )
        .bind(ts(at))
        .bind(id)
        .bind(ts(cutoff))
        .execute(&self.pool)
        .await
        .map_err(q("recording an API token's use"))?;
        Ok(())
    }
}
