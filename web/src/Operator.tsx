// The operator's console, opened with the operator token (`lkop_…`, printed once by
// `latchkey serve`; kept in this tab's sessionStorage only): organisations (create, rename,
// suspend), their API keys (issued and rotated keys shown once; listed by prefix; revoked),
// their gas budgets (set, top up), their statistics and transactions, the relayer accounts
// and the audit log. An organisation's settings (token issuer, origins, sponsorship policy)
// are the dashboard's settings forms, answered here by the admin API.

import { useCallback, useEffect, useId, useMemo, useState } from 'react';
import { LatchkeyClient } from '@latchkey/sdk';
import {
  admin,
  ApiFailure,
  query,
  tokenOf,
  tokens,
  toUnits,
  type ApiKey,
  type AuditRecord,
  type ChainRelayers,
  type GasBudget,
  type Organization,
  type Stats,
  type Transaction,
} from './api';
import { useAuth } from './auth';
import { StatsPanel } from './Activity';
import { RelayerFundsChart } from './Charts';
import { describeError, ErrorBox, type Shown } from './ErrorBox';
import { absoluteTime, shortHex } from './format';
import { navigate } from './router';
import { Settings } from './Settings';
import { Transactions, type TransactionFilters } from './Transactions';

/** The organisation's settings routes, and the admin routes that answer them for the operator. */
const SETTINGS_ROUTES: Record<string, string> = {
  '/api/organization/token-issuer': 'token-issuer',
  '/api/organization/allowed-origins': 'allowed-origins',
  '/api/organization/tokens': 'tokens',
  '/api/sponsorship/policy': 'sponsorship-policy',
};

/**
 * A client whose settings calls go to the operator's routes of one organisation, so that
 * the dashboard's settings forms serve the operator unchanged. It holds no organisation
 * keys and answers nothing else.
 */
class OperatorSettingsClient extends LatchkeyClient {
  readonly #token: string;
  readonly #org: string;

  constructor(token: string, org: string) {
    // No organisation key: every call goes through `request` below, never this transport.
    super({
      publicKey: 'operator',
      fetch: () => Promise.reject(new ApiFailure('OPERATOR_ONLY', 'the operator console sends no organisation keys', 0)),
    });
    this.#token = token;
    this.#org = org;
  }

  override request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const route = SETTINGS_ROUTES[path];
    if (!route) {
      return Promise.reject(new ApiFailure('OPERATOR_ONLY', `the operator console does not call ${path}`, 0));
    }
    return admin<T>(this.#token, method, `/organizations/${this.#org}/${route}`, body);
  }
}

const STORAGE_KEY = 'latchkey.operator';

/** One action at a time, with its error. */
function useRunner() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Shown | null>(null);
  const run = useCallback(async (action: () => Promise<void>) => {
    setBusy(true);
    setError(null);
    try {
      await action();
    } catch (e) {
      setError(describeError(e));
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, error, setError, run };
}

export function Operator() {
  const [token, setToken] = useState<string | null>(() => window.sessionStorage.getItem(STORAGE_KEY));
  const signOut = () => {
    window.sessionStorage.removeItem(STORAGE_KEY);
    setToken(null);
  };
  if (!token) {
    return (
      <OperatorSignIn
        onSignedIn={(value) => {
          window.sessionStorage.setItem(STORAGE_KEY, value);
          setToken(value);
        }}
      />
    );
  }
  return <Console token={token} onSignOut={signOut} />;
}

function OperatorSignIn({ onSignedIn }: { onSignedIn(token: string): void }) {
  const [value, setValue] = useState('');
  const { busy, error, run } = useRunner();
  const id = useId();
  return (
    <section className="panel" aria-labelledby="operator-sign-in" style={{ maxWidth: '40rem' }}>
      <h2 id="operator-sign-in">Operator sign-in</h2>
      <p className="muted">
        The operator token (<code>lkop_…</code>) is printed once by <code>latchkey serve</code> at first start. It
        stays in this browser tab only.
      </p>
      <ErrorBox error={error} />
      <form
        className="stack"
        onSubmit={(e) => {
          e.preventDefault();
          const token = value.trim();
          void run(async () => {
            await admin(token, 'GET', '/organizations?limit=1');
            onSignedIn(token);
          });
        }}
      >
        <div>
          <label htmlFor={id}>Operator token</label>
          <input
            id={id}
            type="password"
            data-testid="operator-token"
            placeholder="lkop_…"
            autoComplete="off"
            spellCheck={false}
            required
            value={value}
            onChange={(e) => setValue(e.target.value)}
          />
        </div>
        <div className="row">
          <button type="submit" data-testid="operator-sign-in" disabled={busy || !value}>
            {busy ? 'Signing in…' : 'Sign in'}
          </button>
        </div>
      </form>
    </section>
  );
}

interface ChainChoice {
  id: string;
  feeUnit: string;
}

function Console({ token, onSignOut }: { token: string; onSignOut(): void }) {
  const [orgs, setOrgs] = useState<Organization[] | null>(null);
  const [selected, setSelected] = useState<string | null>(null);
  const [chains, setChains] = useState<ChainChoice[]>([]);
  const [name, setName] = useState('');
  const { busy, error, run } = useRunner();
  const nameId = useId();

  const reload = useCallback(
    () =>
      run(async () => {
        const list = await admin<{ organizations: Organization[] }>(token, 'GET', '/organizations?limit=200');
        setOrgs(list.organizations);
      }),
    [run, token],
  );

  useEffect(() => {
    void reload();
    fetch('/api/config')
      .then((r) => r.json())
      .then(
        (config: { chains?: ChainChoice[] }) => setChains(config.chains ?? []),
        () => setChains([]),
      );
  }, [reload]);

  const org = orgs?.find((o) => o.id === selected) ?? null;

  return (
    <>
      <section className="panel" aria-labelledby="orgs-title" data-testid="organizations">
        <div className="row">
          <h2 id="orgs-title" style={{ flex: 1 }}>
            Organisations
          </h2>
          <button type="button" className="secondary small" onClick={onSignOut} data-testid="operator-sign-out">
            Sign out
          </button>
        </div>
        <ErrorBox error={error} />
        <form
          className="row"
          onSubmit={(e) => {
            e.preventDefault();
            void run(async () => {
              const created = await admin<Organization>(token, 'POST', '/organizations', { name: name.trim() });
              setName('');
              const list = await admin<{ organizations: Organization[] }>(token, 'GET', '/organizations?limit=200');
              setOrgs(list.organizations);
              setSelected(created.id);
            });
          }}
        >
          <div style={{ flex: 1 }}>
            <label htmlFor={nameId}>New organisation</label>
            <input
              id={nameId}
              type="text"
              data-testid="org-name"
              placeholder="Acme Games"
              maxLength={100}
              value={name}
              onChange={(e) => setName(e.target.value)}
            />
          </div>
          <button type="submit" data-testid="create-org" disabled={busy || !name.trim()}>
            Create
          </button>
        </form>
        {orgs && (
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th>Name</th>
                  <th>Id</th>
                  <th>Created</th>
                  <th>State</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {orgs.map((o) => (
                  <tr key={o.id} data-testid="org-row" data-id={o.id} data-name={o.name} aria-selected={o.id === selected}>
                    <td>{o.name}</td>
                    <td>
                      <code>{o.id}</code>
                    </td>
                    <td className="nowrap">{absoluteTime(o.createdAt)}</td>
                    <td>
                      <span className={`state state-${o.suspended ? 'revoked' : 'active'}`}>
                        {o.suspended ? 'suspended' : 'active'}
                      </span>
                    </td>
                    <td>
                      <button type="button" className="small" onClick={() => setSelected(o.id)} data-testid="open-org">
                        Open
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
      {org && (
        <OrganizationDetail key={org.id} token={token} org={org} chains={chains} onChanged={() => void reload()} />
      )}
      <Relayers token={token} />
      <AuditLog token={token} target={null} title="Audit log" />
    </>
  );
}

function OrganizationDetail({
  token,
  org,
  chains,
  onChanged,
}: {
  token: string;
  org: Organization;
  chains: ChainChoice[];
  onChanged(): void;
}) {
  const [name, setName] = useState(org.name);
  const { busy, error, run } = useRunner();
  const [auditVersion, setAuditVersion] = useState(0);
  const [transactionsVersion, setTransactionsVersion] = useState(0);
  const changed = () => {
    onChanged();
    setAuditVersion((v) => v + 1);
  };
  const readStats = useCallback(() => admin<Stats>(token, 'GET', `/organizations/${org.id}/stats`), [token, org.id]);
  const loadTransactions = useCallback(
    (f: TransactionFilters) =>
      admin<Transaction[]>(
        token,
        'GET',
        `/organizations/${org.id}/transactions${query({ status: f.status, chain: f.chain, walletAddress: f.walletAddress, limit: 200 })}`,
      ),
    [token, org.id],
  );
  return (
    <>
      <section className="panel" aria-labelledby="org-title" data-testid="organization" data-id={org.id}>
        <h2 id="org-title">
          {org.name}{' '}
          <span className={`state state-${org.suspended ? 'revoked' : 'active'}`} data-testid="org-state">
            {org.suspended ? 'suspended' : 'active'}
          </span>
        </h2>
        <ErrorBox error={error} />
        <form
          className="row"
          onSubmit={(e) => {
            e.preventDefault();
            void run(async () => {
              await admin(token, 'PATCH', `/organizations/${org.id}`, { name: name.trim() });
              changed();
            });
          }}
        >
          <input
            type="text"
            aria-label="Name"
            data-testid="rename-input"
            maxLength={100}
            value={name}
            onChange={(e) => setName(e.target.value)}
            style={{ flex: 1 }}
          />
          <button type="submit" className="secondary" data-testid="rename" disabled={busy || !name.trim()}>
            Rename
          </button>
          <button
            type="button"
            className={org.suspended ? 'secondary' : 'danger'}
            data-testid="suspend"
            disabled={busy}
            onClick={() =>
              void run(async () => {
                await admin(token, 'PATCH', `/organizations/${org.id}`, { suspended: !org.suspended });
                changed();
              })
            }
          >
            {org.suspended ? 'Reinstate' : 'Suspend'}
          </button>
        </form>
        <p className="muted">
          A suspended organisation's calls are refused (<code>ORGANIZATION_SUSPENDED</code>); what it has in flight
          finishes.
        </p>
      </section>
      <Keys token={token} org={org} onChanged={changed} />
      <OrganizationSettings token={token} org={org} />
      <Budgets token={token} org={org} chains={chains} onChanged={changed} />
      <StatsPanel
        read={readStats}
        title={`What ${org.name} did`}
        onRefresh={() => setTransactionsVersion((v) => v + 1)}
      />
      <Transactions chains={chains.map((c) => c.id)} load={loadTransactions} version={transactionsVersion} />
      <AuditLog key={auditVersion} token={token} target={`organization:${org.id}`} title={`Audit log of ${org.name}`} />
    </>
  );
}

function OrganizationSettings({ token, org }: { token: string; org: Organization }) {
  const client = useMemo(() => new OperatorSettingsClient(token, org.id), [token, org.id]);
  return <Settings client={client} />;
}

interface ShownKeys {
  what: string;
  publicKey?: string;
  secretKey?: string;
}

function Keys({ token, org, onChanged }: { token: string; org: Organization; onChanged(): void }) {
  const [keys, setKeys] = useState<ApiKey[] | null>(null);
  const [environment, setEnvironment] = useState('dev');
  const [overlap, setOverlap] = useState('0');
  const [shown, setShown] = useState<ShownKeys | null>(null);
  const { busy, error, run } = useRunner();
  const { signIn } = useAuth();
  const envId = useId();
  const overlapId = useId();

  const reload = useCallback(async () => {
    const list = await admin<{ apiKeys: ApiKey[] }>(token, 'GET', `/organizations/${org.id}/api-keys`);
    setKeys(list.apiKeys);
  }, [token, org.id]);

  useEffect(() => {
    void run(reload);
  }, [run, reload]);

  return (
    <section className="panel" aria-labelledby="keys-title" data-testid="keys">
      <h2 id="keys-title">API keys</h2>
      <ErrorBox error={error} />
      {shown && (
        <div className="notice" role="status" data-testid="issued-keys">
          <p>
            <strong>{shown.what}: shown this once.</strong> Store them now; the server keeps only their hashes.
          </p>
          {shown.publicKey && (
            <p>
              Public key: <code data-testid="issued-public-key">{shown.publicKey}</code>
            </p>
          )}
          {shown.secretKey && (
            <p>
              Secret key: <code data-testid="issued-secret-key">{shown.secretKey}</code>
            </p>
          )}
          <div className="row">
            {shown.publicKey && shown.secretKey && (
              <button
                type="button"
                data-testid="use-keys"
                onClick={() => {
                  signIn({ publicKey: shown.publicKey ?? '', secretKey: shown.secretKey ?? '' });
                  navigate('/activity');
                }}
              >
                Open its dashboard with these keys
              </button>
            )}
            <button type="button" className="secondary" data-testid="hide-keys" onClick={() => setShown(null)}>
              I have stored them
            </button>
          </div>
        </div>
      )}
      <div className="row">
        <div>
          <label htmlFor={envId}>Environment</label>
          <select id={envId} data-testid="key-environment" value={environment} onChange={(e) => setEnvironment(e.target.value)}>
            <option value="dev">dev (pk_dev_ / sk_dev_, Chipi SDK)</option>
            <option value="prod">prod (pk_prod_ / sk_prod_, Chipi SDK)</option>
            <option value="test">test (pk_test_ / sk_test_, Openfort SDK)</option>
            <option value="live">live (pk_live_ / sk_live_, Openfort SDK)</option>
          </select>
        </div>
        <button
          type="button"
          data-testid="issue-keys"
          disabled={busy}
          onClick={() =>
            void run(async () => {
              const issued = await admin<{ publicKey: string; secretKey: string }>(
                token,
                'POST',
                `/organizations/${org.id}/api-keys`,
                { environment },
              );
              setShown({ what: 'New key pair', publicKey: issued.publicKey, secretKey: issued.secretKey });
              await reload();
              onChanged();
            })
          }
        >
          Issue a key pair
        </button>
        <div>
          <label htmlFor={overlapId}>Rotation overlap</label>
          <select id={overlapId} data-testid="rotate-overlap" value={overlap} onChange={(e) => setOverlap(e.target.value)}>
            <option value="0">none: the old key stops now</option>
            <option value="3600">1 hour</option>
            <option value="86400">1 day</option>
            <option value="604800">7 days</option>
          </select>
        </div>
      </div>
      {keys && (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th>Prefix</th>
                <th>Kind</th>
                <th>Created</th>
                <th>State</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {keys.map((k) => (
                <tr key={k.id} data-testid="key-row" data-kind={k.kind} data-active={String(k.active)}>
                  <td>
                    <code>{k.prefix}</code>
                  </td>
                  <td>{k.kind}</td>
                  <td className="nowrap">{absoluteTime(k.createdAt)}</td>
                  <td>
                    {k.active
                      ? k.expiresAt
                        ? `works until ${absoluteTime(k.expiresAt)}`
                        : 'active'
                      : k.revokedAt
                        ? 'revoked'
                        : 'expired'}
                  </td>
                  <td className="nowrap">
                    {k.active && (
                      <>
                        <button
                          type="button"
                          className="secondary small"
                          data-testid="rotate-key"
                          disabled={busy}
                          onClick={() =>
                            void run(async () => {
                              const rotated = await admin<{ key: string }>(
                                token,
                                'POST',
                                `/organizations/${org.id}/api-keys/${k.id}/rotate`,
                                { overlapSeconds: Number(overlap) },
                              );
                              setShown(
                                k.kind === 'public'
                                  ? { what: 'Rotated public key', publicKey: rotated.key }
                                  : { what: 'Rotated secret key', secretKey: rotated.key },
                              );
                              await reload();
                              onChanged();
                            })
                          }
                        >
                          Rotate
                        </button>{' '}
                        <button
                          type="button"
                          className="danger small"
                          data-testid="revoke-key"
                          disabled={busy}
                          onClick={() =>
                            void run(async () => {
                              await admin(token, 'DELETE', `/organizations/${org.id}/api-keys/${k.id}`);
                              await reload();
                              onChanged();
                            })
                          }
                        >
                          Revoke
                        </button>
                      </>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function Budgets({
  token,
  org,
  chains,
  onChanged,
}: {
  token: string;
  org: Organization;
  chains: ChainChoice[];
  onChanged(): void;
}) {
  const [budgets, setBudgets] = useState<GasBudget[] | null>(null);
  const [chain, setChain] = useState('');
  const [amount, setAmount] = useState('');
  const { busy, error, setError, run } = useRunner();
  const chainId = useId();
  const amountId = useId();
  const chosen = chain || chains[0]?.id || '';
  const unit = chains.find((c) => c.id === chosen)?.feeUnit ?? 'FRI';

  const reload = useCallback(async () => {
    const list = await admin<{ gasBudgets: GasBudget[] }>(token, 'GET', `/organizations/${org.id}/gas-budgets`);
    setBudgets(list.gasBudgets);
  }, [token, org.id]);

  useEffect(() => {
    void run(reload);
  }, [run, reload]);

  const alert = () => {
    const threshold = amount === '' ? null : toUnits(amount);
    if (threshold === null && amount !== '') {
      setError({ code: 'INVALID_AMOUNT', message: `an amount of ${tokenOf(unit)}, up to 18 decimals` });
      return;
    }
    void run(async () => {
      await admin(token, 'PUT', `/organizations/${org.id}/gas-budgets/alert-threshold`, { chain: chosen, alertThreshold: threshold });
      setAmount('');
      await reload();
      onChanged();
    });
  };

  const change = (topUp: boolean) => {
    const units = toUnits(amount);
    if (units === null) {
      setError({ code: 'INVALID_AMOUNT', message: `an amount of ${tokenOf(unit)}, up to 18 decimals` });
      return;
    }
    void run(async () => {
      await admin(token, topUp ? 'POST' : 'PUT', `/organizations/${org.id}/gas-budgets${topUp ? '/top-up' : ''}`, {
        chain: chosen,
        amount: units,
      });
      setAmount('');
      await reload();
      onChanged();
    });
  };

  return (
    <section className="panel" aria-labelledby="budgets-title" data-testid="budgets">
      <h2 id="budgets-title">Gas budgets</h2>
      <ErrorBox error={error} />
      <div className="row">
        <div>
          <label htmlFor={chainId}>Chain</label>
          <select id={chainId} data-testid="budget-chain" value={chosen} onChange={(e) => setChain(e.target.value)}>
            {chains.map((c) => (
              <option key={c.id} value={c.id}>
                {c.id}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label htmlFor={amountId}>Amount ({tokenOf(unit)})</label>
          <input
            id={amountId}
            type="text"
            inputMode="decimal"
            data-testid="budget-amount"
            placeholder="5"
            value={amount}
            onChange={(e) => setAmount(e.target.value)}
          />
        </div>
        <button type="button" data-testid="set-budget" disabled={busy || !amount} onClick={() => change(false)}>
          Set budget
        </button>
        <button type="button" className="secondary" data-testid="top-up" disabled={busy || !amount} onClick={() => change(true)}>
          Top up
        </button>
        <button
          type="button"
          className="secondary"
          data-testid="alert-threshold"
          disabled={busy}
          title="Alert when less than this amount is left (empty: no alert)"
          onClick={alert}
        >
          {amount ? 'Alert below' : 'Clear alert'}
        </button>
      </div>
      {budgets && budgets.length === 0 && <p className="muted">No budget yet: its transactions are refused until one is set.</p>}
      {budgets && budgets.length > 0 && (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th>Chain</th>
                <th>Budget</th>
                <th>Spent</th>
                <th>Reserved</th>
                <th>Remaining</th>
                <th>Alert below</th>
              </tr>
            </thead>
            <tbody>
              {budgets.map((b) => (
                <tr
                  key={`${b.chain}-${b.unit}`}
                  data-testid="budget-row"
                  data-chain={b.chain}
                  data-budget={b.budget}
                  data-alerting={b.alerting ? 'yes' : 'no'}
                  className={b.alerting ? 'alerting' : undefined}
                >
                  <td>{b.chain}</td>
                  {[b.budget, b.spent, b.reserved, b.remaining].map((v, i) => (
                    <td key={i} className="mono" title={`${v} ${b.unit}`}>
                      {tokens(v)} {tokenOf(b.unit)}
                    </td>
                  ))}
                  <td className="mono">
                    {b.alertThreshold == null ? '—' : `${tokens(b.alertThreshold)} ${tokenOf(b.unit)}${b.alerting ? ' (alerting)' : ''}`}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function Relayers({ token }: { token: string }) {
  const [chains, setChains] = useState<ChainRelayers[] | null>(null);
  const { busy, error, run } = useRunner();
  const reload = useCallback(
    () =>
      run(async () => {
        const list = await admin<{ chains: ChainRelayers[] }>(token, 'GET', '/relayers');
        setChains(list.chains);
      }),
    [run, token],
  );
  useEffect(() => {
    void reload();
  }, [reload]);
  return (
    <section className="panel" aria-labelledby="relayers-title" data-testid="relayers">
      <div className="row">
        <h2 id="relayers-title" style={{ flex: 1 }}>
          Relayer accounts
        </h2>
        <button type="button" className="secondary small" onClick={() => void reload()} disabled={busy}>
          Refresh
        </button>
      </div>
      <ErrorBox error={error} />
      {chains?.map((c) => (
        <div key={c.chain}>
          <h3>
            {c.chain} {!c.up && <span className="state state-failed">node not answering</span>}
          </h3>
          <RelayerFundsChart
            data={c.relayers.map((r) => ({ address: shortHex(r.address, 4), funds: tokens(r.funds) }))}
          />
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th>Account</th>
                  <th>Next nonce</th>
                  <th>Funds ({tokenOf(c.unit)})</th>
                </tr>
              </thead>
              <tbody>
                {c.relayers.map((r) => (
                  <tr
                    key={r.address}
                    data-testid="relayer-row"
                    data-chain={c.chain}
                    data-nonce={r.nonce ?? ''}
                    data-funds={r.funds ?? ''}
                  >
                    <td>
                      <code title={r.address}>{shortHex(r.address)}</code>
                    </td>
                    <td>{r.nonce ?? '—'}</td>
                    <td className="mono">{r.funds === null ? '—' : tokens(r.funds)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </div>
      ))}
    </section>
  );
}

function AuditLog({ token, target, title }: { token: string; target: string | null; title: string }) {
  const [records, setRecords] = useState<AuditRecord[] | null>(null);
  const { busy, error, run } = useRunner();
  const reload = useCallback(
    () =>
      run(async () => {
        // Pages oldest first; the newest 200 are what is shown.
        let after = 0;
        let all: AuditRecord[] = [];
        for (;;) {
          const page = await admin<{ records: AuditRecord[] }>(
            token,
            'GET',
            `/audit${query({ after, target, limit: 200 })}`,
          );
          all = [...all, ...page.records].slice(-200);
          if (page.records.length < 200) break;
          after = page.records[page.records.length - 1].seq;
        }
        setRecords(all.reverse());
      }),
    [run, token, target],
  );
  useEffect(() => {
    void reload();
  }, [reload]);
  return (
    <section className="panel" aria-label={title} data-testid={target ? 'org-audit' : 'audit'}>
      <div className="row">
        <h2 style={{ flex: 1 }}>{title}</h2>
        <button type="button" className="secondary small" onClick={() => void reload()} disabled={busy}>
          Refresh
        </button>
      </div>
      <ErrorBox error={error} />
      {records && records.length === 0 && <p className="muted">Nothing recorded yet.</p>}
      {records && records.length > 0 && (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th>#</th>
                <th>When</th>
                <th>Who</th>
                <th>What</th>
                <th>Target</th>
                <th>After</th>
              </tr>
            </thead>
            <tbody>
              {records.map((r) => (
                <tr key={r.seq} data-testid="audit-row" data-action={r.action}>
                  <td>{r.seq}</td>
                  <td className="nowrap">{absoluteTime(r.at)}</td>
                  <td>
                    <code>{r.actor}</code>
                  </td>
                  <td>{r.action}</td>
                  <td>
                    <code>{r.target}</code>
                  </td>
                  <td className="mono" style={{ fontSize: '0.75rem' }}>
                    {r.after === null || r.after === undefined ? '' : JSON.stringify(r.after)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
