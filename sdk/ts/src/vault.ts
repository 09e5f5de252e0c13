/**
 * Where secrets are turned into keys: Argon2id (about a second in WebAssembly at the
 * current cost) runs in a module Web Worker built from the same WebAssembly core when the
 * platform has workers, so the page never freezes, and on the calling thread otherwise
 * (Node.js, tests, a page whose worker cannot start).
 *
 * The vault runs the key-sealing module (`latchkey_keys`), loaded the first time a key is
 * sealed or opened; the page signs with the Starknet module (`latchkey_starknet`). A PIN
 * given to the vault stays there: it is blinded there for the server's OPRF, the server's
 * answer is unblinded there, and keys are sealed and opened there. A key opened there
 * comes to the page's signing module sealed under a one-time 32-byte key
 * (`sealForTransfer`, `fromTransfer`: HKDF, no Argon2id), and a key to seal goes the
 * other way, so no plaintext key is ever a JavaScript value, also when the vault runs
 * on the page's own thread.
 */
import type * as Core from './wasm/latchkey_starknet.js';
import type * as Keys from './wasm/latchkey_keys.js';
import type { KeyFormat, SessionKeyData } from './wasm/latchkey_starknet.js';
import { LatchkeyError, fromWasm, guard } from './errors.js';
import { coreKdf, coreSecret, entropy, secretText, type KdfOption, type Secret } from './secret.js';
import { init, isNode, keysCore, loadedKeysCore, wasm } from './wasm.js';

export interface UnlockOwnerArgs {
  encryptedPrivateKey: string;
  ownerPublicKey: string;
  account: string;
}

export interface UnlockSessionArgs {
  record: SessionKeyData;
  account: string;
}

export interface CreateOwnerArgs {
  classHash: string;
  format?: KeyFormat;
  kdf?: KdfOption;
}

export interface CreateSessionArgs {
  account: string;
  durationSeconds: number;
  now: number;
  format?: KeyFormat;
  kdf?: KdfOption;
}

export interface SealArgs {
  format?: KeyFormat;
  kdf?: KdfOption;
}

/** One secret held by the vault; `free()` zeroes it there. */
export interface VaultSecret {
  /** For a secret opened with `blind: true`: the 32-byte blinded element for `/pin/evaluate`. */
  readonly blindedElement: Uint8Array | null;
  /** Mixes in the server's evaluation (`evaluatedElement` bytes, the key id it used). */
  finalize(evaluated: Uint8Array, keyId: string): Promise<void>;
  unlockOwner(args: UnlockOwnerArgs): Promise<Core.OwnerSigner>;
  unlockSession(args: UnlockSessionArgs): Promise<Core.SessionSigner>;
  createOwner(args: CreateOwnerArgs): Promise<Core.OwnerSigner>;
  createSession(args: CreateSessionArgs): Promise<Core.SessionSigner>;
  /** `signer`'s key sealed with this secret; the signer is left as it was. */
  seal(signer: Core.OwnerSigner | Core.SessionSigner, args: SealArgs): Promise<string>;
  free(): void;
}

export interface Vault {
  readonly where: 'worker' | 'main-thread';
  /** Takes `secret` in; with `blind`, blinds it for the server's evaluation (a PIN or passphrase only). */
  open(secret: Secret, opts?: { blind?: boolean }): Promise<VaultSecret>;
}

/** The operations on one instance of the key-sealing module, on secrets named by number (load it first). */
export class VaultCore {
  #entries = new Map<number, { blind: Keys.PinBlind | null; secret: Keys.Secret | null }>();
  #next = 1;

  open(secret: Secret, blind: boolean): { id: number; blindedElement: Uint8Array | null } {
    const w = loadedKeysCore();
    const id = this.#next++;
    if (blind) {
      const text = secretText(secret);
      if (text === null) {
        throw new LatchkeyError('INVALID_INPUT', 'Invalid input: only a PIN or passphrase is evaluated by the server.');
      }
      const pinBlind = guard(() => w.blindPin(text, entropy()));
      this.#entries.set(id, { blind: pinBlind, secret: null });
      return { id, blindedElement: pinBlind.blindedElement };
    }
    this.#entries.set(id, { blind: null, secret: coreSecret(secret, w) });
    return { id, blindedElement: null };
  }

  finalize(id: number, evaluated: Uint8Array, keyId: string): void {
    const entry = this.#entries.get(id);
    if (!entry?.blind) throw new LatchkeyError('INVALID_INPUT', 'Invalid input: this secret is not waiting for an evaluation.');
    const blind = entry.blind;
    entry.blind = null; // finalize consumes (and zeroes) it, also when it fails
    entry.secret = guard(() => blind.finalize(evaluated, keyId));
  }

  #secret(id: number): Keys.Secret {
    const entry = this.#entries.get(id);
    if (!entry) throw new LatchkeyError('INVALID_INPUT', 'Invalid input: this secret was freed.');
    if (!entry.secret) {
      throw new LatchkeyError('OPRF_REQUIRED', "The PIN needs the server's evaluation before it can be used.");
    }
    return entry.secret;
  }

  unlockOwner(id: number, a: UnlockOwnerArgs): Keys.OwnerSigner {
    const secret = this.#secret(id);
    return guard(() => loadedKeysCore().unlockOwnerKey(a.encryptedPrivateKey, a.ownerPublicKey, a.account, secret));
  }

  unlockSession(id: number, a: UnlockSessionArgs): Keys.SessionSigner {
    const secret = this.#secret(id);
    const record = { publicKey: a.record.publicKey, encryptedPrivateKey: a.record.encryptedPrivateKey, validUntil: a.record.validUntil };
    return guard(() => loadedKeysCore().unlockSessionKey(record, a.account, secret));
  }

  createOwner(id: number, a: CreateOwnerArgs): Keys.OwnerSigner {
    const secret = this.#secret(id);
    const w = loadedKeysCore();
    const kdf = coreKdf(a.kdf, w);
    return guard(() => w.createOwnerSigner(secret, a.classHash, entropy(), a.format, kdf));
  }

  createSession(id: number, a: CreateSessionArgs): Keys.SessionSigner {
    const secret = this.#secret(id);
    const w = loadedKeysCore();
    const kdf = coreKdf(a.kdf, w);
    return guard(() => w.createSessionSigner(secret, a.account, a.durationSeconds, a.now, entropy(), a.format, kdf));
  }

  seal(id: number, signer: Keys.OwnerSigner | Keys.SessionSigner, a: SealArgs): string {
    const secret = this.#secret(id);
    const kdf = coreKdf(a.kdf, loadedKeysCore());
    return guard(() => signer.seal(secret, entropy(), a.format, kdf));
  }

  free(id: number): void {
    const entry = this.#entries.get(id);
    if (!entry) return;
    this.#entries.delete(id);
    entry.blind?.free();
    entry.secret?.free();
  }
}

/** The vault on this thread: the key-sealing module beside the page's signing module. */
class LocalVault implements Vault {
  readonly where = 'main-thread' as const;
  readonly #core = new VaultCore();

  async open(secret: Secret, opts: { blind?: boolean } = {}): Promise<VaultSecret> {
    await Promise.all([init(), keysCore()]);
    const core = this.#core;
    const { id, blindedElement } = core.open(secret, opts.blind === true);
    const toPage = <T>(held: Keys.OwnerSigner | Keys.SessionSigner, kind: 'owner' | 'session'): T => {
      try {
        return transferIn(transferOut(held, kind), wasm()) as T;
      } finally {
        held.free();
      }
    };
    return {
      blindedElement,
      finalize: async (evaluated, keyId) => core.finalize(id, evaluated, keyId),
      unlockOwner: async (a) => toPage<Core.OwnerSigner>(core.unlockOwner(id, a), 'owner'),
      unlockSession: async (a) => toPage<Core.SessionSigner>(core.unlockSession(id, a), 'session'),
      createOwner: async (a) => toPage<Core.OwnerSigner>(core.createOwner(id, a), 'owner'),
      createSession: async (a) => toPage<Core.SessionSigner>(core.createSession(id, a), 'session'),
      seal: async (signer, a) => {
        const held = transferIn(transferOut(signer, signerKind(signer)), loadedKeysCore());
        try {
          return core.seal(id, held, a);
        } finally {
          held.free();
        }
      },
      free: () => core.free(id),
    };
  }
}

/** Whether a signer of the page's module holds an owner or a session key. */
function signerKind(signer: Core.OwnerSigner | Core.SessionSigner): 'owner' | 'session' {
  return signer instanceof wasm().OwnerSigner ? 'owner' : 'session';
}

/** A signer of either module (the page's signing module, the vault's sealing module). */
type Held = Core.OwnerSigner | Core.SessionSigner | Keys.OwnerSigner | Keys.SessionSigner;

/** The signer classes of a module, to receive a transfer into. */
interface SignerClasses<O, S> {
  OwnerSigner: { fromTransfer(sealed: string, transferKey: Uint8Array, account: string, publicKey: string, encryptedPrivateKey?: string | null): O };
  SessionSigner: {
    fromTransfer(
      sealed: string,
      transferKey: Uint8Array,
      account: string,
      publicKey: string,
      validUntil: number,
      encryptedPrivateKey?: string | null,
    ): S;
  };
}

/** What a held key travels as between two WebAssembly instances (a module and its worker, or two modules). */
interface Transfer {
  kind: 'owner' | 'session';
  sealed: string;
  transferKey: Uint8Array;
  account: string;
  publicKey: string;
  validUntil?: number;
  encryptedPrivateKey?: string;
}

function transferOut(signer: Held, kind: 'owner' | 'session'): Transfer {
  const transferKey = entropy(32);
  const sealed = guard(() => signer.sealForTransfer(transferKey, entropy()));
  const out: Transfer = { kind, sealed, transferKey, account: signer.account, publicKey: signer.publicKey };
  if (signer.encryptedPrivateKey !== undefined) out.encryptedPrivateKey = signer.encryptedPrivateKey;
  if (kind === 'session') out.validUntil = (signer as Core.SessionSigner | Keys.SessionSigner).validUntil;
  return out;
}

function transferIn<O, S>(t: Transfer, w: SignerClasses<O, S>): O | S {
  try {
    return t.kind === 'owner'
      ? guard(() => w.OwnerSigner.fromTransfer(t.sealed, t.transferKey, t.account, t.publicKey, t.encryptedPrivateKey))
      : guard(() =>
          w.SessionSigner.fromTransfer(t.sealed, t.transferKey, t.account, t.publicKey, t.validUntil ?? 0, t.encryptedPrivateKey),
        );
  } finally {
    t.transferKey.fill(0);
  }
}

/** The two ends of a message channel (a `Worker`, the worker's global scope, a `MessagePort`). */
export interface PortLike {
  postMessage(message: unknown): void;
  addEventListener(type: 'message', listener: (event: MessageEvent) => void): void;
}

interface Request {
  n: number;
  op: string;
  id?: number;
  args?: unknown;
}

type Reply = { n: number; ok: true; value: unknown } | { n: number; ok: false; error: { code: string; message: string } };

/** Answers a `RemoteVault`'s requests with this thread's key-sealing module: what the key worker runs. */
export function serveVault(port: PortLike): void {
  const core = new VaultCore();
  const handle = (req: Request): unknown => {
    const id = req.id ?? 0;
    switch (req.op) {
      case 'open': {
        const { secret, blind } = req.args as { secret: Secret; blind: boolean };
        return core.open(secret, blind);
      }
      case 'finalize': {
        const { evaluated, keyId } = req.args as { evaluated: Uint8Array; keyId: string };
        return core.finalize(id, evaluated, keyId);
      }
      case 'unlockOwner':
        return sendSigner(core.unlockOwner(id, req.args as UnlockOwnerArgs), 'owner');
      case 'unlockSession':
        return sendSigner(core.unlockSession(id, req.args as UnlockSessionArgs), 'session');
      case 'createOwner':
        return sendSigner(core.createOwner(id, req.args as CreateOwnerArgs), 'owner');
      case 'createSession':
        return sendSigner(core.createSession(id, req.args as CreateSessionArgs), 'session');
      case 'seal': {
        const { signer, args } = req.args as { signer: Transfer; args: SealArgs };
        const held = transferIn(signer, loadedKeysCore());
        try {
          return core.seal(id, held, args);
        } finally {
          held.free();
        }
      }
      case 'free':
        return core.free(id);
      default:
        throw new LatchkeyError('INVALID_INPUT', `Invalid input: no vault operation ${String(req.op)}.`);
    }
  };
  const sendSigner = (signer: Keys.OwnerSigner | Keys.SessionSigner, kind: 'owner' | 'session'): Transfer => {
    try {
      return transferOut(signer, kind);
    } finally {
      signer.free();
    }
  };
  port.addEventListener('message', (event: MessageEvent) => {
    const req = event.data as Request;
    if (!req || typeof req.n !== 'number') return;
    void (async () => {
      let reply: Reply;
      try {
        await keysCore();
        reply = { n: req.n, ok: true, value: handle(req) };
      } catch (e) {
        const err = fromWasm(e);
        reply = { n: req.n, ok: false, error: { code: err.code, message: err.message } };
      }
      port.postMessage(reply);
      const value = reply.ok ? (reply.value as Partial<Transfer> | undefined) : undefined;
      value?.transferKey?.fill(0); // the message holds a copy
    })();
  });
}

/** The vault in another thread, spoken to through `port` (answered by `serveVault`). */
export class RemoteVault implements Vault {
  readonly where = 'worker' as const;
  readonly #port: PortLike;
  readonly #pending = new Map<number, { resolve(value: unknown): void; reject(error: unknown): void }>();
  #n = 0;
  #broken: LatchkeyError | null = null;

  constructor(port: PortLike) {
    this.#port = port;
    port.addEventListener('message', (event: MessageEvent) => this.#receive(event.data as Reply));
    (port as { start?: () => void }).start?.();
  }

  /** Fails every waiting and later request (the worker stopped). */
  fail(error: LatchkeyError): void {
    this.#broken = error;
    for (const { reject } of this.#pending.values()) reject(error);
    this.#pending.clear();
  }

  get broken(): boolean {
    return this.#broken !== null;
  }

  #receive(reply: Reply): void {
    if (!reply || typeof reply.n !== 'number') return;
    const waiting = this.#pending.get(reply.n);
    if (!waiting) return;
    this.#pending.delete(reply.n);
    if (reply.ok) waiting.resolve(reply.value);
    else waiting.reject(new LatchkeyError(reply.error.code, reply.error.message));
  }

  #call<T>(op: string, id?: number, args?: unknown): Promise<T> {
    if (this.#broken) return Promise.reject(this.#broken);
    const n = ++this.#n;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(n, { resolve: resolve as (value: unknown) => void, reject });
      try {
        this.#port.postMessage({ n, op, id, args });
      } catch (e) {
        this.#pending.delete(n);
        reject(new LatchkeyError('INVALID_INPUT', `The key worker refused the request: ${e instanceof Error ? e.message : String(e)}`));
      }
    });
  }

  async open(secret: Secret, opts: { blind?: boolean } = {}): Promise<VaultSecret> {
    await init();
    secretText(secret); // a malformed secret fails here, not in the worker
    const plain = 'prf' in secret ? { prf: new Uint8Array(secret.prf) } : { ...secret };
    const { id, blindedElement } = await this.#call<{ id: number; blindedElement: Uint8Array | null }>('open', undefined, {
      secret: plain,
      blind: opts.blind === true,
    });
    const signer = async <T>(op: string, args: unknown) => transferIn(await this.#call<Transfer>(op, id, args), wasm()) as T;
    return {
      blindedElement,
      finalize: (evaluated, keyId) => this.#call<void>('finalize', id, { evaluated, keyId }),
      unlockOwner: (a) => signer<Core.OwnerSigner>('unlockOwner', a),
      unlockSession: (a) => signer<Core.SessionSigner>('unlockSession', a),
      createOwner: (a) => signer<Core.OwnerSigner>('createOwner', a),
      createSession: (a) => signer<Core.SessionSigner>('createSession', a),
      seal: (held, a) => {
        const transfer = transferOut(held, signerKind(held));
        const sealed = this.#call<string>('seal', id, { signer: transfer, args: a });
        transfer.transferKey.fill(0); // the message holds a copy
        return sealed;
      },
      free: () => {
        this.#call('free', id).catch(() => {});
      },
    };
  }
}

interface WorkerSettings {
  enabled: boolean;
  url?: string | URL;
}

let settings: WorkerSettings = { enabled: true };
let chosen: Promise<Vault> | null = null;
let worker: Worker | null = null;
let forced: Vault | null = null;
const local = new LocalVault();

/** How long a new key worker may take to load its WebAssembly before the page does the work itself. */
const WORKER_START_MS = 15_000;

/**
 * Where Argon2id runs: in a module Web Worker (default, where the platform has workers)
 * or on the calling thread (`enabled: false`). `url` points at the SDK's `worker.js` when
 * a bundler moved it. A worker that cannot start is replaced by the calling thread.
 */
export function configureKeyWorker(opts: { enabled?: boolean; url?: string | URL } = {}): void {
  settings = { enabled: opts.enabled ?? true, url: opts.url };
  worker?.terminate();
  worker = null;
  chosen = null;
}

/** Where keys are sealed and opened: 'worker' or 'main-thread' (starts the worker if it is to be used). */
export async function keyWorkerLocation(): Promise<'worker' | 'main-thread'> {
  return (await getVault()).where;
}

/** @internal For tests: use `vault` (null: choose again). */
export function setVault(vault: Vault | null): void {
  forced = vault;
}

/** The vault to use now. */
export function getVault(): Promise<Vault> {
  if (forced) return Promise.resolve(forced);
  if (!chosen) {
    chosen = choose();
  }
  return chosen;
}

async function choose(): Promise<Vault> {
  await init();
  if (!settings.enabled || typeof Worker !== 'function' || isNode()) return local;
  try {
    return await startWorker();
  } catch {
    return local;
  }
}

function startWorker(): Promise<Vault> {
  // Written out in full so that bundlers (Vite, webpack) see the worker and bundle it.
  const started =
    settings.url !== undefined
      ? new Worker(settings.url, { type: 'module', name: 'latchkey-keys' })
      : new Worker(new URL('./worker.js', import.meta.url), { type: 'module', name: 'latchkey-keys' });
  worker = started;
  return new Promise<Vault>((resolve, reject) => {
    let vault: RemoteVault | null = null;
    const timer = setTimeout(() => {
      started.terminate();
      reject(new Error('the key worker did not start'));
    }, WORKER_START_MS);
    started.addEventListener('error', (event) => {
      clearTimeout(timer);
      const error = new LatchkeyError('NOT_INITIALIZED', `The key worker stopped: ${(event as ErrorEvent).message ?? 'error'}`);
      if (vault) {
        vault.fail(error);
        // Later calls choose again (the page itself, if the worker cannot come back).
        if (worker === started) {
          worker = null;
          chosen = null;
        }
      } else {
        reject(error);
      }
    });
    const onReady = (event: MessageEvent) => {
      const data = event.data as { ready?: boolean; error?: string } | null;
      if (!data || typeof data.ready !== 'boolean') return;
      started.removeEventListener('message', onReady);
      clearTimeout(timer);
      if (data.ready) {
        vault = new RemoteVault(started);
        resolve(vault);
      } else {
        started.terminate();
        reject(new Error(data.error ?? 'the key worker could not load WebAssembly'));
      }
    };
    started.addEventListener('message', onReady);
  });
}
