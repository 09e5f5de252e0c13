/**
 * `useLatchkeySession`: the React binding of `SessionManager`, shaped like the Chipi SDK's
 * `useChipiSession` (same state names and actions).
 */
import { useCallback, useEffect, useMemo, useReducer, useRef, useState, useSyncExternalStore } from 'react';
import type { Call, Execution, LatchkeyClient, Session } from './client.js';
import { LatchkeyError } from './errors.js';
import { nowSeconds, type KdfOption, type KeyFormat, type Secret, type SessionKeyData, type WalletRef } from './keys.js';
import { SessionManager, deriveSessionState, type RegisterOptions, type SessionSnapshot, type SessionState } from './manager.js';
import type { SessionStorageAdapter } from './storage.js';

export interface UseLatchkeySessionConfig {
  client: LatchkeyClient;
  wallet: WalletRef | null | undefined;
  /** The PIN that seals the keys (or give `secret`). */
  encryptKey?: string;
  secret?: Secret;
  /** Kept for parity with useChipiSession; the client's own token source is used. */
  getBearerToken?: () => Promise<string | null | undefined>;
  /** A session record kept by the app (used instead of `storage` when given). */
  storedSession?: SessionKeyData | null;
  onSessionCreated?: (session: SessionKeyData) => void | Promise<void>;
  defaultDurationSeconds?: number;
  defaultMaxCalls?: number;
  /** Refresh the session's status when the session changes (default true). */
  autoCheckStatus?: boolean;
  storage?: SessionStorageAdapter;
  format?: KeyFormat;
  kdf?: KdfOption;
}

export interface UseLatchkeySessionResult {
  session: SessionKeyData | null;
  sessionState: SessionState;
  hasActiveSession: boolean;
  isSessionExpired: boolean;
  remainingCalls: number | null;
  status: Session | null;
  manager: SessionManager | null;
  createSession(opts?: { durationSeconds?: number }): Promise<SessionKeyData>;
  registerSession(opts?: RegisterOptions): Promise<Execution>;
  executeWithSession(calls: Call[]): Promise<Execution>;
  revokeSession(): Promise<Execution>;
  clearSession(): Promise<void>;
  logout(): Promise<void>;
  refetchStatus(): Promise<void>;
  isCreating: boolean;
  isRegistering: boolean;
  isExecuting: boolean;
  isRevoking: boolean;
  isLoadingStatus: boolean;
  error: LatchkeyError | null;
}

const EMPTY: SessionSnapshot = Object.freeze({
  state: 'none',
  session: null,
  status: null,
  remainingCalls: null,
  unlocked: false,
});

const noSubscription = () => () => {};

type Busy = 'creating' | 'registering' | 'executing' | 'revoking' | 'loadingStatus';

function asLatchkeyError(e: unknown): LatchkeyError {
  if (e instanceof LatchkeyError) return e;
  return new LatchkeyError('API_ERROR', e instanceof Error ? e.message : String(e));
}

export function useLatchkeySession(config: UseLatchkeySessionConfig): UseLatchkeySessionResult {
  const { client, wallet, storage } = config;
  const autoCheckStatus = config.autoCheckStatus ?? true;
  const latest = useRef(config);
  latest.current = config;

  const manager = useMemo(
    () =>
      client && wallet && typeof wallet.address === 'string'
        ? new SessionManager({
            client,
            wallet: { address: wallet.address, encryptedPrivateKey: wallet.encryptedPrivateKey, ownerPublicKey: wallet.ownerPublicKey },
            storage,
            defaultDurationSeconds: config.defaultDurationSeconds,
            defaultMaxCalls: config.defaultMaxCalls,
            format: config.format,
            kdf: config.kdf,
          })
        : null,
    // The manager is per wallet and storage; the rest is read when used.
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [client, wallet?.address, wallet?.encryptedPrivateKey, wallet?.ownerPublicKey, storage],
  );
  useEffect(() => () => manager?.dispose(), [manager]);

  const subscribe = useCallback((l: () => void) => (manager ? manager.subscribe(l) : noSubscription()), [manager]);
  const getSnapshot = useCallback(() => (manager ? manager.snapshot() : EMPTY), [manager]);
  const snapshot = useSyncExternalStore(subscribe, getSnapshot, getSnapshot);

  const [busy, setBusy] = useState<Record<Busy, number>>({
    creating: 0,
    registering: 0,
    executing: 0,
    revoking: 0,
    loadingStatus: 0,
  });
  const [error, setError] = useState<LatchkeyError | null>(null);
  const [, tick] = useReducer((n: number) => n + 1, 0);

  const run = useCallback(async <T,>(flag: Busy, f: () => Promise<T>): Promise<T> => {
    setBusy((b) => ({ ...b, [flag]: b[flag] + 1 }));
    try {
      const out = await f();
      setError(null);
      return out;
    } catch (e) {
      const err = asLatchkeyError(e);
      setError(err);
      throw err;
    } finally {
      setBusy((b) => ({ ...b, [flag]: b[flag] - 1 }));
    }
  }, []);

  const requireManager = useCallback((): SessionManager => {
    if (!manager) throw new LatchkeyError('INVALID_INPUT', 'Invalid input: no wallet.');
    return manager;
  }, [manager]);

  const requireSecret = useCallback((): Secret => {
    const c = latest.current;
    if (c.secret) return c.secret;
    if (c.encryptKey) return { pin: c.encryptKey };
    throw new LatchkeyError('INVALID_INPUT', 'Invalid input: encryptKey (or secret) is required for this action.');
  }, []);

  // Load the session: the app's own record when given, else the storage.
  const storedSession = config.storedSession;
  useEffect(() => {
    if (!manager) return;
    let cancelled = false;
    const load =
      storedSession !== undefined
        ? manager.adopt(storedSession).then(() => (autoCheckStatus ? manager.refreshStatus() : undefined))
        : autoCheckStatus
          ? manager.restore()
          : manager.storage.load().then((s) => manager.adopt(s));
    run('loadingStatus', () => load).catch(() => {
      if (cancelled) setError(null);
    });
    return () => {
      cancelled = true;
    };
    // storedSession by identity of its key: a new object for the same session changes nothing.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [manager, storedSession?.publicKey, storedSession?.validUntil, autoCheckStatus]);

  // Re-render when the session (or its server-side window) expires.
  const expiresAt = snapshot.status?.validUntil ?? snapshot.session?.validUntil;
  useEffect(() => {
    if (expiresAt === undefined) return;
    const ms = (expiresAt + 1 - nowSeconds()) * 1000;
    if (ms <= 0 || ms > 2 ** 31 - 1) return;
    const t = setTimeout(tick, ms);
    return () => clearTimeout(t);
  }, [expiresAt]);

  const sessionState = deriveSessionState(snapshot.session, snapshot.status);

  const createSession = useCallback(
    (opts?: { durationSeconds?: number }) =>
      run('creating', async () => {
        const m = requireManager();
        const data = await m.createSession(requireSecret(), opts);
        await latest.current.onSessionCreated?.(data);
        return data;
      }),
    [run, requireManager, requireSecret],
  );

  const registerSession = useCallback(
    (opts?: RegisterOptions) => run('registering', () => requireManager().registerSession(requireSecret(), opts ?? {})),
    [run, requireManager, requireSecret],
  );

  const executeWithSession = useCallback(
    (calls: Call[]) =>
      run('executing', async () => {
        const m = requireManager();
        if (!m.unlocked && m.session) await m.unlock(requireSecret());
        return m.execute(calls);
      }),
    [run, requireManager, requireSecret],
  );

  const revokeSession = useCallback(
    () => run('revoking', () => requireManager().revoke(requireSecret())),
    [run, requireManager, requireSecret],
  );

  const clearSession = useCallback(async () => {
    await manager?.clear();
  }, [manager]);

  const logout = useCallback(
    () => run('revoking', () => requireManager().logout(requireSecret())),
    [run, requireManager, requireSecret],
  );

  const refetchStatus = useCallback(() => run('loadingStatus', () => requireManager().refreshStatus()), [run, requireManager]);

  return {
    session: snapshot.session,
    sessionState,
    hasActiveSession: sessionState === 'active',
    isSessionExpired: sessionState === 'expired',
    remainingCalls: snapshot.remainingCalls,
    status: snapshot.status,
    manager,
    createSession,
    registerSession,
    executeWithSession,
    revokeSession,
    clearSession,
    logout,
    refetchStatus,
    isCreating: busy.creating > 0,
    isRegistering: busy.registering > 0,
    isExecuting: busy.executing > 0,
    isRevoking: busy.revoking > 0,
    isLoadingStatus: busy.loadingStatus > 0,
    error,
  };
}

export type { SessionState, SessionSnapshot, RegisterOptions };
