/** The client of latchkey's native API (`/api/...`). Keys stay on the client. */
import { LatchkeyError } from './errors.js';
import { Http, enc, type FetchLike, type TokenSource } from './http.js';
import { callFelts, expectSucceeded, sameCalls, unexpected, type Call, type Execution } from './calls.js';
import {
  OwnerSigner,
  SessionSigner,
  coreOf,
  decodeOutsideExecution,
  encryptedKeyFormat,
  messageHash,
  newOwnerKey,
  normalizeFelt,
  nowSeconds,
  selectorFromName,
  sessionProver,
  assertEncryptedSession,
  type Challenge,
  type KdfOption,
  type KeyFormat,
  type NormalizedCall,
  type ProofPurpose,
  type Secret,
  type SessionKeyData,
  type SessionProver,
  type TypedData,
} from './keys.js';
import { evaluatePin, refuseWeakPin } from './pin.js';
import { isPinSecret, toBase64Url } from './secret.js';
import { init } from './wasm.js';

export { expectSucceeded, sameCalls, unexpected, type Call, type Execution } from './calls.js';

/** Why the native API takes no Chipi ciphertext. */
const CHIPI_ON_NATIVE =
  'the native API stores latchkey envelopes (lk2, lk1) only; a Chipi ciphertext, which a copy opens by trying ' +
  'every PIN in under a second, is accepted on the Chipi dialect only (ChipiClient).';

/** The native API's refusal of `format: 'chipi'`, before any key is made or sent. */
function refuseChipiFormat(format: KeyFormat | undefined): void {
  if (format === 'chipi') throw new LatchkeyError('INVALID_INPUT', `Invalid input: ${CHIPI_ON_NATIVE}`);
}

/** A wallet, exactly as the server returns it. */
export interface Wallet {
  address: string;
  /** The wallet's chain, CAIP-2 (`starknet:SN_SEPOLIA`, `eip155:31337`). */
  chain: string;
  /** EVM: the owner key is held by the user alone (no encrypted key is stored). */
  externalOwner?: boolean;
  ownerPublicKey: string;
  externalUserId: string | null;
  walletType: string;
  classHash: string;
  deployed: boolean;
  deployTransactionHash: string | null;
  /** The encrypted owner key: in answers about one wallet (get, create), never in lists. */
  encryptedPrivateKey?: string;
  /** Whether a backup blob is stored (`getEncryptedKey(address, { backup: true })`, end user only). */
  hasBackup: boolean;
  createdAt: string;
}

/** One of a wallet's stored encrypted owner keys. */
export interface EncryptedKey {
  walletAddress: string;
  which: 'primary' | 'backup';
  encryptedPrivateKey: string;
}

/** New encrypted blobs for a wallet's owner key. */
export type KeyReplacement =
  /** The held owner key sealed again here, with `secret` (and `backupSecret` for the backup blob); a PIN is lk2 unless `format` says otherwise. */
  | { secret: Secret; backupSecret?: Secret; format?: KeyFormat }
  /** Blobs made elsewhere; each must be a latchkey envelope (lk2 or lk1): the native API refuses Chipi ciphertexts. */
  | { encryptedPrivateKey: string; encryptedPrivateKeyBackup?: string };

/** The server's evaluation of a blinded PIN (`POST /api/wallets/{address}/pin/evaluate`). */
export interface PinEvaluation {
  /** 32 bytes, base64url without padding. */
  evaluatedElement: string;
  /** The OPRF key used. */
  keyId: string;
  /** The key new envelopes are sealed under (an envelope under another is re-sealed). */
  currentKeyId: string;
  /** Attempts left before the wallet's PIN unlock locks (this one counted). */
  attemptsRemaining: number;
  /** Set when this attempt started a lock: unix seconds until the next is allowed. */
  lockedUntil?: number;
  /** The pin-unlock challenge the opened key signs (`pinConfirm`). */
  challenge: Challenge;
}

/** A wallet's PIN attempt counter (`GET /api/wallets/{address}/pin`, and the answer of `pinConfirm`). */
export interface PinStatus {
  walletAddress: string;
  /** Consecutive evaluations without a proved unlock. */
  failures: number;
  attemptsRemaining: number;
  /** Unix seconds until which evaluations are refused; absent when not locked. */
  lockedUntil?: number;
  /** Evaluations ever counted. */
  evaluations: number;
  currentKeyId: string;
}

/** One custody event of a wallet's stored key. */
export interface KeyEvent {
  id: string;
  kind: 'read' | 'replaced' | 'restored';
  /** `organization` or `user:<subject>`. */
  principal: string;
  route: string;
  /** How possession of the key was proved: `owner-signature`, or `none` (Chipi route). */
  proof: string;
  /** Whether the blobs this event replaced can be restored (`restoreKey`). */
  restorable: boolean;
  createdAt: string;
}

/** Where an organisation's end-user tokens come from. */
export interface TokenIssuer {
  jwksUrl: string;
  /** The exact `iss` claim. */
  issuer: string;
  /** The `aud` claim tokens must name. */
  audience: string;
}

/** An organisation's sponsorship policy, as the server returns it. Amounts are FRI, decimal strings. */
export interface SponsorshipPolicy {
  /** Sponsored methods on contracts other than the wallet (contract `0x0` = any); empty = every method. */
  allowedMethods: SessionMethod[];
  /** Starknet limits, in FRI (decimal strings). */
  maxFeePerTxFri?: string;
  dailyGasPerWalletFri?: string;
  dailyGasPerUserFri?: string;
  /** EVM limits, in wei (decimal strings): each chain's limits are in its own fee unit. */
  maxFeePerTxWei?: string;
  dailyGasPerWalletWei?: string;
  dailyGasPerUserWei?: string;
  /** Consecutive reverts that start a wallet's cool-down (0 = never). */
  revertCooldownAfter: number;
  revertCooldownSeconds: number;
}

/** A sponsorship policy to set; what is left out takes the server's default (no limit, or the default cool-down). */
export interface SponsorshipPolicyInput {
  /** Methods by selector or entrypoint name. */
  allowedMethods?: AllowedMethodInput[];
  maxFeePerTxFri?: string;
  dailyGasPerWalletFri?: string;
  dailyGasPerUserFri?: string;
  maxFeePerTxWei?: string;
  dailyGasPerWalletWei?: string;
  dailyGasPerUserWei?: string;
  revertCooldownAfter?: number;
  revertCooldownSeconds?: number;
}

export interface SessionMethod {
  contract: string;
  selector: string;
}

export interface SpendingCap {
  token: string;
  maxPerCall: string;
  maxPerWindow: string;
  windowSeconds: number;
  spentInWindow: string;
  windowStart: number;
}

/** A session's registered policy and live on-chain status, exactly as the server returns it. */
export interface Session {
  sessionPublicKey: string;
  state: 'pending' | 'active' | 'scheduled' | 'expired' | 'exhausted' | 'revoked' | 'failed';
  isActive: boolean;
  validAfter: number;
  validUntil: number;
  maxCalls: number;
  callsUsed: number;
  remainingCalls: number;
  allowAll: boolean;
  allowedMethods: SessionMethod[];
  spendingCaps: SpendingCap[];
}

export interface AllowedMethodInput {
  contract: string;
  entrypoint?: string;
  selector?: string;
}

export interface SpendingCapInput {
  token: string;
  maxPerCall: string;
  maxPerWindow: string;
  windowSeconds: number;
}

/** What a session may do, to register. */
export interface SessionTerms {
  sessionPublicKey: string;
  validAfter?: number;
  validUntil: number;
  maxCalls: number;
  allowedMethods?: AllowedMethodInput[];
  allowAll?: boolean;
  spendingCaps?: SpendingCapInput[];
}

/** Typed data prepared by the server, to sign and submit. */
export interface Prepared {
  requestId: string;
  typedData: TypedData;
  messageHash: string;
  expiresAt: number;
}

export interface PublicConfig {
  chainId: string;
  accountClassHash: string;
  demoGame: string | null;
  /** Every chain served, the default first. */
  chains: ServedChain[];
}

/** A chain the server serves, as `GET /api/config` lists it. */
export interface ServedChain {
  /** CAIP-2. */
  id: string;
  family: 'starknet' | 'evm';
  /** `FRI` or `WEI`. */
  feeUnit: string;
  /** The account class hash (Starknet), the account implementation (EVM). */
  accountClass: string;
  demoGame: string | null;
  /** Contracts by name (`entryPoint`, `factory`, `paymaster`, demo contracts). */
  contracts: Record<string, string>;
}

export interface StoredSession {
  walletAddress: string | null;
  session: SessionKeyData;
  updatedAt: string;
}

export interface LatchkeyClientOptions {
  /** Base URL of the server; '' (default) means the page's own origin. */
  url?: string;
  /** Public API key (`pk_…`), sent as `x-api-key`. */
  publicKey: string;
  /** Secret API key (`sk_…`), sent as a bearer token. Servers only. */
  secretKey?: string;
  /** An end user's JWT, fetched per request. */
  getBearerToken?: TokenSource;
  fetch?: FetchLike;
  /** Argon2id cost of the keys this client creates (default 'current'). */
  kdf?: KdfOption;
}

export function normalizedCall(call: Call, i: number): NormalizedCall {
  return callFelts(call, i, normalizeFelt, selectorFromName);
}

/** The client of latchkey's native API. */
export class LatchkeyClient {
  readonly #http: Http;
  readonly #kdf: KdfOption | undefined;
  #config: Promise<PublicConfig> | null = null;

  constructor(opts: LatchkeyClientOptions) {
    this.#http = new Http({
      base: opts.url ?? '',
      publicKey: opts.publicKey,
      secretKey: opts.secretKey,
      getBearerToken: opts.getBearerToken,
      fetch: opts.fetch,
    });
    this.#kdf = opts.kdf;
  }

  /** The base URL ('' = same origin). */
  get url(): string {
    return this.#http.base;
  }

  /** The Argon2id cost of the keys this client creates (undefined: 'current'). */
  get kdf(): KdfOption | undefined {
    return this.#kdf;
  }

  /** Any request with this client's headers; errors as `LatchkeyError`. */
  request<T>(method: string, path: string, body?: unknown): Promise<T> {
    return this.#http.json<T>(method, path, body);
  }

  /** The chain id, the account class hash and the demo game (GET /api/config; cached). */
  config(): Promise<PublicConfig> {
    if (!this.#config) {
      this.#config = this.request<PublicConfig>('GET', '/api/config');
      this.#config.catch(() => {
        this.#config = null;
      });
    }
    return this.#config;
  }

  /**
   * A single-use challenge for a proof of key possession (POST /api/challenges), bound to
   * this client's credentials (organisation key or end-user token).
   */
  async challenge(purpose: ProofPurpose): Promise<Challenge> {
    const answer = await this.request<Challenge>('POST', '/api/challenges', { purpose });
    if (
      !answer ||
      typeof answer.challenge !== 'string' ||
      typeof answer.chainId !== 'string' ||
      answer.purpose !== purpose
    ) {
      throw new LatchkeyError('SESSION_INVALID_RESPONSE', `The server answered no ${purpose} challenge.`);
    }
    return answer;
  }

  /**
   * Has the wallet's server evaluate a blinded PIN (POST /api/wallets/{address}/pin/evaluate):
   * `blindedElement` is the 32 bytes (or their base64url) from the vault's blind, `keyId`
   * the OPRF key an envelope names (default: the server's current one). Counted as one
   * attempt; works before the wallet is stored. 423 PIN_LOCKED (with `retryAfterSeconds`
   * and `lockedUntil`), 400 INVALID_OPRF_ELEMENT / UNKNOWN_OPRF_KEY, 429 RATE_LIMITED.
   * Most code wants `unlockOwnerKeyWithPin` / `unlockSessionKeyWithPin`, which call this.
   */
  async pinEvaluate(address: string, blindedElement: Uint8Array | string, keyId?: string): Promise<PinEvaluation> {
    const element = blindedElement instanceof Uint8Array ? toBase64Url(blindedElement) : blindedElement;
    if (typeof element !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(element)) {
      throw new LatchkeyError('INVALID_OPRF_ELEMENT', 'A blinded element is 32 bytes (43 characters of base64url).');
    }
    const body: Record<string, unknown> = { blindedElement: element };
    if (keyId !== undefined) body.keyId = keyId;
    const answer = await this.request<PinEvaluation>('POST', `/api/wallets/${enc(address)}/pin/evaluate`, body);
    const c = answer?.challenge;
    if (
      !answer ||
      typeof answer.evaluatedElement !== 'string' ||
      typeof answer.keyId !== 'string' ||
      typeof answer.attemptsRemaining !== 'number' ||
      !c ||
      typeof c.challenge !== 'string' ||
      typeof c.chainId !== 'string' ||
      c.purpose !== 'pin-unlock'
    ) {
      throw new LatchkeyError('SESSION_INVALID_RESPONSE', 'The server answered no PIN evaluation.');
    }
    return answer;
  }

  /**
   * Proves to the server that `signer` (the wallet's owner key, or one of its registered
   * session keys) was unlocked after `challenge` (a PIN evaluation's) was issued: a
   * pin-unlock signature over the signer's own public key (POST …/pin/confirm). Resets the
   * wallet's attempt counter; returns it.
   */
  async pinConfirm(address: string, signer: OwnerSigner | SessionSigner, challenge: Challenge): Promise<PinStatus> {
    await init();
    if (challenge?.purpose !== 'pin-unlock') {
      throw new LatchkeyError('INVALID_INPUT', 'Invalid input: a pin-unlock challenge (from pinEvaluate) is required.');
    }
    const account = normalizeFelt(address);
    if (normalizeFelt(signer.account) !== account) {
      throw new LatchkeyError('INVALID_INPUT', `Invalid input: the key signs for ${signer.account}, not for ${address}.`);
    }
    const publicKey = normalizeFelt(signer.publicKey);
    const body: Record<string, unknown> = {};
    if (signer instanceof SessionSigner) {
      body.publicKey = publicKey;
      body.proof = { challenge: challenge.challenge, signature: signer.signProof(challenge.chainId, 'pin-unlock', challenge.challenge, publicKey, account) };
    } else if (signer instanceof OwnerSigner) {
      body.proof = { challenge: challenge.challenge, signature: signer.signProof(challenge.chainId, 'pin-unlock', challenge.challenge, publicKey) };
    } else {
      throw new LatchkeyError('INVALID_INPUT', 'Invalid input: an unlocked OwnerSigner or SessionSigner is required.');
    }
    return this.request<PinStatus>('POST', `/api/wallets/${enc(address)}/pin/confirm`, body);
  }

  /** The wallet's PIN attempt counter (GET /api/wallets/{address}/pin). */
  pinStatus(address: string): Promise<PinStatus> {
    return this.request<PinStatus>('GET', `/api/wallets/${enc(address)}/pin`);
  }

  /**
   * Creates the owner key locally, sealed with `secret` (a PIN: lk2, evaluated by this
   * server for the new wallet's address; `format: 'lk1'` seals offline), then the wallet
   * on the server, with the owner key's proof of possession (signed in WebAssembly memory;
   * the key is freed before this returns), then proves the PIN's unlock.
   */
  async createWallet(opts: { secret: Secret; externalUserId?: string; format?: KeyFormat }): Promise<Wallet> {
    refuseChipiFormat(opts?.format);
    const config = await this.config();
    const { owner, challenge: unlock } = await newOwnerKey(opts.secret, {
      classHash: config.accountClassHash,
      format: opts.format,
      kdf: this.#kdf,
      client: this,
    });
    try {
      const address = owner.account;
      const body: Record<string, unknown> = {
        ownerPublicKey: owner.publicKey,
        encryptedPrivateKey: owner.encryptedPrivateKey,
      };
      const challenge = await this.challenge('create-wallet');
      body.proof = owner.prove(challenge, owner.encryptedPrivateKey as string);
      if (opts.externalUserId !== undefined) body.externalUserId = opts.externalUserId;
      const wallet = await this.request<Wallet>('POST', '/api/wallets', body);
      if (normalizeFelt(wallet.address) !== normalizeFelt(address)) {
        throw new LatchkeyError(
          'SESSION_INVALID_RESPONSE',
          `The server created the wallet at ${wallet.address}, not at ${address} as the owner key implies.`,
        );
      }
      if (unlock) {
        // The evaluation that sealed the key is proved now that the wallet exists; if this
        // fails, it stays counted until the next proved unlock.
        await this.pinConfirm(address, owner, unlock).catch(() => undefined);
      }
      return wallet;
    } finally {
      owner.free();
    }
  }

  listWallets(): Promise<Wallet[]> {
    return this.request<Wallet[]>('GET', '/api/wallets');
  }

  getWallet(address: string): Promise<Wallet> {
    return this.request<Wallet>('GET', `/api/wallets/${enc(address)}`);
  }

  /**
   * A wallet's stored encrypted owner key (GET /api/wallets/{address}/encrypted-key). An
   * organisation's read is recorded in the key history. `backup: true` gives the backup
   * blob, to the wallet's own end user only.
   */
  getEncryptedKey(address: string, opts: { backup?: boolean } = {}): Promise<EncryptedKey> {
    const query = opts.backup ? '?backup=true' : '';
    return this.request<EncryptedKey>('GET', `/api/wallets/${enc(address)}/encrypted-key${query}`);
  }

  /**
   * Replaces what the server stores for the wallet's owner key, proved by the owner key
   * itself (PUT /api/wallets/{address}/encrypted-key). With `{ secret }` the held key is
   * sealed again here, so the new blob is sure to hold it (a new PIN, say: lk2, evaluated
   * by this server, unless `format` is 'lk1'); with blobs, each must be a latchkey
   * envelope (the native API refuses Chipi ciphertexts). A backup that is not given is removed. The previous
   * blobs stay restorable from `keyHistory`.
   */
  async replaceEncryptedKey(address: string, owner: OwnerSigner, next: KeyReplacement): Promise<EncryptedKey> {
    await init();
    this.#checkOwner(address, owner);
    let primary: string;
    let backup: string | undefined;
    let unlock: Challenge | null = null;
    if (next && typeof next === 'object' && 'secret' in next) {
      refuseChipiFormat(next.format);
      const seal = async (secret: Secret): Promise<string> => {
        if (!isPinSecret(secret) || next.format === 'lk1') {
          return owner.seal(secret, { format: next.format, kdf: this.#kdf });
        }
        refuseWeakPin(secret);
        const { pin, evaluation } = await evaluatePin(this, address, secret);
        try {
          const sealed = await pin.seal(coreOf(owner), { kdf: this.#kdf });
          unlock = evaluation.challenge;
          return sealed;
        } finally {
          pin.free();
        }
      };
      if (next.backupSecret !== undefined) refuseWeakPin(next.backupSecret);
      primary = await seal(next.secret);
      backup = next.backupSecret === undefined ? undefined : await seal(next.backupSecret);
    } else if (next && typeof next === 'object' && typeof next.encryptedPrivateKey === 'string') {
      primary = next.encryptedPrivateKey;
      backup = next.encryptedPrivateKeyBackup;
      for (const [name, blob] of [['encryptedPrivateKey', primary], ['encryptedPrivateKeyBackup', backup]] as const) {
        if (blob === undefined) continue;
        const format = typeof blob === 'string' ? encryptedKeyFormat(blob) : undefined;
        if (format === undefined) {
          throw new LatchkeyError('INVALID_ENCRYPTED_KEY', `Refusing to store ${name}: it is not an encrypted key (lk2 or lk1).`);
        }
        if (format === 'chipi') {
          throw new LatchkeyError('INVALID_ENCRYPTED_KEY', `Refusing to store ${name}: ${CHIPI_ON_NATIVE}`);
        }
      }
    } else {
      throw new LatchkeyError('INVALID_INPUT', 'Invalid input: give { secret } or { encryptedPrivateKey } to replace the stored key.');
    }
    const challenge = await this.challenge('replace-key');
    const body: Record<string, unknown> = {
      encryptedPrivateKey: primary,
      proof: owner.prove(challenge, `${primary}\n${backup ?? ''}`),
    };
    if (backup !== undefined) body.encryptedPrivateKeyBackup = backup;
    const stored = await this.request<EncryptedKey>('PUT', `/api/wallets/${enc(address)}/encrypted-key`, body);
    if (unlock) {
      // The held key proves the evaluations of the new PINs; if this fails they stay counted.
      await this.pinConfirm(address, owner, unlock).catch(() => undefined);
    }
    return stored;
  }

  /** The custody events of a wallet's stored key: reads, replacements and restores. */
  keyHistory(address: string): Promise<KeyEvent[]> {
    return this.request<KeyEvent[]>('GET', `/api/wallets/${enc(address)}/key-history`);
  }

  /** Restores the blobs that custody event `eventId` replaced, proved by the owner key. */
  async restoreKey(address: string, eventId: string, owner: OwnerSigner): Promise<EncryptedKey> {
    await init();
    this.#checkOwner(address, owner);
    if (typeof eventId !== 'string' || eventId === '') {
      throw new LatchkeyError('INVALID_INPUT', 'Invalid input: give the id of a key-history event.');
    }
    const challenge = await this.challenge('restore-key');
    return this.request<EncryptedKey>('POST', `/api/wallets/${enc(address)}/key-history/${enc(eventId)}/restore`, {
      proof: owner.prove(challenge, eventId),
    });
  }

  #checkOwner(address: string, owner: OwnerSigner): void {
    if (!(owner instanceof OwnerSigner)) {
      throw new LatchkeyError('INVALID_INPUT', 'Invalid input: an unlocked OwnerSigner of the wallet is required.');
    }
    if (normalizeFelt(owner.account) !== normalizeFelt(address)) {
      throw new LatchkeyError('INVALID_INPUT', `Invalid input: the key owns ${owner.account}, not ${address}.`);
    }
  }

  listSessions(address: string): Promise<Session[]> {
    return this.request<Session[]>('GET', `/api/wallets/${enc(address)}/sessions`);
  }

  /** A session's status; a session the server does not know → SESSION_NOT_REGISTERED. */
  async getSession(address: string, sessionPublicKey: string): Promise<Session> {
    try {
      return await this.request<Session>('GET', `/api/wallets/${enc(address)}/sessions/${enc(sessionPublicKey)}`);
    } catch (e) {
      if (e instanceof LatchkeyError && e.serverCode === 'SESSION_NOT_FOUND') {
        throw new LatchkeyError('SESSION_NOT_REGISTERED', e.message, { status: e.status, serverCode: e.serverCode });
      }
      throw e;
    }
  }

  /** Typed data for `calls`, to sign. */
  prepare(address: string, calls: Call[]): Promise<Prepared> {
    const body = {
      calls: calls.map((c) => {
        const out: Record<string, unknown> = { to: c.to, calldata: (c.calldata ?? []).map(String) };
        if (c.entrypoint !== undefined) out.entrypoint = c.entrypoint;
        if (c.selector !== undefined) out.selector = c.selector;
        return out;
      }),
    };
    return this.request<Prepared>('POST', `/api/wallets/${enc(address)}/prepare`, body);
  }

  /** Submits a signed execution and waits for its final status (no throw on a failed status). */
  submit(address: string, typedData: TypedData, signature: string[]): Promise<Execution> {
    return this.request<Execution>('POST', `/api/wallets/${enc(address)}/execute?wait=true`, { typedData, signature });
  }

  /** Checks prepared typed data against what was asked, then signs and submits it. */
  async #signAndSubmit(
    address: string,
    signer: OwnerSigner | SessionSigner,
    prepared: Prepared,
    expected: NormalizedCall[] | ((calls: NormalizedCall[]) => string | null),
    what: string,
  ): Promise<Execution> {
    const account = normalizeFelt(address);
    if (normalizeFelt(signer.account) !== account) {
      throw new LatchkeyError('INVALID_INPUT', `Invalid input: the key signs for ${signer.account}, not for ${address}.`);
    }
    const config = await this.config();
    const view = decodeOutsideExecution(prepared.typedData);
    if (view.chainId !== config.chainId) throw unexpected(`chain ${view.chainId} instead of ${config.chainId}`);
    if (typeof expected === 'function') {
      const problem = expected(view.calls);
      if (problem) throw unexpected(problem);
    } else if (!sameCalls(view.calls, expected)) {
      throw unexpected('different calls');
    }
    if (view.executeBefore <= nowSeconds()) throw unexpected('an execution that has already expired');
    if (normalizeFelt(messageHash(prepared.typedData, account)) !== normalizeFelt(prepared.messageHash)) {
      throw unexpected('a message hash that does not match its typed data');
    }
    const signature = signer.signTypedData(prepared.typedData);
    return expectSucceeded(await this.submit(address, prepared.typedData, signature), what);
  }

  /**
   * Executes `calls` gaslessly: prepare, check that the prepared calls are exactly these,
   * sign (owner or session), execute and wait. Throws unless the final status is `succeeded`.
   */
  async execute(address: string, signer: OwnerSigner | SessionSigner, calls: Call[]): Promise<Execution> {
    await init();
    if (!Array.isArray(calls) || calls.length === 0) {
      throw new LatchkeyError('INVALID_INPUT', 'Invalid input: give at least one call.');
    }
    const expected = calls.map(normalizedCall);
    if (signer instanceof SessionSigner && signer.validUntil < nowSeconds()) {
      throw new LatchkeyError('SESSION_EXPIRED', 'Session has expired. Create a new session key.');
    }
    const prepared = await this.prepare(address, calls);
    return this.#signAndSubmit(address, signer, prepared, expected, 'The execution');
  }

  /** Registers a session on the wallet, signed by the owner; waits for it on chain. */
  async registerSession(address: string, owner: OwnerSigner, terms: SessionTerms): Promise<Execution> {
    await init();
    const body: Record<string, unknown> = {
      sessionPublicKey: terms.sessionPublicKey,
      validUntil: terms.validUntil,
      maxCalls: terms.maxCalls,
    };
    if (terms.validAfter !== undefined) body.validAfter = terms.validAfter;
    if (terms.allowedMethods !== undefined) body.allowedMethods = terms.allowedMethods;
    if (terms.allowAll !== undefined) body.allowAll = terms.allowAll;
    if (terms.spendingCaps !== undefined) body.spendingCaps = terms.spendingCaps;
    const prepared = await this.request<Prepared>('POST', `/api/wallets/${enc(address)}/sessions`, body);
    const account = normalizeFelt(address);
    const key = normalizeFelt(terms.sessionPublicKey);
    const register = selectorFromName('register_session');
    const setPolicy = selectorFromName('set_spending_policy');
    const methods = (terms.allowedMethods ?? []).map((m, i) =>
      normalizedCall({ to: m.contract, entrypoint: m.entrypoint, selector: m.selector }, i),
    );
    return this.#signAndSubmit(
      address,
      owner,
      prepared,
      (calls) => {
        const [first, ...rest] = calls;
        if (!first || first.to !== account || first.selector !== register) return 'not a register_session call';
        const d = first.calldata;
        const n = Number(BigInt(d[4] ?? '0x0'));
        if (
          d[0] !== key ||
          BigInt(d[2] ?? -1) !== BigInt(terms.validUntil) ||
          BigInt(d[3] ?? -1) !== BigInt(terms.maxCalls) ||
          d.length !== 5 + 2 * n
        ) {
          return 'a session with different terms';
        }
        if (!terms.allowAll) {
          if (n !== methods.length) return 'a different allowlist';
          for (let i = 0; i < n; i++) {
            if (d[5 + 2 * i] !== methods[i].to || d[6 + 2 * i] !== methods[i].selector) return 'a different allowlist';
          }
        }
        if (rest.length !== (terms.spendingCaps ?? []).length) return 'different spending caps';
        if (rest.some((c) => c.to !== account || c.selector !== setPolicy || c.calldata[0] !== key)) {
          return 'an unexpected extra call';
        }
        return null;
      },
      'The session registration',
    );
  }

  /** Revokes one session, signed by the owner; waits for it on chain. */
  async revokeSession(address: string, owner: OwnerSigner, sessionPublicKey: string): Promise<Execution> {
    await init();
    const prepared = await this.request<Prepared>(
      'POST',
      `/api/wallets/${enc(address)}/sessions/${enc(sessionPublicKey)}/revoke`,
    );
    const expected: NormalizedCall[] = [
      { to: normalizeFelt(address), selector: selectorFromName('revoke_session_key'), calldata: [normalizeFelt(sessionPublicKey)] },
    ];
    return this.#signAndSubmit(address, owner, prepared, expected, 'The revocation');
  }

  /** Revokes every session of the wallet, signed by the owner. */
  async revokeAllSessions(address: string, owner: OwnerSigner): Promise<Execution> {
    await init();
    const prepared = await this.request<Prepared>('POST', `/api/wallets/${enc(address)}/sessions/revoke-all`);
    const expected: NormalizedCall[] = [
      { to: normalizeFelt(address), selector: selectorFromName('revoke_all_sessions'), calldata: [] },
    ];
    return this.#signAndSubmit(address, owner, prepared, expected, 'The revocation');
  }

  transactions(opts: { walletAddress?: string; limit?: number; offset?: number } = {}): Promise<unknown[]> {
    const q = new URLSearchParams();
    if (opts.walletAddress) q.set('walletAddress', opts.walletAddress);
    if (opts.limit !== undefined) q.set('limit', String(opts.limit));
    if (opts.offset !== undefined) q.set('offset', String(opts.offset));
    const qs = q.toString();
    return this.request<unknown[]>('GET', `/api/transactions${qs ? `?${qs}` : ''}`);
  }

  sponsorship(): Promise<unknown> {
    return this.request<unknown>('GET', '/api/sponsorship');
  }

  /** The organisation's sponsorship policy (GET /api/sponsorship/policy; secret key only). */
  sponsorshipPolicy(): Promise<SponsorshipPolicy> {
    return this.request<SponsorshipPolicy>('GET', '/api/sponsorship/policy');
  }

  /** Replaces the organisation's sponsorship policy; returns it as stored. Methods may be given by entrypoint name. */
  async setSponsorshipPolicy(policy: SponsorshipPolicyInput): Promise<SponsorshipPolicy> {
    await init();
    if (policy === null || typeof policy !== 'object') {
      throw new LatchkeyError('INVALID_INPUT', 'Invalid input: a sponsorship policy is an object.');
    }
    const body: Record<string, unknown> = {
      allowedMethods: (policy.allowedMethods ?? []).map((m, i) => {
        const call = normalizedCall({ to: m.contract, entrypoint: m.entrypoint, selector: m.selector }, i);
        return { contract: call.to, selector: call.selector };
      }),
    };
    for (const field of ['maxFeePerTxFri', 'dailyGasPerWalletFri', 'dailyGasPerUserFri', 'revertCooldownAfter', 'revertCooldownSeconds'] as const) {
      if (policy[field] !== undefined) body[field] = policy[field];
    }
    return this.request<SponsorshipPolicy>('PUT', '/api/sponsorship/policy', body);
  }

  /** The organisation's end-user token issuer, or null when none is configured (secret key only). */
  async tokenIssuer(): Promise<TokenIssuer | null> {
    return (await this.request<TokenIssuer | null>('GET', '/api/organization/token-issuer')) ?? null;
  }

  /** Sets where the organisation's end-user tokens come from (409 TOKEN_ISSUER_IN_USE if another organisation has this issuer and audience). */
  setTokenIssuer(issuer: TokenIssuer): Promise<TokenIssuer> {
    const body = { jwksUrl: issuer?.jwksUrl, issuer: issuer?.issuer, audience: issuer?.audience };
    return this.request<TokenIssuer>('PUT', '/api/organization/token-issuer', body);
  }

  /** Removes the organisation's token issuer: end-user tokens are refused from then on. */
  async deleteTokenIssuer(): Promise<void> {
    await this.request('DELETE', '/api/organization/token-issuer');
  }

  /** The browser origins allowed to call the API with the organisation's keys (secret key only). */
  async allowedOrigins(): Promise<string[]> {
    return (await this.request<{ origins: string[] }>('GET', '/api/organization/allowed-origins')).origins;
  }

  /** Replaces the allowed browser origins (exact `scheme://host[:port]`); returns them as stored, normalised. */
  async setAllowedOrigins(origins: string[]): Promise<string[]> {
    const body = { origins };
    return (await this.request<{ origins: string[] }>('PUT', '/api/organization/allowed-origins', body)).origins;
  }

  /** The end user's stored session (GET /api/me/session), or null. */
  async getMySession(): Promise<StoredSession | null> {
    try {
      return await this.request<StoredSession>('GET', '/api/me/session');
    } catch (e) {
      if (e instanceof LatchkeyError && e.status === 404) return null;
      throw e;
    }
  }

  /**
   * Stores the end user's session (PUT /api/me/session), with the session key's proof of
   * possession: `prove` is the record's `SessionSigner` (still unlocked) or a
   * `SessionProver` (`sessionProver(signer, session)`). The proof names `walletAddress`,
   * or `0x0` without one. Refuses plaintext keys before any request.
   */
  async putMySession(session: SessionKeyData, prove: SessionSigner | SessionProver, walletAddress?: string): Promise<StoredSession> {
    await init();
    assertEncryptedSession(session);
    const prover = prove instanceof SessionSigner ? sessionProver(prove, session) : prove;
    if (typeof prover !== 'function') {
      throw new LatchkeyError(
        'INVALID_INPUT',
        "Invalid input: storing a session needs its key's proof: pass the SessionSigner or a SessionProver.",
      );
    }
    const record = { publicKey: session.publicKey, encryptedPrivateKey: session.encryptedPrivateKey, validUntil: session.validUntil };
    const account = walletAddress === undefined ? '0x0' : normalizeFelt(walletAddress);
    const challenge = await this.challenge('store-session');
    const body: Record<string, unknown> = { session: record, proof: prover(challenge, account) };
    if (walletAddress !== undefined) body.walletAddress = walletAddress;
    return this.request<StoredSession>('PUT', '/api/me/session', body);
  }

  /** Deletes the end user's stored session (absent is fine). */
  async deleteMySession(): Promise<void> {
    try {
      await this.request('DELETE', '/api/me/session');
    } catch (e) {
      if (e instanceof LatchkeyError && e.status === 404) return;
      throw e;
    }
  }
}
