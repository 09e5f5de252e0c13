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

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`missing environment variable ${name}`);
  return value;
};
const url = env('LATCHKEY_URL');
const outDir = env('OUT_DIR');
mkdirSync(outDir, { recursive: true });
const PIN = '482915';
const TIMEOUT = 60_000;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  // Off the network: no background services, no component updates, no QUIC.
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--disable-default-apps',
    '--disable-extensions',
    '--metrics-recording-only',
  ],
});
const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
page.setDefaultTimeout(TIMEOUT);
const consoleErrors = [];
page.on('console', (message) => {
  if (message.type() === 'error') consoleErrors.push(message.text());
});
page.on('pageerror', (error) => consoleErrors.push(String(error)));

let shot = 0;
async function screenshot(name) {
  shot += 1;
  const path = join(outDir, `${String(shot).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
function step(name, data = {}) {
  process.stdout.write(JSON.stringify({ step: name, ...data }) + '\n');
}
const byTest = (id) => page.getByTestId(id);
async function textOf(id) {
  return (await byTest(id).innerText()).trim();
}
// Polls from Node.js: the page's content security policy forbids evaluating strings there.
async function waitForText(id, predicate, what) {
  const deadline = Date.now() + TIMEOUT;
  let last = null;
  for (;;) {
    last = await byTest(id)
      .textContent({ timeout: 1_000 })
      .catch(() => null);
    if (last !== null && predicate(last.trim())) return;
    if (Date.now() > deadline) {
      throw new Error(`${what}: not within ${TIMEOUT} ms; ${id} shows ${JSON.stringify(last)}`);
    }
    await page.waitForTimeout(100);
  }
}

try {
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
  await waitForText('wallet-address', (t) => /^0x[0-9a-f]+$/.test(t), 'wallet created');
  const wallet = await textOf('wallet-address');
  await screenshot('wallet');
  step('createWallet', { wallet });

  // A session for make_move and claim_reward: the only owner signature of the game.
  await byTest('start-session').click();
  await waitForText('session-state', (t) => t === 'active', 'session active');
  await waitForText('remaining-calls', (t) => t === '1000', 'a fresh session has 1000 calls');
  await screenshot('session');
  step('startSession', { remaining: await textOf('remaining-calls') });

  // Five moves, no prompt: each confirmed on chain.
  for (let move = 1; move <= 5; move += 1) {
    await byTest('move').click();
    await waitForText('moves-confirmed', (t) => Number(t) >= move, `move ${move} confirmed`);
  }
  await waitForText('remaining-calls', (t) => t === '995', 'remaining calls after 5 moves');
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
  await waitForText('session-state', (t) => t === 'revoked', 'session revoked');
  await byTest('move').click();
  await waitForText('error', (t) => /revoked/i.test(t), 'a clear error after revocation');
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
  step('done', { screenshots: shot });
} catch (error) {
  await screenshot('failure').catch(() => {});
  process.stderr.write(`${error.stack || error}\n`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
