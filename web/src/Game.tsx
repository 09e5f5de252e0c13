// The demo game: one PIN, a wallet whose owner key is sealed with it in this browser, a
// session key scoped to the game's make_move and claim_reward, then moves signed by the
// session key with no prompt. The PIN is held in React state only, never stored; keys are
// sealed as lk2 (the PIN together with the server's OPRF evaluation of it, so no copy of
// a key can be attacked offline), with Argon2id in the SDK's key worker.

import { useCallback, useEffect, useId, useState } from 'react';
import {
  browserSessionStorage,
  envelopeInfo,
  pinWeakness,
  type Call,
  type LatchkeyClient,
  type Wallet,
} from '@latchkey/sdk';
import { useLatchkeySession } from '@latchkey/sdk/react';
import { describeError, ErrorBox, type Shown } from './ErrorBox';
import { absoluteTime, relativeTime, shortHex } from './format';
import { shortString } from './names';
import { onLinkClick } from './router';

/** The game's wallet of this tab (its address only) and its session key (encrypted). */
const WALLET_KEY = 'latchkey.game.wallet';
const SESSION_KEY = 'latchkey.game.session';
const sessionStore = browserSessionStorage(SESSION_KEY);

const MAX_CALLS = 1000;
const MOVES_PER_REWARD = 3;
const MOVES = [
  { value: 'north', label: '↑ North' },
  { value: 'east', label: '→ East' },
  { value: 'south', label: '↓ South' },
  { value: 'west', label: '← West' },
] as const;
type Move = (typeof MOVES)[number]['value'];

interface LogEntry {
  id: number;
  kind: 'move' | 'claim';
  label: string;
  status: 'pending' | 'confirmed' | 'failed';
  transactionHash?: string;
  detail?: string;
  at: number;
}

let nextLogId = 1;

export function Game({ client }: { client: LatchkeyClient }) {
  const [pin, setPin] = useState('');
  const [demoGame, setDemoGame] = useState<string | null>(null);
  const [wallet, setWallet] = useState<Wallet | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [status, setStatus] = useState('');
  const [error, setError] = useState<Shown | null>(null);
  const [move, setMove] = useState<Move>('north');
  const [log, setLog] = useState<LogEntry[]>([]);
  const pinId = useId();

  const session = useLatchkeySession({
    client,
    wallet,
    encryptKey: pin || undefined,
    storage: sessionStore,
    defaultMaxCalls: MAX_CALLS,
  });

  // The game's address, and the wallet this tab made earlier (if any).
  useEffect(() => {
    let live = true;
    (async () => {
      try {
        const config = await client.config();
        if (!live) return;
        setDemoGame(config.demoGame);
        const address = window.sessionStorage.getItem(WALLET_KEY);
        if (address) {
          const stored = await client.getWallet(address).catch(() => null);
          if (!live) return;
          if (stored) setWallet(stored);
          else window.sessionStorage.removeItem(WALLET_KEY);
        }
      } catch (e) {
        if (live) setError(describeError(e));
      }
    })();
    return () => {
      live = false;
    };
  }, [client]);

  const run = useCallback(async (what: string, action: () => Promise<string | void>) => {
    setBusy(what);
    setStatus(`${what}…`);
    setError(null);
    try {
      const done = await action();
      setStatus(done ?? '');
    } catch (e) {
      setError(describeError(e));
      setStatus(`${what} failed.`);
    } finally {
      setBusy(null);
    }
  }, []);

  const weakness = pin ? pinWeakness(pin) : null;
  const state = session.sessionState;
  const sessionLive = state === 'active';
  const confirmedMoves = log.filter((e) => e.kind === 'move' && e.status === 'confirmed').length;
  const rewards = log.filter((e) => e.kind === 'claim' && e.status === 'confirmed').length;
  const claimable = confirmedMoves - rewards * MOVES_PER_REWARD >= MOVES_PER_REWARD;

  function createWallet() {
    return run('Creating the wallet', async () => {
      await session.clearSession();
      const created = await client.createWallet({ secret: { pin } });
      window.sessionStorage.setItem(WALLET_KEY, created.address);
      setLog([]);
      setWallet(created);
      return `Wallet ${shortHex(created.address)} created and deployed.`;
    });
  }

  function startSession() {
    return run('Starting a session', async () => {
      if (!demoGame) throw new Error('this server has no demo game contract');
      // A restored session reads as 'created' until its status is known; the button waits
      // for that (isLoadingStatus), so a revoked key is never registered again.
      if (state !== 'created') await session.createSession();
      const execution = await session.registerSession({
        allowedMethods: [
          { contract: demoGame, entrypoint: 'make_move' },
          { contract: demoGame, entrypoint: 'claim_reward' },
        ],
        maxCalls: MAX_CALLS,
      });
      return `Session registered in transaction ${shortHex(execution.transactionHash)}.`;
    });
  }

  async function play(kind: LogEntry['kind'], label: string, calls: Call[]) {
    const id = nextLogId++;
    setLog((entries) => [{ id, kind, label, status: 'pending', at: Date.now() }, ...entries]);
    const update = (patch: Partial<LogEntry>) =>
      setLog((entries) => entries.map((e) => (e.id === id ? { ...e, ...patch } : e)));
    try {
      const execution = await session.executeWithSession(calls);
      update({ status: 'confirmed', transactionHash: execution.transactionHash });
      return `${label}: confirmed in ${shortHex(execution.transactionHash)}.`;
    } catch (e) {
      const hash = (e as { execution?: { transactionHash?: string } }).execution?.transactionHash;
      update({ status: 'failed', transactionHash: hash || undefined, detail: describeError(e).code });
      throw e;
    }
  }

  function makeMove() {
    const label = `Move ${move}`;
    return run(label, () =>
      play('move', label, [{ to: demoGame!, entrypoint: 'make_move', calldata: [shortString(move)] }]),
    );
  }

  function claimReward() {
    return run('Claiming a reward', () =>
      play('claim', 'Claim reward', [{ to: demoGame!, entrypoint: 'claim_reward', calldata: [] }]),
    );
  }

  function revoke() {
    return run('Revoking the session', async () => {
      const execution = await session.revokeSession();
      return `Session revoked in transaction ${shortHex(execution.transactionHash)}.`;
    });
  }

  const isBusy = busy !== null;
  return (
    <>
      <ErrorBox error={error} onDismiss={() => setError(null)} />
      <p className="status-line" aria-live="polite" role="status" data-testid="status">
        {status}
      </p>
      <div className="game-grid">
        <section className="panel" aria-labelledby="setup-title">
          <h2 id="setup-title">Set up</h2>
          <ol className="steps">
            <li className={`step ${pin && !weakness ? 'done' : ''}`}>
              <div>
                <label htmlFor={pinId}>
                  PIN
                  <span className="hint">
                    Seals the wallet's owner key and the session key in this browser, together
                    with the server's evaluation of it: a wrong PIN can only be tried against
                    the server, which counts it. Kept in memory only: reloading the page
                    forgets it.
                  </span>
                </label>
                <input
                  id={pinId}
                  className="pin"
                  type="password"
                  inputMode="numeric"
                  autoComplete="off"
                  data-testid="pin"
                  value={pin}
                  onChange={(e) => setPin(e.target.value)}
                  aria-describedby={weakness ? `${pinId}-weak` : undefined}
                  aria-invalid={weakness ? true : undefined}
                />
                {weakness && (
                  <span id={`${pinId}-weak`} className="hint" style={{ color: 'var(--bad)' }}>
                    {weakness}
                  </span>
                )}
              </div>
            </li>
            <li className={`step ${wallet ? 'done' : ''}`}>
              <div>
                <button
                  type="button"
                  data-testid="create-wallet"
                  onClick={createWallet}
                  disabled={isBusy || !pin || weakness !== null || wallet !== null}
                >
                  {busy === 'Creating the wallet' ? 'Creating…' : 'Create wallet'}
                </button>
                {wallet && (
                  <div className="tx">
                    <span className="muted">Wallet </span>
                    <code data-testid="wallet-address">{wallet.address}</code>
                    {wallet.encryptedPrivateKey && (
                      <div className="muted" style={{ fontSize: '0.85rem' }}>
                        owner key sealed as{' '}
                        <code data-testid="key-format">{envelopeInfo(wallet.encryptedPrivateKey).format}</code>
                      </div>
                    )}
                  </div>
                )}
              </div>
            </li>
            <li className={`step ${sessionLive ? 'done' : ''}`}>
              <div>
                <button
                  type="button"
                  data-testid="start-session"
                  onClick={startSession}
                  disabled={isBusy || !wallet || !pin || !demoGame || sessionLive || session.isLoadingStatus}
                >
                  {busy === 'Starting a session' ? 'Starting…' : 'Start session'}
                </button>
                <div className="tx">
                  <span className="muted">Session </span>
                  <span className={`state state-${state}`} data-testid="session-state">
                    {state}
                  </span>
                  {session.session && (
                    <div className="muted" style={{ fontSize: '0.85rem' }}>
                      key <code>{shortHex(session.session.publicKey)}</code> · expires{' '}
                      <span title={absoluteTime(session.session.validUntil)}>
                        {relativeTime(session.session.validUntil)}
                      </span>{' '}
                      · make_move and claim_reward on the game only
                    </div>
                  )}
                </div>
              </div>
            </li>
          </ol>
        </section>

        <section className="panel" aria-labelledby="play-title">
          <h2 id="play-title">Play</h2>
          <div className="stats">
            <div className="stat">
              <span className="value" data-testid="remaining-calls">
                {session.remainingCalls ?? '—'}
              </span>
              <span className="label">calls left</span>
            </div>
            <div className="stat">
              <span className="value" data-testid="moves-confirmed">
                {confirmedMoves}
              </span>
              <span className="label">moves confirmed</span>
            </div>
            <div className="stat">
              <span className="value" data-testid="rewards">
                {rewards}
              </span>
              <span className="label">rewards</span>
            </div>
          </div>
          <fieldset className="moves" disabled={isBusy}>
            <legend>Direction</legend>
            {MOVES.map((m) => (
              <label key={m.value}>
                <input
                  type="radio"
                  name="move"
                  value={m.value}
                  checked={move === m.value}
                  onChange={() => setMove(m.value)}
                />
                {m.label}
              </label>
            ))}
          </fieldset>
          <div className="row">
            <button
              type="button"
              data-testid="move"
              onClick={makeMove}
              disabled={isBusy || !demoGame || state === 'none'}
            >
              {busy?.startsWith('Move') ? 'Moving…' : 'Move'}
            </button>
            <button
              type="button"
              className="secondary"
              data-testid="claim-reward"
              onClick={claimReward}
              disabled={isBusy || !sessionLive || !claimable}
              title={`A reward every ${MOVES_PER_REWARD} moves`}
            >
              Claim reward
            </button>
            <span className="spacer" style={{ flex: 1 }} />
            <button
              type="button"
              className="danger"
              data-testid="revoke"
              onClick={revoke}
              disabled={isBusy || !pin || state === 'none' || state === 'revoked'}
            >
              {busy === 'Revoking the session' ? 'Revoking…' : 'Revoke'}
            </button>
          </div>
          <p className="muted" style={{ fontSize: '0.85rem' }}>
            Moves are signed by the session key: no PIN, no prompt. The server pays the gas.
          </p>
        </section>
      </div>

      <section className="panel" aria-labelledby="log-title">
        <h2 id="log-title">Moves</h2>
        {log.length === 0 && <p className="muted">No moves yet.</p>}
        <ol className="log" data-testid="move-log" aria-live="polite">
          {log.map((entry) => (
            <li key={entry.id} data-status={entry.status}>
              <span className="what">{entry.label}</span>
              <span className={`state state-${entry.status === 'confirmed' ? 'active' : entry.status === 'failed' ? 'failed' : 'pending'}`}>
                {entry.status}
                {entry.detail ? ` · ${entry.detail}` : ''}
              </span>
              <span className="hash">
                {entry.transactionHash ? (
                  <code data-testid="tx-hash">{entry.transactionHash}</code>
                ) : entry.status === 'pending' ? (
                  <span className="muted">signing and submitting…</span>
                ) : null}
              </span>
            </li>
          ))}
        </ol>
      </section>
      <p>
        <a href="/" onClick={onLinkClick}>
          ← Back to the dashboard
        </a>
      </p>
    </>
  );
}
