//! `domwatch doctor`: checks every configured system, one line per check with the fix to
//! apply, and exits 1 when any check failed. Nothing is written anywhere: the WHMCS
//! probes name id 0, the database probes match no row, SMTP gets a NOOP.
//!
//! With no configuration it checks the embedded sandboxes, as `check` would use them.

mod report;
mod systems;
mod whmcs;

use crate::cli_common::Common;
use crate::config::{self, Config, Environment};
use crate::runtime::{self, Runtime};
use domwatch_engine::Account;
use report::{Check, Report, Status};
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct DoctorArgs {
    #[command(flatten)]
    pub common: Common,
    /// Print the checks as JSON (`ok`, `configuration`, `checks[]` with `system`, `check`,
    /// `status` ok|warn|fail|skip, `detail`, `fix`).
    #[arg(long)]
    pub json: bool,
}

pub async fn run(args: DoctorArgs) -> anyhow::Result<ExitCode> {
    let source = config_source(&args.common);
    let checks = match config::load(args.common.config.as_deref(), &config::ProcessEnv) {
        Ok(config) => checks(config).await,
        Err(e) => vec![Check::fail(
            "config",
            "load",
            format!("{e:#}"),
            "fix the named key; `domwatch init` writes a commented file".into(),
        )],
    };
    let report = Report::new(source, checks);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.text());
    }
    Ok(if report.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Which file `config::load` reads, in words.
fn config_source(common: &Common) -> String {
    match &common.config {
        Some(path) => path.display().to_string(),
        None if std::path::Path::new("domwatch.toml").exists() => "domwatch.toml".into(),
        None => "no configuration file: the embedded sandboxes".into(),
    }
}

async fn checks(config: Config) -> Vec<Check> {
    let mut checks = vec![systems::store_check(&config.database_url).await];
    if config.is_embedded_default() {
        checks.extend(embedded_checks(config).await);
        return checks;
    }
    match &config.whmcs {
        Some(whmcs) => match runtime::whmcs_client(whmcs) {
            Ok(client) => checks.extend(whmcs::api_checks(&client).await),
            Err(e) => checks.push(Check::fail(
                "whmcs",
                "url",
                format!("{e:#}"),
                "fix whmcs.url".into(),
            )),
        },
        None => checks.push(Check::fail(
            "whmcs",
            "url",
            "no [whmcs] section".into(),
            "add [whmcs] with url, identifier and secret_file".into(),
        )),
    }
    let db_url = config.whmcs.as_ref().and_then(|w| w.database_url.as_ref());
    checks.extend(whmcs::database_checks(db_url.map(|u| u.expose())).await);
    if let Some(w) = &config.whmcs {
        checks.push(whmcs::read_path_check(w.read_from));
    }
    let mut accounts = Vec::new();
    for account in &config.registrars {
        match runtime::registrar_account(account) {
            Ok(built) => accounts.push((built, environment(account))),
            Err(e) => checks.push(Check::fail(
                &format!("registrar {}", account.name),
                "login",
                format!("{e:#}"),
                format!("fix registrars.{}", account.name),
            )),
        }
    }
    let accounts: Vec<(&Account, String)> = accounts.iter().map(|(a, e)| (a, e.clone())).collect();
    checks.extend(systems::registrar_checks(&accounts).await);
    checks.push(systems::smtp_check(config.mail.as_ref()).await);
    checks
}

fn environment(account: &config::RegistrarAccount) -> String {
    let system = match account.environment {
        Environment::Live => "live",
        Environment::Ote => "OT&E",
    };
    match &account.endpoint {
        Some(endpoint) => format!("{system} ({endpoint})"),
        None => system.to_string(),
    }
}

/// The embedded sandboxes, probed through the same code as real systems.
async fn embedded_checks(config: Config) -> Vec<Check> {
    let mail = config.mail.clone();
    let runtime = match Runtime::build(config).await {
        Ok(runtime) => runtime,
        Err(e) => {
            return vec![Check::fail(
                "embedded",
                "start",
                format!("{e:#}"),
                "delete the state directory (.domwatch/) to start the sandboxes afresh".into(),
            )]
        }
    };
    let mut checks = Vec::new();
    if let Some(embedded) = &runtime.embedded {
        let sandbox = embedded.whmcs();
        let client = domwatch_whmcs::WhmcsConfig::new(
            &sandbox.base_url(),
            sandbox.identifier(),
            sandbox.secret(),
        )
        .and_then(domwatch_whmcs::WhmcsClient::new);
        match client {
            Ok(client) => checks.extend(whmcs::api_checks(&client).await),
            Err(e) => checks.push(Check::new("whmcs", "url", Status::Fail, e.to_string())),
        }
    }
    checks.extend(whmcs::database_checks(None).await);
    let accounts: Vec<(&Account, String)> = runtime
        .engine
        .accounts
        .iter()
        .map(|a| (a, "the embedded sandbox".to_string()))
        .collect();
    checks.extend(systems::registrar_checks(&accounts).await);
    checks.push(systems::smtp_check(mail.as_ref()).await);
    checks
}
