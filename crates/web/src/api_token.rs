//! API tokens for scripts and the WHMCS addon: `Authorization: Bearer dwt_…` on `/api/*`.
//!
//! A token is `dwt_` and 43 base64url characters (256 random bits). Only its SHA-256 is
//! stored (`domwatch token create` prints the token once). A token request needs no
//! session and no CSRF token: a browser never sends the header on its own, so a
//! cross-site form cannot use it. `read` tokens may GET; `fix` tokens may also POST the
//! fix and preview routes. The audit actor of a token's write is `token:NAME`. Neither
//! the token nor its hash is ever logged.

use crate::{WebError, WebState};
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, Method, StatusCode};
use base64::Engine as _;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// Every token starts with this, so secret scanners and people recognise one.
pub const TOKEN_PREFIX: &str = "dwt_";

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenScope {
    /// GET `/api/*`.
    Read,
    /// Also POST `/api/*` (Fix now, its dry run).
    Fix,
}

impl TokenScope {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "read" => Some(Self::Read),
            "fix" => Some(Self::Fix),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Fix => "fix",
        }
    }
}

/// A new random token (shown once; store only [`token_hash`]).
pub fn generate_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!(
        "{TOKEN_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// The stored form of a token: lowercase hex SHA-256.
pub fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The caller of a request that carried a valid token.
#[derive(Debug, Clone)]
pub(crate) struct TokenCaller {
    pub name: String,
}

/// The bearer token of a request, if it sent one.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// `None`: no bearer token, the session rules apply. Otherwise the token's caller, or the
/// answer to a token that is unknown, revoked (401) or only allowed to read (403).
pub(crate) async fn authenticate(
    state: &WebState,
    method: &Method,
    headers: &HeaderMap,
) -> Option<Result<TokenCaller, WebError>> {
    let token = bearer(headers)?;
    let unknown = || {
        WebError::new(
            StatusCode::UNAUTHORIZED,
            "the API token is unknown or revoked: create one with `domwatch token create --name NAME --scope read|fix`",
        )
    };
    if !token.starts_with(TOKEN_PREFIX) {
        return Some(Err(unknown()));
    }
    let store = &state.engine.store;
    let record = match store.api_token_by_hash(&token_hash(token)).await {
        Ok(Some(record)) if !record.is_revoked() => record,
        Ok(_) => {
            tracing::warn!("API request refused: unknown or revoked token");
            return Some(Err(unknown()));
        }
        Err(e) => return Some(Err(WebError::internal(e))),
    };
    let writes = !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
    if writes && TokenScope::parse(&record.scope) != Some(TokenScope::Fix) {
        tracing::warn!(token = %crate::log_text(&record.name, 64), "API write refused: the token may only read");
        return Some(Err(WebError::forbidden(format!(
            "token `{}` has scope `{}` and may only read: create a token with --scope fix for writes",
            record.name, record.scope
        ))));
    }
    if let Err(e) = store
        .touch_api_token(record.id, state.engine.clock.now())
        .await
    {
        tracing::warn!(error = %e, "could not record the API token's last use");
    }
    Some(Ok(TokenCaller { name: record.name }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_prefixed_256_bit_base64url() {
        let token = generate_token();
        let body = token.strip_prefix(TOKEN_PREFIX).unwrap();
        assert_eq!(body.len(), 43);
        assert!(body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        assert_ne!(token, generate_token());
    }

    #[test]
    fn the_hash_is_hex_sha256() {
        assert_eq!(
            token_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn bearer_scheme_is_case_insensitive() {
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, "bearer dwt_x".parse().unwrap());
        assert_eq!(bearer(&headers), Some("dwt_x"));
        headers.insert(AUTHORIZATION, "Basic abc".parse().unwrap());
        assert_eq!(bearer(&headers), None);
    }
}
