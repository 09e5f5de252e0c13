// Runs the real, unmodified Chipi SDK (@chipi-stack/backend 14.4.0) against a running
// `latchkey serve`, through its `alphaUrl` option, over the whole session lifecycle:
//
//   createWallet → getWallet → sessions.createSessionKey → sessions.addSessionKeyToContract
//   → sessions.getSessionData → executeTransactionWithSession (a game move and a token
//   transfer, confirmed on chain) → setSpendingPolicy / getSpendingPolicy
//   → revokeSessionKey → a further execution fails with a clear error.
//
// Environment: LATCHKEY_API_URL, LATCHKEY_PUBLIC_KEY, LATCHKEY_SECRET_KEY,
// LATCHKEY_ACCOUNT_CLASS_HASH, LATCHKEY_GAME, STARKNET_RPC_URL (read by the SDK itself; the
// chain must be a devnet, whose devnet_mint funds the new wallet).
// Prints one JSON line per step; exits non-zero on the first failure.

import { ChipiServerSDK } from '@chipi-stack/backend';
import { RpcProvider, hash } from 'starknet';

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`missing environment variable ${name}`);
  return value;
};
const apiUrl = env('LATCHKEY_API_URL');
const rpcUrl = env('STARKNET_RPC_URL');
const classHash = env('LATCHKEY_ACCOUNT_CLASS_HASH');
const game = env('LATCHKEY_GAME');
const STRK = '0x04718f5a0fc34cc1af16a1cdee98ffb20c31f5cd61d6ab07201858f4287c938d';
const RECIPIENT = '0x1234567890abcdef';
const PIN = '482915';

const sdk = new ChipiServerSDK({
  apiPublicKey: env('LATCHKEY_PUBLIC_KEY'),
  apiSecretKey: env('LATCHKEY_SECRET_KEY'),
  alphaUrl: apiUrl,
});
const bearer = env('LATCHKEY_SECRET_KEY');
const provider = new RpcProvider({ nodeUrl: rpcUrl });

function step(name, data) {
  process.stdout.write(JSON.stringify({ step: name, ...data }, (_, v) => (typeof v === 'bigint' ? v.toString() : v)) + '\n');
}
function check(condition, message) {
  if (!condition) throw new Error(`check failed: ${message}`);
}
async function confirmed(txHash) {
  const receipt = await provider.waitForTransaction(txHash, { retryInterval: 100 });
  check(receipt.isSuccess(), `transaction ${txHash} did not succeed: ${JSON.stringify(receipt.value ?? receipt)}`);
  return receipt;
}
async function rpc(method, params) {
  const response = await fetch(rpcUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
  const body = await response.json();
  if (body.error) throw new Error(`${method}: ${JSON.stringify(body.error)}`);
  return body.result;
}
async function balance(token, owner) {
  const [low, high] = await provider.callContract({ contractAddress: token, entrypoint: 'balance_of', calldata: [owner] });
  return BigInt(low) + (BigInt(high) << 128n);
}

const externalUserId = `sdk-user-${Date.now()}`;

// Wallet: created and deployed gaslessly at the address the SDK computes with our class.
const created = await sdk.createWallet({ params: { encryptKey: PIN, externalUserId, chain: 'STARKNET', walletType: 'CHIPI', classHash } });
check(created.isDeployed === true, 'the wallet is deployed');
check(created.walletType === 'CHIPI', 'walletType CHIPI');
check(created.encryptedPrivateKey.startsWith('U2FsdGVkX1'), 'the owner key is stored encrypted');
step('createWallet', { address: created.publicKey });
const wallet = { publicKey: created.publicKey, encryptedPrivateKey: created.encryptedPrivateKey, walletType: 'CHIPI' };
await rpc('devnet_mint', { address: wallet.publicKey, amount: 1e18, unit: 'FRI' });

const fetched = await sdk.getWallet({ externalUserId });
check(fetched && fetched.publicKey === created.publicKey, 'getWallet returns the wallet');
check((await sdk.getWallet({ externalUserId: `${externalUserId}-nobody` })) === null, 'getWallet returns null for an unknown user');
step('getWallet', { address: fetched.publicKey });

// Session key, registered gaslessly by the owner.
const session = sdk.sessions.createSessionKey({ encryptKey: PIN, durationSeconds: 3600 });
check(/^0x[0-9a-f]{64}$/.test(session.encryptedPrivateKey) === false, 'the session key is encrypted');
step('createSessionKey', { publicKey: session.publicKey, validUntil: session.validUntil });
const maxCalls = 5;
const addTx = await sdk.sessions.addSessionKeyToContract(
  {
    encryptKey: PIN,
    wallet,
    sessionConfig: {
      sessionPublicKey: session.publicKey,
      validUntil: session.validUntil,
      maxCalls,
      allowedEntrypoints: [hash.getSelectorFromName('make_move'), hash.getSelectorFromName('transfer')],
    },
  },
  bearer
);
await confirmed(addTx);
step('addSessionKeyToContract', { txHash: addTx });

let data = await sdk.sessions.getSessionData({ walletAddress: wallet.publicKey, sessionPublicKey: session.publicKey });
check(data.isActive === true, `getSessionData reports isActive: ${JSON.stringify(data)}`);
check(data.remainingCalls === maxCalls, `remainingCalls ${data.remainingCalls} == ${maxCalls}`);
check(data.validUntil === session.validUntil, 'validUntil');
check(data.allowedEntrypoints.length === 2, 'two allowed entrypoints');
step('getSessionData', data);

// Gasless executions signed by the session key: a game move and a token transfer.
const before = await balance(STRK, RECIPIENT);
const execTx = await sdk.executeTransactionWithSession({
  params: {
    encryptKey: PIN,
    wallet,
    session,
    calls: [
      { contractAddress: game, entrypoint: 'make_move', calldata: ['7'] },
      { contractAddress: STRK, entrypoint: 'transfer', calldata: [RECIPIENT, '1000', '0'] },
    ],
  },
  bearerToken: bearer,
});
await confirmed(execTx);
const after = await balance(STRK, RECIPIENT);
check(after - before === 1000n, `the transfer landed (${before} → ${after})`);
const [moves] = await provider.callContract({ contractAddress: game, entrypoint: 'get_player', calldata: [wallet.publicKey] });
check(BigInt(moves) === 1n, 'the move landed');
data = await sdk.sessions.getSessionData({ walletAddress: wallet.publicKey, sessionPublicKey: session.publicKey });
check(data.remainingCalls === maxCalls - 1, `one call consumed: ${data.remainingCalls}`);
step('executeTransactionWithSession', { txHash: execTx, remainingCalls: data.remainingCalls });

// Spending policy through the SDK, read back in its layout.
const policyTx = await sdk.sessions.setSpendingPolicy(
  {
    encryptKey: PIN,
    wallet,
    spendingPolicyConfig: { sessionPublicKey: session.publicKey, token: STRK, maxPerCall: 500n, maxPerWindow: 800n, windowSeconds: 3600 },
  },
  bearer
);
await confirmed(policyTx);
const policy = await sdk.sessions.getSpendingPolicy({ walletAddress: wallet.publicKey, sessionPublicKey: session.publicKey, token: STRK });
check(policy.maxPerCall === 500n && policy.maxPerWindow === 800n && policy.windowSeconds === 3600, `policy read back: ${JSON.stringify(policy, (_, v) => (typeof v === 'bigint' ? v.toString() : v))}`);
step('spendingPolicy', { maxPerCall: policy.maxPerCall, maxPerWindow: policy.maxPerWindow });

// A transfer over the cap is refused before any gas is spent, with the SDK's error shape.
let refused;
try {
  await sdk.executeTransactionWithSession({
    params: { encryptKey: PIN, wallet, session, calls: [{ contractAddress: STRK, entrypoint: 'transfer', calldata: [RECIPIENT, '600', '0'] }] },
    bearerToken: bearer,
  });
} catch (error) {
  refused = error;
}
check(refused && refused.code === 'SPENDING_LIMIT_EXCEEDED', `over-cap transfer refused: ${refused && refused.code}`);
step('spendingCapEnforced', { code: refused.code, status: refused.status });

// Revoke, then a further execution fails clearly.
const revokeTx = await sdk.sessions.revokeSessionKey({ encryptKey: PIN, wallet, sessionPublicKey: session.publicKey }, bearer);
await confirmed(revokeTx);
data = await sdk.sessions.getSessionData({ walletAddress: wallet.publicKey, sessionPublicKey: session.publicKey });
check(data.isActive === false, 'revoked sessions are inactive');
step('revokeSessionKey', { txHash: revokeTx });
let failure;
try {
  await sdk.executeTransactionWithSession({
    params: { encryptKey: PIN, wallet, session, calls: [{ contractAddress: game, entrypoint: 'make_move', calldata: ['8'] }] },
    bearerToken: bearer,
  });
} catch (error) {
  failure = error;
}
check(failure, 'an execution after revocation fails');
check(failure.code === 'SESSION_REVOKED', `clear error code: ${failure.code} ${failure.message}`);
step('executionAfterRevoke', { code: failure.code, status: failure.status, message: failure.message });
step('done', {});
