//! Admin login, server-side sessions and CSRF tokens.
//!
//! * The password is checked against an argon2 PHC string (`domwatch hash-password`).
//! * A session is a random 256-bit id in an `HttpOnly; SameSite=Strict` cookie (`Secure`
//!   behind TLS); what it stands for lives only in this process, with an idle expiry.
//! * Every session carries its own random 256-bit CSRF token. Every request that is not
//!   GET/HEAD must echo it (form field `csrf` or header `X-CSRF-Token`), else 403. The
//!   login form gets an anonymous session first so the login itself is protected too, and
//!   a successful login replaces that session with a new id (no session fixation).
//! * Without a password hash the dashboard is open, which is only allowed on a loopback
//!   address (the embedded-default demo); [`AuthConfig::check_listen`] refuses the rest.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rand::RngCore;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const SESSION_COOKIE: &str = "domwatch_session";
pub const CSRF_HEADER: &str = "x-csrf-token";
/// The user name recorded in the audit log when no password is configured.
pub const OPEN_ACCESS_USER: &str = "local";

/// Sessions kept at most; beyond that the oldest are dropped (a flood of anonymous login
/// page visits must not grow memory without bound).
const MAX_SESSIONS: usize = 10_000;
/// An anonymous (login-form) session lives this long.
const ANONYMOUS_TTL: Duration = Duration::from_secs(30 * 60);

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
}

impl std::fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthConfig")
            .field("admin_user", &self.admin_user)
            .field("password_hash", &self.password_hash.as_ref().map(|_| "***"))
            .field("secure_cookies", &self.secure_cookies)
            .field("idle_timeout", &self.idle_timeout)
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
            idle_timeout: Duration::from_secs(8 * 3600),
        })
    }

    /// No login: only for a dashboard bound to a loopback address.
    pub fn open_access() -> Self {
        Self {
            admin_user: OPEN_ACCESS_USER.to_string(),
            password_hash: None,
            secure_cookies: false,
            idle_timeout: Duration::from_secs(8 * 3600),
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
    bytes.iter().map(|b| format!("{b:02x}")).collect()
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
    user: Option<String>,
    csrf: String,
    expires: Instant,
    created: Instant,
}

/// Server-side session table.
pub(crate) struct Sessions {
    map: Mutex<HashMap<String, Session>>,
    idle_timeout: Duration,
}

impl Sessions {
    pub(crate) fn new(idle_timeout: Duration) -> Self {
        Self {
            map: Mutex::new(HashMap::new()),
            idle_timeout,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        // A panic while holding the lock leaves the map consistent (plain inserts/removes).
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Creates a session; `user: None` makes an anonymous one for the login form.
    pub(crate) fn create(&self, user: Option<String>) -> SessionInfo {
        let now = Instant::now();
        let ttl = if user.is_some() {
            self.idle_timeout
        } else {
            ANONYMOUS_TTL
        };
        let info = SessionInfo {
            id: random_token(),
            user: user.clone(),
            csrf: random_token(),
        };
        let mut map = self.lock();
        map.retain(|_, s| s.expires > now);
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
                expires: now + ttl,
                created: now,
            },
        );
        info
    }

    /// The live session with this id; a logged-in session's idle expiry is extended.
    pub(crate) fn get(&self, id: &str) -> Option<SessionInfo> {
        let now = Instant::now();
        let mut map = self.lock();
        let session = map.get_mut(id)?;
        if session.expires <= now {
            map.remove(id);
            return None;
        }
        if session.user.is_some() {
            session.expires = now + self.idle_timeout;
        }
        Some(SessionInfo {
            id: id.to_string(),
            user: session.user.clone(),
            csrf: session.csrf.clone(),
        })
    }

    pub(crate) fn remove(&self, id: &str) {
        self.lock().remove(id);
    }
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
        let sessions = Sessions::new(Duration::from_secs(60));
        let a = sessions.create(Some("admin".into()));
        let b = sessions.create(None);
        assert_eq!(a.id.len(), 64);
        assert_ne!(a.id, b.id);
        assert_ne!(a.csrf, a.id);
        assert_eq!(sessions.get(&a.id).unwrap().user.as_deref(), Some("admin"));
        sessions.remove(&a.id);
        assert!(sessions.get(&a.id).is_none());
        assert_eq!(
            session_id_from_cookies(&format!("x=1; {SESSION_COOKIE}={}; y=2", b.id)),
            Some(b.id.as_str())
        );
    }
}
