//! `domwatch sandbox ...`: run the protocol sandboxes. Each sandbox has its own module.

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum SandboxCommand {
    /// Serve the sandbox registrar (CNR / ISPAPI `/api/call.cgi`, Smart-NIC SOAP).
    Registrar(crate::cli_sandbox_registrar::Args),
    /// Serve the sandbox WHMCS (`/includes/api.php`).
    Whmcs(crate::cli_sandbox_whmcs::Args),
}

pub async fn run(cmd: SandboxCommand) -> anyhow::Result<()> {
    match cmd {
        SandboxCommand::Registrar(args) => crate::cli_sandbox_registrar::run(args).await,
        SandboxCommand::Whmcs(args) => crate::cli_sandbox_whmcs::run(args).await,
    }
}
