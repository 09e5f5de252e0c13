#!/usr/bin/env bash
# Schemathesis against `latchkey serve`: every operation of the OpenAPI document (the
# native dialect, /api/me, custody, settings, the Chipi v1 dialect, health, metrics,
# config), every check, every phase (examples, coverage, fuzzing, stateful), with the
# development organisation's keys given through schemathesis's auth mechanism
# (hooks.py). Fails on any failure schemathesis reports and on any panic in the server's
# log.
#
#   bash conformance/schemathesis/run.sh
#
# Environment:
#   CARGO_TARGET_DIR          where the release binary is (default ~/.cache/latchkey-target);
#                             built with `cargo build --release -p latchkey` when missing
#   LATCHKEY_TOOLS_DIR        where the schemathesis venv lives (default $CARGO_TARGET_DIR/tools)
#   SCHEMATHESIS_MAX_EXAMPLES test cases per operation and phase (default 30)
#   SCHEMATHESIS_SEED         a seed, to reproduce a run (default: a random one, printed)
#   SCHEMATHESIS_KEEP=1       keep the temporary directory (server log, reports)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/latchkey-target}"
tools="${LATCHKEY_TOOLS_DIR:-$CARGO_TARGET_DIR/tools}"
venv="$tools/schemathesis-venv"
max_examples="${SCHEMATHESIS_MAX_EXAMPLES:-30}"
seed="${SCHEMATHESIS_SEED:-$(( (RANDOM << 15) | RANDOM ))}"

# The venv, exactly requirements.txt (every package pinned and hashed); rebuilt when the
# requirements change.
want="$(sha256sum "$here/requirements.txt" | cut -d' ' -f1)"
if [ ! -x "$venv/bin/schemathesis" ] || [ "$(cat "$venv/.requirements-sha256" 2>/dev/null)" != "$want" ]; then
    echo "installing schemathesis into $venv"
    rm -rf "$venv"
    mkdir -p "$tools"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check --no-input \
        --require-hashes --only-binary=:all: --no-deps -r "$here/requirements.txt"
    echo "$want" >"$venv/.requirements-sha256"
fi
"$venv/bin/schemathesis" --version

binary="$CARGO_TARGET_DIR/release/latchkey"
if [ ! -x "$binary" ]; then
    (cd "$root" && cargo build --release --locked -p latchkey)
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/latchkey-schemathesis.XXXXXX")"
server=""
cleanup() {
    if [ -n "$server" ] && kill -0 "$server" 2>/dev/null; then
        kill "$server" 2>/dev/null || true
        wait "$server" 2>/dev/null || true
    fi
    if [ "${SCHEMATHESIS_KEEP:-0}" = 1 ]; then
        echo "kept $work"
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT

# A fresh server on free ports, its data in the temporary directory; the dashboard is not
# part of the API, so no web directory.
log="$work/server.log"
"$binary" serve --listen 127.0.0.1:0 --devnet-port 0 --anvil-port 0 --data-dir "$work/data" \
    --web-dir "$work/no-web" >"$log" 2>&1 &
server=$!
banner() { sed -n "s/^  $1 *\([^ ]*\).*/\1/p" "$log" | head -1; }
url=""
for _ in $(seq 1 600); do
    url="$(banner API)"
    public="$(banner 'Public key')"
    secret="$(banner 'Secret key')"
    if [ -n "$url" ] && [ -n "$public" ] && [ -n "$secret" ]; then break; fi
    if ! kill -0 "$server" 2>/dev/null; then
        echo "error: latchkey serve exited before it was ready:" >&2
        cat "$log" >&2
        exit 1
    fi
    url=""
    sleep 0.2
done
if [ -z "$url" ]; then
    echo "error: latchkey serve printed no banner in 120 s:" >&2
    cat "$log" >&2
    exit 1
fi
case "$public" in pk_dev_*) ;; *) echo "error: no public key in the banner" >&2; exit 1 ;; esac
case "$secret" in sk_dev_*) ;; *) echo "error: no secret key in the banner" >&2; exit 1 ;; esac
echo "latchkey serve at $url (log: $log), seed $seed, $max_examples examples per operation"

# A real wallet with a registered session (made with the CLI, as the README does), so that
# the wallet-scoped routes are exercised on data that exists, not only on 404s: half of
# the generated `address` and `key` path parameters are these.
game="$(sed -n 's/^  Demo game *\([^ ]*\).*/\1/p' "$log" | head -1)"
(
    cd "$work"
    export LATCHKEY_URL="$url" LATCHKEY_PUBLIC_KEY="$public" LATCHKEY_SECRET_KEY="$secret" LATCHKEY_PIN=482915
    "$binary" wallet create --key-file owner.json >/dev/null
    wallet="$("$binary" key show owner.json account)"
    "$binary" session create --key-file session.json --wallet "$wallet" \
        --allow "$game:make_move" --max-calls 100 --valid-for 3600 >/dev/null
    "$binary" session register --key-file session.json --owner-key owner.json >/dev/null
    echo "$wallet" >wallet.txt
    "$binary" key show session.json publicKey >session.txt
) || { echo "error: could not make the wallet and session the run uses" >&2; tail -30 "$log" >&2; exit 1; }
wallet="$(cat "$work/wallet.txt")"
session="$(cat "$work/session.txt")"
echo "wallet $wallet, session $session"
config="$work/schemathesis.toml"
cat "$here/schemathesis.toml" - >"$config" <<TOML

# Written by run.sh for this run.
[dictionaries.wallets]
values = ["$wallet"]

[dictionaries.sessions]
values = ["$session"]

[parameters]
"path.address" = { dictionary = "wallets", probability = 0.5 }
"path.key" = { dictionary = "sessions", probability = 0.5 }
TOML

status=0
(
    cd "$work"
    export LATCHKEY_PUBLIC_KEY="$public" LATCHKEY_SECRET_KEY="$secret"
    export SCHEMATHESIS_HOOKS="$here/hooks.py"
    "$venv/bin/schemathesis" --no-color --config-file "$config" run \
        "$url/api/openapi.json" \
        --checks all \
        --phases examples,coverage,fuzzing,stateful \
        --max-examples "$max_examples" \
        --seed "$seed" \
        --workers 1 \
        --request-timeout 90 \
        --report junit,ndjson --report-dir "$work/report"
) || status=$?

if grep -n "panicked\|handler panicked" "$log" >&2; then
    echo "error: the server panicked (above: the lines of its log)" >&2
    status=1
fi
if ! kill -0 "$server" 2>/dev/null; then
    echo "error: the server died during the run; its log:" >&2
    tail -50 "$log" >&2
    status=1
fi
if [ "$status" -ne 0 ]; then
    echo "schemathesis run failed (seed $seed; SCHEMATHESIS_SEED=$seed reproduces it)" >&2
    tail -30 "$log" >&2
fi
exit "$status"
