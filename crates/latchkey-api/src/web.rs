//! The browser side: the dashboard and the demo game, built into a directory of static
//! files (`web/dist`), served for every path that is not an API route, with the
//! single-page fallback to `index.html`. Without a built directory, `/` explains how to
//! build it. API paths (`/api/…`, `/v1/…`) never fall through to files: an unknown one
//! is a JSON 404.

use latchkey_core::codes;
use std::path::Path;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use tower::ServiceExt;
use tower_http::services::{ServeDir, ServeFile};

use crate::{ApiError, AppState};

/// The content security policy of the pages: everything from this origin only; WASM may
/// be compiled (the SDK's cryptography), nothing else is evaluated.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; \
     frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// Answers a request no route matched.
pub(crate) async fn fallback(State(state): State<AppState>, request: Request) -> Response {
    let path = request.uri().path();
    let is_api = path == "/api" || path.starts_with("/api/") || path.starts_with("/v1/");
    let is_read = request.method() == Method::GET || request.method() == Method::HEAD;
    if is_api || !is_read {
        return ApiError::not_found(codes::ROUTE_NOT_FOUND, "no such route").into_response();
    }
    match state.config.web_dir.as_deref().filter(|dir| dir.join("index.html").is_file()) {
        Some(dir) => serve_file(dir, request).await,
        None if path == "/" => not_built(state.config.web_dir.as_deref()),
        None => ApiError::not_found(codes::ROUTE_NOT_FOUND, "no such route").into_response(),
    }
}

async fn serve_file(dir: &Path, request: Request) -> Response {
    let immutable = request.uri().path().starts_with("/assets/");
    let service = ServeDir::new(dir).fallback(ServeFile::new(dir.join("index.html")));
    let mut response = match service.oneshot(request).await {
        Ok(response) => response.into_response(),
        Err(never) => match never {},
    };
    let headers = response.headers_mut();
    headers
        .insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(if immutable {
            // Vite names every asset by its content hash.
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        }),
    );
    response
}

fn not_built(dir: Option<&Path>) -> Response {
    let looked = dir.map_or_else(|| "no --web-dir given".to_string(), |d| d.display().to_string());
    let page = format!(
        "<!doctype html><meta charset=utf-8><title>latchkey</title>\
         <h1>latchkey is running</h1>\
         <p>The API answers under <code>/api</code> (<a href=/api/openapi.json>OpenAPI</a>) and \
         <code>/v1</code>; <a href=/health>health</a>, <a href=/metrics>metrics</a>.</p>\
         <p>The dashboard and the demo game are not built (looked in <code>{}</code>). \
         Build them with <code>web/build.sh</code> (needs Node.js and npm), then reload.</p>",
        html_escape(&looked)
    );
    let mut response = (StatusCode::OK, Html(page)).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    response
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_escaped() {
        assert_eq!(html_escape("<a href=\"x\">&"), "&lt;a href=&quot;x&quot;&gt;&amp;");
    }
}
