// The whole demo in a real browser (Debian's Chromium, headless, driven by
// playwright-core) against a running `latchkey serve`:
//
//   sign in with the organisation's keys → game: create a wallet with a PIN → start a
//   session → 5 moves, each confirmed on chain, with no prompt → remaining calls 995 →
//   revoke → the next move shows a clear error → the dashboard lists the wallet and its
//   revoked session.
//
// Environment: LATCHKEY_URL, LATCHKEY_PUBLIC_KEY, LATCHKEY_SECRET_KEY, OUT_DIR (where the
// screenshots go), CHROMIUM (default /usr/bin/chromium). Prints one JSON line per step;
// exits non-zero on the first failure (with a screenshot of the page as it was).

import { env, openPage, step } from './harness.mjs';

const PIN = '482915';
const { url, page, byTest, screenshot, waitForText, consoleErrors, run } = await openPage();
async function textOf(id) {
  return (await byTest(id).innerText()).trim();
}

await run(async () => {
  // Sign in with the organisation's keys.
  await page.goto(`${url}/game`);
  await byTest('public-key').fill(env('LATCHKEY_PUBLIC_KEY'));
  await byTest('secret-key').fill(env('LATCHKEY_SECRET_KEY'));
  await byTest('sign-in').click();
  await byTest('pin').waitFor();
  step('signIn');

  // A wallet, its owner key sealed under the PIN in the browser.
  await byTest('pin').fill(PIN);
  await byTest('create-wallet').click();
  await waitForText(byTest('wallet-address'), (t) => /^0x[0-9a-f]+$/.test(t), 'wallet created');
  const wallet = await textOf('wallet-address');
  // Sealed as lk2 (the PIN with the server's evaluation), with Argon2id in the SDK's key
  // worker, not on the page's thread.
  const keyFormat = await textOf('key-format');
  if (keyFormat !== 'lk2') throw new Error(`the owner key is sealed as ${keyFormat}, not lk2`);
  const workers = page.workers().map((w) => w.url());
  if (!workers.some((u) => /worker[^/]*\.js/.test(u))) {
    throw new Error(`no key worker runs in the page: ${JSON.stringify(workers)}`);
  }
  await screenshot('wallet');
  step('createWallet', { wallet, keyFormat, workers: workers.length });

  // A session for make_move and claim_reward: the only owner signature of the game.
  await byTest('start-session').click();
  await waitForText(byTest('session-state'), (t) => t === 'active', 'session active');
  await waitForText(byTest('remaining-calls'), (t) => t === '1000', 'a fresh session has 1000 calls');
  await screenshot('session');
  step('startSession', { remaining: await textOf('remaining-calls') });

  // Five moves, no prompt: each confirmed on chain.
  for (let move = 1; move <= 5; move += 1) {
    await byTest('move').click();
    await waitForText(byTest('moves-confirmed'), (t) => Number(t) >= move, `move ${move} confirmed`);
  }
  await waitForText(byTest('remaining-calls'), (t) => t === '995', 'remaining calls after 5 moves');
  const hashes = await page.$$eval('[data-testid="move-log"] [data-testid="tx-hash"]', (nodes) =>
    nodes.map((node) => node.textContent.trim()),
  );
  if (hashes.length < 5 || !hashes.every((h) => /^0x[0-9a-f]+$/.test(h))) {
    throw new Error(`five confirmed moves with transaction hashes, got ${JSON.stringify(hashes)}`);
  }
  await screenshot('five-moves');
  step('fiveMoves', { remaining: await textOf('remaining-calls'), hashes: hashes.length });

  // Revoke; the next move fails with a clear error.
  await byTest('revoke').click();
  await waitForText(byTest('session-state'), (t) => t === 'revoked', 'session revoked');
  await byTest('move').click();
  await waitForText(byTest('error'), (t) => /revoked/i.test(t), 'a clear error after revocation');
  const error = await textOf('error');
  await screenshot('after-revoke');
  step('moveAfterRevoke', { error });

  // The dashboard lists the wallet and its revoked session.
  await page.goto(`${url}/`);
  await page.locator(`[data-testid="wallet-row"][data-address="${wallet}"]`).waitFor();
  const sessionState = await page
    .locator(`[data-testid="session-row"][data-wallet="${wallet}"] [data-testid="session-state"]`)
    .first()
    .innerText();
  if (sessionState.trim() !== 'revoked') throw new Error(`dashboard shows the session as ${sessionState}`);
  await screenshot('dashboard');
  step('dashboard', { sessionState: sessionState.trim() });

  if (consoleErrors.length > 0) {
    // Failed requests the app reported as errors on purpose (the refused move) are expected.
    const unexpected = consoleErrors.filter((text) => !/403|SESSION_REVOKED|revoked/i.test(text));
    if (unexpected.length > 0) throw new Error(`console errors: ${unexpected.join(' | ')}`);
  }
});
