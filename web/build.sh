#!/usr/bin/env bash
# Builds the dashboard and demo game into web/dist, which `latchkey serve` serves:
# first @latchkey/sdk (sdk/ts/build.sh: the WebAssembly core and the TypeScript), then
# this app's npm dependencies (`npm ci`, exactly package-lock.json) and `vite build`.
# Safe to run again; works from a fresh clone; stops at the first failure.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
log() { printf 'web: %s\n' "$*" >&2; }

command -v node >/dev/null || { log "Node.js is required (>= 20.19)"; exit 1; }
command -v npm >/dev/null || { log "npm is required"; exit 1; }

log "building @latchkey/sdk"
"$root/sdk/ts/build.sh"
[ -f "$root/sdk/ts/dist/index.js" ] || { log "sdk/ts/dist/index.js is missing after the SDK build"; exit 1; }

cd "$here"
# npm ci starts from an empty node_modules every time; skip it when nothing changed.
# The SDK is linked (file:), so its rebuilt dist is picked up without reinstalling.
stamp="node_modules/.latchkey-lock.sha256"
lock_sum="$(cat package.json package-lock.json | sha256sum | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$lock_sum" ] || [ ! -e node_modules/@latchkey/sdk/package.json ]; then
    log "npm ci"
    npm ci --no-audit --no-fund --loglevel=error
    echo "$lock_sum" >"$stamp"
fi

log "vite build"
npm run --silent build

[ -f dist/index.html ] || { log "dist/index.html is missing after the build"; exit 1; }
ls dist/assets/*.wasm >/dev/null 2>&1 || { log "the SDK's .wasm was not emitted into dist/assets"; exit 1; }
log "ready: $here/dist"
