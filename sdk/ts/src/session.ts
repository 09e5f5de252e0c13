/**
 * `@latchkey/sdk/session`: the Starknet session path alone, for a page that runs a
 * session made elsewhere (by the full SDK, the dashboard or the server's API). It opens
 * the sealed session key once with the user's PIN (which the wallet's server evaluates,
 * `lk2`; or the PIN alone, `lk1`), proves the unlock, then signs and sends executions
 * with no further prompt. It loads one small WebAssembly module (`latchkey_session`),
 * not the full SDK's three: see `npm run bench` for what the path weighs.
 *
 * ```ts
 * const session = await openSession({ url, publicKey, wallet, session: stored, pin });
 * await session.execute([{ to: game, entrypoint: 'play', calldata: ['7'] }]);
 * session.free();
 * ```
 *
 * Executions are hashed in WebAssembly from their SNIP-9 v2 fields, read here from the
 * server's typed data: the key signs nothing but an outside execution of its wallet, and
 * only after the prepared calls, chain, expiry and message hash are checked against what
 * was asked.
 */
import { fromBase64Url, toBase64Url } from './base64.js';
import { callFelts, expectSucceeded, sameCalls, unexpected, type Call, type CallFelts, type Execution } from './calls.js';
import { LatchkeyError, explainWrongPin, fromWasm, guard } from './errors.js';
import { Http, enc, type FetchLike, type TokenSource } from './http.js';
import { Lazy, start, type WasmSource } from './load.js';
import type * as SessionModule from './wasm/latchkey_session.js';

export type { Call, Execution } from './calls.js';
export { LatchkeyError } from './errors.js';
export type { WasmSource } from './load.js';

type Module = typeof SessionModule;

const module = new Lazy<Module>(async (from) =>
  start(await import('./wasm/latchkey_session.js'), from, new URL('./wasm/latchkey_session_bg.wasm', import.meta.url)),
);

/** The field prime `2^251 + 17·2^192 + 1`. */
const P = (1n << 251n) + 17n * (1n << 192n) + 1n;
const U128_MAX = (1n << 128n) - 1n;
const DOMAIN_NAME = 'Account.execute_from_outside';
/** SNIP-9 v2's types, member by member: a document with others is refused. */
const TYPES: Record<string, [string, string][]> = {
  StarknetDomain: [
    ['name', 'shortstring'],
    ['version', 'shortstring'],
    ['chainId', 'shortstring'],
    ['revision', 'shortstring'],
  ],
  OutsideExecution: [
    ['Caller', 'ContractAddress'],
    ['Nonce', 'felt'],
    ['Execute After', 'u128'],
    ['Execute Before', 'u128'],
    ['Calls', 'Call*'],
  ],
  Call: [
    ['To', 'ContractAddress'],
    ['Selector', 'selector'],
    ['Calldata', 'felt*'],
  ],
};
/** A selector given as a number rather than an entrypoint name (after trimming). */
const HEX_SELECTOR = /^0[xX][0-9a-fA-F]*$/;
/** How often an evaluation refused by the rate limit (which does not count it) is retried. */
const RATE_LIMIT_RETRIES = 4;

/** A stored session: what `createSessionKey` made and the wallet registered. */
export interface StoredSessionKey {
  publicKey: string;
  encryptedPrivateKey: string;
  validUntil: number;
}

export interface OpenSessionOptions {
  /** The latchkey server (`https://…`); empty for the page's own origin. */
  url?: string;
  /** The organisation's public key (`pk_…`). */
  publicKey: string;
  /** The end user's token (`Authorization: Bearer`), when the organisation asks for one. */
  getBearerToken?: TokenSource;
  /** The organisation's secret key (`sk_…`), on a server only: never in a browser. */
  secretKey?: string;
  fetch?: FetchLike;
  /** The wallet's address. */
  wallet: string;
  /** The session to open. */
  session: StoredSessionKey;
  /** The PIN the session key is sealed with. */
  pin: string;
  /** Where `latchkey_session_bg.wasm` comes from, when not from next to this file. */
  wasm?: WasmSource;
  /** Told when proving the unlock to the server failed (the unlock itself succeeded). */
  onBackgroundError?(error: LatchkeyError): void;
}

/** The server's evaluation of a blinded PIN (`POST …/pin/evaluate`). */
interface Evaluation {
  evaluatedElement: string;
  keyId: string;
  attemptsRemaining: number;
  lockedUntil?: number;
  challenge: { challenge: string; chainId: string; purpose: string };
}

/** 32+ random bytes for the module. */
function entropy(): Uint8Array {
  const bytes = new Uint8Array(32);
  globalThis.crypto.getRandomValues(bytes);
  return bytes;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function evaluate(http: Http, wallet: string, blinded: Uint8Array, keyId: string): Promise<Evaluation> {
  for (let attempt = 0; ; attempt++) {
    try {
      const answer = await http.json<Evaluation>('POST', `/api/wallets/${enc(wallet)}/pin/evaluate`, {
        blindedElement: toBase64Url(blinded),
        keyId,
      });
      if (
        !answer ||
        typeof answer.evaluatedElement !== 'string' ||
        typeof answer.keyId !== 'string' ||
        typeof answer.attemptsRemaining !== 'number' ||
        answer.challenge?.purpose !== 'pin-unlock'
      ) {
        throw new LatchkeyError('SESSION_INVALID_RESPONSE', 'The server answered no PIN evaluation.');
      }
      return answer;
    } catch (e) {
      if (!(e instanceof LatchkeyError && e.code === 'RATE_LIMITED') || attempt >= RATE_LIMIT_RETRIES) throw e;
      await sleep(Math.min(5_000, Math.max((e.retryAfterSeconds ?? 0.5 * 2 ** attempt) * 1000, 100)));
    }
  }
}

/**
 * Opens a stored session key of `wallet` with the user's PIN: an `lk2` key with the
 * server's evaluation of the PIN (one counted attempt; a wrong PIN keeps its code,
 * SESSION_DECRYPTION_FAILED, and says how many attempts are left), an `lk1` key with the
 * PIN alone. The unlock is then proved to the server, which resets the wallet's attempt
 * counter. The caller frees the session.
 */
export async function openSession(opts: OpenSessionOptions): Promise<ActiveSession> {
  const stored = opts?.session;
  if (!stored || typeof stored.encryptedPrivateKey !== 'string' || typeof stored.publicKey !== 'string') {
    throw new LatchkeyError('SESSION_NOT_REGISTERED', 'No session to open.');
  }
  if (typeof opts.wallet !== 'string' || typeof opts.pin !== 'string' || opts.pin === '') {
    throw new LatchkeyError('INVALID_INPUT', 'Invalid input: a wallet address and the PIN are required.');
  }
  if (typeof stored.validUntil !== 'number' || stored.validUntil <= Math.floor(Date.now() / 1000)) {
    throw new LatchkeyError('SESSION_EXPIRED', 'Session has expired. Create a new session key.');
  }
  if (opts.wasm !== undefined && !module.value) module.from = opts.wasm;
  const core = await module.get();
  const http = new Http({
    base: opts.url ?? '',
    publicKey: opts.publicKey,
    secretKey: opts.secretKey,
    getBearerToken: opts.getBearerToken,
    fetch: opts.fetch,
  });
  const keyId = guard(() => core.sessionKeyOprfKey(stored.encryptedPrivateKey));
  const unlock = guard(() => new core.SessionUnlock(opts.pin, entropy()));
  try {
    const args = [stored.publicKey, stored.encryptedPrivateKey, stored.validUntil, opts.wallet] as const;
    if (keyId === undefined) {
      return new ActiveSession(guard(() => unlock.open(...args)), http, opts.wallet, null);
    }
    const evaluation = await evaluate(http, opts.wallet, unlock.blindedElement, keyId);
    const element = fromBase64Url(evaluation.evaluatedElement);
    if (element === null || element.length !== 32) {
      throw new LatchkeyError('INVALID_OPRF_ELEMENT', "The server's PIN evaluation is not 32 bytes of base64url.");
    }
    let key: SessionModule.SessionKey;
    try {
      key = guard(() => unlock.openEvaluated(...args, element, evaluation.keyId));
    } catch (e) {
      throw explainWrongPin(e, evaluation);
    }
    const session = new ActiveSession(key, http, opts.wallet, evaluation.challenge.chainId);
    await session.confirm(evaluation.challenge).catch((e: unknown) => {
      try {
        opts.onBackgroundError?.(fromWasm(e));
      } catch {
        // The callback's failure is its own.
      }
    });
    return session;
  } finally {
    unlock.free();
  }
}

/** A value of a SNIP-12 felt-like field, read as starknet.js does: an integer, else a short string. */
function looseFelt(value: unknown, field: string, max: bigint = P - 1n): bigint {
  let n: bigint | null = null;
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
    try {
      n = BigInt(value);
    } catch {
      n = typeof value === 'string' ? shortString(value, field) : null;
    }
  }
  if (n === null || n < 0n || n > max) throw invalid(field);
  return n;
}

function shortString(text: string, field: string): bigint {
  if (text.length > 31) throw invalid(field);
  let n = 0n;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 127) throw invalid(field);
    n = (n << 8n) | BigInt(c);
  }
  return n;
}

const hex = (n: bigint) => `0x${n.toString(16)}`;

function invalid(field: string): LatchkeyError {
  return new LatchkeyError('INVALID_TYPED_DATA', `Invalid outside execution: ${field} is malformed.`);
}

function record(value: unknown, field: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw invalid(field);
  return value as Record<string, unknown>;
}

function list(value: unknown, field: string): unknown[] {
  if (!Array.isArray(value)) throw invalid(field);
  return value;
}

/** A SNIP-9 v2 outside execution read from typed data, every felt as minimal hex. */
export interface ExecutionFields {
  chainId: string;
  caller: string;
  nonce: string;
  executeAfter: string;
  executeBefore: string;
  /** Selectors as minimal hex, or the entrypoint name the document gives. */
  calls: { to: string; selector: string; calldata: string[] }[];
}

/** Reads typed data as a SNIP-9 v2 outside execution; INVALID_TYPED_DATA for any other document. */
export function executionFields(typedData: unknown): ExecutionFields {
  const doc = record(typedData, 'the document');
  if (doc.primaryType !== 'OutsideExecution') throw invalid('primaryType');
  const types = record(doc.types, 'types');
  for (const [name, members] of Object.entries(TYPES)) {
    const given = list(types[name], `types.${name}`);
    const same =
      given.length === members.length &&
      given.every((m, i) => {
        const member = record(m, `types.${name}`);
        return member.name === members[i][0] && member.type === members[i][1];
      });
    if (!same) throw invalid(`types.${name}`);
  }
  const domain = record(doc.domain, 'domain');
  if (
    looseFelt(domain.name, 'domain.name') !== shortString(DOMAIN_NAME, 'domain.name') ||
    looseFelt(domain.version, 'domain.version') !== 2n ||
    looseFelt(domain.revision, 'domain.revision') !== 1n
  ) {
    throw invalid('domain');
  }
  const message = record(doc.message, 'message');
  const calls = list(message.Calls, 'Calls').map((c, i) => {
    const call = record(c, `Calls[${i}]`);
    const selector = call.Selector;
    if (typeof selector !== 'string') throw invalid(`Calls[${i}].Selector`);
    const trimmed = selector.trim();
    const isHex = HEX_SELECTOR.test(trimmed);
    return {
      to: hex(looseFelt(call.To, `Calls[${i}].To`)),
      selector: isHex ? hex(looseFelt(trimmed, `Calls[${i}].Selector`)) : selector,
      calldata: list(call.Calldata, `Calls[${i}].Calldata`).map((d) => hex(looseFelt(d, `Calls[${i}].Calldata`))),
    };
  });
  return {
    chainId: hex(looseFelt(domain.chainId, 'domain.chainId')),
    caller: hex(looseFelt(message.Caller, 'Caller')),
    nonce: hex(looseFelt(message.Nonce, 'Nonce')),
    executeAfter: hex(looseFelt(message['Execute After'], 'Execute After', U128_MAX)),
    executeBefore: hex(looseFelt(message['Execute Before'], 'Execute Before', U128_MAX)),
    calls,
  };
}

/** A strict felt argument (`0x` hex or decimal, below the prime), minimal hex. */
function felt(text: string): string {
  const t = typeof text === 'string' ? text.trim() : '';
  if (!/^(0[xX][0-9a-fA-F]{1,64}|[0-9]{1,78})$/.test(t) || BigInt(t) >= P) {
    throw new LatchkeyError('INVALID_INPUT', `Invalid input: ${JSON.stringify(String(text)).slice(0, 40)} is not a felt.`);
  }
  return hex(BigInt(t));
}

/** The server's typed data and message hash for calls (`POST …/prepare`). */
interface Prepared {
  typedData: unknown;
  messageHash: string;
}

/** An open session key: signs and sends executions of its wallet. Free it when done. */
export class ActiveSession {
  #key: SessionModule.SessionKey | null;
  readonly #http: Http;
  readonly #wallet: string;
  #chainId: string | null;

  /** @internal */
  constructor(key: SessionModule.SessionKey, http: Http, wallet: string, chainId: string | null) {
    this.#key = key;
    this.#http = http;
    this.#wallet = wallet;
    this.#chainId = chainId;
  }

  #held(): SessionModule.SessionKey {
    if (!this.#key) throw new LatchkeyError('SESSION_LOCKED', 'This session was freed; open it again.');
    return this.#key;
  }

  /** The session public key. */
  get publicKey(): string {
    return this.#held().publicKey;
  }

  /** The wallet the key signs for. */
  get account(): string {
    return this.#held().account;
  }

  /** Unix seconds after which the key signs nothing. */
  get validUntil(): number {
    return this.#held().validUntil;
  }

  /** @internal Proves the unlock (`POST …/pin/confirm`). */
  async confirm(challenge: Evaluation['challenge']): Promise<void> {
    const key = this.#held();
    const publicKey = felt(key.publicKey);
    const signature = guard(() => key.signProof(challenge.chainId, 'pin-unlock', challenge.challenge, publicKey));
    await this.#http.json('POST', `/api/wallets/${enc(this.#wallet)}/pin/confirm`, {
      publicKey,
      proof: { challenge: challenge.challenge, signature },
    });
  }

  /**
   * Signs typed data that is a SNIP-9 v2 outside execution of this wallet:
   * `[sessionPublicKey, r, s, validUntil]`. With `messageHash`, a document that hashes
   * otherwise is UNEXPECTED_TYPED_DATA; after `validUntil`, SESSION_EXPIRED.
   */
  signExecution(typedData: unknown, opts: { messageHash?: string; now?: number } = {}): string[] {
    const key = this.#held();
    const f = executionFields(typedData);
    const flat = f.calls.flatMap((c) => [c.to, c.selector, hex(BigInt(c.calldata.length)), ...c.calldata]);
    const now = opts.now ?? Math.floor(Date.now() / 1000);
    return guard(() => key.signExecution(f.chainId, f.caller, f.nonce, f.executeAfter, f.executeBefore, flat, now, opts.messageHash));
  }

  async #chain(): Promise<string> {
    if (this.#chainId === null) {
      const config = await this.#http.json<{ chainId?: unknown }>('GET', '/api/config');
      if (typeof config?.chainId !== 'string') throw new LatchkeyError('SESSION_INVALID_RESPONSE', 'The server answered no chain id.');
      this.#chainId = config.chainId;
    }
    return this.#chainId;
  }

  /**
   * Executes `calls` gaslessly: the server prepares them, the prepared calls, chain,
   * expiry and hash are checked against what was asked, the session key signs, and the
   * execution is sent and waited for. Throws unless it succeeded (the server's code, e.g.
   * SESSION_REVOKED, with the execution).
   */
  async execute(calls: Call[]): Promise<Execution> {
    const key = this.#held();
    if (!Array.isArray(calls) || calls.length === 0) {
      throw new LatchkeyError('INVALID_INPUT', 'Invalid input: give at least one call.');
    }
    const expected: CallFelts[] = calls.map((c, i) => callFelts(c, i, felt, entrypointSelector));
    if (key.validUntil < Math.floor(Date.now() / 1000)) {
      throw new LatchkeyError('SESSION_EXPIRED', 'Session has expired. Create a new session key.');
    }
    const body = {
      calls: calls.map((c) => {
        const out: Record<string, unknown> = { to: c.to, calldata: (c.calldata ?? []).map(String) };
        if (c.entrypoint !== undefined) out.entrypoint = c.entrypoint;
        if (c.selector !== undefined) out.selector = c.selector;
        return out;
      }),
    };
    const prepared = await this.#http.json<Prepared>('POST', `/api/wallets/${enc(this.#wallet)}/prepare`, body);
    const fields = executionFields(prepared?.typedData);
    const chainId = hex(looseFelt(await this.#chain(), 'chainId'));
    if (fields.chainId !== chainId) throw unexpected(`another chain (${fields.chainId}, not ${chainId})`);
    const got = fields.calls.map((c) => ({ ...c, selector: HEX_SELECTOR.test(c.selector) ? c.selector : entrypointSelector(c.selector) }));
    if (!sameCalls(got, expected)) throw unexpected('different calls');
    if (BigInt(fields.executeBefore) <= BigInt(Math.floor(Date.now() / 1000))) throw unexpected('an execution that has already expired');
    const signature = this.signExecution(prepared.typedData, { messageHash: prepared.messageHash });
    const execution = await this.#http.json<Execution>('POST', `/api/wallets/${enc(this.#wallet)}/execute?wait=true`, {
      typedData: prepared.typedData,
      signature,
    });
    return expectSucceeded(execution, 'The execution');
  }

  /** Zeroes the key in WebAssembly memory. */
  free(): void {
    this.#key?.free();
    this.#key = null;
  }
}

/** The selector of an entrypoint name (`sn_keccak`), minimal hex. Needs an open session's module. */
function entrypointSelector(name: string): string {
  const core = module.value;
  if (!core) throw new LatchkeyError('NOT_INITIALIZED', 'The session module is not loaded.');
  return core.entrypointSelector(name);
}
