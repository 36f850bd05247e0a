//! Cases for large stores: one page of a filtered, sorted list with its total, the summary
//! by kind, and the filtered list in batches for an export. Everything is filtered, sorted
//! and summed in SQL on the columns of migration 0011 (`tld`, `client_id`,
//! `at_stake_micros`), so a page costs the same at 300 cases as at 30,000.

use crate::{get, q, CaseRecord, CaseState, Result, Store, CASE_COLUMNS};
use domwatch_core::detect::CaseKind;
use domwatch_core::{Currency, Money};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::str::FromStr;

/// The largest page [`Store::case_page`] returns; larger requests get this many.
pub const MAX_PER_PAGE: u32 = 500;

/// Millionths of a currency unit per unit: exact for every ISO currency (at most 4 decimals).
const MICROS: i64 = 1_000_000;

/// The money at stake as stored for sorting and sums: whole millionths of its currency.
/// `None` for an amount beyond ±9.2 trillion, which no renewal reaches.
pub fn stake_micros(m: &Money) -> Option<i64> {
    (m.amount * Decimal::from(MICROS)).round().to_i64()
}

fn money_of_micros(micros: i64, currency: Currency) -> Money {
    Money::new(Decimal::new(micros, 6).normalize(), currency)
}

/// How a case list is ordered. Ties are broken by id, so pages never overlap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CaseSort {
    /// Most money at stake first (amounts compared as numbers, whatever their currency:
    /// filter by currency to compare like with like); cases without an amount last.
    #[default]
    AtStake,
    /// Open longest first.
    Oldest,
    /// Opened most recently first.
    Newest,
    /// By A-label.
    Domain,
    /// By kind, then A-label (the order of [`Store::cases`]).
    Kind,
}

impl CaseSort {
    pub const ALL: [CaseSort; 5] = [
        CaseSort::AtStake,
        CaseSort::Oldest,
        CaseSort::Newest,
        CaseSort::Domain,
        CaseSort::Kind,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CaseSort::AtStake => "at_stake",
            CaseSort::Oldest => "oldest",
            CaseSort::Newest => "newest",
            CaseSort::Domain => "domain",
            CaseSort::Kind => "kind",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    fn order_by(self) -> &'static str {
        match self {
            CaseSort::AtStake => "at_stake_micros DESC NULLS LAST, id",
            CaseSort::Oldest => "opened_at, id",
            CaseSort::Newest => "opened_at DESC, id DESC",
            CaseSort::Domain => "domain, kind",
            CaseSort::Kind => "kind, domain",
        }
    }
}

/// Which cases to list, in which order, and which page of them.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseQuery {
    /// `None`: open and resolved.
    pub state: Option<CaseState>,
    /// Any of these kinds; empty: every kind.
    pub kinds: Vec<CaseKind>,
    /// The registrar account, exactly.
    pub account: Option<String>,
    /// The zone (`co.uk`), or a TLD that also matches the zones under it (`uk`). A-label.
    pub tld: Option<String>,
    /// The WHMCS client id.
    pub client_id: Option<i64>,
    /// The currency of the money at stake.
    pub currency: Option<Currency>,
    /// At least this much at stake (in the case's currency).
    pub min_at_stake: Option<Decimal>,
    /// A fragment of the A-label (see `domwatch_core::search_fragment`).
    pub search: Option<String>,
    pub sort: CaseSort,
    /// 1-based.
    pub page: u32,
    /// Capped at [`MAX_PER_PAGE`].
    pub per_page: u32,
}

impl Default for CaseQuery {
    fn default() -> Self {
        Self {
            state: Some(CaseState::Open),
            kinds: Vec::new(),
            account: None,
            tld: None,
            client_id: None,
            currency: None,
            min_at_stake: None,
            search: None,
            sort: CaseSort::default(),
            page: 1,
            per_page: 50,
        }
    }
}

/// One page of cases and how many match in all.
#[derive(Debug, Clone, PartialEq)]
pub struct CasePage {
    pub cases: Vec<CaseRecord>,
    pub total: i64,
    pub page: u32,
    pub per_page: u32,
}

impl CasePage {
    /// Pages in all (at least 1, so "page 1 of 1" also reads right when nothing matches).
    pub fn pages(&self) -> u32 {
        let per = i64::from(self.per_page.max(1));
        u32::try_from(((self.total + per - 1) / per).max(1)).unwrap_or(u32::MAX)
    }

    pub fn next_page(&self) -> Option<u32> {
        (self.page < self.pages()).then_some(self.page + 1)
    }
}

/// Open (or resolved) cases of one kind: how many, and the money at stake per currency.
#[derive(Debug, Clone, PartialEq)]
pub struct KindSummary {
    pub kind: CaseKind,
    pub count: i64,
    /// One sum per currency, by currency code.
    pub at_stake: Vec<Money>,
}

/// Cases by kind, with totals.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CaseSummary {
    /// Kinds with at least one case, in the order of [`CaseKind`]'s variants.
    pub kinds: Vec<KindSummary>,
    pub total: i64,
    /// One sum per currency over every kind.
    pub at_stake: Vec<Money>,
}

/// A bound value of a generated statement.
enum Value {
    Text(String),
    Int(i64),
}

/// A `WHERE` clause with its values, numbered `$1…` in the order they are pushed.
#[derive(Default)]
struct Where {
    clauses: Vec<String>,
    values: Vec<Value>,
}

impl Where {
    fn of(query: &CaseQuery) -> Where {
        let mut w = Where::default();
        if let Some(state) = query.state {
            w.push("state = {}", Value::Text(state.as_str().into()));
        }
        if !query.kinds.is_empty() {
            let marks: Vec<String> = query
                .kinds
                .iter()
                .map(|k| w.bind(Value::Text(k.as_str().into())))
                .collect();
            w.clauses.push(format!("kind IN ({})", marks.join(", ")));
        }
        if let Some(account) = &query.account {
            w.push("registrar_account = {}", Value::Text(account.clone()));
        }
        if let Some(tld) = &query.tld {
            let tld = tld.trim_start_matches('.').to_ascii_lowercase();
            let exact = w.bind(Value::Text(tld.clone()));
            let under = w.bind(Value::Text(format!("%.{}", like_escape(&tld))));
            w.clauses
                .push(format!("(tld = {exact} OR tld LIKE {under} ESCAPE '\\')"));
        }
        if let Some(client) = query.client_id {
            w.push("client_id = {}", Value::Int(client));
        }
        if let Some(currency) = query.currency {
            w.push("at_stake_currency = {}", Value::Text(currency.to_string()));
        }
        if let Some(min) = query.min_at_stake {
            let micros = (min * Decimal::from(MICROS))
                .ceil()
                .to_i64()
                .unwrap_or(i64::MAX);
            w.push("at_stake_micros >= {}", Value::Int(micros));
        }
        if let Some(search) = &query.search {
            let pattern = format!("%{}%", like_escape(&search.to_ascii_lowercase()));
            w.push("domain LIKE {} ESCAPE '\\'", Value::Text(pattern));
        }
        w
    }

    /// Adds a value and returns its placeholder.
    fn bind(&mut self, value: Value) -> String {
        self.values.push(value);
        format!("${}", self.values.len())
    }

    /// Adds a clause whose `{}` is the placeholder of `value`.
    fn push(&mut self, clause: &str, value: Value) {
        let mark = self.bind(value);
        self.clauses.push(clause.replace("{}", &mark));
    }

    fn sql(&self) -> String {
        if self.clauses.is_empty() {
            "1 = 1".into()
        } else {
            self.clauses.join(" AND ")
        }
    }

    fn apply<'q>(
        &self,
        mut query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    ) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
        for v in &self.values {
            query = match v {
                Value::Text(t) => query.bind(t.clone()),
                Value::Int(i) => query.bind(*i),
            };
        }
        query
    }
}

/// Escapes `%`, `_` and `\` for a `LIKE … ESCAPE '\'` pattern.
fn like_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

impl Store {
    /// One page of the cases `query` selects, and how many it selects in all.
    pub async fn case_page(&self, query: &CaseQuery) -> Result<CasePage> {
        let per_page = query.per_page.clamp(1, MAX_PER_PAGE);
        let page = query.page.max(1);
        let mut w = Where::of(query);
        let filter = w.sql();
        let count_sql = format!("SELECT COUNT(*) AS n FROM cases WHERE {filter}");
        let total: i64 = get(
            &w.apply(sqlx::query(&count_sql))
                .fetch_one(&self.pool)
                .await
                .map_err(q("counting cases"))?,
            "n",
        )?;
        let limit = w.bind(Value::Int(i64::from(per_page)));
        let offset = w.bind(Value::Int(i64::from(page - 1) * i64::from(per_page)));
        let order = query.sort.order_by();
        // The sort and the offset walk ids only; whole rows are read for one page.
        let sql = format!(
            "SELECT {CASE_COLUMNS} FROM cases WHERE id IN \
             (SELECT id FROM cases WHERE {filter} ORDER BY {order} LIMIT {limit} OFFSET {offset}) \
             ORDER BY {order}"
        );
        let rows = w
            .apply(sqlx::query(&sql))
            .fetch_all(&self.pool)
            .await
            .map_err(q("listing a page of cases"))?;
        let cases = rows
            .iter()
            .map(CaseRecord::from_row)
            .collect::<Result<_>>()?;
        Ok(CasePage {
            cases,
            total,
            page,
            per_page,
        })
    }

    /// The cases `query` selects (its sort and page are ignored) by kind and A-label,
    /// `limit` at a time: pass the (kind, A-label) of the last case of one batch to get the
    /// next. For exports that must not hold the whole list in memory.
    pub async fn cases_after(
        &self,
        query: &CaseQuery,
        after: Option<(CaseKind, &str)>,
        limit: u32,
    ) -> Result<Vec<CaseRecord>> {
        let mut w = Where::of(query);
        if let Some((kind, domain)) = after {
            let k = w.bind(Value::Text(kind.as_str().into()));
            let d = w.bind(Value::Text(domain.to_string()));
            w.clauses
                .push(format!("(kind > {k} OR (kind = {k} AND domain > {d}))"));
        }
        let filter = w.sql();
        let limit = w.bind(Value::Int(i64::from(limit.max(1))));
        let sql = format!(
            "SELECT {CASE_COLUMNS} FROM cases WHERE {filter} ORDER BY kind, domain LIMIT {limit}"
        );
        let rows = w
            .apply(sqlx::query(&sql))
            .fetch_all(&self.pool)
            .await
            .map_err(q("listing cases for an export"))?;
        rows.iter().map(CaseRecord::from_row).collect()
    }

    /// The `per_kind` cases with the most money at stake of every kind, in one statement
    /// (a window over the kinds), ordered by kind and then as [`CaseSort::AtStake`].
    pub async fn top_cases_per_kind(
        &self,
        state: Option<CaseState>,
        per_kind: u32,
    ) -> Result<Vec<CaseRecord>> {
        let query = CaseQuery {
            state,
            ..CaseQuery::default()
        };
        let mut w = Where::of(&query);
        let filter = w.sql();
        let limit = w.bind(Value::Int(i64::from(per_kind)));
        let sql = format!(
            "SELECT {CASE_COLUMNS} FROM cases WHERE id IN \
             (SELECT id FROM (SELECT id, ROW_NUMBER() OVER (PARTITION BY kind ORDER BY at_stake_micros DESC NULLS LAST, id) AS pos \
              FROM cases WHERE {filter}) ranked WHERE pos <= {limit}) \
             ORDER BY kind, at_stake_micros DESC NULLS LAST, id"
        );
        let rows = w
            .apply(sqlx::query(&sql))
            .fetch_all(&self.pool)
            .await
            .map_err(q("listing the top cases of each kind"))?;
        rows.iter().map(CaseRecord::from_row).collect()
    }

    /// Cases by kind in `state` (`None`: all), counted and summed per currency in SQL.
    pub async fn case_summary(&self, state: Option<CaseState>) -> Result<CaseSummary> {
        let query = CaseQuery {
            state,
            ..CaseQuery::default()
        };
        let w = Where::of(&query);
        let sql = format!(
            "SELECT kind, at_stake_currency, COUNT(*) AS n, CAST(SUM(at_stake_micros) AS BIGINT) AS micros \
             FROM cases WHERE {} GROUP BY kind, at_stake_currency",
            w.sql()
        );
        let rows = w
            .apply(sqlx::query(&sql))
            .fetch_all(&self.pool)
            .await
            .map_err(q("summing cases by kind"))?;
        let mut kinds: BTreeMap<CaseKind, (i64, BTreeMap<String, i64>)> = BTreeMap::new();
        for r in &rows {
            let kind: String = get(r, "kind")?;
            let kind = CaseKind::parse(&kind)
                .ok_or_else(|| crate::StoreError::Corrupt(format!("case kind `{kind}`")))?;
            let entry = kinds.entry(kind).or_default();
            entry.0 += get::<i64>(r, "n")?;
            let currency: Option<String> = get(r, "at_stake_currency")?;
            if let (Some(c), Some(m)) = (currency, get::<Option<i64>>(r, "micros")?) {
                *entry.1.entry(c).or_default() += m;
            }
        }
        let mut summary = CaseSummary::default();
        let mut totals: BTreeMap<String, i64> = BTreeMap::new();
        for (kind, (count, sums)) in kinds {
            summary.total += count;
            for (c, m) in &sums {
                *totals.entry(c.clone()).or_default() += m;
            }
            summary.kinds.push(KindSummary {
                kind,
                count,
                at_stake: moneys(&sums)?,
            });
        }
        summary.at_stake = moneys(&totals)?;
        Ok(summary)
    }

    /// Fills `tld` and `at_stake_micros` of cases recorded before migration 0011, in
    /// batches; a no-op once done. Runs right after migrating.
    pub(crate) async fn backfill_case_columns(&self) -> Result<u64> {
        let mut filled = 0;
        loop {
            let rows = sqlx::query(
                "SELECT id, domain, at_stake_amount, at_stake_currency FROM cases WHERE tld IS NULL ORDER BY id LIMIT 500",
            )
            .fetch_all(&self.pool)
            .await
            .map_err(q("finding cases to backfill"))?;
            if rows.is_empty() {
                return Ok(filled);
            }
            let mut tx = self
                .pool
                .begin()
                .await
                .map_err(q("starting a transaction"))?;
            for r in &rows {
                let domain: String = get(r, "domain")?;
                let zone = domain.split_once('.').map(|(_, z)| z).unwrap_or("");
                let stake =
                    crate::money_of(get(r, "at_stake_amount")?, get(r, "at_stake_currency")?)
                        .ok()
                        .flatten();
                sqlx::query("UPDATE cases SET tld = $1, at_stake_micros = $2 WHERE id = $3")
                    .bind(zone.to_string())
                    .bind(stake.as_ref().and_then(stake_micros))
                    .bind(get::<i64>(r, "id")?)
                    .execute(&mut *tx)
                    .await
                    .map_err(q("backfilling case columns"))?;
            }
            tx.commit().await.map_err(q("committing the backfill"))?;
            filled += rows.len() as u64;
        }
    }
}

fn moneys(sums: &BTreeMap<String, i64>) -> Result<Vec<Money>> {
    sums.iter()
        .map(|(c, m)| {
            let currency = Currency::from_str(c)
                .map_err(|e| crate::StoreError::Corrupt(format!("currency `{c}`: {e}")))?;
            Ok(money_of_micros(*m, currency))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn micros_are_exact_and_round_beyond_six_places() {
        let eur = |d| Money::new(d, Currency::EUR);
        assert_eq!(stake_micros(&eur(dec!(12.50))), Some(12_500_000));
        assert_eq!(stake_micros(&eur(dec!(0.0001))), Some(100));
        assert_eq!(stake_micros(&eur(dec!(1.0000005))), Some(1_000_000));
        assert_eq!(stake_micros(&eur(dec!(-3))), Some(-3_000_000));
        assert_eq!(
            money_of_micros(12_500_000, Currency::EUR).amount,
            dec!(12.5)
        );
    }

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(like_escape("a%b_c\\d"), "a\\%b\\_c\\\\d");
    }

    #[test]
    fn filters_number_their_values_in_order() {
        let query = CaseQuery {
            kinds: vec![CaseKind::ExpiryDrift, CaseKind::StatusDrift],
            tld: Some(".UK".into()),
            client_id: Some(7),
            search: Some("xn--mller".into()),
            ..CaseQuery::default()
        };
        let w = Where::of(&query);
        assert_eq!(
            w.sql(),
            "state = $1 AND kind IN ($2, $3) AND (tld = $4 OR tld LIKE $5 ESCAPE '\\') AND client_id = $6 AND domain LIKE $7 ESCAPE '\\'"
        );
        assert_eq!(w.values.len(), 7);
        assert!(matches!(&w.values[4], Value::Text(t) if t == "%.uk"));
        assert!(matches!(&w.values[6], Value::Text(t) if t == "%xn--mller%"));
    }

    #[test]
    fn pages_count_up_and_stop() {
        let page = |total, page| CasePage {
            cases: Vec::new(),
            total,
            page,
            per_page: 50,
        };
        assert_eq!(page(0, 1).pages(), 1);
        assert_eq!(page(0, 1).next_page(), None);
        assert_eq!(page(101, 1).pages(), 3);
        assert_eq!(page(101, 2).next_page(), Some(3));
        assert_eq!(page(100, 2).next_page(), None);
    }
}

#[cfg(test)]
mod backfill_tests {
    use crate::{CaseQuery, Store};
    use chrono::Utc;
    use domwatch_core::detect::{CaseKind, Facts, Finding};
    use domwatch_core::{Currency, DomainName, Money};
    use rust_decimal_macros::dec;
    use std::collections::HashSet;

    /// Rows written before migration 0011 (columns empty) get their zone and stake filled.
    #[tokio::test]
    async fn rows_from_before_the_migration_are_backfilled() {
        let store = Store::connect("sqlite::memory:").await.unwrap();
        let finding = Finding {
            kind: CaseKind::ExpiryDrift,
            domain: DomainName::parse("old.co.uk").unwrap(),
            billing_domain_id: None,
            registrar_account: None,
            client_id: None,
            summary: "old".into(),
            evidence: vec![],
            at_stake: Some(Money::new(dec!(4.20), Currency::EUR)),
            facts: Facts::default(),
        };
        let run = store.begin_run(Utc::now(), false).await.unwrap();
        store
            .sync_findings(run, Utc::now(), &[finding], &HashSet::new())
            .await
            .unwrap();
        sqlx::query("UPDATE cases SET tld = NULL, at_stake_micros = NULL")
            .execute(&store.pool)
            .await
            .unwrap();
        let by_zone = CaseQuery {
            tld: Some("uk".into()),
            min_at_stake: Some(dec!(4.2)),
            ..CaseQuery::default()
        };
        assert_eq!(store.case_page(&by_zone).await.unwrap().total, 0);
        assert_eq!(store.backfill_case_columns().await.unwrap(), 1);
        assert_eq!(store.case_page(&by_zone).await.unwrap().total, 1);
        assert_eq!(store.backfill_case_columns().await.unwrap(), 0);
    }
}
