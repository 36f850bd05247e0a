//! Parser throughput on a generated 100 000-row CNR `QueryDomainList WIDE=1` response,
//! compared with the official Python connector (`centralnicreseller-apiconnector` 6.0.0)
//! parsing the same bytes in the same run.
//!
//! Run: `cargo bench -p domwatch-rrp --bench parse`. The Python side uses
//! `$DOMWATCH_PYTHON`, else `<workspace>/.venv/bin/python`; it is skipped (with a note)
//! when neither has the package. Set up with:
//! `python -m venv .venv && .venv/bin/pip install centralnicreseller-apiconnector==6.0.0`.

use domwatch_rrp::codec::Response;
use domwatch_rrp::ops::domains_from_cnr_list;
use std::fmt::Write;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

/// `cargo bench` passes `--bench`: measure for real. `cargo test --all-targets` runs this
/// binary without it: a quick smoke run of the same code paths on a small input.
fn full_run() -> bool {
    static FULL: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *FULL.get_or_init(|| std::env::args().any(|a| a == "--bench"))
}

fn rows() -> usize {
    if full_run() {
        100_000
    } else {
        2_000
    }
}

fn rust_iterations() -> usize {
    if full_run() {
        15
    } else {
        1
    }
}

fn python_parse_iterations() -> usize {
    if full_run() {
        5
    } else {
        1
    }
}

fn python_response_iterations() -> usize {
    if full_run() {
        3
    } else {
        1
    }
}

/// A CNR property name and the value it has in row `i`.
type GeneratedColumn = (&'static str, Box<dyn Fn(usize) -> String>);

/// A realistic CNR wide list: lower-case spaced names, `.0` dates, columns in the
/// alphabetical, column-by-column order real CNR captures show.
fn generate_body() -> String {
    let tlds = ["com", "net", "de", "guru", "co.uk", "online"];
    let modes = ["DEFAULT", "AUTORENEW", "AUTOEXPIRE", "RENEWONCE"];
    let columns: Vec<GeneratedColumn> = vec![
        (
            "domain",
            Box::new(move |i| format!("example-{i:06}.{}", tlds[i % tlds.len()])),
        ),
        (
            "domain created date",
            Box::new(|i| {
                format!(
                    "20{:02}-{:02}-{:02} 1{}:2{}:3{}.0",
                    10 + i % 15,
                    i % 12 + 1,
                    i % 28 + 1,
                    i % 10,
                    i % 10,
                    i % 10
                )
            }),
        ),
        (
            "domain idn",
            Box::new(move |i| format!("example-{i:06}.{}", tlds[i % tlds.len()])),
        ),
        (
            "domain registration expiration date",
            Box::new(|i| {
                format!(
                    "20{:02}-{:02}-{:02} 1{}:2{}:3{}.0",
                    26 + i % 3,
                    i % 12 + 1,
                    i % 28 + 1,
                    i % 10,
                    i % 10,
                    i % 10
                )
            }),
        ),
        (
            "domain renewal date",
            Box::new(|i| {
                format!(
                    "20{:02}-{:02}-{:02} 1{}:2{}:3{}.0",
                    26 + i % 3,
                    i % 12 + 1,
                    i % 28 + 1,
                    i % 10,
                    i % 10,
                    i % 10
                )
            }),
        ),
        (
            "domain updated date",
            Box::new(|i| format!("2025-{:02}-{:02} 08:00:00.0", i % 12 + 1, i % 28 + 1)),
        ),
        (
            "domain zone",
            Box::new(move |i| tlds[i % tlds.len()].to_string()),
        ),
        (
            "renewalmode",
            Box::new(move |i| modes[i % modes.len()].to_string()),
        ),
        (
            "roid",
            Box::new(|i| format!("{}_DOMAIN_COM-VRSN", 1_000_000_000 + i)),
        ),
        ("transfermode", Box::new(|_| "DEFAULT".to_string())),
        ("x-time-to-suspension", Box::new(|_| String::new())),
    ];
    let mut body = String::with_capacity(rows() * 520);
    body.push_str("[RESPONSE]\ncode = 200\ndescription = Command completed successfully\nqueuetime = 0\nruntime = 2.417\n");
    for (i, (name, _)) in columns.iter().enumerate() {
        writeln!(body, "property[column][{i}] = {name}").unwrap();
    }
    writeln!(body, "property[count][0] = {}", rows()).unwrap();
    for (name, value) in &columns {
        for row in 0..rows() {
            writeln!(body, "property[{name}][{row}] = {}", value(row)).unwrap();
        }
    }
    writeln!(body, "property[first][0] = 0\nproperty[last][0] = {}\nproperty[limit][0] = {}\nproperty[total][0] = {}\nEOF", rows() - 1, rows(), rows()).unwrap();
    body
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn report(label: &str, bytes: usize, time: Duration) -> f64 {
    let seconds = time.as_secs_f64();
    println!(
        "{label:<44} median {:>9.2} ms  {:>8.1} MB/s  {:>12.0} rows/s",
        seconds * 1e3,
        bytes as f64 / seconds / 1e6,
        rows() as f64 / seconds
    );
    seconds
}

fn python_interpreter() -> Option<PathBuf> {
    if let Ok(path) = std::env::var("DOMWATCH_PYTHON") {
        return Some(PathBuf::from(path));
    }
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python");
    venv.exists().then_some(venv)
}

const PYTHON_SCRIPT: &str = r#"
import sys, time, statistics
from centralnicreseller.apiconnector import responseparser
from centralnicreseller.apiconnector.response import Response
raw = open(sys.argv[1], encoding="utf-8").read()
parse_iterations, response_iterations = int(sys.argv[2]), int(sys.argv[3])
def timed(fn, n):
    samples = []
    for _ in range(n):
        start = time.perf_counter(); result = fn(); samples.append(time.perf_counter() - start)
    return statistics.median(samples), result
parse_time, parsed = timed(lambda: responseparser.parse(raw), parse_iterations)
assert len(parsed["PROPERTY"]["DOMAIN"]) == int(sys.argv[4])
response_time, response = timed(lambda: Response(raw), response_iterations)
assert response.getRecordsCount() == int(sys.argv[4])
print(f"parse {parse_time}")
print(f"response {response_time}")
"#;

/// Median seconds of the Python `responseparser.parse` and of `Response(raw)`.
fn run_python(body: &str) -> Result<(f64, f64), String> {
    let python = python_interpreter().ok_or("no $DOMWATCH_PYTHON and no .venv/bin/python")?;
    let dir = std::env::temp_dir().join(format!("domwatch-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let body_path = dir.join("body.txt");
    std::fs::write(&body_path, body).map_err(|e| e.to_string())?;
    let output = Command::new(&python)
        .arg("-c")
        .arg(PYTHON_SCRIPT)
        .arg(&body_path)
        .arg(python_parse_iterations().to_string())
        .arg(python_response_iterations().to_string())
        .arg(rows().to_string())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", python.display()))?;
    let _ = std::fs::remove_dir_all(&dir);
    if !output.status.success() {
        return Err(format!(
            "{} failed (is centralnicreseller-apiconnector==6.0.0 installed?): {}",
            python.display(),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let value = |key: &str| -> Result<f64, String> {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(key)?.trim().parse().ok())
            .ok_or_else(|| format!("python output lacks `{key}`: {stdout}"))
    };
    Ok((value("parse ")?, value("response ")?))
}

fn main() {
    let body = generate_body();
    let bytes = body.len();
    println!(
        "generated CNR QueryDomainList WIDE=1: {} rows, 11 columns, {:.1} MB",
        rows(),
        bytes as f64 / 1e6
    );

    // Sanity: the parser sees what was generated.
    let check = Response::parse(body.clone());
    assert_eq!(check.row_count(), rows());
    assert_eq!(check.total(), Some(rows() as u64));
    assert_eq!(domains_from_cnr_list(&check).len(), rows());

    let mut parse_samples = Vec::new();
    for _ in 0..rust_iterations() {
        let input = body.clone();
        let start = Instant::now();
        let response = Response::parse(input);
        parse_samples.push(start.elapsed());
        std::hint::black_box(response.row_count());
    }
    let mut map_samples = Vec::new();
    for _ in 0..rust_iterations() {
        let input = body.clone();
        let start = Instant::now();
        let response = Response::parse(input);
        let domains = domains_from_cnr_list(&response);
        map_samples.push(start.elapsed());
        std::hint::black_box(domains.len());
    }
    let rust_parse = report("rust Response::parse", bytes, median(parse_samples));
    report(
        "rust parse + map to RegistrarDomain",
        bytes,
        median(map_samples),
    );

    match run_python(&body) {
        Ok((python_parse, python_response)) => {
            report(
                "python responseparser.parse",
                bytes,
                Duration::from_secs_f64(python_parse),
            );
            report(
                "python Response(raw) (columns + records)",
                bytes,
                Duration::from_secs_f64(python_response),
            );
            println!(
                "ratio: rust parse is {:.1}x faster than python responseparser.parse",
                python_parse / rust_parse
            );
            println!(
                "ratio: rust parse is {:.1}x faster than python Response(raw)",
                python_response / rust_parse
            );
        }
        Err(reason) => println!("python comparison skipped: {reason}"),
    }
}
