//! Wallets: account address, owner key material (encrypted) and deployment state.

use crate::db::{new_id, now, with_read_pool, with_write_pool, Cols};
use crate::error::{Result, StoreError};
use crate::model::{NewWallet, Wallet};
use crate::Store;

macro_rules! wallet_cols {
    () => {
        "id, org_id, external_user_id, address, owner_public_key, encrypted_private_key, \
         encrypted_private_key_backup, wallet_type, chain, class_hash, auth_method, \
         credential_id, prf_supported, device_type, deployed, deploy_tx_hash, created_at, \
         updated_at"
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
                .bind(now())
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

    /// The organisation's wallet at this account address.
    pub async fn wallet_by_address(&self, org_id: &str, address: &str) -> Result<Option<Wallet>> {
        const SQL: &str =
            concat!("SELECT ", wallet_cols!(), " FROM wallets WHERE org_id = $1 AND address = $2");
        with_read_pool!(self, |pool| {
            let row = sqlx::query(SQL).bind(org_id).bind(address).fetch_optional(pool).await?;
            row.as_ref().map(wallet_from_row).transpose()
        })
    }

    /// The organisation's wallet for this external user id.
    pub async fn wallet_by_external_user(
        &self,
        org_id: &str,
        external_user_id: &str,
    ) -> Result<Option<Wallet>> {
        const SQL: &str = concat!(
            "SELECT ",
            wallet_cols!(),
            " FROM wallets WHERE org_id = $1 AND external_user_id = $2"
        );
        with_read_pool!(self, |pool| {
            let row =
                sqlx::query(SQL).bind(org_id).bind(external_user_id).fetch_optional(pool).await?;
            row.as_ref().map(wallet_from_row).transpose()
        })
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
                .bind(now())
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

    /// Replaces the encrypted owner key and its backup (e.g. after a PIN change), in one
    /// statement, and returns the updated wallet.
    pub async fn update_wallet_encryption(
        &self,
        id: &str,
        encrypted_private_key: &str,
        encrypted_private_key_backup: Option<String>,
    ) -> Result<Wallet> {
        const SQL: &str = concat!(
            "UPDATE wallets SET encrypted_private_key = $1, encrypted_private_key_backup = $2, ",
            "updated_at = $3 WHERE id = $4 RETURNING ",
            wallet_cols!()
        );
        with_write_pool!(self, |pool| {
            let row = sqlx::query(SQL)
                .bind(encrypted_private_key)
                .bind(encrypted_private_key_backup)
                .bind(now())
                .bind(id)
                .fetch_optional(pool)
                .await?;
            row.as_ref().map(wallet_from_row).transpose()?.ok_or(StoreError::NotFound)
        })
    }
}
