//! Fault injection: the ways a real registrar endpoint misbehaves, reproducible from the
//! seed. Request number `n` always gets the same fault for the same seed and config.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// One kind of misbehaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    /// HTTP 200 with `code = 421`, "Command failed due to server error. Client should try
    /// again" (the registrar's retryable error).
    Code421,
    /// HTTP 500 with an HTML error page instead of a `[RESPONSE]` block.
    Http500,
    /// The body stops half-way: no `EOF`, last line cut.
    Truncated,
    /// A list page loses its second half of rows but keeps its paging data (`COUNT`,
    /// `TOTAL`) and its `EOF`: what a buggy proxy or server-side cut leaves. Answers
    /// without `COUNT` (not lists) pass unchanged.
    ShortPage,
    /// Never answers (within any sane client timeout).
    Hang,
}

/// Fault rates and latency. Rates are probabilities per API request, rolled in the order
/// hang, HTTP 500, truncated, short page, 421.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FaultConfig {
    /// Added to every API answer.
    pub latency_ms: u64,
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
    /// Rejects rates outside 0..=1 and rate sums above 1, with a message that names the
    /// offending setting.
    pub fn validate(&self) -> Result<(), String> {
        let rates = [
            ("rate_421", self.rate_421),
            ("rate_http_500", self.rate_http_500),
            ("rate_truncated", self.rate_truncated),
            ("rate_short_page", self.rate_short_page),
            ("rate_hang", self.rate_hang),
        ];
        for (name, rate) in rates {
            if !(0.0..=1.0).contains(&rate) {
                return Err(format!("{name} must be between 0 and 1, got {rate}"));
            }
        }
        let sum: f64 = rates.iter().map(|(_, r)| r).sum();
        if sum > 1.0 + 1e-9 {
            return Err(format!("fault rates add up to {sum}, more than 1"));
        }
        Ok(())
    }
}

/// Decides the fault of each request: scripted one-shot faults first, then the rates.
#[derive(Debug, Clone)]
pub struct FaultPlan {
    pub config: FaultConfig,
    seed: u64,
    /// Faults for the next requests, in order (from the admin endpoint / Rust API).
    queued: std::collections::VecDeque<Fault>,
}

impl FaultPlan {
    pub fn new(seed: u64, config: FaultConfig) -> Self {
        FaultPlan {
            config,
            seed,
            queued: Default::default(),
        }
    }

    pub fn queue(&mut self, fault: Fault, count: usize) {
        self.queued.extend(std::iter::repeat_n(fault, count));
    }

    pub fn queued(&self) -> usize {
        self.queued.len()
    }

    /// The fault for API request number `request` (0-based), if any.
    pub fn decide(&mut self, request: u64) -> Option<Fault> {
        if let Some(fault) = self.queued.pop_front() {
            return Some(fault);
        }
        let c = &self.config;
        if c.rate_421 + c.rate_http_500 + c.rate_truncated + c.rate_short_page + c.rate_hang <= 0.0
        {
            return None;
        }
        let mut rng = ChaCha8Rng::seed_from_u64(
            self.seed ^ 0xFA17_FA17 ^ request.wrapping_mul(0x9E37_79B9_7F4A_7C15),
        );
        let roll: f64 = rng.gen();
        let mut edge = 0.0;
        for (rate, fault) in [
            (c.rate_hang, Fault::Hang),
            (c.rate_http_500, Fault::Http500),
            (c.rate_truncated, Fault::Truncated),
            (c.rate_short_page, Fault::ShortPage),
            (c.rate_421, Fault::Code421),
        ] {
            edge += rate;
            if roll < edge {
                return Some(fault);
            }
        }
        None
    }
}

/// Cuts a rendered body roughly in half, mid-line, so the `EOF` is missing.
pub fn truncate(body: &str) -> String {
    let mut cut = body.len() / 2;
    while !body.is_char_boundary(cut) {
        cut -= 1;
    }
    // Never end exactly on a line break: a torn line is what a dropped connection leaves.
    let head = &body[..cut];
    head.trim_end_matches('\n').to_string()
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
            .filter(|f| **f == Some(Fault::Code421))
            .count();
        assert!(
            (140..=260).contains(&hits),
            "expected ~200 421s, got {hits}"
        );
    }

    #[test]
    fn queued_faults_come_first_and_bad_rates_are_rejected() {
        let mut plan = FaultPlan::new(1, FaultConfig::default());
        plan.queue(Fault::Hang, 2);
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
