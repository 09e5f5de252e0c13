// What the package costs a browser: gzip sizes of the WebAssembly module and of the
// JavaScript (the SDK's dist/*.js plus the wasm-bindgen glue). `--json` prints one line.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { gzipSync } from 'node:zlib';

const dist = new URL('../dist/', import.meta.url);
const json = process.argv.includes('--json');

const size = (url) => {
  const bytes = readFileSync(url);
  return { raw: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length };
};
const sum = (list) => list.reduce((a, b) => ({ raw: a.raw + b.raw, gzip: a.gzip + b.gzip }), { raw: 0, gzip: 0 });

const wasm = size(new URL('wasm/latchkey_wasm_bg.wasm', dist));
const glue = size(new URL('wasm/latchkey_wasm.js', dist));
const sdkJs = sum(
  readdirSync(dist)
    .filter((f) => f.endsWith('.js') && statSync(new URL(f, dist)).isFile())
    .map((f) => size(new URL(f, dist))),
);
const js = { raw: sdkJs.raw + glue.raw, gzip: sdkJs.gzip + glue.gzip };
const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;
if (json) {
  console.log(JSON.stringify({ wasm, js, sdkJs, glue }));
} else {
  console.log('bundle size (gzip -9)');
  console.log(`  latchkey_wasm_bg.wasm:      ${kib(wasm.gzip)} (raw ${kib(wasm.raw)})`);
  console.log(`  JS (SDK + wasm-bindgen):    ${kib(js.gzip)} (raw ${kib(js.raw)}; SDK ${kib(sdkJs.gzip)}, glue ${kib(glue.gzip)})`);
}
