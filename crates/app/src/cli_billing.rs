//! `domwatch billing ...`: query WHMCS.

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum BillingCommand {
    /// List every domain in WHMCS.
    ListDomains,
}

pub async fn run(cmd: BillingCommand) -> anyhow::Result<()> {
    anyhow::bail!("`domwatch billing {cmd:?}` is not built yet")
}
