// Signing throughput of starknet.js, the path the Chipi SDK takes for a session
// execution: typedData.getMessageHash + ec.starkCurve.sign (RFC 6979).
//
// Usage: node bench-sign.mjs <typed-data.json> <account> <private-key> <milliseconds>
// Prints {"opsPerSecond": …, "iterations": …, "hash": …, "r": …, "s": …}.

import { readFileSync } from 'node:fs';
import { ec, typedData } from 'starknet';

const [file, account, privateKey, ms] = process.argv.slice(2);
const td = JSON.parse(readFileSync(file, 'utf8'));
const budget = Number(ms ?? 2000);

function signOnce() {
  const hash = typedData.getMessageHash(td, account);
  const signature = ec.starkCurve.sign(hash, privateKey);
  return { hash, signature };
}

for (let i = 0; i < 50; i++) signOnce(); // warm-up (JIT)
let iterations = 0;
let last;
const start = process.hrtime.bigint();
const deadline = start + BigInt(budget) * 1_000_000n;
while (process.hrtime.bigint() < deadline) {
  last = signOnce();
  iterations++;
}
const seconds = Number(process.hrtime.bigint() - start) / 1e9;
process.stdout.write(
  JSON.stringify({
    opsPerSecond: iterations / seconds,
    iterations,
    hash: last.hash,
    r: '0x' + last.signature.r.toString(16),
    s: '0x' + last.signature.s.toString(16),
  })
);
