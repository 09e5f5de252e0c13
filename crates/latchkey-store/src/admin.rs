//! What the operator changes through the admin API: organisations (created, renamed,
//! suspended), API keys (issued, rotated with an overlap, revoked), gas budgets and their
//! alert thresholds, operator tokens. Each change is written in one transaction with its
//! audit record, so the log has every change and no change lacks its record. (An
//! organisation's settings are written in `orgs`, recorded the same way when the operator
//! changes them.)

use crate::db::{audit, new_id, now_unix, with_read_pool, with_write_tx, Cols};
use crate::error::{Result, StoreError};
use crate::model::{
    ApiKey, ApiKeyKind, AuditEntry, AuditRecord, BudgetKey, OperatorToken, Organization,
};
use crate::orgs::{units_down, units_to_amount};
use crate::Store;

/// Reads API key `$key_id` of organisation `$org_id` inside transaction `$tx`; returns
/// `NotFound` from the enclosing function when it is not the organisation's.
macro_rules! org_api_key {
    ($tx:ident, $org_id:expr, $key_id:expr) => {{
        const READ: &str =
            concat!("SELECT ", api_key_cols!(), " FROM api_keys WHERE id = $1 AND org_id = $2");
        let Some(row) =
            sqlx::query(READ).bind($key_id).bind($org_id).fetch_optional(&mut *$tx).await?
        else {
            return Err(StoreError::NotFound);
        };
        crate::orgs::api_key_from_row(&row)?
    }};
}

macro_rules! operator_token_cols {
    () => {
        "id, prefix, created_at, expires_at"
    };
}

fn operator_token_from_row(row: &impl Cols) -> Result<OperatorToken> {
    Ok(OperatorToken {
        id: row.text("id")?,
        prefix: row.text("prefix")?,
        created_at: row.int("created_at")?,
        expires_at: row.opt_int("expires_at")?,
    })
}

fn audit_from_row(row: &impl Cols) -> Result<AuditRecord> {
    Ok(AuditRecord {
        seq: row.int("seq")?,
        at: row.int("at")?,
        actor: row.text("actor")?,
        action: row.text("action")?,
        target: row.text("target")?,
        before_json: row.opt_text("before_json")?,
        after_json: row.opt_text("after_json")?,
    })
}

/// A new API key to record: its kind, hash and display prefix (never the key).
#[derive(Debug, Clone, Copy)]
pub struct NewApiKey<'a> {
    /// Public or secret.
    pub kind: ApiKeyKind,
    /// The key's hash.
    pub key_hash: &'a str,
    /// Its non-secret leading characters.
    pub prefix: &'a str,
}

impl Store {
    /// Every organisation, oldest first, `limit` from `offset`.
    pub async fn list_organizations(&self, limit: u32, offset: u32) -> Result<Vec<Organization>> {
        const SQL: &str = concat!(
            "SELECT ",
            org_cols!(),
            " FROM organizations ORDER BY created_at, seq LIMIT $1 OFFSET $2"
        );
        with_read_pool!(self, |pool| {
            let rows = sqlx::query(SQL)
                .bind(i64::from(limit))
                .bind(i64::from(offset))
                .fetch_all(pool)
                .await?;
            rows.iter().map(crate::orgs::org_from_row).collect()
        })
    }

    /// Creates an organisation named `name`, recorded as `entry` (its `after` is filled
    /// in with the new organisation).
    pub async fn create_organization_audited(
        &self,
        name: &str,
        entry: &AuditEntry<'_>,
    ) -> Result<Organization> {
        const SQL: &str = concat!(
            "INSERT INTO organizations (id, name, created_at) VALUES ($1, $2, $3) RETURNING ",
            org_cols!()
        );
        let id = new_id();
        let now = now_unix();
        let target = format!("organization:{id}");
        with_write_tx!(self, |tx| {
            let row = sqlx::query(SQL).bind(&id).bind(name).bind(now).fetch_one(&mut *tx).await?;
            let org = crate::orgs::org_from_row(&row)?;
            let after = serde_json::json!({"id": org.id, "name": org.name}).to_string();
            audit!(tx, now, &AuditEntry { target: &target, after: Some(after), ..entry.clone() });
            Ok(org)
        })
    }

    /// Renames and/or suspends or reinstates organisation `id`, recorded as `entry` with
    /// the state before and after. `NotFound` if there is no such organisation.
    pub async fn update_organization(
        &self,
        id: &str,
        name: Option<&str>,
        suspended: Option<bool>,
        entry: &AuditEntry<'_>,
    ) -> Result<Organization> {
        const READ: &str = concat!("SELECT ", org_cols!(), " FROM organizations WHERE id = $1");
        const WRITE: &str = concat!(
            "UPDATE organizations SET name = $1, suspended_at = $2 WHERE id = $3 RETURNING ",
            org_cols!()
        );
        let now = now_unix();
        let target = format!("organization:{id}");
        with_write_tx!(self, |tx| {
            let Some(row) = sqlx::query(READ).bind(id).fetch_optional(&mut *tx).await? else {
                return Err(StoreError::NotFound);
            };
            let before = crate::orgs::org_from_row(&row)?;
            let suspended_at = match suspended {
                None => before.suspended_at,
                Some(false) => None,
                Some(true) => before.suspended_at.or(Some(now)),
            };
            let name = name.unwrap_or(&before.name);
            let row = sqlx::query(WRITE)
                .bind(name)
                .bind(suspended_at)
                .bind(id)
                .fetch_one(&mut *tx)
                .await?;
            let after = crate::orgs::org_from_row(&row)?;
            let view = |o: &Organization| {
                serde_json::json!({"name": o.name, "suspendedAt": o.suspended_at}).to_string()
            };
            audit!(
                tx,
                now,
                &AuditEntry {
                    target: &target,
                    before: Some(view(&before)),
                    after: Some(view(&after)),
                    ..entry.clone()
                }
            );
            Ok(after)
        })
    }

    /// Records new API keys of organisation `org_id` (a pair, usually), with one audit
    /// record. `NotFound` if there is no such organisation.
    pub async fn issue_api_keys(
        &self,
        org_id: &str,
        keys: &[NewApiKey<'_>],
        entry: &AuditEntry<'_>,
    ) -> Result<Vec<ApiKey>> {
        const EXISTS: &str = "SELECT id FROM organizations WHERE id = $1";
        const INSERT: &str = concat!(
            "INSERT INTO api_keys (id, org_id, kind, key_hash, prefix, created_at) ",
            "VALUES ($1, $2, $3, $4, $5, $6) RETURNING ",
            api_key_cols!()
        );
        let now = now_unix();
        let target = format!("organization:{org_id}");
        with_write_tx!(self, |tx| {
            if sqlx::query(EXISTS).bind(org_id).fetch_optional(&mut *tx).await?.is_none() {
                return Err(StoreError::NotFound);
            }
            let mut issued = Vec::new();
            for key in keys {
                let row = sqlx::query(INSERT)
                    .bind(new_id())
                    .bind(org_id)
                    .bind(key.kind.as_str())
                    .bind(key.key_hash)
                    .bind(key.prefix)
                    .bind(now)
                    .fetch_one(&mut *tx)
                    .await?;
                issued.push(crate::orgs::api_key_from_row(&row)?);
            }
            let after = serde_json::json!(issued
                .iter()
                .map(
                    |k| serde_json::json!({"id": k.id, "kind": k.kind.as_str(), "prefix": k.prefix})
                )
                .collect::<Vec<_>>())
            .to_string();
            audit!(tx, now, &AuditEntry { target: &target, after: Some(after), ..entry.clone() });
            Ok(issued)
        })
    }

    /// Replaces API key `key_id` of organisation `org_id` with the key `replace` makes
    /// from it (of the same kind; `replace` gives its hash and display prefix and is
    /// called once, only for a key that still works): the old one keeps working until
    /// `old_expires_at` (never later than it was to), recorded as `entry`. `NotFound` if
    /// the key is not the organisation's or no longer works.
    pub async fn rotate_api_key(
        &self,
        org_id: &str,
        key_id: &str,
        replace: impl FnOnce(&ApiKey) -> (String, String),
        old_expires_at: i64,
        entry: &AuditEntry<'_>,
    ) -> Result<(ApiKey, ApiKey)> {
        const EXPIRE: &str = concat!(
            "UPDATE api_keys SET expires_at = $1 WHERE id = $2 RETURNING ",
            api_key_cols!()
        );
        const INSERT: &str = concat!(
            "INSERT INTO api_keys (id, org_id, kind, key_hash, prefix, created_at) ",
            "VALUES ($1, $2, $3, $4, $5, $6) RETURNING ",
            api_key_cols!()
        );
        let now = now_unix();
        let target = format!("api_key:{key_id}");
        with_write_tx!(self, |tx| {
            let before = org_api_key!(tx, org_id, key_id);
            if !before.is_active(now) {
                return Err(StoreError::NotFound);
            }
            let (key_hash, prefix) = replace(&before);
            let until = before.expires_at.map_or(old_expires_at, |at| at.min(old_expires_at));
            let row = sqlx::query(EXPIRE).bind(until).bind(key_id).fetch_one(&mut *tx).await?;
            let old = crate::orgs::api_key_from_row(&row)?;
            let row = sqlx::query(INSERT)
                .bind(new_id())
                .bind(org_id)
                .bind(before.kind.as_str())
                .bind(&key_hash)
                .bind(&prefix)
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
            let fresh = crate::orgs::api_key_from_row(&row)?;
            let before_json = serde_json::json!({"id": before.id, "prefix": before.prefix, "expiresAt": before.expires_at});
            let after_json = serde_json::json!({
                "old": {"id": old.id, "expiresAt": old.expires_at},
                "new": {"id": fresh.id, "kind": fresh.kind.as_str(), "prefix": fresh.prefix},
            });
            audit!(
                tx,
                now,
                &AuditEntry {
                    target: &target,
                    before: Some(before_json.to_string()),
                    after: Some(after_json.to_string()),
                    ..entry.clone()
                }
            );
            Ok((old, fresh))
        })
    }

    /// Revokes API key `key_id` of organisation `org_id` at once, recorded as `entry`.
    /// `NotFound` if it is not the organisation's; revoking a revoked key changes nothing
    /// and records nothing.
    pub async fn revoke_api_key_audited(
        &self,
        org_id: &str,
        key_id: &str,
        entry: &AuditEntry<'_>,
    ) -> Result<ApiKey> {
        const REVOKE: &str = concat!(
            "UPDATE api_keys SET revoked_at = $1 WHERE id = $2 RETURNING ",
            api_key_cols!()
        );
        let now = now_unix();
        let target = format!("api_key:{key_id}");
        with_write_tx!(self, |tx| {
            let before = org_api_key!(tx, org_id, key_id);
            if before.revoked_at.is_some() {
                return Ok(before);
            }
            let row = sqlx::query(REVOKE).bind(now).bind(key_id).fetch_one(&mut *tx).await?;
            let after = crate::orgs::api_key_from_row(&row)?;
            audit!(
                tx,
                now,
                &AuditEntry {
                    target: &target,
                    before: Some(
                        serde_json::json!({"prefix": before.prefix, "revokedAt": null}).to_string()
                    ),
                    after: Some(
                        serde_json::json!({"prefix": after.prefix, "revokedAt": after.revoked_at})
                            .to_string()
                    ),
                    ..entry.clone()
                }
            );
            Ok(after)
        })
    }

    /// Sets budget `key` to `budget` (`top_up` false) or adds `budget` to it (`top_up`
    /// true, saturating), recorded as `entry`; returns the budget after. `NotFound` if
    /// there is no such organisation.
    pub async fn change_gas_budget(
        &self,
        key: BudgetKey<'_>,
        budget: u128,
        top_up: bool,
        entry: &AuditEntry<'_>,
    ) -> Result<crate::GasBudget> {
        const EXISTS: &str = "SELECT id FROM organizations WHERE id = $1";
        const READ: &str =
            "SELECT budget_giga FROM gas_budgets WHERE org_id = $1 AND chain = $2 AND unit = $3";
        const WRITE: &str = "INSERT INTO gas_budgets (budget_giga, org_id, chain, unit) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (org_id, chain, unit) \
             DO UPDATE SET budget_giga = excluded.budget_giga";
        let now = now_unix();
        let target = format!("organization:{}", key.org_id);
        with_write_tx!(self, |tx| {
            if sqlx::query(EXISTS).bind(key.org_id).fetch_optional(&mut *tx).await?.is_none() {
                return Err(StoreError::NotFound);
            }
            let before_units: i64 = match sqlx::query(READ)
                .bind(key.org_id)
                .bind(key.chain)
                .bind(key.unit)
                .fetch_optional(&mut *tx)
                .await?
            {
                Some(row) => row.int("budget_giga")?,
                None => 0,
            };
            let units = units_down(budget);
            let after_units = if top_up { before_units.saturating_add(units) } else { units };
            sqlx::query(WRITE)
                .bind(after_units)
                .bind(key.org_id)
                .bind(key.chain)
                .bind(key.unit)
                .execute(&mut *tx)
                .await?;
            let view = |units: i64| -> Result<String> {
                Ok(serde_json::json!({
                    "chain": key.chain,
                    "unit": key.unit,
                    "budget": units_to_amount(units)?.to_string(),
                })
                .to_string())
            };
            audit!(
                tx,
                now,
                &AuditEntry {
                    target: &target,
                    before: Some(view(before_units)?),
                    after: Some(view(after_units)?),
                    ..entry.clone()
                }
            );
            Ok::<(), StoreError>(())
        })?;
        self.gas_budget(key).await
    }

    /// Sets (or with `None` removes) the alert threshold of budget `key`: the budget is
    /// alerting while what it has left is below it (rounded down to a whole 10^9 of the
    /// unit, as budgets are). Recorded as `entry`; returns the budget after. `NotFound` if
    /// there is no such organisation.
    pub async fn set_gas_alert_threshold(
        &self,
        key: BudgetKey<'_>,
        threshold: Option<u128>,
        entry: &AuditEntry<'_>,
    ) -> Result<crate::GasBudget> {
        const EXISTS: &str = "SELECT id FROM organizations WHERE id = $1";
        const READ: &str = "SELECT alert_threshold_giga FROM gas_budgets \
             WHERE org_id = $1 AND chain = $2 AND unit = $3";
        const WRITE: &str = "INSERT INTO gas_budgets (alert_threshold_giga, org_id, chain, unit) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (org_id, chain, unit) \
             DO UPDATE SET alert_threshold_giga = excluded.alert_threshold_giga";
        let now = now_unix();
        let target = format!("organization:{}", key.org_id);
        let after_units = threshold.map(units_down);
        with_write_tx!(self, |tx| {
            if sqlx::query(EXISTS).bind(key.org_id).fetch_optional(&mut *tx).await?.is_none() {
                return Err(StoreError::NotFound);
            }
            let before_units: Option<i64> = match sqlx::query(READ)
                .bind(key.org_id)
                .bind(key.chain)
                .bind(key.unit)
                .fetch_optional(&mut *tx)
                .await?
            {
                Some(row) => row.opt_int("alert_threshold_giga")?,
                None => None,
            };
            sqlx::query(WRITE)
                .bind(after_units)
                .bind(key.org_id)
                .bind(key.chain)
                .bind(key.unit)
                .execute(&mut *tx)
                .await?;
            let view = |units: Option<i64>| -> Result<String> {
                let threshold = units.map(units_to_amount).transpose()?.map(|t| t.to_string());
                Ok(serde_json::json!({
                    "chain": key.chain,
                    "unit": key.unit,
                    "alertThreshold": threshold,
                })
                .to_string())
            };
            audit!(
                tx,
                now,
                &AuditEntry {
                    target: &target,
                    before: Some(view(before_units)?),
                    after: Some(view(after_units)?),
                    ..entry.clone()
                }
            );
            Ok::<(), StoreError>(())
        })?;
        self.gas_budget(key).await
    }

    /// Whether any operator token was ever made (the first start makes one).
    pub async fn has_operator_token(&self) -> Result<bool> {
        const SQL: &str = "SELECT id FROM operator_tokens LIMIT 1";
        with_read_pool!(self, |pool| { Ok(sqlx::query(SQL).fetch_optional(pool).await?.is_some()) })
    }

    /// The operator token with this hash, if it works now.
    pub async fn find_operator_token(&self, token_hash: &str) -> Result<Option<OperatorToken>> {
        const SQL: &str = concat!(
            "SELECT ",
            operator_token_cols!(),
            " FROM operator_tokens WHERE token_hash = $1 AND (expires_at IS NULL OR expires_at > $2)"
        );
        with_read_pool!(self, |pool| {
            let row =
                sqlx::query(SQL).bind(token_hash).bind(now_unix()).fetch_optional(pool).await?;
            row.as_ref().map(operator_token_from_row).transpose()
        })
    }

    /// Records a new operator token; every other token that still works keeps working
    /// until `others_expire_at` at the latest (the overlap of a rotation; `now` ends them
    /// at once). Recorded as `entry`.
    pub async fn add_operator_token(
        &self,
        token_hash: &str,
        prefix: &str,
        others_expire_at: Option<i64>,
        entry: &AuditEntry<'_>,
    ) -> Result<OperatorToken> {
        const EXPIRE: &str = "UPDATE operator_tokens SET expires_at = $1 \
             WHERE expires_at IS NULL OR expires_at > $1";
        const INSERT: &str = concat!(
            "INSERT INTO operator_tokens (id, token_hash, prefix, created_at) VALUES ($1, $2, $3, $4) RETURNING ",
            operator_token_cols!()
        );
        let now = now_unix();
        let id = new_id();
        let target = format!("operator_token:{id}");
        with_write_tx!(self, |tx| {
            if let Some(at) = others_expire_at {
                sqlx::query(EXPIRE).bind(at).execute(&mut *tx).await?;
            }
            let row = sqlx::query(INSERT)
                .bind(&id)
                .bind(token_hash)
                .bind(prefix)
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
            let token = operator_token_from_row(&row)?;
            let after =
                serde_json::json!({"prefix": token.prefix, "othersExpireAt": others_expire_at});
            audit!(
                tx,
                now,
                &AuditEntry { target: &target, after: Some(after.to_string()), ..entry.clone() }
            );
            Ok(token)
        })
    }

    /// Audit records after `after_seq` (0: from the start), oldest first, at most
    /// `limit`; only those about `target` when given.
    pub async fn audit_records(
        &self,
        after_seq: i64,
        target: Option<&str>,
        limit: u32,
    ) -> Result<Vec<AuditRecord>> {
        const ALL: &str = "SELECT seq, at, actor, action, target, before_json, after_json \
             FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2";
        const ONE: &str = "SELECT seq, at, actor, action, target, before_json, after_json \
             FROM audit_log WHERE seq > $1 AND target = $3 ORDER BY seq LIMIT $2";
        with_read_pool!(self, |pool| {
            let query = match target {
                None => sqlx::query(ALL),
                Some(_) => sqlx::query(ONE),
            }
            .bind(after_seq)
            .bind(i64::from(limit));
            let query = match target {
                None => query,
                Some(target) => query.bind(target),
            };
            let rows = query.fetch_all(pool).await?;
            rows.iter().map(audit_from_row).collect()
        })
    }
}
