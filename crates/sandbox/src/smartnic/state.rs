//! What the Smart-NIC sandbox holds and how each operation changes it.
//!
//! Untouched domains are computed from the [`Portfolio`] on every read; the first change
//! puts a domain into the overlay (a million-domain portfolio costs nothing until touched).
//! Handles: the reseller's [`RESELLER_HANDLE`] and every client's handle exist with the
//! client's details; handles created over the API come on top.

use super::soap::{nillable, string, strings};
use crate::portfolio::{add_years, Portfolio, SeedClient, RESELLER_HANDLE};
use crate::registrar::state::ZonePrices;
use chrono::{Duration, NaiveDate};
use domwatch_core::model::{ContactHandles, Dialect};
use domwatch_core::DomainName;
use domwatch_smartnic::dates::{berlin_date, berlin_midnight_timestamp};
use domwatch_smartnic::op;
use domwatch_smartnic::operations::WPP_FIELDS;
use domwatch_smartnic::xml::Node;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write;

/// Unknown operation.
pub const UNKNOWN_COMMAND: i64 = 2000;
/// A parameter is missing, malformed or not allowed.
pub const INVALID_PARAMETER: i64 = 2004;
/// The domain, handle or reseller does not exist (in this account).
pub const NOT_FOUND: i64 = 2303;
/// The object's state forbids the order (a second cancellation, a revoke with nothing
/// pending, a restore of a domain that is not deleted).
pub const STATUS_PROHIBITS: i64 = 2304;
/// Days a deleted (not transited) domain can be restored: DENIC's redemption period.
pub const RESTORE_DAYS: i64 = 30;
/// Largest page `domainListExtended`, `domainList` and `handleList` serve.
pub const MAX_PAGE: usize = 10_000;
/// Page size when a list request gives no `limit`.
const DEFAULT_PAGE: usize = 100;

pub type OpError = (i64, String);
/// The operation's own answer elements, or a return code with its message.
pub type OpResult = Result<String, OpError>;

fn invalid(message: impl Into<String>) -> OpError {
    (INVALID_PARAMETER, message.into())
}

/// How a domain left the account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gone {
    pub on: NaiveDate,
    /// Handed to DENIC TRANSIT (cannot be restored) rather than deleted.
    pub transit: bool,
}

/// A domain as the sandbox holds it once it was changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DomainRecord {
    pub name: DomainName,
    pub paid_until: NaiveDate,
    pub created: NaiveDate,
    /// The pending cancellation (`toBeDeletedDate`).
    pub to_be_deleted: Option<NaiveDate>,
    /// The pending order is a TRANSIT, not a deletion.
    pub transit: bool,
    pub contacts: ContactHandles,
    pub notify: Option<String>,
    #[serde(default)]
    pub gone: Option<Gone>,
    /// The delegation: host names in order, with glue addresses.
    #[serde(default = "default_nameservers")]
    pub nameservers: Vec<Nameserver>,
    #[serde(default)]
    pub remarks: String,
    /// WHOIS privacy per role: `ownerCWPP`, `adminCWPP`, `techCWPP`, `zoneCWPP`.
    #[serde(default)]
    pub wpp: [Option<String>; 4],
}

/// One nameserver of a domain (domainInfo's `NameserverArray`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Nameserver {
    pub ns: String,
    #[serde(default)]
    pub ipv4: Option<String>,
    #[serde(default)]
    pub ipv6: Option<String>,
}

impl Nameserver {
    pub fn host(ns: &str) -> Nameserver {
        Nameserver {
            ns: ns.to_string(),
            ipv4: None,
            ipv6: None,
        }
    }
}

/// Smart-NIC's own nameservers, which every portfolio domain starts with.
pub fn default_nameservers() -> Vec<Nameserver> {
    vec![
        Nameserver::host("ns1.domain-bestellsystem.example"),
        Nameserver::host("ns2.domain-bestellsystem.example"),
    ]
}

impl DomainRecord {
    /// Lets the clock run to `today`: a pending order whose day has passed is carried out;
    /// a domain past its paid-until renews (Smart-NIC renews unless cancelled).
    fn settle(&mut self, today: NaiveDate) {
        if self.gone.is_some() {
            return;
        }
        if let Some(day) = self.to_be_deleted.filter(|d| *d < today) {
            self.gone = Some(Gone {
                on: day,
                transit: self.transit,
            });
            self.to_be_deleted = None;
            self.transit = false;
            return;
        }
        while self.paid_until < today {
            self.paid_until = add_years(self.paid_until, 1);
        }
    }

    fn restorable(&self, today: NaiveDate) -> bool {
        self.gone
            .is_some_and(|g| !g.transit && today <= g.on + Duration::days(RESTORE_DAYS))
    }
}

/// A contact handle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Handle {
    pub id: String,
    pub first: String,
    pub last: String,
    pub company: String,
    pub street: String,
    pub pcode: String,
    pub city: String,
    pub country: String,
    pub phone: String,
    pub email: String,
    #[serde(default)]
    pub fax: String,
}

impl Handle {
    fn of_client(id: &str, c: SeedClient) -> Handle {
        Handle {
            id: id.to_string(),
            first: c.first_name,
            last: c.last_name,
            company: c.company,
            street: c.address1,
            pcode: c.postcode,
            city: c.city,
            country: c.country.into(),
            phone: c.phone,
            email: c.email,
            fax: String::new(),
        }
    }

    /// Same details (the handle id aside), ignoring case and blanks.
    fn same_details(&self, other: &Handle) -> bool {
        let n = |s: &str| {
            s.split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .to_lowercase()
        };
        [
            (&self.first, &other.first),
            (&self.last, &other.last),
            (&self.company, &other.company),
            (&self.street, &other.street),
            (&self.pcode, &other.pcode),
            (&self.city, &other.city),
            (&self.country, &other.country),
            (&self.phone, &other.phone),
            (&self.email, &other.email),
        ]
        .iter()
        .all(|(a, b)| n(a) == n(b))
    }
}

/// What survives a restart (see `SmartnicSandboxConfig::state_file`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Persisted {
    pub seed: u64,
    pub size: usize,
    /// The portfolio's day.
    pub today: NaiveDate,
    /// The sandbox clock, when it was advanced.
    #[serde(default)]
    pub clock: Option<NaiveDate>,
    pub overlay: BTreeMap<usize, DomainRecord>,
    pub added_handles: Vec<Handle>,
    #[serde(default)]
    pub changed_handles: BTreeMap<String, Handle>,
    #[serde(default)]
    pub zone_overrides: BTreeMap<String, ZonePrices>,
}

/// The account's state.
pub struct State {
    pub portfolio: Portfolio,
    pub login: String,
    /// The sandbox clock (starts at the portfolio's day).
    pub today: NaiveDate,
    overlay: BTreeMap<usize, DomainRecord>,
    /// Handles created over the API, in creation order.
    added_handles: Vec<Handle>,
    /// Changed details of portfolio handles, by upper-case id.
    changed_handles: BTreeMap<String, Handle>,
    /// Portfolio indices of the listed domains, in order; rebuilt when one comes or goes.
    listed: Option<Vec<usize>>,
    changes: u64,
    /// Zone prices changed by a `zone_price` event, by zone.
    zone_overrides: BTreeMap<String, ZonePrices>,
}

impl State {
    pub fn new(portfolio: Portfolio, login: String) -> Self {
        State {
            today: portfolio.today,
            portfolio,
            login,
            overlay: BTreeMap::new(),
            added_handles: Vec::new(),
            changed_handles: BTreeMap::new(),
            listed: None,
            changes: 0,
            zone_overrides: BTreeMap::new(),
        }
    }

    /// Counts changes, so the server saves only when something changed.
    pub fn changes(&self) -> u64 {
        self.changes
    }

    pub fn persisted(&self) -> Persisted {
        Persisted {
            seed: self.portfolio.seed,
            size: self.portfolio.size,
            today: self.portfolio.today,
            clock: (self.today != self.portfolio.today).then_some(self.today),
            overlay: self.overlay.clone(),
            added_handles: self.added_handles.clone(),
            changed_handles: self.changed_handles.clone(),
            zone_overrides: self.zone_overrides.clone(),
        }
    }

    /// Takes saved changes back, if they belong to this portfolio.
    pub fn restore(&mut self, saved: Persisted) -> Result<(), String> {
        let p = &self.portfolio;
        if (saved.seed, saved.size, saved.today) != (p.seed, p.size, p.today) {
            return Err(format!(
                "it is for seed {} ({} domains, {}), not seed {} ({} domains, {})",
                saved.seed, saved.size, saved.today, p.seed, p.size, p.today
            ));
        }
        self.today = saved.clock.unwrap_or(p.today);
        self.overlay = saved.overlay;
        self.added_handles = saved.added_handles;
        self.changed_handles = saved.changed_handles;
        self.zone_overrides = saved.zone_overrides;
        self.listed = None;
        Ok(())
    }

    /// A scripted price change of one zone (see [`super::prices::set_zone_price`]).
    pub fn set_zone_price(
        &mut self,
        zone: &str,
        renew: rust_decimal::Decimal,
        register: Option<rust_decimal::Decimal>,
        transfer: Option<rust_decimal::Decimal>,
    ) -> Result<String, String> {
        let done = super::prices::set_zone_price(
            &mut self.zone_overrides,
            zone,
            renew,
            register,
            transfer,
        )?;
        self.changes += 1;
        Ok(done)
    }

    /// Listed domains right now.
    pub fn listed_total(&mut self) -> usize {
        self.listed().len()
    }

    pub fn changed_domains(&self) -> usize {
        self.overlay.len()
    }

    pub fn created_handles(&self) -> usize {
        self.added_handles.len()
    }

    fn listed(&mut self) -> &[usize] {
        if self.listed.is_none() {
            let clock_moved = self.today != self.portfolio.today;
            let count = self.portfolio.count_of(Dialect::Smartnic);
            let listed = (0..count)
                .map(|p| Portfolio::nth_index_of(Dialect::Smartnic, p))
                .filter(|i| self.portfolio.registrar_present(*i))
                .filter(|i| {
                    // Untouched domains only leave when time passes.
                    (!clock_moved && !self.overlay.contains_key(i))
                        || self.record(*i).gone.is_none()
                })
                .collect();
            self.listed = Some(listed);
        }
        self.listed.as_deref().expect("just built")
    }

    /// Domain `index` as it is today.
    pub fn record(&self, index: usize) -> DomainRecord {
        let mut record = match self.overlay.get(&index) {
            Some(r) => r.clone(),
            None => {
                let d = self.portfolio.domain(index);
                DomainRecord {
                    // A portfolio domain set to expire has its cancellation pending here.
                    to_be_deleted: d
                        .registrar
                        .renewal_mode
                        .lets_expire()
                        .then_some(d.registrar.paid_until),
                    name: d.name,
                    paid_until: d.registrar.paid_until,
                    created: d.registrar.created,
                    transit: false,
                    contacts: d.registrar.contacts,
                    notify: None,
                    gone: None,
                    nameservers: default_nameservers(),
                    remarks: String::new(),
                    wpp: Default::default(),
                }
            }
        };
        record.settle(self.today);
        record
    }

    fn store(&mut self, index: usize, record: DomainRecord, listing_changes: bool) {
        self.overlay.insert(index, record);
        self.changes += 1;
        if listing_changes {
            self.listed = None;
        }
    }

    /// The Smart-NIC portfolio domain called `name` (listed or gone).
    fn index_of(&self, name: &DomainName) -> Option<usize> {
        self.portfolio
            .index_of(name)
            .filter(|i| Portfolio::dialect_of(*i) == Dialect::Smartnic)
            .filter(|i| self.portfolio.registrar_present(*i))
    }

    /// Lets time pass.
    pub fn advance_clock(&mut self, days: i64) -> Result<String, String> {
        if days < 0 {
            return Err("the sandbox clock only moves forward".into());
        }
        self.today += Duration::days(days);
        self.listed = None;
        self.changes += 1;
        Ok(format!("the sandbox day is now {}", self.today))
    }

    /// The domain called `name`, for scripted events (which act like the web front end).
    pub fn edit_domain(
        &mut self,
        name: &str,
        change: impl FnOnce(&mut DomainRecord, NaiveDate) -> Result<(), String>,
    ) -> Result<String, String> {
        let parsed = DomainName::parse(name).map_err(|e| format!("`{name}`: {e}"))?;
        let index = self
            .index_of(&parsed)
            .ok_or_else(|| format!("{name} is not a Smart-NIC domain of this sandbox"))?;
        let mut record = self.record(index);
        let was_listed = record.gone.is_none();
        change(&mut record, self.today)?;
        let listed = record.gone.is_none();
        self.store(index, record, was_listed != listed);
        Ok(format!("{name} changed"))
    }

    // ----- handles ----------------------------------------------------------------------

    fn seed_handle(&self, id: &str) -> Option<Handle> {
        if id.eq_ignore_ascii_case(RESELLER_HANDLE) {
            let bot = self.portfolio.client(self.portfolio.bot_client_id());
            return Some(Handle::of_client(RESELLER_HANDLE, bot));
        }
        let client = self
            .portfolio
            .client_id_of_handle(&id.to_ascii_uppercase())?;
        let c = self.portfolio.client(client);
        let handle = c.handle.clone();
        Some(Handle::of_client(&handle, c))
    }

    pub fn handle(&self, id: &str) -> Option<Handle> {
        let key = id.trim().to_ascii_uppercase();
        if let Some(changed) = self.changed_handles.get(&key) {
            return Some(changed.clone());
        }
        if let Some(added) = self
            .added_handles
            .iter()
            .find(|h| h.id.eq_ignore_ascii_case(&key))
        {
            return Some(added.clone());
        }
        self.seed_handle(&key)
    }

    fn handle_count(&self) -> usize {
        1 + self.portfolio.client_count() as usize + self.added_handles.len()
    }

    /// Handle number `k` of the list: the reseller's, the clients' in id order, then the
    /// ones created over the API.
    fn handle_at(&self, k: usize) -> Option<Handle> {
        let clients = self.portfolio.client_count() as usize;
        let id = match k {
            0 => RESELLER_HANDLE.to_string(),
            k if k <= clients => self.portfolio.client(k as u64).handle,
            k => self.added_handles.get(k - 1 - clients)?.id.clone(),
        };
        self.handle(&id)
    }

    /// `{initials}{7 digits}@HANDLES.DE`, the shape of Smart-NIC's handles.
    fn new_handle_id(&self, first: &str, last: &str) -> String {
        let initial = |s: &str| {
            s.chars()
                .find(|c| c.is_ascii_alphabetic())
                .map(|c| c.to_ascii_uppercase())
                .unwrap_or('X')
        };
        format!(
            "{}{}{:07}@HANDLES.DE",
            initial(first),
            initial(last),
            1_000_001 + self.added_handles.len()
        )
    }

    // ----- the operations ---------------------------------------------------------------

    /// Runs `operation` with its request object `request` (the WSDL part).
    pub fn run(&mut self, operation: &str, part_name: &str, request: &Node) -> OpResult {
        if let Some(known) = op::by_name(operation) {
            if part_name != known.part {
                return Err(invalid(format!(
                    "{operation} expects its request object as <{}>, got <{part_name}>",
                    known.part
                )));
            }
        }
        if request.text_of("clientTRID").is_none() && op::by_name(operation).is_some() {
            return Err(invalid("clientTRID is required"));
        }
        if let Some(reseller) = request.text_of("forReseller") {
            return Err((
                NOT_FOUND,
                format!("forReseller {reseller} is not a sub-reseller of this account"),
            ));
        }
        match operation {
            "domainInfo" => self.domain_info(request),
            "domainList" => self.domain_list(request),
            "domainListExtended" => self.domain_list_extended(request),
            "domainDelete" => self.domain_cancel(request, false),
            "domainTransit" => self.domain_cancel(request, true),
            "domainRevoke" => self.domain_revoke(request),
            "domainRestore" => self.domain_restore(request),
            "domainUpdate" => self.domain_update(request),
            "handleCreate" => self.handle_create(request),
            "handleInfo" => self.handle_info(request),
            "handleList" => self.handle_list(request),
            "handleUpdate" => self.handle_update(request),
            "priceDomainList" => Ok(super::prices::price_domain_list(&self.zone_overrides)),
            other => Err((
                UNKNOWN_COMMAND,
                format!("Unknown command: {other} is a WSDL operation the sandbox does not model"),
            )),
        }
    }

    /// The domain a request names (`domainName` and/or `domainNameAce`, which must agree).
    fn requested_domain(&self, request: &Node) -> Result<(usize, DomainName), OpError> {
        let parse = |field: &str| {
            request
                .text_of(field)
                .map(|text| {
                    DomainName::parse(text)
                        .map_err(|e| invalid(format!("{field} `{text}` is not a domain name: {e}")))
                })
                .transpose()
        };
        let name = match (parse("domainName")?, parse("domainNameAce")?) {
            (Some(a), Some(b)) if a != b => {
                return Err(invalid(format!(
                    "domainName {a} and domainNameAce {b} name different domains"
                )))
            }
            (Some(a), _) => a,
            (None, Some(b)) => b,
            (None, None) => return Err(invalid("domainName is required")),
        };
        let index = self.index_of(&name).ok_or_else(|| {
            (
                NOT_FOUND,
                format!("domain {name} does not exist in this account"),
            )
        })?;
        Ok((index, name))
    }

    /// A listed domain named by the request.
    fn live_domain(&self, request: &Node) -> Result<(usize, DomainRecord), OpError> {
        let (index, name) = self.requested_domain(request)?;
        let record = self.record(index);
        match record.gone {
            None => Ok((index, record)),
            Some(gone) => Err((
                NOT_FOUND,
                if gone.transit {
                    format!(
                        "domain {name} left the account for DENIC TRANSIT on {}",
                        gone.on
                    )
                } else if record.restorable(self.today) {
                    format!(
                        "domain {name} was deleted on {}; domainRestore brings it back until {}",
                        gone.on,
                        gone.on + Duration::days(RESTORE_DAYS)
                    )
                } else {
                    format!("domain {name} was deleted on {}", gone.on)
                },
            )),
        }
    }

    fn domain_info(&self, request: &Node) -> OpResult {
        let (_, record) = self.live_domain(request)?;
        let mut item = String::from("<item xsi:type=\"ns1:DomainInfoDomains\">");
        item.push_str(&string("domainName", &record.name.unicode()));
        item.push_str(&string("tld", record.name.tld()));
        for (field, handle) in contact_fields(&record.contacts) {
            item.push_str(&string(field, handle));
        }
        item.push_str(&nameserver_elements(&record.nameservers));
        item.push_str(&string("reseller", &self.login));
        item.push_str(&string("orderDate", &timestamp(record.created)));
        item.push_str(&nillable("executionDate", ""));
        item.push_str(&string("systemInDate", &timestamp(record.created)));
        item.push_str(&string("paidUntilDate", &timestamp(record.paid_until)));
        item.push_str(&nillable(
            "toBeDeletedDate",
            &record.to_be_deleted.map(timestamp).unwrap_or_default(),
        ));
        item.push_str(&string("status", status_of(&record)));
        item.push_str(&string("domainStatus", "active"));
        let sub: Vec<String> = if record.to_be_deleted.is_some() {
            vec![if record.transit { "transit" } else { "delete" }.to_string()]
        } else {
            Vec::new()
        };
        item.push_str(&strings("domainSubStatus", &sub));
        item.push_str(&nillable("transferFrom", ""));
        item.push_str(&nillable("transferTo", ""));
        item.push_str(&string("orderNumber", &order_number(&record)));
        item.push_str(&string("regType", "REG"));
        item.push_str(&string("remarks", &record.remarks));
        item.push_str(&nillable(
            "notifyEmail",
            record.notify.as_deref().unwrap_or(""),
        ));
        item.push_str(&nillable("tags", ""));
        item.push_str(&extension_element(&record.wpp));
        item.push_str("</item>");
        Ok(format!(
            "<domainsList xsi:type=\"ns1:ArrayOfDomaininfodomains\">{item}</domainsList>"
        ))
    }

    /// `level`, `limit` and `offset` of a list request.
    fn page_of(request: &Node) -> Result<(usize, usize), OpError> {
        if let Some(level) = request.text_of("level") {
            if level != "own" && level != "all" {
                return Err(invalid(format!("level `{level}`: use own or all")));
            }
        }
        let number = |field: &str, default: usize| -> Result<usize, OpError> {
            match request.text_of(field) {
                None => Ok(default),
                Some(text) => text
                    .parse()
                    .map_err(|_| invalid(format!("{field} `{text}` is not a number"))),
            }
        };
        let limit = number("limit", DEFAULT_PAGE)?;
        if !(1..=MAX_PAGE).contains(&limit) {
            return Err(invalid(format!("limit {limit}: use 1 to {MAX_PAGE}")));
        }
        Ok((limit, number("offset", 0)?))
    }

    fn domain_list(&mut self, request: &Node) -> OpResult {
        let (limit, offset) = Self::page_of(request)?;
        let page: Vec<usize> = self
            .listed()
            .iter()
            .skip(offset)
            .take(limit)
            .copied()
            .collect();
        let mut out = String::from("<domainsList xsi:type=\"ns1:ArrayOfDomainlistdomains\">");
        for index in page {
            let name = self.portfolio.name(index);
            let _ = write!(
                out,
                "<item xsi:type=\"ns1:DomainListDomains\">{}{}{}</item>",
                string("domainName", &name.unicode()),
                string("tld", name.tld()),
                string("reseller", &self.login)
            );
        }
        out.push_str("</domainsList>");
        Ok(out)
    }

    fn domain_list_extended(&mut self, request: &Node) -> OpResult {
        let (limit, offset) = Self::page_of(request)?;
        let mut tld: Option<String> = None;
        for item in request.items("filter") {
            match (item.text_of("key"), item.text_of("value")) {
                (None, _) => {} // the empty filter item clients send for "no filter"
                (Some("tld"), Some(value)) => {
                    tld = Some(value.trim_start_matches('.').to_ascii_lowercase())
                }
                (Some(key), _) => {
                    return Err(invalid(format!(
                        "filter `{key}` is not supported by the sandbox (use tld)"
                    )))
                }
            }
        }
        let wanted: Vec<String> = request
            .items("fields")
            .iter()
            .map(|i| i.text.trim().to_string())
            .filter(|f| !f.is_empty())
            .collect();
        let page: Vec<usize> = match &tld {
            None => self
                .listed()
                .iter()
                .skip(offset)
                .take(limit)
                .copied()
                .collect(),
            Some(tld) => {
                let portfolio = self.portfolio;
                self.listed()
                    .iter()
                    .filter(|i| portfolio.name(**i).tld() == tld)
                    .skip(offset)
                    .take(limit)
                    .copied()
                    .collect()
            }
        };
        let mut out = String::with_capacity(page.len() * 1200 + 64);
        out.push_str("<domainInfo xsi:type=\"ns1:ArrayOfDomaininfo\">");
        for index in page {
            let record = self.record(index);
            out.push_str(
                "<item xsi:type=\"ns1:DomainInfo\"><domainInfoItem xsi:type=\"ns1:ArrayOfDomaininfoitem\">",
            );
            for (key, value) in self.list_fields(&record) {
                if !wanted.is_empty() && !wanted.iter().any(|w| w == key) {
                    continue;
                }
                let _ = write!(
                    out,
                    "<item xsi:type=\"ns1:DomainInfoItem\">{}{}</item>",
                    string("key", key),
                    nillable("value", &value)
                );
            }
            out.push_str("</domainInfoItem></item>");
        }
        out.push_str("</domainInfo>");
        Ok(out)
    }

    /// The `domainListExtended` fields the sandbox knows (others asked for are left out).
    fn list_fields(&self, record: &DomainRecord) -> Vec<(&'static str, String)> {
        let mut fields = vec![
            ("domainName", record.name.unicode()),
            ("tld", record.name.tld().to_string()),
            ("domainStatus", "active".to_string()),
            ("status", status_of(record).to_string()),
            ("regType", "REG".to_string()),
            ("reseller", self.login.clone()),
        ];
        for (field, handle) in contact_fields(&record.contacts) {
            fields.push((field, handle.to_string()));
        }
        fields.extend([
            (
                "nameserver",
                record
                    .nameservers
                    .iter()
                    .map(|n| n.ns.as_str())
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            ("systemInDate", timestamp(record.created)),
            ("orderDate", timestamp(record.created)),
            ("orderNumber", order_number(record)),
            ("paidUntilDate", timestamp(record.paid_until)),
            (
                "toBeDeletedDate",
                record.to_be_deleted.map(timestamp).unwrap_or_default(),
            ),
            ("notifyEmail", record.notify.clone().unwrap_or_default()),
        ]);
        fields
    }

    /// domainDelete (`transit` false) and domainTransit.
    fn domain_cancel(&mut self, request: &Node, transit: bool) -> OpResult {
        let (index, mut record) = self.live_domain(request)?;
        if transit && record.name.tld() != "de" {
            return Err(invalid(format!(
                "domainTransit is only for .de domains, not {}",
                record.name
            )));
        }
        if !transit && request.child("notify").is_none() {
            return Err(invalid("notify is required (it may be empty)"));
        }
        if let Some(pending) = record.to_be_deleted {
            return Err((
                STATUS_PROHIBITS,
                format!(
                    "Object status prohibits operation: a {} order for {} is already pending (toBeDeletedDate {pending}); withdraw it with domainRevoke first",
                    if record.transit { "transit" } else { "deletion" },
                    record.name
                ),
            ));
        }
        let start = match request.text_of("startDate") {
            None => record.paid_until,
            Some(text) => parse_start_date(text)?,
        };
        if start < self.today {
            return Err(invalid(format!(
                "startDate {start} lies in the past (today is {})",
                self.today
            )));
        }
        record.to_be_deleted = Some(start);
        record.transit = transit;
        // Pessimistic: an empty notify empties the domain's address.
        record.notify = request.text_of("notify").map(str::to_string);
        self.store(index, record, false);
        Ok(String::new())
    }

    fn domain_revoke(&mut self, request: &Node) -> OpResult {
        let (index, mut record) = self.live_domain(request)?;
        if record.to_be_deleted.is_none() {
            return Err((
                STATUS_PROHIBITS,
                format!(
                    "Object status prohibits operation: no pending order for {} to revoke",
                    record.name
                ),
            ));
        }
        record.to_be_deleted = None;
        record.transit = false;
        self.store(index, record, false);
        Ok(String::new())
    }

    fn domain_restore(&mut self, request: &Node) -> OpResult {
        let (index, name) = self.requested_domain(request)?;
        let mut record = self.record(index);
        let Some(gone) = record.gone else {
            return Err((
                STATUS_PROHIBITS,
                format!("Object status prohibits operation: {name} is not deleted"),
            ));
        };
        if !record.restorable(self.today) {
            return Err((
                STATUS_PROHIBITS,
                format!(
                    "Object status prohibits operation: {name} {} on {} and cannot be restored",
                    if gone.transit {
                        "went to DENIC TRANSIT"
                    } else {
                        "was deleted"
                    },
                    gone.on
                ),
            ));
        }
        record.gone = None;
        record.paid_until = add_years(gone.on, 1);
        self.store(index, record, true);
        Ok(String::new())
    }

    /// Sets the domain to what the request says, read pessimistically: a PHP SoapServer
    /// hands a required element that was left out to the application as an empty value,
    /// so a missing role, nameserver list, `nsEntry`, `remarks` or `notify` empties it.
    /// Only a missing or nil `extension` (nillable) leaves the extension alone; a given one
    /// sets every WPP flag (missing or nil: off). `quoting` is not modelled.
    fn domain_update(&mut self, request: &Node) -> OpResult {
        let (index, mut record) = self.live_domain(request)?;
        let mut contacts = ContactHandles::default();
        for (field, slot) in [
            ("ownerC", &mut contacts.owner),
            ("adminC", &mut contacts.admin),
            ("techC", &mut contacts.tech),
            ("zoneC", &mut contacts.billing),
        ] {
            if let Some(id) = request.text_of(field) {
                let handle = self
                    .handle(id)
                    .ok_or_else(|| (NOT_FOUND, format!("{field}: handle {id} does not exist")))?;
                *slot = Some(handle.id);
            }
        }
        record.contacts = contacts;
        record.nameservers = requested_nameservers(request)?;
        record.remarks = request.text_of("remarks").unwrap_or("").to_string();
        record.notify = request.text_of("notify").map(str::to_string);
        if let Some(ext) = request.child("extension").filter(|e| !e.nil) {
            record.wpp = WPP_FIELDS.map(|f| ext.text_of(f).map(str::to_string));
        }
        self.store(index, record, false);
        Ok(String::new())
    }

    fn handle_create(&mut self, request: &Node) -> OpResult {
        let t = |k: &str| request.text_of(k).unwrap_or("").to_string();
        for required in [
            "firstname",
            "lastname",
            "street",
            "pcode",
            "city",
            "country",
            "email",
        ] {
            if t(required).is_empty() {
                return Err(invalid(format!("{required} is required")));
            }
        }
        let country = t("country").to_ascii_uppercase();
        if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err(invalid(format!(
                "country `{country}`: use the ISO 3166 code, e.g. DE"
            )));
        }
        let mut handle = Handle {
            id: String::new(),
            first: t("firstname"),
            last: t("lastname"),
            company: t("company"),
            street: t("street"),
            pcode: t("pcode"),
            city: t("city"),
            country,
            phone: t("phone"),
            email: t("email"),
            fax: t("fax"),
        };
        let force_new = matches!(request.text_of("forceNew"), Some("true" | "1"));
        if !force_new {
            // Without forceNew an identical handle is handed back instead of a copy.
            if let Some(existing) = (0..self.handle_count())
                .filter_map(|k| self.handle_at(k))
                .find(|h| h.same_details(&handle))
            {
                return Ok(string("handleId", &existing.id));
            }
        }
        handle.id = self.new_handle_id(&handle.first, &handle.last);
        let reply = string("handleId", &handle.id);
        self.added_handles.push(handle);
        self.changes += 1;
        Ok(reply)
    }

    fn handle_info(&self, request: &Node) -> OpResult {
        let id = request
            .text_of("handle")
            .ok_or_else(|| invalid("handle is required"))?;
        let h = self
            .handle(id)
            .ok_or_else(|| (NOT_FOUND, format!("handle {id} does not exist")))?;
        Ok([
            string("firstname", &h.first),
            string("lastname", &h.last),
            string("company", &h.company),
            string("street", &h.street),
            string("pcode", &h.pcode),
            string("city", &h.city),
            string("country", &h.country),
            string("phone", &h.phone),
            string("fax", &h.fax),
            string("email", &h.email),
            string("handle", &h.id),
            string("reseller", &self.login),
            "<extension xsi:nil=\"true\" xsi:type=\"ns1:HandleInfoResponseExtension\"/>"
                .to_string(),
        ]
        .concat())
    }

    fn handle_list(&self, request: &Node) -> OpResult {
        let (limit, offset) = Self::page_of(request)?;
        let mut out = String::from("<handleList xsi:type=\"ns1:ArrayOfHandlelisthandles\">");
        let end = (offset + limit).min(self.handle_count());
        for h in (offset..end).filter_map(|k| self.handle_at(k)) {
            let _ = write!(
                out,
                "<item xsi:type=\"ns1:HandleListHandles\">{}{}{}{}</item>",
                string("firstname", &h.first),
                string("lastname", &h.last),
                string("company", &h.company),
                string("handleId", &h.id)
            );
        }
        out.push_str("</handleList>");
        Ok(out)
    }

    /// Address and reachability of a handle; the names stay (WSDL: no name fields). Read
    /// pessimistically: a required element left out empties the field; the nillable
    /// `country` and `company` stay when missing or nil.
    fn handle_update(&mut self, request: &Node) -> OpResult {
        let id = request
            .text_of("handle")
            .ok_or_else(|| invalid("handle is required"))?;
        let mut h = self
            .handle(id)
            .ok_or_else(|| (NOT_FOUND, format!("handle {id} does not exist")))?;
        for (field, slot) in [
            ("street", &mut h.street),
            ("pcode", &mut h.pcode),
            ("city", &mut h.city),
            ("phone", &mut h.phone),
            ("fax", &mut h.fax),
            ("email", &mut h.email),
        ] {
            *slot = request.text_of(field).unwrap_or("").to_string();
        }
        if let Some(country) = request.text_of("country") {
            h.country = country.to_string();
        }
        if let Some(company) = request.child("company").filter(|c| !c.nil) {
            h.company = company.text.trim().to_string();
        }
        h.country = h.country.to_ascii_uppercase();
        match self.added_handles.iter_mut().find(|a| a.id == h.id) {
            Some(added) => *added = h,
            None => {
                self.changed_handles.insert(h.id.to_ascii_uppercase(), h);
            }
        }
        self.changes += 1;
        Ok(String::new())
    }
}

/// The nameservers of a domainUpdate: the `nameserver` hosts, with glue from the
/// `nsEntry` lines (`host address [address]`).
fn requested_nameservers(request: &Node) -> Result<Vec<Nameserver>, OpError> {
    let mut glue: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in request.items("nsEntry").iter().map(|i| i.text.trim()) {
        let mut words = line.split_whitespace();
        let Some(host) = words.next() else { continue };
        let addresses: Vec<String> = words.map(str::to_string).collect();
        if addresses.is_empty()
            || addresses
                .iter()
                .any(|a| a.parse::<std::net::IpAddr>().is_err())
        {
            return Err(invalid(format!(
                "nsEntry `{line}`: write the host and its addresses, e.g. `ns1.example.de 192.0.2.1`"
            )));
        }
        glue.insert(host.to_ascii_lowercase(), addresses);
    }
    Ok(request
        .items("nameserver")
        .iter()
        .map(|i| i.text.trim())
        .filter(|h| !h.is_empty())
        .map(|host| {
            let addresses = glue.get(&host.to_ascii_lowercase());
            let pick = |v6: bool| {
                addresses
                    .into_iter()
                    .flatten()
                    .find(|a| a.contains(':') == v6)
                    .cloned()
            };
            Nameserver {
                ns: host.to_string(),
                ipv4: pick(false),
                ipv6: pick(true),
            }
        })
        .collect())
}

/// `primaryNameserver`, `secondaryNameserver[]` and `nameservers[] {ns, ipv4, ipv6}`.
fn nameserver_elements(nameservers: &[Nameserver]) -> String {
    let hosts: Vec<String> = nameservers.iter().map(|n| n.ns.clone()).collect();
    let mut out = string(
        "primaryNameserver",
        hosts.first().map_or("", String::as_str),
    );
    out.push_str(&strings(
        "secondaryNameserver",
        hosts.get(1..).unwrap_or(&[]),
    ));
    out.push_str("<nameservers xsi:type=\"ns1:ArrayOfNameserverarray\">");
    for n in nameservers {
        let _ = write!(
            out,
            "<item xsi:type=\"ns1:NameserverArray\">{}{}{}</item>",
            string("ns", &n.ns),
            nillable("ipv4", n.ipv4.as_deref().unwrap_or("")),
            nillable("ipv6", n.ipv6.as_deref().unwrap_or(""))
        );
    }
    out.push_str("</nameservers>");
    out
}

/// domainInfo's `extension`: the WPP flags; DNSSEC is not modelled (nil).
fn extension_element(wpp: &[Option<String>; 4]) -> String {
    let mut out = String::from("<extension xsi:type=\"ns1:DomainInfoDomainsExtension\">");
    for (field, flag) in WPP_FIELDS.iter().zip(wpp) {
        out.push_str(&nillable(field, flag.as_deref().unwrap_or("")));
    }
    out.push_str("<dnsSecKeyData xsi:nil=\"true\"/><dnsSecDSData xsi:nil=\"true\"/></extension>");
    out
}

fn contact_fields(contacts: &ContactHandles) -> [(&'static str, &str); 4] {
    fn h(v: &Option<String>) -> &str {
        v.as_deref().unwrap_or("")
    }
    [
        ("adminC", h(&contacts.admin)),
        ("ownerC", h(&contacts.owner)),
        ("techC", h(&contacts.tech)),
        ("zoneC", h(&contacts.billing)),
    ]
}

fn status_of(record: &DomainRecord) -> &'static str {
    match (record.to_be_deleted.is_some(), record.transit) {
        (true, true) => "transit_pending",
        (true, false) => "delete_pending",
        _ => "ok",
    }
}

fn order_number(record: &DomainRecord) -> String {
    record.created.format("%Y%m%d").to_string()
}

/// A day as Smart-NIC returns it: a Unix timestamp of midnight in Berlin.
pub fn timestamp(day: NaiveDate) -> String {
    berlin_midnight_timestamp(day).to_string()
}

/// `startDate`: a Unix timestamp (read as a Berlin day) or `YYYY-MM-DD`.
pub fn parse_start_date(text: &str) -> Result<NaiveDate, OpError> {
    let text = text.trim();
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        let seconds: i64 = text
            .parse()
            .map_err(|_| invalid(format!("startDate `{text}` is out of range")))?;
        return chrono::DateTime::from_timestamp(seconds, 0)
            .map(berlin_date)
            .ok_or_else(|| invalid(format!("startDate `{text}` is out of range")));
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| {
        invalid(format!(
            "startDate `{text}`: use a Unix timestamp or YYYY-MM-DD"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn state() -> State {
        State::new(Portfolio::new(5, 300, day(2026, 11, 22)), "reseller".into())
    }

    #[test]
    fn start_dates_are_timestamps_or_iso_days() {
        assert_eq!(parse_start_date("2027-01-01"), Ok(day(2027, 1, 1)));
        assert_eq!(parse_start_date("1798801200"), Ok(day(2027, 1, 1)));
        assert_eq!(
            parse_start_date("01.01.2027").unwrap_err().0,
            INVALID_PARAMETER
        );
    }

    #[test]
    fn pending_orders_run_when_their_day_has_passed_and_renewals_happen() {
        let mut s = state();
        let index = Portfolio::nth_index_of(Dialect::Smartnic, 0);
        let mut record = s.record(index);
        let paid = record.paid_until;
        record.to_be_deleted = Some(paid);
        s.store(index, record, false);
        assert!(s.listed().contains(&index));
        s.advance_clock((paid - s.today).num_days()).unwrap();
        assert!(s.record(index).gone.is_none(), "gone only after the day");
        assert!(s.listed().contains(&index));
        s.advance_clock(1).unwrap();
        let gone = s.record(index);
        assert_eq!(
            gone.gone,
            Some(Gone {
                on: paid,
                transit: false
            })
        );
        assert!(!s.listed().contains(&index));
        assert!(gone.restorable(s.today));
        // An untouched neighbour renewed instead.
        let other = Portfolio::nth_index_of(Dialect::Smartnic, 1);
        assert!(s.record(other).paid_until >= s.today);
    }

    #[test]
    fn portfolio_handles_exist_and_new_ones_look_like_smartnic_handles() {
        let s = state();
        let reseller = s.handle(RESELLER_HANDLE).unwrap();
        assert_eq!(reseller.id, RESELLER_HANDLE);
        let client = s.portfolio.client(2);
        let h = s.handle(&client.handle.to_lowercase()).unwrap();
        assert_eq!(
            (h.id.as_str(), h.email.as_str()),
            (client.handle.as_str(), client.email.as_str())
        );
        assert_eq!(s.handle_count(), 1 + s.portfolio.client_count() as usize);
        assert_eq!(s.new_handle_id("jörg", "Öz"), "JZ1000001@HANDLES.DE");
        assert!(s.handle("NOPE").is_none());
    }
}
