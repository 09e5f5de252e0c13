//! The README's five-minute walkthrough, run verbatim with bash and curl against
//! `latchkey serve`, so the README stays true.

use std::path::Path;
use std::process::Command;

use crate::support::{serve, TempDir};

/// The shell block between the walkthrough markers of README.md.
fn walkthrough() -> String {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md"))
            .expect("read README.md");
    let start = readme.find("<!-- walkthrough: begin -->").expect("walkthrough begin marker");
    let end = readme.find("<!-- walkthrough: end -->").expect("walkthrough end marker");
    let block = &readme[start..end];
    let body = block.split_once("```sh\n").expect("a sh block").1;
    body.rsplit_once("```").expect("end of the sh block").0.to_string()
}

fn has(tool: &str) -> bool {
    Command::new(tool).arg("--version").output().is_ok_and(|o| o.status.success())
}

#[test]
fn the_readme_walkthrough_runs_as_written() {
    if !has("curl") || !has("bash") {
        assert!(
            std::env::var_os("LATCHKEY_REQUIRE_CURL").is_none(),
            "bash and curl are required (LATCHKEY_REQUIRE_CURL is set)"
        );
        eprintln!("SKIPPED: the README walkthrough needs bash and curl");
        return;
    }
    let script = walkthrough();
    assert!(script.contains("latchkey sign"), "unexpected walkthrough:\n{script}");
    let data = TempDir::new("walkthrough");
    let work = TempDir::new("walkthrough-cwd");
    let server = serve(&data.0, &[]);
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_latchkey")).parent().unwrap().to_path_buf();
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default());
    let output = Command::new("bash")
        .arg("-c")
        .arg(format!("set -e -o pipefail\n{script}"))
        .current_dir(&work.0)
        .env("PATH", path)
        .env("LATCHKEY_URL", server.get("API"))
        .env("LATCHKEY_PUBLIC_KEY", server.get("Public key"))
        .env("LATCHKEY_SECRET_KEY", server.get("Secret key"))
        .env("GAME", server.get("Demo game"))
        .env_remove("LATCHKEY_PIN")
        .output()
        .expect("run bash");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the walkthrough failed:\n{stdout}\n{stderr}");
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}\n{stdout}"))
        })
        .collect();
    // wallet, registration, move, status, revocation, refused move, transaction list.
    assert_eq!(lines.len(), 7, "{stdout}");
    assert_eq!(lines[0]["deployed"], true, "{stdout}");
    for (index, what) in [(1, "registration"), (2, "move"), (4, "revocation")] {
        assert_eq!(lines[index]["status"], "succeeded", "{what}: {stdout}");
    }
    assert_eq!(lines[3]["state"], "active", "{stdout}");
    assert_eq!(lines[3]["remainingCalls"], 99, "{stdout}");
    assert_eq!(lines[5]["code"], "SESSION_REVOKED", "{stdout}");
    assert_eq!(lines[5]["status"], 403, "{stdout}");
    let statuses: Vec<&str> =
        lines[6].as_array().unwrap().iter().filter_map(|t| t["status"].as_str()).collect();
    assert_eq!(statuses.iter().filter(|s| **s == "succeeded").count(), 3, "{stdout}");
    // The PIN came from the environment and no key was printed in the clear.
    assert!(!stdout.contains("privateKey\":\"0x"), "{stdout}");
    assert!(!stderr.contains("482915"), "{stderr}");
}
