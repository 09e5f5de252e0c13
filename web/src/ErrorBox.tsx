// How every failure is shown: the SDK's stable error code, then its message.

import { isLatchkeyError } from '@latchkey/sdk';

export interface Shown {
  code: string;
  message: string;
}

/** The code and message of anything thrown. SDK messages never contain secrets. */
export function describeError(error: unknown): Shown {
  if (isLatchkeyError(error)) {
    const code =
      error.serverCode && error.serverCode !== error.code
        ? `${error.code} (${error.serverCode})`
        : error.code;
    return { code, message: error.message };
  }
  if (error instanceof Error) return { code: error.name || 'ERROR', message: error.message };
  return { code: 'ERROR', message: String(error) };
}

export function ErrorBox({ error, onDismiss }: { error: Shown | null; onDismiss?: () => void }) {
  if (!error) return null;
  return (
    <div className="error row" role="alert">
      <p data-testid="error" style={{ flex: 1, margin: 0 }}>
        <strong>{error.code}</strong> {error.message}
      </p>
      {onDismiss && (
        <button type="button" className="secondary small" onClick={onDismiss}>
          Dismiss
        </button>
      )}
    </div>
  );
}
