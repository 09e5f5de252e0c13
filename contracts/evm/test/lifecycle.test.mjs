// The session lifecycle on a LatchkeyAccount: owner execution in both signature modes,
// registration, session execution, the counter, the time window, revocation and owner
// rotation, and the views the server reads.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  Env,
  KIND,
  NATIVE_TOKEN,
  SEL,
  expectFailedOp,
  generatePrivateKey,
  ownerDoes,
  privateKeyToAccount,
  registerSession,
  selfCall,
  setSpendingCap,
} from './lib.mjs';

let env;
before(async () => {
  env = await Env.create();
});
after(async () => {
  await env?.stop();
});

const newKey = () => privateKeyToAccount(generatePrivateKey());
const move = (n) => ({ target: env.game, data: env.encode('Game', 'makeMove', [n]) });
const moves = async (sender) => (await env.read('Game', env.game, 'getPlayer', [sender])).moves;

describe('owner execution', () => {
  test('execute and executeBatch with raw and EIP-191 owner signatures', async () => {
    const account = await env.newAccount();
    await ownerDoes(env, account, [move(1n)], { kind: KIND.ownerRaw });
    await ownerDoes(env, account, [move(2n)], { kind: KIND.ownerEip191 });
    await ownerDoes(env, account, [move(3n), move(4n)], { kind: KIND.ownerRaw });
    await ownerDoes(env, account, [move(5n), { target: env.game, data: env.encode('Game', 'claimReward') }], {
      kind: KIND.ownerEip191,
    });
    await ownerDoes(env, account, [move(6n)], { via: 'executeBatch' });
    await ownerDoes(env, account, [move(7n), move(8n)], { via: 'executeUserOp' });
    const player = await env.read('Game', env.game, 'getPlayer', [account.sender]);
    assert.equal(player.moves, 8);
    assert.equal(player.rewards, 1);
    assert.equal(player.lastMove, 8n);
  });

  test('an owner batch is atomic', async () => {
    const account = await env.newAccount();
    const op = await env.ownerOp(account, [move(1n), { target: env.game, data: env.encode('Game', 'makeMove', [0n]) }]);
    const { events } = await env.handleOps([op]);
    assert.equal(events[0].success, false);
    assert.equal(await moves(account.sender), 0);
  });

  test('the owner may call execute directly; nobody else may', async () => {
    const ownerKey = generatePrivateKey();
    const account = await env.newAccount({ ownerKey });
    await env.send(account.owner.address, '0x', 10n ** 18n);
    const { createWalletClient, http } = await import('viem');
    const ownerWallet = createWalletClient({ chain: env.chain, transport: http(env.anvil.url), account: account.owner });
    const data = env.encode('LatchkeyAccount', 'execute', [env.game, 0n, env.encode('Game', 'makeMove', [9n])]);
    const hash = await ownerWallet.sendTransaction({ to: account.sender, data, gas: 500_000n });
    assert.equal((await env.public.waitForTransactionReceipt({ hash })).status, 'success');
    assert.equal(await moves(account.sender), 1);
    assert.equal((await env.send(account.sender, data)).status, 'reverted');
    assert.equal(await moves(account.sender), 1);
  });

  test('the account holds and sends ETH, ERC-20 and ERC-721 for its owner', async () => {
    const account = await env.newAccount();
    const to = newKey().address;
    await env.send(account.sender, '0x', 1000n);
    await ownerDoes(env, account, [
      { target: env.nft, data: env.encode('DemoNft', 'mint', [account.sender]) },
      { target: env.token, data: env.encode('DemoToken', 'mint', [account.sender, 500n]) },
      { target: env.token, data: env.encode('DemoToken', 'transfer', [to, 200n]) },
      { target: to, value: 300n },
    ]);
    assert.equal(await env.read('DemoNft', env.nft, 'balanceOf', [account.sender]), 1n);
    assert.equal(await env.read('DemoToken', env.token, 'balanceOf', [to]), 200n);
    assert.equal(await env.public.getBalance({ address: to }), 300n);
  });
});

describe('sessions', () => {
  test('register, then the session plays in both signature modes', async () => {
    const account = await env.newAccount();
    const session = newKey();
    const now = await env.now();
    const view = await registerSession(env, account, session.address, {
      validUntil: Number(now + 3600n),
      maxCalls: 10,
      methods: [
        { target: env.game, selector: SEL.makeMove },
        { target: env.game, selector: SEL.claimReward },
      ],
    });
    assert.equal(view.registered, true);
    assert.equal(view.revoked, false);
    assert.equal(view.active, true);
    assert.equal(view.maxCalls, 10);
    assert.equal(view.callsUsed, 0n);
    assert.equal(view.allowAll, false);
    assert.equal(view.validUntil, Number(now + 3600n));
    assert.deepEqual(
      view.allowedMethods.map((m) => [m.target, m.selector]),
      [
        [env.game, SEL.makeMove],
        [env.game, SEL.claimReward],
      ],
    );
    assert.equal(view.nonceKey, (BigInt(session.address) << 32n) | BigInt(view.registration));
    assert.equal(await env.read('LatchkeyAccount', account.sender, 'sessionNonceKey', [session.address]), view.nonceKey);

    for (const [i, kind] of [KIND.sessionRaw, KIND.sessionEip191, KIND.sessionRaw].entries()) {
      const { events } = await env.handleOps([await env.sessionOp(account.sender, session, [move(BigInt(i + 1))], { kind })]);
      assert.equal(events[0].success, true);
    }
    const claim = await env.sessionOp(account.sender, session, [{ target: env.game, data: env.encode('Game', 'claimReward') }]);
    assert.equal((await env.handleOps([claim])).events[0].success, true);
    const batch = await env.sessionOp(account.sender, session, [move(4n), move(5n)]);
    assert.equal((await env.handleOps([batch])).events[0].success, true);
    const player = await env.read('Game', env.game, 'getPlayer', [account.sender]);
    assert.equal(player.moves, 5);
    assert.equal(player.rewards, 1);
    const after = await env.read('LatchkeyAccount', account.sender, 'getSession', [session.address]);
    assert.equal(after.callsUsed, 5n);
    assert.equal(after.active, true);
  });

  test('the counter: maxCalls userOps, then refusal', async () => {
    const account = await env.newAccount();
    const session = newKey();
    await registerSession(env, account, session.address, { maxCalls: 2, methods: [{ target: env.game, selector: SEL.makeMove }] });
    for (const n of [1n, 2n]) {
      assert.equal((await env.handleOps([await env.sessionOp(account.sender, session, [move(n)])])).events[0].success, true);
    }
    const view = await env.read('LatchkeyAccount', account.sender, 'getSession', [session.address]);
    assert.equal(view.callsUsed, 2n);
    assert.equal(view.active, false);
    await expectFailedOp(env, [await env.sessionOp(account.sender, session, [move(3n)])], 'AA24');
    assert.equal(await moves(account.sender), 2);
  });

  test('a userOp whose execution fails still uses a call', async () => {
    const account = await env.newAccount();
    const session = newKey();
    await registerSession(env, account, session.address, { maxCalls: 3, methods: [{ target: env.game, selector: SEL.makeMove }] });
    const { events } = await env.handleOps([await env.sessionOp(account.sender, session, [move(0n)])]);
    assert.equal(events[0].success, false);
    assert.equal((await env.read('LatchkeyAccount', account.sender, 'getSession', [session.address])).callsUsed, 1n);
  });

  test('validAfter and validUntil are enforced by the EntryPoint, both ends inclusive', async () => {
    const account = await env.newAccount();
    const session = newKey();
    const now = await env.now();
    const validAfter = now + 1000n;
    const validUntil = now + 2000n;
    await registerSession(env, account, session.address, {
      validAfter: Number(validAfter),
      validUntil: Number(validUntil),
      methods: [{ target: env.game, selector: SEL.makeMove }],
    });
    const paymasterOptions = { validUntil: now + 100_000n };
    const at = async (timestamp, n) => {
      await env.rpc('evm_setNextBlockTimestamp', [`0x${timestamp.toString(16)}`]);
      return env.sessionOp(account.sender, session, [move(n)], { paymasterOptions });
    };
    assert.equal((await env.read('LatchkeyAccount', account.sender, 'getSession', [session.address])).active, false);
    // Before validAfter: refused.
    await expectFailedOp(env, [await at(validAfter - 1n, 1n)], 'AA22 expired or not due');
    // The first second and the last second are inside.
    assert.equal((await env.handleOps([await at(validAfter, 2n)])).events[0].success, true);
    assert.equal((await env.handleOps([await at(validUntil, 3n)])).events[0].success, true);
    // After validUntil: refused.
    await expectFailedOp(env, [await at(validUntil + 1n, 4n)], 'AA22 expired or not due');
    assert.equal(await moves(account.sender), 2);
    assert.equal((await env.read('LatchkeyAccount', account.sender, 'getSession', [session.address])).active, false);
  });

  test('registration refuses an empty window, a past expiry, zero calls and a zero key', async () => {
    const account = await env.newAccount();
    const now = Number(await env.now());
    const key = newKey().address;
    const bad = [
      [key, 100, 100, 1, []],
      [key, 0, now - 10, 1, []],
      [key, 0, now + 100, 0, []],
      ['0x0000000000000000000000000000000000000000', 0, now + 100, 1, []],
    ];
    for (const args of bad) {
      const { events } = await env.handleOps([await env.ownerOp(account, [selfCall(env, account, 'registerSession', args)])]);
      assert.equal(events[0].success, false);
    }
    assert.deepEqual(await env.read('LatchkeyAccount', account.sender, 'registrationCounters'), [0, 0]);
  });

  test('revoke one session: the other keeps working; the key can never be registered again', async () => {
    const account = await env.newAccount();
    const [a, b] = [newKey(), newKey()];
    const methods = [{ target: env.game, selector: SEL.makeMove }];
    await registerSession(env, account, a.address, { methods });
    await registerSession(env, account, b.address, { methods });
    const stale = await env.sessionOp(account.sender, a, [move(1n)]);
    await ownerDoes(env, account, [selfCall(env, account, 'revokeSession', [a.address])]);
    const view = await env.read('LatchkeyAccount', account.sender, 'getSession', [a.address]);
    assert.equal(view.revoked, true);
    assert.equal(view.active, false);
    await expectFailedOp(env, [stale], 'AA24');
    await expectFailedOp(env, [await env.sessionOp(account.sender, a, [move(2n)])], 'AA24');
    assert.equal((await env.handleOps([await env.sessionOp(account.sender, b, [move(3n)])])).events[0].success, true);
    // Re-registration of the revoked key fails (the registration counter does not move).
    const counters = await env.read('LatchkeyAccount', account.sender, 'registrationCounters');
    const now = await env.now();
    const again = await env.ownerOp(account, [
      selfCall(env, account, 'registerSession', [a.address, 0, Number(now + 3600n), 5, methods]),
    ]);
    assert.equal((await env.handleOps([again])).events[0].success, false);
    assert.deepEqual(await env.read('LatchkeyAccount', account.sender, 'registrationCounters'), counters);
    await expectFailedOp(env, [await env.sessionOp(account.sender, a, [move(4n)])], 'AA24');
    assert.equal(await moves(account.sender), 1);
  });

  test('re-registering a current key starts a fresh counter and allowlist', async () => {
    const account = await env.newAccount();
    const session = newKey();
    await registerSession(env, account, session.address, { maxCalls: 1, methods: [{ target: env.game, selector: SEL.makeMove }] });
    const old = await env.sessionOp(account.sender, session, [move(1n)]);
    assert.equal((await env.handleOps([old])).events[0].success, true);
    const view = await registerSession(env, account, session.address, {
      maxCalls: 2,
      methods: [{ target: env.game, selector: SEL.claimReward }],
    });
    assert.equal(view.callsUsed, 0n);
    assert.equal(view.registration, 2);
    // makeMove is no longer allowed; claimReward is.
    await expectFailedOp(env, [await env.sessionOp(account.sender, session, [move(2n)])], 'AA24');
    const claim = await env.sessionOp(account.sender, session, [{ target: env.game, data: env.encode('Game', 'claimReward') }]);
    assert.equal((await env.handleOps([claim])).events[0].success, false, 'allowed, reverts in the game (nothing to claim)');
  });

  test('revokeAllSessions ends every session; new ones work', async () => {
    const account = await env.newAccount();
    const keys = [newKey(), newKey()];
    const methods = [{ target: env.game, selector: SEL.makeMove }];
    for (const k of keys) await registerSession(env, account, k.address, { methods });
    await ownerDoes(env, account, [selfCall(env, account, 'revokeAllSessions', [])]);
    for (const k of keys) {
      assert.equal((await env.read('LatchkeyAccount', account.sender, 'getSession', [k.address])).revoked, true);
      await expectFailedOp(env, [await env.sessionOp(account.sender, k, [move(1n)])], 'AA24');
    }
    const fresh = newKey();
    await registerSession(env, account, fresh.address, { methods });
    assert.equal((await env.handleOps([await env.sessionOp(account.sender, fresh, [move(2n)])])).events[0].success, true);
    // A key revoked by revokeAllSessions cannot come back either.
    const now = await env.now();
    const again = await env.ownerOp(account, [
      selfCall(env, account, 'registerSession', [keys[0].address, 0, Number(now + 100n), 1, methods]),
    ]);
    assert.equal((await env.handleOps([again])).events[0].success, false);
    assert.equal(await moves(account.sender), 1);
  });

  test('owner rotation revokes every session; only the new owner signs', async () => {
    const account = await env.newAccount();
    const session = newKey();
    await registerSession(env, account, session.address, { methods: [{ target: env.game, selector: SEL.makeMove }] });
    const newOwner = newKey();
    await ownerDoes(env, account, [selfCall(env, account, 'setOwner', [newOwner.address])]);
    assert.equal(await env.read('LatchkeyAccount', account.sender, 'owner'), newOwner.address);
    assert.equal((await env.read('LatchkeyAccount', account.sender, 'getSession', [session.address])).revoked, true);
    await expectFailedOp(env, [await env.sessionOp(account.sender, session, [move(1n)])], 'AA24');
    await expectFailedOp(env, [await env.ownerOp(account, [move(2n)])], 'AA24');
    await ownerDoes(env, { sender: account.sender, owner: newOwner }, [move(3n)]);
    assert.equal(await moves(account.sender), 1);
  });

  test('spending cap views and removal', async () => {
    const account = await env.newAccount();
    const session = newKey();
    await registerSession(env, account, session.address);
    await setSpendingCap(env, account, session.address, env.token, 10n, 25n, 3600n);
    await setSpendingCap(env, account, session.address, NATIVE_TOKEN, 5n, 5n, 60n);
    const cap = await env.read('LatchkeyAccount', account.sender, 'getSpendingCap', [session.address, env.token]);
    assert.deepEqual(cap, { maxPerCall: 10n, maxPerWindow: 25n, windowSeconds: 3600n, spentInWindow: 0n, windowStart: 0n });
    assert.equal((await env.read('LatchkeyAccount', account.sender, 'getSession', [session.address])).hasSpendingCaps, true);
    await ownerDoes(env, account, [selfCall(env, account, 'removeSpendingCap', [session.address, env.token])]);
    await ownerDoes(env, account, [selfCall(env, account, 'removeSpendingCap', [session.address, NATIVE_TOKEN])]);
    assert.equal((await env.read('LatchkeyAccount', account.sender, 'getSession', [session.address])).hasSpendingCaps, false);
    const cleared = await env.read('LatchkeyAccount', account.sender, 'getSpendingCap', [session.address, env.token]);
    assert.equal(cleared.windowSeconds, 0n);
    // Invalid caps are refused.
    for (const args of [
      [session.address, env.token, 0n, 10n, 60n],
      [session.address, env.token, 11n, 10n, 60n],
      [session.address, env.token, 1n, 10n, 0n],
    ]) {
      const { events } = await env.handleOps([await env.ownerOp(account, [selfCall(env, account, 'setSpendingCap', args)])]);
      assert.equal(events[0].success, false);
    }
  });

  test('an allow-all session may call any contract but the forbidden ones (NFT mint flow)', async () => {
    const account = await env.newAccount();
    const session = newKey();
    const view = await registerSession(env, account, session.address, { methods: [] });
    assert.equal(view.allowAll, true);
    const mint = { target: env.nft, data: env.encode('DemoNft', 'mint', [account.sender]) };
    assert.equal((await env.handleOps([await env.sessionOp(account.sender, session, [mint, move(1n)])])).events[0].success, true);
    assert.equal(await env.read('DemoNft', env.nft, 'balanceOf', [account.sender]), 1n);
  });
});
