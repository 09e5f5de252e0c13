// The dashboard's owner-signed revocation in a real browser (Debian's Chromium through
// playwright-core) against a running `latchkey serve`:
//
//   game: wallet + session → reload: the wallet and session come back, the PIN does not →
//   dashboard: Revoke with a wrong PIN is refused in the browser → with the right PIN the
//   session is revoked on chain (transaction hash shown) → a second session → Revoke all →
//   settings: the sponsorship policy and the token issuer saved, read back, removed; the
//   allowed origins saved (normalised), read back, a malformed one refused.
//
// Environment as for demo.mjs: LATCHKEY_URL, LATCHKEY_PUBLIC_KEY, LATCHKEY_SECRET_KEY,
// OUT_DIR, CHROMIUM. Prints one JSON line per step; exits non-zero on the first failure.

import { env, openPage, step } from './harness.mjs';

const PIN = '730164';
const { url, page, byTest, screenshot, waitForText, consoleErrors, run } = await openPage({ prefix: 'd' });
const sessionRows = (wallet) => page.locator(`[data-testid="session-row"][data-wallet="${wallet}"]`);

await run(async () => {
  await page.goto(`${url}/game`);
  await byTest('public-key').fill(env('LATCHKEY_PUBLIC_KEY'));
  await byTest('secret-key').fill(env('LATCHKEY_SECRET_KEY'));
  await byTest('sign-in').click();
  await byTest('pin').fill(PIN);
  await byTest('create-wallet').click();
  const wallet = await waitForText(byTest('wallet-address'), (t) => /^0x[0-9a-f]+$/.test(t), 'wallet');
  await byTest('start-session').click();
  await waitForText(byTest('session-state'), (t) => t === 'active', 'session active');
  step('gameSession', { wallet });

  // A reload keeps the sign-in, the wallet and the (encrypted) session, not the PIN.
  await page.reload();
  await waitForText(byTest('wallet-address'), (t) => t === wallet, 'wallet after reload');
  await waitForText(byTest('session-state'), (t) => t === 'active', 'session after reload');
  if ((await byTest('pin').inputValue()) !== '') throw new Error('the PIN survived a reload');
  await byTest('pin').fill(PIN);
  await byTest('move').click();
  await waitForText(byTest('moves-confirmed'), (t) => t === '1', 'a move after reload');
  await waitForText(byTest('remaining-calls'), (t) => t === '999', 'remaining after reload');
  step('reload', { remaining: '999' });

  // Dashboard: a wrong PIN is refused before anything is signed.
  await page.getByRole('link', { name: 'Dashboard', exact: true }).click();
  await sessionRows(wallet).first().waitFor();
  await sessionRows(wallet).first().getByTestId('revoke-session').click();
  await byTest('owner-pin').fill('111111');
  await byTest('confirm').click();
  const wrong = await waitForText(byTest('pin-dialog').getByTestId('error'), (t) => t.length > 0, 'wrong PIN error');
  if (!/OWNER_KEY_DECRYPTION_FAILED/.test(wrong)) throw new Error(`wrong PIN shows ${wrong}`);
  // The PIN was checked by the server, which counted the attempt and says what is left.
  if (!/\d+ attempts? left/.test(wrong)) throw new Error(`the wrong PIN does not say the attempts left: ${wrong}`);
  await screenshot('wrong-pin');
  step('wrongPin', { error: wrong });

  // The right PIN revokes it on chain.
  await byTest('owner-pin').fill(PIN);
  await byTest('confirm').click();
  const hash = await waitForText(byTest('revoke-result').getByTestId('tx-hash'), (t) => /^0x[0-9a-f]+$/.test(t), 'revoke hash');
  await waitForText(sessionRows(wallet).first().getByTestId('session-state'), (t) => t === 'revoked', 'revoked');
  step('revoke', { hash });

  // A second session from the game, then Revoke all from the dashboard.
  await page.getByRole('link', { name: 'Demo game', exact: true }).click();
  await byTest('pin').fill(PIN);
  await byTest('start-session').click();
  await waitForText(byTest('session-state'), (t) => t === 'active', 'second session active');
  await page.getByRole('link', { name: 'Dashboard', exact: true }).click();
  await waitForText(sessionRows(wallet).locator('[data-testid="session-state"]:text-is("active")').first(), (t) => t === 'active', 'second session listed');
  await page.locator(`[data-testid="wallet-row"][data-address="${wallet}"]`).getByRole('button', { name: 'Revoke all' }).click();
  await byTest('owner-pin').fill(PIN);
  await byTest('confirm').click();
  await waitForText(byTest('revoke-result'), (t) => /Every session/.test(t), 'revoke all result');
  // The list is re-read after the result line shows: wait for it (up to 15 s).
  let states = [];
  for (let i = 0; i < 60; i++) {
    states = await sessionRows(wallet).getByTestId('session-state').allTextContents();
    if (states.length === 2 && states.every((s) => s.trim() === 'revoked')) break;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  if (states.length !== 2 || !states.every((s) => s.trim() === 'revoked')) {
    throw new Error(`after Revoke all: ${JSON.stringify(states)}`);
  }
  await screenshot('revoke-all');
  step('revokeAll', { states });

  // Organisation settings: saved, read back after a reload, refused when malformed.
  const inputValue = async (id, predicate, what) => {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const value = await byTest(id).inputValue().catch(() => null);
      if (value !== null && predicate(value)) return value;
      if (Date.now() > deadline) throw new Error(`${what}: the field shows ${JSON.stringify(value)}`);
      await page.waitForTimeout(100);
    }
  };
  const daily = '1000000000000000000000';
  await inputValue('policy-cooldown-after', (v) => v === '3', 'default cool-down');
  await byTest('policy-daily-wallet').fill(daily);
  await byTest('policy-cooldown-after').fill('5');
  await byTest('policy-save').click();
  await waitForText(byTest('policy-status'), (t) => t === 'Sponsorship policy saved.', 'policy saved');
  await waitForText(byTest('issuer-state'), (t) => t.startsWith('None'), 'no issuer at first');
  const audience = `dashboard-test-${Date.now()}`;
  await byTest('issuer-jwks-url').fill('https://auth.example.com/.well-known/jwks.json');
  await byTest('issuer-issuer').fill('https://auth.example.com');
  await byTest('issuer-audience').fill(audience);
  await byTest('issuer-save').click();
  await waitForText(byTest('issuer-status'), (t) => t === 'Token issuer saved.', 'issuer saved');
  await byTest('origins-list').fill('https://App.example:443\nhttp://localhost:3000');
  await byTest('origins-save').click();
  await waitForText(byTest('origins-status'), (t) => t === '2 origin(s) allowed.', 'origins saved');
  await page.reload();
  await inputValue('origins-list', (v) => v === 'http://localhost:3000\nhttps://app.example', 'origins after reload');
  await byTest('origins-list').fill('https://app.example/path');
  await byTest('origins-save').click();
  await waitForText(byTest('origins').getByTestId('error'), (t) => /INVALID_ORIGIN|origin/.test(t), 'malformed origin refused');
  await inputValue('policy-daily-wallet', (v) => v === daily, 'daily gas after reload');
  await inputValue('policy-cooldown-after', (v) => v === '5', 'cool-down after reload');
  await inputValue('issuer-audience', (v) => v === audience, 'audience after reload');
  await byTest('policy-max-fee').fill('lots');
  await byTest('policy-save').click();
  await waitForText(byTest('sponsorship-policy').getByTestId('error'), (t) => /FRI/.test(t), 'malformed amount refused');
  await screenshot('settings');
  await byTest('issuer-remove').click();
  await waitForText(byTest('issuer-state'), (t) => t.startsWith('None'), 'issuer removed');
  step('settings', { audience });

  // Sign out forgets the keys.
  await byTest('sign-out').click();
  await byTest('public-key').waitFor();
  const kept = await page.evaluate(() => window.sessionStorage.length);
  if (kept !== 0) throw new Error(`sessionStorage keeps ${kept} item(s) after sign out`);
  step('signOut');

  const unexpected = consoleErrors.filter((text) => !/40[0-9]|revoked/i.test(text));
  if (unexpected.length > 0) throw new Error(`console errors: ${unexpected.join(' | ')}`);
});
