import { Game } from './game';
import { validUserId } from '../lib/auth';

export const dynamic = 'force-dynamic';

/**
 * What the page needs from latchkey besides the Chipi API: the account class its wallets
 * are deployed with (Chipi's createWallet computes the address from it) and the demo game.
 */
async function deployment() {
  const response = await fetch(`${process.env.LATCHKEY_URL.replace(/\/$/, '')}/api/config`, { cache: 'no-store' });
  if (!response.ok) throw new Error(`GET /api/config: HTTP ${response.status}`);
  const config = await response.json();
  if (!config.demoGame) throw new Error('this latchkey server has no demo game');
  return { accountClassHash: config.accountClassHash, game: config.demoGame };
}

export default async function Page({ searchParams }) {
  const { user } = await searchParams;
  const userId = validUserId(user) ? user : 'demo-player';
  const { accountClassHash, game } = await deployment();
  return <Game userId={userId} accountClassHash={accountClassHash} game={game} />;
}
