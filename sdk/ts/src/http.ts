/** The HTTP layer shared by both clients: headers, JSON, and errors as `LatchkeyError`. */
import { LatchkeyError, isKnownCode, type LatchkeyErrorDetails } from './errors.js';

export type FetchLike = typeof fetch;
export type TokenSource = () => Promise<string | null | undefined>;

export interface HttpOptions {
  base: string;
  publicKey: string;
  secretKey?: string;
  getBearerToken?: TokenSource;
  fetch?: FetchLike;
  /** Query parameters added to every request. */
  query?: Record<string, string>;
}

/** A server error body: `{ message, code, status }` (native) or `{ message, code? }` (Chipi). */
interface ErrorBody {
  message?: unknown;
  code?: unknown;
  status?: unknown;
}

export class Http {
  readonly base: string;
  readonly #publicKey: string;
  readonly #secretKey: string | undefined;
  readonly #getBearerToken: TokenSource | undefined;
  readonly #fetch: FetchLike;
  readonly #query: Record<string, string>;

  constructor(opts: HttpOptions) {
    if (typeof opts.publicKey !== 'string' || opts.publicKey === '') {
      throw new LatchkeyError('INVALID_INPUT', 'Invalid input: the public API key (pk_…) is required.');
    }
    this.base = opts.base.replace(/\/+$/, '');
    this.#publicKey = opts.publicKey;
    this.#secretKey = opts.secretKey;
    this.#getBearerToken = opts.getBearerToken;
    const f = opts.fetch ?? (globalThis.fetch as FetchLike | undefined);
    if (typeof f !== 'function') {
      throw new LatchkeyError('INVALID_INPUT', 'Invalid input: no fetch implementation is available.');
    }
    // A browser's fetch must be called with `this` = the global object ("Illegal
    // invocation" otherwise), so the default is bound; a given one is called as a plain
    // function.
    this.#fetch = opts.fetch ? (input, init) => f(input, init) : f.bind(globalThis);
    this.#query = opts.query ?? {};
  }

  get publicKey(): string {
    return this.#publicKey;
  }

  /** @internal For a sibling client on the same server. */
  get secretKey(): string | undefined {
    return this.#secretKey;
  }

  /** @internal */
  get tokenSource(): TokenSource | undefined {
    return this.#getBearerToken;
  }

  /** @internal */
  get fetcher(): FetchLike {
    return this.#fetch;
  }

  get hasBearer(): boolean {
    return this.#secretKey !== undefined || this.#getBearerToken !== undefined;
  }

  async #authorization(): Promise<string | undefined> {
    if (this.#getBearerToken) {
      const token = await this.#getBearerToken();
      if (token) return `Bearer ${token}`;
    }
    return this.#secretKey === undefined ? undefined : `Bearer ${this.#secretKey}`;
  }

  url(path: string): string {
    const url = `${this.base}${path}`;
    const extra = Object.entries(this.#query);
    if (extra.length === 0) return url;
    const qs = extra.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
    return `${url}${url.includes('?') ? '&' : '?'}${qs}`;
  }

  /** Sends a request; returns the parsed JSON (undefined for an empty body) and the status. */
  async send<T>(method: string, path: string, body?: unknown): Promise<{ status: number; data: T }> {
    const headers: Record<string, string> = { accept: 'application/json', 'x-api-key': this.#publicKey };
    const auth = await this.#authorization();
    if (auth) headers.authorization = auth;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await this.#fetch(this.url(path), {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (e) {
      throw new LatchkeyError('NETWORK_ERROR', `${method} ${path}: the server could not be reached.`, { cause: e });
    }
    const text = await response.text().catch(() => '');
    let data: unknown = undefined;
    if (text !== '') {
      try {
        data = JSON.parse(text);
      } catch {
        if (response.ok) {
          throw new LatchkeyError('NETWORK_ERROR', `${method} ${path}: the server did not answer in JSON (HTTP ${response.status}).`, {
            status: response.status,
          });
        }
      }
    }
    if (!response.ok) throw apiError(method, path, response.status, data, retryAfter(response));
    return { status: response.status, data: data as T };
  }

  async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    return (await this.send<T>(method, path, body)).data;
  }
}

/** The `Retry-After` of an answer in seconds (the delta-seconds form), if any. */
function retryAfter(response: Response): number | undefined {
  const text = response.headers?.get?.('retry-after');
  if (!text || !/^\d{1,9}$/.test(text.trim())) return undefined;
  return Number(text.trim());
}

/** The error for an HTTP failure: the server's code when the SDK knows it, else API_ERROR. */
export function apiError(
  method: string,
  path: string,
  status: number,
  data: unknown,
  retryAfterSeconds?: number,
): LatchkeyError {
  const body = (data && typeof data === 'object' ? data : {}) as ErrorBody;
  const serverCode = typeof body.code === 'string' && body.code !== '' ? body.code : `HTTP_${status}`;
  const message = typeof body.message === 'string' && body.message !== '' ? body.message : `HTTP ${status}`;
  const code = isKnownCode(serverCode) ? serverCode : 'API_ERROR';
  const details: LatchkeyErrorDetails = { status, serverCode };
  if (retryAfterSeconds !== undefined) {
    details.retryAfterSeconds = retryAfterSeconds;
    // A locked PIN unlock says for how long: from now, when it lifts.
    if (serverCode === 'PIN_LOCKED') details.lockedUntil = Math.floor(Date.now() / 1000) + retryAfterSeconds;
  }
  return new LatchkeyError(code, `${method} ${path} failed (${status} ${serverCode}): ${message}`, details);
}

export function enc(segment: string): string {
  return encodeURIComponent(segment);
}
