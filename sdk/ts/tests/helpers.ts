import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The Chipi SDK 14.4.0 capture (test-vectors/), read at run time. */
export function capture(): any {
  const path = fileURLToPath(new URL('../../../test-vectors/chipi-sdk-14.4.0-capture.json', import.meta.url));
  return JSON.parse(readFileSync(path, 'utf8'));
}

/** The proof-of-possession vectors (test-vectors/proof-v1.json, computed with starknet.js). */
export function proofVectors(): any {
  const path = fileURLToPath(new URL('../../../test-vectors/proof-v1.json', import.meta.url));
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

/** The SNIP-12 revision 1 domain type. */
export const DOMAIN_TYPES = [
  { name: 'name', type: 'shortstring' },
  { name: 'version', type: 'shortstring' },
  { name: 'chainId', type: 'shortstring' },
  { name: 'revision', type: 'shortstring' },
];

export interface OutsideCall {
  To: string;
  Selector: string;
  Calldata: string[];
}

/** A SNIP-9 v2 outside execution as typed data, with test defaults for what is not given. */
export function outsideExecution(
  calls: OutsideCall[],
  opts: { nonce?: string; chainId?: string; executeAfter?: string; executeBefore?: number } = {},
) {
  const { nonce = '0x5', chainId = 'SN_SEPOLIA', executeAfter = '0x0', executeBefore = 4_000_000_000 } = opts;
  return {
    types: {
      StarknetDomain: DOMAIN_TYPES,
      OutsideExecution: [
        { name: 'Caller', type: 'ContractAddress' },
        { name: 'Nonce', type: 'felt' },
        { name: 'Execute After', type: 'u128' },
        { name: 'Execute Before', type: 'u128' },
        { name: 'Calls', type: 'Call*' },
      ],
      Call: [
        { name: 'To', type: 'ContractAddress' },
        { name: 'Selector', type: 'selector' },
        { name: 'Calldata', type: 'felt*' },
      ],
    },
    primaryType: 'OutsideExecution',
    domain: { name: 'Account.execute_from_outside', version: '2', chainId, revision: '1' },
    message: {
      Caller: '0x414e595f43414c4c4552',
      Nonce: nonce,
      'Execute After': executeAfter,
      'Execute Before': '0x' + executeBefore.toString(16),
      Calls: calls,
    },
  };
}
