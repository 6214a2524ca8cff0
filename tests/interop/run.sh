#!/bin/sh
# Cross-implementation tests: uptane-tuf-client vs. repositories written with
# @tufjs/models, and the tuf-js client vs. repositories written by up-test-repo.
#
#   tests/interop/run.sh [extra node --test arguments / test files]
#
# UPTANE_BUILD_DIR  meson build dir holding src/tuf-client/uptane-tuf-client
#                   and tests/tools/up-test-repo (default: <repo>/build)
# CLIENT_TIMEOUT    seconds one client process may run (default 60)
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo_root=$(cd "$here/../.." && pwd)
UPTANE_BUILD_DIR=${UPTANE_BUILD_DIR:-$repo_root/build}
UPTANE_BUILD_DIR=$(cd "$UPTANE_BUILD_DIR" 2>/dev/null && pwd || echo "$UPTANE_BUILD_DIR")
export UPTANE_BUILD_DIR

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
        echo "run.sh: node and npm are required" >&2
        exit 1
fi
node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 20 ]; then
        echo "run.sh: node >= 20 required, found $(node --version)" >&2
        exit 1
fi

missing=
[ -x "$UPTANE_BUILD_DIR/src/tuf-client/uptane-tuf-client" ] ||
        missing="$missing $UPTANE_BUILD_DIR/src/tuf-client/uptane-tuf-client"
[ -x "$UPTANE_BUILD_DIR/tests/tools/up-test-repo" ] || [ -x "$UPTANE_BUILD_DIR/tests/up-test-repo" ] ||
        missing="$missing $UPTANE_BUILD_DIR/tests/tools/up-test-repo"
if [ -n "$missing" ]; then
        echo "run.sh: missing:$missing" >&2
        echo "run.sh: build first (meson setup build && ninja -C build) or set UPTANE_BUILD_DIR" >&2
        exit 1
fi

# (Re)install the pinned dependencies when node_modules is missing or was
# installed from another package-lock.json.
lock_sum=$(sha256sum "$here/package-lock.json" | cut -d' ' -f1)
stamp="$here/node_modules/.installed-lock-sha256"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$lock_sum" ]; then
        echo "run.sh: npm ci in $here"
        (cd "$here" && npm ci --no-audit --no-fund)
        echo "$lock_sum" >"$stamp"
fi

cd "$here"
if [ "$#" -eq 0 ]; then
        set -- test_*.mjs
fi
# Default reporter: prints "# tests N", "# pass N", "# fail N" at the end.
exec node --test --test-timeout=600000 "$@"
