//! `GET /cases`: every case, a page at a time, with a filter form (a plain GET form, no
//! script), sort links and page links. The parameters are those of `/api/cases`
//! ([`crate::case_params`]); filtering, sorting and paging happen in SQL.

use crate::case_params::{CaseParams, Defaults};
use crate::html::{esc, page, Frame};
use crate::pages::time;
use crate::summary_page::thousands;
use crate::{Admin, HtmlError, WebError, WebState};
use axum::extract::{RawQuery, State};
use axum::response::Html;
use domwatch_core::detect::CaseKind;
use domwatch_store::{CasePage, CaseSort};
use std::fmt::Write;

const HTML_DEFAULTS: Defaults = Defaults {
    sort: CaseSort::AtStake,
    per_page: 50,
};

/// Page sizes offered by the form (any up to the store's cap works in the URL).
const PAGE_SIZES: [u32; 4] = [25, 50, 100, 200];

pub(crate) async fn list(
    State(state): State<WebState>,
    admin: Admin,
    RawQuery(raw): RawQuery,
) -> Result<Html<String>, HtmlError> {
    let params = CaseParams::parse(raw.as_deref(), HTML_DEFAULTS).map_err(HtmlError)?;
    let found = state
        .engine
        .store
        .case_page(&params.query)
        .await
        .map_err(|e| HtmlError(WebError::internal(e)))?;
    let mut b = String::from("<h1>Cases</h1>");
    filter_form(&mut b, &params);
    let _ = write!(
        b,
        "<p id=\"case-count\"><strong>{total}</strong> case{s} match · page {page} of {pages} · \
         <a id=\"download-filtered-csv\" href=\"{csv}\" download>Download these as CSV</a></p>",
        total = thousands(found.total),
        s = if found.total == 1 { "" } else { "s" },
        page = found.page,
        pages = found.pages(),
        csv = esc(&params.link("/api/cases.csv", &["page", "per_page", "sort"], &[])),
    );
    fix_all_link(&mut b, &params, found.total);
    if found.cases.is_empty() {
        b.push_str("<p id=\"no-cases\">No case on this page matches these filters.</p>");
    } else {
        case_table(&mut b, &params, &found);
    }
    pager(&mut b, &params, &found);
    let frame = Frame {
        session: Some(&admin.session),
        open_access: state.auth.is_open_access(),
    };
    Ok(Html(page("Cases", &frame, &b)))
}

/// "Fix all N shown": the plan of a bulk fix of every open case the filters select (every
/// page), offered once the list is narrowed to kinds.
fn fix_all_link(b: &mut String, params: &CaseParams, total: i64) {
    let open = params.query.state == Some(domwatch_store::CaseState::Open);
    if params.query.kinds.is_empty() || !open || total == 0 {
        return;
    }
    let _ = write!(
        b,
        "<p><a class=\"button fix\" id=\"fix-all\" href=\"{}\">Fix all {} shown…</a> (shows the plan first)</p>",
        esc(&params.link("/cases/bulk-fix", &["page", "per_page", "sort"], &[])),
        thousands(total)
    );
}

/// `<option>`s with the one whose value is `current` selected.
fn options(b: &mut String, choices: &[(&str, &str)], current: &str) {
    for (value, label) in choices {
        let _ = write!(
            b,
            "<option value=\"{v}\"{sel}>{l}</option>",
            v = esc(value),
            sel = if *value == current { " selected" } else { "" },
            l = esc(label),
        );
    }
}

fn filter_form(b: &mut String, params: &CaseParams) {
    b.push_str("<form class=\"filters\" id=\"filters\" method=\"get\" action=\"/cases\">");
    b.push_str("<label>State <select name=\"state\">");
    let state = match params.value("state") {
        "" => "open",
        s => s,
    };
    options(
        b,
        &[("open", "open"), ("resolved", "resolved"), ("all", "all")],
        state,
    );
    b.push_str("</select></label> <label>Kind <select name=\"kind\"><option value=\"\">every kind</option>");
    let kinds: Vec<(&str, &str)> = CaseKind::ALL
        .iter()
        .map(|k| (k.as_str(), k.title()))
        .collect();
    options(b, &kinds, params.value("kind"));
    b.push_str("</select></label> ");
    for (name, label, extra) in [
        (
            "q",
            "Domain",
            " type=\"search\" placeholder=\"müller or xn--mller\"",
        ),
        ("account", "Registrar account", ""),
        ("tld", "TLD", " size=\"8\" placeholder=\"de, co.uk\""),
        (
            "client",
            "WHMCS client",
            " type=\"number\" min=\"1\" size=\"8\"",
        ),
        (
            "currency",
            "Currency",
            " size=\"4\" maxlength=\"3\" placeholder=\"EUR\"",
        ),
        (
            "min_at_stake",
            "At stake at least",
            " size=\"8\" inputmode=\"decimal\"",
        ),
    ] {
        let _ = write!(
            b,
            "<label>{label} <input name=\"{name}\" value=\"{value}\"{extra}></label> ",
            value = esc(params.value(name)),
        );
    }
    b.push_str("<label>Sort <select name=\"sort\">");
    let sorts = [
        ("at_stake", "most at stake"),
        ("oldest", "open longest"),
        ("newest", "newest"),
        ("domain", "domain"),
        ("kind", "kind"),
    ];
    options(b, &sorts, params.query.sort.as_str());
    b.push_str("</select></label> <label>Per page <select name=\"per_page\">");
    let sizes: Vec<(String, String)> = PAGE_SIZES
        .iter()
        .map(|n| (n.to_string(), n.to_string()))
        .collect();
    let sizes: Vec<(&str, &str)> = sizes
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    options(b, &sizes, &params.query.per_page.to_string());
    b.push_str(
        "</select></label> <button type=\"submit\">Show</button> <a href=\"/cases\">Clear filters</a></form>",
    );
}

fn case_table(b: &mut String, params: &CaseParams, found: &CasePage) {
    let sort_link = |sort: CaseSort, label: &str| {
        format!(
            "<a href=\"{}\">{label}</a>",
            esc(&params.link("/cases", &["page"], &[("sort", sort.as_str().into())]))
        )
    };
    let _ = write!(
        b,
        "<table id=\"cases\"><tr><th>Case</th><th>Kind</th><th>{domain}</th><th>Account</th><th>Client</th><th>Summary</th><th>{stake}</th><th>{since}</th></tr>",
        domain = sort_link(CaseSort::Domain, "Domain"),
        stake = sort_link(CaseSort::AtStake, "At stake"),
        since = sort_link(CaseSort::Oldest, "Open since"),
    );
    for c in &found.cases {
        let client = c
            .finding
            .client_id
            .map(|id| format!("<a href=\"/cases?client={id}\">#{id}</a>"))
            .unwrap_or_default();
        let _ = write!(
            b,
            "<tr class=\"case-row\"><td><a class=\"case-link\" href=\"/cases/{id}\">#{id}</a></td><td>{kind}</td><td><a href=\"/cases/{id}\">{domain}</a></td><td>{account}</td><td>{client}</td><td>{summary}</td><td>{stake}</td><td>{since}{state}</td></tr>",
            id = c.id,
            kind = esc(c.kind.title()),
            domain = esc(&c.domain.display()),
            account = esc(c.registrar_account.as_deref().unwrap_or("")),
            summary = esc(&c.summary),
            stake = c.at_stake.map(|m| esc(&m.to_string())).unwrap_or_default(),
            since = time(c.opened_at),
            state = if c.state == domwatch_store::CaseState::Resolved { " <span class=\"badge\">resolved</span>" } else { "" },
        );
    }
    b.push_str("</table>");
}

/// First, previous, next and last page links; only those that lead somewhere.
fn pager(b: &mut String, params: &CaseParams, found: &CasePage) {
    let pages = found.pages();
    if pages <= 1 && found.page <= 1 {
        return;
    }
    b.push_str("<nav class=\"pager\" id=\"pager\">");
    let link = |b: &mut String, page: u32, rel: &str, label: &str| {
        let _ = write!(
            b,
            "<a rel=\"{rel}\" href=\"{}\">{label}</a> ",
            esc(&params.page_link("/cases", page))
        );
    };
    if found.page > 1 {
        link(b, 1, "first", "« first");
        link(b, (found.page - 1).min(pages), "prev", "‹ previous");
    }
    let _ = write!(b, "<span>page {} of {}</span> ", found.page, pages);
    if let Some(next) = found.next_page() {
        link(b, next, "next", "next ›");
        link(b, pages, "last", "last »");
    }
    b.push_str("</nav>");
}
