//! Relayer leases and nonces, and end-user session blobs.

use crate::db::{now_unix, with_read_pool, with_write_pool, Cols};
use crate::error::Result;
use crate::model::UserSession;
use crate::Store;

impl Store {
    /// Leases the relayer account at `address` on `chain` to `owner` until
    /// `now + ttl_secs`, iff it is free, its lease expired, or `owner` already holds it
    /// (which renews the lease). One atomic upsert, so two processes can never both hold
    /// the same relayer.
    pub async fn lease_relayer(
        &self,
        chain: &str,
        address: &str,
        owner: &str,
        now: i64,
        ttl_secs: i64,
    ) -> Result<bool> {
        const SQL: &str = "INSERT INTO relayers (chain, address, lease_owner, lease_expires_at, \
             updated_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (chain, address) DO UPDATE SET lease_owner = excluded.lease_owner, \
             lease_expires_at = excluded.lease_expires_at, updated_at = excluded.updated_at \
             WHERE relayers.lease_owner IS NULL OR relayers.lease_owner = excluded.lease_owner \
             OR relayers.lease_expires_at IS NULL OR relayers.lease_expires_at <= excluded.updated_at";
        let expires_at = now.saturating_add(ttl_secs.max(0));
        let done = with_write_pool!(self, |pool| {
            sqlx::query(SQL)
                .bind(chain)
                .bind(address)
                .bind(owner)
                .bind(expires_at)
                .bind(now)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(done == 1)
    }

    /// Whether `address` is a relayer account of this deployment on `chain` (any instance
    /// has leased it at some point).
    pub async fn is_relayer(&self, chain: &str, address: &str) -> Result<bool> {
        const SQL: &str = "SELECT COUNT(*) FROM relayers WHERE chain = $1 AND address = $2";
        let count: i64 = with_read_pool!(self, |pool| {
            sqlx::query_scalar(SQL).bind(chain).bind(address).fetch_one(pool).await?
        });
        Ok(count > 0)
    }

    /// Gives up `owner`'s lease on the relayer; does nothing if someone else holds it.
    pub async fn release_relayer(&self, chain: &str, address: &str, owner: &str) -> Result<()> {
        const SQL: &str = "UPDATE relayers SET lease_owner = NULL, lease_expires_at = NULL, \
             updated_at = $1 WHERE chain = $2 AND address = $3 AND lease_owner = $4";
        with_write_pool!(self, |pool| {
            sqlx::query(SQL)
                .bind(now_unix())
                .bind(chain)
                .bind(address)
                .bind(owner)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(())
    }

    /// Records the next nonce to use for the relayer account.
    pub async fn record_relayer_nonce(
        &self,
        chain: &str,
        address: &str,
        nonce: &str,
    ) -> Result<()> {
        const SQL: &str = "INSERT INTO relayers (chain, address, nonce, updated_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (chain, address) DO UPDATE \
             SET nonce = excluded.nonce, updated_at = excluded.updated_at";
        with_write_pool!(self, |pool| {
            sqlx::query(SQL)
                .bind(chain)
                .bind(address)
                .bind(nonce)
                .bind(now_unix())
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(())
    }

    /// Who holds the lease of the relayer account, and until when (unix seconds): `None`
    /// when no instance ever leased it; `(None, None)` when it was released.
    pub async fn relayer_lease(
        &self,
        chain: &str,
        address: &str,
    ) -> Result<Option<(Option<String>, Option<i64>)>> {
        const SQL: &str = "SELECT lease_owner, lease_expires_at FROM relayers \
             WHERE chain = $1 AND address = $2";
        let lease: Option<(Option<String>, Option<i64>)> = with_read_pool!(self, |pool| {
            sqlx::query_as(SQL).bind(chain).bind(address).fetch_optional(pool).await?
        });
        Ok(lease)
    }

    /// Whether the instance `owner` is alive at unix time `now`: it holds an unexpired
    /// relayer-account lease, on any chain (a live instance renews its leases).
    pub async fn instance_alive(&self, owner: &str, now: i64) -> Result<bool> {
        const SQL: &str = "SELECT COUNT(*) FROM relayers \
             WHERE lease_owner = $1 AND lease_expires_at > $2";
        let count: i64 = with_read_pool!(self, |pool| {
            sqlx::query_scalar(SQL).bind(owner).bind(now).fetch_one(pool).await?
        });
        Ok(count > 0)
    }

    /// How many requests on `chain` have a transaction signed by `address` that is not
    /// final yet.
    pub async fn in_flight_on_relayer(&self, chain: &str, address: &str) -> Result<i64> {
        const SQL: &str = "SELECT COUNT(*) FROM requests WHERE chain = $1 \
             AND relayer_address = $2 \
             AND status IN ('submitting', 'submitted', 'pre_confirmed', 'accepted')";
        let count: i64 = with_read_pool!(self, |pool| {
            sqlx::query_scalar(SQL).bind(chain).bind(address).fetch_one(pool).await?
        });
        Ok(count)
    }

    /// The recorded nonce of the relayer account.
    pub async fn relayer_nonce(&self, chain: &str, address: &str) -> Result<Option<String>> {
        const SQL: &str = "SELECT nonce FROM relayers WHERE chain = $1 AND address = $2";
        let nonce: Option<Option<String>> = with_read_pool!(self, |pool| {
            sqlx::query_scalar(SQL).bind(chain).bind(address).fetch_optional(pool).await?
        });
        Ok(nonce.flatten())
    }

    /// Stores (or replaces) the end user's session blob.
    pub async fn put_user_session(
        &self,
        org_id: &str,
        subject: &str,
        wallet_address: Option<String>,
        blob: &str,
    ) -> Result<()> {
        const SQL: &str = "INSERT INTO user_sessions \
             (org_id, subject, wallet_address, session_blob, updated_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (org_id, subject) DO UPDATE SET wallet_address = excluded.wallet_address, \
             session_blob = excluded.session_blob, updated_at = excluded.updated_at";
        with_write_pool!(self, |pool| {
            sqlx::query(SQL)
                .bind(org_id)
                .bind(subject)
                .bind(wallet_address)
                .bind(blob)
                .bind(now_unix())
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(())
    }

    /// The end user's session blob.
    pub async fn user_session(&self, org_id: &str, subject: &str) -> Result<Option<UserSession>> {
        const SQL: &str = "SELECT session_blob, wallet_address, updated_at FROM user_sessions \
             WHERE org_id = $1 AND subject = $2";
        with_read_pool!(self, |pool| {
            let row = sqlx::query(SQL).bind(org_id).bind(subject).fetch_optional(pool).await?;
            row.map(|row| {
                Ok(UserSession {
                    blob: row.text("session_blob")?,
                    wallet_address: row.opt_text("wallet_address")?,
                    updated_at: row.int("updated_at")?,
                })
            })
            .transpose()
        })
    }

    /// Deletes the end user's session blob; returns whether there was one.
    pub async fn delete_user_session(&self, org_id: &str, subject: &str) -> Result<bool> {
        const SQL: &str = "DELETE FROM user_sessions WHERE org_id = $1 AND subject = $2";
        let done = with_write_pool!(self, |pool| {
            sqlx::query(SQL).bind(org_id).bind(subject).execute(pool).await?.rows_affected()
        });
        Ok(done == 1)
    }
}
