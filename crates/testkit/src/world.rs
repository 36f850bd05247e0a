//! The sandbox world the engine scenario tests run in: the sandbox WHMCS and the sandbox
//! registrars over real HTTP, the production clients, the engine and a SQLite store.
//!
//! [`world`] and [`world_with`] connect the clients straight to the sandboxes;
//! [`world_with_options`] can put a [`FaultProxy`] in front of every outside system
//! (WHMCS API, WHMCS database, CNR, ISPAPI, Smart-NIC, SMTP) and shorten client timeouts.

use crate::parts::{
    apply_cycle, assert_every_account_read, assert_no_notice_errors, fixed_clock, rrp_config,
    sqlite_store,
};
use crate::proxy::FaultProxy;
use crate::smtp::SmtpSink;
use chrono::NaiveDate;
use domwatch_core::detect::DetectionPolicy;
use domwatch_core::lifecycle::AccountPolicy;
use domwatch_core::model::Dialect;
use domwatch_core::ports::RegistrarPort;
use domwatch_engine::lifecycle::NoticeSettings;
use domwatch_engine::{Account, CycleReport, Engine, Mode, NoProgress};
use domwatch_mail::{MailConfig, Mailer, SmtpMailer};
use domwatch_rrp::RrpClient;
use domwatch_sandbox::registrar::{RegistrarSandbox, RegistrarSandboxConfig};
use domwatch_sandbox::smartnic::{SmartnicSandbox, SmartnicSandboxConfig};
use domwatch_sandbox::whmcs::{SandboxDatabase, WhmcsSandbox, WhmcsSandboxConfig};
use domwatch_smartnic::{SmartnicClient, SmartnicConfig};
use domwatch_whmcs::db::WhmcsDb;
use domwatch_whmcs::port::TicketDestination;
use domwatch_whmcs::{BillingPort, ToDoNotifier, WhmcsClient, WhmcsConfig};
use std::collections::BTreeMap;
use std::net::SocketAddr;
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

/// How to build a world beyond its detection policy.
#[derive(Debug, Clone)]
pub struct WorldOptions {
    pub policy: DetectionPolicy,
    /// A [`FaultProxy`] in front of every outside system, and domwatch's digest e-mail
    /// going to an [`SmtpSink`] (through its proxy).
    pub proxied: bool,
    /// Per-request timeout of every client (WHMCS, RRP, Smart-NIC, SMTP).
    pub client_timeout: Duration,
    /// First retry delay of the clients (they keep their production retry counts).
    pub retry_delay: Duration,
    /// The sandbox WHMCS on this MariaDB database URL (the database must exist), with
    /// domwatch's direct database path on (premium data, to-dos inserted into `tbltodolist`).
    pub whmcs_mysql: Option<String>,
}

impl WorldOptions {
    pub fn new(policy: DetectionPolicy) -> Self {
        WorldOptions {
            policy,
            proxied: false,
            client_timeout: Duration::from_secs(20),
            retry_delay: Duration::from_millis(500),
            whmcs_mysql: None,
        }
    }
}

/// A proxy per outside system of a proxied world.
pub struct Proxies {
    pub whmcs_api: FaultProxy,
    /// Only when the world's WHMCS is on MariaDB.
    pub whmcs_db: Option<FaultProxy>,
    pub cnr: FaultProxy,
    pub ispapi: FaultProxy,
    pub smartnic: FaultProxy,
    pub smtp: FaultProxy,
}

pub struct World {
    pub engine: Engine,
    pub whmcs: WhmcsSandbox,
    pub ports: BTreeMap<String, Arc<dyn RegistrarPort>>,
    /// CNR, then ISPAPI.
    pub registrars: Vec<RegistrarSandbox>,
    pub smartnic: SmartnicSandbox,
    /// Set in a proxied world.
    pub proxies: Option<Proxies>,
    /// Where the digest e-mail goes in a proxied world.
    pub smtp: Option<SmtpSink>,
    /// The mailer to the SMTP sink, also when `engine.notices.mailer` is switched off.
    pub mailer: Option<Arc<dyn Mailer>>,
    _dir: tempfile::TempDir,
}

/// A world with the default detection policy (no auto delete, no contact policy).
pub async fn world() -> World {
    world_with(DetectionPolicy::default()).await
}

/// A world whose engine uses `policy`; lifecycle notices go out as bot tickets.
pub async fn world_with(policy: DetectionPolicy) -> World {
    world_with_options(WorldOptions::new(policy)).await
}

/// `url` with the address of `from` replaced by the proxy's, when there is one.
fn via(url: &str, from: SocketAddr, proxy: Option<&FaultProxy>) -> String {
    match proxy {
        Some(p) => url.replace(&from.to_string(), &p.addr().to_string()),
        None => url.to_string(),
    }
}

async fn http_proxy(upstream: SocketAddr, on: bool) -> Option<FaultProxy> {
    if !on {
        return None;
    }
    Some(FaultProxy::http(upstream).await.expect("fault proxy"))
}

/// Everything outside domwatch: sandboxes, the SMTP sink, and their proxies.
struct Outside {
    whmcs: WhmcsSandbox,
    registrars: Vec<RegistrarSandbox>,
    smartnic: SmartnicSandbox,
    smtp: Option<SmtpSink>,
}

async fn start_outside(o: &WorldOptions) -> Outside {
    let mut wc = WhmcsSandboxConfig::new(SEED, DOMAINS, today());
    if let Some(url) = &o.whmcs_mysql {
        wc.database = SandboxDatabase::MySql(url.clone());
    }
    let whmcs = domwatch_sandbox::whmcs::start(wc)
        .await
        .expect("sandbox WHMCS");
    let mut registrars = Vec::new();
    for (_, dialect, _) in ACCOUNTS.into_iter().filter(|a| a.1 != Dialect::Smartnic) {
        let config = RegistrarSandboxConfig::new(dialect, SEED, DOMAINS, today());
        registrars.push(
            RegistrarSandbox::start(config)
                .await
                .expect("sandbox registrar"),
        );
    }
    let smartnic = SmartnicSandbox::start(SmartnicSandboxConfig::new(SEED, DOMAINS, today()))
        .await
        .expect("Smart-NIC sandbox");
    let smtp = if o.proxied {
        Some(SmtpSink::start().await.expect("SMTP sink"))
    } else {
        None
    };
    Outside {
        whmcs,
        registrars,
        smartnic,
        smtp,
    }
}

/// A world built from `options`.
pub async fn world_with_options(o: WorldOptions) -> World {
    let out = start_outside(&o).await;
    let proxies = if o.proxied {
        let db = match &o.whmcs_mysql {
            Some(_) => Some(
                FaultProxy::tcp(mysql_addr(o.whmcs_mysql.as_deref().unwrap()))
                    .await
                    .expect("fault proxy"),
            ),
            None => None,
        };
        Some(Proxies {
            whmcs_api: http_proxy(out.whmcs.addr(), true).await.unwrap(),
            whmcs_db: db,
            cnr: http_proxy(out.registrars[0].addr(), true).await.unwrap(),
            ispapi: http_proxy(out.registrars[1].addr(), true).await.unwrap(),
            smartnic: http_proxy(out.smartnic.addr(), true).await.unwrap(),
            smtp: FaultProxy::tcp(out.smtp.as_ref().unwrap().addr())
                .await
                .expect("fault proxy"),
        })
    } else {
        None
    };
    let p = proxies.as_ref();
    let mut accounts = Vec::new();
    let mut ports = BTreeMap::new();
    for (i, sandbox) in out.registrars.iter().enumerate() {
        let (name, dialect, module) = ACCOUNTS[i];
        let proxy = p.map(|p| if i == 0 { &p.cnr } else { &p.ispapi });
        let port = rrp_port(&o, name, dialect, sandbox, proxy);
        ports.insert(name.to_string(), port.clone());
        accounts.push(Account {
            name: name.into(),
            modules: vec![module.into()],
            port,
        });
    }
    let port = smartnic_port(&o, &out.smartnic, p.map(|p| &p.smartnic));
    let (name, _, module) = ACCOUNTS[2];
    ports.insert(name.to_string(), port.clone());
    accounts.push(Account {
        name: name.into(),
        modules: vec![module.into()],
        port,
    });
    let billing = billing_port(&o, &out.whmcs, p.map(|p| &p.whmcs_api));
    let whmcs_db = match (&o.whmcs_mysql, p.and_then(|p| p.whmcs_db.as_ref())) {
        (Some(url), proxy) => Some(
            WhmcsDb::connect(&via_mysql(url, proxy))
                .await
                .expect("direct WHMCS database"),
        ),
        (None, _) => None,
    };
    let mailer = p.map(|p| smtp_mailer(&o, &p.smtp));
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite_store(&dir.path().join("dw.db")).await;
    let tickets = TicketDestination {
        bot_client_id: out.whmcs.portfolio().bot_client_id(),
        department_id: 1,
    };
    let engine = Engine {
        store,
        notifier: Some(ToDoNotifier::new(
            billing.clone(),
            whmcs_db.clone(),
            Some(tickets),
        )),
        notices: NoticeSettings {
            lifecycle_tickets: Some(ToDoNotifier::new(billing.clone(), None, Some(tickets))),
            registrar_notify_email: Some("domains@reseller.example".into()),
            mailer: mailer.clone(),
            mail_host: if mailer.is_some() {
                "reseller.example".into()
            } else {
                String::new()
            },
        },
        billing,
        whmcs_db,
        accounts,
        clock: fixed_clock(),
        policy: o.policy,
        fixed_rates: vec![],
        concurrency: 4,
    };
    World {
        engine,
        whmcs: out.whmcs,
        ports,
        registrars: out.registrars,
        smartnic: out.smartnic,
        proxies,
        smtp: out.smtp,
        mailer,
        _dir: dir,
    }
}

/// domwatch's digest mailer, sending through `proxy` to the SMTP sink.
fn smtp_mailer(o: &WorldOptions, proxy: &FaultProxy) -> Arc<dyn Mailer> {
    let url = format!("smtp://{}", proxy.addr());
    let config =
        MailConfig::from_settings(&url, "domwatch@reseller.example", &["ops@reseller.example"])
            .expect("mail config")
            .with_timeout(o.client_timeout);
    Arc::new(SmtpMailer::new(config).expect("SMTP mailer"))
}

fn rrp_port(
    o: &WorldOptions,
    name: &str,
    dialect: Dialect,
    sandbox: &RegistrarSandbox,
    proxy: Option<&FaultProxy>,
) -> Arc<dyn RegistrarPort> {
    let mut cc = rrp_config(
        dialect,
        &via(&sandbox.endpoint(), sandbox.addr(), proxy),
        sandbox.login(),
        sandbox.password(),
    );
    cc.total_timeout = o.client_timeout;
    cc.connect_timeout = cc.connect_timeout.min(o.client_timeout);
    cc.retry_base_delay = o.retry_delay;
    // Contacts, the transfer lock and WHOIS privacy are in the CNR list only with
    // TYPE=ALL, as the runtime sets it when a contact policy or the lock check is on.
    let contacts = o
        .policy
        .accounts
        .get(name)
        .is_some_and(|p| p.contacts.is_enforced());
    let lock = !o.policy.transfer_lock_unchecked_accounts.contains(name);
    cc.list.cnr_type_all = contacts || lock;
    Arc::new(RrpClient::new(cc).unwrap())
}

fn smartnic_port(
    o: &WorldOptions,
    sandbox: &SmartnicSandbox,
    proxy: Option<&FaultProxy>,
) -> Arc<dyn RegistrarPort> {
    let mut sc = SmartnicConfig::new(sandbox.login(), sandbox.password());
    sc.endpoint = via(&sandbox.endpoint(), sandbox.addr(), proxy);
    sc.timeout = o.client_timeout;
    sc.connect_timeout = sc.connect_timeout.min(o.client_timeout);
    sc.retry_base_delay = o.retry_delay;
    Arc::new(SmartnicClient::new(sc).unwrap())
}

fn billing_port(
    o: &WorldOptions,
    whmcs: &WhmcsSandbox,
    proxy: Option<&FaultProxy>,
) -> Arc<dyn BillingPort> {
    let mut config = WhmcsConfig::new(
        &via(&whmcs.base_url(), whmcs.addr(), proxy),
        whmcs.identifier(),
        whmcs.secret(),
    )
    .unwrap();
    config.request_timeout = o.client_timeout;
    config.connect_timeout = config.connect_timeout.min(o.client_timeout);
    config.retry_backoff = o.retry_delay;
    Arc::new(WhmcsClient::new(config).unwrap())
}

/// The server address of a `mysql://user@host:port/db` URL.
fn mysql_addr(url: &str) -> SocketAddr {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let host_port = rest.split('/').next().unwrap_or(rest);
    let host_port = host_port.rsplit('@').next().unwrap_or(host_port);
    let host_port = if host_port.contains(':') {
        host_port.to_string()
    } else {
        format!("{host_port}:3306")
    };
    let host_port = host_port.replace("localhost", "127.0.0.1");
    host_port
        .parse()
        .unwrap_or_else(|e| panic!("MariaDB URL {url}: `{host_port}` is no address ({e})"))
}

/// `url` pointing at the proxy instead of the server.
fn via_mysql(url: &str, proxy: Option<&FaultProxy>) -> String {
    let Some(proxy) = proxy else {
        return url.to_string();
    };
    let (scheme, rest) = url.split_once("://").unwrap_or(("mysql", url));
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let user = authority
        .rsplit_once('@')
        .map(|(u, _)| format!("{u}@"))
        .unwrap_or_default();
    format!("{scheme}://{user}{}/{path}", proxy.addr())
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
    let report = apply_cycle(&w.engine).await;
    assert_every_account_read(&report);
    assert_no_notice_errors(&report);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mysql_urls_are_pointed_at_the_proxy() {
        assert_eq!(
            mysql_addr("mysql://root@127.0.0.1:3306/x"),
            "127.0.0.1:3306".parse().unwrap()
        );
        assert_eq!(
            mysql_addr("mysql://root:pw@localhost/x"),
            "127.0.0.1:3306".parse().unwrap()
        );
    }
}
