//! Idempotency keys with Stripe semantics: the first request per key runs, later ones
//! replay its stored response, a different body under the same key is refused.

use crate::db::{with_read_pool, with_write_pool, with_write_tx, Cols};
use crate::error::{Result, StoreError};
use crate::model::IdempotencyClaim;
use crate::Store;

/// Row state while the owning request runs.
const IN_FLIGHT: &str = "in_flight";
/// Row state once the response is stored.
const COMPLETED: &str = "completed";

/// Classifies an existing, unexpired key for a caller presenting `request_hash`.
fn classify(row: &impl Cols, request_hash: &str) -> Result<IdempotencyClaim> {
    if row.text("request_hash")? != request_hash {
        return Ok(IdempotencyClaim::Mismatch);
    }
    match row.text("state")?.as_str() {
        IN_FLIGHT => Ok(IdempotencyClaim::InFlight),
        COMPLETED => {
            let status = row
                .opt_int("response_status")?
                .and_then(|s| u16::try_from(s).ok())
                .ok_or_else(|| StoreError::corrupt("completed idempotency key without status"))?;
            let body = row.opt_text("response_body")?.unwrap_or_default();
            Ok(IdempotencyClaim::Completed { status, body })
        }
        other => Err(StoreError::corrupt(format_args!("idempotency state {other:?}"))),
    }
}

/// Where an idempotency key lives: one namespace per (organisation, principal), so an end
/// user's key can never answer another end user's (or the organisation's) request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdempotencyScope<'a> {
    /// The organisation.
    pub org_id: &'a str,
    /// `organization` or `user:<subject>`.
    pub principal: &'a str,
    /// The client's key.
    pub key: &'a str,
}

impl Store {
    /// Atomically claims the key for `owner` (the instance that runs the request).
    ///
    /// One `INSERT … ON CONFLICT DO UPDATE … WHERE` either creates the key, takes over an
    /// expired one, takes over an in-flight claim older than `stale_after_secs` (its
    /// request died with its process), or does nothing; only in the first three cases does
    /// the caller get [`IdempotencyClaim::Claimed`]. Otherwise the existing row decides: a
    /// different `request_hash` is [`IdempotencyClaim::Mismatch`], a running request is
    /// [`IdempotencyClaim::InFlight`], a finished one is [`IdempotencyClaim::Completed`].
    /// The claim expires `ttl_secs` after `now`.
    #[allow(clippy::too_many_arguments)]
    pub async fn claim_idempotency(
        &self,
        scope: IdempotencyScope<'_>,
        request_hash: &str,
        owner: &str,
        now: i64,
        ttl_secs: i64,
        stale_after_secs: i64,
    ) -> Result<IdempotencyClaim> {
        const CLAIM: &str = "INSERT INTO idempotency_keys \
             (org_id, principal, idempotency_key, request_hash, state, owner, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, 'in_flight', $5, $6, $7) \
             ON CONFLICT (org_id, principal, idempotency_key) DO UPDATE SET \
             request_hash = excluded.request_hash, state = excluded.state, owner = excluded.owner, \
             response_status = NULL, response_body = NULL, \
             created_at = excluded.created_at, expires_at = excluded.expires_at \
             WHERE idempotency_keys.expires_at <= excluded.created_at \
             OR (idempotency_keys.state = 'in_flight' \
                 AND idempotency_keys.request_hash = excluded.request_hash \
                 AND idempotency_keys.created_at <= $8)";
        const EXISTING: &str = "SELECT request_hash, state, response_status, response_body \
             FROM idempotency_keys WHERE org_id = $1 AND principal = $2 AND idempotency_key = $3";
        let expires_at = now.saturating_add(ttl_secs.max(0));
        let stale_before = now.saturating_sub(stale_after_secs.max(0));
        let claim = with_write_tx!(self, |tx| {
            let claimed = sqlx::query(CLAIM)
                .bind(scope.org_id)
                .bind(scope.principal)
                .bind(scope.key)
                .bind(request_hash)
                .bind(owner)
                .bind(now)
                .bind(expires_at)
                .bind(stale_before)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                == 1;
            if claimed {
                IdempotencyClaim::Claimed
            } else {
                // The row exists and is unexpired; within this transaction it cannot vanish
                // on SQLite (write lock held) and on PostgreSQL the conflicting row was
                // locked by the upsert until commit.
                let row = sqlx::query(EXISTING)
                    .bind(scope.org_id)
                    .bind(scope.principal)
                    .bind(scope.key)
                    .fetch_one(&mut *tx)
                    .await?;
                classify(&row, request_hash)?
            }
        });
        Ok(claim)
    }

    /// Stores the response of the request that claimed the key. Only an in-flight key is
    /// updated: the first stored response is the one every retry replays.
    pub async fn complete_idempotency(
        &self,
        scope: IdempotencyScope<'_>,
        status: u16,
        body: &str,
    ) -> Result<()> {
        const SQL: &str = "UPDATE idempotency_keys SET state = 'completed', owner = NULL, \
             response_status = $1, response_body = $2 \
             WHERE org_id = $3 AND principal = $4 AND idempotency_key = $5 AND state = 'in_flight'";
        const EXISTS: &str = "SELECT COUNT(*) FROM idempotency_keys \
             WHERE org_id = $1 AND principal = $2 AND idempotency_key = $3";
        let done = with_write_pool!(self, |pool| {
            sqlx::query(SQL)
                .bind(i64::from(status))
                .bind(body)
                .bind(scope.org_id)
                .bind(scope.principal)
                .bind(scope.key)
                .execute(pool)
                .await?
                .rows_affected()
        });
        if done == 1 {
            return Ok(());
        }
        let count: i64 = with_read_pool!(self, |pool| {
            sqlx::query_scalar(EXISTS)
                .bind(scope.org_id)
                .bind(scope.principal)
                .bind(scope.key)
                .fetch_one(pool)
                .await?
        });
        if count == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Deletes an in-flight claim (the request failed validation and nothing ran), so the
    /// key can be used again at once. A completed key is left alone.
    pub async fn release_idempotency(&self, scope: IdempotencyScope<'_>) -> Result<()> {
        const SQL: &str = "DELETE FROM idempotency_keys \
             WHERE org_id = $1 AND principal = $2 AND idempotency_key = $3 AND state = 'in_flight'";
        with_write_pool!(self, |pool| {
            sqlx::query(SQL)
                .bind(scope.org_id)
                .bind(scope.principal)
                .bind(scope.key)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(())
    }

    /// Deletes every in-flight claim of `owner`: called when that instance starts, since
    /// nothing it claimed before can still be running. A retry of such a request then runs
    /// again (and finds its execution, if it got that far, through the relayer's
    /// one-request-per-nonce record). Returns how many were released.
    pub async fn release_in_flight_idempotency(&self, owner: &str) -> Result<u64> {
        const SQL: &str = "DELETE FROM idempotency_keys WHERE state = 'in_flight' AND owner = $1";
        let done = with_write_pool!(self, |pool| sqlx::query(SQL)
            .bind(owner)
            .execute(pool)
            .await?
            .rows_affected());
        Ok(done)
    }

    /// Deletes keys that expired before `now`; returns how many.
    pub async fn purge_expired_idempotency(&self, now: i64) -> Result<u64> {
        const SQL: &str = "DELETE FROM idempotency_keys WHERE expires_at <= $1";
        let done = with_write_pool!(self, |pool| sqlx::query(SQL)
            .bind(now)
            .execute(pool)
            .await?
            .rows_affected());
        Ok(done)
    }
}
