// Sign-in with the organisation's API keys. The keys are checked against the server
// (listing wallets) before they are kept.

import { useId, useState } from 'react';
import { clientFor, useAuth } from './auth';
import { describeError, ErrorBox, type Shown } from './ErrorBox';

export function SignIn() {
  const { signIn } = useAuth();
  const [publicKey, setPublicKey] = useState('');
  const [secretKey, setSecretKey] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Shown | null>(null);
  const publicId = useId();
  const secretId = useId();

  async function submit(event: React.FormEvent) {
    event.preventDefault();
    const credentials = { publicKey: publicKey.trim(), secretKey: secretKey.trim() };
    setBusy(true);
    setError(null);
    try {
      await clientFor(credentials).listWallets();
      signIn(credentials);
    } catch (e) {
      setError(describeError(e));
      setBusy(false);
    }
  }

  return (
    <section className="panel" aria-labelledby="sign-in-title" style={{ maxWidth: '40rem' }}>
      <h2 id="sign-in-title">Sign in</h2>
      <p className="muted">
        Use your organisation's API keys. <code>latchkey serve</code> prints the development
        organisation's keys when it starts. They stay in this browser tab only and are forgotten
        when you sign out or close it.
      </p>
      <ErrorBox error={error} />
      <form className="stack" onSubmit={submit}>
        <div>
          <label htmlFor={publicId}>Public key</label>
          <input
            id={publicId}
            type="text"
            data-testid="public-key"
            placeholder="pk_…"
            autoComplete="off"
            spellCheck={false}
            required
            value={publicKey}
            onChange={(e) => setPublicKey(e.target.value)}
          />
        </div>
        <div>
          <label htmlFor={secretId}>Secret key</label>
          <input
            id={secretId}
            type="password"
            data-testid="secret-key"
            placeholder="sk_…"
            autoComplete="off"
            spellCheck={false}
            required
            value={secretKey}
            onChange={(e) => setSecretKey(e.target.value)}
          />
        </div>
        <div className="row">
          <button type="submit" data-testid="sign-in" disabled={busy || !publicKey || !secretKey}>
            {busy ? 'Signing in…' : 'Sign in'}
          </button>
          <span className="status-line" aria-live="polite">
            {busy ? 'Checking the keys…' : ''}
          </span>
        </div>
      </form>
    </section>
  );
}
