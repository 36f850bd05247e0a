//! The request side of the protocol: an ordered, case-insensitive key/value command that
//! encodes to (and decodes from) the `s_command` form field.

use std::fmt;

/// Keys whose values are secrets and must never appear in logs.
const SECRET_KEYS: &[&str] = &["PASSWORD", "AUTH", "NEWPASSWORD", "TOKEN"];

/// A value that can be placed in a command. `None` means "leave the parameter out", the
/// same as the SDKs dropping `null` parameters.
pub trait CommandValue {
    fn into_command_value(self) -> Option<String>;
}

impl CommandValue for &str {
    fn into_command_value(self) -> Option<String> {
        Some(self.to_string())
    }
}
impl CommandValue for String {
    fn into_command_value(self) -> Option<String> {
        Some(self)
    }
}
impl CommandValue for &String {
    fn into_command_value(self) -> Option<String> {
        Some(self.clone())
    }
}
impl CommandValue for bool {
    /// The protocol's flags are `0`/`1`.
    fn into_command_value(self) -> Option<String> {
        Some(if self { "1" } else { "0" }.to_string())
    }
}
impl CommandValue for rust_decimal::Decimal {
    fn into_command_value(self) -> Option<String> {
        Some(self.normalize().to_string())
    }
}
macro_rules! integer_command_value {
    ($($t:ty),*) => {$(
        impl CommandValue for $t {
            fn into_command_value(self) -> Option<String> {
                Some(self.to_string())
            }
        }
    )*};
}
integer_command_value!(u8, u16, u32, u64, usize, i32, i64);
impl<T: CommandValue> CommandValue for Option<T> {
    fn into_command_value(self) -> Option<String> {
        self.and_then(CommandValue::into_command_value)
    }
}

/// One API command: `COMMAND=<name>` plus parameters, in insertion order.
///
/// Keys are stored upper-cased (the server is case-insensitive; the SDKs upper-case them
/// too), CR and LF are stripped from values (a line break would start a new parameter),
/// and setting an existing key replaces its value in place.
///
/// ```
/// use domwatch_rrp::codec::Command;
/// let cmd = Command::new("CheckDomains")
///     .with_list("domain", ["a.com", "b.net"])
///     .with("x-fee-command", "renew");
/// assert_eq!(cmd.encode(), "COMMAND=CheckDomains\nDOMAIN0=a.com\nDOMAIN1=b.net\nX-FEE-COMMAND=renew");
/// assert_eq!(Command::decode(&cmd.encode()), cmd);
/// ```
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Command {
    params: Vec<(String, String)>,
}

impl Command {
    /// A command named `name` (e.g. `StatusDomain`), with no parameters yet.
    pub fn new(name: &str) -> Self {
        let mut cmd = Command { params: Vec::new() };
        cmd.set("COMMAND", name);
        cmd
    }

    /// A parameter block with no `COMMAND` key (the CNR session login sends none).
    pub fn empty() -> Self {
        Command::default()
    }

    /// Builder form of [`Command::set`].
    pub fn with(mut self, key: &str, value: impl CommandValue) -> Self {
        self.set(key, value);
        self
    }

    /// Builder form of [`Command::set_list`].
    pub fn with_list<I, V>(mut self, key: &str, values: I) -> Self
    where
        I: IntoIterator<Item = V>,
        V: CommandValue,
    {
        self.set_list(key, values);
        self
    }

    /// Sets `key` (upper-cased) to `value`, replacing an earlier value of the same key.
    /// A `None` value removes the key, so optional parameters are simply left out.
    pub fn set(&mut self, key: &str, value: impl CommandValue) -> &mut Self {
        let key = normalise_key(key);
        match value.into_command_value() {
            Some(value) => {
                let value = strip_line_breaks(value);
                match self.params.iter_mut().find(|(k, _)| *k == key) {
                    Some(slot) => slot.1 = value,
                    // `COMMAND` always leads, so equal commands compare equal however
                    // their text was ordered.
                    None if key == "COMMAND" => self.params.insert(0, (key, value)),
                    None => self.params.push((key, value)),
                }
            }
            None => self.params.retain(|(k, _)| *k != key),
        }
        self
    }

    /// Flattens a list into `KEY0`, `KEY1`, … (`DOMAIN0=a.com`, `DOMAIN1=b.net`), as the
    /// SDKs' `flattenCommand` does. `None` items are skipped without leaving a gap.
    pub fn set_list<I, V>(&mut self, key: &str, values: I) -> &mut Self
    where
        I: IntoIterator<Item = V>,
        V: CommandValue,
    {
        let base = normalise_key(key);
        let mut index = 0usize;
        for value in values {
            if let Some(value) = value.into_command_value() {
                self.set(&format!("{base}{index}"), value);
                index += 1;
            }
        }
        self
    }

    /// Removes `key` (case-insensitive) and returns its value.
    pub fn remove(&mut self, key: &str) -> Option<String> {
        let position = self
            .params
            .iter()
            .position(|(k, _)| k.eq_ignore_ascii_case(key))?;
        Some(self.params.remove(position).1)
    }

    /// The value of `key`, looked up case-insensitively (`get("domain")` finds `DOMAIN`).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }

    /// True when `key` is present (case-insensitive).
    pub fn contains(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// The values of a flattened list `KEY0`, `KEY1`, … up to the first missing index.
    /// The inverse of [`Command::set_list`]; the sandbox server uses it for `DOMAIN0..n`.
    pub fn get_list(&self, key: &str) -> Vec<&str> {
        let base = normalise_key(key);
        let mut values = Vec::new();
        for index in 0.. {
            match self.get(&format!("{base}{index}")) {
                Some(value) => values.push(value),
                None => break,
            }
        }
        values
    }

    /// The command name (`COMMAND` value) as sent, e.g. `StatusDomain`; the empty string
    /// when the block has no `COMMAND` (a CNR session login). Compare it with
    /// `eq_ignore_ascii_case`: the server treats command names case-insensitively.
    pub fn name(&self) -> &str {
        self.get("COMMAND").unwrap_or("")
    }

    /// All parameters in order, keys upper-cased.
    pub fn params(&self) -> impl Iterator<Item = (&str, &str)> {
        self.params.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Number of parameters, `COMMAND` included.
    pub fn len(&self) -> usize {
        self.params.len()
    }

    /// True when there are no parameters at all (not even `COMMAND`).
    pub fn is_empty(&self) -> bool {
        self.params.is_empty()
    }

    /// The `s_command` text: `KEY=VALUE` lines joined by `\n`, no trailing newline,
    /// `COMMAND` first, then the parameters in insertion order. The caller form-encodes it.
    /// The server ignores the order (the Python SDK sorts alphabetically, PHP by priority).
    pub fn encode(&self) -> String {
        let capacity = self.params.iter().map(|(k, v)| k.len() + v.len() + 2).sum();
        let mut out = String::with_capacity(capacity);
        for (key, value) in &self.params {
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(key);
            out.push('=');
            out.push_str(value);
        }
        out
    }

    /// Parses an `s_command` text (already form-decoded) back into a command: the inverse
    /// of [`Command::encode`], used by the sandbox registrar server to read requests.
    ///
    /// Lines are split at the first `=`; keys are trimmed and upper-cased, values keep
    /// their text except a trailing `\r` (so `\r\n` line ends are accepted). Blank lines
    /// and lines without `=` are ignored. A repeated key keeps the last value, as a server
    /// reading parameters into a map would.
    pub fn decode(s_command: &str) -> Command {
        let mut cmd = Command::empty();
        for line in s_command.split('\n') {
            let line = line.strip_suffix('\r').unwrap_or(line);
            let Some((key, value)) = line.split_once('=') else {
                continue;
            };
            let key = key.trim();
            if key.is_empty() {
                continue;
            }
            cmd.set(key, value);
        }
        cmd
    }

    /// The encoded text with secret values (`PASSWORD`, `AUTH`, …) replaced by `***`,
    /// for logs and error messages.
    pub fn redacted(&self) -> String {
        let mut masked = self.clone();
        for (key, value) in &mut masked.params {
            if is_secret_key(key) {
                *value = "***".to_string();
            }
        }
        masked.encode()
    }
}

/// True for parameters that carry secrets (`AUTH`, `PASSWORD`, also indexed `AUTH0`).
pub fn is_secret_key(key: &str) -> bool {
    let base = key.trim_end_matches(|c: char| c.is_ascii_digit());
    SECRET_KEYS.iter().any(|s| base.eq_ignore_ascii_case(s))
}

/// `Debug` never shows secret values, so a command can be logged with `{:?}` safely.
impl fmt::Debug for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut map = f.debug_map();
        for (key, value) in &self.params {
            if is_secret_key(key) {
                map.entry(key, &"***");
            } else {
                map.entry(key, value);
            }
        }
        map.finish()
    }
}

fn normalise_key(key: &str) -> String {
    key.trim().to_ascii_uppercase()
}

fn strip_line_breaks(value: String) -> String {
    if value.contains(['\r', '\n']) {
        value.replace(['\r', '\n'], "")
    } else {
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_in_insertion_order_with_command_first() {
        let cmd = Command::new("StatusDomain")
            .with("domain", "example.com")
            .with("x-fee-command", "renew");
        assert_eq!(
            cmd.encode(),
            "COMMAND=StatusDomain\nDOMAIN=example.com\nX-FEE-COMMAND=renew"
        );
        assert_eq!(cmd.name(), "StatusDomain");
    }

    #[test]
    fn strips_line_breaks_and_drops_none() {
        let cmd = Command::new("ModifyDomain")
            .with("AUTH", "ab\r\ncd")
            .with("PERIOD", None::<u32>)
            .with("LIMIT", Some(5u32));
        assert_eq!(cmd.get("auth"), Some("abcd"));
        assert!(!cmd.contains("PERIOD"));
        assert_eq!(cmd.get("limit"), Some("5"));
    }

    #[test]
    fn set_replaces_and_none_removes() {
        let mut cmd = Command::new("QueryDomainList").with("FIRST", 0u32);
        cmd.set("first", 100u32);
        assert_eq!(cmd.encode(), "COMMAND=QueryDomainList\nFIRST=100");
        cmd.set("FIRST", None::<&str>);
        assert_eq!(cmd.encode(), "COMMAND=QueryDomainList");
    }

    #[test]
    fn list_flattening_round_trips() {
        let cmd = Command::new("CheckDomains").with_list("domain", ["a.com", "b.net", "c.org"]);
        assert_eq!(cmd.get("DOMAIN2"), Some("c.org"));
        assert_eq!(cmd.get_list("domain"), vec!["a.com", "b.net", "c.org"]);
    }

    #[test]
    fn decode_accepts_crlf_lower_case_and_equals_in_values() {
        let cmd = Command::decode("command=StatusDomain\r\ndomain=example.com\r\n\r\nauth=a=b\n");
        assert_eq!(cmd.name(), "StatusDomain");
        assert_eq!(cmd.get("DOMAIN"), Some("example.com"));
        assert_eq!(cmd.get("Auth"), Some("a=b"));
        assert_eq!(cmd.len(), 3);
    }

    #[test]
    fn command_leads_however_the_text_was_ordered() {
        let cmd = Command::decode("DOMAIN=example.com\nCOMMAND=StatusDomain");
        assert_eq!(cmd.encode(), "COMMAND=StatusDomain\nDOMAIN=example.com");
        assert_eq!(
            cmd,
            Command::new("StatusDomain").with("DOMAIN", "example.com")
        );
    }

    #[test]
    fn decode_of_login_block_has_no_name() {
        assert_eq!(Command::decode("").name(), "");
        assert!(Command::decode("").is_empty());
    }

    #[test]
    fn debug_and_redacted_hide_secrets() {
        let cmd = Command::new("ModifyDomain")
            .with("AUTH", "s3cret-auth")
            .with("PASSWORD", "hunter2")
            .with("AUTH0", "other-secret");
        let debug = format!("{cmd:?}");
        let redacted = cmd.redacted();
        for secret in ["s3cret-auth", "hunter2", "other-secret"] {
            assert!(!debug.contains(secret), "{debug}");
            assert!(!redacted.contains(secret), "{redacted}");
        }
        assert!(redacted.contains("AUTH=***"));
    }
}
