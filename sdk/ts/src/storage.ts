/**
 * Where a session record (`SessionKeyData`) is kept between page loads. Every adapter
 * stores exactly the three public/encrypted fields and refuses a plaintext key.
 */
import type { LatchkeyClient } from './client.js';
import { LatchkeyError } from './errors.js';
import { assertEncryptedSession, type SessionKeyData, type SessionProver } from './keys.js';
import { init } from './wasm.js';

export interface SessionStorageAdapter {
  load(): Promise<SessionKeyData | null>;
  /**
   * Stores `data`. `prove` signs a proof of possession with the record's own session key
   * (`SessionManager` passes it); an adapter that stores on a server which asks for one
   * uses it, the others ignore it.
   */
  save(data: SessionKeyData, prove?: SessionProver): Promise<void>;
  clear(): Promise<void>;
}

/** Exactly the stored fields, in a fresh object. */
export function sessionRecord(data: SessionKeyData): SessionKeyData {
  return { publicKey: data.publicKey, encryptedPrivateKey: data.encryptedPrivateKey, validUntil: data.validUntil };
}

function parseRecord(value: unknown): SessionKeyData | null {
  if (!value || typeof value !== 'object') return null;
  const v = value as Record<string, unknown>;
  if (typeof v.publicKey !== 'string' || typeof v.encryptedPrivateKey !== 'string' || typeof v.validUntil !== 'number') {
    return null;
  }
  return { publicKey: v.publicKey, encryptedPrivateKey: v.encryptedPrivateKey, validUntil: v.validUntil };
}

async function checked(data: SessionKeyData): Promise<SessionKeyData> {
  await init();
  assertEncryptedSession(data);
  return sessionRecord(data);
}

/** A Web Storage area (default `window.sessionStorage`) under `key`. */
export function browserSessionStorage(key: string, storage?: Storage): SessionStorageAdapter {
  const area = (): Storage => {
    const s = storage ?? (globalThis as { sessionStorage?: Storage }).sessionStorage;
    if (!s) throw new LatchkeyError('INVALID_INPUT', 'Invalid input: no Web Storage is available here.');
    return s;
  };
  return {
    async load() {
      const text = area().getItem(key);
      if (text === null) return null;
      try {
        return parseRecord(JSON.parse(text));
      } catch {
        return null;
      }
    },
    async save(data) {
      area().setItem(key, JSON.stringify(await checked(data)));
    },
    async clear() {
      area().removeItem(key);
    },
  };
}

/**
 * The server (`/api/me/session`), for an end user signed in with a JWT (`getBearerToken`).
 * Saving needs the `prove` callback (the server stores a session only with its key's
 * proof of possession, for `walletAddress` or `0x0` without one).
 */
export function serverSessionStorage(client: LatchkeyClient, walletAddress?: string): SessionStorageAdapter {
  return {
    async load() {
      const stored = await client.getMySession();
      return stored ? parseRecord(stored.session) : null;
    },
    async save(data, prove) {
      const record = await checked(data);
      if (typeof prove !== 'function') {
        throw new LatchkeyError(
          'INVALID_INPUT',
          "Invalid input: the server stores a session only with its key's proof; save it through a SessionManager or pass a SessionProver.",
        );
      }
      await client.putMySession(record, prove, walletAddress);
    },
    async clear() {
      await client.deleteMySession();
    },
  };
}

/** In memory only (gone on reload). */
export function memorySessionStorage(): SessionStorageAdapter {
  let stored: SessionKeyData | null = null;
  return {
    async load() {
      return stored ? sessionRecord(stored) : null;
    },
    async save(data) {
      stored = await checked(data);
    },
    async clear() {
      stored = null;
    },
  };
}
