//! `domwatch sandbox registrar`: serve the sandbox registrar (CNR, ISPAPI or Smart-NIC SOAP)
//! until Ctrl-C.

use anyhow::Context;
use chrono::NaiveDate;
use domwatch_core::model::Dialect;
use domwatch_sandbox::registrar::{
    FaultConfig, RegistrarSandbox, RegistrarSandboxConfig, DEFAULT_LOGIN, DEFAULT_PASSWORD,
};
use std::net::SocketAddr;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Protocol dialect: `cnr` (CentralNic Reseller), `ispapi` (HEXONET) or `smartnic`
    /// (domain-bestellsystem SOAP; there the 421 rate is the rate of `returnCode` 2400).
    #[arg(long, default_value = "cnr")]
    dialect: Dialect,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8480")]
    listen: SocketAddr,
    /// Number of portfolio domains (the account holds the dialect's share of them).
    #[arg(long, default_value_t = 200)]
    domains: usize,
    /// Portfolio seed; the WHMCS sandbox with the same seed bills the same domains.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Domains per thousand (past the showcase) that carry a random drift; the default 40
    /// (4%) is far above a real portfolio's, so that every case kind shows up often.
    #[arg(long, default_value_t = domwatch_sandbox::portfolio::DEFAULT_DRIFT_PER_MILLE, value_parser = clap::value_parser!(u16).range(0..=1000))]
    drift_per_mille: u16,
    /// The day the portfolio is anchored to (YYYY-MM-DD); default today (UTC).
    #[arg(long)]
    today: Option<NaiveDate>,
    /// Account login the sandbox accepts.
    #[arg(long, default_value = DEFAULT_LOGIN)]
    login: String,
    /// Account password the sandbox accepts.
    #[arg(long, default_value = DEFAULT_PASSWORD)]
    password: String,
    /// Share of API requests answered `421 … Client should try again` (0..1).
    #[arg(long, default_value_t = 0.0)]
    fault_421_rate: f64,
    /// Share of API requests answered with HTTP 500 and an HTML page (0..1).
    #[arg(long, default_value_t = 0.0)]
    fault_500_rate: f64,
    /// Share of API answers cut off half-way, without `EOF` (0..1).
    #[arg(long, default_value_t = 0.0)]
    fault_truncate_rate: f64,
    /// Share of API requests that never get an answer (0..1).
    #[arg(long, default_value_t = 0.0)]
    fault_hang_rate: f64,
    /// Delay added to every API answer, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let today = args
        .today
        .unwrap_or_else(|| chrono::Utc::now().date_naive());
    if args.dialect == Dialect::Smartnic {
        return run_smartnic(args, today).await;
    }
    let mut config = RegistrarSandboxConfig::new(args.dialect, args.seed, args.domains, today);
    config.drift_per_mille = args.drift_per_mille;
    config.login = args.login;
    config.password = args.password;
    config.faults = FaultConfig {
        latency_ms: args.latency_ms,
        rate_421: args.fault_421_rate,
        rate_http_500: args.fault_500_rate,
        rate_truncated: args.fault_truncate_rate,
        rate_hang: args.fault_hang_rate,
        ..FaultConfig::default()
    };
    config
        .faults
        .validate()
        .map_err(|e| anyhow::anyhow!("bad fault setting: {e}"))?;
    let listener = bind(args.listen, "the sandbox registrar").await?;
    let sandbox =
        RegistrarSandbox::start_on(config, listener).context("starting the sandbox registrar")?;
    println!(
        "sandbox registrar ({}, seed {}, {} portfolio domains, today {today})",
        args.dialect, args.seed, args.domains
    );
    println!("  endpoint: {}", sandbox.endpoint());
    println!("  login:    {}", sandbox.login());
    println!("  password: {}", sandbox.password());
    if args.dialect == Dialect::Ispapi {
        println!("  s_entity: 1234 (OT&E) or 54cd (live)");
    }
    println!(
        "  try:      domwatch registrar list-domains --dialect {} --endpoint {} --login {} --password-file <file>",
        args.dialect,
        sandbox.endpoint(),
        sandbox.login()
    );
    serve_until_ctrl_c(
        &sandbox.base_url(),
        r#"{"event":"advance_clock","days":30}"#,
    )
    .await?;
    eprintln!("stopping the sandbox registrar");
    sandbox.stop().await;
    Ok(())
}

/// Says where the sandbox takes events and shows its state, then waits for Ctrl-C.
async fn serve_until_ctrl_c(base_url: &str, event_example: &str) -> anyhow::Result<()> {
    println!("  events:   POST {base_url}/_sandbox/event  e.g. {event_example}");
    println!("  state:    GET  {base_url}/_sandbox/state");
    println!("Ctrl-C stops it.");
    tokio::signal::ctrl_c().await.context("waiting for Ctrl-C")
}

/// Binds `listen` for `what`, warning when other machines can reach it.
async fn bind(listen: SocketAddr, what: &str) -> anyhow::Result<tokio::net::TcpListener> {
    if !listen.ip().is_loopback() {
        eprintln!("warning: {what} listens on {listen} and is reachable from other machines");
    }
    tokio::net::TcpListener::bind(listen).await.with_context(|| {
        format!("cannot listen on {listen}: is another sandbox running there? pick another --listen")
    })
}

/// The Smart-NIC SOAP sandbox (HTTP Basic auth with `--login`/`--password`).
async fn run_smartnic(args: Args, today: NaiveDate) -> anyhow::Result<()> {
    use domwatch_sandbox::smartnic::{FaultRates, SmartnicSandbox, SmartnicSandboxConfig};
    let mut config = SmartnicSandboxConfig::new(args.seed, args.domains, today);
    config.drift_per_mille = args.drift_per_mille;
    // The CNR sandbox's default login is not the Smart-NIC one: keep each sandbox's own.
    if args.login != DEFAULT_LOGIN {
        config.login = args.login;
    }
    if args.password != DEFAULT_PASSWORD {
        config.password = args.password;
    }
    config.latency = std::time::Duration::from_millis(args.latency_ms);
    config.faults = FaultRates {
        hang: args.fault_hang_rate,
        http_500: args.fault_500_rate,
        truncated: args.fault_truncate_rate,
        command_failed: args.fault_421_rate,
    };
    config
        .faults
        .validate()
        .map_err(|e| anyhow::anyhow!("bad fault setting: {e}"))?;
    let listener = bind(args.listen, "the Smart-NIC sandbox").await?;
    let sandbox =
        SmartnicSandbox::start_on(config, listener).context("starting the Smart-NIC sandbox")?;
    println!(
        "sandbox registrar (smartnic SOAP, seed {}, {} portfolio domains, today {today})",
        args.seed, args.domains
    );
    println!("  endpoint: {}", sandbox.endpoint());
    println!("  wsdl:     {}/soap.wsdl", sandbox.base_url());
    println!("  login:    {}  (HTTP Basic auth)", sandbox.login());
    println!("  password: {}", sandbox.password());
    println!(
        "  use it:   [registrars.<name>] dialect = \"smartnic\", endpoint = \"{}\", login = \"{}\"",
        sandbox.endpoint(),
        sandbox.login()
    );
    serve_until_ctrl_c(
        &sandbox.base_url(),
        r#"{"event":"inject_fault","fault":"http500","count":2}"#,
    )
    .await?;
    eprintln!("stopping the Smart-NIC sandbox");
    sandbox.stop().await;
    Ok(())
}
