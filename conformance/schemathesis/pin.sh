#!/usr/bin/env bash
# Regenerates requirements.txt: schemathesis at $1 (default: the pinned version) and every
# package it pulls in, each at the exact version pip resolves now, with the sha256 of its
# wheels for CPython 3.11 to 3.13 on x86_64 Linux (run.sh installs with --require-hashes
# and --only-binary, so nothing is built and nothing unpinned is fetched).
#
#   bash conformance/schemathesis/pin.sh [VERSION]
set -euo pipefail
cd "$(dirname "$0")"
version="${1:-$(sed -n 's/^schemathesis==\([^ ]*\).*/\1/p' requirements.txt)}"
scratch="$(mktemp -d "${TMPDIR:-/tmp}/schemathesis-pin.XXXXXX")"
trap 'rm -rf "$scratch"' EXIT
python3 -m venv "$scratch/venv"
"$scratch/venv/bin/pip" install -q --disable-pip-version-check "schemathesis==$version"
"$scratch/venv/bin/pip" freeze --disable-pip-version-check >"$scratch/freeze.txt"
for python in 3.11 3.12 3.13; do
    "$scratch/venv/bin/pip" download -q --disable-pip-version-check -r "$scratch/freeze.txt" \
        --no-deps --only-binary=:all: --implementation cp --python-version "$python" \
        --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 \
        --platform manylinux_2_28_x86_64 -d "$scratch/wheels"
done
"$scratch/venv/bin/python" - "$scratch/freeze.txt" "$scratch/wheels" >requirements.txt <<'PY'
import collections, hashlib, os, sys
from packaging.utils import canonicalize_name, parse_wheel_filename

freeze, wheels = sys.argv[1], sys.argv[2]
hashes = collections.defaultdict(list)
for name in sorted(os.listdir(wheels)):
    project = canonicalize_name(parse_wheel_filename(name)[0])
    with open(os.path.join(wheels, name), "rb") as f:
        hashes[project].append(hashlib.sha256(f.read()).hexdigest())
print("# schemathesis and everything it pulls in, exactly; regenerate with pin.sh.")
pins = [line.strip() for line in open(freeze) if "==" in line]
for pin in sorted(pins, key=lambda p: canonicalize_name(p.split("==")[0])):
    project = canonicalize_name(pin.split("==")[0])
    lines = [pin] + [f"    --hash=sha256:{h}" for h in hashes[project]]
    print(" \\\n".join(lines))
PY
echo "wrote $(pwd)/requirements.txt for schemathesis $version"
