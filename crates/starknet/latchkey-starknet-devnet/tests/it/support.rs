//! Shared fixtures: a fresh embedded chain per test with one user account, session
//! helpers for both execution paths, and snapshots for "nothing changed" assertions.

use std::sync::atomic::{AtomicU64, Ordering};

use latchkey_core::{AllowedMethod, Call, Felt, OutsideExecution, SessionPolicy, SigningKey, U256};
use latchkey_starknet::{
    sign_outside_execution_as_session, ChainClient, ChainError, FeeMode, KeyAccount, TxOutcome,
};
use latchkey_starknet_contracts::{account_calls, erc20_calls, game_calls, SessionView};
use latchkey_starknet_devnet::{Devnet, DevnetConfig, User};

/// Distinct keys across the whole test binary.
static NEXT_KEY: AtomicU64 = AtomicU64::new(1);

/// A fresh deterministic key.
pub(crate) fn fresh_key() -> SigningKey {
    let n = NEXT_KEY.fetch_add(1, Ordering::Relaxed);
    SigningKey::from_felt(Felt::from(0x5e55_1000_0000u64 + n * 7919)).expect("valid key")
}

/// The two ways a session could try to execute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Path {
    /// SNIP-9 v2, signed off-chain and relayed (gasless): the only way a session executes.
    Outside,
    /// An INVOKE from the account signed by the session key over the transaction hash:
    /// the account refuses every one at validation, so a session never pays a fee.
    Invoke,
}

pub(crate) const BOTH_PATHS: [Path; 2] = [Path::Outside, Path::Invoke];

/// A session key and the expiry it signs with.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    pub(crate) key: SigningKey,
    pub(crate) valid_until: u64,
}

impl Session {
    pub(crate) fn public_key(&self) -> Felt {
        self.key.public_key()
    }
}

/// How a rejected session execution must fail on the outside path. On the invoke path
/// every session transaction fails validation whatever the rule, and nothing at all
/// changes (no fee, no nonce, no call consumed).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Rejection<'a> {
    /// A session rule checked before the calls run: the outside execution reverts with
    /// this message (the relayer pays, nothing of the user changes).
    Policy(&'a str),
    /// A failure while the calls run: the outside execution reverts with this message,
    /// and nothing of the user changes either.
    Revert(&'a str),
}

pub(crate) struct Env {
    pub(crate) devnet: Devnet,
    pub(crate) user: User,
    /// A bystander that receives transfers.
    pub(crate) recipient: Felt,
}

impl Env {
    pub(crate) async fn new() -> Self {
        Self::with_config(DevnetConfig::default()).await
    }

    pub(crate) async fn with_config(config: DevnetConfig) -> Self {
        let devnet = Devnet::start_with(config).await.expect("devnet starts");
        let user = devnet.create_user(fresh_key()).await.expect("user account deploys");
        devnet.mint(user.address, 10u128.pow(18), devnet.eth()).await.expect("mint ETH");
        let recipient = devnet.relayers()[3].address;
        Self { devnet, user, recipient }
    }

    /// Stops the chain and starts it again from `config` (the same journal), keeping the
    /// user and the recipient.
    pub(crate) async fn restart(self, config: DevnetConfig) -> Self {
        let Self { devnet, user, recipient } = self;
        drop(devnet);
        let devnet = Devnet::start_with(config).await.expect("devnet restarts");
        Self { devnet, user, recipient }
    }

    pub(crate) fn client(&self) -> &ChainClient {
        self.devnet.client()
    }

    pub(crate) fn account(&self) -> Felt {
        self.user.address
    }

    pub(crate) fn game(&self) -> Felt {
        self.devnet.game().expect("game deployed")
    }

    pub(crate) fn strk(&self) -> Felt {
        self.devnet.strk()
    }

    pub(crate) fn eth(&self) -> Felt {
        self.devnet.eth()
    }

    pub(crate) async fn now(&self) -> u64 {
        self.client().block_timestamp().await.expect("timestamp")
    }

    /// Owner-signed gasless execution that must succeed.
    pub(crate) async fn owner(&self, calls: Vec<Call>) -> TxOutcome {
        self.devnet.owner_execute(&self.user, calls).await.expect("owner execution")
    }

    /// Registers a session through `register_session` (owner, gasless).
    pub(crate) async fn register(
        &self,
        valid_after: u64,
        valid_until: u64,
        max_calls: u32,
        methods: Vec<AllowedMethod>,
    ) -> Session {
        let key = fresh_key();
        let policy = SessionPolicy {
            session_key: key.public_key(),
            valid_after,
            valid_until,
            max_calls,
            allowed_methods: methods,
        };
        self.owner(vec![account_calls::register_session(self.account(), &policy)]).await;
        Session { key, valid_until }
    }

    /// A session valid for an hour from now, allowed to play the game and move STRK.
    pub(crate) async fn game_session(&self, max_calls: u32) -> Session {
        let now = self.now().await;
        self.game_session_with(now + 3600, max_calls).await
    }

    /// A game session (see [`Env::game_session`]) valid until `valid_until`.
    pub(crate) async fn game_session_until(&self, valid_until: u64) -> Session {
        self.game_session_with(valid_until, 100).await
    }

    async fn game_session_with(&self, valid_until: u64, max_calls: u32) -> Session {
        self.register(
            0,
            valid_until,
            max_calls,
            vec![
                AllowedMethod::new(self.game(), "make_move"),
                AllowedMethod::new(self.game(), "claim_reward"),
                AllowedMethod::new(self.strk(), "transfer"),
            ],
        )
        .await
    }

    /// Deploys a test call forwarder (from relayer 1) and returns its address.
    pub(crate) async fn deploy_forwarder(&self, salt: u64) -> Felt {
        let relayer = self.devnet.relayer_account(1).expect("relayer");
        let class = self.devnet.classes().call_forwarder;
        let salt = Felt::from(salt);
        let deploy = latchkey_starknet::udc_deploy_call(class, salt, &[]);
        let hash = relayer.send(&[deploy], FeeMode::Estimate).await.expect("deploy forwarder");
        self.client().wait_for_transaction(hash).await.expect("forwarder deployed");
        latchkey_core::contract_address(&salt, &class, &[], &Felt::ZERO)
    }

    pub(crate) fn transfer_strk(&self, amount: u128) -> Call {
        erc20_calls::transfer(self.strk(), self.recipient, U256::from_u128(amount))
    }

    pub(crate) fn make_move(&self, mv: u64) -> Call {
        game_calls::make_move(self.game(), mv)
    }

    /// A session execution the relayer estimates first (what a paymaster does).
    pub(crate) async fn session_exec(
        &self,
        path: Path,
        session: &Session,
        calls: Vec<Call>,
    ) -> Result<TxOutcome, ChainError> {
        self.session_exec_with(path, session, calls, FeeMode::Estimate).await
    }

    pub(crate) async fn session_exec_with(
        &self,
        path: Path,
        session: &Session,
        calls: Vec<Call>,
        fees: FeeMode,
    ) -> Result<TxOutcome, ChainError> {
        match path {
            Path::Outside => {
                let oe = self.devnet.outside_execution(calls).await?;
                self.relay_session(&oe, session, fees).await
            }
            Path::Invoke => {
                let account = KeyAccount::session(
                    self.client(),
                    self.account(),
                    session.key.clone(),
                    session.valid_until,
                );
                let hash = account.send(&calls, fees).await?;
                self.client().wait_for_transaction(hash).await
            }
        }
    }

    /// Signs `oe` with the session and relays it.
    pub(crate) async fn relay_session(
        &self,
        oe: &OutsideExecution,
        session: &Session,
        fees: FeeMode,
    ) -> Result<TxOutcome, ChainError> {
        let signature = sign_outside_execution_as_session(
            &session.key,
            session.valid_until,
            oe,
            self.devnet.chain_id(),
            self.account(),
        )?;
        self.devnet.relay(0, self.account(), oe, &signature, fees).await
    }

    /// Relays `oe` with an arbitrary signature without estimating, so a failure is an
    /// on-chain revert.
    pub(crate) async fn relay_raw(
        &self,
        oe: &OutsideExecution,
        signature: &[Felt],
    ) -> Result<TxOutcome, ChainError> {
        self.devnet.relay(0, self.account(), oe, signature, FeeMode::Unchecked).await
    }

    pub(crate) async fn session_view(&self, session_key: Felt) -> SessionView {
        self.client().get_session(self.account(), session_key).await.expect("get_session")
    }

    pub(crate) async fn snapshot(&self, session_key: Felt) -> Snapshot {
        let client = self.client();
        let account = self.account();
        let effects = Effects {
            recipient_strk: client
                .erc20_balance(self.strk(), self.recipient)
                .await
                .expect("balance"),
            recipient_eth: client.erc20_balance(self.eth(), self.recipient).await.expect("balance"),
            account_eth: client.erc20_balance(self.eth(), account).await.expect("balance"),
            game: client.call(self.game(), "get_player", vec![account]).await.expect("get_player"),
            owner_key: client.call(account, "get_public_key", vec![]).await.expect("key"),
            allowance: client
                .call(self.strk(), "allowance", vec![account, self.recipient])
                .await
                .expect("allowance"),
            session_methods: self.session_view(session_key).await.allowed_methods,
        };
        Snapshot {
            effects,
            account_strk: client.erc20_balance(self.strk(), account).await.expect("balance"),
            account_nonce: client.nonce(account).await.expect("nonce"),
            calls_used: self.session_view(session_key).await.calls_used,
        }
    }

    /// Runs a session execution that must be rejected, with the failure the path implies,
    /// and checks that nothing of the user changed.
    /// A session INVOKE of `calls` (allowed or not): refused at validation, and nothing
    /// changes.
    pub(crate) async fn assert_invoke_refused(&self, session: &Session, calls: Vec<Call>) {
        self.assert_rejected(Path::Invoke, session, calls, Rejection::Policy("")).await;
    }

    pub(crate) async fn assert_rejected(
        &self,
        path: Path,
        session: &Session,
        calls: Vec<Call>,
        expected: Rejection<'_>,
    ) {
        let before = self.snapshot(session.public_key()).await;
        let result = self.session_exec_with(path, session, calls, FeeMode::Unchecked).await;
        let after = self.snapshot(session.public_key()).await;
        match (path, expected, &result) {
            (Path::Invoke, _, Err(ChainError::Rejected { reason })) => {
                assert!(
                    reason.contains("alidat"),
                    "{path:?}: expected a validation failure, got {reason}"
                );
                assert_eq!(before, after, "{path:?}: a rejected transaction changed state");
            }
            (
                Path::Outside,
                Rejection::Policy(msg) | Rejection::Revert(msg),
                Err(ChainError::Reverted { reason, .. }),
            ) => {
                assert!(reason.contains(msg), "{path:?}: expected revert {msg:?}, got {reason}");
                assert_eq!(
                    before, after,
                    "{path:?}: a reverted outside execution changed the user's state"
                );
            }
            (_, expected, other) => panic!("{path:?}: expected {expected:?}, got {other:?}"),
        }
    }
}

/// What a session must never change when it is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Effects {
    pub(crate) recipient_strk: U256,
    pub(crate) recipient_eth: U256,
    pub(crate) account_eth: U256,
    pub(crate) game: Vec<Felt>,
    pub(crate) owner_key: Vec<Felt>,
    pub(crate) allowance: Vec<Felt>,
    pub(crate) session_methods: Vec<AllowedMethod>,
}

/// Effects plus the account's own accounting (fee token balance, nonce, call counter).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Snapshot {
    pub(crate) effects: Effects,
    pub(crate) account_strk: U256,
    pub(crate) account_nonce: Felt,
    pub(crate) calls_used: u32,
}

/// The first hour boundary at least `margin` seconds after `now`.
pub(crate) fn next_hour(now: u64, margin: u64) -> u64 {
    (now + margin).div_ceil(3600) * 3600
}
