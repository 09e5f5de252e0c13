// The dashboard: the organisation's wallets, each with its sessions, and owner-signed
// revocation (the owner key is fetched for that one wallet, decrypted in this browser with
// the PIN and the server's evaluation of it, used once, freed).

import { useCallback, useEffect, useState } from 'react';
import {
  unlockOwnerKeyWithPin,
  type Execution,
  type LatchkeyClient,
  type OwnerSigner,
  type Session,
  type Wallet,
} from '@latchkey/sdk';
import { describeError, ErrorBox, type Shown } from './ErrorBox';
import { absoluteTime, isoTime, relativeTime, shortHex } from './format';
import { entrypointName, sameFelt } from './names';
import { PinDialog } from './PinDialog';
import { onLinkClick } from './router';
import { Settings } from './Settings';

interface WalletView {
  wallet: Wallet;
  sessions: Session[] | null;
  error: Shown | null;
}

/** Sessions the owner can still revoke on chain. */
const REVOCABLE: Session['state'][] = ['active', 'scheduled', 'expired', 'exhausted'];

type Pending =
  | { kind: 'one'; wallet: Wallet; session: Session }
  | { kind: 'all'; wallet: Wallet };

interface Done {
  what: string;
  transactionHash: string;
}

async function withOwner(
  client: LatchkeyClient,
  wallet: Wallet,
  pin: string,
  action: (owner: OwnerSigner) => Promise<Execution>,
): Promise<Execution> {
  // The list carries no encrypted keys: the one needed is read for this wallet alone.
  const stored = await client.getWallet(wallet.address);
  if (typeof stored.encryptedPrivateKey !== 'string') {
    throw new Error('the server returned no encrypted owner key for this wallet');
  }
  // The PIN is checked through the server (one counted attempt; a proved unlock clears the
  // count), and an older lk1 key is re-sealed as lk2 on the way.
  const owner = await unlockOwnerKeyWithPin(client, stored, { pin });
  try {
    return await action(owner);
  } finally {
    owner.free();
  }
}

export function Dashboard({ client }: { client: LatchkeyClient }) {
  const [wallets, setWallets] = useState<WalletView[] | null>(null);
  const [demoGame, setDemoGame] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<Shown | null>(null);
  const [pending, setPending] = useState<Pending | null>(null);
  const [done, setDone] = useState<Done | null>(null);
  const [now, setNow] = useState(() => Date.now());

  const load = useCallback(async () => {
    setLoading(true);
    setError(null);
    try {
      const [list, config] = await Promise.all([client.listWallets(), client.config()]);
      setDemoGame(config.demoGame);
      const newestFirst = [...list].sort((a, b) => b.createdAt.localeCompare(a.createdAt));
      const views = await Promise.all(
        newestFirst.map(async (wallet): Promise<WalletView> => {
          try {
            return { wallet, sessions: await client.listSessions(wallet.address), error: null };
          } catch (e) {
            return { wallet, sessions: null, error: describeError(e) };
          }
        }),
      );
      setWallets(views);
      setNow(Date.now());
    } catch (e) {
      setError(describeError(e));
    } finally {
      setLoading(false);
    }
  }, [client]);

  useEffect(() => {
    void load();
  }, [load]);

  // Relative times stay current.
  useEffect(() => {
    const timer = window.setInterval(() => setNow(Date.now()), 15_000);
    return () => window.clearInterval(timer);
  }, []);

  async function revoke(target: Pending, pin: string) {
    const execution =
      target.kind === 'one'
        ? await withOwner(client, target.wallet, pin, (owner) =>
            client.revokeSession(target.wallet.address, owner, target.session.sessionPublicKey),
          )
        : await withOwner(client, target.wallet, pin, (owner) =>
            client.revokeAllSessions(target.wallet.address, owner),
          );
    setDone({
      what:
        target.kind === 'one'
          ? `Session ${shortHex(target.session.sessionPublicKey)} revoked`
          : `Every session of ${shortHex(target.wallet.address)} revoked`,
      transactionHash: execution.transactionHash,
    });
    await load();
  }

  return (
    <>
      <div className="row" style={{ marginBottom: '1rem' }}>
        <button type="button" className="secondary" onClick={() => void load()} disabled={loading}>
          {loading ? 'Refreshing…' : 'Refresh'}
        </button>
        <a href="/game" onClick={onLinkClick}>
          Play the demo game →
        </a>
        <span className="status-line" aria-live="polite" data-testid="status">
          {loading ? 'Loading wallets…' : wallets ? `${wallets.length} wallet(s)` : ''}
        </span>
      </div>
      <ErrorBox error={error} onDismiss={() => setError(null)} />
      <div aria-live="polite">
        {done && (
          <div className="panel tx" data-testid="revoke-result">
            <strong>{done.what}.</strong> Transaction{' '}
            <code data-testid="tx-hash">{done.transactionHash}</code>
          </div>
        )}
      </div>
      {wallets && wallets.length === 0 && (
        <section className="panel">
          <h2>No wallets yet</h2>
          <p className="muted">
            Create one in the <a href="/game" onClick={onLinkClick}>demo game</a>, with the CLI
            (<code>latchkey wallet create</code>) or with the SDK.
          </p>
        </section>
      )}
      {wallets?.map((view) => (
        <WalletCard
          key={view.wallet.address}
          view={view}
          demoGame={demoGame}
          now={now}
          onRevoke={(session) => setPending({ kind: 'one', wallet: view.wallet, session })}
          onRevokeAll={() => setPending({ kind: 'all', wallet: view.wallet })}
        />
      ))}
      <Settings client={client} />
      {pending && (
        <PinDialog
          title={pending.kind === 'one' ? 'Revoke this session?' : 'Revoke every session?'}
          description={
            pending.kind === 'one' ? (
              <>
                Session <code>{shortHex(pending.session.sessionPublicKey)}</code> of wallet{' '}
                <code>{shortHex(pending.wallet.address)}</code> will stop working at once.
              </>
            ) : (
              <>
                Every session of wallet <code>{shortHex(pending.wallet.address)}</code> will stop
                working at once.
              </>
            )
          }
          confirmLabel={pending.kind === 'one' ? 'Revoke session' : 'Revoke all'}
          onConfirm={(pin) => revoke(pending, pin)}
          onClose={() => setPending(null)}
        />
      )}
    </>
  );
}

function WalletCard({
  view,
  demoGame,
  now,
  onRevoke,
  onRevokeAll,
}: {
  view: WalletView;
  demoGame: string | null;
  now: number;
  onRevoke(session: Session): void;
  onRevokeAll(): void;
}) {
  const { wallet, sessions } = view;
  const revocable = sessions?.some((s) => REVOCABLE.includes(s.state)) ?? false;
  const headingId = `wallet-${wallet.address}`;
  return (
    <section
      className="panel"
      data-testid="wallet-row"
      data-address={wallet.address}
      aria-labelledby={headingId}
    >
      <div className="wallet-head">
        <div>
          <div className="address" id={headingId} title={wallet.address}>
            {wallet.address}
          </div>
          <div className="muted" style={{ fontSize: '0.85rem' }}>
            {wallet.deployed ? 'deployed' : 'not deployed'}
            {wallet.externalUserId ? ` · user ${wallet.externalUserId}` : ''} · created{' '}
            <time dateTime={wallet.createdAt}>
              {absoluteTime(Date.parse(wallet.createdAt) / 1000)}
            </time>
          </div>
        </div>
        <button type="button" className="danger small" disabled={!revocable} onClick={onRevokeAll}>
          Revoke all
        </button>
      </div>
      <ErrorBox error={view.error} />
      {sessions && sessions.length === 0 && <p className="muted">No sessions.</p>}
      {sessions && sessions.length > 0 && (
        <div className="table-wrap">
          <table>
            <caption className="visually-hidden">Sessions of {wallet.address}</caption>
            <thead>
              <tr>
                <th scope="col">Session key</th>
                <th scope="col">State</th>
                <th scope="col">Expires</th>
                <th scope="col">Calls left</th>
                <th scope="col">Allowed methods</th>
                <th scope="col">Spending caps</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {sessions.map((session) => (
                <SessionRow
                  key={session.sessionPublicKey}
                  wallet={wallet.address}
                  session={session}
                  demoGame={demoGame}
                  now={now}
                  onRevoke={() => onRevoke(session)}
                />
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function SessionRow({
  wallet,
  session,
  demoGame,
  now,
  onRevoke,
}: {
  wallet: string;
  session: Session;
  demoGame: string | null;
  now: number;
  onRevoke(): void;
}) {
  return (
    <tr data-testid="session-row" data-wallet={wallet} data-session={session.sessionPublicKey}>
      <td>
        <code title={session.sessionPublicKey}>{shortHex(session.sessionPublicKey)}</code>
      </td>
      <td>
        <span className={`state state-${session.state}`} data-testid="session-state">
          {session.state}
        </span>
      </td>
      <td>
        <time dateTime={isoTime(session.validUntil)} title={absoluteTime(session.validUntil)}>
          {relativeTime(session.validUntil, now)}
        </time>
        <div className="muted" style={{ fontSize: '0.8rem' }}>
          {absoluteTime(session.validUntil)}
        </div>
      </td>
      <td data-testid="session-calls">
        {session.remainingCalls} / {session.maxCalls}
      </td>
      <td>
        {session.allowAll ? (
          <span className="chip">any method</span>
        ) : (
          session.allowedMethods.map((method) => (
            <span
              key={`${method.contract}:${method.selector}`}
              className="chip"
              title={`${method.contract} · ${method.selector}`}
            >
              {sameFelt(method.contract, demoGame)
                ? 'game'
                : sameFelt(method.contract, '0x0')
                  ? 'any contract'
                  : shortHex(method.contract, 4)}
              .{entrypointName(method.selector)}
            </span>
          ))
        )}
      </td>
      <td>
        {session.spendingCaps.length === 0 ? (
          <span className="muted">none</span>
        ) : (
          session.spendingCaps.map((cap) => (
            <div key={cap.token} style={{ fontSize: '0.85rem' }}>
              <code title={cap.token}>{shortHex(cap.token, 4)}</code>: ≤ {cap.maxPerCall} per call,{' '}
              {cap.spentInWindow} / {cap.maxPerWindow} per {cap.windowSeconds} s
            </div>
          ))
        )}
      </td>
      <td>
        {REVOCABLE.includes(session.state) && (
          <button type="button" className="danger small" onClick={onRevoke} data-testid="revoke-session">
            Revoke
          </button>
        )}
      </td>
    </tr>
  );
}
