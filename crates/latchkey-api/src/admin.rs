//! The operator's API (`/api/admin/…`): organisations (create, list, rename, suspend),
//! their API keys (issued shown once, listed by prefix, rotated with an overlap, revoked),
//! their gas budgets (set, topped up, an alert threshold), their settings (allowed
//! browser origins, end-user token issuer, registered tokens, sponsorship policy and
//! quotas: [`settings`]), the operator token (rotated), and the audit log every change is
//! written to, in the same transaction as the change.
//!
//! Only the operator token opens it (`Authorization: Bearer lkop_…`, made at first start
//! and shown once, stored as its hash): an organisation's keys are refused with
//! `403 OPERATOR_ONLY`, anything else with `401`.

use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use latchkey_auth::{
    display_prefix, generate_api_keys, hash_api_key, is_operator_token, operator_token_prefix,
    KeyEnvironment, OperatorToken,
};
use latchkey_core::codes;
use latchkey_store::{
    ApiKey, ApiKeyKind, AuditEntry, AuditRecord, BudgetKey, GasBudget, NewApiKey, Organization,
    StoreError,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::util::{parse_json, ApiQuery, RawBody};
use crate::{ApiError, ApiResult, AppState};

pub(crate) mod settings;

/// Longest overlap a rotated-out key or token keeps working: 30 days.
pub(crate) const MAX_OVERLAP_SECONDS: u64 = 30 * 86_400;
/// Longest organisation name.
const MAX_NAME_CHARS: usize = 100;
/// Most records one page of a list holds.
const MAX_PAGE: u32 = 200;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/admin/organizations", get(list_organizations).post(create_organization))
        .route("/api/admin/organizations/{id}", get(get_organization).patch(update_organization))
        .route("/api/admin/organizations/{id}/api-keys", get(list_api_keys).post(issue_api_keys))
        .route(
            "/api/admin/organizations/{id}/api-keys/{key_id}",
            axum::routing::delete(revoke_api_key),
        )
        .route("/api/admin/organizations/{id}/api-keys/{key_id}/rotate", post(rotate_api_key))
        .route(
            "/api/admin/organizations/{id}/gas-budgets",
            get(list_gas_budgets).put(set_gas_budget),
        )
        .route("/api/admin/organizations/{id}/gas-budgets/top-up", post(top_up_gas_budget))
        .route(
            "/api/admin/organizations/{id}/gas-budgets/alert-threshold",
            axum::routing::put(set_alert_threshold),
        )
        .route("/api/admin/operator-token/rotate", post(rotate_operator_token))
        .route("/api/admin/audit", get(audit_log))
        .merge(settings::routes())
}

/// The operator, authenticated by a current operator token.
#[derive(Debug, Clone)]
pub(crate) struct Operator {
    /// `operator:<token prefix>`, as audit records name it.
    actor: String,
}

impl Operator {
    fn entry<'a>(&'a self, action: &'a str) -> AuditEntry<'a> {
        AuditEntry { actor: &self.actor, action, target: "", before: None, after: None }
    }
}

impl FromRequestParts<AppState> for Operator {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let bearer = crate::auth::bearer_token(parts).ok_or_else(|| {
            ApiError::unauthorized(
                codes::MISSING_BEARER_TOKEN,
                "Authorization: Bearer <operator token> is required",
            )
        })?;
        if bearer.starts_with("sk_") || bearer.starts_with("pk_") {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                codes::OPERATOR_ONLY,
                "the admin API needs the operator token; an organisation's keys do not open it",
            ));
        }
        let invalid = || {
            ApiError::unauthorized(
                codes::INVALID_OPERATOR_TOKEN,
                "invalid or expired operator token",
            )
        };
        if !is_operator_token(bearer) {
            return Err(invalid());
        }
        let pepper = state.config.api_key_pepper.as_deref();
        state
            .store
            .find_operator_token(&hash_api_key(bearer, pepper))
            .await?
            .ok_or_else(invalid)?;
        Ok(Operator { actor: format!("operator:{}", operator_token_prefix(bearer)) })
    }
}

fn org_not_found(id: &str) -> ApiError {
    ApiError::not_found(codes::ORGANIZATION_NOT_FOUND, format!("no organisation {id}"))
}

/// Maps the store's `NotFound` to `not_found`, other errors as usual.
fn or_not_found(error: StoreError, not_found: impl FnOnce() -> ApiError) -> ApiError {
    match error {
        StoreError::NotFound => not_found(),
        other => other.into(),
    }
}

/// An organisation, as the admin API shows it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct OrganizationView {
    /// Its id (a UUID).
    id: String,
    /// Its display name.
    name: String,
    /// Unix seconds.
    created_at: i64,
    /// Whether its API calls are refused (`ORGANIZATION_SUSPENDED`).
    suspended: bool,
    /// When it was suspended (unix seconds), if it is.
    suspended_at: Option<i64>,
}

impl From<Organization> for OrganizationView {
    fn from(org: Organization) -> Self {
        Self {
            id: org.id,
            name: org.name,
            created_at: org.created_at,
            suspended: org.suspended_at.is_some(),
            suspended_at: org.suspended_at,
        }
    }
}

/// A page of organisations.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub(crate) struct OrganizationList {
    organizations: Vec<OrganizationView>,
}

/// Paging of a list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct Page {
    /// At most this many (1 to 200, default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<u32>,
    /// Skip this many (default 0).
    offset: Option<u32>,
}

fn page_limit(limit: Option<u32>) -> ApiResult<u32> {
    match limit.unwrap_or(50) {
        n @ 1..=MAX_PAGE => Ok(n),
        _ => Err(ApiError::bad_request(codes::INVALID_QUERY, "limit is 1 to 200")),
    }
}

fn check_name(name: &str) -> ApiResult<()> {
    let chars = name.chars().count();
    if name.trim().is_empty() || chars > MAX_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(ApiError::bad_request(
            codes::INVALID_REQUEST,
            "a name is 1 to 100 characters, not blank, with no control characters",
        ));
    }
    Ok(())
}

#[utoipa::path(get, path = "/api/admin/organizations", tag = "admin", params(Page),
    security(("operator" = [])),
    responses((status = 200, body = OrganizationList, description = "Organisations, oldest first."),
        (status = 403, body = crate::error::ErrorBody, description = "An organisation's key was presented (`OPERATOR_ONLY`).")))]
pub(crate) async fn list_organizations(
    State(state): State<AppState>,
    _operator: Operator,
    ApiQuery(page): ApiQuery<Page>,
) -> ApiResult<Json<OrganizationList>> {
    let limit = page_limit(page.limit)?;
    let orgs = state.store.list_organizations(limit, page.offset.unwrap_or(0)).await?;
    Ok(Json(OrganizationList { organizations: orgs.into_iter().map(Into::into).collect() }))
}

/// A new organisation.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateOrganization {
    /// 1 to 100 characters.
    #[schema(min_length = 1, max_length = 100, example = "Acme Games")]
    name: String,
}

#[utoipa::path(post, path = "/api/admin/organizations", tag = "admin",
    security(("operator" = [])),
    request_body(content = CreateOrganization, content_type = "application/json"),
    responses((status = 201, body = OrganizationView, description = "Created, with no keys and no budget (issue them next)."),
        (status = 403, body = crate::error::ErrorBody, description = "An organisation's key was presented (`OPERATOR_ONLY`).")))]
pub(crate) async fn create_organization(
    State(state): State<AppState>,
    operator: Operator,
    RawBody(body): RawBody,
) -> ApiResult<(StatusCode, Json<OrganizationView>)> {
    let CreateOrganization { name } = parse_json(&body)?;
    check_name(&name)?;
    let org = state
        .store
        .create_organization_audited(&name, &operator.entry("organization.create"))
        .await?;
    Ok((StatusCode::CREATED, Json(org.into())))
}

async fn organization(state: &AppState, id: &str) -> ApiResult<Organization> {
    state.store.organization(id).await?.ok_or_else(|| org_not_found(id))
}

#[utoipa::path(get, path = "/api/admin/organizations/{id}", tag = "admin",
    security(("operator" = [])),
    params(("id" = String, Path, description = "The organisation's id.")),
    responses((status = 200, body = OrganizationView, description = "The organisation."),
        (status = 403, body = crate::error::ErrorBody, description = "An organisation's key was presented (`OPERATOR_ONLY`)."),
        (status = 404, body = crate::error::ErrorBody, description = "No such organisation (`ORGANIZATION_NOT_FOUND`).")))]
pub(crate) async fn get_organization(
    State(state): State<AppState>,
    _operator: Operator,
    Path(id): Path<String>,
) -> ApiResult<Json<OrganizationView>> {
    Ok(Json(organization(&state, &id).await?.into()))
}

/// What to change of an organisation: its name, whether it is suspended, or both.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpdateOrganization {
    /// A new name, 1 to 100 characters.
    #[schema(min_length = 1, max_length = 100)]
    name: Option<String>,
    /// `true` refuses its API calls with `403 ORGANIZATION_SUSPENDED` (its transactions in
    /// flight still finish); `false` reinstates it.
    suspended: Option<bool>,
}

#[utoipa::path(patch, path = "/api/admin/organizations/{id}", tag = "admin",
    security(("operator" = [])),
    params(("id" = String, Path, description = "The organisation's id.")),
    request_body(content = UpdateOrganization, content_type = "application/json"),
    responses((status = 200, body = OrganizationView, description = "Changed (and recorded in the audit log)."),
        (status = 403, body = crate::error::ErrorBody, description = "An organisation's key was presented (`OPERATOR_ONLY`)."),
        (status = 404, body = crate::error::ErrorBody, description = "No such organisation (`ORGANIZATION_NOT_FOUND`).")))]
pub(crate) async fn update_organization(
    State(state): State<AppState>,
    operator: Operator,
    Path(id): Path<String>,
    RawBody(body): RawBody,
) -> ApiResult<Json<OrganizationView>> {
    let UpdateOrganization { name, suspended } = parse_json(&body)?;
    if let Some(name) = &name {
        check_name(name)?;
    }
    if name.is_none() && suspended.is_none() {
        return Err(ApiError::bad_request(
            codes::INVALID_REQUEST,
            "nothing to change: give name or suspended",
        ));
    }
    let action = match suspended {
        Some(true) => "organization.suspend",
        Some(false) => "organization.reinstate",
        None => "organization.rename",
    };
    let org = state
        .store
        .update_organization(&id, name.as_deref(), suspended, &operator.entry(action))
        .await
        .map_err(|e| or_not_found(e, || org_not_found(&id)))?;
    Ok(Json(org.into()))
}

/// An API key, as listed: never the key, only its prefix.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ApiKeyView {
    /// Its id.
    id: String,
    /// `public` or `secret`.
    kind: String,
    /// The key's first characters (`sk_dev_Ab3d…`).
    prefix: String,
    /// Unix seconds.
    created_at: i64,
    /// When it was revoked, if it was.
    revoked_at: Option<i64>,
    /// When it stops working (a rotated-out key's overlap), if it does.
    expires_at: Option<i64>,
    /// Whether it works now.
    active: bool,
}

impl From<ApiKey> for ApiKeyView {
    fn from(key: ApiKey) -> Self {
        let active = key.is_active(latchkey_store::now_unix());
        Self {
            id: key.id,
            kind: key.kind.as_str().to_string(),
            prefix: key.prefix,
            created_at: key.created_at,
            revoked_at: key.revoked_at,
            expires_at: key.expires_at,
            active,
        }
    }
}

/// An organisation's API keys.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ApiKeyList {
    api_keys: Vec<ApiKeyView>,
}

#[utoipa::path(get, path = "/api/admin/organizations/{id}/api-keys", tag = "admin",
    security(("operator" = [])),
    params(("id" = String, Path, description = "The organisation's id.")),
    responses((status = 200, body = ApiKeyList, description = "Its keys, revoked and expired ones included, oldest first."),
        (status = 403, body = crate::error::ErrorBody, description = "An organisation's key was presented (`OPERATOR_ONLY`)."),
        (status = 404, body = crate::error::ErrorBody, description = "No such organisation (`ORGANIZATION_NOT_FOUND`).")))]
pub(crate) async fn list_api_keys(
    State(state): State<AppState>,
    _operator: Operator,
    Path(id): Path<String>,
) -> ApiResult<Json<ApiKeyList>> {
    organization(&state, &id).await?;
    let keys = state.store.api_keys(&id).await?;
    Ok(Json(ApiKeyList { api_keys: keys.into_iter().map(Into::into).collect() }))
}

/// Which keys to issue.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct IssueApiKeys {
    /// The keys' format: `dev` (`pk_dev_…`/`sk_dev_…`, default) or `prod`
    /// (`pk_prod_…`/`sk_prod_…`), as the Chipi SDK expects them, or `test`
    /// (`pk_test_…`/`sk_test_…`) or `live` (`pk_live_…`/`sk_live_…`), as the Openfort SDK
    /// expects them. Every format opens every dialect.
    #[schema(example = "live")]
    environment: Option<String>,
}

/// Keys just issued: the secret is shown here once and never again.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct IssuedApiKeys {
    /// The public key (`x-api-key`).
    public_key: String,
    /// The secret key (`Authorization: Bearer`). Shown once.
    secret_key: String,
    /// Both, as listed from now on.
    api_keys: Vec<ApiKeyView>,
}

fn environment(name: Option<&str>) -> ApiResult<KeyEnvironment> {
    KeyEnvironment::parse(name.unwrap_or("dev")).ok_or_else(|| {
        ApiError::bad_request(codes::INVALID_REQUEST, "environment is dev, prod, test or live")
    })
}

#[utoipa::path(post, path = "/api/admin/organizations/{id}/api-keys", tag = "admin",
    security(("operator" = [])),
    params(("id" = String, Path, description = "The organisation's id.")),
    request_body(content = IssueApiKeys, content_type = "application/json"),
    responses((status = 201, body = IssuedApiKeys, description = "A new key pair; the secret key is shown this once."),
        (status = 403, body = crate::error::ErrorBody, description = "An organisation's key was presented (`OPERATOR_ONLY`)."),
        (status = 404, body = crate::error::ErrorBody, description = "No such organisation (`ORGANIZATION_NOT_FOUND`).")))]
pub(crate) async fn issue_api_keys(
    State(state): State<AppState>,
    operator: Operator,
    Path(id): Path<String>,
    RawBody(body): RawBody,
) -> ApiResult<(StatusCode, Json<IssuedApiKeys>)> {
    let IssueApiKeys { environment: env } =
        if body.is_empty() { IssueApiKeys { environment: None } } else { parse_json(&body)? };
    let env = environment(env.as_deref())?;
    let pair = generate_api_keys(env, &mut rand::rngs::OsRng);
    let pepper = state.config.api_key_pepper.as_deref();
    let (public_hash, secret_hash) =
        (hash_api_key(&pair.public_key, pepper), hash_api_key(pair.secret_key.expose(), pepper));
    let (public_prefix, secret_prefix) =
        (display_prefix(&pair.public_key), display_prefix(pair.secret_key.expose()));
    let keys = [
        NewApiKey { kind: ApiKeyKind::Public, key_hash: &public_hash, prefix: &public_prefix },
        NewApiKey { kind: ApiKeyKind::Secret, key_hash: &secret_hash, prefix: &secret_prefix },
    ];
    let issued = state
        .store
        .issue_api_keys(&id, &keys, &operator.entry("api_key.issue"))
        .await
        .map_err(|e| or_not_found(e, || org_not_found(&id)))?;
    Ok((
        StatusCode::CREATED,
        Json(IssuedApiKeys {
            public_key: pair.public_key.clone(),
            secret_key: pair.secret_key.expose().to_string(),
            api_keys: issued.into_iter().map(Into::into).collect(),
        }),
    ))
}

/// How long the rotated-out key keeps working.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct Rotate {
    /// Seconds the old key or token keeps working beside the new one (0: it stops now;
    /// at most 30 days; default 0).
    #[schema(maximum = 2_592_000)]
    overlap_seconds: Option<u64>,
}

fn overlap_until(body: &[u8]) -> ApiResult<i64> {
    let Rotate { overlap_seconds } =
        if body.is_empty() { Rotate { overlap_seconds: None } } else { parse_json(body)? };
    let overlap = overlap_seconds.unwrap_or(0);
    if overlap > MAX_OVERLAP_SECONDS {
        return Err(ApiError::bad_request(
            codes::INVALID_REQUEST,
            "overlapSeconds is at most 2592000 (30 days)",
        ));
    }
    Ok(latchkey_store::now_unix() + overlap as i64)
}

/// A rotated key: the new one, shown once, and the old one with its end.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RotatedApiKey {
    /// The new key (public or secret, as the old one). Shown once.
    key: String,
    /// The new key, as listed.
    api_key: ApiKeyView,
    /// The old key, working until its `expiresAt`.
    replaced: ApiKeyView,
}

fn key_not_found(key_id: &str) -> ApiError {
    ApiError::not_found(
        codes::API_KEY_NOT_FOUND,
        format!("no working API key {key_id} in this organisation"),
    )
}

#[utoipa::path(post, path = "/api/admin/organizations/{id}/api-keys/{key_id}/rotate", tag = "admin",
    security(("operator" = [])),
    params(("id" = String, Path, description = "The organisation's id."),
        ("key_id" = String, Path, description = "The key's id.")),
    request_body(content = Rotate, content_type = "application/json"),
    responses((status = 201, body = RotatedApiKey, description = "A new key of the same kind and environment; the old one works until the overlap ends."),
        (status = 403, body = crate::error::ErrorBody, description = "An organisation's key was presented (`OPERATOR_ONLY`)."),
        (status = 404, body = crate::error::ErrorBody, description = "No such organisation, or no working key of it with this id (`ORGANIZATION_NOT_FOUND`, `API_KEY_NOT_FOUND`).")))]
pub(crate) async fn rotate_api_key(
    State(state): State<AppState>,
    operator: Operator,
    Path((id, key_id)): Path<(String, String)>,
    RawBody(body): RawBody,
) -> ApiResult<(StatusCode, Json<RotatedApiKey>)> {
    let until = overlap_until(&body)?;
    organization(&state, &id).await?;
    let pepper = state.config.api_key_pepper.as_deref();
    // The new key is made from the old one (same kind and environment) inside the store's
    // transaction, which reads the old one once.
    let mut shown = None;
    let replace = |old: &ApiKey| {
        // The prefix (`pk_live_ab…`) names the environment; a stored prefix always has one.
        let env = KeyEnvironment::of_key(&old.prefix).unwrap_or(KeyEnvironment::Dev);
        let pair = generate_api_keys(env, &mut rand::rngs::OsRng);
        let key = match old.kind {
            ApiKeyKind::Public => pair.public_key,
            ApiKeyKind::Secret => pair.secret_key.expose().to_string(),
        };
        let made = (hash_api_key(&key, pepper), display_prefix(&key));
        shown = Some(key);
        made
    };
    let (replaced, fresh) = state
        .store
        .rotate_api_key(&id, &key_id, replace, until, &operator.entry("api_key.rotate"))
        .await
        .map_err(|e| or_not_found(e, || key_not_found(&key_id)))?;
    let key = shown.ok_or_else(|| ApiError::internal("the rotation made no key"))?;
    Ok((
        StatusCode::CREATED,
        Json(RotatedApiKey { key, api_key: fresh.into(), replaced: replaced.into() }),
    ))
}

#[utoipa::path(delete, path = "/api/admin/organizations/{id}/api-keys/{key_id}", tag = "admin",
    security(("operator" = [])),
    params(("id" = String, Path, description = "The organisation's id."),
        ("key_id" = String, Path, description = "The key's id.")),
    responses((status = 200, body = ApiKeyView, description = "Revoked now (a revoked key stays revoked)."),
        (status = 403, body = crate::error::ErrorBody, description = "An organisation's key was presented (`OPERATOR_ONLY`)."),
        (status = 404, body = crate::error::ErrorBody, description = "No such key in this organisation (`API_KEY_NOT_FOUND`).")))]
pub(crate) async fn revoke_api_key(
    State(state): State<AppState>,
    operator: Operator,
    Path((id, key_id)): Path<(String, String)>,
) -> ApiResult<Json<ApiKeyView>> {
    let key = state
        .store
        .revoke_api_key_audited(&id, &key_id, &operator.entry("api_key.revoke"))
        .await
        .map_err(|e| or_not_found(e, || key_not_found(&key_id)))?;
    Ok(Json(key.into()))
}

/// A gas budget on one chain.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GasBudgetView {
    /// The chain (CAIP-2 id).
    chain: String,
    /// Its fee unit (`FRI`, `WEI`).
    unit: String,
    /// The allowance, in the unit (decimal text).
    budget: String,
    /// Paid so far.
    spent: String,
    /// Reserved by transactions in flight.
    reserved: String,
    /// Left to reserve.
    remaining: String,
    /// The budget alerts while `remaining` is below this (decimal text), if it is set.
    alert_threshold: Option<String>,
    /// Whether `remaining` is below `alertThreshold` (never without one).
    alerting: bool,
}

impl From<GasBudget> for GasBudgetView {
    fn from(b: GasBudget) -> Self {
        Self {
            remaining: b.remaining().to_string(),
            alert_threshold: b.alert_threshold.map(|t| t.to_string()),
            alerting: b.alerting(),
            chain: b.chain,
            unit: b.unit,
            budget: b.budget.to_string(),
            spent: b.spent.to_string(),
            reserved: b.reserved.to_string(),
        }
    }
}

/// An organisation's gas budgets.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GasBudgetList {
    gas_budgets: Vec<GasBudgetView>,
}

#[utoipa::path(get, path = "/api/admin/organizations/{id}/gas-budgets", tag = "admin",
    security(("operator" = [])),
    params(("id" = String, Path, description = "The organisation's id.")),
    responses((status = 200, body = GasBudgetList, description = "Its budgets, by chain."),
        (status = 403, body = crate::error::ErrorBody, description = "An organisation's key was presented (`OPERATOR_ONLY`)."),
        (status = 404, body = crate::error::ErrorBody, description = "No such organisation (`ORGANIZATION_NOT_FOUND`).")))]
pub(crate) async fn list_gas_budgets(
    State(state): State<AppState>,
    _operator: Operator,
    Path(id): Path<String>,
) -> ApiResult<Json<GasBudgetList>> {
    organization(&state, &id).await?;
    let budgets = state.store.gas_budgets(&id).await?;
    Ok(Json(GasBudgetList { gas_budgets: budgets.into_iter().map(Into::into).collect() }))
}

/// An amount of a chain's fee unit.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct GasAmount {
    /// A served chain (CAIP-2 id); its fee unit is the budget's.
    #[schema(example = "starknet:SN_SEPOLIA")]
    chain: String,
    /// In the chain's fee unit (FRI, wei), decimal text; kept in whole 10^9.
    #[schema(pattern = "^[0-9]{1,39}$", example = "1000000000000000000")]
    amount: String,
}

/// A whole amount of a fee unit, as decimal text of at most 39 digits; `400
/// INVALID_AMOUNT` naming `field` otherwise.
fn fee_amount(field: &str, text: &str) -> ApiResult<u128> {
    (!text.is_empty() && text.len() <= 39 && text.bytes().all(|b| b.is_ascii_digit()))
        .then(|| text.parse().ok())
        .flatten()
        .ok_or_else(|| {
            ApiError::bad_request(
                codes::INVALID_AMOUNT,
                format!("{field} is a whole number in the fee unit"),
            )
        })
}

async fn change_budget(
    state: &AppState,
    operator: &Operator,
    id: &str,
    body: &[u8],
    top_up: bool,
) -> ApiResult<Json<GasBudgetView>> {
    let GasAmount { chain, amount } = parse_json(body)?;
    let slot = state.requested_chain(Some(&chain))?;
    let amount = fee_amount("amount", &amount)?;
    let key = BudgetKey { org_id: id, chain: &chain, unit: slot.chain.fee_unit() };
    let action = if top_up { "gas_budget.top_up" } else { "gas_budget.set" };
    let budget = state
        .store
        .change_gas_budget(key, amount, top_up, &operator.entry(action))
        .await
        .map_err(|e| or_not_found(e, || org_not_found(id)))?;
    Ok(Json(budget.into()))
}

#[utoipa::path(put, path = "/api/admin/organizations/{id}/gas-budgets", tag = "admin",
    security(("operator" = [])),
    params(("id" = String, Path, description = "The organisation's id.")),
    request_body(content = GasAmount, content_type = "application/json"),
    responses((status = 200, body = GasBudgetView, description = "The budget on that chain is now `amount` (a cap: what was spent stays spent)."),
        (status = 400, body = crate::error::ErrorBody, description = "A chain this server does not serve (`UNKNOWN_CHAIN`), or a malformed amount (`INVALID_AMOUNT`)."),
        (status = 403, body = crate::error::ErrorBody, description = "An organisation's key was presented (`OPERATOR_ONLY`)."),
        (status = 404, body = crate::error::ErrorBody, description = "No such organisation (`ORGANIZATION_NOT_FOUND`).")))]
pub(crate) async fn set_gas_budget(
    State(state): State<AppState>,
    operator: Operator,
    Path(id): Path<String>,
    RawBody(body): RawBody,
) -> ApiResult<Json<GasBudgetView>> {
    change_budget(&state, &operator, &id, &body, false).await
}

#[utoipa::path(post, path = "/api/admin/organizations/{id}/gas-budgets/top-up", tag = "admin",
    security(("operator" = [])),
    params(("id" = String, Path, description = "The organisation's id.")),
    request_body(content = GasAmount, content_type = "application/json"),
    responses((status = 200, body = GasBudgetView, description = "`amount` added to the budget on that chain."),
        (status = 400, body = crate::error::ErrorBody, description = "A chain this server does not serve (`UNKNOWN_CHAIN`), or a malformed amount (`INVALID_AMOUNT`)."),
        (status = 403, body = crate::error::ErrorBody, description = "An organisation's key was presented (`OPERATOR_ONLY`)."),
        (status = 404, body = crate::error::ErrorBody, description = "No such organisation (`ORGANIZATION_NOT_FOUND`).")))]
pub(crate) async fn top_up_gas_budget(
    State(state): State<AppState>,
    operator: Operator,
    Path(id): Path<String>,
    RawBody(body): RawBody,
) -> ApiResult<Json<GasBudgetView>> {
    change_budget(&state, &operator, &id, &body, true).await
}

/// The alert threshold of a budget on one chain.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct AlertThreshold {
    /// A served chain (CAIP-2 id); the threshold is in its fee unit.
    #[schema(example = "starknet:SN_SEPOLIA")]
    chain: String,
    /// The budget alerts while what it has left is below this: in the chain's fee unit
    /// (FRI, wei), decimal text, kept in whole 10^9. `null` (or left out) removes it.
    #[schema(pattern = "^[0-9]{1,39}$", example = "1000000000000000000")]
    alert_threshold: Option<String>,
}

#[utoipa::path(put, path = "/api/admin/organizations/{id}/gas-budgets/alert-threshold", tag = "admin",
    security(("operator" = [])),
    params(("id" = String, Path, description = "The organisation's id.")),
    request_body(content = AlertThreshold, content_type = "application/json"),
    responses((status = 200, body = GasBudgetView, description = "The budget on that chain, with its new threshold (`alerting` while `remaining` is below it; exported on `/metrics` as `latchkey_gas_alert_threshold` and `latchkey_gas_alerting`)."),
        (status = 400, body = crate::error::ErrorBody, description = "A chain this server does not serve (`UNKNOWN_CHAIN`), or a malformed threshold (`INVALID_AMOUNT`)."),
        (status = 403, body = crate::error::ErrorBody, description = "An organisation's key was presented (`OPERATOR_ONLY`)."),
        (status = 404, body = crate::error::ErrorBody, description = "No such organisation (`ORGANIZATION_NOT_FOUND`).")))]
pub(crate) async fn set_alert_threshold(
    State(state): State<AppState>,
    operator: Operator,
    Path(id): Path<String>,
    RawBody(body): RawBody,
) -> ApiResult<Json<GasBudgetView>> {
    let AlertThreshold { chain, alert_threshold } = parse_json(&body)?;
    let slot = state.requested_chain(Some(&chain))?;
    let threshold =
        alert_threshold.as_deref().map(|t| fee_amount("alertThreshold", t)).transpose()?;
    let key = BudgetKey { org_id: &id, chain: &chain, unit: slot.chain.fee_unit() };
    let budget = state
        .store
        .set_gas_alert_threshold(key, threshold, &operator.entry("gas_budget.alert_threshold"))
        .await
        .map_err(|e| or_not_found(e, || org_not_found(&id)))?;
    Ok(Json(budget.into()))
}

/// A new operator token: shown once.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RotatedOperatorToken {
    /// The new token (`lkop_…`). Shown once.
    token: String,
    /// Until when the other tokens keep working (unix seconds).
    others_expire_at: i64,
}

#[utoipa::path(post, path = "/api/admin/operator-token/rotate", tag = "admin",
    security(("operator" = [])),
    request_body(content = Rotate, content_type = "application/json"),
    responses((status = 201, body = RotatedOperatorToken, description = "A new operator token; every other one works until the overlap ends."),
        (status = 403, body = crate::error::ErrorBody, description = "An organisation's key was presented (`OPERATOR_ONLY`).")))]
pub(crate) async fn rotate_operator_token(
    State(state): State<AppState>,
    operator: Operator,
    RawBody(body): RawBody,
) -> ApiResult<(StatusCode, Json<RotatedOperatorToken>)> {
    let until = overlap_until(&body)?;
    let token = OperatorToken::generate(&mut rand::rngs::OsRng);
    let hash = hash_api_key(token.expose(), state.config.api_key_pepper.as_deref());
    state
        .store
        .add_operator_token(
            &hash,
            &token.display_prefix(),
            Some(until),
            &operator.entry("operator_token.rotate"),
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(RotatedOperatorToken { token: token.expose().to_string(), others_expire_at: until }),
    ))
}

/// Which audit records.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct AuditQuery {
    /// Records after this position (`seq`; default 0, the start).
    #[param(minimum = 0)]
    after: Option<i64>,
    /// Only those about this target (`organization:<id>`, `api_key:<id>`, …).
    target: Option<String>,
    /// At most this many (1 to 200, default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<u32>,
}

/// One audit record.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AuditRecordView {
    /// Its position in the log.
    seq: i64,
    /// Unix seconds.
    at: i64,
    /// Who (`operator:lkop_Ab3d…`, or `system`).
    actor: String,
    /// What (`organization.create`, `api_key.rotate`, …).
    action: String,
    /// To what.
    target: String,
    /// The state before, if any.
    #[schema(value_type = Option<Object>)]
    before: Option<serde_json::Value>,
    /// The state after, if any.
    #[schema(value_type = Option<Object>)]
    after: Option<serde_json::Value>,
}

impl From<AuditRecord> for AuditRecordView {
    fn from(r: AuditRecord) -> Self {
        let json = |text: Option<String>| text.and_then(|t| serde_json::from_str(&t).ok());
        Self {
            seq: r.seq,
            at: r.at,
            actor: r.actor,
            action: r.action,
            target: r.target,
            before: json(r.before_json),
            after: json(r.after_json),
        }
    }
}

/// A page of the audit log, oldest first.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub(crate) struct AuditPage {
    records: Vec<AuditRecordView>,
}

#[utoipa::path(get, path = "/api/admin/audit", tag = "admin", params(AuditQuery),
    security(("operator" = [])),
    responses((status = 200, body = AuditPage, description = "Audit records, oldest first; page on with `after` = the last `seq`."),
        (status = 403, body = crate::error::ErrorBody, description = "An organisation's key was presented (`OPERATOR_ONLY`).")))]
pub(crate) async fn audit_log(
    State(state): State<AppState>,
    _operator: Operator,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> ApiResult<Json<AuditPage>> {
    let limit = page_limit(query.limit)?;
    let after = query.after.unwrap_or(0);
    if after < 0 {
        return Err(ApiError::bad_request(codes::INVALID_QUERY, "after is 0 or more"));
    }
    let records = state.store.audit_records(after, query.target.as_deref(), limit).await?;
    Ok(Json(AuditPage { records: records.into_iter().map(Into::into).collect() }))
}

/// Makes the first operator token, if there is none yet: the first start shows it once.
pub async fn ensure_operator_token(
    store: &latchkey_store::Store,
    pepper: Option<&[u8]>,
) -> Result<Option<OperatorToken>, StoreError> {
    if store.has_operator_token().await? {
        return Ok(None);
    }
    let token = OperatorToken::generate(&mut rand::rngs::OsRng);
    let entry = AuditEntry {
        actor: "system",
        action: "operator_token.create",
        target: "",
        before: None,
        after: None,
    };
    store
        .add_operator_token(
            &hash_api_key(token.expose(), pepper),
            &token.display_prefix(),
            None,
            &entry,
        )
        .await?;
    Ok(Some(token))
}
