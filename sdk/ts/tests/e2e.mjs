// End to end against a running `latchkey serve`, through the built package (dist/):
// a wallet with a PIN (lk2: the server evaluates it, counts attempts, and no copy of the
// envelope can be attacked offline), a session scoped to the demo game, executions
// without the PIN, a reload, revocation, logout, an lk1 key re-sealed as lk2. Prints one
// JSON line per step; exits non-zero on failure.
//
// Environment: LATCHKEY_API_URL, LATCHKEY_PUBLIC_KEY, LATCHKEY_SECRET_KEY.
import assert from 'node:assert/strict';
import {
  ChipiClient,
  init,
  LatchkeyClient,
  LatchkeyError,
  SessionManager,
  browserSessionStorage,
  envelopeInfo,
  unlockOwnerKey,
  unlockOwnerKeyWithPin,
  unlockSessionKey,
  unlockSessionKeyWithPin,
} from '../dist/index.js';
import { openSession } from '../dist/session.js';

const url = process.env.LATCHKEY_API_URL;
const publicKey = process.env.LATCHKEY_PUBLIC_KEY;
const secretKey = process.env.LATCHKEY_SECRET_KEY;
if (!url || !publicKey || !secretKey) {
  console.error('set LATCHKEY_API_URL, LATCHKEY_PUBLIC_KEY and LATCHKEY_SECRET_KEY');
  process.exit(2);
}

const PIN = '482913';
const secret = { pin: PIN };

function step(name, data = {}) {
  console.log(JSON.stringify({ step: name, ...data }));
}

/** A Web Storage area in memory, with the Storage methods the SDK uses. */
class MemoryStorage {
  #items = new Map();
  getItem(k) {
    return this.#items.has(k) ? this.#items.get(k) : null;
  }
  setItem(k, v) {
    this.#items.set(k, String(v));
  }
  removeItem(k) {
    this.#items.delete(k);
  }
  get length() {
    return this.#items.size;
  }
}

async function rejects(promise, code, what) {
  try {
    await promise;
  } catch (e) {
    assert.ok(e instanceof LatchkeyError, `${what}: not a LatchkeyError: ${e}`);
    assert.equal(e.code, code, `${what}: ${e.code} (${e.serverCode ?? ''}): ${e.message}`);
    assert.equal(typeof e.numericCode, 'number', `${what}: numericCode`);
    assert.ok(!e.message.includes(PIN), `${what}: the PIN leaked into the message`);
    return e;
  }
  assert.fail(`${what}: expected ${code}, but it succeeded`);
}

await init();
const client = new LatchkeyClient({ url, publicKey, secretKey });

// 1. Public configuration.
const config = await client.config();
assert.match(config.accountClassHash, /^0x[0-9a-f]+$/);
assert.ok(config.demoGame, 'the server runs the demo game');
const game = config.demoGame;
step('config', { chainId: config.chainId });

// 2. A wallet whose owner key is made and sealed here under the PIN and the server's OPRF
// evaluation of it (lk2); the server only sees a blinded PIN, ciphertext and the owner
// key's proof of possession. Its own unlock is proved, so the attempt counter is clear.
const wallet = await client.createWallet({ secret, externalUserId: `sdk-e2e-${Date.now()}` });
assert.ok(wallet.encryptedPrivateKey.startsWith('lk2$owner$argon2id$'), wallet.encryptedPrivateKey);
const sealedInfo = envelopeInfo(wallet.encryptedPrivateKey);
assert.equal(sealedInfo.format, 'lk2');
assert.equal(sealedInfo.offlineGuessable, false);
assert.equal((await client.pinStatus(wallet.address)).failures, 0, 'the creation was proved');
assert.ok(wallet.deployed, 'the wallet is deployed');
assert.equal(wallet.hasBackup, false);
assert.equal((await client.getWallet(wallet.address)).ownerPublicKey, wallet.ownerPublicKey);
const listed = (await client.listWallets()).find((w) => w.address === wallet.address);
assert.ok(listed, 'the new wallet is listed');
assert.equal(listed.encryptedPrivateKey, undefined, 'lists carry no encrypted keys');
step('createWallet', { address: wallet.address });

// 3. A session key, kept unlocked in memory and stored encrypted.
const area = new MemoryStorage();
const storageKey = 'latchkey.session';
const storage = browserSessionStorage(storageKey, area);
const manager = new SessionManager({ client, wallet, storage });
await manager.restore();
assert.equal(manager.state, 'none');
const states = [];
manager.subscribe(() => states.push(manager.state));
const data = await manager.createSession(secret, { durationSeconds: 3600 });
assert.equal(manager.state, 'created');
assert.ok(manager.unlocked);
const stored = JSON.parse(area.getItem(storageKey));
assert.deepEqual(Object.keys(stored).sort(), ['encryptedPrivateKey', 'publicKey', 'validUntil']);
assert.ok(stored.encryptedPrivateKey.startsWith('lk2$session$'), 'stored encrypted, as lk2');
assert.equal(stored.publicKey, data.publicKey);
step('createSession', { publicKey: data.publicKey, validUntil: data.validUntil });

// 4. The owner registers it once, for make_move and claim_reward, 10 calls.
const registration = await manager.registerSession(secret, {
  allowedMethods: [
    { contract: game, entrypoint: 'make_move' },
    { contract: game, entrypoint: 'claim_reward' },
  ],
  maxCalls: 10,
});
assert.equal(registration.status, 'succeeded');
assert.equal(manager.state, 'active');
assert.equal(manager.remainingCalls, 10);
step('registerSession', { transactionHash: registration.transactionHash });

// 5. Three moves with the session key; no PIN.
const remaining = [];
for (const move of [7, 8, 9]) {
  const execution = await manager.execute([{ to: game, entrypoint: 'make_move', calldata: [String(move)] }]);
  assert.equal(execution.status, 'succeeded');
  remaining.push(manager.remainingCalls);
}
assert.deepEqual(remaining, [9, 8, 7]);
step('execute', { remainingCalls: remaining });

// 6. A method outside the allowlist is refused with a clear code.
await rejects(
  manager.execute([{ to: game, entrypoint: 'set_reward_pool', calldata: ['1'] }]),
  'SESSION_ENTRYPOINT_NOT_ALLOWED',
  'a call outside the allowlist',
);
assert.equal(manager.remainingCalls, 7, 'a refused call uses no call');
step('allowlistEnforced');

// 7. A reload: the record comes back from storage, locked until the PIN is given again.
const reloaded = new SessionManager({ client, wallet: { address: wallet.address, encryptedPrivateKey: wallet.encryptedPrivateKey }, storage });
await reloaded.restore();
assert.equal(reloaded.state, 'active');
assert.equal(reloaded.remainingCalls, 7);
assert.equal(reloaded.unlocked, false);
await rejects(reloaded.execute([{ to: game, entrypoint: 'make_move', calldata: ['10'] }]), 'SESSION_LOCKED', 'locked session');
// A wrong PIN is checked by the server: counted, and the error says what is left.
const wrong = await rejects(reloaded.unlock({ pin: '482914' }), 'SESSION_DECRYPTION_FAILED', 'wrong PIN');
assert.equal(typeof wrong.attemptsRemaining, 'number', 'a wrong PIN says the attempts left');
const counted = await client.pinStatus(wallet.address);
assert.ok(counted.failures >= 1, `the wrong PIN was counted: ${JSON.stringify(counted)}`);
assert.equal(wrong.attemptsRemaining, counted.attemptsRemaining);
await reloaded.unlock(secret);
assert.equal((await client.pinStatus(wallet.address)).failures, 0, 'a proved unlock clears the count');
await reloaded.execute([{ to: game, entrypoint: 'make_move', calldata: ['10'] }]);
assert.equal(reloaded.remainingCalls, 6);
step('restore', { remainingCalls: reloaded.remainingCalls });

// 7b. Another page runs the same session with the session entry alone
// (`@latchkey/sdk/session`, one small module): the stored lk2 record opens with the PIN
// and the server's evaluation; moves need no PIN; a wrong PIN is counted as above.
const light = { url, publicKey, secretKey, wallet: wallet.address, session: stored };
const lightWrong = await rejects(openSession({ ...light, pin: '482914' }), 'SESSION_DECRYPTION_FAILED', 'session entry, wrong PIN');
assert.equal(typeof lightWrong.attemptsRemaining, 'number', 'the session entry says the attempts left');
const active = await openSession({ ...light, pin: PIN });
assert.equal((await client.pinStatus(wallet.address)).failures, 0, "the session entry's unlock is proved");
assert.equal(active.publicKey, stored.publicKey);
const lightMove = await active.execute([{ to: game, entrypoint: 'make_move', calldata: ['20'] }]);
assert.equal(lightMove.status, 'succeeded');
await rejects(
  active.execute([{ to: game, entrypoint: 'set_reward_pool', calldata: ['1'] }]),
  'SESSION_ENTRYPOINT_NOT_ALLOWED',
  'session entry, a call outside the allowlist',
);
active.free();
await reloaded.refreshStatus();
assert.equal(reloaded.remainingCalls, 5, "the session entry's move used one call");
step('sessionEntry', { transactionHash: lightMove.transactionHash, remainingCalls: reloaded.remainingCalls });

// 8. Revocation (owner-signed); the next execution is refused, locally and by the server.
const revocation = await manager.revoke(secret);
assert.equal(revocation.status, 'succeeded');
assert.equal(manager.state, 'revoked');
await rejects(manager.execute([{ to: game, entrypoint: 'make_move', calldata: ['11'] }]), 'SESSION_REVOKED', 'after revoke (local)');
// The stored record cannot be opened with the PIN alone: the server's evaluation is needed.
await rejects(unlockSessionKey(data, secret, wallet.address), 'OPRF_REQUIRED', 'an lk2 key without the server');
const signer = await unlockSessionKeyWithPin(client, data, secret, wallet.address);
const refused = await rejects(
  client.execute(wallet.address, signer, [{ to: game, entrypoint: 'make_move', calldata: ['12'] }]),
  'SESSION_REVOKED',
  'after revoke (server)',
);
signer.free();
step('revoke', { serverStatus: refused.status ?? null, serverCode: refused.serverCode });

// 9. Logout: nothing left to revoke; the storage is cleared and the keys forgotten.
await manager.logout(secret);
assert.equal(manager.state, 'none');
assert.equal(manager.unlocked, false);
assert.equal(area.getItem(storageKey), null);
step('logout');

// 10. Logout of a live session revokes it on chain before clearing.
await manager.createSession(secret, { durationSeconds: 600 });
await manager.registerSession(secret, { allowedMethods: [{ contract: game, entrypoint: 'make_move' }], maxCalls: 2 });
assert.equal(manager.state, 'active');
const live = manager.session.publicKey;
await manager.logout(secret);
assert.equal(area.getItem(storageKey), null);
assert.equal((await client.getSession(wallet.address, live)).state, 'revoked');
step('logoutRevokes');

// 11. The Chipi dialect: a CHIPI wallet, a Chipi-format session, an execution with it.
const chipi = new ChipiClient({ url, apiPublicKey: publicKey, apiSecretKey: secretKey });
const chipiWallet = await chipi.createWallet({ encryptKey: '839201', externalUserId: `sdk-e2e-chipi-${Date.now()}` });
assert.ok(chipiWallet.encryptedPrivateKey.startsWith('U2FsdGVkX1'));
assert.equal((await chipi.getWallet(chipiWallet.externalUserId)).publicKey, chipiWallet.publicKey);
assert.equal(await chipi.getWallet('nobody-here'), null);
const chipiSession = await chipi.createSessionKey({ encryptKey: '839201', walletAddress: chipiWallet.publicKey, durationSeconds: 3600 });
const owned = { publicKey: chipiWallet.publicKey, encryptedPrivateKey: chipiWallet.encryptedPrivateKey, ownerPublicKey: chipiWallet.ownerPublicKey };
await chipi.addSessionKeyToContract({
  encryptKey: '839201',
  wallet: owned,
  sessionConfig: { sessionPublicKey: chipiSession.publicKey, validUntil: chipiSession.validUntil, maxCalls: 5, allowedEntrypoints: ['make_move'] },
});
const chipiTx = await chipi.executeWithSession({
  encryptKey: '839201',
  wallet: chipiWallet,
  session: chipiSession,
  calls: [{ to: game, entrypoint: 'make_move', calldata: ['5'] }],
});
assert.match(chipiTx, /^0x[0-9a-f]+$/);
const chipiStatus = await chipi.getSessionData(chipiWallet.publicKey, chipiSession.publicKey);
assert.equal(chipiStatus.isActive, true);
assert.equal(chipiStatus.remainingCalls, 4);
await chipi.revokeSessionKey({ encryptKey: '839201', wallet: owned, sessionPublicKey: chipiSession.publicKey });
assert.equal((await chipi.getSessionData(chipiWallet.publicKey, chipiSession.publicKey)).isActive, false);
step('chipiDialect', { transactionHash: chipiTx });

// 12. Key custody: the stored owner key replaced under a new PIN (proved by the owner
// key), the replacement in the key history, and restored from there.
const NEW_PIN = '905172';
const original = (await client.getEncryptedKey(wallet.address)).encryptedPrivateKey;
assert.equal(original, wallet.encryptedPrivateKey);
const owner = await unlockOwnerKeyWithPin(client, wallet, secret);
try {
  const replaced = await client.replaceEncryptedKey(wallet.address, owner, { secret: { pin: NEW_PIN } });
  assert.notEqual(replaced.encryptedPrivateKey, original);
  assert.ok(replaced.encryptedPrivateKey.startsWith('lk2$owner$'), 'a new PIN seals lk2 too');
  const stored = (await client.getWallet(wallet.address)).encryptedPrivateKey;
  assert.equal(stored, replaced.encryptedPrivateKey);
  const storedRef = { address: wallet.address, encryptedPrivateKey: stored, ownerPublicKey: wallet.ownerPublicKey };
  await rejects(unlockOwnerKeyWithPin(client, storedRef, secret), 'OWNER_KEY_DECRYPTION_FAILED', 'the old PIN on the new blob');
  (await unlockOwnerKeyWithPin(client, storedRef, { pin: NEW_PIN })).free();
  const history = await client.keyHistory(wallet.address);
  const replacement = history.find((e) => e.kind === 'replaced' && e.restorable);
  assert.ok(replacement, `a restorable replacement in ${JSON.stringify(history)}`);
  assert.equal(replacement.proof, 'owner-signature');
  const restored = await client.restoreKey(wallet.address, replacement.id, owner);
  assert.equal(restored.encryptedPrivateKey, original);
  assert.equal((await client.getEncryptedKey(wallet.address)).encryptedPrivateKey, original);
  step('custody', { events: history.map((e) => e.kind) });
} finally {
  owner.free();
}

// 13. An lk1 owner key (sealed offline, as older clients did) opens through the server and
// is re-sealed as lk2 there: from then on no copy of it can be attacked offline.
const OLD_PIN = '396271';
const legacy = await client.createWallet({ secret: { pin: OLD_PIN }, format: 'lk1', externalUserId: `sdk-e2e-lk1-${Date.now()}` });
assert.ok(legacy.encryptedPrivateKey.startsWith('lk1$owner$argon2id$'));
assert.equal(envelopeInfo(legacy.encryptedPrivateKey).offlineGuessable, true);
let rewrapped = null;
const legacyOwner = await unlockOwnerKeyWithPin(client, legacy, { pin: OLD_PIN }, {
  onRewrap: (sealed) => {
    rewrapped = sealed;
  },
});
legacyOwner.free();
assert.ok(rewrapped?.startsWith('lk2$owner$'), `re-sealed as lk2: ${rewrapped}`);
assert.equal((await client.getEncryptedKey(legacy.address)).encryptedPrivateKey, rewrapped);
await rejects(unlockOwnerKey(rewrapped, { pin: OLD_PIN }, legacy), 'OPRF_REQUIRED', 'the re-sealed key offline');
const again = await unlockOwnerKeyWithPin(client, { ...legacy, encryptedPrivateKey: rewrapped }, { pin: OLD_PIN });
again.free();
assert.equal((await client.pinStatus(legacy.address)).failures, 0);
step('lk1Rewrap', { format: envelopeInfo(rewrapped).format });

// 14. Organisation settings: the sponsorship policy round-trips; no token issuer is set.
const policy = await client.sponsorshipPolicy();
assert.ok(Array.isArray(policy.allowedMethods));
const updated = await client.setSponsorshipPolicy({
  allowedMethods: [{ contract: game, entrypoint: 'make_move' }],
  dailyGasPerWalletFri: '1000000000000000000000',
});
assert.equal(updated.allowedMethods.length, 1);
assert.equal(updated.dailyGasPerWalletFri, '1000000000000000000000');
assert.deepEqual(await client.sponsorshipPolicy(), updated);
assert.deepEqual(await client.setSponsorshipPolicy(policy), policy);
step('settings', { tokenIssuer: (await client.tokenIssuer()) !== null });

// Nothing the SDK printed or stored held the PIN or a plaintext key.
assert.ok(!JSON.stringify(states).includes(PIN));
step('done');
