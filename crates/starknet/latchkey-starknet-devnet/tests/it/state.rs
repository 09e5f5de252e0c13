//! The chain's state survives a restart on its journal, and a torn last write.

use latchkey_core::Felt;
use latchkey_starknet_devnet::DevnetConfig;
use starknet_rust_core::types::{BlockId, BlockTag, MaybePreConfirmedBlockWithTxHashes};
use starknet_rust_providers::Provider;

use crate::support::{Env, Path};

struct Dir(std::path::PathBuf);

impl Dir {
    fn new(name: &str) -> Self {
        let nanos =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
        let dir = std::env::temp_dir()
            .join(format!("latchkey-devnet-{name}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The latest block's number, hash and timestamp.
async fn head(env: &Env) -> (u64, Felt, u64) {
    match env.client().provider().get_block_with_tx_hashes(BlockId::Tag(BlockTag::Latest)).await {
        Ok(MaybePreConfirmedBlockWithTxHashes::Block(block)) => {
            (block.block_number, block.block_hash, block.timestamp)
        }
        other => panic!("latest block: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_chain_has_every_block_balance_session_and_clock_jump() {
    let dir = Dir::new("restart");
    let config = DevnetConfig { state: Some(dir.0.join("chain.jsonl")), ..DevnetConfig::default() };
    let env = Env::with_config(config.clone()).await;
    assert_eq!(env.devnet.restored(), None, "a new journal starts an empty chain");
    let session = env.game_session(5).await;
    env.session_exec(Path::Outside, &session, vec![env.make_move(1)]).await.unwrap();
    env.devnet.increase_time(600).await;
    let before = head(&env).await;
    let data = env.client().get_session_data(env.account(), session.public_key()).await.unwrap();
    let balance = env.client().erc20_balance(env.strk(), env.account()).await.unwrap();
    let relayer_nonce = env.client().nonce(env.devnet.relayers()[0].address).await.unwrap();

    let env = env.restart(config.clone()).await;
    assert!(env.devnet.restored().unwrap() > 5, "the journal was replayed");
    // The same blocks, to the hash (so the same times), and the same state.
    assert_eq!(head(&env).await, before);
    assert_eq!(
        env.client().get_session_data(env.account(), session.public_key()).await.unwrap(),
        data
    );
    assert_eq!(env.client().erc20_balance(env.strk(), env.account()).await.unwrap(), balance);
    assert_eq!(env.client().nonce(env.devnet.relayers()[0].address).await.unwrap(), relayer_nonce);
    // The clock resumes after the jump, and the session goes on without re-registration.
    assert!(env.now().await >= before.2);
    env.session_exec(Path::Outside, &session, vec![env.make_move(2)]).await.unwrap();
    let data = env.client().get_session_data(env.account(), session.public_key()).await.unwrap();
    assert_eq!(data.remaining_calls, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_torn_last_write_loses_only_the_request_it_was_writing() {
    let dir = Dir::new("torn");
    let path = dir.0.join("chain.jsonl");
    let config = DevnetConfig { state: Some(path.clone()), ..DevnetConfig::default() };
    let env = Env::with_config(config.clone()).await;
    let session = env.game_session(5).await;
    let before = head(&env).await;
    let data = env.client().get_session_data(env.account(), session.public_key()).await.unwrap();
    env.session_exec(Path::Outside, &session, vec![env.make_move(1)]).await.unwrap();
    let Env { devnet, user, recipient } = env;
    drop(devnet);

    // A crash in the middle of writing the last request: half of its line is on disk.
    let bytes = std::fs::read(&path).unwrap();
    let last_line_start = bytes[..bytes.len() - 1].iter().rposition(|b| *b == b'\n').unwrap() + 1;
    let torn = last_line_start + (bytes.len() - last_line_start) / 2;
    std::fs::write(&path, &bytes[..torn]).unwrap();

    let env = Env {
        devnet: latchkey_starknet_devnet::Devnet::start_with(config).await.unwrap(),
        user,
        recipient,
    };
    // The chain is as it was before the torn request, which can simply run again.
    assert_eq!(head(&env).await, before);
    assert_eq!(
        env.client().get_session_data(env.account(), session.public_key()).await.unwrap(),
        data
    );
    assert_eq!(std::fs::read(&path).unwrap().len(), last_line_start);
    env.session_exec(Path::Outside, &session, vec![env.make_move(1)]).await.unwrap();
}
