/**
 * Unlocking a key with a PIN the server checks: one code path for owner and session keys.
 *
 *   envelope lk2 → evaluate under the OPRF key it names → open
 *   envelope lk1 (PIN) → evaluate under the server's current key → open → re-seal as lk2
 *   (the owner key is put back on the server with a replace-key proof; a session record
 *   goes to `onRewrap`, which stores it)
 *   then a `pin-unlock` proof by the opened key resets the wallet's attempt counter.
 *
 * A wrong PIN keeps its code (OWNER_KEY_DECRYPTION_FAILED, SESSION_DECRYPTION_FAILED) and
 * says how many attempts are left (`attemptsRemaining`); a locked wallet is PIN_LOCKED
 * with `retryAfterSeconds` and `lockedUntil`. Passkey secrets and Chipi envelopes open as
 * before, without the server.
 */
import type { LatchkeyClient } from './client.js';
import { LatchkeyError, fromWasm } from './errors.js';
import {
  OwnerSigner,
  SessionSigner,
  coreOf,
  envelopeInfo,
  needsServerEvaluation,
  recordEncryptedPrivateKey,
  sessionProver,
  unlockOwnerKey,
  unlockSessionKey,
  type Challenge,
  type EnvelopeInfo,
  type KdfOption,
  type Secret,
  type SessionKeyData,
  type SessionProver,
  type WalletRef,
} from './keys.js';
import { evaluatePin, explainWrongPin, type EvaluatedPin } from './pin.js';
import { init } from './wasm.js';

/** What happens around a PIN unlock. */
export interface PinUnlockOptions {
  /** Argon2id cost of the lk2 envelope an lk1 one is re-sealed into (default: the client's). */
  kdf?: KdfOption;
  /** Re-seal an lk1 PIN envelope as lk2, and an lk2 one under an older OPRF key under the current one (default true). */
  rewrap?: boolean;
  /** Prove the unlock to the server, which resets the wallet's attempt counter (default true). */
  confirm?: boolean;
  /**
   * Told of a failure after the key opened: the proof of the unlock (`confirm`: the
   * attempt stays counted until the next proved unlock) or storing the re-sealed key
   * (`rewrap`: the old envelope stays). The unlock itself succeeded.
   */
  onBackgroundError?(stage: 'confirm' | 'rewrap', error: LatchkeyError): void;
}

export interface OwnerPinUnlockOptions extends PinUnlockOptions {
  /** Called once the re-sealed owner key is stored on the server. */
  onRewrap?(encryptedPrivateKey: string): void | Promise<void>;
}

export interface SessionPinUnlockOptions extends PinUnlockOptions {
  /**
   * Stores the re-sealed session record (with `prove`, its store-session prover). Without
   * it, an lk1 session key is opened but not re-sealed.
   */
  onRewrap?(data: SessionKeyData, prove: SessionProver): void | Promise<void>;
}

function background(opts: PinUnlockOptions, stage: 'confirm' | 'rewrap', e: unknown): void {
  try {
    opts.onBackgroundError?.(stage, fromWasm(e));
  } catch {
    // The callback's failure is its own.
  }
}

/**
 * The key of `signer` sealed again as lk2: under the evaluation at hand for an lk1
 * envelope; for an lk2 one under an OPRF key that is no longer the current one, after a
 * second evaluation under the current key. Null when nothing is to be done, or when the
 * PIN is too weak to seal a key with today (the envelope then stays as it is).
 */
async function reseal(
  client: LatchkeyClient,
  account: string,
  secret: Secret,
  info: EnvelopeInfo,
  evaluated: EvaluatedPin,
  signer: OwnerSigner | SessionSigner,
  kdf: KdfOption | undefined,
): Promise<string | null> {
  const inner = coreOf(signer);
  const attempt = async (held: EvaluatedPin) => {
    try {
      return await held.pin.seal(inner, { kdf });
    } catch (e) {
      if (e instanceof LatchkeyError && e.code === 'WEAK_PIN') return null;
      throw e;
    }
  };
  if (info.format === 'lk1') return attempt(evaluated);
  if (info.format === 'lk2' && evaluated.evaluation.keyId !== evaluated.evaluation.currentKeyId) {
    const current = await evaluatePin(client, account, secret);
    try {
      return await attempt(current);
    } finally {
      current.pin.free();
    }
  }
  return null;
}

/** Opens with the server's evaluation; a decryption failure says how many attempts are left. */
async function openEvaluated<T extends OwnerSigner | SessionSigner>(evaluated: EvaluatedPin, open: () => Promise<T>): Promise<T> {
  try {
    return await open();
  } catch (e) {
    throw explainWrongPin(e, evaluated.evaluation);
  }
}

async function confirmUnlock(
  client: LatchkeyClient,
  account: string,
  signer: OwnerSigner | SessionSigner,
  challenge: Challenge,
  opts: PinUnlockOptions,
): Promise<void> {
  if (opts.confirm === false) return;
  try {
    await client.pinConfirm(account, signer, challenge);
  } catch (e) {
    background(opts, 'confirm', e);
  }
}

/** Puts a re-sealed owner key on the server, keeping its backup blob (skipped when the backup cannot be read). */
async function storeOwnerKey(client: LatchkeyClient, address: string, owner: OwnerSigner, sealed: string, hasBackup: boolean | undefined): Promise<void> {
  const backed = hasBackup ?? (await client.getWallet(address)).hasBackup;
  // A replacement without the backup would remove it: read it first (the wallet's own end user may).
  const backup = backed ? (await client.getEncryptedKey(address, { backup: true })).encryptedPrivateKey : undefined;
  await client.replaceEncryptedKey(address, owner, { encryptedPrivateKey: sealed, encryptedPrivateKeyBackup: backup });
}

/**
 * Unlocks the wallet's owner key with `secret`, the PIN checked by the wallet's server
 * (`client`): see the module comment. The encrypted key and owner public key come from
 * `wallet`, or from the server when it lacks them. The caller frees the signer.
 */
export async function unlockOwnerKeyWithPin(
  client: LatchkeyClient,
  wallet: WalletRef,
  secret: Secret,
  opts: OwnerPinUnlockOptions = {},
): Promise<OwnerSigner> {
  await init();
  if (!wallet || typeof wallet.address !== 'string') {
    throw new LatchkeyError('INVALID_INPUT', 'Invalid input: a wallet { address } is required.');
  }
  const address = wallet.address;
  let { encryptedPrivateKey, ownerPublicKey, hasBackup } = wallet;
  if (typeof encryptedPrivateKey !== 'string' || typeof ownerPublicKey !== 'string') {
    const stored = await client.getWallet(address);
    encryptedPrivateKey ??= stored.encryptedPrivateKey;
    ownerPublicKey ??= stored.ownerPublicKey;
    hasBackup ??= stored.hasBackup;
  }
  if (typeof encryptedPrivateKey !== 'string' || typeof ownerPublicKey !== 'string') {
    throw new LatchkeyError('INVALID_INPUT', 'Invalid input: the wallet has no encryptedPrivateKey.');
  }
  const info = envelopeInfo(encryptedPrivateKey);
  if (!needsServerEvaluation(info, secret)) return unlockOwnerKey(encryptedPrivateKey, secret, address, ownerPublicKey);

  const evaluated = await evaluatePin(client, address, secret, info.oprfKeyId ?? undefined);
  let owner: OwnerSigner;
  let sealed: string | null = null;
  try {
    const args = { encryptedPrivateKey, ownerPublicKey, account: address };
    owner = await openEvaluated(evaluated, async () => new OwnerSigner(await evaluated.pin.unlockOwner(args)));
    if (opts.rewrap !== false) {
      try {
        sealed = await reseal(client, address, secret, info, evaluated, owner, opts.kdf ?? client.kdf);
      } catch (e) {
        background(opts, 'rewrap', e);
      }
    }
  } finally {
    evaluated.pin.free();
  }
  if (sealed !== null) {
    try {
      await storeOwnerKey(client, address, owner, sealed, hasBackup);
      recordEncryptedPrivateKey(owner, sealed);
      await opts.onRewrap?.(sealed);
    } catch (e) {
      background(opts, 'rewrap', e);
    }
  }
  await confirmUnlock(client, address, owner, evaluated.evaluation.challenge, opts);
  return owner;
}

/**
 * Unlocks a stored session key of the wallet `account` with `secret`, the PIN checked by
 * the wallet's server (`client`): see the module comment. The caller frees the signer.
 */
export async function unlockSessionKeyWithPin(
  client: LatchkeyClient,
  data: SessionKeyData,
  secret: Secret,
  account: string,
  opts: SessionPinUnlockOptions = {},
): Promise<SessionSigner> {
  await init();
  if (data === null || typeof data !== 'object' || typeof data.encryptedPrivateKey !== 'string') {
    throw new LatchkeyError('SESSION_NOT_REGISTERED', 'No session to unlock.');
  }
  const info = envelopeInfo(data.encryptedPrivateKey);
  if (!needsServerEvaluation(info, secret)) return unlockSessionKey(data, secret, account);

  const record = { publicKey: data.publicKey, encryptedPrivateKey: data.encryptedPrivateKey, validUntil: data.validUntil };
  const evaluated = await evaluatePin(client, account, secret, info.oprfKeyId ?? undefined);
  let signer: SessionSigner;
  let sealed: string | null = null;
  try {
    signer = await openEvaluated(evaluated, async () => new SessionSigner(await evaluated.pin.unlockSession({ record, account })));
    if (opts.rewrap !== false && opts.onRewrap) {
      try {
        sealed = await reseal(client, account, secret, info, evaluated, signer, opts.kdf ?? client.kdf);
      } catch (e) {
        background(opts, 'rewrap', e);
      }
    }
  } finally {
    evaluated.pin.free();
  }
  if (sealed !== null && opts.onRewrap) {
    const next = { ...record, encryptedPrivateKey: sealed };
    try {
      await opts.onRewrap(next, sessionProver(signer, next));
      recordEncryptedPrivateKey(signer, sealed);
    } catch (e) {
      background(opts, 'rewrap', e);
    }
  }
  await confirmUnlock(client, account, signer, evaluated.evaluation.challenge, opts);
  return signer;
}
