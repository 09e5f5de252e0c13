// Proofs of key possession: test-vectors/proof-v1.json through the WebAssembly functions
// and both signers, cross-checked against starknet.js.
import { ec, hash, shortString } from 'starknet';
import { beforeAll, describe, expect, it } from 'vitest';
import * as sdk from '../dist/index.js';
import * as core from '../dist/wasm/latchkey_starknet.js';
import { caught, proofVectors } from './helpers.js';

const v = proofVectors();
const CHAIN = shortString.encodeShortString(v.chainId);
const TAG = shortString.encodeShortString('latchkey.proof.v1');
const PURPOSES: sdk.ProofPurpose[] = ['create-wallet', 'replace-key', 'restore-key', 'store-session'];

beforeAll(async () => {
  await sdk.init();
});

/** The proof hash as starknet.js computes it. */
function theirProofHash(chainId: string, account: string, purpose: string, challenge: string, payload: string): bigint {
  return BigInt(hash.computePoseidonHashOnElements([TAG, chainId, account, shortString.encodeShortString(purpose), challenge, payload]));
}

const verifies = (publicKeyFull: string | Uint8Array, msgHash: string, [r, s]: string[]) =>
  ec.starkCurve.verify(new ec.starkCurve.Signature(BigInt(r), BigInt(s)), msgHash, publicKeyFull);

describe('proof vectors', () => {
  it('has every purpose', () => {
    expect(v.cases.map((c: any) => c.purpose).sort()).toEqual([...PURPOSES].sort());
    expect(core.shortString(v.chainId)).toBe(sdk.normalizeFelt(CHAIN));
  });

  for (const c of v.cases) {
    it(`payloadHash and proofHash: ${c.purpose}`, () => {
      expect(sdk.payloadHash(c.payload)).toBe(c.payloadHash);
      expect(BigInt(sdk.payloadHash(c.payload))).toBe(BigInt(hash.starknetKeccak(c.payload)));
      const ours = sdk.proofHash(CHAIN, c.account, c.purpose, c.challenge, c.payloadHash);
      expect(ours).toBe(c.proofHash);
      expect(BigInt(ours)).toBe(theirProofHash(CHAIN, c.account, c.purpose, c.challenge, c.payloadHash));
    });

    it(`owner and session signers sign the vector: ${c.purpose}`, () => {
      const owner = new sdk.OwnerSigner(core.OwnerSigner.fromPlaintext(v.privateKey, c.account));
      expect(owner.publicKey).toBe(v.publicKey);
      const sig = owner.signProof(CHAIN, c.purpose, c.challenge, c.payloadHash);
      expect(sig).toEqual([c.signature.r, c.signature.s]);
      expect(sdk.verifySignature(v.publicKey, c.proofHash, sig[0], sig[1])).toBe(true);
      expect(verifies(ec.starkCurve.getPublicKey(v.privateKey), c.proofHash, sig)).toBe(true);
      // The same through prove(), from a server challenge and the payload text.
      const proof = owner.prove({ challenge: c.challenge, purpose: c.purpose, chainId: CHAIN, expiresAt: 0 }, c.payload);
      expect(proof).toEqual({ challenge: c.challenge, signature: [c.signature.r, c.signature.s] });
      owner.free();

      // A session signer of another wallet signs for the account it is given.
      const session = new sdk.SessionSigner(core.SessionSigner.fromPlaintext(v.privateKey, '0x5e', 1));
      expect(session.signProof(CHAIN, c.purpose, c.challenge, c.payloadHash, c.account)).toEqual([c.signature.r, c.signature.s]);
      if (BigInt(c.account) !== 0x5en) {
        expect(session.signProof(CHAIN, c.purpose, c.challenge, c.payloadHash)).not.toEqual([c.signature.r, c.signature.s]);
      }
      session.free();
    });
  }
});

describe('proofs against starknet.js', () => {
  it('proofHash agrees on other inputs, including the largest felts', () => {
    const max = '0x800000000000011000000000000000000000000000000000000000000000000';
    const inputs: [string, string, string, string][] = [
      ['0x534e5f4d41494e', '0x0', '0x0', '0x0'],
      ['0x1', max, max, max],
      [CHAIN, '0x64bcb10d7ec411c1e158a6b597b48153335fff3f79b12bc104deed7b3a01d8d', '0xdeadbeef', sdk.payloadHash('é€😀')],
    ];
    for (const [chain, account, challenge, payload] of inputs) {
      for (const purpose of PURPOSES) {
        expect(BigInt(sdk.proofHash(chain, account, purpose, challenge, payload))).toBe(
          theirProofHash(chain, account, purpose, challenge, payload),
        );
      }
    }
    expect(BigInt(sdk.payloadHash('é€😀'))).toBe(BigInt(hash.starknetKeccak('é€😀')));
    // Decimal felts are the same felts.
    expect(sdk.proofHash('1', '2', 'store-session', '3', '4')).toBe(sdk.proofHash('0x1', '0x2', 'store-session', '0x3', '0x4'));
  });

  it('a generated owner key proves possession for its own wallet', async () => {
    const owner = await sdk.createOwnerSigner({ pin: '482913' }, { classHash: '0x99', kdf: 'floor', format: 'lk1' });
    const payload = sdk.payloadHash(owner.encryptedPrivateKey!);
    const sig = owner.signProof(CHAIN, 'create-wallet', '0x77', payload);
    const h = sdk.proofHash(CHAIN, owner.account, 'create-wallet', '0x77', payload);
    expect(sdk.verifySignature(owner.publicKey, h, sig[0], sig[1])).toBe(true);
    // starknet.js verifies against the full point: the public key is its x coordinate,
    // with one of the two y signs.
    const x = BigInt(owner.publicKey).toString(16).padStart(64, '0');
    const points = ['02', '03'].map((prefix) => Uint8Array.from(Buffer.from(prefix + x, 'hex')));
    expect(points.filter((p) => verifies(p, h, sig))).toHaveLength(1);
    expect(verifies(ec.starkCurve.getPublicKey('0x1'), h, sig)).toBe(false);
    // Another purpose, account or challenge gives another hash.
    for (const other of [
      sdk.proofHash(CHAIN, owner.account, 'replace-key', '0x77', payload),
      sdk.proofHash(CHAIN, '0x1', 'create-wallet', '0x77', payload),
      sdk.proofHash(CHAIN, owner.account, 'create-wallet', '0x78', payload),
    ]) {
      expect(sdk.verifySignature(owner.publicKey, other, sig[0], sig[1])).toBe(false);
    }
    owner.free();
  });
});

describe('proof input checks', () => {
  it('an unknown purpose or a malformed felt is INVALID_INPUT', async () => {
    const bad = [
      () => sdk.proofHash(CHAIN, '0x1', 'steal-key' as any, '0x1', '0x1'),
      () => sdk.proofHash('SN_SEPOLIA', '0x1', 'create-wallet', '0x1', '0x1'),
      () => sdk.proofHash(CHAIN, 'zz', 'create-wallet', '0x1', '0x1'),
      () => sdk.payloadHash(42 as any),
    ];
    for (const f of bad) {
      const e = await caught(f);
      expect(e).toBeInstanceOf(sdk.LatchkeyError);
      expect([e.code, e.numericCode]).toEqual(['INVALID_INPUT', 104]);
    }
    const owner = new sdk.OwnerSigner(core.OwnerSigner.fromPlaintext(v.privateKey, '0x1'));
    const e = await caught(() => owner.signProof(CHAIN, 'anything' as any, '0x1', '0x1'));
    expect(e.code).toBe('INVALID_INPUT');
    expect(e.message).not.toContain(v.privateKey.slice(2, 12));
    expect((await caught(() => owner.prove({ challenge: '0x1' } as any, 'x'))).code).toBe('INVALID_INPUT');
    owner.free();
    expect((await caught(() => owner.signProof(CHAIN, 'create-wallet', '0x1', '0x1'))).code).toBe('SESSION_LOCKED');
  });

  it('a session prover signs store-session proofs of its own record only', async () => {
    const { data, signer } = await sdk.createSessionKey({ pin: '482913' }, { account: '0x123', kdf: 'floor', format: 'lk1' });
    const prover = sdk.sessionProver(signer, data);
    const challenge: sdk.Challenge = { challenge: '0xabc', purpose: 'store-session', chainId: CHAIN, expiresAt: 0 };
    const proof = prover(challenge, '0x0');
    const h = sdk.proofHash(CHAIN, '0x0', 'store-session', '0xabc', sdk.payloadHash(data.encryptedPrivateKey));
    expect(sdk.verifySignature(data.publicKey, h, proof.signature[0], proof.signature[1])).toBe(true);
    expect(proof.challenge).toBe('0xabc');
    expect((await caught(() => prover({ ...challenge, purpose: 'replace-key' }, '0x0'))).code).toBe('INVALID_INPUT');
    expect((await caught(() => sdk.sessionProver(signer, { ...data, publicKey: '0x1' }))).code).toBe('INVALID_INPUT');
    signer.free();
  });
});
