//! `latchkey wallet …` and `latchkey session …` against a running `latchkey serve`: the
//! failure paths a person meets, each with its exit code, a clear message, a JSON error
//! document with `--json`, and no secret in any output.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

use crate::support::{serve, Served, TempDir};

pub(crate) const PIN: &str = "482915";

/// Runs `latchkey ARGS` in `dir` with the server's connection settings and `pin`.
pub(crate) fn latchkey(server: &Served, dir: &Path, pin: &str, args: &[&str]) -> Output {
    let keys = (server.get("Public key"), server.get("Secret key"));
    latchkey_at(server.get("API"), keys, dir, pin, args)
}

/// The same against the API at `url` with the organisation's `(public, secret)` keys (a
/// restarted server prints its secret key no more).
pub(crate) fn latchkey_at(
    url: &str,
    (public, secret): (&str, &str),
    dir: &Path,
    pin: &str,
    args: &[&str],
) -> Output {
    Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .args(args)
        .current_dir(dir)
        .env("LATCHKEY_URL", url)
        .env("LATCHKEY_PUBLIC_KEY", public)
        .env("LATCHKEY_SECRET_KEY", secret)
        .env("LATCHKEY_PIN", pin)
        .output()
        .expect("run latchkey")
}

/// Standard output and error together, for messages.
pub(crate) fn text(output: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The command succeeded; its `--json` document.
pub(crate) fn ok_json(output: &Output) -> Value {
    assert!(output.status.success(), "{}", text(output));
    serde_json::from_slice(&output.stdout).unwrap_or_else(|_| panic!("not JSON: {}", text(output)))
}

/// The command failed with `code`; its `--json` error document.
fn failed_json(output: &Output, exit: i32) -> Value {
    assert_eq!(output.status.code(), Some(exit), "{}", text(output));
    let doc: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|_| panic!("not a JSON error: {}", text(output)));
    assert_eq!(doc["error"]["exitCode"], exit, "{}", text(output));
    doc["error"].clone()
}

#[test]
fn cli_failures_have_exit_codes_clear_errors_and_no_secrets() {
    let data = TempDir::new("cli");
    let work = TempDir::new("cli-cwd");
    let server = serve(&data.0, &[]);
    let game = server.get("Demo game").to_string();
    let dir = work.0.as_path();
    let mut outputs = Vec::new();
    let mut run = |pin: &str, args: &[&str]| {
        let output = latchkey(&server, dir, pin, args);
        outputs.push(text(&output));
        output
    };

    // A wallet and a session scoped to make_move, registered.
    let wallet = ok_json(&run(PIN, &["wallet", "create", "--key-file", "owner.json", "--json"]));
    let address = wallet["address"].as_str().unwrap().to_string();
    assert_eq!(wallet["deployed"], true);
    let allow = format!("{game}:make_move");
    let created = run(
        PIN,
        &["session", "create", "--key-file", "s.json", "--wallet", &address, "--allow", &allow],
    );
    assert!(created.status.success(), "{}", text(&created));
    let registered = ok_json(&run(
        PIN,
        &["session", "register", "--key-file", "s.json", "--owner-key", "owner.json", "--json"],
    ));
    assert_eq!(registered["status"], "succeeded");

    // 2: the command line does not parse.
    let syntax = run(PIN, &["session", "exec", "--key-file", "s.json", "--no-such-flag"]);
    assert_eq!(syntax.status.code(), Some(2), "{}", text(&syntax));

    // 1: a malformed call, before anything is sent.
    let bad = failed_json(
        &run(PIN, &["session", "exec", "--key-file", "s.json", "--call", "not-a-call", "--json"]),
        1,
    );
    assert!(bad["message"].as_str().unwrap().contains("not-a-call"), "{bad}");

    // 1: a wrong PIN is a clear local error, never a wrong key, and the PIN is not echoed.
    let wrong = failed_json(
        &run(
            "917364",
            &[
                "session",
                "exec",
                "--key-file",
                "s.json",
                "--call",
                &format!("{game}:make_move:1"),
                "--json",
            ],
        ),
        1,
    );
    let message = wrong["message"].as_str().unwrap();
    assert!(message.contains("s.json") && message.contains("wrong PIN"), "{wrong}");

    // 1: an existing key file is never overwritten.
    let before = std::fs::read(dir.join("owner.json")).unwrap();
    let again =
        failed_json(&run(PIN, &["wallet", "create", "--key-file", "owner.json", "--json"]), 1);
    assert!(again["message"].as_str().unwrap().contains("owner.json"), "{again}");
    assert_eq!(std::fs::read(dir.join("owner.json")).unwrap(), before);

    // 3: the API refuses a method outside the allowlist, with its stable code; nothing ran.
    let refused = failed_json(
        &run(
            PIN,
            &[
                "session",
                "exec",
                "--key-file",
                "s.json",
                "--call",
                &format!("{game}:claim_reward"),
                "--json",
            ],
        ),
        3,
    );
    assert_eq!(refused["code"], "SESSION_ENTRYPOINT_NOT_ALLOWED", "{refused}");
    assert_eq!(refused["status"], 403, "{refused}");
    let status = ok_json(&run(PIN, &["session", "status", "--key-file", "s.json", "--json"]));
    assert_eq!(status["callsUsed"], 0, "{status}");
    assert_eq!(status["state"], "active", "{status}");

    // 3: an unknown wallet.
    let unknown = failed_json(&run(PIN, &["wallet", "show", "0x1234", "--json"]), 3);
    assert_eq!(unknown["status"], 404, "{unknown}");

    // 4: the server is unreachable.
    let down =
        failed_json(&run(PIN, &["wallet", "list", "--url", "http://127.0.0.1:9", "--json"]), 4);
    assert!(down["message"].as_str().unwrap().contains("127.0.0.1:9"), "{down}");

    // A move works; revoke-all ends the session; the next move is refused with 3.
    let moved = ok_json(&run(
        PIN,
        &[
            "session",
            "exec",
            "--key-file",
            "s.json",
            "--call",
            &format!("{game}:make_move:3"),
            "--json",
        ],
    ));
    assert_eq!(moved["status"], "succeeded", "{moved}");
    let revoked =
        ok_json(&run(PIN, &["session", "revoke-all", "--owner-key", "owner.json", "--json"]));
    assert_eq!(revoked["status"], "succeeded", "{revoked}");
    let after = failed_json(
        &run(
            PIN,
            &[
                "session",
                "exec",
                "--key-file",
                "s.json",
                "--call",
                &format!("{game}:make_move:4"),
                "--json",
            ],
        ),
        3,
    );
    assert_eq!(after["code"], "SESSION_REVOKED", "{after}");
    let listed = ok_json(&run(PIN, &["session", "list", "--wallet", &address, "--json"]));
    let sessions = listed.as_array().expect("a list");
    assert_eq!(sessions.len(), 1, "{listed}");
    assert_eq!(sessions[0]["state"], "revoked", "{listed}");
    assert_eq!(sessions[0]["callsUsed"], 1, "{listed}");

    // 1: no secret key in the environment: a clear local error that names the variable.
    let no_secret = Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .args(["wallet", "list", "--json"])
        .env("LATCHKEY_URL", server.get("API"))
        .env("LATCHKEY_PUBLIC_KEY", server.get("Public key"))
        .env_remove("LATCHKEY_SECRET_KEY")
        .output()
        .unwrap();
    let missing = failed_json(&no_secret, 1);
    assert!(missing["message"].as_str().unwrap().contains("LATCHKEY_SECRET_KEY"), "{missing}");

    // No output of any command carried the PIN, the wrong PIN or the secret key.
    let secret = server.get("Secret key");
    for output in &outputs {
        assert!(!output.contains(PIN) && !output.contains("917364"), "PIN printed:\n{output}");
        assert!(!output.contains(secret), "secret key printed:\n{output}");
    }
}
