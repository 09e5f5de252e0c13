// What the browser scripts share: the environment they run in, Debian's Chromium
// launched headless and off the network, screenshots, step lines and polling.
//
// Environment: LATCHKEY_URL, OUT_DIR (screenshots), CHROMIUM (default /usr/bin/chromium).

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { chromiumLaunchOptions } from './chromium.mjs';

export const TIMEOUT = 60_000;

/** A required environment variable. */
export function env(name) {
  const value = process.env[name];
  if (!value) throw new Error(`missing environment variable ${name}`);
  return value;
}

/** Prints one JSON line for a step that passed. */
export function step(name, data = {}) {
  process.stdout.write(JSON.stringify({ step: name, ...data }) + '\n');
}

/**
 * Launches Chromium and opens one page. Screenshot files are named
 * `{prefix}{NN}-{name}.png` in OUT_DIR. `run(body)` runs the script's body, screenshots
 * the page and exits non-zero on the first failure, and closes the browser.
 */
export async function openPage({ prefix = '' } = {}) {
  const url = env('LATCHKEY_URL');
  const outDir = env('OUT_DIR');
  mkdirSync(outDir, { recursive: true });
  const browser = await chromium.launch(chromiumLaunchOptions());
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.setDefaultTimeout(TIMEOUT);
  const consoleErrors = [];
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(message.text());
  });
  page.on('pageerror', (error) => consoleErrors.push(String(error)));

  let shots = 0;
  const screenshot = async (name) => {
    shots += 1;
    const path = join(outDir, `${prefix}${String(shots).padStart(2, '0')}-${name}.png`);
    await page.screenshot({ path, fullPage: true });
    return path;
  };
  const byTest = (id) => page.getByTestId(id);
  // Polls from Node.js: the page's content security policy forbids evaluating strings there.
  const waitForText = async (locator, predicate, what) => {
    const deadline = Date.now() + TIMEOUT;
    let last = null;
    for (;;) {
      last = await locator.textContent({ timeout: 1_000 }).catch(() => null);
      if (last !== null && predicate(last.trim())) return last.trim();
      if (Date.now() > deadline) {
        throw new Error(`${what}: not within ${TIMEOUT} ms; shows ${JSON.stringify(last)}`);
      }
      await page.waitForTimeout(100);
    }
  };
  const run = async (body) => {
    try {
      await body();
      step('done', { screenshots: shots });
    } catch (error) {
      await screenshot('failure').catch(() => {});
      process.stderr.write(`${error.stack || error}\n`);
      process.exitCode = 1;
    } finally {
      await browser.close();
    }
  };
  return { url, page, byTest, screenshot, waitForText, consoleErrors, run };
}
