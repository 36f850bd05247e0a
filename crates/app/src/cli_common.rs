//! What every command that opens domwatch's configuration shares: the `--config` option,
//! building the runtime from it, and the actor name the audit log records for the CLI.

use crate::config;
use crate::runtime::Runtime;
use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct Common {
    /// Configuration file (default: $DOMWATCH_CONFIG, else ./domwatch.toml, else the
    /// embedded sandboxes).
    #[arg(long, short = 'c', env = "DOMWATCH_CONFIG")]
    pub config: Option<PathBuf>,
}

pub(crate) async fn runtime(common: &Common) -> anyhow::Result<Runtime> {
    let config = config::load(common.config.as_deref(), &config::ProcessEnv)?;
    Runtime::build(config).await
}

pub(crate) fn actor() -> String {
    format!(
        "cli:{}",
        std::env::var("USER").unwrap_or_else(|_| "unknown".into())
    )
}
