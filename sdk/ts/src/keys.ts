/**
 * Owner and session keys: created, sealed and unlocked inside the WebAssembly core. The
 * plaintext key never reaches JavaScript; signers expose only public data.
 */
import type {
  KeyFormat,
  OutsideExecutionView,
  OwnerSignature,
  SessionKeyData,
  TypedData,
} from './wasm/latchkey_wasm.js';
import type * as Core from './wasm/latchkey_wasm.js';
import { LatchkeyError, guard } from './errors.js';
import { init, wasm } from './wasm.js';

export type { KeyFormat, OutsideExecutionView, OwnerSignature, SessionKeyData, TypedData };
export type { NormalizedCall, TypedDataMember, JsonValue } from './wasm/latchkey_wasm.js';

/** What unlocks a key: a PIN or passphrase (UTF-8, used as typed) or a 32-byte WebAuthn PRF output. */
export type Secret = { pin: string } | { passphrase: string } | { prf: Uint8Array };

/** Argon2id cost of new `lk1` envelopes. */
export type KdfOption = 'current' | 'floor' | { memoryKib: number; iterations: number; parallelism: number };

/** A stored wallet, as far as unlocking its owner key goes. The server's `Wallet` fits. */
export interface WalletRef {
  address: string;
  encryptedPrivateKey: string;
  ownerPublicKey?: string;
}

/** Default session lifetime: six hours (the Chipi SDK's). */
export const DEFAULT_SESSION_SECONDS = 21600;

const SECRET_KINDS = ['pin', 'passphrase', 'prf'] as const;

/** The core's secret for `secret`; the caller frees it. */
function coreSecret(secret: Secret): Core.Secret {
  if (secret === null || typeof secret !== 'object') {
    throw new LatchkeyError('INVALID_INPUT', 'Invalid input: the secret must be { pin }, { passphrase } or { prf }.');
  }
  const kinds = SECRET_KINDS.filter((k) => k in secret);
  if (kinds.length !== 1) {
    throw new LatchkeyError('INVALID_INPUT', 'Invalid input: give exactly one of pin, passphrase or prf.');
  }
  const w = wasm();
  if ('prf' in secret) {
    if (!(secret.prf instanceof Uint8Array)) {
      throw new LatchkeyError('INVALID_INPUT', 'Invalid input: prf must be a Uint8Array of 32 bytes.');
    }
    return guard(() => w.Secret.prf(secret.prf));
  }
  const text = 'pin' in secret ? secret.pin : secret.passphrase;
  if (typeof text !== 'string') {
    throw new LatchkeyError('INVALID_INPUT', `Invalid input: ${kinds[0]} must be a string.`);
  }
  return w.Secret.passphrase(text);
}

/** Runs `f` with the core's secret, freeing (zeroing) it afterwards. */
function withSecret<T>(secret: Secret, f: (s: Core.Secret) => T): T {
  const s = coreSecret(secret);
  try {
    return guard(() => f(s));
  } finally {
    s.free();
  }
}

function coreKdf(kdf: KdfOption | undefined): Core.KdfParams | undefined {
  const w = wasm();
  if (kdf === undefined || kdf === 'current') return undefined;
  if (kdf === 'floor') return w.KdfParams.floor();
  if (typeof kdf === 'object' && kdf !== null) {
    return guard(() => new w.KdfParams(kdf.memoryKib, kdf.iterations, kdf.parallelism));
  }
  throw new LatchkeyError('INVALID_INPUT', "Invalid input: kdf must be 'current', 'floor' or { memoryKib, iterations, parallelism }.");
}

function entropy(): Uint8Array {
  const bytes = new Uint8Array(64);
  globalThis.crypto.getRandomValues(bytes);
  return bytes;
}

/** Current Unix time in seconds. */
export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

function checkFormat(format: KeyFormat | undefined): KeyFormat | undefined {
  if (format !== undefined && format !== 'lk1' && format !== 'chipi') {
    throw new LatchkeyError('INVALID_INPUT', 'Invalid input: format must be "lk1" or "chipi".');
  }
  return format;
}

const REDACTED = '[redacted]';

/** What both signers share: a key held in WebAssembly memory until `free()` zeroes it. */
abstract class HeldKey<T extends { free(): void; publicKey: string; account: string; encryptedPrivateKey?: string }> {
  #inner: T | null;
  readonly publicKey: string;
  readonly account: string;
  readonly encryptedPrivateKey: string | undefined;

  protected constructor(inner: T) {
    this.#inner = inner;
    this.publicKey = inner.publicKey;
    this.account = inner.account;
    this.encryptedPrivateKey = inner.encryptedPrivateKey;
  }

  /** The key, or SESSION_LOCKED once freed. */
  protected core(): T {
    if (!this.#inner) {
      throw new LatchkeyError('SESSION_LOCKED', `This ${this.kind} key was freed; unlock it again.`);
    }
    return this.#inner;
  }

  protected abstract readonly kind: string;

  /** Whether `free()` was called. */
  get freed(): boolean {
    return this.#inner === null;
  }

  /** Zeroes the key. Idempotent. */
  free(): void {
    this.#inner?.free();
    this.#inner = null;
  }
}

/** An owner key unlocked in WebAssembly memory. `free()` zeroes it. */
export class OwnerSigner extends HeldKey<Core.OwnerSigner> {
  protected override readonly kind = 'owner';

  /** @internal */
  constructor(inner: Core.OwnerSigner) {
    super(inner);
  }

  /** Owner signature `[r, s]` (hex) of `typedData` for this wallet. */
  signTypedData(typedData: TypedData): string[] {
    const sig = this.signTypedDataDetailed(typedData);
    return [sig.r, sig.s];
  }

  /** The owner signature in hex and in decimal (the Chipi dialect's `{r, s}`). */
  signTypedDataDetailed(typedData: TypedData): OwnerSignature {
    const inner = this.core();
    return guard(() => inner.signTypedData(typedData));
  }

  toJSON(): Record<string, unknown> {
    return { type: 'OwnerSigner', publicKey: this.publicKey, account: this.account, privateKey: REDACTED };
  }

  override toString(): string {
    return `OwnerSigner(${this.publicKey})`;
  }
}

/** A session key unlocked in WebAssembly memory. `free()` zeroes it. */
export class SessionSigner extends HeldKey<Core.SessionSigner> {
  protected override readonly kind = 'session';
  readonly validUntil: number;

  /** @internal */
  constructor(inner: Core.SessionSigner) {
    super(inner);
    this.validUntil = inner.validUntil;
  }

  /** The record to store (public key, encrypted key, validUntil). */
  sessionKeyData(): SessionKeyData {
    const inner = this.core();
    return guard(() => inner.sessionKeyData());
  }

  /** Session signature `[sessionPublicKey, r, s, validUntil]` (hex); SESSION_EXPIRED after validUntil. */
  signTypedData(typedData: TypedData, now: number = nowSeconds()): string[] {
    const inner = this.core();
    return guard(() => inner.signTypedData(typedData, now));
  }

  /** `signTypedData` for typed data given as JSON text. */
  signTypedDataJson(json: string, now: number = nowSeconds()): string[] {
    const inner = this.core();
    return guard(() => inner.signTypedDataJson(json, now));
  }

  toJSON(): Record<string, unknown> {
    return {
      type: 'SessionSigner',
      publicKey: this.publicKey,
      account: this.account,
      validUntil: this.validUntil,
      privateKey: REDACTED,
    };
  }

  override toString(): string {
    return `SessionSigner(${this.publicKey})`;
  }
}

/** Why `pin` is too weak for the `lk1` format, or null when it is acceptable. */
export function pinWeakness(pin: string): string | null {
  return wasm().pinWeakness(pin) ?? null;
}

/** A new owner key sealed with `secret` and the address of the account it will own. */
export async function createOwnerKey(
  secret: Secret,
  opts: { classHash: string; format?: KeyFormat; kdf?: KdfOption },
): Promise<{ publicKey: string; address: string; encryptedPrivateKey: string }> {
  await init();
  const w = wasm();
  const format = checkFormat(opts?.format);
  const kdf = coreKdf(opts?.kdf);
  const signer = withSecret(secret, (s) => w.createOwnerSigner(s, opts.classHash, entropy(), format, kdf));
  try {
    return {
      publicKey: signer.publicKey,
      address: signer.account,
      encryptedPrivateKey: signer.encryptedPrivateKey as string,
    };
  } finally {
    signer.free();
  }
}

/** A new session key for `opts.account`, sealed with `secret`, and its unlocked signer. */
export async function createSessionKey(
  secret: Secret,
  opts: { account: string; durationSeconds?: number; format?: KeyFormat; kdf?: KdfOption; now?: number },
): Promise<{ data: SessionKeyData; signer: SessionSigner }> {
  await init();
  const w = wasm();
  const format = checkFormat(opts?.format);
  const kdf = coreKdf(opts?.kdf);
  const duration = opts.durationSeconds ?? DEFAULT_SESSION_SECONDS;
  if (typeof duration !== 'number' || !Number.isSafeInteger(duration) || duration <= 0) {
    // The Chipi SDK's message for the same mistake.
    throw new LatchkeyError('SESSION_CREATION_FAILED', `Invalid session duration: ${String(duration)}. Must be a positive integer.`);
  }
  const inner = withSecret(secret, (s) =>
    w.createSessionSigner(s, opts.account, duration, opts.now ?? nowSeconds(), entropy(), format, kdf),
  );
  const signer = new SessionSigner(inner);
  return { data: signer.sessionKeyData(), signer };
}

/**
 * Unlocks an owner key of `account`, checked against the owner public key: give it as
 * `ownerPublicKey`, or pass a wallet (`{ address, ownerPublicKey }`) or the result of
 * `createOwnerKey` (`{ address, publicKey }`) as `account`.
 */
export async function unlockOwnerKey(
  encryptedPrivateKey: string,
  secret: Secret,
  account: string | { address: string; ownerPublicKey?: string; publicKey?: string },
  ownerPublicKey?: string,
): Promise<OwnerSigner> {
  await init();
  const w = wasm();
  const address = typeof account === 'string' ? account : account?.address;
  const publicKey = ownerPublicKey ?? (typeof account === 'object' ? (account?.ownerPublicKey ?? account?.publicKey) : undefined);
  if (typeof address !== 'string' || typeof publicKey !== 'string') {
    throw new LatchkeyError(
      'INVALID_INPUT',
      'Invalid input: unlocking an owner key needs the account address and the owner public key.',
    );
  }
  return new OwnerSigner(withSecret(secret, (s) => w.unlockOwnerKey(encryptedPrivateKey, publicKey, address, s)));
}

/** Unlocks a stored session key for `account`. */
export async function unlockSessionKey(data: SessionKeyData, secret: Secret, account: string): Promise<SessionSigner> {
  await init();
  const w = wasm();
  if (data === null || typeof data !== 'object') {
    throw new LatchkeyError('SESSION_NOT_REGISTERED', 'No session to unlock.');
  }
  const record = { publicKey: data.publicKey, encryptedPrivateKey: data.encryptedPrivateKey, validUntil: data.validUntil };
  return new SessionSigner(withSecret(secret, (s) => w.unlockSessionKey(record, account, s)));
}

/** `sn_keccak(name)`: the selector of an entrypoint. */
export function selectorFromName(name: string): string {
  return guard(() => wasm().selectorFromName(name));
}

/** A felt (hex or decimal) in minimal lowercase hex. */
export function normalizeFelt(value: string): string {
  return guard(() => wasm().normalizeFelt(value));
}

/** The SNIP-12 revision 1 message hash of `typedData` for `account`. */
export function messageHash(typedData: TypedData, account: string): string {
  return guard(() => wasm().messageHash(typedData, account));
}

/** The address of latchkey's account of `classHash` owned by `ownerPublicKey`. */
export function accountAddress(classHash: string, ownerPublicKey: string): string {
  return guard(() => wasm().accountAddress(classHash, ownerPublicKey));
}

/** The SNIP-9 v2 outside execution inside `typedData`. */
export function decodeOutsideExecution(typedData: TypedData): OutsideExecutionView {
  return guard(() => wasm().decodeOutsideExecution(typedData));
}

/** Verifies a Stark ECDSA signature. */
export function verifySignature(publicKey: string, hash: string, r: string, s: string): boolean {
  return wasm().verifySignature(publicKey, hash, r, s);
}

/** The format of an encrypted key, or undefined for anything else. */
export function encryptedKeyFormat(text: string): KeyFormat | undefined {
  return wasm().encryptedKeyFormat(text);
}

/** Whether an encrypted key should be sealed again (Chipi format or an old lk1 cost). */
export function needsUpgrade(encryptedPrivateKey: string): boolean {
  return guard(() => wasm().needsUpgrade(encryptedPrivateKey));
}

/** The WebAssembly core's version. */
export function version(): string {
  return wasm().version();
}

/** Whether `data` looks like a stored session whose key is encrypted (never plaintext). */
export function assertEncryptedSession(data: SessionKeyData): void {
  if (
    data === null ||
    typeof data !== 'object' ||
    typeof data.publicKey !== 'string' ||
    typeof data.encryptedPrivateKey !== 'string' ||
    typeof data.validUntil !== 'number'
  ) {
    throw new LatchkeyError('INVALID_INPUT', 'Invalid input: not a SessionKeyData record.');
  }
  if (wasm().encryptedKeyFormat(data.encryptedPrivateKey) === undefined) {
    throw new LatchkeyError(
      'INVALID_ENCRYPTED_KEY',
      'Refusing to store a session whose private key is not encrypted (lk1 or Chipi format).',
    );
  }
}
