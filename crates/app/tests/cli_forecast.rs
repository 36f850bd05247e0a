//! `domwatch forecast` and `domwatch cases` (CSV, JSON, filters) through the real binary on
//! the embedded default (no configuration).

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
    cases_with_filters(dir);
}

fn json_cases(dir: &Path, args: &[&str]) -> Vec<serde_json::Value> {
    let out = domwatch(dir, &[&["cases", "--json"], args].concat());
    assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// `domwatch cases` takes the dashboard's filters, a sort and a limit.
fn cases_with_filters(dir: &Path) {
    let all = json_cases(dir, &[]);
    assert!(all.len() > 3, "{}", all.len());
    let kind = all[0]["kind"].as_str().unwrap().to_string();
    let of_kind = json_cases(dir, &["--kind", &kind]);
    let expected = all.iter().filter(|c| c["kind"] == kind.as_str()).count();
    assert_eq!(of_kind.len(), expected);
    assert!(of_kind.iter().all(|c| c["kind"] == kind.as_str()));
    let top = json_cases(dir, &["--sort", "at_stake", "--limit", "3"]);
    assert_eq!(top.len(), 3);
    let name = all[1]["domain"].as_str().unwrap().to_string();
    let found = json_cases(dir, &["--search", &name]);
    assert!(found.iter().any(|c| c["domain"] == name.as_str()), "{name}");
    assert!(found.len() < all.len());

    let none = domwatch(dir, &["cases", "--search", "no-such-domain-anywhere"]);
    assert!(text(&none.stdout).contains("No case matches these filters"));
    let bad = domwatch(dir, &["cases", "--min-at-stake", "lots"]);
    assert!(!bad.status.success());
    assert!(
        text(&bad.stderr).contains("--min-at-stake"),
        "{}",
        text(&bad.stderr)
    );
    let bad = domwatch(dir, &["fix", "1", "--tld", "de"]);
    assert!(!bad.status.success());
    assert!(
        text(&bad.stderr).contains("leave them out"),
        "{}",
        text(&bad.stderr)
    );
}
