//! Recording a run's findings as cases: open new ones, reopen resolved ones, update the
//! ones whose finding changed, resolve the ones of fully observed domains that were not
//! found again; and the "missing at registrar" strike counters.

use crate::{event, get, q, stake_micros, ts, CaseRef, Result, Store, StoreError, SyncOutcome};
use chrono::{DateTime, Utc};
use domwatch_core::detect::{CaseKind, Finding};
use domwatch_core::webhook::EventKind;
use domwatch_core::{DomainName, Money, NameSet};
use std::collections::{HashMap, HashSet};

/// A case as stored, keyed by (kind, domain) in [`load_known`].
struct Known {
    id: i64,
    state: String,
    openings: i64,
    finding: String,
}

type CaseKey = (String, String);
type Tx<'c> = sqlx::Transaction<'c, sqlx::Any>;

impl Store {
    /// Records this run's findings. `scope` holds every domain that was fully observed in
    /// this run: an open case of an in-scope domain that was not found again resolves; a
    /// case of a domain outside the scope (e.g. its registrar could not be reached) is
    /// left as it is, so an outage never resolves real problems.
    pub async fn sync_findings(
        &self,
        run_id: i64,
        at: DateTime<Utc>,
        findings: &[Finding],
        scope: &impl NameSet,
    ) -> Result<SyncOutcome> {
        let now = ts(at);
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(q("starting a transaction"))?;
        let known = load_known(&mut tx).await?;
        let mut outcome = SyncOutcome::default();
        let mut seen: HashSet<CaseKey> = HashSet::with_capacity(findings.len());
        // New cases are inserted together after the loop: one statement per hundred cases
        // instead of two per case (a first cycle opens tens of thousands).
        let mut new_cases: Vec<CaseRow> = Vec::new();
        for f in findings {
            let key = (f.kind.as_str().to_string(), f.domain.ascii().to_string());
            if !seen.insert(key.clone()) {
                continue; // one case per (kind, domain), whatever the detector emitted
            }
            let row = CaseRow::of(f)?;
            match known.get(&key) {
                None => new_cases.push(row),
                Some(case) if case.state == "resolved" => outcome
                    .reopened
                    .push(reopen(&mut tx, run_id, &now, case, &row).await?),
                Some(case) if case.finding != row.json && only_new_fields(case, f) => {
                    refresh_columns(&mut tx, case, &row).await?;
                    outcome.unchanged += 1;
                }
                Some(case) if case.finding != row.json => outcome
                    .updated
                    .push(update(&mut tx, run_id, &now, case, &row).await?),
                Some(_) => outcome.unchanged += 1,
            }
        }
        outcome.opened = open_cases(&mut tx, run_id, &now, &new_cases).await?;
        outcome.resolved = resolve_unseen(&mut tx, run_id, &now, &known, &seen, scope).await?;
        // The webhook events of these changes commit with them, or not at all.
        crate::webhook_events::enqueue(&mut tx, &webhook_changes(&outcome), at).await?;
        tx.commit().await.map_err(q("committing findings"))?;
        Ok(outcome)
    }

    /// Counts consecutive absences. `absent`: billed domains not at the registrar this
    /// run; every other tracked domain that was observed (`scope`) is reset. A domain
    /// outside the scope (its registrar account could not be read) keeps its count: not
    /// seeing it is not seeing it back. Returns the strikes of `absent` domains.
    pub async fn record_absences(
        &self,
        run_id: i64,
        absent: &[DomainName],
        scope: &impl NameSet,
    ) -> Result<HashMap<DomainName, u32>> {
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(q("starting a transaction"))?;
        let rows = sqlx::query("SELECT domain, missing_strikes FROM presence")
            .fetch_all(&mut *tx)
            .await
            .map_err(q("loading absences"))?;
        let mut previous = HashMap::with_capacity(rows.len());
        for r in &rows {
            previous.insert(
                get::<String>(r, "domain")?,
                get::<i64>(r, "missing_strikes")?,
            );
        }
        let absent_set: HashSet<&str> = absent.iter().map(|d| d.ascii()).collect();
        let observed_back = |d: &String| {
            !absent_set.contains(d.as_str())
                && DomainName::parse(d).is_ok_and(|name| scope.contains_name(&name))
        };
        for gone in previous.keys().filter(|d| observed_back(d)) {
            sqlx::query("DELETE FROM presence WHERE domain = $1")
                .bind(gone)
                .execute(&mut *tx)
                .await
                .map_err(q("clearing an absence"))?;
        }
        let mut strikes = HashMap::with_capacity(absent.len());
        for d in absent {
            let n = previous.get(d.ascii()).copied().unwrap_or(0) + 1;
            sqlx::query(
                "INSERT INTO presence (domain, missing_strikes, last_run_id) VALUES ($1, $2, $3)
                 ON CONFLICT (domain) DO UPDATE SET missing_strikes = $2, last_run_id = $3",
            )
            .bind(d.ascii())
            .bind(n)
            .bind(run_id)
            .execute(&mut *tx)
            .await
            .map_err(q("counting an absence"))?;
            strikes.insert(d.clone(), n as u32);
        }
        tx.commit().await.map_err(q("committing absences"))?;
        Ok(strikes)
    }

    /// The strikes counted so far for `names`, read only: a targeted check sees a few
    /// domains, never a whole listing, so it neither counts nor clears an absence.
    pub async fn absence_strikes(&self, names: &[DomainName]) -> Result<HashMap<DomainName, u32>> {
        let mut strikes = HashMap::new();
        for name in names {
            let row = sqlx::query("SELECT missing_strikes FROM presence WHERE domain = $1")
                .bind(name.ascii())
                .fetch_optional(&self.pool)
                .await
                .map_err(q("reading an absence count"))?;
            if let Some(row) = row {
                let n: i64 = get(&row, "missing_strikes")?;
                strikes.insert(name.clone(), n.max(0) as u32);
            }
        }
        Ok(strikes)
    }
}

/// One webhook event per opened, reopened and resolved case (an update is no event).
fn webhook_changes(outcome: &SyncOutcome) -> Vec<crate::webhook_events::CaseChange> {
    let change = |kind, c: &CaseRef| crate::webhook_events::CaseChange {
        kind,
        case_id: c.id,
        opening: c.opening,
        action: None,
    };
    let opened = outcome
        .opened
        .iter()
        .map(|c| change(EventKind::CaseOpened, c));
    let reopened = outcome
        .reopened
        .iter()
        .map(|c| change(EventKind::CaseReopened, c));
    let resolved = outcome
        .resolved
        .iter()
        .map(|c| change(EventKind::CaseResolved, c));
    opened.chain(reopened).chain(resolved).collect()
}

/// A finding with its stored forms: the JSON, the money-at-stake columns and the columns
/// the dashboard filters and sorts on (zone, client, stake in millionths).
struct CaseRow<'f> {
    finding: &'f Finding,
    json: String,
    stake_amount: Option<String>,
    stake_currency: Option<String>,
    stake_micros: Option<i64>,
    tld: String,
    client_id: Option<i64>,
}

/// Bound values per new case in [`open_cases`].
const VALUES_PER_CASE: usize = 13;

/// Cases (and their `opened` events) per multi-row statement: far below the parameter
/// limits of SQLite (32 766) and PostgreSQL (65 535), and small because SQLite finds each
/// bound parameter's name by a linear scan (binding grows with the square of parameters).
const CASES_PER_INSERT: usize = 30;

/// Inserts new cases with their `opened` events, in the order given (case ids follow it).
async fn open_cases(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    run_id: i64,
    now: &str,
    new_cases: &[CaseRow<'_>],
) -> Result<Vec<CaseRef>> {
    let mut opened = Vec::with_capacity(new_cases.len());
    for chunk in new_cases.chunks(CASES_PER_INSERT) {
        let values = (0..chunk.len())
            .map(|i| {
                let p = |k: usize| format!("${}", VALUES_PER_CASE * i + k);
                let [kind, domain, billing, account] = [p(1), p(2), p(3), p(4)];
                let rest = (6..=VALUES_PER_CASE).map(p).collect::<Vec<_>>().join(", ");
                format!(
                    "({kind}, {domain}, {billing}, {account}, 'open', 1, {now}, {now}, {rest})",
                    now = p(5)
                )
            })
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "INSERT INTO cases (kind, domain, billing_domain_id, registrar_account, state, openings, opened_at, updated_at, last_run_id, summary, at_stake_amount, at_stake_currency, finding, tld, client_id, at_stake_micros)
             VALUES {values} RETURNING id, kind, domain"
        );
        let mut query = sqlx::query(&sql);
        for c in chunk {
            let f = c.finding;
            query = query
                .bind(f.kind.as_str())
                .bind(f.domain.ascii().to_string())
                .bind(f.billing_domain_id.map(|i| i as i64))
                .bind(f.registrar_account.clone())
                .bind(now.to_string())
                .bind(run_id)
                .bind(f.summary.clone())
                .bind(c.stake_amount.clone())
                .bind(c.stake_currency.clone())
                .bind(c.json.clone())
                .bind(c.tld.clone())
                .bind(c.client_id)
                .bind(c.stake_micros);
        }
        let rows = query
            .fetch_all(&mut **tx)
            .await
            .map_err(q("opening cases"))?;
        let mut ids: HashMap<(String, String), i64> = HashMap::with_capacity(rows.len());
        for r in &rows {
            ids.insert((get(r, "kind")?, get(r, "domain")?), get(r, "id")?);
        }
        let mut refs = Vec::with_capacity(chunk.len());
        for c in chunk {
            let f = c.finding;
            let key = (f.kind.as_str().to_string(), f.domain.ascii().to_string());
            let id = *ids
                .get(&key)
                .ok_or_else(|| StoreError::Corrupt(format!("no id returned for case {key:?}")))?;
            refs.push(CaseRef {
                id,
                kind: f.kind,
                domain: f.domain.clone(),
                opening: 1,
            });
        }
        let values = (0..chunk.len())
            .map(|i| format!("(${}, ${}, 'opened', ${})", 3 * i + 1, 3 * i + 2, 3 * i + 3))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!("INSERT INTO case_events (case_id, at, event, detail) VALUES {values}");
        let mut query = sqlx::query(&sql);
        for (c, r) in chunk.iter().zip(&refs) {
            query = query
                .bind(r.id)
                .bind(now.to_string())
                .bind(serde_json::json!({"run": run_id, "summary": c.finding.summary}).to_string());
        }
        query
            .execute(&mut **tx)
            .await
            .map_err(q("recording case events"))?;
        opened.extend(refs);
    }
    Ok(opened)
}

impl<'f> CaseRow<'f> {
    fn of(finding: &'f Finding) -> Result<Self> {
        let json =
            serde_json::to_string(finding).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let (stake_amount, stake_currency) = stake_columns(finding.at_stake);
        Ok(Self {
            finding,
            json,
            stake_amount,
            stake_currency,
            stake_micros: finding.at_stake.as_ref().and_then(stake_micros),
            tld: finding.domain.zone().to_string(),
            client_id: finding.client_id.map(|c| c as i64),
        })
    }

    fn case_ref(&self, id: i64, opening: i64) -> CaseRef {
        CaseRef {
            id,
            kind: self.finding.kind,
            domain: self.finding.domain.clone(),
            opening,
        }
    }
}

/// Every known case, open or resolved, keyed by (kind, domain).
async fn load_known(tx: &mut Tx<'_>) -> Result<HashMap<CaseKey, Known>> {
    let rows = sqlx::query("SELECT id, kind, domain, state, openings, finding FROM cases")
        .fetch_all(&mut **tx)
        .await
        .map_err(q("loading cases"))?;
    let mut known = HashMap::with_capacity(rows.len());
    for r in &rows {
        let key = (get::<String>(r, "kind")?, get::<String>(r, "domain")?);
        let case = Known {
            id: get(r, "id")?,
            state: get(r, "state")?,
            openings: get(r, "openings")?,
            finding: get(r, "finding")?,
        };
        known.insert(key, case);
    }
    Ok(known)
}

async fn reopen(
    tx: &mut Tx<'_>,
    run_id: i64,
    now: &str,
    case: &Known,
    row: &CaseRow<'_>,
) -> Result<CaseRef> {
    let f = row.finding;
    let opening = case.openings + 1;
    sqlx::query(
        "UPDATE cases SET state = 'open', openings = $1, opened_at = $2, updated_at = $2, resolved_at = NULL, last_run_id = $3, summary = $4, at_stake_amount = $5, at_stake_currency = $6, finding = $7, billing_domain_id = $8, registrar_account = $9, tld = $10, client_id = $11, at_stake_micros = $12 WHERE id = $13",
    )
    .bind(opening)
    .bind(now)
    .bind(run_id)
    .bind(&f.summary)
    .bind(row.stake_amount.clone())
    .bind(row.stake_currency.clone())
    .bind(&row.json)
    .bind(f.billing_domain_id.map(|i| i as i64))
    .bind(f.registrar_account.clone())
    .bind(row.tld.clone())
    .bind(row.client_id)
    .bind(row.stake_micros)
    .bind(case.id)
    .execute(&mut **tx)
    .await
    .map_err(q("reopening a case"))?;
    let detail = serde_json::json!({"run": run_id, "opening": opening, "summary": f.summary});
    event(tx, case.id, now, "reopened", &detail).await?;
    Ok(row.case_ref(case.id, opening))
}

async fn update(
    tx: &mut Tx<'_>,
    run_id: i64,
    now: &str,
    case: &Known,
    row: &CaseRow<'_>,
) -> Result<CaseRef> {
    let f = row.finding;
    sqlx::query(
        "UPDATE cases SET updated_at = $1, last_run_id = $2, summary = $3, at_stake_amount = $4, at_stake_currency = $5, finding = $6, client_id = $7, at_stake_micros = $8 WHERE id = $9",
    )
    .bind(now)
    .bind(run_id)
    .bind(&f.summary)
    .bind(row.stake_amount.clone())
    .bind(row.stake_currency.clone())
    .bind(&row.json)
    .bind(row.client_id)
    .bind(row.stake_micros)
    .bind(case.id)
    .execute(&mut **tx)
    .await
    .map_err(q("updating a case"))?;
    let detail = serde_json::json!({"run": run_id, "summary": f.summary});
    event(tx, case.id, now, "updated", &detail).await?;
    Ok(row.case_ref(case.id, case.openings))
}

/// True when the stored finding differs from `new` only in fields it could not have had
/// yet (the client, recorded since migration 0011): no news for the case's history.
fn only_new_fields(case: &Known, new: &Finding) -> bool {
    match serde_json::from_str::<Finding>(&case.finding) {
        Ok(mut stored) if stored.client_id.is_none() => {
            stored.client_id = new.client_id;
            stored == *new
        }
        _ => false,
    }
}

/// Stores a finding that only gained new fields, and its columns, without an event.
async fn refresh_columns(tx: &mut Tx<'_>, case: &Known, row: &CaseRow<'_>) -> Result<()> {
    sqlx::query(
        "UPDATE cases SET finding = $1, client_id = $2, at_stake_micros = $3 WHERE id = $4",
    )
    .bind(&row.json)
    .bind(row.client_id)
    .bind(row.stake_micros)
    .bind(case.id)
    .execute(&mut **tx)
    .await
    .map_err(q("refreshing a case's columns"))?;
    Ok(())
}

/// Resolves open cases of in-scope domains that were not found again.
async fn resolve_unseen(
    tx: &mut Tx<'_>,
    run_id: i64,
    now: &str,
    known: &HashMap<CaseKey, Known>,
    seen: &HashSet<CaseKey>,
    scope: &impl NameSet,
) -> Result<Vec<CaseRef>> {
    let mut resolved = Vec::new();
    for ((kind, domain), case) in known {
        if case.state != "open" || seen.contains(&(kind.clone(), domain.clone())) {
            continue;
        }
        let Ok(name) = DomainName::parse(domain) else {
            continue;
        };
        if !scope.contains_name(&name) {
            continue;
        }
        sqlx::query("UPDATE cases SET state = 'resolved', resolved_at = $1, updated_at = $1, last_run_id = $2 WHERE id = $3")
            .bind(now)
            .bind(run_id)
            .bind(case.id)
            .execute(&mut **tx)
            .await
            .map_err(q("resolving a case"))?;
        event(
            tx,
            case.id,
            now,
            "resolved",
            &serde_json::json!({"run": run_id}),
        )
        .await?;
        let kind = CaseKind::parse(kind)
            .ok_or_else(|| StoreError::Corrupt(format!("case kind `{kind}`")))?;
        resolved.push(CaseRef {
            id: case.id,
            kind,
            domain: name,
            opening: case.openings,
        });
    }
    Ok(resolved)
}

fn stake_columns(m: Option<Money>) -> (Option<String>, Option<String>) {
    match m {
        Some(m) => (Some(m.amount.to_string()), Some(m.currency.to_string())),
        None => (None, None),
    }
}
