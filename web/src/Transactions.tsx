// The transactions view: every execution with its status, fee, who signed it and why it
// was refused, filtered by status, chain and wallet on the server.

import { useCallback, useEffect, useId, useState } from 'react';
import { STATUSES, type Transaction } from './api';
import { describeError, ErrorBox, type Shown } from './ErrorBox';
import { shortHex } from './format';

export interface TransactionFilters {
  status: string;
  chain: string;
  walletAddress: string;
}

function signer(t: Transaction): string {
  if (t.kind === 'session' && t.sessionPublicKey) return `session ${shortHex(t.sessionPublicKey)}`;
  return t.kind ?? '—';
}

export function Transactions({
  chains,
  load,
  version = 0,
}: {
  chains: string[];
  load(filters: TransactionFilters): Promise<Transaction[]>;
  /** Changing it reads the list again (with the filters applied). */
  version?: number;
}) {
  const [filters, setFilters] = useState<TransactionFilters>({ status: '', chain: '', walletAddress: '' });
  const [applied, setApplied] = useState(filters);
  const [rows, setRows] = useState<Transaction[] | null>(null);
  const [error, setError] = useState<Shown | null>(null);
  const [busy, setBusy] = useState(false);
  const statusId = useId();
  const chainId = useId();
  const walletId = useId();

  const refresh = useCallback(async () => {
    setBusy(true);
    setError(null);
    try {
      setRows(await load(applied));
    } catch (e) {
      setError(describeError(e));
    } finally {
      setBusy(false);
    }
  }, [load, applied]);

  useEffect(() => {
    void refresh();
  }, [refresh, version]);

  return (
    <section className="panel" aria-labelledby="transactions-title" data-testid="transactions">
      <div className="row">
        <h2 id="transactions-title" style={{ flex: 1 }}>
          Transactions
        </h2>
        <button type="button" className="secondary small" onClick={() => void refresh()} disabled={busy}>
          {busy ? 'Loading…' : 'Refresh'}
        </button>
      </div>
      <form
        className="row filters"
        onSubmit={(e) => {
          e.preventDefault();
          setApplied({ ...filters, walletAddress: filters.walletAddress.trim() });
        }}
      >
        <div>
          <label htmlFor={statusId}>Status</label>
          <select
            id={statusId}
            data-testid="filter-status"
            value={filters.status}
            onChange={(e) => setFilters({ ...filters, status: e.target.value })}
          >
            <option value="">any</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label htmlFor={chainId}>Chain</label>
          <select
            id={chainId}
            data-testid="filter-chain"
            value={filters.chain}
            onChange={(e) => setFilters({ ...filters, chain: e.target.value })}
          >
            <option value="">any</option>
            {chains.map((c) => (
              <option key={c} value={c}>
                {c}
              </option>
            ))}
          </select>
        </div>
        <div style={{ flex: 1 }}>
          <label htmlFor={walletId}>Wallet</label>
          <input
            id={walletId}
            type="text"
            data-testid="filter-wallet"
            placeholder="0x… (any)"
            autoComplete="off"
            spellCheck={false}
            value={filters.walletAddress}
            onChange={(e) => setFilters({ ...filters, walletAddress: e.target.value })}
          />
        </div>
        <button type="submit" data-testid="apply-filters">
          Filter
        </button>
      </form>
      <ErrorBox error={error} />
      {rows && rows.length === 0 && <p className="muted">No transactions match.</p>}
      {rows && rows.length > 0 && (
        <div className="table-wrap">
          <table data-testid="transactions-table" data-count={rows.length}>
            <thead>
              <tr>
                <th>Created</th>
                <th>Status</th>
                <th>Chain</th>
                <th>Wallet</th>
                <th>Signed by</th>
                <th>Fee</th>
                <th>Why refused</th>
                <th>Transaction</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((t) => (
                <tr key={t.id} data-testid="transaction-row" data-status={t.status} data-chain={t.chain}>
                  <td className="nowrap">{new Date(t.createdAt).toLocaleString()}</td>
                  <td>
                    <span className={`state state-${t.status}`} data-testid="transaction-status">
                      {t.status}
                    </span>
                  </td>
                  <td className="nowrap">{t.chain}</td>
                  <td>
                    <code title={t.account}>{shortHex(t.account)}</code>
                  </td>
                  <td data-testid="transaction-signer">{signer(t)}</td>
                  <td className="mono nowrap">{t.fee === null ? '—' : `${t.fee} ${t.feeUnit}`}</td>
                  <td data-testid="transaction-error">
                    {t.errorCode ? (
                      <>
                        <strong>{t.errorCode}</strong> {t.errorMessage}
                      </>
                    ) : (
                      ''
                    )}
                  </td>
                  <td>{t.transactionHash ? <code title={t.transactionHash}>{shortHex(t.transactionHash)}</code> : '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
