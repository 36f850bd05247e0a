//! Several instances on one PostgreSQL: two, and three, `domwatch serve` processes share a
//! database and the sandbox processes, with a 2-second interval and a 3-second lease. Exactly one
//! runs cycles; the leader is killed with SIGKILL, another takes over within two leases
//! (the figure is printed), no two cycles overlap in time and no notice is raised twice.
//!
//! PostgreSQL: a throw-away database from `domwatch_testkit::TestDatabase` (SKIPPED without
//! a server, a failure on CI).

use chrono::{DateTime, Utc};
use domwatch_sandbox::portfolio::{Portfolio, DEFAULT_DRIFT_PER_MILLE};
use domwatch_store::{RunRecord, Store};
use domwatch_testkit::{
    free_port, wait_for_port, Fault, FaultProxy, Running, SandboxPortfolio, SandboxProcesses,
    TestDatabase,
};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_domwatch");
const SEED: u64 = 7;
const DOMAINS: usize = 60;
const LEASE_SECONDS: u64 = 3;
const INTERVAL_SECONDS: u64 = 2;

struct Instance {
    port: u16,
    log: PathBuf,
    process: Option<Running>,
}

impl Instance {
    fn start(dir: &Path, n: usize, database_url: &str, s: &SandboxProcesses, bot: u64) -> Instance {
        let port = free_port();
        let config = dir.join(format!("domwatch-{n}.toml"));
        let text = format!(
            r#"database_url = "{database_url}"

{sandboxes}
[serve]
listen = "127.0.0.1:{port}"
interval_seconds = {INTERVAL_SECONDS}
lease_seconds = {LEASE_SECONDS}
"#,
            sandboxes = s.config_sections(bot),
        );
        std::fs::write(&config, text).unwrap();
        let log = dir.join(format!("serve-{n}.log"));
        let child = Command::new(BIN)
            .args(["serve", "--config"])
            .arg(&config)
            .env("DOMWATCH_LOG", "info")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let process = Running(child);
        wait_for_port(port, "domwatch serve", Duration::from_secs(60), Some(&log));
        Instance {
            port,
            log,
            process: Some(process),
        }
    }

    /// `/healthz` says `leader: yes`.
    async fn leads(&self, http: &reqwest::Client) -> bool {
        let Ok(answer) = http
            .get(format!("http://127.0.0.1:{}/healthz", self.port))
            .send()
            .await
        else {
            return false;
        };
        answer
            .text()
            .await
            .unwrap_or_default()
            .contains("leader: yes")
    }

    /// Presses "Check now" on this instance's dashboard (open access on loopback: a
    /// session cookie and its CSRF token, like a browser).
    async fn press_check_now(&self, http: &reqwest::Client) {
        let base = format!("http://127.0.0.1:{}", self.port);
        let page = http.get(format!("{base}/")).send().await.unwrap();
        let cookie = page
            .headers()
            .get(reqwest::header::SET_COOKIE)
            .and_then(|c| c.to_str().ok())
            .and_then(|c| c.split(';').next())
            .expect("a session cookie for the CSRF token")
            .to_string();
        let body = page.text().await.unwrap();
        let marker = "name=\"csrf\" value=\"";
        let start = body.find(marker).expect("a CSRF field") + marker.len();
        let csrf = &body[start..start + body[start..].find('"').unwrap()];
        let pressed = http
            .post(format!("{base}/check"))
            .header(reqwest::header::COOKIE, cookie)
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(format!("csrf={csrf}"))
            .send()
            .await
            .unwrap();
        assert!(
            pressed.status().is_redirection() || pressed.status().is_success(),
            "Check now: {}",
            pressed.status()
        );
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Cycles this instance ran, by their closing log line.
    fn cycles_logged(&self) -> usize {
        let log = self.log();
        ["finished", "incomplete", "failed", "crashed"]
            .iter()
            .map(|end| log.matches(&format!("monitoring check {end}")).count())
            .sum()
    }
}

/// The sandbox processes every instance shares (WHMCS in the SQLite file `whmcs_db`),
/// and the id of WHMCS's bot client.
fn start_sandboxes(whmcs_db: &Path) -> (SandboxProcesses, u64) {
    let sandboxes = SandboxProcesses::start(
        BIN,
        &SandboxPortfolio {
            domains: DOMAINS,
            seed: SEED,
            today: Utc::now().date_naive(),
            drift_per_mille: DEFAULT_DRIFT_PER_MILLE,
            whmcs_sqlite: whmcs_db.to_path_buf(),
        },
        Duration::from_secs(300),
    );
    let bot = Portfolio::new(SEED, DOMAINS, Utc::now().date_naive()).bot_client_id();
    (sandboxes, bot)
}

/// Waits until exactly one instance says it leads (sampled until `limit`); its index.
async fn the_leader(instances: &[Instance], http: &reqwest::Client, limit: Duration) -> usize {
    let began = Instant::now();
    loop {
        let mut leading = Vec::new();
        for (i, instance) in instances.iter().enumerate() {
            if instance.process.is_some() && instance.leads(http).await {
                leading.push(i);
            }
        }
        assert!(leading.len() <= 1, "two leaders at once: {leading:?}");
        if let [one] = leading[..] {
            return one;
        }
        assert!(
            began.elapsed() < limit,
            "no leader within {limit:?}; logs:\n{}",
            instances
                .iter()
                .map(Instance::log)
                .collect::<Vec<_>>()
                .join("\n---\n")
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Finished full cycles (not targeted checks) in the store.
async fn finished_cycles(store: &Store) -> usize {
    let runs = store.runs(1000).await.unwrap();
    runs.iter().filter(|r| r.finished_at.is_some()).count()
}

/// Waits until two more cycles have finished since now (a leader runs them; a minute
/// without is a failure).
async fn wait_for_the_new_leaders_cycles(store: &Store) {
    let cycles_at_takeover = finished_cycles(store).await;
    let began = Instant::now();
    while finished_cycles(store).await < cycles_at_takeover + 2 {
        assert!(
            began.elapsed() < Duration::from_secs(60),
            "the new leader runs no cycles"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// No two runs overlap: a run that never finished (its instance was killed) lasted at
/// most until `ended` (the kill of the first leader, or the end of the test).
fn assert_no_overlap(runs: &[RunRecord], killed_at: DateTime<Utc>, end: DateTime<Utc>) {
    let mut spans: Vec<(DateTime<Utc>, DateTime<Utc>, i64)> = runs
        .iter()
        .map(|r| {
            let stop = r.finished_at.unwrap_or(if r.started_at < killed_at {
                killed_at
            } else {
                end
            });
            (r.started_at, stop, r.id)
        })
        .collect();
    spans.sort();
    for pair in spans.windows(2) {
        assert!(
            pair[1].0 >= pair[0].1,
            "run {} started at {} before run {} ended at {}",
            pair[1].2,
            pair[1].0,
            pair[0].2,
            pair[0].1
        );
    }
}

/// No two runs overlapped (see [`assert_no_overlap`]) and no notice was raised twice.
async fn assert_one_run_at_a_time_and_no_notice_twice(
    store: &Store,
    killed_at: DateTime<Utc>,
    end: DateTime<Utc>,
    whmcs_db: &Path,
) {
    let runs = store.runs(1000).await.unwrap();
    assert_no_overlap(&runs, killed_at, end);
    let tickets = ticket_titles(whmcs_db);
    let mut unique = tickets.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(
        unique.len(),
        tickets.len(),
        "a notice was raised twice: {tickets:#?}"
    );
}

/// Ticket titles in the sandbox WHMCS: each notice is one bot ticket.
fn ticket_titles(whmcs_db: &Path) -> Vec<String> {
    let out = Command::new("python3")
        .args([
            "-c",
            "import sqlite3,sys,json; c=sqlite3.connect(sys.argv[1]); \
             print(json.dumps([r[0] for r in c.execute('select title from tbltickets order by id')]))",
        ])
        .arg(whmcs_db)
        .output()
        .expect("python3 reads the sandbox database");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_one_leader_and_takeover_after_kill() {
    one_leader_and_takeover_after_kill(2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_one_leader_and_takeover_after_kill() {
    one_leader_and_takeover_after_kill(3).await;
}

async fn one_leader_and_takeover_after_kill(count: usize) {
    let Some(database) = TestDatabase::postgres(&format!("serve_leader_{count}")).await else {
        return;
    };
    let database_url = database.url.clone();
    let dir = tempfile::tempdir().unwrap();
    let whmcs_db = dir.path().join("whmcs.db");
    let (sandboxes, bot) = start_sandboxes(&whmcs_db);
    let mut instances: Vec<Instance> = (0..count)
        .map(|n| Instance::start(dir.path(), n, &database_url, &sandboxes, bot))
        .collect();
    let http = reqwest::Client::new();
    let store = Store::connect(&database_url).await.unwrap();

    // One leader; it alone runs cycles, one after the other.
    let leader = the_leader(&instances, &http, Duration::from_secs(30)).await;
    let began = Instant::now();
    while finished_cycles(&store).await < 3 {
        assert!(
            began.elapsed() < Duration::from_secs(120),
            "fewer than 3 cycles in 120 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        the_leader(&instances, &http, Duration::from_secs(1)).await,
        leader
    );
    for (i, instance) in instances.iter().enumerate().filter(|(i, _)| *i != leader) {
        assert_eq!(
            instance.cycles_logged(),
            0,
            "follower {i} ran a cycle:\n{}",
            instance.log()
        );
    }
    // "Check now" on a follower reaches the leader.
    let follower = (leader + 1) % count;
    instances[follower].press_check_now(&http).await;
    let began = Instant::now();
    while !instances[leader]
        .log()
        .contains("another instance asked for a check")
    {
        assert!(
            began.elapsed() < Duration::from_secs(2 * LEASE_SECONDS),
            "the leader did not take the follower's check request:\n{}",
            instances[follower].log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let tickets_before = ticket_titles(&whmcs_db);
    assert!(
        !tickets_before.is_empty(),
        "the cycles raised notices as tickets"
    );

    // kill -9 the leader, mid-cycle or between cycles.
    let killed_at = Utc::now();
    let killed = Instant::now();
    drop(instances[leader].process.take());
    let next = the_leader(&instances, &http, Duration::from_secs(4 * LEASE_SECONDS)).await;
    let takeover = killed.elapsed();
    let first_cycle_after = loop {
        let after = store
            .runs(1000)
            .await
            .unwrap()
            .into_iter()
            .filter(|r| r.started_at > killed_at)
            .map(|r| r.started_at)
            .min();
        if let Some(at) = after {
            break at - killed_at;
        }
        assert!(
            killed.elapsed() < Duration::from_secs(30),
            "no cycle after the takeover"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    println!(
        "{count} instances, takeover after kill -9 of the leader: {:.2} s to a new leader, {:.2} s to its first cycle (lease {LEASE_SECONDS} s)",
        takeover.as_secs_f64(),
        first_cycle_after.num_milliseconds() as f64 / 1000.0
    );
    assert_ne!(next, leader);
    assert!(
        takeover < Duration::from_secs(2 * LEASE_SECONDS),
        "takeover took {takeover:?}, more than two leases"
    );
    let log = instances[next].log();
    assert!(log.contains("took over the leader lease"), "{log}");

    // The new leader runs cycles; the remaining follower none.
    wait_for_the_new_leaders_cycles(&store).await;
    for follower in (0..count).filter(|i| *i != leader && *i != next) {
        let log = instances[follower].log();
        assert_eq!(instances[follower].cycles_logged(), 0, "{log}");
    }
    for instance in &mut instances {
        drop(instance.process.take());
    }
    let end = Utc::now();

    assert_one_run_at_a_time_and_no_notice_twice(&store, killed_at, end, &whmcs_db).await;

    store.close().await;
    drop(sandboxes);
    database.drop_database().await;
}

/// The leader's database connection hangs (a network partition: the TCP proxy between it
/// and PostgreSQL stops passing bytes) while a second instance reaches the database
/// directly. The leader must step down when the lease it last renewed runs out on its own
/// clock, before the lease row expires for the other instance; the other takes over, runs
/// cycles, and when the partition heals the old leader stays a follower. No two cycles
/// overlap and no notice is raised twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leader_that_loses_its_database_steps_down() {
    let Some(database) = TestDatabase::postgres("serve_leader_db_lost").await else {
        return;
    };
    let database_url = database.url.clone();
    let upstream = postgres_addr(&database_url);
    let proxy = FaultProxy::tcp(upstream).await.unwrap();
    let proxied_url = database_url.replacen(&upstream.to_string(), &proxy.addr().to_string(), 1);
    assert_ne!(proxied_url, database_url, "the URL names {upstream}");
    let dir = tempfile::tempdir().unwrap();
    let whmcs_db = dir.path().join("whmcs.db");
    let (sandboxes, bot) = start_sandboxes(&whmcs_db);
    // A /healthz that hangs with the database must not hang the test.
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(1))
        .build()
        .unwrap();
    let store = Store::connect(&database_url).await.unwrap();
    let mut instances = vec![Instance::start(
        dir.path(),
        0,
        &proxied_url,
        &sandboxes,
        bot,
    )];
    assert_eq!(
        the_leader(&instances, &http, Duration::from_secs(30)).await,
        0
    );
    instances.push(Instance::start(
        dir.path(),
        1,
        &database_url,
        &sandboxes,
        bot,
    ));
    let began = Instant::now();
    while finished_cycles(&store).await < 2 {
        assert!(began.elapsed() < Duration::from_secs(120), "no cycles");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let cut_at = Utc::now();
    let cut = Instant::now();
    proxy.set(Fault::Hang);
    let next = the_leader(&instances, &http, Duration::from_secs(4 * LEASE_SECONDS)).await;
    let takeover = cut.elapsed();
    println!(
        "leader lost its database: {:.2} s to a new leader (lease {LEASE_SECONDS} s)",
        takeover.as_secs_f64()
    );
    assert_eq!(next, 1);
    // It stepped down before the other could take over (its own clock runs out first).
    let stepped_down = "the leader lease ran out without a successful renewal";
    assert!(
        instances[0].log().contains(stepped_down),
        "{}",
        instances[0].log()
    );
    wait_for_the_new_leaders_cycles(&store).await;

    // The partition heals: the old leader comes back as a follower.
    proxy.set(Fault::Pass);
    let healed = Instant::now();
    let cycles_of_old_leader = instances[0].cycles_logged();
    while healed.elapsed() < Duration::from_secs(3 * LEASE_SECONDS) {
        assert_eq!(
            the_leader(&instances, &http, Duration::from_secs(2)).await,
            1
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        instances[0].cycles_logged(),
        cycles_of_old_leader,
        "the old leader ran a cycle after the partition healed:\n{}",
        instances[0].log()
    );
    for instance in &mut instances {
        drop(instance.process.take());
    }
    let end = Utc::now();

    // A run the old leader could not close ended at the latest when it stepped down.
    let stepped_down_by = cut_at + chrono::Duration::seconds(LEASE_SECONDS as i64 + 1);
    assert_one_run_at_a_time_and_no_notice_twice(&store, stepped_down_by, end, &whmcs_db).await;

    store.close().await;
    drop(sandboxes);
    database.drop_database().await;
}

/// host:port of a `postgres://` URL (the test server's default port when it names none).
fn postgres_addr(url: &str) -> std::net::SocketAddr {
    let parsed = url::Url::parse(url).unwrap();
    let host = parsed.host_str().unwrap_or("127.0.0.1");
    let port = parsed.port().unwrap_or(5432);
    format!("{host}:{port}")
        .parse()
        .unwrap_or_else(|e| panic!("{host}:{port} is not an IP address and port: {e}"))
}
