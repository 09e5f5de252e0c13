// What the organisation's sponsorship did: the charts of `GET /api/stats` and the
// transactions view, read with its keys.

import { useCallback, useEffect, useState } from 'react';
import type { LatchkeyClient } from '@latchkey/sdk';
import { orgGet, query, type Stats, type Transaction } from './api';
import type { Credentials } from './auth';
import { loadChains } from './chains';
import { StatsCharts } from './Charts';
import { describeError, ErrorBox, type Shown } from './ErrorBox';
import { Transactions, type TransactionFilters } from './Transactions';

/** Statistics read by `read`, reloaded on demand. */
export function StatsPanel({
  read,
  title,
  onRefresh,
}: {
  read(): Promise<Stats>;
  title: string;
  /** Called when the charts are read again on demand (to refresh what is shown beside them). */
  onRefresh?(): void;
}) {
  const [stats, setStats] = useState<Stats | null>(null);
  const [error, setError] = useState<Shown | null>(null);
  const [busy, setBusy] = useState(false);
  const refresh = useCallback(async () => {
    setBusy(true);
    setError(null);
    try {
      setStats(await read());
    } catch (e) {
      setError(describeError(e));
    } finally {
      setBusy(false);
    }
  }, [read]);
  useEffect(() => {
    void refresh();
  }, [refresh]);
  return (
    <section className="panel" aria-labelledby="stats-title">
      <div className="row">
        <h2 id="stats-title" style={{ flex: 1 }}>
          {title}
        </h2>
        <button
          type="button"
          className="secondary small"
          onClick={() => {
            void refresh();
            onRefresh?.();
          }}
          disabled={busy}
          data-testid="refresh-stats"
        >
          {busy ? 'Loading…' : 'Refresh'}
        </button>
      </div>
      <ErrorBox error={error} />
      {stats && <StatsCharts stats={stats} />}
    </section>
  );
}

export function Activity({ client, credentials }: { client: LatchkeyClient; credentials: Credentials }) {
  const [chains, setChains] = useState<string[]>([]);
  useEffect(() => {
    loadChains(client).then(
      (list) => setChains(list.map((c) => c.id)),
      () => setChains([]),
    );
  }, [client]);
  const readStats = useCallback(() => orgGet<Stats>(credentials, '/api/stats'), [credentials]);
  const loadTransactions = useCallback(
    (f: TransactionFilters) =>
      orgGet<Transaction[]>(
        credentials,
        `/api/transactions${query({ status: f.status, chain: f.chain, walletAddress: f.walletAddress, limit: 200 })}`,
      ),
    [credentials],
  );
  const [version, setVersion] = useState(0);
  return (
    <>
      <StatsPanel read={readStats} title="Activity" onRefresh={() => setVersion((v) => v + 1)} />
      <Transactions chains={chains} load={loadTransactions} version={version} />
    </>
  );
}
