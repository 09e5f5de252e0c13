//! `cairo-build`: compiles `contracts/` to Sierra and CASM with the Cairo 2.16.0 compiler
//! crates, fully offline and reproducibly.
//!
//! The Cairo core library is not shipped by the compiler crates. The one complete copy of
//! core 2.16.0 in a registry package is inside the crates.io crate `cairo-native`
//! 0.9.0-rc.5 (`test_data/programs/corelib/`). This tool obtains that crate through cargo
//! (download only, it is never compiled), checks the `.crate` archive against its
//! crates.io checksum and the extracted corelib tree against a recorded hash, and
//! compiles against it.
//!
//! ```text
//! cairo-build build   # write contracts/build/*.json
//! cairo-build check   # exit 1 if contracts/build/ is not what the sources compile to
//! ```

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{bail, Context, Result};
use cairo_lang_compiler::db::RootDatabase;
use cairo_lang_compiler::diagnostics::DiagnosticsReporter;
use cairo_lang_compiler::project::setup_project;
use cairo_lang_compiler::CompilerConfig;
use cairo_lang_defs::ids::NamedLanguageElementId;
use cairo_lang_filesystem::db::init_dev_corelib;
use cairo_lang_filesystem::ids::CrateInput;
use cairo_lang_lowering::optimizations::config::Optimizations;
use cairo_lang_lowering::utils::InliningStrategy;
use cairo_lang_starknet::compile::compile_prepared_db;
use cairo_lang_starknet::contract::find_contracts;
use cairo_lang_starknet::starknet_plugin_suite;
use cairo_lang_starknet_classes::allowed_libfuncs::ListSelector;
use cairo_lang_starknet_classes::casm_contract_class::CasmContractClass;
use sha2::{Digest, Sha256};

/// The registry package that carries the corelib, and where inside it the corelib sits.
const CORELIB_CRATE: &str = "cairo-native";
const CORELIB_CRATE_VERSION: &str = "0.9.0-rc.5";
const CORELIB_PREFIX: &str = "test_data/programs/corelib/";
/// SHA-256 of `cairo-native-0.9.0-rc.5.crate`, as published in the crates.io index.
const CORELIB_CRATE_SHA256: &str =
    "9950a82462e862001b66def6d99927d7067a8816af6b11e4623d4796c04907e9";
/// Hash of the extracted corelib tree: SHA-256 over the sorted lines
/// `<relative path>\0<sha256 of content>\n`. Pins the exact core 2.16.0 sources.
const CORELIB_TREE_SHA256: &str =
    "3810da5dcf01e052a2c32dcfbd8f9b1221dbee624ea9c49552b6dc3363656d25";
/// Largest CASM bytecode we accept (the Starknet limit is far above our contracts).
const MAX_BYTECODE_SIZE: usize = 180_000;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mode = args.first().map(String::as_str).unwrap_or("build");
    let result = match mode {
        "build" => run(Mode::Build),
        "check" => run(Mode::Check),
        "corelib-hash" => corelib_dir().map(|(dir, hash)| {
            println!("{hash}  {}", dir.display());
            true
        }),
        "-h" | "--help" | "help" => {
            println!("usage: cairo-build [build|check|corelib-hash]");
            Ok(true)
        }
        other => Err(anyhow::anyhow!("unknown command `{other}` (expected build or check)")),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(err) => {
            eprintln!("cairo-build: {err:#}");
            ExitCode::from(2)
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Build,
    Check,
}

fn run(mode: Mode) -> Result<bool> {
    let root = repo_root()?;
    let project = root.join("contracts");
    let out_dir = project.join("build");
    let (corelib, tree_hash) = corelib_dir()?;
    let outputs = compile(&project, &corelib.join("src"), &tree_hash)?;

    match mode {
        Mode::Build => {
            fs::create_dir_all(&out_dir)?;
            for (name, content) in &outputs {
                fs::write(out_dir.join(name), content)
                    .with_context(|| format!("writing {name}"))?;
            }
            // Remove stale outputs of contracts that no longer exist.
            for entry in fs::read_dir(&out_dir)? {
                let path = entry?.path();
                let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
                if name.ends_with(".json") && !outputs.contains_key(name) {
                    fs::remove_file(&path)?;
                }
            }
            println!("wrote {} files to {}", outputs.len(), out_dir.display());
            Ok(true)
        }
        Mode::Check => {
            let mut stale = Vec::new();
            for (name, content) in &outputs {
                match fs::read_to_string(out_dir.join(name)) {
                    Ok(existing) if &existing == content => {}
                    _ => stale.push(name.clone()),
                }
            }
            for entry in fs::read_dir(&out_dir).into_iter().flatten().flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if name.ends_with(".json") && !outputs.contains_key(&name) {
                    stale.push(name);
                }
            }
            if stale.is_empty() {
                println!("contracts/build is up to date ({} files)", outputs.len());
                Ok(true)
            } else {
                eprintln!(
                    "contracts/build is stale: {}\nrun `cargo run --release --manifest-path \
                     tools/cairo-build/Cargo.toml -- build` and commit the result",
                    stale.join(", ")
                );
                Ok(false)
            }
        }
    }
}

/// The repository root: the nearest ancestor of the current directory holding
/// `contracts/cairo_project.toml`, else the one this tool was built from.
fn repo_root() -> Result<PathBuf> {
    let cwd = std::env::current_dir()?;
    for dir in cwd.ancestors() {
        if dir.join("contracts/cairo_project.toml").is_file() {
            return Ok(dir.to_path_buf());
        }
    }
    let built_from = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    if built_from.join("contracts/cairo_project.toml").is_file() {
        return Ok(built_from.canonicalize()?);
    }
    bail!("cannot find contracts/cairo_project.toml above {}", cwd.display())
}

/// Compiles every contract of the project; returns file name -> file content.
fn compile(
    project: &Path,
    corelib_src: &Path,
    tree_hash: &str,
) -> Result<BTreeMap<String, String>> {
    let mut db = RootDatabase::builder()
        .with_optimizations(Optimizations::enabled_with_default_movable_functions(
            InliningStrategy::Default,
        ))
        .with_default_plugin_suite(starknet_plugin_suite())
        .build()?;
    init_dev_corelib(&mut db, corelib_src.to_path_buf());

    let main_crate_inputs = setup_project(&mut db, project)?;
    let mut diagnostics = String::new();
    let reporter =
        DiagnosticsReporter::write_to_string(&mut diagnostics).with_crates(&main_crate_inputs);
    let main_crate_ids = CrateInput::into_crate_ids(&db, main_crate_inputs);
    let contracts = find_contracts(&db, &main_crate_ids);
    if contracts.is_empty() {
        bail!("no #[starknet::contract] found in {}", project.display());
    }
    let names: Vec<String> =
        contracts.iter().map(|c| c.submodule_id.name(&db).to_string(&db)).collect();
    let config = CompilerConfig { diagnostics_reporter: reporter, ..CompilerConfig::default() };
    let refs: Vec<_> = contracts.iter().collect();
    let classes = compile_prepared_db(&db, &refs, config);
    let classes = match classes {
        Ok(classes) => classes,
        Err(err) => bail!("{err}\n{diagnostics}"),
    };
    if !diagnostics.trim().is_empty() {
        // Warnings are errors: the committed artifacts must come from clean sources.
        bail!("compiler warnings:\n{diagnostics}");
    }

    let mut outputs = BTreeMap::new();
    let mut manifest = serde_json::Map::new();
    for (name, class) in names.into_iter().zip(classes) {
        let extracted = class.extract_sierra_program(false)?;
        extracted.validate_version_compatible(ListSelector::default())?;
        let sierra_version = extracted.sierra_version.to_string();
        let casm = CasmContractClass::from_contract_class(
            class.clone(),
            extracted,
            false,
            MAX_BYTECODE_SIZE,
        )
        .with_context(|| format!("compiling {name} to CASM"))?;
        let sierra_file = format!("{name}.contract_class.json");
        let casm_file = format!("{name}.compiled_contract_class.json");
        manifest.insert(
            name.clone(),
            serde_json::json!({
                "sierra": sierra_file,
                "casm": casm_file,
                "sierra_version": sierra_version,
                "compiled_class_hash_blake2s": format!("{:#x}", casm.compiled_class_hash().to_biguint()),
                "compiled_class_hash_poseidon": format!("{:#x}", casm.legacy_compiled_class_hash().to_biguint()),
            }),
        );
        outputs.insert(sierra_file, pretty(&class)?);
        outputs.insert(casm_file, pretty(&casm)?);
    }
    let manifest = serde_json::json!({
        "compiler": "cairo-lang 2.16.0",
        "corelib": format!("{CORELIB_CRATE} {CORELIB_CRATE_VERSION} {CORELIB_PREFIX}"),
        "corelib_tree_sha256": tree_hash,
        "contracts": manifest,
    });
    outputs.insert("manifest.json".to_string(), pretty(&manifest)?);
    Ok(outputs)
}

fn pretty<T: serde::Serialize>(value: &T) -> Result<String> {
    let mut text = serde_json::to_string_pretty(value)?;
    text.push('\n');
    Ok(text)
}

/// Locates (downloading through cargo if needed), verifies and extracts the corelib.
/// Returns the extracted corelib directory and its tree hash.
fn corelib_dir() -> Result<(PathBuf, String)> {
    let archive = match find_crate_archive()? {
        Some(path) => path,
        None => {
            // `cargo info` downloads the package archive into cargo's registry cache;
            // nothing is compiled.
            let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
                .args(["info", &format!("{CORELIB_CRATE}@{CORELIB_CRATE_VERSION}")])
                .args(["--registry", "crates-io"])
                .stdout(std::process::Stdio::null())
                .status()
                .context("running `cargo info` to download the corelib package")?;
            if !status.success() {
                bail!("`cargo info {CORELIB_CRATE}@{CORELIB_CRATE_VERSION}` failed");
            }
            find_crate_archive()?.with_context(|| {
                format!("{CORELIB_CRATE}-{CORELIB_CRATE_VERSION}.crate not in the cargo cache")
            })?
        }
    };
    let bytes = fs::read(&archive)?;
    let digest = hex::encode(Sha256::digest(&bytes));
    if digest != CORELIB_CRATE_SHA256 {
        bail!("{} has sha256 {digest}, expected {CORELIB_CRATE_SHA256}", archive.display());
    }

    let files = corelib_files(&bytes)?;
    let tree_hash = tree_hash(&files);
    if tree_hash != CORELIB_TREE_SHA256 {
        bail!("corelib tree hash {tree_hash} differs from the recorded {CORELIB_TREE_SHA256}");
    }
    let dir = std::env::temp_dir().join(format!("latchkey-corelib-{}", &tree_hash[..16]));
    for (rel, content) in &files {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)?;
        }
        let same = fs::read(&path).map(|existing| &existing == content).unwrap_or(false);
        if !same {
            fs::write(&path, content)?;
        }
    }
    Ok((dir, tree_hash))
}

fn find_crate_archive() -> Result<Option<PathBuf>> {
    let cargo_home = match std::env::var_os("CARGO_HOME") {
        Some(home) => PathBuf::from(home),
        None => PathBuf::from(std::env::var_os("HOME").context("HOME is not set")?).join(".cargo"),
    };
    let cache = cargo_home.join("registry/cache");
    let file = format!("{CORELIB_CRATE}-{CORELIB_CRATE_VERSION}.crate");
    let Ok(entries) = fs::read_dir(&cache) else { return Ok(None) };
    for entry in entries.flatten() {
        let candidate = entry.path().join(&file);
        if candidate.is_file() {
            return Ok(Some(candidate));
        }
    }
    Ok(None)
}

/// The corelib files inside the `.crate` (a gzipped tar), keyed by path relative to the
/// corelib root.
fn corelib_files(archive: &[u8]) -> Result<BTreeMap<String, Vec<u8>>> {
    let prefix = format!("{CORELIB_CRATE}-{CORELIB_CRATE_VERSION}/{CORELIB_PREFIX}");
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(archive));
    let mut files = BTreeMap::new();
    for entry in tar.entries()? {
        let mut entry = entry?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let path = entry.path()?.to_string_lossy().into_owned();
        let Some(rel) = path.strip_prefix(&prefix) else { continue };
        if rel.split('/').any(|part| part == ".." || part.is_empty()) {
            bail!("unexpected path in corelib archive: {path}");
        }
        let mut content = Vec::new();
        entry.read_to_end(&mut content)?;
        files.insert(rel.to_string(), content);
    }
    if !files.contains_key("src/lib.cairo") {
        bail!("the {CORELIB_CRATE} package holds no corelib under {CORELIB_PREFIX}");
    }
    Ok(files)
}

fn tree_hash(files: &BTreeMap<String, Vec<u8>>) -> String {
    let mut hasher = Sha256::new();
    for (rel, content) in files {
        hasher.update(rel.as_bytes());
        hasher.update([0u8]);
        hasher.update(hex::encode(Sha256::digest(content)).as_bytes());
        hasher.update(b"\n");
    }
    hex::encode(hasher.finalize())
}
