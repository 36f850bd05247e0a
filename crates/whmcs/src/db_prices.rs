//! Writing a TLD's sell prices into WHMCS's pricing tables (issue #12 Fix now): the
//! `tblpricing` row of the TLD (`relid` = `tbldomainpricing.id`), operation (`type`
//! domainregister / domaintransfer / domainrenew) and currency, default client group
//! (`tsetupfee` = 0), one column per term (`msetupfee` = 1 year … `biennially` = 10
//! years); a disabled term is `-1.00`. A restore price is the TLD's redemption fee,
//! which WHMCS keeps once, in the default currency.

use crate::db::{query_error, DbError, WhmcsDb};
use domwatch_core::pricing::{PriceOperation, PriceProposal, ProposedSell};
use rust_decimal::Decimal;
use sqlx::Row;

/// The cell value a proposed term becomes.
fn cell(to: ProposedSell) -> Decimal {
    match to {
        ProposedSell::Price { price } => price.amount.round_dp(2),
        ProposedSell::Disable => Decimal::NEGATIVE_ONE,
    }
}

fn pricing_type(op: PriceOperation) -> Option<&'static str> {
    match op {
        PriceOperation::Register => Some("domainregister"),
        PriceOperation::Transfer => Some("domaintransfer"),
        PriceOperation::Renew => Some("domainrenew"),
        PriceOperation::Restore => None,
    }
}

impl WhmcsDb {
    /// `tbldomainpricing.id` of the TLD and `tblcurrencies` (id, is default) of the currency.
    async fn price_row_ids(
        &self,
        tx: &mut sqlx::MySqlConnection,
        p: &PriceProposal,
    ) -> Result<(i64, i64, bool), DbError> {
        let relid: i64 = sqlx::query("SELECT id FROM tbldomainpricing WHERE extension = ?")
            .bind(p.tld.with_dot())
            .fetch_optional(&mut *tx)
            .await
            .map_err(query_error("looking up the TLD in tbldomainpricing"))?
            .ok_or_else(|| {
                DbError::BadData(format!(
                    "TLD {} is not in tbldomainpricing",
                    p.tld.with_dot()
                ))
            })?
            .try_get("id")
            .map_err(query_error("reading tbldomainpricing.id"))?;
        let row =
            sqlx::query("SELECT id, `default` AS is_default FROM tblcurrencies WHERE code = ?")
                .bind(p.currency.as_str())
                .fetch_optional(&mut *tx)
                .await
                .map_err(query_error("looking up the currency"))?
                .ok_or_else(|| {
                    DbError::BadData(format!("currency {} is not in tblcurrencies", p.currency))
                })?;
        let id: i64 = row
            .try_get("id")
            .map_err(query_error("reading tblcurrencies.id"))?;
        let default: i64 = row
            .try_get("is_default")
            .map_err(query_error("reading tblcurrencies.default"))?;
        Ok((relid, id, default == 1))
    }

    /// Writes the proposal in one transaction; returns what was written, for the audit.
    pub async fn write_tld_prices(&self, p: &PriceProposal) -> Result<String, DbError> {
        let mut tx = self.pool().begin().await.map_err(query_error("begin"))?;
        let (relid, currency_id, is_default) = self.price_row_ids(&mut tx, p).await?;
        let mut written = Vec::new();
        match pricing_type(p.operation) {
            Some(kind) => {
                for t in &p.terms {
                    let column = t.years.tblpricing_column();
                    let sql = format!("UPDATE tblpricing SET {column} = ? WHERE type = ? AND currency = ? AND relid = ? AND tsetupfee = 0");
                    let done = sqlx::query(&sql)
                        .bind(cell(t.to).to_string())
                        .bind(kind)
                        .bind(currency_id)
                        .bind(relid)
                        .execute(&mut *tx)
                        .await
                        .map_err(query_error("updating tblpricing"))?;
                    if done.rows_affected() > 1 {
                        return Err(DbError::BadData(format!("{} rows of tblpricing match {kind} {} currency #{currency_id}; nothing written", done.rows_affected(), p.tld.with_dot())));
                    }
                    written.push(format!("{column}={}", cell(t.to)));
                }
            }
            None => {
                let [t] = p.terms.as_slice() else {
                    return Err(DbError::BadData(
                        "a restore price has exactly one term".into(),
                    ));
                };
                if !is_default {
                    return Err(DbError::BadData(format!("WHMCS keeps the redemption fee of {} in the default currency only; set it by hand in Configuration > Domain Pricing", p.tld.with_dot())));
                }
                sqlx::query(
                    "UPDATE tbldomainpricing SET redemption_grace_period_fee = ? WHERE id = ?",
                )
                .bind(cell(t.to).to_string())
                .bind(relid)
                .execute(&mut *tx)
                .await
                .map_err(query_error(
                    "updating tbldomainpricing.redemption_grace_period_fee",
                ))?;
                written.push(format!("redemption_grace_period_fee={}", cell(t.to)));
            }
        }
        tx.commit().await.map_err(query_error("commit"))?;
        Ok(format!(
            "{} {} {} set in WHMCS: {}",
            p.tld.with_dot(),
            p.operation,
            p.currency,
            written.join(", ")
        ))
    }

    /// Whether every term of the proposal is in WHMCS's tables now (recovery).
    pub async fn tld_prices_show(&self, p: &PriceProposal) -> Result<bool, DbError> {
        let mut conn = self
            .pool()
            .acquire()
            .await
            .map_err(query_error("connect"))?;
        let (relid, currency_id, _) = self.price_row_ids(&mut conn, p).await?;
        for t in &p.terms {
            let (sql, kind) = match pricing_type(p.operation) {
                Some(kind) => (
                    format!("SELECT CAST({} AS CHAR) AS v FROM tblpricing WHERE type = ? AND currency = ? AND relid = ? AND tsetupfee = 0", t.years.tblpricing_column()),
                    kind,
                ),
                None => (
                    "SELECT CAST(redemption_grace_period_fee AS CHAR) AS v FROM tbldomainpricing WHERE id = ?".to_string(),
                    "",
                ),
            };
            let mut q = sqlx::query(&sql);
            q = if kind.is_empty() {
                q.bind(relid)
            } else {
                q.bind(kind).bind(currency_id).bind(relid)
            };
            let row = q
                .fetch_optional(&mut *conn)
                .await
                .map_err(query_error("reading tblpricing"))?;
            let value: Option<String> = row
                .map(|r| r.try_get("v"))
                .transpose()
                .map_err(query_error("reading a price"))?;
            let now = value.and_then(|v| v.trim().parse::<Decimal>().ok());
            if now != Some(cell(t.to)) {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

impl WhmcsDb {
    /// `tbldomainpricing.autoreg` of every TLD: the registrar module WHMCS registers it
    /// with (`""`: none, registered by hand). Keys are the extensions as stored (`.de`).
    pub async fn tld_registrar_modules(
        &self,
    ) -> Result<std::collections::BTreeMap<String, String>, DbError> {
        // Back in the pool (sqlx pings it on the way) before this returns.
        let mut conn = self
            .pool()
            .acquire()
            .await
            .map_err(query_error("connect"))?;
        let rows = sqlx::query(
            "SELECT CAST(extension AS CHAR) AS extension, CAST(autoreg AS CHAR) AS autoreg FROM tbldomainpricing",
        )
        .fetch_all(&mut *conn)
        .await
        .map_err(query_error("reading tbldomainpricing.autoreg"))?;
        conn.return_to_pool().await;
        let mut modules = std::collections::BTreeMap::new();
        for row in rows {
            let extension: String = row
                .try_get("extension")
                .map_err(query_error("reading tbldomainpricing.extension"))?;
            let autoreg: Option<String> = row
                .try_get("autoreg")
                .map_err(query_error("reading tbldomainpricing.autoreg"))?;
            modules.insert(extension, autoreg.unwrap_or_default().trim().to_string());
        }
        Ok(modules)
    }
}

impl WhmcsDb {
    /// WHMCS's ID protection price per year in every currency (`tblpricing` type
    /// `domainaddons`, `relid` 0, column `ssetupfee`; `msetupfee` is DNS management,
    /// `qsetupfee` e-mail forwarding). A row whose currency or amount cannot be read is
    /// left out (logged), so that currency's price is unknown, never zero.
    pub async fn id_protection_prices(
        &self,
    ) -> Result<std::collections::HashMap<domwatch_core::Currency, Decimal>, DbError> {
        // The connection goes back to the pool (sqlx pings it on the way) before this
        // returns, not in the background while the next cycle stage runs.
        let mut conn = self
            .pool()
            .acquire()
            .await
            .map_err(query_error("connect"))?;
        let rows = sqlx::query(
            "SELECT CAST(c.code AS CHAR) AS code, CAST(p.ssetupfee AS CHAR) AS fee FROM tblpricing p \
             JOIN tblcurrencies c ON c.id = p.currency WHERE p.type = 'domainaddons' AND p.relid = 0 ORDER BY p.id",
        )
        .fetch_all(&mut *conn)
        .await
        .map_err(query_error("reading the domain add-on prices (tblpricing)"))?;
        conn.return_to_pool().await;
        let mut prices = std::collections::HashMap::new();
        for row in rows {
            let code: Option<String> = row
                .try_get("code")
                .map_err(query_error("reading tblcurrencies.code"))?;
            let fee: Option<String> = row
                .try_get("fee")
                .map_err(query_error("reading tblpricing.ssetupfee"))?;
            let currency = code.as_deref().and_then(|c| c.trim().parse().ok());
            let amount = fee
                .as_deref()
                .and_then(|f| f.trim().parse::<Decimal>().ok());
            match (currency, amount) {
                (Some(currency), Some(amount)) => {
                    prices.entry(currency).or_insert(amount);
                }
                _ => tracing::warn!(
                    currency = ?code,
                    fee = ?fee,
                    "a domain add-on price row of WHMCS is unreadable; its ID protection price is unknown"
                ),
            }
        }
        Ok(prices)
    }
}
