//! The commented `domwatch.toml` that `domwatch init` writes: what was given is set, the
//! rest is shown commented out with its default, and secrets are never written inline
//! (a `*_file` path, the environment or a systemd credential holds them).

use std::fmt::Write;
use std::path::PathBuf;

/// What `init` learned from flags and questions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Answers {
    pub database_url: Option<String>,
    pub whmcs: Option<WhmcsAnswers>,
    pub registrars: Vec<RegistrarAnswers>,
    pub mail: Option<MailAnswers>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WhmcsAnswers {
    pub url: String,
    pub identifier: String,
    pub secret_file: Option<PathBuf>,
    pub database_url_file: Option<PathBuf>,
    pub bot_client_id: Option<u64>,
    pub ticket_department_id: Option<u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegistrarAnswers {
    pub name: String,
    /// cnr | ispapi | smartnic
    pub dialect: String,
    /// live | ote
    pub environment: String,
    pub login: String,
    pub password_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MailAnswers {
    pub from: String,
    pub to: Vec<String>,
    pub smtp_url_file: Option<PathBuf>,
}

/// A TOML string literal.
fn quoted(text: &str) -> String {
    toml::Value::String(text.to_string()).to_string()
}

fn path(p: &std::path::Path) -> String {
    quoted(&p.to_string_lossy())
}

/// The environment variable a secret can come from, e.g. `DOMWATCH_WHMCS_SECRET`.
fn env_name(parts: &[&str]) -> String {
    let mut name = String::from("DOMWATCH");
    for part in parts {
        name.push('_');
        name.extend(part.chars().map(|c| match c {
            c if c.is_ascii_alphanumeric() => c.to_ascii_uppercase(),
            _ => '_',
        }));
    }
    name
}

/// Where a secret comes from when no file is named: a comment with the three sources.
fn secret_sources(out: &mut String, key: &str, env: &str) {
    let credential = env.to_ascii_lowercase();
    let file = credential.trim_start_matches("domwatch_");
    let _ = writeln!(
        out,
        "# {key}: from {env}(_FILE), or as the systemd service from\n\
         #   /etc/domwatch/credentials/{file} (read as $CREDENTIALS_DIRECTORY/{credential}),\n\
         #   or name a file here:\n# {key}_file = \"/path/to/{file}\""
    );
}

pub fn render(answers: &Answers) -> String {
    let mut out = String::from(
        "# domwatch configuration, written by `domwatch init`.\n\
         # Every key can also come from the environment (DOMWATCH_…); secrets from files\n\
         # (*_file, DOMWATCH_…_FILE) or systemd credentials. Check it with `domwatch doctor`.\n\
         # Without [whmcs] and [registrars] domwatch runs on its embedded sandboxes.\n\n",
    );
    let database = answers
        .database_url
        .as_deref()
        .unwrap_or("sqlite://domwatch.db");
    let _ = writeln!(
        out,
        "# domwatch's own store: sqlite://path or postgres://user@host/db\ndatabase_url = {}\n",
        quoted(database)
    );
    whmcs_section(&mut out, answers.whmcs.as_ref());
    registrar_sections(&mut out, &answers.registrars);
    notices_section(&mut out, answers.mail.as_ref());
    out.push_str(DEFAULTS);
    out
}

fn whmcs_section(out: &mut String, whmcs: Option<&WhmcsAnswers>) {
    let Some(w) = whmcs else {
        out.push_str(
            "# The billing system:\n# [whmcs]\n# url = \"https://billing.example.com\"\n\
             # identifier = \"API-IDENTIFIER\"\n\
             # The secret: /etc/domwatch/credentials/whmcs_secret for the systemd service,\n\
             # else DOMWATCH_WHMCS_SECRET(_FILE) or secret_file = \"/path/to/whmcs_secret\"\n\n",
        );
        return;
    };
    let _ = writeln!(
        out,
        "[whmcs]\nurl = {}\nidentifier = {}",
        quoted(&w.url),
        quoted(&w.identifier)
    );
    match &w.secret_file {
        Some(file) => {
            let _ = writeln!(out, "secret_file = {}", path(file));
        }
        None => secret_sources(out, "secret", &env_name(&["WHMCS", "SECRET"])),
    }
    match &w.database_url_file {
        Some(file) => {
            let _ = writeln!(out, "database_url_file = {}", path(file));
        }
        None => out.push_str(
            "# Optional, for to-dos and premium data: mysql://user:password@host/whmcs\n\
             # database_url_file = \"/path/to/whmcs_database_url\"\n\
             # (or /etc/domwatch/credentials/whmcs_database_url for the systemd service)\n",
        ),
    }
    out.push_str(
        "# With the database, the billing snapshot and invoices are read from it (\"api\": not)\n\
         # read_from = \"database\"\n",
    );
    match (w.bot_client_id, w.ticket_department_id) {
        (Some(bot), Some(department)) => {
            let _ = writeln!(
                out,
                "bot_client_id = {bot}\nticket_department_id = {department}"
            );
        }
        _ => out.push_str(
            "# Admin tickets are opened as this WHMCS client in this department:\n\
             # bot_client_id = 99\n# ticket_department_id = 2\n",
        ),
    }
    out.push('\n');
}

fn registrar_sections(out: &mut String, registrars: &[RegistrarAnswers]) {
    if registrars.is_empty() {
        out.push_str(
            "# One section per registrar account:\n# [registrars.cnr-live]\n\
             # dialect = \"cnr\"            # cnr | ispapi | smartnic\n\
             # environment = \"live\"       # live | ote\n# login = \"reseller1\"\n\
             # password: /etc/domwatch/credentials/registrar_cnr_live_password (systemd service)\n\
             # or password_file = \"/path/to/registrar_cnr_live_password\"\n\n",
        );
        return;
    }
    for r in registrars {
        let _ = writeln!(
            out,
            "[registrars.{}]\ndialect = {}  # cnr | ispapi | smartnic\n\
             environment = {}  # live | ote\nlogin = {}",
            quoted(&r.name),
            quoted(&r.dialect),
            quoted(&r.environment),
            quoted(&r.login)
        );
        match &r.password_file {
            Some(file) => {
                let _ = writeln!(out, "password_file = {}", path(file));
            }
            None => secret_sources(
                out,
                "password",
                &env_name(&["REGISTRAR", &r.name, "PASSWORD"]),
            ),
        }
        out.push_str(
            "# modules = [\"cnic\"]           # WHMCS registrar modules of this account\n\
             # auto_delete = \"ticket\"       # disabled | ticket | enabled\n\n",
        );
    }
}

fn notices_section(out: &mut String, mail: Option<&MailAnswers>) {
    let Some(m) = mail else {
        out.push_str(
            "# domwatch's own e-mail after each cycle:\n# [notices]\n\
             # smtp_url_file = \"/path/to/smtp_url\"   # smtp://user:pw@host:587?tls=required\n\
             # mail_from = \"domwatch@example.com\"\n# mail_to = [\"admin@example.com\"]\n\n",
        );
        return;
    };
    let to: Vec<String> = m.to.iter().map(|t| quoted(t)).collect();
    let _ = writeln!(
        out,
        "[notices]\nmail_from = {}\nmail_to = [{}]",
        quoted(&m.from),
        to.join(", ")
    );
    match &m.smtp_url_file {
        Some(file) => {
            let _ = writeln!(out, "smtp_url_file = {}", path(file));
        }
        None => secret_sources(out, "smtp_url", &env_name(&["SMTP", "URL"])),
    }
    out.push('\n');
}

/// The sections left at their defaults, shown for reference.
const DEFAULTS: &str = "\
# Margins (defaults shown):
# [pricing]
# markup_percent = 25
# min_margin_percent = 10

# The dashboard and scheduler of `domwatch serve`:
# [serve]
# listen = \"127.0.0.1:8400\"
# interval_minutes = 60
# lease_seconds = 30          # several instances on one PostgreSQL: one leads (README)
# admin_user = \"admin\"
# admin_password_hash_file = \"/path/to/admin_password_hash\"   # domwatch hash-password

# Case changes posted to a receiver, signed (README \"Webhooks\"); format = \"text\" for
# Slack, Mattermost or Teams:
# [[webhooks]]
# url = \"https://hooks.example.com/domwatch\"
# secret_file = \"/path/to/webhook_secret\"
";
