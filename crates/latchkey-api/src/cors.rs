//! Browsers on other origins (CORS), allowed per organisation.
//!
//! latchkey authenticates with headers (API keys, bearer tokens), never cookies, so its
//! answers never allow credentials, and it names the origin it allows exactly (never `*`).
//!
//! - A request without `Origin`, or from the server's own origin (the dashboard), is
//!   served as always.
//! - A preflight (`OPTIONS` with `Access-Control-Request-Method`) carries no key, so it
//!   passes when *some* organisation allows the origin (or `--dev-cors` and the origin is
//!   a loopback one), and is cached by the browser for ten minutes.
//! - Any other cross-origin request from an origin no organisation allows is refused
//!   (`403 ORIGIN_NOT_ALLOWED`) before it reaches a handler. When some organisation allows
//!   it, the request goes on, and the key it carries decides: an organisation's origins
//!   never open another's ([`check_origin`], called where the key is resolved).

use axum::extract::{Request, State};
use axum::http::header::{
    ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN,
    ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE, ACCESS_CONTROL_REQUEST_METHOD, HOST,
    ORIGIN, VARY,
};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use latchkey_core::codes;

use crate::{ApiError, AppState};

/// The request headers the SDKs send (`Authorization` is never covered by a wildcard, so
/// every one is named).
pub(crate) const ALLOWED_HEADERS: &str =
    "authorization, content-type, x-api-key, idempotency-key, x-idempotency-key, x-project-key";
const ALLOWED_METHODS: &str = "GET, POST, PUT, PATCH, DELETE";
/// How long a browser keeps a preflight's answer, in seconds.
const PREFLIGHT_MAX_AGE: &str = "600";
/// Response headers a page may read beyond the safelisted ones.
const EXPOSED_HEADERS: &str = "retry-after";

/// Most origins one organisation may list.
pub(crate) const MAX_ORIGINS: usize = 100;

/// The normalised origin of a cross-origin request that some organisation allows; the
/// key's organisation is checked against it when the key is resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CrossOrigin(pub(crate) String);

/// An origin as browsers send it: `scheme://host[:port]`, the scheme `http` or `https`, in
/// lower case, without the scheme's default port. A single trailing `/` is dropped; a
/// path, query, fragment, user name, wildcard or `null` is refused, with the reason.
pub(crate) fn normalize_origin(text: &str) -> Result<String, String> {
    let text = text.trim();
    let (scheme, rest) = text
        .split_once("://")
        .ok_or_else(|| format!("{text:?} is not an origin: write scheme://host[:port]"))?;
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "http" => 80,
        "https" => 443,
        _ => return Err(format!("{text:?}: the scheme must be http or https")),
    };
    let authority = rest.strip_suffix('/').unwrap_or(rest);
    if authority.contains(['/', '?', '#', '@', '*', '\\']) || authority.is_empty() {
        return Err(format!(
            "{text:?} is not an origin: only scheme://host[:port], without a path, query, user or wildcard"
        ));
    }
    let (host, port) = split_host_port(authority)
        .ok_or_else(|| format!("{text:?}: the host or port is malformed"))?;
    let host = host.to_ascii_lowercase();
    if !valid_host(&host) {
        return Err(format!("{text:?}: the host is malformed"));
    }
    Ok(match port {
        Some(port) if port != default_port => format!("{scheme}://{host}:{port}"),
        _ => format!("{scheme}://{host}"),
    })
}

/// `host` and the port, if any; `None` when the port is not a number in 1..=65535.
fn split_host_port(authority: &str) -> Option<(&str, Option<u16>)> {
    let (host, port) = if authority.starts_with('[') {
        // An IPv6 literal: `[…]` then an optional `:port`.
        let end = authority.find(']')?;
        let (host, rest) = authority.split_at(end + 1);
        match rest {
            "" => (host, None),
            _ => (host, Some(rest.strip_prefix(':')?)),
        }
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    let port = match port {
        None => None,
        Some(digits) => {
            if digits.is_empty() || digits.len() > 5 || !digits.bytes().all(|b| b.is_ascii_digit())
            {
                return None;
            }
            Some(digits.parse::<u16>().ok().filter(|p| *p != 0)?)
        }
    };
    Some((host, port))
}

/// A DNS name or IPv4 address (letters, digits, `-` and `.`, in non-empty labels of at
/// most 63 characters), or a bracketed IPv6 literal.
fn valid_host(host: &str) -> bool {
    if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return inner.parse::<std::net::Ipv6Addr>().is_ok();
    }
    !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// Whether a normalised origin is on this machine (what `--dev-cors` allows).
pub(crate) fn is_loopback(origin: &str) -> bool {
    let Some((_, rest)) = origin.split_once("://") else { return false };
    let host = match split_host_port(rest) {
        Some((host, _)) => host,
        None => return false,
    };
    host == "localhost" || host == "[::1]" || host.starts_with("127.")
}

/// Whether `origin` is the server's own (the authority the browser addressed, `Host`).
fn same_origin(origin: &str, headers: &HeaderMap) -> bool {
    let Some(host) = headers.get(HOST).and_then(|h| h.to_str().ok()) else { return false };
    let authority = origin.split_once("://").map(|(_, a)| a).unwrap_or_default();
    let host = host.trim().to_ascii_lowercase();
    // The Host header keeps a default port the origin drops.
    let bare = host.strip_suffix(":80").or_else(|| host.strip_suffix(":443")).unwrap_or(&host);
    authority == host || authority == bare
}

/// Whether the organisation `org_id` lets a browser on `origin` use its keys.
pub(crate) async fn check_origin(
    state: &AppState,
    origin: &CrossOrigin,
    org_id: &str,
) -> Result<(), ApiError> {
    let CrossOrigin(origin) = origin;
    if state.config.dev_cors && is_loopback(origin) {
        return Ok(());
    }
    if state.store.origin_allowed(origin, Some(org_id)).await? {
        return Ok(());
    }
    Err(refusal(origin, "this organisation does not allow it"))
}

fn refusal(origin: &str, why: &str) -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        codes::ORIGIN_NOT_ALLOWED,
        format!(
            "requests from the browser origin {origin} are refused: {why} (an organisation lists its origins with PUT /api/organization/allowed-origins)"
        ),
    )
}

/// The CORS layer (see the module documentation).
pub(crate) async fn layer(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let Some(raw) = request.headers().get(ORIGIN) else { return next.run(request).await };
    let origin = raw.to_str().ok().and_then(|text| normalize_origin(text).ok());
    if origin.as_deref().is_some_and(|o| same_origin(o, request.headers())) {
        return next.run(request).await;
    }
    let Some(origin) = origin else {
        let shown = String::from_utf8_lossy(raw.as_bytes()).chars().take(100).collect::<String>();
        return refusal(&format!("{shown:?}"), "it is not a web origin").into_response();
    };
    let allowed = if state.config.dev_cors && is_loopback(&origin) {
        true
    } else {
        match state.store.origin_allowed(&origin, None).await {
            Ok(allowed) => allowed,
            Err(error) => return ApiError::from(error).into_response(),
        }
    };
    if !allowed {
        return refusal(&origin, "no organisation allows it").into_response();
    }
    let preflight = request.method() == Method::OPTIONS
        && request.headers().contains_key(ACCESS_CONTROL_REQUEST_METHOD);
    let mut response = if preflight {
        let mut response = StatusCode::NO_CONTENT.into_response();
        let headers = response.headers_mut();
        headers.insert(ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static(ALLOWED_METHODS));
        headers.insert(ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static(ALLOWED_HEADERS));
        headers.insert(ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static(PREFLIGHT_MAX_AGE));
        response
    } else {
        request.extensions_mut().insert(CrossOrigin(origin.clone()));
        let mut response = next.run(request).await;
        response
            .headers_mut()
            .insert(ACCESS_CONTROL_EXPOSE_HEADERS, HeaderValue::from_static(EXPOSED_HEADERS));
        response
    };
    // A normalised origin is plain ASCII, so it is always a valid header value.
    if let Ok(value) = HeaderValue::from_str(&origin) {
        response.headers_mut().insert(ACCESS_CONTROL_ALLOW_ORIGIN, value);
    }
    response.headers_mut().append(VARY, HeaderValue::from_static("origin"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn origins_are_normalised_as_browsers_send_them() {
        let cases = [
            ("https://App.Example", "https://app.example"),
            ("https://app.example:443", "https://app.example"),
            ("http://app.example:80/", "http://app.example"),
            ("http://localhost:3000", "http://localhost:3000"),
            ("HTTP://127.0.0.1:5173", "http://127.0.0.1:5173"),
            ("http://[::1]:8080", "http://[::1]:8080"),
            ("https://app.example:8443", "https://app.example:8443"),
        ];
        for (text, expected) in cases {
            assert_eq!(normalize_origin(text).as_deref(), Ok(expected), "{text}");
        }
    }

    #[test]
    fn what_is_not_an_origin_is_refused_with_the_reason() {
        for text in [
            "",
            "*",
            "null",
            "app.example",
            "ftp://app.example",
            "https://app.example/path",
            "https://app.example?x=1",
            "https://user@app.example",
            "https://*.example",
            "https://app.example:0",
            "https://app.example:65536",
            "https://app.example:",
            "https://-app.example",
            "https://app..example",
            "https://[zz]:80",
            "https://[::1",
            "https://app_example",
        ] {
            assert!(normalize_origin(text).is_err(), "{text:?} was accepted");
        }
    }

    #[test]
    fn loopback_origins_are_what_dev_cors_allows() {
        for origin in ["http://localhost:3000", "http://127.0.0.1:5173", "http://[::1]:80"] {
            assert!(is_loopback(&normalize_origin(origin).unwrap()), "{origin}");
        }
        for origin in ["https://app.example", "http://localhost.example.com", "http://10.0.0.1"] {
            assert!(!is_loopback(&normalize_origin(origin).unwrap()), "{origin}");
        }
    }

    #[test]
    fn the_servers_own_origin_is_its_host() {
        let mut headers = HeaderMap::new();
        headers.insert(HOST, HeaderValue::from_static("127.0.0.1:8080"));
        assert!(same_origin("http://127.0.0.1:8080", &headers));
        assert!(!same_origin("http://127.0.0.1:3000", &headers));
        headers.insert(HOST, HeaderValue::from_static("api.example:443"));
        assert!(same_origin("https://api.example", &headers));
        assert!(!same_origin("https://evil.example", &headers));
    }

    proptest! {
        #[test]
        fn normalising_never_panics_and_is_idempotent(text in ".{0,80}") {
            if let Ok(origin) = normalize_origin(&text) {
                prop_assert_eq!(normalize_origin(&origin), Ok(origin.clone()));
                prop_assert!(HeaderValue::from_str(&origin).is_ok());
            }
        }

        #[test]
        fn generated_origins_round_trip(
            https in any::<bool>(),
            labels in proptest::collection::vec("[a-z0-9]{1,10}", 1..4),
            port in proptest::option::of(1u16..),
        ) {
            let scheme = if https { "https" } else { "http" };
            let host = labels.join(".");
            let text = match port {
                Some(port) => format!("{scheme}://{host}:{port}"),
                None => format!("{scheme}://{host}"),
            };
            let origin = normalize_origin(&text).unwrap();
            let expected = format!("{scheme}://{host}");
            prop_assert!(origin.starts_with(&expected));
        }
    }
}
