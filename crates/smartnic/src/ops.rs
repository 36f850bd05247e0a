//! Typed Smart-NIC operations and the [`RegistrarPort`] they make up. The wire contract
//! (which fields are sent and read) is in `docs/smartnic-operations.md`.

use crate::client::{Kind, SmartnicClient};
use crate::xml::{Node, Value};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate};
use domwatch_core::model::{ContactHandles, RegistrarDomain, RenewalMode};
use domwatch_core::money::RateTable;
use domwatch_core::ports::{
    AccountStatus, CancellationMethod, CancellationRequest, ContactDetails, PremiumCheck,
    RegistrarError, RegistrarPort, RenewOutcome, RenewRequest, TransferOutcome, TransferRequest,
    TransferStatus,
};
use domwatch_core::DomainName;

/// The fields `domainListExtended` is asked for (as the Smart-NIC exporter asks for them).
pub const LIST_FIELDS: [&str; 11] = [
    "domainName",
    "domainStatus",
    "status",
    "ownerC",
    "adminC",
    "techC",
    "zoneC",
    "systemInDate",
    "orderDate",
    "paidUntilDate",
    "toBeDeletedDate",
];

/// A handle as `handleList` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandleSummary {
    pub handle: String,
    pub first_name: String,
    pub last_name: String,
    pub company: String,
}

/// Dates come as Unix timestamps in strings (domainInfo); a plain `YYYY-MM-DD` is accepted
/// too. `0` and empty mean "no date".
pub fn parse_date(text: &str) -> Option<NaiveDate> {
    let text = text.trim();
    if text.is_empty() || text == "0" {
        return None;
    }
    if let Ok(secs) = text.parse::<i64>() {
        return DateTime::from_timestamp(secs, 0).map(|t| t.date_naive());
    }
    NaiveDate::parse_from_str(text.get(0..10)?, "%Y-%m-%d").ok()
}

/// `startDate` as sent: `YYYY-MM-DD` (the WSDL types it as a string; see the docs).
pub fn format_date(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

fn text(value: &str) -> Value {
    Value::Text(value.to_string())
}

fn opt_text(value: Option<&str>) -> Value {
    match value {
        Some(v) if !v.is_empty() => text(v),
        _ => Value::Nil,
    }
}

fn name_fields(name: &DomainName) -> Vec<(&'static str, Value)> {
    vec![
        ("domainName", text(&name.unicode())),
        ("domainNameAce", text(name.ascii())),
    ]
}

/// Maps one domain (from domainInfo's fields or a domainListExtended key/value row).
fn domain_from(get: impl Fn(&str) -> Option<String>) -> Result<RegistrarDomain, String> {
    let raw = get("domainName").ok_or("a domain without domainName")?;
    let name = DomainName::parse(&raw).map_err(|e| format!("domain `{raw}`: {e}"))?;
    let mut d = RegistrarDomain::new(name);
    let date = |key: &str| get(key).as_deref().and_then(parse_date);
    d.paid_until = date("paidUntilDate");
    d.registry_expiry = d.paid_until;
    d.created = date("systemInDate").or_else(|| date("orderDate"));
    d.pending_deletion = date("toBeDeletedDate");
    // Smart-NIC renews every domain unless a cancellation is pending.
    d.renewal_mode = Some(if d.pending_deletion.is_some() {
        RenewalMode::AutoDelete
    } else {
        RenewalMode::AutoRenew
    });
    d.status = ["domainStatus", "status"]
        .iter()
        .filter_map(|k| get(k))
        .collect();
    d.contacts = ContactHandles {
        owner: get("ownerC"),
        admin: get("adminC"),
        tech: get("techC"),
        billing: get("zoneC"),
    };
    Ok(d)
}

impl SmartnicClient {
    pub async fn domain_info(&self, name: &DomainName) -> Result<RegistrarDomain, RegistrarError> {
        let ret = self
            .call("domainInfo", Kind::Read, name_fields(name))
            .await?;
        let item = ret
            .child("domainsList")
            .and_then(|l| l.children.first())
            .ok_or_else(|| RegistrarError::Protocol {
                message: format!("domainInfo for {name}: empty domainsList"),
            })?;
        domain_from(|k| item.text_of(k).map(str::to_string))
            .map_err(|message| RegistrarError::Protocol { message })
    }

    /// One page of the bulk list.
    pub async fn list_page(
        &self,
        offset: u64,
        limit: u32,
    ) -> Result<(Vec<RegistrarDomain>, usize), RegistrarError> {
        let ret = self
            .call(
                "domainListExtended",
                Kind::Read,
                vec![
                    ("level", text("own")),
                    ("limit", text(&limit.to_string())),
                    ("offset", text(&offset.to_string())),
                    ("filter", Value::Pairs(Vec::new())),
                    (
                        "fields",
                        Value::Strings(LIST_FIELDS.iter().map(|f| f.to_string()).collect()),
                    ),
                ],
            )
            .await?;
        let rows = ret
            .child("domainInfo")
            .map(|l| l.children.as_slice())
            .unwrap_or(&[]);
        let mut domains = Vec::with_capacity(rows.len());
        for row in rows {
            let items = row
                .child("domainInfoItem")
                .map(|i| i.children.as_slice())
                .unwrap_or(&[]);
            let get = |key: &str| {
                items
                    .iter()
                    .find(|i| i.text_of("key") == Some(key))
                    .and_then(|i| i.text_of("value"))
                    .map(str::to_string)
            };
            match domain_from(get) {
                Ok(d) => domains.push(d),
                // One unreadable row must not lose the rest of the account.
                Err(e) => tracing::warn!(error = %e, "Smart-NIC list row skipped"),
            }
        }
        Ok((domains, rows.len()))
    }

    pub async fn domain_delete(
        &self,
        name: &DomainName,
        start: Option<NaiveDate>,
        notify: Option<&str>,
    ) -> Result<(), RegistrarError> {
        let mut fields = name_fields(name);
        fields.push(("notify", text(notify.unwrap_or(""))));
        fields.push(("startDate", opt_text(start.map(format_date).as_deref())));
        self.call("domainDelete", Kind::Write, fields)
            .await
            .map(drop)
    }

    /// Withdraws a pending order (here: the cancellation).
    pub async fn domain_revoke(&self, name: &DomainName) -> Result<(), RegistrarError> {
        let mut fields = name_fields(name);
        fields.push(("action", Value::Nil));
        self.call("domainRevoke", Kind::Write, fields)
            .await
            .map(drop)
    }

    pub async fn domain_transit(
        &self,
        name: &DomainName,
        start: Option<NaiveDate>,
    ) -> Result<(), RegistrarError> {
        let mut fields = name_fields(name);
        fields.push(("transitType", Value::Nil));
        fields.push(("startDate", opt_text(start.map(format_date).as_deref())));
        self.call("domainTransit", Kind::Write, fields)
            .await
            .map(drop)
    }

    pub async fn domain_restore(&self, name: &DomainName) -> Result<(), RegistrarError> {
        self.call("domainRestore", Kind::Write, name_fields(name))
            .await
            .map(drop)
    }

    /// Changes the given contact roles only (`billing` is the zone contact).
    pub async fn domain_update_contacts(
        &self,
        name: &DomainName,
        contacts: &ContactHandles,
        notify: Option<&str>,
    ) -> Result<(), RegistrarError> {
        let mut fields = name_fields(name);
        for (field, value) in [
            ("ownerC", &contacts.owner),
            ("adminC", &contacts.admin),
            ("techC", &contacts.tech),
            ("zoneC", &contacts.billing),
        ] {
            if let Some(handle) = value {
                fields.push((field, text(handle)));
            }
        }
        if let Some(notify) = notify {
            fields.push(("notify", text(notify)));
        }
        self.call("domainUpdate", Kind::Write, fields)
            .await
            .map(drop)
    }

    pub async fn handle_create(
        &self,
        contact: &ContactDetails,
        force_new: bool,
    ) -> Result<String, RegistrarError> {
        let mut fields = contact_fields(contact);
        fields.push(("forceNew", Value::Bool(force_new)));
        let ret = self.call("handleCreate", Kind::Write, fields).await?;
        ret.text_of("handleId")
            .map(str::to_string)
            .ok_or_else(|| RegistrarError::Protocol {
                message: "handleCreate succeeded without a handleId".into(),
            })
    }

    pub async fn handle_info(&self, handle: &str) -> Result<ContactDetails, RegistrarError> {
        let ret = self
            .call("handleInfo", Kind::Read, vec![("handle", text(handle))])
            .await?;
        Ok(contact_from(&ret))
    }

    pub async fn handle_update(
        &self,
        handle: &str,
        contact: &ContactDetails,
    ) -> Result<(), RegistrarError> {
        let mut fields = vec![("handle", text(handle))];
        fields.extend(
            contact_fields(contact)
                .into_iter()
                .filter(|(k, _)| !matches!(*k, "firstname" | "lastname")),
        );
        self.call("handleUpdate", Kind::Write, fields)
            .await
            .map(drop)
    }

    /// Every handle of the account, paged.
    pub async fn handle_list(&self) -> Result<Vec<HandleSummary>, RegistrarError> {
        let limit = self.config.page_size.max(1);
        let mut out = Vec::new();
        let mut offset = 0u64;
        loop {
            let ret = self
                .call(
                    "handleList",
                    Kind::Read,
                    vec![
                        ("level", text("own")),
                        ("limit", text(&limit.to_string())),
                        ("offset", text(&offset.to_string())),
                    ],
                )
                .await?;
            let items = ret
                .child("handleList")
                .map(|l| l.children.as_slice())
                .unwrap_or(&[]);
            for i in items {
                if let Some(handle) = i.text_of("handleId") {
                    out.push(HandleSummary {
                        handle: handle.to_string(),
                        first_name: i.text_of("firstname").unwrap_or("").to_string(),
                        last_name: i.text_of("lastname").unwrap_or("").to_string(),
                        company: i.text_of("company").unwrap_or("").to_string(),
                    });
                }
            }
            if items.len() < limit as usize {
                return Ok(out);
            }
            offset += items.len() as u64;
        }
    }
}

fn contact_fields(c: &ContactDetails) -> Vec<(&'static str, Value)> {
    vec![
        ("firstname", text(&c.first_name)),
        ("lastname", text(&c.last_name)),
        ("company", text(c.organization.as_deref().unwrap_or(""))),
        ("street", text(&c.street.join(", "))),
        ("pcode", text(&c.zip)),
        ("city", text(&c.city)),
        ("country", text(&c.country)),
        ("phone", text(&c.phone)),
        ("fax", text("")),
        ("email", text(&c.email)),
    ]
}

fn contact_from(ret: &Node) -> ContactDetails {
    let t = |k: &str| ret.text_of(k).unwrap_or("").to_string();
    ContactDetails {
        first_name: t("firstname"),
        last_name: t("lastname"),
        organization: ret.text_of("company").map(str::to_string),
        street: ret
            .text_of("street")
            .map(|s| vec![s.to_string()])
            .unwrap_or_default(),
        city: t("city"),
        state: None,
        zip: t("pcode"),
        country: t("country"),
        phone: t("phone"),
        email: t("email"),
    }
}

/// Identical for handle reuse: every detail equal, ignoring case and blanks.
fn same_contact(a: &ContactDetails, b: &ContactDetails) -> bool {
    let n = |s: &str| s.trim().to_lowercase();
    let org = |c: &ContactDetails| n(c.organization.as_deref().unwrap_or(""));
    n(&a.first_name) == n(&b.first_name)
        && n(&a.last_name) == n(&b.last_name)
        && org(a) == org(b)
        && n(&a.street.join(", ")) == n(&b.street.join(", "))
        && n(&a.zip) == n(&b.zip)
        && n(&a.city) == n(&b.city)
        && n(&a.country) == n(&b.country)
        && n(&a.phone) == n(&b.phone)
        && n(&a.email) == n(&b.email)
}

fn unsupported(what: &str) -> RegistrarError {
    RegistrarError::Permanent {
        code: 2000,
        description: format!("{what} is not an operation domwatch uses at Smart-NIC"),
    }
}

#[async_trait]
impl RegistrarPort for SmartnicClient {
    async fn list_domains(&self) -> Result<Vec<RegistrarDomain>, RegistrarError> {
        let limit = self.config.page_size.max(1);
        let mut all = Vec::new();
        let mut offset = 0u64;
        loop {
            let (page, rows) = self.list_page(offset, limit).await?;
            all.extend(page);
            if rows < limit as usize {
                return Ok(all);
            }
            offset += rows as u64;
        }
    }

    async fn status_domain(&self, name: &DomainName) -> Result<RegistrarDomain, RegistrarError> {
        self.domain_info(name).await
    }

    /// Smart-NIC has no premium pricing: every name is standard, and nothing is asked.
    async fn check_premium(
        &self,
        names: &[DomainName],
    ) -> Result<Vec<PremiumCheck>, RegistrarError> {
        Ok(names
            .iter()
            .map(|name| PremiumCheck {
                name: name.clone(),
                check_code: None,
                premium: None,
                renewal_price: None,
                registration_price: None,
            })
            .collect())
    }

    /// Smart-NIC has no renewal modes: a mode that lets the domain expire places a deletion
    /// at its paid-until date; a renewing mode withdraws a pending one.
    async fn set_renewal_mode(
        &self,
        name: &DomainName,
        mode: &RenewalMode,
    ) -> Result<(), RegistrarError> {
        let current = self.domain_info(name).await?;
        match (mode.lets_expire(), current.pending_deletion.is_some()) {
            (true, false) => {
                self.domain_delete(
                    name,
                    current.paid_until,
                    self.config.notify_email.as_deref(),
                )
                .await
            }
            (false, true) => self.domain_revoke(name).await,
            _ => Ok(()),
        }
    }

    async fn renew(&self, _: &RenewRequest) -> Result<RenewOutcome, RegistrarError> {
        Err(RegistrarError::Permanent {
            code: 2000,
            description: "Smart-NIC renews domains by itself each year unless cancelled; there is no renew command".into(),
        })
    }

    async fn transfer(&self, _: &TransferRequest) -> Result<TransferOutcome, RegistrarError> {
        Err(unsupported("a transfer order"))
    }

    async fn transfer_status(&self, _: &DomainName) -> Result<TransferStatus, RegistrarError> {
        Err(unsupported("a transfer status query"))
    }

    /// Smart-NIC bills in EUR: no rates.
    async fn exchange_rates(&self) -> Result<RateTable, RegistrarError> {
        Ok(RateTable::new())
    }

    async fn account_status(&self) -> Result<AccountStatus, RegistrarError> {
        Ok(AccountStatus::default())
    }

    async fn modify_contacts(
        &self,
        name: &DomainName,
        contacts: &ContactHandles,
    ) -> Result<(), RegistrarError> {
        self.domain_update_contacts(name, contacts, self.config.notify_email.as_deref())
            .await
    }

    /// Reuses a handle with identical details (looked up among the handles with the same
    /// name), else creates one.
    async fn add_contact(&self, contact: &ContactDetails) -> Result<String, RegistrarError> {
        let candidates: Vec<HandleSummary> = self
            .handle_list()
            .await?
            .into_iter()
            .filter(|h| {
                h.first_name
                    .trim()
                    .eq_ignore_ascii_case(contact.first_name.trim())
                    && h.last_name
                        .trim()
                        .eq_ignore_ascii_case(contact.last_name.trim())
            })
            .collect();
        for candidate in candidates {
            if same_contact(&self.handle_info(&candidate.handle).await?, contact) {
                return Ok(candidate.handle);
            }
        }
        self.handle_create(contact, false).await
    }

    async fn status_contact(&self, handle: &str) -> Result<ContactDetails, RegistrarError> {
        self.handle_info(handle).await
    }

    async fn list_contacts(&self) -> Result<Vec<String>, RegistrarError> {
        Ok(self
            .handle_list()
            .await?
            .into_iter()
            .map(|h| h.handle)
            .collect())
    }

    async fn place_cancellation(
        &self,
        request: &CancellationRequest,
    ) -> Result<(), RegistrarError> {
        let notify = request
            .notify_email
            .as_deref()
            .or(self.config.notify_email.as_deref());
        match &request.method {
            CancellationMethod::Transit => {
                self.domain_transit(&request.name, request.effective).await
            }
            CancellationMethod::Delete => {
                self.domain_delete(&request.name, request.effective, notify)
                    .await
            }
            CancellationMethod::RenewalMode { mode } if mode.lets_expire() => {
                self.domain_delete(&request.name, request.effective, notify)
                    .await
            }
            CancellationMethod::RenewalMode { mode } => Err(RegistrarError::Permanent {
                code: 2004,
                description: format!(
                    "renewal mode {} does not cancel anything",
                    mode.as_command_value()
                ),
            }),
        }
    }

    async fn withdraw_cancellation(
        &self,
        name: &DomainName,
        _restore_mode: &RenewalMode,
    ) -> Result<(), RegistrarError> {
        self.domain_revoke(name).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_unix_timestamps_or_iso() {
        assert_eq!(
            parse_date("1798761600"),
            NaiveDate::from_ymd_opt(2027, 1, 1)
        );
        assert_eq!(
            parse_date("2027-01-01"),
            NaiveDate::from_ymd_opt(2027, 1, 1)
        );
        assert_eq!(
            parse_date("2027-01-01 10:00:00"),
            NaiveDate::from_ymd_opt(2027, 1, 1)
        );
        assert_eq!(parse_date("0"), None);
        assert_eq!(parse_date(""), None);
        assert_eq!(parse_date("soon"), None);
        assert_eq!(
            format_date(NaiveDate::from_ymd_opt(2027, 1, 1).unwrap()),
            "2027-01-01"
        );
    }

    #[test]
    fn a_pending_deletion_reads_as_autodelete() {
        let row = |k: &str| match k {
            "domainName" => Some("Müller.de".to_string()),
            "paidUntilDate" => Some("1798761600".to_string()),
            "toBeDeletedDate" => Some("1798761600".to_string()),
            "zoneC" => Some("DBS-ZONE".to_string()),
            _ => None,
        };
        let d = domain_from(row).unwrap();
        assert_eq!(d.name.ascii(), "xn--mller-kva.de");
        assert_eq!(d.renewal_mode, Some(RenewalMode::AutoDelete));
        assert_eq!(d.pending_deletion, d.paid_until);
        assert_eq!(d.contacts.billing.as_deref(), Some("DBS-ZONE"));
        assert!(domain_from(|_| None).is_err());
    }
}
