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

/// Runs `latchkey admin ARGS --json` against `server` with `token` as the operator token
/// (none when `None`).
fn admin(server: &Served, dir: &Path, token: Option<&str>, args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_latchkey"));
    command
        .arg("admin")
        .args(args)
        .arg("--json")
        .current_dir(dir)
        .env("LATCHKEY_URL", server.get("API"));
    command.env_remove("LATCHKEY_OPERATOR_TOKEN");
    if let Some(token) = token {
        command.env("LATCHKEY_OPERATOR_TOKEN", token);
    }
    command.output().expect("run latchkey admin")
}

#[test]
fn admin_commands_run_an_organisation_with_exit_codes_and_no_secrets_shown_twice() {
    let data = TempDir::new("cli-admin");
    let work = TempDir::new("cli-admin-cwd");
    let server = serve(&data.0, &[]);
    let dir = work.0.as_path();
    let token = server.get("Operator").to_string();
    let chain = "starknet:SN_SEPOLIA";
    let run = |args: &[&str]| admin(&server, dir, Some(&token), args);

    // Without the token, with an organisation key instead, or with a wrong one.
    let missing = failed_json(&admin(&server, dir, None, &["org", "list"]), 1);
    assert!(missing["message"].as_str().unwrap().contains("LATCHKEY_OPERATOR_TOKEN"), "{missing}");
    let org_key =
        failed_json(&admin(&server, dir, Some(server.get("Secret key")), &["org", "list"]), 1);
    assert!(org_key["message"].as_str().unwrap().contains("lkop_"), "{org_key}");
    let wrong = "lkop_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    let refused = failed_json(&admin(&server, dir, Some(wrong), &["org", "list"]), 3);
    assert_eq!(refused["code"], "INVALID_OPERATOR_TOKEN", "{refused}");

    // An organisation, its keys, its budget.
    let org = ok_json(&run(&["org", "create", "Acme Games"]));
    let id = org["id"].as_str().unwrap().to_string();
    let listed = ok_json(&run(&["org", "list"]));
    assert!(listed["organizations"].as_array().unwrap().iter().any(|o| o["id"] == id.as_str()));
    let keys = ok_json(&run(&["keys", "issue", &id, "--environment", "prod"]));
    let (public, secret) = (
        keys["publicKey"].as_str().unwrap().to_string(),
        keys["secretKey"].as_str().unwrap().to_string(),
    );
    let budget = ok_json(&run(&["budget", "set", &id, "--chain", chain, "2000000000000000000"]));
    assert_eq!(budget["budget"], "2000000000000000000");
    let budget = ok_json(&run(&["budget", "top-up", &id, "--chain", chain, "1000000000000000000"]));
    assert_eq!(budget["budget"], "3000000000000000000");
    let budgets = ok_json(&run(&["budget", "list", &id]));
    assert_eq!(budgets["gasBudgets"][0]["remaining"], "3000000000000000000", "{budgets}");

    // The new keys work for the CLI's other commands.
    let wallets = ok_json(&latchkey_at(
        server.get("API"),
        (&public, &secret),
        dir,
        PIN,
        &["wallet", "list", "--json"],
    ));
    assert_eq!(wallets.as_array().map(Vec::len), Some(0), "{wallets}");

    // Rotation with no overlap: the old secret is refused, the new one works.
    let secret_id = ok_json(&run(&["keys", "list", &id]))["apiKeys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kind"] == "secret")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let rotated = ok_json(&run(&["keys", "rotate", &id, &secret_id]));
    let new_secret = rotated["key"].as_str().unwrap().to_string();
    let old = failed_json(
        &latchkey_at(
            server.get("API"),
            (&public, &secret),
            dir,
            PIN,
            &["wallet", "list", "--json"],
        ),
        3,
    );
    assert_eq!(old["code"], "INVALID_API_KEY", "{old}");
    ok_json(&latchkey_at(
        server.get("API"),
        (&public, &new_secret),
        dir,
        PIN,
        &["wallet", "list", "--json"],
    ));

    // Suspended, then reinstated.
    let suspended = ok_json(&run(&["org", "suspend", &id]));
    assert_eq!(suspended["suspended"], true);
    let refused = failed_json(
        &latchkey_at(
            server.get("API"),
            (&public, &new_secret),
            dir,
            PIN,
            &["wallet", "list", "--json"],
        ),
        3,
    );
    assert_eq!(refused["code"], "ORGANIZATION_SUSPENDED", "{refused}");
    ok_json(&run(&["org", "reinstate", &id]));
    ok_json(&run(&["org", "rename", &id, "Acme"]));
    let shown = ok_json(&run(&["org", "show", &id]));
    assert_eq!((shown["name"].as_str(), shown["suspended"].as_bool()), (Some("Acme"), Some(false)));

    // Bad input: a clear refusal (exit 3) or a command line that does not parse (exit 2).
    let unknown = failed_json(&run(&["org", "show", "missing"]), 3);
    assert_eq!(unknown["code"], "ORGANIZATION_NOT_FOUND", "{unknown}");
    let amount = failed_json(&run(&["budget", "set", &id, "--chain", chain, "lots"]), 3);
    assert_eq!(amount["code"], "INVALID_AMOUNT", "{amount}");
    let revoke = failed_json(&run(&["keys", "revoke", &id, "missing"]), 3);
    assert_eq!(revoke["code"], "API_KEY_NOT_FOUND", "{revoke}");
    assert_eq!(
        run(&["keys", "rotate", &id, &secret_id, "--overlap", "soon"]).status.code(),
        Some(2)
    );

    // The audit log has every change, and shows no key or token in full.
    let audit = run(&["audit", "--target", &format!("organization:{id}")]);
    let records = ok_json(&audit);
    let actions: Vec<_> = records["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "organization.create",
            "api_key.issue",
            "gas_budget.set",
            "gas_budget.top_up",
            "organization.suspend",
            "organization.reinstate",
            "organization.rename"
        ]
    );
    let all = text(&run(&["audit", "--limit", "200"]));
    for secret in [&secret, &new_secret, &public, &token] {
        assert!(!all.contains(secret.as_str()), "{all}");
    }

    // A new operator token, printed once; the old one stops at once without an overlap.
    let rotated = ok_json(&run(&["token", "rotate"]));
    let fresh = rotated["token"].as_str().unwrap().to_string();
    let old = failed_json(&admin(&server, dir, Some(&token), &["org", "list"]), 3);
    assert_eq!(old["code"], "INVALID_OPERATOR_TOKEN", "{old}");
    ok_json(&admin(&server, dir, Some(&fresh), &["org", "list"]));

    // Text output: tables, and the secret shown once with a warning.
    let mut text_run = Command::new(env!("CARGO_BIN_EXE_latchkey"));
    let issued = text_run
        .args(["admin", "keys", "issue", &id])
        .current_dir(dir)
        .env("LATCHKEY_URL", server.get("API"))
        .env("LATCHKEY_OPERATOR_TOKEN", &fresh)
        .output()
        .unwrap();
    let shown = text(&issued);
    assert!(issued.status.success(), "{shown}");
    assert!(
        shown.contains("Secret key")
            && shown.contains("sk_dev_")
            && shown.contains("shown this once"),
        "{shown}"
    );
}

#[test]
fn admin_settings_commands_change_an_organisation_with_exit_codes_and_audit_records() {
    let data = TempDir::new("cli-admin-settings");
    let work = TempDir::new("cli-admin-settings-cwd");
    let server = serve(&data.0, &[]);
    let dir = work.0.as_path();
    let token = server.get("Operator").to_string();
    let chain = "starknet:SN_SEPOLIA";
    let usdc = "0x53c91253bc9682c04929ca02ed00b3e423f6710d2ee7e0d5ebb06f3ecf368a8";
    let run = |args: &[&str]| admin(&server, dir, Some(&token), args);

    // Without the token, or with an organisation's key instead: refused before any call.
    let missing = failed_json(&admin(&server, dir, None, &["origins", "list", "x"]), 1);
    assert!(missing["message"].as_str().unwrap().contains("LATCHKEY_OPERATOR_TOKEN"), "{missing}");
    let org_key = failed_json(
        &admin(&server, dir, Some(server.get("Secret key")), &["policy", "show", "x"]),
        1,
    );
    assert!(org_key["message"].as_str().unwrap().contains("lkop_"), "{org_key}");

    let id = ok_json(&run(&["org", "create", "Acme"]))["id"].as_str().unwrap().to_string();

    // Allowed origins, normalised.
    let want = serde_json::json!(["http://localhost:3000", "https://app.example"]);
    let set =
        ok_json(&run(&["origins", "set", &id, "https://App.Example", "http://localhost:3000"]));
    assert_eq!(set["origins"], want, "{set}");
    assert_eq!(ok_json(&run(&["origins", "list", &id]))["origins"], want);

    // The end-user token issuer: set, shown, removed.
    let issuer = ok_json(&run(&[
        "issuer",
        "set",
        &id,
        "--jwks-url",
        "https://auth.example.com/.well-known/jwks.json",
        "--issuer",
        "https://auth.example.com",
        "--audience",
        "acme",
    ]));
    assert_eq!(issuer["audience"], "acme", "{issuer}");
    assert_eq!(ok_json(&run(&["issuer", "show", &id])), issuer);
    assert_eq!(ok_json(&run(&["issuer", "remove", &id])), Value::Null);
    assert_eq!(ok_json(&run(&["issuer", "show", &id])), Value::Null);

    // Registered tokens.
    let tokens =
        ok_json(&run(&["tokens", "set", &id, "--token", &format!("{chain},USDC,{usdc},6")]));
    assert_eq!(
        (tokens["tokens"][0]["symbol"].as_str(), tokens["tokens"][0]["decimals"].as_u64()),
        (Some("USDC"), Some(6)),
        "{tokens}"
    );
    assert_eq!(ok_json(&run(&["tokens", "list", &id])), tokens);

    // The sponsorship policy and its quotas, from a file.
    std::fs::write(
        dir.join("policy.json"),
        r#"{"maxFeePerTxFri":"1000000000000000000","dailyGasPerUserFri":"5000000000000000000"}"#,
    )
    .unwrap();
    let policy = ok_json(&run(&["policy", "set", &id, "--file", "policy.json"]));
    assert_eq!(policy["dailyGasPerUserFri"], "5000000000000000000", "{policy}");
    assert_eq!(ok_json(&run(&["policy", "show", &id])), policy);

    // A budget alert threshold: above what is left, it alerts; cleared, it does not.
    ok_json(&run(&["budget", "set", &id, "--chain", chain, "2000000000000000000"]));
    let alert = ok_json(&run(&["budget", "alert", &id, "--chain", chain, "3000000000000000000"]));
    assert_eq!(
        (alert["alertThreshold"].as_str(), alert["alerting"].as_bool()),
        (Some("3000000000000000000"), Some(true)),
        "{alert}"
    );
    let listed = ok_json(&run(&["budget", "list", &id]));
    assert_eq!(listed["gasBudgets"][0]["alerting"], true, "{listed}");
    let cleared = ok_json(&run(&["budget", "alert", &id, "--chain", chain, "--clear"]));
    assert_eq!((&cleared["alertThreshold"], &cleared["alerting"]), (&Value::Null, &false.into()));

    // Bad input: a clear refusal (exit 3), a local error (exit 1), or a command line that
    // does not parse (exit 2).
    std::fs::write(dir.join("bad.json"), r#"{"maxFeePerTxFri":"lots"}"#).unwrap();
    std::fs::write(dir.join("broken.json"), "{").unwrap();
    let refusals: [(&[&str], &str); 7] = [
        (&["origins", "set", &id, "not an origin"], "INVALID_ORIGIN"),
        (
            &[
                "issuer",
                "set",
                &id,
                "--jwks-url",
                "http://a.example/j",
                "--issuer",
                "x",
                "--audience",
                "y",
            ],
            "INVALID_TOKEN_ISSUER",
        ),
        (&["tokens", "set", &id, "--token", "eip155:9,USDC,0x1,6"], "UNKNOWN_CHAIN"),
        (&["policy", "set", &id, "--file", "bad.json"], "INVALID_SPONSORSHIP_POLICY"),
        (&["budget", "alert", &id, "--chain", chain, "lots"], "INVALID_AMOUNT"),
        (&["origins", "list", "missing"], "ORGANIZATION_NOT_FOUND"),
        (&["budget", "alert", "missing", "--chain", chain, "1"], "ORGANIZATION_NOT_FOUND"),
    ];
    for (args, code) in refusals {
        let refused = failed_json(&run(args), 3);
        assert_eq!(refused["code"], code, "{args:?}: {refused}");
    }
    let broken = failed_json(&run(&["policy", "set", &id, "--file", "broken.json"]), 1);
    assert!(broken["message"].as_str().unwrap().contains("broken.json"), "{broken}");
    assert_eq!(run(&["tokens", "set", &id, "--token", "USDC"]).status.code(), Some(2));
    assert_eq!(run(&["budget", "alert", &id, "--chain", chain]).status.code(), Some(2));

    // Every change is in the audit log, and only the changes.
    let records = ok_json(&run(&["audit", "--target", &format!("organization:{id}")]));
    let actions: Vec<_> = records["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "organization.create",
            "allowed_origins.set",
            "token_issuer.set",
            "token_issuer.remove",
            "tokens.set",
            "sponsorship_policy.set",
            "gas_budget.set",
            "gas_budget.alert_threshold",
            "gas_budget.alert_threshold"
        ]
    );

    // Text output: the budget table names the threshold and whether it alerts.
    let listed = Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .args(["admin", "budget", "list", &id])
        .current_dir(dir)
        .env("LATCHKEY_URL", server.get("API"))
        .env("LATCHKEY_OPERATOR_TOKEN", &token)
        .output()
        .unwrap();
    let shown = text(&listed);
    assert!(listed.status.success(), "{shown}");
    assert!(shown.contains("ALERT BELOW") && shown.contains("ALERTING"), "{shown}");
}
