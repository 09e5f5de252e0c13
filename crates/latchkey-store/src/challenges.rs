//! Server-issued challenges a key holder signs to prove possession of a key. Each is
//! bound to one organisation, one principal and one purpose, expires, and is used once.

use crate::db::{now_unix, with_write_pool, with_write_tx};
use crate::error::Result;
use crate::model::Challenge;
use crate::Store;

/// Expired challenges are deleted this long after they expire.
const RETENTION_SECS: i64 = 86_400;

impl Store {
    /// Records a new challenge (and deletes long-expired ones). Fails with
    /// [`StoreError::Conflict`](crate::StoreError::Conflict) on
    /// [`CHALLENGE`](crate::constraints::CHALLENGE) if the value was issued before.
    pub async fn insert_challenge(&self, challenge: &Challenge) -> Result<()> {
        const PURGE: &str = "DELETE FROM challenges WHERE expires_at < $1";
        const INSERT: &str = "INSERT INTO challenges \
             (challenge, org_id, purpose, principal, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6)";
        with_write_tx!(self, |tx| {
            sqlx::query(PURGE).bind(now_unix() - RETENTION_SECS).execute(&mut *tx).await?;
            sqlx::query(INSERT)
                .bind(&challenge.challenge)
                .bind(&challenge.org_id)
                .bind(&challenge.purpose)
                .bind(&challenge.principal)
                .bind(challenge.created_at)
                .bind(challenge.expires_at)
                .execute(&mut *tx)
                .await?;
        });
        Ok(())
    }

    /// Marks the challenge used, iff it exists for this organisation, principal and
    /// purpose, is unexpired at `at` and was never used: one conditional `UPDATE`, so
    /// two requests can never both use it.
    pub async fn consume_challenge(
        &self,
        challenge: &str,
        org_id: &str,
        principal: &str,
        purpose: &str,
        at: i64,
    ) -> Result<bool> {
        const SQL: &str = "UPDATE challenges SET used_at = $1 \
             WHERE challenge = $2 AND org_id = $3 AND principal = $4 AND purpose = $5 \
             AND used_at IS NULL AND expires_at > $1";
        let done = with_write_pool!(self, |pool| {
            sqlx::query(SQL)
                .bind(at)
                .bind(challenge)
                .bind(org_id)
                .bind(principal)
                .bind(purpose)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(done == 1)
    }
}
