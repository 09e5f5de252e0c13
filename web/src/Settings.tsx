// The organisation's settings, set with its secret key: where its end users' tokens come
// from (the token issuer), which browser origins may use its keys, and what its relayer
// pays for (the sponsorship policy).

import { useCallback, useEffect, useId, useState } from 'react';
import type { AllowedMethodInput, LatchkeyClient, SponsorshipPolicy, SponsorshipPolicyInput } from '@latchkey/sdk';
import { describeError, ErrorBox, type Shown } from './ErrorBox';
import { entrypointName } from './names';

export function Settings({ client }: { client: LatchkeyClient }) {
  return (
    <section className="panel" aria-labelledby="settings-title" data-testid="settings">
      <h2 id="settings-title">Organisation settings</h2>
      <TokenIssuerForm client={client} />
      <OriginsForm client={client} />
      <PolicyForm client={client} />
    </section>
  );
}

/** A labelled one-line text field. */
function Field({
  label,
  hint,
  value,
  onChange,
  testId,
  placeholder,
}: {
  label: string;
  hint?: string;
  value: string;
  onChange(value: string): void;
  testId: string;
  placeholder?: string;
}) {
  const id = useId();
  return (
    <div>
      <label htmlFor={id}>
        {label}
        {hint && <span className="hint">{hint}</span>}
      </label>
      <input
        id={id}
        type="text"
        autoComplete="off"
        spellCheck={false}
        data-testid={testId}
        placeholder={placeholder}
        value={value}
        onChange={(e) => onChange(e.target.value)}
      />
    </div>
  );
}

/** Runs one settings action at a time, with its status line and error. */
function useAction() {
  const [busy, setBusy] = useState(false);
  const [status, setStatus] = useState('');
  const [error, setError] = useState<Shown | null>(null);
  const run = useCallback(async (action: () => Promise<string>) => {
    setBusy(true);
    setError(null);
    setStatus('');
    try {
      setStatus(await action());
    } catch (e) {
      setError(describeError(e));
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, status, error, setError, run };
}

function TokenIssuerForm({ client }: { client: LatchkeyClient }) {
  const [jwksUrl, setJwksUrl] = useState('');
  const [issuer, setIssuer] = useState('');
  const [audience, setAudience] = useState('');
  const [configured, setConfigured] = useState<boolean | null>(null);
  const { busy, status, error, setError, run } = useAction();

  useEffect(() => {
    let live = true;
    client.tokenIssuer().then(
      (current) => {
        if (!live) return;
        setConfigured(current !== null);
        setJwksUrl(current?.jwksUrl ?? '');
        setIssuer(current?.issuer ?? '');
        setAudience(current?.audience ?? '');
      },
      (e) => live && setError(describeError(e)),
    );
    return () => {
      live = false;
    };
  }, [client, setError]);

  const save = (event: React.FormEvent) => {
    event.preventDefault();
    void run(async () => {
      const stored = await client.setTokenIssuer({ jwksUrl: jwksUrl.trim(), issuer: issuer.trim(), audience: audience.trim() });
      setJwksUrl(stored.jwksUrl);
      setIssuer(stored.issuer);
      setAudience(stored.audience);
      setConfigured(true);
      return 'Token issuer saved.';
    });
  };

  const remove = () =>
    run(async () => {
      await client.deleteTokenIssuer();
      setJwksUrl('');
      setIssuer('');
      setAudience('');
      setConfigured(false);
      return 'Token issuer removed: end-user tokens are refused.';
    });

  return (
    <form className="stack" onSubmit={save} data-testid="token-issuer" aria-labelledby="issuer-title">
      <h3 id="issuer-title">End-user token issuer</h3>
      <p className="muted" data-testid="issuer-state">
        {configured === null
          ? 'Loading…'
          : configured
            ? 'End users sign in with tokens from this issuer.'
            : 'None: only the organisation’s API keys are accepted.'}
      </p>
      <ErrorBox error={error} onDismiss={() => setError(null)} />
      <Field label="JWKS URL" value={jwksUrl} onChange={setJwksUrl} testId="issuer-jwks-url" placeholder="https://auth.example.com/.well-known/jwks.json" />
      <Field label="Issuer" hint="The exact iss claim." value={issuer} onChange={setIssuer} testId="issuer-issuer" />
      <Field label="Audience" hint="The aud claim tokens must name." value={audience} onChange={setAudience} testId="issuer-audience" />
      <div className="row">
        <button type="submit" data-testid="issuer-save" disabled={busy || !jwksUrl || !issuer || !audience}>
          Save issuer
        </button>
        <button type="button" className="danger" data-testid="issuer-remove" onClick={() => void remove()} disabled={busy || !configured}>
          Remove
        </button>
        <span className="status-line" aria-live="polite" data-testid="issuer-status">
          {status}
        </span>
      </div>
    </form>
  );
}

function OriginsForm({ client }: { client: LatchkeyClient }) {
  const [text, setText] = useState('');
  const { busy, status, error, setError, run } = useAction();

  useEffect(() => {
    let live = true;
    client.allowedOrigins().then(
      (origins) => live && setText(origins.join('\n')),
      (e) => live && setError(describeError(e)),
    );
    return () => {
      live = false;
    };
  }, [client, setError]);

  const save = (event: React.FormEvent) => {
    event.preventDefault();
    void run(async () => {
      const asked = text.split(/[\s,]+/).filter((origin) => origin.length > 0);
      const stored = await client.setAllowedOrigins(asked);
      setText(stored.join('\n'));
      return stored.length === 0 ? 'No browser origin allowed.' : `${stored.length} origin(s) allowed.`;
    });
  };

  return (
    <form className="stack" onSubmit={save} data-testid="origins" aria-labelledby="origins-title">
      <h3 id="origins-title">Allowed browser origins</h3>
      <p className="muted">
        Apps on these origins may call the API from the browser with this organisation’s keys; one per line,
        exactly as the browser shows it (<code>https://app.example</code>, <code>http://localhost:3000</code>). None
        by default.
      </p>
      <ErrorBox error={error} onDismiss={() => setError(null)} />
      <textarea
        aria-labelledby="origins-title"
        data-testid="origins-list"
        rows={3}
        spellCheck={false}
        value={text}
        onChange={(e) => setText(e.target.value)}
      />
      <div className="row">
        <button type="submit" data-testid="origins-save" disabled={busy}>
          Save origins
        </button>
        <span className="status-line" aria-live="polite" data-testid="origins-status">
          {status}
        </span>
      </div>
    </form>
  );
}

interface PolicyFields {
  methods: string;
  maxFeePerTxFri: string;
  dailyGasPerWalletFri: string;
  dailyGasPerUserFri: string;
  maxFeePerTxWei: string;
  dailyGasPerWalletWei: string;
  dailyGasPerUserWei: string;
  revertCooldownAfter: string;
  revertCooldownSeconds: string;
}

function fieldsOf(policy: SponsorshipPolicy): PolicyFields {
  return {
    methods: policy.allowedMethods.map((m) => `${m.contract} ${entrypointName(m.selector)}`).join('\n'),
    maxFeePerTxFri: policy.maxFeePerTxFri ?? '',
    dailyGasPerWalletFri: policy.dailyGasPerWalletFri ?? '',
    dailyGasPerUserFri: policy.dailyGasPerUserFri ?? '',
    maxFeePerTxWei: policy.maxFeePerTxWei ?? '',
    dailyGasPerWalletWei: policy.dailyGasPerWalletWei ?? '',
    dailyGasPerUserWei: policy.dailyGasPerUserWei ?? '',
    revertCooldownAfter: String(policy.revertCooldownAfter),
    revertCooldownSeconds: String(policy.revertCooldownSeconds),
  };
}

/** The policy to send; an empty amount is no limit, an empty count the server's default. */
function policyOf(fields: PolicyFields): SponsorshipPolicyInput {
  const allowedMethods: AllowedMethodInput[] = fields.methods
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .map((line, i) => {
      const [contract, method, ...rest] = line.split(/\s+/);
      if (!method || rest.length > 0) {
        throw new Error(`allowed methods, line ${i + 1}: write "<contract> <entrypoint or selector>"`);
      }
      return /^0x[0-9a-f]+$/i.test(method) ? { contract, selector: method } : { contract, entrypoint: method };
    });
  const amount = (name: string, text: string, unit = 'FRI') => {
    const value = text.trim();
    if (value === '') return undefined;
    if (!/^\d{1,39}$/.test(value)) throw new Error(`${name}: a whole number of ${unit}`);
    return value;
  };
  const count = (name: string, text: string) => {
    const value = text.trim();
    if (value === '') return undefined;
    if (!/^\d{1,10}$/.test(value)) throw new Error(`${name}: a whole number`);
    return Number(value);
  };
  return {
    allowedMethods,
    maxFeePerTxFri: amount('Largest fee per transaction', fields.maxFeePerTxFri),
    dailyGasPerWalletFri: amount('Daily gas per wallet', fields.dailyGasPerWalletFri),
    dailyGasPerUserFri: amount('Daily gas per user', fields.dailyGasPerUserFri),
    maxFeePerTxWei: amount('Largest fee per userOp', fields.maxFeePerTxWei, 'wei'),
    dailyGasPerWalletWei: amount('Daily gas per EVM wallet', fields.dailyGasPerWalletWei, 'wei'),
    dailyGasPerUserWei: amount('Daily gas per user on EVM', fields.dailyGasPerUserWei, 'wei'),
    revertCooldownAfter: count('Reverts before a cool-down', fields.revertCooldownAfter),
    revertCooldownSeconds: count('Cool-down seconds', fields.revertCooldownSeconds),
  };
}

function PolicyForm({ client }: { client: LatchkeyClient }) {
  const [fields, setFields] = useState<PolicyFields | null>(null);
  const { busy, status, error, setError, run } = useAction();
  const methodsId = useId();

  useEffect(() => {
    let live = true;
    client.sponsorshipPolicy().then(
      (policy) => live && setFields(fieldsOf(policy)),
      (e) => live && setError(describeError(e)),
    );
    return () => {
      live = false;
    };
  }, [client, setError]);

  const set = (name: keyof PolicyFields) => (value: string) =>
    setFields((current) => (current ? { ...current, [name]: value } : current));

  const save = (event: React.FormEvent) => {
    event.preventDefault();
    if (!fields) return;
    void run(async () => {
      const stored = await client.setSponsorshipPolicy(policyOf(fields));
      setFields(fieldsOf(stored));
      return 'Sponsorship policy saved.';
    });
  };

  return (
    <form className="stack" onSubmit={save} data-testid="sponsorship-policy" aria-labelledby="policy-title">
      <h3 id="policy-title">Sponsorship policy</h3>
      <p className="muted">
        What the relayer pays gas for. Calls to a wallet itself (registering and revoking sessions)
        are always sponsored. Amounts are in FRI; an empty limit is no limit.
      </p>
      <ErrorBox error={error} onDismiss={() => setError(null)} />
      {fields === null ? (
        <p className="muted">Loading…</p>
      ) : (
        <>
          <div>
            <label htmlFor={methodsId}>
              Allowed methods
              <span className="hint">
                One per line: a contract (0x0 = any) and an entrypoint name or selector. None: every method.
              </span>
            </label>
            <textarea
              id={methodsId}
              rows={3}
              spellCheck={false}
              data-testid="policy-methods"
              value={fields.methods}
              onChange={(e) => set('methods')(e.target.value)}
            />
          </div>
          <Field label="Largest fee per transaction (FRI)" value={fields.maxFeePerTxFri} onChange={set('maxFeePerTxFri')} testId="policy-max-fee" />
          <Field label="Daily gas per wallet (FRI)" value={fields.dailyGasPerWalletFri} onChange={set('dailyGasPerWalletFri')} testId="policy-daily-wallet" />
          <Field label="Daily gas per user (FRI)" value={fields.dailyGasPerUserFri} onChange={set('dailyGasPerUserFri')} testId="policy-daily-user" />
          <Field label="Largest fee per userOp, EVM (wei)" value={fields.maxFeePerTxWei} onChange={set('maxFeePerTxWei')} testId="policy-max-fee-wei" />
          <Field label="Daily gas per wallet, EVM (wei)" value={fields.dailyGasPerWalletWei} onChange={set('dailyGasPerWalletWei')} testId="policy-daily-wallet-wei" />
          <Field label="Daily gas per user, EVM (wei)" value={fields.dailyGasPerUserWei} onChange={set('dailyGasPerUserWei')} testId="policy-daily-user-wei" />
          <Field
            label="Reverts before a cool-down"
            hint="Consecutive reverted transactions of one wallet; 0 = never."
            value={fields.revertCooldownAfter}
            onChange={set('revertCooldownAfter')}
            testId="policy-cooldown-after"
          />
          <Field label="Cool-down (seconds)" value={fields.revertCooldownSeconds} onChange={set('revertCooldownSeconds')} testId="policy-cooldown-seconds" />
        </>
      )}
      <div className="row">
        <button type="submit" data-testid="policy-save" disabled={busy || fields === null}>
          Save policy
        </button>
        <span className="status-line" aria-live="polite" data-testid="policy-status">
          {status}
        </span>
      </div>
    </form>
  );
}
