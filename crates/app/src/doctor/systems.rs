//! The other lines of `doctor`: domwatch's own store, each registrar account, SMTP.

use super::report::Check;
use domwatch_engine::Account;
use domwatch_mail::{MailConfig, SmtpMailer};
use domwatch_store::Store;

/// Opening the store runs its migrations: this is the check that they apply.
pub async fn store_check(url: &str) -> Check {
    let shown = domwatch_store::redact_url(url);
    match Store::connect(url).await {
        Ok(store) => {
            store.close().await;
            Check::ok("store", "migrate", format!("{shown} opens and is migrated"))
        }
        Err(e) => Check::fail(
            "store",
            "migrate",
            format!("{shown}: {e}"),
            "check database_url (sqlite://path or postgres://user@host/db), that the database \
             exists and that this user may create tables in it"
                .into(),
        ),
    }
}

/// One cheap read per account, on the environment it is configured for.
pub async fn registrar_checks(accounts: &[(&Account, String)]) -> Vec<Check> {
    let mut checks = Vec::new();
    for (account, environment) in accounts {
        let system = format!("registrar {}", account.name);
        checks.push(match account.port.check_login().await {
            Ok(()) => Check::ok(&system, "login", format!("logs in on {environment}")),
            Err(e) => {
                let fix = if e.is_retryable() {
                    format!(
                        "check that this host reaches the registrar (registrars.{}.environment \
                         and endpoint, firewall, DNS)",
                        account.name
                    )
                } else {
                    format!(
                        "check registrars.{}.login and its password (OT&E and live logins \
                         differ; `environment` picks the system)",
                        account.name
                    )
                };
                Check::fail(
                    &system,
                    "login",
                    format!("cannot log in on {environment}: {e}"),
                    fix,
                )
            }
        });
    }
    checks
}

/// Connects, logs in and says NOOP; sends nothing.
pub async fn smtp_check(mail: Option<&MailConfig>) -> Check {
    let Some(mail) = mail else {
        return Check::skip(
            "smtp",
            "login",
            "notices.smtp_url is not set: domwatch sends no e-mail of its own".into(),
        );
    };
    let server = mail.smtp_url.redacted();
    let outcome = match SmtpMailer::new(mail.clone()) {
        Ok(mailer) => mailer.check_login().await,
        Err(e) => Err(e),
    };
    match outcome {
        Ok(()) => Check::ok(
            "smtp",
            "login",
            format!("{server} is reachable and accepts the login"),
        ),
        Err(e) => Check::fail(
            "smtp",
            "login",
            e.to_string(),
            "check notices.smtp_url: host, port, TLS mode (?tls=required, smtps://) and the \
             user and password"
                .into(),
        ),
    }
}
