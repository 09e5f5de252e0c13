//! `latchkey key` and `latchkey sign` as a user runs them: clear errors, a non-zero exit
//! code, and never a secret in the output.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use latchkey_core::{short_string, Call, Felt};
use latchkey_starknet::new_outside_execution;

use crate::support::TempDir;

fn latchkey(args: &[&str], pin: Option<&str>, stdin: &str, dir: &std::path::Path) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_latchkey"));
    command.args(args).current_dir(dir);
    for name in ["LATCHKEY_PIN", "LATCHKEY_URL", "LATCHKEY_PUBLIC_KEY", "LATCHKEY_SECRET_KEY"] {
        command.env_remove(name);
    }
    if let Some(pin) = pin {
        command.env("LATCHKEY_PIN", pin);
    }
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn key_files_refuse_bad_input_clearly() {
    let dir = TempDir::new("keys");
    let pin = "482915";

    // Without a server a new key needs --offline, and says what that costs.
    let serverless = latchkey(&["key", "new", "owner", "owner.json"], Some(pin), "", &dir.0);
    assert!(!serverless.status.success());
    assert!(text(&serverless).contains("--offline"), "{}", text(&serverless));
    assert!(!dir.0.join("owner.json").exists());

    // A weak PIN is refused, and nothing is written.
    let weak =
        latchkey(&["key", "new", "owner", "owner.json", "--offline"], Some("123456"), "", &dir.0);
    assert!(!weak.status.success());
    assert!(text(&weak).contains("weak PIN"), "{}", text(&weak));
    assert!(!dir.0.join("owner.json").exists());

    let created =
        latchkey(&["key", "new", "owner", "owner.json", "--offline"], Some(pin), "", &dir.0);
    assert!(created.status.success(), "{}", text(&created));
    assert!(text(&created).contains("offline"), "the lk1 cost is said: {}", text(&created));
    let body: serde_json::Value = serde_json::from_slice(&created.stdout).unwrap();
    assert!(body["encryptedPrivateKey"].as_str().unwrap().starts_with("lk1$owner$argon2id$"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.0.join("owner.json")).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "key files are private to their owner");
    }

    // Never overwritten.
    let again =
        latchkey(&["key", "new", "owner", "owner.json", "--offline"], Some(pin), "", &dir.0);
    assert!(!again.status.success());
    assert!(text(&again).contains("never overwritten"), "{}", text(&again));

    // Public parts only.
    let account = latchkey(&["key", "show", "owner.json", "account"], None, "", &dir.0);
    assert!(account.status.success());
    let account = String::from_utf8(account.stdout).unwrap().trim().to_string();
    assert!(account.starts_with("0x"));
    let missing = latchkey(&["key", "show", "owner.json", "privateKey"], None, "", &dir.0);
    assert!(!missing.status.success());

    // Signing: the wrong PIN, garbage input and an API error each fail clearly.
    let oe = new_outside_execution(
        vec![Call { to: Felt::from(0x1234u64), selector: Felt::from(5u8), calldata: vec![] }],
        1_900_000_000,
        600,
    );
    let typed =
        serde_json::to_string(&oe.to_typed_data(&short_string("SN_SEPOLIA").unwrap())).unwrap();
    let wrong = latchkey(&["sign", "owner.json"], Some("917364"), &typed, &dir.0);
    assert!(!wrong.status.success());
    assert!(!text(&wrong).contains("917364"), "the PIN is never echoed: {}", text(&wrong));
    let garbage = latchkey(&["sign", "owner.json"], Some(pin), "not json", &dir.0);
    assert!(!garbage.status.success());
    assert!(text(&garbage).contains("not JSON"), "{}", text(&garbage));
    let refused = latchkey(
        &["sign", "owner.json"],
        Some(pin),
        r#"{"message":"wallet not found","code":"WALLET_NOT_FOUND","status":404}"#,
        &dir.0,
    );
    assert!(!refused.status.success());
    assert!(text(&refused).contains("WALLET_NOT_FOUND"), "{}", text(&refused));

    let signed = latchkey(&["sign", "owner.json"], Some(pin), &typed, &dir.0);
    assert!(signed.status.success(), "{}", text(&signed));
    let body: serde_json::Value = serde_json::from_slice(&signed.stdout).unwrap();
    assert_eq!(body["signature"].as_array().unwrap().len(), 2);
    assert!(!text(&signed).contains(pin));

    // No PIN and no terminal: a clear error, not a hang.
    let no_pin = Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .args(["key", "new", "owner", "other.json", "--offline"])
        .current_dir(&dir.0)
        .env_remove("LATCHKEY_PIN")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert!(!no_pin.status.success());
}
