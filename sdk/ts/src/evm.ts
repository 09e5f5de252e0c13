/**
 * EVM smart accounts (ERC-4337 v0.8) on latchkey: the owner key and session keys are
 * secp256k1 keys held inside the WebAssembly core (`EvmKey`), the owner key sealed as
 * `lk2$owner-secp256k1$…` under a PIN the server evaluates (OPRF) and bound to the wallet
 * address. The server deploys the account and sponsors every userOp; this module checks
 * what it prepares (the userOp hash is recomputed here with viem, the calls decoded)
 * before anything is signed.
 *
 *   const evm = new EvmClient(client);
 *   const { address, encryptedPrivateKey } = await evm.createWallet({ pin });
 *   const session = await evm.createSessionKey();
 *   await evm.registerSession(address, { owner: { pin, encryptedPrivateKey }, session, maxCalls, validUntil, allowedMethods });
 *   await evm.executeWithSession(address, session, [{ to, data }]);
 */
import {
  concat,
  decodeAbiParameters,
  decodeFunctionData,
  encodeAbiParameters,
  getAddress,
  getContractAddress,
  isAddress,
  keccak256,
  parseAbi,
  slice,
  stringToHex,
  toFunctionSelector,
  toHex,
  type Address,
  type Hex,
} from 'viem';
import { getUserOperationHash } from 'viem/account-abstraction';
import type * as Core from './wasm/latchkey_evm.js';
import { expectSucceeded, unexpected, type Execution, type LatchkeyClient, type PinEvaluation, type PinStatus, type Session } from './client.js';
import { LatchkeyError, guard } from './errors.js';
import { enc } from './http.js';
import type { Challenge, ProofPurpose } from './keys.js';
import { evaluatePatiently, explainWrongPin } from './pin.js';
import { coreKdf, entropy, fromBase64Url, type KdfOption } from './secret.js';
import { evmCore, loadedEvmCore } from './wasm.js';

/** An EVM chain as `GET /api/config` lists it in `chains`. */
export interface EvmChainConfig {
  /** CAIP-2: `eip155:31337`. */
  id: string;
  family: 'evm';
  /** The account implementation every wallet proxies to. */
  accountClass: string;
  /** `entryPoint`, `factory`, `paymaster`, and the demo contracts. */
  contracts: Record<string, string>;
  demoGame?: string | null;
}

/** One call of a userOp. */
export interface EvmCall {
  to: string;
  /** Calldata, `0x` hex (default `0x`). */
  data?: string;
  /** Wei sent with the call (default 0). */
  value?: bigint | number | string;
}

/** A method a session may call: `entrypoint` is the signature (`makeMove(uint256)`), or give the 4-byte `selector`. */
export interface EvmAllowedMethod {
  contract: string;
  entrypoint?: string;
  selector?: string;
}

/** A userOp as the server's payload carries it (ERC-4337 JSON-RPC shape; numbers as `0x` quantities). */
export interface EvmUserOperationJson {
  sender: string;
  nonce: string;
  factory?: string | null;
  factoryData?: string;
  callData: string;
  callGasLimit: string;
  verificationGasLimit: string;
  preVerificationGas: string;
  maxFeePerGas: string;
  maxPriorityFeePerGas: string;
  paymaster?: string | null;
  paymasterVerificationGasLimit?: string;
  paymasterPostOpGasLimit?: string;
  paymasterData?: string;
  signature?: string;
}

/** A userOp prepared by the server, to sign and execute. */
export interface EvmPrepared {
  requestId: string;
  payload: { chainId: number; entryPoint: string; userOperation: EvmUserOperationJson };
  userOpHash: string;
  expiresAt: number;
}

/** An EVM wallet as the server returns it. */
export interface EvmWallet {
  address: string;
  ownerPublicKey: string;
  deployed: boolean;
  encryptedPrivateKey?: string;
  [field: string]: unknown;
}

/** What `createWallet` made: the wallet, its owner's address and the sealed owner key (store it; the server keeps a copy). */
export interface CreatedEvmWallet {
  address: Address;
  ownerAddress: Address;
  /** `lk2$owner-secp256k1$…`: opens only with the PIN and the server's evaluation. */
  encryptedPrivateKey: string;
  wallet: EvmWallet;
}

/** The owner's authority for one action: an unlocked owner key, or the PIN (with the envelope; fetched from the server when absent). */
export type EvmOwnerAuth = EvmKey | { pin: string; encryptedPrivateKey?: string; ownerAddress?: string };

/** What a session may do, to register. */
export interface EvmSessionTerms {
  owner: EvmOwnerAuth;
  /** The session key (its address is registered), or just its address. */
  session: EvmKey | string;
  maxCalls: number;
  /** Unix seconds. */
  validUntil: number;
  validAfter?: number;
  allowedMethods: EvmAllowedMethod[];
}

const held = new WeakMap<EvmKey, Core.EvmSigner>();

/** An EVM key (secp256k1) held in WebAssembly memory; `free()` zeroes it. JavaScript sees its address and signatures only. */
export class EvmKey {
  readonly address: Address;
  readonly kind: 'owner' | 'session';
  #account: string | undefined;
  #encrypted: string | undefined;

  /** @internal */
  constructor(inner: Core.EvmSigner) {
    held.set(this, inner);
    this.address = getAddress(inner.address);
    this.kind = inner.kind === 'owner' ? 'owner' : 'session';
    this.#account = inner.account;
    this.#encrypted = inner.encryptedPrivateKey;
  }

  /** The wallet the key is sealed for or was unlocked for, if any. */
  get account(): string | undefined {
    return this.#account;
  }

  /** The envelope the key was sealed into or unlocked from, if any. */
  get encryptedPrivateKey(): string | undefined {
    return this.#encrypted;
  }

  /** Whether `free()` was called. */
  get freed(): boolean {
    return !held.has(this);
  }

  #core(): Core.EvmSigner {
    const inner = held.get(this);
    if (!inner) throw new LatchkeyError('SESSION_LOCKED', `This EVM ${this.kind} key was freed; unlock it again.`);
    return inner;
  }

  /**
   * The account's signature of a userOp hash: `0x` + 66 bytes `kind ‖ r ‖ s ‖ v`, kind 1
   * (owner) or 3 (session), EIP-191 over the hash. Prefer the `EvmClient` methods, which
   * check the userOp before signing.
   */
  signUserOpHash(hash: string): Hex {
    const inner = this.#core();
    return guard(() => inner.signUserOpHash(this.kind === 'owner' ? 1 : 3, hash)) as Hex;
  }

  /** `personal_sign` over the 32 bytes of `hash`: `0x` + 65 bytes `r ‖ s ‖ v` (custody proofs). */
  signMessageHash(hash: string): Hex {
    const inner = this.#core();
    return guard(() => inner.signMessageHash(hash)) as Hex;
  }

  /** @internal Seals the key for `account` with an evaluated PIN. */
  sealWith(account: string, secret: Core.Secret, kdf: KdfOption | undefined): string {
    const inner = this.#core();
    const sealed = guard(() => inner.seal(account, secret, entropy(), undefined, coreKdf(kdf, loadedEvmCore())));
    this.#account = inner.account;
    this.#encrypted = sealed;
    return sealed;
  }

  /** Zeroes the key. Idempotent. */
  free(): void {
    held.get(this)?.free();
    held.delete(this);
  }

  toJSON(): Record<string, unknown> {
    return { type: 'EvmKey', kind: this.kind, address: this.address, account: this.#account, privateKey: '[redacted]' };
  }

  toString(): string {
    return `EvmKey(${this.kind}, ${this.address})`;
  }
}

/** The account's methods this module decodes or checks. */
const ACCOUNT_ABI = parseAbi([
  'function execute(address target, uint256 value, bytes data)',
  'function executeBatch((address target, uint256 value, bytes data)[] calls)',
  'function registerSession(address key, uint48 validAfter, uint48 validUntil, uint32 maxCalls, (address target, bytes4 selector)[] allowedMethods)',
  'function revokeSession(address key)',
  'function revokeAllSessions()',
]);

/** `executeUserOp(PackedUserOperation,bytes32)`'s selector: callData `selector ‖ abi.encode(Call[])`. */
const EXECUTE_USER_OP = '0x8dd7712f';

const CALL_TUPLES = [
  {
    type: 'tuple[]',
    components: [
      { name: 'target', type: 'address' },
      { name: 'value', type: 'uint256' },
      { name: 'data', type: 'bytes' },
    ],
  },
] as const;

/** A call as a userOp runs it. */
export interface DecodedEvmCall {
  to: Address;
  value: bigint;
  data: Hex;
}

/**
 * The calls a userOp's `callData` makes the account `sender` run: `execute`,
 * `executeBatch`, `executeUserOp`'s call list, or else one call of the account to itself.
 */
export function evmCallsOf(sender: string, callData: string): DecodedEvmCall[] {
  const data = callData as Hex;
  if (callData === '0x' || callData === '') return [];
  const self = getAddress(sender);
  if (data.slice(0, 10).toLowerCase() === EXECUTE_USER_OP) {
    const [calls] = decodeAbiParameters(CALL_TUPLES, slice(data, 4));
    return calls.map((c) => ({ to: getAddress(c.target), value: c.value, data: c.data }));
  }
  try {
    const decoded = decodeFunctionData({ abi: ACCOUNT_ABI, data });
    if (decoded.functionName === 'execute') {
      const [target, value, inner] = decoded.args;
      return [{ to: getAddress(target), value, data: inner }];
    }
    if (decoded.functionName === 'executeBatch') {
      return decoded.args[0].map((c) => ({ to: getAddress(c.target), value: c.value, data: c.data }));
    }
  } catch {
    // Not one of the account's execute forms: a call of the account to itself.
  }
  return [{ to: self, value: 0n, data }];
}

const QUANTITIES = [
  'nonce',
  'callGasLimit',
  'verificationGasLimit',
  'preVerificationGas',
  'maxFeePerGas',
  'maxPriorityFeePerGas',
  'paymasterVerificationGasLimit',
  'paymasterPostOpGasLimit',
] as const;

/**
 * The userOp hash of a prepared payload, recomputed here (viem, EntryPoint v0.8), after
 * checking that it is for `expected.chainId`, `expected.entryPoint` and the wallet
 * `expected.sender`, and that it equals the server's `userOpHash`. Throws
 * UNEXPECTED_TYPED_DATA otherwise (nothing is signed).
 */
export function evmUserOpHash(prepared: EvmPrepared, expected: { chainId: number; entryPoint: string; sender: string }): Hex {
  const payload = prepared?.payload;
  const op = payload?.userOperation;
  if (!payload || !op || typeof op !== 'object' || typeof prepared.userOpHash !== 'string') {
    throw new LatchkeyError('SESSION_INVALID_RESPONSE', 'The server answered no prepared userOp.');
  }
  if (payload.chainId !== expected.chainId) throw unexpected(`a userOp for chain ${String(payload.chainId)}, not ${expected.chainId}`);
  if (!sameAddress(payload.entryPoint, expected.entryPoint)) throw unexpected(`a userOp for the EntryPoint ${String(payload.entryPoint)}`);
  if (!sameAddress(op.sender, expected.sender)) throw unexpected(`a userOp of ${String(op.sender)}, not of ${expected.sender}`);
  let hash: Hex;
  try {
    const userOperation: Record<string, unknown> = {
      ...op,
      factory: op.factory ?? undefined,
      factoryData: op.factory ? op.factoryData : undefined,
      paymaster: op.paymaster ?? undefined,
      signature: op.signature ?? '0x',
    };
    for (const field of QUANTITIES) {
      const value = op[field];
      userOperation[field] = value === undefined || value === null ? 0n : BigInt(value);
    }
    hash = getUserOperationHash({
      chainId: expected.chainId,
      entryPointAddress: getAddress(payload.entryPoint),
      entryPointVersion: '0.8',
      // Checked field by field above; viem types the numbers as bigint.
      userOperation: userOperation as unknown as Parameters<typeof getUserOperationHash<'0.8'>>[0]['userOperation'],
    });
  } catch (e) {
    throw new LatchkeyError('SESSION_INVALID_RESPONSE', 'The prepared userOp does not hash: it is malformed.', { cause: e });
  }
  if (hash.toLowerCase() !== prepared.userOpHash.toLowerCase()) {
    throw unexpected('a userOp hash that does not match its userOp');
  }
  if (typeof prepared.expiresAt === 'number' && prepared.expiresAt <= Math.floor(Date.now() / 1000)) {
    throw unexpected('a userOp that has already expired');
  }
  return hash;
}

/** The 32 bytes a key holder `personal_sign`s to prove possession on EVM (latchkey's proof scheme). */
export function evmProofHash(chainId: number, account: string, purpose: ProofPurpose, challenge: string, payload: Hex): Hex {
  return keccak256(
    encodeAbiParameters(
      ['bytes32', 'uint256', 'address', 'bytes32', 'bytes32', 'bytes32'].map((type) => ({ type })),
      [
        keccak256(stringToHex('latchkey.proof')),
        BigInt(chainId),
        getAddress(account),
        keccak256(stringToHex(purpose)),
        toHex(BigInt(challenge), { size: 32 }),
        payload,
      ],
    ),
  );
}

/** The counterfactual address of latchkey's account for `owner`: CREATE2 by the factory, salt `keccak(owner, 0)`, an EIP-1167 proxy to `accountClass`. */
export function evmWalletAddress(chain: Pick<EvmChainConfig, 'accountClass' | 'contracts'>, owner: string): Address {
  const factory = chain.contracts.factory;
  if (!factory || !isAddress(factory) || !isAddress(chain.accountClass)) {
    throw new LatchkeyError('SESSION_INVALID_RESPONSE', 'The EVM chain configuration has no factory or account implementation.');
  }
  return getContractAddress({
    opcode: 'CREATE2',
    from: factory,
    salt: keccak256(encodeAbiParameters([{ type: 'address' }, { type: 'uint256' }], [getAddress(owner), 0n])),
    bytecode: concat(['0x3d602d80600a3d3981f3363d3d373d3d3d363d73', chain.accountClass, '0x5af43d82803e903d91602b57fd5bf3']),
  });
}

function sameAddress(a: unknown, b: unknown): boolean {
  return typeof a === 'string' && typeof b === 'string' && isAddress(a, { strict: false }) && isAddress(b, { strict: false }) && a.toLowerCase() === b.toLowerCase();
}

function address(field: string, text: unknown): Address {
  if (typeof text !== 'string' || !isAddress(text, { strict: false })) {
    throw new LatchkeyError('INVALID_INPUT', `Invalid input: ${field} must be an EVM address.`);
  }
  return getAddress(text);
}

function word(hexFelt: string): Hex {
  return toHex(BigInt(hexFelt), { size: 32 });
}

function quantity(value: bigint | number | string | undefined): bigint {
  if (value === undefined) return 0n;
  try {
    const v = BigInt(value);
    if (v >= 0n) return v;
  } catch {
    // Refused below.
  }
  throw new LatchkeyError('INVALID_INPUT', 'Invalid input: a call value is a non-negative integer (wei).');
}

function methodSelector(m: EvmAllowedMethod, i: number): Hex {
  const hasEntry = typeof m?.entrypoint === 'string' && m.entrypoint !== '';
  const hasSelector = typeof m?.selector === 'string' && m.selector !== '';
  if (hasEntry === hasSelector) {
    throw new LatchkeyError('INVALID_INPUT', `Invalid input: allowedMethods[${i}] needs exactly one of entrypoint or selector.`);
  }
  if (hasSelector) {
    if (!/^0x[0-9a-fA-F]{8}$/.test(m.selector as string)) {
      throw new LatchkeyError('INVALID_INPUT', `Invalid input: allowedMethods[${i}].selector is 4 bytes of 0x hex.`);
    }
    return (m.selector as string).toLowerCase() as Hex;
  }
  return toFunctionSelector(m.entrypoint as string);
}

function refuseWeakPin(pin: string): void {
  if (typeof pin !== 'string' || pin === '') throw new LatchkeyError('INVALID_INPUT', 'Invalid input: a PIN is required.');
  const why = loadedEvmCore().pinWeakness(pin);
  if (why) throw new LatchkeyError('WEAK_PIN', `Weak PIN: ${why}.`);
}

/** latchkey's EVM wallets over a `LatchkeyClient`: create, unlock, sessions, execution. Keys stay in WebAssembly memory. */
export class EvmClient {
  readonly client: LatchkeyClient;
  readonly #chainId: string | undefined;
  readonly #kdf: KdfOption | undefined;
  #chain: Promise<EvmChainConfig> | null = null;

  /** `chain`: the CAIP-2 id of the EVM chain to use (default: the server's first EVM chain). `kdf`: Argon2id cost of the envelopes made here (default: the client's). */
  constructor(client: LatchkeyClient, opts: { chain?: string; kdf?: KdfOption } = {}) {
    this.client = client;
    this.#chainId = opts.chain;
    this.#kdf = opts.kdf ?? client.kdf;
  }

  /** The EVM chain (from `GET /api/config`; cached). */
  chain(): Promise<EvmChainConfig> {
    if (!this.#chain) {
      this.#chain = (async () => {
        const config = (await this.client.config()) as unknown as { chains?: EvmChainConfig[] };
        const chain = (config.chains ?? []).find((c) => c.family === 'evm' && (this.#chainId === undefined || c.id === this.#chainId));
        if (!chain || typeof chain.id !== 'string' || !chain.contracts || typeof chain.contracts.entryPoint !== 'string') {
          throw new LatchkeyError('INVALID_WALLET_TYPE_FOR_SESSION', `The server has no EVM chain${this.#chainId ? ` ${this.#chainId}` : ''}.`);
        }
        return chain;
      })();
      this.#chain.catch(() => {
        this.#chain = null;
      });
    }
    return this.#chain;
  }

  async #chainNumber(): Promise<number> {
    const id = Number((await this.chain()).id.split(':')[1]);
    if (!Number.isSafeInteger(id)) throw new LatchkeyError('SESSION_INVALID_RESPONSE', 'The EVM chain id is not a number.');
    return id;
  }

  /** The address of the wallet `owner` (an address) owns. */
  async walletAddress(owner: string): Promise<Address> {
    return evmWalletAddress(await this.chain(), address('owner', owner));
  }

  /** A PIN evaluated by the server for `account` (one counted attempt): the core's secret (the caller frees it) and the answer. */
  async #evaluate(account: string, pin: string, keyId?: string): Promise<{ secret: Core.Secret; evaluation: PinEvaluation }> {
    const core = await evmCore();
    const blind = guard(() => core.blindPin(pin, entropy()));
    let evaluation: PinEvaluation;
    try {
      evaluation = await evaluatePatiently(this.client, account, blind.blindedElement, keyId);
    } catch (e) {
      blind.free();
      throw e;
    }
    const element = fromBase64Url(evaluation.evaluatedElement);
    if (element === null || element.length !== 32) {
      blind.free();
      throw new LatchkeyError('INVALID_OPRF_ELEMENT', "The server's PIN evaluation is not 32 bytes of base64url.");
    }
    return { secret: guard(() => blind.finalize(element, evaluation.keyId)), evaluation };
  }

  /** A `personal_sign` proof by `key` for `account`. */
  async #prove(key: EvmKey, account: string, purpose: ProofPurpose, challenge: string, payload: Hex): Promise<{ challenge: string; signature: Hex[] }> {
    const hash = evmProofHash(await this.#chainNumber(), account, purpose, challenge, payload);
    return { challenge, signature: [key.signMessageHash(hash)] };
  }

  /** Proves to the server that `key` (the owner, or a registered session key) was unlocked after `challenge`: resets the wallet's PIN attempts. */
  async pinConfirm(account: string, key: EvmKey, challenge: Challenge): Promise<PinStatus> {
    const body: Record<string, unknown> = { proof: await this.#prove(key, account, 'pin-unlock', challenge.challenge, toHex(BigInt(key.address), { size: 32 })) };
    if (key.kind === 'session') body.publicKey = key.address;
    return this.client.request<PinStatus>('POST', `/api/wallets/${enc(account)}/pin/confirm`, body);
  }

  /**
   * Creates an EVM wallet: the owner key is generated in WebAssembly memory, sealed as lk2
   * under `pin` (evaluated by the server for the wallet's counterfactual address), proved
   * once with a create-wallet challenge, and stored on the server, which deploys the
   * account gaslessly. The key is zeroed before this returns; keep `encryptedPrivateKey`.
   */
  async createWallet(opts: { pin: string; externalUserId?: string }): Promise<CreatedEvmWallet> {
    await evmCore();
    refuseWeakPin(opts?.pin);
    coreKdf(this.#kdf, loadedEvmCore());
    const chain = await this.chain();
    const owner = new EvmKey(guard(() => loadedEvmCore().generateEvmSigner('owner', entropy())));
    try {
      const account = evmWalletAddress(chain, owner.address);
      const { secret, evaluation } = await this.#evaluate(account, opts.pin);
      let sealed: string;
      try {
        sealed = owner.sealWith(account, secret, this.#kdf);
      } finally {
        secret.free();
      }
      const challenge = await this.client.challenge('create-wallet');
      const body: Record<string, unknown> = {
        chain: chain.id,
        ownerPublicKey: owner.address,
        encryptedPrivateKey: sealed,
        proof: await this.#prove(owner, account, 'create-wallet', challenge.challenge, word(loadedEvmCore().payloadHash(sealed))),
      };
      if (opts.externalUserId !== undefined) body.externalUserId = opts.externalUserId;
      const wallet = await this.client.request<EvmWallet>('POST', '/api/wallets', body);
      if (!sameAddress(wallet?.address, account)) {
        throw new LatchkeyError('SESSION_INVALID_RESPONSE', `The server created the wallet at ${String(wallet?.address)}, not at ${account}.`);
      }
      // The evaluation that sealed the key is proved now that the wallet exists; if this
      // fails it stays counted until the next proved unlock.
      await this.pinConfirm(account, owner, evaluation.challenge).catch(() => undefined);
      return { address: account, ownerAddress: owner.address, encryptedPrivateKey: sealed, wallet };
    } finally {
      owner.free();
    }
  }

  /** Opens an EVM key envelope of `kind` with `pin` for `account`: lk2 through the server's evaluation, then a pin-unlock proof. */
  async #unlock(account: string, kind: 'owner' | 'session', envelope: string, keyAddress: string, pin: string): Promise<EvmKey> {
    const core = await evmCore();
    const info = guard(() => core.envelopeInfo(envelope));
    if (info.format !== 'lk2') {
      const secret = core.Secret.passphrase(pin);
      try {
        return new EvmKey(guard(() => core.unlockEvmKey(envelope, kind, account, keyAddress, secret)));
      } finally {
        secret.free();
      }
    }
    const { secret, evaluation } = await this.#evaluate(account, pin, info.oprfKeyId ?? undefined);
    let key: EvmKey;
    try {
      key = new EvmKey(guard(() => core.unlockEvmKey(envelope, kind, account, keyAddress, secret)));
    } catch (e) {
      throw explainWrongPin(e, evaluation);
    } finally {
      secret.free();
    }
    await this.pinConfirm(account, key, evaluation.challenge).catch(() => undefined);
    return key;
  }

  /**
   * Unlocks the wallet's owner key with `pin` (checked by the server: one counted attempt;
   * a wrong PIN is OWNER_KEY_DECRYPTION_FAILED with `attemptsRemaining`). The envelope and
   * owner address come from the server when not given. The caller frees the key.
   */
  async unlockOwner(account: string, opts: { pin: string; encryptedPrivateKey?: string; ownerAddress?: string }): Promise<EvmKey> {
    await evmCore();
    const wallet = address('wallet address', account);
    let { encryptedPrivateKey, ownerAddress } = opts ?? ({} as typeof opts);
    if (typeof encryptedPrivateKey !== 'string' || typeof ownerAddress !== 'string') {
      const stored = await this.client.request<EvmWallet>('GET', `/api/wallets/${enc(wallet)}`);
      encryptedPrivateKey ??= stored.encryptedPrivateKey;
      ownerAddress ??= stored.ownerPublicKey;
    }
    if (typeof encryptedPrivateKey !== 'string') {
      throw new LatchkeyError('INVALID_INPUT', 'Invalid input: the wallet has no encryptedPrivateKey.');
    }
    return this.#unlock(wallet, 'owner', encryptedPrivateKey, address('ownerAddress', ownerAddress), opts.pin);
  }

  /** A new session key, generated and held in WebAssembly memory (not sealed). The caller frees it. */
  async createSessionKey(): Promise<EvmKey> {
    await evmCore();
    return new EvmKey(guard(() => loadedEvmCore().generateEvmSigner('session', entropy())));
  }

  /** Seals a session key for the wallet `account` as lk2 under `pin` (one counted evaluation): `lk2$session-secp256k1$…`. */
  async sealSessionKey(account: string, session: EvmKey, opts: { pin: string }): Promise<string> {
    await evmCore();
    if (!(session instanceof EvmKey) || session.kind !== 'session') {
      throw new LatchkeyError('INVALID_INPUT', 'Invalid input: an EVM session key is required.');
    }
    refuseWeakPin(opts?.pin);
    const wallet = address('wallet address', account);
    const { secret } = await this.#evaluate(wallet, opts.pin);
    try {
      return session.sealWith(wallet, secret, this.#kdf);
    } finally {
      secret.free();
    }
  }

  /** Unlocks a session key sealed by `sealSessionKey` (a registered session's key proves the unlock to the server). */
  async unlockSessionKey(account: string, data: { address: string; encryptedPrivateKey: string }, opts: { pin: string }): Promise<EvmKey> {
    await evmCore();
    return this.#unlock(address('wallet address', account), 'session', data?.encryptedPrivateKey, address('session address', data?.address), opts?.pin);
  }

  /** The owner key for one action, and whether it is to be freed after it. */
  async #owner(account: Address, owner: EvmOwnerAuth): Promise<{ key: EvmKey; release: boolean }> {
    if (owner instanceof EvmKey) {
      if (owner.kind !== 'owner') throw new LatchkeyError('INVALID_INPUT', 'Invalid input: this is a session key, not the owner key.');
      if (owner.account !== undefined && !sameAddress(owner.account, account)) {
        throw new LatchkeyError('INVALID_INPUT', `Invalid input: the key owns ${owner.account}, not ${account}.`);
      }
      return { key: owner, release: false };
    }
    if (!owner || typeof owner !== 'object' || typeof owner.pin !== 'string') {
      throw new LatchkeyError('INVALID_INPUT', 'Invalid input: give the owner key (EvmKey) or { pin, encryptedPrivateKey? }.');
    }
    return { key: await this.unlockOwner(account, owner), release: true };
  }

  /** Checks a prepared userOp (hash recomputed here, then `check` on its calls), signs it with `key` and executes it; throws unless it succeeded. */
  async #signAndExecute(
    account: Address,
    key: EvmKey,
    prepared: EvmPrepared,
    check: (calls: DecodedEvmCall[]) => string | null,
    what: string,
  ): Promise<Execution> {
    const chain = await this.chain();
    const hash = evmUserOpHash(prepared, { chainId: await this.#chainNumber(), entryPoint: chain.contracts.entryPoint, sender: account });
    let calls: DecodedEvmCall[];
    try {
      calls = evmCallsOf(account, prepared.payload.userOperation.callData);
    } catch {
      throw unexpected('callData that does not decode');
    }
    const problem = check(calls);
    if (problem) throw unexpected(problem);
    const signature = key.signUserOpHash(hash);
    const done = await this.client.request<Execution>('POST', `/api/wallets/${enc(account)}/execute?wait=true`, {
      payload: prepared.payload,
      signature: [signature],
    });
    return expectSucceeded(done, what);
  }

  /** Runs `f` with the owner key, freeing it afterwards when it was unlocked here. */
  async #asOwner<T>(account: Address, owner: EvmOwnerAuth, f: (key: EvmKey) => Promise<T>): Promise<T> {
    const { key, release } = await this.#owner(account, owner);
    try {
      return await f(key);
    } finally {
      if (release) key.free();
    }
  }

  /**
   * Registers a session key on the wallet (a userOp the owner signs once): calls on the
   * methods `allowedMethods` only, at most `maxCalls`, until `validUntil`. The prepared
   * registration is checked to be exactly these terms before the owner signs.
   */
  async registerSession(account: string, terms: EvmSessionTerms): Promise<Execution> {
    await evmCore();
    const wallet = address('wallet address', account);
    const sessionAddress = address('session', terms?.session instanceof EvmKey ? terms.session.address : terms?.session);
    if (!Array.isArray(terms.allowedMethods) || terms.allowedMethods.length === 0) {
      throw new LatchkeyError('INVALID_INPUT', 'Invalid input: a session needs allowedMethods.');
    }
    const methods = terms.allowedMethods.map((m, i) => ({ target: address(`allowedMethods[${i}].contract`, m.contract), selector: methodSelector(m, i) }));
    for (const [name, value] of [['maxCalls', terms.maxCalls], ['validUntil', terms.validUntil]] as const) {
      if (!Number.isSafeInteger(value) || value <= 0) throw new LatchkeyError('INVALID_INPUT', `Invalid input: ${name} must be a positive integer.`);
    }
    const body: Record<string, unknown> = {
      sessionPublicKey: sessionAddress,
      maxCalls: terms.maxCalls,
      validUntil: terms.validUntil,
      allowedMethods: methods.map((m) => ({ contract: m.target, selector: m.selector })),
    };
    if (terms.validAfter !== undefined) body.validAfter = terms.validAfter;
    return this.#asOwner(wallet, terms.owner, async (owner) => {
      const prepared = await this.client.request<EvmPrepared>('POST', `/api/wallets/${enc(wallet)}/sessions`, body);
      return this.#signAndExecute(
        wallet,
        owner,
        prepared,
        (calls) => {
          if (calls.length !== 1 || !sameAddress(calls[0].to, wallet) || calls[0].value !== 0n) return 'not a single registerSession call';
          let args: readonly unknown[];
          try {
            const decoded = decodeFunctionData({ abi: ACCOUNT_ABI, data: calls[0].data });
            if (decoded.functionName !== 'registerSession') return 'not a registerSession call';
            args = decoded.args;
          } catch {
            return 'not a registerSession call';
          }
          const [key, validAfter, validUntil, maxCalls, allowed] = args as [Address, number, number, number, { target: Address; selector: Hex }[]];
          if (!sameAddress(key, sessionAddress) || Number(validUntil) !== terms.validUntil || Number(maxCalls) !== terms.maxCalls) {
            return 'a session with different terms';
          }
          if (terms.validAfter !== undefined && Number(validAfter) !== terms.validAfter) return 'a session with different terms';
          if (
            allowed.length !== methods.length ||
            allowed.some((a, i) => !sameAddress(a.target, methods[i].target) || a.selector.toLowerCase() !== methods[i].selector)
          ) {
            return 'a different allowlist';
          }
          return null;
        },
        'The session registration',
      );
    });
  }

  /**
   * Executes `calls` with a session key: the server prepares a userOp on the session's
   * nonce, sponsored by its paymaster; it is checked here (hash, exactly these calls),
   * signed by the session key, executed and waited for. Throws unless it succeeded.
   */
  async executeWithSession(account: string, session: EvmKey, calls: EvmCall[]): Promise<Execution> {
    await evmCore();
    const wallet = address('wallet address', account);
    if (!(session instanceof EvmKey) || session.kind !== 'session') {
      throw new LatchkeyError('INVALID_INPUT', 'Invalid input: an EVM session key (EvmKey) is required.');
    }
    if (!Array.isArray(calls) || calls.length === 0) throw new LatchkeyError('INVALID_INPUT', 'Invalid input: give at least one call.');
    const expected = calls.map((c, i) => {
      const data = c?.data ?? '0x';
      if (typeof data !== 'string' || !/^0x([0-9a-fA-F]{2})*$/.test(data)) {
        throw new LatchkeyError('INVALID_INPUT', `Invalid input: calls[${i}].data must be 0x hex.`);
      }
      return { to: address(`calls[${i}].to`, c.to), value: quantity(c.value), data: data.toLowerCase() as Hex };
    });
    const body = {
      calls: expected.map((c) => (c.value === 0n ? { to: c.to, data: c.data } : { to: c.to, data: c.data, value: toHex(c.value) })),
      sessionKey: session.address,
    };
    const prepared = await this.client.request<EvmPrepared>('POST', `/api/wallets/${enc(wallet)}/prepare`, body);
    return this.#signAndExecute(
      wallet,
      session,
      prepared,
      (got) =>
        got.length === expected.length &&
        got.every((c, i) => sameAddress(c.to, expected[i].to) && c.value === expected[i].value && c.data.toLowerCase() === expected[i].data)
          ? null
          : 'different calls',
      'The execution',
    );
  }

  /** A session's registered terms and live status; an unknown one is SESSION_NOT_REGISTERED. */
  sessionStatus(account: string, session: EvmKey | string): Promise<Session> {
    const key = session instanceof EvmKey ? session.address : session;
    return this.client.getSession(address('wallet address', account), address('session', key));
  }

  /** Revokes one session (the owner signs); waits for it on chain. */
  async revokeSession(account: string, owner: EvmOwnerAuth, session: EvmKey | string): Promise<Execution> {
    await evmCore();
    const wallet = address('wallet address', account);
    const key = address('session', session instanceof EvmKey ? session.address : session);
    return this.#asOwner(wallet, owner, async (ownerKey) => {
      const prepared = await this.client.request<EvmPrepared>('POST', `/api/wallets/${enc(wallet)}/sessions/${enc(key)}/revoke`);
      return this.#signAndExecute(wallet, ownerKey, prepared, (calls) => onlySelfCall(calls, wallet, 'revokeSession', [key]), 'The revocation');
    });
  }

  /** Revokes every session of the wallet (the owner signs); waits for it on chain. */
  async revokeAll(account: string, owner: EvmOwnerAuth): Promise<Execution> {
    await evmCore();
    const wallet = address('wallet address', account);
    return this.#asOwner(wallet, owner, async (ownerKey) => {
      const prepared = await this.client.request<EvmPrepared>('POST', `/api/wallets/${enc(wallet)}/sessions/revoke-all`);
      return this.#signAndExecute(wallet, ownerKey, prepared, (calls) => onlySelfCall(calls, wallet, 'revokeAllSessions', []), 'The revocation');
    });
  }
}

/** Why `calls` is not exactly one call of the wallet to its own `name(args)`, or null. */
function onlySelfCall(calls: DecodedEvmCall[], wallet: Address, name: 'revokeSession' | 'revokeAllSessions', args: Address[]): string | null {
  if (calls.length !== 1 || !sameAddress(calls[0].to, wallet) || calls[0].value !== 0n) return `not a single ${name} call`;
  try {
    const decoded = decodeFunctionData({ abi: ACCOUNT_ABI, data: calls[0].data });
    if (decoded.functionName !== name) return `not a ${name} call`;
    const got = (decoded.args ?? []) as readonly unknown[];
    if (got.length !== args.length || got.some((a, i) => !sameAddress(a, args[i]))) return `a ${name} call for another key`;
    return null;
  } catch {
    return `not a ${name} call`;
  }
}
