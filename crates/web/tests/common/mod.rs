//! Shared by the dashboard tests: in-memory billing and registrar fakes that record every
//! write, and an engine over a fresh SQLite store.
#![allow(dead_code)]

pub mod http;

use async_trait::async_trait;
use chrono::{TimeZone, Utc};
use domwatch_core::model::{ContactHandles, RegistrarDomain, RenewalMode};
use domwatch_core::money::RateTable;
use domwatch_core::ports::{
    AccountStatus, CancellationRequest, ContactDetails, PremiumCheck, RegistrarError,
    RegistrarPort, RenewOutcome, RenewRequest, TransferOutcome, TransferRequest, TransferStatus,
};
use domwatch_core::{DomainName, FixedClock};
use domwatch_engine::{Account, Engine};
use domwatch_store::Store;
use domwatch_whmcs::actions::{
    BillingDomainList, ClientDetails, DomainInvoiceKind, DomainUpdate, Invoice, InvoiceUpdate,
    NewTicket, OpenedTicket, Ticket, TicketFilter, TldPriceList, ToDoItem, ToDoUpdate,
    WhmcsCurrency,
};
use domwatch_whmcs::{BillingPort, Secret, WhmcsError};
use std::sync::{Arc, Mutex};

// ---- fakes ------------------------------------------------------------------------------

/// The WHMCS domain id whose updates fail, with a message full of markup.
pub const FAILING_DOMAIN_ID: u64 = 666;
pub const HOSTILE_REGISTRAR_MESSAGE: &str = "<img src=x onerror=alert(1)> refused";

fn not_needed<T>(action: &str) -> Result<T, WhmcsError> {
    Err(WhmcsError::Api {
        action: action.into(),
        message: "not implemented in the test fake".into(),
        registrar_error: None,
    })
}

#[derive(Default)]
pub struct FakeBilling {
    pub domain_updates: Mutex<Vec<(u64, DomainUpdate)>>,
}

#[async_trait]
impl BillingPort for FakeBilling {
    async fn list_domains(
        &self,
        _: &domwatch_whmcs::actions::KnownClientCurrencies,
    ) -> Result<BillingDomainList, WhmcsError> {
        Ok(BillingDomainList::default())
    }
    async fn client_details(&self, _: u64) -> Result<ClientDetails, WhmcsError> {
        not_needed("GetClientsDetails")
    }
    async fn currencies(&self) -> Result<Vec<WhmcsCurrency>, WhmcsError> {
        Ok(Vec::new())
    }
    async fn tld_pricing(&self, _: u64) -> Result<TldPriceList, WhmcsError> {
        not_needed("GetTLDPricing")
    }
    async fn find_domain_invoice(
        &self,
        _: u64,
        _: u64,
        _: DomainInvoiceKind,
        _: Option<&str>,
    ) -> Result<Option<Invoice>, WhmcsError> {
        Ok(None)
    }
    async fn update_domain(&self, domain_id: u64, update: &DomainUpdate) -> Result<(), WhmcsError> {
        if domain_id == FAILING_DOMAIN_ID {
            return Err(WhmcsError::Api {
                action: "UpdateClientDomain".into(),
                message: "Domain locked".into(),
                registrar_error: Some(HOSTILE_REGISTRAR_MESSAGE.into()),
            });
        }
        self.domain_updates
            .lock()
            .unwrap()
            .push((domain_id, update.clone()));
        Ok(())
    }
    async fn update_invoice(&self, _: u64, _: &InvoiceUpdate) -> Result<(), WhmcsError> {
        not_needed("UpdateInvoice")
    }
    async fn renew_domain(&self, _: u64, _: Option<u32>) -> Result<(), WhmcsError> {
        not_needed("DomainRenew")
    }
    async fn transfer_domain(&self, _: u64, _: Option<&Secret>) -> Result<(), WhmcsError> {
        not_needed("DomainTransfer")
    }
    async fn open_ticket(&self, _: &NewTicket) -> Result<OpenedTicket, WhmcsError> {
        not_needed("OpenTicket")
    }
    async fn tickets(&self, _: &TicketFilter) -> Result<Vec<Ticket>, WhmcsError> {
        not_needed("GetTickets")
    }
    async fn reply_to_ticket(&self, _: u64, _: &str, _: Option<u64>) -> Result<(), WhmcsError> {
        not_needed("AddTicketReply")
    }
    async fn send_admin_email(&self, _: &str, _: &str) -> Result<(), WhmcsError> {
        not_needed("SendAdminEmail")
    }
    async fn log_activity(&self, _: &str, _: Option<u64>) -> Result<(), WhmcsError> {
        not_needed("LogActivity")
    }
    async fn todo_items(&self, _: Option<&str>) -> Result<Vec<ToDoItem>, WhmcsError> {
        not_needed("GetToDoItems")
    }
    async fn update_todo_item(&self, _: u64, _: u64, _: &ToDoUpdate) -> Result<(), WhmcsError> {
        not_needed("UpdateToDoItem")
    }
}

fn refused<T>() -> Result<T, RegistrarError> {
    Err(RegistrarError::Permanent {
        code: 500,
        description: "not implemented in the test fake".into(),
    })
}

#[derive(Default)]
pub struct FakeRegistrar {
    pub renewal_modes: Mutex<Vec<(DomainName, RenewalMode)>>,
}

#[async_trait]
impl RegistrarPort for FakeRegistrar {
    async fn list_domains(&self) -> Result<Vec<RegistrarDomain>, RegistrarError> {
        Ok(Vec::new())
    }
    async fn status_domain(&self, _: &DomainName) -> Result<RegistrarDomain, RegistrarError> {
        refused()
    }
    async fn check_premium(&self, _: &[DomainName]) -> Result<Vec<PremiumCheck>, RegistrarError> {
        refused()
    }
    async fn set_renewal_mode(
        &self,
        name: &DomainName,
        mode: &RenewalMode,
    ) -> Result<(), RegistrarError> {
        self.renewal_modes
            .lock()
            .unwrap()
            .push((name.clone(), mode.clone()));
        Ok(())
    }
    async fn renew(&self, _: &RenewRequest) -> Result<RenewOutcome, RegistrarError> {
        refused()
    }
    async fn transfer(&self, _: &TransferRequest) -> Result<TransferOutcome, RegistrarError> {
        refused()
    }
    async fn transfer_status(&self, _: &DomainName) -> Result<TransferStatus, RegistrarError> {
        refused()
    }
    async fn exchange_rates(&self) -> Result<RateTable, RegistrarError> {
        Ok(RateTable::new())
    }
    async fn account_status(&self) -> Result<AccountStatus, RegistrarError> {
        refused()
    }
    async fn modify_contacts(
        &self,
        _: &DomainName,
        _: &ContactHandles,
    ) -> Result<(), RegistrarError> {
        refused()
    }
    async fn add_contact(&self, _: &ContactDetails) -> Result<String, RegistrarError> {
        refused()
    }
    async fn status_contact(&self, _: &str) -> Result<ContactDetails, RegistrarError> {
        refused()
    }
    async fn list_contacts(&self) -> Result<Vec<String>, RegistrarError> {
        refused()
    }
    async fn place_cancellation(&self, _: &CancellationRequest) -> Result<(), RegistrarError> {
        refused()
    }
    async fn withdraw_cancellation(
        &self,
        _: &DomainName,
        _: &RenewalMode,
    ) -> Result<(), RegistrarError> {
        refused()
    }
}

/// An engine over a fresh SQLite store in `dir` and the fakes, at 2026-11-22 12:00 UTC.
pub async fn engine(dir: &std::path::Path) -> (Engine, Arc<FakeBilling>, Arc<FakeRegistrar>) {
    let store = Store::connect(&format!("sqlite://{}/dw.db", dir.display()))
        .await
        .unwrap();
    let billing = Arc::new(FakeBilling::default());
    let registrar = Arc::new(FakeRegistrar::default());
    let engine = Engine {
        store,
        billing: billing.clone(),
        whmcs_db: None,
        notifier: None,
        accounts: vec![Account {
            name: "fake".into(),
            modules: vec!["fake".into()],
            port: registrar.clone(),
        }],
        clock: Arc::new(FixedClock::new(
            Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap(),
        )),
        policy: Default::default(),
        fixed_rates: Vec::new(),
        concurrency: 1,
        notices: Default::default(),
    };
    (engine, billing, registrar)
}

/// Opens one fixable case in a finished, complete run: an expiry drift of `drift.com`
/// whose fix updates the WHMCS domain. Returns the case id.
pub async fn open_fixable_case(engine: &Engine) -> i64 {
    use domwatch_core::detect::{CaseKind, Facts, Finding};
    use domwatch_core::money::{Currency, Money};
    let finding = Finding {
        kind: CaseKind::ExpiryDrift,
        domain: DomainName::parse("drift.com").unwrap(),
        billing_domain_id: Some(7),
        client_id: None,
        registrar_account: Some("fake".into()),
        summary: "drift.com expires later at the registrar".into(),
        evidence: Vec::new(),
        at_stake: Some(Money::new(rust_decimal::Decimal::from(12), Currency::EUR)),
        facts: Facts {
            proposed_expiry: chrono::NaiveDate::from_ymd_opt(2027, 1, 1),
            ..Facts::default()
        },
    };
    let at = engine.clock.now();
    let run = engine.store.begin_run(at, false).await.unwrap();
    let outcome = engine
        .store
        .sync_findings(run, at, &[finding], &std::collections::HashSet::new())
        .await
        .unwrap();
    let stats = serde_json::json!({"registrar_domains": {"fake": 1}});
    engine.store.finish_run(run, at, Ok(&stats)).await.unwrap();
    outcome.opened[0].id
}
