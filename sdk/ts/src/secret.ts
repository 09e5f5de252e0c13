/**
 * Secrets and key-derivation costs as the WebAssembly core takes them. Shared by the
 * page's module and the key worker (both run the same core).
 */
import type * as Core from './wasm/latchkey_wasm.js';
import { LatchkeyError, guard } from './errors.js';
import { wasm } from './wasm.js';

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

/** The core's secret for `secret`; the caller frees it. */
export function coreSecret(secret: Secret): Core.Secret {
  const text = secretText(secret);
  const w = wasm();
  if (text === null) return guard(() => w.Secret.prf((secret as { prf: Uint8Array }).prf));
  return w.Secret.passphrase(text);
}

/** Runs `f` with the core's secret, freeing (zeroing) it afterwards. */
export function withSecret<T>(secret: Secret, f: (s: Core.Secret) => T): T {
  const s = coreSecret(secret);
  try {
    return guard(() => f(s));
  } finally {
    s.free();
  }
}

/** The core's Argon2id parameters for `kdf` (undefined: the current ones). */
export function coreKdf(kdf: KdfOption | undefined): Core.KdfParams | undefined {
  const w = wasm();
  if (kdf === undefined || kdf === 'current') return undefined;
  if (kdf === 'floor') return w.KdfParams.floor();
  if (typeof kdf === 'object' && kdf !== null) {
    return guard(() => new w.KdfParams(kdf.memoryKib, kdf.iterations, kdf.parallelism));
  }
  throw new LatchkeyError('INVALID_INPUT', "Invalid input: kdf must be 'current', 'floor' or { memoryKib, iterations, parallelism }.");
}

/** 64 bytes from `crypto.getRandomValues`, for one core call. */
export function entropy(bytes = 64): Uint8Array {
  const out = new Uint8Array(bytes);
  globalThis.crypto.getRandomValues(out);
  return out;
}

/** Base64url without padding (RFC 4648 §5), as the API writes OPRF elements. */
export function toBase64Url(bytes: Uint8Array): string {
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** The bytes of base64url text without padding; null when it is not that. */
export function fromBase64Url(text: string): Uint8Array | null {
  if (typeof text !== 'string' || !/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) return null;
  const padded = text.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (text.length % 4)) % 4);
  let binary: string;
  try {
    binary = atob(padded);
  } catch {
    return null;
  }
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  // Only the canonical encoding (unused trailing bits zero).
  return toBase64Url(out) === text ? out : null;
}
