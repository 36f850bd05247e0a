//! The sandbox world the engine scenario tests run in: the sandbox WHMCS and the sandbox
//! registrars over real HTTP, the production clients, the engine and a SQLite store.

#![allow(dead_code)]

use chrono::{NaiveDate, TimeZone, Utc};
use domwatch_core::detect::DetectionPolicy;
use domwatch_core::lifecycle::AccountPolicy;
use domwatch_core::model::Dialect;
use domwatch_core::ports::RegistrarPort;
use domwatch_core::{Clock, FixedClock};
use domwatch_engine::lifecycle::NoticeSettings;
use domwatch_engine::{Account, CycleReport, Engine, Mode, NoProgress};
use domwatch_rrp::{ClientConfig, Environment, RrpClient};
use domwatch_sandbox::registrar::{RegistrarSandbox, RegistrarSandboxConfig};
use domwatch_sandbox::smartnic::{SmartnicSandbox, SmartnicSandboxConfig};
use domwatch_sandbox::whmcs::{WhmcsSandbox, WhmcsSandboxConfig};
use domwatch_smartnic::{SmartnicClient, SmartnicConfig};
use domwatch_store::Store;
use domwatch_whmcs::port::TicketDestination;
use domwatch_whmcs::{BillingPort, ToDoNotifier, WhmcsClient, WhmcsConfig};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

pub const SEED: u64 = 42;
pub const DOMAINS: usize = 200;

pub fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 22).unwrap()
}

/// Registrar accounts of the world: (account name, dialect, WHMCS module).
pub const ACCOUNTS: [(&str, Dialect, &str); 3] = [
    ("cnr", Dialect::Cnr, "cnic"),
    ("hexonet", Dialect::Ispapi, "ispapi"),
    ("dbs", Dialect::Smartnic, "smartnic"),
];

/// The account that holds a portfolio domain of `dialect`.
pub fn account_for(dialect: Dialect) -> &'static str {
    ACCOUNTS
        .iter()
        .find(|(_, d, _)| *d == dialect)
        .map(|(name, _, _)| *name)
        .expect("every dialect has an account")
}

pub struct World {
    pub engine: Engine,
    pub whmcs: WhmcsSandbox,
    pub ports: BTreeMap<String, Arc<dyn RegistrarPort>>,
    _registrars: Vec<RegistrarSandbox>,
    _smartnic: SmartnicSandbox,
    _dir: tempfile::TempDir,
}

/// A world with the default detection policy (no auto delete, no contact policy).
pub async fn world() -> World {
    world_with(DetectionPolicy::default()).await
}

/// A world whose engine uses `policy`; lifecycle notices go out as bot tickets.
pub async fn world_with(policy: DetectionPolicy) -> World {
    let whmcs = domwatch_sandbox::whmcs::start(WhmcsSandboxConfig::new(SEED, DOMAINS, today()))
        .await
        .expect("sandbox WHMCS");
    let mut registrars = Vec::new();
    let mut accounts = Vec::new();
    let mut ports = BTreeMap::new();
    for (name, dialect, module) in ACCOUNTS.into_iter().filter(|a| a.1 != Dialect::Smartnic) {
        let sandbox =
            RegistrarSandbox::start(RegistrarSandboxConfig::new(dialect, SEED, DOMAINS, today()))
                .await
                .expect("sandbox registrar");
        let mut cc = ClientConfig::new(
            dialect,
            Environment::Ote,
            sandbox.login(),
            sandbox.password(),
        );
        cc.endpoint = Some(sandbox.endpoint().parse().unwrap());
        cc.total_timeout = Duration::from_secs(20);
        // Contacts are in the CNR list only with TYPE=ALL, as the runtime sets it when a
        // contact policy is configured.
        cc.list.cnr_type_all = policy
            .accounts
            .get(name)
            .is_some_and(|p| p.contacts.is_enforced());
        let port: Arc<dyn RegistrarPort> = Arc::new(RrpClient::new(cc).unwrap());
        ports.insert(name.to_string(), port.clone());
        accounts.push(Account {
            name: name.into(),
            modules: vec![module.into()],
            port,
        });
        registrars.push(sandbox);
    }
    let smartnic = SmartnicSandbox::start(SmartnicSandboxConfig::new(SEED, DOMAINS, today()))
        .await
        .expect("Smart-NIC sandbox");
    let mut sc = SmartnicConfig::new(smartnic.login(), smartnic.password());
    sc.endpoint = smartnic.endpoint();
    sc.timeout = Duration::from_secs(20);
    let port: Arc<dyn RegistrarPort> = Arc::new(SmartnicClient::new(sc).unwrap());
    let (name, _, module) = ACCOUNTS[2];
    ports.insert(name.to_string(), port.clone());
    accounts.push(Account {
        name: name.into(),
        modules: vec![module.into()],
        port,
    });
    let billing: Arc<dyn BillingPort> = Arc::new(
        WhmcsClient::new(
            WhmcsConfig::new(&whmcs.base_url(), whmcs.identifier(), whmcs.secret()).unwrap(),
        )
        .unwrap(),
    );
    let dir = tempfile::tempdir().unwrap();
    let store = Store::connect(&format!("sqlite://{}", dir.path().join("dw.db").display()))
        .await
        .unwrap();
    let clock: Arc<dyn Clock> = Arc::new(FixedClock::new(
        Utc.with_ymd_and_hms(2026, 11, 22, 3, 0, 0).unwrap(),
    ));
    let tickets = TicketDestination {
        bot_client_id: whmcs.portfolio().bot_client_id(),
        department_id: 1,
    };
    let engine = Engine {
        store,
        notifier: Some(ToDoNotifier::new(billing.clone(), None, Some(tickets))),
        notices: NoticeSettings {
            lifecycle_tickets: Some(ToDoNotifier::new(billing.clone(), None, Some(tickets))),
            registrar_notify_email: Some("domains@reseller.example".into()),
            ..NoticeSettings::default()
        },
        billing,
        whmcs_db: None,
        accounts,
        clock,
        policy,
        fixed_rates: vec![],
        concurrency: 4,
    };
    World {
        engine,
        whmcs,
        ports,
        _registrars: registrars,
        _smartnic: smartnic,
        _dir: dir,
    }
}

/// The same account policy for every registrar account of the world.
pub fn policy_for_all(make: impl Fn(Dialect) -> AccountPolicy) -> DetectionPolicy {
    let mut policy = DetectionPolicy::default();
    for (name, dialect, _) in ACCOUNTS {
        policy.accounts.insert(name.to_string(), make(dialect));
    }
    policy
}

/// Subjects of every ticket in the sandbox WHMCS, oldest first.
pub async fn ticket_subjects(whmcs: &WhmcsSandbox) -> Vec<String> {
    whmcs
        .store()
        .query("SELECT title FROM tbltickets ORDER BY id", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.text("title"))
        .collect()
}

/// Ticket bodies whose subject contains `needle`.
pub async fn ticket_messages(whmcs: &WhmcsSandbox, needle: &str) -> Vec<String> {
    whmcs
        .store()
        .query("SELECT title, message FROM tbltickets ORDER BY id", &[])
        .await
        .unwrap()
        .iter()
        .filter(|r| r.text("title").contains(needle))
        .map(|r| r.text("message"))
        .collect()
}

/// One complete cycle that must not fail anywhere (accounts, notices, automatic actions).
pub async fn cycle(w: &World) -> CycleReport {
    let report = w
        .engine
        .run_cycle(Mode::Apply, &NoProgress)
        .await
        .expect("cycle");
    assert!(
        report.failed_accounts.is_empty(),
        "{:?}",
        report.failed_accounts
    );
    assert!(
        report.notice_errors.is_empty(),
        "{:?}",
        report.notice_errors
    );
    assert!(
        report.automatic_action_errors.is_empty(),
        "{:?}",
        report.automatic_action_errors
    );
    report
}

/// Cycles cut off after each of `millis`, as a crash at that point would.
pub async fn cut_off_cycles(w: &World, millis: &[u64]) {
    for ms in millis {
        let _ = tokio::time::timeout(
            Duration::from_millis(*ms),
            w.engine.run_cycle(Mode::Apply, &NoProgress),
        )
        .await;
    }
}
