//! Typed Smart-NIC operations and the [`RegistrarPort`] they make up. The wire contract
//! (which fields are sent and read) is in `docs/smartnic-operations.md`.

use crate::client::{Answered, SmartnicClient};
use crate::dates::parse_date;
use crate::list_reader::read_list_page;
use crate::operations::{self as request, DnssecItem, DomainExtension, DomainSettings, WPP_FIELDS};
use crate::xml::Node;
use async_trait::async_trait;
use chrono::NaiveDate;
use domwatch_core::model::{ContactHandles, RegistrarDomain, RenewalMode};
use domwatch_core::money::RateTable;
use domwatch_core::ports::{
    AccountStatus, CancellationMethod, CancellationRequest, ContactDetails, PremiumCheck,
    RegistrarError, RegistrarPort, RegistrarPriceList, RenewOutcome, RenewRequest, TransferOutcome,
    TransferRequest, TransferStatus,
};
use domwatch_core::{Currency, DomainName, Money};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

/// EPP's "object does not exist", used when domainInfo succeeds without the domain.
pub const NOT_FOUND: u16 = 2303;

/// A handle as `handleList` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandleSummary {
    pub handle: String,
    pub first_name: String,
    pub last_name: String,
    pub company: String,
}

/// One page of `domainListExtended`: the domains read and how many rows came (rows whose
/// name does not parse are skipped but still count for paging).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListPage {
    pub domains: Vec<RegistrarDomain>,
    pub rows: usize,
}

/// Maps one domain from its fields (domainInfo's elements or a domainListExtended row's
/// `{key, value}` items).
pub fn domain_from<'a>(get: impl Fn(&str) -> Option<&'a str>) -> Result<RegistrarDomain, String> {
    let mut d = name_and_dates_from(&get)?;
    d.status = status_from(status_cells(&get));
    d.contacts = contacts_from(contact_cells(&get)).into();
    Ok(d)
}

/// The domain with its name, dates and renewal mode; status and contacts left empty.
fn name_and_dates_from<'a>(
    get: &impl Fn(&str) -> Option<&'a str>,
) -> Result<RegistrarDomain, String> {
    let raw = get("domainName").ok_or("a domain without domainName")?;
    let name = DomainName::parse(raw).map_err(|e| format!("domain `{raw}`: {e}"))?;
    let mut d = RegistrarDomain::new(name);
    let date = |key: &str| get(key).and_then(parse_date);
    d.paid_until = date("paidUntilDate");
    // Smart-NIC reports no separate registry expiry: the paid-until day is the end of term.
    d.registry_expiry = d.paid_until;
    d.created = date("systemInDate").or_else(|| date("orderDate"));
    d.pending_deletion = date("toBeDeletedDate");
    // Smart-NIC renews every domain unless a cancellation is pending.
    d.renewal_mode = Some(if d.pending_deletion.is_some() {
        RenewalMode::AutoDelete
    } else {
        RenewalMode::AutoRenew
    });
    Ok(d)
}

/// The status values, in the order they make the status list.
fn status_cells<'a>(get: &impl Fn(&str) -> Option<&'a str>) -> [Option<&'a str>; 2] {
    [get("domainStatus"), get("status")]
}

/// The contact handles: owner, admin, tech, zone.
fn contact_cells<'a>(get: &impl Fn(&str) -> Option<&'a str>) -> [Option<&'a str>; 4] {
    [get("ownerC"), get("adminC"), get("techC"), get("zoneC")]
}

fn status_from(cells: [Option<&str>; 2]) -> Arc<[String]> {
    cells.into_iter().flatten().map(str::to_string).collect()
}

fn contacts_from([owner, admin, tech, zone]: [Option<&str>; 4]) -> ContactHandles {
    ContactHandles {
        owner: owner.map(str::to_string),
        admin: admin.map(str::to_string),
        tech: tech.map(str::to_string),
        billing: zone.map(str::to_string),
    }
}

/// The domains of a `domainListExtended` answer read as a tree.
pub fn list_page_from(ret: &Node) -> ListPage {
    let mut page = PageRows::default();
    let mut fields: Vec<(&str, Option<&str>)> = Vec::new();
    for row in ret.items("domainInfo") {
        fields.clear();
        fields.extend(
            row.items("domainInfoItem")
                .iter()
                .filter_map(|i| Some((i.text_of("key")?, i.text_of("value")))),
        );
        page.row(&fields);
    }
    page.finish()
}

/// Turns the rows of a list page, each as its `(key, value)` cells, into domains. Rows
/// with the same status or contact cells share one copy of them, made without strings
/// per row.
#[derive(Default)]
pub(crate) struct PageRows<'a> {
    domains: Vec<RegistrarDomain>,
    rows: usize,
    // Hashed by foldhash: a million-domain listing looks both up once per row.
    contacts: HashMap<[Option<&'a str>; 4], Arc<ContactHandles>, foldhash::fast::RandomState>,
    statuses: HashMap<[Option<&'a str>; 2], Arc<[String]>, foldhash::fast::RandomState>,
}

impl<'a> PageRows<'a> {
    /// One row; a key given twice counts with its first value, as in domainInfo.
    pub(crate) fn row(&mut self, fields: &[(&'a str, Option<&'a str>)]) {
        self.rows += 1;
        let get = |key: &str| fields.iter().find(|(k, _)| *k == key).and_then(|(_, v)| *v);
        match name_and_dates_from(&get) {
            Ok(mut d) => {
                let cells = status_cells(&get);
                d.status = self
                    .statuses
                    .entry(cells)
                    .or_insert_with(|| status_from(cells))
                    .clone();
                let cells = contact_cells(&get);
                d.contacts = self
                    .contacts
                    .entry(cells)
                    .or_insert_with(|| contacts_from(cells).into())
                    .clone();
                self.domains.push(d)
            }
            // One unreadable row must not lose the rest of the account.
            Err(error) => tracing::warn!(%error, "skipping an unreadable Smart-NIC list row"),
        }
    }

    pub(crate) fn finish(self) -> ListPage {
        ListPage {
            domains: self.domains,
            rows: self.rows,
        }
    }
}

/// A `domainListExtended` answer as a server writes one (namespace prefixes, `xsi:type`s):
/// `rows` of `(key, value)` cells, an empty value sent nil, then `tail` inside `return`.
#[cfg(test)]
pub(crate) fn list_answer(rows: &[&[(&str, &str)]], tail: &str) -> String {
    let row = |cells: &[(&str, &str)]| {
        let cells: String = cells
            .iter()
            .map(|(k, v)| match *v {
                "" => format!("<item><key>{k}</key><value xsi:nil=\"true\"/></item>"),
                v => format!(
                    "<item xsi:type=\"ns1:I\"><key xsi:type=\"xsd:string\">{k}</key>\
                     <value xsi:type=\"xsd:string\">{v}</value></item>"
                ),
            })
            .collect();
        format!("<item><domainInfoItem>{cells}</domainInfoItem></item>\n  ")
    };
    let rows: String = rows.iter().map(|cells| row(cells)).collect();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <SOAP-ENV:Envelope xmlns:SOAP-ENV=\"http://schemas.xmlsoap.org/soap/envelope/\" \
         xmlns:ns1=\"urn:x\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">\
         <SOAP-ENV:Body><ns1:domainListExtendedResponse><return xsi:type=\"ns1:R\">\
         <domainInfo xsi:type=\"ns1:A\">{rows}</domainInfo>{tail}</return>\
         </ns1:domainListExtendedResponse></SOAP-ENV:Body></SOAP-ENV:Envelope>"
    )
}

/// What a domainUpdate must send back unchanged, from domainInfo's item. An element the
/// update needs but the answer lacks is an error: sending it empty could wipe it.
pub fn settings_from(item: &Node) -> Result<DomainSettings, String> {
    let missing = |field: &str| format!("domainInfo did not report `{field}`");
    let text = |field: &str| -> Result<Option<String>, String> {
        item.child(field)
            .map(|_| item.text_of(field).map(str::to_string))
            .ok_or_else(|| missing(field))
    };
    let contacts = ContactHandles {
        owner: text("ownerC")?,
        admin: text("adminC")?,
        tech: text("techC")?,
        billing: text("zoneC")?,
    };
    let (nameservers, ns_entries) = nameservers_from(item).ok_or_else(|| missing("nameservers"))?;
    Ok(DomainSettings {
        contacts,
        nameservers,
        ns_entries,
        remarks: text("remarks")?.unwrap_or_default(),
        notify: item.text_of("notifyEmail").unwrap_or("").to_string(),
        extension: item.child("extension").map(extension_from),
    })
}

/// Host names and glue lines: `nameservers[] {ns, ipv4, ipv6}` when it lists any, else
/// `primaryNameserver` and `secondaryNameserver[]`. `None` when the answer has neither.
fn nameservers_from(item: &Node) -> Option<(Vec<String>, Vec<String>)> {
    let listed = item.items("nameservers");
    if listed.iter().any(|n| n.text_of("ns").is_some()) {
        let mut hosts = Vec::new();
        let mut glue = Vec::new();
        for n in listed {
            let Some(host) = n.text_of("ns") else {
                continue;
            };
            hosts.push(host.to_string());
            let ips: Vec<&str> = ["ipv4", "ipv6"]
                .iter()
                .filter_map(|k| n.text_of(k))
                .collect();
            if !ips.is_empty() {
                glue.push(format!("{host} {}", ips.join(" ")));
            }
        }
        return Some((hosts, glue));
    }
    if item.child("primaryNameserver").is_none() && item.child("secondaryNameserver").is_none() {
        return None;
    }
    let hosts = item
        .text_of("primaryNameserver")
        .into_iter()
        .chain(
            item.items("secondaryNameserver")
                .iter()
                .map(|n| n.text.trim()),
        )
        .filter(|h| !h.is_empty())
        .map(str::to_string)
        .collect();
    Some((hosts, Vec::new()))
}

fn extension_from(ext: &Node) -> DomainExtension {
    let records = |field: &str| -> Vec<DnssecItem> {
        ext.items(field)
            .iter()
            .map(|i| {
                i.children
                    .iter()
                    .map(|c| (c.name.clone(), c.text.trim().to_string()))
                    .collect()
            })
            .collect()
    };
    DomainExtension {
        wpp: WPP_FIELDS.map(|f| ext.text_of(f).map(str::to_string)),
        dnssec_keys: records("dnsSecKeyData"),
        dnssec_ds: records("dnsSecDSData"),
    }
}

/// The contact details of a `handleInfo` answer.
pub fn contact_from(ret: &Node) -> ContactDetails {
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

/// Renewal prices per zone from a `priceDomainList` answer (`annually`, active zones only;
/// `sld.tld` when the entry names a second level).
pub fn prices_from(ret: &Node) -> HashMap<String, Money> {
    let mut prices = HashMap::new();
    for item in ret.items("priceDomainList") {
        if item.text_of("activated") == Some("false") || item.text_of("activated") == Some("0") {
            continue;
        }
        let Some(tld) = item.text_of("tld") else {
            continue;
        };
        let tld = tld.trim_start_matches('.').to_ascii_lowercase();
        let zone = match item.text_of("sld") {
            Some(sld) => format!("{}.{tld}", sld.trim_matches('.').to_ascii_lowercase()),
            None => tld,
        };
        let currency = item
            .text_of("annually_currency")
            .and_then(|c| c.parse::<Currency>().ok())
            .unwrap_or(Currency::EUR);
        if let Some(price) = item
            .text_of("annually")
            .and_then(|a| Money::parse(a, currency).ok())
        {
            prices.insert(zone, price);
        }
    }
    prices
}

fn price_for(prices: &HashMap<String, Money>, name: &DomainName) -> Option<Money> {
    prices
        .get(name.zone())
        .or_else(|| prices.get(name.tld()))
        .copied()
}

/// The same contact, for handle reuse: every detail equal, ignoring case, blanks and
/// phone punctuation.
pub fn same_contact(a: &ContactDetails, b: &ContactDetails) -> bool {
    let n = |s: &str| {
        s.split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase()
    };
    let org = |c: &ContactDetails| n(c.organization.as_deref().unwrap_or(""));
    let phone = |s: &str| {
        s.chars()
            .filter(|c| c.is_ascii_digit() || *c == '+')
            .collect::<String>()
    };
    n(&a.first_name) == n(&b.first_name)
        && n(&a.last_name) == n(&b.last_name)
        && org(a) == org(b)
        && n(&request::street_line(&a.street)) == n(&request::street_line(&b.street))
        && n(&a.zip) == n(&b.zip)
        && n(&a.city) == n(&b.city)
        && n(&a.country) == n(&b.country)
        && phone(&a.phone) == phone(&b.phone)
        && n(&a.email) == n(&b.email)
}

fn not_in_account(name: &DomainName) -> RegistrarError {
    RegistrarError::Permanent {
        code: NOT_FOUND,
        description: format!(
            "domainInfo: {} is not in this Smart-NIC account",
            name.unicode()
        ),
    }
}

impl SmartnicClient {
    /// `domainInfo`: one domain in full.
    pub async fn domain_info(&self, name: &DomainName) -> Result<RegistrarDomain, RegistrarError> {
        let item = self.domain_info_item(name).await?;
        domain_from(|k| item.text_of(k)).map_err(|message| RegistrarError::Protocol {
            message: format!("domainInfo for {name}: {message}"),
        })
    }

    /// `domainInfo`'s item for one domain, every element as the server sent it.
    pub async fn domain_info_item(&self, name: &DomainName) -> Result<Node, RegistrarError> {
        let ret = self.call(&request::domain_info(name)).await?;
        ret.items("domainsList")
            .first()
            .cloned()
            .ok_or_else(|| not_in_account(name))
    }

    /// What a domainUpdate must send back unchanged, read now.
    pub async fn domain_settings(
        &self,
        name: &DomainName,
    ) -> Result<DomainSettings, RegistrarError> {
        let item = self.domain_info_item(name).await?;
        settings_from(&item).map_err(|message| RegistrarError::Protocol {
            message: format!(
                "{message} for {name}: domwatch sends no domainUpdate that could wipe it; change the contacts in the domain-bestellsystem"
            ),
        })
    }

    /// `domainList`: every domain name of the account, paged.
    pub async fn domain_list(&self) -> Result<Vec<DomainName>, RegistrarError> {
        let limit = self.config.page_size;
        let mut names = Vec::new();
        let mut offset = 0u64;
        loop {
            let ret = self.call(&request::domain_list(limit, offset)).await?;
            let rows = ret.items("domainsList");
            for row in rows {
                match row.text_of("domainName").map(DomainName::parse) {
                    Some(Ok(name)) => names.push(name),
                    _ => tracing::warn!("skipping an unreadable Smart-NIC domainList row"),
                }
            }
            if rows.len() < limit as usize {
                return Ok(names);
            }
            offset += rows.len() as u64;
        }
    }

    /// One page of `domainListExtended`.
    pub async fn domain_list_page(
        &self,
        offset: u64,
        limit: u32,
    ) -> Result<ListPage, RegistrarError> {
        let request = request::domain_list_extended(limit, offset, &[]);
        Ok(match self.call_reading(&request, read_list_page).await? {
            Answered::Read(page) => page,
            Answered::Tree(ret) => list_page_from(&ret),
        })
    }

    /// Every domain, paged with `domainListExtended` (never one call per domain).
    pub async fn domain_list_extended(&self) -> Result<Vec<RegistrarDomain>, RegistrarError> {
        let limit = self.config.page_size;
        let mut all = Vec::new();
        let mut offset = 0u64;
        let mut previous_first: Option<DomainName> = None;
        loop {
            let page = self.domain_list_page(offset, limit).await?;
            let first = page.domains.first().map(|d| d.name.clone());
            if first.is_some() && first == previous_first {
                // A server that ignores `offset` would otherwise be paged forever.
                return Err(RegistrarError::Protocol {
                    message: format!(
                        "domainListExtended returned the same page again at offset {offset}: the server ignores `offset`; raise page_size above the number of domains"
                    ),
                });
            }
            previous_first = first;
            all.extend(page.domains);
            if page.rows < limit as usize {
                tracing::debug!(domains = all.len(), "Smart-NIC domain list read");
                return Ok(all);
            }
            offset += page.rows as u64;
        }
    }

    /// `domainDelete`: the cancellation, effective at `start`.
    pub async fn domain_delete(
        &self,
        name: &DomainName,
        start: Option<NaiveDate>,
        notify: Option<&str>,
    ) -> Result<(), RegistrarError> {
        // `notify` is required: without an address of our own, the domain's stays.
        let notify = match notify.or(self.config.notify_email.as_deref()) {
            Some(notify) => notify.to_string(),
            None => self.domain_settings(name).await?.notify,
        };
        let request = request::domain_delete(name, start, &notify, self.config.start_date_format);
        self.call(&request).await.map(drop)
    }

    /// `domainRevoke`: withdraws the pending cancellation.
    pub async fn domain_revoke(&self, name: &DomainName) -> Result<(), RegistrarError> {
        self.call(&request::domain_revoke(name)).await.map(drop)
    }

    /// `domainTransit`: hands a .de domain to DENIC TRANSIT at `start`.
    pub async fn domain_transit(
        &self,
        name: &DomainName,
        start: Option<NaiveDate>,
    ) -> Result<(), RegistrarError> {
        let request = request::domain_transit(name, start, self.config.start_date_format);
        self.call(&request).await.map(drop)
    }

    /// `domainRestore`: brings back a deleted domain (in its redemption period).
    pub async fn domain_restore(&self, name: &DomainName) -> Result<(), RegistrarError> {
        self.call(&request::domain_restore(name)).await.map(drop)
    }

    /// `domainUpdate` changing the given contact roles (`billing` = zoneC). Everything
    /// else the WSDL requires is read with domainInfo just before and sent back as it is.
    pub async fn domain_update_contacts(
        &self,
        name: &DomainName,
        contacts: &ContactHandles,
        notify: Option<&str>,
    ) -> Result<(), RegistrarError> {
        let current = self.domain_settings(name).await?;
        let notify = notify.or(self.config.notify_email.as_deref());
        self.call(&request::domain_update(name, &current, contacts, notify))
            .await
            .map(drop)
    }

    /// `handleCreate`: returns the new (or, with `force_new = false`, possibly an
    /// existing identical) handle id.
    pub async fn handle_create(
        &self,
        contact: &ContactDetails,
        force_new: bool,
    ) -> Result<String, RegistrarError> {
        let ret = self
            .call(&request::handle_create(contact, force_new))
            .await?;
        ret.text_of("handleId")
            .map(str::to_string)
            .ok_or_else(|| RegistrarError::Protocol {
                message: "handleCreate succeeded without a handleId".into(),
            })
    }

    /// `handleInfo`.
    pub async fn handle_info(&self, handle: &str) -> Result<ContactDetails, RegistrarError> {
        let ret = self.call(&request::handle_info(handle)).await?;
        Ok(contact_from(&ret))
    }

    /// `handleUpdate`: address and reachability of a handle (names cannot change); `fax`
    /// and the extension are read with handleInfo just before and kept.
    pub async fn handle_update(
        &self,
        handle: &str,
        contact: &ContactDetails,
    ) -> Result<(), RegistrarError> {
        let current = self.call(&request::handle_info(handle)).await?;
        self.call(&request::handle_update(handle, contact, &current))
            .await
            .map(drop)
    }

    /// `handleList`: every handle of the account, paged.
    pub async fn handle_list(&self) -> Result<Vec<HandleSummary>, RegistrarError> {
        let limit = self.config.page_size;
        let mut out = Vec::new();
        let mut offset = 0u64;
        loop {
            let ret = self.call(&request::handle_list(limit, offset)).await?;
            let items = ret.items("handleList");
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

    /// `priceDomainList`: one renewal year per zone, cached for `price_list_max_age`.
    pub async fn renewal_prices(&self) -> Result<HashMap<String, Money>, RegistrarError> {
        let mut cache = self.prices.lock().await;
        if let Some((fetched, prices)) = cache.as_ref() {
            if fetched.elapsed() < self.config.price_list_max_age {
                return Ok(prices.clone());
            }
        }
        let ret = self.call(&request::price_domain_list()).await?;
        let prices = prices_from(&ret);
        *cache = Some((Instant::now(), prices.clone()));
        Ok(prices)
    }

    /// The price list when wanted and available: a failure only costs the prices.
    async fn prices_if_wanted(&self) -> HashMap<String, Money> {
        if !self.config.renewal_prices {
            return HashMap::new();
        }
        match self.renewal_prices().await {
            Ok(prices) => prices,
            Err(error) => {
                tracing::warn!(%error, account = %self.config.account, "Smart-NIC price list unavailable; domains carry no renewal price");
                HashMap::new()
            }
        }
    }
}

#[async_trait]
impl RegistrarPort for SmartnicClient {
    async fn list_domains(&self) -> Result<Vec<RegistrarDomain>, RegistrarError> {
        let mut domains = self.domain_list_extended().await?;
        let prices = self.prices_if_wanted().await;
        for d in &mut domains {
            d.renewal_price = price_for(&prices, &d.name);
        }
        Ok(domains)
    }

    async fn status_domain(&self, name: &DomainName) -> Result<RegistrarDomain, RegistrarError> {
        let mut domain = self.domain_info(name).await?;
        domain.renewal_price = price_for(&self.prices_if_wanted().await, name);
        Ok(domain)
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
    /// at its paid-until date; AUTORENEW or DEFAULT withdraws a pending one. Both are
    /// no-ops when the domain is already so.
    async fn set_renewal_mode(
        &self,
        name: &DomainName,
        mode: &RenewalMode,
    ) -> Result<(), RegistrarError> {
        let renews = matches!(mode, RenewalMode::AutoRenew | RenewalMode::Default);
        if !mode.lets_expire() && !renews {
            return Err(RegistrarError::Permanent {
                code: 2004,
                description: format!(
                    "Smart-NIC has no renewal mode {}: domains renew yearly unless cancelled (use AUTODELETE to cancel, AUTORENEW to withdraw a cancellation)",
                    mode.as_command_value()
                ),
            });
        }
        let current = self.domain_info(name).await?;
        match (mode.lets_expire(), current.pending_deletion.is_some()) {
            (true, false) => self.domain_delete(name, current.paid_until, None).await,
            (false, true) => self.domain_revoke(name).await,
            _ => Ok(()),
        }
    }

    async fn renew(&self, request: &RenewRequest) -> Result<RenewOutcome, RegistrarError> {
        Err(RegistrarError::Permanent {
            code: 2000,
            description: format!(
                "Smart-NIC renews {} by itself each year unless it is cancelled; there is no renew command (withdraw a cancellation with domainRevoke instead)",
                request.name.unicode()
            ),
        })
    }

    async fn transfer(&self, request: &TransferRequest) -> Result<TransferOutcome, RegistrarError> {
        Err(RegistrarError::Permanent {
            code: 2000,
            description: format!(
                "transfers to Smart-NIC are not managed by domwatch: order the transfer of {} in the domain-bestellsystem",
                request.name.unicode()
            ),
        })
    }

    async fn transfer_status(&self, name: &DomainName) -> Result<TransferStatus, RegistrarError> {
        Err(RegistrarError::Permanent {
            code: 2000,
            description: format!(
                "transfers to Smart-NIC are not managed by domwatch: look up {} in the domain-bestellsystem",
                name.unicode()
            ),
        })
    }

    /// `priceDomainList`, read fresh (a price rise shows in the next cycle); the renewal
    /// prices of the domain list are refreshed from the same answer.
    async fn price_list(&self) -> Result<Option<RegistrarPriceList>, RegistrarError> {
        let ret = self.call(&request::price_domain_list()).await?;
        *self.prices.lock().await = Some((Instant::now(), prices_from(&ret)));
        Ok(Some(crate::prices::price_list_from(&ret)))
    }

    /// Smart-NIC bills in EUR: no rates.
    async fn exchange_rates(&self) -> Result<RateTable, RegistrarError> {
        Ok(RateTable::new())
    }

    /// Smart-NIC's SOAP API has no balance query (billingData lists invoices).
    async fn account_status(&self) -> Result<AccountStatus, RegistrarError> {
        Ok(AccountStatus::default())
    }

    /// Smart-NIC has no balance query: one domain of the list proves the login.
    async fn check_login(&self) -> Result<(), RegistrarError> {
        self.domain_list_page(0, 1).await.map(|_| ())
    }

    async fn modify_contacts(
        &self,
        name: &DomainName,
        contacts: &ContactHandles,
    ) -> Result<(), RegistrarError> {
        if contacts == &ContactHandles::default() {
            return Ok(());
        }
        self.domain_update_contacts(name, contacts, None).await
    }

    /// Reuses a handle with identical details, else creates one. `handleList` gives names
    /// only, so `handleInfo` is asked just for the handles with the same name.
    async fn add_contact(&self, contact: &ContactDetails) -> Result<String, RegistrarError> {
        let same = |a: &str, b: &str| a.trim().eq_ignore_ascii_case(b.trim());
        let company = contact.organization.as_deref().unwrap_or("");
        let candidates: Vec<HandleSummary> = self
            .handle_list()
            .await?
            .into_iter()
            .filter(|h| {
                same(&h.first_name, &contact.first_name)
                    && same(&h.last_name, &contact.last_name)
                    && same(&h.company, company)
            })
            .collect();
        for candidate in candidates {
            if same_contact(&self.handle_info(&candidate.handle).await?, contact) {
                tracing::debug!(handle = %candidate.handle, "reusing an identical Smart-NIC handle");
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

    /// Delete → domainDelete, Transit → domainTransit, a renewal mode that lets the
    /// domain expire → domainDelete, all at `effective`.
    async fn place_cancellation(
        &self,
        request: &CancellationRequest,
    ) -> Result<(), RegistrarError> {
        let notify = request.notify_email.as_deref();
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
                    "renewal mode {} cancels nothing: Smart-NIC cancels with `delete` or `transit` (auto_delete.cancel_with)",
                    mode.as_command_value()
                ),
            }),
        }
    }

    /// domainRevoke; `restore_mode` does not apply (Smart-NIC has no renewal modes).
    async fn withdraw_cancellation(
        &self,
        name: &DomainName,
        _restore_mode: &RenewalMode,
    ) -> Result<(), RegistrarError> {
        self.domain_revoke(name).await
    }

    async fn set_whois_privacy(&self, _name: &DomainName, _on: bool) -> Result<(), RegistrarError> {
        Err(panel_only("setting WHOIS privacy"))
    }

    async fn set_transfer_lock(
        &self,
        _name: &DomainName,
        _locked: bool,
    ) -> Result<(), RegistrarError> {
        Err(panel_only("setting the transfer lock"))
    }
}

/// The Smart-NIC SOAP API has no privacy or lock element to write (the WSDL reads a lock
/// status only per domain, `domainInfo requestLockStatus`): nothing is sent.
fn panel_only(what: &str) -> RegistrarError {
    RegistrarError::Unsupported {
        what: what.into(),
        instead: "the Smart-NIC SOAP API has no such element; do it in the Smart-NIC panel".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::{body_element, parse};

    #[test]
    fn privacy_and_lock_writes_say_to_use_the_panel() {
        let e = panel_only("setting the transfer lock");
        assert!(!e.is_retryable());
        assert!(
            e.to_string().contains("do it in the Smart-NIC panel"),
            "{e}"
        );
    }

    fn day(y: i32, m: u32, d: u32) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(y, m, d)
    }

    fn ret_of(xml: &str) -> Node {
        let tree = parse(xml).unwrap();
        body_element(&tree)
            .unwrap()
            .child("return")
            .unwrap()
            .clone()
    }

    /// The shape of the peer client's recorded domainInfo answer (nil and empty
    /// elements included), with our own values.
    const DOMAIN_INFO: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" xmlns:SOAP-ENC="http://schemas.xmlsoap.org/soap/encoding/" xmlns:ns1="http://soap.domain-bestellsystem.de/soap/1.1/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" SOAP-ENV:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/">
  <SOAP-ENV:Body>
    <ns1:domainInfoResponse>
      <return xsi:type="ns1:DomainInfoResponseObject">
        <domainsList xsi:type="ns1:ArrayOfDomaininfodomains">
          <item xsi:type="ns1:DomainInfoDomains">
            <domainName xsi:type="xsd:string">bäckerei-beispiel.de</domainName>
            <tld xsi:type="xsd:string">de</tld>
            <adminC xsi:type="xsd:string">AA1111111@HANDLES.DE</adminC>
            <ownerC xsi:type="xsd:string">OO2222222@HANDLES.DE</ownerC>
            <techC xsi:type="xsd:string">AA1111111@HANDLES.DE</techC>
            <zoneC xsi:type="xsd:string">ZZ3333333@HANDLES.DE</zoneC>
            <secondaryNameserver xsi:type="ns1:ArrayOfString"><item xsi:type="xsd:string">ns2.example.net</item></secondaryNameserver>
            <orderDate xsi:type="xsd:string">1042352959</orderDate>
            <executionDate xsi:nil="true"/>
            <systemInDate xsi:nil="true"/>
            <paidUntilDate xsi:type="xsd:string">1798758000</paidUntilDate>
            <toBeDeletedDate xsi:type="xsd:string"/>
            <status xsi:type="xsd:string">kk_ok_de</status>
            <domainStatus xsi:type="xsd:string">active</domainStatus>
            <domainSubStatus xsi:type="ns1:ArrayOfString"/>
            <tags xsi:nil="true"/>
            <extension xsi:type="ns1:DomainInfoDomainsExtension"/>
          </item>
        </domainsList>
        <returnCode xsi:type="xsd:int">1000</returnCode>
        <returnSubCode xsi:type="xsd:int">0</returnSubCode>
        <returnMessage xsi:type="xsd:string"/>
        <clientTRID xsi:type="xsd:string">domwatch-1-a</clientTRID>
        <serverTRID xsi:type="xsd:string"/>
      </return>
    </ns1:domainInfoResponse>
  </SOAP-ENV:Body>
</SOAP-ENV:Envelope>"#;

    #[test]
    fn domain_info_maps_every_field_and_tolerates_nil_and_empty() {
        let ret = ret_of(DOMAIN_INFO);
        let item = &ret.items("domainsList")[0];
        let d = domain_from(|k| item.text_of(k)).unwrap();
        assert_eq!(d.name.ascii(), "xn--bckerei-beispiel-vnb.de");
        assert_eq!(d.paid_until, day(2027, 1, 1));
        assert_eq!(d.registry_expiry, day(2027, 1, 1));
        assert_eq!(
            d.created,
            day(2003, 1, 12),
            "orderDate when systemInDate is nil"
        );
        assert_eq!(
            d.pending_deletion, None,
            "an empty toBeDeletedDate is no date"
        );
        assert_eq!(d.renewal_mode, Some(RenewalMode::AutoRenew));
        assert_eq!(*d.status, ["active", "kk_ok_de"]);
        assert_eq!(
            *d.contacts,
            ContactHandles {
                owner: Some("OO2222222@HANDLES.DE".into()),
                admin: Some("AA1111111@HANDLES.DE".into()),
                tech: Some("AA1111111@HANDLES.DE".into()),
                billing: Some("ZZ3333333@HANDLES.DE".into()),
            }
        );
        assert!(d.premium.is_none());
    }

    #[test]
    fn a_contact_update_sends_back_everything_it_does_not_change() {
        let ret = ret_of(&DOMAIN_INFO.replace(
            "<orderDate",
            "<nameservers><item><ns>ns1.kunde.de</ns><ipv4>192.0.2.1</ipv4><ipv6 xsi:nil=\"true\"/></item>\
             <item><ns>ns2.example.net</ns></item></nameservers>\
             <remarks>Kunde &amp; Co</remarks><notifyEmail>alt@kunde.de</notifyEmail><orderDate",
        ));
        let item = &ret.items("domainsList")[0];
        let now = settings_from(item).unwrap();
        assert_eq!(now.nameservers, ["ns1.kunde.de", "ns2.example.net"]);
        assert_eq!(now.ns_entries, ["ns1.kunde.de 192.0.2.1"]);
        assert_eq!(now.remarks, "Kunde & Co");
        let name = DomainName::parse("bäckerei-beispiel.de").unwrap();
        let change = ContactHandles {
            admin: Some("NEW0000001@HANDLES.DE".into()),
            ..ContactHandles::default()
        };
        let update = request::domain_update(&name, &now, &change, None);
        let text = |f: &str| match update.field(f) {
            Some(crate::xml::Value::Text(t)) => t.as_str(),
            other => panic!("{f}: {other:?}"),
        };
        assert_eq!(text("adminC"), "NEW0000001@HANDLES.DE");
        assert_eq!(text("ownerC"), "OO2222222@HANDLES.DE");
        assert_eq!(text("techC"), "AA1111111@HANDLES.DE");
        assert_eq!(text("zoneC"), "ZZ3333333@HANDLES.DE");
        assert_eq!(text("remarks"), "Kunde & Co");
        assert_eq!(text("notify"), "alt@kunde.de", "the domain's own address");
        assert_eq!(
            update.field("nameserver"),
            Some(&crate::xml::Value::Strings(vec![
                "ns1.kunde.de".into(),
                "ns2.example.net".into()
            ]))
        );
        assert!(matches!(
            update.field("extension"),
            Some(crate::xml::Value::Struct("DomainUpdateRequestExtension", _))
        ));
    }

    #[test]
    fn an_answer_without_the_current_values_stops_the_update() {
        // The fixture has no `remarks`: sending them empty could wipe them.
        let ret = ret_of(DOMAIN_INFO);
        let error = settings_from(&ret.items("domainsList")[0]).unwrap_err();
        assert!(error.contains("`remarks`"), "{error}");
        let ret = ret_of(&DOMAIN_INFO.replace("<orderDate", "<remarks/><orderDate"));
        let now = settings_from(&ret.items("domainsList")[0]).unwrap();
        assert_eq!(now.nameservers, ["ns2.example.net"], "the secondary list");
        assert_eq!(now.remarks, "");
    }

    #[test]
    fn list_rows_map_by_key_and_bad_rows_are_skipped_but_counted() {
        let xml = list_answer(
            &[
                &[
                    ("domainName", "eins.de"),
                    ("toBeDeletedDate", "1798758000"),
                    ("paidUntilDate", "1798758000"),
                    ("zoneC", "ZZ3333333@HANDLES.DE"),
                ],
                &[("domainName", "not a domain")],
                &[("domainName", "zwei.eu"), ("toBeDeletedDate", "")],
            ],
            "<returnCode>1000</returnCode>",
        );
        let page = list_page_from(&ret_of(&xml));
        assert_eq!(page.rows, 3);
        assert_eq!(page.domains.len(), 2);
        let first = &page.domains[0];
        assert_eq!(first.pending_deletion, day(2027, 1, 1));
        assert_eq!(first.renewal_mode, Some(RenewalMode::AutoDelete));
        assert_eq!(
            first.contacts.billing.as_deref(),
            Some("ZZ3333333@HANDLES.DE")
        );
        assert_eq!(page.domains[1].pending_deletion, None);
        assert_eq!(
            page.domains[1].paid_until, None,
            "missing fields stay unknown"
        );
    }

    #[test]
    fn list_rows_with_the_same_status_and_contacts_share_one_copy() {
        let owner = |o: &'static str| {
            [
                ("ownerC", o),
                ("adminC", "AA1@HANDLES.DE"),
                ("techC", ""),
                ("zoneC", "ZZ1@HANDLES.DE"),
            ]
        };
        let (a, b, c) = (
            owner("OO1@HANDLES.DE"),
            owner("OO1@HANDLES.DE"),
            owner("OO2@HANDLES.DE"),
        );
        let row = |name, status, contacts: &[(&'static str, &'static str)]| {
            let mut pairs = vec![("domainName", name), ("domainStatus", status)];
            pairs.extend_from_slice(contacts);
            pairs
        };
        let rows = [
            row("eins.de", "connect", &a),
            row("zwei.de", "connect", &b),
            row("drei.de", "failed", &c),
        ];
        let rows: Vec<&[(&str, &str)]> = rows.iter().map(Vec::as_slice).collect();
        let page = list_page_from(&ret_of(&list_answer(
            &rows,
            "<returnCode>1000</returnCode>",
        )));
        let [one, two, three] = &page.domains[..] else {
            panic!("three domains, got {:?}", page.domains);
        };
        assert_eq!(&one.status[..], ["connect"]);
        assert_eq!(&three.status[..], ["failed"]);
        assert!(Arc::ptr_eq(&one.status, &two.status));
        assert!(Arc::ptr_eq(&one.contacts, &two.contacts));
        assert!(!Arc::ptr_eq(&one.contacts, &three.contacts));
        assert_eq!(one.contacts.owner.as_deref(), Some("OO1@HANDLES.DE"));
        assert_eq!(one.contacts.tech, None, "a nil handle is none");
        assert_eq!(three.contacts.owner.as_deref(), Some("OO2@HANDLES.DE"));
        assert_eq!(three.contacts.billing.as_deref(), Some("ZZ1@HANDLES.DE"));
    }

    #[test]
    fn an_empty_or_missing_list_is_no_domains() {
        let ret = ret_of("<Envelope><Body><r><return><returnCode>1000</returnCode></return></r></Body></Envelope>");
        assert_eq!(
            list_page_from(&ret),
            ListPage {
                domains: vec![],
                rows: 0
            }
        );
    }

    #[test]
    fn handle_info_reads_the_peer_shape() {
        let ret = ret_of(
            "<Envelope><Body><handleInfoResponse><return>\
             <firstname>Tanja</firstname><lastname>Beispiel</lastname><company/>\
             <street>Testgasse 29b</street><pcode>01255</pcode><city>Berlin</city>\
             <country>DE</country><phone>+49 555 12345678</phone><fax/>\
             <email>tanja@example.net</email><handle>TB1234567@HANDLES.DE</handle>\
             <returnCode>1000</returnCode></return></handleInfoResponse></Body></Envelope>",
        );
        let c = contact_from(&ret);
        assert_eq!(c.organization, None);
        assert_eq!(c.street, ["Testgasse 29b"]);
        assert_eq!(c.zip, "01255");
        let mut same = c.clone();
        same.phone = "+49.55512345678".into();
        same.email = "Tanja@Example.net".into();
        assert!(same_contact(&c, &same));
        let mut moved = c.clone();
        moved.city = "Hamburg".into();
        assert!(!same_contact(&c, &moved));
    }

    #[test]
    fn prices_are_per_zone_and_inactive_zones_are_left_out() {
        let ret = ret_of(
            "<Envelope><Body><priceDomainListResponse><return><priceDomainList>\
             <item><tld>de</tld><sld/><activated>true</activated><annually>4.5</annually><annually_currency>EUR</annually_currency></item>\
             <item><tld>uk</tld><sld>co</sld><activated>true</activated><annually>7</annually><annually_currency>EUR</annually_currency></item>\
             <item><tld>xyz</tld><activated>false</activated><annually>1</annually></item>\
             </priceDomainList><returnCode>1000</returnCode></return></priceDomainListResponse></Body></Envelope>",
        );
        let prices = prices_from(&ret);
        assert_eq!(prices.len(), 2);
        let de = DomainName::parse("x.de").unwrap();
        assert_eq!(
            price_for(&prices, &de),
            Some(Money::parse("4.50", Currency::EUR).unwrap())
        );
        let co_uk = DomainName::parse("x.co.uk").unwrap();
        assert_eq!(
            price_for(&prices, &co_uk).unwrap().to_string(),
            Money::parse("7", Currency::EUR).unwrap().to_string()
        );
        assert_eq!(
            price_for(&prices, &DomainName::parse("x.xyz").unwrap()),
            None
        );
    }
}
