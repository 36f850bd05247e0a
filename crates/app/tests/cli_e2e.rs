//! The user's path through the real binary on the embedded default (no configuration):
//! `domwatch check` finds cases, survives `kill -9` half way without duplicate notices,
//! `domwatch fix N` fixes one, and the next `check` shows it resolved.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

fn domwatch(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_domwatch"));
    cmd.current_dir(dir)
        .env("DOMWATCH_STATE_DIR", dir.join("state"))
        .env(
            "DOMWATCH_DATABASE_URL",
            format!("sqlite://{}", dir.join("domwatch.db").display()),
        )
        .env_remove("DOMWATCH_CONFIG")
        .env("DOMWATCH_LOG", "warn");
    cmd
}

fn run(dir: &Path, args: &[&str]) -> Output {
    let out = domwatch(dir).args(args).output().expect("run domwatch");
    assert!(
        out.status.success(),
        "domwatch {args:?} failed:\nstdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn json(dir: &Path, args: &[&str]) -> serde_json::Value {
    serde_json::from_slice(&run(dir, args).stdout).expect("JSON output")
}

/// Ticket subjects in the embedded sandbox WHMCS (its tables live in the state dir).
fn ticket_subjects(dir: &Path) -> Vec<String> {
    let db = dir.join("state").join("sandbox-whmcs.db");
    let out = Command::new("python3")
        .args([
            "-c",
            "import sqlite3,sys,json; c=sqlite3.connect(sys.argv[1]); \
             print(json.dumps([r[0] for r in c.execute('select title from tbltickets order by id')]))",
        ])
        .arg(&db)
        .output()
        .expect("python3 reads the sandbox database");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn check_kill_rerun_fix_resolve() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();

    // Runs killed half way (SIGKILL, no cleanup) at points spread over a whole check
    // (~0.5 s here): during seeding, fetching, recording and notifying.
    for delay_ms in [60u64, 150, 250, 330, 420, 520] {
        let mut child = domwatch(dir)
            .arg("check")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = child.kill();
        let _ = child.wait();
    }

    let out = run(dir, &["check"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Cases:"), "{text}");
    run(dir, &["check"]);

    let subjects = ticket_subjects(dir);
    assert!(
        !subjects.is_empty(),
        "admin notices were raised as bot tickets"
    );
    let mut sorted = subjects.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(
        sorted.len(),
        subjects.len(),
        "duplicate tickets after kill -9 and reruns: {subjects:#?}"
    );

    let cases = json(dir, &["cases", "--json"]);
    let cases = cases.as_array().unwrap();
    let kinds: std::collections::BTreeSet<&str> =
        cases.iter().map(|c| c["kind"].as_str().unwrap()).collect();
    for kind in [
        "turned_premium",
        "renewal_underpriced",
        "expiry_drift",
        "paid_not_renewed",
        "orphan_at_registrar",
        "cancellation_due",
        "contact_policy_violation",
    ] {
        assert!(kinds.contains(kind), "no {kind} case in {kinds:?}");
    }

    // One fix written to WHMCS, one to the registrar (the contact policy): both must still
    // hold in the next run, so both cases resolve.
    let mut fixed_ids = Vec::new();
    for kind in ["renewal_underpriced", "contact_policy_violation"] {
        let case = cases.iter().find(|c| c["kind"] == kind).unwrap();
        let id = case["id"].as_i64().unwrap().to_string();
        let shown = run(dir, &["case", &id]);
        assert!(String::from_utf8_lossy(&shown.stdout).contains("Fix options"));
        let preview = json(dir, &["fix", &id, "--dry-run", "--json"]);
        assert_eq!(preview["steps"][0]["outcome"]["outcome"], "would_apply");
        let fixed = json(dir, &["fix", &id, "--json"]);
        assert_eq!(
            fixed["steps"][0]["outcome"]["outcome"], "applied",
            "{fixed}"
        );
        fixed_ids.push(id);
    }

    run(dir, &["check"]);
    let all = json(dir, &["cases", "--all", "--json"]);
    for id in &fixed_ids {
        let after = all
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"].as_i64().unwrap().to_string() == *id)
            .unwrap();
        assert_eq!(after["state"], "resolved", "{after}");
    }
    // The only notices a rerun may add are for cases that open later by design: "not found
    // at the registrar" opens after three absent checks, and killed runs may or may not
    // have counted a strike.
    let after_fix = ticket_subjects(dir);
    let new: Vec<&String> = after_fix
        .iter()
        .filter(|s| !subjects.contains(s) && !s.contains("not found at the registrar"))
        .collect();
    assert!(new.is_empty(), "reruns raised new notices: {new:#?}");
    let mut all = after_fix.clone();
    all.sort();
    all.dedup();
    assert_eq!(
        all.len(),
        after_fix.len(),
        "duplicate tickets: {after_fix:#?}"
    );
}

#[test]
fn bad_config_gives_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.toml"),
        "[whmcs]\nurl = \"https://x\"\nidentifier = \"a\"\n",
    )
    .unwrap();
    let out = domwatch(dir.path())
        .args(["check", "--config", "bad.toml"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("whmcs.secret"), "{err}");
}
