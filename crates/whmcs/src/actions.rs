//! Typed WHMCS actions on [`WhmcsClient`]: request builders and lenient response parsers.

use crate::api::{protocol, ActionKind, Params, WhmcsClient};
pub use crate::client_domain::{ClientDomain, UnreadableDomain};
use crate::error::WhmcsError;
use crate::json::{self, Object};
use chrono::NaiveDate;
use domwatch_core::model::{BillingDomain, BillingStatus};
use domwatch_core::{Currency, DomainName};
use rust_decimal::Decimal;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

fn p(key: &str, value: impl ToString) -> (String, String) {
    (key.to_string(), value.to_string())
}

fn flag01(value: bool) -> &'static str {
    if value {
        "1"
    } else {
        "0"
    }
}

fn ymd(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

/// Maps a field-level parse problem to a protocol error naming the action and entry.
fn bad<'a>(action: &str, entry: &'a Object) -> impl Fn(String) -> WhmcsError + 'a {
    let action = action.to_string();
    move |detail| protocol(&action, detail, entry)
}

/// Stands in for a row's currency until its client's currency is resolved.
const PLACEHOLDER_CURRENCY: Currency = Currency::EUR;

/// Every domain with its client's currency, plus the rows that could not be read.
#[derive(Debug, Clone, Default)]
pub struct BillingDomainList {
    pub domains: Vec<BillingDomain>,
    pub unreadable: Vec<UnreadableDomain>,
    /// Currencies of clients that were not in the caller's `known` map and had to be asked
    /// for, so the caller can keep them and not ask again.
    pub learned_currencies: Vec<LearnedClientCurrency>,
}

/// Client currencies the caller already knows, by client id (from the WHMCS database or
/// domwatch's own cache); a listing asks WHMCS only about the others.
pub type KnownClientCurrencies = HashMap<u64, Currency>;

/// How a client's currency was learned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CurrencySource {
    /// `currencycode` of one of the client's invoices (GetInvoices). WHMCS fills it from
    /// the client's *current* currency (`getCurrency(userid)`), not from the invoice.
    Invoices,
    /// GetClientsDetails.
    ClientDetails,
}

impl CurrencySource {
    pub fn as_str(self) -> &'static str {
        match self {
            CurrencySource::Invoices => "invoices",
            CurrencySource::ClientDetails => "client_details",
        }
    }
}

/// A client's currency as a listing found it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LearnedClientCurrency {
    pub client_id: u64,
    pub currency: Currency,
    pub source: CurrencySource,
}

/// Fewer unknown clients than this are asked one by one: probing the invoice list would
/// not pay off.
const INVOICE_WALK_MIN_CLIENTS: usize = 50;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientDetails {
    pub id: u64,
    pub first_name: String,
    pub last_name: String,
    pub company_name: String,
    pub email: String,
    /// `tblcurrencies.id` of the client's currency.
    pub currency_id: u64,
    /// ISO code, when WHMCS sent it (`currency_code`).
    pub currency_code: Option<Currency>,
    pub group_id: u64,
    pub address1: String,
    pub address2: String,
    pub city: String,
    pub state: String,
    pub postcode: String,
    /// ISO 3166 alpha-2 (`country`, or `countrycode` in some versions).
    pub country: String,
    /// `+CC.NUMBER` when WHMCS sends `phonenumberformatted`, else the raw number.
    pub phone: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WhmcsCurrency {
    pub id: u64,
    pub code: Currency,
    pub prefix: String,
    pub suffix: String,
    /// Relative to the default currency (rate 1).
    pub rate: Decimal,
}

impl WhmcsCurrency {
    fn parse(entry: &Object) -> Result<Self, String> {
        let code = json::text_or_empty(entry, "code");
        Ok(Self {
            id: json::u64_req(entry, "id")?,
            code: code.parse().map_err(|e| format!("currency code: {e}"))?,
            prefix: json::text_or_empty(entry, "prefix"),
            suffix: json::text_or_empty(entry, "suffix"),
            rate: json::decimal_opt(entry, "rate")?.unwrap_or(Decimal::ONE),
        })
    }
}

/// Standard (non-premium) prices of one TLD, per number of years.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TldPrices {
    pub register: BTreeMap<u32, Decimal>,
    pub transfer: BTreeMap<u32, Decimal>,
    pub renew: BTreeMap<u32, Decimal>,
    /// The redemption (restore) fee as a one-year term, from `redemption_period.price`;
    /// empty when WHMCS charges none.
    pub restore: BTreeMap<u32, Decimal>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TldPriceList {
    pub currency: WhmcsCurrency,
    /// Keyed by TLD without the dot (`com`, `co.uk`).
    pub tlds: BTreeMap<String, TldPrices>,
}

/// A line of GetInvoices (no items).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceSummary {
    pub id: u64,
    pub client_id: u64,
    pub status: String,
    pub date: Option<NaiveDate>,
    pub due_date: Option<NaiveDate>,
    pub date_paid: Option<NaiveDate>,
    pub total: Decimal,
    pub currency_code: Option<String>,
}

impl InvoiceSummary {
    pub(crate) fn parse(e: &Object) -> Result<Self, String> {
        Self::from_fields(|key| json::text(e, key).map(std::borrow::Cow::Owned))
    }

    /// Reads an entry from its fields' text (`None`: missing or null).
    pub(crate) fn from_fields<'a>(
        field: impl Fn(&str) -> Option<std::borrow::Cow<'a, str>>,
    ) -> Result<Self, String> {
        let date = |key: &str| json::date_of(key, field(key).as_deref());
        Ok(Self {
            id: json::u64_of("id", field("id").as_deref())?.ok_or("field `id` is missing")?,
            client_id: json::u64_of("userid", field("userid").as_deref())?.unwrap_or(0),
            status: field("status").map(|s| s.into_owned()).unwrap_or_default(),
            date: date("date")?,
            due_date: date("duedate")?,
            date_paid: date("datepaid")?,
            total: json::decimal_of("total", field("total").as_deref())?.unwrap_or(Decimal::ZERO),
            currency_code: field("currencycode").map(|s| s.into_owned()),
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceItem {
    pub id: u64,
    /// `Domain` (renewal), `DomainRegister`, `DomainTransfer`, ...
    pub item_type: String,
    pub rel_id: u64,
    pub description: String,
    pub amount: Decimal,
    pub taxed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invoice {
    pub id: u64,
    pub client_id: u64,
    pub status: String,
    pub date: Option<NaiveDate>,
    pub due_date: Option<NaiveDate>,
    pub date_paid: Option<NaiveDate>,
    pub subtotal: Decimal,
    pub total: Decimal,
    pub balance: Decimal,
    pub items: Vec<InvoiceItem>,
    /// The client's currency as GetInvoices reports it (WHMCS fills it from the client's
    /// current currency); `None` when only GetInvoice was asked, which does not say.
    pub client_currency: Option<Currency>,
}

/// Which invoice line belongs to a domain event (`tblinvoiceitems.type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DomainInvoiceKind {
    /// `Domain`: the renewal (cron and client-area renewals alike).
    Renewal,
    Registration,
    Transfer,
}

impl DomainInvoiceKind {
    pub fn item_type(self) -> &'static str {
        match self {
            DomainInvoiceKind::Renewal => "Domain",
            DomainInvoiceKind::Registration => "DomainRegister",
            DomainInvoiceKind::Transfer => "DomainTransfer",
        }
    }
}

/// Fields to change with UpdateClientDomain. Unset fields are not sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DomainUpdate {
    pub recurring_amount: Option<Decimal>,
    pub status: Option<BillingStatus>,
    pub expiry: Option<NaiveDate>,
    pub next_due: Option<NaiveDate>,
    pub do_not_renew: Option<bool>,
    /// The ID protection add-on (`idprotection`, sent as 0/1).
    pub id_protection: Option<bool>,
    /// Let WHMCS recalculate the recurring amount from the standard TLD price. It ignores
    /// premium pricing, so never use it for premium domains.
    pub auto_recalc: bool,
}

impl DomainUpdate {
    /// The form fields, or why WHMCS would silently not do what was asked.
    pub fn to_params(&self, domain_id: u64) -> Result<Params, String> {
        let mut params = vec![p("domainid", domain_id)];
        if let Some(amount) = self.recurring_amount {
            if amount <= Decimal::ZERO {
                return Err(format!(
                    "recurringamount {amount} for domain #{domain_id}: UpdateClientDomain ignores \
                     empty and zero values, so a zero (or negative) amount cannot be set through \
                     the API. Set it in the WHMCS admin area, or mark the domain free with a \
                     promotion"
                ));
            }
            if self.auto_recalc {
                return Err(format!(
                    "domain #{domain_id}: autorecalc makes WHMCS ignore the recurringamount you \
                     send; send one or the other"
                ));
            }
            params.push(p("recurringamount", format!("{:.2}", amount.round_dp(2))));
        }
        if let Some(status) = &self.status {
            let text = status.as_whmcs();
            if text.trim().is_empty() {
                return Err(format!(
                    "domain #{domain_id}: an empty status is ignored by WHMCS; give a status such as Active"
                ));
            }
            params.push(p("status", text));
        }
        if let Some(date) = self.expiry {
            params.push(p("expirydate", ymd(date)));
        }
        if let Some(date) = self.next_due {
            params.push(p("nextduedate", ymd(date)));
        }
        if let Some(flag) = self.do_not_renew {
            // A flag is written when present: 0/1, never "false" (non-empty means 1).
            params.push(p("donotrenew", flag01(flag)));
        }
        if let Some(flag) = self.id_protection {
            params.push(p("idprotection", flag01(flag)));
        }
        if self.auto_recalc {
            // WHMCS 8 recalculates when the key is present at all, so only send it when wanted.
            params.push(p("autorecalc", "1"));
        }
        if params.len() == 1 {
            return Err(format!("domain #{domain_id}: nothing to update"));
        }
        Ok(params)
    }
}

/// Changes for UpdateInvoice.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InvoiceUpdate {
    /// Draft, Unpaid, Paid, Cancelled, Refunded, Collections, Payment Pending.
    pub status: Option<String>,
    pub due_date: Option<NaiveDate>,
    pub date_paid: Option<NaiveDate>,
    pub notes: Option<String>,
    /// Edit existing lines: (item id, description, amount, taxed); WHMCS needs all three.
    pub items: Vec<(u64, String, Decimal, bool)>,
}

impl InvoiceUpdate {
    pub fn to_params(&self, invoice_id: u64) -> Params {
        let mut params = vec![p("invoiceid", invoice_id)];
        if let Some(status) = &self.status {
            params.push(p("status", status));
        }
        if let Some(date) = self.due_date {
            params.push(p("duedate", ymd(date)));
        }
        if let Some(date) = self.date_paid {
            params.push(p("datepaid", ymd(date)));
        }
        if let Some(notes) = &self.notes {
            params.push(p("notes", notes));
        }
        for (id, description, amount, taxed) in &self.items {
            params.push(p(&format!("itemdescription[{id}]"), description));
            params.push(p(
                &format!("itemamount[{id}]"),
                format!("{:.2}", amount.round_dp(2)),
            ));
            params.push(p(&format!("itemtaxed[{id}]"), flag01(*taxed)));
        }
        params
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TicketPriority {
    #[default]
    Low,
    Medium,
    High,
}

impl TicketPriority {
    pub fn as_whmcs(self) -> &'static str {
        match self {
            TicketPriority::Low => "Low",
            TicketPriority::Medium => "Medium",
            TicketPriority::High => "High",
        }
    }
}

/// A ticket to open as a client into a department.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTicket {
    pub department_id: u64,
    /// Usually the WhmcsBot client. WHMCS links `domain_id` only to the client's own
    /// domains, so for a bot put the domain in the subject instead.
    pub client_id: u64,
    pub subject: String,
    pub message: String,
    pub priority: TicketPriority,
    pub domain_id: Option<u64>,
    pub markdown: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenedTicket {
    /// Database id (what AddTicketReply wants).
    pub id: u64,
    /// Public ticket number.
    pub tid: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TicketFilter {
    pub department_id: Option<u64>,
    pub client_id: Option<u64>,
    pub status: Option<String>,
    /// Approximate (substring) match in WHMCS.
    pub subject: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ticket {
    pub id: u64,
    pub tid: String,
    pub department_id: u64,
    pub client_id: u64,
    pub subject: String,
    pub status: String,
    pub priority: String,
    pub date: Option<NaiveDate>,
    pub service: String,
}

impl Ticket {
    fn parse(e: &Object) -> Result<Self, String> {
        Ok(Self {
            id: json::u64_req(e, "id")?,
            tid: json::text_or_empty(e, "tid"),
            department_id: json::u64_opt(e, "deptid")?.unwrap_or(0),
            client_id: json::u64_opt(e, "userid")?.unwrap_or(0),
            subject: json::text_or_empty(e, "subject"),
            status: json::text_or_empty(e, "status"),
            priority: json::text_or_empty(e, "priority"),
            date: json::date_opt(e, "date")?,
            service: json::text_or_empty(e, "service"),
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToDoItem {
    pub id: u64,
    pub date: Option<NaiveDate>,
    pub title: String,
    pub description: String,
    pub admin_id: u64,
    pub status: String,
    pub due_date: Option<NaiveDate>,
}

impl ToDoItem {
    fn parse(entry: &Object) -> Result<Self, String> {
        Ok(Self {
            id: json::u64_req(entry, "id")?,
            date: json::date_opt(entry, "date")?,
            title: json::text_or_empty(entry, "title"),
            description: json::text_or_empty(entry, "description"),
            admin_id: json::u64_opt(entry, "admin")?.unwrap_or(0),
            status: json::text_or_empty(entry, "status"),
            due_date: json::date_opt(entry, "duedate")?,
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ToDoUpdate {
    pub status: Option<String>,
    pub title: Option<String>,
    pub description: Option<String>,
    /// Sent as Y-m-d; WHMCS parses it with the system date format, so keep that at Y-m-d.
    pub due_date: Option<NaiveDate>,
}

fn prices_by_years(obj: Option<&Object>) -> Result<BTreeMap<u32, Decimal>, String> {
    let mut out = BTreeMap::new();
    if let Some(obj) = obj {
        for key in obj.keys() {
            let years: u32 = key
                .parse()
                .map_err(|_| format!("price period `{key}` is not a number of years"))?;
            if let Some(price) = json::decimal_opt(obj, key)? {
                out.insert(years, price);
            }
        }
    }
    Ok(out)
}

/// `redemption_period: {days, price}` (null or absent: no restore price) as a 1-year term.
fn redemption_fee(obj: Option<&Object>) -> Result<BTreeMap<u32, Decimal>, String> {
    let mut out = BTreeMap::new();
    if let Some(price) = obj
        .map(|o| json::decimal_opt(o, "price"))
        .transpose()?
        .flatten()
    {
        out.insert(1, price);
    }
    Ok(out)
}

/// Where a list action's entries sit in its answer: `outer.inner`.
type ListPath = (&'static str, &'static str);

impl WhmcsClient {
    /// Calls `action` and reads its answer with `parse`; what `parse` cannot read is a
    /// protocol error that shows the answer.
    async fn call_parsed<T>(
        &self,
        action: &str,
        kind: ActionKind,
        params: &[(String, String)],
        parse: impl FnOnce(&Object) -> Result<T, String>,
    ) -> Result<T, WhmcsError> {
        let answer = self.call(action, kind, params).await?;
        parse(&answer).map_err(|d| protocol(action, d, &answer))
    }

    /// One read whose answer lists its entries under `path`, each read by `parse`.
    async fn read_list<T>(
        &self,
        action: &'static str,
        params: &[(String, String)],
        (outer, inner): ListPath,
        parse: fn(&Object) -> Result<T, String>,
    ) -> Result<Vec<T>, WhmcsError> {
        let answer = self.call(action, ActionKind::Read, params).await?;
        let entries =
            json::nested_list(&answer, outer, inner).map_err(|d| protocol(action, d, &answer))?;
        entries
            .iter()
            .map(|e| parse(e).map_err(bad(action, e)))
            .collect()
    }

    /// Every page of a list action, each entry read by `parse` as its page arrives.
    async fn read_all_pages<T: Send + 'static>(
        &self,
        action: &'static str,
        params: &[(String, String)],
        (outer, inner): ListPath,
        parse: fn(&Object) -> Result<T, String>,
    ) -> Result<Vec<T>, WhmcsError> {
        self.fetch_all_pages_parsed(action, params, outer, inner, move |e| {
            parse(e).map_err(bad(action, e))
        })
        .await
    }

    /// GetClientsDomains, every page.
    pub async fn get_clients_domains(&self) -> Result<Vec<ClientDomain>, WhmcsError> {
        self.domain_pages(|row| row.into_owned()).await
    }

    /// Every GetClientsDomains page, each row turned into `T` as its page arrives.
    async fn domain_pages<T: Send + 'static>(
        &self,
        row: fn(crate::domain_page::PageRow<'_>) -> T,
    ) -> Result<Vec<T>, WhmcsError> {
        const ACTION: &str = "GetClientsDomains";
        self.fetch_all_pages_with(ACTION, move |client: WhmcsClient, offset| async move {
            let params = [
                p("limitstart", offset),
                p("limitnum", client.config().page_size),
            ];
            client
                .call_decoded(ACTION, ActionKind::Read, &params, |action, status, body| {
                    crate::domain_page::decode(action, status, body, row)
                })
                .await
        })
        .await
    }

    /// One domain by id.
    pub async fn get_clients_domain(
        &self,
        domain_id: u64,
    ) -> Result<Option<ClientDomain>, WhmcsError> {
        let params = [p("domainid", domain_id)];
        let domains = self
            .read_list(
                "GetClientsDomains",
                &params,
                ("domains", "domain"),
                ClientDomain::parse,
            )
            .await?;
        Ok(domains.into_iter().next())
    }

    pub async fn get_client_details(&self, client_id: u64) -> Result<ClientDetails, WhmcsError> {
        const ACTION: &str = "GetClientsDetails";
        let params = [p("clientid", client_id)];
        self.call_parsed(ACTION, ActionKind::Read, &params, |answer| {
            // Fields live under `client`; older versions only send the top-level duplicates.
            let client = json::object(answer, "client").unwrap_or(answer);
            Ok(ClientDetails {
                id: json::u64_opt(client, "id")?
                    .or(json::u64_opt(client, "userid")?)
                    .unwrap_or(client_id),
                first_name: json::text_or_empty(client, "firstname"),
                last_name: json::text_or_empty(client, "lastname"),
                company_name: json::text_or_empty(client, "companyname"),
                email: json::text_or_empty(client, "email"),
                currency_id: json::u64_opt(client, "currency")?.unwrap_or(1),
                currency_code: json::text(client, "currency_code").and_then(|c| c.parse().ok()),
                group_id: json::u64_opt(client, "groupid")?.unwrap_or(0),
                address1: json::text_or_empty(client, "address1"),
                address2: json::text_or_empty(client, "address2"),
                city: json::text_or_empty(client, "city"),
                state: json::text_or_empty(client, "state"),
                postcode: json::text_or_empty(client, "postcode"),
                country: json::text(client, "countrycode")
                    .or_else(|| json::text(client, "country"))
                    .unwrap_or_default(),
                phone: json::text(client, "phonenumberformatted")
                    .or_else(|| json::text(client, "phonenumber"))
                    .unwrap_or_default(),
            })
        })
        .await
    }

    pub async fn get_currencies(&self) -> Result<Vec<WhmcsCurrency>, WhmcsError> {
        let list = ("currencies", "currency");
        self.read_list("GetCurrencies", &[], list, WhmcsCurrency::parse)
            .await
    }

    /// GetTLDPricing for a currency id: standard register, transfer and renew prices per
    /// term, and the redemption (restore) fee.
    pub async fn get_tld_pricing(&self, currency_id: u64) -> Result<TldPriceList, WhmcsError> {
        const ACTION: &str = "GetTLDPricing";
        let params = [p("currencyid", currency_id)];
        self.call_parsed(ACTION, ActionKind::Read, &params, |answer| {
            let currency = json::object(answer, "currency").ok_or("`currency` is missing")?;
            let mut tlds = BTreeMap::new();
            if let Some(pricing) = json::object(answer, "pricing") {
                for (tld, entry) in pricing {
                    let entry = entry
                        .as_object()
                        .ok_or_else(|| format!("pricing for `{tld}` is not an object"))?;
                    tlds.insert(
                        tld.trim_start_matches('.').to_string(),
                        TldPrices {
                            register: prices_by_years(json::object(entry, "register"))?,
                            transfer: prices_by_years(json::object(entry, "transfer"))?,
                            renew: prices_by_years(json::object(entry, "renew"))?,
                            restore: redemption_fee(json::object(entry, "redemption_period"))?,
                        },
                    );
                }
            }
            Ok(TldPriceList {
                currency: WhmcsCurrency::parse(currency)?,
                tlds,
            })
        })
        .await
    }

    /// GetInvoices, every page (paging by entries returned; 7.8's `numreturned` lies).
    pub async fn get_invoices(
        &self,
        client_id: Option<u64>,
        status: Option<&str>,
    ) -> Result<Vec<InvoiceSummary>, WhmcsError> {
        const ACTION: &str = "GetInvoices";
        let mut params = Vec::new();
        if let Some(id) = client_id {
            params.push(p("userid", id));
        }
        if let Some(status) = status {
            params.push(p("status", status));
        }
        self.read_all_pages(
            ACTION,
            &params,
            ("invoices", "invoice"),
            InvoiceSummary::parse,
        )
        .await
    }

    pub async fn get_invoice(&self, invoice_id: u64) -> Result<Invoice, WhmcsError> {
        const ACTION: &str = "GetInvoice";
        let params = [p("invoiceid", invoice_id)];
        self.call_parsed(ACTION, ActionKind::Read, &params, |answer| {
            let items = json::nested_list(answer, "items", "item")?
                .iter()
                .map(|i| {
                    Ok(InvoiceItem {
                        id: json::u64_req(i, "id")?,
                        item_type: json::text_or_empty(i, "type"),
                        rel_id: json::u64_opt(i, "relid")?.unwrap_or(0),
                        description: json::text_or_empty(i, "description"),
                        amount: json::decimal_or_zero(i, "amount")?,
                        taxed: json::flag(i, "taxed"),
                    })
                })
                .collect::<Result<Vec<_>, String>>()?;
            Ok(Invoice {
                id: json::u64_opt(answer, "invoiceid")?.unwrap_or(invoice_id),
                client_id: json::u64_opt(answer, "userid")?.unwrap_or(0),
                status: json::text_or_empty(answer, "status"),
                date: json::date_opt(answer, "date")?,
                due_date: json::date_opt(answer, "duedate")?,
                date_paid: json::date_opt(answer, "datepaid")?,
                subtotal: json::decimal_or_zero(answer, "subtotal")?,
                total: json::decimal_or_zero(answer, "total")?,
                balance: json::decimal_or_zero(answer, "balance")?,
                items,
                client_currency: None,
            })
        })
        .await
    }

    /// The newest invoice of `client_id` with a line of `kind` for `domain_id`. GetInvoices
    /// has no item filter, so this reads each candidate invoice (newest first).
    pub async fn find_domain_invoice(
        &self,
        client_id: u64,
        domain_id: u64,
        kind: DomainInvoiceKind,
        status: Option<&str>,
    ) -> Result<Option<Invoice>, WhmcsError> {
        let mut candidates = self.get_invoices(Some(client_id), status).await?;
        candidates.sort_by_key(|c| std::cmp::Reverse(c.id));
        for summary in candidates {
            let mut invoice = self.get_invoice(summary.id).await?;
            invoice.client_currency = summary
                .currency_code
                .as_deref()
                .and_then(|c| c.parse().ok());
            if invoice
                .items
                .iter()
                .any(|i| i.item_type == kind.item_type() && i.rel_id == domain_id)
            {
                return Ok(Some(invoice));
            }
        }
        Ok(None)
    }

    pub async fn update_client_domain(
        &self,
        domain_id: u64,
        update: &DomainUpdate,
    ) -> Result<(), WhmcsError> {
        const ACTION: &str = "UpdateClientDomain";
        let params = update
            .to_params(domain_id)
            .map_err(|reason| WhmcsError::InvalidRequest {
                action: ACTION.into(),
                reason,
            })?;
        self.call(ACTION, ActionKind::Write, &params).await?;
        Ok(())
    }

    pub async fn update_invoice(
        &self,
        invoice_id: u64,
        update: &InvoiceUpdate,
    ) -> Result<(), WhmcsError> {
        self.call(
            "UpdateInvoice",
            ActionKind::Write,
            &update.to_params(invoice_id),
        )
        .await?;
        Ok(())
    }

    /// DomainRenew: WHMCS calls the registrar right away (no invoice, no due-date change).
    pub async fn domain_renew(&self, domain_id: u64, years: Option<u32>) -> Result<(), WhmcsError> {
        let mut params = vec![p("domainid", domain_id)];
        if let Some(years) = years {
            params.push(p("regperiod", years));
        }
        self.call("DomainRenew", ActionKind::Write, &params).await?;
        Ok(())
    }

    pub async fn domain_transfer(
        &self,
        domain_id: u64,
        epp_code: Option<&crate::Secret>,
    ) -> Result<(), WhmcsError> {
        let mut params = vec![p("domainid", domain_id)];
        if let Some(code) = epp_code {
            params.push(p("eppcode", code.expose()));
        }
        self.call("DomainTransfer", ActionKind::Write, &params)
            .await?;
        Ok(())
    }

    pub async fn open_ticket(&self, ticket: &NewTicket) -> Result<OpenedTicket, WhmcsError> {
        const ACTION: &str = "OpenTicket";
        let mut params = vec![
            p("deptid", ticket.department_id),
            p("clientid", ticket.client_id),
            p("subject", &ticket.subject),
            p("message", &ticket.message),
            p("priority", ticket.priority.as_whmcs()),
        ];
        if let Some(id) = ticket.domain_id {
            params.push(p("domainid", id));
        }
        if ticket.markdown {
            params.push(p("markdown", "1"));
        }
        self.call_parsed(ACTION, ActionKind::Write, &params, |answer| {
            Ok(OpenedTicket {
                id: json::u64_req(answer, "id")?,
                tid: json::text_or_empty(answer, "tid"),
            })
        })
        .await
    }

    pub async fn get_tickets(&self, filter: &TicketFilter) -> Result<Vec<Ticket>, WhmcsError> {
        const ACTION: &str = "GetTickets";
        let mut params = Vec::new();
        if let Some(id) = filter.department_id {
            params.push(p("deptid", id));
        }
        if let Some(id) = filter.client_id {
            params.push(p("clientid", id));
        }
        if let Some(status) = &filter.status {
            params.push(p("status", status));
        }
        if let Some(subject) = &filter.subject {
            params.push(p("subject", subject));
        }
        self.read_all_pages(ACTION, &params, ("tickets", "ticket"), Ticket::parse)
            .await
    }

    /// AddTicketReply; `ticket_id` is the database id, not the public number.
    pub async fn add_ticket_reply(
        &self,
        ticket_id: u64,
        message: &str,
        client_id: Option<u64>,
    ) -> Result<(), WhmcsError> {
        let mut params = vec![p("ticketid", ticket_id), p("message", message)];
        if let Some(id) = client_id {
            params.push(p("clientid", id));
        }
        self.call("AddTicketReply", ActionKind::Write, &params)
            .await?;
        Ok(())
    }

    /// SendAdminEmail with a custom subject and HTML message (type `system`).
    pub async fn send_admin_email(
        &self,
        subject: &str,
        html_message: &str,
    ) -> Result<(), WhmcsError> {
        let params = vec![
            p("customsubject", subject),
            p("custommessage", html_message),
            p("type", "system"),
        ];
        self.call("SendAdminEmail", ActionKind::Write, &params)
            .await?;
        Ok(())
    }

    pub async fn log_activity(
        &self,
        description: &str,
        client_id: Option<u64>,
    ) -> Result<(), WhmcsError> {
        let mut params = vec![p("description", description)];
        if let Some(id) = client_id {
            // `clientid` for 8.x, `userid` for 7.x.
            params.push(p("clientid", id));
            params.push(p("userid", id));
        }
        self.call("LogActivity", ActionKind::Write, &params).await?;
        Ok(())
    }

    /// GetToDoItems, every page. `status` may be `Incomplete` (= not Completed).
    pub async fn get_todo_items(&self, status: Option<&str>) -> Result<Vec<ToDoItem>, WhmcsError> {
        const ACTION: &str = "GetToDoItems";
        let mut params = Vec::new();
        if let Some(status) = status {
            params.push(p("status", status));
        }
        // The answer omits `items` entirely when there are none; nested_list copes.
        self.read_all_pages(ACTION, &params, ("items", "item"), ToDoItem::parse)
            .await
    }

    /// UpdateToDoItem. `admin_id` is required by WHMCS and becomes the assigned admin.
    /// WHMCS answers success for ids that do not exist, so callers that must know should
    /// read the item back.
    pub async fn update_todo_item(
        &self,
        item_id: u64,
        admin_id: u64,
        update: &ToDoUpdate,
    ) -> Result<(), WhmcsError> {
        let mut params = vec![p("itemid", item_id), p("adminid", admin_id)];
        if let Some(status) = &update.status {
            params.push(p("status", status));
        }
        if let Some(title) = &update.title {
            params.push(p("title", title));
        }
        if let Some(description) = &update.description {
            params.push(p("description", description));
        }
        if let Some(date) = update.due_date {
            params.push(p("duedate", ymd(date)));
        }
        self.call("UpdateToDoItem", ActionKind::Write, &params)
            .await?;
        Ok(())
    }

    /// Every domain as [`BillingDomain`], with the amount in the client's currency, asking
    /// WHMCS about every client; see [`Self::list_billing_domains_knowing`].
    pub async fn list_billing_domains(&self) -> Result<BillingDomainList, WhmcsError> {
        self.list_billing_domains_knowing(&KnownClientCurrencies::new())
            .await
    }

    /// Every domain as [`BillingDomain`], with the amount in the client's currency.
    ///
    /// GetClientsDomains does not say which currency an amount is in, so each client's
    /// currency comes, in this order, from `known` (no call), from the invoice list
    /// (GetInvoices names every invoice's client and that client's currency; walked only
    /// when it takes fewer pages than there are unknown clients), and last from one
    /// GetClientsDetails per remaining client. What was learned comes back in
    /// [`BillingDomainList::learned_currencies`]. Rows with unusable names, deleted clients
    /// or unlisted currencies are reported in `unreadable`, not dropped silently.
    pub async fn list_billing_domains_knowing(
        &self,
        known: &KnownClientCurrencies,
    ) -> Result<BillingDomainList, WhmcsError> {
        let currencies = self.currency_codes().await?;
        // Rows go straight into the core model (currency patched below), so a million-row
        // listing never holds a second, raw copy of itself.
        let rows = self
            .domain_pages(|row| row.into_billing_domain(PLACEHOLDER_CURRENCY))
            .await?;
        self.with_client_currencies(rows, known, &currencies).await
    }

    /// WHMCS's currencies by id (GetCurrencies).
    async fn currency_codes(&self) -> Result<HashMap<u64, Currency>, WhmcsError> {
        Ok(self
            .get_currencies()
            .await?
            .into_iter()
            .map(|c| (c.id, c.code))
            .collect())
    }

    /// The domains named `names` (each asked with GetClientsDomains `domain=`, every page
    /// read, by A-label and, for IDNs, by Unicode name too), with currencies as in
    /// [`Self::list_billing_domains_knowing`]. For targeted checks of a few domains.
    pub async fn list_billing_domains_named(
        &self,
        names: &[DomainName],
        known: &KnownClientCurrencies,
    ) -> Result<BillingDomainList, WhmcsError> {
        let currencies = self.currency_codes().await?;
        let mut rows = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for name in names {
            let mut spellings = vec![name.ascii().to_string()];
            if name.is_idn() {
                spellings.push(name.unicode());
            }
            for spelling in spellings {
                let found = self
                    .read_all_pages(
                        "GetClientsDomains",
                        &[p("domain", spelling)],
                        ("domains", "domain"),
                        ClientDomain::parse,
                    )
                    .await?;
                for row in found.into_iter().filter(|r| seen.insert(r.id)) {
                    rows.push(row.into_billing_domain(PLACEHOLDER_CURRENCY));
                }
            }
        }
        self.with_client_currencies(rows, known, &currencies).await
    }

    /// Billing rows with their client's currency filled in (see
    /// [`Self::list_billing_domains_knowing`]).
    async fn with_client_currencies(
        &self,
        rows: Vec<Result<BillingDomain, UnreadableDomain>>,
        known: &KnownClientCurrencies,
        currencies: &HashMap<u64, Currency>,
    ) -> Result<BillingDomainList, WhmcsError> {
        let mut unknown: Vec<u64> = rows
            .iter()
            .filter_map(|r| r.as_ref().ok())
            .map(|d| d.client_id)
            .filter(|id| !known.contains_key(id))
            .collect();
        unknown.sort_unstable();
        unknown.dedup();
        let (asked, learned_currencies) =
            self.resolve_client_currencies(&unknown, currencies).await?;

        let mut list = BillingDomainList {
            domains: Vec::with_capacity(rows.len()),
            unreadable: Vec::new(),
            learned_currencies,
        };
        for row in rows {
            let mut domain = match row {
                Ok(domain) => domain,
                Err(unreadable) => {
                    tracing::warn!(domain_id = unreadable.id, reason = %unreadable.reason, "skipping unreadable WHMCS domain");
                    list.unreadable.push(unreadable);
                    continue;
                }
            };
            let currency = match known.get(&domain.client_id) {
                Some(currency) => Ok(*currency),
                None => asked.get(&domain.client_id).cloned().unwrap_or_else(|| {
                    Err(format!(
                        "no currency found for client #{}",
                        domain.client_id
                    ))
                }),
            };
            match currency {
                Ok(currency) => {
                    domain.recurring_amount.currency = currency;
                    list.domains.push(domain);
                }
                Err(reason) => list.unreadable.push(UnreadableDomain {
                    id: domain.id,
                    name: domain.name.ascii().to_string(),
                    reason,
                }),
            }
        }
        Ok(list)
    }

    /// Currencies of `clients` (sorted, distinct): from the invoice list when that is
    /// cheaper, then one GetClientsDetails per client still unknown. Clients that cannot be
    /// resolved get the reason instead.
    async fn resolve_client_currencies(
        &self,
        clients: &[u64],
        currencies: &HashMap<u64, Currency>,
    ) -> Result<
        (
            HashMap<u64, Result<Currency, String>>,
            Vec<LearnedClientCurrency>,
        ),
        WhmcsError,
    > {
        let mut resolved = HashMap::with_capacity(clients.len());
        let mut learned = Vec::with_capacity(clients.len());
        if clients.len() >= INVOICE_WALK_MIN_CLIENTS {
            for (client_id, currency) in self.client_currencies_from_invoices(clients).await? {
                resolved.insert(client_id, Ok(currency));
                learned.push(LearnedClientCurrency {
                    client_id,
                    currency,
                    source: CurrencySource::Invoices,
                });
            }
        }
        let rest: Vec<u64> = clients
            .iter()
            .copied()
            .filter(|id| !resolved.contains_key(id))
            .collect();
        for (client_id, currency) in self.client_currencies(&rest, currencies).await? {
            if let Ok(currency) = currency {
                learned.push(LearnedClientCurrency {
                    client_id,
                    currency,
                    source: CurrencySource::ClientDetails,
                });
            }
            resolved.insert(client_id, currency);
        }
        Ok((resolved, learned))
    }

    /// The currency of every client in `wanted` (sorted) that has at least one invoice,
    /// read from the whole invoice list, or nothing when walking that list would take at
    /// least as many calls as asking each client. One probe call tells the size of the
    /// list and the page size the server really uses (7.8 ignores `limitnum` here).
    async fn client_currencies_from_invoices(
        &self,
        wanted: &[u64],
    ) -> Result<HashMap<u64, Currency>, WhmcsError> {
        const ACTION: &str = "GetInvoices";
        let probe = self
            .call(
                ACTION,
                ActionKind::Read,
                &[p("limitstart", 0), p("limitnum", 1)],
            )
            .await?;
        let total = json::u64_opt(&probe, "totalresults")
            .map_err(|d| protocol(ACTION, d, &probe))?
            .unwrap_or(0);
        let returned = json::nested_list_ref(&probe, "invoices", "invoice")
            .map_err(|d| protocol(ACTION, d, &probe))?
            .len() as u64;
        let per_page = if returned > 1 {
            returned
        } else {
            u64::from(self.config().page_size.max(1))
        };
        let pages = total.div_ceil(per_page);
        if total == 0 || pages >= wanted.len() as u64 {
            return Ok(HashMap::new());
        }
        // Ordered by id so invoices created while reading land on the last page.
        let params = [p("orderby", "id"), p("order", "asc")];
        let seen = self
            .fetch_all_pages_parsed(ACTION, &params, "invoices", "invoice", |e| {
                let client = json::u64_opt(e, "userid").map_err(bad(ACTION, e))?;
                let currency = json::text(e, "currencycode").and_then(|c| c.parse().ok());
                Ok(client.zip(currency))
            })
            .await?;
        let mut found = HashMap::new();
        for (client, currency) in seen.into_iter().flatten() {
            if wanted.binary_search(&client).is_ok() {
                found.entry(client).or_insert(currency);
            }
        }
        tracing::debug!(
            invoices = total,
            clients = found.len(),
            "client currencies read from the invoice list"
        );
        Ok(found)
    }

    /// Currency per client. A client that does not exist (WHMCS keeps domains of deleted
    /// clients) or uses an unlisted currency gets the reason instead, so one bad row does
    /// not hide every other domain.
    async fn client_currencies(
        &self,
        client_ids: &[u64],
        currencies: &HashMap<u64, Currency>,
    ) -> Result<HashMap<u64, Result<Currency, String>>, WhmcsError> {
        let semaphore = Arc::new(tokio::sync::Semaphore::new(
            self.config().client_lookup_concurrency.max(1),
        ));
        let mut tasks = tokio::task::JoinSet::new();
        for &client_id in client_ids {
            let client = self.clone();
            let semaphore = semaphore.clone();
            tasks.spawn(async move {
                let _permit = semaphore.acquire_owned().await.expect("semaphore open");
                (client_id, client.get_client_details(client_id).await)
            });
        }
        let mut out = HashMap::new();
        while let Some(joined) = tasks.join_next().await {
            let (client_id, details) = joined.map_err(|e| WhmcsError::Transport {
                action: "GetClientsDetails".into(),
                detail: format!("lookup task failed: {e}"),
            })?;
            let currency = match details {
                Ok(details) => currencies
                    .get(&details.currency_id)
                    .copied()
                    .or(details.currency_code)
                    .ok_or_else(|| {
                        format!(
                            "client #{client_id} uses currency id {} which GetCurrencies does not \
                             list; add the currency in WHMCS or fix the client",
                            details.currency_id
                        )
                    }),
                Err(WhmcsError::NotFound { message, .. }) => Err(format!(
                    "client #{client_id} of this domain does not exist ({message}); assign the \
                     domain to an existing client in WHMCS"
                )),
                Err(other) => return Err(other),
            };
            out.insert(client_id, currency);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn zero_recurring_amount_is_refused_not_silently_ignored() {
        let update = DomainUpdate {
            recurring_amount: Some(Decimal::ZERO),
            ..Default::default()
        };
        let err = update.to_params(7).unwrap_err();
        assert!(err.contains("ignores empty and zero"), "{err}");
    }

    #[test]
    fn flags_are_sent_as_0_and_1_and_autorecalc_only_when_wanted() {
        let update = DomainUpdate {
            recurring_amount: Some(dec!(12.5)),
            do_not_renew: Some(false),
            next_due: NaiveDate::from_ymd_opt(2027, 1, 2),
            status: Some(BillingStatus::Active),
            ..Default::default()
        };
        let params = update.to_params(7).unwrap();
        assert!(params.contains(&p("donotrenew", "0")));
        assert!(params.contains(&p("recurringamount", "12.50")));
        assert!(params.contains(&p("nextduedate", "2027-01-02")));
        assert!(params.contains(&p("status", "Active")));
        assert!(!params.iter().any(|(k, _)| k == "autorecalc"));
        assert!(!params.iter().any(|(k, _)| k == "idprotection"));
        for (on, sent) in [(true, "1"), (false, "0")] {
            let update = DomainUpdate {
                id_protection: Some(on),
                ..Default::default()
            };
            assert_eq!(update.to_params(7).unwrap()[1], p("idprotection", sent));
        }
    }

    #[test]
    fn autorecalc_with_amount_and_empty_updates_are_refused() {
        let both = DomainUpdate {
            recurring_amount: Some(dec!(5)),
            auto_recalc: true,
            ..Default::default()
        };
        assert!(both.to_params(1).is_err());
        assert!(DomainUpdate::default()
            .to_params(1)
            .unwrap_err()
            .contains("nothing"));
    }

    #[test]
    fn invoice_item_edits_send_all_three_arrays() {
        let update = InvoiceUpdate {
            items: vec![(12, "Domain Renewal".into(), dec!(30), true)],
            ..Default::default()
        };
        let params = update.to_params(5);
        assert!(params.contains(&p("itemamount[12]", "30.00")));
        assert!(params.contains(&p("itemtaxed[12]", "1")));
        assert!(params.contains(&p("itemdescription[12]", "Domain Renewal")));
    }
}
