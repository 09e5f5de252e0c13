import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The Chipi SDK 14.4.0 capture (test-vectors/), read at run time. */
export function capture(): any {
  const path = fileURLToPath(new URL('../../../test-vectors/chipi-sdk-14.4.0-capture.json', import.meta.url));
  return JSON.parse(readFileSync(path, 'utf8'));
}

/** A Web Storage area in memory. */
export class MemoryStorage implements Storage {
  #items = new Map<string, string>();
  get length(): number {
    return this.#items.size;
  }
  clear(): void {
    this.#items.clear();
  }
  getItem(k: string): string | null {
    return this.#items.get(k) ?? null;
  }
  key(i: number): string | null {
    return [...this.#items.keys()][i] ?? null;
  }
  removeItem(k: string): void {
    this.#items.delete(k);
  }
  setItem(k: string, v: string): void {
    this.#items.set(k, String(v));
  }
  dump(): string {
    return JSON.stringify([...this.#items]);
  }
}

/** Resolves with the LatchkeyError `p` rejects with (fails the test if it resolves). */
export async function caught(p: Promise<unknown> | (() => unknown)): Promise<any> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    return e;
  }
  throw new Error('expected a rejection');
}
