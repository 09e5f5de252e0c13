//! The child process: stopped on drop, killed with its parent, clear startup errors.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use alloy_provider::Provider;
use latchkey_evm_anvil::{Anvil, AnvilConfig, AnvilError, OrphanGuard};

use crate::support::*;

const HELPER_ENV: &str = "LATCHKEY_EVM_ANVIL_ORPHAN_HELPER";

fn wait_until_dead(pid: u32, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if !process_alive(pid) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

#[tokio::test]
async fn the_child_is_gone_after_drop() {
    if !available() {
        return;
    }
    let anvil = start(None).await;
    let pid = anvil.pid();
    assert!(process_alive(pid));
    assert!(anvil.is_running());
    assert_eq!(reader(&anvil).get_chain_id().await.unwrap(), 31337);
    drop(anvil);
    // Drop returns once the child is reaped.
    assert!(!process_alive(pid), "anvil {pid} survived the drop");
}

#[tokio::test]
async fn the_configured_chain_id_and_port_are_used() {
    if !available() {
        return;
    }
    let port = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap().local_addr().unwrap().port();
    let anvil =
        Anvil::start(AnvilConfig { port: Some(port), chain_id: 4242, ..AnvilConfig::default() })
            .await
            .unwrap();
    assert_eq!(anvil.url(), format!("http://127.0.0.1:{port}"));
    assert_eq!(reader(&anvil).get_chain_id().await.unwrap(), 4242);
    // A second node on the same port is refused at once (it would answer for the first).
    let error =
        Anvil::start(AnvilConfig { port: Some(port), chain_id: 4242, ..AnvilConfig::default() })
            .await
            .unwrap_err();
    assert!(matches!(error, AnvilError::PortInUse { .. }), "{error}");
}

/// Runs only as the helper process of `the_child_dies_with_its_parent`: starts anvil,
/// prints its pid and waits to be killed.
#[tokio::test]
#[ignore = "helper process of the_child_dies_with_its_parent"]
async fn orphan_helper() {
    if std::env::var_os(HELPER_ENV).is_none() {
        return;
    }
    let anvil = start(None).await;
    println!("ANVIL_PID={} GUARD={:?}", anvil.pid(), anvil.orphan_guard());
    std::io::Write::flush(&mut std::io::stdout()).unwrap();
    tokio::time::sleep(Duration::from_secs(120)).await;
    drop(anvil);
}

#[test]
fn the_child_dies_with_its_parent() {
    if !available() {
        return;
    }
    // A helper process (this test binary) starts anvil and is then SIGKILLed: no drop runs.
    let mut helper = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "process::orphan_helper", "--ignored", "--nocapture", "--test-threads=1"])
        .env(HELPER_ENV, "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = helper.stdout.take().unwrap();
    let mut line = String::new();
    let mut reader = BufReader::new(stdout);
    let (pid, guard) = loop {
        line.clear();
        assert!(
            reader.read_line(&mut line).unwrap() > 0,
            "the helper exited without starting anvil"
        );
        // libtest prints "test process::orphan_helper ... " on the same line first.
        if let Some((_, rest)) = line.trim().split_once("ANVIL_PID=") {
            let (pid, guard) = rest.split_once(" GUARD=").unwrap();
            break (pid.parse::<u32>().unwrap(), guard.to_string());
        }
    };
    assert!(process_alive(pid));
    helper.kill().unwrap();
    helper.wait().unwrap();
    if guard != format!("{:?}", OrphanGuard::ParentDeathSignal) {
        eprintln!("SKIPPED: no setpriv here ({guard}); killing the orphan {pid}");
        let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
        return;
    }
    assert!(
        wait_until_dead(pid, Duration::from_secs(10)),
        "anvil {pid} outlived its killed parent"
    );
}
