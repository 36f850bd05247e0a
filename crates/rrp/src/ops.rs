//! Typed operations: the commands domwatch sends and how their responses map onto the
//! normalised core model, the same for CNR and ISPAPI. The wire names read here are
//! listed in `docs/registrar-operations.md`; keep the two in step.

use crate::client::{ClientError, RrpClient};
use crate::codec::{Column, Command, Response};
use crate::listing::{FastMap, FastSet};
pub use crate::listing::{
    ListOptions, DEFAULT_PAGE_SIZE, DEFAULT_PREMIUM_FEE_MAX_AGE, MAX_PAGE_SIZE,
};
use async_trait::async_trait;
use chrono::{Datelike, NaiveDate};
use domwatch_core::model::{ContactHandles, Dialect, PremiumInfo, RegistrarDomain, RenewalMode};
use domwatch_core::money::{Currency, Money, RateTable};
use domwatch_core::name::DomainName;
use domwatch_core::ports::{
    AccountStatus, CancellationMethod, CancellationRequest, ContactDetails, PremiumAcceptance,
    PremiumCheck, RegistrarError, RegistrarPort, RenewOutcome, RenewRequest, TransferInProgress,
    TransferOutcome, TransferRequest, TransferStatus,
};
use futures::{StreamExt, TryStreamExt};
use rust_decimal::Decimal;
use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Instant;
use tracing::{debug, warn};

/// Names per CNR `CheckDomains` when asking for X-FEE prices (the X-FEE limit is 30;
/// CheckDomains alone takes 32).
pub const CNR_FEE_GROUP: usize = 30;
/// Names per ISPAPI `CheckDomains`.
pub const ISPAPI_CHECK_GROUP: usize = 255;
/// How many days of exchange-rate history to ask for; the newest rate per pair wins.
const EXCHANGE_RATE_DAYS: i64 = 7;

/// Parses the registrar date formats: `YYYY-MM-DD HH:MM:SS`, with a trailing `.0`, with
/// a `T` separator, or a bare date. Empty and `0000-00-00 …` mean "no date".
pub fn parse_date(text: &str) -> Option<NaiveDate> {
    let text = text.trim();
    if text.is_empty() || text.starts_with("0000-00-00") {
        return None;
    }
    let date = text.get(..10)?;
    match text.as_bytes().get(10) {
        None | Some(b' ') | Some(b'T') => {}
        Some(_) => return None,
    }
    domwatch_core::date::parse_ymd(date)
}

fn parse_money(amount: Option<&str>, currency: Option<&str>) -> Option<Money> {
    let amount = amount.map(str::trim).filter(|a| !a.is_empty())?;
    let currency = Currency::from_str(currency?.trim()).ok()?;
    Money::parse(amount, currency).ok()
}

fn parse_flag(value: Option<&str>) -> Option<bool> {
    match value?.trim() {
        "1" => Some(true),
        "0" => Some(false),
        _ => None,
    }
}

/// Row `row` of an optional column.
fn cell<'r>(column: &Option<Column<'r>>, row: usize) -> Option<&'r str> {
    column.as_ref().and_then(|c| c.get(row))
}

fn non_empty(value: Option<&str>) -> Option<String> {
    value
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
}

/// Status values as sent: one per value, or comma/semicolon separated (CNR `TYPE=ALL`);
/// a trailing ICANN URL (`clientTransferProhibited https://icann.org/epp#…`) is dropped.
fn split_status<'a>(values: impl Iterator<Item = &'a str>) -> Vec<String> {
    values
        .flat_map(|v| v.split([',', ';']))
        .filter_map(|v| v.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

/// `211 Domain name not available` → 211.
fn check_code(value: &str) -> Option<u16> {
    value.trim().get(..3)?.parse().ok()
}

fn is_cnr_premium_class(class: &str) -> bool {
    class.to_ascii_lowercase().contains("premium")
}

fn is_ispapi_premium_class(class: &str) -> bool {
    class.trim().to_ascii_uppercase().starts_with("PREMIUM_")
}

// Wire-name aliases. Each list holds the spellings (normalised by the parser) seen in CNR
// captures, CNR docs (underscores) and HEXONET, most likely first.
const NAME: &[&str] = &["DOMAIN", "OBJECTID", "ID"];
const REGISTRY_EXPIRY: &[&str] = &[
    "DOMAINREGISTRATIONEXPIRATIONDATE",
    "REGISTRATIONEXPIRATIONDATE",
    "DOMAIN_REGISTRATION_EXPIRATION_DATE",
    "REGISTRATION_EXPIRATION_DATE",
];
const PAID_UNTIL: &[&str] = &["PAIDUNTILDATE", "DOMAINPAIDUNTILDATE", "PAIDUNTIL_DATE"];
const CREATED: &[&str] = &[
    "DOMAINCREATEDDATE",
    "CREATEDDATE",
    "DOMAIN_CREATED_DATE",
    "CREATED_DATE",
];
const RENEWAL_MODE: &[&str] = &["RENEWALMODE", "DOMAINRENEWALMODE"];
const STATUS: &[&str] = &["STATUS", "DOMAINSTATUS", "DOMAIN_STATUS"];
const OWNER: &[&str] = &["OWNERCONTACT", "DOMAINOWNERCONTACT", "OWNER_CONTACT"];
const ADMIN: &[&str] = &["ADMINCONTACT", "DOMAINADMINCONTACT", "ADMIN_CONTACT"];
const TECH: &[&str] = &["TECHCONTACT", "DOMAINTECHCONTACT", "TECH_CONTACT"];
const BILLING: &[&str] = &["BILLINGCONTACT", "DOMAINBILLINGCONTACT", "BILLING_CONTACT"];
const TRANSFER_LOCK: &[&str] = &["TRANSFERLOCK", "DOMAINTRANSFERLOCK", "TRANSFER_LOCK"];
const ZONE: &[&str] = &["DOMAINZONE", "ZONE", "DOMAIN_ZONE"];
const WHOIS_PRIVACY: &[&str] = &[
    "X-WHOIS-PRIVACY",
    "DOMAINX-WHOIS-PRIVACY",
    "X_WHOIS_PRIVACY",
];

/// The columns of one response that feed a `RegistrarDomain`, resolved once so a
/// 10 000-row page costs one lookup per column, not per cell.
struct DomainColumns<'r> {
    dialect: Dialect,
    name: Option<Column<'r>>,
    registry_expiry: Option<Column<'r>>,
    paid_until: Option<Column<'r>>,
    created: Option<Column<'r>>,
    renewal_mode: Option<Column<'r>>,
    status: Option<Column<'r>>,
    owner: Option<Column<'r>>,
    admin: Option<Column<'r>>,
    tech: Option<Column<'r>>,
    billing: Option<Column<'r>>,
    transfer_lock: Option<Column<'r>>,
    whois_privacy: Option<Column<'r>>,
    premium_class: Option<Column<'r>>,
    price: Option<Column<'r>>,
    currency: Option<Column<'r>>,
}

impl<'r> DomainColumns<'r> {
    fn resolve(dialect: Dialect, response: &'r Response, list: bool) -> Self {
        let owner = match (dialect, list) {
            // CNR TYPE=ALL names the owner handle plain `contact`.
            (Dialect::Cnr, true) => response
                .column_any(OWNER)
                .or_else(|| response.column("CONTACT")),
            _ => response.column_any(OWNER),
        };
        let (premium_class, price, currency) = match dialect {
            Dialect::Ispapi => (
                response.column("SUBCLASS"),
                response.column("RENEWALPRICE"),
                response.column("CURRENCY"),
            ),
            _ => (
                response.column("X-FEE-CLASS"),
                response.column("X-FEE-AMOUNT"),
                response.column("X-FEE-CURRENCY"),
            ),
        };
        DomainColumns {
            dialect,
            name: response.column_any(NAME),
            registry_expiry: response.column_any(REGISTRY_EXPIRY),
            paid_until: response.column_any(PAID_UNTIL),
            created: response.column_any(CREATED),
            renewal_mode: response.column_any(RENEWAL_MODE),
            status: response.column_any(STATUS),
            owner,
            admin: response.column_any(ADMIN),
            tech: response.column_any(TECH),
            billing: response.column_any(BILLING),
            transfer_lock: response.column_any(TRANSFER_LOCK),
            whois_privacy: response.column_any(WHOIS_PRIVACY),
            premium_class,
            price,
            currency,
        }
    }

    fn at(column: &Option<Column<'r>>, row: usize) -> Option<&'r str> {
        column.as_ref().and_then(|c| c.get(row))
    }

    /// Row `row`'s contact handles, as read.
    fn contact_cells(&self, row: usize) -> [Option<&'r str>; 4] {
        [&self.owner, &self.admin, &self.tech, &self.billing]
            .map(|c| Self::at(c, row).map(str::trim).filter(|v| !v.is_empty()))
    }

    /// Row `row` as a domain; `status` holds this row's status cell(s), `contacts` its
    /// handles (shared with the page's other rows that name the same ones).
    fn domain(
        &self,
        name: DomainName,
        row: usize,
        status: Arc<[String]>,
        contacts: Arc<ContactHandles>,
    ) -> RegistrarDomain {
        let at = |c: &Option<Column<'r>>| Self::at(c, row);
        let mut domain = RegistrarDomain::new(name);
        domain.registry_expiry = at(&self.registry_expiry).and_then(parse_date);
        domain.paid_until = at(&self.paid_until).and_then(parse_date);
        domain.created = at(&self.created).and_then(parse_date);
        domain.renewal_mode = at(&self.renewal_mode)
            .filter(|m| !m.trim().is_empty())
            .map(RenewalMode::parse);
        domain.status = status;
        domain.contacts = contacts;
        domain.transfer_lock = parse_flag(at(&self.transfer_lock));
        domain.whois_privacy = parse_flag(at(&self.whois_privacy));
        let class = at(&self.premium_class).map(str::trim).unwrap_or("");
        let premium = match self.dialect {
            Dialect::Ispapi => is_ispapi_premium_class(class),
            _ => is_cnr_premium_class(class),
        };
        if premium {
            domain.premium = Some(PremiumInfo {
                class: class.into(),
            });
        }
        // ISPAPI prices every domain; CNR's X-FEE price only describes premium names.
        if premium || self.dialect == Dialect::Ispapi {
            domain.renewal_price = parse_money(at(&self.price), at(&self.currency));
        }
        domain
    }

    /// Every row of a list page with its row index. Rows whose name does not parse are
    /// skipped and logged.
    fn list_rows(&self, rows: usize) -> Vec<(usize, RegistrarDomain)> {
        let mut domains = Vec::with_capacity(rows);
        let mut shared: FastMap<[Option<&'r str>; 4], Arc<ContactHandles>> = FastMap::default();
        // Rows with the same status cell share one parsed list, as rows with the same
        // contact cells share their handles: no strings are made per row.
        let mut statuses: FastMap<Option<&'r str>, Arc<[String]>> = FastMap::default();
        for row in 0..rows {
            let Some(raw) = Self::at(&self.name, row) else {
                continue;
            };
            match DomainName::parse(raw) {
                Ok(name) => {
                    let cell = Self::at(&self.status, row);
                    let status = statuses
                        .entry(cell)
                        .or_insert_with(|| split_status(cell.into_iter()).into())
                        .clone();
                    let cells = self.contact_cells(row);
                    let contacts = shared
                        .entry(cells)
                        .or_insert_with(|| Arc::new(contact_handles(cells)))
                        .clone();
                    domains.push((row, self.domain(name, row, status, contacts)));
                }
                Err(error) => warn!(name = raw, %error, "skipping unparsable domain in list"),
            }
        }
        domains
    }
}

/// Owner, admin, tech and billing handles from their (trimmed, non-empty) cells.
fn contact_handles([owner, admin, tech, billing]: [Option<&str>; 4]) -> ContactHandles {
    ContactHandles {
        owner: owner.map(str::to_string),
        admin: admin.map(str::to_string),
        tech: tech.map(str::to_string),
        billing: billing.map(str::to_string),
    }
}

/// Maps an ISPAPI `QueryDomainList VERSION=2 WIDE=1 PROPERTIES=PRICE` page.
pub fn domains_from_ispapi_list(page: &Response) -> Vec<RegistrarDomain> {
    DomainColumns::resolve(Dialect::Ispapi, page, true)
        .list_rows(page.row_count())
        .into_iter()
        .map(|(_, domain)| domain)
        .collect()
}

/// Maps a CNR `QueryDomainList WIDE=1` page (prices are joined separately).
pub fn domains_from_cnr_list(page: &Response) -> Vec<RegistrarDomain> {
    cnr_list_rows(page)
        .into_iter()
        .map(|(domain, _)| domain)
        .collect()
}

/// CNR list rows with the zone the registrar prices each under (`domain zone`, if sent).
fn cnr_list_rows(page: &Response) -> Vec<(RegistrarDomain, Option<String>)> {
    let zone = page.column_any(ZONE);
    DomainColumns::resolve(Dialect::Cnr, page, true)
        .list_rows(page.row_count())
        .into_iter()
        .map(|(row, domain)| {
            let zone = cell(&zone, row)
                .map(|z| z.trim().trim_start_matches('.').to_ascii_lowercase())
                .filter(|z| !z.is_empty());
            (domain, zone)
        })
        .collect()
}

/// Maps a `StatusDomain` response. `requested` names the domain when the response
/// does not echo it.
pub fn domain_from_status(
    dialect: Dialect,
    response: &Response,
    requested: &DomainName,
) -> RegistrarDomain {
    let columns = DomainColumns::resolve(dialect, response, false);
    let name = DomainColumns::at(&columns.name, 0)
        .and_then(|n| DomainName::parse(n).ok())
        .unwrap_or_else(|| requested.clone());
    let status = split_status(columns.status.iter().flat_map(|c| c.iter())).into();
    let contacts = Arc::new(contact_handles(columns.contact_cells(0)));
    columns.domain(name, 0, status, contacts)
}

/// Standard prices of one zone (CNR `QueryZoneList`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZonePrice {
    pub annual: Option<Money>,
    pub transfer: Option<Money>,
}

/// Zone → prices from a CNR `QueryZoneList` response; zone keys are lower-case, no dot.
pub fn zone_prices(response: &Response) -> HashMap<String, ZonePrice> {
    let zone = response.column("ZONE");
    let annual = response.column("ANNUAL");
    let transfer = response.column("TRANSFER");
    let currency = response.column("CURRENCY");
    let at = cell;
    let mut prices = HashMap::new();
    for row in 0..zone.map_or(0, |z| z.len()) {
        let Some(name) = at(&zone, row) else { continue };
        let key = name.trim().trim_start_matches('.').to_ascii_lowercase();
        if key.is_empty() {
            continue;
        }
        prices.insert(
            key,
            ZonePrice {
                annual: parse_money(at(&annual, row), at(&currency, row)),
                transfer: parse_money(at(&transfer, row), at(&currency, row)),
            },
        );
    }
    prices
}

/// Maps a `CheckDomains` answer for `names` (in request order).
pub fn premium_checks(
    dialect: Dialect,
    response: &Response,
    names: &[DomainName],
) -> Vec<PremiumCheck> {
    let column = |name: &str| response.column(name);
    let at = cell;
    let domaincheck = column("DOMAINCHECK");
    let mut checks: Vec<PremiumCheck> = names
        .iter()
        .enumerate()
        .map(|(row, name)| PremiumCheck {
            name: name.clone(),
            check_code: at(&domaincheck, row).and_then(check_code),
            premium: None,
            renewal_price: None,
            registration_price: None,
        })
        .collect();
    match dialect {
        Dialect::Ispapi => {
            let class = column("CLASS");
            let price = column("PRICE");
            let currency = column("CURRENCY");
            for (row, check) in checks.iter_mut().enumerate() {
                let class_text = at(&class, row).unwrap_or("").trim();
                let flagged = at(&domaincheck, row).is_some_and(|d| d.contains("[PREMIUM]"));
                if is_ispapi_premium_class(class_text) || flagged {
                    check.premium = Some(PremiumInfo {
                        class: class_text.into(),
                    });
                    check.registration_price = parse_money(at(&price, row), at(&currency, row));
                }
            }
        }
        _ => {
            let fee_domain = column("X-FEE-DOMAIN");
            let amount = column("X-FEE-AMOUNT");
            let currency = column("X-FEE-CURRENCY");
            let class = column("X-FEE-CLASS");
            // X-FEE rows are matched by name when the registrar echoes it, else by index.
            let rows = amount
                .map_or(0, |a| a.len())
                .max(class.map_or(0, |c| c.len()));
            for fee_row in 0..rows {
                let target = match at(&fee_domain, fee_row).and_then(|d| DomainName::parse(d).ok())
                {
                    Some(name) => checks.iter().position(|c| c.name == name),
                    None => (fee_row < checks.len()).then_some(fee_row),
                };
                let Some(target) = target else { continue };
                let class_text = at(&class, fee_row).unwrap_or("").trim();
                if is_cnr_premium_class(class_text) {
                    checks[target].premium = Some(PremiumInfo {
                        class: class_text.into(),
                    });
                }
                checks[target].renewal_price =
                    parse_money(at(&amount, fee_row), at(&currency, fee_row));
            }
        }
    }
    checks
}

/// Maps a `QueryTransferList` page. The status column is read under the CNR docs' name
/// (`DOMAINTRANSFERSTATUS`, on the wire presumably `domain transfer status`) and the
/// spellings of `StatusDomainTransfer`; none of them is verified against a real capture.
pub fn transfers_from_list(page: &Response) -> Vec<TransferInProgress> {
    let names = page.column_any(NAME);
    let status = page.column_any(&[
        "DOMAINTRANSFERSTATUS",
        "DOMAIN_TRANSFER_STATUS",
        "TRANSFERSTATUS",
        "TRANSFER_STATUS",
    ]);
    let mut transfers = Vec::new();
    for row in 0..names.as_ref().map_or(0, |c| c.len()) {
        let Some(raw) = cell(&names, row) else {
            continue;
        };
        match DomainName::parse(raw) {
            Ok(name) => transfers.push(TransferInProgress {
                name,
                status: non_empty(cell(&status, row)),
            }),
            Err(error) => warn!(name = raw, %error, "skipping unparsable domain in transfer list"),
        }
    }
    transfers
}

/// Newest rate per currency pair from `QueryExchangeRates` (missing `from` means EUR).
pub fn exchange_rates_from(
    response: &Response,
    table: &mut RateTable,
    newest: &mut HashMap<(Currency, Currency), NaiveDate>,
) {
    let from = response.column_any(&["CURRENCYFROM", "CURRENCY_FROM"]);
    let to = response.column_any(&["CURRENCYTO", "CURRENCY_TO"]);
    let rate = response.column("RATE");
    let date = response.column("DATE");
    let at = cell;
    for row in 0..rate.map_or(0, |r| r.len()) {
        let from = at(&from, row)
            .and_then(|c| Currency::from_str(c).ok())
            .unwrap_or(Currency::EUR);
        let Some(to) = at(&to, row).and_then(|c| Currency::from_str(c).ok()) else {
            continue;
        };
        let Some(value) = at(&rate, row).and_then(|r| Decimal::from_str(r.trim()).ok()) else {
            continue;
        };
        let day = at(&date, row)
            .and_then(parse_date)
            .unwrap_or(NaiveDate::MIN);
        let known = newest.get(&(from, to));
        if known.is_none_or(|known| day >= *known) {
            newest.insert((from, to), day);
            table.insert(from, to, value);
        }
    }
}

/// Maps a `StatusContact` response (CNR `first name` and HEXONET `FIRSTNAME` normalise
/// to the same key).
pub fn contact_from_status(response: &Response) -> ContactDetails {
    let text = |names: &[&str]| response.value_any(names).unwrap_or("").trim().to_string();
    let optional = |names: &[&str]| non_empty(response.value_any(names));
    ContactDetails {
        first_name: text(&["FIRSTNAME", "FIRST_NAME"]),
        last_name: text(&["LASTNAME", "LAST_NAME"]),
        organization: optional(&["ORGANIZATION", "ORGANISATION"]),
        street: response
            .values("STREET")
            .into_iter()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect(),
        city: text(&["CITY"]),
        state: optional(&["STATE", "PROVINCE"]),
        zip: text(&["ZIP"]),
        country: text(&["COUNTRY"]),
        phone: text(&["PHONE"]),
        email: text(&["EMAIL"]),
    }
}

fn renewal_expiry(response: &Response) -> Option<NaiveDate> {
    response
        .value_any(&[
            "REGISTRATIONEXPIRATIONDATE",
            "REGISTRATION_EXPIRATION_DATE",
            "EXPIRATIONDATE",
        ])
        .and_then(parse_date)
}

fn add_premium_acceptance(dialect: Dialect, command: &mut Command, premium: &PremiumAcceptance) {
    match dialect {
        Dialect::Ispapi => {
            command.set("CLASS", premium.class.as_deref());
        }
        _ => {
            if let Some(price) = &premium.price {
                command.set("X-FEE-AMOUNT", price.amount);
                command.set("X-FEE-CURRENCY", price.currency.as_str());
            }
            command.set("X-ACCEPT-PREMIUMPRICE", true);
        }
    }
}

impl RrpClient {
    /// Requests every page of a list command (FIRST/LIMIT paging, never LAST) and hands
    /// each page to `visit` in order. After the first page the rest are fetched with up to
    /// `max_concurrency` requests in flight.
    pub async fn for_each_page(
        &self,
        command: Command,
        page_size: u32,
        mut visit: impl FnMut(&Response),
    ) -> Result<(), ClientError> {
        let page_size = page_size.clamp(1, MAX_PAGE_SIZE);
        let mut command = command;
        command.remove("LAST");
        command.set("FIRST", 0u32);
        command.set("LIMIT", page_size);
        let first = self.request(&command).await?;
        visit(&first);
        let limit = first.records_limit();
        let total = first.records_total();
        let mut received = first.row_count() as u64;
        let Some(next) = first.next_first() else {
            return self.check_walk(&command, received, total);
        };
        let starts: Vec<u64> = (next..total).step_by(limit.max(1) as usize).collect();
        debug!(
            command = command.name(),
            total,
            pages = starts.len() + 1,
            "paging list"
        );
        let concurrency = self.config().max_concurrency.max(1);
        let mut pages = futures::stream::iter(starts)
            .map(|start| {
                let mut page = command.clone();
                page.set("FIRST", start);
                page.set("LIMIT", limit);
                async move { self.request(&page).await }
            })
            .buffered(concurrency);
        while let Some(page) = pages.try_next().await? {
            received += page.row_count() as u64;
            visit(&page);
        }
        self.check_walk(&command, received, total)
    }

    /// A paged walk must end with every row its first page declared in `TOTAL`; fewer
    /// means pages were cut short (or the server stopped paging), and the list is not
    /// used. More is accepted: rows added while reading.
    fn check_walk(&self, command: &Command, received: u64, total: u64) -> Result<(), ClientError> {
        if received < total {
            let what = format!("the first page declares TOTAL={total}");
            return Err(self.incomplete_error(command, received, total, what));
        }
        Ok(())
    }

    /// Every domain of the account, bulk and paged; see `docs/registrar-operations.md`.
    pub async fn list_domains_with(
        &self,
        options: &ListOptions,
    ) -> Result<Vec<RegistrarDomain>, ClientError> {
        match self.dialect() {
            Dialect::Ispapi => {
                let command = Command::new("QueryDomainList")
                    .with("VERSION", 2u32)
                    .with("WIDE", 1u32)
                    .with("PROPERTIES", "PRICE");
                let mut domains = Vec::new();
                self.for_each_page(command, options.page_size, |page| {
                    domains.extend(domains_from_ispapi_list(page))
                })
                .await?;
                Ok(domains)
            }
            _ => self.list_cnr_domains(options).await,
        }
    }

    async fn list_cnr_domains(
        &self,
        options: &ListOptions,
    ) -> Result<Vec<RegistrarDomain>, ClientError> {
        let mut command = Command::new("QueryDomainList")
            .with("WIDE", 1u32)
            .with("ORDERBY", "DOMAIN")
            .with("ORDER", "ASC");
        if options.cnr_type_all {
            command.set("TYPE", "ALL");
        }
        let mut domains = Vec::new();
        let mut zones: Vec<Option<String>> = Vec::new();
        self.for_each_page(command, options.page_size, |page| {
            for (domain, zone) in cnr_list_rows(page) {
                domains.push(domain);
                zones.push(zone);
            }
        })
        .await?;
        if !options.cnr_prices || domains.is_empty() {
            return Ok(domains);
        }

        let mut premium_names: FastSet<DomainName> = FastSet::default();
        self.for_each_page(
            Command::new("QueryRegisteredPremiumDomainList"),
            options.page_size,
            |page| {
                premium_names.extend(
                    page.values("DOMAIN")
                        .into_iter()
                        .filter_map(|d| DomainName::parse(d).ok()),
                );
            },
        )
        .await?;
        let zone_list = self.request(&Command::new("QueryZoneList")).await?;
        let prices = zone_prices(&zone_list);

        let premium_in_account: Vec<DomainName> = domains
            .iter()
            .filter(|d| premium_names.contains(&d.name))
            .map(|d| d.name.clone())
            .collect();
        // Prices checked by an earlier listing are reused until they are due again.
        let now = Instant::now();
        let (reused, due) = self
            .premium_fees
            .lock()
            .expect("premium fee cache lock")
            .split(&premium_in_account, now, options.premium_fee_max_age);
        let checked = self.check_premium_names(&due).await?;
        debug!(
            reused = reused.len(),
            checked = checked.len(),
            "premium renewal prices"
        );
        self.premium_fees
            .lock()
            .expect("premium fee cache lock")
            .update(&checked, &premium_names, now);
        let fees: FastMap<DomainName, PremiumCheck> = reused
            .into_iter()
            .chain(checked)
            .map(|check| (check.name.clone(), check))
            .collect();

        for (domain, zone) in domains.iter_mut().zip(zones) {
            if premium_names.contains(&domain.name) {
                let check = fees.get(&domain.name);
                domain.premium =
                    Some(
                        check
                            .and_then(|c| c.premium.clone())
                            .unwrap_or_else(|| PremiumInfo {
                                class: "premium".into(),
                            }),
                    );
                domain.renewal_price = check.and_then(|c| c.renewal_price);
            } else {
                let zone_price = zone
                    .as_deref()
                    .and_then(|z| prices.get(z))
                    .or_else(|| prices.get(domain.name.zone()))
                    .or_else(|| prices.get(domain.name.tld()));
                if let Some(price) = zone_price {
                    domain.renewal_price = price.annual;
                    domain.transfer_price = price.transfer;
                }
            }
        }
        Ok(domains)
    }

    /// One domain in detail (CNR adds `X-FEE-COMMAND=renew`, ISPAPI `PROPERTIES=PRICE`).
    pub async fn status_domain(&self, name: &DomainName) -> Result<RegistrarDomain, ClientError> {
        let mut command = Command::new("StatusDomain").with("DOMAIN", name.ascii());
        match self.dialect() {
            Dialect::Ispapi => command.set("PROPERTIES", "PRICE"),
            _ => command.set("X-FEE-COMMAND", "renew"),
        };
        let response = self.request(&command).await?;
        Ok(domain_from_status(self.dialect(), &response, name))
    }

    /// Premium status and prices, batched: CNR ≤30 per call with X-FEE renew prices,
    /// ISPAPI ≤255 per call with `PREMIUMCHANNELS=*`.
    pub async fn check_premium_names(
        &self,
        names: &[DomainName],
    ) -> Result<Vec<PremiumCheck>, ClientError> {
        let dialect = self.dialect();
        let group = match dialect {
            Dialect::Ispapi => ISPAPI_CHECK_GROUP,
            _ => CNR_FEE_GROUP,
        };
        let concurrency = self.config().max_concurrency.max(1);
        // Owned (command, names) pairs keep the stream free of borrowed closure arguments.
        let batches: Vec<(Command, Vec<DomainName>)> = names
            .chunks(group)
            .map(|chunk| {
                let mut command = Command::new("CheckDomains")
                    .with_list("DOMAIN", chunk.iter().map(DomainName::ascii));
                match dialect {
                    Dialect::Ispapi => command.set("PREMIUMCHANNELS", "*"),
                    _ => command.set_list("X-FEE-COMMAND", chunk.iter().map(|_| "renew")),
                };
                (command, chunk.to_vec())
            })
            .collect();
        let results: Vec<Vec<PremiumCheck>> = futures::stream::iter(batches)
            .map(|(command, chunk)| async move {
                let response = self.request(&command).await?;
                Ok::<_, ClientError>(premium_checks(dialect, &response, &chunk))
            })
            .buffered(concurrency)
            .try_collect()
            .await?;
        Ok(results.into_iter().flatten().collect())
    }

    pub async fn set_renewal_mode(
        &self,
        name: &DomainName,
        mode: &RenewalMode,
    ) -> Result<(), ClientError> {
        let command = Command::new("SetDomainRenewalMode")
            .with("DOMAIN", name.ascii())
            .with("RENEWALMODE", mode.as_command_value());
        self.request(&command).await.map(drop)
    }

    pub async fn renew_domain(&self, request: &RenewRequest) -> Result<RenewOutcome, ClientError> {
        let mut command = Command::new("RenewDomain")
            .with("DOMAIN", request.name.ascii())
            .with("PERIOD", request.period_years)
            .with("EXPIRATION", request.current_expiry_year);
        if let Some(premium) = &request.premium {
            add_premium_acceptance(self.dialect(), &mut command, premium);
        }
        let response = self.request(&command).await?;
        Ok(RenewOutcome {
            new_expiry: renewal_expiry(&response),
        })
    }

    pub async fn transfer_domain(
        &self,
        request: &TransferRequest,
    ) -> Result<TransferOutcome, ClientError> {
        let mut command = Command::new("TransferDomain")
            .with("DOMAIN", request.name.ascii())
            .with("ACTION", "REQUEST")
            .with("AUTH", request.auth_code.as_str())
            .with("PERIOD", request.period_years);
        if let Some(premium) = &request.premium {
            add_premium_acceptance(self.dialect(), &mut command, premium);
        }
        let response = self.request(&command).await?;
        let status = non_empty(response.value_any(&["TRANSFERSTATUS", "TRANSFER_STATUS"]));
        let finished = status.as_deref().is_some_and(|s| {
            ["COMPLETED", "SUCCESSFUL", "SUCCESS"]
                .iter()
                .any(|done| s.eq_ignore_ascii_case(done))
        });
        Ok(TransferOutcome {
            pending: !finished,
            status,
        })
    }

    pub async fn status_domain_transfer(
        &self,
        name: &DomainName,
    ) -> Result<TransferStatus, ClientError> {
        let command = Command::new("StatusDomainTransfer").with("DOMAIN", name.ascii());
        let response = self.request(&command).await?;
        Ok(TransferStatus {
            status: non_empty(response.value_any(&["TRANSFERSTATUS", "TRANSFER_STATUS"])),
            log: response
                .column_any(&["TRANSFERLOG", "TRANSFER_LOG"])
                .map(|c| c.iter().map(str::to_string).collect())
                .unwrap_or_default(),
            kind: non_empty(response.value_any(&["TRANSFERTYPE", "TRANSFER_TYPE"])),
        })
    }

    /// Every incoming transfer of the account, paged: CNR `QueryTransferList WIDE=1`
    /// (with the status of each), ISPAPI `QueryTransferList` (no status column).
    pub async fn query_transfer_list(&self) -> Result<Vec<TransferInProgress>, ClientError> {
        let mut command = Command::new("QueryTransferList");
        if self.dialect() == Dialect::Cnr {
            command.set("WIDE", 1u32);
        }
        let mut transfers = Vec::new();
        self.for_each_page(command, self.config().list.page_size, |page| {
            transfers.extend(transfers_from_list(page))
        })
        .await?;
        Ok(transfers)
    }

    /// Current exchange rates: the newest rate per pair from the last seven days.
    pub async fn query_exchange_rates(&self) -> Result<RateTable, ClientError> {
        let since = chrono::Utc::now().date_naive() - chrono::Duration::days(EXCHANGE_RATE_DAYS);
        let mut table = RateTable::new();
        let mut newest = HashMap::new();
        match self.dialect() {
            Dialect::Ispapi => {
                let command = Command::new("QueryExchangeRates")
                    .with("MINDATE", format!("{} 00:00:00", since.format("%Y-%m-%d")));
                self.for_each_page(command, DEFAULT_PAGE_SIZE, |page| {
                    exchange_rates_from(page, &mut table, &mut newest)
                })
                .await?;
            }
            _ => {
                // CNR documents LIMIT but no FIRST for this command: one call.
                let command = Command::new("QueryExchangeRates")
                    .with("MINDATE", since.format("%Y-%m-%d").to_string())
                    .with("LIMIT", DEFAULT_PAGE_SIZE);
                let response = self.request(&command).await?;
                exchange_rates_from(&response, &mut table, &mut newest);
            }
        }
        Ok(table)
    }

    /// The full price list in one call: CNR `QueryZoneList`, ISPAPI `StatusUser` with
    /// its price-class relations.
    pub async fn query_price_list(
        &self,
    ) -> Result<domwatch_core::ports::RegistrarPriceList, ClientError> {
        use crate::prices::{price_list, relation_cells, ZoneCells};
        if self.dialect() == Dialect::Ispapi {
            let r = self
                .request(&Command::new("StatusUser").with("RELATIONS", 1))
                .await?;
            let (types, values) = (r.values("RELATIONTYPE"), r.values("RELATIONVALUE"));
            let zones = relation_cells(&types, &values);
            return Ok(price_list(
                zones.iter().map(|(z, c)| (z.as_str(), c.clone())),
            ));
        }
        let r = self.request(&Command::new("QueryZoneList")).await?;
        let col = |name: &str| r.values(name);
        let (zone, setup, annual) = (col("ZONE"), col("SETUP"), col("ANNUAL"));
        let (transfer, restore, currency) = (col("TRANSFER"), col("RESTORE"), col("CURRENCY"));
        let rows = (0..zone.len()).map(|i| {
            let cells = ZoneCells {
                setup: setup.get(i).copied(),
                annual: annual.get(i).copied(),
                transfer: transfer.get(i).copied(),
                restore: restore.get(i).copied(),
                currency: currency.get(i).copied(),
            };
            (zone[i], cells)
        });
        Ok(price_list(rows))
    }

    pub async fn status_account(&self) -> Result<AccountStatus, ClientError> {
        let response = self.request(&Command::new("StatusAccount")).await?;
        let currency = response.value("CURRENCY");
        let money = |names: &[&str]| parse_money(response.value_any(names), currency);
        Ok(AccountStatus {
            balance: money(&["AMOUNT"]),
            credit: money(&["CREDIT"]),
            credit_threshold: money(&["CREDITTHRESHOLD", "CREDIT_THRESHOLD"]),
            deposit: money(&["DEPOSIT"]),
        })
    }

    /// Creates a contact (an identical existing handle is reused) and returns its handle.
    pub async fn add_contact(&self, contact: &ContactDetails) -> Result<String, ClientError> {
        let mut command = Command::new("AddContact")
            .with("FIRSTNAME", contact.first_name.as_str())
            .with("LASTNAME", contact.last_name.as_str())
            .with("ORGANIZATION", contact.organization.as_deref())
            .with("CITY", contact.city.as_str())
            .with("STATE", contact.state.as_deref())
            .with("ZIP", contact.zip.as_str())
            .with("COUNTRY", contact.country.as_str())
            .with("PHONE", contact.phone.as_str())
            .with("EMAIL", contact.email.as_str());
        match (self.dialect(), contact.street.as_slice()) {
            (Dialect::Ispapi, [single]) => {
                command.set("STREET", single.as_str());
            }
            _ => {
                command.set_list("STREET", contact.street.iter());
            }
        }
        let response = self.request(&command).await?;
        non_empty(response.value("CONTACT")).ok_or_else(|| ClientError::Protocol {
            command: "AddContact".into(),
            code: response.code(),
            description: "AddContact succeeded without returning a `contact` handle".into(),
            body_prefix: response.body().chars().take(120).collect(),
        })
    }

    pub async fn status_contact(&self, handle: &str) -> Result<ContactDetails, ClientError> {
        let response = self
            .request(&Command::new("StatusContact").with("CONTACT", handle))
            .await?;
        Ok(contact_from_status(&response))
    }

    pub async fn query_contact_list(&self) -> Result<Vec<String>, ClientError> {
        let mut handles = Vec::new();
        self.for_each_page(
            Command::new("QueryContactList"),
            DEFAULT_PAGE_SIZE,
            |page| {
                handles.extend(
                    page.values("CONTACT")
                        .into_iter()
                        .filter(|h| !h.is_empty())
                        .map(str::to_string),
                )
            },
        )
        .await?;
        Ok(handles)
    }

    /// `ModifyDomain` with the given roles (`OWNERCONTACT0` …); `None` roles stay as they
    /// are. With no role given nothing is sent.
    pub async fn modify_domain_contacts(
        &self,
        name: &DomainName,
        contacts: &ContactHandles,
    ) -> Result<(), ClientError> {
        let command = Command::new("ModifyDomain")
            .with("DOMAIN", name.ascii())
            .with("OWNERCONTACT0", contacts.owner.as_deref())
            .with("ADMINCONTACT0", contacts.admin.as_deref())
            .with("TECHCONTACT0", contacts.tech.as_deref())
            .with("BILLINGCONTACT0", contacts.billing.as_deref());
        if command.len() == 2 {
            return Ok(());
        }
        self.request(&command).await.map(drop)
    }

    /// `ModifyDomain` with one flag (`TRANSFERLOCK`, `X-WHOIS-PRIVACY`) set to 0 or 1;
    /// nothing else of the domain is named, so nothing else changes.
    pub async fn modify_domain_flag(
        &self,
        name: &DomainName,
        flag: &str,
        on: bool,
    ) -> Result<(), ClientError> {
        let command = Command::new("ModifyDomain")
            .with("DOMAIN", name.ascii())
            .with(flag, u8::from(on));
        self.request(&command).await.map(drop)
    }
}

#[async_trait]
impl RegistrarPort for RrpClient {
    async fn list_domains(&self) -> Result<Vec<RegistrarDomain>, RegistrarError> {
        let options = self.config().list.clone();
        Ok(self.list_domains_with(&options).await?)
    }

    async fn status_domain(&self, name: &DomainName) -> Result<RegistrarDomain, RegistrarError> {
        Ok(RrpClient::status_domain(self, name).await?)
    }

    async fn check_premium(
        &self,
        names: &[DomainName],
    ) -> Result<Vec<PremiumCheck>, RegistrarError> {
        Ok(self.check_premium_names(names).await?)
    }

    async fn set_renewal_mode(
        &self,
        name: &DomainName,
        mode: &RenewalMode,
    ) -> Result<(), RegistrarError> {
        Ok(RrpClient::set_renewal_mode(self, name, mode).await?)
    }

    async fn renew(&self, request: &RenewRequest) -> Result<RenewOutcome, RegistrarError> {
        Ok(self.renew_domain(request).await?)
    }

    async fn transfer(&self, request: &TransferRequest) -> Result<TransferOutcome, RegistrarError> {
        Ok(self.transfer_domain(request).await?)
    }

    async fn transfer_status(&self, name: &DomainName) -> Result<TransferStatus, RegistrarError> {
        Ok(self.status_domain_transfer(name).await?)
    }

    async fn transfer_list(&self) -> Result<Option<Vec<TransferInProgress>>, RegistrarError> {
        Ok(Some(self.query_transfer_list().await?))
    }

    async fn exchange_rates(&self) -> Result<RateTable, RegistrarError> {
        Ok(self.query_exchange_rates().await?)
    }

    async fn price_list(
        &self,
    ) -> Result<Option<domwatch_core::ports::RegistrarPriceList>, RegistrarError> {
        Ok(Some(self.query_price_list().await?))
    }

    async fn account_status(&self) -> Result<AccountStatus, RegistrarError> {
        Ok(self.status_account().await?)
    }

    async fn set_whois_privacy(&self, name: &DomainName, on: bool) -> Result<(), RegistrarError> {
        Ok(self.modify_domain_flag(name, "X-WHOIS-PRIVACY", on).await?)
    }

    async fn set_transfer_lock(
        &self,
        name: &DomainName,
        locked: bool,
    ) -> Result<(), RegistrarError> {
        Ok(self
            .modify_domain_flag(name, "TRANSFERLOCK", locked)
            .await?)
    }

    async fn modify_contacts(
        &self,
        name: &DomainName,
        contacts: &ContactHandles,
    ) -> Result<(), RegistrarError> {
        Ok(self.modify_domain_contacts(name, contacts).await?)
    }

    async fn add_contact(&self, contact: &ContactDetails) -> Result<String, RegistrarError> {
        Ok(RrpClient::add_contact(self, contact).await?)
    }

    async fn status_contact(&self, handle: &str) -> Result<ContactDetails, RegistrarError> {
        Ok(RrpClient::status_contact(self, handle).await?)
    }

    async fn list_contacts(&self) -> Result<Vec<String>, RegistrarError> {
        Ok(self.query_contact_list().await?)
    }

    async fn place_cancellation(
        &self,
        request: &CancellationRequest,
    ) -> Result<(), RegistrarError> {
        match &request.method {
            // CNR/ISPAPI cancel by renewal mode: the registry lets the domain go at the
            // end of its term instead of renewing it.
            CancellationMethod::RenewalMode { mode } => {
                Ok(RrpClient::set_renewal_mode(self, &request.name, mode).await?)
            }
            other => Err(RegistrarError::Permanent {
                code: 500,
                description: format!(
                    "{other} is a Smart-NIC operation; CNR/ISPAPI accounts cancel by renewal mode: set registrars.<account>.auto_delete.cancel_with to AUTODELETE or AUTOEXPIRE"
                ),
            }),
        }
    }

    async fn withdraw_cancellation(
        &self,
        name: &DomainName,
        restore_mode: &RenewalMode,
    ) -> Result<(), RegistrarError> {
        Ok(RrpClient::set_renewal_mode(self, name, restore_mode).await?)
    }
}

/// The registry expiry year, as RenewDomain's `EXPIRATION` wants it.
pub fn expiry_year(date: NaiveDate) -> i32 {
    date.year()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn name(text: &str) -> DomainName {
        DomainName::parse(text).unwrap()
    }

    fn response(text: &str) -> Response {
        Response::parse(text.to_string())
    }

    #[test]
    fn dates_in_every_registrar_format() {
        let day = NaiveDate::from_ymd_opt(2025, 5, 28);
        assert_eq!(parse_date("2025-05-28 22:17:44"), day);
        assert_eq!(parse_date("2025-05-28 22:17:44.0"), day);
        assert_eq!(parse_date("2025-05-28T22:17:44"), day);
        assert_eq!(parse_date(" 2025-05-28 "), day);
        assert_eq!(parse_date("0000-00-00 00:00:00"), None);
        assert_eq!(parse_date("0000-00-00"), None);
        assert_eq!(parse_date(""), None);
        assert_eq!(parse_date("28.05.2025"), None);
        assert_eq!(parse_date("2025-05-28x"), None);
        assert_eq!(parse_date("2025-02-30 00:00:00"), None);
    }

    #[test]
    fn cnr_status_domain_with_premium_fee() {
        let r = response(
            "[RESPONSE]\ncode = 200\ndescription = Command completed successfully\n\
             property[registration expiration date][0] = 2025-05-28 22:17:44.0\n\
             property[paiduntil date][0] = 2025-06-28 22:17:44.0\n\
             property[created date][0] = 2024-05-28 22:17:44.0\n\
             property[renewalmode][0] = AUTORENEW\nproperty[domain][0] = tofunames.com\n\
             property[status][0] = ACTIVE\nproperty[status][1] = clientTransferProhibited\n\
             property[transfer lock][0] = 1\nproperty[owner contact][0] = P-OWN1\n\
             property[admin contact][0] = P-ADM1\nproperty[tech contact][0] = P-TEC1\n\
             property[billing contact][0] = P-BIL1\nproperty[x-fee-class][0] = premium\n\
             property[x-fee-amount][0] = 120.50\nproperty[x-fee-currency][0] = USD\nEOF\n",
        );
        let d = domain_from_status(Dialect::Cnr, &r, &name("tofunames.com"));
        assert_eq!(d.name.ascii(), "tofunames.com");
        assert_eq!(d.registry_expiry, NaiveDate::from_ymd_opt(2025, 5, 28));
        assert_eq!(d.paid_until, NaiveDate::from_ymd_opt(2025, 6, 28));
        assert_eq!(d.created, NaiveDate::from_ymd_opt(2024, 5, 28));
        assert_eq!(d.renewal_mode, Some(RenewalMode::AutoRenew));
        assert_eq!(*d.status, ["ACTIVE", "clientTransferProhibited"]);
        assert_eq!(d.transfer_lock, Some(true));
        assert_eq!(d.contacts.owner.as_deref(), Some("P-OWN1"));
        assert_eq!(d.contacts.billing.as_deref(), Some("P-BIL1"));
        assert_eq!(
            d.premium,
            Some(PremiumInfo {
                class: "premium".into()
            })
        );
        assert_eq!(
            d.renewal_price,
            Some(Money::new(dec!(120.50), Currency::USD))
        );
    }

    #[test]
    fn cnr_standard_fee_is_not_premium() {
        let r = response(
            "code = 200\ndescription = ok\nproperty[x-fee-class][0] = standard\n\
             property[x-fee-amount][0] = 9.00\nproperty[x-fee-currency][0] = USD\nEOF\n",
        );
        let d = domain_from_status(Dialect::Cnr, &r, &name("plain.com"));
        assert_eq!(d.name.ascii(), "plain.com");
        assert!(d.premium.is_none());
        assert!(d.renewal_price.is_none());
    }

    #[test]
    fn ispapi_list_row_maps_every_field() {
        let r = response(
            "[RESPONSE]\r\nCODE=200\r\nDESCRIPTION=ok\r\nPROPERTY[OBJECTID][0]=premium.guru\r\n\
             PROPERTY[OBJECTID][1]=plain.com\r\nPROPERTY[PAIDUNTILDATE][0]=2026-01-02 03:04:05\r\n\
             PROPERTY[PAIDUNTILDATE][1]=0000-00-00 00:00:00\r\n\
             PROPERTY[REGISTRATIONEXPIRATIONDATE][0]=2025-12-31 00:00:00\r\n\
             PROPERTY[REGISTRATIONEXPIRATIONDATE][1]=2025-11-30 00:00:00\r\n\
             PROPERTY[RENEWALMODE][0]=renew\r\nPROPERTY[RENEWALMODE][1]=expire\r\n\
             PROPERTY[STATUS][0]=ACTIVE\r\nPROPERTY[STATUS][1]=ACTIVE\r\n\
             PROPERTY[SUBCLASS][0]=PREMIUM_DONUTS_Price Category A\r\nPROPERTY[SUBCLASS][1]=COM\r\n\
             PROPERTY[RENEWALPRICE][0]=999.99\r\nPROPERTY[RENEWALPRICE][1]=8.50\r\n\
             PROPERTY[CURRENCY][0]=USD\r\nPROPERTY[CURRENCY][1]=EUR\r\n\
             PROPERTY[TRANSFERLOCK][0]=0\r\nPROPERTY[TRANSFERLOCK][1]=1\r\nEOF\r\n",
        );
        let domains = domains_from_ispapi_list(&r);
        assert_eq!(domains.len(), 2);
        let premium = &domains[0];
        assert_eq!(premium.paid_until, NaiveDate::from_ymd_opt(2026, 1, 2));
        assert_eq!(premium.renewal_mode, Some(RenewalMode::AutoRenew));
        assert_eq!(
            premium.premium.as_ref().unwrap().class.as_ref(),
            "PREMIUM_DONUTS_Price Category A"
        );
        assert_eq!(
            premium.renewal_price,
            Some(Money::new(dec!(999.99), Currency::USD))
        );
        assert_eq!(premium.transfer_lock, Some(false));
        let plain = &domains[1];
        assert_eq!(plain.paid_until, None);
        assert_eq!(
            plain.effective_expiry(),
            NaiveDate::from_ymd_opt(2025, 11, 30)
        );
        assert_eq!(plain.renewal_mode, Some(RenewalMode::AutoExpire));
        assert!(plain.premium.is_none());
        assert_eq!(
            plain.renewal_price,
            Some(Money::new(dec!(8.50), Currency::EUR))
        );
    }

    #[test]
    fn cnr_list_with_type_all_columns_and_a_bad_name() {
        let r = response(
            "code = 200\ndescription = ok\nproperty[column][0] = domain\n\
             property[domain][0] = a.com\nproperty[domain][1] = not a domain\nproperty[domain][2] = xn--mller-kva.de\n\
             property[domain registration expiration date][0] = 2026-03-01 10:00:00.0\n\
             property[domain registration expiration date][1] = 2026-03-02 10:00:00.0\n\
             property[domain registration expiration date][2] = 2026-03-03 10:00:00.0\n\
             property[renewalmode][0] = DEFAULT\nproperty[renewalmode][1] = DEFAULT\nproperty[renewalmode][2] = AUTOEXPIRE\n\
             property[domain status][0] = ACTIVE,clientTransferProhibited\n\
             property[domain status][1] = ACTIVE\nproperty[domain status][2] = ACTIVE\n\
             property[contact][0] = P-OWN\nproperty[contact][1] = P-X\nproperty[contact][2] = P-Y\nEOF\n",
        );
        let domains = domains_from_cnr_list(&r);
        assert_eq!(domains.len(), 2, "the unparsable row is skipped");
        assert_eq!(
            domains[0].registry_expiry,
            NaiveDate::from_ymd_opt(2026, 3, 1)
        );
        assert_eq!(*domains[0].status, ["ACTIVE", "clientTransferProhibited"]);
        assert_eq!(domains[0].contacts.owner.as_deref(), Some("P-OWN"));
        assert_eq!(domains[1].name.unicode(), "müller.de");
        assert_eq!(
            domains[1].registry_expiry,
            NaiveDate::from_ymd_opt(2026, 3, 3)
        );
        assert_eq!(domains[1].renewal_mode, Some(RenewalMode::AutoExpire));
    }

    #[test]
    fn rows_with_the_same_handles_share_one_copy() {
        let r = response(
            "code = 200\ndescription = ok\nproperty[column][0] = domain\n\
             property[domain][0] = a.com\nproperty[domain][1] = b.com\nproperty[domain][2] = c.com\n\
             property[domain][3] = d.com\n\
             property[owner contact][0] = P-OWN\nproperty[owner contact][1] = P-OWN\n\
             property[owner contact][2] = P-OTHER\nproperty[owner contact][3] =\n\
             property[admin contact][0] = P-RSL\nproperty[admin contact][1] = P-RSL \n\
             property[admin contact][2] = P-RSL\nproperty[admin contact][3] =\nEOF\n",
        );
        let d = domains_from_cnr_list(&r);
        assert_eq!(d.len(), 4);
        assert!(Arc::ptr_eq(&d[0].contacts, &d[1].contacts), "same handles");
        assert!(!Arc::ptr_eq(&d[0].contacts, &d[2].contacts));
        assert_eq!(d[1].contacts.admin.as_deref(), Some("P-RSL"), "trimmed");
        assert_eq!(d[2].contacts.owner.as_deref(), Some("P-OTHER"));
        assert_eq!(d[2].contacts.admin.as_deref(), Some("P-RSL"));
        assert_eq!(*d[3].contacts, ContactHandles::default(), "empty cells");
    }

    #[test]
    fn lock_and_privacy_columns_and_their_absence() {
        let r = response(
            "code = 200\ndescription = ok\nproperty[domain][0] = a.com\nproperty[domain][1] = b.com\n\
             property[domain][2] = c.com\nproperty[transfer lock][0] = 0\nproperty[transfer lock][1] = 1\n\
             property[transfer lock][2] = \nproperty[x-whois-privacy][0] = 1\n\
             property[x-whois-privacy][1] = 0\nproperty[x-whois-privacy][2] = \nEOF\n",
        );
        let d = domains_from_cnr_list(&r);
        assert_eq!(
            (d[0].transfer_lock, d[0].whois_privacy),
            (Some(false), Some(true))
        );
        assert_eq!(
            (d[1].transfer_lock, d[1].whois_privacy),
            (Some(true), Some(false))
        );
        assert_eq!(
            (d[2].transfer_lock, d[2].whois_privacy),
            (None, None),
            "empty is unknown"
        );
        // A list without the columns (CNR WIDE=1 without TYPE=ALL) says nothing: unknown.
        let r = response("code = 200\ndescription = ok\nproperty[domain][0] = a.com\nEOF\n");
        let d = domains_from_cnr_list(&r);
        assert_eq!((d[0].transfer_lock, d[0].whois_privacy), (None, None));
        let r = response(
            "[RESPONSE]\r\nCODE=200\r\nDESCRIPTION=ok\r\nPROPERTY[ID][0]=a.com\r\n\
             PROPERTY[TRANSFERLOCK][0]=0\r\nPROPERTY[X-WHOIS-PRIVACY][0]=1\r\nEOF\r\n",
        );
        let d = domain_from_status(Dialect::Ispapi, &r, &name("a.com"));
        assert_eq!(
            (d.transfer_lock, d.whois_privacy),
            (Some(false), Some(true))
        );
    }

    #[test]
    fn zone_prices_are_keyed_by_lower_case_zone() {
        let r = response(
            "code = 200\ndescription = ok\nproperty[zone][0] = COM\nproperty[zone][1] = .co.uk\n\
             property[annual][0] = 8.99\nproperty[annual][1] = 5.00\n\
             property[transfer][0] = 8.99\nproperty[transfer][1] = 0.00\n\
             property[currency][0] = USD\nproperty[currency][1] = GBP\nEOF\n",
        );
        let prices = zone_prices(&r);
        assert_eq!(
            prices["com"].annual,
            Some(Money::new(dec!(8.99), Currency::USD))
        );
        assert_eq!(
            prices["co.uk"].transfer,
            Some(Money::new(dec!(0.00), Currency::GBP))
        );
    }

    #[test]
    fn cnr_checks_match_fees_by_echoed_domain() {
        let names = [name("a.com"), name("b.guru")];
        let r = response(
            "code = 200\ndescription = ok\nproperty[domaincheck][0] = 211 Domain name not available\n\
             property[domaincheck][1] = 211 Domain name not available\n\
             property[x-fee-domain][0] = b.guru\nproperty[x-fee-amount][0] = 250.00\n\
             property[x-fee-currency][0] = USD\nproperty[x-fee-class][0] = premium\nEOF\n",
        );
        let checks = premium_checks(Dialect::Cnr, &r, &names);
        assert_eq!(checks[0].check_code, Some(211));
        assert!(checks[0].premium.is_none());
        assert_eq!(
            checks[1].premium.as_ref().unwrap().class.as_ref(),
            "premium"
        );
        assert_eq!(
            checks[1].renewal_price,
            Some(Money::new(dec!(250.00), Currency::USD))
        );
    }

    #[test]
    fn ispapi_premium_check_from_the_docs_example() {
        let body = "[RESPONSE]\nCODE = 200\nDESCRIPTION = Command completed successfully\n\
             PROPERTY[CLASS][0] = PREMIUM_DONUTS_Price Category A\nPROPERTY[CLASS][1] =\n\
             PROPERTY[CURRENCY][0] = USD\nPROPERTY[CURRENCY][1] =\n\
             PROPERTY[DOMAINCHECK][0] = 211 Premium Domain name available [PREMIUM]\n\
             PROPERTY[DOMAINCHECK][1] = 210 Available\nPROPERTY[PRICE][0] = 999.99\nPROPERTY[PRICE][1] =\nEOF\n";
        let checks = premium_checks(
            Dialect::Ispapi,
            &response(body),
            &[name("premium.guru"), name("nonpremium.guru")],
        );
        assert_eq!(
            checks[0].premium.as_ref().unwrap().class.as_ref(),
            "PREMIUM_DONUTS_Price Category A"
        );
        assert_eq!(
            checks[0].registration_price,
            Some(Money::new(dec!(999.99), Currency::USD))
        );
        assert_eq!(checks[1].check_code, Some(210));
        assert!(checks[1].premium.is_none());
    }

    #[test]
    fn exchange_rates_keep_the_newest_per_pair() {
        let r = response(
            "CODE = 200\nDESCRIPTION = ok\nPROPERTY[CURRENCYFROM][0] = EUR\nPROPERTY[CURRENCYFROM][1] = EUR\n\
             PROPERTY[CURRENCYTO][0] = USD\nPROPERTY[CURRENCYTO][1] = USD\n\
             PROPERTY[DATE][0] = 2016-11-15\nPROPERTY[DATE][1] = 2016-11-14\n\
             PROPERTY[RATE][0] = 1.0765\nPROPERTY[RATE][1] = 1.0777\nEOF\n",
        );
        let mut table = RateTable::new();
        exchange_rates_from(&r, &mut table, &mut HashMap::new());
        assert_eq!(table.rate(Currency::EUR, Currency::USD), Some(dec!(1.0765)));
    }

    #[test]
    fn cnr_contact_with_spaced_names() {
        let r = response(
            "code = 200\ndescription = ok\nproperty[first name][0] = Ada\nproperty[last name][0] = Lovelace\n\
             property[street][0] = 1 Main St\nproperty[street][1] = Floor 2\nproperty[city][0] = London\n\
             property[zip][0] = N1\nproperty[country][0] = GB\nproperty[phone][0] = +44.123\n\
             property[email][0] = ada@example.com\nproperty[organization][0] =\nEOF\n",
        );
        let c = contact_from_status(&r);
        assert_eq!(c.first_name, "Ada");
        assert_eq!(c.last_name, "Lovelace");
        assert_eq!(c.street, vec!["1 Main St", "Floor 2"]);
        assert_eq!(c.organization, None);
        assert_eq!(c.country, "GB");
    }
}
