#!/usr/bin/env bash
# Builds @latchkey/sdk: the latchkey-wasm crate for wasm32 as four modules (Starknet
# signing, key sealing, EVM, the session path alone), their wasm-bindgen glue optimised
# by binaryen's wasm-opt (sdk/ts/wasm/), the npm dependencies and the TypeScript (sdk/ts/dist/, with the glue
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

# 1. The modules: latchkey-wasm built once per feature set (cargo is incremental by
# itself), in the workspace's `wasm-*` profiles (whole-program optimisation for the
# modules only; the release profile is tuned for the server). A page loads what it uses:
#   module             features   profile      what
#   latchkey_starknet  signing    wasm-signing Starknet signers and hashes: what `init()` loads
#   latchkey_keys      sealing    wasm-small   sealing and opening keys (Argon2id, the PIN OPRF,
#                                              Chipi): the key vault's, loaded when a key is
#                                              sealed or opened
#   latchkey_evm       evm        wasm-small   EVM keys with their sealing: loaded by the EVM API
#   latchkey_session   session    wasm-signing the Starknet session path alone (open a sealed
#                                              session key, sign executions): what
#                                              `@latchkey/sdk/session` loads
# (`wasm-small` is `wasm` at opt-level "s", `wasm-signing` the same with the arithmetic
# signing spends its time in at opt-level 3: see the workspace Cargo.toml.)
modules=(starknet:signing:wasm-signing keys:sealing:wasm-small evm:evm:wasm-small session:session:wasm-signing)
stage="$CARGO_TARGET_DIR/wasm32-unknown-unknown/sdk-modules"
mkdir -p "$stage"
for entry in "${modules[@]}"; do
    IFS=: read -r name features profile <<<"$entry"
    (cd "$root" && cargo build -p latchkey-wasm --target wasm32-unknown-unknown --profile "$profile" --locked --quiet \
        --no-default-features --features "$features")
    cp "$CARGO_TARGET_DIR/wasm32-unknown-unknown/$profile/latchkey_wasm.wasm" "$stage/latchkey_$name.wasm.new"
    if cmp -s "$stage/latchkey_$name.wasm.new" "$stage/latchkey_$name.wasm"; then
        rm "$stage/latchkey_$name.wasm.new"
    else
        mv "$stage/latchkey_$name.wasm.new" "$stage/latchkey_$name.wasm"
    fi
done

# 2. npm dependencies (binaryen's wasm-opt among them), when the lock file changed.
stamp_dir="$here/.stamp"
mkdir -p "$stamp_dir"
cd "$here"
lock_sum="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [ ! -d node_modules ] || [ "$(cat "$stamp_dir/npm" 2>/dev/null)" != "$lock_sum" ]; then
    log "npm ci"
    npm ci --no-audit --no-fund --loglevel=error
    echo "$lock_sum" >"$stamp_dir/npm"
fi

# 3. Each module's glue, then wasm-opt (binaryen, pinned in package.json) tuned for size,
# when the module, the generator or the optimiser changed. -Oz and -Os give the same
# gzip size (-Oz is a little smaller raw) and neither slows signing; `npm run bench`
# reports the sizes and the signing speed.
wasm_opt_flags=(-Oz --strip-debug --strip-producers
    --enable-bulk-memory --enable-sign-ext --enable-nontrapping-float-to-int
    --enable-mutable-globals --enable-reference-types --enable-multivalue)
wasm_opt_version="$(npx --no-install wasm-opt --version)"
rm -rf "$here/wasm/latchkey_wasm.js" "$here/wasm/latchkey_wasm.d.ts" "$here/wasm/latchkey_wasm_bg.wasm" "$here/wasm/latchkey_wasm_bg.wasm.d.ts"
for entry in "${modules[@]}"; do
    name="latchkey_${entry%%:*}"
    wasm_sum="$(sha256sum "$stage/$name.wasm" | cut -d' ' -f1) $WASM_BINDGEN_VERSION $wasm_opt_version ${wasm_opt_flags[*]}"
    if [ ! -f "$here/wasm/${name}_bg.wasm" ] || [ "$(cat "$stamp_dir/$name" 2>/dev/null)" != "$wasm_sum" ]; then
        log "wasm-bindgen + wasm-opt: $name"
        rm -f "$here/wasm/$name.js" "$here/wasm/$name.d.ts" "$here/wasm/${name}_bg.wasm" "$here/wasm/${name}_bg.wasm.d.ts"
        "$wasm_bindgen" "$stage/$name.wasm" "$here/wasm"
        npx --no-install wasm-opt "${wasm_opt_flags[@]}" "$here/wasm/${name}_bg.wasm" -o "$here/wasm/${name}_bg.wasm.opt"
        mv "$here/wasm/${name}_bg.wasm.opt" "$here/wasm/${name}_bg.wasm"
        echo "$wasm_sum" >"$stamp_dir/$name"
    fi
done

# 4. TypeScript and the copy of the modules in dist/, when a source, the glue, a module
# or the configuration changed.
glue=()
for entry in "${modules[@]}"; do
    name="latchkey_${entry%%:*}"
    glue+=("wasm/$name.js" "wasm/$name.d.ts" "wasm/${name}_bg.wasm" "wasm/${name}_bg.wasm.d.ts")
done
src_sum="$(cat tsconfig.json package.json src/*.ts "${glue[@]}" | sha256sum | cut -d' ' -f1)"
if [ ! -f dist/index.js ] || [ ! -f dist/wasm/latchkey_starknet_bg.wasm ] || [ "$(cat "$stamp_dir/tsc" 2>/dev/null)" != "$src_sum" ]; then
    log "tsc"
    rm -rf dist
    npx --no-install tsc -p tsconfig.json
    mkdir -p dist/wasm
    cp "${glue[@]}" dist/wasm/
    echo "$src_sum" >"$stamp_dir/tsc"
fi
log "ready: $here/dist"
