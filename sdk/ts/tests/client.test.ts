// LatchkeyClient's HTTP error handling and its check of prepared typed data, against a
// small in-process HTTP server (the real server is exercised by tests/e2e.mjs).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import * as sdk from '../dist/index.js';
import { caught, outsideExecution } from './helpers.js';

await sdk.init(); // the cases below are built with selectorFromName at collection time

const CHAIN = 'SN_SEPOLIA';
type Handler = (req: IncomingMessage, body: string) => { status: number; body: unknown; raw?: boolean };
let handlers: Record<string, Handler> = {};
let seen: { method: string; url: string; headers: IncomingMessage['headers']; body: string }[] = [];
let server: Server;
let url: string;


beforeAll(async () => {
  await sdk.init();
  server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      const key = `${req.method} ${req.url!.split('?')[0]}`;
      const handler = handlers[key] ?? (() => ({ status: 404, body: { message: 'no route', code: 'NOT_FOUND', status: 404 } }));
      const out = handler(req, body);
      res.writeHead(out.status, { 'content-type': out.raw ? 'text/html' : 'application/json' });
      res.end(out.raw ? String(out.body) : JSON.stringify(out.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

beforeEach(() => {
  seen = [];
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
    const owner = await sdk.createOwnerKey({ pin: '482913' }, { classHash: '0x99', kdf: 'floor' });
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
    const other = await sdk.createOwnerKey({ pin: '482913' }, { classHash: '0x98', kdf: 'floor' });
    const otherSigner = await sdk.unlockOwnerKey(other.encryptedPrivateKey, { pin: '482913' }, other);
    expect((await caught(client().execute(account, otherSigner, calls))).code).toBe('INVALID_INPUT');
    expect(executed()).toEqual([]);
    otherSigner.free();
  });
});
