//! One entry of GetClientsDomains, read the same way from a parsed JSON tree and from the
//! streaming page reader, and the row that could not become a billing domain. Shared by
//! the actions and the page reader, so neither imports the other for it.

use crate::json::{self, Object};
use chrono::NaiveDate;
use domwatch_core::model::{BillingDomain, BillingStatus};
use domwatch_core::{Currency, DomainName, Money};
use rust_decimal::Decimal;
use std::borrow::Cow;

/// One entry of GetClientsDomains, as WHMCS sends it (amount without currency). The text
/// fields are `S`: owned by default, borrowed from the page while a snapshot is read, so
/// the three strings a billing domain does not keep are never allocated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientDomain<S = String> {
    pub id: u64,
    pub client_id: u64,
    pub order_id: Option<u64>,
    /// `Register` or `Transfer`.
    pub reg_type: S,
    pub domain: S,
    pub registrar_module: S,
    pub registration_period_years: u32,
    pub first_payment_amount: Decimal,
    /// In the client's currency (not stated in the answer; see GetClientsDetails).
    pub recurring_amount: Decimal,
    pub registration_date: Option<NaiveDate>,
    pub expiry: Option<NaiveDate>,
    pub next_due: Option<NaiveDate>,
    pub status: BillingStatus,
    pub do_not_renew: bool,
    /// The ID protection add-on (`idprotection`); `None` when the answer leaves it out.
    pub id_protection: Option<bool>,
}

impl ClientDomain {
    pub(crate) fn parse(entry: &Object) -> Result<Self, String> {
        ClientDomain::from_entry(entry).map(ClientDomain::into_owned)
    }
}

impl<'a> ClientDomain<Cow<'a, str>> {
    /// Builds a row from an entry of a parsed answer (its text copied from the entry).
    pub(crate) fn from_entry(entry: &Object) -> Result<Self, String> {
        Self::from_fields(|key| json::text(entry, key).map(Cow::Owned))
    }

    /// Builds a row from its fields' text (`None`: missing or null), with the lenient
    /// readers of [`crate::json`]; the text stays borrowed where the source allows.
    pub(crate) fn from_fields(
        field: impl Fn(&str) -> Option<Cow<'a, str>>,
    ) -> Result<Self, String> {
        let text = |key: &str| field(key).unwrap_or_default();
        let u64_of = |key: &str| json::u64_of(key, field(key).as_deref());
        let amount = |key: &str| {
            json::decimal_of(key, field(key).as_deref()).map(|a| a.unwrap_or(Decimal::ZERO))
        };
        let date = |key: &str| json::date_of(key, field(key).as_deref());
        Ok(Self {
            id: u64_of("id")?.ok_or("field `id` is missing")?,
            client_id: u64_of("userid")?.ok_or("field `userid` is missing")?,
            order_id: u64_of("orderid")?,
            reg_type: text("regtype"),
            domain: text("domainname"),
            registrar_module: text("registrar"),
            registration_period_years: u64_of("regperiod")?.unwrap_or(1) as u32,
            first_payment_amount: amount("firstpaymentamount")?,
            recurring_amount: amount("recurringamount")?,
            registration_date: date("regdate")?,
            expiry: date("expirydate")?,
            next_due: date("nextduedate")?,
            status: BillingStatus::parse(field("status").as_deref().unwrap_or("")),
            do_not_renew: json::flag_of(field("donotrenew").as_deref()),
            id_protection: field("idprotection").map(|v| json::flag_of(Some(&v))),
        })
    }

    /// The same row with its text owned.
    pub(crate) fn into_owned(self) -> ClientDomain {
        ClientDomain {
            id: self.id,
            client_id: self.client_id,
            order_id: self.order_id,
            reg_type: self.reg_type.into_owned(),
            domain: self.domain.into_owned(),
            registrar_module: self.registrar_module.into_owned(),
            registration_period_years: self.registration_period_years,
            first_payment_amount: self.first_payment_amount,
            recurring_amount: self.recurring_amount,
            registration_date: self.registration_date,
            expiry: self.expiry,
            next_due: self.next_due,
            status: self.status,
            do_not_renew: self.do_not_renew,
            id_protection: self.id_protection,
        }
    }
}

impl<S: AsRef<str> + Into<String>> ClientDomain<S> {
    /// The core model, moving or borrowing the strings; a row whose name is
    /// unusable comes back as [`UnreadableDomain`]. `is_premium` stays `None`: the API does
    /// not return it.
    pub fn into_billing_domain(
        self,
        currency: Currency,
    ) -> Result<BillingDomain, UnreadableDomain> {
        let name = match DomainName::parse(self.domain.as_ref()) {
            Ok(name) => name,
            Err(e) => {
                return Err(UnreadableDomain {
                    id: self.id,
                    reason: format!(
                        "domain #{} `{}` is not a valid name: {e}",
                        self.id,
                        domwatch_core::Untrusted(self.domain.as_ref())
                    ),
                    name: self.domain.into(),
                })
            }
        };
        Ok(BillingDomain {
            id: self.id,
            client_id: self.client_id,
            name,
            registrar_module: domwatch_core::model::registrar_module_name(
                self.registrar_module.as_ref(),
            ),
            status: self.status,
            recurring_amount: Money::new(self.recurring_amount, currency),
            registration_period_years: self.registration_period_years,
            expiry: self.expiry,
            next_due: self.next_due,
            do_not_renew: self.do_not_renew,
            is_premium: None,
            premium_cost: None,
            id_protection: self.id_protection,
        })
    }
}

/// A domain WHMCS holds that could not be turned into a [`BillingDomain`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnreadableDomain {
    pub id: u64,
    pub name: String,
    pub reason: String,
}
