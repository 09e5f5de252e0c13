//! What an organisation's requests and sessions did over a window of time, read for the
//! dashboard's charts, and its requests filtered for the transactions view.
//!
//! Counts are grouped in SQL; fees (decimal text, up to `u128`) are summed by the caller
//! from the settled rows, since neither backend sums text without overflow or a loss of
//! precision.

use crate::db::{with_read_pool, Cols};
use crate::error::Result;
use crate::model::{RequestStatus, SessionState};
use crate::Store;

/// Requests of one status created in one hour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HourCount {
    /// The hour's start, unix seconds (a multiple of 3600).
    pub hour: i64,
    /// Their status now.
    pub status: RequestStatus,
    /// Whether they carry a refusal (`error_code`): for a payload still `prepared`, its
    /// last execution was refused.
    pub refused: bool,
    /// How many.
    pub count: i64,
}

/// The fee of one request that reached the chain (`succeeded` or `reverted`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettledFee {
    /// When it became final, unix seconds.
    pub finalized_at: i64,
    /// The chain (CAIP-2 id).
    pub chain: String,
    /// The fee's unit (`FRI`, `WEI`).
    pub unit: String,
    /// The fee paid, in `unit` (0 when the stored text does not parse).
    pub fee: u128,
}

/// When a session was created, valid and revoked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionSpan {
    /// The chain of its wallet.
    pub chain: String,
    /// Its state now.
    pub state: SessionState,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub valid_after: i64,
    /// Unix seconds.
    pub valid_until: i64,
    /// When it was revoked, if it was.
    pub revoked_at: Option<i64>,
}

/// Which of an organisation's requests to list; every `Some`/non-empty field narrows it.
#[derive(Debug, Clone, Default)]
pub struct RequestFilter {
    /// Only this wallet's (its id).
    pub wallet_id: Option<String>,
    /// Only those on this chain (CAIP-2 id).
    pub chain: Option<String>,
    /// Only those in one of these statuses.
    pub statuses: Vec<RequestStatus>,
}

impl Store {
    /// How many of the organisation's requests created since `since` (unix seconds) are in
    /// each status, by the hour they were created in; hours and statuses without a request
    /// are left out. Ordered by hour, then as [`RequestStatus::ALL`].
    pub async fn request_counts_by_hour(&self, org_id: &str, since: i64) -> Result<Vec<HourCount>> {
        const SQL: &str = "SELECT (created_at / 3600) AS hour, status, \
             CAST(CASE WHEN error_code IS NULL THEN 0 ELSE 1 END AS BIGINT) AS refused, \
             COUNT(*) AS n FROM requests WHERE org_id = $1 AND created_at >= $2 \
             GROUP BY (created_at / 3600), status, \
             CAST(CASE WHEN error_code IS NULL THEN 0 ELSE 1 END AS BIGINT)";
        let mut counts = with_read_pool!(self, |pool| {
            let rows = sqlx::query(SQL).bind(org_id).bind(since).fetch_all(pool).await?;
            rows.iter()
                .map(|row| {
                    Ok(HourCount {
                        hour: row.int("hour")? * 3600,
                        status: row.text("status")?.parse()?,
                        refused: row.int("refused")? != 0,
                        count: row.int("n")?,
                    })
                })
                .collect::<Result<Vec<_>>>()?
        });
        counts.sort_by_key(|c| {
            (c.hour, RequestStatus::ALL.iter().position(|s| *s == c.status), c.refused)
        });
        Ok(counts)
    }

    /// The fees of the organisation's requests that reached the chain (`succeeded` or
    /// `reverted`) and became final since `since` (unix seconds), oldest first.
    pub async fn settled_fees(&self, org_id: &str, since: i64) -> Result<Vec<SettledFee>> {
        const SQL: &str = "SELECT finalized_at, chain, fee_unit, fee FROM requests \
             WHERE org_id = $1 AND finalized_at >= $2 AND fee IS NOT NULL \
             AND status IN ('succeeded', 'reverted') ORDER BY finalized_at, seq";
        with_read_pool!(self, |pool| {
            let rows = sqlx::query(SQL).bind(org_id).bind(since).fetch_all(pool).await?;
            rows.iter()
                .map(|row| {
                    Ok(SettledFee {
                        finalized_at: row.int("finalized_at")?,
                        chain: row.text("chain")?,
                        unit: row.text("fee_unit")?,
                        fee: row.text("fee")?.parse().unwrap_or(0),
                    })
                })
                .collect()
        })
    }

    /// The organisation's sessions that were created, valid or revoked at some time since
    /// `since` (unix seconds), oldest first.
    pub async fn session_spans(&self, org_id: &str, since: i64) -> Result<Vec<SessionSpan>> {
        const SQL: &str = "SELECT w.chain, s.state, s.created_at, s.valid_after, s.valid_until, \
             s.revoked_at FROM sessions s JOIN wallets w ON w.id = s.wallet_id \
             WHERE w.org_id = $1 AND (s.created_at >= $2 OR s.valid_until >= $2 \
             OR s.revoked_at >= $2) ORDER BY s.created_at, s.seq";
        with_read_pool!(self, |pool| {
            let rows = sqlx::query(SQL).bind(org_id).bind(since).fetch_all(pool).await?;
            rows.iter()
                .map(|row| {
                    Ok(SessionSpan {
                        chain: row.text("chain")?,
                        state: row.text("state")?.parse()?,
                        created_at: row.int("created_at")?,
                        valid_after: row.int("valid_after")?,
                        valid_until: row.int("valid_until")?,
                        revoked_at: row.opt_int("revoked_at")?,
                    })
                })
                .collect()
        })
    }
}
