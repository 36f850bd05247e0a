//! Response rendering in the two dialects' text formats, plus the date/price formats the
//! real servers use.
//!
//! Handlers name properties the CNR way (lower case, words separated by spaces, e.g.
//! `registration expiration date`, as the real CNR server sends them). ISPAPI spells the
//! same property upper case without spaces (`REGISTRATIONEXPIRATIONDATE`), which is also
//! exactly the key every SDK parser normalises both spellings to.

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use domwatch_core::model::Dialect;
use rust_decimal::Decimal;

/// One API answer before rendering: code, description, extra top-level keys (ISPAPI
/// `PENDING = 1`) and properties in insertion order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    pub description: String,
    /// Top-level keys besides code/description/runtime/queuetime.
    pub top_level: Vec<(String, String)>,
    pub properties: Vec<(String, Vec<String>)>,
    /// CNR leaves `runtime`/`queuetime` out of syntax errors such as
    /// `503 Invalid attribute name; LAST`.
    pub with_timing: bool,
}

impl Reply {
    pub fn ok() -> Self {
        Self::new(200, "Command completed successfully")
    }

    pub fn new(code: u16, description: impl Into<String>) -> Self {
        Reply {
            code,
            description: description.into(),
            top_level: Vec::new(),
            properties: Vec::new(),
            with_timing: true,
        }
    }

    /// A syntax error, rendered like the real CNR server does: no runtime/queuetime.
    pub fn syntax_error(code: u16, description: impl Into<String>) -> Self {
        let mut reply = Self::new(code, description);
        reply.with_timing = false;
        reply
    }

    /// Appends `value` to the property `name` (CNR spelling).
    pub fn push(&mut self, name: &str, value: impl ToString) -> &mut Self {
        let value = value.to_string();
        match self.properties.iter_mut().find(|(n, _)| n == name) {
            Some((_, values)) => values.push(value),
            None => self.properties.push((name.to_string(), vec![value])),
        }
        self
    }

    /// Makes sure the property exists, even with no values (a list page with no rows
    /// still names its columns).
    pub fn declare(&mut self, name: &str) -> &mut Self {
        if !self.properties.iter().any(|(n, _)| n == name) {
            self.properties.push((name.to_string(), Vec::new()));
        }
        self
    }

    pub fn top(&mut self, key: &str, value: impl ToString) -> &mut Self {
        self.top_level.push((key.to_string(), value.to_string()));
        self
    }

    /// The values of one property, for tests and for the server's own bookkeeping.
    pub fn values(&self, name: &str) -> &[String] {
        self.properties
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_slice())
            .unwrap_or(&[])
    }

    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.code)
    }
}

/// The ISPAPI spelling of a CNR property name.
pub fn ispapi_name(cnr_name: &str) -> String {
    cnr_name
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_uppercase()
}

/// Renders a reply as the dialect's `[RESPONSE] … EOF` text with `\n` line ends.
/// `runtime` is in seconds and only written when the reply carries timing.
pub fn render(reply: &Reply, dialect: Dialect, runtime: f64) -> String {
    let mut out = String::with_capacity(64 + reply.properties.len() * 48);
    out.push_str("[RESPONSE]\n");
    let upper = dialect != Dialect::Cnr;
    let key = |k: &str| {
        if upper {
            k.to_uppercase()
        } else {
            k.to_string()
        }
    };
    out.push_str(&format!("{} = {}\n", key("code"), reply.code));
    out.push_str(&format!("{} = {}\n", key("description"), reply.description));
    for (k, v) in &reply.top_level {
        out.push_str(&format!("{} = {}\n", key(k), v));
    }
    if reply.with_timing {
        out.push_str(&format!("{} = {:.3}\n", key("runtime"), runtime));
        out.push_str(&format!("{} = 0\n", key("queuetime")));
    }
    for (name, values) in &reply.properties {
        let name = if upper {
            ispapi_name(name)
        } else {
            name.clone()
        };
        let prefix = if upper { "PROPERTY" } else { "property" };
        for (i, value) in values.iter().enumerate() {
            out.push_str(&format!("{prefix}[{name}][{i}] = {value}\n"));
        }
    }
    out.push_str("EOF\n");
    out
}

/// A date with the domain's deterministic time of day, as the registrar stores it.
pub fn date_time(date: NaiveDate, time: NaiveTime) -> NaiveDateTime {
    date.and_time(time)
}

/// CNR writes timestamps with a trailing `.0` (`2025-05-28 22:17:44.0`); ISPAPI without.
pub fn format_timestamp(at: NaiveDateTime, dialect: Dialect) -> String {
    let base = at.format("%Y-%m-%d %H:%M:%S").to_string();
    match dialect {
        Dialect::Cnr => format!("{base}.0"),
        _ => base,
    }
}

/// Prices go over the wire with exactly two decimals (`9.50`, `1200.00`).
pub fn format_price(amount: Decimal) -> String {
    format!("{:.2}", amount.round_dp(2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cnr_and_ispapi_spell_the_same_reply_differently() {
        let mut reply = Reply::ok();
        reply.push("paiduntil date", "2027-01-02 10:00:00.0");
        reply.push("domain", "a.com").push("domain", "b.com");
        let cnr = render(&reply, Dialect::Cnr, 0.012);
        assert_eq!(
            cnr,
            "[RESPONSE]\ncode = 200\ndescription = Command completed successfully\n\
             runtime = 0.012\nqueuetime = 0\nproperty[paiduntil date][0] = 2027-01-02 10:00:00.0\n\
             property[domain][0] = a.com\nproperty[domain][1] = b.com\nEOF\n"
        );
        let hx = render(&reply, Dialect::Ispapi, 0.012);
        assert!(hx.contains("CODE = 200\n"));
        assert!(hx.contains("PROPERTY[PAIDUNTILDATE][0] = 2027-01-02 10:00:00.0\n"));
        assert!(hx.contains("PROPERTY[DOMAIN][1] = b.com\n"));
    }

    #[test]
    fn syntax_errors_carry_no_timing_like_the_real_server() {
        let reply = Reply::syntax_error(503, "Invalid attribute name; LAST");
        assert_eq!(
            render(&reply, Dialect::Cnr, 0.0),
            "[RESPONSE]\ncode = 503\ndescription = Invalid attribute name; LAST\nEOF\n"
        );
    }
}
