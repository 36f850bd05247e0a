//! The mail domwatch sends, and its MIME form.

use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::Message;

use crate::MailError;

/// One mail from domwatch: a digest of new cases, or a note about a lifecycle action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    /// Any UTF-8; line breaks become spaces.
    pub subject: String,
    /// The plain-text body (UTF-8).
    pub text: String,
    /// An HTML rendering of the same content; with it the mail is `multipart/alternative`.
    pub html: Option<String>,
    /// `<unique@host>`, derived from what the mail is about (e.g.
    /// `<domwatch.digest.RUN@host>`), so a mail sent again after a crash carries the same ID
    /// and mail clients show it once.
    pub message_id: String,
}

impl Mail {
    pub fn new(
        subject: impl Into<String>,
        text: impl Into<String>,
        message_id: impl Into<String>,
    ) -> Self {
        Mail {
            subject: subject.into(),
            text: text.into(),
            html: None,
            message_id: message_id.into(),
        }
    }

    pub fn with_html(mut self, html: impl Into<String>) -> Self {
        self.html = Some(html.into());
        self
    }
}

/// Builds the RFC 5322 message: `Date` (now), `From`, `To`, `Message-ID`, `Subject`
/// (RFC 2047-encoded when not ASCII) and a UTF-8 body, `multipart/alternative` with html.
pub(crate) fn compose(mail: &Mail, from: &Mailbox, to: &[Mailbox]) -> Result<Message, MailError> {
    check_message_id(&mail.message_id)?;
    // A raw line break in a header would end it early.
    let subject = mail.subject.replace(['\r', '\n'], " ");
    let mut builder = Message::builder()
        .from(from.clone())
        .subject(subject)
        .message_id(Some(mail.message_id.clone()))
        .date_now();
    for recipient in to {
        builder = builder.to(recipient.clone());
    }
    // Both body forms set `MIME-Version: 1.0` and pick quoted-printable or base64, so the
    // message is ASCII on the wire and needs no 8BITMIME.
    let built = match &mail.html {
        None => builder.singlepart(SinglePart::plain(mail.text.clone())),
        Some(html) => builder.multipart(MultiPart::alternative_plain_html(
            mail.text.clone(),
            html.clone(),
        )),
    };
    built.map_err(|e| MailError::Compose {
        problem: e.to_string(),
    })
}

/// `<left@right>` in printable ASCII without spaces or further angle brackets (RFC 5322
/// msg-id, simplified).
fn check_message_id(id: &str) -> Result<(), MailError> {
    let inner = id.strip_prefix('<').and_then(|rest| rest.strip_suffix('>'));
    let well_formed = inner.is_some_and(|inner| {
        let mut halves = inner.split('@');
        let left = halves.next().unwrap_or_default();
        let right = halves.next().unwrap_or_default();
        halves.next().is_none()
            && !left.is_empty()
            && !right.is_empty()
            && inner
                .bytes()
                .all(|b| b.is_ascii_graphic() && !matches!(b, b'<' | b'>' | b'"' | b'\\'))
    });
    if well_formed {
        Ok(())
    } else {
        Err(MailError::Compose {
            problem: format!(
                "Message-ID `{id}` is not of the form <unique@host> (ASCII, no spaces), \
                 e.g. <domwatch.digest.42@domwatch.example>"
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mailbox(text: &str) -> Mailbox {
        text.parse().unwrap()
    }

    fn formatted(mail: &Mail) -> String {
        let message = compose(
            mail,
            &mailbox("domwatch <domwatch@example.com>"),
            &[
                mailbox("ops@example.com"),
                mailbox("Jörg <joerg@example.com>"),
            ],
        )
        .unwrap();
        String::from_utf8(message.formatted()).unwrap()
    }

    #[test]
    fn plain_mail_has_all_headers_and_an_encoded_utf8_subject() {
        let mail = Mail::new(
            "Domain müller.de\nexpires",
            "müller.de läuft ab",
            "<domwatch.digest.7@example.com>",
        );
        let text = formatted(&mail);
        assert!(
            text.contains("From: domwatch <domwatch@example.com>\r\n"),
            "{text}"
        );
        assert!(text.contains("To: ops@example.com, =?utf-8?"), "{text}");
        assert!(
            text.contains("Message-ID: <domwatch.digest.7@example.com>\r\n"),
            "{text}"
        );
        assert!(text.contains("Date: "), "{text}");
        assert!(text.contains("Subject: Domain =?utf-8?b?"), "{text}");
        assert!(text.contains("MIME-Version: 1.0\r\n"), "{text}");
        assert!(
            text.contains("Content-Type: text/plain; charset=utf-8"),
            "{text}"
        );
        assert!(
            text.is_ascii(),
            "transfer-encoded so no 8BITMIME is needed: {text}"
        );
    }

    #[test]
    fn html_makes_it_multipart_alternative() {
        let mail = Mail::new("s", "plain", "<a@b>").with_html("<p>html</p>");
        let text = formatted(&mail);
        assert!(
            text.contains("Content-Type: multipart/alternative;"),
            "{text}"
        );
        assert!(
            text.contains("Content-Type: text/html; charset=utf-8"),
            "{text}"
        );
    }

    #[test]
    fn malformed_message_ids_are_refused() {
        for id in [
            "",
            "a@b",
            "<ab>",
            "<a b@c>",
            "<a@b@c>",
            "<@b>",
            "<müller@de>",
        ] {
            let error = check_message_id(id).unwrap_err();
            assert!(error.to_string().contains("<unique@host>"), "{id}: {error}");
        }
        assert!(check_message_id("<domwatch.digest.2024-05-01T10:00Z@host.example>").is_ok());
    }
}
