//! domwatch's own e-mail after a cycle: the digest of case openings no digest has covered
//! yet, and the lifecycle actions the scheduler took. SMTP has no idempotency, so this is
//! "at least once": cases are claimed in the store before sending and marked after; a crash
//! in between sends them again in the next digest (whose Message-ID names the same cases,
//! so a mail client can tell). TLD price cases opened, reopened or resolved ride along
//! (`notify_prices.rs`), each told once.

use crate::notify_prices::price_notice_line;
use crate::{CycleReport, Engine, EngineError};
use domwatch_core::plan::guide;
use domwatch_mail::Mail;
use domwatch_store::{CaseRecord, PriceNotice};
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
        let marker = format!("digest:run-{run_id}");
        let cases = self.store.claim_digest(&marker, self.now()).await?;
        let prices = self.store.claim_price_notices(&marker, self.now()).await?;
        let price_ids: Vec<i64> = prices.iter().map(|n| n.id).collect();
        if cases.is_empty() && prices.is_empty() && report.automatic_actions.is_empty() {
            return Ok(());
        }
        let mail = digest_mail(run_id, &cases, &prices, report, &self.notices.mail_host);
        match mailer.send(&mail).await {
            Ok(receipt) => {
                let ids: Vec<i64> = cases.iter().map(|c| c.id).collect();
                self.store
                    .mark_digest_sent(&ids, &receipt.message_id, self.now())
                    .await?;
                self.store
                    .mark_price_notices_sent(&price_ids, &marker, &receipt.message_id, self.now())
                    .await?;
                report.digest_cases = cases.len();
                report.digest_price_events = prices.len();
                tracing::info!(cases = cases.len(), to = %mailer.describe(), message_id = %receipt.message_id, "digest e-mail sent");
            }
            Err(e) => {
                self.store
                    .release_price_notices(&price_ids, &marker)
                    .await?;
                tracing::error!(error = %e, to = %mailer.describe(), "digest e-mail not sent; its cases go into the next one");
                report.notice_errors.push(format!("digest e-mail: {e}"));
            }
        }
        Ok(())
    }
}

/// The digest for one run: plain text plus the same as simple HTML.
pub fn digest_mail(
    run_id: i64,
    cases: &[CaseRecord],
    prices: &[PriceNotice],
    report: &CycleReport,
    host: &str,
) -> Mail {
    let mut body = Body {
        text: String::new(),
        html: String::from("<html><body>"),
    };
    body.automatic_actions(&report.automatic_actions);
    if !cases.is_empty() {
        body.new_cases(cases);
    }
    body.price_cases(prices);
    body.html.push_str("</body></html>");
    let ids = prices.iter().map(|n| n.id);
    Mail {
        subject: subject(cases, prices.len()),
        text: body.text,
        html: Some(body.html),
        message_id: message_id(run_id, cases, ids, host),
    }
}

fn subject(cases: &[CaseRecord], price_events: usize) -> String {
    match cases {
        [] if price_events > 0 => {
            format!("domwatch: {price_events} TLD price case change(s)")
        }
        [] => "domwatch: lifecycle actions taken".to_string(),
        [one] => format!(
            "domwatch: new case — {}: {}",
            one.kind.title(),
            one.domain.display()
        ),
        many => format!("domwatch: {} new cases", many.len()),
    }
}

/// The same case openings give the same ID: a resend after a crash is recognisable as the
/// same mail. FNV-1a keeps it short and stable across versions.
fn message_id(
    run_id: i64,
    cases: &[CaseRecord],
    price_ids: impl Iterator<Item = i64>,
    host: &str,
) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let keys = cases
        .iter()
        .map(|c| format!("{}:{},", c.id, c.openings))
        .chain(price_ids.map(|id| format!("p{id},")));
    let mut any = false;
    for key in keys {
        any = true;
        for byte in key.bytes() {
            hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    let host = if host.is_empty() { "domwatch" } else { host };
    if !any {
        format!("<domwatch.actions.run{run_id}@{host}>")
    } else {
        format!("<domwatch.digest.{hash:016x}.{}@{host}>", cases.len())
    }
}

/// The mail's plain text and HTML, written side by side.
struct Body {
    text: String,
    html: String,
}

impl Body {
    fn automatic_actions(&mut self, actions: &BTreeMap<String, usize>) {
        if actions.is_empty() {
            return;
        }
        self.text.push_str("Done automatically this run:\n");
        self.html
            .push_str("<h2>Done automatically this run</h2><ul>");
        for (option, n) in actions {
            let what = match option.as_str() {
                "cancel" => "cancellations placed at the registrar (auto delete enabled)",
                "withdraw" => "cancellations withdrawn because the renewal was paid",
                other => other,
            };
            let _ = writeln!(self.text, "  {n} {what}");
            let _ = write!(self.html, "<li>{n} {}</li>", escape(what));
        }
        self.text.push('\n');
        self.html.push_str("</ul>");
    }

    fn new_cases(&mut self, cases: &[CaseRecord]) {
        self.text.push_str("New cases:\n");
        self.html.push_str("<h2>New cases</h2><table><tr><th>case</th><th>domain</th><th>problem</th><th>at stake</th><th>what happened</th></tr>");
        for c in cases.iter().take(LISTED_CASES) {
            self.case_row(c);
        }
        self.html.push_str("</table>");
        if cases.len() > LISTED_CASES {
            self.by_kind(cases);
        }
        self.text.push_str(
            "\nOpen a case with `domwatch case N` or on the dashboard; Fix now shows every write before it is made.\n",
        );
    }

    fn case_row(&mut self, c: &CaseRecord) {
        let stake = c
            .finding
            .at_stake
            .map(|m| m.to_string())
            .unwrap_or_default();
        let what = guide(&c.finding).what_happened;
        let stake_text = if stake.is_empty() {
            String::new()
        } else {
            format!(" ({stake})")
        };
        let _ = writeln!(
            self.text,
            "  #{:<6} {:<40} {}{}\n          {}",
            c.id,
            c.domain.display(),
            c.kind.title(),
            stake_text,
            what
        );
        let _ = write!(
            self.html,
            "<tr><td>#{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            c.id,
            escape(&c.domain.display()),
            escape(c.kind.title()),
            escape(&stake),
            escape(&what)
        );
    }

    /// TLD price cases opened, reopened or resolved since the last notice.
    fn price_cases(&mut self, notices: &[PriceNotice]) {
        if notices.is_empty() {
            return;
        }
        self.text.push_str("\nTLD price cases:\n");
        self.html.push_str("<h2>TLD price cases</h2><ul>");
        for n in notices.iter().take(LISTED_CASES) {
            let line = price_notice_line(n);
            let _ = writeln!(self.text, "  {line}");
            let _ = write!(self.html, "<li>{}</li>", escape(&line));
        }
        if notices.len() > LISTED_CASES {
            let more = notices.len() - LISTED_CASES;
            let _ = writeln!(self.text, "  … and {more} more");
            let _ = write!(self.html, "<li>… and {more} more</li>");
        }
        self.html.push_str("</ul>");
        self.text
            .push_str("See them with `domwatch tld-prices` or on the TLD prices page.\n");
    }

    /// Counts by kind when the list is cut.
    fn by_kind(&mut self, cases: &[CaseRecord]) {
        let mut by_kind: BTreeMap<&str, usize> = BTreeMap::new();
        for c in cases {
            *by_kind.entry(c.kind.title()).or_default() += 1;
        }
        let more = cases.len() - LISTED_CASES;
        let _ = writeln!(self.text, "  … and {more} more; by kind:");
        let _ = write!(self.html, "<p>… and {more} more; by kind:</p><ul>");
        for (kind, n) in &by_kind {
            let _ = writeln!(self.text, "    {n:>6}  {kind}");
            let _ = write!(self.html, "<li>{n} {}</li>", escape(kind));
        }
        self.html.push_str("</ul>");
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
