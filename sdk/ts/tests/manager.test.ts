// SessionManager: state derivation, the session's life cycle, storage, logout order.
import { beforeAll, describe, expect, it } from 'vitest';
import * as sdk from '../dist/index.js';
import type { Session, SessionKeyData, SessionStorageAdapter } from '../dist/index.js';
import * as core from '../dist/wasm/latchkey_keys.js';
import { keysCore } from '../dist/wasm.js';
import { FakeClient } from './fake-client.js';
import { MemoryStorage, caught } from './helpers.js';

const PIN = '482913';
const CLASS_HASH = '0x053f4f8791ed5bed0fddaa553d180c664e32cfaf8316bb232ae77bb08f459f2a';
const NOW = 1_800_000_000;
let owner: { address: string; publicKey: string; encryptedPrivateKey: string };

beforeAll(async () => {
  await sdk.init();
  await keysCore(); // `core` (the key-sealing module) is used directly below
  owner = await sdk.createOwnerKey({ pin: PIN }, { classHash: CLASS_HASH, kdf: 'floor', format: 'lk1' });
});

const local = (validUntil: number, publicKey = '0xabc'): SessionKeyData => ({ publicKey, encryptedPrivateKey: 'lk1$x', validUntil });
const status = (over: Partial<Session>): Session => ({
  sessionPublicKey: '0xabc',
  state: 'active',
  isActive: true,
  validAfter: 0,
  validUntil: NOW + 100,
  maxCalls: 10,
  callsUsed: 0,
  remainingCalls: 10,
  allowAll: false,
  allowedMethods: [],
  spendingCaps: [],
  ...over,
});

describe('deriveSessionState', () => {
  const cases: [string, SessionKeyData | null, Session | null, sdk.SessionState][] = [
    ['no local session', null, status({}), 'none'],
    ['local only, live', local(NOW + 1), null, 'created'],
    ['local only, last second (inclusive)', local(NOW), null, 'created'],
    ['local only, one second past', local(NOW - 1), null, 'expired'],
    ['registered and active', local(NOW + 100), status({}), 'active'],
    ['active at its last second', local(NOW), status({ validUntil: NOW }), 'active'],
    ['active, server window past', local(NOW + 100), status({ validUntil: NOW - 1 }), 'expired'],
    ['no calls left', local(NOW + 100), status({ remainingCalls: 0, callsUsed: 10 }), 'expired'],
    ['exhausted', local(NOW + 100), status({ state: 'exhausted', isActive: false }), 'expired'],
    ['expired on chain', local(NOW + 100), status({ state: 'expired', isActive: false }), 'expired'],
    ['revoked', local(NOW + 100), status({ state: 'revoked', isActive: false }), 'revoked'],
    ['revoked, also past', local(NOW - 5), status({ state: 'revoked', isActive: false, validUntil: NOW - 5 }), 'revoked'],
    ['pending registration', local(NOW + 100), status({ state: 'pending', isActive: false }), 'created'],
    ['failed registration, past', local(NOW - 1), status({ state: 'failed', isActive: false }), 'expired'],
    ['scheduled', local(NOW + 100), status({ state: 'scheduled', isActive: false }), 'created'],
    ['status of another key is ignored', local(NOW + 100, '0xdef'), status({ state: 'revoked' }), 'created'],
    ['same key in another spelling', local(NOW + 100, '0x0ABC'), status({ state: 'revoked' }), 'revoked'],
  ];
  for (const [name, session, st, expected] of cases) {
    it(name, () => expect(sdk.deriveSessionState(session, st, NOW)).toBe(expected));
  }
});

function setup(storage: SessionStorageAdapter = sdk.memorySessionStorage(), withPublicKey: boolean | 'address only' = true) {
  const fake = new FakeClient({ address: owner.address, ownerPublicKey: owner.publicKey, encryptedPrivateKey: owner.encryptedPrivateKey });
  const wallet =
    withPublicKey === 'address only'
      ? { address: owner.address }
      : withPublicKey
        ? { address: owner.address, encryptedPrivateKey: owner.encryptedPrivateKey, ownerPublicKey: owner.publicKey }
        : { address: owner.address, encryptedPrivateKey: owner.encryptedPrivateKey };
  const manager = new sdk.SessionManager({ client: fake.asClient(), wallet, storage, kdf: 'floor' });
  return { fake, manager };
}

const move = [{ to: '0x7', entrypoint: 'make_move', calldata: ['1'] }];

describe('SessionManager', () => {
  it('goes none → created → active → (calls) → revoked, notifying subscribers', async () => {
    const { fake, manager } = setup();
    const seen: sdk.SessionState[] = [];
    const unsubscribe = manager.subscribe(() => seen.push(manager.state));
    await manager.restore();
    expect(manager.state).toBe('none');
    await caught(manager.execute(move)).then((e) => expect(e.code).toBe('SESSION_NOT_REGISTERED'));

    const data = await manager.createSession({ pin: PIN }, { durationSeconds: 600 });
    expect(manager.state).toBe('created');
    expect(manager.session).toEqual(data);
    expect(manager.unlocked).toBe(true);
    expect(manager.remainingCalls).toBeNull();

    await manager.registerSession({ pin: PIN }, { allowedMethods: [{ contract: '0x7', entrypoint: 'make_move' }], maxCalls: 3 });
    expect(manager.state).toBe('active');
    expect(manager.remainingCalls).toBe(3);

    await manager.execute(move);
    await manager.execute(move);
    expect(manager.remainingCalls).toBe(1);
    await manager.execute(move);
    expect(manager.state).toBe('expired'); // exhausted
    const exceeded = await caught(manager.execute(move));
    expect(exceeded.code).toBe('SESSION_MAX_CALLS_EXCEEDED');

    await manager.revoke({ pin: PIN });
    expect(manager.state).toBe('revoked');
    const before = fake.log.filter((x) => x === 'execute').length;
    const refused = await caught(manager.execute(move));
    expect([refused.code, refused.numericCode]).toEqual(['SESSION_REVOKED', 3]);
    expect(fake.log.filter((x) => x === 'execute').length).toBe(before); // refused locally

    expect(seen).toContain('created');
    expect(seen).toContain('active');
    expect(seen.at(-1)).toBe('revoked');
    unsubscribe();
    const count = seen.length;
    await manager.refreshStatus();
    expect(seen.length).toBe(count);
  });

  it('registration uses the session validUntil and the default max calls; fetches the owner key when missing', async () => {
    const { fake, manager } = setup(sdk.memorySessionStorage(), false);
    const data = await manager.createSession({ pin: PIN });
    expect(data.validUntil - sdk.nowSeconds()).toBeGreaterThanOrEqual(21600 - 1);
    await manager.registerSession({ pin: PIN }, { allowAll: true });
    const registered = fake.sessions.get(data.publicKey)!;
    expect([registered.validUntil, registered.maxCalls]).toEqual([data.validUntil, 1000]);
    expect(fake.log).toContain('getWallet');
  });

  it('a wallet from a list (no encrypted key) has its owner key fetched when the owner signs', async () => {
    const { fake, manager } = setup(sdk.memorySessionStorage(), 'address only');
    const data = await manager.createSession({ pin: PIN });
    expect(fake.log).not.toContain('getWallet');
    await manager.registerSession({ pin: PIN }, { allowAll: true });
    expect(fake.sessions.get(data.publicKey)?.state).toBe('active');
    expect(fake.log).toContain('getWallet');
  });

  it('a wrong PIN cannot register (owner key stays locked)', async () => {
    const { fake, manager } = setup();
    await manager.createSession({ pin: PIN });
    const err = await caught(manager.registerSession({ pin: '000001' }, { allowAll: true }));
    expect(err.code).toBe('OWNER_KEY_DECRYPTION_FAILED');
    expect(fake.log).not.toContain('registerSession');
  });

  it('a restored session is locked until unlock(secret)', async () => {
    const storage = sdk.memorySessionStorage();
    const first = setup(storage);
    const data = await first.manager.createSession({ pin: PIN });
    await first.manager.registerSession({ pin: PIN }, { allowAll: true });

    const second = setup(storage);
    second.fake.sessions = first.fake.sessions;
    await second.manager.restore();
    expect(second.manager.session).toEqual(data);
    expect(second.manager.state).toBe('active');
    expect(second.manager.unlocked).toBe(false);
    expect((await caught(second.manager.execute(move))).code).toBe('SESSION_LOCKED');
    expect((await caught(second.manager.unlock({ pin: '111112' }))).code).toBe('SESSION_DECRYPTION_FAILED');
    await second.manager.unlock({ pin: PIN });
    await second.manager.execute(move);
    expect(second.manager.remainingCalls).toBe(999);
  });

  it('logout revokes on chain before clearing storage and forgetting the key', async () => {
    const order: string[] = [];
    const inner = sdk.memorySessionStorage();
    const storage: SessionStorageAdapter = {
      load: () => inner.load(),
      save: (d) => inner.save(d),
      clear: async () => {
        order.push('clear');
        await inner.clear();
      },
    };
    const { fake, manager } = setup(storage);
    await manager.createSession({ pin: PIN });
    await manager.registerSession({ pin: PIN }, { allowAll: true });
    fake.log = order;
    await manager.logout({ pin: PIN });
    expect(order.filter((x) => x === 'revokeSession' || x === 'clear')).toEqual(['revokeSession', 'clear']);
    expect(manager.state).toBe('none');
    expect(manager.unlocked).toBe(false);
    expect(await storage.load()).toBeNull();
  });

  it('logout keeps the session when the revocation fails', async () => {
    const { fake, manager } = setup();
    const data = await manager.createSession({ pin: PIN });
    await manager.registerSession({ pin: PIN }, { allowAll: true });
    fake.failRevoke = true;
    const err = await caught(manager.logout({ pin: PIN }));
    expect(err.code).toBe('API_ERROR');
    expect(manager.session).toEqual(data);
    expect(await manager.storage.load()).toEqual(data);
    expect(manager.unlocked).toBe(true);
  });

  it('logout of an unregistered session only clears it', async () => {
    const { fake, manager } = setup();
    await manager.createSession({ pin: PIN });
    await manager.logout({ pin: PIN });
    expect(fake.log).not.toContain('revokeSession');
    expect(manager.state).toBe('none');
  });
});

describe('storage adapters', () => {
  it('never persist a plaintext key; store exactly the three fields', async () => {
    const area = new MemoryStorage();
    const storage = sdk.browserSessionStorage('lk', area);
    const { fake, manager } = setup(storage);
    const data = await manager.createSession({ pin: PIN });
    expect(data.encryptedPrivateKey.startsWith('lk2$session$')).toBe(true);
    // The plaintext, obtained through the core's explicit export, to look for it.
    const secret = fake.pins.secretFor(core, PIN, owner.address);
    const opened = core.unlockSessionKey(data, owner.address, secret);
    const plaintext = opened.exportPrivateKeyPlaintext();
    opened.free();
    secret.free();
    const dump = area.dump();
    for (const form of [plaintext, plaintext.slice(2), BigInt(plaintext).toString(), BigInt(plaintext).toString(16)]) {
      expect(dump).not.toContain(form);
    }
    expect(dump).not.toContain(PIN);
    expect(Object.keys(JSON.parse(area.getItem('lk')!)).sort()).toEqual(['encryptedPrivateKey', 'publicKey', 'validUntil']);
  });

  it('refuse a record whose key is not encrypted', async () => {
    const plaintextRecord = { publicKey: '0x1', encryptedPrivateKey: '0x' + '12'.repeat(32), validUntil: NOW };
    const area = new MemoryStorage();
    for (const storage of [sdk.browserSessionStorage('k', area), sdk.memorySessionStorage()]) {
      const err = await caught(storage.save(plaintextRecord));
      expect(err.code).toBe('INVALID_ENCRYPTED_KEY');
      expect(err.message).not.toContain('1212');
      expect(await storage.load()).toBeNull();
    }
    expect(area.length).toBe(0);
  });

  it('drop extra fields and ignore garbage', async () => {
    const area = new MemoryStorage();
    const storage = sdk.browserSessionStorage('k', area);
    const { data, signer } = await sdk.createSessionKey({ pin: PIN }, { account: '0x1', kdf: 'floor', format: 'lk1' });
    signer.free();
    await storage.save({ ...data, privateKey: '0xsecret' } as any);
    expect(area.getItem('k')).not.toContain('0xsecret');
    expect(await storage.load()).toEqual(data);
    area.setItem('k', '{not json');
    expect(await storage.load()).toBeNull();
    await storage.clear();
    expect(area.getItem('k')).toBeNull();
  });

  it('the server adapter refuses plaintext before any request', async () => {
    const requests: string[] = [];
    const client = new sdk.LatchkeyClient({
      publicKey: 'pk_test',
      getBearerToken: async () => 'jwt',
      fetch: (async (url: string) => {
        requests.push(String(url));
        return new Response('{}', { status: 200 });
      }) as any,
    });
    const storage = sdk.serverSessionStorage(client);
    const err = await caught(storage.save({ publicKey: '0x1', encryptedPrivateKey: '0x' + 'ab'.repeat(32), validUntil: 1 }));
    expect(err.code).toBe('INVALID_ENCRYPTED_KEY');
    expect(requests).toEqual([]);
  });
});

describe('server storage', () => {
  const CHAIN_FELT = '0x534e5f5345504f4c4941';
  type Sent = { method: string; url: string; authorization: string | undefined; body: any };

  function serverClient(opts: { refuse?: boolean } = {}) {
    const sent: Sent[] = [];
    let n = 0;
    const fetch = (async (url: string, init: RequestInit) => {
      const method = init.method ?? 'GET';
      const headers = init.headers as Record<string, string>;
      const body = init.body ? JSON.parse(String(init.body)) : undefined;
      sent.push({ method, url: String(url), authorization: headers.authorization, body });
      const json = (status: number, value: unknown) =>
        new Response(JSON.stringify(value), { status, headers: { 'content-type': 'application/json' } });
      if (method === 'POST' && url === '/api/challenges') {
        n += 1;
        return json(201, { challenge: `0x${(0x5000 + n).toString(16)}`, purpose: body.purpose, chainId: CHAIN_FELT, expiresAt: 4_000_000_000 });
      }
      if (method === 'PUT' && url === '/api/me/session') {
        if (opts.refuse) return json(403, { message: 'the proof does not verify for this key', code: 'INVALID_PROOF', status: 403 });
        return json(200, { walletAddress: body.walletAddress ?? null, session: body.session, updatedAt: '2026-01-01T00:00:00Z' });
      }
      return json(404, { message: 'no route', code: 'NOT_FOUND', status: 404 });
    }) as any;
    const client = new sdk.LatchkeyClient({ publicKey: 'pk_test', getBearerToken: async () => 'user.jwt', fetch });
    return { client, sent };
  }

  for (const walletAddress of [undefined, 'the wallet'] as const) {
    it(`sends a store-session proof signed by the session key (${walletAddress ? 'with' : 'without'} a wallet address)`, async () => {
      const { client, sent } = serverClient();
      const address = walletAddress ? owner.address : undefined;
      const { fake, manager } = setup(sdk.serverSessionStorage(client, address));
      const data = await manager.createSession({ pin: PIN });
      expect(sent.map((r) => `${r.method} ${r.url}`)).toEqual(['POST /api/challenges', 'PUT /api/me/session']);
      expect(sent.every((r) => r.authorization === 'Bearer user.jwt')).toBe(true);
      expect(sent[0].body).toEqual({ purpose: 'store-session' });
      const body = sent[1].body;
      expect(Object.keys(body).sort()).toEqual(address ? ['proof', 'session', 'walletAddress'] : ['proof', 'session']);
      expect(body.session).toEqual(data);
      const account = address ?? '0x0';
      const hash = sdk.proofHash(CHAIN_FELT, account, 'store-session', body.proof.challenge, sdk.payloadHash(data.encryptedPrivateKey));
      expect(sdk.verifySignature(data.publicKey, hash, body.proof.signature[0], body.proof.signature[1])).toBe(true);
      // Not the owner key's proof, not for another account.
      expect(sdk.verifySignature(owner.publicKey, hash, body.proof.signature[0], body.proof.signature[1])).toBe(false);
      const other = sdk.proofHash(CHAIN_FELT, address ? '0x0' : owner.address, 'store-session', body.proof.challenge, sdk.payloadHash(data.encryptedPrivateKey));
      expect(sdk.verifySignature(data.publicKey, other, body.proof.signature[0], body.proof.signature[1])).toBe(false);

      // Neither the PIN nor the session private key was sent.
      const secret = fake.pins.secretFor(core, PIN, owner.address);
      const opened = core.unlockSessionKey(data, owner.address, secret);
      const plaintext = opened.exportPrivateKeyPlaintext();
      opened.free();
      secret.free();
      const dump = JSON.stringify(sent);
      for (const form of [PIN, plaintext.slice(2), BigInt(plaintext).toString(), BigInt(plaintext).toString(16)]) {
        expect(dump).not.toContain(form);
      }
      expect(manager.state).toBe('created');
      expect(manager.unlocked).toBe(true);
    });
  }

  it('a refused proof leaves no session; saving without a prover sends nothing', async () => {
    const refused = serverClient({ refuse: true });
    const { manager } = setup(sdk.serverSessionStorage(refused.client));
    const err = await caught(manager.createSession({ pin: PIN }));
    expect([err.code, err.numericCode]).toEqual(['INVALID_PROOF', 314]);
    expect(manager.state).toBe('none');
    expect(manager.unlocked).toBe(false);

    const { client, sent } = serverClient();
    const { data, signer } = await sdk.createSessionKey({ pin: PIN }, { account: owner.address, kdf: 'floor', format: 'lk1' });
    const storage = sdk.serverSessionStorage(client);
    expect((await caught(storage.save(data))).code).toBe('INVALID_INPUT');
    expect((await caught(client.putMySession(data, '0x1' as any))).code).toBe('INVALID_INPUT');
    expect(sent).toEqual([]);
    // The client takes the signer itself, too.
    const stored = await client.putMySession(data, signer, owner.address);
    expect(stored.walletAddress).toBe(owner.address);
    signer.free();
  });

  it('the other adapters ignore the prover', async () => {
    const area = new MemoryStorage();
    let called = 0;
    const prove = () => {
      called += 1;
      return { challenge: '0x1', signature: ['0x1', '0x2'] };
    };
    const { data, signer } = await sdk.createSessionKey({ pin: PIN }, { account: '0x1', kdf: 'floor', format: 'lk1' });
    signer.free();
    for (const storage of [sdk.browserSessionStorage('k', area), sdk.memorySessionStorage()]) {
      await storage.save(data, prove);
      expect(await storage.load()).toEqual(data);
    }
    expect(called).toBe(0);
  });
});
