// The operator's console in a real browser (Debian's Chromium through playwright-core)
// against a running `latchkey serve`:
//
//   the operator signs in with the operator token → creates an organisation → issues its
//   API keys (shown once) → sets and tops up its gas budget → allows a browser origin in its
//   settings (the dashboard's forms, through the admin API) → the new keys run the README's
//   walkthrough (the curl one, with bash) → the organisation's charts show its executions,
//   fees and sessions, read from the API → the transactions view filters them → the relayer
//   accounts show their nonces and funds → the audit log has every change → the
//   organisation's own Activity page, signed in with the new keys, shows the same.
//
// Environment: LATCHKEY_URL, LATCHKEY_OPERATOR_TOKEN, WALKTHROUGH (the README block),
// GAME, PATH (with the latchkey binary), OUT_DIR, CHROMIUM. Prints one JSON line per step
// (never a key); exits non-zero on the first failure.

import { spawnSync } from 'node:child_process';
import { env, openPage, step, TIMEOUT } from './harness.mjs';

const NAME = 'Acme Games';
const { url, page, byTest, screenshot, waitForText, consoleErrors, run } = await openPage({ prefix: 'o' });

/** Polls `locator`'s attribute `name` until `predicate` holds; returns it. */
async function waitForAttribute(locator, name, predicate, what) {
  const deadline = Date.now() + TIMEOUT;
  let last = null;
  for (;;) {
    last = await locator.getAttribute(name, { timeout: 1_000 }).catch(() => null);
    if (last !== null && predicate(last)) return last;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${TIMEOUT} ms; ${name}=${JSON.stringify(last)}`);
    await page.waitForTimeout(100);
  }
}

/** The totals a chart carries as data attributes. */
async function chartData(testId) {
  const chart = byTest(testId).first();
  await chart.waitFor();
  return chart.evaluate((el) => ({ ...el.dataset }));
}

await run(async () => {
  await page.goto(`${url}/operator`);
  await byTest('operator-token').fill(env('LATCHKEY_OPERATOR_TOKEN'));
  await byTest('operator-sign-in').click();
  await byTest('organizations').waitFor();
  await byTest('org-name').fill(NAME);
  await byTest('create-org').click();
  const row = page.locator(`[data-testid="org-row"][data-name="${NAME}"]`);
  await row.waitFor();
  const orgId = await row.getAttribute('data-id');
  await waitForAttribute(byTest('organization'), 'data-id', (id) => id === orgId, 'the new organisation opened');
  step('createOrganization', { orgId });

  // Its keys: shown once, then listed by prefix only.
  await byTest('key-environment').selectOption('prod');
  await byTest('issue-keys').click();
  const publicKey = await waitForText(byTest('issued-public-key'), (t) => /^pk_prod_\w+$/.test(t), 'public key');
  const secretKey = await waitForText(byTest('issued-secret-key'), (t) => /^sk_prod_\w+$/.test(t), 'secret key');
  await page.locator('[data-testid="key-row"][data-active="true"]').nth(1).waitFor();
  const listed = await byTest('keys').locator('table').textContent();
  if (listed.includes(secretKey)) throw new Error('the key list shows the whole secret key');
  await byTest('hide-keys').click();
  step('issueKeys', { keys: await page.locator('[data-testid="key-row"]').count() });

  // Its gas budget on the Starknet chain: 5 STRK, then 1 more.
  const starknet = await byTest('budget-chain')
    .locator('option')
    .evaluateAll((options) => options.map((o) => o.value).find((v) => v.startsWith('starknet:')));
  await byTest('budget-chain').selectOption(starknet);
  await byTest('budget-amount').fill('5');
  await byTest('set-budget').click();
  const budgetRow = page.locator(`[data-testid="budget-row"][data-chain="${starknet}"]`);
  await waitForAttribute(budgetRow, 'data-budget', (b) => b === '5000000000000000000', 'budget set');
  await byTest('budget-amount').fill('1');
  await byTest('top-up').click();
  await waitForAttribute(budgetRow, 'data-budget', (b) => b === '6000000000000000000', 'budget topped up');
  // An alert below 10 STRK: with 6 left, the budget is alerting.
  await byTest('budget-amount').fill('10');
  await byTest('alert-threshold').click();
  await waitForAttribute(budgetRow, 'data-alerting', (a) => a === 'yes', 'budget alerting below its threshold');
  await screenshot('organization');
  step('budget', { chain: starknet, budget: '6000000000000000000' });

  // Its settings: the dashboard's settings forms, answered by the admin API.
  await byTest('origins-list').fill('https://Acme.example:443');
  await byTest('origins-save').click();
  await waitForText(byTest('origins-status'), (t) => t === '1 origin(s) allowed.', 'origins saved');
  step('settings', { origins: await byTest('origins-list').inputValue() });

  // The new keys run the README's walkthrough.
  const started = Date.now();
  const walk = spawnSync('bash', ['-c', `set -e -o pipefail\n${env('WALKTHROUGH')}`], {
    env: { ...process.env, LATCHKEY_PUBLIC_KEY: publicKey, LATCHKEY_SECRET_KEY: secretKey },
    encoding: 'utf8',
    timeout: 300_000,
  });
  if (walk.status !== 0) throw new Error(`the walkthrough failed (${walk.status}):\n${walk.stdout}\n${walk.stderr}`);
  const lines = walk.stdout.trim().split('\n').map((line) => JSON.parse(line));
  if (lines.length !== 7 || lines[5].code !== 'SESSION_REVOKED') {
    throw new Error(`unexpected walkthrough output:\n${walk.stdout}`);
  }
    step('walkthrough', { seconds: Math.round((Date.now() - started) / 1000), refused: lines[5].code });

  // The charts show the new executions, as the API computed them.
  await byTest('refresh-stats').click();
  const executions = await waitForAttribute(
    byTest('chart-executions'),
    'data-succeeded',
    (n) => n === '4',
    'executions chart',
  ).then(() => chartData('chart-executions'));
  if (executions.rejected !== '1' || executions.pending !== '0') {
    throw new Error(`executions chart: ${JSON.stringify(executions)}`);
  }
  const gas = await chartData('chart-gas');
  if (gas.transactions !== '4') throw new Error(`gas chart: ${JSON.stringify(gas)}`);
  const paid = await page.locator(`[data-testid="gas-row"][data-chain="${starknet}"]`).first().getAttribute('data-amount');
  if (!(BigInt(paid) > 0n)) throw new Error(`no sponsored gas shown: ${paid}`);
  const sessions = await chartData('chart-sessions');
  if (sessions.created !== '1' || sessions.revoked !== '1' || sessions.active !== '0') {
    throw new Error(`sessions chart: ${JSON.stringify(sessions)}`);
  }
  const burn = await chartData('chart-burn-down');
  if (!(BigInt(burn.spent) > 0n) || burn.chain !== starknet || burn.exhaustion === 'none') {
    throw new Error(`burn-down chart: ${JSON.stringify(burn)}`);
  }
  // Recharts drew them: bars and lines are in the page's SVG.
  const bars = await byTest('chart-executions').locator('.recharts-bar-rectangle').count();
  if (bars === 0) throw new Error('the executions chart drew no bar');
  await screenshot('charts');
  step('charts', { executions, gas, sessions, burn: { spent: burn.spent, exhaustion: burn.exhaustion }, bars });

  // The transactions view, read again with the charts: all five, then filtered on the server.
  const table = byTest('transactions').first();
  await waitForAttribute(table.getByTestId('transactions-table'), 'data-count', (n) => n === '5', 'every transaction');
  await byTest('filter-status').first().selectOption('succeeded');
  await byTest('apply-filters').first().click();
  await waitForAttribute(table.getByTestId('transactions-table'), 'data-count', (n) => n === '4', 'succeeded transactions');
  const statuses = await table.getByTestId('transaction-status').allTextContents();
  if (!statuses.every((s) => s.trim() === 'succeeded')) throw new Error(`filter: ${statuses}`);
  const signers = (await table.getByTestId('transaction-signer').allTextContents()).map((s) => s.replace(/0x\S+/, '0x…'));
  if (!signers.some((s) => s.startsWith('session'))) throw new Error(`no session-signed transaction: ${signers}`);
  // The execution refused after the revocation: still prepared, and why it was refused.
  await byTest('filter-status').first().selectOption('prepared');
  await byTest('apply-filters').first().click();
  await waitForAttribute(table.getByTestId('transactions-table'), 'data-count', (n) => n === '1', 'the refused execution');
  const why = await waitForText(table.getByTestId('transaction-error').first(), (t) => t.length > 0, 'why refused');
  if (!why.startsWith('SESSION_REVOKED')) throw new Error(`the refused execution shows ${why}`);
  await screenshot('transactions');
  step('transactions', { succeeded: statuses.length, signers, refused: why });

  // The relayer accounts with their nonces and funds.
  const relayer = page.locator(`[data-testid="relayer-row"][data-chain="${starknet}"]`).first();
  await waitForAttribute(relayer, 'data-nonce', (n) => /^\d+$/.test(n) && Number(n) > 0, 'a relayer nonce');
  const funds = await relayer.getAttribute('data-funds');
  if (!/^\d+$/.test(funds)) throw new Error(`relayer funds: ${funds}`);
  step('relayers', { accounts: await page.locator('[data-testid="relayer-row"]').count() });

  // The audit log has every change made in the console.
  await byTest('org-audit').getByRole('button', { name: 'Refresh' }).click();
  const latest = byTest('org-audit').locator('[data-testid="audit-row"]').first();
  await waitForAttribute(latest, 'data-action', (a) => a === 'allowed_origins.set', 'the latest audit record');
  const actions = await byTest('org-audit').locator('[data-testid="audit-row"]').evaluateAll((rows) =>
    rows.map((r) => r.dataset.action).reverse(),
  );
  for (const action of [
    'organization.create',
    'api_key.issue',
    'gas_budget.set',
    'gas_budget.top_up',
    'gas_budget.alert_threshold',
    'allowed_origins.set',
  ]) {
    if (!actions.includes(action)) throw new Error(`audit log without ${action}: ${actions}`);
  }
  await byTest('org-audit').scrollIntoViewIfNeeded();
  await screenshot('audit');
  step('audit', { actions });

  // The organisation's own Activity page, signed in with its new keys.
  await page.goto(`${url}/activity`);
  await byTest('public-key').fill(publicKey);
  await byTest('secret-key').fill(secretKey);
  await byTest('sign-in').click();
  await waitForAttribute(byTest('chart-executions'), 'data-succeeded', (n) => n === '4', 'organisation charts');
  await waitForAttribute(byTest('transactions-table'), 'data-count', (n) => Number(n) >= 4, 'organisation transactions');
  await screenshot('activity');
  // Refusals the page showed on purpose aside, nothing went wrong in the page.
  const unexpected = consoleErrors.filter((text) => !/40[0-9]/.test(text));
  if (unexpected.length > 0) throw new Error(`console errors: ${unexpected.join('\n')}`);
  step('activity', { consoleErrors: consoleErrors.length });
});
