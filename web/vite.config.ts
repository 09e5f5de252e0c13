import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// The app is served by `latchkey serve` from web/dist under a strict content security
// policy (scripts and WebAssembly from this origin only, no inline scripts), so
// everything is bundled, including the SDK's .wasm, which Vite emits as a hashed asset
// from the SDK's `new URL('….wasm', import.meta.url)`.
//
// `npm run dev` proxies the API to a running `latchkey serve` (LATCHKEY_URL, default
// http://127.0.0.1:8080).
export default defineConfig({
  plugins: [react()],
  // The SDK is linked from ../sdk/ts, which has React of its own for its tests: the app
  // and the SDK's hook must share one React.
  resolve: { dedupe: ['react', 'react-dom'] },
  // Pre-bundling would move the SDK away from its .wasm file.
  optimizeDeps: { exclude: ['@latchkey/sdk'] },
  // The SDK's key worker (Argon2id off the page's thread) is a module worker that loads
  // the SDK's key-sealing module: bundled as an ES module beside the page's chunks.
  worker: { format: 'es' },
  build: {
    target: 'es2022',
    outDir: 'dist',
    emptyOutDir: true,
    // Never inline assets as data: URLs; the .wasm in particular stays a file.
    assetsInlineLimit: 0,
    sourcemap: false,
  },
  server: {
    // The linked SDK (and its .wasm) lives beside this directory.
    fs: { allow: ['.', '../sdk/ts'] },
    proxy: {
      '/api': process.env.LATCHKEY_URL ?? 'http://127.0.0.1:8080',
    },
  },
});
