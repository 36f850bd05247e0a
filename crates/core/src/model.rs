//! Snapshots of the two sides: what the registrar says about a domain and what the
//! billing system (WHMCS) bills for it. Adapters produce these; detection compares them.

use crate::money::Money;
use crate::name::DomainName;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

/// Which registrar protocol dialect an account speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dialect {
    /// CentralNic Reseller (ex RRPproxy / Key-Systems).
    Cnr,
    /// HEXONET ISPAPI (merged into CNR in 2025; same codec, other field names).
    Ispapi,
    /// Smart-NIC domain-bestellsystem (SOAP).
    Smartnic,
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Dialect::Cnr => "cnr",
            Dialect::Ispapi => "ispapi",
            Dialect::Smartnic => "smartnic",
        })
    }
}

impl FromStr for Dialect {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "cnr" | "rrpproxy" | "keysystems" | "centralnic" => Ok(Dialect::Cnr),
            "ispapi" | "hexonet" => Ok(Dialect::Ispapi),
            "smartnic" | "domain-bestellsystem" => Ok(Dialect::Smartnic),
            other => Err(format!(
                "unknown registrar dialect `{other}`: use cnr, ispapi or smartnic"
            )),
        }
    }
}

/// Registrar-side renewal mode, normalised across dialects.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RenewalMode {
    /// Account default (CNR `DEFAULT`).
    Default,
    AutoRenew,
    AutoExpire,
    AutoDelete,
    RenewOnce,
    AutoRenewMonthly,
    AutoRenewQuarterly,
    ExpireAuction,
    /// Anything else the registrar sends, kept verbatim (boxed: rare, and every domain
    /// pays for the variant's size).
    Other(Box<str>),
}

impl RenewalMode {
    /// Parses both the upper-case command values (`AUTORENEW`) and the lower-case
    /// internal values HEXONET's wide list returns (`renew`, `expire`, `delete`).
    pub fn parse(s: &str) -> RenewalMode {
        // Compared without an upper-cased copy: a list parses one mode per domain.
        const NAMES: [(&str, RenewalMode); 12] = [
            ("DEFAULT", RenewalMode::Default),
            ("AUTORENEW", RenewalMode::AutoRenew),
            ("RENEW", RenewalMode::AutoRenew),
            ("AUTOEXPIRE", RenewalMode::AutoExpire),
            ("EXPIRE", RenewalMode::AutoExpire),
            ("AUTODELETE", RenewalMode::AutoDelete),
            ("DELETE", RenewalMode::AutoDelete),
            ("RENEWONCE", RenewalMode::RenewOnce),
            ("AUTORENEWMONTHLY", RenewalMode::AutoRenewMonthly),
            ("AUTORENEWQUARTERLY", RenewalMode::AutoRenewQuarterly),
            // A misspelling some registrars send.
            ("AUTORENEWQUATERLY", RenewalMode::AutoRenewQuarterly),
            ("EXPIREAUCTION", RenewalMode::ExpireAuction),
        ];
        let s = s.trim();
        NAMES
            .into_iter()
            .find(|(name, _)| s.eq_ignore_ascii_case(name))
            .map(|(_, mode)| mode)
            .unwrap_or_else(|| RenewalMode::Other(s.into()))
    }

    /// The value to send in `SetDomainRenewalMode RENEWALMODE=`.
    pub fn as_command_value(&self) -> &str {
        match self {
            RenewalMode::Default => "DEFAULT",
            RenewalMode::AutoRenew => "AUTORENEW",
            RenewalMode::AutoExpire => "AUTOEXPIRE",
            RenewalMode::AutoDelete => "AUTODELETE",
            RenewalMode::RenewOnce => "RENEWONCE",
            RenewalMode::AutoRenewMonthly => "AUTORENEWMONTHLY",
            RenewalMode::AutoRenewQuarterly => "AUTORENEWQUARTERLY",
            RenewalMode::ExpireAuction => "EXPIREAUCTION",
            RenewalMode::Other(s) => s,
        }
    }

    /// True when the registrar will let the domain go at the end of its term.
    pub fn lets_expire(&self) -> bool {
        matches!(self, RenewalMode::AutoExpire | RenewalMode::AutoDelete)
    }
}

/// Contact handles per role, as the registrar holds them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ContactHandles {
    pub owner: Option<String>,
    pub admin: Option<String>,
    pub tech: Option<String>,
    /// Billing contact (CNR/ISPAPI) or zone contact (Smart-NIC, DENIC "ZoneC").
    pub billing: Option<String>,
}

/// The one shared empty set of contact handles (lists that do not name contacts).
pub fn no_contacts() -> Arc<ContactHandles> {
    static EMPTY: std::sync::LazyLock<Arc<ContactHandles>> =
        std::sync::LazyLock::new(Default::default);
    EMPTY.clone()
}

/// The one shared empty status list.
pub fn no_status() -> Arc<[String]> {
    static EMPTY: std::sync::LazyLock<Arc<[String]>> =
        std::sync::LazyLock::new(|| Arc::from(Vec::new()));
    EMPTY.clone()
}

/// Premium data for a domain at the registrar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PremiumInfo {
    /// Registry price class, e.g. `PREMIUM_DONUTS_Price Category A` (ISPAPI `SUBCLASS`) or
    /// `premium` (CNR `X-FEE-CLASS`).
    pub class: Box<str>,
}

/// One domain as the registrar reports it, the same for every dialect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistrarDomain {
    pub name: DomainName,
    /// Registry expiration date (`REGISTRATIONEXPIRATIONDATE`).
    pub registry_expiry: Option<NaiveDate>,
    /// Registrar paid-until (`PAIDUNTILDATE`); WHMCS modules use this as expiry.
    pub paid_until: Option<NaiveDate>,
    pub created: Option<NaiveDate>,
    pub renewal_mode: Option<RenewalMode>,
    /// Raw status values (`ACTIVE`, `clientTransferProhibited`, ...); the list readers
    /// share one copy between the domains of a page with the same list.
    pub status: Arc<[String]>,
    pub premium: Option<PremiumInfo>,
    /// What one renewal year costs the reseller, in the account currency.
    pub renewal_price: Option<Money>,
    /// What a transfer costs, when known.
    pub transfer_price: Option<Money>,
    /// Shared between the domains of a list page with the same handles; change one
    /// domain's with `Arc::make_mut`.
    pub contacts: Arc<ContactHandles>,
    /// `clientTransferProhibited` set by the registrar (`TRANSFERLOCK`); `None` when the
    /// answer did not say, which never counts as off.
    pub transfer_lock: Option<bool>,
    /// WHOIS privacy / ID protection at the registrar (CNR `X-WHOIS-PRIVACY`); `None`
    /// when the answer did not say, which never counts as off.
    #[serde(default)]
    pub whois_privacy: Option<bool>,
    /// When a cancellation placed at the registrar takes effect (Smart-NIC
    /// `toBeDeletedDate`). CNR/ISPAPI express a cancellation as a renewal mode instead.
    #[serde(default)]
    pub pending_deletion: Option<NaiveDate>,
}

impl RegistrarDomain {
    pub fn new(name: DomainName) -> Self {
        Self {
            name,
            registry_expiry: None,
            paid_until: None,
            created: None,
            renewal_mode: None,
            status: no_status(),
            premium: None,
            renewal_price: None,
            transfer_price: None,
            contacts: no_contacts(),
            transfer_lock: None,
            whois_privacy: None,
            pending_deletion: None,
        }
    }

    pub fn is_premium(&self) -> bool {
        self.premium.is_some()
    }

    /// The date the billing side should match: paid-until when known, else registry expiry.
    /// True when the registrar renews the domain at the end of its term without being
    /// asked: no renewal mode that lets it expire, no deletion pending.
    pub fn renews_by_itself(&self) -> bool {
        !self.renewal_mode.as_ref().is_some_and(|m| m.lets_expire())
            && self.pending_deletion.is_none()
    }

    pub fn effective_expiry(&self) -> Option<NaiveDate> {
        self.paid_until.or(self.registry_expiry)
    }
}

/// WHMCS `tbldomains.status`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum BillingStatus {
    Pending,
    PendingRegistration,
    PendingTransfer,
    Active,
    Grace,
    Redemption,
    Expired,
    Cancelled,
    Fraud,
    TransferredAway,
    Other(String),
}

impl BillingStatus {
    pub fn parse(s: &str) -> BillingStatus {
        match s.trim() {
            "Pending" => BillingStatus::Pending,
            "Pending Registration" => BillingStatus::PendingRegistration,
            "Pending Transfer" => BillingStatus::PendingTransfer,
            "Active" => BillingStatus::Active,
            "Grace" => BillingStatus::Grace,
            "Redemption" => BillingStatus::Redemption,
            "Expired" => BillingStatus::Expired,
            "Cancelled" => BillingStatus::Cancelled,
            "Fraud" => BillingStatus::Fraud,
            "Transferred Away" => BillingStatus::TransferredAway,
            other => BillingStatus::Other(other.to_string()),
        }
    }

    /// The exact WHMCS enum text.
    pub fn as_whmcs(&self) -> &str {
        match self {
            BillingStatus::Pending => "Pending",
            BillingStatus::PendingRegistration => "Pending Registration",
            BillingStatus::PendingTransfer => "Pending Transfer",
            BillingStatus::Active => "Active",
            BillingStatus::Grace => "Grace",
            BillingStatus::Redemption => "Redemption",
            BillingStatus::Expired => "Expired",
            BillingStatus::Cancelled => "Cancelled",
            BillingStatus::Fraud => "Fraud",
            BillingStatus::TransferredAway => "Transferred Away",
            BillingStatus::Other(s) => s,
        }
    }

    /// Statuses under which the reseller still expects the domain to exist at the registrar.
    pub fn expects_registration(&self) -> bool {
        matches!(
            self,
            BillingStatus::Active | BillingStatus::Grace | BillingStatus::Redemption
        )
    }
}

/// Premium cost data WHMCS keeps in `tbldomains_extra` (registrar currency, un-marked-up).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillingPremiumCost {
    pub registration_cost: Option<Money>,
    pub renewal_cost: Option<Money>,
}

/// The shared copy of a WHMCS registrar module name. An install has a handful of modules
/// and a million billing rows: one string each would be tens of MiB of a cycle's peak.
pub fn registrar_module_name(name: &str) -> Arc<str> {
    /// More distinct names than this are not remembered (they are then simply not shared).
    const MAX_SHARED: usize = 64;
    static SEEN: std::sync::Mutex<Vec<Arc<str>>> = std::sync::Mutex::new(Vec::new());
    let mut seen = SEEN.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(known) = seen.iter().find(|known| ***known == *name) {
        return known.clone();
    }
    let new: Arc<str> = name.into();
    if seen.len() < MAX_SHARED {
        seen.push(new.clone());
    }
    new
}

/// One domain as the billing system bills it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillingDomain {
    /// `tbldomains.id`.
    pub id: u64,
    pub client_id: u64,
    pub name: DomainName,
    /// WHMCS registrar module name (`cnic`, `keysystems`, `ispapi`, `smartnic`, ...);
    /// shared between rows, see [`registrar_module_name`].
    pub registrar_module: Arc<str>,
    pub status: BillingStatus,
    /// What the client pays per renewal, in the client's currency.
    pub recurring_amount: Money,
    pub registration_period_years: u32,
    pub expiry: Option<NaiveDate>,
    pub next_due: Option<NaiveDate>,
    pub do_not_renew: bool,
    /// `None` when unknown (the API does not return `is_premium`; only the database does).
    pub is_premium: Option<bool>,
    /// Boxed: few rows are premium, and a million rows would each carry its 48 bytes.
    pub premium_cost: Option<Box<BillingPremiumCost>>,
    /// The ID protection add-on is billed (`idprotection`); `None` when unknown.
    #[serde(default)]
    pub id_protection: Option<bool>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registrar_module_names_are_shared() {
        let a = registrar_module_name("cnic");
        let b = registrar_module_name(&String::from("cnic"));
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(&*registrar_module_name("ispapi"), "ispapi");
        assert!(!Arc::ptr_eq(&a, &registrar_module_name("ispapi")));
    }

    #[test]
    fn a_new_domain_shares_the_empty_contacts_and_status() {
        let empty = RegistrarDomain::new(DomainName::parse("a.com").unwrap());
        assert!(Arc::ptr_eq(&empty.contacts, &no_contacts()));
        assert!(Arc::ptr_eq(&empty.status, &no_status()));
    }

    #[test]
    fn renewal_mode_accepts_both_spellings() {
        assert_eq!(RenewalMode::parse("renew"), RenewalMode::AutoRenew);
        assert_eq!(RenewalMode::parse("AUTOEXPIRE"), RenewalMode::AutoExpire);
        assert_eq!(
            RenewalMode::parse("AUTORENEWQUATERLY"),
            RenewalMode::AutoRenewQuarterly
        );
        assert_eq!(
            RenewalMode::parse("weird"),
            RenewalMode::Other("weird".into())
        );
        assert!(RenewalMode::AutoDelete.lets_expire());
    }

    #[test]
    fn billing_status_round_trips_whmcs_text() {
        for s in [
            "Pending",
            "Pending Registration",
            "Pending Transfer",
            "Active",
            "Grace",
            "Redemption",
            "Expired",
            "Cancelled",
            "Fraud",
            "Transferred Away",
        ] {
            assert_eq!(BillingStatus::parse(s).as_whmcs(), s);
        }
    }

    #[test]
    fn dialect_names() {
        assert_eq!("keysystems".parse::<Dialect>().unwrap(), Dialect::Cnr);
        assert!("foo".parse::<Dialect>().is_err());
    }
}
