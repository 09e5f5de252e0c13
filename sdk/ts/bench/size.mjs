// What the package costs a browser, gzip -9:
// - each WebAssembly module and its wasm-bindgen glue;
// - the SDK's JavaScript as built (what `index.js` and the key worker load);
// - the Starknet session path as an app ships it: `@latchkey/sdk/session` bundled and
//   minified by esbuild (its glue included), plus the one module it loads
//   (`latchkey_session_bg.wasm`), against the target;
// - for comparison, the full SDK's path to a session signature: the package entry bundled
//   and minified (every glue it may load included) with the signing and sealing modules.
// `--json` prints one line.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

/** Issue 16: the Starknet session path (open a sealed session key once, then sign) in KiB, gzip. */
const SESSION_PATH_TARGET_KIB = 150;

const dist = new URL('../dist/', import.meta.url);
const json = process.argv.includes('--json');

const measure = (bytes) => ({ raw: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length });
const size = (url) => measure(readFileSync(url));
const sum = (list) => list.reduce((a, b) => ({ raw: a.raw + b.raw, gzip: a.gzip + b.gzip }), { raw: 0, gzip: 0 });

const modules = {};
for (const name of ['starknet', 'keys', 'evm', 'session']) {
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
/** `entry` bundled and minified for browsers, with everything it imports (statically or not). */
async function bundled(entry) {
  const result = await build({
    entryPoints: [new URL(entry, dist).pathname],
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
    // The Node.js-only file reader behind a computed specifier stays out of the bundle.
    external: ['node:*'],
  });
  return measure(Buffer.concat(result.outputFiles.map((f) => Buffer.from(f.contents))));
}

const allJs = readdirSync(dist).filter((f) => f.endsWith('.js') && statSync(new URL(f, dist)).isFile());
// The package entry and the key worker it starts (`@latchkey/sdk/react` is an entry of its own).
const sdkFiles = closure(['index.js', 'worker.js']);
const sdkJs = sum(sdkFiles.map((f) => size(new URL(f, dist))));
const allSdkJs = sum(allJs.map((f) => size(new URL(f, dist))));
const signingOnly = sum([sdkJs, modules.starknet.wasm, modules.starknet.glue]);

const sessionJs = await bundled('session.js');
const sessionPath = sum([sessionJs, modules.session.wasm]);
const fullJs = await bundled('index.js');
const fullPath = sum([fullJs, modules.starknet.wasm, modules.keys.wasm]);

const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;
const targetMet = sessionPath.gzip <= SESSION_PATH_TARGET_KIB * 1024;
if (json) {
  console.log(
    JSON.stringify({
      modules,
      sdkJs,
      allSdkJs,
      signingOnly,
      sessionJs,
      sessionPath,
      fullJs,
      fullPath,
      sessionPathTargetKib: SESSION_PATH_TARGET_KIB,
      targetMet,
    }),
  );
} else {
  console.log('bundle size (gzip -9)');
  for (const [name, m] of Object.entries(modules)) {
    const label = `latchkey_${name}_bg.wasm:`.padEnd(30);
    console.log(`  ${label}${kib(m.wasm.gzip)} (raw ${kib(m.wasm.raw)}); glue ${kib(m.glue.gzip)}`);
  }
  console.log(
    `  ${'SDK JS (index + worker):'.padEnd(30)}${kib(sdkJs.gzip)} (raw ${kib(sdkJs.raw)}; all of dist/*.js ${kib(allSdkJs.gzip)})`,
  );
  console.log(`  ${'init() (SDK + starknet):'.padEnd(30)}${kib(signingOnly.gzip)}`);
  console.log(`  ${'full SDK, bundled + minified:'.padEnd(30)}${kib(fullJs.gzip)}; with starknet + keys ${kib(fullPath.gzip)}`);
  console.log(`  ${'sdk/session, bundled + min.:'.padEnd(30)}${kib(sessionJs.gzip)} (raw ${kib(sessionJs.raw)})`);
  console.log(
    `  ${'Starknet session path:'.padEnd(30)}${kib(sessionPath.gzip)} (sdk/session + latchkey_session; target ≤ ${SESSION_PATH_TARGET_KIB} KiB: ${targetMet ? 'met' : 'not met'})`,
  );
}
