//! `domwatch fix --kind …` through the real binary on the embedded default: the plan and
//! its CSV write nothing, a run killed with SIGKILL half way is resumed by the same
//! command, and every write is made once: one audit line per write, and the values in the
//! sandbox WHMCS are the planned ones.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const KINDS: &str = "renewal_underpriced,transfer_lock_off";

fn domwatch(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_domwatch"));
    cmd.current_dir(dir)
        .env("DOMWATCH_STATE_DIR", dir.join("state"))
        .env(
            "DOMWATCH_DATABASE_URL",
            format!("sqlite://{}", dir.join("domwatch.db").display()),
        )
        .env_remove("DOMWATCH_CONFIG")
        .env("DOMWATCH_LOG", "warn")
        .stdin(Stdio::null());
    cmd
}

fn output(dir: &Path, args: &[&str]) -> Output {
    domwatch(dir).args(args).output().expect("run domwatch")
}

fn text(out: &Output) -> String {
    format!(
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Rows of a query on an SQLite file, as JSON arrays (python3, as the other CLI tests).
fn sql(db: &Path, query: &str) -> Vec<Vec<serde_json::Value>> {
    let out = Command::new("python3")
        .args([
            "-c",
            "import sqlite3,sys,json; c=sqlite3.connect(sys.argv[1]); \
             print(json.dumps([list(r) for r in c.execute(sys.argv[2])]))",
        ])
        .arg(db)
        .arg(query)
        .output()
        .expect("python3 reads the database");
    assert!(out.status.success(), "{}", text(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Audit lines of the CLI's writes (a check's automatic actions have their own actor).
fn audit_lines(dir: &Path) -> usize {
    let query = "SELECT COUNT(*) FROM audit_log WHERE actor LIKE 'cli:%'";
    sql(&dir.join("domwatch.db"), query)[0][0].as_u64().unwrap() as usize
}

#[test]
fn bulk_fix_plans_applies_survives_kill_and_resumes_once() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let out = output(dir, &["check"]);
    assert!(out.status.success(), "{}", text(&out));

    // The plan: counted, every write in the CSV, nothing written.
    let csv = dir.join("plan.csv");
    let out = output(
        dir,
        &[
            "fix",
            "--kind",
            KINDS,
            "--dry-run",
            "--json",
            "--csv",
            csv.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let to_fix = plan["to_fix"].as_u64().unwrap();
    assert!(to_fix >= 10, "{plan}");
    let rows: Vec<String> = std::fs::read_to_string(&csv)
        .unwrap()
        .lines()
        .skip(1)
        .map(str::to_string)
        .collect();
    assert_eq!(rows.len() as u64, to_fix, "one write per case here");
    assert_eq!(audit_lines(dir), 0, "a plan writes nothing");

    // Without --yes and without a terminal: refused, nothing written.
    let out = output(dir, &["fix", "--kind", KINDS]);
    assert!(!out.status.success());
    assert!(text(&out).contains("--yes"), "{}", text(&out));

    // Killed (SIGKILL) once a few writes are in, paced at 4 per second per system.
    let mut child = domwatch(dir)
        .args(["fix", "--kind", KINDS, "--yes", "--rate", "4"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while audit_lines(dir) < 4 {
        assert!(started.elapsed() < Duration::from_secs(60), "no writes");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let at_kill = audit_lines(dir);
    assert!((at_kill as u64) < to_fix, "killed half way: {at_kill}");

    // Resumed by the same command: the rest is written. The case the killed run was in the
    // middle of is taken over at once (its process is gone from this machine), after a look
    // at WHMCS for the write the killed run may have made.
    let out = output(
        dir,
        &["fix", "--kind", KINDS, "--yes", "--rate", "0", "--json"],
    );
    let both: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{}", text(&out)));
    let report = &both["report"];
    let busy = report["busy"].as_u64().unwrap();
    assert_eq!(busy, 0, "{report}");
    assert_eq!(report["failed"], 0, "{report}");
    assert_eq!(out.status.code(), Some(0), "{report}");
    assert_eq!(
        report["writes"].as_u64().unwrap() + at_kill as u64 + busy,
        to_fix,
        "{report}"
    );

    // One audit line per write, every one ok, and WHMCS holds the planned amounts.
    let lines = sql(
        &dir.join("domwatch.db"),
        "SELECT object, operation, COUNT(*), MIN(ok) FROM audit_log WHERE actor LIKE 'cli:%' \
         GROUP BY object, operation",
    );
    assert_eq!(lines.len() as u64, to_fix - busy);
    for l in &lines {
        assert_eq!((l[2].as_u64(), l[3].as_u64()), (Some(1), Some(1)), "{l:?}");
    }
    let busy_cases: Vec<String> = report["failures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f[0].to_string())
        .collect();
    let whmcs = dir.join("state").join("sandbox-whmcs.db");
    for row in rows.iter().filter(|r| r.contains("billing:recurring:")) {
        if busy_cases.iter().any(|c| row.starts_with(&format!("{c},"))) {
            continue;
        }
        let key = row.split(',').nth(7).unwrap();
        let mut parts = key.split(':').skip(2);
        let id = parts.next().unwrap();
        let amount = parts.next().unwrap().trim_end_matches(char::is_alphabetic);
        let stored = sql(
            &whmcs,
            &format!("SELECT CAST(recurringamount AS TEXT) FROM tbldomains WHERE id = {id}"),
        );
        let stored: f64 = stored[0][0].as_str().unwrap().parse().unwrap();
        let planned: f64 = amount.parse().unwrap();
        assert!((stored - planned).abs() < 0.005, "domain {id}: {stored}");
    }

    // A further run finds everything but a busy case done and writes nothing.
    let out = output(dir, &["fix", "--kind", KINDS, "--yes", "--json"]);
    let again: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{}", text(&out)));
    let writes = again["report"]["writes"].as_u64().unwrap_or(0);
    assert_eq!(writes, 0, "{again}");
    assert_eq!(audit_lines(dir) as u64, to_fix - busy);
}

#[test]
fn one_case_still_fixes_by_number_and_a_case_excludes_filters() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let out = output(dir, &["fix", "3", "--kind", "expiry_drift"]);
    assert!(!out.status.success());
    assert!(text(&out).contains("cannot be used with"), "{}", text(&out));
    let out = output(
        dir,
        &["fix", "--kind", "expiry_drift", "--min-at-stake", "lots"],
    );
    assert!(text(&out).contains("--min-at-stake"), "{}", text(&out));
    let out = output(dir, &["fix"]);
    assert!(!out.status.success());
}
