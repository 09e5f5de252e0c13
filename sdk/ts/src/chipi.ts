/**
 * `ChipiClient`: the Chipi v1 dialect (`/v1/...`, as `@chipi-stack/backend` speaks it),
 * with keys kept on the client in the Chipi format, for apps moving over from the Chipi
 * SDK. New code should prefer `LatchkeyClient`.
 */
import { normalizedCall, sameCalls, unexpected, type Call, type Session } from './client.js';
import { LatchkeyError } from './errors.js';
import { Http, enc, type FetchLike, type TokenSource } from './http.js';
import {
  DEFAULT_SESSION_SECONDS,
  createOwnerKey,
  createSessionKey,
  decodeOutsideExecution,
  normalizeFelt,
  nowSeconds,
  selectorFromName,
  unlockOwnerKey,
  unlockSessionKey,
  type OwnerSigner,
  type SessionKeyData,
  type TypedData,
} from './keys.js';
import { init } from './wasm.js';

/** The API version date the Chipi SDK sends with every request. */
export const CHIPI_API_VERSION = '2025-12-30';

export interface ChipiClientOptions {
  /** Server origin (any trailing `/vN` is replaced by `/v1`); '' = same origin. */
  url?: string;
  /** `pk_…`, sent as `x-api-key`. */
  apiPublicKey: string;
  /** `sk_…`, the bearer on servers. */
  apiSecretKey?: string;
  /** An end user's JWT, the bearer in browsers. */
  getBearerToken?: TokenSource;
  fetch?: FetchLike;
}

/** A wallet as the Chipi dialect returns it (`publicKey` is the account address). */
export interface ChipiWallet {
  id?: string;
  externalUserId: string;
  publicKey: string;
  encryptedPrivateKey: string;
  walletType?: string;
  isDeployed?: boolean;
  /** The owner public key (known to this client when it created the wallet). */
  ownerPublicKey?: string;
  [field: string]: unknown;
}

/** What the owner needs to sign: the wallet and its owner public key. */
export interface ChipiOwnerWallet {
  publicKey: string;
  encryptedPrivateKey: string;
  ownerPublicKey: string;
}

/** The Chipi SDK's session status shape, read from latchkey's server (no RPC needed). */
export interface ChipiSessionData {
  isActive: boolean;
  validUntil: number;
  remainingCalls: number;
  allowedEntrypoints: string[];
}

type SdkCall = { contractAddress: string; entrypoint: string; calldata: string[] };

function chipiBase(url: string | undefined): string {
  const clean = (url ?? '').replace(/\/v\d+\/?$/, '').replace(/\/$/, '');
  return `${clean}/v1`;
}

function toSdkCall(call: Call, i: number): SdkCall {
  if (typeof call.entrypoint !== 'string' || call.entrypoint === '') {
    throw new LatchkeyError('INVALID_INPUT', `Invalid input: calls[${i}] needs an entrypoint name in the Chipi dialect.`);
  }
  return { contractAddress: call.to, entrypoint: call.entrypoint, calldata: (call.calldata ?? []).map(String) };
}

export class ChipiClient {
  readonly #http: Http;
  readonly #origin: string;

  constructor(opts: ChipiClientOptions) {
    this.#origin = (opts.url ?? '').replace(/\/v\d+\/?$/, '').replace(/\/$/, '');
    this.#http = new Http({
      base: chipiBase(opts.url),
      publicKey: opts.apiPublicKey,
      secretKey: opts.apiSecretKey,
      getBearerToken: opts.getBearerToken,
      fetch: opts.fetch,
      query: { __chipi_api_version: CHIPI_API_VERSION },
    });
  }

  async #accountClassHash(classHash?: string): Promise<string> {
    if (classHash) return classHash;
    // latchkey serves its account class at /api/config.
    const config = await new Http({ base: this.#origin, publicKey: this.#http.publicKey, fetch: this.#http.fetcher }).json<{
      accountClassHash: string;
    }>('GET', '/api/config');
    return config.accountClassHash;
  }

  /** Creates a CHIPI wallet: owner key made here (Chipi format, sealed with `encryptKey`), signed creation. */
  async createWallet(opts: { encryptKey: string; externalUserId: string; classHash?: string }): Promise<ChipiWallet> {
    await init();
    const classHash = await this.#accountClassHash(opts.classHash);
    const secret = { pin: opts.encryptKey };
    const key = await createOwnerKey(secret, { classHash, format: 'chipi' });
    const prepared = await this.#http.json<{ typedData: TypedData }>('POST', '/chipi-wallets/prepare-creation', {
      chain: 'STARKNET',
      publicKey: key.address,
      walletType: 'CHIPI',
      starkKeyPubAX: key.publicKey,
      classHash,
    });
    const owner = await unlockOwnerKey(key.encryptedPrivateKey, secret, key);
    let signature;
    try {
      signature = owner.signTypedDataDetailed(prepared.typedData);
    } finally {
      owner.free();
    }
    const wallet = await this.#http.json<ChipiWallet>('POST', '/chipi-wallets', {
      externalUserId: opts.externalUserId,
      publicKey: key.address,
      walletType: 'CHIPI',
      chain: 'STARKNET',
      userSignature: { r: signature.rDecimal, s: signature.sDecimal },
      typedData: prepared.typedData,
      encryptedPrivateKey: key.encryptedPrivateKey,
      deploymentData: { class_hash: classHash, salt: key.publicKey, unique: '0x0', calldata: [key.publicKey] },
    });
    return { ...wallet, ownerPublicKey: key.publicKey };
  }

  /** The wallet of `externalUserId`, or null. */
  async getWallet(externalUserId: string): Promise<ChipiWallet | null> {
    try {
      return await this.#http.json<ChipiWallet>('GET', `/chipi-wallets/by-user?externalUserId=${enc(externalUserId)}`);
    } catch (e) {
      if (e instanceof LatchkeyError && e.status === 404) return null;
      throw e;
    }
  }

  /** A session key in the Chipi format (what `@chipi-stack/backend`'s createSessionKey returns). */
  async createSessionKey(opts: { encryptKey: string; walletAddress?: string; durationSeconds?: number }): Promise<SessionKeyData> {
    const { data, signer } = await createSessionKey(
      { pin: opts.encryptKey },
      { account: opts.walletAddress ?? '0x0', durationSeconds: opts.durationSeconds ?? DEFAULT_SESSION_SECONDS, format: 'chipi' },
    );
    signer.free();
    return data;
  }

  /** prepare-typed-data, checked against `calls`. */
  async #prepare(address: string, calls: Call[], session: boolean): Promise<TypedData> {
    const body: Record<string, unknown> = { publicKey: address, calls: calls.map(toSdkCall) };
    if (session) body.walletType = 'CHIPI';
    const answer = await this.#http.json<{ typedData?: TypedData } & Partial<TypedData>>('POST', '/transactions/prepare-typed-data', body);
    const typedData = (answer.typedData ?? answer) as TypedData;
    const view = decodeOutsideExecution(typedData);
    if (!sameCalls(view.calls, calls.map(normalizedCall))) throw unexpected('different calls');
    if (view.executeBefore <= nowSeconds()) throw unexpected('an execution that has already expired');
    return typedData;
  }

  async #submit(address: string, typedData: TypedData, userSignature: unknown, session: boolean): Promise<string> {
    const body: Record<string, unknown> = {
      publicKey: address,
      typedData,
      userSignature,
      saveToDatabase: session,
      walletType: 'CHIPI',
    };
    if (session) body.isSessionSignature = true;
    const answer = await this.#http.json<{ transactionHash?: string; message?: string }>(
      'POST',
      '/transactions/execute-sponsored-transaction',
      body,
    );
    if (!answer?.transactionHash) {
      throw new LatchkeyError('SESSION_INVALID_RESPONSE', answer?.message ?? 'The server returned no transaction hash.');
    }
    return answer.transactionHash;
  }

  /** Executes `calls` with a session key: prepare, check, sign `[pub, r, s, validUntil]`, execute. */
  async executeWithSession(opts: { encryptKey: string; wallet: { publicKey: string }; session: SessionKeyData; calls: Call[] }): Promise<string> {
    await init();
    const address = opts.wallet.publicKey;
    const signer = await unlockSessionKey(opts.session, { pin: opts.encryptKey }, address);
    try {
      if (signer.validUntil < nowSeconds()) {
        throw new LatchkeyError('SESSION_EXPIRED', 'Session has expired. Create a new session key.');
      }
      const typedData = await this.#prepare(address, opts.calls, true);
      return await this.#submit(address, typedData, signer.signTypedData(typedData), true);
    } finally {
      signer.free();
    }
  }

  /** Executes `calls` signed by the owner key. */
  async executeTransaction(opts: { encryptKey: string; wallet: ChipiOwnerWallet; calls: Call[] }): Promise<string> {
    await init();
    const address = opts.wallet.publicKey;
    const owner = await unlockOwnerKey(opts.wallet.encryptedPrivateKey, { pin: opts.encryptKey }, address, opts.wallet.ownerPublicKey);
    try {
      return await this.#ownerExecute(owner, opts.calls);
    } finally {
      owner.free();
    }
  }

  async #ownerExecute(owner: OwnerSigner, calls: Call[]): Promise<string> {
    const typedData = await this.#prepare(owner.account, calls, false);
    const sig = owner.signTypedDataDetailed(typedData);
    return this.#submit(owner.account, typedData, { r: sig.rDecimal, s: sig.sDecimal }, false);
  }

  /** Registers a session (`add_or_update_session_key`), owner-signed. */
  async addSessionKeyToContract(opts: {
    encryptKey: string;
    wallet: ChipiOwnerWallet;
    sessionConfig: { sessionPublicKey: string; validUntil: number; maxCalls: number; allowedEntrypoints?: string[] };
  }): Promise<string> {
    const c = opts.sessionConfig;
    const entrypoints = (c.allowedEntrypoints ?? []).map((e) => (e.startsWith('0x') ? normalizeFelt(e) : selectorFromName(e)));
    return this.executeTransaction({
      encryptKey: opts.encryptKey,
      wallet: opts.wallet,
      calls: [
        {
          to: opts.wallet.publicKey,
          entrypoint: 'add_or_update_session_key',
          calldata: [
            c.sessionPublicKey,
            '0x' + c.validUntil.toString(16),
            '0x' + c.maxCalls.toString(16),
            '0x' + entrypoints.length.toString(16),
            ...entrypoints,
          ],
        },
      ],
    });
  }

  /** Revokes a session (`revoke_session_key`), owner-signed. */
  async revokeSessionKey(opts: { encryptKey: string; wallet: ChipiOwnerWallet; sessionPublicKey: string }): Promise<string> {
    return this.executeTransaction({
      encryptKey: opts.encryptKey,
      wallet: opts.wallet,
      calls: [{ to: opts.wallet.publicKey, entrypoint: 'revoke_session_key', calldata: [opts.sessionPublicKey] }],
    });
  }

  /** A session's status from latchkey's server (GET /api/wallets/{a}/sessions/{key}), in the Chipi SDK's shape. */
  async getSessionData(walletAddress: string, sessionPublicKey: string): Promise<ChipiSessionData> {
    const native = new Http({ base: this.#origin, publicKey: this.#http.publicKey, secretKey: this.#http.secretKey, getBearerToken: this.#http.tokenSource, fetch: this.#http.fetcher });
    try {
      const s = await native.json<Session>('GET', `/api/wallets/${enc(walletAddress)}/sessions/${enc(sessionPublicKey)}`);
      return { isActive: s.isActive, validUntil: s.validUntil, remainingCalls: s.remainingCalls, allowedEntrypoints: s.allowedMethods.map((m) => m.selector) };
    } catch (e) {
      if (e instanceof LatchkeyError && e.status === 404) {
        return { isActive: false, validUntil: 0, remainingCalls: 0, allowedEntrypoints: [] };
      }
      throw e;
    }
  }
}
