//! Outside-execution requests: the write-ahead log of every gasless execution.

use sqlx::AssertSqlSafe;

use crate::db::{
    bind_all, new_id, now_unix, placeholders, with_read_pool, with_write_pool, with_write_tx, Arg,
    Cols,
};
use crate::error::{Result, StoreError};
use crate::model::{
    BudgetKey, NewRequest, QuotaCharge, Request, RequestStatus, RequestUpdate, Reservation,
    ReserveOptions,
};
use crate::orgs::{units_up, RESERVE_SQL, RESERVE_UNBUDGETED_SQL, SETTLE_SQL};
use crate::stats::RequestFilter;
use crate::Store;

macro_rules! request_cols {
    () => {
        "id, org_id, wallet_id, chain, account, oe_nonce, typed_data_json, calls_json, \
         execute_before, purpose, status, kind, session_public_key, signature_json, tx_hash, \
         relayer_address, relayer_nonce, signed_tx_json, fee, fee_unit, payload_hash, error_code, \
         error_message, idempotency_key, \
         created_at, updated_at, submitted_at, finalized_at, previous_tx_hashes_json, quota_json, handler"
    };
}

/// The final statuses as an SQL list, for the `finalized_at` bookkeeping.
const FINAL_STATUSES_SQL: &str = "('succeeded', 'reverted', 'rejected', 'expired')";

fn request_from_row(row: &impl Cols) -> Result<Request> {
    Ok(Request {
        id: row.text("id")?,
        org_id: row.text("org_id")?,
        wallet_id: row.opt_text("wallet_id")?,
        chain: row.text("chain")?,
        account: row.text("account")?,
        oe_nonce: row.text("oe_nonce")?,
        typed_data_json: row.text("typed_data_json")?,
        calls_json: row.text("calls_json")?,
        execute_before: row.int("execute_before")?,
        purpose: row.text("purpose")?,
        status: row.text("status")?.parse()?,
        kind: row.opt_text("kind")?,
        session_public_key: row.opt_text("session_public_key")?,
        signature_json: row.opt_text("signature_json")?,
        tx_hash: row.opt_text("tx_hash")?,
        relayer_address: row.opt_text("relayer_address")?,
        relayer_nonce: row.opt_text("relayer_nonce")?,
        signed_tx_json: row.opt_text("signed_tx_json")?,
        fee: row.opt_text("fee")?,
        fee_unit: row.text("fee_unit")?,
        payload_hash: row.opt_text("payload_hash")?,
        error_code: row.opt_text("error_code")?,
        error_message: row.opt_text("error_message")?,
        idempotency_key: row.opt_text("idempotency_key")?,
        created_at: row.int("created_at")?,
        updated_at: row.int("updated_at")?,
        submitted_at: row.opt_int("submitted_at")?,
        finalized_at: row.opt_int("finalized_at")?,
        previous_tx_hashes_json: row.opt_text("previous_tx_hashes_json")?,
        quota_json: row.opt_text("quota_json")?,
        handler: row.opt_text("handler")?,
    })
}

/// Creates the day's usage row of a quota scope if missing.
const QUOTA_ROW_SQL: &str = "INSERT INTO gas_usage (org_id, scope, scope_key, day) \
     VALUES ($1, $2, $3, $4) ON CONFLICT (org_id, scope, scope_key, day) DO NOTHING";
/// Reserves `$1` units of a quota scope iff its limit `$6` still covers them.
const QUOTA_RESERVE_SQL: &str = "UPDATE gas_usage SET reserved_gfri = reserved_gfri + $1 \
     WHERE org_id = $2 AND scope = $3 AND scope_key = $4 AND day = $5 \
     AND reserved_gfri + spent_gfri + $1 <= $6";
/// Releases `$1` reserved units of a quota scope (never below zero) and adds `$2` spent.
const QUOTA_SETTLE_SQL: &str = "UPDATE gas_usage SET \
     reserved_gfri = CASE WHEN reserved_gfri > $1 THEN reserved_gfri - $1 ELSE 0 END, \
     spent_gfri = CASE WHEN spent_gfri > 9223372036854775807 - $2 \
                       THEN 9223372036854775807 ELSE spent_gfri + $2 END \
     WHERE org_id = $3 AND scope = $4 AND scope_key = $5 AND day = $6";

/// Adds `$1` reserved units to a quota scope, unconditionally.
const QUOTA_GROW_SQL: &str = "UPDATE gas_usage SET reserved_gfri = reserved_gfri + $1 \
     WHERE org_id = $2 AND scope = $3 AND scope_key = $4 AND day = $5";

/// The scope names a quota may have, as stored.
fn quota_scope(scope: &str) -> &'static str {
    if scope == "user" {
        "user"
    } else {
        "wallet"
    }
}

/// Builds the compare-and-set `UPDATE` for [`Store::update_request`]: the SQL text (fixed
/// column names and numbered placeholders only) and its arguments in order.
fn update_sql(
    id: &str,
    expected: &[RequestStatus],
    update: &RequestUpdate,
    now: i64,
) -> (String, Vec<Arg>) {
    let mut sets = vec!["updated_at = $1".to_owned()];
    let mut args = vec![Arg::Int(now)];
    if let Some(status) = update.status {
        args.push(Arg::Text(status.as_str().to_owned()));
        sets.push(format!("status = ${}", args.len()));
        // The CASE expressions read the row's status before this update.
        if status == RequestStatus::Submitted {
            sets.push(
                "submitted_at = CASE WHEN status = 'submitted' AND submitted_at IS NOT NULL \
                 THEN submitted_at ELSE $1 END"
                    .to_owned(),
            );
        }
        if status.is_final() {
            sets.push(format!(
                "finalized_at = CASE WHEN status IN {FINAL_STATUSES_SQL} \
                 AND finalized_at IS NOT NULL THEN finalized_at ELSE $1 END"
            ));
        } else {
            // Leaving a final status (a reorg undid the inclusion): no longer final.
            sets.push("finalized_at = NULL".to_owned());
        }
    }
    let fields = [
        ("kind", &update.kind),
        ("session_public_key", &update.session_public_key),
        ("signature_json", &update.signature_json),
        ("tx_hash", &update.tx_hash),
        ("relayer_address", &update.relayer_address),
        ("relayer_nonce", &update.relayer_nonce),
        ("signed_tx_json", &update.signed_tx_json),
        ("fee", &update.fee),
        ("error_code", &update.error_code),
        ("error_message", &update.error_message),
        ("idempotency_key", &update.idempotency_key),
        ("previous_tx_hashes_json", &update.previous_tx_hashes_json),
        ("oe_nonce", &update.oe_nonce),
        ("handler", &update.handler),
    ];
    for (column, value) in fields {
        if let Some(value) = value {
            args.push(Arg::Text(value.clone()));
            sets.push(format!("{column} = ${}", args.len()));
        }
    }
    args.push(Arg::Text(id.to_owned()));
    let id_param = args.len();
    let first_status = args.len() + 1;
    args.extend(expected.iter().map(|s| Arg::Text(s.as_str().to_owned())));
    let sql = format!(
        "UPDATE requests SET {} WHERE id = ${id_param} AND status IN ({})",
        sets.join(", "),
        placeholders(first_status, expected.len())
    );
    (sql, args)
}

impl Store {
    /// Records an outside execution with status [`RequestStatus::Prepared`]. Fails with
    /// [`StoreError::Conflict`](crate::StoreError::Conflict) on
    /// [`REQUEST_ACCOUNT_OE_NONCE`](crate::constraints::REQUEST_ACCOUNT_OE_NONCE) when the
    /// account already has a request with this SNIP-9 nonce, so the same outside execution
    /// (resubmitted, or with a different signature) can never be recorded — and so never
    /// executed — twice.
    pub async fn insert_request(&self, request: &NewRequest) -> Result<Request> {
        const SQL: &str = concat!(
            "INSERT INTO requests (id, org_id, wallet_id, chain, account, oe_nonce, ",
            "typed_data_json, calls_json, execute_before, purpose, status, fee_unit, ",
            "payload_hash, created_at, updated_at) ",
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14) ",
            "RETURNING ",
            request_cols!()
        );
        with_write_pool!(self, |pool| {
            let row = sqlx::query(SQL)
                .bind(new_id())
                .bind(&request.org_id)
                .bind(&request.wallet_id)
                .bind(&request.chain)
                .bind(&request.account)
                .bind(&request.oe_nonce)
                .bind(&request.typed_data_json)
                .bind(&request.calls_json)
                .bind(request.execute_before)
                .bind(&request.purpose)
                .bind(RequestStatus::Prepared.as_str())
                .bind(&request.fee_unit)
                .bind(&request.payload_hash)
                .bind(now_unix())
                .fetch_one(pool)
                .await?;
            request_from_row(&row)
        })
    }

    /// The request with this id.
    pub async fn request(&self, id: &str) -> Result<Option<Request>> {
        const SQL: &str = concat!("SELECT ", request_cols!(), " FROM requests WHERE id = $1");
        with_read_pool!(self, |pool| {
            let row = sqlx::query(SQL).bind(id).fetch_optional(pool).await?;
            row.as_ref().map(request_from_row).transpose()
        })
    }

    /// The request for this account and nonce key on `chain`.
    pub async fn request_by_oe(
        &self,
        chain: &str,
        account: &str,
        oe_nonce: &str,
    ) -> Result<Option<Request>> {
        const SQL: &str = concat!(
            "SELECT ",
            request_cols!(),
            " FROM requests WHERE chain = $1 AND account = $2 AND oe_nonce = $3"
        );
        with_read_pool!(self, |pool| {
            let query = sqlx::query(SQL).bind(chain).bind(account).bind(oe_nonce);
            let row = query.fetch_optional(pool).await?;
            row.as_ref().map(request_from_row).transpose()
        })
    }

    /// A request of `account` on `chain` for the payload whose digest is `payload_hash`
    /// (the newest, should there be several).
    pub async fn request_by_payload_hash(
        &self,
        chain: &str,
        account: &str,
        payload_hash: &str,
    ) -> Result<Option<Request>> {
        const SQL: &str = concat!(
            "SELECT ",
            request_cols!(),
            " FROM requests WHERE chain = $1 AND account = $2 AND payload_hash = $3 ",
            "ORDER BY created_at DESC, seq DESC LIMIT 1"
        );
        with_read_pool!(self, |pool| {
            let query = sqlx::query(SQL).bind(chain).bind(account).bind(payload_hash);
            let row = query.fetch_optional(pool).await?;
            row.as_ref().map(request_from_row).transpose()
        })
    }

    /// The (newest) request carrying this transaction hash, as its current hash or as one
    /// it signed before (a request re-signed after a nonce error keeps its earlier hashes).
    pub async fn request_by_tx_hash(&self, tx_hash: &str) -> Result<Option<Request>> {
        const SQL: &str = concat!(
            "SELECT ",
            request_cols!(),
            " FROM requests WHERE tx_hash = $1 ORDER BY created_at DESC, seq DESC LIMIT 1"
        );
        const EARLIER: &str = concat!(
            "SELECT ",
            request_cols!(),
            " FROM requests WHERE previous_tx_hashes_json IS NOT NULL ",
            "AND previous_tx_hashes_json LIKE $1 ORDER BY created_at DESC, seq DESC LIMIT 1"
        );
        let current = with_read_pool!(self, |pool| {
            let row = sqlx::query(SQL).bind(tx_hash).fetch_optional(pool).await?;
            row.as_ref().map(request_from_row).transpose()?
        });
        if current.is_some() || !tx_hash.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Ok(current);
        }
        let pattern = format!("%\"{tx_hash}\"%");
        with_read_pool!(self, |pool| {
            let row = sqlx::query(EARLIER).bind(pattern).fetch_optional(pool).await?;
            row.as_ref().map(request_from_row).transpose()
        })
    }

    /// Compare-and-set: applies `update` only while the request's status is one of
    /// `expected`, in a single conditional `UPDATE`; returns whether it applied (`false`
    /// also for an unknown id or an empty `expected`).
    ///
    /// Every `Some` field is written and `updated_at` is bumped. Entering
    /// [`RequestStatus::Submitted`] sets `submitted_at`; entering a final status sets
    /// `finalized_at` (kept when moving between final statuses); moving to a non-final
    /// status clears `finalized_at`.
    pub async fn update_request(
        &self,
        id: &str,
        expected: &[RequestStatus],
        update: &RequestUpdate,
    ) -> Result<bool> {
        if expected.is_empty() {
            return Ok(false);
        }
        let (sql, args) = update_sql(id, expected, update, now_unix());
        let done = with_write_pool!(self, |pool| {
            bind_all!(sqlx::query(AssertSqlSafe(sql)), args).execute(pool).await?.rows_affected()
        });
        Ok(done == 1)
    }

    /// Moves a request from one of `from` to `to` and changes nothing else (the status
    /// bookkeeping of [`update_request`](Self::update_request) aside); returns whether it
    /// moved.
    pub async fn transition_request(
        &self,
        id: &str,
        from: &[RequestStatus],
        to: RequestStatus,
    ) -> Result<bool> {
        self.update_request(
            id,
            from,
            &RequestUpdate { status: Some(to), ..RequestUpdate::default() },
        )
        .await
    }

    /// [`update_request`](Self::update_request) and a reservation of `fee` from the
    /// organisation's gas budget on the request's chain, in its fee unit (and from each
    /// daily quota in `options`), in one
    /// transaction: either all happen or none, so a crash can never leave a reservation
    /// without the request that holds it. The request records the quotas it was charged
    /// to, so its settlement releases them.
    pub async fn update_request_reserving(
        &self,
        id: &str,
        expected: &[RequestStatus],
        update: &RequestUpdate,
        budget: BudgetKey<'_>,
        fee: u128,
        options: &ReserveOptions,
    ) -> Result<Reservation> {
        if expected.is_empty() {
            return Ok(Reservation::StatusChanged);
        }
        let org_id = budget.org_id;
        let Some(units) = units_up(fee) else {
            return self
                .organization(org_id)
                .await?
                .map(|_| Reservation::BudgetExhausted)
                .ok_or(StoreError::NotFound);
        };
        let (sql, mut args) = update_sql(id, expected, update, now_unix());
        let sql = if options.quotas.is_empty() {
            sql
        } else {
            let quota_json = serde_json::to_string(&options.quotas)
                .map_err(|e| StoreError::Database(e.to_string()))?;
            // `UPDATE requests SET a = $1, … WHERE …`: one more assignment, one more
            // argument, numbered after all the others.
            args.push(Arg::Text(quota_json));
            sql.replacen(" WHERE id = ", &format!(", quota_json = ${} WHERE id = ", args.len()), 1)
        };
        let reserve_sql = if options.bypass_budget { RESERVE_UNBUDGETED_SQL } else { RESERVE_SQL };
        let outcome = with_write_tx!(self, |tx| {
            for quota in &options.quotas {
                let limit = i64::try_from(quota.limit / 1_000_000_000).unwrap_or(i64::MAX);
                sqlx::query(QUOTA_ROW_SQL)
                    .bind(org_id)
                    .bind(quota_scope(&quota.scope))
                    .bind(&quota.key)
                    .bind(quota.day)
                    .execute(&mut *tx)
                    .await?;
                let charged = sqlx::query(QUOTA_RESERVE_SQL)
                    .bind(units)
                    .bind(org_id)
                    .bind(quota_scope(&quota.scope))
                    .bind(&quota.key)
                    .bind(quota.day)
                    .bind(limit)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if charged == 0 {
                    // Nothing written; the transaction rolls back on return.
                    return Ok(Reservation::QuotaExhausted(quota_scope(&quota.scope)));
                }
            }
            let reserved = sqlx::query(reserve_sql)
                .bind(units)
                .bind(org_id)
                .bind(budget.chain)
                .bind(budget.unit)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if reserved == 0 {
                // Nothing written; the transaction rolls back on return.
                return match self.organization(org_id).await? {
                    Some(_) => Ok(Reservation::BudgetExhausted),
                    None => Err(StoreError::NotFound),
                };
            }
            let updated = bind_all!(sqlx::query(AssertSqlSafe(sql)), args)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if updated != 1 {
                // Roll the reservation back with the transaction.
                return Ok(Reservation::StatusChanged);
            }
            Reservation::Recorded
        });
        Ok(outcome)
    }

    /// [`update_request`](Self::update_request) and the settlement of its reservation
    /// (`reserved` released, `spent` spent, in the organisation's budget and in
    /// every daily quota the request was charged to), in one transaction; nothing is
    /// settled unless the update applies, so a request is settled exactly once.
    #[allow(clippy::too_many_arguments)]
    pub async fn update_request_settling(
        &self,
        id: &str,
        expected: &[RequestStatus],
        update: &RequestUpdate,
        budget: BudgetKey<'_>,
        reserved: u128,
        spent: u128,
    ) -> Result<bool> {
        if expected.is_empty() {
            return Ok(false);
        }
        let org_id = budget.org_id;
        let (sql, args) = update_sql(id, expected, update, now_unix());
        let reserved = units_up(reserved).unwrap_or(i64::MAX);
        let spent = units_up(spent).unwrap_or(i64::MAX);
        let done = with_write_tx!(self, |tx| {
            let updated = bind_all!(sqlx::query(AssertSqlSafe(sql)), args)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if updated != 1 {
                return Ok(false);
            }
            let settled = sqlx::query(SETTLE_SQL)
                .bind(reserved)
                .bind(spent)
                .bind(org_id)
                .bind(budget.chain)
                .bind(budget.unit)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if settled == 0 {
                return Err(StoreError::NotFound);
            }
            let row = sqlx::query("SELECT quota_json FROM requests WHERE id = $1")
                .bind(id)
                .fetch_one(&mut *tx)
                .await?;
            let quotas: Vec<QuotaCharge> = row
                .opt_text("quota_json")?
                .and_then(|json| serde_json::from_str(&json).ok())
                .unwrap_or_default();
            for quota in quotas {
                sqlx::query(QUOTA_SETTLE_SQL)
                    .bind(reserved)
                    .bind(spent)
                    .bind(org_id)
                    .bind(quota_scope(&quota.scope))
                    .bind(&quota.key)
                    .bind(quota.day)
                    .execute(&mut *tx)
                    .await?;
            }
            true
        });
        Ok(done)
    }

    /// Moves a request's reservation from `from` to `to` (its fee bounds were
    /// re-estimated), in its organisation's budget and its daily quotas, and records the
    /// new reservation on the request — in one transaction, and only while the request is
    /// in one of `expected`. A larger reservation needs the budget to cover the difference
    /// (unless `bypass_budget`). [`Reservation::StatusChanged`] says another process moved
    /// the request on (it is not the budget's fault); nothing is written unless the answer
    /// is [`Reservation::Recorded`].
    pub async fn adjust_reservation(
        &self,
        id: &str,
        expected: &[RequestStatus],
        budget: BudgetKey<'_>,
        from_amount: u128,
        to_amount: u128,
        bypass_budget: bool,
    ) -> Result<Reservation> {
        let (Some(from), Some(to)) = (units_up(from_amount), units_up(to_amount)) else {
            return Ok(Reservation::BudgetExhausted);
        };
        if from == to {
            return Ok(Reservation::Recorded);
        }
        let org_id = budget.org_id;
        let update = RequestUpdate { fee: Some(to_amount.to_string()), ..RequestUpdate::default() };
        let (sql, args) = update_sql(id, expected, &update, now_unix());
        let moved = with_write_tx!(self, |tx| {
            let updated = bind_all!(sqlx::query(AssertSqlSafe(sql)), args)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if updated != 1 {
                return Ok(Reservation::StatusChanged);
            }
            let applied = if to > from {
                let sql = if bypass_budget { RESERVE_UNBUDGETED_SQL } else { RESERVE_SQL };
                sqlx::query(sql)
                    .bind(to - from)
                    .bind(org_id)
                    .bind(budget.chain)
                    .bind(budget.unit)
                    .execute(&mut *tx)
                    .await?
            } else {
                sqlx::query(SETTLE_SQL)
                    .bind(from - to)
                    .bind(0i64)
                    .bind(org_id)
                    .bind(budget.chain)
                    .bind(budget.unit)
                    .execute(&mut *tx)
                    .await?
            }
            .rows_affected();
            if applied == 0 {
                // Rolled back with the transaction: the budget cannot cover the difference.
                return Ok(Reservation::BudgetExhausted);
            }
            let row = sqlx::query("SELECT quota_json FROM requests WHERE id = $1")
                .bind(id)
                .fetch_one(&mut *tx)
                .await?;
            let quotas: Vec<QuotaCharge> = row
                .opt_text("quota_json")?
                .and_then(|json| serde_json::from_str(&json).ok())
                .unwrap_or_default();
            for quota in quotas {
                // A quota is a daily ceiling checked at admission: a transaction already
                // accepted moves its reservation there without a second check.
                let query = if to > from {
                    sqlx::query(QUOTA_GROW_SQL).bind(to - from)
                } else {
                    sqlx::query(QUOTA_SETTLE_SQL).bind(from - to).bind(0i64)
                };
                query
                    .bind(org_id)
                    .bind(quota_scope(&quota.scope))
                    .bind(&quota.key)
                    .bind(quota.day)
                    .execute(&mut *tx)
                    .await?;
            }
            Reservation::Recorded
        });
        Ok(moved)
    }

    /// Up to `limit` requests on `chain` (CAIP-2 id) in any of `statuses`, oldest first
    /// (the work queue of that chain's submitter and reconciler).
    pub async fn requests_with_status(
        &self,
        chain: &str,
        statuses: &[RequestStatus],
        limit: u32,
    ) -> Result<Vec<Request>> {
        if statuses.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT {} FROM requests WHERE chain = $1 AND status IN ({}) \
             ORDER BY created_at, seq LIMIT ${}",
            request_cols!(),
            placeholders(2, statuses.len()),
            statuses.len() + 2
        );
        let mut args: Vec<Arg> = vec![Arg::Text(chain.to_owned())];
        args.extend(statuses.iter().map(|s| Arg::Text(s.as_str().to_owned())));
        args.push(Arg::Int(i64::from(limit)));
        with_read_pool!(self, |pool| {
            let rows = bind_all!(sqlx::query(AssertSqlSafe(sql)), args).fetch_all(pool).await?;
            rows.iter().map(request_from_row).collect()
        })
    }

    /// A page of the organisation's requests (optionally of one wallet), newest first.
    pub async fn list_requests(
        &self,
        org_id: &str,
        wallet_id: Option<&str>,
        limit: u32,
        offset: u32,
    ) -> Result<Vec<Request>> {
        const ALL: &str = concat!(
            "SELECT ",
            request_cols!(),
            " FROM requests WHERE org_id = $1 ",
            "ORDER BY created_at DESC, seq DESC LIMIT $2 OFFSET $3"
        );
        const ONE_WALLET: &str = concat!(
            "SELECT ",
            request_cols!(),
            " FROM requests WHERE org_id = $1 AND wallet_id = $4 ",
            "ORDER BY created_at DESC, seq DESC LIMIT $2 OFFSET $3"
        );
        with_read_pool!(self, |pool| {
            let query = match wallet_id {
                None => sqlx::query(ALL),
                Some(_) => sqlx::query(ONE_WALLET),
            }
            .bind(org_id)
            .bind(i64::from(limit))
            .bind(i64::from(offset));
            let query = match wallet_id {
                None => query,
                Some(wallet_id) => query.bind(wallet_id),
            };
            let rows = query.fetch_all(pool).await?;
            rows.iter().map(request_from_row).collect()
        })
    }

    /// A page of the organisation's requests that `filter` selects, newest first.
    pub async fn list_requests_filtered(
        &self,
        org_id: &str,
        filter: &RequestFilter,
        limit: u32,
        offset: u32,
    ) -> Result<Vec<Request>> {
        let mut args = vec![Arg::Text(org_id.to_owned())];
        let mut conditions = vec!["org_id = $1".to_owned()];
        if let Some(wallet_id) = &filter.wallet_id {
            args.push(Arg::Text(wallet_id.clone()));
            conditions.push(format!("wallet_id = ${}", args.len()));
        }
        if let Some(chain) = &filter.chain {
            args.push(Arg::Text(chain.clone()));
            conditions.push(format!("chain = ${}", args.len()));
        }
        if !filter.statuses.is_empty() {
            let first = args.len() + 1;
            args.extend(filter.statuses.iter().map(|s| Arg::Text(s.as_str().to_owned())));
            conditions.push(format!("status IN ({})", placeholders(first, filter.statuses.len())));
        }
        args.push(Arg::Int(i64::from(limit)));
        args.push(Arg::Int(i64::from(offset)));
        // Only fixed column names and numbered placeholders are formatted in.
        let sql = format!(
            "SELECT {} FROM requests WHERE {} ORDER BY created_at DESC, seq DESC \
             LIMIT ${} OFFSET ${}",
            request_cols!(),
            conditions.join(" AND "),
            args.len() - 1,
            args.len()
        );
        with_read_pool!(self, |pool| {
            let rows = bind_all!(sqlx::query(AssertSqlSafe(sql)), args).fetch_all(pool).await?;
            rows.iter().map(request_from_row).collect()
        })
    }

    /// How many requests of every organisation on `chain` are in each status that is not
    /// final (`prepared`, `recorded`, … `accepted`); statuses with no request are left
    /// out. Ordered as [`RequestStatus::ALL`]. Reads the status index only.
    pub async fn count_unfinished_requests(
        &self,
        chain: &str,
    ) -> Result<Vec<(RequestStatus, i64)>> {
        let unfinished: Vec<RequestStatus> =
            RequestStatus::ALL.iter().copied().filter(|s| !s.is_final()).collect();
        let placeholders: Vec<String> =
            (2..unfinished.len() + 2).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT status, COUNT(*) AS n FROM requests WHERE status IN ({}) AND chain = $1 GROUP BY status",
            placeholders.join(", ")
        );
        let mut counts = with_read_pool!(self, |pool| {
            // Only numbered placeholders are formatted in; every value is bound.
            let mut query = sqlx::query(AssertSqlSafe(sql.clone())).bind(chain);
            for status in &unfinished {
                query = query.bind(status.as_str());
            }
            let rows = query.fetch_all(pool).await?;
            rows.iter()
                .map(|row| Ok((row.text("status")?.parse::<RequestStatus>()?, row.int("n")?)))
                .collect::<Result<Vec<_>>>()?
        });
        counts.sort_by_key(|(status, _)| RequestStatus::ALL.iter().position(|s| s == status));
        Ok(counts)
    }

    /// How many of the organisation's requests are in each status; statuses with no
    /// request are left out. Ordered as [`RequestStatus::ALL`].
    pub async fn count_requests_by_status(
        &self,
        org_id: &str,
    ) -> Result<Vec<(RequestStatus, i64)>> {
        const SQL: &str =
            "SELECT status, COUNT(*) AS n FROM requests WHERE org_id = $1 GROUP BY status";
        let mut counts = with_read_pool!(self, |pool| {
            let rows = sqlx::query(SQL).bind(org_id).fetch_all(pool).await?;
            rows.iter()
                .map(|row| Ok((row.text("status")?.parse::<RequestStatus>()?, row.int("n")?)))
                .collect::<Result<Vec<_>>>()?
        });
        counts.sort_by_key(|(status, _)| RequestStatus::ALL.iter().position(|s| s == status));
        Ok(counts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn update_sql_numbers_placeholders_in_bind_order() {
        let update = RequestUpdate {
            status: Some(RequestStatus::Submitted),
            tx_hash: Some("0xabc".into()),
            ..RequestUpdate::default()
        };
        let (sql, args) =
            update_sql("id-1", &[RequestStatus::Recorded, RequestStatus::Submitting], &update, 42);
        assert_eq!(args.len(), 6);
        assert!(sql.contains("status = $2"), "{sql}");
        assert!(sql.contains("tx_hash = $3"), "{sql}");
        assert!(sql.contains("WHERE id = $4 AND status IN ($5, $6)"), "{sql}");
        assert!(sql.contains("submitted_at = CASE"), "{sql}");
        assert!(sql.contains("finalized_at = NULL"), "{sql}");
        assert!(matches!(&args[3], Arg::Text(id) if id == "id-1"));
        assert!(matches!(&args[5], Arg::Text(s) if s == "submitting"));
    }

    #[test]
    fn update_sql_without_status_leaves_timestamps_alone() {
        let update = RequestUpdate { error_message: Some("x".into()), ..RequestUpdate::default() };
        let (sql, _) = update_sql("id", &[RequestStatus::Prepared], &update, 1);
        assert!(!sql.contains("submitted_at"));
        assert!(!sql.contains("finalized_at"));
        assert!(!sql.contains("status = $"), "{sql}");
    }
}
