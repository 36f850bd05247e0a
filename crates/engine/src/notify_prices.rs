//! Notices of TLD price cases: every opening, reopening and resolution is queued by the
//! store with the case change and told once. With domwatch's own e-mail it rides in the
//! run's digest (`digest.rs`); without it, one WHMCS to-do (or ticket) per cycle lists
//! them, its title carrying a marker so a rerun after a crash finds it instead of raising
//! a second one. A failed notice puts the events back for the next cycle.

use crate::{CycleReport, Engine, EngineError};
use domwatch_store::PriceNotice;
use domwatch_whmcs::db::NewToDo;

/// Events listed one by one in a to-do; a first run over a large catalogue can open many.
const LISTED_EVENTS: usize = 200;

/// One line per event, e.g. `#12 opened: TLD sold below cost — .net renew in EUR ...`.
pub fn price_notice_line(n: &PriceNotice) -> String {
    let f = &n.case.finding;
    match n.event.as_str() {
        "resolved" => format!(
            "#{} resolved: {} {} in {} is priced right again (was: {})",
            n.case.id,
            f.tld.with_dot(),
            f.operation,
            f.currency,
            f.kind.title()
        ),
        event => format!("#{} {event}: {} — {}", n.case.id, f.kind.title(), f.summary),
    }
}

impl Engine {
    /// Without domwatch's own e-mail: the TLD price events of this cycle in one to-do.
    pub(crate) async fn send_price_todo(
        &self,
        run_id: i64,
        report: &mut CycleReport,
    ) -> Result<(), EngineError> {
        let (None, Some(notifier)) = (&self.notices.mailer, &self.notifier) else {
            return Ok(()); // told in the digest, or nobody to tell
        };
        let marker = format!("tld-todo:run-{run_id}");
        let notices = self.store.claim_price_notices(&marker, self.now()).await?;
        let (Some(first), Some(last)) = (notices.first(), notices.last()) else {
            return Ok(());
        };
        let ids: Vec<i64> = notices.iter().map(|n| n.id).collect();
        let today = self.clock.today();
        let mut lines: Vec<String> = notices
            .iter()
            .take(LISTED_EVENTS)
            .map(price_notice_line)
            .collect();
        if notices.len() > LISTED_EVENTS {
            lines.push(format!("… and {} more", notices.len() - LISTED_EVENTS));
        }
        let todo = NewToDo {
            title: format!(
                "[domwatch TLD prices {}-{}] {} TLD price case change(s)",
                first.id,
                last.id,
                notices.len()
            ),
            description: format!(
                "{}\n\nSee the TLD prices page of domwatch or `domwatch tld-prices`; Fix now shows the proposed prices before writing them.",
                lines.join("\n")
            ),
            date: today,
            due_date: today + chrono::Duration::days(3),
        };
        let result = notifier.raise(&todo).await;
        self.audit_notice(
            run_id,
            notifier,
            "TLD price cases".into(),
            &todo,
            &result,
            None,
        )
        .await?;
        match result {
            Ok(raised) => {
                self.store
                    .mark_price_notices_sent(&ids, &marker, &raised.reference, self.now())
                    .await?;
                report.notices_sent += 1;
            }
            Err(e) => {
                self.store.release_price_notices(&ids, &marker).await?;
                report
                    .notice_errors
                    .push(format!("TLD price cases notice: {e}"));
            }
        }
        Ok(())
    }
}
