//! Detectors for a domain present on both sides: billed in WHMCS and registered at the
//! registrar. Each check is one method; [`detect_both`] runs them in order, because later
//! checks stand back when an earlier one already explains the problem.

use super::{fmt_date, paid_period_missing, plausible_date, CaseKind, DetectionPolicy, Finding};
use crate::model::{BillingDomain, BillingStatus, RegistrarDomain};
use crate::money::{Money, RateTable};
use crate::observation::{Evidence, Observation, RenewalInvoice};
use chrono::NaiveDate;
use rust_decimal::Decimal;

/// Everything the checks share, computed once per domain.
struct Both<'a> {
    obs: &'a Observation,
    bill: &'a BillingDomain,
    reg: &'a RegistrarDomain,
    policy: &'a DetectionPolicy,
    today: NaiveDate,
    base: &'a dyn Fn(CaseKind, String) -> Finding,
    /// Registrar renewal cost in the client's currency, rounded to cents.
    cost_client: Option<Money>,
    /// The recurring amount the margin rule proposes.
    proposed: Option<Money>,
    /// What the reseller pays on top of the recurring amount per renewal.
    shortfall: Option<Money>,
}

#[allow(clippy::too_many_arguments)]
pub(super) fn detect_both(
    obs: &Observation,
    bill: &BillingDomain,
    reg: &RegistrarDomain,
    policy: &DetectionPolicy,
    rates: &RateTable,
    today: NaiveDate,
    base: &dyn Fn(CaseKind, String) -> Finding,
    out: &mut Vec<Finding>,
) {
    let converted = reg
        .renewal_price
        .and_then(|p| rates.convert(p, bill.recurring_amount.currency).ok());
    let cost_client = converted.map(Money::round_cents);
    let both = Both {
        obs,
        bill,
        reg,
        policy,
        today,
        base,
        cost_client,
        proposed: converted.map(|c| policy.margin.price_for(c)),
        shortfall: cost_client
            .and_then(|c| c.checked_sub(bill.recurring_amount).ok())
            .filter(|d| d.amount > Decimal::ZERO),
    };

    // 1. Renewals that were paid but did not happen (the seed's to-do case).
    let failed = both.failed_renewal();
    let renewal_failed = failed.is_some();
    out.extend(failed);
    // 2. Premium status and premium cost data.
    if both.reg.is_premium() {
        out.extend(both.premium(renewal_failed));
    }
    // 3. Price checks for domains that will renew.
    let premium_reported = out.iter().any(|f| {
        matches!(
            f.kind,
            CaseKind::TurnedPremium | CaseKind::RenewalFailedPremium
        )
    });
    if both.renews() && !premium_reported {
        out.extend(both.price());
    }
    // 4. Status drift, else 5. renewal mode drift.
    out.extend(both.status_drift().or_else(|| both.renewal_mode_drift()));
    // 6. Expiry drift (skipped when a failed renewal already explains it).
    if !renewal_failed {
        out.extend(both.expiry_drift());
    }
}

impl Both<'_> {
    fn renews(&self) -> bool {
        matches!(self.bill.status, BillingStatus::Active) && !self.bill.do_not_renew
    }

    fn registrar_renews(&self) -> bool {
        !self
            .reg
            .renewal_mode
            .as_ref()
            .is_some_and(|m| m.lets_expire())
    }

    fn name(&self) -> String {
        self.obs.name.display()
    }

    /// A finding with the price evidence and the price facts every price-related kind carries.
    fn priced(&self, kind: CaseKind, summary: String) -> Finding {
        let mut f = (self.base)(kind, summary);
        f.evidence.push(Evidence::new(
            "Renewal price",
            Some(format!("{} (recurring amount)", self.bill.recurring_amount)),
            self.reg.renewal_price.map(|p| match self.cost_client {
                Some(c) if c.currency != p.currency => format!("{p} = {c}"),
                _ => p.to_string(),
            }),
        ));
        f.facts.registrar_renewal_cost = self.reg.renewal_price;
        f.facts.renewal_cost_in_client_currency = self.cost_client;
        f.facts.proposed_recurring_amount = self.proposed;
        f.facts.premium_class = self.reg.premium.as_ref().map(|p| p.class.to_string());
        f
    }

    fn failed_renewal(&self) -> Option<Finding> {
        let inv = self.obs.renewal_invoice.as_ref()?;
        let recently_paid = inv.paid
            && inv.date_paid.is_some_and(|d| {
                (self.today - d).num_days() <= self.policy.paid_renewal_lookback_days
            });
        if !recently_paid || !paid_period_missing(self.bill, self.reg, inv, self.policy, self.today)
        {
            return None;
        }
        let premium_cause = self.reg.is_premium() && self.bill.is_premium != Some(true);
        let kind = if premium_cause {
            CaseKind::RenewalFailedPremium
        } else {
            CaseKind::PaidNotRenewed
        };
        let mut f = self.priced(kind, self.failed_renewal_summary(inv, premium_cause));
        // The renewal evidence comes first, the price line after it.
        let price_line = f.evidence.pop();
        f.evidence.push(Evidence::new(
            "Renewal invoice",
            Some(format!("#{} paid {}", inv.invoice_id, inv.amount)),
            None,
        ));
        f.evidence.push(Evidence::new(
            "Expiry",
            fmt_date(self.bill.expiry),
            fmt_date(self.reg.effective_expiry()),
        ));
        f.evidence.push(Evidence::new(
            "Next due date",
            fmt_date(self.bill.next_due),
            None,
        ));
        f.evidence.push(Evidence::new(
            "Paid period starts",
            Some(inv.due_date.to_string()),
            fmt_date(self.reg.effective_expiry()).map(|d| format!("term ends {d}")),
        ));
        f.evidence.extend(price_line);
        f.facts.renewal_invoice_id = Some(inv.invoice_id);
        f.at_stake = if premium_cause {
            self.shortfall
        } else {
            Some(inv.amount)
        };
        Some(f)
    }

    fn failed_renewal_summary(&self, inv: &RenewalInvoice, premium_cause: bool) -> String {
        let paid = inv.date_paid.map(|d| d.to_string()).unwrap_or_default();
        if premium_cause {
            format!(
                "{} was paid for renewal on {} but the registrar did not renew it: it is premium now and the premium fee was not accepted",
                self.name(),
                paid
            )
        } else {
            format!(
                "{} was paid for renewal on {} but the registrar still shows it expiring on {}",
                self.name(),
                paid,
                fmt_date(self.reg.effective_expiry()).unwrap_or_default()
            )
        }
    }

    fn premium(&self, renewal_failed: bool) -> Option<Finding> {
        let flagged_standard = match self.bill.is_premium {
            Some(flag) => !flag,
            // Without database access the flag is unknown: judge by the price billed.
            None => self.shortfall.is_some(),
        };
        if flagged_standard && !renewal_failed {
            Some(self.turned_premium())
        } else if self.bill.is_premium == Some(true) {
            self.premium_data_missing()
        } else {
            None
        }
    }

    fn turned_premium(&self) -> Finding {
        let class = self.reg.premium.as_ref().map(|p| p.class.to_string());
        let summary = format!(
            "{} is premium at the registrar ({}) but billed as a standard domain",
            self.name(),
            class.as_deref().unwrap_or("premium")
        );
        let mut f = self.priced(CaseKind::TurnedPremium, summary);
        let billed = match self.bill.is_premium {
            Some(true) => "yes",
            Some(false) => "no",
            None => "unknown (no database access)",
        };
        f.evidence
            .insert(0, Evidence::new("Premium", Some(billed.into()), class));
        f.at_stake = self.shortfall;
        f
    }

    fn premium_data_missing(&self) -> Option<Finding> {
        let stored = self.bill.premium_cost.as_ref().and_then(|p| p.renewal_cost);
        let stale = match (stored, self.reg.renewal_price) {
            (Some(s), Some(r)) => s.currency != r.currency || s.amount != r.amount,
            (None, _) => true,
            _ => false,
        };
        if !stale {
            return None;
        }
        let summary = match stored {
            None => format!(
                "{} is premium in billing but its premium renewal cost is not recorded",
                self.name()
            ),
            Some(s) => format!(
                "{} has a recorded premium renewal cost of {} but the registrar charges {}",
                self.name(),
                s,
                self.reg
                    .renewal_price
                    .map(|p| p.to_string())
                    .unwrap_or_default()
            ),
        };
        let mut f = self.priced(CaseKind::PremiumDataMissing, summary);
        f.evidence.insert(
            0,
            Evidence::new(
                "Premium renewal cost",
                Some(stored.map_or_else(|| "missing".into(), |s| s.to_string())),
                self.reg.renewal_price.map(|p| p.to_string()),
            ),
        );
        f.at_stake = self.shortfall;
        Some(f)
    }

    /// Underpriced renewal, else a margin below the configured minimum.
    fn price(&self) -> Option<Finding> {
        let cost = self.cost_client?;
        let recurring = self.bill.recurring_amount;
        if let Some(short) = self.shortfall {
            let summary = format!(
                "Renewing {} costs you {} but the client pays {}: you pay {} per renewal",
                self.name(),
                cost,
                recurring,
                short
            );
            let mut f = self.priced(CaseKind::RenewalUnderpriced, summary);
            f.at_stake = Some(short);
            return Some(f);
        }
        let min = self.policy.margin.min_margin_percent;
        if min <= Decimal::ZERO || cost.amount <= Decimal::ZERO {
            return None;
        }
        let margin = (recurring.amount - cost.amount) / cost.amount * Decimal::from(100);
        if margin >= min {
            return None;
        }
        let summary = format!(
            "{} renews at {} on a cost of {}: margin {:.1}% is below your minimum of {}%",
            self.name(),
            recurring,
            cost,
            margin,
            min
        );
        let mut f = self.priced(CaseKind::MarginBelowMinimum, summary);
        f.at_stake = self.proposed.and_then(|p| p.checked_sub(recurring).ok());
        Some(f)
    }

    fn renewal_evidence(&self, label: &str) -> Evidence {
        Evidence::new(
            label,
            Some(if self.bill.do_not_renew {
                "do not renew".into()
            } else {
                "renew".into()
            }),
            self.reg
                .renewal_mode
                .as_ref()
                .map(|m| m.as_command_value().to_string()),
        )
    }

    /// Not billed any more but still registered and renewing.
    fn status_drift(&self) -> Option<Finding> {
        let billing_gone = matches!(
            self.bill.status,
            BillingStatus::Cancelled
                | BillingStatus::Expired
                | BillingStatus::TransferredAway
                | BillingStatus::Fraud
        );
        if !billing_gone || !self.registrar_renews() {
            return None;
        }
        let mut f = (self.base)(
            CaseKind::StatusDrift,
            format!(
                "{} is {} in billing but still active at the registrar, which will renew it at your cost",
                self.name(),
                self.bill.status.as_whmcs()
            ),
        );
        let registered = if self.reg.status.is_empty() {
            "registered".to_string()
        } else {
            self.reg.status.join(", ")
        };
        f.evidence.push(Evidence::new(
            "Status",
            Some(self.bill.status.as_whmcs().to_string()),
            Some(registered),
        ));
        f.evidence.push(self.renewal_evidence("Renewal mode"));
        f.at_stake = self.reg.renewal_price;
        f.facts.registrar_renewal_cost = self.reg.renewal_price;
        Some(f)
    }

    fn renewal_mode_drift(&self) -> Option<Finding> {
        if self.bill.status != BillingStatus::Active {
            return None;
        }
        let registrar_mode = self.reg.renewal_mode.as_ref();
        let summary = if self.bill.do_not_renew {
            if !self.registrar_renews() {
                return None;
            }
            format!(
                "{} is set to do-not-renew in billing but the registrar will renew it ({})",
                self.name(),
                registrar_mode.map_or("DEFAULT", |m| m.as_command_value())
            )
        } else {
            let expected = self.policy.expected_renewal_mode.as_ref()?;
            if registrar_mode? == expected {
                return None;
            }
            format!(
                "{} has renewal mode {} at the registrar; your policy expects {}",
                self.name(),
                registrar_mode.map_or("unknown", |m| m.as_command_value()),
                expected.as_command_value()
            )
        };
        let mut f = (self.base)(CaseKind::RenewalModeDrift, summary);
        f.evidence.push(self.renewal_evidence("Renewal"));
        if self.bill.do_not_renew {
            f.at_stake = self.reg.renewal_price;
        }
        f.facts.registrar_renewal_cost = self.reg.renewal_price;
        Some(f)
    }

    fn expiry_drift(&self) -> Option<Finding> {
        let bill = self.bill;
        if !matches!(
            bill.status,
            BillingStatus::Active | BillingStatus::Grace | BillingStatus::Redemption
        ) {
            return None;
        }
        let reg_date = self.reg.effective_expiry()?;
        let differs = match bill.expiry {
            Some(b) => (b - reg_date).num_days().abs() > self.policy.expiry_tolerance_days,
            None => true,
        };
        if !differs {
            return None;
        }
        let plausible = plausible_date(reg_date, self.today);
        let billed = fmt_date(bill.expiry).unwrap_or_else(|| "no date".into());
        let summary = if plausible {
            format!(
                "{} expires on {} at the registrar but on {} in billing",
                self.name(),
                reg_date,
                billed
            )
        } else {
            format!(
                "{} has an implausible expiry date {} at the registrar; billing keeps {}. Check it at the registrar before changing anything",
                self.name(),
                reg_date,
                billed
            )
        };
        let mut f = (self.base)(CaseKind::ExpiryDrift, summary);
        f.evidence.push(Evidence::new(
            "Expiry",
            fmt_date(bill.expiry),
            Some(reg_date.to_string()),
        ));
        f.evidence.push(Evidence::new(
            "Next due date",
            fmt_date(bill.next_due),
            None,
        ));
        f.facts.proposed_expiry = plausible.then_some(reg_date);
        Some(f)
    }
}
