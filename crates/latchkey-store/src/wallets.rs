//! Wallets: account address, owner key material (encrypted) and deployment state.

use crate::db::{new_id, now_unix, with_read_pool, with_write_pool, with_write_tx, Cols};
use crate::error::{Result, StoreError};
use crate::model::{KeyEvent, KeyEventKind, NewKeyEvent, NewWallet, Wallet};
use crate::Store;

macro_rules! wallet_cols {
    () => {
        "id, org_id, external_user_id, address, owner_public_key, encrypted_private_key, \
         encrypted_private_key_backup, wallet_type, chain, class_hash, auth_method, \
         credential_id, prf_supported, device_type, deployed, deploy_tx_hash, revert_streak, \
         cooldown_until, created_at, updated_at"
    };
}

fn wallet_from_row(row: &impl Cols) -> Result<Wallet> {
    Ok(Wallet {
        id: row.text("id")?,
        org_id: row.text("org_id")?,
        external_user_id: row.opt_text("external_user_id")?,
        address: row.text("address")?,
        owner_public_key: row.text("owner_public_key")?,
        encrypted_private_key: row.text("encrypted_private_key")?,
        encrypted_private_key_backup: row.opt_text("encrypted_private_key_backup")?,
        wallet_type: row.text("wallet_type")?,
        chain: row.text("chain")?,
        class_hash: row.text("class_hash")?,
        auth_method: row.opt_text("auth_method")?,
        credential_id: row.opt_text("credential_id")?,
        prf_supported: row.opt_flag("prf_supported")?,
        device_type: row.opt_text("device_type")?,
        deployed: row.flag("deployed")?,
        deploy_tx_hash: row.opt_text("deploy_tx_hash")?,
        revert_streak: row.int("revert_streak")?,
        cooldown_until: row.opt_int("cooldown_until")?,
        created_at: row.int("created_at")?,
        updated_at: row.int("updated_at")?,
    })
}

impl Store {
    /// Stores a new (undeployed) wallet. Fails with [`StoreError::Conflict`] on
    /// [`WALLET_ORG_ADDRESS`](crate::constraints::WALLET_ORG_ADDRESS) or
    /// [`WALLET_ORG_EXTERNAL_USER`](crate::constraints::WALLET_ORG_EXTERNAL_USER), and with
    /// [`StoreError::NotFound`] when the organisation does not exist.
    pub async fn insert_wallet(&self, wallet: &NewWallet) -> Result<Wallet> {
        const SQL: &str = concat!(
            "INSERT INTO wallets (id, org_id, external_user_id, address, owner_public_key, ",
            "encrypted_private_key, encrypted_private_key_backup, wallet_type, chain, class_hash, ",
            "auth_method, credential_id, prf_supported, device_type, deployed, created_at, updated_at) ",
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $16) ",
            "RETURNING ",
            wallet_cols!()
        );
        with_write_pool!(self, |pool| {
            let row = sqlx::query(SQL)
                .bind(new_id())
                .bind(&wallet.org_id)
                .bind(&wallet.external_user_id)
                .bind(&wallet.address)
                .bind(&wallet.owner_public_key)
                .bind(&wallet.encrypted_private_key)
                .bind(&wallet.encrypted_private_key_backup)
                .bind(&wallet.wallet_type)
                .bind(&wallet.chain)
                .bind(&wallet.class_hash)
                .bind(&wallet.auth_method)
                .bind(&wallet.credential_id)
                .bind(wallet.prf_supported)
                .bind(&wallet.device_type)
                .bind(false)
                .bind(now_unix())
                .fetch_one(pool)
                .await?;
            wallet_from_row(&row)
        })
    }

    /// The wallet with this id.
    pub async fn wallet(&self, id: &str) -> Result<Option<Wallet>> {
        const SQL: &str = concat!("SELECT ", wallet_cols!(), " FROM wallets WHERE id = $1");
        with_read_pool!(self, |pool| {
            let row = sqlx::query(SQL).bind(id).fetch_optional(pool).await?;
            row.as_ref().map(wallet_from_row).transpose()
        })
    }

    /// The organisation's wallet at this account address on `chain`.
    pub async fn wallet_by_address(
        &self,
        org_id: &str,
        chain: &str,
        address: &str,
    ) -> Result<Option<Wallet>> {
        const SQL: &str = concat!(
            "SELECT ",
            wallet_cols!(),
            " FROM wallets WHERE org_id = $1 AND chain = $2 AND address = $3"
        );
        with_read_pool!(self, |pool| {
            let query = sqlx::query(SQL).bind(org_id).bind(chain).bind(address);
            let row = query.fetch_optional(pool).await?;
            row.as_ref().map(wallet_from_row).transpose()
        })
    }

    /// The organisation's wallet for this external user id on `chain` (a user has one
    /// account per chain).
    pub async fn wallet_by_external_user(
        &self,
        org_id: &str,
        chain: &str,
        external_user_id: &str,
    ) -> Result<Option<Wallet>> {
        const SQL: &str = concat!(
            "SELECT ",
            wallet_cols!(),
            " FROM wallets WHERE org_id = $1 AND chain = $2 AND external_user_id = $3"
        );
        with_read_pool!(self, |pool| {
            let query = sqlx::query(SQL).bind(org_id).bind(chain).bind(external_user_id);
            let row = query.fetch_optional(pool).await?;
            row.as_ref().map(wallet_from_row).transpose()
        })
    }

    /// Assigns `chain` (a CAIP-2 id) to every wallet, request, relayer account and gas
    /// budget written before rows named their chain: such rows carry a legacy name without
    /// a `:` (`STARKNET`), and were written by a server running the one chain it runs now.
    /// Returns the rows changed; call once at start, before anything reads them.
    pub async fn adopt_legacy_chain(&self, chain: &str) -> Result<u64> {
        const TABLES: [&str; 4] = [
            "UPDATE wallets SET chain = $1 WHERE chain NOT LIKE '%:%'",
            "UPDATE requests SET chain = $1 WHERE chain NOT LIKE '%:%'",
            "UPDATE relayers SET chain = $1 WHERE chain NOT LIKE '%:%'",
            "UPDATE gas_budgets SET chain = $1 WHERE chain NOT LIKE '%:%'",
        ];
        Ok(with_write_tx!(self, |tx| {
            let mut changed = 0;
            for sql in TABLES {
                changed += sqlx::query(sql).bind(chain).execute(&mut *tx).await?.rows_affected();
            }
            changed
        }))
    }

    /// A page of the organisation's wallets, oldest first (so pages stay stable while new
    /// wallets are added).
    pub async fn list_wallets(&self, org_id: &str, limit: u32, offset: u32) -> Result<Vec<Wallet>> {
        const SQL: &str = concat!(
            "SELECT ",
            wallet_cols!(),
            " FROM wallets WHERE org_id = $1 ORDER BY created_at, seq LIMIT $2 OFFSET $3"
        );
        with_read_pool!(self, |pool| {
            let rows = sqlx::query(SQL)
                .bind(org_id)
                .bind(i64::from(limit))
                .bind(i64::from(offset))
                .fetch_all(pool)
                .await?;
            rows.iter().map(wallet_from_row).collect()
        })
    }

    /// Marks the wallet deployed by the transaction `tx_hash`.
    pub async fn set_wallet_deployed(&self, id: &str, tx_hash: &str) -> Result<()> {
        const SQL: &str = "UPDATE wallets SET deployed = $1, deploy_tx_hash = $2, updated_at = $3 \
                           WHERE id = $4";
        let done = with_write_pool!(self, |pool| {
            sqlx::query(SQL)
                .bind(true)
                .bind(tx_hash)
                .bind(now_unix())
                .bind(id)
                .execute(pool)
                .await?
                .rows_affected()
        });
        if done == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Replaces the encrypted owner key and its backup, and records the replacement with
    /// the blobs it replaced (so it can be undone), in one transaction; returns the
    /// updated wallet.
    pub async fn replace_wallet_keys(
        &self,
        id: &str,
        encrypted_private_key: &str,
        encrypted_private_key_backup: Option<&str>,
        event: &NewKeyEvent,
    ) -> Result<Wallet> {
        const CURRENT: &str =
            "SELECT encrypted_private_key, encrypted_private_key_backup FROM wallets WHERE id = $1";
        const UPDATE: &str = concat!(
            "UPDATE wallets SET encrypted_private_key = $1, encrypted_private_key_backup = $2, ",
            "updated_at = $3 WHERE id = $4 RETURNING ",
            wallet_cols!()
        );
        let at = now_unix();
        let wallet = with_write_tx!(self, |tx| {
            let current = sqlx::query(CURRENT).bind(id).fetch_optional(&mut *tx).await?;
            let current = current.ok_or(StoreError::NotFound)?;
            let previous_key = current.text("encrypted_private_key")?;
            let previous_backup = current.opt_text("encrypted_private_key_backup")?;
            sqlx::query(INSERT_KEY_EVENT)
                .bind(new_id())
                .bind(id)
                .bind(event.kind.as_str())
                .bind(&event.principal)
                .bind(&event.route)
                .bind(&event.proof)
                .bind(Some(previous_key))
                .bind(previous_backup)
                .bind(at)
                .execute(&mut *tx)
                .await?;
            let row = sqlx::query(UPDATE)
                .bind(encrypted_private_key)
                .bind(encrypted_private_key_backup)
                .bind(at)
                .bind(id)
                .fetch_one(&mut *tx)
                .await?;
            wallet_from_row(&row)?
        });
        Ok(wallet)
    }

    /// Records a custody event that changes nothing (an organisation read the key).
    pub async fn record_key_event(&self, wallet_id: &str, event: &NewKeyEvent) -> Result<()> {
        with_write_pool!(self, |pool| {
            sqlx::query(INSERT_KEY_EVENT)
                .bind(new_id())
                .bind(wallet_id)
                .bind(event.kind.as_str())
                .bind(&event.principal)
                .bind(&event.route)
                .bind(&event.proof)
                .bind(None::<String>)
                .bind(None::<String>)
                .bind(now_unix())
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// The wallet's custody events, oldest first.
    pub async fn key_events(&self, wallet_id: &str) -> Result<Vec<KeyEvent>> {
        const SQL: &str = "SELECT id, wallet_id, kind, principal, route, proof, previous_key, \
             previous_backup, created_at FROM wallet_key_events WHERE wallet_id = $1 ORDER BY seq";
        with_read_pool!(self, |pool| {
            let rows = sqlx::query(SQL).bind(wallet_id).fetch_all(pool).await?;
            rows.iter()
                .map(|row| {
                    Ok(KeyEvent {
                        id: row.text("id")?,
                        wallet_id: row.text("wallet_id")?,
                        kind: row.text("kind")?.parse::<KeyEventKind>()?,
                        principal: row.text("principal")?,
                        route: row.text("route")?,
                        proof: row.text("proof")?,
                        previous_key: row.opt_text("previous_key")?,
                        previous_backup: row.opt_text("previous_backup")?,
                        created_at: row.int("created_at")?,
                    })
                })
                .collect()
        })
    }

    /// Records the owner key the chain now has for this wallet (after a rotation).
    pub async fn set_owner_public_key(&self, id: &str, owner_public_key: &str) -> Result<()> {
        const SQL: &str = "UPDATE wallets SET owner_public_key = $1, updated_at = $2 WHERE id = $3";
        let done = with_write_pool!(self, |pool| {
            sqlx::query(SQL)
                .bind(owner_public_key)
                .bind(now_unix())
                .bind(id)
                .execute(pool)
                .await?
                .rows_affected()
        });
        if done == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Records how a sponsored transaction of the wallet ended. A revert lengthens the
    /// streak and, once it reaches `threshold`, starts a cool-down of `cooldown_secs`
    /// from `at`; a success ends the streak.
    pub async fn record_wallet_outcome(
        &self,
        id: &str,
        reverted: bool,
        threshold: i64,
        cooldown_secs: i64,
        at: i64,
    ) -> Result<()> {
        const REVERTED: &str = "UPDATE wallets SET revert_streak = revert_streak + 1, \
             cooldown_until = CASE WHEN revert_streak + 1 >= $1 THEN $2 ELSE cooldown_until END \
             WHERE id = $3";
        const SUCCEEDED: &str = "UPDATE wallets SET revert_streak = 0 WHERE id = $1";
        with_write_pool!(self, |pool| {
            if reverted {
                sqlx::query(REVERTED)
                    .bind(threshold.max(1))
                    .bind(at.saturating_add(cooldown_secs.max(0)))
                    .bind(id)
                    .execute(pool)
                    .await?;
            } else {
                sqlx::query(SUCCEEDED).bind(id).execute(pool).await?;
            }
        });
        Ok(())
    }
}

const INSERT_KEY_EVENT: &str = "INSERT INTO wallet_key_events (id, wallet_id, kind, principal, \
     route, proof, previous_key, previous_backup, created_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
