//! The dashboard in a real browser: `domwatch serve` on the embedded sandboxes with an
//! admin password, driven through chromedriver and headless Chromium. An admin logs in,
//! sees the cases grouped by kind (a lifecycle case among them), fixes a billing case and a
//! contact-policy case with Fix now, sees the applied steps and finds both writes in the
//! audit log. Everything stays on 127.0.0.1.
//!
//! Needs `/usr/bin/chromium` and `/usr/bin/chromedriver` (Debian: `apt-get install
//! chromium chromium-driver`; `scripts/test` does it). Without them the test prints
//! `SKIPPED: …`, and fails when `CI` is set.

use domwatch_testkit::{free_port, wait_for_port, Running};
use fantoccini::{ClientBuilder, Locator};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const PASSWORD: &str = "browser-test-Pa55word";
/// Kinds whose recommended fix writes to the sandbox WHMCS, in order of preference.
const FIXABLE_KINDS: [&str; 3] = [
    "renewal_underpriced",
    "margin_below_minimum",
    "expiry_drift",
];

/// How long `domwatch serve` (seeding the embedded sandboxes) and chromedriver may take
/// to listen.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// True when the browser tools are installed; otherwise says so (and fails on CI).
fn browser_available() -> bool {
    let missing: Vec<&str> = [CHROMIUM, CHROMEDRIVER]
        .into_iter()
        .filter(|p| !Path::new(p).exists())
        .collect();
    if missing.is_empty() {
        return true;
    }
    let message = format!(
        "SKIPPED: dashboard browser test: {} missing; install with `apt-get install chromium chromium-driver`",
        missing.join(" and ")
    );
    if std::env::var_os("CI").is_some() {
        panic!("{message} (CI is set, so this is a failure)");
    }
    eprintln!("{message}");
    false
}

fn domwatch() -> Command {
    Command::new(env!("CARGO_BIN_EXE_domwatch"))
}

/// The password hash, made by `domwatch hash-password` as an operator would.
fn hash_password() -> String {
    let mut child = domwatch()
        .arg("hash-password")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("domwatch hash-password starts");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{PASSWORD}\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "hash-password failed");
    let hash = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    hash
}

fn start_server(dir: &Path, port: u16, log: &Path) -> Running {
    let log_file = std::fs::File::create(log).unwrap();
    let child = domwatch()
        .arg("serve")
        .current_dir(dir)
        .env_remove("DOMWATCH_CONFIG")
        .env("DOMWATCH_STATE_DIR", dir.join("state"))
        .env(
            "DOMWATCH_DATABASE_URL",
            format!("sqlite://{}", dir.join("dw.db").display()),
        )
        .env("DOMWATCH_LISTEN", format!("127.0.0.1:{port}"))
        .env("DOMWATCH_ADMIN_PASSWORD_HASH", hash_password())
        .env("DOMWATCH_LOG", "info")
        .stdout(Stdio::null())
        .stderr(log_file)
        .spawn()
        .expect("domwatch serve starts");
    Running(child)
}

fn start_chromedriver(port: u16, log: &Path) -> Running {
    let log_file = std::fs::File::create(log).unwrap();
    let child = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(log_file.try_clone().unwrap())
        .stderr(log_file)
        .spawn()
        .expect("chromedriver starts");
    Running(child)
}

fn capabilities(profile: &Path) -> serde_json::Map<String, serde_json::Value> {
    let caps = serde_json::json!({
        "goog:chromeOptions": {
            "binary": CHROMIUM,
            "args": [
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                format!("--user-data-dir={}", profile.display()),
            ],
        }
    });
    caps.as_object().unwrap().clone()
}

/// A `domwatch serve` on the embedded default and a Chromium driven through chromedriver,
/// each on a free port, with their logs in a temporary directory.
struct Session {
    _dir: tempfile::TempDir,
    _server: Running,
    _driver: Running,
    server_log: PathBuf,
    port: u16,
    browser: fantoccini::Client,
}

impl Session {
    async fn open() -> Session {
        let dir = tempfile::tempdir().unwrap();
        let server_log: PathBuf = dir.path().join("serve.log");
        let driver_log: PathBuf = dir.path().join("chromedriver.log");
        let port = free_port();
        let server = start_server(dir.path(), port, &server_log);
        wait_for_port(port, "domwatch serve", START_TIMEOUT, Some(&server_log));
        let driver_port = free_port();
        let driver = start_chromedriver(driver_port, &driver_log);
        wait_for_port(
            driver_port,
            "chromedriver",
            START_TIMEOUT,
            Some(&driver_log),
        );
        let profile = dir.path().join("chromium-profile");
        std::fs::create_dir_all(&profile).unwrap();
        let browser = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities(&profile))
            .connect(&format!("http://127.0.0.1:{driver_port}"))
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start Chromium through chromedriver: {e}; chromedriver log:\n{}",
                    std::fs::read_to_string(&driver_log).unwrap_or_default()
                )
            });
        Session {
            _dir: dir,
            _server: server,
            _driver: driver,
            server_log,
            port,
            browser,
        }
    }

    /// Closes the browser; a failed outcome panics with the server's log.
    async fn finish(self, result: Outcome) {
        let _ = self.browser.close().await;
        if let Err(e) = result {
            panic!(
                "{e}\n--- domwatch serve log ---\n{}",
                std::fs::read_to_string(&self.server_log).unwrap_or_default()
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_logs_in_and_fixes_a_case_in_chromium() {
    if !browser_available() {
        return;
    }
    let session = Session::open().await;
    let result = browse(&session.browser, session.port).await;
    session.finish(result).await;
}

type Outcome = Result<(), String>;

fn check(condition: bool, what: impl Into<String>) -> Outcome {
    if condition {
        Ok(())
    } else {
        Err(what.into())
    }
}

/// Fills in the login form shown, submits it and waits until the browser has left the
/// login page (the click returns before the form's POST, an argon2 check, has redirected).
async fn submit_login(browser: &fantoccini::Client) -> Outcome {
    let e = |what: &'static str| move |err: fantoccini::error::CmdError| format!("{what}: {err}");
    for (field, value) in [("user", "admin"), ("password", PASSWORD)] {
        browser
            .find(Locator::Css(&format!("input[name={field}]")))
            .await
            .map_err(e("login field"))?
            .send_keys(value)
            .await
            .map_err(e("type"))?;
    }
    browser
        .find(Locator::Css("button[name=login]"))
        .await
        .map_err(e("login button"))?
        .click()
        .await
        .map_err(e("log in"))?;
    let deadline = Instant::now() + Duration::from_secs(20);
    while browser.current_url().await.map_err(e("url"))?.path() == "/login" {
        check(
            Instant::now() < deadline,
            "the login did not finish in 20 s",
        )?;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

async fn browse(browser: &fantoccini::Client, port: u16) -> Outcome {
    let base = format!("http://127.0.0.1:{port}");
    let e = |what: &'static str| move |err: fantoccini::error::CmdError| format!("{what}: {err}");

    // Not logged in: the dashboard sends us to the login form.
    browser
        .goto(&format!("{base}/"))
        .await
        .map_err(e("open /"))?;
    let url = browser.current_url().await.map_err(e("current url"))?;
    check(
        url.path() == "/login",
        format!("expected the login page, got {url}"),
    )?;

    submit_login(browser).await?;

    // The first monitoring run starts with the server; wait until its cases show.
    let deadline = Instant::now() + Duration::from_secs(90);
    let groups = loop {
        let url = browser.current_url().await.map_err(e("current url"))?;
        check(
            url.path() == "/",
            format!("login did not lead to the dashboard: {url}"),
        )?;
        let groups = browser
            .find_all(Locator::Css("section.kind"))
            .await
            .map_err(e("case groups"))?;
        if !groups.is_empty() {
            break groups;
        }
        check(
            Instant::now() < deadline,
            "no cases on the dashboard after 90 s",
        )?;
        tokio::time::sleep(Duration::from_millis(500)).await;
        browser.refresh().await.map_err(e("reload"))?;
    };
    check(
        groups.len() >= 3,
        format!("expected several kinds of cases, got {}", groups.len()),
    )?;
    for group in &groups {
        let count = group
            .find(Locator::Css("span.count"))
            .await
            .map_err(e("group count"))?
            .text()
            .await
            .map_err(e("count text"))?;
        check(
            count.trim().parse::<u32>().is_ok_and(|n| n > 0),
            format!("group count `{count}`"),
        )?;
    }
    let at_stake = browser
        .find(Locator::Id("total-at-stake"))
        .await
        .map_err(e("total at stake"))?
        .text()
        .await
        .map_err(e("total text"))?;
    check(
        at_stake.contains("EUR") || at_stake.contains("USD"),
        format!("money at stake `{at_stake}`"),
    )?;

    // The lifecycle case of the embedded demo (auto delete in ticket mode) is listed.
    browser
        .find(Locator::Css("#kind-cancellation_due a.case-link"))
        .await
        .map_err(e("a cancellation_due case on the dashboard"))?;

    // Fix a case whose recommended fix writes to WHMCS, then one that writes to the
    // registrar (the contact policy); both writes show in the audit log as this admin's.
    fix_first_case_of(browser, &base, &FIXABLE_KINDS, "UpdateClientDomain").await?;
    fix_first_case_of(
        browser,
        &base,
        &["contact_policy_violation"],
        "modify-contacts",
    )
    .await?;
    Ok(())
}

/// Opens the first case of the first of `kinds` on the dashboard, presses Fix now, checks
/// the steps applied, and finds the write (`operation`) in the audit log.
async fn fix_first_case_of(
    browser: &fantoccini::Client,
    base: &str,
    kinds: &[&str],
    operation: &str,
) -> Outcome {
    let e = |what: &'static str| move |err: fantoccini::error::CmdError| format!("{what}: {err}");
    browser
        .goto(&format!("{base}/"))
        .await
        .map_err(e("open /"))?;
    let mut link = None;
    for kind in kinds {
        if let Ok(found) = browser
            .find(Locator::Css(&format!("#kind-{kind} a.case-link")))
            .await
        {
            link = Some(found);
            break;
        }
    }
    let link = link.ok_or_else(|| format!("no case of kind {kinds:?} on the dashboard"))?;
    link.click().await.map_err(e("open the case"))?;
    let domain = browser
        .find(Locator::Id("domain-ascii"))
        .await
        .map_err(e("case domain"))?
        .text()
        .await
        .map_err(e("domain text"))?;
    browser
        .find(Locator::Css("#guide-steps li"))
        .await
        .map_err(e("guide steps"))?;

    // Fix now (the recommended option comes first).
    browser
        .find(Locator::Css("button[name=fix]"))
        .await
        .map_err(e("Fix now button"))?
        .click()
        .await
        .map_err(e("press Fix now"))?;
    browser
        .wait()
        .at_most(Duration::from_secs(30))
        .for_element(Locator::Id("steps"))
        .await
        .map_err(e("fix result"))?;
    let applied = browser
        .find_all(Locator::Css("td.outcome-applied"))
        .await
        .map_err(e("applied steps"))?;
    let failed = browser
        .find_all(Locator::Css("td.outcome-failed"))
        .await
        .map_err(e("failed steps"))?;
    let page = browser.source().await.map_err(e("page source"))?;
    check(
        !applied.is_empty() && failed.is_empty(),
        format!("expected applied steps and no failure:\n{page}"),
    )?;

    // The write is in the audit log, by this admin.
    browser
        .goto(&format!("{base}/audit"))
        .await
        .map_err(e("open /audit"))?;
    let audit = browser
        .find(Locator::Id("audit"))
        .await
        .map_err(e("audit table"))?
        .text()
        .await
        .map_err(e("audit text"))?;
    check(
        audit.contains(&domain) && audit.contains("web:admin") && audit.contains(operation),
        format!("the audit log does not show the fix ({operation}) of {domain}:\n{audit}"),
    )
}

/// A new user on the embedded default follows the nav to the renewal forecast and sees its
/// weekly chart drawn (inline SVG, no script) once the first monitoring run has stored it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_user_sees_the_forecast_chart_in_chromium() {
    if !browser_available() {
        return;
    }
    let session = Session::open().await;
    let result = view_forecast(&session.browser, session.port).await;
    session.finish(result).await;
}

async fn view_forecast(browser: &fantoccini::Client, port: u16) -> Outcome {
    let base = format!("http://127.0.0.1:{port}");
    let e = |what: &'static str| move |err: fantoccini::error::CmdError| format!("{what}: {err}");
    browser
        .goto(&format!("{base}/login"))
        .await
        .map_err(e("open /login"))?;
    submit_login(browser).await?;

    // From the dashboard's nav, as a new user would.
    browser
        .find(Locator::Css("header a[href='/forecast']"))
        .await
        .map_err(e("Forecast link in the nav"))?
        .click()
        .await
        .map_err(e("open the forecast"))?;
    // The first monitoring run starts with the server; wait until it stored a forecast.
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let url = browser.current_url().await.map_err(e("url"))?;
        check(
            url.path() == "/forecast",
            format!("expected /forecast, got {url}"),
        )?;
        if !browser
            .find_all(Locator::Css("svg.chart"))
            .await
            .map_err(e("charts"))?
            .is_empty()
        {
            break;
        }
        check(Instant::now() < deadline, "no forecast chart after 90 s")?;
        tokio::time::sleep(Duration::from_millis(500)).await;
        browser.refresh().await.map_err(e("reload"))?;
    }
    browser
        .find(Locator::Css("a[href='/forecast?days=365']"))
        .await
        .map_err(e("365-day window link"))?
        .click()
        .await
        .map_err(e("open the year"))?;
    let chart = browser
        .find(Locator::Css("svg.chart"))
        .await
        .map_err(e("a chart"))?;
    let (_, _, width, height) = chart.rectangle().await.map_err(e("chart size"))?;
    check(
        width > 200.0 && height > 50.0,
        format!("the chart is not drawn: {width}x{height}"),
    )?;
    let weeks = chart
        .find_all(Locator::Css("g.week"))
        .await
        .map_err(e("weeks"))?;
    check(
        weeks.len() == 53,
        format!("{} weeks in a year's chart", weeks.len()),
    )?;
    let label = chart
        .attr("aria-labelledby")
        .await
        .map_err(e("chart label"))?
        .unwrap_or_default();
    check(!label.is_empty(), "the chart has no accessible label")?;
    let totals = browser
        .find(Locator::Id("forecast-totals"))
        .await
        .map_err(e("totals"))?
        .text()
        .await
        .map_err(e("totals text"))?;
    check(
        totals.contains("EUR") && totals.contains("Margin"),
        format!("totals `{totals}`"),
    )?;
    // The embedded portfolio plants loss-making renewals.
    browser
        .find(Locator::Css("#loss-makers table"))
        .await
        .map_err(e("loss-makers table"))?;
    Ok(())
}
