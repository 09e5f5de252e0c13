//! The attempt counter of PIN unlocks through the OPRF: one row per wallet address.
//!
//! Every OPRF evaluation counts as an attempt, durably, before the server answers: an
//! answer the counter did not see does not exist. A proved unlock (a signature by the
//! unlocked key over a server challenge) resets the counter; after
//! [`PinPolicy::max_failures`] consecutive unproved attempts every further one waits for a
//! lock that doubles each time. The count is one conditional `UPDATE` that names the
//! values it read (compare and swap), so several server processes on one PostgreSQL
//! database, or two on one SQLite file, never lose or double an attempt.

use crate::db::{now_unix, with_read_pool, with_write_pool, Cols};
use crate::error::{Result, StoreError};
use crate::Store;

/// How many unproved attempts a wallet gets, and how long the locks after them last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PinPolicy {
    /// Consecutive unproved attempts before the first lock.
    pub max_failures: u32,
    /// The first lock, in seconds; each further attempt doubles it.
    pub base_lock_secs: i64,
    /// The longest lock, in seconds.
    pub max_lock_secs: i64,
}

impl Default for PinPolicy {
    /// 10 attempts, then 60 s, 120 s, 240 s … up to a day.
    fn default() -> Self {
        Self { max_failures: 10, base_lock_secs: 60, max_lock_secs: 86_400 }
    }
}

impl PinPolicy {
    /// The lock that follows the attempt that brought the counter to `failures`: none
    /// before `max_failures`, then `base · 2^(failures − max_failures)`, at most
    /// `max_lock_secs`.
    pub fn lock_after(&self, failures: i64) -> Option<i64> {
        let over = failures.checked_sub(i64::from(self.max_failures))?;
        if over < 0 {
            return None;
        }
        let factor = 1i64.checked_shl(u32::try_from(over).unwrap_or(u32::MAX).min(62));
        Some(
            factor
                .and_then(|f| f.checked_mul(self.base_lock_secs.max(1)))
                .map_or(self.max_lock_secs, |secs| secs.min(self.max_lock_secs)),
        )
    }

    /// How many attempts an attacker who never knows the PIN gets within `window`
    /// seconds from a fresh counter, each made as soon as the lock allows.
    pub fn attempts_within(&self, window: i64) -> u64 {
        let (mut at, mut failures, mut count) = (0i64, 0i64, 0u64);
        while at <= window {
            failures += 1;
            count += 1;
            if let Some(lock) = self.lock_after(failures) {
                at += lock;
            }
        }
        count
    }
}

/// The counter of one wallet address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PinGuard {
    /// Consecutive evaluations without a proved unlock.
    pub failures: i64,
    /// Unix seconds until which evaluations are refused (0: not locked).
    pub locked_until: i64,
    /// Evaluations ever counted.
    pub evaluations: i64,
    /// When the last evaluation was counted (0: never).
    pub last_attempt_at: i64,
}

impl PinGuard {
    /// Whether evaluations are refused at `at`.
    pub fn is_locked(&self, at: i64) -> bool {
        self.locked_until > at
    }
}

/// What counting an attempt decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinAttempt {
    /// Counted: the server may evaluate. `locked_until` is set when this attempt started
    /// a lock (the next one must wait).
    Counted {
        /// The counter after this attempt.
        failures: i64,
        /// Attempts left before a lock (0 once locking).
        remaining: i64,
        /// The lock this attempt started, if any.
        locked_until: Option<i64>,
    },
    /// Refused without counting: the address is locked until then.
    Locked {
        /// Unix seconds.
        until: i64,
    },
}

/// Why a counter was reset or locked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinEventKind {
    /// A run of unproved attempts started a lock.
    Locked,
    /// A proved unlock lifted a lock.
    Proved,
    /// The organisation reset the counter.
    Reset,
}

impl PinEventKind {
    /// The stored spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Locked => "locked",
            Self::Proved => "proved",
            Self::Reset => "reset",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        [Self::Locked, Self::Proved, Self::Reset].into_iter().find(|k| k.as_str() == text)
    }
}

/// One entry of the append-only record of locks and resets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinEvent {
    /// What happened.
    pub kind: PinEventKind,
    /// Who did it (`org` or `user:<subject>`; `oprf` for a lock).
    pub principal: String,
    /// The counter before.
    pub failures_before: i64,
    /// The lock before a reset, or the lock started.
    pub locked_until: i64,
    /// Unix seconds.
    pub created_at: i64,
}

/// Attempts to count before giving up on a contended row (each retry means another
/// process counted in between, so progress is made).
const CAS_ROUNDS: usize = 64;

/// One address's counter.
const GUARD: &str = "SELECT failures, locked_until, evaluations, last_attempt_at \
     FROM pin_guards WHERE org_id = $1 AND address = $2";

fn guard_from_row(row: &impl Cols) -> Result<PinGuard> {
    Ok(PinGuard {
        failures: row.int("failures")?,
        locked_until: row.int("locked_until")?,
        evaluations: row.int("evaluations")?,
        last_attempt_at: row.int("last_attempt_at")?,
    })
}

impl Store {
    /// The counter of `address` in this organisation (all zero if never counted).
    pub async fn pin_guard(&self, org_id: &str, address: &str) -> Result<PinGuard> {
        with_read_pool!(self, |pool| {
            let row = sqlx::query(GUARD).bind(org_id).bind(address).fetch_optional(pool).await?;
            row.as_ref().map(guard_from_row).transpose().map(Option::unwrap_or_default)
        })
    }

    /// Counts one evaluation for `address` at `at`, unless it is locked.
    pub async fn count_pin_attempt(
        &self,
        org_id: &str,
        address: &str,
        at: i64,
        policy: &PinPolicy,
    ) -> Result<PinAttempt> {
        const ENSURE: &str = "INSERT INTO pin_guards (org_id, address, last_attempt_at) \
             VALUES ($1, $2, 0) ON CONFLICT (org_id, address) DO NOTHING";
        const SWAP: &str = "UPDATE pin_guards SET failures = $3, locked_until = $4, \
             evaluations = evaluations + 1, last_attempt_at = $5 \
             WHERE org_id = $1 AND address = $2 AND failures = $6 AND locked_until = $7";
        for _ in 0..CAS_ROUNDS {
            let (before, swapped, failures, locked_until) = with_write_pool!(self, |pool| {
                sqlx::query(ENSURE).bind(org_id).bind(address).execute(pool).await?;
                let row = sqlx::query(GUARD).bind(org_id).bind(address).fetch_one(pool).await?;
                let before = guard_from_row(&row)?;
                if before.is_locked(at) {
                    return Ok(PinAttempt::Locked { until: before.locked_until });
                }
                let failures = before.failures.saturating_add(1);
                let locked_until = policy.lock_after(failures).map(|secs| at.saturating_add(secs));
                let swapped = sqlx::query(SWAP)
                    .bind(org_id)
                    .bind(address)
                    .bind(failures)
                    .bind(locked_until.unwrap_or(0))
                    .bind(at)
                    .bind(before.failures)
                    .bind(before.locked_until)
                    .execute(pool)
                    .await?
                    .rows_affected()
                    == 1;
                (before, swapped, failures, locked_until)
            });
            if !swapped {
                continue;
            }
            if let Some(until) = locked_until {
                self.record_pin_event(
                    org_id,
                    address,
                    PinEventKind::Locked,
                    "oprf",
                    &before,
                    until,
                )
                .await?;
            }
            let remaining = (i64::from(policy.max_failures) - failures).max(0);
            return Ok(PinAttempt::Counted { failures, remaining, locked_until });
        }
        Err(StoreError::Database("the PIN attempt counter stayed contended".into()))
    }

    /// Resets the counter of `address` (a proved unlock, or the organisation) and returns
    /// it as it was. A reset by the organisation, and a proof that lifts a lock, are
    /// recorded in the append-only [`Store::pin_events`].
    pub async fn reset_pin_guard(
        &self,
        org_id: &str,
        address: &str,
        kind: PinEventKind,
        principal: &str,
    ) -> Result<PinGuard> {
        const SWAP: &str = "UPDATE pin_guards SET failures = 0, locked_until = 0 \
             WHERE org_id = $1 AND address = $2 AND failures = $3 AND locked_until = $4";
        for _ in 0..CAS_ROUNDS {
            let before = self.pin_guard_for_write(org_id, address).await?;
            if before.failures == 0 && before.locked_until == 0 && kind == PinEventKind::Proved {
                return Ok(before);
            }
            let swapped = with_write_pool!(self, |pool| {
                sqlx::query(SWAP)
                    .bind(org_id)
                    .bind(address)
                    .bind(before.failures)
                    .bind(before.locked_until)
                    .execute(pool)
                    .await?
                    .rows_affected()
            });
            // No row: never counted, nothing to reset (still recorded if the org asked).
            if swapped == 1 || before == PinGuard::default() {
                if kind == PinEventKind::Reset || before.locked_until > 0 {
                    let at = before.locked_until;
                    self.record_pin_event(org_id, address, kind, principal, &before, at).await?;
                }
                return Ok(before);
            }
        }
        Err(StoreError::Database("the PIN attempt counter stayed contended".into()))
    }

    /// The record of locks and resets of `address`, oldest first.
    pub async fn pin_events(&self, org_id: &str, address: &str) -> Result<Vec<PinEvent>> {
        const SQL: &str = "SELECT kind, principal, failures_before, locked_until, created_at \
             FROM pin_events WHERE org_id = $1 AND address = $2 ORDER BY seq";
        with_read_pool!(self, |pool| {
            let rows = sqlx::query(SQL).bind(org_id).bind(address).fetch_all(pool).await?;
            rows.iter()
                .map(|row| {
                    let kind = row.text("kind")?;
                    Ok(PinEvent {
                        kind: PinEventKind::parse(&kind)
                            .ok_or_else(|| StoreError::corrupt(format!("pin event kind {kind}")))?,
                        principal: row.text("principal")?,
                        failures_before: row.int("failures_before")?,
                        locked_until: row.int("locked_until")?,
                        created_at: row.int("created_at")?,
                    })
                })
                .collect()
        })
    }

    /// The counter read through the write connection (SQLite), so a compare and swap
    /// sees the latest committed value.
    async fn pin_guard_for_write(&self, org_id: &str, address: &str) -> Result<PinGuard> {
        with_write_pool!(self, |pool| {
            let row = sqlx::query(GUARD).bind(org_id).bind(address).fetch_optional(pool).await?;
            row.as_ref().map(guard_from_row).transpose().map(Option::unwrap_or_default)
        })
    }

    async fn record_pin_event(
        &self,
        org_id: &str,
        address: &str,
        kind: PinEventKind,
        principal: &str,
        before: &PinGuard,
        locked_until: i64,
    ) -> Result<()> {
        const SQL: &str = "INSERT INTO pin_events \
             (org_id, address, kind, principal, failures_before, locked_until, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)";
        with_write_pool!(self, |pool| {
            sqlx::query(SQL)
                .bind(org_id)
                .bind(address)
                .bind(kind.as_str())
                .bind(principal)
                .bind(before.failures)
                .bind(locked_until)
                .bind(now_unix())
                .execute(pool)
                .await?;
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_start_after_the_last_free_attempt_and_double() {
        let policy = PinPolicy::default();
        assert_eq!(policy.lock_after(9), None);
        assert_eq!(policy.lock_after(10), Some(60));
        assert_eq!(policy.lock_after(11), Some(120));
        assert_eq!(policy.lock_after(20), Some(61_440));
        assert_eq!(policy.lock_after(21), Some(86_400));
        assert_eq!(policy.lock_after(i64::MAX), Some(86_400));
        assert_eq!(policy.lock_after(i64::MIN), None);
    }

    #[test]
    fn an_attacker_gets_twenty_attempts_in_the_first_day() {
        let policy = PinPolicy::default();
        assert_eq!(policy.attempts_within(0), 10);
        assert_eq!(policy.attempts_within(86_400), 20);
        // Then about one a day.
        assert_eq!(policy.attempts_within(30 * 86_400), 49);
    }
}
