// The shell: top bar, the two pages, sign-in in front of both.

import { useEffect } from 'react';
import { Activity } from './Activity';
import { AuthProvider, useAuth } from './auth';
import { Dashboard } from './Dashboard';
import { Game } from './Game';
import { Operator } from './Operator';
import { onLinkClick, usePath } from './router';
import { SignIn } from './SignIn';

const PAGES = [
  { path: '/', title: 'Dashboard', lede: 'Your organisation’s wallets and their session keys: what each session may do, until when, and how many calls it has left.' },
  { path: '/activity', title: 'Activity', lede: 'What your organisation’s sponsorship did: executions by outcome, gas per chain, sessions, how long the budget lasts; every transaction, filtered.' },
  { path: '/game', title: 'Demo game', lede: 'Create a wallet, start a session scoped to the game, then play: every move is signed by the session key, with no prompt.' },
  { path: '/operator', title: 'Operator', lede: 'Run latchkey for several apps: organisations, their keys and gas budgets, what each spent, the relayer accounts and the audit log.' },
];

function pageOf(path: string) {
  const match = PAGES.find((p) => p.path !== '/' && (path === p.path || path.startsWith(`${p.path}/`)));
  return match ?? PAGES[0];
}

function TopBar({ path }: { path: string }) {
  const { client, signOut } = useAuth();
  return (
    <header className="topbar">
      <a className="brand" href="/" onClick={onLinkClick}>
        latch<span>key</span>
      </a>
      <nav aria-label="Pages">
        {PAGES.map((page) => (
          <a
            key={page.path}
            href={page.path}
            onClick={onLinkClick}
            aria-current={page.path === pageOf(path).path ? 'page' : undefined}
          >
            {page.title}
          </a>
        ))}
      </nav>
      <span className="spacer" />
      {client && (
        <button type="button" className="secondary small" onClick={signOut} data-testid="sign-out">
          Sign out
        </button>
      )}
    </header>
  );
}

function Page({ path }: { path: string }) {
  const { client, credentials } = useAuth();
  const page = pageOf(path);
  useEffect(() => {
    document.title = `${page.title} · latchkey`;
  }, [page.title]);
  let body: React.ReactNode;
  if (page.path === '/operator') body = <Operator />;
  else if (!client || !credentials) body = <SignIn />;
  else if (page.path === '/game') body = <Game client={client} />;
  else if (page.path === '/activity') body = <Activity client={client} credentials={credentials} />;
  else body = <Dashboard client={client} />;
  return (
    <main>
      <h1>{page.title}</h1>
      <p className="lede">{page.lede}</p>
      {body}
    </main>
  );
}

export function App() {
  const path = usePath();
  return (
    <AuthProvider>
      <TopBar path={path} />
      <Page path={path} />
    </AuthProvider>
  );
}
