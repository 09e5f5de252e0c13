// `@latchkey/sdk/session`, the session path alone: its module signs exactly what the full
// SDK signs for the same key and document (fixed cases and random documents), opens lk1
// and lk2 records (the PIN evaluated by tests/oprf.ts's server half, the unlock proved),
// refuses what is not an outside execution of its wallet, and checks what a server
// prepared before signing it.
import { beforeAll, describe, expect, it } from 'vitest';
import * as sdk from '../dist/index.js';
import { executionFields, openSession, type ActiveSession } from '../dist/session.js';
import { FakeClient } from './fake-client.js';
import { capture, caught, outsideExecution } from './helpers.js';
import { CHAIN_FELT } from './oprf.js';

const PIN = '482913';
const ACCOUNT = '0x3f1a2b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f70';
const NOW = 1_800_000_000;
const P = (1n << 251n) + 17n * (1n << 192n) + 1n;
const GAME = '0x5a1e';

/** A fetch that nothing may reach. */
const offline = () => Promise.reject(new Error('offline'));

/** A server answering the session entry's routes from `routes`, recording what it was sent. */
function server(routes: Record<string, (wallet: string, body: any) => unknown>) {
  const sent: { path: string; body: any }[] = [];
  const fetch = async (input: string, init?: { method?: string; body?: string }) => {
    const url = new URL(input, 'http://latchkey.test');
    const body = init?.body ? JSON.parse(init.body) : undefined;
    sent.push({ path: url.pathname, body });
    const m = /^\/api\/wallets\/([^/]+)\/(.+)$/.exec(url.pathname);
    const route = m ? routes[m[2]] : routes[url.pathname];
    if (!route) return new Response(JSON.stringify({ code: 'NOT_FOUND', message: 'no route' }), { status: 404 });
    try {
      return new Response(JSON.stringify(route(m ? decodeURIComponent(m[1]) : '', body)), { status: 200 });
    } catch (e: any) {
      return new Response(JSON.stringify({ code: e.serverCode ?? 'INTERNAL', message: e.message }), { status: e.status ?? 500 });
    }
  };
  return { fetch: fetch as unknown as typeof globalThis.fetch, sent };
}

/** An lk1 session key of ACCOUNT, open in the full SDK and in the session entry. */
async function bothSigners(): Promise<{ full: sdk.SessionSigner; light: ActiveSession; data: sdk.SessionKeyData }> {
  const { data, signer } = await sdk.createSessionKey({ pin: PIN }, { account: ACCOUNT, durationSeconds: 4_000_000_000 - NOW, now: NOW, kdf: 'floor', format: 'lk1' });
  const light = await openSession({ publicKey: 'pk_dev_test', wallet: ACCOUNT, session: data, pin: PIN, fetch: offline });
  return { full: signer, light, data };
}

const rand = (bytes: number) => BigInt('0x' + Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString('hex'));
/** A felt below P written one of the ways typed data writes felts. */
function anyFelt(): string | number {
  const v = rand(32) % P;
  switch (Number(rand(1) % 4n)) {
    case 0:
      return '0x' + v.toString(16);
    case 1:
      return v.toString();
    case 2:
      return Number(v % 1_000_000n);
    default:
      return '0X' + v.toString(16).toUpperCase().padStart(64, '0');
  }
}

beforeAll(async () => {
  await sdk.init();
});

describe('signing', () => {
  it('signs what the full SDK signs, for fixed documents', async () => {
    const { full, light } = await bothSigners();
    const documents = [
      outsideExecution([{ To: GAME, Selector: 'make_move', Calldata: ['7'] }]),
      outsideExecution([{ To: GAME, Selector: sdk.selectorFromName('make_move'), Calldata: [] }], { chainId: CHAIN_FELT, nonce: '12345' }),
      outsideExecution(
        [
          { To: GAME, Selector: 'transfer', Calldata: ['0x1', '100', '0'] },
          { To: '0x49d36570d4e46f48e99674bd3fcc84644ddd6b96f7c741b1562b82f9e004dc7', Selector: '0X' + 'ab'.repeat(4), Calldata: ['SN_MAIN'] },
        ],
        { executeAfter: '1700000000' },
      ),
      capture().signingVector.typedData,
    ];
    for (const td of documents) {
      expect(light.signExecution(td, { now: NOW })).toEqual(full.signTypedData(td, NOW));
    }
    full.free();
    light.free();
  });

  it('signs what the full SDK signs, for random documents', async () => {
    const { full, light } = await bothSigners();
    for (let i = 0; i < 40; i++) {
      const calls = Array.from({ length: 1 + Number(rand(1) % 3n) }, () => ({
        To: anyFelt(),
        Selector: rand(1) % 2n === 0n ? 'f' + rand(4).toString(36) : '0x' + (rand(32) % P).toString(16),
        Calldata: Array.from({ length: Number(rand(1) % 5n) }, anyFelt),
      }));
      const td = outsideExecution(calls as any, { nonce: String(anyFelt()), executeAfter: String(NOW - 10) });
      const expected = full.signTypedData(td, NOW);
      expect(light.signExecution(td, { now: NOW, messageHash: sdk.messageHash(td, ACCOUNT) })).toEqual(expected);
      // The fields read here are the full SDK's view of the document.
      const view = sdk.decodeOutsideExecution(td);
      const fields = executionFields(td);
      expect(fields.calls.map((c) => c.to)).toEqual(view.calls.map((c) => c.to));
      expect(fields.calls.map((c) => c.calldata)).toEqual(view.calls.map((c) => c.calldata));
    }
    full.free();
    light.free();
  });

  it('refuses documents that are not a SNIP-9 v2 outside execution, and other hashes', async () => {
    const { full, light } = await bothSigners();
    const good = outsideExecution([{ To: GAME, Selector: 'make_move', Calldata: ['7'] }]);
    const variants: [string, (td: any) => void][] = [
      ['primary type', (td) => (td.primaryType = 'Mail')],
      ['types', (td) => (td.types.Call[2].type = 'felt')],
      ['domain name', (td) => (td.domain.name = 'Mail')],
      ['domain version', (td) => (td.domain.version = '1')],
      ['a felt above the prime', (td) => (td.message.Calls[0].Calldata = [(P + 1n).toString()])],
      ['a negative felt', (td) => (td.message.Nonce = '-5')],
      ['a timestamp above u128', (td) => (td.message['Execute Before'] = (1n << 128n).toString())],
      ['a non-ASCII short string', (td) => (td.message.Calls[0].Calldata = ['é'])],
      ['calls that are not a list', (td) => (td.message.Calls = {})],
      ['a selector that is not a string', (td) => (td.message.Calls[0].Selector = 5)],
    ];
    for (const [what, change] of variants) {
      const td = structuredClone(good);
      change(td);
      const e = await caught(() => light.signExecution(td, { now: NOW }));
      expect(e.code, what).toBe('INVALID_TYPED_DATA');
    }
    const e = await caught(() => light.signExecution(good, { now: NOW, messageHash: '0x1234' }));
    expect(e.code).toBe('UNEXPECTED_TYPED_DATA');
    expect((await caught(() => light.signExecution(good, { now: 4_000_000_001 }))).code).toBe('SESSION_EXPIRED');
    light.free();
    expect((await caught(() => light.signExecution(good, { now: NOW }))).code).toBe('SESSION_LOCKED');
    full.free();
  });
});

describe('opening', () => {
  it('opens lk1 with the PIN alone; a wrong PIN, a Chipi ciphertext or an owner envelope is refused', async () => {
    const { full, data } = await bothSigners();
    full.free();
    const wrong = await caught(openSession({ publicKey: 'pk_dev_test', wallet: ACCOUNT, session: data, pin: '999999', fetch: offline }));
    expect(wrong.code).toBe('SESSION_DECRYPTION_FAILED');
    const other = await caught(openSession({ publicKey: 'pk_dev_test', wallet: '0x1234', session: data, pin: PIN, fetch: offline }));
    expect(other.code).toBe('SESSION_DECRYPTION_FAILED');
    const chipi = await caught(
      openSession({ publicKey: 'pk_dev_test', wallet: ACCOUNT, session: { ...data, encryptedPrivateKey: capture().createSessionKey.result.encryptedPrivateKey }, pin: PIN, fetch: offline }),
    );
    expect(chipi.code).toBe('INVALID_ENCRYPTED_KEY');
    const owner = await sdk.createOwnerKey({ pin: PIN }, { classHash: '0x1', kdf: 'floor', format: 'lk1' });
    const asOwner = await caught(openSession({ publicKey: 'pk_dev_test', wallet: owner.address, session: { ...data, encryptedPrivateKey: owner.encryptedPrivateKey }, pin: PIN, fetch: offline }));
    expect(asOwner.code).toBe('INVALID_ENCRYPTED_KEY');
    const expired = await caught(openSession({ publicKey: 'pk_dev_test', wallet: ACCOUNT, session: { ...data, validUntil: 1 }, pin: PIN, fetch: offline }));
    expect(expired.code).toBe('SESSION_EXPIRED');
    for (const e of [wrong, other, chipi, asOwner, expired]) expect(e.message).not.toContain(PIN);
  });

  it('opens lk2 with the server evaluation and proves the unlock; a wrong PIN says the attempts left', async () => {
    const fake = new FakeClient({ address: ACCOUNT, ownerPublicKey: '0x1' });
    const { data, signer } = await sdk.createSessionKey({ pin: PIN }, { account: ACCOUNT, client: fake.asClient(), kdf: 'floor' });
    signer.free();
    expect(data.encryptedPrivateKey.startsWith('lk2$session$')).toBe(true);
    fake.pins.keysOf = () => [data.publicKey];
    const { fetch, sent } = server({
      'pin/evaluate': (wallet, body) => fake.pins.evaluate(wallet, body.blindedElement, body.keyId),
      'pin/confirm': (wallet, body) => fake.pins.confirm(wallet, body),
    });
    const opts = { url: 'http://latchkey.test', publicKey: 'pk_dev_test', wallet: ACCOUNT, session: data, fetch };
    const wrong = await caught(openSession({ ...opts, pin: '111111' }));
    expect(wrong.code).toBe('SESSION_DECRYPTION_FAILED');
    expect(wrong.attemptsRemaining).toBe(fake.pins.status(ACCOUNT).attemptsRemaining);
    expect(wrong.message).not.toContain('111111');
    const session = await openSession({ ...opts, pin: PIN });
    expect(session.publicKey).toBe(data.publicKey);
    expect(fake.pins.confirmations).toEqual([{ account: sdk.normalizeFelt(ACCOUNT), publicKey: sdk.normalizeFelt(data.publicKey) }]);
    expect(fake.pins.status(ACCOUNT).failures).toBe(0);
    // The blinded element is all the server saw of the PIN.
    expect(JSON.stringify(sent)).not.toContain(PIN);
    session.free();
  });
});

describe('execute', () => {
  const setup = async (prepare: (body: any) => any) => {
    const { full, data } = await bothSigners();
    full.free();
    const posted: any[] = [];
    const { fetch, sent } = server({
      '/api/config': () => ({ chainId: 'SN_SEPOLIA' }),
      prepare: (_wallet, body) => {
        const td = prepare(body);
        return { typedData: td, messageHash: sdk.messageHash(td, ACCOUNT) };
      },
      'execute': (_wallet, body) => {
        posted.push(body);
        return { requestId: 'r1', transactionHash: '0xabc', status: 'succeeded' };
      },
    });
    const session = await openSession({ url: 'http://latchkey.test', publicKey: 'pk_dev_test', wallet: ACCOUNT, session: data, pin: PIN, fetch });
    return { session, posted, sent, data };
  };
  const asked = [{ to: GAME, entrypoint: 'make_move', calldata: ['7'] }];
  const honest = (body: any) =>
    outsideExecution(body.calls.map((c: any) => ({ To: c.to, Selector: c.entrypoint, Calldata: c.calldata })), {
      executeBefore: Math.floor(Date.now() / 1000) + 600,
    });

  it('signs and sends what was asked, and the signature verifies', async () => {
    const { session, posted, data } = await setup(honest);
    const done = await session.execute(asked);
    expect(done.status).toBe('succeeded');
    expect(posted).toHaveLength(1);
    const [key, r, s] = posted[0].signature;
    expect(key).toBe(data.publicKey);
    expect(sdk.verifySignature(data.publicKey, sdk.messageHash(posted[0].typedData, ACCOUNT), r, s)).toBe(true);
    session.free();
  });

  it('refuses other calls, another chain or an expired execution, and sends nothing', async () => {
    const now = () => Math.floor(Date.now() / 1000);
    const servers = [
      (body: any) => outsideExecution([{ To: GAME, Selector: 'set_reward_pool', Calldata: body.calls[0].calldata }], { executeBefore: now() + 600 }),
      (body: any) => outsideExecution([{ To: GAME, Selector: 'make_move', Calldata: body.calls[0].calldata }], { chainId: 'SN_MAIN', executeBefore: now() + 600 }),
      (body: any) => outsideExecution([{ To: GAME, Selector: 'make_move', Calldata: body.calls[0].calldata }], { executeBefore: now() - 1 }),
    ];
    for (const prepare of servers) {
      const { session, posted } = await setup(prepare);
      const e = await caught(session.execute(asked));
      expect(e.code).toBe('UNEXPECTED_TYPED_DATA');
      expect(posted).toHaveLength(0);
      session.free();
    }
    const { session } = await setup(honest);
    expect((await caught(session.execute([]))).code).toBe('INVALID_INPUT');
    expect((await caught(session.execute([{ to: 'nope', entrypoint: 'x' }]))).code).toBe('INVALID_INPUT');
    session.free();
  });
});
