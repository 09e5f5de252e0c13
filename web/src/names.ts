// Readable names for the selectors and contracts a session may call.

import { normalizeFelt, selectorFromName } from '@latchkey/sdk';

const KNOWN_ENTRYPOINTS = [
  'make_move',
  'claim_reward',
  'transfer',
  'transfer_from',
  'transferFrom',
  'approve',
  'increase_allowance',
  'increaseAllowance',
];

let selectors: Map<string, string> | null = null;

/** The entrypoint name of a selector when it is a well-known one, else the selector. */
export function entrypointName(selector: string): string {
  if (!selectors) {
    selectors = new Map(KNOWN_ENTRYPOINTS.map((name) => [selectorFromName(name), name]));
  }
  try {
    return selectors.get(normalizeFelt(selector)) ?? selector;
  } catch {
    return selector;
  }
}

/** Whether two felts (hex) are the same number. */
export function sameFelt(a: string | null | undefined, b: string | null | undefined): boolean {
  if (!a || !b) return false;
  try {
    return normalizeFelt(a) === normalizeFelt(b);
  } catch {
    return false;
  }
}

/** A short text as a Cairo short string (at most 31 ASCII characters), hex. */
export function shortString(text: string): string {
  if (text.length === 0 || text.length > 31 || !/^[\x20-\x7e]+$/.test(text)) {
    throw new Error('a short string is 1 to 31 printable ASCII characters');
  }
  return `0x${Array.from(text, (c) => c.charCodeAt(0).toString(16).padStart(2, '0')).join('')}`;
}
