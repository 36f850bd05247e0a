//! Optional direct access to the WHMCS database (MySQL/MariaDB) for what the External API
//! cannot do: create to-do items (no API action exists), read `tbldomains.is_premium` and
//! the `tbldomains_extra` premium keys (the API returns neither), and write them.
//!
//! Runtime queries only; table and column names are WHMCS's own (see the reference notes).

use chrono::NaiveDate;
use domwatch_core::model::{BillingDomain, BillingPremiumCost};
use domwatch_core::{Currency, Money};
use rust_decimal::Decimal;
use sqlx::mysql::{MySqlPool, MySqlPoolOptions};
use sqlx::Row;
use std::collections::HashMap;
use std::str::FromStr;
use std::time::Duration;

/// `tbldomains_extra` keys written by the WHMCS order process for premium domains.
pub const KEY_REGISTRATION_COST: &str = "registrarCostPrice";
pub const KEY_RENEWAL_COST: &str = "registrarRenewalCostPrice";
/// Holds a `tblcurrencies.id`, not an ISO code.
pub const KEY_CURRENCY: &str = "registrarCurrency";

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error(
        "cannot connect to the WHMCS database {url}: {detail}. Check host, port, user, password \
         and database name in the MySQL URL, and that the user may read tbldomains and write \
         tbltodolist / tbldomains_extra"
    )]
    Connect { url: String, detail: String },
    #[error("WHMCS database: {what} failed: {detail}. Check that this is a WHMCS database and the user has the rights")]
    Query { what: String, detail: String },
    #[error("WHMCS database: domain #{0} does not exist in tbldomains")]
    DomainNotFound(u64),
    #[error("WHMCS database: {0}")]
    BadData(String),
}

pub(crate) fn query_error(what: &str) -> impl Fn(sqlx::Error) -> DbError + '_ {
    move |e| DbError::Query {
        what: what.to_string(),
        detail: e.to_string(),
    }
}

/// The URL with any password replaced by `***`, for messages and logs.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            if parsed.password().is_some() {
                let _ = parsed.set_password(Some("***"));
            }
            parsed.to_string()
        }
        Err(_) => "<unparseable URL>".to_string(),
    }
}

/// A to-do item to raise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewToDo {
    /// Also the dedupe key: an open item with the same title is reused.
    pub title: String,
    pub description: String,
    /// Creation date (`tbltodolist.date`), from the caller's clock.
    pub date: NaiveDate,
    pub due_date: NaiveDate,
}

/// Result of [`WhmcsDb::create_todo`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ToDoRow {
    pub id: u64,
    /// True when an open item with the same title already existed.
    pub reused: bool,
}

/// Premium data of one domain as the database holds it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PremiumRecord {
    pub domain_id: u64,
    /// `tbldomains.is_premium` (NULL -> `None`).
    pub is_premium: Option<bool>,
    pub registration_cost: Option<Decimal>,
    pub renewal_cost: Option<Decimal>,
    /// `registrarCurrency`: a `tblcurrencies.id`.
    pub currency_id: Option<u64>,
}

impl PremiumRecord {
    /// Premium in WHMCS but a cost row missing: what WHMCS ≤ 7.8 left behind.
    pub fn is_incomplete(&self) -> bool {
        self.is_premium == Some(true)
            && (self.registration_cost.is_none()
                || self.renewal_cost.is_none()
                || self.currency_id.is_none())
    }
}

/// Premium cost data to write (registrar currency, un-marked-up).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PremiumCost {
    pub registration_cost: Decimal,
    pub renewal_cost: Decimal,
    pub currency_id: u64,
}

/// A connection pool to the WHMCS database.
#[derive(Debug, Clone)]
pub struct WhmcsDb {
    pool: MySqlPool,
}

impl WhmcsDb {
    /// Connects with a `mysql://user:pass@host:3306/whmcs` URL (5 connections, 10 s timeout).
    pub async fn connect(url: &str) -> Result<Self, DbError> {
        let pool = MySqlPoolOptions::new()
            .max_connections(5)
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await
            .map_err(|e| DbError::Connect {
                url: redact_url(url),
                detail: e.to_string(),
            })?;
        Ok(Self { pool })
    }

    pub fn from_pool(pool: MySqlPool) -> Self {
        Self { pool }
    }

    pub fn pool(&self) -> &MySqlPool {
        &self.pool
    }

    /// Streams the rows of `query` to `on_row` without holding the result; a failure
    /// part-way (`what` names the read) ends it as an error, never as fewer rows.
    pub(crate) async fn each_row<'q>(
        &self,
        query: sqlx::query::Query<'q, sqlx::MySql, sqlx::mysql::MySqlArguments>,
        what: &str,
        mut on_row: impl FnMut(&sqlx::mysql::MySqlRow) -> Result<(), DbError>,
    ) -> Result<(), DbError> {
        use futures::TryStreamExt;
        let mut rows = query.fetch(self.pool());
        while let Some(row) = rows.try_next().await.map_err(query_error(what))? {
            on_row(&row)?;
        }
        Ok(())
    }

    /// Every client's currency code in one query (`tblclients.currency` is a
    /// `tblcurrencies.id`); clients whose currency id is not in `tblcurrencies` are left
    /// out, so the API reports them with the reason.
    pub async fn client_currencies(&self) -> Result<HashMap<u64, Currency>, DbError> {
        let rows = sqlx::query(
            "SELECT c.id, cur.code FROM tblclients c JOIN tblcurrencies cur ON cur.id = c.currency",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(query_error("reading client currencies"))?;
        let mut out = HashMap::with_capacity(rows.len());
        for row in &rows {
            let id: i64 = row.try_get(0).map_err(query_error("reading client ids"))?;
            let code: String = row
                .try_get(1)
                .map_err(query_error("reading currency codes"))?;
            if let Ok(currency) = Currency::from_str(&code) {
                out.insert(id as u64, currency);
            }
        }
        Ok(out)
    }

    /// Inserts a to-do (status `Pending`, unassigned) unless an item with the same title
    /// that is not Completed exists; then that one is returned. Idempotent.
    pub async fn create_todo(&self, todo: &NewToDo) -> Result<ToDoRow, DbError> {
        // The dedupe look-up locks (FOR UPDATE), so two to-dos raised at the same moment
        // can deadlock on InnoDB's gap locks; MariaDB's answer to 1213 is "try restarting
        // transaction", which is safe here because a rolled-back attempt wrote nothing.
        const ATTEMPTS: u32 = 5;
        let mut attempt = 1;
        loop {
            match self.create_todo_once(todo).await {
                Ok(row) => return Ok(row),
                Err((what, e)) => {
                    let deadlock = e
                        .as_database_error()
                        .and_then(|d| d.code())
                        .is_some_and(|code| code == "40001" || code == "1213");
                    if !deadlock || attempt == ATTEMPTS {
                        return Err(query_error(what)(e));
                    }
                    tracing::debug!(attempt, "tbltodolist deadlock, retrying the transaction");
                    tokio::time::sleep(std::time::Duration::from_millis(20 * u64::from(attempt)))
                        .await;
                    attempt += 1;
                }
            }
        }
    }

    async fn create_todo_once(
        &self,
        todo: &NewToDo,
    ) -> Result<ToDoRow, (&'static str, sqlx::Error)> {
        let mut tx = self.pool.begin().await.map_err(|e| ("begin", e))?;
        let existing = sqlx::query(
            "SELECT id FROM tbltodolist WHERE title = ? AND status <> 'Completed' \
             ORDER BY id LIMIT 1 FOR UPDATE",
        )
        .bind(&todo.title)
        .fetch_optional(&mut *tx)
        .await
        .map_err(|e| ("looking up open to-do items", e))?;
        if let Some(row) = existing {
            let id: i64 = row.try_get(0).map_err(|e| ("reading tbltodolist.id", e))?;
            tx.commit().await.map_err(|e| ("commit", e))?;
            return Ok(ToDoRow {
                id: id as u64,
                reused: true,
            });
        }
        let result = sqlx::query(
            "INSERT INTO tbltodolist (date, title, description, admin, status, duedate) \
             VALUES (?, ?, ?, 0, 'Pending', ?)",
        )
        .bind(todo.date)
        .bind(&todo.title)
        .bind(&todo.description)
        .bind(todo.due_date)
        .execute(&mut *tx)
        .await
        .map_err(|e| ("inserting into tbltodolist", e))?;
        tx.commit().await.map_err(|e| ("commit", e))?;
        Ok(ToDoRow {
            id: result.last_insert_id(),
            reused: false,
        })
    }

    /// `is_premium` and the premium keys of one domain.
    pub async fn premium_record(&self, domain_id: u64) -> Result<PremiumRecord, DbError> {
        let row = sqlx::query("SELECT CAST(is_premium AS SIGNED) FROM tbldomains WHERE id = ?")
            .bind(domain_id as i64)
            .fetch_optional(&self.pool)
            .await
            .map_err(query_error("reading tbldomains.is_premium"))?
            .ok_or(DbError::DomainNotFound(domain_id))?;
        let is_premium: Option<i64> = row.try_get(0).map_err(query_error("reading is_premium"))?;
        let mut record = PremiumRecord {
            domain_id,
            is_premium: is_premium.map(|v| v != 0),
            ..Default::default()
        };
        let extras = sqlx::query(
            "SELECT name, value FROM tbldomains_extra WHERE domain_id = ? AND name IN (?, ?, ?)",
        )
        .bind(domain_id as i64)
        .bind(KEY_REGISTRATION_COST)
        .bind(KEY_RENEWAL_COST)
        .bind(KEY_CURRENCY)
        .fetch_all(&self.pool)
        .await
        .map_err(query_error("reading tbldomains_extra"))?;
        for row in extras {
            let name: String = row.try_get(0).map_err(query_error("reading name"))?;
            let value: String = row.try_get(1).map_err(query_error("reading value"))?;
            apply_extra(&mut record, &name, &value)?;
        }
        Ok(record)
    }

    /// Premium data of every domain that is premium or has any premium key, by domain id.
    pub async fn premium_records(&self) -> Result<HashMap<u64, PremiumRecord>, DbError> {
        let mut out: HashMap<u64, PremiumRecord> = HashMap::new();
        let premium = sqlx::query("SELECT id, CAST(is_premium AS SIGNED) FROM tbldomains WHERE is_premium IS NOT NULL AND is_premium <> 0")
            .fetch_all(&self.pool)
            .await
            .map_err(query_error("reading tbldomains.is_premium"))?;
        for row in premium {
            let id: i64 = row.try_get(0).map_err(query_error("reading id"))?;
            let flag: Option<i64> = row.try_get(1).map_err(query_error("reading is_premium"))?;
            out.insert(
                id as u64,
                PremiumRecord {
                    domain_id: id as u64,
                    is_premium: flag.map(|v| v != 0),
                    ..Default::default()
                },
            );
        }
        let extras = sqlx::query(
            "SELECT e.domain_id, e.name, e.value, CAST(d.is_premium AS SIGNED) FROM tbldomains_extra e \
             JOIN tbldomains d ON d.id = e.domain_id WHERE e.name IN (?, ?, ?)",
        )
        .bind(KEY_REGISTRATION_COST)
        .bind(KEY_RENEWAL_COST)
        .bind(KEY_CURRENCY)
        .fetch_all(&self.pool)
        .await
        .map_err(query_error("reading tbldomains_extra"))?;
        for row in extras {
            let id: i64 = row.try_get(0).map_err(query_error("reading domain_id"))?;
            let name: String = row.try_get(1).map_err(query_error("reading name"))?;
            let value: String = row.try_get(2).map_err(query_error("reading value"))?;
            let flag: Option<i64> = row.try_get(3).map_err(query_error("reading is_premium"))?;
            let record = out.entry(id as u64).or_insert_with(|| PremiumRecord {
                domain_id: id as u64,
                is_premium: flag.map(|v| v != 0),
                ..Default::default()
            });
            apply_extra(record, &name, &value)?;
        }
        Ok(out)
    }

    /// Upserts the three premium keys and sets `is_premium = 1`, in one transaction (what
    /// the CNIC monitoring addon's "domain2premium" fix does).
    pub async fn write_premium_cost(
        &self,
        domain_id: u64,
        cost: &PremiumCost,
    ) -> Result<(), DbError> {
        let mut tx = self.pool.begin().await.map_err(query_error("begin"))?;
        let updated = sqlx::query("UPDATE tbldomains SET is_premium = 1 WHERE id = ?")
            .bind(domain_id as i64)
            .execute(&mut *tx)
            .await
            .map_err(query_error("setting tbldomains.is_premium"))?;
        if updated.rows_affected() == 0 {
            let exists = sqlx::query("SELECT 1 FROM tbldomains WHERE id = ?")
                .bind(domain_id as i64)
                .fetch_optional(&mut *tx)
                .await
                .map_err(query_error("looking up the domain"))?;
            if exists.is_none() {
                return Err(DbError::DomainNotFound(domain_id));
            }
        }
        for (name, value) in [
            (
                KEY_REGISTRATION_COST,
                cost.registration_cost.round_dp(2).to_string(),
            ),
            (KEY_RENEWAL_COST, cost.renewal_cost.round_dp(2).to_string()),
            (KEY_CURRENCY, cost.currency_id.to_string()),
        ] {
            sqlx::query(
                "INSERT INTO tbldomains_extra (domain_id, name, value, created_at, updated_at) \
                 VALUES (?, ?, ?, NOW(), NOW()) \
                 ON DUPLICATE KEY UPDATE value = VALUES(value), updated_at = NOW()",
            )
            .bind(domain_id as i64)
            .bind(name)
            .bind(value)
            .execute(&mut *tx)
            .await
            .map_err(query_error("upserting tbldomains_extra"))?;
        }
        tx.commit().await.map_err(query_error("commit"))
    }

    /// Sets `tbldomains.is_premium` alone.
    pub async fn set_is_premium(&self, domain_id: u64, premium: bool) -> Result<(), DbError> {
        let result = sqlx::query("UPDATE tbldomains SET is_premium = ? WHERE id = ?")
            .bind(i64::from(premium))
            .bind(domain_id as i64)
            .execute(&self.pool)
            .await
            .map_err(query_error("setting tbldomains.is_premium"))?;
        if result.rows_affected() == 0 {
            // MySQL reports 0 affected rows when the value did not change, so check existence.
            self.premium_record(domain_id).await?;
        }
        Ok(())
    }
}

/// Fills `is_premium` and `premium_cost` of API-listed domains from the database, which
/// knows what the API hides. A domain without premium data is standard (`Some(false)`).
/// Costs are only set when their currency id maps to a known currency (`currency_codes`,
/// from GetCurrencies); an incomplete record leaves `premium_cost` as far as it is known.
pub fn apply_premium_records(
    domains: &mut [BillingDomain],
    records: &HashMap<u64, PremiumRecord>,
    currency_codes: &HashMap<u64, Currency>,
) {
    for domain in domains {
        let Some(record) = records.get(&domain.id) else {
            domain.is_premium = Some(false);
            domain.premium_cost = None;
            continue;
        };
        domain.is_premium = Some(record.is_premium == Some(true));
        let currency = record
            .currency_id
            .and_then(|id| currency_codes.get(&id).copied());
        domain.premium_cost = currency.and_then(|currency| {
            let registration_cost = record.registration_cost.map(|a| Money::new(a, currency));
            let renewal_cost = record.renewal_cost.map(|a| Money::new(a, currency));
            (registration_cost.is_some() || renewal_cost.is_some()).then(|| {
                Box::new(BillingPremiumCost {
                    registration_cost,
                    renewal_cost,
                })
            })
        });
    }
}

fn apply_extra(record: &mut PremiumRecord, name: &str, value: &str) -> Result<(), DbError> {
    let amount = || {
        Decimal::from_str(value.trim()).map(Some).map_err(|_| {
            DbError::BadData(format!(
                "tbldomains_extra {name} of domain #{} is {value:?}, expected an amount",
                record.domain_id
            ))
        })
    };
    match name {
        KEY_REGISTRATION_COST => record.registration_cost = amount()?,
        KEY_RENEWAL_COST => record.renewal_cost = amount()?,
        KEY_CURRENCY => {
            record.currency_id = Some(value.trim().parse().map_err(|_| {
                DbError::BadData(format!(
                    "tbldomains_extra registrarCurrency of domain #{} is {value:?}; WHMCS stores a \
                     tblcurrencies.id there, not an ISO code",
                    record.domain_id
                ))
            })?)
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use domwatch_core::model::BillingStatus;
    use domwatch_core::DomainName;

    #[test]
    fn redacts_passwords() {
        assert_eq!(
            redact_url("mysql://whmcs:s3cret@db.example:3306/whmcs"),
            "mysql://whmcs:***@db.example:3306/whmcs"
        );
        assert_eq!(
            redact_url("mysql://root@127.0.0.1/x"),
            "mysql://root@127.0.0.1/x"
        );
    }

    fn billing_domain(id: u64) -> BillingDomain {
        BillingDomain {
            id,
            client_id: 1,
            name: DomainName::parse("example.shop").unwrap(),
            registrar_module: "cnic".into(),
            status: BillingStatus::Active,
            recurring_amount: Money::new(Decimal::new(3375, 2), Currency::EUR),
            registration_period_years: 1,
            expiry: None,
            next_due: None,
            do_not_renew: false,
            is_premium: None,
            premium_cost: None,
            id_protection: None,
        }
    }

    #[test]
    fn database_premium_data_fills_what_the_api_hides() {
        let mut domains = vec![billing_domain(1), billing_domain(2), billing_domain(3)];
        let mut records = HashMap::new();
        records.insert(
            1,
            PremiumRecord {
                domain_id: 1,
                is_premium: Some(true),
                registration_cost: Some(Decimal::new(400, 0)),
                renewal_cost: Some(Decimal::new(420, 0)),
                currency_id: Some(1),
            },
        );
        records.insert(
            2,
            PremiumRecord {
                domain_id: 2,
                is_premium: Some(true),
                ..Default::default()
            },
        );
        let currencies = HashMap::from([(1, Currency::EUR)]);
        apply_premium_records(&mut domains, &records, &currencies);
        assert_eq!(domains[0].is_premium, Some(true));
        assert_eq!(
            domains[0].premium_cost.as_ref().unwrap().renewal_cost,
            Some(Money::new(Decimal::new(420, 0), Currency::EUR))
        );
        assert_eq!(domains[1].is_premium, Some(true));
        assert_eq!(domains[1].premium_cost, None, "cost rows missing");
        assert_eq!(domains[2].is_premium, Some(false));
    }

    #[test]
    fn currency_must_be_an_id() {
        let mut record = PremiumRecord {
            domain_id: 3,
            is_premium: Some(true),
            ..Default::default()
        };
        assert!(apply_extra(&mut record, KEY_CURRENCY, "EUR").is_err());
        apply_extra(&mut record, KEY_CURRENCY, "1").unwrap();
        apply_extra(&mut record, KEY_RENEWAL_COST, "120.00").unwrap();
        assert!(record.is_incomplete());
        apply_extra(&mut record, KEY_REGISTRATION_COST, "100").unwrap();
        assert!(!record.is_incomplete());
    }
}
