//! `latchkey serve` killed and started again on the same data directory: the embedded
//! Starknet chain comes back with its state, so a registered session goes on without
//! registering again; `--fresh-chain` starts the chain empty on purpose. (The EVM twin is
//! `evm::a_restarted_server_finds_evm_wallets_and_sessions_where_they_were`.)

use crate::cli::{latchkey_at, ok_json, text, PIN};
use crate::support::{serve, Served, TempDir};

#[test]
fn a_killed_server_restarts_with_its_starknet_sessions_where_they_were() {
    let data = TempDir::new("restart");
    let work = TempDir::new("restart-cwd");
    let dir = work.0.as_path();
    let server = serve(&data.0, &["--no-evm"]);
    let game = server.get("Demo game").to_string();
    let keys = (server.get("Public key").to_string(), server.get("Secret key").to_string());
    let latchkey = |server: &Served, dir: &std::path::Path, pin: &str, args: &[&str]| {
        latchkey_at(server.get("API"), (&keys.0, &keys.1), dir, pin, args)
    };
    let call = |n: u32| format!("{game}:make_move:{n}");

    let wallet = ok_json(&latchkey(
        &server,
        dir,
        PIN,
        &["wallet", "create", "--key-file", "owner.json", "--json"],
    ));
    let address = wallet["address"].as_str().unwrap().to_string();
    let allow = format!("{game}:make_move");
    let created = latchkey(
        &server,
        dir,
        PIN,
        &[
            "session",
            "create",
            "--key-file",
            "s.json",
            "--wallet",
            &address,
            "--allow",
            &allow,
            "--max-calls",
            "5",
        ],
    );
    assert!(created.status.success(), "{}", text(&created));
    let registered = ok_json(&latchkey(
        &server,
        dir,
        PIN,
        &["session", "register", "--key-file", "s.json", "--owner-key", "owner.json", "--json"],
    ));
    assert_eq!(registered["status"], "succeeded", "{registered}");
    let exec = |server: &Served, n: u32| {
        latchkey(
            server,
            dir,
            PIN,
            &["session", "exec", "--key-file", "s.json", "--call", &call(n), "--json"],
        )
    };
    assert_eq!(ok_json(&exec(&server, 1))["status"], "succeeded");

    // SIGKILL, then a start on the same data directory.
    drop(server);
    let server = serve(&data.0, &["--no-evm"]);
    assert_eq!(server.get("Demo game"), game);
    let status = ok_json(&latchkey(
        &server,
        dir,
        PIN,
        &["session", "status", "--key-file", "s.json", "--json"],
    ));
    assert_eq!(
        (status["state"].as_str(), status["callsUsed"].as_u64()),
        (Some("active"), Some(1)),
        "{status}"
    );
    // The session executes without being registered again, its counter going on.
    assert_eq!(ok_json(&exec(&server, 2))["status"], "succeeded");
    let status = ok_json(&latchkey(
        &server,
        dir,
        PIN,
        &["session", "status", "--key-file", "s.json", "--json"],
    ));
    assert_eq!(status["callsUsed"], 2, "{status}");

    // --fresh-chain: the wallet is deployed again at its address, the session is gone.
    drop(server);
    let server = serve(&data.0, &["--no-evm", "--fresh-chain"]);
    let moved = exec(&server, 3);
    assert!(!moved.status.success(), "a session of a discarded chain ran: {}", text(&moved));
    let created = latchkey(
        &server,
        dir,
        PIN,
        &["session", "create", "--key-file", "s2.json", "--wallet", &address, "--allow", &allow],
    );
    assert!(created.status.success(), "{}", text(&created));
    let registered = ok_json(&latchkey(
        &server,
        dir,
        PIN,
        &["session", "register", "--key-file", "s2.json", "--owner-key", "owner.json", "--json"],
    ));
    assert_eq!(registered["status"], "succeeded", "the wallet was redeployed: {registered}");
}
