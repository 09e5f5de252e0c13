/**
 * Owner and session keys: created, sealed and unlocked inside the WebAssembly core. The
 * plaintext key never reaches JavaScript; signers expose only public data.
 */
import type {
  EnvelopeInfo,
  KeyFormat,
  OutsideExecutionView,
  OwnerSignature,
  SessionKeyData,
  TypedData,
} from './wasm/latchkey_starknet.js';
import type * as Core from './wasm/latchkey_starknet.js';
import type { LatchkeyClient } from './client.js';
import { LatchkeyError, guard } from './errors.js';
import { evaluatePin, refuseWeakPin } from './pin.js';
import { checkKdf, entropy, isPinSecret, type KdfOption, type Secret } from './secret.js';
import { getVault } from './vault.js';
import { init, wasm } from './wasm.js';

export type { EnvelopeInfo, KeyFormat, OutsideExecutionView, OwnerSignature, SessionKeyData, TypedData };
export type { NormalizedCall, TypedDataMember, JsonValue } from './wasm/latchkey_starknet.js';
export type { KdfOption, Secret };

/**
 * A stored wallet, as far as unlocking its owner key goes. The server's `Wallet` fits.
 * Without `encryptedPrivateKey` (a wallet from a list), it is fetched when needed.
 */
export interface WalletRef {
  address: string;
  encryptedPrivateKey?: string;
  ownerPublicKey?: string;
  /** Whether the server stores a backup blob too (the server's `Wallet` says; fetched when needed). */
  hasBackup?: boolean;
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

/** Current Unix time in seconds. */
export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

function checkFormat(format: KeyFormat | undefined): KeyFormat | undefined {
  if (format !== undefined && format !== 'lk1' && format !== 'lk2' && format !== 'chipi') {
    throw new LatchkeyError('INVALID_INPUT', 'Invalid input: format must be "lk2", "lk1" or "chipi".');
  }
  return format;
}

/**
 * How a new key sealed with `secret` is made: a PIN or passphrase is `lk2` (the server's
 * evaluation, through `client`) unless `lk1` (offline) or `chipi` is asked for explicitly;
 * a passkey PRF output is `lk1` (HKDF) or `chipi`.
 */
type SealPlan = { server: LatchkeyClient } | { format: KeyFormat | undefined };

function sealPlan(secret: Secret, format: KeyFormat | undefined, client: LatchkeyClient | undefined, what: string): SealPlan {
  checkFormat(format);
  if (!isPinSecret(secret)) {
    if (format === 'lk2') {
      throw new LatchkeyError('INVALID_INPUT', 'Invalid input: lk2 seals a PIN or passphrase; a passkey PRF output is sealed as lk1.');
    }
    return { format };
  }
  if (format === 'lk1' || format === 'chipi') return { format };
  if (!client) {
    throw new LatchkeyError(
      'OPRF_REQUIRED',
      `A ${what} sealed with a PIN is lk2, whose PIN the server checks: pass { client } (a LatchkeyClient), ` +
        "or format: 'lk1' to seal it offline (a copy of an lk1 envelope can be attacked offline).",
    );
  }
  return { server: client };
}

/** What an encrypted key's text says about it (format, OPRF key id, whether it is offline-guessable). */
export function envelopeInfo(encryptedPrivateKey: string): EnvelopeInfo {
  return guard(() => wasm().envelopeInfo(encryptedPrivateKey));
}

/** Whether opening `info` with `secret` needs the server's evaluation: lk2, or an lk1 PIN envelope (re-sealed as lk2). */
export function needsServerEvaluation(info: EnvelopeInfo, secret: Secret): boolean {
  return isPinSecret(secret) && (info.format === 'lk2' || (info.format === 'lk1' && info.offlineGuessable));
}

/** The same error, saying what to do when the key needs the server. */
function explainOffline(e: unknown, what: string): unknown {
  if (e instanceof LatchkeyError && e.code === 'OPRF_REQUIRED') {
    return new LatchkeyError('OPRF_REQUIRED', `${e.message} Use ${what}(client, …) to unlock it.`, { cause: e });
  }
  return e;
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

/** The core object of each signer, and the encrypted form recorded after it was made. */
const cores = new WeakMap<object, { free(): void }>();
const recorded = new WeakMap<object, string>();

/** @internal The core signer inside `signer` (SESSION_LOCKED once freed). */
export function coreOf(signer: OwnerSigner): Core.OwnerSigner;
export function coreOf(signer: SessionSigner): Core.SessionSigner;
export function coreOf(signer: OwnerSigner | SessionSigner): Core.OwnerSigner | Core.SessionSigner;
export function coreOf(signer: OwnerSigner | SessionSigner): Core.OwnerSigner | Core.SessionSigner {
  const inner = cores.get(signer);
  if (!inner) throw new LatchkeyError('SESSION_LOCKED', 'This key was freed; unlock it again.');
  return inner as Core.OwnerSigner | Core.SessionSigner;
}

/** @internal Records `encryptedPrivateKey` (sealed by the SDK for this very key) as the signer's encrypted form. */
export function recordEncryptedPrivateKey(signer: OwnerSigner | SessionSigner, encryptedPrivateKey: string): void {
  recorded.set(signer, encryptedPrivateKey);
}

/** What both signers share: a key held in WebAssembly memory until `free()` zeroes it. */
abstract class HeldKey<T extends { free(): void; publicKey: string; account: string; encryptedPrivateKey?: string }> {
  readonly publicKey: string;
  readonly account: string;
  readonly #encrypted: string | undefined;

  protected constructor(inner: T, encryptedPrivateKey?: string) {
    cores.set(this, inner);
    this.publicKey = inner.publicKey;
    this.account = inner.account;
    this.#encrypted = encryptedPrivateKey ?? inner.encryptedPrivateKey;
  }

  /** The encrypted private key this signer was created or unlocked from (or re-sealed into), if any. */
  get encryptedPrivateKey(): string | undefined {
    return recorded.get(this) ?? this.#encrypted;
  }

  /** The key, or SESSION_LOCKED once freed. */
  protected core(): T {
    const inner = cores.get(this);
    if (!inner) {
      throw new LatchkeyError('SESSION_LOCKED', `This ${this.kind} key was freed; unlock it again.`);
    }
    return inner as T;
  }

  protected abstract readonly kind: string;

  /** Whether `free()` was called. */
  get freed(): boolean {
    return !cores.has(this);
  }

  /** Zeroes the key. Idempotent. */
  free(): void {
    cores.get(this)?.free();
    cores.delete(this);
  }
}

/** An owner key unlocked in WebAssembly memory. `free()` zeroes it. */
export class OwnerSigner extends HeldKey<Core.OwnerSigner> {
  protected override readonly kind = 'owner';

  /** @internal */
  constructor(inner: Core.OwnerSigner, encryptedPrivateKey?: string) {
    super(inner, encryptedPrivateKey);
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
   * This key sealed again with `secret` (weak PINs → WEAK_PIN): a new encrypted private
   * key holding the same key. The signer itself is unchanged. A PIN or passphrase needs
   * `format: 'lk1'` (offline) or `'chipi'` here; to seal as lk2 (the server's evaluation)
   * use `client.replaceEncryptedKey(address, owner, { secret })`. Asynchronous: the
   * sealing runs in the key vault (the key worker where there is one).
   */
  async seal(secret: Secret, opts: { format?: KeyFormat; kdf?: KdfOption } = {}): Promise<string> {
    const inner = this.core();
    const plan = sealPlan(secret, opts.format, undefined, 'owner key');
    const format = 'format' in plan ? plan.format : undefined;
    await checkKdf(opts.kdf);
    const held = await (await getVault()).open(secret);
    try {
      return await held.seal(inner, { format, kdf: opts.kdf });
    } finally {
      held.free();
    }
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
  constructor(inner: Core.SessionSigner, encryptedPrivateKey?: string) {
    super(inner, encryptedPrivateKey);
    this.validUntil = inner.validUntil;
  }

  /** The record to store (public key, encrypted key, validUntil). */
  sessionKeyData(): SessionKeyData {
    this.core();
    const encryptedPrivateKey = this.encryptedPrivateKey;
    if (encryptedPrivateKey === undefined) {
      throw new LatchkeyError('INVALID_INPUT', 'Invalid input: this key was imported and is not sealed yet.');
    }
    return { publicKey: this.publicKey, encryptedPrivateKey, validUntil: this.validUntil };
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

/** Why `pin` is too weak to seal a key with, or null when it is acceptable. */
export function pinWeakness(pin: string): string | null {
  return wasm().pinWeakness(pin) ?? null;
}

/** Options of the functions that make a new key. */
export interface NewKeyOptions {
  /** `lk2` (default for a PIN or passphrase: needs `client`), `lk1` (offline; the default for a passkey PRF output) or `chipi`. */
  format?: KeyFormat;
  /** Argon2id cost (default: `client`'s, else 'current'). */
  kdf?: KdfOption;
  /** The wallet's server, which evaluates the PIN of an lk2 key. */
  client?: LatchkeyClient;
}

/** @internal A new owner key and, when its PIN went through the server, the `pin-unlock` challenge that proves it once the wallet is stored. */
export async function newOwnerKey(
  secret: Secret,
  opts: NewKeyOptions & { classHash: string },
): Promise<{ owner: OwnerSigner; challenge: Challenge | null }> {
  await init();
  const plan = sealPlan(secret, opts?.format, opts?.client, 'owner key');
  const kdf = opts.kdf ?? opts.client?.kdf;
  await checkKdf(kdf); // a bad cost fails before anything is sent
  if ('server' in plan) {
    refuseWeakPin(secret);
    const inner = guard(() => wasm().generateOwnerSigner(opts.classHash, entropy()));
    try {
      const { pin, evaluation } = await evaluatePin(plan.server, inner.account, secret);
      try {
        const sealed = await pin.seal(inner, { kdf });
        return { owner: new OwnerSigner(inner, sealed), challenge: evaluation.challenge };
      } finally {
        pin.free();
      }
    } catch (e) {
      inner.free();
      throw e;
    }
  }
  const held = await (await getVault()).open(secret);
  try {
    const inner = await held.createOwner({ classHash: opts.classHash, format: plan.format, kdf });
    return { owner: new OwnerSigner(inner), challenge: null };
  } finally {
    held.free();
  }
}

/**
 * A new owner key sealed with `secret`, kept unlocked (for a proof of possession before
 * the wallet is created); its `account` is the address of the account it will own. A PIN
 * seals it as lk2 through `opts.client` (or as lk1 with `format: 'lk1'`). The caller frees it.
 */
export async function createOwnerSigner(secret: Secret, opts: NewKeyOptions & { classHash: string }): Promise<OwnerSigner> {
  return (await newOwnerKey(secret, opts)).owner;
}

/** A new owner key sealed with `secret` and the address of the account it will own. */
export async function createOwnerKey(
  secret: Secret,
  opts: NewKeyOptions & { classHash: string },
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

/**
 * A new session key for `opts.account`, sealed with `secret` (a PIN: lk2 through
 * `opts.client`, or lk1 with `format: 'lk1'`), and its unlocked signer.
 */
export async function createSessionKey(
  secret: Secret,
  opts: NewKeyOptions & { account: string; durationSeconds?: number; now?: number },
): Promise<{ data: SessionKeyData; signer: SessionSigner }> {
  await init();
  const duration = opts?.durationSeconds ?? DEFAULT_SESSION_SECONDS;
  if (typeof duration !== 'number' || !Number.isSafeInteger(duration) || duration <= 0) {
    // The Chipi SDK's message for the same mistake.
    throw new LatchkeyError('SESSION_CREATION_FAILED', `Invalid session duration: ${String(duration)}. Must be a positive integer.`);
  }
  const plan = sealPlan(secret, opts?.format, opts?.client, 'session key');
  const kdf = opts.kdf ?? opts.client?.kdf;
  await checkKdf(kdf);
  const args = { account: opts.account, durationSeconds: duration, now: opts.now ?? nowSeconds(), kdf };
  let inner: Core.SessionSigner;
  if ('server' in plan) {
    refuseWeakPin(secret);
    const account = normalizeFelt(opts.account);
    // The session is not registered yet, so this evaluation is proved by the next unlock.
    const { pin } = await evaluatePin(plan.server, account, secret);
    try {
      inner = await pin.createSession(args);
    } finally {
      pin.free();
    }
  } else {
    const held = await (await getVault()).open(secret);
    try {
      inner = await held.createSession({ ...args, format: plan.format });
    } finally {
      held.free();
    }
  }
  const signer = new SessionSigner(inner);
  return { data: signer.sessionKeyData(), signer };
}

/**
 * Unlocks an owner key of `account` with `secret` alone (an lk1 or Chipi envelope; an lk2
 * one is OPRF_REQUIRED: use `unlockOwnerKeyWithPin`), checked against the owner public
 * key: give it as `ownerPublicKey`, or pass a wallet (`{ address, ownerPublicKey }`) or
 * the result of `createOwnerKey` (`{ address, publicKey }`) as `account`.
 */
export async function unlockOwnerKey(
  encryptedPrivateKey: string,
  secret: Secret,
  account: string | { address: string; ownerPublicKey?: string; publicKey?: string },
  ownerPublicKey?: string,
): Promise<OwnerSigner> {
  await init();
  const address = typeof account === 'string' ? account : account?.address;
  const publicKey = ownerPublicKey ?? (typeof account === 'object' ? (account?.ownerPublicKey ?? account?.publicKey) : undefined);
  if (typeof address !== 'string' || typeof publicKey !== 'string') {
    throw new LatchkeyError(
      'INVALID_INPUT',
      'Invalid input: unlocking an owner key needs the account address and the owner public key.',
    );
  }
  const held = await (await getVault()).open(secret);
  try {
    return new OwnerSigner(await held.unlockOwner({ encryptedPrivateKey, ownerPublicKey: publicKey, account: address }));
  } catch (e) {
    throw explainOffline(e, 'unlockOwnerKeyWithPin');
  } finally {
    held.free();
  }
}

/** Unlocks a stored session key for `account` with `secret` alone (lk1 or Chipi; lk2 → OPRF_REQUIRED: use `unlockSessionKeyWithPin`). */
export async function unlockSessionKey(data: SessionKeyData, secret: Secret, account: string): Promise<SessionSigner> {
  await init();
  if (data === null || typeof data !== 'object') {
    throw new LatchkeyError('SESSION_NOT_REGISTERED', 'No session to unlock.');
  }
  const record = { publicKey: data.publicKey, encryptedPrivateKey: data.encryptedPrivateKey, validUntil: data.validUntil };
  const held = await (await getVault()).open(secret);
  try {
    return new SessionSigner(await held.unlockSession({ record, account }));
  } catch (e) {
    throw explainOffline(e, 'unlockSessionKeyWithPin');
  } finally {
    held.free();
  }
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

/** Whether an encrypted key should be sealed again (Chipi format or an old Argon2id cost). */
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
      'Refusing to store a session whose private key is not encrypted (lk2, lk1 or Chipi format).',
    );
  }
}
