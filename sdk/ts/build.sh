#!/usr/bin/env bash
# Builds @latchkey/sdk: the latchkey-wasm crate for wasm32, its wasm-bindgen glue
# (sdk/ts/wasm/), the npm dependencies and the TypeScript (sdk/ts/dist/, with the glue
# copied to dist/wasm/ so that an install through `file:` works). Each step is skipped
# when its inputs have not changed.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/latchkey-target}"

log() { printf 'sdk/ts: %s\n' "$*" >&2; }

# One build at a time (the dashboard's build and the tests may start this concurrently).
mkdir -p "$here/.stamp"
if command -v flock >/dev/null; then
    exec 9>"$here/.stamp/lock"
    flock 9
fi

# The glue generator: tools/wasm-bindgen, the wasm-bindgen library at the exact version of
# the wasm-bindgen crate, built from its own committed lockfile (never from a lockfile
# published with the tool, nor from whatever is on PATH). Cargo is incremental by itself.
wasm_bindgen_crate="$(sed -n 's/^wasm-bindgen = "=\(.*\)"$/\1/p' "$root/Cargo.toml")"
(cd "$root" && cargo build --release --locked --quiet --manifest-path tools/wasm-bindgen/Cargo.toml \
    --target-dir "$CARGO_TARGET_DIR/wasm-bindgen-tool")
wasm_bindgen="$CARGO_TARGET_DIR/wasm-bindgen-tool/release/latchkey-wasm-bindgen"
WASM_BINDGEN_VERSION="$("$wasm_bindgen" --version | sed 's/^wasm-bindgen //')"
if [ "$WASM_BINDGEN_VERSION" != "$wasm_bindgen_crate" ]; then
    log "tools/wasm-bindgen generates glue for wasm-bindgen $WASM_BINDGEN_VERSION, but the workspace uses $wasm_bindgen_crate"
    exit 1
fi

if command -v rustup >/dev/null && ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
    log "adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
fi

# 1. The crate (cargo is incremental by itself), in the workspace's `wasm` profile:
# whole-program optimisation for the module only (the release profile is tuned for the
# server), about 25% faster signing and a smaller module.
(cd "$root" && cargo build -p latchkey-wasm --target wasm32-unknown-unknown --profile wasm --locked --quiet)
wasm_in="$CARGO_TARGET_DIR/wasm32-unknown-unknown/wasm/latchkey_wasm.wasm"

# 2. The glue, when the module changed.
stamp_dir="$here/.stamp"
mkdir -p "$stamp_dir"
wasm_sum="$(sha256sum "$wasm_in" | cut -d' ' -f1) $WASM_BINDGEN_VERSION"
if [ ! -f "$here/wasm/latchkey_wasm_bg.wasm" ] || [ "$(cat "$stamp_dir/wasm" 2>/dev/null)" != "$wasm_sum" ]; then
    log "wasm-bindgen"
    rm -rf "$here/wasm"
    "$wasm_bindgen" "$wasm_in" "$here/wasm"
    echo "$wasm_sum" >"$stamp_dir/wasm"
fi

# 3. npm dependencies, when the lock file changed.
cd "$here"
lock_sum="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [ ! -d node_modules ] || [ "$(cat "$stamp_dir/npm" 2>/dev/null)" != "$lock_sum" ]; then
    log "npm ci"
    npm ci --no-audit --no-fund --loglevel=error
    echo "$lock_sum" >"$stamp_dir/npm"
fi

# 4. TypeScript and the copy of the module in dist/, when a source, the glue, the module
# or the configuration changed.
src_sum="$(cat tsconfig.json package.json src/*.ts wasm/latchkey_wasm.d.ts wasm/latchkey_wasm.js wasm/latchkey_wasm_bg.wasm | sha256sum | cut -d' ' -f1)"
if [ ! -f dist/index.js ] || [ ! -f dist/wasm/latchkey_wasm_bg.wasm ] || [ "$(cat "$stamp_dir/tsc" 2>/dev/null)" != "$src_sum" ]; then
    log "tsc"
    rm -rf dist
    npx --no-install tsc -p tsconfig.json
    mkdir -p dist/wasm
    cp wasm/latchkey_wasm.js wasm/latchkey_wasm.d.ts wasm/latchkey_wasm_bg.wasm wasm/latchkey_wasm_bg.wasm.d.ts dist/wasm/
    echo "$src_sum" >"$stamp_dir/tsc"
fi
log "ready: $here/dist"
