#!/usr/bin/env bash
# Installs the example's npm packages (exactly package-lock.json, `npm ci`) and builds the
# app (`next build`), each only when what it is made from changed.
#
# Environment: LATCHKEY_URL (or STARKNET_RPC_URL). Chipi's shared package reads
# STARKNET_RPC_URL when it loads, in the browser too, so the chain's URL is written into
# the bundle at build time: $LATCHKEY_URL/rpc/starknet, latchkey's read-only chain
# endpoint. Everything else (the API's URL, the public key) is read when the app runs.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
log() { printf 'examples/chipi-nextjs: %s\n' "$*" >&2; }

if [ -z "${STARKNET_RPC_URL:-}" ]; then
    if [ -z "${LATCHKEY_URL:-}" ]; then
        log "set LATCHKEY_URL (what latchkey serve prints) or STARKNET_RPC_URL"
        exit 1
    fi
    STARKNET_RPC_URL="${LATCHKEY_URL%/}/rpc/starknet"
fi
export STARKNET_RPC_URL NEXT_TELEMETRY_DISABLED=1

# One build at a time.
mkdir -p .stamp
if command -v flock >/dev/null; then
    exec 9>.stamp/lock
    flock 9
fi

lock_sum="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [ ! -d node_modules ] || [ "$(cat .stamp/npm 2>/dev/null)" != "$lock_sum" ]; then
    log "npm ci"
    npm ci --no-audit --no-fund --loglevel=error
    echo "$lock_sum" >.stamp/npm
fi

sources=(package-lock.json next.config.mjs $(find app lib -type f | sort))
build_sum="$({ echo "$STARKNET_RPC_URL"; printf '%s\n' "${sources[@]}"; cat "${sources[@]}"; } | sha256sum | cut -d' ' -f1)"
if [ ! -f .next/BUILD_ID ] || [ "$(cat .stamp/build 2>/dev/null)" != "$build_sum" ]; then
    log "next build (chain: $STARKNET_RPC_URL)"
    rm -f .stamp/build
    npx --no-install next build
    echo "$build_sum" >.stamp/build
fi
log "ready: npm start (with LATCHKEY_URL and LATCHKEY_PUBLIC_KEY set)"
