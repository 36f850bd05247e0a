//! `domwatch check`, `cases`, `case`, `fix`: the monitoring cycle and Fix now from the
//! command line.

use crate::cli_common::{actor, runtime, Common};
use crate::table::{Align, Table};
use clap::Args;
use domwatch_core::detect::CaseKind;
use domwatch_core::text::escape;
use domwatch_engine::{Completeness, CycleReport, Mode, Progress, StepOutcome};
use domwatch_store::{CaseQuery, CaseRecord, Store, MAX_PER_PAGE};
use indicatif::{ProgressBar, ProgressStyle};
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub common: Common,
    /// Detect and report, but write nothing (no cases recorded, no notices sent).
    #[arg(long)]
    pub dry_run: bool,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Check only this domain (repeatable): read it from WHMCS and every registrar
    /// account, then the same stages and rules as a full check, for it alone.
    #[arg(long = "domain", value_name = "NAME")]
    pub domains: Vec<String>,
}

#[derive(Debug, Args)]
pub struct CasesArgs {
    #[command(flatten)]
    pub common: Common,
    /// Include resolved cases.
    #[arg(long)]
    pub all: bool,
    /// Only this kind (e.g. turned_premium; repeatable, or comma-separated).
    #[arg(long, value_name = "KIND")]
    pub kind: Vec<String>,
    #[command(flatten)]
    pub filters: crate::cli_filters::CaseFilters,
    /// Order: kind (default), at_stake (most money first), oldest, newest or domain.
    #[arg(long, value_name = "ORDER")]
    pub sort: Option<String>,
    /// Show at most this many cases.
    #[arg(long, value_name = "N")]
    pub limit: Option<u32>,
    #[arg(long, conflicts_with = "csv")]
    pub json: bool,
    /// Print the cases as CSV (UTF-8, header row; Unicode name and A-label).
    #[arg(long)]
    pub csv: bool,
}

#[derive(Debug, Args)]
pub struct CaseArgs {
    #[command(flatten)]
    pub common: Common,
    /// Case number, as `domwatch cases` shows it.
    pub case: i64,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct FixArgs {
    #[command(flatten)]
    pub common: Common,
    /// Case number, as `domwatch cases` shows it (or `--kind K` for every case of a kind).
    #[arg(required_unless_present = "kind", conflicts_with = "kind")]
    pub case: Option<i64>,
    /// Which fix option (default: the recommended one; `domwatch case N` lists them).
    #[arg(long)]
    pub option: Option<String>,
    /// Show exactly what would be written, write nothing.
    #[arg(long)]
    pub dry_run: bool,
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub bulk: crate::cli_bulk_fix::BulkArgs,
}

struct Bar(ProgressBar);

impl Progress for Bar {
    fn stage(&self, name: &str, total: Option<u64>) {
        match total {
            Some(n) => {
                self.0.set_style(
                    ProgressStyle::with_template("{spinner} {msg} [{bar:30}] {pos}/{len} ({eta})")
                        .unwrap_or_else(|_| ProgressStyle::default_bar())
                        .progress_chars("=> "),
                );
                self.0.set_length(n);
                self.0.set_position(0);
            }
            None => self.0.set_style(ProgressStyle::default_spinner()),
        }
        self.0.set_message(name.to_string());
    }
    fn advance(&self, by: u64) {
        self.0.inc(by);
    }
}

/// Exit code of `check` when some inputs failed and their domains were skipped (or a
/// notice or automatic action failed): the rest was judged. 1 means nothing usable.
pub const EXIT_PARTIAL: u8 = 2;

/// The exit code a cron job or systemd unit acts on: 0 everything read and done, 2 partial
/// (some domains skipped, or a notice or automatic action failed), 1 nothing usable.
fn exit_code(report: &CycleReport) -> ExitCode {
    let side_effects_failed =
        !report.notice_errors.is_empty() || !report.automatic_action_errors.is_empty();
    match report.completeness() {
        Completeness::Nothing => ExitCode::FAILURE,
        Completeness::Partial => ExitCode::from(EXIT_PARTIAL),
        Completeness::Complete if side_effects_failed => ExitCode::from(EXIT_PARTIAL),
        Completeness::Complete => ExitCode::SUCCESS,
    }
}

pub async fn check(args: CheckArgs) -> anyhow::Result<ExitCode> {
    let targets = crate::cli_check_domains::targets(&args.domains)?;
    let rt = runtime(&args.common).await?;
    if let (Some(embedded), false) = (&rt.embedded, args.json) {
        eprintln!("{}", embedded.describe());
    }
    let bar = ProgressBar::new_spinner();
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    let mode = if args.dry_run {
        Mode::DryRun
    } else {
        Mode::Apply
    };
    let started = std::time::Instant::now();
    let report = crate::cli_check_domains::run(&rt.engine, &targets, mode, &Bar(bar.clone())).await;
    bar.finish_and_clear();
    let report = report?;
    let webhooks = deliver_webhooks(&rt, report.dry_run, !args.json).await;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(with_webhooks(exit_code(&report), webhooks));
    }
    println!(
        "Checked {} billed domains against {} registrar domains in {:.1}s{}",
        report.billing_domains,
        report.registrar_domains.values().sum::<usize>(),
        started.elapsed().as_secs_f64(),
        if report.dry_run {
            " (dry run: nothing written)"
        } else {
            ""
        }
    );
    if let Some(line) = crate::cli_check_domains::describe(&report) {
        println!("{line}");
    }
    for (account, error) in &report.failed_accounts {
        println!(
            "  ! registrar account {} could not be read, its domains were skipped: {}",
            escape(account),
            escape(error)
        );
    }
    for input in &report.incomplete_inputs {
        println!(
            "  ! incomplete input, no verdict for its domains: {}",
            escape(input)
        );
    }
    if report.unmonitored > 0 {
        println!(
            "  {} billed domains use a registrar module no account is configured for",
            report.unmonitored
        );
    }
    if report.findings_by_kind.is_empty() {
        println!("Everything is fine: billing and registrars agree.");
    } else {
        // The kind column is as wide as its longest name, so the counts line up.
        let width = report
            .findings_by_kind
            .keys()
            .map(|k| k.chars().count())
            .chain(["problem".len()])
            .max()
            .unwrap_or(0);
        println!("\n{:<width$} {:>6}", "problem", "count");
        for (kind, n) in &report.findings_by_kind {
            let title = CaseKind::parse(kind).map(|k| k.title()).unwrap_or(kind);
            println!("{:<width$} {:>6}  {}", kind, n, title);
        }
        for (currency, amount) in &report.at_stake {
            println!("Money at stake per renewal cycle: {:.2} {currency}", amount);
        }
    }
    crate::cli_prices::print_check_summary(&report);
    if report.dry_run {
        println!("\n{} findings would open a new case.", report.would_open);
    } else {
        println!(
            "\nCases: {} opened, {} reopened, {} updated, {} resolved; {} notices sent.",
            report.opened, report.reopened, report.updated, report.resolved, report.notices_sent
        );
        for e in &report.notice_errors {
            println!("  ! notice failed: {}", escape(e));
        }
        for (option, n) in &report.automatic_actions {
            let what = match option.as_str() {
                "cancel" => "cancellations placed (auto delete enabled)",
                "withdraw" => "cancellations withdrawn (renewal paid)",
                other => other,
            };
            println!("{n} {what}; see `domwatch cases` and the audit log.");
        }
        for e in &report.automatic_action_errors {
            println!(
                "  ! automatic action failed (retried next cycle): {}",
                escape(e)
            );
        }
        println!("List them with `domwatch cases`, fix one with `domwatch fix N`.");
    }
    match report.completeness() {
        Completeness::Complete => {}
        Completeness::Partial => println!(
            "\nPartial check: {} domains and every domain of a failed account got no verdict (nothing about them was changed); exit code {EXIT_PARTIAL}.",
            report.skipped_domains
        ),
        Completeness::Nothing => println!(
            "\nNo registrar account could be read: nothing was judged or changed; exit code 1."
        ),
    }
    Ok(with_webhooks(exit_code(&report), webhooks))
}

/// Sends the webhook outbox after an applied check: what this cycle queued and retries
/// that are due. False when the store could not be used (a failed receiver is not an
/// error of the check: its deliveries are retried by the next check or `serve`).
async fn deliver_webhooks(rt: &crate::runtime::Runtime, dry_run: bool, print: bool) -> bool {
    if dry_run || rt.webhooks.is_empty() {
        return true;
    }
    match rt.webhooks.deliver_due(chrono::Utc::now()).await {
        Ok(r) => {
            if print && r != Default::default() {
                println!(
                    "Webhooks: {} delivered, {} to retry later, {} given up (see /webhooks).",
                    r.delivered, r.retrying, r.gave_up
                );
            }
            true
        }
        Err(e) => {
            eprintln!("  ! webhooks could not be sent (retried next time): {e}");
            false
        }
    }
}

/// A check whose webhook outbox could not be read is partial, not complete.
fn with_webhooks(code: ExitCode, webhooks_ok: bool) -> ExitCode {
    if !webhooks_ok && code == ExitCode::SUCCESS {
        ExitCode::from(EXIT_PARTIAL)
    } else {
        code
    }
}

/// Every case `query` selects in its order, page by page, or the first `limit`.
async fn matching_cases(
    store: &Store,
    mut query: CaseQuery,
    limit: Option<u32>,
) -> anyhow::Result<Vec<CaseRecord>> {
    let wanted = limit.map_or(usize::MAX, |l| l as usize);
    query.per_page = MAX_PER_PAGE.min(limit.unwrap_or(MAX_PER_PAGE));
    let mut cases = Vec::new();
    loop {
        let page = store.case_page(&query).await?;
        let more = page.next_page();
        cases.extend(page.cases);
        match more {
            Some(next) if cases.len() < wanted => query.page = next,
            _ => break,
        }
    }
    cases.truncate(wanted);
    Ok(cases)
}

pub async fn cases(args: CasesArgs) -> anyhow::Result<()> {
    let state = if args.all { "all" } else { "open" };
    let mut extra = vec![("state", state.to_string())];
    extra.extend(args.sort.clone().map(|s| ("sort", s)));
    let query = args.filters.query(&args.kind, &extra)?;
    if args.limit == Some(0) {
        anyhow::bail!("--limit must be at least 1 (leave it out to list every case)");
    }
    let rt = runtime(&args.common).await?;
    let cases = matching_cases(&rt.engine.store, query, args.limit).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&cases)?);
        return Ok(());
    }
    if args.csv {
        print!("{}", domwatch_web::export::cases_csv(&cases));
        return Ok(());
    }
    if cases.is_empty() {
        if args.kind.is_empty() && !args.filters.any() {
            println!("No open cases. Run `domwatch check` to look for problems.");
        } else {
            println!("No case matches these filters.");
        }
        return Ok(());
    }
    let mut table = Table::new(&[
        ("case", Align::Right),
        ("kind", Align::Left),
        ("domain", Align::Left),
        ("at stake", Align::Right),
        ("state", Align::Left),
    ]);
    for c in &cases {
        table.row([
            c.id.to_string(),
            c.kind.as_str().to_string(),
            c.domain.display(),
            c.at_stake.map(|m| m.to_string()).unwrap_or_default(),
            c.state.as_str().to_string(),
        ]);
    }
    table.print();
    println!(
        "\n{} cases. Details: `domwatch case N`; fix: `domwatch fix N [--dry-run]`.",
        cases.len()
    );
    Ok(())
}

pub async fn case(args: CaseArgs) -> anyhow::Result<()> {
    let rt = runtime(&args.common).await?;
    let (case, options) = rt.engine.fix_options(args.case).await?;
    let history = rt.engine.store.case_events(case.id).await?;
    let guide = domwatch_core::plan::guide(&case.finding);
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "case": case, "guide": guide, "options": options, "history": history,
            }))?
        );
        return Ok(());
    }
    println!(
        "Case {} — {} ({})",
        case.id,
        escape(&guide.title),
        case.state.as_str()
    );
    println!("Domain: {}", domain_with_a_label(&case.domain));
    println!("\nWhat happened: {}", escape(&guide.what_happened));
    println!("What it costs: {}", escape(&guide.what_it_costs));
    if !case.finding.evidence.is_empty() {
        println!();
        let mut table = Table::new(&[
            ("evidence", Align::Left),
            ("billing", Align::Left),
            ("registrar", Align::Left),
        ]);
        for e in &case.finding.evidence {
            table.row([
                e.label.as_str(),
                e.billing.as_deref().unwrap_or("—"),
                e.registrar.as_deref().unwrap_or("—"),
            ]);
        }
        table.print();
    }
    println!("\nSteps:");
    for (i, s) in guide.steps.iter().enumerate() {
        println!("  {}. {}", i + 1, escape(s));
    }
    println!("\nFix options (`domwatch fix {} --option NAME`):", case.id);
    for (i, o) in options.iter().enumerate() {
        println!(
            "  {}{}: {}",
            escape(&o.name),
            if i == 0 { " (recommended)" } else { "" },
            escape(&o.description)
        );
        for a in &o.actions {
            println!("      - {}", escape(&a.describe()));
        }
    }
    println!("\nHistory:");
    for h in &history {
        println!("  {}  {}", h.at.format("%Y-%m-%d %H:%M"), escape(&h.event));
    }
    Ok(())
}

/// The name as shown everywhere, plus its A-label when that is not already shown (an IDN
/// in one script), so the exact name is always on the case page.
fn domain_with_a_label(name: &domwatch_core::DomainName) -> String {
    let shown = name.display();
    if name.is_idn() && !shown.ends_with(')') {
        format!("{shown} ({})", name.ascii())
    } else {
        shown
    }
}

pub async fn fix(args: FixArgs) -> anyhow::Result<ExitCode> {
    let Some(case) = args.case else {
        return crate::cli_bulk_fix::run(args).await;
    };
    if args.bulk.filters.any() {
        anyhow::bail!(
            "--account, --tld, --client, --currency, --min-at-stake and --search select cases \
             for `domwatch fix --kind K`; with case {case} leave them out"
        );
    }
    let rt = runtime(&args.common).await?;
    let mode = if args.dry_run {
        Mode::DryRun
    } else {
        Mode::Apply
    };
    let report = rt
        .engine
        .fix(case, args.option.as_deref(), mode, &actor())
        .await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "Case {}: fix option `{}`{}",
            report.case_id,
            report.option,
            if args.dry_run { " (dry run)" } else { "" }
        );
        for s in &report.steps {
            let mark = match &s.outcome {
                StepOutcome::WouldApply => "would do".to_string(),
                StepOutcome::Applied(r) => format!("done: {}", escape(r)),
                StepOutcome::AlreadyApplied => "already done earlier".to_string(),
                StepOutcome::Failed(e) => format!("FAILED: {}", escape(e)),
                StepOutcome::Manual => "by hand".to_string(),
            };
            println!("  - {}\n      {mark}", escape(&s.description));
        }
        if !args.dry_run && report.succeeded() {
            println!("Run `domwatch check` to confirm the case resolves.");
        }
    }
    if report.succeeded() {
        Ok(ExitCode::SUCCESS)
    } else {
        anyhow::bail!("the fix did not complete; see the failed step above and the audit log")
    }
}
