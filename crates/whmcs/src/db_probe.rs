//! What `domwatch doctor` asks the WHMCS database, without changing anything: are the
//! tables domwatch reads there, and may this user write the ones it writes.
//!
//! Write access is probed with statements that match no row (`UPDATE … WHERE 1 = 0`,
//! `INSERT … SELECT … WHERE 1 = 0`) inside a transaction that is rolled back: MySQL and
//! MariaDB check the privilege and `read_only` before they look for rows, so a refusal
//! shows up while nothing can be written.

use crate::db::{DbError, WhmcsDb};

/// Tables domwatch reads (billing snapshot, invoices, premium data, currencies, TLD
/// prices, to-dos).
pub const READ_TABLES: &[&str] = &[
    "tbldomains",
    "tblinvoices",
    "tblinvoiceitems",
    "tbldomains_extra",
    "tbltodolist",
    "tblclients",
    "tblcurrencies",
    "tbldomainpricing",
    "tblpricing",
];

/// Statements that need the write privileges domwatch uses and match no row; the column
/// lists are those domwatch writes (strict mode checks them even for no rows).
const WRITE_PROBES: &[(&str, &str)] = &[
    (
        "tbltodolist (INSERT)",
        "INSERT INTO tbltodolist (date, title, description, admin, status, duedate) \
         SELECT date, title, description, admin, status, duedate FROM tbltodolist WHERE 1 = 0",
    ),
    (
        "tbltodolist (UPDATE)",
        "UPDATE tbltodolist SET title = title WHERE 1 = 0",
    ),
    (
        "tbldomains_extra (INSERT)",
        "INSERT INTO tbldomains_extra (domain_id, name, value, created_at, updated_at) \
         SELECT domain_id, name, value, created_at, updated_at FROM tbldomains_extra \
         WHERE 1 = 0",
    ),
    (
        "tbldomains (UPDATE)",
        "UPDATE tbldomains SET is_premium = is_premium WHERE 1 = 0",
    ),
    (
        "tblpricing (UPDATE)",
        "UPDATE tblpricing SET msetupfee = msetupfee WHERE 1 = 0",
    ),
];

/// What the database allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbReport {
    /// Tables of [`READ_TABLES`] this database does not have.
    pub missing_tables: Vec<&'static str>,
    /// `None`: read-write. Otherwise the first refused write and the server's words.
    pub read_only: Option<String>,
}

impl WhmcsDb {
    /// Looks at the tables and the write privileges; writes nothing.
    pub async fn probe(&self) -> Result<DbReport, DbError> {
        let present: Vec<String> = sqlx::query_scalar(
            "SELECT CAST(table_name AS CHAR) FROM information_schema.tables \
             WHERE table_schema = DATABASE()",
        )
        .fetch_all(self.pool())
        .await
        .map_err(|e| DbError::Query {
            what: "listing the tables".into(),
            detail: e.to_string(),
        })?;
        let missing_tables: Vec<&'static str> = READ_TABLES
            .iter()
            .copied()
            .filter(|t| !present.iter().any(|p| p.eq_ignore_ascii_case(t)))
            .collect();
        let read_only = if missing_tables.is_empty() {
            self.refused_write().await?
        } else {
            None
        };
        Ok(DbReport {
            missing_tables,
            read_only,
        })
    }

    /// The first write probe the server refuses, in a transaction that is rolled back.
    async fn refused_write(&self) -> Result<Option<String>, DbError> {
        let mut tx = self.pool().begin().await.map_err(|e| DbError::Query {
            what: "starting a transaction".into(),
            detail: e.to_string(),
        })?;
        let mut refused = None;
        for (what, sql) in WRITE_PROBES {
            if let Err(e) = sqlx::query(sql).execute(&mut *tx).await {
                refused = Some(format!("{what}: {e}"));
                break;
            }
        }
        tx.rollback().await.map_err(|e| DbError::Query {
            what: "rolling back the write probe".into(),
            detail: e.to_string(),
        })?;
        Ok(refused)
    }
}
