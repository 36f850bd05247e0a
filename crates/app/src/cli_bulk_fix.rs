//! `domwatch fix --kind K [filters]`: bulk Fix now. Prints the combined plan (and writes
//! every write to a CSV file), then applies it case by case with a progress bar, paced per
//! outside system; Ctrl-C stops after the current case, and the same command resumes.

use crate::cli_cases::FixArgs;
use crate::cli_common::{actor, runtime};
use anyhow::Context;
use clap::Args;
use domwatch_core::text::escape;
use domwatch_engine::{
    BulkOptions, BulkPlan, BulkProgress, BulkReport, CaseOutcome, Engine, PlannedWrite,
};
use domwatch_store::{CaseQuery, CaseRecord};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

/// Exit code of a bulk fix that stopped early or left cases busy or failed: run it again.
const EXIT_UNFINISHED: u8 = 2;

/// The filters and pacing of a bulk fix (`domwatch fix --kind K …`).
#[derive(Debug, Args)]
pub struct BulkArgs {
    /// Fix every open case of this kind (repeatable, or comma-separated), instead of one case.
    #[arg(long, value_name = "KIND")]
    pub kind: Vec<String>,
    #[command(flatten)]
    pub filters: crate::cli_filters::CaseFilters,
    /// Write the plan's writes (one row each) to this CSV file.
    #[arg(long, value_name = "FILE", requires = "kind")]
    pub csv: Option<PathBuf>,
    /// Writes per second toward each outside system (WHMCS, each registrar account);
    /// 0: no limit.
    #[arg(long, value_name = "N", default_value_t = 5.0, requires = "kind")]
    pub rate: f64,
    /// Apply without asking (needed when not at a terminal).
    #[arg(long, short = 'y', requires = "kind")]
    pub yes: bool,
}

pub async fn run(args: FixArgs) -> anyhow::Result<ExitCode> {
    let query = args.bulk.filters.query(&args.bulk.kind, &[])?;
    if !(args.bulk.rate >= 0.0 && args.bulk.rate.is_finite()) {
        anyhow::bail!("--rate must be 0 (no limit) or a number of writes per second such as 5");
    }
    let options = BulkOptions {
        option: args.option.clone(),
        rate_per_second: Some(args.bulk.rate).filter(|r| *r > 0.0),
        ..BulkOptions::default()
    };
    let rt = runtime(&args.common).await?;
    let plan = plan(&rt.engine, &query, &options, args.bulk.csv.as_ref()).await?;
    if !args.json {
        print_plan(&plan, &options, args.bulk.csv.as_ref());
    }
    if args.dry_run || plan.to_fix == 0 {
        if args.json {
            println!("{}", serde_json::to_string_pretty(&plan)?);
        } else {
            println!(
                "{}",
                if args.dry_run {
                    "Dry run: nothing written."
                } else {
                    "Nothing to write."
                }
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    if !args.bulk.yes && !confirm(&plan)? {
        println!("Nothing written.");
        return Ok(ExitCode::SUCCESS);
    }
    let report = apply(&rt.engine, &query, &options, args.json).await?;
    if args.json {
        let both = serde_json::json!({"plan": plan, "report": report});
        println!("{}", serde_json::to_string_pretty(&both)?);
    } else {
        print_report(&report);
    }
    Ok(if report.complete() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_UNFINISHED)
    })
}

/// The combined plan, its writes streamed to the CSV file when asked for.
async fn plan(
    engine: &Engine,
    query: &CaseQuery,
    options: &BulkOptions,
    csv: Option<&PathBuf>,
) -> anyhow::Result<BulkPlan> {
    let mut file = match csv {
        Some(path) => Some(std::io::BufWriter::new(
            std::fs::File::create(path)
                .with_context(|| format!("cannot create the plan file {}", path.display()))?,
        )),
        None => None,
    };
    let mut row = String::new();
    let mut failed: Option<std::io::Error> = None;
    if let Some(f) = file.as_mut() {
        PlannedWrite::push_csv_header(&mut row);
        f.write_all(row.as_bytes())?;
    }
    let plan = engine
        .bulk_plan(query, options, &mut |w: &PlannedWrite| {
            if let (Some(f), None) = (file.as_mut(), &failed) {
                row.clear();
                w.push_csv_row(&mut row);
                if let Err(e) = f.write_all(row.as_bytes()) {
                    failed = Some(e);
                }
            }
        })
        .await?;
    if let Some(e) = failed {
        return Err(e).context("writing the plan file");
    }
    if let Some(mut f) = file {
        f.flush().context("writing the plan file")?;
    }
    Ok(plan)
}

fn print_plan(plan: &BulkPlan, options: &BulkOptions, csv: Option<&PathBuf>) {
    println!(
        "Bulk fix of {} cases (option: {}): {} to fix, {} already fixed, {} by hand only, {} skipped.",
        plan.cases,
        options.option.as_deref().map(escape).unwrap_or_else(|| "each case's recommended one".into()),
        plan.to_fix,
        plan.already_fixed,
        plan.by_hand,
        plan.skipped
    );
    if !plan.actions.is_empty() {
        let mut table = crate::table::Table::new(&[
            ("action", crate::table::Align::Left),
            ("to write", crate::table::Align::Right),
            ("done earlier", crate::table::Align::Right),
            ("by hand", crate::table::Align::Right),
        ]);
        for (name, c) in &plan.actions {
            table.row([
                name.clone(),
                c.would_apply.to_string(),
                c.already_applied.to_string(),
                c.manual.to_string(),
            ]);
        }
        table.print();
    }
    for (system, n) in &plan.writes_per_system {
        let pace = match options.interval() {
            Some(d) => format!(
                " (paced: at least {:.0}s)",
                d.as_secs_f64() * (*n as f64 - 1.0).max(0.0)
            ),
            None => String::new(),
        };
        println!("Writes to {}: {n}{pace}", escape(system));
    }
    for (currency, amount) in &plan.money_affected {
        println!(
            "Money at stake in the cases to fix: {:.2} {currency}",
            amount
        );
    }
    if let Some(path) = csv {
        println!(
            "Every write is listed in {} ({} rows).",
            escape(&path.display().to_string()),
            plan.actions
                .values()
                .map(|c| c.would_apply + c.already_applied + c.manual)
                .sum::<u64>()
        );
    }
}

/// Asks at a terminal; elsewhere `--yes` is required.
fn confirm(plan: &BulkPlan) -> anyhow::Result<bool> {
    if !std::io::stdin().is_terminal() {
        anyhow::bail!(
            "not at a terminal: add --yes to apply these {} writes, or --dry-run to only see them",
            plan.writes()
        );
    }
    print!(
        "Apply {} writes to {} cases? [y/N] ",
        plan.writes(),
        plan.to_fix
    );
    std::io::stdout().flush()?;
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}

/// Applies with a bar; the first Ctrl-C stops after the current case, a second one exits.
async fn apply(
    engine: &Engine,
    query: &CaseQuery,
    options: &BulkOptions,
    quiet: bool,
) -> anyhow::Result<BulkReport> {
    let stop = Arc::new(AtomicBool::new(false));
    let bar = if quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(0)
    };
    let watcher = {
        let (stop, bar) = (stop.clone(), bar.clone());
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                stop.store(true, Ordering::SeqCst);
                bar.println("Stopping after the current case (Ctrl-C again to quit at once)…");
            }
            if tokio::signal::ctrl_c().await.is_ok() {
                std::process::exit(130);
            }
        })
    };
    let progress = Bar {
        bar: bar.clone(),
        fixed: AtomicU64::new(0),
        failed: AtomicU64::new(0),
    };
    let report = engine
        .bulk_fix(query, options, &actor(), &stop, &progress)
        .await;
    watcher.abort();
    bar.finish_and_clear();
    Ok(report?)
}

struct Bar {
    bar: ProgressBar,
    fixed: AtomicU64,
    failed: AtomicU64,
}

impl BulkProgress for Bar {
    fn started(&self, cases: u64) {
        self.bar.set_style(
            ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} ({eta})")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        self.bar.set_length(cases);
    }

    fn case_done(&self, case: &CaseRecord, outcome: &CaseOutcome) {
        match outcome {
            CaseOutcome::Fixed(_) => {
                self.fixed.fetch_add(1, Ordering::Relaxed);
            }
            CaseOutcome::Failed(why) | CaseOutcome::Busy(why) => {
                self.failed.fetch_add(1, Ordering::Relaxed);
                self.bar.println(format!(
                    "  ! case {} ({}): {}",
                    case.id,
                    case.domain.display(),
                    escape(why)
                ));
            }
            _ => {}
        }
        self.bar.set_message(format!(
            "fixed {}, not fixed {}",
            self.fixed.load(Ordering::Relaxed),
            self.failed.load(Ordering::Relaxed)
        ));
        self.bar.inc(1);
    }
}

fn print_report(r: &BulkReport) {
    println!(
        "{} cases: {} fixed ({} writes), {} already fixed, {} by hand, {} failed, {} busy, {} skipped.",
        r.cases, r.fixed, r.writes, r.already_fixed, r.by_hand, r.failed, r.busy, r.skipped
    );
    for (case, why) in &r.failures {
        println!("  ! case {case}: {}", escape(why));
    }
    if let Some(why) = &r.gave_up {
        println!("Gave up: {}", escape(why));
    } else if r.stopped {
        println!("Stopped. Run the same command again to continue: applied writes are skipped.");
    } else if !r.complete() {
        println!("Some cases were not fixed; run the same command again once the cause is fixed: applied writes are skipped.");
    }
    println!("Every write is in the audit log; run `domwatch check` to confirm the cases resolve.");
}
