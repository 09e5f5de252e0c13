//! The API's dialects, one folder each: its routes, its request and response shapes, and
//! how it words its errors. What they share (wallet creation and lookup, the chain's
//! signing domain, custody proofs, idempotency) lives beside them in the crate.
//!
//! - [`native`] under `/api`: latchkey's own API;
//! - [`chipi`] under `/v1`: the Chipi REST API v1, as `@chipi-stack/backend` calls it.

pub(crate) mod chipi;
pub(crate) mod native;

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    fn files(dir: &Path) -> Vec<PathBuf> {
        let mut found = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                found.extend(files(&path));
            } else {
                found.push(path);
            }
        }
        found
    }

    /// The dialects share presenters, errors and services through the crate's shared
    /// modules and never name one another, so a dialect can be added or removed alone.
    #[test]
    fn dialects_do_not_reach_into_one_another() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/dialect");
        let mut dialects: Vec<String> = std::fs::read_dir(&root)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_dir())
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        dialects.sort();
        assert_eq!(dialects, ["chipi", "native"]);
        for dialect in &dialects {
            for file in files(&root.join(dialect)) {
                let text = std::fs::read_to_string(&file).unwrap();
                for other in dialects.iter().filter(|d| *d != dialect) {
                    assert!(
                        !text.contains(&format!("dialect::{other}"))
                            && !text.contains(&format!("super::super::{other}")),
                        "{} names the {other} dialect",
                        file.display()
                    );
                }
            }
        }
    }
}
