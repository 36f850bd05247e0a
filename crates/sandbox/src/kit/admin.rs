//! The plumbing of the admin endpoints every sandbox serves: `POST /_sandbox/event`
//! (JSON in, JSON out: 200 `{"ok":true,"detail":…}`, 400 for JSON that is no event, 422
//! `{"ok":false,"error":…}` for an event that cannot apply) and `GET /_sandbox/state`.

use axum::body::Bytes;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::json;

/// `POST /_sandbox/event`: parses the body as an `E` and applies it off the async
/// workers (an event may touch a large state).
pub async fn event<E, F>(body: Bytes, apply: F) -> Response
where
    E: DeserializeOwned + Send + 'static,
    F: FnOnce(E) -> Result<String, String> + Send + 'static,
{
    let event: E = match serde_json::from_slice(&body) {
        Ok(event) => event,
        Err(e) => {
            let error = format!(
                "not a sandbox event: {e}; send e.g. {{\"event\":\"inject_fault\",\"fault\":\"http500\"}}"
            );
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({"ok": false, "error": error})),
            )
                .into_response();
        }
    };
    let applied = tokio::task::spawn_blocking(move || apply(event))
        .await
        .unwrap_or_else(|_| Err("the sandbox failed while applying the event".into()));
    match applied {
        Ok(detail) => Json(json!({"ok": true, "detail": detail})).into_response(),
        Err(error) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({"ok": false, "error": error})),
        )
            .into_response(),
    }
}

/// `GET /_sandbox/state`: the snapshot `take` returns, taken off the async workers.
pub async fn state<S, F>(take: F) -> Response
where
    S: Serialize + Send + 'static,
    F: FnOnce() -> S + Send + 'static,
{
    match tokio::task::spawn_blocking(take).await {
        Ok(snapshot) => Json(snapshot).into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}
