//! Fault injection for the sandbox WHMCS, in the style of the registrar sandbox: the ways
//! a WHMCS installation misbehaves on a bad day, switched on through `POST /_sandbox/event`
//! (or [`super::WhmcsSandbox::apply`]):
//!
//! ```text
//! {"event":"set_faults","rate_http_500":1.0,"rate_truncated":0,"rate_hang":0,"rate_short_page":0,"hang_ms":3600000,"actions":["GetInvoices","GetInvoice"]}
//! {"event":"inject_fault","fault":"http500|truncated|hang|short_page","count":1}
//! ```
//!
//! `actions` limits the rates to those actions (any spelling; empty = every action), so a
//! test can let WHMCS "die" for the invoice look-ups only. Request `n` always gets the same
//! fault for the same rates: the roll is a function of the request number.

use crate::kit::faults::{self as kit, Rate};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One kind of misbehaviour: the kit's faults but `command_failed` (WHMCS has no
/// retryable protocol error). `short_page` drops the second half of a list answer's
/// entries, keeping `totalresults` and `numreturned`; other answers pass unchanged.
pub type WhmcsFault = kit::Fault;

/// The faults the WHMCS sandbox shows.
const SUPPORTED: &[WhmcsFault] = &[
    WhmcsFault::Hang,
    WhmcsFault::Http500,
    WhmcsFault::Truncated,
    WhmcsFault::ShortPage,
];

/// Fault rates (probabilities per API request, rolled in the order hang, HTTP 500,
/// truncated, short page) and the actions they apply to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct WhmcsFaults {
    pub rate_http_500: f64,
    pub rate_truncated: f64,
    pub rate_hang: f64,
    pub rate_short_page: f64,
    /// How long a hanging request waits before it is answered with 504.
    pub hang_ms: u64,
    /// Actions the rates apply to (empty: all).
    pub actions: Vec<String>,
}

impl Default for WhmcsFaults {
    fn default() -> Self {
        WhmcsFaults {
            rate_http_500: 0.0,
            rate_truncated: 0.0,
            rate_hang: 0.0,
            rate_short_page: 0.0,
            hang_ms: 3_600_000,
            actions: Vec::new(),
        }
    }
}

impl WhmcsFaults {
    fn rates(&self) -> [Rate; 4] {
        [
            ("rate_hang", self.rate_hang, WhmcsFault::Hang),
            ("rate_http_500", self.rate_http_500, WhmcsFault::Http500),
            ("rate_truncated", self.rate_truncated, WhmcsFault::Truncated),
            (
                "rate_short_page",
                self.rate_short_page,
                WhmcsFault::ShortPage,
            ),
        ]
    }

    /// Rejects rates outside 0..=1 and sums above 1, naming the setting.
    pub fn validate(&self) -> Result<(), String> {
        kit::validate(&self.rates())
    }
}

/// A scripted event for `POST /_sandbox/event`.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum WhmcsEvent {
    /// Replaces the fault rates.
    SetFaults(WhmcsFaults),
    /// The next `count` API requests fail with `fault`.
    InjectFault {
        fault: WhmcsFault,
        #[serde(default = "one")]
        count: usize,
    },
    /// Every credential's API role: these actions only (`None`: all). See `access.rs`.
    SetApiRole { actions: Option<Vec<String>> },
    /// The API IP Access Restriction list.
    SetAllowedIps { ips: Vec<std::net::IpAddr> },
}

fn one() -> usize {
    1
}

/// The WHMCS fault rates, the kit's decision, and the request count it rolls on.
#[derive(Debug)]
pub(crate) struct FaultSwitch {
    pub(crate) faults: WhmcsFaults,
    plan: kit::FaultPlan,
    requests: u64,
}

impl Default for FaultSwitch {
    fn default() -> Self {
        FaultSwitch {
            faults: WhmcsFaults::default(),
            plan: kit::FaultPlan::new(0x5EED_FA17, SUPPORTED),
            requests: 0,
        }
    }
}

impl FaultSwitch {
    pub(crate) fn apply(&mut self, event: WhmcsEvent) -> Result<String, String> {
        match event {
            WhmcsEvent::SetFaults(faults) => {
                faults.validate()?;
                self.faults = faults;
                Ok("fault rates set".into())
            }
            WhmcsEvent::InjectFault { fault, count } => {
                self.plan.queue(fault, count)?;
                Ok(format!("{count} {fault:?} fault(s) queued"))
            }
            WhmcsEvent::SetApiRole { .. } | WhmcsEvent::SetAllowedIps { .. } => {
                Err("an access event, not a fault (the sandbox applies it itself)".into())
            }
        }
    }

    /// The fault for the next request, which calls `action` (normalised). The rates
    /// apply only to the configured actions; queued faults to any.
    pub(crate) fn decide(&mut self, action: &str) -> Option<WhmcsFault> {
        let request = self.requests;
        self.requests += 1;
        let applies = self.faults.actions.is_empty()
            || self
                .faults
                .actions
                .iter()
                .any(|a| super::call::normalise_action(a) == action);
        let rates = if applies {
            self.faults.rates().to_vec()
        } else {
            Vec::new()
        };
        self.plan.decide(request, &rates)
    }
}

/// Cuts a body roughly in half (on a character boundary), as a dropped connection does.
pub(crate) fn truncate(body: &str) -> String {
    kit::truncate(body)
}

/// The list containers of WHMCS answers (`domains.domain`, `invoices.invoice`, …).
const LISTS: [(&str, &str); 6] = [
    ("domains", "domain"),
    ("invoices", "invoice"),
    ("tickets", "ticket"),
    ("items", "item"),
    ("clients", "client"),
    ("currencies", "currency"),
];

/// Drops the second half (at least one) of the entries of a JSON list answer, keeping
/// `totalresults` and `numreturned`. Bodies that are not such an answer pass unchanged.
pub(crate) fn drop_entries(body: &str) -> String {
    let Ok(Value::Object(mut answer)) = serde_json::from_str::<Value>(body) else {
        return body.to_string();
    };
    for (outer, inner) in LISTS {
        let Some(Value::Array(entries)) = answer
            .get_mut(outer)
            .and_then(|o| o.as_object_mut())
            .and_then(|o| o.get_mut(inner))
        else {
            continue;
        };
        if entries.is_empty() {
            return body.to_string();
        }
        let keep = entries.len() - (entries.len() / 2).max(1);
        entries.truncate(keep);
        return Value::Object(answer).to_string();
    }
    body.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_page_keeps_the_counts_and_drops_entries() {
        let body = r#"{"result":"success","totalresults":3,"numreturned":3,"invoices":{"invoice":[{"id":1},{"id":2},{"id":3}]}}"#;
        let short: Value = serde_json::from_str(&drop_entries(body)).unwrap();
        assert_eq!(short["invoices"]["invoice"].as_array().unwrap().len(), 2);
        assert_eq!(short["numreturned"], 3);
        let plain = r#"{"result":"success","invoiceid":4}"#;
        assert_eq!(drop_entries(plain), plain);
    }

    #[test]
    fn rates_apply_to_the_named_actions_and_queued_faults_come_first() {
        let mut switch = FaultSwitch::default();
        switch
            .apply(WhmcsEvent::SetFaults(WhmcsFaults {
                rate_http_500: 1.0,
                actions: vec!["GetInvoice".into()],
                ..WhmcsFaults::default()
            }))
            .unwrap();
        assert_eq!(switch.decide("getinvoice"), Some(WhmcsFault::Http500));
        assert_eq!(switch.decide("getclientsdomains"), None);
        switch
            .apply(WhmcsEvent::InjectFault {
                fault: WhmcsFault::Hang,
                count: 1,
            })
            .unwrap();
        assert_eq!(switch.decide("getclientsdomains"), Some(WhmcsFault::Hang));
        let bad = switch.apply(WhmcsEvent::SetFaults(WhmcsFaults {
            rate_truncated: 2.0,
            ..WhmcsFaults::default()
        }));
        assert!(bad.unwrap_err().contains("rate_truncated"));
        let event: WhmcsEvent =
            serde_json::from_str(r#"{"event":"set_faults","rate_truncated":1.0}"#).unwrap();
        assert!(matches!(event, WhmcsEvent::SetFaults(f) if f.rate_truncated == 1.0));
    }

    #[test]
    fn truncation_leaves_json_that_does_not_close() {
        let body = r#"{"result":"success","totalresults":1,"currencies":{"currency":[{"id":1}]}}"#;
        let cut = truncate(body);
        assert!(serde_json::from_str::<Value>(&cut).unwrap_err().is_eof());
    }
}
