//! The sandbox's storage: real WHMCS-shaped tables in SQLite (default) or MySQL/MariaDB.
//! Queries are written once in the SQL both understand (`?` placeholders, `LIMIT ? OFFSET ?`)
//! and rows come back as loosely typed [`Val`]s, so the API code does not care which
//! backend runs underneath.

use anyhow::{Context, Result};
use chrono::{NaiveDate, NaiveDateTime};
use rust_decimal::Decimal;
use sqlx::mysql::{MySqlPool, MySqlPoolOptions, MySqlRow};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions, SqliteRow};
use sqlx::{Column, Row as _, TypeInfo, ValueRef};
use std::str::FromStr;
use std::time::Duration;

/// A cell or a bound parameter.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Null,
    Int(i64),
    Text(String),
}

impl Val {
    pub fn text(s: impl Into<String>) -> Val {
        Val::Text(s.into())
    }

    pub fn opt_date(d: Option<NaiveDate>) -> Val {
        d.map(|d| Val::Text(d.format("%Y-%m-%d").to_string()))
            .unwrap_or(Val::Null)
    }

    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Val::Int(i) => Some(*i),
            Val::Text(s) => s.trim().parse().ok(),
            Val::Null => None,
        }
    }

    pub fn as_text(&self) -> Option<String> {
        match self {
            Val::Int(i) => Some(i.to_string()),
            Val::Text(s) => Some(s.clone()),
            Val::Null => None,
        }
    }
}

impl From<i64> for Val {
    fn from(value: i64) -> Self {
        Val::Int(value)
    }
}

impl From<&str> for Val {
    fn from(value: &str) -> Self {
        Val::Text(value.to_string())
    }
}

impl From<String> for Val {
    fn from(value: String) -> Self {
        Val::Text(value)
    }
}

/// One result row, columns by name.
#[derive(Debug, Clone, Default)]
pub struct Row(Vec<(String, Val)>);

impl Row {
    pub fn get(&self, column: &str) -> &Val {
        self.0
            .iter()
            .find(|(name, _)| name == column)
            .map(|(_, v)| v)
            .unwrap_or(&Val::Null)
    }

    pub fn int(&self, column: &str) -> i64 {
        self.get(column).as_i64().unwrap_or(0)
    }

    pub fn text(&self, column: &str) -> String {
        self.get(column).as_text().unwrap_or_default()
    }

    /// A date column as `Y-m-d`, or WHMCS's `0000-00-00` when unset.
    pub fn date(&self, column: &str) -> String {
        self.date_opt(column)
            .map(|d| d.format("%Y-%m-%d").to_string())
            .unwrap_or_else(|| "0000-00-00".into())
    }

    pub fn date_opt(&self, column: &str) -> Option<NaiveDate> {
        let text = self.get(column).as_text()?;
        NaiveDate::parse_from_str(text.get(..10)?, "%Y-%m-%d").ok()
    }

    /// A money column formatted as WHMCS does (`12.50`).
    pub fn money(&self, column: &str) -> String {
        format!("{:.2}", self.decimal(column))
    }

    pub fn decimal(&self, column: &str) -> Decimal {
        self.get(column)
            .as_text()
            .and_then(|t| Decimal::from_str(t.trim()).ok())
            .unwrap_or(Decimal::ZERO)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    MySql,
}

#[derive(Debug, Clone)]
pub enum Store {
    Sqlite(SqlitePool),
    MySql(MySqlPool),
}

/// Rows changed and the id of the last inserted row.
#[derive(Debug, Clone, Copy)]
pub struct Written {
    pub rows: u64,
    pub last_id: i64,
}

macro_rules! bind_all {
    ($query:expr, $params:expr) => {{
        let mut q = $query;
        for p in $params {
            q = match p {
                Val::Null => q.bind(Option::<String>::None),
                Val::Int(i) => q.bind(*i),
                Val::Text(s) => q.bind(s.clone()),
            };
        }
        q
    }};
}

impl Store {
    /// An in-memory SQLite database (one connection, so all requests see the same data).
    pub async fn sqlite_memory() -> Result<Store> {
        let options = SqliteConnectOptions::from_str("sqlite::memory:")?;
        Self::sqlite_with(options, 1).await
    }

    pub async fn sqlite_file(path: &std::path::Path) -> Result<Store> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
            // Survives a crash of the process (WAL), not a power cut: enough for a sandbox,
            // and writes (tickets, to-dos) no longer wait for the disk.
            .synchronous(sqlx::sqlite::SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10));
        Self::sqlite_with(options, 4).await
    }

    async fn sqlite_with(options: SqliteConnectOptions, connections: u32) -> Result<Store> {
        let pool = SqlitePoolOptions::new()
            .max_connections(connections)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options)
            .await
            .context("opening the sandbox SQLite database")?;
        Ok(Store::Sqlite(pool))
    }

    pub async fn mysql(url: &str) -> Result<Store> {
        let pool = MySqlPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await
            .with_context(|| {
                format!(
                    "connecting the sandbox WHMCS to MySQL/MariaDB at {} (does the database exist \
                     and may the user create tables?)",
                    redact(url)
                )
            })?;
        Ok(Store::MySql(pool))
    }

    pub fn dialect(&self) -> Dialect {
        match self {
            Store::Sqlite(_) => Dialect::Sqlite,
            Store::MySql(_) => Dialect::MySql,
        }
    }

    pub async fn query(&self, sql: &str, params: &[Val]) -> Result<Vec<Row>> {
        match self {
            Store::Sqlite(pool) => {
                let rows = bind_all!(sqlx::query(sql), params)
                    .fetch_all(pool)
                    .await
                    .with_context(|| format!("sandbox query failed: {sql}"))?;
                rows.iter().map(sqlite_row).collect()
            }
            Store::MySql(pool) => {
                let rows = bind_all!(sqlx::query(sql), params)
                    .fetch_all(pool)
                    .await
                    .with_context(|| format!("sandbox query failed: {sql}"))?;
                rows.iter().map(mysql_row).collect()
            }
        }
    }

    pub async fn query_one(&self, sql: &str, params: &[Val]) -> Result<Option<Row>> {
        Ok(self.query(sql, params).await?.into_iter().next())
    }

    pub async fn count(&self, sql: &str, params: &[Val]) -> Result<i64> {
        Ok(self
            .query_one(sql, params)
            .await?
            .map(|r| r.0.first().and_then(|(_, v)| v.as_i64()).unwrap_or(0))
            .unwrap_or(0))
    }

    pub async fn execute(&self, sql: &str, params: &[Val]) -> Result<Written> {
        match self {
            Store::Sqlite(pool) => {
                let r = bind_all!(sqlx::query(sql), params)
                    .execute(pool)
                    .await
                    .with_context(|| format!("sandbox write failed: {sql}"))?;
                Ok(Written {
                    rows: r.rows_affected(),
                    last_id: r.last_insert_rowid(),
                })
            }
            Store::MySql(pool) => {
                let r = bind_all!(sqlx::query(sql), params)
                    .execute(pool)
                    .await
                    .with_context(|| format!("sandbox write failed: {sql}"))?;
                Ok(Written {
                    rows: r.rows_affected(),
                    last_id: r.last_insert_id() as i64,
                })
            }
        }
    }

    /// Runs the statements in one transaction: all or nothing.
    pub async fn transaction(&self, statements: &[(String, Vec<Val>)]) -> Result<()> {
        match self {
            Store::Sqlite(pool) => {
                let mut tx = pool.begin().await?;
                for (sql, params) in statements {
                    bind_all!(sqlx::query(sql), params)
                        .execute(&mut *tx)
                        .await
                        .with_context(|| format!("sandbox write failed: {sql}"))?;
                }
                tx.commit().await?;
            }
            Store::MySql(pool) => {
                let mut tx = pool.begin().await?;
                for (sql, params) in statements {
                    bind_all!(sqlx::query(sql), params)
                        .execute(&mut *tx)
                        .await
                        .with_context(|| format!("sandbox write failed: {sql}"))?;
                }
                tx.commit().await?;
            }
        }
        Ok(())
    }

    /// A SQL string literal for this backend.
    pub fn literal(&self, text: &str) -> String {
        sql_literal(self.dialect(), text)
    }

    /// Executes literal SQL statements as they arrive, all in one transaction; the
    /// transaction commits when the sender is dropped. Used to seed while generating.
    pub async fn raw_stream(
        &self,
        mut statements: tokio::sync::mpsc::Receiver<String>,
    ) -> Result<()> {
        match self {
            Store::Sqlite(pool) => {
                let mut tx = pool.begin().await?;
                while let Some(sql) = statements.recv().await {
                    sqlx::raw_sql(&sql)
                        .execute(&mut *tx)
                        .await
                        .with_context(|| format!("seeding failed: {}", preview(&sql)))?;
                }
                tx.commit().await?;
            }
            Store::MySql(pool) => {
                let mut tx = pool.begin().await?;
                while let Some(sql) = statements.recv().await {
                    sqlx::raw_sql(&sql)
                        .execute(&mut *tx)
                        .await
                        .with_context(|| format!("seeding failed: {}", preview(&sql)))?;
                }
                tx.commit().await?;
            }
        }
        Ok(())
    }

    pub async fn close(&self) {
        match self {
            Store::Sqlite(pool) => pool.close().await,
            Store::MySql(pool) => pool.close().await,
        }
    }
}

/// A SQL string literal for the dialect.
pub fn sql_literal(dialect: Dialect, text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('\'');
    for c in text.chars() {
        match c {
            '\'' => out.push_str("''"),
            // MySQL treats backslash as an escape character inside literals.
            '\\' if dialect == Dialect::MySql => out.push_str("\\\\"),
            _ => out.push(c),
        }
    }
    out.push('\'');
    out
}

fn preview(sql: &str) -> String {
    sql.chars().take(160).collect()
}

/// The URL with the password (between `user:` and `@`) replaced by `***`.
pub fn redact(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_string();
    };
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    match (authority.rfind('@'), authority.find(':')) {
        (Some(at), Some(colon)) if colon < at => format!(
            "{}{}:***{}",
            &url[..scheme_end + 3],
            &authority[..colon],
            &rest[at..]
        ),
        _ => url.to_string(),
    }
}

fn sqlite_row(row: &SqliteRow) -> Result<Row> {
    let mut cells = Vec::with_capacity(row.columns().len());
    for (i, column) in row.columns().iter().enumerate() {
        let raw = row.try_get_raw(i)?;
        let val = if raw.is_null() {
            Val::Null
        } else {
            match raw.type_info().name() {
                "INTEGER" | "BOOLEAN" | "INT8" => Val::Int(row.try_get_unchecked::<i64, _>(i)?),
                "REAL" => Val::Text(row.try_get_unchecked::<f64, _>(i)?.to_string()),
                "BLOB" => Val::Text(
                    String::from_utf8_lossy(&row.try_get_unchecked::<Vec<u8>, _>(i)?).into_owned(),
                ),
                _ => Val::Text(row.try_get_unchecked::<String, _>(i)?),
            }
        };
        cells.push((column.name().to_string(), val));
    }
    Ok(Row(cells))
}

fn mysql_row(row: &MySqlRow) -> Result<Row> {
    let mut cells = Vec::with_capacity(row.columns().len());
    for (i, column) in row.columns().iter().enumerate() {
        let raw = row.try_get_raw(i)?;
        let val = if raw.is_null() {
            Val::Null
        } else {
            let type_name = raw.type_info().name().to_string();
            if type_name.contains("UNSIGNED") {
                Val::Int(row.try_get_unchecked::<u64, _>(i)? as i64)
            } else if type_name.contains("INT") || type_name == "BOOLEAN" {
                Val::Int(row.try_get_unchecked::<i64, _>(i)?)
            } else if type_name == "DECIMAL" {
                Val::Text(row.try_get::<Decimal, _>(i)?.to_string())
            } else if type_name == "DATE" {
                Val::Text(
                    row.try_get::<NaiveDate, _>(i)?
                        .format("%Y-%m-%d")
                        .to_string(),
                )
            } else if type_name == "DATETIME" || type_name == "TIMESTAMP" {
                Val::Text(
                    row.try_get::<NaiveDateTime, _>(i)?
                        .format("%Y-%m-%d %H:%M:%S")
                        .to_string(),
                )
            } else if type_name == "DOUBLE" || type_name == "FLOAT" {
                Val::Text(row.try_get::<f64, _>(i)?.to_string())
            } else {
                match row.try_get::<String, _>(i) {
                    Ok(s) => Val::Text(s),
                    Err(_) => Val::Text(
                        String::from_utf8_lossy(&row.try_get_unchecked::<Vec<u8>, _>(i)?)
                            .into_owned(),
                    ),
                }
            }
        };
        cells.push((column.name().to_string(), val));
    }
    Ok(Row(cells))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_the_password_only() {
        assert_eq!(redact("mysql://u:pw@h:3306/db"), "mysql://u:***@h:3306/db");
        assert_eq!(
            redact("mysql://root@127.0.0.1:3306/db"),
            "mysql://root@127.0.0.1:3306/db"
        );
    }

    #[tokio::test]
    async fn literals_escape_quotes_per_dialect() {
        let store = Store::sqlite_memory().await.unwrap();
        assert_eq!(store.literal("O'Brien\\x"), "'O''Brien\\x'");
        let row = store
            .query_one(
                &format!("SELECT {} AS v, 5 AS n", store.literal("it's")),
                &[],
            )
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.text("v"), "it's");
        assert_eq!(row.int("n"), 5);
    }
}
