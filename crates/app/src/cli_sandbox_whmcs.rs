//! `domwatch sandbox whmcs`.

#[derive(Debug, clap::Args)]
pub struct Args {}

pub async fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`domwatch sandbox whmcs` is not built yet")
}
