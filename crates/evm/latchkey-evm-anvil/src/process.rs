//! The anvil child process: started on 127.0.0.1, supervised by a keeper thread, stopped
//! on drop, and (on Linux) killed by the kernel when latchkey dies.
//!
//! Orphan prevention, without `unsafe` (the workspace forbids it, so no `pre_exec`):
//!
//! - **Drop / [`Anvil::stop`]**: the keeper thread sends `SIGTERM` (anvil then writes its
//!   `--state` file), waits up to [`STOP_GRACE`], then `SIGKILL`s and reaps the child.
//!   Drop returns only once the child is reaped.
//! - **latchkey killed (even `SIGKILL`)**: when util-linux's `setpriv` is present (it is on
//!   every mainstream Linux distribution), anvil is started as `setpriv --pdeathsig TERM --
//!   anvil …`: `setpriv` sets `PR_SET_PDEATHSIG` and `exec`s anvil (same pid), so the
//!   kernel sends anvil `SIGTERM` when its parent goes away. The parent is the keeper
//!   thread, which lives exactly as long as the child (a parent-death signal fires when
//!   the *thread* that forked exits, so it must not be a short-lived runtime thread).
//!   Without `setpriv` only the drop path applies ([`OrphanGuard::KillOnDropOnly`]).
//! - **Ctrl-C**: anvil runs in its own process group, so the terminal's `SIGINT` reaches
//!   latchkey only, which shuts down and drops the child in order.

use std::io::Read;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use alloy_primitives::{Address, B256};
use alloy_provider::{Provider, RootProvider};

use crate::accounts::DEV_KEYS;
use crate::AnvilError;

/// Environment variable naming an anvil binary to use instead of the npm one.
pub const ANVIL_BINARY_ENV: &str = "LATCHKEY_ANVIL_BIN";

/// How long a stopping anvil gets after `SIGTERM` before `SIGKILL`: it writes its whole
/// state then (every block and receipt so far, hundreds of megabytes after a long run, a
/// few seconds on a busy machine), and a write cut short costs the blocks since the last
/// good copy.
pub const STOP_GRACE: Duration = Duration::from_secs(60);

/// The good copy of the state file is refreshed no more often than this many times what
/// the last refresh took (reading, checking and copying a large state costs a core for a
/// while).
const PROMOTE_PACING: u32 = 10;

/// How often the keeper thread looks at the child.
const KEEPER_TICK: Duration = Duration::from_millis(25);

/// The last bytes of anvil's standard error kept for error messages.
const STDERR_KEPT: usize = 8 * 1024;

/// How to start anvil.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnvilConfig {
    /// The port on 127.0.0.1; `None` picks a free one.
    pub port: Option<u16>,
    /// anvil's `--state` file: loaded at start when it exists, written on stop (and every
    /// [`AnvilConfig::state_interval`] seconds), so a restart keeps everything. A good
    /// copy is kept beside it (`<state>.good`) and replaces it if a crash cut it short.
    pub state: Option<PathBuf>,
    /// `--state-interval` in seconds when `state` is set (a crash loses at most this much);
    /// `None` writes only on stop.
    pub state_interval: Option<u64>,
    /// The chain id.
    pub chain_id: u64,
    /// `--block-time` in seconds; `None` mines a block per transaction.
    pub block_time: Option<u64>,
    /// The anvil binary; `None`: [`ANVIL_BINARY_ENV`], else the npm package installed in
    /// `contracts/evm/node_modules` (see [`anvil_binary`]).
    pub binary: Option<PathBuf>,
    /// How long anvil gets to answer `eth_chainId`.
    pub startup_timeout: Duration,
}

impl Default for AnvilConfig {
    fn default() -> Self {
        Self {
            port: None,
            state: None,
            state_interval: Some(2),
            chain_id: 31337,
            block_time: None,
            binary: None,
            startup_timeout: Duration::from_secs(30),
        }
    }
}

/// What keeps anvil from outliving latchkey.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrphanGuard {
    /// Stopped on drop, and `SIGTERM`ed by the kernel when latchkey dies (`setpriv
    /// --pdeathsig`).
    ParentDeathSignal,
    /// Stopped on drop only (no `setpriv` on this machine).
    KillOnDropOnly,
}

/// The anvil binary: [`ANVIL_BINARY_ENV`] when set, else
/// `contracts/evm/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil`, installing the
/// npm folder from its lockfile first if needed (`npm ci`; blocking).
pub fn anvil_binary() -> Result<PathBuf, AnvilError> {
    if let Some(path) = std::env::var_os(ANVIL_BINARY_ENV) {
        return Ok(PathBuf::from(path));
    }
    let dir = latchkey_node::EVM_CONTRACTS.install().map_err(AnvilError::Binary)?;
    let binary = dir.join("node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil");
    if binary.is_file() {
        Ok(binary)
    } else {
        Err(AnvilError::Binary(format!("{} is missing", binary.display())))
    }
}

/// `setpriv` from util-linux, if present.
fn setpriv() -> Option<PathBuf> {
    if !cfg!(target_os = "linux") {
        return None;
    }
    let candidates = ["/usr/bin/setpriv", "/bin/setpriv", "/usr/sbin/setpriv", "/sbin/setpriv"];
    candidates.iter().map(PathBuf::from).find(|p| p.is_file())
}

/// A free TCP port on 127.0.0.1 (the OS picks it; it is released before anvil binds it).
fn free_port() -> Result<u16, AnvilError> {
    let listener = TcpListener::bind(("127.0.0.1", 0)).map_err(AnvilError::Port)?;
    Ok(listener.local_addr().map_err(AnvilError::Port)?.port())
}

/// Shared between the keeper thread and [`Anvil`].
#[derive(Debug, Default)]
struct Shared {
    /// anvil's exit status once it has exited.
    exit: Mutex<Option<String>>,
    /// The tail of anvil's standard error.
    stderr: Mutex<String>,
}

impl Shared {
    fn exit(&self) -> Option<String> {
        self.exit.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn stderr(&self) -> String {
        self.stderr.lock().unwrap_or_else(|e| e.into_inner()).trim().to_string()
    }
}

/// A running anvil node, stopped when dropped.
#[derive(Debug)]
pub struct Anvil {
    url: String,
    port: u16,
    chain_id: u64,
    pid: u32,
    state: Option<PathBuf>,
    guard: OrphanGuard,
    shared: Arc<Shared>,
    /// Dropping it (or sending) tells the keeper to stop the child.
    stop: Option<mpsc::Sender<()>>,
    keeper: Option<JoinHandle<()>>,
}

impl Anvil {
    /// Starts anvil on 127.0.0.1 and waits until it answers `eth_chainId` with
    /// `config.chain_id`.
    pub async fn start(config: AnvilConfig) -> Result<Self, AnvilError> {
        let binary = match config.binary.clone() {
            Some(binary) => binary,
            None => tokio::task::spawn_blocking(anvil_binary)
                .await
                .map_err(|e| AnvilError::Binary(e.to_string()))??,
        };
        if let Some(parent) = config.state.as_deref().and_then(Path::parent) {
            if !parent.as_os_str().is_empty() {
                std::fs::create_dir_all(parent).map_err(AnvilError::Spawn)?;
            }
        }
        if let Some(state) = &config.state {
            crate::state::recover(state)?;
        }
        // A picked port can be taken between picking and binding: try a few.
        let attempts = if config.port.is_some() { 1 } else { 3 };
        if let Some(port) = config.port {
            // Another node on that port would answer for ours: refuse it up front.
            if let Err(source) = TcpListener::bind(("127.0.0.1", port)) {
                return Err(AnvilError::PortInUse { port, source });
            }
        }
        let mut last_error = None;
        for _ in 0..attempts {
            let port = match config.port {
                Some(port) => port,
                None => free_port()?,
            };
            let anvil = Self::spawn(&binary, &config, port)?;
            match anvil.wait_ready(&config).await {
                Ok(()) => return Ok(anvil),
                Err(e @ AnvilError::Exited { .. }) => last_error = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last_error.unwrap_or_else(|| AnvilError::Binary("no attempt made".into())))
    }

    fn spawn(binary: &Path, config: &AnvilConfig, port: u16) -> Result<Self, AnvilError> {
        let mut args: Vec<String> = vec![
            "--host".into(),
            "127.0.0.1".into(),
            "--port".into(),
            port.to_string(),
            "--chain-id".into(),
            config.chain_id.to_string(),
            // Past block states stay in memory only. By default anvil also writes them to
            // ~/.foundry/anvil/tmp, gigabytes over a long run, left behind when it is killed.
            "--max-persisted-states".into(),
            "0".into(),
        ];
        if let Some(seconds) = config.block_time {
            args.extend(["--block-time".into(), seconds.to_string()]);
        }
        if let Some(state) = &config.state {
            args.extend(["--state".into(), state.display().to_string()]);
            if let Some(seconds) = config.state_interval {
                args.extend(["--state-interval".into(), seconds.to_string()]);
            }
        }
        let setpriv = setpriv();
        let guard = if setpriv.is_some() {
            OrphanGuard::ParentDeathSignal
        } else {
            tracing::warn!(
                "setpriv not found: anvil is stopped on drop but would outlive a killed latchkey"
            );
            OrphanGuard::KillOnDropOnly
        };
        let mut command = match &setpriv {
            Some(setpriv) => {
                let mut command = Command::new(setpriv);
                command.args(["--pdeathsig", "TERM", "--"]).arg(binary);
                command
            }
            None => Command::new(binary),
        };
        command
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .process_group(0);

        let shared = Arc::new(Shared::default());
        let (started_tx, started_rx) = mpsc::channel::<std::io::Result<u32>>();
        let (stop_tx, stop_rx) = mpsc::channel::<()>();
        let keeper_shared = Arc::clone(&shared);
        // anvil writes its state file every interval (and when it stops): the keeper looks
        // at it as often, to keep a good copy.
        let state = config
            .state
            .clone()
            .map(|path| (path, Duration::from_secs(config.state_interval.unwrap_or(2).max(1))));
        let keeper = thread::Builder::new()
            .name(format!("anvil-{port}"))
            .spawn(move || keep(command, &keeper_shared, &started_tx, &stop_rx, state))
            .map_err(AnvilError::Spawn)?;
        let pid = match started_rx.recv() {
            Ok(Ok(pid)) => pid,
            Ok(Err(e)) => {
                let _ = keeper.join();
                return Err(AnvilError::Spawn(e));
            }
            Err(_) => {
                let _ = keeper.join();
                return Err(AnvilError::Spawn(std::io::Error::other("anvil keeper thread died")));
            }
        };
        tracing::debug!(pid, port, ?guard, "anvil started");
        Ok(Self {
            url: format!("http://127.0.0.1:{port}"),
            port,
            chain_id: config.chain_id,
            pid,
            state: config.state.clone(),
            guard,
            shared,
            stop: Some(stop_tx),
            keeper: Some(keeper),
        })
    }

    async fn wait_ready(&self, config: &AnvilConfig) -> Result<(), AnvilError> {
        let url = self.url.parse().map_err(|e| AnvilError::Binary(format!("bad url: {e}")))?;
        let provider = RootProvider::<alloy_network::Ethereum>::new_http(url);
        let deadline = Instant::now() + config.startup_timeout;
        loop {
            if let Some(status) = self.shared.exit() {
                return Err(AnvilError::Exited { status, stderr: self.shared.stderr() });
            }
            let attempt = tokio::time::timeout(Duration::from_secs(2), provider.get_chain_id());
            if let Ok(Ok(chain_id)) = attempt.await {
                if chain_id != config.chain_id {
                    return Err(AnvilError::ChainId {
                        expected: config.chain_id,
                        actual: chain_id,
                    });
                }
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(AnvilError::Timeout {
                    url: self.url.clone(),
                    timeout: config.startup_timeout,
                    stderr: self.shared.stderr(),
                });
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The chain id.
    pub fn chain_id(&self) -> u64 {
        self.chain_id
    }

    /// The child's process id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The `--state` file, if any.
    pub fn state_file(&self) -> Option<&Path> {
        self.state.as_deref()
    }

    /// Where [`crate::deploy_latchkey`] records the deployment for this state file:
    /// `<state>.deployment.json` (`None` without a state file).
    pub fn deployment_record(&self) -> Option<PathBuf> {
        self.state.as_ref().map(|state| {
            let mut name = state.file_name().unwrap_or_default().to_os_string();
            name.push(".deployment.json");
            state.with_file_name(name)
        })
    }

    /// What keeps this child from being orphaned.
    pub fn orphan_guard(&self) -> OrphanGuard {
        self.guard
    }

    /// Whether the child is still running.
    pub fn is_running(&self) -> bool {
        self.shared.exit().is_none()
    }

    /// anvil's funded dev accounts' private keys (the first deploys and bundles, the
    /// second owns the paymaster, the others are relayer EOAs).
    pub fn dev_keys(&self) -> &'static [B256] {
        &DEV_KEYS
    }

    /// The addresses of [`Anvil::dev_keys`].
    pub fn dev_addresses(&self) -> Vec<Address> {
        DEV_KEYS.iter().filter_map(|key| latchkey_evm_contracts::address_of(key).ok()).collect()
    }

    /// Stops anvil (`SIGTERM`, which writes the state file, then `SIGKILL` after
    /// [`STOP_GRACE`]) and waits until it is reaped. Blocking; see [`Anvil::shutdown`].
    pub fn stop(mut self) {
        self.stop_and_join();
    }

    /// [`Anvil::stop`] without blocking the async runtime.
    pub async fn shutdown(self) {
        let _ = tokio::task::spawn_blocking(move || self.stop()).await;
    }

    fn stop_and_join(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(keeper) = self.keeper.take() {
            let _ = keeper.join();
        }
    }
}

impl Drop for Anvil {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}

/// The keeper thread: spawns the child (so that it is the child's parent for
/// `PR_SET_PDEATHSIG`), drains its standard error, and stops it when told or when
/// [`Anvil`] is dropped.
fn keep(
    mut command: Command,
    shared: &Arc<Shared>,
    started: &mpsc::Sender<std::io::Result<u32>>,
    stop: &mpsc::Receiver<()>,
    state: Option<(PathBuf, Duration)>,
) {
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) => {
            let _ = started.send(Err(e));
            return;
        }
    };
    if let Some(mut stderr) = child.stderr.take() {
        let shared = Arc::clone(shared);
        let _ = thread::Builder::new().name("anvil-stderr".into()).spawn(move || {
            let mut buffer = [0u8; 4096];
            while let Ok(n) = stderr.read(&mut buffer) {
                if n == 0 {
                    break;
                }
                let mut kept = shared.stderr.lock().unwrap_or_else(|e| e.into_inner());
                kept.push_str(&String::from_utf8_lossy(&buffer[..n]));
                if kept.len() > STDERR_KEPT {
                    let mut cut = kept.len() - STDERR_KEPT;
                    while !kept.is_char_boundary(cut) {
                        cut += 1;
                    }
                    kept.drain(..cut);
                }
            }
        });
    }
    if started.send(Ok(child.id())).is_err() {
        terminate(&mut child, shared);
        return;
    }
    let mut promoted = None;
    let mut next_look = Instant::now();
    let keep_state = |promoted: &mut Option<(usize, u64)>| {
        if let Some((path, _)) = &state {
            crate::state::promote(path, promoted);
        }
    };
    loop {
        match stop.recv_timeout(KEEPER_TICK) {
            Ok(()) | Err(RecvTimeoutError::Disconnected) => {
                terminate(&mut child, shared);
                keep_state(&mut promoted);
                return;
            }
            Err(RecvTimeoutError::Timeout) => match child.try_wait() {
                Ok(Some(status)) => {
                    record_exit(shared, status.to_string());
                    keep_state(&mut promoted);
                    return;
                }
                Ok(None) => {
                    if let Some((_, every)) = &state {
                        if Instant::now() >= next_look {
                            let began = Instant::now();
                            keep_state(&mut promoted);
                            next_look =
                                Instant::now() + (*every).max(began.elapsed() * PROMOTE_PACING);
                        }
                    }
                }
                Err(e) => {
                    record_exit(shared, format!("cannot wait: {e}"));
                    terminate(&mut child, shared);
                    return;
                }
            },
        }
    }
}

fn record_exit(shared: &Shared, status: String) {
    *shared.exit.lock().unwrap_or_else(|e| e.into_inner()) = Some(status);
}

/// `SIGTERM`, up to [`STOP_GRACE`] to exit, then `SIGKILL`; always reaps.
fn terminate(child: &mut Child, shared: &Shared) {
    if let Ok(Some(status)) = child.try_wait() {
        record_exit(shared, status.to_string());
        return;
    }
    let pid = i32::try_from(child.id()).ok().and_then(rustix::process::Pid::from_raw);
    if let Some(pid) = pid {
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        let deadline = Instant::now() + STOP_GRACE;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                record_exit(shared, status.to_string());
                return;
            }
            thread::sleep(Duration::from_millis(10));
        }
        tracing::warn!(pid = child.id(), "anvil ignored SIGTERM; killing it");
    }
    let _ = child.kill();
    let status = child.wait().map(|s| s.to_string()).unwrap_or_else(|e| e.to_string());
    record_exit(shared, status);
}
