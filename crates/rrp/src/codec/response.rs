//! The response side: a single-pass parser over the plain-text `[RESPONSE] … EOF` body.
//!
//! The parser follows the SDKs' `responseparser` (see the protocol notes, section 2.2) but
//! does not copy values: every value is a span into the body the [`Response`] owns, and a
//! line only allocates when it introduces a property name not seen before. Property names
//! are normalised once per distinct raw spelling (upper-case, all whitespace removed).

use memchr::{memchr, memchr_iter};
use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

/// Description of the SDK `empty` template; `{url}` stands for the endpoint.
pub const EMPTY_DESCRIPTION_PREFIX: &str = "Empty API response. Probably unreachable API end point";
/// Description of the SDK `invalid` template.
pub const INVALID_DESCRIPTION: &str = "Invalid API response. Contact Support";
/// Description of the SDK `httperror` template.
pub const HTTP_ERROR_DESCRIPTION: &str = "Command failed due to HTTP communication error";
/// Description of a body that stops before its `EOF` line (no SDK template has one).
pub const TRUNCATED_DESCRIPTION: &str =
    "Truncated API response: the body ends without its EOF line";

/// Property names that carry paging data rather than rows.
const PAGING_KEYS: [&str; 5] = ["FIRST", "LAST", "COUNT", "TOTAL", "LIMIT"];
/// The CNR list metadata column (`property[column][n] = domain`).
const COLUMN_KEY: &str = "COLUMN";
/// Above this many distinct raw names the per-line lookup switches from a linear scan to
/// a hash map, so a hostile body with many names cannot make parsing quadratic.
const LINEAR_LOOKUP_LIMIT: usize = 24;

/// What the first digit of a response code says about the outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeClass {
    /// 2xx: the command was executed (this includes negative answers such as 219).
    Success,
    /// 4xx: a temporary failure; trying again later may succeed.
    Temporary,
    /// 5xx: a permanent failure; repeating the same command will fail again.
    Permanent,
    /// Any other code; treat as a protocol problem.
    Unknown,
}

impl CodeClass {
    pub fn of(code: u16) -> CodeClass {
        match code / 100 {
            2 => CodeClass::Success,
            4 => CodeClass::Temporary,
            5 => CodeClass::Permanent,
            _ => CodeClass::Unknown,
        }
    }
}

/// Which built-in SDK template replaced the real body, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Template {
    /// The body was empty (423).
    Empty,
    /// The body had no `code`/`description` (423). The original body is kept in
    /// [`Response::body`] so errors can quote its first bytes.
    Invalid,
    /// The request failed below HTTP or with a non-2xx status (421). Holds the
    /// transport's own error text.
    HttpError(String),
    /// The body stops before its closing `EOF` line: the connection was cut off and rows
    /// may be missing (421, like a transport error). The partial body is kept in
    /// [`Response::body`] for diagnostics; none of its values are exposed.
    Truncated,
}

/// A list page with fewer rows than its own `COUNT` (or `FIRST`..`LAST`) declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageShortfall {
    /// Data rows received (the longest data column).
    pub rows: u64,
    /// Rows the page says it holds.
    pub declared: u64,
}

/// A byte range of the body. `u32` keeps a 100k-row list's index small; bodies above
/// 4 GiB are rejected as invalid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    start: u32,
    end: u32,
}

impl Span {
    fn of(body: &str, start: usize, end: usize) -> Span {
        debug_assert!(end <= body.len());
        Span {
            start: start as u32,
            end: end as u32,
        }
    }

    fn get(self, body: &str) -> &str {
        &body[self.start as usize..self.end as usize]
    }
}

#[derive(Debug, Clone)]
struct ColumnData {
    /// Normalised name: upper-case, no whitespace.
    name: String,
    values: Vec<Span>,
}

/// One parsed API response. Owns the raw body; all accessors borrow from it.
#[derive(Clone)]
pub struct Response {
    body: String,
    code: u16,
    description: String,
    queuetime: f64,
    runtime: f64,
    template: Option<Template>,
    /// Top-level keys other than CODE/DESCRIPTION/QUEUETIME/RUNTIME (e.g. `PENDING`).
    top_level: Vec<(String, Span)>,
    columns: Vec<ColumnData>,
    column_index: HashMap<String, usize>,
}

impl Response {
    /// Parses a response body. Never fails: an empty body becomes the `empty` template and
    /// a body without `code`/`description` the `invalid` template (both code 423), exactly
    /// as the SDKs do; see [`Response::template`]. A body without its closing `EOF` line
    /// is never taken as an answer: it becomes the `truncated` template (421), whatever
    /// rows it holds, because a cut-off list looks exactly like a shorter one.
    pub fn parse(body: String) -> Response {
        Self::parse_with_endpoint(body, "")
    }

    /// Like [`Response::parse`], naming `endpoint` in the `empty` template's description.
    pub fn parse_with_endpoint(body: String, endpoint: &str) -> Response {
        if body.is_empty() {
            return Self::empty(endpoint);
        }
        if body.len() > u32::MAX as usize {
            return Self::invalid(String::new());
        }
        let parsed = parse_lines(&body);
        let complete = ends_with_eof(&body);
        let (Some(code), Some(description)) = (parsed.code, parsed.description) else {
            return if !complete && starts_with_response_marker(&body) {
                Self::truncated(body)
            } else {
                Self::invalid(body)
            };
        };
        let Ok(code) = code.get(&body).trim().parse::<u16>() else {
            return Self::invalid(body);
        };
        if !complete {
            return Self::truncated(body);
        }
        let description = description.get(&body).to_string();
        let number = |span: Option<Span>| {
            span.and_then(|s| s.get(&body).trim().parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        Response {
            code,
            description,
            queuetime: number(parsed.queuetime),
            runtime: number(parsed.runtime),
            template: None,
            top_level: parsed.top_level,
            column_index: parsed
                .columns
                .iter()
                .enumerate()
                .map(|(i, c)| (c.name.clone(), i))
                .collect(),
            columns: parsed.columns,
            body,
        }
    }

    /// The SDK `empty` template (423) naming the endpoint that sent nothing.
    pub fn empty(endpoint: &str) -> Response {
        let description = if endpoint.is_empty() {
            EMPTY_DESCRIPTION_PREFIX.to_string()
        } else {
            format!("{EMPTY_DESCRIPTION_PREFIX} {endpoint}")
        };
        Self::template_response(423, description, Template::Empty, String::new())
    }

    /// The SDK `invalid` template (423). `body` is kept for diagnostics.
    pub fn invalid(body: String) -> Response {
        Self::template_response(
            423,
            INVALID_DESCRIPTION.to_string(),
            Template::Invalid,
            body,
        )
    }

    /// The `truncated` template (421): `body` stopped before its `EOF` line. The body is
    /// kept for diagnostics (its length and first bytes go into the error).
    pub fn truncated(body: String) -> Response {
        Self::template_response(
            421,
            TRUNCATED_DESCRIPTION.to_string(),
            Template::Truncated,
            body,
        )
    }

    /// True when the body ended with its `EOF` line (every parsed answer; false for the
    /// templates).
    pub fn is_complete(&self) -> bool {
        self.template.is_none()
    }

    /// How the rows of this list page disagree with its own paging data, if they do:
    /// fewer rows than `COUNT` says, or than `FIRST`..`LAST` spans. `None` for a page
    /// that is whole, and for answers that declare no `COUNT`/`LAST` (not lists).
    pub fn page_shortfall(&self) -> Option<PageShortfall> {
        let rows = self.row_count() as u64;
        let declared = match (self.count(), self.first(), self.last()) {
            (Some(count), _, _) => count,
            // LAST is the index of the last row, so FIRST..=LAST holds LAST-FIRST+1 rows.
            (None, Some(first), Some(last)) if last >= first && rows > 0 => last - first + 1,
            _ => return None,
        };
        (rows < declared).then_some(PageShortfall { rows, declared })
    }

    /// The SDK `httperror` template (421) for a transport failure described by `detail`
    /// (e.g. `Could not resolve host: …`, `HTTP status 502`).
    pub fn http_error(detail: &str) -> Response {
        Self::template_response(
            421,
            HTTP_ERROR_DESCRIPTION.to_string(),
            Template::HttpError(detail.to_string()),
            String::new(),
        )
    }

    fn template_response(
        code: u16,
        description: String,
        template: Template,
        body: String,
    ) -> Response {
        Response {
            body,
            code,
            description,
            queuetime: 0.0,
            runtime: 0.0,
            template: Some(template),
            top_level: Vec::new(),
            columns: Vec::new(),
            column_index: HashMap::new(),
        }
    }

    /// The numeric result code, e.g. 200, 421, 545.
    pub fn code(&self) -> u16 {
        self.code
    }

    /// The result text, e.g. `Command completed successfully`.
    pub fn description(&self) -> &str {
        &self.description
    }

    pub fn class(&self) -> CodeClass {
        CodeClass::of(self.code)
    }

    /// 2xx.
    pub fn is_success(&self) -> bool {
        self.class() == CodeClass::Success
    }

    /// 4xx: temporary failure.
    pub fn is_temporary_error(&self) -> bool {
        self.class() == CodeClass::Temporary
    }

    /// 5xx: permanent failure.
    pub fn is_permanent_error(&self) -> bool {
        self.class() == CodeClass::Permanent
    }

    /// Seconds the command waited in the registrar queue (0 when not reported).
    pub fn queuetime(&self) -> f64 {
        self.queuetime
    }

    /// Seconds the command ran at the registrar (0 when not reported).
    pub fn runtime(&self) -> f64 {
        self.runtime
    }

    /// `Some` when this response was fabricated from an SDK template rather than parsed.
    pub fn template(&self) -> Option<&Template> {
        self.template.as_ref()
    }

    /// The raw body as received (empty for the `empty` and `httperror` templates).
    pub fn body(&self) -> &str {
        &self.body
    }

    /// A top-level key other than code/description/queuetime/runtime, e.g. `PENDING`
    /// (HEXONET TransferDomain). Case-insensitive.
    pub fn top_level(&self, key: &str) -> Option<&str> {
        self.top_level
            .iter()
            .rev()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, span)| span.get(&self.body))
    }

    /// The property column `name`, looked up by its normalised form, so
    /// `column("paiduntil date")` and `column("PAIDUNTILDATE")` are the same. Returns
    /// `None` for `COLUMN`, which is list metadata (see [`Response::declared_columns`]).
    pub fn column(&self, name: &str) -> Option<Column<'_>> {
        let key = normalise_name(name);
        if key == COLUMN_KEY {
            return None;
        }
        self.column_by_key(&key)
    }

    /// The first of `names` that exists, for properties spelled differently by CNR
    /// captures, CNR docs and HEXONET (`paiduntil date` / `PAIDUNTIL_DATE`).
    pub fn column_any(&self, names: &[&str]) -> Option<Column<'_>> {
        names.iter().find_map(|name| self.column(name))
    }

    fn column_by_key(&self, key: &str) -> Option<Column<'_>> {
        let index = *self.column_index.get(key)?;
        let data = &self.columns[index];
        Some(Column {
            name: &data.name,
            body: &self.body,
            values: &data.values,
        })
    }

    /// The first value of property `name` (the usual case for single-object responses).
    pub fn value(&self, name: &str) -> Option<&str> {
        self.column(name).and_then(|c| c.get(0))
    }

    /// The first value among the alternative spellings `names`.
    pub fn value_any(&self, names: &[&str]) -> Option<&str> {
        self.column_any(names).and_then(|c| c.get(0))
    }

    /// All values of property `name` in line order (empty when absent).
    pub fn values(&self, name: &str) -> Vec<&str> {
        self.column(name)
            .map(|c| c.iter().collect())
            .unwrap_or_default()
    }

    /// Names of every property column in order of first appearance, paging keys
    /// included, `COLUMN` excluded.
    pub fn column_names(&self) -> impl Iterator<Item = &str> {
        self.columns
            .iter()
            .map(|c| c.name.as_str())
            .filter(|name| *name != COLUMN_KEY)
    }

    /// Names of the data columns: like [`Response::column_names`] without the paging
    /// keys FIRST/LAST/COUNT/TOTAL/LIMIT.
    pub fn data_column_names(&self) -> impl Iterator<Item = &str> {
        self.column_names()
            .filter(|name| !PAGING_KEYS.contains(name))
    }

    /// The CNR `property[column][n]` metadata: the list's data column names as sent
    /// (e.g. `domain`, `domaincheck`).
    pub fn declared_columns(&self) -> Vec<&str> {
        self.column_by_key(COLUMN_KEY)
            .map(|c| c.iter().collect())
            .unwrap_or_default()
    }

    /// Number of rows: the length of the longest data column.
    pub fn row_count(&self) -> usize {
        self.data_columns()
            .map(|c| c.values.len())
            .max()
            .unwrap_or(0)
    }

    fn data_columns(&self) -> impl Iterator<Item = &ColumnData> {
        self.columns
            .iter()
            .filter(|c| c.name != COLUMN_KEY && !PAGING_KEYS.contains(&c.name.as_str()))
    }

    /// Row `index` across all data columns.
    pub fn record(&self, index: usize) -> Option<Record<'_>> {
        (index < self.row_count()).then_some(Record {
            response: self,
            index,
        })
    }

    /// All rows, in order.
    pub fn records(&self) -> impl Iterator<Item = Record<'_>> {
        (0..self.row_count()).map(move |index| Record {
            response: self,
            index,
        })
    }

    fn paging_number(&self, key: &str) -> Option<u64> {
        self.column_by_key(key)
            .and_then(|c| c.get(0))
            .and_then(|v| v.trim().parse().ok())
    }

    /// `FIRST`: 0-based index of this page's first row, as the server reported it.
    pub fn first(&self) -> Option<u64> {
        self.paging_number("FIRST")
    }
    /// `LAST`: index of this page's last row.
    pub fn last(&self) -> Option<u64> {
        self.paging_number("LAST")
    }
    /// `COUNT`: rows in this page.
    pub fn count(&self) -> Option<u64> {
        self.paging_number("COUNT")
    }
    /// `TOTAL`: rows matching the query across all pages.
    pub fn total(&self) -> Option<u64> {
        self.paging_number("TOTAL")
    }
    /// `LIMIT`: page size.
    pub fn limit(&self) -> Option<u64> {
        self.paging_number("LIMIT")
    }

    /// FIRST, else 0 when there are rows (SDK `getFirstRecordIndex`).
    pub fn first_record_index(&self) -> Option<u64> {
        self.first().or_else(|| (self.row_count() > 0).then_some(0))
    }

    /// LAST, else rows − 1 (SDK `getLastRecordIndex`).
    pub fn last_record_index(&self) -> Option<u64> {
        self.last()
            .or_else(|| (self.row_count() as u64).checked_sub(1))
    }

    /// TOTAL, else the row count (SDK `getRecordsTotalCount`).
    pub fn records_total(&self) -> u64 {
        self.total().unwrap_or(self.row_count() as u64)
    }

    /// LIMIT, else the row count (SDK `getRecordsLimitation`).
    pub fn records_limit(&self) -> u64 {
        self.limit().unwrap_or(self.row_count() as u64)
    }

    /// 1-based page number, `None` without rows or with LIMIT 0.
    pub fn current_page(&self) -> Option<u64> {
        let limit = self.records_limit();
        let first = self.first_record_index()?;
        (limit > 0).then(|| first / limit + 1)
    }

    /// Number of pages, `ceil(TOTAL / LIMIT)`; 0 with LIMIT 0.
    pub fn page_count(&self) -> u64 {
        let limit = self.records_limit();
        if limit == 0 {
            0
        } else {
            self.records_total().div_ceil(limit)
        }
    }

    /// The `FIRST` to request next, or `None` on the last page. A page reporting LIMIT 0
    /// (or no rows and no LIMIT) has no next page, so a walk can never loop forever.
    pub fn next_first(&self) -> Option<u64> {
        let limit = self.records_limit();
        if limit == 0 {
            return None;
        }
        let next = self.first().unwrap_or(0).checked_add(limit)?;
        (next < self.records_total()).then_some(next)
    }

    pub fn has_next_page(&self) -> bool {
        self.next_first().is_some()
    }

    /// The command for the next page of the list `command` produced, or `None` on the
    /// last page. Sets `FIRST` and `LIMIT` and always drops `LAST`: CNR rejects it with
    /// `503 Invalid attribute name; LAST`.
    pub fn next_page_command(&self, command: &super::Command) -> Option<super::Command> {
        let first = self.next_first()?;
        let mut next = command.clone();
        next.remove("LAST");
        next.set("FIRST", first);
        next.set("LIMIT", self.records_limit());
        Some(next)
    }
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("code", &self.code)
            .field("description", &self.description)
            .field("template", &self.template)
            .field("columns", &self.columns.len())
            .field("rows", &self.row_count())
            .finish()
    }
}

/// One property column: its values in line order.
#[derive(Clone, Copy)]
pub struct Column<'r> {
    name: &'r str,
    body: &'r str,
    values: &'r [Span],
}

impl<'r> Column<'r> {
    /// Normalised name (`PAIDUNTILDATE`).
    pub fn name(&self) -> &'r str {
        self.name
    }
    /// Value at `index`, `None` past the end.
    pub fn get(&self, index: usize) -> Option<&'r str> {
        let body = self.body;
        self.values.get(index).map(|span| span.get(body))
    }
    pub fn len(&self) -> usize {
        self.values.len()
    }
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
    pub fn iter(&self) -> impl Iterator<Item = &'r str> + 'r {
        let body = self.body;
        self.values.iter().map(move |span| span.get(body))
    }
}

impl fmt::Debug for Column<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Column")
            .field("name", &self.name)
            .field("values", &self.iter().collect::<Vec<_>>())
            .finish()
    }
}

/// One row of a list response.
#[derive(Clone, Copy)]
pub struct Record<'r> {
    response: &'r Response,
    index: usize,
}

impl<'r> Record<'r> {
    pub fn index(&self) -> usize {
        self.index
    }
    /// This row's value of column `name` (any spelling), `None` if the column is shorter.
    pub fn get(&self, name: &str) -> Option<&'r str> {
        self.response.column(name).and_then(|c| c.get(self.index))
    }
}

impl fmt::Debug for Record<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut map = f.debug_map();
        for column in self.response.data_columns() {
            if let Some(span) = column.values.get(self.index) {
                map.entry(&column.name, &span.get(&self.response.body));
            }
        }
        map.finish()
    }
}

/// Upper-case with all whitespace removed: the SDK normalisation of property names.
/// Borrows when the name is already normal.
pub fn normalise_name(name: &str) -> Cow<'_, str> {
    // Same whitespace notion as the slow path (`char::is_whitespace` includes \x0b, which
    // `is_ascii_whitespace` does not), so both paths agree on every input.
    let already_normal = name
        .bytes()
        .all(|b| b.is_ascii() && !b.is_ascii_lowercase() && !(b as char).is_whitespace());
    if already_normal {
        Cow::Borrowed(name)
    } else {
        Cow::Owned(
            name.chars()
                .filter(|c| !c.is_whitespace())
                .flat_map(char::to_uppercase)
                .collect(),
        )
    }
}

struct ParsedLines {
    code: Option<Span>,
    description: Option<Span>,
    queuetime: Option<Span>,
    runtime: Option<Span>,
    top_level: Vec<(String, Span)>,
    columns: Vec<ColumnData>,
}

/// Maps the raw spelling of a property name (a slice of the body) to its column, so a
/// line allocates only when it introduces a new spelling.
struct RawNameCache<'b> {
    last: Option<(&'b str, usize)>,
    entries: Vec<(&'b str, usize)>,
    map: HashMap<&'b str, usize>,
    by_normalised: HashMap<String, usize>,
}

impl<'b> RawNameCache<'b> {
    fn new() -> Self {
        RawNameCache {
            last: None,
            entries: Vec::new(),
            map: HashMap::new(),
            by_normalised: HashMap::new(),
        }
    }

    fn column_for(&mut self, raw: &'b str, columns: &mut Vec<ColumnData>) -> usize {
        if let Some((last_raw, index)) = self.last {
            if last_raw == raw {
                return index;
            }
        }
        let known = if self.entries.len() <= LINEAR_LOOKUP_LIMIT {
            self.entries
                .iter()
                .find(|(r, _)| *r == raw)
                .map(|(_, index)| *index)
        } else {
            self.map.get(raw).copied()
        };
        let index = match known {
            Some(index) => index,
            None => {
                let normalised = normalise_name(raw);
                let index = match self.by_normalised.get(normalised.as_ref()) {
                    Some(index) => *index,
                    None => {
                        columns.push(ColumnData {
                            name: normalised.to_string(),
                            values: Vec::new(),
                        });
                        let index = columns.len() - 1;
                        self.by_normalised.insert(normalised.into_owned(), index);
                        index
                    }
                };
                self.entries.push((raw, index));
                self.map.insert(raw, index);
                index
            }
        };
        self.last = Some((raw, index));
        index
    }
}

/// True when the last non-blank line is `EOF`, the line every answer ends with.
fn ends_with_eof(body: &str) -> bool {
    let trimmed = body.trim_end();
    let last_line = trimmed.rsplit('\n').next().unwrap_or(trimmed);
    last_line.trim() == "EOF"
}

/// True when the body opens like an answer (`[RESPONSE]`), so a body that lost its
/// `code`/`description` to a cut is reported as cut off rather than as garbage.
fn starts_with_response_marker(body: &str) -> bool {
    body.trim_start_matches('\u{feff}')
        .trim_start()
        .get(..10)
        .is_some_and(|head| head.eq_ignore_ascii_case("[RESPONSE]"))
}

fn is_blank(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

fn parse_lines(body: &str) -> ParsedLines {
    let bytes = body.as_bytes();
    let mut parsed = ParsedLines {
        code: None,
        description: None,
        queuetime: None,
        runtime: None,
        top_level: Vec::new(),
        columns: Vec::new(),
    };
    let mut cache = RawNameCache::new();
    let mut line_start = 0usize;
    let line_ends = memchr_iter(b'\n', bytes).chain(std::iter::once(bytes.len()));
    for newline in line_ends {
        if line_start > bytes.len() {
            break;
        }
        let mut line_end = newline;
        // `\r\n` counts as one line break (the SDKs replace it by `\n` first).
        if newline < bytes.len() && line_end > line_start && bytes[line_end - 1] == b'\r' {
            line_end -= 1;
        }
        parse_line(body, line_start, line_end, &mut parsed, &mut cache);
        line_start = newline + 1;
    }
    parsed
}

fn parse_line<'b>(
    body: &'b str,
    start: usize,
    end: usize,
    parsed: &mut ParsedLines,
    cache: &mut RawNameCache<'b>,
) {
    let bytes = body.as_bytes();
    let line = &bytes[start..end];
    // Lines without `=` (`[RESPONSE]`, `EOF`, blank lines) carry no data.
    let Some(eq) = memchr(b'=', line) else {
        return;
    };
    let mut key_start = start;
    let mut key_end = start + eq;
    while key_end > key_start && is_blank(bytes[key_end - 1]) {
        key_end -= 1;
    }
    while key_start < key_end && is_blank(bytes[key_start]) {
        key_start += 1;
    }
    if key_start == key_end {
        return;
    }
    let mut value_start = start + eq + 1;
    let mut value_end = end;
    while value_start < value_end && is_blank(bytes[value_start]) {
        value_start += 1;
    }
    while value_end > value_start && is_blank(bytes[value_end - 1]) {
        value_end -= 1;
    }
    let value = Span::of(body, value_start, value_end);
    let key = &bytes[key_start..key_end];

    const PROPERTY: &[u8] = b"property[";
    if key.len() > PROPERTY.len() && key[..PROPERTY.len()].eq_ignore_ascii_case(PROPERTY) {
        let name_start = key_start + PROPERTY.len();
        if let Some(close) = memchr(b']', &bytes[name_start..key_end]) {
            // `[` and `]` are ASCII, so these offsets are char boundaries.
            let raw_name = &body[name_start..name_start + close];
            let index = cache.column_for(raw_name, &mut parsed.columns);
            parsed.columns[index].values.push(value);
            return;
        }
    }
    let key = &body[key_start..key_end];
    let slot = if key.eq_ignore_ascii_case("CODE") {
        &mut parsed.code
    } else if key.eq_ignore_ascii_case("DESCRIPTION") {
        &mut parsed.description
    } else if key.eq_ignore_ascii_case("QUEUETIME") {
        &mut parsed.queuetime
    } else if key.eq_ignore_ascii_case("RUNTIME") {
        &mut parsed.runtime
    } else {
        parsed.top_level.push((key.to_uppercase(), value));
        return;
    };
    // A repeated top-level key keeps the last value, as the SDK's dict assignment does.
    *slot = Some(value);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::Command;

    fn parse(text: &str) -> Response {
        Response::parse(text.to_string())
    }

    #[test]
    fn parses_cnr_lower_case_with_spaced_names() {
        let r = parse(
            "[RESPONSE]\ncode = 200\ndescription = Command completed successfully\n\
             queuetime = 0\nruntime = 0.046\nproperty[paiduntil date][0] = 2025-05-28 22:17:44.0\n\
             property[status][0] = ACTIVE\nproperty[status][1] = clientTransferProhibited\nEOF\n",
        );
        assert_eq!(r.code(), 200);
        assert_eq!(r.description(), "Command completed successfully");
        assert!(r.is_success());
        assert_eq!(r.runtime(), 0.046);
        assert_eq!(r.value("PAIDUNTILDATE"), Some("2025-05-28 22:17:44.0"));
        assert_eq!(r.value("paiduntil date"), Some("2025-05-28 22:17:44.0"));
        assert_eq!(
            r.values("status"),
            vec!["ACTIVE", "clientTransferProhibited"]
        );
        assert!(r.template().is_none());
    }

    #[test]
    fn parses_hexonet_upper_case_crlf_without_spaces() {
        let r = parse("[RESPONSE]\r\nPROPERTY[X][0]=a=b \r\nDESCRIPTION=ok\r\nCODE=210\r\nEOF\r\n");
        assert_eq!(r.code(), 210);
        assert_eq!(r.value("x"), Some("a=b"));
        assert_eq!(r.queuetime(), 0.0);
        assert_eq!(r.runtime(), 0.0);
    }

    #[test]
    fn index_is_ignored_and_values_kept_in_line_order() {
        let r = parse("code=200\ndescription=x\nproperty[d][5]=five\nproperty[D][0]=zero\nEOF\n");
        assert_eq!(r.values("d"), vec!["five", "zero"]);
    }

    #[test]
    fn column_metadata_is_not_data() {
        let r = parse(
            "code=200\ndescription=x\nproperty[column][0]=domain\nproperty[column][1]=domain idn\n\
             property[domain][0]=a.com\nproperty[count][0]=1\nEOF\n",
        );
        assert_eq!(r.declared_columns(), vec!["domain", "domain idn"]);
        assert!(r.column("column").is_none());
        assert_eq!(r.row_count(), 1);
        assert_eq!(r.data_column_names().collect::<Vec<_>>(), vec!["DOMAIN"]);
        assert_eq!(
            r.column_names().collect::<Vec<_>>(),
            vec!["DOMAIN", "COUNT"]
        );
    }

    #[test]
    fn empty_and_invalid_bodies_become_templates() {
        let r = Response::parse_with_endpoint(String::new(), "https://x/api/call.cgi");
        assert_eq!(r.code(), 423);
        assert_eq!(
            r.description(),
            "Empty API response. Probably unreachable API end point https://x/api/call.cgi"
        );
        assert_eq!(r.template(), Some(&Template::Empty));

        let r = parse("<html>502 Bad Gateway</html>");
        assert_eq!(r.code(), 423);
        assert_eq!(r.description(), "Invalid API response. Contact Support");
        assert_eq!(r.template(), Some(&Template::Invalid));
        assert_eq!(r.body(), "<html>502 Bad Gateway</html>");

        let r = parse("code = abc\ndescription = x\n");
        assert_eq!(r.template(), Some(&Template::Invalid));
    }

    #[test]
    fn normalisation_removes_every_kind_of_whitespace() {
        assert_eq!(normalise_name("paiduntil date"), "PAIDUNTILDATE");
        assert_eq!(normalise_name("A\u{b}B"), "AB");
        assert_eq!(normalise_name("a\tb\u{a0}c"), "ABC");
        assert!(matches!(normalise_name("X-FEE-AMOUNT"), Cow::Borrowed(_)));
    }

    #[test]
    fn top_level_extra_keys_are_kept() {
        let r =
            parse("CODE = 200\nDESCRIPTION = ok; domain transfer initiated\nPENDING = 1\nEOF\n");
        assert_eq!(r.top_level("pending"), Some("1"));
    }

    #[test]
    fn paging_walk_never_sends_last() {
        let r = parse(
            "code=200\ndescription=ok\nproperty[first][0]=0\nproperty[last][0]=1\n\
             property[count][0]=2\nproperty[total][0]=5\nproperty[limit][0]=2\n\
             property[domain][0]=a.com\nproperty[domain][1]=b.com\nEOF\n",
        );
        let cmd = Command::new("QueryDomainList")
            .with("LAST", 1u32)
            .with("FIRST", 0u32);
        let next = r.next_page_command(&cmd).expect("a second page");
        assert_eq!(next.get("FIRST"), Some("2"));
        assert_eq!(next.get("LIMIT"), Some("2"));
        assert!(!next.contains("LAST"));
        assert_eq!(r.current_page(), Some(1));
        assert_eq!(r.page_count(), 3);
    }

    #[test]
    fn limit_zero_ends_the_walk() {
        let r = parse(
            "code=200\ndescription=ok\nproperty[count][0]=0\nproperty[limit][0]=0\n\
             property[total][0]=1725494\nEOF\n",
        );
        assert!(!r.has_next_page());
        assert_eq!(r.page_count(), 0);
    }

    #[test]
    fn many_distinct_names_use_the_map_path() {
        let mut body = String::from("code=200\ndescription=ok\n");
        for i in 0..200 {
            body.push_str(&format!(
                "property[name {i}][0]=v{i}\nproperty[NAME{i}][1]=w{i}\n"
            ));
        }
        body.push_str("EOF\n");
        let r = Response::parse(body);
        assert_eq!(r.values("name 150"), vec!["v150", "w150"]);
        assert_eq!(r.column_names().count(), 200);
    }

    #[test]
    fn records_follow_rows() {
        let r = parse(
            "code=200\ndescription=ok\nproperty[domain][0]=a.com\nproperty[domain][1]=b.com\n\
             property[renewalmode][0]=AUTORENEW\nEOF\n",
        );
        let rows: Vec<_> = r.records().collect();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].get("domain"), Some("b.com"));
        assert_eq!(rows[1].get("renewalmode"), None);
        assert_eq!(rows[0].get("RENEWALMODE"), Some("AUTORENEW"));
    }
}
