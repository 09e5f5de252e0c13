//! The workspace's layering, read from every crate's `Cargo.toml`: core ← port ←
//! families; port ← relayer ← api ← bin. Only the binary names a concrete chain family, so
//! the relayer and the API work for any chain behind the port. The one exception is the
//! client for JavaScript (`latchkey-wasm`), which signs for each family in the browser: it
//! may use a family's I/O-free contracts crate (keys, hashes, signatures), never a backend.
//! Dev-dependencies are free: tests may run against a real family.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The workspace's own crates a non-family crate may depend on, by crate.
const ALLOWED: &[(&str, &[&str])] = &[
    ("latchkey-core", &[]),
    ("latchkey-chain", &["latchkey-core"]),
    ("latchkey-store", &["latchkey-core"]),
    ("latchkey-auth", &["latchkey-core"]),
    ("latchkey-wasm", &["latchkey-core", "latchkey-evm-contracts"]),
    ("latchkey-testkit", &["latchkey-core", "latchkey-store", "latchkey-auth"]),
    ("latchkey-node", &[]),
    ("latchkey-relayer", &["latchkey-core", "latchkey-chain", "latchkey-store"]),
    (
        "latchkey-api",
        &["latchkey-core", "latchkey-chain", "latchkey-store", "latchkey-auth", "latchkey-relayer"],
    ),
];

/// The crate that assembles everything, families included.
const BINARY: &str = "latchkey";

/// Where chain families live: one folder per family under `crates/` (`crates/starknet/…`).
const FAMILIES: &[&str] = &["starknet", "evm"];

struct Manifest {
    name: String,
    /// `Some(family)` for a crate of a chain family.
    family: Option<String>,
    /// The workspace crates among its dependencies and build-dependencies.
    depends_on: BTreeSet<String>,
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

fn read(path: &Path, family: Option<&str>) -> Manifest {
    let text = std::fs::read_to_string(path).unwrap();
    let manifest: toml::Table = text.parse().unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let name = manifest["package"]["name"].as_str().unwrap().to_string();
    let mut depends_on = BTreeSet::new();
    for section in ["dependencies", "build-dependencies"] {
        if let Some(deps) = manifest.get(section).and_then(|d| d.as_table()) {
            depends_on.extend(deps.keys().filter(|k| k.starts_with("latchkey")).cloned());
        }
    }
    Manifest { name, family: family.map(str::to_string), depends_on }
}

fn manifests() -> Vec<Manifest> {
    let root = workspace();
    let mut found = Vec::new();
    for group in ["crates", "bin"] {
        for entry in std::fs::read_dir(root.join(group)).unwrap() {
            let dir = entry.unwrap().path();
            let folder = dir.file_name().unwrap().to_str().unwrap().to_string();
            if dir.join("Cargo.toml").is_file() {
                found.push(read(&dir.join("Cargo.toml"), None));
            } else if group == "crates" && FAMILIES.contains(&folder.as_str()) {
                for member in std::fs::read_dir(&dir).unwrap() {
                    let path = member.unwrap().path().join("Cargo.toml");
                    if path.is_file() {
                        found.push(read(&path, Some(&folder)));
                    }
                }
            }
        }
    }
    found
}

/// Every dependency of the workspace that breaks the layering, as readable lines.
fn violations(manifests: &[Manifest]) -> Vec<String> {
    let family_of =
        |name: &str| manifests.iter().find(|m| m.name == name).and_then(|m| m.family.clone());
    let mut wrong = Vec::new();
    for manifest in manifests {
        if manifest.name == BINARY {
            continue;
        }
        for dep in &manifest.depends_on {
            let allowed = match &manifest.family {
                // A family builds on the port and its own crates, nothing above them (and
                // on `latchkey-node`, a leaf, for a local chain that npm installs).
                Some(family) => {
                    dep == "latchkey-core"
                        || dep == "latchkey-chain"
                        || dep == "latchkey-node"
                        || family_of(dep).as_ref() == Some(family)
                }
                None => match ALLOWED.iter().find(|(name, _)| *name == manifest.name) {
                    Some((_, allowed)) => allowed.contains(&dep.as_str()),
                    None => {
                        wrong.push(format!("{} has no place in the layering", manifest.name));
                        break;
                    }
                },
            };
            if !allowed {
                wrong.push(format!("{} depends on {dep}", manifest.name));
            }
        }
    }
    wrong
}

#[test]
fn dependencies_point_down_the_layers_and_only_the_binary_names_a_family() {
    let manifests = manifests();
    for expected in ["latchkey-core", "latchkey-chain", "latchkey-relayer", "latchkey-api", BINARY]
    {
        assert!(manifests.iter().any(|m| m.name == expected), "{expected} not found");
    }
    for family in FAMILIES {
        assert!(manifests.iter().any(|m| m.family.as_deref() == Some(*family)), "{family}");
    }
    assert_eq!(violations(&manifests), Vec::<String>::new());
}

#[test]
fn a_dependency_against_the_layers_is_caught() {
    let crate_of = |name: &str, family: Option<&str>, deps: &[&str]| Manifest {
        name: name.into(),
        family: family.map(str::to_string),
        depends_on: deps.iter().map(|d| d.to_string()).collect(),
    };
    let manifests = [
        crate_of("latchkey-core", None, &[]),
        crate_of("latchkey-chain", None, &["latchkey-core"]),
        crate_of("latchkey-starknet", Some("starknet"), &["latchkey-chain"]),
        crate_of("latchkey-evm", Some("evm"), &["latchkey-starknet", "latchkey-relayer"]),
        crate_of("latchkey-relayer", None, &["latchkey-chain", "latchkey-starknet"]),
        crate_of("latchkey-api", None, &["latchkey-relayer"]),
        crate_of("latchkey-chain-extras", None, &["latchkey-core"]),
        crate_of(BINARY, None, &["latchkey-starknet", "latchkey-evm"]),
    ];
    assert_eq!(
        violations(&manifests),
        [
            "latchkey-evm depends on latchkey-relayer",
            "latchkey-evm depends on latchkey-starknet",
            "latchkey-relayer depends on latchkey-starknet",
            "latchkey-chain-extras has no place in the layering",
        ]
    );
}
