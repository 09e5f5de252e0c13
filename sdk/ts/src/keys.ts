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

/**
 * A stored wallet, as far as unlocking its owner key goes. The server's `Wallet` fits.
 * Without `encryptedPrivateKey` (a wallet from a list), it is fetched when needed.
 */
export interface WalletRef {
  address: string;
  encryptedPrivateKey?: string;
  ownerPublicKey?: string;
}

/** What a proof of key possession authorises. */
export type ProofPurpose = 'create-wallet' | 'replace-key' | 'restore-key' | 'store-session' | 'pin-unlock';

/** A single-use challenge issued by the server (`POST /api/challenges`). */
export interface Challenge {
  /** Felt hex. */
  challenge: string;
  purpose: ProofPurpose;
  /** The chain id the proof hash uses, felt hex. */
  chainId: string;
  /** Unix seconds; the challenge is refused from then on. */
  expiresAt: number;
}

/** A proof of key possession as the API takes it: the challenge and `[r, s]` (hex). */
export interface Proof {
  challenge: string;
  signature: string[];
}

/**
 * Signs the `store-session` proof for one session record being saved: given the server's
 * challenge and the account the proof names (the wallet address, or `0x0` for a record
 * stored without one). Made by `sessionProver`; `SessionManager` passes one to
 * `SessionStorageAdapter.save`.
 */
export type SessionProver = (challenge: Challenge, account: string) => Proof;

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

const PURPOSES: readonly ProofPurpose[] = ['create-wallet', 'replace-key', 'restore-key', 'store-session', 'pin-unlock'];

function checkChallenge(challenge: Challenge): Challenge {
  if (
    challenge === null ||
    typeof challenge !== 'object' ||
    typeof challenge.challenge !== 'string' ||
    typeof challenge.chainId !== 'string' ||
    !PURPOSES.includes(challenge.purpose)
  ) {
    throw new LatchkeyError('INVALID_INPUT', 'Invalid input: not a challenge { challenge, purpose, chainId }.');
  }
  return challenge;
}

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

  /**
   * A proof of possession of this owner key: `[r, s]` (hex) over
   * `proofHash(chainId, this.account, purpose, challenge, payloadHash)`.
   */
  signProof(chainId: string, purpose: ProofPurpose, challenge: string, payloadHash: string): string[] {
    const inner = this.core();
    return guard(() => inner.signProof(chainId, purpose, challenge, payloadHash));
  }

  /** The proof for a server challenge over `payload` (the text whose `payloadHash` the proof binds). */
  prove(challenge: Challenge, payload: string): Proof {
    const c = checkChallenge(challenge);
    return { challenge: c.challenge, signature: this.signProof(c.chainId, c.purpose, c.challenge, payloadHash(payload)) };
  }

  /**
   * This key sealed again with `secret` (lk1 by default; weak PINs → WEAK_PIN): a new
   * encrypted private key holding the same key. The signer itself is unchanged.
   */
  seal(secret: Secret, opts: { format?: KeyFormat; kdf?: KdfOption } = {}): string {
    const inner = this.core();
    const format = checkFormat(opts.format);
    const kdf = coreKdf(opts.kdf);
    return withSecret(secret, (s) => inner.seal(s, entropy(), format, kdf));
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

  /**
   * A proof of possession of this session key: `[r, s]` (hex) over
   * `proofHash(chainId, account, purpose, challenge, payloadHash)`. `account` defaults to
   * this signer's wallet; a session stored on the server without a wallet address is
   * proved for `'0x0'`.
   */
  signProof(chainId: string, purpose: ProofPurpose, challenge: string, payloadHash: string, account?: string): string[] {
    const inner = this.core();
    return guard(() => inner.signProof(chainId, purpose, challenge, payloadHash, account));
  }

  /** The proof for a server challenge over `payload`, for `account` (default: this signer's wallet). */
  prove(challenge: Challenge, payload: string, account?: string): Proof {
    const c = checkChallenge(challenge);
    return {
      challenge: c.challenge,
      signature: this.signProof(c.chainId, c.purpose, c.challenge, payloadHash(payload), account),
    };
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

/**
 * A new owner key sealed with `secret`, kept unlocked (for a proof of possession before
 * the wallet is created); its `account` is the address of the account it will own. The
 * caller frees it.
 */
export async function createOwnerSigner(
  secret: Secret,
  opts: { classHash: string; format?: KeyFormat; kdf?: KdfOption },
): Promise<OwnerSigner> {
  await init();
  const w = wasm();
  const format = checkFormat(opts?.format);
  const kdf = coreKdf(opts?.kdf);
  return new OwnerSigner(withSecret(secret, (s) => w.createOwnerSigner(s, opts.classHash, entropy(), format, kdf)));
}

/** A new owner key sealed with `secret` and the address of the account it will own. */
export async function createOwnerKey(
  secret: Secret,
  opts: { classHash: string; format?: KeyFormat; kdf?: KdfOption },
): Promise<{ publicKey: string; address: string; encryptedPrivateKey: string }> {
  const signer = await createOwnerSigner(secret, opts);
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

/**
 * The hash a key holder signs to prove possession of a key:
 * `poseidon('latchkey.proof.v1', chainId, account, purpose, challenge, payloadHash)`
 * (felts in hex or decimal; the chain id as a challenge gives it).
 */
export function proofHash(chainId: string, account: string, purpose: ProofPurpose, challenge: string, payloadHash: string): string {
  return guard(() => wasm().proofHash(chainId, account, purpose, challenge, payloadHash));
}

/** `sn_keccak` of the UTF-8 bytes of `text`: the payload part of a proof. */
export function payloadHash(text: string): string {
  if (typeof text !== 'string') {
    throw new LatchkeyError('INVALID_INPUT', 'Invalid input: the payload of a proof is a string.');
  }
  return wasm().payloadHash(text);
}

/**
 * The `store-session` prover of one session record: signs with `signer` (the record's own
 * key, still unlocked) over `sn_keccak(data.encryptedPrivateKey)`, for a challenge of that
 * purpose only. Give it to `SessionStorageAdapter.save` or `LatchkeyClient.putMySession`.
 */
export function sessionProver(signer: SessionSigner, data: SessionKeyData): SessionProver {
  if (!(signer instanceof SessionSigner)) {
    throw new LatchkeyError('INVALID_INPUT', 'Invalid input: a session prover needs the SessionSigner of the record.');
  }
  if (!samePublicKey(signer.publicKey, data?.publicKey)) {
    throw new LatchkeyError('INVALID_INPUT', 'Invalid input: the signer is not the key of this session record.');
  }
  const payload = data.encryptedPrivateKey;
  return (challenge, account) => {
    if (checkChallenge(challenge).purpose !== 'store-session') {
      throw new LatchkeyError('INVALID_INPUT', `Invalid input: a ${String(challenge.purpose)} challenge cannot store a session.`);
    }
    return signer.prove(challenge, payload, account);
  };
}

function samePublicKey(a: string, b: string | undefined): boolean {
  if (typeof b !== 'string') return false;
  try {
    return BigInt(a) === BigInt(b);
  } catch {
    return a === b;
  }
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
