//! The `domwatch` command line.
//!
//! Each subcommand group lives in its own module: `sandbox` (the protocol sandboxes),
//! `registrar` (talk to a registrar account), `billing` (talk to WHMCS).

mod cli_billing;
mod cli_bulk_fix;
mod cli_cases;
mod cli_check_domains;
mod cli_common;
mod cli_filters;
mod cli_forecast;
mod cli_prices;
mod cli_registrar;
mod cli_sandbox;
mod cli_sandbox_registrar;
mod cli_sandbox_whmcs;
mod cli_serve;
mod cli_token;
mod config;
mod doctor;
mod init;
mod leader;
mod runtime;
mod table;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// domwatch watches every domain on both sides (billing system and registrars) and turns
/// drift between them into cases you can fix.
#[derive(Debug, Parser)]
#[command(name = "domwatch", version, about, long_about = None)]
struct Cli {
    /// Log filter, e.g. `info`, `domwatch=debug`. Also read from RUST_LOG.
    #[arg(long, global = true, env = "DOMWATCH_LOG", default_value = "info")]
    log: String,

    /// Log line format on stderr: `text` (coloured only when stderr is a terminal and
    /// NO_COLOR is unset) or `json` (one JSON object per line, for journald or a log
    /// shipper).
    #[arg(
        long,
        global = true,
        env = "DOMWATCH_LOG_FORMAT",
        value_enum,
        default_value = "text"
    )]
    log_format: LogFormat,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run one monitoring cycle: compare billing with every registrar, record cases, notify.
    ///
    /// Only domains whose inputs were all read completely get a verdict; a failed or
    /// cut-off answer takes its domains out of this cycle, and nothing about them changes.
    ///
    /// Exit codes: 0 everything was read and done; 2 partial: some domains were skipped
    /// (a registrar account or a look-up failed), an input failed and a fallback stood in,
    /// or a notice or automatic action failed; the rest was judged; 1 nothing usable
    /// (billing or every registrar unreadable, or a configuration error).
    Check(cli_cases::CheckArgs),
    /// List cases (open ones by default).
    Cases(cli_cases::CasesArgs),
    /// The renewal forecast the last check stored: due, billed, cost and margin for the
    /// next 30, 60, 90 or 365 days, per currency and registrar account, and the loss-makers.
    Forecast(cli_forecast::ForecastArgs),
    /// Show one case: guide, evidence, fix options, history.
    Case(cli_cases::CaseArgs),
    /// Fix now: apply a case's fix, or every case of a kind with --kind (--dry-run: the plan only).
    Fix(cli_cases::FixArgs),
    /// TLD price cases: WHMCS's TLD prices against the registrars' price lists; --fix N.
    TldPrices(cli_prices::TldPricesArgs),
    /// Serve the dashboard and run a monitoring check every `serve.interval_minutes`.
    Serve(cli_serve::ServeArgs),
    /// Write a commented domwatch.toml from flags (asking on a terminal for what is
    /// missing; nothing with --yes). An existing file is replaced only with --force.
    Init(init::InitArgs),
    /// Check every configured system (WHMCS API and database, registrars, SMTP, the store),
    /// one line per check with the fix to apply; writes nothing anywhere.
    ///
    /// Exit codes: 0 every check passed (warnings allowed); 1 a check failed.
    Doctor(doctor::DoctorArgs),
    /// Read a password from standard input and print its hash for `serve.admin_password_hash`.
    HashPassword,
    /// Run a sandbox server that speaks a registrar's or WHMCS's real protocol.
    #[command(subcommand)]
    Sandbox(cli_sandbox::SandboxCommand),
    /// Query a registrar account (CNR / ISPAPI).
    #[command(subcommand)]
    Registrar(cli_registrar::RegistrarCommand),
    /// Query the billing system (WHMCS).
    #[command(subcommand)]
    Billing(cli_billing::BillingCommand),
    /// API tokens for scripts and the WHMCS addon: create (shown once), list, revoke.
    #[command(subcommand)]
    Token(cli_token::TokenCommand),
}

/// Rust ignores SIGPIPE, so `domwatch cases | head` would panic on the closed pipe. A
/// command-line tool should end quietly there, like every other Unix tool.
fn restore_default_sigpipe() {
    #[cfg(unix)]
    // SAFETY: sets the process-wide disposition of SIGPIPE back to the default; no Rust
    // handler is installed, so no signal-safety rules apply.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

/// Colour codes only for a person at a terminal: a file, a pipe or journald gets plain
/// text. NO_COLOR (any non-empty value) turns colour off as well (no-color.org).
fn log_colour(stderr_is_terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    stderr_is_terminal && no_color.is_none_or(|v| v.is_empty())
}

fn init_tracing(filter: &str, format: LogFormat) {
    use std::io::IsTerminal;
    let filter = std::env::var("RUST_LOG").unwrap_or_else(|_| filter.to_string());
    let logs = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => logs
            .with_ansi(log_colour(
                std::io::stderr().is_terminal(),
                std::env::var_os("NO_COLOR").as_deref(),
            ))
            .init(),
        LogFormat::Json => logs.json().with_ansi(false).init(),
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<ExitCode> {
    restore_default_sigpipe();
    let cli = Cli::parse();
    init_tracing(&cli.log, cli.log_format);
    let done = match cli.command {
        Command::Check(args) => return cli_cases::check(args).await,
        Command::Cases(args) => cli_cases::cases(args).await,
        Command::Forecast(args) => return cli_forecast::forecast(args).await,
        Command::Case(args) => cli_cases::case(args).await,
        Command::Fix(args) => return cli_cases::fix(args).await,
        Command::TldPrices(args) => cli_prices::tld_prices(args).await,
        Command::Serve(args) => cli_serve::serve(args).await,
        Command::Init(args) => init::run(args),
        Command::Doctor(args) => return doctor::run(args).await,
        Command::HashPassword => cli_serve::hash_password(),
        Command::Sandbox(cmd) => cli_sandbox::run(cmd).await,
        Command::Registrar(cmd) => cli_registrar::run(cmd).await,
        Command::Billing(cmd) => cli_billing::run(cmd).await,
        Command::Token(cmd) => cli_token::run(cmd).await,
    };
    done.map(|()| ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;

    #[test]
    fn colour_only_at_a_terminal_without_no_color() {
        assert!(log_colour(true, None));
        assert!(log_colour(true, Some(OsStr::new(""))));
        assert!(!log_colour(true, Some(OsStr::new("1"))));
        assert!(!log_colour(false, None));
    }

    #[test]
    fn log_format_option_and_environment() {
        let cli = Cli::try_parse_from(["domwatch", "--log-format", "json", "cases"]).unwrap();
        assert_eq!(cli.log_format, LogFormat::Json);
        let cli = Cli::try_parse_from(["domwatch", "cases"]).unwrap();
        assert_eq!(cli.log_format, LogFormat::Text);
        assert!(Cli::try_parse_from(["domwatch", "--log-format", "xml", "cases"]).is_err());
    }
}
