//! `domwatch registrar ...`: query a registrar account.

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum RegistrarCommand {
    /// List every domain of an account.
    ListDomains,
}

pub async fn run(cmd: RegistrarCommand) -> anyhow::Result<()> {
    anyhow::bail!("`domwatch registrar {cmd:?}` is not built yet")
}
