//! The one registry of error codes: every code latchkey puts on a wire, in an HTTP error
//! body, in a stored request's `errorCode`, or in a client binding's `LatchkeyError`.
//!
//! Each code is a named constant whose value is its own name, so handlers write
//! `codes::WALLET_NOT_FOUND` instead of a string. Codes that the client bindings
//! (`latchkey-wasm`, `@latchkey/sdk`) raise also carry a stable number: 1–99 mirror the
//! Chipi SDK's `SESSION_ERRORS`, 100–199 the core's own refusals, 200–299 the bindings',
//! 300 and up the server's codes as the bindings see them. [`ALL`] lists every code with
//! its number and meaning; tests tie it to the bindings' tables and to `docs/errors.md`,
//! which [`markdown`] writes.

/// One registered code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Code {
    /// The code, `SCREAMING_SNAKE_CASE`; never changes once published.
    pub name: &'static str,
    /// The stable number the client bindings give it, if they raise it.
    pub number: Option<u16>,
    /// What it means, in one sentence.
    pub meaning: &'static str,
}

macro_rules! registry {
    ($( #[doc = $meaning:literal] $name:ident = $number:expr; )*) => {
        $(
            #[doc = $meaning]
            pub const $name: &str = stringify!($name);
        )*

        /// Every code, in the order of this file: numbered codes first, by number, then
        /// the server's other codes alphabetically.
        pub const ALL: &[Code] = &[
            $( Code { name: stringify!($name), number: $number, meaning: $meaning.trim_ascii() }, )*
        ];
    };
}

registry! {
    /// The session's `validUntil` has passed.
    SESSION_EXPIRED = Some(1);
    /// The session key is not registered on the account (or no session is held).
    SESSION_NOT_REGISTERED = Some(2);
    /// The session was revoked by the owner.
    SESSION_REVOKED = Some(3);
    /// The session has used all its calls.
    SESSION_MAX_CALLS_EXCEEDED = Some(4);
    /// A call's (contract, entrypoint) is not in the session's allowlist.
    SESSION_ENTRYPOINT_NOT_ALLOWED = Some(5);
    /// The session key did not open: a wrong PIN or secret, or a key of another account.
    SESSION_DECRYPTION_FAILED = Some(6);
    /// A session key could not be made or sealed.
    SESSION_CREATION_FAILED = Some(7);
    /// The server's answer is not what the client asked for.
    SESSION_INVALID_RESPONSE = Some(8);
    /// A spending cap is malformed (token, amounts or window).
    INVALID_SPENDING_POLICY = Some(9);
    /// The wallet's type cannot hold sessions.
    INVALID_WALLET_TYPE_FOR_SESSION = Some(10);
    /// The PIN is too weak to seal a key with (short, repeated, sequential, date-like or common).
    WEAK_PIN = Some(100);
    /// The owner key did not open: a wrong PIN or secret, or a key of another account.
    OWNER_KEY_DECRYPTION_FAILED = Some(101);
    /// The typed data is malformed or not a SNIP-9 outside execution.
    INVALID_TYPED_DATA = Some(102);
    /// A signature could not be made.
    SIGNING_FAILED = Some(103);
    /// An argument is malformed.
    INVALID_INPUT = Some(104);
    /// Fewer random bytes were given than key generation needs.
    INSUFFICIENT_ENTROPY = Some(200);
    /// A key could not be made.
    KEY_CREATION_FAILED = Some(201);
    /// A key could not be sealed.
    ENCRYPTION_FAILED = Some(202);
    /// Not an encrypted key in a format this route stores (never a plaintext key; the Chipi format on the Chipi dialect only).
    INVALID_ENCRYPTED_KEY = Some(203);
    /// The WebAssembly module is not loaded.
    NOT_INITIALIZED = Some(204);
    /// The key is not unlocked in this client (or was freed).
    SESSION_LOCKED = Some(205);
    /// The server's typed data does not do what was asked.
    UNEXPECTED_TYPED_DATA = Some(206);
    /// An `lk2` envelope opens only with the server's OPRF evaluation of its PIN.
    OPRF_REQUIRED = Some(207);
    /// A blinded or evaluated OPRF element is not 32 bytes encoding a ristretto255 point.
    INVALID_OPRF_ELEMENT = Some(208);
    /// The server refused a request with a code the client does not know.
    API_ERROR = Some(300);
    /// The server could not be reached, or did not answer in JSON.
    NETWORK_ERROR = Some(301);
    /// Too many requests: retry after `Retry-After`.
    RATE_LIMITED = Some(302);
    /// A daily gas quota (per wallet or per end user) is used up.
    DAILY_QUOTA_EXHAUSTED = Some(303);
    /// The wallet's transactions reverted too often; it is cooling down.
    WALLET_COOLING_DOWN = Some(304);
    /// Too many simulations are running for this organisation.
    TOO_MANY_SIMULATIONS = Some(305);
    /// The simulation did not finish in time.
    SIMULATION_TIMEOUT = Some(306);
    /// The sponsorship policy does not cover this call.
    NOT_SPONSORED = Some(307);
    /// The fee is above the sponsorship policy's maximum.
    MAX_FEE_EXCEEDED = Some(308);
    /// A request with this idempotency key or nonce is already being handled.
    REQUEST_CONFLICT = Some(309);
    /// A session key in the calls was revoked and can never be registered again.
    SESSION_KEY_REVOKED = Some(310);
    /// A session must name its allowed methods (or say `allowAll`).
    ALLOWLIST_REQUIRED = Some(311);
    /// The session lasts longer than the policy allows.
    SESSION_TOO_LONG = Some(312);
    /// A session may not call its own account.
    SELF_CALL_NOT_ALLOWED = Some(313);
    /// A proof of key possession does not verify, or its challenge is unknown, used, expired or someone else's.
    INVALID_PROOF = Some(314);
    /// Too many PIN evaluations without a proved unlock: locked until `Retry-After`.
    PIN_LOCKED = Some(315);
    /// The server has no OPRF key of that id.
    UNKNOWN_OPRF_KEY = Some(316);
    /// The address does not match the one the key and class imply.
    ADDRESS_MISMATCH = None;
    /// The record exists already.
    ALREADY_EXISTS = None;
    /// The API key named is not one of the organisation's, or no longer works (admin API).
    API_KEY_NOT_FOUND = None;
    /// The server's end-user token settings are malformed.
    AUTH_CONFIG_INVALID = None;
    /// The wallet has no backup blob.
    BACKUP_NOT_FOUND = None;
    /// Too many calls in one execution.
    BATCH_TOO_LARGE = None;
    /// The request body is larger than the server takes.
    BODY_TOO_LARGE = None;
    /// The outside execution names a caller other than this relayer.
    CALLER_NOT_ALLOWED = None;
    /// A stored request cannot be read back (typed data, signature or account).
    CORRUPT_RECORD = None;
    /// The execution's nonce is already used on chain.
    DUPLICATE_EXECUTION = None;
    /// The route is for an end user's token, not an organisation's key.
    END_USER_TOKEN_REQUIRED = None;
    /// The transaction was included but reverted.
    EXECUTION_REVERTED = None;
    /// The execution window closed before it was submitted.
    EXPIRED = None;
    /// The caller may not do this.
    FORBIDDEN = None;
    /// The first request with this idempotency key is still running.
    IDEMPOTENCY_IN_FLIGHT = None;
    /// This idempotency key was used with another request.
    IDEMPOTENCY_KEY_REUSED = None;
    /// The server failed; details are in its log, not in the answer.
    INTERNAL_ERROR = None;
    /// An amount is not a u256.
    INVALID_AMOUNT = None;
    /// The API key is unknown or revoked.
    INVALID_API_KEY = None;
    /// The body is not the JSON the route takes.
    INVALID_BODY = None;
    /// The deployment data does not deploy this server's account for this owner.
    INVALID_DEPLOYMENT_DATA = None;
    /// The execution window is out of bounds.
    INVALID_EXECUTION_WINDOW = None;
    /// A permission's expiry is not an absolute unix time in seconds in the future within the longest grant (a duration, milliseconds, past or too far).
    INVALID_EXPIRY = None;
    /// A field element is malformed or out of range.
    INVALID_FELT = None;
    /// The `Idempotency-Key` header is malformed.
    INVALID_IDEMPOTENCY_KEY = None;
    /// The bearer token is not a valid, current operator token (admin API).
    INVALID_OPERATOR_TOKEN = None;
    /// A browser origin is malformed: it must be `http(s)://host[:port]`, nothing more.
    INVALID_ORIGIN = None;
    /// The query string is malformed.
    INVALID_QUERY = None;
    /// The request is malformed or misses a field.
    INVALID_REQUEST = None;
    /// The session's start and expiry are out of bounds.
    INVALID_SESSION_WINDOW = None;
    /// A signature does not verify, or is malformed.
    INVALID_SIGNATURE = None;
    /// The sponsorship policy is malformed.
    INVALID_SPONSORSHIP_POLICY = None;
    /// The end user's token does not verify.
    INVALID_TOKEN = None;
    /// The end-user token issuer settings are malformed.
    INVALID_TOKEN_ISSUER = None;
    /// The token issuer's keys could not be fetched.
    JWKS_UNAVAILABLE = None;
    /// No such event in the wallet's key history.
    KEY_EVENT_NOT_FOUND = None;
    /// The permission's key is held by the app, which signs its own calls; this wallet cannot send them.
    KEY_NOT_HELD = None;
    /// The wallet's owner is external: the server stores no key for it.
    KEY_NOT_STORED = None;
    /// No API key was sent.
    MISSING_API_KEY = None;
    /// The route needs a bearer token.
    MISSING_BEARER_TOKEN = None;
    /// No such record.
    NOT_FOUND = None;
    /// The key-history event replaced nothing, so there is nothing to restore.
    NOT_RESTORABLE = None;
    /// Only the operator token opens the admin API; an organisation's keys do not.
    OPERATOR_ONLY = None;
    /// No organisation has this id (admin API).
    ORGANIZATION_NOT_FOUND = None;
    /// The organisation is suspended by the operator: its API calls are refused until it is reinstated.
    ORGANIZATION_SUSPENDED = None;
    /// The request's browser origin is not allowed by the organisation whose key it carries.
    ORIGIN_NOT_ALLOWED = None;
    /// A required permission or policy is one the account cannot enforce (token transfers, allowances, gas limits, short rate limits).
    PERMISSION_NOT_ENFORCEABLE = None;
    /// The wallet sends calls only with a granted permission (the `permissions` capability).
    PERMISSION_REQUIRED = None;
    /// A plaintext private key was sent where only an encrypted one is stored.
    PLAINTEXT_KEY_REJECTED = None;
    /// No relayer account that may send the execution can pay its fee: the operator must fund them (prepare again to use another account).
    RELAYER_UNFUNDED = None;
    /// No such route.
    ROUTE_NOT_FOUND = None;
    /// The read-only chain endpoint does not serve this JSON-RPC method (writes go through the API).
    RPC_METHOD_NOT_ALLOWED = None;
    /// No such session on this wallet.
    SESSION_NOT_FOUND = None;
    /// The session's start has not come yet.
    SESSION_NOT_YET_VALID = None;
    /// The transaction failed to simulate.
    SIMULATION_FAILED = None;
    /// A spending cap (per call or per window) would be exceeded.
    SPENDING_LIMIT_EXCEEDED = None;
    /// The organisation's gas budget does not cover the fee.
    SPONSORSHIP_EXHAUSTED = None;
    /// A sponsored payload was executed by a transaction latchkey did not send (another bundler); its sponsorship is charged at its maximum.
    SUBMITTED_ELSEWHERE = None;
    /// The end user's token has expired.
    TOKEN_EXPIRED = None;
    /// Another organisation uses this token issuer and audience.
    TOKEN_ISSUER_IN_USE = None;
    /// No token of that symbol on that chain (neither the chain's own nor one the organisation registered).
    TOKEN_NOT_SUPPORTED = None;
    /// A session allows at most 128 methods.
    TOO_MANY_METHODS = None;
    /// No such transaction.
    TRANSACTION_NOT_FOUND = None;
    /// The node refused the transaction.
    TRANSACTION_REJECTED = None;
    /// The prepared typed data's window has closed.
    TYPED_DATA_EXPIRED = None;
    /// The typed data is not the one prepared for this request.
    TYPED_DATA_MISMATCH = None;
    /// No calls were sent with this id.
    UNKNOWN_BUNDLE = None;
    /// The request names a chain this server does not serve.
    UNKNOWN_CHAIN = None;
    /// No granted, unrevoked permission has this context.
    UNKNOWN_PERMISSION = None;
    /// The account class is not the one this server deploys.
    UNSUPPORTED_CLASS_HASH = None;
    /// The JSON-RPC method is not one this wallet answers.
    UNSUPPORTED_METHOD = None;
    /// The chain node could not be reached.
    UPSTREAM_UNAVAILABLE = None;
    /// A wallet exists already for this user or address.
    WALLET_EXISTS = None;
    /// No such wallet for this caller.
    WALLET_NOT_FOUND = None;
    /// The wallet type is not supported.
    WALLET_TYPE_NOT_SUPPORTED = None;
    /// The typed data is for another chain.
    WRONG_CHAIN = None;
}

/// The registered code named `name`, if any.
pub fn find(name: &str) -> Option<&'static Code> {
    ALL.iter().find(|code| code.name == name)
}

/// The registered code numbered `number`, if any.
pub fn by_number(number: u16) -> Option<&'static Code> {
    ALL.iter().find(|code| code.number == Some(number))
}

/// `docs/errors.md`: every code with its number and meaning.
pub fn markdown() -> String {
    let mut out = String::from(
        "# Error codes\n\n\
         Every code latchkey puts on a wire: in an HTTP error body (`code`), in a stored \
         request's `errorCode`, or in a client binding's `LatchkeyError` (`code`, and \
         `numericCode` where it has a number). The registry is `crates/latchkey-core/src/codes.rs`; \
         this file is written from it (`LATCHKEY_BLESS=1 cargo test -p latchkey-core --test codes`), \
         and tests hold `latchkey-wasm` and `@latchkey/sdk` to the same table.\n\n\
         | code | number | meaning |\n|---|---|---|\n",
    );
    for code in ALL {
        let number = code.number.map(|n| n.to_string()).unwrap_or_default();
        out.push_str(&format!("| `{}` | {} | {} |\n", code.name, number, code.meaning));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_screaming_snake_case_and_their_own_value() {
        let mut names: Vec<&str> = ALL.iter().map(|c| c.name).collect();
        for name in &names {
            assert!(
                name.split('_').all(|w| !w.is_empty()
                    && w.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())),
                "{name}"
            );
        }
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ALL.len(), "a code is registered twice");
        assert_eq!(WALLET_NOT_FOUND, "WALLET_NOT_FOUND");
        assert_eq!(find("PIN_LOCKED").and_then(|c| c.number), Some(315));
        assert_eq!(by_number(3).map(|c| c.name), Some(SESSION_REVOKED));
        assert!(find("NO_SUCH_CODE").is_none() && by_number(999).is_none());
    }

    #[test]
    fn numbers_are_unique_ascending_and_in_their_ranges() {
        let numbers: Vec<u16> = ALL.iter().filter_map(|c| c.number).collect();
        assert!(numbers.windows(2).all(|w| w[0] < w[1]), "{numbers:?}");
        // Four ranges: the Chipi SDK's, the core's, the bindings', the server's.
        assert!(numbers.iter().all(|n| (1..400).contains(n)), "{numbers:?}");
        // Numbered codes come first; the others follow alphabetically.
        let first_unnumbered = ALL.iter().position(|c| c.number.is_none()).unwrap();
        assert!(ALL[first_unnumbered..].iter().all(|c| c.number.is_none()));
        let rest: Vec<&str> = ALL[first_unnumbered..].iter().map(|c| c.name).collect();
        assert!(rest.windows(2).all(|w| w[0] < w[1]), "{rest:?}");
        assert!(ALL.iter().all(|c| !c.meaning.is_empty() && !c.meaning.contains('|')));
    }
}
