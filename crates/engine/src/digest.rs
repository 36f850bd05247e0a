//! domwatch's own e-mail after a cycle: the digest of case openings no digest has covered
//! yet, and the lifecycle actions the scheduler took. SMTP has no idempotency, so this is
//! "at least once": cases are claimed in the store before sending and marked after; a crash
//! in between sends them again in the next digest (whose Message-ID names the same cases,
//! so a mail client can tell).

use crate::{CycleReport, Engine, EngineError};
use domwatch_core::plan::guide;
use domwatch_mail::Mail;
use domwatch_store::CaseRecord;
use std::collections::BTreeMap;
use std::fmt::Write;

/// Cases listed one by one; the rest are counted per kind (a first run can open thousands).
const LISTED_CASES: usize = 200;

impl Engine {
    pub(crate) async fn send_digest(
        &self,
        run_id: i64,
        report: &mut CycleReport,
    ) -> Result<(), EngineError> {
        let Some(mailer) = &self.notices.mailer else {
            return Ok(());
        };
        let cases = self
            .store
            .claim_digest(&format!("digest:run-{run_id}"), self.now())
            .await?;
        if cases.is_empty() && report.automatic_actions.is_empty() {
            return Ok(());
        }
        let mail = digest_mail(run_id, &cases, report, &self.notices.mail_host);
        match mailer.send(&mail).await {
            Ok(receipt) => {
                let ids: Vec<i64> = cases.iter().map(|c| c.id).collect();
                self.store
                    .mark_digest_sent(&ids, &receipt.message_id, self.now())
                    .await?;
                report.digest_cases = cases.len();
                tracing::info!(cases = cases.len(), to = %mailer.describe(), message_id = %receipt.message_id, "digest e-mail sent");
            }
            Err(e) => {
                tracing::error!(error = %e, to = %mailer.describe(), "digest e-mail not sent; its cases go into the next one");
                report.notice_errors.push(format!("digest e-mail: {e}"));
            }
        }
        Ok(())
    }
}

/// The digest for one run: plain text plus the same as simple HTML.
pub fn digest_mail(run_id: i64, cases: &[CaseRecord], report: &CycleReport, host: &str) -> Mail {
    let mut by_kind: BTreeMap<&str, usize> = BTreeMap::new();
    for c in cases {
        *by_kind.entry(c.kind.title()).or_default() += 1;
    }
    let subject = match cases.len() {
        0 => "domwatch: lifecycle actions taken".to_string(),
        1 => format!(
            "domwatch: new case — {}: {}",
            cases[0].kind.title(),
            cases[0].domain.display()
        ),
        n => format!("domwatch: {n} new cases"),
    };
    let mut text = String::new();
    let mut html = String::from("<html><body>");
    if !report.automatic_actions.is_empty() {
        text.push_str("Done automatically this run:\n");
        html.push_str("<h2>Done automatically this run</h2><ul>");
        for (option, n) in &report.automatic_actions {
            let what = match option.as_str() {
                "cancel" => "cancellations placed at the registrar (auto delete enabled)",
                "withdraw" => "cancellations withdrawn because the renewal was paid",
                other => other,
            };
            let _ = writeln!(text, "  {n} {what}");
            let _ = write!(html, "<li>{n} {}</li>", escape(what));
        }
        text.push('\n');
        html.push_str("</ul>");
    }
    if !cases.is_empty() {
        text.push_str("New cases:\n");
        html.push_str("<h2>New cases</h2><table><tr><th>case</th><th>domain</th><th>problem</th><th>at stake</th><th>what happened</th></tr>");
        for c in cases.iter().take(LISTED_CASES) {
            let stake = c
                .finding
                .at_stake
                .map(|m| m.to_string())
                .unwrap_or_default();
            let what = guide(&c.finding).what_happened;
            let _ = writeln!(
                text,
                "  #{:<6} {:<40} {}{}\n          {}",
                c.id,
                c.domain.display(),
                c.kind.title(),
                if stake.is_empty() {
                    String::new()
                } else {
                    format!(" ({stake})")
                },
                what
            );
            let _ = write!(
                html,
                "<tr><td>#{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                c.id,
                escape(&c.domain.display()),
                escape(c.kind.title()),
                escape(&stake),
                escape(&what)
            );
        }
        html.push_str("</table>");
        if cases.len() > LISTED_CASES {
            let _ = writeln!(
                text,
                "  … and {} more; by kind:",
                cases.len() - LISTED_CASES
            );
            let _ = write!(
                html,
                "<p>… and {} more; by kind:</p><ul>",
                cases.len() - LISTED_CASES
            );
            for (kind, n) in &by_kind {
                let _ = writeln!(text, "    {n:>6}  {kind}");
                let _ = write!(html, "<li>{n} {}</li>", escape(kind));
            }
            html.push_str("</ul>");
        }
        text.push_str(
            "\nOpen a case with `domwatch case N` or on the dashboard; Fix now shows every write before it is made.\n",
        );
    }
    html.push_str("</body></html>");
    // The same case openings give the same ID: a resend after a crash is recognisable as
    // the same mail. FNV-1a keeps it short and stable across versions.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for c in cases {
        for byte in format!("{}:{},", c.id, c.openings).bytes() {
            hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    let host = if host.is_empty() { "domwatch" } else { host };
    let message_id = if cases.is_empty() {
        format!("<domwatch.actions.run{run_id}@{host}>")
    } else {
        format!("<domwatch.digest.{hash:016x}.{}@{host}>", cases.len())
    };
    Mail {
        subject,
        text,
        html: Some(html),
        message_id,
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
