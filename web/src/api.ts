// Calls to the routes the SDK does not wrap: the organisation's statistics and filtered
// transactions (with its API keys) and the operator's admin API (with the operator token).
// Failures carry the server's stable code as their name, so ErrorBox shows it.

import type { Credentials } from './auth';

/** A refusal or failure of the API: `name` is the server's code. */
export class ApiFailure extends Error {
  readonly status: number;
  constructor(code: string, message: string, status: number) {
    super(message);
    this.name = code;
    this.status = status;
  }
}

async function request<T>(path: string, headers: Record<string, string>, init: RequestInit = {}): Promise<T> {
  const response = await fetch(path, {
    ...init,
    headers: { ...headers, ...(init.body ? { 'content-type': 'application/json' } : {}) },
  });
  const text = await response.text();
  let body: unknown = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (!response.ok) {
    const error = (body ?? {}) as { code?: string; message?: string };
    throw new ApiFailure(error.code ?? `HTTP_${response.status}`, error.message ?? response.statusText, response.status);
  }
  return body as T;
}

/** A query string of the values that are set. */
export function query(params: Record<string, string | number | undefined | null>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '') search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

/** GET with the organisation's keys. */
export function orgGet<T>(credentials: Credentials, path: string): Promise<T> {
  return request<T>(path, {
    'x-api-key': credentials.publicKey,
    authorization: `Bearer ${credentials.secretKey}`,
  });
}

/** A call to the admin API with the operator token. */
export function admin<T>(token: string, method: string, path: string, body?: unknown): Promise<T> {
  return request<T>(`/api/admin${path}`, { authorization: `Bearer ${token}` }, {
    method,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

// The API's documents, as the OpenAPI document describes them.

export interface HourOutcomes {
  hour: number;
  succeeded: number;
  reverted: number;
  rejected: number;
  expired: number;
  pending: number;
  total: number;
}

export interface DayGas {
  day: string;
  start: number;
  chain: string;
  unit: string;
  amount: string;
  transactions: number;
}

export interface SessionDay {
  day: string;
  start: number;
  created: number;
  revoked: number;
  active: number;
}

export interface BurnPoint {
  day: string;
  start: number;
  remaining: string | null;
  projected: string | null;
}

export interface BudgetBurn {
  chain: string;
  unit: string;
  budget: string;
  spent: string;
  reserved: string;
  remaining: string;
  dailyBurn: string;
  projectedExhaustion: string | null;
  burnDown: BurnPoint[];
}

export interface Stats {
  generatedAt: number;
  executionsByHour: HourOutcomes[];
  sponsoredGasByDay: DayGas[];
  sessions: { created: number; revoked: number; active: number; byDay: SessionDay[] };
  budgets: BudgetBurn[];
}

export interface Transaction {
  id: string;
  chain: string;
  account: string;
  status: string;
  transactionHash: string | null;
  kind: string | null;
  sessionPublicKey?: string;
  purpose: string;
  errorCode: string | null;
  errorMessage: string | null;
  fee: string | null;
  feeUnit: string;
  createdAt: string;
  updatedAt: string;
}

export interface Organization {
  id: string;
  name: string;
  createdAt: number;
  suspended: boolean;
  suspendedAt: number | null;
}

export interface ApiKey {
  id: string;
  kind: 'public' | 'secret';
  prefix: string;
  createdAt: number;
  revokedAt: number | null;
  expiresAt: number | null;
  active: boolean;
}

export interface GasBudget {
  chain: string;
  unit: string;
  budget: string;
  spent: string;
  reserved: string;
  remaining: string;
  /** Alert when less than this is left; null without a threshold. */
  alertThreshold?: string | null;
  /** Whether less than the threshold is left. */
  alerting?: boolean;
}

export interface AuditRecord {
  seq: number;
  at: number;
  actor: string;
  action: string;
  target: string;
  before: unknown;
  after: unknown;
}

export interface ChainRelayers {
  chain: string;
  unit: string;
  up: boolean;
  relayers: { address: string; nonce: number | null; funds: string | null }[];
}

/** Every status a transaction may have, in lifecycle order. */
export const STATUSES = [
  'prepared',
  'recorded',
  'submitting',
  'submitted',
  'pre_confirmed',
  'accepted',
  'succeeded',
  'reverted',
  'rejected',
  'expired',
] as const;

/** `amount` (decimal text) of a fee unit with 18 decimals (FRI, WEI) as tokens, for display. */
export function tokens(amount: string | null | undefined): number {
  if (!amount) return 0;
  return Number(amount) / 1e18;
}

/** The token a fee unit is a fraction of. */
export function tokenOf(unit: string): string {
  return unit === 'FRI' ? 'STRK' : unit === 'WEI' ? 'ETH' : unit;
}

/** Tokens as text (`1.5`) into the fee unit's decimal text, exactly; null when malformed. */
export function toUnits(text: string): string | null {
  const match = /^(\d+)(?:\.(\d{1,18}))?$/.exec(text.trim());
  if (!match) return null;
  const whole = BigInt(match[1]) * 10n ** 18n;
  const fraction = BigInt((match[2] ?? '').padEnd(18, '0') || '0');
  return (whole + fraction).toString();
}
