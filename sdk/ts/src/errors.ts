/**
 * One error type for the whole SDK: a stable string `code`, a stable `numericCode`, and
 * for HTTP failures the `status` and the server's own code. Messages never carry a PIN,
 * a private key or a ciphertext.
 */

/** Stable numeric codes (shared with the WebAssembly core; a number never changes meaning). */
export const ErrorCodes = Object.freeze({
  SESSION_EXPIRED: 1,
  SESSION_NOT_REGISTERED: 2,
  SESSION_REVOKED: 3,
  SESSION_MAX_CALLS_EXCEEDED: 4,
  SESSION_ENTRYPOINT_NOT_ALLOWED: 5,
  SESSION_DECRYPTION_FAILED: 6,
  SESSION_CREATION_FAILED: 7,
  SESSION_INVALID_RESPONSE: 8,
  INVALID_SPENDING_POLICY: 9,
  INVALID_WALLET_TYPE_FOR_SESSION: 10,
  WEAK_PIN: 100,
  OWNER_KEY_DECRYPTION_FAILED: 101,
  INVALID_TYPED_DATA: 102,
  SIGNING_FAILED: 103,
  INVALID_INPUT: 104,
  INSUFFICIENT_ENTROPY: 200,
  KEY_CREATION_FAILED: 201,
  ENCRYPTION_FAILED: 202,
  INVALID_ENCRYPTED_KEY: 203,
  NOT_INITIALIZED: 204,
  SESSION_LOCKED: 205,
  UNEXPECTED_TYPED_DATA: 206,
  OPRF_REQUIRED: 207,
  INVALID_OPRF_ELEMENT: 208,
  API_ERROR: 300,
  NETWORK_ERROR: 301,
  RATE_LIMITED: 302,
  DAILY_QUOTA_EXHAUSTED: 303,
  WALLET_COOLING_DOWN: 304,
  TOO_MANY_SIMULATIONS: 305,
  SIMULATION_TIMEOUT: 306,
  NOT_SPONSORED: 307,
  MAX_FEE_EXCEEDED: 308,
  REQUEST_CONFLICT: 309,
  SESSION_KEY_REVOKED: 310,
  ALLOWLIST_REQUIRED: 311,
  SESSION_TOO_LONG: 312,
  SELF_CALL_NOT_ALLOWED: 313,
  INVALID_PROOF: 314,
  PIN_LOCKED: 315,
  UNKNOWN_OPRF_KEY: 316,
} as const);

export type ErrorCodeName = keyof typeof ErrorCodes;

export interface LatchkeyErrorDetails {
  status?: number;
  serverCode?: string;
  retryAfterSeconds?: number;
  attemptsRemaining?: number;
  lockedUntil?: number;
  execution?: unknown;
  cause?: unknown;
}

/** Every error the SDK throws. */
export class LatchkeyError extends Error {
  override readonly name = 'LatchkeyError' as const;
  /** Stable string code (`SESSION_EXPIRED`, `API_ERROR`, …). */
  code: string;
  /** Stable number of `code` (see `ErrorCodes`); undefined only for codes outside the table. */
  numericCode?: number;
  /** HTTP status, for errors answered by a server. */
  status?: number;
  /** The server's own error code (e.g. `SESSION_NOT_FOUND`), for errors answered by a server. */
  serverCode?: string;
  /** The final execution, when an execution did not succeed. */
  execution?: unknown;
  /** Seconds to wait before retrying, when the server said so (`Retry-After`, e.g. on 429 RATE_LIMITED, 423 PIN_LOCKED). */
  retryAfterSeconds?: number;
  /** After a wrong PIN checked by the server: attempts left before the wallet's PIN unlock locks. */
  attemptsRemaining?: number;
  /** Unix seconds until which the wallet's PIN unlock is locked (PIN_LOCKED, or the wrong PIN that started a lock). */
  lockedUntil?: number;

  constructor(code: string, message: string, details: LatchkeyErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    const numeric = (ErrorCodes as Record<string, number>)[code];
    if (numeric !== undefined) this.numericCode = numeric;
    if (details.status !== undefined) this.status = details.status;
    if (details.serverCode !== undefined) this.serverCode = details.serverCode;
    if (details.execution !== undefined) this.execution = details.execution;
    if (details.retryAfterSeconds !== undefined) this.retryAfterSeconds = details.retryAfterSeconds;
    if (details.attemptsRemaining !== undefined) this.attemptsRemaining = details.attemptsRemaining;
    if (details.lockedUntil !== undefined) this.lockedUntil = details.lockedUntil;
  }

  toJSON(): Record<string, unknown> {
    const out: Record<string, unknown> = { name: this.name, code: this.code, message: this.message };
    if (this.numericCode !== undefined) out.numericCode = this.numericCode;
    if (this.status !== undefined) out.status = this.status;
    if (this.serverCode !== undefined) out.serverCode = this.serverCode;
    if (this.retryAfterSeconds !== undefined) out.retryAfterSeconds = this.retryAfterSeconds;
    if (this.attemptsRemaining !== undefined) out.attemptsRemaining = this.attemptsRemaining;
    if (this.lockedUntil !== undefined) out.lockedUntil = this.lockedUntil;
    return out;
  }
}

export function isLatchkeyError(e: unknown): e is LatchkeyError {
  return e instanceof LatchkeyError;
}

/** Whether `code` is one of the SDK's stable codes. */
export function isKnownCode(code: string | undefined | null): code is ErrorCodeName {
  return typeof code === 'string' && Object.prototype.hasOwnProperty.call(ErrorCodes, code);
}

/** Converts anything thrown by the WebAssembly core into a `LatchkeyError`. */
export function fromWasm(e: unknown): LatchkeyError {
  if (e instanceof LatchkeyError) return e;
  if (e instanceof Error && e.name === 'LatchkeyError') {
    const code = String((e as Error & { code?: unknown }).code ?? 'INVALID_INPUT');
    return new LatchkeyError(code, e.message);
  }
  // A trap inside the module (out of memory, …) carries no secret, but keep it generic.
  const message = e instanceof Error ? e.message : 'unknown failure';
  return new LatchkeyError('SIGNING_FAILED', `WebAssembly failure: ${message}`);
}

/** Runs `f`, rethrowing any failure as a `LatchkeyError`. */
export function guard<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw fromWasm(e);
  }
}

const DECRYPTION_FAILURES = ['SESSION_DECRYPTION_FAILED', 'OWNER_KEY_DECRYPTION_FAILED'];

/** A key that did not open after an evaluation: the same code, with the attempts left. */
export function explainWrongPin(e: unknown, evaluation: { attemptsRemaining: number; lockedUntil?: number }): unknown {
  if (!(e instanceof LatchkeyError) || !DECRYPTION_FAILURES.includes(e.code)) return e;
  const left = evaluation.attemptsRemaining;
  const lockedUntil = evaluation.lockedUntil;
  const lock =
    lockedUntil !== undefined
      ? ` The wallet's PIN unlock is locked until ${new Date(lockedUntil * 1000).toISOString()}.`
      : ` ${left} attempt${left === 1 ? '' : 's'} left before the wallet's PIN unlock locks.`;
  const details: { attemptsRemaining: number; lockedUntil?: number; cause: unknown } = { attemptsRemaining: left, cause: e };
  if (lockedUntil !== undefined) details.lockedUntil = lockedUntil;
  return new LatchkeyError(e.code, `${e.message}${lock}`, details);
}
