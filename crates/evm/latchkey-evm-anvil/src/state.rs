//! anvil's `--state` file, kept loadable across crashes.
//!
//! anvil rewrites its state file in place (truncate, then write), so anvil killed in the
//! middle of a periodic write leaves a file it cannot load. Beside it we keep a good copy,
//! `<state>.good`: the keeper thread checks the state file after each of anvil's write
//! intervals and when anvil stops, and promotes it only when it is whole JSON (written to
//! a temporary file, synced, then renamed over the copy). At start a damaged state file
//! is replaced by the good copy, losing at most the writes since that copy.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::AnvilError;

/// The good copy kept beside a state file: `<state>.good`.
pub fn good_copy(state: &Path) -> PathBuf {
    let mut name = state.file_name().unwrap_or_default().to_os_string();
    name.push(".good");
    state.with_file_name(name)
}

/// Whether `bytes` are one whole JSON document.
fn whole(bytes: &[u8]) -> bool {
    !bytes.is_empty() && serde_json::from_slice::<serde::de::IgnoredAny>(bytes).is_ok()
}

/// Before anvil starts: a state file that does not parse is replaced by the good copy.
pub(crate) fn recover(state: &Path) -> Result<(), AnvilError> {
    let bytes = match std::fs::read(state) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(error) => return Err(AnvilError::State(format!("{}: {error}", state.display()))),
    };
    if whole(&bytes) {
        return Ok(());
    }
    let good = good_copy(state);
    let copy = std::fs::read(&good).ok().filter(|bytes| whole(bytes)).ok_or_else(|| {
        AnvilError::State(format!(
            "{} is damaged and there is no good copy beside it; move it away, or start with \
             --fresh-chain",
            state.display()
        ))
    })?;
    tracing::warn!(
        state = %state.display(),
        "anvil's state file was cut short (a crash mid-write); starting from its last good copy"
    );
    replace(state, &copy).map_err(|e| AnvilError::State(format!("{}: {e}", state.display())))
}

/// After one of anvil's writes: promotes the state file to the good copy when it is whole
/// and has changed since `last` (its length and a hash of its bytes).
pub(crate) fn promote(state: &Path, last: &mut Option<(usize, u64)>) {
    let Ok(bytes) = std::fs::read(state) else { return };
    let seen = (bytes.len(), fingerprint(&bytes));
    if *last == Some(seen) || !whole(&bytes) {
        return;
    }
    match replace(&good_copy(state), &bytes) {
        Ok(()) => *last = Some(seen),
        Err(error) => tracing::warn!(%error, "cannot keep a good copy of anvil's state"),
    }
}

fn fingerprint(bytes: &[u8]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut hasher);
    hasher.finish()
}

/// Writes `bytes` beside `path`, syncs, and renames over it.
fn replace(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    let temporary = path.with_file_name(name);
    let mut file = std::fs::File::create(&temporary)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&temporary, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &str) -> PathBuf {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let dir = std::env::temp_dir()
            .join(format!("latchkey-anvil-state-{name}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_cut_state_file_is_replaced_by_its_good_copy() {
        let dir = dir("cut");
        let state = dir.join("anvil-state.json");
        std::fs::write(&state, br#"{"block":{"number":"0x1"},"accounts":{}}"#).unwrap();
        let mut last = None;
        promote(&state, &mut last);
        assert!(last.is_some());
        // A later write cut off in the middle is never promoted ...
        std::fs::write(&state, br#"{"block":{"number":"0x2"},"acc"#).unwrap();
        promote(&state, &mut last);
        assert_eq!(
            std::fs::read(good_copy(&state)).unwrap(),
            br#"{"block":{"number":"0x1"},"accounts":{}}"#
        );
        // ... and at start the good copy takes its place.
        recover(&state).unwrap();
        assert_eq!(std::fs::read(&state).unwrap(), br#"{"block":{"number":"0x1"},"accounts":{}}"#);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_damaged_state_without_a_good_copy_names_the_way_out() {
        let dir = dir("lost");
        let state = dir.join("anvil-state.json");
        std::fs::write(&state, b"").unwrap();
        let error = recover(&state).unwrap_err().to_string();
        assert!(error.contains("--fresh-chain"), "{error}");
        assert!(recover(&dir.join("absent.json")).is_ok(), "no state file is a fresh chain");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
