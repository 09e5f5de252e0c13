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

impl Store {
    /// Atomically claims `key` for the organisation.
    ///
    /// One `INSERT … ON CONFLICT DO UPDATE … WHERE expired` either creates the key, takes
    /// over an expired one, or does nothing; only in the first two cases does the caller get
    /// [`IdempotencyClaim::Claimed`]. Otherwise the existing row decides: a different
    /// `request_hash` is [`IdempotencyClaim::Mismatch`], a running request is
    /// [`IdempotencyClaim::InFlight`], a finished one is [`IdempotencyClaim::Completed`].
    /// The claim expires `ttl_secs` after `now`.
    pub async fn claim_idempotency(
        &self,
        org_id: &str,
        key: &str,
        request_hash: &str,
        now: i64,
        ttl_secs: i64,
    ) -> Result<IdempotencyClaim> {
        const CLAIM: &str = "INSERT INTO idempotency_keys \
             (org_id, idempotency_key, request_hash, state, created_at, expires_at) \
             VALUES ($1, $2, $3, 'in_flight', $4, $5) \
             ON CONFLICT (org_id, idempotency_key) DO UPDATE SET \
             request_hash = excluded.request_hash, state = excluded.state, \
             response_status = NULL, response_body = NULL, \
             created_at = excluded.created_at, expires_at = excluded.expires_at \
             WHERE idempotency_keys.expires_at <= excluded.created_at";
        const EXISTING: &str = "SELECT request_hash, state, response_status, response_body \
             FROM idempotency_keys WHERE org_id = $1 AND idempotency_key = $2";
        let expires_at = now.saturating_add(ttl_secs.max(0));
        let claim = with_write_tx!(self, |tx| {
            let claimed = sqlx::query(CLAIM)
                .bind(org_id)
                .bind(key)
                .bind(request_hash)
                .bind(now)
                .bind(expires_at)
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
                let row = sqlx::query(EXISTING).bind(org_id).bind(key).fetch_one(&mut *tx).await?;
                classify(&row, request_hash)?
            }
        });
        Ok(claim)
    }

    /// Stores the response of the request that claimed `key`. Only an in-flight key is
    /// updated: the first stored response is the one every retry replays.
    pub async fn complete_idempotency(
        &self,
        org_id: &str,
        key: &str,
        status: u16,
        body: &str,
    ) -> Result<()> {
        const SQL: &str = "UPDATE idempotency_keys SET state = 'completed', \
             response_status = $1, response_body = $2 \
             WHERE org_id = $3 AND idempotency_key = $4 AND state = 'in_flight'";
        const EXISTS: &str =
            "SELECT COUNT(*) FROM idempotency_keys WHERE org_id = $1 AND idempotency_key = $2";
        let done = with_write_pool!(self, |pool| {
            sqlx::query(SQL)
                .bind(i64::from(status))
                .bind(body)
                .bind(org_id)
                .bind(key)
                .execute(pool)
                .await?
                .rows_affected()
        });
        if done == 1 {
            return Ok(());
        }
        let count: i64 = with_read_pool!(self, |pool| {
            sqlx::query_scalar(EXISTS).bind(org_id).bind(key).fetch_one(pool).await?
        });
        if count == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Deletes an in-flight claim (the request failed validation and nothing ran), so the
    /// key can be used again at once. A completed key is left alone.
    pub async fn release_idempotency(&self, org_id: &str, key: &str) -> Result<()> {
        const SQL: &str = "DELETE FROM idempotency_keys \
             WHERE org_id = $1 AND idempotency_key = $2 AND state = 'in_flight'";
        with_write_pool!(self, |pool| {
            sqlx::query(SQL).bind(org_id).bind(key).execute(pool).await?.rows_affected()
        });
        Ok(())
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
