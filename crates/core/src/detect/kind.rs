//! The kinds of problem domwatch detects, with their names and titles.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Every kind of problem domwatch detects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseKind {
    /// Premium at the registrar, standard in billing.
    TurnedPremium,
    /// Premium in billing but the premium cost data is missing or stale.
    PremiumDataMissing,
    /// Registrar renewal cost (in the client's currency) above the recurring amount.
    RenewalUnderpriced,
    /// The recurring amount covers the cost but not the configured minimum margin.
    MarginBelowMinimum,
    /// The client paid the renewal but the registrar was not renewed.
    PaidNotRenewed,
    /// The renewal failed because the domain became premium (fee not accepted).
    RenewalFailedPremium,
    /// The transfer failed because the premium class or fee was not accepted.
    TransferFailedPremium,
    /// The transfer failed for another reason.
    TransferFailed,
    /// Billing expiry differs from the registrar's.
    ExpiryDrift,
    /// Billing status contradicts the registrar (e.g. cancelled but still registered).
    StatusDrift,
    /// Billing will not renew but the registrar will (or the configured mode differs).
    RenewalModeDrift,
    /// At the registrar, not in billing.
    OrphanAtRegistrar,
    /// Billed as registered, but not found at the registrar (after N strikes).
    MissingAtRegistrar,
    /// The renewal is unpaid and the registry's notice period approaches: cancel at the
    /// registrar (auto delete mode `ticket` or `enabled`).
    CancellationDue,
    /// The renewal was paid but a cancellation is pending at the registrar.
    CancellationWithdrawalDue,
    /// A contact role carries the wrong handle for the configured contact policy.
    ContactPolicyViolation,
    /// WHOIS privacy is on at the registrar but the ID protection add-on is not billed.
    IdProtectionNotBilled,
    /// ID protection is billed but WHOIS privacy is off at the registrar.
    IdProtectionBilledNotActive,
    /// The transfer lock is off where the zone supports it.
    TransferLockOff,
}

impl CaseKind {
    pub const ALL: [CaseKind; 19] = [
        CaseKind::TurnedPremium,
        CaseKind::PremiumDataMissing,
        CaseKind::RenewalUnderpriced,
        CaseKind::MarginBelowMinimum,
        CaseKind::PaidNotRenewed,
        CaseKind::RenewalFailedPremium,
        CaseKind::TransferFailedPremium,
        CaseKind::TransferFailed,
        CaseKind::ExpiryDrift,
        CaseKind::StatusDrift,
        CaseKind::RenewalModeDrift,
        CaseKind::OrphanAtRegistrar,
        CaseKind::MissingAtRegistrar,
        CaseKind::CancellationDue,
        CaseKind::CancellationWithdrawalDue,
        CaseKind::ContactPolicyViolation,
        CaseKind::IdProtectionNotBilled,
        CaseKind::IdProtectionBilledNotActive,
        CaseKind::TransferLockOff,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CaseKind::TurnedPremium => "turned_premium",
            CaseKind::PremiumDataMissing => "premium_data_missing",
            CaseKind::RenewalUnderpriced => "renewal_underpriced",
            CaseKind::MarginBelowMinimum => "margin_below_minimum",
            CaseKind::PaidNotRenewed => "paid_not_renewed",
            CaseKind::RenewalFailedPremium => "renewal_failed_premium",
            CaseKind::TransferFailedPremium => "transfer_failed_premium",
            CaseKind::TransferFailed => "transfer_failed",
            CaseKind::ExpiryDrift => "expiry_drift",
            CaseKind::StatusDrift => "status_drift",
            CaseKind::RenewalModeDrift => "renewal_mode_drift",
            CaseKind::OrphanAtRegistrar => "orphan_at_registrar",
            CaseKind::MissingAtRegistrar => "missing_at_registrar",
            CaseKind::CancellationDue => "cancellation_due",
            CaseKind::CancellationWithdrawalDue => "cancellation_withdrawal_due",
            CaseKind::ContactPolicyViolation => "contact_policy_violation",
            CaseKind::IdProtectionNotBilled => "id_protection_not_billed",
            CaseKind::IdProtectionBilledNotActive => "id_protection_billed_not_active",
            CaseKind::TransferLockOff => "transfer_lock_off",
        }
    }

    pub fn parse(s: &str) -> Option<CaseKind> {
        CaseKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// A short human title.
    pub fn title(self) -> &'static str {
        match self {
            CaseKind::TurnedPremium => "Domain became premium at the registrar",
            CaseKind::PremiumDataMissing => "Premium cost data missing or stale in billing",
            CaseKind::RenewalUnderpriced => "Renewal costs more than the client pays",
            CaseKind::MarginBelowMinimum => "Renewal margin below your minimum",
            CaseKind::PaidNotRenewed => "Renewal paid but not renewed at the registrar",
            CaseKind::RenewalFailedPremium => "Renewal failed: domain is premium now",
            CaseKind::TransferFailedPremium => "Transfer failed: premium fee not accepted",
            CaseKind::TransferFailed => "Transfer failed",
            CaseKind::ExpiryDrift => "Expiry date differs between billing and registrar",
            CaseKind::StatusDrift => "Status differs between billing and registrar",
            CaseKind::RenewalModeDrift => "Registrar renews a domain billing will not renew",
            CaseKind::OrphanAtRegistrar => "Domain at the registrar but not in billing",
            CaseKind::MissingAtRegistrar => "Domain billed but not found at the registrar",
            CaseKind::CancellationDue => "Renewal unpaid: cancel before the notice period",
            CaseKind::CancellationWithdrawalDue => {
                "Renewal paid: withdraw the pending cancellation"
            }
            CaseKind::ContactPolicyViolation => "Contact handles break your contact policy",
            CaseKind::IdProtectionNotBilled => "ID protection active but not billed",
            CaseKind::IdProtectionBilledNotActive => {
                "ID protection billed but not active at the registrar"
            }
            CaseKind::TransferLockOff => "Transfer lock off at the registrar",
        }
    }

    /// Kinds whose notice must reach an admin (to-do / ticket / e-mail) once per opening.
    pub fn needs_admin_notice(self) -> bool {
        matches!(
            self,
            CaseKind::TurnedPremium
                | CaseKind::PaidNotRenewed
                | CaseKind::RenewalFailedPremium
                | CaseKind::TransferFailedPremium
                | CaseKind::TransferFailed
                | CaseKind::MissingAtRegistrar
                | CaseKind::CancellationDue
                | CaseKind::CancellationWithdrawalDue
        )
    }

    /// Lifecycle kinds: their notices go out as bot tickets when a bot client is configured.
    pub fn is_lifecycle(self) -> bool {
        matches!(
            self,
            CaseKind::CancellationDue | CaseKind::CancellationWithdrawalDue
        )
    }
}

impl fmt::Display for CaseKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
