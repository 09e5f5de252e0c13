//! The Chipi Next.js example (`examples/chipi-nextjs`) in a real browser: an app written
//! with Chipi's React hooks (`@chipi-stack/nextjs`), on its own origin, configured by its
//! environment to use `latchkey serve`, with end-user tokens from its own auth provider.
//! `examples/chipi-nextjs/tests/app.mjs` drives Debian's Chromium (headless, off the
//! network, through playwright-core); screenshots go to the test's output directory.
//!
//! The organisation is set up as an app's operator would, with its secret key: the app's
//! origin allowed (CORS for real, not `--dev-cors`), the app's token issuer, and a `USDC`
//! for the balance `useChipiWallet` shows (the embedded chain has no USDC: the test names
//! its STRK contract so).
//!
//! Needs Node.js, npm and Chromium; `examples/chipi-nextjs/build.sh` installs the
//! example's packages (`npm ci`, when its lockfile changed) and builds it (`next build`,
//! which writes the chain endpoint's URL into the bundle, so once per server). Without
//! Node.js or Chromium the test is skipped, unless `LATCHKEY_REQUIRE_BROWSER` is set.

use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use latchkey_core::to_hex;
use reqwest::Method;
use serde_json::{json, Value};

use crate::browser::missing;
use crate::support::{serve, Api, TempDir};

/// The example's token issuer and audience (its defaults, `lib/auth.js`).
const ISSUER: &str = "latchkey-example-chipi-nextjs";
const AUDIENCE: &str = "latchkey";

fn example_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/chipi-nextjs")
}

/// `next start`, in a process group of its own, killed whole on drop.
struct NextApp {
    child: Child,
    url: String,
    log: PathBuf,
}

impl NextApp {
    fn start(port: u16, server: &str, public_key: &str, log: PathBuf) -> Self {
        let out = File::create(&log).expect("create the app's log");
        let child = Command::new("node")
            .args(["node_modules/next/dist/bin/next", "start", "--hostname", "127.0.0.1"])
            .args(["--port", &port.to_string()])
            .current_dir(example_dir())
            .env("LATCHKEY_URL", server)
            .env("LATCHKEY_PUBLIC_KEY", public_key)
            .env("NEXT_TELEMETRY_DISABLED", "1")
            .stdout(out.try_clone().expect("log"))
            .stderr(out)
            .process_group(0)
            .spawn()
            .expect("start next");
        Self { child, url: format!("http://127.0.0.1:{port}"), log }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for NextApp {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port nothing listens on now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[test]
fn the_chipi_nextjs_example_plays_gaslessly_in_a_real_browser_on_its_own_origin() {
    if let Some(why) = missing() {
        assert!(
            std::env::var_os("LATCHKEY_REQUIRE_BROWSER").is_none(),
            "the Chipi Next.js example must run (LATCHKEY_REQUIRE_BROWSER is set): {why}"
        );
        eprintln!("SKIPPED: {why}");
        return;
    }
    let started = Instant::now();
    let data = TempDir::new("chipi-nextjs");
    let server = serve(&data.0, &["--no-evm"]);
    let api = Api::of(&server);
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("chipi-nextjs");
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).unwrap();

    // Install and build the example for this server (its chain endpoint is in the bundle).
    let build = Instant::now();
    let output = Command::new("bash")
        .arg(example_dir().join("build.sh"))
        .env("LATCHKEY_URL", &api.url)
        .env_remove("STARKNET_RPC_URL")
        .output()
        .expect("run examples/chipi-nextjs/build.sh");
    assert!(
        output.status.success(),
        "examples/chipi-nextjs/build.sh failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    eprintln!("install and build: {:.1?}", build.elapsed());

    // The organisation lets the app's origin use its keys, accepts its users' tokens and
    // names a USDC for the balance.
    let port = free_port();
    let app_origin = format!("http://127.0.0.1:{port}");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let put = |path: &str, body: Value| {
        let (status, answer) =
            runtime.block_on(api.call(Method::PUT, path, Some(&body))).expect("PUT");
        assert_eq!(status, 200, "PUT {path}: {answer}");
        answer
    };
    let origins = put("/api/organization/allowed-origins", json!({ "origins": [app_origin] }));
    assert_eq!(origins["origins"], json!([app_origin]));
    put(
        "/api/organization/token-issuer",
        json!({ "jwksUrl": format!("{app_origin}/api/auth/jwks"), "issuer": ISSUER, "audience": AUDIENCE }),
    );
    let (_, config) =
        runtime.block_on(api.call(Method::GET, "/api/config", None)).expect("GET /api/config");
    let chain = config["chains"][0]["id"].as_str().expect("a chain").to_string();
    put(
        "/api/organization/tokens",
        json!({ "tokens": [{ "chain": chain, "symbol": "USDC",
            "address": to_hex(&latchkey_starknet::STRK_ADDRESS), "decimals": 18 }] }),
    );

    // The app, on its own origin, configured by its environment.
    let app = NextApp::start(port, &api.url, &api.public, out.join("next.log"));
    let ready = Instant::now();
    let jwks = format!("{}/api/auth/jwks", app.url);
    loop {
        let answer = runtime.block_on(async {
            let response = api.http.get(&jwks).timeout(Duration::from_secs(5)).send().await;
            match response {
                Ok(response) if response.status().is_success() => {
                    response.json::<Value>().await.ok()
                }
                _ => None,
            }
        });
        if let Some(keys) = answer {
            assert_eq!(keys["keys"][0]["alg"], "ES256", "{keys}");
            break;
        }
        assert!(
            ready.elapsed() < Duration::from_secs(60),
            "next start is not ready:\n{}",
            app.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    let browser = Instant::now();
    let output = Command::new("node")
        .arg("tests/app.mjs")
        .current_dir(example_dir())
        .env("APP_URL", &app.url)
        .env("LATCHKEY_URL", &api.url)
        .env("CHAIN_RPC", server.get("Chain RPC"))
        .env("OUT_DIR", &out)
        .env("USER_ID", "player-1")
        .stdin(Stdio::null())
        .output()
        .expect("run node");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the example's browser test failed (screenshots in {}):\n{stdout}\n{stderr}\napp log:\n{}",
        out.display(),
        app.log()
    );
    let steps: Vec<Value> =
        stdout.lines().filter_map(|line| serde_json::from_str(line).ok()).collect();
    let step = |name: &str| {
        steps
            .iter()
            .find(|s| s["step"] == name)
            .unwrap_or_else(|| panic!("step {name} missing:\n{stdout}"))
    };
    step("createWallet");
    assert_eq!(step("startSession")["remaining"], "10", "{stdout}");
    // No prompt; the calls left counted down; the moves are on chain; the balance is the
    // minted one, in the hook's default token.
    let moves = step("threeMoves");
    assert_eq!(moves["prompts"], 0, "{stdout}");
    assert_eq!(moves["remaining"], json!(["9", "8", "7"]), "{stdout}");
    assert_eq!(moves["onChain"], 3, "{stdout}");
    assert_eq!((&moves["balance"], &moves["token"]), (&json!("5.00"), &json!("USDC")), "{stdout}");
    step("revoke");
    let refused = step("moveAfterRevoke")["error"].as_str().unwrap_or_default().to_string();
    assert!(refused.contains("not active"), "{stdout}");
    // The page talked to its own origin and latchkey's, and to nothing else.
    let mut seen: Vec<&str> = step("done")["origins"]
        .as_array()
        .expect("origins")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    seen.sort_unstable();
    let mut expected = vec![api.url.as_str(), app.url.as_str()];
    expected.sort_unstable();
    assert_eq!(seen, expected, "{stdout}");
    let screenshots = std::fs::read_dir(&out)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "png"))
        .count();
    assert!(screenshots >= 4, "screenshots in {}", out.display());
    eprintln!(
        "browser: {:.1?}; total {:.1?}; screenshots: {}",
        browser.elapsed(),
        started.elapsed(),
        out.display()
    );
}
