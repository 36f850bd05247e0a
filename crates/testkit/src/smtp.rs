//! A minimal SMTP sink: takes every mail (no TLS, no AUTH) and keeps it in memory, so the
//! fault matrix can put a [`FaultProxy`](crate::FaultProxy) between domwatch's mailer and a
//! server without Python. Tests of the SMTP dialogue itself use the real aiosmtpd
//! (`domwatch_mail::test_support`).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// A running sink; stops when dropped.
pub struct SmtpSink {
    addr: SocketAddr,
    mails: Arc<Mutex<Vec<String>>>,
    task: JoinHandle<()>,
}

impl SmtpSink {
    /// Listens on a free loopback port.
    pub async fn start() -> std::io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let mails = Arc::new(Mutex::new(Vec::new()));
        let kept = mails.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(session(stream, kept.clone()));
            }
        });
        Ok(SmtpSink { addr, mails, task })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every mail received (the DATA as sent, dot-unstuffed), oldest first.
    pub fn received(&self) -> Vec<String> {
        self.mails.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One SMTP session: greeting, then command by command until QUIT or the end of stream.
async fn session(stream: TcpStream, mails: Arc<Mutex<Vec<String>>>) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    if write.write_all(b"220 sink.test ESMTP\r\n").await.is_err() {
        return;
    }
    let mut line = String::new();
    loop {
        line.clear();
        if !matches!(lines.read_line(&mut line).await, Ok(n) if n > 0) {
            return;
        }
        let verb = line
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_uppercase();
        let reply: &[u8] = match verb.as_str() {
            "EHLO" => b"250-sink.test\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n",
            "HELO" | "MAIL" | "RCPT" | "RSET" | "NOOP" => b"250 OK\r\n",
            "QUIT" => {
                let _ = write.write_all(b"221 Bye\r\n").await;
                return;
            }
            "DATA" => {
                if write
                    .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                    .await
                    .is_err()
                {
                    return;
                }
                let Some(mail) = data(&mut lines).await else {
                    return;
                };
                mails.lock().unwrap_or_else(|p| p.into_inner()).push(mail);
                b"250 OK: queued\r\n"
            }
            _ => b"502 Command not implemented\r\n",
        };
        if write.write_all(reply).await.is_err() {
            return;
        }
    }
}

/// The message up to the lone dot; `None` when the stream ends first.
async fn data(lines: &mut BufReader<tokio::net::tcp::OwnedReadHalf>) -> Option<String> {
    let mut mail = String::new();
    let mut line = String::new();
    loop {
        line.clear();
        if !matches!(lines.read_line(&mut line).await, Ok(n) if n > 0) {
            return None;
        }
        if line == ".\r\n" || line == ".\n" {
            return Some(mail);
        }
        mail.push_str(line.strip_prefix('.').unwrap_or(&line));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domwatch_mail::{Mail, MailConfig, Mailer, SmtpMailer};

    #[tokio::test]
    async fn keeps_what_the_production_mailer_sends() {
        let sink = SmtpSink::start().await.unwrap();
        let config = MailConfig::from_settings(
            &format!("smtp://{}", sink.addr()),
            "domwatch@example.com",
            &["ops@example.com"],
        )
        .unwrap();
        let mailer = SmtpMailer::new(config).unwrap();
        mailer
            .send(&Mail::new("Digest", "2 new cases\n.dot line", "<d.1@test>"))
            .await
            .unwrap();
        let mails = sink.received();
        assert_eq!(mails.len(), 1);
        assert!(mails[0].contains("Subject: Digest"), "{}", mails[0]);
        assert!(mails[0].contains("\n.dot line"), "{}", mails[0]);
    }
}
