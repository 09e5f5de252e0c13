//! The Cairo account and latchkey-core agree on hashes and signatures.

use latchkey_core::{short_string, Call, Felt, OutsideExecution, ANY_CALLER};
use latchkey_starknet::{new_outside_execution, sign_outside_execution_as_owner};

use crate::support::Env;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c29_contract_outside_execution_hash_equals_core() {
    let env = Env::new().await;
    let cases = [
        OutsideExecution {
            caller: ANY_CALLER,
            nonce: Felt::ONE,
            execute_after: 0,
            execute_before: 1,
            calls: vec![],
        },
        new_outside_execution(vec![env.make_move(3), env.transfer_strk(7)], 1_800_000_000, 600),
        OutsideExecution {
            caller: env.devnet.relayers()[0].address,
            nonce: Felt::MAX,
            execute_after: u64::MAX - 1,
            execute_before: u64::MAX,
            calls: vec![Call {
                to: env.game(),
                selector: Felt::from(5u8),
                calldata: vec![Felt::MAX; 40],
            }],
        },
    ];
    for oe in cases {
        let mut calldata = oe.to_calldata(&[]);
        calldata.pop(); // signature length: the view takes the struct only
        let on_chain = env
            .client()
            .call(env.account(), "get_outside_execution_message_hash_rev_1", calldata)
            .await
            .expect("view");
        assert_eq!(on_chain, vec![oe.message_hash(&env.devnet.chain_id(), &env.account())]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contract_accepts_a_core_signature_and_the_capture_vector_domain() {
    let env = Env::new().await;
    assert_eq!(env.devnet.chain_id(), short_string("SN_SEPOLIA").unwrap());
    let oe = env.devnet.outside_execution(vec![env.make_move(1)]).await.unwrap();
    let signature =
        sign_outside_execution_as_owner(&env.user.owner, &oe, env.devnet.chain_id(), env.account())
            .unwrap();
    env.relay_raw(&oe, &signature).await.expect("owner signature from latchkey-core accepted");
}
