//! What every action works with: the request fields ([`Params`]), the answer
//! ([`Answer`], [`Fail`]), action names, and the WHERE-clause builder of the list actions.
//! The API and the client actions both import it (no circle between them).

use super::store::{Row, Val};
use serde_json::{Map, Value};

/// A `result=error` answer (HTTP 200 like WHMCS; 403 for a foreign IP or an action the
/// API role does not allow; 500 for sandbox faults).
#[derive(Debug)]
pub struct Fail {
    pub message: String,
    pub registrar_error: Option<String>,
    pub status: u16,
}

impl Fail {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            registrar_error: None,
            status: 200,
        }
    }

    /// WHMCS refuses the caller with HTTP 403 and the usual JSON body.
    pub(crate) fn forbidden(message: impl Into<String>) -> Self {
        Self {
            status: 403,
            ..Self::new(message)
        }
    }
}

impl From<anyhow::Error> for Fail {
    fn from(e: anyhow::Error) -> Self {
        tracing::error!(error = %format!("{e:#}"), "sandbox WHMCS storage error");
        Self {
            message: format!("Sandbox storage error: {e:#}"),
            registrar_error: None,
            status: 500,
        }
    }
}

pub(crate) type Answer = Result<Map<String, Value>, Fail>;

/// Request fields in order (array fields such as `newitemamount[]` repeat).
pub struct Params(pub Vec<(String, String)>);

impl Params {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// PHP truthiness: missing, `""` and `"0"` are false.
    pub(crate) fn truthy(&self, key: &str) -> bool {
        matches!(self.get(key), Some(v) if !v.is_empty() && v != "0")
    }

    /// The value when PHP would consider it non-empty (what WHMCS writes).
    pub(crate) fn nonempty(&self, key: &str) -> Option<&str> {
        self.get(key).filter(|v| !v.is_empty() && *v != "0")
    }

    pub(crate) fn int(&self, key: &str) -> Option<i64> {
        self.get(key).and_then(|v| v.trim().parse().ok())
    }

    pub(crate) fn all(&self, key: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// `name[id]=value` fields as (id, value).
    pub(crate) fn keyed(&self, name: &str) -> Vec<(i64, &str)> {
        let prefix = format!("{name}[");
        self.0
            .iter()
            .filter_map(|(k, v)| {
                let id = k.strip_prefix(&prefix)?.strip_suffix(']')?.parse().ok()?;
                Some((id, v.as_str()))
            })
            .collect()
    }

    pub(crate) fn paging(&self) -> (i64, i64) {
        let start = self.int("limitstart").unwrap_or(0).max(0);
        let num = self.int("limitnum").filter(|n| *n > 0).unwrap_or(25);
        (start, num)
    }
}

/// WHMCS matches action names case-insensitively after dropping non-alphanumerics.
pub fn normalise_action(action: &str) -> String {
    action
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

pub(crate) fn obj(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

pub(crate) fn ymd(date: chrono::NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

/// WHERE clause builder with bound parameters.
#[derive(Default)]
pub(crate) struct Filter {
    pub(crate) clauses: Vec<String>,
    pub(crate) params: Vec<Val>,
}

impl Filter {
    pub(crate) fn add(&mut self, clause: &str, params: impl IntoIterator<Item = Val>) {
        self.clauses.push(clause.to_string());
        self.params.extend(params);
    }

    pub(crate) fn sql(&self) -> String {
        if self.clauses.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.clauses.join(" AND "))
        }
    }

    pub(crate) fn with_page(&self, start: i64, num: i64) -> Vec<Val> {
        let mut params = self.params.clone();
        params.push(Val::Int(num));
        params.push(Val::Int(start));
        params
    }

    /// The total number of matching rows and one page of them, as every WHMCS list action
    /// answers (`totalresults` plus the `limitstart`/`limitnum` window). `from` may carry
    /// LEFT JOINs on unique keys; they do not change the count.
    pub(crate) async fn page(
        &self,
        store: &crate::whmcs::store::Store,
        select: &str,
        from: &str,
        order_by: &str,
        start: i64,
        num: i64,
    ) -> anyhow::Result<(i64, Vec<Row>)> {
        let filter = self.sql();
        let total = store
            .count(
                &format!("SELECT COUNT(*) AS n FROM {from}{filter}"),
                &self.params,
            )
            .await?;
        let rows = store
            .query(
                &format!(
                    "SELECT {select} FROM {from}{filter} ORDER BY {order_by} LIMIT ? OFFSET ?"
                ),
                &self.with_page(start, num),
            )
            .await?;
        Ok((total, rows))
    }
}

pub(crate) fn valid_date(value: &str) -> Result<String, Fail> {
    chrono::NaiveDate::parse_from_str(value.trim(), "%Y-%m-%d")
        .map(ymd)
        .map_err(|_| Fail::new(format!("Invalid date format: {value}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_names_are_matched_loosely() {
        assert_eq!(normalise_action("GetClientsDomains"), "getclientsdomains");
        assert_eq!(
            normalise_action("get_clients-domains "),
            "getclientsdomains"
        );
    }

    #[test]
    fn php_truthiness() {
        let p = Params(vec![
            ("a".into(), "0".into()),
            ("b".into(), "".into()),
            ("c".into(), "0.00".into()),
            ("d".into(), "false".into()),
        ]);
        assert!(!p.truthy("a") && !p.truthy("b") && !p.truthy("missing"));
        // PHP: "0.00" and "false" are non-empty strings, hence true.
        assert!(p.truthy("c") && p.truthy("d"));
        assert!(p.has("a"));
    }
}
