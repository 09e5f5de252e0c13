// The Chipi SDK 14.4.0 capture, every vector that concerns a client: AES ciphertexts,
// key formats, addresses, typed-data hashes and signatures, error codes and messages.
import { beforeAll, describe, expect, it } from 'vitest';
import * as sdk from '../dist/index.js';
import * as core from '../dist/wasm/latchkey_starknet.js';
import { capture, caught } from './helpers.js';

const c = capture();
const hex = (d: string) => '0x' + BigInt(d).toString(16);

beforeAll(async () => {
  await sdk.init();
});

describe('Chipi AES (CryptoJS) ciphertexts', () => {
  it('open with the captured PIN and give the captured keys', async () => {
    const account = c.address.walletAddr;
    for (const ct of [c.aesDeterministic.ciphertextB64, c.aesIndependent.sdkRandomSaltCiphertext, c.aesIndependent.independentEncryptFixedSalt]) {
      const owner = await sdk.unlockOwnerKey(ct, { pin: c.aesDeterministic.password }, account, c.keys.ownerPub);
      expect(owner.publicKey).toBe(c.keys.ownerPub);
      owner.free();
    }
    expect(sdk.encryptedKeyFormat(c.aesDeterministic.ciphertextB64)).toBe('chipi');
    expect(sdk.needsUpgrade(c.aesDeterministic.ciphertextB64)).toBe(true);
  });

  it('refuse a wrong PIN with the SDK codes and message', async () => {
    const owner = await caught(sdk.unlockOwnerKey(c.aesDeterministic.ciphertextB64, { pin: '4321' }, c.address.walletAddr, c.keys.ownerPub));
    expect(owner).toBeInstanceOf(sdk.LatchkeyError);
    expect(owner.code).toBe('OWNER_KEY_DECRYPTION_FAILED');
    const session = await caught(sdk.unlockSessionKey(c.createSessionKey.result, { pin: '4321' }, c.address.walletAddr));
    expect(session.code).toBe(c.errWrongPin.code);
    expect(session.message).toBe(c.errWrongPin.message);
    expect(session.numericCode).toBe(6);
  });

  it('open the session key createSessionKey produced', async () => {
    const data = c.createSessionKey.result;
    const signer = await sdk.unlockSessionKey(data, { pin: '1234' }, c.address.walletAddr);
    expect(signer.publicKey).toBe(data.publicKey);
    expect(signer.validUntil).toBe(data.validUntil);
    expect(signer.sessionKeyData()).toEqual(data);
    signer.free();
  });
});

describe('createSessionKey', () => {
  it('in the chipi format has the SDK shape: minimal-hex public key, validUntil = now + 21600', async () => {
    const now = sdk.nowSeconds();
    const { data, signer } = await sdk.createSessionKey({ pin: '839201' }, { account: c.address.walletAddr, format: 'chipi' });
    expect(Object.keys(data).sort()).toEqual(Object.keys(c.createSessionKey.result).sort());
    expect(data.publicKey).toMatch(/^0x[1-9a-f][0-9a-f]*$/);
    expect(data.encryptedPrivateKey.slice(0, 10)).toBe(c.createSessionKey.result.encryptedPrivateKey.slice(0, 10));
    expect(data.validUntil - now).toBeGreaterThanOrEqual(c.createSessionKey.validUntilMinusNow);
    expect(data.validUntil - now).toBeLessThanOrEqual(c.createSessionKey.validUntilMinusNow + 2);
    const reopened = await sdk.unlockSessionKey(data, { pin: '839201' }, '0x1');
    expect(reopened.publicKey).toBe(data.publicKey);
    signer.free();
    reopened.free();
  });

  it('rejects what the SDK rejects, with its codes and messages', async () => {
    const bad = await caught(sdk.createSessionKey({ pin: '482913' }, { account: '0x1', durationSeconds: 1.5 }));
    expect([bad.code, bad.message]).toEqual([c.createSessionKeyBadDuration.code, c.createSessionKeyBadDuration.message]);
    const empty = await caught(sdk.createSessionKey({ pin: '' }, { account: '0x1', format: 'chipi' }));
    expect([empty.code, empty.message]).toEqual([c.createSessionKeyEmptyPw.code, c.createSessionKeyEmptyPw.message]);
  });
});

describe('createWallet', () => {
  it('the address of an owner key is the SDK counterfactual address', async () => {
    expect(sdk.accountAddress(c.address.classHash, c.keys.ownerPub)).toBe(c.address.walletAddr);
    expect(BigInt(c.address.ctor[0])).toBe(BigInt(c.keys.ownerPub));
    const body = c.createWallet.requests[1].body;
    expect(BigInt(sdk.accountAddress(body.deploymentData.class_hash, c.createWallet.requests[0].body.starkKeyPubAX))).toBe(
      BigInt(body.publicKey),
    );
  });

  it('the captured wallet-creation signature is the one our owner signer makes', async () => {
    const body = c.createWallet.requests[1].body;
    const ownerPub = c.createWallet.requests[0].body.starkKeyPubAX;
    const owner = await sdk.unlockOwnerKey(body.encryptedPrivateKey, { pin: '1234' }, body.publicKey, ownerPub);
    const sig = owner.signTypedDataDetailed(body.typedData);
    expect([sig.rDecimal, sig.sDecimal]).toEqual([body.userSignature.r, body.userSignature.s]);
    const hash = sdk.messageHash(body.typedData, body.publicKey);
    expect(sdk.verifySignature(ownerPub, hash, hex(body.userSignature.r), hex(body.userSignature.s))).toBe(true);
    owner.free();
  });

  it('createOwnerKey gives a key for its own address, in either format', async () => {
    for (const format of ['lk1', 'chipi'] as const) {
      const o = await sdk.createOwnerKey({ pin: '482913' }, { classHash: c.address.classHash, format, kdf: 'floor' });
      expect(o.address).toBe(sdk.accountAddress(c.address.classHash, o.publicKey));
      expect(sdk.encryptedKeyFormat(o.encryptedPrivateKey)).toBe(format);
      const back = await sdk.unlockOwnerKey(o.encryptedPrivateKey, { pin: '482913' }, o);
      expect(back.publicKey).toBe(o.publicKey);
      back.free();
    }
  });
});

describe('typed data', () => {
  it('the SNIP-12 hash and selectors of the capture', () => {
    const v = c.signingVector;
    expect(sdk.messageHash(v.typedData, v.walletAddr)).toBe(v.msgHash);
    expect(v.msgHash).toBe(c.snip12Reference.starknetJsHash);
    expect(sdk.selectorFromName('transfer')).toBe(c.snip12Reference.selectorTransfer);
  });

  it('session and owner signatures of the signing vector', async () => {
    const v = c.signingVector;
    const session = core.SessionSigner.fromPlaintext(c.keys.SESSION_PK, v.walletAddr, 1_893_456_000);
    expect(session.publicKey).toBe(c.keys.sessionPub);
    expect(session.signTypedData(v.typedData, 1_700_000_000)).toEqual(v.sessionSignature);
    session.free();
    const owner = await sdk.unlockOwnerKey(c.aesDeterministic.ciphertextB64, { pin: '1234' }, v.walletAddr, c.keys.ownerPub);
    const sig = owner.signTypedDataDetailed(v.typedData);
    expect({ r: sig.rDecimal, s: sig.sDecimal }).toEqual(v.ownerSignatureDecimal);
    owner.free();
  });

  it('the captured addSessionKeyToContract and executeWithSession submissions', async () => {
    const account = c.address.walletAddr;
    const add = c.addSessionKeyToContract.requests[1].body;
    expect(sdk.messageHash(add.typedData, account)).toBe(c.addSessionKeyToContract.msgHash);
    const owner = await sdk.unlockOwnerKey(c.aesDeterministic.ciphertextB64, { pin: '1234' }, account, c.keys.ownerPub);
    const sig = owner.signTypedDataDetailed(add.typedData);
    expect({ r: sig.rDecimal, s: sig.sDecimal }).toEqual(add.userSignature);
    owner.free();

    const exec = c.executeWithSession.requests[1].body;
    expect(sdk.messageHash(exec.typedData, account)).toBe(c.executeWithSession.msgHash);
    const validUntil = Number(BigInt(exec.userSignature[3]));
    const session = core.SessionSigner.fromPlaintext(c.keys.SESSION_PK, account, validUntil);
    expect(session.signTypedData(exec.typedData, validUntil)).toEqual(exec.userSignature);
    session.free();
    // The prepared calls read back exactly as the SDK asked for them.
    const view = sdk.decodeOutsideExecution(exec.typedData);
    const asked = c.executeWithSession.requests[0].body.calls[0];
    expect(view.calls[0].to).toBe(sdk.normalizeFelt(asked.contractAddress));
    expect(view.calls[0].selector).toBe(sdk.selectorFromName(asked.entrypoint));
    expect(view.calls[0].calldata).toEqual(asked.calldata.map(sdk.normalizeFelt));
  });

  it('signing after validUntil fails like the SDK', () => {
    const v = c.signingVector;
    const session = new sdk.SessionSigner(core.SessionSigner.fromPlaintext(c.keys.SESSION_PK, v.walletAddr, 1000));
    expect(session.signTypedData(v.typedData, 1000)).toHaveLength(4); // validUntil is inclusive
    let err: any;
    try {
      session.signTypedData(v.typedData, 1001);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(sdk.LatchkeyError);
    expect([err.code, err.numericCode, err.message]).toEqual([c.errExpired.code, 1, c.errExpired.message]);
    session.free();
  });
});
