/**
 * The key worker: a module Web Worker running the key-sealing WebAssembly module
 * (`latchkey_keys`), where `vault.ts` sends the Argon2id work (sealing and opening keys,
 * PIN blinding and unblinding) so that the page stays responsive. It posts `{ ready }`
 * once the module is loaded, then answers the vault's requests.
 */
import { serveVault, type PortLike } from './vault.js';
import { keysCore } from './wasm.js';

const scope = globalThis as unknown as PortLike;
serveVault(scope);
keysCore().then(
  () => scope.postMessage({ ready: true }),
  (e: unknown) => scope.postMessage({ ready: false, error: e instanceof Error ? e.message : String(e) }),
);
