//! `Idempotency-Key` with Stripe's semantics: the first request with a key is executed
//! and its answer stored (successes and server errors alike); a repeat with the same body
//! gets the stored answer, a repeat with another body is refused (422), a repeat while the
//! first is still running is refused (409). A request refused as invalid (4xx) stores
//! nothing, so it can be corrected and retried with the same key. The relayer's own
//! (account, nonce) dedup still holds across keys (I4).
//!
//! Keys live in one namespace per (organisation, principal): an end user's key never
//! answers another end user's request (R2-12). A claim left in flight by a process that
//! died is released when that process starts again, or taken over by a retry once it is
//! older than the configured staleness (I3); the retry then runs again, and an execution
//! that had got as far as the relayer is found there and answered, not repeated.

use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use latchkey_core::codes;
use latchkey_store::{IdempotencyClaim, IdempotencyScope};
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
                    codes::INVALID_IDEMPOTENCY_KEY,
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
    let principal = caller.principal.key();
    let scope = IdempotencyScope { org_id: &caller.org_id, principal: &principal, key: &key };
    let claim = state
        .store
        .claim_idempotency(
            scope,
            &request_hash,
            &state.config.instance,
            now_unix(),
            state.config.idempotency_ttl_seconds,
            state.config.idempotency_stale_seconds,
        )
        .await;
    match claim {
        Err(e) => ApiError::from(e).into_response(),
        Ok(IdempotencyClaim::InFlight) => ApiError::new(
            StatusCode::CONFLICT,
            codes::IDEMPOTENCY_IN_FLIGHT,
            "a request with this Idempotency-Key is still being processed",
        )
        .into_response(),
        Ok(IdempotencyClaim::Mismatch) => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            codes::IDEMPOTENCY_KEY_REUSED,
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
                state.store.release_idempotency(scope).await
            } else {
                state.store.complete_idempotency(scope, status.as_u16(), &text).await
            };
            if let Err(e) = stored {
                tracing::error!(error = %e, "could not store the idempotent answer");
            }
            respond(answer)
        }
    }
}

/// An execution's outcome as the handler answers it. When a retry under the same
/// `Idempotency-Key` finds the execution recorded already (its first attempt got as far as
/// the relayer, then its process died before answering), the recorded execution is the
/// answer: the recovery point of the key, with no second submission.
pub(crate) async fn resume(
    state: &AppState,
    org_id: &str,
    key: Option<&str>,
    outcome: Result<latchkey_relayer::Submitted, latchkey_relayer::RelayError>,
) -> Result<latchkey_relayer::Submitted, ApiError> {
    match outcome {
        Err(latchkey_relayer::RelayError::AlreadySubmitted { request_id: Some(id), tx_hash })
            if key.is_some() =>
        {
            let existing = state.store.request(&id).await?;
            match existing {
                Some(request)
                    if request.org_id == org_id && request.idempotency_key.as_deref() == key =>
                {
                    let hash = tx_hash.or(request.tx_hash).unwrap_or_default();
                    Ok(latchkey_relayer::Submitted { request_id: id, transaction_hash: hash })
                }
                _ => Err(latchkey_relayer::RelayError::AlreadySubmitted {
                    request_id: Some(id),
                    tx_hash,
                }
                .into()),
            }
        }
        other => other.map_err(ApiError::from),
    }
}

fn respond(answer: Answer) -> Response {
    match answer {
        Ok((status, value)) => (status, axum::Json(value)).into_response(),
        Err(e) => e.into_response(),
    }
}
