//! The renewal forecast of a cycle: after enrich and the scope, every in-scope billed
//! domain that will renew is folded into a [`Forecaster`] straight from the observations
//! (no copy of the portfolio), and the report is recorded with the run. Domains the cycle
//! could not read are not in the sums; the record says it is partial and names them.

use crate::{CycleReport, Engine, EngineError};
use domwatch_core::detect::Observation;
use domwatch_core::forecast::{ForecastOptions, Forecaster, Renewal};
use domwatch_core::model::BillingStatus;
use domwatch_core::money::RateTable;
use domwatch_core::pricing::ExchangeRates;
use domwatch_core::Money;
use domwatch_store::ForecastRecord;
use rust_decimal::Decimal;

/// The renewal WHMCS will invoice for this observation, or `None` when it will not renew:
/// no billing row, a status WHMCS does not invoice (cancelled, expired, pending, …),
/// do-not-renew set, or no due date at all.
pub fn renewal_of(o: &Observation) -> Option<Renewal<'_>> {
    let b = o.billing.as_ref()?;
    let renews = matches!(
        b.status,
        BillingStatus::Active | BillingStatus::Grace | BillingStatus::Redemption
    ) && !b.do_not_renew;
    if !renews {
        return None;
    }
    let due = b.next_due.or(b.expiry)?;
    // The registrar price is per year; WHMCS renews for the registration period.
    let years = Decimal::from(b.registration_period_years.max(1));
    let cost = o
        .registrar
        .as_ref()
        .and_then(|r| r.renewal_price)
        .map(|p| Money::new(p.amount * years, p.currency));
    Some(Renewal {
        domain: &o.name,
        due,
        account: o.registrar_account.as_deref().unwrap_or(""),
        billed: b.recurring_amount,
        cost,
    })
}

/// What a partial cycle could not read, one line each: failed accounts, unreadable billing
/// rows, skipped domains and their reasons. Empty for a complete cycle.
pub fn missing_inputs(report: &CycleReport) -> Vec<String> {
    let mut missing: Vec<String> = report
        .failed_accounts
        .iter()
        .map(|(account, error)| {
            format!("registrar account {account} could not be read ({error}): its domains are not in the forecast")
        })
        .collect();
    if report.unreadable_billing_rows > 0 {
        missing.push(format!(
            "{} WHMCS domain row(s) could not be read: not in the forecast",
            report.unreadable_billing_rows
        ));
    }
    missing.extend(report.incomplete_inputs.iter().cloned());
    missing
}

impl Engine {
    /// Folds the in-scope observations into a forecast and records it with the run.
    pub(crate) async fn record_forecast(
        &self,
        run_id: i64,
        observations: &[Observation],
        rates: &RateTable,
        report: &CycleReport,
    ) -> Result<(), EngineError> {
        // The same rates detection uses (registrar rates over the configured fallbacks,
        // already merged), so the forecast margin agrees with the price cases.
        let rates = ExchangeRates::new(RateTable::new(), rates.clone());
        let mut forecaster = Forecaster::new(&*self.clock, &rates, ForecastOptions::default());
        for renewal in observations.iter().filter_map(renewal_of) {
            forecaster.add(renewal);
        }
        let missing = missing_inputs(report);
        let record = ForecastRecord {
            run_id,
            computed_at: self.now(),
            complete: missing.is_empty(),
            missing,
            report: forecaster.finish(),
        };
        self.store.save_forecast(&record).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domwatch_core::model::{BillingDomain, RegistrarDomain};
    use domwatch_core::{Currency, DomainName};
    use rust_decimal_macros::dec;

    fn observation(status: BillingStatus, do_not_renew: bool, years: u32) -> Observation {
        let name = DomainName::parse("müller.de").unwrap();
        let mut registrar = RegistrarDomain::new(name.clone());
        registrar.renewal_price = Some(Money::new(dec!(7), Currency::EUR));
        Observation {
            name: name.clone(),
            billing: Some(BillingDomain {
                id: 1,
                client_id: 1,
                name,
                registrar_module: "cnic".into(),
                status,
                recurring_amount: Money::new(dec!(20), Currency::USD),
                registration_period_years: years,
                expiry: chrono::NaiveDate::from_ymd_opt(2027, 2, 1),
                next_due: chrono::NaiveDate::from_ymd_opt(2027, 1, 15),
                do_not_renew,
                is_premium: None,
                premium_cost: None,
                id_protection: None,
            }),
            registrar: Some(registrar),
            registrar_account: Some("cnr".into()),
            renewal_invoice: None,
            transfer: None,
            missing_strikes: 0,
            lifecycle_watch: false,
        }
    }

    #[test]
    fn an_active_renewing_domain_is_due_on_its_next_due_date() {
        let o = observation(BillingStatus::Active, false, 1);
        let r = renewal_of(&o).unwrap();
        assert_eq!(r.due, chrono::NaiveDate::from_ymd_opt(2027, 1, 15).unwrap());
        assert_eq!(r.billed, Money::new(dec!(20), Currency::USD));
        assert_eq!(r.cost, Some(Money::new(dec!(7), Currency::EUR)));
        assert_eq!(r.account, "cnr");
    }

    #[test]
    fn the_cost_covers_the_whole_registration_period() {
        let o = observation(BillingStatus::Active, false, 2);
        let r = renewal_of(&o).unwrap();
        assert_eq!(r.cost, Some(Money::new(dec!(14), Currency::EUR)));
    }

    #[test]
    fn domains_that_will_not_renew_are_not_due() {
        assert!(renewal_of(&observation(BillingStatus::Active, true, 1)).is_none());
        for status in [
            BillingStatus::Cancelled,
            BillingStatus::Expired,
            BillingStatus::TransferredAway,
            BillingStatus::Fraud,
            BillingStatus::PendingTransfer,
        ] {
            assert!(renewal_of(&observation(status, false, 1)).is_none());
        }
    }

    #[test]
    fn a_partial_cycle_names_what_is_missing() {
        let mut report = CycleReport::default();
        assert!(missing_inputs(&report).is_empty());
        report
            .failed_accounts
            .insert("hx".into(), "530 Authentication failed".into());
        report.unreadable_billing_rows = 2;
        let missing = missing_inputs(&report);
        assert_eq!(missing.len(), 2);
        assert!(missing[0].contains("hx") && missing[0].contains("530"));
    }
}
