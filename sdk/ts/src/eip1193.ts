/**
 * An EIP-1193 provider for an EVM wallet whose owner key is unlocked here: wallet
 * permissions (EIP-7715) granted as latchkey sessions, and calls (EIP-5792) sent with
 * them. Each grant is a session registered on the account, signed once by the owner key
 * in WebAssembly memory; the account contract enforces it (the contracts, methods, number
 * of calls and expiry), and latchkey's paymaster sponsors the calls.
 *
 * ```ts
 * const provider = latchkeyProvider({ evm, account: wallet.address, owner });
 * const client = createWalletClient({ chain, transport: custom(provider) }).extend(erc7715Actions());
 * const grant = await client.grantPermissions({ expiry: now + 3600, permissions: [...] });
 * await provider.request({ method: 'wallet_sendCalls', params: [{ calls, capabilities: { permissions: { context: grant.permissionsContext } } }] });
 * ```
 *
 * Methods: `eth_chainId`, `eth_accounts`, `eth_requestAccounts`; the 2024 draft's
 * `wallet_grantPermissions` (as viem's `erc7715Actions().grantPermissions` sends it); the
 * current ERC's `wallet_requestExecutionPermissions`, `wallet_revokeExecutionPermission`,
 * `wallet_getSupportedExecutionPermissions`, `wallet_getGrantedExecutionPermissions`;
 * `wallet_sendCalls` with the `permissions` capability and `wallet_getCallsStatus`
 * (EIP-5792 2.0.0); `wallet_getCapabilities`.
 *
 * What the account cannot enforce is refused, unless the permission says `required:
 * false` (then it is left out of the grant): token transfers with allowances, gas limits,
 * and rate limits over an interval shorter than the grant (a rate limit over the whole
 * grant is its number of calls). `expiry` is an absolute unix time in seconds, as viem and
 * the ERC texts have it; a time that is not in the future, or that looks like
 * milliseconds, is refused with a message that says so (no value is read as a duration).
 */
import { toFunctionSelector, type Address } from 'viem';
import type { Execution } from './calls.js';
import { LatchkeyError } from './errors.js';
import { EvmKey, type EvmCall, type EvmClient } from './evm.js';

/** An EIP-1193 request. */
export interface RequestArguments {
  method: string;
  params?: unknown;
}

/** An EIP-1193 provider. */
export interface Eip1193Provider {
  request(args: RequestArguments): Promise<unknown>;
}

/** A JSON-RPC error as EIP-1193 throws it: `code`, `message`, `data.code` (latchkey's, when it has one). */
export class ProviderRpcError extends Error {
  override readonly name = 'ProviderRpcError' as const;
  readonly code: number;
  readonly data?: { code: string; [key: string]: unknown };

  constructor(code: number, message: string, data?: { code: string; [key: string]: unknown }) {
    super(message);
    this.code = code;
    if (data !== undefined) this.data = data;
  }
}

/** JSON-RPC error codes used. */
export const RpcErrorCodes = Object.freeze({
  /** Invalid method parameters (JSON-RPC). */
  INVALID_PARAMS: -32602,
  /** An internal failure (JSON-RPC). */
  INTERNAL: -32603,
  /** The method is not supported (EIP-1193). */
  UNSUPPORTED_METHOD: 4200,
  /** Not authorised: an unknown or revoked grant (EIP-1193). */
  UNAUTHORIZED: 4100,
  /** Wrong chain (EIP-1193: disconnected from the requested chain). */
  CHAIN_DISCONNECTED: 4901,
  /** EIP-5792: unknown bundle id. */
  UNKNOWN_BUNDLE: 5730,
});

export interface LatchkeyProviderOptions {
  /** The wallet's server. */
  evm: EvmClient;
  /** The wallet (its ERC-4337 account). */
  account: string;
  /** The wallet's owner key, unlocked (`EvmClient.unlockOwner`): it signs each grant, here. */
  owner: EvmKey;
  /** Longest grant, in seconds (default 30 days). */
  maxDurationSeconds?: number;
  /** Calls a grant allows when no rate-limit policy says (default 100). */
  defaultMaxCalls?: number;
  /** Unix seconds now (tests). */
  now?: () => number;
}

/** A permission in the 2024 draft's shape (viem). */
interface DraftPermission {
  type: string;
  data: Record<string, unknown>;
  policies: { type: string; data: Record<string, unknown> }[];
  required?: boolean;
}

/** A grant this provider made. */
interface Grant {
  context: string;
  session: Address;
  /** The session key, when this provider made it (calls can then be sent with it). */
  key: EvmKey | null;
  expiry: number;
  maxCalls: number;
  permissions: DraftPermission[];
  revoked: boolean;
}

const DAY = 86_400;
const ADDRESS = /^0x[0-9a-fA-F]{40}$/;

function invalid(message: string, code = 'INVALID_INPUT'): ProviderRpcError {
  return new ProviderRpcError(RpcErrorCodes.INVALID_PARAMS, message, { code });
}

function record(value: unknown, what: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw invalid(`${what} must be an object`);
  return value as Record<string, unknown>;
}

function firstParam(params: unknown, what: string): unknown {
  if (!Array.isArray(params) || params.length === 0) throw invalid(`${what}: params must be an array with one element`);
  return params[0];
}

function addressOf(value: unknown, what: string): Address {
  if (typeof value !== 'string' || !ADDRESS.test(value)) throw invalid(`${what} must be a 20-byte 0x address`);
  return value.toLowerCase() as Address;
}

/** The provider's view of an error from the SDK: its code and message kept. */
function fromSdk(e: unknown): ProviderRpcError {
  if (e instanceof ProviderRpcError) return e;
  if (e instanceof LatchkeyError) {
    const data: { code: string; [key: string]: unknown } = { code: e.code };
    if (e.status !== undefined) data.status = e.status;
    const code = e.status !== undefined && e.status >= 400 && e.status < 500 ? RpcErrorCodes.UNAUTHORIZED : RpcErrorCodes.INTERNAL;
    return new ProviderRpcError(code, e.message, data);
  }
  return new ProviderRpcError(RpcErrorCodes.INTERNAL, e instanceof Error ? e.message : String(e), { code: 'INTERNAL_ERROR' });
}

/**
 * Reads the grant's terms: the methods the account will allow and its number of calls;
 * a permission it cannot enforce is dropped when `required` is false, else refused.
 */
export function grantTerms(
  permissions: unknown,
  durationSeconds: number,
  defaultMaxCalls: number,
): { granted: DraftPermission[]; methods: { contract: Address; selector: string }[]; maxCalls: number } {
  if (!Array.isArray(permissions) || permissions.length === 0) throw invalid('permissions must be a non-empty array');
  const granted: DraftPermission[] = [];
  const methods: { contract: Address; selector: string }[] = [];
  let maxCalls: number | null = null;
  permissions.forEach((raw, i) => {
    const p = record(raw, `permissions[${i}]`);
    const type = typeof p.type === 'string' ? p.type : (record(p.type, `permissions[${i}].type`).custom as string);
    const data = record(p.data, `permissions[${i}].data`);
    if (p.policies !== undefined && !Array.isArray(p.policies)) throw invalid(`permissions[${i}].policies must be an array`);
    const policies = ((p.policies ?? []) as unknown[]).map((q, j) => {
      const policy = record(q, `permissions[${i}].policies[${j}]`);
      const policyType = typeof policy.type === 'string' ? policy.type : (record(policy.type, 'policy type').custom as string);
      return { type: policyType, data: record(policy.data ?? {}, `permissions[${i}].policies[${j}].data`) };
    });
    const required = p.required === true;
    const refuse = (why: string) => {
      if (required) throw invalid(`permissions[${i}] (${type}): ${why}`, 'PERMISSION_NOT_ENFORCEABLE');
    };
    if (type !== 'contract-call') {
      refuse('the account enforces contract calls only (its session allowlist), not token transfers');
      return;
    }
    const contract = addressOf(data.address, `permissions[${i}].data.address`);
    const calls = data.calls;
    if (!Array.isArray(calls) || calls.length === 0 || calls.some((c) => typeof c !== 'string')) {
      throw invalid(`permissions[${i}].data.calls must be a non-empty list of function signatures`);
    }
    let selectors: string[];
    try {
      selectors = (calls as string[]).map((c) => toFunctionSelector(c.startsWith('function ') ? c : `function ${c}`));
    } catch {
      throw invalid(`permissions[${i}].data.calls: not function signatures such as "makeMove(uint256)"`);
    }
    let callLimit: number | null = null;
    let enforceable = true;
    for (const policy of policies) {
      if (policy.type === 'rate-limit') {
        const count = Number(policy.data.count);
        const interval = Number(policy.data.interval);
        if (!Number.isSafeInteger(count) || count <= 0 || !Number.isSafeInteger(interval) || interval <= 0) {
          throw invalid(`permissions[${i}]: a rate-limit policy needs a positive integer count and interval`);
        }
        if (interval < durationSeconds) {
          enforceable = false;
          refuse(`a rate limit per ${interval} s is shorter than the grant; the account counts calls over the whole grant`);
        } else {
          callLimit = Math.min(callLimit ?? count, count);
        }
      } else {
        enforceable = false;
        refuse(`the account cannot enforce a ${policy.type} policy`);
      }
    }
    if (!enforceable) return;
    if (callLimit !== null) maxCalls = Math.min(maxCalls ?? callLimit, callLimit);
    for (const selector of selectors) methods.push({ contract, selector });
    granted.push({ type, data: { address: contract, calls }, policies, required });
  });
  if (granted.length === 0) throw invalid('none of the permissions asked for is one the account can enforce', 'PERMISSION_NOT_ENFORCEABLE');
  return { granted, methods, maxCalls: maxCalls ?? defaultMaxCalls };
}

/** Checks an absolute expiry (unix seconds): in the future, within the longest grant. */
export function checkExpiry(expiry: unknown, now: number, maxDurationSeconds: number): number {
  if (typeof expiry !== 'number' || !Number.isSafeInteger(expiry)) throw invalid('expiry must be an integer (unix seconds)');
  if (expiry > 1e12) {
    throw invalid(`expiry ${expiry} looks like milliseconds; it is an absolute unix time in seconds`, 'INVALID_EXPIRY');
  }
  if (expiry <= now) {
    throw invalid(
      `expiry ${expiry} is not in the future: it is an absolute unix time in seconds (now is ${now}), not a duration; pass now + the duration`,
      'INVALID_EXPIRY',
    );
  }
  if (expiry - now > maxDurationSeconds) {
    throw invalid(`expiry is more than ${maxDurationSeconds} s away; grants last at most that long`, 'INVALID_EXPIRY');
  }
  return expiry;
}

/** A provider for `opts.account`, with its owner key `opts.owner` (see the module comment). */
export function latchkeyProvider(opts: LatchkeyProviderOptions): Eip1193Provider {
  const account = addressOf(opts?.account, 'account');
  if (!(opts.owner instanceof EvmKey) || opts.owner.kind !== 'owner') {
    throw new LatchkeyError('INVALID_INPUT', 'Invalid input: the wallet owner key (an unlocked EvmKey) is required.');
  }
  const evm = opts.evm;
  const owner = opts.owner;
  const maxDuration = opts.maxDurationSeconds ?? 30 * DAY;
  const defaultMaxCalls = opts.defaultMaxCalls ?? 100;
  const now = opts.now ?? (() => Math.floor(Date.now() / 1000));
  const grants = new Map<string, Grant>();
  const bundles = new Map<string, Execution>();

  const chainId = async () => {
    const chain = await evm.chain();
    const id = Number(chain.id.split(':')[1]);
    return `0x${id.toString(16)}`;
  };

  /** Registers a session for the terms; `signer` is the key's address when the app holds it. */
  const grant = async (expiryRaw: unknown, signer: Address | null, permissions: unknown) => {
    const expiry = checkExpiry(expiryRaw, now(), maxDuration);
    const { granted, methods, maxCalls } = grantTerms(permissions, expiry - now(), defaultMaxCalls);
    const key = signer === null ? await evm.createSessionKey() : null;
    const session = key === null ? (signer as Address) : (key.address.toLowerCase() as Address);
    try {
      await evm.registerSession(account, {
        owner,
        session,
        maxCalls,
        validUntil: expiry,
        allowedMethods: methods.map((m) => ({ contract: m.contract, selector: m.selector })),
      });
    } catch (e) {
      key?.free();
      throw fromSdk(e);
    }
    // The context names the session: its key's address.
    const g: Grant = { context: session, session, key, expiry, maxCalls, permissions: granted, revoked: false };
    grants.set(session, g);
    return g;
  };

  const grantOf = (context: unknown): Grant => {
    const g = typeof context === 'string' ? grants.get(context.toLowerCase()) : undefined;
    if (!g || g.revoked) throw new ProviderRpcError(RpcErrorCodes.UNAUTHORIZED, 'No granted permission has this context.', { code: 'UNKNOWN_PERMISSION' });
    return g;
  };

  const signerAddress = (signer: unknown): Address | null => {
    if (signer === undefined) return null;
    const s = record(signer, 'signer');
    if (s.type === 'account' || s.type === 'key') return addressOf(record(s.data, 'signer.data').id, 'signer.data.id');
    throw invalid(`signer type ${String(s.type)} is not supported: give an account or key address, or none (this wallet makes the key)`);
  };

  const currentShape = async (g: Grant) => ({
    chainId: await chainId(),
    from: account,
    to: g.session,
    permission: {
      type: 'contract-call',
      isAdjustmentAllowed: false,
      // One contract as it was asked for ({address, calls}); several as {contracts}.
      data: g.permissions.length === 1 ? g.permissions[0].data : { contracts: g.permissions.map((p) => p.data) },
    },
    rules: [{ type: 'expiry', data: { timestamp: g.expiry } }],
    context: g.context,
    dependencies: [],
  });

  const methods: Record<string, (params: unknown) => Promise<unknown>> = {
    eth_chainId: () => chainId(),
    eth_accounts: async () => [account],
    eth_requestAccounts: async () => [account],

    wallet_getCapabilities: async () => ({
      [await chainId()]: {
        permissions: { supported: true, signerTypes: ['account', 'key'], keyTypes: ['secp256k1'], permissionTypes: ['contract-call'] },
        paymasterService: { supported: true },
        atomic: { status: 'supported' },
      },
    }),

    wallet_grantPermissions: async (params) => {
      const request = record(firstParam(params, 'wallet_grantPermissions'), 'the request');
      const g = await grant(request.expiry, signerAddress(request.signer), request.permissions);
      return {
        expiry: g.expiry,
        grantedPermissions: g.permissions,
        permissionsContext: g.context,
        signerData: { submitToAddress: account },
      };
    },

    wallet_requestExecutionPermissions: async (params) => {
      if (!Array.isArray(params) || params.length === 0) throw invalid('params must be a non-empty array of permission requests');
      const out = [];
      for (const [i, raw] of params.entries()) {
        const r = record(raw, `params[${i}]`);
        if (typeof r.chainId !== 'string' || r.chainId.toLowerCase() !== (await chainId())) {
          throw new ProviderRpcError(RpcErrorCodes.CHAIN_DISCONNECTED, `params[${i}].chainId is not this wallet's chain ${await chainId()}`, { code: 'WRONG_CHAIN' });
        }
        if (r.from !== undefined && addressOf(r.from, `params[${i}].from`) !== account) throw invalid(`params[${i}].from is not this wallet`);
        const permission = record(r.permission, `params[${i}].permission`);
        if (permission.type !== 'contract-call') {
          throw invalid(`params[${i}].permission: type ${String(permission.type)} is not supported; this wallet grants contract-call permissions`, 'PERMISSION_NOT_ENFORCEABLE');
        }
        const rules = Array.isArray(r.rules) ? (r.rules as unknown[]).map((x) => record(x, 'rule')) : [];
        const expiryRule = rules.find((x) => x.type === 'expiry');
        const other = rules.find((x) => x.type !== 'expiry');
        if (other) throw invalid(`params[${i}].rules: a ${String(other.type)} rule is not supported`, 'PERMISSION_NOT_ENFORCEABLE');
        if (!expiryRule) throw invalid(`params[${i}].rules: an expiry rule is required`, 'INVALID_EXPIRY');
        const data = record(permission.data, `params[${i}].permission.data`);
        const contracts = Array.isArray(data.contracts) ? data.contracts : [data];
        const g = await grant(
          record(expiryRule.data, 'expiry rule data').timestamp,
          r.to === undefined ? null : addressOf(r.to, `params[${i}].to`),
          contracts.map((c) => ({ type: 'contract-call', data: c, policies: [], required: true })),
        );
        out.push(await currentShape(g));
      }
      return out;
    },

    wallet_revokeExecutionPermission: async (params) => {
      const p = record(firstParam(params, 'wallet_revokeExecutionPermission'), 'the request');
      const g = grantOf(p.permissionContext ?? p.context);
      try {
        await evm.revokeSession(account, owner, g.session);
      } catch (e) {
        throw fromSdk(e);
      }
      g.revoked = true;
      g.key?.free();
      g.key = null;
      return {};
    },

    wallet_getSupportedExecutionPermissions: async () => ({
      'contract-call': { chainIds: [await chainId()], ruleTypes: ['expiry'] },
    }),

    wallet_getGrantedExecutionPermissions: async () => {
      const live = [...grants.values()].filter((g) => !g.revoked && g.expiry > now());
      return Promise.all(live.map(currentShape));
    },

    wallet_sendCalls: async (params) => {
      const p = record(firstParam(params, 'wallet_sendCalls'), 'the request');
      if (p.chainId !== undefined && String(p.chainId).toLowerCase() !== (await chainId())) {
        throw new ProviderRpcError(RpcErrorCodes.CHAIN_DISCONNECTED, `chainId is not this wallet's chain ${await chainId()}`, { code: 'WRONG_CHAIN' });
      }
      if (p.from !== undefined && addressOf(p.from, 'from') !== account) throw invalid('from is not this wallet');
      const capabilities = p.capabilities === undefined ? {} : record(p.capabilities, 'capabilities');
      const permissions = capabilities.permissions === undefined ? undefined : record(capabilities.permissions, 'capabilities.permissions');
      if (!permissions) {
        throw new ProviderRpcError(
          RpcErrorCodes.UNAUTHORIZED,
          'This wallet sends calls with a granted permission: give capabilities.permissions.context.',
          { code: 'PERMISSION_REQUIRED' },
        );
      }
      const g = grantOf(permissions.context);
      if (!g.key) {
        throw new ProviderRpcError(RpcErrorCodes.UNAUTHORIZED, "This grant's key is held by the app, which signs its own calls.", { code: 'KEY_NOT_HELD' });
      }
      if (!Array.isArray(p.calls) || p.calls.length === 0) throw invalid('calls must be a non-empty array');
      const calls: EvmCall[] = (p.calls as unknown[]).map((raw, i) => {
        const c = record(raw, `calls[${i}]`);
        const call: EvmCall = { to: addressOf(c.to, `calls[${i}].to`) };
        if (c.data !== undefined) call.data = String(c.data);
        if (c.value !== undefined) call.value = BigInt(String(c.value));
        return call;
      });
      let execution: Execution;
      try {
        execution = await evm.executeWithSession(account, g.key, calls);
      } catch (e) {
        throw fromSdk(e);
      }
      bundles.set(execution.requestId, execution);
      return { id: execution.requestId };
    },

    wallet_getCallsStatus: async (params) => {
      const id = firstParam(params, 'wallet_getCallsStatus');
      const execution = typeof id === 'string' ? bundles.get(id) : undefined;
      if (!execution) throw new ProviderRpcError(RpcErrorCodes.UNKNOWN_BUNDLE, 'No calls were sent with this id.', { code: 'UNKNOWN_BUNDLE' });
      const receipt = await evm.client.request<{ result?: Record<string, unknown> | null }>('POST', '/rpc/evm', {
        jsonrpc: '2.0',
        id: 1,
        method: 'eth_getTransactionReceipt',
        params: [execution.transactionHash],
      });
      const r = receipt?.result;
      const status = execution.status === 'succeeded' ? 200 : execution.status === 'submitted' ? 100 : 500;
      return {
        version: '2.0.0',
        id,
        chainId: await chainId(),
        atomic: true,
        status,
        receipts: r
          ? [
              {
                logs: Array.isArray(r.logs) ? r.logs : [],
                status: r.status,
                blockHash: r.blockHash,
                blockNumber: r.blockNumber,
                gasUsed: r.gasUsed,
                transactionHash: r.transactionHash,
              },
            ]
          : [],
      };
    },
  };

  return {
    async request(args: RequestArguments): Promise<unknown> {
      const method = args?.method;
      const handler = typeof method === 'string' && Object.prototype.hasOwnProperty.call(methods, method) ? methods[method] : undefined;
      if (!handler) {
        throw new ProviderRpcError(RpcErrorCodes.UNSUPPORTED_METHOD, `The method ${String(method)} is not supported.`, { code: 'UNSUPPORTED_METHOD' });
      }
      try {
        return await handler(args.params);
      } catch (e) {
        throw fromSdk(e);
      }
    },
  };
}
