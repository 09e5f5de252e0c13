// A stand-in for LatchkeyClient at the method level (no HTTP), recording what is called,
// with the server's session bookkeeping: registration, calls used, revocation.
import type { Call, Execution, LatchkeyClient, OwnerSigner, Session, SessionSigner, SessionTerms } from '../dist/index.js';
import { LatchkeyError } from '../dist/index.js';

export class FakeClient {
  log: string[] = [];
  sessions = new Map<string, Session>();
  failRevoke = false;
  constructor(readonly wallet: { address: string; ownerPublicKey: string; encryptedPrivateKey?: string }) {}

  asClient(): LatchkeyClient {
    return this as unknown as LatchkeyClient;
  }

  async getWallet(address: string) {
    this.log.push('getWallet');
    return { address, ownerPublicKey: this.wallet.ownerPublicKey, encryptedPrivateKey: this.wallet.encryptedPrivateKey };
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
