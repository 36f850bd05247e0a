//! Builds the engine from the configuration: real WHMCS and registrar clients, or — with
//! nothing configured — the embedded default: in-process sandbox WHMCS and registrars
//! seeded with every case kind, so a new user sees real cases with one command.
//!
//! The embedded sandboxes keep their anchor (seed, size, day) in a state directory
//! (`.domwatch/` or `$DOMWATCH_STATE_DIR`), and the sandbox WHMCS keeps its tables in a
//! SQLite file there, so reruns see the same world and the fixes made in it.

use crate::config::{Config, Environment, ReadFrom, RegistrarAccount};
use anyhow::{bail, Context};
use chrono::NaiveDate;
use domwatch_core::lifecycle::{AccountPolicy, AutoDeleteMode, ContactPolicy};
use domwatch_core::model::Dialect;
use domwatch_core::ports::RegistrarPort;
use domwatch_core::{Clock, SystemClock};
use domwatch_engine::lifecycle::NoticeSettings;
use domwatch_engine::{Account, Engine};
use domwatch_rrp::{ClientConfig, RrpClient};
use domwatch_sandbox::registrar::{RegistrarSandbox, RegistrarSandboxConfig};
use domwatch_sandbox::smartnic::{SmartnicSandbox, SmartnicSandboxConfig};
use domwatch_sandbox::whmcs::{SandboxDatabase, WhmcsSandbox, WhmcsSandboxConfig};
use domwatch_store::Store;
use domwatch_whmcs::db::WhmcsDb;
use domwatch_whmcs::db_billing::DbBilling;
use domwatch_whmcs::port::TicketDestination;
use domwatch_whmcs::{BillingPort, ToDoNotifier, WhmcsClient, WhmcsConfig};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Size of the embedded portfolio: the showcase (every drift kind for every dialect) plus
/// ordinary domains around it.
pub const EMBEDDED_DOMAINS: usize = 200;
pub const EMBEDDED_SEED: u64 = 42;

/// The running pieces. Dropping it stops the embedded sandboxes.
pub struct Runtime {
    pub engine: Engine,
    pub embedded: Option<Embedded>,
    /// Sends the webhook outbox (`[[webhooks]]`); empty when none are configured.
    pub webhooks: domwatch_webhooks::Dispatcher,
}

pub struct Embedded {
    /// Held so the servers keep running as long as the runtime lives.
    servers: (WhmcsSandbox, Vec<RegistrarSandbox>, SmartnicSandbox),
    pub anchor: Anchor,
    pub state_dir: PathBuf,
}

impl Embedded {
    /// The embedded sandbox WHMCS (`domwatch doctor` probes it like a real one).
    pub fn whmcs(&self) -> &WhmcsSandbox {
        &self.servers.0
    }

    /// One line for the user: what they are looking at and how to start over.
    pub fn describe(&self) -> String {
        format!(
            "Embedded sandbox: {} domains (seed {}) anchored to {}; state in {} (delete it and domwatch.db to start over)",
            self.anchor.domains,
            self.anchor.seed,
            self.anchor.today,
            self.state_dir.display()
        )
    }
}

/// What pins the embedded world across runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Anchor {
    pub seed: u64,
    pub domains: usize,
    pub today: NaiveDate,
}

pub fn state_dir() -> PathBuf {
    std::env::var_os("DOMWATCH_STATE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(".domwatch"))
}

fn load_anchor(dir: &Path, today: NaiveDate) -> anyhow::Result<Anchor> {
    let path = dir.join("sandbox.json");
    if path.exists() {
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        return serde_json::from_str(&text).with_context(|| {
            format!(
                "{} is damaged: delete the {} directory to start a fresh sandbox",
                path.display(),
                dir.display()
            )
        });
    }
    let anchor = Anchor {
        seed: EMBEDDED_SEED,
        domains: EMBEDDED_DOMAINS,
        today,
    };
    std::fs::create_dir_all(dir)
        .with_context(|| format!("creating the state directory {}", dir.display()))?;
    std::fs::write(&path, serde_json::to_string_pretty(&anchor)?)?;
    Ok(anchor)
}

impl Runtime {
    pub async fn build(config: Config) -> anyhow::Result<Runtime> {
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let store = Store::connect(&config.database_url).await?;
        // Registered before anything can change a case: events are queued only for the
        // endpoints on record, from then on.
        let webhooks = domwatch_webhooks::Dispatcher::new(store.clone(), config.webhooks.clone());
        webhooks.register().await?;
        if config.is_embedded_default() {
            return Self::embedded(config, store, clock, webhooks).await;
        }
        let whmcs = config
            .whmcs
            .as_ref()
            .context("no [whmcs] section: domwatch needs the billing system (or no configuration at all for the embedded sandbox)")?;
        let api: Arc<dyn BillingPort> = Arc::new(whmcs_client(whmcs)?);
        let db = match &whmcs.database_url {
            Some(url) => Some(
                WhmcsDb::connect(url.expose())
                    .await
                    .context("connecting to the WHMCS database (whmcs.database_url)")?,
            ),
            None => None,
        };
        let billing = billing_port(api, db.as_ref(), whmcs.read_from);
        let tickets = match (whmcs.bot_client_id, whmcs.ticket_department_id) {
            (Some(bot_client_id), Some(department_id)) => Some(TicketDestination {
                bot_client_id,
                department_id,
            }),
            _ => None,
        };
        let accounts = config
            .registrars
            .iter()
            .map(registrar_account)
            .collect::<anyhow::Result<Vec<_>>>()?;
        let engine = engine(&config, store, clock, billing, db, tickets, accounts)?;
        Ok(Runtime {
            engine,
            embedded: None,
            webhooks,
        })
    }

    async fn embedded(
        config: Config,
        store: Store,
        clock: Arc<dyn Clock>,
        webhooks: domwatch_webhooks::Dispatcher,
    ) -> anyhow::Result<Runtime> {
        let dir = state_dir();
        let anchor = load_anchor(&dir, clock.today())?;
        tracing::info!(
            state_dir = %dir.display(),
            seed = anchor.seed,
            domains = anchor.domains,
            "no configuration: running on the embedded sandbox WHMCS and registrars"
        );
        let mut wc = WhmcsSandboxConfig::new(anchor.seed, anchor.domains, anchor.today);
        wc.database = SandboxDatabase::SqliteFile(dir.join("sandbox-whmcs.db"));
        let whmcs = domwatch_sandbox::whmcs::start(wc).await?;
        let mut registrars = Vec::new();
        let mut accounts = Vec::new();
        for (name, dialect, module) in [
            ("sandbox-cnr", Dialect::Cnr, "cnic"),
            ("sandbox-ispapi", Dialect::Ispapi, "ispapi"),
        ] {
            let mut sandbox_config =
                RegistrarSandboxConfig::new(dialect, anchor.seed, anchor.domains, anchor.today);
            // Registrar-side fixes (renewal modes, contacts) must survive between CLI runs.
            sandbox_config.state_file = Some(dir.join(format!("{name}.json")));
            let sandbox = RegistrarSandbox::start(sandbox_config).await?;
            let account = RegistrarAccount {
                name: name.into(),
                dialect,
                environment: Environment::Ote,
                endpoint: Some(sandbox.endpoint()),
                login: sandbox.login().into(),
                password: crate::config::Secret::from_plain(sandbox.password()),
                role: None,
                subuser: None,
                modules: vec![module.into()],
                page_size: 1000,
                max_concurrency: 4,
                timeout_seconds: 30,
                list_contacts: true,
                check_transfer_lock: true,
                for_reseller: None,
                start_date_iso: false,
            };
            accounts.push(registrar_account(&account)?);
            registrars.push(sandbox);
        }
        let mut smartnic_config =
            SmartnicSandboxConfig::new(anchor.seed, anchor.domains, anchor.today);
        smartnic_config.state_file = Some(dir.join("sandbox-smartnic.json"));
        let smartnic = SmartnicSandbox::start(smartnic_config).await?;
        accounts.push(smartnic_account(&RegistrarAccount {
            name: "sandbox-smartnic".into(),
            dialect: Dialect::Smartnic,
            environment: Environment::Ote,
            endpoint: Some(smartnic.endpoint()),
            login: smartnic.login().into(),
            password: crate::config::Secret::from_plain(smartnic.password()),
            role: None,
            subuser: None,
            modules: vec!["smartnic".into()],
            page_size: 1000,
            max_concurrency: 4,
            timeout_seconds: 30,
            list_contacts: true,
            check_transfer_lock: true,
            for_reseller: None,
            start_date_iso: false,
        })?);
        // The demo shows the lifecycle cases too: auto delete in ticket mode (nothing is
        // written at the registrar on its own) and the portfolio's contact policy.
        let mut config = config;
        for account in &accounts {
            let dialect = match account.name.as_str() {
                n if n.contains("ispapi") => Dialect::Ispapi,
                n if n.contains("smartnic") => Dialect::Smartnic,
                _ => Dialect::Cnr,
            };
            config
                .detection
                .accounts
                .entry(account.name.clone())
                .or_insert_with(|| embedded_policy(dialect));
        }
        let wcfg = WhmcsConfig::new(&whmcs.base_url(), whmcs.identifier(), whmcs.secret())?;
        let billing: Arc<dyn BillingPort> = Arc::new(WhmcsClient::new(wcfg)?);
        let bot = whmcs.portfolio().bot_client_id();
        let tickets = Some(TicketDestination {
            bot_client_id: bot,
            department_id: 1,
        });
        let engine = engine(&config, store, clock, billing, None, tickets, accounts)?;
        Ok(Runtime {
            engine,
            webhooks,
            embedded: Some(Embedded {
                servers: (whmcs, registrars, smartnic),
                anchor,
                state_dir: dir,
            }),
        })
    }
}

/// The engine's billing port: the database reader in front of the API when
/// `whmcs.read_from = "database"` (the config guarantees the database is there), else the
/// API alone.
pub fn billing_port(
    api: Arc<dyn BillingPort>,
    db: Option<&WhmcsDb>,
    read_from: ReadFrom,
) -> Arc<dyn BillingPort> {
    match (read_from, db) {
        (ReadFrom::Database, Some(db)) => Arc::new(DbBilling::new(api, db.clone())),
        _ => api,
    }
}

/// The WHMCS API client for `[whmcs]`.
pub fn whmcs_client(whmcs: &crate::config::WhmcsConfig) -> anyhow::Result<WhmcsClient> {
    let mut wc = WhmcsConfig::new(&whmcs.url, &whmcs.identifier, whmcs.secret.expose())?;
    wc.access_key = whmcs.access_key.as_ref().map(|k| k.expose().into());
    wc.request_timeout = Duration::from_secs(whmcs.timeout_seconds);
    Ok(WhmcsClient::new(wc)?)
}

/// The engine over the given billing side: notices go through the same billing port and
/// database (a to-do row, else a bot ticket, else an admin e-mail); policy and rates come
/// from the configuration.
fn engine(
    config: &Config,
    store: Store,
    clock: Arc<dyn Clock>,
    billing: Arc<dyn BillingPort>,
    db: Option<WhmcsDb>,
    tickets: Option<TicketDestination>,
    accounts: Vec<Account>,
) -> anyhow::Result<Engine> {
    let (mailer, mail_host) = match &config.mail {
        Some(mail) => {
            let host = mail.from.email.domain().to_string();
            let mailer: Arc<dyn domwatch_mail::Mailer> = Arc::new(
                domwatch_mail::SmtpMailer::new(mail.clone())
                    .context("setting up the SMTP mailer (notices.smtp_url)")?,
            );
            (Some(mailer), host)
        }
        None => (None, String::new()),
    };
    Ok(Engine {
        store,
        notifier: admin_notifier(config, &billing, db.as_ref(), tickets),
        notices: NoticeSettings {
            // Lifecycle notices are tickets opened as the bot client (WhmcsBot) when one
            // is configured, deduplicated by subject.
            lifecycle_tickets: tickets.map(|t| ToDoNotifier::new(billing.clone(), None, Some(t))),
            registrar_notify_email: config.registrar_mail.clone(),
            mailer,
            mail_host,
        },
        billing,
        whmcs_db: db,
        accounts,
        clock,
        policy: config.detection.clone(),
        fixed_rates: config.rates.clone(),
        concurrency: 8,
    })
}

/// The admin-notice channel `notices.channels` allows, best first: a WHMCS to-do (with
/// database access), a bot ticket, a WHMCS admin e-mail. `None` when none is allowed and
/// configured (then cases are only on the dashboard and in the digest mail).
fn admin_notifier(
    config: &Config,
    billing: &Arc<dyn BillingPort>,
    db: Option<&WhmcsDb>,
    tickets: Option<TicketDestination>,
) -> Option<ToDoNotifier> {
    let allowed = |c: &str| config.notice_channels.iter().any(|x| x == c);
    let db = db.filter(|_| allowed("todo")).cloned();
    let tickets = tickets.filter(|_| allowed("ticket"));
    if db.is_none() && tickets.is_none() && !allowed("email") {
        tracing::warn!(channels = ?config.notice_channels, "no admin notice channel is both allowed and configured: cases show only on the dashboard");
        return None;
    }
    Some(ToDoNotifier::new(billing.clone(), db, tickets))
}

/// A Smart-NIC account. Smart-NIC has no separate OT&E system: `environment = "ote"` needs
/// an `endpoint` (e.g. the sandbox).
fn smartnic_account(account: &RegistrarAccount) -> anyhow::Result<Account> {
    let mut sc = domwatch_smartnic::SmartnicConfig::new(
        account.login.clone(),
        account.password.expose().to_string(),
    );
    match (&account.endpoint, account.environment) {
        (Some(endpoint), _) => sc.endpoint = endpoint.clone(),
        (None, Environment::Ote) => bail!(
            "registrars.{}: Smart-NIC has no OT&E system; set endpoint (e.g. the sandbox from `domwatch sandbox registrar --dialect smartnic`) or environment = \"live\"",
            account.name
        ),
        (None, Environment::Live) => {}
    }
    sc.account = account.name.clone();
    sc.for_reseller = account.for_reseller.clone();
    if account.start_date_iso {
        sc.start_date_format = domwatch_smartnic::StartDateFormat::IsoDate;
    }
    sc.max_concurrency = account.max_concurrency as usize;
    sc.page_size = account.page_size;
    sc.timeout = Duration::from_secs(account.timeout_seconds);
    let client = domwatch_smartnic::SmartnicClient::new(sc)
        .with_context(|| format!("registrar account {}", account.name))?;
    Ok(Account {
        name: account.name.clone(),
        modules: account.modules.clone(),
        port: Arc::new(client),
    })
}

/// The embedded demo's account policy: auto delete `ticket`, and the sandbox portfolio's
/// contact policy (owner = client, every other role = the reseller handle).
fn embedded_policy(dialect: Dialect) -> AccountPolicy {
    let mut policy = AccountPolicy::for_dialect(dialect);
    policy.auto_delete.mode = AutoDeleteMode::Ticket;
    policy.contacts =
        ContactPolicy::owner_client_others_reseller(domwatch_sandbox::portfolio::RESELLER_HANDLE);
    policy
}

/// A registrar client for a configured account.
pub fn registrar_account(account: &RegistrarAccount) -> anyhow::Result<Account> {
    if account.dialect == Dialect::Smartnic {
        return smartnic_account(account);
    }
    let environment = match account.environment {
        Environment::Live => domwatch_rrp::Environment::Live,
        Environment::Ote => domwatch_rrp::Environment::Ote,
    };
    let mut cc = ClientConfig::new(
        account.dialect,
        environment,
        account.login.clone(),
        account.password.expose().to_string(),
    );
    if let Some(endpoint) = &account.endpoint {
        cc.endpoint = Some(
            endpoint
                .parse()
                .with_context(|| format!("registrars.{}.endpoint", account.name))?,
        );
    }
    cc.role = account.role.clone();
    cc.subuser = account.subuser.clone();
    cc.max_concurrency = account.max_concurrency as usize;
    cc.list.page_size = account.page_size;
    // Contacts come in the bulk list only with TYPE=ALL (its auth codes are dropped while
    // parsing, never stored or logged).
    cc.list.cnr_type_all = account.list_contacts;
    cc.total_timeout = Duration::from_secs(account.timeout_seconds);
    let client =
        RrpClient::new(cc).with_context(|| format!("registrar account {}", account.name))?;
    let port: Arc<dyn RegistrarPort> = Arc::new(client);
    Ok(Account {
        name: account.name.clone(),
        modules: account.modules.clone(),
        port,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use domwatch_whmcs::port::ToDoChannel;

    fn config_with_channels(channels: &[&str]) -> Config {
        let toml = format!(
            "[notices]\nchannels = [{}]",
            channels
                .iter()
                .map(|c| format!("\"{c}\""))
                .collect::<Vec<_>>()
                .join(", ")
        );
        crate::config::RawConfig::from_toml(&toml)
            .unwrap()
            .resolve(&std::collections::BTreeMap::new())
            .unwrap()
    }

    #[test]
    fn notice_channels_choose_the_best_allowed_one() {
        let billing: Arc<dyn BillingPort> = Arc::new(
            WhmcsClient::new(WhmcsConfig::new("https://billing.invalid/", "id", "secret").unwrap())
                .unwrap(),
        );
        let bot = Some(TicketDestination {
            bot_client_id: 9,
            department_id: 1,
        });
        // The channel chosen without a WHMCS database.
        let channel = |config: &Config, tickets: Option<TicketDestination>| {
            admin_notifier(config, &billing, None, tickets)
                .unwrap()
                .channel()
        };
        let all = config_with_channels(&[]);
        assert_eq!(channel(&all, bot), ToDoChannel::Ticket);
        assert_eq!(channel(&all, None), ToDoChannel::AdminEmail);
        let email_only = config_with_channels(&["email"]);
        assert_eq!(channel(&email_only, bot), ToDoChannel::AdminEmail);
        let todo_only = config_with_channels(&["todo"]);
        assert!(admin_notifier(&todo_only, &billing, None, bot).is_none());
    }
}
