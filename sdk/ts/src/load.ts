/**
 * Loading a WebAssembly module of the SDK once, when first needed: where its bytes come
 * from (next to the glue, or given), in a browser or Node.js. Shared by the full SDK
 * (`wasm.ts`) and the session entry (`session.ts`).
 */
import { LatchkeyError } from './errors.js';

/** Where a module comes from: its bytes, or a URL or path of its `.wasm` file. */
export type WasmSource = BufferSource | URL | string;

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

export async function source(wasm: WasmSource | undefined, fallback: URL): Promise<BufferSource | URL | Response> {
  if (wasm === undefined) {
    return fallback.protocol === 'file:' && isNode() ? readFileBytes(fallback) : fallback;
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

export type InitGlue = (opts: { module_or_path: BufferSource | URL | Response }) => Promise<unknown>;

/** One module: loaded once; a failed load may be tried again. */
export class Lazy<M> {
  value: M | null = null;
  #loading: Promise<M> | null = null;
  #load: (from: WasmSource | undefined) => Promise<M>;
  from: WasmSource | undefined;

  constructor(load: (from: WasmSource | undefined) => Promise<M>) {
    this.#load = load;
  }

  get(): Promise<M> {
    if (this.value) return Promise.resolve(this.value);
    if (!this.#loading) {
      this.#loading = this.#load(this.from).then(
        (m) => {
          this.value = m;
          return m;
        },
        (e: unknown) => {
          this.#loading = null;
          const reason = e instanceof Error ? e.message : String(e);
          throw new LatchkeyError('NOT_INITIALIZED', `Could not load the latchkey WebAssembly module: ${reason}`, { cause: e });
        },
      );
    }
    return this.#loading;
  }
}

export async function start<M>(glue: M & { default: InitGlue }, from: WasmSource | undefined, fallback: URL): Promise<M> {
  await glue.default({ module_or_path: await source(from, fallback) });
  return glue;
}
