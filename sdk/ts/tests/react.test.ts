// @vitest-environment jsdom
// useLatchkeySession: state and actions through a real React renderer.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createElement } from 'react';
import { act } from 'react';
import { createRoot, type Root } from 'react-dom/client';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as sdk from '../dist/index.js';
import { useLatchkeySession, type UseLatchkeySessionResult } from '../dist/react.js';
import { FakeClient } from './fake-client.js';
import { caught } from './helpers.js';

(globalThis as any).IS_REACT_ACT_ENVIRONMENT = true;
const PIN = '482913';
let owner: { address: string; publicKey: string; encryptedPrivateKey: string };
let root: Root | null = null;

beforeAll(async () => {
  // Under jsdom the module URLs are rewritten for a browser; hand the bytes over instead.
  await sdk.init({
    starknet: readFileSync(resolve(__dirname, '../dist/wasm/latchkey_starknet_bg.wasm')),
    keys: readFileSync(resolve(__dirname, '../dist/wasm/latchkey_keys_bg.wasm')),
  });
  owner = await sdk.createOwnerKey({ pin: PIN }, { classHash: '0x99', kdf: 'floor', format: 'lk1' });
});

afterEach(() => {
  act(() => root?.unmount());
  root = null;
});

async function mount(config: Omit<Parameters<typeof useLatchkeySession>[0], 'client'>, fake: FakeClient) {
  const result: { current: UseLatchkeySessionResult | null } = { current: null };
  function Probe() {
    result.current = useLatchkeySession({ client: fake.asClient(), kdf: 'floor', ...config });
    return null;
  }
  root = createRoot(document.createElement('div'));
  await act(async () => root!.render(createElement(Probe)));
  return result as { current: UseLatchkeySessionResult };
}

describe('useLatchkeySession', () => {
  it('creates, registers, executes and revokes, with the Chipi hook state names', async () => {
    const fake = new FakeClient({ address: owner.address, ownerPublicKey: owner.publicKey });
    const created: sdk.SessionKeyData[] = [];
    const wallet = { address: owner.address, encryptedPrivateKey: owner.encryptedPrivateKey, ownerPublicKey: owner.publicKey };
    const r = await mount({ wallet, encryptKey: PIN, onSessionCreated: (s) => void created.push(s) }, fake);
    expect(r.current.sessionState).toBe('none');
    expect(r.current.hasActiveSession).toBe(false);

    await act(async () => {
      await r.current.createSession({ durationSeconds: 600 });
    });
    expect(r.current.sessionState).toBe('created');
    expect(created).toEqual([r.current.session]);

    await act(async () => {
      await r.current.registerSession({ allowAll: true, maxCalls: 5 });
    });
    expect(r.current.sessionState).toBe('active');
    expect(r.current.hasActiveSession).toBe(true);
    expect(r.current.remainingCalls).toBe(5);

    await act(async () => {
      await r.current.executeWithSession([{ to: '0x7', entrypoint: 'make_move', calldata: ['1'] }]);
    });
    expect(r.current.remainingCalls).toBe(4);
    expect(r.current.isExecuting).toBe(false);

    await act(async () => {
      await r.current.revokeSession();
    });
    expect(r.current.sessionState).toBe('revoked');
    let err: any;
    await act(async () => {
      err = await caught(r.current.executeWithSession([{ to: '0x7', entrypoint: 'make_move', calldata: ['2'] }]));
    });
    expect(err.code).toBe('SESSION_REVOKED');
    expect(r.current.error?.code).toBe('SESSION_REVOKED');

    await act(async () => {
      await r.current.clearSession();
    });
    expect(r.current.sessionState).toBe('none');
  });

  it('adopts a stored session and unlocks it with encryptKey on first use', async () => {
    const fake = new FakeClient({ address: owner.address, ownerPublicKey: owner.publicKey });
    const { data, signer } = await sdk.createSessionKey({ pin: PIN }, { account: owner.address, kdf: 'floor', format: 'lk1' });
    signer.free();
    fake.sessions.set(data.publicKey, {
      sessionPublicKey: data.publicKey, state: 'active', isActive: true, validAfter: 0, validUntil: data.validUntil,
      maxCalls: 3, callsUsed: 1, remainingCalls: 2, allowAll: true, allowedMethods: [], spendingCaps: [],
    });
    const wallet = { address: owner.address, encryptedPrivateKey: owner.encryptedPrivateKey };
    const r = await mount({ wallet, encryptKey: PIN, storedSession: data }, fake);
    expect(r.current.session).toEqual(data);
    expect(r.current.sessionState).toBe('active');
    expect(r.current.remainingCalls).toBe(2);
    await act(async () => {
      await r.current.executeWithSession([{ to: '0x7', entrypoint: 'make_move', calldata: ['1'] }]);
    });
    expect(r.current.remainingCalls).toBe(1);
  });

  it('without a wallet or a PIN, actions fail clearly', async () => {
    const fake = new FakeClient({ address: owner.address, ownerPublicKey: owner.publicKey });
    const none = await mount({ wallet: null, encryptKey: PIN }, fake);
    expect(none.current.sessionState).toBe('none');
    let err: any;
    await act(async () => {
      err = await caught(none.current.createSession());
    });
    expect(err.code).toBe('INVALID_INPUT');
    act(() => root?.unmount());

    const wallet = { address: owner.address, encryptedPrivateKey: owner.encryptedPrivateKey };
    const noPin = await mount({ wallet }, fake);
    await act(async () => {
      err = await caught(noPin.current.createSession());
    });
    expect([err.code, err.message]).toEqual(['INVALID_INPUT', expect.stringContaining('encryptKey')]);
    expect(noPin.current.error?.code).toBe('INVALID_INPUT');
  });
});
