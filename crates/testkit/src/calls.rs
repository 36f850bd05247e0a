//! What the sandboxes were asked: API calls by command, read from their `/_sandbox/state`
//! counters, and which of them wrote something.

use crate::World;
use std::collections::BTreeMap;

/// Calls by system (`whmcs`, `cnr`, `ispapi`, `smartnic`) and command name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Calls(pub BTreeMap<String, BTreeMap<String, u64>>);

/// Commands that only read (compared lower-case, by prefix): WHMCS `Get…`, RRP `Status…`,
/// `Query…`, `Check…`, sessions, Smart-NIC `…Info`/`…List`. Anything else counts as a write,
/// so a new write command is never missed.
const READ_PREFIXES: [&str; 13] = [
    "get",
    "status",
    "query",
    "check",
    "convert",
    "startsession",
    "endsession",
    "domaininfo",
    "domainlist",
    "handleinfo",
    "handlelist",
    "pricedomainlist",
    "log",
];

/// Whether `command` changes something at its system.
pub fn is_write(command: &str) -> bool {
    let lower = command.to_ascii_lowercase();
    // `LogActivity` only appends to WHMCS's own activity log; `login`/`logout` are sessions.
    !READ_PREFIXES.iter().any(|p| lower.starts_with(p))
}

impl Calls {
    /// The calls made since `before`, by `system/command`, only those that changed.
    pub fn since(&self, before: &Calls) -> BTreeMap<String, u64> {
        let mut delta = BTreeMap::new();
        for (system, commands) in &self.0 {
            for (command, n) in commands {
                let old = before
                    .0
                    .get(system)
                    .and_then(|c| c.get(command))
                    .copied()
                    .unwrap_or(0);
                if *n > old {
                    delta.insert(format!("{system}/{command}"), n - old);
                }
            }
        }
        delta
    }

    /// The write calls made since `before`, by `system/command`.
    pub fn writes_since(&self, before: &Calls) -> BTreeMap<String, u64> {
        self.since(before)
            .into_iter()
            .filter(|(name, _)| is_write(name.split('/').nth(1).unwrap_or(name)))
            .collect()
    }
}

async fn counters(base_url: &str, key: &str) -> BTreeMap<String, u64> {
    let url = format!("{}/_sandbox/state", base_url.trim_end_matches('/'));
    let state: serde_json::Value = reqwest::get(&url)
        .await
        .and_then(|r| r.error_for_status())
        .unwrap_or_else(|e| panic!("sandbox state {url}: {e}"))
        .json()
        .await
        .unwrap_or_else(|e| panic!("sandbox state {url}: {e}"));
    state[key]
        .as_object()
        .unwrap_or_else(|| panic!("sandbox state {url} has no `{key}`: {state}"))
        .iter()
        .map(|(k, v)| (k.clone(), v.as_u64().unwrap_or(0)))
        .collect()
}

impl World {
    /// Every call the sandboxes have served, straight from the sandboxes (not through
    /// any proxy).
    pub async fn calls(&self) -> Calls {
        let mut calls = BTreeMap::new();
        calls.insert(
            "whmcs".to_string(),
            counters(&self.whmcs.base_url(), "api_calls_by_action").await,
        );
        for (name, sandbox) in ["cnr", "ispapi"].into_iter().zip(&self.registrars) {
            calls.insert(
                name.to_string(),
                counters(&sandbox.base_url(), "api_requests_by_command").await,
            );
        }
        calls.insert(
            "smartnic".to_string(),
            self.smartnic.snapshot().per_operation,
        );
        Calls(calls)
    }
}

#[cfg(test)]
mod tests {
    use super::is_write;

    #[test]
    fn reads_and_writes_are_told_apart() {
        for read in [
            "getinvoices",
            "StatusDomain",
            "QueryDomainList",
            "domainList",
            "logactivity",
        ] {
            assert!(!is_write(read), "{read}");
        }
        for write in [
            "updateclientdomain",
            "openticket",
            "SetDomainRenewalMode",
            "ModifyDomain",
            "domainDelete",
            "TransferDomain",
        ] {
            assert!(is_write(write), "{write}");
        }
    }
}
