//! What the dashboard, the API and the CLI export: the case list as CSV and the stored
//! renewal forecast as JSON or CSV for one window. One place, so `domwatch cases --csv`
//! and `/api/cases.csv` give the same file.

use chrono::SecondsFormat;
use domwatch_core::csv::{cell, number, push_row};
use domwatch_core::forecast::{Totals, WINDOWS};
use domwatch_store::{CaseRecord, ForecastRecord};
use serde_json::json;
use std::borrow::Cow;

/// The case list's CSV columns.
pub const CASE_COLUMNS: [&str; 12] = [
    "id",
    "kind",
    "state",
    "domain",
    "domain_ascii",
    "registrar_account",
    "billing_domain_id",
    "at_stake_amount",
    "at_stake_currency",
    "opened",
    "updated",
    "summary",
];

/// The cases as UTF-8 CSV with a header row: the Unicode name and the A-label, untrusted
/// text defused against formula injection.
pub fn cases_csv(cases: &[CaseRecord]) -> String {
    let mut out = String::with_capacity(128 * (cases.len() + 1));
    push_case_header(&mut out);
    for c in cases {
        push_case_row(&mut out, c);
    }
    out
}

/// The header row of [`cases_csv`], for a list written in parts.
pub fn push_case_header(out: &mut String) {
    push_row(out, CASE_COLUMNS.iter().map(|c| Cow::Borrowed(*c)));
}

/// One row of [`cases_csv`].
pub fn push_case_row(out: &mut String, c: &CaseRecord) {
    let time = |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(SecondsFormat::Secs, true);
    let stake = c.at_stake.map(|m| m.round_cents());
    push_row(
        out,
        [
            Cow::Owned(c.id.to_string()),
            Cow::Borrowed(c.kind.as_str()),
            Cow::Borrowed(c.state.as_str()),
            Cow::Owned(cell(&c.domain.unicode()).into_owned()),
            cell(c.domain.ascii()),
            cell(c.registrar_account.as_deref().unwrap_or("")),
            Cow::Owned(
                c.billing_domain_id
                    .map(|i| i.to_string())
                    .unwrap_or_default(),
            ),
            Cow::Owned(
                stake
                    .map(|m| format!("{:.2}", m.amount))
                    .unwrap_or_default(),
            ),
            Cow::Owned(stake.map(|m| m.currency.to_string()).unwrap_or_default()),
            Cow::Owned(time(c.opened_at)),
            Cow::Owned(time(c.updated_at)),
            cell(&c.summary),
        ],
    );
}

/// Why a forecast window cannot be shown.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0} days is not a forecast window: use 30, 60, 90 or 365")]
pub struct NoSuchWindow(pub i64);

/// The message for a window that does not exist.
pub(crate) fn forecast_json_error(days: i64) -> String {
    NoSuchWindow(days).to_string()
}

fn check_window(days: i64) -> Result<(), NoSuchWindow> {
    if WINDOWS.contains(&days) {
        Ok(())
    } else {
        Err(NoSuchWindow(days))
    }
}

/// The forecast for the next `days` days as JSON: the window's totals per currency and
/// per account, its weeks, its loss-makers and what is left out of the sums.
pub fn forecast_json(
    record: &ForecastRecord,
    days: i64,
) -> Result<serde_json::Value, NoSuchWindow> {
    check_window(days)?;
    let r = &record.report;
    Ok(json!({
        "run_id": record.run_id,
        "computed_at": record.computed_at,
        "complete": record.complete,
        "missing": record.missing,
        "today": r.today,
        "days": days,
        "window": r.window(days),
        "weeks": r.weeks_within(days),
        "loss_makers": r.loss_makers_within(days),
        "no_rate": r.no_rate,
        "no_cost": r.no_cost,
        "overdue": r.overdue,
        "beyond_365_days": r.beyond,
    }))
}

/// The forecast window as CSV: one row for each currency's total, one per account and
/// currency, one per loss-maker (`margin` negative).
pub fn forecast_csv(record: &ForecastRecord, days: i64) -> Result<String, NoSuchWindow> {
    check_window(days)?;
    let r = &record.report;
    let mut out = String::new();
    let header = [
        "row",
        "account",
        "currency",
        "domains",
        "billed",
        "cost",
        "margin",
        "domain",
        "domain_ascii",
        "due",
    ];
    push_row(&mut out, header.iter().map(|c| Cow::Borrowed(*c)));
    let totals_row = |out: &mut String, row: &str, account: &str, currency: &str, t: &Totals| {
        push_row(
            out,
            [
                Cow::Owned(row.to_string()),
                cell(account).into_owned().into(),
                Cow::Owned(currency.to_string()),
                Cow::Owned(t.domains.to_string()),
                number(&format!("{:.2}", t.billed)).into_owned().into(),
                number(&format!("{:.2}", t.cost)).into_owned().into(),
                number(&format!("{:.2}", t.margin)).into_owned().into(),
                Cow::Borrowed(""),
                Cow::Borrowed(""),
                Cow::Borrowed(""),
            ],
        )
    };
    if let Some(w) = r.window(days) {
        for (currency, t) in &w.by_currency {
            totals_row(&mut out, "total", "", currency.as_str(), t);
        }
        for (account, by_currency) in &w.by_account {
            for (currency, t) in by_currency {
                totals_row(&mut out, "account", account, currency.as_str(), t);
            }
        }
    }
    for (currency, list) in r.loss_makers_within(days) {
        for l in list {
            push_row(
                &mut out,
                [
                    Cow::Borrowed("loss_maker"),
                    cell(&l.account).into_owned().into(),
                    Cow::Owned(currency.to_string()),
                    Cow::Borrowed("1"),
                    Cow::Owned(format!("{:.2}", l.billed.amount)),
                    Cow::Owned(format!("{:.2}", l.cost.amount)),
                    Cow::Owned(format!("{:.2}", -l.loss.amount)),
                    cell(&l.domain.unicode()).into_owned().into(),
                    cell(l.domain.ascii()).into_owned().into(),
                    Cow::Owned(l.due.to_string()),
                ],
            );
        }
    }
    Ok(out)
}
