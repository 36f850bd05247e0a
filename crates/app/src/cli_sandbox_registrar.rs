//! `domwatch sandbox registrar`.

#[derive(Debug, clap::Args)]
pub struct Args {}

pub async fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`domwatch sandbox registrar` is not built yet")
}
