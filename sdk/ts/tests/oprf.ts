// The server half of RFC 9497 (ristretto255-SHA512, OPRF mode), written here from the RFC
// with @noble/curves' ristretto255 and hash-to-curve, independent of latchkey-core: it
// checks itself against the RFC's vectors (test-vectors/oprf-lk2.json), then stands in for
// the wallet server in the SDK's tests, counting attempts as latchkey's server does.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expand_message_xmd } from '@noble/curves/abstract/hash-to-curve';
import { RistrettoPoint, hashToRistretto255 } from '@noble/curves/ed25519';
import { sha512 } from '@noble/hashes/sha512';
import * as sdk from '../dist/index.js';

const utf8 = (text: string) => new TextEncoder().encode(text);
const concat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};
const i2osp = (value: number, length: number) => {
  const out = new Uint8Array(length);
  for (let i = length - 1, v = value; i >= 0; i--, v >>= 8) out[i] = v & 0xff;
  return out;
};
export const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
export const unhex = (text: string) => Uint8Array.from(Buffer.from(text, 'hex'));
const b64url = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');

/** The group order of ristretto255. */
const ORDER = 2n ** 252n + 27742317777372353535851937790883648493n;
/** RFC 9497 §3.1: "OPRFV1-" || I2OSP(mode, 1) || "-" || identifier; mode 0 = OPRF. */
const CONTEXT = concat(utf8('OPRFV1-'), i2osp(0, 1), utf8('-ristretto255-SHA512'));

function hashToScalar(message: Uint8Array, dst: Uint8Array): bigint {
  const uniform = expand_message_xmd(message, dst, 64, sha512);
  let n = 0n;
  for (let i = uniform.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(uniform[i]);
  return n % ORDER;
}

/** RFC 9497 §3.2.1 DeriveKeyPair(seed, info): the private scalar. */
export function deriveKeyPair(seed: Uint8Array, info: Uint8Array): bigint {
  const input = concat(seed, i2osp(info.length, 2), info);
  for (let counter = 0; counter < 256; counter++) {
    const sk = hashToScalar(concat(input, i2osp(counter, 1)), concat(utf8('DeriveKeyPair'), CONTEXT));
    if (sk !== 0n) return sk;
  }
  throw new Error('DeriveKeyPairError');
}

/** A scalar as the RFC serialises it (32 bytes, little-endian). */
export function scalarBytes(sk: bigint): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 0, v = sk; i < 32; i++, v >>= 8n) out[i] = Number(v & 0xffn);
  return out;
}

/** RFC 9497 Evaluate(skS, input): the OPRF output without blinding. */
export function evaluate(sk: bigint, input: Uint8Array): Uint8Array {
  const element = hashToRistretto255(input, { DST: concat(utf8('HashToGroup-'), CONTEXT) }).multiply(sk).toRawBytes();
  return sha512(concat(i2osp(input.length, 2), input, i2osp(element.length, 2), element, utf8('Finalize')));
}

/** RFC 9497 BlindEvaluate(skS, blindedElement): refuses what is not a non-identity point. */
export function blindEvaluate(sk: bigint, blinded: Uint8Array): Uint8Array {
  const point = RistrettoPoint.fromHex(blinded);
  if (point.equals(RistrettoPoint.ZERO)) throw new Error('the identity is not a blinded element');
  return point.multiply(sk).toRawBytes();
}

/** A wallet's OPRF key as latchkey's server derives it: info = label 0 keyId 0 account (32 bytes BE). */
export function walletKey(master: Uint8Array, keyId: string, account: string): bigint {
  const address = unhex(BigInt(account).toString(16).padStart(64, '0'));
  return deriveKeyPair(master, concat(utf8('latchkey/lk2/oprf'), new Uint8Array([0]), utf8(keyId), new Uint8Array([0]), address));
}

/** test-vectors/oprf-lk2.json, read at run time. */
export function oprfVectors(): any {
  const path = fileURLToPath(new URL('../../../test-vectors/oprf-lk2.json', import.meta.url));
  return JSON.parse(readFileSync(path, 'utf8'));
}

export const CHAIN_FELT = '0x534e5f5345504f4c4941';

/**
 * latchkey's PIN routes in memory: evaluation under a per-wallet key (counted first),
 * confirmation by a pin-unlock proof (verified, single-use challenge), and the lock.
 */
export class OprfTestServer {
  readonly master = new Uint8Array(32).map((_, i) => (i * 37 + 11) & 0xff);
  currentKeyId = 'v1';
  keyIds = ['v1'];
  maxFailures = 10;
  lockSeconds = 60;
  failures = new Map<string, number>();
  lockedUntil = new Map<string, number>();
  evaluations: { account: string; keyId: string }[] = [];
  confirmations: { account: string; publicKey: string }[] = [];
  /** Keys a confirmation may come from, per wallet (the owner and its registered session keys). */
  keysOf: (account: string) => string[] = () => [];
  #challenges = new Map<string, { account: string; used: boolean }>();
  #n = 0;

  #key(account: string) {
    return sdk.normalizeFelt(account);
  }

  /** What POST /pin/evaluate answers (a thrown LatchkeyError for the refusals). */
  evaluate(account: string, blindedElement: string, keyId?: string): sdk.PinEvaluation {
    const id = keyId ?? this.currentKeyId;
    if (!this.keyIds.includes(id)) {
      throw new sdk.LatchkeyError('UNKNOWN_OPRF_KEY', `no OPRF key ${id}`, { status: 400, serverCode: 'UNKNOWN_OPRF_KEY' });
    }
    let evaluated: Uint8Array;
    try {
      const bytes = Buffer.from(blindedElement, 'base64url');
      if (bytes.length !== 32) throw new Error('length');
      evaluated = blindEvaluate(walletKey(this.master, id, account), Uint8Array.from(bytes));
    } catch {
      throw new sdk.LatchkeyError('INVALID_OPRF_ELEMENT', 'bad element', { status: 400, serverCode: 'INVALID_OPRF_ELEMENT' });
    }
    const wallet = this.#key(account);
    const now = Math.floor(Date.now() / 1000);
    const until = this.lockedUntil.get(wallet);
    if (until !== undefined && until > now) {
      throw new sdk.LatchkeyError('PIN_LOCKED', 'too many PIN attempts', {
        status: 423,
        serverCode: 'PIN_LOCKED',
        retryAfterSeconds: until - now,
        lockedUntil: until,
      });
    }
    const failures = (this.failures.get(wallet) ?? 0) + 1;
    this.failures.set(wallet, failures);
    this.evaluations.push({ account: wallet, keyId: id });
    let lockedUntil: number | undefined;
    if (failures >= this.maxFailures) {
      lockedUntil = now + this.lockSeconds;
      this.lockedUntil.set(wallet, lockedUntil);
    }
    const challenge = '0x' + (0xbee000 + ++this.#n).toString(16);
    this.#challenges.set(challenge, { account: wallet, used: false });
    const answer: sdk.PinEvaluation = {
      evaluatedElement: b64url(evaluated),
      keyId: id,
      currentKeyId: this.currentKeyId,
      attemptsRemaining: Math.max(0, this.maxFailures - failures),
      challenge: { challenge, purpose: 'pin-unlock', chainId: CHAIN_FELT, expiresAt: now + 300 },
    };
    if (lockedUntil !== undefined) answer.lockedUntil = lockedUntil;
    return answer;
  }

  /** What POST /pin/confirm does with a body: checks the proof, resets the counter. */
  confirm(account: string, body: { publicKey?: string; proof: { challenge: string; signature: string[] } }): sdk.PinStatus {
    const wallet = this.#key(account);
    const keys = this.keysOf(wallet).map((k) => sdk.normalizeFelt(k));
    const key = body.publicKey === undefined ? keys[0] : sdk.normalizeFelt(body.publicKey);
    const issued = this.#challenges.get(body.proof.challenge);
    const refuse = (why: string) => new sdk.LatchkeyError('INVALID_PROOF', why, { status: 403, serverCode: 'INVALID_PROOF' });
    if (key === undefined || !keys.includes(key)) throw refuse('not a key of this wallet');
    const hash = sdk.proofHash(CHAIN_FELT, wallet, 'pin-unlock', body.proof.challenge, key);
    const [r, s] = body.proof.signature;
    if (!sdk.verifySignature(key, hash, r, s)) throw refuse('the proof does not verify');
    if (!issued || issued.used || issued.account !== wallet) throw refuse('unknown or used challenge');
    issued.used = true;
    this.failures.set(wallet, 0);
    this.lockedUntil.delete(wallet);
    this.confirmations.push({ account: wallet, publicKey: key });
    return this.status(wallet);
  }

  /**
   * The core's Secret for `pin` with this server's evaluation for `account` (a round trip
   * through the core's blindPin / finalize, not counted): to open what the SDK sealed.
   */
  secretFor<S>(
    core: { blindPin(pin: string, entropy: Uint8Array): { blindedElement: Uint8Array; finalize(evaluated: Uint8Array, keyId: string): S } },
    pin: string,
    account: string,
    keyId = this.currentKeyId,
  ): S {
    const entropy = crypto.getRandomValues(new Uint8Array(64));
    const blind = core.blindPin(pin, entropy);
    const evaluated = blindEvaluate(walletKey(this.master, keyId, account), blind.blindedElement);
    return blind.finalize(evaluated, keyId);
  }

  status(account: string): sdk.PinStatus {
    const wallet = this.#key(account);
    const failures = this.failures.get(wallet) ?? 0;
    const status: sdk.PinStatus = {
      walletAddress: wallet,
      failures,
      attemptsRemaining: Math.max(0, this.maxFailures - failures),
      evaluations: this.evaluations.filter((e) => e.account === wallet).length,
      currentKeyId: this.currentKeyId,
    };
    const until = this.lockedUntil.get(wallet);
    if (until !== undefined) status.lockedUntil = until;
    return status;
  }
}
