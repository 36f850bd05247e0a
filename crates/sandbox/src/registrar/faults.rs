//! Fault injection: the ways a real registrar endpoint misbehaves, reproducible from the
//! seed. Request number `n` always gets the same fault for the same seed and config.

use crate::kit::faults::{self as kit, Rate};
use serde::{Deserialize, Serialize};

/// The registrar's misbehaviours: all of the kit's. `command_failed` is HTTP 200 with
/// `code = 421`, "Command failed due to server error. Client should try again" (the
/// registrar's retryable error; `code421` is accepted too); `short_page` keeps a list
/// page's paging data (`COUNT`, `TOTAL`) and its `EOF` but loses the second half of its
/// rows, as a buggy proxy or a server-side cut leaves it (answers without `COUNT` pass
/// unchanged); `truncated` ends the body half-way, without `EOF`.
pub use crate::kit::Fault;

/// Every fault the registrar sandbox shows.
const SUPPORTED: &[Fault] = &kit::ROLL_ORDER;

/// Fault rates and latency. Rates are probabilities per API request, rolled in the order
/// hang, HTTP 500, truncated, short page, 421.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FaultConfig {
    /// Added to every API answer.
    pub latency_ms: u64,
    /// The rate of [`Fault::CommandFailed`] (`rate_command_failed` is accepted too).
    #[serde(alias = "rate_command_failed")]
    pub rate_421: f64,
    pub rate_http_500: f64,
    pub rate_truncated: f64,
    pub rate_short_page: f64,
    pub rate_hang: f64,
    /// How long a hanging request waits before the connection is dropped.
    pub hang_ms: u64,
}

impl Default for FaultConfig {
    fn default() -> Self {
        FaultConfig {
            latency_ms: 0,
            rate_421: 0.0,
            rate_http_500: 0.0,
            rate_truncated: 0.0,
            rate_short_page: 0.0,
            rate_hang: 0.0,
            hang_ms: 3_600_000,
        }
    }
}

impl FaultConfig {
    /// The rates in the kit's roll order, under their setting names.
    fn rates(&self) -> [Rate; 5] {
        [
            ("rate_hang", self.rate_hang, Fault::Hang),
            ("rate_http_500", self.rate_http_500, Fault::Http500),
            ("rate_truncated", self.rate_truncated, Fault::Truncated),
            ("rate_short_page", self.rate_short_page, Fault::ShortPage),
            ("rate_421", self.rate_421, Fault::CommandFailed),
        ]
    }

    /// Rejects rates outside 0..=1 and rate sums above 1, with a message that names the
    /// offending setting.
    pub fn validate(&self) -> Result<(), String> {
        kit::validate(&self.rates())
    }
}

/// The registrar's fault settings and the kit's decision.
#[derive(Debug, Clone)]
pub struct FaultPlan {
    pub config: FaultConfig,
    plan: kit::FaultPlan,
}

impl FaultPlan {
    pub fn new(seed: u64, config: FaultConfig) -> Self {
        FaultPlan {
            config,
            plan: kit::FaultPlan::new(seed ^ 0xFA17_FA17, SUPPORTED),
        }
    }

    pub fn queue(&mut self, fault: Fault, count: usize) -> Result<(), String> {
        self.plan.queue(fault, count)
    }

    pub fn queued(&self) -> usize {
        self.plan.queued()
    }

    /// The fault for API request number `request` (0-based), if any.
    pub fn decide(&mut self, request: u64) -> Option<Fault> {
        self.plan.decide(request, &self.config.rates())
    }
}

/// Cuts a rendered body roughly in half, mid-line, so the `EOF` is missing.
pub fn truncate(body: &str) -> String {
    // Never end exactly on a line break: a torn line is what a dropped connection leaves.
    kit::truncate(body).trim_end_matches('\n').to_string()
}

/// Drops the second half of a rendered list page's rows (at least one), keeping every
/// other line: `COUNT`, `TOTAL`, the column names and `EOF` still describe the whole page.
/// A body without a `COUNT` property, or with no rows, is returned as it was.
pub fn drop_rows(body: &str) -> String {
    let Some(count) = body.lines().find_map(|line| {
        let (key, value) = line.split_once('=')?;
        let key = key.trim();
        (key.eq_ignore_ascii_case("property[count][0]"))
            .then(|| value.trim().parse::<usize>().ok())
            .flatten()
    }) else {
        return body.to_string();
    };
    if count == 0 {
        return body.to_string();
    }
    let keep = count - (count / 2).max(1);
    let mut out = String::with_capacity(body.len());
    for line in body.split_inclusive('\n') {
        if !is_row_line_from(line, keep) {
            out.push_str(line);
        }
    }
    out
}

/// True for `property[<data column>][n] = …` with `n >= keep` (paging keys and the CNR
/// `column` list are never dropped).
fn is_row_line_from(line: &str, keep: usize) -> bool {
    let Some(key) = line.split_once('=').map(|(k, _)| k.trim()) else {
        return false;
    };
    let Some(rest) = key
        .get(..9)
        .filter(|p| p.eq_ignore_ascii_case("property["))
        .map(|_| &key[9..])
    else {
        return false;
    };
    let Some((name, index)) = rest.split_once("][") else {
        return false;
    };
    let paging = ["count", "first", "last", "limit", "total", "column"];
    if paging.iter().any(|p| name.eq_ignore_ascii_case(p)) {
        return false;
    }
    index
        .trim_end_matches(']')
        .parse::<usize>()
        .is_ok_and(|n| n >= keep)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_faults_and_rate_is_roughly_kept() {
        let config = FaultConfig {
            rate_421: 0.1,
            ..FaultConfig::default()
        };
        let mut a = FaultPlan::new(42, config.clone());
        let mut b = FaultPlan::new(42, config);
        let faults: Vec<_> = (0..2000).map(|n| a.decide(n)).collect();
        let again: Vec<_> = (0..2000).map(|n| b.decide(n)).collect();
        assert_eq!(faults, again);
        let hits = faults
            .iter()
            .filter(|f| **f == Some(Fault::CommandFailed))
            .count();
        assert!(
            (140..=260).contains(&hits),
            "expected ~200 421s, got {hits}"
        );
    }

    #[test]
    fn queued_faults_come_first_and_bad_rates_are_rejected() {
        let mut plan = FaultPlan::new(1, FaultConfig::default());
        plan.queue(Fault::Hang, 2).unwrap();
        assert_eq!(plan.decide(0), Some(Fault::Hang));
        assert_eq!(plan.decide(1), Some(Fault::Hang));
        assert_eq!(plan.decide(2), None);
        let bad = FaultConfig {
            rate_421: 1.5,
            ..FaultConfig::default()
        };
        assert!(bad.validate().unwrap_err().contains("rate_421"));
    }

    #[test]
    fn short_page_keeps_paging_and_eof_but_loses_rows() {
        let body = "[RESPONSE]\ncode = 200\ndescription = ok\nproperty[column][0] = domain\n\
                    property[domain][0] = a.com\nproperty[domain][1] = b.com\n\
                    property[domain][2] = c.com\nproperty[domain][3] = d.com\n\
                    property[count][0] = 4\nproperty[total][0] = 9\nEOF\n";
        let short = drop_rows(body);
        assert!(short.contains("property[domain][1] = b.com\n"), "{short}");
        assert!(
            !short.contains("c.com") && !short.contains("d.com"),
            "{short}"
        );
        assert!(short.contains("property[count][0] = 4\n") && short.ends_with("EOF\n"));
        let upper = drop_rows(
            "[RESPONSE]\nCODE = 200\nPROPERTY[COUNT][0] = 1\nPROPERTY[DOMAIN][0] = a.com\nEOF\n",
        );
        assert!(!upper.contains("a.com"), "{upper}");
        let not_a_list = "[RESPONSE]\ncode = 200\nproperty[amount][0] = 1\nEOF\n";
        assert_eq!(drop_rows(not_a_list), not_a_list);
    }

    #[test]
    fn truncation_drops_the_eof() {
        let body = "[RESPONSE]\ncode = 200\ndescription = Command completed successfully\nEOF\n";
        let cut = truncate(body);
        assert!(!cut.contains("EOF"));
        assert!(cut.starts_with("[RESPONSE]"));
    }
}
