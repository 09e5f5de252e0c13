// What the package costs a browser: gzip sizes of each WebAssembly module and its
// wasm-bindgen glue, of the SDK's JavaScript (what `index.js` and the key worker load),
// and the total of what the Starknet session path loads: the SDK, the Starknet signing
// module (`init()`) and the key-sealing module (opening the sealed session key once),
// against the target.
// `--json` prints one line.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { gzipSync } from 'node:zlib';

/** Issue 16: the Starknet session path (open a sealed session key once, then sign) in KiB, gzip. */
const SESSION_PATH_TARGET_KIB = 150;

const dist = new URL('../dist/', import.meta.url);
const json = process.argv.includes('--json');

const size = (url) => {
  const bytes = readFileSync(url);
  return { raw: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length };
};
const sum = (list) => list.reduce((a, b) => ({ raw: a.raw + b.raw, gzip: a.gzip + b.gzip }), { raw: 0, gzip: 0 });

const modules = {};
for (const name of ['starknet', 'keys', 'evm']) {
  modules[name] = {
    wasm: size(new URL(`wasm/latchkey_${name}_bg.wasm`, dist)),
    glue: size(new URL(`wasm/latchkey_${name}.js`, dist)),
  };
}
/** The SDK's own files that `entries` load, following their static imports (the glue is counted per module). */
function closure(entries) {
  const seen = new Set();
  const visit = (file) => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = readFileSync(new URL(file, dist), 'utf8');
    for (const [, spec] of text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+'\.\/([^']+\.js)'/g)) {
      if (!spec.startsWith('wasm/')) visit(spec);
    }
  };
  entries.forEach(visit);
  return [...seen];
}
const allJs = readdirSync(dist).filter((f) => f.endsWith('.js') && statSync(new URL(f, dist)).isFile());
// The package entry and the key worker it starts (`@latchkey/sdk/react` is an entry of its own).
const sessionFiles = closure(['index.js', 'worker.js']);
const sdkJs = sum(sessionFiles.map((f) => size(new URL(f, dist))));
const allSdkJs = sum(allJs.map((f) => size(new URL(f, dist))));
const loaded = (...names) => sum([sdkJs, ...names.flatMap((n) => [modules[n].wasm, modules[n].glue])]);
const signingOnly = loaded('starknet');
const sessionPath = loaded('starknet', 'keys');
const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;
const targetMet = sessionPath.gzip <= SESSION_PATH_TARGET_KIB * 1024;
if (json) {
  console.log(
    JSON.stringify({ modules, sdkJs, allSdkJs, signingOnly, sessionPath, sessionPathTargetKib: SESSION_PATH_TARGET_KIB, targetMet }),
  );
} else {
  console.log('bundle size (gzip -9)');
  for (const [name, m] of Object.entries(modules)) {
    const label = `latchkey_${name}_bg.wasm:`.padEnd(28);
    console.log(`  ${label}${kib(m.wasm.gzip)} (raw ${kib(m.wasm.raw)}); glue ${kib(m.glue.gzip)}`);
  }
  console.log(
    `  ${'SDK JS (index + worker):'.padEnd(28)}${kib(sdkJs.gzip)} (raw ${kib(sdkJs.raw)}; all of dist/*.js ${kib(allSdkJs.gzip)})`,
  );
  console.log(`  ${'init() (SDK + starknet):'.padEnd(28)}${kib(signingOnly.gzip)}`);
  console.log(
    `  ${'Starknet session path:'.padEnd(28)}${kib(sessionPath.gzip)} (SDK + starknet + keys; target ≤ ${SESSION_PATH_TARGET_KIB} KiB: ${targetMet ? 'met' : 'not met'})`,
  );
}
