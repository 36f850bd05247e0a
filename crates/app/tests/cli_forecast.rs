//! `domwatch forecast` and `domwatch cases --csv` through the real binary on the embedded
//! default (no configuration).

use std::path::Path;
use std::process::{Command, Output};

fn domwatch(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_domwatch"))
        .current_dir(dir)
        .env("DOMWATCH_STATE_DIR", dir.join("state"))
        .env(
            "DOMWATCH_DATABASE_URL",
            format!("sqlite://{}", dir.join("domwatch.db").display()),
        )
        .env_remove("DOMWATCH_CONFIG")
        .env("DOMWATCH_LOG", "warn")
        .args(args)
        .output()
        .expect("run domwatch")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("UTF-8 output")
}

#[test]
fn forecast_before_and_after_the_first_check_and_cases_as_csv() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();

    let none = domwatch(dir, &["forecast"]);
    assert!(!none.status.success());
    assert!(
        text(&none.stderr).contains("Run `domwatch check` first"),
        "{}",
        text(&none.stderr)
    );
    let bad = domwatch(dir, &["forecast", "--days", "45"]);
    assert!(!bad.status.success());
    assert!(text(&bad.stderr).contains("30, 60, 90 or 365"));

    domwatch(dir, &["check"]);

    let table = domwatch(dir, &["forecast", "--days", "90"]);
    assert!(table.status.success(), "{}", text(&table.stderr));
    let table = text(&table.stdout);
    assert!(table.contains("Renewal forecast, next 90 days"), "{table}");
    assert!(table.contains("complete"), "{table}");

    let json = domwatch(dir, &["forecast", "--days", "365", "--json"]);
    assert!(json.status.success(), "{}", text(&json.stderr));
    let json: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(json["days"], 365);
    assert_eq!(json["complete"], true);
    let due: u64 = json["window"]["by_currency"]
        .as_object()
        .unwrap()
        .values()
        .map(|t| t["domains"].as_u64().unwrap())
        .sum();
    assert!(due > 0, "the embedded portfolio renews within a year");

    let csv = domwatch(dir, &["forecast", "--days", "365", "--csv"]);
    let csv = text(&csv.stdout);
    assert!(csv.starts_with("row,account,currency,domains,billed,cost,margin,"));
    assert!(csv.lines().any(|l| l.starts_with("total,")), "{csv}");

    let cases = domwatch(dir, &["cases", "--csv"]);
    assert!(cases.status.success(), "{}", text(&cases.stderr));
    let cases = text(&cases.stdout);
    let mut lines = cases.lines();
    assert!(lines
        .next()
        .unwrap()
        .starts_with("id,kind,state,domain,domain_ascii,"));
    assert!(lines.count() > 0, "the embedded portfolio plants cases");
    // An IDN case carries both its Unicode name and its A-label.
    assert!(
        cases.lines().any(|l| l.contains(",xn--")),
        "no A-label in {cases}"
    );
}
