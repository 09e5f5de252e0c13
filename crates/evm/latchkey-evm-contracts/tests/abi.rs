//! The hand-written `sol!` bindings against the committed JSON artifacts: every declared
//! function, event and error exists with the same signature.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;

use alloy_sol_types::{SolCall, SolError, SolEvent};
use latchkey_evm_contracts::abi::{
    DemoNft, DemoToken, EntryPoint, Game, LatchkeyAccount, LatchkeyAccountFactory,
    LatchkeyPaymaster, SenderCreator,
};
use latchkey_evm_contracts::{Artifact, EXECUTE_USER_OP_SELECTOR};

fn canonical(param: &serde_json::Value) -> String {
    let ty = param["type"].as_str().unwrap();
    match ty.strip_prefix("tuple") {
        Some(suffix) => {
            let inner: Vec<String> =
                param["components"].as_array().unwrap().iter().map(canonical).collect();
            format!("({}){suffix}", inner.join(","))
        }
        None => ty.to_string(),
    }
}

/// `kind name(types)` of every item of an artifact's ABI.
fn signatures(artifact: Artifact) -> BTreeSet<String> {
    let abi = artifact.abi().unwrap();
    abi.as_array()
        .unwrap()
        .iter()
        .filter_map(|item| {
            let name = item.get("name")?.as_str()?;
            let inputs: Vec<String> =
                item["inputs"].as_array().unwrap().iter().map(canonical).collect();
            Some(format!("{} {}({})", item["type"].as_str().unwrap(), name, inputs.join(",")))
        })
        .collect()
}

fn check(artifact: Artifact, declared: Vec<String>) {
    let available = signatures(artifact);
    for signature in &declared {
        assert!(
            available.contains(signature),
            "{}: {signature} not in the artifact",
            artifact.name()
        );
    }
}

macro_rules! functions {
    ($($module:ident :: $call:ident),* $(,)?) => {
        vec![$(format!("function {}", <$module::$call as SolCall>::SIGNATURE)),*]
    };
}
macro_rules! events {
    ($($module:ident :: $event:ident),* $(,)?) => {
        vec![$(format!("event {}", <$module::$event as SolEvent>::SIGNATURE)),*]
    };
}
macro_rules! errors {
    ($($module:ident :: $error:ident),* $(,)?) => {
        vec![$(format!("error {}", <$module::$error as SolError>::SIGNATURE)),*]
    };
}

#[test]
fn entry_point_bindings_match_the_artifact() {
    let mut declared = functions!(
        EntryPoint::handleOpsCall,
        EntryPoint::getUserOpHashCall,
        EntryPoint::getNonceCall,
        EntryPoint::incrementNonceCall,
        EntryPoint::balanceOfCall,
        EntryPoint::depositToCall,
        EntryPoint::senderCreatorCall,
        EntryPoint::getPackedUserOpTypeHashCall,
        EntryPoint::getDomainSeparatorV4Call,
    );
    declared.extend(events!(
        EntryPoint::UserOperationEvent,
        EntryPoint::UserOperationRevertReason,
        EntryPoint::PostOpRevertReason,
        EntryPoint::UserOperationPrefundTooLow,
        EntryPoint::AccountDeployed,
        EntryPoint::BeforeExecution,
        EntryPoint::Deposited,
    ));
    declared.extend(errors!(
        EntryPoint::FailedOp,
        EntryPoint::FailedOpWithRevert,
        EntryPoint::SignatureValidationFailed,
        EntryPoint::PostOpReverted,
    ));
    check(Artifact::EntryPoint, declared);
    check(Artifact::SenderCreator, functions!(SenderCreator::entryPointCall));
}

#[test]
fn account_bindings_match_the_artifact() {
    let mut declared = functions!(
        LatchkeyAccount::executeCall,
        LatchkeyAccount::executeBatchCall,
        LatchkeyAccount::executeUserOpCall,
        LatchkeyAccount::registerSessionCall,
        LatchkeyAccount::setSpendingCapCall,
        LatchkeyAccount::removeSpendingCapCall,
        LatchkeyAccount::revokeSessionCall,
        LatchkeyAccount::revokeAllSessionsCall,
        LatchkeyAccount::setOwnerCall,
        LatchkeyAccount::ownerCall,
        LatchkeyAccount::getSessionCall,
        LatchkeyAccount::sessionNonceKeyCall,
        LatchkeyAccount::getSpendingCapCall,
        LatchkeyAccount::registrationCountersCall,
        LatchkeyAccount::entryPointCall,
        LatchkeyAccount::factoryCall,
        LatchkeyAccount::sessionPaymasterCall,
        LatchkeyAccount::isValidSignatureCall,
        LatchkeyAccount::supportsInterfaceCall,
    );
    declared.extend(events!(
        LatchkeyAccount::SessionRegistered,
        LatchkeyAccount::SessionRevoked,
        LatchkeyAccount::AllSessionsRevoked,
        LatchkeyAccount::OwnerChanged,
        LatchkeyAccount::SpendingCapSet,
        LatchkeyAccount::SpendingCapRemoved,
    ));
    declared.extend(errors!(
        LatchkeyAccount::NotFromEntryPoint,
        LatchkeyAccount::Unauthorized,
        LatchkeyAccount::AlreadyInitialized,
        LatchkeyAccount::ZeroAddress,
        LatchkeyAccount::ForbiddenTarget,
        LatchkeyAccount::EmptyWindow,
        LatchkeyAccount::AlreadyExpired,
        LatchkeyAccount::ZeroMaxCalls,
        LatchkeyAccount::TooManyMethods,
        LatchkeyAccount::KeyWasRevoked,
        LatchkeyAccount::UnknownOrRevokedSession,
        LatchkeyAccount::InvalidSpendingCap,
        LatchkeyAccount::NoSpendingCap,
        LatchkeyAccount::NativeValueNotAllowed,
        LatchkeyAccount::MalformedTokenCall,
        LatchkeyAccount::PerCallCapExceeded,
        LatchkeyAccount::WindowCapExceeded,
    ));
    check(Artifact::LatchkeyAccount, declared);
    assert_eq!(EXECUTE_USER_OP_SELECTOR, [0x8d, 0xd7, 0x71, 0x2f]);
}

#[test]
fn factory_paymaster_and_demo_bindings_match_the_artifacts() {
    let mut factory = functions!(
        LatchkeyAccountFactory::createAccountCall,
        LatchkeyAccountFactory::getAddressCall,
        LatchkeyAccountFactory::accountImplementationCall,
    );
    factory.extend(events!(LatchkeyAccountFactory::AccountCreated));
    check(Artifact::LatchkeyAccountFactory, factory);
    check(
        Artifact::LatchkeyPaymaster,
        functions!(
            LatchkeyPaymaster::getHashCall,
            LatchkeyPaymaster::depositCall,
            LatchkeyPaymaster::getDepositCall,
            LatchkeyPaymaster::signerCall,
            LatchkeyPaymaster::ownerCall,
            LatchkeyPaymaster::entryPointCall,
            LatchkeyPaymaster::setSignerCall,
        ),
    );
    let mut game = functions!(
        Game::makeMoveCall,
        Game::claimRewardCall,
        Game::getPlayerCall,
        Game::totalMovesCall
    );
    game.extend(events!(Game::Moved, Game::RewardClaimed));
    check(Artifact::Game, game);
    let mut token = functions!(
        DemoToken::mintCall,
        DemoToken::transferCall,
        DemoToken::transferFromCall,
        DemoToken::approveCall,
        DemoToken::increaseAllowanceCall,
        DemoToken::balanceOfCall,
        DemoToken::allowanceCall,
    );
    token.extend(events!(DemoToken::Transfer));
    check(Artifact::DemoToken, token);
    check(
        Artifact::DemoNft,
        functions!(
            DemoNft::mintCall,
            DemoNft::ownerOfCall,
            DemoNft::balanceOfCall,
            DemoNft::totalMintedCall
        ),
    );
}

#[test]
fn every_artifact_has_bytecode() {
    for artifact in Artifact::ALL {
        assert!(artifact.bytecode().unwrap().len() > 100, "{}", artifact.name());
        assert!(artifact.deployed_bytecode().unwrap().len() > 40, "{}", artifact.name());
        assert_eq!(Artifact::by_name(artifact.name()), Some(artifact));
    }
}
