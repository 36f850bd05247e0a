//! Lenient readers for WHMCS JSON: numbers arrive as strings or numbers, empty lists as
//! `""` or not at all, dates as `0000-00-00` when unset.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde_json::{Map, Value};
use std::str::FromStr;

pub(crate) type Object = Map<String, Value>;

/// A field as text: strings as they are, numbers and bools formatted; `None` for null/missing.
pub(crate) fn text(obj: &Object, key: &str) -> Option<String> {
    match obj.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(if *b { "1" } else { "0" }.to_string()),
        _ => None,
    }
}

pub(crate) fn text_or_empty(obj: &Object, key: &str) -> String {
    text(obj, key).unwrap_or_default()
}

pub(crate) fn u64_opt(obj: &Object, key: &str) -> Result<Option<u64>, String> {
    u64_of(key, text(obj, key).as_deref())
}

pub(crate) fn u64_req(obj: &Object, key: &str) -> Result<u64, String> {
    u64_opt(obj, key)?.ok_or_else(|| format!("field `{key}` is missing"))
}

pub(crate) fn decimal_opt(obj: &Object, key: &str) -> Result<Option<Decimal>, String> {
    decimal_of(key, text(obj, key).as_deref())
}

pub(crate) fn decimal_or_zero(obj: &Object, key: &str) -> Result<Decimal, String> {
    Ok(decimal_opt(obj, key)?.unwrap_or(Decimal::ZERO))
}

/// WHMCS flags: `1`, `"1"`, `true`, `"on"` are set; everything else is not.
pub(crate) fn flag(obj: &Object, key: &str) -> bool {
    flag_of(text(obj, key).as_deref())
}

/// `Y-m-d` (optionally followed by a time); `0000-00-00` and empty mean unset.
pub(crate) fn date_opt(obj: &Object, key: &str) -> Result<Option<NaiveDate>, String> {
    date_of(key, text(obj, key).as_deref())
}

// The same readers over a field's text (as [`text`] renders it), for typed pages.

pub(crate) fn u64_of(key: &str, value: Option<&str>) -> Result<Option<u64>, String> {
    match value {
        None => Ok(None),
        Some(s) if s.trim().is_empty() => Ok(None),
        Some(s) => s
            .trim()
            .parse::<u64>()
            .map(Some)
            .map_err(|_| format!("field `{key}` is {s:?}, expected a whole number")),
    }
}

pub(crate) fn decimal_of(key: &str, value: Option<&str>) -> Result<Option<Decimal>, String> {
    match value {
        None => Ok(None),
        Some(s) if s.trim().is_empty() => Ok(None),
        Some(s) => Decimal::from_str(s.trim())
            .or_else(|_| Decimal::from_scientific(s.trim()))
            .map(Some)
            .map_err(|_| format!("field `{key}` is {s:?}, expected an amount such as 12.95")),
    }
}

pub(crate) fn flag_of(value: Option<&str>) -> bool {
    matches!(
        value.map(str::trim),
        Some("1") | Some("true") | Some("on") | Some("yes")
    )
}

pub(crate) fn date_of(key: &str, value: Option<&str>) -> Result<Option<NaiveDate>, String> {
    let Some(s) = value else {
        return Ok(None);
    };
    let s = s.trim();
    if s.is_empty() || s.starts_with("0000-00-00") {
        return Ok(None);
    }
    let day = s.get(..10).unwrap_or(s);
    domwatch_core::date::parse_ymd(day)
        .map(Some)
        .ok_or_else(|| format!("field `{key}` is {s:?}, expected a date YYYY-MM-DD"))
}

/// The list under `outer.inner` (e.g. `domains.domain`). WHMCS sends `""` or omits the
/// key when there is nothing; a single object instead of a list is accepted too.
pub(crate) fn nested_list(obj: &Object, outer: &str, inner: &str) -> Result<Vec<Object>, String> {
    Ok(nested_list_ref(obj, outer, inner)?
        .into_iter()
        .cloned()
        .collect())
}

/// [`nested_list`] without copying the entries, for large pages.
pub(crate) fn nested_list_ref<'a>(
    obj: &'a Object,
    outer: &str,
    inner: &str,
) -> Result<Vec<&'a Object>, String> {
    let container = match obj.get(outer) {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::String(s)) if s.trim().is_empty() => return Ok(Vec::new()),
        Some(Value::Array(a)) if a.is_empty() => return Ok(Vec::new()),
        Some(Value::Object(o)) => o,
        Some(other) => {
            return Err(format!(
                "`{outer}` is {}, expected an object with `{inner}`",
                kind(other)
            ))
        }
    };
    match container.get(inner) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| match item {
                Value::Object(o) => Ok(o),
                other => Err(format!("an entry of `{outer}.{inner}` is {}", kind(other))),
            })
            .collect(),
        Some(Value::Object(single)) => Ok(vec![single]),
        Some(other) => Err(format!(
            "`{outer}.{inner}` is {}, expected a list",
            kind(other)
        )),
    }
}

pub(crate) fn object<'a>(obj: &'a Object, key: &str) -> Option<&'a Object> {
    obj.get(key).and_then(Value::as_object)
}

pub(crate) fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Object {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn numbers_as_strings_or_numbers() {
        let o = obj(json!({"a": "12", "b": 12, "c": "12.95", "d": 12.5, "e": ""}));
        assert_eq!(u64_req(&o, "a").unwrap(), 12);
        assert_eq!(u64_req(&o, "b").unwrap(), 12);
        assert_eq!(decimal_opt(&o, "c").unwrap(), Some(Decimal::new(1295, 2)));
        assert_eq!(decimal_opt(&o, "d").unwrap(), Some(Decimal::new(125, 1)));
        assert_eq!(u64_opt(&o, "e").unwrap(), None);
        assert!(u64_req(&o, "c").unwrap_err().contains("whole number"));
    }

    #[test]
    fn empty_lists_in_all_their_shapes() {
        for v in [
            json!({"domains": ""}),
            json!({}),
            json!({"domains": []}),
            json!({"domains": {}}),
        ] {
            assert!(nested_list(&obj(v), "domains", "domain")
                .unwrap()
                .is_empty());
        }
        let single = obj(json!({"domains": {"domain": {"id": 1}}}));
        assert_eq!(nested_list(&single, "domains", "domain").unwrap().len(), 1);
        let bad = obj(json!({"domains": 5}));
        assert!(nested_list(&bad, "domains", "domain").is_err());
    }

    #[test]
    fn zero_dates_are_unset() {
        let o = obj(
            json!({"a": "0000-00-00", "b": "2026-01-31", "c": "2026-01-31 10:00:00", "d": "31/01/2026"}),
        );
        assert_eq!(date_opt(&o, "a").unwrap(), None);
        assert_eq!(
            date_opt(&o, "b").unwrap(),
            NaiveDate::from_ymd_opt(2026, 1, 31)
        );
        assert_eq!(
            date_opt(&o, "c").unwrap(),
            NaiveDate::from_ymd_opt(2026, 1, 31)
        );
        assert!(date_opt(&o, "d").is_err());
    }

    #[test]
    fn flags() {
        let o = obj(json!({"a": "1", "b": "0", "c": 1, "d": true, "e": "false"}));
        assert!(flag(&o, "a") && flag(&o, "c") && flag(&o, "d"));
        assert!(!flag(&o, "b") && !flag(&o, "e") && !flag(&o, "missing"));
    }
}
