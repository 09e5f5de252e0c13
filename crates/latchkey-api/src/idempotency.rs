//! `Idempotency-Key` with Stripe's semantics: the first request with a key is executed
//! and its answer stored (successes and server errors alike); a repeat with the same body
//! gets the stored answer, a repeat with another body is refused (422), a repeat while the
//! first is still running is refused (409). A request refused as invalid (4xx) stores
//! nothing, so it can be corrected and retried with the same key. The relayer's own
//! (account, nonce) dedup still holds across keys (I4).

use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use latchkey_store::IdempotencyClaim;
use sha2::{Digest, Sha256};

use crate::util::now_unix;
use crate::{ApiError, AppState, Caller};

const HEADER: &str = "idempotency-key";
const MAX_KEY_LEN: usize = 255;

/// A handler's answer before it is stored and sent.
pub(crate) type Answer = Result<(StatusCode, serde_json::Value), ApiError>;

/// Runs `handler` under the request's idempotency key, if it has one.
pub(crate) async fn run<F>(
    state: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
    route: &str,
    body: &[u8],
    handler: F,
) -> Response
where
    F: std::future::Future<Output = Answer>,
{
    let key = match headers.get(HEADER) {
        None => None,
        Some(value) => match value.to_str().map(str::trim) {
            Ok(key)
                if !key.is_empty()
                    && key.len() <= MAX_KEY_LEN
                    && key.chars().all(|c| c.is_ascii_graphic()) =>
            {
                Some(key.to_string())
            }
            _ => {
                return ApiError::bad_request(
                    "INVALID_IDEMPOTENCY_KEY",
                    "Idempotency-Key must be 1 to 255 printable ASCII characters",
                )
                .into_response()
            }
        },
    };
    let Some(key) = key else {
        return respond(handler.await);
    };
    let mut hasher = Sha256::new();
    hasher.update(route.as_bytes());
    hasher.update([0]);
    hasher.update(body);
    let request_hash = hex::encode(hasher.finalize());
    let claim = state
        .store
        .claim_idempotency(
            &caller.org_id,
            &key,
            &request_hash,
            now_unix(),
            state.config.idempotency_ttl_seconds,
        )
        .await;
    match claim {
        Err(e) => ApiError::from(e).into_response(),
        Ok(IdempotencyClaim::InFlight) => ApiError::new(
            StatusCode::CONFLICT,
            "IDEMPOTENCY_IN_FLIGHT",
            "a request with this Idempotency-Key is still being processed",
        )
        .into_response(),
        Ok(IdempotencyClaim::Mismatch) => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "IDEMPOTENCY_KEY_REUSED",
            "this Idempotency-Key was used with a different request",
        )
        .into_response(),
        Ok(IdempotencyClaim::Completed { status, body }) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            let mut response =
                (status, [(axum::http::header::CONTENT_TYPE, "application/json")], body)
                    .into_response();
            response.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
            response
        }
        Ok(IdempotencyClaim::Claimed) => {
            let answer = handler.await;
            let (status, text) = match &answer {
                Ok((status, value)) => (*status, value.to_string()),
                Err(e) => (e.status, e.body()),
            };
            let stored = if status.is_client_error() {
                state.store.release_idempotency(&caller.org_id, &key).await
            } else {
                state.store.complete_idempotency(&caller.org_id, &key, status.as_u16(), &text).await
            };
            if let Err(e) = stored {
                tracing::error!(error = %e, "could not store the idempotent answer");
            }
            respond(answer)
        }
    }
}

fn respond(answer: Answer) -> Response {
    match answer {
        Ok((status, value)) => (status, axum::Json(value)).into_response(),
        Err(e) => e.into_response(),
    }
}
