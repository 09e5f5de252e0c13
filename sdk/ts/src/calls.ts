/**
 * Calls and executions as the native API takes and answers them, and the checks made
 * on what a server prepared before anything is signed: shared by the clients and the
 * session entry.
 */
import { LatchkeyError, isKnownCode } from './errors.js';

/** One call: the target and an entrypoint name or a selector. */
export interface Call {
  to: string;
  entrypoint?: string;
  selector?: string;
  calldata?: string[];
}

/** An execution accepted by the server; with `wait` its final status. */
export interface Execution {
  requestId: string;
  transactionHash: string;
  /** `submitted`, or final: `succeeded`, `reverted`, `rejected`, `expired`. */
  status: string;
  errorCode?: string;
  errorMessage?: string;
}

/** One call with every felt normalised (minimal lowercase hex). */
export interface CallFelts {
  to: string;
  selector: string;
  calldata: string[];
}

/**
 * `call` with its felts normalised by `felt` and its entrypoint name hashed by
 * `selectorOf`; `INVALID_INPUT` without a target or with both or neither of
 * `entrypoint` and `selector`.
 */
export function callFelts(call: Call, i: number, felt: (text: string) => string, selectorOf: (name: string) => string): CallFelts {
  if (call === null || typeof call !== 'object' || typeof call.to !== 'string') {
    throw new LatchkeyError('INVALID_INPUT', `Invalid input: calls[${i}] needs a "to" address.`);
  }
  const hasEntry = typeof call.entrypoint === 'string' && call.entrypoint !== '';
  const hasSelector = typeof call.selector === 'string' && call.selector !== '';
  if (hasEntry === hasSelector) {
    throw new LatchkeyError('INVALID_INPUT', `Invalid input: calls[${i}] needs exactly one of entrypoint or selector.`);
  }
  return {
    to: felt(call.to),
    selector: hasEntry ? selectorOf(call.entrypoint as string) : felt(call.selector as string),
    calldata: (call.calldata ?? []).map((c) => felt(String(c))),
  };
}

/** Whether two lists of normalised calls are the same. */
export function sameCalls(a: CallFelts[], b: CallFelts[]): boolean {
  return (
    a.length === b.length &&
    a.every(
      (x, i) =>
        x.to === b[i].to &&
        x.selector === b[i].selector &&
        x.calldata.length === b[i].calldata.length &&
        x.calldata.every((c, j) => c === b[i].calldata[j]),
    )
  );
}

/** The refusal of what a server prepared: nothing is signed. */
export function unexpected(what: string): LatchkeyError {
  return new LatchkeyError('UNEXPECTED_TYPED_DATA', `The server prepared something other than what was asked: ${what}. Nothing was signed.`);
}

/** Throws unless the execution's final status is `succeeded`. */
export function expectSucceeded(execution: Execution, what: string): Execution {
  if (execution.status === 'succeeded') return execution;
  const serverCode = execution.errorCode ?? execution.status.toUpperCase();
  const code = isKnownCode(serverCode) ? serverCode : 'API_ERROR';
  const reason = execution.errorMessage ? `: ${execution.errorMessage}` : '';
  throw new LatchkeyError(code, `${what} ${execution.status} (${serverCode})${reason}`, { serverCode, execution });
}
