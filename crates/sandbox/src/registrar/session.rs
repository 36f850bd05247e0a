//! Who is calling: the entity check (ISPAPI), the session or the login/password of a
//! call, role users, and the session commands themselves.

use super::state::{Account, State};
use super::wire::Reply;
use super::{commands, ISPAPI_ENTITIES};
use domwatch_core::model::Dialect;
use domwatch_rrp::codec::Command;

/// The command a request carries: the `s_command` body, or GET style
/// (`?s_login=…&command=StatusAccount&domain=…`) where every field that is not a
/// connection field is a command parameter.
pub(super) fn request_command(fields: &[(String, String)]) -> Command {
    match last_field(fields, "s_command") {
        Some(text) => Command::decode(text),
        None => {
            let mut cmd = Command::empty();
            for (key, value) in fields {
                let lower = key.to_ascii_lowercase();
                if !lower.starts_with("s_") && lower != "persistent" {
                    cmd.set(key, value.as_str());
                }
            }
            cmd
        }
    }
}

/// The last value of a request field, by case-insensitive name (later fields win).
fn last_field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .rev()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Authenticates one call and runs `cmd`, the command it carries.
pub(super) fn handle_call(state: &mut State, fields: &[(String, String)], cmd: &Command) -> Reply {
    let dialect = state.dialect;
    let field = |name: &str| last_field(fields, name);
    if dialect == Dialect::Ispapi {
        let entity = field("s_entity").unwrap_or_default();
        if !ISPAPI_ENTITIES.contains(&entity) {
            return Reply::new(502, "Invalid entity value");
        }
    }
    let session_field = match dialect {
        Dialect::Cnr => "s_sessionid",
        _ => "s_session",
    };
    let session = field(session_field).filter(|s| !s.is_empty());
    let login = match authenticate(state, fields, session) {
        Ok(login) => login,
        Err(refused) => return refused,
    };
    let command = cmd.name().to_ascii_lowercase();
    let persistent = field("persistent") == Some("1");
    session_command(state, &command, persistent, &login, session)
        .unwrap_or_else(|| commands::dispatch(state, cmd))
}

/// The login a call acts as: its session's, or its checked `s_login`/`s_pw`.
fn authenticate(
    state: &mut State,
    fields: &[(String, String)],
    session: Option<&str>,
) -> Result<String, Reply> {
    let field = |name: &str| last_field(fields, name);
    let refused = || Reply::new(530, "Authentication failed");
    match session {
        Some(id) => {
            let login = state.use_session(id).ok_or_else(refused)?;
            let claimed = field("s_login").filter(|l| !l.is_empty());
            if claimed.is_some_and(|c| c != login) {
                return Err(refused());
            }
            Ok(login)
        }
        None => {
            let (Some(login), Some(password)) = (field("s_login"), field("s_pw")) else {
                return Err(refused());
            };
            if !credentials_ok(&state.account, state.dialect, login, password) {
                return Err(refused());
            }
            Ok(login.to_string())
        }
    }
}

/// Opens or closes a session when `command` is a session command of the dialect.
fn session_command(
    state: &mut State,
    command: &str,
    persistent: bool,
    login: &str,
    session: Option<&str>,
) -> Option<Reply> {
    match (state.dialect, command) {
        (Dialect::Cnr, "" | "startsession") if persistent => {
            let (id, expires) = state.open_session(login);
            let mut r = Reply::ok();
            r.push("expiration date", expires.format("%Y-%m-%d %H:%M:%S"));
            r.push("sessionid", id);
            Some(r)
        }
        (Dialect::Cnr, "stopsession") | (Dialect::Ispapi, "endsession") => {
            if let Some(id) = session {
                state.close_session(id);
            }
            Some(Reply::ok())
        }
        (Dialect::Ispapi, "startsession") => {
            let (id, _) = state.open_session(login);
            let mut r = Reply::ok();
            r.push("session", id);
            Some(r)
        }
        _ => None,
    }
}

/// The account login, or a role user as `login:role` (CNR) / `login!role` (ISPAPI).
fn credentials_ok(account: &Account, dialect: Dialect, login: &str, password: &str) -> bool {
    if login == account.login {
        return constant_time_eq(password, &account.password);
    }
    let separator = match dialect {
        Dialect::Cnr => ':',
        _ => '!',
    };
    let Some((base, role)) = login.split_once(separator) else {
        return false;
    };
    base == account.login
        && account
            .roles
            .iter()
            .any(|r| r.role == role && constant_time_eq(password, &r.password))
}

fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}
