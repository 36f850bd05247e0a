//! `domwatch sandbox ...`: run the protocol sandboxes.

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum SandboxCommand {
    /// Serve the sandbox registrar (CNR / ISPAPI `/api/call.cgi`).
    Registrar,
    /// Serve the sandbox WHMCS (`/includes/api.php`).
    Whmcs,
}

pub async fn run(cmd: SandboxCommand) -> anyhow::Result<()> {
    anyhow::bail!("`domwatch sandbox {cmd:?}` is not built yet")
}
