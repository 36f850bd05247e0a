//! `domwatch token create|list|revoke`: API tokens for scripts and the WHMCS addon.
//! Only the store is opened; the token is printed once and kept as its SHA-256 only.

use crate::cli_common::Common;
use crate::config;
use crate::table::{Align, Table};
use anyhow::Context;
use clap::{Args, Subcommand};
use domwatch_core::text::escape;
use domwatch_store::Store;
use domwatch_web::api_token::{generate_token, token_hash, TokenScope};

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token and print it once (`Authorization: Bearer <token>` on /api/*).
    Create(CreateArgs),
    /// List the tokens: name, scope, created, last used, revoked.
    List(ListArgs),
    /// Revoke a token: requests with it are refused from now on.
    Revoke(RevokeArgs),
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    #[command(flatten)]
    common: Common,
    /// Who uses the token (e.g. `whmcs`); the audit log names its writes `token:NAME`.
    #[arg(long)]
    name: String,
    /// `read`: GET /api/*; `fix`: also Fix now and its dry run.
    #[arg(long, value_parser = ["read", "fix"])]
    scope: String,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    common: Common,
}

#[derive(Debug, Args)]
pub struct RevokeArgs {
    #[command(flatten)]
    common: Common,
    /// The token's name (see `domwatch token list`).
    name: String,
}

pub async fn run(command: TokenCommand) -> anyhow::Result<()> {
    match command {
        TokenCommand::Create(args) => create(args).await,
        TokenCommand::List(args) => list(args).await,
        TokenCommand::Revoke(args) => revoke(args).await,
    }
}

async fn store(common: &Common) -> anyhow::Result<Store> {
    let config = config::load(common.config.as_deref(), &config::ProcessEnv)?;
    Ok(Store::connect(&config.database_url).await?)
}

/// Names appear in the audit log and in URLs of nothing: keep them short and plain.
fn check_name(name: &str) -> anyhow::Result<()> {
    let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    if name.is_empty() || name.len() > 64 || !name.chars().all(plain) {
        anyhow::bail!(
            "token name `{}` is not usable: use 1 to 64 letters, digits, `-`, `_` or `.` (e.g. whmcs-addon)",
            escape(name)
        );
    }
    Ok(())
}

async fn create(args: CreateArgs) -> anyhow::Result<()> {
    check_name(&args.name)?;
    let scope = TokenScope::parse(&args.scope).context("scope must be read or fix")?;
    let store = store(&args.common).await?;
    let token = generate_token();
    let created = store
        .create_api_token(
            &args.name,
            scope.as_str(),
            &token_hash(&token),
            chrono::Utc::now(),
        )
        .await?;
    if created.is_none() {
        anyhow::bail!(
            "a token named `{}` exists already (revoked tokens keep their name): choose another name, or see `domwatch token list`",
            args.name
        );
    }
    println!("{token}");
    eprintln!(
        "Token `{}` (scope {}) created. It is shown only now: store it where its user reads it, e.g. the WHMCS addon's settings. Send it as `Authorization: Bearer <token>`.",
        args.name,
        scope.as_str()
    );
    Ok(())
}

async fn list(args: ListArgs) -> anyhow::Result<()> {
    let store = store(&args.common).await?;
    let tokens = store.api_tokens().await?;
    if tokens.is_empty() {
        println!(
            "No API tokens. Create one with `domwatch token create --name NAME --scope read|fix`."
        );
        return Ok(());
    }
    let when = |t: Option<chrono::DateTime<chrono::Utc>>| {
        t.map(|t| t.format("%Y-%m-%d %H:%M").to_string())
            .unwrap_or_else(|| "-".into())
    };
    let left = |h| (h, Align::Left);
    let mut table = Table::new(&[
        left("name"),
        left("scope"),
        left("created"),
        left("last used"),
        left("revoked"),
    ]);
    for t in &tokens {
        table.row([
            t.name.clone(),
            t.scope.clone(),
            when(Some(t.created_at)),
            when(t.last_used_at),
            when(t.revoked_at),
        ]);
    }
    table.print();
    Ok(())
}

async fn revoke(args: RevokeArgs) -> anyhow::Result<()> {
    let store = store(&args.common).await?;
    if store
        .revoke_api_token(&args.name, chrono::Utc::now())
        .await?
    {
        println!("Token `{}` revoked.", escape(&args.name));
        return Ok(());
    }
    anyhow::bail!(
        "no active token named `{}`: see `domwatch token list`",
        escape(&args.name)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_names_are_plain() {
        assert!(check_name("whmcs-addon.prod_1").is_ok());
        for bad in [
            "",
            "with space",
            "semi;colon",
            "\u{1b}[31mred",
            &"x".repeat(65),
        ] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
    }
}
