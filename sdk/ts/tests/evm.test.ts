// The EVM module: secp256k1 keys in the WebAssembly core (the lk2Secp256k1 vector opened
// through a blinded round trip with the independent server half in tests/oprf.ts), and
// EvmClient against a server faked at the fetch level: the userOp hash is recomputed and
// a mismatch (or other calls than asked) is refused before anything is signed.
import { beforeAll, describe, expect, it } from 'vitest';
import {
  encodeFunctionData,
  getAddress,
  parseAbi,
  recoverAddress,
  recoverMessageAddress,
  slice,
  toFunctionSelector,
  toHex,
  type Hex,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { getUserOperationHash } from 'viem/account-abstraction';
import * as sdk from '../dist/index.js';
import * as core from '../dist/wasm/latchkey_evm.js';
import { evmCore } from '../dist/wasm.js';
import { caught } from './helpers.js';
import { blindEvaluate, oprfVectors, unhex, walletKey } from './oprf.js';

const v = oprfVectors().lk2Secp256k1;
const entropy = () => crypto.getRandomValues(new Uint8Array(64));
const HASH = ('0x' + '42'.repeat(32)) as Hex;

beforeAll(async () => {
  await sdk.init();
  await evmCore(); // `core` (the EVM module, with key sealing) is used directly below
});

/** Opens the vector's envelope with `pin`, evaluated by the wallet key `sk`. */
function openVector(pin: string, sk: bigint, kind = 'owner'): core.EvmSigner {
  const blind = core.blindPin(pin, entropy());
  const secret = blind.finalize(blindEvaluate(sk, blind.blindedElement), v.keyId);
  try {
    return core.unlockEvmKey(v.envelope, kind, v.account, v.address, secret);
  } finally {
    secret.free();
  }
}

describe('the lk2Secp256k1 envelope vector', () => {
  const key = () => walletKey(unhex(v.master), v.keyId, v.account);

  it('opens through a blinded round trip to the recorded key, with the right PIN only', async () => {
    expect(privateKeyToAccount(v.privateKey).address).toBe(v.address);
    const owner = openVector(v.pin, key());
    expect(owner.address).toBe(v.address);
    expect(owner.kind).toBe('owner');
    expect(owner.account?.toLowerCase()).toBe(v.account.toLowerCase());
    expect(owner.encryptedPrivateKey).toBe(v.envelope);
    // Deterministic signatures (RFC 6979): the same as viem's with the recorded private key.
    const signed = owner.signMessageHash(HASH);
    expect(signed).toBe(await privateKeyToAccount(v.privateKey).signMessage({ message: { raw: HASH } }));
    expect(await recoverMessageAddress({ message: { raw: HASH }, signature: signed as Hex })).toBe(v.address);
    owner.free();

    expect((await caught(() => openVector('482914', key()))).code).toBe('OWNER_KEY_DECRYPTION_FAILED');
    const elsewhere = walletKey(unhex(v.master), v.keyId, '0x1234');
    expect((await caught(() => openVector(v.pin, elsewhere))).code).toBe('OWNER_KEY_DECRYPTION_FAILED');
    expect((await caught(() => openVector(v.pin, key(), 'session'))).code).toBe('SESSION_DECRYPTION_FAILED');
    const alone = core.Secret.passphrase(v.pin);
    const err = await caught(() => core.unlockEvmKey(v.envelope, 'owner', v.account, v.address, alone));
    expect([err.code, err.numericCode]).toEqual(['OPRF_REQUIRED', 207]);
    alone.free();
    // A Stark unlock of an EVM envelope is refused.
    const secret = core.blindPin(v.pin, entropy());
    const stark = secret.finalize(blindEvaluate(key(), secret.blindedElement), v.keyId);
    expect((await caught(() => core.unlockOwnerKey(v.envelope, v.address, v.account, stark))).code).toBe('OWNER_KEY_DECRYPTION_FAILED');
    stark.free();
  });

  it('envelopeInfo reads it', () => {
    expect(sdk.envelopeInfo(v.envelope)).toMatchObject({ format: 'lk2', kind: 'owner', oprfKeyId: 'v1', offlineGuessable: false });
  });

  it('userOp signatures are kind ‖ r ‖ s ‖ v and recover to the key; kinds follow the key', async () => {
    const owner = openVector(v.pin, key());
    const signature = owner.signUserOpHash(1, HASH) as Hex;
    expect(signature).toMatch(/^0x01[0-9a-f]{130}$/);
    expect(await recoverMessageAddress({ message: { raw: HASH }, signature: slice(signature, 1) })).toBe(v.address);
    const raw = owner.signUserOpHash(0, HASH) as Hex;
    expect(await recoverAddress({ hash: HASH, signature: slice(raw, 1) })).toBe(v.address);
    expect((await caught(() => owner.signUserOpHash(3, HASH))).code).toBe('INVALID_INPUT');
    expect((await caught(() => owner.signUserOpHash(7, HASH))).code).toBe('INVALID_INPUT');
    expect((await caught(() => owner.signUserOpHash(1, '0x1234'))).code).toBe('INVALID_INPUT');
    owner.free();
    const session = core.generateEvmSigner('session', entropy());
    expect(session.account).toBeUndefined();
    expect((session.signUserOpHash(3, HASH) as string).slice(0, 4)).toBe('0x03');
    expect((await caught(() => session.signUserOpHash(1, HASH))).code).toBe('INVALID_INPUT');
    session.free();
  });
});

describe('key material never shows', () => {
  it('in errors, JSON or strings', async () => {
    const privateHex = v.privateKey.slice(2);
    const errors = [
      await caught(() => openVector('482914', walletKey(unhex(v.master), v.keyId, v.account))),
      await caught(() => core.unlockEvmKey(v.envelope, 'owner', v.account, v.address, core.Secret.passphrase(v.pin))),
      await caught(() => core.unlockEvmKey(v.envelope, 'owner', v.account, v.privateKey, core.Secret.passphrase(v.pin))),
      await caught(() => core.generateEvmSigner('owner', entropy()).signMessageHash(v.privateKey + 'zz')),
      await caught(() => core.generateEvmSigner('owner', new Uint8Array(64))),
    ];
    for (const e of errors) {
      expect(e).toBeInstanceOf(Error);
      for (const text of [e.message, String(e), JSON.stringify(e), e.stack ?? '']) {
        expect(text.toLowerCase()).not.toContain(privateHex.slice(0, 16));
        expect(text).not.toContain(v.pin);
      }
    }
    const evm = new sdk.EvmClient(fakeServer().client);
    const key = await evm.createSessionKey();
    expect(JSON.stringify(key)).toContain('[redacted]');
    expect(String(key)).toBe(`EvmKey(session, ${key.address})`);
    key.free();
    expect((await caught(() => key.signUserOpHash(HASH))).code).toBe('SESSION_LOCKED');
  });
});

// ---- EvmClient against a fake server ----

const CHAIN = {
  id: 'eip155:31337',
  family: 'evm',
  accountClass: '0x1111111111111111111111111111111111111111',
  contracts: {
    factory: '0x2222222222222222222222222222222222222222',
    entryPoint: '0x4337084D9E255Ff0702461CF8895CE9E3b5Ff108',
    paymaster: '0x3333333333333333333333333333333333333333',
  },
  demoGame: '0x4444444444444444444444444444444444444444',
};
const WALLET = getAddress('0xacacacacacacacacacacacacacacacacacacacac');
const GAME = getAddress(CHAIN.demoGame);
const accountAbi = parseAbi([
  'function executeBatch((address target, uint256 value, bytes data)[] calls)',
  'function registerSession(address key, uint48 validAfter, uint48 validUntil, uint32 maxCalls, (address target, bytes4 selector)[] allowedMethods)',
]);
const gameAbi = parseAbi(['function makeMove(uint256 move)']);
const MAKE_MOVE = toFunctionSelector('makeMove(uint256)');

/** A userOp of the wallet running `callData`, and its hash as viem computes it. */
function userOp(callData: Hex) {
  const op = {
    sender: WALLET,
    nonce: toHex(5n << 64n),
    factory: null,
    factoryData: '0x',
    callData,
    callGasLimit: '0x30000',
    verificationGasLimit: '0x20000',
    preVerificationGas: '0x10000',
    maxFeePerGas: '0x3b9aca00',
    maxPriorityFeePerGas: '0x1',
    paymaster: CHAIN.contracts.paymaster,
    paymasterVerificationGasLimit: '0x10000',
    paymasterPostOpGasLimit: '0x0',
    paymasterData: '0x' + '00'.repeat(12) + 'ab'.repeat(65),
    signature: '0x',
  };
  const numbers: Record<string, bigint> = {};
  for (const f of ['nonce', 'callGasLimit', 'verificationGasLimit', 'preVerificationGas', 'maxFeePerGas', 'maxPriorityFeePerGas', 'paymasterVerificationGasLimit', 'paymasterPostOpGasLimit']) {
    numbers[f] = BigInt((op as Record<string, string>)[f]);
  }
  const hash = getUserOperationHash({
    chainId: 31337,
    entryPointAddress: CHAIN.contracts.entryPoint as Hex,
    entryPointVersion: '0.8',
    userOperation: { ...op, ...numbers, factory: undefined, factoryData: undefined } as never,
  });
  return { op, hash };
}

function fakeServer(prepare?: (path: string, body: any) => { callData: Hex; tamper?: (p: any) => void }) {
  const requests: { method: string; path: string; body: any }[] = [];
  const fetch = async (url: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const path = new URL(String(url)).pathname;
    const method = init?.method ?? 'GET';
    const body = init?.body ? JSON.parse(String(init.body)) : undefined;
    requests.push({ method, path, body });
    const json = (data: unknown, status = 200) => new Response(JSON.stringify(data), { status, headers: { 'content-type': 'application/json' } });
    if (path === '/api/config') return json({ chainId: 'SN_SEPOLIA', accountClassHash: '0x1', demoGame: null, chains: [CHAIN] });
    if (path.endsWith('/execute')) return json({ requestId: 'r', transactionHash: '0xabc', status: 'succeeded' });
    if (prepare && method === 'POST') {
      const { callData, tamper } = prepare(path, body);
      const { op, hash } = userOp(callData);
      const prepared = { requestId: 'r', payload: { chainId: 31337, entryPoint: CHAIN.contracts.entryPoint, userOperation: op }, userOpHash: hash, expiresAt: Math.floor(Date.now() / 1000) + 600 };
      tamper?.(prepared);
      return json(prepared);
    }
    return json({ code: 'NOT_FOUND', message: 'no route' }, 404);
  };
  const client = new sdk.LatchkeyClient({ url: 'http://fake.test', publicKey: 'pk_test', secretKey: 'sk_test', fetch: fetch as typeof globalThis.fetch });
  return { client, requests };
}

const move = (n: bigint) => encodeFunctionData({ abi: gameAbi, functionName: 'makeMove', args: [n] });
const batch = (calls: { target: Hex; data: Hex }[]) =>
  encodeFunctionData({ abi: accountAbi, functionName: 'executeBatch', args: [calls.map((c) => ({ ...c, value: 0n }))] });

describe('EvmClient checks what it signs', () => {
  it('signs a session userOp whose hash and calls are the ones asked for', async () => {
    const { client, requests } = fakeServer(() => ({ callData: batch([{ target: GAME, data: move(7n) }]) }));
    const evm = new sdk.EvmClient(client);
    const session = await evm.createSessionKey();
    const done = await evm.executeWithSession(WALLET, session, [{ to: GAME, data: move(7n) }]);
    expect(done.status).toBe('succeeded');
    const prepare = requests.find((r) => r.path.endsWith('/prepare'));
    expect(prepare?.body).toEqual({ calls: [{ to: GAME, data: move(7n) }], sessionKey: session.address });
    const execute = requests.find((r) => r.path.endsWith('/execute'));
    const [signature] = execute?.body.signature as Hex[];
    expect(signature.slice(0, 4)).toBe('0x03');
    const hash = userOp(batch([{ target: GAME, data: move(7n) }])).hash;
    expect(await recoverMessageAddress({ message: { raw: hash }, signature: slice(signature, 1) })).toBe(session.address);
    session.free();
  });

  it('refuses a userOp hash that differs, and other calls, and signs nothing', async () => {
    const cases: [string, (p: any) => void, Hex][] = [
      ['hash', (p) => (p.userOpHash = '0x' + '11'.repeat(32)), move(7n)],
      ['gas', (p) => (p.payload.userOperation.callGasLimit = '0x40000'), move(7n)],
      ['chain', (p) => (p.payload.chainId = 1), move(7n)],
      ['calls', () => undefined, move(8n)],
    ];
    for (const [what, tamper, data] of cases) {
      const { client, requests } = fakeServer(() => ({ callData: batch([{ target: GAME, data }]), tamper }));
      const evm = new sdk.EvmClient(client);
      const session = await evm.createSessionKey();
      const err = await caught(evm.executeWithSession(WALLET, session, [{ to: GAME, data: move(7n) }]));
      expect(err.code, what).toBe('UNEXPECTED_TYPED_DATA');
      expect(err.message).toContain('Nothing was signed');
      expect(requests.some((r) => r.path.endsWith('/execute')), what).toBe(false);
      session.free();
    }
  });

  it('checks a session registration against the terms before the owner signs', async () => {
    const validUntil = Math.floor(Date.now() / 1000) + 3600;
    const registration = (session: Hex, maxCalls: number) =>
      encodeFunctionData({
        abi: accountAbi,
        functionName: 'registerSession',
        args: [session, 0, validUntil, maxCalls, [{ target: GAME, selector: MAKE_MOVE }]],
      });
    const blind = core.blindPin(v.pin, entropy());
    const secret = blind.finalize(blindEvaluate(walletKey(unhex(v.master), v.keyId, WALLET), blind.blindedElement), v.keyId);
    const inner = core.generateEvmSigner('owner', entropy());
    inner.seal(WALLET, secret, entropy(), undefined, core.KdfParams.floor());
    secret.free();
    const owner = new sdk.EvmKey(inner);
    expect(owner.account).toBe(WALLET);
    for (const [maxCalls, ok] of [[10, true], [11, false]] as const) {
      const { client, requests } = fakeServer((_, body) => ({ callData: registration(body.sessionPublicKey, maxCalls) }));
      const evm = new sdk.EvmClient(client);
      const session = await evm.createSessionKey();
      const terms = { owner, session, maxCalls: 10, validUntil, allowedMethods: [{ contract: GAME, entrypoint: 'makeMove(uint256)' }] };
      if (ok) {
        expect((await evm.registerSession(WALLET, terms)).status).toBe('succeeded');
        const sent = requests.find((r) => r.path.endsWith('/sessions'))?.body;
        expect(sent.allowedMethods).toEqual([{ contract: GAME, selector: MAKE_MOVE }]);
        const [signature] = requests.find((r) => r.path.endsWith('/execute'))?.body.signature as Hex[];
        expect(signature.slice(0, 4)).toBe('0x01');
      } else {
        expect((await caught(evm.registerSession(WALLET, terms))).code).toBe('UNEXPECTED_TYPED_DATA');
        expect(requests.some((r) => r.path.endsWith('/execute'))).toBe(false);
      }
      session.free();
    }
    owner.free();
  });

  it('computes counterfactual addresses and proof hashes', () => {
    const address = sdk.evmWalletAddress(CHAIN, v.address);
    expect(address).toMatch(/^0x[0-9a-fA-F]{40}$/);
    expect(sdk.evmWalletAddress(CHAIN, v.address.toLowerCase())).toBe(address);
    const a = sdk.evmProofHash(31337, address, 'create-wallet', '0x1', toHex(1n, { size: 32 }));
    expect(a).not.toBe(sdk.evmProofHash(31337, address, 'replace-key', '0x1', toHex(1n, { size: 32 })));
    expect(a).not.toBe(sdk.evmProofHash(1, address, 'create-wallet', '0x1', toHex(1n, { size: 32 })));
  });
});
