//! `domwatch init`: writes a commented `domwatch.toml` from flags, asking on a terminal for
//! what is missing (never with `--yes` or when stdin is not a terminal). An existing file
//! is replaced only with `--force`. The file is checked with the configuration loader
//! before it is written.

mod template;

use anyhow::{bail, Context};
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use template::{Answers, MailAnswers, RegistrarAnswers, WhmcsAnswers};

#[derive(Debug, clap::Args)]
pub struct InitArgs {
    /// Where to write the file.
    #[arg(long, default_value = "domwatch.toml")]
    path: PathBuf,
    /// Replace an existing file.
    #[arg(long)]
    force: bool,
    /// Ask nothing: write what the flags say (the rest stays commented out).
    #[arg(long, short = 'y')]
    yes: bool,
    /// domwatch's own store (default sqlite://domwatch.db).
    #[arg(long)]
    database_url: Option<String>,
    /// WHMCS root URL, e.g. https://billing.example.com
    #[arg(long)]
    whmcs_url: Option<String>,
    /// WHMCS API credential identifier.
    #[arg(long)]
    whmcs_identifier: Option<String>,
    /// A file holding the WHMCS API secret (else the environment or a systemd credential).
    #[arg(long)]
    whmcs_secret_file: Option<PathBuf>,
    /// A file holding the WHMCS database URL (mysql://…), for to-dos and premium data.
    #[arg(long)]
    whmcs_database_url_file: Option<PathBuf>,
    /// WHMCS client that opens admin tickets (needs --ticket-department-id).
    #[arg(long, requires = "ticket_department_id")]
    bot_client_id: Option<u64>,
    #[arg(long, requires = "bot_client_id")]
    ticket_department_id: Option<u64>,
    /// A registrar account as NAME:DIALECT:LOGIN[:ENVIRONMENT], e.g.
    /// cnr-live:cnr:reseller1:live (dialect cnr|ispapi|smartnic, environment live|ote);
    /// repeatable.
    #[arg(long = "registrar", value_parser = parse_registrar)]
    registrars: Vec<RegistrarAnswers>,
    /// A directory of secret files: the file names whmcs_secret,
    /// registrar_<name>_password and smtp_url there (else: environment or credentials).
    #[arg(long)]
    secrets_dir: Option<PathBuf>,
    /// Send the digest mail to this address; repeatable (needs an SMTP URL).
    #[arg(long = "mail-to")]
    mail_to: Vec<String>,
    /// Sender of domwatch's own mail (default domwatch@<host of the first --mail-to>).
    #[arg(long)]
    mail_from: Option<String>,
}

fn parse_registrar(spec: &str) -> Result<RegistrarAnswers, String> {
    let parts: Vec<&str> = spec.split(':').collect();
    let (name, dialect, login, environment) = match parts.as_slice() {
        [n, d, l] => (*n, *d, *l, "live"),
        [n, d, l, e] => (*n, *d, *l, *e),
        _ => {
            return Err(
                "write NAME:DIALECT:LOGIN[:ENVIRONMENT], e.g. cnr-live:cnr:reseller1".into(),
            )
        }
    };
    if !matches!(dialect, "cnr" | "ispapi" | "smartnic") {
        return Err(format!("dialect `{dialect}`: use cnr, ispapi or smartnic"));
    }
    if !matches!(environment, "live" | "ote") {
        return Err(format!("environment `{environment}`: use live or ote"));
    }
    if name.is_empty() || login.is_empty() {
        return Err("the account name and login must not be empty".into());
    }
    Ok(RegistrarAnswers {
        name: name.into(),
        dialect: dialect.into(),
        environment: environment.into(),
        login: login.into(),
        password_file: None,
    })
}

pub fn run(args: InitArgs) -> anyhow::Result<()> {
    if args.path.exists() && !args.force {
        bail!(
            "{} exists: pass --force to replace it, or --path to write elsewhere",
            args.path.display()
        );
    }
    let interactive = !args.yes && std::io::stdin().is_terminal();
    let mut answers = from_flags(&args);
    if interactive {
        ask_missing(&mut answers, &mut std::io::stdin().lock())?;
    }
    let text = template::render(&answers);
    crate::config::RawConfig::from_toml(&text)
        .context("the file init would write does not parse (a bug in init)")?;
    write_file(&args.path, &text, args.force)?;
    println!("wrote {}", args.path.display());
    println!(
        "next: put the secrets where the comments say, then run `domwatch doctor --config {}`",
        args.path.display()
    );
    Ok(())
}

fn from_flags(args: &InitArgs) -> Answers {
    let secret = |name: &str| args.secrets_dir.as_ref().map(|dir| dir.join(name));
    let whmcs = args.whmcs_url.as_ref().map(|url| WhmcsAnswers {
        url: url.clone(),
        identifier: args.whmcs_identifier.clone().unwrap_or_default(),
        secret_file: args
            .whmcs_secret_file
            .clone()
            .or_else(|| secret("whmcs_secret")),
        database_url_file: args.whmcs_database_url_file.clone(),
        bot_client_id: args.bot_client_id,
        ticket_department_id: args.ticket_department_id,
    });
    let registrars = args
        .registrars
        .iter()
        .map(|r| RegistrarAnswers {
            password_file: secret(&format!("registrar_{}_password", file_part(&r.name))),
            ..r.clone()
        })
        .collect();
    let mail = (!args.mail_to.is_empty()).then(|| MailAnswers {
        from: args.mail_from.clone().unwrap_or_else(|| {
            let host = args.mail_to[0].rsplit('@').next().unwrap_or("localhost");
            format!("domwatch@{host}")
        }),
        to: args.mail_to.clone(),
        smtp_url_file: secret("smtp_url"),
    });
    Answers {
        database_url: args.database_url.clone(),
        whmcs,
        registrars,
        mail,
    }
}

/// `cnr-live` → `cnr_live`, as the environment and credential names spell it.
fn file_part(name: &str) -> String {
    name.chars()
        .map(|c| match c {
            c if c.is_ascii_alphanumeric() => c.to_ascii_lowercase(),
            _ => '_',
        })
        .collect()
}

/// Asks for what the flags left out; an empty answer keeps the default.
fn ask_missing(answers: &mut Answers, input: &mut impl BufRead) -> anyhow::Result<()> {
    if answers.whmcs.is_none() {
        let url = ask(input, "WHMCS URL (empty: the embedded sandboxes)", "")?;
        if !url.is_empty() {
            answers.whmcs = Some(WhmcsAnswers {
                url,
                ..WhmcsAnswers::default()
            });
        }
    }
    if let Some(whmcs) = answers.whmcs.as_mut() {
        if whmcs.identifier.is_empty() {
            whmcs.identifier = ask(input, "WHMCS API identifier", "")?;
        }
        if whmcs.secret_file.is_none() {
            let file = ask(
                input,
                "File with the WHMCS API secret (empty: environment or systemd credential)",
                "",
            )?;
            whmcs.secret_file = (!file.is_empty()).then(|| PathBuf::from(file));
        }
    }
    if answers.whmcs.is_some() && answers.registrars.is_empty() {
        loop {
            let spec = ask(
                input,
                "Registrar account NAME:DIALECT:LOGIN[:ENVIRONMENT] (empty: done)",
                "",
            )?;
            if spec.is_empty() {
                break;
            }
            match parse_registrar(&spec) {
                Ok(account) => answers.registrars.push(account),
                Err(e) => eprintln!("  {e}"),
            }
        }
    }
    Ok(())
}

fn ask(input: &mut impl BufRead, question: &str, default: &str) -> anyhow::Result<String> {
    eprint!("{question}: ");
    std::io::stderr().flush().ok();
    let mut line = String::new();
    input.read_line(&mut line).context("reading the answer")?;
    let answer = line.trim();
    Ok(if answer.is_empty() { default } else { answer }.to_string())
}

/// Writes the file; without `force` only when it does not exist (checked again at create).
fn write_file(path: &Path, text: &str, force: bool) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    if force {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    file.write_all(text.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests;
