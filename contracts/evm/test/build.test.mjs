// The committed artifacts in build/ are what the pinned compiler produces from src/.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { root } from './lib.mjs';

test('build/ is up to date with src/ (node build.mjs check)', () => {
  const result = spawnSync(process.execPath, ['build.mjs', 'check'], { cwd: root, encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr + result.stdout);
  assert.match(result.stdout, /up to date/);
});
