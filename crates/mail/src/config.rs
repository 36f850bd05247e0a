//! Mail settings from the `[notices]` section: the SMTP server, the sender and the recipients.

use std::fmt;
use std::time::Duration;

use lettre::message::Mailbox;
use lettre::Address;
use url::Url;

use crate::MailError;

pub(crate) const KEY_SMTP_URL: &str = "notices.smtp_url";
pub(crate) const KEY_MAIL_FROM: &str = "notices.mail_from";
pub(crate) const KEY_MAIL_TO: &str = "notices.mail_to";

const URL_FORMS: &str = "write it as smtp://host:25, smtp://user:password@host:587?tls=required \
     (STARTTLS) or smtps://user:password@host:465 (TLS); percent-encode special characters \
     in the user and password (`@` is %40)";
const ADDRESS_FORMS: &str = "write it as ops@example.com or \"Ops <ops@example.com>\"";

/// How the connection to the SMTP server is protected, from the URL's scheme and `?tls=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// `smtp://host` — plain SMTP, default port 25.
    Plain,
    /// `smtp://host?tls=required` — STARTTLS or fail, default port 587.
    StartTlsRequired,
    /// `smtp://host?tls=opportunistic` — STARTTLS when offered, default port 587.
    StartTlsOpportunistic,
    /// `smtps://host` — TLS from the first byte, default port 465.
    Tls,
}

impl SmtpSecurity {
    fn default_port(self) -> u16 {
        match self {
            SmtpSecurity::Plain => 25,
            SmtpSecurity::StartTlsRequired | SmtpSecurity::StartTlsOpportunistic => 587,
            SmtpSecurity::Tls => 465,
        }
    }

    fn describe(self) -> &'static str {
        match self {
            SmtpSecurity::Plain => "unencrypted",
            SmtpSecurity::StartTlsRequired => "STARTTLS required",
            SmtpSecurity::StartTlsOpportunistic => "STARTTLS if offered",
            SmtpSecurity::Tls => "TLS",
        }
    }
}

/// The SMTP server URL (`notices.smtp_url`), in the forms lettre's
/// `AsyncSmtpTransport::from_url` accepts:
///
/// | URL | connection | default port |
/// | --- | --- | --- |
/// | `smtp://host` | plain SMTP | 25 |
/// | `smtp://host?tls=required` | STARTTLS, fails if the server does not offer it | 587 |
/// | `smtp://host?tls=opportunistic` | STARTTLS when offered, else plain | 587 |
/// | `smtps://host` | TLS from the start (SMTPS) | 465 |
///
/// `user:password@` before the host turns on AUTH (PLAIN or LOGIN); special characters in
/// both must be percent-encoded. A path (`smtp://host:25/client.example`) sets the EHLO name,
/// which is otherwise this machine's hostname. Certificates are checked against the webpki
/// roots. `Debug` and `Display` show the URL with the password as `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpUrl {
    url: Url,
    security: SmtpSecurity,
}

impl SmtpUrl {
    /// Checks `notices.smtp_url`; the error names the key and the accepted forms, and never
    /// repeats the text (it may hold a password).
    pub fn parse(text: &str) -> Result<Self, MailError> {
        let invalid = |problem: String| MailError::Config {
            key: KEY_SMTP_URL,
            problem,
            fix: URL_FORMS,
        };
        let url = Url::parse(text.trim()).map_err(|e| invalid(format!("is not a URL ({e})")))?;
        if !matches!(url.scheme(), "smtp" | "smtps") {
            // Not echoed: in `user:password@host` the password would parse as a path.
            return Err(invalid(
                "does not start with smtp:// or smtps://, the schemes domwatch sends over".into(),
            ));
        }
        let redacted = redact(&url);

        let mut tls = None;
        for (name, value) in url.query_pairs() {
            if name != "tls" || tls.is_some() {
                return Err(invalid(format!(
                    "{redacted} has the query parameter `{name}`; only one `tls` is understood"
                )));
            }
            tls = Some(value.into_owned());
        }
        let security = match (url.scheme(), tls.as_deref()) {
            ("smtps", None) => SmtpSecurity::Tls,
            ("smtps", Some(_)) => {
                return Err(invalid(format!(
                    "{redacted}: smtps:// is always TLS, `?tls=` does not apply; drop it"
                )))
            }
            (_, None) => SmtpSecurity::Plain,
            (_, Some("required")) => SmtpSecurity::StartTlsRequired,
            (_, Some("opportunistic")) => SmtpSecurity::StartTlsOpportunistic,
            (_, Some(other)) => {
                return Err(invalid(format!(
                    "{redacted} has `tls={other}`; use tls=required or tls=opportunistic"
                )))
            }
        };

        match url.host_str() {
            None | Some("") => return Err(invalid(format!("{redacted} names no server"))),
            // smtp:// is no "special" URL scheme, so a non-ASCII host stays percent-encoded
            // and would never resolve.
            Some(host) if host.contains('%') => {
                return Err(invalid(format!(
                    "{redacted}: write the server name in ASCII (punycode, e.g. xn--mller-kva.de \
                     for müller.de)"
                )))
            }
            Some(_) => {}
        }
        // lettre would silently skip AUTH without a password: a login alone is a mistake.
        if url.username().is_empty() != url.password().is_none() {
            return Err(invalid(format!(
                "{redacted} has a user without a password or a password without a user; \
                 give both (smtp://user:password@host) or neither"
            )));
        }
        if url.fragment().is_some() {
            return Err(invalid(format!(
                "{redacted} ends in a `#fragment`; remove it"
            )));
        }
        Ok(SmtpUrl { url, security })
    }

    /// The URL with the password replaced by `***`, for logs and errors.
    pub fn redacted(&self) -> String {
        redact(&self.url)
    }

    /// `host:port` of the server (the port filled in from the scheme when not given).
    pub fn server(&self) -> String {
        let host = self.url.host_str().unwrap_or_default();
        let port = self
            .url
            .port()
            .unwrap_or_else(|| self.security.default_port());
        format!("{host}:{port}")
    }

    pub fn security(&self) -> SmtpSecurity {
        self.security
    }

    /// Whether the URL carries a login (AUTH is used).
    pub fn has_credentials(&self) -> bool {
        self.url.password().is_some()
    }

    /// The password as written in the URL (percent-encoded) and decoded, to scrub from any
    /// text a server sends back.
    pub(crate) fn password_forms(&self) -> Vec<String> {
        let Some(encoded) = self.url.password() else {
            return Vec::new();
        };
        let mut forms = vec![encoded.to_owned()];
        if let Ok(decoded) = percent_decode(encoded) {
            if decoded != encoded {
                forms.push(decoded);
            }
        }
        forms
    }

    /// The full URL, password included: only for handing to lettre.
    pub(crate) fn expose(&self) -> &str {
        self.url.as_str()
    }
}

impl fmt::Debug for SmtpUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SmtpUrl({})", self.redacted())
    }
}

impl fmt::Display for SmtpUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl fmt::Display for SmtpSecurity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

fn redact(url: &Url) -> String {
    let mut shown = url.clone();
    if shown.password().is_some() {
        // Cannot fail: the URL already has a host, or it would have no password.
        let _ = shown.set_password(Some("***"));
    }
    shown.to_string()
}

fn percent_decode(text: &str) -> Result<String, ()> {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).map_err(|_| ())?;
            decoded.push(u8::from_str_radix(hex, 16).map_err(|_| ())?);
            i += 3;
        } else {
            decoded.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(decoded).map_err(|_| ())
}

/// Everything [`SmtpMailer`](crate::SmtpMailer) needs.
#[derive(Debug, Clone)]
pub struct MailConfig {
    pub smtp_url: SmtpUrl,
    pub from: Mailbox,
    pub to: Vec<Mailbox>,
    /// Bound on one whole send (connect, dialogue, data); past it the send fails as
    /// [`MailError::Timeout`].
    pub timeout: Duration,
}

impl MailConfig {
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

    /// Builds the config from the `[notices]` keys `smtp_url`, `mail_from` and `mail_to`,
    /// with [`Self::DEFAULT_TIMEOUT`]. Addresses may be `ops@example.com` or
    /// `Ops <ops@example.com>`; an internationalised domain (`ops@müller.de`) is sent in its
    /// ASCII form (`ops@xn--mller-kva.de`), so no SMTPUTF8 is needed.
    pub fn from_settings<S: AsRef<str>>(
        smtp_url: &str,
        mail_from: &str,
        mail_to: &[S],
    ) -> Result<Self, MailError> {
        let smtp_url = SmtpUrl::parse(smtp_url)?;
        let from = parse_mailbox(KEY_MAIL_FROM, mail_from)?;
        let to = mail_to
            .iter()
            .map(|address| parse_mailbox(KEY_MAIL_TO, address.as_ref()))
            .collect::<Result<Vec<_>, _>>()?;
        if to.is_empty() {
            return Err(MailError::Config {
                key: KEY_MAIL_TO,
                problem: "lists no recipient".into(),
                fix: "list at least one address: mail_to = [\"ops@example.com\"]",
            });
        }
        Ok(MailConfig {
            smtp_url,
            from,
            to,
            timeout: Self::DEFAULT_TIMEOUT,
        })
    }

    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

/// Parses one address of `key`, turning an internationalised domain into its ASCII form.
pub(crate) fn parse_mailbox(key: &'static str, text: &str) -> Result<Mailbox, MailError> {
    let bad = |problem: String, fix: &'static str| MailError::BadAddress {
        key,
        address: text.to_owned(),
        problem,
        fix,
    };
    let mailbox: Mailbox = text
        .trim()
        .parse()
        .map_err(|e| bad(format!("{e}"), ADDRESS_FORMS))?;
    if !mailbox.email.user().is_ascii() {
        return Err(bad(
            "the part before @ is not ASCII, which needs SMTPUTF8".into(),
            "use an address whose part before @ is ASCII",
        ));
    }
    let domain = mailbox.email.domain();
    if domain.is_ascii() {
        return Ok(mailbox);
    }
    let ascii_domain = idna::domain_to_ascii(domain).map_err(|e| {
        bad(
            format!("the domain is not a valid IDN ({e})"),
            ADDRESS_FORMS,
        )
    })?;
    let email = Address::new(mailbox.email.user(), ascii_domain)
        .map_err(|e| bad(format!("{e}"), ADDRESS_FORMS))?;
    Ok(Mailbox::new(mailbox.name, email))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url_error(text: &str) -> String {
        SmtpUrl::parse(text).unwrap_err().to_string()
    }

    #[test]
    fn accepts_the_forms_lettre_understands() {
        let cases = [
            (
                "smtp://mail.example",
                SmtpSecurity::Plain,
                "mail.example:25",
            ),
            (
                "smtp://u:p@mail.example:2525",
                SmtpSecurity::Plain,
                "mail.example:2525",
            ),
            (
                "smtp://mail.example?tls=required",
                SmtpSecurity::StartTlsRequired,
                "mail.example:587",
            ),
            (
                "smtp://mail.example?tls=opportunistic",
                SmtpSecurity::StartTlsOpportunistic,
                "mail.example:587",
            ),
            (
                "smtps://u:p@mail.example",
                SmtpSecurity::Tls,
                "mail.example:465",
            ),
        ];
        for (text, security, server) in cases {
            let url = SmtpUrl::parse(text).unwrap();
            assert_eq!(url.security(), security, "{text}");
            assert_eq!(url.server(), server, "{text}");
        }
    }

    #[test]
    fn password_is_redacted_in_debug_display_and_describe() {
        let url = SmtpUrl::parse("smtp://mailer:s3cret%40x@mail.example:587?tls=required").unwrap();
        assert_eq!(
            url.redacted(),
            "smtp://mailer:***@mail.example:587?tls=required"
        );
        assert_eq!(url.to_string(), url.redacted());
        assert!(!format!("{url:?}").contains("s3cret"));
        assert_eq!(url.password_forms(), vec!["s3cret%40x", "s3cret@x"]);
        assert!(url.has_credentials());
        let config = MailConfig::from_settings(
            "smtp://mailer:s3cret@mail.example",
            "domwatch@example.com",
            &["ops@example.com"],
        )
        .unwrap();
        assert!(!format!("{config:?}").contains("s3cret"));
    }

    #[test]
    fn url_errors_name_the_key_and_the_fix_without_the_password() {
        for (text, expected) in [
            ("mail example", "is not a URL"),
            ("u:s3cret@mail.example", "does not start with smtp://"),
            (
                "http://u:s3cret@mail.example",
                "does not start with smtp://",
            ),
            ("smtp://u:s3cret@mail.example?tls=starttls", "tls=required"),
            ("smtps://u:s3cret@mail.example?tls=required", "drop it"),
            (
                "smtp://u:s3cret@mail.example?port=25",
                "query parameter `port`",
            ),
            ("smtp://u@mail.example", "without a password"),
            ("smtp://mail.müller.de", "punycode"),
            ("smtp://u:s3cret@mail.example#x", "fragment"),
        ] {
            let message = url_error(text);
            assert!(message.contains("`notices.smtp_url`"), "{message}");
            assert!(message.contains(expected), "{text}: {message}");
            assert!(
                message.contains("smtps://user:password@host:465"),
                "{message}"
            );
            assert!(!message.contains("s3cret"), "{message}");
        }
    }

    #[test]
    fn idn_domains_become_ascii_and_names_stay_utf8() {
        let mailbox = parse_mailbox(KEY_MAIL_TO, "Jörg Müller <jörg@müller.de>");
        let error = mailbox.unwrap_err();
        assert!(error.to_string().contains("not ASCII"), "{error}");

        let mailbox = parse_mailbox(KEY_MAIL_TO, "Jörg Müller <joerg@müller.de>").unwrap();
        assert_eq!(mailbox.email.to_string(), "joerg@xn--mller-kva.de");
        assert_eq!(mailbox.name.as_deref(), Some("Jörg Müller"));
    }

    #[test]
    fn address_errors_name_the_key() {
        let error =
            MailConfig::from_settings("smtp://mail.example", "nobody", &["ops@example.com"])
                .unwrap_err();
        let message = error.to_string();
        assert!(
            message.contains("`notices.mail_from` = `nobody`"),
            "{message}"
        );
        assert!(message.contains("ops@example.com"), "{message}");

        let error =
            MailConfig::from_settings("smtp://mail.example", "domwatch@example.com", &["ops@"])
                .unwrap_err();
        assert!(
            error.to_string().contains("`notices.mail_to` = `ops@`"),
            "{error}"
        );

        let none: [&str; 0] = [];
        let error = MailConfig::from_settings("smtp://mail.example", "domwatch@example.com", &none)
            .unwrap_err();
        assert!(
            error
                .to_string()
                .contains("`notices.mail_to`: lists no recipient"),
            "{error}"
        );
    }
}
