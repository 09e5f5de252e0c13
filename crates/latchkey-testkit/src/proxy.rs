//! A fault-injecting TCP proxy for JSON-RPC over HTTP/1.1, between latchkey and a node.
//!
//! It forwards each request on a connection of its own to the upstream node and, when a
//! fault is due, instead:
//!
//! - [`Fault::Latency`]: waits before forwarding;
//! - [`Fault::DropResponse`]: forwards the request, lets the node execute it, and closes
//!   the client's connection without an answer (the client cannot tell whether it ran);
//! - [`Fault::Reset`]: resets the client's connection (`SO_LINGER` 0) without forwarding;
//! - [`Fault::RpcError`]: answers a JSON-RPC error without forwarding.
//!
//! Faults are planned one at a time for requests of a given JSON-RPC method
//! ([`FaultProxy::inject`]), or drawn at random for every request ([`FaultProxy::chaos`]);
//! [`FaultProxy::set_down`] refuses every connection (a node that is gone), and
//! [`FaultProxy::retarget`] points the same address at a node started again elsewhere.
//! [`FaultProxy::injected`] counts what was done, by kind.

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the proxy does to one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Wait this long, then forward.
    Latency(Duration),
    /// Forward, then close the client's connection without the answer.
    DropResponse,
    /// Reset the client's connection; nothing is forwarded.
    Reset,
    /// Answer this JSON-RPC error; nothing is forwarded.
    RpcError {
        /// The JSON-RPC error code (e.g. -32603).
        code: i64,
        /// Its message.
        message: String,
    },
}

impl Fault {
    /// The kind, for counting: `latency`, `drop-response`, `reset`, `rpc-error`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Latency(_) => "latency",
            Self::DropResponse => "drop-response",
            Self::Reset => "reset",
            Self::RpcError { .. } => "rpc-error",
        }
    }
}

/// Random faults: each request meets one with probability `rate`, its kind drawn from
/// `kinds`, restricted to `methods` when it is not empty.
#[derive(Debug, Clone, Default)]
pub struct Chaos {
    /// Probability of a fault per request, 0 to 1.
    pub rate: f64,
    /// The faults to draw from.
    pub kinds: Vec<Fault>,
    /// JSON-RPC methods faults apply to; empty for all.
    pub methods: Vec<String>,
}

#[derive(Debug, Default)]
struct Plan {
    upstream: Option<SocketAddr>,
    down: bool,
    /// Faults due, each for the next request of its method (`None`: any method).
    planned: VecDeque<(Option<String>, Fault)>,
    chaos: Option<Chaos>,
    injected: BTreeMap<&'static str, u64>,
    forwarded: u64,
}

/// A running proxy; stops when dropped.
#[derive(Debug)]
pub struct FaultProxy {
    address: SocketAddr,
    plan: Arc<Mutex<Plan>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn lock(plan: &Mutex<Plan>) -> std::sync::MutexGuard<'_, Plan> {
    plan.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl FaultProxy {
    /// A proxy on a free port of 127.0.0.1 in front of `upstream` (`host:port` of an
    /// HTTP JSON-RPC node).
    pub async fn start(upstream: SocketAddr) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let plan = Arc::new(Mutex::new(Plan { upstream: Some(upstream), ..Plan::default() }));
        let shared = Arc::clone(&plan);
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let plan = Arc::clone(&shared);
                tokio::spawn(async move {
                    let _ = serve_connection(client, &plan).await;
                });
            }
        });
        Ok(Self { address, plan, task })
    }

    /// The proxy's address.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// Plans `fault` for each of the next `times` requests of JSON-RPC `method` (any
    /// method when `None`).
    pub fn inject(&self, method: Option<&str>, fault: Fault, times: usize) {
        let mut plan = lock(&self.plan);
        for _ in 0..times {
            plan.planned.push_back((method.map(str::to_string), fault.clone()));
        }
    }

    /// Draws faults at random from now on (`None` stops).
    pub fn chaos(&self, chaos: Option<Chaos>) {
        lock(&self.plan).chaos = chaos;
    }

    /// Refuses every connection (`true`), as a node that is gone; or serves again.
    pub fn set_down(&self, down: bool) {
        lock(&self.plan).down = down;
    }

    /// Points the proxy at another upstream (a node started again on another port).
    pub fn retarget(&self, upstream: SocketAddr) {
        lock(&self.plan).upstream = Some(upstream);
    }

    /// Faults injected so far, by kind (`down` counts refused connections).
    pub fn injected(&self) -> BTreeMap<&'static str, u64> {
        lock(&self.plan).injected.clone()
    }

    /// Requests forwarded so far.
    pub fn forwarded(&self) -> u64 {
        lock(&self.plan).forwarded
    }

    /// Faults planned and not yet met.
    pub fn pending(&self) -> usize {
        lock(&self.plan).planned.len()
    }
}

/// The fault due for a request of `method`, if any, counted.
fn fault_for(plan: &Mutex<Plan>, method: &str) -> Option<Fault> {
    let mut plan = lock(plan);
    let due = plan
        .planned
        .iter()
        .position(|(wanted, _)| wanted.as_deref().is_none_or(|wanted| wanted == method));
    let fault = match due {
        Some(index) => plan.planned.remove(index).map(|(_, fault)| fault),
        None => plan.chaos.as_ref().and_then(|chaos| {
            let applies = chaos.methods.is_empty() || chaos.methods.iter().any(|m| m == method);
            if !applies || chaos.kinds.is_empty() || rand::random::<f64>() >= chaos.rate {
                return None;
            }
            let pick = rand::random::<u64>() as usize % chaos.kinds.len();
            chaos.kinds.get(pick).cloned()
        }),
    };
    if let Some(fault) = &fault {
        *plan.injected.entry(fault.kind()).or_default() += 1;
    }
    fault
}

/// One HTTP message: its head (through the blank line) and its body.
struct Message {
    head: Vec<u8>,
    body: Vec<u8>,
}

impl Message {
    fn bytes(&self) -> Vec<u8> {
        [self.head.as_slice(), self.body.as_slice()].concat()
    }

    fn header(&self, name: &str) -> Option<String> {
        let text = String::from_utf8_lossy(&self.head);
        text.split("\r\n").skip(1).find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.trim().eq_ignore_ascii_case(name).then(|| value.trim().to_string())
        })
    }
}

/// Reads one HTTP/1.1 message (`Content-Length` or chunked body); `None` at a clean end.
async fn read_message(
    stream: &mut (impl AsyncRead + Unpin),
    buffer: &mut Vec<u8>,
) -> std::io::Result<Option<Message>> {
    let head_end = loop {
        if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        let mut chunk = [0u8; 8192];
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return if buffer.is_empty() {
                Ok(None)
            } else {
                Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "cut in the head"))
            };
        }
        buffer.extend_from_slice(&chunk[..n]);
    };
    let head: Vec<u8> = buffer.drain(..head_end).collect();
    let mut message = Message { head, body: Vec::new() };
    let chunked =
        message.header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked"));
    if chunked {
        // Keep the chunked framing as it is: read through the last (empty) chunk.
        loop {
            if let Some(end) = chunked_end(buffer) {
                message.body = buffer.drain(..end).collect();
                return Ok(Some(message));
            }
            fill(stream, buffer).await?;
        }
    }
    let length: usize = message.header("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
    while buffer.len() < length {
        fill(stream, buffer).await?;
    }
    message.body = buffer.drain(..length).collect();
    Ok(Some(message))
}

async fn fill(stream: &mut (impl AsyncRead + Unpin), buffer: &mut Vec<u8>) -> std::io::Result<()> {
    let mut chunk = [0u8; 8192];
    let n = stream.read(&mut chunk).await?;
    if n == 0 {
        return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "cut in the body"));
    }
    buffer.extend_from_slice(&chunk[..n]);
    Ok(())
}

/// Where a complete chunked body ends in `buffer`, if it is all there.
fn chunked_end(buffer: &[u8]) -> Option<usize> {
    let mut at = 0;
    loop {
        let line_end = buffer.get(at..)?.windows(2).position(|w| w == b"\r\n")? + at;
        let size_text = std::str::from_utf8(&buffer[at..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        at = line_end + 2;
        if size == 0 {
            // Trailers (none expected) end with a blank line.
            let end = buffer.get(at..)?.windows(2).position(|w| w == b"\r\n")? + at + 2;
            return Some(end);
        }
        at = at.checked_add(size)?.checked_add(2)?;
        if buffer.len() < at {
            return None;
        }
    }
}

/// The JSON-RPC method of a request body (the first of a batch).
fn method_of(body: &[u8]) -> String {
    let value: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let first = if value.is_array() { &value[0] } else { &value };
    first["method"].as_str().unwrap_or_default().to_string()
}

fn rpc_error_response(body: &[u8], code: i64, message: &str) -> Vec<u8> {
    let request: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let answer = serde_json::json!({"jsonrpc": "2.0", "id": request.get("id").cloned().unwrap_or_default(),
        "error": {"code": code, "message": message}});
    let payload = answer.to_string();
    format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{payload}",
        payload.len()
    )
    .into_bytes()
}

/// Resets `stream`: `SO_LINGER` 0, then close, so the peer reads a reset.
fn reset(stream: TcpStream) {
    #[allow(deprecated)]
    let _ = stream.set_linger(Some(Duration::ZERO));
    drop(stream);
}

async fn serve_connection(mut client: TcpStream, plan: &Mutex<Plan>) -> std::io::Result<()> {
    let (down, upstream) = {
        let plan = lock(plan);
        (plan.down, plan.upstream)
    };
    if down {
        *lock(plan).injected.entry("down").or_default() += 1;
        reset(client);
        return Ok(());
    }
    let Some(upstream) = upstream else { return Ok(()) };
    let mut node: Option<TcpStream> = None;
    let mut from_client = Vec::new();
    let mut from_node = Vec::new();
    loop {
        let Some(request) = read_message(&mut client, &mut from_client).await? else {
            return Ok(());
        };
        let fault = fault_for(plan, &method_of(&request.body));
        match &fault {
            Some(Fault::Reset) => {
                reset(client);
                return Ok(());
            }
            Some(Fault::RpcError { code, message }) => {
                client.write_all(&rpc_error_response(&request.body, *code, message)).await?;
                continue;
            }
            Some(Fault::Latency(wait)) => tokio::time::sleep(*wait).await,
            Some(Fault::DropResponse) | None => {}
        }
        if lock(plan).down {
            reset(client);
            return Ok(());
        }
        if node.is_none() {
            node = Some(TcpStream::connect(upstream).await?);
        }
        let Some(stream) = node.as_mut() else { return Ok(()) };
        stream.write_all(&request.bytes()).await?;
        let Some(response) = read_message(stream, &mut from_node).await? else {
            reset(client);
            return Ok(());
        };
        lock(plan).forwarded += 1;
        if fault == Some(Fault::DropResponse) {
            // The node ran it; the client never hears.
            reset(client);
            return Ok(());
        }
        write_all(&mut client, &response.bytes()).await?;
        if response.header("connection").is_some_and(|v| v.eq_ignore_ascii_case("close")) {
            node = None;
            from_node.clear();
        }
    }
}

async fn write_all(stream: &mut (impl AsyncWrite + Unpin), bytes: &[u8]) -> std::io::Result<()> {
    stream.write_all(bytes).await?;
    stream.flush().await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An upstream that answers every request with its method name and counts them.
    async fn upstream() -> (SocketAddr, Arc<std::sync::atomic::AtomicU64>) {
        let seen = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let counter = Arc::clone(&seen);
        let app = axum::Router::new().route(
            "/",
            axum::routing::post(move |body: String| {
                let counter = Arc::clone(&counter);
                async move {
                    counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let method = method_of(body.as_bytes());
                    axum::Json(serde_json::json!({"jsonrpc": "2.0", "id": 1, "result": method}))
                }
            }),
        );
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        (address, seen)
    }

    async fn call(url: &str, method: &str) -> Result<serde_json::Value, String> {
        let body = serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": method});
        let client = reqwest::Client::new();
        let response = client.post(url).json(&body).send().await.map_err(|e| e.to_string())?;
        response.json().await.map_err(|e| e.to_string())
    }

    #[tokio::test]
    async fn each_fault_does_what_it_says_and_is_counted() {
        let (node, seen) = upstream().await;
        let proxy = FaultProxy::start(node).await.unwrap();
        let url = proxy.url("/");
        let runs = || seen.load(std::sync::atomic::Ordering::SeqCst);

        assert_eq!(call(&url, "eth_chainId").await.unwrap()["result"], "eth_chainId");
        assert_eq!(runs(), 1);

        // Dropped after forwarding: the node ran it, the client got no answer.
        proxy.inject(Some("eth_sendRawTransaction"), Fault::DropResponse, 1);
        assert_eq!(
            call(&url, "eth_chainId").await.unwrap()["result"],
            "eth_chainId",
            "other methods pass"
        );
        assert!(call(&url, "eth_sendRawTransaction").await.is_err());
        assert_eq!(runs(), 3);

        // Reset: not forwarded.
        proxy.inject(None, Fault::Reset, 1);
        assert!(call(&url, "eth_blockNumber").await.is_err());
        assert_eq!(runs(), 3);

        // A JSON-RPC error, not forwarded.
        proxy.inject(None, Fault::RpcError { code: -32603, message: "internal error".into() }, 1);
        let answer = call(&url, "eth_blockNumber").await.unwrap();
        assert_eq!(answer["error"]["code"], -32603);
        assert_eq!(runs(), 3);

        // Latency: forwarded late.
        proxy.inject(None, Fault::Latency(Duration::from_millis(150)), 1);
        let started = std::time::Instant::now();
        assert!(call(&url, "eth_blockNumber").await.is_ok());
        assert!(started.elapsed() >= Duration::from_millis(150));
        assert_eq!(runs(), 4);

        // Down: every connection refused, until it is up again.
        proxy.set_down(true);
        assert!(call(&url, "eth_blockNumber").await.is_err());
        proxy.set_down(false);
        assert!(call(&url, "eth_blockNumber").await.is_ok());

        let injected = proxy.injected();
        for kind in ["drop-response", "reset", "rpc-error", "latency", "down"] {
            assert_eq!(injected.get(kind), Some(&1), "{kind}: {injected:?}");
        }
        assert_eq!(proxy.pending(), 0);
    }

    #[tokio::test]
    async fn chaos_draws_faults_for_the_methods_it_names() {
        let (node, _) = upstream().await;
        let proxy = FaultProxy::start(node).await.unwrap();
        let url = proxy.url("/");
        proxy.chaos(Some(Chaos {
            rate: 1.0,
            kinds: vec![Fault::RpcError { code: -32000, message: "busy".into() }],
            methods: vec!["eth_sendRawTransaction".into()],
        }));
        assert!(call(&url, "eth_chainId").await.unwrap().get("error").is_none());
        assert_eq!(call(&url, "eth_sendRawTransaction").await.unwrap()["error"]["code"], -32000);
        proxy.chaos(None);
        assert!(call(&url, "eth_sendRawTransaction").await.unwrap().get("error").is_none());
        assert_eq!(proxy.injected().get("rpc-error"), Some(&1));
    }

    proptest::proptest! {
        /// No bytes panic the framing, and an end it finds is within the bytes.
        #[test]
        fn chunked_framing_never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..256)) {
            if let Some(end) = chunked_end(&bytes) {
                proptest::prop_assert!(end <= bytes.len());
            }
            let _ = method_of(&bytes);
        }
    }

    #[test]
    fn chunked_bodies_are_framed_whole() {
        let whole = b"4\r\nwiki\r\n0\r\n\r\n";
        assert_eq!(chunked_end(whole), Some(whole.len()));
        assert_eq!(chunked_end(b"4\r\nwiki\r\n0\r\n\r\nnext"), Some(whole.len()));
        assert_eq!(chunked_end(b"4\r\nwiki\r\n0\r\n"), None);
        assert_eq!(chunked_end(b"4\r\nwi"), None);
        assert_eq!(chunked_end(b"zz\r\n"), None);
    }
}
