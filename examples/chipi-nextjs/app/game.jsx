'use client';

import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { useChipiSession, useChipiWallet, useCreateWallet } from '@chipi-stack/nextjs/hooks';
import { hash } from 'starknet';

/** The only method the session key may call. */
const MAKE_MOVE = hash.getSelectorFromName('make_move');
/** Calls one session may make. */
const MAX_CALLS = 10;
/** How long a session lasts, in seconds. */
const SESSION_SECONDS = 3600;

/** What the hooks throw, as one line: the API's error code when there is one. */
function describe(error) {
  if (!error) return '';
  const code = error.code && error.code !== 'UNKNOWN_ERROR' ? `${error.code}: ` : '';
  return `${code}${error.message || String(error)}`;
}

/** The signed-in user's token from the app's auth provider (here: the demo one). */
function useBearerToken(userId) {
  const cached = useRef(null);
  return useCallback(async () => {
    const now = Math.floor(Date.now() / 1000);
    if (cached.current && cached.current.user === userId && cached.current.expiresAt - 30 > now) {
      return cached.current.token;
    }
    const response = await fetch(`/api/auth/token?user=${encodeURIComponent(userId)}`, { cache: 'no-store' });
    if (!response.ok) throw new Error(`the auth provider refused a token (HTTP ${response.status})`);
    const { token, expiresAt } = await response.json();
    cached.current = { user: userId, token, expiresAt };
    return token;
  }, [userId]);
}

/**
 * The session key, kept in this tab with whether it was registered (the SDK leaves
 * storing it to the app).
 */
function useStoredSession(walletAddress) {
  const key = walletAddress ? `chipi-session:${walletAddress}` : null;
  const [stored, setStored] = useState(null);
  useEffect(() => {
    const text = key ? window.sessionStorage.getItem(key) : null;
    setStored(text ? JSON.parse(text) : null);
  }, [key]);
  const save = useCallback(
    (next) => {
      if (key) window.sessionStorage.setItem(key, JSON.stringify(next));
      setStored(next);
    },
    [key],
  );
  return [stored, save];
}

export function Game({ userId, accountClassHash, game }) {
  const getBearerToken = useBearerToken(userId);
  const [pin, setPin] = useState('');
  const [busy, setBusy] = useState(null);
  const [error, setError] = useState(null);
  const [moves, setMoves] = useState([]);

  const { wallet, hasWallet, isLoadingWallet, formattedBalance, balance, refetchWallet, refetchBalance } =
    useChipiWallet({ externalUserId: userId, getBearerToken });
  const { createWalletAsync } = useCreateWallet();

  // What the session hooks need of the wallet; stable while the wallet is the same.
  const sessionWallet = useMemo(
    () =>
      wallet
        ? { publicKey: wallet.publicKey, encryptedPrivateKey: wallet.encryptedPrivateKey, walletType: wallet.walletType }
        : null,
    [wallet?.publicKey, wallet?.encryptedPrivateKey, wallet?.walletType],
  );
  const [stored, saveStored] = useStoredSession(wallet?.publicKey);
  const onSessionCreated = useCallback((key) => saveStored({ session: key, registered: false }), [saveStored]);
  const session = useChipiSession({
    wallet: sessionWallet,
    encryptKey: pin,
    getBearerToken,
    storedSession: stored?.session ?? null,
    onSessionCreated,
    defaultMaxCalls: MAX_CALLS,
    // The chain knows a key only once it is registered (before, the hook would read it as
    // inactive, "revoked"): its status is checked from then on.
    autoCheckStatus: Boolean(stored?.registered),
  });

  /** Runs one action, showing that it is busy and, if it fails, why. */
  const act = (name, action) => async () => {
    setBusy(name);
    setError(null);
    try {
      await action();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(null);
    }
  };

  const createWallet = act('create-wallet', async () => {
    // Chipi computes the new wallet's address from the account class, so it is given the
    // class latchkey deploys (useChipiWallet's own createWallet assumes Chipi's class).
    await createWalletAsync({
      params: { encryptKey: pin, externalUserId: userId, chain: 'STARKNET', walletType: 'CHIPI', classHash: accountClassHash },
      bearerToken: await getBearerToken(),
    });
    await refetchWallet();
  });

  const createSession = act('create-session', () => session.createSession({ durationSeconds: SESSION_SECONDS }));

  const registerSession = act('register-session', async () => {
    await session.registerSession({ maxCalls: MAX_CALLS, allowedEntrypoints: [MAKE_MOVE] });
    saveStored({ ...stored, registered: true });
  });

  const move = act('move', async () => {
    const number = moves.length + 1;
    const txHash = await session.executeWithSession([
      { contractAddress: game, entrypoint: 'make_move', calldata: [String(number)] },
    ]);
    setMoves((done) => [...done, { number, txHash }]);
    await Promise.all([session.refetchStatus(), refetchBalance()]);
  });

  const revoke = act('revoke', async () => {
    await session.revokeSession();
    await session.refetchStatus();
  });

  const shownError = error ?? session.error;
  const canUsePin = pin.length >= 4;

  return (
    <main>
      <h1>Gasless moves with Chipi&apos;s hooks</h1>
      <p className="muted">
        Signed in as <b data-testid="user-id">{userId}</b> (a token from this app&apos;s demo auth provider).
      </p>

      <section>
        <h2>Wallet</h2>
        <label>
          PIN{' '}
          <input
            data-testid="pin"
            type="password"
            inputMode="numeric"
            autoComplete="off"
            value={pin}
            onChange={(e) => setPin(e.target.value)}
          />
        </label>
        {isLoadingWallet ? (
          <p data-testid="wallet-loading">Looking for your wallet…</p>
        ) : hasWallet ? (
          <dl>
            <dt>Address</dt>
            <dd data-testid="wallet-address">{wallet.publicKey}</dd>
            <dt>Balance</dt>
            <dd>
              <span data-testid="balance">{formattedBalance}</span>{' '}
              <span data-testid="balance-token">{balance?.chainToken ?? 'USDC'}</span>
            </dd>
          </dl>
        ) : (
          <button data-testid="create-wallet" disabled={!canUsePin || busy !== null} onClick={createWallet}>
            Create wallet
          </button>
        )}
      </section>

      {hasWallet && (
        <section>
          <h2>Session</h2>
          <dl>
            <dt>State</dt>
            <dd data-testid="session-state">{session.sessionState}</dd>
            <dt>Calls left</dt>
            <dd data-testid="remaining-calls">{session.remainingCalls ?? '–'}</dd>
          </dl>
          <div className="buttons">
            <button
              data-testid="create-session"
              disabled={!canUsePin || busy !== null || session.sessionState === 'active'}
              onClick={createSession}
            >
              Create session key
            </button>
            <button
              data-testid="register-session"
              disabled={!canUsePin || busy !== null || session.sessionState !== 'created' || stored?.registered}
              onClick={registerSession}
            >
              Register session
            </button>
            <button
              data-testid="move"
              disabled={!canUsePin || busy !== null || session.sessionState === 'none'}
              onClick={move}
            >
              Move
            </button>
            <button
              data-testid="revoke"
              disabled={!canUsePin || busy !== null || session.sessionState !== 'active'}
              onClick={revoke}
            >
              Revoke
            </button>
          </div>
          <p data-testid="busy" className="muted">
            {busy ? `${busy}…` : 'ready'}
          </p>
          <ol data-testid="move-log">
            {moves.map(({ number, txHash }) => (
              <li key={txHash}>
                move {number}: <code data-testid="tx-hash">{txHash}</code>
              </li>
            ))}
          </ol>
        </section>
      )}

      {shownError && (
        <p data-testid="error" className="error" role="alert">
          {describe(shownError)}
        </p>
      )}
    </main>
  );
}
