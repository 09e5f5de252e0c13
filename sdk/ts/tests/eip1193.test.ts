// The EIP-1193 provider (EIP-7715 grants as sessions, EIP-5792 calls with them) against
// an EvmClient stand-in that records what would be registered and sent: grants map to
// exactly the session terms the account enforces, what it cannot enforce is refused
// unless not required, expiry is absolute, and bad requests are JSON-RPC errors.
import { beforeAll, describe, expect, it } from 'vitest';
import { createWalletClient, custom, toFunctionSelector } from 'viem';
import { erc7715Actions } from 'viem/experimental';
import * as sdk from '../dist/index.js';
import { EvmKey } from '../dist/evm.js';
import * as core from '../dist/wasm/latchkey_evm.js';
import { evmCore } from '../dist/wasm.js';

const ACCOUNT = '0x1111111111111111111111111111111111111111';
const GAME = '0x2222222222222222222222222222222222222222';
const NOW = 1_800_000_000;
const entropy = () => crypto.getRandomValues(new Uint8Array(64));

/** EvmClient's methods the provider uses, recording the terms and calls. */
class FakeEvm {
  registered: any[] = [];
  executed: any[] = [];
  revoked: string[] = [];
  refuse: string | null = null;
  client = {
    request: async (_method: string, path: string, body: any) => {
      expect(path).toBe('/rpc/evm');
      expect(body.method).toBe('eth_getTransactionReceipt');
      return { result: { status: '0x1', blockHash: '0x' + 'ab'.repeat(32), blockNumber: '0x10', gasUsed: '0x5208', transactionHash: body.params[0], logs: [] } };
    },
  };
  async chain() {
    return { id: 'eip155:31337', family: 'evm' };
  }
  async createSessionKey() {
    return new EvmKey(core.generateEvmSigner('session', entropy()));
  }
  async registerSession(account: string, terms: any) {
    this.registered.push({ account, ...terms, owner: terms.owner.kind });
    return { requestId: 'r0', transactionHash: '0x01', status: 'succeeded' };
  }
  async executeWithSession(_account: string, key: EvmKey, calls: any[]) {
    if (this.refuse) throw new sdk.LatchkeyError(this.refuse, 'refused', { status: 403, serverCode: this.refuse });
    this.executed.push({ key: key.address.toLowerCase(), calls });
    return { requestId: `r${this.executed.length}`, transactionHash: '0x' + '0c'.repeat(32), status: 'succeeded' };
  }
  async revokeSession(_account: string, _owner: EvmKey, session: string) {
    this.revoked.push(session);
    return { requestId: 'rv', transactionHash: '0x02', status: 'succeeded' };
  }
}

let owner: EvmKey;
beforeAll(async () => {
  await sdk.init();
  await evmCore();
  owner = new EvmKey(core.generateEvmSigner('owner', entropy()));
});

const setup = () => {
  const evm = new FakeEvm();
  const provider = sdk.latchkeyProvider({ evm: evm as any, account: ACCOUNT, owner, now: () => NOW });
  const viem = createWalletClient({ transport: custom(provider) }).extend(erc7715Actions());
  return { evm, provider, viem };
};
const move = { type: 'contract-call', data: { address: GAME, calls: ['makeMove(uint256)'] }, policies: [] as any[] };
const rejection = (p: Promise<unknown>) => p.then(() => { throw new Error('expected a refusal'); }, (e: any) => e);

describe('wallet_grantPermissions (viem)', () => {
  it('registers exactly the session the permission asks for and answers in viem shape', async () => {
    const { evm, viem } = setup();
    const granted = await viem.grantPermissions({
      expiry: NOW + 3600,
      permissions: [{ ...move, policies: [{ type: 'rate-limit', data: { count: 5, interval: 3600 } }] }] as any,
    });
    expect(granted.expiry).toBe(NOW + 3600);
    expect(granted.grantedPermissions).toHaveLength(1);
    expect(granted.grantedPermissions[0].policies).toEqual([{ type: 'rate-limit', data: { count: 5, interval: 3600 } }]);
    expect(evm.registered).toHaveLength(1);
    const terms = evm.registered[0];
    expect(terms).toMatchObject({ account: ACCOUNT, owner: 'owner', maxCalls: 5, validUntil: NOW + 3600 });
    expect(terms.allowedMethods).toEqual([{ contract: GAME, selector: toFunctionSelector('function makeMove(uint256)') }]);
    // The context is the session key's address, which the provider holds.
    expect(granted.permissionsContext).toBe(terms.session);
  });

  it("an app's own key (signer) is registered as given; a default call limit applies", async () => {
    const { evm, viem } = setup();
    const key = '0x3333333333333333333333333333333333333333';
    const granted = await viem.grantPermissions({ expiry: NOW + 60, signer: { type: 'key', data: { id: key } } as any, permissions: [move] as any });
    expect(evm.registered[0]).toMatchObject({ session: key, maxCalls: 100 });
    expect(granted.permissionsContext).toBe(key);
  });

  it('refuses what the account cannot enforce unless it is not required, and bad expiries', async () => {
    const { evm, viem } = setup();
    const cases: [any, RegExp][] = [
      [{ expiry: 3600, permissions: [move] }, /absolute unix time/],
      [{ expiry: NOW * 1000, permissions: [move] }, /milliseconds/],
      [{ expiry: NOW + 40 * 86_400, permissions: [move] }, /at most/],
      [{ expiry: NOW + 60, permissions: [{ type: 'native-token-transfer', data: { ticker: 'ETH' }, policies: [], required: true }] }, /contract calls only/],
      [{ expiry: NOW + 7200, permissions: [{ ...move, policies: [{ type: 'rate-limit', data: { count: 1, interval: 60 } }], required: true }] }, /shorter than the grant/],
      [{ expiry: NOW + 60, permissions: [{ ...move, policies: [{ type: 'gas-limit', data: { limit: 10n } }], required: true }] }, /gas-limit/],
      [{ expiry: NOW + 60, permissions: [{ type: 'erc20-token-transfer', data: { address: GAME, ticker: 'X' }, policies: [] }] }, /none of the permissions/],
      [{ expiry: NOW + 60, permissions: [{ ...move, data: { address: GAME, calls: ['not a signature ('] } }] }, /function signatures/],
      [{ expiry: NOW + 60, permissions: [{ ...move, data: { address: 'nope', calls: ['f()'] } }] }, /20-byte/],
      [{ expiry: NOW + 60, permissions: [] }, /non-empty/],
      [{ expiry: NOW + 60, signer: { type: 'keys', data: { ids: [] } }, permissions: [move] }, /not supported/],
    ];
    for (const [request, message] of cases) {
      const e = await rejection(viem.grantPermissions(request));
      expect(e.message, String(message)).toMatch(message);
    }
    expect(evm.registered).toHaveLength(0);
    // Not required: left out of the grant, the rest is granted.
    const granted = await viem.grantPermissions({
      expiry: NOW + 60,
      permissions: [{ type: 'native-token-transfer', data: { ticker: 'ETH' }, policies: [], required: false }, move] as any,
    });
    expect(granted.grantedPermissions.map((p) => p.type)).toEqual(['contract-call']);
  });
});

describe('calls and the current ERC', () => {
  it('sends calls with a grant, reports their status, refuses without one, and revokes', async () => {
    const { evm, provider, viem } = setup();
    const granted = await viem.grantPermissions({ expiry: NOW + 600, permissions: [move] as any });
    const call = { to: GAME, data: '0x12345678' };
    const sent = (await provider.request({
      method: 'wallet_sendCalls',
      params: [{ version: '2.0.0', chainId: '0x7a69', from: ACCOUNT, calls: [call], capabilities: { permissions: { context: granted.permissionsContext } } }],
    })) as { id: string };
    expect(evm.executed).toEqual([{ key: granted.permissionsContext, calls: [call] }]);
    const status = await viem.getCallsStatus({ id: sent.id });
    expect(status.status).toBe('success');
    expect(status.receipts?.[0].blockNumber).toBe(16n);

    const withoutGrant = await rejection(provider.request({ method: 'wallet_sendCalls', params: [{ calls: [call] }] }));
    expect([withoutGrant.code, withoutGrant.data.code]).toEqual([4100, 'PERMISSION_REQUIRED']);
    const otherChain = await rejection(
      provider.request({ method: 'wallet_sendCalls', params: [{ chainId: '0x1', calls: [call], capabilities: { permissions: { context: granted.permissionsContext } } }] }),
    );
    expect(otherChain.code).toBe(4901);
    evm.refuse = 'SESSION_ENTRYPOINT_NOT_ALLOWED';
    const refused = await rejection(
      provider.request({ method: 'wallet_sendCalls', params: [{ calls: [call], capabilities: { permissions: { context: granted.permissionsContext } } }] }),
    );
    expect([refused.code, refused.data.code]).toEqual([4100, 'SESSION_ENTRYPOINT_NOT_ALLOWED']);
    evm.refuse = null;
    const unknownId = await rejection(provider.request({ method: 'wallet_getCallsStatus', params: ['nope'] }));
    expect(unknownId.code).toBe(5730);

    expect(await provider.request({ method: 'wallet_revokeExecutionPermission', params: [{ permissionContext: granted.permissionsContext }] })).toEqual({});
    expect(evm.revoked).toEqual([granted.permissionsContext]);
    const afterRevoke = await rejection(
      provider.request({ method: 'wallet_sendCalls', params: [{ calls: [call], capabilities: { permissions: { context: granted.permissionsContext } } }] }),
    );
    expect(afterRevoke.code).toBe(4100);
  });

  it('answers the current ERC methods in their shapes', async () => {
    const { provider } = setup();
    expect(await provider.request({ method: 'eth_chainId' })).toBe('0x7a69');
    expect(await provider.request({ method: 'eth_accounts' })).toEqual([ACCOUNT]);
    expect(await provider.request({ method: 'wallet_getSupportedExecutionPermissions', params: [] })).toEqual({
      'contract-call': { chainIds: ['0x7a69'], ruleTypes: ['expiry'] },
    });
    const [granted] = (await provider.request({
      method: 'wallet_requestExecutionPermissions',
      params: [{ chainId: '0x7a69', permission: { type: 'contract-call', isAdjustmentAllowed: false, data: { address: GAME, calls: ['makeMove(uint256)'] } }, rules: [{ type: 'expiry', data: { timestamp: NOW + 60 } }] }],
    })) as any[];
    expect(granted).toMatchObject({ chainId: '0x7a69', from: ACCOUNT, rules: [{ type: 'expiry', data: { timestamp: NOW + 60 } }], dependencies: [] });
    expect(typeof granted.context).toBe('string');
    expect(await provider.request({ method: 'wallet_getGrantedExecutionPermissions', params: [] })).toEqual([granted]);
    const refusals: [unknown, number][] = [
      [[{ chainId: '0x1', permission: { type: 'contract-call', data: {} }, rules: [] }], 4901],
      [[{ chainId: '0x7a69', permission: { type: 'native-token-stream', data: {} }, rules: [] }], -32602],
      [[{ chainId: '0x7a69', permission: { type: 'contract-call', data: { address: GAME, calls: ['f()'] } }, rules: [] }], -32602],
      ['not an array', -32602],
    ];
    for (const [params, code] of refusals) {
      const e = await rejection(provider.request({ method: 'wallet_requestExecutionPermissions', params }));
      expect(e.code).toBe(code);
    }
    expect((await rejection(provider.request({ method: 'eth_sendTransaction', params: [] }))).code).toBe(4200);
    expect((await rejection(provider.request({ method: 'wallet_grantPermissions', params: 'x' }))).code).toBe(-32602);
  });
});
