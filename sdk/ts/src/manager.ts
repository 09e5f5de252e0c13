/**
 * `SessionManager`: one wallet's session key through its life — created and sealed,
 * registered by the owner, used without the secret, revoked, cleared. Framework-free;
 * `subscribe` feeds any UI (the React hook uses it).
 */
import type { AllowedMethodInput, Call, Execution, LatchkeyClient, Session, SpendingCapInput } from './client.js';
import { LatchkeyError } from './errors.js';
import {
  DEFAULT_SESSION_SECONDS,
  SessionSigner,
  createSessionKey,
  nowSeconds,
  sessionProver,
  type KdfOption,
  type KeyFormat,
  type OwnerSigner,
  type Secret,
  type SessionKeyData,
  type WalletRef,
} from './keys.js';
import { memorySessionStorage, sessionRecord, type SessionStorageAdapter } from './storage.js';
import { unlockOwnerKeyWithPin, unlockSessionKeyWithPin, type PinUnlockOptions } from './unlock.js';
import { init } from './wasm.js';

export type SessionState = 'none' | 'created' | 'active' | 'expired' | 'revoked';

/** Default calls a registered session may make. */
export const DEFAULT_MAX_CALLS = 1000;

/**
 * The state of a local session given the server's status (Unix seconds; `validUntil` is
 * inclusive). A status of another key is ignored.
 */
export function deriveSessionState(
  session: SessionKeyData | null,
  status: Session | null,
  now: number = nowSeconds(),
): SessionState {
  if (!session) return 'none';
  const past = (t: number) => t < now;
  if (status && samePublicKey(status.sessionPublicKey, session.publicKey)) {
    switch (status.state) {
      case 'revoked':
        return 'revoked';
      case 'expired':
      case 'exhausted':
        return 'expired';
      case 'active':
      case 'scheduled':
        if (past(status.validUntil) || status.remainingCalls <= 0) return 'expired';
        return status.state === 'active' ? 'active' : 'created';
      default:
        // pending or failed: not (yet) registered.
        return past(session.validUntil) ? 'expired' : 'created';
    }
  }
  return past(session.validUntil) ? 'expired' : 'created';
}

function samePublicKey(a: string, b: string): boolean {
  try {
    return BigInt(a) === BigInt(b);
  } catch {
    return a === b;
  }
}

export interface SessionManagerOptions {
  client: LatchkeyClient;
  wallet: WalletRef;
  storage?: SessionStorageAdapter;
  defaultDurationSeconds?: number;
  defaultMaxCalls?: number;
  /**
   * Format of new session keys: lk2 (default for a PIN: evaluated by the client's server),
   * lk1 (offline: a copy can be attacked offline) or chipi.
   */
  format?: KeyFormat;
  /** Argon2id cost of new session keys and of re-sealed ones (default: the client's, else 'current'). */
  kdf?: KdfOption;
  /** Told of what failed after a key opened (the unlock's proof, storing a re-sealed key); see `PinUnlockOptions`. */
  onBackgroundError?: PinUnlockOptions['onBackgroundError'];
}

export interface RegisterOptions {
  allowedMethods?: AllowedMethodInput[];
  allowAll?: boolean;
  maxCalls?: number;
  validUntil?: number;
  validAfter?: number;
  spendingCaps?: SpendingCapInput[];
}

/** An immutable view of the manager, new on every change (for `useSyncExternalStore`). */
export interface SessionSnapshot {
  state: SessionState;
  session: SessionKeyData | null;
  status: Session | null;
  remainingCalls: number | null;
  unlocked: boolean;
}

export class SessionManager {
  readonly client: LatchkeyClient;
  readonly wallet: WalletRef;
  readonly storage: SessionStorageAdapter;
  readonly defaultDurationSeconds: number;
  readonly defaultMaxCalls: number;
  readonly #format: KeyFormat | undefined;
  readonly #kdf: KdfOption | undefined;
  readonly #onBackgroundError: PinUnlockOptions['onBackgroundError'];
  #session: SessionKeyData | null = null;
  #signer: SessionSigner | null = null;
  #status: Session | null = null;
  #ownerPublicKey: string | undefined;
  #ownerEncrypted: string | undefined;
  #hasBackup: boolean | undefined;
  #listeners = new Set<() => void>();
  #snapshot: SessionSnapshot | null = null;

  constructor(opts: SessionManagerOptions) {
    if (!opts?.client) throw new LatchkeyError('INVALID_INPUT', 'Invalid input: a LatchkeyClient is required.');
    if (!opts.wallet || typeof opts.wallet.address !== 'string') {
      throw new LatchkeyError('INVALID_INPUT', 'Invalid input: a wallet { address } is required.');
    }
    this.client = opts.client;
    this.wallet = opts.wallet;
    this.storage = opts.storage ?? memorySessionStorage();
    this.defaultDurationSeconds = opts.defaultDurationSeconds ?? DEFAULT_SESSION_SECONDS;
    this.defaultMaxCalls = opts.defaultMaxCalls ?? DEFAULT_MAX_CALLS;
    this.#format = opts.format;
    this.#kdf = opts.kdf;
    this.#onBackgroundError = opts.onBackgroundError;
    this.#ownerPublicKey = opts.wallet.ownerPublicKey;
    this.#ownerEncrypted = opts.wallet.encryptedPrivateKey;
    this.#hasBackup = opts.wallet.hasBackup;
  }

  get state(): SessionState {
    return deriveSessionState(this.#session, this.#status);
  }

  get session(): SessionKeyData | null {
    return this.#session ? sessionRecord(this.#session) : null;
  }

  get status(): Session | null {
    return this.#status;
  }

  get remainingCalls(): number | null {
    return this.#status && this.#session && samePublicKey(this.#status.sessionPublicKey, this.#session.publicKey)
      ? this.#status.remainingCalls
      : null;
  }

  /** Whether the session key is unlocked in memory (execute needs no secret). */
  get unlocked(): boolean {
    return this.#signer !== null && !this.#signer.freed;
  }

  /** The current state as one immutable object (same object until something changes). */
  snapshot(): SessionSnapshot {
    if (!this.#snapshot) {
      this.#snapshot = Object.freeze({
        state: this.state,
        session: this.session,
        status: this.#status,
        remainingCalls: this.remainingCalls,
        unlocked: this.unlocked,
      });
    }
    return this.#snapshot;
  }

  /** Calls `listener` after every change; returns the unsubscribe function. */
  subscribe(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  #changed(): void {
    this.#snapshot = null;
    for (const listener of [...this.#listeners]) {
      try {
        listener();
      } catch {
        // A listener's failure is its own.
      }
    }
  }

  #setSession(session: SessionKeyData | null, signer: SessionSigner | null): void {
    if (this.#signer && this.#signer !== signer) this.#signer.free();
    this.#signer = signer;
    this.#session = session ? sessionRecord(session) : null;
    this.#status = null;
  }

  /** Loads the stored session (if any) and refreshes its status. */
  async restore(): Promise<void> {
    await init();
    const stored = await this.storage.load();
    const same =
      stored && this.#session && samePublicKey(stored.publicKey, this.#session.publicKey) && stored.validUntil === this.#session.validUntil;
    if (!same) {
      this.#setSession(stored, null);
      this.#changed();
    }
    await this.refreshStatus();
  }

  /** Adopts a session record obtained elsewhere (locked until `unlock`). */
  async adopt(session: SessionKeyData | null): Promise<void> {
    await init();
    if (session && this.#session && samePublicKey(session.publicKey, this.#session.publicKey)) return;
    this.#setSession(session, null);
    this.#changed();
  }

  /** Fetches the server's status of the session (none when the server does not know it). */
  async refreshStatus(): Promise<void> {
    const session = this.#session;
    if (!session) {
      if (this.#status !== null) {
        this.#status = null;
        this.#changed();
      }
      return;
    }
    let status: Session | null;
    try {
      status = await this.client.getSession(this.wallet.address, session.publicKey);
    } catch (e) {
      if (!(e instanceof LatchkeyError && e.code === 'SESSION_NOT_REGISTERED')) throw e;
      status = null;
    }
    if (this.#session !== session) return; // replaced meanwhile
    this.#status = status;
    this.#changed();
  }

  /**
   * Creates a session key (sealed with `secret`: a PIN is lk2, evaluated by the client's
   * server, unless the manager's format says lk1), stores it and keeps it unlocked.
   */
  async createSession(secret: Secret, opts: { durationSeconds?: number } = {}): Promise<SessionKeyData> {
    const { data, signer } = await createSessionKey(secret, {
      account: this.wallet.address,
      durationSeconds: opts.durationSeconds ?? this.defaultDurationSeconds,
      format: this.#format,
      kdf: this.#kdf,
      client: this.client,
    });
    try {
      await this.storage.save(data, sessionProver(signer, data));
    } catch (e) {
      signer.free();
      throw e;
    }
    this.#setSession(data, signer);
    this.#changed();
    return sessionRecord(data);
  }

  /**
   * Unlocks the stored session key with `secret` (a PIN checked by the client's server for
   * lk2 and lk1 keys; an lk1 key is re-sealed as lk2 and stored again); execute then needs
   * no secret. A wrong PIN says how many attempts are left (`attemptsRemaining`).
   */
  async unlock(secret: Secret): Promise<void> {
    const session = this.#requireSession();
    const { signer, current } = await this.#unlockSession(session, secret);
    if (this.#session !== current) {
      signer.free();
      throw new LatchkeyError('SESSION_NOT_REGISTERED', 'The session changed while it was being unlocked.');
    }
    if (this.#signer) this.#signer.free();
    this.#signer = signer;
    this.#changed();
  }

  /**
   * Opens `session` through the server; a re-sealed record is stored and becomes the
   * session (`current`: the record the manager holds for it afterwards).
   */
  async #unlockSession(session: SessionKeyData, secret: Secret): Promise<{ signer: SessionSigner; current: SessionKeyData }> {
    let current = session;
    const signer = await unlockSessionKeyWithPin(this.client, session, secret, this.wallet.address, {
      kdf: this.#kdf,
      onBackgroundError: this.#onBackgroundError,
      onRewrap: async (data, prove) => {
        await this.storage.save(data, prove);
        if (this.#session === session) {
          current = sessionRecord(data);
          this.#session = current;
          this.#snapshot = null;
        }
      },
    });
    return { signer, current };
  }

  /** Registers the session on the wallet: the owner key is unlocked with `secret`, used once and freed. */
  async registerSession(secret: Secret, opts: RegisterOptions = {}): Promise<Execution> {
    const session = this.#requireSession();
    const execution = await this.#withOwner(secret, (owner) =>
      this.client.registerSession(this.wallet.address, owner, {
        sessionPublicKey: session.publicKey,
        validAfter: opts.validAfter,
        validUntil: opts.validUntil ?? session.validUntil,
        maxCalls: opts.maxCalls ?? this.defaultMaxCalls,
        allowedMethods: opts.allowedMethods,
        allowAll: opts.allowAll,
        spendingCaps: opts.spendingCaps,
      }),
    );
    if (!this.unlocked && this.#session === session) {
      // The same secret usually seals the session key too; if not, unlock() is needed later.
      try {
        this.#signer = (await this.#unlockSession(session, secret)).signer;
      } catch {
        this.#signer = null;
      }
    }
    await this.#refreshQuietly();
    return execution;
  }

  /** Executes `calls` with the session key (no secret once unlocked). */
  async execute(calls: Call[]): Promise<Execution> {
    const session = this.#requireSession();
    if (this.#status && samePublicKey(this.#status.sessionPublicKey, session.publicKey) && this.#status.state === 'revoked') {
      throw new LatchkeyError('SESSION_REVOKED', 'Session has been revoked. Create a new session key.');
    }
    const signer = this.#signer;
    if (!signer || signer.freed) {
      throw new LatchkeyError('SESSION_LOCKED', 'The session key is locked; call unlock(secret) first.');
    }
    try {
      return await this.client.execute(this.wallet.address, signer, calls);
    } finally {
      await this.#refreshQuietly();
    }
  }

  /** Revokes the session on chain (owner-signed). The local record stays until `clear`. */
  async revoke(secret: Secret): Promise<Execution> {
    const session = this.#requireSession();
    const execution = await this.#withOwner(secret, (owner) =>
      this.client.revokeSession(this.wallet.address, owner, session.publicKey),
    );
    await this.#refreshQuietly();
    return execution;
  }

  /** Forgets the session locally: frees the key and clears the storage. */
  async clear(): Promise<void> {
    this.#setSession(null, null);
    this.#changed();
    await this.storage.clear();
  }

  /** Revokes the session on chain if it is registered and not revoked, then clears it. */
  async logout(secret: Secret): Promise<void> {
    if (this.#session) {
      await this.refreshStatus();
      const status = this.#status;
      if (status && status.state !== 'revoked' && status.state !== 'pending' && status.state !== 'failed') {
        await this.revoke(secret);
      }
    }
    await this.clear();
  }

  /** Frees the keys without touching the storage (e.g. on unmount). */
  dispose(): void {
    this.#signer?.free();
    this.#signer = null;
    this.#listeners.clear();
  }

  #requireSession(): SessionKeyData {
    if (!this.#session) {
      throw new LatchkeyError('SESSION_NOT_REGISTERED', 'No session. Create a session key first.');
    }
    return this.#session;
  }

  /**
   * The encrypted owner key and the owner public key: from the wallet given, else from the
   * server (a wallet from a list carries no encrypted key).
   */
  async #ownerRecord(): Promise<{ encryptedPrivateKey: string; ownerPublicKey: string }> {
    let encrypted = this.#ownerEncrypted;
    if (typeof encrypted !== 'string' || !this.#ownerPublicKey) {
      const stored = await this.client.getWallet(this.wallet.address);
      this.#ownerPublicKey ??= stored.ownerPublicKey;
      this.#hasBackup ??= stored.hasBackup;
      if (typeof encrypted !== 'string') encrypted = stored.encryptedPrivateKey;
      this.#ownerEncrypted = encrypted;
    }
    if (typeof encrypted !== 'string') {
      throw new LatchkeyError('INVALID_INPUT', 'Invalid input: the wallet has no encryptedPrivateKey.');
    }
    return { encryptedPrivateKey: encrypted, ownerPublicKey: this.#ownerPublicKey as string };
  }

  /** The owner key, opened through the server for one action, then freed (an lk1 key is re-sealed as lk2 on the server). */
  async #withOwner<T>(secret: Secret, f: (owner: OwnerSigner) => Promise<T>): Promise<T> {
    const record = await this.#ownerRecord();
    const owner = await unlockOwnerKeyWithPin(
      this.client,
      { address: this.wallet.address, ...record, hasBackup: this.#hasBackup },
      secret,
      {
        kdf: this.#kdf,
        onBackgroundError: this.#onBackgroundError,
        onRewrap: (sealed) => {
          this.#ownerEncrypted = sealed;
        },
      },
    );
    try {
      return await f(owner);
    } finally {
      owner.free();
    }
  }

  async #refreshQuietly(): Promise<void> {
    try {
      await this.refreshStatus();
    } catch {
      // The status is informative; the action's own result stands.
    }
  }
}

