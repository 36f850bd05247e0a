//! Log lines on stderr: plain text without colour codes when stderr is a pipe, and one
//! JSON object per line with `--log-format json`. Uses `billing list-domains`, which
//! starts an in-process sandbox WHMCS and logs each API call at debug level.

use std::process::{Command, Stdio};

fn stderr_of(log_format: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_domwatch"))
        .args(["--log", "domwatch_whmcs=debug", "--log-format", log_format])
        .args(["billing", "list-domains"])
        .env_remove("RUST_LOG")
        .env_remove("NO_COLOR")
        .env_remove("DOMWATCH_LOG_FORMAT")
        .env_remove("DOMWATCH_WHMCS_URL")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .expect("domwatch runs");
    let stderr = String::from_utf8(out.stderr).expect("stderr is UTF-8");
    assert!(out.status.success(), "{stderr}");
    stderr
}

#[test]
fn text_logs_to_a_pipe_carry_no_colour_codes() {
    let stderr = stderr_of("text");
    assert!(stderr.contains("WHMCS API call"), "no log line:\n{stderr}");
    assert!(!stderr.contains("\x1b["), "colour codes in:\n{stderr}");
}

#[test]
fn json_logs_are_one_object_per_line() {
    let stderr = stderr_of("json");
    let logs: Vec<serde_json::Value> = stderr
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(
        logs.iter()
            .any(|v| v["fields"]["message"] == "WHMCS API call" && v["level"] == "DEBUG"),
        "{stderr}"
    );
    // Every log line is JSON; the rest of stderr is the command's own notes.
    assert!(
        stderr
            .lines()
            .filter(|l| l.contains("WHMCS API call"))
            .all(|l| l.starts_with('{')),
        "{stderr}"
    );
    assert!(!stderr.contains("\x1b["), "{stderr}");
}
