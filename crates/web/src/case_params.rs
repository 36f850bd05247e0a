//! The query parameters of a case list, shared by `/cases`, `/api/cases` and
//! `/api/cases.csv`: parsed into a [`CaseQuery`] with a 400 that names the parameter, and
//! written back into links (other pages, other sorts, the CSV of the same list).

use crate::WebError;
use axum::http::StatusCode;
use domwatch_core::detect::CaseKind;
use domwatch_core::{search_fragment, Currency};
use domwatch_store::{CaseQuery, CaseSort, CaseState, MAX_PER_PAGE};
use rust_decimal::Decimal;
use std::str::FromStr;

/// Every parameter a case list understands, in the order links write them.
pub(crate) const PARAMETERS: [&str; 11] = [
    "state",
    "kind",
    "account",
    "tld",
    "client",
    "currency",
    "min_at_stake",
    "q",
    "sort",
    "page",
    "per_page",
];

/// A parsed case list request: the store query, whether paging was asked for, and the
/// parameters as given (minus empty ones) for links.
#[derive(Debug, Clone)]
pub(crate) struct CaseParams {
    pub query: CaseQuery,
    /// `page` or `per_page` was given.
    pub paged: bool,
    pairs: Vec<(String, String)>,
}

/// What a list shows when the request does not say.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Defaults {
    pub sort: CaseSort,
    pub per_page: u32,
}

fn bad(parameter: &str, message: impl std::fmt::Display) -> WebError {
    WebError::new(
        StatusCode::BAD_REQUEST,
        format!("query parameter `{parameter}`: {message}"),
    )
}

/// `value` shown in an error, cut short and with control characters dropped.
fn shown(value: &str) -> String {
    let mut s: String = value.chars().filter(|c| !c.is_control()).take(60).collect();
    if value.chars().count() > 60 {
        s.push('…');
    }
    s
}

impl CaseParams {
    /// Parses a raw query string. Empty values count as absent (a GET form sends every
    /// field); an unknown parameter is refused, so a typo never silently widens a list.
    pub fn parse(raw: Option<&str>, defaults: Defaults) -> Result<CaseParams, WebError> {
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_str(raw.unwrap_or("")).map_err(|e| {
                WebError::new(
                    StatusCode::BAD_REQUEST,
                    format!("the query string is not URL-encoded: {e}"),
                )
            })?;
        let pairs: Vec<(String, String)> = pairs
            .into_iter()
            .map(|(k, v)| (k, v.trim().to_string()))
            .filter(|(_, v)| !v.is_empty())
            .collect();
        let mut query = CaseQuery {
            sort: defaults.sort,
            per_page: defaults.per_page,
            ..CaseQuery::default()
        };
        let mut paged = false;
        for (key, value) in &pairs {
            match key.as_str() {
                "state" => query.state = parse_state(value)?,
                "kind" => {
                    for k in value.split(',').map(str::trim).filter(|k| !k.is_empty()) {
                        query.kinds.push(parse_kind(k)?);
                    }
                }
                "account" => query.account = Some(value.clone()),
                "tld" => query.tld = Some(parse_tld(value)?),
                "client" => query.client_id = Some(positive("client", value)?),
                "currency" => {
                    let currency =
                        Currency::from_str(&value.to_ascii_uppercase()).map_err(|_| {
                            bad(
                                "currency",
                                format!(
                                    "`{}` is not a three-letter ISO code such as EUR or USD",
                                    shown(value)
                                ),
                            )
                        })?;
                    query.currency = Some(currency);
                }
                "min_at_stake" => query.min_at_stake = Some(parse_amount(value)?),
                "q" => {
                    let fragment = search_fragment(value).map_err(|e| bad("q", e))?;
                    query.search = Some(fragment);
                }
                "sort" => {
                    query.sort = CaseSort::parse(value).ok_or_else(|| {
                        let sorts: Vec<&str> = CaseSort::ALL.iter().map(|s| s.as_str()).collect();
                        bad(
                            "sort",
                            format!("`{}` is unknown; use {}", shown(value), sorts.join(", ")),
                        )
                    })?;
                }
                "page" => {
                    paged = true;
                    query.page = u32::try_from(positive("page", value)?)
                        .map_err(|_| bad("page", "too large"))?;
                }
                "per_page" => {
                    paged = true;
                    let n = positive("per_page", value)?;
                    if n > i64::from(MAX_PER_PAGE) {
                        return Err(bad("per_page", format!("at most {MAX_PER_PAGE}")));
                    }
                    query.per_page = n as u32;
                }
                other => {
                    return Err(bad(
                        &shown(other),
                        format!("unknown; known parameters: {}", PARAMETERS.join(", ")),
                    ))
                }
            }
        }
        Ok(CaseParams {
            query,
            paged,
            pairs,
        })
    }

    /// The value given for `key` (the last one), for a form's fields.
    pub fn value(&self, key: &str) -> &str {
        self.pairs
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }

    /// `path?…`: these parameters without those in `drop`, plus `set`. Not yet escaped for
    /// HTML.
    pub fn link(&self, path: &str, drop: &[&str], set: &[(&str, String)]) -> String {
        let mut pairs: Vec<(&str, &str)> = self
            .pairs
            .iter()
            .filter(|(k, _)| !drop.contains(&k.as_str()) && !set.iter().any(|(s, _)| s == k))
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        pairs.extend(set.iter().map(|(k, v)| (*k, v.as_str())));
        let query = serde_urlencoded::to_string(&pairs).unwrap_or_default();
        if query.is_empty() {
            path.to_string()
        } else {
            format!("{path}?{query}")
        }
    }

    /// The same list on another page.
    pub fn page_link(&self, path: &str, page: u32) -> String {
        self.link(path, &[], &[("page", page.to_string())])
    }
}

/// The case query of filters given elsewhere as `(parameter, value)` pairs (the CLI's
/// `domwatch fix --kind …` flags), checked by the same rules as the lists' query strings;
/// the error names the parameter.
pub fn query_from_pairs(pairs: &[(&str, String)]) -> Result<CaseQuery, String> {
    let raw = serde_urlencoded::to_string(pairs).map_err(|e| e.to_string())?;
    let defaults = Defaults {
        sort: CaseSort::Kind,
        per_page: MAX_PER_PAGE,
    };
    CaseParams::parse(Some(&raw), defaults)
        .map(|p| p.query)
        .map_err(|e| e.message)
}

fn parse_state(value: &str) -> Result<Option<CaseState>, WebError> {
    match value {
        "open" => Ok(Some(CaseState::Open)),
        "resolved" => Ok(Some(CaseState::Resolved)),
        "all" => Ok(None),
        other => Err(bad(
            "state",
            format!("`{}` is unknown: use open, resolved or all", shown(other)),
        )),
    }
}

fn parse_kind(value: &str) -> Result<CaseKind, WebError> {
    CaseKind::parse(value).ok_or_else(|| {
        bad(
            "kind",
            format!(
                "`{}` is unknown; kinds: {}",
                shown(value),
                CaseKind::ALL.map(|k| k.as_str()).join(", ")
            ),
        )
    })
}

/// A zone or TLD, Unicode or A-label, with or without the leading dot.
fn parse_tld(value: &str) -> Result<String, WebError> {
    let fragment = search_fragment(value.trim_start_matches('.')).map_err(|e| bad("tld", e))?;
    if fragment.is_empty() || fragment.split('.').any(str::is_empty) {
        return Err(bad(
            "tld",
            format!("`{}` is not a zone such as de, co.uk or рф", shown(value)),
        ));
    }
    Ok(fragment)
}

fn positive(parameter: &str, value: &str) -> Result<i64, WebError> {
    match value.parse::<i64>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(bad(
            parameter,
            format!("`{}` is not a whole number of at least 1", shown(value)),
        )),
    }
}

fn parse_amount(value: &str) -> Result<Decimal, WebError> {
    match Decimal::from_str(value) {
        Ok(d) if d >= Decimal::ZERO => Ok(d),
        _ => Err(bad(
            "min_at_stake",
            format!(
                "`{}` is not an amount of zero or more such as 10 or 9.99",
                shown(value)
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    const DEFAULTS: Defaults = Defaults {
        sort: CaseSort::AtStake,
        per_page: 50,
    };

    fn parse(raw: &str) -> Result<CaseParams, String> {
        CaseParams::parse(Some(raw), DEFAULTS).map_err(|e| e.message)
    }

    #[test]
    fn every_filter_is_read_and_empty_fields_are_absent() {
        let p = parse("state=all&kind=expiry_drift,status_drift&kind=turned_premium&account=cnr&tld=.CO.UK&client=7&currency=eur&min_at_stake=9.5&q=M%C3%BCller&sort=oldest&page=3&per_page=20&q2=x").unwrap_err();
        assert!(p.contains("`q2`"), "{p}");
        let p = parse("state=all&kind=expiry_drift,status_drift&kind=turned_premium&account=cnr&tld=.CO.UK&client=7&currency=eur&min_at_stake=9.5&q=M%C3%BCller&sort=oldest&page=3&per_page=20&tld=co.uk&account=").unwrap();
        let q = &p.query;
        assert_eq!(q.state, None);
        assert_eq!(q.kinds.len(), 3);
        assert_eq!(q.account.as_deref(), Some("cnr"));
        assert_eq!(q.tld.as_deref(), Some("co.uk"));
        assert_eq!(q.client_id, Some(7));
        assert_eq!(q.currency, Some(Currency::EUR));
        assert_eq!(q.min_at_stake, Some(dec!(9.5)));
        assert_eq!(q.search.as_deref(), Some("xn--mller-kva"));
        assert_eq!((q.sort, q.page, q.per_page), (CaseSort::Oldest, 3, 20));
        assert!(p.paged);

        let plain = parse("state=&kind=&q=").unwrap();
        assert_eq!(plain.query, CaseQuery::default());
        assert!(!plain.paged);
        assert_eq!(
            parse("tld=%D1%80%D1%84").unwrap().query.tld.as_deref(),
            Some("xn--p1ai")
        );
    }

    #[test]
    fn bad_values_name_their_parameter() {
        for (raw, parameter) in [
            ("state=gone", "`state`"),
            ("kind=nonsense", "`kind`"),
            ("client=-1", "`client`"),
            ("currency=euro", "`currency`"),
            ("min_at_stake=-5", "`min_at_stake`"),
            ("min_at_stake=lots", "`min_at_stake`"),
            ("q=%25", "`q`"),
            ("sort=price", "`sort`"),
            ("page=0", "`page`"),
            ("per_page=501", "`per_page`"),
            ("tld=..", "`tld`"),
        ] {
            let e = parse(raw).unwrap_err();
            assert!(e.contains(parameter), "{raw}: {e}");
        }
        assert!(parse("kind=x%1B%5B2J").unwrap_err().contains("`x[2J`"));
    }

    #[test]
    fn filters_from_pairs_follow_the_same_rules() {
        let q = query_from_pairs(&[("kind", "expiry_drift".into()), ("tld", "рф".into())]).unwrap();
        assert_eq!(q.kinds, vec![CaseKind::ExpiryDrift]);
        assert_eq!(q.tld.as_deref(), Some("xn--p1ai"));
        assert_eq!(q.state, Some(CaseState::Open));
        let e = query_from_pairs(&[("min_at_stake", "lots".into())]).unwrap_err();
        assert!(e.contains("`min_at_stake`"), "{e}");
    }

    #[test]
    fn links_keep_the_filters_and_change_one_thing() {
        let p = parse("kind=expiry_drift&q=m%C3%BCller&page=2").unwrap();
        assert_eq!(
            p.page_link("/cases", 3),
            "/cases?kind=expiry_drift&q=m%C3%BCller&page=3"
        );
        assert_eq!(
            p.link("/api/cases.csv", &["page", "per_page", "sort"], &[]),
            "/api/cases.csv?kind=expiry_drift&q=m%C3%BCller"
        );
        assert_eq!(p.value("q"), "müller");
        assert_eq!(parse("").unwrap().link("/cases", &[], &[]), "/cases");
    }
}
