//! Prometheus metrics: request counts and latency per route, in the text exposition
//! format.

use latchkey_core::codes;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Duration;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::AppState;

/// Upper bounds of the latency histogram, in seconds.
const BUCKETS: [f64; 10] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];

#[derive(Debug, Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// Request counters and latencies.
#[derive(Debug, Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    latency: Mutex<BTreeMap<String, Histogram>>,
}

impl Metrics {
    /// Records one answered request.
    pub fn observe(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        if let Ok(mut requests) = self.requests.lock() {
            *requests.entry((method.to_string(), route.to_string(), status)).or_default() += 1;
        }
        if let Ok(mut latency) = self.latency.lock() {
            let histogram = latency.entry(route.to_string()).or_default();
            let seconds = elapsed.as_secs_f64();
            for (bucket, count) in BUCKETS.iter().zip(histogram.counts.iter_mut()) {
                if seconds <= *bucket {
                    *count += 1;
                }
            }
            histogram.count += 1;
            histogram.sum += seconds;
        }
    }

    /// The exposition text.
    pub fn render_text(&self) -> String {
        let mut out = String::new();
        out.push_str("# HELP latchkey_http_requests_total HTTP requests answered.\n");
        out.push_str("# TYPE latchkey_http_requests_total counter\n");
        if let Ok(requests) = self.requests.lock() {
            for ((method, route, status), count) in requests.iter() {
                let _ = writeln!(
                    out,
                    "latchkey_http_requests_total{{method=\"{method}\",route=\"{}\",status=\"{status}\"}} {count}",
                    escape(route)
                );
            }
        }
        out.push_str(
            "# HELP latchkey_http_request_duration_seconds Time to answer HTTP requests.\n",
        );
        out.push_str("# TYPE latchkey_http_request_duration_seconds histogram\n");
        if let Ok(latency) = self.latency.lock() {
            for (route, h) in latency.iter() {
                let route = escape(route);
                for (bucket, count) in BUCKETS.iter().zip(h.counts.iter()) {
                    let _ = writeln!(
                        out,
                        "latchkey_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bucket}\"}} {count}"
                    );
                }
                let _ = writeln!(out, "latchkey_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}", h.count);
                let _ = writeln!(
                    out,
                    "latchkey_http_request_duration_seconds_sum{{route=\"{route}\"}} {}",
                    h.sum
                );
                let _ = writeln!(
                    out,
                    "latchkey_http_request_duration_seconds_count{{route=\"{route}\"}} {}",
                    h.count
                );
            }
        }
        out
    }
}

fn escape(label: &str) -> String {
    label.replace('\\', "\\\\").replace('"', "\\\"")
}

/// `GET /metrics`: Prometheus text. Open, unless the server was started with a metrics
/// token, which it then needs as `Authorization: Bearer <token>`.
#[utoipa::path(get, path = "/metrics", tag = "service",
    responses((status = 200, description = "Prometheus text exposition format.", body = String,
            content_type = "text/plain; version=0.0.4"),
        (status = 401, description = "A metrics token is configured and was not presented (`MISSING_BEARER_TOKEN`).",
            body = crate::error::ErrorBody)))]
pub(crate) async fn render(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
) -> Response {
    if let Some(token) = &state.config.metrics_token {
        let presented = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        let same = presented.len() == token.len()
            && bool::from(subtle::ConstantTimeEq::ct_eq(presented.as_bytes(), token.as_bytes()));
        if !same {
            return crate::ApiError::unauthorized(
                codes::MISSING_BEARER_TOKEN,
                "/metrics needs Authorization: Bearer <metrics token>",
            )
            .into_response();
        }
    }
    let mut text = state.metrics.render_text();
    text.push_str("# HELP latchkey_relayer_accounts Relayer accounts in use by this process.\n");
    text.push_str("# TYPE latchkey_relayer_accounts gauge\n");
    let relayers: usize = state.chains().map(|s| s.relayer.relayer_addresses().len()).sum();
    let _ = writeln!(text, "latchkey_relayer_accounts {relayers}");
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposition_format() {
        let m = Metrics::default();
        m.observe("GET", "/health", 200, Duration::from_millis(3));
        m.observe("GET", "/health", 200, Duration::from_millis(30));
        let text = m.render_text();
        assert!(text.contains(
            "latchkey_http_requests_total{method=\"GET\",route=\"/health\",status=\"200\"} 2"
        ));
        assert!(text.contains(
            "latchkey_http_request_duration_seconds_bucket{route=\"/health\",le=\"0.005\"} 1"
        ));
        assert!(text.contains("latchkey_http_request_duration_seconds_count{route=\"/health\"} 2"));
    }
}
