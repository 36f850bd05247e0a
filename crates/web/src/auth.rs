//! Admin login, server-side sessions and CSRF tokens.
//!
//! * The password is checked against an argon2 PHC string (`domwatch hash-password`).
//! * A logged-in session is a random 256-bit id in an `HttpOnly; SameSite=Strict` cookie
//!   (`Secure` behind TLS); what it stands for lives only in this process, with an idle
//!   and an absolute expiry.
//! * Every session carries its own random 256-bit CSRF token. Every request that is not
//!   GET/HEAD must echo it (form field `csrf` or header `X-CSRF-Token`), else 403.
//! * Anonymous visitors (the login form, and everyone under open access) get no server
//!   state at all: their cookie is a signed, expiring token ([`Tokens`]) and their CSRF
//!   token is derived from it, so a flood of login-page visits cannot evict a logged-in
//!   session. A successful login issues a new session id (no session fixation).
//! * Without a password hash the dashboard is open, which is only allowed on a loopback
//!   address (the embedded-default demo); [`AuthConfig::check_listen`] refuses the rest.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const SESSION_COOKIE: &str = "domwatch_session";
pub const CSRF_HEADER: &str = "x-csrf-token";
/// The user name recorded in the audit log when no password is configured.
pub const OPEN_ACCESS_USER: &str = "local";

/// Logged-in sessions kept at most; beyond that the oldest are dropped. Only a correct
/// password creates one, so this bounds memory without letting strangers evict anyone.
const MAX_SESSIONS: usize = 10_000;
/// A login form's anonymous token is accepted this long.
pub(crate) const LOGIN_FORM_TTL: Duration = Duration::from_secs(30 * 60);
/// Default idle and absolute session lifetimes.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(30 * 60);
pub const DEFAULT_ABSOLUTE_LIFETIME: Duration = Duration::from_secs(12 * 3600);

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("serve.admin_password_hash is not an argon2 PHC string ({0}): generate one with `domwatch hash-password`")]
    BadHash(String),
    #[error("no admin password is configured and the dashboard would listen on {0}, which is reachable from other machines: set serve.admin_password_hash (print one with `domwatch hash-password`), or listen on 127.0.0.1")]
    OpenAccessNotOnLoopback(SocketAddr),
    #[error("the password cannot be empty")]
    EmptyPassword,
    #[error("hashing the password failed: {0}")]
    Hashing(String),
}

/// How the dashboard authenticates.
#[derive(Clone)]
pub struct AuthConfig {
    pub admin_user: String,
    /// argon2 PHC string; `None`: open access (loopback only).
    password_hash: Option<String>,
    /// Mark the session cookie `Secure` (the dashboard is served over TLS, e.g. behind a
    /// reverse proxy). Requests carrying `X-Forwarded-Proto: https` get it anyway.
    pub secure_cookies: bool,
    /// A logged-in session ends after this much inactivity.
    pub idle_timeout: Duration,
    /// A logged-in session ends this long after the login, however active.
    pub absolute_lifetime: Duration,
}

impl std::fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthConfig")
            .field("admin_user", &self.admin_user)
            .field("password_hash", &self.password_hash.as_ref().map(|_| "***"))
            .field("secure_cookies", &self.secure_cookies)
            .field("idle_timeout", &self.idle_timeout)
            .field("absolute_lifetime", &self.absolute_lifetime)
            .finish()
    }
}

impl AuthConfig {
    /// Login with `admin_user` and an argon2 PHC hash; the hash is validated here so a
    /// typo stops the start instead of locking everyone out later.
    pub fn with_password_hash(admin_user: &str, phc: &str) -> Result<Self, AuthError> {
        PasswordHash::new(phc).map_err(|e| AuthError::BadHash(e.to_string()))?;
        Ok(Self {
            admin_user: admin_user.to_string(),
            password_hash: Some(phc.to_string()),
            secure_cookies: false,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            absolute_lifetime: DEFAULT_ABSOLUTE_LIFETIME,
        })
    }

    /// No login: only for a dashboard bound to a loopback address.
    pub fn open_access() -> Self {
        Self {
            admin_user: OPEN_ACCESS_USER.to_string(),
            password_hash: None,
            secure_cookies: false,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            absolute_lifetime: DEFAULT_ABSOLUTE_LIFETIME,
        }
    }

    pub fn is_open_access(&self) -> bool {
        self.password_hash.is_none()
    }

    /// Refuses open access on anything but a loopback address.
    pub fn check_listen(&self, addr: SocketAddr) -> Result<(), AuthError> {
        if self.is_open_access() && !addr.ip().is_loopback() {
            return Err(AuthError::OpenAccessNotOnLoopback(addr));
        }
        Ok(())
    }

    /// Checks user and password. Slow on purpose (argon2): call it off the async runtime.
    pub fn verify(&self, user: &str, password: &str) -> bool {
        let Some(phc) = &self.password_hash else {
            return false;
        };
        let Ok(hash) = PasswordHash::new(phc) else {
            return false;
        };
        // Always verify, also for a wrong user name, so timing does not tell which was wrong.
        let password_ok = Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok();
        let user_ok = constant_time_eq(user.as_bytes(), self.admin_user.as_bytes());
        password_ok && user_ok
    }
}

/// The argon2id PHC string for a password, for `serve.admin_password_hash`.
pub fn hash_password(password: &str) -> Result<String, AuthError> {
    if password.is_empty() {
        return Err(AuthError::EmptyPassword);
    }
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AuthError::Hashing(e.to_string()))
}

pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// 256 random bits from the OS, hex encoded.
fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex(&bytes)
}

/// What a request knows about its session (put into the request extensions).
#[derive(Debug, Clone)]
pub struct SessionInfo {
    pub id: String,
    /// `None`: anonymous (only the login form may be used).
    pub user: Option<String>,
    pub csrf: String,
}

struct Session {
    user: String,
    csrf: String,
    created: Instant,
    last_seen: Instant,
}

/// Server-side table of logged-in sessions. Times come from the caller (`now`), so tests
/// can move the clock.
pub(crate) struct Sessions {
    map: Mutex<HashMap<String, Session>>,
    idle_timeout: Duration,
    absolute_lifetime: Duration,
}

impl Sessions {
    pub(crate) fn new(idle_timeout: Duration, absolute_lifetime: Duration) -> Self {
        Self {
            map: Mutex::new(HashMap::new()),
            idle_timeout,
            absolute_lifetime,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        // A panic while holding the lock leaves the map consistent (plain inserts/removes).
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn alive(&self, session: &Session, now: Instant) -> bool {
        now.saturating_duration_since(session.last_seen) < self.idle_timeout
            && now.saturating_duration_since(session.created) < self.absolute_lifetime
    }

    /// Creates the session of a logged-in user.
    pub(crate) fn create(&self, user: String, now: Instant) -> SessionInfo {
        let info = SessionInfo {
            id: random_token(),
            user: Some(user.clone()),
            csrf: random_token(),
        };
        let mut map = self.lock();
        map.retain(|_, s| self.alive(s, now));
        if map.len() >= MAX_SESSIONS {
            if let Some(oldest) = map
                .iter()
                .min_by_key(|(_, s)| s.created)
                .map(|(k, _)| k.clone())
            {
                map.remove(&oldest);
            }
        }
        map.insert(
            info.id.clone(),
            Session {
                user,
                csrf: info.csrf.clone(),
                created: now,
                last_seen: now,
            },
        );
        info
    }

    /// The live session with this id; its idle expiry starts again.
    pub(crate) fn get(&self, id: &str, now: Instant) -> Option<SessionInfo> {
        let mut map = self.lock();
        let session = map.get(id)?;
        if !self.alive(session, now) {
            map.remove(id);
            return None;
        }
        let session = map.get_mut(id)?;
        session.last_seen = now;
        Some(SessionInfo {
            id: id.to_string(),
            user: Some(session.user.clone()),
            csrf: session.csrf.clone(),
        })
    }

    pub(crate) fn remove(&self, id: &str) {
        self.lock().remove(id);
    }

    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }
}

/// Signed, expiring tokens for anonymous visitors: `<issued>.<nonce>.<mac>`, where
/// `issued` counts seconds from this process's start and the MAC (HMAC-SHA256 under a
/// key made at start) covers both. Nothing is stored; a restart invalidates them, which
/// only means reloading the login page.
pub(crate) struct Tokens {
    key: [u8; 32],
    epoch: Instant,
}

impl Tokens {
    pub(crate) fn new(epoch: Instant) -> Self {
        let mut key = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut key);
        Self { key, epoch }
    }

    fn mac(&self, purpose: &str, data: &str) -> String {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.key)
            .expect("HMAC takes keys of any length");
        mac.update(purpose.as_bytes());
        mac.update(b"|");
        mac.update(data.as_bytes());
        hex(&mac.finalize().into_bytes())
    }

    pub(crate) fn issue(&self, now: Instant) -> String {
        let issued = now.saturating_duration_since(self.epoch).as_secs();
        let mut nonce = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let body = format!("{issued}.{}", hex(&nonce));
        let mac = self.mac("anonymous", &body);
        format!("{body}.{mac}")
    }

    /// True when `token` was issued by this process no longer than `max_age` ago.
    pub(crate) fn verify(&self, token: &str, now: Instant, max_age: Duration) -> bool {
        let Some((body, mac)) = token.rsplit_once('.') else {
            return false;
        };
        let Some(issued) = body
            .split_once('.')
            .and_then(|(i, _)| i.parse::<u64>().ok())
        else {
            return false;
        };
        let age = now
            .saturating_duration_since(self.epoch)
            .as_secs()
            .saturating_sub(issued);
        age < max_age.as_secs()
            && constant_time_eq(self.mac("anonymous", body).as_bytes(), mac.as_bytes())
    }

    /// The CSRF token that goes with an anonymous token.
    pub(crate) fn csrf_of(&self, token: &str) -> String {
        self.mac("csrf", token)
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The session id from a `Cookie` header.
pub(crate) fn session_id_from_cookies(header: &str) -> Option<&str> {
    header.split(';').find_map(|pair| {
        let (name, value) = pair.trim().split_once('=')?;
        (name == SESSION_COOKIE && !value.is_empty()).then_some(value)
    })
}

pub(crate) fn session_cookie(id: &str, secure: bool) -> String {
    format!(
        "{SESSION_COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict{}",
        if secure { "; Secure" } else { "" }
    )
}

pub(crate) fn expired_session_cookie(secure: bool) -> String {
    format!(
        "{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{}",
        if secure { "; Secure" } else { "" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_then_verify() {
        let phc = hash_password("correct horse").unwrap();
        assert!(phc.starts_with("$argon2id$"), "{phc}");
        let auth = AuthConfig::with_password_hash("admin", &phc).unwrap();
        assert!(auth.verify("admin", "correct horse"));
        assert!(!auth.verify("admin", "wrong"));
        assert!(!auth.verify("root", "correct horse"));
        assert!(!format!("{auth:?}").contains("argon2"));
    }

    #[test]
    fn bad_hash_and_open_access_on_public_address_are_refused() {
        let err = AuthConfig::with_password_hash("admin", "plaintext").unwrap_err();
        assert!(err.to_string().contains("domwatch hash-password"), "{err}");
        let open = AuthConfig::open_access();
        assert!(open.check_listen("127.0.0.1:8400".parse().unwrap()).is_ok());
        assert!(open.check_listen("[::1]:8400".parse().unwrap()).is_ok());
        let err = open
            .check_listen("0.0.0.0:8400".parse().unwrap())
            .unwrap_err();
        assert!(err.to_string().contains("admin_password_hash"), "{err}");
        assert!(hash_password("").is_err());
    }

    #[test]
    fn sessions_are_random_and_removable() {
        let now = Instant::now();
        let sessions = Sessions::new(Duration::from_secs(60), Duration::from_secs(600));
        let a = sessions.create("admin".into(), now);
        let b = sessions.create("admin".into(), now);
        assert_eq!(a.id.len(), 64);
        assert_ne!(a.id, b.id);
        assert_ne!(a.csrf, a.id);
        assert_eq!(
            sessions.get(&a.id, now).unwrap().user.as_deref(),
            Some("admin")
        );
        sessions.remove(&a.id);
        assert!(sessions.get(&a.id, now).is_none());
        assert_eq!(
            session_id_from_cookies(&format!("x=1; {SESSION_COOKIE}={}; y=2", b.id)),
            Some(b.id.as_str())
        );
    }

    #[test]
    fn sessions_end_when_idle_and_after_their_absolute_lifetime() {
        let t0 = Instant::now();
        let minutes = |m: u64| t0 + Duration::from_secs(m * 60);
        let sessions = Sessions::new(Duration::from_secs(30 * 60), Duration::from_secs(60 * 60));
        let idle = sessions.create("admin".into(), t0);
        assert!(sessions.get(&idle.id, minutes(29)).is_some());
        assert!(
            sessions.get(&idle.id, minutes(58)).is_some(),
            "use extends it"
        );
        assert!(
            sessions.get(&idle.id, minutes(89)).is_none(),
            "idle for 31 minutes"
        );

        let busy = sessions.create("admin".into(), t0);
        for m in (10..60).step_by(10) {
            assert!(sessions.get(&busy.id, minutes(m)).is_some());
        }
        assert!(
            sessions.get(&busy.id, minutes(60)).is_none(),
            "absolute lifetime"
        );
        assert_eq!(sessions.len(), 0, "expired sessions are dropped");
    }

    #[test]
    fn anonymous_tokens_are_signed_and_expire() {
        let t0 = Instant::now();
        let tokens = Tokens::new(t0);
        let token = tokens.issue(t0);
        let hour = Duration::from_secs(3600);
        assert!(tokens.verify(&token, t0 + Duration::from_secs(60), hour));
        assert!(!tokens.verify(&token, t0 + hour, hour), "expired");
        let mut forged = token.clone();
        forged.replace_range(0..1, "9");
        assert!(!tokens.verify(&forged, t0, hour), "{forged}");
        assert!(!Tokens::new(t0).verify(&token, t0, hour), "other key");
        assert!(!tokens.verify("", t0, hour) && !tokens.verify("a.b", t0, hour));
        assert_ne!(tokens.csrf_of(&token), token);
        assert_eq!(tokens.csrf_of(&token), tokens.csrf_of(&token));
    }
}
