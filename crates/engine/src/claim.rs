//! Owners of claims (see the store's claims): one id per fix or recovery pass, naming the
//! actor and this process, and a register of the ones still running here.
//!
//! A claim outlives its owner when the owner's future is dropped (a request cancelled, a
//! cycle cut off): another process waits for the lease to run out, but this process knows
//! at once that nobody is working on it any more and may take it over.

use chrono::{DateTime, Duration, Utc};
use domwatch_store::Lease;
use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

/// How long a claim holds without its owner finishing. Longer than any fix takes (each
/// outside call has its own, shorter timeout); after it, the owner is taken for dead.
pub const CLAIM_LEASE: Duration = Duration::minutes(15);

fn process_tag() -> &'static str {
    static TAG: OnceLock<String> = OnceLock::new();
    TAG.get_or_init(|| {
        let started = Utc::now().timestamp_nanos_opt().unwrap_or_default();
        format!("pid {} {:x}", std::process::id(), started & 0xff_ffff)
    })
}

fn live() -> &'static Mutex<HashSet<String>> {
    static LIVE: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();
    LIVE.get_or_init(Default::default)
}

/// The owner of the claims of one fix or recovery pass; registered as live until dropped.
pub(crate) struct Owner {
    id: String,
}

impl Owner {
    pub fn new(actor: &str) -> Owner {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let id = format!("{actor} ({}, #{n})", process_tag());
        live().lock().expect("claim owners lock").insert(id.clone());
        Owner { id }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn lease(&self, now: DateTime<Utc>) -> Lease {
        Lease {
            owner: self.id.clone(),
            now,
            until: now + CLAIM_LEASE,
        }
    }
}

impl Drop for Owner {
    fn drop(&mut self) {
        if let Ok(mut live) = live().lock() {
            live.remove(&self.id);
        }
    }
}

/// Whether `owner` was an owner of this process that is gone (its future was dropped), so
/// its claims may be taken over without waiting for their leases.
pub(crate) fn gone_from_this_process(owner: &str) -> bool {
    owner.contains(&format!("({}, #", process_tag()))
        && !live().lock().map(|l| l.contains(owner)).unwrap_or(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_owner_is_gone_once_dropped_and_only_here() {
        let a = Owner::new("web:admin");
        let b = Owner::new("web:admin");
        assert_ne!(a.id(), b.id());
        assert!(!gone_from_this_process(a.id()));
        let id = a.id().to_string();
        drop(a);
        assert!(gone_from_this_process(&id));
        assert!(!gone_from_this_process(b.id()));
        assert!(!gone_from_this_process("web:admin (pid 1 0, #1)"));
    }
}
