//! The billing port the engine talks to, and the to-do channel choice.
//!
//! [`BillingPort`] is what the reconciliation engine needs from WHMCS; [`WhmcsClient`]
//! implements it over the External API and tests can implement it in memory.
//! [`ToDoNotifier`] raises a to-do for an admin: as a real `tbltodolist` row when the
//! database is configured, otherwise as a ticket (bot client into a department) or, as
//! a last resort, an admin e-mail. It reports which [`ToDoChannel`] it used.

use crate::actions::{
    BillingDomainList, ClientDetails, ClientDomain, DomainInvoiceKind, DomainUpdate, Invoice,
    InvoiceUpdate, KnownClientCurrencies, NewTicket, OpenedTicket, Ticket, TicketFilter,
    TicketPriority, TldPriceList, ToDoItem, ToDoUpdate, WhmcsCurrency,
};
use crate::db::{DbError, NewToDo, WhmcsDb};
use crate::error::WhmcsError;
use crate::invoice_walk::Walked;
use crate::renewal::{InvoiceFor, RenewalInvoices, RenewalWindow};
use crate::{Secret, WhmcsClient};
use async_trait::async_trait;
use domwatch_core::DomainName;
use std::fmt;
use std::sync::Arc;

/// What domwatch needs from the billing system.
#[async_trait]
pub trait BillingPort: Send + Sync {
    /// Every domain, amounts in the client's currency; `is_premium` is `None` over the API
    /// (its blind spot) and read from the row over the database ([`crate::db_billing`]).
    /// Currencies of clients in `known` are taken as given; the others are asked for and
    /// come back in [`BillingDomainList::learned_currencies`] for the caller to keep.
    async fn list_domains(
        &self,
        known: &KnownClientCurrencies,
    ) -> Result<BillingDomainList, WhmcsError>;
    /// True when [`Self::list_domains`] names every client's currency itself (the
    /// database read joins them), so the caller need not gather the ones it knows.
    fn lists_client_currencies(&self) -> bool {
        false
    }
    async fn client_details(&self, client_id: u64) -> Result<ClientDetails, WhmcsError>;
    async fn currencies(&self) -> Result<Vec<WhmcsCurrency>, WhmcsError>;
    async fn tld_pricing(&self, currency_id: u64) -> Result<TldPriceList, WhmcsError>;
    /// The newest invoice of the client with a `kind` line for the domain.
    async fn find_domain_invoice(
        &self,
        client_id: u64,
        domain_id: u64,
        kind: DomainInvoiceKind,
        status: Option<&str>,
    ) -> Result<Option<Invoice>, WhmcsError>;
    /// The renewal invoice of each of `domains` by the rule of [`crate::renewal`], completely
    /// or an error (a domain missing from the answer has none). The default asks per
    /// domain; the API client walks the invoice list once, the database reads it in SQL.
    async fn renewal_invoices(
        &self,
        domains: &[InvoiceFor],
        window: RenewalWindow,
    ) -> Result<RenewalInvoices, WhmcsError> {
        renewal_invoices_per_domain(self, domains, window).await
    }
    async fn update_domain(&self, domain_id: u64, update: &DomainUpdate) -> Result<(), WhmcsError>;
    async fn update_invoice(
        &self,
        invoice_id: u64,
        update: &InvoiceUpdate,
    ) -> Result<(), WhmcsError>;
    async fn renew_domain(&self, domain_id: u64, years: Option<u32>) -> Result<(), WhmcsError>;
    async fn transfer_domain(
        &self,
        domain_id: u64,
        epp_code: Option<&Secret>,
    ) -> Result<(), WhmcsError>;
    async fn open_ticket(&self, ticket: &NewTicket) -> Result<OpenedTicket, WhmcsError>;
    async fn tickets(&self, filter: &TicketFilter) -> Result<Vec<Ticket>, WhmcsError>;
    async fn reply_to_ticket(
        &self,
        ticket_id: u64,
        message: &str,
        client_id: Option<u64>,
    ) -> Result<(), WhmcsError>;
    async fn send_admin_email(&self, subject: &str, html_message: &str) -> Result<(), WhmcsError>;
    async fn log_activity(
        &self,
        description: &str,
        client_id: Option<u64>,
    ) -> Result<(), WhmcsError>;
    async fn todo_items(&self, status: Option<&str>) -> Result<Vec<ToDoItem>, WhmcsError>;
    async fn update_todo_item(
        &self,
        item_id: u64,
        admin_id: u64,
        update: &ToDoUpdate,
    ) -> Result<(), WhmcsError>;
    /// One domain by id (`None`: WHMCS has no such domain). Used to look whether a write
    /// an interrupted fix made is in effect; the default cannot look, which leaves such a
    /// write unconfirmed rather than guessed.
    async fn domain_by_id(&self, domain_id: u64) -> Result<Option<ClientDomain>, WhmcsError> {
        Err(cannot_look("GetClientsDomains", domain_id))
    }
    /// One invoice by id; the default cannot look (see [`Self::domain_by_id`]).
    async fn invoice_by_id(&self, invoice_id: u64) -> Result<Invoice, WhmcsError> {
        Err(cannot_look("GetInvoice", invoice_id))
    }
    /// Just the domains named `names` (a targeted check), completely or an error, like
    /// [`Self::list_domains`]. The default cannot, so a targeted check says so and
    /// judges nothing.
    async fn list_domains_named(
        &self,
        _names: &[DomainName],
        _known: &KnownClientCurrencies,
    ) -> Result<BillingDomainList, WhmcsError> {
        Err(WhmcsError::Api {
            action: "GetClientsDomains".into(),
            message: "this billing connection cannot read single domains: run a full check".into(),
            registrar_error: None,
        })
    }
}

/// The renewal invoice of each of `domains`, asked per domain with
/// [`BillingPort::find_domain_invoice`] (the default of [`BillingPort::renewal_invoices`]).
pub async fn renewal_invoices_per_domain<B: BillingPort + ?Sized>(
    billing: &B,
    domains: &[InvoiceFor],
    window: RenewalWindow,
) -> Result<RenewalInvoices, WhmcsError> {
    let mut found = RenewalInvoices::new();
    for d in domains {
        let invoice = billing
            .find_domain_invoice(d.client_id, d.domain_id, DomainInvoiceKind::Renewal, None)
            .await?;
        if let Some(inv) = invoice.filter(|i| window.admits(i.date)) {
            found.insert(d.domain_id, inv);
        }
    }
    Ok(found)
}

fn cannot_look(action: &str, id: u64) -> WhmcsError {
    WhmcsError::Api {
        action: action.into(),
        message: format!("this billing connection cannot read #{id} on its own"),
        registrar_error: None,
    }
}

#[async_trait]
impl BillingPort for WhmcsClient {
    async fn list_domains(
        &self,
        known: &KnownClientCurrencies,
    ) -> Result<BillingDomainList, WhmcsError> {
        self.list_billing_domains_knowing(known).await
    }
    async fn client_details(&self, client_id: u64) -> Result<ClientDetails, WhmcsError> {
        self.get_client_details(client_id).await
    }
    async fn currencies(&self) -> Result<Vec<WhmcsCurrency>, WhmcsError> {
        self.get_currencies().await
    }
    async fn tld_pricing(&self, currency_id: u64) -> Result<TldPriceList, WhmcsError> {
        self.get_tld_pricing(currency_id).await
    }
    async fn find_domain_invoice(
        &self,
        client_id: u64,
        domain_id: u64,
        kind: DomainInvoiceKind,
        status: Option<&str>,
    ) -> Result<Option<Invoice>, WhmcsError> {
        WhmcsClient::find_domain_invoice(self, client_id, domain_id, kind, status).await
    }
    /// One walk of the invoice list (see [`crate::invoice_walk`]); per domain when that
    /// is cheaper.
    async fn renewal_invoices(
        &self,
        domains: &[InvoiceFor],
        window: RenewalWindow,
    ) -> Result<RenewalInvoices, WhmcsError> {
        match self.walk_renewal_invoices(domains, window).await? {
            Walked::Found(found) => Ok(found),
            Walked::AskPerDomain => renewal_invoices_per_domain(self, domains, window).await,
        }
    }
    async fn update_domain(&self, domain_id: u64, update: &DomainUpdate) -> Result<(), WhmcsError> {
        self.update_client_domain(domain_id, update).await
    }
    async fn update_invoice(
        &self,
        invoice_id: u64,
        update: &InvoiceUpdate,
    ) -> Result<(), WhmcsError> {
        WhmcsClient::update_invoice(self, invoice_id, update).await
    }
    async fn renew_domain(&self, domain_id: u64, years: Option<u32>) -> Result<(), WhmcsError> {
        self.domain_renew(domain_id, years).await
    }
    async fn transfer_domain(
        &self,
        domain_id: u64,
        epp_code: Option<&Secret>,
    ) -> Result<(), WhmcsError> {
        self.domain_transfer(domain_id, epp_code).await
    }
    async fn open_ticket(&self, ticket: &NewTicket) -> Result<OpenedTicket, WhmcsError> {
        WhmcsClient::open_ticket(self, ticket).await
    }
    async fn tickets(&self, filter: &TicketFilter) -> Result<Vec<Ticket>, WhmcsError> {
        self.get_tickets(filter).await
    }
    async fn reply_to_ticket(
        &self,
        ticket_id: u64,
        message: &str,
        client_id: Option<u64>,
    ) -> Result<(), WhmcsError> {
        self.add_ticket_reply(ticket_id, message, client_id).await
    }
    async fn send_admin_email(&self, subject: &str, html_message: &str) -> Result<(), WhmcsError> {
        WhmcsClient::send_admin_email(self, subject, html_message).await
    }
    async fn log_activity(
        &self,
        description: &str,
        client_id: Option<u64>,
    ) -> Result<(), WhmcsError> {
        WhmcsClient::log_activity(self, description, client_id).await
    }
    async fn todo_items(&self, status: Option<&str>) -> Result<Vec<ToDoItem>, WhmcsError> {
        self.get_todo_items(status).await
    }
    async fn update_todo_item(
        &self,
        item_id: u64,
        admin_id: u64,
        update: &ToDoUpdate,
    ) -> Result<(), WhmcsError> {
        WhmcsClient::update_todo_item(self, item_id, admin_id, update).await
    }
    async fn domain_by_id(&self, domain_id: u64) -> Result<Option<ClientDomain>, WhmcsError> {
        self.get_clients_domain(domain_id).await
    }
    async fn invoice_by_id(&self, invoice_id: u64) -> Result<Invoice, WhmcsError> {
        self.get_invoice(invoice_id).await
    }
    async fn list_domains_named(
        &self,
        names: &[DomainName],
        known: &KnownClientCurrencies,
    ) -> Result<BillingDomainList, WhmcsError> {
        self.list_billing_domains_named(names, known).await
    }
}

/// Where a to-do ended up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ToDoChannel {
    /// A `tbltodolist` row (needs the database URL).
    Database,
    /// A ticket opened by the bot client in the configured department.
    Ticket,
    /// An e-mail to the admins (SendAdminEmail), when neither of the above is configured.
    AdminEmail,
}

impl fmt::Display for ToDoChannel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ToDoChannel::Database => "WHMCS to-do list (database)",
            ToDoChannel::Ticket => "WHMCS support ticket",
            ToDoChannel::AdminEmail => "WHMCS admin e-mail",
        })
    }
}

/// Which client opens tickets into which department.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TicketDestination {
    pub bot_client_id: u64,
    pub department_id: u64,
}

/// What [`ToDoNotifier::raise`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RaisedToDo {
    pub channel: ToDoChannel,
    /// `todo #12`, `ticket #34 (ABC-123456)` or `admin e-mail`.
    pub reference: String,
    /// True when an open to-do or ticket with the same title already existed.
    pub reused: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ToDoError {
    #[error(transparent)]
    Api(#[from] WhmcsError),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Raises to-dos through the best channel available.
#[derive(Clone)]
pub struct ToDoNotifier {
    billing: Arc<dyn BillingPort>,
    db: Option<WhmcsDb>,
    tickets: Option<TicketDestination>,
}

impl ToDoNotifier {
    pub fn new(
        billing: Arc<dyn BillingPort>,
        db: Option<WhmcsDb>,
        tickets: Option<TicketDestination>,
    ) -> Self {
        Self {
            billing,
            db,
            tickets,
        }
    }

    /// The channel [`Self::raise`] will use.
    pub fn channel(&self) -> ToDoChannel {
        if self.db.is_some() {
            ToDoChannel::Database
        } else if self.tickets.is_some() {
            ToDoChannel::Ticket
        } else {
            ToDoChannel::AdminEmail
        }
    }

    /// Raises the to-do once: a second call with the same title reuses the open to-do or
    /// ticket (admin e-mails cannot be deduplicated and are sent again).
    pub async fn raise(&self, todo: &NewToDo) -> Result<RaisedToDo, ToDoError> {
        self.raise_checked(todo, true).await
    }

    /// Raises a to-do the caller knows was never attempted before (its exactly-once claim
    /// was just taken fresh), so the ticket search that [`Self::raise`] makes first is
    /// skipped: GetTickets filters by a `LIKE` over every ticket's subject, one full scan
    /// per notice. The database channel still deduplicates; it costs one indexed query.
    pub async fn raise_first_attempt(&self, todo: &NewToDo) -> Result<RaisedToDo, ToDoError> {
        self.raise_checked(todo, false).await
    }

    async fn raise_checked(
        &self,
        todo: &NewToDo,
        look_for_existing: bool,
    ) -> Result<RaisedToDo, ToDoError> {
        let channel = self.channel();
        match (&self.db, &self.tickets) {
            (Some(db), _) => {
                let row = db.create_todo(todo).await?;
                Ok(RaisedToDo {
                    channel,
                    reference: format!("todo #{}", row.id),
                    reused: row.reused,
                })
            }
            (None, Some(dest)) => {
                let open = if !look_for_existing {
                    None
                } else {
                    self.billing
                        .tickets(&TicketFilter {
                            client_id: Some(dest.bot_client_id),
                            department_id: Some(dest.department_id),
                            subject: Some(todo.title.clone()),
                            status: None,
                        })
                        .await?
                        .into_iter()
                        .find(|t| t.subject == todo.title && t.status != "Closed")
                };
                if let Some(ticket) = open {
                    return Ok(RaisedToDo {
                        channel,
                        reference: format!("ticket #{} ({})", ticket.id, ticket.tid),
                        reused: true,
                    });
                }
                let opened = self
                    .billing
                    .open_ticket(&NewTicket {
                        department_id: dest.department_id,
                        client_id: dest.bot_client_id,
                        subject: todo.title.clone(),
                        message: format!("{}\n\nDue: {}", todo.description, todo.due_date),
                        priority: TicketPriority::Medium,
                        domain_id: None,
                        markdown: true,
                    })
                    .await?;
                Ok(RaisedToDo {
                    channel,
                    reference: format!("ticket #{} ({})", opened.id, opened.tid),
                    reused: false,
                })
            }
            (None, None) => {
                let body = format!(
                    "<p>{}</p><p>Due: {}</p>",
                    html_escape(&todo.description),
                    todo.due_date
                );
                self.billing.send_admin_email(&todo.title, &body).await?;
                Ok(RaisedToDo {
                    channel,
                    reference: "admin e-mail".into(),
                    reused: false,
                })
            }
        }
    }
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('\n', "<br>")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_is_escaped_in_admin_mail() {
        assert_eq!(html_escape("a<b>&\nc"), "a&lt;b&gt;&amp;<br>c");
    }
}
