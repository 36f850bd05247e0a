//! The leader lease of `domwatch serve`: several instances may share one database; the
//! one holding the lease runs the scheduled cycles and the inbound event worker, all of
//! them serve the dashboard, the API and the webhook outbox.
//!
//! [`keep_lease`] takes the lease at start and renews it every third of its length; it
//! steps down when a renewal is refused (another instance took it) or when the lease it
//! last renewed runs out on this machine's clock without a successful renewal (the
//! database is unreachable). Followers try to take it on the same beat, so an instance
//! that dies (kill -9, power) is replaced within about one lease and a third; a clean
//! shutdown releases it at once.

use chrono::Utc;
use domwatch_store::{Store, SCHEDULER_LEASE};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{watch, Notify};
use tokio::time::Instant;

/// What the scheduler needs to know of the lease: whether this instance leads, and where
/// to send "Check now" when it does not (the leader picks the request up).
#[derive(Clone)]
pub struct Gate {
    pub leading: watch::Receiver<bool>,
    pub forward_check: Arc<Notify>,
}

impl Gate {
    /// A gate that always leads (tests of the scheduler).
    #[cfg(test)]
    pub fn always_leading() -> Gate {
        let (tx, rx) = watch::channel(true);
        // The value stays readable after the sender is gone.
        drop(tx);
        Gate {
            leading: rx,
            forward_check: Arc::new(Notify::new()),
        }
    }

    pub fn is_leading(&self) -> bool {
        *self.leading.borrow()
    }
}

/// This instance's name in the lease: host, process id and start time, so a restarted
/// process is a new holder.
pub fn holder_id() -> String {
    format!(
        "{}:{}:{}",
        domwatch_engine::host_name(),
        std::process::id(),
        Utc::now().timestamp_millis()
    )
}

/// The lease task's inputs.
pub struct LeaseKeeper {
    pub store: Store,
    pub holder: String,
    pub lease: Duration,
    /// Set to whether this instance leads.
    pub leading: watch::Sender<bool>,
    /// Woken on a follower's "Check now": the request is stored for the leader.
    pub forward_check: Arc<Notify>,
    /// Woken on the leader when a follower asked for a check.
    pub check_now: Arc<Notify>,
}

/// The running lease task of `domwatch serve`.
pub struct LeaseHandle {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl LeaseHandle {
    /// Starts [`keep_lease`] for `holder`; the gate tells the scheduler whether it leads.
    /// A follower's "Check now" goes through the gate to the leader, whose `check_now` is
    /// woken when it picks the request up.
    pub fn spawn(
        store: Store,
        holder: String,
        lease: Duration,
        check_now: Arc<Notify>,
    ) -> (LeaseHandle, Gate) {
        let (leading, leading_rx) = watch::channel(false);
        let gate = Gate {
            leading: leading_rx,
            forward_check: Arc::new(Notify::new()),
        };
        let keeper = LeaseKeeper {
            store,
            holder,
            lease,
            leading,
            forward_check: gate.forward_check.clone(),
            check_now,
        };
        let (stop, stop_rx) = watch::channel(false);
        let task = tokio::spawn(keep_lease(keeper, stop_rx));
        (LeaseHandle { stop, task }, gate)
    }

    /// Stops renewing and releases the lease if this instance holds it (at most 5 s).
    pub async fn release(self) {
        let _ = self.stop.send(true);
        if tokio::time::timeout(Duration::from_secs(5), self.task)
            .await
            .is_err()
        {
            tracing::warn!("the leader lease was not released in time; another instance takes over when it runs out");
        }
    }
}

/// Takes, renews and (on `stop`) releases the lease until `stop`.
pub async fn keep_lease(keeper: LeaseKeeper, mut stop: watch::Receiver<bool>) {
    let beat = (keeper.lease / 3).max(Duration::from_millis(100));
    let mut ticker = tokio::time::interval(beat);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // While leading: when the lease we last renewed runs out here.
    let mut held_until: Option<Instant> = None;
    let mut seen_leader: Option<String> = None;
    loop {
        let deadline = held_until.unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
        let beat_now = tokio::select! {
            _ = ticker.tick() => true,
            _ = keeper.forward_check.notified() => false,
            _ = tokio::time::sleep_until(deadline), if held_until.is_some() => {
                held_until = None;
                lease_ran_out(&keeper);
                continue;
            }
            changed = stop.changed() => {
                // A dropped sender stops the task too.
                if changed.is_err() || *stop.borrow() { break } else { continue }
            }
        };
        // Every database call here is bounded by one beat: a hung database must not stop
        // this loop from watching the lease's deadline.
        if !beat_now {
            if tokio::time::timeout(beat, forward(&keeper)).await.is_err() {
                tracing::error!("could not pass the check request to the leader: the database did not answer in time");
            }
            continue;
        }
        held_until = match held_until {
            Some(until) => renew(&keeper, until, beat).await,
            None => acquire(&keeper, beat, &mut seen_leader).await,
        };
        if held_until.is_some()
            && tokio::time::timeout(beat, take_check_request(&keeper))
                .await
                .is_err()
        {
            tracing::warn!("could not read check requests in time; tried again shortly");
        }
    }
    if held_until.is_some() {
        keeper.leading.send_replace(false);
        match keeper
            .store
            .release_lease(SCHEDULER_LEASE, &keeper.holder)
            .await
        {
            Ok(_) => {
                tracing::info!("released the leader lease: another instance takes over at once")
            }
            Err(error) => {
                tracing::warn!(%error, "could not release the leader lease; another instance takes over when it runs out")
            }
        }
    }
}

/// Renews the held lease; the new local deadline, or `None` when the lease is lost.
async fn renew(keeper: &LeaseKeeper, until: Instant, beat: Duration) -> Option<Instant> {
    let started = Instant::now();
    let now = Utc::now();
    let attempt =
        keeper
            .store
            .renew_lease(SCHEDULER_LEASE, &keeper.holder, now, now + keeper.lease);
    // A renewal that hangs must not outlive the lease: the deadline is not watched while
    // this waits, and past it another instance may already lead.
    let budget = beat.min(until.saturating_duration_since(started));
    match tokio::time::timeout(budget, attempt).await {
        Ok(Ok(true)) => Some(started + keeper.lease),
        Ok(Ok(false)) => {
            tracing::error!("the leader lease was lost (it ran out before this renewal; another instance may hold it now): this instance stops running checks");
            keeper.leading.send_replace(false);
            None
        }
        Ok(Err(error)) => {
            tracing::warn!(%error, "could not renew the leader lease; tried again shortly");
            Some(until)
        }
        Err(_) if Instant::now() >= until => {
            lease_ran_out(keeper);
            None
        }
        Err(_) => {
            tracing::warn!(
                seconds = budget.as_secs_f64(),
                "renewing the leader lease timed out; tried again shortly"
            );
            Some(until)
        }
    }
}

/// Steps down: the lease last renewed ran out on this machine's clock.
fn lease_ran_out(keeper: &LeaseKeeper) {
    tracing::error!(lease_seconds = keeper.lease.as_secs(), "the leader lease ran out without a successful renewal (is the database reachable?): this instance stops running checks");
    keeper.leading.send_replace(false);
}

/// Tries to take the lease; the local deadline when this instance now leads.
async fn acquire(
    keeper: &LeaseKeeper,
    beat: Duration,
    seen_leader: &mut Option<String>,
) -> Option<Instant> {
    let started = Instant::now();
    let now = Utc::now();
    let store = &keeper.store;
    let previous = tokio::time::timeout(beat, store.lease(SCHEDULER_LEASE))
        .await
        .ok()
        .and_then(Result::ok)
        .flatten();
    let attempt = store.acquire_lease(SCHEDULER_LEASE, &keeper.holder, now, now + keeper.lease);
    match tokio::time::timeout(beat, attempt).await {
        Ok(Ok(Some(_))) => {
            let after = previous.map(|p| p.holder).filter(|h| h != &keeper.holder);
            match &after {
                Some(before) => {
                    tracing::warn!(holder = %keeper.holder, previous = %before, "took over the leader lease: this instance runs the scheduled checks now")
                }
                None => {
                    tracing::info!(holder = %keeper.holder, "took the leader lease: this instance runs the scheduled checks")
                }
            }
            keeper.leading.send_replace(true);
            Some(started + keeper.lease)
        }
        Ok(Ok(None)) => {
            let leader = previous.map(|p| p.holder);
            if leader != *seen_leader {
                if let Some(leader) = &leader {
                    tracing::info!(%leader, "another instance holds the leader lease: this one serves the dashboard and API, the leader runs the checks");
                }
                *seen_leader = leader;
            }
            None
        }
        Ok(Err(error)) => {
            tracing::warn!(%error, "could not take the leader lease; tried again shortly");
            None
        }
        Err(_) => {
            tracing::warn!(
                seconds = beat.as_secs_f64(),
                "taking the leader lease timed out; tried again shortly"
            );
            None
        }
    }
}

/// A follower's "Check now": stored for the leader, which runs it within a third of a lease.
async fn forward(keeper: &LeaseKeeper) {
    match keeper.store.request_check(SCHEDULER_LEASE, Utc::now()).await {
        Ok(true) => tracing::info!("check requested: the leader instance runs it within a few seconds"),
        Ok(false) => tracing::warn!("check requested, but no instance holds the leader lease yet; the first leader runs a check when it takes over"),
        Err(error) => tracing::error!(%error, "could not pass the check request to the leader"),
    }
}

async fn take_check_request(keeper: &LeaseKeeper) {
    match keeper
        .store
        .take_check_request(SCHEDULER_LEASE, &keeper.holder)
        .await
    {
        Ok(true) => {
            tracing::info!("another instance asked for a check");
            keeper.check_now.notify_one();
        }
        Ok(false) => {}
        Err(error) => tracing::warn!(%error, "could not read check requests; tried again shortly"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Keeper {
        holder: String,
        leading: watch::Receiver<bool>,
        forward_check: Arc<Notify>,
        check_now: Arc<Notify>,
        stop: watch::Sender<bool>,
        task: tokio::task::JoinHandle<()>,
    }

    fn start(store: &Store, holder: &str, lease: Duration) -> Keeper {
        let (leading_tx, leading) = watch::channel(false);
        let (stop, stop_rx) = watch::channel(false);
        let (forward_check, check_now) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
        let keeper = LeaseKeeper {
            store: store.clone(),
            holder: holder.to_string(),
            lease,
            leading: leading_tx,
            forward_check: forward_check.clone(),
            check_now: check_now.clone(),
        };
        Keeper {
            holder: holder.to_string(),
            leading,
            forward_check,
            check_now,
            stop,
            task: tokio::spawn(keep_lease(keeper, stop_rx)),
        }
    }

    async fn until_leading(keeper: &mut Keeper, leading: bool, limit: Duration) {
        tokio::time::timeout(limit, keeper.leading.wait_for(|l| *l == leading))
            .await
            .unwrap_or_else(|_| panic!("{} not leading={leading} within {limit:?}", keeper.holder))
            .unwrap();
    }

    async fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("dw.db").display());
        (dir, Store::connect(&url).await.unwrap())
    }

    /// Of two instances one leads; the follower's "Check now" reaches the leader; a clean
    /// stop hands the lease over at once.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn one_leads_checks_are_forwarded_and_a_stop_hands_over() {
        let (_dir, store) = store().await;
        let lease = Duration::from_millis(900);
        let mut a = start(&store, "a", lease);
        until_leading(&mut a, true, Duration::from_secs(5)).await;
        let mut b = start(&store, "b", lease);
        tokio::time::sleep(lease).await;
        assert!(
            *a.leading.borrow() && !*b.leading.borrow(),
            "exactly one leads"
        );

        b.forward_check.notify_one();
        tokio::time::timeout(lease, a.check_now.notified())
            .await
            .expect("the leader runs the follower's check within a beat");

        let stopped = Instant::now();
        a.stop.send(true).unwrap();
        a.task.await.unwrap();
        until_leading(&mut b, true, lease).await;
        assert!(
            stopped.elapsed() < lease,
            "a released lease is taken at the next beat"
        );
        assert!(!*a.leading.borrow());
        b.stop.send(true).unwrap();
        b.task.await.unwrap();
    }

    /// A leader whose lease another instance took notices at its next renewal.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_leader_notices_a_lost_lease() {
        let (_dir, store) = store().await;
        let lease = Duration::from_millis(900);
        let mut a = start(&store, "a", lease);
        until_leading(&mut a, true, Duration::from_secs(5)).await;
        // As if a's renewals had failed until the lease ran out and "c" took it.
        assert!(store.release_lease(SCHEDULER_LEASE, "a").await.unwrap());
        let now = Utc::now();
        store
            .acquire_lease(SCHEDULER_LEASE, "c", now, now + chrono::Duration::hours(1))
            .await
            .unwrap()
            .expect("c takes the released lease");
        until_leading(&mut a, false, lease).await;
        a.stop.send(true).unwrap();
        a.task.await.unwrap();
        let lease = store.lease(SCHEDULER_LEASE).await.unwrap().unwrap();
        assert_eq!(lease.holder, "c", "a's stop released nothing of c's");
    }
}
