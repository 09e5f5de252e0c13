/**
 * Secrets and key-derivation costs as the WebAssembly modules that seal keys take them
 * (`latchkey_keys` in the key vault, `latchkey_evm` for EVM keys).
 */
import { LatchkeyError, guard } from './errors.js';
import { keysCore } from './wasm.js';

/** What unlocks a key: a PIN or passphrase (UTF-8, used as typed) or a 32-byte WebAuthn PRF output. */
export type Secret = { pin: string } | { passphrase: string } | { prf: Uint8Array };

/** Argon2id cost of new `lk1`/`lk2` envelopes. */
export type KdfOption = 'current' | 'floor' | { memoryKib: number; iterations: number; parallelism: number };

const SECRET_KINDS = ['pin', 'passphrase', 'prf'] as const;

/** The PIN or passphrase of `secret` (checked), or null for a PRF output. */
export function secretText(secret: Secret): string | null {
  if (secret === null || typeof secret !== 'object') {
    throw new LatchkeyError('INVALID_INPUT', 'Invalid input: the secret must be { pin }, { passphrase } or { prf }.');
  }
  const kinds = SECRET_KINDS.filter((k) => k in secret);
  if (kinds.length !== 1) {
    throw new LatchkeyError('INVALID_INPUT', 'Invalid input: give exactly one of pin, passphrase or prf.');
  }
  if ('prf' in secret) {
    if (!(secret.prf instanceof Uint8Array)) {
      throw new LatchkeyError('INVALID_INPUT', 'Invalid input: prf must be a Uint8Array of 32 bytes.');
    }
    return null;
  }
  const text = 'pin' in secret ? secret.pin : secret.passphrase;
  if (typeof text !== 'string') {
    throw new LatchkeyError('INVALID_INPUT', `Invalid input: ${kinds[0]} must be a string.`);
  }
  return text;
}

/** Whether `secret` is a PIN or passphrase (what the server's OPRF evaluates). */
export function isPinSecret(secret: Secret): boolean {
  return secretText(secret) !== null;
}

/** The classes a module that seals keys (`latchkey_keys`, `latchkey_evm`) makes secrets and costs with. */
export interface SealingCore<S, K> {
  Secret: { passphrase(text: string): S; prf(output: Uint8Array): S };
  KdfParams: { floor(): K; new (memoryKib: number, iterations: number, parallelism: number): K };
}

/** `core`'s secret for `secret`; the caller frees it. */
export function coreSecret<S, K>(secret: Secret, core: SealingCore<S, K>): S {
  const text = secretText(secret);
  if (text === null) return guard(() => core.Secret.prf((secret as { prf: Uint8Array }).prf));
  return core.Secret.passphrase(text);
}

/** `core`'s Argon2id parameters for `kdf` (undefined: the current ones). */
export function coreKdf<S, K>(kdf: KdfOption | undefined, core: SealingCore<S, K>): K | undefined {
  if (kdf === undefined || kdf === 'current') return undefined;
  if (kdf === 'floor') return core.KdfParams.floor();
  if (typeof kdf === 'object' && kdf !== null) {
    return guard(() => new core.KdfParams(kdf.memoryKib, kdf.iterations, kdf.parallelism));
  }
  throw new LatchkeyError('INVALID_INPUT', "Invalid input: kdf must be 'current', 'floor' or { memoryKib, iterations, parallelism }.");
}

/**
 * Checks `kdf` before anything is sent (INVALID_INPUT for a malformed or out-of-bounds
 * cost). Only an explicit cost needs the key-sealing module, which is loaded for it.
 */
export async function checkKdf(kdf: KdfOption | undefined): Promise<void> {
  if (kdf === undefined || kdf === 'current' || kdf === 'floor') return;
  if (typeof kdf !== 'object' || kdf === null) coreKdf(kdf, {} as SealingCore<unknown, unknown>);
  const params = coreKdf(kdf, await keysCore()) as { free(): void } | undefined;
  params?.free();
}

/** 64 bytes from `crypto.getRandomValues`, for one core call. */
export function entropy(bytes = 64): Uint8Array {
  const out = new Uint8Array(bytes);
  globalThis.crypto.getRandomValues(out);
  return out;
}

export { fromBase64Url, toBase64Url } from './base64.js';
