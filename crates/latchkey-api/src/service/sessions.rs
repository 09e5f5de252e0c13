//! Sessions, the same for every dialect and chain family: registering one (its checks, the
//! account's calls, the stored record), its status as the chain sees it, revoking one or
//! all. Dialects parse their own shapes into these and render the answers back.

use latchkey_chain::{
    AccountChange, Permission, SessionGrant, SessionRules, Signing, SpendingCap, SpendingPolicy,
};
use latchkey_core::{codes, U256};
use latchkey_relayer::{Prepared, Purpose};
use latchkey_store::{NewSession, Session, SessionState, StoredGrant, Wallet};

use crate::service::wallet_ref;
use crate::{ApiError, ApiResult, AppState};

/// At most this many allowed methods per session.
const MAX_METHODS: usize = 128;

/// A session an owner asks to register, in the chain's canonical text.
pub(crate) struct SessionRequest {
    /// The session public key (or address).
    pub key: String,
    /// Unix time the session starts (`0`: now).
    pub valid_after: u64,
    /// Unix time the session ends (inclusive).
    pub valid_until: u64,
    /// Transactions the session may make.
    pub max_calls: u32,
    /// Allowed methods; empty only with `allow_all`.
    pub permissions: Vec<Permission>,
    /// Every method of every contract but the account, asked for explicitly.
    pub allow_all: bool,
    /// Spending caps, one per token (their `session_key` is `key`).
    pub caps: Vec<SpendingCap>,
}

/// Checks a registration, prepares the account's calls that make it (one batch: the
/// session, then its caps) and records the session as pending.
pub(crate) async fn register(
    state: &AppState,
    wallet: &Wallet,
    req: SessionRequest,
) -> ApiResult<Prepared> {
    let account = &wallet.address;
    let slot = state.chain_of(wallet)?;
    slot.relayer.check_not_revoked(account, &req.key).await?;
    if req.permissions.is_empty() && !req.allow_all {
        return Err(ApiError::bad_request(
            codes::ALLOWLIST_REQUIRED,
            "give allowedMethods, or set allowAll: true to allow every method (never recommended)",
        ));
    }
    if !req.permissions.is_empty() && req.allow_all {
        return Err(ApiError::bad_request(
            codes::INVALID_REQUEST,
            "allowAll and allowedMethods are exclusive",
        ));
    }
    if req.max_calls == 0 {
        return Err(ApiError::bad_request(codes::INVALID_REQUEST, "maxCalls must be at least 1"));
    }
    let now = slot.chain.now().await?;
    let start = req.valid_after.max(now);
    if req.valid_until <= start {
        return Err(ApiError::bad_request(
            codes::INVALID_SESSION_WINDOW,
            "validUntil must be after validAfter and now",
        ));
    }
    if req.valid_until - start > state.config.max_session_seconds {
        return Err(ApiError::bad_request(
            codes::SESSION_TOO_LONG,
            format!("sessions may last at most {} seconds", state.config.max_session_seconds),
        ));
    }
    if req.permissions.iter().any(|p| p.target.as_deref() == Some(account.as_str())) {
        return Err(ApiError::bad_request(
            codes::SELF_CALL_NOT_ALLOWED,
            "a session can never call its own wallet",
        ));
    }
    if req.permissions.len() > MAX_METHODS {
        return Err(ApiError::bad_request(
            codes::TOO_MANY_METHODS,
            format!("at most {MAX_METHODS} allowed methods"),
        ));
    }
    for (i, cap) in req.caps.iter().enumerate() {
        if cap.window_seconds == 0
            || cap.max_per_call == U256::ZERO
            || cap.max_per_call > cap.max_per_window
        {
            return Err(ApiError::bad_request(
                codes::INVALID_SPENDING_POLICY,
                format!(
                    "spendingCaps[{i}]: need 0 < maxPerCall <= maxPerWindow and windowSeconds > 0"
                ),
            ));
        }
    }
    let grant = SessionGrant {
        session_key: req.key.clone(),
        rules: SessionRules {
            valid_after: req.valid_after,
            valid_until: req.valid_until,
            max_calls: req.max_calls,
            permissions: req.permissions.clone(),
        },
    };
    let mut changes = vec![AccountChange::RegisterSession(grant)];
    changes.extend(req.caps.iter().cloned().map(AccountChange::SetSpendingCap));
    let calls = slot.chain.session_calls(account, &changes).map_err(ApiError::from_refusal)?;
    let purpose = Purpose::RegisterSession(req.key.clone());
    let prepared =
        slot.relayer.prepare(&wallet_ref(wallet)?, calls, purpose, &Signing::Owner).await?;
    state
        .store
        .upsert_session(&NewSession {
            wallet_id: wallet.id.clone(),
            session_public_key: req.key,
            valid_after: stored_time(req.valid_after),
            valid_until: stored_time(req.valid_until),
            max_calls: i64::from(req.max_calls),
            grant: StoredGrant {
                permissions: req.permissions,
                spending_tokens: req.caps.into_iter().map(|cap| cap.token).collect(),
            },
            allow_all: req.allow_all,
            registration_request_id: Some(prepared.request_id.clone()),
        })
        .await?;
    Ok(prepared)
}

/// Records the public data of a registration an owner signs through calls built by the
/// client (a dialect that takes raw calls), so that every dialect lists it.
pub(crate) async fn mirror_registration(
    state: &AppState,
    wallet: &Wallet,
    grant: &SessionGrant,
) -> ApiResult<()> {
    let rules = &grant.rules;
    state
        .store
        .upsert_session(&NewSession {
            wallet_id: wallet.id.clone(),
            session_public_key: grant.session_key.clone(),
            valid_after: stored_time(rules.valid_after),
            valid_until: stored_time(rules.valid_until),
            max_calls: i64::from(rules.max_calls),
            grant: StoredGrant { permissions: rules.permissions.clone(), spending_tokens: vec![] },
            allow_all: rules.permissions.is_empty(),
            registration_request_id: None,
        })
        .await?;
    Ok(())
}

fn stored_time(unix: u64) -> i64 {
    i64::try_from(unix).unwrap_or(i64::MAX)
}

/// Where a session stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Standing {
    /// Registration not (yet) on chain.
    Pending,
    /// Usable now.
    Active,
    /// Registered, not started.
    Scheduled,
    /// Past its end.
    Expired,
    /// Every call used.
    Exhausted,
    /// Revoked (alone, by a revoke-all or an owner change).
    Revoked,
    /// Its registration failed.
    Failed,
}

impl Standing {
    /// The wire name.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Active => "active",
            Self::Scheduled => "scheduled",
            Self::Expired => "expired",
            Self::Exhausted => "exhausted",
            Self::Revoked => "revoked",
            Self::Failed => "failed",
        }
    }
}

/// A session as the chain sees it (its stored record until its registration lands).
pub(crate) struct SessionStatus {
    pub key: String,
    pub standing: Standing,
    pub rules: SessionRules,
    pub calls_used: u32,
    pub allow_all: bool,
    /// The caps in force, by token.
    pub caps: Vec<(String, SpendingPolicy)>,
}

/// The status of a stored session of `wallet`.
pub(crate) async fn status(
    state: &AppState,
    wallet: &Wallet,
    session: &Session,
) -> ApiResult<SessionStatus> {
    let account = wallet.address.as_str();
    let chain = &state.chain_of(wallet)?.chain;
    let key = &session.session_public_key;
    let view = chain.session(account, key).await?;
    let now = chain.now().await?;
    let registered_here =
        view.registered && u64::try_from(session.valid_until).ok() == Some(view.rules.valid_until);
    let standing = if view.revoked || session.state == SessionState::Revoked {
        Standing::Revoked
    } else if !registered_here {
        match session.state {
            SessionState::Failed => Standing::Failed,
            _ => Standing::Pending,
        }
    } else if now < view.rules.valid_after {
        Standing::Scheduled
    } else if now > view.rules.valid_until {
        Standing::Expired
    } else if view.calls_used >= view.rules.max_calls {
        Standing::Exhausted
    } else {
        Standing::Active
    };
    let mut caps = Vec::new();
    for token in &session.grant.spending_tokens {
        let token = chain.parse_address(token).map_err(ApiError::from_refusal)?;
        let cap = chain.spending_cap(account, key, &token).await?;
        if cap.window_seconds != 0 {
            caps.push((token, cap));
        }
    }
    Ok(if registered_here {
        SessionStatus {
            key: key.clone(),
            standing,
            allow_all: view.rules.permissions.is_empty(),
            rules: view.rules,
            calls_used: view.calls_used,
            caps,
        }
    } else {
        SessionStatus {
            key: key.clone(),
            standing,
            rules: SessionRules {
                valid_after: u64::try_from(session.valid_after).unwrap_or(0),
                valid_until: u64::try_from(session.valid_until).unwrap_or(0),
                max_calls: u32::try_from(session.max_calls).unwrap_or(0),
                permissions: session.grant.permissions.clone(),
            },
            calls_used: 0,
            allow_all: session.allow_all,
            caps,
        }
    })
}

/// Prepares the revocation of one session key, which must be registered and live on chain.
pub(crate) async fn revoke(state: &AppState, wallet: &Wallet, key: &str) -> ApiResult<Prepared> {
    let view = state.chain_of(wallet)?.chain.session(&wallet.address, key).await?;
    if !view.registered || view.revoked {
        return Err(ApiError::not_found(
            codes::SESSION_NOT_FOUND,
            "no active registration of this session key",
        ));
    }
    let change = AccountChange::RevokeSession(key.to_string());
    prepare_change(state, wallet, change, Purpose::RevokeSession(key.to_string())).await
}

/// Prepares the revocation of every session of the wallet.
pub(crate) async fn revoke_all(state: &AppState, wallet: &Wallet) -> ApiResult<Prepared> {
    prepare_change(state, wallet, AccountChange::RevokeAllSessions, Purpose::RevokeAllSessions)
        .await
}

async fn prepare_change(
    state: &AppState,
    wallet: &Wallet,
    change: AccountChange,
    purpose: Purpose,
) -> ApiResult<Prepared> {
    let slot = state.chain_of(wallet)?;
    let calls =
        slot.chain.session_calls(&wallet.address, &[change]).map_err(ApiError::from_refusal)?;
    Ok(slot.relayer.prepare(&wallet_ref(wallet)?, calls, purpose, &Signing::Owner).await?)
}
