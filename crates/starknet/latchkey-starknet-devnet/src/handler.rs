//! The node's JSON-RPC handler: starknet-devnet's own, with every accepted state change
//! written to the [journal](crate::journal) before its response leaves the node.

use std::sync::Arc;

use axum::extract::ws::WebSocket;
use starknet_devnet_server::api::models::{DevnetSpecRequest, JsonRpcRequest};
use starknet_devnet_server::api::{Api, JsonRpcHandler};
use starknet_devnet_server::rpc_core::error::RpcError;
use starknet_devnet_server::rpc_core::request::RpcMethodCall;
use starknet_devnet_server::rpc_core::response::{ResponseResult, RpcResponse};
use starknet_devnet_server::rpc_handler::RpcHandler;
use tokio::sync::Mutex;

use crate::journal::{Entry, Journal, Loaded};
use crate::DevnetError;

/// The journal and how many of devnet's recorded requests it holds.
#[derive(Debug)]
pub(crate) struct Recorder {
    journal: Journal,
    persisted: usize,
}

/// starknet-devnet's handler, journaling when the chain keeps its state.
#[derive(Clone)]
pub(crate) struct Handler {
    inner: JsonRpcHandler,
    api: Api,
    recorder: Option<Arc<Mutex<Recorder>>>,
}

impl Handler {
    /// A handler over `api`; `journal` (if any) receives every accepted state change.
    pub(crate) fn new(api: Api, journal: Option<Journal>) -> Self {
        let recorder =
            journal.map(|journal| Arc::new(Mutex::new(Recorder { journal, persisted: 0 })));
        Self { inner: JsonRpcHandler::new(api.clone()), api, recorder }
    }

    /// Replays a loaded journal into the (new, empty) chain: each request at the block
    /// time it first ran at, then the clock shift it left.
    pub(crate) async fn replay(&self, loaded: &Loaded) -> Result<(), DevnetError> {
        for (index, entry) in loaded.entries.iter().enumerate() {
            self.api.starknet.lock().await.next_block_timestamp = Some(entry.time);
            let response = self.inner.on_call(entry.call.clone()).await;
            if let Some(error) = response_error(&response) {
                return Err(DevnetError::Devnet(format!(
                    "replaying the chain state: request {} ({}) failed: {error}; \
                     start with --fresh-chain to replace it",
                    index + 1,
                    entry.call.method
                )));
            }
        }
        let recorded = self.api.dumpable_events.lock().await.len();
        let mut starknet = self.api.starknet.lock().await;
        starknet.next_block_timestamp = None;
        if let Some(last) = loaded.entries.last() {
            starknet.pre_confirmed_block_timestamp_shift = last.shift;
            let latest = starknet
                .get_latest_block()
                .map_err(|e| DevnetError::Devnet(e.to_string()))?
                .block_number()
                .0;
            if latest != last.block {
                return Err(DevnetError::Devnet(format!(
                    "replaying the chain state ended at block {latest}, not {}; \
                     start with --fresh-chain to replace it",
                    last.block
                )));
            }
        }
        drop(starknet);
        if let Some(recorder) = &self.recorder {
            recorder.lock().await.persisted = recorded;
        }
        Ok(())
    }

    /// Writes devnet's newly recorded requests to the journal.
    async fn record(&self, recorder: &mut Recorder) -> Result<(), DevnetError> {
        let fresh: Vec<RpcMethodCall> = {
            let events = self.api.dumpable_events.lock().await;
            events.get(recorder.persisted..).map(<[_]>::to_vec).unwrap_or_default()
        };
        if fresh.is_empty() {
            return Ok(());
        }
        let (block, time, shift) = {
            let starknet = self.api.starknet.lock().await;
            let latest =
                starknet.get_latest_block().map_err(|e| DevnetError::Devnet(e.to_string()))?;
            (
                latest.block_number().0,
                latest.timestamp().0,
                starknet.pre_confirmed_block_timestamp_shift,
            )
        };
        let entries: Vec<Entry> =
            fresh.into_iter().map(|call| Entry { block, time, shift, call }).collect();
        recorder.journal.append(&entries)?;
        recorder.persisted += entries.len();
        Ok(())
    }
}

/// The error of a JSON-RPC response, if it is one.
pub(crate) fn response_error(response: &RpcResponse) -> Option<String> {
    let value = serde_json::to_value(response).ok()?;
    value.get("error").map(|error| error.to_string())
}

#[async_trait::async_trait]
impl RpcHandler for Handler {
    type Request = JsonRpcRequest;

    async fn on_request(&self, request: JsonRpcRequest, call: RpcMethodCall) -> ResponseResult {
        self.inner.on_request(request, call).await
    }

    async fn on_call(&self, call: RpcMethodCall) -> RpcResponse {
        let Some(recorder) = &self.recorder else {
            return self.inner.on_call(call).await;
        };
        let request =
            starknet_devnet_server::api::models::to_json_rpc_request::<JsonRpcRequest>(&call);
        let Ok(request) = request else {
            return self.inner.on_call(call).await;
        };
        if let JsonRpcRequest::DevnetSpecRequest(
            DevnetSpecRequest::Restart(_)
            | DevnetSpecRequest::Load(_)
            | DevnetSpecRequest::Revert(_),
        ) = request
        {
            // These rewind the chain under the journal; a kept chain is rewound by
            // stopping it and starting it again (or with --fresh-chain).
            return RpcResponse::from_rpc_error(
                RpcError::internal_error_with(format!(
                    "{} is not available on a chain that keeps its state",
                    call.method
                )),
                call.id(),
            );
        }
        if !request.is_dumpable() {
            return self.inner.on_call(call).await;
        }
        let mut recorder = recorder.lock().await;
        let id = call.id();
        let response = self.inner.on_call(call).await;
        if let Err(error) = self.record(&mut recorder).await {
            tracing::error!(%error, journal = %recorder.journal.path().display(), "cannot write the chain state");
            return RpcResponse::from_rpc_error(
                RpcError::internal_error_with(format!("cannot write the chain state: {error}")),
                id,
            );
        }
        response
    }

    async fn on_websocket(&self, socket: WebSocket) {
        // Subscriptions are read-only; state changes over the socket are not served on a
        // chain that keeps its state (the node's router leaves `/ws` out).
        self.inner.on_websocket(socket).await;
    }
}
