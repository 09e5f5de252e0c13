//! The compiled contracts committed under `contracts/evm/build/` (solc-js 0.8.28, see
//! `contracts/evm/README.md`), embedded at compile time.

use alloy_primitives::Bytes;

use crate::EvmContractsError;

/// A committed artifact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Artifact {
    /// EntryPoint v0.8 (npm `@account-abstraction/contracts` 0.8.0, unchanged).
    EntryPoint,
    /// Its SenderCreator.
    SenderCreator,
    /// The npm SimpleAccount (gas comparison).
    SimpleAccount,
    /// The npm SimpleAccountFactory.
    SimpleAccountFactory,
    /// latchkey's account.
    LatchkeyAccount,
    /// latchkey's account factory.
    LatchkeyAccountFactory,
    /// latchkey's verifying paymaster.
    LatchkeyPaymaster,
    /// Demo game.
    Game,
    /// Demo ERC-20.
    DemoToken,
    /// Demo NFT.
    DemoNft,
}

macro_rules! artifact_json {
    ($name:literal) => {
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../contracts/evm/build/",
            $name,
            ".json"
        ))
    };
}

impl Artifact {
    /// Every artifact.
    pub const ALL: [Artifact; 10] = [
        Self::EntryPoint,
        Self::SenderCreator,
        Self::SimpleAccount,
        Self::SimpleAccountFactory,
        Self::LatchkeyAccount,
        Self::LatchkeyAccountFactory,
        Self::LatchkeyPaymaster,
        Self::Game,
        Self::DemoToken,
        Self::DemoNft,
    ];

    /// The contract name (and file name under `contracts/evm/build/`).
    pub fn name(self) -> &'static str {
        match self {
            Self::EntryPoint => "EntryPoint",
            Self::SenderCreator => "SenderCreator",
            Self::SimpleAccount => "SimpleAccount",
            Self::SimpleAccountFactory => "SimpleAccountFactory",
            Self::LatchkeyAccount => "LatchkeyAccount",
            Self::LatchkeyAccountFactory => "LatchkeyAccountFactory",
            Self::LatchkeyPaymaster => "LatchkeyPaymaster",
            Self::Game => "Game",
            Self::DemoToken => "DemoToken",
            Self::DemoNft => "DemoNft",
        }
    }

    /// The artifact by name.
    pub fn by_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.name() == name)
    }

    /// The artifact's JSON text.
    pub fn json(self) -> &'static str {
        match self {
            Self::EntryPoint => artifact_json!("EntryPoint"),
            Self::SenderCreator => artifact_json!("SenderCreator"),
            Self::SimpleAccount => artifact_json!("SimpleAccount"),
            Self::SimpleAccountFactory => artifact_json!("SimpleAccountFactory"),
            Self::LatchkeyAccount => artifact_json!("LatchkeyAccount"),
            Self::LatchkeyAccountFactory => artifact_json!("LatchkeyAccountFactory"),
            Self::LatchkeyPaymaster => artifact_json!("LatchkeyPaymaster"),
            Self::Game => artifact_json!("Game"),
            Self::DemoToken => artifact_json!("DemoToken"),
            Self::DemoNft => artifact_json!("DemoNft"),
        }
    }

    fn field(self, field: &'static str) -> Result<serde_json::Value, EvmContractsError> {
        let error = |message: String| EvmContractsError::Artifact { name: self.name(), message };
        let mut json: serde_json::Value =
            serde_json::from_str(self.json()).map_err(|e| error(e.to_string()))?;
        json.get_mut(field)
            .map(serde_json::Value::take)
            .ok_or_else(|| error(format!("no `{field}`")))
    }

    fn hex_field(self, field: &'static str) -> Result<Bytes, EvmContractsError> {
        let value = self.field(field)?;
        let text = value.as_str().ok_or_else(|| EvmContractsError::Artifact {
            name: self.name(),
            message: format!("`{field}` is not a string"),
        })?;
        text.parse::<Bytes>().map_err(|e| EvmContractsError::Artifact {
            name: self.name(),
            message: format!("`{field}`: {e}"),
        })
    }

    /// The creation bytecode (constructor arguments are appended ABI-encoded).
    pub fn bytecode(self) -> Result<Bytes, EvmContractsError> {
        self.hex_field("bytecode")
    }

    /// The runtime bytecode.
    pub fn deployed_bytecode(self) -> Result<Bytes, EvmContractsError> {
        self.hex_field("deployedBytecode")
    }

    /// The JSON ABI.
    pub fn abi(self) -> Result<serde_json::Value, EvmContractsError> {
        self.field("abi")
    }
}

/// The creation bytecode of the committed artifact `name` (for example
/// `"LatchkeyAccountFactory"`).
pub fn bytecode(name: &str) -> Result<Bytes, EvmContractsError> {
    Artifact::by_name(name)
        .ok_or(EvmContractsError::Artifact { name: "?", message: format!("no artifact {name:?}") })?
        .bytecode()
}
