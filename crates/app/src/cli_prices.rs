//! `domwatch tld-prices`: the TLD price cases (issue #12) with their term tables, and Fix
//! now for one of them (`--fix N`, plan first with `--dry-run`). `check` prints a summary.

use crate::cli_common::{actor, runtime, Common};
use crate::table::{Align, Table};
use clap::Args;
use domwatch_core::pricing::{PriceFindingKind, TermRow};
use domwatch_core::text::escape;
use domwatch_engine::{CycleReport, Mode, StepOutcome};
use domwatch_store::PriceCaseRecord;

#[derive(Debug, Args)]
pub struct TldPricesArgs {
    #[command(flatten)]
    pub common: Common,
    /// Include resolved cases.
    #[arg(long)]
    pub all: bool,
    /// Show one case's term table (and its proposed prices).
    #[arg(long)]
    pub case: Option<i64>,
    /// Fix now: write the proposed prices of this case into WHMCS.
    #[arg(long)]
    pub fix: Option<i64>,
    /// With --fix: show the plan, write nothing.
    #[arg(long)]
    pub dry_run: bool,
    #[arg(long)]
    pub json: bool,
}

pub async fn tld_prices(args: TldPricesArgs) -> anyhow::Result<()> {
    let rt = runtime(&args.common).await?;
    if let Some(id) = args.fix {
        let mode = if args.dry_run {
            Mode::DryRun
        } else {
            Mode::Apply
        };
        let report = rt.engine.tld_price_fix(id, mode, &actor()).await?;
        if args.json {
            println!("{}", serde_json::to_string_pretty(&report)?);
        }
        for s in &report.steps {
            let mark = match &s.outcome {
                StepOutcome::WouldApply => "would do (dry run)".to_string(),
                StepOutcome::Applied(r) => format!("done: {}", escape(r)),
                StepOutcome::AlreadyApplied => "already done earlier".into(),
                StepOutcome::Failed(e) => format!("FAILED: {}", escape(e)),
                StepOutcome::Manual => "by hand".into(),
            };
            println!(
                "TLD price case {id}:\n  - {}\n      {mark}",
                escape(&s.description)
            );
        }
        if !report.succeeded() {
            anyhow::bail!("the fix did not complete; see the failed step above and the audit log");
        }
        return Ok(());
    }
    let cases = rt.engine.store.price_cases(!args.all).await?;
    let cases: Vec<&PriceCaseRecord> = match args.case {
        Some(id) => cases.iter().filter(|c| c.id == id).collect(),
        None => cases.iter().collect(),
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&cases)?);
        return Ok(());
    }
    if cases.is_empty() {
        println!("No TLD price cases. Run `domwatch check` to compare WHMCS's TLD prices with the registrars'.");
        return Ok(());
    }
    if args.case.is_some() {
        for c in cases {
            print_case(c);
        }
        return Ok(());
    }
    let mut table = Table::new(&[
        ("case", Align::Right),
        ("TLD", Align::Left),
        ("operation", Align::Left),
        ("currency", Align::Left),
        ("problem", Align::Left),
        ("registrar", Align::Left),
        ("state", Align::Left),
    ]);
    for c in &cases {
        let f = &c.finding;
        table.row([
            c.id.to_string(),
            format!(".{}", f.tld.unicode()),
            f.operation.to_string(),
            f.currency.to_string(),
            f.kind.title().to_string(),
            f.registrar.clone(),
            c.state.clone(),
        ]);
    }
    table.print();
    println!("Show one with `domwatch tld-prices --case N`, fix it with `domwatch tld-prices --fix N --dry-run`.");
    Ok(())
}

/// One case: summary, term table, proposal.
fn print_case(c: &PriceCaseRecord) {
    let f = &c.finding;
    println!(
        "TLD price case {} ({}): {}",
        c.id,
        c.state,
        escape(&f.summary)
    );
    let mut table = Table::new(&TermRow::HEADERS.map(|h| (h, Align::Left)));
    for row in &f.rows {
        table.row(row.cells());
    }
    table.print();
    match &f.proposal {
        Some(p) => println!("Proposed: {}", escape(&p.describe())),
        None => println!("No price to propose: {}", escape(f.kind.title())),
    }
}

/// The TLD prices part of `check`.
pub fn print_check_summary(report: &CycleReport) {
    let Some(stats) = &report.tld_prices else {
        return;
    };
    println!(
        "\nTLD prices: {} (TLD, operation, currency) groups against {} price lists",
        stats.groups,
        stats.zones_read.len()
    );
    for (kind, n) in &stats.findings_by_kind {
        let title = [
            PriceFindingKind::SoldBelowCost,
            PriceFindingKind::BelowMinimumMargin,
            PriceFindingKind::NotOfferedByRegistrar,
            PriceFindingKind::NoExchangeRate,
        ]
        .into_iter()
        .find(|k| k.as_str() == kind)
        .map_or(kind.as_str(), |k| k.title());
        println!("  {n:>5}  {}", escape(title));
    }
    for line in &stats.mapping {
        println!("  note: {}", escape(line));
    }
    for s in stats.skipped.iter().take(10) {
        println!("  ! no verdict: {}", escape(s));
    }
    if report.dry_run {
        println!(
            "  TLD cases: {} would open (or reopen), {} would resolve (dry run: nothing written).",
            stats.would_open, stats.would_resolve
        );
    } else {
        println!(
            "  TLD cases: {} opened, {} reopened, {} updated, {} resolved; see `domwatch tld-prices`.",
            stats.opened, stats.reopened, stats.updated, stats.resolved
        );
    }
}
