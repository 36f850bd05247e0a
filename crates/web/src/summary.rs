//! `GET /api/summary`: what a widget (the WHMCS admin home, a status page) shows: open
//! cases, money at stake per currency and per kind, and the last run. Read from the store
//! only: no cycle, no outside call, so a widget can poll it cheaply.

use crate::{JsonError, WebError, WebState};
use domwatch_core::detect::CaseKind;
use domwatch_store::{CaseFilter, CaseRecord, RunRecord};
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Serialize)]
pub(crate) struct Summary {
    pub open_cases: usize,
    pub at_stake: Vec<Stake>,
    pub by_kind: Vec<KindSummary>,
    pub last_run: Option<LastRun>,
    /// Where the dashboard is, relative to this server.
    pub dashboard_url: &'static str,
}

/// A sum of money in one currency; the amount as a decimal string with two places.
#[derive(Debug, Serialize)]
pub(crate) struct Stake {
    pub currency: String,
    pub amount: String,
}

#[derive(Debug, Serialize)]
pub(crate) struct KindSummary {
    pub kind: &'static str,
    pub label: &'static str,
    pub count: usize,
    pub at_stake: Vec<Stake>,
}

#[derive(Debug, Serialize)]
pub(crate) struct LastRun {
    pub id: i64,
    pub started_at: String,
    pub finished_at: Option<String>,
    /// `complete`, `partial`, `failed` or `running`.
    pub outcome: &'static str,
}

fn stakes<'a>(cases: impl IntoIterator<Item = &'a CaseRecord>) -> Vec<Stake> {
    crate::pages::sums_per_currency(cases)
        .into_iter()
        .map(|(currency, amount): (String, Decimal)| Stake {
            currency,
            amount: format!("{:.2}", amount),
        })
        .collect()
}

/// A finished run is partial when its report names a failed account, an incomplete input
/// or skipped domains, and failed when no registrar account could be read at all.
fn outcome(run: &RunRecord) -> &'static str {
    match run.status.as_str() {
        "running" => return "running",
        "failed" => return "failed",
        _ => {}
    }
    let stats = &run.stats;
    let non_empty = |key: &str| {
        stats.get(key).is_some_and(|v| {
            v.as_object().is_some_and(|o| !o.is_empty())
                || v.as_array().is_some_and(|a| !a.is_empty())
        })
    };
    let read_accounts = stats
        .get("registrar_domains")
        .and_then(|v| v.as_object())
        .map_or(0, |o| o.len());
    if read_accounts == 0 && non_empty("failed_accounts") {
        "failed"
    } else if non_empty("failed_accounts")
        || non_empty("incomplete_inputs")
        || stats
            .get("skipped_domains")
            .and_then(|v| v.as_u64())
            .unwrap_or(0)
            > 0
    {
        "partial"
    } else {
        "complete"
    }
}

fn rfc3339(at: chrono::DateTime<chrono::Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

pub(crate) async fn summary(state: &WebState) -> Result<Summary, JsonError> {
    let store = &state.engine.store;
    let internal = |e: domwatch_store::StoreError| JsonError(WebError::internal(e));
    let open = store.cases(CaseFilter::open()).await.map_err(internal)?;
    let last = store.runs(1).await.map_err(internal)?.into_iter().next();
    let mut kinds: BTreeMap<CaseKind, Vec<&CaseRecord>> = BTreeMap::new();
    for c in &open {
        kinds.entry(c.kind).or_default().push(c);
    }
    Ok(Summary {
        open_cases: open.len(),
        at_stake: stakes(&open),
        by_kind: kinds
            .into_iter()
            .map(|(kind, cases)| KindSummary {
                kind: kind.as_str(),
                label: kind.title(),
                count: cases.len(),
                at_stake: stakes(cases),
            })
            .collect(),
        last_run: last.map(|run| LastRun {
            id: run.id,
            started_at: rfc3339(run.started_at),
            finished_at: run.finished_at.map(rfc3339),
            outcome: outcome(&run),
        }),
        dashboard_url: "/",
    })
}
