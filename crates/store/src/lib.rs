//! domwatch's own database.
//!
//! One schema on SQLite (the embedded default: one file, nothing to install) and
//! PostgreSQL (larger installs, several workers), accessed through sqlx's `Any` driver with
//! portable SQL. It keeps runs, cases with their history, notice claims (exactly-once
//! notices across crashes), fix actions keyed by idempotency key, the audit log of every
//! write to WHMCS or a registrar, the "missing at registrar" strike counters, the API tokens
//! (hashes only), the queue of inbound events and the leader lease of `domwatch serve`.

mod api_tokens;
mod caches;
mod case_query;
mod claims;
mod forecasts;
mod inbound_events;
mod leader;
mod outbox;
mod price_notices;
mod prices;
mod records;
mod sync;
mod webhook_events;
mod webhooks;

pub use api_tokens::*;
pub use caches::*;
pub use case_query::*;
pub use claims::*;
pub use forecasts::*;
pub use inbound_events::*;
pub use leader::*;
pub use outbox::*;
pub use price_notices::*;
pub use prices::*;
pub use records::*;
pub use webhooks::{
    ClaimedDelivery, DeliveryOutcome, WebhookDeliveryRecord, WebhookEndpoint, FAN_OUT_WINDOW,
    PRUNE_AFTER,
};

use chrono::{DateTime, SecondsFormat, Utc};
use domwatch_core::detect::CaseKind;
use domwatch_core::{Currency, Money};
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Row};
use std::str::FromStr;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database URL `{0}` is not supported: use sqlite://PATH (e.g. sqlite://domwatch.db) or postgres://USER@HOST/DB")]
    UnsupportedUrl(String),
    #[error("cannot open the database at {url}: {source}. Check the path/host, permissions and that the server is running")]
    Connect { url: String, source: sqlx::Error },
    #[error("database migration failed: {0}. Restore a backup or check that no other domwatch version uses this database")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database error while {doing}: {source}")]
    Query {
        doing: &'static str,
        source: sqlx::Error,
    },
    #[error("stored data is corrupt ({0}); the row was written by an incompatible version")]
    Corrupt(String),
}

type Result<T> = std::result::Result<T, StoreError>;

fn q(doing: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |source| StoreError::Query { doing, source }
}

pub(crate) fn ts(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

pub(crate) fn parse_ts(s: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|d| d.with_timezone(&Utc))
        .map_err(|e| StoreError::Corrupt(format!("timestamp `{s}`: {e}")))
}

/// Which database engine is behind the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The columns [`CaseRecord::from_row`] reads, in every query that loads cases.
/// The notice channel of domwatch's own e-mail digest. It never counts as the admin notice
/// of a case (to-do / ticket), which is sent on its own.
pub const DIGEST_CHANNEL: &str = "e-mail digest";

const CASE_COLUMNS: &str = "id, kind, domain, billing_domain_id, registrar_account, state, openings, opened_at, updated_at, resolved_at, summary, at_stake_amount, at_stake_currency, finding";

/// The columns [`ActionRecord::from_row`] reads.
pub(crate) const ACTION_COLUMNS: &str =
    "id, case_id, idempotency_key, action, status, result, created_at, applied_at, owner, lease_until";

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// The handle to domwatch's database. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
}

impl Store {
    /// Opens (creating if needed) and migrates the database at `url`:
    /// `sqlite://path/to/file.db`, `sqlite::memory:` or `postgres://user@host:port/db`.
    pub async fn connect(url: &str) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let (backend, url) = if let Some(rest) = url.strip_prefix("sqlite:") {
            let url = if rest.contains("memory") || rest.contains("mode=") {
                url.to_string()
            } else {
                format!("sqlite:{rest}?mode=rwc")
            };
            (Backend::Sqlite, url)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            (Backend::Postgres, url.to_string())
        } else {
            return Err(StoreError::UnsupportedUrl(url.to_string()));
        };
        let mut options = AnyPoolOptions::new();
        if backend == Backend::Sqlite {
            // One writer; WAL below keeps readers (the dashboard) unblocked.
            options = options.max_connections(if url.contains("memory") { 1 } else { 4 });
        } else {
            options = options.max_connections(8);
        }
        let pool = options
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        sqlx::query("PRAGMA journal_mode = WAL")
                            .execute(&mut *conn)
                            .await?;
                        sqlx::query("PRAGMA busy_timeout = 10000")
                            .execute(&mut *conn)
                            .await?;
                        sqlx::query("PRAGMA foreign_keys = ON")
                            .execute(&mut *conn)
                            .await?;
                        sqlx::query("PRAGMA synchronous = NORMAL")
                            .execute(&mut *conn)
                            .await?;
                    }
                    Ok(())
                })
            })
            .connect(&url)
            .await
            .map_err(|source| StoreError::Connect {
                url: redact_url(&url),
                source,
            })?;
        match backend {
            Backend::Sqlite => SQLITE_MIGRATIONS.run(&pool).await?,
            Backend::Postgres => POSTGRES_MIGRATIONS.run(&pool).await?,
        }
        let store = Store { pool, backend };
        let filled = store.backfill_case_columns().await?;
        if filled > 0 {
            tracing::info!(
                cases = filled,
                "filled the filter columns of cases recorded before this version"
            );
        }
        Ok(store)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    // ---- runs -------------------------------------------------------------------------

    pub async fn begin_run(&self, at: DateTime<Utc>, dry_run: bool) -> Result<i64> {
        let row = sqlx::query(
            "INSERT INTO runs (started_at, status, dry_run, stats) VALUES ($1, 'running', $2, '{}') RETURNING id",
        )
        .bind(ts(at))
        .bind(dry_run as i64)
        .fetch_one(&self.pool)
        .await
        .map_err(q("starting a run"))?;
        row.try_get::<i64, _>(0).map_err(q("reading the run id"))
    }

    pub async fn finish_run(
        &self,
        run_id: i64,
        at: DateTime<Utc>,
        outcome: std::result::Result<&serde_json::Value, &str>,
    ) -> Result<()> {
        let (status, stats, error) = match outcome {
            Ok(stats) => ("ok", stats.to_string(), None),
            Err(e) => ("failed", "{}".to_string(), Some(e.to_string())),
        };
        sqlx::query(
            "UPDATE runs SET finished_at = $1, status = $2, stats = $3, error = $4 WHERE id = $5",
        )
        .bind(ts(at))
        .bind(status)
        .bind(stats)
        .bind(error)
        .bind(run_id)
        .execute(&self.pool)
        .await
        .map_err(q("finishing a run"))?;
        Ok(())
    }

    pub async fn runs(&self, limit: i64) -> Result<Vec<RunRecord>> {
        let rows = sqlx::query(
            "SELECT id, started_at, finished_at, status, dry_run, stats, error FROM runs ORDER BY id DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(q("listing runs"))?;
        rows.iter().map(RunRecord::from_row).collect()
    }

    // ---- cases ------------------------------------------------------------------------

    pub async fn cases(&self, filter: CaseFilter) -> Result<Vec<CaseRecord>> {
        let mut sql = format!("SELECT {CASE_COLUMNS} FROM cases");
        let mut clauses = Vec::new();
        if let Some(state) = filter.state {
            clauses.push(format!("state = '{}'", state.as_str()));
        }
        if let Some(kind) = filter.kind {
            clauses.push(format!("kind = '{}'", kind.as_str()));
        }
        if !clauses.is_empty() {
            sql.push_str(" WHERE ");
            sql.push_str(&clauses.join(" AND "));
        }
        sql.push_str(" ORDER BY kind, domain");
        let rows = sqlx::query(&sql)
            .fetch_all(&self.pool)
            .await
            .map_err(q("listing cases"))?;
        rows.iter().map(CaseRecord::from_row).collect()
    }

    pub async fn case(&self, id: i64) -> Result<Option<CaseRecord>> {
        let row = sqlx::query(&format!("SELECT {CASE_COLUMNS} FROM cases WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(q("loading a case"))?;
        row.as_ref().map(CaseRecord::from_row).transpose()
    }

    pub async fn case_events(&self, case_id: i64) -> Result<Vec<CaseEvent>> {
        let rows = sqlx::query(
            "SELECT id, at, event, detail FROM case_events WHERE case_id = $1 ORDER BY id",
        )
        .bind(case_id)
        .fetch_all(&self.pool)
        .await
        .map_err(q("loading case history"))?;
        rows.iter().map(CaseEvent::from_row).collect()
    }

    pub async fn add_case_event(
        &self,
        case_id: i64,
        at: DateTime<Utc>,
        kind: &str,
        detail: &serde_json::Value,
    ) -> Result<()> {
        let mut conn = self
            .pool
            .acquire()
            .await
            .map_err(q("acquiring a connection"))?;
        sqlx::query("INSERT INTO case_events (case_id, at, event, detail) VALUES ($1, $2, $3, $4)")
            .bind(case_id)
            .bind(ts(at))
            .bind(kind)
            .bind(detail.to_string())
            .execute(&mut *conn)
            .await
            .map_err(q("recording a case event"))?;
        Ok(())
    }

    // ---- notices (exactly once per case opening and channel) ---------------------------

    /// Claims the notice for `(case, opening, channel)` before it is sent.
    ///
    /// * `Fresh`: nobody claimed it; send it, then [`Store::mark_notice_sent`].
    /// * `Unfinished`: a previous run claimed it and crashed before recording the send;
    ///   look for `marker` in the target system first and only send if it is not there.
    /// * `AlreadySent`: do nothing.
    pub async fn claim_notice(
        &self,
        case_id: i64,
        opening: i64,
        channel: &str,
        marker: &str,
        at: DateTime<Utc>,
    ) -> Result<NoticeClaim> {
        let inserted = sqlx::query(
            "INSERT INTO notices (case_id, opening, channel, marker, status, claimed_at) VALUES ($1, $2, $3, $4, 'claimed', $5)
             ON CONFLICT (case_id, opening, channel) DO NOTHING",
        )
        .bind(case_id)
        .bind(opening)
        .bind(channel)
        .bind(marker)
        .bind(ts(at))
        .execute(&self.pool)
        .await
        .map_err(q("claiming a notice"))?;
        if inserted.rows_affected() == 1 {
            return Ok(NoticeClaim::Fresh);
        }
        let row = sqlx::query("SELECT status, marker, external_ref FROM notices WHERE case_id = $1 AND opening = $2 AND channel = $3")
            .bind(case_id)
            .bind(opening)
            .bind(channel)
            .fetch_one(&self.pool)
            .await
            .map_err(q("reading a notice claim"))?;
        let status: String = get(&row, "status")?;
        Ok(match status.as_str() {
            "sent" => NoticeClaim::AlreadySent {
                external_ref: get(&row, "external_ref")?,
            },
            _ => NoticeClaim::Unfinished {
                marker: get(&row, "marker")?,
            },
        })
    }

    pub async fn mark_notice_sent(
        &self,
        case_id: i64,
        opening: i64,
        channel: &str,
        external_ref: &str,
        at: DateTime<Utc>,
    ) -> Result<()> {
        self.mark_case_notice_sent(case_id, opening, channel, external_ref, &[], at)
            .await
    }

    pub async fn mark_notice_failed(
        &self,
        case_id: i64,
        opening: i64,
        channel: &str,
        error: &str,
    ) -> Result<()> {
        sqlx::query("UPDATE notices SET status = 'failed', error = $1 WHERE case_id = $2 AND opening = $3 AND channel = $4")
            .bind(error)
            .bind(case_id)
            .bind(opening)
            .bind(channel)
            .execute(&self.pool)
            .await
            .map_err(q("recording a failed notice"))?;
        Ok(())
    }

    /// Open cases of the given kinds whose current opening has no sent notice: new ones,
    /// ones whose notice failed, and ones a crashed run recorded but never got to notify.
    pub async fn cases_awaiting_notice(&self, kinds: &[CaseKind]) -> Result<Vec<CaseRecord>> {
        if kinds.is_empty() {
            return Ok(Vec::new());
        }
        let kinds = kinds
            .iter()
            .map(|k| format!("'{}'", k.as_str()))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT {CASE_COLUMNS} FROM cases c
             WHERE c.state = 'open' AND c.kind IN ({kinds})
               AND NOT EXISTS (SELECT 1 FROM notices n WHERE n.case_id = c.id AND n.opening = c.openings AND n.status = 'sent' AND n.channel <> '{DIGEST_CHANNEL}')
             ORDER BY c.id"
        );
        let rows = sqlx::query(&sql)
            .fetch_all(&self.pool)
            .await
            .map_err(q("finding cases awaiting a notice"))?;
        rows.iter().map(CaseRecord::from_row).collect()
    }

    /// Claims every open case opening that no e-mail digest has covered yet (plus what a
    /// crashed run claimed but never sent) and returns those cases, oldest first. One
    /// statement, so a large first run costs no round trip per case.
    pub async fn claim_digest(&self, marker: &str, at: DateTime<Utc>) -> Result<Vec<CaseRecord>> {
        sqlx::query(&format!(
            "INSERT INTO notices (case_id, opening, channel, marker, status, claimed_at)
             SELECT c.id, c.openings, '{DIGEST_CHANNEL}', $1, 'claimed', $2 FROM cases c
             WHERE c.state = 'open'
               AND NOT EXISTS (SELECT 1 FROM notices n WHERE n.case_id = c.id AND n.opening = c.openings AND n.channel = '{DIGEST_CHANNEL}')"
        ))
        .bind(marker)
        .bind(ts(at))
        .execute(&self.pool)
        .await
        .map_err(q("claiming cases for the e-mail digest"))?;
        let columns = CASE_COLUMNS
            .split(", ")
            .map(|c| format!("c.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let rows = sqlx::query(&format!(
            "SELECT {columns} FROM cases c JOIN notices n ON n.case_id = c.id AND n.opening = c.openings
             WHERE n.channel = '{DIGEST_CHANNEL}' AND n.status <> 'sent' AND c.state = 'open'
             ORDER BY c.id"
        ))
        .fetch_all(&self.pool)
        .await
        .map_err(q("reading the e-mail digest claims"))?;
        rows.iter().map(CaseRecord::from_row).collect()
    }

    /// Records that the digest with `message_id` covered `case_ids` (their current opening).
    pub async fn mark_digest_sent(
        &self,
        case_ids: &[i64],
        message_id: &str,
        at: DateTime<Utc>,
    ) -> Result<()> {
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(q("starting a transaction"))?;
        for chunk in case_ids.chunks(500) {
            let ids = id_list(chunk);
            sqlx::query(&format!(
                "UPDATE notices SET status = 'sent', external_ref = $1, sent_at = $2, error = NULL
                 WHERE channel = '{DIGEST_CHANNEL}' AND status <> 'sent' AND case_id IN ({ids})"
            ))
            .bind(message_id)
            .bind(ts(at))
            .execute(&mut *tx)
            .await
            .map_err(q("recording the sent e-mail digest"))?;
        }
        tx.commit()
            .await
            .map_err(q("committing the e-mail digest"))?;
        Ok(())
    }

    pub async fn notices(&self, case_id: i64) -> Result<Vec<NoticeRecord>> {
        let rows = sqlx::query("SELECT opening, channel, marker, status, external_ref, claimed_at, sent_at, error FROM notices WHERE case_id = $1 ORDER BY id")
            .bind(case_id)
            .fetch_all(&self.pool)
            .await
            .map_err(q("listing notices"))?;
        rows.iter().map(NoticeRecord::from_row).collect()
    }

    // ---- actions ----------------------------------------------------------------------

    pub async fn action_status(&self, key: &str) -> Result<Option<ActionStatus>> {
        let row = sqlx::query("SELECT status FROM actions WHERE idempotency_key = $1")
            .bind(key)
            .fetch_optional(&self.pool)
            .await
            .map_err(q("reading an action"))?;
        row.map(|r| get::<String>(&r, "status").and_then(|s| ActionStatus::parse(&s)))
            .transpose()
    }

    pub async fn actions_of_case(&self, case_id: i64) -> Result<Vec<ActionRecord>> {
        let rows = sqlx::query(&format!(
            "SELECT {ACTION_COLUMNS} FROM actions WHERE case_id = $1 ORDER BY id"
        ))
        .bind(case_id)
        .fetch_all(&self.pool)
        .await
        .map_err(q("listing actions"))?;
        rows.iter().map(ActionRecord::from_row).collect()
    }

    // ---- audit log --------------------------------------------------------------------

    pub async fn audit(&self, entry: &AuditEntry) -> Result<i64> {
        let mut conn = self
            .pool
            .acquire()
            .await
            .map_err(q("connecting for the audit log"))?;
        insert_audit(&mut conn, entry).await
    }

    /// Newest first; `before` pages backwards by id.
    pub async fn audit_log(&self, limit: i64, before: Option<i64>) -> Result<Vec<AuditRecord>> {
        let rows = sqlx::query(
            "SELECT id, at, actor, system, operation, object, request, ok, result, case_id, run_id FROM audit_log
             WHERE id < $1 ORDER BY id DESC LIMIT $2",
        )
        .bind(before.unwrap_or(i64::MAX))
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(q("reading the audit log"))?;
        rows.iter().map(AuditRecord::from_row).collect()
    }

    // ---- presence strikes -------------------------------------------------------------
}

pub(crate) async fn event(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    case_id: i64,
    at: &str,
    kind: &str,
    detail: &serde_json::Value,
) -> Result<()> {
    sqlx::query("INSERT INTO case_events (case_id, at, event, detail) VALUES ($1, $2, $3, $4)")
        .bind(case_id)
        .bind(at)
        .bind(kind)
        .bind(detail.to_string())
        .execute(&mut **tx)
        .await
        .map_err(q("recording a case event"))?;
    Ok(())
}

pub(crate) fn get<'r, T>(row: &'r AnyRow, column: &'static str) -> Result<T>
where
    T: sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
{
    row.try_get(column).map_err(q("reading a column"))
}

pub(crate) fn money_of(amount: Option<String>, currency: Option<String>) -> Result<Option<Money>> {
    match (amount, currency) {
        (Some(a), Some(c)) => {
            let currency =
                Currency::from_str(&c).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            Money::parse(&a, currency)
                .map(Some)
                .map_err(|e| StoreError::Corrupt(e.to_string()))
        }
        _ => Ok(None),
    }
}

/// Hides the password in a database URL for error messages and logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}://{}:***{}", &url[..scheme], user, &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// One audit line, inside the caller's connection or transaction.
async fn insert_audit(conn: &mut sqlx::AnyConnection, entry: &AuditEntry) -> Result<i64> {
    let row = sqlx::query(
        "INSERT INTO audit_log (at, actor, system, operation, object, request, ok, result, case_id, run_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
    )
    .bind(ts(entry.at))
    .bind(&entry.actor)
    .bind(&entry.system)
    .bind(&entry.operation)
    .bind(&entry.object)
    .bind(entry.request.to_string())
    .bind(entry.ok as i64)
    .bind(&entry.result)
    .bind(entry.case_id)
    .bind(entry.run_id)
    .fetch_one(conn)
    .await
    .map_err(q("writing the audit log"))?;
    row.try_get::<i64, _>(0).map_err(q("reading the audit id"))
}

/// Row ids as the inside of an SQL `IN (…)` list. Ids are integers from our own tables, so
/// writing them into the statement is safe; callers pass chunks of at most 500.
pub(crate) fn id_list(ids: &[i64]) -> String {
    ids.iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords_in_urls() {
        assert_eq!(
            redact_url("postgres://u:secret@h/db"),
            "postgres://u:***@h/db"
        );
        assert_eq!(redact_url("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact_url("sqlite://x.db"), "sqlite://x.db");
    }
}
