//! Organisations, their gas budgets, and API keys.

use crate::db::{audit, new_id, now_unix, with_read_pool, with_write_pool, with_write_tx, Cols};
use crate::error::{Result, StoreError};
use crate::model::{ApiKey, ApiKeyKind, AuditEntry, BudgetKey, GasBudget, OrgToken, Organization};
use crate::Store;

/// Fee units (FRI, wei) per stored budget unit.
const PER_UNIT: u128 = 1_000_000_000;

/// Units for an amount that is charged (reservations, spends): rounded up. `None` when
/// the amount does not fit the column.
pub(crate) fn units_up(amount: u128) -> Option<i64> {
    i64::try_from(amount.div_ceil(PER_UNIT)).ok()
}

/// Units for a budget: rounded down, saturating (a budget that large is unlimited).
pub(crate) fn units_down(amount: u128) -> i64 {
    i64::try_from(amount / PER_UNIT).unwrap_or(i64::MAX)
}

pub(crate) fn units_to_amount(units: i64) -> Result<u128> {
    u128::try_from(units)
        .map(|u| u * PER_UNIT)
        .map_err(|_| StoreError::corrupt(format_args!("negative gas amount {units}")))
}

/// Reserves `$1` units from budget (`$2` organisation, `$3` chain, `$4` unit) iff it
/// covers them.
pub(crate) const RESERVE_SQL: &str = "UPDATE gas_budgets SET reserved_giga = reserved_giga + $1 \
     WHERE org_id = $2 AND chain = $3 AND unit = $4 \
     AND $1 <= budget_giga - spent_giga - reserved_giga";

/// Reserves `$1` units from budget (`$2`, `$3`, `$4`) whatever it says, creating it
/// empty if need be: revocations always get through, an empty budget must never keep a
/// user from killing a leaked key.
pub(crate) const RESERVE_UNBUDGETED_SQL: &str =
    "INSERT INTO gas_budgets (reserved_giga, org_id, chain, unit) VALUES ($1, $2, $3, $4) \
     ON CONFLICT (org_id, chain, unit) \
     DO UPDATE SET reserved_giga = gas_budgets.reserved_giga + excluded.reserved_giga";

/// Releases `$1` reserved units (never below zero) and adds `$2` spent units
/// (saturating) in budget (`$3` organisation, `$4` chain, `$5` unit).
pub(crate) const SETTLE_SQL: &str = "UPDATE gas_budgets SET \
     reserved_giga = CASE WHEN reserved_giga > $1 THEN reserved_giga - $1 ELSE 0 END, \
     spent_giga = CASE WHEN spent_giga > 9223372036854775807 - $2 \
                       THEN 9223372036854775807 ELSE spent_giga + $2 END \
     WHERE org_id = $3 AND chain = $4 AND unit = $5";

/// The organisation's (`$1`) allowed origins, in order.
const ORIGINS_SQL: &str = "SELECT origin FROM allowed_origins WHERE org_id = $1 ORDER BY origin";

/// The organisation's (`$1`) tokens, by chain then symbol.
const TOKENS_SQL: &str = "SELECT chain, symbol, address, decimals FROM org_tokens \
     WHERE org_id = $1 ORDER BY chain, symbol";

/// A stored JSON document as a value (`null` when there is none; text that is not JSON as
/// a string).
fn json_value(text: Option<&str>) -> serde_json::Value {
    text.map_or(serde_json::Value::Null, |text| {
        serde_json::from_str(text).unwrap_or_else(|_| serde_json::Value::String(text.into()))
    })
}

/// `entry` about organisation setting `field` of `target`, with its value before and after.
fn setting_change<'a>(
    entry: &AuditEntry<'a>,
    target: &'a str,
    field: &str,
    before: serde_json::Value,
    after: serde_json::Value,
) -> AuditEntry<'a> {
    AuditEntry {
        target,
        before: Some(serde_json::json!({ field: before }).to_string()),
        after: Some(serde_json::json!({ field: after }).to_string()),
        ..entry.clone()
    }
}

macro_rules! org_cols {
    () => {
        "id, name, token_issuer_json, sponsorship_policy_json, created_at, suspended_at"
    };
}

macro_rules! api_key_cols {
    () => {
        "id, org_id, kind, prefix, created_at, revoked_at, expires_at"
    };
}

pub(crate) fn org_from_row(row: &impl Cols) -> Result<Organization> {
    Ok(Organization {
        id: row.text("id")?,
        name: row.text("name")?,
        token_issuer_json: row.opt_text("token_issuer_json")?,
        sponsorship_policy_json: row.opt_text("sponsorship_policy_json")?,
        created_at: row.int("created_at")?,
        suspended_at: row.opt_int("suspended_at")?,
    })
}

macro_rules! budget_cols {
    () => {
        "chain, unit, budget_giga, spent_giga, reserved_giga, alert_threshold_giga"
    };
}

fn budget_from_row(row: &impl Cols) -> Result<GasBudget> {
    Ok(GasBudget {
        chain: row.text("chain")?,
        unit: row.text("unit")?,
        budget: units_to_amount(row.int("budget_giga")?)?,
        spent: units_to_amount(row.int("spent_giga")?)?,
        reserved: units_to_amount(row.int("reserved_giga")?)?,
        alert_threshold: row.opt_int("alert_threshold_giga")?.map(units_to_amount).transpose()?,
    })
}

fn token_from_row(row: &impl Cols) -> Result<OrgToken> {
    let decimals = row.int("decimals")?;
    Ok(OrgToken {
        chain: row.text("chain")?,
        symbol: row.text("symbol")?,
        address: row.text("address")?,
        decimals: u8::try_from(decimals)
            .map_err(|_| StoreError::corrupt(format_args!("token decimals {decimals}")))?,
    })
}

pub(crate) fn api_key_from_row(row: &impl Cols) -> Result<ApiKey> {
    Ok(ApiKey {
        id: row.text("id")?,
        org_id: row.text("org_id")?,
        kind: row.text("kind")?.parse()?,
        prefix: row.text("prefix")?,
        created_at: row.int("created_at")?,
        revoked_at: row.opt_int("revoked_at")?,
        expires_at: row.opt_int("expires_at")?,
    })
}

impl Store {
    /// Creates an organisation, with no gas budget on any chain.
    pub async fn create_organization(&self, name: &str) -> Result<Organization> {
        const SQL: &str = concat!(
            "INSERT INTO organizations (id, name, created_at) VALUES ($1, $2, $3) RETURNING ",
            org_cols!()
        );
        with_write_pool!(self, |pool| {
            let row =
                sqlx::query(SQL).bind(new_id()).bind(name).bind(now_unix()).fetch_one(pool).await?;
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

    /// Sets the organisation's budget on a chain, in a unit (rounded down to a multiple of
    /// 10^9 of the unit), keeping what it spent and has reserved there.
    pub async fn set_gas_budget(&self, key: BudgetKey<'_>, budget: u128) -> Result<()> {
        const SQL: &str = "INSERT INTO gas_budgets (budget_giga, org_id, chain, unit) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (org_id, chain, unit) \
             DO UPDATE SET budget_giga = excluded.budget_giga";
        if self.organization(key.org_id).await?.is_none() {
            return Err(StoreError::NotFound);
        }
        with_write_pool!(self, |pool| {
            sqlx::query(SQL)
                .bind(units_down(budget))
                .bind(key.org_id)
                .bind(key.chain)
                .bind(key.unit)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// The organisation's budget on a chain, in a unit (all zero when none was set).
    pub async fn gas_budget(&self, key: BudgetKey<'_>) -> Result<GasBudget> {
        const SQL: &str = concat!(
            "SELECT ",
            budget_cols!(),
            " FROM gas_budgets WHERE org_id = $1 AND chain = $2 AND unit = $3"
        );
        let row = with_read_pool!(self, |pool| {
            let row = sqlx::query(SQL)
                .bind(key.org_id)
                .bind(key.chain)
                .bind(key.unit)
                .fetch_optional(pool)
                .await?;
            row.as_ref().map(budget_from_row).transpose()?
        });
        Ok(row.unwrap_or_else(|| GasBudget {
            chain: key.chain.to_string(),
            unit: key.unit.to_string(),
            budget: 0,
            spent: 0,
            reserved: 0,
            alert_threshold: None,
        }))
    }

    /// Every gas budget of every organisation, with its organisation id, by organisation,
    /// chain and unit.
    pub async fn all_gas_budgets(&self) -> Result<Vec<(String, GasBudget)>> {
        const SQL: &str = concat!(
            "SELECT org_id, ",
            budget_cols!(),
            " FROM gas_budgets ORDER BY org_id, chain, unit"
        );
        with_read_pool!(self, |pool| {
            let rows = sqlx::query(SQL).fetch_all(pool).await?;
            rows.iter().map(|row| Ok((row.text("org_id")?, budget_from_row(row)?))).collect()
        })
    }

    /// The gas budgets of one organisation, by chain and unit.
    pub async fn gas_budgets(&self, org_id: &str) -> Result<Vec<GasBudget>> {
        const SQL: &str = concat!(
            "SELECT ",
            budget_cols!(),
            " FROM gas_budgets WHERE org_id = $1 ORDER BY chain, unit"
        );
        with_read_pool!(self, |pool| {
            let rows = sqlx::query(SQL).bind(org_id).fetch_all(pool).await?;
            rows.iter().map(budget_from_row).collect()
        })
    }

    /// Reserves `amount` from a budget iff spent + reserved + amount stays within it
    /// (rounded up to a whole 10^9 of the unit). The check and the increment are one
    /// conditional `UPDATE`, so concurrent reservations can never overshoot. `false` when
    /// it does not fit; [`StoreError::NotFound`] without that organisation.
    pub async fn reserve_gas(&self, key: BudgetKey<'_>, amount: u128) -> Result<bool> {
        let done = match units_up(amount) {
            None => 0,
            Some(units) => with_write_pool!(self, |pool| {
                sqlx::query(RESERVE_SQL)
                    .bind(units)
                    .bind(key.org_id)
                    .bind(key.chain)
                    .bind(key.unit)
                    .execute(pool)
                    .await?
                    .rows_affected()
            }),
        };
        if done == 0 && self.organization(key.org_id).await?.is_none() {
            return Err(StoreError::NotFound);
        }
        Ok(done == 1)
    }

    /// Releases `reserved` and charges `actual` on a budget (both rounded up to a whole
    /// 10^9 of the unit; the reservation never drops below zero).
    pub async fn settle_gas(&self, key: BudgetKey<'_>, reserved: u128, actual: u128) -> Result<()> {
        let reserved = units_up(reserved).unwrap_or(i64::MAX);
        let actual = units_up(actual).unwrap_or(i64::MAX);
        let done = with_write_pool!(self, |pool| {
            sqlx::query(SETTLE_SQL)
                .bind(reserved)
                .bind(actual)
                .bind(key.org_id)
                .bind(key.chain)
                .bind(key.unit)
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
    /// use ([`constraints::ORG_TOKEN_ISSUER`](crate::constraints::ORG_TOKEN_ISSUER)). With
    /// `audit`, the change is recorded (the issuer before and after) in the same
    /// transaction. `NotFound` if there is no such organisation.
    pub async fn set_token_issuer(
        &self,
        org_id: &str,
        issuer: Option<(&str, &str)>,
        audit: Option<&AuditEntry<'_>>,
    ) -> Result<()> {
        const READ: &str = "SELECT token_issuer_json FROM organizations WHERE id = $1";
        const WRITE: &str =
            "UPDATE organizations SET token_issuer_json = $1, token_issuer_key = $2 WHERE id = $3";
        let (json, key) = issuer.unzip();
        let now = now_unix();
        let target = format!("organization:{org_id}");
        with_write_tx!(self, |tx| {
            let Some(row) = sqlx::query(READ).bind(org_id).fetch_optional(&mut *tx).await? else {
                return Err(StoreError::NotFound);
            };
            let before = row.opt_text("token_issuer_json")?;
            sqlx::query(WRITE).bind(json).bind(key).bind(org_id).execute(&mut *tx).await?;
            if let Some(entry) = audit {
                let (before, after) = (json_value(before.as_deref()), json_value(json));
                audit!(tx, now, &setting_change(entry, &target, "tokenIssuer", before, after));
            }
        });
        Ok(())
    }

    /// Sets (or with `None` removes) the organisation's sponsorship policy document; with
    /// `audit`, recorded (the policy before and after) in the same transaction.
    /// `NotFound` if there is no such organisation.
    pub async fn set_sponsorship_policy(
        &self,
        org_id: &str,
        policy: Option<&str>,
        audit: Option<&AuditEntry<'_>>,
    ) -> Result<()> {
        const READ: &str = "SELECT sponsorship_policy_json FROM organizations WHERE id = $1";
        const WRITE: &str = "UPDATE organizations SET sponsorship_policy_json = $1 WHERE id = $2";
        let now = now_unix();
        let target = format!("organization:{org_id}");
        with_write_tx!(self, |tx| {
            let Some(row) = sqlx::query(READ).bind(org_id).fetch_optional(&mut *tx).await? else {
                return Err(StoreError::NotFound);
            };
            let before = row.opt_text("sponsorship_policy_json")?;
            sqlx::query(WRITE).bind(policy).bind(org_id).execute(&mut *tx).await?;
            if let Some(entry) = audit {
                let (before, after) = (json_value(before.as_deref()), json_value(policy));
                audit!(
                    tx,
                    now,
                    &setting_change(entry, &target, "sponsorshipPolicy", before, after)
                );
            }
        });
        Ok(())
    }

    /// The browser origins the organisation allows, in order.
    pub async fn allowed_origins(&self, org_id: &str) -> Result<Vec<String>> {
        with_read_pool!(self, |pool| {
            let rows = sqlx::query(ORIGINS_SQL).bind(org_id).fetch_all(pool).await?;
            rows.iter().map(|row| row.text("origin")).collect()
        })
    }

    /// Replaces the organisation's allowed browser origins with `origins` (normalised by
    /// the caller), in one transaction; with `audit`, recorded there too (the origins
    /// before and after). `NotFound` if there is no such organisation.
    pub async fn set_allowed_origins(
        &self,
        org_id: &str,
        origins: &[String],
        audit: Option<&AuditEntry<'_>>,
    ) -> Result<()> {
        const EXISTS: &str = "SELECT id FROM organizations WHERE id = $1";
        const CLEAR: &str = "DELETE FROM allowed_origins WHERE org_id = $1";
        const INSERT: &str = "INSERT INTO allowed_origins (org_id, origin, created_at) \
             VALUES ($1, $2, $3) ON CONFLICT (org_id, origin) DO NOTHING";
        let now = now_unix();
        let target = format!("organization:{org_id}");
        with_write_tx!(self, |tx| {
            if sqlx::query(EXISTS).bind(org_id).fetch_optional(&mut *tx).await?.is_none() {
                return Err(StoreError::NotFound);
            }
            let before: Vec<String> = match audit {
                Some(_) => {
                    let rows = sqlx::query(ORIGINS_SQL).bind(org_id).fetch_all(&mut *tx).await?;
                    rows.iter().map(|row| row.text("origin")).collect::<Result<_>>()?
                }
                None => Vec::new(),
            };
            sqlx::query(CLEAR).bind(org_id).execute(&mut *tx).await?;
            for origin in origins {
                sqlx::query(INSERT).bind(org_id).bind(origin).bind(now).execute(&mut *tx).await?;
            }
            if let Some(entry) = audit {
                let rows = sqlx::query(ORIGINS_SQL).bind(org_id).fetch_all(&mut *tx).await?;
                let after: Vec<String> =
                    rows.iter().map(|row| row.text("origin")).collect::<Result<_>>()?;
                let (before, after) = (serde_json::json!(before), serde_json::json!(after));
                audit!(tx, now, &setting_change(entry, &target, "allowedOrigins", before, after));
            }
        });
        Ok(())
    }

    /// Whether `origin` is allowed by `org_id` (`Some`), or, with `None`, by any
    /// organisation.
    pub async fn origin_allowed(&self, origin: &str, org_id: Option<&str>) -> Result<bool> {
        const BY_ORG: &str =
            "SELECT 1 AS one FROM allowed_origins WHERE origin = $1 AND org_id = $2";
        const ANY: &str = "SELECT 1 AS one FROM allowed_origins WHERE origin = $1 LIMIT 1";
        with_read_pool!(self, |pool| {
            let row = match org_id {
                Some(org_id) => sqlx::query(BY_ORG).bind(origin).bind(org_id),
                None => sqlx::query(ANY).bind(origin),
            }
            .fetch_optional(pool)
            .await?;
            Ok(row.is_some())
        })
    }

    /// The tokens the organisation names, by chain then symbol.
    pub async fn org_tokens(&self, org_id: &str) -> Result<Vec<OrgToken>> {
        with_read_pool!(self, |pool| {
            let rows = sqlx::query(TOKENS_SQL).bind(org_id).fetch_all(pool).await?;
            rows.iter().map(token_from_row).collect()
        })
    }

    /// The token the organisation names `symbol` on `chain`, if any.
    pub async fn org_token(
        &self,
        org_id: &str,
        chain: &str,
        symbol: &str,
    ) -> Result<Option<OrgToken>> {
        const SQL: &str = "SELECT chain, symbol, address, decimals FROM org_tokens \
             WHERE org_id = $1 AND chain = $2 AND symbol = $3";
        with_read_pool!(self, |pool| {
            let row =
                sqlx::query(SQL).bind(org_id).bind(chain).bind(symbol).fetch_optional(pool).await?;
            row.as_ref().map(token_from_row).transpose()
        })
    }

    /// Replaces the organisation's tokens with `tokens` (a symbol at most once per chain:
    /// a later one wins), in one transaction; with `audit`, recorded there too (the tokens
    /// before and after). `NotFound` if there is no such organisation.
    pub async fn set_org_tokens(
        &self,
        org_id: &str,
        tokens: &[OrgToken],
        audit: Option<&AuditEntry<'_>>,
    ) -> Result<()> {
        const EXISTS: &str = "SELECT id FROM organizations WHERE id = $1";
        const CLEAR: &str = "DELETE FROM org_tokens WHERE org_id = $1";
        const INSERT: &str = "INSERT INTO org_tokens \
             (org_id, chain, symbol, address, decimals, created_at) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (org_id, chain, symbol) DO UPDATE \
             SET address = excluded.address, decimals = excluded.decimals";
        let now = now_unix();
        let target = format!("organization:{org_id}");
        with_write_tx!(self, |tx| {
            if sqlx::query(EXISTS).bind(org_id).fetch_optional(&mut *tx).await?.is_none() {
                return Err(StoreError::NotFound);
            }
            let before: Vec<OrgToken> = match audit {
                Some(_) => {
                    let rows = sqlx::query(TOKENS_SQL).bind(org_id).fetch_all(&mut *tx).await?;
                    rows.iter().map(token_from_row).collect::<Result<_>>()?
                }
                None => Vec::new(),
            };
            sqlx::query(CLEAR).bind(org_id).execute(&mut *tx).await?;
            for token in tokens {
                sqlx::query(INSERT)
                    .bind(org_id)
                    .bind(&token.chain)
                    .bind(&token.symbol)
                    .bind(&token.address)
                    .bind(i64::from(token.decimals))
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
            }
            if let Some(entry) = audit {
                let rows = sqlx::query(TOKENS_SQL).bind(org_id).fetch_all(&mut *tx).await?;
                let after: Vec<OrgToken> =
                    rows.iter().map(token_from_row).collect::<Result<_>>()?;
                let (before, after) = (serde_json::json!(before), serde_json::json!(after));
                audit!(tx, now, &setting_change(entry, &target, "tokens", before, after));
            }
        });
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

    /// The API key with this hash, if it works now (not revoked, not past its expiry).
    pub async fn find_api_key(&self, key_hash: &str) -> Result<Option<ApiKey>> {
        Ok(self.find_api_key_and_suspension(key_hash).await?.map(|(key, _)| key))
    }

    /// The API key with this hash, if it works now, and when its organisation was
    /// suspended (if it is), read in one query: what an authenticated request needs.
    pub async fn find_api_key_and_suspension(
        &self,
        key_hash: &str,
    ) -> Result<Option<(ApiKey, Option<i64>)>> {
        const SQL: &str = "SELECT k.id AS id, k.org_id AS org_id, k.kind AS kind, \
             k.prefix AS prefix, k.created_at AS created_at, k.revoked_at AS revoked_at, \
             k.expires_at AS expires_at, o.suspended_at AS suspended_at \
             FROM api_keys k JOIN organizations o ON o.id = k.org_id \
             WHERE k.key_hash = $1 AND k.revoked_at IS NULL \
             AND (k.expires_at IS NULL OR k.expires_at > $2)";
        with_read_pool!(self, |pool| {
            let row = sqlx::query(SQL).bind(key_hash).bind(now_unix()).fetch_optional(pool).await?;
            row.as_ref()
                .map(|row| Ok((api_key_from_row(row)?, row.opt_int("suspended_at")?)))
                .transpose()
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
        assert_eq!(units_to_amount(3).unwrap(), 3_000_000_000);
        assert!(units_to_amount(-1).is_err());
    }
}
