/**
 * PINs checked by the server (`lk2`): the PIN is blinded in the key vault, the wallet's
 * server evaluates it under the wallet's OPRF key (`POST /api/wallets/{address}/pin/evaluate`,
 * one counted attempt), and the answer is unblinded in the vault into the secret that
 * seals and opens `lk2` envelopes. The server never sees the PIN; nothing stored anywhere
 * lets a PIN be tested without asking it. After a key opens, a `pin-unlock` proof by that
 * key (`/pin/confirm`) resets the wallet's attempt counter.
 */
import type { LatchkeyClient, PinEvaluation } from './client.js';
import { LatchkeyError } from './errors.js';
import { fromBase64Url, secretText, type Secret } from './secret.js';
import { getVault, type VaultSecret } from './vault.js';
import { wasm } from './wasm.js';

/** How often an evaluation refused by the rate limit (which does not count it) is retried. */
const RATE_LIMIT_RETRIES = 4;
const FIRST_RATE_LIMIT_WAIT_MS = 500;
const LONGEST_RATE_LIMIT_WAIT_MS = 5_000;

/** A PIN with the server's evaluation mixed in (held in the vault) and the server's answer. */
export interface EvaluatedPin {
  pin: VaultSecret;
  evaluation: PinEvaluation;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** `client.pinEvaluate`, retried while the answer is 429 RATE_LIMITED (with its `Retry-After`). */
export async function evaluatePatiently(
  client: LatchkeyClient,
  account: string,
  blinded: Uint8Array,
  keyId: string | undefined,
): Promise<PinEvaluation> {
  let wait = FIRST_RATE_LIMIT_WAIT_MS;
  for (let attempt = 0; ; attempt++) {
    try {
      return await client.pinEvaluate(account, blinded, keyId);
    } catch (e) {
      if (!(e instanceof LatchkeyError && e.code === 'RATE_LIMITED') || attempt >= RATE_LIMIT_RETRIES) throw e;
      const asked = e.retryAfterSeconds !== undefined ? e.retryAfterSeconds * 1000 : wait;
      await sleep(Math.min(LONGEST_RATE_LIMIT_WAIT_MS, Math.max(asked, 100)));
      wait *= 2;
    }
  }
}

/**
 * Has the wallet's server evaluate `secret` (a PIN or passphrase) for `account` under the
 * OPRF key `keyId` (the one an envelope names; default: the server's current key). One
 * counted attempt. The caller frees `pin`.
 */
export async function evaluatePin(client: LatchkeyClient, account: string, secret: Secret, keyId?: string): Promise<EvaluatedPin> {
  const vault = await getVault();
  const pin = await vault.open(secret, { blind: true });
  try {
    const evaluation = await evaluatePatiently(client, account, pin.blindedElement as Uint8Array, keyId);
    const element = fromBase64Url(evaluation.evaluatedElement);
    if (element === null || element.length !== 32) {
      throw new LatchkeyError('INVALID_OPRF_ELEMENT', "The server's PIN evaluation is not 32 bytes of base64url.");
    }
    await pin.finalize(element, evaluation.keyId);
    return { pin, evaluation };
  } catch (e) {
    pin.free();
    throw e;
  }
}

export { explainWrongPin } from './errors.js';

/** Why a new PIN is refused before it is sent anywhere (the core's WEAK_PIN). */
export function refuseWeakPin(secret: Secret): void {
  const text = secretText(secret);
  if (text === null) return;
  const why = wasm().pinWeakness(text);
  if (why) throw new LatchkeyError('WEAK_PIN', `Weak PIN: ${why}.`);
}
