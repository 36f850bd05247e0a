//! Fault injection for the Smart-NIC sandbox: the ways a SOAP endpoint misbehaves,
//! reproducible from the seed (request number `n` always gets the same fault for the same
//! seed and rates). Queued one-shot faults come first.

use crate::kit::faults::{self as kit, Rate};
use serde::{Deserialize, Serialize};

/// One kind of misbehaviour: the kit's faults but `short_page` (SOAP answers have no
/// pages). `command_failed` is `returnCode` 2400 "Command failed"; the call is not
/// carried out.
pub type SmartnicFault = kit::Fault;

/// The faults the Smart-NIC sandbox shows.
const SUPPORTED: &[SmartnicFault] = &[
    SmartnicFault::Hang,
    SmartnicFault::Http500,
    SmartnicFault::Truncated,
    SmartnicFault::CommandFailed,
];

/// `returnCode` of [`SmartnicFault::CommandFailed`] (EPP's "command failed").
pub const COMMAND_FAILED: i64 = 2400;

/// Fault probabilities per SOAP request, rolled in the order hang, HTTP 500, truncated,
/// command failed. The JSON names are the kit's (`rate_hang`, …); the old short names
/// (`hang`, `http_500`, `truncated`, `command_failed`) are accepted too.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FaultRates {
    #[serde(alias = "rate_hang")]
    pub hang: f64,
    #[serde(alias = "rate_http_500")]
    pub http_500: f64,
    #[serde(alias = "rate_truncated")]
    pub truncated: f64,
    #[serde(alias = "rate_command_failed")]
    pub command_failed: f64,
}

impl FaultRates {
    /// Rejects rates outside 0..=1 and sums above 1, naming the offending setting.
    pub fn validate(&self) -> Result<(), String> {
        kit::validate(&self.all())
    }

    fn all(&self) -> [Rate; 4] {
        [
            ("rate_hang", self.hang, SmartnicFault::Hang),
            ("rate_http_500", self.http_500, SmartnicFault::Http500),
            ("rate_truncated", self.truncated, SmartnicFault::Truncated),
            (
                "rate_command_failed",
                self.command_failed,
                SmartnicFault::CommandFailed,
            ),
        ]
    }
}

/// The Smart-NIC fault rates and the kit's decision.
#[derive(Debug, Clone)]
pub struct FaultPlan {
    pub rates: FaultRates,
    plan: kit::FaultPlan,
}

impl FaultPlan {
    pub fn new(seed: u64, rates: FaultRates) -> Self {
        FaultPlan {
            rates,
            plan: kit::FaultPlan::new(seed ^ 0x50A9_FA17, SUPPORTED),
        }
    }

    /// The next `count` requests get `fault`.
    pub fn queue(&mut self, fault: SmartnicFault, count: usize) -> Result<(), String> {
        self.plan.queue(fault, count)
    }

    pub fn queued(&self) -> usize {
        self.plan.queued()
    }

    /// The fault for SOAP request number `request` (0-based), if any.
    pub fn decide(&mut self, request: u64) -> Option<SmartnicFault> {
        self.plan.decide(request, &self.rates.all())
    }
}

/// Cuts an answer roughly in half, inside the XML, so it cannot be parsed.
pub fn truncate(body: &str) -> String {
    kit::truncate(body)
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
        plan.queue(SmartnicFault::CommandFailed, 2).unwrap();
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
