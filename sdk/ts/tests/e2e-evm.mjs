// End to end against a running `latchkey serve`, through the built package (dist/): an
// EVM wallet whose owner key is sealed as lk2 under a PIN (the server evaluates it and
// deploys the account gaslessly), a session key for the demo game's makeMove registered
// with one owner signature, moves signed by the session key alone, its status, the
// allowlist enforced, the session key sealed and unlocked again, revocation, and
// revoke-all. Prints one JSON line per step; exits non-zero on failure.
//
// Environment: LATCHKEY_URL (or LATCHKEY_API_URL), LATCHKEY_PUBLIC_KEY,
// LATCHKEY_SECRET_KEY, EVM_GAME (the EVM demo game, from the server's banner).
import assert from 'node:assert/strict';
import { createWalletClient, custom, encodeFunctionData, parseAbi } from 'viem';
import { erc7715Actions } from 'viem/experimental';
import { EvmClient, LatchkeyClient, LatchkeyError, envelopeInfo, init, latchkeyProvider } from '../dist/index.js';

const url = process.env.LATCHKEY_URL ?? process.env.LATCHKEY_API_URL;
const publicKey = process.env.LATCHKEY_PUBLIC_KEY;
const secretKey = process.env.LATCHKEY_SECRET_KEY;
const game = process.env.EVM_GAME;
if (!url || !publicKey || !secretKey || !game) {
  console.error('set LATCHKEY_URL, LATCHKEY_PUBLIC_KEY, LATCHKEY_SECRET_KEY and EVM_GAME');
  process.exit(2);
}

const PIN = '482913';

function step(name, data = {}) {
  console.log(JSON.stringify({ step: name, ...data }));
}

/** The LatchkeyError `promise` rejects with; fails when it resolves or throws something else. */
async function refusal(promise, what) {
  try {
    await promise;
  } catch (e) {
    assert.ok(e instanceof LatchkeyError, `${what}: not a LatchkeyError: ${e}`);
    assert.ok(!e.message.includes(PIN), `${what}: the PIN is in the message`);
    return e;
  }
  assert.fail(`${what}: expected a refusal`);
}

const gameAbi = parseAbi(['function makeMove(uint256 move)']);
const makeMove = (n) => ({ to: game, data: encodeFunctionData({ abi: gameAbi, functionName: 'makeMove', args: [n] }) });

await init();
const client = new LatchkeyClient({ url, publicKey, secretKey, kdf: 'floor' });
const evm = new EvmClient(client);

// 1. The chain.
const chain = await evm.chain();
assert.equal(chain.family, 'evm');
step('config', { chain: chain.id, entryPoint: chain.contracts.entryPoint, factory: chain.contracts.factory });

// 2. A wallet: the owner key is made and sealed in WebAssembly memory, proved once.
const created = await evm.createWallet({ pin: PIN });
const { address } = created;
const info = envelopeInfo(created.encryptedPrivateKey);
assert.ok(created.encryptedPrivateKey.startsWith('lk2$owner-secp256k1$'), created.encryptedPrivateKey.slice(0, 24));
assert.equal(info.offlineGuessable, false);
assert.equal(address, await evm.walletAddress(created.ownerAddress));
const stored = await client.getWallet(address);
assert.equal(stored.encryptedPrivateKey, created.encryptedPrivateKey);
step('createWallet', { address, owner: created.ownerAddress, deployed: created.wallet.deployed, format: info.format });

// 3. A wrong PIN: refused by the envelope after the server's (counted) evaluation.
const wrong = await refusal(evm.unlockOwner(address, { pin: '739154' }), 'wrong PIN');
assert.equal(wrong.code, 'OWNER_KEY_DECRYPTION_FAILED');
assert.equal(typeof wrong.attemptsRemaining, 'number');
step('wrongPin', { code: wrong.code, attemptsRemaining: wrong.attemptsRemaining });

// 4. A session key for makeMove, ten calls, one hour: the owner (unlocked with the PIN
//    from the envelope given here) signs its registration once.
const session = await evm.createSessionKey();
step('createSession', { session: session.address });
const validUntil = Math.floor(Date.now() / 1000) + 3600;
const allowedMethods = [{ contract: game, entrypoint: 'makeMove(uint256)' }];
const registered = await evm.registerSession(address, {
  owner: { pin: PIN, encryptedPrivateKey: created.encryptedPrivateKey, ownerAddress: created.ownerAddress },
  session,
  maxCalls: 10,
  validUntil,
  allowedMethods,
});
assert.equal(registered.status, 'succeeded');
step('registerSession', { status: registered.status, transactionHash: registered.transactionHash });

// 5. Moves signed by the session key alone (no PIN), sponsored.
const used = [];
for (const n of [7n, 8n]) {
  const done = await evm.executeWithSession(address, session, [makeMove(n)]);
  assert.equal(done.status, 'succeeded');
  used.push((await evm.sessionStatus(address, session)).callsUsed);
}
assert.deepEqual(used, [1, 2]);
step('execute', { callsUsed: used });

// 6. Status.
const status = await evm.sessionStatus(address, session.address);
assert.equal(status.state, 'active');
assert.equal(status.maxCalls, 10);
step('status', { state: status.state, callsUsed: status.callsUsed, maxCalls: status.maxCalls, validUntil: status.validUntil });

// 7. The session key sealed as lk2 under the PIN, freed, unlocked again, and used.
const sealed = await evm.sealSessionKey(address, session, { pin: PIN });
assert.ok(sealed.startsWith('lk2$session-secp256k1$'), sealed.slice(0, 24));
const sessionAddress = session.address;
session.free();
const reopened = await evm.unlockSessionKey(address, { address: sessionAddress, encryptedPrivateKey: sealed }, { pin: PIN });
assert.equal(reopened.address, sessionAddress);
const again = await evm.executeWithSession(address, reopened, [makeMove(9n)]);
assert.equal(again.status, 'succeeded');
step('sessionReopened', { format: envelopeInfo(sealed).format, callsUsed: (await evm.sessionStatus(address, reopened)).callsUsed });

// 8. Revoke, with the owner key unlocked once (envelope from the server) and held.
const owner = await evm.unlockOwner(address, { pin: PIN });
assert.equal(owner.address, created.ownerAddress);
const revoked = await evm.revokeSession(address, owner, reopened);
assert.equal(revoked.status, 'succeeded');
const afterRevoke = await evm.sessionStatus(address, reopened);
assert.equal(afterRevoke.state, 'revoked');
const refused = await refusal(evm.executeWithSession(address, reopened, [makeMove(10n)]), 'revoked session');
step('revoke', { state: afterRevoke.state, code: refused.code, serverCode: refused.serverCode });
reopened.free();

// 9. Two more sessions: the allowlist holds (another method of the game is refused; the
//    session that tried is not used again), then revoke-all.
const others = [await evm.createSessionKey(), await evm.createSessionKey()];
for (const other of others) {
  await evm.registerSession(address, { owner, session: other, maxCalls: 3, validUntil, allowedMethods });
}
const outside = await refusal(evm.executeWithSession(address, others[1], [{ to: game, data: '0xdeadbeef' }]), 'allowlist');
assert.equal(outside.code, 'SESSION_ENTRYPOINT_NOT_ALLOWED');
step('allowlistEnforced', { code: outside.code, serverCode: outside.serverCode });
const all = await evm.revokeAll(address, owner);
assert.equal(all.status, 'succeeded');
const states = [];
for (const other of others) states.push((await evm.sessionStatus(address, other)).state);
assert.deepEqual(states, ['revoked', 'revoked']);
const afterAll = await refusal(evm.executeWithSession(address, others[0], [makeMove(11n)]), 'after revoke-all');
step('revokeAll', { states, code: afterAll.code, serverCode: afterAll.serverCode });
for (const other of others) other.free();

// 10. EIP-7715 through viem: the wallet's EIP-1193 provider (owner key held here) grants a
//     permission as a session, used through wallet_sendCalls (EIP-5792); the current
//     ERC's methods answer in their shapes; what the account cannot enforce is refused.
const provider = latchkeyProvider({ evm, account: address, owner });
const wallet7715 = createWalletClient({ transport: custom(provider) }).extend(erc7715Actions());
const now = Math.floor(Date.now() / 1000);
const permission = { type: 'contract-call', data: { address: game, calls: ['makeMove(uint256)'] }, policies: [{ type: 'rate-limit', data: { count: 3, interval: 7200 } }] };
const granted = await wallet7715.grantPermissions({ expiry: now + 3600, permissions: [permission] });
assert.equal(granted.expiry, now + 3600);
assert.equal(typeof granted.permissionsContext, 'string');
assert.ok(Array.isArray(granted.grantedPermissions[0].policies));
const sessionOfGrant = await evm.sessionStatus(address, granted.permissionsContext);
assert.equal(sessionOfGrant.state, 'active');
assert.equal(sessionOfGrant.maxCalls, 3);
const sent = await provider.request({
  method: 'wallet_sendCalls',
  params: [{ version: '2.0.0', from: address, calls: [makeMove(12n)], capabilities: { permissions: { context: granted.permissionsContext } } }],
});
const callsStatus = await wallet7715.getCallsStatus({ id: sent.id });
assert.equal(callsStatus.status, 'success');
assert.equal(callsStatus.receipts[0].status, 'success');
const offList = await provider
  .request({ method: 'wallet_sendCalls', params: [{ calls: [{ to: game, data: '0xdeadbeef' }], capabilities: { permissions: { context: granted.permissionsContext } } }] })
  .then(() => null, (e) => e);
assert.equal(offList?.data?.code, 'SESSION_ENTRYPOINT_NOT_ALLOWED');
const unenforceable = await wallet7715
  .grantPermissions({ expiry: now + 3600, permissions: [{ type: 'native-token-transfer', data: { ticker: 'ETH' }, policies: [], required: true }] })
  .then(() => null, (e) => e);
assert.ok(unenforceable && /contract calls only/.test(unenforceable.message), String(unenforceable));
const asDuration = await wallet7715.grantPermissions({ expiry: 3600, permissions: [permission] }).then(() => null, (e) => e);
assert.ok(asDuration && /absolute unix time/.test(asDuration.message), String(asDuration));
const supported = await provider.request({ method: 'wallet_getSupportedExecutionPermissions', params: [] });
assert.deepEqual(Object.keys(supported), ['contract-call']);
const chainHex = await provider.request({ method: 'eth_chainId' });
const [current] = await provider.request({
  method: 'wallet_requestExecutionPermissions',
  params: [{ chainId: chainHex, permission: { type: 'contract-call', isAdjustmentAllowed: false, data: { address: game, calls: ['makeMove(uint256)'] } }, rules: [{ type: 'expiry', data: { timestamp: now + 600 } }] }],
});
assert.equal(current.from, address.toLowerCase());
assert.equal(typeof current.context, 'string');
const listedGrants = await provider.request({ method: 'wallet_getGrantedExecutionPermissions', params: [] });
assert.deepEqual(listedGrants.map((g) => g.context).sort(), [granted.permissionsContext, current.context].sort());
assert.deepEqual(await provider.request({ method: 'wallet_revokeExecutionPermission', params: [{ permissionContext: granted.permissionsContext }] }), {});
assert.equal((await evm.sessionStatus(address, granted.permissionsContext)).state, 'revoked');
const afterRevoke7715 = await provider
  .request({ method: 'wallet_sendCalls', params: [{ calls: [makeMove(13n)], capabilities: { permissions: { context: granted.permissionsContext } } }] })
  .then(() => null, (e) => e);
assert.equal(afterRevoke7715?.code, 4100);
const unknownMethod = await provider.request({ method: 'eth_sign', params: [] }).then(() => null, (e) => e);
assert.equal(unknownMethod?.code, 4200);
step('eip7715', { context: granted.permissionsContext, callsStatus: callsStatus.status, refused: offList.data.code });
owner.free();

step('done');
