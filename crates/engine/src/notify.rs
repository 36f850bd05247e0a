//! Admin notices: exactly one per case opening, found again by its marker after a crash.

use crate::{CycleReport, Engine, EngineError};
use domwatch_core::detect::CaseKind;
use domwatch_core::DomainName;
use domwatch_store::{ActionStatus, AuditEntry, CaseRecord, NoticeClaim};
use domwatch_whmcs::db::NewToDo;
use futures::stream::{self, StreamExt};
use std::collections::HashSet;

/// What happened to one case's notice in this cycle.
pub(crate) enum NoticeOutcome {
    Sent,
    Failed(String),
    AlreadySent,
}

/// The marker put into every notice so a rerun after a crash finds it instead of sending twice.
pub fn notice_marker(case_id: i64, opening: i64) -> String {
    format!("[domwatch #{case_id}.{opening}]")
}

impl Engine {
    /// Notices wait for a cycle in which their domain is in scope, so a bad day sends
    /// none about what it could not see.
    pub(crate) async fn send_pending_notices(
        &self,
        run_id: i64,
        report: &mut CycleReport,
        scope: &HashSet<DomainName>,
    ) -> Result<(), EngineError> {
        if self.notifier.is_none() && self.notices.lifecycle_tickets.is_none() {
            return Ok(());
        }
        let kinds: Vec<CaseKind> = CaseKind::ALL
            .into_iter()
            .filter(|k| k.needs_admin_notice())
            .collect();
        // Cases are independent and each notice is claimed on its own, so they can go out
        // concurrently without risking a duplicate.
        let mut cases = self.store.cases_awaiting_notice(&kinds).await?;
        cases.retain(|c| scope.contains(&c.domain));
        let outcomes: Vec<Result<NoticeOutcome, EngineError>> = stream::iter(cases.iter())
            .map(|case| self.notify(run_id, case, case.openings))
            .buffer_unordered(self.concurrency.max(1))
            .collect()
            .await;
        for outcome in outcomes {
            match outcome? {
                NoticeOutcome::Sent => report.notices_sent += 1,
                NoticeOutcome::Failed(e) => report.notice_errors.push(e),
                NoticeOutcome::AlreadySent => {}
            }
        }
        Ok(())
    }

    /// Sends the notice of one case opening exactly once.
    async fn notify(
        &self,
        run_id: i64,
        case: &CaseRecord,
        opening: i64,
    ) -> Result<NoticeOutcome, EngineError> {
        let notifier = match (&self.notices.lifecycle_tickets, &self.notifier) {
            (Some(tickets), _) if case.kind.is_lifecycle() => tickets,
            (_, Some(default)) => default,
            _ => return Ok(NoticeOutcome::AlreadySent),
        };
        let channel = notifier.channel().to_string();
        let marker = notice_marker(case.id, opening);
        // A fresh claim means no earlier run got as far as sending, so there is nothing
        // to look for first; an unfinished one may have sent before crashing.
        let first_attempt = match self
            .store
            .claim_notice(case.id, opening, &channel, &marker, self.now())
            .await?
        {
            NoticeClaim::AlreadySent { .. } => return Ok(NoticeOutcome::AlreadySent),
            NoticeClaim::Fresh => true,
            NoticeClaim::Unfinished { .. } => false,
        };
        let guide = domwatch_core::plan::guide(&case.finding);
        let today = self.clock.today();
        // Lifecycle tickets say what domwatch already did (e.g. the cancellation it placed).
        let done = if case.kind.is_lifecycle() {
            let actions = self.store.actions_of_case(case.id).await?;
            actions
                .iter()
                .filter(|a| a.status == ActionStatus::Applied)
                .map(|a| {
                    format!(
                        "- {} — {}",
                        a.action.describe(),
                        a.result.as_deref().unwrap_or("done")
                    )
                })
                .collect::<Vec<_>>()
                .join("\n")
        } else {
            String::new()
        };
        // The marker in the title is the dedupe key: after a crash between sending and
        // recording, the to-do/ticket with this title is found and reused, not duplicated.
        let todo = NewToDo {
            title: format!("{marker} {}: {}", case.kind.title(), case.domain.unicode()),
            description: format!(
                "Domain: {}\n\n{}\n\n{}{}\n\nSteps:\n{}\n\nCase #{} in domwatch.",
                case.domain.unicode(),
                guide.what_happened,
                guide.what_it_costs,
                if done.is_empty() {
                    String::new()
                } else {
                    format!("\n\nAlready done by domwatch:\n{done}")
                },
                guide
                    .steps
                    .iter()
                    .enumerate()
                    .map(|(i, s)| format!("{}. {s}", i + 1))
                    .collect::<Vec<_>>()
                    .join("\n"),
                case.id
            ),
            date: today,
            due_date: today + chrono::Duration::days(3),
        };
        let result = if first_attempt {
            notifier.raise_first_attempt(&todo).await
        } else {
            notifier.raise(&todo).await
        };
        let (ok, text) = match &result {
            Ok(raised) => (
                true,
                format!(
                    "{} ({})",
                    raised.reference,
                    if raised.reused { "reused" } else { "created" }
                ),
            ),
            Err(e) => (false, e.to_string()),
        };
        self.store
            .audit(&AuditEntry {
                at: self.now(),
                actor: "scheduler".into(),
                system: "billing".into(),
                operation: format!("notice:{channel}"),
                object: case.domain.ascii().to_string(),
                request: serde_json::json!({"title": todo.title, "due": todo.due_date}),
                ok,
                result: text.clone(),
                case_id: Some(case.id),
                run_id: Some(run_id),
            })
            .await?;
        match result {
            Ok(raised) => {
                self.store
                    .mark_notice_sent(case.id, opening, &channel, &raised.reference, self.now())
                    .await?;
                Ok(NoticeOutcome::Sent)
            }
            Err(e) => {
                self.store
                    .mark_notice_failed(case.id, opening, &channel, &e.to_string())
                    .await?;
                Ok(NoticeOutcome::Failed(format!("case {}: {e}", case.id)))
            }
        }
    }
}
