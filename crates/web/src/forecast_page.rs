//! `GET /forecast?days=N`: the renewal forecast the last cycle recorded, per currency and
//! per registrar account, with a weekly chart and the loss-makers. Every name and message
//! in it came from WHMCS or a registrar and is escaped.

use crate::chart::weekly_chart;
use crate::html::{esc, page, Frame};
use crate::{Admin, HtmlError, WebError, WebState};
use axum::extract::{Query, State};
use axum::response::Html;
use domwatch_core::forecast::{ForecastReport, Totals, Unpriced, WINDOWS};
use domwatch_store::ForecastRecord;
use serde::Deserialize;
use std::fmt::Write;

#[derive(Debug, Deserialize)]
pub(crate) struct ForecastPageQuery {
    days: Option<i64>,
}

pub(crate) async fn forecast_page(
    State(state): State<WebState>,
    admin: Admin,
    Query(q): Query<ForecastPageQuery>,
) -> Result<Html<String>, HtmlError> {
    let days = q.days.unwrap_or(90);
    if !WINDOWS.contains(&days) {
        let e = crate::export::forecast_json_error(days);
        return Err(HtmlError(WebError::new(
            axum::http::StatusCode::BAD_REQUEST,
            e,
        )));
    }
    let record = state
        .engine
        .store
        .latest_forecast()
        .await
        .map_err(|e| HtmlError(WebError::internal(e)))?;
    let body = match &record {
        None => format!(
            "<h1>Renewal forecast</h1><p id=\"no-forecast\">{}</p>",
            esc(crate::api::NO_FORECAST)
        ),
        Some(r) => forecast_body(r, days),
    };
    let frame = Frame {
        session: Some(&admin.session),
        open_access: state.auth.is_open_access(),
    };
    Ok(Html(page("Renewal forecast", &frame, &body)))
}

fn forecast_body(record: &ForecastRecord, days: i64) -> String {
    let r = &record.report;
    let mut b = format!("<h1>Renewal forecast: the next {days} days</h1>");
    let _ = write!(
        b,
        "<p id=\"forecast-run\">From run #{} at {} (today {}). <a href=\"/api/forecast?days={days}\">JSON</a></p>",
        record.run_id,
        record.computed_at.format("%Y-%m-%d %H:%M UTC"),
        r.today
    );
    if !record.complete {
        b.push_str("<div class=\"warn\" id=\"forecast-partial\"><strong>Partial forecast:</strong> this cycle could not read everything, so the domains below are missing from every sum (not counted as zero):<ul>");
        for m in &record.missing {
            let _ = write!(b, "<li>{}</li>", esc(m));
        }
        b.push_str("</ul></div>");
    }
    b.push_str("<nav class=\"windows\" aria-label=\"Forecast window\">");
    for w in WINDOWS {
        if w == days {
            let _ = write!(b, " <strong aria-current=\"page\">{w} days</strong>");
        } else {
            let _ = write!(b, " <a href=\"/forecast?days={w}\">{w} days</a>");
        }
    }
    b.push_str("</nav>");
    totals_section(&mut b, r, days);
    chart_section(&mut b, r, days);
    loss_section(&mut b, r, days);
    left_out_section(&mut b, r);
    b
}

fn totals_row(b: &mut String, first: &str, currency: &str, t: &Totals) {
    let _ = write!(
        b,
        "<tr><td>{first}</td><td>{currency}</td><td>{}</td><td>{:.2}</td><td>{:.2}</td><td class=\"{}\">{:.2}</td></tr>",
        t.domains,
        t.billed,
        t.cost,
        if t.margin.is_sign_negative() { "outcome-failed" } else { "" },
        t.margin
    );
}

fn totals_section(b: &mut String, r: &ForecastReport, days: i64) {
    let Some(w) = r.window(days) else { return };
    b.push_str(
        "<section class=\"box\" id=\"forecast-totals\"><h2>Due, billed, cost and margin</h2>",
    );
    if w.by_currency.is_empty() {
        b.push_str("<p>No priced renewal is due in this window.</p></section>");
        return;
    }
    b.push_str("<table><tr><th>Registrar account</th><th>Currency</th><th>Domains due</th><th>WHMCS will invoice</th><th>Registrars will charge (converted)</th><th>Margin</th></tr>");
    for (currency, t) in &w.by_currency {
        totals_row(b, "<strong>all</strong>", currency.as_str(), t);
    }
    for (account, by_currency) in &w.by_account {
        for (currency, t) in by_currency {
            totals_row(b, &esc(account), currency.as_str(), t);
        }
    }
    b.push_str("</table><h3>Credit to keep at each registrar (its own currency)</h3><ul id=\"registrar-cost\">");
    for (account, by_currency) in &w.registrar_cost {
        for (currency, amount) in by_currency {
            let _ = write!(b, "<li>{}: {amount:.2} {currency}</li>", esc(account));
        }
    }
    b.push_str("</ul></section>");
}

fn chart_section(b: &mut String, r: &ForecastReport, days: i64) {
    let weeks = r.weeks_within(days);
    let currencies: std::collections::BTreeSet<_> = weeks
        .iter()
        .flat_map(|w| w.by_currency.keys().copied())
        .collect();
    b.push_str("<section class=\"box\" id=\"forecast-chart\"><h2>By week</h2>");
    if currencies.is_empty() {
        b.push_str("<p>Nothing to chart: no priced renewal in this window.</p>");
    }
    for currency in currencies {
        let _ = write!(b, "<h3>{currency}</h3>{}", weekly_chart(weeks, currency));
    }
    b.push_str("<p class=\"muted\">Blue: what WHMCS will invoice. Orange: what the registrars will charge. Red dot: a week that loses money. The last week may reach past the window.</p></section>");
}

fn loss_section(b: &mut String, r: &ForecastReport, days: i64) {
    let losses = r.loss_makers_within(days);
    b.push_str("<section class=\"box\" id=\"loss-makers\"><h2>Loss-makers</h2>");
    if losses.is_empty() {
        b.push_str("<p>No renewal in this window costs more than it bills.</p></section>");
        return;
    }
    b.push_str("<table><tr><th>Domain</th><th>Due</th><th>Registrar account</th><th>Billed</th><th>Cost</th><th>Loss</th></tr>");
    for list in losses.values() {
        for l in list {
            let _ = write!(
                b,
                "<tr><td>{} <span class=\"muted\"><code>{}</code></span></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"outcome-failed\">{}</td></tr>",
                esc(&l.domain.unicode()),
                esc(l.domain.ascii()),
                l.due,
                esc(&l.account),
                l.billed.round_cents(),
                l.cost,
                l.loss
            );
        }
    }
    b.push_str("</table><p class=\"muted\">The worst of the year's loss-makers per currency that fall in this window.</p></section>");
}

fn unpriced(b: &mut String, id: &str, what: &str, u: &Unpriced) {
    if u.count == 0 {
        return;
    }
    let names: Vec<String> = u.names.iter().map(|n| esc(&n.unicode())).collect();
    let more = u.count.saturating_sub(u.names.len() as u64);
    let _ = write!(
        b,
        "<li id=\"{id}\">{} renewal(s) {what}: {}{}</li>",
        u.count,
        names.join(", "),
        if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        }
    );
}

fn left_out_section(b: &mut String, r: &ForecastReport) {
    b.push_str("<section class=\"box\" id=\"left-out\"><h2>Left out of the sums</h2><ul>");
    unpriced(
        b,
        "no-rate",
        "without an exchange rate into the client currency",
        &r.no_rate,
    );
    unpriced(
        b,
        "no-cost",
        "without a registrar renewal price",
        &r.no_cost,
    );
    for (currency, t) in &r.overdue {
        let _ = write!(
            b,
            "<li>{} renewal(s) overdue (already invoiced): {:.2} {currency}</li>",
            t.domains, t.billed
        );
    }
    let _ = write!(
        b,
        "<li>{} renewal(s) due more than 365 days ahead</li>",
        r.beyond
    );
    b.push_str("</ul></section>");
}
