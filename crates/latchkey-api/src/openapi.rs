//! The OpenAPI document of every dialect, served at `/api/openapi.json`: the native
//! routes under `/api` (wallets, sessions, executions, transactions, sponsorship, end
//! users, custody, settings), the Chipi v1 routes under `/v1`, and `/health`, `/metrics`,
//! `/api/openapi.json` and `/api/config`.
//!
//! Each route's `#[utoipa::path]` names what is particular to it (its success, and the
//! 402/403/404/409/422 its handler can answer); [`StandardResponses`] adds what follows from
//! the route's shape, the same way the server behaves for every route: `400` for a route
//! with parameters or a body, `413` for a body, `401`/`429`/`503` for an authenticated route
//! (the keys are looked up in the database and counted against the rate limits), `409` and
//! `422` for a route taking an `Idempotency-Key`, and `500` everywhere (the panic-catching
//! layer's answer).

use std::borrow::Cow;

use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::Operation;
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::{ContentBuilder, Ref, RefOr};
use utoipa::{OpenApi, PartialSchema, ToSchema};

use crate::error::ErrorBody;
use crate::util::KeyFormats;

/// A field element as every route takes it: `0x` and 1 to 64 hex digits (either case), or
/// 1 to 78 decimal digits; its value below the field prime `P = 2^251 + 17·2^192 + 1`.
/// The pattern is exact for hex; for decimal it admits the values of at most 75
/// significant digits (all below `P`). The server refuses anything else with
/// `400 INVALID_FELT`.
pub(crate) const FELT_PATTERN: &str = concat!(
    "^(0x(0{0,2}[0-9a-fA-F]{1,62}|0?[1-7][0-9a-fA-F]{62}",
    "|0?80{12}(0[0-9a-fA-F]{49}|10[0-9a-fA-F]{48}|110{48}))",
    "|0{0,3}[0-9]{1,75})$"
);

/// The schema of a felt (see [`FELT_PATTERN`]).
pub(crate) struct FeltText;

impl PartialSchema for FeltText {
    fn schema() -> RefOr<Schema> {
        felt_schema(
            "A field element: `0x` and 1 to 64 hex digits, or decimal digits; below the field \
             prime 2^251 + 17·2^192 + 1.",
        )
    }
}

impl ToSchema for FeltText {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Felt")
    }
}

/// One word of a custody proof's signature: `0x` and 1 to 130 hex digits (a felt of a
/// Stark signature, or the 65 bytes of an EVM one).
pub(crate) struct ProofWordText;

impl PartialSchema for ProofWordText {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some("^0x[0-9a-fA-F]{1,130}$"))
            .description(Some(
                "A proof signature word: a felt of `[r, s]` (Starknet), or the 65 bytes \
                 `r ‖ s ‖ v` (EVM), in hex.",
            ))
            .into()
    }
}

impl ToSchema for ProofWordText {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("ProofWord")
    }
}

/// The schema of a contract address (a felt, see [`FELT_PATTERN`]).
pub(crate) struct AddressText;

impl PartialSchema for AddressText {
    fn schema() -> RefOr<Schema> {
        felt_schema(
            "A Starknet contract address (a felt: `0x` and 1 to 64 hex digits, or decimal).",
        )
    }
}

impl ToSchema for AddressText {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Address")
    }
}

/// A non-zero felt (a public key): [`FeltText`] and not zero.
pub(crate) struct NonZeroFeltText;

impl PartialSchema for NonZeroFeltText {
    fn schema() -> RefOr<Schema> {
        // utoipa has no builder for `not`: it goes in as a raw keyword.
        let mut not_zero =
            ObjectBuilder::new().schema_type(utoipa::openapi::schema::SchemaType::AnyValue).build();
        let mut keywords = utoipa::openapi::extensions::Extensions::default();
        keywords.insert("not".into(), serde_json::json!({ "pattern": "^(0x0+|0+)$" }));
        not_zero.extensions = Some(keywords);
        utoipa::openapi::schema::AllOfBuilder::new()
            .item(Ref::from_schema_name("Felt"))
            .item(not_zero)
            .description(Some("A public key: a felt other than zero."))
            .into()
    }
}

impl ToSchema for NonZeroFeltText {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("PublicKey")
    }
}

/// A latchkey envelope in its canonical form (`latchkey_core::keystore::hardened`): `lk1`
/// (Argon2id or a passkey PRF, optionally a server share) or `lk2` (Argon2id with the
/// wallet's OPRF key id). `U32` stands for a canonical decimal `u32`, `KIND` for the key
/// kinds a field takes ([`Kinds`]).
pub(crate) const HARDENED_KEY_PATTERN: &str = concat!(
    "(lk1\\$KIND\\$(argon2id\\$m=U32,t=U32,p=U32|hkdf-prf\\$-)",
    "\\$(-|[A-Za-z0-9][A-Za-z0-9._-]{0,63})",
    "|lk2\\$KIND\\$argon2id\\$m=U32,t=U32,p=U32",
    "\\$[A-Za-z0-9][A-Za-z0-9._-]{0,63})",
    "\\$[A-Za-z0-9_-]{21}[AQgw]\\$[A-Za-z0-9_-]{32}\\$[A-Za-z0-9_-]{64}"
);

/// A Chipi ciphertext exactly as the server accepts one: CryptoJS AES, standard base64
/// with canonical padding, of `Salted__`, an 8-byte salt and whole 16-byte blocks, at most
/// 4096 characters.
pub(crate) const CHIPI_KEY_PATTERN: &str = concat!(
    "U2FsdGVkX1[89+/]([A-Za-z0-9+/]{53}([A-Za-z0-9+/]{64}){0,63}",
    "|[A-Za-z0-9+/]{73}([A-Za-z0-9+/]{64}){0,62}[A-Za-z0-9+/][AQgw]==",
    "|[A-Za-z0-9+/]{29}([A-Za-z0-9+/]{64}){0,63}[A-Za-z0-9+/]{2}[AEIMQUYcgkosw048]=)"
);

/// A `u32` in canonical decimal (the Argon2id parameters of an envelope).
const U32_DECIMAL: &str = "(0|[1-9][0-9]{0,8}|[1-3][0-9]{9}|4[01][0-9]{8}|42[0-8][0-9]{7}\
    |429[0-3][0-9]{6}|4294[0-8][0-9]{5}|42949[0-5][0-9]{4}|429496[0-6][0-9]{3}\
    |4294967[01][0-9]{2}|42949672[0-8][0-9]|429496729[0-5])";

/// Which keys an encrypted-key field holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kinds {
    /// Owner or session keys, on either curve (a stored session key).
    Any,
    /// A wallet's owner key, on either curve (the native routes).
    Owner,
    /// A Stark owner key (the Chipi dialect, whose wallets are on Starknet).
    StarkOwner,
}

impl Kinds {
    fn pattern(self) -> &'static str {
        match self {
            Self::Any => "(session|owner)(-secp256k1)?",
            Self::Owner => "owner(-secp256k1)?",
            Self::StarkOwner => "owner",
        }
    }
}

/// The anchored pattern of an encrypted key in `formats` holding `kinds` (what
/// `util::ensure_encrypted_keys` accepts).
pub(crate) fn encrypted_key_pattern(formats: KeyFormats, kinds: Kinds) -> String {
    let hardened =
        HARDENED_KEY_PATTERN.replace("U32", U32_DECIMAL).replace("KIND", kinds.pattern());
    match formats {
        KeyFormats::Hardened => format!("^({hardened})$"),
        KeyFormats::WithChipi => format!("^({CHIPI_KEY_PATTERN}|{hardened})$"),
    }
}

fn encrypted_key_schema(formats: KeyFormats, kinds: Kinds, description: &str) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(encrypted_key_pattern(formats, kinds)))
        .max_length(Some(4096))
        .description(Some(description))
        .into()
}

/// The schema of an encrypted owner key on the Chipi dialect's routes.
pub(crate) struct EncryptedKeyText;

impl PartialSchema for EncryptedKeyText {
    fn schema() -> RefOr<Schema> {
        encrypted_key_schema(
            KeyFormats::WithChipi,
            Kinds::StarkOwner,
            "A wallet's owner key encrypted on the client: a Chipi ciphertext (`U2FsdGVkX1…`, \
             CryptoJS AES) or a latchkey envelope (`lk2$owner$…`, `lk1$owner$…`). Plaintext \
             keys are refused.",
        )
    }
}

impl ToSchema for EncryptedKeyText {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("EncryptedKey")
    }
}

/// The schema of an encrypted owner key on the native routes: latchkey's envelopes only,
/// on the curve of the wallet's chain.
pub(crate) struct OwnerKeyText;

impl PartialSchema for OwnerKeyText {
    fn schema() -> RefOr<Schema> {
        encrypted_key_schema(
            KeyFormats::Hardened,
            Kinds::Owner,
            "A wallet's owner key encrypted on the client in a latchkey envelope: `lk2$owner$…` \
             (a PIN with the server's OPRF evaluation) or `lk1$owner$…` (a passkey PRF output, \
             or a PIN alone); on EVM chains `owner-secp256k1`. Plaintext keys and Chipi \
             ciphertexts (accepted on the Chipi dialect only) are refused.",
        )
    }
}

impl ToSchema for OwnerKeyText {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("OwnerKey")
    }
}

/// The schema of an encrypted session key on the native routes: latchkey's envelopes only.
pub(crate) struct HardenedKeyText;

impl PartialSchema for HardenedKeyText {
    fn schema() -> RefOr<Schema> {
        encrypted_key_schema(
            KeyFormats::Hardened,
            Kinds::Any,
            "A private key encrypted on the client in a latchkey envelope: `lk2$…` (a PIN with \
             the server's OPRF evaluation) or `lk1$…` (a passkey PRF output, or a PIN alone). \
             Plaintext keys and Chipi ciphertexts (accepted on the Chipi dialect only) are refused.",
        )
    }
}

impl ToSchema for HardenedKeyText {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("HardenedKey")
    }
}

/// The schema of SNIP-12 typed data (`latchkey_core::TypedData`).
#[derive(serde::Deserialize, ToSchema)]
#[schema(as = TypedData)]
#[allow(dead_code)] // the schema of `latchkey_core::TypedData`
pub(crate) struct TypedDataSchema {
    /// Type definitions, including `StarknetDomain`.
    types: std::collections::BTreeMap<String, Vec<TypeMemberSchema>>,
    /// The type of `message`.
    #[serde(rename = "primaryType")]
    primary_type: String,
    /// The domain separator object.
    #[schema(value_type = Object)]
    domain: serde_json::Value,
    /// The message object.
    #[schema(value_type = Object)]
    message: serde_json::Value,
}

/// One member of a typed-data type.
#[derive(serde::Deserialize, ToSchema)]
#[schema(as = TypeMember)]
#[allow(dead_code)] // the schema of `latchkey_core::TypeMember`
pub(crate) struct TypeMemberSchema {
    name: String,
    #[serde(rename = "type")]
    r#type: String,
    #[serde(default)]
    contains: Option<String>,
}

/// A felt in a JSON value that also takes integers: a [`FeltText`] string, or a JSON
/// integer from 0 to 2^64 - 1.
pub(crate) struct FeltJson;

impl PartialSchema for FeltJson {
    fn schema() -> RefOr<Schema> {
        utoipa::openapi::schema::OneOfBuilder::new()
            .item(Ref::from_schema_name("Felt"))
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .minimum(Some(0))
                    .maximum(Some(u64::MAX)),
            )
            .description(Some("A felt: a string (hex or decimal), or a JSON integer."))
            .into()
    }
}

impl ToSchema for FeltJson {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("FeltJson")
    }
}

fn felt_schema(description: &str) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(FELT_PATTERN))
        .description(Some(description))
        .examples(["0x49d36570d4e46f48e99674bd3fcc84644ddd6b96f7c741b1562b82f9e004dc7"])
        .into()
}

/// The whole document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "latchkey",
        description = "Scoped, expiring session keys for smart-account wallets. Two dialects over one \
            relayer and one store: the native API under `/api`, and the Chipi REST API v1 under `/v1` \
            (the endpoints and JSON `@chipi-stack/backend` uses). Every authenticated route takes the \
            organisation's public key in `x-api-key` and, in `Authorization: Bearer`, its secret key \
            or an end user's JWT. Errors are always `{ message, code, status }` with a stable `code`."
    ),
    paths(
        crate::dialect::native::create_wallet, crate::dialect::native::list_wallets, crate::dialect::native::get_wallet,
        crate::dialect::native::prepare, crate::dialect::native::execute, crate::dialect::native::register_session,
        crate::dialect::native::list_sessions, crate::dialect::native::get_session, crate::dialect::native::revoke_session,
        crate::dialect::native::revoke_all, crate::dialect::native::list_transactions, crate::dialect::native::get_transaction,
        crate::dialect::native::sponsorship,
        crate::dialect::native::get_me_session, crate::dialect::native::put_me_session, crate::dialect::native::delete_me_session,
        crate::custody::issue_challenge, crate::custody::get_encrypted_key,
        crate::custody::put_encrypted_key, crate::custody::key_history, crate::custody::restore_key,
        crate::pin::evaluate, crate::pin::confirm, crate::pin::pin_status, crate::pin::reset,
        crate::dialect::native::settings::get_token_issuer, crate::dialect::native::settings::put_token_issuer,
        crate::dialect::native::settings::delete_token_issuer, crate::dialect::native::settings::get_policy, crate::dialect::native::settings::put_policy,
        crate::dialect::native::settings::get_origins, crate::dialect::native::settings::put_origins,
        crate::dialect::native::settings::get_tokens, crate::dialect::native::settings::put_tokens,
        crate::dialect::chipi::prepare_creation, crate::dialect::chipi::create_wallet, crate::dialect::chipi::wallet_by_user,
        crate::dialect::chipi::token_balance,
        crate::dialect::chipi::update_encryption, crate::dialect::chipi::prepare_typed_data,
        crate::dialect::chipi::execute_sponsored, crate::dialect::chipi::transaction_list,
        crate::dialect::chipi::transaction_status,
        crate::health, crate::metrics::render, crate::openapi_json, crate::public_config,
        crate::rpc_proxy::forward,
        crate::admin::list_organizations, crate::admin::create_organization, crate::admin::get_organization,
        crate::admin::update_organization, crate::admin::list_api_keys, crate::admin::issue_api_keys,
        crate::admin::rotate_api_key, crate::admin::revoke_api_key, crate::admin::list_gas_budgets,
        crate::admin::set_gas_budget, crate::admin::top_up_gas_budget, crate::admin::rotate_operator_token,
        crate::admin::audit_log,
        crate::admin::set_alert_threshold,
        crate::admin::settings::get_allowed_origins, crate::admin::settings::put_allowed_origins,
        crate::admin::settings::get_token_issuer, crate::admin::settings::put_token_issuer,
        crate::admin::settings::delete_token_issuer, crate::admin::settings::get_tokens,
        crate::admin::settings::put_tokens, crate::admin::settings::get_sponsorship_policy,
        crate::admin::settings::put_sponsorship_policy,
        crate::stats::organization_stats, crate::stats::admin_organization_stats,
        crate::stats::admin_transactions, crate::stats::relayer_accounts
    ),
    components(schemas(
        ErrorBody, FeltText, AddressText, FeltJson, ProofWordText, NonZeroFeltText, EncryptedKeyText, HardenedKeyText, OwnerKeyText,
        TypedDataSchema, TypeMemberSchema,
        crate::dialect::native::CreateWalletRequest, crate::dialect::native::WalletResponse, crate::dialect::native::CallInput,
        crate::dialect::native::PrepareRequest, crate::dialect::native::PreparedResponse, crate::dialect::native::ExecuteRequest,
        crate::dialect::native::ExecuteResponse, crate::dialect::native::MethodInput, crate::dialect::native::SpendingCapInput,
        crate::dialect::native::RegisterSessionRequest, crate::dialect::native::SessionResponse,
        crate::dialect::native::MethodOutput, crate::dialect::native::SpendingCapOutput,
        crate::views::TransactionResponse, crate::dialect::native::SponsorshipResponse, crate::dialect::native::BudgetView,
        crate::dialect::native::MeSessionRequest, crate::dialect::native::MeSessionResponse, crate::dialect::native::SessionKeyDataDto,
        crate::custody::ChallengeRequest, crate::custody::ChallengeResponse, crate::custody::ProofInput,
        crate::custody::EncryptedKeyResponse, crate::custody::ReplaceKeyRequest,
        crate::custody::KeyEventResponse, crate::custody::RestoreKeyRequest,
        crate::pin::EvaluateRequest, crate::pin::EvaluateResponse, crate::pin::ConfirmRequest,
        crate::pin::PinStatus,
        crate::service::organizations::TokenIssuer, crate::dialect::native::settings::PolicyDocument, crate::dialect::native::settings::PolicyMethod,
        crate::dialect::native::settings::AllowedOrigins, crate::dialect::native::settings::Tokens,
        crate::service::tokens::TokenDocument,
        crate::dialect::chipi::PrepareCreation, crate::dialect::chipi::PrepareCreationResponse,
        crate::dialect::chipi::OwnerSignatureDto, crate::dialect::chipi::DeploymentData, crate::dialect::chipi::CreateWallet,
        crate::dialect::chipi::ChipiWallet, crate::dialect::chipi::TokenBalance, crate::dialect::chipi::UpdateEncryption, crate::dialect::chipi::SdkCall,
        crate::dialect::chipi::PrepareTypedData, crate::dialect::chipi::PrepareTypedDataResponse,
        crate::dialect::chipi::ExecuteSponsored, crate::dialect::chipi::TransactionHashResponse,
        crate::dialect::chipi::TransactionListResponse, crate::dialect::chipi::TransactionStatusResponse,
        crate::HealthResponse, crate::ChainHealth, crate::PublicConfig, crate::ChainConfig,
        crate::admin::OrganizationView, crate::admin::OrganizationList, crate::admin::CreateOrganization,
        crate::admin::UpdateOrganization, crate::admin::ApiKeyView, crate::admin::ApiKeyList,
        crate::admin::IssueApiKeys, crate::admin::IssuedApiKeys, crate::admin::Rotate, crate::admin::RotatedApiKey,
        crate::admin::GasBudgetView, crate::admin::GasBudgetList, crate::admin::GasAmount,
        crate::admin::RotatedOperatorToken, crate::admin::AuditRecordView, crate::admin::AuditPage,
        crate::admin::AlertThreshold,
        crate::stats::StatsResponse, crate::stats::HourOutcomes, crate::stats::DayGas,
        crate::stats::SessionStats, crate::stats::SessionDay, crate::stats::BudgetBurn, crate::stats::BurnPoint,
        crate::stats::RelayerList, crate::stats::ChainRelayers, crate::stats::RelayerAccount
    )),
    tags(
        (name = "wallets", description = "Native: wallets, deployed gaslessly."),
        (name = "executions", description = "Native: typed data to sign, and signed executions."),
        (name = "sessions", description = "Native: session keys with allowlists, windows and caps."),
        (name = "transactions", description = "Native: gasless executions and their state."),
        (name = "sponsorship", description = "Native: the organisation's gas budget and policy."),
        (name = "end users", description = "Native: an end user's stored session (JWT callers only)."),
        (name = "custody", description = "Native: stored encrypted keys, proofs of possession."),
        (name = "pin", description = "Native: PIN unlock through the OPRF, its attempt counter and lock."),
        (name = "organization", description = "Native: the organisation's settings."),
        (name = "chipi", description = "The Chipi REST API v1 dialect, as `@chipi-stack/backend` calls it."),
        (name = "service", description = "Health, metrics, this document, public configuration."),
        (name = "admin", description = "The operator's API: organisations, their keys, budgets and settings, the audit log. Needs the operator token.")
    ),
    modifiers(&SecurityAddon, &StandardResponses),
    security(("apiKey" = [], "bearer" = []))
)]
#[derive(Debug)]
pub struct ApiDoc;

/// The document as this server serves it: [`ApiDoc`] with the values of this deployment
/// where a field must equal one (the account class hash the Chipi creation routes check).
pub(crate) fn served_document(account_class_hash: &str) -> utoipa::openapi::OpenApi {
    use utoipa::openapi::schema::SchemaType;
    let mut doc = ApiDoc::openapi();
    let hash = account_class_hash;
    let pinned = |nullable: bool| {
        let (types, values) = if nullable {
            (
                SchemaType::Array(vec![Type::String, Type::Null]),
                vec![serde_json::json!(hash), serde_json::Value::Null],
            )
        } else {
            (SchemaType::Type(Type::String), vec![serde_json::json!(hash)])
        };
        ObjectBuilder::new()
            .schema_type(types)
            .enum_values(Some(values))
            .description(Some("This server's account class hash."))
            .build()
    };
    if let Some(components) = doc.components.as_mut() {
        for (schema, property, nullable) in
            [("PrepareCreation", "classHash", true), ("DeploymentData", "class_hash", false)]
        {
            if let Some(RefOr::T(Schema::Object(object))) = components.schemas.get_mut(schema) {
                if let Some(slot) = object.properties.get_mut(property) {
                    *slot = RefOr::T(Schema::Object(pinned(nullable)));
                }
            }
        }
    }
    doc
}

/// The routes anyone may call, without credentials.
pub(crate) const PUBLIC_PATHS: [&str; 4] =
    ["/health", "/metrics", "/api/openapi.json", "/api/config"];

struct SecurityAddon;

impl utoipa::Modify for SecurityAddon {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{
            ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme,
        };
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "apiKey",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "x-api-key",
                "The organisation's public key (`pk_…`).",
            ))),
        );
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "The organisation's secret key (`sk_…`), or an end user's JWT from the \
                         issuer the organisation configured.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "operator",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "The operator token (`lkop_…`), shown once at first start; the admin API's only credential.",
                    ))
                    .build(),
            ),
        );
        // The public routes override the document's security with none at all.
        for path in PUBLIC_PATHS {
            if let Some(item) = openapi.paths.paths.get_mut(path) {
                for operation in operations(item) {
                    operation.security = Some(Vec::new());
                }
            }
        }
    }
}

/// Every operation of a path.
pub(crate) fn operations(
    item: &mut utoipa::openapi::path::PathItem,
) -> impl Iterator<Item = &mut Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.patch,
        &mut item.head,
        &mut item.options,
        &mut item.trace,
    ]
    .into_iter()
    .filter_map(Option::as_mut)
}

/// The answers every route gives by its shape (see the module documentation).
struct StandardResponses;

fn error(description: &str) -> utoipa::openapi::response::Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build(),
        )
        .build()
}

impl utoipa::Modify for StandardResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            for operation in operations(item) {
                add_standard_responses(operation);
            }
        }
    }
}

fn add_standard_responses(operation: &mut Operation) {
    let public = operation.security.as_ref().is_some_and(Vec::is_empty);
    let parameters = operation.parameters.as_deref().unwrap_or_default();
    let has_input = !parameters.is_empty() || operation.request_body.is_some();
    let idempotent = parameters.iter().any(|p| match p {
        RefOr::T(p) => p.name.eq_ignore_ascii_case("idempotency-key"),
        RefOr::Ref(_) => false,
    });
    let has_body = operation.request_body.is_some();
    let responses = &mut operation.responses.responses;
    let mut add = |status: &str, response: utoipa::openapi::response::Response| {
        responses.entry(status.to_string()).or_insert(RefOr::T(response));
    };
    if has_input {
        add(
            "400",
            error(
                "Invalid input: a malformed parameter (`INVALID_FELT`, `INVALID_QUERY`), body \
                 (`INVALID_REQUEST`, `INVALID_BODY`) or a value the route refuses (its own code).",
            ),
        );
    }
    if !public {
        add(
            "401",
            error(
                "Missing or invalid credentials (`MISSING_API_KEY`, `INVALID_API_KEY`, \
                 `MISSING_BEARER_TOKEN`, `INVALID_TOKEN`, …).",
            ),
        );
        let retry_after = HeaderBuilder::new()
            .schema(Some(u64::schema()))
            .description(Some("Seconds after which the same request may succeed."))
            .build();
        let mut limited = error(
            "Over a rate limit of the API key, end user or wallet (`RATE_LIMITED`), or a \
             sponsorship quota or cool-down.",
        );
        limited.headers.insert("Retry-After".into(), RefOr::T(retry_after));
        add("429", limited);
        add(
            "503",
            error(
                "The chain or the database is unavailable (`UPSTREAM_UNAVAILABLE`); retry later.",
            ),
        );
    }
    if has_body {
        add("413", error("The body is larger than the server's limit (`BODY_TOO_LARGE`)."));
    }
    if idempotent {
        add(
            "409",
            error(
                "A request with this `Idempotency-Key` is still running (`IDEMPOTENCY_IN_FLIGHT`).",
            ),
        );
        add(
            "422",
            error(
                "This `Idempotency-Key` was used with a different request (`IDEMPOTENCY_KEY_REUSED`).",
            ),
        );
    }
    add("500", error("An internal error (`INTERNAL_ERROR`); details are logged, never sent."));
}

#[cfg(test)]
mod tests {
    use latchkey_core::keystore::{hardened, Curve};
    use latchkey_core::KeyKind;
    use serde_json::json;

    use super::*;

    #[test]
    fn every_operation_documents_its_errors() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap_or_default();
        let paths = doc["paths"].as_object().cloned().unwrap_or_default();
        assert!(paths.len() >= 30, "{}", paths.len());
        for (path, item) in paths {
            for (method, operation) in item.as_object().cloned().unwrap_or_default() {
                let responses = &operation["responses"];
                assert!(responses["500"].is_object(), "{method} {path}: no 500");
                let public = PUBLIC_PATHS.contains(&path.as_str());
                assert_eq!(
                    operation["security"].as_array().is_some_and(Vec::is_empty),
                    public,
                    "{method} {path}: security"
                );
                if !public {
                    for status in ["401", "429", "503"] {
                        assert!(responses[status].is_object(), "{method} {path}: no {status}");
                    }
                }
                if operation.get("requestBody").is_some() {
                    assert!(responses["413"].is_object(), "{method} {path}: no 413");
                }
                // Path parameters are exactly the path's `{name}`s; options are queries.
                let parameters = operation["parameters"].as_array().cloned().unwrap_or_default();
                let in_path: Vec<&str> = parameters
                    .iter()
                    .filter(|p| p["in"] == "path")
                    .filter_map(|p| p["name"].as_str())
                    .collect();
                let templated: Vec<&str> = path
                    .split('/')
                    .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
                    .collect();
                assert_eq!(in_path, templated, "{method} {path}: path parameters");
            }
        }
    }

    /// One envelope of every kind the core makes, and Chipi ciphertexts.
    /// A stand-in for a secp256k1 key (the API crate names no chain family).
    struct SecpKey([u8; 32]);

    impl latchkey_core::keystore::Sealable for SecpKey {
        const CURVE: latchkey_core::keystore::Curve = latchkey_core::keystore::Curve::Secp256k1;
        fn to_scalar(&self) -> zeroize::Zeroizing<[u8; 32]> {
            zeroize::Zeroizing::new(self.0)
        }
        fn from_scalar(scalar: &[u8; 32]) -> Result<Self, latchkey_core::KeystoreError> {
            Ok(Self(*scalar))
        }
        fn public_id(&self) -> latchkey_core::Felt {
            latchkey_core::Felt::TWO
        }
    }

    fn sample_keys() -> Vec<String> {
        use latchkey_core::keystore::hardened::{seal_with_params, FLOOR_PARAMS};
        use latchkey_core::keystore::oprf::WalletOprfKey;
        use latchkey_core::keystore::{chipi, passkey, KeyBinding};
        use latchkey_core::KeyKind;
        use latchkey_core::{EncryptKey, Felt, SigningKey};
        let mut rng = rand::rngs::OsRng;
        let key = SigningKey::from_felt(Felt::from(0x5eed_u64)).unwrap();
        let mut keys = Vec::new();
        for kind in [KeyKind::Owner, KeyKind::Session] {
            // A key on the other curve, as an EVM wallet seals it.
            let k1 = SecpKey([7; 32]);
            let binding = KeyBinding { kind, account: Felt::ONE, public_key: Felt::TWO };
            let pin = EncryptKey::passphrase("482913");
            keys.push(seal_with_params(&k1, &pin, &binding, FLOOR_PARAMS, &mut rng).unwrap());
            let binding = KeyBinding { kind, account: Felt::ONE, public_key: key.public_key() };
            let prf = EncryptKey::prf(&[3; 32]).unwrap();
            keys.push(passkey::seal(&key, &prf, &binding, &mut rng).unwrap());
            let pin = EncryptKey::passphrase("482913");
            keys.push(seal_with_params(&key, &pin, &binding, FLOOR_PARAMS, &mut rng).unwrap());
            let output = WalletOprfKey::derive(&[8; 32], "v1.2_x", &Felt::ONE)
                .unwrap()
                .evaluate_unblinded("482913")
                .unwrap();
            let evaluated = EncryptKey::passphrase("482913").with_oprf(output);
            keys.push(
                seal_with_params(&key, &evaluated, &binding, FLOOR_PARAMS, &mut rng).unwrap(),
            );
        }
        for (secret, pin) in [(key.secret_hex().to_string(), "482913"), ("x".repeat(200), "839201")]
        {
            keys.push(chipi::encrypt_with_salt(&secret, pin, [4; 8]).unwrap());
        }
        keys
    }

    #[test]
    fn encrypted_key_patterns_accept_exactly_what_each_dialect_stores() {
        let keys = sample_keys();
        assert!(
            keys.iter().any(|k| k.starts_with("lk2$"))
                && keys.iter().any(|k| k.starts_with("lk1$"))
        );
        // What each field takes: the format, then the kind and curve of the key inside.
        let holds = |kinds: Kinds, key: &str| match hardened::inspect(key) {
            Ok(info) => match kinds {
                Kinds::Any => true,
                Kinds::Owner => info.kind == KeyKind::Owner,
                Kinds::StarkOwner => info.kind == KeyKind::Owner && info.curve == Curve::Stark,
            },
            Err(_) => true,
        };
        let fields = [
            (KeyFormats::Hardened, Kinds::Any),
            (KeyFormats::Hardened, Kinds::Owner),
            (KeyFormats::WithChipi, Kinds::StarkOwner),
        ];
        for (formats, kinds) in fields {
            let pattern = regex::Regex::new(&encrypted_key_pattern(formats, kinds)).unwrap();
            for key in &keys {
                let taken = formats.accepts(key) && holds(kinds, key);
                assert_eq!(pattern.is_match(key), taken, "{formats:?} {kinds:?}: {key}");
                // Changed by one character, a key is refused by both or by neither.
                let mut broken = key.clone();
                broken.insert(key.len() / 2, '$');
                assert!(!formats.accepts(&broken), "{broken}");
                assert!(!pattern.is_match(&broken), "{formats:?}: {broken}");
            }
            let plaintext = "0x5eed";
            assert!(!pattern.is_match(plaintext) && !formats.accepts(plaintext));
        }
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap_or_default();
        let schemas = &doc["components"]["schemas"];
        let pattern = |formats, kinds| json!(encrypted_key_pattern(formats, kinds));
        assert_eq!(schemas["HardenedKey"]["pattern"], pattern(KeyFormats::Hardened, Kinds::Any));
        assert_eq!(schemas["OwnerKey"]["pattern"], pattern(KeyFormats::Hardened, Kinds::Owner));
        assert_eq!(
            schemas["EncryptedKey"]["pattern"],
            pattern(KeyFormats::WithChipi, Kinds::StarkOwner)
        );
        // Every kind and curve is among the samples.
        assert!(keys.iter().any(|k| k.contains("$owner-secp256k1$")));
        assert!(keys.iter().any(|k| k.contains("$session$")));
    }

    #[test]
    fn the_felt_pattern_is_anchored_and_names_both_forms() {
        assert!(FELT_PATTERN.starts_with("^(0x") && FELT_PATTERN.ends_with(")$"));
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap_or_default();
        assert_eq!(doc["components"]["schemas"]["Felt"]["pattern"], FELT_PATTERN);
        assert_eq!(doc["components"]["schemas"]["Address"]["pattern"], FELT_PATTERN);
    }
}
