// A stand-in for LatchkeyClient at the method level (no HTTP), recording what is called,
// with the server's session bookkeeping (registration, calls used, revocation), its PIN
// routes (tests/oprf.ts: OPRF evaluation, attempt counter, pin-unlock proofs) and its
// custody of the owner key (replace-key proofs checked).
import type {
  Call,
  Execution,
  KeyReplacement,
  OwnerSigner,
  Session,
  SessionSigner,
  SessionTerms,
} from '../dist/index.js';
import * as sdk from '../dist/index.js';
import { LatchkeyClient, LatchkeyError } from '../dist/index.js';
import { CHAIN_FELT, OprfTestServer } from './oprf.js';

export class FakeClient {
  log: string[] = [];
  sessions = new Map<string, Session>();
  failRevoke = false;
  readonly kdf = 'floor' as const;
  readonly pins = new OprfTestServer();
  replaced: KeyReplacement[] = [];
  #challenges = 0;
  constructor(readonly wallet: { address: string; ownerPublicKey: string; encryptedPrivateKey?: string }) {
    this.pins.keysOf = () => [this.wallet.ownerPublicKey, ...this.sessions.keys()];
  }

  asClient(): LatchkeyClient {
    return this as unknown as LatchkeyClient;
  }

  async getWallet(address: string) {
    this.log.push('getWallet');
    return { address, ownerPublicKey: this.wallet.ownerPublicKey, encryptedPrivateKey: this.wallet.encryptedPrivateKey, hasBackup: false };
  }

  /** The PIN routes, reached through LatchkeyClient's own pinEvaluate and pinConfirm. */
  async request(method: string, path: string, body?: any): Promise<unknown> {
    const [, , , account, , action] = path.split('/');
    if (method === 'POST' && action === 'evaluate') {
      this.log.push('pinEvaluate');
      return this.pins.evaluate(account, body.blindedElement, body.keyId);
    }
    if (method === 'POST' && action === 'confirm') {
      this.log.push('pinConfirm');
      return this.pins.confirm(account, body);
    }
    throw new Error(`FakeClient: no route ${method} ${path}`);
  }

  pinEvaluate = LatchkeyClient.prototype.pinEvaluate;
  pinConfirm = LatchkeyClient.prototype.pinConfirm;

  async replaceEncryptedKey(address: string, owner: OwnerSigner, next: KeyReplacement): Promise<unknown> {
    this.log.push('replaceEncryptedKey');
    if (!('encryptedPrivateKey' in next)) throw new Error('FakeClient: blobs only');
    const challenge = `0x${(0xcafe00 + ++this.#challenges).toString(16)}`;
    const proof = owner.prove({ challenge, purpose: 'replace-key', chainId: CHAIN_FELT, expiresAt: 0 }, `${next.encryptedPrivateKey}\n${next.encryptedPrivateKeyBackup ?? ''}`);
    const hash = sdk.proofHash(CHAIN_FELT, address, 'replace-key', challenge, sdk.payloadHash(`${next.encryptedPrivateKey}\n`));
    if (!sdk.verifySignature(this.wallet.ownerPublicKey, hash, proof.signature[0], proof.signature[1])) {
      throw new LatchkeyError('INVALID_PROOF', 'the proof does not verify', { status: 403 });
    }
    this.replaced.push(next);
    this.wallet.encryptedPrivateKey = next.encryptedPrivateKey;
    return { walletAddress: address, which: 'primary', encryptedPrivateKey: next.encryptedPrivateKey };
  }

  async getSession(_address: string, key: string): Promise<Session> {
    this.log.push('getSession');
    const s = this.sessions.get(key);
    if (!s) throw new LatchkeyError('SESSION_NOT_REGISTERED', 'session not found', { status: 404, serverCode: 'SESSION_NOT_FOUND' });
    return { ...s, remainingCalls: s.maxCalls - s.callsUsed, isActive: s.state === 'active' };
  }

  async registerSession(address: string, owner: OwnerSigner, terms: SessionTerms): Promise<Execution> {
    this.log.push('registerSession');
    if (owner.freed || owner.account !== address) throw new Error('owner signer unusable');
    this.sessions.set(terms.sessionPublicKey, {
      sessionPublicKey: terms.sessionPublicKey,
      state: 'active',
      isActive: true,
      validAfter: 0,
      validUntil: terms.validUntil,
      maxCalls: terms.maxCalls,
      callsUsed: 0,
      remainingCalls: terms.maxCalls,
      allowAll: !!terms.allowAll,
      allowedMethods: [],
      spendingCaps: [],
    });
    return { requestId: 'r1', transactionHash: '0x1', status: 'succeeded' };
  }

  async execute(_address: string, signer: SessionSigner, calls: Call[]): Promise<Execution> {
    this.log.push('execute');
    const s = this.sessions.get(signer.publicKey);
    if (!s) throw new LatchkeyError('SESSION_NOT_REGISTERED', 'not registered', { status: 403 });
    if (s.state === 'revoked') throw new LatchkeyError('SESSION_REVOKED', 'revoked', { status: 403 });
    if (s.callsUsed >= s.maxCalls) throw new LatchkeyError('SESSION_MAX_CALLS_EXCEEDED', 'no calls left', { status: 403 });
    if (signer.freed) throw new Error('freed signer');
    s.callsUsed += 1;
    if (s.callsUsed >= s.maxCalls) s.state = 'exhausted';
    return { requestId: `e${s.callsUsed}`, transactionHash: '0x2', status: calls.length ? 'succeeded' : 'reverted' };
  }

  async revokeSession(_address: string, owner: OwnerSigner, key: string): Promise<Execution> {
    this.log.push('revokeSession');
    if (owner.freed) throw new Error('owner freed');
    if (this.failRevoke) throw new LatchkeyError('API_ERROR', 'relayer down', { status: 503 });
    const s = this.sessions.get(key);
    if (s) s.state = 'revoked';
    return { requestId: 'r2', transactionHash: '0x3', status: 'succeeded' };
  }
}
