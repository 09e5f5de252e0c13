/**
 * Loading the WebAssembly core: three modules, each loaded once, when first needed.
 *
 * - `latchkey_starknet`: Starknet signers (session and owner keys held in WebAssembly
 *   memory), SNIP-12 hashing, proofs and the helpers. `init()` loads it.
 * - `latchkey_keys`: sealing and opening keys (Argon2id, the PIN OPRF, the Chipi format).
 *   The key vault loads it (in the key worker, or on this thread) the first time a key
 *   is sealed or opened; a page that only signs never fetches it.
 * - `latchkey_evm`: EVM keys and their sealing, loaded by the EVM API.
 *
 * In a browser (or any bundler) each module is fetched from `./wasm/<name>_bg.wasm` next
 * to this file; in Node.js it is read from disk.
 */
import initStarknet, * as core from './wasm/latchkey_starknet.js';
import type * as KeysModule from './wasm/latchkey_keys.js';
import type * as EvmModule from './wasm/latchkey_evm.js';
import { LatchkeyError } from './errors.js';
import { Lazy, source, start, type WasmSource } from './load.js';

export type Core = typeof core;
export type KeysCore = typeof KeysModule;
export type EvmCore = typeof EvmModule;

export { isNode, type WasmSource } from './load.js';

/** Where each module comes from, when not from next to this file. */
export interface WasmSources {
  /** `latchkey_starknet_bg.wasm`: what `init()` loads. */
  starknet?: WasmSource;
  /** `latchkey_keys_bg.wasm`: sealing and opening keys. */
  keys?: WasmSource;
  /** `latchkey_evm_bg.wasm`: EVM keys. */
  evm?: WasmSource;
}

function isSources(value: unknown): value is WasmSources {
  return (
    typeof value === 'object' &&
    value !== null &&
    !(value instanceof URL) &&
    !(value instanceof ArrayBuffer) &&
    !ArrayBuffer.isView(value)
  );
}

// Each specifier and URL is written out in full so that bundlers (Vite, webpack) split
// the glue into its own chunk and emit the `.wasm` file as an asset.
const starknet = new Lazy<Core>(async (from) => {
  await initStarknet({ module_or_path: await source(from, new URL('./wasm/latchkey_starknet_bg.wasm', import.meta.url)) });
  return core;
});
const keys = new Lazy<KeysCore>(async (from) =>
  start(await import('./wasm/latchkey_keys.js'), from, new URL('./wasm/latchkey_keys_bg.wasm', import.meta.url)),
);
const evm = new Lazy<EvmCore>(async (from) =>
  start(await import('./wasm/latchkey_evm.js'), from, new URL('./wasm/latchkey_evm_bg.wasm', import.meta.url)),
);

/**
 * Loads the Starknet module (signing, hashing). Idempotent: later and concurrent calls
 * share the first load. Without an argument the `.wasm` file next to this module is
 * used; `wasm` gives it instead (bytes, a URL or a path), or `{ starknet, keys, evm }`
 * gives any of the three modules (the other two still load only when needed).
 */
export function init(wasm?: WasmSource | WasmSources): Promise<void> {
  if (isSources(wasm)) {
    if (wasm.keys !== undefined && !keys.value) keys.from = wasm.keys;
    if (wasm.evm !== undefined && !evm.value) evm.from = wasm.evm;
    if (!starknet.value && wasm.starknet !== undefined) starknet.from = wasm.starknet;
  } else if (wasm !== undefined && !starknet.value) {
    starknet.from = wasm;
  }
  return starknet.get().then(() => undefined);
}

/** Whether `init()` has completed. */
export function isInitialized(): boolean {
  return starknet.value !== null;
}

/** The Starknet module, or NOT_INITIALIZED when `init()` has not completed. */
export function wasm(): Core {
  if (!starknet.value) {
    throw new LatchkeyError('NOT_INITIALIZED', 'Call `await init()` from @latchkey/sdk before using keys.');
  }
  return starknet.value;
}

/** @internal The key-sealing module, loaded on first use. */
export function keysCore(): Promise<KeysCore> {
  return keys.get();
}

/** @internal The key-sealing module once `keysCore()` has loaded it (NOT_INITIALIZED before). */
export function loadedKeysCore(): KeysCore {
  if (!keys.value) throw new LatchkeyError('NOT_INITIALIZED', 'The key-sealing module is not loaded.');
  return keys.value;
}

/** @internal The EVM module, loaded on first use. */
export function evmCore(): Promise<EvmCore> {
  return evm.get();
}

/** @internal The EVM module once `evmCore()` has loaded it (NOT_INITIALIZED before). */
export function loadedEvmCore(): EvmCore {
  if (!evm.value) throw new LatchkeyError('NOT_INITIALIZED', 'The EVM module is not loaded; call an EvmClient method first.');
  return evm.value;
}
