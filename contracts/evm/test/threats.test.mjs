// EVM threat tests. Each is named e<NN>_… with the Starknet C-row it mirrors (or "EVM"
// when the threat is specific to ERC-4337), asserts the refusal, and asserts that nothing
// it guards changed.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { concat, hexToBigInt, numberToHex, pad, size, slice, toPackedUserOperation } from './viem.mjs';
import {
  A,
  Env,
  KIND,
  NATIVE_TOKEN,
  SEL,
  expectExecutionRevert,
  expectFailedOp,
  generatePrivateKey,
  observe,
  ownerDoes,
  privateKeyToAccount,
  registerSession,
  selfCall,
  sessionCallData,
  setSpendingCap,
} from './lib.mjs';

const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

let env;
before(async () => {
  env = await Env.create();
});
after(async () => {
  await env?.stop();
});

const newKey = () => privateKeyToAccount(generatePrivateKey());
const move = (n, game = env.game) => ({ target: game, data: env.encode('Game', 'makeMove', [n]) });
const tokenCall = (fn, args) => ({ target: env.token, data: env.encode('DemoToken', fn, args) });

/// A deployed account with one session (allowAll unless methods are given).
async function withSession(options = {}) {
  const account = await env.newAccount();
  const session = newKey();
  await registerSession(env, account, session.address, options);
  return { account, session };
}

/// Refusal by the EntryPoint with nothing changed.
async function refusedUnchanged(account, ops, prefix, watch = {}) {
  const before = await observe(env, account, watch);
  await expectFailedOp(env, ops, prefix);
  assert.deepEqual(await observe(env, account, watch), before);
}

/// A 66-byte kind-prefixed signature with s replaced by n - s (and v flipped): the same
/// ecrecover result, the high-s twin.
function highS(signature) {
  const kind = slice(signature, 0, 1);
  const r = slice(signature, 1, 33);
  const s = hexToBigInt(slice(signature, 33, 65));
  const v = Number(hexToBigInt(slice(signature, 65, 66)));
  return concat([kind, r, pad(numberToHex(SECP256K1_N - s), { size: 32 }), numberToHex(v === 27 ? 28 : 27, { size: 1 })]);
}

describe('session scope', () => {
  test('e01_self_calls_are_refused_whatever_the_allowlist (c01, c03, c05)', async () => {
    const { account, session } = await withSession({
      methods: [
        { target: '0x0000000000000000000000000000000000000000', selector: SEL.makeMove },
        { target: '0x0000000000000000000000000000000000000000', selector: '0x13af4035' }, // setOwner(address)
      ],
    });
    const watch = { sessions: [session.address] };
    const attacker = newKey().address;
    for (const call of [
      selfCall(env, account, 'setOwner', [attacker]),
      selfCall(env, account, 'registerSession', [attacker, 0, 4_000_000_000, 1000, []]),
      selfCall(env, account, 'execute', [env.game, 0n, env.encode('Game', 'makeMove', [1n])]),
      selfCall(env, account, 'revokeAllSessions', []),
    ]) {
      await refusedUnchanged(account, [await env.sessionOp(account.sender, session, [call])], 'AA24', watch);
      await refusedUnchanged(account, [await env.sessionOp(account.sender, session, [move(1n), call])], 'AA24', watch);
    }
    const allowAll = await withSession();
    await refusedUnchanged(
      allowAll.account,
      [await env.sessionOp(allowAll.account.sender, allowAll.session, [selfCall(env, allowAll.account, 'setOwner', [attacker])])],
      'AA24',
    );
    assert.equal(await env.read('LatchkeyAccount', account.sender, 'owner'), account.owner.address);
  });

  test('e02_allowlist_is_per_contract_and_per_selector (c06, c07)', async () => {
    const otherGame = await env.deploy('Game');
    const { account, session } = await withSession({ methods: [{ target: env.game, selector: SEL.makeMove }] });
    const watch = { sessions: [session.address] };
    await refusedUnchanged(account, [await env.sessionOp(account.sender, session, [move(1n, otherGame)])], 'AA24', watch);
    const claim = { target: env.game, data: env.encode('Game', 'claimReward') };
    await refusedUnchanged(account, [await env.sessionOp(account.sender, session, [claim])], 'AA24', watch);
    await refusedUnchanged(account, [await env.sessionOp(account.sender, session, [{ target: env.game, data: '0x' }])], 'AA24', watch);
    assert.equal((await env.read('Game', otherGame, 'getPlayer', [account.sender])).moves, 0);
    // Target 0 allows the selector on any contract.
    const wildcard = await withSession({ methods: [{ target: '0x0000000000000000000000000000000000000000', selector: SEL.makeMove }] });
    const { events } = await env.handleOps([
      await env.sessionOp(wildcard.account.sender, wildcard.session, [move(1n), move(2n, otherGame)]),
    ]);
    assert.equal(events[0].success, true);
    assert.equal((await env.read('Game', otherGame, 'getPlayer', [wildcard.account.sender])).moves, 1);
  });

  test('e03_a_batch_with_one_disallowed_call_is_refused_whole (c08)', async () => {
    const { account, session } = await withSession({ methods: [{ target: env.game, selector: SEL.makeMove }] });
    await env.token && (await ownerDoes(env, account, [tokenCall('mint', [account.sender, 1000n])]));
    const watch = { sessions: [session.address] };
    const batch = [move(1n), move(2n), tokenCall('transfer', [newKey().address, 5n])];
    await refusedUnchanged(account, [await env.sessionOp(account.sender, session, batch)], 'AA24', watch);
    await refusedUnchanged(account, [await env.sessionOp(account.sender, session, batch, { via: 'executeUserOp' })], 'AA24', watch);
  });

  test('e04_calls_to_the_entrypoint_factory_and_paymaster_are_refused (EVM)', async () => {
    const { account, session } = await withSession({
      methods: [
        { target: env.entryPoint, selector: '0x205c2878' }, // withdrawTo(address,uint256)
        { target: env.factory, selector: '0x5fbfb9cf' }, // createAccount(address,uint256)
        { target: env.paymaster, selector: '0xd0e30db0' }, // deposit()
      ],
    });
    await env.send(account.sender, '0x', 10n ** 18n);
    await ownerDoes(env, account, [{ target: env.entryPoint, value: 10n ** 17n, data: env.encode('EntryPoint', 'depositTo', [account.sender]) }]);
    const watch = { sessions: [session.address] };
    const thief = newKey().address;
    const calls = [
      { target: env.entryPoint, data: env.encode('EntryPoint', 'withdrawTo', [thief, 10n ** 17n]) },
      { target: env.entryPoint, data: env.encode('EntryPoint', 'incrementNonce', [0n]) },
      { target: env.factory, data: env.encode('LatchkeyAccountFactory', 'createAccount', [thief, 1n]) },
      { target: env.paymaster, data: env.encode('LatchkeyPaymaster', 'deposit') },
      { target: env.paymaster, data: env.encode('LatchkeyPaymaster', 'setSigner', [thief]) },
    ];
    for (const call of calls) {
      await refusedUnchanged(account, [await env.sessionOp(account.sender, session, [call])], 'AA24', watch);
    }
    const allowAll = await withSession();
    for (const call of calls) {
      await refusedUnchanged(allowAll.account, [await env.sessionOp(allowAll.account.sender, allowAll.session, [move(1n), call])], 'AA24');
    }
    assert.equal(await env.public.getBalance({ address: thief }), 0n);
  });

  test('e05_a_session_op_without_our_paymaster_is_refused (EVM: session gas)', async () => {
    const { account, session } = await withSession();
    await env.send(account.sender, '0x', 10n ** 18n);
    // An EntryPoint deposit large enough for the prefund, so that the refusal seen is the
    // account's own (AA24), not a missing prefund.
    await ownerDoes(env, account, [{ target: env.entryPoint, value: 10n ** 17n, data: env.encode('EntryPoint', 'depositTo', [account.sender]) }]);
    const watch = { sessions: [session.address] };
    // No paymaster: the account would pay the prefund.
    await refusedUnchanged(account, [await env.sessionOp(account.sender, session, [move(1n)], { sponsor: false })], 'AA24', watch);
    // Another (working) verifying paymaster.
    const other = await env.deploy('LatchkeyPaymaster', [env.entryPoint, env.pmOwner.address, env.pmSigner.address]);
    await env.send(other, env.encode('LatchkeyPaymaster', 'deposit'), 10n ** 18n);
    const op = await env.sessionOp(account.sender, session, [move(1n)], { paymasterOptions: { paymaster: other } });
    await refusedUnchanged(account, [op], 'AA24', watch);
    // Even with a huge fee, the account's ETH and deposit do not move.
    const greedy = await env.sessionOp(account.sender, session, [move(1n)], {
      sponsor: false,
      maxFeePerGas: 10n ** 12n,
      maxPriorityFeePerGas: 10n ** 12n,
    });
    // (The EntryPoint may stop at the missing prefund first.)
    await refusedUnchanged(account, [greedy], /^AA2[14] /, watch);
    assert.equal(await env.public.getBalance({ address: account.sender }), 9n * 10n ** 17n);
    assert.equal(await env.read('EntryPoint', env.entryPoint, 'balanceOf', [account.sender]), 10n ** 17n);
  });

  test('e06_no_delegatecall_in_our_contracts (c02)', async () => {
    const opcodes = (hex) => {
      const code = Buffer.from(hex.slice(2), 'hex');
      // Drop the CBOR metadata (its length is in the last two bytes).
      const end = code.length - 2 - code.readUInt16BE(code.length - 2);
      const found = [];
      for (let pc = 0; pc < end; ) {
        const op = code[pc];
        found.push(op);
        pc += op >= 0x60 && op <= 0x7f ? op - 0x5e : 1;
      }
      return found;
    };
    for (const name of ['LatchkeyAccount', 'LatchkeyAccountFactory', 'LatchkeyPaymaster']) {
      const ops = opcodes(A[name].deployedBytecode);
      assert.ok(ops.length > 100, name);
      assert.equal(ops.includes(0xf4), false, `${name} contains DELEGATECALL`);
      assert.equal(ops.includes(0xf2), false, `${name} contains CALLCODE`);
      assert.equal(ops.includes(0xff), false, `${name} contains SELFDESTRUCT`);
    }
    // The account's calls go out as CALLs: a target sees the account as msg.sender.
    const { account, session } = await withSession();
    assert.equal((await env.handleOps([await env.sessionOp(account.sender, session, [move(3n)])])).events[0].success, true);
    assert.equal((await env.read('Game', env.game, 'getPlayer', [account.sender])).lastMove, 3n);
  });

  test('e07_sessions_do_not_replay_across_accounts (c19)', async () => {
    const { account, session } = await withSession();
    const other = await withSession();
    const op = await env.sessionOp(account.sender, session, [move(1n)]);
    // The same key on another account where it is not registered.
    const foreign = await env.sessionOp(other.account.sender, session, [move(1n)], { nonceKey: (BigInt(session.address) << 32n) | 1n });
    await refusedUnchanged(other.account, [foreign], 'AA24', { sessions: [other.session.address] });
    // The signature of an op for `account`, moved to the other account.
    const moved = { ...op, sender: other.account.sender, nonce: await env.nonce(other.account.sender, op.nonce >> 64n) };
    await env.sponsor(moved);
    moved.signature = op.signature;
    await refusedUnchanged(other.account, [moved], 'AA24', { sessions: [other.session.address] });
  });
});

describe('spending caps', () => {
  const CAP = { perCall: 100n, perWindow: 250n, window: 3600n };

  async function cappedSession() {
    const { account, session } = await withSession();
    await ownerDoes(env, account, [tokenCall('mint', [account.sender, 10_000n])]);
    await setSpendingCap(env, account, session.address, env.token, CAP.perCall, CAP.perWindow, CAP.window);
    return { account, session };
  }

  const capState = (account, session, extra = {}) => ({
    caps: [
      [session.address, env.token],
      [session.address, NATIVE_TOKEN],
    ],
    tokenHolders: extra.holders ?? [],
  });

  /// Execution refused with `error`; balances, allowances, caps and game state unchanged.
  async function executionRefused(account, session, calls, errorName, holders = []) {
    const watch = capState(account, session, { holders });
    const before = await observe(env, account, watch);
    const op = await env.sessionOp(account.sender, session, calls);
    const reason = await expectExecutionRevert(env, op);
    assert.equal(reason.errorName, errorName);
    const afterState = await observe(env, account, watch);
    assert.deepEqual(afterState, { ...before, sessions: afterState.sessions });
  }

  test('e08_transfer_is_capped_per_call_and_per_window (c10)', async () => {
    const { account, session } = await cappedSession();
    const to = newKey().address;
    const holders = [[to]];
    await executionRefused(account, session, [tokenCall('transfer', [to, 101n])], 'PerCallCapExceeded', holders);
    for (const amount of [100n, 100n]) {
      assert.equal((await env.handleOps([await env.sessionOp(account.sender, session, [tokenCall('transfer', [to, amount])])])).events[0].success, true);
    }
    let cap = await env.read('LatchkeyAccount', account.sender, 'getSpendingCap', [session.address, env.token]);
    assert.equal(cap.spentInWindow, 200n);
    await executionRefused(account, session, [tokenCall('transfer', [to, 51n])], 'WindowCapExceeded', holders);
    assert.equal(await env.read('DemoToken', env.token, 'balanceOf', [to]), 200n);
    // The window resets once windowSeconds have passed since it started.
    await env.warpTo(cap.windowStart + CAP.window);
    const { events } = await env.handleOps([await env.sessionOp(account.sender, session, [tokenCall('transfer', [to, 100n])])]);
    assert.equal(events[0].success, true);
    cap = await env.read('LatchkeyAccount', account.sender, 'getSpendingCap', [session.address, env.token]);
    assert.equal(cap.spentInWindow, 100n);
    assert.ok(cap.windowStart >= (await env.now()) - 1n);
    assert.equal(await env.read('DemoToken', env.token, 'balanceOf', [to]), 300n);
  });

  test('e09_transferFrom_approve_and_increaseAllowance_count (c10)', async () => {
    const { account, session } = await cappedSession();
    const spender = newKey().address;
    // transferFrom of a third party's tokens that the account may move.
    const holder = env.pmOwner.address;
    for (const [functionName, args] of [
      ['mint', [holder, 1000n]],
      ['approve', [account.sender, 1000n]],
    ]) {
      const hash = await env.ownerWallet.writeContract({ address: env.token, abi: A.DemoToken.abi, functionName, args, gas: 200_000n });
      assert.equal((await env.public.waitForTransactionReceipt({ hash })).status, 'success');
    }
    const to = newKey().address;
    const holders = [[to], [holder], [account.sender, spender]];
    await executionRefused(account, session, [tokenCall('transferFrom', [holder, to, 101n])], 'PerCallCapExceeded', holders);
    await executionRefused(account, session, [tokenCall('approve', [spender, 101n])], 'PerCallCapExceeded', holders);
    await executionRefused(account, session, [tokenCall('increaseAllowance', [spender, 101n])], 'PerCallCapExceeded', holders);
    // Each path counts against the same window: 100 + 100 + 50 = 250, then 1 more fails.
    for (const call of [
      tokenCall('transferFrom', [holder, to, 100n]),
      tokenCall('approve', [spender, 100n]),
      tokenCall('increaseAllowance', [spender, 50n]),
    ]) {
      assert.equal((await env.handleOps([await env.sessionOp(account.sender, session, [call])])).events[0].success, true);
    }
    assert.equal(await env.read('DemoToken', env.token, 'allowance', [account.sender, spender]), 150n);
    assert.equal((await env.read('LatchkeyAccount', account.sender, 'getSpendingCap', [session.address, env.token])).spentInWindow, 250n);
    for (const call of [
      tokenCall('transferFrom', [holder, to, 1n]),
      tokenCall('approve', [spender, 1n]),
      tokenCall('increaseAllowance', [spender, 1n]),
      tokenCall('transfer', [to, 1n]),
    ]) {
      await executionRefused(account, session, [call], 'WindowCapExceeded', holders);
    }
    // A tracked selector with truncated calldata is refused, not skipped.
    const short = { target: env.token, data: env.encode('DemoToken', 'transfer', [to, 1n]).slice(0, 2 + 2 * 40) };
    await executionRefused(account, session, [short], 'MalformedTokenCall', holders);
  });

  test('e10_native_value_needs_a_native_cap_and_is_capped (c10, EVM)', async () => {
    const { account, session } = await cappedSession();
    await env.send(account.sender, '0x', 10n ** 18n);
    const to = newKey().address;
    const holders = [[to]];
    // A token cap but no native cap: value is refused at execution.
    await executionRefused(account, session, [{ target: to, value: 1n }], 'NativeValueNotAllowed', holders);
    // No cap at all: refused by validation.
    const plain = await withSession();
    await env.send(plain.account.sender, '0x', 10n ** 18n);
    await refusedUnchanged(plain.account, [await env.sessionOp(plain.account.sender, plain.session, [{ target: to, value: 1n }])], 'AA24', {
      tokenHolders: holders,
    });
    await refusedUnchanged(
      plain.account,
      [await env.sessionOp(plain.account.sender, plain.session, [{ target: to, value: 1n }], { via: 'executeUserOp' })],
      'AA24',
      { tokenHolders: holders },
    );
    // With a native cap: per call, then per window.
    await setSpendingCap(env, account, session.address, NATIVE_TOKEN, 1000n, 1500n, 60n);
    await executionRefused(account, session, [{ target: to, value: 1001n }], 'PerCallCapExceeded', holders);
    assert.equal((await env.handleOps([await env.sessionOp(account.sender, session, [{ target: to, value: 1000n }])])).events[0].success, true);
    await executionRefused(account, session, [{ target: to, value: 501n }], 'WindowCapExceeded', holders);
    // A value carried by a token call counts as native too.
    await executionRefused(account, session, [{ ...tokenCall('transfer', [to, 1n]), value: 501n }], 'WindowCapExceeded', holders);
    assert.equal(await env.public.getBalance({ address: to }), 1000n);
  });

  test('e11_a_refused_cap_reverts_the_whole_batch (c09)', async () => {
    const { account, session } = await cappedSession();
    const to = newKey().address;
    const watch = capState(account, session, { holders: [[to]] });
    const before = await observe(env, account, watch);
    const op = await env.sessionOp(account.sender, session, [move(1n), tokenCall('transfer', [to, 60n]), tokenCall('transfer', [to, 60n]), tokenCall('transfer', [to, 200n])]);
    assert.equal((await expectExecutionRevert(env, op)).errorName, 'PerCallCapExceeded');
    const afterState = await observe(env, account, watch);
    assert.deepEqual(afterState, { ...before, sessions: afterState.sessions });
    // Two batch items that each fit but together exceed the window.
    const op2 = await env.sessionOp(account.sender, session, [tokenCall('transfer', [to, 100n]), tokenCall('transfer', [to, 100n]), tokenCall('transfer', [to, 100n])]);
    assert.equal((await expectExecutionRevert(env, op2)).errorName, 'WindowCapExceeded');
    assert.deepEqual(await observe(env, account, watch), { ...before, sessions: afterState.sessions });
  });

  test('e12_a_capped_session_cannot_bypass_caps_through_execute (c10, EVM)', async () => {
    const { account, session } = await cappedSession();
    const to = newKey().address;
    for (const via of ['execute', 'executeBatch']) {
      const callData = via === 'execute'
        ? env.encode('LatchkeyAccount', 'execute', [env.token, 0n, env.encode('DemoToken', 'transfer', [to, 1000n])])
        : env.encode('LatchkeyAccount', 'executeBatch', [[{ target: env.token, value: 0n, data: env.encode('DemoToken', 'transfer', [to, 1000n]) }]]);
      await refusedUnchanged(account, [await env.sessionOp(account.sender, session, [], { callData })], 'AA24', capState(account, session, { holders: [[to]] }));
    }
  });
});

describe('signatures and replay', () => {
  test('e13_signatures_for_another_chain_or_entrypoint_are_refused (c18)', async () => {
    const { account, session } = await withSession();
    const op = await env.sessionOp(account.sender, session, [move(1n)]);
    const here = env.userOpHash(op);
    assert.notEqual(env.userOpHash(op, { chainId: 1 }), here);
    assert.notEqual(env.userOpHash(op, { entryPoint: '0x0000000071727De22E5E9d8BAf0edAc6f37da032' }), here);
    const watch = { sessions: [session.address] };
    for (const kind of [KIND.sessionRaw, KIND.sessionEip191]) {
      await refusedUnchanged(account, [await env.signOp({ ...op }, session, kind, { chainId: 1 })], 'AA24', watch);
    }
    const ownerOp = await env.ownerOp(account, [move(2n)]);
    await refusedUnchanged(account, [await env.signOp({ ...ownerOp }, account.owner, KIND.ownerRaw, { chainId: 10 })], 'AA24', watch);
    // A second EntryPoint: the hash differs and the account only answers the canonical one.
    const otherEntryPoint = await env.deploy('EntryPoint');
    assert.notEqual(env.userOpHash(op, { entryPoint: otherEntryPoint }), here);
    const signedThere = await env.signOp({ ...ownerOp }, account.owner, KIND.ownerRaw, { entryPoint: otherEntryPoint });
    const before = await observe(env, account, watch);
    await expectFailedOp(env, [signedThere], 'AA23 reverted', { entryPoint: otherEntryPoint });
    await expectFailedOp(env, [signedThere], 'AA24', {});
    assert.deepEqual(await observe(env, account, watch), before);
  });

  test('e14_high_s_signatures_are_refused (c22)', async () => {
    const { account, session } = await withSession();
    const watch = { sessions: [session.address] };
    for (const kind of [KIND.sessionRaw, KIND.sessionEip191]) {
      const op = await env.sessionOp(account.sender, session, [move(1n)], { kind });
      await refusedUnchanged(account, [{ ...op, signature: highS(op.signature) }], 'AA24', watch);
    }
    for (const kind of [KIND.ownerRaw, KIND.ownerEip191]) {
      const op = await env.ownerOp(account, [move(1n)], { kind });
      await refusedUnchanged(account, [{ ...op, signature: highS(op.signature) }], 'AA24', watch);
    }
    // And the low-s original is fine.
    assert.equal((await env.handleOps([await env.sessionOp(account.sender, session, [move(1n)])])).events[0].success, true);
  });

  test('e15_erc1271_accepts_owner_signatures_only (c21)', async () => {
    const { account, session } = await withSession();
    const hash = `0x${randomBytes(32).toString('hex')}`;
    const isValid = (signature) => env.read('LatchkeyAccount', account.sender, 'isValidSignature', [hash, signature]);
    const raw = await account.owner.sign({ hash });
    const personal = await account.owner.signMessage({ message: { raw: hash } });
    assert.equal(await isValid(raw), '0x1626ba7e');
    assert.equal(await isValid(concat(['0x00', raw])), '0x1626ba7e');
    assert.equal(await isValid(concat(['0x01', personal])), '0x1626ba7e');
    const sessionRaw = await session.sign({ hash });
    const sessionPersonal = await session.signMessage({ message: { raw: hash } });
    for (const signature of [
      sessionRaw,
      concat(['0x00', sessionRaw]),
      concat(['0x01', sessionPersonal]),
      concat(['0x02', sessionRaw]),
      concat(['0x03', sessionPersonal]),
      concat(['0x02', raw]),
      concat(['0x01', raw]),
      highS(concat(['0x00', raw])),
      '0x',
      concat([raw, '0x00']),
    ]) {
      assert.equal(await isValid(signature), '0xffffffff');
    }
    assert.equal((await env.read('LatchkeyAccount', account.sender, 'getSession', [session.address])).active, true);
  });

  test('e16_nonce_and_nonce_key_replay_is_refused (c27)', async () => {
    const { account, session } = await withSession();
    const watch = { sessions: [session.address] };
    const op = await env.sessionOp(account.sender, session, [move(1n)]);
    assert.equal((await env.handleOps([op])).events[0].success, true);
    await refusedUnchanged(account, [op], 'AA25', watch);
    const ownerOp = await env.ownerOp(account, [move(2n)]);
    assert.equal((await env.handleOps([ownerOp])).events[0].success, true);
    await refusedUnchanged(account, [ownerOp], 'AA25', watch);
    // A session op on the owner's nonce key (0) or on another key is refused.
    for (const nonceKey of [0n, 1n, (BigInt(session.address) << 32n) | 99n]) {
      await refusedUnchanged(account, [await env.sessionOp(account.sender, session, [move(3n)], { nonceKey })], 'AA24', watch);
    }
    // After re-registration the old registration's key is dead.
    const oldKey = (await env.read('LatchkeyAccount', account.sender, 'getSession', [session.address])).nonceKey;
    await registerSession(env, account, session.address);
    await refusedUnchanged(account, [await env.sessionOp(account.sender, session, [move(4n)], { nonceKey: oldKey })], 'AA24', watch);
    assert.equal((await env.handleOps([await env.sessionOp(account.sender, session, [move(5n)])])).events[0].success, true);
  });

  test('e17_malformed_signatures_of_every_length_fail_validation_without_reverting (c26)', async () => {
    const { account, session } = await withSession();
    const base = await env.sessionOp(account.sender, session, [move(1n)]);
    const valid = base.signature;
    const ownerBase = await env.ownerOp(account, [move(1n)]);
    const candidates = [];
    for (let length = 0; length <= 200; length++) {
      const bytes = randomBytes(length);
      if (length > 0) bytes[0] = length % 5; // kinds 0..3 and an unknown kind
      candidates.push(`0x${bytes.toString('hex')}`);
    }
    candidates.push(
      slice(valid, 1), // 65 bytes without the kind
      concat([valid, '0x00']),
      concat(['0x04', slice(valid, 1)]),
      concat(['0xff', slice(valid, 1)]),
      concat([slice(valid, 0, 65), '0x1d']), // v = 29
      concat([slice(valid, 0, 65), '0x00']), // v = 0
      concat([slice(valid, 0, 1), pad('0x00', { size: 64 }), '0x1b']), // r = s = 0
      concat([slice(valid, 0, 33), pad(numberToHex(SECP256K1_N), { size: 32 }), slice(valid, 65)]), // s = n
      pad('0x00', { size: 66 }),
    );
    const watch = { sessions: [session.address] };
    const before = await observe(env, account, watch);
    for (const signature of candidates) {
      for (const op of [base, ownerBase]) {
        const error = await env.simulateHandleOps([{ ...op, signature }]);
        assert.ok(error, `signature ${size(signature)} bytes accepted`);
        assert.equal(error.errorName, 'FailedOp', `signature of ${size(signature)} bytes: ${error.errorName}`);
        assert.equal(error.args[1], 'AA24 signature error', `signature of ${size(signature)} bytes`);
      }
    }
    // A few are mined too, and revert whole.
    for (const signature of candidates.filter((_, i) => i % 40 === 0)) {
      await expectFailedOp(env, [{ ...base, signature }], 'AA24');
    }
    assert.deepEqual(await observe(env, account, watch), before);
    // Malformed execute calldata from a session fails validation too.
    const bogus = concat([env.encode('LatchkeyAccount', 'execute', [env.game, 0n, '0x']).slice(0, 2 + 8 + 128), pad('0xffff', { size: 32 })]);
    await refusedUnchanged(account, [await env.sessionOp(account.sender, session, [], { callData: bogus })], 'AA24', watch);
  });

  test('e18_only_the_entrypoint_validates_and_executes (c24, c25)', async () => {
    const { account, session } = await withSession();
    const op = toPackedUserOperation(await env.sessionOp(account.sender, session, [move(1n)]));
    const stranger = env.bundler.address;
    const before = await observe(env, account, { sessions: [session.address] });
    for (const data of [
      env.encode('LatchkeyAccount', 'validateUserOp', [op, `0x${'11'.repeat(32)}`, 0n]),
      env.encode('LatchkeyAccount', 'executeUserOp', [op, `0x${'11'.repeat(32)}`]),
      env.encode('LatchkeyAccount', 'execute', [env.game, 0n, env.encode('Game', 'makeMove', [1n])]),
      env.encode('LatchkeyAccount', 'executeBatch', [[{ target: env.game, value: 0n, data: env.encode('Game', 'makeMove', [1n]) }]]),
      env.encode('LatchkeyAccount', 'registerSession', [stranger, 0, 4_000_000_000, 10, []]),
      env.encode('LatchkeyAccount', 'setOwner', [stranger]),
      env.encode('LatchkeyAccount', 'revokeAllSessions'),
      env.encode('LatchkeyAccount', 'setSpendingCap', [session.address, env.token, 1n, 1n, 1n]),
    ]) {
      assert.equal((await env.send(account.sender, data)).status, 'reverted');
    }
    assert.deepEqual(await observe(env, account, { sessions: [session.address] }), before);
  });
});

describe('time, counter and revocation', () => {
  test('e21_expiry_and_valid_after_are_enforced_by_the_entrypoint (c11, c13)', async () => {
    const now = await env.now();
    const { account, session } = await withSession({
      validAfter: Number(now + 500n),
      validUntil: Number(now + 900n),
      methods: [{ target: env.game, selector: SEL.makeMove }],
    });
    const watch = { sessions: [session.address] };
    const signedAt = async (timestamp) => {
      await env.rpc('evm_setNextBlockTimestamp', [numberToHex(timestamp)]);
      return env.sessionOp(account.sender, session, [move(1n)], { paymasterOptions: { validUntil: now + 10_000n } });
    };
    await refusedUnchanged(account, [await signedAt(now + 499n)], 'AA22 expired or not due', watch);
    // A userOp signed while valid is refused once the session expired.
    await env.warpTo(now + 600n);
    const early = await env.sessionOp(account.sender, session, [move(2n)], { paymasterOptions: { validUntil: now + 10_000n } });
    await env.rpc('evm_setNextBlockTimestamp', [numberToHex(now + 901n)]);
    await refusedUnchanged(account, [early], 'AA22 expired or not due', watch);
  });

  test('e22_the_counter_refuses_the_call_after_max_calls (c14)', async () => {
    const { account, session } = await withSession({ maxCalls: 1, methods: [{ target: env.game, selector: SEL.makeMove }] });
    // Two userOps signed in advance on consecutive sequences: only the first runs.
    const first = await env.sessionOp(account.sender, session, [move(1n)]);
    const second = await env.sessionOp(account.sender, session, [move(2n)], { nonce: first.nonce + 1n });
    await refusedUnchanged(account, [second], 'AA25 invalid account nonce', { sessions: [session.address] });
    assert.equal((await env.handleOps([first])).events[0].success, true);
    await refusedUnchanged(account, [second], 'AA24', { sessions: [session.address] });
    // Both in one bundle: the second is refused and the bundle with it.
    const other = await withSession({ maxCalls: 1, methods: [{ target: env.game, selector: SEL.makeMove }] });
    const a = await env.sessionOp(other.account.sender, other.session, [move(1n)]);
    const b = await env.sessionOp(other.account.sender, other.session, [move(2n)], { nonce: a.nonce + 1n });
    await refusedUnchanged(other.account, [a, b], 'AA24', { sessions: [other.session.address] });
  });

  test('e23_revocation_and_rotation_stop_userops_signed_before (c16, c17)', async () => {
    for (const revoke of ['revokeSession', 'revokeAllSessions', 'setOwner']) {
      const { account, session } = await withSession({ methods: [{ target: env.game, selector: SEL.makeMove }] });
      const signed = await env.sessionOp(account.sender, session, [move(1n)]);
      const args = revoke === 'revokeSession' ? [session.address] : revoke === 'setOwner' ? [newKey().address] : [];
      await ownerDoes(env, account, [selfCall(env, account, revoke, args)]);
      await refusedUnchanged(account, [signed], 'AA24', { sessions: [session.address] });
      assert.equal((await env.read('Game', env.game, 'getPlayer', [account.sender])).moves, 0, revoke);
    }
  });
});

describe('paymaster', () => {
  test('e19_paymaster_signature_window_signer_and_binding (EVM)', async () => {
    const account = await env.newAccount();
    const deposit = await env.read('EntryPoint', env.entryPoint, 'balanceOf', [env.paymaster]);
    const now = await env.now();
    const op = async (paymasterOptions) => env.ownerOp(account, [move(1n)], { paymasterOptions });
    await refusedUnchanged(account, [await op({ validUntil: now - 1n })], 'AA32 paymaster expired or not due');
    await refusedUnchanged(account, [await op({ validUntil: now + 1000n, validAfter: now + 500n })], 'AA32 paymaster expired or not due');
    await refusedUnchanged(account, [await op({ signer: newKey() })], 'AA34 signature error');
    // Any change to a signed field after signing breaks the paymaster signature.
    const signed = await env.sponsor(await env.baseOp(account.sender, env.ownerCallData([move(1n)])));
    for (const tampered of [
      { ...signed, callGasLimit: signed.callGasLimit + 1n },
      { ...signed, maxFeePerGas: signed.maxFeePerGas * 2n },
      { ...signed, callData: env.ownerCallData([move(2n)]) },
      { ...signed, paymasterPostOpGasLimit: 1n },
      { ...signed, paymasterData: concat([slice(signed.paymasterData, 0, 12), highS(concat(['0x00', slice(signed.paymasterData, 12)])).replace(/^0x00/, '0x')]) },
    ]) {
      await refusedUnchanged(account, [await env.signOp(tampered, account.owner, KIND.ownerRaw)], 'AA34 signature error');
    }
    // Malformed paymasterData lengths.
    for (const paymasterData of ['0x', slice(signed.paymasterData, 0, 76), concat([signed.paymasterData, '0x00'])]) {
      await refusedUnchanged(account, [await env.signOp({ ...signed, paymasterData }, account.owner, KIND.ownerRaw)], 'AA34 signature error');
    }
    assert.equal(await env.read('EntryPoint', env.entryPoint, 'balanceOf', [env.paymaster]), deposit);
    // The valid one passes.
    assert.equal((await env.handleOps([await env.signOp(signed, account.owner, KIND.ownerRaw)])).events[0].success, true);
  });

  test('e20_paymaster_admin_is_the_owners (EVM)', async () => {
    const stranger = newKey().address;
    for (const data of [
      env.encode('LatchkeyPaymaster', 'setSigner', [stranger]),
      env.encode('LatchkeyPaymaster', 'transferOwnership', [stranger]),
      env.encode('LatchkeyPaymaster', 'withdrawTo', [stranger, 1n]),
      env.encode('LatchkeyPaymaster', 'unlockStake'),
    ]) {
      assert.equal((await env.send(env.paymaster, data)).status, 'reverted');
    }
    assert.equal(await env.read('LatchkeyPaymaster', env.paymaster, 'signer'), env.pmSigner.address);
    // The owner withdraws from the deposit.
    const payee = newKey().address;
    const deposit = await env.read('LatchkeyPaymaster', env.paymaster, 'getDeposit');
    const withdrawal = await env.ownerWallet.writeContract({
      address: env.paymaster,
      abi: A.LatchkeyPaymaster.abi,
      functionName: 'withdrawTo',
      args: [payee, 10n ** 18n],
      gas: 200_000n,
    });
    assert.equal((await env.public.waitForTransactionReceipt({ hash: withdrawal })).status, 'success');
    assert.equal(await env.public.getBalance({ address: payee }), 10n ** 18n);
    assert.equal(await env.read('LatchkeyPaymaster', env.paymaster, 'getDeposit'), deposit - 10n ** 18n);
    // The owner rotates the signer: old signatures stop working.
    const account = await env.newAccount();
    const newSigner = newKey();
    const hash = await env.ownerWallet.writeContract({
      address: env.paymaster,
      abi: A.LatchkeyPaymaster.abi,
      functionName: 'setSigner',
      args: [newSigner.address],
      gas: 200_000n,
    });
    assert.equal((await env.public.waitForTransactionReceipt({ hash })).status, 'success');
    try {
      await refusedUnchanged(account, [await env.ownerOp(account, [move(1n)])], 'AA34 signature error');
      const op = await env.ownerOp(account, [move(1n)], { paymasterOptions: { signer: newSigner } });
      assert.equal((await env.handleOps([op])).events[0].success, true);
    } finally {
      const back = await env.ownerWallet.writeContract({
        address: env.paymaster,
        abi: A.LatchkeyPaymaster.abi,
        functionName: 'setSigner',
        args: [env.pmSigner.address],
        gas: 200_000n,
      });
      await env.public.waitForTransactionReceipt({ hash: back });
    }
  });
});
