//! Owners of claims (see the store's claims): one id per fix or recovery pass, naming the
//! actor and this process, and a register of the ones still running here.
//!
//! A claim outlives its owner when the owner's future is dropped (a request cancelled, a
//! cycle cut off) or its process dies (kill -9, a crash). This process knows at once that
//! its own dropped owners are gone, and that an owner whose process no longer runs on this
//! machine (same host, same PID namespace) is gone; only an owner elsewhere makes it wait
//! for the lease to run out. Whoever takes a claim over looks at the outside system
//! before writing, so a write the dead owner made is not made twice.

use chrono::{DateTime, Duration, Utc};
use domwatch_store::Lease;
use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

/// How long a claim holds without its owner finishing. Longer than any fix takes (each
/// outside call has its own, shorter timeout); after it, the owner is taken for dead.
pub const CLAIM_LEASE: Duration = Duration::minutes(15);

/// `pid N T on MACHINE`: the process id, a start tag (a restarted process with a reused
/// id is another owner) and where it runs.
fn process_tag() -> &'static str {
    static TAG: OnceLock<String> = OnceLock::new();
    TAG.get_or_init(|| {
        let started = Utc::now().timestamp_nanos_opt().unwrap_or_default();
        format!(
            "pid {} {:x} on {}",
            std::process::id(),
            started & 0xff_ffff,
            machine()
        )
    })
}

/// The host name and PID namespace: process ids are only comparable inside one of them
/// (two containers may share a host name but not their process ids).
fn machine() -> String {
    let namespace = std::fs::read_link("/proc/self/ns/pid")
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "pid:[?]".into());
    format!("{} {namespace}", host_name())
}

/// This machine's host name (`localhost` when it has none), for owner and lease ids.
pub fn host_name() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname writes at most that much.
    let ok = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } == 0;
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    match std::str::from_utf8(&buf[..end]) {
        Ok(name) if ok && !name.is_empty() => name.to_string(),
        _ => "localhost".to_string(),
    }
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

/// Whether `owner` is gone, so its claims may be taken over without waiting for their
/// leases: an owner of this process whose future was dropped, or one whose process no
/// longer runs on this machine. Unsure (another machine, a reused process id): not gone.
pub(crate) fn owner_is_gone(owner: &str) -> bool {
    gone_from_this_process(owner) || process_ended_here(owner)
}

fn gone_from_this_process(owner: &str) -> bool {
    owner.contains(&format!("({}, #", process_tag()))
        && !live().lock().map(|l| l.contains(owner)).unwrap_or(true)
}

/// The owner names this machine and a process id that no longer exists here.
fn process_ended_here(owner: &str) -> bool {
    let Some((pid, machine_of_owner)) = parse_owner(owner) else {
        return false;
    };
    machine_of_owner == machine() && pid != std::process::id() && !process_exists(pid)
}

/// The process id and machine of an owner id (`actor (pid N T on MACHINE, #n)`).
fn parse_owner(owner: &str) -> Option<(u32, String)> {
    let tag = &owner[owner.rfind("(pid ")? + 5..];
    let tag = &tag[..tag.rfind(", #")?];
    let (pid, rest) = tag.split_once(' ')?;
    let (_, machine) = rest.split_once(" on ")?;
    Some((pid.parse().ok()?, machine.to_string()))
}

fn process_exists(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return true;
    };
    // SAFETY: signal 0 only checks whether the process exists; nothing is sent.
    let alive = unsafe { libc::kill(pid, 0) } == 0;
    alive || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
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

    #[test]
    fn an_owner_whose_process_ended_on_this_machine_is_gone() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        let tag = format!("cli:root (pid {pid} 1a2b on {}, #3)", machine());
        assert_eq!(parse_owner(&tag), Some((pid, machine())));
        child.wait().unwrap();
        assert!(owner_is_gone(&tag), "{tag}");
        // This process, another machine, an old-style id: not gone.
        let me = format!(
            "cli:root (pid {} 1 on {}, #1)",
            std::process::id(),
            machine()
        );
        assert!(!owner_is_gone(&me));
        let elsewhere = format!("cli:root (pid {pid} 1a2b on other-host pid:[1], #3)");
        assert!(!owner_is_gone(&elsewhere));
        assert!(!owner_is_gone("web:admin (pid 99999999 0, #1)"));
        let live_owner = Owner::new("web:admin");
        assert!(!owner_is_gone(live_owner.id()));
    }
}
