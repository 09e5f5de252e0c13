// The organisation's API keys: kept in sessionStorage for this tab only, cleared on sign
// out, never logged. One LatchkeyClient per signed-in organisation.

import { createContext, useCallback, useContext, useMemo, useState } from 'react';
import { LatchkeyClient } from '@latchkey/sdk';

const STORAGE_KEY = 'latchkey.organisation';

export interface Credentials {
  publicKey: string;
  secretKey: string;
}

function loadCredentials(): Credentials | null {
  try {
    const raw = window.sessionStorage.getItem(STORAGE_KEY);
    if (!raw) return null;
    const value = JSON.parse(raw) as Partial<Credentials>;
    if (typeof value.publicKey === 'string' && typeof value.secretKey === 'string') {
      return { publicKey: value.publicKey, secretKey: value.secretKey };
    }
  } catch {
    // Unreadable: treat as signed out.
  }
  return null;
}

/** A client for the given keys, same origin. */
export function clientFor(credentials: Credentials): LatchkeyClient {
  return new LatchkeyClient({
    publicKey: credentials.publicKey,
    secretKey: credentials.secretKey,
  });
}

interface Auth {
  client: LatchkeyClient | null;
  /** The keys the client uses (for the routes the SDK does not wrap). */
  credentials: Credentials | null;
  /** Remembers keys that were checked against the server. */
  signIn(credentials: Credentials): void;
  signOut(): void;
}

const AuthContext = createContext<Auth | null>(null);

export function AuthProvider({ children }: { children: React.ReactNode }) {
  const [credentials, setCredentials] = useState<Credentials | null>(loadCredentials);
  const client = useMemo(() => (credentials ? clientFor(credentials) : null), [credentials]);
  const signIn = useCallback((value: Credentials) => {
    window.sessionStorage.setItem(STORAGE_KEY, JSON.stringify(value));
    setCredentials(value);
  }, []);
  const signOut = useCallback(() => {
    // Everything this app keeps for the tab goes: the keys and the game's records.
    window.sessionStorage.clear();
    setCredentials(null);
  }, []);
  const auth = useMemo(() => ({ client, credentials, signIn, signOut }), [client, credentials, signIn, signOut]);
  return <AuthContext.Provider value={auth}>{children}</AuthContext.Provider>;
}

export function useAuth(): Auth {
  const auth = useContext(AuthContext);
  if (!auth) throw new Error('useAuth outside AuthProvider');
  return auth;
}
