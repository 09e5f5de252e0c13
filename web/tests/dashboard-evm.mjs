// The dashboard on EVM wallets in a real browser (Debian's Chromium through playwright-core)
// against a running `latchkey serve`:
//
//   Node.js, through the SDK: an EVM wallet whose owner key is sealed (lk2) under a PIN,
//   two sessions on the EVM demo game (makeMove; makeMove and claimReward), one move; an
//   EVM wallet with an external owner (no stored key) and a session →
//   dashboard: the wallets show their chain, the sessions their state, calls and methods by
//   Solidity signature → the external owner's wallet offers no revocation → Revoke with a
//   wrong PIN is refused and revokes nothing → with the right PIN the session is revoked on
//   chain → Revoke all.
//
// Environment: LATCHKEY_URL, LATCHKEY_PUBLIC_KEY, LATCHKEY_SECRET_KEY, EVM_GAME (the EVM
// demo game, from the server's banner), OUT_DIR, CHROMIUM. Prints one JSON line per step;
// exits non-zero on the first failure.

import { EvmClient, LatchkeyClient, evmProofHash, evmUserOpHash, init, payloadHash } from '@latchkey/sdk';
import { env, openPage, step } from './harness.mjs';

const PIN = '604918';
const WRONG_PIN = '271845';
const MAKE_MOVE = 'makeMove(uint256)';
const CLAIM_REWARD = 'claimReward()';

const game = env('EVM_GAME');
await init();
const client = new LatchkeyClient({
  url: env('LATCHKEY_URL'),
  publicKey: env('LATCHKEY_PUBLIC_KEY'),
  secretKey: env('LATCHKEY_SECRET_KEY'),
});
const evm = new EvmClient(client);

/** A 32-byte word of a number or hex felt, `0x` hex. */
const word = (value) => `0x${BigInt(value).toString(16).padStart(64, '0')}`;
/** `makeMove(n)` calldata: its selector, then the argument. */
const makeMove = (n) => ({ to: game, data: `0xabd9f461${word(n).slice(2)}` });
const same = (a, b) => typeof a === 'string' && typeof b === 'string' && a.toLowerCase() === b.toLowerCase();

/**
 * A wallet whose owner key never reaches the server: created with a proof of possession
 * (personal_sign by the key), and a session registered by the owner signing the userOp
 * (kind 1, EIP-191 over its hash) itself.
 */
async function externalOwnerWallet(chain) {
  const chainId = Number(chain.id.split(':')[1]);
  const ownerKey = await evm.createSessionKey();
  const session = await evm.createSessionKey();
  try {
    const account = await evm.walletAddress(ownerKey.address);
    const challenge = await client.challenge('create-wallet');
    const hash = evmProofHash(chainId, account, 'create-wallet', challenge.challenge, word(payloadHash('')));
    await client.request('POST', '/api/wallets', {
      chain: chain.id,
      ownerPublicKey: ownerKey.address,
      proof: { challenge: challenge.challenge, signature: [ownerKey.signMessageHash(hash)] },
    });
    const prepared = await client.request('POST', `/api/wallets/${account}/sessions`, {
      sessionPublicKey: session.address,
      maxCalls: 3,
      validUntil: Math.floor(Date.now() / 1000) + 3600,
      allowedMethods: [{ contract: game, entrypoint: MAKE_MOVE }],
    });
    const userOpHash = evmUserOpHash(prepared, {
      chainId,
      entryPoint: chain.contracts.entryPoint,
      sender: account,
    });
    const signature = `0x01${ownerKey.signMessageHash(userOpHash).slice(2)}`;
    const done = await client.request('POST', `/api/wallets/${account}/execute?wait=true`, {
      payload: prepared.payload,
      signature: [signature],
    });
    if (done.status !== 'succeeded') throw new Error(`external owner's session: ${JSON.stringify(done)}`);
    return { address: account, session: session.address };
  } finally {
    ownerKey.free();
    session.free();
  }
}

// Set up through the SDK, as an organisation's back end would.
const chain = await evm.chain();
const created = await evm.createWallet({ pin: PIN });
const wallet = created.address;
const owner = await evm.unlockOwner(wallet, {
  pin: PIN,
  encryptedPrivateKey: created.encryptedPrivateKey,
  ownerAddress: created.ownerAddress,
});
const validUntil = Math.floor(Date.now() / 1000) + 3600;
const first = await evm.createSessionKey();
const second = await evm.createSessionKey();
try {
  await evm.registerSession(wallet, {
    owner,
    session: first,
    maxCalls: 10,
    validUntil,
    allowedMethods: [{ contract: game, entrypoint: MAKE_MOVE }],
  });
  await evm.registerSession(wallet, {
    owner,
    session: second,
    maxCalls: 5,
    validUntil,
    allowedMethods: [
      { contract: game, entrypoint: MAKE_MOVE },
      { contract: game, entrypoint: CLAIM_REWARD },
    ],
  });
  await evm.executeWithSession(wallet, first, [makeMove(7)]);
} finally {
  owner.free();
  first.free();
  second.free();
}
const external = await externalOwnerWallet(chain);
const state = async (session) => (await evm.sessionStatus(wallet, session)).state;
step('setup', {
  chain: chain.id,
  wallet,
  format: created.encryptedPrivateKey.split('$').slice(0, 2).join('$'),
  sessions: [first.address, second.address],
  external: external.address,
});

const { url, page, byTest, screenshot, waitForText, consoleErrors, run } = await openPage({ prefix: 'e' });

/** The wallet card of `address` (the page may spell it in another case). */
async function walletCard(address) {
  const rows = page.locator('[data-testid="wallet-row"]');
  await rows.first().waitFor();
  const deadline = Date.now() + 30_000;
  for (;;) {
    const addresses = await rows.evaluateAll((nodes) => nodes.map((n) => n.getAttribute('data-address')));
    const found = addresses.find((a) => same(a, address));
    if (found) return page.locator(`[data-testid="wallet-row"][data-address="${found}"]`);
    if (Date.now() > deadline) throw new Error(`wallet ${address} not listed: ${JSON.stringify(addresses)}`);
    await page.waitForTimeout(250);
  }
}

/** The session row of `session` within a wallet card. */
async function sessionRow(card, session) {
  const rows = card.getByTestId('session-row');
  await rows.first().waitFor();
  const keys = await rows.evaluateAll((nodes) => nodes.map((n) => n.getAttribute('data-session')));
  const found = keys.find((k) => same(k, session));
  if (!found) throw new Error(`session ${session} not listed: ${JSON.stringify(keys)}`);
  return card.locator(`[data-testid="session-row"][data-session="${found}"]`);
}

await run(async () => {
  await page.goto(`${url}/`);
  await byTest('public-key').fill(env('LATCHKEY_PUBLIC_KEY'));
  await byTest('secret-key').fill(env('LATCHKEY_SECRET_KEY'));
  await byTest('sign-in').click();

  // The EVM wallet, labelled with its chain from the server's configuration.
  const card = await walletCard(wallet);
  const chainText = await waitForText(card.getByTestId('wallet-chain'), (t) => t.includes(chain.id), 'chain label');
  if (!/^EVM\b/.test(chainText)) throw new Error(`the chain label is ${chainText}`);
  if ((await card.getAttribute('data-family')) !== 'evm') throw new Error('the wallet is not shown as an EVM wallet');
  const walletType = await waitForText(card.getByTestId('wallet-type'), (t) => t.length > 0, 'wallet type');
  if (walletType !== 'ERC4337') throw new Error(`the wallet type is ${walletType}`);
  step('evmWallet', { chainLabel: chainText, walletType });

  // Its sessions: active, calls used and left, methods by Solidity signature.
  const firstRow = await sessionRow(card, first.address);
  const secondRow = await sessionRow(card, second.address);
  await waitForText(firstRow.getByTestId('session-state'), (t) => t === 'active', 'first session active');
  await waitForText(secondRow.getByTestId('session-state'), (t) => t === 'active', 'second session active');
  const firstMethods = (await firstRow.getByTestId('session-method').allTextContents()).map((t) => t.trim());
  const secondMethods = (await secondRow.getByTestId('session-method').allTextContents()).map((t) => t.trim());
  if (JSON.stringify(firstMethods) !== JSON.stringify([`game.${MAKE_MOVE}`])) {
    throw new Error(`first session's methods: ${JSON.stringify(firstMethods)}`);
  }
  if (JSON.stringify(secondMethods) !== JSON.stringify([`game.${MAKE_MOVE}`, `game.${CLAIM_REWARD}`])) {
    throw new Error(`second session's methods: ${JSON.stringify(secondMethods)}`);
  }
  const calls = await waitForText(firstRow.getByTestId('session-calls'), (t) => t === '9 / 10', 'calls left');
  const used = await waitForText(firstRow.getByTestId('session-used'), (t) => t === '1 used', 'calls used');
  await screenshot('evm-sessions');
  step('sessions', { methods: [...firstMethods, ...secondMethods], calls, used });

  // The external owner's wallet: its session shown, revocation left to the owner's wallet.
  const externalCard = await walletCard(external.address);
  const externalRow = await sessionRow(externalCard, external.session);
  await waitForText(externalRow.getByTestId('session-state'), (t) => t === 'active', 'external session active');
  const note = await waitForText(externalCard.getByTestId('external-owner'), (t) => t.length > 0, 'external owner note');
  if (!/owner’s own wallet/.test(note)) throw new Error(`the external owner note says ${note}`);
  const offered =
    (await externalCard.getByTestId('revoke-session').count()) +
    (await externalCard.getByRole('button', { name: 'Revoke all' }).count());
  if (offered !== 0) throw new Error(`the external owner's wallet offers ${offered} revocation button(s)`);
  step('externalOwner', { note });

  // A wrong PIN: refused after the server's counted evaluation, nothing revoked.
  await firstRow.getByTestId('revoke-session').click();
  await byTest('owner-pin').fill(WRONG_PIN);
  await byTest('confirm').click();
  const wrong = await waitForText(byTest('pin-dialog').getByTestId('error'), (t) => t.length > 0, 'wrong PIN error');
  if (!/OWNER_KEY_DECRYPTION_FAILED/.test(wrong)) throw new Error(`wrong PIN shows ${wrong}`);
  if (!/\d+ attempts? left/.test(wrong)) throw new Error(`the wrong PIN does not say the attempts left: ${wrong}`);
  if ((await state(first.address)) !== 'active') throw new Error('a wrong PIN revoked the session');
  await screenshot('wrong-pin');
  step('wrongPin', { error: wrong });

  // The right PIN: the owner key is opened in the browser, the userOp checked, signed, executed.
  await byTest('owner-pin').fill(PIN);
  await byTest('confirm').click();
  const hash = await waitForText(byTest('revoke-result').getByTestId('tx-hash'), (t) => /^0x[0-9a-fA-F]{64}$/.test(t), 'revoke hash');
  await waitForText(firstRow.getByTestId('session-state'), (t) => t === 'revoked', 'first session revoked');
  await waitForText(secondRow.getByTestId('session-state'), (t) => t === 'active', 'second session still active');
  if ((await state(first.address)) !== 'revoked') throw new Error('the server does not see the session revoked');
  await screenshot('revoked');
  step('revoke', { hash });

  // Revoke all.
  await card.getByRole('button', { name: 'Revoke all' }).click();
  await byTest('owner-pin').fill(PIN);
  await byTest('confirm').click();
  await waitForText(byTest('revoke-result'), (t) => /Every session/.test(t), 'revoke all result');
  let states = [];
  for (let i = 0; i < 60; i++) {
    states = (await card.getByTestId('session-state').allTextContents()).map((s) => s.trim());
    if (states.length === 2 && states.every((s) => s === 'revoked')) break;
    await page.waitForTimeout(250);
  }
  if (states.length !== 2 || !states.every((s) => s === 'revoked')) {
    throw new Error(`after Revoke all: ${JSON.stringify(states)}`);
  }
  if ((await state(second.address)) !== 'revoked') throw new Error('the server does not see every session revoked');
  if ((await externalCard.getByTestId('session-state').first().textContent()).trim() !== 'active') {
    throw new Error("Revoke all reached another wallet's session");
  }
  await screenshot('revoke-all');
  step('revokeAll', { states });

  const unexpected = consoleErrors.filter((text) => !/40[0-9]|revoked/i.test(text));
  if (unexpected.length > 0) throw new Error(`console errors: ${unexpected.join(' | ')}`);
});
