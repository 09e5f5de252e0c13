//! Starts `latchkey serve` as a child process and reads what it prints.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// A running `latchkey serve`, killed on drop.
pub(crate) struct Served {
    pub(crate) child: Child,
    /// Banner fields: `API`, `Chain RPC`, `Account class`, `Public key`, `Secret key`,
    /// `Demo game`, …
    pub(crate) banner: HashMap<String, String>,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Served {
    pub(crate) fn get(&self, field: &str) -> &str {
        self.banner
            .get(field)
            .unwrap_or_else(|| panic!("{field} missing from the banner: {:?}", self.banner))
    }
}

/// `latchkey serve` on free ports with its data in `data_dir`, plus `args`.
pub(crate) fn serve(data_dir: &Path, args: &[&str]) -> Served {
    serve_with_env(data_dir, args, &[])
}

/// The same with extra environment variables (secrets go there, not in arguments).
pub(crate) fn serve_with_env(data_dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Served {
    let mut command = Command::new(env!("CARGO_BIN_EXE_latchkey"));
    command
        .arg("serve")
        .args(["--listen", "127.0.0.1:0", "--devnet-port", "0", "--anvil-port", "0"])
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .env("RUST_LOG", "warn");
    for (name, value) in env {
        command.env(name, value);
    }
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start latchkey serve");
    let stdout = child.stdout.take().expect("stdout");
    let mut banner = HashMap::new();
    let started = Instant::now();
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("read");
        if line.starts_with("Press Ctrl-C") {
            break;
        }
        // "  Field name     value   (comment)"
        if let Some(rest) = line.strip_prefix("  ") {
            if let Some((name, value)) = rest.split_once("  ") {
                let value = value.split_whitespace().next().unwrap_or_default();
                banner.insert(name.trim().to_string(), value.to_string());
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "latchkey serve did not become ready"
        );
    }
    Served { child, banner }
}

/// The native API of a running server, with its organisation's keys.
pub(crate) struct Api {
    pub(crate) url: String,
    pub(crate) public: String,
    pub(crate) secret: String,
    pub(crate) http: reqwest::Client,
}

impl Api {
    /// The API of `server` with the keys it printed at first start.
    pub(crate) fn of(server: &Served) -> Self {
        Self {
            url: server.get("API").to_string(),
            public: server.get("Public key").to_string(),
            secret: server.get("Secret key").to_string(),
            http: reqwest::Client::new(),
        }
    }

    /// The same keys at another server of the organisation (one sharing its database).
    pub(crate) fn at(&self, url: &str) -> Self {
        Self {
            url: url.to_string(),
            public: self.public.clone(),
            secret: self.secret.clone(),
            http: self.http.clone(),
        }
    }

    /// `method path` with a JSON body: the status and the JSON answer (`null` if none).
    pub(crate) async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(u16, Value), reqwest::Error> {
        let mut request = self
            .http
            .request(method, format!("{}{}", self.url, path))
            .header("x-api-key", &self.public)
            .header("authorization", format!("Bearer {}", self.secret))
            .timeout(Duration::from_secs(30));
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        Ok((status, response.json().await.unwrap_or(Value::Null)))
    }
}

/// A fresh temporary directory, removed on drop.
pub(crate) struct TempDir(pub(crate) PathBuf);

impl TempDir {
    pub(crate) fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "latchkey-{name}-{}-{}",
            std::process::id(),
            rand_suffix()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn rand_suffix() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(Instant::now().elapsed().as_nanos() as u64);
    h.finish()
}

/// Runs a build script of the repository (`sdk/ts/build.sh`, `web/build.sh`; each skips
/// what is already up to date) at most once per test run, for every test that needs it.
pub(crate) fn build_once(script: &str) -> Result<(), String> {
    type Built = std::sync::Mutex<HashMap<String, Result<(), String>>>;
    static BUILT: std::sync::OnceLock<Built> = std::sync::OnceLock::new();
    // One build at a time: web/build.sh builds the SDK too.
    let mut built = BUILT.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner());
    built
        .entry(script.to_string())
        .or_insert_with(|| {
            let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(script);
            let output = Command::new("bash")
                .arg(&path)
                .output()
                .map_err(|e| format!("cannot run {script}: {e}"))?;
            if output.status.success() {
                Ok(())
            } else {
                Err(format!(
                    "{script} failed:\n{}\n{}",
                    String::from_utf8_lossy(&output.stdout),
                    String::from_utf8_lossy(&output.stderr)
                ))
            }
        })
        .clone()
}

/// The code block between the `<!-- {marker}: begin -->` and `… end -->` markers of
/// README.md.
pub(crate) fn readme_block(marker: &str) -> String {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md"))
            .expect("read README.md");
    let start = readme.find(&format!("<!-- {marker}: begin -->")).expect("begin marker");
    let end = readme.find(&format!("<!-- {marker}: end -->")).expect("end marker");
    let block = &readme[start..end];
    // The fence's first line names the language ("```sh", "```js").
    let body = block.split_once("```").expect("a code block").1.split_once('\n').unwrap().1;
    body.rsplit_once("```").expect("end of the code block").0.to_string()
}
