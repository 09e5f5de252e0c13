// The shell: top bar, the two pages, sign-in in front of both.

import { useEffect } from 'react';
import { AuthProvider, useAuth } from './auth';
import { Dashboard } from './Dashboard';
import { Game } from './Game';
import { onLinkClick, usePath } from './router';
import { SignIn } from './SignIn';

const PAGES = [
  { path: '/', title: 'Dashboard' },
  { path: '/game', title: 'Demo game' },
];

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
            aria-current={page.path === path ? 'page' : undefined}
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
  const { client } = useAuth();
  const isGame = path === '/game' || path.startsWith('/game/');
  useEffect(() => {
    document.title = isGame ? 'Demo game · latchkey' : 'Dashboard · latchkey';
  }, [isGame]);
  return (
    <main>
      <h1>{isGame ? 'Demo game' : 'Dashboard'}</h1>
      <p className="lede">
        {isGame
          ? 'Create a wallet, start a session scoped to the game, then play: every move is signed by the session key, with no prompt.'
          : 'Your organisation’s wallets and their session keys: what each session may do, until when, and how many calls it has left.'}
      </p>
      {!client ? <SignIn /> : isGame ? <Game client={client} /> : <Dashboard client={client} />}
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
