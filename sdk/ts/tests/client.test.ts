// LatchkeyClient's HTTP error handling and its check of prepared typed data, against a
// small in-process HTTP server (the real server is exercised by tests/e2e.mjs).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import * as sdk from '../dist/index.js';
import * as core from '../dist/wasm/latchkey_starknet.js';
import * as keys from '../dist/wasm/latchkey_keys.js';
import { keysCore } from '../dist/wasm.js';
import { caught, outsideExecution } from './helpers.js';
import { OprfTestServer } from './oprf.js';

await sdk.init(); // the cases below are built with selectorFromName at collection time

const CHAIN = 'SN_SEPOLIA';
type Handler = (
  req: IncomingMessage,
  body: string,
) => { status: number; body: unknown; raw?: boolean; headers?: Record<string, string> };
let handlers: Record<string, Handler> = {};
let seen: { method: string; url: string; headers: IncomingMessage['headers']; body: string }[] = [];
let server: Server;
let url: string;
/** The server's PIN routes (every wallet), and the owner key of each wallet it created. */
let pins = new OprfTestServer();
let owners = new Map<string, string>();

function pinRoute(method: string, path: string): Handler | undefined {
  const m = /^\/api\/wallets\/([^/]+)\/pin\/(evaluate|confirm)$/.exec(path);
  if (!m || method !== 'POST') return undefined;
  return (_req, body) => {
    try {
      const b = JSON.parse(body);
      const value = m[2] === 'evaluate' ? pins.evaluate(m[1], b.blindedElement, b.keyId) : pins.confirm(m[1], b);
      return { status: 200, body: value };
    } catch (e: any) {
      const headers: Record<string, string> = e.retryAfterSeconds ? { 'retry-after': String(e.retryAfterSeconds) } : {};
      return { status: e.status ?? 500, body: { message: e.message, code: e.code, status: e.status }, headers };
    }
  };
}


beforeAll(async () => {
  await sdk.init();
  await keysCore(); // `keys` (the key-sealing module) is used directly below
  server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      const key = `${req.method} ${req.url!.split('?')[0]}`;
      const handler =
        handlers[key] ??
        pinRoute(req.method!, req.url!.split('?')[0]) ??
        (() => ({ status: 404, body: { message: 'no route', code: 'NOT_FOUND', status: 404 } }));
      const out = handler(req, body);
      res.writeHead(out.status, { 'content-type': out.raw ? 'text/html' : 'application/json', ...(out.headers ?? {}) });
      res.end(out.raw ? String(out.body) : JSON.stringify(out.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

beforeEach(() => {
  seen = [];
  pins = new OprfTestServer();
  owners = new Map();
  pins.keysOf = (account) => (owners.has(account) ? [owners.get(account)!] : []);
  handlers = { 'GET /api/config': () => ({ status: 200, body: { chainId: CHAIN, accountClassHash: '0x99', demoGame: '0x7' } }) };
});

const client = () => new sdk.LatchkeyClient({ url, publicKey: 'pk_test_1', secretKey: 'sk_test_2' });

describe('HTTP errors', () => {
  it('sends the API key headers', async () => {
    await client().config();
    expect(seen[0].headers['x-api-key']).toBe('pk_test_1');
    expect(seen[0].headers.authorization).toBe('Bearer sk_test_2');
    const user = new sdk.LatchkeyClient({ url, publicKey: 'pk_test_1', getBearerToken: async () => 'user.jwt' });
    await user.config();
    expect(seen[1].headers.authorization).toBe('Bearer user.jwt');
    const anonymous = new sdk.LatchkeyClient({ url, publicKey: 'pk_test_1', getBearerToken: async () => null });
    await anonymous.config();
    expect(seen[2].headers.authorization).toBeUndefined();
  });

  it('a known server code becomes the error code, with status and serverCode', async () => {
    handlers['GET /api/wallets/0x1'] = () => ({ status: 403, body: { message: 'session revoked', code: 'SESSION_REVOKED', status: 403 } });
    const e = await caught(client().getWallet('0x1'));
    expect(e).toBeInstanceOf(sdk.LatchkeyError);
    expect([e.code, e.numericCode, e.status, e.serverCode]).toEqual(['SESSION_REVOKED', 3, 403, 'SESSION_REVOKED']);
    expect(e.message).toContain('session revoked');
  });

  it('other server codes are API_ERROR with the server code kept', async () => {
    handlers['POST /api/wallets'] = () => ({ status: 409, body: { message: 'exists', code: 'WALLET_EXISTS', status: 409 } });
    const e = await caught(client().request('POST', '/api/wallets', {}));
    expect([e.code, e.numericCode, e.status, e.serverCode]).toEqual(['API_ERROR', 300, 409, 'WALLET_EXISTS']);
  });

  it('a non-JSON error page is API_ERROR HTTP_<status>', async () => {
    handlers['GET /api/wallets'] = () => ({ status: 502, body: '<html>bad gateway</html>', raw: true });
    const e = await caught(client().listWallets());
    expect([e.code, e.status, e.serverCode]).toEqual(['API_ERROR', 502, 'HTTP_502']);
  });

  it('a successful answer that is not JSON is NETWORK_ERROR', async () => {
    handlers['GET /api/wallets'] = () => ({ status: 200, body: 'hello', raw: true });
    expect((await caught(client().listWallets())).code).toBe('NETWORK_ERROR');
  });

  it('an unreachable server is NETWORK_ERROR', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const e = await caught(new sdk.LatchkeyClient({ url: `http://127.0.0.1:${port}`, publicKey: 'pk' }).config());
    expect([e.code, e.numericCode]).toEqual(['NETWORK_ERROR', 301]);
  });

  it('an unknown session is SESSION_NOT_REGISTERED; a missing stored session is null', async () => {
    handlers['GET /api/wallets/0x1/sessions/0x2'] = () => ({ status: 404, body: { message: 'session not found', code: 'SESSION_NOT_FOUND', status: 404 } });
    const e = await caught(client().getSession('0x1', '0x2'));
    expect([e.code, e.serverCode, e.status]).toEqual(['SESSION_NOT_REGISTERED', 'SESSION_NOT_FOUND', 404]);
    handlers['GET /api/me/session'] = () => ({ status: 404, body: { message: 'no stored session', code: 'SESSION_NOT_FOUND', status: 404 } });
    expect(await client().getMySession()).toBeNull();
  });
});

describe('execute checks what it signs', () => {
  const game = '0x7';
  const calls = [{ to: game, entrypoint: 'make_move', calldata: ['9'] }];
  let signer: sdk.OwnerSigner;
  let account: string;

  beforeAll(async () => {
    const owner = await sdk.createOwnerKey({ pin: '482913' }, { classHash: '0x99', kdf: 'floor', format: 'lk1' });
    account = owner.address;
    signer = await sdk.unlockOwnerKey(owner.encryptedPrivateKey, { pin: '482913' }, owner);
  });

  function prepareReturns(td: any, hash?: string) {
    handlers[`POST /api/wallets/${account}/prepare`] = () => ({
      status: 200,
      body: { requestId: 'req1', typedData: td, messageHash: hash ?? sdk.messageHash(td, account), expiresAt: 4_000_000_000 },
    });
  }
  const executeAnswers = (status: string, extra: object = {}) => {
    handlers[`POST /api/wallets/${account}/execute`] = () => ({
      status: 200,
      body: { requestId: 'req1', transactionHash: '0xabc', status, ...extra },
    });
  };
  const executed = () => seen.filter((r) => r.url.includes('/execute'));

  it('signs and submits exactly the prepared calls', async () => {
    prepareReturns(outsideExecution([{ To: game, Selector: sdk.selectorFromName('make_move'), Calldata: ['0x9'] }]));
    executeAnswers('succeeded');
    const out = await client().execute(account, signer, calls);
    expect(out.status).toBe('succeeded');
    const [submitted] = executed();
    expect(submitted.url).toContain('wait=true');
    const body = JSON.parse(submitted.body);
    expect(body.signature).toHaveLength(2);
    const hash = sdk.messageHash(body.typedData, account);
    expect(sdk.verifySignature(signer.publicKey, hash, body.signature[0], body.signature[1])).toBe(true);
  });

  for (const [name, td] of [
    ['other calldata', outsideExecution([{ To: game, Selector: sdk.selectorFromName('make_move'), Calldata: ['0xa'] }])],
    ['another contract', outsideExecution([{ To: '0x8', Selector: sdk.selectorFromName('make_move'), Calldata: ['0x9'] }])],
    ['an extra call', outsideExecution([
      { To: game, Selector: sdk.selectorFromName('make_move'), Calldata: ['0x9'] },
      { To: '0x49d36570d4e46f48e99674bd3fcc84644ddd6b96f7c741b1562b82f9e004dc7', Selector: sdk.selectorFromName('transfer'), Calldata: ['0x1', '0x1', '0x0'] },
    ])],
    ['another chain', outsideExecution([{ To: game, Selector: sdk.selectorFromName('make_move'), Calldata: ['0x9'] }], { chainId: 'SN_MAIN' })],
    ['an expired window', outsideExecution([{ To: game, Selector: sdk.selectorFromName('make_move'), Calldata: ['0x9'] }], { executeBefore: 1000 })],
  ] as const) {
    it(`refuses ${name} and submits nothing`, async () => {
      prepareReturns(td);
      executeAnswers('succeeded');
      const e = await caught(client().execute(account, signer, calls));
      expect([e.code, e.numericCode]).toEqual(['UNEXPECTED_TYPED_DATA', 206]);
      expect(executed()).toEqual([]);
    });
  }

  it('refuses a message hash that does not match the typed data', async () => {
    prepareReturns(outsideExecution([{ To: game, Selector: sdk.selectorFromName('make_move'), Calldata: ['0x9'] }]), '0x1234');
    expect((await caught(client().execute(account, signer, calls))).code).toBe('UNEXPECTED_TYPED_DATA');
    expect(executed()).toEqual([]);
  });

  it('a final status other than succeeded throws, with the execution attached', async () => {
    prepareReturns(outsideExecution([{ To: game, Selector: sdk.selectorFromName('make_move'), Calldata: ['0x9'] }]));
    executeAnswers('reverted', { errorCode: 'TRANSACTION_REVERTED', errorMessage: "Game: invalid move" });
    const e = await caught(client().execute(account, signer, calls));
    expect([e.code, e.serverCode]).toEqual(['API_ERROR', 'TRANSACTION_REVERTED']);
    expect(e.message).toContain('Game: invalid move');
    expect(e.execution.transactionHash).toBe('0xabc');
    executeAnswers('rejected', { errorCode: 'SESSION_MAX_CALLS_EXCEEDED', errorMessage: 'no calls left' });
    expect((await caught(client().execute(account, signer, calls))).code).toBe('SESSION_MAX_CALLS_EXCEEDED');
  });

  it('a key of another wallet is refused before anything is sent', async () => {
    prepareReturns(outsideExecution([{ To: game, Selector: sdk.selectorFromName('make_move'), Calldata: ['0x9'] }]));
    const other = await sdk.createOwnerKey({ pin: '482913' }, { classHash: '0x98', kdf: 'floor', format: 'lk1' });
    const otherSigner = await sdk.unlockOwnerKey(other.encryptedPrivateKey, { pin: '482913' }, other);
    expect((await caught(client().execute(account, otherSigner, calls))).code).toBe('INVALID_INPUT');
    expect(executed()).toEqual([]);
    otherSigner.free();
  });
});

describe('new server error codes', () => {
  it('map to their own codes, numbered like the WebAssembly core', async () => {
    for (const [name, value] of Object.entries(sdk.ErrorCodes)) {
      expect(core.errorCodeName(value)).toBe(name);
    }
    const cases: [number, string, number][] = [
      [429, 'RATE_LIMITED', 302],
      [429, 'DAILY_QUOTA_EXHAUSTED', 303],
      [429, 'WALLET_COOLING_DOWN', 304],
      [429, 'TOO_MANY_SIMULATIONS', 305],
      [503, 'SIMULATION_TIMEOUT', 306],
      [403, 'NOT_SPONSORED', 307],
      [403, 'MAX_FEE_EXCEEDED', 308],
      [409, 'REQUEST_CONFLICT', 309],
      [409, 'SESSION_KEY_REVOKED', 310],
      [400, 'ALLOWLIST_REQUIRED', 311],
      [400, 'SESSION_TOO_LONG', 312],
      [400, 'SELF_CALL_NOT_ALLOWED', 313],
      [403, 'INVALID_PROOF', 314],
    ];
    for (const [status, code, numeric] of cases) {
      handlers['GET /api/wallets/0x1'] = () => ({ status, body: { message: 'refused', code, status } });
      const e = await caught(client().getWallet('0x1'));
      expect([e.code, e.numericCode, e.status, e.serverCode]).toEqual([code, numeric, status, code]);
    }
  });

  it('a Retry-After is kept on the error', async () => {
    handlers['GET /api/wallets/0x1'] = () => ({
      status: 429,
      body: { message: 'slow down', code: 'RATE_LIMITED', status: 429 },
      headers: { 'retry-after': '7' },
    });
    const e = await caught(client().getWallet('0x1'));
    expect([e.code, e.retryAfterSeconds]).toEqual(['RATE_LIMITED', 7]);
    expect(e.toJSON().retryAfterSeconds).toBe(7);
  });
});

describe('proofs of key possession', () => {
  const PIN = '482913';
  const CHAIN_FELT = '0x534e5f5345504f4c4941';
  const fast = () => new sdk.LatchkeyClient({ url, publicKey: 'pk_test_1', secretKey: 'sk_test_2', kdf: 'floor' });
  let issued: string[] = [];
  let consoleSpies: ReturnType<typeof vi.spyOn>[] = [];

  beforeEach(() => {
    issued = [];
    handlers['POST /api/challenges'] = (_req, body) => {
      const { purpose } = JSON.parse(body);
      const challenge = '0x' + (0xc0ffee00 + issued.length).toString(16);
      issued.push(challenge);
      return { status: 201, body: { challenge, purpose, chainId: CHAIN_FELT, expiresAt: 4_000_000_000 } };
    };
    handlers['POST /api/wallets'] = (_req, body) => {
      const b = JSON.parse(body);
      owners.set(sdk.normalizeFelt(sdk.accountAddress('0x99', b.ownerPublicKey)), b.ownerPublicKey);
      return {
        status: 201,
        body: {
          address: sdk.accountAddress('0x99', b.ownerPublicKey),
          ownerPublicKey: b.ownerPublicKey,
          externalUserId: b.externalUserId ?? null,
          walletType: 'CHIPI',
          classHash: '0x99',
          deployed: true,
          deployTransactionHash: '0x5',
          encryptedPrivateKey: b.encryptedPrivateKey,
          hasBackup: false,
          createdAt: '2026-01-01T00:00:00Z',
        },
      };
    };
    consoleSpies = (['log', 'info', 'warn', 'error', 'debug'] as const).map((m) => vi.spyOn(console, m));
  });

  afterEach(() => {
    for (const spy of consoleSpies) spy.mockRestore();
  });

  /** Everything the client sent, and everything it logged. */
  const everythingShown = () =>
    JSON.stringify(seen) + JSON.stringify(consoleSpies.map((spy) => spy.mock.calls));

  /** The forms a plaintext key could take in text. */
  const forms = (plaintext: string) => [plaintext.slice(2), BigInt(plaintext).toString(16), BigInt(plaintext).toString()];

  const verifyProof = (publicKey: string, account: string, purpose: sdk.ProofPurpose, proof: sdk.Proof, payload: string) =>
    sdk.verifySignature(
      publicKey,
      sdk.proofHash(CHAIN_FELT, account, purpose, proof.challenge, sdk.payloadHash(payload)),
      proof.signature[0],
      proof.signature[1],
    );

  it('createWallet seals an lk2 owner key through the PIN evaluation, sends a create-wallet proof, then proves the unlock', async () => {
    const wallet = await fast().createWallet({ secret: { pin: PIN }, externalUserId: 'u1' });
    expect(seen.map((r) => `${r.method} ${r.url}`)).toEqual([
      'GET /api/config',
      `POST /api/wallets/${wallet.address}/pin/evaluate`,
      'POST /api/challenges',
      'POST /api/wallets',
      `POST /api/wallets/${wallet.address}/pin/confirm`,
    ]);
    expect(Object.keys(JSON.parse(seen[1].body))).toEqual(['blindedElement']);
    expect(JSON.parse(seen[2].body)).toEqual({ purpose: 'create-wallet' });
    const body = JSON.parse(seen[3].body);
    expect(body.encryptedPrivateKey).toMatch(/^lk2\$owner\$argon2id\$m=19456,t=2,p=1\$v1\$/);
    // The evaluation was proved by the new owner key: the counter is back to zero.
    expect(pins.confirmations).toEqual([{ account: sdk.normalizeFelt(wallet.address), publicKey: sdk.normalizeFelt(body.ownerPublicKey) }]);
    expect(pins.status(wallet.address).failures).toBe(0);
    expect(Object.keys(body).sort()).toEqual(['encryptedPrivateKey', 'externalUserId', 'ownerPublicKey', 'proof']);
    expect(body.proof.challenge).toBe(issued[0]);
    expect(body.proof.signature).toHaveLength(2);
    expect(verifyProof(body.ownerPublicKey, wallet.address, 'create-wallet', body.proof, body.encryptedPrivateKey)).toBe(true);
    // Bound to this wallet and this blob.
    expect(verifyProof(body.ownerPublicKey, '0x1', 'create-wallet', body.proof, body.encryptedPrivateKey)).toBe(false);
    expect(verifyProof(body.ownerPublicKey, wallet.address, 'create-wallet', body.proof, 'another blob')).toBe(false);

    // Neither the PIN nor the private key went anywhere; the PIN alone does not open it.
    const alone = keys.Secret.passphrase(PIN);
    expect((await caught(() => keys.unlockOwnerKey(body.encryptedPrivateKey, body.ownerPublicKey, wallet.address, alone))).code).toBe(
      'OPRF_REQUIRED',
    );
    alone.free();
    const secret = pins.secretFor(keys, PIN, wallet.address);
    const opened = keys.unlockOwnerKey(body.encryptedPrivateKey, body.ownerPublicKey, wallet.address, secret);
    const plaintext = opened.exportPrivateKeyPlaintext();
    opened.free();
    secret.free();
    const shown = everythingShown();
    for (const form of [PIN, ...forms(plaintext)]) expect(shown).not.toContain(form);
  });

  it('a weak PIN fails before any evaluation; a failed challenge creates nothing', async () => {
    const weak = await caught(fast().createWallet({ secret: { pin: '123456' } }));
    expect(weak.code).toBe('WEAK_PIN');
    expect(seen.map((r) => r.url)).toEqual(['/api/config']);
    expect(pins.evaluations).toEqual([]);

    seen = [];
    handlers['POST /api/challenges'] = () => ({
      status: 429,
      body: { message: 'slow down', code: 'RATE_LIMITED', status: 429 },
      headers: { 'retry-after': '3' },
    });
    const limited = await caught(fast().createWallet({ secret: { pin: PIN } }));
    expect([limited.code, limited.retryAfterSeconds]).toEqual(['RATE_LIMITED', 3]);
    expect(seen.some((r) => r.url === '/api/wallets')).toBe(false);

    handlers['POST /api/challenges'] = () => ({
      status: 201,
      body: { challenge: '0x1', purpose: 'replace-key', chainId: CHAIN_FELT, expiresAt: 4_000_000_000 },
    });
    const other = await caught(fast().createWallet({ secret: { pin: PIN } }));
    expect(other.code).toBe('SESSION_INVALID_RESPONSE');
    expect(seen.some((r) => r.url === '/api/wallets')).toBe(false);
  });

  it('the server refusing the proof is INVALID_PROOF', async () => {
    handlers['POST /api/wallets'] = () => ({ status: 403, body: { message: 'the proof does not verify for this key', code: 'INVALID_PROOF', status: 403 } });
    const e = await caught(fast().createWallet({ secret: { pin: PIN } }));
    expect([e.code, e.numericCode, e.status]).toEqual(['INVALID_PROOF', 314, 403]);
  });

  describe('stored keys', () => {
    let key: { address: string; publicKey: string; encryptedPrivateKey: string };
    let owner: sdk.OwnerSigner;

    beforeAll(async () => {
      key = await sdk.createOwnerKey({ pin: PIN }, { classHash: '0x99', kdf: 'floor', format: 'lk1' });
    });
    beforeEach(async () => {
      owner = await sdk.unlockOwnerKey(key.encryptedPrivateKey, { pin: PIN }, key);
      handlers[`PUT /api/wallets/${key.address}/encrypted-key`] = (_req, body) => ({
        status: 200,
        body: { walletAddress: key.address, which: 'primary', encryptedPrivateKey: JSON.parse(body).encryptedPrivateKey },
      });
    });
    afterEach(() => owner.free());

    it('replaceEncryptedKey with a new secret seals the held key again (lk2) and proves it', async () => {
      const NEW_PIN = '905172';
      owners.set(sdk.normalizeFelt(key.address), key.publicKey);
      const out = await fast().replaceEncryptedKey(key.address, owner, { secret: { pin: NEW_PIN }, backupSecret: { passphrase: 'a long backup phrase' } });
      expect(seen.map((r) => `${r.method} ${r.url}`)).toEqual([
        `POST /api/wallets/${key.address}/pin/evaluate`,
        `POST /api/wallets/${key.address}/pin/evaluate`,
        'POST /api/challenges',
        `PUT /api/wallets/${key.address}/encrypted-key`,
        `POST /api/wallets/${key.address}/pin/confirm`,
      ]);
      const body = JSON.parse(seen[3].body);
      expect(body.encryptedPrivateKey.startsWith('lk2$owner$')).toBe(true);
      expect(body.encryptedPrivateKeyBackup.startsWith('lk2$owner$')).toBe(true);
      expect(pins.status(key.address).failures).toBe(0);
      expect(Object.keys(body).sort()).toEqual(['encryptedPrivateKey', 'encryptedPrivateKeyBackup', 'proof']);
      expect(out.encryptedPrivateKey).toBe(body.encryptedPrivateKey);
      const payload = `${body.encryptedPrivateKey}\n${body.encryptedPrivateKeyBackup}`;
      expect(verifyProof(key.publicKey, key.address, 'replace-key', body.proof, payload)).toBe(true);
      expect(verifyProof(key.publicKey, key.address, 'replace-key', body.proof, `${body.encryptedPrivateKey}\n`)).toBe(false);
      // Both blobs hold the owner key, under the new secrets and the server's evaluation.
      for (const [blob, secret] of [
        [body.encryptedPrivateKey, { pin: NEW_PIN }],
        [body.encryptedPrivateKeyBackup, { passphrase: 'a long backup phrase' }],
      ] as const) {
        const back = await sdk.unlockOwnerKeyWithPin(fast(), { ...key, encryptedPrivateKey: blob, ownerPublicKey: key.publicKey }, secret);
        expect(back.publicKey).toBe(key.publicKey);
        back.free();
      }
      const wallet = { address: key.address, encryptedPrivateKey: body.encryptedPrivateKey, ownerPublicKey: key.publicKey };
      const wrong = await caught(sdk.unlockOwnerKeyWithPin(fast(), wallet, { pin: PIN }));
      expect([wrong.code, wrong.attemptsRemaining]).toEqual(['OWNER_KEY_DECRYPTION_FAILED', 9]);
      expect((await caught(sdk.unlockOwnerKey(body.encryptedPrivateKey, { pin: NEW_PIN }, key))).code).toBe('OPRF_REQUIRED');
      const shown = everythingShown();
      for (const secret of [PIN, NEW_PIN, 'a long backup phrase']) expect(shown).not.toContain(secret);
    });

    it('replaceEncryptedKey with blobs: no backup means an empty second line; plaintext is refused before any request', async () => {
      expect((await caught(() => owner.seal({ pin: '905172' }, { kdf: 'floor' }))).code).toBe('OPRF_REQUIRED');
      const blob = await owner.seal({ pin: '905172' }, { kdf: 'floor', format: 'lk1' });
      await fast().replaceEncryptedKey(key.address, owner, { encryptedPrivateKey: blob });
      const body = JSON.parse(seen[1].body);
      expect(Object.keys(body).sort()).toEqual(['encryptedPrivateKey', 'proof']);
      expect(verifyProof(key.publicKey, key.address, 'replace-key', body.proof, `${blob}\n`)).toBe(true);

      seen = [];
      const plaintext = '0x' + '3a'.repeat(31);
      const refused = await caught(fast().replaceEncryptedKey(key.address, owner, { encryptedPrivateKey: blob, encryptedPrivateKeyBackup: plaintext }));
      expect(refused.code).toBe('INVALID_ENCRYPTED_KEY');
      expect(refused.message).not.toContain('3a3a');
      expect((await caught(fast().replaceEncryptedKey(key.address, owner, {} as any))).code).toBe('INVALID_INPUT');
      const stranger = new sdk.OwnerSigner(core.OwnerSigner.fromPlaintext('0x1234', '0x42'));
      expect((await caught(fast().replaceEncryptedKey(key.address, stranger, { encryptedPrivateKey: blob }))).code).toBe('INVALID_INPUT');
      stranger.free();
      // A Chipi ciphertext is the Chipi dialect's: the native API is never sent one.
      const chipi = await owner.seal({ pin: '905172' }, { format: 'chipi' });
      const notHere = await caught(fast().replaceEncryptedKey(key.address, owner, { encryptedPrivateKey: blob, encryptedPrivateKeyBackup: chipi }));
      expect([notHere.code, notHere.message]).toEqual(['INVALID_ENCRYPTED_KEY', expect.stringContaining('Chipi dialect only')]);
      expect((await caught(fast().replaceEncryptedKey(key.address, owner, { secret: { pin: '905172' }, format: 'chipi' }))).code).toBe('INVALID_INPUT');
      expect((await caught(fast().createWallet({ secret: { pin: '905172' }, format: 'chipi' }))).code).toBe('INVALID_INPUT');
      expect(seen).toEqual([]);
    });

    it('restoreKey proves possession over the event id', async () => {
      const eventId = '0b7f3c1e-2d4a-4f6b-9c8d-1e2f3a4b5c6d';
      handlers[`POST /api/wallets/${key.address}/key-history/${eventId}/restore`] = () => ({
        status: 200,
        body: { walletAddress: key.address, which: 'primary', encryptedPrivateKey: key.encryptedPrivateKey },
      });
      const out = await fast().restoreKey(key.address, eventId, owner);
      expect(out.which).toBe('primary');
      expect(JSON.parse(seen[0].body)).toEqual({ purpose: 'restore-key' });
      const body = JSON.parse(seen[1].body);
      expect(Object.keys(body)).toEqual(['proof']);
      expect(verifyProof(key.publicKey, key.address, 'restore-key', body.proof, eventId)).toBe(true);
    });

    it('reads the encrypted key and the key history', async () => {
      handlers[`GET /api/wallets/${key.address}/encrypted-key`] = (req) => ({
        status: 200,
        body: { walletAddress: key.address, which: req.url!.includes('backup=true') ? 'backup' : 'primary', encryptedPrivateKey: key.encryptedPrivateKey },
      });
      handlers[`GET /api/wallets/${key.address}/key-history`] = () => ({
        status: 200,
        body: [{ id: 'e1', kind: 'read', principal: 'organization', route: 'GET', proof: 'organisation secret key', restorable: false, createdAt: '2026-01-01T00:00:00Z' }],
      });
      expect((await fast().getEncryptedKey(key.address)).which).toBe('primary');
      expect((await fast().getEncryptedKey(key.address, { backup: true })).which).toBe('backup');
      expect(seen.map((r) => r.url)).toEqual([`/api/wallets/${key.address}/encrypted-key`, `/api/wallets/${key.address}/encrypted-key?backup=true`]);
      expect((await fast().keyHistory(key.address))[0].kind).toBe('read');
    });
  });
});

describe('organisation settings', () => {
  it('token issuer: null when none, set, delete', async () => {
    handlers['GET /api/organization/token-issuer'] = () => ({ status: 200, body: null });
    expect(await client().tokenIssuer()).toBeNull();
    const issuer = { jwksUrl: 'https://auth.example.com/jwks.json', issuer: 'https://auth.example.com', audience: 'game' };
    handlers['PUT /api/organization/token-issuer'] = (_req, body) => ({ status: 200, body: JSON.parse(body) });
    expect(await client().setTokenIssuer({ ...issuer, extra: 1 } as any)).toEqual(issuer);
    expect(JSON.parse(seen.at(-1)!.body)).toEqual(issuer);
    handlers['PUT /api/organization/token-issuer'] = () => ({ status: 409, body: { message: 'in use', code: 'TOKEN_ISSUER_IN_USE', status: 409 } });
    expect((await caught(client().setTokenIssuer(issuer))).serverCode).toBe('TOKEN_ISSUER_IN_USE');
    handlers['DELETE /api/organization/token-issuer'] = () => ({ status: 204, body: undefined });
    await client().deleteTokenIssuer();
    expect(seen.at(-1)!.method).toBe('DELETE');
  });

  it('sponsorship policy: entrypoint names become selectors', async () => {
    const stored = { allowedMethods: [], revertCooldownAfter: 3, revertCooldownSeconds: 600 };
    handlers['GET /api/sponsorship/policy'] = () => ({ status: 200, body: stored });
    expect(await client().sponsorshipPolicy()).toEqual(stored);
    handlers['PUT /api/sponsorship/policy'] = (_req, body) => ({ status: 200, body: { revertCooldownAfter: 3, revertCooldownSeconds: 600, ...JSON.parse(body) } });
    const out = await client().setSponsorshipPolicy({
      allowedMethods: [{ contract: '0x07', entrypoint: 'make_move' }, { contract: '0x0', selector: '0x0A' }],
      maxFeePerTxFri: '1000000000000000',
      revertCooldownAfter: 0,
    });
    expect(JSON.parse(seen.at(-1)!.body)).toEqual({
      allowedMethods: [
        { contract: '0x7', selector: sdk.selectorFromName('make_move') },
        { contract: '0x0', selector: '0xa' },
      ],
      maxFeePerTxFri: '1000000000000000',
      revertCooldownAfter: 0,
    });
    expect(out.maxFeePerTxFri).toBe('1000000000000000');
    expect((await caught(client().setSponsorshipPolicy({ allowedMethods: [{ contract: '0x7' }] }))).code).toBe('INVALID_INPUT');
  });
});
