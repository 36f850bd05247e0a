//! Admin notices: exactly one per case opening, and exactly one per automatic write, each
//! found again by its marker after a crash.
//!
//! Automatic writes are queued in the store's outbox together with their result. A write
//! whose case has not been notified yet rides along in the case's notice ("Already done by
//! domwatch"); one whose case was notified before (or has resolved since) gets a notice of
//! its own. Either way the outbox row is marked sent only with the notice that told it.

use crate::{CycleReport, Engine, EngineError};
use domwatch_core::detect::CaseKind;
use domwatch_core::Scope;
use domwatch_store::{
    ActionRecord, ActionStatus, AuditEntry, CaseRecord, NoticeClaim, PendingActionNotice,
};
use domwatch_whmcs::db::NewToDo;
use domwatch_whmcs::port::{RaisedToDo, ToDoNotifier};
use futures::stream::{self, StreamExt};

/// What happened to one notice in this cycle.
pub(crate) enum NoticeOutcome {
    Sent,
    Failed(String),
    AlreadySent,
}

/// The marker put into every notice so a rerun after a crash finds it instead of sending twice.
pub fn notice_marker(case_id: i64, opening: i64) -> String {
    format!("[domwatch #{case_id}.{opening}]")
}

/// The marker of the notice of its own that an automatic write gets.
fn action_notice_marker(case_id: i64, opening: i64, notice_id: i64) -> String {
    format!("[domwatch #{case_id}.{opening} action {notice_id}]")
}

impl Engine {
    /// Notices of case openings wait for a cycle in which their domain is in scope, so a
    /// bad day sends none about what it could not see. Notices of automatic writes are
    /// sent whatever the scope: the write happened and the admin is told. A targeted
    /// check (`only_scope`) tells only writes on its own domains; the rest wait for the
    /// next full cycle.
    pub(crate) async fn send_pending_notices(
        &self,
        run_id: i64,
        report: &mut CycleReport,
        scope: &Scope,
        only_scope: bool,
    ) -> Result<(), EngineError> {
        if self.notifier.is_none() && self.notices.lifecycle_tickets.is_none() {
            return Ok(());
        }
        let kinds: Vec<CaseKind> = CaseKind::ALL
            .into_iter()
            .filter(|k| k.needs_admin_notice())
            .collect();
        let mut cases = self.store.cases_awaiting_notice(&kinds).await?;
        cases.retain(|c| scope.contains(&c.domain));
        let own = self
            .route_action_notices(&mut cases, only_scope.then_some(scope))
            .await?;
        // Cases are independent and each notice is claimed on its own, so they can go out
        // concurrently without risking a duplicate.
        let mut outcomes: Vec<Result<NoticeOutcome, EngineError>> = stream::iter(cases.iter())
            .map(|case| self.notify(run_id, case, case.openings))
            .buffer_unordered(self.concurrency.max(1))
            .collect()
            .await;
        for pending in &own {
            outcomes.push(self.notify_action(run_id, pending).await);
        }
        for outcome in outcomes {
            match outcome? {
                NoticeOutcome::Sent => report.notices_sent += 1,
                NoticeOutcome::Failed(e) => report.notice_errors.push(e),
                NoticeOutcome::AlreadySent => {}
            }
        }
        Ok(())
    }

    /// Splits the queued notices of automatic writes: a write whose case opening has not
    /// been notified is told by that notice (its case joins `cases`, even when resolved or
    /// out of scope by now); the others are returned to be told on their own.
    async fn route_action_notices(
        &self,
        cases: &mut Vec<CaseRecord>,
        only: Option<&Scope>,
    ) -> Result<Vec<PendingActionNotice>, EngineError> {
        let mut own = Vec::new();
        for pending in self.store.pending_action_notices().await? {
            if let Some(scope) = only {
                let case = self.store.case(pending.case_id).await?;
                if !case.is_some_and(|c| scope.contains(&c.domain)) {
                    continue;
                }
            }
            if self
                .store
                .case_notice_sent(pending.case_id, pending.opening)
                .await?
            {
                own.push(pending);
                continue;
            }
            if cases
                .iter()
                .any(|c| c.id == pending.case_id && c.openings == pending.opening)
            {
                continue;
            }
            match self.store.case(pending.case_id).await? {
                Some(case) if case.openings == pending.opening => cases.push(case),
                _ => own.push(pending),
            }
        }
        Ok(own)
    }

    /// The notifier for a case: bot tickets for lifecycle cases when configured.
    fn notifier_for(&self, kind: CaseKind) -> Option<&ToDoNotifier> {
        match (&self.notices.lifecycle_tickets, &self.notifier) {
            (Some(tickets), _) if kind.is_lifecycle() => Some(tickets),
            (_, Some(default)) => Some(default),
            _ => None,
        }
    }

    /// Sends the notice of one case opening exactly once.
    async fn notify(
        &self,
        run_id: i64,
        case: &CaseRecord,
        opening: i64,
    ) -> Result<NoticeOutcome, EngineError> {
        let Some(notifier) = self.notifier_for(case.kind) else {
            return Ok(NoticeOutcome::AlreadySent);
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
        // Lifecycle tickets say what domwatch already did (e.g. the cancellation it placed).
        let done: Vec<ActionRecord> = if case.kind.is_lifecycle() {
            let mut actions = self.store.actions_of_case(case.id).await?;
            actions.retain(|a| a.status == ActionStatus::Applied);
            actions
        } else {
            Vec::new()
        };
        let todo = self.case_notice(case, &marker, &done);
        match self
            .raise_and_audit(run_id, notifier, case, &todo, first_attempt)
            .await?
        {
            Ok(raised) => {
                let told: Vec<String> = done.into_iter().map(|a| a.idempotency_key).collect();
                self.store
                    .mark_case_notice_sent(
                        case.id,
                        opening,
                        &channel,
                        &raised.reference,
                        &told,
                        self.now(),
                    )
                    .await?;
                Ok(NoticeOutcome::Sent)
            }
            Err(e) => {
                self.store
                    .mark_notice_failed(case.id, opening, &channel, &e)
                    .await?;
                Ok(NoticeOutcome::Failed(format!("case {}: {e}", case.id)))
            }
        }
    }

    /// Tells the admin about one automatic write whose case was notified before it.
    async fn notify_action(
        &self,
        run_id: i64,
        pending: &PendingActionNotice,
    ) -> Result<NoticeOutcome, EngineError> {
        let Some(case) = self.store.case(pending.case_id).await? else {
            return Ok(NoticeOutcome::AlreadySent);
        };
        let Some(notifier) = self.notifier_for(case.kind) else {
            return Ok(NoticeOutcome::AlreadySent);
        };
        let first_attempt = self.store.claim_action_notice(pending.id).await?;
        let marker = action_notice_marker(case.id, pending.opening, pending.id);
        let today = self.clock.today();
        let todo = NewToDo {
            title: format!(
                "{marker} domwatch did: {} — {}",
                pending.action.describe(),
                case.domain.display()
            ),
            description: format!(
                "Domain: {}\n\ndomwatch did this on its own ({}):\n- {} — {}\n\nCase #{} in domwatch ({}).",
                case.domain.display(),
                case.kind.title(),
                pending.action.describe(),
                pending.result.as_deref().unwrap_or("done"),
                case.id,
                case.state.as_str(),
            ),
            date: today,
            due_date: today + chrono::Duration::days(3),
        };
        match self
            .raise_and_audit(run_id, notifier, &case, &todo, first_attempt)
            .await?
        {
            Ok(raised) => {
                self.store
                    .mark_action_notices_sent(
                        std::slice::from_ref(&pending.action_key),
                        &raised.reference,
                        self.now(),
                    )
                    .await?;
                Ok(NoticeOutcome::Sent)
            }
            Err(e) => {
                self.store.mark_action_notice_failed(pending.id, &e).await?;
                Ok(NoticeOutcome::Failed(format!(
                    "case {} (automatic write): {e}",
                    case.id
                )))
            }
        }
    }

    /// The to-do or ticket of a case opening. The marker in the title is the dedupe key:
    /// after a crash between sending and recording, the to-do/ticket with this title is
    /// found and reused, not duplicated.
    fn case_notice(&self, case: &CaseRecord, marker: &str, done: &[ActionRecord]) -> NewToDo {
        let guide = domwatch_core::plan::guide(&case.finding);
        let today = self.clock.today();
        let done = done
            .iter()
            .map(|a| {
                format!(
                    "- {} — {}",
                    a.action.describe(),
                    a.result.as_deref().unwrap_or("done")
                )
            })
            .collect::<Vec<_>>()
            .join("\n");
        NewToDo {
            title: format!("{marker} {}: {}", case.kind.title(), case.domain.display()),
            description: format!(
                "Domain: {}\n\n{}\n\n{}{}\n\nSteps:\n{}\n\nCase #{} in domwatch.",
                case.domain.display(),
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
        }
    }

    /// Raises a to-do or ticket (looking for an earlier one first unless this is the first
    /// attempt) and audits the attempt. The outer error is the store's; the inner one
    /// says why the notice failed.
    async fn raise_and_audit(
        &self,
        run_id: i64,
        notifier: &ToDoNotifier,
        case: &CaseRecord,
        todo: &NewToDo,
        first_attempt: bool,
    ) -> Result<Result<RaisedToDo, String>, EngineError> {
        let result = if first_attempt {
            notifier.raise_first_attempt(todo).await
        } else {
            notifier.raise(todo).await
        };
        self.audit_notice(
            run_id,
            notifier,
            case.domain.ascii().to_string(),
            todo,
            &result,
            Some(case.id),
        )
        .await?;
        Ok(result.map_err(|e| e.to_string()))
    }

    /// The audit line of a to-do or ticket raised (or refused) in WHMCS: every notice
    /// write is audited like a fix, whether it is about one case or a list of them.
    pub(crate) async fn audit_notice<E: std::fmt::Display>(
        &self,
        run_id: i64,
        notifier: &ToDoNotifier,
        object: String,
        todo: &NewToDo,
        result: &Result<RaisedToDo, E>,
        case_id: Option<i64>,
    ) -> Result<(), EngineError> {
        let (ok, text) = match result {
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
                operation: format!("notice:{}", notifier.channel()),
                object,
                request: serde_json::json!({"title": todo.title, "due": todo.due_date}),
                ok,
                result: text,
                case_id,
                run_id: Some(run_id),
            })
            .await?;
        Ok(())
    }
}
