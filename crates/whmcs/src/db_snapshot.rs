//! The billing snapshot read straight from the WHMCS database: one streamed query over
//! `tbldomains` ⋈ `tblclients` ⋈ `tblcurrencies`, each row turned into a [`BillingDomain`]
//! as it arrives. Every column is read as text (`CAST(… AS CHAR)`) and parsed by the same
//! lenient readers as the API's JSON, so `0000-00-00`, NULL, empty strings and amounts
//! without decimals come out exactly as GetClientsDomains gives them.

use crate::actions::BillingDomainList;
use crate::client_domain::{ClientDomain, UnreadableDomain};
use crate::db::{query_error, DbError, WhmcsDb};
use domwatch_core::model::BillingDomain;
use domwatch_core::{Currency, DomainName};
use sqlx::mysql::MySqlRow;
use sqlx::Row;
use std::borrow::Cow;
use std::cell::RefCell;

/// The columns in the order of the SELECT, under the names GetClientsDomains uses, so
/// [`ClientDomain::from_fields`] reads a row the way it reads an API entry. Rows are read
/// by position: a look-up by name hashes the name, 19 times per row.
const SNAPSHOT_COLUMNS: [&str; 19] = [
    "id",
    "userid",
    "orderid",
    "regtype",
    "domainname",
    "registrar",
    "regperiod",
    "firstpaymentamount",
    "recurringamount",
    "regdate",
    "expirydate",
    "nextduedate",
    "status",
    "donotrenew",
    "idprotection",
    "is_premium",
    "client_found",
    "currency_id",
    "currency_code",
];

const SNAPSHOT_SELECT: &str = "SELECT CAST(d.id AS CHAR) AS id, CAST(d.userid AS CHAR) AS userid, \
     CAST(d.orderid AS CHAR) AS orderid, CAST(d.type AS CHAR) AS regtype, \
     CAST(d.domain AS CHAR) AS domainname, CAST(d.registrar AS CHAR) AS registrar, \
     CAST(d.registrationperiod AS CHAR) AS regperiod, \
     CAST(d.firstpaymentamount AS CHAR) AS firstpaymentamount, \
     CAST(d.recurringamount AS CHAR) AS recurringamount, \
     CAST(d.registrationdate AS CHAR) AS regdate, CAST(d.expirydate AS CHAR) AS expirydate, \
     CAST(d.nextduedate AS CHAR) AS nextduedate, CAST(d.status AS CHAR) AS status, \
     CAST(d.donotrenew AS CHAR) AS donotrenew, CAST(d.idprotection AS CHAR) AS idprotection, \
     CAST(d.is_premium AS SIGNED) AS is_premium, CAST(c.id AS SIGNED) AS client_found, \
     CAST(c.currency AS CHAR) AS currency_id, CAST(cur.code AS CHAR) AS currency_code \
     FROM tbldomains d LEFT JOIN tblclients c ON c.id = d.userid \
     LEFT JOIN tblcurrencies cur ON cur.id = c.currency";

/// The position of `name` in the SELECT; a name it lacks gives a position past the end,
/// which reading turns into an error naming the column.
fn column(name: &str) -> usize {
    SNAPSHOT_COLUMNS
        .iter()
        .position(|c| *c == name)
        .unwrap_or(usize::MAX)
}

impl WhmcsDb {
    /// Every domain, like [`crate::WhmcsClient::list_billing_domains`] but in one query:
    /// the client's currency comes from the join (nothing is learned, nothing asked), and
    /// `is_premium` from the row. A failure part-way is an error for the whole list.
    pub async fn billing_domains(&self) -> Result<BillingDomainList, DbError> {
        self.stream_domains(&format!("{SNAPSHOT_SELECT} ORDER BY d.id"), &[])
            .await
    }

    /// The domains named `names`, by A-label and, for IDNs, by Unicode name too (WHMCS
    /// stores what was ordered), like [`crate::WhmcsClient::list_billing_domains_named`].
    pub async fn billing_domains_named(
        &self,
        names: &[DomainName],
    ) -> Result<BillingDomainList, DbError> {
        let mut spellings: Vec<String> = Vec::with_capacity(names.len());
        for name in names {
            spellings.push(name.ascii().to_string());
            if name.is_idn() {
                spellings.push(name.unicode());
            }
        }
        if spellings.is_empty() {
            return Ok(BillingDomainList::default());
        }
        let mut list = BillingDomainList::default();
        // Bounded statements: a targeted check names a few domains, a bulk one thousands.
        for chunk in spellings.chunks(1000) {
            let marks = vec!["?"; chunk.len()].join(", ");
            let sql = format!("{SNAPSHOT_SELECT} WHERE d.domain IN ({marks}) ORDER BY d.id");
            let part = self.stream_domains(&sql, chunk).await?;
            list.domains.extend(part.domains);
            list.unreadable.extend(part.unreadable);
        }
        list.domains.sort_by_key(|d| d.id);
        list.domains.dedup_by_key(|d| d.id);
        list.unreadable.sort_by_key(|u| u.id);
        list.unreadable.dedup_by_key(|u| u.id);
        Ok(list)
    }

    async fn stream_domains(
        &self,
        sql: &str,
        binds: &[String],
    ) -> Result<BillingDomainList, DbError> {
        let mut query = sqlx::query(sql);
        for value in binds {
            query = query.bind(value);
        }
        let mut list = BillingDomainList::default();
        self.each_row(query, "reading tbldomains", |row| {
            match snapshot_row(row)? {
                Ok(domain) => list.domains.push(domain),
                Err(unreadable) => {
                    tracing::warn!(domain_id = unreadable.id, reason = %unreadable.reason, "skipping unreadable WHMCS domain");
                    list.unreadable.push(unreadable);
                }
            }
            Ok(())
        })
        .await?;
        Ok(list)
    }
}

/// One joined row: the domain, or why it cannot be one (the same reasons the API path
/// gives), or an error when the row itself cannot be read.
fn snapshot_row(row: &MySqlRow) -> Result<Result<BillingDomain, UnreadableDomain>, DbError> {
    let failed: RefCell<Option<String>> = RefCell::new(None);
    let field = |key: &str| match row.try_get::<Option<&str>, _>(column(key)) {
        Ok(value) => value.map(Cow::Borrowed),
        Err(e) => {
            failed
                .borrow_mut()
                .get_or_insert(format!("column {key}: {e}"));
            None
        }
    };
    let parsed = ClientDomain::from_fields(field);
    if let Some(detail) = failed.into_inner() {
        return Err(DbError::Query {
            what: "reading a tbldomains row".into(),
            detail,
        });
    }
    let parsed = parsed.map_err(|e| DbError::BadData(format!("tbldomains row: {e}")))?;
    let currency = row_currency(row, parsed.client_id)?;
    let is_premium: Option<i64> = row
        .try_get(column("is_premium"))
        .map_err(query_error("reading tbldomains.is_premium"))?;
    let mut domain = match parsed.into_billing_domain(Currency::EUR) {
        Ok(domain) => domain,
        Err(unreadable) => return Ok(Err(unreadable)),
    };
    match currency {
        Ok(currency) => domain.recurring_amount.currency = currency,
        Err(reason) => {
            return Ok(Err(UnreadableDomain {
                id: domain.id,
                name: domain.name.ascii().to_string(),
                reason,
            }))
        }
    }
    domain.is_premium = Some(is_premium.unwrap_or(0) != 0);
    Ok(Ok(domain))
}

/// The client's currency from the join, or why there is none (a deleted client, a
/// currency id missing from `tblcurrencies`, a code domwatch does not know).
fn row_currency(row: &MySqlRow, client_id: u64) -> Result<Result<Currency, String>, DbError> {
    let found: Option<i64> = row
        .try_get(column("client_found"))
        .map_err(query_error("reading tblclients.id"))?;
    let currency_id: Option<&str> = row
        .try_get(column("currency_id"))
        .map_err(query_error("reading tblclients.currency"))?;
    let code: Option<&str> = row
        .try_get(column("currency_code"))
        .map_err(query_error("reading tblcurrencies.code"))?;
    Ok(match (found, code) {
        (None, _) => Err(format!(
            "client #{client_id} of this domain does not exist (not in tblclients); assign the \
             domain to an existing client in WHMCS"
        )),
        (Some(_), None) => Err(format!(
            "client #{client_id} uses currency id {} which tblcurrencies does not list; add the \
             currency in WHMCS or fix the client",
            currency_id.unwrap_or("")
        )),
        (Some(_), Some(code)) => code.trim().parse().map_err(|e| {
            format!(
                "client #{client_id} uses currency `{}` which domwatch cannot use: {e}",
                domwatch_core::Untrusted(code)
            )
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_select_names_its_columns_in_the_order_they_are_read() {
        let aliases: Vec<&str> = SNAPSHOT_SELECT
            .split(" FROM ")
            .next()
            .unwrap()
            .split(" AS ")
            .skip(1)
            .filter_map(|part| part.split([',', ' ']).next())
            .filter(|alias| !matches!(*alias, "CHAR)" | "SIGNED)"))
            .collect();
        assert_eq!(aliases, SNAPSHOT_COLUMNS);
    }
}
