//! The code registry against everything that repeats it: `docs/errors.md`, the core's
//! session codes, the TypeScript SDK's `ErrorCodes`, `latchkey-auth`'s constants, and the
//! server sources, which name codes through `latchkey_core::codes` only.

use std::path::{Path, PathBuf};

use latchkey_core::codes::{self, ALL};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(path: &str) -> String {
    std::fs::read_to_string(repo().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Every `"SCREAMING_SNAKE"` literal in `text`.
fn code_literals(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for piece in text.split('"').skip(1).step_by(2) {
        let is_code = piece.len() > 2
            && piece.contains('_')
            && piece.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
        if is_code {
            out.push(piece.to_string());
        }
    }
    out
}

#[test]
fn docs_errors_md_is_written_from_the_registry() {
    let path = repo().join("docs/errors.md");
    let expected = codes::markdown();
    if std::env::var_os("LATCHKEY_BLESS").is_some() {
        std::fs::write(&path, &expected).unwrap();
    }
    let found = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        found == expected,
        "docs/errors.md is stale: run LATCHKEY_BLESS=1 cargo test -p latchkey-core --test codes"
    );
}

#[test]
fn the_session_codes_are_registered_with_their_numbers() {
    for code in latchkey_core::SessionErrorCode::ALL {
        let registered = codes::find(code.as_str()).unwrap_or_else(|| panic!("{}", code.as_str()));
        assert_eq!(registered.number, Some(code.value()), "{}", code.as_str());
    }
}

#[test]
fn the_typescript_error_table_is_the_registry_s_numbered_codes() {
    let text = read("sdk/ts/src/errors.ts");
    let start = text.find("ErrorCodes = Object.freeze({").expect("the ErrorCodes table");
    let end = start + text[start..].find("})").expect("its end");
    let table: Vec<(u16, String)> = text[start..end]
        .lines()
        .filter_map(|line| {
            let (name, number) = line.trim().trim_end_matches(',').split_once(':')?;
            Some((number.trim().parse().ok()?, name.trim().to_string()))
        })
        .collect();
    let numbered: Vec<(u16, String)> =
        ALL.iter().filter_map(|c| c.number.map(|n| (n, c.name.to_string()))).collect();
    assert_eq!(table, numbered, "sdk/ts/src/errors.ts ErrorCodes");
}

#[test]
fn latchkey_auth_names_registered_codes_only() {
    let text = read("crates/latchkey-auth/src/error.rs");
    let mut seen = 0;
    for line in text.lines().filter(|l| l.trim_start().starts_with("pub const ")) {
        for literal in code_literals(line) {
            assert!(codes::find(&literal).is_some(), "latchkey-auth's {literal} is not registered");
            seen += 1;
        }
    }
    assert!(seen >= 6, "latchkey-auth's codes were not found");
}

/// A code in a server source is named through `codes::`, never as a literal, so a typo
/// cannot make a new code. (Test modules are not checked.)
#[test]
fn server_sources_name_codes_through_the_registry() {
    // Strings that happen to equal a code but are not one.
    let not_codes = [("crates/latchkey-api/src/dialect/chipi/mod.rs", "EXPIRED")]; // Chipi's transaction status
    let mut checked = 0;
    for dir in [
        "crates/latchkey-api/src",
        "crates/latchkey-relayer/src",
        "crates/latchkey-wasm/src",
        "bin/latchkey/src",
    ] {
        for file in rust_files(&repo().join(dir)) {
            let text = std::fs::read_to_string(&file).unwrap();
            let shipped = text.split("#[cfg(test)]").next().unwrap_or_default();
            let relative = file.strip_prefix(repo()).unwrap().to_string_lossy().replace('\\', "/");
            let name = relative.as_str();
            for line in shipped.lines().filter(|l| !l.trim_start().starts_with("//")) {
                for literal in code_literals(line) {
                    let allowed = not_codes.contains(&(name, literal.as_str()));
                    assert!(
                        codes::find(&literal).is_none() || allowed,
                        "{name}: write codes::{literal}, not a string: {line}"
                    );
                }
            }
            checked += 1;
        }
    }
    assert!(checked > 20, "{checked} files");
}

/// Every `.rs` file under `dir`, at any depth, in a stable order (the callers check that
/// they found some).
fn rust_files(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            found.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
    found
}
