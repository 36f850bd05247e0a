//! `domwatch registrar ...`: query a registrar account (CNR / ISPAPI) directly.
//!
//! With no endpoint and no credentials the commands run against an in-process sandbox
//! registrar (seed 42, 200 portfolio domains), so `domwatch registrar list-domains` works
//! out of the box; stderr says so.

use anyhow::Context;
use clap::Subcommand;
use domwatch_core::model::{Dialect, RegistrarDomain};
use domwatch_core::text::escape;
use domwatch_core::DomainName;
use domwatch_rrp::{ClientConfig, Command, Environment, ListOptions, RrpClient};
use domwatch_sandbox::registrar::{RegistrarSandbox, RegistrarSandboxConfig};
use std::path::PathBuf;
use std::time::Duration;
use url::Url;

/// Portfolio of the embedded default sandbox.
const EMBEDDED_SEED: u64 = 42;
const EMBEDDED_DOMAINS: usize = 200;

#[derive(Debug, Subcommand)]
pub enum RegistrarCommand {
    /// List every domain of an account (bulk, paged) as a table or JSON.
    ListDomains {
        #[command(flatten)]
        connection: Connection,
        /// Print JSON (one array of domains) instead of a table.
        #[arg(long)]
        json: bool,
        /// Rows per list request, 1..=10000.
        #[arg(long, default_value_t = domwatch_rrp::ops::DEFAULT_PAGE_SIZE)]
        page_size: u32,
    },
    /// Show one domain (`StatusDomain`, with the renewal price).
    StatusDomain {
        /// Domain name, Unicode or punycode.
        name: String,
        #[command(flatten)]
        connection: Connection,
        #[arg(long)]
        json: bool,
    },
    /// Show the account balance (`StatusAccount`).
    Account {
        #[command(flatten)]
        connection: Connection,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum EnvironmentArg {
    Live,
    Ote,
}

/// Which account to talk to. Leave everything out to use the embedded sandbox.
#[derive(Debug, clap::Args)]
pub struct Connection {
    /// Protocol dialect: `cnr` or `ispapi`.
    #[arg(long, default_value = "cnr")]
    dialect: Dialect,
    /// API endpoint (e.g. a sandbox's `http://127.0.0.1:8480/api/call.cgi`); default: the
    /// registrar's gateway for --environment.
    #[arg(long, env = "DOMWATCH_REGISTRAR_ENDPOINT")]
    endpoint: Option<Url>,
    /// Registrar system when no --endpoint is given.
    #[arg(long, value_enum, default_value = "ote")]
    environment: EnvironmentArg,
    #[arg(long, env = "DOMWATCH_REGISTRAR_LOGIN")]
    login: Option<String>,
    /// Prefer DOMWATCH_REGISTRAR_PASSWORD(_FILE): a flag shows in process lists.
    #[arg(long, env = "DOMWATCH_REGISTRAR_PASSWORD", hide_env_values = true)]
    password: Option<String>,
    /// File holding the password (surrounding whitespace is ignored).
    #[arg(long, env = "DOMWATCH_REGISTRAR_PASSWORD_FILE")]
    password_file: Option<PathBuf>,
    /// Role user (CNR `login:role`, ISPAPI `login!role`).
    #[arg(long)]
    role: Option<String>,
    /// Log in once and use a session instead of sending the password every time.
    #[arg(long)]
    session: bool,
    /// Give up on a request after this many seconds.
    #[arg(long, default_value_t = 60)]
    timeout_secs: u64,
}

/// A connected client, plus the embedded sandbox it talks to (kept alive) if any.
struct Target {
    client: RrpClient,
    _sandbox: Option<RegistrarSandbox>,
}

impl Connection {
    fn is_empty(&self) -> bool {
        self.endpoint.is_none()
            && self.login.is_none()
            && self.password.is_none()
            && self.password_file.is_none()
    }

    fn password(&self) -> anyhow::Result<String> {
        if let Some(password) = &self.password {
            return Ok(password.clone());
        }
        if let Some(path) = &self.password_file {
            let text = std::fs::read_to_string(path).with_context(|| {
                format!("cannot read the password file {}: check --password-file / DOMWATCH_REGISTRAR_PASSWORD_FILE", path.display())
            })?;
            let password = text.trim().to_string();
            anyhow::ensure!(
                !password.is_empty(),
                "the password file {} is empty",
                path.display()
            );
            return Ok(password);
        }
        anyhow::bail!(
            "no registrar password: set DOMWATCH_REGISTRAR_PASSWORD_FILE (or DOMWATCH_REGISTRAR_PASSWORD, --password-file)"
        )
    }

    async fn connect(&self) -> anyhow::Result<Target> {
        anyhow::ensure!(
            self.dialect != Dialect::Smartnic,
            "--dialect smartnic speaks SOAP, not the CNR/ISPAPI protocol: use cnr or ispapi"
        );
        let (mut config, sandbox) = if self.is_empty() {
            let today = chrono::Utc::now().date_naive();
            let sandbox = RegistrarSandbox::start(RegistrarSandboxConfig::new(
                self.dialect,
                EMBEDDED_SEED,
                EMBEDDED_DOMAINS,
                today,
            ))
            .await
            .context("starting the embedded sandbox registrar")?;
            eprintln!(
                "no --endpoint or credentials given: using an embedded {} sandbox registrar (seed {EMBEDDED_SEED}, {EMBEDDED_DOMAINS} portfolio domains) at {}",
                self.dialect,
                sandbox.endpoint()
            );
            let mut config = ClientConfig::new(
                self.dialect,
                Environment::Ote,
                sandbox.login(),
                sandbox.password(),
            );
            config.endpoint = Some(sandbox.endpoint().parse().context("sandbox endpoint")?);
            (config, Some(sandbox))
        } else {
            let login = self.login.clone().context(
                "no registrar login: set --login or DOMWATCH_REGISTRAR_LOGIN (leave out --endpoint and credentials to use the embedded sandbox)",
            )?;
            let environment = match self.environment {
                EnvironmentArg::Live => Environment::Live,
                EnvironmentArg::Ote => Environment::Ote,
            };
            let mut config = ClientConfig::new(self.dialect, environment, login, self.password()?);
            config.endpoint = self.endpoint.clone();
            config.role = self.role.clone();
            (config, None)
        };
        config.use_session = self.session;
        config.total_timeout = Duration::from_secs(self.timeout_secs.max(1));
        config.connect_timeout = config.total_timeout.min(Duration::from_secs(10));
        let client = RrpClient::new(config).context("registrar client configuration")?;
        Ok(Target {
            client,
            _sandbox: sandbox,
        })
    }
}

pub async fn run(cmd: RegistrarCommand) -> anyhow::Result<()> {
    match cmd {
        RegistrarCommand::ListDomains {
            connection,
            json,
            page_size,
        } => list_domains(&connection, json, page_size).await,
        RegistrarCommand::StatusDomain {
            name,
            connection,
            json,
        } => status_domain(&connection, &name, json).await,
        RegistrarCommand::Account { connection, json } => account(&connection, json).await,
    }
}

async fn list_domains(connection: &Connection, json: bool, page_size: u32) -> anyhow::Result<()> {
    anyhow::ensure!(
        (1..=domwatch_rrp::ops::MAX_PAGE_SIZE).contains(&page_size),
        "--page-size must be 1..=10000, got {page_size}"
    );
    let target = connection.connect().await?;
    let client = &target.client;
    // One cheap call first: it checks the credentials and tells how long the walk is.
    let probe = client
        .request(&Command::new("QueryDomainList").with("LIMIT", 1u32))
        .await
        .context("listing domains")?;
    let total = probe.records_total();
    let progress = (total > u64::from(page_size)).then(|| {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_message(format!(
            "listing {total} domains in pages of {page_size} ({} requests)…",
            total.div_ceil(u64::from(page_size))
        ));
        bar.enable_steady_tick(Duration::from_millis(120));
        bar
    });
    let options = ListOptions {
        page_size,
        ..ListOptions::default()
    };
    let result = client.list_domains_with(&options).await;
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    let domains = result.context("listing domains")?;
    if json {
        println!("{}", serde_json::to_string_pretty(&domains)?);
    } else {
        print_table(&domains);
        eprintln!("{} domains", domains.len());
    }
    Ok(())
}

async fn status_domain(connection: &Connection, name: &str, json: bool) -> anyhow::Result<()> {
    let name = DomainName::parse(name).with_context(|| format!("`{name}` is not a domain name"))?;
    let target = connection.connect().await?;
    let domain = target
        .client
        .status_domain(&name)
        .await
        .with_context(|| format!("status of {name}"))?;
    if json {
        println!("{}", serde_json::to_string_pretty(&domain)?);
        return Ok(());
    }
    let date =
        |d: Option<chrono::NaiveDate>| d.map(|d| d.to_string()).unwrap_or_else(|| "-".into());
    println!("domain:          {}", domain.name.ascii());
    println!("unicode:         {}", domain.name.display());
    println!("paid until:      {}", date(domain.paid_until));
    println!("registry expiry: {}", date(domain.registry_expiry));
    println!("created:         {}", date(domain.created));
    println!(
        "renewal mode:    {}",
        domain
            .renewal_mode
            .as_ref()
            .map(|m| m.as_command_value().to_string())
            .unwrap_or_else(|| "-".into())
    );
    println!("status:          {}", escape(&domain.status.join(", ")));
    println!(
        "premium:         {}",
        domain
            .premium
            .as_ref()
            .map(|p| escape(&p.class))
            .unwrap_or("no".into())
    );
    println!(
        "renewal price:   {}",
        domain
            .renewal_price
            .map(|m| m.to_string())
            .unwrap_or_else(|| "-".into())
    );
    let contacts = &domain.contacts;
    let handle = |h: &Option<String>| {
        h.as_deref()
            .map_or("-".to_string(), |h| escape(h).into_owned())
    };
    println!(
        "contacts:        owner {} / admin {} / tech {} / billing {}",
        handle(&contacts.owner),
        handle(&contacts.admin),
        handle(&contacts.tech),
        handle(&contacts.billing)
    );
    Ok(())
}

async fn account(connection: &Connection, json: bool) -> anyhow::Result<()> {
    let target = connection.connect().await?;
    let status = target
        .client
        .status_account()
        .await
        .context("account status")?;
    if json {
        let money = |m: &Option<domwatch_core::Money>| {
            m.map(|m| serde_json::json!({"amount": m.amount.to_string(), "currency": m.currency.as_str()}))
        };
        let value = serde_json::json!({
            "account": target.client.config().account(),
            "balance": money(&status.balance),
            "credit": money(&status.credit),
            "credit_threshold": money(&status.credit_threshold),
            "deposit": money(&status.deposit),
        });
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(());
    }
    let money =
        |m: &Option<domwatch_core::Money>| m.map(|m| m.to_string()).unwrap_or_else(|| "-".into());
    println!("account:          {}", target.client.config().account());
    println!("balance:          {}", money(&status.balance));
    println!("credit:           {}", money(&status.credit));
    println!("credit threshold: {}", money(&status.credit_threshold));
    println!("deposit:          {}", money(&status.deposit));
    Ok(())
}

fn print_table(domains: &[RegistrarDomain]) {
    let rows: Vec<[String; 6]> = domains
        .iter()
        .map(|d| {
            [
                d.name.ascii().to_string(),
                d.name.display(),
                d.paid_until
                    .or(d.registry_expiry)
                    .map(|d| d.to_string())
                    .unwrap_or_else(|| "-".into()),
                d.renewal_mode
                    .as_ref()
                    .map(|m| m.as_command_value().to_string())
                    .unwrap_or_else(|| "-".into()),
                d.premium
                    .as_ref()
                    .map(|p| escape(&p.class).into_owned())
                    .unwrap_or_else(|| "-".into()),
                d.renewal_price
                    .map(|m| m.to_string())
                    .unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    let header = [
        "DOMAIN",
        "UNICODE",
        "PAID UNTIL",
        "RENEWAL MODE",
        "PREMIUM CLASS",
        "RENEWAL PRICE",
    ];
    let mut widths = header.map(|h| h.chars().count());
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: [&str; 6]| {
        let mut out = String::new();
        for (i, (cell, width)) in cells.iter().zip(widths).enumerate() {
            if i == 5 {
                out.push_str(&format!("{cell:>width$}"));
            } else {
                out.push_str(&format!("{cell:<width$}  "));
            }
        }
        println!("{}", out.trim_end());
    };
    line(header);
    for row in &rows {
        line([&row[0], &row[1], &row[2], &row[3], &row[4], &row[5]]);
    }
}
