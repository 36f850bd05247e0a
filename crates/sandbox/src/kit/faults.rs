//! The fault decision every sandbox shares: scripted one-shot faults first, then the
//! fault rates, rolled per request so request `n` always gets the same fault for the same
//! seed and rates.
//!
//! Names are the same in every sandbox: the faults `http500`, `truncated`, `hang`,
//! `short_page` and `command_failed`, and their rates `rate_http_500`, `rate_truncated`,
//! `rate_hang`, `rate_short_page`, `rate_command_failed`. Rates are rolled in that order
//! (hang first), so a sandbox lists them with [`Rate`] in the order of [`ROLL_ORDER`].

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::time::Duration;

/// One kind of misbehaviour; each sandbox supports the ones its real system shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    /// HTTP 500 with an HTML error page; the call is not carried out.
    Http500,
    /// The call is carried out, but the answer stops half-way (a dropped connection).
    Truncated,
    /// No answer until the hang time has passed (then HTTP 504); not carried out.
    Hang,
    /// A list answer loses the second half of its entries but keeps its counts.
    ShortPage,
    /// The protocol's retryable "command failed" (the registrar's code 421, Smart-NIC's
    /// `returnCode` 2400); not carried out. `code421` is its old registrar name.
    #[serde(alias = "code421")]
    CommandFailed,
}

/// The order rates are rolled in.
pub const ROLL_ORDER: [Fault; 5] = [
    Fault::Hang,
    Fault::Http500,
    Fault::Truncated,
    Fault::ShortPage,
    Fault::CommandFailed,
];

/// A fault rate: its setting's name (for messages), the probability, the fault.
pub type Rate = (&'static str, f64, Fault);

/// Rejects rates outside 0..=1 and sums above 1, naming the offending setting.
pub fn validate(rates: &[Rate]) -> Result<(), String> {
    let mut sum = 0.0;
    for (name, rate, _) in rates {
        if !(0.0..=1.0).contains(rate) {
            return Err(format!("{name} must be between 0 and 1, got {rate}"));
        }
        sum += rate;
    }
    if sum > 1.0 + 1e-9 {
        return Err(format!("fault rates add up to {sum}, more than 1"));
    }
    Ok(())
}

/// Decides the fault of each request of one sandbox.
#[derive(Debug, Clone)]
pub struct FaultPlan {
    /// Mixed into every roll: the sandbox seed and a per-sandbox salt.
    seed: u64,
    /// The faults this sandbox can show.
    supported: &'static [Fault],
    /// Faults for the next requests, in order (admin endpoint / Rust API).
    queued: VecDeque<Fault>,
}

impl FaultPlan {
    pub fn new(seed: u64, supported: &'static [Fault]) -> Self {
        FaultPlan {
            seed,
            supported,
            queued: VecDeque::new(),
        }
    }

    /// Refuses a fault this sandbox cannot show, naming the ones it can.
    pub fn check(&self, fault: Fault) -> Result<(), String> {
        if self.supported.contains(&fault) {
            return Ok(());
        }
        let names: Vec<String> = self.supported.iter().map(|f| name(*f)).collect();
        Err(format!(
            "this sandbox has no {} fault; use one of {}",
            name(fault),
            names.join(", ")
        ))
    }

    /// The next `count` requests get `fault`.
    pub fn queue(&mut self, fault: Fault, count: usize) -> Result<(), String> {
        self.check(fault)?;
        self.queued.extend(std::iter::repeat_n(fault, count));
        Ok(())
    }

    pub fn queued(&self) -> usize {
        self.queued.len()
    }

    /// The fault for request number `request` (0-based), if any: a queued one, else the
    /// roll against `rates` (given in [`ROLL_ORDER`]).
    pub fn decide(&mut self, request: u64, rates: &[Rate]) -> Option<Fault> {
        if let Some(fault) = self.queued.pop_front() {
            return Some(fault);
        }
        if rates.iter().map(|(_, rate, _)| rate).sum::<f64>() <= 0.0 {
            return None;
        }
        let mut rng =
            ChaCha8Rng::seed_from_u64(self.seed ^ request.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let roll: f64 = rng.gen();
        let mut edge = 0.0;
        for (_, rate, fault) in rates {
            edge += rate;
            if roll < edge {
                return Some(*fault);
            }
        }
        None
    }
}

/// The wire name of a fault (`http500`, `short_page`, …).
pub fn name(fault: Fault) -> String {
    serde_json::to_value(fault)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// Cuts a body roughly in half on a character boundary, as a dropped connection does.
pub fn truncate(body: &str) -> String {
    let mut cut = body.len() / 2;
    while !body.is_char_boundary(cut) {
        cut -= 1;
    }
    body[..cut].to_string()
}

/// What a web server in trouble answers: HTTP 500 with an HTML page.
pub fn http_500_page() -> Response {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        [(header::CONTENT_TYPE, "text/html")],
        "<html><head><title>500 Internal Server Error</title></head><body><h1>Internal Server Error</h1></body></html>\n",
    )
        .into_response()
}

/// A hanging request: nothing for `hang`, then HTTP 504.
pub async fn hang(hang: Duration) -> Response {
    tokio::time::sleep(hang).await;
    StatusCode::GATEWAY_TIMEOUT.into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: &[Fault] = &ROLL_ORDER;

    #[test]
    fn same_seed_same_faults_and_rate_is_roughly_kept() {
        let rates = [("rate_http_500", 0.1, Fault::Http500)];
        let mut a = FaultPlan::new(42, ALL);
        let mut b = FaultPlan::new(42, ALL);
        let faults: Vec<_> = (0..2000).map(|n| a.decide(n, &rates)).collect();
        let again: Vec<_> = (0..2000).map(|n| b.decide(n, &rates)).collect();
        assert_eq!(faults, again);
        let hits = faults
            .iter()
            .filter(|f| **f == Some(Fault::Http500))
            .count();
        assert!((140..=260).contains(&hits), "expected ~200, got {hits}");
    }

    #[test]
    fn queued_faults_come_first_and_unsupported_ones_are_named() {
        let mut plan = FaultPlan::new(1, &[Fault::Hang, Fault::Http500]);
        plan.queue(Fault::Hang, 2).unwrap();
        assert_eq!(plan.decide(0, &[]), Some(Fault::Hang));
        assert_eq!(plan.decide(1, &[]), Some(Fault::Hang));
        assert_eq!(plan.decide(2, &[]), None);
        let refused = plan.queue(Fault::ShortPage, 1).unwrap_err();
        assert!(
            refused.contains("short_page") && refused.contains("http500"),
            "{refused}"
        );
        assert_eq!(plan.queued(), 0);
    }

    #[test]
    fn bad_rates_are_named_and_old_names_still_parse() {
        let bad = [("rate_truncated", 1.5, Fault::Truncated)];
        assert!(validate(&bad).unwrap_err().contains("rate_truncated"));
        let too_much = [("a", 0.6, Fault::Hang), ("b", 0.6, Fault::Http500)];
        assert!(validate(&too_much).unwrap_err().contains("more than 1"));
        let old: Fault = serde_json::from_str("\"code421\"").unwrap();
        assert_eq!(old, Fault::CommandFailed);
        assert_eq!(name(Fault::ShortPage), "short_page");
    }
}
