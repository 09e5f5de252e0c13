// The dashboard: the organisation's wallets on every served chain (Starknet and EVM), each
// with its sessions, and owner-signed revocation (the owner key is fetched for that one
// wallet, decrypted in this browser with the PIN and the server's evaluation of it, used
// once, freed). An EVM wallet whose owner is external has no stored key: its sessions are
// shown, and revoking them is left to the owner's own wallet.

import { useCallback, useEffect, useMemo, useState } from 'react';
import {
  EvmClient,
  isLatchkeyError,
  LatchkeyError,
  unlockOwnerKeyWithPin,
  type EvmKey,
  type Execution,
  type LatchkeyClient,
  type OwnerSigner,
  type Session,
} from '@latchkey/sdk';
import {
  chainLabel,
  chainOf,
  contractLabel,
  isEvmWallet,
  loadChains,
  methodLabel,
  type ChainInfo,
  type ChainWallet,
} from './chains';
import { describeError, ErrorBox, type Shown } from './ErrorBox';
import { absoluteTime, isoTime, relativeTime, shortHex } from './format';
import { PinDialog } from './PinDialog';
import { onLinkClick } from './router';
import { Settings } from './Settings';

interface WalletView {
  wallet: ChainWallet;
  chain: ChainInfo | null;
  evm: boolean;
  sessions: Session[] | null;
  error: Shown | null;
}

/** Sessions the owner can still revoke on chain. */
const REVOCABLE: Session['state'][] = ['active', 'scheduled', 'expired', 'exhausted'];

type Pending =
  | { kind: 'one'; view: WalletView; session: Session }
  | { kind: 'all'; view: WalletView };

interface Done {
  what: string;
  transactionHash: string;
}

/** What the owner of a wallet whose key is not stored is told. */
const EXTERNAL_OWNER =
  'This wallet’s owner key is not stored here (external owner): revoke its sessions from the owner’s own wallet.';

async function withOwner(
  client: LatchkeyClient,
  wallet: ChainWallet,
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

/** The stored `lk2$owner-secp256k1$…` envelope of an EVM wallet; a clear refusal when none is stored. */
async function evmOwnerEnvelope(client: LatchkeyClient, wallet: ChainWallet): Promise<string> {
  if (wallet.externalOwner) throw new LatchkeyError('INVALID_INPUT', EXTERNAL_OWNER);
  try {
    return (await client.getEncryptedKey(wallet.address)).encryptedPrivateKey;
  } catch (e) {
    if (isLatchkeyError(e) && e.serverCode === 'KEY_NOT_STORED') {
      throw new LatchkeyError('INVALID_INPUT', EXTERNAL_OWNER, { status: e.status, serverCode: e.serverCode });
    }
    throw e;
  }
}

/**
 * Runs `action` with an EVM wallet's owner key: the envelope read for this wallet alone,
 * the PIN evaluated by the server (one counted attempt), the key opened in WebAssembly
 * memory and freed afterwards. EvmClient checks each prepared userOp before it signs.
 */
async function withEvmOwner(
  evm: EvmClient,
  wallet: ChainWallet,
  pin: string,
  action: (owner: EvmKey) => Promise<Execution>,
): Promise<Execution> {
  const encryptedPrivateKey = await evmOwnerEnvelope(evm.client, wallet);
  const owner = await evm.unlockOwner(wallet.address, {
    pin,
    encryptedPrivateKey,
    ownerAddress: wallet.ownerPublicKey,
  });
  try {
    return await action(owner);
  } finally {
    owner.free();
  }
}

export function Dashboard({ client }: { client: LatchkeyClient }) {
  const [wallets, setWallets] = useState<WalletView[] | null>(null);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<Shown | null>(null);
  const [pending, setPending] = useState<Pending | null>(null);
  const [done, setDone] = useState<Done | null>(null);
  const [now, setNow] = useState(() => Date.now());

  const load = useCallback(async () => {
    setLoading(true);
    setError(null);
    try {
      const [list, chains] = await Promise.all([client.listWallets(), loadChains(client)]);
      const newestFirst = [...(list as ChainWallet[])].sort((a, b) => b.createdAt.localeCompare(a.createdAt));
      const views = await Promise.all(
        newestFirst.map(async (wallet): Promise<WalletView> => {
          const chain = chainOf(wallet, chains);
          const evm = isEvmWallet(wallet, chain);
          try {
            return { wallet, chain, evm, sessions: await client.listSessions(wallet.address), error: null };
          } catch (e) {
            return { wallet, chain, evm, sessions: null, error: describeError(e) };
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

  // One EvmClient per EVM chain, so that each checks userOps against its own chain.
  const evmClientFor = useMemo(() => {
    const byChain = new Map<string, EvmClient>();
    return (chain: ChainInfo | null): EvmClient => {
      const id = chain?.id ?? '';
      let evm = byChain.get(id);
      if (!evm) {
        evm = new EvmClient(client, chain ? { chain: chain.id } : {});
        byChain.set(id, evm);
      }
      return evm;
    };
  }, [client]);

  async function revokeEvm(target: Pending, pin: string): Promise<Execution> {
    const { wallet, chain } = target.view;
    const evm = evmClientFor(chain);
    return target.kind === 'one'
      ? withEvmOwner(evm, wallet, pin, (owner) =>
          evm.revokeSession(wallet.address, owner, target.session.sessionPublicKey),
        )
      : withEvmOwner(evm, wallet, pin, (owner) => evm.revokeAll(wallet.address, owner));
  }

  async function revokeStarknet(target: Pending, pin: string): Promise<Execution> {
    const { wallet } = target.view;
    return target.kind === 'one'
      ? withOwner(client, wallet, pin, (owner) =>
          client.revokeSession(wallet.address, owner, target.session.sessionPublicKey),
        )
      : withOwner(client, wallet, pin, (owner) => client.revokeAllSessions(wallet.address, owner));
  }

  async function revoke(target: Pending, pin: string) {
    const execution = target.view.evm ? await revokeEvm(target, pin) : await revokeStarknet(target, pin);
    setDone({
      what:
        target.kind === 'one'
          ? `Session ${shortHex(target.session.sessionPublicKey)} revoked`
          : `Every session of ${shortHex(target.view.wallet.address)} revoked`,
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
          now={now}
          onRevoke={(session) => setPending({ kind: 'one', view, session })}
          onRevokeAll={() => setPending({ kind: 'all', view })}
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
                <code>{shortHex(pending.view.wallet.address)}</code> ({chainLabel(pending.view.chain, pending.view.wallet)})
                will stop working at once.
              </>
            ) : (
              <>
                Every session of wallet <code>{shortHex(pending.view.wallet.address)}</code> (
                {chainLabel(pending.view.chain, pending.view.wallet)}) will stop working at once.
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
  now,
  onRevoke,
  onRevokeAll,
}: {
  view: WalletView;
  now: number;
  onRevoke(session: Session): void;
  onRevokeAll(): void;
}) {
  const { wallet, chain, evm, sessions } = view;
  // An EVM wallet whose owner is external: nothing here can sign for it.
  const ownerElsewhere = evm && wallet.externalOwner === true;
  const revocable = !ownerElsewhere && (sessions?.some((s) => REVOCABLE.includes(s.state)) ?? false);
  const headingId = `wallet-${wallet.address}`;
  return (
    <section
      className="panel"
      data-testid="wallet-row"
      data-address={wallet.address}
      data-family={evm ? 'evm' : 'starknet'}
      aria-labelledby={headingId}
    >
      <div className="wallet-head">
        <div>
          <div className="address" id={headingId} title={wallet.address}>
            {wallet.address}
          </div>
          <div className="muted" style={{ fontSize: '0.85rem' }}>
            <span
              className={`chip chain chain-${evm ? 'evm' : 'starknet'}`}
              data-testid="wallet-chain"
              title={chain ? `${chain.id} · fees in ${chain.feeUnit}` : wallet.chain}
            >
              {chainLabel(chain, wallet)}
            </span>{' '}
            <span data-testid="wallet-type">{wallet.walletType}</span> ·{' '}
            {wallet.deployed ? 'deployed' : 'not deployed'}
            {wallet.externalUserId ? ` · user ${wallet.externalUserId}` : ''} · created{' '}
            <time dateTime={wallet.createdAt}>
              {absoluteTime(Date.parse(wallet.createdAt) / 1000)}
            </time>
          </div>
        </div>
        {!ownerElsewhere && (
          <button type="button" className="danger small" disabled={!revocable} onClick={onRevokeAll}>
            Revoke all
          </button>
        )}
      </div>
      {ownerElsewhere && (
        <p className="notice" data-testid="external-owner">
          {EXTERNAL_OWNER}
        </p>
      )}
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
                <th scope="col">Calls</th>
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
                  chain={chain}
                  evm={evm}
                  canRevoke={!ownerElsewhere}
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
  chain,
  evm,
  canRevoke,
  now,
  onRevoke,
}: {
  wallet: string;
  session: Session;
  chain: ChainInfo | null;
  evm: boolean;
  canRevoke: boolean;
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
      <td className="nowrap">
        <span data-testid="session-calls">
          {session.remainingCalls} / {session.maxCalls}
        </span>{' '}
        left
        <div className="muted" style={{ fontSize: '0.8rem' }} data-testid="session-used">
          {session.callsUsed} used
        </div>
      </td>
      <td>
        {session.allowAll ? (
          <span className="chip">any method</span>
        ) : (
          session.allowedMethods.map((method) => (
            <span
              key={`${method.contract}:${method.selector}`}
              className="chip"
              data-testid="session-method"
              title={`${method.contract} · ${method.selector}`}
            >
              {methodLabel(method, chain, evm)}
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
              <code title={cap.token}>{contractLabel(cap.token, chain, evm)}</code>: ≤ {cap.maxPerCall} per call,{' '}
              {cap.spentInWindow} / {cap.maxPerWindow} per {cap.windowSeconds} s
            </div>
          ))
        )}
      </td>
      <td>
        {canRevoke && REVOCABLE.includes(session.state) && (
          <button type="button" className="danger small" onClick={onRevoke} data-testid="revoke-session">
            Revoke
          </button>
        )}
      </td>
    </tr>
  );
}
