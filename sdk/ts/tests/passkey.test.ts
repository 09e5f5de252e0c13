// K10: passkey PRF requests need user verification and a fixed salt per wallet; an
// assertion without user verification or without a 32-byte PRF output gives no secret.
import { createHash } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import * as sdk from '../dist/index.js';
import { caught } from './helpers.js';

const ACCOUNT = '0x64bcb10d7ec411c1e158a6b597b48153335fff3f79b12bc104deed7b3a01d8d';

/** Authenticator data: a 32-byte RP id hash, the flags byte, a 4-byte counter. */
function authenticatorData(flags: number): Uint8Array {
  const data = new Uint8Array(37);
  data[32] = flags;
  return data;
}

function assertion(flags: number, prf: Uint8Array | undefined): sdk.PasskeyAssertion {
  return {
    response: { authenticatorData: authenticatorData(flags).buffer as ArrayBuffer },
    getClientExtensionResults: () => (prf === undefined ? {} : { prf: { results: { first: prf.buffer as ArrayBuffer } } }),
  };
}

beforeAll(async () => {
  await sdk.init();
});

describe('k10 passkey PRF', () => {
  it('k10_the_request_requires_user_verification_and_a_fixed_salt_per_wallet', async () => {
    const challenge = new Uint8Array(32).fill(7);
    const request = await sdk.passkeyPrfRequest(ACCOUNT, { challenge, rpId: 'app.example' });
    expect(request.userVerification).toBe('required');
    expect(request.rpId).toBe('app.example');
    const salt = (request.extensions as any).prf.eval.first as Uint8Array;
    const expected = createHash('sha256').update(`latchkey/passkey-prf-salt/v1:${ACCOUNT}`).digest();
    expect(Buffer.from(salt).equals(expected)).toBe(true);
    // The same wallet (however its address is written) always gets the same salt; another
    // wallet another one.
    const padded = `0x0${ACCOUNT.slice(2).toUpperCase()}`;
    expect(await sdk.passkeyPrfSalt(padded)).toEqual(salt);
    expect(await sdk.passkeyPrfSalt('0x1234')).not.toEqual(salt);
    for (const bad of ['', '0x', '1234', `0x${'1'.repeat(65)}`, '0xg']) {
      expect((await caught(sdk.passkeyPrfSalt(bad))).code).toBe('INVALID_INPUT');
    }
    expect((await caught(sdk.passkeyPrfRequest(ACCOUNT, { challenge: new Uint8Array(8) }))).code).toBe('INVALID_INPUT');
  });

  it('k10_an_assertion_without_user_verification_gives_no_secret', async () => {
    const prf = new Uint8Array(32).fill(0x42);
    // User present only (0x01): refused; present and verified (0x05): the PRF output.
    expect((await caught(() => sdk.prfSecretFromAssertion(assertion(0x01, prf)))).code).toBe('INVALID_INPUT');
    const secret = sdk.prfSecretFromAssertion(assertion(0x05, prf));
    expect(secret.prf).toEqual(prf);
    // No PRF, a short one, no authenticator data: refused.
    expect((await caught(() => sdk.prfSecretFromAssertion(assertion(0x05, undefined)))).code).toBe('INVALID_INPUT');
    expect((await caught(() => sdk.prfSecretFromAssertion(assertion(0x05, new Uint8Array(16))))).code).toBe('INVALID_INPUT');
    expect((await caught(() => sdk.prfSecretFromAssertion({ response: { authenticatorData: new Uint8Array(10) }, getClientExtensionResults: () => ({}) }))).code).toBe('INVALID_INPUT');
    // The secret it gives seals and unlocks a key.
    const { data, signer } = await sdk.createSessionKey(secret, { account: ACCOUNT });
    const back = await sdk.unlockSessionKey(data, sdk.prfSecretFromAssertion(assertion(0x05, prf)), ACCOUNT);
    expect(back.publicKey).toBe(signer.publicKey);
    signer.free();
    back.free();
  });
});
