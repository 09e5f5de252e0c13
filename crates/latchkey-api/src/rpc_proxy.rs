//! Read-only chain endpoints for browsers: `POST /rpc/starknet` and `POST /rpc/evm`
//! forward JSON-RPC read methods (calls, blocks, receipts, balances) to the node the
//! server uses, on the API's origin and under its CORS rules, so that a page can read
//! session state from the chain without being given the node's address (or its
//! credentials). Writes, simulations and node controls (`starknet_addInvokeTransaction`,
//! `eth_sendRawTransaction`, `devnet_*`, `anvil_*`, …) are refused with a JSON-RPC error:
//! latchkey relays writes through its API only. Unauthenticated, rate limited per client
//! address.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use latchkey_chain::Family;
use latchkey_core::codes;
use serde_json::{json, Value};

use crate::{ApiError, AppState};

/// Most calls in one JSON-RPC batch.
const MAX_BATCH: usize = 20;

/// The HTTP client every forwarded call shares (one connection pool, made once).
fn node_client() -> &'static reqwest::Client {
    static CLIENT: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    CLIENT.get_or_init(reqwest::Client::new)
}

/// How long the node gets to answer one call.
const NODE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// The Starknet read methods served (JSON-RPC 0.8/0.9 names).
const STARKNET_READS: &[&str] = &[
    "starknet_specVersion",
    "starknet_chainId",
    "starknet_syncing",
    "starknet_blockNumber",
    "starknet_blockHashAndNumber",
    "starknet_getBlockWithTxHashes",
    "starknet_getBlockWithTxs",
    "starknet_getBlockWithReceipts",
    "starknet_getBlockTransactionCount",
    "starknet_getStateUpdate",
    "starknet_getStorageAt",
    "starknet_getNonce",
    "starknet_getClass",
    "starknet_getClassAt",
    "starknet_getClassHashAt",
    "starknet_getTransactionByHash",
    "starknet_getTransactionByBlockIdAndIndex",
    "starknet_getTransactionReceipt",
    "starknet_getTransactionStatus",
    "starknet_getEvents",
    "starknet_call",
];

/// The EVM read methods served.
const EVM_READS: &[&str] = &[
    "eth_chainId",
    "net_version",
    "web3_clientVersion",
    "eth_syncing",
    "eth_blockNumber",
    "eth_getBlockByNumber",
    "eth_getBlockByHash",
    "eth_getBlockTransactionCountByNumber",
    "eth_getBlockTransactionCountByHash",
    "eth_getBalance",
    "eth_getCode",
    "eth_getStorageAt",
    "eth_getTransactionCount",
    "eth_getTransactionByHash",
    "eth_getTransactionReceipt",
    "eth_getLogs",
    "eth_gasPrice",
    "eth_maxPriorityFeePerGas",
    "eth_feeHistory",
    "eth_call",
];

/// Whether `method` is a read this endpoint forwards for `family`.
pub(crate) fn is_read(family: Family, method: &str) -> bool {
    match family {
        Family::Starknet => STARKNET_READS.contains(&method),
        Family::Evm => EVM_READS.contains(&method),
    }
}

fn rpc_error(id: Value, code: i64, message: String, latchkey_code: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id,
        "error": {"code": code, "message": message, "data": {"code": latchkey_code}}})
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}

/// `POST /rpc/{family}`.
#[utoipa::path(post, path = "/rpc/{family}", tag = "service",
    params(("family" = String, Path, description = "`starknet` or `evm`: the served chain of that family.")),
    request_body(content = Object, content_type = "application/json", description = "A JSON-RPC 2.0 call or a batch of at most 20."),
    responses((status = 200, body = Object, content_type = "application/json", description = "The node's answers; a method that is not a read gets a JSON-RPC error (`-32601`, data.code `RPC_METHOD_NOT_ALLOWED`)."),
        (status = 400, body = Object, content_type = "application/json", description = "Not JSON-RPC (`-32700` / `-32600`)."),
        (status = 404, body = crate::error::ErrorBody, description = "No served chain of that family (`UNKNOWN_CHAIN`)."),
        (status = 429, body = crate::error::ErrorBody, description = "Too many reads from this client (`RATE_LIMITED`)."),
        (status = 502, body = Object, content_type = "application/json", description = "The node did not answer (data.code `UPSTREAM_UNAVAILABLE`).")))]
pub(crate) async fn forward(
    State(state): State<AppState>,
    Path(family): Path<String>,
    request: Request,
) -> Response {
    let client = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(address)| address.ip().to_string())
        .unwrap_or_else(|| "unknown".into());
    if let Err(error) = state.limits.check_rpc_client(&client) {
        return error.into_response();
    }
    let family = match family.as_str() {
        "starknet" => Family::Starknet,
        "evm" => Family::Evm,
        _ => {
            return ApiError::not_found(
                codes::UNKNOWN_CHAIN,
                format!("no chain family {family:?}: use /rpc/starknet or /rpc/evm"),
            )
            .into_response()
        }
    };
    let Some(node) =
        state.chains().find(|s| s.chain.id().family() == family).and_then(|s| s.node_url.clone())
    else {
        return ApiError::not_found(
            codes::UNKNOWN_CHAIN,
            format!("this server has no {} chain to read from", family.as_str()),
        )
        .into_response();
    };
    let body: Bytes =
        match axum::body::to_bytes(request.into_body(), state.config.max_body_bytes).await {
            Ok(body) => body,
            Err(_) => {
                let error = rpc_error(
                    Value::Null,
                    -32600,
                    "the body is too large or cut short".into(),
                    codes::BODY_TOO_LARGE,
                );
                return json_response(StatusCode::BAD_REQUEST, &error);
            }
        };
    let parsed: Value = match serde_json::from_slice(&body) {
        Ok(parsed) => parsed,
        Err(error) => {
            let error = rpc_error(
                Value::Null,
                -32700,
                format!("parse error: {error}"),
                codes::INVALID_BODY,
            );
            return json_response(StatusCode::BAD_REQUEST, &error);
        }
    };
    let http = node_client();
    match parsed {
        Value::Array(calls) => {
            if calls.is_empty() || calls.len() > MAX_BATCH {
                let message = format!("a batch holds 1 to {MAX_BATCH} calls");
                let error = rpc_error(Value::Null, -32600, message, codes::INVALID_REQUEST);
                return json_response(StatusCode::BAD_REQUEST, &error);
            }
            let mut answers = Vec::with_capacity(calls.len());
            for call in calls {
                match one(http, &node, family, call).await {
                    Ok(answer) => answers.push(answer),
                    Err(unavailable) => {
                        return json_response(StatusCode::BAD_GATEWAY, &unavailable)
                    }
                }
            }
            json_response(StatusCode::OK, &Value::Array(answers))
        }
        call => match one(http, &node, family, call).await {
            Ok(answer) => {
                let status = if answer["error"]["code"] == json!(-32600) {
                    StatusCode::BAD_REQUEST
                } else {
                    StatusCode::OK
                };
                json_response(status, &answer)
            }
            Err(unavailable) => json_response(StatusCode::BAD_GATEWAY, &unavailable),
        },
    }
}

/// One call: the node's answer, a JSON-RPC refusal, or (`Err`) the node did not answer.
async fn one(
    http: &reqwest::Client,
    node: &str,
    family: Family,
    call: Value,
) -> Result<Value, Value> {
    let id = call.get("id").cloned().unwrap_or(Value::Null);
    let Some(method) = call.get("method").and_then(Value::as_str) else {
        return Ok(rpc_error(
            id,
            -32600,
            "a JSON-RPC call names its method".into(),
            codes::INVALID_REQUEST,
        ));
    };
    if call.get("jsonrpc") != Some(&json!("2.0")) {
        return Ok(rpc_error(
            id,
            -32600,
            "a JSON-RPC call says \"jsonrpc\": \"2.0\"".into(),
            codes::INVALID_REQUEST,
        ));
    }
    if !is_read(family, method) {
        let shown: String = method.chars().take(64).collect();
        let message = format!(
            "{shown} is not served here: this endpoint only reads the chain (writes go through latchkey's API)"
        );
        return Ok(rpc_error(id, -32601, message, codes::RPC_METHOD_NOT_ALLOWED));
    }
    let unavailable = |why: String| {
        rpc_error(
            id.clone(),
            -32603,
            format!("the chain node did not answer: {why}"),
            codes::UPSTREAM_UNAVAILABLE,
        )
    };
    let answer = http
        .post(node)
        .timeout(NODE_TIMEOUT)
        .json(&call)
        .send()
        .await
        .map_err(|e| unavailable(e.without_url().to_string()))?;
    answer.json::<Value>().await.map_err(|e| unavailable(e.without_url().to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_and_node_controls_are_not_reads() {
        for method in [
            "starknet_addInvokeTransaction",
            "starknet_addDeclareTransaction",
            "starknet_addDeployAccountTransaction",
            "starknet_estimateFee",
            "starknet_simulateTransactions",
            "devnet_mint",
            "devnet_abortBlocks",
        ] {
            assert!(!is_read(Family::Starknet, method), "{method}");
        }
        for method in [
            "eth_sendRawTransaction",
            "eth_sendTransaction",
            "eth_sign",
            "eth_estimateGas",
            "anvil_setBalance",
            "evm_mine",
            "debug_traceTransaction",
        ] {
            assert!(!is_read(Family::Evm, method), "{method}");
        }
        assert!(is_read(Family::Starknet, "starknet_call"));
        assert!(is_read(Family::Evm, "eth_call"));
        assert!(!is_read(Family::Evm, "starknet_call"), "each family its own methods");
    }
}
