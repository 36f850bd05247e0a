//! `domwatch sandbox whmcs`: serve the sandbox WHMCS until Ctrl-C.

use anyhow::Context;
use chrono::NaiveDate;
use domwatch_sandbox::whmcs::{
    start, SandboxCredential, SandboxDatabase, WhmcsSandboxConfig, DEFAULT_IDENTIFIER,
    DEFAULT_SECRET,
};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8490")]
    listen: SocketAddr,
    /// Portfolio seed; the registrar sandbox with the same seed holds the same domains.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Number of portfolio domains.
    #[arg(long, default_value_t = 200)]
    domains: usize,
    /// Domains per thousand (past the showcase) that carry a random drift; the default 40
    /// (4%) is far above a real portfolio's, so that every case kind shows up often.
    #[arg(long, default_value_t = domwatch_sandbox::portfolio::DEFAULT_DRIFT_PER_MILLE, value_parser = clap::value_parser!(u16).range(0..=1000))]
    drift_per_mille: u16,
    /// The day the portfolio is anchored to (YYYY-MM-DD); default today (UTC).
    #[arg(long)]
    today: Option<NaiveDate>,
    /// Keep the WHMCS tables in this MySQL/MariaDB database (must exist) instead of memory.
    #[arg(long, env = "DOMWATCH_SANDBOX_MYSQL_URL", conflicts_with = "sqlite")]
    mysql_url: Option<String>,
    /// Keep the WHMCS tables in this SQLite file instead of memory.
    #[arg(long)]
    sqlite: Option<PathBuf>,
    /// API identifier the sandbox accepts.
    #[arg(long, default_value = DEFAULT_IDENTIFIER)]
    identifier: String,
    /// API secret the sandbox accepts.
    #[arg(long, default_value = DEFAULT_SECRET)]
    secret: String,
    /// Emulate WHMCS 7.8's GetInvoices bug (numreturned = totalresults).
    #[arg(long)]
    numreturned_bug: bool,
    /// An IP the API accepts besides loopback (API IP Access Restriction); repeatable.
    /// Callers from other addresses get HTTP 403 `Invalid IP <ip>`, as from WHMCS.
    #[arg(long = "allow-ip")]
    allow_ip: Vec<IpAddr>,
    /// Seed a few to-do items, as a live WHMCS has them.
    #[arg(long)]
    seed_todos: bool,
    /// The API role of the credential: only these actions (comma-separated, any case)
    /// are allowed; others answer HTTP 403 `Invalid Permissions`. Default: every action.
    #[arg(long, value_delimiter = ',')]
    api_role: Option<Vec<String>>,
    /// The WHMCS version WhmcsDetails reports (before 8.0 WhmcsDetails does not exist).
    #[arg(long, default_value = domwatch_sandbox::whmcs::DEFAULT_VERSION)]
    whmcs_version: String,
    /// Delay added to every API answer, in milliseconds, as over the internet (e.g. 50);
    /// the `/_sandbox/*` endpoints are not delayed.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let today = args
        .today
        .unwrap_or_else(|| chrono::Utc::now().date_naive());
    let mut config = WhmcsSandboxConfig::new(args.seed, args.domains, today);
    config.listen = args.listen;
    config.numreturned_bug = args.numreturned_bug;
    config.drift_per_mille = args.drift_per_mille;
    config.allowed_ips.extend(args.allow_ip);
    config.seed_todos = args.seed_todos;
    config.version = args.whmcs_version;
    config.latency = std::time::Duration::from_millis(args.latency_ms);
    config.credentials = vec![SandboxCredential {
        identifier: args.identifier,
        secret: args.secret,
        allowed_actions: args.api_role,
    }];
    config.database = match (args.mysql_url, args.sqlite) {
        (Some(url), _) => SandboxDatabase::MySql(url),
        (None, Some(path)) => SandboxDatabase::SqliteFile(path),
        (None, None) => SandboxDatabase::Memory,
    };
    if !args.listen.ip().is_loopback() {
        eprintln!(
            "warning: the sandbox WHMCS listens on {} and is reachable from other machines \
             (the API answers only loopback and --allow-ip addresses)",
            args.listen
        );
    }
    let sandbox = start(config).await.context("starting the sandbox WHMCS")?;
    println!(
        "sandbox WHMCS (seed {}, {} domains, today {today})",
        args.seed, args.domains
    );
    println!("  url:        {}", sandbox.base_url());
    println!("  api:        {}", sandbox.api_url());
    println!("  identifier: {}", sandbox.identifier());
    println!("  secret:     {}", sandbox.secret());
    if args.latency_ms > 0 {
        println!(
            "  latency:    {} ms before every API answer",
            args.latency_ms
        );
    }
    println!(
        "  pay:        POST {}_sandbox/pay-invoice invoiceid=N",
        sandbox.base_url()
    );
    println!("Ctrl-C stops it.");
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    eprintln!("stopping the sandbox WHMCS");
    sandbox.shutdown().await;
    Ok(())
}
