//! Organisations, their gas budgets, and API keys.

use crate::db::{new_id, now_unix, with_read_pool, with_write_pool, Cols};
use crate::error::{Result, StoreError};
use crate::model::{ApiKey, ApiKeyKind, Organization};
use crate::Store;

/// FRI per stored gas unit.
const FRI_PER_UNIT: u128 = 1_000_000_000;

/// Units for an amount that is charged (reservations, spends): rounded up. `None` when
/// the amount does not fit the column.
pub(crate) fn units_up(fri: u128) -> Option<i64> {
    i64::try_from(fri.div_ceil(FRI_PER_UNIT)).ok()
}

/// Units for a budget: rounded down, saturating (a budget that large is unlimited).
fn units_down(fri: u128) -> i64 {
    i64::try_from(fri / FRI_PER_UNIT).unwrap_or(i64::MAX)
}

fn units_to_fri(units: i64) -> Result<u128> {
    u128::try_from(units)
        .map(|u| u * FRI_PER_UNIT)
        .map_err(|_| StoreError::corrupt(format_args!("negative gas amount {units}")))
}

/// Reserves `$1` units for organisation `$2` iff the budget covers them.
pub(crate) const RESERVE_SQL: &str =
    "UPDATE organizations SET gas_reserved_gfri = gas_reserved_gfri + $1 \
     WHERE id = $2 AND $1 <= gas_budget_gfri - gas_spent_gfri - gas_reserved_gfri";

/// Reserves `$1` units for organisation `$2` whatever the budget says: revocations
/// always get through, an empty budget must never keep a user from killing a leaked key.
pub(crate) const RESERVE_UNBUDGETED_SQL: &str =
    "UPDATE organizations SET gas_reserved_gfri = gas_reserved_gfri + $1 WHERE id = $2";

/// Releases `$1` reserved units (never below zero) and adds `$2` spent units
/// (saturating) for organisation `$3`.
pub(crate) const SETTLE_SQL: &str = "UPDATE organizations SET \
     gas_reserved_gfri = CASE WHEN gas_reserved_gfri > $1 THEN gas_reserved_gfri - $1 ELSE 0 END, \
     gas_spent_gfri = CASE WHEN gas_spent_gfri > 9223372036854775807 - $2 \
                           THEN 9223372036854775807 ELSE gas_spent_gfri + $2 END \
     WHERE id = $3";

macro_rules! org_cols {
    () => {
        "id, name, gas_budget_gfri, gas_spent_gfri, gas_reserved_gfri, token_issuer_json, \
         sponsorship_policy_json, created_at"
    };
}

macro_rules! api_key_cols {
    () => {
        "id, org_id, kind, prefix, created_at, revoked_at"
    };
}

fn org_from_row(row: &impl Cols) -> Result<Organization> {
    Ok(Organization {
        id: row.text("id")?,
        name: row.text("name")?,
        gas_budget_fri: units_to_fri(row.int("gas_budget_gfri")?)?,
        gas_spent_fri: units_to_fri(row.int("gas_spent_gfri")?)?,
        gas_reserved_fri: units_to_fri(row.int("gas_reserved_gfri")?)?,
        token_issuer_json: row.opt_text("token_issuer_json")?,
        sponsorship_policy_json: row.opt_text("sponsorship_policy_json")?,
        created_at: row.int("created_at")?,
    })
}

fn api_key_from_row(row: &impl Cols) -> Result<ApiKey> {
    Ok(ApiKey {
        id: row.text("id")?,
        org_id: row.text("org_id")?,
        kind: row.text("kind")?.parse()?,
        prefix: row.text("prefix")?,
        created_at: row.int("created_at")?,
        revoked_at: row.opt_int("revoked_at")?,
    })
}

impl Store {
    /// Creates an organisation with a gas budget (rounded down to a multiple of 10^9 FRI).
    pub async fn create_organization(
        &self,
        name: &str,
        gas_budget_fri: u128,
    ) -> Result<Organization> {
        const SQL: &str = concat!(
            "INSERT INTO organizations (id, name, gas_budget_gfri, created_at) ",
            "VALUES ($1, $2, $3, $4) RETURNING ",
            org_cols!()
        );
        with_write_pool!(self, |pool| {
            let row = sqlx::query(SQL)
                .bind(new_id())
                .bind(name)
                .bind(units_down(gas_budget_fri))
                .bind(now_unix())
                .fetch_one(pool)
                .await?;
            org_from_row(&row)
        })
    }

    /// The organisation with this id.
    pub async fn organization(&self, id: &str) -> Result<Option<Organization>> {
        const SQL: &str = concat!("SELECT ", org_cols!(), " FROM organizations WHERE id = $1");
        with_read_pool!(self, |pool| {
            let row = sqlx::query(SQL).bind(id).fetch_optional(pool).await?;
            row.as_ref().map(org_from_row).transpose()
        })
    }

    /// The oldest organisation (the default tenant of a single-tenant install).
    pub async fn first_organization(&self) -> Result<Option<Organization>> {
        const SQL: &str =
            concat!("SELECT ", org_cols!(), " FROM organizations ORDER BY created_at, seq LIMIT 1");
        with_read_pool!(self, |pool| {
            let row = sqlx::query(SQL).fetch_optional(pool).await?;
            row.as_ref().map(org_from_row).transpose()
        })
    }

    /// Replaces the gas budget (rounded down to a multiple of 10^9 FRI).
    pub async fn set_gas_budget(&self, org_id: &str, gas_budget_fri: u128) -> Result<()> {
        const SQL: &str = "UPDATE organizations SET gas_budget_gfri = $1 WHERE id = $2";
        let done = with_write_pool!(self, |pool| {
            sqlx::query(SQL)
                .bind(units_down(gas_budget_fri))
                .bind(org_id)
                .execute(pool)
                .await?
                .rows_affected()
        });
        if done == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Reserves `fri` (rounded up to a multiple of 10^9) of the organisation's budget, iff
    /// spent + reserved + amount stays within the budget. The check and the increment are
    /// one conditional `UPDATE`, so concurrent reservations can never overshoot.
    pub async fn reserve_gas(&self, org_id: &str, fri: u128) -> Result<bool> {
        const SQL: &str = RESERVE_SQL;
        let Some(units) = units_up(fri) else {
            // Larger than any budget can be.
            return self.organization(org_id).await?.map(|_| false).ok_or(StoreError::NotFound);
        };
        let done = with_write_pool!(self, |pool| {
            sqlx::query(SQL).bind(units).bind(org_id).execute(pool).await?.rows_affected()
        });
        if done == 1 {
            return Ok(true);
        }
        match self.organization(org_id).await? {
            Some(_) => Ok(false),
            None => Err(StoreError::NotFound),
        }
    }

    /// Settles a reservation: releases `reserved_fri` (never below zero) and records
    /// `actual_fri` as spent (both rounded up to multiples of 10^9 FRI), in one statement.
    pub async fn settle_gas(
        &self,
        org_id: &str,
        reserved_fri: u128,
        actual_fri: u128,
    ) -> Result<()> {
        const SQL: &str = SETTLE_SQL;
        let reserved = units_up(reserved_fri).unwrap_or(i64::MAX);
        let actual = units_up(actual_fri).unwrap_or(i64::MAX);
        let done = with_write_pool!(self, |pool| {
            sqlx::query(SQL)
                .bind(reserved)
                .bind(actual)
                .bind(org_id)
                .execute(pool)
                .await?
                .rows_affected()
        });
        if done == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Sets (or with `None` removes) the organisation's end-user token issuer: its JSON
    /// document and the `(issuer, audience)` pair as `key`, which no other organisation may
    /// use ([`constraints::ORG_TOKEN_ISSUER`](crate::constraints::ORG_TOKEN_ISSUER)).
    pub async fn set_token_issuer(&self, org_id: &str, issuer: Option<(&str, &str)>) -> Result<()> {
        const SQL: &str =
            "UPDATE organizations SET token_issuer_json = $1, token_issuer_key = $2 WHERE id = $3";
        let (json, key) = issuer.unzip();
        let done = with_write_pool!(self, |pool| {
            sqlx::query(SQL).bind(json).bind(key).bind(org_id).execute(pool).await?.rows_affected()
        });
        if done == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Sets (or with `None` removes) the organisation's sponsorship policy document.
    pub async fn set_sponsorship_policy(&self, org_id: &str, policy: Option<&str>) -> Result<()> {
        const SQL: &str = "UPDATE organizations SET sponsorship_policy_json = $1 WHERE id = $2";
        let done = with_write_pool!(self, |pool| {
            sqlx::query(SQL).bind(policy).bind(org_id).execute(pool).await?.rows_affected()
        });
        if done == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Records a new API key by its hash. `key_hash` is unique
    /// ([`constraints::API_KEY_HASH`](crate::constraints::API_KEY_HASH)); the plaintext key
    /// never reaches the store.
    pub async fn insert_api_key(
        &self,
        org_id: &str,
        kind: ApiKeyKind,
        key_hash: &str,
        prefix: &str,
    ) -> Result<ApiKey> {
        const SQL: &str = concat!(
            "INSERT INTO api_keys (id, org_id, kind, key_hash, prefix, created_at) ",
            "VALUES ($1, $2, $3, $4, $5, $6) RETURNING ",
            api_key_cols!()
        );
        with_write_pool!(self, |pool| {
            let row = sqlx::query(SQL)
                .bind(new_id())
                .bind(org_id)
                .bind(kind.as_str())
                .bind(key_hash)
                .bind(prefix)
                .bind(now_unix())
                .fetch_one(pool)
                .await?;
            api_key_from_row(&row)
        })
    }

    /// The non-revoked API key with this hash.
    pub async fn find_api_key(&self, key_hash: &str) -> Result<Option<ApiKey>> {
        const SQL: &str = concat!(
            "SELECT ",
            api_key_cols!(),
            " FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL"
        );
        with_read_pool!(self, |pool| {
            let row = sqlx::query(SQL).bind(key_hash).fetch_optional(pool).await?;
            row.as_ref().map(api_key_from_row).transpose()
        })
    }

    /// The API keys of an organisation, revoked ones included, oldest first.
    pub async fn api_keys(&self, org_id: &str) -> Result<Vec<ApiKey>> {
        const SQL: &str = concat!(
            "SELECT ",
            api_key_cols!(),
            " FROM api_keys WHERE org_id = $1 ORDER BY created_at, id"
        );
        with_read_pool!(self, |pool| {
            let rows = sqlx::query(SQL).bind(org_id).fetch_all(pool).await?;
            rows.iter().map(api_key_from_row).collect()
        })
    }

    /// Revokes an API key. Revoking a revoked key keeps the first revocation time.
    pub async fn revoke_api_key(&self, id: &str) -> Result<()> {
        const SQL: &str = "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2";
        let done = with_write_pool!(self, |pool| {
            sqlx::query(SQL).bind(now_unix()).bind(id).execute(pool).await?.rows_affected()
        });
        if done == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gas_units_round_as_documented() {
        assert_eq!(units_up(0), Some(0));
        assert_eq!(units_up(1), Some(1));
        assert_eq!(units_up(1_000_000_000), Some(1));
        assert_eq!(units_up(1_000_000_001), Some(2));
        assert_eq!(units_up(u128::MAX), None);
        assert_eq!(units_down(1_999_999_999), 1);
        assert_eq!(units_down(u128::MAX), i64::MAX);
        assert_eq!(units_to_fri(3).unwrap(), 3_000_000_000);
        assert!(units_to_fri(-1).is_err());
    }
}
