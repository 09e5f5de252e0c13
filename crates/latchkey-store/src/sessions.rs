//! Session keys: public key, policy and lifecycle state (never any private material).

use crate::db::{new_id, now_unix, with_read_pool, with_write_pool, Cols};
use crate::error::{Result, StoreError};
use crate::model::{NewSession, Session, SessionState};
use crate::Store;

macro_rules! session_cols {
    () => {
        "id, wallet_id, session_public_key, valid_after, valid_until, max_calls, \
         grant_json, allow_all, registration_request_id, state, created_at, \
         updated_at, revoked_at"
    };
}

fn session_from_row(row: &impl Cols) -> Result<Session> {
    Ok(Session {
        id: row.text("id")?,
        wallet_id: row.text("wallet_id")?,
        session_public_key: row.text("session_public_key")?,
        valid_after: row.int("valid_after")?,
        valid_until: row.int("valid_until")?,
        max_calls: row.int("max_calls")?,
        grant: serde_json::from_str(&row.text("grant_json")?)
            .map_err(|e| StoreError::corrupt(format_args!("session grant: {e}")))?,
        allow_all: row.flag("allow_all")?,
        registration_request_id: row.opt_text("registration_request_id")?,
        state: row.text("state")?.parse()?,
        created_at: row.int("created_at")?,
        updated_at: row.int("updated_at")?,
        revoked_at: row.opt_int("revoked_at")?,
    })
}

impl Store {
    /// Inserts a session, or — when the wallet already has this session key — replaces its
    /// policy fields and puts it back to [`SessionState::Pending`] (keeping its id and
    /// creation time). One atomic `INSERT … ON CONFLICT DO UPDATE` on
    /// [`SESSION_WALLET_KEY`](crate::constraints::SESSION_WALLET_KEY).
    pub async fn upsert_session(&self, session: &NewSession) -> Result<Session> {
        const SQL: &str = concat!(
            "INSERT INTO sessions (id, wallet_id, session_public_key, valid_after, valid_until, ",
            "max_calls, grant_json, allow_all, registration_request_id, state, ",
            "created_at, updated_at) ",
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) ",
            "ON CONFLICT (wallet_id, session_public_key) DO UPDATE SET ",
            "valid_after = excluded.valid_after, valid_until = excluded.valid_until, ",
            "max_calls = excluded.max_calls, grant_json = excluded.grant_json, ",
            "allow_all = excluded.allow_all, ",
            "registration_request_id = excluded.registration_request_id, ",
            "state = excluded.state, updated_at = excluded.updated_at, revoked_at = NULL ",
            "RETURNING ",
            session_cols!()
        );
        let grant = serde_json::to_string(&session.grant)
            .map_err(|e| StoreError::Database(format!("session grant: {e}")))?;
        with_write_pool!(self, |pool| {
            let row = sqlx::query(SQL)
                .bind(new_id())
                .bind(&session.wallet_id)
                .bind(&session.session_public_key)
                .bind(session.valid_after)
                .bind(session.valid_until)
                .bind(session.max_calls)
                .bind(&grant)
                .bind(session.allow_all)
                .bind(&session.registration_request_id)
                .bind(SessionState::Pending.as_str())
                .bind(now_unix())
                .fetch_one(pool)
                .await?;
            session_from_row(&row)
        })
    }

    /// The wallet's session with this public key.
    pub async fn session(
        &self,
        wallet_id: &str,
        session_public_key: &str,
    ) -> Result<Option<Session>> {
        const SQL: &str = concat!(
            "SELECT ",
            session_cols!(),
            " FROM sessions WHERE wallet_id = $1 AND session_public_key = $2"
        );
        with_read_pool!(self, |pool| {
            let row = sqlx::query(SQL)
                .bind(wallet_id)
                .bind(session_public_key)
                .fetch_optional(pool)
                .await?;
            row.as_ref().map(session_from_row).transpose()
        })
    }

    /// Every session of the wallet, oldest first.
    pub async fn sessions_for_wallet(&self, wallet_id: &str) -> Result<Vec<Session>> {
        const SQL: &str = concat!(
            "SELECT ",
            session_cols!(),
            " FROM sessions WHERE wallet_id = $1 ORDER BY created_at, seq"
        );
        with_read_pool!(self, |pool| {
            let rows = sqlx::query(SQL).bind(wallet_id).fetch_all(pool).await?;
            rows.iter().map(session_from_row).collect()
        })
    }

    /// Sets the session's state. Entering [`SessionState::Revoked`] records `revoked_at`
    /// (the first time only).
    pub async fn set_session_state(
        &self,
        wallet_id: &str,
        session_public_key: &str,
        state: SessionState,
    ) -> Result<()> {
        const SQL: &str = "UPDATE sessions SET state = $1, updated_at = $2, \
             revoked_at = CASE WHEN $1 = 'revoked' THEN COALESCE(revoked_at, $2) ELSE revoked_at END \
             WHERE wallet_id = $3 AND session_public_key = $4";
        let done = with_write_pool!(self, |pool| {
            sqlx::query(SQL)
                .bind(state.as_str())
                .bind(now_unix())
                .bind(wallet_id)
                .bind(session_public_key)
                .execute(pool)
                .await?
                .rows_affected()
        });
        if done == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Revokes every session of the wallet that is not revoked yet; returns how many.
    pub async fn revoke_all_sessions(&self, wallet_id: &str) -> Result<u64> {
        const SQL: &str =
            "UPDATE sessions SET state = 'revoked', updated_at = $1, revoked_at = $1 \
                           WHERE wallet_id = $2 AND state <> 'revoked'";
        let done = with_write_pool!(self, |pool| {
            sqlx::query(SQL).bind(now_unix()).bind(wallet_id).execute(pool).await?.rows_affected()
        });
        Ok(done)
    }
}
