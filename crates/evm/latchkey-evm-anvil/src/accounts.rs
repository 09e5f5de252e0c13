//! anvil's funded dev accounts (the default mnemonic `test test … junk`, 10,000 ETH each).

use alloy_primitives::{b256, B256};

/// The private keys of anvil's first six dev accounts, in anvil's order
/// (`eth_accounts`). Public knowledge: never use them outside a local chain.
pub const DEV_KEYS: [B256; 6] = [
    b256!("ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"),
    b256!("59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"),
    b256!("5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a"),
    b256!("7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6"),
    b256!("47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a"),
    b256!("8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba"),
];

/// Dev account 0: deploys the contracts and bundles by default.
pub const DEPLOYER_KEY: B256 = DEV_KEYS[0];

/// Dev account 1: owns the paymaster by default.
pub const PAYMASTER_OWNER_KEY: B256 = DEV_KEYS[1];

/// Dev accounts 2..6: relayer EOAs (a pool that submits `handleOps`).
pub fn relayer_keys() -> &'static [B256] {
    &DEV_KEYS[2..]
}
