//! A small client of latchkey's native HTTP API (`/api/…`), for the CLI's `wallet` and
//! `session` commands.
//!
//! Every request carries `x-api-key: pk_…` and `Authorization: Bearer sk_…`. The secret
//! key comes from `LATCHKEY_SECRET_KEY` only (never an argument: arguments land in shell
//! history and process lists) and is held in a [`SecretString`], whose `Debug` does not
//! print it. Failures are typed so the CLI can map them to exit codes: [`ApiRefusal`]
//! when the API answers 4xx with its `{message, code, status}` body, [`ServerUnavailable`]
//! when the server cannot be reached, fails (5xx) or answers something unexpected.

use std::time::Duration;

use anyhow::bail;
use latchkey_core::SecretString;
use reqwest::header::{HeaderValue, AUTHORIZATION};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Environment variable holding the server's URL.
pub(crate) const URL_ENV: &str = "LATCHKEY_URL";
/// Environment variable holding the organisation's public API key.
pub(crate) const PUBLIC_KEY_ENV: &str = "LATCHKEY_PUBLIC_KEY";
/// Environment variable holding the organisation's secret API key (the only way to pass it).
pub(crate) const SECRET_KEY_ENV: &str = "LATCHKEY_SECRET_KEY";
/// Environment variable holding the operator token (the only way to pass it).
pub(crate) const OPERATOR_TOKEN_ENV: &str = "LATCHKEY_OPERATOR_TOKEN";

/// How long one request may take (creating a wallet waits for its deployment).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The API answered 4xx: it understood the request and refused it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiRefusal {
    /// HTTP status.
    pub(crate) status: u16,
    /// The stable error code (`WALLET_NOT_FOUND`, `SESSION_REVOKED`, …).
    pub(crate) code: String,
    /// The API's explanation.
    pub(crate) message: String,
}

impl std::fmt::Display for ApiRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the API refused the request: {} ({}): {}", self.code, self.status, self.message)
    }
}

impl std::error::Error for ApiRefusal {}

/// The server is unreachable, failed (5xx) or answered something this CLI cannot read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ServerUnavailable {
    /// What went wrong.
    pub(crate) message: String,
    /// The API's error code, when it sent one.
    pub(crate) code: Option<String>,
}

impl ServerUnavailable {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self { message: message.into(), code: None }
    }
}

impl std::fmt::Display for ServerUnavailable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ServerUnavailable {}

/// The organisation's API keys.
#[derive(Debug)]
pub(crate) struct ApiKeys {
    public: String,
    secret: SecretString,
}

impl ApiKeys {
    /// The public key as given (`--public-key` or its variable) and the secret key from
    /// `LATCHKEY_SECRET_KEY`; a clear error names what is missing.
    pub(crate) fn new(public: Option<&str>, secret: Option<SecretString>) -> anyhow::Result<Self> {
        let public = public.map(str::trim).unwrap_or_default();
        if public.is_empty() {
            bail!(
                "no API public key: pass --public-key or set {PUBLIC_KEY_ENV} \
                 (`latchkey serve` prints it at start)"
            );
        }
        if !public.starts_with("pk_") {
            bail!(
                "the API public key must start with pk_ (the secret key goes in {SECRET_KEY_ENV})"
            );
        }
        let Some(secret) = secret.filter(|s| !s.expose().trim().is_empty()) else {
            bail!(
                "no API secret key: set {SECRET_KEY_ENV} (it is never taken as an argument, \
                 which would land in shell history)"
            );
        };
        if !secret.expose().trim().starts_with("sk_") {
            bail!("{SECRET_KEY_ENV} must hold the secret key, which starts with sk_");
        }
        Ok(Self { public: public.to_string(), secret })
    }

    /// The secret key from the environment, if set.
    pub(crate) fn secret_from_env() -> Option<SecretString> {
        std::env::var(SECRET_KEY_ENV).ok().map(SecretString::new)
    }
}

/// Who the client is: an organisation (its API keys) or the operator (the admin API's
/// token, from `LATCHKEY_OPERATOR_TOKEN` only).
#[derive(Debug)]
enum Credentials {
    Organization(ApiKeys),
    Operator(SecretString),
}

/// A connection to one latchkey server.
#[derive(Debug)]
pub(crate) struct Client {
    http: reqwest::Client,
    base: String,
    credentials: Credentials,
}

impl Client {
    /// A client of the server at `url` (`http://host:port`, optionally with a path prefix).
    pub(crate) fn new(url: &str, keys: ApiKeys) -> anyhow::Result<Self> {
        Self::with(url, Credentials::Organization(keys))
    }

    /// A client of the server's admin API, with the operator token from
    /// `LATCHKEY_OPERATOR_TOKEN`; a clear error when it is missing.
    pub(crate) fn operator(url: &str) -> anyhow::Result<Self> {
        let token = std::env::var(OPERATOR_TOKEN_ENV).ok().map(SecretString::new);
        let Some(token) = token.filter(|t| !t.expose().trim().is_empty()) else {
            bail!(
                "no operator token: set {OPERATOR_TOKEN_ENV} (`latchkey serve` prints it once, at \
                 first start; it is never taken as an argument)"
            );
        };
        if !token.expose().trim().starts_with(latchkey_auth::OPERATOR_TOKEN_PREFIX) {
            bail!("{OPERATOR_TOKEN_ENV} must hold the operator token, which starts with lkop_");
        }
        Self::with(url, Credentials::Operator(token))
    }

    fn with(url: &str, credentials: Credentials) -> anyhow::Result<Self> {
        let parsed = url::Url::parse(url.trim())
            .map_err(|e| anyhow::anyhow!("--url {url:?} is not a URL: {e}"))?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
            bail!("--url {url:?} must be an http:// or https:// URL");
        }
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            .user_agent(concat!("latchkey-cli/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| anyhow::anyhow!("cannot set up the HTTP client: {e}"))?;
        Ok(Self { http, base: parsed.as_str().trim_end_matches('/').to_string(), credentials })
    }

    /// The server's base URL.
    pub(crate) fn base(&self) -> &str {
        &self.base
    }

    /// `GET path` (path starts with `/api/`).
    pub(crate) async fn get(&self, path: &str) -> anyhow::Result<Value> {
        self.send(Method::GET, path, None).await
    }

    /// `POST path` with a JSON body (or none).
    pub(crate) async fn post(&self, path: &str, body: Option<&Value>) -> anyhow::Result<Value> {
        self.send(Method::POST, path, body).await
    }

    /// `method path` with a JSON body (or none).
    pub(crate) async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<Value> {
        let url = format!("{}{path}", self.base);
        let (secret, variable) = match &self.credentials {
            Credentials::Organization(keys) => (&keys.secret, SECRET_KEY_ENV),
            Credentials::Operator(token) => (token, OPERATOR_TOKEN_ENV),
        };
        let mut bearer = HeaderValue::from_str(&format!("Bearer {}", secret.expose().trim()))
            .map_err(|_| anyhow::anyhow!("{variable} holds characters a header cannot carry"))?;
        bearer.set_sensitive(true);
        let mut request = self.http.request(method, &url).header(AUTHORIZATION, bearer);
        if let Credentials::Organization(keys) = &self.credentials {
            request = request.header("x-api-key", &keys.public);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(|e| {
            ServerUnavailable::new(format!(
                "cannot reach the latchkey server at {}: {}",
                self.base,
                describe(&e)
            ))
        })?;
        let status = response.status();
        let text = response.text().await.map_err(|e| {
            ServerUnavailable::new(format!(
                "the server at {} broke off its answer: {}",
                self.base,
                describe(&e)
            ))
        })?;
        interpret(status, &text).map_err(Failure::into_error)
    }
}

/// The error chain of a transport error, which reqwest's own message leaves out.
fn describe(error: &reqwest::Error) -> String {
    let mut text = if error.is_timeout() { "timed out".to_string() } else { error.to_string() };
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// What [`interpret`] makes of a failed answer: either kind the CLI maps to an exit code.
#[derive(Debug)]
pub(crate) enum Failure {
    Refused(ApiRefusal),
    Unavailable(ServerUnavailable),
}

impl Failure {
    fn into_error(self) -> anyhow::Error {
        match self {
            Self::Refused(e) => anyhow::Error::new(e),
            Self::Unavailable(e) => anyhow::Error::new(e),
        }
    }
}

/// Reads an answer: JSON on 2xx, the error body otherwise.
fn interpret(status: StatusCode, text: &str) -> Result<Value, Failure> {
    if status.is_success() {
        if text.trim().is_empty() {
            return Ok(Value::Null);
        }
        return serde_json::from_str(text).map_err(|_| {
            Failure::Unavailable(ServerUnavailable::new(format!(
                "the server answered {status} with a body that is not JSON; is --url a latchkey server?"
            )))
        });
    }
    let body: Option<Value> = serde_json::from_str(text).ok();
    let field = |name: &str| {
        body.as_ref().and_then(|b| b.get(name)).and_then(Value::as_str).map(str::to_string)
    };
    let code = field("code");
    let message = field("message")
        .unwrap_or_else(|| status.canonical_reason().unwrap_or("no explanation").to_lowercase());
    if status.is_client_error() {
        Err(Failure::Refused(ApiRefusal {
            status: status.as_u16(),
            code: code.unwrap_or_else(|| format!("HTTP_{}", status.as_u16())),
            message,
        }))
    } else {
        let detail = match &code {
            Some(code) => format!("{code} ({}): {message}", status.as_u16()),
            None => format!("HTTP {}: {message}", status.as_u16()),
        };
        Err(Failure::Unavailable(ServerUnavailable {
            message: format!("the server failed: {detail}"),
            code,
        }))
    }
}

/// Reads an API answer into `T`; a mismatch means the server is not what this CLI expects.
pub(crate) fn decode<T: DeserializeOwned>(value: &Value, what: &str) -> anyhow::Result<T> {
    serde_json::from_value(value.clone()).map_err(|e| {
        anyhow::Error::new(ServerUnavailable::new(format!(
            "unexpected answer from the server ({what}): {e}"
        )))
    })
}

/// Percent-encodes a path segment (addresses and ids are plain, but be safe).
pub(crate) fn segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.trim().bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn keys() -> ApiKeys {
        ApiKeys::new(Some("pk_dev_abc"), Some(SecretString::new("sk_dev_topsecret".into())))
            .unwrap()
    }

    #[test]
    fn the_secret_key_never_shows_in_debug() {
        let client = Client::new("http://127.0.0.1:8080", keys()).unwrap();
        let text = format!("{client:?} {:?}", keys());
        assert!(!text.contains("topsecret"), "{text}");
        assert!(text.contains("<redacted>"), "{text}");
    }

    #[test]
    fn missing_or_misplaced_keys_are_named() {
        let secret = || Some(SecretString::new("sk_x".into()));
        let err = ApiKeys::new(Some("pk_x"), None).unwrap_err().to_string();
        assert!(err.contains(SECRET_KEY_ENV), "{err}");
        let err = ApiKeys::new(Some("pk_x"), Some(SecretString::new(" ".into()))).unwrap_err();
        assert!(err.to_string().contains(SECRET_KEY_ENV));
        let err = ApiKeys::new(None, secret()).unwrap_err().to_string();
        assert!(err.contains(PUBLIC_KEY_ENV), "{err}");
        // A secret key given as the public key is refused without being echoed.
        let err = ApiKeys::new(Some("sk_leaked"), secret()).unwrap_err().to_string();
        assert!(!err.contains("sk_leaked"), "{err}");
        let err = ApiKeys::new(Some("pk_x"), Some(SecretString::new("pk_y".into()))).unwrap_err();
        assert!(!err.to_string().contains("pk_y"));
    }

    #[test]
    fn urls_are_checked_and_normalised() {
        assert_eq!(
            Client::new("http://127.0.0.1:8080/", keys()).unwrap().base(),
            "http://127.0.0.1:8080"
        );
        assert_eq!(
            Client::new("https://h.example/lk/", keys()).unwrap().base(),
            "https://h.example/lk"
        );
        assert!(Client::new("127.0.0.1:8080", keys()).is_err());
        assert!(Client::new("ftp://h", keys()).is_err());
    }

    #[test]
    fn answers_are_sorted_into_refusals_and_failures() {
        assert_eq!(interpret(StatusCode::OK, r#"{"a":1}"#).unwrap()["a"], 1);
        assert_eq!(interpret(StatusCode::OK, "").unwrap(), Value::Null);
        assert!(matches!(interpret(StatusCode::OK, "<html>"), Err(Failure::Unavailable(_))));
        let refused = interpret(
            StatusCode::NOT_FOUND,
            r#"{"message":"wallet not found","code":"WALLET_NOT_FOUND","status":404}"#,
        );
        let Err(Failure::Refused(refusal)) = refused else { panic!("{refused:?}") };
        assert_eq!(refusal.code, "WALLET_NOT_FOUND");
        assert_eq!(
            refusal.to_string(),
            "the API refused the request: WALLET_NOT_FOUND (404): wallet not found"
        );
        let Err(Failure::Refused(bare)) = interpret(StatusCode::FORBIDDEN, "nope") else {
            panic!()
        };
        assert_eq!(bare.code, "HTTP_403");
        let Err(Failure::Unavailable(failed)) = interpret(
            StatusCode::INTERNAL_SERVER_ERROR,
            r#"{"message":"internal error","code":"INTERNAL_ERROR","status":500}"#,
        ) else {
            panic!()
        };
        assert!(failed.message.contains("INTERNAL_ERROR"), "{failed}");
        assert!(matches!(interpret(StatusCode::BAD_GATEWAY, ""), Err(Failure::Unavailable(_))));
    }

    #[test]
    fn path_segments_are_encoded() {
        assert_eq!(segment("0xabc"), "0xabc");
        assert_eq!(segment("a/b?c"), "a%2Fb%3Fc");
    }
}
