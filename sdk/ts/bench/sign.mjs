// Session signing throughput: latchkey's WebAssembly signers (SNIP-12 hash + Stark ECDSA,
// in one call) — the full SDK's `SessionSigner` and the session entry's `ActiveSession`
// (`@latchkey/sdk/session`, its own module) — against starknet.js on the path the Chipi
// SDK takes for a session execution (typedData.getMessageHash + ec.starkCurve.sign), on
// identical inputs in the same process. Prints the rates and the ratios; `--json` prints
// one JSON line.
//
// Usage: node bench/sign.mjs [milliseconds per side, default 3000] [--json]
import { readFileSync } from 'node:fs';
import { ec, typedData } from 'starknet';
import { init, SessionSigner, createSessionKey, verifySignature, messageHash } from '../dist/index.js';
import { openSession } from '../dist/session.js';
import * as core from '../dist/wasm/latchkey_starknet.js';

const args = process.argv.slice(2);
const json = args.includes('--json');
const budgetMs = Number(args.find((a) => /^\d+$/.test(a)) ?? 3000);

const capture = JSON.parse(readFileSync(new URL('../../../test-vectors/chipi-sdk-14.4.0-capture.json', import.meta.url), 'utf8'));
const td = capture.signingVector.typedData;
const account = capture.signingVector.walletAddr;
const privateKey = capture.keys.SESSION_PK;
const validUntil = 1_893_456_000;
const now = 1_800_000_000;

await init();
const signer = new SessionSigner(core.SessionSigner.fromPlaintext(privateKey, account, validUntil));
const tdJson = JSON.stringify(td);
// The session entry opens sealed keys only: a new session key of the same wallet, sealed
// offline (lk1, the floor cost), opened once.
const pin = 'bench-pin-7391';
const sealed = await createSessionKey({ pin }, { account, format: 'lk1', kdf: 'floor', now: now - 60, durationSeconds: validUntil - now + 60 });
sealed.signer.free();
const active = await openSession({ publicKey: 'pk_dev_bench', wallet: account, session: sealed.data, pin, fetch: () => Promise.reject(new Error('offline')) });

function measure(fn) {
  for (let i = 0; i < 50; i++) fn(); // warm-up (JIT, WASM tier-up)
  let iterations = 0;
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(budgetMs) * 1_000_000n;
  let last;
  while (process.hrtime.bigint() < deadline) {
    last = fn();
    iterations++;
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return { opsPerSecond: iterations / seconds, iterations, last };
}

const wasmObject = measure(() => signer.signTypedData(td, now));
const wasmJson = measure(() => signer.signTypedDataJson(tdJson, now));
const sessionEntry = measure(() => active.signExecution(td, { now }));
const starknetJs = measure(() => {
  const hash = typedData.getMessageHash(td, account);
  return ec.starkCurve.sign(hash, privateKey);
});

// Both produce valid signatures of the same hash.
const hash = messageHash(td, account);
if (BigInt(hash) !== BigInt(typedData.getMessageHash(td, account))) throw new Error('hash mismatch');
const [, r, s] = wasmObject.last;
if (!verifySignature(signer.publicKey, hash, r, s)) throw new Error('the WASM signature does not verify');
const theirs = starknetJs.last;
if (!verifySignature(signer.publicKey, hash, '0x' + theirs.r.toString(16), '0x' + theirs.s.toString(16))) {
  throw new Error('the starknet.js signature does not verify');
}
const [sessionKey, sr, ss] = sessionEntry.last;
if (!verifySignature(sessionKey, hash, sr, ss)) throw new Error('the session entry signature does not verify');
signer.free();
active.free();

const result = {
  wasmOpsPerSecond: Math.round(wasmObject.opsPerSecond),
  wasmJsonOpsPerSecond: Math.round(wasmJson.opsPerSecond),
  sessionEntryOpsPerSecond: Math.round(sessionEntry.opsPerSecond),
  starknetJsOpsPerSecond: Math.round(starknetJs.opsPerSecond),
  ratio: Number((wasmObject.opsPerSecond / starknetJs.opsPerSecond).toFixed(2)),
  sessionEntryRatio: Number((sessionEntry.opsPerSecond / starknetJs.opsPerSecond).toFixed(2)),
  node: process.version,
};
if (json) {
  console.log(JSON.stringify(result));
} else {
  console.log(`session signing (SNIP-12 hash + sign), ${budgetMs} ms each, ${process.version}`);
  console.log(`  @latchkey/sdk (WASM), object input: ${result.wasmOpsPerSecond.toLocaleString('en')} ops/s`);
  console.log(`  @latchkey/sdk (WASM), JSON input:   ${result.wasmJsonOpsPerSecond.toLocaleString('en')} ops/s`);
  console.log(`  @latchkey/sdk/session:              ${result.sessionEntryOpsPerSecond.toLocaleString('en')} ops/s`);
  console.log(`  starknet.js (Chipi SDK path):       ${result.starknetJsOpsPerSecond.toLocaleString('en')} ops/s`);
  console.log(`  ratio WASM / starknet.js:           ${result.ratio}x (session entry ${result.sessionEntryRatio}x)`);
}
