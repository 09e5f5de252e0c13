// A small modal that asks for the owner's PIN, runs one owner-signed action with it, and
// forgets it. The PIN lives in this component's state only while the dialog is open.

import { useEffect, useId, useRef, useState } from 'react';
import { describeError, ErrorBox, type Shown } from './ErrorBox';

export interface PinDialogProps {
  title: string;
  description: React.ReactNode;
  confirmLabel: string;
  /** Runs with the PIN; resolving closes the dialog. */
  onConfirm(pin: string): Promise<void>;
  onClose(): void;
}

export function PinDialog({ title, description, confirmLabel, onConfirm, onClose }: PinDialogProps) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [pin, setPin] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Shown | null>(null);
  const titleId = useId();
  const pinId = useId();

  useEffect(() => {
    const element = dialog.current;
    if (element && !element.open) element.showModal();
    return () => element?.close();
  }, []);

  async function submit(event: React.FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await onConfirm(pin);
      setPin('');
      onClose();
    } catch (e) {
      setError(describeError(e));
      setBusy(false);
    }
  }

  return (
    <dialog
      ref={dialog}
      aria-labelledby={titleId}
      data-testid="pin-dialog"
      onCancel={(event) => {
        // Escape closes, except while the transaction is on its way.
        event.preventDefault();
        if (!busy) onClose();
      }}
    >
      <form onSubmit={submit}>
        <h2 id={titleId}>{title}</h2>
        <p className="muted">{description}</p>
        <ErrorBox error={error} />
        <label htmlFor={pinId}>
          Owner PIN
          <span className="hint">Decrypts the owner key in this browser, to sign once.</span>
        </label>
        <input
          id={pinId}
          className="pin"
          type="password"
          inputMode="numeric"
          autoComplete="off"
          autoFocus
          required
          data-testid="owner-pin"
          value={pin}
          onChange={(e) => setPin(e.target.value)}
          disabled={busy}
        />
        <p className="status-line" aria-live="polite">
          {busy ? 'Unlocking the owner key and waiting for the transaction…' : ''}
        </p>
        <div className="actions">
          <button type="button" className="secondary" onClick={onClose} disabled={busy}>
            Cancel
          </button>
          <button type="submit" className="danger" disabled={busy || pin.length === 0} data-testid="confirm">
            {busy ? 'Signing…' : confirmLabel}
          </button>
        </div>
      </form>
    </dialog>
  );
}
