//! `domwatch serve`: the monitoring scheduler plus the dashboard, and
//! `domwatch hash-password`: the argon2 hash for `serve.admin_password_hash`.

use crate::cli_common::Common;
use crate::config;
use crate::leader::{self, Gate, LeaseHandle};
use crate::runtime::Runtime;
use anyhow::Context;
use clap::Args;
use domwatch_engine::{Completeness, CycleReport, Engine, EngineError, Mode, NoProgress};
use domwatch_web::events::EventsConfig;
use domwatch_web::{AllowedHosts, AuthConfig, SecurityConfig, WebState};
use std::future::Future;
use std::io::IsTerminal;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{watch, Notify};

/// How long shutdown waits for a monitoring run in progress before abandoning it (the
/// store's transactions and notice claims make an abandoned run safe to repeat).
const SHUTDOWN_GRACE: Duration = Duration::from_secs(60);
/// How often the event worker looks for events that are due again (retries, claims of a
/// worker that died, events accepted by another instance) without being woken; at most a
/// third of the leader lease.
const EVENT_POLL: Duration = Duration::from_secs(15);

/// Runs every due inbound event (one targeted check each).
type Drain = Box<dyn FnMut() -> std::pin::Pin<Box<dyn Future<Output = ()>>>>;

/// The inbound event worker: `drain` runs on `wake` (an accepted event), every `poll`
/// and after each cycle. It shares the scheduler's task, so a targeted check and a full
/// cycle never run at the same time.
struct EventWork {
    drain: Drain,
    wake: Arc<Notify>,
    poll: Duration,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub common: Common,
}

pub async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let config = config::load(args.common.config.as_deref(), &config::ProcessEnv)?;
    let addr: SocketAddr = config.listen.parse().with_context(|| {
        format!(
            "serve.listen = `{}` is not an address: use e.g. 127.0.0.1:8400 (or set DOMWATCH_LISTEN)",
            config.listen
        )
    })?;
    // Checked before anything starts, so a bad setup fails at once with the reason.
    let mut auth = match &config.admin_password_hash {
        Some(hash) => AuthConfig::with_password_hash(&config.admin_user, hash.expose())?,
        None => AuthConfig::open_access(),
    };
    auth.secure_cookies = config.secure_cookies;
    let d = &config.dashboard;
    auth.idle_timeout = Duration::from_secs(d.session_idle_minutes * 60);
    auth.absolute_lifetime = Duration::from_secs(d.session_absolute_hours * 3600);
    auth.check_listen(addr)?;
    let security = security_config(d, addr);
    if auth.is_open_access() {
        tracing::warn!(
            %addr,
            "no admin password is configured: the dashboard is open to anyone on this machine; set serve.admin_password_hash (see `domwatch hash-password`) before exposing it"
        );
    }

    let (interval, lease_length) = (config.interval, config.lease);
    let events_secret = config.events_secret.clone();
    if events_secret.is_none() {
        tracing::info!("[events] secret is not set: POST /api/events answers 503 (WHMCS hooks cannot trigger checks)");
    }
    let runtime = Runtime::build(config).await?;
    let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| {
        format!("cannot listen on {addr}: is another domwatch serve running? Choose another address with serve.listen or DOMWATCH_LISTEN")
    })?;
    let holder = leader::holder_id();
    tracing::info!(url = %format!("http://{addr}/"), every_seconds = interval.as_secs(), instance = %holder, "dashboard listening; monitoring starts when this instance holds the leader lease (at once when it runs alone)");

    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutting down: no new requests, the running check is allowed to finish");
        let _ = stop_tx.send(true);
    });
    let check_now = Arc::new(Notify::new());
    let event_wake = Arc::new(Notify::new());
    let events = EventsConfig {
        secret: events_secret.map(|s| s.expose().as_bytes().to_vec()),
        worker: Some(event_wake.clone()),
    };
    let state = WebState::new(runtime.engine.clone(), auth)
        .with_security(security)
        .with_check_trigger(check_now.clone())
        .with_events(events)
        .with_instance(holder.clone());
    // Released after the scheduler: the lease stays renewed while a check finishes.
    let store = runtime.engine.store.clone();
    let (lease, gate) = LeaseHandle::spawn(store, holder, lease_length, check_now.clone());
    if !runtime.webhooks.is_empty() {
        tokio::spawn(deliver_webhooks(runtime.webhooks.clone(), stop_rx.clone()));
    }
    let mut server_stop = stop_rx.clone();
    let server = domwatch_web::serve(listener, state, async move {
        let _ = server_stop.wait_for(|stop| *stop).await;
    });

    // The engine's cycle future is not `Send`, so the scheduler runs on this thread (a
    // local task set) while the server's connections run on the runtime's workers.
    let engine = runtime.engine.clone();
    let local = tokio::task::LocalSet::new();
    let served = local
        .run_until(async move {
            let events = EventWork {
                drain: event_worker(engine.clone()),
                wake: event_wake,
                // Events accepted by a follower wake nobody here: polled within a beat.
                poll: EVENT_POLL.min(lease_length / 3).max(Duration::from_secs(1)),
            };
            let scheduler = tokio::task::spawn_local(schedule(
                monitoring_cycle(engine),
                Some(events),
                interval,
                check_now,
                gate,
                stop_rx,
            ));
            let served = server.await.context("the dashboard server failed");
            let abort = scheduler.abort_handle();
            if tokio::time::timeout(SHUTDOWN_GRACE, scheduler).await.is_err() {
                tracing::warn!("the running monitoring check did not finish in time and was abandoned; the next start repeats it safely");
                abort.abort();
            }
            served
        })
        .await;
    // Released before the store closes, so another instance takes over at once.
    lease.release().await;
    runtime.engine.store.close().await;
    served?;
    drop(runtime);
    tracing::info!("stopped");
    Ok(())
}

/// The dashboard's defences from `[serve]`: the Host allow-list is the loopback names,
/// the listen address and `serve.allowed_hosts`.
fn security_config(d: &config::DashboardSettings, listen: SocketAddr) -> SecurityConfig {
    let mut hosts = AllowedHosts::loopback_and(Some(listen)).entries().to_vec();
    hosts.extend(d.allowed_hosts.iter().cloned());
    if d.metrics_token.is_none() {
        tracing::info!("serve.metrics_token is not set: /metrics is served to logged-in admins and to clients on this machine only");
    }
    SecurityConfig {
        allowed_hosts: AllowedHosts::new(hosts),
        trusted_proxies: d.trusted_proxies.clone(),
        login_max_failures: d.login_max_failures,
        login_window: Duration::from_secs(d.login_window_minutes * 60),
        metrics_token: d.metrics_token.as_ref().map(|t| t.expose().to_string()),
        header_read_timeout: Duration::from_secs(d.header_read_timeout_seconds),
        body_read_timeout: Duration::from_secs(d.body_read_timeout_seconds),
        ..SecurityConfig::default()
    }
}

/// One monitoring cycle every `every`, the first at once. Cycles run one after the other
/// in this task, so two never overlap; a failed or panicking cycle is logged and the loop
/// goes on. `check_now` starts one early (the dashboard's "Check now"). Inbound events
/// (`events`) run in between. Cycles and events run only while `gate` says this instance
/// leads: a follower passes "Check now" on to the leader, an instance that takes the lease
/// over runs a cycle at once, and one that loses it stops the cycle in progress. Returns
/// how many cycles ran.
async fn schedule<F, Fut>(
    mut cycle: F,
    mut events: Option<EventWork>,
    every: Duration,
    check_now: Arc<Notify>,
    mut gate: Gate,
    mut stop: watch::Receiver<bool>,
) -> u64
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<CycleReport, EngineError>> + 'static,
{
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let poll = events
        .as_ref()
        .map_or(Duration::from_secs(3600), |e| e.poll);
    let mut poller = tokio::time::interval(poll);
    poller.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let wake = events.as_ref().map(|e| e.wake.clone());
    let mut cycles = 0;
    loop {
        let run_cycle = tokio::select! {
            // Marks the lease state seen, so a lease taken before this tick adds no cycle.
            _ = ticker.tick() => *gate.leading.borrow_and_update(),
            _ = check_now.notified() => {
                if gate.is_leading() {
                    // The next scheduled check counts from this one.
                    ticker.reset();
                    true
                } else {
                    gate.forward_check.notify_one();
                    false
                }
            }
            Ok(()) = gate.leading.changed() => {
                // Taken over: the old leader may have died mid-cycle, so check at once.
                let took_over = *gate.leading.borrow_and_update();
                if took_over {
                    ticker.reset();
                }
                took_over
            }
            _ = woken(wake.as_deref()) => false,
            _ = poller.tick() => false,
            _ = stop.wait_for(|stop| *stop) => break,
        };
        if run_cycle {
            run_one_cycle(&mut cycle, every, &mut gate.leading).await;
            cycles += 1;
        }
        if let Some(events) = events.as_mut().filter(|_| gate.is_leading()) {
            // Its own task, so a panic in a targeted check does not end the scheduler.
            if let Err(error) = tokio::task::spawn_local((events.drain)()).await {
                tracing::error!(%error, "inbound event worker crashed; its claims are retried after their lease");
            }
        }
        if *stop.borrow() {
            break;
        }
    }
    cycles
}

async fn woken(wake: Option<&Notify>) {
    match wake {
        Some(wake) => wake.notified().await,
        None => std::future::pending().await,
    }
}

/// Runs one cycle in its own task (a panic is reported instead of ending the scheduler)
/// and logs how it went.
async fn run_one_cycle<F, Fut>(cycle: &mut F, every: Duration, leading: &mut watch::Receiver<bool>)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<CycleReport, EngineError>> + 'static,
{
    let started = Instant::now();
    let mut task = tokio::task::spawn_local(cycle());
    let outcome = tokio::select! {
        outcome = &mut task => outcome,
        Ok(_) = leading.wait_for(|leading| !*leading) => {
            // Another instance may run cycles now: two must never overlap. What this one
            // began is safe to leave (the store's claims keep each write and notice once).
            task.abort();
            tracing::error!(seconds = started.elapsed().as_secs_f64(), "this instance lost the leader lease during a monitoring check: the check was stopped; the leader runs the next one");
            return;
        }
    };
    match outcome {
        Ok(Ok(report)) if report.completeness() == Completeness::Complete => tracing::info!(
            run = report.run_id,
            opened = report.opened,
            reopened = report.reopened,
            resolved = report.resolved,
            notices = report.notices_sent,
            seconds = started.elapsed().as_secs_f64(),
            "monitoring check finished"
        ),
        // A bad day: what could not be read got no verdict; say what, loudly.
        Ok(Ok(report)) => tracing::error!(
            run = report.run_id,
            completeness = ?report.completeness(),
            failed_accounts = ?report.failed_accounts,
            incomplete_inputs = ?report.incomplete_inputs,
            skipped_domains = report.skipped_domains,
            opened = report.opened,
            resolved = report.resolved,
            seconds = started.elapsed().as_secs_f64(),
            "monitoring check incomplete: the skipped domains got no verdict and nothing about them was changed"
        ),
        Ok(Err(error)) => {
            tracing::error!(%error, next_in_minutes = every.as_secs() / 60, "monitoring check failed; the next one runs on schedule")
        }
        Err(error) => {
            tracing::error!(%error, "monitoring check crashed; the next one runs on schedule")
        }
    }
}

/// The event worker: claims and runs due events under a name unique to this process.
fn event_worker(engine: Engine) -> Drain {
    let worker = format!(
        "serve-{}-{}",
        std::process::id(),
        chrono::Utc::now().timestamp_millis()
    );
    Box::new(move || {
        let (engine, worker) = (engine.clone(), worker.clone());
        Box::pin(async move {
            match engine.run_queued_events(&worker).await {
                Ok(0) => {}
                Ok(ran) => tracing::info!(events = ran, "inbound events checked"),
                Err(error) => {
                    tracing::error!(%error, "inbound events could not be claimed; retried in a moment")
                }
            }
        })
    })
}

/// How often `serve` sends the webhook outbox: new events go out within this, retries
/// when their backoff has passed.
const WEBHOOK_EVERY: Duration = Duration::from_secs(10);

/// Sends the webhook outbox every [`WEBHOOK_EVERY`] until shutdown. Deliveries are claimed
/// in the store, so several instances (or a `check` beside `serve`) never send one twice.
async fn deliver_webhooks(
    dispatcher: domwatch_webhooks::Dispatcher,
    mut stop: watch::Receiver<bool>,
) {
    let mut ticker = tokio::time::interval(WEBHOOK_EVERY);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = stop.wait_for(|stop| *stop) => break,
        }
        if let Err(error) = dispatcher.deliver_due(chrono::Utc::now()).await {
            tracing::error!(%error, "webhook outbox could not be read; tried again shortly");
        }
    }
}

/// The scheduler's cycle: a full monitoring run on the engine.
fn monitoring_cycle(
    engine: Engine,
) -> impl FnMut() -> std::pin::Pin<Box<dyn Future<Output = Result<CycleReport, EngineError>>>> {
    move || {
        let engine = engine.clone();
        Box::pin(async move { engine.run_cycle(Mode::Apply, &NoProgress).await })
    }
}

/// Ctrl-C, or SIGTERM (systemd, docker stop).
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = terminate => {}
    }
}

/// Reads one line (the password) from standard input and prints its argon2 PHC string.
pub fn hash_password() -> anyhow::Result<()> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprintln!("Password (it is shown as you type; pipe it in to avoid that):");
    }
    let mut line = String::new();
    stdin
        .read_line(&mut line)
        .context("cannot read the password from standard input")?;
    let password = line.trim_end_matches(['\n', '\r']);
    let phc = domwatch_web::hash_password(password)?;
    println!("{phc}");
    eprintln!("Put this into domwatch.toml as `admin_password_hash = \"…\"` under [serve], or into DOMWATCH_ADMIN_PASSWORD_HASH(_FILE).");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;
    use std::rc::Rc;

    /// Cycles slower than the interval never overlap; failures and panics do not stop the
    /// loop; the first cycle starts at once; a stop request ends it.
    #[tokio::test(flavor = "current_thread")]
    async fn cycles_run_one_at_a_time_and_survive_failures_and_panics() {
        let running = Rc::new(Cell::new(0u32));
        let most_at_once = Rc::new(Cell::new(0u32));
        let calls = Rc::new(Cell::new(0u32));
        let (stop_tx, stop_rx) = watch::channel(false);
        let cycle = {
            let (running, most_at_once, calls) =
                (running.clone(), most_at_once.clone(), calls.clone());
            move || {
                let (running, most_at_once, calls) =
                    (running.clone(), most_at_once.clone(), calls.clone());
                async move {
                    calls.set(calls.get() + 1);
                    running.set(running.get() + 1);
                    most_at_once.set(most_at_once.get().max(running.get()));
                    tokio::time::sleep(Duration::from_millis(30)).await;
                    running.set(running.get() - 1);
                    match calls.get() {
                        1 => Err(EngineError::Billing("WHMCS is down".into())),
                        2 => panic!("a bug in one cycle"),
                        _ => Ok(CycleReport::default()),
                    }
                }
            }
        };
        let local = tokio::task::LocalSet::new();
        let started = Instant::now();
        let cycles = local
            .run_until(async move {
                let scheduler = tokio::task::spawn_local(schedule(
                    cycle,
                    None,
                    Duration::from_millis(10),
                    Arc::new(Notify::new()),
                    Gate::always_leading(),
                    stop_rx,
                ));
                tokio::time::sleep(Duration::from_millis(200)).await;
                stop_tx.send(true).unwrap();
                scheduler.await.unwrap()
            })
            .await;
        assert!(
            cycles >= 3,
            "the loop went on after a failure and a panic: {cycles} cycles"
        );
        assert_eq!(u64::from(calls.get()), cycles);
        assert_eq!(most_at_once.get(), 1, "two cycles overlapped");
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "stopping took too long"
        );
    }

    #[tokio::test(flavor = "current_thread")]
    async fn check_now_runs_a_cycle_before_the_interval() {
        let calls = Rc::new(Cell::new(0u32));
        let cycle = {
            let calls = calls.clone();
            move || {
                let calls = calls.clone();
                async move {
                    calls.set(calls.get() + 1);
                    Ok(CycleReport::default())
                }
            }
        };
        let trigger = Arc::new(Notify::new());
        let (stop_tx, stop_rx) = watch::channel(false);
        let local = tokio::task::LocalSet::new();
        let cycles = local
            .run_until({
                let trigger = trigger.clone();
                async move {
                    let hour = Duration::from_secs(3600);
                    let scheduler = tokio::task::spawn_local(schedule(
                        cycle,
                        None,
                        hour,
                        trigger.clone(),
                        Gate::always_leading(),
                        stop_rx,
                    ));
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    trigger.notify_one();
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    stop_tx.send(true).unwrap();
                    scheduler.await.unwrap()
                }
            })
            .await;
        assert_eq!(cycles, 2, "the first check at start, the second on request");
        assert_eq!(calls.get(), 2);
    }

    /// A follower runs no cycle and passes "Check now" on; taking the lease over runs a
    /// cycle at once; losing it stops the cycle in progress and starts no other.
    #[tokio::test(flavor = "current_thread")]
    async fn only_the_leader_runs_cycles_and_a_lost_lease_stops_the_running_one() {
        let (started, finished) = (Rc::new(Cell::new(0u32)), Rc::new(Cell::new(0u32)));
        let cycle = {
            let (started, finished) = (started.clone(), finished.clone());
            move || {
                let (started, finished) = (started.clone(), finished.clone());
                async move {
                    started.set(started.get() + 1);
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    finished.set(finished.get() + 1);
                    Ok(CycleReport::default())
                }
            }
        };
        let (lead, leading) = watch::channel(false);
        let gate = Gate {
            leading,
            forward_check: Arc::new(Notify::new()),
        };
        let forwarded = gate.forward_check.clone();
        let trigger = Arc::new(Notify::new());
        let (stop_tx, stop_rx) = watch::channel(false);
        let local = tokio::task::LocalSet::new();
        let every = Duration::from_millis(20);
        local
            .run_until(async move {
                let scheduler = tokio::task::spawn_local(schedule(
                    cycle,
                    None,
                    every,
                    trigger.clone(),
                    gate,
                    stop_rx,
                ));
                tokio::time::sleep(Duration::from_millis(100)).await;
                assert_eq!(started.get(), 0, "a follower ran a cycle");
                trigger.notify_one();
                tokio::time::timeout(Duration::from_secs(1), forwarded.notified())
                    .await
                    .expect("a follower passes Check now on to the leader");
                assert_eq!(started.get(), 0);

                lead.send_replace(true);
                tokio::time::sleep(Duration::from_millis(100)).await;
                assert_eq!(
                    started.get(),
                    1,
                    "taking the lease over runs a cycle at once"
                );
                lead.send_replace(false);
                tokio::time::sleep(Duration::from_millis(500)).await;
                assert_eq!(
                    (started.get(), finished.get()),
                    (1, 0),
                    "the cycle in progress was stopped and no other began"
                );
                stop_tx.send(true).unwrap();
                scheduler.await.unwrap()
            })
            .await;
    }
}
