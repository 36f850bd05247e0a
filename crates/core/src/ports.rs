//! Ports: the interfaces adapters implement so the monitor can stay free of I/O.
//!
//! [`RegistrarPort`] is what the monitor needs from a registrar account (CNR, ISPAPI, or a
//! sandbox), expressed only in core types. The `domwatch-rrp` crate implements it for the
//! CNR/ISPAPI HTTP protocol.

use crate::model::{ContactHandles, PremiumInfo, RegistrarDomain, RenewalMode};
use crate::money::{Money, RateTable};
use crate::name::DomainName;
use crate::text::Untrusted;
use async_trait::async_trait;
use chrono::NaiveDate;
use std::fmt;

/// Why a registrar call failed, sorted by what the caller should do about it. Text the
/// registrar sent is shown escaped: these messages end up in logs, the CLI and tickets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistrarError {
    /// The registrar refused the credentials (code 530 on login, or a role without access).
    #[error("registrar rejected the credentials for account `{account}` ({}): check login, password and role for account {account}", Untrusted(detail))]
    Auth { account: String, detail: String },
    /// A temporary failure (4xx, transport trouble after all retries). Try again later.
    #[error(
        "registrar temporarily unavailable: {code} {}; retries are exhausted, try again later",
        Untrusted(description)
    )]
    Temporary { code: u16, description: String },
    /// The registrar refused the command (5xx). Repeating it unchanged will fail again.
    #[error("registrar refused the command: {code} {}", Untrusted(description))]
    Permanent { code: u16, description: String },
    /// The registrar answered with something that is not a valid response.
    #[error(
        "unreadable registrar response: {}; check the endpoint URL, or report it if it persists",
        Untrusted(message)
    )]
    Protocol { message: String },
    /// No answer in time.
    #[error("registrar did not answer {what} within {seconds} s: check network reachability of the endpoint or raise the timeout")]
    Timeout { what: String, seconds: u64 },
    /// The registrar (or its protocol) offers no way to do this: nothing was sent.
    #[error("{what} is not supported by this registrar: {instead}")]
    Unsupported { what: String, instead: String },
}

impl RegistrarError {
    /// True when trying again later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            RegistrarError::Temporary { .. } | RegistrarError::Timeout { .. }
        )
    }

    /// The registrar answered that the object does not exist (CNR/ISPAPI 545, EPP and
    /// Smart-NIC 2303): an answer, unlike a failure to get one.
    pub fn is_not_found(&self) -> bool {
        matches!(
            self,
            RegistrarError::Permanent {
                code: 545 | 2303,
                ..
            }
        )
    }

    /// The registrar result code, when the registrar produced one.
    pub fn code(&self) -> Option<u16> {
        match self {
            RegistrarError::Temporary { code, .. } | RegistrarError::Permanent { code, .. } => {
                Some(*code)
            }
            _ => None,
        }
    }
}

/// What a premium check says about one name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PremiumCheck {
    pub name: DomainName,
    /// The per-name check code (`210` available, `211` taken, `541` invalid …), if given.
    pub check_code: Option<u16>,
    /// `Some` when the registry prices the name as premium.
    pub premium: Option<PremiumInfo>,
    /// Renewal price quoted by the check (CNR `X-FEE-COMMAND=renew`).
    pub renewal_price: Option<Money>,
    /// Registration price quoted by the check (ISPAPI `PRICE` for premium names).
    pub registration_price: Option<Money>,
}

/// Consent to pay a premium price, required by registries for premium renewals/transfers.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PremiumAcceptance {
    /// The price class (ISPAPI `CLASS=PREMIUM_…`).
    pub class: Option<String>,
    /// The price being accepted (CNR `X-FEE-AMOUNT` + `X-FEE-CURRENCY`).
    pub price: Option<Money>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenewRequest {
    pub name: DomainName,
    pub period_years: u32,
    /// Current registry expiry year, which some registries require as a safety check.
    pub current_expiry_year: Option<i32>,
    pub premium: Option<PremiumAcceptance>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RenewOutcome {
    /// New registry expiry, when the registrar reports it.
    pub new_expiry: Option<NaiveDate>,
}

/// An incoming transfer order. `Debug` hides the auth code.
#[derive(Clone, PartialEq, Eq)]
pub struct TransferRequest {
    pub name: DomainName,
    /// EPP auth code / transfer key. Secret.
    pub auth_code: String,
    pub period_years: Option<u32>,
    pub premium: Option<PremiumAcceptance>,
}

impl fmt::Debug for TransferRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TransferRequest")
            .field("name", &self.name)
            .field("auth_code", &"***")
            .field("period_years", &self.period_years)
            .field("premium", &self.premium)
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TransferOutcome {
    /// The registrar accepted the order and will finish it asynchronously.
    pub pending: bool,
    /// Status text when the registrar returns one.
    pub status: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TransferStatus {
    /// e.g. `INITIATED`, `PENDING`, `FAILED`.
    pub status: Option<String>,
    /// Transfer log lines, oldest first.
    pub log: Vec<String>,
    /// e.g. `INCOMING`.
    pub kind: Option<String>,
}

impl TransferStatus {
    pub fn has_failed(&self) -> bool {
        self.status
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case("failed"))
    }
}

/// One entry of a registrar's bulk list of incoming transfers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferInProgress {
    pub name: DomainName,
    /// The transfer status when the list carries one (CNR `WIDE=1`: `PENDING`, `FAILED`,
    /// …); `None` when it does not (ISPAPI), so the entry says only "a transfer is known".
    pub status: Option<String>,
}

impl TransferInProgress {
    pub fn has_failed(&self) -> bool {
        self.status
            .as_deref()
            .is_some_and(|s| s.trim().eq_ignore_ascii_case("failed"))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AccountStatus {
    /// Current balance (positive = prepaid money available).
    pub balance: Option<Money>,
    /// Credit line granted by the registrar.
    pub credit: Option<Money>,
    /// CNR `credit threshold`.
    pub credit_threshold: Option<Money>,
    /// ISPAPI `DEPOSIT`.
    pub deposit: Option<Money>,
}

/// Contact data for creating or reading a handle.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ContactDetails {
    pub first_name: String,
    pub last_name: String,
    pub organization: Option<String>,
    pub street: Vec<String>,
    pub city: String,
    pub state: Option<String>,
    pub zip: String,
    /// ISO 3166 alpha-2.
    pub country: String,
    /// `+CC.NUMBER`.
    pub phone: String,
    pub email: String,
}

/// How a cancellation ("Kündigung") is placed at the registrar.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum CancellationMethod {
    /// CNR/ISPAPI: the domain is let go at the end of its term by its renewal mode
    /// (`AUTODELETE` or `AUTOEXPIRE`).
    RenewalMode { mode: RenewalMode },
    /// Smart-NIC `domainDelete` with the term end as start date.
    Delete,
    /// .de at Smart-NIC: `domainTransit`, handing the domain to DENIC TRANSIT (for holders
    /// who have not consented to a deletion).
    Transit,
}

impl CancellationMethod {
    /// The registrar operation that places it, for audit lines and guides.
    pub fn operation(&self) -> &'static str {
        match self {
            CancellationMethod::RenewalMode { .. } => "SetDomainRenewalMode",
            CancellationMethod::Delete => "domainDelete",
            CancellationMethod::Transit => "domainTransit",
        }
    }
}

impl fmt::Display for CancellationMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CancellationMethod::RenewalMode { mode } => {
                write!(f, "renewal mode {}", mode.as_command_value())
            }
            CancellationMethod::Delete => f.write_str("deletion order (domainDelete)"),
            CancellationMethod::Transit => f.write_str("DENIC TRANSIT (domainTransit)"),
        }
    }
}

/// A cancellation to place at the registrar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CancellationRequest {
    pub name: DomainName,
    pub method: CancellationMethod,
    /// When the cancellation should take effect (the end of the paid term); `None` lets
    /// the registrar choose.
    pub effective: Option<NaiveDate>,
    /// Where the registrar sends its own notification mails about the order (Smart-NIC
    /// `notify`); ignored by registrars without such a field.
    pub notify_email: Option<String>,
}

/// A registrar account's price list: the costs, and the zones whose prices could not be
/// read (named with the reason), which get no verdict rather than a price of zero.
#[derive(Debug, Clone, Default)]
pub struct RegistrarPriceList {
    pub costs: crate::pricing::RegistrarCosts,
    pub unreadable: std::collections::BTreeMap<crate::pricing::Tld, String>,
}

/// What the monitor needs from one registrar account.
#[async_trait]
pub trait RegistrarPort: Send + Sync {
    /// Every domain in the account, in bulk (paged internally, never one call per domain).
    async fn list_domains(&self) -> Result<Vec<RegistrarDomain>, RegistrarError>;

    /// One domain in full detail, including its renewal price where the registrar tells it.
    async fn status_domain(&self, name: &DomainName) -> Result<RegistrarDomain, RegistrarError>;

    /// Premium status and prices for `names`, batched within the registrar's limits.
    async fn check_premium(
        &self,
        names: &[DomainName],
    ) -> Result<Vec<PremiumCheck>, RegistrarError>;

    async fn set_renewal_mode(
        &self,
        name: &DomainName,
        mode: &RenewalMode,
    ) -> Result<(), RegistrarError>;

    async fn renew(&self, request: &RenewRequest) -> Result<RenewOutcome, RegistrarError>;

    async fn transfer(&self, request: &TransferRequest) -> Result<TransferOutcome, RegistrarError>;

    async fn transfer_status(&self, name: &DomainName) -> Result<TransferStatus, RegistrarError>;

    /// Every incoming transfer the account knows about, in bulk (paged), so a cycle need
    /// not ask [`Self::transfer_status`] per domain. `Ok(None)`: the registrar has no such
    /// list, ask per domain.
    async fn transfer_list(&self) -> Result<Option<Vec<TransferInProgress>>, RegistrarError> {
        Ok(None)
    }

    /// Exchange rates the registrar bills with (EUR-based on both CNR and ISPAPI).
    async fn exchange_rates(&self) -> Result<RateTable, RegistrarError>;

    /// The account's full price list (every zone), read completely or not at all.
    /// `Ok(None)`: this registrar has no price list to read.
    async fn price_list(&self) -> Result<Option<RegistrarPriceList>, RegistrarError> {
        Ok(None)
    }

    async fn account_status(&self) -> Result<AccountStatus, RegistrarError>;

    /// One cheap read that needs a valid login (`domwatch doctor`); by default the
    /// account status.
    async fn check_login(&self) -> Result<(), RegistrarError> {
        self.account_status().await.map(|_| ())
    }

    /// Sets the given contact roles; `None` roles are left unchanged.
    async fn modify_contacts(
        &self,
        name: &DomainName,
        contacts: &ContactHandles,
    ) -> Result<(), RegistrarError>;

    /// Creates (or reuses an identical) contact and returns its handle.
    async fn add_contact(&self, contact: &ContactDetails) -> Result<String, RegistrarError>;

    async fn status_contact(&self, handle: &str) -> Result<ContactDetails, RegistrarError>;

    /// All contact handles in the account.
    async fn list_contacts(&self) -> Result<Vec<String>, RegistrarError>;

    /// Places a cancellation so the domain is not renewed at the reseller's cost.
    async fn place_cancellation(&self, request: &CancellationRequest)
        -> Result<(), RegistrarError>;

    /// Withdraws a pending cancellation (Smart-NIC `domainRevoke`). Where cancellations are
    /// renewal modes (CNR/ISPAPI), `restore_mode` is set back.
    async fn withdraw_cancellation(
        &self,
        name: &DomainName,
        restore_mode: &RenewalMode,
    ) -> Result<(), RegistrarError>;

    /// Turns WHOIS privacy (ID protection) on or off. Registrars without it say so.
    async fn set_whois_privacy(&self, _name: &DomainName, _on: bool) -> Result<(), RegistrarError> {
        Err(RegistrarError::Unsupported {
            what: "setting WHOIS privacy".into(),
            instead: "do it in the registrar's control panel".into(),
        })
    }

    /// Sets or lifts the transfer lock. Registrars without it say so.
    async fn set_transfer_lock(
        &self,
        _name: &DomainName,
        _locked: bool,
    ) -> Result<(), RegistrarError> {
        Err(RegistrarError::Unsupported {
            what: "setting the transfer lock".into(),
            instead: "do it in the registrar's control panel".into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transfer_request_debug_hides_the_auth_code() {
        let request = TransferRequest {
            name: DomainName::parse("example.com").unwrap(),
            auth_code: "Ro1Mt/z1Ge1F".into(),
            period_years: Some(1),
            premium: None,
        };
        let debug = format!("{request:?}");
        assert!(!debug.contains("Ro1Mt/z1Ge1F"), "{debug}");
        assert!(debug.contains("example.com"));
    }

    #[test]
    fn errors_say_what_to_do_and_classify() {
        let auth = RegistrarError::Auth {
            account: "reseller-1".into(),
            detail: "530 Authentication failed".into(),
        };
        assert!(auth
            .to_string()
            .contains("check login, password and role for account reseller-1"));
        assert!(!auth.is_retryable());
        let temporary = RegistrarError::Temporary {
            code: 421,
            description: "Command failed due to HTTP communication error".into(),
        };
        assert!(temporary.is_retryable());
        assert_eq!(temporary.code(), Some(421));
        let failed = TransferStatus {
            status: Some("failed".into()),
            ..Default::default()
        };
        assert!(failed.has_failed());
    }

    #[test]
    fn registrar_text_in_errors_cannot_forge_lines_or_escapes() {
        let forged = "Object exists\r\n2026-12-02T00:00:00Z INFO \x1b[32mall fine\u{202e}";
        for err in [
            RegistrarError::Auth {
                account: "a".into(),
                detail: forged.into(),
            },
            RegistrarError::Temporary {
                code: 421,
                description: forged.into(),
            },
            RegistrarError::Permanent {
                code: 545,
                description: forged.into(),
            },
            RegistrarError::Protocol {
                message: forged.into(),
            },
        ] {
            let shown = err.to_string();
            assert!(
                shown.contains(
                    "Object exists\\r\\n2026-12-02T00:00:00Z INFO \\u{1b}[32mall fine\\u{202e}"
                ),
                "{shown}"
            );
            assert!(!shown.contains(crate::text::is_unsafe), "{shown}");
        }
    }
}
