// lk1 keys: round trips, wrong secrets, tampering, weak PINs, and secrets that never show.
import { beforeAll, describe, expect, it } from 'vitest';
import * as sdk from '../dist/index.js';
import { caught } from './helpers.js';

const PIN = '482913';
const ACCOUNT = '0x64bcb10d7ec411c1e158a6b597b48153335fff3f79b12bc104deed7b3a01d8d';
const CLASS_HASH = '0x053f4f8791ed5bed0fddaa553d180c664e32cfaf8316bb232ae77bb08f459f2a';
const TYPED_DATA = {
  types: {
    StarknetDomain: [
      { name: 'name', type: 'shortstring' },
      { name: 'version', type: 'shortstring' },
      { name: 'chainId', type: 'shortstring' },
      { name: 'revision', type: 'shortstring' },
    ],
    Note: [
      { name: 'Text', type: 'shortstring' },
      { name: 'Amount', type: 'u128' },
    ],
  },
  primaryType: 'Note',
  domain: { name: 'latchkey', version: '1', chainId: 'SN_SEPOLIA', revision: '1' },
  message: { Text: 'hello', Amount: '42' },
};

beforeAll(async () => {
  await sdk.init();
});

/** Flips one character of the base64url payload (the last `$` field). */
function tamper(envelope: string): string {
  const at = envelope.length - 5;
  const ch = envelope[at] === 'A' ? 'B' : 'A';
  return envelope.slice(0, at) + ch + envelope.slice(at + 1);
}

describe('init', () => {
  it('is idempotent and concurrent calls share one load', async () => {
    await Promise.all([sdk.init(), sdk.init(), sdk.init()]);
    expect(sdk.isInitialized()).toBe(true);
    expect(sdk.version()).toMatch(/^\d+\.\d+\.\d+/);
  });
});

describe('lk1 session keys', () => {
  it('round-trip: create, store, unlock, sign, verify', async () => {
    const { data, signer } = await sdk.createSessionKey({ pin: PIN }, { account: ACCOUNT, durationSeconds: 600, kdf: 'floor', format: 'lk1' });
    expect(data.encryptedPrivateKey.startsWith('lk1$session$argon2id$m=19456,t=2,p=1$')).toBe(true);
    const reopened = await sdk.unlockSessionKey(JSON.parse(JSON.stringify(data)), { pin: PIN }, ACCOUNT);
    expect(reopened.publicKey).toBe(signer.publicKey);
    const hash = sdk.messageHash(TYPED_DATA, ACCOUNT);
    const [pub, r, s, validUntil] = reopened.signTypedData(TYPED_DATA);
    expect(pub).toBe(data.publicKey);
    expect(BigInt(validUntil)).toBe(BigInt(data.validUntil));
    expect(sdk.verifySignature(pub, hash, r, s)).toBe(true);
    expect(sdk.verifySignature(pub, hash, s, r)).toBe(false);
    signer.free();
    reopened.free();
  });

  it('default cost is the current Argon2id parameters', async () => {
    const { data, signer } = await sdk.createSessionKey({ pin: PIN }, { account: ACCOUNT, format: 'lk1' });
    expect(data.encryptedPrivateKey.startsWith('lk1$session$argon2id$m=131072,t=3,p=4$')).toBe(true);
    expect(sdk.needsUpgrade(data.encryptedPrivateKey)).toBe(false);
    signer.free();
  });

  it('a wrong PIN, another account, a tampered envelope: SESSION_DECRYPTION_FAILED', async () => {
    const { data, signer } = await sdk.createSessionKey({ pin: PIN }, { account: ACCOUNT, kdf: 'floor', format: 'lk1' });
    signer.free();
    const wrong = await caught(sdk.unlockSessionKey(data, { pin: '482914' }, ACCOUNT));
    expect(wrong).toBeInstanceOf(sdk.LatchkeyError);
    expect([wrong.code, wrong.numericCode]).toEqual(['SESSION_DECRYPTION_FAILED', 6]);
    const other = await caught(sdk.unlockSessionKey(data, { pin: PIN }, '0x1234'));
    expect(other.code).toBe('SESSION_DECRYPTION_FAILED');
    const tampered = await caught(sdk.unlockSessionKey({ ...data, encryptedPrivateKey: tamper(data.encryptedPrivateKey) }, { pin: PIN }, ACCOUNT));
    expect(tampered.code).toBe('SESSION_DECRYPTION_FAILED');
    const swapped = await caught(sdk.unlockSessionKey({ ...data, publicKey: '0x1' }, { pin: PIN }, ACCOUNT));
    expect(swapped.code).toBe('SESSION_DECRYPTION_FAILED');
  });

  it('an owner envelope does not open as a session key, nor the reverse', async () => {
    const owner = await sdk.createOwnerKey({ pin: PIN }, { classHash: CLASS_HASH, kdf: 'floor', format: 'lk1' });
    const asSession = await caught(
      sdk.unlockSessionKey({ publicKey: owner.publicKey, encryptedPrivateKey: owner.encryptedPrivateKey, validUntil: 1 }, { pin: PIN }, owner.address),
    );
    expect(asSession.code).toBe('SESSION_DECRYPTION_FAILED');
    const tampered = await caught(sdk.unlockOwnerKey(tamper(owner.encryptedPrivateKey), { pin: PIN }, owner));
    expect([tampered.code, tampered.numericCode]).toEqual(['OWNER_KEY_DECRYPTION_FAILED', 101]);
    const noKey = await caught(sdk.unlockOwnerKey(owner.encryptedPrivateKey, { pin: PIN }, owner.address));
    expect(noKey.code).toBe('INVALID_INPUT');
  });

  it('PRF secrets seal with HKDF and need the same 32 bytes', async () => {
    const prf = new Uint8Array(32).map((_, i) => i * 7 + 1);
    const { data, signer } = await sdk.createSessionKey({ prf }, { account: ACCOUNT });
    signer.free();
    expect(data.encryptedPrivateKey.startsWith('lk1$session$hkdf-prf$')).toBe(true);
    const back = await sdk.unlockSessionKey(data, { prf }, ACCOUNT);
    back.free();
    const other = prf.slice();
    other[0] ^= 1;
    expect((await caught(sdk.unlockSessionKey(data, { prf: other }, ACCOUNT))).code).toBe('SESSION_DECRYPTION_FAILED');
    expect((await caught(sdk.createSessionKey({ prf: new Uint8Array(16) }, { account: ACCOUNT }))).code).toBe('INVALID_INPUT');
  });
});

describe('PIN strength', () => {
  it('weak PINs are named and refused in every format (K9)', async () => {
    for (const weak of ['123456', '111111', '1234', '000000']) {
      expect(sdk.pinWeakness(weak)).toEqual(expect.any(String));
      const err = await caught(sdk.createSessionKey({ pin: weak }, { account: ACCOUNT, kdf: 'floor', format: 'lk1' }));
      expect([err.code, err.numericCode]).toEqual(['WEAK_PIN', 100]);
      const owner = await caught(sdk.createOwnerKey({ pin: weak }, { classHash: CLASS_HASH, kdf: 'floor', format: 'lk1' }));
      expect(owner.code).toBe('WEAK_PIN');
      const chipi = await caught(sdk.createSessionKey({ pin: weak }, { account: ACCOUNT, format: 'chipi' }));
      expect(chipi.code).toBe('WEAK_PIN');
    }
    expect(sdk.pinWeakness(PIN)).toBeNull();
    const chipi = await sdk.createSessionKey({ pin: PIN }, { account: ACCOUNT, format: 'chipi' });
    chipi.signer.free();
  });

  it('malformed secrets and options are INVALID_INPUT', async () => {
    expect((await caught(sdk.createSessionKey({} as any, { account: ACCOUNT }))).code).toBe('INVALID_INPUT');
    expect((await caught(sdk.createSessionKey({ pin: PIN, prf: new Uint8Array(32) } as any, { account: ACCOUNT }))).code).toBe('INVALID_INPUT');
    expect((await caught(sdk.createSessionKey({ pin: PIN }, { account: ACCOUNT, format: 'pem' as any }))).code).toBe('INVALID_INPUT');
    expect((await caught(sdk.createSessionKey({ pin: PIN }, { account: 'not a felt', format: 'lk1' }))).code).toBe('INVALID_INPUT');
    expect(
      (await caught(sdk.createSessionKey({ pin: PIN }, { account: ACCOUNT, format: 'lk1', kdf: { memoryKib: 8, iterations: 1, parallelism: 1 } }))).code,
    ).toBe('INVALID_INPUT');
  });
});

describe('secrets never show', () => {
  const passphrase = 'correct horse 90210 battery';

  it('not in errors, JSON or strings of signers', async () => {
    const { data, signer } = await sdk.createSessionKey({ passphrase }, { account: ACCOUNT, kdf: 'floor', format: 'lk1' });
    const owner = await sdk.createOwnerKey({ passphrase }, { classHash: CLASS_HASH, kdf: 'floor', format: 'lk1' });
    const ownerSigner = await sdk.unlockOwnerKey(owner.encryptedPrivateKey, { passphrase }, owner);
    const errors = [
      await caught(sdk.unlockSessionKey(data, { passphrase: passphrase + '!' }, ACCOUNT)),
      await caught(sdk.unlockOwnerKey(owner.encryptedPrivateKey, { passphrase: passphrase + '!' }, owner)),
      await caught(sdk.createSessionKey({ pin: '123456' }, { account: ACCOUNT, format: 'lk1' })),
      await caught(() => signer.signTypedData({ ...TYPED_DATA, primaryType: 'Missing' })),
    ];
    const shown = [
      JSON.stringify(signer),
      String(signer),
      JSON.stringify(ownerSigner),
      String(ownerSigner),
      JSON.stringify({ signer, ownerSigner }),
      ...errors.flatMap((e) => [e.message, String(e), JSON.stringify(e), e.stack ?? '']),
    ].join('\n');
    for (const secret of [passphrase, '123456', data.encryptedPrivateKey, owner.encryptedPrivateKey.slice(-40)]) {
      expect(shown).not.toContain(secret);
    }
    expect(errors.every((e) => e instanceof sdk.LatchkeyError)).toBe(true);
    // The only plaintext-capable fields of the signer are absent from its JSON form.
    expect(Object.keys(JSON.parse(JSON.stringify(signer))).sort()).toEqual(['account', 'privateKey', 'publicKey', 'type', 'validUntil']);
    expect(JSON.parse(JSON.stringify(signer)).privateKey).toBe('[redacted]');
    ownerSigner.free();
    signer.free();
  });

  it('a freed signer refuses to sign', async () => {
    const { signer } = await sdk.createSessionKey({ pin: PIN }, { account: ACCOUNT, kdf: 'floor', format: 'lk1' });
    signer.free();
    signer.free();
    expect(signer.freed).toBe(true);
    const err = await caught(() => signer.signTypedData(TYPED_DATA));
    expect(err.code).toBe('SESSION_LOCKED');
  });
});
