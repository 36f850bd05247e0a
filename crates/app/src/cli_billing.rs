//! `domwatch billing ...`: query WHMCS.

use anyhow::Context;
use clap::Subcommand;
use domwatch_sandbox::whmcs::{start, WhmcsSandbox, WhmcsSandboxConfig};
use domwatch_whmcs::{Secret, WhmcsClient, WhmcsConfig};
use std::path::PathBuf;

#[derive(Debug, Subcommand)]
pub enum BillingCommand {
    /// List every domain in WHMCS with recurring amount, status, expiry and next due date.
    ListDomains(ListDomainsArgs),
}

/// Where WHMCS is. Without `--url` an in-process sandbox WHMCS is started.
#[derive(Debug, clap::Args)]
pub struct Connection {
    /// WHMCS root URL (…/includes/api.php is appended).
    #[arg(long, env = "DOMWATCH_WHMCS_URL")]
    url: Option<String>,
    /// API credential identifier.
    #[arg(long, env = "DOMWATCH_WHMCS_IDENTIFIER")]
    identifier: Option<String>,
    /// API credential secret (prefer --secret-file or the environment).
    #[arg(long, env = "DOMWATCH_WHMCS_SECRET", hide_env_values = true)]
    secret: Option<String>,
    /// File holding the API secret.
    #[arg(long, env = "DOMWATCH_WHMCS_SECRET_FILE")]
    secret_file: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct ListDomainsArgs {
    #[command(flatten)]
    connection: Connection,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

pub async fn run(cmd: BillingCommand) -> anyhow::Result<()> {
    match cmd {
        BillingCommand::ListDomains(args) => list_domains(args).await,
    }
}

/// The client plus the sandbox it talks to, if one had to be started (kept alive).
async fn connect(connection: Connection) -> anyhow::Result<(WhmcsClient, Option<WhmcsSandbox>)> {
    let Some(url) = connection.url else {
        let today = chrono::Utc::now().date_naive();
        let sandbox = start(WhmcsSandboxConfig::new(42, 200, today))
            .await
            .context("starting the in-process sandbox WHMCS")?;
        eprintln!(
            "no WHMCS URL given (--url or DOMWATCH_WHMCS_URL): using an in-process sandbox WHMCS \
             (seed 42, 200 domains) at {}",
            sandbox.base_url()
        );
        let config = WhmcsConfig::new(&sandbox.base_url(), sandbox.identifier(), sandbox.secret())?;
        return Ok((WhmcsClient::new(config)?, Some(sandbox)));
    };
    let identifier = connection.identifier.context(
        "the WHMCS API identifier is missing: pass --identifier or set DOMWATCH_WHMCS_IDENTIFIER",
    )?;
    let secret = match (connection.secret, connection.secret_file) {
        (Some(secret), _) => Secret::new(secret),
        (None, Some(path)) => Secret::new(
            std::fs::read_to_string(&path)
                .with_context(|| format!("reading the WHMCS secret from {}", path.display()))?
                .trim()
                .to_string(),
        ),
        (None, None) => anyhow::bail!(
            "the WHMCS API secret is missing: pass --secret-file or set DOMWATCH_WHMCS_SECRET(_FILE)"
        ),
    };
    let config = WhmcsConfig::new(&url, identifier, secret)?;
    Ok((WhmcsClient::new(config)?, None))
}

async fn list_domains(args: ListDomainsArgs) -> anyhow::Result<()> {
    let (client, sandbox) = connect(args.connection).await?;
    let list = client.list_billing_domains().await?;
    if args.json {
        let unreadable: Vec<_> = list
            .unreadable
            .iter()
            .map(|u| serde_json::json!({"id": u.id, "name": u.name, "reason": u.reason}))
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "domains": list.domains,
                "unreadable": unreadable,
            }))?
        );
    } else {
        println!(
            "{:>7} {:<40} {:>7} {:<18} {:>12} {:<3} {:<10} {:<10} DNR",
            "ID", "DOMAIN", "CLIENT", "STATUS", "RECURRING", "CUR", "EXPIRY", "NEXT DUE"
        );
        let date =
            |d: Option<chrono::NaiveDate>| d.map(|d| d.to_string()).unwrap_or_else(|| "-".into());
        for d in &list.domains {
            println!(
                "{:>7} {:<40} {:>7} {:<18} {:>12.2} {:<3} {:<10} {:<10} {}",
                d.id,
                d.name.display(),
                d.client_id,
                d.status.as_whmcs(),
                d.recurring_amount.amount,
                d.recurring_amount.currency,
                date(d.expiry),
                date(d.next_due),
                if d.do_not_renew { "yes" } else { "no" },
            );
        }
        eprintln!("{} domains", list.domains.len());
        for u in &list.unreadable {
            eprintln!(
                "skipped domain #{} {:?}: {}",
                u.id,
                u.name,
                domwatch_core::text::escape(&u.reason)
            );
        }
    }
    if let Some(sandbox) = sandbox {
        sandbox.shutdown().await;
    }
    Ok(())
}
