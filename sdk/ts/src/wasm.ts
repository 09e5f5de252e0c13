/**
 * Loading the WebAssembly core once. In a browser (or any bundler) the module is fetched
 * from `./wasm/latchkey_wasm_bg.wasm` next to this file; in Node.js it is read from disk.
 */
import initWasm, * as core from './wasm/latchkey_wasm.js';
import { LatchkeyError } from './errors.js';

export type Core = typeof core;

let ready = false;
let loading: Promise<void> | null = null;

export function isNode(): boolean {
  const p = (globalThis as { process?: { versions?: { node?: string } } }).process;
  return typeof p?.versions?.node === 'string';
}

async function readFileBytes(url: URL): Promise<BufferSource> {
  // A computed specifier keeps bundlers from pulling `fs` into browser builds.
  const name = 'node:fs/promises';
  const fs = (await import(/* @vite-ignore */ name)) as { readFile(u: URL): Promise<BufferSource> };
  return fs.readFile(url);
}

async function source(wasm?: BufferSource | URL | string): Promise<BufferSource | URL | Response> {
  if (wasm === undefined) {
    const url = new URL('./wasm/latchkey_wasm_bg.wasm', import.meta.url);
    return url.protocol === 'file:' && isNode() ? readFileBytes(url) : url;
  }
  if (typeof wasm === 'string' || wasm instanceof URL) {
    const url = wasm instanceof URL ? wasm : toUrl(wasm);
    return url.protocol === 'file:' && isNode() ? readFileBytes(url) : url;
  }
  return wasm;
}

function toUrl(text: string): URL {
  if (isNode() && (text.startsWith('/') || /^[A-Za-z]:[\\/]/.test(text))) {
    return new URL(`file://${text.startsWith('/') ? '' : '/'}${text.replace(/\\/g, '/')}`);
  }
  const base = (globalThis as { location?: { href?: string } }).location?.href ?? import.meta.url;
  return new URL(text, base);
}

/**
 * Loads the WebAssembly module. Idempotent: later and concurrent calls share the first
 * load. Without an argument the `.wasm` file next to the module is used.
 */
export function init(wasm?: BufferSource | URL | string): Promise<void> {
  if (ready) return Promise.resolve();
  if (!loading) {
    loading = (async () => {
      try {
        await initWasm({ module_or_path: await source(wasm) });
        ready = true;
      } catch (e) {
        loading = null;
        const reason = e instanceof Error ? e.message : String(e);
        throw new LatchkeyError('NOT_INITIALIZED', `Could not load the latchkey WebAssembly module: ${reason}`, { cause: e });
      }
    })();
  }
  return loading;
}

/** Whether `init()` has completed. */
export function isInitialized(): boolean {
  return ready;
}

/** The core, or NOT_INITIALIZED when `init()` has not completed. */
export function wasm(): Core {
  if (!ready) {
    throw new LatchkeyError('NOT_INITIALIZED', 'Call `await init()` from @latchkey/sdk before using keys.');
  }
  return core;
}
