// The charts of an organisation's statistics, drawn by Recharts from what the API
// computed (`GET /api/stats`, or the operator's `…/organizations/{id}/stats`). Each chart
// carries its totals as data attributes and its numbers in a table beneath it.

import {
  Bar,
  BarChart,
  CartesianGrid,
  Legend,
  Line,
  LineChart,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from 'recharts';
import { tokenOf, tokens, type BudgetBurn, type Stats } from './api';

const COLORS = {
  succeeded: '#1f8a4c',
  reverted: '#c27c0e',
  rejected: '#b3261e',
  expired: '#6b7280',
  pending: '#3b6fd8',
  created: '#3b6fd8',
  revoked: '#b3261e',
  active: '#1f8a4c',
};
const CHAIN_COLORS = ['#6d4aff', '#0f9d9a', '#d9480f', '#3b6fd8'];
const OUTCOMES = ['succeeded', 'reverted', 'rejected', 'expired', 'pending'] as const;

function hourLabel(unix: number): string {
  return new Date(unix * 1000).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
}

function Figure({
  title,
  testId,
  data,
  children,
  table,
}: {
  title: string;
  testId: string;
  data: Record<string, string | number>;
  children: React.ReactElement;
  table: React.ReactNode;
}) {
  const attributes = Object.fromEntries(Object.entries(data).map(([k, v]) => [`data-${k}`, String(v)]));
  return (
    <figure className="chart" data-testid={testId} {...attributes}>
      <figcaption>{title}</figcaption>
      <div className="chart-area">
        <ResponsiveContainer width="100%" height={220}>
          {children}
        </ResponsiveContainer>
      </div>
      <details>
        <summary>Data</summary>
        <div className="table-wrap">{table}</div>
      </details>
    </figure>
  );
}

function ExecutionsChart({ stats }: { stats: Stats }) {
  const rows = stats.executionsByHour.map((h) => ({ ...h, label: hourLabel(h.hour) }));
  const sum = (key: (typeof OUTCOMES)[number] | 'total') => rows.reduce((n, r) => n + r[key], 0);
  return (
    <Figure
      title="Executions per hour, by outcome"
      testId="chart-executions"
      data={{ total: sum('total'), succeeded: sum('succeeded'), rejected: sum('rejected'), pending: sum('pending') }}
      table={
        <table>
          <thead>
            <tr>
              <th>Hour</th>
              {OUTCOMES.map((o) => (
                <th key={o}>{o}</th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows
              .filter((r) => r.total > 0)
              .map((r) => (
                <tr key={r.hour} data-testid="executions-row">
                  <td>{r.label}</td>
                  {OUTCOMES.map((o) => (
                    <td key={o} data-outcome={o}>
                      {r[o]}
                    </td>
                  ))}
                </tr>
              ))}
          </tbody>
        </table>
      }
    >
      <BarChart data={rows}>
        <CartesianGrid strokeDasharray="3 3" vertical={false} />
        <XAxis dataKey="label" fontSize={11} />
        <YAxis allowDecimals={false} fontSize={11} width={32} />
        <Tooltip />
        <Legend />
        {OUTCOMES.map((o) => (
          <Bar key={o} dataKey={o} stackId="outcome" fill={COLORS[o]} isAnimationActive={false} />
        ))}
      </BarChart>
    </Figure>
  );
}

function GasChart({ stats }: { stats: Stats }) {
  const chains = [...new Set(stats.sponsoredGasByDay.map((d) => d.chain))];
  const units = new Map(stats.sponsoredGasByDay.map((d) => [d.chain, d.unit]));
  const days = [...new Set(stats.sponsoredGasByDay.map((d) => d.day))];
  const rows = days.map((day) => {
    const row: Record<string, string | number> = { day };
    for (const d of stats.sponsoredGasByDay.filter((x) => x.day === day)) row[d.chain] = tokens(d.amount);
    return row;
  });
  const transactions = stats.sponsoredGasByDay.reduce((n, d) => n + d.transactions, 0);
  return (
    <Figure
      title="Sponsored gas per day, by chain (in tokens)"
      testId="chart-gas"
      data={{ transactions, chains: chains.join(' ') }}
      table={
        <table>
          <thead>
            <tr>
              <th>Day</th>
              <th>Chain</th>
              <th>Fees</th>
              <th>Transactions</th>
            </tr>
          </thead>
          <tbody>
            {stats.sponsoredGasByDay
              .filter((d) => d.transactions > 0)
              .map((d) => (
                <tr key={`${d.day}-${d.chain}`} data-testid="gas-row" data-chain={d.chain} data-amount={d.amount}>
                  <td>{d.day}</td>
                  <td>{d.chain}</td>
                  <td className="mono">
                    {d.amount} {d.unit}
                  </td>
                  <td>{d.transactions}</td>
                </tr>
              ))}
          </tbody>
        </table>
      }
    >
      <BarChart data={rows}>
        <CartesianGrid strokeDasharray="3 3" vertical={false} />
        <XAxis dataKey="day" fontSize={11} />
        <YAxis fontSize={11} width={56} />
        <Tooltip />
        <Legend />
        {chains.map((chain, i) => (
          <Bar
            key={chain}
            dataKey={chain}
            name={`${chain} (${tokenOf(units.get(chain) ?? '')})`}
            fill={CHAIN_COLORS[i % CHAIN_COLORS.length]}
            isAnimationActive={false}
          />
        ))}
      </BarChart>
    </Figure>
  );
}

function SessionsChart({ stats }: { stats: Stats }) {
  const { sessions } = stats;
  return (
    <Figure
      title="Sessions: created, active, revoked"
      testId="chart-sessions"
      data={{ created: sessions.created, active: sessions.active, revoked: sessions.revoked }}
      table={
        <table>
          <thead>
            <tr>
              <th>Day</th>
              <th>Created</th>
              <th>Active at day end</th>
              <th>Revoked</th>
            </tr>
          </thead>
          <tbody>
            {sessions.byDay.map((d) => (
              <tr key={d.day} data-testid="sessions-row">
                <td>{d.day}</td>
                <td>{d.created}</td>
                <td>{d.active}</td>
                <td>{d.revoked}</td>
              </tr>
            ))}
          </tbody>
        </table>
      }
    >
      <BarChart data={sessions.byDay}>
        <CartesianGrid strokeDasharray="3 3" vertical={false} />
        <XAxis dataKey="day" fontSize={11} />
        <YAxis allowDecimals={false} fontSize={11} width={32} />
        <Tooltip />
        <Legend />
        <Bar dataKey="created" fill={COLORS.created} isAnimationActive={false} />
        <Bar dataKey="active" fill={COLORS.active} isAnimationActive={false} />
        <Bar dataKey="revoked" fill={COLORS.revoked} isAnimationActive={false} />
      </BarChart>
    </Figure>
  );
}

function BurnDownChart({ budget }: { budget: BudgetBurn }) {
  const token = tokenOf(budget.unit);
  const rows = budget.burnDown.map((p) => ({
    day: p.day,
    remaining: p.remaining === null ? null : tokens(p.remaining),
    projected: p.projected === null ? null : tokens(p.projected),
  }));
  return (
    <Figure
      title={`Budget burn-down on ${budget.chain} (${token})`}
      testId="chart-burn-down"
      data={{
        chain: budget.chain,
        remaining: budget.remaining,
        spent: budget.spent,
        'daily-burn': budget.dailyBurn,
        exhaustion: budget.projectedExhaustion ?? 'none',
      }}
      table={
        <table>
          <tbody>
            <tr>
              <th>Budget</th>
              <td className="mono">
                {budget.budget} {budget.unit}
              </td>
            </tr>
            <tr>
              <th>Spent</th>
              <td className="mono">{budget.spent}</td>
            </tr>
            <tr>
              <th>Reserved</th>
              <td className="mono">{budget.reserved}</td>
            </tr>
            <tr>
              <th>Remaining</th>
              <td className="mono">{budget.remaining}</td>
            </tr>
            <tr>
              <th>Daily burn (7-day average)</th>
              <td className="mono">{budget.dailyBurn}</td>
            </tr>
          </tbody>
        </table>
      }
    >
      <LineChart data={rows}>
        <CartesianGrid strokeDasharray="3 3" vertical={false} />
        <XAxis dataKey="day" fontSize={11} />
        <YAxis fontSize={11} width={56} />
        <Tooltip />
        <Legend />
        <Line dataKey="remaining" stroke="#6d4aff" dot={false} isAnimationActive={false} connectNulls />
        <Line
          dataKey="projected"
          stroke="#b3261e"
          strokeDasharray="6 4"
          dot
          isAnimationActive={false}
          connectNulls
        />
      </LineChart>
    </Figure>
  );
}

/** Funds of the relayer accounts, one bar per account. */
export function RelayerFundsChart({ data }: { data: { address: string; funds: number }[] }) {
  return (
    <div className="chart-area" data-testid="chart-relayers">
      <ResponsiveContainer width="100%" height={160}>
        <BarChart data={data}>
          <XAxis dataKey="address" fontSize={10} />
          <YAxis fontSize={11} width={56} />
          <Tooltip />
          <Bar dataKey="funds" fill="#0f9d9a" isAnimationActive={false} />
        </BarChart>
      </ResponsiveContainer>
    </div>
  );
}

export function StatsCharts({ stats }: { stats: Stats }) {
  return (
    <div className="charts" data-testid="stats" data-generated-at={stats.generatedAt}>
      <ExecutionsChart stats={stats} />
      <GasChart stats={stats} />
      <SessionsChart stats={stats} />
      {stats.budgets.map((b) => (
        <div key={`${b.chain}-${b.unit}`}>
          <BurnDownChart budget={b} />
          <p className="muted" data-testid="exhaustion" data-chain={b.chain}>
            {b.projectedExhaustion
              ? `At ${tokens(b.dailyBurn).toPrecision(3)} ${tokenOf(b.unit)} a day, the budget runs out on ${b.projectedExhaustion}.`
              : 'Nothing spent in the last 7 days: no date projected.'}
          </p>
        </div>
      ))}
    </div>
  );
}
