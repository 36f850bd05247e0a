//! [`DbBilling`]: the billing port that reads the snapshot and the domain invoices from
//! the WHMCS database (`whmcs.read_from = "database"`) and leaves everything else,
//! writes above all, to the API port it wraps. A few streamed SQL reads replace the
//! GetClientsDomains pages, the client look-ups and the per-domain invoice walks.

use crate::actions::{
    BillingDomainList, ClientDetails, ClientDomain, DomainInvoiceKind, DomainUpdate, Invoice,
    InvoiceUpdate, KnownClientCurrencies, NewTicket, OpenedTicket, Ticket, TicketFilter,
    TldPriceList, ToDoItem, ToDoUpdate, WhmcsCurrency,
};
use crate::db::WhmcsDb;
use crate::error::WhmcsError;
use crate::port::BillingPort;
use crate::renewal::{InvoiceFor, RenewalInvoices, RenewalWindow};
use crate::Secret;
use async_trait::async_trait;
use domwatch_core::DomainName;
use std::sync::Arc;

/// Reads from the WHMCS database, writes (and reads what the database path does not
/// cover) through `api`.
#[derive(Clone)]
pub struct DbBilling {
    api: Arc<dyn BillingPort>,
    db: WhmcsDb,
}

impl DbBilling {
    pub fn new(api: Arc<dyn BillingPort>, db: WhmcsDb) -> Self {
        Self { api, db }
    }
}

#[async_trait]
impl BillingPort for DbBilling {
    /// `known` is not needed: the join names every client's currency.
    async fn list_domains(
        &self,
        _known: &KnownClientCurrencies,
    ) -> Result<BillingDomainList, WhmcsError> {
        Ok(self.db.billing_domains().await?)
    }
    fn lists_client_currencies(&self) -> bool {
        true
    }
    async fn list_domains_named(
        &self,
        names: &[DomainName],
        _known: &KnownClientCurrencies,
    ) -> Result<BillingDomainList, WhmcsError> {
        Ok(self.db.billing_domains_named(names).await?)
    }
    async fn find_domain_invoice(
        &self,
        client_id: u64,
        domain_id: u64,
        kind: DomainInvoiceKind,
        status: Option<&str>,
    ) -> Result<Option<Invoice>, WhmcsError> {
        Ok(self
            .db
            .find_domain_invoice(client_id, domain_id, kind, status)
            .await?)
    }
    async fn renewal_invoices(
        &self,
        domains: &[InvoiceFor],
        window: RenewalWindow,
    ) -> Result<RenewalInvoices, WhmcsError> {
        Ok(self.db.renewal_invoices(domains, window).await?)
    }

    async fn client_details(&self, client_id: u64) -> Result<ClientDetails, WhmcsError> {
        self.api.client_details(client_id).await
    }
    async fn currencies(&self) -> Result<Vec<WhmcsCurrency>, WhmcsError> {
        self.api.currencies().await
    }
    async fn tld_pricing(&self, currency_id: u64) -> Result<TldPriceList, WhmcsError> {
        self.api.tld_pricing(currency_id).await
    }
    async fn update_domain(&self, domain_id: u64, update: &DomainUpdate) -> Result<(), WhmcsError> {
        self.api.update_domain(domain_id, update).await
    }
    async fn update_invoice(
        &self,
        invoice_id: u64,
        update: &InvoiceUpdate,
    ) -> Result<(), WhmcsError> {
        self.api.update_invoice(invoice_id, update).await
    }
    async fn renew_domain(&self, domain_id: u64, years: Option<u32>) -> Result<(), WhmcsError> {
        self.api.renew_domain(domain_id, years).await
    }
    async fn transfer_domain(
        &self,
        domain_id: u64,
        epp_code: Option<&Secret>,
    ) -> Result<(), WhmcsError> {
        self.api.transfer_domain(domain_id, epp_code).await
    }
    async fn open_ticket(&self, ticket: &NewTicket) -> Result<OpenedTicket, WhmcsError> {
        self.api.open_ticket(ticket).await
    }
    async fn tickets(&self, filter: &TicketFilter) -> Result<Vec<Ticket>, WhmcsError> {
        self.api.tickets(filter).await
    }
    async fn reply_to_ticket(
        &self,
        ticket_id: u64,
        message: &str,
        client_id: Option<u64>,
    ) -> Result<(), WhmcsError> {
        self.api
            .reply_to_ticket(ticket_id, message, client_id)
            .await
    }
    async fn send_admin_email(&self, subject: &str, html_message: &str) -> Result<(), WhmcsError> {
        self.api.send_admin_email(subject, html_message).await
    }
    async fn log_activity(
        &self,
        description: &str,
        client_id: Option<u64>,
    ) -> Result<(), WhmcsError> {
        self.api.log_activity(description, client_id).await
    }
    async fn todo_items(&self, status: Option<&str>) -> Result<Vec<ToDoItem>, WhmcsError> {
        self.api.todo_items(status).await
    }
    async fn update_todo_item(
        &self,
        item_id: u64,
        admin_id: u64,
        update: &ToDoUpdate,
    ) -> Result<(), WhmcsError> {
        self.api.update_todo_item(item_id, admin_id, update).await
    }
    async fn domain_by_id(&self, domain_id: u64) -> Result<Option<ClientDomain>, WhmcsError> {
        self.api.domain_by_id(domain_id).await
    }
    async fn invoice_by_id(&self, invoice_id: u64) -> Result<Invoice, WhmcsError> {
        self.api.invoice_by_id(invoice_id).await
    }
}
