// test-vectors/oprf-lk2.json: RFC 9497's ristretto255-SHA512 vectors reproduced by the
// independent server half in tests/oprf.ts, then the lk2 envelope opened by the SDK's
// client half (latchkey-wasm: blindPin / finalize) against that server.
import { beforeAll, describe, expect, it } from 'vitest';
import * as sdk from '../dist/index.js';
import * as core from '../dist/wasm/latchkey_evm.js';
import { evmCore } from '../dist/wasm.js';
import { caught } from './helpers.js';
import { blindEvaluate, deriveKeyPair, evaluate, hex, oprfVectors, scalarBytes, unhex, walletKey } from './oprf.js';

const v = oprfVectors();
const entropy = () => crypto.getRandomValues(new Uint8Array(64));

beforeAll(async () => {
  await sdk.init();
  await evmCore(); // `core` (the EVM module, with key sealing) is used directly below
});

describe('RFC 9497 A.1.1 (ristretto255-SHA512, OPRF)', () => {
  it('DeriveKeyPair and Evaluate give the RFC values', () => {
    const sk = deriveKeyPair(unhex(v.rfc9497.seed), unhex(v.rfc9497.keyInfo));
    expect(hex(scalarBytes(sk))).toBe(v.rfc9497.skSm);
    expect(v.rfc9497.cases).toHaveLength(2);
    for (const c of v.rfc9497.cases) expect(hex(evaluate(sk, unhex(c.input)))).toBe(c.output);
    // Another seed, another key.
    expect(deriveKeyPair(new Uint8Array(32), unhex(v.rfc9497.keyInfo))).not.toBe(sk);
  });

  it('the SDK blinds: a fresh element every time, never the unblinded point', () => {
    const pin = v.lk2.pin;
    const a = core.blindPin(pin, entropy());
    const b = core.blindPin(pin, entropy());
    expect(a.blindedElement).toHaveLength(32);
    expect(hex(a.blindedElement)).not.toBe(hex(b.blindedElement));
    a.free();
    b.free();
  });
});

describe('the lk2 envelope vector', () => {
  const account = v.lk2.account;
  const key = () => walletKey(unhex(v.lk2.master), v.lk2.keyId, account);

  it('the wallet key evaluates the PIN to the recorded output', () => {
    expect(hex(evaluate(key(), new TextEncoder().encode(v.lk2.pin)))).toBe(v.lk2.oprfOutput);
  });

  it('opens through a blinded round trip with the right PIN only', async () => {
    const open = (pin: string, sk: bigint) => {
      const blind = core.blindPin(pin, entropy());
      const secret = blind.finalize(blindEvaluate(sk, blind.blindedElement), v.lk2.keyId);
      expect(secret.oprfKeyId).toBe('v1');
      try {
        return core.unlockOwnerKey(v.lk2.envelope, v.lk2.publicKey, account, secret);
      } finally {
        secret.free();
      }
    };
    const owner = open(v.lk2.pin, key());
    expect(owner.publicKey).toBe(v.lk2.publicKey);
    expect(BigInt(owner.exportPrivateKeyPlaintext())).toBe(BigInt(v.lk2.privateKey));
    owner.free();
    expect((await caught(() => open('482914', key()))).code).toBe('OWNER_KEY_DECRYPTION_FAILED');
    const elsewhere = walletKey(unhex(v.lk2.master), 'v1', '0x1234');
    expect((await caught(() => open(v.lk2.pin, elsewhere))).code).toBe('OWNER_KEY_DECRYPTION_FAILED');
    // The PIN alone: lk2 needs the server.
    const alone = core.Secret.passphrase(v.lk2.pin);
    const err = await caught(() => core.unlockOwnerKey(v.lk2.envelope, v.lk2.publicKey, account, alone));
    expect([err.code, err.numericCode]).toEqual(['OPRF_REQUIRED', 207]);
    alone.free();
    const offline = await caught(sdk.unlockOwnerKey(v.lk2.envelope, { pin: v.lk2.pin }, account, v.lk2.publicKey));
    expect(offline.code).toBe('OPRF_REQUIRED');
    expect(offline.message).toContain('unlockOwnerKeyWithPin');
  });

  it('envelopeInfo reads it without any secret', () => {
    expect(sdk.envelopeInfo(v.lk2.envelope)).toEqual({
      format: 'lk2',
      kind: 'owner',
      kdf: 'argon2id',
      oprfKeyId: 'v1',
      serverShare: null,
      offlineGuessable: false,
      needsUpgrade: true,
    });
    expect(sdk.encryptedKeyFormat(v.lk2.envelope)).toBe('lk2');
    const e = (() => {
      try {
        sdk.envelopeInfo('0x' + 'ab'.repeat(32));
      } catch (err) {
        return err as sdk.LatchkeyError;
      }
      throw new Error('expected a refusal');
    })();
    expect(e.code).toBe('INVALID_ENCRYPTED_KEY');
    expect(e.message).not.toContain('abab');
  });

  it('a bad evaluation is INVALID_OPRF_ELEMENT and a bad key id INVALID_INPUT', async () => {
    for (const bad of [new Uint8Array(32), new Uint8Array(31), new Uint8Array(32).fill(0xff)]) {
      const blind = core.blindPin(v.lk2.pin, entropy());
      const err = await caught(() => blind.finalize(bad, 'v1'));
      expect([err.code, err.numericCode]).toEqual(['INVALID_OPRF_ELEMENT', 208]);
    }
    const blind = core.blindPin(v.lk2.pin, entropy());
    const evaluated = blindEvaluate(key(), blind.blindedElement);
    expect((await caught(() => blind.finalize(evaluated, 'v1$x'))).code).toBe('INVALID_INPUT');
    expect((await caught(() => core.blindPin('', entropy()))).code).toBe('INVALID_INPUT');
  });
});

describe('the lk2Secp256k1 envelope vector (an EVM owner key)', () => {
  const e = v.lk2Secp256k1;
  const key = () => walletKey(unhex(e.master), e.keyId, e.account);

  it('the wallet key of the address evaluates the PIN to the recorded output', () => {
    expect(hex(evaluate(key(), new TextEncoder().encode(e.pin)))).toBe(e.oprfOutput);
  });

  it('opens through a blinded round trip to the recorded address, with the right PIN only', async () => {
    const open = (pin: string) => {
      const blind = core.blindPin(pin, entropy());
      const secret = blind.finalize(blindEvaluate(key(), blind.blindedElement), e.keyId);
      try {
        return core.unlockEvmKey(e.envelope, 'owner', e.account, e.address, secret);
      } finally {
        secret.free();
      }
    };
    const owner = open(e.pin);
    expect(owner.address).toBe(e.address);
    owner.free();
    expect((await caught(() => open('482914'))).code).toBe('OWNER_KEY_DECRYPTION_FAILED');
    expect(sdk.envelopeInfo(e.envelope)).toMatchObject({ format: 'lk2', kind: 'owner', oprfKeyId: 'v1' });
  });
});
