//! Scripted events: what happens at Smart-NIC without a SOAP call from domwatch (an order
//! placed in the web front end, time passing, the endpoint starting to misbehave). Sent
//! as JSON to `POST /_sandbox/event` or applied with `SmartnicSandbox::apply`.

use super::faults::{FaultPlan, FaultRates, SmartnicFault};
use super::state::{Nameserver, State};
use crate::portfolio::add_years;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// One event. JSON: `{"event": "advance_clock", "days": 30}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum SmartnicEvent {
    /// The next `count` SOAP requests get `fault`.
    InjectFault {
        fault: SmartnicFault,
        #[serde(default = "one")]
        count: usize,
    },
    /// Replaces the fault rates, the latency and how long a hang lasts. The rates come
    /// as the kit's top-level `rate_hang`, `rate_http_500`, … (as in every sandbox) or in
    /// the older `rates` object; a top-level rate wins.
    SetFaults {
        #[serde(default)]
        rates: FaultRates,
        #[serde(flatten)]
        top_level: TopLevelRates,
        #[serde(default)]
        latency_ms: u64,
        #[serde(default = "default_hang_ms")]
        hang_ms: u64,
    },
    /// Time passes: due deletions and transits are carried out, other domains renew.
    AdvanceClock { days: i64 },
    /// A cancellation placed outside the API (web front end, support); `date` defaults to
    /// the paid-until day.
    PlaceCancellation {
        domain: String,
        #[serde(default)]
        date: Option<NaiveDate>,
        #[serde(default)]
        transit: bool,
    },
    /// Smart-NIC renewed the domain (its paid-until moves on by `years`).
    Renew {
        domain: String,
        #[serde(default = "one_year")]
        years: i32,
    },
    /// A zone's price changes (the shared price list's `zone_price` event): `renew` and,
    /// when given, `register` and `transfer`, in EUR per year.
    ZonePrice {
        zone: String,
        #[serde(with = "rust_decimal::serde::str")]
        renew: rust_decimal::Decimal,
        #[serde(default, with = "rust_decimal::serde::str_option")]
        register: Option<rust_decimal::Decimal>,
        #[serde(default, with = "rust_decimal::serde::str_option")]
        transfer: Option<rust_decimal::Decimal>,
    },
    /// The domain left the account at once (moved to another reseller, deleted by support).
    RemoveDomain { domain: String },
    /// Settings changed in the web front end: what is given replaces what the domain has.
    SetDomainDetails {
        domain: String,
        #[serde(default)]
        nameservers: Option<Vec<Nameserver>>,
        #[serde(default)]
        remarks: Option<String>,
        /// `ownerCWPP`, `adminCWPP`, `techCWPP`, `zoneCWPP`.
        #[serde(default)]
        wpp: Option<[Option<String>; 4]>,
        /// `notifyEmail`.
        #[serde(default)]
        notify: Option<String>,
    },
}

fn one() -> usize {
    1
}
fn one_year() -> i32 {
    1
}
fn default_hang_ms() -> u64 {
    30_000
}

/// The kit's rate names at the top level of `set_faults`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TopLevelRates {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_hang: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_http_500: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_truncated: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_command_failed: Option<f64>,
}

impl TopLevelRates {
    /// `rates` with every rate given here put in its place.
    fn over(&self, rates: FaultRates) -> FaultRates {
        FaultRates {
            hang: self.rate_hang.unwrap_or(rates.hang),
            http_500: self.rate_http_500.unwrap_or(rates.http_500),
            truncated: self.rate_truncated.unwrap_or(rates.truncated),
            command_failed: self.rate_command_failed.unwrap_or(rates.command_failed),
        }
    }
}

/// Latency and hang length, changed by [`SmartnicEvent::SetFaults`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    pub latency: Duration,
    pub hang: Duration,
}

/// Applies `event`; `Ok` says what happened, `Err` why it could not apply.
pub fn apply(
    event: SmartnicEvent,
    state: &mut State,
    faults: &mut FaultPlan,
    timing: &mut Timing,
) -> Result<String, String> {
    match event {
        SmartnicEvent::InjectFault { fault, count } => {
            faults.queue(fault, count)?;
            Ok(format!("the next {count} request(s) get {fault:?}"))
        }
        SmartnicEvent::SetFaults {
            rates,
            top_level,
            latency_ms,
            hang_ms,
        } => {
            let rates = top_level.over(rates);
            rates.validate()?;
            faults.rates = rates;
            timing.latency = Duration::from_millis(latency_ms);
            timing.hang = Duration::from_millis(hang_ms);
            Ok("fault settings replaced".into())
        }
        SmartnicEvent::AdvanceClock { days } => state.advance_clock(days),
        SmartnicEvent::ZonePrice {
            zone,
            renew,
            register,
            transfer,
        } => state.set_zone_price(&zone, renew, register, transfer),
        SmartnicEvent::PlaceCancellation {
            domain,
            date,
            transit,
        } => state.edit_domain(&domain, |record, today| {
            if record.gone.is_some() {
                return Err(format!("{domain} is no longer in the account"));
            }
            if record.to_be_deleted.is_some() {
                return Err(format!("{domain} already has a cancellation pending"));
            }
            let day = date.unwrap_or(record.paid_until);
            if day < today {
                return Err(format!(
                    "{day} lies in the past (the sandbox day is {today})"
                ));
            }
            record.to_be_deleted = Some(day);
            record.transit = transit;
            Ok(())
        }),
        SmartnicEvent::Renew { domain, years } => state.edit_domain(&domain, |record, _| {
            if !(1..=10).contains(&years) {
                return Err(format!("years {years}: use 1 to 10"));
            }
            if record.gone.is_some() {
                return Err(format!("{domain} is no longer in the account"));
            }
            record.paid_until = add_years(record.paid_until, years);
            Ok(())
        }),
        SmartnicEvent::RemoveDomain { domain } => state.edit_domain(&domain, |record, today| {
            if record.gone.is_some() {
                return Err(format!("{domain} is no longer in the account"));
            }
            record.gone = Some(super::state::Gone {
                on: today,
                transit: true,
            });
            record.to_be_deleted = None;
            Ok(())
        }),
        SmartnicEvent::SetDomainDetails {
            domain,
            nameservers,
            remarks,
            wpp,
            notify,
        } => state.edit_domain(&domain, |record, _| {
            if record.gone.is_some() {
                return Err(format!("{domain} is no longer in the account"));
            }
            if let Some(nameservers) = nameservers {
                record.nameservers = nameservers;
            }
            if let Some(remarks) = remarks {
                record.remarks = remarks;
            }
            if let Some(wpp) = wpp {
                record.wpp = wpp;
            }
            if let Some(notify) = notify {
                record.notify = Some(notify).filter(|n| !n.is_empty());
            }
            Ok(())
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::portfolio::Portfolio;
    use domwatch_core::model::Dialect;

    #[test]
    fn events_read_from_json_and_say_what_they_did() {
        let portfolio = Portfolio::new(3, 200, NaiveDate::from_ymd_opt(2026, 11, 22).unwrap());
        let mut state = State::new(portfolio, "r".into());
        let mut faults = FaultPlan::new(3, FaultRates::default());
        let mut timing = Timing {
            latency: Duration::ZERO,
            hang: Duration::from_secs(30),
        };
        let name = portfolio
            .domains_of(Dialect::Smartnic)
            .find(|d| d.registrar.present && !d.registrar.renewal_mode.lets_expire())
            .unwrap()
            .name;
        let other = portfolio
            .domains_of(Dialect::Smartnic)
            .filter(|d| d.registrar.present && d.name != name)
            .nth(1)
            .unwrap()
            .name;
        let mut run = |json: String| {
            let event: SmartnicEvent = serde_json::from_str(&json).unwrap();
            apply(event, &mut state, &mut faults, &mut timing)
        };
        let cancel = format!("{{\"event\":\"place_cancellation\",\"domain\":\"{name}\"}}");
        assert!(run(cancel.clone()).is_ok());
        assert!(run(cancel)
            .unwrap_err()
            .contains("already has a cancellation"));
        let removed = format!("{{\"event\":\"remove_domain\",\"domain\":\"{name}\"}}");
        assert!(run(removed.clone()).is_ok());
        assert!(run(removed).unwrap_err().contains("no longer"));
        assert!(run("{\"event\":\"advance_clock\",\"days\":-1}".into()).is_err());
        assert!(
            run("{\"event\":\"inject_fault\",\"fault\":\"http500\",\"count\":2}".into()).is_ok()
        );
        assert!(
            run("{\"event\":\"set_faults\",\"rates\":{\"hang\":2.0}}".into())
                .unwrap_err()
                .contains("hang")
        );
        assert!(run("{\"event\":\"renew\",\"domain\":\"not-here.de\"}".into()).is_err());

        let details = |domain: &str| {
            format!(
                "{{\"event\":\"set_domain_details\",\"domain\":\"{domain}\",\"remarks\":\"Kunde 7\",\
                 \"nameservers\":[{{\"ns\":\"ns1.kunde.de\",\"ipv4\":\"192.0.2.1\"}}]}}"
            )
        };
        assert!(run(details(&name.unicode()))
            .unwrap_err()
            .contains("no longer"));
        assert!(run(details(&other.unicode())).is_ok());
        assert_eq!(faults.queued(), 2);
        state
            .edit_domain(&other.unicode(), |record, _| {
                assert_eq!(record.remarks, "Kunde 7");
                assert_eq!(record.nameservers.len(), 1);
                assert_eq!(record.nameservers[0].ipv4.as_deref(), Some("192.0.2.1"));
                Ok(())
            })
            .unwrap();
    }

    #[test]
    fn set_faults_reads_the_kits_rate_names_and_the_old_rates_object() {
        let portfolio = Portfolio::new(3, 50, NaiveDate::from_ymd_opt(2026, 11, 22).unwrap());
        let mut state = State::new(portfolio, "r".into());
        let mut faults = FaultPlan::new(3, FaultRates::default());
        let mut timing = Timing {
            latency: Duration::ZERO,
            hang: Duration::from_secs(30),
        };
        let mut run = |json: &str| {
            let event: SmartnicEvent = serde_json::from_str(json).unwrap();
            apply(event, &mut state, &mut faults, &mut timing)
        };
        run(r#"{"event":"set_faults","rates":{"hang":0.25},"rate_truncated":0.5}"#).unwrap();
        let refused = run(r#"{"event":"set_faults","rate_http_500":3.0}"#).unwrap_err();
        assert!(refused.contains("rate_http_500"), "{refused}");
        assert_eq!(faults.rates.hang, 0.25);
        assert_eq!(faults.rates.truncated, 0.5);
    }
}
