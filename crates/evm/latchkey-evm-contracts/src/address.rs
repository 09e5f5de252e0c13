//! Addresses: the EntryPoint v0.8 placement and counterfactual accounts.

use alloy_primitives::{address, b256, keccak256, Address, Bytes, B256, U256};
use alloy_sol_types::SolValue;

use crate::{Artifact, EvmContractsError};

/// The canonical EntryPoint v0.8 address (viem's `entryPoint08Address`).
pub const ENTRY_POINT_V08: Address = address!("4337084D9E255Ff0702461CF8895CE9E3b5Ff108");
/// The EntryPoint v0.8's `SenderCreator` (created by its constructor, nonce 1).
pub const SENDER_CREATOR_V08: Address = address!("449ED7C3e6Fee6a97311d4b55475DF59C44AdD33");
/// The deterministic-deployment proxy (Arachnid's; anvil ships it): it CREATE2s
/// `calldata[32:]` with salt `calldata[0:32]`.
pub const CREATE2_PROXY: Address = address!("4e59b44847b379578588920ca78fbf26c0b4956c");
/// The salt the canonical EntryPoint v0.8 was deployed with through [`CREATE2_PROXY`].
pub const ENTRY_POINT_SALT: B256 =
    b256!("0a59dbff790c23c976a548690c27297883cc66b4c67024f9117b0238995e35e9");
/// A gas limit that covers the EntryPoint deployment (about 5.03 M used).
pub const ENTRY_POINT_DEPLOY_GAS: u64 = 6_000_000;

/// The calldata of the one transaction to [`CREATE2_PROXY`] that places EntryPoint v0.8
/// at [`ENTRY_POINT_V08`]: `ENTRY_POINT_SALT ‖ bytecode` of the npm artifact.
pub fn entry_point_deploy_calldata() -> Result<Bytes, EvmContractsError> {
    let bytecode = Artifact::EntryPoint.bytecode()?;
    Ok([ENTRY_POINT_SALT.as_slice(), &bytecode].concat().into())
}

/// `CREATE2(deployer, salt, keccak256(init_code))`.
pub fn create2_address(deployer: Address, salt: B256, init_code: &[u8]) -> Address {
    deployer.create2(salt, keccak256(init_code))
}

/// The account implementation a `LatchkeyAccountFactory` at `factory` deploys in its
/// constructor: `CREATE(factory, nonce 1)` (what `factory.accountImplementation()`
/// returns).
pub fn implementation_address(factory: Address) -> Address {
    factory.create(1)
}

/// The EIP-1167 minimal proxy init code for `implementation` (OpenZeppelin `Clones`).
pub fn eip1167_init_code(implementation: Address) -> Bytes {
    const HEAD: [u8; 20] = [
        0x3d, 0x60, 0x2d, 0x80, 0x60, 0x0a, 0x3d, 0x39, 0x81, 0xf3, 0x36, 0x3d, 0x3d, 0x37, 0x3d,
        0x3d, 0x3d, 0x36, 0x3d, 0x73,
    ];
    const TAIL: [u8; 15] =
        [0x5a, 0xf4, 0x3d, 0x82, 0x80, 0x3e, 0x90, 0x3d, 0x91, 0x60, 0x2b, 0x57, 0xfd, 0x5b, 0xf3];
    [&HEAD[..], implementation.as_slice(), &TAIL[..]].concat().into()
}

/// The factory's CREATE2 salt for (owner, salt): `keccak256(abi.encode(owner, salt))`.
pub fn account_salt(owner: Address, salt: U256) -> B256 {
    keccak256((owner, salt).abi_encode())
}

/// The counterfactual address of the account of `owner` and `salt`
/// (= `factory.getAddress(owner, salt)`), given the factory's account `implementation`
/// (read from the factory, or [`implementation_address`]).
pub fn account_address(
    factory: Address,
    implementation: Address,
    owner: Address,
    salt: U256,
) -> Address {
    create2_address(factory, account_salt(owner, salt), &eip1167_init_code(implementation))
}
