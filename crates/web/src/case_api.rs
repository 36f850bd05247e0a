//! `GET /api/cases` and `GET /api/cases.csv`: the case list as JSON (one page with its
//! total and the link to the next, or the whole list as before) and as a CSV download that
//! is written in batches while it is sent.

use crate::case_params::{CaseParams, Defaults};
use crate::{Admin, JsonError, WebError, WebState};
use axum::body::{Body, Bytes};
use axum::extract::{RawQuery, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use axum::Json;
use domwatch_core::detect::CaseKind;
use domwatch_store::{CaseQuery, CaseSort, Store};
use futures::StreamExt;
use serde_json::json;

/// Without a sort the API lists by kind and domain, as it always did.
const API_DEFAULTS: Defaults = Defaults {
    sort: CaseSort::Kind,
    per_page: 100,
};

/// Cases per database read while a CSV export is sent.
const CSV_BATCH: u32 = 1000;

/// Without `page` or `per_page`: the whole filtered list as a JSON array (the answer
/// before paging existed). With either: `{"cases": [...], "total", "page", "per_page",
/// "pages", "next"}`, `next` being the path of the next page or null.
pub(crate) async fn cases(
    State(state): State<WebState>,
    _admin: Admin,
    RawQuery(raw): RawQuery,
) -> Result<Response, JsonError> {
    let params = CaseParams::parse(raw.as_deref(), API_DEFAULTS).map_err(JsonError)?;
    let store = &state.engine.store;
    let internal = |e| JsonError(WebError::internal(e));
    if !params.paged {
        let cases = whole_list(store, &params.query).await.map_err(internal)?;
        return Ok(Json(cases).into_response());
    }
    let page = store.case_page(&params.query).await.map_err(internal)?;
    let next = page.next_page().map(|n| params.page_link("/api/cases", n));
    Ok(Json(json!({
        "cases": page.cases,
        "total": page.total,
        "page": page.page,
        "per_page": page.per_page,
        "pages": page.pages(),
        "next": next,
    }))
    .into_response())
}

/// Every case the query selects, in its sort order: in keyset batches for the default
/// order (kind, domain), else page by page.
async fn whole_list(
    store: &Store,
    query: &CaseQuery,
) -> Result<Vec<domwatch_store::CaseRecord>, domwatch_store::StoreError> {
    let mut all: Vec<domwatch_store::CaseRecord> = Vec::new();
    if query.sort == CaseSort::Kind {
        loop {
            let after = all.last().map(|c| (c.kind, c.domain.ascii().to_string()));
            let after = after.as_ref().map(|(k, d)| (*k, d.as_str()));
            let batch = store.cases_after(query, after, CSV_BATCH).await?;
            let done = batch.len() < CSV_BATCH as usize;
            all.extend(batch);
            if done {
                return Ok(all);
            }
        }
    }
    let mut query = CaseQuery {
        page: 1,
        per_page: domwatch_store::MAX_PER_PAGE,
        ..query.clone()
    };
    loop {
        let page = store.case_page(&query).await?;
        let next = page.next_page();
        all.extend(page.cases);
        match next {
            Some(n) => query.page = n,
            None => return Ok(all),
        }
    }
}

/// `GET /api/cases.csv`: the whole filtered list (same filters as `/api/cases`; `sort`
/// and paging do not apply: the file is ordered by kind and domain, like the CLI's).
pub(crate) async fn cases_csv(
    State(state): State<WebState>,
    _admin: Admin,
    RawQuery(raw): RawQuery,
) -> Response {
    let params = match CaseParams::parse(raw.as_deref(), API_DEFAULTS) {
        Ok(p) if p.paged => {
            return JsonError(WebError::new(
                axum::http::StatusCode::BAD_REQUEST,
                "query parameter `page`/`per_page`: the CSV export is the whole filtered list; leave them out",
            ))
            .into_response()
        }
        Ok(p) => p,
        Err(e) => return JsonError(e).into_response(),
    };
    let store = state.engine.store.clone();
    // The first batch is read before answering, so a database error is still a 500.
    let first = match store.cases_after(&params.query, None, CSV_BATCH).await {
        Ok(batch) => batch,
        Err(e) => return JsonError(WebError::internal(e)).into_response(),
    };
    let mut head = String::new();
    crate::export::push_case_header(&mut head);
    let export = Export {
        store,
        query: params.query,
        pending: Some(first),
        after: None,
    };
    let rest = futures::stream::unfold(export, Export::next_chunk);
    let body = futures::stream::once(async move { Ok(Bytes::from(head)) }).chain(rest);
    (
        [
            (CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                CONTENT_DISPOSITION,
                "attachment; filename=\"domwatch-cases.csv\"",
            ),
        ],
        Body::from_stream(body),
    )
        .into_response()
}

/// A CSV export in progress: the batch in hand, and where the next one starts.
struct Export {
    store: Store,
    query: CaseQuery,
    pending: Option<Vec<domwatch_store::CaseRecord>>,
    after: Option<(CaseKind, String)>,
}

impl Export {
    /// The rows of the next batch as one chunk; `None` when the list is done. A database
    /// error ends the download early (the client sees a cut-off file) and is logged.
    async fn next_chunk(mut self) -> Option<(Result<Bytes, std::io::Error>, Export)> {
        let batch = match self.pending.take() {
            Some(batch) => batch,
            None => {
                let after = self.after.as_ref().map(|(k, d)| (*k, d.as_str()));
                match self.store.cases_after(&self.query, after, CSV_BATCH).await {
                    Ok(batch) => batch,
                    Err(e) => {
                        tracing::error!(error = %e, "CSV export cut off by a database error");
                        return Some((Err(std::io::Error::other(e.to_string())), self.ended()));
                    }
                }
            }
        };
        let last = batch.last()?;
        self.after = Some((last.kind, last.domain.ascii().to_string()));
        let mut out = String::with_capacity(160 * batch.len());
        for c in &batch {
            crate::export::push_case_row(&mut out, c);
        }
        if batch.len() < CSV_BATCH as usize {
            return Some((Ok(Bytes::from(out)), self.ended()));
        }
        Some((Ok(Bytes::from(out)), self))
    }

    /// An export with nothing more to read: its next call ends the stream.
    fn ended(self) -> Export {
        Export {
            pending: Some(Vec::new()),
            ..self
        }
    }
}
