//! Fault injection for the Smart-NIC sandbox: the ways a SOAP endpoint misbehaves,
//! reproducible from the seed (request number `n` always gets the same fault for the same
//! seed and rates). Queued one-shot faults come first.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// One kind of misbehaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SmartnicFault {
    /// HTTP 500 with an HTML page; the call is not carried out.
    Http500,
    /// The call is carried out but the answer stops half-way (a dropped connection).
    Truncated,
    /// No answer until `hang` has passed (then HTTP 504); the call is not carried out.
    Hang,
    /// `returnCode` 2400 "Command failed"; the call is not carried out.
    CommandFailed,
}

/// `returnCode` of [`SmartnicFault::CommandFailed`] (EPP's "command failed").
pub const COMMAND_FAILED: i64 = 2400;

/// Fault probabilities per SOAP request, rolled in the order hang, HTTP 500, truncated,
/// command failed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FaultRates {
    pub hang: f64,
    pub http_500: f64,
    pub truncated: f64,
    pub command_failed: f64,
}

impl FaultRates {
    /// Rejects rates outside 0..=1 and sums above 1, naming the offending setting.
    pub fn validate(&self) -> Result<(), String> {
        let rates = self.all();
        for (name, rate) in rates {
            if !(0.0..=1.0).contains(&rate) {
                return Err(format!(
                    "fault rate {name} must be between 0 and 1, got {rate}"
                ));
            }
        }
        let sum: f64 = rates.iter().map(|(_, r)| r).sum();
        if sum > 1.0 + 1e-9 {
            return Err(format!("fault rates add up to {sum}, more than 1"));
        }
        Ok(())
    }

    fn all(&self) -> [(&'static str, f64); 4] {
        [
            ("hang", self.hang),
            ("http_500", self.http_500),
            ("truncated", self.truncated),
            ("command_failed", self.command_failed),
        ]
    }
}

/// Decides the fault of each request.
#[derive(Debug, Clone)]
pub struct FaultPlan {
    pub rates: FaultRates,
    seed: u64,
    queued: VecDeque<SmartnicFault>,
}

impl FaultPlan {
    pub fn new(seed: u64, rates: FaultRates) -> Self {
        FaultPlan {
            rates,
            seed,
            queued: VecDeque::new(),
        }
    }

    /// The next `count` requests get `fault`.
    pub fn queue(&mut self, fault: SmartnicFault, count: usize) {
        self.queued.extend(std::iter::repeat_n(fault, count));
    }

    pub fn queued(&self) -> usize {
        self.queued.len()
    }

    /// The fault for SOAP request number `request` (0-based), if any.
    pub fn decide(&mut self, request: u64) -> Option<SmartnicFault> {
        if let Some(fault) = self.queued.pop_front() {
            return Some(fault);
        }
        let r = &self.rates;
        if r.hang + r.http_500 + r.truncated + r.command_failed <= 0.0 {
            return None;
        }
        let mut rng = ChaCha8Rng::seed_from_u64(
            self.seed ^ 0x50A9_FA17 ^ request.wrapping_mul(0x9E37_79B9_7F4A_7C15),
        );
        let roll: f64 = rng.gen();
        let mut edge = 0.0;
        for (rate, fault) in [
            (r.hang, SmartnicFault::Hang),
            (r.http_500, SmartnicFault::Http500),
            (r.truncated, SmartnicFault::Truncated),
            (r.command_failed, SmartnicFault::CommandFailed),
        ] {
            edge += rate;
            if roll < edge {
                return Some(fault);
            }
        }
        None
    }
}

/// Cuts an answer roughly in half, inside the XML, so it cannot be parsed.
pub fn truncate(body: &str) -> String {
    let mut cut = body.len() / 2;
    while !body.is_char_boundary(cut) {
        cut -= 1;
    }
    body[..cut].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_faults_and_rates_roughly_kept() {
        let rates = FaultRates {
            http_500: 0.1,
            ..FaultRates::default()
        };
        let mut a = FaultPlan::new(42, rates.clone());
        let mut b = FaultPlan::new(42, rates);
        let faults: Vec<_> = (0..2000).map(|n| a.decide(n)).collect();
        let again: Vec<_> = (0..2000).map(|n| b.decide(n)).collect();
        assert_eq!(faults, again);
        let hits = faults
            .iter()
            .filter(|f| **f == Some(SmartnicFault::Http500))
            .count();
        assert!((140..=260).contains(&hits), "expected ~200, got {hits}");
    }

    #[test]
    fn queued_faults_come_first_and_bad_rates_are_named() {
        let mut plan = FaultPlan::new(1, FaultRates::default());
        plan.queue(SmartnicFault::CommandFailed, 2);
        assert_eq!(plan.decide(0), Some(SmartnicFault::CommandFailed));
        assert_eq!(plan.decide(1), Some(SmartnicFault::CommandFailed));
        assert_eq!(plan.decide(2), None);
        let bad = FaultRates {
            truncated: 1.5,
            ..FaultRates::default()
        };
        assert!(bad.validate().unwrap_err().contains("truncated"));
        let too_much = FaultRates {
            hang: 0.6,
            http_500: 0.6,
            ..FaultRates::default()
        };
        assert!(too_much.validate().is_err());
    }

    #[test]
    fn a_truncated_answer_is_not_xml_any_more() {
        let body = "<a><b>Müller</b><c>1</c></a>";
        let cut = truncate(body);
        assert!(body.starts_with(&cut) && cut.len() < body.len());
        assert!(domwatch_smartnic::xml::parse(&cut).is_err());
    }
}
