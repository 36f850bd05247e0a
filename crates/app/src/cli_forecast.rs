//! `domwatch forecast`: the renewal forecast the last monitoring cycle stored, for the
//! next 30, 60, 90 or 365 days, as a table, JSON or CSV.

use crate::cli_common::{runtime, Common};
use crate::table::{Align, Table};
use clap::Args;
use domwatch_core::forecast::{ForecastReport, Totals};
use domwatch_core::text::escape;
use domwatch_store::ForecastRecord;
use domwatch_web::export::{forecast_csv, forecast_json, NoSuchWindow};
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct ForecastArgs {
    #[command(flatten)]
    pub common: Common,
    /// The window: 30, 60, 90 or 365 days from today.
    #[arg(long, default_value_t = 90)]
    pub days: i64,
    /// Print the window as JSON.
    #[arg(long, conflicts_with = "csv")]
    pub json: bool,
    /// Print the window as CSV (totals, per account, loss-makers).
    #[arg(long)]
    pub csv: bool,
}

/// What to say when no cycle has stored a forecast yet.
const NO_FORECAST: &str =
    "No forecast yet: every monitoring cycle computes one. Run `domwatch check` first.";

/// Exits 2 when the stored forecast is partial (as `check` does for a partial cycle).
pub async fn forecast(args: ForecastArgs) -> anyhow::Result<ExitCode> {
    // A wrong window is a usage error before anything starts.
    forecast_window(args.days)?;
    let rt = runtime(&args.common).await?;
    let Some(record) = rt.engine.store.latest_forecast().await? else {
        anyhow::bail!(NO_FORECAST);
    };
    if !record.complete {
        eprintln!("{}", partial_note(&record));
    }
    if args.json {
        let value = forecast_json(&record, args.days)?;
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else if args.csv {
        print!("{}", forecast_csv(&record, args.days)?);
    } else {
        print_forecast(&record, args.days);
    }
    Ok(if record.complete {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

fn forecast_window(days: i64) -> Result<(), NoSuchWindow> {
    if domwatch_core::forecast::WINDOWS.contains(&days) {
        Ok(())
    } else {
        Err(NoSuchWindow(days))
    }
}

/// The warning for a partial forecast, naming what was missing (escaped for the terminal).
fn partial_note(record: &ForecastRecord) -> String {
    let mut note = format!(
        "PARTIAL forecast (run #{}): these inputs could not be read, so their domains are missing from every sum (not counted as zero):",
        record.run_id
    );
    for m in &record.missing {
        note.push_str(&format!("\n  - {}", escape(m)));
    }
    note
}

fn totals_row(table: &mut Table, account: &str, currency: &str, t: &Totals) {
    table.row([
        escape(account).into_owned(),
        currency.to_string(),
        t.domains.to_string(),
        format!("{:.2}", t.billed),
        format!("{:.2}", t.cost),
        format!("{:.2}", t.margin),
    ]);
}

fn print_forecast(record: &ForecastRecord, days: i64) {
    let r = &record.report;
    println!(
        "Renewal forecast, next {days} days from {} (run #{}, {}).",
        r.today,
        record.run_id,
        if record.complete {
            "complete"
        } else {
            "PARTIAL"
        }
    );
    let mut table = Table::new(&[
        ("account", Align::Left),
        ("currency", Align::Left),
        ("due", Align::Right),
        ("billed", Align::Right),
        ("cost", Align::Right),
        ("margin", Align::Right),
    ]);
    if let Some(w) = r.window(days) {
        for (currency, t) in &w.by_currency {
            totals_row(&mut table, "all", currency.as_str(), t);
        }
        for (account, by_currency) in &w.by_account {
            for (currency, t) in by_currency {
                totals_row(&mut table, account, currency.as_str(), t);
            }
        }
    }
    table.print();
    print_losses(r, days);
    println!(
        "\nLeft out: {} without an exchange rate, {} without a registrar price, {} due beyond 365 days.",
        r.no_rate.count, r.no_cost.count, r.beyond
    );
}

fn print_losses(r: &ForecastReport, days: i64) {
    let losses = r.loss_makers_within(days);
    if losses.is_empty() {
        println!("\nNo renewal in this window costs more than it bills.");
        return;
    }
    println!("\nLoss-makers:");
    let mut table = Table::new(&[
        ("domain", Align::Left),
        ("due", Align::Left),
        ("account", Align::Left),
        ("billed", Align::Right),
        ("cost", Align::Right),
        ("loss", Align::Right),
    ]);
    for list in losses.values() {
        for l in list {
            table.row([
                l.domain.display(),
                l.due.to_string(),
                escape(&l.account).into_owned(),
                l.billed.round_cents().to_string(),
                l.cost.to_string(),
                l.loss.to_string(),
            ]);
        }
    }
    table.print();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_four_windows_are_accepted() {
        for days in [30, 60, 90, 365] {
            assert!(forecast_window(days).is_ok());
        }
        let e = forecast_window(45).unwrap_err().to_string();
        assert!(e.contains("30, 60, 90 or 365"), "{e}");
    }

    #[test]
    fn a_partial_note_names_what_is_missing_escaped() {
        let record = ForecastRecord {
            run_id: 7,
            computed_at: chrono::Utc::now(),
            complete: false,
            missing: vec!["registrar account hx could not be read (\u{1b}[31m530)".into()],
            report: serde_json::from_value(serde_json::json!({
                "today": "2026-12-02", "windows": [], "weeks": [], "loss_makers": {},
                "no_rate": {"count": 0, "names": [], "pairs": {}},
                "no_cost": {"count": 0, "names": [], "pairs": {}},
                "overdue": {}, "beyond": 0
            }))
            .unwrap(),
        };
        let note = partial_note(&record);
        assert!(note.contains("PARTIAL") && note.contains("hx"));
        assert!(!note.contains('\u{1b}'), "escaped for the terminal");
    }
}
