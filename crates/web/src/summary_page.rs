//! `GET /`: the summary of open cases by kind (counts, money at stake per currency, the
//! few cases with the most at stake in each kind, the last run). Its size and cost do not
//! grow with the number of cases: the counts and sums are one `GROUP BY`, and each kind
//! shows at most [`TOP_PER_KIND`] cases; the whole list is `/cases` ([`crate::case_list`]).

use crate::auth::SessionInfo;
use crate::html::{csrf_field, esc, page, Frame};
use crate::pages::time;
use crate::{Admin, HtmlError, WebError, WebState};
use axum::extract::{Query, State};
use axum::response::Html;
use domwatch_core::Money;
use domwatch_store::{CaseState, RunRecord};
use serde::Deserialize;
use std::fmt::Write;

/// Cases shown per kind on the summary: the ones with the most money at stake.
pub(crate) const TOP_PER_KIND: u32 = 5;

/// Sums per currency, e.g. `120.00 EUR, 35.50 USD`; `—` for none.
pub(crate) fn format_moneys(sums: &[Money]) -> String {
    if sums.is_empty() {
        return "—".to_string();
    }
    sums.iter()
        .map(|m| format!("{:.2} {}", m.amount, esc(m.currency.as_str())))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `27198` as `27,198`.
pub(crate) fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(d);
    }
    if n < 0 {
        out.insert(0, '-');
    }
    out
}

fn last_run_line(run: Option<&RunRecord>) -> String {
    let Some(run) = run else {
        return "<p class=\"muted\" id=\"last-run\">No monitoring run yet: the first one starts with <code>domwatch serve</code> or <code>domwatch check</code>.</p>".into();
    };
    let took = run
        .finished_at
        .map(|f| {
            format!(
                ", took {:.1} s",
                (f - run.started_at).num_milliseconds() as f64 / 1000.0
            )
        })
        .unwrap_or_default();
    let status = match (run.status.as_str(), &run.error) {
        ("failed", Some(e)) => format!(
            "<strong class=\"outcome-failed\">failed</strong>: {}",
            esc(e)
        ),
        (s, _) => format!("<strong>{}</strong>", esc(s)),
    };
    format!(
        "<p id=\"last-run\">Last run #{}: {}, {status}{took}.</p>",
        run.id,
        time(run.started_at)
    )
}

#[derive(Debug, Deserialize)]
pub(crate) struct DashboardQuery {
    /// Set after "Check now" was pressed.
    check: Option<String>,
}

fn check_now_button(state: &WebState, session: &SessionInfo, query: &DashboardQuery) -> String {
    if state.check_now.is_none() {
        return String::new();
    }
    let mut b = format!(
        "<form method=\"post\" action=\"/check\">{}<button type=\"submit\" name=\"check\">Check now</button></form>",
        csrf_field(session)
    );
    if query.check.as_deref() == Some("requested") {
        b.push_str("<p class=\"muted\" id=\"check-requested\">A check was requested: it starts as soon as the running one (if any) is done; with several instances the leader runs it within a few seconds. Reload in a moment.</p>");
    }
    b
}

pub(crate) async fn dashboard(
    State(state): State<WebState>,
    admin: Admin,
    Query(query): Query<DashboardQuery>,
) -> Result<Html<String>, HtmlError> {
    let fail = |e: domwatch_store::StoreError| HtmlError(WebError::internal(e));
    let store = &state.engine.store;
    let summary = store
        .case_summary(Some(CaseState::Open))
        .await
        .map_err(fail)?;
    let runs = store.runs(1).await.map_err(fail)?;
    let last = runs.first();
    let frame = Frame {
        session: Some(&admin.session),
        open_access: state.auth.is_open_access(),
    };
    let mut body = String::new();
    if summary.total == 0 {
        match last {
            Some(run) if run.status == "failed" => body.push_str(
                "<h1>No open cases</h1><p class=\"warn\">But the last monitoring run failed, so problems may be unseen.</p>",
            ),
            Some(_) => body.push_str(
                "<div class=\"fine\" id=\"everything-fine\"><h1>Everything is fine</h1><p>Billing and every registrar agree: no open cases.</p></div>",
            ),
            None => body.push_str("<h1>No open cases</h1>"),
        }
        body.push_str(&last_run_line(last));
        body.push_str(&check_now_button(&state, &admin.session, &query));
        return Ok(Html(page("Everything is fine", &frame, &body)));
    }

    let _ = write!(
        body,
        "<h1>{} open case{}</h1>",
        thousands(summary.total),
        if summary.total == 1 { "" } else { "s" }
    );
    body.push_str(&last_run_line(last));
    body.push_str(&check_now_button(&state, &admin.session, &query));
    let _ = write!(
        body,
        "<p>Money at stake per renewal: <strong id=\"total-at-stake\">{}</strong></p>",
        format_moneys(&summary.at_stake)
    );
    body.push_str(
        "<p><a class=\"button\" id=\"case-list\" href=\"/cases\">Search and filter all cases</a> \
         <a class=\"button\" id=\"download-csv\" href=\"/api/cases.csv\" download>Download CSV</a> \
         <span class=\"muted\">(open cases; <a href=\"/api/cases.csv?state=all\" download>all cases</a>)</span></p>",
    );
    let top = store
        .top_cases_per_kind(Some(CaseState::Open), TOP_PER_KIND)
        .await
        .map_err(fail)?;
    for kind in &summary.kinds {
        let _ = write!(
            body,
            "<section class=\"kind\" id=\"kind-{k}\"><h2>{title} <span class=\"badge count\">{n}</span></h2>\
             <p class=\"muted\">At stake: <span class=\"at-stake\">{sum}</span></p>\
             <table><tr><th>Case</th><th>Domain</th><th>Summary</th><th>At stake</th><th>Open since</th></tr>",
            k = kind.kind.as_str(),
            title = esc(kind.kind.title()),
            n = kind.count,
            sum = format_moneys(&kind.at_stake),
        );
        for c in top.iter().filter(|c| c.kind == kind.kind) {
            let _ = write!(
                body,
                "<tr><td><a class=\"case-link\" href=\"/cases/{id}\">#{id}</a></td><td><a href=\"/cases/{id}\">{domain}</a></td><td>{summary}</td><td>{stake}</td><td>{since}</td></tr>",
                id = c.id,
                domain = esc(&c.domain.display()),
                summary = esc(&c.summary),
                stake = c.at_stake.map(|m| esc(&m.to_string())).unwrap_or_default(),
                since = time(c.opened_at),
            );
        }
        body.push_str("</table>");
        if kind.count > i64::from(TOP_PER_KIND) {
            let _ = write!(
                body,
                "<p><a class=\"kind-all\" href=\"/cases?kind={k}\">All {n} cases of this kind</a> <span class=\"muted\">(above: the {top} with the most at stake)</span></p>",
                k = kind.kind.as_str(),
                n = thousands(kind.count),
                top = TOP_PER_KIND,
            );
        }
        body.push_str("</section>");
    }
    Ok(Html(page("Open cases", &frame, &body)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_are_separated() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(27198), "27,198");
        assert_eq!(thousands(1_000_000), "1,000,000");
        assert_eq!(thousands(-1234), "-1,234");
    }
}
