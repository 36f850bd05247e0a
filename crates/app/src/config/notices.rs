//! `[notices]`: admin-notice channels, domwatch's own e-mail and the registrar mail address.

use super::file::RawNotices;
use super::sources::{secret, Env};
use anyhow::{bail, Context};

/// Checks `registrar_mail` and builds the SMTP settings when `smtp_url` is given; sender
/// and recipients come with it or not at all.
pub(super) fn resolve_mail(
    notices: &RawNotices,
    env: &dyn Env,
) -> anyhow::Result<Option<domwatch_mail::MailConfig>> {
    if let Some(address) = &notices.registrar_mail {
        if !looks_like_mail_address(address) {
            bail!("`notices.registrar_mail` = `{address}` is not an e-mail address: use e.g. domains@reseller.example");
        }
    }
    let smtp_url = secret(
        env,
        &["SMTP_URL"],
        "notices.smtp_url",
        notices.smtp_url.as_ref(),
        notices.smtp_url_file.as_ref(),
    )?;
    let Some(url) = smtp_url else {
        if notices.mail_from.is_some() || !notices.mail_to.is_empty() {
            bail!("`notices.mail_from` / `notices.mail_to` are set but `notices.smtp_url` is not: add the SMTP server, e.g. smtp://user:password@mail.example:587?tls=required (or DOMWATCH_SMTP_URL(_FILE))");
        }
        return Ok(None);
    };
    let from = notices.mail_from.as_deref().context(
        "`notices.mail_from` is missing: the sender of domwatch's mails, e.g. domwatch@reseller.example",
    )?;
    if notices.mail_to.is_empty() {
        bail!("`notices.mail_to` is empty: list who gets domwatch's mails, e.g. [\"admin@reseller.example\"]");
    }
    let mail = domwatch_mail::MailConfig::from_settings(url.expose(), from, &notices.mail_to)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(Some(mail))
}

/// The admin-notice channels, best first; all three when none are listed.
pub(super) fn notice_channels(channels: Vec<String>) -> anyhow::Result<Vec<String>> {
    for c in &channels {
        if !matches!(c.as_str(), "todo" | "ticket" | "email") {
            bail!("`notices.channels` contains `{c}`: use todo, ticket or email");
        }
    }
    Ok(if channels.is_empty() {
        vec!["todo".into(), "ticket".into(), "email".into()]
    } else {
        channels
    })
}

fn looks_like_mail_address(address: &str) -> bool {
    match address.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty() && domain.contains('.') && !address.contains(char::is_whitespace)
        }
        None => false,
    }
}
