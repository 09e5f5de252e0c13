// `latchkey wallet rpc` (a local JSON-RPC signer endpoint for an EVM wallet) through viem's
// http transport: an EIP-7715 grant (viem's erc7715Actions), a move sent with it through
// wallet_sendCalls (EIP-5792), its status, the current ERC's methods, revocation, and the
// refusals (a duration for expiry, a call outside the grant, malformed JSON-RPC). Prints
// one JSON line per step; exits non-zero on failure.
//
// Environment: RPC_URL (the endpoint), EVM_GAME (the demo game).
import assert from 'node:assert/strict';
import { createWalletClient, encodeFunctionData, http, parseAbi } from 'viem';
import { erc7715Actions } from 'viem/experimental';

const url = process.env.RPC_URL;
const game = process.env.EVM_GAME;
if (!url || !game) {
  console.error('set RPC_URL and EVM_GAME');
  process.exit(2);
}
const step = (name, data = {}) => console.log(JSON.stringify({ step: name, ...data }));
const raw = async (body) => (await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body })).json();
const call = async (method, params) => raw(JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }));
const makeMove = (n) => ({ to: game, data: encodeFunctionData({ abi: parseAbi(['function makeMove(uint256 move)']), functionName: 'makeMove', args: [n] }) });

const client = createWalletClient({ transport: http(url) }).extend(erc7715Actions());
const now = Math.floor(Date.now() / 1000);
const permission = { type: 'contract-call', data: { address: game, calls: ['makeMove(uint256)'] }, policies: [{ type: 'rate-limit', data: { count: 3, interval: 7200 } }] };
const granted = await client.grantPermissions({ expiry: now + 3600, permissions: [permission] });
assert.equal(granted.expiry, now + 3600);
assert.ok(Array.isArray(granted.grantedPermissions[0].policies));
step('grant', { context: granted.permissionsContext });

const sent = await call('wallet_sendCalls', [{ version: '2.0.0', calls: [makeMove(21n)], capabilities: { permissions: { context: granted.permissionsContext } } }]);
assert.ok(sent.result?.id, JSON.stringify(sent));
const status = await client.getCallsStatus({ id: sent.result.id });
assert.equal(status.status, 'success');
assert.equal(status.receipts[0].status, 'success');
step('sendCalls', { status: status.status });

const outside = await call('wallet_sendCalls', [{ calls: [{ to: game, data: '0xdeadbeef' }], capabilities: { permissions: { context: granted.permissionsContext } } }]);
assert.equal(outside.error?.data?.code, 'SESSION_ENTRYPOINT_NOT_ALLOWED', JSON.stringify(outside));
const duration = await client.grantPermissions({ expiry: 3600, permissions: [permission] }).then(() => null, (e) => e);
assert.ok(duration && /absolute unix time/.test(duration.details ?? duration.message), String(duration));
step('refusals', { outside: outside.error.data.code });

const chainId = (await call('eth_chainId', [])).result;
const supported = (await call('wallet_getSupportedExecutionPermissions', [])).result;
assert.deepEqual(supported, { 'contract-call': { chainIds: [chainId], ruleTypes: ['expiry'] } });
const current = await call('wallet_requestExecutionPermissions', [
  { chainId, permission: { type: 'contract-call', isAdjustmentAllowed: false, data: { address: game, calls: ['makeMove(uint256)'] } }, rules: [{ type: 'expiry', data: { timestamp: now + 600 } }] },
]);
assert.equal(typeof current.result?.[0]?.context, 'string', JSON.stringify(current));
const listed = (await call('wallet_getGrantedExecutionPermissions', [])).result;
assert.equal(listed.length, 2);
assert.deepEqual((await call('wallet_revokeExecutionPermission', [{ permissionContext: granted.permissionsContext }])).result, {});
const afterRevoke = await call('wallet_sendCalls', [{ calls: [makeMove(22n)], capabilities: { permissions: { context: granted.permissionsContext } } }]);
assert.equal(afterRevoke.error?.code, 4100);
step('currentErc', { granted: listed.length });

assert.equal((await raw('{')).error.code, -32700);
assert.equal((await raw('{"id":1}')).error.code, -32600);
assert.equal((await call('eth_sign', [])).error.code, 4200);
assert.equal((await call('wallet_sendCalls', 'x')).error.code, -32602);
step('malformed');
step('done');
