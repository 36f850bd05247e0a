//! Login throttling: after `max_failures` failed logins within `window`, from one client
//! address or for one user name, further logins are refused with 429 until the oldest of
//! those failures ages out. Also a correct password is refused then, so a lock-out is no
//! oracle. The table is bounded: entries whose failures are all older than the window are
//! pruned, and when it is full the entry with the oldest last failure is dropped.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Client addresses and user names tracked at most (each).
const MAX_ENTRIES: usize = 10_000;
/// User names are tracked by their first this many characters.
const USER_KEY_CHARS: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Client(Option<IpAddr>),
    User(String),
}

fn user_key(user: &str) -> Key {
    Key::User(
        user.chars()
            .take(USER_KEY_CHARS)
            .collect::<String>()
            .to_lowercase(),
    )
}

pub(crate) struct LoginThrottle {
    max_failures: usize,
    window: Duration,
    max_entries: usize,
    failures: Mutex<HashMap<Key, VecDeque<Instant>>>,
}

impl LoginThrottle {
    pub(crate) fn new(max_failures: u32, window: Duration) -> Self {
        Self::with_capacity(max_failures, window, MAX_ENTRIES)
    }

    fn with_capacity(max_failures: u32, window: Duration, max_entries: usize) -> Self {
        Self {
            max_failures: max_failures.max(1) as usize,
            window,
            max_entries,
            failures: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, VecDeque<Instant>>> {
        self.failures.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `Some(wait)` while the client or the user name is locked out.
    pub(crate) fn locked(
        &self,
        client: Option<IpAddr>,
        user: &str,
        now: Instant,
    ) -> Option<Duration> {
        let map = self.lock();
        [Key::Client(client), user_key(user)]
            .iter()
            .filter_map(|key| self.wait_for(map.get(key)?, now))
            .max()
    }

    fn wait_for(&self, failures: &VecDeque<Instant>, now: Instant) -> Option<Duration> {
        if failures.len() < self.max_failures {
            return None;
        }
        // The deque holds the newest `max_failures`; the lock lasts until its oldest ages out.
        let until = *failures.front()? + self.window;
        (until > now).then(|| until - now)
    }

    pub(crate) fn record_failure(&self, client: Option<IpAddr>, user: &str, now: Instant) {
        let mut map = self.lock();
        for key in [Key::Client(client), user_key(user)] {
            if !map.contains_key(&key) && map.len() >= self.max_entries {
                self.make_room(&mut map, now);
            }
            let failures = map.entry(key).or_default();
            failures.push_back(now);
            while failures.len() > self.max_failures {
                failures.pop_front();
            }
        }
    }

    /// A successful login forgives the client's and the user's earlier failures.
    pub(crate) fn clear(&self, client: Option<IpAddr>, user: &str) {
        let mut map = self.lock();
        map.remove(&Key::Client(client));
        map.remove(&user_key(user));
    }

    fn make_room(&self, map: &mut HashMap<Key, VecDeque<Instant>>, now: Instant) {
        let window = self.window;
        map.retain(|_, f| {
            f.back()
                .is_some_and(|last| now.saturating_duration_since(*last) < window)
        });
        if map.len() >= self.max_entries {
            if let Some(oldest) = map
                .iter()
                .min_by_key(|(_, f)| f.back().copied())
                .map(|(k, _)| k.clone())
            {
                map.remove(&oldest);
            }
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn five_failures_lock_the_client_until_the_oldest_ages_out() {
        let t0 = Instant::now();
        let minute = Duration::from_secs(60);
        let throttle = LoginThrottle::new(5, 5 * minute);
        for i in 0..5 {
            assert!(throttle.locked(ip("203.0.113.5"), "admin", t0).is_none());
            throttle.record_failure(ip("203.0.113.5"), &format!("guess{i}"), t0 + i * minute / 2);
        }
        let wait = throttle
            .locked(ip("203.0.113.5"), "other", t0 + 3 * minute)
            .unwrap();
        assert_eq!(wait, 2 * minute);
        assert!(
            throttle.locked(ip("198.51.100.1"), "admin", t0).is_none(),
            "another client"
        );
        assert!(throttle
            .locked(ip("203.0.113.5"), "x", t0 + 5 * minute)
            .is_none());
    }

    #[test]
    fn a_user_name_is_locked_from_every_client_and_a_success_clears_it() {
        let t0 = Instant::now();
        let throttle = LoginThrottle::new(3, Duration::from_secs(300));
        for i in 0..3 {
            throttle.record_failure(ip(&format!("192.0.2.{i}")), "Admin", t0);
        }
        assert!(throttle.locked(ip("192.0.2.99"), "admin", t0).is_some());
        throttle.clear(ip("192.0.2.99"), "ADMIN");
        assert!(throttle.locked(ip("192.0.2.99"), "admin", t0).is_none());
    }

    #[test]
    fn the_table_stays_bounded() {
        let t0 = Instant::now();
        let throttle = LoginThrottle::with_capacity(5, Duration::from_secs(300), 100);
        for i in 0..10_000u32 {
            let client = Some(IpAddr::from(i.to_be_bytes()));
            throttle.record_failure(
                client,
                &format!("user{i}"),
                t0 + Duration::from_millis(i.into()),
            );
        }
        assert!(throttle.len() <= 100, "{}", throttle.len());
        // The newest entries survive.
        let last = Some(IpAddr::from(9_999u32.to_be_bytes()));
        throttle.record_failure(last, "user9999", t0 + Duration::from_secs(11));
        assert_eq!(throttle.lock()[&Key::Client(last)].len(), 2);
    }
}
