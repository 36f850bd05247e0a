//! Issue 5 end to end on the sandboxes: auto delete before the notice period (ticket and
//! enabled modes), the withdrawal when the renewal invoice gets paid, bot tickets exactly
//! once, and the contact policy — every write audited and visible as a case.

mod support;

use domwatch_core::detect::CaseKind;
use domwatch_core::lifecycle::{AccountPolicy, AutoDeleteMode, ContactPolicy};
use domwatch_core::model::{Dialect, RenewalMode};
use domwatch_engine::{Mode, NoProgress, StepOutcome};
use domwatch_mail::test_support::{ServerOptions, TestSmtpServer};
use domwatch_mail::{MailConfig, MailError, Mailer, RecordingMailer, SmtpMailer};
use domwatch_sandbox::portfolio::{Drift, Portfolio, SeedDomain, RESELLER_HANDLE};
use domwatch_store::{CaseFilter, CaseRecord, CaseState};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;
use support::{
    cut_off_cycles, cycle, policy_for_all, ticket_messages, ticket_subjects, today, world_with,
    World, DOMAINS, SEED,
};

fn auto_delete(mode: AutoDeleteMode) -> impl Fn(Dialect) -> AccountPolicy {
    move |dialect| {
        let mut p = AccountPolicy::for_dialect(dialect);
        p.auto_delete.mode = mode;
        p
    }
}

/// The unpaid domains the portfolio plants, at every registrar (CNR, ISPAPI, Smart-NIC).
fn unpaid_domains() -> Vec<SeedDomain> {
    Portfolio::new(SEED, DOMAINS, today())
        .domains()
        .filter(|d| d.drift == Some(Drift::UnpaidRenewalInvoice))
        .collect()
}

fn account_of(d: &SeedDomain) -> &'static str {
    support::account_for(d.dialect)
}

/// The registrar operation that cancels, and the renewal mode a withdrawal leaves.
fn cancel_operation(d: &SeedDomain) -> (&'static str, RenewalMode) {
    match d.dialect {
        Dialect::Smartnic => ("domainDelete", RenewalMode::AutoRenew),
        _ => ("SetDomainRenewalMode", RenewalMode::Default),
    }
}

async fn cases_of(w: &World, kind: CaseKind, state: CaseState) -> Vec<CaseRecord> {
    w.engine
        .store
        .cases(CaseFilter {
            state: Some(state),
            kind: Some(kind),
        })
        .await
        .unwrap()
}

async fn renewal_mode(w: &World, d: &SeedDomain) -> Option<RenewalMode> {
    w.ports[account_of(d)]
        .status_domain(&d.name)
        .await
        .expect("status at the sandbox registrar")
        .renewal_mode
}

/// Registrar writes in the audit log for one domain.
async fn registrar_writes(w: &World, d: &SeedDomain) -> Vec<String> {
    w.engine
        .store
        .audit_log(10_000, None)
        .await
        .unwrap()
        .into_iter()
        .filter(|a| {
            a.entry.system.starts_with("registrar:")
                && a.entry.object == d.name.ascii()
                && !a.entry.result.contains("nothing written")
        })
        .map(|a| {
            format!(
                "{} {} ok={} {}",
                a.entry.actor, a.entry.operation, a.entry.ok, a.entry.result
            )
        })
        .rev() // the audit log lists newest first
        .collect()
}

fn tickets_naming<'a>(subjects: &'a [String], d: &SeedDomain) -> Vec<&'a String> {
    subjects
        .iter()
        .filter(|s| s.contains(&d.name.unicode()))
        .collect()
}

#[tokio::test]
async fn ticket_mode_raises_exactly_one_ticket_and_writes_nothing_at_the_registrar() {
    let w = world_with(policy_for_all(auto_delete(AutoDeleteMode::Ticket))).await;
    let unpaid = unpaid_domains();
    assert!(!unpaid.is_empty());
    // Cycles cut off half way (as a crash would), then complete ones.
    cut_off_cycles(&w, &[10, 60, 200]).await;
    cycle(&w).await;
    cycle(&w).await;

    let due = cases_of(&w, CaseKind::CancellationDue, CaseState::Open).await;
    let due_names: BTreeSet<String> = due.iter().map(|c| c.domain.ascii().to_string()).collect();
    let subjects = ticket_subjects(&w.whmcs).await;
    for d in &unpaid {
        assert!(
            due_names.contains(d.name.ascii()),
            "{} has no cancellation case",
            d.name
        );
        let tickets = tickets_naming(&subjects, d);
        assert_eq!(tickets.len(), 1, "{}: {tickets:?}", d.name);
        assert_eq!(
            renewal_mode(&w, d).await,
            Some(RenewalMode::AutoRenew),
            "ticket mode must not touch the registrar"
        );
        assert!(registrar_writes(&w, d).await.is_empty());
    }
    // Only unpaid domains get one.
    assert_eq!(due.len(), unpaid.len(), "{due_names:?}");
    let body = &ticket_messages(&w.whmcs, &unpaid[0].name.unicode()).await[0];
    assert!(
        body.contains(&format!("Domain: {}", unpaid[0].name.unicode())),
        "{body}"
    );
    assert!(body.contains("unpaid"), "{body}");

    // The client pays: the case resolves, nothing to withdraw because nothing was placed.
    let d = &unpaid[0];
    let invoice = d.billing.as_ref().unwrap().invoices[0].id;
    w.whmcs.pay_invoice(invoice).await.expect("pay");
    cycle(&w).await;
    let case = w
        .engine
        .store
        .case(
            due.iter()
                .find(|c| c.domain.ascii() == d.name.ascii())
                .unwrap()
                .id,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(case.state, CaseState::Resolved);
    assert!(
        cases_of(&w, CaseKind::CancellationWithdrawalDue, CaseState::Open)
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn enabled_mode_cancels_once_tickets_once_and_payment_withdraws_it() {
    let w = world_with(policy_for_all(auto_delete(AutoDeleteMode::Enabled))).await;
    let unpaid = unpaid_domains();
    // Cycles cut off half way (as a crash would) must neither cancel nor ticket twice.
    cut_off_cycles(&w, &[10, 60, 150, 300]).await;
    cycle(&w).await;
    cycle(&w).await;

    let subjects = ticket_subjects(&w.whmcs).await;
    for d in &unpaid {
        assert_eq!(
            renewal_mode(&w, d).await,
            Some(RenewalMode::AutoDelete),
            "{}",
            d.name
        );
        let writes = registrar_writes(&w, d).await;
        assert_eq!(
            writes.len(),
            1,
            "exactly one cancellation for {}: {writes:?}",
            d.name
        );
        let (operation, _) = cancel_operation(d);
        // A cut-off run may have placed it without recording it: the next cycle records
        // it as `recovery` after confirming it at the registrar.
        assert!(
            writes[0].starts_with(&format!("auto-delete {operation} ok=true"))
                || writes[0].starts_with(&format!("recovery {operation} ok=true")),
            "{writes:?}"
        );
        assert_eq!(tickets_naming(&subjects, d).len(), 1, "{}", d.name);
        let body = &ticket_messages(&w.whmcs, &d.name.unicode()).await[0];
        assert!(body.contains("Already done by domwatch"), "{body}");
        assert!(body.contains("cancellation placed"), "{body}");
    }
    // The case stays open while the cancellation stands, waiting for payment or expiry.
    let due = cases_of(&w, CaseKind::CancellationDue, CaseState::Open).await;
    assert_eq!(due.len(), unpaid.len());
    assert!(due
        .iter()
        .all(|c| c.finding.facts.cancellation.as_ref().unwrap().pending));

    // Paying the renewal invoice withdraws the cancellation, once, and notes it.
    let d = &unpaid[0];
    w.whmcs
        .pay_invoice(d.billing.as_ref().unwrap().invoices[0].id)
        .await
        .expect("pay");
    let paid_cycle = cycle(&w).await;
    assert_eq!(
        paid_cycle.automatic_actions.get("withdraw"),
        Some(&1),
        "{paid_cycle:?}"
    );
    assert_eq!(renewal_mode(&w, d).await, Some(cancel_operation(d).1));
    let withdrawal = cases_of(&w, CaseKind::CancellationWithdrawalDue, CaseState::Open).await;
    assert_eq!(withdrawal.len(), 1);
    assert_eq!(withdrawal[0].domain.ascii(), d.name.ascii());
    cycle(&w).await;
    let resolved = w
        .engine
        .store
        .case(withdrawal[0].id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        resolved.state,
        CaseState::Resolved,
        "withdrawn, so the case resolves"
    );
    let writes = registrar_writes(&w, d).await;
    assert_eq!(writes.len(), 2, "{writes:?}");
    assert!(
        writes[1].contains("withdraw-cancellation ok=true"),
        "{writes:?}"
    );
    let subjects = ticket_subjects(&w.whmcs).await;
    assert_eq!(
        tickets_naming(&subjects, d).len(),
        2,
        "one for the cancellation, one for the withdrawal"
    );
    // The other unpaid domains stay cancelled.
    assert_eq!(
        renewal_mode(&w, &unpaid[1]).await,
        Some(RenewalMode::AutoDelete)
    );
}

#[tokio::test]
async fn a_paid_domain_is_never_cancelled() {
    let w = world_with(policy_for_all(auto_delete(AutoDeleteMode::Ticket))).await;
    cycle(&w).await;
    let d = &unpaid_domains()[0];
    let case = cases_of(&w, CaseKind::CancellationDue, CaseState::Open)
        .await
        .into_iter()
        .find(|c| c.domain.ascii() == d.name.ascii())
        .unwrap();
    // Paid after detection, before the admin presses Fix now.
    w.whmcs
        .pay_invoice(d.billing.as_ref().unwrap().invoices[0].id)
        .await
        .unwrap();
    let fix = w
        .engine
        .fix(case.id, Some("cancel"), Mode::Apply, "admin")
        .await
        .unwrap();
    assert!(
        matches!(&fix.steps[0].outcome, StepOutcome::Failed(e) if e.contains("is paid now")),
        "{fix:?}"
    );
    assert_eq!(renewal_mode(&w, d).await, Some(RenewalMode::AutoRenew));
}

#[tokio::test]
async fn disabled_mode_opens_no_lifecycle_case() {
    let w = world_with(policy_for_all(auto_delete(AutoDeleteMode::Disabled))).await;
    cycle(&w).await;
    assert!(cases_of(&w, CaseKind::CancellationDue, CaseState::Open)
        .await
        .is_empty());
    let subjects = ticket_subjects(&w.whmcs).await;
    for d in unpaid_domains() {
        assert!(tickets_naming(&subjects, &d).is_empty());
    }
}

#[tokio::test]
async fn wrong_admin_contact_is_found_and_fixed() {
    let w = world_with(policy_for_all(|dialect| {
        let mut p = AccountPolicy::for_dialect(dialect);
        p.auto_delete.mode = AutoDeleteMode::Disabled;
        p.contacts = ContactPolicy::owner_client_others_reseller(RESELLER_HANDLE);
        p
    }))
    .await;
    cycle(&w).await;
    let wrong: Vec<SeedDomain> = Portfolio::new(SEED, DOMAINS, today())
        .domains()
        .filter(|d| d.drift == Some(Drift::WrongAdminContact))
        .collect();
    assert!(!wrong.is_empty());
    let cases = cases_of(&w, CaseKind::ContactPolicyViolation, CaseState::Open).await;
    let names: BTreeSet<String> = cases.iter().map(|c| c.domain.ascii().to_string()).collect();
    let expected: BTreeSet<String> = wrong.iter().map(|d| d.name.ascii().to_string()).collect();
    assert_eq!(names, expected, "exactly the planted wrong contacts");

    for case in &cases {
        let fix = w
            .engine
            .fix(case.id, None, Mode::Apply, "admin")
            .await
            .unwrap();
        assert!(fix.succeeded(), "{fix:?}");
    }
    for d in &wrong {
        let now = w.ports[account_of(d)].status_domain(&d.name).await.unwrap();
        assert_eq!(
            now.contacts.admin.as_deref(),
            Some(RESELLER_HANDLE),
            "{}",
            d.name
        );
        let writes = registrar_writes(&w, d).await;
        assert_eq!(writes.len(), 1, "{writes:?}");
        assert!(
            writes[0].starts_with("admin modify-contacts ok=true"),
            "{writes:?}"
        );
    }
    cycle(&w).await;
    for case in &cases {
        let c = w.engine.store.case(case.id).await.unwrap().unwrap();
        assert_eq!(c.state, CaseState::Resolved, "{}", c.domain);
    }
}

fn mail_to_real_smtp(server: &domwatch_mail::test_support::TestSmtpServer) -> Arc<dyn Mailer> {
    let config = MailConfig::from_settings(
        &server.url(),
        "domwatch@reseller.example",
        &["admin@reseller.example"],
    )
    .unwrap();
    Arc::new(SmtpMailer::new(config).unwrap())
}

#[tokio::test]
async fn digest_and_lifecycle_actions_reach_a_real_smtp_server() {
    let Some(server) = TestSmtpServer::start_or_skip(
        "digest_and_lifecycle_actions_reach_a_real_smtp_server",
        ServerOptions::default(),
    ) else {
        return;
    };
    let mut w = world_with(policy_for_all(auto_delete(AutoDeleteMode::Enabled))).await;
    w.engine.notices.mailer = Some(mail_to_real_smtp(&server));
    w.engine.notices.mail_host = "reseller.example".into();
    let report = cycle(&w).await;
    let received = server.received();
    assert_eq!(received.len(), 1, "one digest per run");
    let digest = &received[0];
    let open = w.engine.store.cases(CaseFilter::open()).await.unwrap();
    assert_eq!(report.digest_cases, open.len());
    assert_eq!(
        digest.header("Subject"),
        Some(format!("domwatch: {} new cases", open.len()).as_str())
    );
    assert!(digest.header("Message-ID").is_some_and(
        |id| id.starts_with("<domwatch.digest.") && id.ends_with("@reseller.example>")
    ));
    let text = digest.text.as_deref().unwrap();
    assert!(
        text.contains("cancellations placed at the registrar"),
        "{text}"
    );
    let unpaid = unpaid_domains();
    assert!(text.contains(&unpaid[0].name.unicode()), "{text}");
    assert!(digest.html.as_deref().unwrap().contains("<table>"));

    // Nothing new: no mail.
    cycle(&w).await;
    assert_eq!(server.received().len(), 1);

    // Payment: the withdrawal case and action are mailed.
    w.whmcs
        .pay_invoice(unpaid[0].billing.as_ref().unwrap().invoices[0].id)
        .await
        .unwrap();
    cycle(&w).await;
    let received = server.received();
    assert_eq!(received.len(), 2);
    let text = received[1].text.as_deref().unwrap();
    assert!(
        text.contains("cancellations withdrawn because the renewal was paid"),
        "{text}"
    );
    assert!(text.contains("withdraw the pending cancellation"), "{text}");
}

#[tokio::test]
async fn a_failed_digest_is_sent_with_the_next_one() {
    let mut w = world_with(policy_for_all(auto_delete(AutoDeleteMode::Ticket))).await;
    let mailer = Arc::new(RecordingMailer::new());
    mailer.fail_next(MailError::Timeout {
        server: "smtp.example:25".into(),
        after: Duration::from_secs(30),
    });
    w.engine.notices.mailer = Some(mailer.clone());
    let report = w.engine.run_cycle(Mode::Apply, &NoProgress).await.unwrap();
    assert!(
        report
            .notice_errors
            .iter()
            .any(|e| e.starts_with("digest e-mail")),
        "{:?}",
        report.notice_errors
    );
    assert!(mailer.sent().is_empty());
    let report = cycle(&w).await;
    let open = w.engine.store.cases(CaseFilter::open()).await.unwrap();
    assert_eq!(mailer.sent().len(), 1);
    assert_eq!(
        report.digest_cases,
        open.len(),
        "the failed digest's cases come again"
    );
    // The digest is not a case's admin notice: every ticket still went out.
    let subjects = ticket_subjects(&w.whmcs).await;
    for d in unpaid_domains() {
        assert_eq!(tickets_naming(&subjects, &d).len(), 1);
    }
}

/// Stops a cycle as a `kill -9` would, right when the cycle begins `stage`: the cycle's
/// future is dropped at its next await, nothing after that point runs.
struct KillAt {
    stage: &'static str,
    signal: std::sync::Mutex<Option<tokio::sync::oneshot::Sender<()>>>,
}

impl domwatch_engine::Progress for KillAt {
    fn stage(&self, name: &str, _: Option<u64>) {
        if name == self.stage {
            if let Some(tx) = self.signal.lock().unwrap().take() {
                let _ = tx.send(());
            }
        }
    }
    fn advance(&self, _: u64) {}
}

/// Every stage a cycle announces, in order.
const STAGES: [&str; 7] = [
    "fetching billing and registrar snapshots",
    "joining",
    "looking up suspicious domains",
    "detecting",
    "recording cases",
    "automatic fixes",
    "sending notices",
];

async fn killed_at(w: &World, stage: &'static str) {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let kill = KillAt {
        stage,
        signal: std::sync::Mutex::new(Some(tx)),
    };
    tokio::select! {
        biased;
        _ = rx => {}
        _ = w.engine.run_cycle(Mode::Apply, &kill) => {}
    }
}

#[tokio::test]
async fn killed_at_every_stage_each_automatic_write_gets_exactly_one_ticket() {
    let w = world_with(policy_for_all(auto_delete(AutoDeleteMode::Enabled))).await;
    let unpaid = unpaid_domains();
    for stage in STAGES {
        killed_at(&w, stage).await;
    }
    cycle(&w).await;
    let subjects = ticket_subjects(&w.whmcs).await;
    for d in &unpaid {
        assert_eq!(registrar_writes(&w, d).await.len(), 1, "{}", d.name);
        assert_eq!(tickets_naming(&subjects, d).len(), 1, "{}", d.name);
    }

    // The withdrawal is written, then the run dies before its notice; by the next cycle
    // the case has resolved (nothing is wrong any more), yet the admin hears of the
    // withdrawal exactly once.
    let d = &unpaid[0];
    w.whmcs
        .pay_invoice(d.billing.as_ref().unwrap().invoices[0].id)
        .await
        .expect("pay");
    killed_at(&w, "sending notices").await;
    assert_eq!(renewal_mode(&w, d).await, Some(cancel_operation(d).1));
    for stage in STAGES {
        killed_at(&w, stage).await;
    }
    cycle(&w).await;
    cycle(&w).await;
    let withdrawal = cases_of(&w, CaseKind::CancellationWithdrawalDue, CaseState::Resolved).await;
    assert_eq!(
        withdrawal
            .iter()
            .filter(|c| c.domain.ascii() == d.name.ascii())
            .count(),
        1,
        "the withdrawal case resolved meanwhile"
    );
    let writes = registrar_writes(&w, d).await;
    assert_eq!(writes.len(), 2, "{writes:?}");
    let subjects = ticket_subjects(&w.whmcs).await;
    let tickets = tickets_naming(&subjects, d);
    assert_eq!(
        tickets.len(),
        2,
        "one for the cancellation, one for the withdrawal: {tickets:?}"
    );
    let bodies = ticket_messages(&w.whmcs, &d.name.unicode()).await;
    assert!(
        bodies.iter().any(|b| b.contains("cancellation withdrawn")
            || b.contains("Withdraw")
            || b.contains("withdraw")),
        "the withdrawal is told: {bodies:?}"
    );
}
