// The example app in a real browser (Debian's Chromium, headless, off the network,
// driven by playwright-core), on its own origin, against `latchkey serve`:
//
//   create a wallet with a PIN → create and register a session key → three gasless
//   moves with no PIN prompt, the balance shown and the calls left counting down →
//   revoke → the next move is refused, with the error on the page.
//
// Environment: APP_URL (the running app), LATCHKEY_URL (its API, whose read-only chain
// endpoint confirms the moves), CHAIN_RPC (the devnet's own JSON-RPC, to fund the new
// wallet), OUT_DIR (screenshots), CHROMIUM (default /usr/bin/chromium), USER_ID
// (default player-1). The organisation must allow the app's origin and accept its tokens.
// Prints one JSON line per step; exits non-zero on the first failure, with a screenshot.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { chromiumLaunchOptions } from '../../../web/tests/chromium.mjs';
import { hash } from 'starknet';

const TIMEOUT = 60_000;
const PIN = '482915';
/** What the test mints to the wallet, in the token's smallest unit (18 decimals): 5. */
const MINTED = 5_000_000_000_000_000_000n;

function env(name, fallback) {
  const value = process.env[name] || fallback;
  if (!value) throw new Error(`missing environment variable ${name}`);
  return value;
}
const started = Date.now();
function step(name, data = {}) {
  process.stdout.write(JSON.stringify({ step: name, ...data, ms: Date.now() - started }) + '\n');
}
function check(condition, message) {
  if (!condition) throw new Error(`check failed: ${message}`);
}

const appUrl = env('APP_URL').replace(/\/$/, '');
const latchkeyUrl = env('LATCHKEY_URL').replace(/\/$/, '');
const chainRpc = env('CHAIN_RPC');
const outDir = env('OUT_DIR');
const userId = env('USER_ID', 'player-1');
mkdirSync(outDir, { recursive: true });

async function rpc(url, method, params) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
  const body = await response.json();
  if (body.error) throw new Error(`${method}: ${JSON.stringify(body.error)}`);
  return body.result;
}
/** Funds `address` on the devnet (a node control the API's read-only endpoint refuses). */
const mint = (address) => rpc(chainRpc, 'devnet_mint', { address, amount: Number(MINTED), unit: 'FRI' });
/** The moves `player` made, read from the game through latchkey's chain endpoint. */
async function movesOnChain(player) {
  const { demoGame } = await (await fetch(`${latchkeyUrl}/api/config`)).json();
  const request = { contract_address: demoGame, entry_point_selector: hash.getSelectorFromName('get_player'), calldata: [player] };
  const [moves] = await rpc(`${latchkeyUrl}/rpc/starknet`, 'starknet_call', { request, block_id: 'latest' });
  return Number(BigInt(moves));
}

const browser = await chromium.launch(chromiumLaunchOptions());
const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
page.setDefaultTimeout(TIMEOUT);

// Every request the page makes, by origin: the app's own, latchkey's API, nothing else.
const origins = new Set();
page.on('request', (request) => {
  origins.add(new URL(request.url()).origin);
  if (process.env.DEBUG_REQUESTS) process.stderr.write(`${Date.now() - started} ${request.method()} ${request.url()}\n`);
});
// A PIN prompt would be a dialog (or the PIN field asked for again): none may appear.
const dialogs = [];
page.on('dialog', async (dialog) => {
  dialogs.push(dialog.message());
  await dialog.dismiss();
});
// Console errors are reported (Chipi's getWallet asks first, and a 404 means no wallet
// yet); an uncaught exception in the page fails the test.
const consoleErrors = [];
page.on('console', (message) => {
  if (message.type() === 'error') consoleErrors.push(message.text());
});
const pageErrors = [];
page.on('pageerror', (error) => pageErrors.push(String(error)));

let shots = 0;
async function screenshot(name) {
  shots += 1;
  await page.screenshot({ path: join(outDir, `${String(shots).padStart(2, '0')}-${name}.png`), fullPage: true });
}
const byTest = (id) => page.getByTestId(id);
async function textOf(id) {
  return (await byTest(id).innerText()).trim();
}
/** Waits until the element's text satisfies `predicate`; returns the text. */
async function waitForText(id, predicate, what) {
  const deadline = Date.now() + TIMEOUT;
  let last = null;
  for (;;) {
    last = await byTest(id)
      .textContent({ timeout: 1_000 })
      .catch(() => null);
    if (last !== null && predicate(last.trim())) return last.trim();
    const error = await byTest('error')
      .textContent({ timeout: 100 })
      .catch(() => null);
    if (Date.now() > deadline) {
      throw new Error(`${what}: not within ${TIMEOUT} ms; shows ${JSON.stringify(last)}; error ${JSON.stringify(error)}`);
    }
    await page.waitForTimeout(100);
  }
}
const idle = () => waitForText('busy', (t) => t === 'ready', 'the page is ready');

try {
  // A wallet, its owner key encrypted under the PIN in the browser, deployed gaslessly.
  await page.goto(`${appUrl}/?user=${encodeURIComponent(userId)}`);
  check((await textOf('user-id')) === userId, 'the page is signed in as the demo user');
  await byTest('create-wallet').waitFor();
  await byTest('pin').fill(PIN);
  await byTest('create-wallet').click();
  const wallet = await waitForText('wallet-address', (t) => /^0x[0-9a-f]+$/.test(t), 'wallet created');
  await mint(wallet);
  await screenshot('wallet');
  step('createWallet', { wallet });

  // A session key, created in the browser and registered by the owner (the one PIN use).
  await byTest('create-session').click();
  await waitForText('session-state', (t) => t === 'created', 'session key created');
  await byTest('register-session').click();
  await waitForText('session-state', (t) => t === 'active', 'session registered');
  const fresh = await waitForText('remaining-calls', (t) => t === '10', 'a fresh session has 10 calls');
  await screenshot('session');
  step('startSession', { state: 'active', remaining: fresh });

  // Three gasless moves signed by the session key: no prompt, the calls left count down.
  const remaining = [];
  for (let move = 1; move <= 3; move += 1) {
    await byTest('move').click();
    await waitForText('remaining-calls', (t) => t === String(10 - move), `calls left after move ${move}`);
    await idle();
    remaining.push(await textOf('remaining-calls'));
  }
  const hashes = await page.$$eval('[data-testid="move-log"] [data-testid="tx-hash"]', (nodes) =>
    nodes.map((node) => node.textContent.trim()),
  );
  check(hashes.length === 3 && hashes.every((h) => /^0x[0-9a-f]+$/.test(h)), `three transaction hashes: ${hashes}`);
  const balance = await waitForText('balance', (t) => t === '5.00', 'the minted balance is shown');
  const token = await textOf('balance-token');
  const onChain = await movesOnChain(wallet);
  check(onChain === 3, `three moves on chain, not ${onChain}`);
  check(dialogs.length === 0, `no prompt: ${JSON.stringify(dialogs)}`);
  check((await byTest('error').count()) === 0, 'no error shown');
  await screenshot('three-moves');
  step('threeMoves', { remaining, hashes: hashes.length, onChain, balance, token, prompts: dialogs.length });

  // Revoke (the owner signs again), then the next move is refused.
  await byTest('revoke').click();
  await waitForText('session-state', (t) => t === 'revoked', 'session revoked');
  await idle();
  step('revoke', { state: 'revoked' });
  await byTest('move').click();
  const error = await waitForText('error', (t) => t.length > 0, 'an error after revocation');
  check(/not active|revoked/i.test(error), `the error says the session is over: ${error}`);
  check((await page.$$('[data-testid="tx-hash"]')).length === 3, 'no fourth move');
  check((await movesOnChain(wallet)) === 3, 'no fourth move on chain');
  await screenshot('after-revoke');
  step('moveAfterRevoke', { error });

  check(pageErrors.length === 0, `no uncaught exception in the page: ${pageErrors.join('; ')}`);
  const seen = [...origins].sort();
  step('done', { screenshots: shots, origins: seen, consoleErrors });
} catch (error) {
  await screenshot('failure').catch(() => {});
  process.stderr.write(`${error.stack || error}\n`);
  const errors = [...pageErrors, ...consoleErrors];
  if (errors.length) process.stderr.write(`page and console errors:\n${errors.join('\n')}\n`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
