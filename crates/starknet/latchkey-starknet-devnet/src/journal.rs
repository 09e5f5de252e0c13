//! The embedded chain's state on disk: a journal of every state-changing JSON-RPC request
//! the node accepted, replayed at the next start.
//!
//! starknet-devnet keeps its state in memory; what it can write out is the list of
//! requests that made it (its dump format), which it replays to rebuild the state. Its own
//! block-mode dump rewrites the end of one JSON array in place, so a crash in the middle of
//! a write leaves a file that no longer loads. The journal here keeps the same requests as
//! JSON lines instead, appended whole, one line per request:
//!
//! - A request is written before its response leaves the node, so whatever a client was
//!   told happened is in the journal (a process crash loses nothing: the bytes are in the
//!   page cache; a machine crash may lose the unsynced tail, which to a client looks like
//!   a node that dropped its last transactions).
//! - A crash in the middle of a write leaves at most one partial last line. Loading
//!   drops it (the request never answered) and keeps every line before it: the previous
//!   good state. A damaged line *followed by* good ones is not a torn write and is refused.
//! - Each line carries the block and timestamp the request left the chain at, and the
//!   clock shift, so a replay produces the same blocks at the same times, and the chain's
//!   clock (including `devnet_setTime` / `devnet_increaseTime` jumps) resumes where it was.
//! - The first line names the chain's genesis (seed, accounts, chain id, genesis time): a
//!   journal is never replayed onto a different genesis.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use starknet_devnet_server::rpc_core::request::RpcMethodCall;

use crate::DevnetError;

/// The journal's format name, on its first line.
const FORMAT: &str = "latchkey-starknet-journal/1";

/// What the journal's first line records: the chain it was written on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Genesis {
    pub(crate) format: String,
    pub(crate) seed: u32,
    pub(crate) accounts: u8,
    pub(crate) chain_id: String,
    /// Timestamp of the genesis block.
    pub(crate) time: u64,
}

impl Genesis {
    pub(crate) fn new(seed: u32, accounts: u8, chain_id: &str, time: u64) -> Self {
        Self { format: FORMAT.into(), seed, accounts, chain_id: chain_id.into(), time }
    }

    /// Whether a chain started with `other`'s settings can replay this journal.
    fn same_chain(&self, other: &Genesis) -> bool {
        (self.seed, self.accounts, &self.chain_id) == (other.seed, other.accounts, &other.chain_id)
    }
}

/// One accepted request and where it left the chain.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Entry {
    /// The latest block after the request.
    pub(crate) block: u64,
    /// That block's timestamp.
    pub(crate) time: u64,
    /// The chain clock's shift from the wall clock after the request, in seconds.
    pub(crate) shift: i64,
    /// The request as the node accepted it.
    pub(crate) call: RpcMethodCall,
}

/// The journal file, open for appending.
#[derive(Debug)]
pub(crate) struct Journal {
    file: File,
    path: PathBuf,
}

/// A journal read back: its genesis and entries, and whether a torn tail was dropped.
#[derive(Debug)]
pub(crate) struct Loaded {
    pub(crate) genesis: Genesis,
    pub(crate) entries: Vec<Entry>,
    /// Bytes of a partial last line that were dropped.
    pub(crate) dropped_bytes: usize,
}

fn damaged(path: &Path, what: impl std::fmt::Display) -> DevnetError {
    DevnetError::Devnet(format!(
        "the chain state {} is damaged ({what}); move it away, or start with --fresh-chain",
        path.display()
    ))
}

impl Journal {
    /// Reads the journal at `path`, if there is one with at least its genesis line, and
    /// cuts a torn last line off the file.
    pub(crate) fn load(path: &Path) -> Result<Option<Loaded>, DevnetError> {
        let mut file = match OpenOptions::new().read(true).write(true).open(path) {
            Ok(file) => file,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(error.into()),
        };
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        let parsed = parse(&bytes).map_err(|what| damaged(path, what))?;
        let Some((genesis, entries, good)) = parsed else {
            // Not even a whole genesis line: the chain never got past its first write.
            return Ok(None);
        };
        let dropped_bytes = bytes.len() - good;
        if dropped_bytes > 0 {
            file.set_len(good as u64)?;
            file.sync_all()?;
        }
        Ok(Some(Loaded { genesis, entries, dropped_bytes }))
    }

    /// Opens `path` for appending after [`Journal::load`], checking it was written on
    /// the same chain as `genesis`.
    pub(crate) fn reopen(
        path: &Path,
        loaded: &Loaded,
        genesis: &Genesis,
    ) -> Result<Self, DevnetError> {
        if !loaded.genesis.same_chain(genesis) {
            return Err(DevnetError::Devnet(format!(
                "the chain state {} belongs to another chain (seed {}, {} accounts, {}); \
                 start with --fresh-chain to replace it",
                path.display(),
                loaded.genesis.seed,
                loaded.genesis.accounts,
                loaded.genesis.chain_id
            )));
        }
        let mut file = OpenOptions::new().append(true).open(path)?;
        file.seek(SeekFrom::End(0))?;
        Ok(Self { file, path: path.to_path_buf() })
    }

    /// Starts a new journal at `path` with its genesis line, replacing any file there
    /// (written beside it, then renamed over it).
    pub(crate) fn create(path: &Path, genesis: &Genesis) -> Result<Self, DevnetError> {
        let mut line = serde_json::to_vec(genesis)
            .map_err(|e| DevnetError::Devnet(format!("journal genesis: {e}")))?;
        line.push(b'\n');
        let temporary = path.with_extension("tmp");
        {
            let mut file = File::create(&temporary)?;
            file.write_all(&line)?;
            file.sync_all()?;
        }
        std::fs::rename(&temporary, path)?;
        if let Some(parent) = path.parent() {
            // The rename itself is durable once the directory is.
            if let Ok(dir) = File::open(parent) {
                let _ = dir.sync_all();
            }
        }
        let file = OpenOptions::new().append(true).open(path)?;
        Ok(Self { file, path: path.to_path_buf() })
    }

    /// Appends entries, each as one whole line, in one write.
    pub(crate) fn append(&mut self, entries: &[Entry]) -> Result<(), DevnetError> {
        let mut buffer = Vec::new();
        for entry in entries {
            serde_json::to_writer(&mut buffer, entry)
                .map_err(|e| DevnetError::Devnet(format!("journal entry: {e}")))?;
            buffer.push(b'\n');
        }
        self.file.write_all(&buffer)?;
        Ok(())
    }

    /// Where the journal is.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Journal {
    /// A chain that stops leaves its journal on the disk, not only in the page cache.
    fn drop(&mut self) {
        if let Err(error) = self.file.sync_data() {
            tracing::warn!(%error, journal = %self.path.display(), "cannot flush the chain state");
        }
    }
}

/// Takes the last `blocks` blocks back out of the chain state at `path` (its chain
/// stopped): the journal is cut right after the request that made the block `blocks`
/// below its last one, so the transactions of the blocks after it, and those still
/// pending then, are gone, as a reorg that drops those blocks leaves a node. Written
/// beside the journal, then renamed over it. Returns the block the chain resumes at.
pub fn rewind(path: &Path, blocks: u64) -> Result<u64, DevnetError> {
    let bytes = std::fs::read(path)?;
    let Some((_, entries, _)) = parse(&bytes).map_err(|what| damaged(path, what))? else {
        return Err(DevnetError::Devnet(format!("{} holds no chain", path.display())));
    };
    let last = entries.iter().map(|e| e.block).max().unwrap_or(0);
    let target = last.saturating_sub(blocks);
    // Entries kept: through the one that made `target` (blocks never go down).
    let kept = match entries.iter().position(|e| e.block >= target) {
        Some(index) if entries[index].block == target => index + 1,
        Some(index) => index,
        None => entries.len(),
    };
    // The genesis line and `kept` entry lines.
    let end = bytes
        .iter()
        .enumerate()
        .filter(|(_, byte)| **byte == b'\n')
        .nth(kept)
        .map_or(bytes.len(), |(index, _)| index + 1);
    let temporary = path.with_extension("rewind");
    {
        let mut file = File::create(&temporary)?;
        file.write_all(&bytes[..end])?;
        file.sync_all()?;
    }
    std::fs::rename(&temporary, path)?;
    Ok(entries[..kept].iter().map(|e| e.block).max().unwrap_or(0))
}

/// Parses a journal: `None` when there is no whole genesis line; else the genesis, the
/// whole entries, and the length of the good prefix. A damaged line that is not the
/// last one is an error.
#[allow(clippy::type_complexity)]
fn parse(bytes: &[u8]) -> Result<Option<(Genesis, Vec<Entry>, usize)>, String> {
    let mut lines = Vec::new();
    let mut start = 0;
    for (index, byte) in bytes.iter().enumerate() {
        if *byte == b'\n' {
            lines.push((start, index));
            start = index + 1;
        }
    }
    let Some(&(first_start, first_end)) = lines.first() else { return Ok(None) };
    let genesis: Genesis = match serde_json::from_slice(&bytes[first_start..first_end]) {
        Ok(genesis) => genesis,
        Err(_) if lines.len() == 1 => return Ok(None),
        Err(e) => return Err(format!("line 1: {e}")),
    };
    if genesis.format != FORMAT {
        return Err(format!("line 1: format {:?}, expected {FORMAT:?}", genesis.format));
    }
    let mut entries = Vec::new();
    let mut good = first_end + 1;
    for (number, &(from, to)) in lines.iter().enumerate().skip(1) {
        match serde_json::from_slice::<Entry>(&bytes[from..to]) {
            Ok(entry) => {
                entries.push(entry);
                good = to + 1;
            }
            Err(e) => {
                // Only a tail of damage is a torn write.
                let later_good = lines[number + 1..]
                    .iter()
                    .any(|&(f, t)| serde_json::from_slice::<Entry>(&bytes[f..t]).is_ok());
                if later_good {
                    return Err(format!("line {}: {e}", number + 1));
                }
                break;
            }
        }
    }
    Ok(Some((genesis, entries, good)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use starknet_devnet_server::rpc_core::request::{Id, RequestParams, Version};

    fn entry(block: u64) -> Entry {
        Entry {
            block,
            time: 1_700_000_000 + block,
            shift: 0,
            call: RpcMethodCall {
                jsonrpc: Version::V2,
                method: "devnet_createBlock".into(),
                params: RequestParams::None,
                id: Id::Number(block as i64),
            },
        }
    }

    fn dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "latchkey-journal-{name}-{}-{}",
            std::process::id(),
            rand_suffix()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn rand_suffix() -> u64 {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
            as u64
    }

    fn genesis() -> Genesis {
        Genesis::new(42, 4, "SN_SEPOLIA", 1_700_000_000)
    }

    #[test]
    fn entries_written_are_read_back_in_order() {
        let dir = dir("order");
        let path = dir.join("chain.jsonl");
        let mut journal = Journal::create(&path, &genesis()).unwrap();
        journal.append(&[entry(1), entry(2)]).unwrap();
        journal.append(&[entry(3)]).unwrap();
        let loaded = Journal::load(&path).unwrap().unwrap();
        assert_eq!(loaded.genesis, genesis());
        assert_eq!(loaded.entries.iter().map(|e| e.block).collect::<Vec<_>>(), [1, 2, 3]);
        assert_eq!(loaded.dropped_bytes, 0);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn rewinding_cuts_after_the_request_that_made_the_block_it_goes_back_to() {
        let dir = dir("rewind");
        let path = dir.join("chain.jsonl");
        let mut journal = Journal::create(&path, &genesis()).unwrap();
        // Blocks 1..=4, each made by one request and followed by one pending in it.
        for block in 1..=4 {
            journal.append(&[entry(block), entry(block)]).unwrap();
        }
        drop(journal);
        assert_eq!(rewind(&path, 1).unwrap(), 3);
        let blocks = |path: &Path| -> Vec<u64> {
            Journal::load(path).unwrap().unwrap().entries.iter().map(|e| e.block).collect()
        };
        // Block 3's own request kept; what was pending after it, and block 4, gone.
        assert_eq!(blocks(&path), [1, 1, 2, 2, 3]);
        assert_eq!(rewind(&path, 2).unwrap(), 1);
        assert_eq!(blocks(&path), [1]);
        assert_eq!(rewind(&path, 5).unwrap(), 0, "back to the genesis");
        assert_eq!(blocks(&path), Vec::<u64>::new());
        assert_eq!(Journal::load(&path).unwrap().unwrap().genesis, genesis());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_torn_last_line_is_dropped_and_the_rest_kept() {
        let dir = dir("torn");
        let path = dir.join("chain.jsonl");
        let mut journal = Journal::create(&path, &genesis()).unwrap();
        journal.append(&[entry(1), entry(2)]).unwrap();
        drop(journal);
        let whole = std::fs::read(&path).unwrap();
        // Every cut inside the last line leaves the two entries before it.
        let line = serde_json::to_vec(&entry(3)).unwrap();
        for cut in [1, line.len() / 2, line.len()] {
            let mut bytes = whole.clone();
            bytes.extend_from_slice(&line[..cut]);
            std::fs::write(&path, &bytes).unwrap();
            let loaded = Journal::load(&path).unwrap().unwrap();
            assert_eq!(loaded.entries.len(), 2, "cut at {cut}");
            assert_eq!(loaded.dropped_bytes, cut);
            // The file itself is cut back, so appending goes on from a whole line.
            assert_eq!(std::fs::read(&path).unwrap(), whole);
            let mut journal = Journal::reopen(&path, &loaded, &genesis()).unwrap();
            journal.append(&[entry(3)]).unwrap();
            assert_eq!(Journal::load(&path).unwrap().unwrap().entries.len(), 3);
        }
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn damage_before_good_lines_is_refused_and_names_the_way_out() {
        let dir = dir("damaged");
        let path = dir.join("chain.jsonl");
        let mut journal = Journal::create(&path, &genesis()).unwrap();
        journal.append(&[entry(1)]).unwrap();
        drop(journal);
        let mut bytes = std::fs::read(&path).unwrap();
        bytes.extend_from_slice(b"{\"block\":\n");
        bytes.extend_from_slice(&serde_json::to_vec(&entry(2)).unwrap());
        bytes.push(b'\n');
        std::fs::write(&path, &bytes).unwrap();
        let error = Journal::load(&path).unwrap_err().to_string();
        assert!(error.contains("damaged") && error.contains("--fresh-chain"), "{error}");
        // Nothing was cut from a file that could not be read.
        assert_eq!(std::fs::read(&path).unwrap(), bytes);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn no_file_or_a_torn_genesis_is_a_fresh_chain() {
        let dir = dir("fresh");
        let path = dir.join("chain.jsonl");
        assert!(Journal::load(&path).unwrap().is_none());
        std::fs::write(&path, b"{\"format\":\"latchkey-sta").unwrap();
        assert!(Journal::load(&path).unwrap().is_none());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_journal_of_another_chain_is_not_replayed() {
        let dir = dir("other");
        let path = dir.join("chain.jsonl");
        Journal::create(&path, &genesis()).unwrap();
        let loaded = Journal::load(&path).unwrap().unwrap();
        let other = Genesis::new(7, 4, "SN_SEPOLIA", 0);
        let error = Journal::reopen(&path, &loaded, &other).unwrap_err().to_string();
        assert!(error.contains("another chain"), "{error}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    proptest::proptest! {
        /// No bytes, however damaged, panic the loader; whatever it accepts is a prefix of
        /// whole lines.
        #[test]
        fn arbitrary_bytes_never_panic_the_loader(
            cut in 0usize..4096,
            flips in proptest::collection::vec((0usize..4096, 1u8..=255), 0..4),
            tail in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64),
        ) {
            let mut bytes = serde_json::to_vec(&genesis()).unwrap();
            bytes.push(b'\n');
            for block in 1..4 {
                bytes.extend_from_slice(&serde_json::to_vec(&entry(block)).unwrap());
                bytes.push(b'\n');
            }
            bytes.truncate(cut.min(bytes.len()));
            for (at, mask) in flips {
                if let Some(byte) = bytes.get_mut(at) {
                    *byte ^= mask;
                }
            }
            bytes.extend_from_slice(&tail);
            if let Ok(Some((_, _, good))) = parse(&bytes) {
                proptest::prop_assert!(good <= bytes.len());
                proptest::prop_assert_eq!(bytes[good - 1], b'\n');
            }
        }
    }
}
